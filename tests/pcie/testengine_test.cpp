// The SMMUv3 Test Engine personality through its BARs, against the fake root complex: commands checked
// against reference computations written here from testengine.md, launch orders, misconfiguration, the
// running-frame rules, counters, the completion MSI-X, faults, and the STOP/STOPPED extension.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fake_host.h"
#include "pcie_dev.h"
#include "pcie_ep.h"

namespace {

constexpr uint64_t kBar0 = 0x40'0000'0000ull;
constexpr uint32_t kTableBar = 0xE000'0000u;
constexpr uint32_t kPbaBar = 0xE001'0000u;

// User frame offsets and values, literally from testengine.md.
constexpr uint32_t CMD = 0x00, UCTRL = 0x04, LAUNCHED = 0x08, RETURNED = 0x0C, MSIADDRESS = 0x10,
                   MSIDATA = 0x18, ATTRIBUTES = 0x20, SEED = 0x24, BEGIN = 0x28, END_INCL = 0x30,
                   STRIDE = 0x38, UDATA = 0x40;
constexpr uint32_t PCTRL = 0x00, SUBSTREAMID = 0x0C;
constexpr uint32_t HALTED = 1, MEMCPY = 2, RAND48 = 3, SUM64 = 4, MISCONFIGURED = 0xFFFFFFFEu,
                   ERROR = 0xFFFFFFFFu;

// RAND48 from the formula: reseed at the region's first byte and at every 4 KiB boundary; one output per
// byte from one step, bit 31 from the next step; the byte written is the output's low byte.
std::vector<uint8_t> rand48_reference(uint32_t seed, uint64_t begin, uint64_t end_incl) {
    std::vector<uint8_t> out;
    uint64_t s = 0;
    const uint64_t m48 = (1ull << 48) - 1;
    for (uint64_t a = begin;; a++) {
        if (a == begin || (a % 4096) == 0) {
            uint32_t s32 = seed ^ (uint32_t)(a >> 32) ^ (uint32_t)(a & 0xFFFFFFFFu);
            s = ((uint64_t)s32 << 16) | 0x330E;
        }
        s = (s * 0x5DEECE66Dull + 0xB) & m48;
        uint32_t v = (uint32_t)((s >> 17) & 0x7FFFFFFF);
        s = (s * 0x5DEECE66Dull + 0xB) & m48;
        v |= (uint32_t)(s & 0x80000000u);
        out.push_back((uint8_t)(v & 0xFF));
        if (a == end_incl)
            break;
    }
    return out;
}

class TestEngine : public ::testing::Test {
  protected:
    fake::Host host;
    pcie_ep_host_ops ops = host.ops();
    pcie_dev *dev = nullptr;
    pcie_ep *ep = nullptr;

    void make(std::vector<pcie_dev_param> params = {}) {
        pcie_dev_destroy(dev);
        char err[256] = "";
        dev = pcie_dev_create("testengine", params.data(), params.size(), &ops, &host, err, sizeof err);
        ASSERT_NE(dev, nullptr) << err;
        ep = pcie_dev_ep(dev);
        host.ep = ep;
        fake::assign_bar64(ep, 0, kBar0);
        fake::assign_bar32(ep, 2, kTableBar);
        fake::assign_bar32(ep, 3, kPbaBar);
        fake::enable_function(ep);
    }
    void SetUp() override { make(); }
    void TearDown() override { pcie_dev_destroy(dev); }

