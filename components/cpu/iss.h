/* A small AArch64 instruction-set-simulator interface. The platform only talks to this header, so the engine
 * behind it (today Unicorn, see unicorn_iss.c) can be replaced without touching SystemC code. */
#ifndef VP_ISS_H
#define VP_ISS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iss iss_t;

/* Why iss_run() returned. */
typedef enum iss_stop_reason {
    ISS_STOP_QUANTUM = 0, /* executed the requested number of instructions */
    ISS_STOP_WFI,         /* executed WFI; PC is the instruction after it */
    ISS_STOP_HVC,         /* executed HVC; PC is the instruction after it, iss_stop_info.imm holds imm16 */
    ISS_STOP_SMC,         /* executed SMC; as HVC */
    ISS_STOP_REQUESTED,   /* a callback called iss_request_stop() */
    ISS_STOP_IRQ,         /* iss_set_irq_pending(true) and PSTATE.I is clear: take the IRQ now */
    ISS_STOP_BUS_ERROR,   /* an MMIO callback refused the access, or the address is mapped nowhere */
    ISS_STOP_ISS_ERROR,   /* undefined instruction or an exception this ISS cannot deliver */
    ISS_STOP_BREAKPOINT,  /* reached a breakpoint (iss_add_breakpoint); PC is its address, not yet executed */
} iss_stop_reason;

typedef enum iss_access { ISS_ACCESS_READ = 0, ISS_ACCESS_WRITE, ISS_ACCESS_FETCH } iss_access;

typedef struct iss_stop_info {
    iss_stop_reason reason;
    uint64_t pc;       /* PC of the instruction that stopped the run (HVC/SMC/WFI: the instruction itself) */
    uint64_t address;  /* bus error: the faulting address */
    unsigned size;     /* bus error: access size in bytes */
    iss_access access; /* bus error: read, write or fetch */
    bool unmapped;     /* bus error: true if no MMIO window or RAM covers the address at all */
    uint32_t imm;      /* HVC/SMC immediate */
    char message[160]; /* ISS error: human-readable reason; bus error: what the ISS found, if anything (a VA
                        * that does not translate, a PA nothing backs) */
} iss_stop_info;

/* MMIO callbacks receive the absolute physical address. Return false to signal a bus error. */
typedef bool (*iss_mmio_read_fn)(void *ctx, uint64_t address, unsigned size, uint64_t *value);
typedef bool (*iss_mmio_write_fn)(void *ctx, uint64_t address, unsigned size, uint64_t value);
/* Returns the current value of the system counter (CNTVCT_EL0/CNTPCT_EL0) in ticks. */
typedef uint64_t (*iss_counter_fn)(void *ctx);

/* System registers are named by their MRS/MSR encoding. */
#define ISS_SYSREG(op0, op1, crn, crm, op2)                                                                  \
    ((uint32_t)(((op0) << 16) | ((op1) << 12) | ((crn) << 8) | ((crm) << 4) | (op2)))
#define ISS_SCTLR_EL1 ISS_SYSREG(3, 0, 1, 0, 0)
#define ISS_TTBR0_EL1 ISS_SYSREG(3, 0, 2, 0, 0)
#define ISS_TTBR1_EL1 ISS_SYSREG(3, 0, 2, 0, 1)
#define ISS_TCR_EL1 ISS_SYSREG(3, 0, 2, 0, 2)
#define ISS_SPSR_EL1 ISS_SYSREG(3, 0, 4, 0, 0)
#define ISS_ELR_EL1 ISS_SYSREG(3, 0, 4, 0, 1)
#define ISS_ESR_EL1 ISS_SYSREG(3, 0, 5, 2, 0)
#define ISS_FAR_EL1 ISS_SYSREG(3, 0, 6, 0, 0)
#define ISS_PAR_EL1 ISS_SYSREG(3, 0, 7, 4, 0)
#define ISS_MAIR_EL1 ISS_SYSREG(3, 0, 10, 2, 0)
#define ISS_VBAR_EL1 ISS_SYSREG(3, 0, 12, 0, 0)
#define ISS_CNTFRQ_EL0 ISS_SYSREG(3, 3, 14, 0, 0)
#define ISS_SCR_EL3 ISS_SYSREG(3, 6, 1, 1, 0)
/* Stack pointers are not reachable through MRS from every EL; the ISS accesses the banked copies directly. */
#define ISS_SP_EL0 ISS_SYSREG(3, 0, 4, 1, 0)
#define ISS_SP_EL1 ISS_SYSREG(3, 4, 4, 1, 0)

