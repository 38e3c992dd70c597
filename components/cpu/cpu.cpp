#include "cpu.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace vp {

namespace {

constexpr uint64_t kPsciNotSupported = ~0ull; // -1 as a 64-bit register value
// How often a CPU in WFI looks for a host signal (simulated time).
sc_core::sc_time interrupt_poll_period() {
    return sc_core::sc_time(100, sc_core::SC_US);
}

std::string hex(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%08" PRIx64, value);
    return text;
}

const char *access_name(iss_access access) {
    switch (access) {
    case ISS_ACCESS_WRITE:
        return "write";
    case ISS_ACCESS_FETCH:
        return "fetch";
    default:
        return "read";
    }
}

} // namespace

Cpu::Cpu(sc_core::sc_module_name name, const CpuConfig &config)
    : sc_module(name), socket("socket"), irq("irq"), config_(config), wfi_signal_("wfi") {
    if (config_.quantum_insns == 0)
        throw std::invalid_argument("cpu: quantum must be at least one instruction");
    if (!(config_.ns_per_insn > 0.0))
        throw std::invalid_argument("cpu: ns per instruction must be positive");
    char error[160] = "";
    iss_ = iss_create(error, sizeof error);
    if (!iss_)
        throw std::runtime_error(std::string("cpu: ") + error);
    insn_time_ = sc_core::sc_time(config_.ns_per_insn, sc_core::SC_NS);
    // The TLM quantum equals one ISS quantum, so MMIO-heavy code that adds latency ends its quantum early.
    tlm::tlm_global_quantum::instance().set(insn_time_ * static_cast<double>(config_.quantum_insns));
    quantum_keeper_.reset();
    socket.register_invalidate_direct_mem_ptr(this, &Cpu::invalidate_direct_mem_ptr);
    SC_HAS_PROCESS(Cpu);
    SC_THREAD(run);
    // Unicorn and the code it generates run on this thread's stack; SystemC's default (a few hundred KiB) is
    // too tight for that, and an overflow would crash the simulator.
    set_stack_size(16 * 1024 * 1024);
}

Cpu::~Cpu() {
    iss_destroy(iss_);
}

uint64_t Cpu::instructions() const {
    return iss_instruction_count(iss_);
}

void Cpu::setup_memory() {
    tlm::tlm_generic_payload request;
    request.set_command(tlm::TLM_READ_COMMAND);
    request.set_address(config_.ram_base);
    tlm::tlm_dmi dmi;
    uint64_t ram_last = config_.ram_base + config_.ram_size - 1;
    if (!socket->get_direct_mem_ptr(request, dmi) || !dmi.is_read_write_allowed() ||
        dmi.get_start_address() > config_.ram_base || dmi.get_end_address() < ram_last)
        throw std::runtime_error("cpu: DMI refused for RAM at " + hex(config_.ram_base) +
                                 " (the CPU needs read/write DMI over all of RAM)");
    uint8_t *host = dmi.get_dmi_ptr() + (config_.ram_base - dmi.get_start_address());
    if (iss_map_ram(iss_, config_.ram_base, config_.ram_size, host) != 0)
        throw std::runtime_error("cpu: cannot map RAM at " + hex(config_.ram_base) + " size " +
                                 hex(config_.ram_size) + " into the ISS (4 KiB alignment?)");
    for (const CpuAlias &alias : config_.aliases)
        if (iss_add_ram_alias(iss_, alias.va, alias.pa, alias.size) != 0)
            throw std::runtime_error("cpu: cannot map alias VA " + hex(alias.va) + " -> PA " + hex(alias.pa) +
                                     " size " + hex(alias.size) + " (outside RAM, overlapping or unaligned)");
    for (const CpuConfig::Window &window : config_.mmio_windows)
        if (iss_map_mmio(iss_, window.base, window.size, &Cpu::mmio_read, &Cpu::mmio_write, this) != 0)
            throw std::runtime_error("cpu: cannot map MMIO window " + hex(window.base) + " size " +
                                     hex(window.size));
    iss_set_counter(iss_, &Cpu::counter, this);
    iss_set_sysreg(iss_, ISS_CNTFRQ_EL0, config_.counter_hz);
}

