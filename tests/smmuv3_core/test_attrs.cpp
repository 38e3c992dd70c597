// Memory attributes: what the SMMU's own accesses (table walks, CD and STE fetches, queues) carry, and the
// attributes of translated and bypassed transactions.
#include <gtest/gtest.h>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

constexpr uint64_t kVa = 0x12345000;
constexpr uint64_t kPa = 0x40ABC000;

// Host encoding of smmu_mem_attrs cacheability.
constexpr uint8_t kNc = 0, kWb = 1, kWt = 2;

constexpr uint64_t kNsh = 0, kOsh = 2, kIsh = 3;

// Stage-2 page, read/write, with MemAttr[3:0] and SH.
uint64_t s2_page(uint64_t memattr, uint64_t sh) {
    return kDescAf | kDescAp1 | kDescAp2 | (sh << 8) | (memattr << 2);
}

// Stage-1 page, unprivileged read/write, non-global, with AttrIndx and SH.
uint64_t s1_page(uint64_t attr_index, uint64_t sh) {
    return kDescAf | kDescAp1 | kDescNg | (sh << 8) | (attr_index << 2);
}

// A nested stream: stage 2 maps the harness allocation area at IPA == PA with Normal WB blocks (so stage-1
// tables and the CD are reachable), stage 1 uses `mair`.
struct NestedStream {
    std::unique_ptr<PageTable> s1, s2;
};

NestedStream make_nested_stream(Harness &h, uint32_t sid, uint64_t mair) {
    NestedStream n;
    n.s2 = std::make_unique<PageTable>(h, 1);
    for (uint64_t pa = 0x80000000ull; pa < 0x80800000ull; pa += 0x200000)
        n.s2->map(pa, pa, s2_page(0xF, kIsh), 2);
    uint64_t cd_pa = h.alloc(64, 64);
    n.s1 = std::make_unique<PageTable>(h, 1);
    auto cd = Harness::cd(n.s1->root(), 1);
    cd[3] = mair;
    h.write_cd(cd_pa, cd);
    auto ste = h.ste_s2(n.s2->root(), 3);
    ste[0] = SMMU_FIELD_SET(ste[0], SMMU_STE0_CONFIG, SMMU_STE_CONFIG_NESTED) |
             SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, cd_pa);
    ste[1] |= SMMU_FIELD_PREP(SMMU_STE1_S1CIR, 1) | SMMU_FIELD_PREP(SMMU_STE1_S1COR, 1);
    h.write_ste(sid, ste);
    return n;
}

} // namespace

