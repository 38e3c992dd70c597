/* PRI queue overflow on purpose: a 4-entry PRI queue (SMMU_PRIQ_BASE.LOG2SIZE = 2) and both Test Engines with
 * two frames each (run with `frames=2` and multi-page groups, `prg_pages=4` / `prg_pages=2`), every frame
 * faulting its own lazy region in at once: far more page requests than the queue holds. The architecture's
 * answer (IHI0070 8.1): PRIQ_PROD.OVFLG toggles, nothing more is queued until PRIQ_CONS.OVACKFLG equals it,
 * and the SMMU itself answers every Last request it had to drop with Success, so the device asks again. The
 * CPU first watches the registers without draining, then lets the driver recover (drain, drop partial groups,
 * one CONS write acknowledging); every command must still finish with the right bytes in every page. Register
 * offsets and bits are the architecture's literals. */
#include <stdio.h>

#include <fw/mm.h>
#include <fw/mmio.h>
#include <fw/page_alloc.h>
#include <fw/timer.h>
#include <fwsmmu/sva_env.h>

#define FRAMES 2U
#define PAGES_PER_FRAME 8U
#define REGION (PAGES_PER_FRAME * PAGE_SIZE)
#define VA_BASE 0x0000020000000000ULL
#define TIMEOUT_MS 4000U
#define PRIQ_LOG2 2U

#define REG_PRIQ_PROD 0x100C8U
#define REG_PRIQ_CONS 0x100CCU
#define PRIQ_OVFLG 0x80000000U    /* PRIQ_PROD bit 31 */
#define PRIQ_OVACKFLG 0x80000000U /* PRIQ_CONS bit 31 */

static struct sva_env env;
static int failures;

