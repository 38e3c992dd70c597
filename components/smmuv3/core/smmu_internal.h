/* State of one SMMU shared by the control-plane files (smmu.c, smmu_regfile.c, smmu_txn.c, smmu_config.c,
 * smmu_cmdq.c, smmu_evtq.c, smmu_priq.c).
 * Not a public interface: the shell and the tests use smmu.h only. */
#ifndef SMMU_INTERNAL_H
#define SMMU_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "setassoc.h"
#include "smmu.h"
#include "smmu_cmd.h"
#include "smmu_regs.h"
#include "smmu_structs.h"

/* A queue as the registers describe it. prod/cons hold the whole register (index, wrap and flag bits). */
typedef struct smmu_queue {
    uint64_t base;
    uint32_t prod;
    uint32_t cons;
    uint8_t max_log2; /* IDR1.xQS */
} smmu_queue;

static inline unsigned smmu_q_log2(const smmu_queue *q) {
    unsigned log2 = (unsigned)SMMU_FIELD_GET(SMMU_Q_BASE_LOG2SIZE, q->base);
    return log2 < q->max_log2 ? log2 : q->max_log2;
}
/* Mask of the index plus wrap bits of PROD/CONS for the current size. */
static inline uint32_t smmu_q_ptr_mask(const smmu_queue *q) {
    return (2u << smmu_q_log2(q)) - 1u;
}
static inline uint32_t smmu_q_index(const smmu_queue *q, uint32_t ptr) {
    return ptr & ((1u << smmu_q_log2(q)) - 1u);
}
static inline bool smmu_q_empty(const smmu_queue *q) {
    return ((q->prod ^ q->cons) & smmu_q_ptr_mask(q)) == 0;
}
static inline bool smmu_q_full(const smmu_queue *q) {
    uint32_t diff = (q->prod ^ q->cons) & smmu_q_ptr_mask(q);
    return diff == (1u << smmu_q_log2(q));
}
/* ptr + 1 within the index/wrap bits, keeping the flag bits above them. */
static inline uint32_t smmu_q_inc(const smmu_queue *q, uint32_t ptr) {
    uint32_t mask = smmu_q_ptr_mask(q);
    return (ptr & ~mask) | ((ptr + 1u) & mask);
}
/* The SMMU aligns a queue's base to the larger of 32 bytes and the queue's size, ignoring lower ADDR bits. */
static inline uint64_t smmu_q_entry_addr(const smmu_queue *q, uint32_t ptr, unsigned entry_size) {
    uint64_t bytes = (uint64_t)entry_size << smmu_q_log2(q);
    uint64_t base = SMMU_ADDR_GET(SMMU_Q_BASE_ADDR, q->base) & ~((bytes < 32 ? 32 : bytes) - 1u);
    return base + (uint64_t)smmu_q_index(q, ptr) * entry_size;
}

/* A decoded, legal STE. */
typedef struct smmu_ste_cfg {
    uint8_t config; /* SMMU_STE_CONFIG_ABORT / BYPASS / S1 / S2 / NESTED */
    bool s1_enabled, s2_enabled;
    uint8_t s1fmt, s1cdmax, s1dss;
    uint64_t s1_ctx_ptr;
    smmu_mem_attrs cd_attrs; /* S1CIR/S1COR/S1CSH */
    bool s1stalld;
    bool s1_vmid_valid; /* stage 1 alone in NS-EL1 with IDR0.S2P: S2VMID still tags the TLB entries */
    uint16_t s1_vmid;
    uint8_t eats;
    bool ppar; /* PRI overflow auto-responses carry the request's PASID */
    smmu_regime regime;
    /* incoming attribute overrides */
    uint8_t memattr, alloccfg, shcfg, nscfg, privcfg, instcfg;
    bool mtcfg;
    bool mev;
    smmu_s2_cfg s2;
    bool s2r, s2s;
} smmu_ste_cfg;

/* A decoded, legal CD. */
typedef struct smmu_cd_cfg {
    smmu_s1_cfg s1;
    bool record, abort_on_fault, stall;
    bool aset;
    uint64_t amair;
} smmu_cd_cfg;

