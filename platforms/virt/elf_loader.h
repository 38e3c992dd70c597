// Reads the loadable part of an AArch64 ELF64 little-endian executable (our own parser: PT_LOAD segments at
// their physical addresses, entry point).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace vp {

// The file is missing, unreadable or not an AArch64 ELF64 executable; what() says which, in one line.
class ElfError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ElfSegment {
    uint64_t address;          // p_paddr
    std::vector<uint8_t> data; // p_filesz bytes
    uint64_t memory_size;      // p_memsz >= data.size(); the rest is BSS (zero)
};

struct ElfImage {
    uint64_t entry = 0;
    std::vector<ElfSegment> segments;
};

ElfImage read_elf(const std::string &path);

} // namespace vp
