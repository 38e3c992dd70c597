/* Process exit while the Test Engine runs: the engine faults, and while that fault's group is being answered
 * the process exits (the mm release runs: the CD is quiesced with EPD0, TLBI by ASID, ATC invalidated). The
 * fault in flight still gets its successful response; the engine's retry now translates through the quiet
 * CD, faults again, and that new page request is answered Invalid Request, so the engine stops with an error.
 * No C_BAD_CD is raised (the CD stays valid). Then the engine stops using the PASID and unbind frees it.
 * The trace: bind, fault, release, response code 0, new fault, response code 1, unbind free. */
#include <stdio.h>

#include <fw/mm.h>
#include <fw/page_alloc.h>
#include <fwsmmu/sva_env.h>

#define VA_BUFFER 0x0000010000000000ULL
#define PAGES 4U
#define TIMEOUT_MS 2000U

static struct sva_env env;
static struct mm_struct *process;
static int failures;
static unsigned int groups_seen;

static void check(bool ok, const char *what) {
    printf("sva_exit: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

/* The device driver's fault hook: the first group has been resolved and is about to be answered when the
 * process exits (on a multi-CPU system, another CPU running exit_mmap at that moment). */
static void exit_during_fault(const struct iommu_fault_group *group, enum iommu_page_response_code *code,
                              void *data) {
    (void)group;
    (void)data;
    if (groups_seen++ == 0 && process) {
        printf("sva_exit: the process exits with a fault in flight (code %u)\n", (unsigned int)*code);
        mm_exit(process);
        process = NULL;
    }
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

    process = mm_create();
    check(process && mm_map(process, VA_BUFFER, PAGES * PAGE_SIZE, MM_PROT_READ | MM_PROT_WRITE, 0) == 0,
          "process with a lazy buffer");
    struct iommu_sva *bond = iommu_sva_bind_device(master, process);
    uint32_t pasid = iommu_sva_get_pasid(bond);
    check(bond != NULL, "bound");
    iommu_register_device_fault_handler(master, exit_during_fault, NULL);
    te_setup_frame(te, 0, pasid, true, true);

    uint32_t events_before = env.smmu.event_count;
    uint32_t state =
        te_run(te, 0, TE_ENGINE_RAND48, VA_BUFFER, VA_BUFFER + PAGES * PAGE_SIZE - 1, 0, 1, TIMEOUT_MS);
    check(process == NULL, "the process exited during the run");
    check(state == TE_ENGINE_ERROR, "the engine ends with an error");
    check(master->responses[IOMMU_PAGE_RESP_SUCCESS] >= 1 && master->responses[IOMMU_PAGE_RESP_INVALID] >= 1,
          "the fault in flight answered Success, the next one Invalid Request");
    bool no_bad_cd = true;
    for (uint32_t i = events_before; i < env.smmu.event_count; i++)
        if (smmu_event_at(&env.smmu, i)->id == SMMU_EVT_C_BAD_CD)
            no_bad_cd = false;
    check(no_bad_cd, "no C_BAD_CD: the CD stayed valid, quiesced with EPD0");

    check(te_stop(te, 0, TIMEOUT_MS), "the engine stops using the PASID");
    iommu_unregister_device_fault_handler(master);
    iommu_sva_unbind_device(bond);
    check(iommu_sva_bond_count() == 0, "unbound, PASID freed");
    if (failures)
        printf("sva_exit: %d checks failed\n", failures);
    else
        printf("sva_exit: ok\n");
    return failures ? 1 : 0;
}
