/* Writes the seed corpus of the SMMU fuzz target: one small input per scenario, each a well-formed driver
 * session (queues, stream table, CDs, page tables, commands, traffic) that reaches one feature, so that the
 * fuzzer starts from deep states instead of discovering the programming model byte by byte.
 *
 *   gen_corpus OUTDIR      (make fuzz-seeds writes tests/fuzz/corpus/seed-*)
 *
 * The byte format is fuzz_input.h. Scenario inputs are deterministic: regenerating gives the same files. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "smmu.h"
#include "smmu_regs.h"
#include "smmu_structs.h"

/* ---- Input being built, and a mirror of guest memory so page tables can be built incrementally ---- */

static uint8_t out[1 << 16];
static size_t out_len;
static uint8_t mirror[FZ_ARENA_SIZE];

static void put(uint64_t v, unsigned bytes) {
    for (unsigned i = 0; i < bytes; i++) {
        if (out_len == sizeof out) {
            fprintf(stderr, "gen_corpus: input too large\n");
            exit(1);
        }
        out[out_len++] = (uint8_t)(v >> (8 * i));
    }
}

static void header(uint8_t flags, uint8_t b1, uint8_t depth, uint8_t timeout_us) {
    put(flags, 1);
    put(b1, 1);
    put(depth, 1);
    put(timeout_us, 1);
    put(0, 4);
}

static void header_xor(unsigned idr, uint32_t x) {
    out[4] = (uint8_t)idr;
    out[5] = (uint8_t)x;
    out[6] = (uint8_t)(x >> 8);
    out[7] = (uint8_t)(x >> 16);
}

static void wr(uint64_t off, uint64_t v, unsigned size) {
    put(FZ_OP_REG_WRITE, 1);
    put(size == 8, 1);
    put(off, 4);
    put(v, 8);
}
static void wr32(uint64_t off, uint64_t v) {
    wr(off, v, 4);
}
static void wr64(uint64_t off, uint64_t v) {
    wr(off, v, 8);
}
static void rd(uint64_t off, unsigned size) {
    put(FZ_OP_REG_READ, 1);
    put(size == 8, 1);
    put(off, 4);
}

static void m64(uint64_t a, uint64_t v) {
    memcpy(mirror + a, &v, 8);
    put(FZ_OP_MEM64, 1);
    put(a, 4);
    put(v, 8);
}
static uint64_t mget(uint64_t a) {
    uint64_t v;
    memcpy(&v, mirror + a, 8);
    return v;
}

static void fill(uint64_t a, unsigned len, uint8_t seed) {
    put(FZ_OP_FILL, 1);
    put(a, 4);
    put(len, 2);
    put(seed, 1);
}

static void copy(uint64_t dst, uint64_t src, unsigned len) {
    memmove(mirror + dst, mirror + src, len);
    put(FZ_OP_COPY, 1);
    put(dst, 4);
    put(src, 4);
    put(len, 2);
}
static void flip(uint64_t a, unsigned bit) {
    mirror[a + bit / 8] ^= (uint8_t)(1u << (bit % 8));
    put(FZ_OP_FLIP, 1);
    put(a, 4);
    put(bit, 2);
}
static void params(unsigned which, uint32_t v) {
    put(FZ_OP_PARAMS, 1);
    put(which, 1);
    put(v, 4);
}

enum {
    T_SSV = FZ_TXN_SSV,
    T_SEC = FZ_TXN_SECURE,
    T_W = FZ_TXN_WRITE,
    T_PRIV = FZ_TXN_PRIV,
    T_X = FZ_TXN_EXEC
};
#define T_AT(at) ((unsigned)(at) << FZ_TXN_AT_SHIFT)

static void txn(unsigned op, uint32_t sid, uint32_t ssid, unsigned flags, uint64_t addr) {
    put(op, 1);
    put(sid, 4);
    put(ssid, 4);
    put(flags, 1);
    put(addr, 8);
    put(8, 2);
}
static void xl_stall(uint32_t sid, uint32_t ssid, uint64_t addr, unsigned flags) {
    put(FZ_OP_TRANSLATE, 1);
    put(sid, 4);
    put(ssid, 4);
    put(flags, 1);
    put(addr, 8);
    put(8 | FZ_TXN_LEN_STALL, 2);
}
static void stall_outcome(uint32_t sid, uint16_t stag) {
    put(FZ_OP_STALL_OUTCOME, 1);
    put(sid, 4);
    put(stag, 2);
}
static void xl(uint32_t sid, uint64_t addr, unsigned flags) {
    txn(FZ_OP_TRANSLATE, sid, 0, flags, addr);
}
static void xl_ss(uint32_t sid, uint32_t ssid, uint64_t addr, unsigned flags) {
    txn(FZ_OP_TRANSLATE, sid, ssid, flags | T_SSV, addr);
}
static void ats(uint32_t sid, uint32_t ssid, uint64_t addr, unsigned flags) {
    txn(FZ_OP_ATS_TRANSLATE, sid, ssid, flags, addr);
}

static void pri(uint32_t sid, uint32_t ssid, unsigned flags, unsigned prg, uint64_t addr) {
    put(FZ_OP_PAGE_REQUEST, 1);
    put(sid, 4);
    put(ssid, 4);
    put(flags, 1);
    put(prg, 2);
    put(addr, 8);
}

static void inv_cpl(uint32_t sid, uint32_t vec, unsigned cc) {
    put(FZ_OP_ATS_INV_CPL, 1);
    put(sid, 4);
    put(vec, 4);
    put(cc, 1);
}
static void time_ns(uint32_t ns) {
    put(FZ_OP_TIME, 1);
    put(ns, 4);
}
static void aborts(unsigned which, uint32_t lo, uint32_t hi) {
    put(FZ_OP_ABORTS, 1);
    put(which, 1);
    put(lo, 4);
    put(hi, 4);
}
static void op1(unsigned op, unsigned arg) {
    put(op, 1);
    put(arg, 1);
}
static void trace(bool on) {
    op1(FZ_OP_TRACE, on);
}
static void stats(void) {
    put(FZ_OP_STATS, 1);
}
static void drv(unsigned action) {
    op1(FZ_OP_DRIVER, action);
}

/* ---- Guest layout ---- */

#define CMDQ 0x1000u /* 64 commands */
#define CMDQ_LOG2 6u
#define EVTQ 0x2000u /* 64 events */
#define EVTQ_LOG2 6u
#define PRIQ 0x3000u /* 8 records: overflows quickly */
#define PRIQ_LOG2 3u
#define STRTAB 0x4000u
#define CDS 0x8000u
#define MSI_TARGET 0xF000u
#define DATA 0x80000u

static uint32_t cmd_prod;
static uint64_t next_table;

static void reset_builder(void) {
    out_len = 0;
    memset(mirror, 0, sizeof mirror);
    cmd_prod = 0;
    next_table = 0x10000;
}

static uint64_t table_alloc(void) {
    uint64_t a = next_table;
    next_table += 0x1000;
    return a;
}

static void cmd(uint64_t d0, uint64_t d1) {
    uint64_t a = CMDQ + (uint64_t)(cmd_prod & ((1u << CMDQ_LOG2) - 1)) * SMMU_CMD_SIZE;
    m64(a, d0);
    m64(a + 8, d1);
    cmd_prod = (cmd_prod + 1) & ((2u << CMDQ_LOG2) - 1);
    wr32(SMMU_CMDQ_PROD, cmd_prod);
}
static void sync_cs(unsigned cs, uint64_t msi) {
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, cs) |
            SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIDATA, 0x5A5A),
        msi);
}
static void sync(void) {
    sync_cs(SMMU_SYNC_CS_NONE, 0);
}
static void cfgi_all(void) {
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE), SMMU_FIELD_PREP(SMMU_CMD1_RANGE, 31));
    sync();
}

/* Queues, a stream table (linear of 2^log2 STEs, or 2-level with `split`) and SMMUEN. */
static void bring_up(bool two_level, unsigned log2, unsigned split, uint32_t cr2, uint32_t extra_cr0) {
    wr64(SMMU_CMDQ_BASE, CMDQ | CMDQ_LOG2);
    wr64(SMMU_EVENTQ_BASE, EVTQ | EVTQ_LOG2);
    wr64(SMMU_PRIQ_BASE, PRIQ | PRIQ_LOG2);
    wr64(SMMU_STRTAB_BASE, STRTAB);
    wr32(SMMU_STRTAB_BASE_CFG, SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, log2) |
                                   SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, split) |
                                   SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, two_level));
    wr32(SMMU_CR1, 0x5 | (0x5 << 6) | (3u << 4) | (3u << 10));
    wr32(SMMU_CR2, cr2);
    wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN);
    wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_SMMUEN | extra_cr0);
    rd(SMMU_CR0ACK, 4);
}

