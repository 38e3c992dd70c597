/* Bare-metal SMMUv3 driver (Non-secure programming interface), in the spirit of Linux arm-smmu-v3: probe,
 * reset, command queue with CMD_SYNC completion by polling / wired IRQ / MSI, event queue, STE and CD
 * writers. Field layouts come from the SMMU model's own headers (components/smmuv3/core), defined once for
 * the project. */
#ifndef FWSMMU_SMMU_H
#define FWSMMU_SMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smmu_regs.h"
#include "smmu_structs.h"

#include <fwsmmu/io_pgtable.h>

struct smmu_features {
    uint32_t idr[6], iidr, aidr;
    bool s1p, s2p, two_level_strtab, cd2l, msi, sev, asid16, vmid16, ril, pri, ats, coherent;
    unsigned int httu;        /* IDR0.HTTU: 0 none, 1 AF, 2 AF+dirty */
    unsigned int stall_model; /* IDR0.STALL_MODEL */
    unsigned int ssid_bits, sid_bits;
    unsigned int cmdq_log2, evtq_log2, priq_log2; /* maximum queue sizes */
    unsigned int granules;                        /* bit 12/14/16 set for 4K/16K/64K */
    unsigned int oas_bits, oas_encoding;
};

/* How smmu_cmdq_sync waits for CMD_SYNC completion. */
enum smmu_sync_mode {
    SMMU_SYNC_POLL,         /* CS=NONE, poll CMDQ_CONS until it passes the SYNC */
    SMMU_SYNC_WIRED_IRQ,    /* CS=IRQ, no MSI address: the cmd-sync SPI fires */
    SMMU_SYNC_MSI_WORD,     /* CS=IRQ, MSI writes a sequence number to a memory word */
    SMMU_SYNC_MSI_SELF,     /* CS=IRQ, MSI writes 0 over the CMD_SYNC entry itself (Linux MSIPOLL) */
    SMMU_SYNC_MSI_DOORBELL, /* CS=IRQ, MSI to GICv2m MSI_SETSPI_NS: an SPI fires */
};

struct smmu_queue {
    uint64_t *base;
    unsigned int log2_entries;
    unsigned int entry_dwords;
    uint32_t prod, cons; /* software copies: index with the wrap bit just above it (CONS keeps OVACKFLG) */
};

struct smmu_event {
    uint8_t id;
    uint32_t sid, ssid;
    bool ssv, stall, rnw, ind, pnu, s2, nsipa;
    unsigned int event_class; /* 0 CD, 1 TT, 2 IN */
    uint16_t stag;
    uint64_t input_address, ipa, fetch_address;
};

#define SMMU_EVENT_LOG_SIZE 16U

struct smmu_init_options {
    unsigned int sid_bits;     /* stream table covers 2^sid_bits StreamIDs (capped by IDR1.SIDSIZE) */
    bool two_level_strtab;     /* 2-level table (when IDR0.ST_LEVEL allows it), split 8 */
    unsigned int cmdq_log2;    /* capped by IDR1.CMDQS */
    unsigned int evtq_log2;    /* capped by IDR1.EVENTQS */
    unsigned int priq_log2;    /* capped by IDR1.PRIQS (when IDR0.PRI) */
    bool bypass_when_disabled; /* GBPA.ABORT = 0 */
};

/* One PRI queue record (IHI0070 8.1). */
struct smmu_ppr {
    uint32_t sid, ssid;
    bool ssv, priv, exec, read, write, last;
    uint16_t grpid; /* PRG index, 9 bits */
    uint64_t address;
};

struct smmu_device;
/* Called by smmu_evtq_drain for every record it decodes (stall events, fault reporting). */
typedef void (*smmu_event_handler)(struct smmu_device *smmu, const struct smmu_event *event, void *context);
/* Called by smmu_priq_drain for every record; overflow = true once, after the records present, when the queue
 * had overflowed (the handler then drops the partial groups, whose Last the SMMU answered itself). */
typedef void (*smmu_ppr_handler)(struct smmu_device *smmu, const struct smmu_ppr *ppr, bool overflow,
                                 void *context);

struct smmu_device {
    uintptr_t base;
    struct smmu_features features;
    struct smmu_queue cmdq, evtq, priq;
    uint64_t *strtab;     /* linear table, or level-1 descriptors */
    uint64_t **strtab_l2; /* level-2 tables by L1 index (2-level only) */
    unsigned int strtab_sid_bits, strtab_split;
    bool two_level;

