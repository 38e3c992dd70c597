#include "marker.h"

#include <cstdio>

#include "reg_access.h"

namespace vp {

FirmwareMarker::FirmwareMarker(sc_core::sc_module_name name) : sc_module(name), socket("socket") {
    socket.register_b_transport(this, &FirmwareMarker::b_transport);
    socket.register_transport_dbg(this, &FirmwareMarker::transport_dbg);
}

void FirmwareMarker::trace(sc_core::sc_trace_file *tf) {
    sc_core::sc_trace(tf, value_signal_, value_signal_.name());
    sc_core::sc_trace(tf, writes_signal_, writes_signal_.name());
}

void FirmwareMarker::b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay) {
    tlm::tlm_response_status status = check_register_access(gp, kRegSpaceSize);
    if (status == tlm::TLM_OK_RESPONSE && gp.get_data_length() != 4)
        status = tlm::TLM_GENERIC_ERROR_RESPONSE;
    if (status != tlm::TLM_OK_RESPONSE) {
        gp.set_response_status(status);
        return;
    }
    const uint64_t offset = gp.get_address();
    unsigned char *data = gp.get_data_ptr();
    if (gp.is_read()) {
        uint32_t v = 0;
        if (offset == kRegId)
            v = kIdValue;
        else if (offset == kRegValue)
            v = value_;
        else if (offset == kRegWrites)
            v = static_cast<uint32_t>(writes_);
        store_le(data, v, 4);
    } else if (offset == kRegValue) {
        // The access is made at its own time (the CPU synchronises before every device access), so the
        // signal and the trace line take sc_time_stamp() + delay, the write's simulated time.
        value_ = static_cast<uint32_t>(load_le(data, 4));
        ++writes_;
        const sc_core::sc_time at = sc_core::sc_time_stamp() + delay;
        value_signal_.write_at(at, value_);
        writes_signal_.write_at(at, writes_);
        if (trace_) {
            char fields[48];
            std::snprintf(fields, sizeof fields, "value=0x%x count=%llu", value_,
                          static_cast<unsigned long long>(writes_));
            trace_->line(at, name(), "write", fields);
        }
    }
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned FirmwareMarker::transport_dbg(tlm::tlm_generic_payload &gp) {
    if (!gp.is_read() || gp.get_data_length() != 4 || gp.get_address() > kRegWrites || gp.get_address() % 4)
        return 0;
    const uint64_t offset = gp.get_address();
    const uint32_t v = offset == kRegId      ? kIdValue
                       : offset == kRegValue ? value_
                                             : static_cast<uint32_t>(writes_);
    store_le(gp.get_data_ptr(), v, 4);
    return 4;
}

} // namespace vp
