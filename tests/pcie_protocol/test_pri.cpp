// PRI end to end: page requests from a permission-less translation, PRG Responses from CMD_PRI_RESP (each
// code), multi-page groups and the allocation limit, PRI queue overflow with the SMMU's automatic responses,
// PRI disabled on either side, and stopping a PASID with both behaviours.
#include "protocol_env.h"

using namespace pp;
using vp::PcieAt;
using vp::PrgResponseCode;
using vp::TxnKind;

namespace {

constexpr uint64_t kIova = 0x80000000;
constexpr uint64_t kDest = kIova + 0x100000;

Env::TeCommand pasid_copy(uint64_t begin, uint64_t len, uint32_t pasid) {
    Env::TeCommand c;
    c.begin = begin;
    c.end_incl = begin + len - 1;
    c.dest = kDest;
    c.pasid = pasid;
    c.ats = c.pri = true;
    return c;
}

// A stream for the engine at BDF: PASID `pasid` with the destination mapped, the source not.
uint64_t fault_setup(Env &e, uint16_t bdf, uint32_t pasid, uint32_t allocation = 64) {
    e.smmu_enable();
    uint64_t root = e.s1_stream(sid_of(bdf), 1, {pasid});
    e.map_range(root, kDest, kDataArea + 0x100000, 0x10000);
    e.te_enable(bdf, {true, true, true, allocation});
    return root;
}

std::vector<LinkRecord> responses(const Env &e) {
    return e.link.down(TxnKind::PrgResponse);
}

} // namespace

TEST(PcieProtocol, PriSinglePageSuccessRetries) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        const uint32_t sid = sid_of(te);
        uint64_t root = fault_setup(e, te, 5);
        for (unsigned i = 0; i < 0x100; ++i)
            e.at(kDataArea)[i] = static_cast<uint8_t>(0xC0 ^ i);
        e.te_start(te, pasid_copy(kIova, 0x100, 5));
        ASSERT_TRUE(e.wait_pri(1));
        sc_core::wait(2, SC_US); // nothing more comes while the group is outstanding
        const auto pri = e.take_pri();
        ASSERT_EQ(pri.size(), 1u);
        EXPECT_EQ(pri[0].sid, sid);
        EXPECT_TRUE(pri[0].ssv);
        EXPECT_EQ(pri[0].ssid, 5u);
        EXPECT_TRUE(pri[0].read);
        EXPECT_FALSE(pri[0].write);
        EXPECT_TRUE(pri[0].last);
        EXPECT_EQ(pri[0].addr, kIova);
        const auto requests = e.link.up(TxnKind::PageRequest);
        ASSERT_EQ(requests.size(), 1u);
        EXPECT_EQ(requests[0].addr, kIova);
        EXPECT_EQ(requests[0].attr.prg_index, pri[0].grpid);
        EXPECT_TRUE(requests[0].attr.last && requests[0].attr.read && !requests[0].attr.write);
        EXPECT_TRUE(requests[0].attr.ssv);
        EXPECT_EQ(requests[0].attr.substream_id, 5u);
        // The page request follows the permission-less completion by a round trip over the link.
        const auto denied = e.link.translation_requests(sid);
        ASSERT_FALSE(denied.empty());
        sc_time first_denial = denied[0].done;
        for (const LinkRecord &r : denied) {
            EXPECT_FALSE(r.reply.ats.read || r.reply.ats.write);
            first_denial = std::min(first_denial, r.done);
        }
        EXPECT_GE(requests[0].at, first_denial + 2 * e.rc_link());
        EXPECT_EQ(e.te_read(te, TE_CMD), TE_ENGINE_MEMCPY) << "still waiting for the response";

        e.map(root, kIova, kDataArea);
        e.pri_resp(sid, true, 5, pri[0].grpid, 2); // Success
        ASSERT_EQ(e.te_wait(te), TE_ENGINE_HALTED);
        EXPECT_EQ(std::memcmp(e.at(kDataArea + 0x100000), e.at(kDataArea), 0x100), 0);
        const auto resp = responses(e);
        ASSERT_EQ(resp.size(), 1u);
        EXPECT_EQ(resp[0].attr.prg_index, pri[0].grpid);
        EXPECT_EQ(resp[0].attr.prg_response, PrgResponseCode::Success);
        EXPECT_TRUE(resp[0].attr.ssv) << "STE.PPAR: the response carries the PASID";
        EXPECT_EQ(resp[0].attr.substream_id, 5u);
        // The retry: a new Translation Request after the response reached the function, now granted.
        bool retried = false;
        for (const LinkRecord &r : e.link.translation_requests(sid)) {
            if (r.addr != kIova || r.at < resp[0].at)
                continue;
            EXPECT_GE(r.at, resp[0].at + 2 * e.rc_link());
            EXPECT_TRUE(r.reply.ats.read);
            retried = true;
        }
        EXPECT_TRUE(retried);
        EXPECT_EQ(e.link.up(TxnKind::PageRequest).size(), 1u);
    });
    EXPECT_EQ(Env::stat(*e.te2, "prg_success"), 1u);
    EXPECT_EQ(e.smmu_stat("priq.recorded"), 1u);
    EXPECT_EQ(e.smmu_stat("priq.cmd_responses"), 1u);
}