// Walks and CD fetches take both cacheability levels of their IRx/ORx fields, STE fetches and queue accesses
// those of CR1; Non-cacheable at both levels is Outer Shareable whatever the SH field says.
TEST(SmmuAttrs, SmmuAccessesCarryInnerAndOuterCacheability) {
    Harness h;
    h.wr32(SMMU_CR1,
           (uint32_t)(SMMU_FIELD_PREP(SMMU_CR1_TABLE_IC, 1) | SMMU_FIELD_PREP(SMMU_CR1_TABLE_OC, 2) |
                      SMMU_FIELD_PREP(SMMU_CR1_TABLE_SH, 3) | SMMU_FIELD_PREP(SMMU_CR1_QUEUE_IC, 0) |
                      SMMU_FIELD_PREP(SMMU_CR1_QUEUE_OC, 0) | SMMU_FIELD_PREP(SMMU_CR1_QUEUE_SH, 3)));
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw);
    auto ste = Harness::ste_s1(st.cd_addr);
    ste[1] = SMMU_FIELD_SET(ste[1], SMMU_STE1_S1CIR, 2); // WT
    ste[1] = SMMU_FIELD_SET(ste[1], SMMU_STE1_S1COR, 3); // WB, no Read-Allocate
    ste[1] = SMMU_FIELD_SET(ste[1], SMMU_STE1_S1CSH, 3); // ISH
    h.write_ste(1, ste);
    auto cd = Harness::cd(st.pt->root(), 1);
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_IR0, 0); // NC
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_OR0, 2); // WT
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_SH0, 0); // NSH: applies, the outer level is cacheable
    h.write_cd(st.cd_addr, cd);
    ASSERT_EQ(h.translate(1, kVa).status, SMMU_XLATE_OK);

    const smmu_mem_attrs &ste_fetch = h.last_attrs[SMMU_MEM_STE];
    EXPECT_EQ(ste_fetch.cache, kWb);
    EXPECT_EQ(ste_fetch.outer_cache, kWt);
    EXPECT_EQ(ste_fetch.share, 3u);
    const smmu_mem_attrs &cd_fetch = h.last_attrs[SMMU_MEM_CD];
    EXPECT_EQ(cd_fetch.cache, kWt);
    EXPECT_EQ(cd_fetch.outer_cache, kWb);
    EXPECT_EQ(cd_fetch.share, 3u);
    const smmu_mem_attrs &walk = h.last_attrs[SMMU_MEM_TT];
    EXPECT_EQ(walk.cache, kNc);
    EXPECT_EQ(walk.outer_cache, kWt);
    EXPECT_EQ(walk.share, 0u);

    // Queues: CR1.QUEUE_IC = QUEUE_OC = NC, so QUEUE_SH (ISH) is IGNORED and the accesses are OSH.
    h.sync();
    ASSERT_GT(h.accesses[SMMU_MEM_QUEUE], 0u);
    const smmu_mem_attrs &queue = h.last_attrs[SMMU_MEM_QUEUE];
    EXPECT_EQ(queue.cache, kNc);
    EXPECT_EQ(queue.outer_cache, kNc);
    EXPECT_EQ(queue.share, 2u);

    // Walks with IR0 = OR0 = NC are OSH although SH0 says ISH.
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_OR0, 0);
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_SH0, 3);
    h.write_cd(st.cd_addr, cd);
    h.cfgi_cd(1, 0);
    h.cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_ALL));
    ASSERT_EQ(h.translate(1, kVa + 0x1000).status, SMMU_XLATE_ABORT); // unmapped: the walk still ran
    EXPECT_EQ(h.last_attrs[SMMU_MEM_TT].outer_cache, kNc);
    EXPECT_EQ(h.last_attrs[SMMU_MEM_TT].share, 2u);
}

// STE.MemAttr and GBPA.MemAttr 0b0100, 0b1000 and 0b1100 are reserved and behave as Device-nGnRnE.
TEST(SmmuAttrs, ReservedMemAttrOverridesBehaveAsDeviceNGnRnE) {
    Harness h;
    h.setup_queues();
    for (unsigned memattr : {0x4u, 0x8u, 0xCu}) {
        h.wr32(SMMU_GBPA,
               (uint32_t)(SMMU_GBPA_UPDATE | SMMU_GBPA_MTCFG | SMMU_FIELD_PREP(SMMU_GBPA_MEMATTR, memattr) |
                          SMMU_FIELD_PREP(SMMU_GBPA_SHCFG, SMMU_SHCFG_OSH)));
        smmu_result r = h.translate(1, 0x1234);
        ASSERT_EQ(r.status, SMMU_XLATE_OK);
        EXPECT_EQ(r.mem_attr, 0x00u) << "GBPA.MemAttr " << memattr;
    }
    h.setup_stream_table({});
    h.enable();
    for (unsigned memattr : {0x4u, 0x8u, 0xCu}) {
        auto ste = Harness::ste_bypass();
        ste[1] = SMMU_STE1_MTCFG | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, memattr) |
                 SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_OSH);
        h.write_ste(memattr, ste);
        smmu_result r = h.translate(memattr, 0x9000);
        ASSERT_EQ(r.status, SMMU_XLATE_OK);
        EXPECT_TRUE(r.bypass);
        EXPECT_EQ(r.mem_attr, 0x00u) << "STE.MemAttr " << memattr;
    }
}

