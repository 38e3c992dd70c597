// Checks and byte-order helpers shared by register blocks made of 32- and 64-bit little-endian registers
// (SMMUv3, DMA test master, the PCIe shells): the rules for what such a block accepts live here once.
#pragma once

#include <cstdint>

#include <tlm>

namespace vp {

// TLM_OK_RESPONSE when `gp` is a plain read or write of 4 or 8 bytes, naturally aligned, all bytes enabled,
// inside [0, window_size); otherwise the status to answer with: an address error outside the window, a
// command error for an IGNORE command, a generic error for any other shape.
inline tlm::tlm_response_status check_register_access(const tlm::tlm_generic_payload &gp,
                                                      uint64_t window_size) {
    const uint64_t offset = gp.get_address();
    const unsigned len = gp.get_data_length();
    if (offset >= window_size || len > window_size - offset)
        return tlm::TLM_ADDRESS_ERROR_RESPONSE;
    if (!gp.is_read() && !gp.is_write())
        return tlm::TLM_COMMAND_ERROR_RESPONSE;
    if ((len != 4 && len != 8) || (offset & (len - 1)) != 0 || gp.get_streaming_width() < len)
        return tlm::TLM_GENERIC_ERROR_RESPONSE;
    if (const unsigned char *enables = gp.get_byte_enable_ptr()) {
        for (unsigned i = 0; i < gp.get_byte_enable_length(); ++i)
            if (enables[i] != TLM_BYTE_ENABLED)
                return tlm::TLM_GENERIC_ERROR_RESPONSE;
    }
    return tlm::TLM_OK_RESPONSE;
}

// A plain load or store as a CPU makes it: 1, 2 or 4 bytes (and 8 when allowed), naturally aligned, no byte
// enables. What PCIe configuration (up to 4 bytes) and BAR accesses (up to 8) take.
inline bool is_single_access(const tlm::tlm_generic_payload &gp, bool allow8 = true) {
    const unsigned len = gp.get_data_length();
    const bool size_ok = len == 1 || len == 2 || len == 4 || (allow8 && len == 8);
    return size_ok && gp.get_address() % len == 0 && gp.get_streaming_width() >= len &&
           gp.get_byte_enable_ptr() == nullptr;
}

inline uint64_t load_le(const unsigned char *bytes, unsigned len) {
    uint64_t value = 0;
    for (unsigned i = 0; i < len; ++i)
        value |= uint64_t{bytes[i]} << (8 * i);
    return value;
}

inline void store_le(unsigned char *bytes, uint64_t value, unsigned len) {
    for (unsigned i = 0; i < len; ++i)
        bytes[i] = static_cast<unsigned char>(value >> (8 * i));
}

} // namespace vp
