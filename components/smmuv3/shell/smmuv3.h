// vp::Smmuv3: the SystemC/TLM-2.0 (loosely timed) wrapper around the C SMMUv3 core (components/smmuv3/core).
// The core owns every architectural decision; this module only moves bytes and time between sockets and the
// core's host interface, turns the core's IRQ pulses into visible signal pulses and hands out DMI safely.
#ifndef VP_SMMUV3_H
#define VP_SMMUV3_H

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "smmu.h"
#include "stats.h"
#include "timed.h"
#include "trace.h"
#include "txn_attr.h"

// The host's context of one call into the core (see smmu_host.h): the annotated delay of the transaction or
// register access being served. Each caller owns its own, so calls from several processes never share one.
struct smmu_call {
    sc_core::sc_time *delay;
};

namespace vp {

class Smmuv3 : public sc_core::sc_module {
  public:
    struct Params {
        smmu_params core;                 // raw ID registers, caches, latencies (smmu_params_default())
        sc_core::sc_time irq_pulse_width; // how long a wired IRQ pulse stays high, and the least low time
                                          // between two pulses of one line (must be > 0)
        bool walk_dmi = true;             // use DMI for walk / queue memory when the target grants it
        // Bit n: the master bound n-th to upstream_socket can hold a transaction while it stalls (a platform
        // device). Clear for a PCIe root port: PCIe never stalls, so there a fault that would stall
        // terminates like any other.
        uint32_t stall_capable_ports = 0;
    };
    static Params default_params();

    // Page 0 and page 1 registers: 0x20000 bytes, 32- and 64-bit naturally aligned accesses.
    tlm_utils::simple_target_socket<Smmuv3> reg_socket;
    // DMA masters (the TBU side); every transaction carries a vp::TxnAttr. Any number of masters may bind.
    tlm_utils::multi_passthrough_target_socket<Smmuv3, 32, tlm::tlm_base_protocol_types, 0,
                                               sc_core::SC_ZERO_OR_MORE_BOUND>
        upstream_socket;
    // Translated traffic, toward the interconnect.
    tlm_utils::simple_initiator_socket<Smmuv3> downstream_socket;
    // The SMMU's own accesses: stream table, CDs, translation tables, queues, MSI writes.
    tlm_utils::simple_initiator_socket<Smmuv3> own_access_socket;
    // PCIe messages toward the root complex (ATS Invalidate Requests, PRG Responses): a payload with a
    // vp::TxnAttr of that kind. Optional: unbound (no PCIe), every message is undeliverable.
    tlm_utils::simple_initiator_socket_optional<Smmuv3> message_socket;

    // Wired interrupts (SPIs 74..77 on virt). Each event is a pulse of Params::irq_pulse_width at the event's
    // annotated time, every pulse its own rising edge (a pulse too close to the previous one of its line is
    // queued after it): connect them to edge-triggered GIC inputs (as QEMU's virt device tree declares them).
    sc_core::sc_out<bool> evtq_irq;
    sc_core::sc_out<bool> priq_irq;
    sc_core::sc_out<bool> cmd_sync_irq;
    sc_core::sc_out<bool> gerror_irq;

    SC_HAS_PROCESS(Smmuv3);
    // Throws std::invalid_argument with a one-line reason if the parameters describe an impossible SMMU.
    Smmuv3(sc_core::sc_module_name name, const Params &params = default_params());
    ~Smmuv3() override;
    Smmuv3(const Smmuv3 &) = delete;
    Smmuv3 &operator=(const Smmuv3 &) = delete;

    // Adds the IRQ lines, SMMUEN / CR0ACK, queue pointers, cache hit/miss counters, the walk in progress,
    // MSIs, stalled transactions, the current transaction of each upstream port and the last upstream
    // transaction to a trace file and starts keeping those signals up to date, each change at the simulated
    // time it happened (they cost nothing until this is called).
    void trace(sc_core::sc_trace_file *tf);
    // Text trace (docs/trace.md): every step of the SMMU as a line of component "smmu" (the module name).
    // nullptr turns it off. The trace must outlive the tracing.
    void set_trace(Trace *trace);
    // The same into a stream of its own (all kinds), for tests; nullptr turns it off.
    void set_trace_stream(std::ostream *os);
    // Upstream ports whose current transaction trace() shows (port<N>_* signals).
    static constexpr unsigned kTracedPorts = 4;
    // Values of the port<N>_result signal.
    enum PortResult : uint32_t {
        kPortIdle = 0,
        kPortBusy = 1, // being translated or forwarded
        kPortOk = 2,
        kPortFault = 3, // aborted by the SMMU
        kPortStalled = 4,
        kPortRazWi = 5,
        kPortError = 6, // refused or answered with an error downstream
    };

