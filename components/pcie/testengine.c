/* The SMMUv3 Test Engine personality; see testengine.h for the layout and the readings it takes. */
#include "testengine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcie_agent.h"

#define PAGE 4096u
#define NO_PASID 0xFFFFFFFFu
#define PASID_MAX 0xFFFFFu
#define MSIX_INDEX_MAX 2047u
#define ATTR_PNU 0x100u
#define ATTR_IND 0x400u
#define RAND48_MASK ((UINT64_C(1) << 48) - 1)

typedef struct te_frame te_frame;

/* One transaction of a running command: one or two DMA accesses (two when it straddles a page). */
typedef struct te_txn {
    te_frame *f;
    bool busy;
    bool writing; /* MEMCPY's second phase */
    uint64_t addr;
    uint32_t len;
    unsigned pieces; /* accesses not yet called back */
    bool failed;
    uint64_t fault;
    uint8_t *buf;
} te_txn;

typedef enum stop_state { STOP_NONE = 0, STOP_RUNNING, STOP_DONE } stop_state;

struct te_frame {
    testengine *te;
    uint8_t user[TESTENGINE_FRAME_SIZE];
    uint8_t priv[TESTENGINE_FRAME_SIZE];

    /* the command, latched when it starts (the frame ignores writes while it runs) */
    bool running;
    uint32_t cmd, seed, msidata;
    uint64_t begin, end, stride, dest, msiaddress;
    uint16_t src_attr, dst_attr;
    bool pasid_valid, ats, pri;
    uint32_t pasid;
    uint64_t ntx, next, inflight, sum;
    bool failed, aborting;
    uint64_t fault;
    unsigned perm_bits;
    uint64_t perm_keys[4];

    te_txn *txns;
    uint32_t ntxns, buf_size;
    uint8_t *bufs;

    bool tick_pending, spacing_ok, pumping, repump;

    stop_state stop;
    bool stop_pasid_valid, pasid_stop_done;
    uint32_t stop_pasid;
};

typedef struct te_counters {
    uint64_t commands, misconfigured, halted, errors, aborted;
    uint64_t transactions_launched, transactions_returned;
    uint64_t msi_sent, msi_aborted, stops, stops_completed;
} te_counters;

struct testengine {
    testengine_params p;
    pcie_ep *ep;
    pcie_agent *ag;
    pcie_ep_host_ops ops;
    void *ctx;
    te_frame *frames;
    uint32_t nframes;
    uint32_t *stopped; /* PASIDs whose stop completed and that some frame still holds stopped */
    uint32_t nstopped, stopped_cap;
    te_counters c;
};

/* ---- little-endian fields ---- */

static uint64_t get_le(const uint8_t *b, unsigned size) {
    uint64_t v = 0;
    for (unsigned i = size; i-- > 0;)
        v = v << 8 | b[i];
    return v;
}

static void put_le(uint8_t *b, unsigned size, uint64_t v) {
    for (unsigned i = 0; i < size; i++, v >>= 8)
        b[i] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *regs, unsigned off) {
    return (uint32_t)get_le(regs + off, 4);
}
static uint64_t get64(const uint8_t *regs, unsigned off) {
    return get_le(regs + off, 8);
}
static void put32(uint8_t *regs, unsigned off, uint32_t v) {
    put_le(regs + off, 4, v);
}
static void put64(uint8_t *regs, unsigned off, uint64_t v) {
    put_le(regs + off, 8, v);
}

/* ---- RAND48 ---- */

static uint64_t rand48_seeded(uint32_t seed, uint64_t addr) {
    uint32_t s32 = seed ^ (uint32_t)(addr >> 32) ^ (uint32_t)addr;
    return (uint64_t)s32 << 16 | 0x330E;
}

static uint64_t rand48_step(uint64_t s) {
    return (s * UINT64_C(0x5DEECE66D) + 0xB) & RAND48_MASK;
}