typedef enum smmu_cc_kind { SMMU_CC_STE = 1, SMMU_CC_L1STD, SMMU_CC_CD, SMMU_CC_L1CD } smmu_cc_kind;

/* A configuration cache entry. Keys: STE (sid), L1STD (L1 index), CD (sid, CD index), L1CD (sid, L1 index) */
typedef struct smmu_cc_entry {
    uint8_t kind;
    uint32_t sid;
    uint32_t index;
    union {
        smmu_ste_cfg ste;
        smmu_cd_cfg cd;
        uint64_t l1desc;
    } u;
} smmu_cc_entry;

enum { SMMU_STATS_OPCODES = 256, SMMU_STATS_EVENTS = 256 };

/* One ATS Invalidate Request in flight. */
enum { SMMU_ATC_INV_MAX = 256 }; /* outstanding invalidations over all endpoints */
typedef struct smmu_atc_inv {
    uint32_t sid;
    uint8_t itag;
    uint8_t expected; /* completions the endpoint announced (its CC); 0 until the first one arrives */
    uint8_t received;
    uint64_t issued_ps;
} smmu_atc_inv;

typedef struct smmu_counters {
    uint64_t reg_reads, reg_writes;
    uint64_t cmds[SMMU_STATS_OPCODES];
    uint64_t cmd_errors_ill, cmd_errors_abt, cmd_errors_atc_inv_sync;
    uint64_t atc_inv_sent, atc_inv_undeliverable, atc_inv_completions, atc_inv_stray_completions,
        atc_inv_timeouts, atc_inv_itag_waits;
    uint64_t events_raised[SMMU_STATS_EVENTS];
    uint64_t events_recorded, events_dropped, evtq_overflows;
    uint64_t cc_fetches; /* the configuration cache counts the rest itself */
    uint64_t translations, translations_ok, bypassed, aborts, raz_wi;
    uint64_t sync_sev, sync_msi, sync_irq;
    uint64_t msi_writes, msi_aborts, irq_pulses;
    uint64_t gerrors;
    /* PRI queue (smmu_priq.c) */
    uint64_t pri_requests, pri_stop_markers, pri_recorded, pri_auto_responses, pri_discarded, pri_overflows;
    uint64_t pri_write_aborts, pri_responses;
    /* stall model (smmu_stall.c) */
    uint64_t stalls, stall_records_delayed, stall_max_reached, stall_retries, stall_aborts, stall_raz_wi,
        stall_resume_unmatched;
} smmu_counters;

/* One stalled transaction (IHI0070 3.12.2): from its fault until the host collects the outcome. */
typedef enum smmu_stall_state {
    SMMU_STALL_FREE = 0,
    SMMU_STALL_PENDING,  /* its stall record waits for room in the event queue (never dropped) */
    SMMU_STALL_HELD,     /* recorded: software may resume or terminate it */
    SMMU_STALL_RESOLVED, /* `action` decided, the host has not collected it yet */
} smmu_stall_state;

typedef struct smmu_stall_entry {
    uint8_t state;  /* smmu_stall_state */
    uint8_t action; /* smmu_stall_action once resolved */
    uint16_t stag;
    uint32_t sid;
    uint64_t seq;    /* stall order: pending records are written in it */
    uint64_t rec[4]; /* the encoded stall record while it is pending */
} smmu_stall_entry;

struct smmu {
    smmu_params p;
    smmu_host_ops host;
    void *host_ctx;
    /* The host's context of the entry point in progress. The core never waits, so calls nest only through
     * a host callback that re-enters the core, and each entry point saves and restores it (smmu_call_enter).
     */
    smmu_call *call;
    smmu_engine *eng;
    bool trace_on;

    /* registers */
    uint32_t cr0, cr0ack, cr1, cr2;
    uint32_t gbpa;
    uint32_t irq_ctrl, irq_ctrlack;
    uint32_t gerror, gerrorn;
    uint64_t gerror_irq_cfg0;
    uint32_t gerror_irq_cfg1, gerror_irq_cfg2;
    uint64_t strtab_base;
    uint32_t strtab_base_cfg;
    smmu_queue cmdq, evtq, priq;
    uint64_t evtq_irq_cfg0;
    uint32_t evtq_irq_cfg1, evtq_irq_cfg2;
    uint64_t priq_irq_cfg0;
    uint32_t priq_irq_cfg1, priq_irq_cfg2;