// With stage 1 bypassed, the stage-2 MemAttr combines with the incoming attributes (Normal WB when MTCFG does
// not override them) and the stage-2 SH with SHCFG.
TEST(SmmuAttrs, StageTwoOnlyResultCombinesStageTwoWithTheIncomingAttributes) {
    Harness h;
    h.bring_up();
    PageTable s2(h, 1);
    struct Case {
        bool mtcfg;
        unsigned memattr, shcfg;
        uint64_t s2_memattr, s2_sh;
        uint8_t mair, share;
    } cases[] = {
        {false, 0, SMMU_SHCFG_INCOMING, 0x1, kIsh, 0x04, kOsh}, // Device-nGnRE from stage 2
        {false, 0, SMMU_SHCFG_INCOMING, 0x6, kIsh, 0x4B, kIsh}, // oNC-iWT (allocation hints RA, WA)
        {false, 0, SMMU_SHCFG_INCOMING, 0x8, kIsh, 0x00, kOsh}, // reserved: Device-nGnRnE
        {false, 0, SMMU_SHCFG_INCOMING, 0xF, kNsh, 0xFF, kNsh}, // incoming NSH + stage-2 NSH
        {false, 0, SMMU_SHCFG_OSH, 0xF, kNsh, 0xFF, kOsh},      // SHCFG wins: more shareable
        {false, 0, SMMU_SHCFG_NSH, 0xF, kIsh, 0xFF, kIsh},      // stage 2 wins: more shareable
        {true, 0xE, SMMU_SHCFG_ISH, 0xB, kIsh, 0xBB, kIsh},     // oWB-iWT + oWT-iWB = oWT-iWT
        {true, 0xF, SMMU_SHCFG_ISH, 0x5, kIsh, 0x44, kOsh},     // stage-2 Non-cacheable wins
    };
    uint32_t sid = 1;
    for (const Case &c : cases) {
        uint64_t ipa = 0x1000ull * sid;
        s2.map(ipa, kPa + ipa, s2_page(c.s2_memattr, c.s2_sh));
        auto ste = h.ste_s2(s2.root(), 5);
        ste[1] = (c.mtcfg ? SMMU_STE1_MTCFG | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, c.memattr) : 0) |
                 SMMU_FIELD_PREP(SMMU_STE1_SHCFG, c.shcfg);
        h.write_ste(sid, ste);
        for (int pass = 0; pass < 2; pass++) { // the second one hits the TLB
            smmu_result r = h.translate(sid, ipa);
            ASSERT_EQ(r.status, SMMU_XLATE_OK);
            EXPECT_EQ(r.mem_attr, c.mair) << "case " << sid << " pass " << pass;
            EXPECT_EQ(r.share, c.share) << "case " << sid << " pass " << pass;
        }
        sid++;
    }
    EXPECT_GT(h.stat("engine.tlb.hits"), 0u);
}

