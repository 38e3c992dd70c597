// Configuration rules found by auditing the model against IHI0070: structure alignment, out-of-range
// pointers, fields that are IGNORED in some configurations, address-size checks on bypass paths and S2PTW on
// CD fetches.
#include <gtest/gtest.h>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

constexpr uint64_t kVa = 0x12345000;
constexpr uint64_t kPa = 0x40ABC000;

smmu_params default_params() {
    smmu_params p;
    smmu_params_default(&p);
    return p;
}

} // namespace

// The SMMU ignores the ADDR bits below a linear stream table's size: a base 0x40 above a 16 KiB boundary
// reads its STEs from the boundary.
TEST(SmmuConfigRules, StreamTableBaseIsAlignedToTheTableSize) {
    Harness h;
    h.setup_queues();
    h.setup_stream_table({false, 8, 0}); // 256 STEs = 16 KiB, allocated 16 KiB aligned
    h.write_ste(1, Harness::ste_bypass());
    h.wr64(SMMU_STRTAB_BASE, h.strtab_base + 0x40);
    h.enable();
    smmu_result r = h.translate(1, 0x1000);
    EXPECT_EQ(r.status, SMMU_XLATE_OK) << "event " << unsigned(r.event_id);
    EXPECT_TRUE(r.bypass);
}

// Queue bases are aligned to the queue size too: an event record lands at the aligned base.
TEST(SmmuConfigRules, EventQueueBaseIsAlignedToTheQueueSize) {
    Harness h;
    h.setup_queues(6, 6); // 64 events of 32 bytes = 2 KiB
    h.wr32(SMMU_CR0, 0);
    h.wr64(SMMU_EVENTQ_BASE, (h.evtq_base + 0x20) | SMMU_FIELD_PREP(SMMU_Q_BASE_LOG2SIZE, 6));
    h.wr32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN);
    h.setup_stream_table({false, 4, 0});
    h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    h.enable();
    h.translate(99, 0x1000); // C_BAD_STREAMID
    EXPECT_EQ(SMMU_FIELD_GET(SMMU_EVT0_ID, h.mem.read64(h.evtq_base)), SMMU_EVT_C_BAD_STREAMID);
    EXPECT_EQ(h.mem.read64(h.evtq_base + 0x20), 0u);
}

// An L1STD Span above SPLIT + 1 is ILLEGAL: C_BAD_STREAMID, not a read of a larger leaf array.
TEST(SmmuConfigRules, L1StdSpanAboveSplitPlusOneIsBadStreamId) {
    Harness h;
    h.setup_queues();
    h.setup_stream_table({true, 12, 6});
    h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    h.enable();
    uint64_t leaf = h.alloc(64 * SMMU_STE_SIZE, 4096);
    h.mem.write64(h.strtab_base, SMMU_FIELD_PREP(SMMU_L1STD_SPAN, 8) | SMMU_ADDR_GET(SMMU_L1STD_L2PTR, leaf));
    smmu_result r = h.translate(1, 0x1000);
    EXPECT_EQ(r.event_id, SMMU_EVT_C_BAD_STREAMID);
    EXPECT_TRUE(r.event_recorded);
    h.mem.write64(h.strtab_base, SMMU_FIELD_PREP(SMMU_L1STD_SPAN, 7) | SMMU_ADDR_GET(SMMU_L1STD_L2PTR, leaf));
    h.cfgi_ste(1, false);
    EXPECT_EQ(h.translate(1, 0x1000).event_id, SMMU_EVT_C_BAD_STE)
        << "Span = SPLIT + 1 reaches the (empty) STE";
}

