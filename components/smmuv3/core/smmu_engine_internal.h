/* Internal state of the translation engine shared by smmu_engine.c (translate, TLB, invalidation, statistics)
 * and smmu_walk.c (the VMSAv8-64 table walker). Not part of the contract; see smmu_xlate.h for that. */
#ifndef SMMU_ENGINE_INTERNAL_H
#define SMMU_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "smmu_bits.h"
#include "smmu_tlb.h"
#include "smmu_xlate.h"

/* VMSAv8-64 descriptor fields (48-bit output addresses). Stage-2 names where the meaning differs. */
#define SMMU_DESC_VALID SMMU_BIT(0)
#define SMMU_DESC_TABLE SMMU_BIT(1) /* levels 0-2: 1 table, 0 block; level 3: 1 page, 0 reserved */
#define SMMU_DESC_ATTRINDX SMMU_GENMASK(4, 2)
#define SMMU_DESC_S2_MEMATTR SMMU_GENMASK(5, 2)
#define SMMU_DESC_AP1 SMMU_BIT(6) /* AP[1]: unprivileged access allowed */
#define SMMU_DESC_AP2 SMMU_BIT(7) /* AP[2]: read-only */
#define SMMU_DESC_S2AP_R SMMU_BIT(6)
#define SMMU_DESC_S2AP_W SMMU_BIT(7)
#define SMMU_DESC_SH SMMU_GENMASK(9, 8)
#define SMMU_DESC_AF SMMU_BIT(10)
#define SMMU_DESC_NG SMMU_BIT(11)
#define SMMU_DESC_DBM SMMU_BIT(51)
#define SMMU_DESC_PXN SMMU_BIT(53)
#define SMMU_DESC_UXN SMMU_BIT(54) /* XN in the EL2 regime */
#define SMMU_DESC_S2_XN SMMU_GENMASK(54, 53)
#define SMMU_DESC_PXN_TABLE SMMU_BIT(59)
#define SMMU_DESC_UXN_TABLE SMMU_BIT(60)
#define SMMU_DESC_AP_TABLE0 SMMU_BIT(61)
#define SMMU_DESC_AP_TABLE1 SMMU_BIT(62)
#define SMMU_DESC_ADDR_TOP 47
#define SMMU_DESC_OA_51_48 SMMU_GENMASK(15, 12) /* 64 KB granule with 52-bit output addresses */

/* Hierarchical attributes collected from stage-1 table descriptors on the way down (walk-cache perm field).
 */
enum {
    SMMU_WALK_HIER_NO_USER = 1u << 0, /* APTable[0]: no unprivileged access below */
    SMMU_WALK_HIER_RO = 1u << 1,      /* APTable[1]: no write access below */
    SMMU_WALK_HIER_UXN = 1u << 2,     /* UXNTable (XNTable in the EL2 regime) */
    SMMU_WALK_HIER_PXN = 1u << 3,     /* PXNTable */
};

typedef struct smmu_engine_counters {
    uint64_t walks_s1, walks_s2, walks_nested;
    uint64_t mem_reads_s1, mem_reads_s2;
    uint64_t walk_steps[2][4]; /* descriptor reads by [stage - 1][level] */
    uint64_t af_updates, dirty_updates, cas_retries;
    uint64_t faults[SMMU_FAULT_WALK_EABT + 1];
} smmu_engine_counters;

struct smmu_engine {
    smmu_engine_params params;
    const smmu_host_ops *host;
    void *host_ctx;
    smmu_call *call;        /* the host's context of the call in progress (smmu_engine_set_call) */
    vp_setassoc tlb;        /* smmu_tlb_entry leaf translations */
    vp_setassoc walk_cache; /* smmu_tlb_entry table descriptors */
    smmu_engine_counters count;
    bool trace_on;
    /* The walk in progress (walk_stage 0: none), for smmu_engine_get_activity. */
    uint8_t walk_stage;
    int8_t walk_level;
};

/* Everything one translation needs to know while walking: both stage configurations and the StreamID. */
typedef struct smmu_walk_ctx {
    uint32_t sid;
    const smmu_s1_cfg *s1;
    const smmu_s2_cfg *s2; /* non-NULL: stage-1 table addresses are IPAs translated by stage 2 */
} smmu_walk_ctx;

