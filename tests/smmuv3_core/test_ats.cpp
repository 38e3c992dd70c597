// ATS Translation Requests and Translated traffic (IHI0070 3.9.1.2, 3.9.1.3, 13.7; protocol-facts 6.2). The
// architectural values the tests set or expect (STE/CD bits, CR0/CR2 bits, event IDs) are written as literal
// hexadecimal so that a wrong macro cannot hide a wrong value.
#include <gtest/gtest.h>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

// STE dword 1 EATS[29:28] (absolute bits 93:92).
constexpr uint64_t kEats1 = 0x10000000ull;
constexpr uint64_t kEats2 = 0x20000000ull;
constexpr uint64_t kEats3 = 0x30000000ull;
constexpr uint32_t kCr0Atschk = 0x10;
constexpr uint32_t kCr2RecInvSid = 0x2;
constexpr uint32_t kCr2RecCfgAts = 0x8;
constexpr uint64_t kCd0Hd = 1ull << 42;
constexpr uint64_t kCd0Ha = 1ull << 43;
// Event IDs.
constexpr unsigned kUut = 0x01, kBadStreamId = 0x02, kBadSte = 0x04, kBadAtsTreq = 0x05,
                   kStreamDisabled = 0x06, kTranslForbidden = 0x07, kBadSubstreamId = 0x08, kCdFetch = 0x09,
                   kWalkEabt = 0x0B;

constexpr uint64_t kVa = 0x12345000, kPa = 0x40ABC000;

// Queues and stream table, CR2 while SMMUEN = 0 (CR2 is writable only then), then SMMUEN plus extra CR0 bits.
void up(Harness &h, uint32_t cr2 = 0, uint32_t cr0 = 0) {
    h.setup_queues();
    h.setup_stream_table({});
    h.wr32(SMMU_CR2, cr2);
    h.enable(cr0);
}

smmu_ats_result ats(Harness &h, uint32_t sid, uint64_t addr, bool nw = false, bool ssv = false,
                    uint32_t ssid = 0, bool priv = false, bool exe = false, bool secure = false) {
    smmu_txn t{};
    t.sid = sid;
    t.ssv = ssv;
    t.ssid = ssid;
    t.addr = addr;
    t.len = 8;
    t.acc.priv = priv;
    t.acc.exec = exe;
    t.no_write = nw;
    t.secure = secure;
    t.at = SMMU_AT_TRANSLATION_REQ;
    smmu_ats_result r{};
    smmu_ats_translate(h.s, nullptr, &t, &r);
    return r;
}

smmu_result translated(Harness &h, uint32_t sid, uint64_t addr, bool write = false, bool secure = false) {
    smmu_txn t{};
    t.sid = sid;
    t.addr = addr;
    t.len = 4;
    t.acc.write = write;
    t.secure = secure;
    t.at = SMMU_AT_TRANSLATED;
    smmu_result r{};
    smmu_translate(h.s, nullptr, &t, &r);
    return r;
}

// A stage-1 stream with ATS enabled (EATS = 0b01) and one page at kVa.
S1Stream ats_stream(Harness &h, uint32_t sid, uint64_t page_attrs, uint64_t eats = kEats1,
                    uint64_t cd0_extra = 0) {
    S1Stream st;
    st.cd_addr = h.alloc(64, 64);
    st.pt = std::make_unique<PageTable>(h, 1);
    auto cd = Harness::cd(st.pt->root(), 1);
    cd[0] |= cd0_extra;
    h.write_cd(st.cd_addr, cd);
    auto ste = Harness::ste_s1(st.cd_addr);
    ste[1] |= eats;
    h.write_ste(sid, ste);
    if (page_attrs)
        st.pt->map(kVa, kPa, page_attrs);
    return st;
}

