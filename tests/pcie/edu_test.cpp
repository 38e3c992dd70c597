// QEMU's edu device personality through its BAR, against the fake root complex; register values are the
// ones QEMU's hw/misc/edu.c documents. Also the personality registry's parameter errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fake_host.h"
#include "pcie_dev.h"
#include "pcie_ep.h"

namespace {

constexpr uint32_t kBar = 0xC000'0000u;

class Edu : public ::testing::Test {
  protected:
    fake::Host host;
    pcie_ep_host_ops ops = host.ops();
    pcie_dev *dev = nullptr;
    pcie_ep *ep = nullptr;

    void make(std::vector<pcie_dev_param> params = {}) {
        pcie_dev_destroy(dev);
        char err[256] = "";
        dev = pcie_dev_create("edu", params.data(), params.size(), &ops, &host, err, sizeof err);
        ASSERT_NE(dev, nullptr) << err;
        ep = pcie_dev_ep(dev);
        host.ep = ep;
        fake::assign_bar32(ep, 0, kBar);
        fake::enable_function(ep);
    }
    void SetUp() override { make(); }
    void TearDown() override { pcie_dev_destroy(dev); }

    void w(uint32_t off, uint64_t v, unsigned size = 4) {
        ASSERT_TRUE(pcie_ep_mmio_write(ep, kBar + off, size, v));
    }
    uint64_t r(uint32_t off, unsigned size = 4) {
        uint64_t v = 0;
        EXPECT_TRUE(pcie_ep_mmio_read(ep, kBar + off, size, &v));
        return v;
    }
    void enable_msi(uint64_t addr, uint16_t data) {
        fake::cfg_w(ep, PCIE_EP_CAP_MSI + 4, 4, (uint32_t)addr);
        fake::cfg_w(ep, PCIE_EP_CAP_MSI + 8, 4, (uint32_t)(addr >> 32));
        fake::cfg_w(ep, PCIE_EP_CAP_MSI + 12, 2, data);
        fake::cfg_w(ep, PCIE_EP_CAP_MSI + 2, 2, 0x0001);
    }
    void dma(uint64_t src, uint64_t dst, uint64_t count, uint32_t cmd) {
        w(0x80, src, 8);
        w(0x88, dst, 8);
        w(0x90, count, 8);
        w(0x98, cmd, 8);
    }
};

TEST_F(Edu, IdentityAndBar) {
    EXPECT_EQ(fake::cfg_r(ep, 0x00, 4), 0x11E81234u);
    EXPECT_EQ(fake::cfg_r(ep, 0x08, 4),
              0x00FF0010u);                     // class 0x00ff as on QEMU (PCI_CLASS_OTHERS), revision 0x10
    EXPECT_EQ(fake::cfg_r(ep, 0x3D, 1), 0x01u); // INTA
    fake::cfg_w(ep, 0x10, 4, 0xFFFFFFFF);
    EXPECT_EQ(fake::cfg_r(ep, 0x10, 4), 0xFFF00000u); // 1 MiB, 32-bit memory
    fake::assign_bar32(ep, 0, kBar);
    EXPECT_EQ(fake::cfg_r(ep, PCIE_EP_CAP_MSI, 1), 0x05u);
    EXPECT_EQ(fake::cfg_r(ep, PCIE_EP_ECAP_ATS, 4) & 0xFFFFu, 0u); // no ATS
    EXPECT_EQ(r(0x00), 0x010000EDu);
    w(0x00, 0x12345678);
    EXPECT_EQ(r(0x00), 0x010000EDu);
}

TEST_F(Edu, LivenessInverts) {
    w(0x04, 0x12345678);
    EXPECT_EQ(r(0x04), 0xEDCBA987u);
    w(0x04, 0);
    EXPECT_EQ(r(0x04), 0xFFFFFFFFu);
}

TEST_F(Edu, AccessSizes) {
    EXPECT_EQ(r(0x00, 8), ~0ull); // 8 bytes only at 0x80 and above
    EXPECT_EQ(r(0x00, 2), 0xFFFFu);
    w(0x04, 0x1, 2); // ignored
    EXPECT_EQ(r(0x04), 0u);
    w(0x80, 0x1122334455667788ull, 8);
    EXPECT_EQ(r(0x80, 8), 0x1122334455667788ull);
    EXPECT_EQ(r(0x80, 4), 0x55667788u);
    w(0x80, 0xAABBCCDD, 4); // replaces the whole register
    EXPECT_EQ(r(0x80, 8), 0xAABBCCDDull);
    EXPECT_EQ(r(0x84), 0xFFFFFFFFu); // not a register
    EXPECT_EQ(r(0x40), 0xFFFFFFFFu);
}

TEST_F(Edu, FactorialWithInterruptOverIntx) {
    w(0x20, 0x80); // raise an interrupt when done
    w(0x08, 10);
    EXPECT_EQ(r(0x20), 0x81u); // busy
    EXPECT_EQ(r(0x08), 10u);
    w(0x08, 3); // ignored while busy
    ASSERT_TRUE(host.run());
    EXPECT_EQ(host.now, 1000000u); // fact_ps
    EXPECT_EQ(r(0x08), 3628800u);
    EXPECT_EQ(r(0x20), 0x80u);
    EXPECT_EQ(r(0x24), 0x1u);
    ASSERT_EQ(host.intx.size(), 1u);
    EXPECT_TRUE(host.intx[0]);
    EXPECT_EQ(fake::cfg_r(ep, 0x06, 2) & 0x8u, 0x8u); // Status.Interrupt Status
    w(0x64, 0x1);
    EXPECT_EQ(r(0x24), 0u);
    ASSERT_EQ(host.intx.size(), 2u);
    EXPECT_FALSE(host.intx[1]);
    // 13! wraps modulo 2^32; without bit 7 no interrupt.
    w(0x20, 0);
    w(0x08, 13);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r(0x08), (uint32_t)6227020800ull);
    EXPECT_EQ(r(0x24), 0u);
}

