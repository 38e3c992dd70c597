// PRI queue: entry encoding, Stop Markers, automatic PRG Responses (IHI0070 8.1, 8.2), overflow and its
// recovery, interrupts and MSIs, CMD_PRI_RESP.
#include <gtest/gtest.h>

#include <functional>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

constexpr uint64_t kStePpar = uint64_t(1) << 18; // STE dword 1 bit 18 (STE bit 82)

struct Pri {
    Harness h;
    uint64_t base = 0;
    unsigned log2 = 0;

    explicit Pri(const smmu_params *p = nullptr, unsigned q_log2 = 4, uint32_t cr2 = 0) : h(p), log2(q_log2) {
        h.setup_queues();
        h.setup_stream_table({});
        h.wr32(SMMU_CR2, cr2); // only writable with SMMUEN = 0
        base = h.alloc_aligned(uint64_t(16) << q_log2);
        h.wr64(SMMU_PRIQ_BASE, base | q_log2);
        h.wr32(SMMU_PRIQ_PROD, 0);
        h.wr32(SMMU_PRIQ_CONS, 0);
        h.enable(SMMU_CR0_PRIQEN);
    }

    smmu_pri_outcome send(const smmu_page_req &r) { return smmu_page_request(h.s, nullptr, &r); }
    uint64_t dw(unsigned index, unsigned word) { return h.mem.read64(base + index * 16 + word * 8); }
    uint32_t prod() { return h.rd32(SMMU_PRIQ_PROD); }
    uint32_t active_gerror() { return h.rd32(SMMU_GERROR) ^ h.rd32(SMMU_GERRORN); }
    // Fills the queue and sends one more Last = 0 request: overflow entered.
    void overflow() {
        for (unsigned i = 0; i < (1u << log2); ++i)
            ASSERT_EQ(send(req(1, i & 0x1FF)), SMMU_PRI_QUEUED);
        ASSERT_EQ(send(req(1, 0x77)), SMMU_PRI_DISCARDED);
        ASSERT_NE(prod() & SMMU_Q_PROD_OVFLG, 0u);
    }

    static smmu_page_req req(uint32_t sid, uint16_t prgi, bool last = false, bool ssv = false,
                             uint32_t ssid = 0) {
        smmu_page_req r{};
        r.sid = sid;
        r.prg_index = prgi;
        r.read = true;
        r.last = last;
        r.ssv = ssv;
        r.ssid = ssid;
        r.addr = 0x10000;
        return r;
    }
    static smmu_page_req stop(uint32_t sid, uint32_t pasid) {
        smmu_page_req r{};
        r.sid = sid;
        r.ssv = true;
        r.ssid = pasid;
        r.last = true;
        return r;
    }
};

void expect_msg(const smmu_msg &m, uint32_t sid, bool ssv, uint32_t ssid, uint16_t prgi, uint8_t code) {
    EXPECT_EQ(m.kind, SMMU_MSG_PRG_RESP);
    EXPECT_EQ(m.sid, sid);
    EXPECT_EQ(m.ssv, ssv);
    if (ssv) {
        EXPECT_EQ(m.ssid, ssid);
    }
    EXPECT_EQ(m.prg_index, prgi);
    EXPECT_EQ(m.response, code);
}

smmu_params with_pri(bool pri = true, bool pps = false) {
    smmu_params p;
    smmu_params_default(&p);
    if (!pri)
        p.idr[0] &= ~(uint32_t)SMMU_IDR0_PRI;
    if (pps)
        p.idr[3] |= 1u << 5; // IDR3.PPS
    return p;
}

} // namespace

TEST(SmmuPriq, DefaultEnvelopeHasPri) {
    smmu_params p;
    smmu_params_default(&p);
    EXPECT_TRUE(p.idr[0] & (1u << 16)) << "IDR0.PRI";
    EXPECT_TRUE(p.idr[0] & (1u << 10)) << "IDR0.ATS (PRI requires it)";
    char err[200] = "";
    EXPECT_TRUE(smmu_params_validate(&p, err, sizeof err)) << err;
    smmu_params pps = with_pri(true, true);
    EXPECT_TRUE(smmu_params_validate(&pps, err, sizeof err)) << err;
}