/* The bytes of [addr, addr + len): the stream restarts at the region's first byte and at each page. */
static void rand48_fill(const te_frame *f, uint64_t addr, uint32_t len, uint8_t *out) {
    uint64_t page = addr & ~(uint64_t)(PAGE - 1);
    uint64_t start = f->begin > page ? f->begin : page;
    uint64_t s = rand48_seeded(f->seed, start);
    for (uint64_t skip = addr - start; skip > 0; skip--)
        s = rand48_step(rand48_step(s));
    for (uint32_t i = 0; i < len; i++) {
        uint64_t a = addr + i;
        if (i > 0 && (a & (PAGE - 1)) == 0)
            s = rand48_seeded(f->seed, a);
        s = rand48_step(s);
        uint32_t v = (uint32_t)(s >> 17) & 0x7FFFFFFFu;
        s = rand48_step(s);
        v |= (uint32_t)s & 0x80000000u;
        out[i] = (uint8_t)v;
    }
}

/* ---- launch order ---- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void perm_setup(te_frame *f) {
    unsigned bits = 0;
    while (bits < 64 && (UINT64_C(1) << bits) < f->ntx)
        bits++;
    f->perm_bits = bits;
    uint64_t x = f->seed;
    for (unsigned r = 0; r < 4; r++)
        f->perm_keys[r] = splitmix64(&x);
}

/* A bijection of [0, 2^bits): odd multiply, xor-shift and add, each invertible modulo 2^bits. */
static uint64_t perm_round_trip(const te_frame *f, uint64_t x) {
    unsigned bits = f->perm_bits;
    uint64_t mask = bits >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << bits) - 1;
    for (unsigned r = 0; r < 4; r++) {
        x = (x * (f->perm_keys[r] | 1)) & mask;
        if (bits > 1)
            x ^= x >> (bits / 2 + 1 < bits ? bits / 2 + 1 : bits - 1);
        x = (x + (f->perm_keys[r] >> 7)) & mask;
    }
    return x;
}

/* Which transaction the n-th launch carries. */
static uint64_t launch_order(const te_frame *f, uint64_t n) {
    if (f->seed == 0)
        return n;
    if (f->seed == 0xFFFFFFFFu)
        return f->ntx - 1 - n;
    /* Cycle walking: the bijection's cycle through n < ntx comes back below ntx. */
    uint64_t x = n;
    do
        x = perm_round_trip(f, x);
    while (x >= f->ntx);
    return x;
}

static void txn_span(const te_frame *f, uint64_t k, uint64_t *addr, uint32_t *len) {
    uint64_t a, last;
    if (f->stride == 1) {
        uint64_t chunk = f->te->p.chunk;
        uint64_t base = (f->begin & ~(chunk - 1)) + k * chunk;
        a = base > f->begin ? base : f->begin;
        last = base + (chunk - 1);
    } else {
        a = f->begin + k * f->stride;
        last = f->end - a < 7 ? f->end : a + 7;
    }
    if (last > f->end)
        last = f->end;
    *addr = a;
    *len = (uint32_t)(last - a + 1);
}

/* ---- running a command ---- */

static void frame_pump(te_frame *f);

static void check_stopped(te_frame *f) {
    if (f->stop == STOP_RUNNING && !f->running && (!f->stop_pasid_valid || f->pasid_stop_done)) {
        f->stop = STOP_DONE;
        put32(f->priv, TE_PCTRL, get32(f->priv, TE_PCTRL) | TE_PCTRL_STOPPED);
        f->te->c.stops_completed++;
    }
}

static void agent_done(void *owner, void *cookie, pcie_agent_status status, uint64_t fault_addr);

/* Once the last piece is submitted the transaction may already be over and its slot reused: nothing here
 * reads t after that. */
static void issue_pieces(te_txn *t, uint64_t addr, bool write) {
    te_frame *f = t->f;
    testengine *te = f->te;
    uint64_t region_last = write && f->cmd == TE_ENGINE_MEMCPY ? f->dest + (f->end - f->begin) : f->end;
    uint16_t attr = write ? f->dst_attr : f->src_attr;
    uint32_t len = t->len;
    uint8_t *buf = t->buf;
    uint32_t first_len = PAGE - (uint32_t)(addr & (PAGE - 1));
    if (first_len > len)
        first_len = len;
    t->pieces = first_len < len ? 2 : 1;
    for (uint32_t off = 0; off < len;) {
        uint32_t n = off == 0 ? first_len : len - off;
        uint64_t a = addr + off;
        uint64_t page = a & ~(uint64_t)(PAGE - 1);
        uint64_t following = ((region_last & ~(uint64_t)(PAGE - 1)) - page) / PAGE;
        uint32_t prefetch = te->p.prg_pages - 1;
        pcie_agent_req r = {
            .access = {.addr = a,
                       .len = n,
                       .write = write,
                       .data = buf + off,
                       .pasid_valid = f->pasid_valid,
                       .pasid = f->pasid,
                       .exec = f->pasid_valid && !write && (attr & ATTR_IND),
                       .priv = f->pasid_valid && (attr & ATTR_PNU)},
            .ats = f->ats,
            .pri = f->pri,
            .prefetch_pages = following < prefetch ? (uint32_t)following : prefetch,
            .cookie = t,
        };
        off += n;
        if (!pcie_agent_submit(te->ag, &r))
            agent_done(te, t, PCIE_AGENT_DENIED, a); /* out of memory: as if the access were refused */
    }
}

