// The endpoint core against a recording host: requests and messages are kept so tests can answer them.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
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
    struct Msi {
        uint64_t addr;
        uint32_t data;
    };
    std::vector<Msi> msi;
    std::vector<bool> intx;
};

// The personality side: what the core passes on, and BAR registers outside the MSI-X structures.
struct Dev {
    std::vector<std::pair<uint32_t, pcie_ep_cpl_status>> mem_done;
    struct Translation {
        uint32_t tag;
        bool cached;
    };
    std::vector<Translation> translations;
    std::vector<std::pair<uint16_t, uint8_t>> prg;
    unsigned config_changed = 0;
    struct Access {
        unsigned bar;
        uint64_t offset;
        unsigned size;
        uint64_t value;
    };
    std::vector<Access> writes, reads;
    bool refuse = false;
};

bool dev_bar_read(void *d, unsigned bar, uint64_t off, unsigned size, uint64_t *v) {
    Dev *dev = static_cast<Dev *>(d);
    if (dev->refuse)
        return false;
    *v = 0x1122334455667788ull + off; // wider than any access: the core must cut it to size
    dev->reads.push_back({bar, off, size, *v});
    return true;
}
bool dev_bar_write(void *d, unsigned bar, uint64_t off, unsigned size, uint64_t v) {
    Dev *dev = static_cast<Dev *>(d);
    if (dev->refuse)
        return false;
    dev->writes.push_back({bar, off, size, v});
    return true;
}
void dev_mem_done(void *d, uint32_t tag, pcie_ep_cpl_status st) {
    static_cast<Dev *>(d)->mem_done.push_back({tag, st});
}
void dev_translation_done(void *d, uint32_t tag, const pcie_ep_ats_cpl *, bool cached) {
    static_cast<Dev *>(d)->translations.push_back({tag, cached});
}
void dev_prg_response(void *d, uint16_t idx, uint8_t code) {
    static_cast<Dev *>(d)->prg.push_back({idx, code});
}
void dev_config_changed(void *d) {
    static_cast<Dev *>(d)->config_changed++;
}