/* STE address; for a 2-level table the leaf covering sid is installed on first use (4 KiB leaves). */
static bool st_two_level;
static unsigned st_split = 6;
static uint64_t ste_addr(uint32_t sid) {
    if (!st_two_level)
        return STRTAB + (uint64_t)sid * SMMU_STE_SIZE;
    uint64_t l1 = STRTAB + (uint64_t)(sid >> st_split) * 8;
    uint64_t d = mget(l1);
    if (!d) {
        uint64_t leaf = table_alloc();
        d = leaf | SMMU_FIELD_PREP(SMMU_L1STD_SPAN, st_split + 1);
        m64(l1, d);
    }
    return SMMU_ADDR_GET(SMMU_L1STD_L2PTR, d) + (uint64_t)(sid & ((1u << st_split) - 1)) * SMMU_STE_SIZE;
}

static void write8(uint64_t a, const uint64_t d[8]) {
    for (int i = 0; i < 8; i++)
        if (d[i])
            m64(a + 8 * i, d[i]);
}

static void ste_s1(uint32_t sid, uint64_t ctx, unsigned cdmax, unsigned fmt, unsigned dss,
                   uint64_t d1_extra) {
    uint64_t d[8] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S1) |
                         SMMU_FIELD_PREP(SMMU_STE0_S1FMT, fmt) | SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, ctx) |
                         SMMU_FIELD_PREP(SMMU_STE0_S1CDMAX, cdmax),
                     SMMU_FIELD_PREP(SMMU_STE1_S1DSS, dss) | SMMU_FIELD_PREP(SMMU_STE1_S1CIR, 1) |
                         SMMU_FIELD_PREP(SMMU_STE1_S1COR, 1) | SMMU_FIELD_PREP(SMMU_STE1_S1CSH, 3) |
                         SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING) | d1_extra};
    write8(ste_addr(sid), d);
}

static uint64_t s2_dword2(uint16_t vmid, uint64_t extra) {
    return SMMU_FIELD_PREP(SMMU_STE2_S2VMID, vmid) | SMMU_FIELD_PREP(SMMU_STE2_S2T0SZ, 25) |
           SMMU_FIELD_PREP(SMMU_STE2_S2SL0, 1) | SMMU_FIELD_PREP(SMMU_STE2_S2IR0, 1) |
           SMMU_FIELD_PREP(SMMU_STE2_S2OR0, 1) | SMMU_FIELD_PREP(SMMU_STE2_S2SH0, 3) |
           SMMU_FIELD_PREP(SMMU_STE2_S2TG, SMMU_TG0_4K) | SMMU_FIELD_PREP(SMMU_STE2_S2PS, 5) |
           SMMU_STE2_S2AA64 | SMMU_STE2_S2R | extra;
}

static void ste_s2(uint32_t sid, uint64_t ttb, uint16_t vmid, uint64_t d1_extra, uint64_t d2_extra) {
    uint64_t d[8] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S2),
                     SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING) | d1_extra,
                     s2_dword2(vmid, d2_extra), SMMU_ADDR_GET(SMMU_STE3_S2TTB, ttb)};
    write8(ste_addr(sid), d);
}

static void ste_nested(uint32_t sid, uint64_t ctx, uint64_t s2ttb, uint16_t vmid) {
    uint64_t d[8] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_NESTED) |
                         SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, ctx),
                     SMMU_FIELD_PREP(SMMU_STE1_S1CIR, 1) | SMMU_FIELD_PREP(SMMU_STE1_S1COR, 1) |
                         SMMU_FIELD_PREP(SMMU_STE1_S1CSH, 3) |
                         SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING),
                     s2_dword2(vmid, 0), SMMU_ADDR_GET(SMMU_STE3_S2TTB, s2ttb)};
    write8(ste_addr(sid), d);
}

static void ste_simple(uint32_t sid, unsigned config, uint64_t d1) {
    uint64_t d[8] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, config), d1};
    write8(ste_addr(sid), d);
}

static void cd_at(uint64_t a, uint64_t ttb0, uint16_t asid, uint64_t d0_extra) {
    uint64_t d[8] = {SMMU_FIELD_PREP(SMMU_CD0_T0SZ, 25) | SMMU_FIELD_PREP(SMMU_CD0_TG0, SMMU_TG0_4K) |
                         SMMU_FIELD_PREP(SMMU_CD0_IR0, 1) | SMMU_FIELD_PREP(SMMU_CD0_OR0, 1) |
                         SMMU_FIELD_PREP(SMMU_CD0_SH0, 3) | SMMU_CD0_EPD1 | SMMU_CD0_V |
                         SMMU_FIELD_PREP(SMMU_CD0_IPS, 5) | SMMU_CD0_AA64 | SMMU_CD0_R | SMMU_CD0_A |
                         SMMU_FIELD_PREP(SMMU_CD0_ASID, asid) | d0_extra,
                     SMMU_ADDR_GET(SMMU_CD1_TTB0, ttb0), 0, 0x04FF};
    write8(a, d);
}

/* Page-table descriptor bits (VMSAv8-64). */
#define D_VALID 1ull
#define D_TABLE 2ull
#define D_AP1 (1ull << 6)
#define D_AP2 (1ull << 7)
#define D_ISH (3ull << 8)
#define D_AF (1ull << 10)
#define D_NG (1ull << 11)
#define D_DBM (1ull << 51)
#define D_PXN (1ull << 53)
#define D_UXN (1ull << 54)
#define S1_RW (D_AF | D_ISH | D_AP1 | D_NG)
#define S1_RO (S1_RW | D_AP2)
#define S2_RW (D_AF | D_ISH | D_AP1 | D_AP2 | (0xFull << 2))

/* Maps the 4 KiB page (leaf level 3) or block (level 1/2) of ia in a 4K-granule table starting at level 1. */
static void map(uint64_t root, uint64_t ia, uint64_t pa, uint64_t attrs, int leaf) {
    uint64_t table = root;
    for (int l = 1; l < leaf; l++) {
        uint64_t a = table + ((ia >> (12 + 9 * (3 - l))) & 511) * 8;
        uint64_t d = mget(a);
        if (!(d & D_VALID)) {
            d = table_alloc() | D_VALID | D_TABLE;
            m64(a, d);
        }
        table = d & 0x0000FFFFFFFFF000ull;
    }
    m64(table + ((ia >> (12 + 9 * (3 - leaf))) & 511) * 8, pa | attrs | D_VALID | (leaf == 3 ? D_TABLE : 0));
}

/* ---- Scenarios ---- */

static void ste_sweep(uint32_t sid) {
    xl(sid, 0x1000, 0);
    xl(sid, 0x1000, T_W);
    xl(sid, 0x1000, T_PRIV | T_X);
}

static void seed_s1(void) {
    header(0, 0, 0, 0);
    trace(true);
    bring_up(false, 6, 0, SMMU_CR2_RECINVSID, 0);
    uint64_t pt = table_alloc();
    cd_at(CDS, pt, 1, 0);
    ste_s1(1, CDS, 0, 0, 0, 0);
    map(pt, 0x400000, DATA, S1_RW, 3);
    map(pt, 0x401000, DATA + 0x1000, S1_RO, 3);
    map(pt, 0x402000, DATA + 0x2000, S1_RW | D_UXN | D_PXN, 3);
    map(pt, 0x40000000, 0, S1_RW, 2);
    xl(1, 0x400010, 0);
    xl(1, 0x400010, T_W);
    xl(1, 0x401000, T_W);
    xl(1, 0x402000, T_X);
    xl(1, 0x40100000, T_PRIV);
    xl(1, 0x403000, 0);     /* F_TRANSLATION */
    xl(1, 0x8000000000, 0); /* beyond T0SZ */
    xl(1, 0x400010, T_SSV); /* SSV without substreams */
    xl(70, 0x1000, 0);      /* beyond the stream table: C_BAD_STREAMID */
    xl(2, 0x1000, T_SEC);
    ste_sweep(2); /* invalid STE */
    xl(1, 0x400010, 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 1),
        0x400000 | SMMU_CMD1_LEAF);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 1), 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_VAA), 0x400000);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 1),
        SMMU_CMD1_LEAF);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_CD) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 1), 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_PREFETCH_CONFIG) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 1), 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_PREFETCH_ADDR) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 1),
        0x400000);
    sync_cs(SMMU_SYNC_CS_IRQ, MSI_TARGET);
    sync_cs(SMMU_SYNC_CS_SEV, 0);
    xl(1, 0x400010, T_W);
    drv(FZ_DRV_DRAIN_EVTQ);
    stats();
}

