// Memory attributes: what the SMMU's own accesses (table walks, CD and STE fetches, queues) carry, and the
// attributes of translated and bypassed transactions.
#include <gtest/gtest.h>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

constexpr uint64_t kVa = 0x12345000;
constexpr uint64_t kPa = 0x40ABC000;

// Host encoding of smmu_mem_attrs cacheability.
constexpr uint8_t kNc = 0, kWb = 1, kWt = 2;

} // namespace

// Walks and CD fetches take both cacheability levels of their IRx/ORx fields, STE fetches and queue accesses
// those of CR1; Non-cacheable at both levels is Outer Shareable whatever the SH field says.
TEST(SmmuAttrs, SmmuAccessesCarryInnerAndOuterCacheability) {
    Harness h;
    h.wr32(SMMU_CR1,
           (uint32_t)(SMMU_FIELD_PREP(SMMU_CR1_TABLE_IC, 1) | SMMU_FIELD_PREP(SMMU_CR1_TABLE_OC, 2) |
                      SMMU_FIELD_PREP(SMMU_CR1_TABLE_SH, 3) | SMMU_FIELD_PREP(SMMU_CR1_QUEUE_IC, 0) |
                      SMMU_FIELD_PREP(SMMU_CR1_QUEUE_OC, 0) | SMMU_FIELD_PREP(SMMU_CR1_QUEUE_SH, 3)));
    h.bring_up();
    S1Stream st = make_s1_stream(h, 1, 1);
    st.pt->map(kVa, kPa, kS1PageRw);
    auto ste = Harness::ste_s1(st.cd_addr);
    ste[1] = SMMU_FIELD_SET(ste[1], SMMU_STE1_S1CIR, 2); // WT
    ste[1] = SMMU_FIELD_SET(ste[1], SMMU_STE1_S1COR, 3); // WB, no Read-Allocate
    ste[1] = SMMU_FIELD_SET(ste[1], SMMU_STE1_S1CSH, 3); // ISH
    h.write_ste(1, ste);
    auto cd = Harness::cd(st.pt->root(), 1);
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_IR0, 0); // NC
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_OR0, 2); // WT
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_SH0, 0); // NSH: applies, the outer level is cacheable
    h.write_cd(st.cd_addr, cd);
    ASSERT_EQ(h.translate(1, kVa).status, SMMU_XLATE_OK);

    const smmu_mem_attrs &ste_fetch = h.last_attrs[SMMU_MEM_STE];
    EXPECT_EQ(ste_fetch.cache, kWb);
    EXPECT_EQ(ste_fetch.outer_cache, kWt);
    EXPECT_EQ(ste_fetch.share, 3u);
    const smmu_mem_attrs &cd_fetch = h.last_attrs[SMMU_MEM_CD];
    EXPECT_EQ(cd_fetch.cache, kWt);
    EXPECT_EQ(cd_fetch.outer_cache, kWb);
    EXPECT_EQ(cd_fetch.share, 3u);
    const smmu_mem_attrs &walk = h.last_attrs[SMMU_MEM_TT];
    EXPECT_EQ(walk.cache, kNc);
    EXPECT_EQ(walk.outer_cache, kWt);
    EXPECT_EQ(walk.share, 0u);

    // Queues: CR1.QUEUE_IC = QUEUE_OC = NC, so QUEUE_SH (ISH) is IGNORED and the accesses are OSH.
    h.sync();
    ASSERT_GT(h.accesses[SMMU_MEM_QUEUE], 0u);
    const smmu_mem_attrs &queue = h.last_attrs[SMMU_MEM_QUEUE];
    EXPECT_EQ(queue.cache, kNc);
    EXPECT_EQ(queue.outer_cache, kNc);
    EXPECT_EQ(queue.share, 2u);

    // Walks with IR0 = OR0 = NC are OSH although SH0 says ISH.
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_OR0, 0);
    cd[0] = SMMU_FIELD_SET(cd[0], SMMU_CD0_SH0, 3);
    h.write_cd(st.cd_addr, cd);
    h.cfgi_cd(1, 0);
    h.cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_ALL));
    ASSERT_EQ(h.translate(1, kVa + 0x1000).status, SMMU_XLATE_ABORT); // unmapped: the walk still ran
    EXPECT_EQ(h.last_attrs[SMMU_MEM_TT].outer_cache, kNc);
    EXPECT_EQ(h.last_attrs[SMMU_MEM_TT].share, 2u);
}

// STE.MemAttr and GBPA.MemAttr 0b0100, 0b1000 and 0b1100 are reserved and behave as Device-nGnRnE.
TEST(SmmuAttrs, ReservedMemAttrOverridesBehaveAsDeviceNGnRnE) {
    Harness h;
    h.setup_queues();
    for (unsigned memattr : {0x4u, 0x8u, 0xCu}) {
        h.wr32(SMMU_GBPA,
               (uint32_t)(SMMU_GBPA_UPDATE | SMMU_GBPA_MTCFG | SMMU_FIELD_PREP(SMMU_GBPA_MEMATTR, memattr) |
                          SMMU_FIELD_PREP(SMMU_GBPA_SHCFG, SMMU_SHCFG_OSH)));
        smmu_result r = h.translate(1, 0x1234);
        ASSERT_EQ(r.status, SMMU_XLATE_OK);
        EXPECT_EQ(r.mem_attr, 0x00u) << "GBPA.MemAttr " << memattr;
    }
    h.setup_stream_table({});
    h.enable();
    for (unsigned memattr : {0x4u, 0x8u, 0xCu}) {
        auto ste = Harness::ste_bypass();
        ste[1] = SMMU_STE1_MTCFG | SMMU_FIELD_PREP(SMMU_STE1_MEMATTR, memattr) |
                 SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_OSH);
        h.write_ste(memattr, ste);
        smmu_result r = h.translate(memattr, 0x9000);
        ASSERT_EQ(r.status, SMMU_XLATE_OK);
        EXPECT_TRUE(r.bypass);
        EXPECT_EQ(r.mem_attr, 0x00u) << "STE.MemAttr " << memattr;
    }
}
