// Command decode: every field of the command layouts of IHI0070 chapter 4, written as literal doublewords,
// and the CERROR_ILL decisions the decoder makes for reserved encodings and absent features.
#include <gtest/gtest.h>

extern "C" {
#include "smmu_cmd.h"
#include "smmu_regs.h"
}

namespace {

smmu_params defaults() {
    smmu_params p;
    smmu_params_default(&p);
    return p;
}

unsigned decode(const smmu_params &p, uint64_t d0, uint64_t d1, smmu_cmd *c) {
    return smmu_cmd_decode(&p, d0, d1, c);
}

} // namespace

TEST(SmmuCmdDecode, CommonFieldsOfEveryCommand) {
    smmu_params p = defaults();
    smmu_cmd c;
    // CMD_CFGI_CD: Opcode 0x05, SSV bit 11, SubstreamID [31:12] = 0x12345, StreamID [63:32] = 0xABCD; Leaf.
    ASSERT_EQ(decode(p, 0x0000ABCD12345805ull, 0x1, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.opcode, 0x05);
    EXPECT_EQ(c.sid, 0xABCDu);
    EXPECT_TRUE(c.ssv);
    EXPECT_EQ(c.ssid, 0x12345u);
    EXPECT_TRUE(c.leaf);
    EXPECT_FALSE(c.ssec);
    EXPECT_EQ(c.raw[0], 0x0000ABCD12345805ull);
    EXPECT_EQ(c.raw[1], 0x1ull);
    // CMD_CFGI_STE_RANGE with Range = 31 (CMD_CFGI_ALL).
    ASSERT_EQ(decode(p, 0x0000010000000004ull, 0x1F, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.sid, 0x100u);
    EXPECT_EQ(c.range, 31);
    // CMD_PREFETCH_ADDR: Size [4:0] in dword 1, Addr [63:12].
    ASSERT_EQ(decode(p, 0x0000000700000002ull, 0xFFFF000012345005ull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.size, 5);
    EXPECT_EQ(c.addr, 0xFFFF000012345000ull);
}

TEST(SmmuCmdDecode, RangeTlbiFields) {
    smmu_params p = defaults(); // IDR3.RIL = 1
    smmu_cmd c;
    // CMD_TLBI_NH_VA: NUM [16:12] = 3, SCALE [24:20] = 2, VMID [47:32] = 3, ASID [63:48] = 5; dword 1: Addr,
    // TG [11:10] = 1 (4 KB), TTL [9:8] = 3, Leaf.
    ASSERT_EQ(decode(p, 0x0005000300203012ull, 0x0000000012345701ull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.vmid, 3);
    EXPECT_EQ(c.asid, 5);
    EXPECT_EQ(c.tg, 1);
    EXPECT_EQ(c.num, 3);
    EXPECT_EQ(c.scale, 2);
    EXPECT_EQ(c.ttl, 3);
    EXPECT_TRUE(c.leaf);
    EXPECT_EQ(c.addr, 0x12345000ull);
    EXPECT_EQ(c.num_bytes, 0x10000ull); // (3 + 1) * 2^2 pages of 4 KB
    // TG = 2 (16 KB): Addr is aligned down to the granule; TTL = 1 has no meaning there and is dropped.
    ASSERT_EQ(decode(p, 0x0005000300203012ull, 0x0000000012345900ull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.addr, 0x12344000ull);
    EXPECT_EQ(c.num_bytes, 0x40000ull);
    EXPECT_EQ(c.ttl_field, 1);
    EXPECT_EQ(c.ttl, 0);
    // CMD_TLBI_S2_IPA: IPA [55:12]; bits above 55 are not part of the address.
    ASSERT_EQ(decode(p, 0x000000070000002Aull, 0xFF00123456789000ull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.vmid, 7);
    EXPECT_EQ(c.addr, 0x0000123456789000ull);
    EXPECT_EQ(c.num_bytes, 0u);
}

TEST(SmmuCmdDecode, ReservedRangeEncodingIsIllegal) {
    smmu_params p = defaults();
    smmu_cmd c;
    // TG = 1 with NUM = SCALE = 0 and TTL = 0.
    EXPECT_EQ(decode(p, 0x0000000000000012ull, 0x0000000000001400ull, &c), SMMU_CERROR_ILL);
    EXPECT_EQ(decode(p, 0x000000000000002Aull, 0x0000000000001400ull, &c), SMMU_CERROR_ILL);
    EXPECT_EQ(decode(p, 0x0000000000000022ull, 0x0000000000001400ull, &c), SMMU_CERROR_ILL);
    // TG = 2 with TTL = 1: the level hint is dropped, leaving the reserved encoding.
    EXPECT_EQ(decode(p, 0x0000000000000013ull, 0x0000000000001900ull, &c), SMMU_CERROR_ILL);
    // TG = 1 with TTL = 1 is a valid single-entry range.
    EXPECT_EQ(decode(p, 0x0000000000000013ull, 0x0000000000001500ull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.num_bytes, 0x1000u);
    // Without IDR3.RIL the range fields are RES0 and ignored: not a range, never illegal.
    p.idr[3] &= ~(uint32_t)SMMU_IDR3_RIL;
    ASSERT_EQ(decode(p, 0x0000000000000012ull, 0x0000000012345400ull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.addr, 0x12345000ull);
    EXPECT_EQ(c.num_bytes, 0u);
    EXPECT_EQ(c.ttl, 0);
}

TEST(SmmuCmdDecode, VmidAndAsidWidthFollowTheIdRegisters) {
    smmu_params p = defaults();
    smmu_cmd c;
    const uint64_t nh_asid = 0xBEEF123400000011ull; // CMD_TLBI_NH_ASID, VMID 0x1234, ASID 0xBEEF
    ASSERT_EQ(decode(p, nh_asid, 0, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.vmid, 0x1234);
    EXPECT_EQ(c.asid, 0xBEEF);
    p.idr[0] &= ~(uint32_t)(SMMU_IDR0_VMID16 | SMMU_IDR0_ASID16);
    ASSERT_EQ(decode(p, nh_asid, 0, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.vmid, 0x34);
    EXPECT_EQ(c.asid, 0xEF);
}

TEST(SmmuCmdDecode, CmdSyncFields) {
    smmu_params p = defaults();
    smmu_cmd c;
    // CS [13:12] = 1 (SIG_IRQ), MSH [23:22] = 3, MSIAttr [27:24] = 0xF, MSIData [63:32]; MSIAddress [55:2].
    ASSERT_EQ(decode(p, 0xDEADBEEF0FC01046ull, 0xFF00000080001234ull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.cs, 1);
    EXPECT_EQ(c.msh, 3);
    EXPECT_EQ(c.msi_attr, 0xF);
    EXPECT_EQ(c.msi_data, 0xDEADBEEFu);
    EXPECT_EQ(c.msi_addr, 0x80001234ull);
    // CS = 0b11 is reserved.
    EXPECT_EQ(decode(p, 0x0000000000003046ull, 0, &c), SMMU_CERROR_ILL);
}

TEST(SmmuCmdDecode, StallAtsAndPriCommandFields) {
    smmu_params p = defaults();
    smmu_cmd c;
    // Without ATS and PRI, and with the terminate-only stall model, all four are illegal, but their fields
    // are still decoded.
    p.idr[0] &= ~(uint32_t)(SMMU_IDR0_ATS | SMMU_IDR0_PRI);
    p.idr[0] = (uint32_t)SMMU_FIELD_SET(p.idr[0], SMMU_IDR0_STALL_MODEL, 1);
    EXPECT_EQ(decode(p, 0x0000000712345A40ull, 0x0000000080001003ull, &c), SMMU_CERROR_ILL);
    EXPECT_EQ(c.sid, 7u);
    EXPECT_TRUE(c.ssv);
    EXPECT_EQ(c.ssid, 0x12345u);
    EXPECT_TRUE(c.global);
    EXPECT_EQ(c.size, 3);
    EXPECT_EQ(c.addr, 0x80001000ull);
    EXPECT_EQ(decode(p, 0x0000000300000041ull, 0x00000000000021ABull, &c), SMMU_CERROR_ILL);
    EXPECT_EQ(decode(p, 0x0000000900001044ull, 0x000000000000BEEFull, &c), SMMU_CERROR_ILL);
    EXPECT_EQ(decode(p, 0x0000000900000045ull, 0, &c), SMMU_CERROR_ILL);

    // With the features advertised.
    p.idr[0] |= (uint32_t)(SMMU_IDR0_ATS | SMMU_IDR0_PRI);
    p.idr[0] &= ~(uint32_t)SMMU_IDR0_STALL_MODEL; // 0: stall and terminate
    EXPECT_EQ(decode(p, 0x0000000712345A40ull, 0x0000000080001003ull, &c), SMMU_CERROR_NONE);
    // CMD_PRI_RESP: PRGIndex [8:0] = 0x1AB, Resp [13:12] = 2 (Success).
    ASSERT_EQ(decode(p, 0x0000000300000041ull, 0x00000000000021ABull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.sid, 3u);
    EXPECT_EQ(c.prg_index, 0x1AB);
    EXPECT_EQ(c.resp, 2);
    EXPECT_EQ(decode(p, 0x0000000300000041ull, 0x00000000000031ABull, &c), SMMU_CERROR_ILL) << "Resp = 0b11";
    // CMD_RESUME: Ac [12], Ab [13], StreamID; STAG [15:0] in dword 1.
    ASSERT_EQ(decode(p, 0x0000000900001044ull, 0x000000000000BEEFull, &c), SMMU_CERROR_NONE);
    EXPECT_EQ(c.sid, 9u);
    EXPECT_TRUE(c.ac);
    EXPECT_FALSE(c.ab);
    EXPECT_EQ(c.stag, 0xBEEF);
    ASSERT_EQ(decode(p, 0x0000000900002044ull, 0x1, &c), SMMU_CERROR_NONE);
    EXPECT_FALSE(c.ac);
    EXPECT_TRUE(c.ab);
    EXPECT_EQ(decode(p, 0x0000000900000045ull, 0, &c), SMMU_CERROR_NONE);
}

TEST(SmmuCmdDecode, IllegalOpcodesFeaturesAndSsec) {
    smmu_params p = defaults();
    smmu_cmd c;
    for (uint64_t opcode : {0x00ull, 0x08ull, 0x0Full, 0x07ull, 0x18ull, 0x1Aull, 0x47ull, 0x50ull, 0xFFull})
        EXPECT_EQ(decode(p, opcode, 0, &c), SMMU_CERROR_ILL) << std::hex << opcode;
    EXPECT_EQ(decode(p, 0x0000000000000403ull, 0, &c), SMMU_CERROR_ILL) << "SSec = 1 on CMD_CFGI_STE";
    EXPECT_TRUE(c.ssec);
    EXPECT_EQ(decode(p, 0x0000000000000446ull, 0, &c), SMMU_CERROR_ILL) << "SSec = 1 on CMD_SYNC";
    EXPECT_STREQ(smmu_opcode_name(0x18), "TLBI_EL3_ALL");
    EXPECT_EQ(smmu_opcode_name(0x08), nullptr);

    smmu_params s2_only = defaults();
    s2_only.idr[0] &= ~(uint32_t)(SMMU_IDR0_S1P | SMMU_IDR0_CD2L);
    for (uint64_t opcode : {0x05ull, 0x06ull, 0x10ull, 0x11ull})
        EXPECT_EQ(decode(s2_only, opcode, 0, &c), SMMU_CERROR_ILL) << std::hex << opcode;
    EXPECT_EQ(decode(s2_only, 0x13ull, 0x1000, &c), SMMU_CERROR_ILL);
    EXPECT_EQ(decode(s2_only, 0x28ull, 0, &c), SMMU_CERROR_NONE);

    smmu_params s1_only = defaults();
    s1_only.idr[0] &= ~(uint32_t)(SMMU_IDR0_S2P | SMMU_IDR0_HYP);
    EXPECT_EQ(decode(s1_only, 0x28ull, 0, &c), SMMU_CERROR_ILL);
    EXPECT_EQ(decode(s1_only, 0x2Aull, 0x1000, &c), SMMU_CERROR_ILL);
    for (uint64_t opcode : {0x20ull, 0x21ull, 0x22ull, 0x23ull})
        EXPECT_EQ(decode(s1_only, opcode, 0x1000, &c), SMMU_CERROR_ILL)
            << "EL2 without Hyp " << std::hex << opcode;
    EXPECT_EQ(decode(s1_only, 0x10ull, 0, &c), SMMU_CERROR_NONE);
}
