/* The transaction path (IHI0070 3.2-3.4, 3.12, 13.5): one upstream request in three steps, each in its own
 * function so that ATS Translation Requests, PRI and the stall model can each change one step:
 *   1. resolve: SMMUEN and GBPA, the STE, the SubstreamID and the CD give the request's configuration, or end
 *      the request (global bypass, configuration error, STE abort);
 *   2. translate: the engine walks the enabled stages, or the request bypasses both;
 *   3. policy: what a fault does to this request (abort or RAZ/WI, whether its event is recorded) and the
 *      result's attributes. */
#include <string.h>

#include "smmu_attrs.h"
#include "smmu_internal.h"

/* A request whose configuration is resolved. */
typedef struct txn_ctx {
    const smmu_txn *t;
    smmu_access acc;         /* as checked: InD = 0 for writes, STE/GBPA PRIVCFG/INSTCFG applied */
    const smmu_ste_cfg *ste; /* may point at ste_copy */
    smmu_ste_cfg ste_copy;   /* where a CD fetch moves the STE, since it may evict it from the cache */
    const smmu_cd_cfg *cd;   /* NULL: stage 1 bypassed */
    const smmu_s2_cfg *s2;   /* NULL: stage 2 bypassed */
} txn_ctx;

/* ---- Step 3: per-request policy ---- */

static smmu_access apply_overrides(smmu_access acc, unsigned privcfg, unsigned instcfg) {
    if (privcfg == SMMU_PRIVCFG_UNPRIV)
        acc.priv = false;
    else if (privcfg == SMMU_PRIVCFG_PRIV)
        acc.priv = true;
    if (instcfg == SMMU_INSTCFG_DATA)
        acc.exec = false;
    else if (instcfg == SMMU_INSTCFG_INSTR)
        acc.exec = !acc.write; /* only reads can be instruction fetches */
    if (acc.write)
        acc.exec = false;
    return acc;
}

/* What the transaction tells any event; the record keeps only the fields its event type has (smmu_evtq.c).
 * The SubstreamID is 0 without one: C_BAD_SUBSTREAMID, which has no SSV, then reports CD 0 (STE.S1DSS =
 * 0b10). */
static void base_event(smmu_event *ev, uint8_t id, const smmu_txn *t, smmu_access acc) {
    memset(ev, 0, sizeof(*ev));
    ev->id = id;
    ev->sid = t->sid;
    ev->ssv = t->ssv;
    ev->ssid = t->ssv ? t->ssid : 0;
    ev->input_addr = t->addr;
    ev->rnw = !acc.write;
    ev->ind = acc.exec;
    ev->pnu = acc.priv;
}

static void terminate(smmu *s, smmu_result *res, smmu_result_status status, uint8_t id, bool recorded) {
    res->status = status;
    res->event_id = id;
    res->event_recorded = recorded;
    if (id)
        s->st.events_raised[id]++;
    if (status == SMMU_XLATE_RAZ_WI)
        s->st.raz_wi++;
    else
        s->st.aborts++;
}

static bool is_translation_related(smmu_fault_type t) {
    return t == SMMU_FAULT_TRANSLATION || t == SMMU_FAULT_ADDR_SIZE || t == SMMU_FAULT_ACCESS ||
           t == SMMU_FAULT_PERMISSION;
}

/* A fault from the engine: stage-1 translation-related faults follow CD.{R,A}, stage-2 ones STE.S2R; external
 * aborts always abort and record. */
