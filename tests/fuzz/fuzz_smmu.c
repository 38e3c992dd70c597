/* libFuzzer target for the SMMUv3 core (C only, no SystemC). The input (fuzz_input.h) sets parameter
 * variations, guest memory and a sequence of operations; after every operation the target checks invariants
 * that hold whatever the guest does, and aborts (a crash for libFuzzer) when one breaks. The host has no
 * cmdq_kick, so commands run inside the CMDQ_PROD write, as in the unit tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "smmu.h"
#include "smmu_regs.h"
#include "smmu_structs.h"

/* A message that names the broken invariant matters more than the stack here: the stack is always this file.
 */
#define FZ_CHECK(cond, ...)                                                                                  \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "fuzz_smmu: invariant broken: %s: ", #cond);                                     \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

typedef struct fz_reader {
    const uint8_t *p;
    size_t n;
} fz_reader;

static uint64_t take(fz_reader *r, unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        uint64_t b = 0;
        if (r->n) {
            b = *r->p++;
            r->n--;
        }
        v |= b << (8 * i);
    }
    return v;
}

typedef struct fz_host {
    uint8_t *mem;
    unsigned oas_bits;
    uint64_t now_ps;
    unsigned translations_changed; /* the core's calls, kept so the callback does something observable */
    bool msgs_deliverable;
    unsigned abort_which;
    uint64_t abort_lo, abort_hi;
} fz_host;

static uint8_t arena[FZ_ARENA_SIZE];

static bool known_event(unsigned id) {
    switch (id) {
    case SMMU_EVT_F_UUT:
    case SMMU_EVT_C_BAD_STREAMID:
    case SMMU_EVT_F_STE_FETCH:
    case SMMU_EVT_C_BAD_STE:
    case SMMU_EVT_F_BAD_ATS_TREQ:
    case SMMU_EVT_F_STREAM_DISABLED:
    case SMMU_EVT_F_TRANSL_FORBIDDEN:
    case SMMU_EVT_C_BAD_SUBSTREAMID:
    case SMMU_EVT_F_CD_FETCH:
    case SMMU_EVT_C_BAD_CD:
    case SMMU_EVT_F_WALK_EABT:
    case SMMU_EVT_F_TRANSLATION:
    case SMMU_EVT_F_ADDR_SIZE:
    case SMMU_EVT_F_ACCESS:
    case SMMU_EVT_F_PERMISSION:
        return true;
    default:
        return false;
    }
}

/* Every access the core makes: within the OAS (IHI0070 3.4.3), of a size the host interface allows. */
static bool access_ok(fz_host *h, const char *what, uint64_t pa, unsigned len, unsigned bit) {
    FZ_CHECK(len >= 1 && len <= 64, "%s of %u bytes", what, len);
    FZ_CHECK((len != 4 && len != 8) || pa % len == 0, "%s of %u bytes at 0x%llx", what, len,
             (unsigned long long)pa);
    FZ_CHECK(((pa + len - 1) >> h->oas_bits) == 0 && pa + len - 1 >= pa, "%s at 0x%llx beyond the %u-bit OAS",
             what, (unsigned long long)pa, h->oas_bits);
    if ((h->abort_which & bit) && pa < h->abort_hi && pa + len > h->abort_lo)
        return false;
    return pa + len <= FZ_ARENA_SIZE;
}

static bool host_read(void *ctx, smmu_call *call, smmu_mem_kind kind, uint64_t pa, void *buf, unsigned len,
                      const smmu_mem_attrs *attrs) {
    (void)call;
    (void)attrs;
    fz_host *h = ctx;
    FZ_CHECK(kind <= SMMU_MEM_MSI, "read kind %d", (int)kind);
    if (!access_ok(h, "read", pa, len, 1))
        return false;
    memcpy(buf, h->mem + pa, len);
    return true;
}