TEST(SmmuPriq, EntryEncodingFollowsTheSpecFieldPositions) {
    Pri t;
    smmu_set_trace(t.h.s, true);
    smmu_page_req r{};
    r.sid = 0x1234;
    r.ssv = true;
    r.ssid = 0xABCDE;
    r.exec = true;
    r.priv = true;
    r.read = true;
    r.last = true;
    r.prg_index = 0x1A5;
    r.addr = 0x0000123456789ABC;
    EXPECT_EQ(t.send(r), SMMU_PRI_QUEUED);
    // dw0: SID[31:0], SSID[51:32], Priv[58], Exec[59], R[60], W[61], Last[62], SSV[63].
    EXPECT_EQ(t.dw(0, 0), 0xDC0ABCDE00001234ull);
    // dw1: PRGIndex[8:0], page address[63:12].
    EXPECT_EQ(t.dw(0, 1), 0x00001234567891A5ull);

    // Without a PASID: X and Priv are 0, the SubstreamID is not written.
    smmu_page_req n{};
    n.sid = 7;
    n.ssid = 0x55;
    n.exec = true;
    n.priv = true;
    n.read = true;
    n.write = true;
    n.prg_index = 0x1FF;
    n.addr = 0xFFFFFFFF;
    EXPECT_EQ(t.send(n), SMMU_PRI_QUEUED);
    EXPECT_EQ(t.dw(1, 0), 0x3000000000000007ull);
    EXPECT_EQ(t.dw(1, 1), 0x00000000FFFFF1FFull);
    EXPECT_EQ(t.prod(), 2u);
    EXPECT_TRUE(t.h.sent_msgs.empty()) << "queued requests are answered by software";
    EXPECT_EQ(t.h.stat("priq.recorded"), 2u);
    bool traced = false;
    for (auto &l : t.h.trace)
        traced |= l.rfind("smmu: pri request sid=0x1234 ssid=0xabcde prgi=0x1a5", 0) == 0;
    EXPECT_TRUE(traced);
}

TEST(SmmuPriq, StopMarkerIsQueuedAndNeverAnswered) {
    Pri t;
    EXPECT_EQ(t.send(Pri::stop(3, 5)), SMMU_PRI_QUEUED);
    // Last[62], SSV[63], SSID 5 at [51:32], SID 3; R = W = 0; dw1 all zero.
    EXPECT_EQ(t.dw(0, 0), 0xC000000500000003ull);
    EXPECT_EQ(t.dw(0, 1), 0u);
    EXPECT_EQ(t.h.stat("priq.stop_markers"), 1u);

    // Discarded without an answer where a request would get Response Failure.
    t.h.wr32(SMMU_CR0, t.h.rd32(SMMU_CR0) & ~(uint32_t)SMMU_CR0_PRIQEN);
    EXPECT_EQ(t.send(Pri::stop(3, 5)), SMMU_PRI_DISCARDED);
    EXPECT_TRUE(t.h.sent_msgs.empty());
    // The same L/W/R bits without a PASID are an ordinary request: answered.
    smmu_page_req lwr100 = Pri::stop(3, 5);
    lwr100.ssv = false;
    EXPECT_EQ(t.send(lwr100), SMMU_PRI_ANSWERED);
    ASSERT_EQ(t.h.sent_msgs.size(), 1u);
    expect_msg(t.h.sent_msgs[0], 3, false, 0, 0, SMMU_PRG_RESPONSE_FAILURE);
}

TEST(SmmuPriq, StopMarkerInOverflowIsDiscardedSilently) {
    Pri t(nullptr, 2);
    t.overflow();
    EXPECT_EQ(t.send(Pri::stop(1, 9)), SMMU_PRI_DISCARDED);
    EXPECT_TRUE(t.h.sent_msgs.empty());
}

