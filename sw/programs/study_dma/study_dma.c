/* Study "DMA throughput against ATC size and SMMU TLB size" (docs/studies.md, studies/dma_throughput.sweep).
 *
 * A Test Engine reads (SUM64) a buffer through a stage-1 DMA domain with ATS on, so every access goes through
 * the device's ATC and, on an ATC miss, through an ATS Translation Request to the SMMU's TLB and walker. The
 * buffer is mapped with 4 KiB pages or with 2 MiB blocks (study_dma_page_kib), so the same bytes need 512
 * times more translations in the first case. One pass warms the caches (polled); the measured pass ends with
 * the engine's completion MSI-X, which the CPU waits for in WFI: cpu.wfi_time_ps is the measured pass's
 * duration, and the endpoint's link.bytes_read minus the warm-up's bytes is what it moved. The sweep derives
 * the throughput from those statistics; the program prints its own counter figure only as a cross-check.
 *
 * The parameters are volatile globals in .data so that tools/sweep can patch them into a copy of the ELF
 * (`vary.fw.study_dma_page_kib = 4, 2048`); the defaults are what the ctest runs. */
#include <stdio.h>

#include <fw/gic.h>
#include <fw/mmio.h>
#include <fw/page_alloc.h>
#include <fw/pci.h>
#include <fw/platform.h>
#include <fw/sysreg.h>
#include <fw/timer.h>
#include <fwsmmu/iommu.h>
#include <fwsmmu/testengine.h>

#define FW_PARAM __attribute__((section(".data"), used))

/* Leaf size of the mapping: 4 (KiB pages) or 2048 (2 MiB blocks). */
FW_PARAM volatile uint32_t study_dma_page_kib = 4;
/* Buffer size in MiB, a multiple of 4 (the page allocator's largest block). */
FW_PARAM volatile uint32_t study_dma_buffer_mib = 8;
/* 1: the engine's frame uses ATS (its ATC, then the SMMU on a miss); 0: untranslated requests, so the SMMU's
 * TLB is the only translation cache (as an IOMMU without device ATCs). */
FW_PARAM volatile uint32_t study_dma_ats = 1;
/* Bytes between two 8-byte reads of the engine (a multiple of 8 dividing 4096), or 1: every byte in
 * chunk-sized transactions (the endpoint's chunk parameter). */
FW_PARAM volatile uint32_t study_dma_stride = 1;

#define IOVA_BASE 0x40000000ULL /* 1 GiB: 2 MiB aligned, clear of the MSI window */
#define BLOCK_ORDER PAGE_ALLOC_MAX_ORDER
#define BLOCK_BYTES (PAGE_SIZE << BLOCK_ORDER)
#define MAX_BLOCKS 8U
#define TIMEOUT_MS 5000U
/* User frame registers of the Test Engine (/work/shared/testengine.md); the driver's te_start always uses
 * stride 1 and no MSI, and this study needs both. */
#define TE_CMD 0x00U
#define TE_UCTRL 0x04U
#define TE_MSIADDRESS 0x10U
#define TE_MSIDATA 0x18U
#define TE_ATTRIBUTES 0x20U
#define TE_SEED 0x24U
#define TE_BEGIN 0x28U
#define TE_END_INCL 0x30U
#define TE_STRIDE 0x38U
#define TE_UDATA 0x40U

static struct smmu_device smmu;
static struct smmu_master master;
static struct te_device te;
static volatile uint32_t completions;

static void completion_irq(uint32_t intid, void *context) {
    (void)intid;
    (void)context;
    completions++;
}

/* SUM64 over [begin, begin + bytes) of frame 0 with the given stride; msi: send MSI-X vector 0 at the end. */
static void start_sum64(uint64_t begin, uint64_t bytes, uint32_t stride, bool msi) {
    uintptr_t frame = te.frames;
    mmio_write32(frame + TE_UCTRL, 0);
    mmio_write64(frame + TE_MSIADDRESS, msi ? 1U : 0U); /* under PCIe: 1 = send the MSI-X vector in msidata */
    mmio_write32(frame + TE_MSIDATA, 0);
    mmio_write32(frame + TE_ATTRIBUTES, 0);
    mmio_write32(frame + TE_SEED, 0); /* ascending order */
    mmio_write64(frame + TE_BEGIN, begin);
    mmio_write64(frame + TE_END_INCL, begin + bytes - 1);
    mmio_write64(frame + TE_STRIDE, stride);
    mmio_write64(frame + TE_UDATA, 0);
    mmio_write32(frame + TE_CMD, TE_ENGINE_SUM64);
}

static bool valid_parameters(uint32_t page_kib, uint32_t mib, uint32_t stride) {
    return (page_kib == 4 || page_kib == 2048) && mib >= 4 && mib % 4 == 0 && mib / 4 <= MAX_BLOCKS &&
           (stride == 1 || (stride % 8 == 0 && PAGE_SIZE % stride == 0));
}

