/* SVA through the stall model for the platform DMA master (StreamID 0x10, not PCIe, so it may stall): a
 * process is bound to the master through a PASID whose CD has S = 1 under an STE with S1STALLD = 0. The
 * master's transactions to pages that are not there stall: the SMMU records an event with Stall = 1 and a
 * STAG, the fault path resolves it against the process (populating the page) and answers CMD_RESUME retry,
 * and the transaction completes. A write to a read-only mapping is answered CMD_RESUME abort and the master
 * reports the fault. A stalled transaction the driver does not answer is ended by CMD_STALL_TERM after the
 * STE aborts new ones. Platform only: QEMU has no stall support (IDR0.STALL_MODEL = 1) and no DMA master. */
#include <stdio.h>
#include <string.h>

#include <fw/gic.h>
#include <fw/mm.h>
#include <fw/mmio.h>
#include <fw/page_alloc.h>
#include <fw/platform.h>
#include <fw/timer.h>
#include <fwsmmu/dma_master.h>
#include <fwsmmu/iommu.h>

#define SID 0x10U
#define SSID_BITS 4U
#define VA_SOURCE 0x0000010000000000ULL    /* populated by the CPU */
#define VA_DEST 0x0000010100000000ULL      /* lazy: the master's writes stall until the pages exist */
#define VA_READ_ONLY 0x0000010200000000ULL /* lazy, read-only */
#define VA_TERM 0x0000010300000000ULL      /* lazy: the stall that CMD_STALL_TERM ends */
#define PAGES 3U
#define BYTES (PAGES * PAGE_SIZE)
#define DMA_TIMEOUT_NS 200000000ULL
#define STALL_WAIT_NS 20000000ULL
/* IHI0070, written out: event numbers (7.3), STE.S1STALLD (dword 1 bit 27), CD.V (bit 31) and CD.S (bit 44).
 */
#define EVT_F_TRANSLATION 0x10U
#define EVT_F_PERMISSION 0x13U
#define STE1_S1STALLD (1ULL << 27)
#define CD0_V (1ULL << 31)
#define CD0_S (1ULL << 44)
#define STE_CONFIG_S1 5U

static struct smmu_device smmu;
static struct smmu_master master;
static int failures;

