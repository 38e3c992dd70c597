/* Translated DMA through the SMMU with the platform DMA test master: bypass and abort STEs, SMMUEN=0 with
 * GBPA, stage 1, stage 2 and nested translation (data lands at the PAs the tables say), translation faults
 * and their event records, and unmap + TLBI making a previously used page fault. Platform only. */
#include <stdio.h>

#include <fw/platform.h>
#include <fwsmmu/dma_master.h>
#include <fwsmmu/pgalloc.h>
#include <fwsmmu/smmu.h>

#define SID 0x10U
#define PAGES 2U
#define BUFFER_BYTES (PAGES * PAGE_SIZE)
#define IOVA_SOURCE 0x0000123400000000ULL
#define IOVA_DESTINATION 0x0000567800000000ULL
#define IOVA_UNMAPPED (IOVA_SOURCE + 0x100000ULL)
#define IPA_OFFSET 0x0000008000000000ULL /* IPA = PA + this (bit 39, inside the 40-bit IPA space) */
#define ASID 1U
#define VMID_S2 1U
#define VMID_NESTED 2U
#define S2_PROT (IOMMU_READ | IOMMU_WRITE)
#define S1_PROT (IOMMU_READ | IOMMU_WRITE)
#define BLOCK_2M 0x200000UL

static struct smmu_device smmu;
static uint64_t *source, *destination; /* PAGES pages each */
static int failures;
static uint32_t seed;

static void check(bool condition, const char *what) {
    printf("smmu_dma: %s: %s\n", what, condition ? "ok" : "FAILED");
    if (!condition)
        failures++;
}

/* A new pattern in the source, zero in the destination, before every copy. */
static void prepare_buffers(void) {
    seed++;
    for (size_t i = 0; i < BUFFER_BYTES / 8; i++) {
        source[i] = ((uint64_t)seed << 48) ^ (i * 0x9E3779B97F4A7C15ULL);
        destination[i] = 0;
    }
}

/* Destination page `page` must hold source page `source_page`. */
static bool page_copied(unsigned int page, unsigned int source_page) {
    const uint64_t *from = source + source_page * (PAGE_SIZE / 8), *to = destination + page * (PAGE_SIZE / 8);
    for (size_t i = 0; i < PAGE_SIZE / 8; i++)
        if (to[i] != from[i])
            return false;
    return true;
}

static bool destination_untouched(void) {
    for (size_t i = 0; i < BUFFER_BYTES / 8; i++)
        if (destination[i] != 0)
            return false;
    return true;
}

static uint32_t copy(uint64_t from, uint64_t to, uint64_t *fault_address) {
    struct dma_job job = {.source = from, .destination = to, .length = BUFFER_BYTES, .stream_id = SID};
    uint32_t status = dma_run(&job, fault_address);
    if (status != DMA_STATUS_DONE)
        printf("smmu_dma: DMA 0x%llx -> 0x%llx: %s\n", (unsigned long long)from, (unsigned long long)to,
               dma_status_name(status));
    return status;
}

static uint32_t new_events(uint32_t *first_index) {
    *first_index = smmu.event_count;
    smmu_evtq_drain(&smmu);
    for (uint32_t i = *first_index; i < smmu.event_count; i++)
        smmu_print_event(smmu_event_at(&smmu, i));
    return smmu.event_count - *first_index;
}

static bool no_new_events(void) {
    uint32_t first;
    return new_events(&first) == 0;
}

/* Exactly one F_TRANSLATION event with these fields. */
static void check_translation_fault(const char *what, uint64_t input, bool read, bool stage2, uint64_t ipa) {
    uint32_t first;
    uint32_t count = new_events(&first);
    const struct smmu_event *e = smmu_event_at(&smmu, first);
    bool ok = count == 1 && e->id == SMMU_EVT_F_TRANSLATION && e->sid == SID && !e->ssv &&
              e->input_address == input && e->rnw == read && e->s2 == stage2 &&
              e->event_class == 2 /* IN */ && (!stage2 || e->ipa == ipa);
    if (!ok)
        printf("smmu_dma: wanted one F_TRANSLATION sid 0x%x input 0x%llx %s s2 %u class IN, got %u events\n",
               SID, (unsigned long long)input, read ? "read" : "write", (unsigned int)stage2,
               (unsigned int)count);
    check(ok, what);
}

