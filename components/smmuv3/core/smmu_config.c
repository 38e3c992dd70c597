/* Stream table and context descriptor fetch and decode, and the configuration cache that holds the decoded
 * structures (IHI0070 chapter 5 and §16.2). Only legal structures are cached; L1 descriptors are cached
 * whether valid or not, which the architecture permits. */
#include <string.h>

#include "smmu_attrs.h"
#include "smmu_internal.h"

/* ---- Configuration cache ----
 * A vp_setassoc of smmu_cc_entry, set by a hash of (kind, sid, index), with one group per (kind, sid) so that
 * a CFGI visits the entries of its StreamIDs only. */

enum { CC_IDX_SID, CC_IDX_COUNT };

static uint64_t cc_group(unsigned kind, uint32_t sid) {
    return (uint64_t)kind << 32 | sid;
}

bool smmu_cc_init(smmu *s) {
    const smmu_cache_params *p = &s->p.config_cache;
    vp_setassoc_config cfg = {.sets = p->sets,
                              .ways = p->ways,
                              .policy = (vp_setassoc_policy)p->policy,
                              .seed = s->p.engine.random_seed ? s->p.engine.random_seed : 1u,
                              .entry_size = sizeof(smmu_cc_entry),
                              .indexes = CC_IDX_COUNT};
    return vp_setassoc_init(&s->cc, &cfg);
}

void smmu_cc_free(smmu *s) {
    vp_setassoc_free(&s->cc);
}

void smmu_cc_clear(smmu *s) {
    vp_setassoc_clear(&s->cc);
}

static uint32_t cc_set_of(const smmu *s, unsigned kind, uint32_t sid, uint32_t index) {
    uint64_t h = ((uint64_t)sid << 24) ^ ((uint64_t)index * 0x9E3779B1u) ^ ((uint64_t)kind << 56);
    h ^= h >> 29;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    h ^= h >> 32;
    return vp_setassoc_set_first(&s->cc, h);
}

/* The valid way holding (kind, sid, index), or VP_SETASSOC_NONE. */
static uint32_t cc_probe(const smmu *s, unsigned kind, uint32_t sid, uint32_t index) {
    uint32_t set = cc_set_of(s, kind, sid, index);
    for (uint32_t slot = set; slot < set + s->cc.ways; slot++) {
        const smmu_cc_entry *e = vp_setassoc_entry(&s->cc, slot);
        if (vp_setassoc_valid(&s->cc, slot) && e->kind == kind && e->sid == sid && e->index == index)
            return slot;
    }
    return VP_SETASSOC_NONE;
}

static smmu_cc_entry *cc_lookup(smmu *s, unsigned kind, uint32_t sid, uint32_t index) {
    if (!vp_setassoc_enabled(&s->cc))
        return NULL;
    s->pending_ps += s->p.config_cache.lookup_ps;
    vp_setassoc_note_lookup(&s->cc);
    uint32_t slot = cc_probe(s, kind, sid, index);
    static const char *const kinds[] = {"?", "STE", "L1STD", "CD", "L1CD"};
    const char *what = kind < sizeof(kinds) / sizeof(kinds[0]) ? kinds[kind] : "?";
    if (slot == VP_SETASSOC_NONE) {
        vp_setassoc_note_miss(&s->cc);
        SMMU_TRACE(s, "config_cache", "miss %s sid=0x%x index=0x%x", what, sid, index);
        return NULL;
    }
    vp_setassoc_hit(&s->cc, slot);
    SMMU_TRACE(s, "config_cache", "hit %s sid=0x%x index=0x%x", what, sid, index);
    return vp_setassoc_entry(&s->cc, slot);
}

/* Returns the entry to fill for (kind, sid, index), or NULL when the cache is disabled. */
static smmu_cc_entry *cc_insert(smmu *s, unsigned kind, uint32_t sid, uint32_t index) {
    if (!vp_setassoc_enabled(&s->cc))
        return NULL;
    uint32_t slot = cc_probe(s, kind, sid, index);
    if (slot == VP_SETASSOC_NONE)
        slot = vp_setassoc_victim(&s->cc, cc_set_of(s, kind, sid, index));
    smmu_cc_entry *e = vp_setassoc_entry(&s->cc, slot);
    e->kind = (uint8_t)kind;
    e->sid = sid;
    e->index = index;
    const uint64_t keys[CC_IDX_COUNT] = {cc_group(kind, sid)};
    vp_setassoc_insert(&s->cc, slot, keys);
    return e;
}

static bool cc_any(const void *entry, const void *arg) {
    (void)entry;
    (void)arg;
    return true;
}

static void cc_drop_group(smmu *s, unsigned kind, uint32_t sid) {
    vp_setassoc_remove_group_if(&s->cc, CC_IDX_SID, cc_group(kind, sid), cc_any, NULL);
}

