// Host cost of invalidation commands: a full command queue (2^19 entries) of TLBIs and CFGIs against full
// caches must cost what the commands remove, not the size of the caches. A fuzzer once found such a queue
// costing 17 s of host time with a 2048 x 7 walk cache, because every command scanned every entry.
#include <gtest/gtest.h>

#include <chrono>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

constexpr unsigned kQueueLog2 = 19;
constexpr uint32_t kCommands = 1u << kQueueLog2;
// A generous bound: the scans took well over 10 s on the machines this runs on; the indexed caches take a
// fraction of a second.
constexpr double kMaxSeconds = 4.0;

uint64_t op(unsigned opcode) {
    return SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, opcode);
}

double publish_seconds(Harness &h) {
    auto start = std::chrono::steady_clock::now();
    h.publish();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

TEST(SmmuInvalidationCost, FullQueueOfTlbisAgainstAFullWalkCache) {
    smmu_params p;
    smmu_params_default(&p);
    p.engine.walk_cache = {2048, 7, SMMU_REPL_LRU, 1000};
    Harness h(&p);
    h.setup_queues(kQueueLog2, 6);
    h.setup_stream_table({});
    h.enable();

    // Stage 1, ASID 1, 39-bit VAs from level 1: 28 level-1 entries, each to a level-2 table whose 512 entries
    // all point at one shared level-3 table. One translation per 2 MiB region caches its level-2 table
    // descriptor: 28 * 512 = 14336 regions fill the 2048 x 7 walk cache.
    constexpr unsigned kRegions = 2048 * 7;
    uint64_t l1 = h.alloc(4096), l3 = h.alloc(4096);
    h.mem.write64(l3, 0x90000000ull | kS1PageRw | kDescValid | kDescTable);
    for (unsigned g = 0; g < kRegions / 512; g++) {
        uint64_t l2 = h.alloc(4096);
        h.mem.write64(l1 + 8 * g, l2 | kDescValid | kDescTable);
        for (unsigned i = 0; i < 512; i++)
            h.mem.write64(l2 + 8 * i, l3 | kDescValid | kDescTable);
    }
    uint64_t cd = h.alloc(64, 64);
    h.write_cd(cd, Harness::cd(l1, 1));
    h.write_ste(0, Harness::ste_s1(cd));
    for (uint64_t r = 0; r < kRegions; r++)
        ASSERT_EQ(h.translate(0, r << 21).status, SMMU_XLATE_OK) << r;
    const uint64_t cached = h.stat("engine.walk_cache.inserts") - h.stat("engine.walk_cache.evictions");
    ASSERT_EQ(cached, kRegions) << "the walk cache is full";

    // Commands of every scope, none of which selects the cached table descriptors: other ASIDs and VMIDs,
    // the EL2 regime, and leaf-only invalidations of the cached context's own pages.
    for (uint32_t i = 0; i < kCommands; i++) {
        uint64_t region = uint64_t(i % kRegions) << 21;
        switch (i % 8) {
        case 0:
            h.push_cmd(op(SMMU_OP_TLBI_NH_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 2), 0);
            break;
        case 1:
            h.push_cmd(op(SMMU_OP_TLBI_S12_VMALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 9), 0);
            break;
        case 2:
            h.push_cmd(op(SMMU_OP_TLBI_NH_ALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 9), 0);
            break;
        case 3:
            h.push_cmd(op(SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 2), region);
            break;
        case 4:
            h.push_cmd(op(SMMU_OP_TLBI_S2_IPA) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 9), region);
            break;
        case 5:
            h.push_cmd(op(SMMU_OP_TLBI_EL2_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 1), 0);
            break;
        case 6:
            h.push_cmd(op(SMMU_OP_TLBI_NH_VAA) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 9), region);
            break;
        default: // the cached context's own page, leaf only: may remove a TLB entry, never a table descriptor
            h.push_cmd(op(SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 1), region | SMMU_CMD1_LEAF);
            break;
        }
    }
    double seconds = publish_seconds(h);
    EXPECT_EQ(h.cmdq_cons_err(), SMMU_CERROR_NONE);
    EXPECT_EQ(h.rd32(SMMU_CMDQ_CONS), h.rd32(SMMU_CMDQ_PROD)) << "every command consumed";
    EXPECT_EQ(h.stat("cmd.TLBI_NH_VA"), kCommands / 4);
    EXPECT_EQ(h.stat("engine.walk_cache.invalidated"), 0u);
    EXPECT_LT(seconds, kMaxSeconds) << kCommands << " TLBIs";

    // The scopes still work: the cached context's ASID removes its table descriptors.
    h.cmd(op(SMMU_OP_TLBI_NH_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 1));
    EXPECT_EQ(h.stat("engine.walk_cache.invalidated"), kRegions);
}

