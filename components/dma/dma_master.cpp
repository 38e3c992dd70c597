#include "dma_master.h"

#include "reg_access.h"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <stdexcept>

namespace vp {

using sc_core::sc_time;

namespace {
constexpr uint64_t kPageSize = 4096;

unsigned validated_chunk(unsigned chunk_bytes) {
    if (chunk_bytes == 0 || chunk_bytes > kPageSize || (chunk_bytes & (chunk_bytes - 1)) != 0)
        throw std::invalid_argument("DMA master: chunk size must be a power of two between 1 and 4096 bytes");
    return chunk_bytes;
}

unsigned validated_in_flight(unsigned in_flight) {
    if (in_flight == 0 || in_flight > DmaMaster::kMaxInFlight)
        throw std::invalid_argument("DMA master: transactions in flight must be between 1 and " +
                                    std::to_string(DmaMaster::kMaxInFlight));
    return in_flight;
}
} // namespace

DmaMaster::DmaMaster(sc_core::sc_module_name name, uint32_t reset_stream_id, unsigned chunk_bytes,
                     sc_time chunk_time, unsigned in_flight)
    : sc_module(name), reg_socket("reg_socket"), socket("socket"), irq("irq"),
      chunk_bytes_(validated_chunk(chunk_bytes)), chunk_time_(chunk_time),
      in_flight_(validated_in_flight(in_flight)), stream_id_(reset_stream_id), writes_("writes"),
      irq_writer_(irq, "irq"), lanes_(in_flight_) {
    reg_socket.register_b_transport(this, &DmaMaster::reg_b_transport);
    reg_socket.register_transport_dbg(this, &DmaMaster::reg_transport_dbg);
    for (unsigned i = 0; i < in_flight_; ++i) {
        lanes_[i].attr = new TxnAttr;
        lanes_[i].gp.set_extension(lanes_[i].attr);
        lanes_[i].buffer.resize(chunk_bytes_);
        sc_core::sc_spawn_options options;
        sc_core::sc_spawn([this, i] { lane_thread(i); }, sc_core::sc_gen_unique_name("lane"), &options);
    }
    SC_METHOD(irq_method);
    sensitive << irq_event_;
}

uint32_t DmaMaster::read_reg(uint64_t offset) const {
    switch (offset) {
    case kRegId:
        return kIdValue;
    case kRegSrcLo:
        return static_cast<uint32_t>(src_);
    case kRegSrcHi:
        return static_cast<uint32_t>(src_ >> 32);
    case kRegDstLo:
        return static_cast<uint32_t>(dst_);
    case kRegDstHi:
        return static_cast<uint32_t>(dst_ >> 32);
    case kRegLen:
        return len_;
    case kRegStreamId:
        return stream_id_;
    case kRegSubstream:
        return substream_;
    case kRegAttr:
        return attr_;
    case kRegCtrl:
        return irq_enable_ ? kCtrlIrqEnable : 0;
    case kRegStatus:
        return status_;
    case kRegFaultLo:
        return static_cast<uint32_t>(fault_addr_);
    case kRegFaultHi:
        return static_cast<uint32_t>(fault_addr_ >> 32);
    case kRegBytesDone:
        return bytes_done_;
    default:
        return 0; // reserved: RAZ/WI
    }
}

void DmaMaster::write_reg(uint64_t offset, uint32_t value) {
    switch (offset) {
    case kRegSrcLo:
        src_ = (src_ & ~uint64_t{0xFFFFFFFF}) | value;
        break;
    case kRegSrcHi:
        src_ = (src_ & uint64_t{0xFFFFFFFF}) | (uint64_t{value} << 32);
        break;
    case kRegDstLo:
        dst_ = (dst_ & ~uint64_t{0xFFFFFFFF}) | value;
        break;
    case kRegDstHi:
        dst_ = (dst_ & uint64_t{0xFFFFFFFF}) | (uint64_t{value} << 32);
        break;
    case kRegLen:
        len_ = value;
        break;
    case kRegStreamId:
        stream_id_ = value;
        break;
    case kRegSubstream:
        substream_ = value & (kSubstreamSsv | kSubstreamIdMask);
        break;
    case kRegAttr:
        attr_ = value & (kAttrPriv | kAttrExec);
        break;
    case kRegCtrl:
        irq_enable_ = (value & kCtrlIrqEnable) != 0;
        if (value & kCtrlStart) {
            // A bad length or a start while busy is ignored and leaves STATUS as it is: the firmware sees
            // the job never started instead of a fault that did not happen.
            if (status_ == kBusy || len_ == 0 || len_ > kMaxLen) {
                ++counters_.rejected_starts;
            } else {
                job_ = Job{src_, dst_, len_, stream_id_, substream_, attr_};
                status_ = kBusy;
                fault_addr_ = 0;
                bytes_done_ = 0;
                next_offset_ = 0;
                job_running_ = true;
                stop_issuing_ = false;
                job_result_ = kDone;
                job_fault_addr_ = 0;
                ++counters_.jobs;
                if (trace_ && trace_->wants(name(), "cmd_start")) {
                    char fields[160];
                    std::snprintf(fields, sizeof fields,
                                  "src=0x%llx dst=0x%llx len=0x%x sid=0x%x ssv=%d ssid=0x%x attr=0x%x",
                                  static_cast<unsigned long long>(job_.src),
                                  static_cast<unsigned long long>(job_.dst), job_.len, job_.stream_id,
                                  (job_.substream & kSubstreamSsv) ? 1 : 0, job_.substream & kSubstreamIdMask,
                                  job_.attr);
                    trace_->line(sc_core::sc_time_stamp(), name(), "cmd_start", fields);
                }
                work_event_.notify(sc_core::SC_ZERO_TIME); // now is the time of the write
            }
        }
        irq_event_.notify(sc_core::SC_ZERO_TIME);
        break;
    case kRegStatus:
        if (value == kIdle && status_ != kBusy) {
            status_ = kIdle;
            irq_event_.notify(sc_core::SC_ZERO_TIME);
        }
        break;
    default:
        break; // read-only or reserved
    }
}

void DmaMaster::reg_b_transport(tlm::tlm_generic_payload &gp, sc_time &delay) {
    const uint64_t offset = gp.get_address();
    const unsigned len = gp.get_data_length();
    unsigned char *data = gp.get_data_ptr();
    const tlm::tlm_response_status check = check_register_access(gp, kRegSpaceSize);
    if (check != tlm::TLM_OK_RESPONSE) {
        gp.set_response_status(check);
        return;
    }
    // A 64-bit access is the two 32-bit halves, low word first.
    for (unsigned word = 0; word < len; word += 4) {
        if (gp.is_read())
            store_le(data + word, read_reg(offset + word), 4);
        else
            writes_.after(
                delay, [this, reg = offset + word, value = static_cast<uint32_t>(load_le(data + word, 4))]() {
                    write_reg(reg, value);
                });
    }
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned DmaMaster::reg_transport_dbg(tlm::tlm_generic_payload &gp) {
    const uint64_t offset = gp.get_address();
    const unsigned len = gp.get_data_length();
    if (!gp.is_read() || offset >= kRegSpaceSize || len > kRegSpaceSize - offset)
        return 0;
    unsigned char *data = gp.get_data_ptr();
    for (unsigned i = 0; i < len; ++i)
        data[i] =
            static_cast<unsigned char>(read_reg((offset + i) & ~uint64_t{3}) >> (8 * ((offset + i) & 3)));
    return len;
}

bool DmaMaster::transfer(Lane &lane, bool write, uint64_t addr, unsigned len, sc_time &delay) {
    TxnAttr &attr = *lane.attr;
    tlm::tlm_generic_payload &gp = lane.gp;
    attr.stream_id = job_.stream_id;
    attr.substream_id = job_.substream & kSubstreamIdMask;
    attr.ssv = (job_.substream & kSubstreamSsv) != 0;
    attr.priv = (job_.attr & kAttrPriv) != 0;
    attr.exec = !write && (job_.attr & kAttrExec) != 0;
    gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(addr);
    gp.set_data_ptr(lane.buffer.data());
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    gp.set_byte_enable_ptr(nullptr);
    gp.set_byte_enable_length(0);
    gp.set_dmi_allowed(false);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    ++counters_.transactions;
    socket->b_transport(gp, delay);
    return gp.is_response_ok();
}

void DmaMaster::finish(Status status, uint64_t fault_addr) {
    status_ = status;
    fault_addr_ = fault_addr;
    if (status != kDone)
        ++counters_.faults;
    if (trace_ && trace_->wants(name(), "cmd_end")) {
        static const char *const kNames[] = {"idle", "busy", "done", "read_fault", "write_fault"};
        char fields[128];
        std::snprintf(fields, sizeof fields, "status=%s bytes=0x%x fault=0x%llx",
                      status <= kWriteFault ? kNames[status] : "?", bytes_done_,
                      static_cast<unsigned long long>(fault_addr));
        trace_->line(sc_core::sc_time_stamp(), name(), "cmd_end", fields);
    }
    irq_event_.notify(sc_core::SC_ZERO_TIME);
}

// Each lane takes the next chunk of the running job, copies it (a read, then a write) and synchronises, so
// software polling STATUS / BYTES_DONE sees the copy progress in time. The first fault stops the issue of new
// chunks; the job ends when the last lane in flight is back.
void DmaMaster::lane_thread(unsigned index) {
    Lane &lane = lanes_[index];
    for (;;) {
        while (!job_running_ || stop_issuing_ || next_offset_ >= job_.len)
            sc_core::wait(work_event_);
        const uint64_t src = job_.src + next_offset_;
        const uint64_t dst = job_.dst + next_offset_;
        // Never cross a 4 KiB page on either side: each transaction has a single translation.
        const uint64_t chunk = std::min({uint64_t{chunk_bytes_}, uint64_t{job_.len - next_offset_},
                                         kPageSize - (src % kPageSize), kPageSize - (dst % kPageSize)});
        const unsigned n = static_cast<unsigned>(chunk);
        next_offset_ += n;
        ++active_lanes_;
        if (in_flight_ > 1 && next_offset_ < job_.len)
            work_event_.notify(sc_core::SC_ZERO_TIME); // an idle lane can take the next chunk now
        sc_time delay = sc_core::SC_ZERO_TIME;
        bool ok = transfer(lane, false, src, n, delay);
        if (ok) {
            delay += chunk_time_;
            ok = transfer(lane, true, dst, n, delay);
        }
        if (!ok && !stop_issuing_) {
            stop_issuing_ = true;
            job_result_ = lane.gp.is_write() ? kWriteFault : kReadFault;
            job_fault_addr_ = lane.gp.is_write() ? dst : src;
        }
        if (delay != sc_core::SC_ZERO_TIME)
            sc_core::wait(delay);
        --active_lanes_;
        if (ok) {
            bytes_done_ += n;
            counters_.bytes += n;
        }
        if (active_lanes_ == 0 && (stop_issuing_ || next_offset_ >= job_.len)) {
            job_running_ = false;
            finish(job_result_, job_fault_addr_);
        }
    }
}

void DmaMaster::irq_method() {
    // Runs in the delta cycle after a state change, at the simulated time of that change.
    const bool finished = status_ == kDone || status_ == kReadFault || status_ == kWriteFault;
    const bool level = irq_enable_ && finished;
    irq_writer_.write_at(sc_core::sc_time_stamp(), level);
    if (level != irq_level_ && trace_)
        trace_->line(sc_core::sc_time_stamp(), name(), "irq", level ? "level=1" : "level=0");
    irq_level_ = level;
}

void DmaMaster::stats(const std::function<void(const std::string &, uint64_t)> &cb) const {
    cb("jobs", counters_.jobs);
    cb("bytes", counters_.bytes);
    cb("faults", counters_.faults);
    cb("rejected_starts", counters_.rejected_starts);
    cb("transactions", counters_.transactions);
}

void DmaMaster::register_stats(Stats &stats, const std::string &prefix) const {
    const std::string p = (prefix.empty() ? std::string(name()) : prefix) + ".";
    stats.counters_from(p.substr(0, p.size() - 1), [this](const auto &each) { this->stats(each); });
}

} // namespace vp