// Nested: the stage-1 MAIR attribute combines with the stage-2 MemAttr (Device beats Normal, the stricter
// Device type wins, each cacheability level keeps the weaker type and the stronger hints) and the more
// shareable domain wins.
TEST(SmmuAttrs, NestedResultCombinesBothStages) {
    Harness h;
    h.bring_up();
    // MAIR: 0 WB, 1 Device-nGnRE, 2 Device-GRE, 3 WT (RA, WA), 4 NC, 5 outer WB transient / inner WB.
    NestedStream n = make_nested_stream(h, 1, 0x00007F44BB0C04FFull);
    struct Case {
        uint64_t s1_index, s1_sh, s2_memattr, s2_sh;
        uint8_t mair, share;
    } cases[] = {
        {0, kIsh, 0x0, kNsh, 0x00, kOsh}, // WB + Device-nGnRnE
        {2, kIsh, 0x1, kIsh, 0x04, kOsh}, // Device-GRE + Device-nGnRE: the stricter
        {1, kIsh, 0xF, kIsh, 0x04, kOsh}, // Device-nGnRE + WB
        {0, kIsh, 0x9, kIsh, 0xB4, kIsh}, // WB + oWT-iNC: outer WT keeps stage 1's hints
        {5, kIsh, 0xA, kIsh, 0x3B, kIsh}, // transient outer WB + WT: transient outer WT
        {3, kIsh, 0xF, kIsh, 0xBB, kIsh}, // WT + WB
        {4, kIsh, 0xF, kIsh, 0x44, kOsh}, // NC + WB
        {0, kNsh, 0xF, kIsh, 0xFF, kIsh}, // NSH + ISH
        {0, kIsh, 0xF, kOsh, 0xFF, kOsh}, // ISH + OSH
        {0, kIsh, 0xF, kNsh, 0xFF, kIsh}, // ISH + NSH
        {0, kNsh, 0xF, kNsh, 0xFF, kNsh}, // NSH + NSH
    };
    unsigned i = 0;
    for (const Case &c : cases) {
        uint64_t va = kVa + 0x1000ull * i, ipa = 0x50000000ull + 0x1000ull * i;
        n.s1->map(va, ipa, s1_page(c.s1_index, c.s1_sh));
        n.s2->map(ipa, kPa + 0x1000ull * i, s2_page(c.s2_memattr, c.s2_sh));
        for (int pass = 0; pass < 2; pass++) { // the second one hits the TLB
            smmu_result r = h.translate(1, va);
            ASSERT_EQ(r.status, SMMU_XLATE_OK) << "case " << i << " event " << (unsigned)r.event_id;
            EXPECT_EQ(r.pa, kPa + 0x1000ull * i);
            EXPECT_EQ(r.mem_attr, c.mair) << "case " << i << " pass " << pass;
            EXPECT_EQ(r.share, c.share) << "case " << i << " pass " << pass;
        }
        i++;
    }
    EXPECT_GT(h.stat("engine.tlb.hits"), 0u);
}

