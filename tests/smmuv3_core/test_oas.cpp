// Addresses the SMMU computes beyond the OAS (IHI0070 3.4.3). A CD or L1CD address computed from
// S1ContextPtr is C_BAD_STE, one computed from L1CD.L2Ptr is C_BAD_SUBSTREAMID (SMMUv3.1 and later; permitted
// for SMMUv3.0 and for the IPA of a nested stream): nothing is fetched. STE fetch, queue and MSI addresses
// are truncated to the OAS. Whatever the structures say, no access leaves the SMMU beyond the OAS.
#include <gtest/gtest.h>

#include <random>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

constexpr uint64_t kVa = 0x7000;
constexpr uint64_t kPa = 0x90007000;

// STE dword 1 with S1CIR = S1COR = WB-RA (0b01), S1CSH = ISH and SHCFG = incoming.
constexpr uint64_t kSte1 = 0x00001000000000D4ull;

const Event *last_event(const std::vector<Event> &evs) {
    return evs.empty() ? nullptr : &evs.back();
}

bool traced(const Harness &h, const std::string &text) {
    for (const std::string &l : h.trace)
        if (l.find(text) != std::string::npos)
            return true;
    return false;
}

} // namespace

// S1CDMax = 2 (four CDs, a 256-byte table) with S1ContextPtr = 0xFFFFFFFFFFC0: the RES0 low bits are set, so
// CD 0 lies below 2^48 and CD 3 at 0xFFFFFFFFFFC0 + 3 * 64 = 0x1000000000080, above it.
TEST(SmmuOas, LinearCdTableIndexedBeyondTheOasIsCBadSte) {
    Harness h;
    h.bring_up();
    smmu_set_trace(h.s, true);
    PageTable pt(h, 1);
    pt.map(kVa, kPa, kS1PageRw);
    h.write_cd(0xFFFFFFFFFFC0ull, Harness::cd(pt.root(), 1));
    // V, Config = 0b101 (stage 1), S1Fmt = 0 (linear), S1ContextPtr, S1CDMax = 2.
    h.write_ste(1, {0x1000FFFFFFFFFFCBull, kSte1});

    smmu_result r = h.translate(1, kVa, false, true, 0);
    ASSERT_EQ(r.status, SMMU_XLATE_OK) << "event " << unsigned(r.event_id);
    EXPECT_EQ(r.pa, kPa);

    const unsigned cd_reads = h.accesses[SMMU_MEM_CD];
    for (uint32_t ssid : {1u, 3u}) {
        r = h.translate(1, kVa, false, true, ssid);
        EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
        EXPECT_EQ(unsigned(r.event_id), 0x04u) << "C_BAD_STE, SSID " << ssid;
        EXPECT_TRUE(r.event_recorded);
        auto evs = h.events();
        ASSERT_EQ(evs.size(), 1u);
        EXPECT_EQ(evs[0].id(), 0x04u);
        EXPECT_EQ(evs[0].sid(), 1u);
        EXPECT_TRUE(evs[0].ssv());
        EXPECT_EQ(evs[0].ssid(), ssid);
    }
    EXPECT_EQ(h.accesses[SMMU_MEM_CD], cd_reads) << "no CD fetch beyond the OAS";
    EXPECT_FALSE(traced(h, "addr=0x1000000000080"));
    EXPECT_TRUE(h.above_oas.empty()) << std::hex << h.above_oas.front();
}

// 2-level table with 4 KB leaves, S1CDMax = 10: the L1 table has 16 descriptors (SSID[9:6]). With
// S1ContextPtr = 0xFFFFFFFFFFC0, L1CD 7 is at 0xFFFFFFFFFFF8 and L1CD 8 at 0x1000000000000.
TEST(SmmuOas, L1CdAddressBeyondTheOasIsCBadSte) {
    Harness h;
    h.bring_up();
    PageTable pt(h, 1);
    pt.map(kVa, kPa, kS1PageRw);
    uint64_t leaf = h.alloc(4096);
    h.mem.write64(0xFFFFFFFFFFF8ull, leaf | 0x1); // L1CD: L2Ptr, V
    h.write_cd(leaf + 5 * 64, Harness::cd(pt.root(), 1));
    // V, Config = 0b101, S1Fmt = 0b01, S1ContextPtr, S1CDMax = 10.
    h.write_ste(1, {0x5000FFFFFFFFFFDBull, kSte1});

    smmu_result r = h.translate(1, kVa, false, true, 0x1C5);
    ASSERT_EQ(r.status, SMMU_XLATE_OK) << "event " << unsigned(r.event_id);
    const unsigned cd_reads = h.accesses[SMMU_MEM_CD];
    r = h.translate(1, kVa, false, true, 0x200);
    EXPECT_EQ(unsigned(r.event_id), 0x04u) << "C_BAD_STE";
    EXPECT_EQ(h.accesses[SMMU_MEM_CD], cd_reads);
    EXPECT_TRUE(h.above_oas.empty());
}