    uint64_t user(unsigned frame) const { return kBar0 + frame * 0x80ull; }
    uint64_t priv(unsigned frame) const { return kBar0 + 0x10000 + frame * 0x80ull; }
    void w32(uint64_t a, uint32_t v) { ASSERT_TRUE(pcie_ep_mmio_write(ep, a, 4, v)); }
    void w64(uint64_t a, uint64_t v) { ASSERT_TRUE(pcie_ep_mmio_write(ep, a, 8, v)); }
    uint32_t r32(uint64_t a) {
        uint64_t v = 0;
        EXPECT_TRUE(pcie_ep_mmio_read(ep, a, 4, &v));
        return (uint32_t)v;
    }
    uint64_t r64(uint64_t a) {
        uint64_t v = 0;
        EXPECT_TRUE(pcie_ep_mmio_read(ep, a, 8, &v));
        return v;
    }
    void program(unsigned f, uint64_t begin, uint64_t end_incl, uint64_t stride = 1, uint32_t seed = 0) {
        w64(user(f) + BEGIN, begin);
        w64(user(f) + END_INCL, end_incl);
        w64(user(f) + STRIDE, stride);
        w32(user(f) + SEED, seed);
    }
    void fill(uint64_t a, size_t n, uint8_t salt) {
        for (size_t i = 0; i < n; i++)
            host.poke(a + i, (uint8_t)(i * 7 + salt));
    }
    // Enables MSI-X and programs an unmasked vector (table entry: address low/high, data, control).
    void msix_vector(unsigned v, uint64_t addr, uint32_t data) {
        ASSERT_TRUE(pcie_ep_mmio_write(ep, kTableBar + 16 * v + 0, 4, (uint32_t)addr));
        ASSERT_TRUE(pcie_ep_mmio_write(ep, kTableBar + 16 * v + 4, 4, (uint32_t)(addr >> 32)));
        ASSERT_TRUE(pcie_ep_mmio_write(ep, kTableBar + 16 * v + 8, 4, data));
        ASSERT_TRUE(pcie_ep_mmio_write(ep, kTableBar + 16 * v + 12, 4, 0));
        fake::cfg_w(ep, PCIE_EP_CAP_MSIX + 2, 2, 0x8000); // MSI-X Enable
    }
    std::map<std::string, uint64_t> stats() {
        std::map<std::string, uint64_t> m;
        pcie_dev_stats(
            dev,
            [](void *arg, const char *n, uint64_t v) {
                (*static_cast<std::map<std::string, uint64_t> *>(arg))[n] = v;
            },
            &m);
        return m;
    }
};

TEST_F(TestEngine, IdentityBarsAndResetState) {
    EXPECT_EQ(fake::cfg_r(ep, 0x00, 4), 0xFF8013B5u);
    // BAR0 64-bit memory (type 10b in bits 2:1): 128 KiB for one pair; the upper half sizes as all ones.
    fake::cfg_w(ep, 0x10, 4, 0xFFFFFFFF);
    fake::cfg_w(ep, 0x14, 4, 0xFFFFFFFF);
    EXPECT_EQ(fake::cfg_r(ep, 0x10, 4), 0xFFFE0004u);
    EXPECT_EQ(fake::cfg_r(ep, 0x14, 4), 0xFFFFFFFFu);
    fake::cfg_w(ep, 0x18, 4, 0xFFFFFFFF);
    EXPECT_EQ(fake::cfg_r(ep, 0x18, 4), 0xFFFFF000u); // MSI-X table BAR: 4 KiB
    fake::assign_bar64(ep, 0, kBar0);
    fake::assign_bar32(ep, 2, kTableBar);
    // MSI-X capability: table in BAR2 at 0, PBA in BAR3 at 0, 64 vectors (Table Size 63).
    EXPECT_EQ(fake::cfg_r(ep, PCIE_EP_CAP_MSIX, 1), 0x11u);
    EXPECT_EQ(fake::cfg_r(ep, PCIE_EP_CAP_MSIX + 2, 2) & 0x7FFu, 63u);
    EXPECT_EQ(fake::cfg_r(ep, PCIE_EP_CAP_MSIX + 4, 4), 0x2u);
    EXPECT_EQ(fake::cfg_r(ep, PCIE_EP_CAP_MSIX + 8, 4), 0x3u);
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    EXPECT_EQ(r32(user(511) + CMD), HALTED);
    EXPECT_EQ(r32(priv(0) + PCTRL), 0x1u);
    EXPECT_EQ(r32(priv(0) + SUBSTREAMID), 0xFFFFFFFFu);
    EXPECT_EQ(r32(priv(0) + 0x04), 0u);
}

TEST_F(TestEngine, MemcpyAscending) {
    fill(0x200010, 0x1F0, 3);
    program(0, 0x200010, 0x2001FF);
    w64(user(0) + UDATA, 0x300000);
    w32(user(0) + CMD, MEMCPY);
    EXPECT_EQ(r32(user(0) + CMD), MEMCPY);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    for (uint64_t i = 0; i < 0x1F0; i++)
        ASSERT_EQ(host.peek(0x300000 + i), (uint8_t)(i * 7 + 3)) << i;
    EXPECT_EQ(host.peek(0x3001F0), 0u);
    // 64-byte chunks: 0x200010..0x20003F, then 7 whole chunks.
    EXPECT_EQ(r32(user(0) + LAUNCHED), 8u);
    EXPECT_EQ(r32(user(0) + RETURNED), 8u);
    auto reads = host.data_addrs(false);
    ASSERT_EQ(reads.size(), 8u);
    EXPECT_EQ(reads[0], 0x200010u);
    EXPECT_TRUE(std::is_sorted(reads.begin(), reads.end()));
    EXPECT_TRUE(host.msi.empty());
}

TEST_F(TestEngine, MemcpyDestinationStraddlingAPage) {
    fill(0x10000, 0x100, 9);
    program(0, 0x10000, 0x100FF);
    w64(user(0) + UDATA, 0x20FE0); // every chunk lands across 0x21000 or near it
    w32(user(0) + CMD, MEMCPY);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    for (uint64_t i = 0; i < 0x100; i++)
        ASSERT_EQ(host.peek(0x20FE0 + i), (uint8_t)(i * 7 + 9)) << i;
    // The first chunk's copy lands on 0x20FE0..0x2101F: two writes, split at the page boundary.
    auto writes = host.data_addrs(true);
    EXPECT_NE(std::find(writes.begin(), writes.end(), 0x20FE0u), writes.end());
    EXPECT_NE(std::find(writes.begin(), writes.end(), 0x21000u), writes.end());
    for (const auto &r : host.reqs)
        EXPECT_LE((r.req.addr & 0xFFF) + r.req.len, 0x1000u);
}

TEST_F(TestEngine, Rand48MatchesTheFormula) {
    for (uint32_t seed : {0u, 0xFFFFFFFFu, 0x1234567u}) {
        host.pages.clear();
        uint64_t begin = 0x7'0000'0F13ull + seed % 64, end = 0x7'0000'2104ull;
        program(0, begin, end, 1, seed);
        w32(user(0) + CMD, RAND48);
        ASSERT_TRUE(host.run());
        ASSERT_EQ(r32(user(0) + CMD), HALTED);
        auto ref = rand48_reference(seed, begin, end);
        for (uint64_t i = 0; i < ref.size(); i++)
            ASSERT_EQ(host.peek(begin + i), ref[i]) << "seed " << seed << " byte " << i;
        EXPECT_EQ(host.peek(begin - 1), 0u);
        EXPECT_EQ(host.peek(end + 1), 0u);
    }
}

TEST_F(TestEngine, Rand48WithStrideWritesWordsOfTheSameStream) {
    uint64_t begin = 0x50000, end = 0x50FFF;
    program(0, begin, end, 24, 77);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    auto ref = rand48_reference(77, begin, end);
    for (uint64_t off = 0; off < 0x1000; off++) {
        bool written = (off % 24) < 8;
        ASSERT_EQ(host.peek(begin + off), written ? ref[off] : 0) << off;
    }
    EXPECT_EQ(r32(user(0) + LAUNCHED), (0xFFFu / 24) + 1);
}

TEST_F(TestEngine, Sum64IntoUdata1) {
    uint64_t sum = 0;
    for (uint64_t i = 0; i < 300; i++) {
        uint64_t v = 0x0123456789ABCDEFull * (i + 1) ^ (i << 40);
        host.poke64(0x9000 + 8 * i, v);
        sum += v;
    }
    program(0, 0x9000, 0x9000 + 8 * 300 - 1);
    w64(user(0) + UDATA + 8, 0xDEAD);
    w32(user(0) + CMD, SUM64);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    EXPECT_EQ(r64(user(0) + UDATA + 8), sum);
    EXPECT_TRUE(host.data_addrs(true).empty()); // read-only
    // Every other word with stride 16.
    uint64_t sum16 = 0;
    for (uint64_t i = 0; i < 300; i += 2)
        sum16 += host.peek64(0x9000 + 8 * i);
    program(0, 0x9000, 0x9000 + 8 * 300 - 1, 16);
    w32(user(0) + CMD, SUM64);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r64(user(0) + UDATA + 8), sum16);
    EXPECT_EQ(r32(user(0) + RETURNED), 150u);
}

