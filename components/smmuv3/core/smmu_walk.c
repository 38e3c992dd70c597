/* The VMSAv8-64 translation table walker: one loop for stage 1 and stage 2, used alone or nested, with the
 * walk cache, hardware access-flag / dirty-state updates and the start-level rules of both stages. */
#include <string.h>

#include "smmu_engine_internal.h"

/* A descriptor that keeps changing under our compare-and-swap is answered with a fault rather than a hang. */
#define SMMU_WALK_MAX_CAS_RETRIES 64

static void set_fault(smmu_fault *fault, smmu_fault_type type, unsigned stage, int level,
                      smmu_fault_class fclass, uint64_t ipa) {
    memset(fault, 0, sizeof(*fault));
    fault->type = type;
    fault->stage = (uint8_t)stage;
    fault->level = (int8_t)level;
    fault->fclass = fclass;
    fault->ttrnw = true;
    fault->ipa = ipa;
}

static bool granule_valid(unsigned granule_shift) {
    return granule_shift == 12 || granule_shift == 14 || granule_shift == 16;
}

/* 52-bit output addresses are encoded only by the 64 KB granule (FEAT_LPA; no LPA2 in this model). */
static bool lpa_granule(const smmu_engine *eng, unsigned granule_shift) {
    return granule_shift == 16 && eng->params.oas_bits >= 52;
}

/* Block descriptors exist at levels 1 and 2 with 4 KB, at level 2 with 16 KB, and at level 2 (and level 1
 * with 52-bit output addresses) with 64 KB. */
static bool block_allowed(const smmu_engine *eng, unsigned granule_shift, int level) {
    if (granule_shift == 12)
        return level == 1 || level == 2;
    return level == 2 || (level == 1 && lpa_granule(eng, granule_shift));
}

/* Output address (next table or block/page base) held by a descriptor, aligned to 2^low_shift. */
static uint64_t descriptor_address(const smmu_engine *eng, uint64_t desc, unsigned granule_shift,
                                   unsigned low_shift) {
    uint64_t addr = desc & SMMU_GENMASK(SMMU_DESC_ADDR_TOP, low_shift);
    if (lpa_granule(eng, granule_shift))
        addr |= SMMU_FIELD_GET(SMMU_DESC_OA_51_48, desc) << 48;
    return addr;
}

smmu_tsz_range smmu_s1_tsz_range(uint8_t granule_shift, bool stt, bool va52) {
    smmu_tsz_range r;
    r.min = va52 && granule_shift == 16 ? 12 : 16;
    r.max = !stt ? 39 : granule_shift == 16 ? 47 : 48;
    return r;
}

smmu_tsz_range smmu_s2_tsz_range(uint8_t granule_shift, bool stt, unsigned ias_bits) {
    smmu_tsz_range r = smmu_s1_tsz_range(granule_shift, stt, true);
    if (ias_bits < 64 && 64 - ias_bits > r.min)
        r.min = (uint8_t)(64 - ias_bits);
    return r;
}

bool smmu_s1_start_level(uint8_t granule_shift, uint8_t tsz, smmu_tsz_range range, int8_t *start_level) {
    if (!granule_valid(granule_shift) || tsz < range.min || tsz > range.max)
        return false;
    unsigned stride = granule_shift - 3u;
    unsigned ia_bits = 64u - tsz;
    unsigned levels = (ia_bits - granule_shift + stride - 1) / stride;
    *start_level = (int8_t)(4 - (int)levels);
    return true;
}

bool smmu_s2_start_level(uint8_t granule_shift, uint8_t t0sz, smmu_tsz_range range, uint8_t sl0,
                         uint8_t pa_bits, int8_t *start_level, uint8_t *concat_tables) {
    if (!granule_valid(granule_shift) || sl0 > 2 || t0sz < range.min || t0sz > range.max)
        return false;
    int level;
    if (granule_shift == 12)
        level = 2 - sl0;
    else
        level = 3 - sl0;
    /* The deepest start levels need a PA size large enough to make them useful (VTCR_EL2.SL0 rules). */
    if (sl0 == 2) {
        unsigned min_pa = granule_shift == 14 ? 42 : 44;
        if (pa_bits < min_pa)
            return false;
    }
    unsigned stride = granule_shift - 3u;
    int start_bits = (int)(64u - t0sz) - (int)smmu_level_shift(granule_shift, level);
    /* The start level must resolve at least one bit and at most 16 concatenated tables. */
    if (start_bits < 1 || start_bits > (int)stride + 4)
        return false;
    *start_level = (int8_t)level;
    *concat_tables = (uint8_t)(start_bits > (int)stride ? 1u << (start_bits - (int)stride) : 1u);
    return true;
}