void Cpu::run() {
    try {
        setup_memory();
    } catch (const std::exception &error) {
        halt(CpuHalt::InternalError, error.what());
        return;
    }
    iss_set_pc(iss_, config_.entry_pc);
    if (gdb_ && gdb_stop_at_entry_) {
        if (!gdb_stub_accept(gdb_, &kGdbOps, this)) {
            halt(CpuHalt::Interrupted, "interrupted while waiting for the debugger");
            return;
        }
        if (!debug_stop(5))
            return;
    }
    for (;;) {
        if (interrupted())
            return;
        if (gdb_ && !stepping_) {
            // A debugger that connects stops the CPU, as on QEMU; one that is attached may interrupt it.
            const bool was_attached = gdb_stub_attached(gdb_);
            const bool attached = was_attached || gdb_stub_poll_accept(gdb_);
            if (attached && (!was_attached || gdb_stub_interrupt_requested(gdb_))) {
                catch_up();
                if (!debug_stop(was_attached ? 2 : 5))
                    return;
            }
        }
        bool irq_pending = irq.read();
        if (irq_pending && !deliver_irq())
            return;
        iss_set_irq_pending(iss_, irq_pending);
        uint64_t budget = run_budget();
        if (budget == 0 && local_time_now() > sc_core::SC_ZERO_TIME) {
            catch_up(); // an event is due before one more instruction: let simulated time reach it
            continue;
        }
        if (budget == 0 && time_limit_ < sc_core::sc_time_stamp() + insn_time_) {
            // Not one more instruction fits before the time limit: wait there for the kernel to stop.
            const sc_core::sc_time now = sc_core::sc_time_stamp();
            if (time_limit_ > now)
                wait(time_limit_ - now);
            else
                wait(never_);
            continue;
        }
        if (budget == 0)
            budget = 1; // activity at this time outlived settle(): run one block rather than hang
        iss_stop_reason reason = iss_run(iss_, budget, nullptr);
        account_instructions();
        if (pc_traced_)
            pc_signal_.write_at(sc_core::sc_time_stamp() + quantum_keeper_.get_local_time(),
                                iss_get_pc(iss_));
        if (!handle_stop(reason))
            return;
        if (stepping_ && reason != ISS_STOP_BREAKPOINT && !debug_stop(5))
            return;
    }
}

// GDB's view of the CPU. Registers beyond what the ISS reports read as zero; writes to them fail.
const gdb_target_ops Cpu::kGdbOps = {
    [](void *target, unsigned n) -> uint64_t {
        iss_t *iss = static_cast<Cpu *>(target)->iss_;
        if (n < 31)
            return iss_get_x(iss, n);
        if (n == GDB_REG_SP)
            return iss_get_sp(iss);
        if (n == GDB_REG_PC)
            return iss_get_pc(iss);
        if (n == GDB_REG_CPSR)
            return iss_get_pstate(iss);
        return 0;
    },
    [](void *target, unsigned n, uint64_t value) -> bool {
        iss_t *iss = static_cast<Cpu *>(target)->iss_;
        if (n < 31)
            iss_set_x(iss, n, value);
        else if (n == GDB_REG_SP)
            iss_set_sp(iss, value);
        else if (n == GDB_REG_PC)
            iss_set_pc(iss, value);
        else if (n == GDB_REG_CPSR)
            iss_set_pstate(iss, static_cast<uint32_t>(value));
        else
            return false;
        return true;
    },
    [](void *target, uint64_t addr, void *dst, size_t len) {
        return iss_read_virtual(static_cast<Cpu *>(target)->iss_, addr, dst, len);
    },
    [](void *target, uint64_t addr, const void *src, size_t len) {
        return iss_write_virtual(static_cast<Cpu *>(target)->iss_, addr, src, len);
    },
    [](void *target, uint64_t addr) { return iss_add_breakpoint(static_cast<Cpu *>(target)->iss_, addr); },
    [](void *target, uint64_t addr) { return iss_remove_breakpoint(static_cast<Cpu *>(target)->iss_, addr); },
    [](void *target) {
        Cpu *cpu = static_cast<Cpu *>(target);
        return cpu->interrupt_check_ && cpu->interrupt_check_();
    },
};

