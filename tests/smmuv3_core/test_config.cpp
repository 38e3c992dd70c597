// Stream tables, STEs, CD tables and CDs, and the configuration cache.
#include <gtest/gtest.h>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

constexpr uint64_t kVa = 0x12345000;
constexpr uint64_t kPa = 0x40ABC000;

// The terminate-only stall model (IDR0.STALL_MODEL = 1), under which CD.S, STE.S2S and STE.S1STALLD are
// ILLEGAL.
smmu_params terminate_model() {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] = (uint32_t)SMMU_FIELD_SET(p.idr[0], SMMU_IDR0_STALL_MODEL, 1);
    return p;
}

void expect_single_event(Harness &h, unsigned id, uint32_t sid) {
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u) << "expected one event";
    EXPECT_EQ(ev[0].id(), id);
    EXPECT_EQ(ev[0].sid(), sid);
}

} // namespace

TEST(SmmuGbpa, AbortAndBypassWhenDisabled) {
    Harness h;
    h.setup_queues();
    smmu_result r = h.translate(1, 0x1234);
    EXPECT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_TRUE(r.bypass);
    EXPECT_EQ(r.pa, 0x1234u);
    EXPECT_EQ(r.share, 0u); // SHCFG=incoming at reset: the default input shareability, NSH
    // Attribute overrides: MTCFG=1 MemAttr=Device-nGnRE, SHCFG=OSH.
    h.wr32(SMMU_GBPA, (uint32_t)(SMMU_GBPA_UPDATE | SMMU_GBPA_MTCFG | SMMU_FIELD_PREP(SMMU_GBPA_MEMATTR, 1) |
                                 SMMU_FIELD_PREP(SMMU_GBPA_SHCFG, SMMU_SHCFG_OSH)));
    r = h.translate(1, 0x1234);
    EXPECT_EQ(r.mem_attr, 0x04u);
    EXPECT_EQ(r.share, 2u);
    unsigned changed = h.translations_changed;
    h.wr32(SMMU_GBPA, (uint32_t)(SMMU_GBPA_UPDATE | SMMU_GBPA_ABORT));
    EXPECT_GT(h.translations_changed, changed);
    r = h.translate(1, 0x1234);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_FALSE(r.event_recorded);
    EXPECT_TRUE(h.events().empty());
}

// Without IDR1.ATTR_TYPES_OVR / ATTR_PERMS_OVR the GBPA overrides are fixed as "use incoming" (6.3.14).
TEST(SmmuGbpa, OverridesNeedTheIdr1Features) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[1] &= ~(uint32_t)(SMMU_IDR1_ATTR_TYPES_OVR | SMMU_IDR1_ATTR_PERMS_OVR);
    Harness h(&p);
    h.setup_queues();
    h.wr32(SMMU_GBPA, (uint32_t)(SMMU_GBPA_UPDATE | SMMU_GBPA_MTCFG | SMMU_FIELD_PREP(SMMU_GBPA_MEMATTR, 1) |
                                 SMMU_FIELD_PREP(SMMU_GBPA_SHCFG, SMMU_SHCFG_OSH)));
    smmu_result r = h.translate(1, 0x1234);
    EXPECT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_EQ(r.mem_attr, 0xFFu) << "MTCFG/MemAttr ignored: the default Normal WB input";
    EXPECT_EQ(r.share, 0u) << "SHCFG ignored: the default Non-shareable input";
}

TEST(SmmuSte, AbortBypassAndReservedConfigs) {
    Harness h;
    h.bring_up();
    h.write_ste(0, Harness::ste_abort());
    h.write_ste(1, Harness::ste_bypass());
    auto reserved = Harness::ste_abort();
    reserved[0] = SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, 2);
    h.write_ste(2, reserved);
    smmu_result r = h.translate(0, 0x1000);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, 0u);
    r = h.translate(2, 0x1000);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, 0u);
    EXPECT_TRUE(h.events().empty());
    r = h.translate(1, 0x5678, true);
    EXPECT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_TRUE(r.bypass);
    EXPECT_EQ(r.pa, 0x5678u);
    EXPECT_TRUE(r.write);
}

TEST(SmmuSte, BypassAttributeOverrides) {
    Harness h;
    h.bring_up();
    auto ste = Harness::ste_bypass();
    ste[1] = SMMU_STE1_MTCFG | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, 0xF) |
             SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_NSH);
    h.write_ste(3, ste);
    smmu_result r = h.translate(3, 0x9000);
    EXPECT_EQ(r.mem_attr, 0xFFu);
    EXPECT_EQ(r.share, 0u);
}

