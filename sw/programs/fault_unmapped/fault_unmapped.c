/* Reads from an address no device claims on the virtual platform; the platform must end the run with its
 * bus-error status. (On QEMU's virt this address is flash, so the read returns and the program fails.) */
#include <stdio.h>

#include <fw/mmio.h>

#define UNMAPPED_ADDRESS 0x06000000UL

int main(void) {
    printf("fault_unmapped: reading 0x%08lx\n", UNMAPPED_ADDRESS);
    uint32_t value = mmio_read32(UNMAPPED_ADDRESS);
    printf("fault_unmapped: read returned 0x%x, no bus error\n", (unsigned int)value);
    return 1;
}
