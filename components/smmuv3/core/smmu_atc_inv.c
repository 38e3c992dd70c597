/* ATS invalidation from the SMMU's side (IHI0070 3.9.1.4, 4.5.1): CMD_ATC_INV sends an Invalidate Request
 * with an ITag of its endpoint; the endpoint answers with Invalidate Completions; a CMD_SYNC completes only
 * when every earlier invalidation has all its completions, or fails with CERROR_ATC_INV_SYNC after a timeout.
 */
#include <string.h>

#include "smmu_internal.h"

enum { ITAGS = 32 };

static unsigned outstanding_of(const smmu *s, uint32_t sid, uint32_t *used_itags) {
    unsigned count = 0;
    *used_itags = 0;
    for (unsigned i = 0; i < s->atc_inv_count; i++) {
        if (s->atc_inv[i].sid == sid) {
            count++;
            *used_itags |= UINT32_C(1) << s->atc_inv[i].itag;
        }
    }
    return count;
}

static void drop(smmu *s, unsigned i) {
    s->atc_inv[i] = s->atc_inv[--s->atc_inv_count];
}

unsigned smmu_atc_inv_send(smmu *s, const smmu_cmd *c) {
    /* IGNORED with SMMUEN = 0 (nothing can have been cached through a disabled SMMU's answers). */
    if (!smmu_enabled(s)) {
        SMMU_TRACE(s, "cmd", "ATC_INV sid=0x%x ignored (SMMUEN=0)", c->sid);
        return SMMU_CERROR_NONE;
    }
    uint32_t used = 0;
    unsigned depth = s->p.atc_inv_queue_depth;
    if (outstanding_of(s, c->sid, &used) >= depth || used == UINT32_MAX ||
        s->atc_inv_count == SMMU_ATC_INV_MAX) {
        /* The endpoint's invalidate queue is full: the SMMU stops consuming until a completion frees an ITag.
         */
        if (!s->cmd_retry) {
            s->st.atc_inv_itag_waits++;
            SMMU_TRACE(s, "cmd", "ATC_INV sid=0x%x waits for a free itag", c->sid);
        }
        s->cmdq_wake_ps = UINT64_MAX;
        return SMMU_CMD_BLOCKED;
    }
    uint8_t itag = 0;
    while (used & (UINT32_C(1) << itag))
        itag++;
    /* Size 52 is the whole 64-bit space; the address is aligned down to the span. */
    unsigned size_log2 = c->size >= 52 ? 64 : 12u + c->size;
    uint64_t addr = size_log2 >= 64 ? 0 : c->addr & ~((UINT64_C(1) << size_log2) - 1u);
    smmu_msg msg;
    memset(&msg, 0, sizeof(msg));
    msg.kind = SMMU_MSG_ATS_INV_REQ;
    msg.sid = c->sid;
    msg.ssv = c->ssv;
    msg.ssid = c->ssv ? c->ssid : 0;
    msg.addr = addr;
    msg.size_log2 = (uint8_t)size_log2;
    msg.global = c->ssv && c->global; /* Global means nothing without a PASID */
    msg.itag = itag;
    char ssid_text[16];
    SMMU_TRACE(s, "cmd", "ATC_INV sid=0x%x ssid=%s addr=0x%llx size=2^%u global=%d itag=%u", c->sid,
               smmu_ssid_str(ssid_text, c->ssv, c->ssid), (unsigned long long)addr, size_log2, msg.global,
               itag);
    if (!s->host.send_msg || !s->host.send_msg(s->host_ctx, s->call, &msg)) {
        /* No endpoint took it (as after an Unsupported Request): complete, with no guarantee. */
        s->st.atc_inv_undeliverable++;
        SMMU_TRACE(s, "atc_inv", "sid=0x%x itag=%u undeliverable", c->sid, itag);
        return SMMU_CERROR_NONE;
    }
    s->st.atc_inv_sent++;
    smmu_atc_inv *e = &s->atc_inv[s->atc_inv_count++];
    e->sid = c->sid;
    e->itag = itag;
    e->expected = 0;
    e->received = 0;
    e->issued_ps = smmu_now_ps(s);
    return SMMU_CERROR_NONE;
}

void smmu_ats_inv_completion(smmu *s, smmu_call *call, uint32_t sid, uint32_t itag_vector,
                             unsigned completion_count) {
    smmu_call *outer = smmu_call_enter(s, call);
    unsigned cc = (completion_count & 7u) == 0 ? 8u : (completion_count & 7u);
    bool freed = false;
    for (unsigned itag = 0; itag < ITAGS; itag++) {
        if (!(itag_vector & (UINT32_C(1) << itag)))
            continue;
        unsigned i = 0;
        while (i < s->atc_inv_count && !(s->atc_inv[i].sid == sid && s->atc_inv[i].itag == itag))
            i++;
        if (i == s->atc_inv_count) {
            /* Not outstanding (late after a timeout, or a misbehaving endpoint): ignored. */
            s->st.atc_inv_stray_completions++;
            SMMU_TRACE(s, "atc_inv", "completion sid=0x%x itag=%u stray", sid, itag);
            continue;
        }
        smmu_atc_inv *e = &s->atc_inv[i];
        if (e->expected == 0)
            e->expected = (uint8_t)cc;
        e->received++;
        s->st.atc_inv_completions++;
        SMMU_TRACE(s, "atc_inv", "completion sid=0x%x itag=%u %u/%u", sid, itag, e->received, e->expected);
        if (e->received >= e->expected) {
            drop(s, i);
            freed = true;
        }
    }
    if (freed)
        smmu_cmdq_kick(s);
    smmu_call_leave(s, outer);
}

bool smmu_atc_inv_synced(smmu *s, uint64_t *deadline_ps, bool *timed_out) {
    *timed_out = false;
    if (s->atc_inv_count == 0)
        return true;
    uint64_t earliest = UINT64_MAX;
    for (unsigned i = 0; i < s->atc_inv_count; i++) {
        uint64_t due = s->atc_inv[i].issued_ps + s->p.atc_inv_timeout_ps;
        if (due < s->atc_inv[i].issued_ps)
            due = UINT64_MAX;
        if (due < earliest)
            earliest = due;
    }
    *deadline_ps = earliest;
    if (s->host.now_ps && smmu_now_ps(s) >= earliest) {
        /* The endpoint failed to answer in time: its ITags are released (ITags may be reused after a
         * timeout) and the CMD_SYNC reports the failure. */
        s->st.atc_inv_timeouts += s->atc_inv_count;
        s->atc_inv_count = 0;
        *timed_out = true;
    }
    return false;
}

void smmu_atc_inv_reset(smmu *s) {
    s->atc_inv_count = 0;
}
