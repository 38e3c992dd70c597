// Translation through the whole SMMU: stage 1, stage 2, nested, HTTU, walk faults and TLB invalidation scope.
#include <gtest/gtest.h>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

constexpr uint64_t kVa = 0x12345000;
constexpr uint64_t kPa = 0x40ABC000;
constexpr uint64_t kPa2 = 0x40DEF000;

uint64_t op(unsigned opcode) {
    return SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, opcode);
}

} // namespace

TEST(SmmuXlate, StageOneOnly) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw);
    smmu_result r = h.translate(1, kVa + 0x123, true);
    ASSERT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_EQ(r.pa, kPa + 0x123);
    EXPECT_TRUE(r.read);
    EXPECT_TRUE(r.write);
    EXPECT_FALSE(r.bypass);
    EXPECT_EQ(r.size_shift, 12u);
    EXPECT_EQ(r.mem_attr, 0xFFu);
    EXPECT_EQ(h.stat("translations.ok"), 1u);
}

TEST(SmmuXlate, StageTwoOnlyAndItsFaults) {
    Harness h;
    h.bring_up();
    PageTable s2(h, 1);
    s2.map(0x80000000ull + kVa, kPa, kS2PageRw);
    h.write_ste(2, h.ste_s2(s2.root(), 5));
    smmu_result r = h.translate(2, 0x80000000ull + kVa + 8);
    ASSERT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_EQ(r.pa, kPa + 8);
    // Unmapped IPA: stage-2 F_TRANSLATION with S2=1, CLASS=IN and the IPA.
    r = h.translate(2, 0x3000, true);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSLATION);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_TRUE(ev[0].s2());
    EXPECT_EQ(ev[0].cls(), (unsigned)SMMU_CLASS_IN);
    EXPECT_EQ(ev[0].ipa(), 0x3000u);
    EXPECT_FALSE(ev[0].rnw());
    // S2R=0: stage-2 translation faults are not recorded.
    auto ste = h.ste_s2(s2.root(), 5);
    ste[2] &= ~SMMU_STE2_S2R;
    h.write_ste(2, ste);
    h.cfgi_ste(2);
    r = h.translate(2, 0x3000);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_FALSE(r.event_recorded);
}

TEST(SmmuXlate, SteOverridesCombineWithStageTwoAttributes) {
    Harness h;
    h.bring_up();
    PageTable s2(h, 1);
    s2.map(kVa, kPa, kS2PageRw);
    auto ste = h.ste_s2(s2.root(), 5);
    ste[1] = SMMU_STE1_MTCFG | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, 1) |
             SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_OSH);
    h.write_ste(2, ste);
    smmu_result r = h.translate(2, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_EQ(r.mem_attr, 0x04u) << "Device-nGnRE from the STE wins over Normal WB from stage 2";
    EXPECT_EQ(r.share, 2u);
}

TEST(SmmuXlate, NestedTranslationWithCdFetchedThroughStageTwo) {
    Harness h;
    h.bring_up();
    // Guest "IPA" space: table and CD IPAs are offset by 0x100000000 from the PAs backing them.
    constexpr uint64_t kIpaOffset = 0x100000000ull;
    PageTable s2(h, 1);
    uint64_t cd_pa = h.alloc(64, 64);
    PageTable s1(h, 1); // its tables live at PAs; stage 1 sees them at PA + offset
    // Stage-2 maps IPA (PA + offset) -> PA for the harness allocation area and the data page.
    for (uint64_t pa = 0x80000000ull; pa < 0x80400000ull; pa += 0x200000)
        s2.map(pa + kIpaOffset, pa, kS2PageRw, 2);
    s2.map(0x50000000ull, kPa, kS2PageRw);
    // Stage-1 table descriptors point to IPAs: rebuild the s1 table with IPA pointers by hand.
    uint64_t l2 = h.alloc(4096), l3 = h.alloc(4096);
    h.mem.write64(s1.root() + ((kVa >> 30) & 511) * 8, (l2 + kIpaOffset) | kDescValid | kDescTable);
    h.mem.write64(l2 + ((kVa >> 21) & 511) * 8, (l3 + kIpaOffset) | kDescValid | kDescTable);
    h.mem.write64(l3 + ((kVa >> 12) & 511) * 8, 0x50000000ull | kS1PageRw | kDescValid | kDescTable);
    h.write_cd(cd_pa, Harness::cd(s1.root() + kIpaOffset, 9));
    auto ste = h.ste_s2(s2.root(), 7);
    ste[0] = SMMU_FIELD_SET(ste[0], SMMU_STE0_CONFIG, SMMU_STE_CONFIG_NESTED) |
             SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, cd_pa + kIpaOffset);
    ste[1] |= SMMU_FIELD_PREP(SMMU_STE1_S1CIR, 1) | SMMU_FIELD_PREP(SMMU_STE1_S1COR, 1);
    h.write_ste(3, ste);
    smmu_result r = h.translate(3, kVa + 0x44);
    ASSERT_EQ(r.status, SMMU_XLATE_OK) << "event " << (unsigned)r.event_id;
    EXPECT_EQ(r.pa, kPa + 0x44);

    // A CD IPA that stage 2 does not map: stage-2 fault reported with CLASS=CD.
    ste[0] = SMMU_FIELD_SET(ste[0], SMMU_STE0_S1CTXPTR, 0) | SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, 0x7000000ull);
    h.write_ste(4, ste);
    r = h.translate(4, kVa);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSLATION);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_TRUE(ev[0].s2());
    EXPECT_EQ(ev[0].cls(), (unsigned)SMMU_CLASS_CD);
    EXPECT_EQ(ev[0].ipa(), 0x7000000u);
    EXPECT_EQ(ev[0].input_addr(), kVa);
}

