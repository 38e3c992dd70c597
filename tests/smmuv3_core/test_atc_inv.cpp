// CMD_ATC_INV and the CMD_SYNC that waits for its completions (IHI0070 3.9.1.4, 4.5.1, 7.1): the Invalidate
// Request message, ITag allocation per endpoint, the Invalidate Queue Depth, completion counts, the
// CERROR_ATC_INV_SYNC timeout and its recovery. Commands are written as literal hexadecimal from the spec's
// field positions (opcode [7:0], Global [9], SSV [11], SubstreamID [31:12], StreamID [63:32]; dword 1
// Size [5:0], Address [63:12]), not through the project's macros.
#include <gtest/gtest.h>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

constexpr uint64_t kSync = 0x46;    // CMD_SYNC, CS = SIG_NONE
constexpr uint64_t kCerrorAtcInvSync = 3;

uint32_t cons_index(Harness &h) {
    return h.rd32(SMMU_CMDQ_CONS) & ((2u << h.cmdq_log2) - 1);
}
uint32_t prod_index(Harness &h) {
    return h.rd32(SMMU_CMDQ_PROD) & ((2u << h.cmdq_log2) - 1);
}
bool cmdq_error_active(Harness &h) {
    return ((h.rd32(SMMU_GERROR) ^ h.rd32(SMMU_GERRORN)) & 0x1u) != 0; // GERROR.CMDQ_ERR is bit 0
}
smmu_params ats_params() {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] |= 1u << 10; // IDR0.ATS
    return p;
}

std::vector<smmu_msg> invalidations(const Harness &h) {
    std::vector<smmu_msg> out;
    for (const smmu_msg &m : h.sent_msgs)
        if (m.kind == SMMU_MSG_ATS_INV_REQ)
            out.push_back(m);
    return out;
}

} // namespace

TEST(SmmuAtcInv, TheCommandBecomesAnInvalidateRequestWithItsFields) {
    smmu_params p = ats_params();
    Harness h(&p);
    h.bring_up();
    // SID 0x21, SSV, SSID 0x12345, Global; Size 3 (32 KiB) at 0x80005000 -> aligned down to 0x80000000.
    h.cmd(0x0000002112345A40ull, 0x0000000080005003ull);
    // SID 0x22 without PASID: Global is meaningless and dropped; Size 52 is the whole address space.
    h.cmd(0x0000002200000240ull, 0x0000000080005034ull);
    auto inv = invalidations(h);
    ASSERT_EQ(inv.size(), 2u);
    EXPECT_EQ(inv[0].sid, 0x21u);
    EXPECT_TRUE(inv[0].ssv);
    EXPECT_EQ(inv[0].ssid, 0x12345u);
    EXPECT_TRUE(inv[0].global);
    EXPECT_EQ(inv[0].addr, 0x80000000ull);
    EXPECT_EQ(inv[0].size_log2, 15u);
    EXPECT_EQ(inv[0].itag, 0u);
    EXPECT_EQ(inv[1].sid, 0x22u);
    EXPECT_FALSE(inv[1].ssv);
    EXPECT_FALSE(inv[1].global);
    EXPECT_EQ(inv[1].addr, 0u);
    EXPECT_EQ(inv[1].size_log2, 64u);
    EXPECT_EQ(inv[1].itag, 0u) << "ITags are per endpoint";
    EXPECT_EQ(cons_index(h), prod_index(h)) << "consumed: only a CMD_SYNC waits for completions";
    EXPECT_EQ(h.stat("atc_inv.sent"), 2u);
}

TEST(SmmuAtcInv, IllegalSizesAndPasidWithoutSubstreamsAndIgnoredWhileDisabled) {
    smmu_params p = ats_params();
    Harness h(&p);
    h.bring_up();
    h.cmd(0x0000002100000040ull, 0x0000000080000035ull); // Size 53
    EXPECT_TRUE(cmdq_error_active(h));
    EXPECT_EQ(h.cmdq_cons_err(), 1u) << "CERROR_ILL";
    EXPECT_TRUE(invalidations(h).empty());

    smmu_params q = p;
    q.idr[1] &= ~(0x1Fu << 6); // IDR1.SSIDSIZE = 0: no substreams (and so no 2-level CD tables, IDR0.CD2L)
    q.idr[0] &= ~(1u << 19);
    Harness n(&q);
    n.bring_up();
    n.cmd(0x0000002100001840ull, 0x0000000080000000ull); // SSV = 1
    EXPECT_EQ(n.cmdq_cons_err(), 1u) << "a PASID without substreams is CERROR_ILL";

    Harness d(&p);
    d.setup_queues();
    d.wr32(SMMU_CR0, 0x8); // CMDQEN only: SMMUEN = 0
    d.cmd(0x0000002100000040ull, 0x0000000080000000ull);
    d.cmd(kSync, 0);
    EXPECT_TRUE(invalidations(d).empty()) << "IGNORED while SMMUEN = 0";
    EXPECT_EQ(cons_index(d), prod_index(d));
}

