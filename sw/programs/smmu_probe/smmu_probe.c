/* SMMUv3 bring-up on both hosts (the platform and QEMU's own SMMUv3): probe and the decoded feature set,
 * reset and enable with a linear then a 2-level stream table, global invalidation, recovery from an illegal
 * command, bypass and abort STEs with traffic (the platform's DMA master), CMD_SYNC completion by polling, by
 * the wired cmd-sync interrupt and by MSI (a memory word the CPU polls, the SYNC's own entry, the GICv2m
 * doorbell), disable. The lines both SMMUs print alike are in smmu_probe.expect; the feature lines and what
 * only one host has (IDR0.MSI, the DMA master) are checked by the per-host expect files. */
#include <stdio.h>

#include <fw/gic.h>
#include <fw/page_alloc.h>
#include <fw/platform.h>
#include <fw/sysreg.h>
#include <fw/timer.h>
#include <fwsmmu/dma_master.h>
#include <fwsmmu/pgalloc.h>
#include <fwsmmu/smmu.h>

#define ILLEGAL_OPCODE 0x3FU /* reserved: CERROR_ILL */
#define TWO_LEVEL_SID 0x1234U
#define DMA_SID 0x10U
#define DMA_BYTES 0x200U
#define SYNCS_PER_MODE 3U
#define DOORBELL_INTID FW_SPI_INTID(68) /* a GICv2m SPI (48..111) no device uses */

static int failures;

static void check(bool condition, const char *what) {
    printf("smmu_probe: %s: %s\n", what, condition ? "ok" : "FAILED");
    if (!condition)
        failures++;
}

static void illegal_command_is_skipped(struct smmu_device *smmu) {
    uint32_t cerrors_before = smmu->cerrors;
    bool issued = smmu_cmdq_issue(smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, ILLEGAL_OPCODE), 0);
    bool synced = issued && smmu_cmdq_sync(smmu);
    check(synced && smmu->cerrors == cerrors_before + 1 && smmu->last_cerror == SMMU_CERROR_ILL,
          "illegal opcode reported as CERROR_ILL");
    check(smmu_gerror_active(smmu) == 0, "GERROR acknowledged");
    check(smmu_tlbi_nsnh_all(smmu) && smmu->cerrors == cerrors_before + 1, "commands run after the error");
}

static void print_feature_set(const struct smmu_features *f) {
    static const char *const httu[4] = {"none", "AF", "AF+dirty", "AF+dirty+table AF"};
    static const char *const stall[4] = {"stall or terminate", "terminate only", "stall forced", "reserved"};
    printf("smmu_probe: SMMUv3.%u\n", (unsigned int)SMMU_FIELD_GET(SMMU_AIDR_MINOR, f->aidr));
    printf("smmu_probe: translation:%s%s, OAS %u bits, granules%s%s%s, HTTU %s\n", f->s1p ? " stage 1" : "",
           f->s2p ? " stage 2" : "", f->oas_bits, (f->granules & (1U << 12)) ? " 4K" : "",
           (f->granules & (1U << 14)) ? " 16K" : "", (f->granules & (1U << 16)) ? " 64K" : "",
           httu[f->httu & 3U]);
    printf("smmu_probe: tables: %u StreamID bits (%s), %u SubstreamID bits%s\n", f->sid_bits,
           f->two_level_strtab ? "linear or 2-level" : "linear", f->ssid_bits,
           f->cd2l ? ", 2-level CD tables" : "");
    if (f->pri)
        printf("smmu_probe: queues: CMDQ 2^%u, EVENTQ 2^%u, PRIQ 2^%u\n", f->cmdq_log2, f->evtq_log2,
               f->priq_log2);
    else
        printf("smmu_probe: queues: CMDQ 2^%u, EVENTQ 2^%u, no PRIQ\n", f->cmdq_log2, f->evtq_log2);
    printf("smmu_probe: PCIe: ATS %s, PRI %s; stall model %u (%s)\n", f->ats ? "yes" : "no",
           f->pri ? "yes" : "no", f->stall_model, stall[f->stall_model & 3U]);
    printf("smmu_probe: other: MSI %s, SEV %s, ASID16 %s, VMID16 %s, range TLBI %s, coherent walks %s\n",
           f->msi ? "yes" : "no", f->sev ? "yes" : "no", f->asid16 ? "yes" : "no", f->vmid16 ? "yes" : "no",
           f->ril ? "yes" : "no", f->coherent ? "yes" : "no");
}

/* Bypass: the DMA master's addresses are PAs; abort: its transactions fail, quietly (no event). */
static void bypass_and_abort(struct smmu_device *smmu) {
    if (!dma_master_present()) {
        printf("smmu_probe: bypass and abort STEs with traffic: SKIP: no DMA test master\n");
        return;
    }
    uint8_t *from = pgalloc_page(), *to = pgalloc_page();
    for (unsigned int i = 0; i < DMA_BYTES; i++)
        from[i] = (uint8_t)(0x5A ^ i);
    struct dma_job job = {
        .source = (uintptr_t)from, .destination = (uintptr_t)to, .length = DMA_BYTES, .stream_id = DMA_SID};
    uint32_t events = smmu->event_count;
    bool copied = smmu_ste_bypass(smmu, DMA_SID) && dma_run(&job, NULL) == DMA_STATUS_DONE;
    for (unsigned int i = 0; i < DMA_BYTES && copied; i++)
        copied = to[i] == (uint8_t)(0x5A ^ i);
    check(copied && smmu_evtq_drain(smmu) == 0, "bypass STE: DMA reaches the same PAs");
    for (unsigned int i = 0; i < DMA_BYTES; i++)
        to[i] = 0;
    uint64_t fault = 0;
    bool refused = smmu_ste_abort(smmu, DMA_SID) && dma_run(&job, &fault) == DMA_STATUS_READ_FAULT &&
                   fault == (uintptr_t)from && to[0] == 0 && to[DMA_BYTES - 1] == 0;
    check(refused && smmu_evtq_drain(smmu) == 0 && smmu->event_count == events,
          "abort STE: DMA aborted, no event");
}