// Any-Device and Normal iNC-oNC are Outer Shareable whatever SHCFG or an SH field says; types with a
// cacheable level keep their shareability. Checked on every path that computes a result shareability.
TEST(SmmuAttrs, DeviceAndNonCacheableAreOuterShareableOnEveryPath) {
    Harness h;
    h.setup_queues();
    struct Override {
        unsigned memattr, shcfg;
        uint8_t share;
    } overrides[] = {
        {0x1, SMMU_SHCFG_NSH, kOsh}, // Device-nGnRE
        {0x0, SMMU_SHCFG_ISH, kOsh}, // Device-nGnRnE
        {0x5, SMMU_SHCFG_ISH, kOsh}, // iNC-oNC
        {0x7, SMMU_SHCFG_NSH, kNsh}, // oNC-iWB: cacheable inner, SHCFG applies
        {0xD, SMMU_SHCFG_ISH, kIsh}, // oWB-iNC
    };
    // SMMUEN = 0: GBPA.
    for (const Override &o : overrides) {
        h.wr32(SMMU_GBPA,
               (uint32_t)(SMMU_GBPA_UPDATE | SMMU_GBPA_MTCFG | SMMU_FIELD_PREP(SMMU_GBPA_MEMATTR, o.memattr) |
                          SMMU_FIELD_PREP(SMMU_GBPA_SHCFG, o.shcfg)));
        EXPECT_EQ(h.translate(1, 0x1234).share, o.share) << "GBPA.MemAttr " << o.memattr;
    }
    h.setup_stream_table({});
    h.enable();
    // STE bypass, and stage 2 only with a Normal WB NSH page: the override's type decides.
    PageTable s2(h, 1);
    s2.map(kVa, kPa, s2_page(0xF, kNsh));
    uint32_t sid = 1;
    for (const Override &o : overrides) {
        auto ste = Harness::ste_bypass();
        ste[1] = SMMU_STE1_MTCFG | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, o.memattr) |
                 SMMU_FIELD_PREP(SMMU_STE1_SHCFG, o.shcfg);
        h.write_ste(sid, ste);
        EXPECT_EQ(h.translate(sid, 0x9000).share, o.share) << "STE bypass, MemAttr " << o.memattr;
        auto ste2 = h.ste_s2(s2.root(), 5);
        ste2[1] = ste[1];
        h.write_ste(sid + 100, ste2);
        smmu_result r = h.translate(sid + 100, kVa);
        ASSERT_EQ(r.status, SMMU_XLATE_OK);
        EXPECT_EQ(r.share, o.share) << "stage 2 only, MemAttr " << o.memattr;
        sid++;
    }
    // Stage 2 only, the stage-2 page decides: Device or iNC-oNC with SH = NSH is OSH.
    for (uint64_t memattr : {0x1ull, 0x5ull}) {
        s2.map(kVa + 0x1000 * memattr, kPa, s2_page(memattr, kNsh));
        h.write_ste(50, h.ste_s2(s2.root(), 5));
        smmu_result r = h.translate(50, kVa + 0x1000 * memattr);
        ASSERT_EQ(r.status, SMMU_XLATE_OK);
        EXPECT_EQ(r.share, kOsh) << "stage-2 MemAttr " << memattr;
    }
    // Stage 1 only and nested. MAIR: 0 WB, 1 Device-nGnRE, 2 NC, 3 oNC-iWB, and the reserved SH 0b01 is NSH.
    const uint64_t mair = 0x4F4404FFull;
    S1Stream st = make_s1_stream(h, 60, 1);
    auto cd = Harness::cd(st.pt->root(), 1);
    cd[3] = mair;
    h.write_cd(st.cd_addr, cd);
    NestedStream n = make_nested_stream(h, 61, mair);
    struct S1Case {
        uint64_t index, sh;
        uint8_t share;
    } s1_cases[] = {{1, kIsh, kOsh}, {2, kNsh, kOsh}, {3, kNsh, kNsh}, {0, kIsh, kIsh}, {0, 1, kNsh}};
    unsigned i = 0;
    for (const S1Case &c : s1_cases) {
        uint64_t va = kVa + 0x1000ull * i, ipa = 0x50000000ull + 0x1000ull * i;
        st.pt->map(va, kPa, s1_page(c.index, c.sh));
        smmu_result r = h.translate(60, va);
        ASSERT_EQ(r.status, SMMU_XLATE_OK);
        EXPECT_EQ(r.share, c.share) << "stage 1 only, case " << i;
        n.s1->map(va, ipa, s1_page(c.index, c.sh));
        n.s2->map(ipa, kPa, s2_page(0xF, kNsh));
        r = h.translate(61, va);
        ASSERT_EQ(r.status, SMMU_XLATE_OK);
        EXPECT_EQ(r.share, c.share) << "nested, case " << i;
        i++;
    }
    // MSIs: IRQ_CFG2/MSIAttr Device or iNC-oNC make the write OSH.
    for (unsigned memattr : {0x1u, 0x5u, 0xFu}) {
        uint64_t slot = h.alloc(8, 8);
        h.cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC) |
                  SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ) |
                  SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSH, kNsh) |
                  SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIATTR, memattr),
              SMMU_ADDR_GET(SMMU_CMD1_SYNC_MSIADDR, slot));
        ASSERT_FALSE(h.msis.empty());
        EXPECT_EQ(h.msis.back().addr, slot);
        EXPECT_EQ(h.last_attrs[SMMU_MEM_MSI].share, memattr == 0xF ? kNsh : kOsh) << "MSIAttr " << memattr;
    }
}