static void test_bypass_and_abort(void) {
    uint64_t fault;
    check(smmu_ste_bypass(&smmu, SID), "bypass STE written");
    prepare_buffers();
    check(copy((uintptr_t)source, (uintptr_t)destination, &fault) == DMA_STATUS_DONE && page_copied(0, 0) &&
              page_copied(1, 1) && no_new_events(),
          "bypass: data copied to the same PAs");

    check(smmu_ste_abort(&smmu, SID), "abort STE written");
    prepare_buffers();
    check(copy((uintptr_t)source, (uintptr_t)destination, &fault) == DMA_STATUS_READ_FAULT &&
              fault == (uintptr_t)source && destination_untouched() && no_new_events(),
          "abort STE: DMA faults, no event");
}

static void test_smmu_disabled(void) {
    uint64_t fault;
    check(smmu_set_enabled(&smmu, false) && smmu_set_gbpa_abort(&smmu, true), "SMMUEN=0, GBPA abort");
    prepare_buffers();
    check(copy((uintptr_t)source, (uintptr_t)destination, &fault) == DMA_STATUS_READ_FAULT &&
              destination_untouched() && no_new_events(),
          "SMMUEN=0 with GBPA abort: DMA faults");
    check(smmu_set_gbpa_abort(&smmu, false), "GBPA bypass");
    prepare_buffers();
    check(copy((uintptr_t)source, (uintptr_t)destination, &fault) == DMA_STATUS_DONE && page_copied(0, 0) &&
              page_copied(1, 1),
          "SMMUEN=0 with GBPA bypass: data copied");
    check(smmu_set_gbpa_abort(&smmu, true) && smmu_set_enabled(&smmu, true), "SMMUEN=1");
}

static void test_stage1(void) {
    static struct smmu_tlb_domain domain;
    struct io_pgtable_cfg cfg = {0};
    struct io_pgtable_ops *s1 = smmu_alloc_pgtable(&domain, &smmu, 1, ASID, 0, &cfg);
    uint64_t *cd_table = smmu_alloc_cd_table(0);
    bool mapped =
        cd_table && s1 && s1->map(s1, IOVA_SOURCE, (uintptr_t)source, BUFFER_BYTES, S1_PROT, NULL) == 0 &&
        /* destination pages swapped: page 0 of the IOVA range is page 1 of the buffer */
        s1->map(s1, IOVA_DESTINATION, (uintptr_t)destination + PAGE_SIZE, PAGE_SIZE, S1_PROT, NULL) == 0 &&
        s1->map(s1, IOVA_DESTINATION + PAGE_SIZE, (uintptr_t)destination, PAGE_SIZE, S1_PROT, NULL) == 0;
    check(mapped && smmu_write_cd(&smmu, SID, cd_table, 0, ASID, &cfg) &&
              smmu_ste_stage1(&smmu, SID, (uintptr_t)cd_table, 0),
          "stage 1: CD and STE written");
    uint64_t fault;
    prepare_buffers();
    check(copy(IOVA_SOURCE, IOVA_DESTINATION, &fault) == DMA_STATUS_DONE && page_copied(1, 0) &&
              page_copied(0, 1) && no_new_events(),
          "stage 1: data at the PAs the tables give");

    prepare_buffers();
    check(copy(IOVA_UNMAPPED, IOVA_DESTINATION, &fault) == DMA_STATUS_READ_FAULT && fault == IOVA_UNMAPPED &&
              destination_untouched(),
          "stage 1: unmapped IOVA read faults");
    check_translation_fault("stage 1: F_TRANSLATION event for the read", IOVA_UNMAPPED, true, false, 0);
    check(copy(IOVA_SOURCE, IOVA_UNMAPPED, &fault) == DMA_STATUS_WRITE_FAULT && fault == IOVA_UNMAPPED,
          "stage 1: unmapped IOVA write faults");
    check_translation_fault("stage 1: F_TRANSLATION event for the write", IOVA_UNMAPPED, false, false, 0);

    /* The TLB holds the source translations now; unmap + TLBI must make them fault. */
    check(io_pgtable_unmap_strict(s1, IOVA_SOURCE, BUFFER_BYTES) == BUFFER_BYTES && !domain.failed &&
              domain.invalidations > 0,
          "stage 1: unmap + TLBI");
    prepare_buffers();
    check(copy(IOVA_SOURCE, IOVA_DESTINATION, &fault) == DMA_STATUS_READ_FAULT && fault == IOVA_SOURCE &&
              destination_untouched(),
          "stage 1: unmapped page faults after TLBI");
    check_translation_fault("stage 1: F_TRANSLATION event after unmap", IOVA_SOURCE, true, false, 0);
}

