/* Study "strict per-unmap against batched invalidation" (docs/studies.md, studies/unmap.sweep).
 *
 * N pages of 4 KiB are mapped in a stage-1 DMA domain attached to a Test Engine, which reads one word of
 * each (so its ATC and the SMMU's TLB hold their translations), then they are unmapped through the driver's
 * io-pgtable unmap, either strictly (iommu_unmap per page: TLBI + CMD_SYNC, then CMD_ATC_INV + CMD_SYNC when
 * the master uses ATS, before the next page) or batched (iommu_unmap_fast per page into one iotlb gather,
 * then one iommu_iotlb_sync: one range TLBI, one ATC_INV, two CMD_SYNCs). The CPU reads the system counter
 * (simulated time on the platform) around the unmap loop and prints the cost per page as
 * `unmap_ps_per_page = N`, which the sweep reads with out(). Afterwards the engine must fault on the first
 * and the last page: nothing stale is left in its ATC.
 *
 * The parameters are volatile globals in .data that tools/sweep patches into a copy of the ELF
 * (`vary.fw.study_unmap_pages = 256, 1024`); the defaults are what the ctest runs. */
#include <stdio.h>

#include <fw/gic.h>
#include <fw/mmio.h>
#include <fw/page_alloc.h>
#include <fw/pci.h>
#include <fw/platform.h>
#include <fw/timer.h>
#include <fwsmmu/iommu.h>
#include <fwsmmu/testengine.h>

#define FW_PARAM __attribute__((section(".data"), used))

/* Pages mapped and then unmapped, 1..MAX_PAGES. */
FW_PARAM volatile uint32_t study_unmap_pages = 256;
/* 0: strict (iommu_unmap per page); 1: batched (iommu_unmap_fast per page, one iommu_iotlb_sync). */
FW_PARAM volatile uint32_t study_unmap_batched = 0;
/* 1: unmap from the last page down; 0: from the first page up. The driver's io-pgtable looks for a table that
 * became empty by scanning it from its first entry, so unmapping upwards costs a scan of every entry below
 * the page (hundreds of ISS instructions per page) on top of the invalidation this study is about; unmapping
 * downwards finds a live entry at once. */
FW_PARAM volatile uint32_t study_unmap_descending = 1;
/* 1: the master uses ATS (every invalidation also reaches the engine's ATC); 0: ATS left off. */
FW_PARAM volatile uint32_t study_unmap_ats = 1;

#define IOVA_BASE 0x40000000ULL
#define MAX_PAGES 16384U
#define TIMEOUT_MS 5000U
/* User frame registers (/work/shared/testengine.md): the driver's te_start always uses stride 1, and the
 * warm-up reads one word per page. */
#define TE_UCTRL 0x04U
#define TE_MSIADDRESS 0x10U
#define TE_ATTRIBUTES 0x20U
#define TE_SEED 0x24U
#define TE_BEGIN 0x28U
#define TE_END_INCL 0x30U
#define TE_STRIDE 0x38U
#define TE_UDATA 0x40U
#define TE_CMD 0x00U

static struct smmu_device smmu;
static struct smmu_master master;
static struct te_device te;
static unsigned int device_faults;

/* The accesses after the unmap fault on purpose: count them instead of printing each record. */
static void count_fault(struct iommu_domain *domain, struct smmu_master *m, const struct smmu_event *event,
                        void *token) {
    (void)domain;
    (void)m;
    (void)event;
    (void)token;
    device_faults++;
}

/* SUM64 reading one word per page of [begin, begin + bytes). */
static uint32_t sum_one_word_per_page(uint64_t begin, uint64_t bytes) {
    uintptr_t frame = te.frames;
    mmio_write32(frame + TE_UCTRL, 0);
    mmio_write64(frame + TE_MSIADDRESS, 0);
    mmio_write32(frame + TE_ATTRIBUTES, 0);
    mmio_write32(frame + TE_SEED, 0);
    mmio_write64(frame + TE_BEGIN, begin);
    mmio_write64(frame + TE_END_INCL, begin + bytes - 1);
    mmio_write64(frame + TE_STRIDE, PAGE_SIZE);
    mmio_write64(frame + TE_UDATA, 0);
    mmio_write32(frame + TE_CMD, TE_ENGINE_SUM64);
    return te_wait(&te, 0, TIMEOUT_MS);
}

/* The n-th page to unmap. */
static uint64_t page_iova(uint32_t n, uint32_t pages, bool descending) {
    return IOVA_BASE + (uint64_t)(descending ? pages - 1U - n : n) * PAGE_SIZE;
}

