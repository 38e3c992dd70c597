/* iss.h implemented with Unicorn 2.0.1 (Debian 12). Notes on this Unicorn version, found by experiment:
 * - It starts in Secure EL1 with SCR_EL3.RW = 0, so the MMU would walk AArch32 tables: we set SCR_EL3 to
 *   RW | NS | HCE (HCE makes HVC a call instead of UNDEFINED; NS because HVC is UNDEFINED in Secure EL1) and
 *   HCR_EL2.RW (once NS = 1, EL1 is AArch64 only if HCR_EL2.RW is set; otherwise ERET sets PSTATE.IL).
 * - It never enters the guest's vectors: HVC/SMC/SVC/UDEF reach the UC_HOOK_INTR callback with intno set to
 *   QEMU's EXCP_* value. We stop there (HVC/SMC) or emulate the exception entry ourselves (SVC, IRQ).
 * - A PC written from a hook (the SVC entry) makes Unicorn leave the block and go on at the new PC, and it
 *   cancels a uc_emu_stop() of the same hook: the engine runs on with the stop pending. So the SVC entry
 *   does not stop the run, and the block hook counts the SVC like any instruction ending a block.
 * - With the MMU on, every access and fetch is first checked against Unicorn's own map at the *virtual*
 *   address (on TLB misses and device accesses only), then goes to the physical address the guest's tables
 *   give; an unbacked physical address behind a VA that passed reads as 0, with no hook. Before the first run
 *   the physical space nothing backs is covered with placeholders (MMIO regions with no memory, whose
 *   callbacks report bus errors), so any VA below 2^48 passes and any unbacked PA is a bus error; a VA above
 *   (TTBR1) that the guest's tables map gets a placeholder from the unmapped hook (see on_unmapped). Aborts
 *   for VAs that do not translate, found by a small stage-1 walker, are reported as those bus errors.
 * - WFI makes uc_emu_start return early with no hook called; we notice that the block hook did not end the
 * run and that the previous instruction is WFI.
 * - 64-bit MMIO accesses reach the MMIO callbacks as two 32-bit halves, low half first. We decode the
 *   load/store that makes the access: if its element size is 8 bytes and the address is 8-byte aligned, the
 * low-half read performs one 64-bit read and keeps the high half for the second callback; the low-half write
 * is held back and sent as one 64-bit write together with the high half. Unaligned 64-bit MMIO stays two
 * 32-bit accesses.
 * - Instructions are counted per translation block (UC_HOOK_BLOCK; a block is straight-line code entered at
 * its first instruction). A per-instruction UC_HOOK_CODE, like Unicorn's own count option, makes the engine
 *   about 4x slower. A block hook that calls uc_emu_stop() keeps its block from executing, so runs end at
 * block boundaries: the first one at or past the budget, or after iss_request_stop(), or once a pending IRQ
 * can be taken. Without a code hook Unicorn does not keep the PC up to date inside a block (MMIO callbacks
 * see the block's first instruction), while the general registers are written back before every memory
 * access. So an MMIO access is matched to its instruction by decoding the block's loads and stores and
 * recomputing their addresses (see attribute_access); that instruction gives the 64-bit joining decision, the
 * PC of a bus error and an exact instruction count inside the block. */
#include "iss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>

enum {
    MAX_BLOCK_INSNS = 512, /* QEMU's limit on instructions per translation block */
    MAX_MMIO_WINDOWS = 16,
    MAX_RAM_REGIONS = 4,
    MAX_ALIASES = 32,
    MAX_PLACEHOLDERS = 256,
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
/* Physical addresses the MMU can produce (48-bit output addresses; no 52-bit support in Unicorn 2.0.1). */
#define PA_LIMIT (UINT64_C(1) << 48)

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

/* An address range Unicorn must see as mapped so that its check of VAs against its own map passes. */
struct placeholder {
    iss_t *iss;
    uint64_t base;
    uint64_t size;
};

struct iss {
    uc_engine *uc;
    struct mmio_window mmio[MAX_MMIO_WINDOWS];
    unsigned mmio_count;
    struct ram_region ram[MAX_RAM_REGIONS];
    unsigned ram_count;
    struct ram_region alias[MAX_ALIASES]; /* base: the alias's own address, host: the RAM behind it */
    unsigned alias_count;
    struct placeholder placeholder[MAX_PLACEHOLDERS];
    unsigned placeholder_count;
    uint8_t *scratch;
    uint64_t scratch_pa;
    iss_counter_fn counter;
    void *counter_ctx;

    bool irq_pending;      /* stop at the first instruction boundary with PSTATE.I clear */
    uint64_t retired;      /* instructions of completed runs */
    uint64_t run_limit;    /* budget of the run in progress */
    uint64_t run_executed; /* instructions of the run in progress before the current block */
    bool running;
    bool budget_spent;           /* the block hook ended the run on the budget */
    bool stop_recorded;          /* stop_info describes why the run in progress ends */
    bool stop_requested;         /* iss_request_stop() was called: stop at the next block boundary */
    bool physical_space_covered; /* cover_unbacked_physical_space() has run */

    /* The block being executed and the attribution of its MMIO accesses to instructions. */
    uint64_t block_pc;
    uint32_t block_insns;
    bool block_words_valid;
    uint32_t block_words[MAX_BLOCK_INSNS];
    uint32_t access_insn;     /* index of the instruction of the last MMIO access in this block, or NO_INSN */
    uint64_t access_next_off; /* that instruction's next byte offset (multi-access instructions) */
    uint32_t counter_insn_next; /* where to look for the next counter read (MRS) in this block */
    uint64_t access_pc; /* PC of the MMIO access or counter read in progress (while access_pc_valid) */
    uint64_t attribution_guesses;
    bool access_pc_valid;
    iss_stop_info stop_info;

