/* The SMMU driver's IOMMU API, shaped like Linux's: devices ("masters": a StreamID, maybe a PCI function with
 * ATS / PRI / PASID), domains (an io-pgtable address space) attached to them, map/unmap with strict or
 * batched (iotlb gather) invalidation, Shared Virtual Addressing (a process address space bound to a device
 * through a PASID) and I/O page faults (PRI page request groups, stall events).
 *
 * Linux behaviour mirrored (see /work/shared/protocol-facts.md section 7):
 * - A master's STE points at its CD table (linear, or 2-level with 4 KiB leaves when the PASID space needs
 *   more than 64 CDs); CD 0 is the RID domain's (S1DSS = SSID0), CD n the SVA bond of PASID n.
 * - ATS is enabled after the STE has EATS and the ATC was invalidated; disabled before EATS goes.
 * - Unmap: TLBI (range when IDR3.RIL), CMD_SYNC, then CMD_ATC_INV for every ATS master, CMD_SYNC.
 * - SVA: one PASID per mm, reused by every device the mm is bound to; binding twice returns the same
 *   refcounted handle; the CD shares the CPU's tables (TTB0 = pgd, ASID = the mm's, TCR/MAIR mirrored, EPD1,
 *   ASET = 0). Process exit quiesces the CD with EPD0 (V stays 1), TLBI by ASID and invalidates ATCs; later
 *   page requests are answered Invalid Request. Unbind clears the CD, drains the PRI queue, invalidates, and
 *   only then frees the PASID.
 * - I/O page faults: page requests are collected per device until Last, the group is resolved against the
 *   mm (mm_populate_page) and answered once (CMD_PRI_RESP); stop markers are discarded; after a PRI queue
 *   overflow partial groups are dropped. Stall events (the platform DMA master) are one-fault groups whose
 *   answer is CMD_RESUME retry or abort.
 *
 * Faults are processed by iommu_process_faults(), which a program calls from its wait loops (the PRIQ and
 * EVTQ interrupts may wake it, but handling never runs in IRQ context, so the mm and the command queue are
 * never touched re-entrantly).
 *
 * Trace lines in the kernel's trace-event style are printed on the UART, one per step:
 *   smmu_bind_alloc: dev=00:02.0 pasid=1          smmu_bind_get: dev=00:02.0 pasid=1 refs=2
 *   dev_fault: dev=00:02.0 pasid=1 group=3 addr=0x8000001000 prot=rw last=1
 *   dev_page_response: dev=00:02.0 pasid=1 group=3 code=0   (0 success, 1 invalid, 2 failure: Linux's codes)
 *   dev_stop_marker: dev=00:02.0 pasid=1 (discarded)
 *   smmu_mm_invalidate: pasid=1 start=0x... end=0x...       smmu_mm_release: pasid=1
 *   smmu_unbind_put: dev=00:02.0 pasid=1 refs=1             smmu_unbind_free: dev=00:02.0 pasid=1
 * iommu_trace_enabled = false silences them (stress runs). */
#ifndef FWSMMU_IOMMU_H
#define FWSMMU_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fw/mm.h>
#include <fw/pci.h>
#include <fwsmmu/io_pgtable.h>
#include <fwsmmu/smmu.h>

#define IOMMU_MAX_MASTERS 8U         /* masters per domain, and masters per SMMU */
#define IOMMU_MAX_PARTIAL_FAULTS 64U /* page requests of unfinished groups per master */
#define IOMMU_MAX_PENDING_GROUPS 16U /* complete groups waiting for the fault work */
#define IOMMU_MAX_GROUP_FAULTS 32U   /* page requests per group */
#define IOMMU_PASID_MAX 256U         /* PASIDs 1..255 are handed out */
#define IOMMU_MAX_SVA_MMS 16U
#define IOMMU_MAX_SVA_BONDS 32U
/* Software MSI region (Linux's MSI_IOVA_BASE / MSI_IOVA_LENGTH for arm-smmu-v3): where a DMA domain maps the
 * MSI doorbell, since device MSI writes are translated like any DMA. */
#define MSI_IOVA_BASE 0x08000000ULL
#define MSI_IOVA_LENGTH 0x00100000ULL

extern bool iommu_trace_enabled;

enum iommu_domain_type {
    IOMMU_DOMAIN_DMA,      /* stage-1 translation, a private ASID (ASET = 1) */
    IOMMU_DOMAIN_S2,       /* stage-2-only translation, a VMID */
    IOMMU_DOMAIN_NESTED,   /* stage 1 (tables and CD in IPA space) over a parent stage-2 domain */
    IOMMU_DOMAIN_IDENTITY, /* bypass */
};