TEST(PcieProtocol, PriMultiPageGroup) {
    Options o;
    o.te2_params = {{"prg_pages", "4"}};
    Env e(o);
    e.run([&] {
        const uint16_t te = kTe2;
        const uint32_t sid = sid_of(te);
        uint64_t root = fault_setup(e, te, 6);
        e.te_start(te, pasid_copy(kIova, 0x4000, 6));
        ASSERT_TRUE(e.wait_pri(4));
        sc_core::wait(2, SC_US);
        const auto pri = e.take_pri();
        ASSERT_EQ(pri.size(), 4u) << "one group of prg_pages pages";
        for (unsigned i = 0; i < 4; ++i) {
            EXPECT_EQ(pri[i].addr, kIova + i * 0x1000);
            EXPECT_EQ(pri[i].grpid, pri[0].grpid) << "one PRG index for the group";
            EXPECT_EQ(pri[i].last, i == 3) << "Last only on the final request";
            EXPECT_EQ(pri[i].ssid, 6u);
        }
        const auto requests = e.link.up(TxnKind::PageRequest);
        ASSERT_EQ(requests.size(), 4u);
        for (unsigned i = 1; i < 4; ++i)
            EXPECT_GE(requests[i].at, requests[i - 1].at) << "posted, in order";
        e.map_range(root, kIova, kDataArea, 0x4000);
        e.pri_resp(sid, true, 6, pri[3].grpid, 2);
        ASSERT_EQ(e.te_wait(te), TE_ENGINE_HALTED);
        EXPECT_EQ(e.link.up(TxnKind::PageRequest).size(), 4u) << "one response answers the whole group";
        EXPECT_EQ(responses(e).size(), 1u);
        EXPECT_EQ(std::memcmp(e.at(kDataArea + 0x100000), e.at(kDataArea), 0x4000), 0);
    });
    EXPECT_EQ(Env::stat(*e.te2, "agent_page_groups"), 1u);
}

TEST(PcieProtocol, PriAllocationLimitsOutstandingPageRequests) {
    Options o;
    o.te2_params = {{"prg_pages", "4"}};
    Env e(o);
    e.run([&] {
        const uint16_t te = kTe2;
        const uint32_t sid = sid_of(te);
        uint64_t root = fault_setup(e, te, 6, 2); // Outstanding Page Request Allocation = 2
        e.te_start(te, pasid_copy(kIova, 0x4000, 6));
        unsigned groups = 0, pages = 0;
        while (Env::te_running(static_cast<uint32_t>(e.te_read(te, TE_CMD))) && groups < 8) {
            if (!e.wait_pri(1, sc_time(20, SC_US)))
                continue;
            sc_core::wait(3, SC_US);
            const auto pri = e.take_pri();
            ASSERT_EQ(pri.size(), 2u) << "a group shortened to the allocation, and nothing beyond it";
            EXPECT_FALSE(pri[0].last);
            EXPECT_TRUE(pri[1].last);
            EXPECT_EQ(pri[1].addr, pri[0].addr + 0x1000);
            EXPECT_EQ(pri[0].addr, kIova + pages * 0x1000);
            e.map(root, pri[0].addr, kDataArea + (pri[0].addr - kIova));
            e.map(root, pri[1].addr, kDataArea + (pri[1].addr - kIova));
            e.pri_resp(sid, true, 6, pri[1].grpid, 2);
            ++groups;
            pages += 2;
        }
        EXPECT_EQ(e.te_wait(te), TE_ENGINE_HALTED);
        EXPECT_EQ(groups, 2u);
        // On the link: never more than two page requests without a response.
        int outstanding = 0, most = 0;
        for (const LinkRecord &r : e.link.log) {
            if (r.is(TxnKind::PageRequest))
                most = std::max(most, ++outstanding);
            else if (r.is(TxnKind::PrgResponse))
                outstanding -= 2;
        }
        EXPECT_EQ(most, 2);
    });
}

