/* TLB and walk-cache storage (a vp_setassoc each) and scoped invalidation. Every entry is filed under three
 * groups, so that an invalidation visits the entries of its scope rather than the whole cache:
 *   - its context: kind (stage), stage-1 regime and VMID tag;
 *   - its context and ASID tag (an ASID, global, or none);
 *   - its context and the 2 MiB region its invalidation span starts in (larger spans share one group).
 * A command of the 2^19-entry queue then costs what it removes, not the size of the cache. */
#include "smmu_tlb.h"

#include <string.h>

enum { IDX_CTX, IDX_ASID, IDX_ADDR, IDX_COUNT };

/* log2 of the address regions of IDX_ADDR: 2 MiB holds at most 512 4 KiB pages or one level-2 table. */
#define REGION_SHIFT 21
/* Above this many regions a range invalidation visits its context groups instead. */
#define MAX_REGIONS 16u

bool smmu_tlb_init(vp_setassoc *cache, const smmu_cache_params *params, uint32_t random_seed) {
    vp_setassoc_config cfg = {.sets = params->sets,
                              .ways = params->ways,
                              .policy = (vp_setassoc_policy)params->policy,
                              .seed = random_seed,
                              .entry_size = sizeof(smmu_tlb_entry),
                              .indexes = IDX_COUNT};
    return vp_setassoc_init(cache, &cfg);
}

/* ---- Group keys ----
 * Context: kind [1:0], regime [3:2], VMID tagged [4], VMID [20:5]. ASID tag [22:21] and ASID [38:23], or
 * region [63:22] with bit 21 marking the group of spans larger than a region. */

enum { ASID_NONE = 0, ASID_TAGGED = 1, ASID_GLOBAL = 2 };

static uint64_t ctx_key(unsigned kind, unsigned regime, bool vmid_tagged, uint16_t vmid) {
    return (uint64_t)kind | (uint64_t)regime << 2 |
           (vmid_tagged ? (uint64_t)1 << 4 | (uint64_t)vmid << 5 : 0);
}

static uint64_t asid_key(uint64_t ctx, unsigned tag, uint16_t asid) {
    return ctx | (uint64_t)tag << 21 | (tag == ASID_TAGGED ? (uint64_t)asid << 23 : 0);
}

static uint64_t region_key(uint64_t ctx, uint64_t region) {
    return ctx | region << 22;
}

static uint64_t large_key(uint64_t ctx) {
    return ctx | (uint64_t)1 << 21;
}

static bool is_stage2(bool walk_cache, unsigned kind) {
    return walk_cache ? kind == 2 : kind == SMMU_TLB_KIND_S2;
}

/* Stage-2 entries always carry their VMID. Stage-1 entries of the EL2 regimes share one group whatever their
 * VMID tag: no command scopes them by VMID. */
static uint64_t entry_ctx(const smmu_tlb_entry *e, bool walk_cache) {
    if (is_stage2(walk_cache, e->kind))
        return ctx_key(e->kind, 0, true, e->vmid);
    bool tagged = e->regime == SMMU_REGIME_NS_EL1 && (e->flags & SMMU_TLB_F_VMID_VALID);
    return ctx_key(e->kind, e->regime, tagged, tagged ? e->vmid : 0);
}

static uint64_t span_mask(unsigned shift) {
    return (UINT64_C(1) << shift) - 1;
}

/* What a range invalidation compares: a nested entry may cover only part of its stage-1 block (stage 2 maps
 * smaller pages), and a VA invalidation hitting the block removes every piece of it. */
static unsigned inv_span_shift(const smmu_tlb_entry *e, bool walk_cache) {
    return !walk_cache && e->kind == SMMU_TLB_KIND_NESTED ? e->s1_span_shift : e->span_shift;
}

void smmu_tlb_insert(vp_setassoc *cache, uint32_t slot, bool walk_cache) {
    const smmu_tlb_entry *e = vp_setassoc_entry(cache, slot);
    uint64_t ctx = entry_ctx(e, walk_cache);
    unsigned asid_tag = !(e->flags & SMMU_TLB_F_ASID_VALID) ? ASID_NONE
                        : (e->flags & SMMU_TLB_F_GLOBAL)    ? ASID_GLOBAL
                                                            : ASID_TAGGED;
    unsigned shift = inv_span_shift(e, walk_cache);
    uint64_t keys[IDX_COUNT] = {ctx, asid_key(ctx, asid_tag, e->asid),
                                shift > REGION_SHIFT
                                    ? large_key(ctx)
                                    : region_key(ctx, (e->ia_base & ~span_mask(shift)) >> REGION_SHIFT)};
    vp_setassoc_insert(cache, slot, keys);
}

/* ---- Invalidation ---- */

typedef struct inv_arg {
    const smmu_inv_filter *f;
    bool walk_cache;
} inv_arg;

