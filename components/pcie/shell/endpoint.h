// vp::PcieEndpoint: the SystemC shell of one PCIe function. It hosts a personality (pcie_dev, created by
// name) or a bare function core (pcie_ep, for tests that attach their own device logic) and implements the
// core's host interface: memory requests travel to the root complex on lanes of SC_THREADs (b_transport: the
// SMMU may hold one), posted messages, MSIs and INTx messages go out in order on one more thread, and what
// arrives from the root complex (configuration, BAR accesses, ATS invalidations, PRG responses) takes effect
// at its annotated time.
#ifndef VP_PCIE_ENDPOINT_H
#define VP_PCIE_ENDPOINT_H

#include <cstdint>
#include <deque>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "pcie_ep.h"
#include "stats.h"
#include "timed.h"
#include "trace.h"
#include "txn_attr.h"

struct pcie_dev;

namespace vp {

struct PcieEndpointParams {
    unsigned lanes = 16; // memory requests in flight toward the root complex at once (1..64)
};

class PcieEndpoint : public sc_core::sc_module {
  public:
    using Params = PcieEndpointParams;
    static constexpr unsigned kMaxLanes = PCIE_EP_MAX_INFLIGHT;
    using DeviceParams = std::vector<std::pair<std::string, std::string>>;

    // From the root complex: configuration requests (TxnKind::ConfigRequest), BAR accesses (Memory, a bus
    // address), ATS Invalidate Requests and PRG Responses.
    tlm_utils::simple_target_socket<PcieEndpoint> link_down_socket;
    // Toward the root complex: memory requests, Page Requests, Invalidation Completions, MSIs, INTx messages.
    tlm_utils::simple_initiator_socket<PcieEndpoint> link_up_socket;

    SC_HAS_PROCESS(PcieEndpoint);
    // A personality by name (pcie_dev_create). Throws std::invalid_argument with pcie_dev_create's reason.
    PcieEndpoint(sc_core::sc_module_name name, uint16_t bdf, const std::string &personality,
                 const DeviceParams &device_params, const Params &params = Params());
    // A bare function core; attach device logic with pcie_ep_set_device(ep(), ...). Throws
    // std::invalid_argument if pcie_ep_create refuses the parameters.
    PcieEndpoint(sc_core::sc_module_name name, uint16_t bdf, const pcie_ep_params &function,
                 const Params &params = Params());
    ~PcieEndpoint() override;
    PcieEndpoint(const PcieEndpoint &) = delete;
    PcieEndpoint &operator=(const PcieEndpoint &) = delete;

    // Whether this build has the personality library (vp_pcie_dev): without it, only bare cores exist.
    static bool personalities_available();

    uint16_t bdf() const { return bdf_; }
    pcie_ep *ep() { return ep_; }
    pcie_dev *device() { return dev_; } // nullptr for a bare core
    // Whether a BAR of this function decodes [addr, addr + size) now (Memory Space on, BAR assigned).
    bool claims(uint64_t addr, unsigned size) const;

    // Text trace (docs/trace.md): ATS requests and completions, ATC lookups and invalidations, page requests,
    // stop markers, PRG responses, MSIs, INTx and the personality's commands, as lines of component
    // "pcie.BB:DD.F". nullptr turns it off.
    void set_trace(Trace *trace);
    // Adds ATS requests in flight, ATC occupancy, outstanding page requests and groups, MSIs sent, and
    // stop-marker and PRG-response pulses (each 1 ns high) under the module's name, each change at its time.
    void trace(sc_core::sc_trace_file *tf);

    struct Counters {
        uint64_t mem_requests = 0;         // memory requests sent (reads, writes, translation requests)
        uint64_t translation_requests = 0; // of which ATS Translation Requests
        uint64_t completions_ur = 0;       // answered Unsupported Request
        uint64_t completions_ca = 0;       // answered Completer Abort
        uint64_t bytes_read = 0, bytes_written = 0;
        uint64_t msi_writes = 0;
        uint64_t messages_sent = 0; // Page Requests (and Stop Markers), Invalidation Completions
        uint64_t intx_messages = 0;
        uint64_t config_reads = 0, config_writes = 0;
        uint64_t mmio_reads = 0, mmio_writes = 0;
        uint64_t invalidations_received = 0;
        uint64_t invalidations_held = 0;    // refused with QUEUE_FULL, held and retried later
        uint64_t invalidations_dropped = 0; // refused for a bad or still-pending ITag
        uint64_t prg_responses = 0;
    };
    const Counters &counters() const { return counters_; }
    // The shell's counters, then the personality's (pcie_dev_stats) or, for a bare core, its ATC counters.
    void stats(const std::function<void(const std::string &name, uint64_t value)> &cb) const;
    // Registers stats() as `PREFIX.name` counters (PREFIX: the module name when empty) and the latency
    // histograms `PREFIX.ats.round_trip_ps` and `PREFIX.pri.response_time_ps`.
    void register_stats(Stats &stats, const std::string &prefix = "") const;
    // Translation Request to its completion, as the function sees it (from the core's request, so time
    // spent waiting for a free lane counts), in ps.
    const Histogram &ats_round_trip() const { return ats_round_trip_ps_; }
    // A page request group's last Page Request to its PRG Response, in ps (Stop Markers get no response).
    const Histogram &pri_response_time() const { return pri_response_time_ps_; }

