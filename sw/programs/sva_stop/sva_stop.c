/* Unbind with work in flight, on both Test Engines: 00:02.0 stops its PASID with a Stop Marker (not waiting
 * for its responses), 00:03.0 waits for every outstanding group's response before it reports stopped. The
 * engine starts a long fill of lazy pages; once page requests are queued (not yet answered) the PASID is
 * stopped, then unbound: the driver answers what is queued, discards the stop marker, drops partial groups,
 * clears the CD, invalidates, and frees the PASID. Another process then binds, gets the same PASID, and runs
 * at the same VAs: its data lands in its own pages and nothing reaches the old process's pages. */
#include <stdio.h>

#include <fw/mm.h>
#include <fw/mmio.h>
#include <fw/page_alloc.h>
#include <fw/platform.h>
#include <fw/timer.h>
#include <fwsmmu/sva_env.h>

#define VA_BUFFER 0x0000010000000000ULL
#define PAGES 16U
#define BYTES (PAGES * PAGE_SIZE)
#define TIMEOUT_MS 2000U

static struct sva_env env;
static int failures;

static void check(bool ok, const char *what) {
    printf("sva_stop: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

/* Sum of every resident page of mm in the buffer, read through the PAs. */
static uint64_t resident_checksum(struct mm_struct *mm) {
    uint64_t sum = 0;
    for (unsigned int page = 0; page < PAGES; page++) {
        uint64_t pa = mm_va_to_pa(mm, VA_BUFFER + page * PAGE_SIZE);
        if (!pa)
            continue;
        const volatile uint64_t *words = (const volatile uint64_t *)(uintptr_t)pa;
        for (unsigned int w = 0; w < PAGE_SIZE / 8; w++)
            sum = sum * 31U + words[w];
    }
    return sum;
}

static bool priq_has_requests(struct smmu_device *smmu) {
    uint32_t prod = mmio_read32(smmu->base + SMMU_PRIQ_PROD) & SMMU_Q_PTR_MASK;
    uint32_t cons = mmio_read32(smmu->base + SMMU_PRIQ_CONS) & SMMU_Q_PTR_MASK;
    return prod != cons;
}

static void scenario(unsigned int index) {
    struct te_device *te = &env.te[index];
    struct smmu_master *master = &env.master[index];
    char what[112];
    struct mm_struct *old = mm_create();
    mm_map(old, VA_BUFFER, BYTES, MM_PROT_READ | MM_PROT_WRITE, 0);
    struct iommu_sva *bond = iommu_sva_bind_device(master, old);
    uint32_t pasid = iommu_sva_get_pasid(bond);
    te_setup_frame(te, 0, pasid, true, true);
    te_start(te, 0, TE_ENGINE_RAND48, VA_BUFFER, VA_BUFFER + BYTES - 1, 0, 7);
    /* Answer a few groups, then leave requests queued and stop the PASID under them. */
    uint64_t deadline = now_ns() + 50000000ULL;
    while (master->groups < 2 && now_ns() < deadline)
        iommu_process_faults();
    while (!priq_has_requests(&env.smmu) && now_ns() < deadline)
        ;
    uint32_t markers = master->stop_markers;
    te_request_stop(te, 0);
    bool waits = index == 1;
    bool stopped;
    if (waits) {
        stopped = te_stop(te, 0, TIMEOUT_MS); /* needs the responses: the fault processing runs meanwhile */
    } else {
        /* The stop-marker engine stops without its responses: no fault processing until it says stopped. */
        deadline = now_ns() + (uint64_t)TIMEOUT_MS * 1000000ULL;
        while (te_state(te, 0) != TE_ENGINE_ERROR && te_state(te, 0) != TE_ENGINE_HALTED &&
               now_ns() < deadline)
            ;
        stopped = te_stop(te, 0, TIMEOUT_MS);
    }
    snprintf(what, sizeof(what), "%s: PASID stopped with work in flight", master->name);
    check(stopped && te_state(te, 0) != TE_ENGINE_TIMEOUT, what);
    iommu_sva_unbind_device(bond);
    snprintf(what, sizeof(what), "%s: %s", master->name,
             waits ? "no stop marker, every group answered before the stop"
                   : "stop marker seen and discarded");
    check(waits ? master->stop_markers == markers : master->stop_markers == markers + 1, what);
    snprintf(what, sizeof(what), "%s: unbound, PASID free", master->name);
    check(iommu_sva_bond_count() == 0 && iommu_sva_mm_pasid(old) == 0, what);

    uint64_t old_sum = resident_checksum(old);
    struct mm_struct *next = mm_create();
    mm_map(next, VA_BUFFER, BYTES, MM_PROT_READ | MM_PROT_WRITE, 0);
    struct iommu_sva *next_bond = iommu_sva_bind_device(master, next);
    snprintf(what, sizeof(what), "%s: another process gets the same PASID", master->name);
    check(next_bond && iommu_sva_get_pasid(next_bond) == pasid, what);
    te_setup_frame(te, 0, pasid, true, true);
    uint32_t state = te_run(te, 0, TE_ENGINE_RAND48, VA_BUFFER, VA_BUFFER + BYTES - 1, 0, 9, TIMEOUT_MS);
    bool data = true;
    mm_switch(next);
    for (unsigned int page = 0; page < PAGES && data; page++)
        data = *(volatile uint8_t *)(uintptr_t)(VA_BUFFER + page * PAGE_SIZE) ==
               te_rand48_byte(9, VA_BUFFER, VA_BUFFER + page * PAGE_SIZE);
    mm_switch(NULL);
    snprintf(what, sizeof(what), "%s: new process's data in its own pages, old pages unchanged",
             master->name);
    check(state == TE_ENGINE_HALTED && data && resident_checksum(old) == old_sum, what);
    te_stop(te, 0, TIMEOUT_MS);
    iommu_sva_unbind_device(next_bond);
    mm_exit(next);
    mm_exit(old);
}

int main(void) {
    enum sva_env_result setup = sva_env_setup(&env, 8, 32);
    if (setup == SVA_ENV_SKIP)
        return 0;
    check(setup == SVA_ENV_READY && env.engines == 2, "SMMU, PCI, MMU and both engine masters ready");
    if (setup != SVA_ENV_READY || env.engines != 2)
        return 1;
    scenario(0);
    scenario(1);
    if (failures)
        printf("sva_stop: %d checks failed\n", failures);
    else
        printf("sva_stop: ok\n");
    return failures ? 1 : 0;
}