TEST(SmmuXlate, WalkExternalAbortReportsFetchAddress) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw);
    uint64_t leaf = st.pt->desc_addr(kVa, 3);
    h.mem.add_read_abort(leaf, leaf + 8);
    smmu_result r = h.translate(1, kVa);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_WALK_EABT);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id(), (unsigned)SMMU_EVT_F_WALK_EABT);
    EXPECT_EQ(ev[0].fetch_addr(), leaf);
}

TEST(SmmuXlate, AccessFlagFaultAffdAndAddressSize) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw & ~kDescAf);
    st.pt->map(kVa + 0x1000, uint64_t(1) << 47, kS1PageRw); // output above IPS=40 below
    EXPECT_EQ(h.translate(1, kVa).event_id, SMMU_EVT_F_ACCESS);
    auto c = Harness::cd(st.pt->root(), 1);
    c[0] |= SMMU_CD0_AFFD;
    c[0] = SMMU_FIELD_SET(c[0], SMMU_CD0_IPS, 2); // 40 bits
    h.write_cd(st.cd_addr, c);
    h.cfgi_cd(1, 0);
    h.cmd(op(SMMU_OP_TLBI_NH_ALL));
    EXPECT_EQ(h.translate(1, kVa).status, SMMU_XLATE_OK);
    EXPECT_EQ(h.translate(1, kVa + 0x1000).event_id, SMMU_EVT_F_ADDR_SIZE);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].id(), (unsigned)SMMU_EVT_F_ACCESS);
    EXPECT_EQ(ev[1].id(), (unsigned)SMMU_EVT_F_ADDR_SIZE);
}

TEST(SmmuXlate, HardwareAccessAndDirtyFlagsThroughTheSmmu) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    // AF=0, writable-clean (AP[2]=1 with DBM).
    st.pt->map(kVa, kPa, (kS1PageRo & ~kDescAf) | kDescDbm);
    auto c = Harness::cd(st.pt->root(), 1);
    c[0] |= SMMU_CD0_HA | SMMU_CD0_HD;
    h.write_cd(st.cd_addr, c);
    uint64_t leaf = st.pt->desc_addr(kVa, 3);
    smmu_result r = h.translate(1, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_TRUE(h.mem.read64(leaf) & kDescAf);
    EXPECT_TRUE(h.mem.read64(leaf) & kDescAp2) << "a read keeps the page clean";
    r = h.translate(1, kVa, true);
    ASSERT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_FALSE(h.mem.read64(leaf) & kDescAp2) << "a write marks the page dirty";
    // Stage-2 access flag via STE.S2HA.
    PageTable s2(h, 1);
    s2.map(kVa, kPa2, kS2PageRw & ~kDescAf);
    auto ste = h.ste_s2(s2.root(), 3);
    ste[2] |= SMMU_STE2_S2HA;
    h.write_ste(2, ste);
    ASSERT_EQ(h.translate(2, kVa).status, SMMU_XLATE_OK);
    EXPECT_TRUE(h.mem.read64(s2.desc_addr(kVa, 3)) & kDescAf);
}