/* Linux's IOMMU_PAGE_RESP_* codes, as the dev_page_response trace prints them. */
enum iommu_page_response_code {
    IOMMU_PAGE_RESP_SUCCESS = 0,
    IOMMU_PAGE_RESP_INVALID = 1,
    IOMMU_PAGE_RESP_FAILURE = 2,
};

struct smmu_master;
struct iommu_domain;

/* An unrecoverable fault (event record) reported to the domain's handler, as Linux's report_iommu_fault. */
typedef void (*iommu_fault_handler_t)(struct iommu_domain *domain, struct smmu_master *master,
                                      const struct smmu_event *event, void *token);

struct iommu_domain {
    struct smmu_tlb_domain tlb; /* first: the io-pgtable cookie, so the TLB callbacks find the domain */
    enum iommu_domain_type type;
    struct smmu_device *smmu;
    struct io_pgtable_ops *ops;
    struct io_pgtable_cfg cfg;
    uint16_t asid, vmid;
    struct iommu_domain *parent; /* NESTED: the stage-2 domain */
    struct smmu_master *masters[IOMMU_MAX_MASTERS];
    unsigned int master_count;
    uint64_t msi_iova; /* where the MSI doorbell is mapped (0: not mapped) */
    iommu_fault_handler_t fault_handler;
    void *fault_token;
    uint32_t atc_invalidations; /* CMD_ATC_INV batches this domain's unmaps issued */
};

/* One page request (or stall) as the fault path sees it. */
struct iommu_fault {
    uint64_t address; /* page address */
    uint32_t pasid;
    bool pasid_valid, read, write, exec, priv, last;
    uint16_t grpid; /* PRG index, or the STAG of a stall */
};

struct iommu_fault_group {
    struct smmu_master *master;
    bool stall;   /* answered by CMD_RESUME instead of CMD_PRI_RESP */
    bool refused; /* answered Invalid Request without resolution (the device went away) */
    struct iommu_fault last;
    struct iommu_fault faults[IOMMU_MAX_GROUP_FAULTS];
    unsigned int count; /* faults[], the Last one included */
};

/* A device's I/O page fault hook: called for every group after the SVA handler resolved it and before the
 * response goes out; may change *code (Linux: the device driver's iommu fault handler). */
typedef void (*iommu_dev_fault_handler_t)(const struct iommu_fault_group *group,
                                          enum iommu_page_response_code *code, void *data);

struct smmu_master {
    struct smmu_device *smmu;
    struct pci_dev *pdev; /* NULL: a platform master (the DMA master) */
    uint32_t sid;
    char name[16];
    unsigned int ssid_bits; /* PASIDs the CD table holds: 2^ssid_bits (0: none) */
    bool ats_supported, ats_enabled;
    bool pri_enabled, prg_resp_needs_pasid;
    bool stall_enabled;
    /* CD table: linear (2^ssid_bits CDs) or 2-level (L1 of 2^(ssid_bits - 6) descriptors, 64-CD leaves). */
    uint64_t *cd_table;
    uint64_t **cd_leaves;
    bool cd_two_level;
    struct iommu_domain *domain; /* the RID domain (CD 0 / the STE) */
    /* I/O page faults */
    struct iommu_fault partial[IOMMU_MAX_PARTIAL_FAULTS];
    unsigned int partial_count;
    iommu_dev_fault_handler_t iopf_handler;
    void *iopf_data;
    /* counters */
    uint32_t faults, groups, responses[3], stop_markers, partial_dropped, bad_requests;
};

/* ---- SMMU-wide ---- */
/* Registers the SMMU the layer drives (one), hooks its event queue. Call after smmu_init. */
void iommu_init(struct smmu_device *smmu);
/* Drains the event queue and the PRI queue, then runs the queued fault groups (resolve, respond). Returns
 * the number of records handled. */
unsigned int iommu_process_faults(void);

/* ---- masters ---- */
/* A master with StreamID sid. For a PCI function (pdev), PASID is enabled here (before any ATS) with
 * min(its Max PASID Width, SSIDSIZE, log2 IOMMU_PASID_MAX) bits; ATS is enabled at attach. Its STE aborts
 * until a domain is attached. name: Linux's "BB:DD.F" for PCI, the caller's otherwise. */
int smmu_master_init(struct smmu_master *master, struct smmu_device *smmu, struct pci_dev *pdev, uint32_t sid,
                     const char *name, unsigned int ssid_bits);
