/* The transaction path (IHI0070 3.2-3.4, 3.12, 13.5): one upstream request in three steps, each in its own
 * function so that ATS Translation Requests, PRI and the stall model can each change one step:
 *   1. resolve: SMMUEN and GBPA, the STE, the SubstreamID and the CD give the request's configuration, or end
 *      the request (global bypass, configuration error, STE abort);
 *   2. translate: the engine walks the enabled stages, or the request bypasses both;
 *   3. policy: what a fault does to this request (abort or RAZ/WI, whether its event is recorded) and the
 *      result's attributes. */
#include <stdio.h>
#include <string.h>

#include "smmu_attrs.h"
#include "smmu_txn_path.h"

typedef smmu_txn_ctx txn_ctx;

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

bool smmu_txn_is_translation_related(smmu_fault_type t) {
    return t == SMMU_FAULT_TRANSLATION || t == SMMU_FAULT_ADDR_SIZE || t == SMMU_FAULT_ACCESS ||
           t == SMMU_FAULT_PERMISSION;
}

/* Whether a fault stalls its transaction (3.12.2): a translation-related fault of an untranslated transaction
 * on a port that can hold it, with CD.S (stage 1; config rejects it with STE.S1STALLD) or STE.S2S (stage 2).
 * STALL_MODEL 1 rejects both bits and 2 requires them (smmu_config.c), so they decide for every model. */
static bool stalls(const smmu *s, const txn_ctx *c, const smmu_event *ev, bool related) {
    if (!related || c->t->at != SMMU_AT_UNTRANSLATED || !c->t->stall_capable ||
        smmu_idr_field(s, 0, SMMU_IDR0_STALL_MODEL) == 1)
        return false;
    return ev->s2 ? c->ste->s2s : (c->cd && c->cd->stall);
}

/* The fault stalls: the event is recorded with Stall = 1 and a STAG (or waits for room in the queue) and the
 * master holds the transaction. False when STALL_MAX transactions are stalled already. */
static bool stall(smmu *s, txn_ctx *c, smmu_event *ev, smmu_result *res) {
    const smmu_txn *t = c->t;
    char ssid_text[16];
    uint16_t stag;
    bool written;
    if (!smmu_stall_begin(s, ev, &stag, &written))
        return false;
    SMMU_TRACE(s, "fault", "%s sid=0x%x ssid=%s addr=0x%llx stage=%u class=%u stall stag=0x%x",
               smmu_event_name(ev->id), t->sid, smmu_ssid_str(ssid_text, t->ssv, t->ssid),
               (unsigned long long)t->addr, ev->s2 ? 2u : 1u, ev->fclass, stag);
    res->status = SMMU_XLATE_STALLED;
    res->stag = stag;
    res->event_id = ev->id;
    res->event_recorded = written;
    s->st.events_raised[ev->id]++;
    return true;
}

/* A fault from the engine: stage-1 translation-related faults follow CD.{R,A,S}, stage-2 ones STE.{S2R,S2S};
 * external aborts always abort and record. A Translation Request records no translation-related fault (its
 * answer denies access instead) and an external abort only with CR2.REC_CFG_ATS (3.9.1.2). */
static void walk_fault(smmu *s, txn_ctx *c, const smmu_fault *flt, smmu_result *res) {
    const smmu_txn *t = c->t;
    const smmu_ste_cfg *ste = c->ste;
    const smmu_cd_cfg *cd = c->cd;
    smmu_event ev;
    char ssid_text[16];
    uint8_t id = smmu_fault_event_id(flt->type);
    base_event(&ev, id, t, c->acc);
    ev.s2 = flt->stage == 2;
    ev.fclass = (uint8_t)flt->fclass;
    ev.ttrnw = flt->ttrnw;
    ev.ipa = flt->ipa;
    ev.fetch_addr = flt->fetch_addr;
    bool record = true;
    smmu_result_status status = SMMU_XLATE_ABORT;
    const bool related = smmu_txn_is_translation_related(flt->type);
    if (t->at == SMMU_AT_TRANSLATION_REQ) {
        c->ats_end = related ? SMMU_ATS_END_DENY : SMMU_ATS_END_CA;
        record = !related && (s->cr2 & SMMU_CR2_REC_CFG_ATS);
    } else if (related) {
        const bool stall_configured = stalls(s, c, &ev, related);
        if (stall_configured && stall(s, c, &ev, res))
            return;
        if (ev.s2) {
            record = ste->s2r;
        } else if (cd) {
            record = cd->record;
            if (!cd->abort_on_fault && !smmu_has(s, 0, SMMU_IDR0_TERM_MODEL))
                status = SMMU_XLATE_RAZ_WI;
        }
        /* STALL_MAX reached: the fault terminates as if stalling were off for it (CD.A decides abort or
         * RAZ/WI, stage 2 aborts), and is recorded with Stall = 0 because software asked to see every
         * stalling fault (CD.S and STE.S2S imply recording). */
        record = record || stall_configured;
    }
    SMMU_TRACE(s, "fault", "%s sid=0x%x ssid=%s addr=0x%llx stage=%u level=%d class=%u %s%s",
               smmu_event_name(id), t->sid, smmu_ssid_str(ssid_text, t->ssv, t->ssid),
               (unsigned long long)t->addr, flt->stage, flt->level, ev.fclass,
               status == SMMU_XLATE_RAZ_WI ? "raz-wi" : "abort", record ? "" : " unrecorded");
    bool recorded = record && smmu_event_record(s, &ev);
    terminate(s, res, status, id, recorded);
}