    // Every counter of the shell and the core, by name.
    void stats(const std::function<void(const std::string &name, uint64_t value)> &cb) const;
    // Registers stats() as `PREFIX.name` counters (PREFIX: the module name when empty) and the histograms.
    void register_stats(Stats &stats, const std::string &prefix = "") const;
    // How long stalled transactions were held before software resumed or terminated them, in ps.
    const Histogram &stall_residency() const { return stall_residency_ps_; }

    // Shell counters (the core's own are in stats()).
    struct Counters {
        uint64_t upstream_transactions = 0;
        uint64_t upstream_bytes = 0;
        uint64_t upstream_splits = 0; // extra translations because a transaction crossed a translation span
        uint64_t upstream_aborts = 0; // transactions answered with an error because the SMMU aborted them
        uint64_t upstream_raz_wi = 0; // transactions (pieces) terminated as RAZ/WI
        uint64_t upstream_stalls = 0; // translations held for software (SMMU_XLATE_STALLED)
        uint64_t upstream_stall_retries = 0; // of which resumed with Retry and translated again
        uint64_t upstream_missing_attr = 0;  // transactions without vp::TxnAttr: platform configuration error
        uint64_t upstream_unsupported = 0; // PCIe messages or byte-enable patterns this shell does not handle
        uint64_t upstream_downstream_errors = 0; // the downstream target answered an error
        uint64_t ats_translation_requests = 0;
        uint64_t dmi_grants = 0;
        uint64_t dmi_denials = 0;
        uint64_t dmi_invalidations = 0; // invalidate_direct_mem_ptr broadcasts to the upstream masters
        uint64_t reg_reads = 0;
        uint64_t reg_writes = 0;
        uint64_t reg_errors = 0; // wrong size / alignment / re-entrant access answered with an error
        uint64_t mem_reads = 0;  // core accesses through own_access_socket (any kind)
        uint64_t mem_writes = 0;
        uint64_t mem_dmi_accesses = 0; // of which served by DMI
        uint64_t mem_errors = 0;
        uint64_t mem_cas = 0;
        uint64_t msi_writes = 0;
        uint64_t messages_sent = 0; // PCIe messages through message_socket (ATS invalidations, PRG responses)
        uint64_t irq_pulses[SMMU_IRQ_COUNT] = {};
    };
    const Counters &counters() const { return counters_; }

    // The core, for tests that want to call its C API directly.
    smmu *core() { return core_; }

  private:
    class CoreCall;