TEST_F(TestEngine, LaunchOrders) {
    make({{"inflight", "1"}, {"chunk", "64"}});
    uint64_t begin = 0x100000, end = 0x100000 + 64 * 37 - 1;
    auto order = [&](uint32_t seed) {
        host.reqs.clear();
        program(0, begin, end, 1, seed);
        w32(user(0) + CMD, RAND48);
        EXPECT_TRUE(host.run());
        EXPECT_EQ(r32(user(0) + CMD), HALTED);
        return host.data_addrs(true);
    };
    std::vector<uint64_t> all;
    for (uint64_t i = 0; i < 37; i++)
        all.push_back(begin + 64 * i);
    EXPECT_EQ(order(0), all);
    auto desc = order(0xFFFFFFFFu);
    EXPECT_EQ(desc, std::vector<uint64_t>(all.rbegin(), all.rend()));
    auto rnd = order(0xC0FFEE);
    EXPECT_NE(rnd, all);
    EXPECT_NE(rnd, desc);
    auto sorted = rnd;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, all);          // each transaction exactly once
    EXPECT_EQ(order(0xC0FFEE), rnd); // deterministic
    EXPECT_NE(order(0xBEEF), rnd);
}

TEST_F(TestEngine, MisconfiguredFrames) {
    struct Case {
        const char *what;
        uint32_t cmd;
        uint64_t begin, end, stride, msiaddress, udata0;
        uint32_t substream;
    };
    const Case cases[] = {
        {"stride 0", RAND48, 0x1000, 0x1FFF, 0, 0, 0, 0xFFFFFFFF},
        {"stride 12", RAND48, 0x1000, 0x1FFF, 12, 0, 0, 0xFFFFFFFF},
        {"msiaddress 2", RAND48, 0x1000, 0x1FFF, 1, 2, 0, 0xFFFFFFFF},
        {"substreamid 21 bits", RAND48, 0x1000, 0x1FFF, 1, 0, 0, 0x100000},
        {"end before begin", RAND48, 0x2000, 0x1FFF, 1, 0, 0, 0xFFFFFFFF},
        {"whole 64-bit space", RAND48, 0, ~0ull, 1, 0, 0, 0xFFFFFFFF},
        {"SUM64 unaligned begin", SUM64, 0x1004, 0x1FFF, 1, 0, 0, 0xFFFFFFFF},
        {"SUM64 partial last word", SUM64, 0x1000, 0x1FFB, 1, 0, 0, 0xFFFFFFFF},
        {"unknown command", 7, 0x1000, 0x1FFF, 1, 0, 0, 0xFFFFFFFF},
        {"MEMCPY destination wraps", MEMCPY, 0x1000, 0x1FFF, 1, 0, ~0ull - 0x10, 0xFFFFFFFF},
    };
    for (const auto &c : cases) {
        program(0, c.begin, c.end, c.stride);
        w64(user(0) + MSIADDRESS, c.msiaddress);
        w64(user(0) + UDATA, c.udata0);
        w32(priv(0) + SUBSTREAMID, c.substream);
        w32(user(0) + CMD, c.cmd);
        EXPECT_EQ(r32(user(0) + CMD), MISCONFIGURED) << c.what;
        ASSERT_TRUE(host.run());
        EXPECT_EQ(r32(user(0) + CMD), MISCONFIGURED) << c.what;
    }
    EXPECT_TRUE(host.reqs.empty());
    EXPECT_TRUE(host.msi.empty());
    // A misconfigured frame takes writes and a good command again; 0 (NO_FRAME) counts as HALTED.
    program(0, 0x1000, 0x1FFF, 8);
    w64(user(0) + MSIADDRESS, 0);
    w32(priv(0) + SUBSTREAMID, 0xFFFFFFFF);
    w32(user(0) + CMD, 0);
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    EXPECT_EQ(stats()["misconfigured"], 10u);
}

