// Guest garbage must never crash the model: random STEs, CDs, L1 descriptors, page tables and commands.
#include <gtest/gtest.h>

#include <random>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

bool known_event(unsigned id) {
    switch (id) {
    case SMMU_EVT_F_UUT:
    case SMMU_EVT_C_BAD_STREAMID:
    case SMMU_EVT_F_STE_FETCH:
    case SMMU_EVT_C_BAD_STE:
    case SMMU_EVT_F_STREAM_DISABLED:
    case SMMU_EVT_F_TRANSL_FORBIDDEN:
    case SMMU_EVT_C_BAD_SUBSTREAMID:
    case SMMU_EVT_F_CD_FETCH:
    case SMMU_EVT_C_BAD_CD:
    case SMMU_EVT_F_WALK_EABT:
    case SMMU_EVT_F_TRANSLATION:
    case SMMU_EVT_F_ADDR_SIZE:
    case SMMU_EVT_F_ACCESS:
    case SMMU_EVT_F_PERMISSION:
        return true;
    default:
        return false;
    }
}

// Queue pointer distance (entries) from cons to prod, given the wrap bit at `log2`.
uint32_t queue_used(uint32_t prod, uint32_t cons, unsigned log2) {
    uint32_t mask = (2u << log2) - 1;
    return ((prod & mask) - (cons & mask)) & mask;
}

} // namespace

class SmmuFuzz : public ::testing::TestWithParam<unsigned> {};

TEST_P(SmmuFuzz, RandomStructuresAndCommandsKeepTheModelConsistent) {
    std::mt19937_64 rng(GetParam());
    Harness h;
    h.setup_queues(5, 4);
    h.setup_stream_table({GetParam() % 2 == 1, 10, 6});
    h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    h.enable();
    h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_EVENTQ_IRQEN | SMMU_IRQ_CTRL_GERROR_IRQEN);

    // Random bytes over the stream table (and its L1 descriptors), and a pool of random CD / table pages that
    // random pointers are likely to hit.
    uint64_t pool = h.alloc(64 * 4096);
    for (uint64_t a = pool; a < pool + 64 * 4096; a += 8)
        h.mem.write64(a, rng());
    auto random_ptr = [&]() { return pool + (rng() % (64 * 4096)); };
    if (h.st.two_level) {
        for (uint32_t i = 0; i < 16; i++) {
            uint64_t d = (rng() & ~SMMU_L1STD_L2PTR) | SMMU_ADDR_GET(SMMU_L1STD_L2PTR, random_ptr());
            h.mem.write64(h.strtab_base + i * 8, d);
        }
    } else {
        for (uint32_t sid = 0; sid < 1024; sid++) {
            std::array<uint64_t, 8> ste;
            for (auto &d : ste)
                d = rng();
            // Bias towards valid, translating STEs that point into the pool.
            if (rng() % 2) {
                ste[0] |= SMMU_STE0_V;
                ste[0] = SMMU_FIELD_SET(ste[0], SMMU_STE0_S1CTXPTR, random_ptr() >> 6);
                ste[3] = SMMU_FIELD_SET(ste[3], SMMU_STE3_S2TTB, random_ptr() >> 4);
            }
            h.write_ste(sid, ste);
        }
    }

    for (int iter = 0; iter < 20000; iter++) {
        // ATS invalidations are sent and never completed here: time moves on so a CMD_SYNC behind them times
        // out (CERROR_ATC_INV_SYNC) instead of blocking the queue for ever.
        h.now_ps += 100000000;
        switch (rng() % 4) {
        case 0: { // a random command, sometimes a well-formed one
            uint64_t d0 = rng(), d1 = rng();
            if (rng() % 2) {
                d0 &= ~SMMU_CMD0_SSEC;
                static const unsigned ops[] = {
                    SMMU_OP_CFGI_STE,   SMMU_OP_CFGI_STE_RANGE, SMMU_OP_CFGI_CD,      SMMU_OP_CFGI_CD_ALL,
                    SMMU_OP_TLBI_NH_VA, SMMU_OP_TLBI_NH_ASID,   SMMU_OP_TLBI_S2_IPA,  SMMU_OP_TLBI_NSNH_ALL,
                    SMMU_OP_SYNC,       SMMU_OP_TLBI_EL2_VAA,   SMMU_OP_PREFETCH_ADDR};
                d0 = SMMU_FIELD_SET(d0, SMMU_CMD0_OPCODE, ops[rng() % (sizeof(ops) / sizeof(ops[0]))]);
                if (SMMU_FIELD_GET(SMMU_CMD0_OPCODE, d0) == SMMU_OP_SYNC && rng() % 2)
                    d1 = SMMU_ADDR_GET(SMMU_CMD1_SYNC_MSIADDR, random_ptr());
            }
            h.cmd(d0, d1);
            uint32_t gerr = h.rd32(SMMU_GERROR) ^ h.rd32(SMMU_GERRORN);
            if (gerr & SMMU_GERROR_CMDQ_ERR) {
                unsigned err = h.cmdq_cons_err();
                EXPECT_TRUE(err == SMMU_CERROR_ILL || err == SMMU_CERROR_ABT ||
                            err == SMMU_CERROR_ATC_INV_SYNC)
                    << err;
                // Skip the bad command the way Linux does: replace it with a CMD_SYNC and acknowledge.
                uint32_t cons = h.rd32(SMMU_CMDQ_CONS) & ((1u << h.cmdq_log2) - 1);
                h.mem.write64(h.cmdq_base + cons * 16, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC));
                h.mem.write64(h.cmdq_base + cons * 16 + 8, 0);
            }
            h.wr32(SMMU_GERRORN, h.rd32(SMMU_GERROR));
            break;
        }
        case 1:
        case 2: { // a random transaction
            smmu_pcie_at at = (rng() % 8 == 0) ? SMMU_AT_TRANSLATED : SMMU_AT_UNTRANSLATED;
            smmu_result r = h.translate((uint32_t)(rng() % 1100), rng() >> (rng() % 64), rng() % 2, rng() % 2,
                                        (uint32_t)(rng() & 0xFFFFF), at, rng() % 2, rng() % 2);
            EXPECT_TRUE(r.status == SMMU_XLATE_OK || r.status == SMMU_XLATE_ABORT ||
                        r.status == SMMU_XLATE_RAZ_WI);
            if (r.status != SMMU_XLATE_OK) {
                EXPECT_TRUE(r.event_id == 0 || known_event(r.event_id)) << (unsigned)r.event_id;
            }
            break;
        }
        default: { // scribble over the pool
            for (int i = 0; i < 8; i++)
                h.mem.write64(pool + (rng() % (64 * 4096)) / 8 * 8, rng());
            break;
        }
        }
        // Consumer invariants: CONS never passes PROD, records are well formed.
        uint32_t cprod = h.rd32(SMMU_CMDQ_PROD), ccons = h.rd32(SMMU_CMDQ_CONS);
        ASSERT_LE(queue_used(cprod, ccons, h.cmdq_log2), 1u << h.cmdq_log2);
        uint32_t eprod = h.rd32(SMMU_EVENTQ_PROD), econs = h.rd32(SMMU_EVENTQ_CONS);
        ASSERT_LE(queue_used(eprod, econs, h.evtq_log2), 1u << h.evtq_log2);
        if (iter % 7 == 0) {
            for (const Event &e : h.events()) {
                EXPECT_TRUE(known_event(e.id())) << e.id();
                EXPECT_LT(e.sid(), 1100u);
            }
        }
    }
    EXPECT_GT(h.stat("translations.total"), 5000u);
}

