/* The page-by-page DMA logic of a PCIe function; see pcie_agent.h. */
#include "pcie_agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE (-1)
#define PRI_CTRL 0x04u
#define PRI_STATUS 0x06u
#define PRI_ALLOCATION 0x0Cu
#define PRI_STATUS_RF 0x0001u
#define PRG_SUCCESS 0x0u
#define PRG_INVALID_REQUEST 0x1u
#define PRG_RESPONSE_FAILURE 0xFu

typedef enum slot_state {
    SLOT_FREE = 0,
    SLOT_WAIT_TAG,    /* queued: every request tag of the core is in flight */
    SLOT_WAIT_MEM,    /* a memory request on the wire */
    SLOT_WAIT_TRANS,  /* a Translation Request on the wire */
    SLOT_WAIT_CREDIT, /* needs a page request group; waits for credits or a PRG index */
    SLOT_WAIT_PRG,    /* waits for its group's PRG Response */
    SLOT_DONE,        /* finished; its callback is pending */
} slot_state;

typedef struct slot {
    pcie_agent_req req;
    slot_state state;
    bool want_translate; /* in SLOT_WAIT_TAG: what to issue once a tag frees */
    unsigned attempts;   /* Translation Requests issued so far */
    int32_t next;        /* link in whichever list holds the slot */
    pcie_agent_status status;
    uint64_t fault_addr;
} slot;

typedef struct list {
    int32_t head, tail;
} list;

typedef struct group {
    bool busy;
    uint32_t pages;
    uint64_t first; /* page address of the first page */
    bool pasid_valid;
    uint32_t pasid;
    bool exec, priv, write;
    list waiters;
} group;

typedef struct stop_rec {
    uint32_t pasid;
    bool core_called; /* pcie_ep_stop_pasid asked at least once */
    bool poke;        /* a PRG Response arrived since: ask the core again */
    bool complete, notified;
    void (*done)(void *arg, uint32_t pasid);
    void *arg;
} stop_rec;

struct pcie_agent {
    pcie_ep *ep;
    pcie_agent_done_fn done;
    void *owner;
    unsigned max_attempts;

    slot *slots;
    uint32_t nslots;
    int32_t free_head;
    uint32_t active;
    int32_t tag_slot[PCIE_EP_MAX_INFLIGHT];

    list tag_queue, credit_queue, done_queue;
    bool kicking, busy_seen;

    group groups[PCIE_EP_PRG_INDEXES];
    uint32_t credits_used;
    uint16_t next_index;

    stop_rec *stops;
    uint32_t nstops, stops_cap;

    unsigned depth;
    bool delivering;
    pcie_agent_stats stats;
};

static const char *const status_names[] = {
    "ok",          "denied",          "translation_ur", "translation_ca", "no_permission", "pri_invalid",
    "pri_failure", "pri_unavailable", "mem_ur",         "mem_ca",         "retry_limit",   "stopped",
};

const char *pcie_agent_status_name(pcie_agent_status st) {
    return (unsigned)st < sizeof status_names / sizeof status_names[0] ? status_names[st] : "unknown";
}

/* ---- lists of slots (by index, so the slot array may grow) ---- */

static void list_init(list *l) {
    l->head = l->tail = NONE;
}

static void list_push(pcie_agent *ag, list *l, int32_t i) {
    ag->slots[i].next = NONE;
    if (l->tail == NONE)
        l->head = i;
    else
        ag->slots[l->tail].next = i;
    l->tail = i;
}

static void list_push_front(pcie_agent *ag, list *l, int32_t i) {
    ag->slots[i].next = l->head;
    l->head = i;
    if (l->tail == NONE)
        l->tail = i;
}

static int32_t list_pop(pcie_agent *ag, list *l) {
    int32_t i = l->head;
    if (i != NONE) {
        l->head = ag->slots[i].next;
        if (l->head == NONE)
            l->tail = NONE;
    }
    return i;
}

/* ---- entry and delivery: callbacks run only when no agent code is on the stack ---- */

static void enter(pcie_agent *ag) {
    ag->depth++;
}