static void txn_end(te_txn *t) {
    te_frame *f = t->f;
    if (t->failed && !f->failed) {
        f->failed = true;
        f->fault = t->fault;
    }
    t->busy = false;
    f->inflight--;
    put32(f->user, TE_RETURNED, get32(f->user, TE_RETURNED) + 1);
    f->te->c.transactions_returned++;
    frame_pump(f);
}

static void txn_progress(te_txn *t) {
    te_frame *f = t->f;
    if (t->failed) {
        txn_end(t);
    } else if (f->cmd == TE_ENGINE_MEMCPY && !t->writing) {
        t->writing = true;
        issue_pieces(t, f->dest + (t->addr - f->begin), true);
    } else {
        if (f->cmd == TE_ENGINE_SUM64)
            for (uint32_t i = 0; i + 8 <= t->len; i += 8)
                f->sum += get_le(t->buf + i, 8);
        txn_end(t);
    }
}

static void agent_done(void *owner, void *cookie, pcie_agent_status status, uint64_t fault_addr) {
    (void)owner;
    te_txn *t = cookie;
    if (status != PCIE_AGENT_OK && !t->failed) {
        t->failed = true;
        t->fault = fault_addr;
    }
    if (t->pieces > 0 && --t->pieces == 0)
        txn_progress(t);
}

static void launch(te_frame *f) {
    te_txn *t = NULL;
    for (uint32_t i = 0; i < f->ntxns; i++)
        if (!f->txns[i].busy) {
            t = &f->txns[i];
            break;
        }
    if (!t)
        return;
    uint64_t k = launch_order(f, f->next);
    f->next++;
    f->inflight++;
    put32(f->user, TE_LAUNCHED, get32(f->user, TE_LAUNCHED) + 1);
    f->te->c.transactions_launched++;
    uint8_t *buf = t->buf;
    *t = (te_txn){.f = f, .busy = true, .buf = buf};
    txn_span(f, k, &t->addr, &t->len);
    bool write = f->cmd == TE_ENGINE_RAND48;
    if (write)
        rand48_fill(f, t->addr, t->len, t->buf);
    issue_pieces(t, t->addr, write);
}

static const char *command_name(uint32_t cmd) {
    switch (cmd) {
    case TE_ENGINE_MEMCPY:
        return "MEMCPY";
    case TE_ENGINE_RAND48:
        return "RAND48";
    case TE_ENGINE_SUM64:
        return "SUM64";
    default:
        return "?";
    }
}

static void end_command(te_frame *f) {
    testengine *te = f->te;
    if (f->aborting && !f->failed && f->next < f->ntx) {
        f->failed = true;
        txn_span(f, launch_order(f, f->next), &f->fault, &(uint32_t){0});
    }
    f->running = false;
    if (f->cmd == TE_ENGINE_SUM64)
        put64(f->user, TE_UDATA + 8, f->sum);
    if (f->failed) {
        put32(f->user, TE_CMD, TE_ENGINE_ERROR);
        put64(f->user, TE_UDATA + 16, f->fault);
        te->c.errors++;
    } else {
        put32(f->user, TE_CMD, TE_ENGINE_HALTED);
        te->c.halted++;
    }
    if (f->aborting)
        te->c.aborted++;
    if (pcie_ep_tracing(te->ep))
        pcie_ep_tracef(te->ep, "cmd_end", "frame=%u cmd=%s status=%s fault=0x%llx%s",
                       (unsigned)(f - te->frames), command_name(f->cmd), f->failed ? "error" : "halted",
                       (unsigned long long)f->fault, f->aborting ? " aborted" : "");
    if (f->msiaddress == 1) {
        if (pcie_ep_raise_msix(te->ep, (uint16_t)f->msidata)) {
            te->c.msi_sent++;
        } else {
            put32(f->user, TE_UCTRL, get32(f->user, TE_UCTRL) | TE_UCTRL_MSI_ABORTED);
            te->c.msi_aborted++;
        }
    }
    check_stopped(f);
}