// Stage-2 XN[1:0] (FEAT_XNX) with IDR3.XNX; without it (an SMMUv3.0 envelope) bit 53 is RES0 and XN, bit 54,
// forbids execution at every level.
TEST(SmmuXlate, StageTwoExecuteNeverFollowsIdr3Xnx) {
    smmu_params v30;
    smmu_params_default(&v30);
    v30.aidr = 0;
    v30.idr[3] &= ~(uint32_t)(SMMU_IDR3_XNX | SMMU_IDR3_FWB | SMMU_IDR3_BBML); // v3.1 and v3.2 features
    for (bool xnx : {true, false}) {
        Harness h(xnx ? nullptr : &v30);
        EXPECT_EQ((h.rd32(SMMU_IDR3) & SMMU_IDR3_XNX) != 0, xnx);
        h.bring_up();
        PageTable s2(h, 1);
        const uint64_t bit53 = uint64_t(1) << 53, bit54 = uint64_t(1) << 54;
        struct Case {
            uint64_t xn_bits;
            bool priv_x, user_x;
        } cases[] = {
            {0, true, true},
            {bit53, !xnx, true}, // XN = 0b01: EL0 only with FEAT_XNX; RES0 without
            {bit54, false, false},
            {bit53 | bit54, xnx, false}, // XN = 0b11: EL1 only with FEAT_XNX
        };
        uint32_t sid = 1;
        for (const Case &c : cases) {
            uint64_t ipa = kVa + 0x1000ull * sid;
            s2.map(ipa, kPa, kS2PageRw | c.xn_bits);
            h.write_ste(sid, h.ste_s2(s2.root(), 5));
            smmu_result r = h.translate(sid, ipa, false, false, 0, SMMU_AT_UNTRANSLATED, true, true);
            EXPECT_EQ(r.status == SMMU_XLATE_OK, c.priv_x)
                << "xnx " << xnx << " case " << sid << " privileged";
            r = h.translate(sid, ipa, false, false, 0, SMMU_AT_UNTRANSLATED, false, true);
            EXPECT_EQ(r.status == SMMU_XLATE_OK, c.user_x)
                << "xnx " << xnx << " case " << sid << " unprivileged";
            sid++;
        }
    }
}

TEST(SmmuXlate, HttuFieldsIllegalWhenNotAdvertised) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] = (uint32_t)SMMU_FIELD_SET(p.idr[0], SMMU_IDR0_HTTU, 1); // access flag only
    Harness h(&p);
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    auto c = Harness::cd(st.pt->root(), 1);
    c[0] |= SMMU_CD0_HA | SMMU_CD0_HD;
    h.write_cd(st.cd_addr, c);
    EXPECT_EQ(h.translate(1, kVa).event_id, SMMU_EVT_C_BAD_CD);
    PageTable s2(h, 1);
    auto ste = h.ste_s2(s2.root(), 3);
    ste[2] |= SMMU_STE2_S2HA | SMMU_STE2_S2HD;
    h.write_ste(2, ste);
    EXPECT_EQ(h.translate(2, kVa).event_id, SMMU_EVT_C_BAD_STE);
}

