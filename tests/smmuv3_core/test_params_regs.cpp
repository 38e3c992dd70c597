// Parameters validation and the register file.
#include <gtest/gtest.h>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

std::string validate_error(const smmu_params &p) {
    char err[256] = "";
    EXPECT_FALSE(smmu_params_validate(&p, err, sizeof(err)));
    return err;
}

} // namespace

TEST(SmmuParams, DefaultEnvelopeIsValid) {
    smmu_params p;
    smmu_params_default(&p);
    char err[256] = "";
    EXPECT_TRUE(smmu_params_validate(&p, err, sizeof(err))) << err;
    EXPECT_TRUE(p.idr[0] & SMMU_IDR0_S1P);
    EXPECT_TRUE(p.idr[0] & SMMU_IDR0_S2P);
    EXPECT_TRUE(p.idr[0] & SMMU_IDR0_ATS);
    EXPECT_TRUE(p.idr[0] & SMMU_IDR0_PRI);
    EXPECT_EQ(SMMU_FIELD_GET(SMMU_IDR1_SSIDSIZE, p.idr[1]), 20u);
    EXPECT_EQ(SMMU_FIELD_GET(SMMU_IDR1_SIDSIZE, p.idr[1]), 16u);
    EXPECT_TRUE(p.idr[3] & SMMU_IDR3_RIL);
    EXPECT_TRUE(p.idr[3] & SMMU_IDR3_XNX) << "SMMUv3.1 and later with stage 2 implement FEAT_XNX";
    EXPECT_TRUE(p.engine.xnx);
    // SMMUv3.2 (the default AIDR) makes FEAT_S2FWB and a break-before-make level of 1 or 2 mandatory.
    EXPECT_EQ(SMMU_FIELD_GET(SMMU_AIDR_MINOR, p.aidr), 2u);
    EXPECT_TRUE(p.idr[3] & SMMU_IDR3_FWB);
    EXPECT_EQ(SMMU_FIELD_GET(SMMU_IDR3_BBML, p.idr[3]), 2u);
}

TEST(SmmuParams, RejectsImpossibleCombinationsWithReason) {
    struct Case {
        unsigned idr;
        uint64_t clear, set;
        const char *needle;
    } cases[] = {
        {0, SMMU_IDR0_S1P | SMMU_IDR0_S2P, 0, "translation stage"},
        {0, SMMU_IDR0_ATS, 0, "requires IDR0.ATS"},
        {5, SMMU_IDR5_STALL_MAX, 0, "STALL_MAX=0"},
        {0, SMMU_IDR0_STALL_MODEL, SMMU_FIELD_PREP(SMMU_IDR0_STALL_MODEL, 3), "reserved"},
        {0, SMMU_IDR0_TTF, SMMU_FIELD_PREP(SMMU_IDR0_TTF, 3), "AArch32"},
        {0, SMMU_IDR0_TTF, 0, "TTF=0"},
        {0, SMMU_IDR0_TTENDIAN, SMMU_FIELD_PREP(SMMU_IDR0_TTENDIAN, 1), "TTENDIAN"},
        {1, SMMU_IDR1_CMDQS, SMMU_FIELD_PREP(SMMU_IDR1_CMDQS, 20), "queue size"},
        {1, SMMU_IDR1_EVENTQS, SMMU_FIELD_PREP(SMMU_IDR1_EVENTQS, 25), "queue size"},
        {1, SMMU_IDR1_SSIDSIZE, SMMU_FIELD_PREP(SMMU_IDR1_SSIDSIZE, 21), "SSIDSIZE"},
        {1, SMMU_IDR1_SSIDSIZE, 0, "CD2L"},
        {5, SMMU_IDR5_OAS, SMMU_FIELD_PREP(SMMU_IDR5_OAS, 7), "OAS"},
        {5, SMMU_IDR5_GRAN4K | SMMU_IDR5_GRAN16K | SMMU_IDR5_GRAN64K, 0, "granule"},
        {5, SMMU_IDR5_VAX, SMMU_FIELD_PREP(SMMU_IDR5_VAX, 2), "56-bit"},
        {5, SMMU_IDR5_VAX, SMMU_FIELD_PREP(SMMU_IDR5_VAX, 3), "reserved"},
        {3, SMMU_IDR3_XNX, 0, "XNX=0 with IDR0.S2P=1"},
        {3, SMMU_IDR3_FWB, 0, "FEAT_S2FWB"},
        {3, SMMU_IDR3_BBML, 0, "BBML=0"},
        {3, SMMU_IDR3_BBML, SMMU_FIELD_PREP(SMMU_IDR3_BBML, 3), "BBML=3 is reserved"},
    };
    for (const Case &c : cases) {
        smmu_params p;
        smmu_params_default(&p);
        p.idr[c.idr] = (uint32_t)((p.idr[c.idr] & ~c.clear) | c.set);
        std::string err = validate_error(p);
        EXPECT_NE(err.find(c.needle), std::string::npos) << "got: " << err << " want: " << c.needle;
        EXPECT_EQ(err.find('\n'), std::string::npos);
        smmu_host_ops ops{};
        EXPECT_EQ(smmu_create(&p, &ops, nullptr), nullptr);
    }
}

