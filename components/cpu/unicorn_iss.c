/* iss.h implemented with Unicorn 2.0.1 (Debian 12). Notes on this Unicorn version, found by experiment:
 * - It starts in Secure EL1 with SCR_EL3.RW = 0, so the MMU would walk AArch32 tables: we set SCR_EL3 to
 *   RW | NS | HCE (HCE makes HVC a call instead of UNDEFINED; NS because HVC is UNDEFINED in Secure EL1) and
 *   HCR_EL2.RW (once NS = 1, EL1 is AArch64 only if HCR_EL2.RW is set; otherwise ERET sets PSTATE.IL).
 * - It never enters the guest's vectors: HVC/SMC/SVC/UDEF reach the UC_HOOK_INTR callback with intno set to
 *   QEMU's EXCP_* value. We stop there (HVC/SMC) or emulate the exception entry ourselves (SVC, IRQ).
 * - WFI makes uc_emu_start return early with no hook called; we notice that the quantum was not used up and
 *   that the previous instruction is WFI.
 * - 64-bit MMIO accesses reach the MMIO callbacks as two 32-bit halves, low half first. We decode the
 *   load/store at PC: if its element size is 8 bytes and the address is 8-byte aligned, the low-half read
 *   performs one 64-bit read and keeps the high half for the second callback; the low-half write is held back
 *   and sent as one 64-bit write together with the high half. Unaligned 64-bit MMIO stays two 32-bit
 * accesses.
 * - The instruction counter is our own UC_HOOK_CODE callback; it costs about as much as Unicorn's internal
 *   count hook and gives an exact count when a run stops early. */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

enum {
    MAX_MMIO_WINDOWS = 16,
    MAX_RAM_REGIONS = 4,
    PAGE_SIZE = 4096,
    /* QEMU's exception numbers as Unicorn passes them to UC_HOOK_INTR. */
    EXCP_UDEF = 1,
    EXCP_SWI = 2,
    EXCP_PREFETCH_ABORT = 3,
    EXCP_DATA_ABORT = 4,
    EXCP_HVC = 11,
    EXCP_SMC = 13,
};

#define INSN_WFI 0xd503207fu
#define SCR_EL3_NS (1u << 0)
#define SCR_EL3_HCE (1u << 8)
#define SCR_EL3_RW (1u << 10)
/* With NS = 1 and EL2 implemented, EL1 is AArch64 only if HCR_EL2.RW is set too (else ERET is illegal). */
#define ISS_HCR_EL2 ISS_SYSREG(3, 4, 1, 1, 0)
#define HCR_EL2_RW (1ull << 31)
#define ISS_TPIDR_EL0 ISS_SYSREG(3, 3, 13, 0, 2)
#define PSTATE_DAIF 0x3c0u
#define PSTATE_NZCV 0xf0000000u
/* iss_translate() scratch: stub page + three table pages, at a PA no platform uses, seen at this TTBR1 VA. */
#define SCRATCH_PAGES 4
#define SCRATCH_STUB_VA 0xffffff8000000000ull

struct mmio_window {
    iss_t *iss;
    uint64_t base;
    uint64_t size;
    iss_mmio_read_fn read;
    iss_mmio_write_fn write;
    void *ctx;
};

struct ram_region {
    uint64_t base;
    uint64_t size;
    uint8_t *host;
};

struct iss {
    uc_engine *uc;
    struct mmio_window mmio[MAX_MMIO_WINDOWS];
    unsigned mmio_count;
    struct ram_region ram[MAX_RAM_REGIONS];
    unsigned ram_count;
    uint8_t *scratch;
    uint64_t scratch_pa;
    iss_counter_fn counter;
    void *counter_ctx;

