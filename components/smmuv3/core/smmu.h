/* SMMUv3 architectural core: public API used by the SystemC shell and by unit tests. No SystemC inside. */
#ifndef SMMU_H
#define SMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smmu_host.h"
#include "smmu_xlate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the register space: page 0 and page 1. */
#define SMMU_REG_SPACE_SIZE 0x20000u

/* Everything an architect may sweep. Defaults from smmu_params_default(). */
typedef struct smmu_params {
    /* Raw ID register values, as the FVP model takes them. IIDR and AIDR too. */
    uint32_t idr[6];
    uint32_t iidr;
    uint32_t aidr;
    smmu_engine_params engine;
    smmu_cache_params config_cache; /* STE and CD cache */
    uint64_t cmd_ps;                /* processing time per command */
    uint64_t event_ps;              /* time to build and write one event record (besides the memory write) */
    uint64_t reg_access_ps;         /* register access latency */
    uint64_t msi_ps;                /* time to issue one MSI write (besides the memory write itself) */
    /* ATS invalidation (CMD_ATC_INV): a CMD_SYNC waiting longer than this for an endpoint's completions ends
     * with CERROR_ATC_INV_SYNC; and the invalidations one endpoint (StreamID) may have outstanding, the
     * SMMU's view of the endpoint's Invalidate Queue Depth (1..32, the number of ITags). */
    uint64_t atc_inv_timeout_ps;
    uint32_t atc_inv_queue_depth;
} smmu_params;

/* A default SMMUv3.2-like envelope (S1P, S2P, nested, 2-level ST and CD, ASID16/VMID16, HTTU A+D, MSI, SEV,
 * RIL, XNX, FWB, BBML level 2, 4K/16K/64K, OAS 48, SSIDSIZE 20, SIDSIZE 16, queues >= 2^7, ATS and PRI
 * (PRI needs ATS), STALL_MODEL 0 (stall and terminate) with STALL_MAX 8. */
void smmu_params_default(smmu_params *p);

/* Checks that the ID registers describe a possible SMMU (e.g. nested without S1P/S2P, STALL_MODEL 3, a queue
 * size above 19, no granule at all). Returns true if valid, else false with a one-line reason in err. */
bool smmu_params_validate(const smmu_params *p, char *err, size_t err_len);

typedef struct smmu smmu;

/* Returns NULL if the parameters are invalid (call smmu_params_validate first for the reason). */
smmu *smmu_create(const smmu_params *p, const smmu_host_ops *host, void *host_ctx);
void smmu_destroy(smmu *s);
/* Reset state: every register at its reset value, caches empty. */
void smmu_reset(smmu *s);

/* Every entry point that may call the host takes the host's context of the call (smmu_call, see
 * smmu_host.h), passed back to each callback it makes. */

/* Register access at `offset` in the 128 KiB space; size 4 or 8 bytes, naturally aligned. Returns false for
 * accesses the architecture does not allow (wrong size/alignment), which the shell answers with a bus error;
 * reserved offsets are RAZ/WI and return true. Writes to CMDQ_PROD, CR0 etc. do their work before returning
 * (command processing, enabling queues), charging the time via host->advance. */
bool smmu_reg_read(smmu *s, smmu_call *call, uint64_t offset, unsigned size, uint64_t *value);
/* The same value without counting or charging time: for observers (waveforms), whose reads are not the
 * guest's. */
bool smmu_reg_peek(smmu *s, uint64_t offset, unsigned size, uint64_t *value);
bool smmu_reg_write(smmu *s, smmu_call *call, uint64_t offset, unsigned size, uint64_t value);

/* An incoming transaction and its identity (the shell fills this from the TLM extension). */
typedef enum smmu_pcie_at {
    SMMU_AT_UNTRANSLATED = 0,
    SMMU_AT_TRANSLATION_REQ = 1,
    SMMU_AT_TRANSLATED = 2
} smmu_pcie_at;