static uint32_t strtab_split(const smmu *s) {
    unsigned split = (unsigned)SMMU_FIELD_GET(SMMU_STRTAB_BASE_CFG_SPLIT, s->strtab_base_cfg);
    return (split == 8 || split == 10) ? split : 6;
}

static bool strtab_two_level(const smmu *s) {
    return SMMU_FIELD_GET(SMMU_IDR0_ST_LEVEL, s->p.idr[0]) == 1 &&
           SMMU_FIELD_GET(SMMU_STRTAB_BASE_CFG_FMT, s->strtab_base_cfg) == SMMU_STRTAB_FMT_2LVL;
}

typedef struct ste_range {
    uint64_t first_sid, last_sid, first_l1, last_l1;
    bool leaf;
} ste_range;

static bool in_ste_range(const void *entry, const void *arg) {
    const smmu_cc_entry *e = entry;
    const ste_range *r = arg;
    if (e->kind == SMMU_CC_L1STD)
        return !r->leaf && e->sid >= r->first_l1 && e->sid <= r->last_l1;
    return e->sid >= r->first_sid && e->sid <= r->last_sid;
}

void smmu_cc_inv_ste_range(smmu *s, uint32_t first_sid, uint64_t count, bool leaf) {
    if (!vp_setassoc_enabled(&s->cc))
        return;
    uint32_t split = strtab_split(s);
    ste_range r = {.first_sid = first_sid, .last_sid = (uint64_t)first_sid + count - 1, .leaf = leaf};
    r.first_l1 = r.first_sid >> split;
    r.last_l1 = r.last_sid >> split;
    /* Per-StreamID groups while they are fewer than the cached entries (CFGI_STE), else one pass over the
     * entries (a wide CFGI_STE_RANGE). */
    uint64_t groups = 3 * count + (leaf ? 0 : r.last_l1 - r.first_l1 + 1);
    if (groups > vp_setassoc_count(&s->cc)) {
        vp_setassoc_remove_if(&s->cc, in_ste_range, &r);
        return;
    }
    for (uint64_t sid = r.first_sid; sid <= r.last_sid; sid++) {
        cc_drop_group(s, SMMU_CC_STE, (uint32_t)sid);
        cc_drop_group(s, SMMU_CC_CD, (uint32_t)sid);
        cc_drop_group(s, SMMU_CC_L1CD, (uint32_t)sid);
    }
    for (uint64_t l1 = r.first_l1; !leaf && l1 <= r.last_l1; l1++)
        cc_drop_group(s, SMMU_CC_L1STD, (uint32_t)l1);
}

void smmu_cc_inv_cd(smmu *s, uint32_t sid, uint32_t ssid, bool leaf) {
    if (!vp_setassoc_enabled(&s->cc))
        return;
    uint32_t slot = cc_probe(s, SMMU_CC_CD, sid, ssid);
    if (slot != VP_SETASSOC_NONE)
        vp_setassoc_remove(&s->cc, slot);
    /* Leaf == 0 also drops every L1CD of the stream: over-invalidation the architecture permits. */
    if (!leaf)
        cc_drop_group(s, SMMU_CC_L1CD, sid);
}

void smmu_cc_inv_cd_all(smmu *s, uint32_t sid) {
    cc_drop_group(s, SMMU_CC_CD, sid);
    cc_drop_group(s, SMMU_CC_L1CD, sid);
}

void smmu_cc_inv_all(smmu *s) {
    vp_setassoc_remove_if(&s->cc, cc_any, NULL);
}

/* ---- Decode helpers ---- */

static bool granule_from_tg0(const smmu *s, unsigned tg, uint8_t *shift) {
    static const uint8_t shifts[4] = {12, 16, 14, 0};
    *shift = shifts[tg & 3];
    return *shift && (smmu_granule_supported_mask(&s->p) & (1u << *shift));
}

static bool granule_from_tg1(const smmu *s, unsigned tg, uint8_t *shift) {
    static const uint8_t shifts[4] = {0, 14, 12, 16};
    *shift = shifts[tg & 3];
    return *shift && (smmu_granule_supported_mask(&s->p) & (1u << *shift));
}

static bool endian_allowed(const smmu *s, bool big) {
    unsigned te = smmu_idr_field(s, 0, SMMU_IDR0_TTENDIAN);
    return !((te == SMMU_IDR0_TTENDIAN_LE && big) || (te == SMMU_IDR0_TTENDIAN_BE && !big));
}

static uint8_t min_u8(unsigned a, unsigned b) {
    return (uint8_t)(a < b ? a : b);
}

/* Widest table base a granule can express: 52 bits only with 64 KB tables (no LPA2 in this model). */
static uint8_t ttb_bits(uint8_t granule_shift) {
    return granule_shift == 16 ? 52 : 48;
}

/* ---- STE ---- */

