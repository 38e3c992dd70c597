#include "elf_loader.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace vp {

namespace {

// ELF64 layout constants (System V ABI, AArch64 supplement).
constexpr size_t kElfHeaderSize = 64;
constexpr size_t kProgramHeaderSize = 56;
constexpr uint8_t kClass64 = 2;
constexpr uint8_t kLittleEndian = 1;
constexpr uint16_t kMachineAarch64 = 183;
constexpr uint16_t kTypeExec = 2;
constexpr uint16_t kTypeDyn = 3;
constexpr uint32_t kPtLoad = 1;

template <typename T>
T read_le(const std::vector<uint8_t> &bytes, size_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value); // the host is little-endian, like the file
    return value;
}

} // namespace

ElfImage read_elf(const std::string &path) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        throw ElfError("cannot read firmware '" + path + "': not a regular file");
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw ElfError("cannot read firmware '" + path + "'");
    std::vector<uint8_t> bytes;
    try {
        bytes.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    } catch (const std::exception &) {
        throw ElfError("cannot read firmware '" + path + "'");
    }
    if (file.bad())
        throw ElfError("cannot read firmware '" + path + "'");
    const std::string what = "firmware '" + path + "' ";
    if (bytes.size() < kElfHeaderSize || std::memcmp(bytes.data(),
                                                     "\x7f"
                                                     "ELF",
                                                     4) != 0)
        throw ElfError(what + "is not an ELF file");
    if (bytes[4] != kClass64 || bytes[5] != kLittleEndian)
        throw ElfError(what + "is not a little-endian ELF64 file");
    if (read_le<uint16_t>(bytes, 18) != kMachineAarch64)
        throw ElfError(what + "is not an AArch64 ELF (e_machine " +
                       std::to_string(read_le<uint16_t>(bytes, 18)) + ")");
    uint16_t type = read_le<uint16_t>(bytes, 16);
    if (type != kTypeExec && type != kTypeDyn)
        throw ElfError(what + "is not an executable ELF (e_type " + std::to_string(type) + ")");
    ElfImage image;
    image.entry = read_le<uint64_t>(bytes, 24);
    uint64_t phoff = read_le<uint64_t>(bytes, 32);
    uint16_t phentsize = read_le<uint16_t>(bytes, 54), phnum = read_le<uint16_t>(bytes, 56);
    if (phnum == 0 || phentsize < kProgramHeaderSize || phoff > bytes.size() ||
        (bytes.size() - phoff) / phentsize < phnum)
        throw ElfError(what + "has no valid program header table");
    for (unsigned i = 0; i < phnum; i++) {
        size_t header = phoff + static_cast<size_t>(i) * phentsize;
        if (read_le<uint32_t>(bytes, header) != kPtLoad)
            continue;
        uint64_t offset = read_le<uint64_t>(bytes, header + 8), paddr = read_le<uint64_t>(bytes, header + 24),
                 filesz = read_le<uint64_t>(bytes, header + 32),
                 memsz = read_le<uint64_t>(bytes, header + 40);
        if (filesz > memsz || offset > bytes.size() || filesz > bytes.size() - offset)
            throw ElfError(what + "has a corrupt PT_LOAD segment (program header " + std::to_string(i) + ")");
        if (memsz == 0)
            continue;
        ElfSegment segment{paddr,
                           std::vector<uint8_t>(bytes.begin() + static_cast<ptrdiff_t>(offset),
                                                bytes.begin() + static_cast<ptrdiff_t>(offset + filesz)),
                           memsz};
        image.segments.push_back(std::move(segment));
    }
    if (image.segments.empty())
        throw ElfError(what + "has no loadable segment");
    return image;
}

} // namespace vp
