// Transmit-only PL011 UART: every byte written to DR goes out at once, the FIFOs always look empty.
#pragma once

#include <cstdint>
#include <fstream>
#include <ostream>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "stats.h"
#include "timed.h"

namespace vp {

class Pl011 : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<Pl011> socket;
    sc_core::sc_out<bool> irq; // UARTINTR: (RIS & IMSC) != 0

    // Register offsets (from the 4 KiB frame base).
    static constexpr uint64_t kDR = 0x000;
    static constexpr uint64_t kRSR = 0x004;
    static constexpr uint64_t kFR = 0x018;
    static constexpr uint64_t kILPR = 0x020;
    static constexpr uint64_t kIBRD = 0x024;
    static constexpr uint64_t kFBRD = 0x028;
    static constexpr uint64_t kLCR_H = 0x02C;
    static constexpr uint64_t kCR = 0x030;
    static constexpr uint64_t kIFLS = 0x034;
    static constexpr uint64_t kIMSC = 0x038;
    static constexpr uint64_t kRIS = 0x03C;
    static constexpr uint64_t kMIS = 0x040;
    static constexpr uint64_t kICR = 0x044;
    static constexpr uint64_t kDMACR = 0x048;
    static constexpr uint64_t kFrameSize = 0x1000;

    static constexpr uint32_t kFlagTxEmpty = 1u << 7;
    static constexpr uint32_t kFlagRxEmpty = 1u << 4;
    static constexpr uint32_t kIntTx = 1u << 5;

    explicit Pl011(sc_core::sc_module_name name, std::ostream *out = &std::cout);

    // Also copies every transmitted byte to PATH (truncated first). Throws std::runtime_error if it cannot
    // open.
    void tee_to_file(const std::string &path);
    const std::string &output() const { return output_; }

    uint64_t bytes_transmitted() const { return bytes_transmitted_; }
    uint64_t register_reads() const { return register_reads_; }
    uint64_t register_writes() const { return register_writes_; }
    uint64_t bad_accesses() const { return bad_accesses_; }
    // Registers the statistics as `PREFIX.name` (PREFIX: the module name when empty).
    void register_stats(Stats &stats, const std::string &prefix = "") const;

  private:
    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    unsigned int transport_dbg(tlm::tlm_generic_payload &trans);
    uint32_t read_register(uint64_t word_offset) const;
    void write_register(uint64_t word_offset, uint32_t value, uint32_t byte_mask);
    void transmit(uint8_t byte);
    void drive_irq();

    std::ostream *out_;
    std::ofstream tee_;
    std::string output_;
    sc_core::sc_event irq_changed_;
    TimedActions writes_;          // register writes (and transmissions), each at its annotated time
    TimedWriter<bool> irq_writer_; // the only writer of irq

    uint32_t ibrd_ = 0;
    uint32_t fbrd_ = 0;
    uint32_t lcr_h_ = 0;
    uint32_t cr_ = 0x300; // TXE and RXE set out of reset
    uint32_t ifls_ = 0x12;
    uint32_t imsc_ = 0;
    uint32_t ris_ = 0;
    uint32_t dmacr_ = 0;
    uint32_t ilpr_ = 0;

    uint64_t bytes_transmitted_ = 0;
    uint64_t register_reads_ = 0;
    uint64_t register_writes_ = 0;
    uint64_t bad_accesses_ = 0;
};

} // namespace vp
