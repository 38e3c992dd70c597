/* Set-associative cache used for both the TLB (leaf translations) and the walk cache (table descriptors).
 * Internal to the translation engine. The engine owns tag matching; this file owns storage, replacement and
 * statistics, so both caches share one replacement implementation. */
#ifndef SMMU_TLB_H
#define SMMU_TLB_H

#include <stdbool.h>
#include <stdint.h>

#include "smmu_xlate.h"

/* What an entry translates. Walk-cache entries use STAGE1/STAGE2 for the stage of the table they cache. */
typedef enum smmu_tlb_kind {
    SMMU_TLB_KIND_S1 = 1, /* stage 1 only: VA -> PA */
    SMMU_TLB_KIND_S2 = 2, /* stage 2 only: IPA -> PA (also caches stage-2 translations of stage-1 tables) */
    SMMU_TLB_KIND_NESTED = 3, /* combined stage 1 + stage 2: VA -> PA */
} smmu_tlb_kind;

enum {
    SMMU_TLB_F_VALID = 1u << 0,
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
        out_base;   /* TLB: output PA of ia_base. Walk cache: next-level table address (IPA for nested S1) */
    uint64_t ttb;   /* walk cache: the TTB the walk started from (guards against a changed base) */
    uint64_t stamp; /* replacement: last use (LRU) or insertion (FIFO) */
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

typedef struct smmu_cache_stats {
    uint64_t lookups, hits, misses, inserts, evictions, invalidated;
} smmu_cache_stats;

typedef struct smmu_tlb {
    smmu_tlb_entry *entries; /* sets * ways, set-major */
    uint32_t sets, ways;
    smmu_repl_policy policy;
    uint64_t lookup_ps;
    uint64_t clock;        /* monotonic stamp source for LRU/FIFO */
    uint32_t random_state; /* xorshift32 state for RANDOM (never 0) */
    smmu_cache_stats stats;
} smmu_tlb;

/* Returns false if memory could not be allocated. sets == 0 gives a disabled cache that never hits. */
bool smmu_tlb_init(smmu_tlb *tlb, const smmu_cache_params *params, uint32_t random_seed);
void smmu_tlb_free(smmu_tlb *tlb);

static inline bool smmu_tlb_enabled(const smmu_tlb *tlb) {
    return tlb->sets != 0;
}

/* First way of the set that `key` (an address-derived index key) maps to. */
static inline smmu_tlb_entry *smmu_tlb_set_of(smmu_tlb *tlb, uint64_t key) {
    return &tlb->entries[(uint64_t)(key % tlb->sets) * tlb->ways];
}

/* A lookup hit `e`: update replacement state and counters. */
static inline void smmu_tlb_record_hit(smmu_tlb *tlb, smmu_tlb_entry *e) {
    tlb->stats.hits++;
    if (tlb->policy == SMMU_REPL_LRU)
        e->stamp = ++tlb->clock;
}

/* Chooses the slot for a new entry in the set starting at `set`: a free way first, else the policy's victim
 * (counted as an eviction). The caller fills the slot and then calls smmu_tlb_commit. */
smmu_tlb_entry *smmu_tlb_victim(smmu_tlb *tlb, smmu_tlb_entry *set);
void smmu_tlb_commit(smmu_tlb *tlb, smmu_tlb_entry *e);

/* Removes every valid entry for which match(entry, arg) is true. Returns how many were removed. */
uint64_t smmu_tlb_invalidate_if(smmu_tlb *tlb, bool (*match)(const smmu_tlb_entry *e, const void *arg),
                                const void *arg);

#endif