static void test_stage2(void) {
    static struct smmu_tlb_domain domain;
    struct io_pgtable_cfg cfg = {0};
    struct io_pgtable_ops *s2 = smmu_alloc_pgtable(&domain, &smmu, 2, 0, VMID_S2, &cfg);
    bool mapped =
        s2 &&
        s2->map(s2, (uintptr_t)source + IPA_OFFSET, (uintptr_t)source, BUFFER_BYTES, S2_PROT, NULL) == 0 &&
        s2->map(s2, (uintptr_t)destination + IPA_OFFSET, (uintptr_t)destination, BUFFER_BYTES, S2_PROT,
                NULL) == 0;
    check(mapped && smmu_ste_stage2(&smmu, SID, &cfg, VMID_S2), "stage 2: STE written");
    uint64_t fault;
    prepare_buffers();
    check(copy((uintptr_t)source + IPA_OFFSET, (uintptr_t)destination + IPA_OFFSET, &fault) ==
                  DMA_STATUS_DONE &&
              page_copied(0, 0) && page_copied(1, 1) && no_new_events(),
          "stage 2: IPA -> PA copy");
}

static void test_nested(void) {
    /* Stage 2 maps the whole page-allocator region at IPA = PA + IPA_OFFSET, with 2 MiB blocks: the CD, the
     * stage-1 tables and the buffers all live in it. */
    static struct smmu_tlb_domain s2_domain, s1_domain;
    struct io_pgtable_cfg s2_cfg = {0}, s1_cfg = {.table_pa_offset = IPA_OFFSET};
    uintptr_t ram_start, ram_end;
    page_alloc_region(&ram_start, &ram_end);
    ram_start &= ~(uintptr_t)(BLOCK_2M - 1);
    ram_end = (ram_end + BLOCK_2M - 1) & ~(uintptr_t)(BLOCK_2M - 1);
    struct io_pgtable_ops *s2 = smmu_alloc_pgtable(&s2_domain, &smmu, 2, 0, VMID_NESTED, &s2_cfg);
    bool ok = s2 && s2->map(s2, ram_start + IPA_OFFSET, ram_start, ram_end - ram_start, S2_PROT, NULL) == 0;
    /* The source and destination were mapped by blocks; the destination page is unmapped below by splitting
     * its block. */
    ok = ok && s2->iova_to_phys(s2, (uintptr_t)destination + IPA_OFFSET) == (uintptr_t)destination;
    uint64_t *cd_table = smmu_alloc_cd_table(0);
    struct io_pgtable_ops *s1 = smmu_alloc_pgtable(&s1_domain, &smmu, 1, ASID, VMID_NESTED, &s1_cfg);
    ok = ok && cd_table && s1 &&
         s1->map(s1, IOVA_SOURCE, (uintptr_t)source + IPA_OFFSET, BUFFER_BYTES, S1_PROT, NULL) == 0 &&
         s1->map(s1, IOVA_DESTINATION, (uintptr_t)destination + IPA_OFFSET, BUFFER_BYTES, S1_PROT, NULL) == 0;
    check(ok && smmu_write_cd(&smmu, SID, cd_table, 0, ASID, &s1_cfg) &&
              smmu_ste_nested(&smmu, SID, (uintptr_t)cd_table + IPA_OFFSET, 0, &s2_cfg, VMID_NESTED),
          "nested: CD and stage-1 tables in IPA space, STE written");
    uint64_t fault;
    prepare_buffers();
    check(copy(IOVA_SOURCE, IOVA_DESTINATION, &fault) == DMA_STATUS_DONE && page_copied(0, 0) &&
              page_copied(1, 1) && no_new_events(),
          "nested: IOVA -> IPA -> PA copy");

    uint64_t destination_ipa = (uintptr_t)destination + IPA_OFFSET;
    check(io_pgtable_unmap_strict(s2, destination_ipa, PAGE_SIZE) == PAGE_SIZE && !s2_domain.failed &&
              s2->iova_to_phys(s2, destination_ipa) == 0 &&
              s2->iova_to_phys(s2, destination_ipa + PAGE_SIZE) == (uintptr_t)destination + PAGE_SIZE,
          "nested: stage-2 unmap (block split) + TLBI");
    prepare_buffers();
    check(copy(IOVA_SOURCE, IOVA_DESTINATION, &fault) == DMA_STATUS_WRITE_FAULT && fault == IOVA_DESTINATION,
          "nested: write to the unmapped IPA faults");
    check_translation_fault("nested: stage-2 F_TRANSLATION with the IPA", IOVA_DESTINATION, false, true,
                            destination_ipa);
}