TEST(SmmuPriq, DisabledQueueAnswersResponseFailureWithoutPasid) {
    struct Case {
        const char *what;
        std::function<void(Pri &)> setup;
        bool secure;
    } cases[] = {
        {"PRIQEN=0", [](Pri &t) { t.h.wr32(SMMU_CR0, t.h.rd32(SMMU_CR0) & ~(uint32_t)SMMU_CR0_PRIQEN); },
         false},
        {"SMMUEN=0", [](Pri &t) { t.h.wr32(SMMU_CR0, t.h.rd32(SMMU_CR0) & ~(uint32_t)SMMU_CR0_SMMUEN); },
         false},
        {"Secure stream", [](Pri &) {}, true},
        {"PRIQ_ABT_ERR active",
         [](Pri &t) {
             t.h.mem.add_write_abort(t.base, t.base + 16);
             EXPECT_EQ(t.send(Pri::req(2, 1)), SMMU_PRI_ANSWERED);
             t.h.mem.clear_aborts();
             t.h.sent_msgs.clear();
         },
         false},
    };
    for (auto &c : cases) {
        Pri t;
        c.setup(t);
        smmu_page_req r = Pri::req(2, 0x42, false, true, 0x99);
        r.secure = c.secure;
        EXPECT_EQ(t.send(r), SMMU_PRI_ANSWERED) << c.what;
        EXPECT_EQ(t.prod() & SMMU_Q_PTR_MASK, 0u) << c.what << ": nothing written";
        ASSERT_EQ(t.h.sent_msgs.size(), 1u) << c.what;
        expect_msg(t.h.sent_msgs[0], 2, false, 0, 0x42, SMMU_PRG_RESPONSE_FAILURE);
    }
}

TEST(SmmuPriq, WriteAbortAnswersFailureAndRaisesPriqAbtErr) {
    Pri t;
    t.h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_GERROR_IRQEN);
    t.h.mem.add_write_abort(t.base, t.base + 16);
    EXPECT_EQ(t.send(Pri::req(4, 0x10, true)), SMMU_PRI_ANSWERED);
    ASSERT_EQ(t.h.sent_msgs.size(), 1u);
    expect_msg(t.h.sent_msgs[0], 4, false, 0, 0x10, SMMU_PRG_RESPONSE_FAILURE);
    EXPECT_EQ(t.active_gerror(), (uint32_t)SMMU_GERROR_PRIQ_ABT_ERR);
    EXPECT_EQ(t.h.irq_pulses[SMMU_IRQ_GERROR], 1u);
    EXPECT_EQ(t.h.stat("priq.write_aborts"), 1u);
    t.h.mem.clear_aborts();
    // While active nothing is written.
    EXPECT_EQ(t.send(Pri::req(4, 0x11, true)), SMMU_PRI_ANSWERED);
    EXPECT_EQ(t.prod(), 0u);
    // A stop marker whose write aborts is not answered either.
    t.h.wr32(SMMU_GERRORN, t.h.rd32(SMMU_GERROR));
    t.h.mem.add_write_abort(t.base, t.base + 16);
    t.h.sent_msgs.clear();
    EXPECT_EQ(t.send(Pri::stop(4, 1)), SMMU_PRI_DISCARDED);
    EXPECT_TRUE(t.h.sent_msgs.empty());
    t.h.mem.clear_aborts();
    t.h.wr32(SMMU_GERRORN, t.h.rd32(SMMU_GERROR));
    EXPECT_EQ(t.send(Pri::req(4, 0x12, true)), SMMU_PRI_QUEUED);
    EXPECT_EQ(t.prod(), 1u);
}

