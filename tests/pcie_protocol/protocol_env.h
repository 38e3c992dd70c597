// End-to-end PCIe protocol harness: the real SMMU (vp::Smmuv3), RAM, a GICv2 with its v2m frame and a Router,
// the real root complex and real endpoints (Test Engines at 00:02.0 with stop_marker=1 and 00:03.0 with
// stop_marker=0, edu at 00:01.0, and optionally a bare function core at 00:04.0 driven by the test). No CPU:
// the test body runs in a thread that programs the SMMU through its register socket, builds stream tables,
// CDs and page tables in RAM, configures the endpoints through ECAM and drives them through their BARs.
//
// A LinkMonitor sits on both directions between the root complex and the SMMU (requests and messages going
// up, ATS Invalidate Requests and PRG Responses coming down) and records every transaction with its TxnAttr
// and its simulated times, so the tests check what crossed the link, not only the final state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "endpoint.h"
#include "gicv2.h"
#include "memory.h"
#include "root_complex.h"
#include "router.h"
#include "smmu_regs.h"
#include "smmu_structs.h"
#include "smmuv3.h"
#include "testengine.h"
#include "txn_attr.h"

namespace pp {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

// The virt memory map (platforms/virt).
constexpr uint64_t kGicdBase = 0x08000000, kGiccBase = 0x08010000, kV2mBase = 0x08020000;
constexpr uint64_t kSmmuBase = 0x09050000;
constexpr uint64_t kEcam = 0x3f000000;
constexpr uint64_t kMmio = 0x10000000, kMmioSize = 0x2eff0000;
constexpr uint64_t kRamBase = 0x40000000, kRamSize = 64u << 20;
// The GICv2m frame's SETSPI_NS register and the first INTID it raises (SPI 48, as on QEMU virt).
constexpr uint64_t kV2mSetSpi = kV2mBase + 0x040;
constexpr unsigned kV2mFirstIntid = 32 + 48;

// SMMU structures in RAM.
constexpr uint64_t kCmdq = kRamBase + 0x20000;
constexpr unsigned kCmdqLog2 = 8;
constexpr uint64_t kEvtq = kRamBase + 0x30000;
constexpr unsigned kEvtqLog2 = 6;
constexpr uint64_t kPriq = kRamBase + 0x40000;
constexpr uint64_t kStrtab = kRamBase + 0x100000; // linear, 1024 STEs: StreamIDs 0..0x3ff
constexpr unsigned kStrtabLog2 = 10;
constexpr uint64_t kCdArea = kRamBase + 0x200000;    // 4 KiB of CDs (64 SubstreamIDs) per stream, by slot
constexpr uint64_t kTableArea = kRamBase + 0x600000; // after the CDs of StreamIDs 0..0x3ff
// Data the engines move: physical pages from here.
constexpr uint64_t kDataArea = kRamBase + 0x1000000;
// A small slow memory (latency Options::slow_latency) where a read stays in flight long enough for an ATS
// invalidation to overtake it, while the SMMU's own structures stay in fast RAM.
constexpr uint64_t kSlowBase = 0x60000000, kSlowSize = 1u << 20;

// BDFs and BAR assignments.
constexpr uint16_t kEdu = vp::pcie_bdf(0, 1, 0);
constexpr uint16_t kTe2 = vp::pcie_bdf(0, 2, 0); // stop_marker=1
constexpr uint16_t kTe3 = vp::pcie_bdf(0, 3, 0); // stop_marker=0
constexpr uint16_t kBare = vp::pcie_bdf(0, 4, 0);
constexpr uint64_t kTe2Bar0 = 0x10000000, kTe2Bar2 = 0x10100000, kTe2Bar3 = 0x10101000;
constexpr uint64_t kTe3Bar0 = 0x10200000, kTe3Bar2 = 0x10300000, kTe3Bar3 = 0x10301000;
constexpr uint64_t kBareBar0 = 0x10400000;

// PCI configuration space offsets (literal, from the PCI/PCIe specifications).
constexpr uint32_t kCfgId = 0x00, kCfgCommand = 0x04, kCfgClassRev = 0x08, kCfgBar0 = 0x10, kCfgCapPtr = 0x34;
constexpr uint16_t kCmdMemory = 0x0002, kCmdBusMaster = 0x0004;
constexpr uint32_t kCapPcie = 0x40, kCapMsi = 0x80, kCapMsix = 0x90;
constexpr uint32_t kEcapAts = 0x100, kEcapPri = 0x110, kEcapPasid = 0x120;
constexpr uint16_t kAtsEnable = 0x8000;
constexpr uint16_t kPriEnable = 0x0001, kPriReset = 0x0002;
constexpr uint16_t kPriStatusRf = 0x0001, kPriStatusUprgi = 0x0002, kPriStatusStopped = 0x0100;
constexpr uint16_t kPasidEnable = 0x0001;

inline uint64_t ecam(uint16_t bdf, uint32_t reg) {
    return kEcam + (uint64_t{bdf} << 12 | reg);
}
inline uint32_t sid_of(uint16_t bdf) {
    return bdf; // identity RID map unless a test sets one
}

// ---------------------------------------------------------------------------------------------------------------
// What crossed the link between the root complex and the SMMU.

struct LinkRecord {
    enum Dir { Up, Down } dir;
    vp::TxnAttr attr;  // as it left the sender
    vp::TxnAttr reply; // after the receiver returned (an ATS Translation Completion is in reply.ats)
    uint64_t addr = 0;
    bool write = false;
    unsigned len = 0;
    uint64_t data = 0; // first bytes of a write (an MSI's data)
    sc_time at;        // arrival: kernel time + annotated delay on entry
    sc_time done;      // the answer's time: kernel time + annotated delay on return
    tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;

