#include "pcie_ep.h"

#include <stdlib.h>
#include <string.h>

#include "setassoc.h"

/* Type 0 header and capability register offsets. */
enum {
    CFG_VENDOR = 0x00,
    CFG_COMMAND = 0x04,
    CFG_STATUS = 0x06,
    CFG_REVISION = 0x08,
    CFG_HEADER_TYPE = 0x0E,
    CFG_BAR0 = 0x10,
    CFG_CAP_PTR = 0x34,
    CMD_MEMORY = 0x0002,
    CMD_BUS_MASTER = 0x0004,
    STATUS_CAP_LIST = 0x0010,
    ATS_CTRL_ENABLE = 0x8000,
    PRI_CTRL_ENABLE = 0x0001,
    PRI_CTRL_RESET = 0x0002,
    PRI_STATUS_RF = 0x0001,
    PRI_STATUS_UPRGI = 0x0002,
    PRI_STATUS_STOPPED = 0x0100,
    PRI_STATUS_PASID = 0x8000,
    PASID_CTRL_ENABLE = 0x0001,
};

typedef struct atc_entry {
    uint64_t ubase, tbase;
    uint8_t size_log2;
    bool pasid_valid;
    uint32_t pasid;
    bool r, w, x, priv, global, u;
    uint32_t id;   /* names the entry to its in-flight requests, which outlive it once invalidated */
    uint32_t uses; /* translated requests in flight through it */
} atc_entry;

typedef struct inflight {
    bool busy;
    pcie_ep_at at;
    pcie_ep_access access;
    atc_entry entry; /* translated: a copy of the entry it used, which eviction may have dropped since */
    uint32_t slot;
    uint32_t waiting_itags; /* invalidations that must wait for it */
} inflight;

typedef struct prg_state {
    uint16_t outstanding; /* page requests of the group sent and not yet answered */
    bool pasid_valid;
    uint32_t pasid;
} prg_state;

struct pcie_ep {
    pcie_ep_params p;
    pcie_ep_host_ops ops;
    void *ctx;
    uint8_t cfg[PCIE_EP_CFG_SIZE];
    uint8_t wmask[PCIE_EP_CFG_SIZE];
    uint8_t w1c[PCIE_EP_CFG_SIZE];

    vp_setassoc atc;
    uint64_t atc_sizes; /* bit n: some entry covers 2^n bytes, so lookups probe only sizes present */
    uint32_t next_id;
    inflight req[PCIE_EP_MAX_INFLIGHT];

    uint32_t inv_pending;   /* ITags received, completion not yet sent */
    uint16_t inv_waits[32]; /* per ITag: translated requests still to drain */
    uint32_t inv_ready;     /* drained, completion not yet sent (inv_latency_ps) */

    uint32_t pri_outstanding;
    prg_state prg[PCIE_EP_PRG_INDEXES];
};

static uint32_t rd(const uint8_t *b, uint32_t off, unsigned size) {
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)b[off + i] << (8 * i);
    return v;
}

static void wr(uint8_t *b, uint32_t off, unsigned size, uint32_t v) {
    for (unsigned i = 0; i < size; i++)
        b[off + i] = (uint8_t)(v >> (8 * i));
}

static uint16_t cfg16(const pcie_ep *ep, uint32_t off) {
    return (uint16_t)rd(ep->cfg, off, 2);
}

