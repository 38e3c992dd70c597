/* Driver of QEMU's "edu" educational PCI device (1234:11e8), which the platform models register-compatibly:
 * identification, liveness, and DMA between RAM (a device address: an IOVA when the SMMU translates) and the
 * device's 4 KiB buffer at device address 0x40000. The device keeps only the low 28 bits of the RAM-side
 * address on QEMU (its dma_mask), so IOVAs stay below 256 MiB. */
#ifndef FWSMMU_EDU_H
#define FWSMMU_EDU_H

#include <stdbool.h>
#include <stdint.h>

#include <fw/pci.h>

#define EDU_VENDOR_ID 0x1234U
#define EDU_DEVICE_ID 0x11E8U
#define EDU_ID_VALUE_MASK 0xFFFF00FFU
#define EDU_ID_VALUE 0x010000EDU /* version 1.0 */
#define EDU_BUFFER 0x40000U
#define EDU_BUFFER_SIZE 0x1000U
#define EDU_IRQ_DMA 0x100U

struct edu_device {
    struct pci_dev *pdev;
    uintptr_t regs;
};

/* Finds the first edu, checks its identification and liveness registers, sets Bus Master. */
bool edu_probe(struct edu_device *edu);
/* Starts a transfer of count bytes: to_ram: device buffer (+offset) -> RAM address; else RAM -> buffer.
 * irq: raise interrupt 0x100 at the end (MSI when enabled). */
void edu_dma_start(struct edu_device *edu, uint64_t ram_address, uint32_t buffer_offset, uint32_t count,
                   bool to_ram, bool irq);
/* Polls until the transfer ends; false after timeout_ms. */
bool edu_dma_wait(struct edu_device *edu, uint64_t timeout_ms);
uint32_t edu_irq_status(struct edu_device *edu);
void edu_irq_ack(struct edu_device *edu, uint32_t bits);

#endif