typedef struct smmu_txn {
    uint32_t sid;
    uint32_t ssid;
    bool ssv;
    bool secure; /* Secure stream: this model implements only the Non-secure programming interface */
    uint64_t addr;
    uint32_t len; /* bytes; the transaction must not cross the translation it gets (the shell splits) */
    smmu_access acc;
    smmu_pcie_at at;
    bool no_write; /* ATS translation request: NW */
    /* The master can hold this transaction while it stalls (a platform device's port). PCIe traffic never
     * can: there a fault that would stall terminates like any other (IHI0070 3.12). */
    bool stall_capable;
} smmu_txn;

typedef enum smmu_result_status {
    SMMU_XLATE_OK = 0,  /* pass downstream to `pa` */
    SMMU_XLATE_ABORT,   /* terminate with an abort (TLM error response, PCIe UR/CA for ATS) */
    SMMU_XLATE_RAZ_WI,  /* terminate: reads return zero, writes are ignored, success response */
    SMMU_XLATE_STALLED, /* held by the master until smmu_stall_outcome(sid, stag) answers */
} smmu_result_status;

typedef struct smmu_result {
    smmu_result_status status;
    uint64_t pa;
    uint8_t size_shift; /* span over which pa - addr stays constant and the permissions apply (for DMI) */
    bool read, write, exec;
    bool bypass; /* no translation was applied (SMMUEN=0 with GBPA bypass, or STE bypass) */
    uint8_t mem_attr, share;
    bool event_recorded; /* an event record was written for this transaction */
    uint8_t event_id;    /* the event raised (recorded or not), 0 if none */
    uint16_t stag;       /* SMMU_XLATE_STALLED: the STAG of the stall record */
} smmu_result;

/* One upstream transaction. A Translation Request (at == SMMU_AT_TRANSLATION_REQ) belongs to
 * smmu_ats_translate: here it aborts (with F_UUT when the SMMU has no ATS, IDR0.ATS == 0). */
void smmu_translate(smmu *s, smmu_call *call, const smmu_txn *txn, smmu_result *res);

/* For a transaction held after SMMU_XLATE_STALLED: still stalled (SMMU_STALL_WAITING), or what CMD_RESUME /
 * CMD_STALL_TERM made of it. Any other answer ends the stall (its STAG is free again); a (sid, stag) the SMMU
 * does not hold answers SMMU_STALL_ABORT. Makes no host call. */
smmu_stall_action smmu_stall_outcome(smmu *s, uint32_t sid, uint16_t stag);

/* Status of an ATS Translation Completion, with the PCIe Completion Status encoding. */
typedef enum smmu_ats_status {
    SMMU_ATS_SUCCESS = 0, /* SC: the entry below applies (R = W = 0 denies access) */
    SMMU_ATS_UR = 1,      /* Unsupported Request: ATS is not enabled for the stream */
    SMMU_ATS_CA = 4,      /* Completer Abort: configuration error or external abort */
} smmu_ats_status;

/* The one translation entry of an ATS Translation Completion (IHI0070 3.9.1, 13.7). */
typedef struct smmu_ats_result {
    smmu_ats_status status;
    uint64_t addr;          /* translated address of the range, aligned to 2^size_log2 */
    uint8_t size_log2;      /* the range covers 2^size_log2 bytes, at least 12 (the completion's S from it) */
    bool read, write;       /* R, W */
    bool exec, priv;        /* Exe, Priv: 0 without a PASID */
    bool global;            /* Global: never with a PASID */
    bool untranslated_only; /* U */
    bool non_snooped;       /* N */
    bool event_recorded;    /* an event record was written for this request */
    uint8_t event_id;       /* the event raised (recorded or not), 0 if none */
} smmu_ats_result;

/* Answers an ATS Translation Request: t->addr, t->sid, t->ssv/ssid (PASID), t->acc.priv/exec (the PASID
 * prefix's Priv/Exe, ignored without a PASID) and t->no_write (NW); t->at and t->acc.write are ignored. Uses
 * the configuration resolution and the engine of smmu_translate (HTTU updates included) and records only
 * the events the architecture lists for Translation Requests. */