// 52-bit VAs and PAs exist from SMMUv3.1 on; STT is accepted.
TEST(SmmuParams, FiftyTwoBitEnvelopeNeedsV31) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[3] |= SMMU_IDR3_STT;
    p.idr[5] = (uint32_t)(SMMU_FIELD_SET(p.idr[5], SMMU_IDR5_OAS, SMMU_IDR5_OAS_52) |
                          SMMU_FIELD_PREP(SMMU_IDR5_VAX, SMMU_IDR5_VAX_52));
    char err[256] = "";
    EXPECT_TRUE(smmu_params_validate(&p, err, sizeof(err))) << err;
    p.aidr = 0; // SMMUv3.0
    EXPECT_NE(validate_error(p).find("OAS=6"), std::string::npos) << validate_error(p);
    p.idr[5] = (uint32_t)SMMU_FIELD_SET(p.idr[5], SMMU_IDR5_OAS, 5);
    EXPECT_NE(validate_error(p).find("VAX=1"), std::string::npos) << validate_error(p);
}

// IDR3.XNX is RES0 in SMMUv3.0 and mandatory with stage 2 from SMMUv3.1 on; without stage 2 it is optional.
TEST(SmmuParams, XnxFollowsTheRevision) {
    smmu_params p;
    smmu_params_default(&p);
    char err[256] = "";
    p.aidr = (uint32_t)SMMU_FIELD_PREP(SMMU_AIDR_MINOR, 1);
    p.idr[3] &= ~(uint32_t)(SMMU_IDR3_FWB | SMMU_IDR3_BBML); // SMMUv3.2 features
    EXPECT_TRUE(smmu_params_validate(&p, err, sizeof(err))) << err;
    p.idr[3] &= ~(uint32_t)SMMU_IDR3_XNX;
    EXPECT_NE(validate_error(p).find("FEAT_XNX"), std::string::npos) << validate_error(p);
    p.idr[0] &= ~(uint32_t)SMMU_IDR0_S2P;
    EXPECT_TRUE(smmu_params_validate(&p, err, sizeof(err))) << err;
    smmu_params v30;
    smmu_params_default(&v30);
    v30.aidr = 0;
    EXPECT_NE(validate_error(v30).find("XNX=1"), std::string::npos) << validate_error(v30);
}

// IDR3.FWB and IDR3.BBML exist from SMMUv3.2 on, where FWB = 1 and BBML = 1 or 2 are mandatory.
TEST(SmmuParams, FwbAndBbmlFollowTheRevision) {
    char err[256] = "";
    for (unsigned bbml : {1u, 2u}) {
        smmu_params p;
        smmu_params_default(&p);
        p.idr[3] = (uint32_t)SMMU_FIELD_SET(p.idr[3], SMMU_IDR3_BBML, bbml);
        EXPECT_TRUE(smmu_params_validate(&p, err, sizeof(err))) << err;
    }
    smmu_params p;
    smmu_params_default(&p);
    p.aidr = (uint32_t)SMMU_FIELD_PREP(SMMU_AIDR_MINOR, 1);
    EXPECT_NE(validate_error(p).find("FWB=1 with AIDR < v3.2"), std::string::npos) << validate_error(p);
    p.idr[3] &= ~(uint32_t)SMMU_IDR3_FWB;
    EXPECT_NE(validate_error(p).find("BBML=2 with AIDR < v3.2"), std::string::npos) << validate_error(p);
    p.idr[3] &= ~(uint32_t)SMMU_IDR3_BBML;
    EXPECT_TRUE(smmu_params_validate(&p, err, sizeof(err))) << err;
}

