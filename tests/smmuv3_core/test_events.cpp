// Event queue, overflow, interrupts and MSIs, GERROR.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

// Every translation of SID 1 faults with F_TRANSLATION (empty page table) and is recorded.
void faulting_stream(Harness &h, S1Stream &st) {
    st = make_s1_stream(h, 1, 1);
}

uint32_t active_gerror(Harness &h) {
    return h.rd32(SMMU_GERROR) ^ h.rd32(SMMU_GERRORN);
}

// An expected event record, built from the bit numbers of the record diagrams in IHI0070 7.3 (bit n of the
// 256-bit record is bit n % 64 of dword n / 64), independently of the SMMU_EVT* masks the model uses.
struct Rec {
    uint64_t d[4] = {0, 0, 0, 0};
    Rec(unsigned id, uint32_t sid) { field(7, 0, id).field(63, 32, sid); }
    Rec &field(unsigned hi, unsigned lo, uint64_t v) { // hi and lo in the same dword
        unsigned w = hi - lo + 1;
        uint64_t mask = w == 64 ? ~uint64_t(0) : (uint64_t(1) << w) - 1;
        d[lo / 64] |= (v & mask) << (lo % 64);
        return *this;
    }
    Rec &bit(unsigned n) { return field(n, n, 1); }
    Rec &ssv(uint32_t ssid) { return bit(11).field(31, 12, ssid); }
    Rec &ssid_only(uint32_t ssid) { return field(31, 12, ssid); } // C_BAD_SUBSTREAMID: no SSV
    Rec &pnu() { return bit(97); }
    Rec &ind() { return bit(98); }
    Rec &rnw() { return bit(99); }
    Rec &s2() { return bit(103); }
    Rec &cls(unsigned c) { return field(105, 104, c); }
    Rec &ttrnw() { return bit(108); }
    Rec &input(uint64_t a) { return field(191, 128, a); }
    Rec &ipa(uint64_t a) { return field(247, 204, a >> 12); }
    Rec &fetch(uint64_t a) { return field(247, 195, a >> 3); }
};

constexpr unsigned kClassCd = 0, kClassTt = 1, kClassIn = 2;

std::string hex_record(const uint64_t d[4]) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%016llx %016llx %016llx %016llx", (unsigned long long)d[3],
                  (unsigned long long)d[2], (unsigned long long)d[1], (unsigned long long)d[0]);
    return buf;
}

// A nested stream: the CD and the stage-1 tables sit at IPA == PA, each page mapped by its own stage-2 page
// descriptor, and the stage-1 mapping va -> ipa is mapped by stage 2 to pa.
struct NestedStream {
    uint64_t cd;
    std::unique_ptr<PageTable> s1, s2;
};

NestedStream make_nested_stream(Harness &h, uint32_t sid, uint64_t va, uint64_t ipa, uint64_t pa) {
    NestedStream n;
    n.s2 = std::make_unique<PageTable>(h, 1);
    n.cd = h.alloc(64, 64);
    n.s1 = std::make_unique<PageTable>(h, 1);
    n.s1->map(va, ipa, kS1PageRw);
    n.s2->map(ipa, pa, kS2PageRw);
    n.s2->map(n.cd, n.cd, kS2PageRw);
    for (int level = 1; level <= 3; level++) {
        uint64_t page = n.s1->desc_addr(va, level) & ~uint64_t(0xFFF);
        n.s2->map(page, page, kS2PageRw);
    }
    h.write_cd(n.cd, Harness::cd(n.s1->root(), 9));
    auto ste = h.ste_s2(n.s2->root(), 7);
    ste[0] = SMMU_FIELD_SET(ste[0], SMMU_STE0_CONFIG, SMMU_STE_CONFIG_NESTED) |
             SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, n.cd);
    ste[1] |= SMMU_FIELD_PREP(SMMU_STE1_S1CIR, 1) | SMMU_FIELD_PREP(SMMU_STE1_S1COR, 1);
    h.write_ste(sid, ste);
    return n;
}