TEST(SmmuAtcInv, SyncWaitsForEveryCompletionCountingCc) {
    smmu_params p = ats_params();
    Harness h(&p);
    h.bring_up();
    h.cmd(0x0000002100000040ull, 0x0000000080000000ull); // itag 0
    h.cmd(0x0000002100000040ull, 0x0000000080001000ull); // itag 1
    h.cmd(kSync, 0);
    const uint32_t sync_at = prod_index(h) - 1;
    EXPECT_EQ(cons_index(h), sync_at) << "CONS parks at the CMD_SYNC";
    // Completion Count 2 for ITag 0: two messages are needed; ITag 1 completes with CC 1.
    smmu_ats_inv_completion(h.s, nullptr, 0x21, 0x1, 2);
    EXPECT_EQ(cons_index(h), sync_at);
    smmu_ats_inv_completion(h.s, nullptr, 0x21, 0x2, 1);
    EXPECT_EQ(cons_index(h), sync_at) << "ITag 0 still has one completion to come";
    smmu_ats_inv_completion(h.s, nullptr, 0x22, 0x1, 1); // another endpoint: stray
    EXPECT_EQ(cons_index(h), sync_at);
    smmu_ats_inv_completion(h.s, nullptr, 0x21, 0x1, 2);
    EXPECT_EQ(cons_index(h), prod_index(h)) << "the SYNC completes with the last completion";
    EXPECT_EQ(h.stat("atc_inv.completions"), 3u);
    EXPECT_EQ(h.stat("atc_inv.stray_completions"), 1u);
    EXPECT_FALSE(cmdq_error_active(h));
}

TEST(SmmuAtcInv, TimeoutGivesCerrorAtcInvSyncAtTheSyncAndGerrornRecovers) {
    smmu_params p = ats_params();
    p.atc_inv_timeout_ps = 5000000; // 5 us
    Harness h(&p);
    h.bring_up();
    h.now_ps = 1000000;
    h.cmd(0x0000002100000040ull, 0x0000000080000000ull);
    h.cmd(0x0000000000001046ull | (0xABCDull << 32), 0); // CMD_SYNC CS = SIG_IRQ, MSIData 0xABCD
    const uint32_t sync_at = prod_index(h) - 1;
    EXPECT_EQ(smmu_cmdq_run(h.s, nullptr), SMMU_CMDQ_BLOCKED);
    h.now_ps = 5999999;
    EXPECT_EQ(smmu_cmdq_run(h.s, nullptr), SMMU_CMDQ_BLOCKED) << "not yet";
    h.now_ps = 6000000;
    smmu_cmdq_run(h.s, nullptr);
    EXPECT_TRUE(cmdq_error_active(h));
    EXPECT_EQ(h.rd32(SMMU_CMDQ_CONS) >> 24 & 0x7F, kCerrorAtcInvSync);
    EXPECT_EQ(cons_index(h), sync_at) << "CONS stays at the CMD_SYNC";
    EXPECT_EQ(h.stat("irq.pulses"), 0u) << "the failed SYNC signals nothing";
    EXPECT_EQ(h.stat("cmd.errors.atc_inv_sync"), 1u);
    // A completion after the timeout is stray; acknowledging the error retries the SYNC, which completes.
    smmu_ats_inv_completion(h.s, nullptr, 0x21, 0x1, 1);
    EXPECT_EQ(h.stat("atc_inv.stray_completions"), 1u);
    h.wr32(SMMU_GERRORN, h.rd32(SMMU_GERROR));
    EXPECT_EQ(cons_index(h), prod_index(h));
    EXPECT_EQ(h.stat("cmd.sync.irq"), 1u);
}

TEST(SmmuAtcInv, ItagsAndTheInvalidateQueueDepthHoldConsumption) {
    smmu_params p = ats_params();
    p.atc_inv_queue_depth = 2;
    Harness h(&p);
    h.bring_up();
    for (int i = 0; i < 3; i++)
        h.cmd(0x0000002100000040ull, 0x0000000080000000ull + (uint64_t)i * 0x1000);
    h.cmd(0x0000002200000040ull, 0x0000000090000000ull); // behind the blocked one: not sent yet
    auto inv = invalidations(h);
    ASSERT_EQ(inv.size(), 2u) << "depth 2: the third waits";
    EXPECT_EQ(inv[0].itag, 0u);
    EXPECT_EQ(inv[1].itag, 1u);
    EXPECT_EQ(cons_index(h), 2u);
    EXPECT_EQ(h.stat("atc_inv.itag_waits"), 1u);
    smmu_ats_inv_completion(h.s, nullptr, 0x21, 0x1, 1); // frees ITag 0
    inv = invalidations(h);
    ASSERT_EQ(inv.size(), 4u);
    EXPECT_EQ(inv[2].itag, 0u) << "the freed ITag is reused";
    EXPECT_EQ(inv[3].sid, 0x22u);
    EXPECT_EQ(cons_index(h), prod_index(h));

    // 32 ITags at most per endpoint, whatever the depth.
    smmu_params d = p;
    d.atc_inv_queue_depth = 33;
    char why[200];
    EXPECT_FALSE(smmu_params_validate(&d, why, sizeof why));
    d.atc_inv_queue_depth = 0;
    EXPECT_FALSE(smmu_params_validate(&d, why, sizeof why));
}

TEST(SmmuAtcInv, UndeliverableInvalidationsCompleteAtOnce) {
    smmu_params p = ats_params();
    Harness h(&p);
    h.bring_up();
    h.msgs_deliverable = false; // no endpoint behind the StreamID
    h.cmd(0x0000002100000040ull, 0x0000000080000000ull);
    h.cmd(kSync, 0);
    EXPECT_EQ(cons_index(h), prod_index(h));
    EXPECT_EQ(h.stat("atc_inv.undeliverable"), 1u);
}