    bool is(vp::TxnKind k) const { return attr.kind == k; }
    bool translation_request() const {
        return attr.kind == vp::TxnKind::Memory && attr.at == vp::PcieAt::TranslationRequest;
    }
    bool translated() const { return attr.kind == vp::TxnKind::Memory && attr.at == vp::PcieAt::Translated; }
    bool untranslated() const {
        return attr.kind == vp::TxnKind::Memory && attr.at == vp::PcieAt::Untranslated;
    }
    bool stop_marker() const {
        return attr.kind == vp::TxnKind::PageRequest && attr.last && !attr.read && !attr.write && attr.ssv;
    }
};

class LinkMonitor : public sc_core::sc_module {
  public:
    // Root complex -> SMMU upstream.
    tlm_utils::simple_target_socket<LinkMonitor> up_in;
    tlm_utils::simple_initiator_socket<LinkMonitor> up_out;
    // SMMU message_socket -> root complex.
    tlm_utils::simple_target_socket<LinkMonitor> down_in;
    tlm_utils::simple_initiator_socket<LinkMonitor> down_out;

    std::vector<LinkRecord> log;

    explicit LinkMonitor(sc_core::sc_module_name name)
        : sc_module(name), up_in("up_in"), up_out("up_out"), down_in("down_in"), down_out("down_out") {
        up_in.register_b_transport(this, &LinkMonitor::up_b_transport);
        down_in.register_b_transport(this, &LinkMonitor::down_b_transport);
    }

    std::vector<LinkRecord> select(const std::function<bool(const LinkRecord &)> &keep) const {
        std::vector<LinkRecord> out;
        for (const LinkRecord &r : log)
            if (keep(r))
                out.push_back(r);
        return out;
    }
    std::vector<LinkRecord> up(vp::TxnKind kind) const {
        return select([kind](const LinkRecord &r) { return r.dir == LinkRecord::Up && r.attr.kind == kind; });
    }
    std::vector<LinkRecord> down(vp::TxnKind kind) const {
        return select(
            [kind](const LinkRecord &r) { return r.dir == LinkRecord::Down && r.attr.kind == kind; });
    }
    std::vector<LinkRecord> translation_requests(uint32_t sid) const {
        return select([sid](const LinkRecord &r) {
            return r.dir == LinkRecord::Up && r.translation_request() && r.attr.stream_id == sid;
        });
    }
    std::vector<LinkRecord> memory(uint32_t sid, vp::PcieAt at) const {
        return select([sid, at](const LinkRecord &r) {
            return r.dir == LinkRecord::Up && r.attr.kind == vp::TxnKind::Memory && r.attr.at == at &&
                   r.attr.stream_id == sid;
        });
    }
    void clear() { log.clear(); }

  private:
    void pass(LinkRecord::Dir dir, tlm_utils::simple_initiator_socket<LinkMonitor> &out,
              tlm::tlm_generic_payload &gp, sc_time &delay) {
        LinkRecord r;
        r.dir = dir;
        if (const vp::TxnAttr *a = vp::TxnAttr::of(gp))
            r.attr = *a;
        r.addr = gp.get_address();
        r.write = gp.is_write();
        r.len = gp.get_data_length();
        if (r.write && gp.get_data_ptr())
            std::memcpy(&r.data, gp.get_data_ptr(), std::min<unsigned>(8, r.len));
        r.at = sc_core::sc_time_stamp() + delay;
        const size_t index = log.size();
        log.push_back(r);
        out->b_transport(gp, delay); // may wait: a later record can land before this one returns
        LinkRecord &done = log[index];
        if (const vp::TxnAttr *a = vp::TxnAttr::of(gp))
            done.reply = *a;
        done.status = gp.get_response_status();
        done.done = sc_core::sc_time_stamp() + delay;
    }
    void up_b_transport(tlm::tlm_generic_payload &gp, sc_time &delay) {
        pass(LinkRecord::Up, up_out, gp, delay);
    }
    void down_b_transport(tlm::tlm_generic_payload &gp, sc_time &delay) {
        pass(LinkRecord::Down, down_out, gp, delay);
    }
};

// Counts rising edges of an interrupt line.
class EdgeCounter : public sc_core::sc_module {
  public:
    sc_core::sc_in<bool> in;
    unsigned rising = 0;
    sc_time last_rise;
    SC_HAS_PROCESS(EdgeCounter);
    explicit EdgeCounter(sc_core::sc_module_name name) : sc_module(name), in("in") {
        SC_METHOD(changed);
        sensitive << in;
        dont_initialize();
    }

  private:
    void changed() {
        if (in.read()) {
            ++rising;
            last_rise = sc_core::sc_time_stamp();
        }
    }
};

// A loosely timed initiator that synchronises before each access (as the platform's CPU does before device
// accesses): each access waits for its annotated delay before the next one starts.
class HostPort : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<HostPort> socket;
    std::function<void()> body;
    bool finished = false;
    sc_time last_latency; // the most recent access, from its start to its end (waits inside included)

    SC_HAS_PROCESS(HostPort);
    explicit HostPort(sc_core::sc_module_name name) : sc_module(name), socket("socket") { SC_THREAD(run); }

    tlm::tlm_response_status access(bool write, uint64_t addr, uint64_t &value, unsigned len) {
        uint8_t bytes[8] = {};
        for (unsigned i = 0; i < len; ++i)
            bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        tlm::tlm_generic_payload gp;
        gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        gp.set_address(addr);
        gp.set_data_ptr(bytes);
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        const sc_time start = sc_core::sc_time_stamp();
        sc_time delay = sc_core::SC_ZERO_TIME;
        socket->b_transport(gp, delay);
        sc_core::wait(delay);
        last_latency = sc_core::sc_time_stamp() - start;
        value = 0;
        for (unsigned i = 0; i < len; ++i)
            value |= uint64_t{bytes[i]} << (8 * i);
        return gp.get_response_status();
    }
    uint64_t read(uint64_t addr, unsigned len = 4) {
        uint64_t value = 0;
        EXPECT_EQ(access(false, addr, value, len), tlm::TLM_OK_RESPONSE) << "read at 0x" << std::hex << addr;
        return value;
    }
    void write(uint64_t addr, uint64_t value, unsigned len = 4) {
        EXPECT_EQ(access(true, addr, value, len), tlm::TLM_OK_RESPONSE) << "write at 0x" << std::hex << addr;
    }