/* PSTATE bits as the ISS reports them (SPSR layout). */
#define ISS_PSTATE_I (1u << 7)
#define ISS_PSTATE_EL1H 0x5u
#define ISS_PSTATE_EL(pstate) (((pstate) >> 2) & 3u)

/* Creates an engine in AArch64 EL1h (non-secure, EL2/EL3 AArch64, HVC enabled). On failure returns NULL and
 * writes a reason to err (if err_len > 0). */
iss_t *iss_create(char *err, size_t err_len);
void iss_destroy(iss_t *iss);

/* Maps host memory as guest RAM at physical address base (DMI). base and size must be 4 KiB aligned. The
 * memory must outlive the engine. Returns 0 or a negative value on failure. RAM, aliases and MMIO windows
 * are all mapped before the first iss_run(): the first run covers the physical addresses left over (see
 * unicorn_iss.c), and a later mapping there fails. */
int iss_map_ram(iss_t *iss, uint64_t base, uint64_t size, void *host);
/* Maps the same host RAM that backs [pa, pa+size) also at va, as physical memory. Kept for compatibility:
 * VA != PA mappings of the guest's own tables no longer need it (the ISS makes Unicorn 2.0.1's check of
 * accesses against its map at the VA pass by itself). */
int iss_add_ram_alias(iss_t *iss, uint64_t va, uint64_t pa, uint64_t size);
/* Maps [base, base+size) as MMIO. Returns 0 or a negative value (overlap, misalignment, too many windows). */
int iss_map_mmio(iss_t *iss, uint64_t base, uint64_t size, iss_mmio_read_fn read, iss_mmio_write_fn write,
                 void *ctx);
/* Sets the source of CNTVCT_EL0/CNTPCT_EL0. Without one the counter is instruction count / 16 (62.5 MHz at
 * 1 ns per instruction). */
void iss_set_counter(iss_t *iss, iss_counter_fn counter, void *ctx);

/* Runs at most max_insns instructions from the current PC. *executed (if not NULL) gets the count. */
iss_stop_reason iss_run(iss_t *iss, uint64_t max_insns, uint64_t *executed);
const iss_stop_info *iss_last_stop(const iss_t *iss);
/* Tells the ISS an IRQ is pending. While it is, every instruction boundary checks PSTATE.I and the run stops
 * with ISS_STOP_IRQ as soon as IRQs are unmasked (e.g. after MSR DAIFClr or ERET), before the next
 * instruction, so the caller can take the IRQ where the architecture would. */
void iss_set_irq_pending(iss_t *iss, bool pending);
/* Ends the current run after the instruction in progress (callable from MMIO/counter callbacks). */
void iss_request_stop(iss_t *iss);
/* Moves the end of the run in progress (callable from MMIO/counter callbacks): it ends at the first block
 * boundary at or past instruction_count (an absolute count, as iss_instruction_count() gives), or at the next
 * boundary if that count has been reached already. The stop reason stays ISS_STOP_QUANTUM. */
void iss_set_run_end(iss_t *iss, uint64_t instruction_count);
/* Instructions retired since creation, including those of a run in progress. */
uint64_t iss_instruction_count(const iss_t *iss);
/* MMIO accesses whose instruction the ISS had to choose between several that could have made it (see
 * unicorn_iss.c): their 64-bit joining, count or bus-error PC may be off. 0 for ordinary driver code. */
