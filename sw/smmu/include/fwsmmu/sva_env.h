/* Common bring-up of the SVA scenario programs: SMMU probe and the feature checks that decide a SKIP (QEMU
 * has no PASID, PRI or ATS, and no Test Engine), PCI enumeration, the CPU's MMU (processes), SMMU reset, and
 * one master per Test Engine with PASIDs and PRI enabled in Linux's order. */
#ifndef FWSMMU_SVA_ENV_H
#define FWSMMU_SVA_ENV_H

#include <stdbool.h>

#include <fwsmmu/iommu.h>
#include <fwsmmu/testengine.h>

#define SVA_ENV_MAX_ENGINES 2U

struct sva_env {
    struct smmu_device smmu;
    struct te_device te[SVA_ENV_MAX_ENGINES];
    struct smmu_master master[SVA_ENV_MAX_ENGINES];
    unsigned int engines;
};

enum sva_env_result { SVA_ENV_READY, SVA_ENV_SKIP, SVA_ENV_FAILED };

/* priq_log2: PRI queue size (small to provoke overflow); pri_requests: each engine's PRI allocation.
 * On SKIP prints "SKIP: <reason>". */
enum sva_env_result sva_env_setup(struct sva_env *env, unsigned int priq_log2, uint32_t pri_requests);

/* The munmap half of the stale-translation checks: unmaps [va, va + bytes) (at most 64 pages), takes back
 * from the page allocator every page the unmap freed and fills it with `marker`, then maps the range again,
 * lazily. A device that used a stale translation afterwards would overwrite a marked page. The pages are
 * returned in grabbed[] (*count of them; the caller frees them); false if any step failed. */
bool sva_env_unmap_and_mark(struct mm_struct *mm, uint64_t va, uint64_t bytes, uint64_t marker,
                            uint64_t **grabbed, unsigned int *count);
/* Whether every word of the count pages still holds marker. */
bool sva_env_marked(uint64_t *const *pages, unsigned int count, uint64_t marker);

#endif