TEST(PcieProtocol, PriInvalidRequestEndsTheCommand) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        fault_setup(e, te, 5);
        e.te_start(te, pasid_copy(kIova + 0x40, 0x80, 5));
        // Each group gets Invalid Request. A translation completion still on its way when the response
        // arrives may start another group for the same page; it gets the same answer.
        unsigned groups = 0;
        while (Env::te_running(static_cast<uint32_t>(e.te_read(te, TE_CMD))) && groups < 4) {
            if (!e.wait_pri(1, sc_time(5, SC_US)))
                continue;
            for (const Env::PriEntry &p : e.take_pri()) {
                EXPECT_EQ(p.addr, kIova);
                if (p.last) {
                    e.pri_resp(sid_of(te), true, 5, p.grpid, 1); // Invalid Request
                    ++groups;
                }
            }
        }
        ASSERT_EQ(e.te_wait(te), TE_ENGINE_ERROR);
        const uint64_t fault = e.te_read(te, TE_UDATA + 16, 8);
        EXPECT_TRUE(fault == kIova + 0x40 || fault == kIova + 0x80) << "udata[2]: a faulting address";
        EXPECT_GE(groups, 1u);
        const auto resp = responses(e);
        ASSERT_EQ(resp.size(), groups);
        EXPECT_EQ(resp[0].attr.prg_response, PrgResponseCode::InvalidRequest);
        EXPECT_EQ(static_cast<unsigned>(resp[0].attr.prg_response), 0x1u);
        EXPECT_EQ(e.link.up(TxnKind::PageRequest).size(), groups);
        EXPECT_EQ(e.cfg_read(te, kEcapPri + 6, 2) & kPriStatusRf, 0u) << "not a Response Failure";
        EXPECT_TRUE(e.link.memory(sid_of(te), PcieAt::Translated).empty());
    });
    EXPECT_GE(Env::stat(*e.te2, "prg_invalid"), 1u);
    EXPECT_EQ(Env::stat(*e.te2, "prg_invalid"), e.link.down(TxnKind::PrgResponse).size());
}

TEST(PcieProtocol, PriResponseFailureSetsRfAndStopsPageRequests) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        uint64_t root = fault_setup(e, te, 5);
        e.te_start(te, pasid_copy(kIova, 0x40, 5));
        ASSERT_TRUE(e.wait_pri(1));
        auto pri = e.take_pri();
        e.pri_resp(sid_of(te), true, 5, pri[0].grpid, 0); // Response Failure
        ASSERT_EQ(e.te_wait(te), TE_ENGINE_ERROR);
        auto resp = responses(e);
        ASSERT_EQ(resp.size(), 1u);
        EXPECT_EQ(static_cast<unsigned>(resp[0].attr.prg_response), 0xFu) << "Response Failure";
        EXPECT_EQ(e.cfg_read(te, kEcapPri + 6, 2), 0x8001u) << "RF, PASID Required";

        // RF set: another fault ends the command without a page request.
        e.te_start(te, pasid_copy(kIova + 0x2000, 0x40, 5));
        EXPECT_EQ(e.te_wait(te), TE_ENGINE_ERROR);
        EXPECT_EQ(e.te_read(te, TE_UDATA + 16, 8), kIova + 0x2000);
        EXPECT_EQ(e.link.up(TxnKind::PageRequest).size(), 1u);

        // Software clears RF (RW1C): page requests flow again.
        e.cfg_write(te, kEcapPri + 6, kPriStatusRf, 2);
        EXPECT_EQ(e.cfg_read(te, kEcapPri + 6, 2), 0x8000u);
        e.te_start(te, pasid_copy(kIova + 0x3000, 0x40, 5));
        ASSERT_TRUE(e.wait_pri(1));
        pri = e.take_pri();
        EXPECT_EQ(pri[0].addr, kIova + 0x3000);
        e.map(root, kIova + 0x3000, kDataArea + 0x3000);
        e.pri_resp(sid_of(te), true, 5, pri[0].grpid, 2);
        EXPECT_EQ(e.te_wait(te), TE_ENGINE_HALTED);
    });
    EXPECT_EQ(Env::stat(*e.te2, "prg_failure"), 1u);
}