// A stage-1 stream with substreams (S1CDMax = 2): CD `ssid` (CD.IPS = ips) translates through the returned
// table.
std::unique_ptr<PageTable> make_s1_substream(Harness &h, uint32_t sid, uint32_t ssid, unsigned ips = 5) {
    uint64_t table = h.alloc(4 * 64, 64);
    auto pt = std::make_unique<PageTable>(h, 1);
    auto cd = Harness::cd(pt->root(), 4);
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_IPS, ips);
    h.write_cd(table + ssid * 64, cd);
    h.write_ste(sid, Harness::ste_s1(table, 2));
    return pt;
}

} // namespace

TEST(SmmuEvtq, RecordsAreDroppedWhenDisabled) {
    Harness h;
    h.bring_up();
    S1Stream st;
    faulting_stream(h, st);
    h.wr32(SMMU_CR0, (uint32_t)(SMMU_CR0_SMMUEN | SMMU_CR0_CMDQEN));
    smmu_result r = h.translate(1, 0x1000);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSLATION);
    EXPECT_FALSE(r.event_recorded);
    EXPECT_EQ(h.rd32(SMMU_EVENTQ_PROD), 0u);
    EXPECT_EQ(h.stat("evtq.dropped"), 1u);
}

TEST(SmmuEvtq, FullQueueOverflowsAndRecovers) {
    Harness h;
    h.setup_queues(6, 2); // 4 event records
    h.setup_stream_table({});
    h.enable();
    S1Stream st;
    faulting_stream(h, st);
    for (int i = 0; i < 4; i++)
        EXPECT_TRUE(h.translate(1, 0x1000 + i * 0x1000).event_recorded);
    uint32_t prod = h.rd32(SMMU_EVENTQ_PROD);
    EXPECT_EQ(prod & 7, 4u); // full: index 0 with the wrap bit set
    EXPECT_EQ(prod & SMMU_Q_PROD_OVFLG, 0u);
    // Queue full: the record is lost and OVFLG toggles once.
    EXPECT_FALSE(h.translate(1, 0x9000).event_recorded);
    EXPECT_TRUE(h.rd32(SMMU_EVENTQ_PROD) & SMMU_Q_PROD_OVFLG);
    EXPECT_FALSE(h.translate(1, 0xA000).event_recorded);
    EXPECT_TRUE(h.rd32(SMMU_EVENTQ_PROD) & SMMU_Q_PROD_OVFLG) << "no second toggle while overflow is active";
    EXPECT_EQ(h.stat("evtq.overflows"), 1u);
    // The consumer drains and acknowledges (OVACKFLG = OVFLG).
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 4u);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(ev[i].input_addr(), 0x1000u + i * 0x1000u);
    EXPECT_TRUE(h.rd32(SMMU_EVENTQ_CONS) & SMMU_Q_CONS_OVACKFLG);
    // Recording continues, and a new overflow toggles OVFLG back.
    for (int i = 0; i < 4; i++)
        EXPECT_TRUE(h.translate(1, 0x20000 + i * 0x1000).event_recorded);
    EXPECT_FALSE(h.translate(1, 0x30000).event_recorded);
    EXPECT_EQ(h.rd32(SMMU_EVENTQ_PROD) & SMMU_Q_PROD_OVFLG, 0u);
    EXPECT_EQ(h.stat("evtq.overflows"), 2u);
}

TEST(SmmuEvtq, UnacknowledgedOverflowDoesNotStopRecording) {
    Harness h;
    h.setup_queues(6, 1); // 2 records
    h.setup_stream_table({});
    h.enable();
    S1Stream st;
    faulting_stream(h, st);
    h.translate(1, 0x1000);
    h.translate(1, 0x2000);
    EXPECT_FALSE(h.translate(1, 0x3000).event_recorded);
    // Consume one record without acknowledging the overflow.
    uint32_t cons = h.rd32(SMMU_EVENTQ_CONS);
    h.wr32(SMMU_EVENTQ_CONS, cons + 1);
    EXPECT_TRUE(h.translate(1, 0x4000).event_recorded);
}