    bool irq_pending;      /* stop at the first instruction boundary with PSTATE.I clear */
    uint64_t retired;      /* instructions of completed runs */
    uint64_t run_limit;    /* budget of the run in progress */
    uint64_t run_executed; /* instructions of the run in progress */
    bool stop_recorded;    /* stop_info describes why the run in progress ends */
    bool stop_requested;   /* iss_request_stop() was called: stop at the next instruction boundary */
    iss_stop_info stop_info;

    /* 64-bit MMIO joining (see the file comment). */
    bool read_high_valid;
    uint64_t read_high_address;
    uint64_t read_high_pc;
    uint32_t read_high_value;
    bool write_low_valid;
    struct mmio_window *write_low_window;
    uint64_t write_low_address;
    uint64_t write_low_pc;
    uint32_t write_low_value;
};

static uint64_t reg_read(iss_t *iss, int reg) {
    uint64_t value = 0;
    uc_reg_read(iss->uc, reg, &value);
    return value;
}

static void reg_write(iss_t *iss, int reg, uint64_t value) {
    uc_reg_write(iss->uc, reg, &value);
}

static void record_stop(iss_t *iss, iss_stop_reason reason, uint64_t pc) {
    if (iss->stop_recorded)
        return; /* the first cause wins */
    memset(&iss->stop_info, 0, sizeof iss->stop_info);
    iss->stop_info.reason = reason;
    iss->stop_info.pc = pc;
    iss->stop_recorded = true;
    uc_emu_stop(iss->uc);
}

static void record_bus_error(iss_t *iss, uint64_t address, unsigned size, iss_access access, bool unmapped) {
    if (iss->stop_recorded)
        return;
    record_stop(iss, ISS_STOP_BUS_ERROR, reg_read(iss, UC_ARM64_REG_PC));
    iss->stop_info.address = address;
    iss->stop_info.size = size;
    iss->stop_info.access = access;
    iss->stop_info.unmapped = unmapped;
}

static void record_iss_error(iss_t *iss, uint64_t pc, const char *message) {
    if (iss->stop_recorded)
        return;
    record_stop(iss, ISS_STOP_ISS_ERROR, pc);
    snprintf(iss->stop_info.message, sizeof iss->stop_info.message, "%s", message);
}

static bool fetch_insn(iss_t *iss, uint64_t pc, uint32_t *insn) {
    return uc_mem_read(iss->uc, pc, insn, sizeof *insn) == UC_ERR_OK;
}

/* Size in bytes of one register's transfer for a general-purpose load/store, 0 if not one. */
static unsigned gpr_element_size(uint32_t insn) {
    bool is_load_store = (insn & 0x0a000000u) == 0x08000000u;
    bool is_simd = (insn >> 26) & 1u;
    if (!is_load_store || is_simd)
        return 0;
    bool is_pair = ((insn >> 27) & 7u) == 5u;
    if (is_pair)
        return (insn >> 30) == 2u ? 8 : 4;
    return 1u << (insn >> 30);
}

static bool is_low_half_of_64bit_access(iss_t *iss, uint64_t address, unsigned size, uint64_t pc) {
    if (size != 4 || (address & 7u) != 0)
        return false;
    uint32_t insn;
    return fetch_insn(iss, pc, &insn) && gpr_element_size(insn) == 8;
}

static bool mmio_do_write(struct mmio_window *w, uint64_t address, unsigned size, uint64_t value) {
    if (!w->write(w->ctx, address, size, value)) {
        record_bus_error(w->iss, address, size, ISS_ACCESS_WRITE, false);
        return false;
    }
    return true;
}

static void flush_held_write(iss_t *iss) {
    if (!iss->write_low_valid)
        return;
    iss->write_low_valid = false;
    mmio_do_write(iss->write_low_window, iss->write_low_address, 4, iss->write_low_value);
}