/* Linux's iommu_dev_enable_feature(IOMMU_DEV_FEAT_IOPF): PRI (reset, allocation `requests`, enable) for a
 * PCI function, stall (CD.S, STE.S1STALLD = 0) for a platform master when IDR0.STALL_MODEL = 0. */
int smmu_master_enable_iopf(struct smmu_master *master, uint32_t requests);
int smmu_master_disable_iopf(struct smmu_master *master);
/* A platform master's stalled transactions terminated (a device reset or detach that cannot wait for their
 * faults): abort STE, CMD_STALL_TERM + SYNC, the queued stall records answered without resolution, then the
 * STE the master's state asks for again. The master's device sees its stalled transactions abort. */
int smmu_master_stall_term(struct smmu_master *master);
/* Looks a master up by StreamID. */
struct smmu_master *smmu_find_master(uint32_t sid);

/* ---- domains ---- */
struct iommu_domain *iommu_domain_alloc(struct smmu_device *smmu, enum iommu_domain_type type);
/* NESTED: stage-1 tables whose table addresses are IPAs (PA + ipa_offset) under `parent`. */
struct iommu_domain *iommu_domain_alloc_nested(struct iommu_domain *parent, uint64_t ipa_offset);
/* Frees the tables (after flushing) and the domain; it must have no master. */
void iommu_domain_free(struct iommu_domain *domain);
/* Writes the master's STE (and CD 0) for the domain; ATS enable in the architecture's order. */
int iommu_attach_device(struct iommu_domain *domain, struct smmu_master *master);
/* Back to an abort STE (ATS disabled first, ATCs invalidated). */
void iommu_detach_device(struct iommu_domain *domain, struct smmu_master *master);
int iommu_map(struct iommu_domain *domain, uint64_t iova, uint64_t paddr, size_t size, unsigned int prot);
/* Strict: unmap, TLBI, SYNC, ATC_INV, SYNC before returning. Returns the bytes unmapped. */
size_t iommu_unmap(struct iommu_domain *domain, uint64_t iova, size_t size);
/* Batched: leaves go to the gather; iommu_iotlb_sync invalidates them all (TLBI range, SYNC, ATC_INV, SYNC).
 */
size_t iommu_unmap_fast(struct iommu_domain *domain, uint64_t iova, size_t size,
                        struct iommu_iotlb_gather *gather);
void iommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather);
uint64_t iommu_iova_to_phys(struct iommu_domain *domain, uint64_t iova);
/* Maps the GICv2m doorbell page at MSI_IOVA_BASE (Linux's software MSI region) and returns the IOVA of
 * MSI_SETSPI_NS to program into the device's MSI / MSI-X address, or 0. Identity/S2 domains: the IPA. */
uint64_t iommu_dma_map_msi(struct iommu_domain *domain, uint64_t doorbell);
void iommu_set_fault_handler(struct iommu_domain *domain, iommu_fault_handler_t handler, void *token);

/* ---- ATC ---- */
/* CMD_ATC_INV for one master (ssv: that PASID only; size 0: everything) and CMD_SYNC. */
bool smmu_atc_inv_master(struct smmu_master *master, bool ssv, uint32_t pasid, uint64_t iova, uint64_t size);

/* ---- SVA ---- */
struct iommu_sva;
/* Binds mm to the master: the mm's PASID (allocated on its first bind, one per mm) gets a CD sharing the
 * process's tables. Binding an mm twice to one master returns the same handle with one more reference.
 * NULL on failure (no PASID support, PASID space exhausted, ...). */
struct iommu_sva *iommu_sva_bind_device(struct smmu_master *master, struct mm_struct *mm);
/* Drops a reference; the last one clears the CD, drains the PRI queue, invalidates TLB and ATC, and frees the
 * PASID when no master uses the mm any more. The caller has stopped the device's use of the PASID. */
void iommu_sva_unbind_device(struct iommu_sva *handle);
uint32_t iommu_sva_get_pasid(const struct iommu_sva *handle);
/* The PASID currently assigned to mm (0 if none). */
uint32_t iommu_sva_mm_pasid(const struct mm_struct *mm);
/* Bonds alive (for leak checks). */
unsigned int iommu_sva_bond_count(void);
int iommu_register_device_fault_handler(struct smmu_master *master, iommu_dev_fault_handler_t handler,
                                        void *data);
void iommu_unregister_device_fault_handler(struct smmu_master *master);

#endif