int main(void) {
    uint32_t page_kib = study_dma_page_kib, mib = study_dma_buffer_mib, stride = study_dma_stride;
    bool ats = study_dma_ats != 0;
    if (!valid_parameters(page_kib, mib, stride)) {
        printf("study_dma: bad parameters: page %u KiB, buffer %u MiB, stride %u\n", (unsigned)page_kib,
               (unsigned)mib, (unsigned)stride);
        return 2;
    }
    if (!smmu_probe(&smmu, FW_SMMU_BASE)) {
        printf("study_dma: no usable SMMUv3\n");
        return 1;
    }
    if (!smmu.features.ats || !smmu.features.s1p) {
        printf("SKIP: the SMMU has no ATS or no stage 1\n");
        return 0;
    }
    gic_init();
    struct gicv2m_frame msi_frame;
    if (pci_enumerate() < 0 || !te_probe(&te, 0) || !gicv2m_probe(&msi_frame)) {
        printf("SKIP: no SMMUv3 Test Engine or no GICv2m\n");
        return 0;
    }
    struct smmu_init_options options;
    smmu_default_init_options(&options);
    if (!smmu_init(&smmu, &options))
        return 1;
    iommu_init(&smmu);
    struct iommu_domain *domain = iommu_domain_alloc(&smmu, IOMMU_DOMAIN_DMA);
    if (smmu_master_init(&master, &smmu, te.pdev, pci_dev_rid(te.pdev), NULL, 0) != 0 || !domain ||
        iommu_attach_device(domain, &master) != 0 || !master.ats_enabled) {
        printf("study_dma: DMA domain with ATS could not be set up\n");
        return 1;
    }
    printf("study_dma: DMA domain attached, ATS enabled\n");

    /* The buffer: blocks of 4 MiB, each mapped with leaves of the chosen size. Every page's first word holds
     * its number + 1, the rest is zero, so SUM64 has a known answer whatever the stride. */
    unsigned int blocks = mib / 4U, pages = blocks * (unsigned int)(BLOCK_BYTES / PAGE_SIZE);
    size_t leaf = (size_t)page_kib * 1024U;
    uint64_t expected_sum = 0;
    for (unsigned int b = 0; b < blocks; b++) {
        uint8_t *block = alloc_pages(BLOCK_ORDER);
        if (!block)
            return 1;
        uint64_t iova = IOVA_BASE + (uint64_t)b * BLOCK_BYTES;
        for (size_t offset = 0; offset < BLOCK_BYTES; offset += leaf)
            if (iommu_map(domain, iova + offset, (uintptr_t)block + offset, leaf, IOMMU_READ) != 0) {
                printf("study_dma: map failed\n");
                return 1;
            }
        for (size_t offset = 0; offset < BLOCK_BYTES; offset += PAGE_SIZE) {
            uint64_t number = (uint64_t)b * (BLOCK_BYTES / PAGE_SIZE) + offset / PAGE_SIZE + 1U;
            *(volatile uint64_t *)(uintptr_t)(block + offset) = number;
            expected_sum += number;
        }
    }
    printf("study_dma: buffer mapped with %s leaves\n", page_kib == 4 ? "4 KiB" : "2 MiB");

    uint64_t msi_iova = iommu_dma_map_msi(domain, msi_frame.doorbell);
    uint32_t intid = msi_frame.first_spi_intid;
    if (!msi_iova || pci_enable_msix(te.pdev) <= 0 || !pci_msix_set_vector(te.pdev, 0, msi_iova, intid)) {
        printf("study_dma: MSI-X set-up failed\n");
        return 1;
    }
    gic_register_handler(intid, completion_irq, NULL);
    gic_set_edge_triggered(intid, true);
    gic_enable_irq(intid);
    te_setup_frame(&te, 0, TE_NO_PASID, ats, false);

    uint64_t bytes = (uint64_t)mib << 20;
    /* Warm-up pass, polled: fills the ATC and the TLB as far as they reach. */
    start_sum64(IOVA_BASE, bytes, stride, false);
    uint32_t state = te_wait(&te, 0, TIMEOUT_MS);
    bool ok = state == TE_ENGINE_HALTED && te_udata(&te, 0, 1) == expected_sum;
    printf("study_dma: warm-up pass: %s\n", ok ? "ok" : "FAILED");

    /* Measured pass: the CPU sleeps in WFI from the start of the command to its completion MSI. IRQs are
     * masked around the check so that the MSI cannot fall between the check and the WFI; a pending IRQ ends
     * WFI even while masked, and the handler runs once they are unmasked. */
    uint64_t start = timer_ticks();
    local_irq_disable();
    start_sum64(IOVA_BASE, bytes, stride, true);
    while (completions == 0) {
        wfi();
        local_irq_enable();
        local_irq_disable();
        if (timer_ticks() - start > (uint64_t)TIMEOUT_MS * timer_frequency_hz() / 1000U)
            break;
    }
    local_irq_enable();
    uint64_t ticks = timer_ticks() - start;
    state = te_state(&te, 0);
    bool measured = completions == 1 && state == TE_ENGINE_HALTED && te_udata(&te, 0, 1) == expected_sum;
    printf("study_dma: measured pass: %s\n", measured ? "ok" : "FAILED");
    uint64_t ns = ticks * 1000000000ULL / timer_frequency_hz();
    uint64_t moved = stride == 1 ? bytes : bytes / stride * 8U;
    /* The CPU's own view (16 ns ticks), for cross-checking the statistics-based figure. */
    printf(
        "study_dma: pages = %u, leaf_kib = %u, ats = %u, stride = %u, measured_ns = %llu, mb_per_s = %llu\n",
        pages, (unsigned)page_kib, (unsigned)ats, (unsigned)stride, (unsigned long long)ns,
        (unsigned long long)(ns ? moved * 1000U / ns : 0));
    printf("study_dma: %s\n", ok && measured ? "ok" : "FAILED");
    return ok && measured ? 0 : 1;
}