static uint64_t on_mmio_read(uc_engine *uc, uint64_t offset, unsigned size, void *user) {
    (void)uc;
    struct mmio_window *w = user;
    iss_t *iss = w->iss;
    if (iss->stop_recorded)
        return 0;
    uint64_t address = w->base + offset;
    uint64_t pc = reg_read(iss, UC_ARM64_REG_PC);
    flush_held_write(iss);
    if (iss->read_high_valid && iss->read_high_address == address && iss->read_high_pc == pc && size == 4) {
        iss->read_high_valid = false;
        return iss->read_high_value;
    }
    iss->read_high_valid = false;
    uint64_t value = 0;
    if (is_low_half_of_64bit_access(iss, address, size, pc)) {
        if (!w->read(w->ctx, address, 8, &value)) {
            record_bus_error(iss, address, 8, ISS_ACCESS_READ, false);
            return 0;
        }
        iss->read_high_valid = true;
        iss->read_high_address = address + 4;
        iss->read_high_pc = pc;
        iss->read_high_value = (uint32_t)(value >> 32);
        return (uint32_t)value;
    }
    if (!w->read(w->ctx, address, size, &value)) {
        record_bus_error(iss, address, size, ISS_ACCESS_READ, false);
        return 0;
    }
    return value;
}

static void on_mmio_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user) {
    (void)uc;
    struct mmio_window *w = user;
    iss_t *iss = w->iss;
    if (iss->stop_recorded)
        return;
    uint64_t address = w->base + offset;
    uint64_t pc = reg_read(iss, UC_ARM64_REG_PC);
    iss->read_high_valid = false;
    if (iss->write_low_valid && iss->write_low_window == w && iss->write_low_address + 4 == address &&
        iss->write_low_pc == pc && size == 4) {
        iss->write_low_valid = false;
        mmio_do_write(w, iss->write_low_address, 8, iss->write_low_value | ((uint64_t)(uint32_t)value << 32));
        return;
    }
    flush_held_write(iss);
    if (iss->stop_recorded)
        return;
    if (is_low_half_of_64bit_access(iss, address, size, pc)) {
        iss->write_low_valid = true;
        iss->write_low_window = w;
        iss->write_low_address = address;
        iss->write_low_pc = pc;
        iss->write_low_value = (uint32_t)value;
        return;
    }
    mmio_do_write(w, address, size, value);
}

static void on_code(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    (void)size;
    iss_t *iss = user;
    /* Stopping in the hook of an instruction keeps it from executing. */
    /* One comparison on the hot path: iss_request_stop() also lowers the limit to what has run. */
    if (iss->run_executed >= iss->run_limit) {
        if (iss->stop_requested)
            record_stop(iss, ISS_STOP_REQUESTED, address);
        else
            uc_emu_stop(uc);
        return;
    }
    if (iss->irq_pending && !(reg_read(iss, UC_ARM64_REG_PSTATE) & ISS_PSTATE_I)) {
        record_stop(iss, ISS_STOP_IRQ, address);
        return;
    }
    iss->run_executed++;
}

static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t address, int size, int64_t value,
                        void *user) {
    (void)uc;
    (void)value;
    iss_t *iss = user;
    iss_access access = ISS_ACCESS_READ;
    if (type == UC_MEM_WRITE_UNMAPPED)
        access = ISS_ACCESS_WRITE;
    else if (type == UC_MEM_FETCH_UNMAPPED)
        access = ISS_ACCESS_FETCH;
    record_bus_error(iss, address, (unsigned)size, access, true);
    return false;
}

