// SystemC tests of the PCIe root complex and endpoint shells: a CPU initiator behind a Router reaches ECAM
// and the MMIO window as on virt; endpoints host bare function cores with a small test device; a fake SMMU
// side records what comes up and sends messages down.
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include <gtest/gtest.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "endpoint.h"
#include "root_complex.h"
#include "router.h"
#include "test_initiator.h"

using sc_core::SC_NS;
using sc_core::sc_time;
using vp::PcieEndpoint;
using vp::PcieRootComplex;
using vp::TxnAttr;
using vp::TxnKind;
using vp_test::TestInitiator;

namespace {

constexpr uint64_t kEcam = 0x3f000000;
constexpr uint64_t kMmio = 0x10000000;
constexpr uint64_t kMmioSize = 0x3eff0000 - kMmio;
const sc_time kRc(10, SC_NS), kLink(20, SC_NS), kSmmu(5, SC_NS);

uint64_t ecam(unsigned bus, unsigned dev, unsigned fn, unsigned reg) {
    return kEcam + (uint64_t{bus} << 20 | uint64_t{dev} << 15 | uint64_t{fn} << 12 | reg);
}

// The SMMU's side of the root complex: records upstream traffic, answers reads and translation requests, and
// sends messages down.
struct FakeSmmu : sc_core::sc_module {
    struct Seen {
        sc_time at; // arrival: kernel time + annotated delay
        TxnAttr attr;
        uint64_t addr;
        bool write;
        uint64_t data;
    };
    tlm_utils::simple_target_socket<FakeSmmu> upstream{"upstream"};
    tlm_utils::simple_initiator_socket<FakeSmmu> messages{"messages"};
    std::vector<Seen> seen;