    void upstream_b_transport(int port, tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    void upstream_transport(int port, tlm::tlm_generic_payload &gp, sc_core::sc_time &delay,
                            bool stall_capable);
    bool upstream_get_dmi(int port, tlm::tlm_generic_payload &gp, tlm::tlm_dmi &dmi);
    unsigned upstream_transport_dbg(int port, tlm::tlm_generic_payload &gp);
    void reg_b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    unsigned reg_transport_dbg(tlm::tlm_generic_payload &gp);
    void downstream_invalidate(sc_dt::uint64 start, sc_dt::uint64 end);
    void walk_invalidate(sc_dt::uint64 start, sc_dt::uint64 end);

    void translate_request(smmu_call *call, const TxnAttr &attr, tlm::tlm_generic_payload &gp,
                           bool stall_capable, int port);
    // Holds a stalled transaction in its own process until software resumes or terminates it.
    smmu_stall_action wait_for_stall(smmu_call *call, uint32_t sid, uint16_t stag);
    void stall_resolved(smmu_call *call, uint32_t sid, uint16_t stag);
    void answer_ats_request(smmu_call *call, TxnAttr &attr, tlm::tlm_generic_payload &gp);
    // PCIe messages arriving upstream (from endpoints through the root complex).
    void receive_message(smmu_call *call, TxnAttr &attr, tlm::tlm_generic_payload &gp);
    bool send_message(smmu_call *call, const smmu_msg &msg);
    void cmdq_kick(smmu_call *call);
    void cmdq_thread();
    void remember_dmi_hint(const smmu_txn &txn, const smmu_result &res);
    void invalidate_upstream_dmi();
    bool register_write_changes_translation(uint64_t offset) const;

    bool mem_access(smmu_call *call, smmu_mem_kind kind, uint64_t pa, void *buf, unsigned len, bool write);
    void irq_set(smmu_call *call, smmu_irq_line line, bool level);
    void advance(smmu_call *call, uint64_t ps);
    void trace_line(smmu_call *call, const char *kind, const char *fields);
    // The simulated time of a core call's current step: kernel time plus what the call has annotated so far.
    static sc_core::sc_time now_with_delay(const smmu_call *call);

    // Observability: queue the traced signals' values at time AT (only the ones that changed).
    void sample_queue_pointers(const sc_core::sc_time &at);
    void sample_upstream(const sc_core::sc_time &at);
    void sample_activity(const sc_core::sc_time &at);
    void port_state(int port, const sc_core::sc_time &at, uint32_t result);
    void stamp_register_write(const smmu_call *call, uint64_t offset, unsigned len);

    static const smmu_host_ops host_ops_;

    Params params_;
    smmu *core_ = nullptr;
    Counters counters_;
    Histogram stall_residency_ps_;

    // Where host calls outside any transport (none today) add their time; and how many core calls are in
    // progress (a core call never waits, so this is nonzero only while the core's own traffic loops back).
    sc_core::sc_time scratch_delay_;
    unsigned core_depth_ = 0;
    // Transactions held in wait_for_stall, each waiting on its own event.
    struct StallWaiter {
        uint32_t sid;
        uint16_t stag;
        sc_core::sc_event *resolved;
    };
    std::vector<StallWaiter> stall_waiters_;
    // The command queue process.
    sc_core::sc_event cmdq_kick_event_;
    bool cmdq_kicked_ = false;
    sc_core::sc_time cmd_time_;
    bool ps_is_time_unit_ = true;
    uint64_t cached_ps_ = 0;
    sc_core::sc_time cached_time_;

    tlm::tlm_generic_payload mem_gp_;
    static constexpr unsigned kWalkDmiRegions = 4;
    struct WalkDmiRegion {
        bool valid = false;
        uint64_t start = 0, end = 0;
        unsigned char *ptr = nullptr;
        bool read = false, write = false;
        sc_core::sc_time read_latency, write_latency;
    } walk_dmi_[kWalkDmiRegions];
    unsigned walk_dmi_next_ = 0;

    // Recent plain-OK translations that b_transport performed; DMI upstream is only granted for these, so a
    // DMI request never makes the core walk or record an event on its own.
    static constexpr unsigned kDmiHints = 16;
    struct DmiHint {
        bool valid = false;
        uint32_t sid = 0, ssid = 0;
        bool ssv = false, priv = false, exec = false, secure = false;
        uint64_t ia_base = 0, pa_base = 0, span_mask = 0;
        bool read = false, write = false;
    } dmi_hints_[kDmiHints];
    bool dmi_requested_ = false;
    bool dmi_outstanding_ = false;
    bool missing_attr_reported_ = false;
    bool unsupported_reported_ = false;

    // IRQ pulses: the core pulses (set then clear at once); every rising call becomes a pulse of the pulse
    // width at its annotated time, or later if that would not leave a pulse width of low time to the pulses
    // already scheduled on the line.
    struct IrqLine {
        bool core_level = false;
        // Starts of the scheduled pulses not yet over (with their low gap), in time order.
        std::deque<sc_core::sc_time> pulse_starts;
    } irq_lines_[SMMU_IRQ_COUNT];
    std::array<std::unique_ptr<TimedWriter<bool>>, SMMU_IRQ_COUNT> irq_writers_;

    Trace *trace_ = nullptr;
    Trace own_trace_; // set_trace_stream's

    // Observability signals (updated only after trace() was called), each change at its simulated time: the
    // queue pointers at every core trace line (the core traces while they are on) and at the end of every
    // access, a written pointer register at the time of the core's "write" line, the upstream signals at the
    // end of every upstream transaction.
    bool trace_signals_on_ = false;
    bool reg_write_open_ = false;       // a register write is in the core and has not traced its line yet
    sc_core::sc_time reg_write_time_;   // the time of that line
    bool reg_write_time_known_ = false; // whether it was traced
    TimedSignal<uint32_t> cmdq_prod_, cmdq_cons_, evtq_prod_, evtq_cons_, priq_prod_, priq_cons_;
    TimedSignal<uint64_t> tlb_hits_, tlb_misses_;
    TimedSignal<uint32_t> last_sid_, last_ssid_, last_result_;
    TimedSignal<uint64_t> last_addr_, last_pa_, upstream_count_;
    uint32_t last_sid_value_ = 0, last_ssid_value_ = 0, last_result_value_ = 0;
    uint64_t last_addr_value_ = 0, last_pa_value_ = 0;
    TimedSignal<bool> smmuen_;
    TimedSignal<uint32_t> cr0ack_;
    TimedSignal<uint64_t> msi_count_, stalled_;
    TimedSignal<uint32_t> walk_stage_, walk_level_;
    TimedSignal<uint64_t> walk_cache_hits_, walk_cache_misses_, config_cache_hits_, config_cache_misses_;
    uint64_t msi_writes_seen_ = 0;
    struct PortSignals {
        explicit PortSignals(unsigned index);
        TimedSignal<uint32_t> sid, ssid, rw, result;
        TimedSignal<uint64_t> addr;
    };
    std::vector<std::unique_ptr<PortSignals>> port_signals_;
};

} // namespace vp

#endif