static void deliver(pcie_agent *ag) {
    if (ag->delivering)
        return;
    ag->delivering = true;
    for (;;) {
        int32_t i = list_pop(ag, &ag->done_queue);
        if (i != NONE) {
            slot *s = &ag->slots[i];
            void *cookie = s->req.cookie;
            pcie_agent_status st = s->status;
            uint64_t fault = s->fault_addr;
            s->state = SLOT_FREE;
            s->next = ag->free_head;
            ag->free_head = i;
            ag->active--;
            ag->done(ag->owner, cookie, st, fault);
            continue;
        }
        bool any = false;
        for (uint32_t k = 0; k < ag->nstops; k++) {
            stop_rec *r = &ag->stops[k];
            if (r->complete && !r->notified) {
                r->notified = true;
                any = true;
                if (r->done)
                    r->done(r->arg, r->pasid);
                break; /* the callback may have changed the stop list */
            }
        }
        if (!any)
            break;
    }
    ag->delivering = false;
}

static void advance_stops(pcie_agent *ag);

static void leave(pcie_agent *ag) {
    advance_stops(ag);
    if (--ag->depth == 0)
        deliver(ag);
}

static void finish(pcie_agent *ag, int32_t i, pcie_agent_status st) {
    slot *s = &ag->slots[i];
    s->state = SLOT_DONE;
    s->status = st;
    s->fault_addr = st == PCIE_AGENT_OK ? 0 : s->req.access.addr;
    if (st == PCIE_AGENT_OK) {
        ag->stats.completed++;
        if (s->req.access.write)
            ag->stats.bytes_written += s->req.access.len;
        else
            ag->stats.bytes_read += s->req.access.len;
    } else {
        ag->stats.faults++;
        if (st == PCIE_AGENT_RETRY_LIMIT)
            ag->stats.retry_limit_hits++;
    }
    list_push(ag, &ag->done_queue, i);
}

/* ---- helpers on the core's state ---- */

static stop_rec *find_stop(const pcie_agent *ag, uint32_t pasid) {
    for (uint32_t k = 0; k < ag->nstops; k++)
        if (ag->stops[k].pasid == pasid)
            return &ag->stops[k];
    return NULL;
}

static bool slot_stopping(const pcie_agent *ag, const slot *s) {
    return s->req.access.pasid_valid && find_stop(ag, s->req.access.pasid) != NULL;
}

static uint32_t cfg32(pcie_agent *ag, uint32_t off, unsigned size) {
    uint32_t v = 0;
    if (!pcie_ep_cfg_read(ag->ep, off, size, &v))
        return 0;
    return v;
}

/* What makes the core refuse an access whatever the ATC says. */
static bool refused_outright(pcie_agent *ag, const pcie_ep_access *a) {
    return !pcie_ep_bus_master_enabled(ag->ep) || (a->pasid_valid && !pcie_ep_pasid_enabled(ag->ep)) ||
           a->len == 0 || (a->addr & (PCIE_AGENT_PAGE - 1)) + a->len > PCIE_AGENT_PAGE;
}

static void on_wire(pcie_agent *ag, int32_t i, uint32_t tag, slot_state st) {
    ag->slots[i].state = st;
    if (tag < PCIE_EP_MAX_INFLIGHT)
        ag->tag_slot[tag] = i;
}

static void wait_tag(pcie_agent *ag, int32_t i, bool translate) {
    slot *s = &ag->slots[i];
    s->state = SLOT_WAIT_TAG;
    s->want_translate = translate;
    ag->stats.tag_waits++;
    if (ag->kicking) {
        /* Retried from the queue's head and still no tag: keep its place and stop retrying. */
        ag->busy_seen = true;
        list_push_front(ag, &ag->tag_queue, i);
    } else {
        list_push(ag, &ag->tag_queue, i);
    }
}

/* ---- the access state machine ---- */

static void dispatch(pcie_agent *ag, int32_t i);

