/* The SMMUv3 architectural core reaches the outside world only through this interface. The SystemC shell
 * implements it with TLM sockets; unit tests implement it with a plain memory array. */
#ifndef SMMU_HOST_H
#define SMMU_HOST_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why the core touches memory: lets the host route, time and trace each kind separately. */
typedef enum smmu_mem_kind {
    SMMU_MEM_STE,   /* stream table and L1STD fetches */
    SMMU_MEM_CD,    /* context descriptors and L1CD fetches */
    SMMU_MEM_TT,    /* translation table walks and HTTU updates */
    SMMU_MEM_QUEUE, /* command fetch, event / PRI record writes */
    SMMU_MEM_MSI,   /* MSI writes (IRQ_CFG and CMD_SYNC completions) */
} smmu_mem_kind;

/* Memory attributes of a core-initiated access (from CR1, STE/CD walk attributes or MSI config). They do not
 * change functional results in this model but are traced and passed to the interconnect. */
typedef struct smmu_mem_attrs {
    uint8_t cache;       /* inner cacheability: 0 NC, 1 WB, 2 WT (CR1 encoding); MSIs: MemAttr[3:0] */
    uint8_t outer_cache; /* outer cacheability, same encoding (MSIs: 0, MemAttr holds both) */
    uint8_t share;       /* 0 NSH, 2 OSH, 3 ISH; always 2 for Device and for Non-cacheable at both levels */
    bool ns;             /* non-secure physical address space */
} smmu_mem_attrs;

/* The host's context of one call into the core (smmu_reg_read/write, smmu_translate, ...): the core passes it
 * back unchanged to every callback made during that call. The SystemC shell keeps the annotated delay of the
 * transaction being served there, so calls from several processes (a stalled transaction retried, a register
 * write, unrelated DMA) never share one. Opaque to the core; may be NULL. */
typedef struct smmu_call smmu_call;

/* Messages the SMMU sends toward PCIe endpoints, through the root complex. */
typedef enum smmu_msg_kind {
    SMMU_MSG_ATS_INV_REQ = 1, /* ATS Invalidate Request (from CMD_ATC_INV) */
    SMMU_MSG_PRG_RESP = 2,    /* PRI Page Request Group Response (CMD_PRI_RESP or an automatic response) */
} smmu_msg_kind;

/* PRG Response codes (PCIe Response Code field). */
enum { SMMU_PRG_SUCCESS = 0x0, SMMU_PRG_INVALID_REQUEST = 0x1, SMMU_PRG_RESPONSE_FAILURE = 0xF };

typedef struct smmu_msg {
    smmu_msg_kind kind;
    uint32_t sid;  /* StreamID of the endpoint (the root complex maps it back to a Requester ID) */
    bool ssv;      /* with a PASID prefix */
    uint32_t ssid; /* the PASID */
    /* ATS Invalidate Request */
    uint64_t addr;     /* first byte of the range, aligned to its size */
    uint8_t size_log2; /* the range is 2^size_log2 bytes (12..64) */
    bool global;       /* Global Invalidate (only with ssv) */
    uint8_t itag;      /* 0..31 */
    /* PRG Response */
    uint16_t prg_index; /* 9 bits */
    uint8_t response;   /* SMMU_PRG_* */
} smmu_msg;

typedef enum smmu_irq_line {
    SMMU_IRQ_EVTQ = 0,
    SMMU_IRQ_PRIQ = 1,
    SMMU_IRQ_CMD_SYNC = 2,
    SMMU_IRQ_GERROR = 3,
    SMMU_IRQ_COUNT
} smmu_irq_line;

/* What became of a stalled transaction (IHI0070 3.12.2, 4.7): smmu_stall_outcome's answer and the action
 * stall_resolved reports. */