void smmu_ats_translate(smmu *s, smmu_call *call, const smmu_txn *t, smmu_ats_result *r);

/* The command queue as a process of the host (see smmu_host_ops.cmdq_kick). One step consumes at most one
 * command; the host charges cmd_ps for it. */
typedef enum smmu_cmdq_status {
    SMMU_CMDQ_IDLE = 0, /* nothing to consume: disabled, empty or CMDQ_ERR active */
    SMMU_CMDQ_PROGRESS, /* one command consumed (or it raised a command error) */
    SMMU_CMDQ_BLOCKED,  /* the command at CONS must wait: a CMD_SYNC for ATC invalidation completions, or
                         * a CMD_ATC_INV for a free ITag of its endpoint. Step again on cmdq_kick or at
                         * *wake_ps (a timeout), whichever comes first */
} smmu_cmdq_status;
smmu_cmdq_status smmu_cmdq_step(smmu *s, smmu_call *call, uint64_t *wake_ps);
/* Consumes commands until the queue is idle or blocked, charging cmd_ps for each (what the core does by
 * itself without a cmdq_kick host). */
smmu_cmdq_status smmu_cmdq_run(smmu *s, smmu_call *call);
/* An ATS Invalidate Completion from the endpoint of `sid`: bit n of itag_vector completes ITag n;
 * completion_count is the message's CC (0 means 8), the number of completions the endpoint sends for each. */
void smmu_ats_inv_completion(smmu *s, smmu_call *call, uint32_t sid, uint32_t itag_vector,
                             unsigned completion_count);

/* Text trace on/off (host->trace must be set for lines to appear). */
void smmu_set_trace(smmu *s, bool on);

/* What the SMMU is doing now, for waveforms (no side effects, no host call): the table walk in progress
 * (walk_stage 1 or 2 and the level of its last step; walk_stage 0 when none is) and the hits and misses of
 * each cache so far. */
typedef struct smmu_activity {
    uint8_t walk_stage;
    int8_t walk_level;
    uint64_t tlb_hits, tlb_misses;
    uint64_t walk_cache_hits, walk_cache_misses;
    uint64_t config_cache_hits, config_cache_misses;
} smmu_activity;
void smmu_get_activity(const smmu *s, smmu_activity *a);

/* A PRI Page Request (or Stop Marker) from a PCIe endpoint, as the root complex delivers it (IHI0070 chapter
 * 8). A Stop Marker is last = 1, read = write = 0 with ssv = 1; the same bits without a PASID are an ordinary
 * request. */
typedef struct smmu_page_req {
    uint32_t sid;
    bool ssv; /* with a PASID prefix */
    uint32_t ssid;
    bool exec, priv; /* from the PASID prefix: 0 without one */
    bool read, write, last;
    uint16_t prg_index; /* 9 bits */
    uint64_t addr;      /* page address: bits [11:0] are ignored */
    bool secure;        /* from a Secure stream: answered with Response Failure */
} smmu_page_req;

typedef enum smmu_pri_outcome {
    SMMU_PRI_QUEUED = 0, /* written to the PRI queue */
    SMMU_PRI_ANSWERED,   /* not queued; the SMMU sent a PRG Response by itself */
    SMMU_PRI_DISCARDED,  /* not queued and not answered (Last = 0 in overflow, a Stop Marker) */
} smmu_pri_outcome;

/* Delivers one page request: writes it to the PRI queue, or answers it with an automatic PRG Response through
 * host->send_msg when the queue cannot take it (disabled, PRIQ_ABT_ERR, overflow, Secure stream, an abort
 * writing the entry). */
smmu_pri_outcome smmu_page_request(smmu *s, smmu_call *call, const smmu_page_req *req);

/* Statistics of the whole SMMU (registers, commands by type, events by type, config cache, engine). */
void smmu_stats(const smmu *s, void (*cb)(void *arg, const char *name, uint64_t value), void *arg);

#ifdef __cplusplus
}
#endif

#endif
