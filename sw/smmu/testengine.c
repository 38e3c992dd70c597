/* SMMUv3 Test Engine driver. */
#include <fw/mmio.h>
#include <fw/timer.h>
#include <fwsmmu/iommu.h>
#include <fwsmmu/testengine.h>

#define TE_PRIV_PAGE 0x10000U
#define TE_FRAME_SIZE 0x80U
#define TE_CMD 0x00U
#define TE_UCTRL 0x04U
#define TE_MSIADDRESS 0x10U
#define TE_MSIDATA 0x18U
#define TE_ATTRIBUTES 0x20U
#define TE_SEED 0x24U
#define TE_BEGIN 0x28U
#define TE_END_INCL 0x30U
#define TE_STRIDE 0x38U
#define TE_UDATA 0x40U
#define TE_PCTRL 0x00U
#define TE_SUBSTREAMID 0x0CU
#define TE_PCTRL_SSD_NS 0x1U
#define TE_PCTRL_ATS_ENABLE 0x100U
#define TE_PCTRL_PRI_ENABLE 0x200U
#define TE_PCTRL_STOP 0x10000U
#define TE_PCTRL_STOPPED 0x20000U
#define RAND48_MULTIPLIER 0x5DEECE66DULL
#define RAND48_INCREMENT 0xBULL
#define RAND48_MASK ((1ULL << 48) - 1)

static uintptr_t user_frame(const struct te_device *te, unsigned int frame) {
    return te->frames + (uintptr_t)frame * TE_FRAME_SIZE;
}
static uintptr_t priv_frame(const struct te_device *te, unsigned int frame) {
    return te->frames + TE_PRIV_PAGE + (uintptr_t)frame * TE_FRAME_SIZE;
}

bool te_probe(struct te_device *te, unsigned int index) {
    te->pdev = pci_find_device(TE_VENDOR_ID, TE_DEVICE_ID, index);
    if (!te->pdev || !te->pdev->bar_address[0])
        return false;
    te->frames = pci_bar(te->pdev, 0);
    pci_set_master(te->pdev, true);
    return mmio_read32(user_frame(te, 0) + TE_CMD) != TE_ENGINE_NO_FRAME;
}

void te_setup_frame(struct te_device *te, unsigned int frame, uint32_t pasid, bool ats, bool pri) {
    uintptr_t p = priv_frame(te, frame);
    mmio_write32(p + TE_SUBSTREAMID, pasid);
    mmio_write32(p + TE_PCTRL,
                 TE_PCTRL_SSD_NS | (ats ? TE_PCTRL_ATS_ENABLE : 0U) | (pri ? TE_PCTRL_PRI_ENABLE : 0U));
}

void te_start(struct te_device *te, unsigned int frame, uint32_t command, uint64_t begin, uint64_t end_incl,
              uint64_t udata0, uint32_t seed) {
    uintptr_t u = user_frame(te, frame);
    mmio_write32(u + TE_UCTRL, 0);
    mmio_write64(u + TE_MSIADDRESS, 0); /* completion is polled */
    mmio_write32(u + TE_ATTRIBUTES, 0);
    mmio_write32(u + TE_SEED, seed);
    mmio_write64(u + TE_BEGIN, begin);
    mmio_write64(u + TE_END_INCL, end_incl);
    mmio_write64(u + TE_STRIDE, 1);
    mmio_write64(u + TE_UDATA, udata0);
    mmio_write32(u + TE_CMD, command);
}

uint32_t te_state(struct te_device *te, unsigned int frame) {
    return mmio_read32(user_frame(te, frame) + TE_CMD);
}

static bool finished(uint32_t state) {
    return state == TE_ENGINE_HALTED || state == TE_ENGINE_ERROR || state == TE_ENGINE_FRAME_MISCONFIGURED ||
           state == TE_ENGINE_NO_FRAME;
}

uint32_t te_wait(struct te_device *te, unsigned int frame, uint64_t timeout_ms) {
    uint64_t deadline = now_ns() + timeout_ms * 1000000ULL;
    for (;;) {
        uint32_t state = te_state(te, frame);
        if (finished(state)) {
            iommu_process_faults();
            return state;
        }
        iommu_process_faults();
        if (now_ns() > deadline)
            return TE_ENGINE_TIMEOUT;
    }
}

uint32_t te_run(struct te_device *te, unsigned int frame, uint32_t command, uint64_t begin, uint64_t end_incl,
                uint64_t udata0, uint32_t seed, uint64_t timeout_ms) {
    te_start(te, frame, command, begin, end_incl, udata0, seed);
    return te_wait(te, frame, timeout_ms);
}

uint64_t te_udata(struct te_device *te, unsigned int frame, unsigned int index) {
    return mmio_read64(user_frame(te, frame) + TE_UDATA + index * 8U);
}

void te_request_stop(struct te_device *te, unsigned int frame) {
    uintptr_t p = priv_frame(te, frame);
    mmio_write32(p + TE_PCTRL, mmio_read32(p + TE_PCTRL) | TE_PCTRL_STOP);
}

bool te_stop(struct te_device *te, unsigned int frame, uint64_t timeout_ms) {
    uintptr_t p = priv_frame(te, frame);
    te_request_stop(te, frame);
    uint64_t deadline = now_ns() + timeout_ms * 1000000ULL;
    while (!(mmio_read32(p + TE_PCTRL) & TE_PCTRL_STOPPED)) {
        iommu_process_faults(); /* a device that waits for its responses needs them */
        if (now_ns() > deadline)
            return false;
    }
    mmio_write32(p + TE_PCTRL, mmio_read32(p + TE_PCTRL) & ~(TE_PCTRL_STOP | TE_PCTRL_STOPPED));
    return true;
}

static uint64_t rand48_step(uint64_t state) {
    return (state * RAND48_MULTIPLIER + RAND48_INCREMENT) & RAND48_MASK;
}

uint8_t te_rand48_byte(uint32_t seed, uint64_t begin, uint64_t addr) {
    uint64_t page = addr & ~0xFFFULL;
    uint64_t start = begin > page ? begin : page;
    uint32_t reseed = seed ^ (uint32_t)(start >> 32) ^ (uint32_t)start;
    uint64_t state = ((uint64_t)reseed << 16) | 0x330EU;
    uint8_t byte = 0;
    for (uint64_t a = start; a <= addr; a++) {
        state = rand48_step(state);
        byte = (uint8_t)(state >> 17); /* the low byte of ((s >> 17) & 0x7FFFFFFF) */
        state = rand48_step(state);    /* the second step only feeds bit 31 */
    }
    return byte;
}