TEST(SmmuTlbi, ChangedPageTableTranslatesOldWayUntilTheRightTlbi) {
    Harness h;
    h.bring_up();
    S1Stream a = make_s1_stream(h, 1, 1);
    S1Stream b = make_s1_stream(h, 2, 2);
    a.pt->map(kVa, kPa, kS1PageRw | kDescNg);
    b.pt->map(kVa, kPa, kS1PageRw | kDescNg);
    ASSERT_EQ(h.translate(1, kVa).pa, kPa);
    ASSERT_EQ(h.translate(2, kVa).pa, kPa);
    a.pt->map(kVa, kPa2, kS1PageRw | kDescNg);
    b.pt->map(kVa, kPa2, kS1PageRw | kDescNg);
    EXPECT_EQ(h.translate(1, kVa).pa, kPa) << "TLB keeps the old translation";
    // Wrong ASID and wrong address: no effect.
    h.cmd(op(SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 3), kVa);
    h.cmd(op(SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 1), kVa + 0x1000);
    EXPECT_EQ(h.translate(1, kVa).pa, kPa);
    // Right ASID and address: only that ASID changes.
    h.cmd(op(SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 1), kVa | SMMU_CMD1_LEAF);
    EXPECT_EQ(h.translate(1, kVa).pa, kPa2);
    EXPECT_EQ(h.translate(2, kVa).pa, kPa);
    h.cmd(op(SMMU_OP_TLBI_NH_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 2));
    EXPECT_EQ(h.translate(2, kVa).pa, kPa2);
    // VAA ignores the ASID; NH_ALL and NSNH_ALL drop everything.
    a.pt->map(kVa, kPa, kS1PageRw | kDescNg);
    b.pt->map(kVa, kPa, kS1PageRw | kDescNg);
    h.cmd(op(SMMU_OP_TLBI_NH_VAA), kVa);
    EXPECT_EQ(h.translate(1, kVa).pa, kPa);
    EXPECT_EQ(h.translate(2, kVa).pa, kPa);
    a.pt->map(kVa, kPa2, kS1PageRw | kDescNg);
    h.cmd(op(SMMU_OP_TLBI_NH_ALL));
    EXPECT_EQ(h.translate(1, kVa).pa, kPa2);
    a.pt->map(kVa, kPa, kS1PageRw | kDescNg);
    h.cmd(op(SMMU_OP_TLBI_NSNH_ALL));
    EXPECT_EQ(h.translate(1, kVa).pa, kPa);
}

TEST(SmmuTlbi, StageOneOnlyStreamsAreTaggedWithS2Vmid) {
    Harness h;
    h.bring_up();
    S1Stream a = make_s1_stream(h, 1, 7);
    S1Stream b = make_s1_stream(h, 2, 7); // same ASID, other VMID
    auto ste_a = Harness::ste_s1(a.cd_addr), ste_b = Harness::ste_s1(b.cd_addr);
    ste_a[2] = SMMU_FIELD_PREP(SMMU_STE2_S2VMID, 1);
    ste_b[2] = SMMU_FIELD_PREP(SMMU_STE2_S2VMID, 2);
    h.write_ste(1, ste_a);
    h.write_ste(2, ste_b);
    a.pt->map(kVa, kPa, kS1PageRw);
    b.pt->map(kVa, kPa2, kS1PageRw);
    ASSERT_EQ(h.translate(1, kVa).pa, kPa);
    ASSERT_EQ(h.translate(2, kVa).pa, kPa2) << "VMIDs keep equal ASIDs apart";
    a.pt->map(kVa, kPa + 0x1000, kS1PageRw);
    b.pt->map(kVa, kPa2 + 0x1000, kS1PageRw);
    h.cmd(op(SMMU_OP_TLBI_NH_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 2) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 7));
    EXPECT_EQ(h.translate(1, kVa).pa, kPa);
    EXPECT_EQ(h.translate(2, kVa).pa, kPa2 + 0x1000);
}

TEST(SmmuTlbi, RangeInvalidationWithRil) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    for (int i = 0; i < 8; i++)
        st.pt->map(kVa + i * 0x1000, kPa + i * 0x1000, kS1PageRw | kDescNg);
    for (int i = 0; i < 8; i++)
        ASSERT_EQ(h.translate(1, kVa + i * 0x1000).pa, kPa + i * 0x1000);
    for (int i = 0; i < 8; i++)
        st.pt->map(kVa + i * 0x1000, kPa2 + i * 0x1000, kS1PageRw | kDescNg);
    // TG=4K, SCALE=1, NUM=1: (1+1) * 2^1 = 4 pages starting at kVa + 2 pages.
    h.cmd(op(SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 1) | SMMU_FIELD_PREP(SMMU_CMD0_NUM, 1) |
              SMMU_FIELD_PREP(SMMU_CMD0_SCALE, 1),
          (kVa + 0x2000) | SMMU_FIELD_PREP(SMMU_CMD1_TG, 1) | SMMU_FIELD_PREP(SMMU_CMD1_TTL, 3) |
              SMMU_CMD1_LEAF);
    for (int i = 0; i < 8; i++) {
        uint64_t want = (i >= 2 && i < 6) ? kPa2 : kPa;
        EXPECT_EQ(h.translate(1, kVa + i * 0x1000).pa, want + i * 0x1000) << i;
    }
}