TEST(SmmuParams, CacheParameterChecks) {
    smmu_params p;
    smmu_params_default(&p);
    p.config_cache.ways = 0;
    EXPECT_NE(validate_error(p).find("config_cache"), std::string::npos);
}

namespace {

smmu_cache_params *cache_of(smmu_params &p, int which) {
    return which == 0 ? &p.config_cache : which == 1 ? &p.engine.tlb : &p.engine.walk_cache;
}
const char *const kCacheNames[] = {"config_cache", "engine.tlb", "engine.walk_cache"};

} // namespace

// Geometries no model could build, or could only build by silently dropping the cache, are refused by name.
TEST(SmmuParams, CacheGeometryIsBounded) {
    struct {
        uint32_t sets, ways;
        unsigned policy;
        const char *reason;
    } bad[] = {
        {0xFFFFFFFFu, 0xFFFFFFFFu, 0, "4294967295 ways, at most 1024"},
        {1u << 20, 256, 0, "1048576 sets x 256 ways = 268435456 entries, at most 1048576 (2^20)"},
        {(1u << 20) + 1, 1, 0, "= 1048577 entries, at most 1048576"},
        {1, 1025, 0, "1025 ways, at most 1024"},
        {64, 0, 0, "64 sets with 0 ways"},
        {64, 4, 3, "replacement policy 3"},
    };
    for (int which = 0; which < 3; which++) {
        for (auto &b : bad) {
            smmu_params p;
            smmu_params_default(&p);
            *cache_of(p, which) = {b.sets, b.ways, static_cast<smmu_repl_policy>(b.policy), 1000};
            std::string err = validate_error(p);
            EXPECT_EQ(err.rfind(std::string(kCacheNames[which]) + ": ", 0), 0u) << err;
            EXPECT_NE(err.find(b.reason), std::string::npos) << err;
            smmu_host_ops ops{};
            EXPECT_EQ(smmu_create(&p, &ops, nullptr), nullptr);
        }
        // sets = 0 disables the cache whatever the other fields say.
        smmu_params p;
        smmu_params_default(&p);
        *cache_of(p, which) = {0, 0xFFFFFFFFu, static_cast<smmu_repl_policy>(7), 1000};
        char err[256] = "";
        EXPECT_TRUE(smmu_params_validate(&p, err, sizeof(err))) << err;
    }
}

// Every geometry at the bounds builds a model in which every cache is enabled and serves hits.
TEST(SmmuParams, EveryAcceptedCacheGeometryBuildsWorkingCaches) {
    const smmu_cache_params geometries[] = {
        {1u << 20, 1, SMMU_REPL_LRU, 1000},     // 2^20 entries, direct-mapped
        {1u << 10, 1024, SMMU_REPL_FIFO, 1000}, // 2^20 entries, the most ways
        {1, 1024, SMMU_REPL_RANDOM, 1000},      // fully associative
        {1, 1, SMMU_REPL_LRU, 1000},            // the smallest
    };
    for (const smmu_cache_params &g : geometries) {
        smmu_params p;
        smmu_params_default(&p);
        p.config_cache = p.engine.tlb = p.engine.walk_cache = g;
        char err[256] = "";
        ASSERT_TRUE(smmu_params_validate(&p, err, sizeof(err))) << err;
        Harness h(&p); // throws if smmu_create fails
        h.bring_up();
        S1Stream st = make_s1_stream(h, 1, 1);
        st.pt->map(0x1000, 0x90001000, kS1PageRw);
        st.pt->map(0x2000, 0x90002000, kS1PageRw);
        ASSERT_EQ(h.translate(1, 0x1000).status, SMMU_XLATE_OK) << g.sets << "x" << g.ways;
        EXPECT_EQ(h.translate(1, 0x1000).pa, 0x90001000u);
        EXPECT_EQ(h.translate(1, 0x2000).pa, 0x90002000u);
        EXPECT_GE(h.stat("config_cache.inserts"), 2u) << g.sets << "x" << g.ways;
        if (uint64_t(g.sets) * g.ways >= 2) { // one entry cannot hold the STE and the CD together
            EXPECT_GE(h.stat("config_cache.hits"), 2u) << g.sets << "x" << g.ways;
        }
        EXPECT_GE(h.stat("engine.tlb.hits"), 1u) << g.sets << "x" << g.ways;
        if (g.ways > 1) {
            EXPECT_GE(h.stat("engine.walk_cache.hits"), 1u) << g.sets << "x" << g.ways;
        } else {
            EXPECT_GE(h.stat("engine.walk_cache.inserts"), 2u) << g.sets << "x" << g.ways;
        }
    }
}