    enum smmu_sync_mode sync_mode;
    volatile uint32_t *sync_msi_word; /* SMMU_SYNC_MSI_WORD */
    uint32_t sync_sequence;
    uint32_t doorbell_intid; /* SMMU_SYNC_MSI_DOORBELL: the SPI's INTID written to MSI_SETSPI_NS */

    /* Updated by the interrupt handlers (and by polling). */
    volatile uint32_t cmd_sync_irqs, doorbell_irqs, evtq_irqs, gerror_irqs;
    volatile uint32_t gerror_seen;   /* GERROR value read by the last GERROR interrupt */
    volatile uint32_t gerror_active; /* errors active then (GERROR XOR GERRORN: a bit toggles each time) */
    uint32_t cerrors, last_cerror;
    uint32_t events_lost; /* event queue overflows seen */

    struct smmu_event events[SMMU_EVENT_LOG_SIZE];
    volatile uint32_t event_count; /* total decoded; events[i % SIZE] */

    smmu_event_handler event_handler;
    void *event_handler_context;
    volatile uint32_t priq_irqs;
    uint32_t priq_overflows;      /* PRI queue overflows seen (and acknowledged) */
    uint32_t pprs;                /* PRI queue records read */
    uint32_t atc_inv_sync_errors; /* CERROR_ATC_INV_SYNC recoveries */
    uint32_t msi_intid_evtq, msi_intid_priq, msi_intid_gerror; /* queue MSIs (smmu_setup_msis), 0: wired */
};

/* ---- probe, reset, enable ---- */
/* Reads and decodes the ID registers. Returns false if this is not an SMMUv3 the driver can drive. */
bool smmu_probe(struct smmu_device *smmu, uintptr_t base);
void smmu_print_features(const struct smmu_device *smmu);
void smmu_default_init_options(struct smmu_init_options *options);
/* Full reset as Linux does: disable, GBPA, CR1/CR2, stream table (every STE abort), queues, CMDQEN, CFGI_ALL
 * + TLBI_NSNH_ALL + SYNC, EVENTQEN (+PRIQEN), SMMUEN. Returns false (and prints why) on failure. */
bool smmu_init(struct smmu_device *smmu, const struct smmu_init_options *options);
/* CR0 handshake: writes CR0 and waits for CR0ACK to match. */
bool smmu_write_cr0(struct smmu_device *smmu, uint32_t value);
/* GBPA Update handshake; abort = true makes incoming traffic abort while SMMUEN = 0. */
bool smmu_set_gbpa_abort(struct smmu_device *smmu, bool abort);
/* Clears SMMUEN (queues stay on) or sets it again. */
bool smmu_set_enabled(struct smmu_device *smmu, bool enabled);
/* Disables everything (CR0 = 0) and leaves GBPA as it is. */
bool smmu_disable(struct smmu_device *smmu);

/* ---- interrupts ---- */
/* Registers handlers for the evtq, cmd-sync and gerror SPIs (edge) and enables GERROR and EVTQ IRQs in
 * IRQ_CTRL. The caller unmasks IRQs at the CPU. */
bool smmu_setup_irqs(struct smmu_device *smmu);

/* ---- command queue ---- */
/* Queues one command (two dwords), waiting for room. Does not wait for it to be consumed. */
bool smmu_cmdq_issue(struct smmu_device *smmu, uint64_t dword0, uint64_t dword1);
/* Issues a CMD_SYNC and waits for it with smmu->sync_mode (the IRQ modes need smmu_setup_irqs and IRQs
 * unmasked at the CPU, MSI modes need IDR0.MSI). Handles command errors on the way (CERROR: the bad command
 * is replaced by a CMD_SYNC as Linux does, then GERRORN acknowledges). Returns false on timeout. */
bool smmu_cmdq_sync(struct smmu_device *smmu);
/* Convenience: issue + sync. */
bool smmu_cmd(struct smmu_device *smmu, uint64_t dword0, uint64_t dword1);
/* GERROR bits currently active (GERROR XOR GERRORN). */
uint32_t smmu_gerror_active(const struct smmu_device *smmu);

bool smmu_cfgi_ste(struct smmu_device *smmu, uint32_t sid);
bool smmu_cfgi_cd(struct smmu_device *smmu, uint32_t sid, uint32_t ssid);
bool smmu_cfgi_all(struct smmu_device *smmu);
bool smmu_tlbi_nsnh_all(struct smmu_device *smmu);

