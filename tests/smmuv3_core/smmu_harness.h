// Test harness for the SMMUv3 core: a sparse little-endian memory behind smmu_host_ops (with injectable
// aborts, recorded IRQ pulses and MSI writes), builders for stream tables, CDs and page tables that use the
// field masks of smmu_structs.h, and a tiny driver (queues, commands, events). Plain C++, no SystemC.
#ifndef SMMU_HARNESS_H
#define SMMU_HARNESS_H

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" {
#include "smmu.h"
#include "smmu_regs.h"
#include "smmu_structs.h"
}

namespace smmu_test {

class SparseMemory {
  public:
    void read(uint64_t pa, void *buf, unsigned len) const;
    void write(uint64_t pa, const void *buf, unsigned len);
    uint64_t read64(uint64_t pa) const;
    void write64(uint64_t pa, uint64_t v);
    uint32_t read32(uint64_t pa) const;
    // Accesses touching [lo, hi) fail with an external abort while the range is listed.
    void add_read_abort(uint64_t lo, uint64_t hi) { read_aborts_.push_back({lo, hi}); }
    void add_write_abort(uint64_t lo, uint64_t hi) { write_aborts_.push_back({lo, hi}); }
    void clear_aborts() {
        read_aborts_.clear();
        write_aborts_.clear();
    }
    bool read_aborts(uint64_t pa, unsigned len) const { return hits(read_aborts_, pa, len); }
    bool write_aborts(uint64_t pa, unsigned len) const { return hits(write_aborts_, pa, len); }

  private:
    struct Range {
        uint64_t lo, hi;
    };
    static bool hits(const std::vector<Range> &rs, uint64_t pa, unsigned len);
    std::unordered_map<uint64_t, std::array<uint8_t, 4096>> pages_;
    std::vector<Range> read_aborts_, write_aborts_;
};

// One stall_resolved call of the core.
struct StallResolution {
    uint32_t sid;
    uint16_t stag;
    smmu_stall_action action;
};

struct MsiWrite {
    uint64_t addr;
    uint32_t data;
};

// A decoded event record (fields taken with the smmu_structs.h masks).
struct Event {
    uint64_t raw[4];
    unsigned id() const { return (unsigned)SMMU_FIELD_GET(SMMU_EVT0_ID, raw[0]); }
    uint32_t sid() const { return (uint32_t)SMMU_FIELD_GET(SMMU_EVT0_SID, raw[0]); }
    bool ssv() const { return (raw[0] & SMMU_EVT0_SSV) != 0; }
    uint32_t ssid() const { return (uint32_t)SMMU_FIELD_GET(SMMU_EVT0_SSID, raw[0]); }
    bool rnw() const { return (raw[1] & SMMU_EVT1_RNW) != 0; }
    bool ind() const { return (raw[1] & SMMU_EVT1_IND) != 0; }
    bool pnu() const { return (raw[1] & SMMU_EVT1_PNU) != 0; }
    bool s2() const { return (raw[1] & SMMU_EVT1_S2) != 0; }
    unsigned cls() const { return (unsigned)SMMU_FIELD_GET(SMMU_EVT1_CLASS, raw[1]); }
    bool ttrnw() const { return (raw[1] & SMMU_EVT1_TTRNW) != 0; }
    uint64_t input_addr() const { return raw[2]; }
    uint64_t ipa() const { return SMMU_ADDR_GET(SMMU_EVT3_IPA, raw[3]); }
    uint64_t fetch_addr() const { return SMMU_ADDR_GET(SMMU_EVT3_FETCH_ADDR, raw[3]); }
};

// Descriptor bits of VMSAv8-64 translation tables (for building test tables).
constexpr uint64_t kDescValid = 1u << 0;
constexpr uint64_t kDescTable = 1u << 1; // table (levels 0-2) or page (level 3)
constexpr uint64_t kDescAp1 = 1u << 6;   // stage 1: unprivileged access; stage 2: S2AP read
constexpr uint64_t kDescAp2 = 1u << 7;   // stage 1: read-only; stage 2: S2AP write
constexpr uint64_t kDescShIsh = 3u << 8;
constexpr uint64_t kDescAf = 1u << 10;
constexpr uint64_t kDescNg = 1u << 11;
constexpr uint64_t kDescDbm = uint64_t(1) << 51;
constexpr uint64_t kDescPxn = uint64_t(1) << 53;
constexpr uint64_t kDescUxn = uint64_t(1) << 54;
constexpr uint64_t kS2MemAttrWb = 0xFu << 2;

// Stage-1 read/write for unprivileged accesses, non-global, AF set, Inner Shareable, MAIR index 0.
constexpr uint64_t kS1PageRw = kDescAf | kDescShIsh | kDescAp1 | kDescNg;
constexpr uint64_t kS1PageRo = kDescAf | kDescShIsh | kDescAp1 | kDescAp2 | kDescNg;
// Stage-2 read/write, Normal WB.
constexpr uint64_t kS2PageRw = kDescAf | kDescShIsh | kDescAp1 | kDescAp2 | kS2MemAttrWb;

class Harness;

// A 4 KB-granule translation table whose tables are allocated from the harness memory.
class PageTable {
  public:
    PageTable(Harness &h, int start_level);
    uint64_t root() const { return root_; }
    // Maps the page (leaf_level 3), or the block (level 1/2), containing `ia` to `pa` with `attrs` (no
    // address).
    void map(uint64_t ia, uint64_t pa, uint64_t attrs, int leaf_level = 3);
    // Address of the descriptor translating `ia` at `level` (tables must exist down to that level).
    uint64_t desc_addr(uint64_t ia, int level) const;

