#include "pcie_ep.h"

#include <stdarg.h>
#include <stdio.h>
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
    CFG_INT_LINE = 0x3C,
    CFG_INT_PIN = 0x3D,
    CMD_MEMORY = 0x0002,
    CMD_BUS_MASTER = 0x0004,
    CMD_INTX_DISABLE = 0x0400,
    STATUS_INTX = 0x0008,
    STATUS_CAP_LIST = 0x0010,
    BAR_64BIT = 0x4,
    BAR_PREFETCHABLE = 0x8,
    MSI_CTRL = PCIE_EP_CAP_MSI + 2,
    MSI_ADDR_LO = PCIE_EP_CAP_MSI + 4,
    MSI_ADDR_HI = PCIE_EP_CAP_MSI + 8,
    MSI_DATA = PCIE_EP_CAP_MSI + 0xC,
    MSI_CTRL_ENABLE = 0x0001,
    MSI_CTRL_64BIT = 0x0080,
    MSIX_CTRL = PCIE_EP_CAP_MSIX + 2,
    MSIX_TABLE = PCIE_EP_CAP_MSIX + 4,
    MSIX_PBA = PCIE_EP_CAP_MSIX + 8,
    MSIX_CTRL_FUNCTION_MASK = 0x4000,
    MSIX_CTRL_ENABLE = 0x8000,
    MSIX_ENTRY_MASKED = 0x1,
    ATS_CTRL = PCIE_EP_ECAP_ATS + 6,
    ATS_CTRL_ENABLE = 0x8000,
    PRI_CTRL = PCIE_EP_ECAP_PRI + 4,
    PRI_STATUS = PCIE_EP_ECAP_PRI + 6,
    PRI_ALLOCATION = PCIE_EP_ECAP_PRI + 0xC,
    PRI_CTRL_ENABLE = 0x0001,
    PRI_CTRL_RESET = 0x0002,
    PRI_STATUS_RF = 0x0001,
    PRI_STATUS_UPRGI = 0x0002,
    PRI_STATUS_STOPPED = 0x0100,
    PRI_STATUS_PASID = 0x8000,
    PASID_CTRL = PCIE_EP_ECAP_PASID + 6,
    PASID_CTRL_ENABLE = 0x0001,
    PASID_CTRL_EXEC = 0x0002,
    PASID_CTRL_PRIV = 0x0004,
    PRG_RESPONSE_FAILURE = 0xF,
};

#define MSIX_MAX_VECTORS 2048u
#define BAR32_MAX_SIZE (UINT64_C(1) << 31)

typedef struct atc_entry {
    uint64_t ubase, tbase;
    uint8_t size_log2;
    bool pasid_valid;
    uint32_t pasid;
    bool r, w, x, priv, global, u;
    uint32_t id;   /* names the entry to its in-flight requests, which outlive it once invalidated */
    uint32_t uses; /* translated requests in flight through it */
} atc_entry;

/* The hull of the invalidation ranges that overtook a translation request: its completion must not fill the
 * ATC with a translation inside it, since the invalidation completion does not wait for translation requests.
 */
typedef struct stale_range {
    bool any;
    uint64_t first, last;
} stale_range;

typedef struct inflight {
    bool busy;
    pcie_ep_at at;
    pcie_ep_access access;
    atc_entry entry; /* translated: a copy of the entry it used, which eviction may have dropped since */
    uint32_t slot;
    uint32_t waiting_itags;   /* invalidations that must wait for it */
    stale_range stale;        /* translation request: invalidated in its own scope */
    stale_range stale_global; /* translation request: invalidated for Global entries only (GI) */
} inflight;

typedef struct prg_state {
    uint16_t outstanding; /* page requests of the group sent and not yet answered */
    bool pasid_valid;
    uint32_t pasid;
    bool drop_response; /* its PASID was stopped with a Stop Marker: a late response is ignored */
} prg_state;

struct pcie_ep {
    pcie_ep_params p;
    pcie_ep_host_ops ops;
    void *ctx;
    bool tracing; /* format trace lines at all: off, a trace costs nothing */
    pcie_ep_device_ops dev_ops;
    void *dev;
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

    uint32_t *msix_table; /* per vector: Message Address lo, hi, Message Data, Vector Control */
    uint64_t msix_pba[MSIX_MAX_VECTORS / 64];

    bool intx_requested, intx_asserted;