  private:
    struct Request {
        uint32_t tag;
        pcie_ep_mem_req req;
        sc_core::sc_time issued;
    };
    // A posted TLP toward the root complex: a message or an MSI write.
    struct Posted {
        TxnKind kind;
        pcie_ep_msg msg;
        uint64_t msi_addr;
        uint32_t msi_data;
    };
    struct Lane {
        tlm::tlm_generic_payload gp;
        TxnAttr *attr = nullptr; // owned by gp
        uint64_t translation_data = 0;
    };

    static unsigned validated_lanes(unsigned lanes);
    void init();
    void link_down_b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    unsigned link_down_transport_dbg(tlm::tlm_generic_payload &gp);
    void lane_thread(unsigned index);
    // A memory request's completion reaching the function core (and its device).
    void complete(const Request &request, pcie_ep_cpl_status status, const pcie_ep_ats_cpl &cpl,
                  bool translation, bool write, unsigned len);
    void posted_thread();
    void scheduler_method();
    void receive_invalidation(const pcie_ep_inv_req &req);
    void retry_held_invalidations();
    void at_time(const sc_core::sc_time &when, std::function<void()> fn);

    // pcie_ep_host_ops
    static void host_mem_request(void *ctx, uint32_t tag, const pcie_ep_mem_req *req);
    static void host_send_msg(void *ctx, const pcie_ep_msg *msg);
    static void host_schedule(void *ctx, uint64_t delay_ps, void (*fn)(void *arg), void *arg);
    static void host_msi_write(void *ctx, uint64_t addr, uint32_t data);
    static void host_set_intx(void *ctx, bool asserted);
    static void host_trace(void *ctx, const char *kind, const char *fields);
    static const pcie_ep_host_ops host_ops_;
    void update_core_tracing();
    void trace_line(const char *kind, const std::string &fields);
    // The waveform signals' values now (after a step of the core).
    void sample_signals();
    void pulse(TimedSignal<bool> &signal);

    const uint16_t bdf_;
    pcie_dev *dev_ = nullptr;
    pcie_ep *ep_ = nullptr;
    unsigned lane_count_ = 0;
    std::vector<Lane> lanes_;
    std::deque<Request> requests_;
    sc_core::sc_event request_event_;
    std::deque<Posted> posted_;
    sc_core::sc_event posted_event_;
    tlm::tlm_generic_payload posted_gp_;
    TxnAttr *posted_attr_ = nullptr; // owned by posted_gp_
    // Work at a simulated time (the core's schedule, invalidation retries), in time order, run by
    // scheduler_method: never inside a call into the core.
    std::multimap<sc_core::sc_time, std::function<void()>> timed_work_;
    sc_core::sc_event timed_work_event_;
    // What the root complex sends, applied at its annotated time.
    TimedActions arrivals_;
    // Completions of the lanes' requests, applied at their annotated time in the order they were answered.
    TimedActions completions_{"completions"};
    // ATS Invalidate Requests refused with QUEUE_FULL, in arrival order.
    std::deque<pcie_ep_inv_req> held_invalidations_;
    Counters counters_;
    Histogram ats_round_trip_ps_;
    Histogram pri_response_time_ps_;
    // When the last Page Request of each outstanding group went out, by PRG index.
    std::map<uint16_t, sc_core::sc_time> groups_sent_;

    Trace *trace_ = nullptr;
    std::string trace_name_; // "pcie.BB:DD.F"
    bool signals_on_ = false;
    uint64_t ats_in_flight_ = 0, msis_sent_ = 0;
    TimedSignal<uint64_t> ats_in_flight_signal_{"ats_in_flight"}, atc_entries_signal_{"atc_entries"},
        pri_requests_signal_{"pri_outstanding"}, pri_groups_signal_{"pri_groups"},
        msi_count_signal_{"msi_count"};
    TimedSignal<bool> stop_marker_pulse_{"stop_marker"}, prg_response_pulse_{"prg_response"};
};

} // namespace vp

#endif
