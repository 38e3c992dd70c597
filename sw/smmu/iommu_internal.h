/* Shared between iommu.c (masters, domains) and sva.c (SVA, I/O page faults); not part of the API. */
#ifndef FWSMMU_IOMMU_INTERNAL_H
#define FWSMMU_IOMMU_INTERNAL_H

#include <fwsmmu/iommu.h>

extern struct smmu_device *iommu_smmu;
extern struct smmu_master *iommu_masters[IOMMU_MAX_MASTERS];

/* Writes (cd != NULL: dwords 0..3) or clears the CD of ssid in the master's table, in Linux's order. */
int iommu_write_cd(struct smmu_master *master, uint32_t ssid, const uint64_t *cd);
uint64_t iommu_read_cd0(struct smmu_master *master, uint32_t ssid);
void iommu_build_cd(const struct smmu_device *smmu, unsigned int tsz, unsigned int tg, unsigned int ips,
                    uint64_t ttb, uint64_t mair, uint16_t asid, bool shared, bool stall, uint64_t cd[4]);
int iommu_install_ste(struct smmu_master *master);
bool iommu_master_has_bonds(const struct smmu_master *master);
/* Partial faults dropped, pending groups answered Invalid Request (Linux iopf_queue_remove_device). */
void iommu_iopf_remove_device(struct smmu_master *master);
void iommu_handle_event(struct smmu_device *smmu, const struct smmu_event *event, void *context);

#endif
