/* The translation engine: TLB lookup, walks on a miss (smmu_walk.c), TLB fill, invalidation scopes and
 * statistics. The contract is smmu_xlate.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smmu_engine_internal.h"

smmu_engine *smmu_engine_create(const smmu_engine_params *params, const smmu_host_ops *host, void *host_ctx) {
    if (!params || !host || !host->mem_read)
        return NULL;
    smmu_engine *eng = calloc(1, sizeof(*eng));
    if (!eng)
        return NULL;
    eng->params = *params;
    eng->host = host;
    eng->host_ctx = host_ctx;
    if (!smmu_tlb_init(&eng->tlb, &params->tlb, params->random_seed) ||
        !smmu_tlb_init(&eng->walk_cache, &params->walk_cache, params->random_seed ^ 0x5bd1e995u)) {
        smmu_engine_destroy(eng);
        return NULL;
    }
    return eng;
}

smmu_call *smmu_engine_set_call(smmu_engine *eng, smmu_call *call) {
    smmu_call *previous = eng->call;
    eng->call = call;
    return previous;
}

void smmu_engine_set_trace(smmu_engine *eng, bool on) {
    eng->trace_on = on && eng->host->trace;
}

void smmu_engine_tracef(smmu_engine *eng, const char *kind, const char *fmt, ...) {
    char fields[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof(fields), fmt, ap);
    va_end(ap);
    eng->host->trace(eng->host_ctx, eng->call, kind, fields);
}

void smmu_engine_get_activity(const smmu_engine *eng, smmu_engine_activity *a) {
    a->walk_stage = eng->walk_stage;
    a->walk_level = eng->walk_level;
    a->tlb_hits = eng->tlb.stats.hits;
    a->tlb_misses = eng->tlb.stats.misses;
    a->walk_cache_hits = eng->walk_cache.stats.hits;
    a->walk_cache_misses = eng->walk_cache.stats.misses;
}

void smmu_engine_destroy(smmu_engine *eng) {
    if (!eng)
        return;
    vp_setassoc_free(&eng->tlb);
    vp_setassoc_free(&eng->walk_cache);
    free(eng);
}

/* ---- TLB ---- */

typedef struct tlb_key {
    uint64_t ctx_tag;
    bool asid_valid;
    uint16_t asid;
    unsigned index_shift; /* granule of the lookup: page entries are indexed by input page number */
    unsigned block_shift; /* level-2 block size: block entries are indexed by input block number */
} tlb_key;

static tlb_key make_tlb_key(const smmu_engine *eng, smmu_tlb_kind kind, unsigned regime, bool vmid_valid,
                            uint16_t vmid, uint32_t sid, bool asid_valid, uint16_t asid,
                            unsigned granule_shift) {
    uint64_t tag = (uint64_t)kind | (uint64_t)regime << 2 | (uint64_t)vmid_valid << 4;
    if (vmid_valid)
        tag |= (uint64_t)vmid << 8;
    if (eng->params.tlb_tag_stream)
        tag |= (uint64_t)sid << 24;
    tlb_key key = {.ctx_tag = tag,
                   .asid_valid = asid_valid,
                   .asid = asid,
                   .index_shift = granule_shift,
                   .block_shift = smmu_level_shift(granule_shift, 2)};
    return key;
}

/* Blocks live in the set of their block number so that every page of the block finds them; the salt keeps
 * block and page numbers of the same region from piling into one set. */
static uint32_t tlb_set_for(const vp_setassoc *tlb, const tlb_key *key, uint64_t ia, bool block) {
    if (block)
        return vp_setassoc_set_first(tlb, (ia >> key->block_shift) ^ UINT64_C(0x5bd1e995));
    return vp_setassoc_set_first(tlb, ia >> key->index_shift);
}

