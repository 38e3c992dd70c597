/* Driver of the platform DMA test master (0x0c00_0000, virtual platform only; QEMU has no such device, and
 * reading its registers there takes an abort): the device that drives translated traffic in the SMMU
 * programs. */
#ifndef FWSMMU_DMA_MASTER_H
#define FWSMMU_DMA_MASTER_H

#include <stdbool.h>
#include <stdint.h>

#define DMA_ID_VALUE 0x444D4131U
#define DMA_STATUS_IDLE 0U
#define DMA_STATUS_BUSY 1U
#define DMA_STATUS_DONE 2U
#define DMA_STATUS_READ_FAULT 3U
#define DMA_STATUS_WRITE_FAULT 4U
#define DMA_STATUS_TIMEOUT 0xFFU /* not a device value: the job did not finish in time */

struct dma_job {
    uint64_t source, destination;
    uint32_t length;
    uint32_t stream_id;
    bool substream_valid;
    uint32_t substream_id;
    bool privileged;
    bool irq_enable;
};

/* Safe on QEMU too, where nothing decodes the master's address: false there (the abort is caught). */
bool dma_master_present(void);
/* Starts the job; does not wait. */
void dma_start(const struct dma_job *job);
/* Polls STATUS until the job ends; returns the final status and clears it (STATUS = 0). */
uint32_t dma_wait(uint64_t *fault_address);
/* STATUS now, without clearing it: for wait loops that do other work meanwhile (answering the stall events
 * of the job's transactions). */
uint32_t dma_status(void);
/* dma_start + dma_wait. */
uint32_t dma_run(const struct dma_job *job, uint64_t *fault_address);
const char *dma_status_name(uint32_t status);

#endif