void expect_denied(const smmu_ats_result &r, uint64_t addr) {
    EXPECT_EQ(r.status, SMMU_ATS_SUCCESS);
    EXPECT_FALSE(r.read);
    EXPECT_FALSE(r.write);
    EXPECT_FALSE(r.exec);
    EXPECT_EQ(r.size_log2, 12u) << "an R=W=0 entry covers the STU";
    EXPECT_EQ(r.addr, addr & ~0xFFFull);
    EXPECT_EQ(r.event_id, 0u);
    EXPECT_FALSE(r.event_recorded);
}

} // namespace

// ---- Translation Requests: Success ----

TEST(AtsRequest, SuccessGrantsTheTablePermissionsAndSize) {
    Harness h;
    up(h);
    ats_stream(h, 1, kS1PageRw);
    smmu_ats_result r = ats(h, 1, kVa + 0x123);
    EXPECT_EQ(r.status, SMMU_ATS_SUCCESS);
    EXPECT_EQ(r.addr, kPa);
    EXPECT_EQ(r.size_log2, 12u);
    EXPECT_TRUE(r.read);
    EXPECT_TRUE(r.write);
    EXPECT_FALSE(r.exec) << "no PASID: Exe is 0";
    EXPECT_FALSE(r.priv);
    EXPECT_FALSE(r.global) << "nG = 1";
    EXPECT_FALSE(r.untranslated_only);
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsRequest, BlockGivesItsSize) {
    Harness h;
    up(h);
    S1Stream st = ats_stream(h, 1, 0);
    st.pt->map(0x40000000, 0x80000000, kS1PageRw, 2); // 2 MiB block
    smmu_ats_result r = ats(h, 1, 0x40012345);
    EXPECT_EQ(r.status, SMMU_ATS_SUCCESS);
    EXPECT_EQ(r.size_log2, 21u);
    EXPECT_EQ(r.addr, 0x80000000u);
}

TEST(AtsRequest, GlobalWithoutPasidWhenNgIsZero) {
    Harness h;
    up(h);
    ats_stream(h, 1, kS1PageRw & ~kDescNg);
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_SUCCESS);
    EXPECT_TRUE(r.global);
}

TEST(AtsRequest, NeverGlobalWithPasid) {
    Harness h;
    up(h);
    // STE.S1CDMax = 1 (two CDs, linear), S1DSS = 0b00; CD 1 maps a global page.
    uint64_t table = h.alloc(2 * 64, 64);
    PageTable pt(h, 1);
    pt.map(kVa, kPa, kS1PageRw & ~kDescNg);
    h.write_cd(table + 64, Harness::cd(pt.root(), 7));
    auto ste = Harness::ste_s1(table, 1);
    ste[1] |= kEats1;
    h.write_ste(2, ste);
    smmu_ats_result r = ats(h, 2, kVa, false, true, 1, true, true);
    EXPECT_EQ(r.status, SMMU_ATS_SUCCESS);
    EXPECT_TRUE(r.read);
    EXPECT_FALSE(r.global) << "a completion for a request with a PASID has Global = 0";
    EXPECT_TRUE(r.priv) << "Priv echoes the request";
}

TEST(AtsRequest, ExeOnlyWithPasidAndExecutablePage) {
    Harness h;
    up(h);
    uint64_t table = h.alloc(2 * 64, 64);
    PageTable pt(h, 1);
    pt.map(kVa, kPa, kS1PageRw);                              // executable at EL0 (UXN = 0)
    pt.map(kVa + 0x1000, kPa + 0x1000, kS1PageRw | kDescUxn); // not executable at EL0
    h.write_cd(table + 64, Harness::cd(pt.root(), 7));
    auto ste = Harness::ste_s1(table, 1);
    ste[1] |= kEats1;
    h.write_ste(2, ste);
    EXPECT_TRUE(ats(h, 2, kVa, false, true, 1, false, true).exec);
    smmu_ats_result xn = ats(h, 2, kVa + 0x1000, false, true, 1, false, true);
    EXPECT_TRUE(xn.read);
    EXPECT_FALSE(xn.exec);
    EXPECT_FALSE(ats(h, 2, kVa, false, true, 1, false, false).exec) << "Exe only when requested";
}