static inline bool tlb_entry_matches(const smmu_tlb_entry *e, const tlb_key *key, uint64_t ia) {
    return e->ctx_tag == key->ctx_tag && ((ia ^ e->ia_base) >> e->span_shift) == 0 &&
           (!key->asid_valid || (e->flags & SMMU_TLB_F_GLOBAL) || e->asid == key->asid);
}

static uint32_t tlb_probe(const vp_setassoc *tlb, uint32_t set, const tlb_key *key, uint64_t ia,
                          smmu_access acc) {
    for (uint32_t slot = set; slot < set + tlb->ways; slot++) {
        if (!vp_setassoc_valid(tlb, slot))
            continue;
        const smmu_tlb_entry *e = vp_setassoc_entry(tlb, slot);
        if (tlb_entry_matches(e, key, ia) && smmu_perm_allows(e->perm, acc))
            return slot;
    }
    return VP_SETASSOC_NONE;
}

/* A usable hit: present and permitting `acc` without a hardware update (those must walk to update memory).
 * Page and block sets are probed in parallel: one lookup. */
static uint64_t span_mask(unsigned span_shift);

static const char *tlb_kind_name(uint64_t ctx_tag) {
    switch (ctx_tag & 3) {
    case SMMU_TLB_KIND_S1:
        return "s1";
    case SMMU_TLB_KIND_S2:
        return "s2";
    default:
        return "nested";
    }
}

static const smmu_tlb_entry *tlb_lookup(smmu_engine *eng, uint32_t sid, const tlb_key *key, uint64_t ia,
                                        smmu_access acc) {
    vp_setassoc *tlb = &eng->tlb;
    if (!vp_setassoc_enabled(tlb))
        return NULL;
    vp_setassoc_note_lookup(tlb);
    smmu_engine_advance(eng, eng->params.tlb.lookup_ps);
    uint32_t slot = tlb_probe(tlb, tlb_set_for(tlb, key, ia, false), key, ia, acc);
    if (slot == VP_SETASSOC_NONE)
        slot = tlb_probe(tlb, tlb_set_for(tlb, key, ia, true), key, ia, acc);
    if (slot != VP_SETASSOC_NONE) {
        vp_setassoc_hit(tlb, slot);
        const smmu_tlb_entry *e = vp_setassoc_entry(tlb, slot);
        SMMU_ENGINE_TRACE(eng, "tlb", "hit sid=0x%x kind=%s addr=0x%llx out=0x%llx size=2^%u", sid,
                          tlb_kind_name(key->ctx_tag), (unsigned long long)ia,
                          (unsigned long long)(e->out_base | (ia & span_mask(e->span_shift))), e->span_shift);
        return e;
    }
    vp_setassoc_note_miss(tlb);
    SMMU_ENGINE_TRACE(eng, "tlb", "miss sid=0x%x kind=%s addr=0x%llx", sid, tlb_kind_name(key->ctx_tag),
                      (unsigned long long)ia);
    return NULL;
}

/* Inserts a translation, replacing a stale copy of the same span (e.g. the clean entry a write re-walked). */
static void tlb_fill(smmu_engine *eng, const tlb_key *key, uint64_t ia, const smmu_tlb_entry *proto) {
    vp_setassoc *tlb = &eng->tlb;
    if (!vp_setassoc_enabled(tlb))
        return;
    uint32_t set = tlb_set_for(tlb, key, ia, proto->span_shift >= key->block_shift);
    uint32_t slot = VP_SETASSOC_NONE;
    for (uint32_t s = set; s < set + tlb->ways && slot == VP_SETASSOC_NONE; s++) {
        const smmu_tlb_entry *e = vp_setassoc_entry(tlb, s);
        if (vp_setassoc_valid(tlb, s) && e->ctx_tag == proto->ctx_tag && e->ia_base == proto->ia_base &&
            e->span_shift == proto->span_shift && e->asid == proto->asid)
            slot = s;
    }
    if (slot == VP_SETASSOC_NONE)
        slot = vp_setassoc_victim(tlb, set);
    *(smmu_tlb_entry *)vp_setassoc_entry(tlb, slot) = *proto;
    smmu_tlb_insert(tlb, slot, false);
}

