// Address-decoding interconnect: any number of initiators, one window per target, base stripped on the way
// down and DMI ranges translated back to global addresses on the way up.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "stats.h"

namespace vp {

class Router : public sc_core::sc_module {
  public:
    tlm_utils::multi_passthrough_target_socket<Router> target_socket;
    tlm_utils::multi_passthrough_initiator_socket<Router> initiator_socket;

    explicit Router(sc_core::sc_module_name name, sc_core::sc_time latency = sc_core::SC_ZERO_TIME);

    // Binds initiator_socket to TARGET and maps [base, base + size) onto it. Throws std::invalid_argument for
    // an empty, wrapping or overlapping window. Call during elaboration only.
    void add_target(tlm::tlm_target_socket<> &target, uint64_t base, uint64_t size, const std::string &name);

    const std::string *region_name(uint64_t addr) const;

    uint64_t transactions() const { return transactions_; }
    uint64_t address_errors() const { return address_errors_; }
    uint64_t dmi_requests() const { return dmi_requests_; }
    uint64_t dmi_grants() const { return dmi_grants_; }
    uint64_t dmi_invalidations() const { return dmi_invalidations_; }
    uint64_t debug_accesses() const { return debug_accesses_; }
    // Registers the statistics as `PREFIX.name` (PREFIX: the module name when empty).
    void register_stats(Stats &stats, const std::string &prefix = "") const;

  private:
    struct Window {
        uint64_t base;
        uint64_t size;
        std::string name;
        unsigned port; // index into initiator_socket
        uint64_t last() const { return base + (size - 1); }
    };

    // The window holding [addr, addr + len), or nullptr when unmapped or crossing a window end.
    const Window *decode(uint64_t addr, uint64_t len) const;

    void b_transport(int id, tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload &trans, tlm::tlm_dmi &dmi);
    unsigned int transport_dbg(int id, tlm::tlm_generic_payload &trans);
    void invalidate_direct_mem_ptr(int port, sc_dt::uint64 start, sc_dt::uint64 end);

    sc_core::sc_time latency_;
    std::vector<Window> windows_;

    uint64_t transactions_ = 0;
    uint64_t address_errors_ = 0;
    uint64_t dmi_requests_ = 0;
    uint64_t dmi_grants_ = 0;
    uint64_t dmi_invalidations_ = 0;
    uint64_t debug_accesses_ = 0;
};

} // namespace vp
