// A DMA requester for the SMMU shell tests: runs a test body in an SC_THREAD and issues upstream transactions
// that carry a vp::TxnAttr, records the DMI invalidations it receives.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "txn_attr.h"

namespace vp_test {

class Requester : public sc_core::sc_module {
  public:
    using Body = std::function<void(Requester &)>;

    tlm_utils::simple_initiator_socket<Requester> socket;

    Requester(sc_core::sc_module_name name, Body body)
        : sc_module(name), socket("socket"), body_(std::move(body)) {
        socket.register_invalidate_direct_mem_ptr(this, &Requester::invalidate_direct_mem_ptr);
        SC_HAS_PROCESS(Requester);
        SC_THREAD(run);
    }

    // One upstream transaction; attr == nullptr sends it without the extension. The payload's DMI hint is
    // kept.
    tlm::tlm_response_status access(tlm::tlm_command cmd, uint64_t addr, void *data, unsigned len,
                                    const vp::TxnAttr *attr) {
        tlm::tlm_generic_payload gp;
        gp.set_command(cmd);
        gp.set_address(addr);
        gp.set_data_ptr(static_cast<unsigned char *>(data));
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        vp::TxnAttr ext;
        if (attr) {
            ext = *attr;
            gp.set_extension(&ext);
        }
        sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
        socket->b_transport(gp, delay);
        if (attr)
            gp.clear_extension(&ext); // stack-owned: the payload must not free it
        last_address_ = gp.get_address();
        last_dmi_allowed_ = gp.is_dmi_allowed();
        last_delay_ = delay;
        sc_core::wait(delay);
        return gp.get_response_status();
    }
    tlm::tlm_response_status write(uint64_t addr, const std::vector<uint8_t> &bytes,
                                   const vp::TxnAttr &attr) {
        std::vector<uint8_t> copy(bytes);
        return access(tlm::TLM_WRITE_COMMAND, addr, copy.data(), static_cast<unsigned>(copy.size()), &attr);
    }
    tlm::tlm_response_status read(uint64_t addr, std::vector<uint8_t> &bytes, const vp::TxnAttr &attr) {
        return access(tlm::TLM_READ_COMMAND, addr, bytes.data(), static_cast<unsigned>(bytes.size()), &attr);
    }

    bool get_dmi(uint64_t addr, bool write, const vp::TxnAttr &attr, tlm::tlm_dmi &dmi) {
        tlm::tlm_generic_payload gp;
        gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        gp.set_address(addr);
        vp::TxnAttr ext = attr;
        gp.set_extension(&ext);
        dmi.init();
        const bool granted = socket->get_direct_mem_ptr(gp, dmi);
        gp.clear_extension(&ext);
        return granted;
    }

    uint64_t last_address() const { return last_address_; }
    bool last_dmi_allowed() const { return last_dmi_allowed_; }
    sc_core::sc_time last_delay() const { return last_delay_; }
    const std::vector<std::pair<uint64_t, uint64_t>> &invalidations() const { return invalidations_; }
    bool finished() const { return finished_; }

  private:
    void run() {
        if (body_)
            body_(*this);
        finished_ = true;
    }
    void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
        invalidations_.emplace_back(start, end);
    }

    Body body_;
    uint64_t last_address_ = 0;
    bool last_dmi_allowed_ = false;
    sc_core::sc_time last_delay_;
    std::vector<std::pair<uint64_t, uint64_t>> invalidations_;
    bool finished_ = false;
};

} // namespace vp_test