static void translate(pcie_agent *ag, int32_t i) {
    slot *s = &ag->slots[i];
    if (s->attempts >= ag->max_attempts) {
        finish(ag, i, PCIE_AGENT_RETRY_LIMIT);
        return;
    }
    uint32_t tag = 0;
    switch (pcie_ep_translate(ag->ep, &s->req.access, &tag)) {
    case PCIE_EP_ISSUED_TRANSLATED:
    case PCIE_EP_ISSUED_UNTRANSLATED:
        s->attempts++;
        ag->stats.translation_requests++;
        on_wire(ag, i, tag, SLOT_WAIT_TRANS);
        return;
    case PCIE_EP_BUSY:
        wait_tag(ag, i, true);
        return;
    case PCIE_EP_ATC_MISS:
    case PCIE_EP_DENIED:
    default:
        /* ATS was turned off meanwhile: the access goes untranslated. */
        if ((!pcie_ep_ats_enabled(ag->ep) || s->req.access.untranslated) &&
            !refused_outright(ag, &s->req.access))
            dispatch(ag, i);
        else
            finish(ag, i, PCIE_AGENT_DENIED);
        return;
    }
}

/* Issues the access through the ATC (or untranslated when ATS is off). */
static void dispatch(pcie_agent *ag, int32_t i) {
    slot *s = &ag->slots[i];
    if (slot_stopping(ag, s)) {
        finish(ag, i, PCIE_AGENT_STOPPED);
        return;
    }
    uint32_t tag = 0;
    switch (pcie_ep_dma(ag->ep, &s->req.access, &tag)) {
    case PCIE_EP_ISSUED_TRANSLATED:
    case PCIE_EP_ISSUED_UNTRANSLATED:
        ag->stats.mem_requests++;
        on_wire(ag, i, tag, SLOT_WAIT_MEM);
        return;
    case PCIE_EP_ATC_MISS:
        translate(ag, i);
        return;
    case PCIE_EP_BUSY:
        wait_tag(ag, i, false);
        return;
    case PCIE_EP_DENIED:
    default:
        /* With nothing else against it, an ATC entry denies the access; it may be stale, so ask again. */
        if (pcie_ep_ats_enabled(ag->ep) && !s->req.access.untranslated &&
            !refused_outright(ag, &s->req.access))
            translate(ag, i);
        else
            finish(ag, i, PCIE_AGENT_DENIED);
        return;
    }
}

/* Retries what waits for a request tag, oldest first, until the core is busy again. */
static void kick(pcie_agent *ag) {
    if (ag->kicking)
        return;
    ag->kicking = true;
    ag->busy_seen = false;
    while (!ag->busy_seen) {
        int32_t i = list_pop(ag, &ag->tag_queue);
        if (i == NONE)
            break;
        if (ag->slots[i].want_translate)
            translate(ag, i);
        else
            dispatch(ag, i);
    }
    ag->kicking = false;
}

static bool permits(const pcie_ep_access *a, const pcie_ep_ats_cpl *c) {
    if (a->write ? !c->write : !c->read)
        return false;
    return !a->exec || c->exec;
}

static bool group_covers(const group *g, const slot *s) {
    const pcie_ep_access *a = &s->req.access;
    uint64_t page = a->addr & ~(uint64_t)(PCIE_AGENT_PAGE - 1);
    return g->busy && g->pasid_valid == a->pasid_valid && (!a->pasid_valid || g->pasid == a->pasid) &&
           g->priv == a->priv && g->exec == a->exec && (g->write || !a->write) && page >= g->first &&
           (page - g->first) / PCIE_AGENT_PAGE < g->pages;
}

static bool join_group(pcie_agent *ag, int32_t i) {
    for (unsigned k = 0; k < PCIE_EP_PRG_INDEXES; k++) {
        group *g = &ag->groups[k];
        if (group_covers(g, &ag->slots[i])) {
            ag->slots[i].state = SLOT_WAIT_PRG;
            list_push(ag, &g->waiters, i);
            ag->stats.page_group_joins++;
            return true;
        }
    }
    return false;
}

static int free_index(pcie_agent *ag) {
    for (unsigned n = 0; n < PCIE_EP_PRG_INDEXES; n++) {
        unsigned k = (ag->next_index + n) % PCIE_EP_PRG_INDEXES;
        if (!ag->groups[k].busy) {
            ag->next_index = (uint16_t)((k + 1) % PCIE_EP_PRG_INDEXES);
            return (int)k;
        }
    }
    return -1;
}

