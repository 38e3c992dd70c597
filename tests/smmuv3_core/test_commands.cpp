// Command queue: every command, errors and GERROR acknowledgement, CMD_SYNC completion signals, queue wrap.
#include <gtest/gtest.h>

#include "smmu_harness.h"

using namespace smmu_test;

namespace {

uint64_t op(unsigned opcode) {
    return SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, opcode);
}

bool cmdq_error_active(Harness &h) {
    return ((h.rd32(SMMU_GERROR) ^ h.rd32(SMMU_GERRORN)) & SMMU_GERROR_CMDQ_ERR) != 0;
}

void ack_gerror(Harness &h) {
    h.wr32(SMMU_GERRORN, h.rd32(SMMU_GERROR));
}

uint32_t cons_index(Harness &h) {
    return h.rd32(SMMU_CMDQ_CONS) & ((2u << h.cmdq_log2) - 1);
}
uint32_t prod_index(Harness &h) {
    return h.rd32(SMMU_CMDQ_PROD) & ((2u << h.cmdq_log2) - 1);
}

} // namespace

TEST(SmmuCmdq, EveryLegalCommandIsConsumed) {
    Harness h;
    h.bring_up();
    smmu_set_trace(h.s, true);
    const uint64_t sid = SMMU_FIELD_PREP(SMMU_CMD0_SID, 8);
    struct {
        uint64_t d0, d1;
        const char *stat;
    } cmds[] = {
        {op(SMMU_OP_PREFETCH_CONFIG) | sid, 0, "cmd.PREFETCH_CONFIG"},
        {op(SMMU_OP_PREFETCH_ADDR) | sid, 0x5000, "cmd.PREFETCH_ADDR"},
        {op(SMMU_OP_CFGI_STE) | sid, SMMU_CMD1_LEAF, "cmd.CFGI_STE"},
        {op(SMMU_OP_CFGI_STE_RANGE) | sid, SMMU_FIELD_PREP(SMMU_CMD1_RANGE, 3), "cmd.CFGI_STE_RANGE"},
        {op(SMMU_OP_CFGI_CD) | sid | SMMU_FIELD_PREP(SMMU_CMD0_SSID, 3), 0, "cmd.CFGI_CD"},
        {op(SMMU_OP_CFGI_CD_ALL) | sid, 0, "cmd.CFGI_CD_ALL"},
        {op(SMMU_OP_TLBI_NH_ALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 1), 0, "cmd.TLBI_NH_ALL"},
        {op(SMMU_OP_TLBI_NH_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 2), 0, "cmd.TLBI_NH_ASID"},
        {op(SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 2), 0x7000 | SMMU_CMD1_LEAF,
         "cmd.TLBI_NH_VA"},
        {op(SMMU_OP_TLBI_NH_VAA), 0x7000, "cmd.TLBI_NH_VAA"},
        {op(SMMU_OP_TLBI_EL2_ALL), 0, "cmd.TLBI_EL2_ALL"},
        {op(SMMU_OP_TLBI_EL2_ASID) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 2), 0, "cmd.TLBI_EL2_ASID"},
        {op(SMMU_OP_TLBI_EL2_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, 2), 0x7000, "cmd.TLBI_EL2_VA"},
        {op(SMMU_OP_TLBI_EL2_VAA), 0x7000, "cmd.TLBI_EL2_VAA"},
        {op(SMMU_OP_TLBI_S12_VMALL) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 1), 0, "cmd.TLBI_S12_VMALL"},
        {op(SMMU_OP_TLBI_S2_IPA) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, 1), 0x9000, "cmd.TLBI_S2_IPA"},
        {op(SMMU_OP_TLBI_NSNH_ALL), 0, "cmd.TLBI_NSNH_ALL"},
        {op(SMMU_OP_SYNC), 0, "cmd.SYNC"},
    };
    for (auto &c : cmds)
        h.push_cmd(c.d0, c.d1);
    h.publish();
    EXPECT_FALSE(cmdq_error_active(h));
    EXPECT_EQ(cons_index(h), prod_index(h));
    for (auto &c : cmds)
        EXPECT_EQ(h.stat(c.stat), 1u) << c.stat;
    for (const char *want : {"smmu: cmd CFGI_STE sid=0x8 leaf=1",
                             "smmu: cmd TLBI_NH_VA vmid=0x0 asid=0x2 addr=0x7000 bytes=0x0 leaf=1 ttl=0",
                             "smmu: cmd TLBI_EL2_VAA addr=0x7000 bytes=0x0 leaf=0 ttl=0"}) {
        bool found = false;
        for (auto &l : h.trace)
            found |= l == want;
        EXPECT_TRUE(found) << want;
    }
    EXPECT_GT(h.time_ps, 0u);
}

