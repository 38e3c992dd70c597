/* CMD_SYNC completion signalled four ways (polling CONS, the wired cmd-sync SPI, an MSI to a memory word, an
 * MSI over the CMD_SYNC entry itself, an MSI to the GICv2m doorbell), the event-queue interrupt on a fault
 * event, and the GERROR interrupt on CERROR_ILL with its GERRORN acknowledgement. Platform only (MSI and the
 * DMA master). */
#include <stdio.h>

#include <fw/gic.h>
#include <fw/platform.h>
#include <fw/sysreg.h>
#include <fw/timer.h>
#include <fwsmmu/dma_master.h>
#include <fwsmmu/pgalloc.h>
#include <fwsmmu/smmu.h>

#define SID 0x10U
#define SYNCS_PER_MODE 3U
#define DOORBELL_INTID FW_SPI_INTID(68) /* a GICv2m SPI (48..111) no device uses */
#define IOVA_UNMAPPED 0x0000100000000000ULL
#define WAIT_NS 50000000ULL
#define ILLEGAL_OPCODE 0x3FU

static struct smmu_device smmu;
static int failures;

static void check(bool condition, const char *what) {
    printf("smmu_sync: %s: %s\n", what, condition ? "ok" : "FAILED");
    if (!condition)
        failures++;
}

/* Spins with IRQs unmasked until the counter moves past `before`. */
static bool wait_for_count(volatile const uint32_t *counter, uint32_t before) {
    uint64_t deadline = now_ns() + WAIT_NS;
    while (*counter == before)
        if (now_ns() > deadline)
            return false;
    return true;
}

static bool run_syncs(enum smmu_sync_mode mode) {
    smmu.sync_mode = mode;
    bool ok = true;
    for (unsigned int i = 0; i < SYNCS_PER_MODE && ok; i++)
        ok = smmu_tlbi_nsnh_all(&smmu);
    smmu.sync_mode = SMMU_SYNC_POLL;
    return ok;
}

static void test_sync_modes(void) {
    uint32_t irqs = smmu.cmd_sync_irqs, doorbells = smmu.doorbell_irqs;
    check(run_syncs(SMMU_SYNC_POLL) && smmu.cmd_sync_irqs == irqs, "CMD_SYNC by polling, no interrupt");

    check(run_syncs(SMMU_SYNC_WIRED_IRQ) && smmu.cmd_sync_irqs == irqs + SYNCS_PER_MODE,
          "CMD_SYNC by wired IRQ (INTID 108), one interrupt each");

    smmu.sync_msi_word = pgalloc_page();
    check(smmu.sync_msi_word && run_syncs(SMMU_SYNC_MSI_WORD) && *smmu.sync_msi_word == smmu.sync_sequence &&
              smmu.sync_sequence == SYNCS_PER_MODE,
          "CMD_SYNC by MSI to a memory word");

    check(run_syncs(SMMU_SYNC_MSI_SELF), "CMD_SYNC by MSI over its own queue entry");

    check(run_syncs(SMMU_SYNC_MSI_DOORBELL) && smmu.doorbell_irqs == doorbells + SYNCS_PER_MODE,
          "CMD_SYNC by MSI to the GICv2m doorbell, one SPI each");
}

static void test_event_irq(void) {
    /* Stage 1 with an empty table: any DMA is a translation fault that is recorded. */
    static struct smmu_tlb_domain domain;
    struct io_pgtable_cfg cfg = {0};
    uint64_t *cd_table = smmu_alloc_cd_table(0);
    check(cd_table && smmu_alloc_pgtable(&domain, &smmu, 1, 1, 0, &cfg) &&
              smmu_write_cd(&smmu, SID, cd_table, 0, 1, &cfg) &&
              smmu_ste_stage1(&smmu, SID, (uintptr_t)cd_table, 0),
          "stage-1 STE with empty tables");
    uint32_t irqs = smmu.evtq_irqs, events = smmu.event_count;
    struct dma_job job = {
        .source = IOVA_UNMAPPED, .destination = IOVA_UNMAPPED, .length = 64, .stream_id = SID};
    uint32_t status = dma_run(&job, NULL);
    bool delivered = wait_for_count(&smmu.evtq_irqs, irqs);
    const struct smmu_event *e = smmu_event_at(&smmu, events);
    if (delivered && smmu.event_count > events)
        smmu_print_event(e);
    check(status == DMA_STATUS_READ_FAULT && delivered && smmu.event_count == events + 1 &&
              e->id == SMMU_EVT_F_TRANSLATION && e->input_address == IOVA_UNMAPPED,
          "EVTQ IRQ (INTID 106) drained one F_TRANSLATION");
}

static void test_gerror_irq(void) {
    uint32_t irqs = smmu.gerror_irqs, cerrors = smmu.cerrors;
    bool issued = smmu_cmdq_issue(&smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, ILLEGAL_OPCODE), 0);
    bool delivered = issued && wait_for_count(&smmu.gerror_irqs, irqs);
    check(delivered && (smmu.gerror_seen & SMMU_GERROR_CMDQ_ERR) &&
              (smmu_gerror_active(&smmu) & SMMU_GERROR_CMDQ_ERR),
          "GERROR IRQ (INTID 109) with CMDQ_ERR active");
    /* The next CMD_SYNC finds the error, skips the command and acknowledges it through GERRORN. */
    check(smmu_cmdq_sync(&smmu) && smmu.cerrors == cerrors + 1 && smmu.last_cerror == SMMU_CERROR_ILL,
          "CERROR_ILL skipped");
    check(smmu_gerror_active(&smmu) == 0 && smmu.gerror_irqs == irqs + 1,
          "GERRORN acknowledgement clears it");
}

int main(void) {
    if (!dma_master_present() || !smmu_probe(&smmu, FW_SMMU_BASE) || !smmu.features.msi ||
        !smmu.features.s1p) {
        printf("smmu_sync: needs the DMA master and an SMMU with MSI and stage 1\n");
        return 1;
    }
    gic_init();
    struct smmu_init_options options;
    smmu_default_init_options(&options);
    smmu.doorbell_intid = DOORBELL_INTID;
    check(smmu_init(&smmu, &options) && smmu_setup_irqs(&smmu), "SMMU enabled with interrupts");
    local_irq_enable();

    test_sync_modes();
    test_event_irq();
    test_gerror_irq();

    local_irq_disable();
    check(smmu_disable(&smmu), "SMMU disabled");
    if (failures)
        printf("smmu_sync: %d checks failed\n", failures);
    return failures ? 1 : 0;
}