/* Exception entry to EL1h at VBAR_EL1 + vector_base(from) + class_offset. */
static bool enter_el1_exception(iss_t *iss, uint64_t class_offset, uint64_t return_pc, bool set_esr,
                                uint64_t esr) {
    uint32_t pstate = iss_get_pstate(iss);
    unsigned el = (pstate >> 2) & 3u;
    bool sp_elx = pstate & 1u;
    /* Only EL1 -> EL1: Unicorn 2.0.1 caches the exception level in its translation flags and rebuilds them
     * only on a guest ERET, so an entry from EL0 written from outside would keep running with EL0 privileges.
     */
    if (el != 1)
        return false;
    uint64_t vector_base = sp_elx ? 0x200 : 0x000;
    uint64_t vbar = 0;
    iss_get_sysreg(iss, ISS_VBAR_EL1, &vbar);
    iss_set_sysreg(iss, ISS_SPSR_EL1, pstate);
    iss_set_sysreg(iss, ISS_ELR_EL1, return_pc);
    if (set_esr)
        iss_set_sysreg(iss, ISS_ESR_EL1, esr);
    if (!sp_elx) {
        /* Leaving SP_EL0 (EL1t): bank it and switch to SP_EL1 as the hardware does. */
        reg_write(iss, UC_ARM64_REG_SP_EL0, reg_read(iss, UC_ARM64_REG_SP));
        reg_write(iss, UC_ARM64_REG_SP, reg_read(iss, UC_ARM64_REG_SP_EL1));
    }
    iss_set_pstate(iss, (pstate & PSTATE_NZCV) | PSTATE_DAIF | ISS_PSTATE_EL1H);
    iss_set_pc(iss, vbar + vector_base + class_offset);
    return true;
}

static void on_interrupt(uc_engine *uc, uint32_t intno, void *user) {
    (void)uc;
    iss_t *iss = user;
    uint64_t pc = reg_read(iss, UC_ARM64_REG_PC);
    uint32_t insn = 0;
    char message[128];
    switch (intno) {
    case EXCP_HVC:
    case EXCP_SMC:
        /* PC already points after the call instruction. */
        record_stop(iss, intno == EXCP_HVC ? ISS_STOP_HVC : ISS_STOP_SMC, pc - 4);
        if (fetch_insn(iss, pc - 4, &insn))
            iss->stop_info.imm = (insn >> 5) & 0xffffu;
        return;
    case EXCP_SWI: {
        /* SVC: deliver a synchronous exception (EC 0x15, IL = 1) since Unicorn will not. */
        uint32_t imm = fetch_insn(iss, pc - 4, &insn) ? (insn >> 5) & 0xffffu : 0;
        uint64_t esr = (0x15ull << 26) | (1ull << 25) | imm;
        if (!enter_el1_exception(iss, 0x000, pc, true, esr))
            record_iss_error(iss, pc - 4, "SVC from EL0 (this ISS can only take exceptions from EL1)");
        else
            record_stop(iss, ISS_STOP_QUANTUM, pc); /* end the run; the next one starts at the vector */
        return;
    }
    case EXCP_UDEF:
        if (fetch_insn(iss, pc, &insn))
            snprintf(message, sizeof message, "undefined instruction 0x%08x", insn);
        else
            snprintf(message, sizeof message, "undefined instruction");
        record_iss_error(iss, pc, message);
        return;
    case EXCP_PREFETCH_ABORT:
        record_iss_error(iss, pc, "instruction abort (MMU fault) cannot be delivered by this ISS");
        return;
    case EXCP_DATA_ABORT:
        record_iss_error(iss, pc, "data abort (MMU or alignment fault) cannot be delivered by this ISS");
        return;
    default:
        snprintf(message, sizeof message, "exception %u cannot be delivered by this ISS", intno);
        record_iss_error(iss, pc, message);
        return;
    }
}

static uint32_t on_mrs(uc_engine *uc, uc_arm64_reg reg, const uc_arm64_cp_reg *cp, void *user) {
    iss_t *iss = user;
    bool is_counter =
        cp->op0 == 3 && cp->op1 == 3 && cp->crn == 14 && cp->crm == 0 && (cp->op2 == 1 || cp->op2 == 2);
    if (!is_counter)
        return 0; /* let Unicorn execute it */
    uint64_t ticks = iss->counter ? iss->counter(iss->counter_ctx) : iss_instruction_count(iss) / 16;
    uc_reg_write(uc, reg, &ticks);
    return 1;
}