TEST(SmmuSte, InvalidAndIllegalStesGiveBadSte) {
    const smmu_params p = terminate_model();
    Harness h(&p);
    h.bring_up();
    std::vector<std::array<uint64_t, 8>> bad;
    bad.push_back({0}); // V=0
    auto s2 = h.ste_s2(h.alloc(4096), 1);
    auto t = s2;
    t[2] = SMMU_FIELD_SET(t[2], SMMU_STE2_S2TG, 3); // reserved granule
    bad.push_back(t);
    t = s2;
    t[2] &= ~SMMU_STE2_S2AA64; // AArch32 stage 2
    bad.push_back(t);
    t = s2;
    t[2] = SMMU_FIELD_SET(t[2], SMMU_STE2_S2SL0, 3); // illegal start level
    bad.push_back(t);
    t = s2;
    t[2] = SMMU_FIELD_SET(t[2], SMMU_STE2_S2T0SZ, 10); // T0SZ too small for SL0
    bad.push_back(t);
    t = s2;
    t[3] = SMMU_ADDR_GET(SMMU_STE3_S2TTB, uint64_t(1) << 50); // S2TTB beyond S2PS
    bad.push_back(t);
    t = s2;
    t[2] |= SMMU_STE2_S2S; // stall with STALL_MODEL=1
    bad.push_back(t);
    auto s1 = Harness::ste_s1(h.alloc(64, 64));
    t = s1;
    t[0] = SMMU_FIELD_SET(t[0], SMMU_STE0_S1CDMAX, 21); // above SSIDSIZE
    bad.push_back(t);
    t = s1;
    t[1] |= SMMU_STE1_S1STALLD; // ILLEGAL unless STALL_MODEL == 0
    bad.push_back(t);
    t = s1;
    t[1] = SMMU_FIELD_SET(t[1], SMMU_STE1_STRW, 1); // Secure StreamWorld
    bad.push_back(t);
    for (size_t i = 0; i < bad.size(); i++) {
        uint32_t sid = 16 + (uint32_t)i;
        h.write_ste(sid, bad[i]);
        smmu_result r = h.translate(sid, 0x1000);
        EXPECT_EQ(r.status, SMMU_XLATE_ABORT) << i;
        EXPECT_EQ(r.event_id, SMMU_EVT_C_BAD_STE) << i;
        EXPECT_TRUE(r.event_recorded) << i;
        expect_single_event(h, SMMU_EVT_C_BAD_STE, sid);
    }
}

TEST(SmmuSte, FeaturesAbsentMakeFieldsIllegal) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] &= ~(uint32_t)(SMMU_IDR0_S2P | SMMU_IDR0_HYP | SMMU_IDR0_HTTU | SMMU_IDR0_CD2L);
    Harness h(&p);
    h.bring_up();
    h.write_ste(1, h.ste_s2(h.alloc(4096), 1)); // stage 2 not implemented
    EXPECT_EQ(h.translate(1, 0).event_id, SMMU_EVT_C_BAD_STE);
    auto s1 = Harness::ste_s1(h.alloc(64, 64), 4, SMMU_STE_S1FMT_2LVL_4K);
    h.write_ste(2, s1); // 2-level CD table without CD2L
    EXPECT_EQ(h.translate(2, 0, false, true, 1).event_id, SMMU_EVT_C_BAD_STE);
    // STRW is RES0 without IDR0.Hyp: an EL2 StreamWorld is ignored and the stream is NS-EL1.
    S1Stream el1 = make_s1_stream(h, 3, 1);
    el1.pt->map(0x3000, 0x43000, kS1PageRw);
    s1 = Harness::ste_s1(el1.cd_addr);
    s1[1] = SMMU_FIELD_SET(s1[1], SMMU_STE1_STRW, 3);
    h.write_ste(3, s1);
    EXPECT_EQ(h.translate(3, 0x3000).pa, 0x43000u);
    // CD.HA with IDR0.HTTU == 0 is ILLEGAL.
    S1Stream st = make_s1_stream(h, 4, 1);
    auto cd = Harness::cd(st.pt->root(), 1);
    cd[0] |= SMMU_CD0_HA;
    h.write_cd(st.cd_addr, cd);
    EXPECT_EQ(h.translate(4, 0).event_id, SMMU_EVT_C_BAD_CD);
}