TEST(SmmuEvtq, InterruptGatingAndEmptyToNonEmpty) {
    Harness h;
    h.bring_up();
    S1Stream st;
    faulting_stream(h, st);
    h.translate(1, 0x1000);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_EVTQ], 0u); // IRQEN = 0
    h.events();
    h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_EVENTQ_IRQEN);
    h.translate(1, 0x1000);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_EVTQ], 1u);
    h.translate(1, 0x2000); // queue was not empty
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_EVTQ], 1u);
    h.events();
    h.translate(1, 0x3000);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_EVTQ], 2u);
}

TEST(SmmuEvtq, MsiInsteadOfWiredAndMsiAbort) {
    Harness h;
    h.bring_up();
    S1Stream st;
    faulting_stream(h, st);
    h.wr64(SMMU_EVENTQ_IRQ_CFG0, 0x90000100);
    h.wr32(SMMU_EVENTQ_IRQ_CFG1, 0x55);
    h.wr32(SMMU_EVENTQ_IRQ_CFG2, 0x1F);
    h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_EVENTQ_IRQEN | SMMU_IRQ_CTRL_GERROR_IRQEN);
    h.translate(1, 0x1000);
    ASSERT_EQ(h.msis.size(), 1u);
    EXPECT_EQ(h.msis[0].addr, 0x90000100u);
    EXPECT_EQ(h.msis[0].data, 0x55u);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_EVTQ], 0u);
    h.events();
    h.mem.add_write_abort(0x90000100, 0x90000104);
    h.translate(1, 0x2000);
    EXPECT_EQ(active_gerror(h), (uint32_t)SMMU_GERROR_MSI_EVENTQ_ABT_ERR);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_GERROR], 1u); // GERROR has no MSI configured: wired
}

TEST(SmmuEvtq, QueueWriteAbortStopsQueueUntilAcknowledged) {
    Harness h;
    h.bring_up();
    S1Stream st;
    faulting_stream(h, st);
    h.mem.add_write_abort(h.evtq_base, h.evtq_base + 32);
    EXPECT_FALSE(h.translate(1, 0x1000).event_recorded);
    EXPECT_EQ(active_gerror(h), (uint32_t)SMMU_GERROR_EVENTQ_ABT_ERR);
    h.mem.clear_aborts();
    EXPECT_FALSE(h.translate(1, 0x2000).event_recorded) << "queue stays stopped while the error is active";
    h.wr32(SMMU_GERRORN, h.rd32(SMMU_GERROR));
    EXPECT_TRUE(h.translate(1, 0x3000).event_recorded);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].input_addr(), 0x3000u);
}

TEST(SmmuGerror, InterruptGatingMsiAndMsiAbort) {
    Harness h;
    h.bring_up();
    // CMDQ_ERR without GERROR_IRQEN: no interrupt.
    h.cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, 0x77));
    EXPECT_EQ(active_gerror(h), (uint32_t)SMMU_GERROR_CMDQ_ERR);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_GERROR], 0u);
    h.mem.write64(h.cmdq_base, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC));
    h.wr32(SMMU_GERRORN, h.rd32(SMMU_GERROR));
    // GERROR through an MSI.
    h.wr64(SMMU_GERROR_IRQ_CFG0, 0x90000200);
    h.wr32(SMMU_GERROR_IRQ_CFG1, 0x77);
    h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_GERROR_IRQEN);
    h.cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, 0x78));
    ASSERT_EQ(h.msis.size(), 1u);
    EXPECT_EQ(h.msis[0].data, 0x77u);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_GERROR], 0u);
    // A GERROR MSI that aborts sets MSI_GERROR_ABT_ERR, which raises no interrupt itself.
    uint32_t cons = h.rd32(SMMU_CMDQ_CONS) & 63;
    h.mem.write64(h.cmdq_base + cons * 16, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC));
    h.wr32(SMMU_GERRORN, h.rd32(SMMU_GERROR));
    h.mem.add_write_abort(0x90000200, 0x90000204);
    h.cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, 0x79));
    EXPECT_EQ(active_gerror(h), (uint32_t)(SMMU_GERROR_CMDQ_ERR | SMMU_GERROR_MSI_GERROR_ABT_ERR));
    EXPECT_EQ(h.msis.size(), 1u);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_GERROR], 0u);
    // GERRORN acknowledges bits individually.
    h.wr32(SMMU_GERRORN, h.rd32(SMMU_GERRORN) ^ SMMU_GERROR_MSI_GERROR_ABT_ERR);
    EXPECT_EQ(active_gerror(h), (uint32_t)SMMU_GERROR_CMDQ_ERR);
}

