/* Driver of the SMMUv3 Test Engine PCIe function (13b5:ff80; /work/shared/testengine.md): frames of work
 * (MEMCPY, RAND48, SUM64) over device addresses (IOVAs, or process VAs with a PASID), per-frame ATS and PRI
 * enables, and the platform's STOP extension (privileged pctrl bit 16, STOPPED bit 17) that stops a frame's
 * use of its PASID. While waiting, the driver runs the IOMMU's fault processing, which is what lets a
 * command that faults through PRI make progress. */
#ifndef FWSMMU_TESTENGINE_H
#define FWSMMU_TESTENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <fw/pci.h>

#define TE_VENDOR_ID 0x13B5U
#define TE_DEVICE_ID 0xFF80U
#define TE_NO_PASID 0xFFFFFFFFU

#define TE_ENGINE_NO_FRAME 0x0U
#define TE_ENGINE_HALTED 0x1U
#define TE_ENGINE_MEMCPY 0x2U
#define TE_ENGINE_RAND48 0x3U
#define TE_ENGINE_SUM64 0x4U
#define TE_ENGINE_FRAME_MISCONFIGURED 0xFFFFFFFEU
#define TE_ENGINE_ERROR 0xFFFFFFFFU
#define TE_ENGINE_TIMEOUT 0xDEADU /* not a device value: te_wait gave up */

struct te_device {
    struct pci_dev *pdev;
    uintptr_t frames; /* BAR0 */
};

/* The index-th Test Engine (enumeration order); sets Bus Master. */
bool te_probe(struct te_device *te, unsigned int index);
/* Privileged frame: PASID (TE_NO_PASID for none), ATS_ENABLE, PRI_ENABLE. */
void te_setup_frame(struct te_device *te, unsigned int frame, uint32_t pasid, bool ats, bool pri);
/* Starts a command over [begin, end_incl]; udata0 is MEMCPY's destination. stride 1: every byte. */
void te_start(struct te_device *te, unsigned int frame, uint32_t command, uint64_t begin, uint64_t end_incl,
              uint64_t udata0, uint32_t seed);
uint32_t te_state(struct te_device *te, unsigned int frame);
/* Waits until the frame's command ends, processing IOMMU faults meanwhile; returns the final state
 * (HALTED, ERROR, ...) or TE_ENGINE_TIMEOUT. */
uint32_t te_wait(struct te_device *te, unsigned int frame, uint64_t timeout_ms);
uint32_t te_run(struct te_device *te, unsigned int frame, uint32_t command, uint64_t begin, uint64_t end_incl,
                uint64_t udata0, uint32_t seed, uint64_t timeout_ms);
uint64_t te_udata(struct te_device *te, unsigned int frame, unsigned int index);
/* STOP: the frame stops using its PASID; waits (processing faults) for STOPPED, then clears STOP. */
bool te_stop(struct te_device *te, unsigned int frame, uint64_t timeout_ms);
/* Starts a STOP without waiting. */
void te_request_stop(struct te_device *te, unsigned int frame);
/* The byte RAND48 writes at addr for a command over a region starting at begin with this seed. */
uint8_t te_rand48_byte(uint32_t seed, uint64_t begin, uint64_t addr);

#endif