/* Why an access that needs a page request cannot have one now and never will; OK when it may wait. */
static pcie_agent_status pri_blocker(pcie_agent *ag, const slot *s) {
    if (!s->req.pri || !pcie_ep_pri_enabled(ag->ep))
        return PCIE_AGENT_NO_PERMISSION;
    if (cfg32(ag, PCIE_EP_ECAP_PRI + PRI_STATUS, 2) & PRI_STATUS_RF)
        return PCIE_AGENT_PRI_FAILURE;
    if (refused_outright(ag, &s->req.access))
        return PCIE_AGENT_DENIED;
    if (cfg32(ag, PCIE_EP_ECAP_PRI + PRI_ALLOCATION, 4) == 0)
        return PCIE_AGENT_PRI_UNAVAILABLE;
    return PCIE_AGENT_OK;
}

/* Sends page request groups for the accesses waiting on credits, oldest first. */
static void pump_credits(pcie_agent *ag) {
    for (;;) {
        int32_t i = list_pop(ag, &ag->credit_queue);
        if (i == NONE)
            return;
        slot *s = &ag->slots[i];
        if (join_group(ag, i))
            continue;
        pcie_agent_status why = pri_blocker(ag, s);
        if (why != PCIE_AGENT_OK) {
            finish(ag, i, why == PCIE_AGENT_NO_PERMISSION ? PCIE_AGENT_PRI_UNAVAILABLE : why);
            continue;
        }
        uint32_t alloc = cfg32(ag, PCIE_EP_ECAP_PRI + PRI_ALLOCATION, 4);
        uint64_t first = s->req.access.addr & ~(uint64_t)(PCIE_AGENT_PAGE - 1);
        uint64_t pages = 1 + (uint64_t)s->req.prefetch_pages;
        uint64_t room = (UINT64_MAX - first) / PCIE_AGENT_PAGE + 1; /* pages up to the top of the space */
        if (pages > room)
            pages = room;
        if (pages > alloc)
            pages = alloc;
        if (pages > PCIE_EP_PRG_INDEXES)
            pages = PCIE_EP_PRG_INDEXES;
        int k = ag->credits_used + pages <= alloc ? free_index(ag) : -1;
        if (k < 0) {
            list_push_front(ag, &ag->credit_queue, i); /* keeps its turn */
            return;
        }
        group *g = &ag->groups[k];
        *g = (group){.busy = true,
                     .first = first,
                     .pasid_valid = s->req.access.pasid_valid,
                     .pasid = s->req.access.pasid,
                     .exec = s->req.access.exec,
                     .priv = s->req.access.priv,
                     .write = s->req.access.write};
        list_init(&g->waiters);
        uint32_t sent = 0;
        for (; sent < pages; sent++) {
            pcie_ep_access a = s->req.access;
            a.addr = first + (uint64_t)sent * PCIE_AGENT_PAGE;
            a.len = 1;
            if (!pcie_ep_page_request(ag->ep, &a, (uint16_t)k, sent + 1 == pages))
                break;
        }
        ag->stats.page_requests += sent;
        if (sent == 0) {
            g->busy = false;
            finish(ag, i, PCIE_AGENT_PRI_UNAVAILABLE);
            continue;
        }
        /* A refusal inside a group leaves it without Last; the host never answers it, so it keeps its
         * credits until PRI is reset, and its access fails rather than wait forever. */
        g->pages = sent;
        ag->credits_used += sent;
        ag->stats.page_groups++;
        if (sent < pages) {
            finish(ag, i, PCIE_AGENT_PRI_UNAVAILABLE);
            continue;
        }
        s->state = SLOT_WAIT_PRG;
        list_push(ag, &g->waiters, i);
    }
}

static void need_page(pcie_agent *ag, int32_t i) {
    slot *s = &ag->slots[i];
    pcie_agent_status why = pri_blocker(ag, s);
    if (why != PCIE_AGENT_OK) {
        finish(ag, i, why);
        return;
    }
    if (join_group(ag, i))
        return;
    s->state = SLOT_WAIT_CREDIT;
    if (ag->credit_queue.head != NONE || ag->credits_used >= cfg32(ag, PCIE_EP_ECAP_PRI + PRI_ALLOCATION, 4))
        ag->stats.credit_waits++;
    list_push(ag, &ag->credit_queue, i);
    pump_credits(ag);
}