// STE.S2FWB is RES0 without IDR3.FWB (before SMMUv3.2): set, it makes a stage-2 STE ILLEGAL. It is IGNORED
// when stage 2 is bypassed.
TEST(SmmuSte, S2fwbNeedsIdr3Fwb) {
    smmu_params v31;
    smmu_params_default(&v31);
    v31.aidr = (uint32_t)SMMU_FIELD_PREP(SMMU_AIDR_MINOR, 1);
    v31.idr[3] &= ~(uint32_t)(SMMU_IDR3_FWB | SMMU_IDR3_BBML);
    for (bool fwb : {true, false}) {
        Harness h(fwb ? nullptr : &v31);
        h.bring_up();
        PageTable s2(h, 1);
        s2.map(kVa, kPa, kS2PageRw);
        auto ste = h.ste_s2(s2.root(), 1);
        ste[1] |= SMMU_STE1_S2FWB;
        h.write_ste(1, ste);
        smmu_result r = h.translate(1, kVa);
        EXPECT_EQ(r.status, fwb ? SMMU_XLATE_OK : SMMU_XLATE_ABORT);
        EXPECT_EQ(r.event_id, fwb ? 0u : (unsigned)SMMU_EVT_C_BAD_STE);
        auto bypass = Harness::ste_bypass();
        bypass[1] |= SMMU_STE1_S2FWB;
        h.write_ste(2, bypass);
        EXPECT_EQ(h.translate(2, kVa).status, SMMU_XLATE_OK) << "IGNORED with stage 2 bypassed";
    }
}

TEST(SmmuSte, OverridesAndVmidWidthFollowIdRegisters) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] &= ~(uint32_t)SMMU_IDR0_VMID16;
    p.idr[1] &= ~(uint32_t)(SMMU_IDR1_ATTR_TYPES_OVR | SMMU_IDR1_ATTR_PERMS_OVR);
    Harness h(&p);
    h.bring_up();
    h.write_ste(1, h.ste_s2(h.alloc(4096), 0x100)); // VMID[15:8] != 0 with 8-bit VMIDs
    EXPECT_EQ(h.translate(1, 0).event_id, SMMU_EVT_C_BAD_STE);
    auto ste = Harness::ste_bypass();
    ste[1] = SMMU_STE1_MTCFG | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, 1) | SMMU_FIELD_PREP(SMMU_STE1_SHCFG, 0);
    h.write_ste(2, ste);
    smmu_result r = h.translate(2, 0x1000);
    EXPECT_EQ(r.mem_attr, 0xFFu) << "MTCFG is RES0 without ATTR_TYPES_OVR";
    EXPECT_EQ(r.share, 0u) << "incoming shareability (the default input, NSH) is used";
}

TEST(SmmuSte, StreamIdOutOfRange) {
    Harness h;
    h.bring_up({false, 4, 0});
    smmu_result r = h.translate(16, 0x1000);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, SMMU_EVT_C_BAD_STREAMID);
    EXPECT_FALSE(r.event_recorded);
    EXPECT_TRUE(h.events().empty());
    h.wr32(SMMU_CR0, (uint32_t)(SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN));
    h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    h.enable();
    r = h.translate(16, 0x1000, true, true, 5);
    EXPECT_TRUE(r.event_recorded);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id(), (unsigned)SMMU_EVT_C_BAD_STREAMID);
    EXPECT_EQ(ev[0].sid(), 16u);
    EXPECT_TRUE(ev[0].ssv());
    EXPECT_EQ(ev[0].ssid(), 5u);
    EXPECT_EQ(ev[0].input_addr(), 0u) << "C_BAD_STREAMID has no InputAddr";
}

TEST(SmmuSte, Log2SizeCappedBySidSize) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[1] = (uint32_t)SMMU_FIELD_SET(p.idr[1], SMMU_IDR1_SIDSIZE, 3);
    Harness h(&p);
    h.setup_queues();
    // LOG2SIZE above SIDSIZE behaves as SIDSIZE for the lookup; the base alignment still follows LOG2SIZE.
    h.setup_stream_table({false, 10, 0});
    h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    h.enable();
    h.write_ste(7, Harness::ste_bypass());
    EXPECT_EQ(h.translate(7, 0).status, SMMU_XLATE_OK);
    EXPECT_EQ(h.translate(8, 0).event_id, SMMU_EVT_C_BAD_STREAMID);
}