/* Returns false if the STE is invalid or ILLEGAL (C_BAD_STE). */
static bool decode_ste(const smmu *s, const uint64_t d[SMMU_STE_DWORDS], smmu_ste_cfg *c) {
    memset(c, 0, sizeof(*c));
    if (!(d[0] & SMMU_STE0_V))
        return false;
    /* Read for every valid STE, Config abort included: PRI overflow auto-responses check it (IHI0070 8.1). */
    c->ppar = (d[1] & SMMU_STE1_PPAR) != 0;
    unsigned config = (unsigned)SMMU_FIELD_GET(SMMU_STE0_CONFIG, d[0]);
    if (!(config & 4)) {
        c->config = SMMU_STE_CONFIG_ABORT; /* 0b0xx: abort with no event, other fields ignored */
        return true;
    }
    c->config = (uint8_t)config;
    c->s1_enabled = (config & 1) != 0;
    c->s2_enabled = (config & 2) != 0;
    if (c->s1_enabled && !smmu_has(s, 0, SMMU_IDR0_S1P))
        return false;
    if (c->s2_enabled && !smmu_has(s, 0, SMMU_IDR0_S2P))
        return false;

    /* Attribute overrides exist only where IDR1 advertises them; otherwise the fields are RES0 and the
     * incoming attributes are used. NSCFG only applies to Secure streams, which this model does not have. */
    c->shcfg = SMMU_SHCFG_INCOMING;
    if (smmu_has(s, 1, SMMU_IDR1_ATTR_TYPES_OVR)) {
        c->memattr = (uint8_t)SMMU_FIELD_GET(SMMU_STE1_MEMATTR, d[1]);
        c->mtcfg = (d[1] & SMMU_STE1_MTCFG) != 0;
        c->alloccfg = (uint8_t)SMMU_FIELD_GET(SMMU_STE1_ALLOCCFG, d[1]);
        c->shcfg = (uint8_t)SMMU_FIELD_GET(SMMU_STE1_SHCFG, d[1]);
    }
    c->nscfg = (uint8_t)SMMU_FIELD_GET(SMMU_STE1_NSCFG, d[1]);
    if (smmu_has(s, 1, SMMU_IDR1_ATTR_PERMS_OVR)) {
        c->privcfg = (uint8_t)SMMU_FIELD_GET(SMMU_STE1_PRIVCFG, d[1]);
        c->instcfg = (uint8_t)SMMU_FIELD_GET(SMMU_STE1_INSTCFG, d[1]);
    }
    c->mev = (d[1] & SMMU_STE1_MEV) != 0;
    /* Without ATS, EATS is RES0 and its effective value is 0b00. */
    c->eats = smmu_has(s, 0, SMMU_IDR0_ATS) ? (uint8_t)SMMU_FIELD_GET(SMMU_STE1_EATS, d[1]) : 0;
    /* EATS (IGNORED for bypass) = 0b10 (split-stage) is ILLEGAL unless the STE is nested and IDR0.NS1ATS = 0;
     * 0b11 (DPT checks) is reserved and behaves as 0b00 without IDR3.DPT, which this model does not implement
     * (5.2 STE.EATS). */
    if (c->eats == 2 && (config & 3) &&
        (config != SMMU_STE_CONFIG_NESTED || smmu_has(s, 0, SMMU_IDR0_NS1ATS)))
        return false;
    if (c->eats == 3)
        c->eats = 0;
    c->regime = SMMU_REGIME_NS_EL1;

    unsigned stall_model = smmu_idr_field(s, 0, SMMU_IDR0_STALL_MODEL);
    if (c->s1_enabled) {
        /* Without substreams (SSIDSIZE = 0) S1CDMax, S1Fmt and S1DSS are IGNORED. */
        unsigned ssidsize = smmu_idr_field(s, 1, SMMU_IDR1_SSIDSIZE);
        c->s1cdmax = ssidsize ? (uint8_t)SMMU_FIELD_GET(SMMU_STE0_S1CDMAX, d[0]) : 0;
        if (c->s1cdmax > ssidsize)
            return false;
        c->s1fmt = SMMU_STE_S1FMT_LINEAR;
        if (c->s1cdmax) {
            unsigned fmt = (unsigned)SMMU_FIELD_GET(SMMU_STE0_S1FMT, d[0]);
            if (fmt != SMMU_STE_S1FMT_LINEAR && !smmu_has(s, 0, SMMU_IDR0_CD2L))
                return false;
            c->s1fmt = (uint8_t)(fmt == 3 ? SMMU_STE_S1FMT_LINEAR : fmt);
            unsigned dss = (unsigned)SMMU_FIELD_GET(SMMU_STE1_S1DSS, d[1]);
            c->s1dss = (uint8_t)(dss == 3 ? SMMU_STE_S1DSS_TERMINATE : dss);
        }
        c->s1_ctx_ptr = SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, d[0]);
        /* A pointer beyond the OAS (an IPA beyond the IAS when nested; IAS = OAS here) is ILLEGAL (3.4.3). */
        if (c->s1_ctx_ptr >> s->oas_bits)
            return false;
        c->cd_attrs = smmu_attrs_walk((unsigned)SMMU_FIELD_GET(SMMU_STE1_S1CIR, d[1]),
                                      (unsigned)SMMU_FIELD_GET(SMMU_STE1_S1COR, d[1]),
                                      (unsigned)SMMU_FIELD_GET(SMMU_STE1_S1CSH, d[1]));
        c->s1stalld = (d[1] & SMMU_STE1_S1STALLD) != 0;
        if (c->s1stalld && stall_model != 0)
            return false;
        if (!c->s2_enabled && smmu_has(s, 0, SMMU_IDR0_HYP)) {
            /* StreamWorld is used only with stage 1 alone and IDR0.Hyp (RES0 without Hyp): with stage 2 the
             * stream is NS-EL1. */
            unsigned strw = (unsigned)SMMU_FIELD_GET(SMMU_STE1_STRW, d[1]);
            if (strw & 1)
                return false; /* 0bx1: Secure/EL3 or reserved StreamWorld on a Non-secure stream */
            if (strw == SMMU_STE_STRW_EL2)
                c->regime = (s->cr2 & SMMU_CR2_E2H) ? SMMU_REGIME_EL2_E2H : SMMU_REGIME_EL2;
        }
    }

    if (c->s1_enabled && !c->s2_enabled && c->regime == SMMU_REGIME_NS_EL1 && smmu_has(s, 0, SMMU_IDR0_S2P)) {
        c->s1_vmid = (uint16_t)SMMU_FIELD_GET(SMMU_STE2_S2VMID, d[2]);
        if (!smmu_has(s, 0, SMMU_IDR0_VMID16) && (c->s1_vmid >> 8))
            return false;
        c->s1_vmid_valid = true;
    }

    if (c->s2_enabled) {
        if (!(d[2] & SMMU_STE2_S2AA64))
            return false; /* IDR0.TTF: AArch64 tables only */
        smmu_tt_cfg *tt = &c->s2.tt;
        if (!granule_from_tg0(s, (unsigned)SMMU_FIELD_GET(SMMU_STE2_S2TG, d[2]), &tt->granule_shift))
            return false;
        tt->oa_bits = min_u8(smmu_pa_size_bits((unsigned)SMMU_FIELD_GET(SMMU_STE2_S2PS, d[2])), s->oas_bits);
        tt->tsz = (uint8_t)SMMU_FIELD_GET(SMMU_STE2_S2T0SZ, d[2]);
        /* IAS = OAS: this model implements VMSAv8-64 tables only. */
        smmu_tsz_range range =
            smmu_s2_tsz_range(tt->granule_shift, smmu_has(s, 3, SMMU_IDR3_STT), s->oas_bits);
        if (!smmu_s2_start_level(tt->granule_shift, tt->tsz, range,
                                 (uint8_t)SMMU_FIELD_GET(SMMU_STE2_S2SL0, d[2]), s->oas_bits,
                                 &tt->start_level, &tt->concat_tables)) /* SL0 rules use PAMax, the OAS */
            return false;
        tt->big_endian = (d[2] & SMMU_STE2_S2ENDI) != 0;
        if (!endian_allowed(s, tt->big_endian))
            return false;
        unsigned httu = smmu_idr_field(s, 0, SMMU_IDR0_HTTU);
        bool ha = (d[2] & SMMU_STE2_S2HA) != 0, hd = (d[2] & SMMU_STE2_S2HD) != 0;
        if ((ha && httu == 0) || (hd && httu < 2))
            return false;
        tt->ha = ha;
        tt->hd = ha && hd; /* {S2HA,S2HD} = 0b01 behaves as HTTU disabled */
        tt->affd = (d[2] & SMMU_STE2_S2AFFD) != 0;
        tt->ttb = SMMU_ADDR_GET(SMMU_STE3_S2TTB, d[3]);
        if (tt->ttb >> min_u8(tt->oa_bits, ttb_bits(tt->granule_shift)))
            return false;
        tt->walk_attrs = smmu_attrs_walk((unsigned)SMMU_FIELD_GET(SMMU_STE2_S2IR0, d[2]),
                                         (unsigned)SMMU_FIELD_GET(SMMU_STE2_S2OR0, d[2]),
                                         (unsigned)SMMU_FIELD_GET(SMMU_STE2_S2SH0, d[2]));
        c->s2.vmid = (uint16_t)SMMU_FIELD_GET(SMMU_STE2_S2VMID, d[2]);
        if (!smmu_has(s, 0, SMMU_IDR0_VMID16) && (c->s2.vmid >> 8))
            return false;
        c->s2.ptw = c->s1_enabled && (d[2] & SMMU_STE2_S2PTW) != 0;
        /* S2FWB is RES0 without IDR3.FWB; set anyway, the model treats it as ILLEGAL like other fields of
         * absent features. It is IGNORED when stage 2 is bypassed. */
        c->s2.fwb = (d[1] & SMMU_STE1_S2FWB) != 0;
        if (c->s2.fwb && !smmu_has(s, 3, SMMU_IDR3_FWB))
            return false;
        c->s2s = (d[2] & SMMU_STE2_S2S) != 0;
        c->s2r = (d[2] & SMMU_STE2_S2R) != 0;
        if ((stall_model == 1 && c->s2s) || (stall_model == 2 && !c->s2s))
            return false;
    }
    return true;
}