TEST_F(Edu, RaiseAndAcknowledgeOverMsi) {
    enable_msi(0xFEE0'1000ull, 0x4021);
    w(0x60, 0x8);
    ASSERT_EQ(host.msi.size(), 1u);
    EXPECT_EQ(host.msi[0].first, 0xFEE01000u);
    EXPECT_EQ(host.msi[0].second, 0x4021u);
    EXPECT_EQ(r(0x24), 0x8u);
    EXPECT_TRUE(host.intx.empty());
    w(0x60, 0x10);
    EXPECT_EQ(host.msi.size(), 2u);
    EXPECT_EQ(r(0x24), 0x18u);
    w(0x64, 0x8);
    EXPECT_EQ(r(0x24), 0x10u);
    EXPECT_TRUE(host.intx.empty());
    // MSI off again: the pending status now shows on INTx.
    fake::cfg_w(ep, PCIE_EP_CAP_MSI + 2, 2, 0);
    ASSERT_EQ(host.intx.size(), 1u);
    EXPECT_TRUE(host.intx[0]);
}

TEST_F(Edu, DmaBothDirections) {
    for (unsigned i = 0; i < 0x180; i++)
        host.poke(0x10F80 + i, (uint8_t)(i * 3 + 1));
    dma(0x10F80, 0x40100, 0x180, 0x1); // RAM -> edu, across a RAM page boundary
    EXPECT_EQ(r(0x98), 0x1u);
    w(0x80, 0x999, 8); // ignored while running
    EXPECT_EQ(r(0x80, 8), 0x10F80u);
    ASSERT_TRUE(host.run());
    EXPECT_EQ(r(0x98) & 1u, 0u);
    auto reads = host.data_addrs(false);
    ASSERT_EQ(reads.size(), 2u);
    EXPECT_EQ(reads[0], 0x10F80u);
    EXPECT_EQ(reads[1], 0x11000u);
    dma(0x40100, 0x20000, 0x180, 0x7); // edu -> RAM, interrupt when done
    ASSERT_TRUE(host.run());
    for (unsigned i = 0; i < 0x180; i++)
        ASSERT_EQ(host.peek(0x20000 + i), (uint8_t)(i * 3 + 1)) << i;
    EXPECT_EQ(r(0x24), 0x100u);
    ASSERT_FALSE(host.intx.empty());
    EXPECT_TRUE(host.intx.back());
    for (const auto &q : host.reqs) {
        EXPECT_EQ(q.req.at, PCIE_EP_AT_UNTRANSLATED);
        EXPECT_FALSE(q.req.pasid_valid);
    }
}

TEST_F(Edu, DmaMaskClampsTheRamAddress) {
    dma(0xF123'4000ull, 0x40000, 0x10, 0x1);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(host.reqs.size(), 1u);
    EXPECT_EQ(host.reqs[0].req.addr, 0x0123'4000u); // 28 bits by default
    make({{"dma_mask", "16"}});
    dma(0x40000, 0x12345678ull, 0x8, 0x3);
    ASSERT_TRUE(host.run());
    ASSERT_EQ(host.reqs.size(), 2u);
    EXPECT_EQ(host.reqs[1].req.addr, 0x5678u);
    EXPECT_TRUE(host.reqs[1].req.write);
}

TEST_F(Edu, OutOfRangeEduAddressMovesNothing) {
    dma(0x1000, 0x40F00, 0x200, 0x5); // runs past the 4 KiB buffer
    ASSERT_TRUE(host.run());
    EXPECT_TRUE(host.reqs.empty());
    EXPECT_EQ(r(0x98) & 1u, 0u);
    EXPECT_EQ(r(0x24), 0x100u);
    dma(0x3FFF0, 0x1000, 0x20, 0x3); // below the buffer
    ASSERT_TRUE(host.run());
    EXPECT_TRUE(host.reqs.empty());
}

TEST_F(Edu, StatsNameTheCounters) {
    w(0x08, 4);
    ASSERT_TRUE(host.run());
    std::map<std::string, uint64_t> m;
    pcie_dev_stats(
        dev,
        [](void *a, const char *n, uint64_t v) {
            (*static_cast<std::map<std::string, uint64_t> *>(a))[n] = v;
        },
        &m);
    EXPECT_EQ(m["factorials"], 1u);
    EXPECT_TRUE(m.count("dma_transfers"));
    EXPECT_TRUE(m.count("agent_mem_requests"));
    EXPECT_TRUE(m.count("intx_asserts"));
    EXPECT_STREQ(pcie_dev_personality(dev), "edu");
}

// ---- the registry ----

TEST(PcieDev, PersonalitiesAndParameterErrors) {
    fake::Host host;
    pcie_ep_host_ops ops = host.ops();
    const char *const *names = pcie_dev_personalities();
    ASSERT_STREQ(names[0], "edu");
    ASSERT_STREQ(names[1], "testengine");
    EXPECT_EQ(names[2], nullptr);
    char err[512];
    auto create = [&](const char *pers, std::vector<pcie_dev_param> p) {
        err[0] = 0;
        return pcie_dev_create(pers, p.data(), p.size(), &ops, &host, err, sizeof err);
    };
    EXPECT_EQ(create("nic", {}), nullptr);
    EXPECT_STREQ(err, "unknown PCIe device personality 'nic' (known: edu, testengine)");
    EXPECT_EQ(create("edu", {{"dma_bits", "28"}}), nullptr);
    EXPECT_STREQ(err, "edu: unknown key 'dma_bits' (valid: dma_mask, fact_ps, dma_bytes_per_ns)");
    EXPECT_EQ(create("testengine", {{"frames", "many"}}), nullptr);
    EXPECT_STREQ(err, "testengine: frames=many is not a non-negative integer (decimal or 0x hex)");
    EXPECT_EQ(create("testengine", {{"pasid_width", "21"}}), nullptr);
    EXPECT_STREQ(err, "testengine: pasid_width=21 is out of range [0, 20]");
    EXPECT_EQ(create("testengine", {{"ats", "maybe"}}), nullptr);
    EXPECT_STREQ(err, "testengine: ats=maybe is not 0, 1, true or false");
    EXPECT_EQ(create("testengine", {{"chunk", "100"}}), nullptr);
    EXPECT_STREQ(err, "testengine: chunk must be a power of two, 8..4096");
    EXPECT_EQ(create("edu", {{"fact_ps", "1"}, {"fact_ps", "2"}}), nullptr);
    EXPECT_STREQ(err, "edu: key 'fact_ps' given twice");
    pcie_dev *d = create("testengine", {{"frames", "0x2"}, {"ats", "false"}, {"msix_vectors", "16"}});
    ASSERT_NE(d, nullptr) << err;
    EXPECT_EQ(fake::cfg_r(pcie_dev_ep(d), PCIE_EP_CAP_MSIX + 2, 2) & 0x7FFu, 15u);
    pcie_dev_destroy(d);
    EXPECT_EQ(create("testengine", {{"bogus", "1"}}), nullptr);
    EXPECT_NE(
        std::string(err).find("valid: frames, inflight, issue_ps, stop_marker, ats, pri, pasid, pasid_width, "
                              "atc_sets, atc_ways, inv_queue_depth, pri_capacity, msix_vectors, prg_pages, "
                              "chunk"),
        std::string::npos)
        << err;
}

} // namespace