  private:
    void run() {
        if (body)
            body();
        finished = true;
        sc_core::sc_stop();
    }
};

// ---------------------------------------------------------------------------------------------------------------
// A bare function core at 00:04.0 whose DMA the test issues itself (exact control over what is in flight).

struct BareDevice {
    struct Done {
        uint32_t tag;
        pcie_ep_cpl_status status;
        sc_time at;
    };
    struct Translation {
        uint32_t tag;
        pcie_ep_ats_cpl cpl;
        bool cached;
        sc_time at;
    };
    std::vector<Done> done;
    std::vector<Translation> translations;
    std::vector<std::pair<uint16_t, uint8_t>> prg_responses;
    std::vector<sc_time> prg_response_times;

    static void mem_done(void *dev, uint32_t tag, pcie_ep_cpl_status status) {
        static_cast<BareDevice *>(dev)->done.push_back({tag, status, sc_core::sc_time_stamp()});
    }
    static void translation_done(void *dev, uint32_t tag, const pcie_ep_ats_cpl *cpl, bool cached) {
        static_cast<BareDevice *>(dev)->translations.push_back({tag, *cpl, cached, sc_core::sc_time_stamp()});
    }
    static void prg_response(void *dev, uint16_t index, uint8_t code) {
        static_cast<BareDevice *>(dev)->prg_responses.push_back({index, code});
        static_cast<BareDevice *>(dev)->prg_response_times.push_back(sc_core::sc_time_stamp());
    }
    bool completed(uint32_t tag) const {
        return std::any_of(done.begin(), done.end(), [tag](const Done &d) { return d.tag == tag; });
    }
    const Done *completion(uint32_t tag) const {
        for (auto it = done.rbegin(); it != done.rend(); ++it)
            if (it->tag == tag)
                return &*it;
        return nullptr;
    }
};

inline pcie_ep_params bare_function() {
    pcie_ep_params p{};
    p.vendor_id = 0x1234;
    p.device_id = 0xBEEF;
    p.class_code = 0xFF0000;
    p.bar_size[0] = 0x1000;
    p.ats = true;
    p.inv_queue_depth = 4;
    p.global_inv = true;
    p.atc_sets = 16;
    p.atc_ways = 4;
    p.pri = true;
    p.pri_capacity = 16;
    p.prg_resp_pasid_required = true;
    p.pasid = true;
    p.pasid_width = 20;
    p.exec_supported = true;
    p.priv_supported = true;
    p.stop_marker = true;
    return p;
}

// ---------------------------------------------------------------------------------------------------------------

struct Options {
    sc_time rc_latency = sc_time(10, SC_NS);
    sc_time link_latency = sc_time(20, SC_NS);
    sc_time ram_latency = sc_time(20, SC_NS);
    sc_time slow_latency = sc_time(2, SC_US);
    std::vector<vp::PcieRidRange> rid_map;
    vp::PcieEndpoint::DeviceParams te2_params, te3_params; // added to the defaults below
    bool bare = false;
    pcie_ep_params bare_params = bare_function();
    unsigned priq_log2 = 6;
    std::function<void(vp::Smmuv3::Params &)> smmu_tweak;
};

class Env {
  public:
    Options opt;
    vp::Router router{"router"};
    vp::Memory ram;
    vp::Memory slow;
    vp::GicV2 gic{"gic"};
    vp::Smmuv3 smmu;
    vp::PcieRootComplex rc;
    LinkMonitor link{"link"};
    HostPort host{"host"};
    std::unique_ptr<vp::PcieEndpoint> edu, te2, te3, bare;
    BareDevice bare_device;
    sc_core::sc_signal<bool> gic_irq{"gic_irq"};
    sc_core::sc_signal<bool> evtq_line{"evtq_line"}, priq_line{"priq_line"}, sync_line{"sync_line"},
        gerror_line{"gerror_line"};
    sc_core::sc_signal<bool> intx[4];
    EdgeCounter evtq_edges{"evtq_edges"}, priq_edges{"priq_edges"}, gerror_edges{"gerror_edges"};

    uint32_t cmdq_prod = 0;
    uint32_t evtq_cons = 0;
    uint32_t priq_cons = 0;
    uint64_t next_table = kTableArea;

    static vp::Smmuv3::Params smmu_params(const Options &o) {
        vp::Smmuv3::Params p = vp::Smmuv3::default_params();
        if (o.smmu_tweak)
            o.smmu_tweak(p);
        return p;
    }
    static vp::PcieRootComplex::Params rc_params(const Options &o) {
        vp::PcieRootComplex::Params p;
        p.rc_latency = o.rc_latency;
        p.link_latency = o.link_latency;
        p.rid_map = o.rid_map;
        return p;
    }
    static vp::PcieEndpoint::DeviceParams with(vp::PcieEndpoint::DeviceParams base,
                                               const vp::PcieEndpoint::DeviceParams &extra) {
        for (const auto &kv : extra) {
            auto it =
                std::find_if(base.begin(), base.end(), [&kv](const auto &b) { return b.first == kv.first; });
            if (it != base.end())
                it->second = kv.second;
            else
                base.push_back(kv);
        }
        return base;
    }