// 2-level table with 64 KB leaves (S1Fmt = 0b10): L1CD.L2Ptr = 0xFFFFFFFFF000 has its RES0 bits [15:12] set,
// so CD 0x3F of the leaf is at 0xFFFFFFFFFFC0 and CD 0x40 at 0x1000000000000.
TEST(SmmuOas, CdAddressFromL2PtrBeyondTheOasIsCBadSubstreamId) {
    Harness h;
    h.bring_up();
    PageTable pt(h, 1);
    pt.map(kVa, kPa, kS1PageRw);
    uint64_t l1 = h.alloc(4 * 8, 64);
    h.mem.write64(l1, 0x0000FFFFFFFFF001ull); // L1CD 0: L2Ptr, V
    h.write_cd(0xFFFFFFFFFFC0ull, Harness::cd(pt.root(), 1));
    // V, Config = 0b101, S1Fmt = 0b10, S1CDMax = 12 (L1 index SSID[11:10]).
    h.write_ste(1, {0x600000000000002Bull | l1, kSte1});

    smmu_result r = h.translate(1, kVa, false, true, 0x3F);
    ASSERT_EQ(r.status, SMMU_XLATE_OK) << "event " << unsigned(r.event_id);
    const unsigned cd_reads = h.accesses[SMMU_MEM_CD];
    r = h.translate(1, kVa, false, true, 0x40);
    EXPECT_EQ(r.status, SMMU_XLATE_ABORT);
    EXPECT_EQ(unsigned(r.event_id), 0x08u) << "C_BAD_SUBSTREAMID";
    auto evs = h.events();
    ASSERT_NE(last_event(evs), nullptr);
    EXPECT_EQ(last_event(evs)->id(), 0x08u);
    EXPECT_EQ(last_event(evs)->ssid(), 0x40u);
    EXPECT_EQ(h.accesses[SMMU_MEM_CD], cd_reads);
    EXPECT_TRUE(h.above_oas.empty());
}

// Nested: S1ContextPtr is an IPA; one beyond the IAS (= OAS) after indexing is C_BAD_STE too, before stage 2
// is consulted. CD 0 at IPA 0xFFFFFFFFFFC0 is inside the IAS but outside the 39-bit stage-2 input range: a
// stage-2 Translation fault of CLASS CD, as for any CD IPA stage 2 does not cover.
TEST(SmmuOas, NestedCdIpaBeyondTheIasIsCBadSte) {
    Harness h;
    h.bring_up();
    auto ste = h.ste_s2(h.alloc(8192, 8192), 1);
    ste[0] = 0x1000FFFFFFFFFFCFull; // V, Config = 0b111 (nested), S1ContextPtr, S1CDMax = 2
    ste[1] |= 0xD4;
    h.write_ste(1, ste);

    const unsigned tt_reads = h.accesses[SMMU_MEM_TT];
    smmu_result r = h.translate(1, kVa, false, true, 1);
    EXPECT_EQ(unsigned(r.event_id), 0x04u) << "C_BAD_STE";
    EXPECT_EQ(h.accesses[SMMU_MEM_TT], tt_reads) << "stage 2 is not walked for it";
    r = h.translate(1, kVa, false, true, 0);
    EXPECT_EQ(unsigned(r.event_id), 0x10u) << "F_TRANSLATION";
    auto evs = h.events();
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_TRUE(evs[1].s2());
    EXPECT_EQ(evs[1].cls(), 0u) << "CLASS CD";
    EXPECT_EQ(evs[1].ipa(), 0xFFFFFFFFF000ull);
    EXPECT_TRUE(h.above_oas.empty());
}

