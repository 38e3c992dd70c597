/* EL1 exception vector table: 16 entries 0x80 apart, 2 KiB aligned (VBAR_EL1 ignores bits 10:0). */

/* Kinds passed to fw_unexpected_exception; they index the name table of exceptions.c. */
#define KIND_SYNC_CURRENT_SP0 0
#define KIND_FIQ_CURRENT_SP0 1
#define KIND_SERROR_CURRENT_SP0 2
#define KIND_SYNC_CURRENT_SPX 3
#define KIND_FIQ_CURRENT_SPX 4
#define KIND_SERROR_CURRENT_SPX 5
#define KIND_SYNC_LOWER_A64 6
#define KIND_IRQ_LOWER_A64 7
#define KIND_FIQ_LOWER_A64 8
#define KIND_SERROR_LOWER_A64 9
#define KIND_LOWER_A32 10

/* Exceptions the firmware does not survive: report and exit. No registers need saving. */
.macro unexpected kind
    .balign 0x80
    mov     x0, #\kind
    b       fw_unexpected_exception
.endm

.macro irq
    .balign 0x80
    b       irq_entry
.endm

    .section .text.vectors, "ax"
    .balign 2048
    .global fw_exception_vectors
fw_exception_vectors:
    /* Current EL with SP_EL0 */
    unexpected KIND_SYNC_CURRENT_SP0
    irq
    unexpected KIND_FIQ_CURRENT_SP0
    unexpected KIND_SERROR_CURRENT_SP0
    /* Current EL with SP_ELx: where the firmware runs */
    unexpected KIND_SYNC_CURRENT_SPX
    irq
    unexpected KIND_FIQ_CURRENT_SPX
    unexpected KIND_SERROR_CURRENT_SPX
    /* Lower EL, AArch64 */
    unexpected KIND_SYNC_LOWER_A64
    unexpected KIND_IRQ_LOWER_A64
    unexpected KIND_FIQ_LOWER_A64
    unexpected KIND_SERROR_LOWER_A64
    /* Lower EL, AArch32 */
    unexpected KIND_LOWER_A32
    unexpected KIND_LOWER_A32
    unexpected KIND_LOWER_A32
    unexpected KIND_LOWER_A32

/* IRQ: save what the AAPCS64 lets a C function clobber (x0-x18, x30) plus ELR/SPSR, so the handler may re-enable
 * interrupts later if it wants; x19-x29 are preserved by the C code itself. 192 bytes keeps SP 16-aligned. */
#define IRQ_FRAME_SIZE 192
    .balign 4
irq_entry:
    sub     sp, sp, #IRQ_FRAME_SIZE
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x30, [sp, #144]
    mrs     x0, elr_el1
    mrs     x1, spsr_el1
    stp     x0, x1, [sp, #160]

    bl      gic_handle_irq

    ldp     x0, x1, [sp, #160]
    msr     elr_el1, x0
    msr     spsr_el1, x1
    ldp     x18, x30, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #IRQ_FRAME_SIZE
    eret

    .section .note.GNU-stack, "", %progbits
