// The endpoint core against a recording host: requests and messages are kept so tests can answer them.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "pcie_ep.h"

namespace {

struct Host {
    struct Req {
        uint32_t tag;
        pcie_ep_mem_req req;
    };
    std::vector<Req> reqs;
    std::vector<pcie_ep_msg> msgs;
    std::vector<std::pair<uint64_t, std::function<void()>>> timers;
    std::vector<uint16_t> msix;
};

void host_mem(void *ctx, uint32_t tag, const pcie_ep_mem_req *r) {
    static_cast<Host *>(ctx)->reqs.push_back({tag, *r});
}
void host_msg(void *ctx, const pcie_ep_msg *m) {
    static_cast<Host *>(ctx)->msgs.push_back(*m);
}
void host_schedule(void *ctx, uint64_t ps, void (*fn)(void *), void *arg) {
    static_cast<Host *>(ctx)->timers.push_back({ps, [fn, arg] { fn(arg); }});
}
void host_msix(void *ctx, uint16_t v) {
    static_cast<Host *>(ctx)->msix.push_back(v);
}

pcie_ep_params default_params() {
    pcie_ep_params p{};
    p.vendor_id = 0x13B5;
    p.device_id = 0xFF80;
    p.revision = 0x02;
    p.class_code = 0x120000;
    p.bar_size[0] = 0x4000;
    p.bar_size[2] = 0x100000;
    p.ats = true;
    p.inv_queue_depth = 4;
    p.global_inv = true;
    p.atc_sets = 16;
    p.atc_ways = 4;
    p.pri = true;
    p.pri_capacity = 0x20;
    p.prg_resp_pasid_required = true;
    p.pasid = true;
    p.pasid_width = 16;
    p.exec_supported = true;
    p.priv_supported = true;
    p.stop_marker = true;
    return p;
}

class PcieEp : public ::testing::Test {
  protected:
    Host host;
    pcie_ep_host_ops ops{host_mem, host_msg, host_schedule, host_msix};
    pcie_ep *ep = nullptr;

    void make(const pcie_ep_params &p) {
        pcie_ep_destroy(ep);
        ep = pcie_ep_create(&p, &ops, &host);
        ASSERT_NE(ep, nullptr);
    }
    void SetUp() override { make(default_params()); }
    void TearDown() override { pcie_ep_destroy(ep); }

    uint32_t rd(uint32_t off, unsigned size) {
        uint32_t v = 0xDEADBEEF;
        EXPECT_TRUE(pcie_ep_cfg_read(ep, off, size, &v));
        return v;
    }
    void wr(uint32_t off, unsigned size, uint32_t v) { EXPECT_TRUE(pcie_ep_cfg_write(ep, off, size, v)); }

    // Bus Master, Memory Space, PASID with Exe/Priv, ATS with STU 0.
    void enable_all() {
        wr(0x04, 2, 0x0006);
        wr(0x126, 2, 0x0007);
        wr(0x106, 2, 0x8000);
    }

    static pcie_ep_access acc(uint64_t addr, bool write = false, bool pv = false, uint32_t pasid = 0) {
        pcie_ep_access a{};
        a.addr = addr;
        a.len = 8;
        a.write = write;
        a.pasid_valid = pv;
        a.pasid = pasid;
        return a;
    }