TEST(PcieProtocol, PriQueueOverflowGetsAutomaticResponses) {
    Options o;
    o.bare = true;
    o.priq_log2 = 1; // two entries
    Env e(o);
    e.run([&] {
        const uint32_t sid = kBare;
        e.smmu_enable();
        e.s1_stream(sid, 1, {7});
        e.bare_enable(true, true, 16);
        auto page_request = [&](uint64_t addr, uint16_t index, bool last) {
            pcie_ep_access a{};
            a.addr = addr;
            a.len = 1;
            a.pasid_valid = true;
            a.pasid = 7;
            ASSERT_TRUE(pcie_ep_page_request(e.bare->ep(), &a, index, last));
            sc_core::wait(200, SC_NS);
        };
        page_request(kIova, 1, true);
        page_request(kIova + 0x1000, 2, true);
        EXPECT_EQ(e.priq_prod() & SMMU_Q_PROD_OVFLG, 0u);
        page_request(kIova + 0x2000, 3, true);  // the queue is full: overflow, answered by the SMMU
        page_request(kIova + 0x3000, 4, false); // in overflow, not Last: discarded, no answer
        page_request(kIova + 0x4000, 4, true);  // its group's Last: answered
        sc_core::wait(1, SC_US);
        EXPECT_NE(e.priq_prod() & SMMU_Q_PROD_OVFLG, 0u) << "PRIQ_PROD.OVFLG";
        EXPECT_EQ(e.priq_prod() & SMMU_Q_PTR_MASK, 2u) << "two entries written, wrapped to index 0";
        const auto resp = responses(e);
        ASSERT_EQ(resp.size(), 2u);
        EXPECT_EQ(resp[0].attr.prg_index, 3u);
        EXPECT_EQ(resp[1].attr.prg_index, 4u);
        for (const LinkRecord &r : resp) {
            EXPECT_EQ(r.attr.prg_response, PrgResponseCode::Success)
                << "overflow answers Success (retry later)";
            EXPECT_TRUE(r.attr.ssv) << "STE.PPAR = 1: with the PASID";
            EXPECT_EQ(r.attr.substream_id, 7u);
            EXPECT_EQ(r.attr.stream_id, sid);
        }
        ASSERT_EQ(e.bare_device.prg_responses.size(), 2u);
        EXPECT_EQ(e.bare_device.prg_responses[0], (std::pair<uint16_t, uint8_t>{3, 0}));
        EXPECT_EQ(e.bare_device.prg_responses[1], (std::pair<uint16_t, uint8_t>{4, 0}));
        EXPECT_EQ(e.link.up(TxnKind::PageRequest).size(), 5u);

        // Software drains the queue and acknowledges the overflow; requests are queued again.
        const auto pri = e.take_pri();
        ASSERT_EQ(pri.size(), 2u);
        EXPECT_EQ(pri[0].grpid, 1u);
        EXPECT_EQ(pri[1].grpid, 2u);
        e.priq_cons = (e.priq_cons & ~SMMU_Q_CONS_OVACKFLG) | (e.priq_prod() & SMMU_Q_PROD_OVFLG);
        e.set32(SMMU_PRIQ_CONS, e.priq_cons);
        page_request(kIova + 0x5000, 5, true);
        ASSERT_TRUE(e.wait_pri(1, sc_time(2, SC_US)));
        EXPECT_EQ(e.take_pri()[0].grpid, 5u);
        EXPECT_EQ(responses(e).size(), 2u) << "queued: no automatic response";
        for (uint16_t g : {1, 2, 5})
            e.pri_resp(sid, true, 7, g, 2);
        sc_core::wait(1, SC_US);
        EXPECT_EQ(e.bare_device.prg_responses.size(), 5u);
    });
    EXPECT_EQ(e.smmu_stat("priq.auto_responses"), 2u);
    EXPECT_EQ(e.smmu_stat("priq.overflows"), 1u);
}

