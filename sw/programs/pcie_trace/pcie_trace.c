/* The smallest PCIe DMA scenario, for the trace and waveform tests: enumerate bus 0 through ECAM, give the
 * Test Engine at 00:02.0 a BAR0 in the 32-bit window, enable Memory Space and Bus Master, and run one MEMCPY
 * with the SMMU disabled (SMMU_CR0.SMMUEN = 0 with GBPA bypassing, so the engine's addresses are physical).
 * Firmware markers (fw/marker.h) bracket the phases. On QEMU (no Test Engine) it prints SKIP after the
 * enumeration. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <fw/marker.h>
#include <fw/mmio.h>
#include <fw/platform.h>
#include <fw/timer.h>

/* ECAM: bus << 20 | device << 15 | function << 12 | register. */
#define ECAM(dev, reg) (FW_PCIE_ECAM_BASE + ((uintptr_t)(dev) << 15) + (reg))
#define CFG_ID 0x00U
#define CFG_COMMAND 0x04U
#define CFG_BAR0 0x10U
#define CFG_BAR1 0x14U
#define COMMAND_MEMORY 0x0002U
#define COMMAND_MASTER 0x0004U
#define BAR_TYPE_64 0x4U

#define TE_VENDOR_DEVICE 0xFF8013B5U /* Arm, SMMUv3 Test Engine */
#define TE_DEVICE 2U
#define TE_PRIV_PAGE 0x10000U
#define TE_CMD 0x00U
#define TE_MSIADDRESS 0x10U
#define TE_ATTRIBUTES 0x20U
#define TE_SEED 0x24U
#define TE_BEGIN 0x28U
#define TE_END_INCL 0x30U
#define TE_STRIDE 0x38U
#define TE_UDATA 0x40U
#define TE_SUBSTREAMID 0x0CU
#define TE_NO_PASID 0xFFFFFFFFU
#define TE_HALTED 1U
#define TE_MEMCPY 2U

#define SMMU_CR0 0x20U
#define SMMU_CR0ACK 0x24U
#define SMMU_GBPA 0x44U
#define SMMU_GBPA_UPDATE (1U << 31)
#define SMMU_GBPA_ABORT (1U << 20)

#define COPY_BYTES 256U
#define TIMEOUT_US 1000U

static uint8_t source[COPY_BYTES] __attribute__((aligned(64)));
static uint8_t destination[COPY_BYTES] __attribute__((aligned(64)));

static bool wait_until_clear(uintptr_t reg, uint32_t mask) {
    for (unsigned i = 0; i < TIMEOUT_US; i++) {
        if (!(mmio_read32(reg) & mask))
            return true;
        udelay(1);
    }
    return false;
}

/* SMMU off with GBPA bypassing: the engine's addresses pass through untranslated. */
static bool smmu_bypass(void) {
    mmio_write32(FW_SMMU_BASE + SMMU_CR0, 0);
    if (!wait_until_clear(FW_SMMU_BASE + SMMU_CR0ACK, 1U))
        return false;
    mmio_write32(FW_SMMU_BASE + SMMU_GBPA, SMMU_GBPA_UPDATE);
    return wait_until_clear(FW_SMMU_BASE + SMMU_GBPA, SMMU_GBPA_UPDATE) &&
           !(mmio_read32(FW_SMMU_BASE + SMMU_GBPA) & SMMU_GBPA_ABORT);
}

int main(void) {
    fw_marker(1);
    unsigned functions = 0;
    bool engine = false;
    for (unsigned dev = 0; dev < 32; dev++) {
        uint32_t id = mmio_read32(ECAM(dev, CFG_ID));
        if (id == 0xFFFFFFFFU)
            continue;
        functions++;
        if (dev == TE_DEVICE && id == TE_VENDOR_DEVICE)
            engine = true;
    }
    printf("pcie_trace: bus 0 enumerated: %s\n", functions > 0 ? "ok" : "FAILED");
    if (!engine) {
        printf("pcie_trace: SKIP: no SMMUv3 Test Engine at 00:02.0\n");
        return functions > 0 ? 0 : 1;
    }

    /* BAR0 is a 64-bit memory BAR: size it, then place it at the start of the 32-bit window. */
    mmio_write32(ECAM(TE_DEVICE, CFG_BAR0), 0xFFFFFFFFU);
    mmio_write32(ECAM(TE_DEVICE, CFG_BAR1), 0xFFFFFFFFU);
    uint32_t low = mmio_read32(ECAM(TE_DEVICE, CFG_BAR0));
    uint64_t mask = (uint64_t)mmio_read32(ECAM(TE_DEVICE, CFG_BAR1)) << 32 | (low & ~0xFU);
    uint64_t size = ~mask + 1;
    bool bar_ok =
        (low & 0x6U) == BAR_TYPE_64 && size >= 0x20000U && size <= FW_PCIE_MMIO_END - FW_PCIE_MMIO_BASE;
    uintptr_t bar = FW_PCIE_MMIO_BASE;
    mmio_write32(ECAM(TE_DEVICE, CFG_BAR0), (uint32_t)bar);
    mmio_write32(ECAM(TE_DEVICE, CFG_BAR1), 0);
    mmio_write16(ECAM(TE_DEVICE, CFG_COMMAND), COMMAND_MEMORY | COMMAND_MASTER);
    printf("pcie_trace: Test Engine BAR0 assigned, Memory and Bus Master on: %s\n", bar_ok ? "ok" : "FAILED");
    if (!bar_ok)
        return 1;

    bool bypass = smmu_bypass();
    printf("pcie_trace: SMMU disabled, GBPA bypass: %s\n", bypass ? "ok" : "FAILED");
    if (!bypass)
        return 1;

    for (unsigned i = 0; i < COPY_BYTES; i++) {
        source[i] = (uint8_t)(i * 7 + 3);
        destination[i] = 0;
    }
    fw_marker(2);
    uintptr_t user = bar, priv = bar + TE_PRIV_PAGE;
    mmio_write32(priv + TE_SUBSTREAMID, TE_NO_PASID);
    mmio_write64(user + TE_MSIADDRESS, 0);
    mmio_write32(user + TE_ATTRIBUTES, 0);
    mmio_write32(user + TE_SEED, 0);
    mmio_write64(user + TE_BEGIN, (uintptr_t)source);
    mmio_write64(user + TE_END_INCL, (uintptr_t)source + COPY_BYTES - 1);
    mmio_write64(user + TE_STRIDE, 1);
    mmio_write64(user + TE_UDATA, (uintptr_t)destination);
    mmio_write32(user + TE_CMD, TE_MEMCPY);
    uint32_t state = TE_MEMCPY;
    for (unsigned i = 0; i < TIMEOUT_US && state == TE_MEMCPY; i++) {
        udelay(1);
        state = mmio_read32(user + TE_CMD);
    }
    fw_marker(3);
    bool copied = state == TE_HALTED && memcmp(source, destination, COPY_BYTES) == 0;
    printf("pcie_trace: MEMCPY of %u bytes in bypass: %s\n", COPY_BYTES, copied ? "ok" : "FAILED");
    return copied ? 0 : 1;
}
