/* The entries of the translation engine's two caches, the TLB (leaf translations) and the walk cache (table
 * descriptors), both stored in a vp_setassoc (components/cache), and how they are indexed so that every
 * architectural invalidation scope visits only the entries it may remove. Internal to the engine. */
#ifndef SMMU_TLB_H
#define SMMU_TLB_H

#include <stdbool.h>
#include <stdint.h>

#include "setassoc.h"
#include "smmu_xlate.h"

/* What an entry translates. Walk-cache entries use STAGE1/STAGE2 for the stage of the table they cache. */
typedef enum smmu_tlb_kind {
    SMMU_TLB_KIND_S1 = 1, /* stage 1 only: VA -> PA */
    SMMU_TLB_KIND_S2 = 2, /* stage 2 only: IPA -> PA (also caches stage-2 translations of stage-1 tables) */
    SMMU_TLB_KIND_NESTED = 3, /* combined stage 1 + stage 2: VA -> PA */
} smmu_tlb_kind;

enum {
    SMMU_TLB_F_GLOBAL = 1u << 1,     /* stage-1 nG == 0: matches any ASID */
    SMMU_TLB_F_VMID_VALID = 1u << 2, /* the entry belongs to a VMID (stage 2 was on) */
    SMMU_TLB_F_ASID_VALID = 1u << 3, /* the regime has ASIDs */
};

/* Permission bits of a cached leaf, already combined over both stages and all configuration controls. */
enum {
    SMMU_PERM_PRIV_R = 1u << 0,
    SMMU_PERM_PRIV_W = 1u << 1,
    SMMU_PERM_PRIV_X = 1u << 2,
    SMMU_PERM_USER_R = 1u << 3,
    SMMU_PERM_USER_W = 1u << 4,
    SMMU_PERM_USER_X = 1u << 5,
    /* Write allowed only after a hardware dirty-state update: a write must re-walk to perform it. */
    SMMU_PERM_PRIV_W_CLEAN = 1u << 6,
    SMMU_PERM_USER_W_CLEAN = 1u << 7,
};

typedef struct smmu_tlb_entry {
    uint64_t ia_base; /* input address of the covered span (aligned to span_shift), TBI-canonical */
    uint64_t
        out_base; /* TLB: output PA of ia_base. Walk cache: next-level table address (IPA for nested S1) */
    uint64_t ttb; /* walk cache: the TTB the walk started from (guards against a changed base) */
    uint64_t ctx_tag; /* TLB: kind, regime, VMID and (optionally) StreamID packed for a one-compare match */
    uint32_t sid;
    uint16_t asid, vmid;
    uint8_t span_shift;    /* log2 of the bytes covered by this entry */
    uint8_t s1_span_shift; /* TLB, nested: the stage-1 leaf's span, which a VA invalidation removes whole */
    uint8_t kind;          /* smmu_tlb_kind */
    uint8_t regime;        /* smmu_regime of stage 1 (S1 and nested entries) */
    uint8_t level; /* TLB: leaf level of the last stage. Walk cache: level of the cached table descriptor */
    uint8_t flags; /* SMMU_TLB_F_* */
    uint8_t perm;  /* TLB: SMMU_PERM_*. Walk cache: accumulated hierarchical bits (SMMU_WALK_HIER_*) */
    uint8_t mem_attr, share;
    uint8_t s2_mem_attr; /* stage-2 MemAttr[3:0] (S2PTW Device check, output attributes); 0xFF: no stage 2 */
    uint8_t s2_share;    /* stage-2 SH[1:0]; 0xFF: no stage 2 */
    uint8_t granule_shift; /* walk cache: granule of the walk that cached it */
    uint8_t tt_index;      /* walk cache: TTB0/TTB1 */
} smmu_tlb_entry;

/* Sets up one of the caches from its parameters; false if memory could not be allocated. */
bool smmu_tlb_init(vp_setassoc *cache, const smmu_cache_params *params, uint32_t random_seed);

/* Stores the entry the caller wrote into `slot` (from vp_setassoc_victim, or a stale copy it replaces), filed
 * under its invalidation groups. `walk_cache` tells which cache: their kinds have different meanings. */
void smmu_tlb_insert(vp_setassoc *cache, uint32_t slot, bool walk_cache);

/* One filter describes every architectural invalidation scope; an entry is removed when it passes all
 * enabled checks. */
enum {
    SMMU_REGIME_CLASS_EL1 = 1u << 0,
    SMMU_REGIME_CLASS_EL2 = 1u << 1,
};
static inline unsigned smmu_regime_class(unsigned regime) {
    return regime == SMMU_REGIME_NS_EL1 ? SMMU_REGIME_CLASS_EL1 : SMMU_REGIME_CLASS_EL2;
}
typedef struct smmu_inv_filter {
    unsigned tlb_kinds;      /* bit (1 << smmu_tlb_kind) per TLB entry kind to consider */
    unsigned walk_stages;    /* bit (1 << stage) per walk-cache stage to consider; 0 keeps the walk cache */
    unsigned regime_classes; /* stage-1 entries: SMMU_REGIME_CLASS_* to consider */
    bool by_vmid;
    uint16_t vmid;
    bool by_asid; /* entries of this ASID (entries of regimes without ASIDs always match) */
    uint16_t asid;
    bool include_global; /* with by_asid: global entries match too (by VA) or never (by ASID) */
    bool by_range;
    uint64_t start, end; /* [start, end), end saturated */
    int ttl_level;       /* 1..3: leaf entries of other levels may stay; 0: no hint */
} smmu_inv_filter;

/* Removes every entry of `cache` that the filter selects, visiting only the groups that can hold such
 * entries. Returns how many were removed. */
uint64_t smmu_tlb_invalidate(vp_setassoc *cache, bool walk_cache, const smmu_inv_filter *f);

#endif
