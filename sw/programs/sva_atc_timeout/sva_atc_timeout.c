/* CERROR_ATC_INV_SYNC on purpose: run with `--set smmu.atc_inv_timeout=1ns`, so every CMD_SYNC that waits for
 * a Test Engine's ATS Invalidate Completion gives up first. The architecture's answer (IHI0070 7.1): the SYNC
 * is not consumed, CMDQ_CONS.ERR = 0x3 and RD stays on the SYNC, GERROR.CMDQ_ERR toggles; acknowledging it in
 * GERRORN retries the SYNC. First the error is provoked by hand and read from the registers, then the
 * driver's recovery handles it, then a munmap whose ATC invalidation times out must still leave no stale
 * translation in use: the freed pages are taken and marked by the CPU, the engine's next run faults again and
 * writes new pages, the marked ones stay intact. Register offsets and field values are the architecture's
 * literals, not the driver's macros, so a wrong macro cannot hide a wrong model. */
#include <stdio.h>

#include <fw/mm.h>
#include <fw/mmio.h>
#include <fw/page_alloc.h>
#include <fw/timer.h>
#include <fwsmmu/sva_env.h>

#define VA_BUFFER 0x0000010000000000ULL
#define PAGES 4U
#define BYTES (PAGES * PAGE_SIZE)
#define TIMEOUT_MS 2000U
#define MARKER 0x5A5A5A5A5A5A5A5AULL

#define REG_GERROR 0x60U
#define REG_GERRORN 0x64U
#define REG_CMDQ_CONS 0x9CU
#define GERROR_CMDQ_ERR 0x1U
#define CMDQ_CONS_ERR(cons) (((cons) >> 24) & 0x7FU)
#define CERROR_ATC_INV_SYNC 0x3U
#define OPCODE_CMD_SYNC 0x46U
#define OPCODE_CMD_ATC_INV 0x40U

static struct sva_env env;
static int failures;