    // Translates a->addr to taddr with the given size (log2) and global flag; the ATC holds it after.
    void fill(const pcie_ep_access &a, uint64_t taddr, uint8_t size_log2, bool global = false) {
        uint32_t tag = 0;
        ASSERT_EQ(pcie_ep_translate(ep, &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
        ASSERT_EQ(host.reqs.back().req.at, PCIE_EP_AT_TRANSLATION_REQ);
        pcie_ep_ats_cpl c{};
        c.addr = taddr;
        c.size_log2 = size_log2;
        c.read = c.write = true;
        c.global = global;
        ASSERT_TRUE(pcie_ep_translation_done(ep, tag, &c));
    }

    pcie_ep_result dma(const pcie_ep_access &a, uint32_t *tag = nullptr) {
        uint32_t t = 0;
        pcie_ep_result r = pcie_ep_dma(ep, &a, &t);
        if (tag)
            *tag = t;
        else if (r == PCIE_EP_ISSUED_TRANSLATED || r == PCIE_EP_ISSUED_UNTRANSLATED)
            pcie_ep_mem_done(ep, t);
        return r;
    }

    bool hits(const pcie_ep_access &a) { return dma(a) == PCIE_EP_ISSUED_TRANSLATED; }

    pcie_ep_inv_result inv(uint64_t addr, uint8_t size_log2, uint8_t itag, bool pv = false,
                           uint32_t pasid = 0, bool global = false) {
        pcie_ep_inv_req r{};
        r.addr = addr;
        r.size_log2 = size_log2;
        r.itag = itag;
        r.pasid_valid = pv;
        r.pasid = pasid;
        r.global = global;
        return pcie_ep_ats_invalidate(ep, &r);
    }

    std::vector<uint32_t> completions() {
        std::vector<uint32_t> v;
        for (const auto &m : host.msgs)
            if (m.kind == PCIE_EP_MSG_INV_COMPLETION)
                v.push_back(m.itag_vector);
        return v;
    }
};

TEST_F(PcieEp, HeaderIdsAndCapabilityPointer) {
    EXPECT_EQ(rd(0x00, 4), 0xFF8013B5u);
    EXPECT_EQ(rd(0x08, 4), 0x12000002u);
    EXPECT_EQ(rd(0x0E, 1), 0x00u);
    EXPECT_EQ(rd(0x06, 2) & 0x0010u, 0x0010u);
    EXPECT_EQ(rd(0x34, 1), 0x40u);
    // PCI Express capability: ID 0x10, version 2, endpoint.
    EXPECT_EQ(rd(0x40, 4), 0x00020010u);
    EXPECT_FALSE(pcie_ep_cfg_write(ep, 0x41, 2, 0));
    uint32_t v;
    EXPECT_FALSE(pcie_ep_cfg_read(ep, 0xFFE, 4, &v));
}

TEST_F(PcieEp, CommandEnablesOnlyMemoryAndBusMaster) {
    EXPECT_EQ(rd(0x04, 2), 0x0000u);
    wr(0x04, 2, 0xFFFF);
    EXPECT_EQ(rd(0x04, 2), 0x0006u);
    wr(0x04, 2, 0x0000);
    pcie_ep_access a = acc(0x1000);
    EXPECT_EQ(dma(a), PCIE_EP_DENIED);
    EXPECT_FALSE(pcie_ep_raise_msix(ep, 3));
    wr(0x04, 2, 0x0004);
    EXPECT_EQ(dma(a), PCIE_EP_ISSUED_UNTRANSLATED);
    EXPECT_EQ(host.reqs.back().req.at, PCIE_EP_AT_UNTRANSLATED);
    EXPECT_TRUE(pcie_ep_raise_msix(ep, 3));
    ASSERT_EQ(host.msix.size(), 1u);
    EXPECT_EQ(host.msix[0], 3u);
}

TEST_F(PcieEp, BarSizing) {
    wr(0x10, 4, 0xFFFFFFFF);
    EXPECT_EQ(rd(0x10, 4), 0xFFFFC000u);
    wr(0x18, 4, 0xFFFFFFFF);
    EXPECT_EQ(rd(0x18, 4), 0xFFF00000u);
    wr(0x14, 4, 0xFFFFFFFF); // unimplemented
    EXPECT_EQ(rd(0x14, 4), 0x00000000u);
    wr(0x10, 4, 0x80004321);
    EXPECT_EQ(rd(0x10, 4), 0x80004000u);
    pcie_ep_params p = default_params();
    p.bar_size[1] = 0x3000;
    EXPECT_EQ(pcie_ep_create(&p, &ops, &host), nullptr);
}

TEST_F(PcieEp, AtsCapability) {
    EXPECT_EQ(rd(0x100, 4), 0x1101000Fu); // ID 0x000F, version 1, next 0x110
    EXPECT_EQ(rd(0x104, 2), 0x0064u);     // depth 4, Page Aligned Request, Global Invalidate Supported
    wr(0x104, 2, 0xFFFF);
    EXPECT_EQ(rd(0x104, 2), 0x0064u);
    wr(0x106, 2, 0xFFFF);
    EXPECT_EQ(rd(0x106, 2), 0x801Fu);
    pcie_ep_params p = default_params();
    p.inv_queue_depth = 32;
    p.global_inv = false;
    make(p);
    EXPECT_EQ(rd(0x104, 2), 0x0020u);
}

TEST_F(PcieEp, PriCapability) {
    EXPECT_EQ(rd(0x110, 4), 0x12010013u);
    EXPECT_EQ(rd(0x114, 2), 0x0000u);
    EXPECT_EQ(rd(0x116, 2), 0x8100u); // PASID required, Stopped (disabled, nothing outstanding)
    EXPECT_EQ(rd(0x118, 4), 0x00000020u);
    wr(0x118, 4, 0xFFFFFFFF);
    EXPECT_EQ(rd(0x118, 4), 0x00000020u);
    wr(0x11C, 4, 0x00000010);
    EXPECT_EQ(rd(0x11C, 4), 0x00000010u);
    wr(0x114, 2, 0x0003);
    EXPECT_EQ(rd(0x114, 2), 0x0001u); // Reset reads as 0
    EXPECT_EQ(rd(0x116, 2), 0x8000u); // enabled: not stopped
    // RF and UPRGI are RW1C; an unknown PRG index sets UPRGI, a Response Failure RF.
    pcie_ep_prg_response(ep, 7, 0);
    EXPECT_EQ(rd(0x116, 2), 0x8002u);
    wr(0x04, 2, 0x0004);
    pcie_ep_access a = acc(0x5000);
    ASSERT_TRUE(pcie_ep_page_request(ep, &a, 9, true));
    pcie_ep_prg_response(ep, 9, 0xF);
    EXPECT_EQ(rd(0x116, 2), 0x8003u);
    EXPECT_FALSE(pcie_ep_page_request(ep, &a, 9, true)); // stopped by the failure
    wr(0x116, 2, 0x0001);
    EXPECT_EQ(rd(0x116, 2), 0x8002u);
    wr(0x116, 2, 0xFFFF);
    EXPECT_EQ(rd(0x116, 2), 0x8000u);
}

TEST_F(PcieEp, PasidCapability) {
    EXPECT_EQ(rd(0x120, 4), 0x0001001Bu);
    EXPECT_EQ(rd(0x124, 2), 0x1006u); // width 16, Exe, Priv
    wr(0x126, 2, 0xFFFF);
    EXPECT_EQ(rd(0x126, 2), 0x0007u);
    pcie_ep_params p = default_params();
    p.exec_supported = false;
    p.priv_supported = false;
    p.pasid_width = 20;
    make(p);
    EXPECT_EQ(rd(0x124, 2), 0x1400u);
    wr(0x126, 2, 0xFFFF);
    EXPECT_EQ(rd(0x126, 2), 0x0001u);
}

TEST_F(PcieEp, ExtendedListStartsAt100WithoutAts) {
    pcie_ep_params p = default_params();
    p.ats = false;
    make(p);
    EXPECT_EQ(rd(0x100, 4), 0x11000000u); // null header pointing at PRI
    EXPECT_EQ(rd(0x110, 4), 0x12010013u);
}

TEST_F(PcieEp, SizeFromSEncoding) {
    EXPECT_EQ(pcie_ep_s_size_log2(0x80000000ull), 13u);
    EXPECT_EQ(pcie_ep_s_size_log2(0x800FF000ull), 21u);
}

TEST_F(PcieEp, AtcFillLookupAndTranslatedRequest) {
    enable_all();
    pcie_ep_access a = acc(0x40001234);
    EXPECT_EQ(dma(a), PCIE_EP_ATC_MISS);
    uint32_t tag = 0;
    ASSERT_EQ(pcie_ep_translate(ep, &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
    EXPECT_EQ(host.reqs.back().req.addr, 0x40001000u);
    EXPECT_TRUE(host.reqs.back().req.no_write);
    pcie_ep_ats_cpl c{};
    c.addr = 0x900FF000; // S = 1: bits 12..19 set, bit 20 clear -> 2 MiB
    c.s = true;
    c.read = true;
    ASSERT_TRUE(pcie_ep_translation_done(ep, tag, &c));
    a.addr = 0x401FF010;
    ASSERT_EQ(dma(a), PCIE_EP_ISSUED_TRANSLATED);
    EXPECT_EQ(host.reqs.back().req.at, PCIE_EP_AT_TRANSLATED);
    EXPECT_EQ(host.reqs.back().req.addr, 0x901FF010u);
    a.write = true;
    EXPECT_EQ(dma(a), PCIE_EP_DENIED); // read-only translation
    a.write = false;
    a.addr = 0x40200000;
    EXPECT_EQ(dma(a), PCIE_EP_ATC_MISS);
    // R = W = 0 is a fault answer, not a translation to cache.
    ASSERT_EQ(pcie_ep_translate(ep, &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
    pcie_ep_ats_cpl none{};
    EXPECT_FALSE(pcie_ep_translation_done(ep, tag, &none));
    pcie_ep_atc_info info{};
    pcie_ep_atc_stats(ep, &info);
    EXPECT_EQ(info.entries, 1u);
}

TEST_F(PcieEp, UntranslatedOnlyEntryGoesUntranslated) {
    enable_all();
    pcie_ep_access a = acc(0x3000);
    uint32_t tag = 0;
    ASSERT_EQ(pcie_ep_translate(ep, &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
    pcie_ep_ats_cpl c{};
    c.addr = 0x3000;
    c.read = c.write = c.untranslated_only = true;
    ASSERT_TRUE(pcie_ep_translation_done(ep, tag, &c));
    EXPECT_EQ(dma(a), PCIE_EP_ISSUED_UNTRANSLATED);
}

TEST_F(PcieEp, InvalidateByRange) {
    enable_all();
    fill(acc(0x10000), 0x80010000, 12);
    fill(acc(0x11000), 0x80011000, 12);
    fill(acc(0x20000), 0x80020000, 12);
    ASSERT_EQ(inv(0x10000, 13, 5), PCIE_EP_INV_ACCEPTED); // 0x10000..0x11FFF
    EXPECT_FALSE(hits(acc(0x10000)));
    EXPECT_FALSE(hits(acc(0x11000)));
    EXPECT_TRUE(hits(acc(0x20000)));
    ASSERT_EQ(completions(), std::vector<uint32_t>{1u << 5});
    EXPECT_EQ(host.msgs.back().completion_count, 1u);
    EXPECT_EQ(pcie_ep_inv_pending(ep), 0u);
}

TEST_F(PcieEp, InvalidateByPasid) {
    enable_all();
    fill(acc(0x10000, false, true, 1), 0x80010000, 12);
    fill(acc(0x10000, false, true, 2), 0x90010000, 12);
    fill(acc(0x10000), 0xA0010000, 12);
    ASSERT_EQ(inv(0x0, 63, 1, true, 1), PCIE_EP_INV_ACCEPTED);
    EXPECT_FALSE(hits(acc(0x10000, false, true, 1)));
    EXPECT_TRUE(hits(acc(0x10000, false, true, 2)));
    EXPECT_TRUE(hits(acc(0x10000)));
    // Without a PASID prefix every entry of the range goes.
    ASSERT_EQ(inv(0x10000, 12, 2), PCIE_EP_INV_ACCEPTED);
    EXPECT_FALSE(hits(acc(0x10000, false, true, 2)));
    EXPECT_FALSE(hits(acc(0x10000)));
}

TEST_F(PcieEp, GlobalEntries) {
    enable_all();
    fill(acc(0x10000, false, true, 1), 0x80010000, 12, true);
    // A Global entry serves every PASID.
    EXPECT_TRUE(hits(acc(0x10000, false, true, 7)));
    // Another PASID's invalidation without GI leaves it.
    ASSERT_EQ(inv(0x10000, 12, 0, true, 7), PCIE_EP_INV_ACCEPTED);
    EXPECT_TRUE(hits(acc(0x10000, false, true, 7)));
    // With GI it goes.
    ASSERT_EQ(inv(0x10000, 12, 1, true, 7, true), PCIE_EP_INV_ACCEPTED);
    EXPECT_FALSE(hits(acc(0x10000, false, true, 1)));
}

TEST_F(PcieEp, GlobalInvalidateIgnoredWhenUnsupported) {
    pcie_ep_params p = default_params();
    p.global_inv = false;
    make(p);
    enable_all();
    fill(acc(0x10000, false, true, 1), 0x80010000, 12, true);
    ASSERT_EQ(inv(0x10000, 12, 1, true, 7, true), PCIE_EP_INV_ACCEPTED);
    EXPECT_TRUE(hits(acc(0x10000, false, true, 1)));
}

TEST_F(PcieEp, CompletionWaitsForInflightTranslatedRequests) {
    enable_all();
    fill(acc(0x10000), 0x80010000, 12);
    uint32_t t1 = 0, t2 = 0, t3 = 0;
    ASSERT_EQ(dma(acc(0x10000, true), &t1), PCIE_EP_ISSUED_TRANSLATED);
    ASSERT_EQ(dma(acc(0x10008), &t2), PCIE_EP_ISSUED_TRANSLATED);
    ASSERT_EQ(dma(acc(0x50000), &t3), PCIE_EP_ATC_MISS);
    ASSERT_EQ(inv(0x10000, 12, 3), PCIE_EP_INV_ACCEPTED);
    EXPECT_TRUE(completions().empty());
    EXPECT_EQ(pcie_ep_inv_pending(ep), 1u);
    pcie_ep_mem_done(ep, t1);
    EXPECT_TRUE(completions().empty());
    pcie_ep_mem_done(ep, t2);
    ASSERT_EQ(completions(), std::vector<uint32_t>{1u << 3});
    EXPECT_EQ(pcie_ep_inv_pending(ep), 0u);
}

TEST_F(PcieEp, UnrelatedInflightRequestDoesNotHoldCompletion) {
    enable_all();
    fill(acc(0x10000), 0x80010000, 12);
    fill(acc(0x20000), 0x80020000, 12);
    uint32_t t = 0;
    ASSERT_EQ(dma(acc(0x20000), &t), PCIE_EP_ISSUED_TRANSLATED);
    ASSERT_EQ(inv(0x10000, 12, 4), PCIE_EP_INV_ACCEPTED);
    EXPECT_EQ(completions(), std::vector<uint32_t>{1u << 4});
    pcie_ep_mem_done(ep, t);
}

TEST_F(PcieEp, CompletionAfterLatency) {
    pcie_ep_params p = default_params();
    p.inv_latency_ps = 5000;
    make(p);
    enable_all();
    ASSERT_EQ(inv(0x10000, 12, 9), PCIE_EP_INV_ACCEPTED);
    EXPECT_TRUE(completions().empty());
    ASSERT_EQ(host.timers.size(), 1u);
    EXPECT_EQ(host.timers[0].first, 5000u);
    host.timers[0].second();
    EXPECT_EQ(completions(), std::vector<uint32_t>{1u << 9});
}

TEST_F(PcieEp, InvalidateQueueDepth) {
    enable_all();
    fill(acc(0x10000), 0x80010000, 12);
    uint32_t t = 0;
    ASSERT_EQ(dma(acc(0x10000), &t), PCIE_EP_ISSUED_TRANSLATED);
    // Every invalidation covering the in-flight translation stays pending until it drains.
    for (uint8_t i = 0; i < 4; i++)
        ASSERT_EQ(inv(0x0, 63, i), PCIE_EP_INV_ACCEPTED);
    EXPECT_EQ(inv(0x0, 63, 4), PCIE_EP_INV_QUEUE_FULL);
    EXPECT_EQ(inv(0x0, 63, 2), PCIE_EP_INV_BAD_ITAG);
    EXPECT_EQ(pcie_ep_inv_pending(ep), 4u);
    pcie_ep_mem_done(ep, t);
    // One message carries every ITag the drain released.
    EXPECT_EQ(completions(), std::vector<uint32_t>{0xFu});
    EXPECT_EQ(inv(0x0, 63, 4), PCIE_EP_INV_ACCEPTED);
}

TEST_F(PcieEp, AtsDisableEmptiesAtc) {
    enable_all();
    fill(acc(0x10000), 0x80010000, 12);
    wr(0x106, 2, 0x0000);
    wr(0x106, 2, 0x8000);
    EXPECT_EQ(dma(acc(0x10000)), PCIE_EP_ATC_MISS);
}

TEST_F(PcieEp, PageRequestsCreditsAndStopMarker) {
    enable_all();
    wr(0x11C, 4, 2);
    wr(0x114, 2, 0x0001);
    pcie_ep_access a = acc(0x7123, true, true, 5);
    ASSERT_TRUE(pcie_ep_page_request(ep, &a, 1, false));
    ASSERT_TRUE(pcie_ep_page_request(ep, &a, 1, true));
    EXPECT_FALSE(pcie_ep_page_request(ep, &a, 2, true)); // no credit left
    const pcie_ep_msg &m = host.msgs.back();
    EXPECT_EQ(m.kind, PCIE_EP_MSG_PAGE_REQUEST);
    EXPECT_EQ(m.addr, 0x7000u);
    EXPECT_TRUE(m.write && m.last && m.pasid_valid);
    EXPECT_EQ(m.pasid, 5u);
    ASSERT_TRUE(pcie_ep_stop_pasid(ep, 5));
    const pcie_ep_msg &s = host.msgs.back();
    EXPECT_TRUE(s.last && !s.read && !s.write && s.pasid_valid);
    EXPECT_EQ(s.pasid, 5u);
    EXPECT_TRUE(pcie_ep_page_request(ep, &a, 2, true)); // credits returned
}

TEST_F(PcieEp, StopWithoutMarkerWaitsForResponses) {
    pcie_ep_params p = default_params();
    p.stop_marker = false;
    make(p);
    enable_all();
    wr(0x11C, 4, 4);
    wr(0x114, 2, 0x0001);
    pcie_ep_access a = acc(0x7000, false, true, 5);
    ASSERT_TRUE(pcie_ep_page_request(ep, &a, 3, true));
    size_t sent = host.msgs.size();
    EXPECT_FALSE(pcie_ep_stop_pasid(ep, 5));
    EXPECT_EQ(host.msgs.size(), sent);
    pcie_ep_prg_response(ep, 3, 0);
    EXPECT_TRUE(pcie_ep_stop_pasid(ep, 5));
    EXPECT_EQ(host.msgs.size(), sent);
}

} // namespace