TEST_F(TestEngine, WritesIgnoredWhileRunningAndCountersProgress) {
    make({{"inflight", "1"}, {"issue_ps", "100000"}});
    program(0, 0x4000, 0x4000 + 64 * 10 - 1);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run_until([&] { return r32(user(0) + RETURNED) == 3; }));
    EXPECT_EQ(r32(user(0) + CMD), RAND48);
    EXPECT_GE(r32(user(0) + LAUNCHED), 3u);
    EXPECT_LE(r32(user(0) + LAUNCHED), 4u);
    w64(user(0) + BEGIN, 0x9999000);
    w32(user(0) + SEED, 5);
    w32(user(0) + CMD, SUM64);
    w32(priv(0) + PCTRL, 0x300);
    w32(priv(0) + SUBSTREAMID, 4);
    EXPECT_EQ(r64(user(0) + BEGIN), 0x4000u);
    EXPECT_EQ(r32(user(0) + SEED), 0u);
    EXPECT_EQ(r32(user(0) + CMD), RAND48);
    EXPECT_EQ(r32(priv(0) + PCTRL), 0x1u);
    EXPECT_EQ(r32(priv(0) + SUBSTREAMID), 0xFFFFFFFFu);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    EXPECT_EQ(r32(user(0) + LAUNCHED), 10u);
    EXPECT_EQ(r32(user(0) + RETURNED), 10u);
    // Launches are spaced by issue_ps.
    auto &reqs = host.reqs;
    for (size_t i = 1; i < reqs.size(); i++)
        EXPECT_GE(reqs[i].time - reqs[i - 1].time, 100000u);
    w64(user(0) + BEGIN, 0x9999000);
    EXPECT_EQ(r64(user(0) + BEGIN), 0x9999000u);
    // The counters are read-only.
    w32(user(0) + LAUNCHED, 0);
    EXPECT_EQ(r32(user(0) + LAUNCHED), 10u);
}