TEST(SmmuEvents, TransferAttributesAndFieldsOfTranslationFaults) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 0x21, 3);
    st.pt->map(0x5000, 0x40005000, kS1PageRo);
    // Write to a read-only page: F_PERMISSION, RnW=0, privileged instruction bits from the transaction.
    smmu_result r = h.translate(0x21, 0x5010, true, false, 0, SMMU_AT_UNTRANSLATED, true);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_PERMISSION);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id(), (unsigned)SMMU_EVT_F_PERMISSION);
    EXPECT_EQ(ev[0].sid(), 0x21u);
    EXPECT_FALSE(ev[0].ssv());
    EXPECT_FALSE(ev[0].rnw());
    EXPECT_TRUE(ev[0].pnu());
    EXPECT_FALSE(ev[0].s2());
    EXPECT_EQ(ev[0].cls(), (unsigned)SMMU_CLASS_IN);
    EXPECT_EQ(ev[0].input_addr(), 0x5010u);
    // A read works; an instruction fetch of an unmapped page gives F_TRANSLATION with InD.
    EXPECT_EQ(h.translate(0x21, 0x5010).status, SMMU_XLATE_OK);
    h.translate(0x21, 0x8000, false, false, 0, SMMU_AT_UNTRANSLATED, false, true);
    ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id(), (unsigned)SMMU_EVT_F_TRANSLATION);
    EXPECT_TRUE(ev[0].rnw());
    EXPECT_TRUE(ev[0].ind());
    EXPECT_FALSE(ev[0].pnu());
}

TEST(SmmuEvents, RecordAndAbortFlagsOfTheCd) {
    Harness h;
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    auto c = Harness::cd(st.pt->root(), 1);
    c[0] &= ~(SMMU_CD0_R | SMMU_CD0_A);
    h.write_cd(st.cd_addr, c);
    smmu_result r = h.translate(1, 0x1000, true);
    EXPECT_EQ(r.status, SMMU_XLATE_RAZ_WI); // A=0 with TERM_MODEL=0
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSLATION);
    EXPECT_FALSE(r.event_recorded); // R=0
    EXPECT_TRUE(h.events().empty());
    c[0] |= SMMU_CD0_A;
    h.write_cd(st.cd_addr, c);
    h.cfgi_cd(1, 0);
    r = h.translate(1, 0x1000);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_FALSE(r.event_recorded);
    // Config errors are recorded whatever CD.R says: C_BAD_CD with R=0 in the bad CD.
    c[0] &= ~SMMU_CD0_V;
    h.write_cd(st.cd_addr, c);
    h.cfgi_cd(1, 0);
    EXPECT_TRUE(h.translate(1, 0x1000).event_recorded);
    EXPECT_EQ(h.stat("translations.raz_wi"), 1u);
    EXPECT_EQ(h.stat("event.F_TRANSLATION"), 2u) << "raised events are counted even when not recorded";
    EXPECT_EQ(h.stat("evtq.recorded"), 1u);
}

TEST(SmmuEvents, TermModelOneForcesAbortAndRequiresA) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] |= (uint32_t)SMMU_IDR0_TERM_MODEL;
    Harness h(&p);
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    auto c = Harness::cd(st.pt->root(), 1);
    c[0] &= ~SMMU_CD0_A; // ILLEGAL with TERM_MODEL=1
    h.write_cd(st.cd_addr, c);
    EXPECT_EQ(h.translate(1, 0x1000).event_id, SMMU_EVT_C_BAD_CD);
}

// An SMMU without ATS (IDR0.ATS = 0; PRI goes with it): ATS traffic has nowhere to go.
static smmu_params params_without_ats() {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] &= ~(uint32_t)(SMMU_IDR0_ATS | SMMU_IDR0_PRI);
    return p;
}

