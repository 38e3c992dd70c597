// Placeholder for the PCIe ECAM window until the root complex exists: every read returns all-ones (no device
// on any bus, as config reads of absent functions do), writes are ignored.
#pragma once

#include <cstdint>
#include <ostream>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

namespace vp {

class EcamStub : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<EcamStub> socket;

    explicit EcamStub(sc_core::sc_module_name name);

    uint64_t reads() const { return reads_; }
    uint64_t writes() const { return writes_; }
    void dump_stats(std::ostream &os) const;

  private:
    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    unsigned int transport_dbg(tlm::tlm_generic_payload &trans);
    unsigned int access(tlm::tlm_generic_payload &trans);

    uint64_t reads_ = 0;
    uint64_t writes_ = 0;
};

} // namespace vp