    /* Debugger breakpoints: one code hook each, so the hot path pays nothing while there are none. */
    uint64_t breakpoint_va[ISS_MAX_BREAKPOINTS];
    uc_hook breakpoint_hook[ISS_MAX_BREAKPOINTS];
    unsigned breakpoint_count;
    uint64_t run_start_pc;
    bool left_run_start; /* a breakpoint hook has seen the run's first instruction go by */
    bool single_step;
    uc_hook step_hook;
    unsigned step_seen; /* instructions the step hook saw in this run */

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

/* Returns false if an earlier stop stands. */
static bool record_bus_error(iss_t *iss, uint64_t pc, uint64_t address, unsigned size, iss_access access,
                             bool unmapped) {
    if (iss->stop_recorded)
        return false;
    record_stop(iss, ISS_STOP_BUS_ERROR, pc);
    iss->stop_info.address = address;
    iss->stop_info.size = size;
    iss->stop_info.access = access;
    iss->stop_info.unmapped = unmapped;
    return true;
}

static void record_iss_error(iss_t *iss, uint64_t pc, const char *message) {
    if (iss->stop_recorded)
        return;
    record_stop(iss, ISS_STOP_ISS_ERROR, pc);
    snprintf(iss->stop_info.message, sizeof iss->stop_info.message, "%s", message);
}

/* ---- Stage-1 translation (VA != PA) ---- */

typedef enum va_kind {
    VA_FLAT,       /* MMU off: the address is physical */
    VA_TRANSLATED, /* the guest's tables map it */
    VA_FAULT,      /* the guest's tables do not map it */
} va_kind;

/* Host memory behind [pa, pa + len) if it is all RAM (or an alias of it), else NULL. */
static uint8_t *ram_host(const iss_t *iss, uint64_t pa, uint64_t len) {
    for (unsigned i = 0; i < iss->ram_count + iss->alias_count; i++) {
        const struct ram_region *r = i < iss->ram_count ? &iss->ram[i] : &iss->alias[i - iss->ram_count];
        if (pa >= r->base && len <= r->size && pa - r->base <= r->size - len)
            return r->host + (pa - r->base);
    }
    return NULL;
}

static bool pa_backed(const iss_t *iss, uint64_t pa) {
    for (unsigned w = 0; w < iss->mmio_count; w++)
        if (pa >= iss->mmio[w].base && pa - iss->mmio[w].base < iss->mmio[w].size)
            return true;
    return ram_host(iss, pa, 1) != NULL;
}

/* The EL1&0 stage-1 regime, read once for several walks. */
typedef struct s1_regime {
    bool mmu_on;
    uint64_t tcr;
    uint64_t ttbr[2];
} s1_regime;

static void load_regime(iss_t *iss, s1_regime *r) {
    uint64_t sctlr = 0;
    memset(r, 0, sizeof *r);
    r->mmu_on = iss_get_sysreg(iss, ISS_SCTLR_EL1, &sctlr) && (sctlr & 1u);
    if (r->mmu_on) {
        iss_get_sysreg(iss, ISS_TCR_EL1, &r->tcr);
        iss_get_sysreg(iss, ISS_TTBR0_EL1, &r->ttbr[0]);
        iss_get_sysreg(iss, ISS_TTBR1_EL1, &r->ttbr[1]);
    }
}

/* Walks the stage-1 tables the way the MMU does (TTBR0/TTBR1 by bit 55, TxSZ, TBI, EPD, 4/16/64 KiB granules,
 * table/block/page descriptors), reading them from guest RAM. Permissions and the access flag are left to
 * the MMU itself: this only has to say whether some physical address lies behind the VA. */
static va_kind walk_va(const iss_t *iss, const s1_regime *r, uint64_t va, uint64_t *pa) {
    *pa = va;
    if (!r->mmu_on)
        return VA_FLAT;
    const bool upper = (va >> 55) & 1u;
    const uint64_t tcr = r->tcr;
    unsigned tsz = (unsigned)(upper ? tcr >> 16 : tcr) & 63u;
    const bool tbi = (tcr >> (upper ? 38 : 37)) & 1u;
    const bool epd = (tcr >> (upper ? 23 : 7)) & 1u;
    const unsigned tg = (unsigned)(upper ? tcr >> 30 : tcr >> 14) & 3u;
    /* TG0 and TG1 encode the granules differently; reserved values mean 4 KiB, as in QEMU. */
    const unsigned granule = upper ? (tg == 1 ? 14 : tg == 3 ? 16 : 12) : (tg == 2 ? 14 : tg == 1 ? 16 : 12);
    tsz = tsz < 16 ? 16 : tsz > 39 ? 39 : tsz; /* the limits QEMU (Unicorn's core) applies */
    const unsigned va_bits = 64 - tsz, top = tbi ? 56 : 64;
    const uint64_t high_mask = (UINT64_C(1) << (top - va_bits)) - 1;
    if (epd || ((va >> va_bits) & high_mask) != (upper ? high_mask : 0))
        return VA_FAULT;
    const unsigned stride = granule - 3;
    const uint64_t oa_mask = ((UINT64_C(1) << 48) - 1) & ~((UINT64_C(1) << granule) - 1);
    const unsigned start = 3 - (va_bits - 1 - granule) / stride;
    uint64_t table = r->ttbr[upper] & ((UINT64_C(1) << 48) - 2); /* BADDR; bit 0 is CnP */
    for (unsigned level = start; level <= 3; level++) {
        const unsigned shift = granule + stride * (3 - level);
        const unsigned bits = level == start ? va_bits - shift : stride;
        const uint64_t index = (va >> shift) & ((UINT64_C(1) << bits) - 1);
        const uint8_t *host = ram_host(iss, (table | index << 3) & ~UINT64_C(7), 8);
        uint64_t descriptor = 0;
        if (!host)
            return VA_FAULT;
        memcpy(&descriptor, host, 8); /* the host is little-endian like the guest */
        if (!(descriptor & 1u) || (level == 3 && !(descriptor & 2u)))
            return VA_FAULT;
        if (level < 3 && (descriptor & 2u)) {
            table = descriptor & oa_mask;
            continue;
        }
        if (level == 0)
            return VA_FAULT; /* no level-0 blocks without 52-bit addresses */
        const uint64_t offset_mask = (UINT64_C(1) << shift) - 1;
        *pa = (descriptor & oa_mask & ~offset_mask) | (va & offset_mask);
        return VA_TRANSLATED;
    }
    return VA_FAULT;
}

static va_kind translate_va(iss_t *iss, uint64_t va, uint64_t *pa) {
    s1_regime r;
    load_regime(iss, &r);
    return walk_va(iss, &r, va, pa);
}

/* Guest RAM as the CPU sees it at `va` (through the guest's tables when the MMU is on). The ISS reads
 * instructions this way, not with uc_mem_read() at the VA, which may be a placeholder or other memory. */
static bool read_va(iss_t *iss, uint64_t va, void *dst, size_t len) {
    uint8_t *out = dst;
    s1_regime r;
    load_regime(iss, &r);
    while (len > 0) {
        uint64_t pa;
        if (walk_va(iss, &r, va, &pa) == VA_FAULT)
            return false;
        size_t chunk = PAGE_SIZE - (size_t)(va & (PAGE_SIZE - 1));
        chunk = chunk < len ? chunk : len;
        const uint8_t *host = ram_host(iss, pa, chunk);
        if (!host)
            return false;
        memcpy(out, host, chunk);
        out += chunk;
        va += chunk;
        len -= chunk;
    }
    return true;
}

static bool fetch_insn(iss_t *iss, uint64_t pc, uint32_t *insn) {
    return read_va(iss, pc, insn, sizeof *insn);
}

/* ---- MMIO access attribution ---- */

#define NO_INSN UINT32_MAX

/* What a load/store instruction accesses, as far as its encoding and the current registers tell. */
typedef struct ls_access {
    bool reads, writes;
    bool address_known; /* false: some address this decoder does not compute (matches any access) */
    uint64_t address;
    uint64_t bytes;        /* span of all its accesses from `address` */
    unsigned element_size; /* bytes per general-purpose register transferred (0 for SIMD/FP) */
    uint32_t address_regs; /* X registers its address comes from (bit n; bit 31 = SP) */
} ls_access;

static uint64_t gpr_or_zero(iss_t *iss, unsigned n) {
    return n == 31 ? 0 : iss_get_x(iss, n);
}

static uint64_t base_register(iss_t *iss, uint32_t insn) {
    unsigned n = (insn >> 5) & 31u;
    return n == 31 ? reg_read(iss, UC_ARM64_REG_SP) : iss_get_x(iss, n);
}

static int64_t sign_extend(uint64_t value, unsigned bits) {
    uint64_t m = UINT64_C(1) << (bits - 1);
    return (int64_t)((value ^ m) - m);
}

static unsigned log2_of(uint64_t v) {
    unsigned l = 0;
    while (v > 1) {
        v >>= 1;
        l++;
    }
    return l;
}

/* Decodes the A64 "loads and stores" group. Returns false for anything that accesses no memory. */
static bool decode_load_store_kind(iss_t *iss, uint32_t insn, uint64_t pc, ls_access *a);

static bool decode_load_store(iss_t *iss, uint32_t insn, uint64_t pc, ls_access *a) {
    if (!decode_load_store_kind(iss, insn, pc, a))
        return false;
    const unsigned op0 = insn >> 28, op2 = (insn >> 23) & 3u;
    bool literal = (op0 & 3u) == 1 && !(op2 & 2u);
    if (!literal)
        a->address_regs = 1u << ((insn >> 5) & 31u);
    bool register_offset = (op0 & 3u) == 3 && !(op2 & 2u) && ((insn >> 21) & 1u) && ((insn >> 10) & 3u) == 2;
    if (register_offset && ((insn >> 16) & 31u) != 31)
        a->address_regs |= 1u << ((insn >> 16) & 31u);
    return true;
}

/* General-purpose registers (bit n) a plain load writes with the data it loads; 0 for anything else. */
static uint32_t loaded_registers(uint32_t insn) {
    if ((insn & 0x0a000000u) != 0x08000000u || ((insn >> 26) & 1u))
        return 0; /* not a load/store, or SIMD/FP registers */
    const unsigned op0 = insn >> 28, op2 = (insn >> 23) & 3u, rt = insn & 31u, rt2 = (insn >> 10) & 31u;
    uint32_t mask = rt == 31 ? 0 : 1u << rt;
    if ((op0 & 3u) == 2) /* pairs */
        return ((insn >> 22) & 1u) ? mask | (rt2 == 31 ? 0 : 1u << rt2) : 0;
    if ((op0 & 3u) == 1 && !(op2 & 2u)) /* literal: PRFM aside, a load */
        return (insn >> 30) == 3 ? 0 : mask;
    if ((op0 & 3u) == 3) {
        unsigned opc = (insn >> 22) & 3u, op4 = (insn >> 10) & 3u;
        bool atomic = !(op2 & 2u) && ((insn >> 21) & 1u) && op4 != 2;
        bool prfm = (insn >> 30) == 3 && opc == 2;
        return opc != 0 && !atomic && !prfm ? mask : 0;
    }
    return 0;
}

static bool decode_load_store_kind(iss_t *iss, uint32_t insn, uint64_t pc, ls_access *a) {
    if ((insn & 0x0a000000u) != 0x08000000u)
        return false;
    memset(a, 0, sizeof *a);
    const bool simd = (insn >> 26) & 1u;
    const unsigned op0 = insn >> 28, op2 = (insn >> 23) & 3u, size = insn >> 30;
    if ((op0 & 3u) == 0 && simd) {
        /* SIMD structure loads/stores (LD1..LD4, ST1..ST4): at most four 16-byte registers from Xn|SP. */
        bool load = (insn >> 22) & 1u;
        a->reads = load;
        a->writes = !load;
        a->address_known = true;
        a->address = base_register(iss, insn);
        a->bytes = 64;
        return true;
    }
    if ((op0 & 3u) == 0 && !simd && !(op2 & 2u)) {
        /* Exclusives, load-acquire/store-release, compare-and-swap (pairs too): Xn|SP, two elements at most.
         */
        a->reads = a->writes = true;
        a->address_known = true;
        a->address = base_register(iss, insn);
        a->bytes = 2u << size;
        a->element_size = 1u << size;
        return true;
    }
    if ((op0 & 3u) == 1 && !(op2 & 2u)) {
        /* Load register (literal): PC-relative; opc 11 with a GPR is PRFM. */
        unsigned opc = insn >> 30;
        if (!simd && opc == 3)
            return false;
        a->reads = true;
        a->address_known = true;
        a->address = pc + (uint64_t)(sign_extend((insn >> 5) & 0x7ffffu, 19) * 4);
        a->bytes = simd ? 4u << opc : (opc == 1 ? 8u : 4u);
        a->element_size = simd ? 0 : (opc == 1 ? 8u : 4u);
        return true;
    }
    if ((op0 & 3u) == 1 && (op2 & 2u) && !((insn >> 21) & 1u) && ((insn >> 10) & 3u) == 0) {
        /* RCpc unscaled immediate (LDAPUR/STLUR). */
        unsigned opc = (insn >> 22) & 3u;
        a->reads = opc != 0;
        a->writes = opc == 0;
        a->address_known = true;
        a->address = base_register(iss, insn) + (uint64_t)sign_extend((insn >> 12) & 0x1ffu, 9);
        a->bytes = 1u << size;
        a->element_size = 1u << size;
        return true;
    }
    if ((op0 & 3u) == 2) {
        /* Load/store pair: offset (00 no-allocate, 10), post-index (01), pre-index (11). */
        unsigned opc = insn >> 30;
        unsigned elem = simd ? 4u << opc : (opc == 2 ? 8u : 4u);
        bool load = (insn >> 22) & 1u;
        a->reads = load;
        a->writes = !load;
        a->address_known = true;
        a->address = base_register(iss, insn);
        if (op2 != 1)
            a->address += (uint64_t)(sign_extend((insn >> 15) & 0x7fu, 7) * (int64_t)elem);
        a->bytes = 2u * elem;
        a->element_size = simd ? 0 : elem;
        return true;
    }
    if ((op0 & 3u) == 3) {
        unsigned opc = (insn >> 22) & 3u;
        uint64_t bytes = (simd && size == 0 && (opc & 2u)) ? 16 : 1u << size;
        bool load = simd ? (opc & 1u) : (opc != 0);
        if (!simd && size == 3 && opc == 2)
            return false; /* PRFM */
        a->reads = load;
        a->writes = !load;
        a->bytes = bytes;
        a->element_size = simd ? 0 : (unsigned)bytes;
        a->address_known = true;
        uint64_t base = base_register(iss, insn);
        if (op2 & 2u) { /* unsigned immediate, scaled */
            a->address = base + (((insn >> 10) & 0xfffu) << log2_of(bytes));
            return true;
        }
        unsigned op4 = (insn >> 10) & 3u;
        if (!((insn >> 21) & 1u)) { /* unscaled, post-index, unprivileged, pre-index */
            a->address = op4 == 1 ? base : base + (uint64_t)sign_extend((insn >> 12) & 0x1ffu, 9);
            return true;
        }
        if (op4 == 2) { /* register offset */
            uint64_t m = gpr_or_zero(iss, (insn >> 16) & 31u);
            unsigned option = (insn >> 13) & 7u;
            if (option == 2)
                m = (uint32_t)m;
            else if (option == 6)
                m = (uint64_t)(int64_t)(int32_t)m;
            unsigned shift = ((insn >> 12) & 1u) ? log2_of(bytes) : 0;
            a->address = base + (m << shift);
            return true;
        }
        /* Atomic memory operations (op4 00) and pointer-authenticated loads (op4 x1). */
        a->reads = true;
        a->writes = op4 == 0;
        a->address = base;
        a->address_known = op4 == 0;
        return true;
    }
    /* Memory tagging and anything else in the group: address not computed here. */
    a->reads = a->writes = true;
    a->bytes = 16;
    return true;
}

static bool load_block_words(iss_t *iss) {
    if (iss->block_words_valid)
        return true;
    if (iss->block_insns == 0 || iss->block_insns > MAX_BLOCK_INSNS ||
        !read_va(iss, iss->block_pc, iss->block_words, 4u * iss->block_insns))
        return false;
    iss->block_words_valid = true;
    return true;
}

/* Where the access [address, address + size) ends relative to the candidate's address, or INT64_MIN if the
 * two do not overlap. Unicorn splits a misaligned device access into aligned words around it, so an access
 * may start before the instruction's address. `exact` compares whole addresses; otherwise only page offsets
 * (the candidate's address is a VA, the access's a PA). */
static int64_t overlap_end(const ls_access *a, uint64_t address, unsigned size, bool exact) {
    /* A misaligned access reaches the callbacks as the naturally aligned 8-byte words around it. */
    uint64_t lo = a->address, hi = a->address + a->bytes;
    if (a->element_size > 1 && (a->address & (a->element_size - 1u)) != 0) {
        lo &= ~UINT64_C(7);
        hi = (hi + 7) & ~UINT64_C(7);
    }
    int64_t start = (int64_t)(address - lo);
    if (!exact) {
        start &= 0xfff;
        if (start >= 0x800)
            start -= 0x1000;
    }
    if (start >= (int64_t)(hi - lo) || start + (int64_t)size <= 0)
        return INT64_MIN;
    return start + (int64_t)size;
}

/* The instruction an MMIO access belongs to. */
typedef struct access_owner {
    uint64_t pc;
    unsigned element_size; /* general-purpose element size, 0 if unknown or SIMD */
    bool misaligned;       /* its first access, and its address is not a multiple of element_size */
} access_owner;

/* Finds the instruction of the current block that makes this MMIO access (to physical `address`).
 * Instructions run in order and the registers are up to date, so the first load/store at or after the
 * previous MMIO access's instruction whose address range overlaps the access is the one; the previous
 * instruction itself only continues (the second half of a split 64-bit access, the second register of a
 * pair, the next word of a split misaligned access). */
static bool candidate_matches(iss_t *iss, const s1_regime *regime, uint32_t i, uint64_t address,
                              unsigned size, bool write, bool exact, ls_access *a, int64_t *end) {
    uint64_t pc = iss->block_pc + 4u * i;
    if (!decode_load_store(iss, iss->block_words[i], pc, a) || (write ? !a->writes : !a->reads) ||
        !a->address_known)
        return false;
    /* The access comes with its physical address: compare it with the instruction's, through the tables. */
    uint64_t pa;
    if (exact && regime->mmu_on) {
        if (walk_va(iss, regime, a->address, &pa) != VA_TRANSLATED)
            return false;
        a->address = pa;
    }
    /* Unicorn hands an aligned access to the callbacks as one piece of the element's size, 8-byte elements as
     * two 4-byte halves: a piece of another size comes from another instruction. */
    bool aligned = a->element_size == 0 || (a->address & (a->element_size - 1u)) == 0;
    if (aligned && a->element_size != 0 && size != (a->element_size == 8 ? 4u : a->element_size))
        return false;
    *end = overlap_end(a, address, size, exact);
    if (*end == INT64_MIN)
        return false;
    /* The previous access's instruction only continues where that access ended (the second half of a split
     * 8-byte access, a pair's second element, the next word of a split misaligned access). */
    return i != iss->access_insn || *end - (int64_t)size >= (int64_t)iss->access_next_off;
}

/* X registers (bit n; bit 31 = SP) an instruction may write. An over-approximation, used only to tell whether
 * the address registers of an earlier load/store may have changed since it ran. */
static uint32_t written_registers(uint32_t insn) {
    const uint32_t rt = 1u << (insn & 31u);
    if ((insn & 0x1c000000u) == 0x14000000u) { /* branches, exception generation, system */
        if ((insn & 0xfc000000u) == 0x94000000u || (insn & 0xfffff800u) == 0xd63f0000u ||
            (insn & 0xfffff800u) == 0xd63f0800u)
            return 1u << 30; /* BL, BLR, BLRAA/BLRAB... */
        if ((insn & 0xffe00000u) == 0xd5200000u)
            return rt; /* MRS, SYSL */
        return 0;
    }
    if ((insn & 0x0a000000u) == 0x08000000u) { /* loads and stores */
        const bool simd = (insn >> 26) & 1u;
        const unsigned op0 = insn >> 28, op2 = (insn >> 23) & 3u;
        const uint32_t rn = 1u << ((insn >> 5) & 31u), rt2 = 1u << ((insn >> 10) & 31u);
        const uint32_t rs = 1u << ((insn >> 16) & 31u);
        if ((op0 & 3u) == 0)
            return simd ? ((insn >> 23) & 1u ? rn : 0) : rt | rt2 | rs; /* SIMD structures; exclusives, CAS */
        bool load = (insn >> 22) & 1u;
        if ((op0 & 3u) == 2) /* pairs; post- and pre-index write the base back */
            return (load && !simd ? rt | rt2 : 0) | (op2 == 1 || op2 == 3 ? rn : 0);
        if ((op0 & 3u) == 1)
            return simd ? 0 : rt; /* literal loads, RCpc */
        unsigned opc = (insn >> 22) & 3u, op4 = (insn >> 10) & 3u;
        bool gpr_load = !simd && opc != 0;
        bool writeback = !(op2 & 2u) && !((insn >> 21) & 1u) && (op4 == 1 || op4 == 3);
        bool atomic = !(op2 & 2u) && ((insn >> 21) & 1u) && op4 != 2;
        return (gpr_load || atomic ? rt : 0) | (writeback || (atomic && op4 != 0) ? rn : 0);
    }
    return rt; /* data processing writes Rd (bits [4:0]); SIMD/FP counted as if it did too */
}

/* Whether instruction `insn`, if it ran, would have left register `r` with the value it holds now: 1 yes, 0
 * no (or it does not write r), -1 cannot tell. Only the instructions that give a register a value computed
 * from others (MOVZ, MOVN, MOV register, ADD/SUB immediate from another register) can tell. */
static int ran_and_left(iss_t *iss, uint32_t insn, unsigned r) {
    if (!(written_registers(insn) & (1u << r)))
        return 0; /* does not write r: no evidence either way, nothing to doubt */
    if ((insn & 31u) != r || r == 31)
        return -1;
    bool x = insn >> 31;
    uint64_t now = iss_get_x(iss, r), want;
    if ((insn & 0x7f800000u) == 0x52800000u || (insn & 0x7f800000u) == 0x12800000u) { /* MOVZ, MOVN */
        uint64_t imm = (uint64_t)((insn >> 5) & 0xffffu) << (16 * ((insn >> 21) & 3u));
        want = (insn & 0x40000000u) ? imm : ~imm;     /* bit 30: MOVZ */
    } else if ((insn & 0x7fe0ffe0u) == 0x2a0003e0u) { /* ORR Rd, ZR, Rm (MOV register) */
        unsigned m = (insn >> 16) & 31u;
        want = m == 31 ? 0 : iss_get_x(iss, m);
    } else if ((insn & 0x1f800000u) == 0x11000000u && ((insn >> 5) & 31u) != r) { /* ADD/SUB imm, Rn != Rd */
        unsigned n = (insn >> 5) & 31u;
        uint64_t imm = (uint64_t)((insn >> 10) & 0xfffu) << (((insn >> 22) & 1u) ? 12 : 0);
        uint64_t base = n == 31 ? reg_read(iss, UC_ARM64_REG_SP) : iss_get_x(iss, n);
        want = (insn & 0x40000000u) ? base - imm : base + imm;
    } else if ((insn & 0x1f200000u) == 0x0b000000u && ((insn >> 5) & 31u) != r && ((insn >> 16) & 31u) != r &&
               ((insn >> 22) & 3u) != 3) { /* ADD/SUB (shifted register), Rd not a source */
        unsigned n = (insn >> 5) & 31u, m = (insn >> 16) & 31u, amount = (insn >> 10) & 63u;
        uint64_t vn = n == 31 ? 0 : iss_get_x(iss, n), vm = m == 31 ? 0 : iss_get_x(iss, m);
        if (!x) {
            vn = (uint32_t)vn;
            vm = (uint32_t)vm;
        }
        switch ((insn >> 22) & 3u) {
        case 0:
            vm <<= amount;
            break;
        case 1:
            vm >>= amount;
            break;
        default:
            vm = x ? (uint64_t)((int64_t)vm >> amount) : (uint64_t)(uint32_t)((int32_t)vm >> amount);
            break;
        }
        want = (insn & 0x40000000u) ? vn - vm : vn + vm;
    } else {
        return -1;
    }
    if (!x)
        want = (uint32_t)want;
    return now == want ? 1 : 0;
}

/* Whether load/store `i` (address registers `regs`) should be taken as having run before a later match `k`,
 * its address recomputed from today's registers then meaning nothing: it loads into one of its own address
 * registers (`ldr x0, [x0]`, how drivers fetch a device base before `add` and the device access), or an
 * instruction between the two that gives one of those registers a value of its own has visibly run. Otherwise
 * `i`, the earlier instruction, is the one in progress. */
static bool in_mmio_window(const iss_t *iss, uint64_t address) {
    for (unsigned w = 0; w < iss->mmio_count; w++)
        if (address >= iss->mmio[w].base && address - iss->mmio[w].base < iss->mmio[w].size)
            return true;
    return false;
}

static bool ran_before(iss_t *iss, const s1_regime *regime, uint32_t i, uint32_t regs, uint32_t k,
                       bool *unsure) {
    if (loaded_registers(iss->block_words[i]) & regs)
        return true;
    bool doubt = false, only_steps = true;
    int64_t step = 0; /* what self-incrementing writers (`add x2, x2, #4`) added to the address since `i` */
    for (uint32_t m = i + 1; m < k; m++) {
        const uint32_t insn = iss->block_words[m];
        for (unsigned r = 0; r < 31; r++) {
            if (!(regs & (1u << r)))
                continue;
            int ran = ran_and_left(iss, insn, r);
            if (ran == 1)
                return true;
            if (ran == 0)
                continue;
            doubt = true;
            bool self_step = (insn & 0x1f800000u) == 0x11000000u && (insn & 31u) == r &&
                             ((insn >> 5) & 31u) == r && (insn >> 31);
            if (self_step) {
                int64_t imm = (int64_t)(((insn >> 10) & 0xfffu) << (((insn >> 22) & 1u) ? 12 : 0));
                step += (insn & 0x40000000u) ? -imm : imm;
            } else {
                only_steps = false;
            }
        }
    }
    if (doubt && only_steps && step != 0 && !(regs & (regs - 1u))) {
        /* Had `i` run, it would have accessed its address minus the steps: a device address there would have
         * reached the callbacks and been matched to it already. It has not, so it is still in progress. */
        ls_access a;
        uint64_t earlier = 0;
        if (decode_load_store(iss, iss->block_words[i], iss->block_pc + 4u * i, &a) && a.address_known &&
            walk_va(iss, regime, a.address - (uint64_t)step, &earlier) != VA_FAULT &&
            in_mmio_window(iss, earlier) && (iss->access_insn == NO_INSN || i > iss->access_insn))
            doubt = false;
    }
    *unsure |= doubt; /* a write we cannot evaluate: `i` may have run before all the same */
    return false;
}

static access_owner attribute_access(iss_t *iss, uint64_t address, unsigned size, bool write) {
    access_owner owner = {iss->block_pc, 0, false};
    if (!load_block_words(iss))
        return owner;
    const uint32_t first = iss->access_insn == NO_INSN ? 0 : iss->access_insn;
    uint32_t found = NO_INSN;
    int64_t found_end = 0;
    bool ambiguous = false, guess = false;
    ls_access a, best = {0};
    int64_t end;
    s1_regime regime;
    load_regime(iss, &regime);
    /* The previous access's instruction continuing comes first: Unicorn delivers the pieces of one access
     * back to back. */
    if (iss->access_insn != NO_INSN &&
        (candidate_matches(iss, &regime, iss->access_insn, address, size, write, true, &a, &end) ||
         candidate_matches(iss, &regime, iss->access_insn, address, size, write, false, &a, &end))) {
        found = iss->access_insn;
        found_end = end;
        best = a;
    }
    for (int pass = 0; pass < 2 && found == NO_INSN; pass++) {
        const bool exact = pass == 0;
        for (uint32_t k = first; k < iss->block_insns; k++) {
            if (!candidate_matches(iss, &regime, k, address, size, write, exact, &a, &end))
                continue;
            if (found == NO_INSN) {
                found = k;
                found_end = end;
                best = a;
                continue;
            }
            /* A later match too. The earlier one is the access's instruction unless it must have run already
             * (its address, recomputed now, is then stale); either way the attribution is not certain. */
            ambiguous = true;
            if (!ran_before(iss, &regime, found, best.address_regs, k, &guess))
                break;
            found = k;
            found_end = end;
            best = a;
        }
    }
    if (found == NO_INSN) {
        /* No address matched: an instruction whose address this decoder does not compute. */
        for (uint32_t i = first; i < iss->block_insns && found == NO_INSN; i++)
            if (i != iss->access_insn && decode_load_store(iss, iss->block_words[i], 0, &a) &&
                !a.address_known && (write ? a.writes : a.reads))
                found = i;
        if (found == NO_INSN) {
            if (iss->access_insn != NO_INSN)
                owner.pc = iss->block_pc + 4u * iss->access_insn;
            return owner;
        }
        found_end = size;
        ambiguous = guess = true;
        best.element_size = 0;
        best.address = address;
    }
    if (guess)
        iss->attribution_guesses++;
    owner.element_size = best.element_size;
    owner.misaligned = !ambiguous && found != iss->access_insn && best.element_size > 1 &&
                       (best.address & (best.element_size - 1u)) != 0; /* fault only where certain */
    iss->access_insn = found;
    iss->access_next_off = (uint64_t)found_end;
    owner.pc = iss->block_pc + 4u * found;
    return owner;
}

static bool mmio_do_write(struct mmio_window *w, uint64_t pc, uint64_t address, unsigned size,
                          uint64_t value) {
    if (!w->write(w->ctx, address, size, value)) {
        record_bus_error(w->iss, pc, address, size, ISS_ACCESS_WRITE, false);
        return false;
    }
    return true;
}

static void flush_held_write(iss_t *iss) {
    if (!iss->write_low_valid)
        return;
    iss->write_low_valid = false;
    iss->access_pc = iss->write_low_pc;
    mmio_do_write(iss->write_low_window, iss->write_low_pc, iss->write_low_address, 4, iss->write_low_value);
}

/* The instruction of an MMIO access, made current for iss_instruction_count() and bus errors. Returns true if
 * this is the low half of a naturally aligned 64-bit general-purpose access. MMIO windows are Device memory,
 * where a misaligned access is an alignment fault: this ISS cannot deliver it, so it ends the run. */
static bool begin_access(iss_t *iss, uint64_t address, unsigned size, bool write, bool *faulted) {
    access_owner owner = attribute_access(iss, address, size, write);
    iss->access_pc = owner.pc;
    iss->access_pc_valid = true;
    *faulted = owner.misaligned;
    if (owner.misaligned) {
        char message[128];
        snprintf(message, sizeof message,
                 "misaligned %u-byte %s of device memory near 0x%llx (alignment fault)", owner.element_size,
                 write ? "write" : "read", (unsigned long long)address);
        record_iss_error(iss, owner.pc, message);
    }
    return size == 4 && (address & 7u) == 0 && owner.element_size == 8;
}

static void record_unmapped(iss_t *iss, uint64_t pc, uint64_t address, unsigned size, iss_access access,
                            const char *why);

/* Unicorn translates code at a VA that the guest maps to a device by reading the instruction through the
 * device's callbacks, before the block starts (the PC is its address then). No data read can hit the
 * physical address of the PC, so such a read is that fetch: a bus error that the device must not see. */
static bool fetch_from_device(iss_t *iss, uint64_t address) {
    const uint64_t pc = reg_read(iss, UC_ARM64_REG_PC);
    uint64_t pa;
    if (translate_va(iss, pc, &pa) == VA_FAULT || pa != address)
        return false;
    char why[sizeof iss->stop_info.message];
    snprintf(why, sizeof why, "VA 0x%llx translates to PA 0x%llx, where there is no RAM to fetch from",
             (unsigned long long)pc, (unsigned long long)pa);
    record_unmapped(iss, pc, pc, 4, ISS_ACCESS_FETCH, why);
    return true;
}

static uint64_t on_mmio_read(uc_engine *uc, uint64_t offset, unsigned size, void *user) {
    (void)uc;
    struct mmio_window *w = user;
    iss_t *iss = w->iss;
    if (iss->stop_recorded)
        return 0;
    uint64_t address = w->base + offset;
    if (size == 4 && ((address ^ reg_read(iss, UC_ARM64_REG_PC)) & (PAGE_SIZE - 1)) == 0 &&
        fetch_from_device(iss, address))
        return 0; /* decoded as UDF, which the bus error recorded here outranks */
    flush_held_write(iss);
    bool faulted;
    bool low_half = begin_access(iss, address, size, false, &faulted);
    uint64_t pc = iss->access_pc;
    uint64_t value = 0;
    if (faulted) {
        iss->read_high_valid = false;
    } else if (iss->read_high_valid && iss->read_high_address == address && iss->read_high_pc == pc &&
               size == 4) {
        iss->read_high_valid = false;
        value = iss->read_high_value;
    } else if (low_half) {
        iss->read_high_valid = false;
        if (!w->read(w->ctx, address, 8, &value)) {
            record_bus_error(iss, pc, address, 8, ISS_ACCESS_READ, false);
            value = 0;
        } else {
            iss->read_high_valid = true;
            iss->read_high_address = address + 4;
            iss->read_high_pc = pc;
            iss->read_high_value = (uint32_t)(value >> 32);
            value = (uint32_t)value;
        }
    } else {
        iss->read_high_valid = false;
        if (!w->read(w->ctx, address, size, &value)) {
            record_bus_error(iss, pc, address, size, ISS_ACCESS_READ, false);
            value = 0;
        }
    }
    iss->access_pc_valid = false;
    return value;
}

static void on_mmio_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user) {
    (void)uc;
    struct mmio_window *w = user;
    iss_t *iss = w->iss;
    if (iss->stop_recorded)
        return;
    uint64_t address = w->base + offset;
    bool faulted;
    bool low_half = begin_access(iss, address, size, true, &faulted);
    uint64_t pc = iss->access_pc;
    iss->read_high_valid = false;
    if (faulted) {
        iss->write_low_valid = false;
    } else if (iss->write_low_valid && iss->write_low_window == w && iss->write_low_address + 4 == address &&
               iss->write_low_pc == pc && size == 4) {
        iss->write_low_valid = false;
        mmio_do_write(w, pc, iss->write_low_address, 8,
                      iss->write_low_value | ((uint64_t)(uint32_t)value << 32));
    } else {
        flush_held_write(iss);
        iss->access_pc = pc;
        if (iss->stop_recorded) {
        } else if (low_half) {
            iss->write_low_valid = true;
            iss->write_low_window = w;
            iss->write_low_address = address;
            iss->write_low_pc = pc;
            iss->write_low_value = (uint32_t)value;
        } else {
            mmio_do_write(w, pc, address, size, value);
        }
    }
    iss->access_pc_valid = false;
}

/* Instructions of the current block before `pc` (all of them once the PC has left the block). */
static uint64_t block_progress(const iss_t *iss, uint64_t pc) {
    if (pc >= iss->block_pc && pc - iss->block_pc < 4u * (uint64_t)iss->block_insns)
        return (pc - iss->block_pc) / 4;
    return iss->block_insns;
}

static void on_block(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    iss_t *iss = user;
    iss->run_executed += iss->block_insns; /* the previous block ran to its end */
    iss->block_insns = 0;
    /* One comparison on the hot path: iss_request_stop() also lowers the limit to what has run. */
    if (iss->run_executed >= iss->run_limit) {
        if (iss->stop_requested) {
            record_stop(iss, ISS_STOP_REQUESTED, address);
        } else {
            iss->budget_spent = true;
            uc_emu_stop(uc);
        }
        return;
    }
    if (iss->irq_pending && !(reg_read(iss, UC_ARM64_REG_PSTATE) & ISS_PSTATE_I)) {
        record_stop(iss, ISS_STOP_IRQ, address);
        return;
    }
    iss->block_pc = address;
    iss->block_insns = size / 4;
    iss->block_words_valid = false;
    iss->access_insn = NO_INSN;
    iss->counter_insn_next = 0;
}

/* ---- Placeholders: what Unicorn's checks at the VA need ---- */

/* A placeholder reached as a physical address: nothing is there. Placeholders only exist to pass Unicorn's
 * check at the VA, so any access that reaches one is an access to a physical address nothing backs. */
static void placeholder_access(struct placeholder *p, uint64_t offset, unsigned size, bool write) {
    iss_t *iss = p->iss;
    if (iss->stop_recorded)
        return;
    const uint64_t address = p->base + offset;
    const access_owner owner = attribute_access(iss, address, size, write);
    if (size == 4 && owner.element_size == 8 && !(address & 7u))
        size = 8; /* the low half of an 8-byte access, reported whole as for devices */
    if (record_bus_error(iss, owner.pc, address, size, write ? ISS_ACCESS_WRITE : ISS_ACCESS_READ, true))
        snprintf(iss->stop_info.message, sizeof iss->stop_info.message, "nothing at physical address 0x%llx",
                 (unsigned long long)address);
}

static uint64_t on_placeholder_read(uc_engine *uc, uint64_t offset, unsigned size, void *user) {
    (void)uc;
    placeholder_access(user, offset, size, false);
    return 0;
}

static void on_placeholder_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user) {
    (void)uc;
    (void)value;
    placeholder_access(user, offset, size, true);
}