static bool inv_match(const void *entry, const void *arg) {
    const smmu_tlb_entry *e = entry;
    const inv_arg *a = arg;
    const smmu_inv_filter *f = a->f;
    if (!((a->walk_cache ? f->walk_stages : f->tlb_kinds) & (1u << e->kind)))
        return false;
    bool stage1 = !is_stage2(a->walk_cache, e->kind);
    if (stage1 && !(f->regime_classes & smmu_regime_class(e->regime)))
        return false;
    /* Stage-1-only entries without a VMID tag are removed by any VMID-scoped command (allowed
     * over-invalidation). */
    if (f->by_vmid && (e->flags & SMMU_TLB_F_VMID_VALID) && e->vmid != f->vmid)
        return false;
    if (f->by_asid && (e->flags & SMMU_TLB_F_ASID_VALID)) {
        bool global = e->flags & SMMU_TLB_F_GLOBAL;
        if (global ? !f->include_global : e->asid != f->asid)
            return false;
    }
    if (f->by_range) {
        unsigned shift = inv_span_shift(e, a->walk_cache);
        uint64_t base = e->ia_base & ~span_mask(shift);
        uint64_t last = base + span_mask(shift);
        if (last < f->start || base >= f->end)
            return false;
        if (!a->walk_cache && f->ttl_level >= 1 && f->ttl_level <= 3 && e->level != f->ttl_level)
            return false;
    }
    return true;
}

enum { MAX_CONTEXTS = 12 };

/* The contexts that can hold entries the filter selects. Returns false when the scope covers every VMID of
 * the NS-EL1 regime or of stage 2 (NSNH_ALL, TLBI_NH_ALL without stage 2): then every entry is a candidate.
 */
static bool candidate_contexts(const smmu_inv_filter *f, bool walk_cache, uint64_t *ctx, unsigned *n) {
    unsigned kinds = walk_cache ? f->walk_stages : f->tlb_kinds;
    *n = 0;
    for (unsigned kind = 1; kind <= 3; kind++) {
        if (!(kinds & (1u << kind)))
            continue;
        if (is_stage2(walk_cache, kind)) {
            if (!f->by_vmid)
                return false;
            ctx[(*n)++] = ctx_key(kind, 0, true, f->vmid);
            continue;
        }
        if (f->regime_classes & SMMU_REGIME_CLASS_EL1) {
            if (!f->by_vmid)
                return false;
            ctx[(*n)++] = ctx_key(kind, SMMU_REGIME_NS_EL1, true, f->vmid);
            ctx[(*n)++] = ctx_key(kind, SMMU_REGIME_NS_EL1, false, 0);
        }
        if (f->regime_classes & SMMU_REGIME_CLASS_EL2) {
            ctx[(*n)++] = ctx_key(kind, SMMU_REGIME_EL2, false, 0);
            ctx[(*n)++] = ctx_key(kind, SMMU_REGIME_EL2_E2H, false, 0);
        }
    }
    return true;
}

uint64_t smmu_tlb_invalidate(vp_setassoc *cache, bool walk_cache, const smmu_inv_filter *f) {
    if (!vp_setassoc_enabled(cache))
        return 0;
    inv_arg arg = {f, walk_cache};
    uint64_t ctx[MAX_CONTEXTS];
    unsigned n;
    if (!candidate_contexts(f, walk_cache, ctx, &n))
        return vp_setassoc_remove_if(cache, inv_match, &arg);

    /* The scope's own groups: by ASID (with the entries that have none, and global ones when they match),
     * else whole contexts. */
    uint64_t keys[3 * MAX_CONTEXTS];
    unsigned nkeys = 0, index = f->by_asid ? IDX_ASID : IDX_CTX;
    uint64_t cost = 0;
    for (unsigned i = 0; i < n; i++) {
        if (f->by_asid) {
            keys[nkeys++] = asid_key(ctx[i], ASID_TAGGED, f->asid);
            keys[nkeys++] = asid_key(ctx[i], ASID_NONE, 0);
            if (f->include_global)
                keys[nkeys++] = asid_key(ctx[i], ASID_GLOBAL, 0);
        } else {
            keys[nkeys++] = ctx[i];
        }
    }
    for (unsigned i = 0; i < nkeys; i++)
        cost += vp_setassoc_group_size(cache, index, keys[i]);

    /* A short range visits its regions instead when they are fewer than the scope's entries. */
    if (f->by_range && f->end > f->start) {
        uint64_t first = f->start >> REGION_SHIFT, last = (f->end - 1) >> REGION_SHIFT;
        if (last - first < MAX_REGIONS && cost > (last - first + 2) * n) {
            uint64_t removed = 0;
            for (unsigned i = 0; i < n; i++) {
                for (uint64_t r = first; r <= last; r++)
                    removed +=
                        vp_setassoc_remove_group_if(cache, IDX_ADDR, region_key(ctx[i], r), inv_match, &arg);
                removed += vp_setassoc_remove_group_if(cache, IDX_ADDR, large_key(ctx[i]), inv_match, &arg);
            }
            return removed;
        }
    }
    uint64_t removed = 0;
    for (unsigned i = 0; i < nkeys; i++)
        removed += vp_setassoc_remove_group_if(cache, index, keys[i], inv_match, &arg);
    return removed;
}