    explicit FakeSmmu(sc_core::sc_module_name name) : sc_module(name) {
        upstream.register_b_transport(this, &FakeSmmu::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload &gp, sc_time &delay) {
        TxnAttr *attr = TxnAttr::of(gp);
        ASSERT_NE(attr, nullptr);
        uint64_t value = 0;
        std::memcpy(&value, gp.get_data_ptr(), std::min<unsigned>(8, gp.get_data_length()));
        seen.push_back({sc_core::sc_time_stamp() + delay, *attr, gp.get_address(), gp.is_write(), value});
        delay += kSmmu;
        if (attr->kind == TxnKind::Memory && attr->at == vp::PcieAt::TranslationRequest) {
            attr->ats_valid = true;
            attr->ats.status = vp::AtsCompletionStatus::Success;
            attr->ats.translated_addr = 0x80000000 | (gp.get_address() & 0xFFFFF000);
            attr->ats.size = 4096;
            attr->ats.read = attr->ats.write = true;
        } else if (gp.is_read()) {
            std::memset(gp.get_data_ptr(), 0xA5, gp.get_data_length());
        }
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    // One message toward the endpoint of SID; returns the response status.
    tlm::tlm_response_status send(const TxnAttr &message, uint64_t addr) {
        tlm::tlm_generic_payload gp;
        uint64_t body = 0;
        TxnAttr ext = message;
        gp.set_extension(&ext);
        gp.set_command(tlm::TLM_WRITE_COMMAND);
        gp.set_address(addr);
        gp.set_data_ptr(reinterpret_cast<unsigned char *>(&body));
        gp.set_data_length(8);
        gp.set_streaming_width(8);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_time delay = sc_core::SC_ZERO_TIME;
        messages->b_transport(gp, delay);
        gp.clear_extension(&ext);
        return gp.get_response_status();
    }
};

// Device logic of a test function: 64 bytes of BAR0 registers and a record of what the core tells it.
struct TestDevice {
    uint32_t regs[16] = {};
    unsigned bar_reads = 0, bar_writes = 0;
    uint64_t last_offset = 0;
    struct Done {
        uint32_t tag;
        pcie_ep_cpl_status status;
        sc_time at;
    };
    std::vector<Done> done;
    std::vector<std::pair<uint16_t, sc_time>> prg_responses;
    unsigned translations = 0;

    static bool bar_read(void *dev, unsigned bar, uint64_t offset, unsigned size, uint64_t *value) {
        auto *d = static_cast<TestDevice *>(dev);
        if (bar != 0 || offset >= sizeof d->regs || size != 4)
            return false;
        ++d->bar_reads;
        d->last_offset = offset;
        *value = d->regs[offset / 4];
        return true;
    }
    static bool bar_write(void *dev, unsigned bar, uint64_t offset, unsigned size, uint64_t value) {
        auto *d = static_cast<TestDevice *>(dev);
        if (bar != 0 || offset >= sizeof d->regs || size != 4)
            return false;
        ++d->bar_writes;
        d->last_offset = offset;
        d->regs[offset / 4] = static_cast<uint32_t>(value);
        return true;
    }
    static void mem_done(void *dev, uint32_t tag, pcie_ep_cpl_status status) {
        static_cast<TestDevice *>(dev)->done.push_back({tag, status, sc_core::sc_time_stamp()});
    }
    static void translation_done(void *dev, uint32_t, const pcie_ep_ats_cpl *, bool) {
        ++static_cast<TestDevice *>(dev)->translations;
    }
    static void prg_response(void *dev, uint16_t index, uint8_t) {
        static_cast<TestDevice *>(dev)->prg_responses.push_back({index, sc_core::sc_time_stamp()});
    }
};

const pcie_ep_device_ops kTestDeviceOps = {&TestDevice::bar_read,     &TestDevice::bar_write,
                                           &TestDevice::mem_done,     &TestDevice::translation_done,
                                           &TestDevice::prg_response, nullptr};

pcie_ep_params test_function(uint8_t intx_pin = 1) {
    pcie_ep_params p{};
    p.vendor_id = 0x1234;
    p.device_id = 0x11e8;
    p.class_code = 0x00ff00;
    p.bar_size[0] = 0x1000;
    p.intx_pin = intx_pin;
    p.ats = true;
    p.inv_queue_depth = 1;
    p.atc_sets = 16;
    p.atc_ways = 4;
    p.pri = true;
    p.pri_capacity = 8;
    p.pasid = true;
    p.pasid_width = 16;
    return p;
}

struct Endpoint {
    TestDevice device;
    PcieEndpoint shell;
    Endpoint(const char *name, uint16_t bdf, uint8_t intx_pin = 1, uint64_t inv_latency_ps = 0)
        : shell(name, bdf, with_latency(test_function(intx_pin), inv_latency_ps)) {
        pcie_ep_set_device(shell.ep(), &kTestDeviceOps, &device);
    }
    static pcie_ep_params with_latency(pcie_ep_params p, uint64_t ps) {
        p.inv_latency_ps = ps;
        return p;
    }
};

struct Env {
    vp::Router router{"router"};
    PcieRootComplex rc;
    FakeSmmu smmu{"smmu"};
    TestInitiator cpu;
    sc_core::sc_signal<bool> intx[4] = {sc_core::sc_signal<bool>("inta"), sc_core::sc_signal<bool>("intb"),
                                        sc_core::sc_signal<bool>("intc"), sc_core::sc_signal<bool>("intd")};
    std::vector<std::unique_ptr<Endpoint>> endpoints;

    static PcieRootComplex::Params params(std::vector<vp::PcieRidRange> map) {
        PcieRootComplex::Params p;
        p.rc_latency = kRc;
        p.link_latency = kLink;
        p.rid_map = std::move(map);
        return p;
    }
    Env(TestInitiator::Body body, std::vector<uint16_t> bdfs, std::vector<vp::PcieRidRange> map = {},
        std::vector<uint8_t> pins = {}, uint64_t inv_latency_ps = 0)
        : rc("rc", params(std::move(map))), cpu("cpu", std::move(body)) {
        router.add_target(rc.ecam_socket, kEcam, PcieRootComplex::kEcamSize, "ecam");
        router.add_target(rc.mmio_socket, kMmio, kMmioSize, "pcie_mmio");
        cpu.socket.bind(router.target_socket);
        rc.smmu_socket.bind(smmu.upstream);
        smmu.messages.bind(rc.message_socket);
        for (unsigned i = 0; i < 4; ++i)
            rc.intx[i].bind(intx[i]);
        for (size_t i = 0; i < bdfs.size(); ++i) {
            const std::string name = "ep" + std::to_string(i);
            endpoints.push_back(std::make_unique<Endpoint>(name.c_str(), bdfs[i],
                                                           i < pins.size() ? pins[i] : 1, inv_latency_ps));
            rc.attach(endpoints.back()->shell);
        }
    }

    // Configuration writes through ECAM; waits until the write has reached the function.
    void cfg_write(uint64_t addr, uint32_t value, unsigned len = 4) {
        const sc_time before = cpu.annotated_delay();
        ASSERT_EQ(cpu.write(addr, value, len), tlm::TLM_OK_RESPONSE);
        sc_core::wait(cpu.annotated_delay() - before);
    }
    void mmio_write(uint64_t addr, uint32_t value) {
        const sc_time before = cpu.annotated_delay();
        ASSERT_EQ(cpu.write(addr, value), tlm::TLM_OK_RESPONSE);
        sc_core::wait(cpu.annotated_delay() - before + kLink);
    }
    // BAR0 at BASE, Memory Space and Bus Master as asked.
    void setup(unsigned dev, uint32_t bar0, uint16_t command) {
        cfg_write(ecam(0, dev, 0, 0x10), bar0);
        cfg_write(ecam(0, dev, 0, 0x04), command, 2);
    }
};

pcie_ep_access dma_read(uint64_t addr, uint8_t *buffer, uint32_t len) {
    pcie_ep_access a{};
    a.addr = addr;
    a.len = len;
    a.data = buffer;
    return a;
}

constexpr uint16_t kCmdMemory = 0x2, kCmdBusMaster = 0x4;

} // namespace

TEST(PcieShell, HostBridgeIdsAndAbsentFunctionsReadAllOnes) {
    Env *env = nullptr;
    Env e(
        [&](TestInitiator &cpu) {
            EXPECT_EQ(cpu.read32(ecam(0, 0, 0, 0x00)), 0x00081b36u) << "QEMU's gpex host bridge IDs";
            EXPECT_EQ(cpu.read32(ecam(0, 0, 0, 0x08)) >> 8, 0x060000u) << "class: host bridge";
            EXPECT_EQ(cpu.read32(ecam(0, 1, 0, 0x00)), 0x11e81234u) << "the endpoint at 00:01.0";
            EXPECT_EQ(cpu.read32(ecam(0, 5, 0, 0x00)), 0xFFFFFFFFu) << "no function at 00:05.0";
            EXPECT_EQ(cpu.read32(ecam(0, 1, 3, 0x00)), 0xFFFFFFFFu) << "no function 3 of device 1";
            EXPECT_EQ(cpu.read32(ecam(1, 0, 0, 0x00)), 0xFFFFFFFFu) << "bus 1 is empty";
            EXPECT_EQ(cpu.read32(ecam(15, 31, 7, 0xFFC)), 0xFFFFFFFFu) << "last DWORD of the window";
            uint64_t word = 0;
            ASSERT_EQ(cpu.read(ecam(0, 0, 0, 0x00), word, 2), tlm::TLM_OK_RESPONSE);
            EXPECT_EQ(word, 0x1b36u);
            ASSERT_EQ(cpu.read(ecam(0, 0, 0, 0x00), word, 8), tlm::TLM_OK_RESPONSE);
            EXPECT_EQ(word & 0xFFFFFFFFu, 0x00081b36u) << "a 64-bit read is two DWORD requests";
            // Writes to absent functions vanish.
            env->cfg_write(ecam(0, 5, 0, 0x04), 0x6, 2);
            EXPECT_EQ(cpu.read32(ecam(0, 5, 0, 0x00)), 0xFFFFFFFFu);
        },
        {vp::pcie_bdf(0, 1, 0)});
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
    EXPECT_GE(e.rc.counters().ecam_absent, 5u);
}

TEST(PcieShell, BarSizingAssignmentAndMmioRoutedToTheBar) {
    Env *env = nullptr;
    Env e(
        [&](TestInitiator &cpu) {
            Env &x = *env;
            x.cfg_write(ecam(0, 2, 0, 0x10), 0xFFFFFFFF);
            EXPECT_EQ(cpu.read32(ecam(0, 2, 0, 0x10)), 0xFFFFF000u)
                << "4 KiB, 32-bit, non-prefetchable memory";
            EXPECT_EQ(cpu.read32(ecam(0, 2, 0, 0x14)), 0u) << "BAR1 not implemented";
            x.setup(2, 0x10200000, kCmdMemory);
            EXPECT_EQ(cpu.read32(ecam(0, 2, 0, 0x10)), 0x10200000u);
            x.mmio_write(0x10200008, 0xCAFEF00D);
            const TestDevice &d = x.endpoints[1]->device; // 00:02.0
            EXPECT_EQ(d.bar_writes, 1u);
            EXPECT_EQ(d.last_offset, 0x8u);
            EXPECT_EQ(d.regs[2], 0xCAFEF00Du);
            EXPECT_EQ(cpu.read32(0x10200008), 0xCAFEF00Du) << "read back through the window";
            EXPECT_EQ(d.bar_reads, 1u);
            EXPECT_EQ(cpu.read32(0x10200100), 0xFFFFFFFFu) << "the device refuses: UR reads all-ones";
            EXPECT_EQ(cpu.read32(0x10300000), 0xFFFFFFFFu) << "no BAR there";
            EXPECT_EQ(cpu.read32(0x101FF000), 0xFFFFFFFFu) << "the other endpoint has no BAR assigned";
        },
        {vp::pcie_bdf(0, 1, 0), vp::pcie_bdf(0, 2, 0)});
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
    EXPECT_EQ(e.endpoints[1]->device.bar_writes, 1u);
    EXPECT_EQ(e.endpoints[0]->device.bar_writes + e.endpoints[0]->device.bar_reads, 0u);
    EXPECT_EQ(e.rc.counters().mmio_unclaimed, 2u);
    EXPECT_EQ(e.rc.counters().mmio_ur, 1u);
}

TEST(PcieShell, MemorySpaceOffIsNotDecoded) {
    Env *env = nullptr;
    Env e(
        [&](TestInitiator &cpu) {
            Env &x = *env;
            x.setup(1, 0x10000000, 0);
            x.endpoints[0]->device.regs[0] = 0x12345678;
            EXPECT_EQ(cpu.read32(0x10000000), 0xFFFFFFFFu) << "Memory Space off";
            x.mmio_write(0x10000000, 1);
            x.cfg_write(ecam(0, 1, 0, 0x04), kCmdMemory, 2);
            EXPECT_EQ(cpu.read32(0x10000000), 0x12345678u) << "Memory Space on";
        },
        {vp::pcie_bdf(0, 1, 0)});
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
    EXPECT_EQ(e.endpoints[0]->device.bar_writes, 0u);
    EXPECT_EQ(e.endpoints[0]->device.bar_reads, 1u);
}

TEST(PcieShell, BusMasterOffMeansNoDma) {
    Env *env = nullptr;
    Env e(
        [&](TestInitiator &) {
            Env &x = *env;
            pcie_ep *ep = x.endpoints[0]->shell.ep();
            uint8_t buffer[16];
            const pcie_ep_access a = dma_read(0x40001000, buffer, sizeof buffer);
            uint32_t tag = 0;
            EXPECT_EQ(pcie_ep_dma(ep, &a, &tag), PCIE_EP_DENIED);
            sc_core::wait(1, sc_core::SC_US);
            EXPECT_TRUE(x.smmu.seen.empty());
            x.cfg_write(ecam(0, 1, 0, 0x04), kCmdBusMaster, 2);
            EXPECT_EQ(pcie_ep_dma(ep, &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
            sc_core::wait(1, sc_core::SC_US);
            ASSERT_EQ(x.smmu.seen.size(), 1u);
            EXPECT_EQ(x.smmu.seen[0].addr, 0x40001000u);
            EXPECT_EQ(x.smmu.seen[0].attr.stream_id, 0x0008u) << "identity map: StreamID = RID 00:01.0";
            EXPECT_EQ(buffer[0], 0xA5);
            ASSERT_EQ(x.endpoints[0]->device.done.size(), 1u);
            EXPECT_EQ(x.endpoints[0]->device.done[0].status, PCIE_EP_CPL_SC);
        },
        {vp::pcie_bdf(0, 1, 0)});
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
}

TEST(PcieShell, RidToStreamIdMapAndUnmappedRidIsUr) {
    Env *env = nullptr;
    // 00:01.0..00:01.7 (RIDs 0x08..0x0f) -> StreamIDs 0x100..0x107; 00:02.0 has no StreamID.
    Env e(
        [&](TestInitiator &) {
            Env &x = *env;
            x.setup(1, 0, kCmdBusMaster);
            x.setup(2, 0, kCmdBusMaster);
            uint8_t b1[8], b2[8];
            uint32_t tag = 0;
            const pcie_ep_access a1 = dma_read(0x40002000, b1, 8), a2 = dma_read(0x40003000, b2, 8);
            ASSERT_EQ(pcie_ep_dma(x.endpoints[0]->shell.ep(), &a1, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
            ASSERT_EQ(pcie_ep_dma(x.endpoints[1]->shell.ep(), &a2, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
            sc_core::wait(1, sc_core::SC_US);
            ASSERT_EQ(x.smmu.seen.size(), 1u) << "the unmapped RID never reaches the SMMU";
            EXPECT_EQ(x.smmu.seen[0].attr.stream_id, 0x100u);
            EXPECT_EQ(x.smmu.seen[0].attr.requester_id, 0x0008u);
            ASSERT_EQ(x.endpoints[1]->device.done.size(), 1u);
            EXPECT_EQ(x.endpoints[1]->device.done[0].status, PCIE_EP_CPL_UR);
            EXPECT_EQ(x.endpoints[0]->device.done[0].status, PCIE_EP_CPL_SC);
        },
        {vp::pcie_bdf(0, 1, 0), vp::pcie_bdf(0, 2, 0)}, {{0x08, 8, 0x100}});
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
    EXPECT_EQ(e.rc.counters().unmapped_rid_requests, 1u);
    EXPECT_EQ(e.endpoints[1]->shell.counters().completions_ur, 1u);
    uint32_t sid = 0;
    uint16_t rid = 0;
    EXPECT_TRUE(e.rc.stream_id_of(0x0F, sid));
    EXPECT_EQ(sid, 0x107u);
    EXPECT_TRUE(e.rc.rid_of(0x103, rid));
    EXPECT_EQ(rid, 0x0Bu);
    EXPECT_FALSE(e.rc.rid_of(0x108, rid));
}

TEST(PcieShell, MessagesBothWaysThroughTheMap) {
    Env *env = nullptr;
    Env e(
        [&](TestInitiator &) {
            Env &x = *env;
            pcie_ep *ep = x.endpoints[0]->shell.ep();
            x.setup(3, 0, kCmdBusMaster);
            x.cfg_write(ecam(0, 3, 0, PCIE_EP_ECAP_PRI + 0x0C), 8); // Outstanding Page Request Allocation
            x.cfg_write(ecam(0, 3, 0, PCIE_EP_ECAP_PRI + 0x04), 0x1, 2);    // PRI Enable
            x.cfg_write(ecam(0, 3, 0, PCIE_EP_ECAP_ATS + 0x06), 0x8000, 2); // ATS Enable
            pcie_ep_access a{};
            a.addr = 0x7000;
            a.write = true;
            const sc_time requested = sc_core::sc_time_stamp();
            ASSERT_TRUE(pcie_ep_page_request(ep, &a, 0x21, true));
            sc_core::wait(1, sc_core::SC_US);
            ASSERT_EQ(x.smmu.seen.size(), 1u);
            const FakeSmmu::Seen &pr = x.smmu.seen[0];
            EXPECT_EQ(pr.attr.kind, TxnKind::PageRequest);
            EXPECT_EQ(pr.attr.stream_id, 0x218u) << "RID 0x18 (00:03.0) -> 0x200 + 0x18";
            EXPECT_EQ(pr.addr, 0x7000u);
            EXPECT_EQ(pr.attr.prg_index, 0x21u);
            EXPECT_TRUE(pr.attr.last && pr.attr.write);

            // PRG Response down, routed by the inverse map.
            TxnAttr resp;
            resp.kind = TxnKind::PrgResponse;
            resp.stream_id = 0x218;
            resp.prg_index = 0x21;
            const sc_time sent = sc_core::sc_time_stamp();
            EXPECT_EQ(x.smmu.send(resp, 0), tlm::TLM_OK_RESPONSE);
            sc_core::wait(1, sc_core::SC_US);
            ASSERT_EQ(x.endpoints[0]->device.prg_responses.size(), 1u);
            EXPECT_EQ(x.endpoints[0]->device.prg_responses[0].first, 0x21u);
            EXPECT_EQ(x.endpoints[0]->device.prg_responses[0].second, sent + kRc + kLink)
                << "delivered at its annotated time";
            // The group's response time as the function sees it: from its (last) Page Request to the
            // response.
            const vp::Histogram &pri = x.endpoints[0]->shell.pri_response_time();
            EXPECT_EQ(pri.count(), 1u);
            EXPECT_EQ(pri.min(),
                      static_cast<uint64_t>((sent + kRc + kLink - requested).to_seconds() * 1e12 + 0.5));
            EXPECT_EQ(pri.max(), pri.min());

            // ATS Invalidate Request down, Invalidation Completion up.
            TxnAttr inv;
            inv.kind = TxnKind::AtsInvalidationRequest;
            inv.stream_id = 0x218;
            inv.inv_size = 4096;
            inv.itag = 5;
            EXPECT_EQ(x.smmu.send(inv, 0x7000), tlm::TLM_OK_RESPONSE);
            sc_core::wait(1, sc_core::SC_US);
            ASSERT_EQ(x.smmu.seen.size(), 2u);
            EXPECT_EQ(x.smmu.seen[1].attr.kind, TxnKind::AtsInvalidationCompletion);
            EXPECT_EQ(x.smmu.seen[1].attr.stream_id, 0x218u);
            EXPECT_EQ(x.smmu.seen[1].attr.itag_vector, 1u << 5);

            // A StreamID no endpoint maps to is dropped; the SMMU hears it was undeliverable.
            inv.stream_id = 0x219;
            EXPECT_EQ(x.smmu.send(inv, 0x7000), tlm::TLM_ADDRESS_ERROR_RESPONSE) << "RID 0x19: no endpoint";
            inv.stream_id = 0x18;
            EXPECT_EQ(x.smmu.send(inv, 0x7000), tlm::TLM_ADDRESS_ERROR_RESPONSE) << "outside the map";
        },
        {vp::pcie_bdf(0, 3, 0)}, {{0x00, 0x100, 0x200}});
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
    EXPECT_EQ(e.rc.counters().downstream_messages, 2u);
    EXPECT_EQ(e.rc.counters().downstream_dropped, 2u);
    EXPECT_EQ(e.rc.counters().upstream_messages, 2u);
}

TEST(PcieShell, InvalidationsBeyondTheQueueDepthAreHeldAndRetried) {
    Env *env = nullptr;
    Env e(
        [&](TestInitiator &) {
            Env &x = *env;
            x.cfg_write(ecam(0, 1, 0, PCIE_EP_ECAP_ATS + 0x06), 0x8000, 2);
            TxnAttr inv;
            inv.kind = TxnKind::AtsInvalidationRequest;
            inv.stream_id = 0x08;
            inv.inv_size = 4096;
            for (uint8_t itag = 0; itag < 3; ++itag) {
                inv.itag = itag;
                EXPECT_EQ(x.smmu.send(inv, 0x1000 * itag), tlm::TLM_OK_RESPONSE);
            }
            sc_core::wait(10, sc_core::SC_US);
            ASSERT_EQ(x.smmu.seen.size(), 3u) << "every invalidation completes, one at a time (depth 1)";
            for (unsigned i = 0; i < 3; ++i)
                EXPECT_EQ(x.smmu.seen[i].attr.itag_vector, 1u << i);
            EXPECT_LT(x.smmu.seen[0].at, x.smmu.seen[1].at);
            EXPECT_LT(x.smmu.seen[1].at, x.smmu.seen[2].at);
        },
        {vp::pcie_bdf(0, 1, 0)}, {}, {}, 100000 /* 100 ns per invalidation */);
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
    EXPECT_EQ(e.endpoints[0]->shell.counters().invalidations_held, 2u);
    EXPECT_EQ(e.endpoints[0]->shell.counters().invalidations_dropped, 0u);
}

TEST(PcieShell, IntxSwizzle) {
    Env *env = nullptr;
    Env e(
        [&](TestInitiator &) {
            Env &x = *env;
            pcie_ep *dev2 = x.endpoints[0]->shell.ep(); // 00:02.0 INTA -> (2 + 0) % 4 = INTC
            pcie_ep *dev3 = x.endpoints[1]->shell.ep(); // 00:03.0 INTB -> (3 + 1) % 4 = INTA
            pcie_ep *dev6 = x.endpoints[2]->shell.ep(); // 00:06.0 INTA -> (6 + 0) % 4 = INTC (shared)
            pcie_ep_set_intx(dev2, true);
            sc_core::wait(1, sc_core::SC_US);
            EXPECT_TRUE(x.intx[2].read());
            EXPECT_FALSE(x.intx[0].read() || x.intx[1].read() || x.intx[3].read());
            pcie_ep_set_intx(dev3, true);
            pcie_ep_set_intx(dev6, true);
            sc_core::wait(1, sc_core::SC_US);
            EXPECT_TRUE(x.intx[0].read());
            pcie_ep_set_intx(dev2, false);
            sc_core::wait(1, sc_core::SC_US);
            EXPECT_TRUE(x.intx[2].read()) << "wired-OR: 00:06.0 still asserts INTC";
            pcie_ep_set_intx(dev6, false);
            pcie_ep_set_intx(dev3, false);
            sc_core::wait(1, sc_core::SC_US);
            EXPECT_FALSE(x.intx[0].read() || x.intx[1].read() || x.intx[2].read() || x.intx[3].read());
        },
        {vp::pcie_bdf(0, 2, 0), vp::pcie_bdf(0, 3, 0), vp::pcie_bdf(0, 6, 0)}, {}, {1, 2, 1});
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
    EXPECT_EQ(e.rc.counters().intx_assert, 3u);
    EXPECT_EQ(e.rc.counters().intx_deassert, 3u);
}

TEST(PcieShell, PerHopLatencyIsVisibleInArrivalTimes) {
    Env *env = nullptr;
    Env e(
        [&](TestInitiator &cpu) {
            Env &x = *env;
            // ECAM: RC, link, link, RC for an endpoint; RC both ways for the host bridge. A read to an
            // endpoint waits in the function for its arrival time, so the time it took is what passed during
            // the call plus what it annotated.
            sc_time start = sc_core::sc_time_stamp();
            sc_time before = cpu.annotated_delay();
            cpu.read32(ecam(0, 1, 0, 0));
            EXPECT_EQ(sc_core::sc_time_stamp() - start + cpu.annotated_delay() - before, 2 * kRc + 2 * kLink);
            sc_core::wait(cpu.annotated_delay() - before);
            start = sc_core::sc_time_stamp();
            before = cpu.annotated_delay();
            cpu.read32(ecam(0, 0, 0, 0));
            EXPECT_EQ(sc_core::sc_time_stamp() - start + cpu.annotated_delay() - before, 2 * kRc);
            sc_core::wait(cpu.annotated_delay() - before);

            x.setup(1, 0, kCmdBusMaster);
            uint8_t buffer[8];
            const pcie_ep_access a = dma_read(0x40004000, buffer, 8);
            uint32_t tag = 0;
            const sc_time issued = sc_core::sc_time_stamp();
            ASSERT_EQ(pcie_ep_dma(x.endpoints[0]->shell.ep(), &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED);
            sc_core::wait(1, sc_core::SC_US);
            ASSERT_EQ(x.smmu.seen.size(), 1u);
            EXPECT_EQ(x.smmu.seen[0].at, issued + kLink + kRc) << "link, then the RC";
            ASSERT_EQ(x.endpoints[0]->device.done.size(), 1u);
            EXPECT_EQ(x.endpoints[0]->device.done[0].at, issued + 2 * (kLink + kRc) + kSmmu)
                << "the completion comes back through the RC and the link";

            // A translation request, then a translated request through the ATC.
            x.cfg_write(ecam(0, 1, 0, PCIE_EP_ECAP_ATS + 0x06), 0x8000, 2);
            pcie_ep_access t = dma_read(0x40005000, buffer, 8);
            EXPECT_EQ(pcie_ep_dma(x.endpoints[0]->shell.ep(), &t, &tag), PCIE_EP_ATC_MISS);
            ASSERT_EQ(pcie_ep_translate(x.endpoints[0]->shell.ep(), &t, &tag), PCIE_EP_ISSUED_UNTRANSLATED)
                << "the translation request went out";
            sc_core::wait(1, sc_core::SC_US);
            ASSERT_EQ(x.smmu.seen.size(), 2u);
            EXPECT_EQ(x.smmu.seen[1].attr.at, vp::PcieAt::TranslationRequest);
            EXPECT_TRUE(x.smmu.seen[1].attr.no_write) << "asked for a read";
            EXPECT_EQ(x.endpoints[0]->device.translations, 1u);
            // The round trip the function saw: link and RC up, the SMMU's 5 ns, RC and link down: 65 ns.
            const vp::Histogram &ats = x.endpoints[0]->shell.ats_round_trip();
            EXPECT_EQ(ats.count(), 1u);
            EXPECT_EQ(ats.min(), 65000u);
            EXPECT_EQ(ats.buckets()[16], 1u) << "65000 ps lies in [2^15, 2^16)";
            EXPECT_EQ(pcie_ep_dma(x.endpoints[0]->shell.ep(), &t, &tag), PCIE_EP_ISSUED_TRANSLATED);
            sc_core::wait(1, sc_core::SC_US);
            ASSERT_EQ(x.smmu.seen.size(), 3u);
            EXPECT_EQ(x.smmu.seen[2].attr.at, vp::PcieAt::Translated);
            EXPECT_EQ(x.smmu.seen[2].addr, 0xC0005000u) << "the address from the translation completion";
        },
        {vp::pcie_bdf(0, 1, 0)});
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
}

TEST(PcieShell, AttachRefusesTheHostBridgeBdfOtherBusesAndDuplicates) {
    PcieRootComplex rc("rc");
    PcieEndpoint at_host_bridge("a", 0x0000, test_function());
    PcieEndpoint on_bus_1("b", vp::pcie_bdf(1, 0, 0), test_function());
    PcieEndpoint first("c", vp::pcie_bdf(0, 4, 0), test_function());
    PcieEndpoint second("d", vp::pcie_bdf(0, 4, 0), test_function());
    EXPECT_THROW(rc.attach(at_host_bridge), std::invalid_argument);
    EXPECT_THROW(rc.attach(on_bus_1), std::invalid_argument);
    rc.attach(first);
    EXPECT_THROW(rc.attach(second), std::invalid_argument);
    PcieRootComplex::Params overlapping;
    overlapping.rid_map = {{0x00, 0x10, 0x100}, {0x08, 0x10, 0x200}};
    EXPECT_THROW(PcieRootComplex("rc2", overlapping), std::invalid_argument);
    PcieEndpoint::Params no_lanes;
    no_lanes.lanes = 0;
    EXPECT_THROW(PcieEndpoint("e", vp::pcie_bdf(0, 5, 0), test_function(), no_lanes), std::invalid_argument);
    EXPECT_EQ(vp::pcie_bdf_text(vp::pcie_bdf(0, 0x1f, 7)), "00:1f.7");
}

#ifdef VP_HAVE_PCIE_DEV
namespace {

// The root complex with endpoints created by personality name, as the platform makes them.
struct PersonalityEnv {
    vp::Router router{"router"};
    PcieRootComplex rc;
    FakeSmmu smmu{"smmu"};
    TestInitiator cpu;
    sc_core::sc_signal<bool> intx[4] = {sc_core::sc_signal<bool>("inta"), sc_core::sc_signal<bool>("intb"),
                                        sc_core::sc_signal<bool>("intc"), sc_core::sc_signal<bool>("intd")};
    PcieEndpoint edu{"edu", vp::pcie_bdf(0, 1, 0), "edu", {}};
    PcieEndpoint engine{"engine", vp::pcie_bdf(0, 2, 0), "testengine", {{"stop_marker", "1"}}};

    explicit PersonalityEnv(TestInitiator::Body body)
        : rc("rc", Env::params({})), cpu("cpu", std::move(body)) {
        router.add_target(rc.ecam_socket, kEcam, PcieRootComplex::kEcamSize, "ecam");
        router.add_target(rc.mmio_socket, kMmio, kMmioSize, "pcie_mmio");
        cpu.socket.bind(router.target_socket);
        rc.smmu_socket.bind(smmu.upstream);
        smmu.messages.bind(rc.message_socket);
        for (unsigned i = 0; i < 4; ++i)
            rc.intx[i].bind(intx[i]);
        rc.attach(edu);
        rc.attach(engine);
    }
    void write(uint64_t addr, uint64_t value, unsigned len = 4) {
        const sc_time before = cpu.annotated_delay();
        ASSERT_EQ(cpu.write(addr, value, len), tlm::TLM_OK_RESPONSE);
        sc_core::wait(cpu.annotated_delay() - before + kLink);
    }
};

} // namespace

TEST(PcieShell, EduAndTestEngineByNameAnswerEcamAndEduDmaGoesThroughTheRc) {
    PersonalityEnv *env = nullptr;
    PersonalityEnv e([&](TestInitiator &cpu) {
        PersonalityEnv &x = *env;
        EXPECT_EQ(cpu.read32(ecam(0, 1, 0, 0)), 0x11e81234u) << "edu: vendor 0x1234, device 0x11e8";
        EXPECT_EQ(cpu.read32(ecam(0, 2, 0, 0)), 0xff8013b5u)
            << "SMMUv3 Test Engine: vendor 0x13b5, device 0xff80";
        x.write(ecam(0, 1, 0, 0x10), 0xFFFFFFFF);
        EXPECT_EQ(cpu.read32(ecam(0, 1, 0, 0x10)), 0xFFF00000u) << "edu BAR0: 1 MiB";
        x.write(ecam(0, 1, 0, 0x10), 0x10000000);
        x.write(ecam(0, 1, 0, 0x04), kCmdMemory | kCmdBusMaster, 2);
        EXPECT_EQ(cpu.read32(0x10000000), 0x010000edu) << "edu identification register through the window";
        x.write(0x10000004, 0x0F0F0F0F);
        EXPECT_EQ(cpu.read32(0x10000004), 0xF0F0F0F0u) << "liveness: the inverse";
        // Back to back, with no wait: the read must not pass the posted write before it.
        ASSERT_EQ(cpu.write(0x10000004, 0x5A5AA5A5, 4), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.read32(0x10000004), 0xA5A55A5Au) << "a read passed the posted write before it";
        ASSERT_EQ(cpu.write(ecam(0, 1, 0, 0x3C), 0x0B, 1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.read32(ecam(0, 1, 0, 0x3C)) & 0xFF, 0x0Bu) << "a config read passed the config write";

        // DMA RAM -> edu buffer, with the completion interrupt (INTx: MSI is off).
        // RAM-side addresses stay below 2^28: edu's default DMA mask.
        x.write(0x10000080, 0x0123000);
        x.write(0x10000088, 0x40000);
        x.write(0x10000090, 16);
        x.write(0x10000098, 0x1 | 0x4);
        sc_core::wait(10, sc_core::SC_US);
        ASSERT_FALSE(x.smmu.seen.empty());
        EXPECT_EQ(x.smmu.seen[0].addr, 0x0123000u);
        EXPECT_FALSE(x.smmu.seen[0].write);
        EXPECT_EQ(x.smmu.seen[0].attr.stream_id, 0x08u) << "StreamID = RID of 00:01.0";
        EXPECT_EQ(cpu.read32(0x10000024), 0x100u) << "DMA interrupt status";
        EXPECT_TRUE(x.intx[1].read()) << "edu INTA at device 1 swizzles to INTB";
        x.write(0x10000064, 0x100);
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_FALSE(x.intx[1].read());

        // And back: edu buffer -> RAM carries the bytes the SMMU side returned.
        const size_t before = x.smmu.seen.size();
        x.write(0x10000080, 0x40000);
        x.write(0x10000088, 0x0456000);
        x.write(0x10000090, 8);
        x.write(0x10000098, 0x1 | 0x2);
        sc_core::wait(10, sc_core::SC_US);
        ASSERT_EQ(x.smmu.seen.size(), before + 1);
        EXPECT_TRUE(x.smmu.seen.back().write);
        EXPECT_EQ(x.smmu.seen.back().addr, 0x0456000u);
        EXPECT_EQ(x.smmu.seen.back().data, 0xA5A5A5A5A5A5A5A5u);
    });
    env = &e;
    sc_core::sc_start();
    ASSERT_TRUE(e.cpu.finished());
    EXPECT_EQ(e.rc.counters().intx_assert, 1u);
    EXPECT_EQ(e.rc.counters().intx_deassert, 1u);
}

TEST(PcieShell, UnknownPersonalityOrParameterIsRefusedWithTheReason) {
    try {
        PcieEndpoint bad("bad", vp::pcie_bdf(0, 1, 0), "no-such-device", {});
        FAIL() << "created";
    } catch (const std::invalid_argument &error) {
        EXPECT_NE(std::string(error.what()).find("no-such-device"), std::string::npos) << error.what();
    }
    EXPECT_THROW(PcieEndpoint("bad2", vp::pcie_bdf(0, 2, 0), "testengine", {{"no_such_key", "1"}}),
                 std::invalid_argument);
}
#endif