static uint64_t span_mask(unsigned span_shift) {
    return (UINT64_C(1) << span_shift) - 1;
}

static void fill_out(smmu_xlate_out *out, uint64_t oa, unsigned span_shift, uint8_t perm, smmu_access acc,
                     uint8_t mem_attr, uint8_t share, bool global, bool hit) {
    out->oa = oa;
    out->size_shift = (uint8_t)span_shift;
    /* Writable-clean is reported as not writable, so no cached mapping can skip the dirty update. */
    out->read = perm & (acc.priv ? SMMU_PERM_PRIV_R : SMMU_PERM_USER_R);
    out->write = perm & (acc.priv ? SMMU_PERM_PRIV_W : SMMU_PERM_USER_W);
    out->exec = perm & (acc.priv ? SMMU_PERM_PRIV_X : SMMU_PERM_USER_X);
    out->mem_attr = mem_attr;
    out->share = share;
    out->global = global;
    out->tlb_hit = hit;
}

/* IAS: this model implements only VMSAv8-64 tables, so the intermediate address size equals the OAS. */
static unsigned engine_ias_bits(const smmu_engine *eng) {
    return eng->params.oas_bits && eng->params.oas_bits < 64 ? eng->params.oas_bits : 48;
}

static void range_fault(smmu_fault *fault, unsigned stage, smmu_fault_class fclass, uint64_t ipa) {
    memset(fault, 0, sizeof(*fault));
    fault->type = SMMU_FAULT_TRANSLATION;
    fault->stage = (uint8_t)stage;
    fault->level = 0;
    fault->fclass = fclass;
    fault->ttrnw = true;
    fault->ipa = ipa;
}

bool smmu_engine_s2_translate(smmu_engine *eng, const smmu_walk_ctx *ctx, uint64_t ipa, smmu_access acc,
                              smmu_fault_class fclass, bool use_tlb, smmu_walk_leaf *leaf,
                              smmu_fault *fault) {
    const smmu_tt_cfg *tt = &ctx->s2->tt;
    /* An IPA above the stage-2 input range (S2T0SZ, capped to the IAS) is a stage-2 translation fault. */
    unsigned ia_bits = tt->tsz < 64 ? 64u - tt->tsz : 1;
    if (ia_bits > engine_ias_bits(eng))
        ia_bits = engine_ias_bits(eng);
    if (ia_bits < 64 && (ipa >> ia_bits) != 0) {
        range_fault(fault, 2, fclass, ipa);
        return false;
    }
    tlb_key key =
        make_tlb_key(eng, SMMU_TLB_KIND_S2, 0, true, ctx->s2->vmid, ctx->sid, false, 0, tt->granule_shift);
    if (use_tlb) {
        const smmu_tlb_entry *e = tlb_lookup(eng, ctx->sid, &key, ipa, acc);
        if (e) {
            leaf->oa = e->out_base | (ipa & span_mask(e->span_shift));
            leaf->desc = SMMU_FIELD_PREP(SMMU_DESC_S2_MEMATTR, e->s2_mem_attr) |
                         SMMU_FIELD_PREP(SMMU_DESC_SH, e->share);
            leaf->span_shift = e->span_shift;
            leaf->level = (int8_t)e->level;
            leaf->perm = e->perm;
            return true;
        }
    }
    if (!smmu_walk_stage(eng, ctx, 2, 0, ipa, acc, fclass, leaf, fault))
        return false;
    if (use_tlb) {
        smmu_tlb_entry proto = {0};
        proto.ia_base = ipa & ~span_mask(leaf->span_shift);
        proto.out_base = leaf->oa & ~span_mask(leaf->span_shift);
        proto.ctx_tag = key.ctx_tag;
        proto.sid = ctx->sid;
        proto.vmid = ctx->s2->vmid;
        proto.span_shift = leaf->span_shift;
        proto.kind = SMMU_TLB_KIND_S2;
        proto.level = (uint8_t)leaf->level;
        proto.flags = SMMU_TLB_F_VMID_VALID;
        proto.perm = leaf->perm;
        proto.mem_attr = 0xff;
        proto.share = (uint8_t)SMMU_FIELD_GET(SMMU_DESC_SH, leaf->desc);
        proto.s2_mem_attr = (uint8_t)SMMU_FIELD_GET(SMMU_DESC_S2_MEMATTR, leaf->desc);
        proto.s2_share = proto.share;
        tlb_fill(eng, &key, ipa, &proto);
    }
    return true;
}