TEST(AtsRequest, PermissionFaultGrantsTheSubset) {
    Harness h;
    up(h);
    ats_stream(h, 1, kS1PageRo);
    smmu_ats_result r = ats(h, 1, kVa, /*nw=*/false);
    EXPECT_EQ(r.status, SMMU_ATS_SUCCESS);
    EXPECT_TRUE(r.read);
    EXPECT_FALSE(r.write) << "a read-only page grants R only";
    EXPECT_EQ(r.addr, kPa);
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsRequest, PermissionFaultWithNoPermissionIsRWZero) {
    Harness h;
    up(h);
    // Privileged-only page (AP[1] = 0) asked for by an unprivileged request without a PASID.
    ats_stream(h, 1, kDescAf | kDescShIsh | kDescNg);
    expect_denied(ats(h, 1, kVa), kVa);
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsRequest, NoWriteNeverGrantsWrite) {
    Harness h;
    up(h);
    ats_stream(h, 1, kS1PageRw);
    smmu_ats_result r = ats(h, 1, kVa, /*nw=*/true);
    EXPECT_TRUE(r.read);
    EXPECT_FALSE(r.write);
}

TEST(AtsRequest, TranslationFaultIsSuccessWithRWZeroAndNoEvent) {
    Harness h;
    up(h);
    ats_stream(h, 1, 0); // nothing mapped
    expect_denied(ats(h, 1, kVa + 0x10), kVa);
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsRequest, AddressSizeFaultIsSuccessWithRWZeroAndNoEvent) {
    Harness h;
    up(h);
    PageTable s2(h, 1);
    auto ste = h.ste_s2(s2.root(), 3);
    ste[1] |= kEats1;
    h.write_ste(1, ste);
    const uint64_t beyond_ias = 1ull << 50; // OAS (= IAS) is 48 bits
    expect_denied(ats(h, 1, beyond_ias), beyond_ias);
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsRequest, AccessFaultIsSuccessWithRWZeroAndNoEvent) {
    Harness h;
    up(h);
    ats_stream(h, 1, kS1PageRw & ~kDescAf); // CD.HA = 0
    expect_denied(ats(h, 1, kVa), kVa);
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsRequest, S1dssBypassOfStage1OnlySteIsIdentityReadWrite) {
    Harness h;
    up(h);
    uint64_t table = h.alloc(2 * 64, 64);
    auto ste = Harness::ste_s1(table, 1, 0, /*S1DSS=*/0x1);
    ste[1] |= kEats1;
    h.write_ste(1, ste);
    smmu_ats_result r = ats(h, 1, 0x7654321);
    EXPECT_EQ(r.status, SMMU_ATS_SUCCESS);
    EXPECT_EQ(r.addr, 0x7654000u);
    EXPECT_TRUE(r.read);
    EXPECT_TRUE(r.write);
    EXPECT_FALSE(r.untranslated_only);
    // NW = 1 asks for a read-only translation: the identity map grants R only (found by tests/fuzz).
    r = ats(h, 1, 0x7654321, /*nw=*/true);
    EXPECT_EQ(r.status, SMMU_ATS_SUCCESS);
    EXPECT_TRUE(r.read);
    EXPECT_FALSE(r.write);
}

TEST(AtsRequest, HttuSetsAccessFlagAndDirtyWithNwZero) {
    Harness h;
    up(h);
    // Writable-clean (AP[2] = 1, DBM = 1) and AF = 0; CD.HA = CD.HD = 1.
    S1Stream st = ats_stream(h, 1, (kS1PageRo | kDescDbm) & ~kDescAf, kEats1, kCd0Ha | kCd0Hd);
    uint64_t da = st.pt->desc_addr(kVa, 3);
    smmu_ats_result r = ats(h, 1, kVa, /*nw=*/false);
    EXPECT_EQ(r.status, SMMU_ATS_SUCCESS);
    EXPECT_TRUE(r.read);
    EXPECT_TRUE(r.write) << "NW = 0 marks the page dirty and grants W";
    uint64_t d = h.mem.read64(da);
    EXPECT_TRUE(d & 0x400) << "AF set";
    EXPECT_FALSE(d & 0x80) << "AP[2] cleared: dirty";
}