  private:
    Harness &h_;
    int start_level_;
    uint64_t root_;
};

struct StreamTableLayout {
    bool two_level = false;
    unsigned log2size = 8;
    unsigned split = 8;
};

class Harness {
  public:
    explicit Harness(const smmu_params *params = nullptr);
    ~Harness();
    Harness(const Harness &) = delete;
    Harness &operator=(const Harness &) = delete;

    smmu *s = nullptr;
    smmu_params params;
    SparseMemory mem;
    std::vector<std::string> trace;
    std::array<unsigned, SMMU_IRQ_COUNT> irq_pulses{};
    std::vector<MsiWrite> msis;
    std::vector<StallResolution> stall_resolutions;
    // Messages the core sent through send_msg (PRG responses, ATS invalidations), and what send_msg answers.
    std::vector<smmu_msg> sent_msgs;
    bool msgs_deliverable = true;
    // Simulated time the core sees (host now_ps), in picoseconds: tests move it to reach timeouts.
    uint64_t now_ps = 0;
    uint64_t time_ps = 0;
    unsigned translations_changed = 0;
    // Attributes of the latest access of each smmu_mem_kind (reads, writes and CAS), and how many there were.
    std::array<smmu_mem_attrs, SMMU_MEM_MSI + 1> last_attrs{};
    std::array<unsigned, SMMU_MEM_MSI + 1> accesses{};
    // Addresses of accesses that reached beyond IDR5.OAS (IHI0070 3.4.3 allows none).
    unsigned oas_bits = 48;
    std::vector<uint64_t> above_oas;

    // Bump allocator for tables and queues (4 KB aligned unless asked otherwise).
    uint64_t alloc(uint64_t size, uint64_t align = 4096);
    uint64_t alloc_aligned(uint64_t size); // aligned to max(size, 4 KiB)

    // Registers.
    uint32_t rd32(uint64_t off);
    uint64_t rd64(uint64_t off);
    void wr32(uint64_t off, uint32_t v);
    void wr64(uint64_t off, uint64_t v);

    // Driver: queues of 2^log2 entries, stream table, enabling.
    uint64_t cmdq_base = 0, evtq_base = 0;
    unsigned cmdq_log2 = 0, evtq_log2 = 0;
    void setup_queues(unsigned cmdq_log2 = 6, unsigned evtq_log2 = 6);
    uint64_t strtab_base = 0;
    StreamTableLayout st;
    void setup_stream_table(const StreamTableLayout &layout);
    // For a 2-level table: allocates and installs the leaf table covering sid (Span = SPLIT + 1).
    uint64_t install_l2(uint32_t sid);
    void enable(uint32_t extra_cr0 = 0);
    // Everything a typical test needs: queues, linear stream table, SMMUEN.
    void bring_up(const StreamTableLayout &layout = {});

    // Commands.
    void push_cmd(uint64_t d0, uint64_t d1); // writes at PROD, does not publish
    void publish();                          // writes CMDQ_PROD
    void cmd(uint64_t d0, uint64_t d1 = 0) {
        push_cmd(d0, d1);
        publish();
    }
    void sync();
    void cfgi_ste(uint32_t sid, bool leaf = true);
    void cfgi_cd(uint32_t sid, uint32_t ssid, bool leaf = true);
    void cfgi_all();
    uint32_t cmdq_cons_err();

    // Events.
    std::vector<Event> events(); // consumes everything between CONS and PROD

    // Stream table entries and CDs.
    uint64_t ste_addr(uint32_t sid);
    void write_ste(uint32_t sid, const std::array<uint64_t, 8> &d);
    static std::array<uint64_t, 8> ste_bypass();
    static std::array<uint64_t, 8> ste_abort();
    static std::array<uint64_t, 8> ste_s1(uint64_t ctx_ptr, unsigned cdmax = 0, unsigned fmt = 0,
                                          unsigned dss = 0);
    std::array<uint64_t, 8> ste_s2(uint64_t s2ttb, uint16_t vmid);
    static std::array<uint64_t, 8> cd(uint64_t ttb0, uint16_t asid);
    void write_cd(uint64_t addr, const std::array<uint64_t, 8> &d);

    // Transactions.
    smmu_result translate(uint32_t sid, uint64_t addr, bool write = false, bool ssv = false,
                          uint32_t ssid = 0, smmu_pcie_at at = SMMU_AT_UNTRANSLATED, bool priv = false,
                          bool exec = false);

    uint64_t stat(const std::string &name);
    std::map<std::string, uint64_t> stats();

  private:
    uint64_t next_alloc_ = 0x80000000ull;
    smmu_host_ops ops_{};
    uint32_t pending_prod_ = 0;
    bool pending_prod_valid_ = false;
};

// Commonly used stage-1 set-up: a stream with one CD (ASID asid) whose TTB0 table is returned.
struct S1Stream {
    uint64_t cd_addr;
    std::unique_ptr<PageTable> pt;
};
S1Stream make_s1_stream(Harness &h, uint32_t sid, uint16_t asid);

} // namespace smmu_test

#endif
