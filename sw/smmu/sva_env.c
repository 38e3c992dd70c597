/* Bring-up shared by the SVA scenarios. */
#include <stdio.h>

#include <fw/gic.h>
#include <fw/mm.h>
#include <fw/pci.h>
#include <fw/platform.h>
#include <fwsmmu/sva_env.h>

#define SVA_SSID_BITS 8U

enum sva_env_result sva_env_setup(struct sva_env *env, unsigned int priq_log2, uint32_t pri_requests) {
    struct smmu_device *smmu = &env->smmu;
    if (!smmu_probe(smmu, FW_SMMU_BASE)) {
        printf("sva: no usable SMMUv3\n");
        return SVA_ENV_FAILED;
    }
    const struct smmu_features *f = &smmu->features;
    /* Decided from the ID registers, as Linux's arm_smmu_sva_supported and the PRI/ATS probes do. */
    if (f->ssid_bits == 0 || !f->pri || !f->ats || !f->s1p) {
        printf("SKIP: the SMMU has no %s\n", f->ssid_bits == 0 ? "substreams (IDR1.SSIDSIZE = 0)"
                                             : !f->pri         ? "PRI (IDR0.PRI = 0)"
                                             : !f->ats         ? "ATS (IDR0.ATS = 0)"
                                                               : "stage 1");
        return SVA_ENV_SKIP;
    }
    gic_init();
    if (pci_enumerate() < 0)
        return SVA_ENV_FAILED;
    env->engines = 0;
    while (env->engines < SVA_ENV_MAX_ENGINES && te_probe(&env->te[env->engines], env->engines))
        env->engines++;
    if (env->engines == 0) {
        printf("SKIP: no SMMUv3 Test Engine (13b5:ff80) on PCI bus 0\n");
        return SVA_ENV_SKIP;
    }
    if (!mmu_enable())
        return SVA_ENV_FAILED;
    struct smmu_init_options options;
    smmu_default_init_options(&options);
    options.priq_log2 = priq_log2;
    if (!smmu_init(smmu, &options))
        return SVA_ENV_FAILED;
    iommu_init(smmu);
    for (unsigned int i = 0; i < env->engines; i++) {
        struct pci_dev *pdev = env->te[i].pdev;
        /* PASID at probe (before ATS), PRI as the IOPF feature (reset, allocation, enable); ATS comes with
         * the STE that translates. */
        if (smmu_master_init(&env->master[i], smmu, pdev, pci_dev_rid(pdev), NULL, SVA_SSID_BITS) != 0 ||
            smmu_master_enable_iopf(&env->master[i], pri_requests) != 0) {
            printf("sva: %s: master set-up failed\n", pdev->name);
            return SVA_ENV_FAILED;
        }
    }
    return SVA_ENV_READY;
}