uint8_t smmu_walk_s1_perms(const smmu_s1_cfg *s1, uint64_t desc, uint8_t hier, bool hd) {
    bool read_only = (desc & SMMU_DESC_AP2) || (hier & SMMU_WALK_HIER_RO);
    /* Writable-clean: DBM with HD lets a write through after hardware clears AP[2]; APTable[1] still forbids.
     */
    bool clean = hd && (desc & SMMU_DESC_DBM) && (desc & SMMU_DESC_AP2) && !(hier & SMMU_WALK_HIER_RO);
    bool xn = (desc & SMMU_DESC_UXN) || (hier & SMMU_WALK_HIER_UXN);
    uint8_t perm = 0;

    if (s1->regime == SMMU_REGIME_EL2) {
        /* One privilege level: AP[1] and PXN are ignored, bit 54 is XN, unprivileged accesses act as EL2. */
        bool x = !xn && !(s1->wxn && (!read_only || clean));
        perm = SMMU_PERM_PRIV_R | SMMU_PERM_USER_R;
        if (!read_only)
            perm |= SMMU_PERM_PRIV_W | SMMU_PERM_USER_W;
        if (clean)
            perm |= SMMU_PERM_PRIV_W_CLEAN | SMMU_PERM_USER_W_CLEAN;
        if (x)
            perm |= SMMU_PERM_PRIV_X | SMMU_PERM_USER_X;
        return perm;
    }

    bool user = (desc & SMMU_DESC_AP1) && !(hier & SMMU_WALK_HIER_NO_USER);
    bool priv_r = true, priv_w = !read_only, priv_wc = clean;
    bool user_r = user, user_w = user && !read_only, user_wc = user && clean;
    bool user_writable = user_w || user_wc;
    /* A location writable at EL0 is never executable at EL1. */
    bool priv_x = !(desc & SMMU_DESC_PXN) && !(hier & SMMU_WALK_HIER_PXN) && !user_writable &&
                  !(s1->wxn && (priv_w || priv_wc));
    bool user_x = !xn && !(s1->wxn && user_writable);
    /* PAN (CD.PAN) removes privileged data access to anything unprivileged code may access. */
    if (s1->pan && user)
        priv_r = priv_w = priv_wc = false;

    perm |= priv_r ? SMMU_PERM_PRIV_R : 0;
    perm |= priv_w ? SMMU_PERM_PRIV_W : 0;
    perm |= priv_wc ? SMMU_PERM_PRIV_W_CLEAN : 0;
    perm |= priv_x ? SMMU_PERM_PRIV_X : 0;
    perm |= user_r ? SMMU_PERM_USER_R : 0;
    perm |= user_w ? SMMU_PERM_USER_W : 0;
    perm |= user_wc ? SMMU_PERM_USER_W_CLEAN : 0;
    perm |= user_x ? SMMU_PERM_USER_X : 0;
    return perm;
}