void host_mem(void *ctx, uint32_t tag, const pcie_ep_mem_req *r) {
    static_cast<Host *>(ctx)->reqs.push_back({tag, *r});
}
void host_msg(void *ctx, const pcie_ep_msg *m) {
    static_cast<Host *>(ctx)->msgs.push_back(*m);
}
void host_schedule(void *ctx, uint64_t ps, void (*fn)(void *), void *arg) {
    static_cast<Host *>(ctx)->timers.push_back({ps, [fn, arg] { fn(arg); }});
}
void host_msi(void *ctx, uint64_t addr, uint32_t data) {
    static_cast<Host *>(ctx)->msi.push_back({addr, data});
}
void host_intx(void *ctx, bool asserted) {
    static_cast<Host *>(ctx)->intx.push_back(asserted);
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

// Interrupts and BARs: BAR0 32-bit 4 KiB registers; BAR2 64-bit 16 KiB holding the MSI-X table at 0x2000 and
// the PBA at 0x3000 (8 vectors); MSI; INTA.
pcie_ep_params irq_params() {
    pcie_ep_params p = default_params();
    p.bar_size[0] = 0x1000;
    p.bar_size[2] = 0x4000;
    p.bar_64bit = 1u << 2;
    p.msix_vectors = 8;
    p.msix_table_bar = 2;
    p.msix_table_offset = 0x2000;
    p.msix_pba_bar = 2;
    p.msix_pba_offset = 0x3000;
    p.msi = true;
    p.intx_pin = 1;
    return p;
}

constexpr uint64_t kBar0 = 0xFE000000;
constexpr uint64_t kBar2 = 0x100010000ull;
constexpr uint64_t kTable = kBar2 + 0x2000;
constexpr uint64_t kPba = kBar2 + 0x3000;

class PcieEp : public ::testing::Test {
  protected:
    Host host;
    Dev dev;
    pcie_ep_host_ops ops{host_mem, host_msg, host_schedule, host_msi, host_intx, nullptr};
    pcie_ep_device_ops dops{dev_bar_read,         dev_bar_write,    dev_mem_done,
                            dev_translation_done, dev_prg_response, dev_config_changed};
    pcie_ep *ep = nullptr;

    void make(const pcie_ep_params &p) {
        pcie_ep_destroy(ep);
        ep = pcie_ep_create(&p, &ops, &host);
        ASSERT_NE(ep, nullptr);
        pcie_ep_set_device(ep, &dops, &dev);
    }
    bool creates(const pcie_ep_params &p) {
        pcie_ep *e = pcie_ep_create(&p, &ops, &host);
        pcie_ep_destroy(e);
        return e != nullptr;
    }
    // irq_params with BAR0 at kBar0, BAR2 at kBar2, Memory Space and Bus Master.
    void make_irq() {
        make(irq_params());
        wr(0x10, 4, static_cast<uint32_t>(kBar0));
        wr(0x18, 4, static_cast<uint32_t>(kBar2));
        wr(0x1C, 4, static_cast<uint32_t>(kBar2 >> 32));
        wr(0x04, 2, 0x0006);
    }
    uint64_t mmio_rd(uint64_t addr, unsigned size) {
        uint64_t v = 0xDEADBEEF;
        EXPECT_TRUE(pcie_ep_mmio_read(ep, addr, size, &v)) << std::hex << addr;
        return v;
    }
    void mmio_wr(uint64_t addr, unsigned size, uint64_t v) {
        EXPECT_TRUE(pcie_ep_mmio_write(ep, addr, size, v)) << std::hex << addr;
    }
    // Programs MSI-X vector v with an address and data; unmask leaves Vector Control 0.
    void msix_entry(unsigned v, uint64_t addr, uint32_t data, bool unmask) {
        mmio_wr(kTable + 16 * v, 8, addr);
        mmio_wr(kTable + 16 * v + 8, 4, data);
        mmio_wr(kTable + 16 * v + 12, 4, unmask ? 0 : 1);
    }
    pcie_ep_stats stats() {
        pcie_ep_stats s{};
        pcie_ep_get_stats(ep, &s);
        return s;
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
            pcie_ep_mem_done(ep, t, PCIE_EP_CPL_SC);
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
    pcie_ep_mem_done(ep, t1, PCIE_EP_CPL_SC);
    EXPECT_TRUE(completions().empty());
    pcie_ep_mem_done(ep, t2, PCIE_EP_CPL_SC);
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
    pcie_ep_mem_done(ep, t, PCIE_EP_CPL_SC);
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
    pcie_ep_mem_done(ep, t, PCIE_EP_CPL_SC);
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

TEST_F(PcieEp, Bar64BitPrefetchableSizing) {
    pcie_ep_params p = default_params();
    p.bar_size[0] = 0x4000;
    p.bar_64bit = 0x01;
    p.bar_prefetchable = 0x01;
    make(p);
    EXPECT_EQ(rd(0x10, 4), 0x0000000Cu); // memory, 64-bit (type 10b), prefetchable
    EXPECT_EQ(rd(0x14, 4), 0x00000000u);
    wr(0x10, 4, 0xFFFFFFFF);
    wr(0x14, 4, 0xFFFFFFFF);
    EXPECT_EQ(rd(0x10, 4), 0xFFFFC00Cu);
    EXPECT_EQ(rd(0x14, 4), 0xFFFFFFFFu);
    EXPECT_EQ(rd(0x18, 4), 0x00000000u); // BAR2 stays a 32-bit non-prefetchable BAR

    // Larger than 4 GiB: the size shows in the upper half.
    p = default_params();
    p.bar_size[2] = 1ull << 33;
    p.bar_64bit = 0x04;
    p.bar_prefetchable = 0x04;
    make(p);
    wr(0x18, 4, 0xFFFFFFFF);
    wr(0x1C, 4, 0xFFFFFFFF);
    EXPECT_EQ(rd(0x18, 4), 0x0000000Cu);
    EXPECT_EQ(rd(0x1C, 4), 0xFFFFFFFEu);

    // A 32-bit prefetchable BAR.
    p = default_params();
    p.bar_prefetchable = 0x01;
    make(p);
    EXPECT_EQ(rd(0x10, 4), 0x00000008u);
    wr(0x10, 4, 0xFFFFFFFF);
    EXPECT_EQ(rd(0x10, 4), 0xFFFFC008u);
}

TEST_F(PcieEp, BarPersonalityChecks) {
    pcie_ep_params p = default_params();
    p.bar_size[5] = 0x1000;
    p.bar_64bit = 0x20; // no slot above BAR5 for the upper half
    EXPECT_FALSE(creates(p));
    p = default_params();
    p.bar_64bit = 0x01;
    p.bar_size[1] = 0x1000; // the upper half of BAR0 is not a BAR of its own
    EXPECT_FALSE(creates(p));
    p = default_params();
    p.bar_size[0] = 1ull << 32; // too large for a 32-bit BAR
    EXPECT_FALSE(creates(p));
    p.bar_size[0] = 1ull << 31;
    EXPECT_TRUE(creates(p));
    p.bar_size[0] = 1ull << 32;
    p.bar_64bit = 0x01;
    EXPECT_TRUE(creates(p));
    p = default_params();
    p.bar_size[3] = 8; // below 16 bytes
    EXPECT_FALSE(creates(p));
}

TEST_F(PcieEp, BarDecode) {
    make(irq_params());
    unsigned bar = 9;
    uint64_t off = 0;
    wr(0x04, 2, 0x0002);
    EXPECT_FALSE(pcie_ep_bar_decode(ep, 0x10, 4, &bar, &off)); // unassigned BARs decode nothing
    wr(0x04, 2, 0x0000);
    wr(0x10, 4, 0xFE000000);
    wr(0x18, 4, 0x00010000);
    wr(0x1C, 4, 0x00000001);
    EXPECT_FALSE(pcie_ep_memory_enabled(ep));
    EXPECT_FALSE(pcie_ep_bar_decode(ep, 0xFE000010, 4, &bar, &off)); // Memory Space off
    wr(0x04, 2, 0x0002);
    EXPECT_TRUE(pcie_ep_memory_enabled(ep));
    ASSERT_TRUE(pcie_ep_bar_decode(ep, 0xFE000010, 4, &bar, &off));
    EXPECT_EQ(bar, 0u);
    EXPECT_EQ(off, 0x10u);
    EXPECT_FALSE(pcie_ep_bar_decode(ep, 0xFE000FFC, 8, &bar, &off)); // runs past the end of BAR0
    EXPECT_FALSE(pcie_ep_bar_decode(ep, 0xFE001000, 4, &bar, &off));
    ASSERT_TRUE(pcie_ep_bar_decode(ep, 0x100013FF8ull, 8, &bar, &off));
    EXPECT_EQ(bar, 2u);
    EXPECT_EQ(off, 0x3FF8u);
    EXPECT_FALSE(pcie_ep_bar_decode(ep, 0x00010000, 4, &bar, &off)); // the upper half counts
}

TEST_F(PcieEp, MmioOutsideMsixGoesToDevice) {
    make_irq();
    EXPECT_EQ(mmio_rd(kBar0 + 0x10, 4), 0x55667798u);
    ASSERT_EQ(dev.reads.size(), 1u);
    EXPECT_EQ(dev.reads[0].bar, 0u);
    EXPECT_EQ(dev.reads[0].offset, 0x10u);
    EXPECT_EQ(dev.reads[0].size, 4u);
    mmio_wr(kBar0 + 0x20, 2, 0xABCDEF);
    ASSERT_EQ(dev.writes.size(), 1u);
    EXPECT_EQ(dev.writes[0].offset, 0x20u);
    EXPECT_EQ(dev.writes[0].value, 0xCDEFu);
    // BAR2 around the MSI-X structures.
    EXPECT_EQ(mmio_rd(kBar2 + 0x100, 8), 0x1122334455667888u);
    EXPECT_EQ(dev.reads.back().bar, 2u);
    mmio_rd(kBar2 + 0x2080, 4); // just past the 8-entry table
    EXPECT_EQ(dev.reads.back().offset, 0x2080u);
    uint64_t v = 0;
    EXPECT_FALSE(pcie_ep_mmio_read(ep, kBar0 + 2, 4, &v)); // misaligned
    EXPECT_FALSE(pcie_ep_mmio_read(ep, kBar0, 3, &v));
    EXPECT_FALSE(pcie_ep_mmio_read(ep, kBar0 + 0x1000, 4, &v)); // no BAR
    dev.refuse = true;
    EXPECT_FALSE(pcie_ep_mmio_read(ep, kBar0, 4, &v));
    EXPECT_FALSE(pcie_ep_mmio_write(ep, kBar0, 4, 1));
    dev.refuse = false;
    pcie_ep_set_device(ep, nullptr, nullptr);
    EXPECT_FALSE(pcie_ep_mmio_read(ep, kBar0, 4, &v));
    pcie_ep_set_device(ep, &dops, &dev);
    wr(0x04, 2, 0x0004);
    EXPECT_FALSE(pcie_ep_mmio_read(ep, kBar0, 4, &v)); // Memory Space off
}

TEST_F(PcieEp, MsixCapability) {
    make(irq_params());
    EXPECT_EQ(rd(0x34, 1), 0x40u);
    EXPECT_EQ(rd(0x40, 2), 0x8010u);     // PCI Express, next MSI at 0x80
    EXPECT_EQ(rd(0x80, 2), 0x9005u);     // MSI, next MSI-X at 0x90
    EXPECT_EQ(rd(0x90, 4), 0x00070011u); // MSI-X, last; Table Size 7 (8 vectors)
    EXPECT_EQ(rd(0x94, 4), 0x00002002u); // table at 0x2000 in BAR2
    EXPECT_EQ(rd(0x98, 4), 0x00003002u); // PBA at 0x3000 in BAR2
    wr(0x92, 2, 0xFFFF);
    EXPECT_EQ(rd(0x92, 2), 0xC007u); // Enable and Function Mask take writes
    wr(0x94, 4, 0);
    wr(0x98, 4, 0);
    EXPECT_EQ(rd(0x94, 4), 0x00002002u);
    EXPECT_EQ(rd(0x98, 4), 0x00003002u);
    pcie_ep_params p = irq_params();
    p.msi = false;
    make(p);
    EXPECT_EQ(rd(0x40, 2), 0x9010u); // PCI Express straight to MSI-X
    EXPECT_EQ(rd(0x80, 4), 0x00000000u);
}

TEST_F(PcieEp, MsixPersonalityChecks) {
    pcie_ep_params p = irq_params();
    p.msix_vectors = 2049;
    EXPECT_FALSE(creates(p));
    p = irq_params();
    p.msix_table_bar = 1; // unimplemented
    EXPECT_FALSE(creates(p));
    p.msix_table_bar = 3; // the upper half of BAR2
    EXPECT_FALSE(creates(p));
    p = irq_params();
    p.msix_table_offset = 0x2004;
    EXPECT_FALSE(creates(p));
    p = irq_params();
    p.msix_table_offset = 0x3F90; // 128 bytes of table run past 16 KiB
    p.msix_pba_offset = 0x0;
    EXPECT_FALSE(creates(p));
    p = irq_params();
    p.msix_pba_offset = 0x2040; // inside the table
    EXPECT_FALSE(creates(p));
    p = irq_params();
    p.msix_pba_bar = 0;
    p.msix_pba_offset = 0xFF8;
    EXPECT_TRUE(creates(p));
    p = irq_params();
    p.msix_vectors = 2048;
    p.msix_table_offset = 0; // 2048 entries: 32 KiB
    p.bar_size[2] = 0x10000;
    p.msix_pba_offset = 0xFF00; // 2048 bits of PBA: 256 bytes
    EXPECT_TRUE(creates(p));
    p.msix_pba_offset = 0xFF08;
    EXPECT_FALSE(creates(p));
    p = irq_params();
    p.intx_pin = 5;
    EXPECT_FALSE(creates(p));
}

TEST_F(PcieEp, MsixTableAndPba) {
    make_irq();
    for (unsigned v = 0; v < 8; v++)
        EXPECT_EQ(mmio_rd(kTable + 16 * v + 12, 4), 0x00000001u) << v; // reset masked
    EXPECT_EQ(mmio_rd(kTable + 16 * 7 + 8, 8), 0x0000000100000000u);
    mmio_wr(kTable + 16, 8, 0x00000008FEE01003u);
    EXPECT_EQ(mmio_rd(kTable + 16, 8), 0x00000008FEE01000u); // address bits 1:0 stay 0
    EXPECT_EQ(mmio_rd(kTable + 16, 4), 0xFEE01000u);
    EXPECT_EQ(mmio_rd(kTable + 20, 4), 0x00000008u);
    mmio_wr(kTable + 24, 4, 0x00004021);
    EXPECT_EQ(mmio_rd(kTable + 24, 4), 0x00004021u);
    mmio_wr(kTable + 28, 4, 0xFFFFFFFF);
    EXPECT_EQ(mmio_rd(kTable + 28, 4), 0x00000001u); // only Mask Bit
    mmio_wr(kTable + 24, 8, 0x0000000000000077u);
    EXPECT_EQ(mmio_rd(kTable + 24, 8), 0x0000000000000077u);
    uint64_t v = 0;
    EXPECT_FALSE(pcie_ep_mmio_read(ep, kTable, 2, &v));
    EXPECT_FALSE(pcie_ep_mmio_read(ep, kTable + 1, 1, &v));
    EXPECT_FALSE(pcie_ep_mmio_write(ep, kTable, 1, 0xFF));
    EXPECT_EQ(mmio_rd(kTable, 4), 0x00000000u);
    EXPECT_EQ(mmio_rd(kPba, 8), 0x0u);
    mmio_wr(kPba, 8, 0xFFFFFFFFFFFFFFFFu); // read-only
    EXPECT_EQ(mmio_rd(kPba, 8), 0x0u);
    EXPECT_TRUE(dev.reads.empty());
    EXPECT_TRUE(dev.writes.empty());
}

TEST_F(PcieEp, MsixRaise) {
    make_irq();
    msix_entry(3, 0xFEE00000, 0x00000045, true);
    EXPECT_FALSE(pcie_ep_raise_msix(ep, 3)); // MSI-X Enable clear
    EXPECT_EQ(mmio_rd(kPba, 8), 0x0u);
    wr(0x92, 2, 0x8000);
    EXPECT_TRUE(pcie_ep_raise_msix(ep, 3));
    ASSERT_EQ(host.msi.size(), 1u);
    EXPECT_EQ(host.msi[0].addr, 0xFEE00000u);
    EXPECT_EQ(host.msi[0].data, 0x00000045u);
    msix_entry(4, 0x0000000812340000u, 0xABCD1234, true);
    EXPECT_TRUE(pcie_ep_raise_msix(ep, 4));
    EXPECT_EQ(host.msi.back().addr, 0x0000000812340000u);
    EXPECT_EQ(host.msi.back().data, 0xABCD1234u);
    EXPECT_FALSE(pcie_ep_raise_msix(ep, 8)); // outside the table
    wr(0x04, 2, 0x0002);
    EXPECT_FALSE(pcie_ep_raise_msix(ep, 3)); // Bus Master off: nothing, not even pending
    EXPECT_EQ(mmio_rd(kPba, 8), 0x0u);
    EXPECT_EQ(host.msi.size(), 2u);
}

TEST_F(PcieEp, MsixMaskedVectorsPendUntilUnmasked) {
    make_irq();
    wr(0x92, 2, 0xC000); // enabled, Function Mask
    msix_entry(2, 0xFEE00000, 0x22, true);
    msix_entry(5, 0xFEE00004, 0x55, false);
    EXPECT_TRUE(pcie_ep_raise_msix(ep, 2));
    EXPECT_TRUE(pcie_ep_raise_msix(ep, 5));
    EXPECT_TRUE(host.msi.empty());
    EXPECT_EQ(mmio_rd(kPba, 8), 0x24u);
    EXPECT_EQ(mmio_rd(kPba, 4), 0x24u);
    EXPECT_EQ(mmio_rd(kPba + 4, 4), 0x0u);
    wr(0x92, 2, 0x8000); // Function Mask off: vector 2 goes, vector 5 keeps its own mask
    ASSERT_EQ(host.msi.size(), 1u);
    EXPECT_EQ(host.msi[0].addr, 0xFEE00000u);
    EXPECT_EQ(host.msi[0].data, 0x22u);
    EXPECT_EQ(mmio_rd(kPba, 8), 0x20u);
    mmio_wr(kTable + 16 * 5 + 12, 4, 0x0);
    ASSERT_EQ(host.msi.size(), 2u);
    EXPECT_EQ(host.msi[1].addr, 0xFEE00004u);
    EXPECT_EQ(host.msi[1].data, 0x55u);
    EXPECT_EQ(mmio_rd(kPba, 8), 0x0u);
    EXPECT_EQ(stats().msix_pended, 2u);
    EXPECT_EQ(stats().msix_sent, 2u);
}

TEST_F(PcieEp, MsiCapability) {
    make(irq_params());
    EXPECT_EQ(rd(0x80, 4), 0x00809005u); // ID 0x05, next 0x90, 64-bit Address Capable, one vector
    wr(0x82, 2, 0xFFFF);
    EXPECT_EQ(rd(0x82, 2), 0x0081u); // only Enable takes writes
    wr(0x84, 4, 0xFEE01003);
    EXPECT_EQ(rd(0x84, 4), 0xFEE01000u);
    wr(0x88, 4, 0x12345678);
    EXPECT_EQ(rd(0x88, 4), 0x12345678u);
    wr(0x8C, 4, 0xFFFF4321);
    EXPECT_EQ(rd(0x8C, 4), 0x00004321u); // 16-bit Message Data
    EXPECT_FALSE(pcie_ep_raise_msi(ep)); // Bus Master off
    wr(0x04, 2, 0x0004);
    EXPECT_TRUE(pcie_ep_raise_msi(ep));
    ASSERT_EQ(host.msi.size(), 1u);
    EXPECT_EQ(host.msi[0].addr, 0x12345678FEE01000u);
    EXPECT_EQ(host.msi[0].data, 0x00004321u);
    wr(0x82, 2, 0x0000);
    EXPECT_FALSE(pcie_ep_raise_msi(ep));
    make(default_params());
    wr(0x04, 2, 0x0004);
    EXPECT_FALSE(pcie_ep_raise_msi(ep)); // no MSI capability
    EXPECT_EQ(rd(0x40, 2), 0x0010u);
}

TEST_F(PcieEp, IntxPinAndInterruptDisable) {
    make(irq_params());
    EXPECT_EQ(rd(0x3D, 1), 0x01u); // INTA
    wr(0x3C, 1, 0x0B);
    EXPECT_EQ(rd(0x3C, 1), 0x0Bu);
    wr(0x04, 2, 0xFFFF);
    EXPECT_EQ(rd(0x04, 2), 0x0406u); // Interrupt Disable is writable with a pin
    wr(0x04, 2, 0x0000);
    pcie_ep_set_intx(ep, true);
    EXPECT_EQ(host.intx, std::vector<bool>{true});
    EXPECT_EQ(rd(0x06, 2), 0x0018u); // Interrupt Status
    pcie_ep_set_intx(ep, true);
    EXPECT_EQ(host.intx.size(), 1u);
    wr(0x04, 2, 0x0400);
    EXPECT_EQ(host.intx, (std::vector<bool>{true, false}));
    EXPECT_EQ(rd(0x06, 2), 0x0018u); // still requested
    wr(0x04, 2, 0x0000);
    EXPECT_EQ(host.intx, (std::vector<bool>{true, false, true}));
    pcie_ep_set_intx(ep, false);
    EXPECT_EQ(host.intx, (std::vector<bool>{true, false, true, false}));
    EXPECT_EQ(rd(0x06, 2), 0x0010u);
    wr(0x04, 2, 0x0400);
    pcie_ep_set_intx(ep, true);
    EXPECT_EQ(host.intx.size(), 4u); // disabled: the host hears nothing
    EXPECT_EQ(rd(0x06, 2), 0x0018u);
    pcie_ep_set_intx(ep, false);
    wr(0x04, 2, 0x0000);
    EXPECT_EQ(host.intx.size(), 4u);

    make(default_params()); // no pin
    EXPECT_EQ(rd(0x3D, 1), 0x00u);
    wr(0x3C, 1, 0x0B);
    EXPECT_EQ(rd(0x3C, 1), 0x00u);
    pcie_ep_set_intx(ep, true);
    EXPECT_TRUE(host.intx.size() == 4u);
    EXPECT_EQ(rd(0x06, 2), 0x0010u);
}

TEST_F(PcieEp, MemoryRequestsCarryData) {
    wr(0x04, 2, 0x0004);
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    pcie_ep_access a = acc(0x1000, true);
    a.data = buf;
    uint32_t tag = 0;
    ASSERT_EQ(pcie_ep_dma(ep, &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
    EXPECT_EQ(host.reqs.back().req.data, buf);
    EXPECT_EQ(host.reqs.back().req.len, 8u);
    EXPECT_TRUE(host.reqs.back().req.write);
    pcie_ep_mem_done(ep, tag, PCIE_EP_CPL_SC);
    wr(0x106, 2, 0x8000);
    ASSERT_EQ(pcie_ep_translate(ep, &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
    EXPECT_EQ(host.reqs.back().req.data, nullptr);
    EXPECT_EQ(host.reqs.back().req.len, 8u);
}

TEST_F(PcieEp, DeviceHearsCompletionsAndResponses) {
    enable_all();
    uint32_t t = 0;
    ASSERT_EQ(dma(acc(0x9000), &t), PCIE_EP_ATC_MISS);
    wr(0x106, 2, 0x0000);
    ASSERT_EQ(dma(acc(0x9000), &t), PCIE_EP_ISSUED_UNTRANSLATED);
    pcie_ep_mem_done(ep, t, PCIE_EP_CPL_UR);
    ASSERT_EQ(dev.mem_done.size(), 1u);
    EXPECT_EQ(dev.mem_done[0].first, t);
    EXPECT_EQ(dev.mem_done[0].second, PCIE_EP_CPL_UR);
    EXPECT_EQ(stats().mem_errors, 1u);
    pcie_ep_mem_done(ep, t, PCIE_EP_CPL_SC); // no longer in flight
    EXPECT_EQ(dev.mem_done.size(), 1u);

    wr(0x106, 2, 0x8000);
    fill(acc(0x9000), 0x89000, 12);
    ASSERT_EQ(dev.translations.size(), 1u);
    EXPECT_TRUE(dev.translations[0].cached);
    pcie_ep_access fault = acc(0xA000);
    ASSERT_EQ(pcie_ep_translate(ep, &fault, &t), PCIE_EP_ISSUED_UNTRANSLATED);
    pcie_ep_ats_cpl none{};
    EXPECT_FALSE(pcie_ep_translation_done(ep, t, &none));
    EXPECT_FALSE(dev.translations.back().cached);
    // A translation request answered with a plain completion (CA) is a failed translation.
    pcie_ep_access b = acc(0xB000);
    ASSERT_EQ(pcie_ep_translate(ep, &b, &t), PCIE_EP_ISSUED_UNTRANSLATED);
    pcie_ep_mem_done(ep, t, PCIE_EP_CPL_CA);
    ASSERT_EQ(dev.translations.size(), 3u);
    EXPECT_EQ(dev.translations[2].tag, t);
    EXPECT_FALSE(dev.translations[2].cached);
    EXPECT_EQ(dev.mem_done.size(), 1u);

    wr(0x11C, 4, 4);
    wr(0x114, 2, 0x0001);
    pcie_ep_access pr = acc(0x7000);
    ASSERT_TRUE(pcie_ep_page_request(ep, &pr, 4, true));
    pcie_ep_prg_response(ep, 4, 0x1);
    ASSERT_EQ(dev.prg.size(), 1u);
    EXPECT_EQ(dev.prg[0], (std::pair<uint16_t, uint8_t>{4, 0x1}));
    pcie_ep_prg_response(ep, 4, 0x0); // unknown index: UPRGI, not passed on
    EXPECT_EQ(dev.prg.size(), 1u);
    EXPECT_EQ(rd(0x116, 2), 0x8002u);
}

TEST_F(PcieEp, ConfigChangedOnEnables) {
    make(irq_params());
    wr(0x04, 2, 0x0006);
    EXPECT_EQ(dev.config_changed, 1u);
    wr(0x04, 2, 0x0006); // no change
    wr(0x10, 4, 0xFE000000);
    wr(0x11C, 4, 0x10);
    wr(0x84, 4, 0xFEE00000);
    wr(0x3C, 1, 0x05);
    EXPECT_EQ(dev.config_changed, 1u);
    wr(0x106, 2, 0x8000);
    wr(0x114, 2, 0x0001);
    wr(0x126, 2, 0x0001);
    wr(0x82, 2, 0x0001);
    wr(0x92, 2, 0x8000);
    EXPECT_EQ(dev.config_changed, 6u);
    wr(0x104, 2, 0xFFFF); // ATS Capability is read-only: nothing changes
    EXPECT_EQ(dev.config_changed, 6u);
    EXPECT_TRUE(pcie_ep_ats_enabled(ep));
    EXPECT_TRUE(pcie_ep_pri_enabled(ep));
    EXPECT_TRUE(pcie_ep_pasid_enabled(ep));
    EXPECT_TRUE(pcie_ep_bus_master_enabled(ep));
    wr(0x106, 2, 0x8003);
    EXPECT_EQ(pcie_ep_ats_stu_bytes(ep), 0x8000u);
    EXPECT_EQ(dev.config_changed, 7u);
}

TEST_F(PcieEp, BusMasterOffRefusesRequests) {
    make_irq();
    enable_all();
    wr(0x11C, 4, 4);
    wr(0x114, 2, 0x0001);
    wr(0x82, 2, 0x0001);
    wr(0x92, 2, 0x8000);
    msix_entry(0, 0xFEE00000, 1, true);
    wr(0x04, 2, 0x0002);
    EXPECT_FALSE(pcie_ep_bus_master_enabled(ep));
    uint32_t t = 0;
    pcie_ep_access a = acc(0x1000);
    EXPECT_EQ(pcie_ep_dma(ep, &a, &t), PCIE_EP_DENIED);
    EXPECT_EQ(pcie_ep_translate(ep, &a, &t), PCIE_EP_DENIED);
    EXPECT_FALSE(pcie_ep_page_request(ep, &a, 0, true));
    EXPECT_FALSE(pcie_ep_raise_msi(ep));
    EXPECT_FALSE(pcie_ep_raise_msix(ep, 0));
    EXPECT_TRUE(host.reqs.empty());
    EXPECT_TRUE(host.msgs.empty());
    EXPECT_TRUE(host.msi.empty());
    EXPECT_EQ(mmio_rd(kTable + 8, 4), 0x1u); // MMIO still decodes: Memory Space is on
}

TEST_F(PcieEp, PasidChecksPerRequest) {
    wr(0x04, 2, 0x0004);
    wr(0x11C, 4, 4);
    wr(0x114, 2, 0x0001);
    EXPECT_EQ(dma(acc(0x1000, false, true, 1)), PCIE_EP_DENIED); // PASID Enable clear
    wr(0x126, 2, 0x0001);                                        // PASID only, no Exe / Priv
    EXPECT_EQ(dma(acc(0x1000, false, true, 0xFFFF)), PCIE_EP_ISSUED_UNTRANSLATED);
    EXPECT_EQ(dma(acc(0x1000, false, true, 0x10000)), PCIE_EP_DENIED); // Max PASID Width 16
    pcie_ep_access x = acc(0x1000, false, true, 1);
    x.exec = true;
    EXPECT_EQ(dma(x), PCIE_EP_DENIED);
    pcie_ep_access pv = acc(0x1000, false, true, 1);
    pv.priv = true;
    EXPECT_EQ(dma(pv), PCIE_EP_DENIED);
    EXPECT_FALSE(pcie_ep_page_request(ep, &x, 0, true));
    pcie_ep_access wide = acc(0x1000, false, true, 0x10000);
    EXPECT_FALSE(pcie_ep_page_request(ep, &wide, 0, true));
    wr(0x126, 2, 0x0007);
    EXPECT_EQ(dma(x), PCIE_EP_ISSUED_UNTRANSLATED);
    EXPECT_TRUE(host.reqs.back().req.exec);
    EXPECT_EQ(dma(pv), PCIE_EP_ISSUED_UNTRANSLATED);
    EXPECT_TRUE(host.reqs.back().req.priv);
    // Without a PASID prefix there is nothing to carry Exe / Priv.
    pcie_ep_access np = acc(0x1000);
    np.exec = np.priv = true;
    EXPECT_EQ(dma(np), PCIE_EP_ISSUED_UNTRANSLATED);
    EXPECT_FALSE(host.reqs.back().req.exec || host.reqs.back().req.priv);
    EXPECT_TRUE(pcie_ep_page_request(ep, &x, 0, true));
    EXPECT_TRUE(host.msgs.back().exec);
}

TEST_F(PcieEp, TranslationOvertakenByInvalidationIsNotCached) {
    enable_all();
    auto translate = [&](const pcie_ep_access &a) {
        uint32_t t = 0;
        EXPECT_EQ(pcie_ep_translate(ep, &a, &t), PCIE_EP_ISSUED_UNTRANSLATED);
        return t;
    };
    auto answer = [&](uint32_t t, uint8_t size_log2 = 12, bool global = false) {
        pcie_ep_ats_cpl c{};
        c.addr = 0x80000000;
        c.size_log2 = size_log2;
        c.read = c.write = true;
        c.global = global;
        return pcie_ep_translation_done(ep, t, &c);
    };
    uint32_t t = translate(acc(0x10000));
    ASSERT_EQ(inv(0x10000, 12, 0), PCIE_EP_INV_ACCEPTED);
    EXPECT_EQ(completions(), std::vector<uint32_t>{1u << 0}); // does not wait for the translation request
    EXPECT_FALSE(answer(t));
    EXPECT_FALSE(dev.translations.back().cached);
    EXPECT_EQ(dma(acc(0x10000)), PCIE_EP_ATC_MISS);
    // Another range, or another PASID, does not spoil it.
    t = translate(acc(0x20000));
    ASSERT_EQ(inv(0x30000, 12, 1), PCIE_EP_INV_ACCEPTED);
    EXPECT_TRUE(answer(t));
    t = translate(acc(0x40000, false, true, 1));
    ASSERT_EQ(inv(0x40000, 12, 2, true, 2), PCIE_EP_INV_ACCEPTED);
    EXPECT_TRUE(answer(t));
    t = translate(acc(0x50000, false, true, 1));
    ASSERT_EQ(inv(0x50000, 12, 3, true, 1), PCIE_EP_INV_ACCEPTED);
    EXPECT_FALSE(answer(t));
    // A completion larger than the page asked for still overlaps the invalidated page.
    t = translate(acc(0x60000));
    ASSERT_EQ(inv(0x61000, 12, 4), PCIE_EP_INV_ACCEPTED);
    EXPECT_FALSE(answer(t, 13));
    // GI: only an answer that is Global falls in its scope.
    uint32_t ga = translate(acc(0x70000, false, true, 3));
    uint32_t gb = translate(acc(0x70000, false, true, 4));
    ASSERT_EQ(inv(0x70000, 12, 5, true, 5, true), PCIE_EP_INV_ACCEPTED);
    EXPECT_FALSE(answer(ga, 12, true));
    EXPECT_TRUE(answer(gb, 12, false));
    // ATS disabled and enabled again while a request is out.
    t = translate(acc(0x90000));
    wr(0x106, 2, 0x0000);
    wr(0x106, 2, 0x8000);
    EXPECT_FALSE(answer(t));
    EXPECT_EQ(stats().translations_raced, 5u);
}

TEST_F(PcieEp, LateResponseAfterStopMarkerIsDropped) {
    enable_all();
    wr(0x11C, 4, 4);
    wr(0x114, 2, 0x0001);
    pcie_ep_access a = acc(0x7000, false, true, 5);
    ASSERT_TRUE(pcie_ep_page_request(ep, &a, 1, true));
    ASSERT_TRUE(pcie_ep_stop_pasid(ep, 5));
    pcie_ep_prg_response(ep, 1, 0x0);
    EXPECT_EQ(rd(0x116, 2), 0x8000u); // neither UPRGI nor passed on
    EXPECT_TRUE(dev.prg.empty());
    EXPECT_EQ(stats().prg_dropped, 1u);
    pcie_ep_prg_response(ep, 1, 0x0); // a second one is unexpected
    EXPECT_EQ(rd(0x116, 2), 0x8002u);
    EXPECT_EQ(stats().prg_unexpected, 1u);
}

void collect(void *arg, const char *name, uint64_t value) {
    static_cast<std::vector<std::pair<std::string, uint64_t>> *>(arg)->push_back({name, value});
}

TEST_F(PcieEp, Statistics) {
    make_irq();
    enable_all();
    fill(acc(0x10000), 0x80010000, 12);
    EXPECT_TRUE(hits(acc(0x10000)));
    EXPECT_EQ(dma(acc(0x20000)), PCIE_EP_ATC_MISS);
    ASSERT_EQ(inv(0x10000, 12, 0), PCIE_EP_INV_ACCEPTED);
    wr(0x106, 2, 0x0000);
    EXPECT_EQ(dma(acc(0x20000)), PCIE_EP_ISSUED_UNTRANSLATED);
    wr(0x11C, 4, 4);
    wr(0x114, 2, 0x0001);
    pcie_ep_access a = acc(0x7000, false, true, 5);
    ASSERT_TRUE(pcie_ep_page_request(ep, &a, 1, true));
    ASSERT_TRUE(pcie_ep_page_request(ep, &a, 2, true));
    ASSERT_TRUE(pcie_ep_page_request(ep, &a, 3, true));
    pcie_ep_prg_response(ep, 1, 0x0);
    pcie_ep_prg_response(ep, 2, 0xF);
    ASSERT_TRUE(pcie_ep_stop_pasid(ep, 5));
    wr(0x82, 2, 0x0001);
    EXPECT_TRUE(pcie_ep_raise_msi(ep));
    wr(0x92, 2, 0x8000);
    EXPECT_TRUE(pcie_ep_raise_msix(ep, 0)); // masked: pended
    pcie_ep_set_intx(ep, true);
    pcie_ep_stats s = stats();
    EXPECT_EQ(s.atc_entries, 0u);
    EXPECT_EQ(s.atc_hits, 1u);
    EXPECT_EQ(s.atc_misses, 1u);
    EXPECT_EQ(s.atc_fills, 1u);
    EXPECT_EQ(s.atc_invalidated, 1u);
    EXPECT_EQ(s.translation_requests, 1u);
    EXPECT_EQ(s.translations_cached, 1u);
    EXPECT_EQ(s.translated_requests, 1u);
    EXPECT_EQ(s.untranslated_requests, 1u);
    EXPECT_EQ(s.invalidations, 1u);
    EXPECT_EQ(s.inv_completions, 1u);
    EXPECT_EQ(s.page_requests, 3u);
    EXPECT_EQ(s.stop_markers, 1u);
    EXPECT_EQ(s.prg_success, 1u);
    EXPECT_EQ(s.prg_failure, 1u);
    EXPECT_EQ(s.msi_sent, 1u);
    EXPECT_EQ(s.msix_sent, 0u);
    EXPECT_EQ(s.msix_pended, 1u);
    EXPECT_EQ(s.intx_asserts, 1u);
    std::vector<std::pair<std::string, uint64_t>> named;
    pcie_ep_stats_each(ep, collect, &named);
    ASSERT_EQ(named.size(), 29u);
    EXPECT_EQ(named[0].first, "atc_entries");
    EXPECT_EQ(named[1], (std::pair<std::string, uint64_t>{"atc_hits", 1}));
    EXPECT_EQ(named[17], (std::pair<std::string, uint64_t>{"page_requests", 3}));
    EXPECT_EQ(named[28], (std::pair<std::string, uint64_t>{"intx_asserts", 1}));
}

// Whatever a guest writes to configuration space or the BARs, and whatever the host answers, the core stays
// consistent: no crash, the read-only identity stays, and the host hears INTx alternate.
TEST_F(PcieEp, SurvivesRandomGuestAndHostTraffic) {
    make_irq();
    uint64_t x = 0x243F6A8885A308D3ull;
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    uint8_t buf[4096] = {};
    const unsigned sizes[] = {1, 2, 3, 4, 8};
    for (int i = 0; i < 200000; i++) {
        uint64_t r = next();
        uint32_t v = static_cast<uint32_t>(next());
        unsigned size = sizes[r % 5];
        uint64_t out = 0;
        switch ((r >> 8) % 12) {
        case 0:
        case 1: {
            uint32_t off = static_cast<uint32_t>(r >> 16) % 0x1000;
            // Keep the BARs where they are most of the time, so MMIO keeps reaching them.
            if (off >= 0x10 && off < 0x28 && (v & 0xF))
                break;
            pcie_ep_cfg_write(ep, off, size, v);
            break;
        }
        case 2:
            pcie_ep_cfg_read(ep, static_cast<uint32_t>(r >> 16) % 0x1001, size, &v);
            break;
        case 3:
            pcie_ep_mmio_write(ep, kBar2 + (r >> 16) % 0x5000, size, next());
            break;
        case 4:
            pcie_ep_mmio_read(ep, kBar2 + (r >> 16) % 0x5000, size, &out);
            pcie_ep_mmio_read(ep, kBar0 + (r >> 16) % 0x2000, size, &out);
            break;
        case 5:
            pcie_ep_raise_msix(ep, static_cast<uint16_t>(v % 10));
            pcie_ep_raise_msi(ep);
            pcie_ep_set_intx(ep, v & 1);
            break;
        case 6: {
            pcie_ep_access a = acc((r >> 16) & 0xFFFFFFF8u, v & 1, v & 2, (v >> 4) % 0x11000);
            a.exec = v & 4;
            a.priv = v & 8;
            a.data = buf;
            uint32_t t;
            if (pcie_ep_dma(ep, &a, &t) == PCIE_EP_ATC_MISS)
                pcie_ep_translate(ep, &a, &t);
            pcie_ep_page_request(ep, &a, static_cast<uint16_t>(v % 600), v & 16);
            break;
        }
        case 7:
        case 8:
            if (!host.reqs.empty()) {
                auto q = host.reqs[r % host.reqs.size()];
                if (q.req.at == PCIE_EP_AT_TRANSLATION_REQ && (v & 1)) {
                    pcie_ep_ats_cpl c{};
                    c.addr = next() & ~0xFFFull;
                    c.s = v & 2;
                    c.size_log2 = static_cast<uint8_t>((v >> 8) % 70);
                    c.read = v & 4;
                    c.write = v & 8;
                    c.global = v & 16;
                    c.untranslated_only = v & 32;
                    c.status = static_cast<uint8_t>((v >> 6) % 6);
                    pcie_ep_translation_done(ep, q.tag, &c);
                } else {
                    pcie_ep_mem_done(ep, q.tag, static_cast<pcie_ep_cpl_status>((v >> 1) % 5));
                }
                if (host.reqs.size() > 256)
                    host.reqs.clear();
            }
            break;
        case 9: {
            pcie_ep_inv_req q{};
            q.addr = next();
            q.size_log2 = static_cast<uint8_t>(v % 70);
            q.pasid_valid = v & 0x100;
            q.pasid = (v >> 9) % 0x11000;
            q.global = v & 0x80;
            q.itag = static_cast<uint8_t>((v >> 2) % 40);
            pcie_ep_ats_invalidate(ep, &q);
            break;
        }
        case 10:
            pcie_ep_prg_response(ep, static_cast<uint16_t>(v % 600), static_cast<uint8_t>(v >> 12));
            pcie_ep_stop_pasid(ep, (v >> 4) % 0x11000);
            break;
        default:
            for (auto &tm : host.timers)
                tm.second();
            host.timers.clear();
            break;
        }
    }
    EXPECT_EQ(rd(0x00, 4), 0xFF8013B5u);
    EXPECT_EQ(rd(0x3D, 1), 0x01u);
    EXPECT_EQ(rd(0x94, 4), 0x00002002u);
    EXPECT_EQ(rd(0x90, 1), 0x11u);
    for (size_t i = 0; i < host.intx.size(); i++)
        EXPECT_EQ(host.intx[i], i % 2 == 0) << i;
    EXPECT_GT(host.msi.size(), 0u);
    EXPECT_GT(host.reqs.size() + host.msgs.size(), 0u);
}

} // namespace