static bool is_pow2(uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

/* Extended capability header: ID, version 1, next pointer. */
static void ecap_header(pcie_ep *ep, uint32_t off, uint16_t id, uint32_t next) {
    wr(ep->cfg, off, 4, (uint32_t)id | (1u << 16) | (next << 20));
}

static void build_config(pcie_ep *ep) {
    const pcie_ep_params *p = &ep->p;
    wr(ep->cfg, CFG_VENDOR, 2, p->vendor_id);
    wr(ep->cfg, CFG_VENDOR + 2, 2, p->device_id);
    wr(ep->wmask, CFG_COMMAND, 2, CMD_MEMORY | CMD_BUS_MASTER);
    wr(ep->cfg, CFG_STATUS, 2, STATUS_CAP_LIST);
    wr(ep->cfg, CFG_REVISION, 4, p->revision | (p->class_code & 0xFFFFFFu) << 8);
    ep->cfg[CFG_HEADER_TYPE] = 0;
    for (unsigned i = 0; i < PCIE_EP_BARS; i++)
        if (p->bar_size[i])
            /* Sizing needs no special case: the address bits below the size do not take writes. */
            wr(ep->wmask, CFG_BAR0 + 4 * i, 4, ~(p->bar_size[i] - 1u) & ~0xFu);
    ep->cfg[CFG_CAP_PTR] = PCIE_EP_CAP_PCIE;

    /* PCI Express capability, version 2, an endpoint; Device Control takes writes, the rest is minimal. */
    wr(ep->cfg, PCIE_EP_CAP_PCIE, 2, 0x10);
    wr(ep->cfg, PCIE_EP_CAP_PCIE + 2, 2, 0x0002);
    wr(ep->wmask, PCIE_EP_CAP_PCIE + 8, 2, 0x7CFF);
    ep->cfg[0x3D] = 0; /* no INTx: the function signals with MSI-X */

    uint32_t chain[3], n = 0;
    uint16_t ids[3];
    if (p->ats)
        ids[n] = 0x000F, chain[n++] = PCIE_EP_ECAP_ATS;
    if (p->pri)
        ids[n] = 0x0013, chain[n++] = PCIE_EP_ECAP_PRI;
    if (p->pasid)
        ids[n] = 0x001B, chain[n++] = PCIE_EP_ECAP_PASID;
    /* The list must start at 0x100: without ATS a null header there points to the first capability. */
    if (n && chain[0] != 0x100u)
        wr(ep->cfg, 0x100u, 4, chain[0] << 20);
    for (uint32_t i = 0; i < n; i++)
        ecap_header(ep, chain[i], ids[i], i + 1 < n ? chain[i + 1] : 0);
    if (p->ats) {
        wr(ep->cfg, PCIE_EP_ECAP_ATS + 4, 2,
           (p->inv_queue_depth & 0x1Fu) | 1u << 5 | (uint32_t)p->global_inv << 6);
        wr(ep->wmask, PCIE_EP_ECAP_ATS + 6, 2, ATS_CTRL_ENABLE | 0x1F);
    }
    if (p->pri) {
        wr(ep->wmask, PCIE_EP_ECAP_PRI + 4, 2, PRI_CTRL_ENABLE);
        wr(ep->w1c, PCIE_EP_ECAP_PRI + 6, 2, PRI_STATUS_RF | PRI_STATUS_UPRGI);
        wr(ep->cfg, PCIE_EP_ECAP_PRI + 6, 2, p->prg_resp_pasid_required ? PRI_STATUS_PASID : 0);
        wr(ep->cfg, PCIE_EP_ECAP_PRI + 8, 4, p->pri_capacity);
        wr(ep->wmask, PCIE_EP_ECAP_PRI + 0xC, 4, 0xFFFFFFFFu);
    }
    if (p->pasid) {
        wr(ep->cfg, PCIE_EP_ECAP_PASID + 4, 2,
           (uint32_t)p->exec_supported << 1 | (uint32_t)p->priv_supported << 2 |
               (p->pasid_width & 0x1Fu) << 8);
        wr(ep->wmask, PCIE_EP_ECAP_PASID + 6, 2,
           PASID_CTRL_ENABLE | (uint32_t)p->exec_supported << 1 | (uint32_t)p->priv_supported << 2);
    }
}

pcie_ep *pcie_ep_create(const pcie_ep_params *params, const pcie_ep_host_ops *ops, void *ctx) {
    for (unsigned i = 0; i < PCIE_EP_BARS; i++)
        if (params->bar_size[i] && (!is_pow2(params->bar_size[i]) || params->bar_size[i] < 16))
            return NULL;
    if (params->inv_queue_depth > 32 || params->pasid_width > 20)
        return NULL;
    pcie_ep *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return NULL;
    ep->p = *params;
    if (ep->p.inv_queue_depth == 32)
        ep->p.inv_queue_depth = 0; /* the register's encoding of 32 */
    ep->ops = *ops;
    ep->ctx = ctx;
    vp_setassoc_config cfg = {.sets = params->ats ? params->atc_sets : 0,
                              .ways = params->atc_ways,
                              .policy = VP_SETASSOC_LRU,
                              .seed = 1,
                              .entry_size = sizeof(atc_entry),
                              .indexes = 2};
    if (!vp_setassoc_init(&ep->atc, &cfg)) {
        free(ep);
        return NULL;
    }
    ep->next_id = 1;
    build_config(ep);
    return ep;
}

void pcie_ep_destroy(pcie_ep *ep) {
    if (!ep)
        return;
    vp_setassoc_free(&ep->atc);
    free(ep);
}

static bool cfg_access_ok(uint32_t offset, unsigned size) {
    return (size == 1 || size == 2 || size == 4) && offset % size == 0 && offset + size <= PCIE_EP_CFG_SIZE;
}

static bool pri_stopped(const pcie_ep *ep) {
    return !(cfg16(ep, PCIE_EP_ECAP_PRI + 4) & PRI_CTRL_ENABLE) && ep->pri_outstanding == 0;
}

bool pcie_ep_cfg_read(pcie_ep *ep, uint32_t offset, unsigned size, uint32_t *value) {
    if (!cfg_access_ok(offset, size))
        return false;
    if (ep->p.pri) {
        /* Stopped is derived, not stored: it follows Enable and the outstanding requests. */
        uint16_t st = cfg16(ep, PCIE_EP_ECAP_PRI + 6) & (uint16_t)~PRI_STATUS_STOPPED;
        wr(ep->cfg, PCIE_EP_ECAP_PRI + 6, 2, st | (pri_stopped(ep) ? PRI_STATUS_STOPPED : 0));
    }
    *value = rd(ep->cfg, offset, size);
    return true;
}

static bool ats_enabled(const pcie_ep *ep) {
    return ep->p.ats && (cfg16(ep, PCIE_EP_ECAP_ATS + 6) & ATS_CTRL_ENABLE);
}
static bool pasid_enabled(const pcie_ep *ep) {
    return ep->p.pasid && (cfg16(ep, PCIE_EP_ECAP_PASID + 6) & PASID_CTRL_ENABLE);
}
static bool bus_master(const pcie_ep *ep) {
    return cfg16(ep, CFG_COMMAND) & CMD_BUS_MASTER;
}

bool pcie_ep_cfg_write(pcie_ep *ep, uint32_t offset, unsigned size, uint32_t value) {
    if (!cfg_access_ok(offset, size))
        return false;
    bool ats_was = ats_enabled(ep);
    for (unsigned i = 0; i < size; i++) {
        uint32_t o = offset + i;
        uint8_t v = (uint8_t)(value >> (8 * i));
        ep->cfg[o] = (uint8_t)((ep->cfg[o] & ~ep->wmask[o] & ~(v & ep->w1c[o])) | (v & ep->wmask[o]));
    }
    /* Reset is an action, not state: it reads as 0 and only acts while the interface is disabled. */
    if (ep->p.pri && offset <= PCIE_EP_ECAP_PRI + 4 && offset + size > PCIE_EP_ECAP_PRI + 4 &&
        (value >> (8 * (PCIE_EP_ECAP_PRI + 4 - offset)) & PRI_CTRL_RESET) &&
        !(cfg16(ep, PCIE_EP_ECAP_PRI + 4) & PRI_CTRL_ENABLE)) {
        ep->pri_outstanding = 0;
        memset(ep->prg, 0, sizeof(ep->prg));
        wr(ep->cfg, PCIE_EP_ECAP_PRI + 6, 2, cfg16(ep, PCIE_EP_ECAP_PRI + 6) & PRI_STATUS_PASID);
    }
    /* Translations cached while enabled must not survive a disable: software re-enabling expects an empty
     * ATC. In-flight requests keep the invalidations they owe, which only need the entry ids. */
    if (ats_was && !ats_enabled(ep)) {
        vp_setassoc_clear(&ep->atc);
        ep->atc_sizes = 0;
    }
    return true;
}

/* ---- ATC ---- */

static uint64_t atc_key(uint64_t addr, unsigned size_log2) {
    uint64_t page = size_log2 >= 64 ? 0 : addr >> size_log2;
    return page * 0x9E3779B97F4A7C15ull ^ size_log2;
}

static bool entry_matches(const atc_entry *e, const pcie_ep_access *a) {
    uint64_t mask = e->size_log2 >= 64 ? 0 : ~((UINT64_C(1) << e->size_log2) - 1);
    if ((a->addr & mask) != e->ubase || e->priv != a->priv)
        return false;
    if (!a->pasid_valid)
        return !e->pasid_valid;
    return e->pasid_valid && (e->pasid == a->pasid || e->global);
}

static uint32_t atc_lookup(pcie_ep *ep, const pcie_ep_access *a) {
    if (!vp_setassoc_enabled(&ep->atc))
        return VP_SETASSOC_NONE;
    vp_setassoc_note_lookup(&ep->atc);
    for (unsigned sz = 12; sz < 64; sz++) {
        if (!(ep->atc_sizes >> sz & 1))
            continue;
        uint32_t set = vp_setassoc_set_first(&ep->atc, atc_key(a->addr, sz));
        for (uint32_t s = set; s < set + ep->atc.ways; s++) {
            atc_entry *e = vp_setassoc_entry(&ep->atc, s);
            if (vp_setassoc_valid(&ep->atc, s) && e->size_log2 == sz && entry_matches(e, a)) {
                vp_setassoc_hit(&ep->atc, s);
                return s;
            }
        }
    }
    vp_setassoc_note_miss(&ep->atc);
    return VP_SETASSOC_NONE;
}

uint8_t pcie_ep_s_size_log2(uint64_t addr) {
    for (unsigned n = 12; n < 64; n++)
        if (!(addr >> n & 1))
            return (uint8_t)(n + 1);
    return 64;
}

static void atc_fill(pcie_ep *ep, const pcie_ep_access *a, const pcie_ep_ats_cpl *c) {
    unsigned sz = c->size_log2 ? c->size_log2 : c->s ? pcie_ep_s_size_log2(c->addr) : 12;
    if (sz < 12)
        sz = 12;
    if (sz > 63)
        sz = 63; /* a whole address space is beyond any real translation; keeps the size bitmap 64 bits */
    uint64_t mask = ~((UINT64_C(1) << sz) - 1);
    atc_entry e = {.ubase = a->addr & mask,
                   .tbase = c->addr & mask,
                   .size_log2 = (uint8_t)sz,
                   .pasid_valid = a->pasid_valid,
                   .pasid = a->pasid_valid ? a->pasid : 0,
                   .r = c->read,
                   .w = c->write,
                   .x = c->exec,
                   .priv = a->priv,
                   /* Global only means something among PASIDs. */
                   .global = a->pasid_valid && c->global,
                   .u = c->untranslated_only,
                   .id = ep->next_id++};
    /* A refill of the same translation replaces the old entry rather than shadowing it. */
    pcie_ep_access probe = *a;
    probe.addr = e.ubase;
    uint32_t old = atc_lookup(ep, &probe);
    uint32_t slot;
    if (old != VP_SETASSOC_NONE && ((atc_entry *)vp_setassoc_entry(&ep->atc, old))->size_log2 == sz &&
        ((atc_entry *)vp_setassoc_entry(&ep->atc, old))->uses == 0)
        slot = old;
    else
        slot = vp_setassoc_victim(&ep->atc, vp_setassoc_set_first(&ep->atc, atc_key(e.ubase, sz)));
    *(atc_entry *)vp_setassoc_entry(&ep->atc, slot) = e;
    uint64_t groups[2] = {e.pasid_valid ? (uint64_t)e.pasid + 1 : 0, e.global};
    vp_setassoc_insert(&ep->atc, slot, groups);
    ep->atc_sizes |= UINT64_C(1) << sz;
}

/* ---- requests ---- */

static int alloc_tag(pcie_ep *ep) {
    for (unsigned i = 0; i < PCIE_EP_MAX_INFLIGHT; i++)
        if (!ep->req[i].busy)
            return (int)i;
    return -1;
}

static void issue(pcie_ep *ep, uint32_t tag, pcie_ep_at at, const pcie_ep_access *a, uint64_t addr) {
    pcie_ep_mem_req r = {.at = at,
                         .addr = addr,
                         .len = at == PCIE_EP_AT_TRANSLATION_REQ ? 8 : a->len,
                         .write = at == PCIE_EP_AT_TRANSLATION_REQ ? false : a->write,
                         .no_write = at == PCIE_EP_AT_TRANSLATION_REQ && !a->write,
                         .pasid_valid = a->pasid_valid,
                         .pasid = a->pasid,
                         .exec = a->pasid_valid && a->exec,
                         .priv = a->pasid_valid && a->priv};
    ep->ops.mem_request(ep->ctx, tag, &r);
}

static pcie_ep_result precheck(pcie_ep *ep, const pcie_ep_access *a, int *tag) {
    if (!bus_master(ep) || (a->pasid_valid && !pasid_enabled(ep)))
        return PCIE_EP_DENIED;
    if (a->len == 0 || (a->addr & 0xFFF) + a->len > 0x1000)
        return PCIE_EP_DENIED;
    *tag = alloc_tag(ep);
    return *tag < 0 ? PCIE_EP_BUSY : PCIE_EP_ISSUED_UNTRANSLATED;
}

pcie_ep_result pcie_ep_dma(pcie_ep *ep, const pcie_ep_access *a, uint32_t *tag) {
    int t;
    pcie_ep_result r = precheck(ep, a, &t);
    if (r != PCIE_EP_ISSUED_UNTRANSLATED)
        return r;
    inflight *q = &ep->req[t];
    if (ats_enabled(ep)) {
        uint32_t s = atc_lookup(ep, a);
        if (s == VP_SETASSOC_NONE)
            return PCIE_EP_ATC_MISS;
        atc_entry *e = vp_setassoc_entry(&ep->atc, s);
        if (!e->u) {
            if (a->write ? !e->w : !e->r || (a->exec && !e->x))
                return PCIE_EP_DENIED;
            *q = (inflight){.busy = true, .at = PCIE_EP_AT_TRANSLATED, .access = *a, .entry = *e, .slot = s};
            e->uses++;
            *tag = (uint32_t)t;
            issue(ep, (uint32_t)t, PCIE_EP_AT_TRANSLATED, a, e->tbase + (a->addr - e->ubase));
            return PCIE_EP_ISSUED_TRANSLATED;
        }
    }
    *q = (inflight){.busy = true, .at = PCIE_EP_AT_UNTRANSLATED, .access = *a};
    *tag = (uint32_t)t;
    issue(ep, (uint32_t)t, PCIE_EP_AT_UNTRANSLATED, a, a->addr);
    return PCIE_EP_ISSUED_UNTRANSLATED;
}

pcie_ep_result pcie_ep_translate(pcie_ep *ep, const pcie_ep_access *a, uint32_t *tag) {
    if (!ats_enabled(ep))
        return PCIE_EP_DENIED;
    int t;
    pcie_ep_result r = precheck(ep, a, &t);
    if (r != PCIE_EP_ISSUED_UNTRANSLATED)
        return r;
    ep->req[t] = (inflight){.busy = true, .at = PCIE_EP_AT_TRANSLATION_REQ, .access = *a};
    *tag = (uint32_t)t;
    issue(ep, (uint32_t)t, PCIE_EP_AT_TRANSLATION_REQ, a, a->addr & ~UINT64_C(0xFFF));
    return PCIE_EP_ISSUED_UNTRANSLATED;
}

static void send_completions(pcie_ep *ep) {
    uint32_t v = ep->inv_ready;
    if (!v)
        return;
    ep->inv_ready = 0;
    ep->inv_pending &= ~v;
    pcie_ep_msg m = {.kind = PCIE_EP_MSG_INV_COMPLETION, .itag_vector = v, .completion_count = 1};
    ep->ops.send_msg(ep->ctx, &m);
}

static void send_completions_cb(void *arg) {
    send_completions(arg);
}

static void itags_drained(pcie_ep *ep, uint32_t itags) {
    ep->inv_ready |= itags;
    if (ep->p.inv_latency_ps && ep->ops.schedule)
        ep->ops.schedule(ep->ctx, ep->p.inv_latency_ps, send_completions_cb, ep);
    else
        send_completions(ep);
}

void pcie_ep_mem_done(pcie_ep *ep, uint32_t tag) {
    if (tag >= PCIE_EP_MAX_INFLIGHT || !ep->req[tag].busy)
        return;
    inflight *q = &ep->req[tag];
    q->busy = false;
    if (q->at != PCIE_EP_AT_TRANSLATED)
        return;
    if (vp_setassoc_enabled(&ep->atc) && vp_setassoc_valid(&ep->atc, q->slot)) {
        atc_entry *e = vp_setassoc_entry(&ep->atc, q->slot);
        if (e->id == q->entry.id && e->uses)
            e->uses--;
    }
    uint32_t drained = 0;
    for (unsigned i = 0; i < 32; i++)
        if (q->waiting_itags >> i & 1 && --ep->inv_waits[i] == 0)
            drained |= 1u << i;
    if (drained)
        itags_drained(ep, drained);
}

bool pcie_ep_translation_done(pcie_ep *ep, uint32_t tag, const pcie_ep_ats_cpl *cpl) {
    if (tag >= PCIE_EP_MAX_INFLIGHT || !ep->req[tag].busy || ep->req[tag].at != PCIE_EP_AT_TRANSLATION_REQ)
        return false;
    ep->req[tag].busy = false;
    if (cpl->status != 0 || !(cpl->read || cpl->write) || !ats_enabled(ep) || !vp_setassoc_enabled(&ep->atc))
        return false;
    atc_fill(ep, &ep->req[tag].access, cpl);
    return true;
}

/* ---- invalidation ---- */

typedef struct inv_match {
    uint64_t base, last;
    bool by_pasid; /* only entries of this PASID (group keys may collide, so it is compared exactly) */
    uint32_t pasid;
    bool global_only;
} inv_match;

static bool inv_match_entry(const void *entry, const void *arg) {
    const atc_entry *e = entry;
    const inv_match *m = arg;
    uint64_t elast = e->ubase + (e->size_log2 >= 64 ? UINT64_MAX : (UINT64_C(1) << e->size_log2) - 1);
    if (e->ubase > m->last || elast < m->base)
        return false;
    if (m->by_pasid && !(e->pasid_valid && e->pasid == m->pasid))
        return false;
    if (m->global_only && !e->global)
        return false;
    return true;
}
static unsigned popcount32(uint32_t v) {
    unsigned n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

pcie_ep_inv_result pcie_ep_ats_invalidate(pcie_ep *ep, const pcie_ep_inv_req *req) {
    if (req->itag > 31 || (ep->inv_pending >> req->itag & 1))
        return PCIE_EP_INV_BAD_ITAG;
    unsigned depth = ep->p.inv_queue_depth ? ep->p.inv_queue_depth : 32;
    if (popcount32(ep->inv_pending) >= depth)
        return PCIE_EP_INV_QUEUE_FULL;
    ep->inv_pending |= 1u << req->itag;
    ep->inv_waits[req->itag] = 0;
    unsigned sz = req->size_log2 < 12 ? 12 : req->size_log2;
    uint64_t size_mask = sz >= 64 ? UINT64_MAX : (UINT64_C(1) << sz) - 1;
    inv_match m = {
        .base = req->addr & ~size_mask, .last = (req->addr & ~size_mask) + size_mask, .pasid = req->pasid};
    if (vp_setassoc_enabled(&ep->atc)) {
        if (!req->pasid_valid) {
            /* Without a PASID prefix the range goes for every entry, whatever its PASID. */
            vp_setassoc_remove_if(&ep->atc, inv_match_entry, &m);
        } else {
            m.by_pasid = true;
            vp_setassoc_remove_group_if(&ep->atc, 0, (uint64_t)req->pasid + 1, inv_match_entry, &m);
            /* GI reaches Global entries of every PASID, and only when the function says it supports it. */
            if (req->global && ep->p.global_inv) {
                m.by_pasid = false;
                m.global_only = true;
                vp_setassoc_remove_group_if(&ep->atc, 1, 1, inv_match_entry, &m);
            }
        }
    }
    /* Every translated request in flight through a translation the invalidation covers holds it back, also
     * when eviction has dropped that entry already: the request still uses the old translation. */
    for (unsigned i = 0; i < PCIE_EP_MAX_INFLIGHT; i++) {
        inflight *q = &ep->req[i];
        if (!q->busy || q->at != PCIE_EP_AT_TRANSLATED)
            continue;
        m.by_pasid = req->pasid_valid;
        m.global_only = false;
        bool hit = inv_match_entry(&q->entry, &m);
        if (!hit && req->pasid_valid && req->global && ep->p.global_inv) {
            m.by_pasid = false;
            m.global_only = true;
            hit = inv_match_entry(&q->entry, &m);
        }
        if (hit) {
            q->waiting_itags |= 1u << req->itag;
            ep->inv_waits[req->itag]++;
        }
    }
    if (ep->inv_waits[req->itag] == 0)
        itags_drained(ep, 1u << req->itag);
    return PCIE_EP_INV_ACCEPTED;
}

unsigned pcie_ep_inv_pending(const pcie_ep *ep) {
    return popcount32(ep->inv_pending);
}

void pcie_ep_atc_stats(const pcie_ep *ep, pcie_ep_atc_info *info) {
    info->entries = vp_setassoc_count(&ep->atc);
    info->hits = ep->atc.stats.hits;
    info->misses = ep->atc.stats.misses;
    info->invalidated = ep->atc.stats.invalidated;
}

/* ---- PRI ---- */

static bool pri_enabled(const pcie_ep *ep) {
    return ep->p.pri && (cfg16(ep, PCIE_EP_ECAP_PRI + 4) & PRI_CTRL_ENABLE);
}

bool pcie_ep_page_request(pcie_ep *ep, const pcie_ep_access *a, uint16_t prg_index, bool last) {
    if (!pri_enabled(ep) || !bus_master(ep) || prg_index >= PCIE_EP_PRG_INDEXES ||
        (cfg16(ep, PCIE_EP_ECAP_PRI + 6) & PRI_STATUS_RF) || (a->pasid_valid && !pasid_enabled(ep)))
        return false;
    if (ep->pri_outstanding >= rd(ep->cfg, PCIE_EP_ECAP_PRI + 0xC, 4))
        return false;
    ep->pri_outstanding++;
    prg_state *g = &ep->prg[prg_index];
    g->outstanding++;
    g->pasid_valid = a->pasid_valid;
    g->pasid = a->pasid;
    pcie_ep_msg m = {.kind = PCIE_EP_MSG_PAGE_REQUEST,
                     .pasid_valid = a->pasid_valid,
                     .pasid = a->pasid,
                     .exec = a->pasid_valid && a->exec,
                     .priv = a->pasid_valid && a->priv,
                     .addr = a->addr & ~UINT64_C(0xFFF),
                     .prg_index = prg_index,
                     .last = last,
                     /* R = W = 0 with L = 1 would read as a Stop Marker; a write request carries W. */
                     .read = !a->write,
                     .write = a->write};
    ep->ops.send_msg(ep->ctx, &m);
    return true;
}

void pcie_ep_prg_response(pcie_ep *ep, uint16_t prg_index, uint8_t code) {
    uint16_t st = cfg16(ep, PCIE_EP_ECAP_PRI + 6);
    if (prg_index >= PCIE_EP_PRG_INDEXES || ep->prg[prg_index].outstanding == 0) {
        wr(ep->cfg, PCIE_EP_ECAP_PRI + 6, 2, st | PRI_STATUS_UPRGI);
        return;
    }
    ep->pri_outstanding -= ep->prg[prg_index].outstanding;
    ep->prg[prg_index].outstanding = 0;
    if (code == 0xF)
        wr(ep->cfg, PCIE_EP_ECAP_PRI + 6, 2, st | PRI_STATUS_RF);
}

bool pcie_ep_stop_pasid(pcie_ep *ep, uint32_t pasid) {
    bool outstanding = false;
    for (unsigned i = 0; i < PCIE_EP_PRG_INDEXES; i++)
        if (ep->prg[i].outstanding && ep->prg[i].pasid_valid && ep->prg[i].pasid == pasid)
            outstanding = true;
    if (!outstanding)
        return true;
    if (!ep->p.stop_marker)
        return false;
    pcie_ep_msg m = {.kind = PCIE_EP_MSG_PAGE_REQUEST, .pasid_valid = true, .pasid = pasid, .last = true};
    ep->ops.send_msg(ep->ctx, &m);
    /* Responses that still arrive for these groups are dropped; their credits go back now. */
    for (unsigned i = 0; i < PCIE_EP_PRG_INDEXES; i++)
        if (ep->prg[i].outstanding && ep->prg[i].pasid_valid && ep->prg[i].pasid == pasid) {
            ep->pri_outstanding -= ep->prg[i].outstanding;
            ep->prg[i].outstanding = 0;
        }
    return true;
}

bool pcie_ep_raise_msix(pcie_ep *ep, uint16_t vector) {
    if (!bus_master(ep) || !ep->ops.raise_msix)
        return false;
    ep->ops.raise_msix(ep->ctx, vector);
    return true;
}