TEST(SmmuEvents, TranslatedTrafficAndTranslationRequestsWithoutAts) {
    const smmu_params p = params_without_ats();
    Harness h(&p);
    h.bring_up();
    auto bypass = Harness::ste_bypass();
    bypass[1] |= SMMU_FIELD_PREP(SMMU_STE1_EATS, 1); // EATS is RES0 without ATS: no effect
    h.write_ste(1, bypass);
    h.write_ste(2, Harness::ste_abort());
    smmu_result r = h.translate(1, 0x7000, false, false, 0, SMMU_AT_TRANSLATED);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSL_FORBIDDEN);
    r = h.translate(2, 0x7000, false, false, 0, SMMU_AT_TRANSLATED); // Config abort: no event
    EXPECT_EQ(r.event_id, 0u);
    r = h.translate(1, 0x7000, false, false, 0, SMMU_AT_TRANSLATION_REQ);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_UUT);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].id(), (unsigned)SMMU_EVT_F_TRANSL_FORBIDDEN);
    EXPECT_EQ(ev[0].input_addr(), 0x7000u);
    EXPECT_TRUE(ev[0].rnw());
    EXPECT_EQ(ev[1].id(), (unsigned)SMMU_EVT_F_UUT);
    EXPECT_EQ(SMMU_FIELD_GET(SMMU_EVT1_REASON, ev[1].raw[1]), (uint64_t)SMMU_UUT_ATS_NOT_IMPLEMENTED);
    // SMMUEN=0: Translated traffic is still refused.
    h.wr32(SMMU_CR0, (uint32_t)(SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN));
    r = h.translate(1, 0x7000, true, false, 0, SMMU_AT_TRANSLATED);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSL_FORBIDDEN);
    EXPECT_TRUE(r.event_recorded);
}

TEST(SmmuEvents, StatisticsAndTraceNames) {
    Harness h;
    h.bring_up();
    smmu_set_trace(h.s, true);
    S1Stream st = make_s1_stream(h, 1, 1);
    h.translate(1, 0x1000);
    auto m = h.stats();
    EXPECT_EQ(m.at("event.F_TRANSLATION"), 1u);
    EXPECT_EQ(m.at("evtq.recorded"), 1u);
    EXPECT_EQ(m.at("translations.total"), 1u);
    EXPECT_EQ(m.at("translations.aborted"), 1u);
    EXPECT_EQ(m.at("config_cache.fetches"), 2u); // STE + CD
    EXPECT_TRUE(m.count("cmd.CFGI_STE"));
    EXPECT_TRUE(m.count("event.C_BAD_STE"));
    bool engine = false;
    for (auto &kv : m)
        engine |= kv.first.rfind("engine.", 0) == 0;
    EXPECT_TRUE(engine);
    bool fault_line = false, event_line = false, fetch_line = false;
    for (auto &l : h.trace) {
        fault_line |= l.rfind("smmu: fault F_TRANSLATION sid=0x1", 0) == 0;
        event_line |= l.rfind("smmu: event F_TRANSLATION sid=0x1", 0) == 0;
        fetch_line |= l.rfind("smmu: fetch STE sid=0x1 pa=0x", 0) == 0;
    }
    EXPECT_TRUE(fault_line);
    EXPECT_TRUE(event_line);
    EXPECT_TRUE(fetch_line);
}

