// The page-by-page DMA agent against the fake root complex: ATC hit/miss, Translation Requests, page request
// groups and their responses, the PRI Allocation, failures, bounded retries and stopping a PASID.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "fake_host.h"
#include "pcie_agent.h"
#include "pcie_ep.h"

namespace {

struct Result {
    int id;
    pcie_agent_status status;
    uint64_t fault;
};

class Agent : public ::testing::Test {
  protected:
    fake::Host host;
    pcie_ep_host_ops ops = host.ops();
    pcie_ep *ep = nullptr;
    pcie_agent *ag = nullptr;
    std::vector<Result> results;
    std::vector<uint32_t> stopped;
    std::vector<std::vector<uint8_t>> bufs;
    pcie_ep_device_ops dops{};

    static void done(void *owner, void *cookie, pcie_agent_status st, uint64_t fault) {
        static_cast<Agent *>(owner)->results.push_back({(int)(intptr_t)cookie, st, fault});
    }
    static void on_stop(void *arg, uint32_t pasid) { static_cast<Agent *>(arg)->stopped.push_back(pasid); }

    void make(bool stop_marker = true) {
        pcie_agent_destroy(ag);
        pcie_ep_destroy(ep);
        pcie_ep_params p{};
        p.vendor_id = 0x13B5;
        p.device_id = 0xFF80;
        p.bar_size[0] = 0x1000;
        p.ats = true;
        p.inv_queue_depth = 8;
        p.atc_sets = 16;
        p.atc_ways = 4;
        p.pri = true;
        p.pri_capacity = 64;
        p.pasid = true;
        p.pasid_width = 20;
        p.exec_supported = p.priv_supported = true;
        p.stop_marker = stop_marker;
        ep = pcie_ep_create(&p, &ops, &host);
        ASSERT_NE(ep, nullptr);
        host.ep = ep;
        ag = pcie_agent_create(ep, done, this);
        ASSERT_NE(ag, nullptr);
        dops.mem_done = [](void *d, uint32_t t, pcie_ep_cpl_status s) {
            pcie_agent_mem_done(static_cast<pcie_agent *>(d), t, s);
        };
        dops.translation_done = [](void *d, uint32_t t, const pcie_ep_ats_cpl *c, bool cached) {
            pcie_agent_translation_done(static_cast<pcie_agent *>(d), t, c, cached);
        };
        dops.prg_response = [](void *d, uint16_t i, uint8_t c) {
            pcie_agent_prg_response(static_cast<pcie_agent *>(d), i, c);
        };
        dops.config_changed = [](void *d) { pcie_agent_config_changed(static_cast<pcie_agent *>(d)); };
        pcie_ep_set_device(ep, &dops, ag);
        fake::enable_function(ep);
    }
    void SetUp() override {
        bufs.reserve(1024);
        make();
    }
    void TearDown() override {
        pcie_agent_destroy(ag);
        pcie_ep_destroy(ep);
    }

    void full_enable(uint32_t allocation = 16) {
        fake::enable_pasid_ats(ep);
        fake::enable_pri(ep, allocation);
    }

    // Submits an access of len bytes; its buffer holds the data to write or receives what is read.
    void submit(int id, uint64_t addr, uint32_t len, bool write, bool pv = false, uint32_t pasid = 0,
                uint32_t prefetch = 0, bool pri = true, bool ats = true) {
        bufs.emplace_back(len);
        for (uint32_t i = 0; i < len; i++)
            bufs.back()[i] = (uint8_t)(0xA0 + i);
        pcie_agent_req r{};
        r.access.addr = addr;
        r.access.len = len;
        r.access.write = write;
        r.access.data = bufs.back().data();
        r.access.pasid_valid = pv;
        r.access.pasid = pasid;
        r.ats = ats;
        r.pri = pri;
        r.prefetch_pages = prefetch;
        r.cookie = (void *)(intptr_t)id;
        ASSERT_TRUE(pcie_agent_submit(ag, &r));
    }
    const Result *result(int id) const {
        for (const auto &r : results)
            if (r.id == id)
                return &r;
        return nullptr;
    }
    pcie_agent_stats stats() const {
        pcie_agent_stats s;
        pcie_agent_get_stats(ag, &s);
        return s;
    }
};

TEST_F(Agent, UntranslatedWhenAtsIsOff) {
    host.poke64(0x5008, 0x1122334455667788ull);
    submit(1, 0x5008, 8, false);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].status, PCIE_AGENT_OK);
    ASSERT_EQ(host.reqs.size(), 1u);
    EXPECT_EQ(host.reqs[0].req.at, PCIE_EP_AT_UNTRANSLATED);
    EXPECT_EQ(host.reqs[0].req.addr, 0x5008u);
    EXPECT_EQ(bufs[0][0], 0x88);
    EXPECT_EQ(bufs[0][7], 0x11);
}