TEST(SmmuPriq, OverflowDiscardsAnswersLastOnlyAndRecoversAfterAck) {
    Pri t(nullptr, 2);
    t.overflow();
    EXPECT_TRUE(t.h.sent_msgs.empty()) << "Last = 0 is dropped silently";
    const uint32_t prod = t.prod();
    EXPECT_EQ(prod & SMMU_Q_PTR_MASK, 4u) << "index 0, wrap 1: full";
    EXPECT_EQ(t.h.stat("priq.overflows"), 1u);
    // Last = 1 without PASID: Success, no PASID, the request's PRG index.
    EXPECT_EQ(t.send(Pri::req(1, 0x123, true)), SMMU_PRI_ANSWERED);
    ASSERT_EQ(t.h.sent_msgs.size(), 1u);
    expect_msg(t.h.sent_msgs[0], 1, false, 0, 0x123, SMMU_PRG_SUCCESS);
    // Software drains: room in the queue, but overflow is still active until OVACKFLG = OVFLG.
    t.h.wr32(SMMU_PRIQ_CONS, prod & SMMU_Q_PTR_MASK);
    EXPECT_EQ(t.send(Pri::req(1, 0x1, false)), SMMU_PRI_DISCARDED);
    EXPECT_EQ(t.prod(), prod) << "nothing written while overflow is active";
    EXPECT_EQ(t.h.stat("priq.overflows"), 1u) << "OVFLG toggles once per overflow";
    // One CONS write: RD and OVACKFLG together.
    t.h.wr32(SMMU_PRIQ_CONS, (prod & SMMU_Q_PTR_MASK) | (prod & SMMU_Q_PROD_OVFLG));
    EXPECT_EQ(t.send(Pri::req(1, 0x2, true)), SMMU_PRI_QUEUED);
    EXPECT_EQ(t.prod() & SMMU_Q_PTR_MASK, 5u);
    EXPECT_EQ(t.dw(0, 1) & 0x1FF, 0x2u) << "written at index 0 after the wrap";
    EXPECT_EQ(t.h.sent_msgs.size(), 1u);
}

TEST(SmmuPriq, OverflowResponsePasidRules) {
    // IDR3.PPS = 1: the request's PASID, Success, STE not read.
    {
        smmu_params p = with_pri(true, true);
        Pri t(&p, 2);
        t.overflow();
        EXPECT_EQ(t.send(Pri::req(1, 0x5, true, true, 0x321)), SMMU_PRI_ANSWERED);
        ASSERT_EQ(t.h.sent_msgs.size(), 1u);
        expect_msg(t.h.sent_msgs[0], 1, true, 0x321, 0x5, SMMU_PRG_SUCCESS);
    }
    // PPS = 0: STE.PPAR decides.
    for (bool ppar : {false, true}) {
        Pri t(nullptr, 2);
        auto ste = Harness::ste_bypass();
        if (ppar)
            ste[1] |= kStePpar;
        t.h.write_ste(1, ste);
        t.overflow();
        EXPECT_EQ(t.send(Pri::req(1, 0x6, true, true, 0x321)), SMMU_PRI_ANSWERED);
        ASSERT_EQ(t.h.sent_msgs.size(), 1u);
        expect_msg(t.h.sent_msgs[0], 1, ppar, 0x321, 0x6, SMMU_PRG_SUCCESS);
    }
}