uint8_t smmu_walk_s2_perms(uint64_t desc, bool hd, bool xnx) {
    uint8_t perm = 0;
    if (desc & SMMU_DESC_S2AP_R)
        perm |= SMMU_PERM_PRIV_R | SMMU_PERM_USER_R;
    if (desc & SMMU_DESC_S2AP_W)
        perm |= SMMU_PERM_PRIV_W | SMMU_PERM_USER_W;
    else if (hd && (desc & SMMU_DESC_DBM))
        perm |= SMMU_PERM_PRIV_W_CLEAN | SMMU_PERM_USER_W_CLEAN;
    /* XN[1:0] (FEAT_XNX): 0 both execute, 1 EL0 only, 2 neither, 3 EL1 only. Without FEAT_XNX bit 53 is RES0
     * and XN (bit 54) alone forbids execution at every level: read it as XN[1:0] = 0b10 or 0b00. */
    unsigned xn = (unsigned)SMMU_FIELD_GET(SMMU_DESC_S2_XN, desc);
    if (!xnx)
        xn &= 2;
    switch (xn) {
    case 0:
        perm |= SMMU_PERM_PRIV_X | SMMU_PERM_USER_X;
        break;
    case 1:
        perm |= SMMU_PERM_USER_X;
        break;
    case 3:
        perm |= SMMU_PERM_PRIV_X;
        break;
    default:
        break;
    }
    return perm;
}

uint8_t smmu_walk_combine_perms(uint8_t s1, uint8_t s2) {
    uint8_t perm = s1 & s2 & (SMMU_PERM_PRIV_R | SMMU_PERM_PRIV_X | SMMU_PERM_USER_R | SMMU_PERM_USER_X);
    static const struct {
        uint8_t w, wc;
    } priv_levels[2] = {{SMMU_PERM_PRIV_W, SMMU_PERM_PRIV_W_CLEAN},
                        {SMMU_PERM_USER_W, SMMU_PERM_USER_W_CLEAN}};
    for (unsigned i = 0; i < 2; i++) {
        uint8_t w = priv_levels[i].w, wc = priv_levels[i].wc;
        bool s1_ok = s1 & (w | wc), s2_ok = s2 & (w | wc);
        if (!s1_ok || !s2_ok)
            continue;
        /* Writable as is only if neither stage still needs its dirty update. */
        perm |= ((s1 & w) && (s2 & w)) ? w : wc;
    }
    return perm;
}

/* ---- walk cache ---- */

typedef struct walk_cache_tag {
    uint8_t stage;
    uint8_t regime;
    uint8_t flags; /* SMMU_TLB_F_VMID_VALID / SMMU_TLB_F_ASID_VALID */
    uint16_t vmid, asid;
    uint64_t ttb;
    uint8_t tt_index, granule_shift;
} walk_cache_tag;

static walk_cache_tag walk_cache_tag_of(const smmu_walk_ctx *ctx, unsigned stage, unsigned tt_index,
                                        const smmu_tt_cfg *tt) {
    walk_cache_tag tag = {0};
    tag.stage = (uint8_t)stage;
    tag.ttb = tt->ttb;
    tag.tt_index = (uint8_t)tt_index;
    tag.granule_shift = tt->granule_shift;
    if (stage == 2) {
        tag.flags |= SMMU_TLB_F_VMID_VALID;
        tag.vmid = ctx->s2->vmid;
    } else if (smmu_walk_ctx_vmid(ctx, &tag.vmid)) {
        tag.flags |= SMMU_TLB_F_VMID_VALID;
    }
    if (stage == 1) {
        tag.regime = (uint8_t)ctx->s1->regime;
        if (smmu_regime_has_asid(ctx->s1->regime)) {
            tag.flags |= SMMU_TLB_F_ASID_VALID;
            tag.asid = ctx->s1->asid;
        }
    }
    return tag;
}

static uint64_t walk_cache_key(uint64_t ia, unsigned span_shift, int level) {
    return (ia >> span_shift) ^ ((uint64_t)level << 48);
}

static bool walk_cache_match(const smmu_tlb_entry *e, const walk_cache_tag *tag, uint64_t base, int level) {
    return e->kind == tag->stage && e->level == (uint8_t)level && e->ia_base == base && e->ttb == tag->ttb &&
           e->tt_index == tag->tt_index && e->granule_shift == tag->granule_shift &&
           e->regime == tag->regime &&
           (e->flags & (SMMU_TLB_F_VMID_VALID | SMMU_TLB_F_ASID_VALID)) == tag->flags &&
           e->vmid == tag->vmid && e->asid == tag->asid;
}

