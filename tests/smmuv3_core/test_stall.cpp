// The stall fault model (IHI0070 3.12.2, 4.7.1-4.7.2, 7.3): stall records, CMD_RESUME, CMD_STALL_TERM,
// STALL_MAX, stall records that wait for room in the event queue, and the STALL_MODEL rules.
#include <gtest/gtest.h>

#include "smmu_harness.h"

extern "C" {
#include "smmu_cmd.h"
}

using namespace smmu_test;

namespace {

constexpr uint64_t kVa = 0x12345000;
constexpr uint64_t kPa = 0x40ABC000;

smmu_params with_stall_model(unsigned model) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] = (uint32_t)SMMU_FIELD_SET(p.idr[0], SMMU_IDR0_STALL_MODEL, model);
    return p;
}

// A transaction from a port that can hold it while it stalls (or not).
smmu_result xlate(Harness &h, uint32_t sid, uint64_t va, bool stall_capable = true, bool write = false) {
    smmu_txn t{};
    t.sid = sid;
    t.addr = va;
    t.len = 4;
    t.acc.write = write;
    t.at = SMMU_AT_UNTRANSLATED;
    t.stall_capable = stall_capable;
    smmu_result r{};
    smmu_translate(h.s, nullptr, &t, &r);
    return r;
}

// A stage-1 stream whose CD has S = 1 (and R = A = 1); its page table starts empty, so every access faults.
S1Stream stalling_stream(Harness &h, uint32_t sid, uint16_t asid, bool cd_s = true) {
    S1Stream st = make_s1_stream(h, sid, asid);
    auto cd = Harness::cd(st.pt->root(), asid);
    if (cd_s)
        cd[0] |= SMMU_CD0_S;
    h.write_cd(st.cd_addr, cd);
    return st;
}

// Literal encodings from the command layouts of IHI0070 4.7.1 and 4.7.2: CMD_RESUME is opcode 0x44 in
// [7:0], Ac at bit 12, Ab at bit 13, StreamID in [63:32], and STAG in [15:0] of the second doubleword;
// CMD_STALL_TERM is opcode 0x45 with StreamID in [63:32].
uint64_t resume_d0(uint32_t sid, bool ac, bool ab) {
    return (uint64_t(sid) << 32) | (ab ? 0x2000u : 0u) | (ac ? 0x1000u : 0u) | 0x44u;
}
uint64_t stall_term_d0(uint32_t sid) {
    return (uint64_t(sid) << 32) | 0x45u;
}

void resume(Harness &h, uint32_t sid, uint16_t stag, bool ac, bool ab) {
    h.cmd(resume_d0(sid, ac, ab), stag);
    h.sync();
}

uint64_t stat(Harness &h, const char *name) {
    return h.stats()[name];
}

} // namespace

TEST(SmmuStall, GoldenCommandAndRecordEncodings) {
    smmu_params p;
    smmu_params_default(&p);
    smmu_cmd c;
    // CMD_RESUME, StreamID 0x5, Ac = 1, Ab = 0, STAG 0xBEEF.
    ASSERT_EQ(smmu_cmd_decode(&p, 0x0000000500001044ull, 0x000000000000BEEFull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.opcode, 0x44);
    EXPECT_EQ(c.sid, 5u);
    EXPECT_TRUE(c.ac);
    EXPECT_FALSE(c.ab);
    EXPECT_EQ(c.stag, 0xBEEF);
    EXPECT_EQ(resume_d0(5, true, false), 0x0000000500001044ull);
    // Terminate with abort: Ac = 0, Ab = 1.
    ASSERT_EQ(smmu_cmd_decode(&p, 0x0000000700002044ull, 0x0000000000000001ull, &c), SMMU_CERROR_NONE);
    EXPECT_FALSE(c.ac);
    EXPECT_TRUE(c.ab);
    EXPECT_EQ(c.sid, 7u);
    // CMD_STALL_TERM, StreamID 0x5.
    ASSERT_EQ(smmu_cmd_decode(&p, 0x0000000500000045ull, 0, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.opcode, 0x45);
    EXPECT_EQ(c.sid, 5u);
    EXPECT_EQ(stall_term_d0(5), 0x0000000500000045ull);

    // A stall record: F_TRANSLATION (0x10) of a read at kVa from StreamID 5 with STAG 0: EventID [7:0],
    // StreamID [63:32]; STAG [15:0], Stall bit 31, RnW bit 35, CLASS [41:40] = 0b10 (input address) in dword
    // 1; InputAddr in dword 2.
    Harness h;
    h.bring_up();
    stalling_stream(h, 5, 1);
    smmu_result r = xlate(h, 5, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_STALLED);
    EXPECT_EQ(r.stag, 0);
    EXPECT_TRUE(r.event_recorded);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSLATION);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].raw[0], 0x0000000500000010ull);
    EXPECT_EQ(ev[0].raw[1], 0x0000020880000000ull);
    EXPECT_EQ(ev[0].raw[2], kVa);
    EXPECT_EQ(ev[0].raw[3], 0ull);
}