// Bypass paths still check the address size: beyond the OAS (48 bits) nothing can be output.
TEST(SmmuConfigRules, BypassAddressesBeyondTheOasAbort) {
    const uint64_t big = uint64_t(1) << 50;
    Harness h;
    h.setup_queues();
    EXPECT_EQ(h.translate(1, big).status, SMMU_XLATE_ABORT) << "SMMUEN = 0, GBPA bypass";
    EXPECT_EQ(h.translate(1, big - 1).status, SMMU_XLATE_ABORT);
    EXPECT_EQ(h.translate(1, (uint64_t(1) << 48) - 1).status, SMMU_XLATE_OK);
    EXPECT_TRUE(h.events().empty());

    h.setup_stream_table({false, 4, 0});
    h.enable();
    h.write_ste(1, Harness::ste_bypass());
    smmu_result r = h.translate(1, big);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT) << "STE.Config = bypass";
    EXPECT_EQ(r.event_id, SMMU_EVT_F_ADDR_SIZE);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_FALSE(ev[0].s2());
    EXPECT_EQ(ev[0].cls(), (unsigned)SMMU_CLASS_IN);
    EXPECT_EQ(h.translate(1, 0x1000).status, SMMU_XLATE_OK);

    // S1DSS = bypass with stage 2 off: both stages bypassed for traffic without a SubstreamID.
    S1Stream st = make_s1_stream(h, 2, 1);
    h.write_ste(2, Harness::ste_s1(st.cd_addr, 4, 0, SMMU_STE_S1DSS_BYPASS));
    EXPECT_EQ(h.translate(2, big).event_id, SMMU_EVT_F_ADDR_SIZE);
    EXPECT_EQ(h.translate(2, 0x7000).pa, 0x7000u);
}

// Without substreams (SSIDSIZE = 0) S1CDMax, S1Fmt and S1DSS are IGNORED: a non-zero S1CDMax is not ILLEGAL.
TEST(SmmuConfigRules, S1CdMaxIgnoredWithoutSubstreams) {
    smmu_params p = default_params();
    p.idr[1] = (uint32_t)SMMU_FIELD_SET(p.idr[1], SMMU_IDR1_SSIDSIZE, 0);
    p.idr[0] &= ~(uint32_t)SMMU_IDR0_CD2L;
    Harness h(&p);
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw);
    h.write_ste(1, Harness::ste_s1(st.cd_addr, 5, 0, SMMU_STE_S1DSS_TERMINATE));
    smmu_result r = h.translate(1, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_OK) << "event " << unsigned(r.event_id);
    EXPECT_EQ(r.pa, kPa);
}

// Pointers out of range (3.4.3): S1ContextPtr beyond the OAS is C_BAD_STE, an L1CD L2Ptr beyond it is
// C_BAD_SUBSTREAMID; a nested S1ContextPtr beyond the IAS is C_BAD_STE too (IAS = OAS here).
TEST(SmmuConfigRules, OutOfRangeCdPointers) {
    Harness h;
    h.bring_up();
    h.write_ste(1, Harness::ste_s1(uint64_t(1) << 49));
    EXPECT_EQ(h.translate(1, kVa).event_id, SMMU_EVT_C_BAD_STE);

    uint64_t l1 = h.alloc(8 * 4, 64);
    h.mem.write64(l1, SMMU_L1CD_V | SMMU_ADDR_GET(SMMU_L1CD_L2PTR, uint64_t(1) << 49));
    h.write_ste(2, Harness::ste_s1(l1, 8, SMMU_STE_S1FMT_2LVL_4K));
    EXPECT_EQ(h.translate(2, kVa, false, true, 3).event_id, SMMU_EVT_C_BAD_SUBSTREAMID);

    auto nested = h.ste_s2(h.alloc(8192, 8192), 1);
    nested[0] = SMMU_FIELD_SET(nested[0], SMMU_STE0_CONFIG, SMMU_STE_CONFIG_NESTED) |
                SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, uint64_t(1) << 49);
    h.write_ste(3, nested);
    EXPECT_EQ(h.translate(3, kVa).event_id, SMMU_EVT_C_BAD_STE);
}