TEST_F(Agent, MissTranslatesThenHitsTheAtc) {
    full_enable();
    host.map(0x7000, 0x9000);
    host.poke(0x9010, 0x5A);
    submit(1, 0x7010, 4, false);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(host.reqs.size(), 2u);
    EXPECT_EQ(host.reqs[0].req.at, PCIE_EP_AT_TRANSLATION_REQ);
    EXPECT_EQ(host.reqs[0].req.addr, 0x7000u);
    EXPECT_TRUE(host.reqs[0].req.no_write);
    EXPECT_EQ(host.reqs[1].req.at, PCIE_EP_AT_TRANSLATED);
    EXPECT_EQ(host.reqs[1].req.addr, 0x9010u);
    EXPECT_EQ(bufs[0][0], 0x5A);
    submit(2, 0x7020, 4, true);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(host.reqs.size(), 3u); // a hit: no second Translation Request
    EXPECT_EQ(host.reqs[2].req.at, PCIE_EP_AT_TRANSLATED);
    EXPECT_EQ(host.reqs[2].req.addr, 0x9020u);
    EXPECT_EQ(host.peek(0x9020), 0xA0);
    EXPECT_EQ(result(2)->status, PCIE_AGENT_OK);
}

TEST_F(Agent, CallersOwnAtsOffGoesUntranslatedWhileTheFunctionsAtsIsOn) {
    full_enable();
    host.map(0x7000, 0x9000);
    host.poke(0x7010, 0x3C);
    submit(1, 0x7010, 4, false, false, 0, 0, true, /*ats=*/false);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(host.reqs.size(), 1u); // no Translation Request, no ATC
    EXPECT_EQ(host.reqs[0].req.at, PCIE_EP_AT_UNTRANSLATED);
    EXPECT_EQ(host.reqs[0].req.addr, 0x7010u);
    EXPECT_EQ(bufs[0][0], 0x3C);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_OK);
}

TEST_F(Agent, PermissionlessTranslationPagesInAndRetries) {
    full_enable();
    submit(1, 0x40000123, 8, false, true, 0x42);
    ASSERT_TRUE(host.run());
    ASSERT_NE(result(1), nullptr);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_OK);
    auto prs = host.page_requests();
    ASSERT_EQ(prs.size(), 1u);
    EXPECT_EQ(prs[0].addr, 0x40000000u);
    EXPECT_TRUE(prs[0].last);
    EXPECT_TRUE(prs[0].read);
    EXPECT_FALSE(prs[0].write);
    EXPECT_TRUE(prs[0].pasid_valid);
    EXPECT_EQ(prs[0].pasid, 0x42u);
    // Translation, page request, Success, Translation again, then the translated read at the faulted-in page.
    ASSERT_EQ(host.count_at(PCIE_EP_AT_TRANSLATION_REQ), 2u);
    EXPECT_EQ(host.reqs.back().req.at, PCIE_EP_AT_TRANSLATED);
    EXPECT_EQ(host.reqs.back().req.addr, 0x140000123ull);
    EXPECT_EQ(stats().prg_success, 1u);
}

TEST_F(Agent, ReadOnlyPageAskedForWrite) {
    full_enable();
    host.map(0x3000, 0x3000, true, false);
    submit(1, 0x3010, 4, true);
    ASSERT_TRUE(host.run());
    auto prs = host.page_requests();
    ASSERT_EQ(prs.size(), 1u);
    EXPECT_TRUE(prs[0].write);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_OK);
    EXPECT_EQ(host.peek(0x100003010ull), 0xA0);
}

TEST_F(Agent, InvalidRequestFailsWithTheAddress) {
    full_enable();
    host.pri_policy = fake::PriPolicy::Invalid;
    submit(1, 0x8000, 8, false);
    ASSERT_TRUE(host.run());
    ASSERT_NE(result(1), nullptr);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_PRI_INVALID);
    EXPECT_EQ(result(1)->fault, 0x8000u);
    EXPECT_EQ(host.count_at(PCIE_EP_AT_TRANSLATION_REQ), 1u); // no retranslation after Invalid Request
}

TEST_F(Agent, ResponseFailureFailsAndStopsPageRequests) {
    full_enable();
    host.pri_policy = fake::PriPolicy::Failure;
    submit(1, 0x8000, 8, false);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(result(1)->status, PCIE_AGENT_PRI_FAILURE);
    EXPECT_EQ(fake::cfg_r(ep, PCIE_EP_ECAP_PRI + 6, 2) & 0x1u, 0x1u); // PRI Status.RF
    submit(2, 0x9000, 8, false);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(result(2)->status, PCIE_AGENT_PRI_FAILURE);
    EXPECT_EQ(host.page_requests().size(), 1u);
}