    explicit Env(const Options &o = Options())
        : opt(o), ram("ram", kRamSize, o.ram_latency), slow("slow", kSlowSize, o.slow_latency),
          smmu("smmu", smmu_params(o)), rc("rc", rc_params(o)) {
        router.add_target(ram.socket, kRamBase, kRamSize, "ram");
        router.add_target(slow.socket, kSlowBase, kSlowSize, "slow");
        router.add_target(gic.dist_socket, kGicdBase, 0x10000, "gicd");
        router.add_target(gic.cpu_socket, kGiccBase, 0x10000, "gicc");
        router.add_target(gic.v2m_socket, kV2mBase, 0x1000, "gicv2m");
        router.add_target(smmu.reg_socket, kSmmuBase, SMMU_REG_SPACE_SIZE, "smmu");
        router.add_target(rc.ecam_socket, kEcam, vp::PcieRootComplex::kEcamSize, "ecam");
        router.add_target(rc.mmio_socket, kMmio, kMmioSize, "pcie_mmio");
        host.socket.bind(router.target_socket);
        smmu.downstream_socket.bind(router.target_socket);
        smmu.own_access_socket.bind(router.target_socket);
        // The taps: both directions between the root complex and the SMMU.
        rc.smmu_socket.bind(link.up_in);
        link.up_out.bind(smmu.upstream_socket);
        smmu.message_socket.bind(link.down_in);
        link.down_out.bind(rc.message_socket);
        gic.irq_out.bind(gic_irq);
        smmu.evtq_irq.bind(evtq_line);
        smmu.priq_irq.bind(priq_line);
        smmu.cmd_sync_irq.bind(sync_line);
        smmu.gerror_irq.bind(gerror_line);
        evtq_edges.in.bind(evtq_line);
        priq_edges.in.bind(priq_line);
        gerror_edges.in.bind(gerror_line);
        for (unsigned i = 0; i < 4; ++i)
            rc.intx[i].bind(intx[i]);

        edu =
            std::make_unique<vp::PcieEndpoint>("pcie_00_01_0", kEdu, "edu", vp::PcieEndpoint::DeviceParams{});
        // A launch every nanosecond, 8 in flight, 64-byte transactions: the personality's defaults.
        te2 = std::make_unique<vp::PcieEndpoint>("pcie_00_02_0", kTe2, "testengine",
                                                 with({{"stop_marker", "1"}}, o.te2_params));
        te3 = std::make_unique<vp::PcieEndpoint>("pcie_00_03_0", kTe3, "testengine",
                                                 with({{"stop_marker", "0"}}, o.te3_params));
        rc.attach(*edu);
        rc.attach(*te2);
        rc.attach(*te3);
        if (o.bare) {
            bare = std::make_unique<vp::PcieEndpoint>("pcie_00_04_0", kBare, o.bare_params);
            static const pcie_ep_device_ops ops = {nullptr,
                                                   nullptr,
                                                   &BareDevice::mem_done,
                                                   &BareDevice::translation_done,
                                                   &BareDevice::prg_response,
                                                   nullptr};
            pcie_ep_set_device(bare->ep(), &ops, &bare_device);
            rc.attach(*bare);
        }
    }

    // Runs BODY in the host thread until it returns.
    void run(std::function<void()> body) {
        host.body = std::move(body);
        sc_core::sc_start();
        ASSERT_TRUE(host.finished) << "the test body did not run to its end";
    }

    sc_time rc_link() const { return opt.rc_latency + opt.link_latency; }

    // ---- RAM backdoor ----
    uint8_t *at(uint64_t pa) { return ram.data() + (pa - kRamBase); }
    void put64(uint64_t pa, uint64_t v) {
        for (unsigned i = 0; i < 8; ++i)
            at(pa)[i] = static_cast<uint8_t>(v >> (8 * i));
    }
    uint64_t get64(uint64_t pa) {
        uint64_t v = 0;
        for (unsigned i = 0; i < 8; ++i)
            v |= uint64_t{at(pa)[i]} << (8 * i);
        return v;
    }

    // ---- SMMU registers ----
    uint32_t reg32(uint64_t off) { return static_cast<uint32_t>(host.read(kSmmuBase + off)); }
    void set32(uint64_t off, uint32_t v) { host.write(kSmmuBase + off, v); }
    void set64(uint64_t off, uint64_t v) { host.write(kSmmuBase + off, v, 8); }
    void wait_ack(uint64_t off, uint32_t expected) {
        for (int i = 0; i < 1000 && reg32(off) != expected; ++i)
            sc_core::wait(10, SC_NS);
        ASSERT_EQ(reg32(off), expected) << "ack register 0x" << std::hex << off;
    }

    // CR2 takes writes only while SMMUEN is clear.
    void set_cr2(uint32_t value) {
        const uint32_t cr0 = reg32(SMMU_CR0);
        set32(SMMU_CR0, cr0 & ~static_cast<uint32_t>(SMMU_CR0_SMMUEN));
        wait_ack(SMMU_CR0ACK, cr0 & ~static_cast<uint32_t>(SMMU_CR0_SMMUEN));
        set32(SMMU_CR2, value);
        set32(SMMU_CR0, cr0);
        wait_ack(SMMU_CR0ACK, cr0);
    }