/* ---- stopping a PASID ---- */

static bool pasid_on_wire(const pcie_agent *ag, uint32_t pasid) {
    for (unsigned t = 0; t < PCIE_EP_MAX_INFLIGHT; t++) {
        int32_t i = ag->tag_slot[t];
        if (i != NONE && ag->slots[i].req.access.pasid_valid && ag->slots[i].req.access.pasid == pasid)
            return true;
    }
    return false;
}

static void fail_group_waiters(pcie_agent *ag, group *g, pcie_agent_status st) {
    for (int32_t i = list_pop(ag, &g->waiters); i != NONE; i = list_pop(ag, &g->waiters))
        finish(ag, i, st);
}

static void advance_stops(pcie_agent *ag) {
    for (uint32_t k = 0; k < ag->nstops; k++) {
        stop_rec *r = &ag->stops[k];
        if (r->complete || pasid_on_wire(ag, r->pasid) || (r->core_called && !r->poke))
            continue;
        r->core_called = true;
        r->poke = false;
        if (!pcie_ep_stop_pasid(ag->ep, r->pasid))
            continue;
        r->complete = true;
        /* A Stop Marker released the PASID's groups in the core; their responses will not reach us. */
        for (unsigned g = 0; g < PCIE_EP_PRG_INDEXES; g++) {
            group *gr = &ag->groups[g];
            if (gr->busy && gr->pasid_valid && gr->pasid == r->pasid) {
                gr->busy = false;
                ag->credits_used -= gr->pages;
                fail_group_waiters(ag, gr, PCIE_AGENT_STOPPED);
            }
        }
        pump_credits(ag);
    }
}

/* Removes the slots of a list that match, failing them with st. */
static void purge(pcie_agent *ag, list *l, bool all, uint32_t pasid, pcie_agent_status st) {
    list keep;
    list_init(&keep);
    for (int32_t i = list_pop(ag, l); i != NONE; i = list_pop(ag, l)) {
        const pcie_ep_access *a = &ag->slots[i].req.access;
        if (all || (a->pasid_valid && a->pasid == pasid))
            finish(ag, i, st);
        else
            list_push(ag, &keep, i);
    }
    *l = keep;
}

/* ---- public ---- */

pcie_agent *pcie_agent_create(pcie_ep *ep, pcie_agent_done_fn done, void *owner) {
    if (!ep || !done)
        return NULL;
    pcie_agent *ag = calloc(1, sizeof *ag);
    if (!ag)
        return NULL;
    ag->ep = ep;
    ag->done = done;
    ag->owner = owner;
    ag->max_attempts = PCIE_AGENT_DEFAULT_MAX_ATTEMPTS;
    ag->free_head = NONE;
    for (unsigned t = 0; t < PCIE_EP_MAX_INFLIGHT; t++)
        ag->tag_slot[t] = NONE;
    list_init(&ag->tag_queue);
    list_init(&ag->credit_queue);
    list_init(&ag->done_queue);
    return ag;
}

void pcie_agent_destroy(pcie_agent *ag) {
    if (!ag)
        return;
    free(ag->slots);
    free(ag->stops);
    free(ag);
}

void pcie_agent_set_max_attempts(pcie_agent *ag, unsigned attempts) {
    ag->max_attempts = attempts ? attempts : 1;
}

static int32_t alloc_slot(pcie_agent *ag) {
    if (ag->free_head == NONE) {
        uint32_t n = ag->nslots ? ag->nslots * 2 : 16;
        if (n > (uint32_t)INT32_MAX)
            return NONE;
        slot *grown = realloc(ag->slots, (size_t)n * sizeof *grown);
        if (!grown)
            return NONE;
        ag->slots = grown;
        for (uint32_t k = n; k-- > ag->nslots;) {
            grown[k] = (slot){.state = SLOT_FREE, .next = ag->free_head};
            ag->free_head = (int32_t)k;
        }
        ag->nslots = n;
    }
    int32_t i = ag->free_head;
    ag->free_head = ag->slots[i].next;
    return i;
}