TEST(AtsRequest, HttuSetsOnlyAccessFlagWithNwOne) {
    Harness h;
    up(h);
    S1Stream st = ats_stream(h, 1, (kS1PageRo | kDescDbm) & ~kDescAf, kEats1, kCd0Ha | kCd0Hd);
    uint64_t da = st.pt->desc_addr(kVa, 3);
    smmu_ats_result r = ats(h, 1, kVa, /*nw=*/true);
    EXPECT_TRUE(r.read);
    EXPECT_FALSE(r.write);
    uint64_t d = h.mem.read64(da);
    EXPECT_TRUE(d & 0x400) << "AF set";
    EXPECT_TRUE(d & 0x80) << "still clean: NW = 1 never marks dirty";
}

// ---- Translation Requests: UR ----

TEST(AtsRequest, UrAndBadAtsTreqWhenSmmuDisabled) {
    Harness h;
    h.setup_queues();
    h.setup_stream_table({});
    h.wr32(SMMU_CR0, (uint32_t)(SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN));
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_UR);
    EXPECT_EQ(r.event_id, kBadAtsTreq);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id(), kBadAtsTreq);
}

TEST(AtsRequest, UrAndBadAtsTreqForSecureStream) {
    Harness h;
    up(h);
    ats_stream(h, 1, kS1PageRw);
    smmu_ats_result r = ats(h, 1, kVa, false, false, 0, false, false, /*secure=*/true);
    EXPECT_EQ(r.status, SMMU_ATS_UR);
    EXPECT_EQ(r.event_id, kBadAtsTreq);
    EXPECT_TRUE(r.event_recorded);
}

TEST(AtsRequest, UrAndBadAtsTreqForBypassSte) {
    Harness h;
    up(h);
    auto ste = Harness::ste_bypass();
    ste[1] |= kEats1; // IGNORED for a bypass STE
    h.write_ste(1, ste);
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_UR);
    EXPECT_EQ(r.event_id, kBadAtsTreq);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id(), kBadAtsTreq);
    EXPECT_EQ(ev[0].sid(), 1u);
}

TEST(AtsRequest, UrAndBadAtsTreqForEatsZero) {
    Harness h;
    up(h);
    ats_stream(h, 1, kS1PageRw, 0);
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_UR);
    EXPECT_EQ(r.event_id, kBadAtsTreq);
    EXPECT_TRUE(r.event_recorded);
}

TEST(AtsRequest, EatsDptWithoutDptBehavesAsZero) {
    Harness h;
    up(h, 0, kCr0Atschk);
    ats_stream(h, 1, kS1PageRw, kEats3);
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_UR);
    EXPECT_EQ(r.event_id, kBadAtsTreq);
}

TEST(AtsRequest, EatsSplitStageIsIllegalWithNs1ats) {
    Harness h;
    up(h, kCr2RecCfgAts, kCr0Atschk);
    EXPECT_TRUE(h.params.idr[0] & 0x800) << "IDR0.NS1ATS = 1: no split-stage ATS";
    ats_stream(h, 1, kS1PageRw, kEats2);
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_CA);
    EXPECT_EQ(r.event_id, kBadSte);
}

TEST(AtsRequest, UrWithoutEventForAbortSte) {
    Harness h;
    up(h, kCr2RecCfgAts);
    h.write_ste(1, {0x1ull, kEats1}); // V = 1, Config = 0b000
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_UR);
    EXPECT_EQ(r.event_id, 0u);
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsRequest, UrAndUutWithoutAts) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] &= ~(uint32_t)(0x400 | SMMU_IDR0_PRI); // IDR0.ATS = 0 (PRI needs ATS)
    Harness h(&p);
    up(h);
    ats_stream(h, 1, kS1PageRw);
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_UR);
    EXPECT_EQ(r.event_id, kUut);
}