TEST(SmmuRegs, IdRegistersReflectParameters) {
    smmu_params p;
    smmu_params_default(&p);
    p.iidr = 0x4321043B; // product 0x432, variant 1, revision 0, implementer 0x43B
    Harness h(&p);
    for (unsigned i = 0; i < 6; i++)
        EXPECT_EQ(h.rd32(SMMU_IDR0 + 4 * i), p.idr[i]);
    EXPECT_EQ(h.rd32(SMMU_IIDR), p.iidr);
    EXPECT_EQ(h.rd32(SMMU_AIDR), p.aidr);
    // PIDRs carry the same identity as IIDR.
    EXPECT_EQ(h.rd32(SMMU_PIDR0), 0x32u);
    EXPECT_EQ(h.rd32(SMMU_PIDR1) & 0xF, 0x4u);
    EXPECT_EQ(h.rd32(SMMU_PIDR1) >> 4, 0xBu);
    EXPECT_EQ(h.rd32(SMMU_PIDR2) & 0x7, 0x3u);
    EXPECT_EQ(h.rd32(SMMU_PIDR2) >> 4, 0x1u);
    EXPECT_EQ(h.rd32(SMMU_PIDR4) & 0xF, 0x4u);
    EXPECT_EQ(h.rd32(SMMU_CIDR0), 0x0Du);
    EXPECT_EQ(h.rd32(SMMU_CIDR3), 0xB1u);
    // ID registers are read-only.
    h.wr32(SMMU_IDR0, 0);
    EXPECT_EQ(h.rd32(SMMU_IDR0), p.idr[0]);
}

TEST(SmmuRegs, AccessRulesAndReservedOffsets) {
    Harness h;
    uint64_t v = 1;
    EXPECT_FALSE(smmu_reg_read(h.s, nullptr, 0x22, 4, &v));
    EXPECT_FALSE(smmu_reg_read(h.s, nullptr, 0x84, 8, &v));
    EXPECT_FALSE(smmu_reg_read(h.s, nullptr, 0x80, 2, &v));
    EXPECT_FALSE(smmu_reg_write(h.s, nullptr, 0x20000, 4, 0));
    // Reserved offsets are RAZ/WI.
    h.wr32(0x0E00, 0xFFFFFFFF);
    EXPECT_EQ(h.rd32(0x0E00), 0u);
    h.wr32(0x10000, 0xFFFFFFFF);
    EXPECT_EQ(h.rd32(0x10000), 0u);
    h.wr32(SMMU_AGBPA, 0x1234);
    EXPECT_EQ(h.rd32(SMMU_AGBPA), 0u);
    EXPECT_EQ(h.rd32(SMMU_STATUSR), 0u);
}

TEST(SmmuRegs, SixtyFourBitRegistersAsHalves) {
    Harness h;
    h.wr32(SMMU_STRTAB_BASE, 0x12345FC0);
    h.wr32(SMMU_STRTAB_BASE + 4, 0x4000ABCD);
    EXPECT_EQ(h.rd64(SMMU_STRTAB_BASE), 0x4000ABCD12345FC0ull);
    EXPECT_EQ(h.rd32(SMMU_STRTAB_BASE + 4), 0x4000ABCDu);
    // RES0 bits (below ADDR[6], above 62) are masked.
    h.wr64(SMMU_STRTAB_BASE, ~0ull);
    EXPECT_EQ(h.rd64(SMMU_STRTAB_BASE), SMMU_STRTAB_BASE_ADDR | SMMU_STRTAB_BASE_RA);
    h.wr64(SMMU_CMDQ_BASE, ~0ull);
    EXPECT_EQ(h.rd64(SMMU_CMDQ_BASE), SMMU_Q_BASE_ADDR | SMMU_Q_BASE_RWA | SMMU_Q_BASE_LOG2SIZE);
    // A 64-bit access to a pair of 32-bit registers acts on both.
    h.wr64(SMMU_GERROR_IRQ_CFG1, 0x0000003F12345678ull);
    EXPECT_EQ(h.rd32(SMMU_GERROR_IRQ_CFG1), 0x12345678u);
    EXPECT_EQ(h.rd32(SMMU_GERROR_IRQ_CFG2), 0x3Fu);
}

