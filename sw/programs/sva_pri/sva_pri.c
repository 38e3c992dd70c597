/* SVA with I/O page faults: a process binds to each Test Engine; its buffers are not populated; the engine's
 * work faults through ATS and PRI (page request groups), the handler populates the pages, the engine
 * completes, and the CPU checks the results through the same virtual addresses. Binding twice returns the
 * same handle; a second device bound to the same process gets the same PASID; unbind and exit leave nothing
 * behind. */
#include <stdio.h>
#include <string.h>

#include <fw/mm.h>
#include <fw/page_alloc.h>
#include <fwsmmu/sva_env.h>

#define VA_FILL 0x0000010000000000ULL /* RAND48 writes here: pages appear through write faults */
#define VA_COPY 0x0000010100000000ULL /* MEMCPY destination */
#define PAGES 4U
#define BYTES (PAGES * PAGE_SIZE)
#define SEED 0x5EEDU
#define TIMEOUT_MS 2000U

static struct sva_env env;
static int failures;

static void check(bool ok, const char *what) {
    printf("sva_pri: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

static bool rand48_data_ok(struct mm_struct *mm, uint64_t va, uint64_t begin, uint64_t bytes) {
    mm_switch(mm); /* the CPU reads the process's memory through its own virtual addresses */
    const volatile uint8_t *data = (const volatile uint8_t *)(uintptr_t)va;
    bool ok = true;
    /* First and last bytes of every page, plus a stride through it (the generator costs a step per byte). */
    for (uint64_t page = 0; page < bytes && ok; page += PAGE_SIZE)
        for (uint64_t offset = 0; offset < PAGE_SIZE && ok;
             offset += (offset < 8 || offset > PAGE_SIZE - 16) ? 1 : 509)
            ok = data[page + offset] == te_rand48_byte(SEED, begin, va + page + offset);
    mm_switch(NULL);
    return ok;
}

static uint64_t cpu_sum64(struct mm_struct *mm, uint64_t va, uint64_t bytes) {
    mm_switch(mm);
    const volatile uint64_t *words = (const volatile uint64_t *)(uintptr_t)va;
    uint64_t sum = 0;
    for (uint64_t i = 0; i < bytes / 8; i++)
        sum += words[i];
    mm_switch(NULL);
    return sum;
}

static bool same_bytes(struct mm_struct *mm, uint64_t a, uint64_t b, uint64_t bytes) {
    mm_switch(mm);
    bool same = memcmp((const void *)(uintptr_t)a, (const void *)(uintptr_t)b, bytes) == 0;
    mm_switch(NULL);
    return same;
}

static void run_engine(unsigned int index, struct mm_struct *mm, struct iommu_sva *bond) {
    struct te_device *te = &env.te[index];
    struct smmu_master *master = &env.master[index];
    uint32_t pasid = iommu_sva_get_pasid(bond);
    char what[96];
    te_setup_frame(te, 0, pasid, true, true);
    size_t resident = mm->resident_pages;
    uint32_t faults = master->faults, groups = master->groups;

    uint32_t state = te_run(te, 0, TE_ENGINE_RAND48, VA_FILL, VA_FILL + BYTES - 1, 0, SEED, TIMEOUT_MS);
    snprintf(what, sizeof(what), "%s: RAND48 over unpopulated pages completes", master->name);
    check(state == TE_ENGINE_HALTED, what);
    snprintf(what, sizeof(what), "%s: pages faulted in by PRI groups, each answered once", master->name);
    check(mm->resident_pages == resident + PAGES && master->faults >= faults + PAGES &&
              master->groups > groups && master->responses[IOMMU_PAGE_RESP_SUCCESS] == master->groups &&
              master->responses[IOMMU_PAGE_RESP_INVALID] == 0,
          what);
    printf("sva_pri: %s: %u page requests in %u groups\n", master->name,
           (unsigned int)(master->faults - faults), (unsigned int)(master->groups - groups));
    if (master->faults - faults > master->groups - groups)
        printf("sva_pri: %s: multi-page groups answered once each\n", master->name);
    snprintf(what, sizeof(what), "%s: CPU reads the engine's data through the same VAs", master->name);
    check(rand48_data_ok(mm, VA_FILL, VA_FILL, BYTES), what);

    state = te_run(te, 0, TE_ENGINE_SUM64, VA_FILL, VA_FILL + BYTES - 1, 0, 0, TIMEOUT_MS);
    snprintf(what, sizeof(what), "%s: SUM64 of resident pages: no new fault, sum matches the CPU's",
             master->name);
    uint32_t faults_before_sum = master->faults;
    check(state == TE_ENGINE_HALTED && te_udata(te, 0, 1) == cpu_sum64(mm, VA_FILL, BYTES) &&
              master->faults == faults_before_sum,
          what);

    state = te_run(te, 0, TE_ENGINE_MEMCPY, VA_FILL, VA_FILL + BYTES - 1, VA_COPY, 0, TIMEOUT_MS);
    snprintf(what, sizeof(what), "%s: MEMCPY into unpopulated pages, CPU sees the copy", master->name);
    check(state == TE_ENGINE_HALTED && same_bytes(mm, VA_FILL, VA_COPY, BYTES), what);
}

int main(void) {
    enum sva_env_result setup = sva_env_setup(&env, 8, 32);
    if (setup == SVA_ENV_SKIP)
        return 0;
    check(setup == SVA_ENV_READY, "SMMU, PCI, MMU and engine masters ready");
    if (setup != SVA_ENV_READY)
        return 1;
    /* Warm-up bind of a throw-away process: the CD leaf of the first PASIDs stays allocated (as Linux keeps
     * its CD leaves), so the leak check starts after it. */
    struct mm_struct *warm = mm_create();
    for (unsigned int i = 0; i < env.engines; i++)
        iommu_sva_unbind_device(iommu_sva_bind_device(&env.master[i], warm));
    mm_exit(warm);
    size_t baseline = page_alloc_pages_in_use();

    struct mm_struct *mm = mm_create();
    check(mm && mm_map(mm, VA_FILL, BYTES, MM_PROT_READ | MM_PROT_WRITE, 0) == 0 &&
              mm_map(mm, VA_COPY, BYTES, MM_PROT_READ | MM_PROT_WRITE, 0) == 0 && mm->resident_pages == 0,
          "process with two lazy VMAs, nothing resident");

    struct iommu_sva *bond = iommu_sva_bind_device(&env.master[0], mm);
    uint32_t pasid = iommu_sva_get_pasid(bond);
    check(bond && pasid != 0 && iommu_sva_mm_pasid(mm) == pasid, "bound: the process has a PASID");
    struct iommu_sva *again = iommu_sva_bind_device(&env.master[0], mm);
    check(again == bond, "second bind: same handle");
    iommu_sva_unbind_device(again);
    check(env.master[0].ats_enabled && env.master[0].pri_enabled, "ATS and PRI enabled on the engine");

    run_engine(0, mm, bond);

    if (env.engines > 1) {
        struct iommu_sva *other = iommu_sva_bind_device(&env.master[1], mm);
        check(other && other != bond && iommu_sva_get_pasid(other) == pasid,
              "second engine: same PASID for the same process");
        /* New pages for the second engine to fault in. */
        check(mm_unmap(mm, VA_FILL, BYTES) == 0 && mm_unmap(mm, VA_COPY, BYTES) == 0 &&
                  mm_map(mm, VA_FILL, BYTES, MM_PROT_READ | MM_PROT_WRITE, 0) == 0 &&
                  mm_map(mm, VA_COPY, BYTES, MM_PROT_READ | MM_PROT_WRITE, 0) == 0 && mm->resident_pages == 0,
              "buffers unmapped and mapped again, lazily");
        run_engine(1, mm, other);
        te_stop(&env.te[1], 0, TIMEOUT_MS);
        iommu_sva_unbind_device(other);
    }

    check(te_stop(&env.te[0], 0, TIMEOUT_MS), "engine stopped using the PASID");
    iommu_sva_unbind_device(bond);
    check(iommu_sva_bond_count() == 0 && iommu_sva_mm_pasid(mm) == 0, "unbound: PASID freed");
    mm_exit(mm);
    check(page_alloc_pages_in_use() == baseline, "no pages left behind");

    if (failures)
        printf("sva_pri: %d checks failed\n", failures);
    else
        printf("sva_pri: ok\n");
    return failures ? 1 : 0;
}
