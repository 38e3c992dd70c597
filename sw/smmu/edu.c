/* QEMU edu device driver. */
#include <fw/mmio.h>
#include <fw/timer.h>
#include <fwsmmu/edu.h>

#define EDU_REG_ID 0x00U
#define EDU_REG_LIVENESS 0x04U
#define EDU_REG_IRQ_STATUS 0x24U
#define EDU_REG_IRQ_ACK 0x64U
#define EDU_REG_DMA_SRC 0x80U
#define EDU_REG_DMA_DST 0x88U
#define EDU_REG_DMA_COUNT 0x90U
#define EDU_REG_DMA_CMD 0x98U
#define EDU_DMA_RUN 0x1U
#define EDU_DMA_TO_RAM 0x2U
#define EDU_DMA_IRQ 0x4U
#define LIVENESS_PATTERN 0x5A5AA5A5U

bool edu_probe(struct edu_device *edu) {
    edu->pdev = pci_find_device(EDU_VENDOR_ID, EDU_DEVICE_ID, 0);
    if (!edu->pdev || !edu->pdev->bar_address[0])
        return false;
    edu->regs = pci_bar(edu->pdev, 0);
    if ((mmio_read32(edu->regs + EDU_REG_ID) & EDU_ID_VALUE_MASK) != EDU_ID_VALUE)
        return false;
    mmio_write32(edu->regs + EDU_REG_LIVENESS, LIVENESS_PATTERN);
    if (mmio_read32(edu->regs + EDU_REG_LIVENESS) != (uint32_t)~LIVENESS_PATTERN)
        return false;
    pci_set_master(edu->pdev, true);
    return true;
}

void edu_dma_start(struct edu_device *edu, uint64_t ram_address, uint32_t buffer_offset, uint32_t count,
                   bool to_ram, bool irq) {
    uint64_t buffer = EDU_BUFFER + buffer_offset;
    mmio_write64(edu->regs + EDU_REG_DMA_SRC, to_ram ? buffer : ram_address);
    mmio_write64(edu->regs + EDU_REG_DMA_DST, to_ram ? ram_address : buffer);
    mmio_write64(edu->regs + EDU_REG_DMA_COUNT, count);
    mmio_write64(edu->regs + EDU_REG_DMA_CMD,
                 EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0U) | (irq ? EDU_DMA_IRQ : 0U));
}

bool edu_dma_wait(struct edu_device *edu, uint64_t timeout_ms) {
    uint64_t deadline = now_ns() + timeout_ms * 1000000ULL;
    while (mmio_read64(edu->regs + EDU_REG_DMA_CMD) & EDU_DMA_RUN)
        if (now_ns() > deadline)
            return false;
    return true;
}

uint32_t edu_irq_status(struct edu_device *edu) {
    return mmio_read32(edu->regs + EDU_REG_IRQ_STATUS);
}

void edu_irq_ack(struct edu_device *edu, uint32_t bits) {
    mmio_write32(edu->regs + EDU_REG_IRQ_ACK, bits);
}