/* A fresh reset with a 2-entry event queue: three faults without draining overflow it. */
static void test_event_overflow(void) {
    struct smmu_init_options options;
    smmu_default_init_options(&options);
    options.evtq_log2 = 1;
    static struct smmu_tlb_domain domain;
    struct io_pgtable_cfg cfg = {0};
    uint64_t *cd_table = smmu_alloc_cd_table(0);
    check(smmu_init(&smmu, &options) && cd_table && smmu_alloc_pgtable(&domain, &smmu, 1, ASID, 0, &cfg) &&
              smmu_write_cd(&smmu, SID, cd_table, 0, ASID, &cfg) &&
              smmu_ste_stage1(&smmu, SID, (uintptr_t)cd_table, 0),
          "reset with a 2-entry event queue, stage 1 without mappings");
    uint64_t fault;
    bool faulted = true;
    for (unsigned int i = 0; i < 3; i++)
        faulted = faulted && copy(IOVA_UNMAPPED, IOVA_DESTINATION, &fault) == DMA_STATUS_READ_FAULT;
    uint32_t first;
    check(faulted && new_events(&first) == 2 && smmu.events_lost == 1,
          "event queue overflow: two records kept, overflow reported and acknowledged");
    check(copy(IOVA_UNMAPPED, IOVA_DESTINATION, &fault) == DMA_STATUS_READ_FAULT && new_events(&first) == 1 &&
              smmu.events_lost == 1,
          "after the acknowledgement events are recorded again");
}

int main(void) {
    if (!dma_master_present()) {
        printf("smmu_dma: no DMA test master\n");
        return 1;
    }
    if (!smmu_probe(&smmu, FW_SMMU_BASE) || !smmu.features.s1p || !smmu.features.s2p) {
        printf("smmu_dma: needs an SMMUv3 with stage 1 and stage 2\n");
        return 1;
    }
    struct smmu_init_options options;
    smmu_default_init_options(&options);
    check(smmu_init(&smmu, &options), "SMMU enabled");
    source = pgalloc_alloc_uninitialised(BUFFER_BYTES);
    destination = pgalloc_alloc_uninitialised(BUFFER_BYTES);
    if (!source || !destination)
        return 1;

    test_bypass_and_abort();
    test_smmu_disabled();
    test_stage1();
    test_stage2();
    test_nested();
    check(smmu.events_lost == 0 && smmu_gerror_active(&smmu) == 0, "no lost events, no global errors");

    test_event_overflow();
    check(smmu_disable(&smmu), "SMMU disabled");
    if (failures)
        printf("smmu_dma: %d checks failed\n", failures);
    return failures ? 1 : 0;
}