void Cpu::attach_gdb(gdb_stub *stub, bool stop_at_entry) {
    gdb_ = stub;
    gdb_stop_at_entry_ = stop_at_entry;
}

bool Cpu::debug_stop(int signal) {
    switch (gdb_stub_stopped(gdb_, &kGdbOps, this, signal)) {
    case GDB_RESUME_STEP:
        stepping_ = true;
        break;
    case GDB_RESUME_CONTINUE:
        stepping_ = false;
        break;
    case GDB_RESUME_DETACH:
        stepping_ = false; // run on; another debugger may connect later
        break;
    case GDB_RESUME_KILL:
        halt(CpuHalt::DebuggerKill, "killed by the debugger");
        return false;
    }
    iss_set_single_step(iss_, stepping_);
    return true;
}

// Instructions the next run may execute. It ends at the first block boundary at or past the budget, which is
// the first at or past the next pending simulation event: however long the quantum, the CPU then synchronises
// where a quantum of one instruction would have, and so sees every device change and interrupt edge at the
// same instruction. The time limit is not crossed by a whole instruction (floor, not ceiling).
uint64_t Cpu::run_budget() const {
    const sc_core::sc_time ahead = local_time_now();
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    uint64_t budget = config_.quantum_insns;
    const sc_core::sc_time to_event = sc_core::sc_time_to_pending_activity();
    if (to_event <= ahead)
        return 0;
    budget = std::min(budget, static_cast<uint64_t>(std::ceil((to_event - ahead) / insn_time_)));
    if (time_limit_ != sc_core::sc_max_time()) {
        if (time_limit_ <= now + ahead)
            return 0;
        budget = std::min(budget, static_cast<uint64_t>((time_limit_ - now - ahead) / insn_time_));
    }
    return budget;
}

// Brings simulated time up to the CPU's local time, then lets every process with activity at that time run
// (devices' events, signal updates, the GIC's output) before the CPU goes on, so that what the CPU sees next
// does not depend on the order in which the kernel wakes processes of the same time.
void Cpu::catch_up() {
    account_instructions();
    const sc_core::sc_time ahead = quantum_keeper_.get_local_time();
    if (ahead > sc_core::SC_ZERO_TIME) {
        ++syncs_;
        wait(ahead);
    }
    quantum_keeper_.reset();
    settle();
}

void Cpu::settle() {
    // Bounded: a model that notifies itself in every delta must not hang the CPU.
    for (int i = 0; i < 64 && sc_core::sc_pending_activity_at_current_time(); ++i)
        wait(sc_core::SC_ZERO_TIME);
}

bool Cpu::interrupted() {
    if (halt_.kind == CpuHalt::None && interrupt_check_ && interrupt_check_())
        halt(CpuHalt::Interrupted, "interrupted");
    return halt_.kind != CpuHalt::None;
}

bool Cpu::deliver_irq() {
    const uint64_t from = trace_ ? iss_get_pc(iss_) : 0;
    if (iss_take_irq(iss_)) {
        irqs_taken_++;
        if (trace_) {
            char fields[64];
            std::snprintf(fields, sizeof fields, "from=0x%llx vector=0x%llx",
                          static_cast<unsigned long long>(from),
                          static_cast<unsigned long long>(iss_get_pc(iss_)));
            trace_->line(sc_core::sc_time_stamp() + local_time_now(), name(), "irq_taken", fields);
        }
        return true;
    }
    uint32_t pstate = iss_get_pstate(iss_);
    if ((pstate & ISS_PSTATE_I) || ISS_PSTATE_EL(pstate) == 1)
        return true; // masked: stays pending at the GIC
    halt_.pc = iss_get_pc(iss_);
    halt(CpuHalt::IssError, "ISS error at PC " + hex(halt_.pc) + ": IRQ taken from EL" +
                                std::to_string(ISS_PSTATE_EL(pstate)) + " cannot be delivered by this ISS");
    return false;
}

void Cpu::account_instructions() {
    uint64_t now = iss_instruction_count(iss_);
    if (now <= insns_accounted_)
        return; // the ISS count is monotonic; never let an unsigned difference wrap into a huge time
    quantum_keeper_.inc(insn_time_ * static_cast<double>(now - insns_accounted_));
    insns_accounted_ = now;
}