static void tick(void *arg) {
    te_frame *f = arg;
    f->tick_pending = false;
    f->spacing_ok = true;
    frame_pump(f);
}

/* Launches what the in-flight limit and the launch spacing allow, and ends the command once it is over.
 * Callbacks may come back here from inside a launch; they only ask for another round. */
static void frame_pump(te_frame *f) {
    if (f->pumping) {
        f->repump = true;
        return;
    }
    testengine *te = f->te;
    f->pumping = true;
    do {
        f->repump = false;
        while (f->running && !f->aborting && !f->failed && f->next < f->ntx && f->inflight < f->ntxns &&
               f->spacing_ok) {
            if (te->p.issue_ps && te->ops.schedule) {
                f->spacing_ok = false;
                if (!f->tick_pending) {
                    f->tick_pending = true;
                    te->ops.schedule(te->ctx, te->p.issue_ps, tick, f);
                }
            }
            launch(f);
        }
        if (f->running && f->inflight == 0 && (f->next >= f->ntx || f->failed || f->aborting))
            end_command(f);
    } while (f->repump);
    f->pumping = false;
}

static bool misconfigured(const te_frame *f, uint32_t cmd) {
    uint64_t begin = get64(f->user, TE_BEGIN), end = get64(f->user, TE_END_INCL);
    uint64_t stride = get64(f->user, TE_STRIDE), msiaddress = get64(f->user, TE_MSIADDRESS);
    uint32_t sub = get32(f->priv, TE_SUBSTREAMID);
    if (cmd != TE_ENGINE_MEMCPY && cmd != TE_ENGINE_RAND48 && cmd != TE_ENGINE_SUM64)
        return true;
    if (stride == 0 || (stride != 1 && stride % 8 != 0))
        return true;
    if (msiaddress > 1 || get32(f->user, TE_MSIDATA) > MSIX_INDEX_MAX)
        return true;
    if (sub != NO_PASID && sub > PASID_MAX)
        return true;
    if (end < begin || (begin == 0 && end == UINT64_MAX))
        return true;
    if (cmd == TE_ENGINE_SUM64 && ((begin & 7) != 0 || ((end + 1) & 7) != 0))
        return true;
    if (cmd == TE_ENGINE_MEMCPY && get64(f->user, TE_UDATA) > UINT64_MAX - (end - begin))
        return true;
    return f->stop != STOP_NONE;
}

static bool alloc_txns(te_frame *f) {
    uint32_t n = f->te->p.inflight, size = f->te->p.chunk > 8 ? f->te->p.chunk : 8;
    if (f->txns && f->ntxns == n && f->buf_size == size)
        return true;
    free(f->txns);
    free(f->bufs);
    f->txns = calloc(n, sizeof *f->txns);
    f->bufs = calloc(n, size);
    if (!f->txns || !f->bufs) {
        free(f->txns);
        free(f->bufs);
        f->txns = NULL;
        f->bufs = NULL;
        f->ntxns = 0;
        return false;
    }
    f->ntxns = n;
    f->buf_size = size;
    for (uint32_t i = 0; i < n; i++)
        f->txns[i].buf = f->bufs + (size_t)i * size;
    return true;
}