    // Queues, stream table and interrupts; SMMUEN set. CR2 as given (e.g. REC_CFG_ATS).
    void smmu_enable(uint32_t cr2 = 0, bool priq = true) {
        std::memset(at(kStrtab), 0, size_t{SMMU_STE_SIZE} << kStrtabLog2);
        set64(SMMU_STRTAB_BASE, kStrtab);
        set32(SMMU_STRTAB_BASE_CFG,
              static_cast<uint32_t>(SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, kStrtabLog2)));
        set64(SMMU_CMDQ_BASE, kCmdq | kCmdqLog2);
        set32(SMMU_CMDQ_PROD, 0);
        set32(SMMU_CMDQ_CONS, 0);
        set64(SMMU_EVENTQ_BASE, kEvtq | kEvtqLog2);
        set32(SMMU_EVENTQ_PROD, 0);
        set32(SMMU_EVENTQ_CONS, 0);
        set64(SMMU_PRIQ_BASE, kPriq | opt.priq_log2);
        set32(SMMU_PRIQ_PROD, 0);
        set32(SMMU_PRIQ_CONS, 0);
        set32(SMMU_CR2, cr2);
        const uint32_t irqs =
            SMMU_IRQ_CTRL_EVENTQ_IRQEN | SMMU_IRQ_CTRL_GERROR_IRQEN | SMMU_IRQ_CTRL_PRIQ_IRQEN;
        set32(SMMU_IRQ_CTRL, irqs);
        wait_ack(SMMU_IRQ_CTRLACK, irqs);
        uint32_t cr0 = SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | (priq ? SMMU_CR0_PRIQEN : 0);
        set32(SMMU_CR0, cr0);
        wait_ack(SMMU_CR0ACK, cr0);
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE),
                SMMU_FIELD_PREP(SMMU_CMD1_RANGE, SMMU_CFGI_RANGE_ALL));
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
        sync();
        cr0 |= SMMU_CR0_SMMUEN;
        set32(SMMU_CR0, cr0);
        wait_ack(SMMU_CR0ACK, cr0);
    }

    // Puts one command in the queue and publishes it, without waiting for it.
    void submit(uint64_t dw0, uint64_t dw1) {
        const uint32_t entries = 1u << kCmdqLog2;
        const uint64_t slot = kCmdq + (cmdq_prod & (entries - 1)) * SMMU_CMD_SIZE;
        put64(slot, dw0);
        put64(slot + 8, dw1);
        cmdq_prod = (cmdq_prod + 1) & ((entries << 1) - 1);
        set32(SMMU_CMDQ_PROD, cmdq_prod);
    }
    // Polls CMDQ_CONS until the SMMU consumed everything (or LIMIT passes); true if it did.
    bool wait_consumed(sc_time limit = sc_time(100, SC_US)) {
        const sc_time end = sc_core::sc_time_stamp() + limit;
        while ((reg32(SMMU_CMDQ_CONS) & SMMU_Q_PTR_MASK) != cmdq_prod) {
            if (sc_core::sc_time_stamp() >= end)
                return false;
            sc_core::wait(20, SC_NS);
        }
        return true;
    }
    void command(uint64_t dw0, uint64_t dw1) {
        submit(dw0, dw1);
        EXPECT_TRUE(wait_consumed()) << "command 0x" << std::hex << dw0 << " consumed";
        EXPECT_EQ(reg32(SMMU_CMDQ_CONS), cmdq_prod) << "no command error";
    }
    static uint64_t sync_cmd() { return SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC); }
    void sync() { command(sync_cmd(), 0); }
    void cfgi_ste(uint32_t sid) {
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid),
                SMMU_CMD1_LEAF);
        sync();
    }
    void tlbi_all() {
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
        sync();
    }
    // CMD_ATC_INV: Size is log2 of the span in 4 KiB pages (52: everything).
    static uint64_t atc_inv0(uint32_t sid, bool ssv = false, uint32_t ssid = 0, bool global = false) {
        return SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_ATC_INV) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid) |
               (ssv ? SMMU_CMD0_SSV | SMMU_FIELD_PREP(SMMU_CMD0_SSID, ssid) : 0) |
               (global ? SMMU_CMD0_ATC_GLOBAL : 0);
    }
    static uint64_t atc_inv1(uint64_t addr, unsigned size) {
        return (addr & SMMU_CMD1_ADDR) | SMMU_FIELD_PREP(SMMU_CMD1_ATC_SIZE, size);
    }
    // CMD_PRI_RESP: resp 0 Response Failure, 1 Invalid Request, 2 Success (IHI0070 4.7.1).
    void pri_resp(uint32_t sid, bool ssv, uint32_t ssid, uint16_t grpid, unsigned resp) {
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_PRI_RESP) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid) |
                    (ssv ? SMMU_CMD0_SSV | SMMU_FIELD_PREP(SMMU_CMD0_SSID, ssid) : 0),
                SMMU_FIELD_PREP(SMMU_CMD1_PRI_PRGIDX, grpid) | SMMU_FIELD_PREP(SMMU_CMD1_PRI_RESP, resp));
        sync();
    }

    // ---- tables (4 KiB granule, 48-bit VA) ----
    uint64_t new_table() {
        const uint64_t t = next_table;
        next_table += 0x1000;
        std::memset(at(t), 0, 0x1000);
        return t;
    }
    // Leaf bits: AP[2:1] = 01 (read-write at EL0 and EL1), SH inner, AF, AttrIndx 0.
    static constexpr uint64_t kRw = uint64_t{1} << 6;
    static constexpr uint64_t kRo = uint64_t{3} << 6;
    void map(uint64_t &root, uint64_t va, uint64_t pa, uint64_t ap = kRw) {
        if (!root)
            root = new_table();
        uint64_t table = root;
        for (int level = 0; level < 3; ++level) {
            const uint64_t slot = table + ((va >> (39 - 9 * level)) & 0x1FF) * 8;
            if (!(get64(slot) & 1))
                put64(slot, new_table() | 3);
            table = get64(slot) & 0x0000FFFFFFFFF000;
        }
        put64(table + ((va >> 12) & 0x1FF) * 8, (pa & 0x0000FFFFFFFFF000) | 3 | (1u << 10) | (3u << 8) | ap);
    }
    void map_range(uint64_t &root, uint64_t va, uint64_t pa, uint64_t bytes, uint64_t ap = kRw) {
        for (uint64_t off = 0; off < bytes; off += 0x1000)
            map(root, va + off, pa + off, ap);
    }
    void unmap(uint64_t root, uint64_t va) {
        uint64_t table = root;
        for (int level = 0; level < 3; ++level) {
            const uint64_t slot = table + ((va >> (39 - 9 * level)) & 0x1FF) * 8;
            if (!(get64(slot) & 1))
                return;
            table = get64(slot) & 0x0000FFFFFFFFF000;
        }
        put64(table + ((va >> 12) & 0x1FF) * 8, 0);
    }

    // The CD table of a stream: 64 CDs (SubstreamIDs 0..63) at its own 4 KiB.
    static uint64_t cd_table(uint32_t sid) { return kCdArea + (sid & 0x3FF) * 0x1000; }
    void cd(uint32_t sid, uint32_t ssid, uint64_t root, uint16_t asid) {
        const uint64_t c = cd_table(sid) + ssid * SMMU_CD_SIZE;
        std::memset(at(c), 0, SMMU_CD_SIZE);
        put64(c + 8, root & SMMU_CD1_TTB0);
        put64(c + 24, 0xFF); // MAIR attr 0: Normal write-back
        put64(c, SMMU_FIELD_PREP(SMMU_CD0_T0SZ, 16) | SMMU_FIELD_PREP(SMMU_CD0_TG0, SMMU_TG0_4K) |
                     SMMU_FIELD_PREP(SMMU_CD0_IR0, 1) | SMMU_FIELD_PREP(SMMU_CD0_OR0, 1) |
                     SMMU_FIELD_PREP(SMMU_CD0_SH0, 3) | SMMU_CD0_EPD1 | SMMU_CD0_V |
                     SMMU_FIELD_PREP(SMMU_CD0_IPS, 5) | SMMU_CD0_AA64 | SMMU_CD0_R | SMMU_CD0_A |
                     SMMU_CD0_ASET | SMMU_FIELD_PREP(SMMU_CD0_ASID, asid));
    }
    // Stage-1 STE with a linear CD table of 64 CDs; traffic without a PASID uses CD 0 (S1DSS = 0b10).
    // eats: STE.EATS (1 = ATS enabled). ppar: PRG Responses carry the PASID.
    void ste_s1(uint32_t sid, unsigned eats = 1, bool ppar = true) {
        const uint64_t ste = kStrtab + uint64_t{sid} * SMMU_STE_SIZE;
        std::memset(at(ste), 0, SMMU_STE_SIZE);
        put64(ste + 8, SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING) |
                           SMMU_FIELD_PREP(SMMU_STE1_S1DSS, SMMU_STE_S1DSS_SSID0) |
                           SMMU_FIELD_PREP(SMMU_STE1_EATS, eats) | (ppar ? SMMU_STE1_PPAR : 0));
        put64(ste, SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S1) |
                       (cd_table(sid) & SMMU_STE0_S1CTXPTR) | SMMU_FIELD_PREP(SMMU_STE0_S1CDMAX, 6));
    }
    void ste_bypass(uint32_t sid) {
        const uint64_t ste = kStrtab + uint64_t{sid} * SMMU_STE_SIZE;
        std::memset(at(ste), 0, SMMU_STE_SIZE);
        put64(ste + 8, SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING));
        put64(ste, SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_BYPASS));
    }
    void ste_invalid(uint32_t sid) {
        std::memset(at(kStrtab + uint64_t{sid} * SMMU_STE_SIZE), 0, SMMU_STE_SIZE);
    }
    // One address space for stream SID: CD 0 (and CD `ssid` when given) over ROOT.
    uint64_t s1_stream(uint32_t sid, unsigned eats = 1, std::vector<uint32_t> pasids = {}) {
        uint64_t root = new_table();
        cd(sid, 0, root, static_cast<uint16_t>(sid));
        for (uint32_t p : pasids)
            cd(sid, p, root, static_cast<uint16_t>(sid + p * 0x100));
        ste_s1(sid, eats);
        cfgi_ste(sid);
        return root;
    }

    // ---- event and PRI queues ----
    uint32_t evtq_prod() { return reg32(SMMU_EVENTQ_PROD) & SMMU_Q_PTR_MASK; }
    unsigned events_pending() {
        const uint32_t mask = (2u << kEvtqLog2) - 1;
        return ((evtq_prod() & mask) - (evtq_cons & mask)) & mask;
    }
    uint64_t event_dword(unsigned index, unsigned dword) {
        return get64(kEvtq + (index & ((1u << kEvtqLog2) - 1)) * SMMU_EVT_SIZE + dword * 8);
    }
    struct Event {
        uint8_t id;
        uint32_t sid;
        bool ssv;
        uint32_t ssid;
        uint64_t input_addr;
        bool rnw;
    };
    std::vector<Event> take_events() {
        std::vector<Event> out;
        const uint32_t prod = evtq_prod();
        while (evtq_cons != prod) {
            const uint64_t d0 = event_dword(evtq_cons, 0), d1 = event_dword(evtq_cons, 1);
            out.push_back({static_cast<uint8_t>(SMMU_FIELD_GET(SMMU_EVT0_ID, d0)),
                           static_cast<uint32_t>(SMMU_FIELD_GET(SMMU_EVT0_SID, d0)),
                           (d0 & SMMU_EVT0_SSV) != 0,
                           static_cast<uint32_t>(SMMU_FIELD_GET(SMMU_EVT0_SSID, d0)),
                           event_dword(evtq_cons, 2), (d1 & SMMU_EVT1_RNW) != 0});
            evtq_cons = (evtq_cons + 1) & ((2u << kEvtqLog2) - 1);
        }
        set32(SMMU_EVENTQ_CONS, evtq_cons);
        return out;
    }
    struct PriEntry {
        uint32_t sid;
        bool ssv;
        uint32_t ssid;
        bool read, write, exec, priv, last;
        uint16_t grpid;
        uint64_t addr;
    };
    uint32_t priq_prod() { return reg32(SMMU_PRIQ_PROD); }
    std::vector<PriEntry> take_pri(bool consume = true) {
        std::vector<PriEntry> out;
        const uint32_t mask = (2u << opt.priq_log2) - 1;
        const uint32_t prod = priq_prod() & mask;
        uint32_t cons = priq_cons & mask;
        while (cons != prod) {
            const uint64_t e = kPriq + (cons & ((1u << opt.priq_log2) - 1)) * SMMU_PRI_SIZE;
            const uint64_t d0 = get64(e), d1 = get64(e + 8);
            out.push_back(
                {static_cast<uint32_t>(SMMU_FIELD_GET(SMMU_PRI0_SID, d0)), (d0 & SMMU_PRI0_SSV) != 0,
                 static_cast<uint32_t>(SMMU_FIELD_GET(SMMU_PRI0_SSID, d0)), (d0 & SMMU_PRI0_PERM_READ) != 0,
                 (d0 & SMMU_PRI0_PERM_WRITE) != 0, (d0 & SMMU_PRI0_PERM_EXEC) != 0,
                 (d0 & SMMU_PRI0_PERM_PRIV) != 0, (d0 & SMMU_PRI0_LAST) != 0,
                 static_cast<uint16_t>(SMMU_FIELD_GET(SMMU_PRI1_GRPID, d1)), d1 & SMMU_PRI1_ADDR});
            cons = (cons + 1) & mask;
        }
        if (consume) {
            priq_cons = (priq_cons & SMMU_Q_CONS_OVACKFLG) | cons;
            set32(SMMU_PRIQ_CONS, priq_cons);
        }
        return out;
    }
    // Waits until the PRI queue holds at least N unconsumed entries (or LIMIT passes).
    bool wait_pri(unsigned n, sc_time limit = sc_time(200, SC_US)) {
        const uint32_t mask = (2u << opt.priq_log2) - 1;
        const sc_time end = sc_core::sc_time_stamp() + limit;
        while ((((priq_prod() & mask) - (priq_cons & mask)) & mask) < n) {
            if (sc_core::sc_time_stamp() >= end)
                return false;
            sc_core::wait(50, SC_NS);
        }
        return true;
    }

    // ---- PCIe configuration through ECAM ----
    uint32_t cfg_read(uint16_t bdf, uint32_t reg, unsigned len = 4) {
        return static_cast<uint32_t>(host.read(ecam(bdf, reg), len));
    }
    void cfg_write(uint16_t bdf, uint32_t reg, uint32_t value, unsigned len = 4) {
        host.write(ecam(bdf, reg), value, len);
    }
    // Posted MMIO write: it reaches the function a link crossing after the root complex took it.
    void mmio_write(uint64_t addr, uint64_t value, unsigned len = 4) {
        host.write(addr, value, len);
        sc_core::wait(opt.link_latency);
    }
    uint64_t mmio_read(uint64_t addr, unsigned len = 4) { return host.read(addr, len); }

    // A Test Engine: BARs assigned, Memory Space and Bus Master on, the capabilities enabled as asked (PASID
    // before ATS, STU = 0 for the SMMU's 4 KiB granule), the MSI-X table's vector 0 unmasked.
    struct TeSetup {
        bool ats = false, pri = false, pasid = false;
        uint32_t pri_allocation = 64;
    };
    static uint64_t bar0_of(uint16_t bdf) { return bdf == kTe2 ? kTe2Bar0 : kTe3Bar0; }
    static uint64_t bar2_of(uint16_t bdf) { return bdf == kTe2 ? kTe2Bar2 : kTe3Bar2; }
    static uint64_t bar3_of(uint16_t bdf) { return bdf == kTe2 ? kTe2Bar3 : kTe3Bar3; }
    void te_enable(uint16_t bdf, const TeSetup &s) {
        cfg_write(bdf, kCfgBar0, static_cast<uint32_t>(bar0_of(bdf)));
        cfg_write(bdf, kCfgBar0 + 4, 0);
        cfg_write(bdf, kCfgBar0 + 8, static_cast<uint32_t>(bar2_of(bdf)));
        cfg_write(bdf, kCfgBar0 + 12, static_cast<uint32_t>(bar3_of(bdf)));
        cfg_write(bdf, kCfgCommand, kCmdMemory | kCmdBusMaster, 2);
        if (s.pasid)
            cfg_write(bdf, kEcapPasid + 6, kPasidEnable | 0x6, 2);
        if (s.pri) {
            cfg_write(bdf, kEcapPri + 0x0C, s.pri_allocation);
            cfg_write(bdf, kEcapPri + 4, kPriEnable, 2);
        }
        if (s.ats)
            cfg_write(bdf, kEcapAts + 6, kAtsEnable, 2);
    }
    // Frame 0 registers.
    void te_user(uint16_t bdf, unsigned reg, uint64_t value, unsigned len = 4) {
        mmio_write(bar0_of(bdf) + reg, value, len);
    }
    void te_priv(uint16_t bdf, unsigned reg, uint64_t value, unsigned len = 4) {
        mmio_write(bar0_of(bdf) + TESTENGINE_PRIV_PAGE + reg, value, len);
    }
    uint64_t te_read(uint16_t bdf, unsigned reg, unsigned len = 4) {
        return mmio_read(bar0_of(bdf) + reg, len);
    }
    uint64_t te_priv_read(uint16_t bdf, unsigned reg, unsigned len = 4) {
        return mmio_read(bar0_of(bdf) + TESTENGINE_PRIV_PAGE + reg, len);
    }
    struct TeCommand {
        uint32_t cmd = TE_ENGINE_MEMCPY;
        uint64_t begin = 0, end_incl = 0, dest = 0;
        uint64_t stride = 1;
        uint32_t seed = 0;
        uint32_t pasid = 0xFFFFFFFF;
        bool ats = false, pri = false;
        bool msi = false;
        uint32_t msi_vector = 0;
    };
    // Programs frame 0 and writes cmd; does not wait.
    void te_start(uint16_t bdf, const TeCommand &c) {
        te_priv(bdf, TE_SUBSTREAMID, c.pasid);
        te_priv(bdf, TE_PCTRL,
                TE_PCTRL_SSD_NS | (c.ats ? TE_PCTRL_ATS_ENABLE : 0) | (c.pri ? TE_PCTRL_PRI_ENABLE : 0));
        te_user(bdf, TE_BEGIN, c.begin, 8);
        te_user(bdf, TE_END_INCL, c.end_incl, 8);
        te_user(bdf, TE_STRIDE, c.stride, 8);
        te_user(bdf, TE_SEED, c.seed);
        te_user(bdf, TE_UDATA, c.dest, 8);
        te_user(bdf, TE_MSIADDRESS, c.msi ? 1 : 0, 8);
        te_user(bdf, TE_MSIDATA, c.msi_vector);
        te_user(bdf, TE_CMD, c.cmd);
    }
    static bool te_running(uint32_t cmd) {
        return cmd == TE_ENGINE_MEMCPY || cmd == TE_ENGINE_RAND48 || cmd == TE_ENGINE_SUM64;
    }
    // Polls cmd until the command ended; returns the final state (or the running one after LIMIT).
    uint32_t te_wait(uint16_t bdf, sc_time limit = sc_time(2000, SC_US)) {
        const sc_time end = sc_core::sc_time_stamp() + limit;
        uint32_t cmd = static_cast<uint32_t>(te_read(bdf, TE_CMD));
        while (te_running(cmd) && sc_core::sc_time_stamp() < end) {
            sc_core::wait(100, SC_NS);
            cmd = static_cast<uint32_t>(te_read(bdf, TE_CMD));
        }
        return cmd;
    }
    uint32_t te_run(uint16_t bdf, const TeCommand &c) {
        te_start(bdf, c);
        return te_wait(bdf);
    }

    // The bare function at 00:04.0: BAR0, Memory Space and Bus Master, PASID/ATS/PRI as asked.
    void bare_enable(bool ats, bool pri, uint32_t allocation = 16) {
        cfg_write(kBare, kCfgBar0, static_cast<uint32_t>(kBareBar0));
        cfg_write(kBare, kCfgCommand, kCmdMemory | kCmdBusMaster, 2);
        cfg_write(kBare, kEcapPasid + 6, kPasidEnable | 0x6, 2);
        if (pri) {
            cfg_write(kBare, kEcapPri + 0x0C, allocation);
            cfg_write(kBare, kEcapPri + 4, kPriEnable, 2);
        }
        if (ats)
            cfg_write(kBare, kEcapAts + 6, kAtsEnable, 2);
    }
    // Waits until the bare device heard about TAG (a completion), at most LIMIT.
    bool bare_wait_done(uint32_t tag, sc_time limit = sc_time(50, SC_US)) {
        const sc_time end = sc_core::sc_time_stamp() + limit;
        while (!bare_device.completed(tag) && sc_core::sc_time_stamp() < end)
            sc_core::wait(5, SC_NS);
        return bare_device.completed(tag);
    }
    bool bare_wait_translations(size_t n, sc_time limit = sc_time(50, SC_US)) {
        const sc_time end = sc_core::sc_time_stamp() + limit;
        while (bare_device.translations.size() < n && sc_core::sc_time_stamp() < end)
            sc_core::wait(5, SC_NS);
        return bare_device.translations.size() >= n;
    }

    // A counter of an endpoint's statistics by name (link.* of the shell, then the personality's).
    static uint64_t stat(const vp::PcieEndpoint &ep, const std::string &name) {
        uint64_t value = UINT64_MAX;
        ep.stats([&](const std::string &n, uint64_t v) {
            if (n == name)
                value = v;
        });
        EXPECT_NE(value, UINT64_MAX) << "no statistic " << name;
        return value;
    }
    uint64_t smmu_stat(const std::string &name) const {
        uint64_t value = UINT64_MAX;
        smmu.stats([&](const std::string &n, uint64_t v) {
            if (n == name)
                value = v;
        });
        EXPECT_NE(value, UINT64_MAX) << "no SMMU statistic " << name;
        return value;
    }
};

// ---- reference computations (testengine.md), independent of the model ----

inline std::vector<uint8_t> rand48_reference(uint32_t seed, uint64_t begin, uint64_t end_incl) {
    std::vector<uint8_t> out;
    uint64_t s = 0;
    auto step = [](uint64_t x) { return (x * 0x5DEECE66Dull + 0xB) & ((uint64_t{1} << 48) - 1); };
    for (uint64_t a = begin; a <= end_incl; ++a) {
        if (a == begin || (a & 0xFFF) == 0) {
            const uint32_t s32 =
                seed ^ static_cast<uint32_t>(a >> 32) ^ static_cast<uint32_t>(a & 0xFFFFFFFF);
            s = uint64_t{s32} << 16 | 0x330E;
        }
        s = step(s);
        uint32_t v = static_cast<uint32_t>(s >> 17) & 0x7FFFFFFF;
        s = step(s);
        v |= static_cast<uint32_t>(s) & 0x80000000u;
        out.push_back(static_cast<uint8_t>(v));
    }
    return out;
}

} // namespace pp
