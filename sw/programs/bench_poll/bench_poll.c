/* Poll latency: starts the platform DMA test master (SMMU in its reset state, so the copy bypasses
 * translation), polls STATUS until the job is done and measures, with the generic counter, the simulated time
 * from the start to the read that sees "done". Prints the mean as a benchmark figure. The figure must not
 * depend on --quantum: the CPU makes every device access at its own simulated time. */
#include <stdint.h>
#include <stdio.h>

#include <fw/mmio.h>
#include <fw/timer.h>

#define DMA_BASE 0x0c000000u
#define DMA_ID 0x00u
#define DMA_SRC_LO 0x08u
#define DMA_SRC_HI 0x0cu
#define DMA_DST_LO 0x10u
#define DMA_DST_HI 0x14u
#define DMA_LEN 0x18u
#define DMA_CTRL 0x28u
#define DMA_STATUS 0x2cu
#define DMA_ID_VALUE 0x444d4131u
#define DMA_STATUS_DONE 2u
#define JOBS 64u
#define JOB_BYTES 256u

static uint8_t source[JOB_BYTES] __attribute__((aligned(64)));
static uint8_t destination[JOB_BYTES] __attribute__((aligned(64)));

static void dma_write(uint32_t offset, uint32_t value) {
    mmio_write32_relaxed(DMA_BASE + offset, value);
}

static uint32_t dma_read(uint32_t offset) {
    return mmio_read32_relaxed(DMA_BASE + offset);
}

int main(void) {
    if (dma_read(DMA_ID) != DMA_ID_VALUE) {
        printf("bench_poll: no DMA test master\n");
        return 1;
    }
    for (unsigned i = 0; i < JOB_BYTES; i++)
        source[i] = (uint8_t)(i * 7u + 1u);
    uint64_t total_ticks = 0;
    unsigned polls = 0;
    for (unsigned job = 0; job < JOBS; job++) {
        dma_write(DMA_SRC_LO, (uint32_t)(uintptr_t)source);
        dma_write(DMA_SRC_HI, 0);
        dma_write(DMA_DST_LO, (uint32_t)(uintptr_t)destination);
        dma_write(DMA_DST_HI, 0);
        dma_write(DMA_LEN, JOB_BYTES);
        uint64_t start = timer_ticks();
        dma_write(DMA_CTRL, 1);
        uint32_t status;
        do {
            status = dma_read(DMA_STATUS);
            polls++;
        } while (status == 1u);
        total_ticks += timer_ticks() - start;
        if (status != DMA_STATUS_DONE) {
            printf("bench_poll: job %u ended with status %u\n", job, status);
            return 1;
        }
        dma_write(DMA_STATUS, 0);
    }
    for (unsigned i = 0; i < JOB_BYTES; i++) {
        if (destination[i] != source[i]) {
            printf("bench_poll: byte %u copied wrong\n", i);
            return 1;
        }
    }
    uint64_t mean_ns = total_ticks * 1000000000ull / timer_frequency_hz() / JOBS;
    printf("bench_poll: %u jobs of %u bytes, %u status reads\n", JOBS, JOB_BYTES, polls);
    printf("platform.poll_latency.ns %llu ns\n", (unsigned long long)mean_ns);
    return 0;
}