// S2SL0 legality follows the implemented PA size (the OAS), not STE.S2PS: a 44-bit IPA space walked from
// level 0 is legal even with S2PS = 40 bits.
TEST(SmmuConfigRules, S2Sl0RulesUseTheOas) {
    Harness h;
    h.bring_up();
    auto s2 = h.ste_s2(h.alloc(4096), 1);
    s2[2] = SMMU_FIELD_SET(s2[2], SMMU_STE2_S2T0SZ, 20);
    s2[2] = SMMU_FIELD_SET(s2[2], SMMU_STE2_S2SL0, 2);
    s2[2] = SMMU_FIELD_SET(s2[2], SMMU_STE2_S2PS, 2);
    h.write_ste(1, s2);
    EXPECT_EQ(h.translate(1, 0x1000).event_id, SMMU_EVT_F_TRANSLATION);
}

// ASID is IGNORED in the EL2 StreamWorld, so ASID[15:8] != 0 without ASID16 is not ILLEGAL there.
TEST(SmmuConfigRules, AsidWidthIgnoredInTheEl2StreamWorld) {
    smmu_params p = default_params();
    p.idr[0] &= ~(uint32_t)SMMU_IDR0_ASID16;
    Harness h(&p);
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw);
    h.write_cd(st.cd_addr, Harness::cd(st.pt->root(), 0x1234));
    auto ste = Harness::ste_s1(st.cd_addr);
    h.write_ste(1, ste);
    EXPECT_EQ(h.translate(1, kVa).event_id, SMMU_EVT_C_BAD_CD) << "NS-EL1: ASID[15:8] != 0 is ILLEGAL";
    ste[1] = SMMU_FIELD_SET(ste[1], SMMU_STE1_STRW, SMMU_STE_STRW_EL2);
    h.write_ste(2, ste);
    smmu_result r = h.translate(2, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_OK) << "event " << unsigned(r.event_id);
    EXPECT_EQ(r.pa, kPa);
}

// With a 52-bit OAS, a 4 KB-granule table base above 48 bits cannot be expressed: the CD is ILLEGAL.
TEST(SmmuConfigRules, FourKilobyteTableBaseAbove48BitsIsIllegal) {
    smmu_params p = default_params();
    p.idr[5] = (uint32_t)SMMU_FIELD_SET(p.idr[5], SMMU_IDR5_OAS, SMMU_IDR5_OAS_52);
    Harness h(&p);
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    auto cd = Harness::cd(uint64_t(1) << 49, 1);
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_IPS, 6);
    h.write_cd(st.cd_addr, cd);
    EXPECT_EQ(h.translate(1, kVa).event_id, SMMU_EVT_C_BAD_CD);
}

// S2PTW: a nested CD fetch from stage-2 Device memory is a stage-2 Permission fault with CLASS = CD.
TEST(SmmuConfigRules, S2ptwForbidsCdFetchesFromDeviceMemory) {
    Harness h;
    h.bring_up();
    PageTable s2(h, 1);
    uint64_t cd_pa = h.alloc(64, 64);
    constexpr uint64_t kCdIpa = 0x60000000ull;
    const uint64_t device_page = kDescAf | kDescAp1 | kDescAp2; // MemAttr 0: Device-nGnRnE
    s2.map(kCdIpa, cd_pa & ~0xfffull, device_page);
    PageTable s1(h, 1);
    h.write_cd(cd_pa, Harness::cd(s1.root(), 1));
    auto ste = h.ste_s2(s2.root(), 7);
    ste[0] = SMMU_FIELD_SET(ste[0], SMMU_STE0_CONFIG, SMMU_STE_CONFIG_NESTED) |
             SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, kCdIpa + (cd_pa & 0xfff));
    h.write_ste(1, ste);
    EXPECT_EQ(h.translate(1, kVa).event_id, SMMU_EVT_F_TRANSLATION) << "without S2PTW the CD is fetched";
    h.events();
    ste[2] |= SMMU_STE2_S2PTW;
    h.write_ste(2, ste);
    smmu_result r = h.translate(2, kVa);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_PERMISSION);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_TRUE(ev[0].s2());
    EXPECT_EQ(ev[0].cls(), (unsigned)SMMU_CLASS_CD);
    EXPECT_EQ(ev[0].ipa(), kCdIpa);
}