bool pcie_agent_submit(pcie_agent *ag, const pcie_agent_req *req) {
    int32_t i = alloc_slot(ag);
    if (i == NONE)
        return false;
    enter(ag);
    slot *s = &ag->slots[i];
    *s = (slot){.req = *req, .state = SLOT_WAIT_TAG, .next = NONE};
    s->req.access.untranslated = !req->ats;
    ag->active++;
    ag->stats.accesses++;
    const pcie_ep_access *a = &s->req.access;
    if (a->len == 0 || (a->addr & (PCIE_AGENT_PAGE - 1)) + a->len > PCIE_AGENT_PAGE)
        finish(ag, i, PCIE_AGENT_DENIED);
    else if (slot_stopping(ag, s))
        finish(ag, i, PCIE_AGENT_STOPPED);
    else if (ag->tag_queue.head != NONE)
        wait_tag(ag, i, false); /* behind the ones already waiting for a tag */
    else
        dispatch(ag, i);
    leave(ag);
    return true;
}

uint32_t pcie_agent_active(const pcie_agent *ag) {
    return ag->active;
}

static int32_t take_tag(pcie_agent *ag, uint32_t tag) {
    if (tag >= PCIE_EP_MAX_INFLIGHT)
        return NONE;
    int32_t i = ag->tag_slot[tag];
    ag->tag_slot[tag] = NONE;
    return i;
}

void pcie_agent_mem_done(pcie_agent *ag, uint32_t tag, pcie_ep_cpl_status status) {
    int32_t i = take_tag(ag, tag);
    if (i == NONE)
        return;
    enter(ag);
    slot *s = &ag->slots[i];
    if (s->state == SLOT_WAIT_TRANS) {
        /* A Translation Request answered as a plain completion carries no translation. */
        if (status != PCIE_EP_CPL_SC)
            finish(ag, i, status == PCIE_EP_CPL_UR ? PCIE_AGENT_TRANSLATION_UR : PCIE_AGENT_TRANSLATION_CA);
        else if (slot_stopping(ag, s))
            finish(ag, i, PCIE_AGENT_STOPPED);
        else
            dispatch(ag, i);
    } else if (status == PCIE_EP_CPL_SC) {
        finish(ag, i, PCIE_AGENT_OK);
    } else {
        finish(ag, i, status == PCIE_EP_CPL_UR ? PCIE_AGENT_MEM_UR : PCIE_AGENT_MEM_CA);
    }
    kick(ag);
    leave(ag);
}

void pcie_agent_translation_done(pcie_agent *ag, uint32_t tag, const pcie_ep_ats_cpl *cpl, bool cached) {
    int32_t i = take_tag(ag, tag);
    if (i == NONE)
        return;
    enter(ag);
    slot *s = &ag->slots[i];
    if (slot_stopping(ag, s)) {
        finish(ag, i, PCIE_AGENT_STOPPED);
    } else if (cpl->status != PCIE_EP_CPL_SC) {
        finish(ag, i, cpl->status == PCIE_EP_CPL_UR ? PCIE_AGENT_TRANSLATION_UR : PCIE_AGENT_TRANSLATION_CA);
    } else if (permits(&s->req.access, cpl)) {
        /* Cached: the ATC now hits. Not cached although it grants the access (an invalidation overtook it,
         * or ATS went off): dispatch looks again, translating anew or going untranslated. */
        if (!cached)
            ag->stats.translation_retries++;
        dispatch(ag, i);
    } else {
        need_page(ag, i);
    }
    kick(ag);
    leave(ag);
}