static bool translate_s2_only(smmu_engine *eng, const smmu_walk_ctx *ctx, uint64_t ipa, smmu_access acc,
                              smmu_xlate_out *out, smmu_fault *fault) {
    /* With stage 1 bypassed, an input beyond the IAS is a stage-1 Address Size fault (SMMU spec 3.4). */
    if ((ipa >> engine_ias_bits(eng)) != 0) {
        range_fault(fault, 1, SMMU_CLASS_IN, 0);
        fault->type = SMMU_FAULT_ADDR_SIZE;
        return false;
    }
    uint64_t hits_before = eng->tlb.stats.hits;
    smmu_walk_leaf leaf;
    if (!smmu_engine_s2_translate(eng, ctx, ipa, acc, SMMU_CLASS_IN, true, &leaf, fault))
        return false;
    uint8_t s2_share = (uint8_t)SMMU_FIELD_GET(SMMU_DESC_SH, leaf.desc);
    fill_out(out, leaf.oa, leaf.span_shift, leaf.perm, acc, 0xff, s2_share, false,
             eng->tlb.stats.hits != hits_before);
    out->s2_mem_attr = (uint8_t)SMMU_FIELD_GET(SMMU_DESC_S2_MEMATTR, leaf.desc);
    out->s2_share = s2_share;
    return true;
}

