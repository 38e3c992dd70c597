/* A byte read of SMMU_IDR0: the SMMU answers only naturally aligned 32- and 64-bit accesses, so the platform
 * must end the run with its "refused by a device" status (not the unmapped-address one). */
#include <stdio.h>

#include <fw/mmio.h>
#include <fw/platform.h>

int main(void) {
    printf("fault_device: byte read of SMMU_IDR0\n");
    uint8_t value = mmio_read8(FW_SMMU_BASE);
    printf("fault_device: read returned 0x%x, no bus error\n", (unsigned int)value);
    return 1;
}