TEST(SmmuSte, FetchAbortGivesSteFetchWithAddress) {
    Harness h;
    h.bring_up();
    uint64_t a = h.ste_addr(9);
    h.mem.add_read_abort(a, a + 64);
    smmu_result r = h.translate(9, 0x2000);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_STE_FETCH);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id(), (unsigned)SMMU_EVT_F_STE_FETCH);
    EXPECT_EQ(ev[0].fetch_addr(), a);
    EXPECT_EQ(ev[0].input_addr(), 0u) << "F_STE_FETCH has no InputAddr";
}

TEST(SmmuSte, TwoLevelStreamTable) {
    Harness h;
    h.setup_queues();
    h.setup_stream_table({true, 16, 8});
    h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
    h.enable();
    h.write_ste(0x1234, Harness::ste_bypass());
    EXPECT_EQ(h.translate(0x1234, 0x42000).status, SMMU_XLATE_OK);
    // L1STD with Span=0: C_BAD_STREAMID (recorded with RECINVSID).
    smmu_result r = h.translate(0x2234, 0x42000);
    EXPECT_EQ(r.event_id, SMMU_EVT_C_BAD_STREAMID);
    // Span smaller than SPLIT+1: SIDs beyond the leaf array are bad.
    uint64_t leaf = h.alloc(64 * 4, 256);
    h.mem.write64(h.strtab_base + 0x33 * 8, leaf | SMMU_FIELD_PREP(SMMU_L1STD_SPAN, 3)); // 4 STEs
    h.mem.write64(leaf + 2 * 64, Harness::ste_bypass()[0]);
    h.cfgi_ste(0x3302, false);
    EXPECT_EQ(h.translate(0x3302, 0).status, SMMU_XLATE_OK);
    EXPECT_EQ(h.translate(0x3304, 0).event_id, SMMU_EVT_C_BAD_STREAMID);
    // Span 12..31 behave as invalid.
    h.mem.write64(h.strtab_base + 0x44 * 8, leaf | SMMU_FIELD_PREP(SMMU_L1STD_SPAN, 12));
    EXPECT_EQ(h.translate(0x4400, 0).event_id, SMMU_EVT_C_BAD_STREAMID);
    // L1STD fetch abort.
    h.mem.add_read_abort(h.strtab_base + 0x55 * 8, h.strtab_base + 0x55 * 8 + 8);
    EXPECT_EQ(h.translate(0x5500, 0).event_id, SMMU_EVT_F_STE_FETCH);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[3].fetch_addr(), h.strtab_base + 0x55 * 8);
}

TEST(SmmuSte, SplitOtherThan6810BehavesAs6) {
    Harness h;
    h.setup_queues();
    h.setup_stream_table({true, 12, 7});
    h.enable();
    // With SPLIT 6 the L1 index of SID 0x85 is 2 and the leaf index 5.
    uint64_t leaf = h.alloc(64 * 64, 4096);
    h.mem.write64(h.strtab_base + 2 * 8, leaf | SMMU_FIELD_PREP(SMMU_L1STD_SPAN, 7));
    h.mem.write64(leaf + 5 * 64, Harness::ste_bypass()[0]);
    EXPECT_EQ(h.translate(0x85, 0x1000).status, SMMU_XLATE_OK);
}

TEST(SmmuSte, InvalidL1StdCachedUntilLeafZeroCfgi) {
    Harness h;
    h.setup_queues();
    h.setup_stream_table({true, 16, 8});
    h.enable();
    EXPECT_EQ(h.translate(0x0105, 0).event_id, SMMU_EVT_C_BAD_STREAMID);
    h.write_ste(0x0105, Harness::ste_bypass()); // installs the L1STD
    h.cfgi_ste(0x0105, true);                   // Leaf=1 need not drop the cached L1STD
    EXPECT_EQ(h.translate(0x0105, 0).event_id, SMMU_EVT_C_BAD_STREAMID);
    h.cfgi_ste(0x0105, false);
    EXPECT_EQ(h.translate(0x0105, 0).status, SMMU_XLATE_OK);
}