static bool host_write(void *ctx, smmu_call *call, smmu_mem_kind kind, uint64_t pa, const void *buf,
                       unsigned len, const smmu_mem_attrs *attrs) {
    (void)call;
    (void)attrs;
    fz_host *h = ctx;
    FZ_CHECK(kind <= SMMU_MEM_MSI, "write kind %d", (int)kind);
    if (kind == SMMU_MEM_QUEUE && len == SMMU_EVT_SIZE) {
        unsigned id = ((const uint8_t *)buf)[0];
        FZ_CHECK(known_event(id), "event record with ID 0x%02x", id);
    }
    if (!access_ok(h, "write", pa, len, 2))
        return false;
    memcpy(h->mem + pa, buf, len);
    return true;
}

static bool host_cas(void *ctx, smmu_call *call, uint64_t pa, uint64_t expected, uint64_t desired,
                     uint64_t *observed, const smmu_mem_attrs *attrs) {
    (void)call;
    (void)attrs;
    fz_host *h = ctx;
    if (!access_ok(h, "CAS", pa, 8, 3))
        return false;
    memcpy(observed, h->mem + pa, 8);
    if (*observed == expected)
        memcpy(h->mem + pa, &desired, 8);
    return true;
}

static void host_irq(void *ctx, smmu_call *call, smmu_irq_line line, bool level) {
    (void)ctx;
    (void)call;
    (void)level;
    FZ_CHECK(line < SMMU_IRQ_COUNT, "IRQ line %d", (int)line);
}

/* Time the core spends is time that passes: timeouts see it. */
static void host_advance(void *ctx, smmu_call *call, uint64_t ps) {
    (void)call;
    ((fz_host *)ctx)->now_ps += ps;
}

static void host_changed(void *ctx, smmu_call *call) {
    (void)call;
    ((fz_host *)ctx)->translations_changed++;
}

static uint64_t host_now(void *ctx, smmu_call *call) {
    (void)call;
    return ((fz_host *)ctx)->now_ps;
}

/* Formatting every trace line is part of what is fuzzed (FZ_OP_TRACE); the lines themselves are not kept. */
static void host_trace(void *ctx, smmu_call *call, const char *kind, const char *fields) {
    (void)ctx;
    (void)call;
    FZ_CHECK(kind != NULL && fields != NULL && strlen(kind) < 32 && strlen(fields) < 4096, "trace line");
}

static bool host_send_msg(void *ctx, smmu_call *call, const smmu_msg *m) {
    (void)call;
    fz_host *h = ctx;
    if (m->kind == SMMU_MSG_ATS_INV_REQ) {
        FZ_CHECK(m->itag < 32, "ATS invalidation with ITag %u", m->itag);
        FZ_CHECK(m->size_log2 >= 12 && m->size_log2 <= 64, "ATS invalidation of 2^%u bytes", m->size_log2);
        FZ_CHECK(m->size_log2 == 64 || (m->addr & ((UINT64_C(1) << m->size_log2) - 1)) == 0,
                 "ATS invalidation at 0x%llx not aligned to 2^%u", (unsigned long long)m->addr, m->size_log2);
        FZ_CHECK(!m->global || m->ssv, "global ATS invalidation without a PASID");
    } else {
        FZ_CHECK(m->kind == SMMU_MSG_PRG_RESP, "message kind %d", (int)m->kind);
        FZ_CHECK(m->prg_index < 512, "PRG index %u", m->prg_index);
        FZ_CHECK(m->response == SMMU_PRG_SUCCESS || m->response == SMMU_PRG_INVALID_REQUEST ||
                     m->response == SMMU_PRG_RESPONSE_FAILURE,
                 "PRG response code %u", m->response);
    }
    return h->msgs_deliverable;
}

#ifdef FZ_HAVE_STALL
static bool valid_stall_action(smmu_stall_action a) {
    return a == SMMU_STALL_WAITING || a == SMMU_STALL_RETRY || a == SMMU_STALL_ABORT ||
           a == SMMU_STALL_RAZ_WI;
}

