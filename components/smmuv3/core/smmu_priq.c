/* The PRI queue (IHI0070 chapter 8): Page Requests from PCIe endpoints written as 16-byte entries, the
 * overflow condition, the PRG Responses the SMMU sends by itself (8.1, 8.2), and CMD_PRI_RESP, which turns
 * software's answer into a PRG Response message. Queue registers are in smmu_regfile.c; the interrupt and
 * MSI delivery is shared with the event queue (smmu_evtq.c). */
#include <string.h>

#include "smmu_internal.h"

static const char *resp_name(uint8_t code) {
    switch (code) {
    case SMMU_PRG_SUCCESS:
        return "success";
    case SMMU_PRG_INVALID_REQUEST:
        return "invalid-request";
    default:
        return "response-failure";
    }
}

/* One PRG Response toward the endpoint of sid. `why` names an automatic response's cause (NULL for
 * CMD_PRI_RESP). An undeliverable message is only traced: the endpoint is gone, nobody waits for it. */
static void send_prg_response(smmu *s, uint32_t sid, bool ssv, uint32_t ssid, uint16_t prg_index,
                              uint8_t code, const char *why) {
    smmu_msg m;
    memset(&m, 0, sizeof(m));
    m.kind = SMMU_MSG_PRG_RESP;
    m.sid = sid;
    m.ssv = ssv;
    m.ssid = ssv ? ssid : 0;
    m.prg_index = (uint16_t)(prg_index & SMMU_PRI1_GRPID);
    m.response = code;
    const bool delivered = s->host.send_msg && s->host.send_msg(s->host_ctx, s->call, &m);
    char ssid_text[16];
    SMMU_TRACE(s, "pri", "response sid=0x%x ssid=%s prgi=0x%x resp=%s%s%s%s", sid,
               smmu_ssid_str(ssid_text, ssv, ssid), m.prg_index, resp_name(code), why ? " auto=" : "",
               why ? why : "", delivered ? "" : " undeliverable");
}

static void auto_response(smmu *s, const smmu_page_req *r, bool with_pasid, uint8_t code, const char *why) {
    s->st.pri_auto_responses++;
    send_prg_response(s, r->sid, with_pasid, r->ssid, r->prg_index, code, why);
}

/* An event met while checking STE.PPAR is recorded only with CR2.REC_CFG_ATS (C_BAD_STREAMID also needs
 * RECINVSID), IHI0070 8.1. */
static void ppar_check_event(smmu *s, const smmu_page_req *r, const smmu_cfg_fault *f) {
    s->st.events_raised[f->event_id]++;
    if (!(s->cr2 & SMMU_CR2_REC_CFG_ATS))
        return;
    if (f->event_id == SMMU_EVT_C_BAD_STREAMID && !(s->cr2 & SMMU_CR2_RECINVSID))
        return;
    smmu_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.id = f->event_id;
    ev.sid = r->sid;
    ev.ssv = r->ssv;
    ev.ssid = r->ssid;
    ev.fetch_addr = f->fetch_addr;
    smmu_event_record(s, &ev);
}

/* The automatic response to a Last = 1 request discarded in overflow, with the PASID rule of IHI0070 8.1. */
static void overflow_response(smmu *s, const smmu_page_req *r) {
    if (!r->ssv) {
        auto_response(s, r, false, SMMU_PRG_SUCCESS, "overflow");
        return;
    }
    if (smmu_has(s, 3, SMMU_IDR3_PPS)) {
        auto_response(s, r, true, SMMU_PRG_SUCCESS, "overflow");
        return;
    }
    smmu_cfg_fault f;
    const smmu_ste_cfg *ste = NULL;
    if (smmu_enabled(s)) {
        ste = smmu_get_ste(s, r->sid, &f);
        if (!ste)
            ppar_check_event(s, r, &f);
    }
    if (!ste)
        auto_response(s, r, false, SMMU_PRG_RESPONSE_FAILURE, "overflow-no-ste");
    else
        auto_response(s, r, ste->ppar, SMMU_PRG_SUCCESS, "overflow");
}