TEST(SmmuConfigCache, StaleSteVisibleUntilCfgi) {
    Harness h;
    h.bring_up();
    h.write_ste(5, Harness::ste_bypass());
    EXPECT_EQ(h.translate(5, 0x1000).status, SMMU_XLATE_OK);
    h.write_ste(5, Harness::ste_abort());
    EXPECT_EQ(h.translate(5, 0x1000).status, SMMU_XLATE_OK) << "cached STE must still be used";
    h.cfgi_ste(6); // another stream: no effect
    EXPECT_EQ(h.translate(5, 0x1000).status, SMMU_XLATE_OK);
    unsigned changed = h.translations_changed;
    h.cfgi_ste(5);
    EXPECT_GT(h.translations_changed, changed);
    EXPECT_EQ(h.translate(5, 0x1000).status, SMMU_XLATE_ABORT);
    EXPECT_GE(h.stat("config_cache.hits"), 2u);
}

TEST(SmmuConfigCache, RangeAndAllInvalidation) {
    Harness h;
    h.bring_up();
    for (uint32_t sid = 0; sid < 8; sid++)
        h.write_ste(sid, Harness::ste_bypass());
    for (uint32_t sid = 0; sid < 8; sid++)
        ASSERT_EQ(h.translate(sid, 0).status, SMMU_XLATE_OK);
    for (uint32_t sid = 0; sid < 8; sid++)
        h.write_ste(sid, Harness::ste_abort());
    // Range=1: 4 SIDs aligned, SID low bits ignored: covers 4..7.
    h.cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 6),
          SMMU_FIELD_PREP(SMMU_CMD1_RANGE, 1));
    for (uint32_t sid = 0; sid < 4; sid++)
        EXPECT_EQ(h.translate(sid, 0).status, SMMU_XLATE_OK) << sid;
    for (uint32_t sid = 4; sid < 8; sid++)
        EXPECT_EQ(h.translate(sid, 0).status, SMMU_XLATE_ABORT) << sid;
    h.cfgi_all();
    for (uint32_t sid = 0; sid < 4; sid++)
        EXPECT_EQ(h.translate(sid, 0).status, SMMU_XLATE_ABORT) << sid;
}

TEST(SmmuConfigCache, DisabledCacheAlwaysFetches) {
    smmu_params p;
    smmu_params_default(&p);
    p.config_cache.sets = 0;
    Harness h(&p);
    h.bring_up();
    h.write_ste(5, Harness::ste_bypass());
    EXPECT_EQ(h.translate(5, 0).status, SMMU_XLATE_OK);
    h.write_ste(5, Harness::ste_abort());
    EXPECT_EQ(h.translate(5, 0).status, SMMU_XLATE_ABORT);
    EXPECT_EQ(h.stat("config_cache.hits"), 0u);
}

TEST(SmmuConfigCache, EvictionKeepsResultsCorrect) {
    smmu_params p;
    smmu_params_default(&p);
    p.config_cache.sets = 1;
    p.config_cache.ways = 2;
    Harness h(&p);
    h.bring_up();
    std::vector<S1Stream> streams;
    for (uint32_t sid = 0; sid < 6; sid++) {
        streams.push_back(make_s1_stream(h, sid, (uint16_t)(sid + 1)));
        streams.back().pt->map(kVa, kPa + sid * 0x1000, kS1PageRw);
    }
    for (int round = 0; round < 3; round++)
        for (uint32_t sid = 0; sid < 6; sid++) {
            smmu_result r = h.translate(sid, kVa + 0x10);
            ASSERT_EQ(r.status, SMMU_XLATE_OK);
            EXPECT_EQ(r.pa, kPa + sid * 0x1000 + 0x10);
        }
    EXPECT_GT(h.stat("config_cache.evictions"), 0u);
}

// ---- CDs ----

