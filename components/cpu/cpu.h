// The AArch64 CPU as a SystemC LT initiator: runs the ISS (iss.h) ahead of simulated time in quanta, maps RAM
// through DMI and sends every other access as a TLM transaction to the router. Results do not depend on the
// quantum: a run never goes past the next pending simulation event (or the time limit), and every device
// access is made at its own simulated time (the CPU synchronises first), so devices, interrupts and waveforms
// see the same order of events at any quantum.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "gdb_stub.h"
#include "iss.h"
#include "stats.h"
#include "timed.h"
#include "trace.h"

namespace vp {

// A window of RAM visible at a second address (VA != PA): see iss_add_ram_alias().
struct CpuAlias {
    uint64_t va;
    uint64_t pa;
    uint64_t size;
};

struct CpuConfig {
    uint64_t quantum_insns = 50000;
    double ns_per_insn = 1.0;
    uint64_t ram_base = 0x40000000;
    uint64_t ram_size = 1ull << 30;
    uint64_t entry_pc = 0x40080000;
    std::vector<CpuAlias> aliases;
    // Physical windows that go to the TLM socket. Default: everything below RAM (the whole virt MMIO space).
    struct Window {
        uint64_t base;
        uint64_t size;
    };
    std::vector<Window> mmio_windows = {{0, 0x40000000}};
    uint64_t counter_hz = 62500000; // CNTFRQ_EL0, as on QEMU virt
};

// What the HVC/SMC handler answers: the value for X0 and whether the simulation must stop.
struct HvcResult {
    uint64_t x0;
    bool stop;
};
using HvcHandler = std::function<HvcResult(const std::array<uint64_t, 4> &x)>;

// Why the CPU stopped running (None while it runs or when the simulation ended for another reason).
enum class CpuHalt {
    None,
    HvcRequest,
    NoProgress,
    BusError,
    IssError,
    InternalError,
    Interrupted,
    DebuggerKill
};

struct CpuHaltInfo {
    CpuHalt kind = CpuHalt::None;
    std::string message; // one line, for the user
    uint64_t pc = 0;
    uint64_t address = 0;
    unsigned size = 0;
    bool write = false;
    bool unmapped = false; // BusError: nothing answers at the address (else a device answered with an error)
};

class Cpu : public sc_core::sc_module {
  public:
    tlm_utils::simple_initiator_socket<Cpu> socket;
    sc_core::sc_in<bool> irq;

    Cpu(sc_core::sc_module_name name, const CpuConfig &config);
    ~Cpu() override;
    Cpu(const Cpu &) = delete;
    Cpu &operator=(const Cpu &) = delete;

    // PSCI and other hypervisor calls; without a handler every HVC returns NOT_SUPPORTED (-1) in X0.
    void set_hvc_handler(HvcHandler handler) { hvc_handler_ = std::move(handler); }
    // Where execution starts (before the simulation starts; overrides CpuConfig::entry_pc).
    void set_entry_pc(uint64_t pc) { config_.entry_pc = pc; }
    // The CPU executes nothing and makes no access past this simulated time (--max-sim-time): a run that
    // would cross it stops at the last block boundary before it and the CPU then waits for the kernel to
    // stop.
    void set_time_limit(sc_core::sc_time limit) { time_limit_ = limit; }
    // Polled between runs and at every device access: when it returns true the CPU halts
    // (CpuHalt::Interrupted) at once. For host signals (Ctrl-C): the callback must only read a flag.
    void set_interrupt_check(std::function<bool()> check) { interrupt_check_ = std::move(check); }
    // Debugging with GDB's remote protocol (--gdb). The stub must be listening; the CPU waits for the
    // debugger to connect before the first instruction. stop_at_entry (--gdb-wait) stops there as QEMU's -S
    // does; otherwise it runs until a breakpoint or an interrupt (Ctrl-C in GDB). While the debugger holds
    // the CPU, the whole simulation waits: simulated time does not move. Call before the simulation starts.
    void attach_gdb(gdb_stub *stub, bool stop_at_entry);
    // The simulation is stopped (sc_stop) whenever the CPU halts; this tells why.
    const CpuHaltInfo &halt_info() const { return halt_; }
    // Direct access to the ISS, for tests and debuggers (between quanta only).
    iss_t *iss() { return iss_; }
    // True while the CPU sleeps in WFI (also what the "wfi" trace signal shows).
    bool waiting_for_interrupt() const;

    uint64_t instructions() const;
    uint64_t quanta() const { return quanta_; }
    uint64_t mmio_reads() const { return mmio_reads_; }
    uint64_t mmio_writes() const { return mmio_writes_; }
    uint64_t irqs_taken() const { return irqs_taken_; }
    uint64_t wfi_count() const { return wfi_count_; }
    sc_core::sc_time wfi_time() const { return wfi_time_; }
    // Registers the CPU's statistics as `PREFIX.name` (PREFIX: the module name when empty).
    void register_stats(Stats &stats, const std::string &prefix = "") const;
    // Adds wfi, irq and pc (the PC at the end of every ISS run, at that run's simulated time) to a trace
    // file.
    void trace(sc_core::sc_trace_file *tf) const;
    // Text trace (docs/trace.md): interrupts taken, as lines of component "cpu" (the module name); nullptr
    // turns it off.
    void set_trace(Trace *trace) { trace_ = trace; }

  private:
    void run();
    void setup_memory();
    bool deliver_irq();
    void account_instructions();
    sc_core::sc_time local_time_now() const;
    uint64_t run_budget() const;
    void catch_up();
    void settle();
    bool interrupted();
    bool handle_stop(iss_stop_reason reason);
    // Hands the CPU to the debugger after a stop with `signal`; false when the simulation must end.
    bool debug_stop(int signal);
    static const gdb_target_ops kGdbOps;
    void wait_for_interrupt();
    void halt(CpuHalt kind, const std::string &message);
    void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);

    static bool mmio_read(void *ctx, uint64_t address, unsigned size, uint64_t *value);
    static bool mmio_write(void *ctx, uint64_t address, unsigned size, uint64_t value);
    static uint64_t counter(void *ctx);
    bool transport(uint64_t address, unsigned size, uint64_t *value, bool write);

    CpuConfig config_;
    iss_t *iss_ = nullptr;
    HvcHandler hvc_handler_;
    CpuHaltInfo halt_;
    tlm_utils::tlm_quantumkeeper quantum_keeper_;
    sc_core::sc_time insn_time_;
    tlm::tlm_response_status last_response_ = tlm::TLM_OK_RESPONSE; // of the latest MMIO transaction
    uint64_t insns_accounted_ = 0; // instructions already added to the quantum keeper's local time
    sc_core::sc_time time_limit_ = sc_core::sc_max_time();
    std::function<bool()> interrupt_check_;
    gdb_stub *gdb_ = nullptr;
    bool gdb_stop_at_entry_ = false;
    bool stepping_ = false;   // the debugger asked for one instruction
    sc_core::sc_event never_; // waited on once the time limit is reached
    uint64_t syncs_ = 0;
    sc_core::sc_signal<bool> wfi_signal_;
    TimedSignal<uint64_t> pc_signal_{"pc"};
    mutable bool pc_traced_ = false; // trace() was called: keep pc_signal_ up to date
    Trace *trace_ = nullptr;

    uint64_t quanta_ = 0;
    uint64_t mmio_reads_ = 0;
    uint64_t mmio_writes_ = 0;
    uint64_t irqs_taken_ = 0;
    uint64_t wfi_count_ = 0;
    uint64_t dmi_invalidations_ = 0;
    sc_core::sc_time wfi_time_;
};

} // namespace vp
