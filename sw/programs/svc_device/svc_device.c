/* Supervisor calls handled by the program's own EL1 vector: the handler prints (device accesses from inside
 * the exception), changes the caller's x0 and returns with ERET; the program prints again and exits by PSCI.
 * On the virtual platform the ISS emulates the SVC exception entry; a stop left behind by that entry used to
 * swallow the handler's device accesses and the PSCI call at large quanta. Run it with several --quantum
 * values: every line must appear whatever the quantum. */
#include <stdint.h>
#include <stdio.h>

#include <fw/sysreg.h>

#define ESR_EC(esr) (((esr) >> 26) & 0x3fU)
#define ESR_EC_SVC64 0x15U
#define ESR_ISS_IMM16(esr) ((esr)&0xffffU)
#define SVC_INSN(imm) (0xd4000001U | ((uint32_t)(imm) << 5))
#define LOOP_CALLS 64U
#define ROUNDS 3U

/* Registers the entry code saves: x0-x18 and x30, what a C function may clobber. */
struct svc_frame {
    uint64_t x[19];
    uint64_t x30;
};

void svc_dispatch(struct svc_frame *frame);

/* The vector table: synchronous exceptions from the current EL with SP_ELx (offset 0x200) go to svc_entry,
 * everything else to the library's table, entry for entry. */
__asm__(".pushsection .text.svc_vectors, \"ax\"\n"
        ".balign 2048\n"
        "svc_vectors:\n"
        ".irp entry, 0, 1, 2, 3\n"
        "    .balign 0x80\n"
        "    b fw_exception_vectors + \\entry * 0x80\n"
        ".endr\n"
        "    .balign 0x80\n"
        "    b svc_entry\n"
        ".irp entry, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15\n"
        "    .balign 0x80\n"
        "    b fw_exception_vectors + \\entry * 0x80\n"
        ".endr\n"
        "    .balign 4\n"
        "svc_entry:\n"
        "    sub sp, sp, #160\n"
        "    stp x0, x1, [sp, #0]\n"
        "    stp x2, x3, [sp, #16]\n"
        "    stp x4, x5, [sp, #32]\n"
        "    stp x6, x7, [sp, #48]\n"
        "    stp x8, x9, [sp, #64]\n"
        "    stp x10, x11, [sp, #80]\n"
        "    stp x12, x13, [sp, #96]\n"
        "    stp x14, x15, [sp, #112]\n"
        "    stp x16, x17, [sp, #128]\n"
        "    stp x18, x30, [sp, #144]\n"
        "    mov x0, sp\n"
        "    bl svc_dispatch\n"
        "    ldp x18, x30, [sp, #144]\n"
        "    ldp x16, x17, [sp, #128]\n"
        "    ldp x14, x15, [sp, #112]\n"
        "    ldp x12, x13, [sp, #96]\n"
        "    ldp x10, x11, [sp, #80]\n"
        "    ldp x8, x9, [sp, #64]\n"
        "    ldp x6, x7, [sp, #48]\n"
        "    ldp x4, x5, [sp, #32]\n"
        "    ldp x2, x3, [sp, #16]\n"
        "    ldp x0, x1, [sp, #0]\n"
        "    add sp, sp, #160\n"
        "    eret\n"
        ".popsection\n");

extern char svc_vectors[];

static volatile uint32_t calls;
static volatile uint32_t bad_calls;

/* svc #0: prints and returns x0 + 1; svc #1: returns x0 + x1 silently. ELR must point just past the SVC. */
void svc_dispatch(struct svc_frame *frame) {
    uint64_t esr = read_sysreg(esr_el1);
    uint64_t elr = read_sysreg(elr_el1);
    uint32_t imm = (uint32_t)ESR_ISS_IMM16(esr);
    calls++;
    if (ESR_EC(esr) != ESR_EC_SVC64 || *(const volatile uint32_t *)(elr - 4) != SVC_INSN(imm)) {
        printf("svc_device: unexpected exception: ESR 0x%llx ELR 0x%llx\n", (unsigned long long)esr,
               (unsigned long long)elr);
        bad_calls++;
        return;
    }
    if (imm == 0) {
        printf("svc_device: in the handler: svc #%u, x0 %llu\n", (unsigned int)imm,
               (unsigned long long)frame->x[0]);
        frame->x[0] += 1;
    } else {
        frame->x[0] += frame->x[1];
    }
}

static uint64_t svc0(uint64_t value) {
    register uint64_t x0 __asm__("x0") = value;
    __asm__ volatile("svc #0" : "+r"(x0) : : "memory");
    return x0;
}

static uint64_t svc1(uint64_t value, uint64_t addend) {
    register uint64_t x0 __asm__("x0") = value;
    register uint64_t x1 __asm__("x1") = addend;
    __asm__ volatile("svc #1" : "+r"(x0) : "r"(x1) : "memory");
    return x0;
}

int main(void) {
    int failures = 0;
    uint64_t saved_vbar = read_sysreg(vbar_el1);
    write_sysreg(vbar_el1, svc_vectors);
    __asm__ volatile("isb" ::: "memory");

    printf("svc_device: before svc\n");
    uint64_t result = svc0(41);
    printf("svc_device: svc #0 returned %llu\n", (unsigned long long)result);
    if (result != 42)
        failures++;

    /* Many calls back to back, so that run boundaries fall everywhere around the exception. */
    uint64_t sum = 0;
    for (uint32_t i = 0; i < LOOP_CALLS; i++)
        sum = svc1(sum, i);
    printf("svc_device: %u calls, sum %llu\n", (unsigned int)LOOP_CALLS, (unsigned long long)sum);
    if (sum != (uint64_t)LOOP_CALLS * (LOOP_CALLS - 1) / 2)
        failures++;

    /* Device accesses inside and right after the handler, with the UART printing from both sides. */
    for (uint64_t i = 0; i < ROUNDS; i++) {
        result = svc0(100 + i);
        printf("svc_device: round %llu returned %llu\n", (unsigned long long)i, (unsigned long long)result);
        if (result != 101 + i)
            failures++;
    }

    write_sysreg(vbar_el1, saved_vbar);
    __asm__ volatile("isb" ::: "memory");
    if (calls != 1 + LOOP_CALLS + ROUNDS || bad_calls != 0) {
        printf("svc_device: %u calls taken, %u unexpected\n", (unsigned int)calls, (unsigned int)bad_calls);
        failures++;
    }
    if (failures == 0)
        printf("svc_device: ok\n");
    return failures == 0 ? 0 : 1;
}