static void le_dwords(uint64_t *d, unsigned n) {
    /* The host hands back little-endian bytes; convert in place on a big-endian build host. */
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *b = (const uint8_t *)&d[i];
        uint64_t v = 0;
        for (int j = 7; j >= 0; j--)
            v = (v << 8) | b[j];
        d[i] = v;
    }
}

static const smmu_ste_cfg *ste_fault(smmu_cfg_fault *f, uint8_t id, uint64_t fetch_addr) {
    f->event_id = id;
    f->fetch_addr = fetch_addr;
    return NULL;
}

const smmu_ste_cfg *smmu_get_ste(smmu *s, uint32_t sid, smmu_cfg_fault *f) {
    memset(f, 0, sizeof(*f));
    unsigned log2size = (unsigned)SMMU_FIELD_GET(SMMU_STRTAB_BASE_CFG_LOG2SIZE, s->strtab_base_cfg);
    unsigned sidsize = smmu_idr_field(s, 1, SMMU_IDR1_SIDSIZE);
    if (log2size > sidsize)
        log2size = sidsize;
    if (((uint64_t)sid >> log2size) != 0)
        return ste_fault(f, SMMU_EVT_C_BAD_STREAMID, 0);

    smmu_cc_entry *hit = cc_lookup(s, SMMU_CC_STE, sid, 0);
    if (hit)
        return &hit->u.ste;

    const smmu_mem_attrs attrs = smmu_cr1_table_attrs(s);
    /* The base is aligned to the table's size (2-level: to the larger of 64 bytes and the level-1 table),
     * computed from the programmed LOG2SIZE, not the SIDSIZE-capped one. */
    unsigned programmed = (unsigned)SMMU_FIELD_GET(SMMU_STRTAB_BASE_CFG_LOG2SIZE, s->strtab_base_cfg);
    unsigned align_bits = programmed + 6; /* 64-byte STEs */
    if (strtab_two_level(s))
        align_bits = programmed > strtab_split(s) ? programmed - strtab_split(s) + 3 : 6;
    if (align_bits < 6)
        align_bits = 6;
    if (align_bits > 63)
        align_bits = 63;
    uint64_t base = SMMU_ADDR_GET(SMMU_STRTAB_BASE_ADDR, s->strtab_base) & smmu_oas_mask(s) &
                    ~((UINT64_C(1) << align_bits) - 1u);
    uint64_t ste_addr;
    if (strtab_two_level(s)) {
        uint32_t split = strtab_split(s);
        uint32_t l1_index = (uint32_t)((uint64_t)sid >> split);
        uint64_t l1desc;
        smmu_cc_entry *l1 = cc_lookup(s, SMMU_CC_L1STD, l1_index, 0);
        if (l1) {
            l1desc = l1->u.l1desc;
        } else {
            uint64_t l1_addr = (base + (uint64_t)l1_index * SMMU_L1STD_SIZE) & smmu_oas_mask(s);
            s->st.cc_fetches++;
            SMMU_TRACE(s, "fetch", "L1STD sid=0x%x pa=0x%llx", sid, (unsigned long long)l1_addr);
            if (!smmu_mem_read(s, SMMU_MEM_STE, l1_addr, &l1desc, sizeof(l1desc), &attrs))
                return ste_fault(f, SMMU_EVT_F_STE_FETCH, l1_addr);
            le_dwords(&l1desc, 1);
            smmu_cc_entry *e = cc_insert(s, SMMU_CC_L1STD, l1_index, 0);
            if (e)
                e->u.l1desc = l1desc;
        }
        unsigned span = (unsigned)SMMU_FIELD_GET(SMMU_L1STD_SPAN, l1desc);
        uint32_t leaf_index = sid & ((1u << split) - 1u);
        /* Span 0 (and 12..31) is invalid; a Span larger than SPLIT + 1 is ILLEGAL, also C_BAD_STREAMID. */
        if (span == 0 || span > 11 || span > split + 1 || leaf_index >= (1u << (span - 1)))
            return ste_fault(f, SMMU_EVT_C_BAD_STREAMID, 0);
        /* The leaf array is aligned to its own size: the low bits of L2Ptr are ignored. */
        uint64_t l2 = SMMU_ADDR_GET(SMMU_L1STD_L2PTR, l1desc) & ~((UINT64_C(1) << (5 + span)) - 1u);
        ste_addr = (l2 & smmu_oas_mask(s)) + (uint64_t)leaf_index * SMMU_STE_SIZE;
    } else {
        ste_addr = base + (uint64_t)sid * SMMU_STE_SIZE;
    }
    ste_addr &= smmu_oas_mask(s); /* truncated, as the base is (3.4.3) */

    uint64_t d[SMMU_STE_DWORDS];
    s->st.cc_fetches++;
    SMMU_TRACE(s, "fetch", "STE sid=0x%x pa=0x%llx", sid, (unsigned long long)ste_addr);
    if (!smmu_mem_read(s, SMMU_MEM_STE, ste_addr, d, SMMU_STE_SIZE, &attrs))
        return ste_fault(f, SMMU_EVT_F_STE_FETCH, ste_addr);
    le_dwords(d, SMMU_STE_DWORDS);
    smmu_ste_cfg cfg;
    if (!decode_ste(s, d, &cfg))
        return ste_fault(f, SMMU_EVT_C_BAD_STE, 0);
    smmu_cc_entry *e = cc_insert(s, SMMU_CC_STE, sid, 0);
    if (!e) {
        s->ste_uncached = cfg;
        return &s->ste_uncached;
    }
    e->u.ste = cfg;
    return &e->u.ste;
}

