#include <fw/psci.h>
#include <fw/sysreg.h>

uint64_t psci_call(uint32_t function_id, uint64_t arg1, uint64_t arg2, uint64_t arg3) {
    register uint64_t x0 __asm__("x0") = function_id;
    register uint64_t x1 __asm__("x1") = arg1;
    register uint64_t x2 __asm__("x2") = arg2;
    register uint64_t x3 __asm__("x3") = arg3;
    /* SMCCC: x4-x17 may be clobbered by the callee. */
    __asm__ volatile("hvc #0"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                     :
                     : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16",
                       "x17", "memory");
    return x0;
}

uint32_t psci_version(void) {
    return (uint32_t)psci_call(PSCI_FN_VERSION, 0, 0, 0);
}

_Noreturn void psci_system_off(int status) {
    psci_call(PSCI_FN_SYSTEM_OFF, (uint64_t)(int64_t)status, 0, 0);
    local_irq_disable();
    for (;;)
        wfi();
}