/* ---- event queue ---- */
/* Decodes every new record into smmu->events, handles overflow; returns how many were read. */
unsigned int smmu_evtq_drain(struct smmu_device *smmu);
void smmu_print_event(const struct smmu_event *event);
/* The i-th event decoded since start (i < event_count). */
const struct smmu_event *smmu_event_at(const struct smmu_device *smmu, uint32_t index);
/* Recovery after EVENTQ_ABT_ERR (the SMMU could not write a record): EVENTQEN off, EVENTQ_BASE again from
 * smmu->evtq with PROD = CONS = 0, EVENTQEN on, then GERRORN acknowledges the error if it is still active.
 * Records lost while the queue aborted are not recovered. */
bool smmu_evtq_restart(struct smmu_device *smmu);

/* ---- PRI queue ---- */
/* Reads every record from CONS to PROD, calling `handler` for each; on overflow (PROD.OVFLG != OVACKFLG)
 * calls it once more with overflow = true, then writes CONS with OVACKFLG = OVFLG in the same write that
 * moves RD (IHI0070 8.1.1). Returns the records read. */
unsigned int smmu_priq_drain(struct smmu_device *smmu, smmu_ppr_handler handler, void *context);

/* ---- ATS, PRI and stall commands ---- */
/* CMD_ATC_INV for [address, address + size) (size 0: the whole space, Size = 52), in Linux's encoding: one
 * command whose span, 4 KiB * 2^Size aligned, covers the range. ssv: only the PASID's entries. Not synced. */
bool smmu_atc_inv(struct smmu_device *smmu, uint32_t sid, bool ssv, uint32_t ssid, uint64_t address,
                  uint64_t size);
/* CMD_PRI_RESP: resp is the command's encoding (0 Response Failure, 1 Invalid Request, 2 Success). Not
 * synced: the SMMU gives no completion guarantee for it (Linux sends no SYNC either). */
#define SMMU_PRI_RESP_FAILURE 0U
#define SMMU_PRI_RESP_INVALID 1U
#define SMMU_PRI_RESP_SUCCESS 2U
bool smmu_pri_resp(struct smmu_device *smmu, uint32_t sid, bool ssv, uint32_t ssid, uint16_t grpid,
                   unsigned int resp);
/* CMD_RESUME for a stalled transaction: retry, or terminate with abort. */
bool smmu_resume(struct smmu_device *smmu, uint32_t sid, uint16_t stag, bool retry);
/* CMD_STALL_TERM: every stalled transaction of the stream is terminated (after its STE aborts new ones). */
bool smmu_stall_term(struct smmu_device *smmu, uint32_t sid);
/* TLBI_NH_ASID (+ SYNC). */
bool smmu_tlbi_asid(struct smmu_device *smmu, uint16_t asid, uint16_t vmid);
/* Queue interrupts as MSIs to the GICv2m doorbell (IDR0.MSI): EVENTQ, PRIQ and GERROR_IRQ_CFG0/1/2, one SPI
 * each from first_intid, handlers as smmu_setup_irqs. False without MSI support. */
bool smmu_setup_msis(struct smmu_device *smmu, uint64_t doorbell, uint32_t first_intid);

/* ---- stream table and context descriptors ---- */
/* Writes an STE in Linux order: dwords 1..7, CFGI_STE + SYNC, then dword 0, CFGI_STE + SYNC. */
bool smmu_write_ste(struct smmu_device *smmu, uint32_t sid, const uint64_t ste[SMMU_STE_DWORDS]);
bool smmu_ste_abort(struct smmu_device *smmu, uint32_t sid);
bool smmu_ste_bypass(struct smmu_device *smmu, uint32_t sid);
/* A linear CD table of 2^s1cdmax CDs (0: one CD, no substreams). */
uint64_t *smmu_alloc_cd_table(unsigned int s1cdmax);
/* Stage-1 CD for stage-1 tables: TTB0, T0SZ, TG0, IR0/OR0/SH0, IPS (capped by the SMMU's OAS) and MAIR from
 * the io-pgtable cfg outputs (TTB0 includes table_pa_offset: an IPA when nested). EPD1, AA64, R, A, ASET.
 * Writes dwords 1..3, CFGI_CD + SYNC, then dword 0, CFGI_CD + SYNC (when the STE is already live). */
bool smmu_write_cd(struct smmu_device *smmu, uint32_t sid, uint64_t *cd_table, uint32_t ssid, uint16_t asid,
                   const struct io_pgtable_cfg *s1);