    /* configuration cache */
    vp_setassoc cc;            /* smmu_cc_entry */
    uint64_t pending_ps;       /* lookup latency gathered during one operation, charged once at its end */
    smmu_ste_cfg ste_uncached; /* results when the cache is disabled (sets == 0) */
    smmu_cd_cfg cd_uncached;

    /* derived from the ID registers */
    uint8_t oas_bits;
    bool in_cmdq;   /* re-entrancy guard: a CMD_SYNC MSI may land in our own registers through the host */
    bool cmd_retry; /* the command at CONS already ran once and blocked: no second trace line or count */
    uint64_t cmdq_wake_ps; /* a blocked command's timeout */

    /* ATS invalidations sent and not yet completed (smmu_atc_inv.c). */
    smmu_atc_inv atc_inv[SMMU_ATC_INV_MAX];
    unsigned atc_inv_count;

    /* Stalled transactions (smmu_stall.c): IDR5.STALL_MAX entries (none with STALL_MODEL = 1). */
    smmu_stall_entry *stalls;
    unsigned stall_max, stall_used, stall_pending;
    uint16_t next_stag;
    uint64_t stall_seq;

    smmu_counters st;
};

/* Every public entry point that can call the host runs between these two: callbacks get `call`, and a nested
 * entry (a host callback that re-enters the core) restores the outer one when it returns. */
static inline smmu_call *smmu_call_enter(smmu *s, smmu_call *call) {
    smmu_call *outer = s->call;
    s->call = call;
    smmu_engine_set_call(s->eng, call);
    return outer;
}
static inline void smmu_call_leave(smmu *s, smmu_call *outer) {
    s->call = outer;
    smmu_engine_set_call(s->eng, outer);
}

/* ID register helpers. */
static inline bool smmu_has(const smmu *s, unsigned idr, uint64_t mask) {
    return (s->p.idr[idr] & mask) != 0;
}
static inline unsigned smmu_idr_field(const smmu *s, unsigned idr, uint64_t mask) {
    return (unsigned)SMMU_FIELD_GET(mask, s->p.idr[idr]);
}
static inline bool smmu_enabled(const smmu *s) {
    return (s->cr0ack & SMMU_CR0_SMMUEN) != 0;
}
static inline uint64_t smmu_oas_mask(const smmu *s) {
    return (UINT64_C(1) << s->oas_bits) - 1u;
}

/* Every access of the control plane (STE, CD, queue, MSI) leaves the core through these two. IHI0070 3.4.3:
 * queue and MSI addresses and STE fetch addresses beyond the OAS are truncated to it (for STE fetches the
 * architecture also permits F_STE_FETCH); CD and L1CD addresses beyond it never get here, their callers raise
 * C_BAD_STE or C_BAD_SUBSTREAMID instead (smmu_config.c). The engine's table walks report Address Size faults
 * before any access beyond it. */
static inline bool smmu_mem_read(smmu *s, smmu_mem_kind kind, uint64_t pa, void *buf, unsigned len,
                                 const smmu_mem_attrs *attrs) {
    return s->host.mem_read &&
           s->host.mem_read(s->host_ctx, s->call, kind, pa & smmu_oas_mask(s), buf, len, attrs);
}
static inline bool smmu_mem_write(smmu *s, smmu_mem_kind kind, uint64_t pa, const void *buf, unsigned len,
                                  const smmu_mem_attrs *attrs) {
    return s->host.mem_write &&
           s->host.mem_write(s->host_ctx, s->call, kind, pa & smmu_oas_mask(s), buf, len, attrs);
}