/* Maps [base, base + size) as a placeholder: an MMIO region with no host memory behind it, executable so
 * that code fetched at a VA inside it passes the check too. It costs nothing on the hot path: Unicorn only
 * consults its map at the VA on TLB misses and device accesses. Placeholders are never unmapped or split:
 * Unicorn 2.0.1 does either page by page. */
static bool add_placeholder(iss_t *iss, uint64_t base, uint64_t size) {
    if (iss->placeholder_count == MAX_PLACEHOLDERS)
        return false;
    struct placeholder *p = &iss->placeholder[iss->placeholder_count];
    *p = (struct placeholder){iss, base, size};
    if (uc_mmio_map(iss->uc, base, size, on_placeholder_read, p, on_placeholder_write, p) != UC_ERR_OK)
        return false;
    iss->placeholder_count++;
    return uc_mem_protect(iss->uc, base, size, UC_PROT_ALL) == UC_ERR_OK;
}

static bool setup_scratch(iss_t *iss);

static int compare_regions(const void *a, const void *b) {
    const uc_mem_region *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Covers every physical address below PA_LIMIT that nothing backs with placeholders, once, before the first
 * run. With the MMU on, Unicorn 2.0.1 checks each access against its own map at the VA, then sends the data
 * to the PA; an unbacked PA behind a VA that passed the check would read as 0 and swallow writes with no hook
 * called. Covered, it reaches the placeholder callbacks and is a bus error like any other, and every VA below
 * the limit passes the check: the MMU alone decides where it goes (a VA that does not translate is an abort,
 * see abort_as_bus_error). */
static void cover_unbacked_physical_space(iss_t *iss) {
    iss->physical_space_covered = true;
    if (!iss->scratch)
        setup_scratch(iss); /* its physical pages must exist before the rest is covered */
    uc_mem_region *regions = NULL;
    uint32_t count = 0;
    if (uc_mem_regions(iss->uc, &regions, &count) != UC_ERR_OK)
        return;
    qsort(regions, count, sizeof *regions, compare_regions);
    uint64_t next = 0;
    for (uint32_t i = 0; i <= count && next < PA_LIMIT; i++) {
        uint64_t begin = i < count && regions[i].begin < PA_LIMIT ? regions[i].begin : PA_LIMIT;
        if (begin > next)
            add_placeholder(iss, next, begin - next);
        if (i < count && regions[i].end + 1 > next)
            next = regions[i].end + 1; /* end is inclusive; a region ending at 2^64 - 1 ends the loop */
        if (i < count && regions[i].end == UINT64_MAX)
            break;
    }
    uc_free(regions);
}

/* A placeholder for a VA above the physical space (TTBR1 or tagged addresses): the largest aligned chunk
 * around it that overlaps nothing, so that a few cover a whole address-space layout. */
static bool map_placeholder(iss_t *iss, uint64_t va) {
    static const unsigned chunk_bits[] = {30, 21, 16, 12};
    for (size_t i = 0; i < sizeof chunk_bits / sizeof chunk_bits[0]; i++) {
        const uint64_t size = UINT64_C(1) << chunk_bits[i];
        if (add_placeholder(iss, va & ~(size - 1), size))
            return true;
    }
    return false;
}

/* Whether nothing backs a VA, and why (left empty for a plain unmapped PA with the MMU off). */
static bool va_unbacked(iss_t *iss, uint64_t va, bool fetch, char *why, size_t len) {
    uint64_t pa;
    const va_kind kind = translate_va(iss, va, &pa);
    why[0] = '\0';
    if (kind == VA_FAULT) {
        snprintf(why, len, "VA 0x%llx does not translate (EL1&0 stage 1)", (unsigned long long)va);
        return true;
    }
    /* Instructions come from RAM only; a device would see fetches as reads. */
    if (fetch ? ram_host(iss, pa, 4) != NULL : pa_backed(iss, pa))
        return false;
    if (kind == VA_TRANSLATED)
        snprintf(why, len, "VA 0x%llx translates to PA 0x%llx, where %s", (unsigned long long)va,
                 (unsigned long long)pa,
                 pa_backed(iss, pa) ? "there is no RAM to fetch from" : "nothing is mapped");
    return true;
}

static void record_unmapped(iss_t *iss, uint64_t pc, uint64_t address, unsigned size, iss_access access,
                            const char *why) {
    if (record_bus_error(iss, pc, address, size, access, true))
        snprintf(iss->stop_info.message, sizeof iss->stop_info.message, "%s", why);
}

/* An address that is in no region of Unicorn's map (with the MMU on, a VA above PA_LIMIT: the physical space
 * is covered). If the guest's tables map it to RAM or a device, a placeholder makes the check pass and the
 * access is retried; the data then goes to the PA the tables give. */
static bool on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t address, int size, int64_t value,
                        void *user) {
    (void)uc;
    (void)value;
    iss_t *iss = user;
    iss_access access = ISS_ACCESS_READ;
    if (type == UC_MEM_WRITE_UNMAPPED)
        access = ISS_ACCESS_WRITE;
    else if (type == UC_MEM_FETCH_UNMAPPED || type == UC_MEM_FETCH_PROT)
        access = ISS_ACCESS_FETCH;
    char why[sizeof iss->stop_info.message];
    const bool unbacked = va_unbacked(iss, address, access == ISS_ACCESS_FETCH, why, sizeof why);
    if (type == UC_MEM_FETCH_PROT) {
        if (!unbacked)
            snprintf(why, sizeof why, "VA 0x%llx is a device address too: Unicorn checks fetches at the VA",
                     (unsigned long long)address);
    } else if (!unbacked) {
        if (map_placeholder(iss, address))
            return true;
        snprintf(why, sizeof why, "no room for a placeholder at VA 0x%llx", (unsigned long long)address);
    }
    uint64_t pc = address;
    /* The attribution expects pieces as the MMIO callbacks get them: 8-byte accesses in 4-byte halves. */
    if (access != ISS_ACCESS_FETCH)
        pc = attribute_access(iss, address, size == 8 ? 4 : (unsigned)size, access == ISS_ACCESS_WRITE).pc;
    record_unmapped(iss, pc, address, (unsigned)size, access, why);
    return false;
}