/* The valid way of the set starting at `set` that caches this table descriptor, or VP_SETASSOC_NONE. */
static uint32_t walk_cache_probe(const vp_setassoc *wc, uint32_t set, const walk_cache_tag *tag,
                                 uint64_t base, int level) {
    for (uint32_t slot = set; slot < set + wc->ways; slot++)
        if (vp_setassoc_valid(wc, slot) && walk_cache_match(vp_setassoc_entry(wc, slot), tag, base, level))
            return slot;
    return VP_SETASSOC_NONE;
}

/* Looks for the deepest cached table descriptor on the path of `ia`; on a hit the walk resumes below it. */
static bool walk_cache_lookup(smmu_engine *eng, const walk_cache_tag *tag, uint64_t ia, int start_level,
                              uint64_t *table, int *level, uint8_t *hier) {
    vp_setassoc *wc = &eng->walk_cache;
    if (!vp_setassoc_enabled(wc))
        return false;
    vp_setassoc_note_lookup(wc);
    smmu_engine_advance(eng, eng->params.walk_cache.lookup_ps);
    for (int l = 2; l >= start_level; l--) {
        unsigned span = smmu_level_shift(tag->granule_shift, l);
        uint64_t base = ia & ~((UINT64_C(1) << span) - 1);
        uint32_t slot =
            walk_cache_probe(wc, vp_setassoc_set_first(wc, walk_cache_key(ia, span, l)), tag, base, l);
        if (slot != VP_SETASSOC_NONE) {
            const smmu_tlb_entry *e = vp_setassoc_entry(wc, slot);
            vp_setassoc_hit(wc, slot);
            *table = e->out_base;
            *level = l + 1;
            *hier = e->perm;
            SMMU_ENGINE_TRACE(eng, "walk_cache", "hit stage=%u addr=0x%llx level=%d table=0x%llx", tag->stage,
                              (unsigned long long)ia, l + 1, (unsigned long long)e->out_base);
            return true;
        }
    }
    vp_setassoc_note_miss(wc);
    SMMU_ENGINE_TRACE(eng, "walk_cache", "miss stage=%u addr=0x%llx", tag->stage, (unsigned long long)ia);
    return false;
}

static void walk_cache_insert(smmu_engine *eng, const walk_cache_tag *tag, uint64_t ia, int level,
                              uint64_t next_table, uint8_t hier) {
    vp_setassoc *wc = &eng->walk_cache;
    if (!vp_setassoc_enabled(wc))
        return;
    unsigned span = smmu_level_shift(tag->granule_shift, level);
    uint64_t base = ia & ~((UINT64_C(1) << span) - 1);
    uint32_t set = vp_setassoc_set_first(wc, walk_cache_key(ia, span, level));
    uint32_t slot = walk_cache_probe(wc, set, tag, base, level);
    if (slot == VP_SETASSOC_NONE)
        slot = vp_setassoc_victim(wc, set);
    smmu_tlb_entry *e = vp_setassoc_entry(wc, slot);
    memset(e, 0, sizeof(*e));
    e->ia_base = base;
    e->out_base = next_table;
    e->ttb = tag->ttb;
    e->span_shift = (uint8_t)span;
    e->kind = tag->stage;
    e->regime = tag->regime;
    e->level = (uint8_t)level;
    e->flags = tag->flags;
    e->vmid = tag->vmid;
    e->asid = tag->asid;
    e->perm = hier;
    e->granule_shift = tag->granule_shift;
    e->tt_index = tag->tt_index;
    smmu_tlb_insert(wc, slot, true);
}

/* ---- descriptor memory accesses ---- */