/* Trace (no formatting cost when off). */
static inline bool smmu_tracing(const smmu *s) {
    return s->trace_on && s->host.trace;
}
/* One trace record: KIND (a word, see docs/trace.md) and its printf-formatted fields. */
void smmu_tracef(smmu *s, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define SMMU_TRACE(s, kind, ...)                                                                             \
    do {                                                                                                     \
        if (smmu_tracing(s))                                                                                 \
            smmu_tracef((s), (kind), __VA_ARGS__);                                                           \
    } while (0)

/* "0x1f", or "-" without a SubstreamID: for trace lines. buf holds at least 16 bytes. */
const char *smmu_ssid_str(char *buf, bool ssv, uint32_t ssid);

static inline void smmu_advance(smmu *s, uint64_t ps) {
    if (ps && s->host.advance)
        s->host.advance(s->host_ctx, s->call, ps);
}

/* ---- register file (smmu_regfile.c) ---- */
/* Every register at its reset value. */
void smmu_regs_reset(smmu *s);
/* Memory attributes of table fetches and queue accesses from CR1. */
smmu_mem_attrs smmu_cr1_table_attrs(const smmu *s);
smmu_mem_attrs smmu_cr1_queue_attrs(const smmu *s);

/* ---- configuration (smmu_config.c) ---- */
typedef enum smmu_cfg_status {
    SMMU_CFG_OK = 0,
    SMMU_CFG_FAULT, /* an event describes the problem */
} smmu_cfg_status;

/* Where a configuration lookup ended when it failed: the event to raise and its details. */
typedef struct smmu_cfg_fault {
    uint8_t event_id;
    uint64_t fetch_addr; /* F_STE_FETCH / F_CD_FETCH / F_WALK_EABT */
    smmu_fault s2_fault; /* nested CD fetch that faulted at stage 2 (event_id is its translation event) */
    bool has_s2_fault;
} smmu_cfg_fault;

/* False if memory could not be allocated. */
bool smmu_cc_init(smmu *s);
void smmu_cc_free(smmu *s);
void smmu_cc_clear(smmu *s);
/* Looks up or fetches the STE of sid. Returns NULL with *fault set on a configuration error. */
const smmu_ste_cfg *smmu_get_ste(smmu *s, uint32_t sid, smmu_cfg_fault *fault);
/* Looks up or fetches CD `index` of the STE *ste. Returns NULL with *fault set. A fetch inserts into the
 * cache and may evict the STE: *ste is then redirected to a copy in *ste_scratch. */
const smmu_cd_cfg *smmu_get_cd(smmu *s, uint32_t sid, const smmu_ste_cfg **ste, smmu_ste_cfg *ste_scratch,
                               uint32_t index, smmu_cfg_fault *fault);
void smmu_cc_inv_ste_range(smmu *s, uint32_t first_sid, uint64_t count, bool leaf);
void smmu_cc_inv_cd(smmu *s, uint32_t sid, uint32_t ssid, bool leaf);
void smmu_cc_inv_cd_all(smmu *s, uint32_t sid);
void smmu_cc_inv_all(smmu *s);
/* The event ID an engine fault is reported with. */
uint8_t smmu_fault_event_id(smmu_fault_type t);

/* ---- commands (smmu_cmd.c decodes, smmu_cmdq.c consumes and executes) ---- */
/* The queue may have work: tell the host, or consume it now without a cmdq_kick host. */
void smmu_cmdq_kick(smmu *s);
/* smmu_cmd_execute's answer when the command must wait and be executed again later. */
#define SMMU_CMD_BLOCKED 0x100u
/* Executes one command that decoded without error; returns its CERROR (0 on success) or SMMU_CMD_BLOCKED. */
unsigned smmu_cmd_execute(smmu *s, const smmu_cmd *cmd);

/* ---- ATS invalidation tracking (smmu_atc_inv.c) ---- */
/* Sends the Invalidate Request of CMD_ATC_INV `c`; SMMU_CMD_BLOCKED while its endpoint has no free ITag. */
unsigned smmu_atc_inv_send(smmu *s, const smmu_cmd *c);
/* For CMD_SYNC: true when no invalidation is outstanding. Otherwise false, with *deadline_ps the earliest
 * timeout, and *timed_out set once it has passed (the outstanding ones are then abandoned). */
bool smmu_atc_inv_synced(smmu *s, uint64_t *deadline_ps, bool *timed_out);
void smmu_atc_inv_reset(smmu *s);
static inline uint64_t smmu_now_ps(smmu *s) {
    return s->host.now_ps ? s->host.now_ps(s->host_ctx, s->call) : 0;
}

/* ---- events, GERROR, IRQ/MSI (smmu_evtq.c) ---- */
typedef struct smmu_event {
    uint8_t id;
    uint32_t sid;
    bool ssv;
    uint32_t ssid;
    uint64_t input_addr;
    bool rnw, ind, pnu;
    bool s2;
    uint8_t fclass;
    bool ttrnw;
    uint64_t ipa;        /* dword 3 as IPA[55:12] */
    uint64_t fetch_addr; /* dword 3 as FetchAddr[55:3] */
    uint16_t uut_reason;
    bool stall; /* a stall record: Stall = 1 and STAG (translation-related faults only) */
    uint16_t stag;
} smmu_event;

static inline void smmu_put_le64(uint8_t *b, uint64_t v) {
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* Builds and writes an event record with the fields its event type has (any other member of *ev is ignored).
 * Returns true if it reached the queue. */
bool smmu_event_record(smmu *s, const smmu_event *ev);
const char *smmu_event_name(unsigned id);
/* Encodes ev as the 4 doublewords of its record. */
void smmu_event_encode(const smmu_event *ev, uint64_t rec[4]);
/* Writes an already encoded stall record if the queue can take it now. A stall record is never dropped and
 * never overflows the queue: false means "not yet" (disabled, full, EVENTQ_ABT_ERR active, or the write
 * aborted, which activates EVENTQ_ABT_ERR), and the caller keeps it. */
bool smmu_event_write_stall(smmu *s, const uint64_t rec[4], uint32_t sid);
/* Activates GERROR bit(s) (no effect if already active) and signals the GERROR interrupt. */
void smmu_gerror_raise(smmu *s, uint32_t bit);
/* Sends an MSI; returns false on an abort. */
bool smmu_msi_write(smmu *s, uint64_t addr, uint32_t data, uint32_t cfg2_attr);
void smmu_irq_pulse(smmu *s, smmu_irq_line line);
/* Interrupt of a queue or of GERROR: an MSI when IDR0.MSI and cfg0 has an address (an abort activates
 * msi_abt_bit in GERROR), else a pulse on the wired line. */
void smmu_signal_irq(smmu *s, smmu_irq_line line, uint64_t cfg0, uint32_t cfg1, uint32_t cfg2,
                     uint32_t msi_abt_bit);

/* ---- PRI queue (smmu_priq.c) ---- */
/* CMD_PRI_RESP: sends the PRG Response. */
void smmu_pri_resp(smmu *s, const smmu_cmd *cmd);
void smmu_priq_stats(const smmu *s, void (*cb)(void *arg, const char *name, uint64_t value), void *arg);

/* ---- stall model (smmu_stall.c) ---- */
bool smmu_stall_init(smmu *s);
void smmu_stall_free(smmu *s);
/* Forgets every stall: a held transaction then finds no entry and aborts. */
void smmu_stall_reset(smmu *s);
/* Stalls the faulting transaction of *ev (Stall and STAG filled in here): its record is written now or kept
 * until the queue takes it. Returns false, doing nothing, when STALL_MAX transactions are stalled already;
 * else the STAG, with *written telling whether the record reached the queue. */
bool smmu_stall_begin(smmu *s, smmu_event *ev, uint16_t *stag, bool *written);
/* Writes the pending stall records, oldest first, while the queue takes them. */
void smmu_stall_flush(smmu *s);
static inline void smmu_stall_flush_pending(smmu *s) {
    if (s->stall_pending)
        smmu_stall_flush(s);
}
void smmu_stall_resume(smmu *s, const smmu_cmd *cmd);
void smmu_stall_term(smmu *s, uint32_t sid);
void smmu_stall_stats(const smmu *s, void (*cb)(void *arg, const char *name, uint64_t value), void *arg);

/* ---- parameters (smmu_params.c) ---- */
unsigned smmu_granule_supported_mask(const smmu_params *p); /* bit 12, 14, 16 for 4K/16K/64K */

#endif