static void seed_s2(void) {
    header(0, 0, 0, 0);
    bring_up(false, 6, 0, 0, 0);
    uint64_t pt = table_alloc();
    ste_s2(3, pt, 7, 0, 0);
    map(pt, 0x400000, DATA, S2_RW, 3);
    map(pt, 0x401000, DATA + 0x1000, S2_RW & ~D_AP2, 3);
    map(pt, 0x200000, 0, S2_RW, 2);
    ste_sweep(3);
    xl(3, 0x400000, T_W);
    xl(3, 0x401000, T_W);
    xl(3, 0x402000, 0);
    xl(3, 0x200040, T_W);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_S2_IPA) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 7),
        0x400000 | SMMU_CMD1_LEAF);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_S12_VMALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 7), 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
    sync();
    xl(3, 0x400000, 0);
}

static void seed_nested(void) {
    header(0, 0, 0, 0);
    trace(true);
    bring_up(false, 6, 0, 0, 0);
    uint64_t s2 = table_alloc();
    m64(s2, 0 | S2_RW | D_VALID); /* level-1 block: IPA [0, 1 GiB) -> PA, identity */
    uint64_t s1 = table_alloc();
    cd_at(CDS + 0x100, s1, 5, 0);
    ste_nested(4, CDS + 0x100, s2, 9);
    map(s1, 0x400000, DATA, S1_RW, 3);
    map(s1, 0x600000, 0x7FFFF000ull, S1_RW, 3); /* IPA outside the stage-2 block: stage-2 fault */
    xl(4, 0x400000, 0);
    xl(4, 0x400000, T_W);
    xl(4, 0x600000, 0);
    xl(4, 0x500000, 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_ALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 9), 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_VMS_PIDM), 0);
    sync();
    xl(4, 0x400000, T_W);
}

static void seed_two_level(bool cd64k) {
    header(0, 0, 0, 0);
    st_two_level = true;
    bring_up(true, 12, st_split, 0, 0);
    /* Two-level CD table: L1CD at CDS, leaves of 1 KiB descriptors allocated from the table pool. */
    uint64_t pt = table_alloc();
    uint64_t leaf = table_alloc();
    m64(CDS, leaf | SMMU_L1CD_V);
    uint64_t leaf2 = table_alloc();
    m64(CDS + 8, leaf2 | SMMU_L1CD_V);
    unsigned fmt = cd64k ? SMMU_STE_S1FMT_2LVL_64K : SMMU_STE_S1FMT_2LVL_4K;
    unsigned per_leaf = cd64k ? 1024 : 64;
    ste_s1(0x85, CDS, 10, fmt, SMMU_STE_S1DSS_SSID0, 0);
    ste_s1(0x300, CDS, 10, fmt, SMMU_STE_S1DSS_BYPASS, 0);
    cd_at(leaf, pt, 1, 0);
    cd_at(leaf + 64 * 3, pt, 2, 0);
    cd_at(leaf2 + 64 * 2, pt, 3, 0);
    map(pt, 0x400000, DATA, S1_RW, 3);
    xl(0x85, 0x400000, 0);
    xl_ss(0x85, 3, 0x400000, T_W);
    xl_ss(0x85, per_leaf + 2, 0x400000, 0);
    xl_ss(0x85, per_leaf * 3, 0x400000, 0); /* L1CD invalid */
    xl_ss(0x85, 0xFFFFF, 0x400000, 0);      /* beyond S1CDMAX */
    xl_ss(0x300, 0, 0x400000, 0);
    xl(0x300, 0x400000, 0);
    xl(0xFF0, 0x1000, 0); /* L1STD span 0 */
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_CD_ALL) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 0x85), 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 0x80), 4);
    sync();
    xl_ss(0x85, 3, 0x400000, T_W);
    st_two_level = false;
}

static void seed_httu(bool stage2) {
    header(0, 0, 0, 0);
    trace(true);
    bring_up(false, 6, 0, 0, 0);
    uint64_t pt = table_alloc();
    if (!stage2) {
        cd_at(CDS, pt, 1, SMMU_CD0_HA | SMMU_CD0_HD);
        ste_s1(1, CDS, 0, 0, 0, 0);
        map(pt, 0x400000, DATA, (S1_RO & ~D_AF) | D_DBM, 3);
        map(pt, 0x401000, DATA + 0x1000, S1_RO | D_DBM, 3);
        map(pt, 0x402000, DATA + 0x2000, S1_RW & ~D_AF, 3);
        map(pt, 0x600000, 0, (S1_RO & ~D_AF) | D_DBM, 2);
    } else {
        ste_s2(1, pt, 3, 0, SMMU_STE2_S2HA | SMMU_STE2_S2HD);
        map(pt, 0x400000, DATA, (S2_RW & ~(D_AF | D_AP2)) | D_DBM, 3);
        map(pt, 0x401000, DATA + 0x1000, (S2_RW & ~D_AP2) | D_DBM, 3);
        map(pt, 0x402000, DATA + 0x2000, S2_RW & ~D_AF, 3);
        map(pt, 0x600000, 0, (S2_RW & ~(D_AF | D_AP2)) | D_DBM, 2);
    }
    xl(1, 0x400000, 0);
    xl(1, 0x400000, T_W);
    xl(1, 0x401000, T_W);
    xl(1, 0x402000, T_W);
    xl(1, 0x600000, T_W);
    aborts(2, (uint32_t)pt, (uint32_t)pt + 0x10000); /* HTTU update aborts */
    xl(1, 0x400000, T_W);
    aborts(0, 0, 0);
}

/* ATS: EATS = 1 streams, ATSCHK, translation requests with and without PASID, translated traffic. */
static void seed_ats(unsigned variant) {
    header(variant == 2 ? FZ_H_NO_ATS : 0, 0, 0, 0);
    bring_up(false, 6, 0, variant == 1 ? SMMU_CR2_REC_CFG_ATS : 0, variant == 1 ? SMMU_CR0_ATSCHK : 0);
    uint64_t pt = table_alloc();
    cd_at(CDS, pt, 1, 0);
    cd_at(CDS + 64, pt, 2, SMMU_CD0_HA | SMMU_CD0_HD);
    ste_s1(1, CDS, 1, 0, SMMU_STE_S1DSS_SSID0, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1));
    ste_s1(2, CDS, 0, 0, 0, SMMU_FIELD_PREP(SMMU_STE1_EATS, 2));
    ste_s1(5, CDS, 0, 0, 0, 0); /* EATS = 0 */
    ste_simple(6, SMMU_STE_CONFIG_BYPASS, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1));
    uint64_t s2 = table_alloc();
    ste_s2(7, s2, 4, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1), 0);
    map(s2, 0x400000, DATA, S2_RW, 3);
    map(pt, 0x400000, DATA, S1_RW, 3);
    map(pt, 0x401000, DATA + 0x1000, S1_RO | D_DBM, 3);
    map(pt, 0x600000, 0, S1_RW & ~D_AF, 2);
    for (uint32_t sid = 1; sid <= 7; sid++) {
        ats(sid, 0, 0x400000, 0);
        ats(sid, 1, 0x401000, T_SSV | T_PRIV | T_X);
        ats(sid, 0, 0x401000, FZ_TXN_NO_WRITE);
        ats(sid, 0, 0x700000, 0);
        xl(sid, DATA, T_AT(SMMU_AT_TRANSLATED) | T_W);
        xl(sid, 0x400000, T_AT(SMMU_AT_TRANSLATION_REQ));
    }
    ats(1, 0, 0x600000, 0);
    ats(1, 0, 0xFFFFFFFFF000ull, 0);
    ats(1, 1, 0x401000, T_SSV | T_SEC);
    ats(40, 0, 0x1000, 0);
    ats(200, 0, 0x1000, 0);
    xl(200, 0x1000, T_AT(SMMU_AT_TRANSLATED));
    wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN);
    ats(1, 0, 0x400000, 0);
    xl(1, DATA, T_AT(SMMU_AT_TRANSLATED));
}