TEST(SmmuCd, LinearCdTableWithSubstreams) {
    Harness h;
    h.bring_up();
    uint64_t table = h.alloc(64 * 16, 64);
    PageTable pt(h, 1);
    pt.map(kVa, kPa, kS1PageRw);
    PageTable pt2(h, 1);
    pt2.map(kVa, kPa + 0x100000, kS1PageRw);
    h.write_cd(table + 0 * 64, Harness::cd(pt.root(), 10));
    h.write_cd(table + 3 * 64, Harness::cd(pt2.root(), 13));
    h.write_ste(1, Harness::ste_s1(table, 4, SMMU_STE_S1FMT_LINEAR, SMMU_STE_S1DSS_SSID0));
    smmu_result r = h.translate(1, kVa + 8, false, true, 3);
    ASSERT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_EQ(r.pa, kPa + 0x100008);
    // No SSID with S1DSS=0b10 uses CD 0.
    r = h.translate(1, kVa + 8);
    ASSERT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_EQ(r.pa, kPa + 8);
    // SSID 0 with S1DSS=0b10: F_STREAM_DISABLED.
    r = h.translate(1, kVa, false, true, 0);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_STREAM_DISABLED);
    // SSID >= 2^S1CDMax.
    r = h.translate(1, kVa, false, true, 16);
    EXPECT_EQ(r.event_id, SMMU_EVT_C_BAD_SUBSTREAMID);
    // CD 5 has V=0.
    r = h.translate(1, kVa, false, true, 5);
    EXPECT_EQ(r.event_id, SMMU_EVT_C_BAD_CD);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].id(), (unsigned)SMMU_EVT_F_STREAM_DISABLED);
    EXPECT_FALSE(ev[0].ssv()) << "F_STREAM_DISABLED has no SSV or SubstreamID";
    EXPECT_EQ(ev[1].id(), (unsigned)SMMU_EVT_C_BAD_SUBSTREAMID);
    EXPECT_FALSE(ev[1].ssv()) << "the SubstreamID of C_BAD_SUBSTREAMID has no SSV qualifier";
    EXPECT_EQ(ev[1].ssid(), 16u);
    EXPECT_EQ(ev[2].id(), (unsigned)SMMU_EVT_C_BAD_CD);
    EXPECT_EQ(ev[2].ssid(), 5u);
}

TEST(SmmuCd, S1DssValues) {
    Harness h;
    h.bring_up();
    uint64_t table = h.alloc(64 * 4, 64);
    PageTable pt(h, 1);
    pt.map(kVa, kPa, kS1PageRw);
    h.write_cd(table, Harness::cd(pt.root(), 1));
    h.write_ste(0, Harness::ste_s1(table, 2, 0, SMMU_STE_S1DSS_TERMINATE));
    h.write_ste(1, Harness::ste_s1(table, 2, 0, SMMU_STE_S1DSS_BYPASS));
    h.write_ste(2, Harness::ste_s1(table, 2, 0, SMMU_STE_S1DSS_SSID0));
    h.write_ste(3, Harness::ste_s1(table, 2, 0, 3)); // reserved: as terminate
    EXPECT_EQ(h.translate(0, kVa).event_id, SMMU_EVT_F_STREAM_DISABLED);
    smmu_result r = h.translate(1, kVa);
    EXPECT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_TRUE(r.bypass);
    EXPECT_EQ(r.pa, kVa);
    r = h.translate(2, kVa);
    EXPECT_EQ(r.pa, kPa);
    EXPECT_EQ(h.translate(3, kVa).event_id, SMMU_EVT_F_STREAM_DISABLED);
    // With substreams, S1DSS only affects SSID 0 for 0b10.
    r = h.translate(0, kVa, false, true, 0);
    EXPECT_EQ(r.pa, kPa);
}

TEST(SmmuCd, SubstreamWithoutStageOne) {
    Harness h;
    h.bring_up();
    h.write_ste(1, Harness::ste_bypass());
    S1Stream st = make_s1_stream(h, 2, 1); // S1CDMax = 0
    EXPECT_EQ(h.translate(1, 0, false, true, 1).event_id, SMMU_EVT_C_BAD_SUBSTREAMID);
    EXPECT_EQ(h.translate(2, 0, false, true, 0).event_id, SMMU_EVT_C_BAD_SUBSTREAMID);
}