int main(void) {
    uint32_t pages = study_unmap_pages;
    bool batched = study_unmap_batched != 0, use_ats = study_unmap_ats != 0;
    bool descending = study_unmap_descending != 0;
    if (pages == 0 || pages > MAX_PAGES) {
        printf("study_unmap: bad parameters: %u pages\n", (unsigned)pages);
        return 2;
    }
    if (!smmu_probe(&smmu, FW_SMMU_BASE)) {
        printf("study_unmap: no usable SMMUv3\n");
        return 1;
    }
    if (!smmu.features.ats || !smmu.features.s1p) {
        printf("SKIP: the SMMU has no ATS or no stage 1\n");
        return 0;
    }
    gic_init();
    if (pci_enumerate() < 0 || !te_probe(&te, 0)) {
        printf("SKIP: no SMMUv3 Test Engine\n");
        return 0;
    }
    struct smmu_init_options options;
    smmu_default_init_options(&options);
    if (!smmu_init(&smmu, &options))
        return 1;
    iommu_init(&smmu);
    struct iommu_domain *domain = iommu_domain_alloc(&smmu, IOMMU_DOMAIN_DMA);
    if (smmu_master_init(&master, &smmu, te.pdev, pci_dev_rid(te.pdev), NULL, 0) != 0 || !domain)
        return 1;
    /* As booting with ATS turned off (Linux's pci=noats): the attach leaves ATS disabled. */
    if (!use_ats)
        master.ats_supported = false;
    if (iommu_attach_device(domain, &master) != 0 || master.ats_enabled != use_ats) {
        printf("study_unmap: attach failed\n");
        return 1;
    }
    iommu_set_fault_handler(domain, count_fault, NULL);
    printf("study_unmap: DMA domain attached\n");

    /* Every IOVA page gets a page of its own, from blocks of 4 MiB, mapped one page at a time so that the
     * leaves are 4 KiB even where a block would fit. */
    const unsigned int pages_per_block = 1U << PAGE_ALLOC_MAX_ORDER;
    uint8_t *block = NULL;
    for (uint32_t i = 0; i < pages; i++) {
        if (i % pages_per_block == 0 && !(block = alloc_pages_uninitialised(PAGE_ALLOC_MAX_ORDER)))
            return 1;
        uintptr_t page = (uintptr_t)block + (uintptr_t)(i % pages_per_block) * PAGE_SIZE;
        *(volatile uint64_t *)page = i;
        if (iommu_map(domain, IOVA_BASE + (uint64_t)i * PAGE_SIZE, page, PAGE_SIZE, IOMMU_READ) != 0) {
            printf("study_unmap: map failed\n");
            return 1;
        }
    }
    te_setup_frame(&te, 0, TE_NO_PASID, use_ats, false);
    uint64_t bytes = (uint64_t)pages * PAGE_SIZE;
    bool warmed = sum_one_word_per_page(IOVA_BASE, bytes) == TE_ENGINE_HALTED &&
                  te_udata(&te, 0, 1) == (uint64_t)pages * (pages - 1U) / 2U;
    printf("study_unmap: pages mapped and read by the engine: %s\n", warmed ? "ok" : "FAILED");

    uint32_t tlb_batches = domain->tlb.invalidations, atc_batches = domain->atc_invalidations;
    size_t unmapped = 0;
    uint64_t start = timer_ticks();
    if (batched) {
        struct iommu_iotlb_gather gather;
        iommu_iotlb_gather_init(&gather);
        for (uint32_t n = 0; n < pages; n++)
            unmapped += iommu_unmap_fast(domain, page_iova(n, pages, descending), PAGE_SIZE, &gather);
        iommu_iotlb_sync(domain, &gather);
    } else {
        for (uint32_t n = 0; n < pages; n++)
            unmapped += iommu_unmap(domain, page_iova(n, pages, descending), PAGE_SIZE);
    }
    uint64_t ticks = timer_ticks() - start;
    tlb_batches = domain->tlb.invalidations - tlb_batches;
    atc_batches = domain->atc_invalidations - atc_batches;
    bool done = unmapped == bytes && !domain->tlb.failed && iommu_iova_to_phys(domain, IOVA_BASE) == 0 &&
                iommu_iova_to_phys(domain, IOVA_BASE + bytes - PAGE_SIZE) == 0;
    printf("study_unmap: %s unmap of every page: %s\n", batched ? "batched" : "strict",
           done ? "ok" : "FAILED");

    /* Nothing stale may be left: the engine's next reads of the first and the last page must fault. */
    bool first_gone = sum_one_word_per_page(IOVA_BASE, PAGE_SIZE) == TE_ENGINE_ERROR;
    bool last_gone = sum_one_word_per_page(IOVA_BASE + bytes - PAGE_SIZE, PAGE_SIZE) == TE_ENGINE_ERROR;
    printf("study_unmap: the engine faults on unmapped pages: %s\n",
           first_gone && last_gone ? "ok" : "FAILED");

    uint64_t ps = ticks * 1000000000ULL / timer_frequency_hz() * 1000U; /* 16 ns ticks: exact in ns */
    printf("study_unmap: pages = %u, batched = %u, ats = %u, descending = %u, tlb_batches = %u, "
           "atc_batches = %u, unmap_ps_per_page = %llu\n",
           (unsigned)pages, (unsigned)batched, (unsigned)use_ats, (unsigned)descending, (unsigned)tlb_batches,
           (unsigned)atc_batches, (unsigned long long)(ps / pages));
    bool ok = warmed && done && first_gone && last_gone;
    printf("study_unmap: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