TEST(SmmuStall, StallThenRetrySucceedsOnceTheTablesAreFixed) {
    Harness h;
    h.bring_up();
    S1Stream st = stalling_stream(h, 1, 1);
    smmu_result r = xlate(h, 1, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_STALLED);
    const uint16_t stag = r.stag;
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].raw[1] & 0x8000FFFFull, 0x80000000ull | stag) << "Stall = 1 and the STAG";
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, stag), SMMU_STALL_WAITING);
    EXPECT_EQ(stat(h, "stall.outstanding"), 1u);

    st.pt->map(kVa, kPa, kS1PageRw);
    resume(h, 1, stag, /*ac=*/true, /*ab=*/false);
    EXPECT_EQ(h.cmdq_cons_err(), 0u);
    ASSERT_EQ(h.stall_resolutions.size(), 1u);
    EXPECT_EQ(h.stall_resolutions[0].sid, 1u);
    EXPECT_EQ(h.stall_resolutions[0].stag, stag);
    EXPECT_EQ(h.stall_resolutions[0].action, SMMU_STALL_RETRY);
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, stag), SMMU_STALL_RETRY);
    // Collected: the STAG is no longer held.
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, stag), SMMU_STALL_ABORT);
    EXPECT_EQ(stat(h, "stall.outstanding"), 0u);
    // The retry is a new transaction: it sees the new mapping.
    r = xlate(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_XLATE_OK);
    EXPECT_EQ(r.pa, kPa);
    EXPECT_EQ(stat(h, "stall.retries"), 1u);
    EXPECT_EQ(stat(h, "cmd.RESUME"), 1u);
}

TEST(SmmuStall, ResumeTerminateAbortsOrIsRazWi) {
    for (bool ab : {true, false}) {
        Harness h;
        h.bring_up();
        stalling_stream(h, 1, 1);
        smmu_result r = xlate(h, 1, kVa);
        ASSERT_EQ(r.status, SMMU_XLATE_STALLED);
        resume(h, 1, r.stag, /*ac=*/false, ab);
        EXPECT_EQ(smmu_stall_outcome(h.s, 1, r.stag), ab ? SMMU_STALL_ABORT : SMMU_STALL_RAZ_WI) << ab;
        EXPECT_EQ(stat(h, ab ? "stall.aborts" : "stall.raz_wi"), 1u);
    }
    // TERM_MODEL = 1: terminated transactions always abort, whatever Ab says.
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] |= (uint32_t)SMMU_IDR0_TERM_MODEL;
    Harness h(&p);
    h.bring_up();
    stalling_stream(h, 1, 1);
    smmu_result r = xlate(h, 1, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_STALLED);
    resume(h, 1, r.stag, /*ac=*/false, /*ab=*/false);
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, r.stag), SMMU_STALL_ABORT);
}