TEST(SmmuCd, TwoLevelCdTables) {
    for (unsigned fmt : {SMMU_STE_S1FMT_2LVL_4K, SMMU_STE_S1FMT_2LVL_64K}) {
        Harness h;
        h.bring_up();
        unsigned leaf_bits = fmt == SMMU_STE_S1FMT_2LVL_4K ? 6 : 10;
        uint64_t l1 = h.alloc(8 * 64, 64);
        uint64_t leaf = h.alloc(64u << leaf_bits, 4096);
        uint32_t ssid = (3u << leaf_bits) | 5;
        h.mem.write64(l1 + 3 * 8, leaf | SMMU_L1CD_V);
        PageTable pt(h, 1);
        pt.map(kVa, kPa, kS1PageRw);
        h.write_cd(leaf + 5 * 64, Harness::cd(pt.root(), 7));
        h.write_ste(4, Harness::ste_s1(l1, 16, fmt, 0));
        smmu_result r = h.translate(4, kVa, false, true, ssid);
        ASSERT_EQ(r.status, SMMU_XLATE_OK) << fmt;
        EXPECT_EQ(r.pa, kPa);
        // L1CD with V=0.
        r = h.translate(4, kVa, false, true, (4u << leaf_bits) | 5);
        EXPECT_EQ(r.event_id, SMMU_EVT_C_BAD_SUBSTREAMID);
        // L1CD fetch abort.
        h.mem.add_read_abort(l1 + 6 * 8, l1 + 7 * 8);
        r = h.translate(4, kVa, false, true, (6u << leaf_bits));
        EXPECT_EQ(r.event_id, SMMU_EVT_F_CD_FETCH);
        auto ev = h.events();
        ASSERT_EQ(ev.size(), 2u);
        EXPECT_EQ(ev[1].fetch_addr(), l1 + 6 * 8);
        // Installing a leaf needs CFGI_CD with Leaf=0: the invalid L1CD may be cached.
        uint64_t leaf2 = h.alloc(64u << leaf_bits, 4096);
        h.write_cd(leaf2 + 5 * 64, Harness::cd(pt.root(), 7));
        h.mem.write64(l1 + 4 * 8, leaf2 | SMMU_L1CD_V);
        h.cfgi_cd(4, (4u << leaf_bits) | 5, false);
        r = h.translate(4, kVa, false, true, (4u << leaf_bits) | 5);
        EXPECT_EQ(r.status, SMMU_XLATE_OK);
    }
}

TEST(SmmuCd, CdFetchAbortAndIllegalCds) {
    const smmu_params p = terminate_model();
    Harness h(&p);
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    h.mem.add_read_abort(st.cd_addr, st.cd_addr + 64);
    smmu_result r = h.translate(1, kVa);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_CD_FETCH);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].fetch_addr(), st.cd_addr);
    h.mem.clear_aborts();

    auto base = Harness::cd(st.pt->root(), 1);
    std::vector<std::array<uint64_t, 8>> bad;
    auto c = base;
    c[0] &= ~SMMU_CD0_AA64;
    bad.push_back(c);
    c = base;
    c[0] = SMMU_FIELD_SET(c[0], SMMU_CD0_TG0, 3);
    bad.push_back(c);
    c = base;
    c[0] = SMMU_FIELD_SET(c[0], SMMU_CD0_T0SZ, 50); // beyond the maximum T0SZ
    bad.push_back(c);
    c = base;
    c[0] &= ~SMMU_CD0_EPD1;
    c[0] = SMMU_FIELD_SET(c[0], SMMU_CD0_TG1, 0); // TG1 encoding 0 is reserved
    bad.push_back(c);
    c = base;
    c[0] |= SMMU_CD0_S; // stall with STALL_MODEL=1
    bad.push_back(c);
    c = base;
    c[1] = SMMU_ADDR_GET(SMMU_CD1_TTB0, uint64_t(1) << 49); // TTB0 beyond IPS
    bad.push_back(c);
    for (size_t i = 0; i < bad.size(); i++) {
        h.write_cd(st.cd_addr, bad[i]);
        h.cfgi_cd(1, 0);
        r = h.translate(1, kVa);
        EXPECT_EQ(r.event_id, SMMU_EVT_C_BAD_CD) << i;
    }
    EXPECT_EQ(h.events().size(), bad.size());
}