// Every event type the model raises, provoked once: the whole 32-byte record must be exactly the fields its
// IHI0070 7.3 page defines (with the values of the transaction), and every other bit zero.
TEST(SmmuEvents, EveryRecordHasExactlyTheFieldsOfItsType) {
    constexpr uint64_t kVa = 0x12345678, kIpa = 0x50000000, kPa = 0x40ABC000;
    struct Case {
        const char *what;
        std::function<Rec(Harness &)> provoke; // returns the expected record
    };
    const std::vector<Case> cases = {
        {"F_UUT: StreamID, SSV, SubstreamID, Reason, RnW/InD/PnU as received, InputAddr",
         [](Harness &h) {
             h.write_ste(1, Harness::ste_bypass());
             EXPECT_EQ(h.translate(1, kVa, false, true, 4, SMMU_AT_TRANSLATION_REQ, true, true).event_id,
                       SMMU_EVT_F_UUT);
             return Rec(0x01, 1)
                 .ssv(4)
                 .field(79, 64, SMMU_UUT_ATS_NOT_IMPLEMENTED)
                 .rnw()
                 .ind()
                 .pnu()
                 .input(kVa);
         }},
        {"C_BAD_STREAMID: StreamID, SSV, SubstreamID",
         [](Harness &h) {
             EXPECT_EQ(h.translate(0x100, kVa, true, true, 5, SMMU_AT_UNTRANSLATED, true).event_id,
                       SMMU_EVT_C_BAD_STREAMID);
             return Rec(0x02, 0x100).ssv(5);
         }},
        {"F_STE_FETCH: StreamID, SSV, SubstreamID, FetchAddr",
         [](Harness &h) {
             uint64_t a = h.ste_addr(9);
             h.mem.add_read_abort(a, a + 64);
             h.translate(9, kVa, true, true, 6, SMMU_AT_UNTRANSLATED, true);
             return Rec(0x03, 9).ssv(6).fetch(a);
         }},
        {"C_BAD_STE: StreamID, SSV, SubstreamID",
         [](Harness &h) {
             h.translate(4, kVa, false, true, 7, SMMU_AT_UNTRANSLATED, true, true); // STE 4 is all zero
             return Rec(0x04, 4).ssv(7);
         }},
        {"F_STREAM_DISABLED (no SubstreamID, S1DSS=0b00): StreamID only",
         [](Harness &h) {
             make_s1_substream(h, 1, 1);
             h.translate(1, kVa, false, false, 0, SMMU_AT_UNTRANSLATED, true, true);
             return Rec(0x06, 1);
         }},
        {"F_STREAM_DISABLED (SubstreamID 0, S1DSS=0b10): StreamID only",
         [](Harness &h) {
             uint64_t table = h.alloc(4 * 64, 64);
             h.write_ste(2, Harness::ste_s1(table, 2, SMMU_STE_S1FMT_LINEAR, SMMU_STE_S1DSS_SSID0));
             h.translate(2, kVa, true, true, 0, SMMU_AT_UNTRANSLATED, true);
             return Rec(0x06, 2);
         }},
        {"F_TRANSL_FORBIDDEN: StreamID, InputAddr, RnW",
         [](Harness &h) {
             h.write_ste(3, Harness::ste_bypass());
             h.translate(3, kVa, false, true, 2, SMMU_AT_TRANSLATED, true, true);
             return Rec(0x07, 3).input(kVa).rnw();
         }},
        {"C_BAD_SUBSTREAMID: StreamID, SubstreamID (no SSV)",
         [](Harness &h) {
             S1Stream st = make_s1_stream(h, 5, 1); // S1CDMax = 0
             h.translate(5, kVa, true, true, 9, SMMU_AT_UNTRANSLATED, true);
             return Rec(0x08, 5).ssid_only(9);
         }},
        {"F_CD_FETCH: StreamID, SSV, SubstreamID, FetchAddr",
         [](Harness &h) {
             uint64_t table = h.alloc(4 * 64, 64);
             h.write_ste(6, Harness::ste_s1(table, 2));
             h.mem.add_read_abort(table + 3 * 64, table + 4 * 64);
             h.translate(6, kVa, false, true, 3, SMMU_AT_UNTRANSLATED, true, true);
             return Rec(0x09, 6).ssv(3).fetch(table + 3 * 64);
         }},
        {"C_BAD_CD: StreamID, SSV, SubstreamID",
         [](Harness &h) {
             uint64_t table = h.alloc(4 * 64, 64);
             h.write_ste(7, Harness::ste_s1(table, 2)); // CD 1 is all zero
             h.translate(7, kVa, true, true, 1, SMMU_AT_UNTRANSLATED, true);
             return Rec(0x0A, 7).ssv(1);
         }},
        {"F_WALK_EABT at stage 1: S2=0, CLASS TT, FetchAddr, no IPA",
         [](Harness &h) {
             auto pt = make_s1_substream(h, 16, 1);
             pt->map(kVa, kPa, kS1PageRw);
             uint64_t leaf = pt->desc_addr(kVa, 3);
             h.mem.add_read_abort(leaf, leaf + 8);
             h.translate(16, kVa, false, true, 1, SMMU_AT_UNTRANSLATED, true, true);
             return Rec(0x0B, 16).ssv(1).input(kVa).rnw().ind().pnu().cls(kClassTt).fetch(leaf);
         }},
        {"F_WALK_EABT updating a stage-1 descriptor (HTTU): S2=0, CLASS TT, RnW of the input",
         [](Harness &h) {
             uint64_t table = h.alloc(4 * 64, 64);
             PageTable pt(h, 1);
             pt.map(kVa, kPa, kS1PageRw & ~kDescAf);
             auto cd = Harness::cd(pt.root(), 4);
             cd[0] |= SMMU_CD0_HA;
             h.write_cd(table + 64, cd);
             h.write_ste(17, Harness::ste_s1(table, 2));
             uint64_t leaf = pt.desc_addr(kVa, 3);
             h.mem.add_write_abort(leaf, leaf + 8);
             h.translate(17, kVa, false, true, 1);
             return Rec(0x0B, 17).ssv(1).input(kVa).rnw().cls(kClassTt).fetch(leaf);
         }},
        {"F_WALK_EABT nested, on the PA of a stage-1 descriptor: S2=0, CLASS TT",
         [](Harness &h) {
             NestedStream n = make_nested_stream(h, 18, kVa, kIpa, kPa);
             uint64_t leaf = n.s1->desc_addr(kVa, 3); // IPA == PA
             h.mem.add_read_abort(leaf, leaf + 8);
             h.translate(18, kVa, true, false, 0, SMMU_AT_UNTRANSLATED, true);
             return Rec(0x0B, 18).input(kVa).pnu().cls(kClassTt).fetch(leaf);
         }},
        {"F_WALK_EABT at stage 2 for the CD fetch: S2=1, CLASS CD, stage-2 descriptor FetchAddr",
         [](Harness &h) {
             NestedStream n = make_nested_stream(h, 19, kVa, kIpa, kPa);
             uint64_t s2_desc = n.s2->desc_addr(n.cd, 3);
             h.mem.add_read_abort(s2_desc, s2_desc + 8);
             h.translate(19, kVa);
             return Rec(0x0B, 19).input(kVa).rnw().s2().cls(kClassCd).fetch(s2_desc);
         }},
        {"F_WALK_EABT at stage 2 for a stage-1 descriptor IPA: S2=1, CLASS TT",
         [](Harness &h) {
             NestedStream n = make_nested_stream(h, 20, kVa, kIpa, kPa);
             uint64_t s2_desc = n.s2->desc_addr(n.s1->root(), 3);
             h.mem.add_read_abort(s2_desc, s2_desc + 8);
             h.translate(20, kVa, true);
             return Rec(0x0B, 20).input(kVa).s2().cls(kClassTt).fetch(s2_desc);
         }},
        {"F_WALK_EABT at stage 2 for the output IPA: S2=1, CLASS IN",
         [](Harness &h) {
             NestedStream n = make_nested_stream(h, 21, kVa, kIpa, kPa);
             uint64_t s2_desc = n.s2->desc_addr(kIpa, 3);
             h.mem.add_read_abort(s2_desc, s2_desc + 8);
             h.translate(21, kVa, false, false, 0, SMMU_AT_UNTRANSLATED, false, true);
             return Rec(0x0B, 21).input(kVa).rnw().ind().s2().cls(kClassIn).fetch(s2_desc);
         }},
        {"F_TRANSLATION at stage 1: no IPA",
         [](Harness &h) {
             make_s1_substream(h, 8, 1);
             h.translate(8, kVa, false, true, 1, SMMU_AT_UNTRANSLATED, true, true);
             return Rec(0x10, 8).ssv(1).input(kVa).rnw().ind().pnu().cls(kClassIn);
         }},
        {"F_TRANSLATION at stage 2: S2, CLASS IN, IPA",
         [](Harness &h) {
             PageTable s2(h, 1);
             h.write_ste(10, h.ste_s2(s2.root(), 5));
             h.translate(10, kIpa + 0x10, true, false, 0, SMMU_AT_UNTRANSLATED, true);
             return Rec(0x10, 10).input(kIpa + 0x10).pnu().s2().cls(kClassIn).ipa(kIpa);
         }},
        {"F_TRANSLATION at stage 2 for the CD fetch: CLASS CD, IPA of the CD",
         [](Harness &h) {
             NestedStream n = make_nested_stream(h, 11, kVa, kIpa, kPa);
             h.mem.write64(n.s2->desc_addr(n.cd, 3), 0); // no stage-2 mapping for the CD page
             h.translate(11, kVa, false, false, 0, SMMU_AT_UNTRANSLATED, false, true);
             return Rec(0x10, 11).input(kVa).rnw().ind().s2().cls(kClassCd).ipa(n.cd);
         }},
        {"F_ADDR_SIZE at stage 1",
         [](Harness &h) {
             auto pt = make_s1_substream(h, 12, 1, 2); // IPS: 40 bits
             pt->map(kVa, uint64_t(1) << 47, kS1PageRw);
             h.translate(12, kVa, true, true, 1);
             return Rec(0x11, 12).ssv(1).input(kVa).cls(kClassIn);
         }},
        {"F_ADDR_SIZE with stage 1 bypassed (stage-2-only input above the IAS): S2=0, CLASS IN",
         [](Harness &h) {
             PageTable s2(h, 1);
             h.write_ste(22, h.ste_s2(s2.root(), 5));
             h.translate(22, uint64_t(1) << 50, false, false, 0, SMMU_AT_UNTRANSLATED, true);
             return Rec(0x11, 22).input(uint64_t(1) << 50).rnw().pnu().cls(kClassIn);
         }},
        {"F_ACCESS at stage 2: S2, CLASS IN, IPA",
         [](Harness &h) {
             PageTable s2(h, 1);
             s2.map(kIpa, kPa, kS2PageRw & ~kDescAf);
             h.write_ste(23, h.ste_s2(s2.root(), 5));
             h.translate(23, kIpa + 0x345, true);
             return Rec(0x12, 23).input(kIpa + 0x345).s2().cls(kClassIn).ipa(kIpa);
         }},
        {"F_ACCESS at stage 1",
         [](Harness &h) {
             auto pt = make_s1_substream(h, 13, 1);
             pt->map(kVa, kPa, kS1PageRw & ~kDescAf);
             h.translate(13, kVa, false, true, 1);
             return Rec(0x12, 13).ssv(1).input(kVa).rnw().cls(kClassIn);
         }},
        {"F_PERMISSION at stage 1: no TTRnW outside CLASS TT",
         [](Harness &h) {
             auto pt = make_s1_substream(h, 14, 1);
             pt->map(kVa, kPa, kS1PageRo);
             h.translate(14, kVa, true, true, 1);
             return Rec(0x13, 14).ssv(1).input(kVa).cls(kClassIn);
         }},
        {"F_PERMISSION at stage 2 reading a stage-1 descriptor: CLASS TT, TTRnW, IPA of the descriptor",
         [](Harness &h) {
             NestedStream n = make_nested_stream(h, 15, kVa, kIpa, kPa);
             n.s2->map(n.s1->root(), n.s1->root(), kDescAf | kDescShIsh | kS2MemAttrWb); // S2AP = 0b00
             h.translate(15, kVa, true, false, 0, SMMU_AT_UNTRANSLATED, true);
             return Rec(0x13, 15).input(kVa).pnu().s2().cls(kClassTt).ttrnw().ipa(n.s1->desc_addr(kVa, 1));
         }},
    };
    // Without ATS: F_UUT needs a Translation Request to reach an SMMU without ATS, and F_TRANSL_FORBIDDEN a
    // Translated transaction that is always checked.
    const smmu_params p = params_without_ats();
    for (const Case &c : cases) {
        SCOPED_TRACE(c.what);
        Harness h(&p);
        h.setup_queues();
        h.setup_stream_table({});
        h.wr32(SMMU_CR2, SMMU_CR2_RECINVSID);
        h.enable();
        Rec want = c.provoke(h);
        auto ev = h.events();
        ASSERT_EQ(ev.size(), 1u);
        EXPECT_EQ(hex_record(ev[0].raw), hex_record(want.d)) << "record dwords 3..0";
    }
}