TEST(SmmuCmdq, IllegalCommandsStopTheQueueUntilAcknowledged) {
    struct {
        uint64_t d0, d1;
        const char *what;
    } bad[] = {
        {op(0x00), 0, "opcode 0"},
        {op(0x08), 0, "reserved opcode"},
        {op(0xFF), 0, "reserved opcode"},
        {op(SMMU_OP_CFGI_STE) | SMMU_CMD0_SSEC, 0, "SSec=1"},
        {op(SMMU_OP_ATC_INV), 0, "ATC_INV without ATS"},
        {op(SMMU_OP_PRI_RESP), 0, "PRI_RESP without PRI"},
        {op(SMMU_OP_RESUME), 0, "RESUME without stall"},
        {op(SMMU_OP_STALL_TERM), 0, "STALL_TERM without stall"},
        {op(SMMU_OP_TLBI_EL3_ALL), 0, "EL3 from Non-secure"},
        {op(SMMU_OP_CFGI_VMS_PIDM), 0, "no MPAM"},
        {op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, 3), 0, "reserved CS"},
    };
    for (auto &b : bad) {
        // Without ATS and PRI, so that ATC_INV and PRI_RESP are illegal.
        smmu_params p;
        smmu_params_default(&p);
        p.idr[0] &= ~(uint32_t)(SMMU_IDR0_ATS | SMMU_IDR0_PRI);
        p.idr[0] = (uint32_t)SMMU_FIELD_SET(p.idr[0], SMMU_IDR0_STALL_MODEL, 1); // RESUME/STALL_TERM illegal
        Harness h(&p);
        h.bring_up();
        h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_GERROR_IRQEN);
        h.push_cmd(op(SMMU_OP_TLBI_NSNH_ALL), 0);
        h.push_cmd(b.d0, b.d1);
        h.push_cmd(op(SMMU_OP_SYNC), 0);
        h.publish();
        EXPECT_TRUE(cmdq_error_active(h)) << b.what;
        EXPECT_EQ(h.cmdq_cons_err(), SMMU_CERROR_ILL) << b.what;
        EXPECT_EQ(cons_index(h), 1u) << b.what; // points at the bad command
        EXPECT_EQ(h.irq_pulses[SMMU_IRQ_GERROR], 1u) << b.what;
        EXPECT_EQ(h.stat("cmd.errors.ill"), 1u) << b.what;
        // Writing PROD again does not restart processing while the error is active.
        h.publish();
        h.wr32(SMMU_CMDQ_PROD, h.rd32(SMMU_CMDQ_PROD));
        EXPECT_EQ(cons_index(h), 1u);
        // Software replaces the command with a SYNC and acknowledges: processing resumes by itself.
        h.mem.write64(h.cmdq_base + 16, op(SMMU_OP_SYNC));
        ack_gerror(h);
        EXPECT_FALSE(cmdq_error_active(h));
        EXPECT_EQ(cons_index(h), 3u) << b.what;
        EXPECT_EQ(h.stat("cmd.errors.ill"), 1u) << b.what;
    }
}