    pcie_ep_stats st;
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

/* ---- personality checks ---- */

static bool bar_is_64(const pcie_ep_params *p, unsigned i) {
    return p->bar_size[i] && (p->bar_64bit >> i & 1);
}
/* The slot holds the upper half of the 64-bit BAR below it. */
static bool bar_is_upper(const pcie_ep_params *p, unsigned i) {
    return i > 0 && bar_is_64(p, i - 1);
}
static bool bar_implemented(const pcie_ep_params *p, unsigned i) {
    return i < PCIE_EP_BARS && p->bar_size[i] && !bar_is_upper(p, i);
}

static uint32_t msix_table_bytes(uint16_t vectors) {
    return 16u * vectors;
}
static uint32_t msix_pba_bytes(uint16_t vectors) {
    return 8u * ((vectors + 63u) / 64u);
}

static bool fits(uint64_t bar_size, uint32_t offset, uint32_t len) {
    return (uint64_t)offset + len <= bar_size;
}

static bool params_valid(const pcie_ep_params *p) {
    for (unsigned i = 0; i < PCIE_EP_BARS; i++) {
        uint64_t size = p->bar_size[i];
        if (bar_is_upper(p, i)) {
            if (size)
                return false;
            continue;
        }
        if (!size)
            continue;
        if (!is_pow2(size) || size < 16)
            return false;
        if (bar_is_64(p, i) ? i == PCIE_EP_BARS - 1 : size > BAR32_MAX_SIZE)
            return false;
    }
    if (p->msix_vectors) {
        uint16_t n = p->msix_vectors;
        if (n > MSIX_MAX_VECTORS || !bar_implemented(p, p->msix_table_bar) ||
            !bar_implemented(p, p->msix_pba_bar) || p->msix_table_offset % 8 || p->msix_pba_offset % 8 ||
            !fits(p->bar_size[p->msix_table_bar], p->msix_table_offset, msix_table_bytes(n)) ||
            !fits(p->bar_size[p->msix_pba_bar], p->msix_pba_offset, msix_pba_bytes(n)))
            return false;
        if (p->msix_table_bar == p->msix_pba_bar &&
            (uint64_t)p->msix_table_offset < (uint64_t)p->msix_pba_offset + msix_pba_bytes(n) &&
            (uint64_t)p->msix_pba_offset < (uint64_t)p->msix_table_offset + msix_table_bytes(n))
            return false;
    }
    return p->intx_pin <= 4 && p->inv_queue_depth <= 32 && p->pasid_width <= 20;
}

/* ---- configuration space ---- */

/* Extended capability header: ID, version 1, next pointer. */
static void ecap_header(pcie_ep *ep, uint32_t off, uint16_t id, uint32_t next) {
    wr(ep->cfg, off, 4, (uint32_t)id | (1u << 16) | (next << 20));
}

static void build_bars(pcie_ep *ep) {
    const pcie_ep_params *p = &ep->p;
    for (unsigned i = 0; i < PCIE_EP_BARS; i++) {
        if (!bar_implemented(p, i))
            continue;
        uint32_t off = CFG_BAR0 + 4 * i;
        uint64_t size_mask = ~(p->bar_size[i] - 1u);
        wr(ep->cfg, off, 4,
           (bar_is_64(p, i) ? BAR_64BIT : 0u) | ((p->bar_prefetchable >> i & 1) ? BAR_PREFETCHABLE : 0u));
        /* Sizing needs no special case: the address bits below the size do not take writes. */
        wr(ep->wmask, off, 4, (uint32_t)size_mask & ~0xFu);
        if (bar_is_64(p, i))
            wr(ep->wmask, off + 4, 4, (uint32_t)(size_mask >> 32));
    }
}

static void build_legacy_caps(pcie_ep *ep) {
    const pcie_ep_params *p = &ep->p;
    ep->cfg[CFG_CAP_PTR] = PCIE_EP_CAP_PCIE;
    uint32_t chain[3], n = 0;
    uint8_t ids[3];
    ids[n] = 0x10, chain[n++] = PCIE_EP_CAP_PCIE;
    if (p->msi)
        ids[n] = 0x05, chain[n++] = PCIE_EP_CAP_MSI;
    if (p->msix_vectors)
        ids[n] = 0x11, chain[n++] = PCIE_EP_CAP_MSIX;
    for (uint32_t i = 0; i < n; i++) {
        ep->cfg[chain[i]] = ids[i];
        ep->cfg[chain[i] + 1] = (uint8_t)(i + 1 < n ? chain[i + 1] : 0);
    }

    /* PCI Express capability, version 2, an endpoint; Device Control takes writes, the rest is minimal. */
    wr(ep->cfg, PCIE_EP_CAP_PCIE + 2, 2, 0x0002);
    wr(ep->wmask, PCIE_EP_CAP_PCIE + 8, 2, 0x7CFF);

    if (p->msi) {
        /* One vector (Multiple Message Capable 0, so Multiple Message Enable stays 0), 64-bit capable. */
        wr(ep->cfg, MSI_CTRL, 2, MSI_CTRL_64BIT);
        wr(ep->wmask, MSI_CTRL, 2, MSI_CTRL_ENABLE);
        wr(ep->wmask, MSI_ADDR_LO, 4, 0xFFFFFFFCu);
        wr(ep->wmask, MSI_ADDR_HI, 4, 0xFFFFFFFFu);
        wr(ep->wmask, MSI_DATA, 2, 0xFFFF);
    }
    if (p->msix_vectors) {
        wr(ep->cfg, MSIX_CTRL, 2, (uint32_t)(p->msix_vectors - 1u) & 0x7FFu);
        wr(ep->wmask, MSIX_CTRL, 2, MSIX_CTRL_FUNCTION_MASK | MSIX_CTRL_ENABLE);
        wr(ep->cfg, MSIX_TABLE, 4, p->msix_table_offset | p->msix_table_bar);
        wr(ep->cfg, MSIX_PBA, 4, p->msix_pba_offset | p->msix_pba_bar);
    }
}

static void build_ext_caps(pcie_ep *ep) {
    const pcie_ep_params *p = &ep->p;
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
        wr(ep->wmask, ATS_CTRL, 2, ATS_CTRL_ENABLE | 0x1F);
    }
    if (p->pri) {
        wr(ep->wmask, PRI_CTRL, 2, PRI_CTRL_ENABLE);
        wr(ep->w1c, PRI_STATUS, 2, PRI_STATUS_RF | PRI_STATUS_UPRGI);
        wr(ep->cfg, PRI_STATUS, 2, p->prg_resp_pasid_required ? PRI_STATUS_PASID : 0);
        wr(ep->cfg, PCIE_EP_ECAP_PRI + 8, 4, p->pri_capacity);
        wr(ep->wmask, PRI_ALLOCATION, 4, 0xFFFFFFFFu);
    }
    if (p->pasid) {
        wr(ep->cfg, PCIE_EP_ECAP_PASID + 4, 2,
           (uint32_t)p->exec_supported << 1 | (uint32_t)p->priv_supported << 2 |
               (p->pasid_width & 0x1Fu) << 8);
        wr(ep->wmask, PASID_CTRL, 2,
           PASID_CTRL_ENABLE | (p->exec_supported ? PASID_CTRL_EXEC : 0u) |
               (p->priv_supported ? PASID_CTRL_PRIV : 0u));
    }
}

static void build_config(pcie_ep *ep) {
    const pcie_ep_params *p = &ep->p;
    wr(ep->cfg, CFG_VENDOR, 2, p->vendor_id);
    wr(ep->cfg, CFG_VENDOR + 2, 2, p->device_id);
    wr(ep->wmask, CFG_COMMAND, 2, CMD_MEMORY | CMD_BUS_MASTER | (p->intx_pin ? CMD_INTX_DISABLE : 0u));
    wr(ep->cfg, CFG_STATUS, 2, STATUS_CAP_LIST);
    wr(ep->cfg, CFG_REVISION, 4, p->revision | (p->class_code & 0xFFFFFFu) << 8);
    ep->cfg[CFG_HEADER_TYPE] = 0;
    build_bars(ep);
    ep->cfg[CFG_INT_PIN] = p->intx_pin;
    if (p->intx_pin)
        ep->wmask[CFG_INT_LINE] = 0xFF; /* software's note of the routing; the function does not use it */
    build_legacy_caps(ep);
    build_ext_caps(ep);
}

void pcie_ep_pri_outstanding(const pcie_ep *ep, uint32_t *requests, uint32_t *groups) {
    uint32_t n = 0;
    for (unsigned i = 0; i < PCIE_EP_PRG_INDEXES; i++)
        n += ep->prg[i].outstanding != 0;
    *requests = ep->pri_outstanding;
    *groups = n;
}

