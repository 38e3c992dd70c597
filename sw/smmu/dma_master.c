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

/* Whether something answers a 32-bit read at `address`: QEMU's virt decodes nothing at the master's address
 * and takes a synchronous external abort there, which a temporary vector table turns into "absent" by
 * stepping over the load (the virtual platform, which has the master, never aborts). IRQs and FIQs stay
 * masked while the table is swapped; x16/x17 (the call's scratch registers) carry the abort out of the
 * handler. */
bool dma_probe_read32(uintptr_t address, uint32_t *value);
__asm__(".pushsection .text.dma_probe, \"ax\"\n"
        ".balign 2048\n"
        "dma_probe_vectors:\n"
        ".rept 4\n"
        "    b .\n"
        "    .balign 128\n"
        ".endr\n"
        /* synchronous, current EL with SP_ELx (offset 0x200): skip the aborted load */
        "    mrs x17, elr_el1\n"
        "    add x17, x17, #4\n"
        "    msr elr_el1, x17\n"
        "    mov x16, #1\n"
        "    eret\n"
        "    .balign 128\n"
        ".rept 11\n"
        "    b .\n"
        "    .balign 128\n"
        ".endr\n"
        ".global dma_probe_read32\n"
        ".type dma_probe_read32, %function\n"
        "dma_probe_read32:\n"
        "    mrs x15, daif\n"
        "    msr daifset, #3\n"
        "    mrs x14, vbar_el1\n"
        "    adrp x13, dma_probe_vectors\n"
        "    add x13, x13, :lo12:dma_probe_vectors\n"
        "    msr vbar_el1, x13\n"
        "    isb\n"
        "    mov x16, #0\n"
        "    mov w12, #0\n"
        "    ldr w12, [x0]\n"
        "    msr vbar_el1, x14\n"
        "    isb\n"
        "    msr daif, x15\n"
        "    str w12, [x1]\n"
        "    cmp x16, #0\n"
        "    cset w0, eq\n"
        "    ret\n"
        ".size dma_probe_read32, . - dma_probe_read32\n"
        ".popsection\n");

bool dma_master_present(void) {
    uint32_t id = 0;
    return dma_probe_read32(FW_DMA_MASTER_BASE + DMA_ID, &id) && id == DMA_ID_VALUE;
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

uint32_t dma_status(void) {
    return dma_read(DMA_STATUS);
}

uint32_t dma_run(const struct dma_job *job, uint64_t *fault_address) {
    dma_start(job);
    return dma_wait(fault_address);
}

const char *dma_status_name(uint32_t status) {
    static const char *const names[] = {"idle", "busy", "done", "read faulted", "write faulted"};
    return status < 5 ? names[status] : "timeout";
}