TEST(SmmuCmdq, FeatureGatedCommandsAreIllegal) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] &= ~(uint32_t)(SMMU_IDR0_HYP | SMMU_IDR0_S2P);
    Harness h(&p);
    h.bring_up();
    for (unsigned code :
         {SMMU_OP_TLBI_EL2_ALL, SMMU_OP_TLBI_EL2_VA, SMMU_OP_TLBI_S2_IPA, SMMU_OP_TLBI_S12_VMALL}) {
        uint32_t cons = h.rd32(SMMU_CMDQ_CONS);
        h.cmd(op(code));
        EXPECT_TRUE(cmdq_error_active(h)) << code;
        EXPECT_EQ(h.cmdq_cons_err(), SMMU_CERROR_ILL);
        EXPECT_EQ(h.rd32(SMMU_CMDQ_CONS) & 0xFFFFF, cons & 0xFFFFF);
        h.mem.write64(h.cmdq_base + (cons & 63) * 16, op(SMMU_OP_SYNC));
        ack_gerror(h);
        EXPECT_FALSE(cmdq_error_active(h));
    }
    smmu_params q;
    smmu_params_default(&q);
    q.idr[0] &= ~(uint32_t)(SMMU_IDR0_S1P | SMMU_IDR0_CD2L);
    Harness h2(&q);
    h2.bring_up();
    // Stage-1 configuration and TLB invalidations on a stage-2-only SMMU.
    for (unsigned code : {SMMU_OP_CFGI_CD, SMMU_OP_CFGI_CD_ALL, SMMU_OP_TLBI_NH_ALL, SMMU_OP_TLBI_NH_ASID,
                          SMMU_OP_TLBI_NH_VA, SMMU_OP_TLBI_NH_VAA}) {
        uint32_t cons = h2.rd32(SMMU_CMDQ_CONS);
        h2.cmd(op(code));
        EXPECT_TRUE(cmdq_error_active(h2)) << code;
        EXPECT_EQ(h2.cmdq_cons_err(), SMMU_CERROR_ILL) << code;
        h2.mem.write64(h2.cmdq_base + (cons & 63) * 16, op(SMMU_OP_SYNC));
        ack_gerror(h2);
        EXPECT_FALSE(cmdq_error_active(h2));
    }
    h2.cmd(op(SMMU_OP_TLBI_S2_IPA));
    EXPECT_FALSE(cmdq_error_active(h2));
}

// With RIL, TG != 0 together with NUM = SCALE = 0 and an effective TTL of 0 is a reserved encoding (SMMU spec
// 4.4.1.1); TTL = 1 counts as 0 for the 16 KB and 64 KB granules.
TEST(SmmuCmdq, ReservedRangeEncodingIsIllegal) {
    Harness h;
    h.bring_up();
    struct Case {
        unsigned opcode, tg, ttl, num;
        bool illegal;
    } cases[] = {{SMMU_OP_TLBI_NH_VA, 1, 0, 0, true},  {SMMU_OP_TLBI_NH_VAA, 2, 1, 0, true},
                 {SMMU_OP_TLBI_S2_IPA, 3, 0, 0, true}, {SMMU_OP_TLBI_EL2_VA, 1, 0, 0, true},
                 {SMMU_OP_TLBI_NH_VA, 1, 1, 0, false}, {SMMU_OP_TLBI_NH_VA, 2, 2, 0, false},
                 {SMMU_OP_TLBI_NH_VA, 1, 0, 1, false}, {SMMU_OP_TLBI_NH_VA, 0, 0, 0, false}};
    for (const Case &c : cases) {
        uint32_t cons = h.rd32(SMMU_CMDQ_CONS);
        h.cmd(op(c.opcode) | SMMU_FIELD_PREP(SMMU_CMD0_NUM, c.num),
              0x7000 | SMMU_FIELD_PREP(SMMU_CMD1_TG, c.tg) | SMMU_FIELD_PREP(SMMU_CMD1_TTL, c.ttl));
        EXPECT_EQ(cmdq_error_active(h), c.illegal) << c.opcode << " tg " << c.tg << " ttl " << c.ttl;
        if (cmdq_error_active(h)) {
            EXPECT_EQ(h.cmdq_cons_err(), SMMU_CERROR_ILL);
            h.mem.write64(h.cmdq_base + (cons & 63) * 16, op(SMMU_OP_SYNC));
            ack_gerror(h);
        }
    }
}