// STE.S2FWB (FEAT_S2FWB): the stage-2 MemAttr may override the type instead of combining with it. MemAttr[2]
// = 0 is Device and combines; 0b101 is Non-cacheable unless the input is Device; 0b110 forces Write-Back
// (with the input's hints where it was cacheable); 0b111 keeps the input's type; MemAttr[3] is RES0; 0b100 is
// reserved (Device-nGnRnE). Shareability combines as without FWB.
TEST(SmmuAttrs, S2fwbStageTwoOverridesTheType) {
    Harness h;
    h.bring_up();
    PageTable s2(h, 1);
    struct S2Case {
        bool mtcfg;
        unsigned memattr;
        uint64_t s2_memattr, s2_sh;
        uint8_t mair, share, mair_without_fwb;
    } s2_cases[] = {
        {false, 0, 0x1, kIsh, 0x04, kOsh, 0x04},  // Device-nGnRE
        {false, 0, 0x5, kIsh, 0x44, kOsh, 0x44},  // Non-cacheable
        {false, 0, 0x6, kIsh, 0xFF, kIsh, 0x4B},  // forced WB (without FWB: oNC-iWT)
        {false, 0, 0xE, kIsh, 0xFF, kIsh, 0xFB},  // MemAttr[3] is RES0 (without FWB: oWB-iWT)
        {false, 0, 0x7, kNsh, 0xFF, kNsh, 0x4F},  // the input's type (without FWB: oNC-iWB)
        {false, 0, 0xB, kIsh, 0x0C, kOsh, 0xBF},  // 0b011: Device-GRE (without FWB: oWT-iWB)
        {false, 0, 0x4, kIsh, 0x00, kOsh, 0x00},  // reserved
        {true, 0x1, 0x6, kNsh, 0xFF, kOsh, 0x04}, // Device input forced to WB: it counts as OSH
        {true, 0x1, 0x5, kIsh, 0x04, kOsh, 0x04}, // Device input stays Device
        {true, 0x1, 0x7, kIsh, 0x04, kOsh, 0x04}, // the input's type
        {true, 0xA, 0x6, kNsh, 0xFF, kNsh, 0x4B}, // WT input forced to WB (without FWB: oNC-iWT)
    };
    uint32_t sid = 1;
    for (const S2Case &c : s2_cases) {
        uint64_t ipa = 0x1000ull * sid;
        s2.map(ipa, kPa + ipa, s2_page(c.s2_memattr, c.s2_sh));
        for (bool fwb : {true, false}) {
            auto ste = h.ste_s2(s2.root(), 5);
            ste[1] = (c.mtcfg ? SMMU_STE1_MTCFG | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, c.memattr) : 0) |
                     SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING) | (fwb ? SMMU_STE1_S2FWB : 0);
            h.write_ste(sid, ste);
            h.cfgi_ste(sid);
            smmu_result r = h.translate(sid, ipa);
            ASSERT_EQ(r.status, SMMU_XLATE_OK);
            EXPECT_EQ(r.mem_attr, fwb ? c.mair : c.mair_without_fwb)
                << "stage 2 only, case " << sid << " fwb " << fwb;
            if (fwb) {
                EXPECT_EQ(r.share, c.share) << "stage 2 only, case " << sid;
            }
        }
        sid++;
    }

    // Nested. MAIR: 0 WB, 1 Device-nGnRE, 2 Device-GRE, 3 WT Read-Allocate only, 4 outer WB transient / inner
    // WB.
    NestedStream n = make_nested_stream(h, 100, 0x7FAA0C04FFull);
    auto ste = Harness::ste_abort();
    for (unsigned i = 0; i < 8; i++)
        ste[i] = h.mem.read64(h.ste_addr(100) + 8 * i);
    ste[1] |= SMMU_STE1_S2FWB;
    h.write_ste(100, ste);
    struct NestedCase {
        uint64_t s1_index, s1_sh, s2_memattr, s2_sh;
        uint8_t mair, share;
    } nested_cases[] = {
        {1, kNsh, 0x6, kNsh, 0xFF, kOsh}, // Device forced to WB
        {3, kIsh, 0x6, kIsh, 0xEE, kIsh}, // WT forced to WB keeps Read-Allocate only
        {4, kIsh, 0x6, kIsh, 0x7F, kIsh}, // the transient hint stays
        {3, kIsh, 0x7, kIsh, 0xAA, kIsh}, // stage 1's type
        {0, kIsh, 0x5, kIsh, 0x44, kOsh}, // Non-cacheable
        {2, kIsh, 0x5, kIsh, 0x0C, kOsh}, // Device stays Device
        {0, kIsh, 0x3, kIsh, 0x0C, kOsh}, // stage-2 Device-GRE
        {1, kIsh, 0x3, kIsh, 0x04, kOsh}, // the stricter Device type
    };
    unsigned i = 0;
    for (const NestedCase &c : nested_cases) {
        uint64_t va = kVa + 0x1000ull * i, ipa = 0x50000000ull + 0x1000ull * i;
        n.s1->map(va, ipa, s1_page(c.s1_index, c.s1_sh));
        n.s2->map(ipa, kPa, s2_page(c.s2_memattr, c.s2_sh));
        smmu_result r = h.translate(100, va);
        ASSERT_EQ(r.status, SMMU_XLATE_OK) << "case " << i << " event " << (unsigned)r.event_id;
        EXPECT_EQ(r.mem_attr, c.mair) << "nested, case " << i;
        EXPECT_EQ(r.share, c.share) << "nested, case " << i;
        i++;
    }
}

