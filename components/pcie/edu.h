/* QEMU's educational PCI device "edu" (vendor 0x1234, device 0x11e8) as a personality on the endpoint core:
 * register-compatible with QEMU's hw/misc/edu.c as its public behaviour is known, so drivers written for it
 * (the usual first Linux PCI driver exercise) run unchanged. Plain C11.
 *
 * BAR0: 1 MiB, 32-bit, non-prefetchable. Accesses are 4 bytes, or 8 bytes at 0x80 and above; others read as
 * all ones and are ignored, as are unknown offsets.
 *   0x00 RO   identification 0x010000ed
 *   0x04 RW   liveness: reads the bitwise inverse of the last value written
 *   0x08 RW   factorial: a write (ignored while busy) starts computing; reads the operand until done, then
 *             n! modulo 2^32
 *   0x20 RW   status: bit 0 busy computing (RO); bit 7 raise interrupt 0x00000001 when a factorial is done
 *   0x24 RO   interrupt status
 *   0x60 WO   raise interrupt: sets these bits in interrupt status and signals
 *   0x64 WO   interrupt acknowledge: clears these bits; INTx goes low when none is left
 *   0x80 RW   DMA source, 0x88 DMA destination, 0x90 DMA count (64-bit registers; a 4-byte write replaces the
 *             whole register with the zero-extended value); ignored while a transfer runs
 *   0x98 RW   DMA command: bit 0 start (a write without it is ignored), bit 1 direction (0 RAM -> edu,
 *             1 edu -> RAM), bit 2 raise interrupt 0x00000100 when done; bit 0 reads 1 until the end
 * The edu side of a transfer is the device's 4 KiB buffer at device address 0x40000; a transfer whose
 * edu-side range is not inside it moves nothing (QEMU ignores it likewise) but still ends as a transfer does,
 * with the interrupt if asked. The RAM-side address is masked to dma_mask bits. A RAM access that fails
 * (UR/CA) is not reported (edu has no error register); the transfer ends anyway. Interrupts: the MSI
 * capability (one vector) when software enables it, otherwise INTx pin A, whose level follows "interrupt
 * status != 0" while MSI is off. No ATS, PRI or PASID. */
#ifndef EDU_H
#define EDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcie_ep.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDU_VENDOR_ID 0x1234u
#define EDU_DEVICE_ID 0x11e8u
#define EDU_BAR_SIZE 0x100000u
#define EDU_ID_VALUE 0x010000edu

#define EDU_REG_ID 0x00u
#define EDU_REG_LIVENESS 0x04u
#define EDU_REG_FACTORIAL 0x08u
#define EDU_REG_STATUS 0x20u
#define EDU_REG_IRQ_STATUS 0x24u
#define EDU_REG_IRQ_RAISE 0x60u
#define EDU_REG_IRQ_ACK 0x64u
#define EDU_REG_DMA_SRC 0x80u
#define EDU_REG_DMA_DST 0x88u
#define EDU_REG_DMA_COUNT 0x90u
#define EDU_REG_DMA_CMD 0x98u

#define EDU_STATUS_COMPUTING 0x01u
#define EDU_STATUS_IRQ_FACT 0x80u
#define EDU_IRQ_FACT 0x00000001u
#define EDU_IRQ_DMA 0x00000100u
#define EDU_DMA_RUN 0x1u
#define EDU_DMA_TO_RAM 0x2u
#define EDU_DMA_IRQ 0x4u
#define EDU_DMA_BUF_ADDR 0x40000u
#define EDU_DMA_BUF_SIZE 0x1000u

typedef struct edu_params {
    uint8_t dma_mask;          /* bits of RAM-side DMA address kept, 1..64 */
    uint64_t fact_ps;          /* time a factorial takes */
    uint32_t dma_bytes_per_ns; /* transfer speed: a transfer starts count / speed after its command */
} edu_params;

void edu_default_params(edu_params *p);

typedef struct edu edu;

edu *edu_create(const edu_params *p, const pcie_ep_host_ops *ops, void *ctx, char *err, size_t err_len);
void edu_destroy(edu *e);
pcie_ep *edu_ep(edu *e);
void edu_stats(const edu *e, void (*cb)(void *arg, const char *name, uint64_t value), void *arg);

#ifdef __cplusplus
}
#endif

#endif
