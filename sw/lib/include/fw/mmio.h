/* Device register accessors. Each access is exactly one load or store instruction of the given width, so a
 * 64-bit register is never split into two 32-bit halves.
 *
 * mmio_readN/mmio_writeN order the access against normal memory, which is what a driver needs around DMA:
 *  - a write is preceded by a barrier, so data written to memory (queue entries, tables) is observable by the
 *    device before the doorbell write that tells it to look;
 *  - a read is followed by a barrier, so memory read afterwards (entries a device produced) is not read
 * before the register that says they are there. The _relaxed forms carry no barrier: use them for register
 * sequences that only talk to the device. */
#ifndef FW_MMIO_H
#define FW_MMIO_H

#include <stdint.h>

#define FW_MMIO_READ_RELAXED(width, insn, reg_prefix)                                                        \
    static inline uint##width##_t mmio_read##width##_relaxed(uintptr_t address) {                            \
        uint##width##_t value;                                                                               \
        __asm__ volatile(insn " %" reg_prefix "0, [%1]" : "=r"(value) : "r"(address) : "memory");            \
        return value;                                                                                        \
    }
#define FW_MMIO_WRITE_RELAXED(width, insn, reg_prefix)                                                       \
    static inline void mmio_write##width##_relaxed(uintptr_t address, uint##width##_t value) {               \
        __asm__ volatile(insn " %" reg_prefix "0, [%1]" : : "rZ"(value), "r"(address) : "memory");           \
    }

FW_MMIO_READ_RELAXED(8, "ldrb", "w")
FW_MMIO_READ_RELAXED(16, "ldrh", "w")
FW_MMIO_READ_RELAXED(32, "ldr", "w")
FW_MMIO_READ_RELAXED(64, "ldr", "x")
FW_MMIO_WRITE_RELAXED(8, "strb", "w")
FW_MMIO_WRITE_RELAXED(16, "strh", "w")
FW_MMIO_WRITE_RELAXED(32, "str", "w")
FW_MMIO_WRITE_RELAXED(64, "str", "x")

#undef FW_MMIO_READ_RELAXED
#undef FW_MMIO_WRITE_RELAXED

/* Outer-shareable barriers: devices (the SMMU, DMA masters) are observers outside the inner domain. */
static inline void mmio_barrier_before_write(void) {
    __asm__ volatile("dmb oshst" ::: "memory");
}
static inline void mmio_barrier_after_read(void) {
    __asm__ volatile("dmb oshld" ::: "memory");
}

#define FW_MMIO_ORDERED(width)                                                                               \
    static inline uint##width##_t mmio_read##width(uintptr_t address) {                                      \
        uint##width##_t value = mmio_read##width##_relaxed(address);                                         \
        mmio_barrier_after_read();                                                                           \
        return value;                                                                                        \
    }                                                                                                        \
    static inline void mmio_write##width(uintptr_t address, uint##width##_t value) {                         \
        mmio_barrier_before_write();                                                                         \
        mmio_write##width##_relaxed(address, value);                                                         \
    }

FW_MMIO_ORDERED(8)
FW_MMIO_ORDERED(16)
FW_MMIO_ORDERED(32)
FW_MMIO_ORDERED(64)

#undef FW_MMIO_ORDERED

/* Full-system barriers for code that needs them explicitly (e.g. before telling a device to read a table). */
static inline void dsb_sy(void) {
    __asm__ volatile("dsb sy" ::: "memory");
}
static inline void dmb_sy(void) {
    __asm__ volatile("dmb sy" ::: "memory");
}
static inline void isb(void) {
    __asm__ volatile("isb" ::: "memory");
}

#endif
