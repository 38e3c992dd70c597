// RAM target: a flat, zero-filled byte array behind an LT TLM-2.0 socket, with DMI over the whole range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "stats.h"

namespace vp {

class Memory : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<Memory> socket;

    Memory(sc_core::sc_module_name name, uint64_t size_bytes,
           sc_core::sc_time latency = sc_core::sc_time(20, sc_core::SC_NS));
    ~Memory() override;
    Memory(const Memory &) = delete;
    Memory &operator=(const Memory &) = delete;

    uint8_t *data() { return storage_; }
    uint64_t size() const { return size_; }

    // Backdoor access (no timing, no statistics); false if the range does not fit.
    bool load(uint64_t offset, const void *src, size_t len);
    bool peek(uint64_t offset, void *dst, size_t len) const;

    uint64_t reads() const { return reads_; }
    uint64_t writes() const { return writes_; }
    uint64_t bytes_read() const { return bytes_read_; }
    uint64_t bytes_written() const { return bytes_written_; }
    uint64_t address_errors() const { return address_errors_; }
    uint64_t dmi_grants() const { return dmi_grants_; }
    uint64_t debug_accesses() const { return debug_accesses_; }
    // Registers the statistics as `PREFIX.name` (PREFIX: the module name when empty).
    void register_stats(Stats &stats, const std::string &prefix = "") const;

  private:
    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    bool get_direct_mem_ptr(tlm::tlm_generic_payload &trans, tlm::tlm_dmi &dmi);
    unsigned int transport_dbg(tlm::tlm_generic_payload &trans);
    bool in_range(uint64_t offset, uint64_t len) const { return offset <= size_ && len <= size_ - offset; }

    uint8_t *storage_;
    uint64_t size_;
    sc_core::sc_time latency_;

    uint64_t reads_ = 0;
    uint64_t writes_ = 0;
    uint64_t bytes_read_ = 0;
    uint64_t bytes_written_ = 0;
    uint64_t address_errors_ = 0;
    uint64_t dmi_grants_ = 0;
    uint64_t debug_accesses_ = 0;
};

} // namespace vp