sc_core::sc_time Cpu::local_time_now() const {
    uint64_t count = iss_instruction_count(iss_);
    uint64_t pending = count > insns_accounted_ ? count - insns_accounted_ : 0;
    return quantum_keeper_.get_local_time() + insn_time_ * static_cast<double>(pending);
}

bool Cpu::handle_stop(iss_stop_reason reason) {
    const iss_stop_info *info = iss_last_stop(iss_);
    switch (reason) {
    case ISS_STOP_QUANTUM:
    case ISS_STOP_REQUESTED:
    case ISS_STOP_IRQ:
        quanta_++;
        catch_up();
        return halt_.kind == CpuHalt::None;
    case ISS_STOP_WFI:
        wfi_count_++;
        wait_for_interrupt();
        return halt_.kind == CpuHalt::None;
    case ISS_STOP_HVC:
    case ISS_STOP_SMC: {
        std::array<uint64_t, 4> args = {iss_get_x(iss_, 0), iss_get_x(iss_, 1), iss_get_x(iss_, 2),
                                        iss_get_x(iss_, 3)};
        HvcResult result = hvc_handler_ ? hvc_handler_(args) : HvcResult{kPsciNotSupported, false};
        iss_set_x(iss_, 0, result.x0);
        if (result.stop) {
            catch_up(); // the stop time is the call's time, not the last sync point
            halt_.pc = info->pc;
            halt(CpuHalt::HvcRequest, "");
            return false;
        }
        return true;
    }
    case ISS_STOP_BREAKPOINT:
        catch_up();
        return gdb_ ? debug_stop(5) : halt_.kind == CpuHalt::None;
    case ISS_STOP_BUS_ERROR: {
        if (halt_.kind != CpuHalt::None)
            return false; // interrupted during the access
        catch_up();
        halt_.pc = info->pc;
        halt_.address = info->address;
        halt_.size = info->size;
        halt_.write = info->access == ISS_ACCESS_WRITE;
        bool unmapped = info->unmapped || last_response_ == tlm::TLM_ADDRESS_ERROR_RESPONSE;
        halt_.unmapped = unmapped;
        std::string what = unmapped ? "unmapped address" : "bus error at address";
        halt(CpuHalt::BusError, "CPU " + std::string(access_name(info->access)) + " of " +
                                    std::to_string(info->size) + " bytes: " + what + " " +
                                    hex(info->address) + " at PC " + hex(info->pc) +
                                    (info->message[0] ? std::string(" (") + info->message + ")" : ""));
        return false;
    }
    case ISS_STOP_ISS_ERROR:
    default:
        if (halt_.kind != CpuHalt::None)
            return false;
        catch_up();
        halt_.pc = info->pc;
        halt(CpuHalt::IssError, std::string("ISS error at PC ") + hex(info->pc) + ": " + info->message);
        return false;
    }
}

void Cpu::wait_for_interrupt() {
    catch_up();
    sc_core::sc_time start = sc_core::sc_time_stamp();
    wfi_signal_.write(true);
    while (!irq.read()) {
        wait(sc_core::SC_ZERO_TIME); // let this delta's updates land before judging activity
        if (irq.read())
            break;
        if (!sc_core::sc_pending_activity()) {
            halt_.pc = iss_last_stop(iss_)->pc;
            halt(CpuHalt::NoProgress, "no progress: WFI at PC " + hex(halt_.pc) +
                                          " with no pending interrupt and no simulation activity left");
            wfi_time_ += sc_core::sc_time_stamp() - start;
            return;
        }
        if (interrupt_check_) {
            // Wake now and then to notice a host signal while other models keep the simulation busy. Only
            // this process sees the timeout, so it changes no result.
            wait(interrupt_poll_period(), irq.value_changed_event());
            if (interrupted()) {
                wfi_time_ += sc_core::sc_time_stamp() - start;
                return;
            }
        } else {
            wait(irq.value_changed_event());
        }
    }
    wfi_signal_.write(false);
    wfi_time_ += sc_core::sc_time_stamp() - start;
    quantum_keeper_.reset();
    settle();
}

void Cpu::halt(CpuHalt kind, const std::string &message) {
    halt_.kind = kind;
    halt_.message = message;
    sc_core::sc_stop();
}