TEST_F(TestEngine, SeveralTransactionsInFlight) {
    make({{"inflight", "4"}, {"issue_ps", "10"}});
    host.mem_latency = 10000;
    program(0, 0x4000, 0x4000 + 64 * 32 - 1);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(host.max_data_inflight, 4u);
    EXPECT_EQ(r32(user(0) + RETURNED), 32u);
}

TEST_F(TestEngine, FramesAreIndependent) {
    make({{"frames", "2"}});
    fill(0x1000, 0x100, 1);
    fill(0x8000, 0x100, 2);
    uint64_t u1 = kBar0 + 0x20000 + 3 * 0x80; // pair 1, frame 3
    w64(u1 + BEGIN, 0x8000);
    w64(u1 + END_INCL, 0x80FF);
    w64(u1 + STRIDE, 1);
    w64(u1 + UDATA, 0xA000);
    program(0, 0x1000, 0x10FF);
    w64(user(0) + UDATA, 0xB000);
    w32(user(0) + CMD, MEMCPY);
    w32(u1 + CMD, MEMCPY);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(u1 + CMD), HALTED);
    for (uint64_t i = 0; i < 0x100; i++) {
        ASSERT_EQ(host.peek(0xA000 + i), (uint8_t)(i * 7 + 2));
        ASSERT_EQ(host.peek(0xB000 + i), (uint8_t)(i * 7 + 1));
    }
}

