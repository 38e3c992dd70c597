// vp::PcieRootComplex: the PCIe root complex of the virt platform (QEMU virt's generic host bridge, "gpex",
// as far as software can tell): the ECAM window, the 32-bit MMIO window routed to the endpoints' BARs, a host
// bridge at 00:00.0, the RID-to-StreamID map in front of the SMMU, PCIe messages both ways and the four INTx
// lines. Endpoints (vp::PcieEndpoint) attach by BDF on bus 0; there are no bridges.
#ifndef VP_PCIE_ROOT_COMPLEX_H
#define VP_PCIE_ROOT_COMPLEX_H

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "pcie_ep.h"
#include "stats.h"
#include "timed.h"
#include "trace.h"
#include "txn_attr.h"

namespace vp {

class PcieEndpoint;

// One range of the RID-to-StreamID map, as an IORT ID mapping: RIDs rid_base .. rid_base + count - 1 become
// StreamIDs sid_base .. sid_base + count - 1.
struct PcieRidRange {
    uint32_t rid_base = 0;
    uint32_t count = 0;
    uint32_t sid_base = 0;
};

// "BB:DD.F" (hex) of a Requester ID.
std::string pcie_bdf_text(uint16_t bdf);
constexpr uint16_t pcie_bdf(unsigned bus, unsigned dev, unsigned fn) {
    return static_cast<uint16_t>((bus & 0xFF) << 8 | (dev & 0x1F) << 3 | (fn & 7));
}

struct PcieRootComplexParams {
    // Bus address of the first byte of mmio_socket (QEMU virt maps CPU and PCI addresses 1:1).
    uint64_t mmio_base = 0x10000000;
    // The RC's own time per crossing (each way), and the time on the link to an endpoint (each way).
    sc_core::sc_time rc_latency = sc_core::sc_time(10, sc_core::SC_NS);
    sc_core::sc_time link_latency = sc_core::sc_time(20, sc_core::SC_NS);
    // Empty: the StreamID is the RID. Otherwise RIDs outside every range have no StreamID.
    std::vector<PcieRidRange> rid_map;
};

class PcieRootComplex : public sc_core::sc_module {
  public:
    static constexpr uint64_t kEcamSize = 16u << 20; // buses 0..15
    static constexpr unsigned kIntxLines = 4;        // INTA..INTD after the swizzle
    // The host bridge (QEMU's gpex root: Red Hat vendor, "PCIe host bridge", class host bridge).
    static constexpr uint16_t kHostBridgeVendor = 0x1b36, kHostBridgeDevice = 0x0008;
    static constexpr uint32_t kHostBridgeClass = 0x060000;

    using Params = PcieRootComplexParams;

    // ECAM: offsets into the 16 MiB window (bus << 20 | dev << 15 | fn << 12 | reg).
    tlm_utils::simple_target_socket<PcieRootComplex> ecam_socket;
    // MMIO window: offsets from Params::mmio_base.
    tlm_utils::simple_target_socket<PcieRootComplex> mmio_socket;
    // Toward the SMMU's upstream socket: endpoint requests and messages with their StreamID.
    tlm_utils::simple_initiator_socket<PcieRootComplex> smmu_socket;
    // From the SMMU's message_socket: ATS Invalidate Requests and PRG Responses for an endpoint.
    tlm_utils::simple_target_socket<PcieRootComplex> message_socket;
    // The links (bound by attach()): requests and messages from the endpoints, and config / MMIO / messages
    // toward them.
    tlm_utils::multi_passthrough_target_socket<PcieRootComplex, 32, tlm::tlm_base_protocol_types, 0,
                                               sc_core::SC_ZERO_OR_MORE_BOUND>
        link_up_socket;
    tlm_utils::multi_passthrough_initiator_socket<PcieRootComplex, 32, tlm::tlm_base_protocol_types, 0,
                                                  sc_core::SC_ZERO_OR_MORE_BOUND>
        link_down_socket;
    // Level INTx outputs INTA..INTD (QEMU virt: SPIs 3..6).
    sc_core::sc_vector<sc_core::sc_out<bool>> intx;

    SC_HAS_PROCESS(PcieRootComplex);
    // Throws std::invalid_argument for an impossible RID map (empty or overlapping ranges, a range beyond RID
    // 0xFFFF or StreamID 0xFFFFFFFF).
    PcieRootComplex(sc_core::sc_module_name name, const Params &params = Params());
    ~PcieRootComplex() override;
    PcieRootComplex(const PcieRootComplex &) = delete;
    PcieRootComplex &operator=(const PcieRootComplex &) = delete;