iss_t *iss_create(char *err, size_t err_len) {
    iss_t *iss = calloc(1, sizeof *iss);
    uc_err uerr = UC_ERR_NOMEM;
    if (iss)
        uerr = uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &iss->uc);
    if (uerr != UC_ERR_OK) {
        if (err_len)
            snprintf(err, err_len, "cannot create the Unicorn engine: %s", uc_strerror(uerr));
        free(iss);
        return NULL;
    }
    uc_hook hook;
    uc_err h1 = uc_hook_add(iss->uc, &hook, UC_HOOK_CODE, (void *)on_code, iss, 1, 0);
    uc_err h2 = uc_hook_add(iss->uc, &hook, UC_HOOK_INTR, (void *)on_interrupt, iss, 1, 0);
    uc_err h3 = uc_hook_add(iss->uc, &hook, UC_HOOK_MEM_UNMAPPED, (void *)on_unmapped, iss, 1, 0);
    uc_err h4 = uc_hook_add(iss->uc, &hook, UC_HOOK_INSN, (void *)on_mrs, iss, 1, 0, UC_ARM64_INS_MRS);
    bool scr_ok = iss_set_sysreg(iss, ISS_SCR_EL3, SCR_EL3_RW | SCR_EL3_NS | SCR_EL3_HCE) &&
                  iss_set_sysreg(iss, ISS_HCR_EL2, HCR_EL2_RW);
    if (h1 || h2 || h3 || h4 || !scr_ok) {
        if (err_len)
            snprintf(err, err_len, "cannot set up the Unicorn engine (hooks or SCR_EL3)");
        iss_destroy(iss);
        return NULL;
    }
    iss_set_sysreg(iss, ISS_CNTFRQ_EL0, 62500000);
    return iss;
}

void iss_destroy(iss_t *iss) {
    if (!iss)
        return;
    uc_close(iss->uc);
    free(iss->scratch);
    free(iss);
}

int iss_map_ram(iss_t *iss, uint64_t base, uint64_t size, void *host) {
    if (iss->ram_count == MAX_RAM_REGIONS || (base | size) % PAGE_SIZE || size == 0 || !host)
        return -1;
    if (uc_mem_map_ptr(iss->uc, base, size, UC_PROT_ALL, host) != UC_ERR_OK)
        return -1;
    iss->ram[iss->ram_count++] = (struct ram_region){base, size, host};
    return 0;
}

int iss_add_ram_alias(iss_t *iss, uint64_t va, uint64_t pa, uint64_t size) {
    if ((va | pa | size) % PAGE_SIZE || size == 0)
        return -1;
    for (unsigned i = 0; i < iss->ram_count; i++) {
        const struct ram_region *r = &iss->ram[i];
        if (pa >= r->base && size <= r->size && pa - r->base <= r->size - size)
            return uc_mem_map_ptr(iss->uc, va, size, UC_PROT_ALL, r->host + (pa - r->base)) == UC_ERR_OK ? 0
                                                                                                         : -1;
    }
    return -1;
}

int iss_map_mmio(iss_t *iss, uint64_t base, uint64_t size, iss_mmio_read_fn read, iss_mmio_write_fn write,
                 void *ctx) {
    if (iss->mmio_count == MAX_MMIO_WINDOWS || (base | size) % PAGE_SIZE || size == 0 || !read || !write)
        return -1;
    struct mmio_window *w = &iss->mmio[iss->mmio_count];
    *w = (struct mmio_window){iss, base, size, read, write, ctx};
    if (uc_mmio_map(iss->uc, base, size, on_mmio_read, w, on_mmio_write, w) != UC_ERR_OK)
        return -1;
    iss->mmio_count++;
    return 0;
}

void iss_set_counter(iss_t *iss, iss_counter_fn counter, void *ctx) {
    iss->counter = counter;
    iss->counter_ctx = ctx;
}