/* Unicorn raises an abort (ESR and FAR left 0) where the MMU finds no translation, for an address beyond the
 * physical address size, or for code at a physical address that is not RAM. Those are the accesses the
 * unmapped hook reports when Unicorn's map lacks the address; whichever check catches them, they are the
 * same bus error. Any other abort (permission, access flag, alignment) stays an ISS error. */
static bool abort_as_bus_error(iss_t *iss, bool fetch, uint64_t pc) {
    char why[sizeof iss->stop_info.message];
    if (fetch) {
        if (!va_unbacked(iss, pc, true, why, sizeof why))
            return false;
        record_unmapped(iss, pc, pc, 4, ISS_ACCESS_FETCH, why);
        return true;
    }
    uint32_t insn;
    ls_access a;
    if (!fetch_insn(iss, pc, &insn) || !decode_load_store(iss, insn, pc, &a) || !a.address_known)
        return false;
    const uint64_t ends[2] = {a.address, a.address + a.bytes - 1};
    for (int i = 0; i < 2; i++) {
        if (va_unbacked(iss, ends[i], false, why, sizeof why)) {
            unsigned size = a.element_size ? a.element_size : (unsigned)a.bytes;
            record_unmapped(iss, pc, ends[i] & ~(uint64_t)(size - 1), size,
                            a.writes && !a.reads ? ISS_ACCESS_WRITE : ISS_ACCESS_READ, why);
            return true;
        }
    }
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
        /* No stop here: writing the PC from a hook makes Unicorn leave the block and carry on at the new PC,
         * overriding uc_emu_stop(). A stop recorded now would end up applying to the vector code that runs
         * next (its MMIO dropped, its HVC ignored). The run goes on at the vector; SVC ends its block, so the
         * block hook counts it. */
        if (!enter_el1_exception(iss, 0x000, pc, true, esr))
            record_iss_error(iss, pc - 4, "SVC from EL0 (this ISS can only take exceptions from EL1)");
        return;
    }
    case EXCP_UDEF:
        if (fetch_insn(iss, pc, &insn))
            snprintf(message, sizeof message, "undefined instruction 0x%08x", insn);
        else if (abort_as_bus_error(iss, true, pc))
            return; /* code at a physical address that is not RAM reaches the decoder as 0 (UDF) */
        else
            snprintf(message, sizeof message, "undefined instruction");
        record_iss_error(iss, pc, message);
        return;
    case EXCP_PREFETCH_ABORT:
        if (!abort_as_bus_error(iss, true, pc))
            record_iss_error(iss, pc, "instruction abort (MMU fault) cannot be delivered by this ISS");
        return;
    case EXCP_DATA_ABORT:
        if (!abort_as_bus_error(iss, false, pc))
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
    /* The counter is read at this instruction's time: find it in the block, as for MMIO accesses. */
    const uint32_t encoding = 0xd5300000u | (uint32_t)(cp->op0 & 1u) << 19 | (uint32_t)cp->op1 << 16 |
                              (uint32_t)cp->crn << 12 | (uint32_t)cp->crm << 8 | (uint32_t)cp->op2 << 5;
    if (iss->running && load_block_words(iss)) {
        for (uint32_t i = iss->counter_insn_next; i < iss->block_insns; i++) {
            if ((iss->block_words[i] & 0xffffffe0u) == encoding) {
                iss->access_pc = iss->block_pc + 4u * i;
                iss->access_pc_valid = true;
                iss->counter_insn_next = i + 1;
                break;
            }
        }
    }
    uint64_t ticks = iss->counter ? iss->counter(iss->counter_ctx) : iss_instruction_count(iss) / 16;
    iss->access_pc_valid = false;
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
    uc_err h1 = uc_hook_add(iss->uc, &hook, UC_HOOK_BLOCK, (void *)on_block, iss, 1, 0);
    uc_err h2 = uc_hook_add(iss->uc, &hook, UC_HOOK_INTR, (void *)on_interrupt, iss, 1, 0);
    /* A fetch from an MMIO window (mapped without execute permission) is reported like an unmapped one: the
     * platform executes from RAM only. */
    uc_err h3 = uc_hook_add(iss->uc, &hook, UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_FETCH_PROT,
                            (void *)on_unmapped, iss, 1, 0);
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
        if (pa >= r->base && size <= r->size && pa - r->base <= r->size - size) {
            if (iss->alias_count == MAX_ALIASES ||
                uc_mem_map_ptr(iss->uc, va, size, UC_PROT_ALL, r->host + (pa - r->base)) != UC_ERR_OK)
                return -1;
            iss->alias[iss->alias_count++] = (struct ram_region){va, size, r->host + (pa - r->base)};
            return 0;
        }
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
    iss->left_run_start = false;
    iss->step_seen = 0;
    iss->run_limit = max_insns;
    iss->run_executed = 0;
    iss->block_insns = 0;
    iss->budget_spent = false;
    iss->stop_recorded = false;
    iss->stop_requested = false;
    iss->read_high_valid = false;
    iss->write_low_valid = false;
    iss->access_pc_valid = false;
    if (!iss->physical_space_covered)
        cover_unbacked_physical_space(iss);
    uint64_t start_pc = reg_read(iss, UC_ARM64_REG_PC);
    iss->run_start_pc = start_pc;
    uc_err err = UC_ERR_OK;
    if (max_insns > 0) {
        iss->running = true;
        err = uc_emu_start(iss->uc, start_pc, UINT64_MAX, 0, 0);
        flush_held_write(iss);
        iss->running = false;
    }
    /* The PC is exact again once Unicorn has returned: any stop inside a block leaves it after the last
     * instruction executed. A bus error or ISS error is at its recorded PC, and the instruction that caused
     * it counts as executed, as it did while its access was in progress (the count never goes back). */
    bool failed = iss->stop_recorded && (iss->stop_info.reason == ISS_STOP_BUS_ERROR ||
                                         iss->stop_info.reason == ISS_STOP_ISS_ERROR);
    uint64_t end_pc = failed ? iss->stop_info.pc : reg_read(iss, UC_ARM64_REG_PC);
    uint64_t in_block = block_progress(iss, end_pc);
    bool fetch_failed = failed && iss->stop_info.reason == ISS_STOP_BUS_ERROR &&
                        iss->stop_info.access == ISS_ACCESS_FETCH; /* nothing to execute */
    if (failed && !fetch_failed && in_block < iss->block_insns)
        in_block++;
    uint64_t done = iss->run_executed + in_block;
    iss->block_insns = 0;
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
        } else if (!iss->budget_spent && fetch_insn(iss, pc - 4, &insn) && insn == INSN_WFI) {
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

/* Called from MMIO callbacks in the middle of a block: the run ends at the next block boundary. Stopping
 * inside the callback (uc_emu_stop) would let the rest of the block run with every later MMIO access dropped.
 */
void iss_request_stop(iss_t *iss) {
    iss->stop_requested = true;
    iss->run_limit = iss->run_executed;
}

void iss_set_run_end(iss_t *iss, uint64_t instruction_count) {
    if (!iss->running)
        return;
    uint64_t start = iss->retired;
    uint64_t limit = instruction_count > start ? instruction_count - start : 0;
    /* Never below what has run: the run then ends at the next block boundary, as after iss_request_stop(). */
    iss->run_limit = limit > iss->run_executed ? limit : iss->run_executed;
}

uint64_t iss_mmio_attribution_guesses(const iss_t *iss) {
    return iss->attribution_guesses;
}

uint64_t iss_instruction_count(const iss_t *iss) {
    if (!iss->running)
        return iss->retired;
    /* During an MMIO access or counter read the instruction making it counts as executed. */
    uint64_t in_block = iss->access_pc_valid ? block_progress(iss, iss->access_pc) + 1 : 0;
    if (in_block > iss->block_insns)
        in_block = iss->block_insns;
    return iss->retired + iss->run_executed + in_block;
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

/* Placeholders hold no memory: a physical access there would reach their callbacks. */
static bool touches_placeholder(const iss_t *iss, uint64_t address, size_t len) {
    for (unsigned i = 0; i < iss->placeholder_count; i++) {
        const struct placeholder *p = &iss->placeholder[i];
        if (len > 0 && address <= p->base + (p->size - 1) && p->base <= address + (len - 1))
            return true;
    }
    return false;
}

bool iss_read_memory(iss_t *iss, uint64_t address, void *dst, size_t len) {
    return !touches_placeholder(iss, address, len) && uc_mem_read(iss->uc, address, dst, len) == UC_ERR_OK;
}

bool iss_write_memory(iss_t *iss, uint64_t address, const void *src, size_t len) {
    return !touches_placeholder(iss, address, len) && uc_mem_write(iss->uc, address, src, len) == UC_ERR_OK;
}

/* ---- Debugger support ---- */

static void on_breakpoint(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    (void)uc;
    (void)size;
    iss_t *iss = user;
    if (!iss->left_run_start && address == iss->run_start_pc) {
        iss->left_run_start = true; /* resuming from this breakpoint: execute it */
        return;
    }
    iss->left_run_start = true;
    record_stop(iss, ISS_STOP_BREAKPOINT, address);
}

static void on_step(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    (void)uc;
    (void)size;
    iss_t *iss = user;
    if (iss->step_seen++ > 0)
        record_stop(iss, ISS_STOP_QUANTUM, address);
}

bool iss_set_single_step(iss_t *iss, bool on) {
    if (on == iss->single_step)
        return true;
    if (on) {
        if (uc_hook_add(iss->uc, &iss->step_hook, UC_HOOK_CODE, (void *)on_step, iss, 1, 0) != UC_ERR_OK)
            return false;
    } else {
        uc_hook_del(iss->uc, iss->step_hook);
    }
    /* Translated code calls the hooks that existed when it was translated. */
    uc_ctl_flush_tlb(iss->uc);
    iss->single_step = on;
    return true;
}

static int find_breakpoint(const iss_t *iss, uint64_t va) {
    for (unsigned i = 0; i < iss->breakpoint_count; i++)
        if (iss->breakpoint_va[i] == va)
            return (int)i;
    return -1;
}

bool iss_add_breakpoint(iss_t *iss, uint64_t va) {
    if (find_breakpoint(iss, va) >= 0)
        return true;
    if (iss->breakpoint_count == ISS_MAX_BREAKPOINTS)
        return false;
    uc_hook hook;
    if (uc_hook_add(iss->uc, &hook, UC_HOOK_CODE, (void *)on_breakpoint, iss, va, va) != UC_ERR_OK)
        return false;
    /* Code translated before the hook existed would not call it. */
    uc_ctl_remove_cache(iss->uc, va, va + 4);
    iss->breakpoint_va[iss->breakpoint_count] = va;
    iss->breakpoint_hook[iss->breakpoint_count] = hook;
    iss->breakpoint_count++;
    return true;
}

bool iss_remove_breakpoint(iss_t *iss, uint64_t va) {
    int i = find_breakpoint(iss, va);
    if (i < 0)
        return false;
    uc_hook_del(iss->uc, iss->breakpoint_hook[i]);
    uc_ctl_remove_cache(iss->uc, va, va + 4);
    iss->breakpoint_count--;
    iss->breakpoint_va[i] = iss->breakpoint_va[iss->breakpoint_count];
    iss->breakpoint_hook[i] = iss->breakpoint_hook[iss->breakpoint_count];
    return true;
}

bool iss_read_virtual(iss_t *iss, uint64_t va, void *dst, size_t len) {
    return read_va(iss, va, dst, len);
}

bool iss_write_virtual(iss_t *iss, uint64_t va, const void *src, size_t len) {
    const uint8_t *in = src;
    s1_regime r;
    load_regime(iss, &r);
    /* Check the whole range first: a debugger's write either happens or not. */
    for (uint64_t off = 0; off < len;) {
        uint64_t pa;
        size_t chunk = PAGE_SIZE - (size_t)((va + off) & (PAGE_SIZE - 1));
        chunk = chunk < len - off ? chunk : (size_t)(len - off);
        if (walk_va(iss, &r, va + off, &pa) == VA_FAULT || !ram_host(iss, pa, chunk))
            return false;
        off += chunk;
    }
    for (uint64_t off = 0; off < len;) {
        uint64_t pa;
        size_t chunk = PAGE_SIZE - (size_t)((va + off) & (PAGE_SIZE - 1));
        chunk = chunk < len - off ? chunk : (size_t)(len - off);
        walk_va(iss, &r, va + off, &pa);
        memcpy(ram_host(iss, pa, chunk), in + off, chunk);
        off += chunk;
    }
    if (len)
        uc_ctl_remove_cache(iss->uc, va, va + len);
    return true;
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
