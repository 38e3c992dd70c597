// vp::DmaMaster: the platform DMA test master (virt: registers at 0x0c00_0000, SPI 112, not present on QEMU).
// Firmware programs a copy of LEN bytes from SRC to DST; the copy runs in chunks through the SMMU with the
// StreamID / SubstreamID / privilege / instruction attributes the registers give, carried in vp::TxnAttr.
#ifndef VP_DMA_MASTER_H
#define VP_DMA_MASTER_H

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "stats.h"
#include "timed.h"
#include "trace.h"
#include "txn_attr.h"

namespace vp {

class DmaMaster : public sc_core::sc_module {
  public:
    // Register offsets (32-bit little-endian registers; 64-bit values as lo/hi halves).
    enum Reg : uint64_t {
        kRegId = 0x00,        // RO 0x444D4131 ("DMA1")
        kRegSrcLo = 0x08,     // source address, bits 31:0
        kRegSrcHi = 0x0C,     // source address, bits 63:32
        kRegDstLo = 0x10,     // destination address, bits 31:0
        kRegDstHi = 0x14,     // destination address, bits 63:32
        kRegLen = 0x18,       // bytes to copy, 1..kMaxLen
        kRegStreamId = 0x1C,  // StreamID of the job's transactions
        kRegSubstream = 0x20, // bits 19:0 SubstreamID, bit 31 SSV
        kRegAttr = 0x24,      // bit 0 privileged, bit 1 instruction fetch (reads only)
        kRegCtrl = 0x28,      // write bit 0: start; bit 1: completion IRQ enable
        kRegStatus = 0x2C,    // Status values; writing 0 clears a finished job
        kRegFaultLo = 0x30,   // first faulting address, bits 31:0
        kRegFaultHi = 0x34,   // bits 63:32
        kRegBytesDone = 0x38, // bytes copied so far (written to DST)
    };
    enum Status : uint32_t { kIdle = 0, kBusy = 1, kDone = 2, kReadFault = 3, kWriteFault = 4 };
    static constexpr uint32_t kIdValue = 0x444D4131;
    static constexpr uint32_t kMaxLen = 1u << 20;
    static constexpr uint64_t kRegSpaceSize = 0x1000;
    static constexpr uint32_t kCtrlStart = 1u << 0;
    static constexpr uint32_t kCtrlIrqEnable = 1u << 1;
    static constexpr uint32_t kSubstreamSsv = 1u << 31;
    static constexpr uint32_t kSubstreamIdMask = (1u << 20) - 1;
    static constexpr uint32_t kAttrPriv = 1u << 0;
    static constexpr uint32_t kAttrExec = 1u << 1;

    tlm_utils::simple_target_socket<DmaMaster> reg_socket; // 4 KiB of registers
    tlm_utils::simple_initiator_socket<DmaMaster> socket;  // DMA traffic, toward the SMMU's upstream socket
    // Level: high while STATUS is done or faulted and CTRL.IRQ_ENABLE is set; low again when STATUS is
    // written 0 (or the enable is cleared).
    sc_core::sc_out<bool> irq;

    SC_HAS_PROCESS(DmaMaster);
    // chunk_bytes: largest transaction (a power of two, 1..4096; chunks never cross a 4 KiB page);
    // chunk_time: the master's own time per chunk, on top of what the SMMU and memory annotate.
    // in_flight: chunks the master keeps in flight at once (1..kMaxInFlight), each a read then a write on its
    // own lane; more than one lets a stalled transaction wait while the others go on.
    // Throws std::invalid_argument for a bad chunk size or lane count.
    DmaMaster(sc_core::sc_module_name name, uint32_t reset_stream_id, unsigned chunk_bytes = 64,
              sc_core::sc_time chunk_time = sc_core::sc_time(1, sc_core::SC_NS), unsigned in_flight = 1);
    static constexpr unsigned kMaxInFlight = 64;

    struct Counters {
        uint64_t jobs = 0;            // jobs started
        uint64_t bytes = 0;           // bytes written to destinations
        uint64_t faults = 0;          // jobs that ended with a read or write fault
        uint64_t rejected_starts = 0; // starts ignored: bad LEN or a job already running
        uint64_t transactions = 0;    // reads and writes issued
    };
    const Counters &counters() const { return counters_; }
    void stats(const std::function<void(const std::string &name, uint64_t value)> &cb) const;
    // Registers the statistics as `PREFIX.name` (PREFIX: the module name when empty).
    void register_stats(Stats &stats, const std::string &prefix = "") const;
    // Text trace (docs/trace.md): job start and end and IRQ edges as lines of component "dma" (the module
    // name); nullptr turns it off.
    void set_trace(Trace *trace) { trace_ = trace; }

  private:
    struct Job {
        uint64_t src = 0, dst = 0;
        uint32_t len = 0;
        uint32_t stream_id = 0, substream = 0, attr = 0;
    };

    void reg_b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    unsigned reg_transport_dbg(tlm::tlm_generic_payload &gp);
    uint32_t read_reg(uint64_t offset) const;
    // Applied at the write's annotated time (through writes_), so a started job and the IRQ follow the write
    // in simulated time.
    void write_reg(uint64_t offset, uint32_t value);
    // One transaction lane: its own payload, attributes and buffer, so lanes can be in flight together.
    struct Lane {
        tlm::tlm_generic_payload gp;
        TxnAttr *attr = nullptr; // owned by gp
        std::vector<unsigned char> buffer;
    };

    void lane_thread(unsigned index);
    void irq_method();
    bool transfer(Lane &lane, bool write, uint64_t addr, unsigned len, sc_core::sc_time &delay);
    void finish(Status status, uint64_t fault_addr);

    const unsigned chunk_bytes_;
    const sc_core::sc_time chunk_time_;
    const unsigned in_flight_;

    // Registers.
    uint64_t src_ = 0, dst_ = 0;
    uint32_t len_ = 0;
    uint32_t stream_id_;
    uint32_t substream_ = 0;
    uint32_t attr_ = 0;
    bool irq_enable_ = false;
    uint32_t status_ = kIdle;
    uint64_t fault_addr_ = 0;
    uint32_t bytes_done_ = 0;

    Job job_; // latched at start: register writes during a job do not change it
    // Progress of the running job across lanes.
    uint32_t next_offset_ = 0; // first byte not yet handed to a lane
    unsigned active_lanes_ = 0;
    bool job_running_ = false;
    bool stop_issuing_ = false; // a chunk faulted: no new chunks, the job ends when the others are back
    Status job_result_ = kDone;
    uint64_t job_fault_addr_ = 0;
    sc_core::sc_event work_event_;
    sc_core::sc_event irq_event_;
    TimedActions writes_;          // register writes, each applied at its annotated time
    TimedWriter<bool> irq_writer_; // the only writer of irq
    std::vector<Lane> lanes_;
    Counters counters_;
    Trace *trace_ = nullptr;
    bool irq_level_ = false; // last level written, for the trace's edges
};

} // namespace vp

#endif