static void walk_fault(smmu *s, const smmu_txn *t, smmu_access acc, const smmu_ste_cfg *ste,
                       const smmu_cd_cfg *cd, const smmu_fault *flt, smmu_result *res) {
    smmu_event ev;
    char ssid_text[16];
    uint8_t id = smmu_fault_event_id(flt->type);
    base_event(&ev, id, t, acc);
    ev.s2 = flt->stage == 2;
    ev.fclass = (uint8_t)flt->fclass;
    ev.ttrnw = flt->ttrnw;
    ev.ipa = flt->ipa;
    ev.fetch_addr = flt->fetch_addr;
    bool record = true;
    smmu_result_status status = SMMU_XLATE_ABORT;
    if (is_translation_related(flt->type)) {
        if (ev.s2) {
            record = ste->s2r;
        } else if (cd) {
            record = cd->record;
            if (!cd->abort_on_fault && !smmu_has(s, 0, SMMU_IDR0_TERM_MODEL))
                status = SMMU_XLATE_RAZ_WI;
        }
    }
    SMMU_TRACE(s, "smmu: fault %s sid=0x%x ssid=%s addr=0x%llx stage=%u level=%d class=%u %s%s",
               smmu_event_name(id), t->sid, smmu_ssid_str(ssid_text, t->ssv, t->ssid),
               (unsigned long long)t->addr, flt->stage, flt->level, ev.fclass,
               status == SMMU_XLATE_RAZ_WI ? "raz-wi" : "abort", record ? "" : " unrecorded");
    bool recorded = record && smmu_event_record(s, &ev);
    terminate(s, res, status, id, recorded);
}

/* A configuration error or fetch abort: always aborts and always tries to record (C_BAD_STREAMID only with
 * CR2.RECINVSID). A nested CD fetch that faulted at stage 2 reports that stage-2 fault with CLASS CD. */
static void config_fault(smmu *s, const smmu_txn *t, smmu_access acc, const smmu_ste_cfg *ste,
                         const smmu_cfg_fault *f, smmu_result *res) {
    if (f->has_s2_fault) {
        walk_fault(s, t, acc, ste, NULL, &f->s2_fault, res);
        return;
    }
    smmu_event ev;
    char ssid_text[16];
    base_event(&ev, f->event_id, t, acc);
    ev.fetch_addr = f->fetch_addr;
    bool record = f->event_id != SMMU_EVT_C_BAD_STREAMID || (s->cr2 & SMMU_CR2_RECINVSID);
    SMMU_TRACE(s, "smmu: fault %s sid=0x%x ssid=%s addr=0x%llx abort%s", smmu_event_name(f->event_id), t->sid,
               smmu_ssid_str(ssid_text, t->ssv, t->ssid), (unsigned long long)t->addr,
               record ? "" : " unrecorded");
    bool recorded = record && smmu_event_record(s, &ev);
    terminate(s, res, SMMU_XLATE_ABORT, f->event_id, recorded);
}

static void raise_and_abort(smmu *s, const smmu_txn *t, smmu_access acc, uint8_t id, uint16_t uut_reason,
                            smmu_result *res) {
    if (id == SMMU_EVT_F_UUT) {
        smmu_event ev;
        base_event(&ev, id, t, acc);
        ev.uut_reason = uut_reason;
        SMMU_TRACE(s, "smmu: fault F_UUT sid=0x%x addr=0x%llx reason=%u abort", t->sid,
                   (unsigned long long)t->addr, uut_reason);
        terminate(s, res, SMMU_XLATE_ABORT, id, smmu_event_record(s, &ev));
        return;
    }
    smmu_cfg_fault f;
    memset(&f, 0, sizeof(f));
    f.event_id = id;
    config_fault(s, t, acc, NULL, &f, res);
}

/* An untranslated output: the identity mapping holds across the whole output range, so the host may cache it
 * widely. */
static void bypass_result(const smmu *s, const smmu_txn *t, smmu_access acc, smmu_attr attrs,
                          smmu_result *res) {
    res->status = SMMU_XLATE_OK;
    res->pa = t->addr;
    res->bypass = true;
    res->size_shift = s->oas_bits;
    res->read = res->write = true;
    res->exec = !acc.write;
    res->mem_attr = attrs.mair;
    res->share = smmu_attr_share(attrs);
}

/* A translated output: stage 1 alone reports its MAIR byte as programmed; stage 2 combines with stage 1, or
 * with the incoming attributes after the STE overrides when stage 1 is bypassed (13.5). */
static void translated_result(const txn_ctx *c, const smmu_xlate_out *out, smmu_result *res) {
    res->status = SMMU_XLATE_OK;
    res->pa = out->oa;
    res->size_shift = out->size_shift;
    res->read = out->read;
    res->write = out->write;
    res->exec = out->exec;
    smmu_attr a = {out->mem_attr, out->share};
    if (c->s2) {
        const smmu_ste_cfg *ste = c->ste;
        smmu_attr in = c->cd ? a : smmu_attr_incoming(ste->mtcfg, ste->memattr, ste->alloccfg, ste->shcfg);
        a = smmu_attr_combine_s2(in, out->s2_mem_attr, out->s2_share, c->s2->fwb);
    }
    res->mem_attr = a.mair;
    res->share = smmu_attr_share(a);
}