TEST(SmmuStall, StallTermEndsEveryStallOfTheStream) {
    Harness h;
    h.bring_up();
    stalling_stream(h, 1, 1);
    stalling_stream(h, 2, 2);
    smmu_result a = xlate(h, 1, kVa), b = xlate(h, 1, kVa + 0x1000), c = xlate(h, 2, kVa);
    ASSERT_EQ(a.status, SMMU_XLATE_STALLED);
    ASSERT_EQ(b.status, SMMU_XLATE_STALLED);
    ASSERT_EQ(c.status, SMMU_XLATE_STALLED);
    EXPECT_NE(a.stag, b.stag);
    h.cmd(stall_term_d0(1));
    h.sync();
    EXPECT_EQ(h.cmdq_cons_err(), 0u);
    EXPECT_EQ(h.stall_resolutions.size(), 2u);
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, a.stag), SMMU_STALL_ABORT);
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, b.stag), SMMU_STALL_ABORT);
    EXPECT_EQ(smmu_stall_outcome(h.s, 2, c.stag), SMMU_STALL_WAITING);
    EXPECT_EQ(stat(h, "cmd.STALL_TERM"), 1u);
}

TEST(SmmuStall, UnmatchedStagIsIgnored) {
    Harness h;
    h.bring_up();
    stalling_stream(h, 1, 1);
    smmu_result r = xlate(h, 1, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_STALLED);
    resume(h, 1, (uint16_t)(r.stag + 1), true, false); // no such STAG
    resume(h, 2, r.stag, true, false);                 // the STAG of another stream
    EXPECT_EQ(h.cmdq_cons_err(), 0u);
    EXPECT_TRUE(h.stall_resolutions.empty());
    EXPECT_EQ(stat(h, "stall.resume_unmatched"), 2u);
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, r.stag), SMMU_STALL_WAITING);
}

TEST(SmmuStall, StallMaxReachedTerminatesTheFault) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[5] = (uint32_t)SMMU_FIELD_SET(p.idr[5], SMMU_IDR5_STALL_MAX, 2);
    Harness h(&p);
    h.bring_up();
    stalling_stream(h, 1, 1);
    smmu_result a = xlate(h, 1, kVa), b = xlate(h, 1, kVa + 0x1000);
    ASSERT_EQ(a.status, SMMU_XLATE_STALLED);
    ASSERT_EQ(b.status, SMMU_XLATE_STALLED);
    h.events();
    // A third fault finds no room: it terminates as CD.A says (abort) and is recorded with Stall = 0.
    smmu_result c = xlate(h, 1, kVa + 0x2000);
    EXPECT_EQ(c.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(c.event_id, SMMU_EVT_F_TRANSLATION);
    EXPECT_TRUE(c.event_recorded);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].raw[1] & 0x8000FFFFull, 0u);
    EXPECT_EQ(stat(h, "stall.max_reached"), 1u);
    // Once a stall is over, faults stall again.
    resume(h, 1, a.stag, false, true);
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, a.stag), SMMU_STALL_ABORT);
    EXPECT_EQ(xlate(h, 1, kVa + 0x3000).status, SMMU_XLATE_STALLED);
}

TEST(SmmuStall, StallRecordWaitsForRoomAndIsNeverDropped) {
    Harness h;
    h.bring_up();
    h.setup_queues(6, 1); // an event queue of two records
    stalling_stream(h, 1, 1);
    stalling_stream(h, 2, 2, /*cd_s=*/false);
    // Fill the queue with terminate records of stream 2.
    EXPECT_EQ(xlate(h, 2, kVa).status, SMMU_XLATE_ABORT);
    EXPECT_EQ(xlate(h, 2, kVa).status, SMMU_XLATE_ABORT);
    smmu_result r = xlate(h, 1, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_STALLED);
    EXPECT_FALSE(r.event_recorded);
    EXPECT_EQ(stat(h, "stall.records_delayed"), 1u);
    EXPECT_EQ(stat(h, "evtq.overflows"), 0u) << "a waiting stall record is no overflow";
    EXPECT_EQ(stat(h, "evtq.dropped"), 0u);
    // Software cannot resume what it has not seen: the STAG does not match yet.
    resume(h, 1, r.stag, true, false);
    EXPECT_EQ(stat(h, "stall.resume_unmatched"), 1u);
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, r.stag), SMMU_STALL_WAITING);
    // Consuming the two records (an EVENTQ_CONS write) makes room: the stall record goes in at once.
    auto first = h.events();
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].sid(), 2u);
    auto second = h.events();
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].sid(), 1u);
    EXPECT_EQ(second[0].raw[1] & 0x8000FFFFull, 0x80000000ull | r.stag);
    resume(h, 1, r.stag, true, false);
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, r.stag), SMMU_STALL_RETRY);

    // With the queue disabled the record waits for EVENTQEN.
    h.wr32(SMMU_CR0, h.rd32(SMMU_CR0) & ~(uint32_t)SMMU_CR0_EVENTQEN);
    r = xlate(h, 1, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_STALLED);
    EXPECT_FALSE(r.event_recorded);
    h.wr32(SMMU_CR0, h.rd32(SMMU_CR0) | (uint32_t)SMMU_CR0_EVENTQEN);
    auto third = h.events();
    ASSERT_EQ(third.size(), 1u);
    EXPECT_EQ(third[0].raw[1] & 0x8000FFFFull, 0x80000000ull | r.stag);
    EXPECT_EQ(stat(h, "evtq.dropped"), 0u);
}