static void pri_setup(void) {
    bring_up(false, 6, 0, 0, SMMU_CR0_PRIQEN);
    wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_PRIQ_IRQEN | SMMU_IRQ_CTRL_GERROR_IRQEN | SMMU_IRQ_CTRL_EVENTQ_IRQEN);
    wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_SMMUEN | SMMU_CR0_PRIQEN);
    uint64_t pt = table_alloc();
    cd_at(CDS, pt, 1, 0);
    ste_s1(1, CDS, 2, 0, 0, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1) | SMMU_STE1_PPAR);
    ste_s1(2, CDS, 2, 0, 0, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1));
}

static void seed_pri(bool overflow, bool msi) {
    header(0, 0, 0, 0);
    trace(true);
    pri_setup();
    if (msi) {
        wr64(SMMU_PRIQ_IRQ_CFG0, MSI_TARGET);
        wr32(SMMU_PRIQ_IRQ_CFG1, 0x1234);
        wr32(SMMU_PRIQ_IRQ_CFG2, SMMU_PRIQ_IRQ_CFG2_LO | 1);
    }
    pri(1, 0, FZ_PRI_READ | FZ_PRI_LAST, 1, 0x400000);
    pri(1, 3, FZ_PRI_SSV | FZ_PRI_READ | FZ_PRI_WRITE | FZ_PRI_PRIV | FZ_PRI_EXEC, 2, 0x401000);
    pri(1, 3, FZ_PRI_SSV | FZ_PRI_LAST, 2, 0); /* Stop Marker */
    pri(1, 0, FZ_PRI_READ | FZ_PRI_SECURE | FZ_PRI_LAST, 3, 0x400000);
    pri(9, 0, FZ_PRI_READ | FZ_PRI_LAST, 4, 0x400000);
    pri(200, 0, FZ_PRI_READ | FZ_PRI_LAST, 4, 0x400000);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_PRI_RESP) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 1),
        SMMU_FIELD_PREP(SMMU_CMD1_PRI_PRGIDX, 1) | SMMU_FIELD_PREP(SMMU_CMD1_PRI_RESP, 0));
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_PRI_RESP) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 1) |
            SMMU_CMD0_SSV | SMMU_FIELD_PREP(SMMU_CMD0_SSID, 3),
        SMMU_FIELD_PREP(SMMU_CMD1_PRI_PRGIDX, 2) | SMMU_FIELD_PREP(SMMU_CMD1_PRI_RESP, 1));
    sync();
    if (overflow) {
        for (unsigned i = 0; i < 12; i++)
            pri(1 + (i & 1), i, FZ_PRI_READ | (i % 3 == 0 ? FZ_PRI_LAST : 0) | (i % 2 ? FZ_PRI_SSV : 0),
                10 + i, 0x400000 + 0x1000 * i);
        op1(FZ_OP_MSGS, 0);
        pri(2, 0, FZ_PRI_READ | FZ_PRI_LAST, 30, 0x400000);
        op1(FZ_OP_MSGS, 1);
        drv(FZ_DRV_DRAIN_PRIQ);
        pri(1, 0, FZ_PRI_READ | FZ_PRI_LAST, 31, 0x400000);
        wr32(SMMU_PRIQ_CONS, 0);
        pri(1, 0, FZ_PRI_READ | FZ_PRI_LAST, 32, 0x400000);
        aborts(2, PRIQ, PRIQ + 0x1000); /* PRIQ_ABT_ERR */
        drv(FZ_DRV_DRAIN_PRIQ);
        pri(1, 0, FZ_PRI_READ | FZ_PRI_LAST, 33, 0x400000);
        pri(1, 0, FZ_PRI_READ | FZ_PRI_LAST, 34, 0x400000);
        aborts(0, 0, 0);
        drv(FZ_DRV_ACK_GERROR);
        pri(1, 0, FZ_PRI_READ | FZ_PRI_LAST, 35, 0x400000);
    }
    wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_SMMUEN);
    pri(1, 0, FZ_PRI_READ | FZ_PRI_LAST, 36, 0x400000);
    stats();
}

static uint64_t atc_inv0(uint32_t sid, bool ssv, uint32_t ssid, bool global) {
    return SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_ATC_INV) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid) |
           (ssv ? SMMU_CMD0_SSV | SMMU_FIELD_PREP(SMMU_CMD0_SSID, ssid) : 0) |
           (global ? SMMU_CMD0_ATC_GLOBAL : 0);
}

/* ATC invalidation: completions, the SYNC waiting for them, timeouts, ITag exhaustion, undeliverable. */
static void seed_atc_inv(unsigned variant) {
    header(variant == 2 ? FZ_H_NO_MSGS : 0, 0, variant == 1 ? 2 : 0, variant == 1 ? 5 : 0);
    trace(true);
    bring_up(false, 6, 0, 0, 0);
    ste_simple(1, SMMU_STE_CONFIG_BYPASS, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1));
    cmd(atc_inv0(1, false, 0, false), 0x400000 | 0);
    cmd(atc_inv0(1, true, 5, true), 0x400000 | 3);
    cmd(atc_inv0(1, false, 0, false), 52);
    sync();
    inv_cpl(1, 1, 1);
    inv_cpl(1, 2, 0);
    inv_cpl(1, 0xFFFFFFFFu, 3);
    inv_cpl(7, 1, 1);
    put(FZ_OP_CMDQ, 1);
    put(1, 1);
    cmd(atc_inv0(1, false, 0, false), 0x800000);
    cmd(atc_inv0(2, false, 0, false), 0x800000);
    sync();
    time_ns(500);
    put(FZ_OP_CMDQ, 1);
    put(0, 1);
    time_ns(2000000); /* past the timeout: CERROR_ATC_INV_SYNC */
    rd(SMMU_CMDQ_CONS, 4);
    drv(FZ_DRV_SKIP_CMD);
    inv_cpl(1, 0xFFFFFFFFu, 0);
    inv_cpl(2, 0xFFFFFFFFu, 0);
    for (unsigned i = 0; i < 40; i++)
        cmd(atc_inv0(3, i & 1, i, i & 2), (uint64_t)i << 12 | (i % 8));
    sync();
    time_ns(3000000);
    drv(FZ_DRV_SKIP_CMD);
    inv_cpl(3, 0xFFFFFFFFu, 1);
    wr32(SMMU_CR0, SMMU_CR0_EVENTQEN | SMMU_CR0_SMMUEN); /* CMDQEN = 0 with invalidations outstanding */
    time_ns(100);
    stats();
}

/* Command errors: every opcode with garbage operands, each skipped the way Linux does; fetch aborts. */
static void seed_cmd_errors(unsigned variant) {
    header(0, 0, 0, 0);
    trace(true);
    bring_up(false, 6, 0, 0, 0);
    wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_GERROR_IRQEN);
    wr64(SMMU_GERROR_IRQ_CFG0, MSI_TARGET + 0x40);
    wr32(SMMU_GERROR_IRQ_CFG1, 0x99);
    uint64_t x = 0x9E3779B97F4A7C15ull * (variant + 1);
    for (unsigned op = variant * 0x28; op < (variant + 1) * 0x28 && op < 0x50; op++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, op) |
                (x & ~0xFFull & (variant ? ~0ull : 0xFFFFFFFF00000000ull)),
            x >> 3);
        drv(FZ_DRV_SKIP_CMD);
    }
    aborts(1, CMDQ, CMDQ + 0x400); /* CERROR_ABT */
    sync();
    aborts(0, 0, 0);
    drv(FZ_DRV_ACK_GERROR);
    aborts(2, MSI_TARGET, MSI_TARGET + 0x100); /* MSI aborts */
    sync_cs(SMMU_SYNC_CS_IRQ, MSI_TARGET);
    cmd(0xFF, 0);
    aborts(0, 0, 0);
    drv(FZ_DRV_SKIP_CMD);
    wr32(SMMU_CMDQ_PROD, cmd_prod + 100); /* PROD beyond the queue */
    put(FZ_OP_CMDQ, 1);
    put(1, 1);
    rd(SMMU_GERROR, 4);
}

/* Every register, both sizes, with values that set every bit, and misaligned accesses; then CR0 toggling and
 * GBPA updates. */
