/* Driver of the platform DMA test master. */
#include <fwsmmu/dma_master.h>

#include <fw/mmio.h>
#include <fw/platform.h>
#include <fw/timer.h>

#define DMA_ID 0x00U
#define DMA_SRC_LO 0x08U
#define DMA_SRC_HI 0x0CU
#define DMA_DST_LO 0x10U
#define DMA_DST_HI 0x14U
#define DMA_LEN 0x18U
#define DMA_STREAMID 0x1CU
#define DMA_SUBSTREAM 0x20U
#define DMA_ATTR 0x24U
#define DMA_CTRL 0x28U
#define DMA_STATUS 0x2CU
#define DMA_FAULT_LO 0x30U
#define DMA_FAULT_HI 0x34U
#define DMA_SUBSTREAM_SSV (1U << 31)
#define DMA_ATTR_PRIV (1U << 0)
#define DMA_CTRL_START (1U << 0)
#define DMA_CTRL_IRQ_ENABLE (1U << 1)
#define DMA_TIMEOUT_NS 200000000ULL

static uint32_t dma_read(uint32_t offset) {
    return mmio_read32(FW_DMA_MASTER_BASE + offset);
}
static void dma_write(uint32_t offset, uint32_t value) {
    mmio_write32(FW_DMA_MASTER_BASE + offset, value);
}

bool dma_master_present(void) {
    return dma_read(DMA_ID) == DMA_ID_VALUE;
}

void dma_start(const struct dma_job *job) {
    dma_write(DMA_SRC_LO, (uint32_t)job->source);
    dma_write(DMA_SRC_HI, (uint32_t)(job->source >> 32));
    dma_write(DMA_DST_LO, (uint32_t)job->destination);
    dma_write(DMA_DST_HI, (uint32_t)(job->destination >> 32));
    dma_write(DMA_LEN, job->length);
    dma_write(DMA_STREAMID, job->stream_id);
    dma_write(DMA_SUBSTREAM, job->substream_valid ? (job->substream_id | DMA_SUBSTREAM_SSV) : 0);
    dma_write(DMA_ATTR, job->privileged ? DMA_ATTR_PRIV : 0);
    dma_write(DMA_CTRL, DMA_CTRL_START | (job->irq_enable ? DMA_CTRL_IRQ_ENABLE : 0));
}

uint32_t dma_wait(uint64_t *fault_address) {
    uint64_t deadline = now_ns() + DMA_TIMEOUT_NS;
    uint32_t status;
    while ((status = dma_read(DMA_STATUS)) == DMA_STATUS_BUSY)
        if (now_ns() > deadline)
            return DMA_STATUS_TIMEOUT;
    if (fault_address)
        *fault_address = dma_read(DMA_FAULT_LO) | ((uint64_t)dma_read(DMA_FAULT_HI) << 32);
    dma_write(DMA_STATUS, 0);
    return status;
}

uint32_t dma_run(const struct dma_job *job, uint64_t *fault_address) {
    dma_start(job);
    return dma_wait(fault_address);
}

const char *dma_status_name(uint32_t status) {
    static const char *const names[] = {"idle", "busy", "done", "read faulted", "write faulted"};
    return status < 5 ? names[status] : "timeout";
}