/* ---- CD ---- */

static bool decode_tt(const smmu *s, bool tg1, unsigned tg, unsigned tsz, uint64_t ttb, unsigned ir,
                      unsigned orgn, unsigned sh, uint8_t ips_bits, smmu_tt_cfg *tt) {
    bool ok = tg1 ? granule_from_tg1(s, tg, &tt->granule_shift) : granule_from_tg0(s, tg, &tt->granule_shift);
    if (!ok)
        return false;
    tt->tsz = (uint8_t)tsz;
    smmu_tsz_range range = smmu_s1_tsz_range(tt->granule_shift, smmu_has(s, 3, SMMU_IDR3_STT),
                                             smmu_idr_field(s, 5, SMMU_IDR5_VAX) == SMMU_IDR5_VAX_52);
    if (!smmu_s1_start_level(tt->granule_shift, tt->tsz, range, &tt->start_level))
        return false;
    tt->ttb = ttb;
    if (ttb >> min_u8(ips_bits, ttb_bits(tt->granule_shift)))
        return false;
    tt->concat_tables = 1;
    tt->oa_bits = ips_bits;
    tt->walk_attrs = smmu_attrs_walk(ir, orgn, sh);
    return true;
}

/* Returns false if the CD is invalid or ILLEGAL (C_BAD_CD). */
static bool decode_cd(const smmu *s, const smmu_ste_cfg *ste, const uint64_t d[SMMU_CD_DWORDS],
                      smmu_cd_cfg *c) {
    memset(c, 0, sizeof(*c));
    if (!(d[0] & SMMU_CD0_V))
        return false;
    if (!(d[0] & SMMU_CD0_AA64))
        return false; /* IDR0.TTF: VMSAv8-64 only */
    const bool el2 = ste->regime == SMMU_REGIME_EL2;
    smmu_s1_cfg *s1 = &c->s1;
    s1->regime = ste->regime;
    s1->vmid_valid = ste->s1_vmid_valid;
    s1->vmid = ste->s1_vmid;

    uint8_t ips_bits = min_u8(smmu_pa_size_bits((unsigned)SMMU_FIELD_GET(SMMU_CD0_IPS, d[0])), s->oas_bits);
    /* EL2 without E2H has only TTB0 and cannot disable it. */
    bool epd[2] = {el2 ? false : (d[0] & SMMU_CD0_EPD0) != 0, el2 ? true : (d[0] & SMMU_CD0_EPD1) != 0};
    bool big = (d[0] & SMMU_CD0_ENDI) != 0;
    if ((!epd[0] || !epd[1]) && !endian_allowed(s, big))
        return false;
    unsigned httu = smmu_idr_field(s, 0, SMMU_IDR0_HTTU);
    bool ha = (d[0] & SMMU_CD0_HA) != 0, hd = (d[0] & SMMU_CD0_HD) != 0;
    if ((ha && httu == 0) || (hd && httu < 2))
        return false;
    bool had_supported = smmu_has(s, 3, SMMU_IDR3_HAD);

    if (!epd[0]) {
        if (!decode_tt(s, false, (unsigned)SMMU_FIELD_GET(SMMU_CD0_TG0, d[0]),
                       (unsigned)SMMU_FIELD_GET(SMMU_CD0_T0SZ, d[0]), SMMU_ADDR_GET(SMMU_CD1_TTB0, d[1]),
                       (unsigned)SMMU_FIELD_GET(SMMU_CD0_IR0, d[0]),
                       (unsigned)SMMU_FIELD_GET(SMMU_CD0_OR0, d[0]),
                       (unsigned)SMMU_FIELD_GET(SMMU_CD0_SH0, d[0]), ips_bits, &s1->tt[0]))
            return false;
        s1->tt[0].had = had_supported && (d[1] & SMMU_CD1_HAD0);
    }
    if (!epd[1]) {
        if (!decode_tt(s, true, (unsigned)SMMU_FIELD_GET(SMMU_CD0_TG1, d[0]),
                       (unsigned)SMMU_FIELD_GET(SMMU_CD0_T1SZ, d[0]), SMMU_ADDR_GET(SMMU_CD2_TTB1, d[2]),
                       (unsigned)SMMU_FIELD_GET(SMMU_CD0_IR1, d[0]),
                       (unsigned)SMMU_FIELD_GET(SMMU_CD0_OR1, d[0]),
                       (unsigned)SMMU_FIELD_GET(SMMU_CD0_SH1, d[0]), ips_bits, &s1->tt[1]))
            return false;
        s1->tt[1].had = had_supported && (d[2] & SMMU_CD2_HAD1);
    }
    bool affd = (d[0] & SMMU_CD0_AFFD) != 0;
    for (int i = 0; i < 2; i++) {
        smmu_tt_cfg *tt = &s1->tt[i];
        tt->disabled = epd[i];
        tt->oa_bits = ips_bits;
        tt->big_endian = big;
        tt->ha = ha;
        tt->hd = ha && hd; /* {HD,HA} = 0b10 behaves as HTTU disabled */
        tt->affd = affd;
        if (tt->concat_tables == 0)
            tt->concat_tables = 1;
    }
    s1->tbi[0] = (d[0] & SMMU_CD0_TBI0) != 0;
    s1->tbi[1] = !el2 && (d[0] & SMMU_CD0_TBI1) != 0;
    s1->wxn = (d[0] & SMMU_CD0_WXN) != 0;
    /* UWXN has no effect with VMSAv8-64 tables (EL0-writable regions are always PXN there). */
    s1->uwxn = false;
    s1->pan = !el2 && (d[0] & SMMU_CD0_PAN) != 0;
    s1->mair = d[3];
    c->amair = d[4];

    uint16_t asid = (uint16_t)SMMU_FIELD_GET(SMMU_CD0_ASID, d[0]);
    if (!el2 && !smmu_has(s, 0, SMMU_IDR0_ASID16) && (asid >> 8))
        return false; /* ASID is IGNORED in the EL2 StreamWorld */
    s1->asid = el2 ? 0 : asid;
    c->aset = (d[0] & SMMU_CD0_ASET) != 0;

    c->stall = (d[0] & SMMU_CD0_S) != 0;
    c->record = (d[0] & SMMU_CD0_R) != 0;
    c->abort_on_fault = (d[0] & SMMU_CD0_A) != 0;
    unsigned stall_model = smmu_idr_field(s, 0, SMMU_IDR0_STALL_MODEL);
    if (c->stall && (stall_model == 1 || ste->s1stalld))
        return false;
    if (!c->stall && stall_model == 2)
        return false;
    if (!c->abort_on_fault && smmu_has(s, 0, SMMU_IDR0_TERM_MODEL))
        return false;
    return true;
}