TEST(SmmuCmdq, FetchAbortGivesCerrorAbt) {
    Harness h;
    h.bring_up();
    h.mem.add_read_abort(h.cmdq_base + 16, h.cmdq_base + 32);
    h.push_cmd(op(SMMU_OP_SYNC), 0);
    h.push_cmd(op(SMMU_OP_SYNC), 0);
    h.publish();
    EXPECT_TRUE(cmdq_error_active(h));
    EXPECT_EQ(h.cmdq_cons_err(), SMMU_CERROR_ABT);
    EXPECT_EQ(cons_index(h), 1u);
    EXPECT_EQ(h.stat("cmd.errors.abt"), 1u);
    h.mem.clear_aborts();
    ack_gerror(h);
    EXPECT_EQ(cons_index(h), 2u);
}

TEST(SmmuCmdq, DisabledQueueIsNotConsumed) {
    Harness h;
    h.bring_up();
    h.wr32(SMMU_CR0, (uint32_t)(SMMU_CR0_SMMUEN | SMMU_CR0_EVENTQEN));
    h.cmd(op(SMMU_OP_SYNC));
    EXPECT_EQ(cons_index(h), 0u);
    h.wr32(SMMU_CR0, (uint32_t)(SMMU_CR0_SMMUEN | SMMU_CR0_EVENTQEN | SMMU_CR0_CMDQEN));
    EXPECT_EQ(cons_index(h), 1u); // enabling consumes what is pending
}

TEST(SmmuCmdq, QueueWrapsAndCapsAtMaximumSize) {
    Harness h;
    h.setup_queues(2, 4); // 4 commands
    h.setup_stream_table({});
    h.enable();
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 3; i++)
            h.push_cmd(op(SMMU_OP_TLBI_NSNH_ALL), 0);
        h.publish();
        EXPECT_EQ(h.rd32(SMMU_CMDQ_CONS) & 7, h.rd32(SMMU_CMDQ_PROD) & 7);
    }
    // 15 commands through a 4-entry queue: the index wrapped and the wrap bit toggled (15 mod 8 = 7).
    EXPECT_EQ(h.rd32(SMMU_CMDQ_CONS) & 7, 7u);
    EXPECT_EQ(h.stat("cmd.TLBI_NSNH_ALL"), 15u);
    // A full queue (4 entries, index equal, wrap different) is consumed completely.
    for (int i = 0; i < 4; i++)
        h.push_cmd(op(SMMU_OP_SYNC), 0);
    uint32_t cons_before = h.rd32(SMMU_CMDQ_CONS) & 7;
    h.publish();
    EXPECT_EQ(h.rd32(SMMU_CMDQ_PROD) & 7, cons_before ^ 4);
    EXPECT_EQ(h.rd32(SMMU_CMDQ_CONS) & 7, cons_before ^ 4);
    EXPECT_EQ(h.stat("cmd.SYNC"), 4u);

    // LOG2SIZE above IDR1.CMDQS behaves as CMDQS.
    smmu_params p;
    smmu_params_default(&p);
    p.idr[1] = (uint32_t)SMMU_FIELD_SET(p.idr[1], SMMU_IDR1_CMDQS, 1);
    Harness h2(&p);
    h2.setup_queues(1, 4);
    h2.wr32(SMMU_CR0, 0);
    h2.wr64(SMMU_CMDQ_BASE, h2.cmdq_base | 5);
    h2.wr32(SMMU_CR0, SMMU_CR0_CMDQEN);
    h2.cmdq_log2 = 1;
    for (int i = 0; i < 3; i++)
        h2.cmd(op(SMMU_OP_SYNC));
    EXPECT_EQ(h2.stat("cmd.SYNC"), 3u);
    EXPECT_EQ(h2.rd32(SMMU_CMDQ_CONS) & 3, 3u);
}

