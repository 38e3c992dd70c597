#include "router.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace vp {

Router::Router(sc_core::sc_module_name name, sc_core::sc_time latency)
    : sc_core::sc_module(name), target_socket("target_socket"), initiator_socket("initiator_socket"),
      latency_(latency) {
    target_socket.register_b_transport(this, &Router::b_transport);
    target_socket.register_get_direct_mem_ptr(this, &Router::get_direct_mem_ptr);
    target_socket.register_transport_dbg(this, &Router::transport_dbg);
    initiator_socket.register_invalidate_direct_mem_ptr(this, &Router::invalidate_direct_mem_ptr);
}

void Router::add_target(tlm::tlm_target_socket<> &target, uint64_t base, uint64_t size,
                        const std::string &name) {
    if (size == 0) {
        throw std::invalid_argument(std::string(this->name()) + ": window '" + name + "' has size zero");
    }
    if (size - 1 > std::numeric_limits<uint64_t>::max() - base) {
        throw std::invalid_argument(std::string(this->name()) + ": window '" + name +
                                    "' wraps past the end of the address space");
    }
    const uint64_t last = base + (size - 1);
    for (const Window &w : windows_) {
        if (base <= w.last() && w.base <= last) {
            throw std::invalid_argument(std::string(this->name()) + ": window '" + name + "' overlaps '" +
                                        w.name + "'");
        }
    }
    // Ports are numbered in binding order, so the next port index is the number of windows so far.
    const unsigned port = static_cast<unsigned>(windows_.size());
    initiator_socket.bind(target);
    windows_.push_back(Window{base, size, name, port});
}

const Router::Window *Router::decode(uint64_t addr, uint64_t len) const {
    for (const Window &w : windows_) {
        if (addr >= w.base && addr <= w.last()) {
            const uint64_t room = w.last() - addr; // bytes after addr still inside the window
            if (len != 0 && len - 1 > room) {
                return nullptr;
            }
            return &w;
        }
    }
    return nullptr;
}

const std::string *Router::region_name(uint64_t addr) const {
    const Window *w = decode(addr, 1);
    return w != nullptr ? &w->name : nullptr;
}

static uint64_t footprint_of(const tlm::tlm_generic_payload &trans) {
    const unsigned int len = trans.get_data_length();
    const unsigned int width = trans.get_streaming_width();
    return (width != 0 && width < len) ? width : len;
}

void Router::b_transport(int id, tlm::tlm_generic_payload &trans, sc_core::sc_time &delay) {
    (void)id;
    ++transactions_;
    const uint64_t addr = trans.get_address();
    const Window *w = decode(addr, std::max<uint64_t>(footprint_of(trans), 1));
    if (w == nullptr) {
        ++address_errors_;
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    delay += latency_;
    trans.set_address(addr - w->base);
    initiator_socket[w->port]->b_transport(trans, delay);
    // The initiator owns the payload and may reuse the address, so hand it back global.
    trans.set_address(addr);
}

bool Router::get_direct_mem_ptr(int id, tlm::tlm_generic_payload &trans, tlm::tlm_dmi &dmi) {
    (void)id;
    ++dmi_requests_;
    const uint64_t addr = trans.get_address();
    const Window *w = decode(addr, 1);
    if (w == nullptr) {
        // Deny only the address asked about: a neighbouring window may still grant DMI.
        dmi.set_start_address(addr);
        dmi.set_end_address(addr);
        return false;
    }
    trans.set_address(addr - w->base);
    const bool granted = initiator_socket[w->port]->get_direct_mem_ptr(trans, dmi);
    trans.set_address(addr);

    const uint64_t window_end_offset = w->size - 1;
    if (dmi.get_start_address() > window_end_offset || dmi.get_end_address() < dmi.get_start_address()) {
        // A range that lies wholly outside the window cannot be expressed globally; deny just this address.
        dmi.init();
        dmi.set_start_address(addr);
        dmi.set_end_address(addr);
        return false;
    }
    // The target speaks in offsets; clip to the window so the initiator never uses DMI beyond it.
    uint64_t start = dmi.get_start_address();
    uint64_t end = dmi.get_end_address();
    if (end > window_end_offset) {
        end = window_end_offset;
    }
    dmi.set_start_address(w->base + start);
    dmi.set_end_address(w->base + end);
    if (granted) {
        ++dmi_grants_;
        dmi.set_read_latency(dmi.get_read_latency() + latency_);
        dmi.set_write_latency(dmi.get_write_latency() + latency_);
    }
    return granted;
}

unsigned int Router::transport_dbg(int id, tlm::tlm_generic_payload &trans) {
    (void)id;
    ++debug_accesses_;
    const uint64_t addr = trans.get_address();
    const Window *w = decode(addr, 1);
    if (w == nullptr) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return 0;
    }
    // A debug access may run past the window; forward only the part inside it.
    const unsigned int len = trans.get_data_length();
    const uint64_t room = w->last() - addr + 1;
    const unsigned int clipped = room < len ? static_cast<unsigned int>(room) : len;
    trans.set_address(addr - w->base);
    trans.set_data_length(clipped);
    const unsigned int done = initiator_socket[w->port]->transport_dbg(trans);
    trans.set_data_length(len);
    trans.set_address(addr);
    return done;
}

void Router::invalidate_direct_mem_ptr(int port, sc_dt::uint64 start, sc_dt::uint64 end) {
    ++dmi_invalidations_;
    uint64_t global_start = 0;
    uint64_t global_end = std::numeric_limits<uint64_t>::max();
    for (const Window &w : windows_) {
        if (w.port != static_cast<unsigned>(port)) {
            continue;
        }
        if (start > w.size - 1) {
            return; // nothing the initiators could have been granted through this window
        }
        global_start = w.base + start;
        global_end = end > w.size - 1 ? w.last() : w.base + end;
        break;
    }
    for (unsigned int i = 0; i < target_socket.size(); ++i) {
        target_socket[i]->invalidate_direct_mem_ptr(global_start, global_end);
    }
}

void Router::register_stats(Stats &stats, const std::string &prefix) const {
    const std::string p = (prefix.empty() ? std::string(name()) : prefix) + ".";
    stats.counter(p + "transactions", &transactions_);
    stats.counter(p + "address_errors", &address_errors_);
    stats.counter(p + "dmi_requests", &dmi_requests_);
    stats.counter(p + "dmi_grants", &dmi_grants_);
    stats.counter(p + "dmi_invalidations", &dmi_invalidations_);
    stats.counter(p + "debug_accesses", &debug_accesses_);
}

} // namespace vp