typedef enum smmu_stall_action {
    SMMU_STALL_WAITING = 0, /* still stalled, or its stall record is not written yet: keep holding it */
    SMMU_STALL_RETRY,       /* CMD_RESUME with Ac = 1: translate it again, as a new transaction */
    SMMU_STALL_ABORT,  /* terminated with an abort (CMD_RESUME Ab = 1 or TERM_MODEL = 1, CMD_STALL_TERM) */
    SMMU_STALL_RAZ_WI, /* terminated: reads return zero, writes are ignored (CMD_RESUME Ab = 0) */
} smmu_stall_action;

typedef struct smmu_host_ops {
    /* Read/write len bytes (1..64, naturally aligned for 4/8) at physical address pa. Return true on success,
     * false on an external abort (decode error, slave error). Little-endian byte order in buf. */
    bool (*mem_read)(void *ctx, smmu_call *call, smmu_mem_kind kind, uint64_t pa, void *buf, unsigned len,
                     const smmu_mem_attrs *attrs);
    bool (*mem_write)(void *ctx, smmu_call *call, smmu_mem_kind kind, uint64_t pa, const void *buf,
                      unsigned len, const smmu_mem_attrs *attrs);
    /* Atomic 64-bit compare-and-swap for HTTU descriptor updates: if *pa == expected store desired.
     * *observed receives the old value. Return false on an external abort. */
    bool (*mem_cas64)(void *ctx, smmu_call *call, uint64_t pa, uint64_t expected, uint64_t desired,
                      uint64_t *observed, const smmu_mem_attrs *attrs);
    /* Wired interrupt outputs. Level-style: the core drives a pulse as set(true) then set(false). */
    void (*irq_set)(void *ctx, smmu_call *call, smmu_irq_line line, bool level);
    /* Time the core spends (cache lookups, command processing), in picoseconds, added to the current
     * operation's annotated delay. May be NULL. */
    void (*advance)(void *ctx, smmu_call *call, uint64_t ps);
    /* Any invalidation that could change a translation or configuration completed: the host must drop every
     * cached translation it handed out (DMI pointers upstream). May be NULL. */
    void (*translations_changed)(void *ctx, smmu_call *call);
    /* One record of the deterministic text trace: KIND is one word (docs/trace.md lists them), FIELDS the
     * rest of the line (space-separated key=value words, may be empty). The host adds time and component.
     * May be NULL; the core formats records only when it is set and tracing is enabled. */
    void (*trace)(void *ctx, smmu_call *call, const char *kind, const char *fields);
    /* Sends a message toward the endpoint of msg->sid (ATS invalidation, PRG response). Returns false if no
     * endpoint can receive it (then the core treats it as answered: an invalidation completes with no
     * guarantee, as after an Unsupported Request). May be NULL (no PCIe: every message is undeliverable). */
    bool (*send_msg)(void *ctx, smmu_call *call, const smmu_msg *msg);
    /* Simulated time of the call in progress, in picoseconds (the host's time plus what the call has spent so
     * far): for timeouts. May be NULL (time stands still). */
    uint64_t (*now_ps)(void *ctx, smmu_call *call);
    /* The command queue may have work (CMDQ_PROD written, CMDQEN set, CMDQ_ERR acknowledged, an ATC
     * invalidation completed): the host consumes it from a process of its own with smmu_cmdq_step, taking
     * the core's cmd_ps per command. May be NULL: the core then consumes the queue at once, inside the call
     * that made it runnable (unit tests). */
    void (*cmdq_kick)(void *ctx, smmu_call *call);
    /* A command resolved the stalled transaction (sid, stag): the host wakes the process holding it, which
     * asks smmu_stall_outcome. Called at most once per stall, from the call that consumed the command. May be
     * NULL (the host polls smmu_stall_outcome). */
    void (*stall_resolved)(void *ctx, smmu_call *call, uint32_t sid, uint16_t stag, smmu_stall_action action);
} smmu_host_ops;

#ifdef __cplusplus
}
#endif

#endif