static void start_command(te_frame *f, uint32_t cmd) {
    testengine *te = f->te;
    if (cmd == TE_ENGINE_NO_FRAME || cmd == TE_ENGINE_HALTED) {
        put32(f->user, TE_CMD, TE_ENGINE_HALTED);
        return;
    }
    te->c.commands++;
    if (misconfigured(f, cmd) || !alloc_txns(f)) {
        put32(f->user, TE_CMD, TE_ENGINE_FRAME_MISCONFIGURED);
        te->c.misconfigured++;
        if (pcie_ep_tracing(te->ep))
            pcie_ep_tracef(te->ep, "cmd_end", "frame=%u cmd=0x%x status=misconfigured",
                           (unsigned)(f - te->frames), cmd);
        return;
    }
    uint32_t attrs = get32(f->user, TE_ATTRIBUTES), sub = get32(f->priv, TE_SUBSTREAMID);
    uint32_t pctrl = get32(f->priv, TE_PCTRL);
    f->cmd = cmd;
    f->seed = get32(f->user, TE_SEED);
    f->msidata = get32(f->user, TE_MSIDATA);
    f->msiaddress = get64(f->user, TE_MSIADDRESS);
    f->begin = get64(f->user, TE_BEGIN);
    f->end = get64(f->user, TE_END_INCL);
    f->stride = get64(f->user, TE_STRIDE);
    f->dest = get64(f->user, TE_UDATA);
    f->src_attr = (uint16_t)attrs;
    f->dst_attr = (uint16_t)(attrs >> 16);
    f->pasid_valid = sub != NO_PASID;
    f->pasid = f->pasid_valid ? sub : 0;
    f->ats = pctrl & TE_PCTRL_ATS_ENABLE;
    f->pri = pctrl & TE_PCTRL_PRI_ENABLE;
    if (f->stride == 1) {
        uint64_t chunk = te->p.chunk;
        f->ntx = ((f->end & ~(chunk - 1)) - (f->begin & ~(chunk - 1))) / chunk + 1;
    } else {
        f->ntx = (f->end - f->begin) / f->stride + 1;
    }
    f->next = f->inflight = f->sum = f->fault = 0;
    f->failed = f->aborting = false;
    perm_setup(f);
    put32(f->user, TE_LAUNCHED, 0);
    put32(f->user, TE_RETURNED, 0);
    put32(f->user, TE_UCTRL, get32(f->user, TE_UCTRL) & ~TE_UCTRL_MSI_ABORTED);
    if (cmd == TE_ENGINE_SUM64)
        put64(f->user, TE_UDATA + 8, 0);
    put32(f->user, TE_CMD, cmd);
    f->running = true;
    if (pcie_ep_tracing(te->ep)) {
        char pasid[16] = "-";
        if (f->pasid_valid)
            snprintf(pasid, sizeof(pasid), "0x%x", f->pasid);
        pcie_ep_tracef(
            te->ep, "cmd_start",
            "frame=%u cmd=%s begin=0x%llx end=0x%llx stride=0x%llx dest=0x%llx pasid=%s ats=%d pri=%d "
            "txns=%llu",
            (unsigned)(f - te->frames), command_name(cmd), (unsigned long long)f->begin,
            (unsigned long long)f->end, (unsigned long long)f->stride, (unsigned long long)f->dest, pasid,
            f->ats, f->pri, (unsigned long long)f->ntx);
    }
    f->spacing_ok = !f->tick_pending;
    frame_pump(f);
}

/* ---- stopping a PASID ---- */

static bool pasid_stop_completed(const testengine *te, uint32_t pasid) {
    for (uint32_t i = 0; i < te->nstopped; i++)
        if (te->stopped[i] == pasid)
            return true;
    return false;
}

static void pasid_stopped(void *arg, uint32_t pasid) {
    testengine *te = arg;
    if (!pasid_stop_completed(te, pasid)) {
        if (te->nstopped == te->stopped_cap) {
            uint32_t n = te->stopped_cap ? te->stopped_cap * 2 : 4;
            uint32_t *grown = realloc(te->stopped, n * sizeof *grown);
            if (grown) {
                te->stopped = grown;
                te->stopped_cap = n;
            }
        }
        if (te->nstopped < te->stopped_cap)
            te->stopped[te->nstopped++] = pasid;
    }
    for (uint32_t i = 0; i < te->nframes; i++) {
        te_frame *f = &te->frames[i];
        if (f->stop == STOP_RUNNING && f->stop_pasid_valid && f->stop_pasid == pasid) {
            f->pasid_stop_done = true;
            check_stopped(f);
        }
    }
}