static void host_stall_resolved(void *ctx, smmu_call *call, uint32_t sid, uint16_t stag,
                                smmu_stall_action a) {
    (void)ctx;
    (void)call;
    (void)sid;
    (void)stag;
    FZ_CHECK(a != SMMU_STALL_WAITING && valid_stall_action(a), "stall resolved with action %d", (int)a);
}
#endif

static void stat_cb(void *arg, const char *name, uint64_t value) {
    (void)arg;
    (void)value;
    FZ_CHECK(name != NULL && name[0] != '\0', "statistic without a name");
}

/* The pointers of one queue as the registers show them. */
typedef struct fz_queue {
    uint32_t prod, cons, mask, size;
} fz_queue;

static uint64_t peek(smmu *s, uint64_t off, unsigned size) {
    uint64_t v = 0;
    FZ_CHECK(smmu_reg_peek(s, off, size, &v), "peek of 0x%llx", (unsigned long long)off);
    return v;
}

static fz_queue queue_regs(smmu *s, const smmu_params *p, uint64_t base, uint64_t prod, uint64_t cons,
                           uint64_t qs_mask) {
    unsigned log2 = (unsigned)SMMU_FIELD_GET(SMMU_Q_BASE_LOG2SIZE, peek(s, base, 8));
    unsigned max = (unsigned)((p->idr[1] & qs_mask) >> __builtin_ctzll(qs_mask));
    if (log2 > max)
        log2 = max;
    fz_queue q = {.mask = (2u << log2) - 1, .size = 1u << log2};
    q.prod = (uint32_t)peek(s, prod, 4) & q.mask;
    q.cons = (uint32_t)peek(s, cons, 4) & q.mask;
    return q;
}

typedef struct fz_queues {
    fz_queue cmdq, evtq, priq;
} fz_queues;

static fz_queues all_queues(smmu *s, const smmu_params *p) {
    fz_queues q;
    q.cmdq = queue_regs(s, p, SMMU_CMDQ_BASE, SMMU_CMDQ_PROD, SMMU_CMDQ_CONS, SMMU_IDR1_CMDQS);
    q.evtq = queue_regs(s, p, SMMU_EVENTQ_BASE, SMMU_EVENTQ_PROD, SMMU_EVENTQ_CONS, SMMU_IDR1_EVENTQS);
    q.priq = queue_regs(s, p, SMMU_PRIQ_BASE, SMMU_PRIQ_PROD, SMMU_PRIQ_CONS, SMMU_IDR1_PRIQS);
    return q;
}

/* Distance from `from` to `to` in a queue's index+wrap space. */
static uint32_t qdist(const fz_queue *q, uint32_t from, uint32_t to) {
    return (to - from) & q->mask;
}

/* Which registers the operation wrote: software may move any pointer it owns, so only the SMMU's own
 * movements are checked. */
static bool wrote_reg(uint64_t written, uint64_t reg, unsigned reg_size) {
    if (written == UINT64_MAX)
        return false;
    uint64_t off = written & 0xFFFFFFFFu, size = written >> 32;
    return off < reg + reg_size && reg < off + size;
}

static uint64_t reg_written(uint64_t off, unsigned size) {
    return off | (uint64_t)size << 32;
}

