/* The same edu traffic (RAM -> edu -> RAM) through three translation regimes of the IOMMU API: stage 1 (a DMA
 * domain, the baseline), stage 2 only (an S2 domain: the device's addresses are IPAs) and nested (a stage-1
 * domain whose CD and tables live in the IPA space of a parent stage-2 domain). Data is checked at the PAs
 * the tables name; faults are checked against IHI0070's literal values: a stage-2 F_TRANSLATION (0x10) and
 * F_PERMISSION (0x13) with S2 = 1 and the IPA, in nested mode a stage-1 fault (S2 = 0), a stage-2 fault on
 * the output address (S2 = 1, CLASS IN) and one on the stage-1 table walk (S2 = 1, CLASS TT). What the SMMU
 * lacks (IDR0.S1P / S2P) prints a SKIP line: QEMU 7.2 has stage 1 only. */
#include <stdio.h>
#include <string.h>

#include <fw/gic.h>
#include <fw/page_alloc.h>
#include <fw/pci.h>
#include <fw/platform.h>
#include <fwsmmu/edu.h>
#include <fwsmmu/iommu.h>

/* Device addresses stay below 256 MiB (QEMU's edu keeps 28 bits); IPAs of the nested tables do not need to.
 */
#define IOVA_SOURCE 0x01000000ULL
#define IOVA_DESTINATION 0x01001000ULL
#define IOVA_UNMAPPED 0x01100000ULL
#define IPA_SOURCE 0x02000000ULL
#define IPA_DESTINATION 0x02001000ULL
#define IPA_OFFSET 0x0000008000000000ULL /* nested: IPA = PA + this, inside the 40-bit IPA space */
#define BLOCK_2M 0x200000ULL
#define TRANSFER_BYTES                                                                                       \
    0x800U /* below the 4 KiB buffer: QEMU 7.2's edu refuses a transfer ending at its end */
#define DMA_TIMEOUT_MS 2000U
/* IHI0070 7.3, written out. */
#define EVT_F_TRANSLATION 0x10U
#define EVT_F_PERMISSION 0x13U
#define CLASS_TT 1U
#define CLASS_IN 2U

static struct smmu_device smmu;
static struct smmu_master master;
static struct edu_device edu;
static uint8_t *source, *destination;
static int failures;
static uint8_t seed;