static void start_stop(te_frame *f) {
    testengine *te = f->te;
    uint32_t sub = f->running ? (f->pasid_valid ? f->pasid : NO_PASID) : get32(f->priv, TE_SUBSTREAMID);
    f->stop = STOP_RUNNING;
    f->stop_pasid_valid = sub <= PASID_MAX;
    f->stop_pasid = f->stop_pasid_valid ? sub : 0;
    f->pasid_stop_done = false;
    put32(f->priv, TE_PCTRL, get32(f->priv, TE_PCTRL) | TE_PCTRL_STOP);
    te->c.stops++;
    if (f->running)
        f->aborting = true;
    if (f->stop_pasid_valid) {
        if (pcie_agent_pasid_stopping(te->ag, f->stop_pasid))
            f->pasid_stop_done = pasid_stop_completed(te, f->stop_pasid);
        else
            pcie_agent_stop_pasid(te->ag, f->stop_pasid, pasid_stopped, te);
    }
    frame_pump(f);
    check_stopped(f);
}

static void resume(te_frame *f) {
    testengine *te = f->te;
    f->stop = STOP_NONE;
    put32(f->priv, TE_PCTRL, get32(f->priv, TE_PCTRL) & ~(TE_PCTRL_STOP | TE_PCTRL_STOPPED));
    if (!f->stop_pasid_valid)
        return;
    for (uint32_t i = 0; i < te->nframes; i++) {
        const te_frame *g = &te->frames[i];
        if (g->stop != STOP_NONE && g->stop_pasid_valid && g->stop_pasid == f->stop_pasid)
            return; /* another frame still holds the PASID stopped */
    }
    pcie_agent_resume_pasid(te->ag, f->stop_pasid);
    for (uint32_t i = 0; i < te->nstopped; i++)
        if (te->stopped[i] == f->stop_pasid) {
            te->stopped[i] = te->stopped[--te->nstopped];
            break;
        }
}

/* ---- registers ---- */

static te_frame *frame_at(testengine *te, uint64_t offset, bool *priv, unsigned *reg) {
    uint64_t pair = offset / TESTENGINE_PAIR_SIZE;
    if (pair >= te->p.frames)
        return NULL;
    uint64_t in_pair = offset % TESTENGINE_PAIR_SIZE;
    *priv = in_pair >= TESTENGINE_PRIV_PAGE;
    *reg = (unsigned)(in_pair % TESTENGINE_FRAME_SIZE);
    uint64_t n = (in_pair % TESTENGINE_PRIV_PAGE) / TESTENGINE_FRAME_SIZE;
    return &te->frames[pair * TESTENGINE_FRAMES_PER_PAGE + n];
}

static bool bar_read(void *dev, unsigned bar, uint64_t offset, unsigned size, uint64_t *value) {
    testengine *te = dev;
    bool priv;
    unsigned reg;
    *value = 0;
    te_frame *f = bar == TESTENGINE_FRAMES_BAR ? frame_at(te, offset, &priv, &reg) : NULL;
    if (f && reg + size <= TESTENGINE_FRAME_SIZE)
        *value = get_le((priv ? f->priv : f->user) + reg, size);
    return true;
}

static void user_write(te_frame *f, unsigned reg, unsigned size, uint64_t value) {
    if (f->running)
        return;
    if (reg < TE_UCTRL) {
        /* cmd acts on a 4-byte write of its own; a wider or narrower write touching it is dropped. */
        if (reg == TE_CMD && size == 4)
            start_command(f, (uint32_t)value);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        unsigned b = reg + i;
        if (b >= TE_LAUNCHED && b < TE_MSIADDRESS)
            continue; /* the progress counters are the engine's */
        f->user[b] = (uint8_t)(value >> (8 * i));
    }
}

static void pctrl_write(te_frame *f, uint32_t old, uint32_t val) {
    if (!f->running) {
        uint32_t rw = TE_PCTRL_ATS_ENABLE | TE_PCTRL_PRI_ENABLE;
        put32(f->priv, TE_PCTRL, (old & ~rw) | (val & rw));
    }
    if ((val & TE_PCTRL_STOP) && f->stop == STOP_NONE)
        start_stop(f);
    else if (!(val & TE_PCTRL_STOP) && f->stop == STOP_DONE)
        resume(f);
}

