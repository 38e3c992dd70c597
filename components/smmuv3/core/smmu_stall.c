/* The stall fault model (IHI0070 3.12.2, 4.7.1-4.7.2, 7.3): the table of stalled transactions, the stall
 * records that wait for room in the event queue, and CMD_RESUME / CMD_STALL_TERM. The transaction itself is
 * held by the host (the master's port), never here: the core never waits. The host learns of a resolution
 * through stall_resolved and collects it with smmu_stall_outcome. */
#include <stdlib.h>
#include <string.h>

#include "smmu_internal.h"

bool smmu_stall_init(smmu *s) {
    s->stall_max = 0;
    if (smmu_idr_field(s, 0, SMMU_IDR0_STALL_MODEL) != 1)
        s->stall_max = smmu_idr_field(s, 5, SMMU_IDR5_STALL_MAX);
    s->stalls = NULL;
    if (s->stall_max) {
        s->stalls = calloc(s->stall_max, sizeof(*s->stalls));
        if (!s->stalls)
            return false;
    }
    smmu_stall_reset(s);
    return true;
}

void smmu_stall_free(smmu *s) {
    free(s->stalls);
    s->stalls = NULL;
}

void smmu_stall_reset(smmu *s) {
    if (s->stalls)
        memset(s->stalls, 0, s->stall_max * sizeof(*s->stalls));
    s->stall_used = 0;
    s->stall_pending = 0;
    s->next_stag = 0;
    s->stall_seq = 0;
}

static bool stag_in_use(const smmu *s, uint16_t stag) {
    for (unsigned i = 0; i < s->stall_max; i++)
        if (s->stalls[i].state != SMMU_STALL_FREE && s->stalls[i].stag == stag)
            return true;
    return false;
}

bool smmu_stall_begin(smmu *s, smmu_event *ev, uint16_t *stag, bool *written) {
    if (s->stall_used >= s->stall_max) {
        s->st.stall_max_reached++;
        return false;
    }
    smmu_stall_entry *e = NULL;
    for (unsigned i = 0; i < s->stall_max && !e; i++)
        if (s->stalls[i].state == SMMU_STALL_FREE)
            e = &s->stalls[i];
    /* STAGs are unique over all outstanding stalls (STALL_MAX <= 65535 < 2^16, so a free one exists), which
     * lets software match a resume against any record without also comparing StreamIDs. */
    while (stag_in_use(s, s->next_stag))
        s->next_stag++;
    e->stag = s->next_stag++;
    e->sid = ev->sid;
    e->seq = s->stall_seq++;
    e->action = SMMU_STALL_WAITING;
    ev->stall = true;
    ev->stag = e->stag;
    smmu_event_encode(ev, e->rec);
    s->stall_used++;
    s->st.stalls++;
    smmu_advance(s, s->p.event_ps);
    /* Older pending records keep their place ahead of this one. */
    smmu_stall_flush_pending(s);
    *written = s->stall_pending == 0 && smmu_event_write_stall(s, e->rec, e->sid);
    if (*written) {
        e->state = SMMU_STALL_HELD;
    } else {
        e->state = SMMU_STALL_PENDING;
        s->stall_pending++;
        s->st.stall_records_delayed++;
        SMMU_TRACE(s, "event", "%s sid=0x%x stag=0x%x waits for the event queue", smmu_event_name(ev->id),
                   ev->sid, e->stag);
    }
    *stag = e->stag;
    return true;
}

void smmu_stall_flush(smmu *s) {
    while (s->stall_pending) {
        smmu_stall_entry *oldest = NULL;
        for (unsigned i = 0; i < s->stall_max; i++) {
            smmu_stall_entry *e = &s->stalls[i];
            if (e->state == SMMU_STALL_PENDING && (!oldest || e->seq < oldest->seq))
                oldest = e;
        }
        if (!oldest || !smmu_event_write_stall(s, oldest->rec, oldest->sid))
            return;
        oldest->state = SMMU_STALL_HELD;
        s->stall_pending--;
    }
}