TEST(SmmuCmdSync, MsiCompletionIncludingPollingOnItself) {
    Harness h;
    h.bring_up();
    uint64_t slot = h.cmdq_base + 16 * (h.rd32(SMMU_CMDQ_PROD) & 63);
    // Linux MSI polling: MSIAddress is the CMD_SYNC entry itself, MSIData 0 clears its first word.
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ) |
              SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSH, 3) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIATTR, 0xF) |
              SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIDATA, 0),
          SMMU_ADDR_GET(SMMU_CMD1_SYNC_MSIADDR, slot));
    ASSERT_EQ(h.msis.size(), 1u);
    EXPECT_EQ(h.msis[0].addr, slot);
    EXPECT_EQ(h.msis[0].data, 0u);
    EXPECT_EQ(h.mem.read32(slot), 0u);
    // The wired CMD_SYNC output fires for SIG_IRQ whatever MSIAddress is (SMMU spec 4.7.3).
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_CMD_SYNC], 1u);
    // Non-zero data to another address.
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ) |
              SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIDATA, 0xCAFE),
          0x90000040);
    ASSERT_EQ(h.msis.size(), 2u);
    EXPECT_EQ(h.mem.read32(0x90000040), 0xCAFEu);
    EXPECT_EQ(h.stat("cmd.sync.msi"), 2u);
    // MSIAddress bits above the OAS (48 bits) are dropped.
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ) |
              SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIDATA, 0xBEEF),
          0x4000090000080ull);
    ASSERT_EQ(h.msis.size(), 3u);
    EXPECT_EQ(h.msis[2].addr, 0x90000080u);
}

// Every MSI costs msi_ps on top of the command itself: a CMD_SYNC with an MSI takes exactly msi_ps longer
// than one without.
TEST(SmmuCmdSync, MsiWriteChargesItsLatency) {
    smmu_params p;
    smmu_params_default(&p);
    p.msi_ps = 123456;
    Harness h(&p);
    h.bring_up();
    uint64_t before = h.time_ps;
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_NONE), 0);
    uint64_t without_msi = h.time_ps - before;
    before = h.time_ps;
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ), 0x90000040);
    ASSERT_EQ(h.msis.size(), 1u);
    EXPECT_EQ(h.time_ps - before, without_msi + p.msi_ps);
}

TEST(SmmuCmdSync, WiredInterruptAndSev) {
    Harness h;
    h.bring_up();
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ), 0);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_CMD_SYNC], 1u);
    EXPECT_TRUE(h.msis.empty());
    smmu_set_trace(h.s, true);
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_SEV), 0);
    EXPECT_EQ(h.stat("cmd.sync.sev"), 1u);
    EXPECT_EQ(h.trace.back(), "smmu: sev");
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_NONE), 0x90000000);
    EXPECT_TRUE(h.msis.empty());
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_CMD_SYNC], 1u);
}

TEST(SmmuCmdSync, SevWithoutIdrSevIsLikeNone) {
    smmu_params p;
    smmu_params_default(&p);
    p.idr[0] &= ~(uint32_t)SMMU_IDR0_SEV;
    Harness h(&p);
    h.bring_up();
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_SEV), 0);
    EXPECT_EQ(h.stat("cmd.sync.sev"), 0u);
    EXPECT_EQ(h.stat("cmd.SYNC"), 1u);
}

TEST(SmmuCmdSync, MsiAbortRaisesMsiCmdqAbtErr) {
    Harness h;
    h.bring_up();
    h.wr32(SMMU_IRQ_CTRL, SMMU_IRQ_CTRL_GERROR_IRQEN);
    h.mem.add_write_abort(0x90000000, 0x90001000);
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ), 0x90000000);
    uint32_t active = h.rd32(SMMU_GERROR) ^ h.rd32(SMMU_GERRORN);
    EXPECT_EQ(active, (uint32_t)SMMU_GERROR_MSI_CMDQ_ABT_ERR);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_GERROR], 1u);
    EXPECT_FALSE(cmdq_error_active(h)); // the queue keeps going
    // A second failure while active does not toggle again.
    h.cmd(op(SMMU_OP_SYNC) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ), 0x90000000);
    EXPECT_EQ(h.rd32(SMMU_GERROR) ^ h.rd32(SMMU_GERRORN), (uint32_t)SMMU_GERROR_MSI_CMDQ_ABT_ERR);
    EXPECT_EQ(h.irq_pulses[SMMU_IRQ_GERROR], 1u);
    ack_gerror(h);
    EXPECT_EQ(h.rd32(SMMU_GERROR) ^ h.rd32(SMMU_GERRORN), 0u);
}