static void priv_write(te_frame *f, unsigned reg, unsigned size, uint64_t value) {
    if (reg < TE_DOWNSTREAM_PORT) {
        uint32_t old = get32(f->priv, TE_PCTRL);
        uint8_t merged[4];
        put32(merged, 0, old);
        for (unsigned i = 0; i < size && reg + i < 4; i++)
            merged[reg + i] = (uint8_t)(value >> (8 * i));
        pctrl_write(f, old, get32(merged, 0));
    }
    if (f->running)
        return;
    for (unsigned i = 0; i < size; i++) {
        unsigned b = reg + i;
        if (b >= TE_STREAMID) /* pctrl is done above; the downstream port index reads 0 under PCIe */
            f->priv[b] = (uint8_t)(value >> (8 * i));
    }
}

static bool bar_write(void *dev, unsigned bar, uint64_t offset, unsigned size, uint64_t value) {
    testengine *te = dev;
    bool priv;
    unsigned reg;
    te_frame *f = bar == TESTENGINE_FRAMES_BAR ? frame_at(te, offset, &priv, &reg) : NULL;
    if (!f || reg + size > TESTENGINE_FRAME_SIZE)
        return true;
    if (priv)
        priv_write(f, reg, size, value);
    else
        user_write(f, reg, size, value);
    return true;
}

static void dev_mem_done(void *dev, uint32_t tag, pcie_ep_cpl_status status) {
    pcie_agent_mem_done(((testengine *)dev)->ag, tag, status);
}
static void dev_translation_done(void *dev, uint32_t tag, const struct pcie_ep_ats_cpl *cpl, bool cached) {
    pcie_agent_translation_done(((testengine *)dev)->ag, tag, cpl, cached);
}
static void dev_prg_response(void *dev, uint16_t prg_index, uint8_t code) {
    pcie_agent_prg_response(((testengine *)dev)->ag, prg_index, code);
}
static void dev_config_changed(void *dev) {
    pcie_agent_config_changed(((testengine *)dev)->ag);
}

static const pcie_ep_device_ops device_ops = {
    .bar_read = bar_read,
    .bar_write = bar_write,
    .mem_done = dev_mem_done,
    .translation_done = dev_translation_done,
    .prg_response = dev_prg_response,
    .config_changed = dev_config_changed,
};

/* ---- lifetime ---- */

void testengine_default_params(testengine_params *p) {
    *p = (testengine_params){.frames = 1,
                             .inflight = 8,
                             .issue_ps = 1000,
                             .stop_marker = true,
                             .ats = true,
                             .pri = true,
                             .pasid = true,
                             .pasid_width = 20,
                             .atc_sets = 64,
                             .atc_ways = 4,
                             .inv_queue_depth = 8,
                             .pri_capacity = 64,
                             .msix_vectors = 64,
                             .prg_pages = 1,
                             .chunk = 64,
                             .max_attempts = 64};
}