static void registers_body(void) {
    trace(true);
    for (uint32_t off = 0; off < 0x100; off += 4) {
        rd(off, 4);
        wr(off, 0xFFFFFFFFFFFFFFFFull, off % 8 ? 4 : 8);
        rd(off, off % 8 ? 4 : 8);
        wr32(off, 0);
    }
    for (uint32_t off = 0xFD0; off < 0x1000; off += 4)
        rd(off, 4);
    for (uint32_t off = 0x100A8; off < 0x100D0; off += 4) {
        rd(off, 4);
        wr32(off, 0x80000003u);
    }
    rd(0x3, 4);
    wr(0x6, 1, 4);
    rd(0x24, 8);
    wr(0x1234, 1, 8);
    wr32(SMMU_GBPA, SMMU_GBPA_UPDATE | SMMU_GBPA_ABORT);
    xl(0, 0x1000, 0);
    wr32(SMMU_GBPA, SMMU_GBPA_UPDATE | SMMU_GBPA_FIELDS);
    xl(0, 0x1000, T_W | T_X | T_PRIV);
    wr32(SMMU_GBPA, SMMU_GBPA_UPDATE);
    xl(0, 0x1000, T_AT(SMMU_AT_TRANSLATED));
    ats(0, 0, 0x1000, 0);
    bring_up(false, 6, 0, SMMU_CR2_E2H | SMMU_CR2_PTM | SMMU_CR2_RECINVSID, SMMU_CR0_ATSCHK | (1u << 6));
    wr32(SMMU_CR2, 0);
    wr64(SMMU_STRTAB_BASE, 0);
    wr32(SMMU_CR0, 0);
    wr32(SMMU_IRQ_CTRL, 7);
    rd(SMMU_IRQ_CTRLACK, 4);
    for (uint32_t off = 0; off < 0x100; off += 8)
        rd(off, 8);
    put(FZ_OP_RESET, 1);
    stats();
}

static void seed_registers(void) {
    header(0, 0, 0, 0);
    registers_body();
}

/* Random bytes over the stream table, CDs and tables, then traffic on many streams (like test_fuzz.cpp). */
static void seed_garbage(unsigned variant) {
    header(0, 0, 0, 0);
    st_two_level = variant & 1;
    bring_up(st_two_level, 10, st_split, SMMU_CR2_RECINVSID, 0);
    fill(STRTAB, 0x1000, (uint8_t)(17 + variant));
    fill(0x10000, 0x8000, (uint8_t)(3 + variant));
    /* Valid, translating configurations, with pointers into the garbage. */
    for (uint32_t sid = 0; sid < 16; sid++) {
        if (st_two_level)
            break;
        uint64_t d0 = mget(STRTAB + sid * 64) | SMMU_STE0_V;
        d0 = SMMU_FIELD_SET(d0, SMMU_STE0_S1CTXPTR, (0x10000 + sid * 0x440) >> 6);
        d0 = SMMU_FIELD_SET(d0, SMMU_STE0_CONFIG, 4 + (sid & 3));
        m64(STRTAB + sid * 64, d0);
        m64(STRTAB + sid * 64 + 24, 0x10000 + sid * 0x700);
    }
    cfgi_all();
    for (unsigned i = 0; i < 64; i++) {
        uint64_t a = ((uint64_t)i * 0x9E3779B1u) & 0xFFFFFF;
        xl_ss(i % 20, i, a, (i * 5) & (T_W | T_X | T_PRIV));
        xl(i % 20, a, (i * 3) & (T_W | T_X | T_PRIV));
        if (i % 4 == 0)
            ats(i % 20, i, a, T_SSV);
    }
    drv(FZ_DRV_DRAIN_EVTQ);
    st_two_level = false;
}

/* The event queue fills up and overflows, with MSIs, and its writes abort (EVENTQ_ABT_ERR). */
static void seed_evtq(void) {
    header(0, 0, 0, 0);
    bring_up(false, 6, 0, SMMU_CR2_RECINVSID, 0);
    wr32(SMMU_IRQ_CTRL, 7);
    wr64(SMMU_EVENTQ_IRQ_CFG0, MSI_TARGET + 0x80);
    wr32(SMMU_EVENTQ_IRQ_CFG1, 0x77);
    wr32(SMMU_EVENTQ_IRQ_CFG2, 0x31);
    for (unsigned i = 0; i < 70; i++)
        xl(100 + i, 0x1000, 0);
    drv(FZ_DRV_DRAIN_EVTQ);
    xl(100, 0x1000, 0);
    aborts(2, EVTQ, EVTQ + 0x800);
    xl(100, 0x1000, 0);
    drv(FZ_DRV_ACK_GERROR);
    aborts(3, STRTAB, STRTAB + 0x1000); /* F_STE_FETCH */
    xl(1, 0x1000, 0);
    aborts(0, 0, 0);
    wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_SMMUEN); /* EVENTQEN = 0: events dropped */
    xl(100, 0x1000, 0);
}

/* Other granules, TTB1, TBI, ASET, 52-bit VA, range invalidations. */
static void seed_granules(unsigned variant) {
    header(0, 0, 0, 0);
    bring_up(false, 6, 0, 0, 0);
    uint64_t t0 = table_alloc(), t1 = table_alloc();
    unsigned tg0 = variant == 0 ? SMMU_TG0_16K : SMMU_TG0_64K;
    unsigned tg1 = variant == 0 ? SMMU_TG1_16K : SMMU_TG1_64K;
    uint64_t d[8] = {SMMU_FIELD_PREP(SMMU_CD0_T0SZ, 16 + variant * 20) | SMMU_FIELD_PREP(SMMU_CD0_TG0, tg0) |
                         SMMU_FIELD_PREP(SMMU_CD0_T1SZ, 30) | SMMU_FIELD_PREP(SMMU_CD0_TG1, tg1) |
                         SMMU_CD0_V | SMMU_FIELD_PREP(SMMU_CD0_IPS, 2 + variant) | SMMU_CD0_AA64 |
                         SMMU_CD0_R | SMMU_CD0_A | SMMU_CD0_TBI0 | SMMU_CD0_TBI1 | SMMU_CD0_ASET |
                         SMMU_CD0_WXN | SMMU_CD0_PAN | SMMU_FIELD_PREP(SMMU_CD0_ASID, 0x42),
                     SMMU_ADDR_GET(SMMU_CD1_TTB0, t0), SMMU_ADDR_GET(SMMU_CD2_TTB1, t1), 0x0444FF04};
    write8(CDS, d);
    ste_s1(1, CDS, 0, 0, 0, SMMU_FIELD_PREP(SMMU_STE1_STRW, variant ? SMMU_STE_STRW_EL2 : 0));
    /* Guessing at the level layout is enough: the first descriptors of each table point at the next page. */
    for (int i = 0; i < 4; i++) {
        m64(t0 + 8 * i, (t0 + 0x1000 * (i + 1)) | 3);
        m64(t0 + 0x1000 * (i + 1), DATA | S1_RW | 3);
        m64(t1 + 8 * i, (t1 + 0x1000 * (i + 1)) | 1 | S1_RW);
    }
    xl(1, 0x0, 0);
    xl(1, 0xFF00000000000000ull, T_W);
    xl(1, 0xFFFFFFFFFFFFF000ull, 0);
    xl(1, 0xFFFFFFFF00000000ull, T_X);
    xl(1, 0x10, T_PRIV | T_W);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, variant ? SMMU_OP_TLBI_EL2_VA : SMMU_OP_TLBI_NH_VA) |
            SMMU_FIELD_PREP(SMMU_CMD0_ASID, 0x42) | SMMU_FIELD_PREP(SMMU_CMD0_NUM, 3) |
            SMMU_FIELD_PREP(SMMU_CMD0_SCALE, 1),
        SMMU_FIELD_PREP(SMMU_CMD1_TG, 1 + variant) | SMMU_FIELD_PREP(SMMU_CMD1_TTL, 3) | 0x10000);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_EL2_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 0x42), 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_EL2_ALL), 0);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_EL2_VAA), SMMU_FIELD_PREP(SMMU_CMD1_TG, 2) | 0x20000);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_S2_IPA) | SMMU_FIELD_PREP(SMMU_CMD0_NUM, 31) |
            SMMU_FIELD_PREP(SMMU_CMD0_SCALE, 20),
        SMMU_FIELD_PREP(SMMU_CMD1_TG, 3) | SMMU_FIELD_PREP(SMMU_CMD1_TTL, 2) | 0x30000);
    sync();
    xl(1, 0x0, 0);
}

/* Parameter variations: every header flag, and an invalid envelope (smmu_create returns NULL). */
static void seed_params(unsigned variant) {
    static const uint8_t flags[] = {FZ_H_NO_ATS | FZ_H_NO_HTTU | FZ_H_NO_2LVL | FZ_H_NO_MSI,
                                    FZ_H_OAS | FZ_H_SMALL_Q | FZ_H_NO_PRI, FZ_H_OAS, 0};
    static const uint8_t b1[] = {0, 0x20, 0x07, 0};
    header(flags[variant], b1[variant], 0, 0);
    if (variant == 3)
        header_xor(0, 0x3u << 24); /* STALL_MODEL = 2 */
    if (variant == 2) {
        /* OAS = 7 is refused: only the header runs. */
        return;
    }
    registers_body();
}