static void check_queues(const fz_queues *a, const fz_queues *b, uint64_t written) {
    /* The command queue: CONS moves towards PROD and never passes it. */
    if (!wrote_reg(written, SMMU_CMDQ_BASE, 8) && !wrote_reg(written, SMMU_CMDQ_CONS, 4) &&
        a->cmdq.mask == b->cmdq.mask && qdist(&b->cmdq, a->cmdq.cons, b->cmdq.prod) <= b->cmdq.size)
        FZ_CHECK(qdist(&b->cmdq, a->cmdq.cons, b->cmdq.cons) <= qdist(&b->cmdq, a->cmdq.cons, b->cmdq.prod),
                 "CMDQ CONS 0x%x -> 0x%x passed PROD 0x%x", a->cmdq.cons, b->cmdq.cons, b->cmdq.prod);
    /* The SMMU's output queues: PROD never gets more than a queue's worth ahead of CONS. */
    const fz_queue *before[2] = {&a->evtq, &a->priq}, *after[2] = {&b->evtq, &b->priq};
    const uint64_t base[2] = {SMMU_EVENTQ_BASE, SMMU_PRIQ_BASE};
    const uint64_t cons[2] = {SMMU_EVENTQ_CONS, SMMU_PRIQ_CONS};
    const uint64_t cons_alias[2] = {SMMU_EVENTQ_CONS_ALIAS, SMMU_PRIQ_CONS_ALIAS};
    for (int i = 0; i < 2; i++) {
        /* PROD too: software initialises it while the queue is disabled. The aliases sit just below. */
        if (wrote_reg(written, base[i], 8) || wrote_reg(written, cons[i] - 4, 8) ||
            wrote_reg(written, cons_alias[i] - 4, 8) || before[i]->mask != after[i]->mask ||
            qdist(before[i], before[i]->cons, before[i]->prod) > before[i]->size)
            continue;
        FZ_CHECK(qdist(after[i], after[i]->cons, after[i]->prod) <= after[i]->size,
                 "%s PROD 0x%x more than a queue ahead of CONS 0x%x", i ? "PRIQ" : "EVENTQ", after[i]->prod,
                 after[i]->cons);
    }
}

static uint64_t driver(smmu *s, const smmu_params *p, unsigned action) {
    switch (action) {
    case FZ_DRV_DRAIN_EVTQ:
    case FZ_DRV_DRAIN_PRIQ: {
        uint64_t prod_reg = action == FZ_DRV_DRAIN_EVTQ ? SMMU_EVENTQ_PROD : SMMU_PRIQ_PROD;
        uint64_t prod = peek(s, prod_reg, 4);
        smmu_reg_write(s, NULL, prod_reg + 4, 4, prod & (SMMU_Q_PTR_MASK | SMMU_Q_PROD_OVFLG));
        return reg_written(prod_reg + 4, 4);
    }
    case FZ_DRV_SKIP_CMD: {
        fz_queue q = queue_regs(s, p, SMMU_CMDQ_BASE, SMMU_CMDQ_PROD, SMMU_CMDQ_CONS, SMMU_IDR1_CMDQS);
        uint64_t bytes = (uint64_t)SMMU_CMD_SIZE * q.size;
        uint64_t base =
            SMMU_ADDR_GET(SMMU_Q_BASE_ADDR, peek(s, SMMU_CMDQ_BASE, 8)) & ~((bytes < 32 ? 32 : bytes) - 1);
        uint64_t a = base + (uint64_t)(q.cons & (q.size - 1)) * SMMU_CMD_SIZE;
        if (a + SMMU_CMD_SIZE <= FZ_ARENA_SIZE) {
            uint64_t sync[2] = {SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC), 0};
            memcpy(arena + a, sync, sizeof sync);
        }
    }
        /* fall through: the skipped command is acknowledged */
    default:
        smmu_reg_write(s, NULL, SMMU_GERRORN, 4, peek(s, SMMU_GERROR, 4));
        return reg_written(SMMU_GERRORN, 4);
    }
}

static void read_txn(fz_reader *r, smmu_txn *t, bool *no_write) {
    memset(t, 0, sizeof(*t));
    t->sid = (uint32_t)take(r, 4);
    t->ssid = (uint32_t)take(r, 4);
    unsigned f = (unsigned)take(r, 1);
    t->addr = take(r, 8);
    uint32_t len = (uint32_t)take(r, 2);
    t->len = len & ~FZ_TXN_LEN_STALL;
#ifdef FZ_HAVE_STALL
    t->stall_capable = len & FZ_TXN_LEN_STALL;
#endif
    t->ssv = f & FZ_TXN_SSV;
    t->secure = f & FZ_TXN_SECURE;
    t->acc.write = f & FZ_TXN_WRITE;
    t->acc.priv = f & FZ_TXN_PRIV;
    t->acc.exec = f & FZ_TXN_EXEC;
    unsigned at = (f >> FZ_TXN_AT_SHIFT) & 3;
    t->at = at == 3 ? SMMU_AT_UNTRANSLATED : (smmu_pcie_at)at;
    t->no_write = f & FZ_TXN_NO_WRITE;
    *no_write = t->no_write;
}

