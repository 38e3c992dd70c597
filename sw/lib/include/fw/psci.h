/* PSCI calls over HVC (the conduit of QEMU's virt machine without EL2, and of the virtual platform). */
#ifndef FW_PSCI_H
#define FW_PSCI_H

#include <stdint.h>

#define PSCI_FN_VERSION 0x84000000U
#define PSCI_FN_SYSTEM_OFF 0x84000008U
#define PSCI_FN_SYSTEM_RESET 0x84000009U

/* Function ID in x0, arguments in x1..x3, result in x0. */
uint64_t psci_call(uint32_t function_id, uint64_t arg1, uint64_t arg2, uint64_t arg3);
/* Major version in bits 31:16, minor in 15:0. */
uint32_t psci_version(void);
/* Powers off. The exit status travels in x1: the virtual platform returns it as its process exit code, QEMU
 * ignores it. Does not return; if the call does, the CPU waits in WFI forever. */
_Noreturn void psci_system_off(int status);

#endif
