/* Bring-up shared by the SVA scenarios. */
#include <stdio.h>

#include <fw/gic.h>
#include <fw/mm.h>
#include <fw/page_alloc.h>
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

bool sva_env_unmap_and_mark(struct mm_struct *mm, uint64_t va, uint64_t bytes, uint64_t marker,
                            uint64_t **grabbed, unsigned int *count) {
    enum { MAX_PAGES = 64 };
    const unsigned int pages = (unsigned int)(bytes / PAGE_SIZE);
    uint64_t old[MAX_PAGES];
    *count = 0;
    if (pages > MAX_PAGES)
        return false;
    for (unsigned int i = 0; i < pages; i++)
        old[i] = mm_va_to_pa(mm, va + i * PAGE_SIZE);
    if (mm_unmap(mm, va, bytes) != 0)
        return false;
    /* The allocator hands freed pages out again; take pages until every old one is held by the CPU. */
    static uint64_t *others[MAX_PAGES];
    unsigned int other_count = 0;
    for (unsigned int tries = 0; tries < MAX_PAGES && *count < pages; tries++) {
        uint64_t *page = alloc_page();
        if (!page)
            break;
        bool freed_by_unmap = false;
        for (unsigned int i = 0; i < pages; i++)
            freed_by_unmap |= (uintptr_t)page == old[i];
        if (!freed_by_unmap) {
            others[other_count++] = page;
            continue;
        }
        for (unsigned int w = 0; w < PAGE_SIZE / 8; w++)
            page[w] = marker;
        grabbed[(*count)++] = page;
    }
    for (unsigned int i = 0; i < other_count; i++)
        free_page(others[i]);
    return *count == pages && mm_map(mm, va, bytes, MM_PROT_READ | MM_PROT_WRITE, 0) == 0;
}

bool sva_env_marked(uint64_t *const *pages, unsigned int count, uint64_t marker) {
    for (unsigned int i = 0; i < count; i++)
        for (unsigned int w = 0; w < PAGE_SIZE / 8; w++)
            if (pages[i][w] != marker)
                return false;
    return true;
}