/* ---- Step 1: resolve the configuration ---- */

/* SMMUEN = 0: GBPA decides. Returns with the request ended. */
static void global_bypass(smmu *s, const smmu_txn *t, smmu_access acc, smmu_result *res) {
    if (t->at == SMMU_AT_TRANSLATED) {
        raise_and_abort(s, t, acc, SMMU_EVT_F_TRANSL_FORBIDDEN, 0, res);
        return;
    }
    /* An address beyond the OAS cannot be output and aborts (no event queue to report to). */
    if ((s->gbpa & SMMU_GBPA_ABORT) || (t->addr >> s->oas_bits)) {
        terminate(s, res, SMMU_XLATE_ABORT, 0, false);
        return;
    }
    /* As for STEs, the overrides exist only where IDR1 advertises them; otherwise "use incoming". */
    const bool types = smmu_has(s, 1, SMMU_IDR1_ATTR_TYPES_OVR),
               perms = smmu_has(s, 1, SMMU_IDR1_ATTR_PERMS_OVR);
    if (perms)
        acc = apply_overrides(acc, (unsigned)SMMU_FIELD_GET(SMMU_GBPA_PRIVCFG, s->gbpa),
                              (unsigned)SMMU_FIELD_GET(SMMU_GBPA_INSTCFG, s->gbpa));
    smmu_attr a = smmu_attr_incoming(
        types && (s->gbpa & SMMU_GBPA_MTCFG) != 0, (unsigned)SMMU_FIELD_GET(SMMU_GBPA_MEMATTR, s->gbpa),
        types ? (unsigned)SMMU_FIELD_GET(SMMU_GBPA_ALLOCCFG, s->gbpa) : 0,
        types ? (unsigned)SMMU_FIELD_GET(SMMU_GBPA_SHCFG, s->gbpa) : SMMU_SHCFG_INCOMING);
    bypass_result(s, t, acc, a, res);
    s->st.bypassed++;
}

/* The CD index a request uses, from its SubstreamID and STE.S1CDMax/S1DSS. Returns false with the request
 * ended; *stage1 becomes false when S1DSS bypasses stage 1 for traffic without a SubstreamID. */
static bool select_cd(smmu *s, const txn_ctx *c, bool *stage1, uint32_t *index, smmu_result *res) {
    const smmu_txn *t = c->t;
    const smmu_ste_cfg *ste = c->ste;
    *index = 0;
    if (ste->s1cdmax == 0) {
        if (t->ssv) {
            raise_and_abort(s, t, c->acc, SMMU_EVT_C_BAD_SUBSTREAMID, 0, res);
            return false;
        }
    } else if (!t->ssv) {
        if (ste->s1dss == SMMU_STE_S1DSS_TERMINATE) {
            raise_and_abort(s, t, c->acc, SMMU_EVT_F_STREAM_DISABLED, 0, res);
            return false;
        }
        *stage1 = ste->s1dss == SMMU_STE_S1DSS_SSID0;
    } else {
        if (((uint64_t)t->ssid >> ste->s1cdmax) != 0) {
            raise_and_abort(s, t, c->acc, SMMU_EVT_C_BAD_SUBSTREAMID, 0, res);
            return false;
        }
        if (ste->s1dss == SMMU_STE_S1DSS_SSID0 && t->ssid == 0) {
            raise_and_abort(s, t, c->acc, SMMU_EVT_F_STREAM_DISABLED, 0, res);
            return false;
        }
        *index = t->ssid;
    }
    return true;
}