iss_stop_reason iss_run(iss_t *iss, uint64_t max_insns, uint64_t *executed) {
    iss->run_limit = max_insns;
    iss->run_executed = 0;
    iss->stop_recorded = false;
    iss->stop_requested = false;
    iss->read_high_valid = false;
    iss->write_low_valid = false;
    uint64_t start_pc = reg_read(iss, UC_ARM64_REG_PC);
    uc_err err = UC_ERR_OK;
    if (max_insns > 0)
        err = uc_emu_start(iss->uc, start_pc, UINT64_MAX, 0, 0);
    flush_held_write(iss);
    uint64_t done = iss->run_executed;
    iss->retired += done;
    iss->run_executed = 0;
    iss->run_limit = 0;
    if (executed)
        *executed = done;
    if (!iss->stop_recorded) {
        uint64_t pc = reg_read(iss, UC_ARM64_REG_PC);
        uint32_t insn = 0;
        if (err != UC_ERR_OK) {
            char message[128];
            snprintf(message, sizeof message, "Unicorn stopped: %s", uc_strerror(err));
            record_iss_error(iss, pc, message);
        } else if (done < max_insns && fetch_insn(iss, pc - 4, &insn) && insn == INSN_WFI) {
            record_stop(iss, ISS_STOP_WFI, pc - 4);
        } else {
            record_stop(iss, ISS_STOP_QUANTUM, pc);
        }
    }
    return iss->stop_info.reason;
}

const iss_stop_info *iss_last_stop(const iss_t *iss) {
    return &iss->stop_info;
}

void iss_set_irq_pending(iss_t *iss, bool pending) {
    iss->irq_pending = pending;
}

/* Called from MMIO callbacks, in the middle of a translation block: a uc_emu_stop() there lets the rest of
 * the block run with every later MMIO access dropped (the stop is already recorded), which corrupts guest
 * state. The stop is taken in the code hook of the next instruction instead, which keeps that instruction
 * from executing, as for the quantum limit. */
void iss_request_stop(iss_t *iss) {
    iss->stop_requested = true;
    iss->run_limit = iss->run_executed;
}

uint64_t iss_instruction_count(const iss_t *iss) {
    return iss->retired + iss->run_executed;
}

uint64_t iss_get_x(iss_t *iss, unsigned n) {
    if (n > 30)
        return 0;
    return reg_read(iss, n == 29 ? UC_ARM64_REG_X29 : n == 30 ? UC_ARM64_REG_X30 : UC_ARM64_REG_X0 + (int)n);
}

void iss_set_x(iss_t *iss, unsigned n, uint64_t value) {
    if (n > 30)
        return;
    reg_write(iss, n == 29 ? UC_ARM64_REG_X29 : n == 30 ? UC_ARM64_REG_X30 : UC_ARM64_REG_X0 + (int)n, value);
}

uint64_t iss_get_pc(iss_t *iss) {
    return reg_read(iss, UC_ARM64_REG_PC);
}
void iss_set_pc(iss_t *iss, uint64_t pc) {
    reg_write(iss, UC_ARM64_REG_PC, pc);
}
uint64_t iss_get_sp(iss_t *iss) {
    return reg_read(iss, UC_ARM64_REG_SP);
}
void iss_set_sp(iss_t *iss, uint64_t sp) {
    reg_write(iss, UC_ARM64_REG_SP, sp);
}
uint32_t iss_get_pstate(iss_t *iss) {
    return (uint32_t)reg_read(iss, UC_ARM64_REG_PSTATE);
}
void iss_set_pstate(iss_t *iss, uint32_t pstate) {
    reg_write(iss, UC_ARM64_REG_PSTATE, pstate);
    /* A PSTATE write leaves Unicorn's cached translation flags (current EL, MMU regime) stale; a CP_REG write
     * rebuilds them, so rewrite a side-effect-free register with its own value. */
    uint64_t tpidr = 0;
    if (iss_get_sysreg(iss, ISS_TPIDR_EL0, &tpidr))
        iss_set_sysreg(iss, ISS_TPIDR_EL0, tpidr);
}