static void encode_entry(const smmu_page_req *r, uint8_t bytes[SMMU_PRI_SIZE]) {
    uint64_t d0 = SMMU_FIELD_PREP(SMMU_PRI0_SID, r->sid) | (r->read ? SMMU_PRI0_PERM_READ : 0) |
                  (r->write ? SMMU_PRI0_PERM_WRITE : 0) | (r->last ? SMMU_PRI0_LAST : 0);
    /* Without a PASID, X and Priv are 0 and the SubstreamID is UNKNOWN (written as 0). */
    if (r->ssv)
        d0 |= SMMU_PRI0_SSV | SMMU_FIELD_PREP(SMMU_PRI0_SSID, r->ssid) | (r->exec ? SMMU_PRI0_PERM_EXEC : 0) |
              (r->priv ? SMMU_PRI0_PERM_PRIV : 0);
    const uint64_t d1 = SMMU_FIELD_PREP(SMMU_PRI1_GRPID, r->prg_index) | (r->addr & SMMU_PRI1_ADDR);
    smmu_put_le64(bytes, d0);
    smmu_put_le64(bytes + 8, d1);
}

static smmu_pri_outcome page_request(smmu *s, const smmu_page_req *req) {
    smmu_page_req r = *req;
    /* SSV is 0 when the SMMU has no substreams (IHI0070 chapter 8): such a request is an ordinary one. */
    if (smmu_idr_field(s, 1, SMMU_IDR1_SSIDSIZE) == 0)
        r.ssv = false;
    r.ssid &= (uint32_t)SMMU_FIELD_GET(SMMU_PRI0_SSID, ~UINT64_C(0));
    const bool stop = r.last && !r.read && !r.write && r.ssv;
    s->st.pri_requests++;
    if (stop)
        s->st.pri_stop_markers++;
    smmu_queue *q = &s->priq;
    const char *why = NULL;
    bool overflow = false;
    if (r.secure)
        why = "secure";
    else if (!(s->cr0ack & SMMU_CR0_PRIQEN) || !smmu_enabled(s))
        why = "disabled";
    else if ((s->gerror ^ s->gerrorn) & SMMU_GERROR_PRIQ_ABT_ERR)
        why = "queue-abort";
    else if ((q->prod ^ q->cons) & SMMU_Q_PROD_OVFLG) {
        why = "overflow";
        overflow = true;
    } else if (smmu_q_full(q)) {
        /* Entering overflow: this request is the first one discarded. */
        q->prod ^= SMMU_Q_PROD_OVFLG;
        s->st.pri_overflows++;
        why = "full";
        overflow = true;
    }
    char ssid_text[16];
    if (why) {
        s->st.pri_discarded++;
        SMMU_TRACE(s, "pri", "%s sid=0x%x ssid=%s prgi=0x%x addr=0x%llx lwr=%d%d%d dropped=%s",
                   stop ? "stop" : "request", r.sid, smmu_ssid_str(ssid_text, r.ssv, r.ssid), r.prg_index,
                   (unsigned long long)(r.addr & SMMU_PRI1_ADDR), r.last, r.write, r.read, why);
        if (stop)
            return SMMU_PRI_DISCARDED; /* never answered */
        if (!overflow) {
            auto_response(s, &r, false, SMMU_PRG_RESPONSE_FAILURE, why);
            return SMMU_PRI_ANSWERED;
        }
        if (!r.last)
            return SMMU_PRI_DISCARDED; /* the group's Last request will be answered */
        overflow_response(s, &r);
        return SMMU_PRI_ANSWERED;
    }

    smmu_advance(s, s->p.event_ps);
    uint8_t bytes[SMMU_PRI_SIZE];
    encode_entry(&r, bytes);
    const bool was_empty = smmu_q_empty(q);
    const smmu_mem_attrs attrs = smmu_cr1_queue_attrs(s);
    if (!smmu_mem_write(s, SMMU_MEM_QUEUE, smmu_q_entry_addr(q, q->prod, SMMU_PRI_SIZE), bytes, sizeof(bytes),
                        &attrs)) {
        s->st.pri_write_aborts++;
        s->st.pri_discarded++;
        SMMU_TRACE(s, "pri", "%s sid=0x%x prgi=0x%x dropped=write-abort", stop ? "stop" : "request", r.sid,
                   r.prg_index);
        smmu_gerror_raise(s, SMMU_GERROR_PRIQ_ABT_ERR);
        if (stop)
            return SMMU_PRI_DISCARDED;
        auto_response(s, &r, false, SMMU_PRG_RESPONSE_FAILURE, "write-abort");
        return SMMU_PRI_ANSWERED;
    }
    q->prod = smmu_q_inc(q, q->prod);
    s->st.pri_recorded++;
    SMMU_TRACE(s, "pri", "%s sid=0x%x ssid=%s prgi=0x%x addr=0x%llx lwr=%d%d%d prod=0x%x",
               stop ? "stop" : "request", r.sid, smmu_ssid_str(ssid_text, r.ssv, r.ssid), r.prg_index,
               (unsigned long long)(r.addr & SMMU_PRI1_ADDR), r.last, r.write, r.read, q->prod);
    /* LO = 1: only entries that complete a group (Last = 1) interrupt; else the queue becoming non-empty. */
    const bool irq = (s->priq_irq_cfg2 & SMMU_PRIQ_IRQ_CFG2_LO) ? r.last : was_empty;
    if (irq && (s->irq_ctrlack & SMMU_IRQ_CTRL_PRIQ_IRQEN))
        smmu_signal_irq(s, SMMU_IRQ_PRIQ, s->priq_irq_cfg0, s->priq_irq_cfg1, s->priq_irq_cfg2,
                        SMMU_GERROR_MSI_PRIQ_ABT_ERR);
    return SMMU_PRI_QUEUED;
}