void smmu_txn_walk_fault(smmu *s, smmu_txn_ctx *c, const smmu_fault *flt, smmu_result *res) {
    walk_fault(s, c, flt, res);
}

/* A configuration error or fetch abort: always aborts and always tries to record (C_BAD_STREAMID only with
 * CR2.RECINVSID). ATS traffic records it only with CR2.REC_CFG_ATS; a Translation Request's C_BAD_STREAMID
 * also needs RECINVSID, a Translated transaction's does not (3.9.1.2, 3.9.1.3). A nested CD fetch that
 * faulted at stage 2 reports that stage-2 fault with CLASS CD. */
static void config_fault(smmu *s, txn_ctx *c, const smmu_cfg_fault *f, smmu_result *res) {
    if (f->has_s2_fault) {
        const smmu_cd_cfg *cd = c->cd;
        c->cd = NULL;
        walk_fault(s, c, &f->s2_fault, res);
        c->cd = cd;
        return;
    }
    const smmu_txn *t = c->t;
    smmu_event ev;
    char ssid_text[16];
    base_event(&ev, f->event_id, t, c->acc);
    ev.fetch_addr = f->fetch_addr;
    bool record = f->event_id != SMMU_EVT_C_BAD_STREAMID || (s->cr2 & SMMU_CR2_RECINVSID);
    if (t->at == SMMU_AT_TRANSLATED)
        record = (s->cr2 & SMMU_CR2_REC_CFG_ATS) != 0;
    else if (t->at == SMMU_AT_TRANSLATION_REQ)
        record = record && (s->cr2 & SMMU_CR2_REC_CFG_ATS);
    c->ats_end = SMMU_ATS_END_CA;
    SMMU_TRACE(s, "fault", "%s sid=0x%x ssid=%s addr=0x%llx abort%s", smmu_event_name(f->event_id), t->sid,
               smmu_ssid_str(ssid_text, t->ssv, t->ssid), (unsigned long long)t->addr,
               record ? "" : " unrecorded");
    bool recorded = record && smmu_event_record(s, &ev);
    terminate(s, res, SMMU_XLATE_ABORT, f->event_id, recorded);
}

/* Events that belong to the request itself rather than to a configuration structure: always recorded. */
static void forbid(smmu *s, txn_ctx *c, uint8_t id, uint16_t uut_reason, smmu_result *res) {
    const smmu_txn *t = c->t;
    smmu_event ev;
    base_event(&ev, id, t, c->acc);
    ev.uut_reason = uut_reason;
    SMMU_TRACE(s, "fault", "%s sid=0x%x addr=0x%llx abort", smmu_event_name(id), t->sid,
               (unsigned long long)t->addr);
    terminate(s, res, SMMU_XLATE_ABORT, id, smmu_event_record(s, &ev));
}

void smmu_txn_forbid(smmu *s, smmu_txn_ctx *c, uint8_t id, uint16_t uut_reason, smmu_result *res) {
    forbid(s, c, id, uut_reason, res);
}