static void seed_bypass_abort(void) {
    header(0, 0, 0, 0);
    bring_up(false, 6, 0, 0, 0);
    ste_simple(1, SMMU_STE_CONFIG_BYPASS,
               SMMU_FIELD_PREP(SMMU_STE1_SHCFG, 3) | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, 5) | SMMU_STE1_MTCFG |
                   SMMU_FIELD_PREP(SMMU_STE1_PRIVCFG, 3) | SMMU_FIELD_PREP(SMMU_STE1_INSTCFG, 3) |
                   SMMU_FIELD_PREP(SMMU_STE1_ALLOCCFG, 0xE));
    ste_simple(2, SMMU_STE_CONFIG_ABORT, 0);
    ste_simple(3, 1, 0); /* reserved Config */
    ste_simple(4, SMMU_STE_CONFIG_BYPASS,
               SMMU_FIELD_PREP(SMMU_STE1_PRIVCFG, 2) | SMMU_FIELD_PREP(SMMU_STE1_INSTCFG, 2));
    for (uint32_t sid = 1; sid <= 4; sid++) {
        ste_sweep(sid);
        xl(sid, 0x1000, T_SEC);
    }
}

/* Single-bit variants of one valid structure: every field check of the STE, CD or descriptor decoder sees a
 * bad value once. kind 0: STE (stage 1, then nested); 1: STE stage 2; 2: CD; 3: stage-1 page descriptors;
 * 4: stage-2 page descriptors (nested, so that CD and table fetches go through stage 2 too). */
static void seed_bitflips(unsigned kind) {
    header(0, 0, 0, 0);
    bring_up(false, 8, 0, SMMU_CR2_RECINVSID, 0);
    uint64_t s1 = table_alloc(), s2 = table_alloc();
    map(s2, 0, 0, S2_RW, 1); /* IPA [0, 1 GiB) -> PA identity (level-1 block) */
    cd_at(CDS, s1, 1, SMMU_CD0_HA | SMMU_CD0_HD);
    map(s1, 0x400000, DATA, S1_RW | D_DBM, 3);
    if (kind <= 1) {
        /* Template STE at sid 0, one variant per SID; bits 0..255 of dwords 0..3. */
        if (kind == 0)
            ste_s1(0, CDS, 0, 0, 0, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1));
        else
            ste_s2(0, s2, 5, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1), SMMU_STE2_S2HA | SMMU_STE2_S2HD);
        for (unsigned bit = 0; bit < 256; bit++) {
            uint32_t sid = 1 + (bit % 255);
            if (bit && bit % 255 == 0)
                break;
            copy(STRTAB + sid * 64, STRTAB, 64);
            flip(STRTAB + sid * 64, bit);
            xl(sid, 0x400000, (bit & 1) ? T_W : 0);
            if (bit % 4 == 0)
                ats(sid, 0, 0x400000, 0);
        }
        if (kind == 0) {
            ste_nested(0, CDS, s2, 6);
            for (unsigned bit = 0; bit < 256; bit += 3) {
                copy(STRTAB + 64, STRTAB, 64);
                flip(STRTAB + 64, bit);
                cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 1),
                    1);
                xl(1, 0x400000, T_W);
            }
        }
        return;
    }
    if (kind == 2) {
        /* 256 CDs (S1CDMAX = 8): CD n is the template with bit n of dwords 0..3 flipped. */
        ste_s1(1, CDS + 0x4000, 8, 0, 0, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1));
        for (unsigned bit = 0; bit < 256; bit++) {
            copy(CDS + 0x4000 + bit * 64, CDS, 64);
            flip(CDS + 0x4000 + bit * 64, bit);
            xl_ss(1, bit, 0x400000, (bit & 1) ? T_W : 0);
        }
        return;
    }
    /* Descriptors: the leaf of VA 0x400000 + n * 4 KiB is the template with bit n flipped (64 bits), then the
     * level-2 table descriptor of VA 2 MiB * n with bit n flipped. */
    uint64_t root = kind == 3 ? s1 : s2;
    if (kind == 3)
        ste_s1(1, CDS, 0, 0, 0, 0);
    else {
        ste_nested(1, CDS, s2, 8);
        map(s2, 0x40000000, DATA, S2_RW | D_DBM, 3); /* IPA beyond the block: a stage-2 walk */
    }
    uint64_t va = kind == 3 ? 0x400000 : 0x40000000;
    if (kind == 4)
        map(s1, 0x400000, 0x40000000, S1_RW, 3);
    uint64_t leaf_table = mget(mget(root + ((va >> 30) & 511) * 8) & 0xFFFFFFFFF000ull) & 0xFFFFFFFFF000ull;
    uint64_t leaf = leaf_table + ((va >> 12) & 511) * 8;
    for (unsigned bit = 0; bit < 64; bit++) {
        uint64_t a = leaf_table + (((va >> 12) + 1 + bit) & 511) * 8;
        copy(a, leaf, 8);
        flip(a, bit);
        if (kind == 3) {
            xl(1, va + (1 + bit) * 0x1000, (bit & 1) ? T_W : T_X);
        } else {
            /* Stage 2 maps IPA 0x40000000 + n pages; stage 1 sends VA 0x400000 + n pages there. */
            map(s1, 0x400000 + (1 + bit) * 0x1000, va + (1 + bit) * 0x1000, S1_RW, 3);
            xl(1, 0x400000 + (1 + bit) * 0x1000, (bit & 1) ? T_W : 0);
        }
    }
    uint64_t l2 = mget(root + ((va >> 30) & 511) * 8) & 0xFFFFFFFFF000ull;
    for (unsigned bit = 0; bit < 64; bit += 2) {
        uint64_t a = l2 + (((va >> 21) + 1 + bit) & 511) * 8;
        m64(a, leaf_table | 3);
        flip(a, bit);
        xl(1, (kind == 3 ? va : 0x400000) + (1 + bit) * 0x200000, T_W);
    }
}

/* The validator over single-bit variations of every ID register and odd cache geometries. */
static void seed_params_validate(void) {
    header(0, 0, 0, 0);
    for (unsigned which = 0; which < 8; which++)
        for (unsigned bit = 0; bit < 32; bit++)
            params(which, 1u << bit);
    static const uint32_t caches[] = {0, 0x00000010u, 0x00FF0001u, 0x0004FFFFu, 0x03040010u, 0x02040010u};
    for (unsigned i = 0; i < sizeof caches / sizeof caches[0]; i++)
        for (unsigned which = FZ_PAR_TLB; which <= FZ_PAR_CONFIG; which++)
            params(which, caches[i]);
    params(FZ_PAR_DEPTH, 0);
    params(FZ_PAR_DEPTH, 33);
    params(5, 7);           /* OAS 56 */
    params(5, 0x70);        /* no granule */
    params(5, 3u << 10);    /* VAX reserved */
    params(1, 0x1Fu << 21); /* CMDQS 2^19 ^ 31 */
    params(0, 0x3);         /* neither S1P nor S2P */
    params(FZ_PAR_AIDR, 2); /* v3.0 */
}

