#include "pl011.h"

#include <cstring>
#include <stdexcept>

namespace vp {

namespace {

constexpr uint32_t kRisMask = 0x7FF;
constexpr uint8_t kPeriphId[4] = {0x11, 0x10, 0x14, 0x00};
constexpr uint8_t kPrimeCellId[4] = {0x0D, 0xF0, 0x05, 0xB1};

// Lanes of a 32-bit register touched by an access of LEN bytes at byte LANE.
uint32_t lane_mask(unsigned lane, unsigned len) {
    const uint32_t ones = len >= 4 ? 0xFFFFFFFFu : ((1u << (8 * len)) - 1);
    return ones << (8 * lane);
}

} // namespace

Pl011::Pl011(sc_core::sc_module_name name, std::ostream *out)
    : sc_core::sc_module(name), socket("socket"), irq("irq"), out_(out), writes_("writes"),
      irq_writer_(irq, "irq") {
    socket.register_b_transport(this, &Pl011::b_transport);
    socket.register_transport_dbg(this, &Pl011::transport_dbg);
    SC_HAS_PROCESS(Pl011);
    SC_METHOD(drive_irq);
    sensitive << irq_changed_;
}

void Pl011::tee_to_file(const std::string &path) {
    tee_.close();
    tee_.clear();
    tee_.open(path, std::ios::out | std::ios::trunc | std::ios::binary);
    if (!tee_.is_open()) {
        throw std::runtime_error(std::string(name()) + ": cannot open UART output file '" + path + "'");
    }
}

void Pl011::drive_irq() {
    // Runs in the delta cycle after a register write took effect, at the simulated time of that write.
    irq_writer_.write_at(sc_core::sc_time_stamp(), (ris_ & imsc_) != 0);
}

void Pl011::transmit(uint8_t byte) {
    const char c = static_cast<char>(byte);
    output_.push_back(c);
    ++bytes_transmitted_;
    if (out_ != nullptr) {
        out_->put(c);
        out_->flush();
    }
    if (tee_.is_open()) {
        tee_.put(c);
        tee_.flush();
    }
    // The byte leaves at once, so the transmit FIFO is below its trigger level again.
    ris_ |= kIntTx;
}

uint32_t Pl011::read_register(uint64_t word_offset) const {
    switch (word_offset) {
    case kDR:
        return 0; // nothing is ever received
    case kRSR:
        return 0;
    case kFR:
        return kFlagTxEmpty | kFlagRxEmpty;
    case kILPR:
        return ilpr_;
    case kIBRD:
        return ibrd_;
    case kFBRD:
        return fbrd_;
    case kLCR_H:
        return lcr_h_;
    case kCR:
        return cr_;
    case kIFLS:
        return ifls_;
    case kIMSC:
        return imsc_;
    case kRIS:
        return ris_;
    case kMIS:
        return ris_ & imsc_;
    case kDMACR:
        return dmacr_;
    default:
        break;
    }
    if (word_offset >= 0xFE0 && word_offset <= 0xFEC) {
        return kPeriphId[(word_offset - 0xFE0) / 4];
    }
    if (word_offset >= 0xFF0 && word_offset <= 0xFFC) {
        return kPrimeCellId[(word_offset - 0xFF0) / 4];
    }
    return 0; // reserved offsets read as zero
}

void Pl011::write_register(uint64_t word_offset, uint32_t value, uint32_t byte_mask) {
    // Narrow writes update only their own lanes of the register.
    auto merge = [&](uint32_t old_value) { return (old_value & ~byte_mask) | (value & byte_mask); };
    switch (word_offset) {
    case kDR:
        // Transmit regardless of CR.UARTEN/TXE, as QEMU does, so early boot code that skips set-up still
        // prints.
        if (byte_mask & 0xFF) {
            transmit(static_cast<uint8_t>(value));
        }
        break;
    case kILPR:
        ilpr_ = merge(ilpr_) & 0xFF;
        break;
    case kIBRD:
        ibrd_ = merge(ibrd_) & 0xFFFF;
        break;
    case kFBRD:
        fbrd_ = merge(fbrd_) & 0x3F;
        break;
    case kLCR_H:
        lcr_h_ = merge(lcr_h_) & 0xFF;
        break;
    case kCR:
        cr_ = merge(cr_) & 0xFF87; // bits 3..6 are reserved
        break;
    case kIFLS:
        ifls_ = merge(ifls_) & 0x3F;
        break;
    case kIMSC:
        imsc_ = merge(imsc_) & kRisMask;
        break;
    case kICR:
        ris_ &= ~(value & byte_mask & kRisMask);
        break;
    case kDMACR:
        dmacr_ = merge(dmacr_) & 0x7;
        break;
    default:
        break; // RSR/ECR clear (nothing to clear), read-only and reserved offsets ignore writes
    }
    irq_changed_.notify(sc_core::SC_ZERO_TIME);
}

void Pl011::b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay) {
    const uint64_t offset = trans.get_address();
    const unsigned int len = trans.get_data_length();
    uint8_t *const ptr = trans.get_data_ptr();
    const tlm::tlm_command cmd = trans.get_command();

    if (cmd == tlm::TLM_IGNORE_COMMAND) {
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    if (offset >= kFrameSize) {
        ++bad_accesses_;
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    if (trans.get_byte_enable_ptr() != nullptr) {
        ++bad_accesses_;
        trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        return;
    }
    // Registers take naturally aligned 8/16/32-bit accesses; anything else is a bus error, never a crash.
    const bool size_ok = len == 1 || len == 2 || len == 4;
    if (ptr == nullptr || !size_ok || offset % len != 0 || trans.get_streaming_width() < len) {
        ++bad_accesses_;
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    const uint64_t word_offset = offset & ~uint64_t{3};
    const unsigned lane = static_cast<unsigned>(offset & 3);
    if (cmd == tlm::TLM_READ_COMMAND) {
        ++register_reads_;
        const uint32_t value = read_register(word_offset) >> (8 * lane);
        for (unsigned int i = 0; i < len; ++i) {
            ptr[i] = static_cast<uint8_t>(value >> (8 * i));
        }
    } else {
        ++register_writes_;
        uint32_t value = 0;
        for (unsigned int i = 0; i < len; ++i) {
            value |= uint32_t{ptr[i]} << (8 * i);
        }
        // Takes effect (transmits, changes RIS and the IRQ) at the write's annotated time.
        const uint32_t mask = lane_mask(lane, len);
        value <<= 8 * lane;
        writes_.after(delay,
                      [this, word_offset, value, mask]() { write_register(word_offset, value, mask); });
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned int Pl011::transport_dbg(tlm::tlm_generic_payload &trans) {
    // Debug reads have no side effects here; debug writes would transmit, so they are refused.
    if (trans.get_command() != tlm::TLM_READ_COMMAND || trans.get_data_ptr() == nullptr) {
        return 0;
    }
    const uint64_t offset = trans.get_address();
    unsigned int done = 0;
    for (; done < trans.get_data_length() && offset + done < kFrameSize; ++done) {
        const uint64_t byte_offset = offset + done;
        trans.get_data_ptr()[done] =
            static_cast<uint8_t>(read_register(byte_offset & ~uint64_t{3}) >> (8 * (byte_offset & 3)));
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return done;
}

void Pl011::register_stats(Stats &stats, const std::string &prefix) const {
    const std::string p = (prefix.empty() ? std::string(name()) : prefix) + ".";
    stats.counter(p + "bytes_transmitted", &bytes_transmitted_);
    stats.counter(p + "register_reads", &register_reads_);
    stats.counter(p + "register_writes", &register_writes_);
    stats.counter(p + "bad_accesses", &bad_accesses_);
}

} // namespace vp
