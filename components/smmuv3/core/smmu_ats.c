/* ATS Translation Requests (IHI0070 3.9.1.2, 13.7): the configuration is resolved and the engine run exactly
 * as for ordinary traffic (smmu_txn.c); what differs is the answer. A request is never terminated by a
 * translation-related fault: it gets Success with the permissions the tables grant (none at worst), and the
 * SMMU records no fault for it. */
#include <string.h>

#include "smmu_txn_path.h"

static uint64_t span_mask(unsigned log2) {
    return log2 >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << log2) - 1;
}

/* The Smallest Translation Unit: the smallest granule the SMMU implements (3.9.1). */
static unsigned stu_log2(const smmu *s) {
    return (unsigned)__builtin_ctz(smmu_granule_supported_mask(&s->p));
}

/* Success with no permission: the entry covers one STU (3.9.1.2). */
static void deny(const smmu *s, const smmu_txn *t, smmu_ats_result *r) {
    r->status = SMMU_ATS_SUCCESS;
    r->size_log2 = (uint8_t)stu_log2(s);
    r->addr = t->addr & ~span_mask(r->size_log2);
    r->read = r->write = r->exec = r->global = false;
}

static void end_request(const smmu *s, const smmu_txn_ctx *c, const smmu_result *res, smmu_ats_result *r) {
    r->event_id = res->event_id;
    r->event_recorded = res->event_recorded;
    if (c->ats_end == SMMU_ATS_END_DENY)
        deny(s, c->t, r);
    else
        r->status = c->ats_end == SMMU_ATS_END_UR ? SMMU_ATS_UR : SMMU_ATS_CA;
}

/* Runs the engine for one access. A translation-related fault is part of the answer (returned in *fault, no
 * event); an external abort ends the request through the shared fault path (*ended, Completer Abort). */
static bool engine_try(smmu *s, smmu_txn_ctx *c, smmu_access acc, smmu_xlate_out *out, smmu_fault_type *fault,
                       bool *ended, smmu_result *res) {
    smmu_fault flt;
    memset(&flt, 0, sizeof(flt));
    if (smmu_engine_translate(s->eng, c->t->sid, c->cd ? &c->cd->s1 : NULL, c->s2, c->t->addr, acc, out,
                              &flt))
        return true;
    *fault = flt.type;
    if (!smmu_txn_is_translation_related(flt.type)) {
        smmu_txn_walk_fault(s, c, &flt, res);
        *ended = true;
    }
    return false;
}