TEST(SmmuTlbi, RangeFieldsIgnoredWithoutRil) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[3] &= ~(uint32_t)SMMU_IDR3_RIL;
    Harness h(&p);
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw | kDescNg);
    st.pt->map(kVa + 0x1000, kPa + 0x1000, kS1PageRw | kDescNg);
    h.translate(1, kVa);
    h.translate(1, kVa + 0x1000);
    st.pt->map(kVa, kPa2, kS1PageRw | kDescNg);
    st.pt->map(kVa + 0x1000, kPa2 + 0x1000, kS1PageRw | kDescNg);
    h.cmd(op(SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 1) | SMMU_FIELD_PREP(SMMU_CMD0_NUM, 1),
          kVa | SMMU_FIELD_PREP(SMMU_CMD1_TG, 1));
    EXPECT_EQ(h.translate(1, kVa).pa, kPa2);
    EXPECT_EQ(h.translate(1, kVa + 0x1000).pa, kPa + 0x1000) << "only the single page is invalidated";
}

TEST(SmmuTlbi, StageTwoScopes) {
    Harness h;
    h.bring_up();
    PageTable s2(h, 1);
    s2.map(kVa, kPa, kS2PageRw);
    h.write_ste(2, h.ste_s2(s2.root(), 5));
    ASSERT_EQ(h.translate(2, kVa).pa, kPa);
    s2.map(kVa, kPa2, kS2PageRw);
    h.cmd(op(SMMU_OP_TLBI_S2_IPA) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 6), kVa);
    EXPECT_EQ(h.translate(2, kVa).pa, kPa) << "other VMID";
    h.cmd(op(SMMU_OP_TLBI_S2_IPA) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 5), kVa | SMMU_CMD1_LEAF);
    EXPECT_EQ(h.translate(2, kVa).pa, kPa2);
    s2.map(kVa, kPa, kS2PageRw);
    h.cmd(op(SMMU_OP_TLBI_S12_VMALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 4));
    EXPECT_EQ(h.translate(2, kVa).pa, kPa2);
    h.cmd(op(SMMU_OP_TLBI_S12_VMALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 5));
    EXPECT_EQ(h.translate(2, kVa).pa, kPa);
}

TEST(SmmuTlbi, El2RegimeStreams) {
    Harness h;
    h.setup_queues();
    h.setup_stream_table({});
    h.wr32(SMMU_CR2, SMMU_CR2_E2H);
    h.enable();
    S1Stream st = make_s1_stream(h, 1, 4);
    auto ste = Harness::ste_s1(st.cd_addr);
    ste[1] = SMMU_FIELD_SET(ste[1], SMMU_STE1_STRW, SMMU_STE_STRW_EL2);
    h.write_ste(1, ste);
    st.pt->map(kVa, kPa, kS1PageRw | kDescNg);
    ASSERT_EQ(h.translate(1, kVa).pa, kPa);
    st.pt->map(kVa, kPa2, kS1PageRw | kDescNg);
    h.cmd(op(SMMU_OP_TLBI_NH_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 4)); // EL1 scope: no effect on EL2-E2H
    EXPECT_EQ(h.translate(1, kVa).pa, kPa);
    h.cmd(op(SMMU_OP_TLBI_EL2_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 4), kVa);
    EXPECT_EQ(h.translate(1, kVa).pa, kPa2);
    st.pt->map(kVa, kPa, kS1PageRw | kDescNg);
    h.cmd(op(SMMU_OP_TLBI_EL2_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 4));
    EXPECT_EQ(h.translate(1, kVa).pa, kPa);
    st.pt->map(kVa, kPa2, kS1PageRw | kDescNg);
    h.cmd(op(SMMU_OP_TLBI_EL2_ALL));
    EXPECT_EQ(h.translate(1, kVa).pa, kPa2);
}

TEST(SmmuXlate, PrivilegeAndInstructionOverridesFromSte) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    // Privileged-only page (AP[1] = 0).
    st.pt->map(kVa, kPa, kDescAf | kDescShIsh);
    EXPECT_EQ(h.translate(1, kVa).event_id, SMMU_EVT_F_PERMISSION);
    auto ste = Harness::ste_s1(st.cd_addr);
    ste[1] = SMMU_FIELD_SET(ste[1], SMMU_STE1_PRIVCFG, SMMU_PRIVCFG_PRIV);
    h.write_ste(1, ste);
    h.cfgi_ste(1);
    EXPECT_EQ(h.translate(1, kVa).status, SMMU_XLATE_OK);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_FALSE(ev[0].pnu());
}