smmu_pri_outcome smmu_page_request(smmu *s, smmu_call *call, const smmu_page_req *req) {
    smmu_call *outer = smmu_call_enter(s, call);
    smmu_pri_outcome out = page_request(s, req);
    if (s->pending_ps) {
        smmu_advance(s, s->pending_ps);
        s->pending_ps = 0;
    }
    smmu_call_leave(s, outer);
    return out;
}

void smmu_pri_resp(smmu *s, const smmu_cmd *c) {
    /* Resp as encoded in the command (0b11 never gets here: the decoder makes it CERROR_ILL). The PASID
     * follows the command's SSV (IHI0070 4.5.2): STE.PPAR and IDR3.PPS only shape automatic responses. */
    static const uint8_t codes[3] = {SMMU_PRG_RESPONSE_FAILURE, SMMU_PRG_INVALID_REQUEST, SMMU_PRG_SUCCESS};
    s->st.pri_responses++;
    send_prg_response(s, c->sid, c->ssv, c->ssid, c->prg_index, codes[c->resp < 3 ? c->resp : 0], NULL);
}

void smmu_priq_stats(const smmu *s, void (*cb)(void *arg, const char *name, uint64_t value), void *arg) {
    const smmu_counters *c = &s->st;
    cb(arg, "priq.requests", c->pri_requests);
    cb(arg, "priq.stop_markers", c->pri_stop_markers);
    cb(arg, "priq.recorded", c->pri_recorded);
    cb(arg, "priq.discarded", c->pri_discarded);
    cb(arg, "priq.auto_responses", c->pri_auto_responses);
    cb(arg, "priq.overflows", c->pri_overflows);
    cb(arg, "priq.write_aborts", c->pri_write_aborts);
    cb(arg, "priq.cmd_responses", c->pri_responses);
}