static uc_arm64_cp_reg cp_reg_of(uint32_t sysreg) {
    uc_arm64_cp_reg cp = {0};
    cp.op0 = (sysreg >> 16) & 3u;
    cp.op1 = (sysreg >> 12) & 7u;
    cp.crn = (sysreg >> 8) & 15u;
    cp.crm = (sysreg >> 4) & 15u;
    cp.op2 = sysreg & 7u;
    return cp;
}

bool iss_get_sysreg(iss_t *iss, uint32_t sysreg, uint64_t *value) {
    if (sysreg == ISS_SP_EL0 || sysreg == ISS_SP_EL1) {
        *value = reg_read(iss, sysreg == ISS_SP_EL0 ? UC_ARM64_REG_SP_EL0 : UC_ARM64_REG_SP_EL1);
        return true;
    }
    uc_arm64_cp_reg cp = cp_reg_of(sysreg);
    if (uc_reg_read(iss->uc, UC_ARM64_REG_CP_REG, &cp) != UC_ERR_OK)
        return false;
    *value = cp.val;
    return true;
}

bool iss_set_sysreg(iss_t *iss, uint32_t sysreg, uint64_t value) {
    if (sysreg == ISS_SP_EL0 || sysreg == ISS_SP_EL1) {
        reg_write(iss, sysreg == ISS_SP_EL0 ? UC_ARM64_REG_SP_EL0 : UC_ARM64_REG_SP_EL1, value);
        return true;
    }
    uc_arm64_cp_reg cp = cp_reg_of(sysreg);
    cp.val = value;
    return uc_reg_write(iss->uc, UC_ARM64_REG_CP_REG, &cp) == UC_ERR_OK;
}

bool iss_read_memory(iss_t *iss, uint64_t address, void *dst, size_t len) {
    return uc_mem_read(iss->uc, address, dst, len) == UC_ERR_OK;
}

bool iss_write_memory(iss_t *iss, uint64_t address, const void *src, size_t len) {
    return uc_mem_write(iss->uc, address, src, len) == UC_ERR_OK;
}

bool iss_take_irq(iss_t *iss) {
    if (iss_get_pstate(iss) & ISS_PSTATE_I)
        return false;
    return enter_el1_exception(iss, 0x080, iss_get_pc(iss), false, 0);
}

/* Builds the scratch area once: the four AT stubs and a TTBR1 table chain mapping SCRATCH_STUB_VA to the stub
 * page (read-only at EL1, so SCTLR_EL1.WXN cannot make it non-executable). */
static bool setup_scratch(iss_t *iss) {
    static const uint64_t candidates[] = {0xffffc000ull, 0xfffffc000ull, 0xfffffffc000ull};
    uint8_t *area = aligned_alloc(PAGE_SIZE, SCRATCH_PAGES * PAGE_SIZE);
    if (!area)
        return false;
    memset(area, 0, SCRATCH_PAGES * PAGE_SIZE);
    uint64_t pa = 0;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && !pa; i++)
        if (uc_mem_map_ptr(iss->uc, candidates[i], SCRATCH_PAGES * PAGE_SIZE, UC_PROT_ALL, area) == UC_ERR_OK)
            pa = candidates[i];
    /* Unicorn checks fetches against its own map at the VA too, so the stub page also appears there. */
    if (!pa || uc_mem_map_ptr(iss->uc, SCRATCH_STUB_VA, PAGE_SIZE, UC_PROT_ALL, area) != UC_ERR_OK) {
        if (pa)
            uc_mem_unmap(iss->uc, pa, SCRATCH_PAGES * PAGE_SIZE);
        free(area);
        return false;
    }
    /* Stub for kind k at offset 8k: AT <kind>, X0 (SYS #0, C7, C8, #k, X0); ISB. */
    for (uint32_t kind = 0; kind < 4; kind++) {
        uint32_t stub[2] = {0xd5087800u | (kind << 5), 0xd5033fdfu};
        memcpy(area + 8 * kind, stub, sizeof stub);
    }
    const uint64_t table = 3, page = 3, access_flag = 1ull << 10, inner_shareable = 3ull << 8,
                   el1_read_only = 2ull << 6;
    uint64_t l2 = pa + 2 * PAGE_SIZE, l3 = pa + 3 * PAGE_SIZE;
    uint64_t descriptors[3] = {l2 | table, l3 | table,
                               pa | access_flag | inner_shareable | el1_read_only | page};
    for (int level = 0; level < 3; level++)
        memcpy(area + (size_t)(level + 1) * PAGE_SIZE, &descriptors[level], 8); /* entry 0 of each level */
    iss->scratch = area;
    iss->scratch_pa = pa;
    return true;
}

