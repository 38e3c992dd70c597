/* Entry point of every firmware program, entered at EL1 with the MMU off. */

    .section .text.boot, "ax"
    .global _start
    .type _start, %function
_start:
    msr     daifset, #0xf               /* nothing may interrupt start-up */
    msr     spsel, #1                   /* run on SP_EL1 (EL1h) */
    ldr     x0, =__stack_top
    mov     sp, x0
    ldr     x0, =fw_exception_vectors
    msr     vbar_el1, x0
    /* FP/SIMD at EL1 and EL0 (CPACR_EL1.FPEN = 0b11): the firmware is built without FP registers, but libgcc or
     * a later program may use them, and a trap here would be unrecoverable on the ISS. */
    mov     x0, #(3 << 20)
    msr     cpacr_el1, x0
    isb

    /* Zero .bss 16 bytes at a time; the linker script aligns both ends to 16. QEMU does not promise zeroed RAM. */
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    stp     xzr, xzr, [x0], #16
    b       1b
2:
    mov     x29, xzr                    /* end of the frame chain for debuggers */
    mov     x30, xzr
    bl      fw_runtime_start            /* never returns */
3:  wfi
    b       3b
    .size _start, . - _start

    .section .note.GNU-stack, "", %progbits
