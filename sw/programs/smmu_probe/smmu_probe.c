/* SMMUv3 bring-up on both hosts (the platform and QEMU's own SMMUv3): probe, reset and enable with a linear
 * then a 2-level stream table, global invalidation, recovery from an illegal command, disable. Only facts
 * both SMMUs share are printed in the checked lines, so QEMU checks the same ELF. */
#include <stdio.h>

#include <fw/platform.h>
#include <fwsmmu/smmu.h>

#define ILLEGAL_OPCODE 0x3FU /* reserved: CERROR_ILL */
#define TWO_LEVEL_SID 0x1234U

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

int main(void) {
    static struct smmu_device smmu;
    if (!smmu_probe(&smmu, FW_SMMU_BASE)) {
        printf("smmu_probe: no usable SMMUv3\n");
        return 1;
    }
    smmu_print_features(&smmu); /* host-specific, not in the expect file */
    const struct smmu_features *f = &smmu.features;
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
    check(smmu_evtq_drain(&smmu) == 0, "no events");
    if (failures)
        printf("smmu_probe: %d checks failed\n", failures);
    return failures ? 1 : 0;
}