bool Cpu::waiting_for_interrupt() const {
    return wfi_signal_.read();
}

void Cpu::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
    // RAM stays mapped: the Memory never moves its storage, so an invalidation only means a target changed
    // its mind about access rights, which this platform does not do. Count it so a test can notice.
    (void)start;
    (void)end;
    dmi_invalidations_++;
}

bool Cpu::transport(uint64_t address, unsigned size, uint64_t *value, bool write) {
    uint8_t buffer[8] = {};
    tlm::tlm_generic_payload payload;
    payload.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    payload.set_address(address);
    payload.set_data_ptr(buffer);
    payload.set_data_length(size);
    payload.set_streaming_width(size);
    payload.set_byte_enable_ptr(nullptr);
    payload.set_dmi_allowed(false);
    payload.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    if (write)
        std::memcpy(buffer, value, size); // the host is little-endian like the guest
    // Every device access is made at its own simulated time: a device never sees an access before the events
    // that precede it (a register read is a synchronising read), and its waveforms change when the access
    // happened. Code that makes no device access keeps running ahead.
    catch_up();
    if (interrupted()) {
        iss_request_stop(iss_);
        return true; // the run ends at the next block boundary and the CPU halts; the access is not made
    }
    iss_set_irq_pending(iss_, irq.read());
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(payload, delay);
    quantum_keeper_.set(delay);
    last_response_ = payload.get_response_status();
    // The access may have started something (a device job, an interrupt edge): end the run at the block
    // boundary at or past it.
    iss_set_run_end(iss_, iss_instruction_count(iss_) + run_budget());
    if (payload.is_response_error())
        return false;
    if (!write) {
        *value = 0;
        std::memcpy(value, buffer, size);
    }
    return true;
}

bool Cpu::mmio_read(void *ctx, uint64_t address, unsigned size, uint64_t *value) {
    auto *cpu = static_cast<Cpu *>(ctx);
    cpu->mmio_reads_++;
    return cpu->transport(address, size, value, false);
}

bool Cpu::mmio_write(void *ctx, uint64_t address, unsigned size, uint64_t value) {
    auto *cpu = static_cast<Cpu *>(ctx);
    cpu->mmio_writes_++;
    return cpu->transport(address, size, &value, true);
}

uint64_t Cpu::counter(void *ctx) {
    auto *cpu = static_cast<Cpu *>(ctx);
    sc_core::sc_time now = sc_core::sc_time_stamp() + cpu->local_time_now();
    auto resolution_ps = static_cast<uint64_t>(sc_core::sc_get_time_resolution().to_seconds() * 1e12 + 0.5);
    unsigned __int128 ps = static_cast<unsigned __int128>(now.value()) * resolution_ps;
    return static_cast<uint64_t>(ps * cpu->config_.counter_hz / 1000000000000ull);
}

void Cpu::register_stats(Stats &stats, const std::string &prefix) const {
    const std::string p = (prefix.empty() ? std::string(name()) : prefix) + ".";
    stats.counter(p + "instructions", [this] { return instructions(); });
    stats.counter(p + "quanta", &quanta_);
    stats.counter(p + "syncs", &syncs_);
    stats.counter(p + "mmio_reads", &mmio_reads_);
    stats.counter(p + "mmio_writes", &mmio_writes_);
    stats.counter(p + "irqs_taken", &irqs_taken_);
    stats.counter(p + "wfi_count", &wfi_count_);
    stats.counter(p + "wfi_time_ps",
                  [this] { return static_cast<uint64_t>(wfi_time_.to_seconds() * 1e12 + 0.5); });
    stats.counter(p + "dmi_invalidations", &dmi_invalidations_);
    stats.counter(p + "mmio_attribution_guesses", [this] { return iss_mmio_attribution_guesses(iss_); });
}

void Cpu::trace(sc_core::sc_trace_file *tf) const {
    sc_core::sc_trace(tf, wfi_signal_, std::string(name()) + ".wfi");
    sc_core::sc_trace(tf, irq, std::string(name()) + ".irq");
    sc_core::sc_trace(tf, pc_signal_, pc_signal_.name());
    pc_traced_ = true;
}

} // namespace vp