// Random register writes mixed with traffic and commands: the model must answer everything and keep its ID
// registers and access rules intact.
TEST_P(SmmuFuzz, RandomRegisterWritesNeverBreakTheModel) {
    std::mt19937_64 rng(GetParam() * 7919u);
    Harness h;
    h.bring_up();
    h.write_ste(1, Harness::ste_bypass());
    smmu_params p = h.params;
    for (int iter = 0; iter < 20000; iter++) {
        unsigned size = (rng() % 2) ? 4 : 8;
        uint64_t off = (rng() % (SMMU_REG_SPACE_SIZE / size)) * size;
        if (rng() % 4 == 0)
            off = (rng() % 0x100) & ~uint64_t(size - 1); // mostly the interesting page-0 registers
        if (rng() % 8 == 0)
            off = 0x10000 + ((0xA8 + (rng() % 0x30)) & ~uint64_t(size - 1));
        ASSERT_TRUE(smmu_reg_write(h.s, nullptr, off, size, rng()));
        uint64_t v;
        ASSERT_TRUE(smmu_reg_read(h.s, nullptr, off, size, &v));
        if (rng() % 4 == 0)
            h.translate((uint32_t)(rng() % 4), rng(), rng() % 2, rng() % 2, (uint32_t)rng() & 0xFFFFF);
        if (rng() % 16 == 0) {
            // Random bytes where the command queue may point, then kick it.
            for (int i = 0; i < 8; i++)
                h.mem.write64(h.cmdq_base + (rng() % 64) * 8, rng());
            smmu_reg_write(h.s, nullptr, SMMU_CMDQ_PROD, 4, rng());
        }
    }
    for (unsigned i = 0; i < 6; i++)
        EXPECT_EQ(h.rd32(SMMU_IDR0 + 4 * i), p.idr[i]);
    uint64_t v;
    EXPECT_FALSE(smmu_reg_read(h.s, nullptr, 0x6, 4, &v));
}

INSTANTIATE_TEST_SUITE_P(Seeds, SmmuFuzz, ::testing::Values(1u, 2u, 3u, 4u));