// ---- Translation Requests: CA ----

TEST(AtsRequest, CaForBadSteRecordedOnlyWithRecCfgAts) {
    for (bool rec : {false, true}) {
        Harness h;
        up(h, rec ? kCr2RecCfgAts : 0);
        // STE 1 stays all zero: V = 0.
        smmu_ats_result r = ats(h, 1, kVa);
        EXPECT_EQ(r.status, SMMU_ATS_CA) << rec;
        EXPECT_EQ(r.event_id, kBadSte) << rec;
        EXPECT_EQ(r.event_recorded, rec);
        EXPECT_EQ(h.events().size(), rec ? 1u : 0u);
    }
}

TEST(AtsRequest, CaForBadStreamIdNeedsRecCfgAtsAndRecInvSid) {
    for (uint32_t cr2 : {0u, kCr2RecCfgAts, kCr2RecInvSid, kCr2RecCfgAts | kCr2RecInvSid}) {
        Harness h;
        up(h, cr2);
        smmu_ats_result r = ats(h, 0x1000, kVa); // beyond the 2^8-entry stream table
        EXPECT_EQ(r.status, SMMU_ATS_CA);
        EXPECT_EQ(r.event_id, kBadStreamId);
        EXPECT_EQ(r.event_recorded, cr2 == (kCr2RecCfgAts | kCr2RecInvSid)) << cr2;
    }
}

TEST(AtsRequest, CaForStreamDisabled) {
    Harness h;
    up(h, kCr2RecCfgAts);
    uint64_t table = h.alloc(2 * 64, 64);
    auto ste = Harness::ste_s1(table, 1, 0, /*S1DSS=*/0x0);
    ste[1] |= kEats1;
    h.write_ste(1, ste);
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_CA);
    EXPECT_EQ(r.event_id, kStreamDisabled);
    EXPECT_TRUE(r.event_recorded);
}

TEST(AtsRequest, CaForBadSubstreamId) {
    Harness h;
    up(h);
    ats_stream(h, 1, kS1PageRw); // S1CDMax = 0
    smmu_ats_result r = ats(h, 1, kVa, false, true, 3);
    EXPECT_EQ(r.status, SMMU_ATS_CA);
    EXPECT_EQ(r.event_id, kBadSubstreamId);
    EXPECT_FALSE(r.event_recorded) << "REC_CFG_ATS = 0";
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsRequest, CaForCdFetchAbort) {
    Harness h;
    up(h, kCr2RecCfgAts);
    S1Stream st = ats_stream(h, 1, kS1PageRw);
    h.mem.add_read_abort(st.cd_addr, st.cd_addr + 64);
    smmu_ats_result r = ats(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_ATS_CA);
    EXPECT_EQ(r.event_id, kCdFetch);
    EXPECT_TRUE(r.event_recorded);
}

TEST(AtsRequest, CaForWalkAbortRecordedOnlyWithRecCfgAts) {
    for (bool rec : {false, true}) {
        Harness h;
        up(h, rec ? kCr2RecCfgAts : 0);
        S1Stream st = ats_stream(h, 1, kS1PageRw);
        uint64_t da = st.pt->desc_addr(kVa, 3);
        h.mem.add_read_abort(da, da + 8);
        smmu_ats_result r = ats(h, 1, kVa);
        EXPECT_EQ(r.status, SMMU_ATS_CA);
        EXPECT_EQ(r.event_id, kWalkEabt);
        EXPECT_EQ(r.event_recorded, rec);
    }
}

// ---- Translated traffic: CR0.ATSCHK x STE.EATS ----

TEST(AtsTranslated, AtschkZeroPassesEveryConfigurationUnchecked) {
    Harness h;
    up(h);
    ats_stream(h, 1, 0, 0); // EATS = 0b00
    h.write_ste(2, Harness::ste_bypass());
    for (uint32_t sid : {1u, 2u, 0x1000u}) { // 0x1000: not even a valid StreamID
        smmu_result r = translated(h, sid, 0x40001000, true);
        EXPECT_EQ(r.status, SMMU_XLATE_OK) << sid;
        EXPECT_EQ(r.pa, 0x40001000u);
    }
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsTranslated, AtschkZeroStillChecksTheAddressSize) {
    Harness h;
    up(h);
    smmu_result r = translated(h, 1, 1ull << 50);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, 0u);
}

