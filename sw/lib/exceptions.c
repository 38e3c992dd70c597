/* Exceptions the firmware cannot continue from. The virtual platform's ISS never delivers synchronous
 * exceptions (it stops the run itself), QEMU does; either way the run ends with a distinct status. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <fw/runtime.h>
#include <fw/sysreg.h>

static const char *const exception_kind_names[] = {
    "synchronous (current EL, SP_EL0)",
    "FIQ (current EL, SP_EL0)",
    "SError (current EL, SP_EL0)",
    "synchronous",
    "FIQ",
    "SError",
    "synchronous (lower EL, AArch64)",
    "IRQ (lower EL, AArch64)",
    "FIQ (lower EL, AArch64)",
    "SError (lower EL, AArch64)",
    "exception from AArch32",
};
#define SYNC_CURRENT_SPX_KIND 3U

_Noreturn void fw_unexpected_exception(uint64_t kind);

_Noreturn void fw_unexpected_exception(uint64_t kind) {
    uint64_t esr = read_sysreg(esr_el1);
    uint64_t elr = read_sysreg(elr_el1);
    uint64_t far = read_sysreg(far_el1);
    uint64_t spsr = read_sysreg(spsr_el1);
    const char *name = kind < sizeof(exception_kind_names) / sizeof(exception_kind_names[0])
                           ? exception_kind_names[kind]
                           : "unknown";
    /* ESR_EL1.EC (bits 31:26) names the cause: 0x25 data abort, 0x21 instruction abort, 0x00 unknown, ... */
    printf("fw: %s exception: ESR 0x%llx (EC 0x%llx) ELR 0x%llx FAR 0x%llx SPSR 0x%llx\n", name,
           (unsigned long long)esr, (unsigned long long)((esr >> 26) & 0x3f), (unsigned long long)elr,
           (unsigned long long)far, (unsigned long long)spsr);
    exit(kind == SYNC_CURRENT_SPX_KIND || kind == 0 ? FW_EXIT_SYNC_EXCEPTION : FW_EXIT_UNEXPECTED_VECTOR);
}