/* The validator on its own: one input may try many envelopes, while the SMMU it drives keeps the header's. */
static void params_probe(fz_reader *r) {
    unsigned which = (unsigned)take(r, 1);
    uint32_t v = (uint32_t)take(r, 4);
    smmu_params p;
    smmu_params_default(&p);
    smmu_cache_params *c = NULL;
    switch (which % 12u) {
    case FZ_PAR_IIDR:
        p.iidr ^= v;
        break;
    case FZ_PAR_AIDR:
        p.aidr ^= v;
        break;
    case FZ_PAR_TLB:
        c = &p.engine.tlb;
        break;
    case FZ_PAR_WALK:
        c = &p.engine.walk_cache;
        break;
    case FZ_PAR_CONFIG:
        c = &p.config_cache;
        break;
    case FZ_PAR_DEPTH:
        p.atc_inv_queue_depth = v;
        break;
    default:
        p.idr[which % 12u] ^= v;
        break;
    }
    if (c) {
        c->sets = v & 0xFFFFu;
        c->ways = (v >> 16) & 0xFFu;
        c->policy = (smmu_repl_policy)(v >> 24);
    }
    char err[128] = "";
    if (!smmu_params_validate(&p, err, sizeof err))
        FZ_CHECK(err[0] != '\0', "validation failed without a reason");
}