static void check(bool ok, const char *what) {
    printf("dma_s2_nested: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

/* ---- faults, as the domains' fault handlers report them ---- */

static struct smmu_event first_fault;
static unsigned int fault_count;
static bool faults_alike;

static void record_fault(struct iommu_domain *domain, struct smmu_master *m, const struct smmu_event *event,
                         void *token) {
    (void)domain;
    (void)token;
    if (m != &master)
        return;
    if (fault_count++ == 0) {
        first_fault = *event;
        faults_alike = true;
        smmu_print_event(event);
    } else if (event->id != first_fault.id || event->s2 != first_fault.s2) {
        faults_alike = false;
    }
}

static unsigned int take_faults(void) {
    smmu_evtq_drain(&smmu);
    unsigned int count = fault_count;
    fault_count = 0;
    return count;
}

/* At least one record (the edu may fault once per access), all alike, the first with these fields. */
static bool fault_is(unsigned int id, bool stage2, unsigned int event_class, uint64_t input, uint64_t ipa) {
    return take_faults() >= 1 && faults_alike && first_fault.id == id && first_fault.sid == master.sid &&
           first_fault.s2 == stage2 && first_fault.event_class == event_class &&
           first_fault.input_address == input && (!stage2 || first_fault.ipa == ipa);
}

/* ---- the traffic ---- */

static bool copy_through_edu(uint64_t from, uint64_t to) {
    seed += 0x21;
    for (unsigned int i = 0; i < PAGE_SIZE; i++)
        source[i] = (uint8_t)(seed + i * 5U);
    memset(destination, 0, PAGE_SIZE);
    edu_dma_start(&edu, from, 0, TRANSFER_BYTES, false, false);
    if (!edu_dma_wait(&edu, DMA_TIMEOUT_MS))
        return false;
    edu_dma_start(&edu, to, 0, TRANSFER_BYTES, true, false);
    return edu_dma_wait(&edu, DMA_TIMEOUT_MS) && memcmp(source, destination, TRANSFER_BYTES) == 0;
}

static bool destination_untouched(void) {
    for (unsigned int i = 0; i < TRANSFER_BYTES; i++)
        if (destination[i] != 0)
            return false;
    return true;
}

/* Only the write to `to` goes: the edu buffer still holds the last source. */
static void write_to(uint64_t to) {
    memset(destination, 0, PAGE_SIZE);
    edu_dma_start(&edu, to, 0, TRANSFER_BYTES, true, false);
    edu_dma_wait(&edu, DMA_TIMEOUT_MS);
}

static void read_from(uint64_t from) {
    edu_dma_start(&edu, from, 0, TRANSFER_BYTES, false, false);
    edu_dma_wait(&edu, DMA_TIMEOUT_MS);
}

/* ---- regimes ---- */

static void stage1(void) {
    struct iommu_domain *domain = iommu_domain_alloc(&smmu, IOMMU_DOMAIN_DMA);
    check(domain && iommu_attach_device(domain, &master) == 0 &&
              iommu_map(domain, IOVA_SOURCE, (uintptr_t)source, PAGE_SIZE, IOMMU_READ) == 0 &&
              iommu_map(domain, IOVA_DESTINATION, (uintptr_t)destination, PAGE_SIZE,
                        IOMMU_READ | IOMMU_WRITE) == 0,
          "stage 1: DMA domain attached, buffers mapped");
    if (!domain)
        return;
    iommu_set_fault_handler(domain, record_fault, NULL);
    check(copy_through_edu(IOVA_SOURCE, IOVA_DESTINATION) && take_faults() == 0,
          "stage 1: IOVA -> PA, data checked");
    iommu_detach_device(domain, &master);
    iommu_domain_free(domain);
}

static void stage2(void) {
    struct iommu_domain *domain = iommu_domain_alloc(&smmu, IOMMU_DOMAIN_S2);
    check(domain && iommu_attach_device(domain, &master) == 0 &&
              iommu_map(domain, IPA_SOURCE, (uintptr_t)source, PAGE_SIZE, IOMMU_READ) == 0 &&
              iommu_map(domain, IPA_DESTINATION, (uintptr_t)destination, PAGE_SIZE,
                        IOMMU_READ | IOMMU_WRITE) == 0,
          "stage 2: S2 domain (VMID) attached, buffers mapped at IPAs");
    if (!domain)
        return;
    iommu_set_fault_handler(domain, record_fault, NULL);
    check(copy_through_edu(IPA_SOURCE, IPA_DESTINATION) && take_faults() == 0,
          "stage 2: IPA -> PA, data checked");

    check(iommu_unmap(domain, IPA_DESTINATION, PAGE_SIZE) == PAGE_SIZE && !domain->tlb.failed,
          "stage 2: destination unmapped (TLBI_S2_IPA + SYNC)");
    write_to(IPA_DESTINATION);
    check(destination_untouched() &&
              fault_is(EVT_F_TRANSLATION, true, CLASS_IN, IPA_DESTINATION, IPA_DESTINATION),
          "stage 2: F_TRANSLATION (0x10) with S2 = 1 and the IPA");

    check(iommu_map(domain, IPA_DESTINATION, (uintptr_t)destination, PAGE_SIZE, IOMMU_READ) == 0,
          "stage 2: destination mapped read-only");
    write_to(IPA_DESTINATION);
    check(destination_untouched() &&
              fault_is(EVT_F_PERMISSION, true, CLASS_IN, IPA_DESTINATION, IPA_DESTINATION),
          "stage 2: F_PERMISSION (0x13) with S2 = 1 and the IPA");
    iommu_detach_device(domain, &master);
    iommu_domain_free(domain);
}

static void nested(void) {
    /* Stage 2 maps the page allocator's region at IPA = PA + IPA_OFFSET: the CD table, the stage-1 tables and
     * the buffers all live there. */
    uintptr_t ram_start, ram_end;
    page_alloc_region(&ram_start, &ram_end);
    ram_start &= ~(uintptr_t)(BLOCK_2M - 1);
    ram_end = (ram_end + BLOCK_2M - 1) & ~(uintptr_t)(BLOCK_2M - 1);
    struct iommu_domain *parent = iommu_domain_alloc(&smmu, IOMMU_DOMAIN_S2);
    bool ok = parent && iommu_map(parent, ram_start + IPA_OFFSET, ram_start, ram_end - ram_start,
                                  IOMMU_READ | IOMMU_WRITE) == 0;
    struct iommu_domain *domain = ok ? iommu_domain_alloc_nested(parent, IPA_OFFSET) : NULL;
    uint64_t source_ipa = (uintptr_t)source + IPA_OFFSET,
             destination_ipa = (uintptr_t)destination + IPA_OFFSET;
    check(domain && iommu_map(domain, IOVA_SOURCE, source_ipa, PAGE_SIZE, IOMMU_READ) == 0 &&
              iommu_map(domain, IOVA_DESTINATION, destination_ipa, PAGE_SIZE, IOMMU_READ | IOMMU_WRITE) ==
                  0 &&
              iommu_attach_device(domain, &master) == 0,
          "nested: stage-1 domain over a stage-2 domain, CD and tables in IPA space");
    if (!domain)
        return;
    iommu_set_fault_handler(domain, record_fault, NULL);
    check(copy_through_edu(IOVA_SOURCE, IOVA_DESTINATION) && take_faults() == 0,
          "nested: IOVA -> IPA -> PA, data checked");

    write_to(IOVA_UNMAPPED);
    check(fault_is(EVT_F_TRANSLATION, false, CLASS_IN, IOVA_UNMAPPED, 0),
          "nested: unmapped IOVA: stage-1 F_TRANSLATION (0x10), S2 = 0");

    check(iommu_unmap(parent, destination_ipa, PAGE_SIZE) == PAGE_SIZE && !parent->tlb.failed,
          "nested: destination's IPA unmapped at stage 2 (block split, TLBI)");
    write_to(IOVA_DESTINATION);
    check(destination_untouched() &&
              fault_is(EVT_F_TRANSLATION, true, CLASS_IN, IOVA_DESTINATION, destination_ipa),
          "nested: stage-2 F_TRANSLATION (0x10) on the output: S2 = 1, CLASS IN, the IPA");
    check(iommu_map(parent, destination_ipa, (uintptr_t)destination, PAGE_SIZE, IOMMU_READ | IOMMU_WRITE) ==
                  0 &&
              copy_through_edu(IOVA_SOURCE, IOVA_DESTINATION) && take_faults() == 0,
          "nested: mapped again, data checked");

    /* The stage-1 root table's IPA unmapped at stage 2: the walk of a new IOVA cannot read it. */
    uint64_t root_ipa = io_pgtable_root_pa(domain->ops) + IPA_OFFSET;
    check(iommu_unmap(parent, root_ipa, PAGE_SIZE) == PAGE_SIZE && !parent->tlb.failed,
          "nested: stage-1 root table's IPA unmapped at stage 2");
    read_from(IOVA_SOURCE);
    check(fault_is(EVT_F_TRANSLATION, true, CLASS_TT, IOVA_SOURCE, root_ipa),
          "nested: stage-2 F_TRANSLATION (0x10) on the table walk: S2 = 1, CLASS TT, the table's IPA");
    check(iommu_map(parent, root_ipa, root_ipa - IPA_OFFSET, PAGE_SIZE, IOMMU_READ | IOMMU_WRITE) == 0 &&
              copy_through_edu(IOVA_SOURCE, IOVA_DESTINATION) && take_faults() == 0,
          "nested: root mapped again, data checked");
    iommu_detach_device(domain, &master);
    iommu_domain_free(domain);
}

int main(void) {
    if (!smmu_probe(&smmu, FW_SMMU_BASE)) {
        printf("dma_s2_nested: no usable SMMUv3\n");
        return 1;
    }
    gic_init();
    pci_enumerate();
    if (!edu_probe(&edu)) {
        printf("SKIP: no edu device\n");
        return 0;
    }
    struct smmu_init_options options;
    smmu_default_init_options(&options);
    check(smmu_init(&smmu, &options), "SMMU enabled");
    iommu_init(&smmu);
    check(smmu_master_init(&master, &smmu, edu.pdev, pci_dev_rid(edu.pdev), NULL, 0) == 0,
          "edu master, StreamID = RID");
    source = alloc_page();
    destination = alloc_page();

    const struct smmu_features *f = &smmu.features;
    if (f->s1p)
        stage1();
    else
        printf("dma_s2_nested: stage 1: SKIP: no stage 1 (IDR0.S1P = 0)\n");
    if (f->s2p) {
        stage2();
        if (f->s1p)
            nested();
        else
            printf("dma_s2_nested: nested: SKIP: no stage 1 (IDR0.S1P = 0)\n");
    } else {
        printf("SKIP: stage 2 and nested translation: the SMMU has no stage 2 (IDR0.S2P = 0)\n");
    }

    if (failures)
        printf("dma_s2_nested: %d checks failed\n", failures);
    else
        printf("dma_s2_nested: ok\n");
    return failures ? 1 : 0;
}