static uint64_t pow2_at_least(uint64_t v) {
    uint64_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

static void set_err(char *err, size_t len, const char *msg) {
    if (err && len)
        snprintf(err, len, "%s", msg);
}

testengine *testengine_create(const testengine_params *p, const pcie_ep_host_ops *ops, void *ctx, char *err,
                              size_t err_len) {
    if (p->frames < 1 || p->frames > TESTENGINE_MAX_PAIRS) {
        set_err(err, err_len, "testengine: frames must be 1..64");
        return NULL;
    }
    if (p->inflight < 1 || p->inflight > PCIE_EP_MAX_INFLIGHT) {
        set_err(err, err_len, "testengine: inflight must be 1..64");
        return NULL;
    }
    if (p->chunk < 8 || p->chunk > PAGE || (p->chunk & (p->chunk - 1))) {
        set_err(err, err_len, "testengine: chunk must be a power of two, 8..4096");
        return NULL;
    }
    if (p->msix_vectors < 1 || p->msix_vectors > 2048) {
        set_err(err, err_len, "testengine: msix_vectors must be 1..2048");
        return NULL;
    }
    if (p->prg_pages < 1 || p->prg_pages > PCIE_EP_PRG_INDEXES) {
        set_err(err, err_len, "testengine: prg_pages must be 1..512");
        return NULL;
    }
    testengine *te = calloc(1, sizeof *te);
    if (!te) {
        set_err(err, err_len, "testengine: out of memory");
        return NULL;
    }
    te->p = *p;
    te->ops = *ops;
    te->ctx = ctx;
    pcie_ep_params ep = {
        .vendor_id = TESTENGINE_VENDOR_ID,
        .device_id = TESTENGINE_DEVICE_ID,
        .class_code = 0x120000, /* processing accelerator */
        .bar_64bit = 1u << TESTENGINE_FRAMES_BAR,
        .msix_vectors = p->msix_vectors,
        .msix_table_bar = TESTENGINE_MSIX_TABLE_BAR,
        .msix_pba_bar = TESTENGINE_MSIX_PBA_BAR,
        .ats = p->ats,
        .inv_queue_depth = p->inv_queue_depth,
        .global_inv = true,
        .atc_sets = p->atc_sets,
        .atc_ways = p->atc_ways,
        .pri = p->pri,
        .pri_capacity = p->pri_capacity,
        .prg_resp_pasid_required = p->pasid,
        .pasid = p->pasid,
        .pasid_width = p->pasid_width,
        .exec_supported = true,
        .priv_supported = true,
        .stop_marker = p->stop_marker,
    };
    ep.bar_size[TESTENGINE_FRAMES_BAR] = pow2_at_least((uint64_t)p->frames * TESTENGINE_PAIR_SIZE);
    ep.bar_size[TESTENGINE_MSIX_TABLE_BAR] = pow2_at_least((uint64_t)p->msix_vectors * 16);
    ep.bar_size[TESTENGINE_MSIX_PBA_BAR] = pow2_at_least(((uint64_t)p->msix_vectors + 63) / 64 * 8);
    if (ep.bar_size[TESTENGINE_MSIX_TABLE_BAR] < PAGE)
        ep.bar_size[TESTENGINE_MSIX_TABLE_BAR] = PAGE;
    if (ep.bar_size[TESTENGINE_MSIX_PBA_BAR] < PAGE)
        ep.bar_size[TESTENGINE_MSIX_PBA_BAR] = PAGE;
    te->nframes = p->frames * TESTENGINE_FRAMES_PER_PAGE;
    te->frames = calloc(te->nframes, sizeof *te->frames);
    te->ep = te->frames ? pcie_ep_create(&ep, ops, ctx) : NULL;
    te->ag = te->ep ? pcie_agent_create(te->ep, agent_done, te) : NULL;
    if (te->ag)
        pcie_agent_set_max_attempts(te->ag, p->max_attempts);
    if (!te->ag) {
        set_err(err, err_len,
                te->frames && !te->ep ? "testengine: the function core refused the parameters (ATC geometry, "
                                        "queue depth, PASID width or PRI capacity)"
                                      : "testengine: out of memory");
        testengine_destroy(te);
        return NULL;
    }
    pcie_ep_set_device(te->ep, &device_ops, te);
    for (uint32_t i = 0; i < te->nframes; i++) {
        te_frame *f = &te->frames[i];
        f->te = te;
        put32(f->user, TE_CMD, TE_ENGINE_HALTED);
        put32(f->priv, TE_PCTRL, TE_PCTRL_SSD_NS);
        put32(f->priv, TE_SUBSTREAMID, NO_PASID);
        f->spacing_ok = true;
    }
    return te;
}

void testengine_destroy(testengine *te) {
    if (!te)
        return;
    pcie_agent_destroy(te->ag);
    pcie_ep_destroy(te->ep);
    if (te->frames)
        for (uint32_t i = 0; i < te->nframes; i++) {
            free(te->frames[i].txns);
            free(te->frames[i].bufs);
        }
    free(te->frames);
    free(te->stopped);
    free(te);
}

pcie_ep *testengine_ep(testengine *te) {
    return te->ep;
}

void testengine_stats(const testengine *te, void (*cb)(void *arg, const char *name, uint64_t value),
                      void *arg) {
    const te_counters *c = &te->c;
    const struct {
        const char *name;
        uint64_t value;
    } rows[] = {
        {"commands", c->commands},
        {"misconfigured", c->misconfigured},
        {"halted", c->halted},
        {"errors", c->errors},
        {"aborted", c->aborted},
        {"transactions_launched", c->transactions_launched},
        {"transactions_returned", c->transactions_returned},
        {"completion_msis", c->msi_sent},
        {"completion_msis_aborted", c->msi_aborted},
        {"stops", c->stops},
        {"stops_completed", c->stops_completed},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
        cb(arg, rows[k].name, rows[k].value);
    pcie_agent_stats_each(te->ag, "agent_", cb, arg);
}