TEST(AtsTranslated, AtschkOneFollowsEats) {
    const struct {
        uint64_t eats;
        bool allowed;
    } cases[] = {{0, false}, {kEats1, true}, {kEats3, false}};
    for (const auto &c : cases) {
        Harness h;
        up(h, 0, kCr0Atschk);
        ats_stream(h, 1, 0, c.eats);
        smmu_result r = translated(h, 1, 0x40001000);
        if (c.allowed) {
            EXPECT_EQ(r.status, SMMU_XLATE_OK);
            EXPECT_EQ(r.pa, 0x40001000u);
            EXPECT_EQ(r.event_id, 0u);
        } else {
            EXPECT_EQ(r.status, SMMU_XLATE_ABORT) << c.eats;
            EXPECT_EQ(r.event_id, kTranslForbidden);
            EXPECT_TRUE(r.event_recorded);
        }
    }
}

TEST(AtsTranslated, AtschkOneForbidsBypassSte) {
    Harness h;
    up(h, 0, kCr0Atschk);
    auto ste = Harness::ste_bypass();
    ste[1] |= kEats1;
    h.write_ste(1, ste);
    smmu_result r = translated(h, 1, 0x40001000);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, kTranslForbidden);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id(), kTranslForbidden);
}

TEST(AtsTranslated, AtschkOneAbortsAbortSteWithoutEvent) {
    Harness h;
    up(h, kCr2RecCfgAts, kCr0Atschk);
    h.write_ste(1, {0x1ull, kEats1});
    smmu_result r = translated(h, 1, 0x40001000);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, 0u);
    EXPECT_TRUE(h.events().empty());
}

TEST(AtsTranslated, AtschkOneConfigErrorRecordedOnlyWithRecCfgAts) {
    for (bool rec : {false, true}) {
        Harness h;
        up(h, rec ? kCr2RecCfgAts : 0, kCr0Atschk);
        smmu_result r = translated(h, 1, 0x40001000); // STE 1: V = 0
        EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
        EXPECT_EQ(r.event_id, kBadSte);
        EXPECT_EQ(r.event_recorded, rec);
        // C_BAD_STREAMID of Translated traffic ignores RECINVSID.
        r = translated(h, 0x1000, 0x40001000);
        EXPECT_EQ(r.event_id, kBadStreamId);
        EXPECT_EQ(r.event_recorded, rec);
    }
}

TEST(AtsTranslated, ForbiddenWhenSmmuDisabledOrSecureWhateverAtschk) {
    for (uint32_t cr0 : {0u, kCr0Atschk}) {
        Harness h;
        up(h, 0, cr0);
        ats_stream(h, 1, 0, kEats1);
        smmu_result r = translated(h, 1, 0x40001000, false, /*secure=*/true);
        EXPECT_EQ(r.event_id, kTranslForbidden) << cr0;
        h.wr32(SMMU_CR0, (uint32_t)(SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN) | cr0);
        r = translated(h, 1, 0x40001000);
        EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
        EXPECT_EQ(r.event_id, kTranslForbidden) << cr0;
        EXPECT_TRUE(r.event_recorded);
    }
}

TEST(AtsRegs, Cr0AtschkIsWritableAndAcknowledgedWithAts) {
    Harness h;
    h.wr32(SMMU_CR0, kCr0Atschk);
    EXPECT_EQ(h.rd32(SMMU_CR0) & kCr0Atschk, kCr0Atschk);
    EXPECT_EQ(h.rd32(SMMU_CR0ACK) & kCr0Atschk, kCr0Atschk);
    EXPECT_TRUE(h.params.idr[0] & 0x400) << "IDR0.ATS = 1 in the default envelope";
}
