// The key flows at two root-complex / link latencies: each hop adds exactly its latency, so the relations
// between what the function does and what the SMMU sees hold at both settings.
#include "protocol_env.h"

using namespace pp;
using vp::TxnKind;

namespace {

struct Latencies {
    unsigned rc_ns, link_ns;
};

class PcieProtocolTiming : public ::testing::TestWithParam<Latencies> {};

constexpr uint64_t kIova = 0x80000000;

} // namespace

TEST_P(PcieProtocolTiming, EachHopAddsItsLatency) {
    Options o;
    o.rc_latency = sc_time(GetParam().rc_ns, SC_NS);
    o.link_latency = sc_time(GetParam().link_ns, SC_NS);
    o.bare = true;
    o.bare_params.inv_latency_ps = 300000; // 300 ns from drained to the Invalidation Completion
    Env e(o);
    const sc_time rc_link = o.rc_latency + o.link_latency;
    e.run([&] {
        // ECAM: RC + link + link + RC for a function; RC + RC for the host bridge.
        EXPECT_EQ(e.cfg_read(kBare, kCfgId), 0xBEEF1234u);
        EXPECT_EQ(e.host.last_latency, 2 * rc_link);
        e.cfg_read(0, kCfgId);
        EXPECT_EQ(e.host.last_latency, 2 * o.rc_latency);

        e.smmu_enable();
        uint64_t root = e.s1_stream(kBare, 1, {4});
        e.map(root, kIova, kDataArea);
        e.bare_enable(true, true);

        // Translation Request: link + RC up, the SMMU's own time, RC + link down.
        pcie_ep_access a{};
        a.addr = kIova;
        a.len = 8;
        uint32_t tag = 0;
        const sc_time issued = sc_core::sc_time_stamp();
        ASSERT_EQ(pcie_ep_translate(e.bare->ep(), &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED)
            << "a Translation Request is issued";
        ASSERT_TRUE(e.bare_wait_translations(1));
        const auto trs = e.link.translation_requests(kBare);
        ASSERT_EQ(trs.size(), 1u);
        EXPECT_EQ(trs[0].at, issued + rc_link);
        EXPECT_GT(trs[0].done, trs[0].at) << "the SMMU takes time to translate";
        EXPECT_EQ(e.bare_device.translations[0].at, trs[0].done + rc_link);

        // A translated read through the ATC: the same hops, then the memory behind the SMMU.
        uint8_t buf[8];
        a.data = buf;
        const sc_time read_issued = sc_core::sc_time_stamp();
        ASSERT_EQ(pcie_ep_dma(e.bare->ep(), &a, &tag), PCIE_EP_ISSUED_TRANSLATED);
        ASSERT_TRUE(e.bare_wait_done(tag));
        const auto reads = e.link.memory(kBare, vp::PcieAt::Translated);
        ASSERT_EQ(reads.size(), 1u);
        EXPECT_EQ(reads[0].at, read_issued + rc_link);
        EXPECT_EQ(e.bare_device.completion(tag)->at, reads[0].done + rc_link);

        // Page Request up (posted: link + RC), PRG Response down (RC + link).
        a.pasid_valid = true;
        a.pasid = 4;
        const sc_time pr_issued = sc_core::sc_time_stamp();
        ASSERT_TRUE(pcie_ep_page_request(e.bare->ep(), &a, 0x1A, true));
        ASSERT_TRUE(e.wait_pri(1));
        const auto prs = e.link.up(TxnKind::PageRequest);
        ASSERT_EQ(prs.size(), 1u);
        EXPECT_EQ(prs[0].at, pr_issued + rc_link);
        const auto pri = e.take_pri();
        e.pri_resp(kBare, true, 4, pri[0].grpid, 2);
        sc_core::wait(1, SC_US);
        const auto resp = e.link.down(TxnKind::PrgResponse);
        ASSERT_EQ(resp.size(), 1u);
        ASSERT_EQ(e.bare_device.prg_response_times.size(), 1u);
        EXPECT_EQ(e.bare_device.prg_response_times[0], resp[0].at + rc_link);

        // ATS invalidation with nothing in flight: RC + link down, inv_latency, link + RC up.
        e.submit(Env::atc_inv0(kBare), Env::atc_inv1(kIova, 0));
        e.submit(Env::sync_cmd(), 0);
        ASSERT_TRUE(e.wait_consumed());
        const auto inv = e.link.down(TxnKind::AtsInvalidationRequest);
        const auto cpl = e.link.up(TxnKind::AtsInvalidationCompletion);
        ASSERT_EQ(inv.size(), 1u);
        ASSERT_EQ(cpl.size(), 1u);
        EXPECT_EQ(cpl[0].at, inv[0].at + 2 * rc_link + sc_time(300, SC_NS));
    });
}

INSTANTIATE_TEST_SUITE_P(Latencies, PcieProtocolTiming,
                         ::testing::Values(Latencies{10, 20}, Latencies{50, 250}),
                         [](const ::testing::TestParamInfo<Latencies> &info) {
                             return "rc" + std::to_string(info.param.rc_ns) + "ns_link" +
                                    std::to_string(info.param.link_ns) + "ns";
                         });

TEST_P(PcieProtocolTiming, TestEngineCopyScalesWithTheLink) {
    Options o;
    o.rc_latency = sc_time(GetParam().rc_ns, SC_NS);
    o.link_latency = sc_time(GetParam().link_ns, SC_NS);
    // One transaction in flight: the copy's time is a sum of round trips.
    o.te2_params = {{"inflight", "1"}, {"issue_ps", "0"}};
    Env e(o);
    const sc_time rc_link = o.rc_latency + o.link_latency;
    e.run([&] {
        e.smmu_enable();
        uint64_t root = e.s1_stream(sid_of(kTe2), 1);
        e.map_range(root, kIova, kDataArea, 0x2000);
        e.te_enable(kTe2, {true, false, false});
        Env::TeCommand c;
        c.begin = kIova;
        c.end_incl = kIova + 0x1FF;
        c.dest = kIova + 0x1000;
        c.ats = true;
        ASSERT_EQ(e.te_run(kTe2, c), TE_ENGINE_HALTED); // warms the ATC
        e.link.clear();
        ASSERT_EQ(e.te_run(kTe2, c), TE_ENGINE_HALTED);
        const auto requests = e.link.memory(sid_of(kTe2), vp::PcieAt::Translated);
        ASSERT_EQ(requests.size(), 16u) << "8 reads and 8 writes of 64 bytes";
        EXPECT_TRUE(e.link.translation_requests(sid_of(kTe2)).empty());
        // Strictly one after the other: a read's completion crosses back to the function (RC + link) before
        // the write it feeds goes up (link + RC); a posted write is done once the SMMU side took it, and the
        // next read goes up at once.
        for (size_t i = 1; i < requests.size(); ++i) {
            EXPECT_EQ(requests[i].write, i % 2 == 1);
            EXPECT_EQ(requests[i].at, requests[i - 1].done + (requests[i - 1].write ? rc_link : 2 * rc_link))
                << "request " << i;
        }
    });
}

// libsystemc references sc_main; GoogleTest provides main(), so this is never called.
int sc_main(int, char **) {
    return 1;
}