static bool translate_s1(smmu_engine *eng, const smmu_walk_ctx *ctx, uint64_t ia, smmu_access acc,
                         smmu_xlate_out *out, smmu_fault *fault) {
    const smmu_s1_cfg *s1 = ctx->s1;
    /* VA bit 55 selects the TTB half in both TBI settings; TBI only exempts the top byte from the range
     * check. */
    unsigned half = (unsigned)(ia >> 55) & 1;
    const smmu_tt_cfg *tt = &s1->tt[half];
    uint64_t va = s1->tbi[half] ? smmu_va_canonical(ia) : ia;
    unsigned ia_bits = tt->tsz >= 12 && tt->tsz < 64 ? 64u - tt->tsz : 48;
    uint64_t upper = half ? ~va >> ia_bits : va >> ia_bits;
    bool no_ttb1 = half == 1 && s1->regime == SMMU_REGIME_EL2;
    if (upper != 0 || tt->disabled || no_ttb1) {
        range_fault(fault, 1, SMMU_CLASS_IN, 0);
        return false;
    }

    bool asid_valid = smmu_regime_has_asid(s1->regime);
    smmu_tlb_kind kind = ctx->s2 ? SMMU_TLB_KIND_NESTED : SMMU_TLB_KIND_S1;
    uint16_t vmid;
    bool vmid_valid = smmu_walk_ctx_vmid(ctx, &vmid);
    tlb_key key = make_tlb_key(eng, kind, s1->regime, vmid_valid, vmid, ctx->sid, asid_valid, s1->asid,
                               tt->granule_shift);
    const smmu_tlb_entry *e = tlb_lookup(eng, ctx->sid, &key, va, acc);
    if (e) {
        fill_out(out, e->out_base | (va & span_mask(e->span_shift)), e->span_shift, e->perm, acc, e->mem_attr,
                 e->share, e->flags & SMMU_TLB_F_GLOBAL, true);
        out->s2_mem_attr = e->s2_mem_attr;
        out->s2_share = e->s2_share;
        return true;
    }

    smmu_walk_leaf s1_leaf;
    if (!smmu_walk_stage(eng, ctx, 1, half, va, acc, SMMU_CLASS_IN, &s1_leaf, fault))
        return false;
    uint64_t pa = s1_leaf.oa;
    unsigned span = s1_leaf.span_shift;
    uint8_t perm = s1_leaf.perm;
    uint8_t s2_mem_attr = 0xff, s2_share = 0xff;
    if (ctx->s2) {
        eng->count.walks_nested++;
        smmu_walk_leaf s2_leaf;
        if (!smmu_engine_s2_translate(eng, ctx, s1_leaf.oa, acc, SMMU_CLASS_IN, false, &s2_leaf, fault))
            return false;
        pa = s2_leaf.oa;
        if (s2_leaf.span_shift < span)
            span = s2_leaf.span_shift;
        perm = smmu_walk_combine_perms(perm, s2_leaf.perm);
        s2_mem_attr = (uint8_t)SMMU_FIELD_GET(SMMU_DESC_S2_MEMATTR, s2_leaf.desc);
        s2_share = (uint8_t)SMMU_FIELD_GET(SMMU_DESC_SH, s2_leaf.desc);
    }
    unsigned attr_index = (unsigned)SMMU_FIELD_GET(SMMU_DESC_ATTRINDX, s1_leaf.desc);
    uint8_t mem_attr = (uint8_t)(s1->mair >> (8 * attr_index));
    uint8_t share = (uint8_t)SMMU_FIELD_GET(SMMU_DESC_SH, s1_leaf.desc);
    /* nG only means something where the regime has ASIDs. */
    bool global = !asid_valid || !(s1_leaf.desc & SMMU_DESC_NG);

    smmu_tlb_entry proto = {0};
    proto.ia_base = va & ~span_mask(span);
    proto.out_base = pa & ~span_mask(span);
    proto.ctx_tag = key.ctx_tag;
    proto.sid = ctx->sid;
    proto.asid = asid_valid && !global ? s1->asid : 0;
    proto.vmid = vmid;
    proto.span_shift = (uint8_t)span;
    proto.s1_span_shift = s1_leaf.span_shift;
    proto.kind = (uint8_t)kind;
    proto.regime = (uint8_t)s1->regime;
    proto.level = (uint8_t)s1_leaf.level;
    proto.flags = (uint8_t)((global ? SMMU_TLB_F_GLOBAL : 0) | (vmid_valid ? SMMU_TLB_F_VMID_VALID : 0) |
                            (asid_valid ? SMMU_TLB_F_ASID_VALID : 0));
    proto.perm = perm;
    proto.mem_attr = mem_attr;
    proto.share = share;
    proto.s2_mem_attr = s2_mem_attr;
    proto.s2_share = s2_share;
    tlb_fill(eng, &key, va, &proto);

    fill_out(out, pa, span, perm, acc, mem_attr, share, global, false);
    out->s2_mem_attr = s2_mem_attr;
    out->s2_share = s2_share;
    return true;
}

bool smmu_engine_translate(smmu_engine *eng, uint32_t sid, const smmu_s1_cfg *s1, const smmu_s2_cfg *s2,
                           uint64_t ia, smmu_access acc, smmu_xlate_out *out, smmu_fault *fault) {
    smmu_walk_ctx ctx = {.sid = sid, .s1 = s1, .s2 = s2};
    bool ok;
    if (s1)
        ok = translate_s1(eng, &ctx, ia, acc, out, fault);
    else if (s2)
        ok = translate_s2_only(eng, &ctx, ia, acc, out, fault);
    else {
        /* Not a legal call; answer with a fault rather than crash. */
        range_fault(fault, 1, SMMU_CLASS_IN, 0);
        ok = false;
    }
    if (!ok && fault->type <= SMMU_FAULT_WALK_EABT)
        eng->count.faults[fault->type]++;
    eng->walk_stage = 0;
    return ok;
}