TEST(SmmuStall, StallModel1NeverStalls) {
    const smmu_params p = with_stall_model(1);
    Harness h(&p);
    h.bring_up();
    stalling_stream(h, 1, 1, /*cd_s=*/false);
    smmu_result r = xlate(h, 1, kVa);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSLATION);
    // CD.S = 1 is ILLEGAL under the terminate model.
    stalling_stream(h, 2, 2);
    r = xlate(h, 2, kVa);
    EXPECT_EQ(r.event_id, SMMU_EVT_C_BAD_CD);
    // No stall table at all: a STAG is never held.
    EXPECT_EQ(smmu_stall_outcome(h.s, 1, 0), SMMU_STALL_ABORT);
}

TEST(SmmuStall, StallModel2ForcesStallBits) {
    const smmu_params p = with_stall_model(2);
    Harness h(&p);
    h.bring_up();
    // CD.S = 0 is ILLEGAL when stalling is forced.
    stalling_stream(h, 1, 1, /*cd_s=*/false);
    EXPECT_EQ(xlate(h, 1, kVa).event_id, SMMU_EVT_C_BAD_CD);
    stalling_stream(h, 2, 2);
    EXPECT_EQ(xlate(h, 2, kVa).status, SMMU_XLATE_STALLED);
    // Stage 2: S2S = 0 is ILLEGAL; with S2S = 1 a stage-2 fault stalls and its record says S2.
    PageTable s2(h, 1);
    auto ste = h.ste_s2(s2.root(), 3);
    h.write_ste(3, ste);
    EXPECT_EQ(xlate(h, 3, kVa).event_id, SMMU_EVT_C_BAD_STE);
    ste[2] |= SMMU_STE2_S2S;
    h.write_ste(3, ste);
    h.cfgi_ste(3);
    h.events();
    smmu_result r = xlate(h, 3, kVa);
    ASSERT_EQ(r.status, SMMU_XLATE_STALLED);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_TRUE(ev[0].s2());
    EXPECT_EQ(ev[0].raw[1] & 0x8000FFFFull, 0x80000000ull | r.stag);
}

TEST(SmmuStall, PortThatCannotStallTerminates) {
    Harness h;
    h.bring_up();
    stalling_stream(h, 1, 1);
    // The same configuration from a port that cannot hold a transaction (PCIe): an ordinary fault.
    smmu_result r = xlate(h, 1, kVa, /*stall_capable=*/false);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(r.event_id, SMMU_EVT_F_TRANSLATION);
    auto ev = h.events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].raw[1] & 0x8000FFFFull, 0u);
    EXPECT_EQ(stat(h, "stall.stalls"), 0u);
    // Nor does a fault that is not translation-related stall: an STE fetch abort aborts.
    stalling_stream(h, 2, 2);
    h.mem.add_read_abort(h.ste_addr(2), h.ste_addr(2) + 64);
    h.cfgi_ste(2);
    EXPECT_EQ(xlate(h, 2, kVa).status, SMMU_XLATE_ABORT);
}