TEST(SmmuRegs, Cr0AckFollowsAndReservedBitsMasked) {
    Harness h;
    h.wr32(SMMU_CR0, 0xFFFFFFFF);
    // With IDR0.ATS and IDR0.PRI (the default envelope) ATSCHK (0x10) and PRIQEN (0x2) are writable; VMW is
    // RES0.
    uint32_t expect = 0x1Fu;
    EXPECT_EQ(h.rd32(SMMU_CR0), expect);
    EXPECT_EQ(h.rd32(SMMU_CR0ACK), expect);
    h.wr32(SMMU_CR0, 0);
    EXPECT_EQ(h.rd32(SMMU_CR0ACK), 0u);
    h.wr32(SMMU_IRQ_CTRL, 0xFF);
    EXPECT_EQ(h.rd32(SMMU_IRQ_CTRL), 0x7u); // GERROR_IRQEN, PRIQ_IRQEN (with PRI), EVENTQ_IRQEN
    EXPECT_EQ(h.rd32(SMMU_IRQ_CTRLACK), h.rd32(SMMU_IRQ_CTRL));
    h.wr32(SMMU_CR2, 0xFF);
    // REC_CFG_ATS (0x8) exists with ATS.
    EXPECT_EQ(h.rd32(SMMU_CR2), 0xFu);
}

TEST(SmmuRegs, WritesIgnoredWhileEnabled) {
    Harness h;
    h.bring_up();
    uint64_t base = h.rd64(SMMU_STRTAB_BASE);
    uint32_t cfg = h.rd32(SMMU_STRTAB_BASE_CFG);
    h.wr64(SMMU_STRTAB_BASE, 0x1000);
    h.wr32(SMMU_STRTAB_BASE_CFG, 3);
    EXPECT_EQ(h.rd64(SMMU_STRTAB_BASE), base);
    EXPECT_EQ(h.rd32(SMMU_STRTAB_BASE_CFG), cfg);
    uint64_t cq = h.rd64(SMMU_CMDQ_BASE), eq = h.rd64(SMMU_EVENTQ_BASE);
    h.wr64(SMMU_CMDQ_BASE, 0x2000);
    h.wr64(SMMU_EVENTQ_BASE, 0x3000);
    h.wr32(SMMU_CMDQ_CONS, 5);
    h.wr32(SMMU_EVENTQ_PROD, 5);
    EXPECT_EQ(h.rd64(SMMU_CMDQ_BASE), cq);
    EXPECT_EQ(h.rd64(SMMU_EVENTQ_BASE), eq);
    EXPECT_EQ(h.rd32(SMMU_CMDQ_CONS), 0u);
    EXPECT_EQ(h.rd32(SMMU_EVENTQ_PROD), 0u);
    // CR1: neither table (SMMUEN=1) nor queue (queues enabled) fields are writable; CR2 neither.
    h.wr32(SMMU_CR1, 0xFFF);
    EXPECT_EQ(h.rd32(SMMU_CR1), 0u);
    h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    EXPECT_EQ(h.rd32(SMMU_CR2), 0u);
    // After disabling SMMUEN only the table fields become writable.
    h.wr32(SMMU_CR0, (uint32_t)(SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN));
    h.wr32(SMMU_CR1, 0xFFF);
    EXPECT_EQ(h.rd32(SMMU_CR1), (uint32_t)SMMU_CR1_TABLE_FIELDS);
    h.wr32(SMMU_CR0, 0);
    h.wr32(SMMU_CR1, 0x015);
    EXPECT_EQ(h.rd32(SMMU_CR1), 0x015u);
}