TEST_F(TestEngine, MsixOnCompletionAndAbortedWhenOff) {
    program(0, 0x1000, 0x10FF);
    w64(user(0) + MSIADDRESS, 1);
    w32(user(0) + MSIDATA, 5);
    w32(user(0) + CMD, RAND48); // MSI-X still disabled
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    EXPECT_TRUE(host.msi.empty());
    EXPECT_EQ(r32(user(0) + UCTRL) & 1u, 1u); // MSI_ABORTED
    msix_vector(5, 0xFEE0'0000ull, 0x45);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(host.msi.size(), 1u);
    EXPECT_EQ(host.msi[0].first, 0xFEE00000u);
    EXPECT_EQ(host.msi[0].second, 0x45u);
    EXPECT_EQ(r32(user(0) + UCTRL) & 1u, 0u);
    // msiaddress 0: no MSI.
    w64(user(0) + MSIADDRESS, 0);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(host.msi.size(), 1u);
}

TEST_F(TestEngine, AbortedTransactionGivesErrorWithTheAddressAndStillTheMsi) {
    msix_vector(1, 0xFEE0'0000ull, 0x99);
    host.mem_status = [](const pcie_ep_mem_req &r) -> std::optional<pcie_ep_cpl_status> {
        if (r.addr == 0x30C0)
            return PCIE_EP_CPL_CA;
        return std::nullopt;
    };
    fill(0x3000, 0x400, 5);
    program(0, 0x3000, 0x33FF);
    w64(user(0) + MSIADDRESS, 1);
    w32(user(0) + MSIDATA, 1);
    w32(user(0) + CMD, SUM64);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), ERROR);
    EXPECT_EQ(r64(user(0) + UDATA + 16), 0x30C0u);
    ASSERT_EQ(host.msi.size(), 1u);
    EXPECT_EQ(host.msi[0].second, 0x99u);
    EXPECT_LT(r32(user(0) + LAUNCHED), 16u); // stopped launching
    EXPECT_EQ(r32(user(0) + LAUNCHED), r32(user(0) + RETURNED));
}

class TestEngineSva : public TestEngine {
  protected:
    void sva(unsigned f, uint32_t pasid) {
        fake::enable_pasid_ats(ep);
        fake::enable_pri(ep, 32);
        w32(priv(f) + SUBSTREAMID, pasid);
        w32(priv(f) + PCTRL, 0x300); // ATS_ENABLE, PRI_ENABLE
    }
};

TEST_F(TestEngineSva, MemcpyFaultsItsWayThroughAProcess) {
    sva(0, 0x51);
    host.fault_in_phys_offset = 0x8'0000'0000ull;
    // The source pages are already mapped for PASID 0x51, the destination faults in.
    for (uint64_t p = 0x7F00'0000'0000ull; p < 0x7F00'0000'3000ull; p += 4096)
        host.map(p, p - 0x7F00'0000'0000ull + 0x2'0000'0000ull, true, false, true, 0x51);
    for (uint64_t i = 0; i < 0x2800; i++)
        host.poke(0x2'0000'0000ull + 0x800 + i, (uint8_t)(i ^ (i >> 8)));
    program(0, 0x7F00'0000'0800ull, 0x7F00'0000'2FFFull);
    w64(user(0) + UDATA, 0x5555'0000'0000ull);
    w32(user(0) + CMD, MEMCPY);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    for (uint64_t i = 0; i < 0x2800; i++)
        ASSERT_EQ(host.peek(0x5555'0000'0000ull + 0x8'0000'0000ull + i), (uint8_t)(i ^ (i >> 8))) << i;
    auto prs = host.page_requests();
    ASSERT_EQ(prs.size(), 3u); // the three destination pages, once each
    for (const auto &m : prs) {
        EXPECT_TRUE(m.write);
        EXPECT_EQ(m.pasid, 0x51u);
    }
    EXPECT_EQ(host.count_at(PCIE_EP_AT_UNTRANSLATED), 0u);
    auto s = stats();
    EXPECT_EQ(s["agent_page_groups"], 3u);
    EXPECT_GT(s["atc_hits"], 0u);
}

