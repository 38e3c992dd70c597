// Test doubles for the translation engine: a sparse memory host with injectable aborts and a page-table
// builder that lays out VMSAv8-64 tables for any granule, start level and leaf level.
#ifndef ENGINE_TEST_SUPPORT_H
#define ENGINE_TEST_SUPPORT_H

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "smmu_xlate.h"

namespace engine_test {

constexpr uint64_t kValid = 1ull << 0;
constexpr uint64_t kTable = 1ull << 1;
constexpr uint64_t kAp1 = 1ull << 6; // unprivileged access
constexpr uint64_t kAp2 = 1ull << 7; // read-only
constexpr uint64_t kS2apR = 1ull << 6;
constexpr uint64_t kS2apW = 1ull << 7;
constexpr uint64_t kAf = 1ull << 10;
constexpr uint64_t kNg = 1ull << 11;
constexpr uint64_t kDbm = 1ull << 51;
constexpr uint64_t kPxn = 1ull << 53;
constexpr uint64_t kUxn = 1ull << 54;
constexpr uint64_t kPxnTable = 1ull << 59;
constexpr uint64_t kUxnTable = 1ull << 60;
constexpr uint64_t kApTable0 = 1ull << 61;
constexpr uint64_t kApTable1 = 1ull << 62;
constexpr uint64_t kS2Normal = 0xfull << 2; // MemAttr = Normal WB

inline unsigned LevelShift(unsigned granule, int level) {
    return granule + (3 - level) * (granule - 3);
}

class TestHost {
  public:
    TestHost() {
        ops_.mem_read = &TestHost::Read;
        ops_.mem_write = &TestHost::Write;
        ops_.mem_cas64 = &TestHost::Cas;
        ops_.advance = &TestHost::Advance;
        ops_.translations_changed = &TestHost::Changed;
    }
    const smmu_host_ops *ops() const { return &ops_; }
    void DropCas() { ops_.mem_cas64 = nullptr; }

    uint64_t Read64(uint64_t pa) const {
        auto it = words_.find(pa & ~7ull);
        return it == words_.end() ? 0 : it->second;
    }
    void Write64(uint64_t pa, uint64_t v) { words_[pa & ~7ull] = v; }

    std::set<uint64_t> abort_at;                // 8-byte words whose access aborts
    std::function<void(TestHost &)> before_cas; // runs before each CAS (simulates a racing agent)
    uint64_t reads = 0, cas_calls = 0, advanced_ps = 0, changed = 0;

  private:
    static bool Read(void *ctx, smmu_call *, smmu_mem_kind, uint64_t pa, void *buf, unsigned len, const smmu_mem_attrs *) {
        auto *h = static_cast<TestHost *>(ctx);
        h->reads++;
        if (h->abort_at.count(pa & ~7ull))
            return false;
        auto *out = static_cast<uint8_t *>(buf);
        for (unsigned i = 0; i < len; i++) {
            uint64_t a = pa + i;
            out[i] = static_cast<uint8_t>(h->Read64(a) >> (8 * (a & 7)));
        }
        return true;
    }
    static bool Write(void *ctx, smmu_call *, smmu_mem_kind, uint64_t pa, const void *buf, unsigned len,
                      const smmu_mem_attrs *) {
        auto *h = static_cast<TestHost *>(ctx);
        if (h->abort_at.count(pa & ~7ull))
            return false;
        auto *in = static_cast<const uint8_t *>(buf);
        for (unsigned i = 0; i < len; i++) {
            uint64_t a = pa + i;
            uint64_t w = h->Read64(a);
            w &= ~(0xffull << (8 * (a & 7)));
            w |= static_cast<uint64_t>(in[i]) << (8 * (a & 7));
            h->Write64(a, w);
        }
        return true;
    }
    static bool Cas(void *ctx, smmu_call *, uint64_t pa, uint64_t expected, uint64_t desired, uint64_t *observed,
                    const smmu_mem_attrs *) {
        auto *h = static_cast<TestHost *>(ctx);
        h->cas_calls++;
        if (h->before_cas)
            h->before_cas(*h);
        if (h->abort_at.count(pa & ~7ull))
            return false;
        *observed = h->Read64(pa);
        if (*observed == expected)
            h->Write64(pa, desired);
        return true;
    }
    static void Advance(void *ctx, smmu_call *, uint64_t ps) { static_cast<TestHost *>(ctx)->advanced_ps += ps; }
    static void Changed(void *ctx, smmu_call *) { static_cast<TestHost *>(ctx)->changed++; }

    std::unordered_map<uint64_t, uint64_t> words_;
    smmu_host_ops ops_{};
};

// Lays out translation tables in TestHost memory. Tables come from a bump allocator; tables are created on
// demand when a mapping needs them.
class PtBuilder {
  public:
    PtBuilder(TestHost &host, uint64_t arena) : host_(host), next_(arena) {}