// The same rule with a 40-bit OAS (IDR5.OAS = 0b010): S1CDMax = 1 and S1ContextPtr = 0xFFFFFFFFC0 put CD 1 at
// 0x10000000000.
TEST(SmmuOas, FortyBitOas) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[5] = (p.idr[5] & ~0x7u) | 0x2;
    Harness h(&p);
    h.bring_up();
    PageTable pt(h, 1);
    pt.map(kVa, kPa, kS1PageRw);
    h.write_cd(0xFFFFFFFFC0ull, Harness::cd(pt.root(), 1));
    h.write_ste(1, {0x080000FFFFFFFFCBull, kSte1}); // S1CDMax = 1
    EXPECT_EQ(h.translate(1, kVa, false, true, 0).status, SMMU_XLATE_OK);
    EXPECT_EQ(unsigned(h.translate(1, kVa, false, true, 1).event_id), 0x04u) << "C_BAD_STE";
    EXPECT_TRUE(h.above_oas.empty());
}

// STE fetches are truncated to the OAS. With a 32-bit OAS and SIDSIZE = 32, a linear table of 2^32 STEs is
// aligned to 2^38 bytes, so its base is 0 and StreamID 0x4000001 would be at 0x100000040: the SMMU reads
// 0x40, StreamID 1's entry.
TEST(SmmuOas, SteFetchAddressIsTruncated) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[5] &= ~0x7u;                   // OAS = 32 bits
    p.idr[1] = (p.idr[1] & ~0x3Fu) | 32; // SIDSIZE = 32
    Harness h(&p);
    h.setup_queues();
    h.wr64(SMMU_STRTAB_BASE, 0x80000000ull);
    h.wr32(SMMU_STRTAB_BASE_CFG, 32); // linear, LOG2SIZE = 32
    h.enable();
    smmu_set_trace(h.s, true);
    h.mem.write64(0x40, 0x9);                   // V, Config = 0b100 (bypass)
    h.mem.write64(0x48, 0x0000100000000000ull); // SHCFG = incoming
    smmu_result r = h.translate(0x4000001, 0x1234);
    ASSERT_EQ(r.status, SMMU_XLATE_OK) << "event " << unsigned(r.event_id);
    EXPECT_TRUE(r.bypass);
    EXPECT_TRUE(traced(h, "smmu: fetch STE sid=0x4000001 pa=0x40"));
    EXPECT_TRUE(h.above_oas.empty());
}

// Random tables whose pointers sit just below the top of the OAS, for three OAS values, every CD table
// format, stage 1 and nested: whatever the SubstreamID, no access goes beyond the OAS.
TEST(SmmuOas, NoAccessBeyondTheOasWithPointersNearTheTop) {
    for (unsigned oas_enc : {0u, 2u, 5u}) {
        smmu_params p;
        smmu_params_default(&p);
        p.idr[5] = (p.idr[5] & ~0x7u) | oas_enc;
        Harness h(&p);
        h.bring_up();
        const uint64_t top = uint64_t(1) << h.oas_bits;
        std::mt19937_64 rng(oas_enc + 1);
        PageTable pt(h, 1);
        pt.map(kVa, kPa, kS1PageRw);
        auto s2 = h.ste_s2(h.alloc(8192, 8192), 1);
        // Valid CDs and L1CDs in the last 64 KiB below the top, L1CDs pointing near the top too.
        for (uint64_t a = top - 0x10000; a < top; a += 64) {
            if (rng() % 2)
                h.write_cd(a, Harness::cd(pt.root(), 1));
            else
                for (unsigned i = 0; i < 8; i++)
                    h.mem.write64(a + 8 * i, (top - 0x1000 * (rng() % 16 + 1)) | 0x1);
        }
        for (unsigned i = 0; i < 400; i++) {
            uint32_t sid = i % 256;
            uint64_t ptr = top - 64 * (rng() % 1024 + 1);
            uint64_t cdmax = rng() % 11, fmt = rng() % 3;
            std::array<uint64_t, 8> ste{};
            bool nested = rng() % 4 == 0;
            if (nested)
                ste = s2;
            ste[0] = 0x1 | (nested ? 0xE : 0xA) | fmt << 4 | ptr | cdmax << 59;
            ste[1] |= kSte1;
            h.write_ste(sid, ste);
            h.cfgi_ste(sid);
            uint32_t ssid = cdmax ? uint32_t(rng() % (1u << cdmax)) : 0;
            smmu_result r = h.translate(sid, kVa, false, cdmax != 0, ssid);
            (void)r;
        }
        EXPECT_TRUE(h.above_oas.empty()) << "OAS " << h.oas_bits << ": first at 0x" << std::hex
                                         << (h.above_oas.empty() ? 0 : h.above_oas.front());
        h.events();
    }
}