static void raise_and_abort(smmu *s, txn_ctx *c, uint8_t id, smmu_result *res) {
    smmu_cfg_fault f;
    memset(&f, 0, sizeof(f));
    f.event_id = id;
    config_fault(s, c, &f, res);
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
static bool select_cd(smmu *s, txn_ctx *c, bool *stage1, uint32_t *index, smmu_result *res) {
    const smmu_txn *t = c->t;
    const smmu_ste_cfg *ste = c->ste;
    *index = 0;
    if (ste->s1cdmax == 0) {
        if (t->ssv) {
            raise_and_abort(s, c, SMMU_EVT_C_BAD_SUBSTREAMID, res);
            return false;
        }
    } else if (!t->ssv) {
        if (ste->s1dss == SMMU_STE_S1DSS_TERMINATE) {
            raise_and_abort(s, c, SMMU_EVT_F_STREAM_DISABLED, res);
            return false;
        }
        *stage1 = ste->s1dss == SMMU_STE_S1DSS_SSID0;
    } else {
        if (((uint64_t)t->ssid >> ste->s1cdmax) != 0) {
            raise_and_abort(s, c, SMMU_EVT_C_BAD_SUBSTREAMID, res);
            return false;
        }
        if (ste->s1dss == SMMU_STE_S1DSS_SSID0 && t->ssid == 0) {
            raise_and_abort(s, c, SMMU_EVT_F_STREAM_DISABLED, res);
            return false;
        }
        *index = t->ssid;
    }
    return true;
}

/* The effective STE.EATS (3.9.1.2): 0b00 for a bypass STE and, since split-stage and DPT ATS need
 * CR0.ATSCHK, for EATS = 0b1x with ATSCHK = 0. */
static unsigned effective_eats(const smmu *s, const smmu_ste_cfg *ste) {
    if (ste->config == SMMU_STE_CONFIG_BYPASS)
        return 0;
    if ((ste->eats & 2) && !(s->cr0ack & SMMU_CR0_ATSCHK))
        return 0;
    return ste->eats;
}

/* Resolves the STE and CD of a request with SMMUEN = 1. Returns false with the request ended. */
bool smmu_txn_resolve(smmu *s, txn_ctx *c, smmu_result *res) {
    const smmu_txn *t = c->t;
    smmu_cfg_fault f;
    c->ste = smmu_get_ste(s, t->sid, &f);
    if (!c->ste) {
        config_fault(s, c, &f, res);
        return false;
    }
    if (c->ste->config == SMMU_STE_CONFIG_ABORT) {
        c->ats_end = SMMU_ATS_END_UR;
        terminate(s, res, SMMU_XLATE_ABORT, 0, false); /* abort with no event */
        return false;
    }
    if (t->at != SMMU_AT_UNTRANSLATED && effective_eats(s, c->ste) == 0) {
        c->ats_end = SMMU_ATS_END_UR;
        forbid(s, c, t->at == SMMU_AT_TRANSLATED ? SMMU_EVT_F_TRANSL_FORBIDDEN : SMMU_EVT_F_BAD_ATS_TREQ, 0,
               res);
        return false;
    }
    c->acc = apply_overrides(c->acc, c->ste->privcfg, c->ste->instcfg);
    if (t->at == SMMU_AT_TRANSLATED)
        return true; /* allowed: a Translated transaction does not use the CD */

    bool stage1 = c->ste->s1_enabled;
    if (stage1) {
        uint32_t index;
        if (!select_cd(s, c, &stage1, &index, res))
            return false;
        if (stage1) {
            c->cd = smmu_get_cd(s, t->sid, &c->ste, &c->ste_copy, index, &f);
            if (!c->cd) {
                config_fault(s, c, &f, res);
                return false;
            }
        }
    } else if (t->ssv) {
        raise_and_abort(s, c, SMMU_EVT_C_BAD_SUBSTREAMID, res); /* a SubstreamID needs stage 1 */
        return false;
    }
    c->s2 = c->ste->s2_enabled ? &c->ste->s2 : NULL;
    return true;
}

/* ---- Step 2: translate ---- */

/* Both stages bypassed: an input beyond the IAS (= OAS) is a stage-1 Address Size fault (3.4). */
static void ste_bypass(smmu *s, txn_ctx *c, smmu_result *res) {
    const smmu_txn *t = c->t;
    if (t->addr >> s->oas_bits) {
        smmu_fault flt;
        memset(&flt, 0, sizeof(flt));
        flt.type = SMMU_FAULT_ADDR_SIZE;
        flt.stage = 1;
        flt.level = -1;
        flt.fclass = SMMU_CLASS_IN;
        walk_fault(s, c, &flt, res);
        return;
    }
    const smmu_ste_cfg *ste = c->ste;
    bypass_result(s, t, c->acc, smmu_attr_incoming(ste->mtcfg, ste->memattr, ste->alloccfg, ste->shcfg), res);
    s->st.bypassed++;
}

/* A Translated transaction (3.9.1.3): with SMMUEN = 1 it passes at its own address once allowed; CR0.ATSCHK
 * = 0 checks nothing but the address size. The model takes the IMPLEMENTATION DEFINED choice of aborting an
 * address beyond the OAS, with no event. */
static void translated_traffic(smmu *s, txn_ctx *c, smmu_result *res) {
    const smmu_txn *t = c->t;
    if (!smmu_enabled(s) || t->secure) {
        forbid(s, c, SMMU_EVT_F_TRANSL_FORBIDDEN, 0, res);
        return;
    }
    smmu_attr a = smmu_attr_incoming(false, 0, 0, SMMU_SHCFG_INCOMING);
    /* Without ATS nothing may have handed out the address: the STE (EATS effectively 0b00) decides. */
    if ((s->cr0ack & SMMU_CR0_ATSCHK) || !smmu_has(s, 0, SMMU_IDR0_ATS)) {
        if (!smmu_txn_resolve(s, c, res))
            return;
        const smmu_ste_cfg *ste = c->ste;
        a = smmu_attr_incoming(ste->mtcfg, ste->memattr, ste->alloccfg, ste->shcfg);
    }
    if (t->addr >> s->oas_bits) {
        terminate(s, res, SMMU_XLATE_ABORT, 0, false);
        return;
    }
    bypass_result(s, t, c->acc, a, res);
    s->st.bypassed++;
}

void smmu_txn_ctx_init(smmu *s, txn_ctx *c, const smmu_txn *t, smmu_result *res) {
    memset(res, 0, sizeof(*res));
    s->st.translations++;
    c->t = t;
    c->acc = t->acc;
    c->ste = NULL;
    c->cd = NULL;
    c->s2 = NULL;
    c->ats_end = SMMU_ATS_END_CA;
    if (c->acc.write)
        c->acc.exec = false;
}

static void translate(smmu *s, const smmu_txn *t, smmu_result *res) {
    txn_ctx c;
    smmu_txn_ctx_init(s, &c, t, res);

    /* Without an ATS interface (IDR0.ATS == 0) a Translation Request is an unsupported transaction; with
     * one, Translation Requests are answered by smmu_ats_translate, never here. */
    if (t->at == SMMU_AT_TRANSLATION_REQ) {
        if (smmu_has(s, 0, SMMU_IDR0_ATS))
            terminate(s, res, SMMU_XLATE_ABORT, 0, false);
        else
            forbid(s, &c, SMMU_EVT_F_UUT, SMMU_UUT_ATS_NOT_IMPLEMENTED, res);
        return;
    }
    if (t->at == SMMU_AT_TRANSLATED) {
        translated_traffic(s, &c, res);
        return;
    }
    if (!smmu_enabled(s)) {
        global_bypass(s, t, c.acc, res);
        return;
    }
    if (!smmu_txn_resolve(s, &c, res))
        return;
    if (!c.cd && !c.s2) {
        ste_bypass(s, &c, res);
        return;
    }
    smmu_xlate_out out;
    smmu_fault flt;
    memset(&flt, 0, sizeof(flt));
    if (!smmu_engine_translate(s->eng, t->sid, c.cd ? &c.cd->s1 : NULL, c.s2, t->addr, c.acc, &out, &flt)) {
        walk_fault(s, &c, &flt, res);
        return;
    }
    translated_result(&c, &out, res);
    s->st.translations_ok++;
}

/* The "xlate" record: the transaction and what became of it, at the time the answer is ready. */
static void trace_result(smmu *s, const smmu_txn *t, const smmu_result *res) {
    char ssid_text[16], result[64];
    switch (res->status) {
    case SMMU_XLATE_OK:
        snprintf(result, sizeof(result), "ok pa=0x%llx%s", (unsigned long long)res->pa,
                 res->bypass ? " bypass" : "");
        break;
    case SMMU_XLATE_ABORT:
        snprintf(result, sizeof(result), "abort event=%s",
                 res->event_id ? smmu_event_name(res->event_id) : "-");
        break;
    case SMMU_XLATE_RAZ_WI:
        snprintf(result, sizeof(result), "raz_wi event=%s",
                 res->event_id ? smmu_event_name(res->event_id) : "-");
        break;
    default:
        snprintf(result, sizeof(result), "stall stag=0x%x", res->stag);
        break;
    }
    smmu_tracef(s, "xlate", "sid=0x%x ssid=%s addr=0x%llx len=%u dir=%s%s%s at=%s result=%s", t->sid,
                smmu_ssid_str(ssid_text, t->ssv, t->ssid), (unsigned long long)t->addr, t->len,
                t->acc.write ? "w" : "r", t->acc.exec && !t->acc.write ? "x" : "", t->acc.priv ? "p" : "",
                t->at == SMMU_AT_TRANSLATED ? "translated" : "untranslated", result);
}

void smmu_txn_charge(smmu *s) {
    if (s->pending_ps) {
        smmu_advance(s, s->pending_ps);
        s->pending_ps = 0;
    }
}

void smmu_translate(smmu *s, smmu_call *call, const smmu_txn *t, smmu_result *res) {
    smmu_call *outer = smmu_call_enter(s, call);
    translate(s, t, res);
    smmu_txn_charge(s);
    if (smmu_tracing(s))
        trace_result(s, t, res);
    smmu_call_leave(s, outer);
}