static void check(bool ok, const char *what) {
    printf("stall: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

/* What the device fault hook saw: one group per stalled transaction, whose grpid is the STAG. */
static unsigned int groups_seen, stall_groups;
static uint16_t last_stag;
static uint64_t last_address;

static void on_fault_group(const struct iommu_fault_group *group, enum iommu_page_response_code *code,
                           void *data) {
    (void)code;
    (void)data;
    groups_seen++;
    if (group->stall && group->count == 1 && group->last.last)
        stall_groups++;
    last_stag = group->last.grpid;
    last_address = group->last.address;
}

static void source_pattern(struct mm_struct *mm) {
    mm_switch(mm);
    volatile uint64_t *words = (volatile uint64_t *)(uintptr_t)VA_SOURCE;
    for (unsigned int i = 0; i < BYTES / 8; i++)
        words[i] = 0x5354414C4C000000ULL ^ (i * 0x9E3779B97F4A7C15ULL);
    mm_switch(NULL);
}

static bool copied(struct mm_struct *mm, uint64_t destination, uint64_t bytes) {
    mm_switch(mm);
    bool same = memcmp((const void *)(uintptr_t)VA_SOURCE, (const void *)(uintptr_t)destination, bytes) == 0;
    mm_switch(NULL);
    return same;
}

static void start(uint64_t destination, uint64_t bytes, uint32_t pasid) {
    struct dma_job job = {.source = VA_SOURCE,
                          .destination = destination,
                          .length = (uint32_t)bytes,
                          .stream_id = SID,
                          .substream_valid = true,
                          .substream_id = pasid};
    dma_start(&job);
}

/* Waits for the job, answering the stall events of its transactions meanwhile. */
static uint32_t finish(uint64_t *fault_address) {
    uint64_t deadline = now_ns() + DMA_TIMEOUT_NS;
    while (dma_status() == DMA_STATUS_BUSY && now_ns() < deadline)
        iommu_process_faults();
    iommu_process_faults();
    return dma_wait(fault_address);
}

/* The event records since `first` are stall records of this kind for consecutive pages from `address`. */
static bool stall_records(uint32_t first, unsigned int count, unsigned int id, uint32_t pasid,
                          uint64_t address) {
    if (smmu.event_count - first != count)
        return false;
    for (unsigned int i = 0; i < count; i++) {
        const struct smmu_event *e = smmu_event_at(&smmu, first + i);
        if (i == 0)
            smmu_print_event(e);
        if (e->id != id || e->sid != SID || !e->stall || !e->ssv || e->ssid != pasid || e->rnw ||
            (e->input_address & ~(uint64_t)(PAGE_SIZE - 1)) != address + i * PAGE_SIZE)
            return false;
    }
    return true;
}

static bool event_queue_has_records(void) {
    uint32_t prod = mmio_read32(smmu.base + SMMU_EVENTQ_PROD) & SMMU_Q_PTR_MASK;
    uint32_t cons = mmio_read32(smmu.base + SMMU_EVENTQ_CONS) & SMMU_Q_PTR_MASK;
    return prod != cons;
}

static void resume_retry(struct mm_struct *mm, uint32_t pasid) {
    uint32_t events = smmu.event_count, groups = groups_seen;
    uint32_t successes = master.responses[IOMMU_PAGE_RESP_SUCCESS];
    size_t resident = mm->resident_pages;
    start(VA_DEST, BYTES, pasid);
    uint64_t fault = 0;
    uint32_t status = finish(&fault);
    check(status == DMA_STATUS_DONE, "copy into lazy pages completes");
    check(stall_records(events, PAGES, EVT_F_TRANSLATION, pasid, VA_DEST),
          "one F_TRANSLATION (0x10) per page with Stall = 1, SSID = PASID, write");
    check(groups_seen == groups + PAGES && stall_groups >= PAGES &&
              last_address == VA_DEST + BYTES - PAGE_SIZE &&
              last_stag == smmu_event_at(&smmu, smmu.event_count - 1)->stag,
          "each stall reported as a one-fault group whose grpid is the STAG");
    check(master.responses[IOMMU_PAGE_RESP_SUCCESS] == successes + PAGES &&
              mm->resident_pages == resident + PAGES,
          "pages populated, each stall answered CMD_RESUME retry");
    check(copied(mm, VA_DEST, BYTES), "the CPU reads the copy through the same VAs");
}

static void resume_abort(struct mm_struct *mm, uint32_t pasid) {
    /* A page the process has read: mapped read-only, so the master's write is a permission fault. */
    check(mm_populate_page(mm, VA_READ_ONLY, false) == 0, "read-only page made resident by a read");
    uint32_t events = smmu.event_count;
    uint32_t invalid = master.responses[IOMMU_PAGE_RESP_INVALID];
    start(VA_READ_ONLY, PAGE_SIZE, pasid);
    uint64_t fault = 0;
    uint32_t status = finish(&fault);
    check(stall_records(events, 1, EVT_F_PERMISSION, pasid, VA_READ_ONLY),
          "write to it stalls: F_PERMISSION (0x13) with Stall = 1");
    check(master.responses[IOMMU_PAGE_RESP_INVALID] == invalid + 1,
          "not resolvable (read-only VMA): answered CMD_RESUME abort");
    check(status == DMA_STATUS_WRITE_FAULT && fault == VA_READ_ONLY,
          "the DMA master reports the write fault");
}

static void stall_term(struct mm_struct *mm, uint32_t pasid) {
    uint32_t invalid = master.responses[IOMMU_PAGE_RESP_INVALID];
    start(VA_TERM, PAGE_SIZE, pasid);
    /* Nobody answers: the transaction stays stalled, its record waits in the event queue. */
    uint64_t deadline = now_ns() + STALL_WAIT_NS;
    while (!event_queue_has_records() && now_ns() < deadline)
        ;
    ndelay(100000);
    check(event_queue_has_records() && dma_status() == DMA_STATUS_BUSY, "write stalled, left unanswered");
    /* An STE change does not end what already stalls (only CMD_RESUME or CMD_STALL_TERM does). */
    bool aborting = smmu_ste_abort(&smmu, SID);
    ndelay(100000);
    check(aborting && dma_status() == DMA_STATUS_BUSY, "abort STE written: the stalled write still waits");
    check(smmu_master_stall_term(&master) == 0, "CMD_STALL_TERM, SYNC");
    uint64_t fault = 0;
    uint64_t wait_until = now_ns() + DMA_TIMEOUT_NS;
    while (dma_status() == DMA_STATUS_BUSY && now_ns() < wait_until)
        ;
    uint32_t status = dma_wait(&fault);
    check(status == DMA_STATUS_WRITE_FAULT && fault == VA_TERM, "the stalled write is terminated (abort)");
    check(master.responses[IOMMU_PAGE_RESP_INVALID] == invalid + 1 && mm_va_to_pa(mm, VA_TERM) == 0,
          "its record answered without resolution: no page populated");
    const volatile uint64_t *ste = &smmu.strtab[(size_t)SID * SMMU_STE_DWORDS];
    check(((ste[0] >> 1) & 7U) == STE_CONFIG_S1 && !(ste[1] & STE1_S1STALLD), "stage-1 STE with stalls back");
    start(VA_TERM, PAGE_SIZE, pasid);
    status = finish(&fault);
    check(status == DMA_STATUS_DONE && copied(mm, VA_TERM, PAGE_SIZE),
          "the same write then stalls and retries");
}

int main(void) {
    if (!smmu_probe(&smmu, FW_SMMU_BASE)) {
        printf("stall: no usable SMMUv3\n");
        return 1;
    }
    const struct smmu_features *f = &smmu.features;
    if (f->stall_model != 0) {
        printf("SKIP: no stall support (IDR0.STALL_MODEL = %u)\n", f->stall_model);
        return 0;
    }
    if (f->ssid_bits == 0 || !f->s1p) {
        printf("SKIP: the SMMU has no %s\n", f->s1p ? "substreams (IDR1.SSIDSIZE = 0)" : "stage 1");
        return 0;
    }
    if (!dma_master_present()) {
        printf("SKIP: no DMA test master\n");
        return 0;
    }
    gic_init();
    struct smmu_init_options options;
    smmu_default_init_options(&options);
    check(mmu_enable() && smmu_init(&smmu, &options), "MMU on, SMMU enabled");
    iommu_init(&smmu);
    check(smmu_master_init(&master, &smmu, NULL, SID, "dma", SSID_BITS) == 0 &&
              smmu_master_enable_iopf(&master, 0) == 0 && master.stall_enabled,
          "DMA master (StreamID 0x10) with I/O page faults by stall");
    iommu_register_device_fault_handler(&master, on_fault_group, NULL);

    struct mm_struct *mm = mm_create();
    check(mm && mm_map(mm, VA_SOURCE, BYTES, MM_PROT_READ | MM_PROT_WRITE, MM_MAP_POPULATE) == 0 &&
              mm_map(mm, VA_DEST, BYTES, MM_PROT_READ | MM_PROT_WRITE, 0) == 0 &&
              mm_map(mm, VA_READ_ONLY, PAGE_SIZE, MM_PROT_READ, 0) == 0 &&
              mm_map(mm, VA_TERM, PAGE_SIZE, MM_PROT_READ | MM_PROT_WRITE, 0) == 0,
          "process: a populated source, lazy destinations, a read-only page");
    source_pattern(mm);
    struct iommu_sva *bond = iommu_sva_bind_device(&master, mm);
    uint32_t pasid = iommu_sva_get_pasid(bond);
    check(bond && pasid != 0, "process bound to the DMA master");
    const volatile uint64_t *ste = &smmu.strtab[(size_t)SID * SMMU_STE_DWORDS];
    const volatile uint64_t *cd = &master.cd_table[(size_t)pasid * SMMU_CD_DWORDS];
    check(!master.cd_two_level && ((ste[0] >> 1) & 7U) == STE_CONFIG_S1 && !(ste[1] & STE1_S1STALLD) &&
              (cd[0] & CD0_V) && (cd[0] & CD0_S),
          "STE.S1STALLD = 0 and the PASID's CD has S = 1");

    resume_retry(mm, pasid);
    resume_abort(mm, pasid);
    stall_term(mm, pasid);

    iommu_sva_unbind_device(bond);
    check(iommu_sva_bond_count() == 0 && iommu_sva_mm_pasid(mm) == 0, "unbound, PASID freed");
    mm_exit(mm);
    if (failures)
        printf("stall: %d checks failed\n", failures);
    else
        printf("stall: ok\n");
    return failures ? 1 : 0;
}