    uint64_t Alloc(uint64_t size) {
        uint64_t align = size < 8 ? 8 : size;
        next_ = (next_ + align - 1) & ~(align - 1);
        uint64_t p = next_;
        next_ += size;
        return p;
    }

    // A table root for `tt` (fills ttb).
    void NewRoot(smmu_tt_cfg &tt) {
        int start_bits = (64 - tt.tsz) - static_cast<int>(LevelShift(tt.granule_shift, tt.start_level));
        tt.ttb = Alloc(8ull << start_bits);
    }

    // Address of the descriptor for `ia` at `level`, creating the tables above it (with `table_bits` set in
    // new table descriptors).
    uint64_t DescAddr(const smmu_tt_cfg &tt, uint64_t ia, int level, uint64_t table_bits = 0) {
        unsigned g = tt.granule_shift;
        uint64_t table = tt.ttb;
        for (int l = tt.start_level;; l++) {
            unsigned shift = LevelShift(g, l);
            unsigned bits = l == tt.start_level ? (64 - tt.tsz) - shift : g - 3;
            uint64_t addr = table + ((ia >> shift) & ((1ull << bits) - 1)) * 8;
            if (l == level)
                return addr;
            uint64_t d = host_.Read64(addr);
            if (!(d & kValid)) {
                uint64_t next = Alloc(1ull << g);
                host_.Write64(addr, next | kValid | kTable | table_bits);
                d = host_.Read64(addr);
            }
            table = d & (((1ull << 48) - 1) & ~((1ull << g) - 1));
        }
    }

    // Maps the page/block containing `ia` to `oa` at `level` with the given attribute bits. Returns the
    // descriptor's address.
    uint64_t Map(const smmu_tt_cfg &tt, uint64_t ia, uint64_t oa, int level, uint64_t attrs = kAf,
                 uint64_t table_bits = 0) {
        uint64_t addr = DescAddr(tt, ia, level, table_bits);
        unsigned shift = LevelShift(tt.granule_shift, level);
        uint64_t d =
            (oa & ~((1ull << shift) - 1) & ((1ull << 48) - 1)) | attrs | kValid | (level == 3 ? kTable : 0);
        host_.Write64(addr, d);
        return addr;
    }

  private:
    TestHost &host_;
    uint64_t next_;
};

inline smmu_engine_params DefaultParams() {
    smmu_engine_params p{};
    p.tlb = {64, 4, SMMU_REPL_LRU, 1000};
    p.walk_cache = {16, 4, SMMU_REPL_LRU, 700};
    p.walk_step_ps = 500;
    p.random_seed = 1;
    p.oas_bits = 48;
    p.hw_af = true;
    p.hw_dirty = true;
    p.xnx = true;
    return p;
}

inline smmu_tt_cfg S1Table(uint8_t granule, uint8_t tsz) {
    smmu_tt_cfg tt{};
    tt.tsz = tsz;
    tt.granule_shift = granule;
    int8_t level = 0;
    smmu_s1_start_level(granule, tsz, smmu_s1_tsz_range(granule, true, true), &level);
    tt.start_level = level;
    tt.concat_tables = 1;
    tt.oa_bits = 48;
    return tt;
}

inline smmu_s1_cfg S1Config(const smmu_tt_cfg &tt0, uint16_t asid = 1) {
    smmu_s1_cfg s1{};
    s1.tt[0] = tt0;
    s1.tt[1] = tt0;
    s1.tt[1].disabled = true;
    s1.mair = 0x00000000000000ffull | (0x04ull << 8);
    s1.asid = asid;
    s1.regime = SMMU_REGIME_NS_EL1;
    return s1;
}

inline smmu_s2_cfg S2Config(uint8_t granule, uint8_t t0sz, uint8_t sl0, uint16_t vmid = 1) {
    smmu_s2_cfg s2{};
    s2.tt.tsz = t0sz;
    s2.tt.granule_shift = granule;
    int8_t level = 0;
    uint8_t concat = 1;
    smmu_s2_start_level(granule, t0sz, smmu_s2_tsz_range(granule, true, 48), sl0, 48, &level, &concat);
    s2.tt.start_level = level;
    s2.tt.concat_tables = concat;
    s2.tt.oa_bits = 48;
    s2.vmid = vmid;
    return s2;
}

constexpr smmu_access kRead{false, false, true};
constexpr smmu_access kWrite{true, false, true};
constexpr smmu_access kUserRead{false, false, false};
constexpr smmu_access kUserWrite{true, false, false};
constexpr smmu_access kExec{false, true, true};
constexpr smmu_access kUserExec{false, true, false};

} // namespace engine_test

#endif