static const smmu_cd_cfg *cd_fault(smmu_cfg_fault *f, uint8_t id, uint64_t fetch_addr) {
    f->event_id = id;
    f->fetch_addr = fetch_addr;
    return NULL;
}

uint8_t smmu_fault_event_id(smmu_fault_type t) {
    switch (t) {
    case SMMU_FAULT_TRANSLATION:
        return SMMU_EVT_F_TRANSLATION;
    case SMMU_FAULT_ADDR_SIZE:
        return SMMU_EVT_F_ADDR_SIZE;
    case SMMU_FAULT_ACCESS:
        return SMMU_EVT_F_ACCESS;
    case SMMU_FAULT_PERMISSION:
        return SMMU_EVT_F_PERMISSION;
    case SMMU_FAULT_WALK_EABT:
        return SMMU_EVT_F_WALK_EABT;
    default:
        return SMMU_EVT_F_TRANSLATION;
    }
}

/* Reads a CD-table structure at `addr`, an IPA translated through stage 2 when the STE enables stage 2. */
static bool fetch_cd_mem(smmu *s, uint32_t sid, const smmu_ste_cfg *ste, uint64_t addr, void *buf,
                         unsigned len, smmu_cfg_fault *f) {
    uint64_t pa = addr;
    if (ste->s2_enabled) {
        smmu_xlate_out out;
        smmu_fault flt;
        memset(&flt, 0, sizeof(flt));
        smmu_access acc = {.write = false, .exec = false, .priv = false};
        bool ok = smmu_engine_translate(s->eng, sid, NULL, &ste->s2, addr, acc, &out, &flt);
        /* S2PTW: a CD fetch from stage-2 Device memory is a stage-2 Permission fault, as for table walks. */
        if (ok && ste->s2.ptw && smmu_s2_memattr_is_device(out.s2_mem_attr, ste->s2.fwb)) {
            ok = false;
            flt.type = SMMU_FAULT_PERMISSION;
            flt.level = -1;
        }
        if (!ok) {
            flt.fclass = SMMU_CLASS_CD;
            flt.stage = 2;
            flt.ipa = addr;
            f->event_id = smmu_fault_event_id(flt.type);
            f->fetch_addr = flt.fetch_addr;
            f->s2_fault = flt;
            f->has_s2_fault = true;
            return false;
        }
        pa = out.oa;
    }
    if (!smmu_mem_read(s, SMMU_MEM_CD, pa, buf, len, &ste->cd_attrs)) {
        f->event_id = SMMU_EVT_F_CD_FETCH;
        f->fetch_addr = pa;
        return false;
    }
    return true;
}