/* ---- invalidation ---- */

static void run_invalidation(smmu_engine *eng, const smmu_inv_filter *f) {
    if (f->tlb_kinds)
        smmu_tlb_invalidate(&eng->tlb, false, f);
    if (f->walk_stages)
        smmu_tlb_invalidate(&eng->walk_cache, true, f);
    if (eng->host->translations_changed)
        eng->host->translations_changed(eng->host_ctx, eng->call);
}

static void set_range(smmu_inv_filter *f, uint64_t addr, uint64_t num_bytes) {
    f->by_range = true;
    f->start = addr;
    uint64_t len = num_bytes ? num_bytes : 1;
    f->end = addr + len < addr ? UINT64_MAX : addr + len;
}

#define ALL_TLB_KINDS ((1u << SMMU_TLB_KIND_S1) | (1u << SMMU_TLB_KIND_S2) | (1u << SMMU_TLB_KIND_NESTED))
#define STAGE1_TLB_KINDS ((1u << SMMU_TLB_KIND_S1) | (1u << SMMU_TLB_KIND_NESTED))

void smmu_engine_inv_all(smmu_engine *eng) {
    smmu_inv_filter f = {.tlb_kinds = ALL_TLB_KINDS,
                         .walk_stages = (1u << 1) | (1u << 2),
                         .regime_classes = SMMU_REGIME_CLASS_EL1 | SMMU_REGIME_CLASS_EL2};
    run_invalidation(eng, &f);
}

void smmu_engine_inv_vmid_all(smmu_engine *eng, uint16_t vmid) {
    smmu_inv_filter f = {.tlb_kinds = ALL_TLB_KINDS,
                         .walk_stages = (1u << 1) | (1u << 2),
                         .regime_classes = SMMU_REGIME_CLASS_EL1,
                         .by_vmid = true,
                         .vmid = vmid};
    run_invalidation(eng, &f);
}

void smmu_engine_inv_nh_all(smmu_engine *eng, uint16_t vmid, bool vmid_valid) {
    smmu_inv_filter f = {.tlb_kinds = STAGE1_TLB_KINDS,
                         .walk_stages = 1u << 1,
                         .regime_classes = SMMU_REGIME_CLASS_EL1,
                         .by_vmid = vmid_valid,
                         .vmid = vmid};
    run_invalidation(eng, &f);
}

void smmu_engine_inv_asid(smmu_engine *eng, smmu_regime regime, uint16_t vmid, uint16_t asid) {
    bool el1 = regime == SMMU_REGIME_NS_EL1;
    smmu_inv_filter f = {.tlb_kinds = STAGE1_TLB_KINDS,
                         .walk_stages = 1u << 1,
                         .regime_classes = smmu_regime_class(regime),
                         .by_vmid = el1,
                         .vmid = vmid,
                         .by_asid = true,
                         .asid = asid};
    run_invalidation(eng, &f);
}

void smmu_engine_inv_va(smmu_engine *eng, smmu_regime regime, uint16_t vmid, bool by_asid, uint16_t asid,
                        uint64_t addr, uint64_t num_bytes, bool leaf, uint8_t ttl) {
    bool el1 = regime == SMMU_REGIME_NS_EL1;
    /* By VA with an ASID removes that ASID's entries and the global ones of the address (walk-cache entries
     * are never global); without an ASID (VAA) every ASID's. */
    smmu_inv_filter f = {.tlb_kinds = STAGE1_TLB_KINDS,
                         .walk_stages = leaf ? 0 : 1u << 1,
                         .regime_classes = smmu_regime_class(regime),
                         .by_vmid = el1,
                         .vmid = vmid,
                         .by_asid = by_asid,
                         .asid = asid,
                         .include_global = true,
                         .ttl_level = ttl};
    set_range(&f, smmu_va_canonical(addr), num_bytes);
    run_invalidation(eng, &f);
}