static void check(bool ok, const char *what) {
    printf("sva_atc_timeout: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

static uint32_t smmu_reg(uint32_t offset) {
    return mmio_read32(env.smmu.base + offset);
}

static bool rand48_ok(struct mm_struct *mm, uint32_t seed) {
    mm_switch(mm);
    const volatile uint8_t *data = (const volatile uint8_t *)(uintptr_t)VA_BUFFER;
    bool ok = true;
    for (uint64_t offset = 0; offset < BYTES && ok; offset += 61)
        ok = data[offset] == te_rand48_byte(seed, VA_BUFFER, VA_BUFFER + offset);
    mm_switch(NULL);
    return ok;
}

/* CMD_ATC_INV + CMD_SYNC issued without the driver's wait, the error observed in the registers. */
static void provoke_by_hand(struct smmu_master *master, uint32_t pasid) {
    struct smmu_device *smmu = &env.smmu;
    uint32_t gerror_before = smmu_reg(REG_GERROR);
    check(((gerror_before ^ smmu_reg(REG_GERRORN)) & GERROR_CMDQ_ERR) == 0,
          "no command error active at start");
    uint32_t sync_index = (smmu->cmdq.prod + 1U) & ((1U << smmu->cmdq.log2_entries) - 1U);
    bool issued = smmu_atc_inv(smmu, master->sid, true, pasid, VA_BUFFER, BYTES) &&
                  smmu_cmdq_issue(smmu, (uint64_t)OPCODE_CMD_SYNC, 0);
    check(issued, "CMD_ATC_INV (opcode 0x40) and CMD_SYNC (0x46) queued");
    uint64_t deadline = now_ns() + 100000000ULL;
    while (((smmu_reg(REG_GERROR) ^ smmu_reg(REG_GERRORN)) & GERROR_CMDQ_ERR) == 0 && now_ns() < deadline)
        ;
    uint32_t gerror = smmu_reg(REG_GERROR), gerrorn = smmu_reg(REG_GERRORN);
    uint32_t cons = smmu_reg(REG_CMDQ_CONS);
    uint32_t rd_index = cons & ((1U << smmu->cmdq.log2_entries) - 1U);
    uint32_t opcode_at_rd = (uint32_t)(smmu->cmdq.base[(size_t)rd_index * 2U] & 0xFFU);
    printf("sva_atc_timeout: GERROR 0x%x GERRORN 0x%x CMDQ_CONS 0x%x (ERR 0x%x, RD index %u, opcode there "
           "0x%02x)\n",
           (unsigned int)gerror, (unsigned int)gerrorn, (unsigned int)cons, (unsigned int)CMDQ_CONS_ERR(cons),
           (unsigned int)rd_index, (unsigned int)opcode_at_rd);
    check(((gerror ^ gerror_before) & GERROR_CMDQ_ERR) == GERROR_CMDQ_ERR, "GERROR.CMDQ_ERR toggled");
    check(CMDQ_CONS_ERR(cons) == 0x3U, "CMDQ_CONS.ERR = 0x3 (CERROR_ATC_INV_SYNC)");
    check(rd_index == sync_index && opcode_at_rd == OPCODE_CMD_SYNC, "CMDQ_CONS.RD stays on the CMD_SYNC");

    /* The driver's next SYNC finds the error, retries the stuck SYNC by acknowledging it, and completes. */
    uint32_t errors = smmu->atc_inv_sync_errors;
    bool synced = smmu_cmdq_sync(smmu);
    check(synced && smmu->atc_inv_sync_errors == errors + 1U && smmu->last_cerror == CERROR_ATC_INV_SYNC,
          "driver recovered: one CERROR_ATC_INV_SYNC, SYNC retried and completed");
    check(((smmu_reg(REG_GERROR) ^ smmu_reg(REG_GERRORN)) & GERROR_CMDQ_ERR) == 0,
          "GERRORN.CMDQ_ERR acknowledged (equal to GERROR)");
    check((smmu_reg(REG_CMDQ_CONS) & ((2U << smmu->cmdq.log2_entries) - 1U)) == smmu->cmdq.prod,
          "command queue drained (CONS = PROD)");
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
    if (!mm || !bond)
        return 1;
    uint32_t pasid = iommu_sva_get_pasid(bond);
    te_setup_frame(te, 0, pasid, true, true);

    uint32_t state = te_run(te, 0, TE_ENGINE_RAND48, VA_BUFFER, VA_BUFFER + BYTES - 1, 0, 0x300, TIMEOUT_MS);
    uint32_t faults = master->faults;
    uint32_t sum = te_run(te, 0, TE_ENGINE_SUM64, VA_BUFFER, VA_BUFFER + BYTES - 1, 0, 0, TIMEOUT_MS);
    check(state == TE_ENGINE_HALTED && sum == TE_ENGINE_HALTED && master->faults == faults &&
              rand48_ok(mm, 0x300),
          "engine faulted the buffer in and holds it in its ATC");

    provoke_by_hand(master, pasid);

    uint32_t errors = env.smmu.atc_inv_sync_errors;
    uint64_t *grabbed[PAGES];
    unsigned int grabbed_count = 0;
    check(sva_env_unmap_and_mark(mm, VA_BUFFER, BYTES, MARKER, grabbed, &grabbed_count),
          "munmap, freed pages taken and marked, range mapped again");
    check(env.smmu.atc_inv_sync_errors > errors && env.smmu.last_cerror == 0x3U,
          "munmap's ATC invalidation SYNC timed out and was recovered");
    faults = master->faults;
    state = te_run(te, 0, TE_ENGINE_RAND48, VA_BUFFER, VA_BUFFER + BYTES - 1, 0, 0x301, TIMEOUT_MS);
    check(state == TE_ENGINE_HALTED && master->faults >= faults + PAGES,
          "the next run faults again, once per unmapped page");
    bool marked = sva_env_marked(grabbed, grabbed_count, MARKER);
    check(rand48_ok(mm, 0x301) && marked,
          "new data at the VAs, old pages untouched (no stale translation used)");
    for (unsigned int i = 0; i < grabbed_count; i++)
        free_page(grabbed[i]);

    check(te_stop(te, 0, TIMEOUT_MS), "engine stopped");
    iommu_sva_unbind_device(bond);
    mm_exit(mm);
    check(iommu_sva_bond_count() == 0, "unbound");
    printf("sva_atc_timeout: %u CERROR_ATC_INV_SYNC recoveries\n",
           (unsigned int)env.smmu.atc_inv_sync_errors);
    if (failures)
        printf("sva_atc_timeout: %d checks failed\n", failures);
    else
        printf("sva_atc_timeout: ok\n");
    return failures ? 1 : 0;
}