TEST(SmmuRegs, IrqCfgIgnoredWhileInterruptEnabled) {
    Harness h;
    h.wr64(SMMU_EVENTQ_IRQ_CFG0, 0x9000);
    h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_EVENTQ_IRQEN);
    h.wr64(SMMU_EVENTQ_IRQ_CFG0, 0xA000);
    h.wr32(SMMU_EVENTQ_IRQ_CFG1, 7);
    EXPECT_EQ(h.rd64(SMMU_EVENTQ_IRQ_CFG0), 0x9000u);
    EXPECT_EQ(h.rd32(SMMU_EVENTQ_IRQ_CFG1), 0u);
    // ADDR[55:2]: low bits RES0.
    h.wr64(SMMU_GERROR_IRQ_CFG0, 0xFFFF00000000FFFFull);
    EXPECT_EQ(h.rd64(SMMU_GERROR_IRQ_CFG0), 0x00FF00000000FFFCull);
    // PRIQ MSI registers follow the same rule, and are RES0 without PRI.
    h.wr64(SMMU_PRIQ_IRQ_CFG0, 0x5000);
    h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_EVENTQ_IRQEN | SMMU_IRQ_CTRL_PRIQ_IRQEN);
    h.wr64(SMMU_PRIQ_IRQ_CFG0, 0x6000);
    h.wr32(SMMU_PRIQ_IRQ_CFG1, 7);
    EXPECT_EQ(h.rd64(SMMU_PRIQ_IRQ_CFG0), 0x5000u);
    EXPECT_EQ(h.rd32(SMMU_PRIQ_IRQ_CFG1), 0u);
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] &= ~(uint32_t)SMMU_IDR0_PRI;
    Harness no_pri(&p);
    no_pri.wr64(SMMU_PRIQ_IRQ_CFG0, 0x5000);
    EXPECT_EQ(no_pri.rd64(SMMU_PRIQ_IRQ_CFG0), 0u);
}

TEST(SmmuRegs, MsiRegistersRes0WithoutMsi) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] &= ~(uint32_t)SMMU_IDR0_MSI;
    Harness h(&p);
    h.wr64(SMMU_GERROR_IRQ_CFG0, 0x1000);
    h.wr32(SMMU_GERROR_IRQ_CFG1, 5);
    EXPECT_EQ(h.rd64(SMMU_GERROR_IRQ_CFG0), 0u);
    EXPECT_EQ(h.rd32(SMMU_GERROR_IRQ_CFG1), 0u);
}

TEST(SmmuRegs, GbpaUpdateHandshake) {
    Harness h;
    uint32_t reset = h.rd32(SMMU_GBPA);
    EXPECT_EQ(reset & SMMU_GBPA_UPDATE, 0u);
    EXPECT_EQ(reset & SMMU_GBPA_ABORT, 0u);
    // Without Update the write has no effect.
    h.wr32(SMMU_GBPA, (uint32_t)SMMU_GBPA_ABORT);
    EXPECT_EQ(h.rd32(SMMU_GBPA), reset);
    h.wr32(SMMU_GBPA, (uint32_t)(SMMU_GBPA_ABORT | SMMU_GBPA_UPDATE));
    EXPECT_EQ(h.rd32(SMMU_GBPA), (uint32_t)SMMU_GBPA_ABORT); // completed: Update reads 0
}

TEST(SmmuRegs, PageOneQueuePointersAndAlias) {
    Harness h;
    h.wr64(SMMU_EVENTQ_BASE, 0x4000 | 4);
    h.wr32(SMMU_EVENTQ_PROD, 0x13);
    h.wr32(SMMU_EVENTQ_CONS, 0x80000011);
    EXPECT_EQ(h.rd32(SMMU_EVENTQ_PROD), 0x13u);
    EXPECT_EQ(h.rd32(SMMU_EVENTQ_CONS), 0x80000011u);
    EXPECT_EQ(h.rd32(SMMU_EVENTQ_PROD_ALIAS), 0x13u);
    EXPECT_EQ(h.rd32(SMMU_EVENTQ_CONS_ALIAS), 0x80000011u);
    h.wr32(SMMU_PRIQ_CONS, 0x7);
    EXPECT_EQ(h.rd32(SMMU_PRIQ_CONS), 0x7u);
    EXPECT_EQ(h.rd32(SMMU_PRIQ_CONS_ALIAS), 0x7u);
}

TEST(SmmuRegs, ResetRestoresValues) {
    Harness h;
    h.bring_up();
    h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_GERROR_IRQEN);
    smmu_reset(h.s);
    EXPECT_EQ(h.rd32(SMMU_CR0), 0u);
    EXPECT_EQ(h.rd32(SMMU_CR0ACK), 0u);
    EXPECT_EQ(h.rd32(SMMU_IRQ_CTRL), 0u);
    EXPECT_EQ(h.rd64(SMMU_STRTAB_BASE), 0u);
}

TEST(SmmuRegs, TraceLinePerRegisterWriteOnlyWhenEnabled) {
    Harness h;
    h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    EXPECT_TRUE(h.trace.empty());
    smmu_set_trace(h.s, true);
    h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    ASSERT_EQ(h.trace.size(), 1u);
    EXPECT_EQ(h.trace[0], "smmu: write CR2 = 0x2");
}