/* Resolves the STE and CD of a request with SMMUEN = 1. Returns false with the request ended. */
static bool resolve(smmu *s, txn_ctx *c, smmu_result *res) {
    const smmu_txn *t = c->t;
    smmu_cfg_fault f;
    c->ste = smmu_get_ste(s, t->sid, &f);
    if (!c->ste) {
        config_fault(s, t, c->acc, NULL, &f, res);
        return false;
    }
    if (c->ste->config == SMMU_STE_CONFIG_ABORT) {
        terminate(s, res, SMMU_XLATE_ABORT, 0, false); /* abort with no event */
        return false;
    }
    /* Without ATS, EATS is effectively 0b00: Translated traffic is never allowed to skip translation. */
    if (t->at == SMMU_AT_TRANSLATED) {
        raise_and_abort(s, t, c->acc, SMMU_EVT_F_TRANSL_FORBIDDEN, 0, res);
        return false;
    }
    c->acc = apply_overrides(c->acc, c->ste->privcfg, c->ste->instcfg);

    bool stage1 = c->ste->s1_enabled;
    if (stage1) {
        uint32_t index;
        if (!select_cd(s, c, &stage1, &index, res))
            return false;
        if (stage1) {
            c->cd = smmu_get_cd(s, t->sid, &c->ste, &c->ste_copy, index, &f);
            if (!c->cd) {
                config_fault(s, t, c->acc, c->ste, &f, res);
                return false;
            }
        }
    } else if (t->ssv) {
        raise_and_abort(s, t, c->acc, SMMU_EVT_C_BAD_SUBSTREAMID, 0, res); /* a SubstreamID needs stage 1 */
        return false;
    }
    c->s2 = c->ste->s2_enabled ? &c->ste->s2 : NULL;
    return true;
}

/* ---- Step 2: translate ---- */

/* Both stages bypassed: an input beyond the IAS (= OAS) is a stage-1 Address Size fault (3.4). */
static void ste_bypass(smmu *s, const txn_ctx *c, smmu_result *res) {
    const smmu_txn *t = c->t;
    if (t->addr >> s->oas_bits) {
        smmu_fault flt;
        memset(&flt, 0, sizeof(flt));
        flt.type = SMMU_FAULT_ADDR_SIZE;
        flt.stage = 1;
        flt.level = -1;
        flt.fclass = SMMU_CLASS_IN;
        walk_fault(s, t, c->acc, c->ste, NULL, &flt, res);
        return;
    }
    const smmu_ste_cfg *ste = c->ste;
    bypass_result(s, t, c->acc, smmu_attr_incoming(ste->mtcfg, ste->memattr, ste->alloccfg, ste->shcfg), res);
    s->st.bypassed++;
}

static void translate(smmu *s, const smmu_txn *t, smmu_result *res) {
    memset(res, 0, sizeof(*res));
    s->st.translations++;
    txn_ctx c;
    c.t = t;
    c.acc = t->acc;
    c.ste = NULL;
    c.cd = NULL;
    c.s2 = NULL;
    if (c.acc.write)
        c.acc.exec = false;

    /* Without an ATS interface (IDR0.ATS == 0) a Translation Request is an unsupported transaction. */
    if (t->at == SMMU_AT_TRANSLATION_REQ) {
        raise_and_abort(s, t, c.acc, SMMU_EVT_F_UUT, SMMU_UUT_ATS_NOT_IMPLEMENTED, res);
        return;
    }
    if (!smmu_enabled(s)) {
        global_bypass(s, t, c.acc, res);
        return;
    }
    if (!resolve(s, &c, res))
        return;
    if (!c.cd && !c.s2) {
        ste_bypass(s, &c, res);
        return;
    }
    smmu_xlate_out out;
    smmu_fault flt;
    memset(&flt, 0, sizeof(flt));
    if (!smmu_engine_translate(s->eng, t->sid, c.cd ? &c.cd->s1 : NULL, c.s2, t->addr, c.acc, &out, &flt)) {
        walk_fault(s, t, c.acc, c.ste, c.cd, &flt, res);
        return;
    }
    translated_result(&c, &out, res);
    s->st.translations_ok++;
}

void smmu_translate(smmu *s, smmu_call *call, const smmu_txn *t, smmu_result *res) {
    smmu_call *outer = smmu_call_enter(s, call);
    translate(s, t, res);
    if (s->pending_ps) {
        smmu_advance(s, s->pending_ps);
        s->pending_ps = 0;
    }
    smmu_call_leave(s, outer);
}
