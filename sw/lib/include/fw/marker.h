/* Firmware markers: a number written to the virtual platform's marker register (0x0c01_0000, see
 * components/marker/README.md) shows in its waveforms (marker.value) and text trace (`marker: write`) at the
 * simulated time of the write, so a run can be read against the program's own phases.
 *
 * QEMU's virt machine has no such register (an access there aborts), so fw_marker() first asks PSCI_FEATURES
 * about FW_PSCI_FEATURE_MARKER, which only the virtual platform answers with success, and does nothing
 * elsewhere. */
#ifndef FW_MARKER_H
#define FW_MARKER_H

#include <stdbool.h>
#include <stdint.h>

#define FW_MARKER_BASE 0x0c010000UL
#define FW_MARKER_ID 0x00U    /* RO "MRK1" */
#define FW_MARKER_VALUE 0x04U /* RW: each write is a marker */
#define FW_MARKER_ID_VALUE 0x314B524DU
#define FW_PSCI_FEATURES 0x8400000AU
#define FW_PSCI_FEATURE_MARKER 0x86005650U /* an SMCCC vendor hypervisor service number: "VP" */

/* Whether the marker register exists (the answer is computed once). */
bool fw_marker_present(void);
/* Marks phase N (nothing where the register does not exist). */
void fw_marker(uint32_t n);

#endif