bool iss_translate(iss_t *iss, uint64_t va, iss_at_kind kind, uint64_t *par) {
    if ((unsigned)kind > ISS_AT_S1E0W || ((va >> 55) & 1u))
        return false; /* TTBR1 is borrowed for the stub, so only TTBR0 addresses can be translated */
    if (ISS_PSTATE_EL(iss_get_pstate(iss)) != 1 || (!iss->scratch && !setup_scratch(iss)))
        return false;
    uint64_t sctlr = 0, tcr = 0, ttbr1 = 0;
    if (!iss_get_sysreg(iss, ISS_SCTLR_EL1, &sctlr) || !iss_get_sysreg(iss, ISS_TCR_EL1, &tcr) ||
        !iss_get_sysreg(iss, ISS_TTBR1_EL1, &ttbr1))
        return false;
    bool mmu_on = sctlr & 1u;
    /* Unicorn cannot change exception level from outside (its cached EL is only rebuilt by guest ERET), so
     * the stub runs at EL1 with the guest's own regime: TTBR1 temporarily maps the stub; TTBR0 stays
     * untouched. */
    const uint64_t ttbr1_fields =
        0x3f0000ull | (1ull << 23) | (0xffull << 24); /* T1SZ EPD1 IRGN1 ORGN1 SH1 TG1 */
    uint64_t stub_tcr =
        (tcr & ~ttbr1_fields) | (25ull << 16) | (1ull << 24) | (1ull << 26) | (3ull << 28) | (2ull << 30);
    uint64_t saved_pc = iss_get_pc(iss), saved_x0 = iss_get_x(iss, 0), saved_retired = iss->retired;
    iss_stop_info saved_stop = iss->stop_info;
    if (mmu_on) {
        iss_set_sysreg(iss, ISS_TTBR1_EL1, iss->scratch_pa + PAGE_SIZE);
        iss_set_sysreg(iss, ISS_TCR_EL1, stub_tcr);
    }
    iss_set_x(iss, 0, va);
    iss_set_pc(iss, (mmu_on ? SCRATCH_STUB_VA : iss->scratch_pa) + 8u * (unsigned)kind);
    uint64_t executed = 0;
    iss_stop_reason reason = iss_run(iss, 2, &executed);
    bool ok = reason == ISS_STOP_QUANTUM && executed == 2 && iss_get_sysreg(iss, ISS_PAR_EL1, par);
    if (mmu_on) {
        iss_set_sysreg(iss, ISS_TCR_EL1, tcr);
        iss_set_sysreg(iss, ISS_TTBR1_EL1, ttbr1);
    }
    iss_set_x(iss, 0, saved_x0);
    iss_set_pc(iss, saved_pc);
    iss->retired = saved_retired;
    iss->stop_info = saved_stop;
    return ok;
}