TEST(PcieProtocol, PriDisabledInTheFunctionOrInTheSmmu) {
    Options o;
    o.bare = true;
    Env e(o);
    e.run([&] {
        // The function's PRI Enable is clear (the frame's PRI_ENABLE is set): no page request at all.
        e.smmu_enable(0, false); // PRIQEN = 0
        e.s1_stream(sid_of(kTe2), 1, {5});
        e.te_enable(kTe2, {true, false, true});
        ASSERT_EQ(e.te_run(kTe2, pasid_copy(kIova, 0x40, 5)), TE_ENGINE_ERROR);
        EXPECT_TRUE(e.link.up(TxnKind::PageRequest).empty());
        EXPECT_FALSE(e.link.translation_requests(sid_of(kTe2)).empty());

        // The SMMU's PRI queue is off: a page request is answered Response Failure at once.
        e.s1_stream(kBare, 1, {7});
        e.bare_enable(true, true);
        pcie_ep_access a{};
        a.addr = kIova;
        a.len = 1;
        a.write = true;
        a.pasid_valid = true;
        a.pasid = 7;
        ASSERT_TRUE(pcie_ep_page_request(e.bare->ep(), &a, 9, true));
        sc_core::wait(1, SC_US);
        const auto requests = e.link.up(TxnKind::PageRequest);
        ASSERT_EQ(requests.size(), 1u);
        EXPECT_TRUE(requests[0].attr.write && requests[0].attr.last);
        const auto resp = responses(e);
        ASSERT_EQ(resp.size(), 1u);
        EXPECT_EQ(resp[0].attr.prg_index, 9u);
        EXPECT_EQ(static_cast<unsigned>(resp[0].attr.prg_response), 0xFu);
        EXPECT_GE(resp[0].at, requests[0].at);
        EXPECT_EQ(e.priq_prod(), 0u) << "nothing written";
        EXPECT_EQ(e.cfg_read(kBare, kEcapPri + 6, 2) & kPriStatusRf, kPriStatusRf);
    });
    EXPECT_EQ(e.smmu_stat("priq.auto_responses"), 1u);
}