TEST_F(Agent, PrefetchMakesOneGroupWithLastOnTheFinalPage) {
    full_enable();
    submit(1, 0x20000, 64, false, true, 3, 3);
    ASSERT_TRUE(host.run());
    auto prs = host.page_requests();
    ASSERT_EQ(prs.size(), 4u);
    for (unsigned i = 0; i < 4; i++) {
        EXPECT_EQ(prs[i].addr, 0x20000u + 0x1000u * i);
        EXPECT_EQ(prs[i].prg_index, prs[0].prg_index);
        EXPECT_EQ(prs[i].last, i == 3);
    }
    EXPECT_EQ(result(1)->status, PCIE_AGENT_OK);
    // The prefetched pages were mapped by that group: the next page needs no page request.
    submit(2, 0x21000, 8, false, true, 3);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(host.page_requests().size(), 4u);
    EXPECT_EQ(result(2)->status, PCIE_AGENT_OK);
}

TEST_F(Agent, NeverMoreOutstandingThanTheAllocation) {
    full_enable(3);
    for (int i = 0; i < 10; i++)
        submit(i, 0x100000 + 0x1000ull * i, 8, false, false, 0, i % 3);
    ASSERT_TRUE(host.run());
    EXPECT_LE(host.max_outstanding_page_requests, 3u);
    EXPECT_EQ(results.size(), 10u);
    for (const auto &r : results)
        EXPECT_EQ(r.status, PCIE_AGENT_OK) << r.id;
    EXPECT_GT(stats().credit_waits, 0u);
}

TEST_F(Agent, OutstandingGroupsHaveDistinctIndexes) {
    full_enable(64);
    host.pri_policy = fake::PriPolicy::Manual;
    for (int i = 0; i < 5; i++)
        submit(i, 0x100000 + 0x1000ull * i, 8, false);
    ASSERT_TRUE(host.run());
    auto prs = host.page_requests();
    ASSERT_EQ(prs.size(), 5u);
    std::set<uint16_t> idx;
    for (const auto &m : prs)
        idx.insert(m.prg_index);
    EXPECT_EQ(idx.size(), 5u);
    EXPECT_TRUE(results.empty());
    host.pri_policy = fake::PriPolicy::MapAndSucceed;
    for (const auto &m : prs) {
        host.map(m.addr, m.addr);
        host.release_manual(m.prg_index, 0, 1);
    }
    ASSERT_TRUE(host.run());
    EXPECT_EQ(results.size(), 5u);
}

TEST_F(Agent, AccessesOfOnePageShareItsGroup) {
    full_enable();
    submit(1, 0x60000, 8, false);
    submit(2, 0x60100, 8, false);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(host.page_requests().size(), 1u);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_OK);
    EXPECT_EQ(result(2)->status, PCIE_AGENT_OK);
    EXPECT_EQ(stats().page_group_joins, 1u);
}

TEST_F(Agent, TranslationUrAndCa) {
    full_enable();
    host.translation_status = 1;
    submit(1, 0x1000, 8, false);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(result(1)->status, PCIE_AGENT_TRANSLATION_UR);
    host.translation_status = 4;
    submit(2, 0x2000, 8, false);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(result(2)->status, PCIE_AGENT_TRANSLATION_CA);
    EXPECT_EQ(result(2)->fault, 0x2000u);
    EXPECT_TRUE(host.page_requests().empty());
}

TEST_F(Agent, MemoryCompletionUrAndCa) {
    host.mem_status = [](const pcie_ep_mem_req &r) -> std::optional<pcie_ep_cpl_status> {
        if (r.addr == 0x1000)
            return PCIE_EP_CPL_UR;
        if (r.addr == 0x2000)
            return PCIE_EP_CPL_CA;
        return std::nullopt;
    };
    submit(1, 0x1000, 8, false);
    submit(2, 0x2000, 8, true);
    submit(3, 0x3000, 8, true);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(result(1)->status, PCIE_AGENT_MEM_UR);
    EXPECT_EQ(result(2)->status, PCIE_AGENT_MEM_CA);
    EXPECT_EQ(result(2)->fault, 0x2000u);
    EXPECT_EQ(result(3)->status, PCIE_AGENT_OK);
}

TEST_F(Agent, NoPageRequestWhenPriIsOffForTheCaller) {
    full_enable();
    submit(1, 0x1000, 8, false, false, 0, 0, false);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(result(1)->status, PCIE_AGENT_NO_PERMISSION);
    EXPECT_TRUE(host.page_requests().empty());
}