/* Everything an STE can be built from (Linux's arm_smmu_make_*_ste). */
struct smmu_ste_config {
    unsigned int config;             /* SMMU_STE_CONFIG_ABORT / BYPASS / S1 / S2 / NESTED */
    uint64_t cd_table;               /* S1ContextPtr (PA, or IPA when nested) */
    unsigned int s1fmt;              /* SMMU_STE_S1FMT_LINEAR or _2LVL_4K */
    unsigned int s1cdmax;            /* log2 of the CDs (0: no substreams) */
    unsigned int s1dss;              /* SMMU_STE_S1DSS_*: non-PASID traffic when s1cdmax > 0 */
    const struct io_pgtable_cfg *s2; /* S2 / NESTED */
    uint16_t vmid;
    bool ats;   /* EATS = 01 (full ATS) */
    bool ppar;  /* PRI overflow auto-responses carry the PASID (the device needs it in responses) */
    bool stall; /* S1STALLD = 0 although STALL_MODEL = 0: the master may stall */
};
void smmu_build_ste(const struct smmu_device *smmu, const struct smmu_ste_config *config,
                    uint64_t ste[SMMU_STE_DWORDS]);
/* Stage 1 only: cd_table_address is a PA. */
bool smmu_ste_stage1(struct smmu_device *smmu, uint32_t sid, uint64_t cd_table_address, unsigned int s1cdmax);
/* Stage 2 only: S2TTB, S2T0SZ, S2SL0, S2TG, S2PS, ... from the cfg outputs of stage-2 tables. */
bool smmu_ste_stage2(struct smmu_device *smmu, uint32_t sid, const struct io_pgtable_cfg *s2, uint16_t vmid);
/* Nested: cd_table_address is an IPA that s2 translates. */
bool smmu_ste_nested(struct smmu_device *smmu, uint32_t sid, uint64_t cd_table_address, unsigned int s1cdmax,
                     const struct io_pgtable_cfg *s2, uint16_t vmid);

/* ---- TLB maintenance ---- */
/* Stage 1: TLBI_NH_VA per 4 KiB page or range commands (IDR3.RIL), then CMD_SYNC. */
bool smmu_tlbi_s1_range(struct smmu_device *smmu, uint16_t asid, uint16_t vmid, uint64_t iova, uint64_t size);
/* Stage 1, leaf and walk-cache entries (Leaf = 0): for tables that may have been freed; one TLBI_NH_ASID when
 * the range needs more than 64 commands without RIL. Then CMD_SYNC. */
bool smmu_tlbi_s1_range_walk(struct smmu_device *smmu, uint16_t asid, uint16_t vmid, uint64_t iova,
                             uint64_t size);
/* Stage 2: TLBI_S2_IPA likewise, then CMD_SYNC. */
bool smmu_tlbi_s2_range(struct smmu_device *smmu, uint16_t vmid, uint64_t ipa, uint64_t size);

/* The cookie of io-pgtable tables the SMMU walks: whose TLB entries their changes invalidate. */
struct smmu_tlb_domain {
    struct smmu_device *smmu;
    unsigned int stage; /* 1: TLBI_NH_VA / NH_ASID by ASID and VMID; 2: TLBI_S2_IPA + NH_ALL / S12_VMALL */
    uint16_t asid, vmid;
    unsigned int granule_shift; /* the tables' granule: TLBI range TG and TTL */
    uint32_t invalidations;     /* invalidation batches issued (each ends with a CMD_SYNC) */
    bool failed;                /* a command or CMD_SYNC timed out */
};

/* io-pgtable callbacks issuing the SMMU's invalidations (Linux arm_smmu_flush_ops + iotlb_sync): leaves are
 * gathered into one range (a leaf of another size or a disjoint one syncs the batch first); walk flushes are
 * non-leaf range invalidations; more than 64 commands without IDR3.RIL become one ASID/VMID invalidation. */
extern const struct iommu_flush_ops smmu_flush_ops;
/* Tables of `stage` whose TLB maintenance goes to this SMMU for asid/vmid: fills *domain, sets cfg->tlb, and
 * defaults cfg->granule (4 KiB), ias and oas (48/48 for stage 1, 40/40 for stage 2) when they are 0. */
struct io_pgtable_ops *smmu_alloc_pgtable(struct smmu_tlb_domain *domain, struct smmu_device *smmu,
                                          unsigned int stage, uint16_t asid, uint16_t vmid,
                                          struct io_pgtable_cfg *cfg);

#endif