const smmu_cd_cfg *smmu_get_cd(smmu *s, uint32_t sid, const smmu_ste_cfg **ste_io, smmu_ste_cfg *ste_scratch,
                               uint32_t index, smmu_cfg_fault *f) {
    memset(f, 0, sizeof(*f));
    smmu_cc_entry *hit = cc_lookup(s, SMMU_CC_CD, sid, index);
    if (hit)
        return &hit->u.cd;
    if (*ste_io != ste_scratch) {
        *ste_scratch = **ste_io;
        *ste_io = ste_scratch;
    }
    const smmu_ste_cfg *ste = ste_scratch;

    /* IHI0070 3.4.3: a CD or L1CD address beyond the OAS (beyond the IAS, equal to it here, for the IPA of a
     * nested stream) is never fetched nor truncated. Computed from S1ContextPtr it is C_BAD_STE, from
     * L1CD.L2Ptr C_BAD_SUBSTREAMID: what SMMUv3.1 and later require for a PA, and one of the permitted
     * behaviours for SMMUv3.0 and for an IPA. It happens when the RES0 low bits of the pointer are set. */
    uint64_t cd_addr;
    if (ste->s1cdmax && ste->s1fmt != SMMU_STE_S1FMT_LINEAR) {
        unsigned leaf_bits = ste->s1fmt == SMMU_STE_S1FMT_2LVL_4K ? 6 : 10;
        uint32_t l1_index = index >> leaf_bits;
        uint64_t l1desc;
        smmu_cc_entry *l1 = cc_lookup(s, SMMU_CC_L1CD, sid, l1_index);
        if (l1) {
            l1desc = l1->u.l1desc;
        } else {
            uint64_t l1_addr = ste->s1_ctx_ptr + (uint64_t)l1_index * SMMU_L1CD_SIZE;
            if (l1_addr >> s->oas_bits)
                return cd_fault(f, SMMU_EVT_C_BAD_STE, 0);
            s->st.cc_fetches++;
            SMMU_TRACE(s, "fetch", "L1CD sid=0x%x ssid=0x%x addr=0x%llx", sid, index,
                       (unsigned long long)l1_addr);
            if (!fetch_cd_mem(s, sid, ste, l1_addr, &l1desc, sizeof(l1desc), f))
                return NULL;
            le_dwords(&l1desc, 1);
            smmu_cc_entry *e = cc_insert(s, SMMU_CC_L1CD, sid, l1_index);
            if (e)
                e->u.l1desc = l1desc;
        }
        if (!(l1desc & SMMU_L1CD_V) || (SMMU_ADDR_GET(SMMU_L1CD_L2PTR, l1desc) >> s->oas_bits))
            return cd_fault(f, SMMU_EVT_C_BAD_SUBSTREAMID, 0); /* invalid, or L2Ptr out of range (3.4.3) */
        cd_addr = SMMU_ADDR_GET(SMMU_L1CD_L2PTR, l1desc) +
                  (uint64_t)(index & ((1u << leaf_bits) - 1u)) * SMMU_CD_SIZE;
        if (cd_addr >> s->oas_bits)
            return cd_fault(f, SMMU_EVT_C_BAD_SUBSTREAMID, 0);
    } else {
        cd_addr = ste->s1_ctx_ptr + (uint64_t)index * SMMU_CD_SIZE;
        if (cd_addr >> s->oas_bits)
            return cd_fault(f, SMMU_EVT_C_BAD_STE, 0);
    }

    uint64_t d[SMMU_CD_DWORDS];
    s->st.cc_fetches++;
    SMMU_TRACE(s, "fetch", "CD sid=0x%x ssid=0x%x addr=0x%llx", sid, index, (unsigned long long)cd_addr);
    if (!fetch_cd_mem(s, sid, ste, cd_addr, d, SMMU_CD_SIZE, f))
        return NULL;
    le_dwords(d, SMMU_CD_DWORDS);
    smmu_cd_cfg cfg;
    if (!decode_cd(s, ste, d, &cfg))
        return cd_fault(f, SMMU_EVT_C_BAD_CD, 0);
    smmu_cc_entry *e = cc_insert(s, SMMU_CC_CD, sid, index);
    if (!e) {
        s->cd_uncached = cfg;
        return &s->cd_uncached;
    }
    e->u.cd = cfg;
    return &e->u.cd;
}