bool pcie_ep_tracing(const pcie_ep *ep) {
    return ep->tracing;
}

void pcie_ep_set_tracing(pcie_ep *ep, bool on) {
    ep->tracing = on && ep->ops.trace != NULL;
}

void pcie_ep_tracef(pcie_ep *ep, const char *kind, const char *fmt, ...) {
    if (!ep->tracing)
        return;
    char fields[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof(fields), fmt, ap);
    va_end(ap);
    ep->ops.trace(ep->ctx, kind, fields);
}

pcie_ep *pcie_ep_create(const pcie_ep_params *params, const pcie_ep_host_ops *ops, void *ctx) {
    if (!params || !ops || !params_valid(params))
        return NULL;
    pcie_ep *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return NULL;
    ep->p = *params;
    if (ep->p.inv_queue_depth == 32)
        ep->p.inv_queue_depth = 0; /* the register's encoding of 32 */
    ep->ops = *ops;
    ep->tracing = ops->trace != NULL;
    ep->ctx = ctx;
    if (params->msix_vectors) {
        ep->msix_table = calloc((size_t)params->msix_vectors * 4u, sizeof(uint32_t));
        if (!ep->msix_table) {
            free(ep);
            return NULL;
        }
        /* Vectors come out of reset masked, so nothing is sent before software programs the entry. */
        for (uint32_t v = 0; v < params->msix_vectors; v++)
            ep->msix_table[4 * v + 3] = MSIX_ENTRY_MASKED;
    }
    vp_setassoc_config cfg = {.sets = params->ats ? params->atc_sets : 0,
                              .ways = params->atc_ways,
                              .policy = VP_SETASSOC_LRU,
                              .seed = 1,
                              .entry_size = sizeof(atc_entry),
                              .indexes = 2};
    if (!vp_setassoc_init(&ep->atc, &cfg)) {
        free(ep->msix_table);
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
    free(ep->msix_table);
    free(ep);
}

void pcie_ep_set_device(pcie_ep *ep, const pcie_ep_device_ops *ops, void *dev) {
    if (ops)
        ep->dev_ops = *ops;
    else
        memset(&ep->dev_ops, 0, sizeof(ep->dev_ops));
    ep->dev = dev;
}

static bool cfg_access_ok(uint32_t offset, unsigned size) {
    return (size == 1 || size == 2 || size == 4) && offset % size == 0 && offset + size <= PCIE_EP_CFG_SIZE;
}

static bool ats_enabled(const pcie_ep *ep) {
    return ep->p.ats && (cfg16(ep, ATS_CTRL) & ATS_CTRL_ENABLE);
}
static bool pasid_enabled(const pcie_ep *ep) {
    return ep->p.pasid && (cfg16(ep, PASID_CTRL) & PASID_CTRL_ENABLE);
}
static bool pri_enabled(const pcie_ep *ep) {
    return ep->p.pri && (cfg16(ep, PRI_CTRL) & PRI_CTRL_ENABLE);
}
static bool bus_master(const pcie_ep *ep) {
    return cfg16(ep, CFG_COMMAND) & CMD_BUS_MASTER;
}
static bool memory_enabled(const pcie_ep *ep) {
    return cfg16(ep, CFG_COMMAND) & CMD_MEMORY;
}
static bool pri_stopped(const pcie_ep *ep) {
    return !(cfg16(ep, PRI_CTRL) & PRI_CTRL_ENABLE) && ep->pri_outstanding == 0;
}

bool pcie_ep_memory_enabled(const pcie_ep *ep) {
    return memory_enabled(ep);
}
bool pcie_ep_bus_master_enabled(const pcie_ep *ep) {
    return bus_master(ep);
}
bool pcie_ep_ats_enabled(const pcie_ep *ep) {
    return ats_enabled(ep);
}
bool pcie_ep_pri_enabled(const pcie_ep *ep) {
    return pri_enabled(ep);
}
bool pcie_ep_pasid_enabled(const pcie_ep *ep) {
    return pasid_enabled(ep);
}
uint64_t pcie_ep_ats_stu_bytes(const pcie_ep *ep) {
    return UINT64_C(4096) << (cfg16(ep, ATS_CTRL) & 0x1F);
}

bool pcie_ep_cfg_read(pcie_ep *ep, uint32_t offset, unsigned size, uint32_t *value) {
    if (!cfg_access_ok(offset, size) || !value)
        return false;
    if (ep->p.pri) {
        /* Stopped is derived, not stored: it follows Enable and the outstanding requests. */
        uint16_t st = cfg16(ep, PRI_STATUS) & (uint16_t)~PRI_STATUS_STOPPED;
        wr(ep->cfg, PRI_STATUS, 2, st | (pri_stopped(ep) ? PRI_STATUS_STOPPED : 0));
    }
    *value = rd(ep->cfg, offset, size);
    return true;
}

/* ---- INTx, MSI, MSI-X ---- */

static void intx_update(pcie_ep *ep) {
    bool level = ep->intx_requested && !(cfg16(ep, CFG_COMMAND) & CMD_INTX_DISABLE);
    if (level == ep->intx_asserted)
        return;
    ep->intx_asserted = level;
    if (level)
        ep->st.intx_asserts++;
    if (ep->ops.set_intx)
        ep->ops.set_intx(ep->ctx, level);
}

void pcie_ep_set_intx(pcie_ep *ep, bool level) {
    if (!ep->p.intx_pin)
        return;
    ep->intx_requested = level;
    uint16_t status = cfg16(ep, CFG_STATUS) & (uint16_t)~STATUS_INTX;
    wr(ep->cfg, CFG_STATUS, 2, status | (level ? STATUS_INTX : 0u));
    intx_update(ep);
}

bool pcie_ep_raise_msi(pcie_ep *ep) {
    if (!ep->p.msi || !bus_master(ep) || !(cfg16(ep, MSI_CTRL) & MSI_CTRL_ENABLE) || !ep->ops.msi_write)
        return false;
    uint64_t addr = rd(ep->cfg, MSI_ADDR_LO, 4) | (uint64_t)rd(ep->cfg, MSI_ADDR_HI, 4) << 32;
    ep->st.msi_sent++;
    ep->ops.msi_write(ep->ctx, addr, cfg16(ep, MSI_DATA));
    return true;
}

static bool msix_can_signal(const pcie_ep *ep) {
    return ep->p.msix_vectors && bus_master(ep) && (cfg16(ep, MSIX_CTRL) & MSIX_CTRL_ENABLE) &&
           ep->ops.msi_write;
}
static bool msix_function_masked(const pcie_ep *ep) {
    return cfg16(ep, MSIX_CTRL) & MSIX_CTRL_FUNCTION_MASK;
}
static bool msix_vector_masked(const pcie_ep *ep, uint32_t v) {
    return ep->msix_table[4 * v + 3] & MSIX_ENTRY_MASKED;
}

static void msix_send(pcie_ep *ep, uint32_t v) {
    const uint32_t *e = &ep->msix_table[4 * v];
    ep->st.msix_sent++;
    ep->ops.msi_write(ep->ctx, e[0] | (uint64_t)e[1] << 32, e[2]);
}

/* Sends, lowest vector first, what was held back by a mask that is gone now. */
static void msix_flush_pending(pcie_ep *ep) {
    if (!msix_can_signal(ep) || msix_function_masked(ep))
        return;
    for (uint32_t v = 0; v < ep->p.msix_vectors; v++) {
        uint64_t bit = UINT64_C(1) << (v % 64);
        /* Re-checked per vector: the host may reconfigure the function from inside msi_write. */
        if (!(ep->msix_pba[v / 64] & bit) || msix_vector_masked(ep, v) || !msix_can_signal(ep) ||
            msix_function_masked(ep))
            continue;
        ep->msix_pba[v / 64] &= ~bit;
        msix_send(ep, v);
    }
}

bool pcie_ep_raise_msix(pcie_ep *ep, uint16_t vector) {
    if (!msix_can_signal(ep) || vector >= ep->p.msix_vectors)
        return false;
    if (msix_function_masked(ep) || msix_vector_masked(ep, vector)) {
        ep->msix_pba[vector / 64] |= UINT64_C(1) << (vector % 64);
        ep->st.msix_pended++;
        return true;
    }
    msix_send(ep, vector);
    return true;
}

/* ---- configuration writes ---- */

static void stale_add(stale_range *s, uint64_t first, uint64_t last) {
    if (!s->any) {
        *s = (stale_range){.any = true, .first = first, .last = last};
        return;
    }
    if (first < s->first)
        s->first = first;
    if (last > s->last)
        s->last = last;
}

static bool stale_overlaps(const stale_range *s, uint64_t first, uint64_t last) {
    return s->any && first <= s->last && s->first <= last;
}

/* The registers whose change the personality hears about through config_changed. */
typedef struct enables {
    uint16_t command, ats, pri, pasid, msi, msix;
} enables;

static enables read_enables(const pcie_ep *ep) {
    return (enables){cfg16(ep, CFG_COMMAND), cfg16(ep, ATS_CTRL), cfg16(ep, PRI_CTRL),
                     cfg16(ep, PASID_CTRL),  cfg16(ep, MSI_CTRL), cfg16(ep, MSIX_CTRL)};
}

static bool enables_equal(const enables *a, const enables *b) {
    return a->command == b->command && a->ats == b->ats && a->pri == b->pri && a->pasid == b->pasid &&
           a->msi == b->msi && a->msix == b->msix;
}

bool pcie_ep_cfg_write(pcie_ep *ep, uint32_t offset, unsigned size, uint32_t value) {
    if (!cfg_access_ok(offset, size))
        return false;
    enables before = read_enables(ep);
    for (unsigned i = 0; i < size; i++) {
        uint32_t o = offset + i;
        uint8_t v = (uint8_t)(value >> (8 * i));
        ep->cfg[o] = (uint8_t)((ep->cfg[o] & ~ep->wmask[o] & ~(v & ep->w1c[o])) | (v & ep->wmask[o]));
    }
    /* Reset is an action, not state: it reads as 0 and only acts while the interface is disabled. */
    if (ep->p.pri && offset <= PRI_CTRL && offset + size > PRI_CTRL &&
        (value >> (8 * (PRI_CTRL - offset)) & PRI_CTRL_RESET) && !(cfg16(ep, PRI_CTRL) & PRI_CTRL_ENABLE)) {
        ep->pri_outstanding = 0;
        memset(ep->prg, 0, sizeof(ep->prg));
        wr(ep->cfg, PRI_STATUS, 2, cfg16(ep, PRI_STATUS) & PRI_STATUS_PASID);
    }
    enables after = read_enables(ep);
    /* Translations cached while enabled must not survive a disable: software re-enabling expects an empty
     * ATC. In-flight requests keep the invalidations they owe, which only need the entry ids; translation
     * requests still out must not refill it either. */
    if (ep->p.ats && (before.ats & ATS_CTRL_ENABLE) && !(after.ats & ATS_CTRL_ENABLE)) {
        vp_setassoc_clear(&ep->atc);
        ep->atc_sizes = 0;
        for (unsigned i = 0; i < PCIE_EP_MAX_INFLIGHT; i++)
            if (ep->req[i].busy && ep->req[i].at == PCIE_EP_AT_TRANSLATION_REQ)
                stale_add(&ep->req[i].stale, 0, UINT64_MAX);
    }
    intx_update(ep);
    msix_flush_pending(ep);
    if (!enables_equal(&before, &after) && ep->dev_ops.config_changed)
        ep->dev_ops.config_changed(ep->dev);
    return true;
}

/* ---- BARs and MMIO ---- */

static uint64_t bar_base(const pcie_ep *ep, unsigned i) {
    uint32_t off = CFG_BAR0 + 4 * i;
    uint64_t base = rd(ep->cfg, off, 4) & ~UINT64_C(0xF);
    if (bar_is_64(&ep->p, i))
        base |= (uint64_t)rd(ep->cfg, off + 4, 4) << 32;
    return base;
}

bool pcie_ep_bar_decode(const pcie_ep *ep, uint64_t addr, unsigned size, unsigned *bar, uint64_t *offset) {
    if (!memory_enabled(ep) || size == 0)
        return false;
    for (unsigned i = 0; i < PCIE_EP_BARS; i++) {
        if (!bar_implemented(&ep->p, i))
            continue;
        uint64_t base = bar_base(ep, i), bar_size = ep->p.bar_size[i];
        /* Base 0 is what reset leaves: the BAR is not assigned yet. */
        if (base == 0 || addr < base)
            continue;
        uint64_t off = addr - base;
        if (off >= bar_size || size > bar_size - off)
            continue;
        if (bar)
            *bar = i;
        if (offset)
            *offset = off;
        return true;
    }
    return false;
}

typedef enum mmio_region { REGION_DEVICE, REGION_MSIX_TABLE, REGION_MSIX_PBA } mmio_region;

/* Table and PBA are 8-byte aligned and a multiple of 8 long, so an aligned access of at most 8 bytes lies
 * wholly inside one or wholly outside. */
static mmio_region msix_region(const pcie_ep *ep, unsigned bar, uint64_t off, uint64_t *rel) {
    const pcie_ep_params *p = &ep->p;
    if (!p->msix_vectors)
        return REGION_DEVICE;
    if (bar == p->msix_table_bar && off >= p->msix_table_offset &&
        off - p->msix_table_offset < msix_table_bytes(p->msix_vectors)) {
        *rel = off - p->msix_table_offset;
        return REGION_MSIX_TABLE;
    }
    if (bar == p->msix_pba_bar && off >= p->msix_pba_offset &&
        off - p->msix_pba_offset < msix_pba_bytes(p->msix_vectors)) {
        *rel = off - p->msix_pba_offset;
        return REGION_MSIX_PBA;
    }
    return REGION_DEVICE;
}

static bool mmio_access_ok(uint64_t addr, unsigned size) {
    return (size == 1 || size == 2 || size == 4 || size == 8) && addr % size == 0;
}

static uint64_t size_mask(unsigned size) {
    return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

static void msix_table_write32(pcie_ep *ep, uint64_t rel, uint32_t value) {
    uint32_t v = (uint32_t)(rel / 16), word = (uint32_t)(rel % 16) / 4;
    /* Message Address bits 1:0 keep the DWORD alignment; Vector Control has only Mask Bit. */
    static const uint32_t writable[4] = {0xFFFFFFFCu, 0xFFFFFFFFu, 0xFFFFFFFFu, MSIX_ENTRY_MASKED};
    ep->msix_table[4 * v + word] = value & writable[word];
}

bool pcie_ep_mmio_read(pcie_ep *ep, uint64_t addr, unsigned size, uint64_t *value) {
    unsigned bar;
    uint64_t off, rel = 0;
    if (!value || !mmio_access_ok(addr, size) || !pcie_ep_bar_decode(ep, addr, size, &bar, &off))
        return false;
    switch (msix_region(ep, bar, off, &rel)) {
    case REGION_MSIX_TABLE: {
        if (size != 4 && size != 8)
            return false;
        const uint32_t *w = &ep->msix_table[rel / 4];
        *value = size == 8 ? (w[0] | (uint64_t)w[1] << 32) : w[0];
        return true;
    }
    case REGION_MSIX_PBA: {
        if (size != 4 && size != 8)
            return false;
        uint64_t q = ep->msix_pba[rel / 8];
        *value = size == 8 ? q : (uint32_t)(q >> (rel % 8 * 8));
        return true;
    }
    case REGION_DEVICE:
        break;
    }
    uint64_t v = 0;
    if (!ep->dev_ops.bar_read || !ep->dev_ops.bar_read(ep->dev, bar, off, size, &v))
        return false;
    *value = v & size_mask(size);
    return true;
}

bool pcie_ep_mmio_write(pcie_ep *ep, uint64_t addr, unsigned size, uint64_t value) {
    unsigned bar;
    uint64_t off, rel = 0;
    if (!mmio_access_ok(addr, size) || !pcie_ep_bar_decode(ep, addr, size, &bar, &off))
        return false;
    switch (msix_region(ep, bar, off, &rel)) {
    case REGION_MSIX_TABLE:
        if (size != 4 && size != 8)
            return false;
        msix_table_write32(ep, rel, (uint32_t)value);
        if (size == 8)
            msix_table_write32(ep, rel + 4, (uint32_t)(value >> 32));
        msix_flush_pending(ep);
        return true;
    case REGION_MSIX_PBA:
        return size == 4 || size == 8; /* read-only: the function alone sets and clears pending bits */
    case REGION_DEVICE:
        break;
    }
    return ep->dev_ops.bar_write && ep->dev_ops.bar_write(ep->dev, bar, off, size, value & size_mask(size));
}

/* ---- ATC ---- */

static uint64_t atc_key(uint64_t addr, unsigned size_log2) {
    uint64_t page = size_log2 >= 64 ? 0 : addr >> size_log2;
    return page * 0x9E3779B97F4A7C15ull ^ size_log2;
}

static uint64_t entry_last(const atc_entry *e) {
    return e->ubase + (e->size_log2 >= 64 ? UINT64_MAX : (UINT64_C(1) << e->size_log2) - 1);
}

static bool entry_matches(const atc_entry *e, const pcie_ep_access *a) {
    uint64_t mask = e->size_log2 >= 64 ? 0 : ~((UINT64_C(1) << e->size_log2) - 1);
    if ((a->addr & mask) != e->ubase || e->priv != a->priv)
        return false;
    if (!a->pasid_valid)
        return !e->pasid_valid;
    return e->pasid_valid && (e->pasid == a->pasid || e->global);
}

/* `count`: a lookup of the function's own traffic, which the hit and miss statistics describe. */
static uint32_t atc_find(pcie_ep *ep, const pcie_ep_access *a, bool count) {
    if (!vp_setassoc_enabled(&ep->atc))
        return VP_SETASSOC_NONE;
    if (count)
        vp_setassoc_note_lookup(&ep->atc);
    for (unsigned sz = 12; sz < 64; sz++) {
        if (!(ep->atc_sizes >> sz & 1))
            continue;
        uint32_t set = vp_setassoc_set_first(&ep->atc, atc_key(a->addr, sz));
        for (uint32_t s = set; s < set + ep->atc.ways; s++) {
            atc_entry *e = vp_setassoc_entry(&ep->atc, s);
            if (vp_setassoc_valid(&ep->atc, s) && e->size_log2 == sz && entry_matches(e, a)) {
                if (count)
                    vp_setassoc_hit(&ep->atc, s);
                return s;
            }
        }
    }
    if (count)
        vp_setassoc_note_miss(&ep->atc);
    return VP_SETASSOC_NONE;
}

uint8_t pcie_ep_s_size_log2(uint64_t addr) {
    for (unsigned n = 12; n < 64; n++)
        if (!(addr >> n & 1))
            return (uint8_t)(n + 1);
    return 64;
}

static atc_entry make_entry(const pcie_ep_access *a, const pcie_ep_ats_cpl *c) {
    unsigned sz = c->size_log2 ? c->size_log2 : c->s ? pcie_ep_s_size_log2(c->addr) : 12;
    if (sz < 12)
        sz = 12;
    if (sz > 63)
        sz = 63; /* a whole address space is beyond any real translation; keeps the size bitmap 64 bits */
    uint64_t mask = ~((UINT64_C(1) << sz) - 1);
    return (atc_entry){.ubase = a->addr & mask,
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
                       .u = c->untranslated_only};
}

static void atc_insert(pcie_ep *ep, const pcie_ep_access *a, atc_entry e) {
    e.id = ep->next_id++;
    /* A refill of the same translation replaces the old entry rather than shadowing it, also while translated
     * requests are in flight through it: each of them keeps its own copy of the entry (for the invalidation
     * drain) and releases `uses` only on an entry with its id. Taking another way instead (as this did while
     * `uses` was non-zero) filled a set with copies of one page whenever several accesses of that page missed
     * at once, evicting every other page of the set. */
    pcie_ep_access probe = *a;
    probe.addr = e.ubase;
    uint32_t old = atc_find(ep, &probe, false);
    uint32_t slot;
    if (old != VP_SETASSOC_NONE && ((atc_entry *)vp_setassoc_entry(&ep->atc, old))->size_log2 == e.size_log2)
        slot = old;
    else
        slot = vp_setassoc_victim(&ep->atc, vp_setassoc_set_first(&ep->atc, atc_key(e.ubase, e.size_log2)));
    *(atc_entry *)vp_setassoc_entry(&ep->atc, slot) = e;
    uint64_t groups[2] = {e.pasid_valid ? (uint64_t)e.pasid + 1 : 0, e.global};
    vp_setassoc_insert(&ep->atc, slot, groups);
    ep->atc_sizes |= UINT64_C(1) << e.size_log2;
}

/* ---- requests ---- */

static int alloc_tag(const pcie_ep *ep) {
    for (unsigned i = 0; i < PCIE_EP_MAX_INFLIGHT; i++)
        if (!ep->req[i].busy)
            return (int)i;
    return -1;
}

static void issue(pcie_ep *ep, uint32_t tag, pcie_ep_at at, const pcie_ep_access *a, uint64_t addr) {
    bool treq = at == PCIE_EP_AT_TRANSLATION_REQ;
    pcie_ep_mem_req r = {.at = at,
                         .addr = addr,
                         .len = treq ? 8 : a->len,
                         .write = treq ? false : a->write,
                         .data = treq ? NULL : a->data,
                         .no_write = treq && !a->write,
                         .pasid_valid = a->pasid_valid,
                         .pasid = a->pasid,
                         .exec = a->exec,
                         .priv = a->priv};
    if (treq)
        ep->st.translation_requests++;
    else if (at == PCIE_EP_AT_TRANSLATED)
        ep->st.translated_requests++;
    else
        ep->st.untranslated_requests++;
    ep->ops.mem_request(ep->ctx, tag, &r);
}

/* Execute and Privileged Mode travel in the PASID prefix: without one they do not exist. */
static pcie_ep_access normalized(const pcie_ep_access *a) {
    pcie_ep_access n = *a;
    if (!n.pasid_valid) {
        n.pasid = 0;
        n.exec = n.priv = false;
    }
    return n;
}

/* A PASID the function may use: PASID enabled, inside Max PASID Width, and Execute / Privileged Mode only
 * when their enables are set. */
static bool pasid_usable(const pcie_ep *ep, const pcie_ep_access *a) {
    if (!a->pasid_valid)
        return true;
    uint16_t ctrl = cfg16(ep, PASID_CTRL);
    return pasid_enabled(ep) && (a->pasid >> ep->p.pasid_width) == 0 &&
           (!a->exec || (ctrl & PASID_CTRL_EXEC)) && (!a->priv || (ctrl & PASID_CTRL_PRIV));
}

static pcie_ep_result precheck(pcie_ep *ep, const pcie_ep_access *a, int *tag) {
    if (!bus_master(ep) || !pasid_usable(ep, a) || a->len == 0 || (a->addr & 0xFFF) + a->len > 0x1000) {
        ep->st.requests_denied++;
        return PCIE_EP_DENIED;
    }
    *tag = alloc_tag(ep);
    if (*tag < 0) {
        ep->st.requests_busy++;
        return PCIE_EP_BUSY;
    }
    return PCIE_EP_ISSUED_UNTRANSLATED;
}

pcie_ep_result pcie_ep_dma(pcie_ep *ep, const pcie_ep_access *access, uint32_t *tag) {
    pcie_ep_access a = normalized(access);
    int t;
    pcie_ep_result r = precheck(ep, &a, &t);
    if (r != PCIE_EP_ISSUED_UNTRANSLATED)
        return r;
    inflight *q = &ep->req[t];
    if (ats_enabled(ep) && !a.untranslated) {
        uint32_t s = atc_find(ep, &a, true);
        char pasid[16] = "-";
        if (ep->tracing && a.pasid_valid)
            snprintf(pasid, sizeof(pasid), "0x%x", a.pasid);
        if (s == VP_SETASSOC_NONE) {
            if (ep->tracing)
                pcie_ep_tracef(ep, "atc", "miss addr=0x%llx pasid=%s dir=%s", (unsigned long long)a.addr,
                               pasid, a.write ? "w" : "r");
            return PCIE_EP_ATC_MISS;
        }
        atc_entry *e = vp_setassoc_entry(&ep->atc, s);
        if (ep->tracing)
            pcie_ep_tracef(ep, "atc", "hit addr=0x%llx pasid=%s dir=%s out=0x%llx",
                           (unsigned long long)a.addr, pasid, a.write ? "w" : "r",
                           (unsigned long long)(e->tbase + (a.addr - e->ubase)));
        if (!e->u) {
            if (a.write ? !e->w : !e->r || (a.exec && !e->x)) {
                ep->st.requests_denied++;
                return PCIE_EP_DENIED;
            }
            *q = (inflight){.busy = true, .at = PCIE_EP_AT_TRANSLATED, .access = a, .entry = *e, .slot = s};
            e->uses++;
            *tag = (uint32_t)t;
            issue(ep, (uint32_t)t, PCIE_EP_AT_TRANSLATED, &a, e->tbase + (a.addr - e->ubase));
            return PCIE_EP_ISSUED_TRANSLATED;
        }
    }
    *q = (inflight){.busy = true, .at = PCIE_EP_AT_UNTRANSLATED, .access = a};
    *tag = (uint32_t)t;
    issue(ep, (uint32_t)t, PCIE_EP_AT_UNTRANSLATED, &a, a.addr);
    return PCIE_EP_ISSUED_UNTRANSLATED;
}

pcie_ep_result pcie_ep_translate(pcie_ep *ep, const pcie_ep_access *access, uint32_t *tag) {
    if (!ats_enabled(ep)) {
        ep->st.requests_denied++;
        return PCIE_EP_DENIED;
    }
    pcie_ep_access a = normalized(access);
    a.data = NULL;
    int t;
    pcie_ep_result r = precheck(ep, &a, &t);
    if (r != PCIE_EP_ISSUED_UNTRANSLATED)
        return r;
    ep->req[t] = (inflight){.busy = true, .at = PCIE_EP_AT_TRANSLATION_REQ, .access = a};
    *tag = (uint32_t)t;
    issue(ep, (uint32_t)t, PCIE_EP_AT_TRANSLATION_REQ, &a, a.addr & ~UINT64_C(0xFFF));
    return PCIE_EP_ISSUED_UNTRANSLATED;
}

static void send_completions(pcie_ep *ep) {
    uint32_t v = ep->inv_ready;
    if (!v)
        return;
    ep->inv_ready = 0;
    ep->inv_pending &= ~v;
    ep->st.inv_completions++;
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

void pcie_ep_mem_done(pcie_ep *ep, uint32_t tag, pcie_ep_cpl_status status) {
    if (tag >= PCIE_EP_MAX_INFLIGHT || !ep->req[tag].busy)
        return;
    inflight *q = &ep->req[tag];
    if (q->at == PCIE_EP_AT_TRANSLATION_REQ) {
        /* A completion without translation data (UR, CA): the translation request failed. */
        pcie_ep_ats_cpl failed = {.status = (uint8_t)status};
        pcie_ep_translation_done(ep, tag, &failed);
        return;
    }
    q->busy = false;
    if (status != PCIE_EP_CPL_SC)
        ep->st.mem_errors++;
    if (q->at == PCIE_EP_AT_TRANSLATED) {
        if (vp_setassoc_enabled(&ep->atc) && vp_setassoc_valid(&ep->atc, q->slot)) {
            atc_entry *e = vp_setassoc_entry(&ep->atc, q->slot);
            if (e->id == q->entry.id && e->uses)
                e->uses--;
        }
        uint32_t drained = 0;
        for (unsigned i = 0; i < 32; i++)
            if (q->waiting_itags >> i & 1 && --ep->inv_waits[i] == 0)
                drained |= 1u << i;
        q->waiting_itags = 0;
        if (drained)
            itags_drained(ep, drained);
    }
    if (ep->dev_ops.mem_done)
        ep->dev_ops.mem_done(ep->dev, tag, status);
}

bool pcie_ep_translation_done(pcie_ep *ep, uint32_t tag, const pcie_ep_ats_cpl *cpl) {
    if (!cpl || tag >= PCIE_EP_MAX_INFLIGHT || !ep->req[tag].busy ||
        ep->req[tag].at != PCIE_EP_AT_TRANSLATION_REQ)
        return false;
    inflight *q = &ep->req[tag];
    q->busy = false;
    bool cached = false;
    if (cpl->status == 0 && (cpl->read || cpl->write) && ats_enabled(ep) && vp_setassoc_enabled(&ep->atc)) {
        atc_entry e = make_entry(&q->access, cpl);
        uint64_t last = entry_last(&e);
        if (stale_overlaps(&q->stale, e.ubase, last) ||
            (e.global && stale_overlaps(&q->stale_global, e.ubase, last))) {
            ep->st.translations_raced++;
        } else {
            atc_insert(ep, &q->access, e);
            ep->st.translations_cached++;
            cached = true;
        }
    }
    if (ep->dev_ops.translation_done)
        ep->dev_ops.translation_done(ep->dev, tag, cpl, cached);
    return cached;
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
    if (e->ubase > m->last || entry_last(e) < m->base)
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

/* A translation request still out when the invalidation arrives: whatever it returns may predate the
 * invalidation, in the invalidation's PASID scope. */
static void mark_translation_requests_stale(pcie_ep *ep, const pcie_ep_inv_req *req, const inv_match *m,
                                            bool global_too) {
    for (unsigned i = 0; i < PCIE_EP_MAX_INFLIGHT; i++) {
        inflight *q = &ep->req[i];
        if (!q->busy || q->at != PCIE_EP_AT_TRANSLATION_REQ)
            continue;
        if (!req->pasid_valid || (q->access.pasid_valid && q->access.pasid == req->pasid))
            stale_add(&q->stale, m->base, m->last);
        else if (global_too && q->access.pasid_valid)
            stale_add(&q->stale_global, m->base, m->last);
    }
}

pcie_ep_inv_result pcie_ep_ats_invalidate(pcie_ep *ep, const pcie_ep_inv_req *req) {
    if (req->itag > 31 || (ep->inv_pending >> req->itag & 1)) {
        ep->st.invalidations_refused++;
        return PCIE_EP_INV_BAD_ITAG;
    }
    unsigned depth = ep->p.inv_queue_depth ? ep->p.inv_queue_depth : 32;
    if (popcount32(ep->inv_pending) >= depth) {
        ep->st.invalidations_refused++;
        return PCIE_EP_INV_QUEUE_FULL;
    }
    ep->st.invalidations++;
    ep->inv_pending |= 1u << req->itag;
    ep->inv_waits[req->itag] = 0;
    unsigned sz = req->size_log2 < 12 ? 12 : req->size_log2;
    uint64_t range_mask = sz >= 64 ? UINT64_MAX : (UINT64_C(1) << sz) - 1;
    inv_match m = {
        .base = req->addr & ~range_mask, .last = (req->addr & ~range_mask) + range_mask, .pasid = req->pasid};
    /* GI reaches Global entries of every PASID, and only when the function says it supports it. */
    bool global_too = req->pasid_valid && req->global && ep->p.global_inv;
    if (vp_setassoc_enabled(&ep->atc)) {
        if (!req->pasid_valid) {
            /* Without a PASID prefix the range goes for every entry, whatever its PASID. */
            vp_setassoc_remove_if(&ep->atc, inv_match_entry, &m);
        } else {
            m.by_pasid = true;
            vp_setassoc_remove_group_if(&ep->atc, 0, (uint64_t)req->pasid + 1, inv_match_entry, &m);
            if (global_too) {
                inv_match g = m;
                g.by_pasid = false;
                g.global_only = true;
                vp_setassoc_remove_group_if(&ep->atc, 1, 1, inv_match_entry, &g);
            }
        }
    }
    mark_translation_requests_stale(ep, req, &m, global_too);
    /* Every translated request in flight through a translation the invalidation covers holds it back, also
     * when eviction has dropped that entry already: the request still uses the old translation. */
    for (unsigned i = 0; i < PCIE_EP_MAX_INFLIGHT; i++) {
        inflight *q = &ep->req[i];
        if (!q->busy || q->at != PCIE_EP_AT_TRANSLATED)
            continue;
        inv_match own = m, global = m;
        own.by_pasid = req->pasid_valid;
        global.by_pasid = false;
        global.global_only = true;
        if (inv_match_entry(&q->entry, &own) || (global_too && inv_match_entry(&q->entry, &global))) {
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

/* ---- PRI ---- */

bool pcie_ep_page_request(pcie_ep *ep, const pcie_ep_access *access, uint16_t prg_index, bool last) {
    pcie_ep_access a = normalized(access);
    if (!pri_enabled(ep) || !bus_master(ep) || prg_index >= PCIE_EP_PRG_INDEXES ||
        (cfg16(ep, PRI_STATUS) & PRI_STATUS_RF) || !pasid_usable(ep, &a))
        return false;
    if (ep->pri_outstanding >= rd(ep->cfg, PRI_ALLOCATION, 4))
        return false;
    ep->pri_outstanding++;
    ep->st.page_requests++;
    prg_state *g = &ep->prg[prg_index];
    g->outstanding++;
    g->pasid_valid = a.pasid_valid;
    g->pasid = a.pasid;
    g->drop_response = false;
    pcie_ep_msg m = {.kind = PCIE_EP_MSG_PAGE_REQUEST,
                     .pasid_valid = a.pasid_valid,
                     .pasid = a.pasid,
                     .exec = a.exec,
                     .priv = a.priv,
                     .addr = a.addr & ~UINT64_C(0xFFF),
                     .prg_index = prg_index,
                     .last = last,
                     /* R = W = 0 with L = 1 would read as a Stop Marker; a write request carries W. */
                     .read = !a.write,
                     .write = a.write};
    ep->ops.send_msg(ep->ctx, &m);
    return true;
}

void pcie_ep_prg_response(pcie_ep *ep, uint16_t prg_index, uint8_t code) {
    if (!ep->p.pri)
        return;
    prg_state *g = prg_index < PCIE_EP_PRG_INDEXES ? &ep->prg[prg_index] : NULL;
    if (g && g->outstanding == 0 && g->drop_response) {
        g->drop_response = false;
        ep->st.prg_dropped++;
        return;
    }
    uint16_t st = cfg16(ep, PRI_STATUS);
    if (!g || g->outstanding == 0) {
        ep->st.prg_unexpected++;
        wr(ep->cfg, PRI_STATUS, 2, st | PRI_STATUS_UPRGI);
        return;
    }
    ep->pri_outstanding -= g->outstanding;
    g->outstanding = 0;
    switch (code) {
    case 0x0:
        ep->st.prg_success++;
        break;
    case 0x1:
        ep->st.prg_invalid++;
        break;
    case PRG_RESPONSE_FAILURE:
        ep->st.prg_failure++;
        wr(ep->cfg, PRI_STATUS, 2, st | PRI_STATUS_RF);
        break;
    default:
        ep->st.prg_other++;
        break;
    }
    if (ep->dev_ops.prg_response)
        ep->dev_ops.prg_response(ep->dev, prg_index, code);
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
    ep->st.stop_markers++;
    pcie_ep_msg m = {.kind = PCIE_EP_MSG_PAGE_REQUEST, .pasid_valid = true, .pasid = pasid, .last = true};
    ep->ops.send_msg(ep->ctx, &m);
    /* Responses that still arrive for these groups are dropped; their credits go back now. */
    for (unsigned i = 0; i < PCIE_EP_PRG_INDEXES; i++)
        if (ep->prg[i].outstanding && ep->prg[i].pasid_valid && ep->prg[i].pasid == pasid) {
            ep->pri_outstanding -= ep->prg[i].outstanding;
            ep->prg[i].outstanding = 0;
            ep->prg[i].drop_response = true;
        }
    return true;
}

/* ---- statistics ---- */

void pcie_ep_atc_stats(const pcie_ep *ep, pcie_ep_atc_info *info) {
    info->entries = vp_setassoc_count(&ep->atc);
    info->hits = ep->atc.stats.hits;
    info->misses = ep->atc.stats.misses;
    info->invalidated = ep->atc.stats.invalidated;
}

void pcie_ep_get_stats(const pcie_ep *ep, pcie_ep_stats *stats) {
    *stats = ep->st;
    stats->atc_entries = vp_setassoc_count(&ep->atc);
    stats->atc_hits = ep->atc.stats.hits;
    stats->atc_misses = ep->atc.stats.misses;
    stats->atc_fills = ep->atc.stats.inserts;
    stats->atc_evictions = ep->atc.stats.evictions;
    stats->atc_invalidated = ep->atc.stats.invalidated;
}

void pcie_ep_stats_each(const pcie_ep *ep, void (*cb)(void *arg, const char *name, uint64_t value),
                        void *arg) {
    pcie_ep_stats s;
    pcie_ep_get_stats(ep, &s);
#define PCIE_EP_STAT(name) cb(arg, #name, s.name)
    PCIE_EP_STAT(atc_entries);
    PCIE_EP_STAT(atc_hits);
    PCIE_EP_STAT(atc_misses);
    PCIE_EP_STAT(atc_fills);
    PCIE_EP_STAT(atc_evictions);
    PCIE_EP_STAT(atc_invalidated);
    PCIE_EP_STAT(translation_requests);
    PCIE_EP_STAT(translations_cached);
    PCIE_EP_STAT(translations_raced);
    PCIE_EP_STAT(translated_requests);
    PCIE_EP_STAT(untranslated_requests);
    PCIE_EP_STAT(requests_denied);
    PCIE_EP_STAT(requests_busy);
    PCIE_EP_STAT(mem_errors);
    PCIE_EP_STAT(invalidations);
    PCIE_EP_STAT(invalidations_refused);
    PCIE_EP_STAT(inv_completions);
    PCIE_EP_STAT(page_requests);
    PCIE_EP_STAT(stop_markers);
    PCIE_EP_STAT(prg_success);
    PCIE_EP_STAT(prg_invalid);
    PCIE_EP_STAT(prg_failure);
    PCIE_EP_STAT(prg_other);
    PCIE_EP_STAT(prg_unexpected);
    PCIE_EP_STAT(prg_dropped);
    PCIE_EP_STAT(msi_sent);
    PCIE_EP_STAT(msix_sent);
    PCIE_EP_STAT(msix_pended);
    PCIE_EP_STAT(intx_asserts);
#undef PCIE_EP_STAT
}