TEST_F(TestEngineSva, PrgPagesPrefetchesTheFollowingPages) {
    make({{"prg_pages", "4"}});
    sva(0, 7);
    program(0, 0x10'0000'0000ull, 0x10'0000'5FFFull);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
    auto prs = host.page_requests();
    ASSERT_EQ(prs.size(), 6u); // a group of 4, then the 2 left in the region
    EXPECT_FALSE(prs[0].last);
    EXPECT_TRUE(prs[3].last);
    EXPECT_EQ(prs[4].addr, 0x10'0000'4000ull);
    EXPECT_TRUE(prs[5].last);
}

TEST_F(TestEngineSva, RandomOrderUnderPressureStillWritesTheFormula) {
    // Small PRI Allocation, multi-page groups, racing invalidations and every tag in use: the data is still
    // exactly the formula's, at the faulted-in pages.
    make({{"prg_pages", "3"}, {"inflight", "64"}, {"issue_ps", "0"}, {"chunk", "256"}});
    sva(0, 0x99);
    fake::enable_pri(ep, 2);
    host.race_next_translations = 5;
    host.fault_in_phys_offset = 0x1'0000'0000'0000ull;
    uint64_t begin = 0x3'0000'0123ull, end = 0x3'0001'3F00ull;
    program(0, begin, end, 1, 0x5EED);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(r32(user(0) + CMD), HALTED);
    EXPECT_LE(host.max_outstanding_page_requests, 2u);
    auto ref = rand48_reference(0x5EED, begin, end);
    for (uint64_t i = 0; i < ref.size(); i++)
        ASSERT_EQ(host.peek(begin + host.fault_in_phys_offset + i), ref[i]) << i;
    EXPECT_EQ(r32(user(0) + LAUNCHED), r32(user(0) + RETURNED));
}

TEST_F(TestEngineSva, InvalidRequestIsAnError) {
    sva(0, 7);
    host.pri_policy = fake::PriPolicy::Invalid;
    program(0, 0x10'0000'0100ull, 0x10'0000'01FFull);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), ERROR);
    EXPECT_EQ(r64(user(0) + UDATA + 16) & ~0xFFull, 0x10'0000'0100ull);
}

TEST_F(TestEngineSva, MaxAttemptsBoundsRetriesOfAHostThatNeverMaps) {
    make({{"max_attempts", "3"}, {"inflight", "1"}});
    sva(0, 7);
    host.pri_policy = fake::PriPolicy::SucceedWithoutMapping;
    program(0, 0x10'0000'0100ull, 0x10'0000'0107ull); // one 8-byte transaction
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run(100000));
    EXPECT_EQ(r32(user(0) + CMD), ERROR);
    EXPECT_EQ(r64(user(0) + UDATA + 16), 0x10'0000'0100ull);
    EXPECT_EQ(host.count_at(PCIE_EP_AT_TRANSLATION_REQ), 3u)
        << "max_attempts=3 Translation Requests, then give up";
    EXPECT_EQ(host.page_requests().size(), 3u) << "each answered Success without a mapping";
}

TEST_F(TestEngineSva, NoPriMeansAFault) {
    sva(0, 7);
    w32(priv(0) + PCTRL, 0x100); // ATS only
    program(0, 0x10'0000'0100ull, 0x10'0000'01FFull);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), ERROR);
    EXPECT_TRUE(host.page_requests().empty());
}