static uint64_t load_le64(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static bool read_descriptor(smmu_engine *eng, unsigned stage, const smmu_tt_cfg *tt, uint64_t pa,
                            uint64_t *desc) {
    uint8_t buf[8];
    smmu_engine_advance(eng, eng->params.walk_step_ps);
    if (stage == 1)
        eng->count.mem_reads_s1++;
    else
        eng->count.mem_reads_s2++;
    if (!eng->host->mem_read(eng->host_ctx, eng->call, SMMU_MEM_TT, pa, buf, 8, &tt->walk_attrs))
        return false;
    uint64_t v = load_le64(buf);
    *desc = tt->big_endian ? __builtin_bswap64(v) : v;
    return true;
}

/* Compare-and-swap of a descriptor. A host without mem_cas64 gets a read-compare-write, which is atomic
 * enough for a simulator that does not run two agents at once. */
static bool cas_descriptor(smmu_engine *eng, const smmu_tt_cfg *tt, uint64_t pa, uint64_t expected,
                           uint64_t desired, uint64_t *observed) {
    if (tt->big_endian) {
        expected = __builtin_bswap64(expected);
        desired = __builtin_bswap64(desired);
    }
    uint64_t seen = 0;
    bool ok;
    if (eng->host->mem_cas64) {
        ok = eng->host->mem_cas64(eng->host_ctx, eng->call, pa, expected, desired, &seen, &tt->walk_attrs);
    } else {
        uint8_t buf[8];
        ok = eng->host->mem_read(eng->host_ctx, eng->call, SMMU_MEM_TT, pa, buf, 8, &tt->walk_attrs);
        seen = load_le64(buf);
        if (ok && seen == expected) {
            for (unsigned i = 0; i < 8; i++)
                buf[i] = (uint8_t)(desired >> (8 * i));
            ok = eng->host->mem_write &&
                 eng->host->mem_write(eng->host_ctx, eng->call, SMMU_MEM_TT, pa, buf, 8, &tt->walk_attrs);
        }
    }
    *observed = tt->big_endian ? __builtin_bswap64(seen) : seen;
    return ok;
}

/* Physical address of a descriptor: stage-1 table addresses are IPAs when stage 2 is on (reads need stage-2
 * read permission, hardware updates write permission; S2PTW forbids stage-2 Device memory for walks). */
static bool descriptor_pa(smmu_engine *eng, const smmu_walk_ctx *ctx, unsigned stage, uint64_t addr,
                          bool write, uint64_t *pa, smmu_fault *fault) {
    if (stage == 2 || !ctx->s2) {
        *pa = addr;
        return true;
    }
    smmu_access acc = {.write = write, .exec = false, .priv = true};
    smmu_walk_leaf s2_leaf;
    if (!smmu_engine_s2_translate(eng, ctx, addr, acc, SMMU_CLASS_TT, true, &s2_leaf, fault)) {
        fault->ttrnw = !write;
        return false;
    }
    bool device =
        smmu_s2_memattr_is_device((unsigned)SMMU_FIELD_GET(SMMU_DESC_S2_MEMATTR, s2_leaf.desc), ctx->s2->fwb);
    if (ctx->s2->ptw && device) {
        set_fault(fault, SMMU_FAULT_PERMISSION, 2, s2_leaf.level, SMMU_CLASS_TT, addr);
        fault->ttrnw = !write;
        return false;
    }
    *pa = s2_leaf.oa;
    return true;
}

/* ---- the walk ---- */

bool smmu_walk_stage(smmu_engine *eng, const smmu_walk_ctx *ctx, unsigned stage, unsigned tt_index,
                     uint64_t ia, smmu_access acc, smmu_fault_class s2_class, smmu_walk_leaf *leaf,
                     smmu_fault *fault) {
    const smmu_tt_cfg *tt = stage == 1 ? &ctx->s1->tt[tt_index] : &ctx->s2->tt;
    smmu_fault_class fclass = stage == 1 ? SMMU_CLASS_IN : s2_class;
    /* An external abort on a stage-1 descriptor access (its PA, after stage 2 when nested) is CLASS TT,
     * unlike the stage-1 translation-related faults (IHI0070 7.3.12). */
    smmu_fault_class eabt_class = stage == 1 ? SMMU_CLASS_TT : s2_class;
    uint64_t fault_ipa = stage == 2 ? ia : 0;
    unsigned granule = tt->granule_shift;
    int start_level = tt->start_level;

    if (stage == 1)
        eng->count.walks_s1++;
    else
        eng->count.walks_s2++;
    /* The control plane validates configurations; anything else still must not crash the model. */
    if (!granule_valid(granule) || start_level < 0 || start_level > 3 || tt->tsz < 12 || tt->tsz > 48) {
        set_fault(fault, SMMU_FAULT_TRANSLATION, stage, 0, fclass, fault_ipa);
        return false;
    }
    unsigned stride = granule - 3;
    int start_bits = (int)(64u - tt->tsz) - (int)smmu_level_shift(granule, start_level);
    if (start_bits < 0)
        start_bits = 0;
    if (start_bits > (int)stride + 4)
        start_bits = (int)stride + 4;
    /* Effective IPS / S2PS are capped to IDR5.OAS (SMMU spec 3.4), also for a stage-1 IPA under nesting. */
    unsigned oa_bits = tt->oa_bits ? tt->oa_bits : 48;
    if (eng->params.oas_bits && eng->params.oas_bits < oa_bits)
        oa_bits = eng->params.oas_bits;
    uint64_t oa_overflow = oa_bits >= 64 ? 0 : ~UINT64_C(0) << oa_bits;
    bool ha = tt->ha && eng->params.hw_af;
    bool hd = ha && tt->hd && eng->params.hw_dirty;

    /* A TTB beyond the output size is an address size fault reported at level 0. */
    if (tt->ttb & oa_overflow) {
        set_fault(fault, SMMU_FAULT_ADDR_SIZE, stage, 0, fclass, fault_ipa);
        return false;
    }
    uint64_t table = tt->ttb & ~((UINT64_C(8) << start_bits) - 1);
    int level = start_level;
    uint8_t hier = 0;
    walk_cache_tag wc_tag = walk_cache_tag_of(ctx, stage, tt_index, tt);
    walk_cache_lookup(eng, &wc_tag, ia, start_level, &table, &level, &hier);

    for (unsigned rereads = 0;; rereads++) {
        if (rereads > SMMU_WALK_MAX_CAS_RETRIES) {
            set_fault(fault, SMMU_FAULT_TRANSLATION, stage, level, fclass, fault_ipa);
            return false;
        }
        unsigned shift = smmu_level_shift(granule, level);
        unsigned index_bits = level == start_level ? (unsigned)start_bits : stride;
        uint64_t index = (ia >> shift) & ((UINT64_C(1) << index_bits) - 1);
        uint64_t desc_addr = table + index * 8;
        uint64_t desc_pa;
        uint64_t desc;
        if (!descriptor_pa(eng, ctx, stage, desc_addr, false, &desc_pa, fault))
            return false;
        eng->count.walk_steps[stage - 1][level & 3]++;
        eng->walk_stage = (uint8_t)stage;
        eng->walk_level = (int8_t)level;
        if (!read_descriptor(eng, stage, tt, desc_pa, &desc)) {
            SMMU_ENGINE_TRACE(eng, "walk", "sid=0x%x stage=%u level=%d addr=0x%llx pa=0x%llx abort", ctx->sid,
                              stage, level, (unsigned long long)ia, (unsigned long long)desc_pa);
            set_fault(fault, SMMU_FAULT_WALK_EABT, stage, level, eabt_class, fault_ipa);
            fault->fetch_addr = desc_pa;
            return false;
        }
        SMMU_ENGINE_TRACE(eng, "walk", "sid=0x%x stage=%u level=%d addr=0x%llx pa=0x%llx desc=0x%016llx",
                          ctx->sid, stage, level, (unsigned long long)ia, (unsigned long long)desc_pa,
                          (unsigned long long)desc);

        if (!(desc & SMMU_DESC_VALID)) {
            set_fault(fault, SMMU_FAULT_TRANSLATION, stage, level, fclass, fault_ipa);
            return false;
        }
        if (level < 3 && (desc & SMMU_DESC_TABLE)) {
            uint64_t next = descriptor_address(eng, desc, granule, granule);
            if (next & oa_overflow) {
                set_fault(fault, SMMU_FAULT_ADDR_SIZE, stage, level, fclass, fault_ipa);
                return false;
            }
            /* Stage-2 table descriptors carry no hierarchical attributes. */
            if (stage == 1 && !tt->had) {
                hier |= (desc & SMMU_DESC_AP_TABLE0) ? SMMU_WALK_HIER_NO_USER : 0;
                hier |= (desc & SMMU_DESC_AP_TABLE1) ? SMMU_WALK_HIER_RO : 0;
                hier |= (desc & SMMU_DESC_UXN_TABLE) ? SMMU_WALK_HIER_UXN : 0;
                if (ctx->s1->regime != SMMU_REGIME_EL2)
                    hier |= (desc & SMMU_DESC_PXN_TABLE) ? SMMU_WALK_HIER_PXN : 0;
            }
            walk_cache_insert(eng, &wc_tag, ia, level, next, hier);
            table = next;
            level++;
            rereads = 0;
            continue;
        }
        if (level == 3 ? !(desc & SMMU_DESC_TABLE) : !block_allowed(eng, granule, level)) {
            set_fault(fault, SMMU_FAULT_TRANSLATION, stage, level, fclass, fault_ipa);
            return false;
        }

        for (unsigned retries = 0;; retries++) {
            uint64_t oa_base = descriptor_address(eng, desc, granule, shift);
            if (oa_base & oa_overflow) {
                set_fault(fault, SMMU_FAULT_ADDR_SIZE, stage, level, fclass, fault_ipa);
                return false;
            }
            bool af_missing = !(desc & SMMU_DESC_AF);
            if (af_missing && !ha && !tt->affd) {
                set_fault(fault, SMMU_FAULT_ACCESS, stage, level, fclass, fault_ipa);
                return false;
            }
            uint8_t perm = stage == 1 ? smmu_walk_s1_perms(ctx->s1, desc, hier, hd)
                                      : smmu_walk_s2_perms(desc, hd, eng->params.xnx);
            bool dirty_update = false;
            if (!smmu_perm_allows(perm, acc)) {
                if (!smmu_perm_allows_after_dirty(perm, acc)) {
                    set_fault(fault, SMMU_FAULT_PERMISSION, stage, level, fclass, fault_ipa);
                    return false;
                }
                dirty_update = true;
            }
            uint64_t updated = desc;
            if (af_missing && ha)
                updated |= SMMU_DESC_AF;
            if (dirty_update)
                updated = stage == 1 ? (updated & ~SMMU_DESC_AP2) : (updated | SMMU_DESC_S2AP_W);
            if (updated != desc) {
                uint64_t update_pa = desc_pa;
                if (!descriptor_pa(eng, ctx, stage, desc_addr, true, &update_pa, fault))
                    return false;
                uint64_t observed;
                if (!cas_descriptor(eng, tt, update_pa, desc, updated, &observed)) {
                    set_fault(fault, SMMU_FAULT_WALK_EABT, stage, level, eabt_class, fault_ipa);
                    fault->fetch_addr = update_pa;
                    fault->ttrnw = false;
                    return false;
                }
                if (observed != desc) {
                    /* Someone changed the descriptor since we read it: judge the new value afresh. */
                    eng->count.cas_retries++;
                    if (retries >= SMMU_WALK_MAX_CAS_RETRIES) {
                        set_fault(fault, SMMU_FAULT_TRANSLATION, stage, level, fclass, fault_ipa);
                        return false;
                    }
                    desc = observed;
                    if (!(desc & SMMU_DESC_VALID) ||
                        (level < 3 ? (desc & SMMU_DESC_TABLE) != 0 : (desc & SMMU_DESC_TABLE) == 0)) {
                        /* It stopped being this leaf: walk this level again from memory. */
                        break;
                    }
                    continue;
                }
                if (dirty_update)
                    eng->count.dirty_updates++;
                if (af_missing && ha)
                    eng->count.af_updates++;
                desc = updated;
                perm = stage == 1 ? smmu_walk_s1_perms(ctx->s1, desc, hier, hd)
                                  : smmu_walk_s2_perms(desc, hd, eng->params.xnx);
            }
            leaf->oa = oa_base | (ia & ((UINT64_C(1) << shift) - 1));
            leaf->desc = desc;
            leaf->span_shift = (uint8_t)shift;
            leaf->level = (int8_t)level;
            leaf->perm = perm;
            return true;
        }
        /* The descriptor changed into something other than a leaf: re-read this level. */
    }
}