static void resolve(smmu *s, smmu_stall_entry *e, smmu_stall_action action) {
    if (e->state == SMMU_STALL_PENDING)
        s->stall_pending--; /* its record is never written: the transaction is gone */
    e->state = SMMU_STALL_RESOLVED;
    e->action = (uint8_t)action;
    if (action == SMMU_STALL_RETRY)
        s->st.stall_retries++;
    else if (action == SMMU_STALL_RAZ_WI)
        s->st.stall_raz_wi++;
    else
        s->st.stall_aborts++;
    if (s->host.stall_resolved)
        s->host.stall_resolved(s->host_ctx, s->call, e->sid, e->stag, action);
}

static const char *action_name(smmu_stall_action a) {
    return a == SMMU_STALL_RETRY ? "retry" : a == SMMU_STALL_RAZ_WI ? "raz-wi" : "abort";
}

/* CMD_RESUME (4.7.1): only a transaction whose stall record software could have read matches; any other
 * (StreamID, STAG) is ignored, as the architecture asks. */
void smmu_stall_resume(smmu *s, const smmu_cmd *c) {
    smmu_stall_action action = SMMU_STALL_RETRY;
    if (!c->ac)
        action = (c->ab || smmu_has(s, 0, SMMU_IDR0_TERM_MODEL)) ? SMMU_STALL_ABORT : SMMU_STALL_RAZ_WI;
    for (unsigned i = 0; i < s->stall_max; i++) {
        smmu_stall_entry *e = &s->stalls[i];
        if (e->state == SMMU_STALL_HELD && e->sid == c->sid && e->stag == c->stag) {
            SMMU_TRACE(s, "cmd", "RESUME sid=0x%x stag=0x%x %s", c->sid, c->stag, action_name(action));
            resolve(s, e, action);
            return;
        }
    }
    s->st.stall_resume_unmatched++;
    SMMU_TRACE(s, "cmd", "RESUME sid=0x%x stag=0x%x matches no stall (ignored)", c->sid, c->stag);
}

/* CMD_STALL_TERM (4.7.2): every stalled transaction of the StreamID ends with an abort, including those whose
 * record is still waiting for the queue (it is then never written). */
void smmu_stall_term(smmu *s, uint32_t sid) {
    unsigned n = 0;
    for (unsigned i = 0; i < s->stall_max; i++) {
        smmu_stall_entry *e = &s->stalls[i];
        if ((e->state == SMMU_STALL_HELD || e->state == SMMU_STALL_PENDING) && e->sid == sid) {
            resolve(s, e, SMMU_STALL_ABORT);
            n++;
        }
    }
    SMMU_TRACE(s, "cmd", "STALL_TERM sid=0x%x terminated=%u", sid, n);
}

smmu_stall_action smmu_stall_outcome(smmu *s, uint32_t sid, uint16_t stag) {
    for (unsigned i = 0; i < s->stall_max; i++) {
        smmu_stall_entry *e = &s->stalls[i];
        if (e->state == SMMU_STALL_FREE || e->sid != sid || e->stag != stag)
            continue;
        if (e->state != SMMU_STALL_RESOLVED)
            return SMMU_STALL_WAITING;
        smmu_stall_action action = (smmu_stall_action)e->action;
        e->state = SMMU_STALL_FREE;
        s->stall_used--;
        return action;
    }
    return SMMU_STALL_ABORT;
}

void smmu_stall_stats(const smmu *s, void (*cb)(void *arg, const char *name, uint64_t value), void *arg) {
    const smmu_counters *c = &s->st;
    cb(arg, "stall.stalls", c->stalls);
    cb(arg, "stall.records_delayed", c->stall_records_delayed);
    cb(arg, "stall.max_reached", c->stall_max_reached);
    cb(arg, "stall.retries", c->stall_retries);
    cb(arg, "stall.aborts", c->stall_aborts);
    cb(arg, "stall.raz_wi", c->stall_raz_wi);
    cb(arg, "stall.resume_unmatched", c->stall_resume_unmatched);
    cb(arg, "stall.outstanding", s->stall_used);
}
