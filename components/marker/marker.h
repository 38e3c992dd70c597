// vp::FirmwareMarker: a register the firmware writes to mark where it is (virt: 0x0c01_0000, absent on QEMU).
// Each write shows as a value change of the `marker.value` signal at the write's simulated time and as a
// `marker: write` line of the text trace, so waveforms and traces can be read against the firmware's own
// phases (sw/lib fw_marker()).
#ifndef VP_MARKER_H
#define VP_MARKER_H

#include <cstdint>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "timed.h"
#include "trace.h"

namespace vp {

class FirmwareMarker : public sc_core::sc_module {
  public:
    // 32-bit little-endian registers; other sizes and offsets are answered with an error.
    enum Reg : uint64_t {
        kRegId = 0x00,     // RO kIdValue
        kRegValue = 0x04,  // RW: the marker; a write is the event
        kRegWrites = 0x08, // RO: writes to VALUE so far
    };
    static constexpr uint32_t kIdValue = 0x314B524D; // "MRK1" in memory order
    static constexpr uint64_t kRegSpaceSize = 0x1000;

    tlm_utils::simple_target_socket<FirmwareMarker> socket;

    explicit FirmwareMarker(sc_core::sc_module_name name);

    void set_trace(Trace *trace) { trace_ = trace; }
    // Adds `value` (the last value written) and `writes` (a count: a repeated value still shows).
    void trace(sc_core::sc_trace_file *tf);

    uint32_t value() const { return value_; }
    uint64_t writes() const { return writes_; }

  private:
    void b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay);
    unsigned transport_dbg(tlm::tlm_generic_payload &gp);

    uint32_t value_ = 0;
    uint64_t writes_ = 0;
    Trace *trace_ = nullptr;
    TimedSignal<uint32_t> value_signal_{"value"};
    TimedSignal<uint64_t> writes_signal_{"writes"};
};

} // namespace vp

#endif
