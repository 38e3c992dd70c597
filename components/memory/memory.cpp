#include "memory.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace vp {

Memory::Memory(sc_core::sc_module_name name, uint64_t size_bytes, sc_core::sc_time latency)
    : sc_core::sc_module(name), socket("socket"), storage_(nullptr), size_(size_bytes), latency_(latency) {
    if (size_bytes == 0) {
        throw std::invalid_argument(std::string(this->name()) + ": memory size must not be zero");
    }
    // calloc of a large block maps fresh zero pages lazily, so a 1 GiB RAM costs only what the guest touches.
    storage_ = static_cast<uint8_t *>(std::calloc(1, static_cast<size_t>(size_bytes)));
    if (storage_ == nullptr) {
        throw std::bad_alloc();
    }
    socket.register_b_transport(this, &Memory::b_transport);
    socket.register_get_direct_mem_ptr(this, &Memory::get_direct_mem_ptr);
    socket.register_transport_dbg(this, &Memory::transport_dbg);
}

Memory::~Memory() {
    std::free(storage_);
}

bool Memory::load(uint64_t offset, const void *src, size_t len) {
    if (!in_range(offset, len)) {
        return false;
    }
    if (len != 0) // an empty ELF segment may come with a null pointer, which memcpy must not see
        std::memcpy(storage_ + offset, src, len);
    return true;
}

bool Memory::peek(uint64_t offset, void *dst, size_t len) const {
    if (!in_range(offset, len)) {
        return false;
    }
    std::memcpy(dst, storage_ + offset, len);
    return true;
}

void Memory::b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay) {
    const uint64_t offset = trans.get_address();
    const unsigned int len = trans.get_data_length();
    const unsigned int streaming_width = trans.get_streaming_width();
    uint8_t *const ptr = trans.get_data_ptr();
    const uint8_t *const byte_enables = trans.get_byte_enable_ptr();
    const unsigned int be_len = trans.get_byte_enable_length();
    const tlm::tlm_command cmd = trans.get_command();

    if (cmd == tlm::TLM_IGNORE_COMMAND) {
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    // A streaming access touches only its first streaming_width bytes, repeatedly.
    const uint64_t footprint = (streaming_width != 0 && streaming_width < len) ? streaming_width : len;
    if (ptr == nullptr || len == 0 || !in_range(offset, footprint)) {
        ++address_errors_;
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    if (byte_enables != nullptr && be_len == 0) {
        trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        return;
    }

    if (byte_enables == nullptr && footprint == len) {
        // The common case (every DMA, walk and queue access): one copy.
        if (cmd == tlm::TLM_READ_COMMAND)
            std::memcpy(ptr, storage_ + offset, len);
        else
            std::memcpy(storage_ + offset, ptr, len);
    } else {
        for (unsigned int i = 0; i < len; ++i) {
            if (byte_enables != nullptr && byte_enables[i % be_len] != TLM_BYTE_ENABLED) {
                continue;
            }
            uint8_t *cell = storage_ + offset + (i % footprint);
            if (cmd == tlm::TLM_READ_COMMAND) {
                ptr[i] = *cell;
            } else {
                *cell = ptr[i];
            }
        }
    }
    if (cmd == tlm::TLM_READ_COMMAND) {
        ++reads_;
        bytes_read_ += len;
    } else {
        ++writes_;
        bytes_written_ += len;
    }
    delay += latency_;
    trans.set_dmi_allowed(true);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool Memory::get_direct_mem_ptr(tlm::tlm_generic_payload &trans, tlm::tlm_dmi &dmi) {
    (void)trans;
    ++dmi_grants_;
    dmi.set_dmi_ptr(storage_);
    dmi.set_start_address(0);
    dmi.set_end_address(size_ - 1);
    dmi.allow_read_write();
    dmi.set_read_latency(latency_);
    dmi.set_write_latency(latency_);
    return true;
}

unsigned int Memory::transport_dbg(tlm::tlm_generic_payload &trans) {
    const uint64_t offset = trans.get_address();
    uint8_t *const ptr = trans.get_data_ptr();
    ++debug_accesses_;
    if (ptr == nullptr || offset >= size_) {
        return 0;
    }
    const uint64_t available = size_ - offset;
    const unsigned int len =
        available < trans.get_data_length() ? static_cast<unsigned int>(available) : trans.get_data_length();
    if (trans.get_command() == tlm::TLM_READ_COMMAND) {
        std::memcpy(ptr, storage_ + offset, len);
    } else if (trans.get_command() == tlm::TLM_WRITE_COMMAND) {
        std::memcpy(storage_ + offset, ptr, len);
    } else {
        return 0;
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return len;
}

void Memory::register_stats(Stats &stats, const std::string &prefix) const {
    const std::string p = (prefix.empty() ? std::string(name()) : prefix) + ".";
    stats.counter(p + "reads", &reads_);
    stats.counter(p + "writes", &writes_);
    stats.counter(p + "bytes_read", &bytes_read_);
    stats.counter(p + "bytes_written", &bytes_written_);
    stats.counter(p + "address_errors", &address_errors_);
    stats.counter(p + "dmi_grants", &dmi_grants_);
    stats.counter(p + "debug_accesses", &debug_accesses_);
}

} // namespace vp