static bool syncs(struct smmu_device *smmu, enum smmu_sync_mode mode) {
    smmu->sync_mode = mode;
    bool ok = true;
    for (unsigned int i = 0; i < SYNCS_PER_MODE && ok; i++)
        ok = smmu_tlbi_nsnh_all(smmu);
    smmu->sync_mode = SMMU_SYNC_POLL;
    return ok;
}

static void sync_completion(struct smmu_device *smmu) {
    check(syncs(smmu, SMMU_SYNC_POLL), "CMD_SYNC by polling CMDQ_CONS");
    uint32_t irqs = smmu->cmd_sync_irqs;
    local_irq_enable();
    check(syncs(smmu, SMMU_SYNC_WIRED_IRQ) && smmu->cmd_sync_irqs == irqs + SYNCS_PER_MODE,
          "CMD_SYNC by the wired cmd-sync interrupt (INTID 108), one each");
    if (!smmu->features.msi) {
        printf("smmu_probe: CMD_SYNC by MSI: SKIP: no MSIs (IDR0.MSI = 0)\n");
        local_irq_disable();
        return;
    }
    smmu->sync_msi_word = pgalloc_page();
    smmu->sync_sequence = 0;
    check(smmu->sync_msi_word && syncs(smmu, SMMU_SYNC_MSI_WORD) && *smmu->sync_msi_word == SYNCS_PER_MODE,
          "CMD_SYNC by MSI: CS = SIG_IRQ, MSIData written to a word the CPU polls");
    check(syncs(smmu, SMMU_SYNC_MSI_SELF), "CMD_SYNC by MSI over its own queue entry (Linux MSIPOLL)");
    uint32_t doorbells = smmu->doorbell_irqs;
    check(syncs(smmu, SMMU_SYNC_MSI_DOORBELL) && smmu->doorbell_irqs == doorbells + SYNCS_PER_MODE,
          "CMD_SYNC by MSI to the GICv2m doorbell, one SPI each");
    local_irq_disable();
}

int main(void) {
    static struct smmu_device smmu;
    if (!smmu_probe(&smmu, FW_SMMU_BASE)) {
        printf("smmu_probe: no usable SMMUv3\n");
        return 1;
    }
    smmu_print_features(&smmu); /* host-specific, not in the expect file */
    const struct smmu_features *f = &smmu.features;
    print_feature_set(f);
    printf("smmu_probe: SMMUv3 AArch64 tables, 4K granule\n");
    if (f->s1p)
        printf("smmu_probe: stage 1\n");
    if (f->two_level_strtab)
        printf("smmu_probe: 2-level stream table\n");
    check(f->sid_bits >= 16 && f->cmdq_log2 >= 8 && f->evtq_log2 >= 7,
          "SIDSIZE >= 16 and queues large enough");

    struct smmu_init_options options;
    smmu_default_init_options(&options);
    check(smmu_init(&smmu, &options), "linear stream table, enabled");
    check(smmu_cfgi_all(&smmu) && smmu_tlbi_nsnh_all(&smmu), "CFGI_ALL, TLBI_NSNH_ALL, SYNC");
    check(smmu_ste_bypass(&smmu, 0x10) && smmu_ste_abort(&smmu, 0x10), "STE writes");
    illegal_command_is_skipped(&smmu);
    /* Enough commands to wrap the 256-entry queue several times. */
    bool wrapped = true;
    for (unsigned int i = 0; i < 600 && wrapped; i++)
        wrapped = smmu_cmdq_issue(&smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
    check(wrapped && smmu_cmdq_sync(&smmu), "600 commands through a 256-entry queue");
    check(smmu_disable(&smmu), "disabled");

    if (f->two_level_strtab) {
        options.two_level_strtab = true;
        options.sid_bits = 16;
        check(smmu_init(&smmu, &options) && smmu.two_level, "2-level stream table, enabled");
        check(smmu_ste_bypass(&smmu, TWO_LEVEL_SID) && smmu_cfgi_all(&smmu), "STE in a level-2 table");
        illegal_command_is_skipped(&smmu);
        check(smmu_disable(&smmu), "disabled");
    }

    gic_init();
    smmu.doorbell_intid = DOORBELL_INTID;
    options.two_level_strtab = false;
    options.sid_bits = 8;
    check(smmu_init(&smmu, &options) && smmu_setup_irqs(&smmu), "enabled again, with interrupts");
    bypass_and_abort(&smmu);
    sync_completion(&smmu);
    check(smmu_disable(&smmu), "disabled");
    check(smmu_evtq_drain(&smmu) == 0, "no events");
    if (failures)
        printf("smmu_probe: %d checks failed\n", failures);
    return failures ? 1 : 0;
}