TEST_F(Agent, RacedCompletionIsTranslatedAgain) {
    full_enable();
    host.map(0x7000, 0x7000);
    host.race_next_translations = 1;
    submit(1, 0x7000, 8, false);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(result(1)->status, PCIE_AGENT_OK);
    EXPECT_EQ(host.count_at(PCIE_EP_AT_TRANSLATION_REQ), 2u);
    EXPECT_EQ(stats().translation_retries, 1u);
}

TEST_F(Agent, AHostThatAlwaysRacesCannotLivelockIt) {
    full_enable();
    pcie_agent_set_max_attempts(ag, 3);
    host.map(0x7000, 0x7000);
    host.race_next_translations = 1000;
    submit(1, 0x7000, 8, false);
    ASSERT_TRUE(host.run(100000));
    ASSERT_NE(result(1), nullptr);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_RETRY_LIMIT);
    EXPECT_EQ(host.count_at(PCIE_EP_AT_TRANSLATION_REQ), 3u);
}

TEST_F(Agent, MoreAccessesThanTagsQueue) {
    for (int i = 0; i < 150; i++)
        submit(i, 0x10000 + 16ull * i, 16, true);
    EXPECT_LE(host.reqs.size(), PCIE_EP_MAX_INFLIGHT);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(results.size(), 150u);
    for (const auto &r : results)
        EXPECT_EQ(r.status, PCIE_AGENT_OK);
    EXPECT_GT(stats().tag_waits, 0u);
    EXPECT_EQ(pcie_agent_active(ag), 0u);
}

TEST_F(Agent, StopWithStopMarker) {
    full_enable();
    host.pri_policy = fake::PriPolicy::Manual;
    submit(1, 0x5000, 8, false, true, 9);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(host.page_requests().size(), 1u);
    ASSERT_TRUE(pcie_agent_stop_pasid(ag, 9, on_stop, this));
    ASSERT_TRUE(host.run());
    auto sm = host.stop_markers();
    ASSERT_EQ(sm.size(), 1u);
    EXPECT_TRUE(sm[0].pasid_valid);
    EXPECT_EQ(sm[0].pasid, 9u);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_STOPPED);
    ASSERT_EQ(stopped.size(), 1u);
    submit(2, 0x5000, 8, false, true, 9);
    EXPECT_EQ(result(2)->status, PCIE_AGENT_STOPPED); // at once
    pcie_agent_resume_pasid(ag, 9);
    host.pri_policy = fake::PriPolicy::MapAndSucceed;
    submit(3, 0x6000, 8, false, true, 9);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(result(3)->status, PCIE_AGENT_OK);
}

TEST_F(Agent, StopWithoutStopMarkerWaitsForTheResponse) {
    make(false);
    full_enable();
    host.pri_policy = fake::PriPolicy::Manual;
    submit(1, 0x5000, 8, false, true, 9);
    submit(2, 0x5000, 8, false, true, 10);
    ASSERT_TRUE(host.run());
    auto prs = host.page_requests();
    ASSERT_EQ(prs.size(), 2u);
    ASSERT_TRUE(pcie_agent_stop_pasid(ag, 9, on_stop, this));
    ASSERT_TRUE(host.run());
    EXPECT_TRUE(stopped.empty());
    EXPECT_TRUE(host.stop_markers().empty());
    EXPECT_EQ(result(1), nullptr);
    host.release_manual(prs[0].prg_index, 0, 1);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(stopped.size(), 1u);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_STOPPED);
    EXPECT_EQ(result(2), nullptr); // PASID 10 goes on
    host.map(0x5000, 0x5000, true, true, true, 10);
    host.release_manual(prs[1].prg_index, 0, 1);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(result(2)->status, PCIE_AGENT_OK);
}

TEST_F(Agent, TurningPriOffFailsWaiters) {
    full_enable();
    host.pri_policy = fake::PriPolicy::Manual;
    submit(1, 0x5000, 8, false);
    ASSERT_TRUE(host.run());
    fake::cfg_w(ep, PCIE_EP_ECAP_PRI + 4, 2, 0x0000);
    ASSERT_TRUE(host.run());
    ASSERT_NE(result(1), nullptr);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_PRI_UNAVAILABLE);
}

TEST_F(Agent, BusMasterOffDenies) {
    fake::cfg_w(ep, 0x04, 2, 0x0002);
    submit(1, 0x1000, 8, false);
    EXPECT_EQ(result(1)->status, PCIE_AGENT_DENIED);
    submit(2, 0x1FFC, 8, false); // crosses a page
    EXPECT_EQ(result(2)->status, PCIE_AGENT_DENIED);
    EXPECT_STREQ(pcie_agent_status_name(PCIE_AGENT_DENIED), "denied");
}

} // namespace