TEST(PcieProtocol, StopMarkerFrom0002DoesNotWaitForResponses) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        fault_setup(e, te, 9);
        e.te_start(te, pasid_copy(kIova, 0x100, 9));
        ASSERT_TRUE(e.wait_pri(1));
        const auto pri = e.take_pri();
        EXPECT_EQ(e.te_priv_read(te, TE_PCTRL) & TE_PCTRL_STOPPED, 0u);
        e.te_priv(te, TE_PCTRL, TE_PCTRL_SSD_NS | TE_PCTRL_ATS_ENABLE | TE_PCTRL_PRI_ENABLE | TE_PCTRL_STOP);
        sc_core::wait(1, SC_US);
        EXPECT_NE(e.te_priv_read(te, TE_PCTRL) & TE_PCTRL_STOPPED, 0u) << "stopped without a response";
        EXPECT_EQ(e.te_read(te, TE_CMD), TE_ENGINE_ERROR) << "the running command was aborted";
        const uint64_t fault = e.te_read(te, TE_UDATA + 16, 8);
        EXPECT_TRUE(fault >= kIova && fault < kIova + 0x100) << "udata[2]: an aborted address of the region";
        EXPECT_TRUE(responses(e).empty());
        const auto requests = e.link.up(TxnKind::PageRequest);
        ASSERT_EQ(requests.size(), 2u);
        EXPECT_FALSE(requests[0].stop_marker());
        EXPECT_TRUE(requests[1].stop_marker()) << "L = 1, R = W = 0, with the PASID";
        EXPECT_EQ(requests[1].attr.substream_id, 9u);
        EXPECT_GT(requests[1].at, requests[0].at);
        // The SMMU queues the Stop Marker for software and never answers it.
        ASSERT_TRUE(e.wait_pri(1, sc_time(1, SC_US)));
        const auto marker = e.take_pri();
        ASSERT_EQ(marker.size(), 1u);
        EXPECT_TRUE(marker[0].last && !marker[0].read && !marker[0].write && marker[0].ssv);
        EXPECT_EQ(marker[0].ssid, 9u);
        // A late response for the stopped PASID is dropped by the function, without UPRGI.
        e.pri_resp(sid_of(te), true, 9, pri[0].grpid, 2);
        sc_core::wait(1, SC_US);
        EXPECT_EQ(responses(e).size(), 1u);
        EXPECT_EQ(e.cfg_read(te, kEcapPri + 6, 2) & kPriStatusUprgi, 0u);
    });
    EXPECT_EQ(Env::stat(*e.te2, "stop_markers"), 1u);
    EXPECT_EQ(Env::stat(*e.te2, "prg_dropped"), 1u);
    EXPECT_EQ(e.smmu_stat("priq.stop_markers"), 1u);
    EXPECT_EQ(e.smmu_stat("priq.auto_responses"), 0u);
}

TEST(PcieProtocol, StopOf0003WaitsForItsResponses) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe3;
        uint64_t root = fault_setup(e, te, 9);
        e.te_start(te, pasid_copy(kIova, 0x100, 9));
        ASSERT_TRUE(e.wait_pri(1));
        const auto pri = e.take_pri();
        e.te_priv(te, TE_PCTRL, TE_PCTRL_SSD_NS | TE_PCTRL_ATS_ENABLE | TE_PCTRL_PRI_ENABLE | TE_PCTRL_STOP);
        for (int i = 0; i < 5; ++i) {
            sc_core::wait(1, SC_US);
            EXPECT_EQ(e.te_priv_read(te, TE_PCTRL) & TE_PCTRL_STOPPED, 0u) << "the group is outstanding";
        }
        e.pri_resp(sid_of(te), true, 9, pri[0].grpid, 1);
        const auto resp = responses(e);
        ASSERT_EQ(resp.size(), 1u);
        sc_time stopped_at;
        for (int i = 0; i < 100; ++i) {
            if (e.te_priv_read(te, TE_PCTRL) & TE_PCTRL_STOPPED) {
                stopped_at = sc_core::sc_time_stamp();
                break;
            }
            sc_core::wait(10, SC_NS);
        }
        ASSERT_NE(stopped_at, sc_core::SC_ZERO_TIME) << "STOPPED after the response";
        EXPECT_GE(stopped_at, resp[0].at + e.rc_link());
        EXPECT_EQ(e.te_read(te, TE_CMD), TE_ENGINE_ERROR);
        for (const LinkRecord &r : e.link.up(TxnKind::PageRequest))
            EXPECT_FALSE(r.stop_marker()) << "this function never sends a Stop Marker";

        // STOP = 0 resumes the PASID: the frame works again.
        e.te_priv(te, TE_PCTRL, TE_PCTRL_SSD_NS | TE_PCTRL_ATS_ENABLE | TE_PCTRL_PRI_ENABLE);
        EXPECT_EQ(e.te_priv_read(te, TE_PCTRL) & (TE_PCTRL_STOP | TE_PCTRL_STOPPED), 0u);
        e.map(root, kIova, kDataArea);
        EXPECT_EQ(e.te_run(te, pasid_copy(kIova, 0x100, 9)), TE_ENGINE_HALTED);
    });
    EXPECT_EQ(Env::stat(*e.te3, "stop_markers"), 0u);
    EXPECT_EQ(Env::stat(*e.te3, "prg_dropped"), 0u);
}