    // Connects an endpoint at its BDF (during elaboration). Throws std::invalid_argument for 00:00.0 (the
    // host bridge), a bus other than 0, or a BDF already taken.
    void attach(PcieEndpoint &endpoint);

    // The StreamID of a RID, or false when the map has none; and the inverse.
    bool stream_id_of(uint16_t rid, uint32_t &sid) const;
    bool rid_of(uint32_t sid, uint16_t &rid) const;

    pcie_ep *host_bridge() { return host_bridge_; }

    // Text trace (docs/trace.md): messages routed each way (or dropped), requests refused for want of a
    // StreamID and INTx line changes, as lines of component NAME (the platform uses "pcie.rc"). nullptr
    // turns it off.
    void set_trace(Trace *trace, const std::string &name = "pcie.rc") {
        trace_ = trace;
        trace_name_ = name;
    }

    struct Counters {
        uint64_t ecam_reads = 0, ecam_writes = 0;
        uint64_t ecam_absent = 0; // accesses to functions that do not exist (all-ones / dropped)
        uint64_t ecam_errors = 0; // bad size or alignment: answered with an error
        uint64_t mmio_reads = 0, mmio_writes = 0;
        uint64_t mmio_unclaimed = 0;                // no BAR decodes the address: all-ones / dropped
        uint64_t mmio_ur = 0;                       // the function refused the access: all-ones / dropped
        uint64_t upstream_requests = 0;             // memory requests forwarded to the SMMU
        uint64_t upstream_translation_requests = 0; // of which ATS Translation Requests
        uint64_t upstream_errors = 0;               // of which answered with an error by the SMMU side
        uint64_t upstream_messages = 0;             // Page Requests / Invalidation Completions forwarded
        uint64_t unmapped_rid_requests = 0;         // answered UR without reaching the SMMU
        uint64_t unmapped_rid_messages = 0;         // dropped
        uint64_t bad_upstream = 0;                  // missing TxnAttr or a kind an endpoint must not send
        uint64_t downstream_messages = 0;           // from the SMMU, delivered to an endpoint
        uint64_t downstream_dropped = 0;            // no endpoint has that StreamID
        uint64_t intx_assert = 0, intx_deassert = 0;
    };
    const Counters &counters() const { return counters_; }
    void stats(const std::function<void(const std::string &name, uint64_t value)> &cb) const;
    // Registers stats() as `PREFIX.name` counters (PREFIX: the module name when empty).
    void register_stats(Stats &stats, const std::string &prefix = "") const;

  private:
    void ecam_b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    unsigned ecam_transport_dbg(tlm::tlm_generic_payload &gp);
    void mmio_b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    unsigned mmio_transport_dbg(tlm::tlm_generic_payload &gp);
    void message_b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    void link_up_b_transport(int port, tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);

    // A configuration access of 1, 2 or 4 bytes to BDF; false: the function does not exist.
    bool config_read(uint16_t bdf, uint32_t reg, unsigned size, uint32_t &value, sc_core::sc_time &delay,
                     bool debug);
    bool config_write(uint16_t bdf, uint32_t reg, unsigned size, uint32_t value, sc_core::sc_time &delay);
    int port_of_bdf(uint16_t bdf) const;
    int claiming_port(uint64_t bus_addr, unsigned size) const;
    bool link_transport(int port, tlm::tlm_generic_payload &gp, TxnKind kind, sc_core::sc_time &delay);
    void intx_message(int port, const TxnAttr &attr, const sc_core::sc_time &delay);

    Params params_;
    pcie_ep *host_bridge_ = nullptr;
    std::vector<PcieEndpoint *> endpoints_; // by link port
    Counters counters_;
    TimedActions host_bridge_writes_;
    // Assert_INTx state per (port, virtual wire): a line is high while any source asserts it.
    std::vector<std::array<bool, kIntxLines>> intx_asserted_;
    std::array<unsigned, kIntxLines> intx_sources_{};
    std::vector<std::unique_ptr<TimedWriter<bool>>> intx_writers_;
    Trace *trace_ = nullptr;
    std::string trace_name_;
    void trace_line(const sc_core::sc_time &when, const char *kind, const std::string &fields) {
        if (trace_)
            trace_->line(when, trace_name_, kind, fields);
    }
};

} // namespace vp

#endif