/* Memory types: Device MAIR entries, stage-2 FWB and Device S2 attributes, STE attribute overrides. */
static void seed_attrs(void) {
    header(0, 0, 0, 0);
    bring_up(false, 6, 0, 0, 0);
    uint64_t s1 = table_alloc(), s2 = table_alloc();
    uint64_t d[8] = {SMMU_FIELD_PREP(SMMU_CD0_T0SZ, 25) | SMMU_CD0_EPD1 | SMMU_CD0_V |
                         SMMU_FIELD_PREP(SMMU_CD0_IPS, 5) | SMMU_CD0_AA64 | SMMU_CD0_R | SMMU_CD0_A |
                         SMMU_FIELD_PREP(SMMU_CD0_ASID, 3),
                     SMMU_ADDR_GET(SMMU_CD1_TTB0, s1), 0, 0x44BB0C08040000FFull};
    write8(CDS, d);
    for (unsigned i = 0; i < 8; i++) {
        /* IPA 2 MiB + n pages: beyond the level-2 block that maps the first 2 MiB. */
        map(s1, 0x400000 + i * 0x1000, 0x200000 + i * 0x1000, S1_RW | (i << 2) | ((uint64_t)(i & 3) << 8), 3);
        map(s2, 0x200000 + i * 0x1000, DATA + i * 0x1000,
            (S2_RW & ~(0xFull << 2)) | ((uint64_t)(i * 2 + 1) << 2), 3);
        map(s1, 0x408000 + i * 0x1000, 0x208000 + i * 0x1000, S1_RW | ((7 - i) << 2), 3);
        map(s2, 0x208000 + i * 0x1000, DATA + i * 0x1000, (S2_RW & ~(0xFull << 2)) | ((uint64_t)(i * 2) << 2),
            3);
    }
    map(s2, 0, 0, S2_RW, 2);
    uint64_t alloc =
        SMMU_FIELD_PREP(SMMU_STE1_ALLOCCFG, 0xE) | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, 0xF) | SMMU_STE1_MTCFG;
    for (unsigned v = 0; v < 4; v++) {
        uint32_t sid = 1 + v;
        uint64_t ste[8] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_NESTED) |
                               SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, CDS),
                           SMMU_FIELD_PREP(SMMU_STE1_SHCFG, v) | (v & 1 ? SMMU_STE1_S2FWB : 0) |
                               (v & 2 ? alloc : 0),
                           s2_dword2((uint16_t)(10 + v), 0), SMMU_ADDR_GET(SMMU_STE3_S2TTB, s2)};
        write8(ste_addr(sid), ste);
        for (unsigned i = 0; i < 16; i++)
            xl(sid, 0x400000 + i * 0x1000, i & 1 ? T_W : 0);
    }
    ste_simple(6, SMMU_STE_CONFIG_BYPASS, alloc | SMMU_FIELD_PREP(SMMU_STE1_SHCFG, 2));
    xl(6, 0x1000, 0);
    wr32(SMMU_GBPA, SMMU_GBPA_UPDATE | SMMU_FIELD_PREP(SMMU_GBPA_ALLOCCFG, 0xF) | SMMU_GBPA_MTCFG | 0x3);
    wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN);
    xl(6, 0x1000, T_W);
}

/* Stall model (on a core that has it): faults of stall-capable transactions on a CD with S = 1 stall;
 * CMD_RESUME retries or terminates them, CMD_STALL_TERM ends a stream's; the event queue fills while stalls
 * wait. */
static void seed_stall(unsigned variant) {
    header(0, 0, 0, 0);
    trace(true);
    bring_up(false, 6, 0, variant ? SMMU_CR2_RECINVSID : 0, 0);
    uint64_t pt = table_alloc(), s2 = table_alloc();
    cd_at(CDS, pt, 1, SMMU_CD0_S);
    ste_s1(1, CDS, 0, 0, 0, 0);
    ste_s1(2, CDS, 0, 0, 0, SMMU_STE1_S1STALLD);
    uint64_t d[8] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S2),
                     SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING), s2_dword2(4, SMMU_STE2_S2S),
                     SMMU_ADDR_GET(SMMU_STE3_S2TTB, s2)};
    write8(ste_addr(3), d);
    map(pt, 0x400000, DATA, S1_RO, 3);
    for (unsigned i = 0; i < 24; i++)
        xl_stall(1 + (i % 3), 0, 0x400000 + (i % 4 == 0 ? 0 : 0x1000 * i), i % 2 ? T_W : 0);
    xl(1, 0x401000, 0);
    for (uint16_t stag = 0; stag < 10; stag++)
        stall_outcome(1 + stag % 3, stag);
    for (uint16_t stag = 0; stag < 4; stag++)
        cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_RESUME) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 1 + stag % 3) |
                (stag & 1 ? SMMU_CMD0_RESUME_AC : 0) | (stag & 2 ? SMMU_CMD0_RESUME_AB : 0),
            stag);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_STALL_TERM) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 3), 0);
    sync();
    for (uint16_t stag = 0; stag < 10; stag++)
        stall_outcome(1 + stag % 3, stag);
    if (variant) {
        /* A full event queue: stall records wait for room. */
        for (unsigned i = 0; i < 70; i++)
            xl(100 + i, 0x1000, 0);
        xl_stall(1, 0, 0x402000, 0);
        drv(FZ_DRV_DRAIN_EVTQ);
        xl(1, 0x401000, 0);
        wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_SMMUEN);
        stall_outcome(1, 0);
        put(FZ_OP_RESET, 1);
        stall_outcome(1, 0);
    }
    stats();
    /* The last byte picks the host: odd with stall_resolved, even polling only. */
    put(0, 1);
    put(variant, 1);
}

/* Walker corners: stage-1 table fetches through stage 2 (faulting, and Device memory with S2PTW), big-endian
 * tables with hardware updates, PAN, XN[1:0] variants, and the start-level / PA-size rules. */
static void seed_walk_edges(void) {
    header(0, 0, 0, 0);
    trace(true);
    bring_up(false, 6, 0, 0, 0);
    uint64_t s1 = table_alloc(), s2 = table_alloc();
    cd_at(CDS, s1, 1, SMMU_CD0_ENDI | SMMU_CD0_HA | SMMU_CD0_HD | SMMU_CD0_PAN);
    /* Stage 2: identity for the CD page and a window for data; stage-1 tables are not mapped at first. */
    map(s2, CDS, CDS, S2_RW, 3);
    for (unsigned i = 0; i < 4; i++)
        map(s2, DATA + i * 0x1000, DATA + i * 0x1000, (S2_RW & ~(3ull << 53)) | ((uint64_t)i << 53), 3);
    uint64_t ste[8] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_NESTED) |
                           SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, CDS),
                       SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING),
                       s2_dword2(3, SMMU_STE2_S2PTW | SMMU_STE2_S2HA), SMMU_ADDR_GET(SMMU_STE3_S2TTB, s2)};
    write8(ste_addr(1), ste);
    /* Big-endian stage-1 descriptors, written byte-swapped. */
    uint64_t l2 = table_alloc(), l3 = table_alloc();
    m64(s1, __builtin_bswap64(l2 | 3));
    m64(l2 + 2 * 8, __builtin_bswap64(l3 | 3));
    for (unsigned i = 0; i < 4; i++)
        m64(l3 + i * 8, __builtin_bswap64((DATA + i * 0x1000) | ((S1_RO & ~D_AF) | D_DBM) | 3));
    xl(1, 0x400000, 0); /* stage-1 table fetch: stage-2 translation fault */
    map(s2, s1, s1, S2_RW, 3);
    map(s2, l2, l2, (S2_RW & ~(0xFull << 2)) | (1ull << 2), 3); /* Device: S2PTW permission fault */
    map(s2, l3, l3, S2_RW, 3);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_S12_VMALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 3), 0);
    sync();
    xl(1, 0x400000, 0);
    m64(l2 + 2 * 8, 0);
    ste[2] = s2_dword2(3, SMMU_STE2_S2HA | SMMU_STE2_S2HD);
    write8(ste_addr(1), ste);
    m64(l2 + 2 * 8, __builtin_bswap64(l3 | 3));
    map(s2, l2, l2, S2_RW, 3);
    cfgi_all();
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_S12_VMALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 3), 0);
    sync();
    for (unsigned i = 0; i < 4; i++) {
        xl(1, 0x400000 + i * 0x1000, T_W | T_PRIV);
        xl(1, 0x400000 + i * 0x1000, T_X);
        xl(1, 0x400000 + i * 0x1000, T_X | T_PRIV);
    }
    /* Stage-2 start levels: SL0 = 2 with 4K (needs a 44-bit PA) and 16K/64K granules. */
    for (unsigned v = 0; v < 6; v++) {
        uint32_t sid = 2 + v;
        uint64_t d2 = s2_dword2(20 + v, 0);
        d2 = SMMU_FIELD_SET(d2, SMMU_STE2_S2SL0, v < 3 ? 2 : 1);
        d2 = SMMU_FIELD_SET(d2, SMMU_STE2_S2TG,
                            v % 3 == 0   ? SMMU_TG0_4K
                            : v % 3 == 1 ? SMMU_TG0_16K
                                         : SMMU_TG0_64K);
        d2 = SMMU_FIELD_SET(d2, SMMU_STE2_S2PS, v < 3 ? 2 : 6);
        d2 = SMMU_FIELD_SET(d2, SMMU_STE2_S2T0SZ, v < 3 ? 16 : 20);
        uint64_t d[8] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S2), 0, d2,
                         SMMU_ADDR_GET(SMMU_STE3_S2TTB, s2)};
        write8(ste_addr(sid), d);
        xl(sid, DATA, 0);
        xl(sid, 0xFFFF000000000ull, 0);
    }
}