static void apply_header(fz_reader *r, smmu_params *p, fz_host *h, smmu_host_ops *ops) {
    uint8_t hd[FZ_HEADER_SIZE];
    for (unsigned i = 0; i < FZ_HEADER_SIZE; i++)
        hd[i] = (uint8_t)take(r, 1);
    if (hd[0] & FZ_H_NO_ATS)
        p->idr[0] &= ~(uint32_t)(SMMU_IDR0_ATS | SMMU_IDR0_NS1ATS | SMMU_IDR0_PRI);
    if (hd[0] & FZ_H_NO_PRI)
        p->idr[0] &= ~(uint32_t)SMMU_IDR0_PRI;
    if (hd[0] & FZ_H_NO_HTTU)
        p->idr[0] &= ~(uint32_t)SMMU_IDR0_HTTU;
    if (hd[0] & FZ_H_NO_2LVL)
        p->idr[0] &= ~(uint32_t)(SMMU_IDR0_ST_LEVEL | SMMU_IDR0_CD2L);
    if (hd[0] & FZ_H_NO_MSI)
        p->idr[0] &= ~(uint32_t)SMMU_IDR0_MSI;
    if (hd[0] & FZ_H_OAS)
        p->idr[5] = (uint32_t)SMMU_FIELD_SET(p->idr[5], SMMU_IDR5_OAS, hd[1] & 7u);
    if (hd[0] & FZ_H_SMALL_Q) {
        unsigned qs = hd[1] >> 4;
        p->idr[1] = (uint32_t)SMMU_FIELD_SET(p->idr[1], SMMU_IDR1_CMDQS, qs);
        p->idr[1] = (uint32_t)SMMU_FIELD_SET(p->idr[1], SMMU_IDR1_EVENTQS, qs);
        p->idr[1] = (uint32_t)SMMU_FIELD_SET(p->idr[1], SMMU_IDR1_PRIQS, qs);
    }
    h->msgs_deliverable = !(hd[0] & FZ_H_NO_MSGS);
    if (hd[2])
        p->atc_inv_queue_depth = hd[2];
    if (hd[3])
        p->atc_inv_timeout_ps = (uint64_t)hd[3] * 1000000u;
    uint32_t x = (uint32_t)hd[5] | (uint32_t)hd[6] << 8 | (uint32_t)hd[7] << 16;
    if (hd[4] & FZ_H4_NO_CAS)
        ops->mem_cas64 = NULL;
    if (hd[4] & FZ_H4_NO_TIME)
        ops->now_ps = NULL;
    if (hd[4] & FZ_H4_NO_MSG)
        ops->send_msg = NULL;
    smmu_cache_params *caches[3] = {&p->engine.tlb, &p->engine.walk_cache, &p->config_cache};
    for (int i = 0; i < 3; i++) {
        if (hd[4] & FZ_H4_NO_CACHES)
            caches[i]->sets = 0;
        if (hd[4] & FZ_H4_FIFO) {
            caches[i]->ways = 1;
            caches[i]->policy = SMMU_REPL_FIFO;
        }
    }
    unsigned which = hd[4] % 8u;
    if (which < 6)
        p->idr[which] ^= x;
    else if (which == 6)
        p->iidr ^= x;
    else
        p->aidr ^= x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_reader r = {data, size};
    fz_host h = {.mem = arena};
    smmu_params p;
    smmu_params_default(&p);
    smmu_host_ops ops = {.mem_read = host_read,
                         .mem_write = host_write,
                         .mem_cas64 = host_cas,
                         .irq_set = host_irq,
                         .advance = host_advance,
                         .translations_changed = host_changed,
                         .trace = host_trace,
                         .send_msg = host_send_msg,
                         .now_ps = host_now};
    apply_header(&r, &p, &h, &ops);

    char err[128];
    bool valid = smmu_params_validate(&p, err, sizeof err);
#ifdef FZ_HAVE_STALL
    /* Half the inputs poll smmu_stall_outcome only, as a host without the callback would. */
    if (size && (data[size - 1] & 1))
        ops.stall_resolved = host_stall_resolved;
#endif
    memset(arena, 0, sizeof arena);
    smmu *s = smmu_create(&p, &ops, &h);
    FZ_CHECK((s != NULL) == valid, "smmu_create disagrees with smmu_params_validate (%s)", valid ? "" : err);
    if (!s)
        return 0;
    h.oas_bits = smmu_pa_size_bits((unsigned)SMMU_FIELD_GET(SMMU_IDR5_OAS, p.idr[5]));

    /* Bounded so that one input cannot run for long whatever it holds. */
    for (unsigned n = 0; r.n && n < 4096; n++) {
        fz_queues before = all_queues(s, &p);
        uint64_t written = UINT64_MAX;
        bool reset = false;
        switch ((unsigned)take(&r, 1) % FZ_OP_COUNT) {
        case FZ_OP_REG_WRITE: {
            unsigned sz = (take(&r, 1) & 1) ? 8 : 4;
            uint64_t off = take(&r, 4) % SMMU_REG_SPACE_SIZE, v = take(&r, 8);
            bool ok = smmu_reg_write(s, NULL, off, sz, v);
            FZ_CHECK(ok == (off % sz == 0), "register write of %u bytes at 0x%llx answered %d", sz,
                     (unsigned long long)off, ok);
            written = reg_written(off, sz);
            break;
        }
        case FZ_OP_REG_READ: {
            unsigned sz = (take(&r, 1) & 1) ? 8 : 4;
            uint64_t off = take(&r, 4) % SMMU_REG_SPACE_SIZE, v = 0, pv = 0;
            bool pok = smmu_reg_peek(s, off, sz, &pv);
            bool ok = smmu_reg_read(s, NULL, off, sz, &v);
            FZ_CHECK(ok == (off % sz == 0) && pok == ok, "register read of %u bytes at 0x%llx answered %d",
                     sz, (unsigned long long)off, ok);
            break;
        }
        case FZ_OP_MEM64: {
            uint64_t a = take(&r, 4), v = take(&r, 8);
            if (a + 8 <= FZ_ARENA_SIZE)
                memcpy(arena + a, &v, 8);
            break;
        }
        case FZ_OP_MEM_BYTES: {
            uint64_t a = take(&r, 4);
            unsigned len = (unsigned)take(&r, 1);
            for (unsigned i = 0; i < len; i++) {
                uint8_t b = (uint8_t)take(&r, 1);
                if (a + i < FZ_ARENA_SIZE)
                    arena[a + i] = b;
            }
            break;
        }
        case FZ_OP_FILL: {
            uint64_t a = take(&r, 4);
            unsigned len = (unsigned)take(&r, 2);
            uint32_t x = (uint32_t)take(&r, 1) * 2654435761u + 1u;
            for (unsigned i = 0; i < len && a + i < FZ_ARENA_SIZE; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                arena[a + i] = (uint8_t)x;
            }
            break;
        }
        case FZ_OP_TRANSLATE: {
            smmu_txn t;
            bool nw;
            read_txn(&r, &t, &nw);
            smmu_result res;
            memset(&res, 0xA5, sizeof res);
            smmu_translate(s, NULL, &t, &res);
            bool stalled = false;
#ifdef FZ_HAVE_STALL
            stalled = res.status == SMMU_XLATE_STALLED;
            FZ_CHECK(!stalled || t.stall_capable, "a transaction that cannot stall stalled");
#endif
            FZ_CHECK(res.status == SMMU_XLATE_OK || res.status == SMMU_XLATE_ABORT ||
                         res.status == SMMU_XLATE_RAZ_WI || stalled,
                     "translation status %d", (int)res.status);
            FZ_CHECK(res.event_id == 0 || known_event(res.event_id), "translation event 0x%02x",
                     res.event_id);
            FZ_CHECK(!res.event_recorded || res.event_id != 0, "event recorded without an ID");
            if (res.status == SMMU_XLATE_OK)
                FZ_CHECK((res.pa >> h.oas_bits) == 0 || res.bypass, "translation to 0x%llx beyond the OAS",
                         (unsigned long long)res.pa);
            break;
        }
        case FZ_OP_ATS_TRANSLATE: {
            smmu_txn t;
            bool nw;
            read_txn(&r, &t, &nw);
            smmu_ats_result res;
            memset(&res, 0xA5, sizeof res);
            smmu_ats_translate(s, NULL, &t, &res);
            FZ_CHECK(res.status == SMMU_ATS_SUCCESS || res.status == SMMU_ATS_UR || res.status == SMMU_ATS_CA,
                     "ATS status %d", (int)res.status);
            FZ_CHECK(res.event_id == 0 || known_event(res.event_id), "ATS event 0x%02x", res.event_id);
            if (res.status == SMMU_ATS_SUCCESS) {
                FZ_CHECK(res.size_log2 >= 12 && res.size_log2 <= 64, "ATS range of 2^%u bytes",
                         res.size_log2);
                FZ_CHECK(res.size_log2 == 64 || (res.addr & ((UINT64_C(1) << res.size_log2) - 1)) == 0,
                         "ATS range at 0x%llx not aligned to 2^%u", (unsigned long long)res.addr,
                         res.size_log2);
                FZ_CHECK(!(nw && res.write), "ATS write permission granted to a no-write request");
                FZ_CHECK(!(res.global && t.ssv), "ATS global entry for a PASID");
            }
            break;
        }
        case FZ_OP_PAGE_REQUEST: {
            smmu_page_req q;
            memset(&q, 0, sizeof q);
            q.sid = (uint32_t)take(&r, 4);
            q.ssid = (uint32_t)take(&r, 4);
            unsigned f = (unsigned)take(&r, 1);
            q.prg_index = (uint16_t)(take(&r, 2) & 0x1FF);
            q.addr = take(&r, 8);
            q.ssv = f & FZ_PRI_SSV;
            q.exec = f & FZ_PRI_EXEC;
            q.priv = f & FZ_PRI_PRIV;
            q.read = f & FZ_PRI_READ;
            q.write = f & FZ_PRI_WRITE;
            q.last = f & FZ_PRI_LAST;
            q.secure = f & FZ_PRI_SECURE;
            smmu_pri_outcome o = smmu_page_request(s, NULL, &q);
            FZ_CHECK(o == SMMU_PRI_QUEUED || o == SMMU_PRI_ANSWERED || o == SMMU_PRI_DISCARDED,
                     "page request outcome %d", (int)o);
            break;
        }
        case FZ_OP_ATS_INV_CPL: {
            uint32_t sid = (uint32_t)take(&r, 4), vec = (uint32_t)take(&r, 4);
            unsigned cc = (unsigned)take(&r, 1) & 7u;
            smmu_ats_inv_completion(s, NULL, sid, vec, cc);
            break;
        }
        case FZ_OP_TIME:
            h.now_ps += take(&r, 4) * 1000u;
            smmu_cmdq_run(s, NULL);
            break;
        case FZ_OP_ABORTS:
            h.abort_which = (unsigned)take(&r, 1) & 3u;
            h.abort_lo = take(&r, 4);
            h.abort_hi = take(&r, 4);
            break;
        case FZ_OP_MSGS:
            h.msgs_deliverable = take(&r, 1) & 1;
            break;
        case FZ_OP_RESET:
            smmu_reset(s);
            reset = true;
            break;
        case FZ_OP_CMDQ: {
            smmu_cmdq_status st;
            if (take(&r, 1) & 1) {
                st = smmu_cmdq_run(s, NULL);
            } else {
                uint64_t wake = 0;
                st = smmu_cmdq_step(s, NULL, &wake);
            }
            FZ_CHECK(st == SMMU_CMDQ_IDLE || st == SMMU_CMDQ_PROGRESS || st == SMMU_CMDQ_BLOCKED,
                     "command queue status %d", (int)st);
            break;
        }
        case FZ_OP_TRACE:
            smmu_set_trace(s, take(&r, 1) & 1);
            break;
        case FZ_OP_STATS:
            smmu_stats(s, stat_cb, NULL);
            break;
        case FZ_OP_DRIVER:
            written = driver(s, &p, take(&r, 1) & 3u);
            break;
        case FZ_OP_COPY: {
            uint64_t dst = take(&r, 4), src = take(&r, 4), len = take(&r, 2);
            if (dst + len <= FZ_ARENA_SIZE && src + len <= FZ_ARENA_SIZE)
                memmove(arena + dst, arena + src, len);
            break;
        }
        case FZ_OP_FLIP: {
            uint64_t a = take(&r, 4), bit = take(&r, 2);
            if (a + bit / 8 < FZ_ARENA_SIZE)
                arena[a + bit / 8] ^= (uint8_t)(1u << (bit % 8));
            break;
        }
        case FZ_OP_PARAMS:
            params_probe(&r);
            break;
        default: {
            uint32_t sid = (uint32_t)take(&r, 4);
            uint16_t stag = (uint16_t)take(&r, 2);
#ifdef FZ_HAVE_STALL
            smmu_stall_action a = smmu_stall_outcome(s, sid, stag);
            FZ_CHECK(valid_stall_action(a), "stall outcome %d", (int)a);
#else
            (void)sid;
            (void)stag;
#endif
            break;
        }
        }
        fz_queues after = all_queues(s, &p);
        if (!reset)
            check_queues(&before, &after, written);
        for (unsigned i = 0; i < 6; i++)
            FZ_CHECK(peek(s, SMMU_IDR0 + 4 * i, 4) == p.idr[i], "IDR%u changed", i);
        unsigned cerr = (unsigned)SMMU_FIELD_GET(SMMU_CMDQ_CONS_ERR, peek(s, SMMU_CMDQ_CONS, 4));
        FZ_CHECK(cerr <= SMMU_CERROR_ATC_INV_SYNC, "CMDQ_CONS.ERR 0x%x", cerr);
    }
    smmu_destroy(s);
    return 0;
}