static void ats_translate(smmu *s, const smmu_txn *in, smmu_ats_result *r) {
    memset(r, 0, sizeof(*r));
    smmu_txn t = *in;
    t.at = SMMU_AT_TRANSLATION_REQ;
    /* Without a PASID the request is Data, Unprivileged, and the completion's Priv and Exe are 0 (13.7.1). */
    if (!t.ssv)
        t.acc.priv = t.acc.exec = false;
    const bool req_exe = t.acc.exec;
    r->priv = t.acc.priv;
    /* Permissions are judged for a read; the INSTCFG override may turn it into an instruction fetch. */
    t.acc.write = t.acc.exec = false;
    smmu_txn_ctx c;
    smmu_result res;
    smmu_txn_ctx_init(s, &c, &t, &res);

    if (!smmu_has(s, 0, SMMU_IDR0_ATS)) {
        smmu_txn_forbid(s, &c, SMMU_EVT_F_UUT, SMMU_UUT_ATS_NOT_IMPLEMENTED, &res);
        r->status = SMMU_ATS_UR;
        r->event_id = res.event_id;
        r->event_recorded = res.event_recorded;
        return;
    }
    /* A Secure request is refused before any StreamID check or configuration lookup (3.9.1). */
    if (t.secure || !smmu_enabled(s)) {
        smmu_txn_forbid(s, &c, SMMU_EVT_F_BAD_ATS_TREQ, 0, &res);
        c.ats_end = SMMU_ATS_END_UR;
        end_request(s, &c, &res, r);
        return;
    }
    if (!smmu_txn_resolve(s, &c, &res)) {
        end_request(s, &c, &res, r);
        return;
    }
    const unsigned instcfg = c.ste->instcfg;
    if (!c.cd && !c.s2) {
        /* STE.S1DSS skipped stage 1 of a stage-1-only STE: identity, R = W = 1, U = 0 (3.9.1.2). Beyond the
         * IAS it is the Address Size fault of an untranslated input. */
        if (t.addr >> s->oas_bits) {
            deny(s, &t, r);
            return;
        }
        r->status = SMMU_ATS_SUCCESS;
        r->size_log2 = (uint8_t)stu_log2(s);
        r->addr = t.addr & ~span_mask(r->size_log2);
        /* The identity map allows everything, but a request with NW = 1 asked for a read-only translation
         * and, as on every other path, is never granted W. */
        r->read = true;
        r->write = !t.no_write;
        r->exec = req_exe;
        s->st.translations_ok++;
        return;
    }

    bool ended = false;
    smmu_fault_type fault = SMMU_FAULT_NONE;
    smmu_xlate_out out;
    bool readable = engine_try(s, &c, c.acc, &out, &fault, &ended, &res);
    if (ended) {
        end_request(s, &c, &res, r);
        return;
    }
    /* Translation, Address Size and Access faults deny everything; only a Permission fault leaves other
     * permissions to grant. */
    if (!readable && fault != SMMU_FAULT_PERMISSION) {
        deny(s, &t, r);
        return;
    }
    bool read = false, exec = false, write = false;
    if (readable) {
        const bool instr = c.acc.exec; /* STE.INSTCFG = Instruction: R means executable */
        read = instr ? out.exec : out.read;
        if (instcfg == SMMU_INSTCFG_DATA || instr)
            exec = req_exe && read;
        else
            exec = req_exe && read && out.exec;
        write = out.write && !t.no_write;
    }
    /* NW = 0 asks for write: a writable-clean page is marked dirty (HTTU) and W granted; NW = 1 never is. */
    if (!t.no_write && !write) {
        smmu_access wacc = {.write = true, .exec = false, .priv = c.acc.priv};
        smmu_xlate_out wout;
        if (engine_try(s, &c, wacc, &wout, &fault, &ended, &res)) {
            write = true;
            if (!readable)
                out = wout;
        } else if (ended) {
            end_request(s, &c, &res, r);
            return;
        }
    }
    if (!read && !write) {
        deny(s, &t, r);
        return;
    }
    r->status = SMMU_ATS_SUCCESS;
    r->size_log2 = out.size_shift;
    r->addr = out.oa & ~span_mask(out.size_shift);
    r->read = read;
    r->write = write;
    r->exec = exec;
    /* A PASID-tagged completion never carries Global: shared and non-shared contexts must not match each
     * other's global entries in the ATC (3.9.1). */
    r->global = !t.ssv && out.global;
    s->st.translations_ok++;
}

void smmu_ats_translate(smmu *s, smmu_call *call, const smmu_txn *t, smmu_ats_result *r) {
    smmu_call *outer = smmu_call_enter(s, call);
    ats_translate(s, t, r);
    smmu_txn_charge(s);
    if (smmu_tracing(s)) {
        char ssid_text[16];
        if (r->status == SMMU_ATS_SUCCESS)
            smmu_tracef(s, "ats",
                        "sid=0x%x ssid=%s addr=0x%llx nw=%d status=SC out=0x%llx size=2^%u perm=%s%s%s%s%s%s",
                        t->sid, smmu_ssid_str(ssid_text, t->ssv, t->ssid), (unsigned long long)t->addr,
                        t->no_write, (unsigned long long)r->addr, r->size_log2, r->read ? "r" : "",
                        r->write ? "w" : "", r->exec ? "x" : "", r->priv ? "p" : "", r->global ? "g" : "",
                        r->untranslated_only ? "u" : "");
        else
            smmu_tracef(s, "ats", "sid=0x%x ssid=%s addr=0x%llx nw=%d status=%s", t->sid,
                        smmu_ssid_str(ssid_text, t->ssv, t->ssid), (unsigned long long)t->addr, t->no_write,
                        r->status == SMMU_ATS_UR ? "UR" : "CA");
    }
    smmu_call_leave(s, outer);
}