TEST(SmmuPriq, OverflowResponseWithUnreachableSteIsFailure) {
    struct Case {
        const char *what;
        uint32_t sid;
        uint32_t cr2;
        unsigned event; // 0: none recorded
        bool fetch_abort;
    } cases[] = {
        {"invalid STE, no REC_CFG_ATS", 1, 0, 0, false},
        {"invalid STE, REC_CFG_ATS", 1, SMMU_CR2_REC_CFG_ATS, SMMU_EVT_C_BAD_STE, false},
        {"SID out of range, RECINVSID only", 0x1000, SMMU_CR2_RECINVSID, 0, false},
        {"SID out of range, REC_CFG_ATS only", 0x1000, SMMU_CR2_REC_CFG_ATS, 0, false},
        {"SID out of range, both", 0x1000, SMMU_CR2_RECINVSID | SMMU_CR2_REC_CFG_ATS, SMMU_EVT_C_BAD_STREAMID,
         false},
        {"STE fetch abort", 1, SMMU_CR2_REC_CFG_ATS, SMMU_EVT_F_STE_FETCH, true},
    };
    for (auto &c : cases) {
        Pri t(nullptr, 2, c.cr2);
        t.overflow(); // SID 1's STE is all zero: invalid
        if (c.fetch_abort)
            t.h.mem.add_read_abort(t.h.ste_addr(1), t.h.ste_addr(1) + 64);
        smmu_page_req r = Pri::req(c.sid, 0x7, true, true, 0x321);
        EXPECT_EQ(t.send(r), SMMU_PRI_ANSWERED) << c.what;
        ASSERT_EQ(t.h.sent_msgs.size(), 1u) << c.what;
        expect_msg(t.h.sent_msgs[0], c.sid, false, 0, 0x7, SMMU_PRG_RESPONSE_FAILURE);
        auto evs = t.h.events();
        if (c.event) {
            ASSERT_EQ(evs.size(), 1u) << c.what;
            EXPECT_EQ(evs[0].id(), c.event) << c.what;
            EXPECT_EQ(evs[0].sid(), c.sid) << c.what;
        } else {
            EXPECT_TRUE(evs.empty()) << c.what;
        }
    }
}

TEST(SmmuPriq, WiredInterruptOnNonEmptyOrOnLastOnly) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] &= ~(uint32_t)SMMU_IDR0_MSI; // wired lines only
    {
        Pri t(&p);
        t.h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_PRIQ_IRQEN);
        t.send(Pri::req(1, 1));
        t.send(Pri::req(1, 1, true));
        EXPECT_EQ(t.h.irq_pulses[SMMU_IRQ_PRIQ], 1u) << "LO = 0: empty to non-empty";
        t.h.wr32(SMMU_PRIQ_CONS, t.prod());
        t.send(Pri::req(1, 2));
        EXPECT_EQ(t.h.irq_pulses[SMMU_IRQ_PRIQ], 2u);
    }
    {
        Pri t; // LO is part of PRIQ_IRQ_CFG2, which needs MSIs; with cfg0 = 0 the wired line is used
        t.h.wr32(SMMU_PRIQ_IRQ_CFG2, 1u << 31);
        EXPECT_EQ(t.h.rd32(SMMU_PRIQ_IRQ_CFG2), 1u << 31);
        t.h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_PRIQ_IRQEN);
        t.send(Pri::req(1, 1));
        EXPECT_EQ(t.h.irq_pulses[SMMU_IRQ_PRIQ], 0u) << "LO = 1: Last = 0 does not interrupt";
        t.send(Pri::req(1, 1, true));
        EXPECT_EQ(t.h.irq_pulses[SMMU_IRQ_PRIQ], 1u);
        t.send(Pri::req(1, 3, true));
        EXPECT_EQ(t.h.irq_pulses[SMMU_IRQ_PRIQ], 2u) << "every Last = 1 entry, empty or not";
    }
}

TEST(SmmuPriq, MsiAndMsiAbort) {
    Pri t;
    const uint64_t msi = t.h.alloc(64);
    t.h.wr64(SMMU_PRIQ_IRQ_CFG0, msi);
    t.h.wr32(SMMU_PRIQ_IRQ_CFG1, 0xC0DE);
    t.h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_PRIQ_IRQEN | SMMU_IRQ_CTRL_GERROR_IRQEN);
    t.send(Pri::req(1, 1));
    ASSERT_EQ(t.h.msis.size(), 1u);
    EXPECT_EQ(t.h.msis[0].addr, msi);
    EXPECT_EQ(t.h.msis[0].data, 0xC0DEu);
    EXPECT_EQ(t.h.irq_pulses[SMMU_IRQ_PRIQ], 0u);
    t.h.wr32(SMMU_PRIQ_CONS, t.prod());
    t.h.mem.add_write_abort(msi, msi + 4);
    EXPECT_EQ(t.send(Pri::req(1, 2)), SMMU_PRI_QUEUED) << "the entry itself was written";
    EXPECT_EQ(t.active_gerror(), (uint32_t)SMMU_GERROR_MSI_PRIQ_ABT_ERR);
}

