#include "ecam_stub.h"

#include <cstring>

namespace vp {

EcamStub::EcamStub(sc_core::sc_module_name name) : sc_module(name), socket("socket") {
    socket.register_b_transport(this, &EcamStub::b_transport);
    socket.register_transport_dbg(this, &EcamStub::transport_dbg);
}

unsigned int EcamStub::access(tlm::tlm_generic_payload &trans) {
    unsigned int length = trans.get_data_length();
    if (trans.is_read())
        std::memset(trans.get_data_ptr(), 0xff, length);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return length;
}

void EcamStub::b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay) {
    (void)delay;
    if (trans.is_read())
        reads_++;
    else if (trans.is_write())
        writes_++;
    access(trans);
}

unsigned int EcamStub::transport_dbg(tlm::tlm_generic_payload &trans) {
    return access(trans);
}

void EcamStub::dump_stats(std::ostream &os) const {
    os << name() << ".reads " << reads_ << "\n";
    os << name() << ".writes " << writes_ << "\n";
}

} // namespace vp