// STE.ALLOCCFG and GBPA.ALLOCCFG 0b1RWT replace the allocation and transient hints of Write-Back and
// Write-Through levels; with the top bit clear the incoming ones stay; Device and Non-cacheable have none.
TEST(SmmuAttrs, AllocCfgOverridesTheHintsOfCacheableTypes) {
    Harness h;
    h.setup_queues();
    // GBPA: Normal WB (the default input), ALLOCCFG = 0b1001: no read/write allocate, transient. A
    // no-allocate type is output non-transient (13.1.7): WB no-allocate non-transient is 0b1100.
    h.wr32(SMMU_GBPA, (uint32_t)(SMMU_GBPA_UPDATE | SMMU_FIELD_PREP(SMMU_GBPA_ALLOCCFG, 0x9) |
                                 SMMU_FIELD_PREP(SMMU_GBPA_SHCFG, SMMU_SHCFG_INCOMING)));
    EXPECT_EQ(h.translate(1, 0x1000).mem_attr, 0xCCu);
    h.setup_stream_table({false, 4, 0});
    h.enable();
    struct Case {
        unsigned memattr; // 0: no MTCFG override
        unsigned alloccfg;
        uint8_t want;
    } cases[] = {
        {0, 0x0, 0xFF},   // incoming Normal WB RW-allocate non-transient
        {0, 0xF, 0x77},   // R=1 W=1 T=1 -> WB transient RW: 0b0111
        {0, 0xC, 0xEE},   // R=1 W=0 T=0 -> WB non-transient R: 0b1110
        {0xA, 0xA, 0x99}, // WT/WT with R=0 W=1 T=0 -> WT non-transient W: 0b1001
        {0x5, 0xE, 0x44}, // NC/NC: no hints
        {0x1, 0xE, 0x04}, // Device-nGnRE: no hints
    };
    uint32_t sid = 1;
    for (const Case &c : cases) {
        auto ste = Harness::ste_bypass();
        ste[1] |= SMMU_FIELD_PREP(SMMU_STE1_ALLOCCFG, c.alloccfg);
        if (c.memattr)
            ste[1] |= SMMU_STE1_MTCFG | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, c.memattr);
        h.write_ste(sid, ste);
        smmu_result r = h.translate(sid++, 0x1000);
        ASSERT_EQ(r.status, SMMU_XLATE_OK);
        EXPECT_EQ(r.mem_attr, c.want) << "MemAttr " << c.memattr << " ALLOCCFG " << c.alloccfg;
    }
}