TEST_F(TestEngineSva, StopWithStopMarker) {
    sva(0, 0x33);
    msix_vector(0, 0xFEE0'0000ull, 0x10);
    host.pri_policy = fake::PriPolicy::Manual;
    program(0, 0x20'0000'0000ull, 0x20'0000'3FFFull);
    w64(user(0) + MSIADDRESS, 1);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    ASSERT_FALSE(host.page_requests().empty());
    EXPECT_EQ(r32(user(0) + CMD), RAND48);
    w32(priv(0) + PCTRL, 0x10300); // STOP
    ASSERT_TRUE(host.run());
    auto sm = host.stop_markers();
    ASSERT_EQ(sm.size(), 1u);
    EXPECT_EQ(sm[0].pasid, 0x33u);
    EXPECT_EQ(r32(priv(0) + PCTRL), 0x30301u); // SSD_NS, ATS, PRI, STOP, STOPPED
    EXPECT_EQ(r32(user(0) + CMD), ERROR);
    EXPECT_EQ(r64(user(0) + UDATA + 16) >> 14, 0x20'0000'0000ull >> 14);
    EXPECT_EQ(host.msi.size(), 1u);
    // A command on a stopped frame is misconfigured; clearing STOP lets the PASID work again.
    w32(user(0) + CMD, RAND48);
    EXPECT_EQ(r32(user(0) + CMD), MISCONFIGURED);
    w32(priv(0) + PCTRL, 0x300);
    EXPECT_EQ(r32(priv(0) + PCTRL), 0x301u);
    host.pri_policy = fake::PriPolicy::MapAndSucceed;
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(user(0) + CMD), HALTED);
}

TEST_F(TestEngineSva, StopWithoutStopMarkerWaitsForResponses) {
    make({{"stop_marker", "0"}});
    sva(0, 0x33);
    host.pri_policy = fake::PriPolicy::Manual;
    program(0, 0x20'0000'0000ull, 0x20'0000'0FFFull);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    auto prs = host.page_requests();
    ASSERT_EQ(prs.size(), 1u);
    w32(priv(0) + PCTRL, 0x10300);
    ASSERT_TRUE(host.run());
    EXPECT_TRUE(host.stop_markers().empty());
    EXPECT_EQ(r32(priv(0) + PCTRL) & 0x30000u, 0x10000u); // STOP, not yet STOPPED
    // STOP = 0 is ignored while the stop is in progress.
    w32(priv(0) + PCTRL, 0x300);
    EXPECT_EQ(r32(priv(0) + PCTRL) & 0x30000u, 0x10000u);
    host.release_manual(prs[0].prg_index, 0, 1);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r32(priv(0) + PCTRL) & 0x30000u, 0x30000u);
    EXPECT_EQ(r32(user(0) + CMD), ERROR);
}

TEST_F(TestEngine, StopOnAnIdleFrameWithoutPasid) {
    w32(priv(0) + PCTRL, 0x10000);
    EXPECT_EQ(r32(priv(0) + PCTRL), 0x30001u);
    EXPECT_TRUE(host.msgs.empty());
    w32(priv(0) + PCTRL, 0);
    EXPECT_EQ(r32(priv(0) + PCTRL), 0x1u);
}

TEST_F(TestEngine, StatsListEveryCounter) {
    program(0, 0x1000, 0x10FF);
    w32(user(0) + CMD, RAND48);
    ASSERT_TRUE(host.run());
    auto s = stats();
    for (const char *name :
         {"commands", "misconfigured", "halted", "errors", "transactions_launched", "transactions_returned",
          "completion_msis", "completion_msis_aborted", "stops", "agent_accesses", "agent_bytes_written",
          "agent_page_requests", "atc_hits", "untranslated_requests", "page_requests"})
        EXPECT_TRUE(s.count(name)) << name;
    EXPECT_EQ(s["commands"], 1u);
    EXPECT_EQ(s["transactions_returned"], 4u);
    EXPECT_EQ(s["agent_bytes_written"], 0x100u);
}

} // namespace