TEST(SmmuPriq, CmdPriRespGoldenEncodingBecomesAPrgResponse) {
    Harness h;
    h.bring_up();
    // CMD_PRI_RESP (0x41): SSV[11], SSID[31:12] = 0xABC, SID[63:32] = 0x2A; PRGIndex[8:0] = 0x1A5,
    // Resp[13:12] = 0b10 Success.
    h.cmd(0x0000002A00ABC841ull, 0x00000000000021A5ull);
    EXPECT_EQ(h.cmdq_cons_err(), 0u);
    ASSERT_EQ(h.sent_msgs.size(), 1u);
    expect_msg(h.sent_msgs[0], 0x2A, true, 0xABC, 0x1A5, SMMU_PRG_SUCCESS);
    // Resp 0b01 Invalid Request, no SSV: no PASID.
    h.cmd(0x0000002A00000041ull, 0x0000000000001003ull);
    ASSERT_EQ(h.sent_msgs.size(), 2u);
    expect_msg(h.sent_msgs[1], 0x2A, false, 0, 0x3, SMMU_PRG_INVALID_REQUEST);
    // Resp 0b00 Response Failure.
    h.cmd(0x0000000500000041ull, 0x0000000000000004ull);
    ASSERT_EQ(h.sent_msgs.size(), 3u);
    expect_msg(h.sent_msgs[2], 5, false, 0, 0x4, SMMU_PRG_RESPONSE_FAILURE);
    EXPECT_EQ(h.stat("priq.cmd_responses"), 3u);
    // An undeliverable response does not stop the queue.
    h.msgs_deliverable = false;
    h.cmd(0x0000000500000041ull, 0x0000000000002004ull);
    EXPECT_EQ(h.cmdq_cons_err(), 0u);
    EXPECT_EQ(h.rd32(SMMU_GERROR) ^ h.rd32(SMMU_GERRORN), 0u);
}

TEST(SmmuPriq, CmdPriRespIllegalEncodings) {
    {
        Harness h;
        h.bring_up();
        h.cmd(0x0000000500000041ull, 0x0000000000003004ull); // Resp 0b11
        EXPECT_EQ(h.cmdq_cons_err(), (uint32_t)SMMU_CERROR_ILL);
        EXPECT_TRUE(h.sent_msgs.empty());
    }
    {
        smmu_params p = with_pri(false);
        Harness h(&p);
        h.bring_up();
        h.cmd(0x0000000500000041ull, 0x0000000000002004ull); // Success, but IDR0.PRI = 0
        EXPECT_EQ(h.cmdq_cons_err(), (uint32_t)SMMU_CERROR_ILL);
        EXPECT_TRUE(h.sent_msgs.empty());
    }
}

TEST(SmmuPriq, WithoutPriTheQueueRegistersAreInert) {
    smmu_params p = with_pri(false);
    Harness h(&p);
    h.bring_up();
    h.wr32(SMMU_CR0, h.rd32(SMMU_CR0) | SMMU_CR0_PRIQEN);
    EXPECT_EQ(h.rd32(SMMU_CR0ACK) & SMMU_CR0_PRIQEN, 0u);
    h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_PRIQ_IRQEN);
    EXPECT_EQ(h.rd32(SMMU_IRQ_CTRLACK) & SMMU_IRQ_CTRL_PRIQ_IRQEN, 0u);
    smmu_page_req r = Pri::req(1, 1, true);
    EXPECT_EQ(smmu_page_request(h.s, nullptr, &r), SMMU_PRI_ANSWERED);
    ASSERT_EQ(h.sent_msgs.size(), 1u);
    expect_msg(h.sent_msgs[0], 1, false, 0, 1, SMMU_PRG_RESPONSE_FAILURE);
}
