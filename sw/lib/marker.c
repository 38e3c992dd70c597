/* Firmware markers (fw/marker.h). */
#include <fw/marker.h>

#include <fw/mmio.h>
#include <fw/psci.h>

static int present = -1;

bool fw_marker_present(void) {
    /* PSCI_FEATURES is safe everywhere (QEMU implements PSCI 1.1); only then is the register's ID read. */
    if (present < 0)
        present = psci_call(FW_PSCI_FEATURES, FW_PSCI_FEATURE_MARKER, 0, 0) == 0 &&
                  mmio_read32(FW_MARKER_BASE + FW_MARKER_ID) == FW_MARKER_ID_VALUE;
    return present == 1;
}

void fw_marker(uint32_t n) {
    if (fw_marker_present())
        mmio_write32(FW_MARKER_BASE + FW_MARKER_VALUE, n);
}