/* The leaf a walk of one stage found, with permissions already evaluated for that stage alone. */
typedef struct smmu_walk_leaf {
    uint64_t oa;        /* output address of the walked input address */
    uint64_t desc;      /* leaf descriptor as finally in memory (after any hardware update) */
    uint8_t span_shift; /* log2 size of the page or block */
    int8_t level;
    uint8_t perm; /* SMMU_PERM_* of this stage */
} smmu_walk_leaf;

/* Walks one stage for input address `ia` (TBI-canonical VA for stage 1, IPA for stage 2). For stage 2,
 * `s2_class` tells which fault CLASS to report (IN, or TT when the walk serves a stage-1 table fetch). */
bool smmu_walk_stage(smmu_engine *eng, const smmu_walk_ctx *ctx, unsigned stage, unsigned tt_index,
                     uint64_t ia, smmu_access acc, smmu_fault_class s2_class, smmu_walk_leaf *leaf,
                     smmu_fault *fault);

/* Translates an IPA with stage 2 only, through the TLB when use_tlb (stage-1 table fetches) or by a direct
 * walk (the final IPA of a nested translation, which the combined TLB entry caches). */
bool smmu_engine_s2_translate(smmu_engine *eng, const smmu_walk_ctx *ctx, uint64_t ipa, smmu_access acc,
                              smmu_fault_class fclass, bool use_tlb, smmu_walk_leaf *leaf, smmu_fault *fault);

uint8_t smmu_walk_s1_perms(const smmu_s1_cfg *s1, uint64_t desc, uint8_t hier, bool hd);
uint8_t smmu_walk_s2_perms(uint64_t desc, bool hd, bool xnx);
/* Permission bits of a two-stage translation: each access must be allowed by both. */
uint8_t smmu_walk_combine_perms(uint8_t s1, uint8_t s2);

/* Does `perm` let `acc` through as is (without a hardware dirty update)? */
static inline bool smmu_perm_allows(uint8_t perm, smmu_access acc) {
    uint8_t need;
    if (acc.exec)
        need = acc.priv ? SMMU_PERM_PRIV_X : SMMU_PERM_USER_X;
    else if (acc.write)
        need = acc.priv ? SMMU_PERM_PRIV_W : SMMU_PERM_USER_W;
    else
        need = acc.priv ? SMMU_PERM_PRIV_R : SMMU_PERM_USER_R;
    return (perm & need) != 0;
}

/* Would `acc` be allowed once the descriptor is marked dirty? */
static inline bool smmu_perm_allows_after_dirty(uint8_t perm, smmu_access acc) {
    if (!acc.write || acc.exec)
        return false;
    return (perm & (acc.priv ? SMMU_PERM_PRIV_W_CLEAN : SMMU_PERM_USER_W_CLEAN)) != 0;
}

static inline unsigned smmu_level_shift(unsigned granule_shift, int level) {
    return granule_shift + (unsigned)(3 - level) * (granule_shift - 3);
}

/* VA bits 63:56 replaced by copies of bit 55: the form every stage-1 key and invalidation address takes. */
static inline uint64_t smmu_va_canonical(uint64_t va) {
    return (va & (UINT64_C(1) << 55)) ? (va | UINT64_C(0xff00000000000000))
                                      : (va & UINT64_C(0x00ffffffffffffff));
}

static inline bool smmu_regime_has_asid(smmu_regime regime) {
    return regime != SMMU_REGIME_EL2;
}

/* The VMID that tags stage-1 entries of this translation, if any: stage 2's, else the stage-1-only stream's
 * own (NS-EL1 only). */
static inline bool smmu_walk_ctx_vmid(const smmu_walk_ctx *ctx, uint16_t *vmid) {
    if (ctx->s2) {
        *vmid = ctx->s2->vmid;
        return true;
    }
    if (ctx->s1 && ctx->s1->vmid_valid && ctx->s1->regime == SMMU_REGIME_NS_EL1) {
        *vmid = ctx->s1->vmid;
        return true;
    }
    *vmid = 0;
    return false;
}

/* A trace record of the engine (see smmu_host_ops.trace); formats nothing while tracing is off. */
void smmu_engine_tracef(smmu_engine *eng, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define SMMU_ENGINE_TRACE(eng, kind, ...)                                                                    \
    do {                                                                                                     \
        if ((eng)->trace_on)                                                                                 \
            smmu_engine_tracef((eng), (kind), __VA_ARGS__);                                                  \
    } while (0)

static inline void smmu_engine_advance(smmu_engine *eng, uint64_t ps) {
    if (ps && eng->host->advance)
        eng->host->advance(eng->host_ctx, eng->call, ps);
}

#endif
