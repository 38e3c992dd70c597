/* System register access and CPU state helpers. */
#ifndef FW_SYSREG_H
#define FW_SYSREG_H

#include <stdint.h>

#define read_sysreg(name)                                                                                    \
    ({                                                                                                       \
        uint64_t sysreg_value_;                                                                              \
        __asm__ volatile("mrs %0, " #name : "=r"(sysreg_value_));                                            \
        sysreg_value_;                                                                                       \
    })

#define write_sysreg(name, value)                                                                            \
    do {                                                                                                     \
        uint64_t sysreg_value_ = (uint64_t)(value);                                                          \
        __asm__ volatile("msr " #name ", %x0" : : "rZ"(sysreg_value_) : "memory");                            \
    } while (0)

/* PSTATE.I: whether IRQs are taken. The "memory" clobbers stop the compiler from moving accesses to data
 * shared with handlers across the mask change. */
static inline void local_irq_enable(void) {
    __asm__ volatile("msr daifclr, #2" ::: "memory");
}
static inline void local_irq_disable(void) {
    __asm__ volatile("msr daifset, #2" ::: "memory");
}
static inline int local_irqs_enabled(void) {
    return (read_sysreg(daif) & (1U << 7)) == 0;
}

/* Waits for an interrupt. A pending IRQ ends the wait even while PSTATE.I masks it, which is what makes the
 * "mask, check, wfi, unmask" loop free of lost wake-ups. */
static inline void wfi(void) {
    __asm__ volatile("wfi" ::: "memory");
}

static inline unsigned int current_el(void) {
    return (unsigned int)(read_sysreg(CurrentEL) >> 2) & 3U;
}

#endif