/* ATS and PRI corners: S1DSS bypass without a PASID, INSTCFG, write-only stage 2, CD fetch and walk aborts,
 * overflow with bad streams (REC_CFG_ATS), Stop Markers in overflow and with the queue aborting. */
static void seed_ats_pri_edges(unsigned variant) {
    header(0, 0, 0, 0);
    if (variant)
        header_xor(3, SMMU_IDR3_PPS);
    trace(true);
    bring_up(false, 6, 0, SMMU_CR2_REC_CFG_ATS | SMMU_CR2_RECINVSID, SMMU_CR0_PRIQEN);
    wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_SMMUEN | SMMU_CR0_PRIQEN);
    uint64_t pt = table_alloc(), s2 = table_alloc();
    cd_at(CDS, pt, 1, 0);
    cd_at(CDS + 64, pt, 2, 0);
    map(pt, 0x400000, DATA, S1_RW, 3);
    map(pt, 0x401000, DATA + 0x1000, S1_RW | D_UXN | D_PXN, 3);
    ste_s1(1, CDS, 1, 0, SMMU_STE_S1DSS_BYPASS, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1));
    ste_s1(2, CDS, 0, 0, 0,
           SMMU_FIELD_PREP(SMMU_STE1_EATS, 1) | SMMU_FIELD_PREP(SMMU_STE1_INSTCFG, SMMU_INSTCFG_DATA) |
               SMMU_FIELD_PREP(SMMU_STE1_PRIVCFG, SMMU_PRIVCFG_PRIV));
    ste_s1(3, CDS, 0, 0, 0,
           SMMU_FIELD_PREP(SMMU_STE1_EATS, 1) | SMMU_FIELD_PREP(SMMU_STE1_INSTCFG, SMMU_INSTCFG_INSTR));
    ste_s2(4, s2, 6, SMMU_FIELD_PREP(SMMU_STE1_EATS, 1), 0);
    map(s2, 0x400000, DATA, (S2_RW & ~D_AP1), 3); /* S2AP = write only */
    map(s2, 0x401000, DATA, (S2_RW & ~(D_AP1 | D_AP2)), 3);
    ats(1, 0, 0x400000, 0);
    ats(1, 0, 0xFFFFFFFFFFFFF000ull, 0);
    ats(1, 1, 0x400000, T_SSV);
    for (uint32_t sid = 2; sid <= 4; sid++) {
        ats(sid, 0, 0x400000, 0);
        ats(sid, 0, 0x400000, FZ_TXN_NO_WRITE);
        ats(sid, 0, 0x401000, 0);
        ats(sid, 1, 0x401000, T_SSV | T_X | T_PRIV);
        ats(sid, 1, 0x400000, T_SSV | T_X);
    }
    aborts(1, CDS, CDS + 0x100);
    cfgi_all();
    ats(2, 0, 0x400000, 0);
    xl(2, 0x400000, 0);
    aborts(1, pt, pt + 0x10000);
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
    sync();
    ats(3, 0, 0x400000, 0);
    aborts(0, 0, 0);
    /* PRI: overflow, then requests from streams whose STE cannot be read, and Stop Markers. */
    for (unsigned i = 0; i < 10; i++)
        pri(1, 0, FZ_PRI_READ, i, 0x400000);
    pri(1, 0, FZ_PRI_READ | FZ_PRI_LAST, 20, 0x400000);
    pri(1, 5, FZ_PRI_SSV | FZ_PRI_LAST, 21, 0);
    pri(200, 0, FZ_PRI_READ | FZ_PRI_LAST, 22, 0x400000);
    pri(9, 0, FZ_PRI_READ | FZ_PRI_LAST, 23, 0x400000);
    aborts(3, STRTAB, STRTAB + 0x1000);
    pri(1, 0, FZ_PRI_READ | FZ_PRI_LAST, 24, 0x400000);
    aborts(2, PRIQ, PRIQ + 0x1000);
    drv(FZ_DRV_DRAIN_PRIQ);
    pri(1, 5, FZ_PRI_SSV | FZ_PRI_LAST, 25, 0);
    pri(1, 5, FZ_PRI_SSV | FZ_PRI_LAST, 26, 0);
    aborts(0, 0, 0);
}

typedef struct seed {
    const char *name;
    void (*fn)(unsigned);
    unsigned arg;
    uint8_t h4; /* header byte 4: FZ_H4_* host variations on top of the scenario */
} seed;

#define WRAP0(f)                                                                                             \
    static void f##_w(unsigned a) {                                                                          \
        (void)a;                                                                                             \
        f();                                                                                                 \
    }
WRAP0(seed_s1)
WRAP0(seed_s2)
WRAP0(seed_nested)
WRAP0(seed_registers)
WRAP0(seed_evtq)
WRAP0(seed_bypass_abort)
static void seed_two_level_w(unsigned a) {
    seed_two_level(a);
}
static void seed_httu_w(unsigned a) {
    seed_httu(a);
}
static void seed_pri_w(unsigned a) {
    seed_pri(a & 1, a & 2);
}

WRAP0(seed_params_validate)
WRAP0(seed_walk_edges)
static void seed_stall_w(unsigned a) {
    seed_stall(a);
}
WRAP0(seed_attrs)

static const seed seeds[] = {
    {"bitflip-ste-s1-nested", seed_bitflips, 0, 0},
    {"bitflip-ste-s2", seed_bitflips, 1, 0},
    {"bitflip-cd", seed_bitflips, 2, 0},
    {"bitflip-pte-s1", seed_bitflips, 3, 0},
    {"bitflip-pte-s2", seed_bitflips, 4, 0},
    {"params-validate", seed_params_validate_w, 0, 0},
    {"attrs", seed_attrs_w, 0, 0},
    {"stall", seed_stall_w, 0, 0},
    {"walk-edges", seed_walk_edges_w, 0, 0},
    {"ats-pri-edges", seed_ats_pri_edges, 0, 0},
    {"ats-pri-edges-pps", seed_ats_pri_edges, 1, 0},
    {"walk-edges-no-caches", seed_walk_edges_w, 0, FZ_H4_NO_CACHES | FZ_H4_NO_CAS},
    {"httu-s1-no-cas", seed_httu_w, 0, FZ_H4_NO_CAS | FZ_H4_FIFO},
    {"atc-inv-host-minimal", seed_atc_inv, 0, FZ_H4_NO_TIME | FZ_H4_NO_MSG | FZ_H4_FIFO},
    {"stall-evtq-full", seed_stall_w, 1, 0},
    {"s1", seed_s1_w, 0, 0},
    {"s2", seed_s2_w, 0, 0},
    {"nested", seed_nested_w, 0, 0},
    {"two-level-4k", seed_two_level_w, 0, 0},
    {"two-level-64k", seed_two_level_w, 1, 0},
    {"httu-s1", seed_httu_w, 0, 0},
    {"httu-s2", seed_httu_w, 1, 0},
    {"ats", seed_ats, 0, 0},
    {"ats-atschk", seed_ats, 1, 0},
    {"ats-absent", seed_ats, 2, 0},
    {"pri", seed_pri_w, 0, 0},
    {"pri-overflow", seed_pri_w, 1, 0},
    {"pri-overflow-msi", seed_pri_w, 3, 0},
    {"atc-inv", seed_atc_inv, 0, 0},
    {"atc-inv-depth-timeout", seed_atc_inv, 1, 0},
    {"atc-inv-undeliverable", seed_atc_inv, 2, 0},
    {"cmd-errors-a", seed_cmd_errors, 0, 0},
    {"cmd-errors-b", seed_cmd_errors, 1, 0},
    {"registers", seed_registers_w, 0, 0},
    {"garbage-linear", seed_garbage, 0, 0},
    {"garbage-two-level", seed_garbage, 1, 0},
    {"garbage-linear-2", seed_garbage, 2, 0},
    {"evtq", seed_evtq_w, 0, 0},
    {"granule-16k", seed_granules, 0, 0},
    {"granule-64k-el2", seed_granules, 1, 0},
    {"params-reduced", seed_params, 0, 0},
    {"params-small-queues", seed_params, 1, 0},
    {"params-invalid", seed_params, 2, 0},
    {"params-stall", seed_params, 3, 0},
    {"bypass-abort", seed_bypass_abort_w, 0, 0},
};

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        reset_builder();
        seeds[i].fn(seeds[i].arg);
        out[4] |= seeds[i].h4;
        char path[4096];
        snprintf(path, sizeof path, "%s/seed-%s", argv[1], seeds[i].name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(out, 1, out_len, f) != out_len || fclose(f) != 0) {
            fprintf(stderr, "gen_corpus: %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    return 0;
}