uint64_t iss_mmio_attribution_guesses(const iss_t *iss);

uint64_t iss_get_x(iss_t *iss, unsigned n); /* n = 0..30 */
void iss_set_x(iss_t *iss, unsigned n, uint64_t value);
uint64_t iss_get_pc(iss_t *iss);
void iss_set_pc(iss_t *iss, uint64_t pc);
uint64_t iss_get_sp(iss_t *iss); /* the SP of the current mode */
void iss_set_sp(iss_t *iss, uint64_t sp);
uint32_t iss_get_pstate(iss_t *iss);
void iss_set_pstate(iss_t *iss, uint32_t pstate);
bool iss_get_sysreg(iss_t *iss, uint32_t sysreg, uint64_t *value);
bool iss_set_sysreg(iss_t *iss, uint32_t sysreg, uint64_t value);

/* Copies guest physical memory (RAM or aliases only, no MMIO). Returns false if unmapped. */
bool iss_read_memory(iss_t *iss, uint64_t address, void *dst, size_t len);
bool iss_write_memory(iss_t *iss, uint64_t address, const void *src, size_t len);

/* Takes an IRQ exception the way the architecture enters EL1: SPSR_EL1 = PSTATE, ELR_EL1 = PC, DAIF masked,
 * EL1h, PC = VBAR_EL1 + 0x080 (from EL1t) or 0x280 (from EL1h). Returns false and changes nothing if
 * PSTATE.I masks IRQs or the CPU is not at EL1: Unicorn 2.0.1 cannot raise the exception level from outside
 * (see unicorn_iss.c), so IRQs from EL0 are not supported. Call only between runs. */
bool iss_take_irq(iss_t *iss);

/* ---- Debugger support ---- */

/* Software breakpoints at virtual addresses of the current regime (what a debugger's Z0 packet names). A run
 * stops before the instruction at a breakpoint, except the first instruction of the run: continuing from a
 * breakpoint executes it. At most ISS_MAX_BREAKPOINTS; adding one twice is harmless. Between runs only. */
#define ISS_MAX_BREAKPOINTS 64
bool iss_add_breakpoint(iss_t *iss, uint64_t va);
bool iss_remove_breakpoint(iss_t *iss, uint64_t va);
/* While on, every run executes exactly one instruction (iss_run's budget counts whole blocks otherwise) and
 * stops with ISS_STOP_QUANTUM before the next, unless the instruction stops the run itself (HVC, WFI, an
 * error). Between runs only. */
bool iss_set_single_step(iss_t *iss, bool on);
/* Guest RAM at a virtual address of the EL1&0 regime (TTBR0 or TTBR1; flat while the MMU is off), as the CPU
 * would see it. false if a page of the range does not translate or is not RAM (MMIO is never touched). A
 * write also drops any translated code of the range, so patched instructions take effect. */
bool iss_read_virtual(iss_t *iss, uint64_t va, void *dst, size_t len);
bool iss_write_virtual(iss_t *iss, uint64_t va, const void *src, size_t len);

typedef enum iss_at_kind { ISS_AT_S1E1R = 0, ISS_AT_S1E1W, ISS_AT_S1E0R, ISS_AT_S1E0W } iss_at_kind;
/* Translates va (a TTBR0 address: bit 55 clear) with the EL1&0 stage-1 regime as currently configured
 * (SCTLR_EL1, TCR_EL1, TTBR0_EL1, MAIR_EL1) by executing AT at EL1 in a private scratch page, and returns
 * PAR_EL1. The stub is reached through TTBR1, which is borrowed with the TTBR1 half of TCR_EL1 and restored
 * afterwards, as are PC, X0 and the instruction count. The CPU must be at EL1. Returns false if va is a TTBR1
 * address or the engine could not run the stub. */
bool iss_translate(iss_t *iss, uint64_t va, iss_at_kind kind, uint64_t *par);

#ifdef __cplusplus
}
#endif

#endif