void smmu_engine_inv_regime_all(smmu_engine *eng, smmu_regime regime) {
    smmu_inv_filter f = {
        .tlb_kinds = STAGE1_TLB_KINDS, .walk_stages = 1u << 1, .regime_classes = smmu_regime_class(regime)};
    run_invalidation(eng, &f);
}

/* Stage-2-only entries and stage-2 walk-cache entries of the IPA range. Combined stage 1+2 entries stay: the
 * architecture does not require S2_IPA to remove them, software follows up with TLBI_NH_ALL/S12_VMALL. */
void smmu_engine_inv_ipa(smmu_engine *eng, uint16_t vmid, uint64_t ipa, uint64_t num_bytes, bool leaf,
                         uint8_t ttl) {
    smmu_inv_filter f = {.tlb_kinds = 1u << SMMU_TLB_KIND_S2,
                         .walk_stages = leaf ? 0 : 1u << 2,
                         .by_vmid = true,
                         .vmid = vmid,
                         .ttl_level = ttl};
    set_range(&f, ipa, num_bytes);
    run_invalidation(eng, &f);
}

/* ---- statistics ---- */

static void cache_stats(const char *prefix, const vp_setassoc_stats *st,
                        void (*cb)(void *arg, const char *name, uint64_t value), void *arg) {
    static const char *const names[] = {"lookups", "hits", "misses", "inserts", "evictions", "invalidated"};
    const uint64_t values[] = {st->lookups, st->hits,      st->misses,
                               st->inserts, st->evictions, st->invalidated};
    char name[64];
    for (unsigned i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        size_t len = strlen(prefix);
        memcpy(name, prefix, len);
        name[len] = '.';
        strcpy(name + len + 1, names[i]);
        cb(arg, name, values[i]);
    }
}

void smmu_engine_stats(const smmu_engine *eng, void (*cb)(void *arg, const char *name, uint64_t value),
                       void *arg) {
    cache_stats("tlb", &eng->tlb.stats, cb, arg);
    cache_stats("walk_cache", &eng->walk_cache.stats, cb, arg);
    cb(arg, "walks.s1", eng->count.walks_s1);
    cb(arg, "walks.s2", eng->count.walks_s2);
    cb(arg, "walks.nested", eng->count.walks_nested);
    cb(arg, "walk.mem_reads.s1", eng->count.mem_reads_s1);
    cb(arg, "walk.mem_reads.s2", eng->count.mem_reads_s2);
    static const char *const step_names[2][4] = {
        {"walk.steps.s1.level0", "walk.steps.s1.level1", "walk.steps.s1.level2", "walk.steps.s1.level3"},
        {"walk.steps.s2.level0", "walk.steps.s2.level1", "walk.steps.s2.level2", "walk.steps.s2.level3"}};
    for (unsigned stage = 0; stage < 2; stage++)
        for (unsigned level = 0; level < 4; level++)
            cb(arg, step_names[stage][level], eng->count.walk_steps[stage][level]);
    cb(arg, "httu.af_updates", eng->count.af_updates);
    cb(arg, "httu.dirty_updates", eng->count.dirty_updates);
    cb(arg, "httu.cas_retries", eng->count.cas_retries);
    cb(arg, "faults.translation", eng->count.faults[SMMU_FAULT_TRANSLATION]);
    cb(arg, "faults.addr_size", eng->count.faults[SMMU_FAULT_ADDR_SIZE]);
    cb(arg, "faults.access", eng->count.faults[SMMU_FAULT_ACCESS]);
    cb(arg, "faults.permission", eng->count.faults[SMMU_FAULT_PERMISSION]);
    cb(arg, "faults.walk_eabt", eng->count.faults[SMMU_FAULT_WALK_EABT]);
}
