// A small LT initiator for component tests: it runs a test body in an SC_THREAD and offers typed helpers that
// go through its real TLM socket, so components are exercised exactly as a CPU or DMA master would.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

namespace vp_test {

class TestInitiator : public sc_core::sc_module {
  public:
    using Body = std::function<void(TestInitiator &)>;

    tlm_utils::simple_initiator_socket<TestInitiator> socket;

    TestInitiator(sc_core::sc_module_name name, Body body);

    // One b_transport annotated with DELAY (zero unless given; the returned delay is not waited for);
    // returns its response status. DATA must hold LEN bytes.
    tlm::tlm_response_status access(tlm::tlm_command cmd, uint64_t addr, void *data, unsigned len,
                                    const uint8_t *byte_enables = nullptr, unsigned byte_enable_len = 0,
                                    sc_core::sc_time delay = sc_core::SC_ZERO_TIME);
    tlm::tlm_response_status write(uint64_t addr, uint64_t value, unsigned len = 4);
    // A write annotated with DELAY (an initiator running ahead of the kernel); does not wait.
    tlm::tlm_response_status write_ahead(uint64_t addr, uint64_t value, const sc_core::sc_time &delay,
                                         unsigned len = 4);
    tlm::tlm_response_status read(uint64_t addr, uint64_t &value, unsigned len = 4);
    // Reads a 32-bit value, failing the current test if the access is not OK.
    uint32_t read32(uint64_t addr);
    void write32(uint64_t addr, uint32_t value);

    bool get_dmi(uint64_t addr, tlm::tlm_dmi &dmi);
    unsigned debug(tlm::tlm_command cmd, uint64_t addr, void *data, unsigned len);

    // Sum of the delays annotated by every b_transport so far.
    sc_core::sc_time annotated_delay() const { return annotated_delay_; }
    // Ranges received through invalidate_direct_mem_ptr, in order.
    const std::vector<std::pair<uint64_t, uint64_t>> &invalidations() const { return invalidations_; }
    bool finished() const { return finished_; }

  private:
    void run();
    void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);

    Body body_;
    sc_core::sc_time annotated_delay_;
    std::vector<std::pair<uint64_t, uint64_t>> invalidations_;
    bool finished_ = false;
};

} // namespace vp_test
