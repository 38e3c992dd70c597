/* munmap while the Test Engine holds the pages in its ATC: the mm notifier invalidates the SMMU TLB by ASID
 * and range, waits (CMD_SYNC), then invalidates the device ATC for the PASID and waits again. The freed pages
 * are then taken by the CPU and filled with a marker; the process maps the range again, lazily. The engine's
 * next access faults again (no stale translation), its data lands in the new pages, and the old pages keep
 * the marker. Done for a single page and for a range. */
#include <stdio.h>

#include <fw/mm.h>
#include <fw/page_alloc.h>
#include <fwsmmu/sva_env.h>

#define VA_BUFFER 0x0000010000000000ULL
#define PAGES 4U
#define BYTES (PAGES * PAGE_SIZE)
#define TIMEOUT_MS 2000U
#define MARKER 0xABABABABABABABABULL

static struct sva_env env;
static int failures;

static void check(bool ok, const char *what) {
    printf("sva_invalidate: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

static bool data_ok(struct mm_struct *mm, uint32_t seed, uint64_t va, uint64_t bytes) {
    mm_switch(mm);
    const volatile uint8_t *data = (const volatile uint8_t *)(uintptr_t)va;
    bool ok = true;
    for (uint64_t page = 0; page < bytes && ok; page += PAGE_SIZE)
        for (uint64_t offset = 0; offset < 16 && ok; offset++)
            ok = data[page + offset] == te_rand48_byte(seed, VA_BUFFER, va + page + offset);
    mm_switch(NULL);
    return ok;
}

static void round(struct te_device *te, struct smmu_master *master, struct mm_struct *mm, uint64_t va,
                  uint64_t bytes, uint32_t seed, const char *name) {
    char what[112];
    uint32_t state = te_run(te, 0, TE_ENGINE_RAND48, VA_BUFFER, VA_BUFFER + BYTES - 1, 0, seed, TIMEOUT_MS);
    uint32_t faults = master->faults;
    uint32_t sum_state = te_run(te, 0, TE_ENGINE_SUM64, VA_BUFFER, VA_BUFFER + BYTES - 1, 0, 0, TIMEOUT_MS);
    snprintf(what, sizeof(what), "%s: engine wrote and read the buffer, translations cached (no new fault)",
             name);
    check(state == TE_ENGINE_HALTED && sum_state == TE_ENGINE_HALTED && master->faults == faults, what);

    uint64_t *grabbed[PAGES];
    unsigned int grabbed_count = 0;
    snprintf(what, sizeof(what), "%s: munmap, freed pages taken and marked, range mapped again", name);
    check(sva_env_unmap_and_mark(mm, va, bytes, MARKER, grabbed, &grabbed_count), what);
    faults = master->faults;
    state = te_run(te, 0, TE_ENGINE_RAND48, VA_BUFFER, VA_BUFFER + BYTES - 1, 0, seed + 1, TIMEOUT_MS);
    snprintf(what, sizeof(what), "%s: the next access faults again, once per unmapped page", name);
    check(state == TE_ENGINE_HALTED && master->faults >= faults + bytes / PAGE_SIZE, what);
    snprintf(what, sizeof(what), "%s: new data at the VAs, old pages untouched (no stale ATC entry used)",
             name);
    check(data_ok(mm, seed + 1, VA_BUFFER, BYTES) && sva_env_marked(grabbed, grabbed_count, MARKER), what);
    for (unsigned int i = 0; i < grabbed_count; i++)
        free_page(grabbed[i]);
}

int main(void) {
    enum sva_env_result setup = sva_env_setup(&env, 8, 32);
    if (setup == SVA_ENV_SKIP)
        return 0;
    check(setup == SVA_ENV_READY, "SMMU, PCI, MMU and engine masters ready");
    if (setup != SVA_ENV_READY)
        return 1;
    struct te_device *te = &env.te[0];
    struct smmu_master *master = &env.master[0];
    struct mm_struct *mm = mm_create();
    check(mm && mm_map(mm, VA_BUFFER, BYTES, MM_PROT_READ | MM_PROT_WRITE, 0) == 0,
          "process with a lazy buffer");
    struct iommu_sva *bond = iommu_sva_bind_device(master, mm);
    check(bond != NULL, "bound");
    te_setup_frame(te, 0, iommu_sva_get_pasid(bond), true, true);

    round(te, master, mm, VA_BUFFER + PAGE_SIZE, PAGE_SIZE, 0x100, "one page");
    round(te, master, mm, VA_BUFFER, BYTES, 0x200, "whole range");

    check(te_stop(te, 0, TIMEOUT_MS), "engine stopped");
    iommu_sva_unbind_device(bond);
    mm_exit(mm);
    check(iommu_sva_bond_count() == 0, "unbound");
    if (failures)
        printf("sva_invalidate: %d checks failed\n", failures);
    else
        printf("sva_invalidate: ok\n");
    return failures ? 1 : 0;
}