void pcie_agent_prg_response(pcie_agent *ag, uint16_t prg_index, uint8_t code) {
    enter(ag);
    for (uint32_t k = 0; k < ag->nstops; k++)
        ag->stops[k].poke = true;
    if (prg_index < PCIE_EP_PRG_INDEXES && ag->groups[prg_index].busy) {
        group *g = &ag->groups[prg_index];
        g->busy = false;
        ag->credits_used -= g->pages;
        if (code == PRG_SUCCESS)
            ag->stats.prg_success++;
        else if (code == PRG_RESPONSE_FAILURE)
            ag->stats.prg_failure++;
        else
            ag->stats.prg_invalid++;
        for (int32_t i = list_pop(ag, &g->waiters); i != NONE; i = list_pop(ag, &g->waiters)) {
            if (slot_stopping(ag, &ag->slots[i]))
                finish(ag, i, PCIE_AGENT_STOPPED);
            else if (code == PRG_SUCCESS)
                translate(ag, i); /* the ATC may still hold the entry without permission: ask afresh */
            else if (code == PRG_RESPONSE_FAILURE)
                finish(ag, i, PCIE_AGENT_PRI_FAILURE);
            else
                finish(ag, i, PCIE_AGENT_PRI_INVALID);
        }
    }
    pump_credits(ag);
    leave(ag);
}

void pcie_agent_config_changed(pcie_agent *ag) {
    enter(ag);
    if (!pcie_ep_pri_enabled(ag->ep)) {
        for (unsigned k = 0; k < PCIE_EP_PRG_INDEXES; k++) {
            group *g = &ag->groups[k];
            if (g->busy) {
                g->busy = false;
                fail_group_waiters(ag, g, PCIE_AGENT_PRI_UNAVAILABLE);
            }
        }
        ag->credits_used = 0;
        purge(ag, &ag->credit_queue, true, 0, PCIE_AGENT_PRI_UNAVAILABLE);
    }
    kick(ag);
    leave(ag);
}

bool pcie_agent_stop_pasid(pcie_agent *ag, uint32_t pasid, void (*done)(void *arg, uint32_t pasid),
                           void *arg) {
    if (find_stop(ag, pasid))
        return false;
    if (ag->nstops == ag->stops_cap) {
        uint32_t n = ag->stops_cap ? ag->stops_cap * 2 : 4;
        stop_rec *grown = realloc(ag->stops, (size_t)n * sizeof *grown);
        if (!grown)
            return false;
        ag->stops = grown;
        ag->stops_cap = n;
    }
    enter(ag);
    ag->stops[ag->nstops++] = (stop_rec){.pasid = pasid, .done = done, .arg = arg};
    ag->stats.stops++;
    purge(ag, &ag->tag_queue, false, pasid, PCIE_AGENT_STOPPED);
    purge(ag, &ag->credit_queue, false, pasid, PCIE_AGENT_STOPPED);
    leave(ag);
    return true;
}

void pcie_agent_resume_pasid(pcie_agent *ag, uint32_t pasid) {
    stop_rec *r = find_stop(ag, pasid);
    if (!r)
        return;
    *r = ag->stops[--ag->nstops];
}

bool pcie_agent_pasid_stopping(const pcie_agent *ag, uint32_t pasid) {
    return find_stop(ag, pasid) != NULL;
}

void pcie_agent_get_stats(const pcie_agent *ag, pcie_agent_stats *stats) {
    *stats = ag->stats;
}

void pcie_agent_stats_each(const pcie_agent *ag, const char *prefix,
                           void (*cb)(void *arg, const char *name, uint64_t value), void *arg) {
    const pcie_agent_stats *s = &ag->stats;
    const struct {
        const char *name;
        uint64_t value;
    } rows[] = {
        {"accesses", s->accesses},
        {"completed", s->completed},
        {"faults", s->faults},
        {"bytes_read", s->bytes_read},
        {"bytes_written", s->bytes_written},
        {"mem_requests", s->mem_requests},
        {"translation_requests", s->translation_requests},
        {"translation_retries", s->translation_retries},
        {"page_groups", s->page_groups},
        {"page_requests", s->page_requests},
        {"page_group_joins", s->page_group_joins},
        {"prg_success", s->prg_success},
        {"prg_invalid", s->prg_invalid},
        {"prg_failure", s->prg_failure},
        {"tag_waits", s->tag_waits},
        {"credit_waits", s->credit_waits},
        {"retry_limit_hits", s->retry_limit_hits},
        {"stops", s->stops},
    };
    char name[64];
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        snprintf(name, sizeof name, "%s%s", prefix ? prefix : "", rows[k].name);
        cb(arg, name, rows[k].value);
    }
}