TEST(SmmuInvalidationCost, FullQueueOfCfgisAgainstAFullConfigurationCache) {
    smmu_params p;
    smmu_params_default(&p);
    p.config_cache = {1024, 16, SMMU_REPL_LRU, 1000};
    Harness h(&p);
    h.setup_queues(kQueueLog2, 6);
    h.setup_stream_table({});
    h.enable();

    // One stream with 2^14 substreams, every CD using the same tables: 2^14 cached CDs fill the cache.
    constexpr uint32_t kCds = 1024 * 16;
    uint64_t cds = h.alloc_aligned(uint64_t(kCds) * 64);
    PageTable pt(h, 1);
    pt.map(0x1000, 0x90001000, kS1PageRw);
    for (uint32_t ssid = 0; ssid < kCds; ssid++)
        h.write_cd(cds + 64ull * ssid, Harness::cd(pt.root(), 1));
    h.write_ste(3, Harness::ste_s1(cds, 14, SMMU_STE_S1FMT_LINEAR));
    for (uint32_t ssid = 0; ssid < kCds; ssid++)
        ASSERT_EQ(h.translate(3, 0x1000, false, true, ssid).status, SMMU_XLATE_OK) << ssid;
    const uint64_t cached = h.stat("config_cache.inserts") - h.stat("config_cache.evictions");
    ASSERT_GE(cached, kCds * 3 / 4) << "the configuration cache is mostly full";

    // CFGIs of other streams and of substreams that are not cached.
    for (uint32_t i = 0; i < kCommands; i++) {
        uint64_t sid = SMMU_FIELD_PREP(SMMU_CMD0_SID, 4 + i % 1000);
        switch (i % 4) {
        case 0:
            h.push_cmd(op(SMMU_OP_CFGI_STE) | sid, i & 1 ? SMMU_CMD1_LEAF : 0);
            break;
        case 1:
            h.push_cmd(op(SMMU_OP_CFGI_CD_ALL) | sid, 0);
            break;
        case 2:
            h.push_cmd(op(SMMU_OP_CFGI_CD) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 3) |
                           SMMU_FIELD_PREP(SMMU_CMD0_SSID, kCds + i % 1000),
                       SMMU_CMD1_LEAF);
            break;
        default:
            h.push_cmd(op(SMMU_OP_CFGI_STE_RANGE) | sid, SMMU_FIELD_PREP(SMMU_CMD1_RANGE, 1));
            break;
        }
    }
    const uint64_t invalidated = h.stat("config_cache.invalidated");
    double seconds = publish_seconds(h);
    EXPECT_EQ(h.cmdq_cons_err(), SMMU_CERROR_NONE);
    EXPECT_EQ(h.rd32(SMMU_CMDQ_CONS), h.rd32(SMMU_CMDQ_PROD));
    EXPECT_EQ(h.stat("config_cache.invalidated"), invalidated);
    EXPECT_LT(seconds, kMaxSeconds) << kCommands << " CFGIs";

    h.cmd(op(SMMU_OP_CFGI_CD_ALL) | SMMU_FIELD_PREP(SMMU_CMD0_SID, 3));
    EXPECT_EQ(h.stat("config_cache.invalidated"), invalidated + cached - 1)
        << "every CD of stream 3, not its STE";
}
