#include "test_initiator.h"

#include <gtest/gtest.h>

// libsystemc references sc_main; GoogleTest provides main(), so this is never called.
int sc_main(int, char **) {
    return 0;
}

namespace vp_test {

TestInitiator::TestInitiator(sc_core::sc_module_name name, Body body)
    : sc_core::sc_module(name), socket("socket"), body_(std::move(body)) {
    socket.register_invalidate_direct_mem_ptr(this, &TestInitiator::invalidate_direct_mem_ptr);
    SC_HAS_PROCESS(TestInitiator);
    SC_THREAD(run);
}

void TestInitiator::run() {
    if (body_) {
        body_(*this);
    }
    finished_ = true;
}

tlm::tlm_response_status TestInitiator::access(tlm::tlm_command cmd, uint64_t addr, void *data, unsigned len,
                                               const uint8_t *byte_enables, unsigned byte_enable_len,
                                               sc_core::sc_time delay) {
    tlm::tlm_generic_payload trans;
    trans.set_command(cmd);
    trans.set_address(addr);
    trans.set_data_ptr(static_cast<unsigned char *>(data));
    trans.set_data_length(len);
    trans.set_streaming_width(len);
    trans.set_byte_enable_ptr(const_cast<uint8_t *>(byte_enables));
    trans.set_byte_enable_length(byte_enable_len);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    const sc_core::sc_time before = delay;
    socket->b_transport(trans, delay);
    annotated_delay_ += delay - before;
    EXPECT_EQ(trans.get_address(), addr) << "the payload address must come back unchanged";
    return trans.get_response_status();
}

tlm::tlm_response_status TestInitiator::write(uint64_t addr, uint64_t value, unsigned len) {
    uint8_t bytes[8] = {};
    for (unsigned i = 0; i < len && i < 8; ++i) {
        bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    }
    return access(tlm::TLM_WRITE_COMMAND, addr, bytes, len);
}

tlm::tlm_response_status TestInitiator::write_ahead(uint64_t addr, uint64_t value,
                                                    const sc_core::sc_time &delay, unsigned len) {
    uint8_t bytes[8] = {};
    for (unsigned i = 0; i < len && i < 8; ++i) {
        bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    }
    return access(tlm::TLM_WRITE_COMMAND, addr, bytes, len, nullptr, 0, delay);
}

tlm::tlm_response_status TestInitiator::read(uint64_t addr, uint64_t &value, unsigned len) {
    uint8_t bytes[8] = {};
    const tlm::tlm_response_status status = access(tlm::TLM_READ_COMMAND, addr, bytes, len);
    value = 0;
    for (unsigned i = 0; i < len && i < 8; ++i) {
        value |= uint64_t{bytes[i]} << (8 * i);
    }
    return status;
}

uint32_t TestInitiator::read32(uint64_t addr) {
    uint64_t value = 0;
    EXPECT_EQ(read(addr, value, 4), tlm::TLM_OK_RESPONSE) << "read32 at 0x" << std::hex << addr;
    return static_cast<uint32_t>(value);
}

void TestInitiator::write32(uint64_t addr, uint32_t value) {
    EXPECT_EQ(write(addr, value, 4), tlm::TLM_OK_RESPONSE) << "write32 at 0x" << std::hex << addr;
}

bool TestInitiator::get_dmi(uint64_t addr, tlm::tlm_dmi &dmi) {
    tlm::tlm_generic_payload trans;
    trans.set_command(tlm::TLM_READ_COMMAND);
    trans.set_address(addr);
    dmi.init();
    return socket->get_direct_mem_ptr(trans, dmi);
}

unsigned TestInitiator::debug(tlm::tlm_command cmd, uint64_t addr, void *data, unsigned len) {
    tlm::tlm_generic_payload trans;
    trans.set_command(cmd);
    trans.set_address(addr);
    trans.set_data_ptr(static_cast<unsigned char *>(data));
    trans.set_data_length(len);
    trans.set_streaming_width(len);
    return socket->transport_dbg(trans);
}

void TestInitiator::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
    invalidations_.emplace_back(start, end);
}

} // namespace vp_test