// SMMUv3.1+: a TxSZ outside the range the ID registers allow makes the CD or STE ILLEGAL. T0SZ 40 (a 16 MiB
// region) needs IDR3.STT; S2T0SZ may not describe more IPA bits than the IAS (= OAS here).
TEST(SmmuCd, TxszRangeFollowsSttAndIas) {
    for (bool stt : {false, true}) {
        smmu_params p;
        smmu_params_default(&p);
        p.idr[3] = stt ? p.idr[3] | SMMU_IDR3_STT : p.idr[3] & ~SMMU_IDR3_STT;
        Harness h(&p);
        h.bring_up();
        S1Stream st = make_s1_stream(h, 1, 1);
        auto c = Harness::cd(st.pt->root(), 1);
        c[0] = SMMU_FIELD_SET(c[0], SMMU_CD0_T0SZ, 40);
        h.write_cd(st.cd_addr, c);
        smmu_result r = h.translate(1, 0x1000);
        EXPECT_EQ(r.event_id, stt ? SMMU_EVT_F_TRANSLATION : SMMU_EVT_C_BAD_CD) << "STT " << stt;
    }
    smmu_params p;
    smmu_params_default(&p);
    p.idr[5] = SMMU_FIELD_SET(p.idr[5], SMMU_IDR5_OAS, 4); // 44 bits
    Harness h(&p);
    h.bring_up();
    auto s2 = h.ste_s2(h.alloc(4096), 1);
    s2[2] = SMMU_FIELD_SET(s2[2], SMMU_STE2_S2T0SZ, 19); // a 45-bit IPA space
    s2[2] = SMMU_FIELD_SET(s2[2], SMMU_STE2_S2SL0, 2);
    s2[2] = SMMU_FIELD_SET(s2[2], SMMU_STE2_S2PS, 4);
    h.write_ste(2, s2);
    EXPECT_EQ(h.translate(2, 0x1000).event_id, SMMU_EVT_C_BAD_STE);
    s2[2] = SMMU_FIELD_SET(s2[2], SMMU_STE2_S2T0SZ, 20); // 44 bits: legal, the table is empty
    h.write_ste(3, s2);
    EXPECT_EQ(h.translate(3, 0x1000).event_id, SMMU_EVT_F_TRANSLATION);
}

TEST(SmmuCd, Tg1EncodingDiffersFromTg0) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    PageTable hi(h, 1);
    uint64_t va_hi = 0xFFFFFF8000001000ull; // TTB1 half with T1SZ=25
    hi.map(va_hi, kPa, kS1PageRw);
    auto c = Harness::cd(st.pt->root(), 1);
    c[0] &= ~SMMU_CD0_EPD1;
    c[0] |= SMMU_FIELD_PREP(SMMU_CD0_T1SZ, 25) | SMMU_FIELD_PREP(SMMU_CD0_TG1, SMMU_TG1_4K) |
            SMMU_FIELD_PREP(SMMU_CD0_IR1, 1) | SMMU_FIELD_PREP(SMMU_CD0_OR1, 1) |
            SMMU_FIELD_PREP(SMMU_CD0_SH1, 3);
    c[2] = SMMU_ADDR_GET(SMMU_CD2_TTB1, hi.root());
    h.write_cd(st.cd_addr, c);
    smmu_result r = h.translate(1, va_hi + 4);
    ASSERT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_EQ(r.pa, kPa + 4);
}

TEST(SmmuCd, QuietCdWithEpd0FaultsAsTranslation) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw);
    auto c = Harness::cd(st.pt->root(), 1);
    c[0] |= SMMU_CD0_EPD0;
    h.write_cd(st.cd_addr, c);
    smmu_result r = h.translate(1, kVa);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSLATION);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id(), (unsigned)SMMU_EVT_F_TRANSLATION);
    EXPECT_FALSE(ev[0].s2());
}

TEST(SmmuConfigCache, StaleCdVisibleUntilCfgiCd) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw);
    ASSERT_EQ(h.translate(1, kVa).status, SMMU_XLATE_OK);
    auto c = Harness::cd(st.pt->root(), 1);
    c[0] &= ~SMMU_CD0_V;
    h.write_cd(st.cd_addr, c);
    EXPECT_EQ(h.translate(1, kVa).status, SMMU_XLATE_OK);
    h.cfgi_cd(1, 1); // other SSID
    EXPECT_EQ(h.translate(1, kVa).status, SMMU_XLATE_OK);
    h.cfgi_cd(1, 0);
    EXPECT_EQ(h.translate(1, kVa).event_id, SMMU_EVT_C_BAD_CD);
    // CFGI_CD_ALL and CFGI_STE also drop CDs.
    h.write_cd(st.cd_addr, Harness::cd(st.pt->root(), 1));
    h.cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_CD_ALL) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 1));
    EXPECT_EQ(h.translate(1, kVa).status, SMMU_XLATE_OK);
    h.write_cd(st.cd_addr, c);
    h.cfgi_ste(1);
    EXPECT_EQ(h.translate(1, kVa).event_id, SMMU_EVT_C_BAD_CD);
}