static void check(bool ok, const char *what) {
    printf("sva_priq_overflow: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

static uint32_t smmu_reg(uint32_t offset) {
    return mmio_read32(env.smmu.base + offset);
}

static uint64_t region_va(unsigned int engine, unsigned int frame) {
    return VA_BASE + (uint64_t)(engine * FRAMES + frame) * REGION;
}

static uint32_t region_seed(unsigned int engine, unsigned int frame) {
    return 0x700U + engine * FRAMES + frame;
}

static bool region_ok(struct mm_struct *mm, unsigned int engine, unsigned int frame) {
    uint64_t va = region_va(engine, frame);
    uint32_t seed = region_seed(engine, frame);
    mm_switch(mm);
    const volatile uint8_t *data = (const volatile uint8_t *)(uintptr_t)va;
    bool ok = true;
    for (uint64_t offset = 0; offset < REGION && ok; offset += 53)
        ok = data[offset] == te_rand48_byte(seed, va, va + offset);
    ok = ok && data[REGION - 1] == te_rand48_byte(seed, va, va + REGION - 1);
    mm_switch(NULL);
    return ok;
}

int main(void) {
    enum sva_env_result setup = sva_env_setup(&env, PRIQ_LOG2, 64);
    if (setup == SVA_ENV_SKIP)
        return 0;
    check(setup == SVA_ENV_READY, "SMMU, PCI, MMU and engine masters ready");
    if (setup != SVA_ENV_READY)
        return 1;
    check(env.engines == 2, "two Test Engines");
    check(env.smmu.priq.log2_entries == PRIQ_LOG2, "PRI queue of 4 entries");
    if (env.engines != 2)
        return 1;
    struct mm_struct *mm = mm_create();
    check(mm && mm_map(mm, VA_BASE, 2U * FRAMES * REGION, MM_PROT_READ | MM_PROT_WRITE, 0) == 0,
          "process with a lazy buffer for each frame");
    struct iommu_sva *bond[2] = {iommu_sva_bind_device(&env.master[0], mm),
                                 iommu_sva_bind_device(&env.master[1], mm)};
    check(bond[0] && bond[1], "bound to both engines");
    if (!mm || !bond[0] || !bond[1])
        return 1;
    uint32_t pasid = iommu_sva_get_pasid(bond[0]);
    for (unsigned int e = 0; e < 2; e++)
        for (unsigned int f = 0; f < FRAMES; f++)
            te_setup_frame(&env.te[e], f, pasid, true, true);

    uint32_t overflows_before = env.smmu.priq_overflows;
    /* A trace line costs UART time the devices' retry budget cannot spare. */
    iommu_trace_enabled = false;
    for (unsigned int e = 0; e < 2; e++)
        for (unsigned int f = 0; f < FRAMES; f++)
            te_start(&env.te[e], f, TE_ENGINE_RAND48, region_va(e, f), region_va(e, f) + REGION - 1, 0,
                     region_seed(e, f));
    /* Nobody drains yet: the queue fills and must report the overflow. */
    uint64_t deadline = now_ns() + 20000000ULL;
    uint32_t prod = smmu_reg(REG_PRIQ_PROD), cons = smmu_reg(REG_PRIQ_CONS);
    while (((prod & PRIQ_OVFLG) != 0) == ((cons & PRIQ_OVACKFLG) != 0) && now_ns() < deadline)
        prod = smmu_reg(REG_PRIQ_PROD);
    /* Checked after the drain: until the driver acknowledges, every request a device sends is answered by
     * the SMMU and costs the device one of its 8 translation attempts, so nothing here may take long. */
    udelay(1);
    uint32_t prod_later = smmu_reg(REG_PRIQ_PROD);
    bool all_halted = true;
    for (unsigned int e = 0; e < 2; e++)
        for (unsigned int f = 0; f < FRAMES; f++) {
            uint32_t state = te_wait(&env.te[e], f, TIMEOUT_MS);
            if (state != TE_ENGINE_HALTED)
                printf("sva_priq_overflow: engine %u frame %u ended in state 0x%x\n", e, f,
                       (unsigned int)state);
            all_halted &= state == TE_ENGINE_HALTED;
        }
    iommu_trace_enabled = true;
    printf("sva_priq_overflow: PRIQ_PROD 0x%08x PRIQ_CONS 0x%08x\n", (unsigned int)prod, (unsigned int)cons);
    check((prod & PRIQ_OVFLG) == PRIQ_OVFLG && (cons & PRIQ_OVACKFLG) == 0,
          "PRIQ_PROD.OVFLG = 1 while PRIQ_CONS.OVACKFLG = 0 (overflow active)");
    check((prod & 0x7U) == ((cons & 0x7U) ^ 0x4U),
          "queue full when it overflowed (WR = RD with the wrap bit flipped)");
    check(prod_later == prod, "nothing more queued while the overflow is not acknowledged");

    prod = smmu_reg(REG_PRIQ_PROD);
    cons = smmu_reg(REG_PRIQ_CONS);
    printf("sva_priq_overflow: after recovery PRIQ_PROD 0x%08x PRIQ_CONS 0x%08x, %u overflows, %u partial "
           "requests dropped\n",
           (unsigned int)prod, (unsigned int)cons, (unsigned int)(env.smmu.priq_overflows - overflows_before),
           (unsigned int)(env.master[0].partial_dropped + env.master[1].partial_dropped));
    check(env.smmu.priq_overflows > overflows_before, "driver saw the overflow");
    check((prod & PRIQ_OVFLG) == (cons & PRIQ_OVACKFLG),
          "PRIQ_CONS.OVACKFLG = PRIQ_PROD.OVFLG (acknowledged)");
    check(all_halted, "all commands completed (the devices retried after the SMMU's automatic responses)");
    bool data = all_halted; /* an unfinished region may have pages the CPU cannot read yet */
    for (unsigned int e = 0; e < 2; e++)
        for (unsigned int f = 0; f < FRAMES; f++)
            data = data && region_ok(mm, e, f);
    check(data, "every page holds its frame's RAND48 bytes");
    unsigned int responses = env.master[0].responses[1] + env.master[0].responses[2] +
                             env.master[1].responses[1] + env.master[1].responses[2];
    check(responses == 0, "no group answered with an error");

    for (unsigned int e = 0; e < 2; e++)
        for (unsigned int f = 0; f < FRAMES; f++)
            check(te_stop(&env.te[e], f, TIMEOUT_MS), "frame stopped");
    iommu_sva_unbind_device(bond[0]);
    iommu_sva_unbind_device(bond[1]);
    mm_exit(mm);
    check(iommu_sva_bond_count() == 0, "unbound");
    if (failures)
        printf("sva_priq_overflow: %d checks failed\n", failures);
    else
        printf("sva_priq_overflow: ok\n");
    return failures ? 1 : 0;
}
