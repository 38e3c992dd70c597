// Walker tests: granules and start levels, range checks, descriptor kinds, faults, permissions, HTTU,
// stage 2 and nesting.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>

#include "engine_test_support.h"

using namespace engine_test;

namespace {

struct EngineDeleter {
    void operator()(smmu_engine *e) const { smmu_engine_destroy(e); }
};

class WalkTest : public ::testing::Test {
  protected:
    void SetUp() override { Recreate(DefaultParams()); }
    void Recreate(const smmu_engine_params &p) {
        params_ = p;
        engine_.reset(smmu_engine_create(&params_, host_.ops(), &host_));
        ASSERT_NE(engine_, nullptr);
    }
    bool Translate(const smmu_s1_cfg *s1, const smmu_s2_cfg *s2, uint64_t ia, smmu_access acc,
                   uint32_t sid = 0) {
        out_ = {};
        fault_ = {};
        return smmu_engine_translate(engine_.get(), sid, s1, s2, ia, acc, &out_, &fault_);
    }
    void ExpectFault(smmu_fault_type type, int stage, int level) {
        EXPECT_EQ(fault_.type, type);
        EXPECT_EQ(fault_.stage, stage);
        EXPECT_EQ(fault_.level, level);
    }
    uint64_t Stat(const char *name) {
        struct Arg {
            const char *name;
            uint64_t value;
            bool found;
        } arg{name, 0, false};
        smmu_engine_stats(
            engine_.get(),
            [](void *a, const char *n, uint64_t v) {
                auto *x = static_cast<Arg *>(a);
                if (!strcmp(n, x->name)) {
                    x->value = v;
                    x->found = true;
                }
            },
            &arg);
        EXPECT_TRUE(arg.found) << name;
        return arg.value;
    }
    static std::string StepName(int stage, int level) {
        return "walk.steps.s" + std::to_string(stage) + ".level" + std::to_string(level);
    }

    TestHost host_;
    PtBuilder pt_{host_, 0x4000'0000};
    smmu_engine_params params_{};
    std::unique_ptr<smmu_engine, EngineDeleter> engine_;
    smmu_xlate_out out_{};
    smmu_fault fault_{};
};

TEST(StartLevel, Stage1FollowsTxSZ) {
    struct Case {
        uint8_t granule, tsz;
        int level;
    } cases[] = {{12, 16, 0}, {12, 24, 0}, {12, 25, 1}, {12, 33, 1}, {12, 34, 2}, {12, 42, 2}, {12, 43, 3},
                 {12, 48, 3}, {14, 16, 0}, {14, 17, 1}, {14, 27, 1}, {14, 28, 2}, {14, 38, 2}, {14, 39, 3},
                 {16, 16, 1}, {16, 21, 1}, {16, 22, 2}, {16, 34, 2}, {16, 35, 3}, {16, 47, 3}};
    for (const Case &c : cases) {
        int8_t level = -5;
        ASSERT_TRUE(smmu_s1_start_level(c.granule, c.tsz, smmu_s1_tsz_range(c.granule, true, false), &level))
            << int(c.granule) << " " << int(c.tsz);
        EXPECT_EQ(level, c.level) << "granule " << int(c.granule) << " tsz " << int(c.tsz);
    }
    int8_t level;
    EXPECT_FALSE(smmu_s1_start_level(12, 15, smmu_s1_tsz_range(12, true, false), &level));
    EXPECT_FALSE(smmu_s1_start_level(16, 48, smmu_s1_tsz_range(16, true, false), &level));
    EXPECT_FALSE(smmu_s1_start_level(13, 30, smmu_s1_tsz_range(12, true, false), &level));
}

// CD.TxSZ limits: 39 without IDR3.STT, 48 (47 for 64 KB) with it; 12 only for 64 KB with 52-bit VAs.
TEST(StartLevel, Stage1TxSZRangeFollowsSttAndVax) {
    struct Case {
        uint8_t granule;
        bool stt, va52;
        uint8_t min, max;
    } cases[] = {{12, false, false, 16, 39}, {12, true, false, 16, 48}, {14, true, true, 16, 48},
                 {16, false, false, 16, 39}, {16, true, false, 16, 47}, {16, true, true, 12, 47},
                 {12, false, true, 16, 39}};
    for (const Case &c : cases) {
        smmu_tsz_range r = smmu_s1_tsz_range(c.granule, c.stt, c.va52);
        EXPECT_EQ(r.min, c.min) << int(c.granule) << " " << c.stt << c.va52;
        EXPECT_EQ(r.max, c.max) << int(c.granule) << " " << c.stt << c.va52;
    }
    int8_t level;
    EXPECT_FALSE(smmu_s1_start_level(12, 40, smmu_s1_tsz_range(12, false, false), &level));
    EXPECT_TRUE(smmu_s1_start_level(12, 39, smmu_s1_tsz_range(12, false, false), &level));
    EXPECT_FALSE(smmu_s1_start_level(16, 12, smmu_s1_tsz_range(16, true, false), &level));
    // 52-bit VA with 64 KB pages: levels 1..3, 10 bits resolved at level 1.
    ASSERT_TRUE(smmu_s1_start_level(16, 12, smmu_s1_tsz_range(16, true, true), &level));
    EXPECT_EQ(level, 1);
}

// STE.S2T0SZ: never below 64 - IAS, 12 only with 64 KB.
TEST(StartLevel, Stage2TxSZRangeFollowsIas) {
    smmu_tsz_range r = smmu_s2_tsz_range(12, false, 44);
    EXPECT_EQ(r.min, 20);
    EXPECT_EQ(r.max, 39);
    r = smmu_s2_tsz_range(16, true, 52);
    EXPECT_EQ(r.min, 12);
    EXPECT_EQ(r.max, 47);
    r = smmu_s2_tsz_range(12, true, 52);
    EXPECT_EQ(r.min, 16);
    int8_t level;
    uint8_t concat;
    EXPECT_FALSE(smmu_s2_start_level(12, 16, smmu_s2_tsz_range(12, true, 44), 2, 44, &level, &concat));
    ASSERT_TRUE(smmu_s2_start_level(16, 12, smmu_s2_tsz_range(16, true, 52), 2, 52, &level, &concat));
    EXPECT_EQ(level, 1);
    EXPECT_EQ(concat, 1);
}

TEST(StartLevel, Stage2ConcatenationAndLegality) {
    int8_t level;
    uint8_t concat;
    // 4KB, 40-bit IPA starting at level 1: 10 bits at level 1 = two concatenated tables.
    ASSERT_TRUE(smmu_s2_start_level(12, 24, smmu_s2_tsz_range(12, true, 48), 1, 48, &level, &concat));
    EXPECT_EQ(level, 1);
    EXPECT_EQ(concat, 2);
    // 4KB, 48-bit IPA at level 0: one table.
    ASSERT_TRUE(smmu_s2_start_level(12, 16, smmu_s2_tsz_range(12, true, 48), 2, 48, &level, &concat));
    EXPECT_EQ(level, 0);
    EXPECT_EQ(concat, 1);
    // Level 0 needs a PA size of at least 44 bits.
    EXPECT_FALSE(smmu_s2_start_level(12, 16, smmu_s2_tsz_range(12, true, 48), 2, 40, &level, &concat));
    // 48-bit IPA from level 1 needs 512 tables: illegal.
    EXPECT_FALSE(smmu_s2_start_level(12, 16, smmu_s2_tsz_range(12, true, 48), 1, 48, &level, &concat));
    // 4KB, 34-bit IPA at level 2 = 16 concatenated tables; 35 bits would be 32: illegal.
    ASSERT_TRUE(smmu_s2_start_level(12, 30, smmu_s2_tsz_range(12, true, 48), 0, 48, &level, &concat));
    EXPECT_EQ(level, 2);
    EXPECT_EQ(concat, 16);
    EXPECT_FALSE(smmu_s2_start_level(12, 29, smmu_s2_tsz_range(12, true, 48), 0, 48, &level, &concat));
    // A start level that resolves nothing: 4KB, 30-bit IPA from level 0.
    EXPECT_FALSE(smmu_s2_start_level(12, 34, smmu_s2_tsz_range(12, true, 48), 2, 48, &level, &concat));
    // 16KB and 64KB encodings start one level deeper.
    ASSERT_TRUE(smmu_s2_start_level(14, 35, smmu_s2_tsz_range(14, true, 48), 0, 48, &level, &concat));
    EXPECT_EQ(level, 3);
    EXPECT_EQ(concat, 16);
    ASSERT_TRUE(smmu_s2_start_level(16, 16, smmu_s2_tsz_range(16, true, 48), 2, 48, &level, &concat));
    EXPECT_EQ(level, 1);
    EXPECT_EQ(concat, 1);
    EXPECT_FALSE(smmu_s2_start_level(16, 16, smmu_s2_tsz_range(16, true, 48), 3, 48, &level, &concat));
}

// Every granule with every legal stage-1 start level: the page translates, and the walk reads one
// descriptor per level.
TEST_F(WalkTest, EveryGranuleAndStartLevel) {
    for (uint8_t granule : {12, 14, 16}) {
        unsigned max_tsz = granule == 16 ? 47 : 48;
        for (unsigned tsz = 16; tsz <= max_tsz; tsz++) {
            smmu_tt_cfg tt = S1Table(granule, static_cast<uint8_t>(tsz));
            pt_.NewRoot(tt);
            smmu_s1_cfg s1 = S1Config(tt);
            uint64_t va = ((1ull << (64 - tsz)) - 1) & 0x0000'9abc'def1'2345ull & ~0ull;
            va &= (1ull << (64 - tsz)) - 1;
            uint64_t pa = 0x0000'1234'5000'0000ull + (va & ((1ull << granule) - 1));
            pt_.Map(tt, va, pa, 3);
            uint64_t reads_before = host_.reads;
            uint64_t steps_before[4];
            for (int level = 0; level < 4; level++)
                steps_before[level] = Stat(StepName(1, level).c_str());
            smmu_engine_inv_all(engine_.get());
            ASSERT_TRUE(Translate(&s1, nullptr, va, kRead)) << "granule " << int(granule) << " tsz " << tsz;
            EXPECT_EQ(out_.oa, pa);
            EXPECT_EQ(out_.size_shift, granule);
            EXPECT_EQ(host_.reads - reads_before, static_cast<uint64_t>(4 - tt.start_level));
            // One step at each level from the start level down to level 3, none above it.
            for (int level = 0; level < 4; level++)
                EXPECT_EQ(Stat(StepName(1, level).c_str()) - steps_before[level],
                          level >= tt.start_level ? 1u : 0u)
                    << "granule " << int(granule) << " tsz " << tsz << " level " << level;
        }
    }
}

TEST_F(WalkTest, BlocksAtLegalLevelsAndFaultsElsewhere) {
    struct Case {
        uint8_t granule;
        int level;
        bool legal;
    } cases[] = {{12, 0, false}, {12, 1, true},  {12, 2, true}, {14, 1, false},
                 {14, 2, true},  {16, 1, false}, {16, 2, true}};
    for (const Case &c : cases) {
        smmu_tt_cfg tt = S1Table(c.granule, c.granule == 16 ? 22 : 16);
        if (c.granule == 16 && c.level == 1)
            tt = S1Table(16, 16);
        pt_.NewRoot(tt);
        smmu_s1_cfg s1 = S1Config(tt);
        unsigned shift = LevelShift(c.granule, c.level);
        uint64_t va = (3ull << shift) + 0x1238;
        uint64_t oa = 5ull << shift;
        pt_.Map(tt, va, oa, c.level);
        smmu_engine_inv_all(engine_.get());
        bool ok = Translate(&s1, nullptr, va, kRead);
        EXPECT_EQ(ok, c.legal) << "granule " << int(c.granule) << " level " << c.level;
        if (ok) {
            EXPECT_EQ(out_.oa, oa + 0x1238);
            EXPECT_EQ(out_.size_shift, shift);
        } else {
            ExpectFault(SMMU_FAULT_TRANSLATION, 1, c.level);
        }
    }
}

// 52-bit addresses with the 64 KB granule (FEAT_LVA, FEAT_LPA): a 52-bit VA walked from level 1, OA[51:48] in
// descriptor bits [15:12] of table and page descriptors, and level-1 blocks. Without a 52-bit OAS bits
// [15:12] are ignored and a level-1 block is a translation fault.
TEST_F(WalkTest, FiftyTwoBitAddressesWith64KGranule) {
    auto encode = [](uint64_t addr, unsigned low_shift) {
        return (addr & ((1ull << 48) - 1) & ~((1ull << low_shift) - 1)) | ((addr >> 48) << 12);
    };
    const uint64_t va_page = 0x000F'1234'5678'0000ull, va_block = 0x0003'0400'0000'0000ull;
    const uint64_t l2_table = 0x000A'0000'0001'0000ull, l3_table = 0x0000'0000'4200'0000ull;
    const uint64_t oa_page = 0x000B'0000'1234'0000ull, oa_block = 0x000C'0400'0000'0000ull;
    smmu_tt_cfg tt = S1Table(16, 12);
    ASSERT_EQ(tt.start_level, 1);
    tt.oa_bits = 52;
    pt_.NewRoot(tt);
    host_.Write64(pt_.DescAddr(tt, va_page, 1), encode(l2_table, 16) | kValid | kTable);
    host_.Write64(l2_table + ((va_page >> 29) & 0x1fff) * 8, encode(l3_table, 16) | kValid | kTable);
    host_.Write64(l3_table + ((va_page >> 16) & 0x1fff) * 8, encode(oa_page, 16) | kAf | kValid | kTable);
    host_.Write64(pt_.DescAddr(tt, va_block, 1), encode(oa_block, 42) | kAf | kValid);
    smmu_s1_cfg s1 = S1Config(tt);

    smmu_engine_params p = DefaultParams();
    p.oas_bits = 52;
    Recreate(p);
    ASSERT_TRUE(Translate(&s1, nullptr, va_page + 0x1234, kRead))
        << fault_.type << " level " << int(fault_.level);
    EXPECT_EQ(out_.oa, oa_page + 0x1234);
    EXPECT_EQ(out_.size_shift, 16);
    ASSERT_TRUE(Translate(&s1, nullptr, va_block + 0x5678, kRead));
    EXPECT_EQ(out_.oa, oa_block + 0x5678);
    EXPECT_EQ(out_.size_shift, 42);
    // Beyond the 52-bit VA range.
    EXPECT_FALSE(Translate(&s1, nullptr, 1ull << 52, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 0);

    Recreate(DefaultParams()); // 48-bit OAS
    tt.oa_bits = 48;
    s1 = S1Config(tt);
    EXPECT_FALSE(Translate(&s1, nullptr, va_page, kRead)); // the level-2 table is read at a 48-bit address
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 2);
    EXPECT_FALSE(Translate(&s1, nullptr, va_block, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 1);
}

TEST_F(WalkTest, InvalidAndReservedDescriptors) {
    smmu_tt_cfg tt = S1Table(12, 25);
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    uint64_t va = 0x4020'3000;
    uint64_t desc = pt_.Map(tt, va, 0x8000'0000, 3);
    // Level 3 with bits[1:0] = 01 is reserved.
    host_.Write64(desc, host_.Read64(desc) & ~kTable);
    EXPECT_FALSE(Translate(&s1, nullptr, va, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 3);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_IN);
    // Invalid at level 2.
    uint64_t l2 = pt_.DescAddr(tt, va, 2);
    host_.Write64(l2, 0);
    // Table descriptors may be held by the walk cache until invalidated, as on hardware.
    smmu_engine_inv_all(engine_.get());
    EXPECT_FALSE(Translate(&s1, nullptr, va, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 2);
    // Faults are never cached: fixing the table makes the next translation succeed.
    pt_.Map(tt, va, 0x8000'0000, 3);
    ASSERT_TRUE(Translate(&s1, nullptr, va, kRead));
    EXPECT_EQ(out_.oa, 0x8000'0000u + 0x000u);
    EXPECT_EQ(Stat("faults.translation"), 2u);
}

TEST_F(WalkTest, Ttb0Ttb1SplitAndTopByteIgnore) {
    smmu_tt_cfg tt0 = S1Table(12, 25);
    smmu_tt_cfg tt1 = S1Table(16, 22);
    pt_.NewRoot(tt0);
    pt_.NewRoot(tt1);
    smmu_s1_cfg s1 = S1Config(tt0);
    s1.tt[1] = tt1;
    uint64_t va0 = 0x12'3456'7000ull;
    uint64_t va1 = 0xffff'ff80'1234'0000ull; // within the top 2^42 bytes
    pt_.Map(tt0, va0, 0x1000'0000, 3);
    pt_.Map(tt1, va1, 0x2000'0000, 3);
    ASSERT_TRUE(Translate(&s1, nullptr, va0 + 0x10, kRead));
    EXPECT_EQ(out_.oa, 0x1000'0010u);
    ASSERT_TRUE(Translate(&s1, nullptr, va1 + 0x20, kRead));
    EXPECT_EQ(out_.oa, 0x2000'0020u);
    EXPECT_EQ(out_.size_shift, 16);
    // Outside both ranges.
    EXPECT_FALSE(Translate(&s1, nullptr, 1ull << 40, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 0);
    EXPECT_FALSE(Translate(&s1, nullptr, 0xffff'0000'0000'0000ull, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 0);
    // A tagged pointer faults without TBI and translates with it; bit 55 still selects the half.
    uint64_t tagged0 = va0 | (0x5aull << 56);
    uint64_t tagged1 = (va1 & ~(0xffull << 56)) | (0xa5ull << 56);
    EXPECT_FALSE(Translate(&s1, nullptr, tagged0, kRead));
    EXPECT_FALSE(Translate(&s1, nullptr, tagged1, kRead));
    s1.tbi[0] = s1.tbi[1] = true;
    ASSERT_TRUE(Translate(&s1, nullptr, tagged0, kRead));
    EXPECT_EQ(out_.oa, 0x1000'0000u);
    ASSERT_TRUE(Translate(&s1, nullptr, tagged1, kRead));
    EXPECT_EQ(out_.oa, 0x2000'0000u);
    // TBI for one half only.
    s1.tbi[1] = false;
    EXPECT_FALSE(Translate(&s1, nullptr, tagged1, kRead));
}

TEST_F(WalkTest, EpdDisablesWalks) {
    smmu_tt_cfg tt = S1Table(12, 25);
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    pt_.Map(tt, 0x1000, 0x5000, 3);
    ASSERT_TRUE(Translate(&s1, nullptr, 0x1000, kRead));
    s1.tt[0].disabled = true;
    smmu_engine_inv_all(engine_.get());
    uint64_t reads = host_.reads;
    EXPECT_FALSE(Translate(&s1, nullptr, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 0);
    EXPECT_EQ(host_.reads, reads);
    // TTB1 disabled (the S1Config default) faults the upper half the same way.
    EXPECT_FALSE(Translate(&s1, nullptr, 0xffff'ffff'ffff'f000ull, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 0);
}

TEST_F(WalkTest, AddressSizeFaults) {
    smmu_tt_cfg tt = S1Table(12, 25);
    tt.oa_bits = 40;
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    // Leaf OA beyond 40 bits.
    pt_.Map(tt, 0x1000, 1ull << 40, 3);
    EXPECT_FALSE(Translate(&s1, nullptr, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_ADDR_SIZE, 1, 3);
    // Block OA beyond 40 bits at level 2.
    pt_.Map(tt, 0x4000'0000, 0x100'4000'0000ull, 2);
    EXPECT_FALSE(Translate(&s1, nullptr, 0x4000'0000, kRead));
    ExpectFault(SMMU_FAULT_ADDR_SIZE, 1, 2);
    // Next-level table address beyond 40 bits in a level-1 descriptor.
    uint64_t l1 = pt_.DescAddr(tt, 0x8000'0000, 1);
    host_.Write64(l1, (1ull << 41) | kValid | kTable);
    EXPECT_FALSE(Translate(&s1, nullptr, 0x8000'0000, kRead));
    ExpectFault(SMMU_FAULT_ADDR_SIZE, 1, 1);
    // TTB itself beyond the output size: level 0.
    s1.tt[0].ttb = 1ull << 42;
    EXPECT_FALSE(Translate(&s1, nullptr, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_ADDR_SIZE, 1, 0);
    EXPECT_EQ(Stat("faults.addr_size"), 4u);
}

TEST_F(WalkTest, OasCapsEveryOutputSize) {
    smmu_engine_params p = DefaultParams();
    p.oas_bits = 40;
    Recreate(p);
    smmu_tt_cfg tt = S1Table(12, 25); // IPS 48, effectively 40
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    pt_.Map(tt, 0x1000, 1ull << 44, 3);
    EXPECT_FALSE(Translate(&s1, nullptr, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_ADDR_SIZE, 1, 3);
    // Under nesting the stage-1 output is an IPA, but the IPS cap is the same.
    smmu_s2_cfg s2 = S2Config(12, 24, 1);
    pt_.NewRoot(s2.tt);
    for (uint64_t ipa = 0x4000'0000; ipa < 0x4400'0000; ipa += 1 << 21)
        pt_.Map(s2.tt, ipa, ipa, 2, kAf | kS2apR | kS2apW | kS2Normal);
    EXPECT_FALSE(Translate(&s1, &s2, 0x1008, kRead));
    ExpectFault(SMMU_FAULT_ADDR_SIZE, 1, 3);
    // And a stage-2 output beyond the OAS is a stage-2 address size fault.
    pt_.Map(tt, 0x2000, 0x8000'0000, 3);
    pt_.Map(s2.tt, 0x8000'0000, 1ull << 41, 3, kAf | kS2apR | kS2Normal);
    EXPECT_FALSE(Translate(&s1, &s2, 0x2000, kRead));
    ExpectFault(SMMU_FAULT_ADDR_SIZE, 2, 3);
    EXPECT_EQ(fault_.ipa, 0x8000'0000u);
}

TEST_F(WalkTest, El2RegimeHasOnePrivilegeAndNoTtb1) {
    smmu_tt_cfg tt = S1Table(12, 25);
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    s1.regime = SMMU_REGIME_EL2;
    s1.tt[1] = tt;
    s1.tt[1].disabled = false;
    pt_.Map(tt, 0x1000, 0x9000, 3, kAf | kPxn); // AP[1] = 0 and PXN: both meaningless at EL2
    EXPECT_TRUE(Translate(&s1, nullptr, 0x1000, kUserRead));
    EXPECT_TRUE(Translate(&s1, nullptr, 0x1000, kUserWrite));
    EXPECT_TRUE(Translate(&s1, nullptr, 0x1000, kExec));
    pt_.Map(tt, 0x2000, 0xa000, 3, kAf | kUxn); // bit 54 is XN
    EXPECT_FALSE(Translate(&s1, nullptr, 0x2000, kExec));
    EXPECT_FALSE(Translate(&s1, nullptr, 0xffff'ffff'ffff'f000ull, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 1, 0);
}

// AP[2:1] x UXN x PXN for privileged/unprivileged reads, writes and instruction fetches.
TEST_F(WalkTest, AccessPermissionMatrix) {
    smmu_tt_cfg tt = S1Table(12, 25);
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    uint64_t va = 0x1000;
    for (unsigned ap = 0; ap < 4; ap++) {
        for (unsigned xn = 0; xn < 4; xn++) {
            uint64_t attrs =
                kAf | (static_cast<uint64_t>(ap) << 6) | ((xn & 1) ? kUxn : 0) | ((xn & 2) ? kPxn : 0);
            pt_.Map(tt, va, 0x9000, 3, attrs);
            bool user = ap & 1, ro = ap & 2;
            bool user_w = user && !ro;
            bool expect[6] = {
                true,                 // priv read
                !ro,                  // priv write
                !(xn & 2) && !user_w, // priv exec: PXN, and never from EL0-writable memory
                user,                 // user read
                user_w,               // user write
                !(xn & 1),            // user exec: execute-only (AP[1] = 0) still executes
            };
            smmu_access accs[6] = {kRead, kWrite, kExec, kUserRead, kUserWrite, kUserExec};
            for (int i = 0; i < 6; i++) {
                smmu_engine_inv_all(engine_.get());
                bool ok = Translate(&s1, nullptr, va, accs[i]);
                EXPECT_EQ(ok, expect[i]) << "ap " << ap << " xn " << xn << " access " << i;
                if (!ok)
                    ExpectFault(SMMU_FAULT_PERMISSION, 1, 3);
            }
        }
    }
}

TEST_F(WalkTest, WxnAndPan) {
    smmu_tt_cfg tt = S1Table(12, 25);
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    pt_.Map(tt, 0x1000, 0x9000, 3, kAf);        // priv RW
    pt_.Map(tt, 0x2000, 0xa000, 3, kAf | kAp2); // priv RO
    pt_.Map(tt, 0x3000, 0xb000, 3, kAf | kAp1); // user RW
    s1.wxn = true;
    EXPECT_FALSE(Translate(&s1, nullptr, 0x1000, kExec));
    ExpectFault(SMMU_FAULT_PERMISSION, 1, 3);
    EXPECT_TRUE(Translate(&s1, nullptr, 0x2000, kExec));
    EXPECT_FALSE(Translate(&s1, nullptr, 0x3000, kUserExec));
    s1.wxn = false;
    smmu_engine_inv_all(engine_.get());
    EXPECT_TRUE(Translate(&s1, nullptr, 0x1000, kExec));
    EXPECT_TRUE(Translate(&s1, nullptr, 0x3000, kUserExec));
    // PAN: privileged data accesses to user-accessible memory fault; user accesses do not.
    s1.pan = true;
    smmu_engine_inv_all(engine_.get());
    EXPECT_FALSE(Translate(&s1, nullptr, 0x3000, kRead));
    ExpectFault(SMMU_FAULT_PERMISSION, 1, 3);
    EXPECT_TRUE(Translate(&s1, nullptr, 0x3000, kUserRead));
    EXPECT_TRUE(Translate(&s1, nullptr, 0x1000, kRead));
}

TEST_F(WalkTest, HierarchicalAttributesAndHad) {
    smmu_tt_cfg tt = S1Table(12, 25);
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    uint64_t rw_user_exec = kAf | kAp1;
    // Each table attribute set on the level-1 descriptor of its own 1GB region.
    pt_.Map(tt, 0x0000'1000, 0x9000, 3, rw_user_exec, kApTable0);
    pt_.Map(tt, 0x4000'1000, 0x9000, 3, rw_user_exec, kApTable1);
    pt_.Map(tt, 0x8000'1000, 0x9000, 3, rw_user_exec, kUxnTable);
    pt_.Map(tt, 0xc000'1000, 0x9000, 3, kAf, kPxnTable);
    EXPECT_FALSE(Translate(&s1, nullptr, 0x0000'1000, kUserRead));
    ExpectFault(SMMU_FAULT_PERMISSION, 1, 3);
    EXPECT_TRUE(Translate(&s1, nullptr, 0x0000'1000, kWrite));
    EXPECT_FALSE(Translate(&s1, nullptr, 0x4000'1000, kWrite));
    EXPECT_FALSE(Translate(&s1, nullptr, 0x4000'1000, kUserWrite));
    EXPECT_TRUE(Translate(&s1, nullptr, 0x4000'1000, kUserRead));
    EXPECT_FALSE(Translate(&s1, nullptr, 0x8000'1000, kUserExec));
    EXPECT_TRUE(Translate(&s1, nullptr, 0x8000'1000, kUserRead));
    EXPECT_FALSE(Translate(&s1, nullptr, 0xc000'1000, kExec));
    // HAD ignores all of them.
    s1.tt[0].had = true;
    smmu_engine_inv_all(engine_.get());
    EXPECT_TRUE(Translate(&s1, nullptr, 0x0000'1000, kUserRead));
    EXPECT_TRUE(Translate(&s1, nullptr, 0x4000'1000, kWrite));
    EXPECT_TRUE(Translate(&s1, nullptr, 0x8000'1000, kUserExec));
    EXPECT_TRUE(Translate(&s1, nullptr, 0xc000'1000, kExec));
}

TEST_F(WalkTest, AccessFlagFaultAffdAndHardwareUpdate) {
    smmu_tt_cfg tt = S1Table(12, 25);
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    uint64_t desc = pt_.Map(tt, 0x1000, 0x9000, 3, 0);
    EXPECT_FALSE(Translate(&s1, nullptr, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_ACCESS, 1, 3);
    s1.tt[0].affd = true;
    EXPECT_TRUE(Translate(&s1, nullptr, 0x1000, kRead));
    EXPECT_EQ(host_.Read64(desc) & kAf, 0u);
    s1.tt[0].affd = false;
    s1.tt[0].ha = true;
    smmu_engine_inv_all(engine_.get());
    EXPECT_TRUE(Translate(&s1, nullptr, 0x1000, kRead));
    EXPECT_NE(host_.Read64(desc) & kAf, 0u);
    EXPECT_EQ(Stat("httu.af_updates"), 1u);
    // HA requested but the SMMU does not implement HTTU: back to a fault.
    smmu_engine_params p = DefaultParams();
    p.hw_af = false;
    Recreate(p);
    host_.Write64(desc, host_.Read64(desc) & ~kAf);
    EXPECT_FALSE(Translate(&s1, nullptr, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_ACCESS, 1, 3);
}

TEST_F(WalkTest, HardwareUpdatesWithoutHostCas) {
    host_.DropCas();
    Recreate(DefaultParams());
    smmu_tt_cfg tt = S1Table(12, 25);
    tt.ha = tt.hd = true;
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    uint64_t desc = pt_.Map(tt, 0x1000, 0x9000, 3, kAp2 | kDbm);
    ASSERT_TRUE(Translate(&s1, nullptr, 0x1000, kWrite));
    EXPECT_EQ(host_.Read64(desc) & (kAf | kAp2), kAf);
    EXPECT_EQ(host_.cas_calls, 0u);
}

TEST_F(WalkTest, DirtyStateUpdateWithDbm) {
    smmu_tt_cfg tt = S1Table(12, 25);
    tt.ha = tt.hd = true;
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    uint64_t desc = pt_.Map(tt, 0x1000, 0x9000, 3, kAp2 | kDbm); // writable-clean, AF = 0
    // A read sets AF only and leaves the page clean (not reported writable).
    ASSERT_TRUE(Translate(&s1, nullptr, 0x1000, kRead));
    EXPECT_EQ(host_.Read64(desc) & (kAf | kAp2), kAf | kAp2);
    EXPECT_FALSE(out_.write);
    // A write hits the clean TLB entry but must walk to mark the page dirty.
    uint64_t cas_before = host_.cas_calls;
    ASSERT_TRUE(Translate(&s1, nullptr, 0x1000, kWrite));
    EXPECT_FALSE(out_.tlb_hit);
    EXPECT_EQ(host_.Read64(desc) & kAp2, 0u);
    EXPECT_EQ(host_.cas_calls, cas_before + 1);
    EXPECT_TRUE(out_.write);
    EXPECT_EQ(Stat("httu.dirty_updates"), 1u);
    // Now a write hits.
    ASSERT_TRUE(Translate(&s1, nullptr, 0x1000, kWrite));
    EXPECT_TRUE(out_.tlb_hit);
    // Without HD the same descriptor is simply read-only.
    uint64_t desc2 = pt_.Map(tt, 0x2000, 0xa000, 3, kAf | kAp2 | kDbm);
    s1.tt[0].hd = false;
    EXPECT_FALSE(Translate(&s1, nullptr, 0x2000, kWrite));
    ExpectFault(SMMU_FAULT_PERMISSION, 1, 3);
    EXPECT_NE(host_.Read64(desc2) & kAp2, 0u);
}

TEST_F(WalkTest, DirtyUpdateRetriesWhenTheDescriptorChanges) {
    smmu_tt_cfg tt = S1Table(12, 25);
    tt.ha = tt.hd = true;
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    uint64_t desc = pt_.Map(tt, 0x1000, 0x9000, 3, kAf | kAp2 | kDbm);
    // Another agent moves the page to 0xb000 between our read and our CAS (once).
    int races = 0;
    host_.before_cas = [&](TestHost &h) {
        if (races++ == 0)
            h.Write64(desc, 0xb000 | kValid | kTable | kAf | kAp2 | kDbm);
    };
    ASSERT_TRUE(Translate(&s1, nullptr, 0x1000, kWrite));
    EXPECT_EQ(out_.oa, 0xb000u);
    EXPECT_EQ(host_.cas_calls, 2u);
    EXPECT_EQ(host_.Read64(desc), 0xb000 | kValid | kTable | kAf | kDbm);
    EXPECT_EQ(Stat("httu.cas_retries"), 1u);
    // The other agent makes it read-only (DBM cleared): the retry now faults instead of writing.
    host_.Write64(desc, 0x9000 | kValid | kTable | kAf | kAp2 | kDbm);
    races = 0;
    host_.before_cas = [&](TestHost &h) {
        if (races++ == 0)
            h.Write64(desc, 0x9000 | kValid | kTable | kAf | kAp2);
    };
    smmu_engine_inv_all(engine_.get());
    EXPECT_FALSE(Translate(&s1, nullptr, 0x1000, kWrite));
    ExpectFault(SMMU_FAULT_PERMISSION, 1, 3);
    EXPECT_EQ(host_.Read64(desc), 0x9000 | kValid | kTable | kAf | kAp2);
}

TEST_F(WalkTest, WalkExternalAbortReportsFetchAddress) {
    smmu_tt_cfg tt = S1Table(12, 25);
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    pt_.Map(tt, 0x1000, 0x9000, 3);
    uint64_t l2 = pt_.DescAddr(tt, 0x1000, 2);
    host_.abort_at.insert(l2);
    EXPECT_FALSE(Translate(&s1, nullptr, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_WALK_EABT, 1, 2);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_TT) << "a stage-1 descriptor fetch abort is CLASS TT";
    EXPECT_EQ(fault_.fetch_addr, l2);
    EXPECT_EQ(Stat("faults.walk_eabt"), 1u);
    // An abort on the HTTU write is reported too.
    host_.abort_at.clear();
    uint64_t leaf = pt_.Map(tt, 0x2000, 0xa000, 3, 0);
    s1.tt[0].ha = true;
    host_.before_cas = [&](TestHost &h) { h.abort_at.insert(leaf); };
    EXPECT_FALSE(Translate(&s1, nullptr, 0x2000, kRead));
    ExpectFault(SMMU_FAULT_WALK_EABT, 1, 3);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_TT);
    EXPECT_EQ(fault_.fetch_addr, leaf);
}

TEST_F(WalkTest, BigEndianTables) {
    smmu_tt_cfg tt = S1Table(12, 25);
    tt.big_endian = true;
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    uint64_t l1 = pt_.DescAddr(tt, 0x1000, 1);
    uint64_t l2_table = pt_.Alloc(4096), l3_table = pt_.Alloc(4096);
    host_.Write64(l1, __builtin_bswap64(l2_table | kValid | kTable));
    host_.Write64(l2_table, __builtin_bswap64(l3_table | kValid | kTable));
    host_.Write64(l3_table + 8, __builtin_bswap64(0x7000 | kValid | kTable | kAf));
    ASSERT_TRUE(Translate(&s1, nullptr, 0x1234, kRead));
    EXPECT_EQ(out_.oa, 0x7234u);
}

TEST_F(WalkTest, AttributesFromMair) {
    smmu_tt_cfg tt = S1Table(12, 25);
    pt_.NewRoot(tt);
    smmu_s1_cfg s1 = S1Config(tt);
    s1.mair = 0x44'ff'04'00ull << 0;
    pt_.Map(tt, 0x1000, 0x9000, 3, kAf | (2ull << 2) | (3ull << 8) | kNg);
    ASSERT_TRUE(Translate(&s1, nullptr, 0x1000, kRead));
    EXPECT_EQ(out_.mem_attr, 0xffu);
    EXPECT_EQ(out_.s2_mem_attr, 0xffu); // no stage 2
    EXPECT_EQ(out_.share, 3u);
    EXPECT_FALSE(out_.global);
    pt_.Map(tt, 0x2000, 0x9000, 3, kAf | (1ull << 2) | (2ull << 8));
    ASSERT_TRUE(Translate(&s1, nullptr, 0x2000, kRead));
    EXPECT_EQ(out_.mem_attr, 0x04u);
    EXPECT_EQ(out_.share, 2u);
    EXPECT_TRUE(out_.global);
}

// ---- stage 2 ----

TEST_F(WalkTest, Stage2ConcatenatedStartTables) {
    // 4KB granule, 40-bit IPA from level 1: two concatenated level-1 tables.
    smmu_s2_cfg s2 = S2Config(12, 24, 1);
    ASSERT_EQ(s2.tt.concat_tables, 2);
    pt_.NewRoot(s2.tt);
    uint64_t low = 0x1000, high = (1ull << 39) + 0x2000;
    pt_.Map(s2.tt, low, 0x10'0000, 3, kAf | kS2apR | kS2apW | kS2Normal);
    pt_.Map(s2.tt, high, 0x20'0000, 3, kAf | kS2apR | kS2apW | kS2Normal);
    // The second table sits right after the first.
    EXPECT_EQ(pt_.DescAddr(s2.tt, high, 1), s2.tt.ttb + 4096);
    ASSERT_TRUE(Translate(nullptr, &s2, low + 4, kRead));
    EXPECT_EQ(out_.oa, 0x10'0004u);
    EXPECT_EQ(out_.mem_attr, 0xffu);
    EXPECT_EQ(out_.s2_mem_attr, 0xfu);
    ASSERT_TRUE(Translate(nullptr, &s2, high + 8, kRead));
    EXPECT_EQ(out_.oa, 0x20'0008u);
    // Beyond the 40-bit input range: stage-2 translation fault with the IPA.
    EXPECT_FALSE(Translate(nullptr, &s2, 1ull << 40, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 2, 0);
    EXPECT_EQ(fault_.ipa, 1ull << 40);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_IN);
}

TEST_F(WalkTest, Stage2OnlyInputChecks) {
    smmu_engine_params p = DefaultParams();
    p.oas_bits = 40;
    Recreate(p);
    smmu_s2_cfg s2 = S2Config(12, 32, 1); // 32-bit IPA space
    pt_.NewRoot(s2.tt);
    pt_.Map(s2.tt, 0x1000, 0x2000, 3, kAf | kS2apR | kS2Normal);
    ASSERT_TRUE(Translate(nullptr, &s2, 0x1000, kRead));
    // Beyond the IAS (= OAS here): a stage-1 address size fault although stage 1 is bypassed.
    EXPECT_FALSE(Translate(nullptr, &s2, 1ull << 41, kRead));
    ExpectFault(SMMU_FAULT_ADDR_SIZE, 1, 0);
    // Within the IAS but beyond S2T0SZ: a stage-2 translation fault.
    EXPECT_FALSE(Translate(nullptr, &s2, 1ull << 33, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 2, 0);
    EXPECT_EQ(fault_.ipa, 1ull << 33);
}

TEST_F(WalkTest, Stage2AccessAndExecutePermissions) {
    smmu_s2_cfg s2 = S2Config(16, 24, 1);
    pt_.NewRoot(s2.tt);
    for (unsigned s2ap = 0; s2ap < 4; s2ap++) {
        for (unsigned xn = 0; xn < 4; xn++) {
            uint64_t ipa = 0x10000;
            pt_.Map(s2.tt, ipa, 0x30000, 3,
                    kAf | kS2Normal | (static_cast<uint64_t>(s2ap) << 6) | (static_cast<uint64_t>(xn) << 53));
            bool expect[4] = {
                (s2ap & 1) != 0,    // read
                (s2ap & 2) != 0,    // write
                xn == 0 || xn == 3, // privileged exec
                xn == 0 || xn == 1, // unprivileged exec
            };
            smmu_access accs[4] = {kRead, kWrite, kExec, kUserExec};
            for (int i = 0; i < 4; i++) {
                smmu_engine_inv_all(engine_.get());
                bool ok = Translate(nullptr, &s2, ipa, accs[i]);
                EXPECT_EQ(ok, expect[i]) << "s2ap " << s2ap << " xn " << xn << " access " << i;
                if (!ok) {
                    ExpectFault(SMMU_FAULT_PERMISSION, 2, 3);
                    EXPECT_EQ(fault_.ipa, ipa);
                }
            }
        }
    }
}

// Without FEAT_XNX (smmu_engine_params.xnx = false) bit 53 is RES0: XN[1] alone decides, for both levels.
TEST_F(WalkTest, Stage2ExecuteNeverWithoutXnx) {
    smmu_engine_params p = DefaultParams();
    p.xnx = false;
    Recreate(p);
    smmu_s2_cfg s2 = S2Config(12, 24, 1);
    pt_.NewRoot(s2.tt);
    for (unsigned xn = 0; xn < 4; xn++) {
        uint64_t ipa = 0x10000;
        pt_.Map(s2.tt, ipa, 0x30000, 3, kAf | kS2Normal | kS2apR | (static_cast<uint64_t>(xn) << 53));
        for (smmu_access acc : {kExec, kUserExec}) {
            smmu_engine_inv_all(engine_.get());
            EXPECT_EQ(Translate(nullptr, &s2, ipa, acc), (xn & 2) == 0)
                << "xn " << xn << " priv " << acc.priv;
        }
    }
}

TEST_F(WalkTest, Stage2DirtyStateSetsS2apWrite) {
    smmu_s2_cfg s2 = S2Config(12, 24, 1);
    s2.tt.ha = s2.tt.hd = true;
    pt_.NewRoot(s2.tt);
    uint64_t desc = pt_.Map(s2.tt, 0x5000, 0x6000, 3, kS2apR | kDbm | kS2Normal);
    ASSERT_TRUE(Translate(nullptr, &s2, 0x5000, kRead));
    EXPECT_EQ(host_.Read64(desc) & (kAf | kS2apW), kAf);
    ASSERT_TRUE(Translate(nullptr, &s2, 0x5000, kWrite));
    EXPECT_NE(host_.Read64(desc) & kS2apW, 0u);
    EXPECT_EQ(Stat("httu.dirty_updates"), 1u);
}

// ---- nested ----

class NestedTest : public WalkTest {
  protected:
    void SetUp() override {
        WalkTest::SetUp();
        s2_ = S2Config(12, 24, 1, /*vmid=*/7);
        pt_.NewRoot(s2_.tt);
        // Stage 2 maps IPA 0x4000_0000..0x4400_0000 (where stage-1 tables live) to the same PA with 2MB
        // blocks.
        for (uint64_t ipa = 0x4000'0000; ipa < 0x4400'0000; ipa += 1 << 21)
            pt_.Map(s2_.tt, ipa, ipa, 2, kAf | kS2apR | kS2apW | kS2Normal);
        tt_ = S1Table(12, 25);
        pt_.NewRoot(tt_);
        s1_ = S1Config(tt_, 3);
    }
    smmu_s2_cfg s2_{};
    smmu_tt_cfg tt_{};
    smmu_s1_cfg s1_{};
};

TEST_F(NestedTest, TranslatesThroughBothStages) {
    pt_.Map(tt_, 0x1000, 0x8000'0000, 3, kAf | kAp1);                       // VA -> IPA 0x8000_0000 (4KB)
    pt_.Map(s2_.tt, 0x8000'0000, 0x9000'0000, 2, kAf | kS2apR | kS2Normal); // IPA -> PA, 2MB, read-only
    ASSERT_TRUE(Translate(&s1_, &s2_, 0x1234, kRead));
    EXPECT_EQ(out_.oa, 0x9000'0234u);
    EXPECT_EQ(out_.s2_mem_attr, 0xfu);
    EXPECT_EQ(out_.size_shift, 12);
    EXPECT_TRUE(out_.read);
    EXPECT_FALSE(out_.write); // stage 2 forbids it
    EXPECT_FALSE(Translate(&s1_, &s2_, 0x1234, kWrite));
    ExpectFault(SMMU_FAULT_PERMISSION, 2, 2);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_IN);
    EXPECT_EQ(fault_.ipa, 0x8000'0234u);
    EXPECT_EQ(Stat("walks.nested"), 2u);
    // Every descriptor read is one step of its stage at its level; the stage-1 leaf is at level 3.
    for (int stage = 1; stage <= 2; stage++) {
        uint64_t steps = 0;
        for (int level = 0; level < 4; level++)
            steps += Stat(StepName(stage, level).c_str());
        EXPECT_EQ(steps, Stat(stage == 1 ? "walk.mem_reads.s1" : "walk.mem_reads.s2")) << "stage " << stage;
    }
    EXPECT_GE(Stat("walk.steps.s1.level3"), 1u);
    EXPECT_EQ(Stat("walk.steps.s2.level0"), 0u) << "stage 2 starts at level 1";
}

// The engine reports each stage's own attributes, from a walk and from the TLB; the control plane combines
// them.
TEST_F(NestedTest, ReportsEachStagesAttributes) {
    pt_.Map(tt_, 0x1000, 0x8000'0000, 3, kAf | kAp1 | (1ull << 2) | (2ull << 8)); // MAIR index 1, OSH
    pt_.Map(s2_.tt, 0x8000'0000, 0x9000'0000, 3, kAf | kS2apR | (0x5ull << 2) | (3ull << 8)); // NC, ISH
    for (int pass = 0; pass < 2; pass++) {
        ASSERT_TRUE(Translate(&s1_, &s2_, 0x1000, kRead));
        EXPECT_EQ(out_.tlb_hit, pass == 1);
        EXPECT_EQ(out_.mem_attr, 0x04u);
        EXPECT_EQ(out_.share, 2u);
        EXPECT_EQ(out_.s2_mem_attr, 0x5u);
        EXPECT_EQ(out_.s2_share, 3u);
    }
    for (int pass = 0; pass < 2; pass++) {
        ASSERT_TRUE(Translate(nullptr, &s2_, 0x8000'0000, kRead));
        EXPECT_EQ(out_.tlb_hit, pass == 1);
        EXPECT_EQ(out_.mem_attr, 0xffu);
        EXPECT_EQ(out_.s2_mem_attr, 0x5u);
        EXPECT_EQ(out_.s2_share, 3u);
        EXPECT_EQ(out_.share, 3u); // stage 1 bypassed: the stage-2 SH
    }
    ASSERT_TRUE(Translate(&s1_, nullptr, 0x1000, kRead));
    EXPECT_EQ(out_.s2_mem_attr, 0xffu);
    EXPECT_EQ(out_.s2_share, 0xffu);
}

TEST_F(NestedTest, Stage2FaultOnStage1TableFetch) {
    pt_.Map(tt_, 0x1000, 0x8000'0000, 3);
    pt_.Map(s2_.tt, 0x8000'0000, 0x9000'0000, 2, kAf | kS2apR | kS2Normal);
    // Move the level-3 table to an IPA that stage 2 does not map.
    uint64_t l2 = pt_.DescAddr(tt_, 0x1000, 2);
    uint64_t old_l3 = host_.Read64(l2) & ~0xfffull & ((1ull << 48) - 1);
    uint64_t unmapped_ipa = 0x7000'0000;
    host_.Write64(l2, unmapped_ipa | kValid | kTable);
    EXPECT_FALSE(Translate(&s1_, &s2_, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 2, 2);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_TT);
    EXPECT_TRUE(fault_.ttrnw);
    EXPECT_EQ(fault_.ipa, unmapped_ipa + 8);
    // The output IPA unmapped instead: CLASS IN.
    host_.Write64(l2, old_l3 | kValid | kTable);
    smmu_engine_inv_all(engine_.get());
    pt_.Map(tt_, 0x2000, 0x6000'0000, 3);
    EXPECT_FALSE(Translate(&s1_, &s2_, 0x2000, kRead));
    ExpectFault(SMMU_FAULT_TRANSLATION, 2, 2);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_IN);
    EXPECT_EQ(fault_.ipa, 0x6000'0000u);
    // A stage-1 HTTU write through a read-only stage-2 mapping of the table: CLASS TT with TTRnW = 0.
    uint64_t ro_ipa = 0x4400'0000;
    pt_.Map(s2_.tt, ro_ipa, ro_ipa, 2, kAf | kS2apR | kS2Normal);
    host_.Write64(l2, ro_ipa | kValid | kTable);
    host_.Write64(ro_ipa + 3 * 8, 0x8000'0000 | kValid | kTable); // AF = 0
    smmu_engine_inv_all(engine_.get());
    s1_.tt[0].ha = true;
    EXPECT_FALSE(Translate(&s1_, &s2_, 0x3000, kRead));
    ExpectFault(SMMU_FAULT_PERMISSION, 2, 2);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_TT);
    EXPECT_FALSE(fault_.ttrnw);
    EXPECT_EQ(fault_.ipa, ro_ipa + 3 * 8);
}

TEST_F(NestedTest, S2ptwFaultsWalksIntoDeviceMemory) {
    pt_.Map(tt_, 0x1000, 0x8000'0000, 3);
    pt_.Map(s2_.tt, 0x8000'0000, 0x9000'0000, 2, kAf | kS2apR | kS2Normal);
    // Remap the stage-1 tables' IPA block as Device memory at stage 2.
    pt_.Map(s2_.tt, tt_.ttb, tt_.ttb, 2, kAf | kS2apR | kS2apW); // MemAttr 0 = Device-nGnRnE
    EXPECT_TRUE(Translate(&s1_, &s2_, 0x1000, kRead));
    s2_.ptw = true;
    smmu_engine_inv_all(engine_.get());
    EXPECT_FALSE(Translate(&s1_, &s2_, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_PERMISSION, 2, 2);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_TT);
}

// A reserved stage-2 MemAttr (0b0100, 0b1000, 0b1100) behaves as Device-nGnRnE, so S2PTW stops walks there.
TEST_F(NestedTest, S2ptwTreatsReservedStage2MemAttrAsDevice) {
    pt_.Map(tt_, 0x1000, 0x8000'0000, 3);
    pt_.Map(s2_.tt, 0x8000'0000, 0x9000'0000, 2, kAf | kS2apR | kS2Normal);
    for (uint64_t memattr : {0x4ull, 0x8ull, 0xcull}) {
        pt_.Map(s2_.tt, tt_.ttb, tt_.ttb, 2, kAf | kS2apR | kS2apW | (memattr << 2));
        s2_.ptw = false;
        smmu_engine_inv_all(engine_.get());
        EXPECT_TRUE(Translate(&s1_, &s2_, 0x1000, kRead)) << memattr;
        s2_.ptw = true;
        smmu_engine_inv_all(engine_.get());
        EXPECT_FALSE(Translate(&s1_, &s2_, 0x1000, kRead)) << memattr;
        ExpectFault(SMMU_FAULT_PERMISSION, 2, 2);
        EXPECT_EQ(fault_.fclass, SMMU_CLASS_TT);
    }
}

// With STE.S2FWB the stage-2 MemAttr has the FWB encoding: MemAttr[3] is RES0 and MemAttr[2] = 0 is Device,
// so S2PTW judges the same descriptor bits differently.
TEST_F(NestedTest, S2ptwUsesTheFwbEncodingWithS2fwb) {
    pt_.Map(tt_, 0x1000, 0x8000'0000, 3);
    pt_.Map(s2_.tt, 0x8000'0000, 0x9000'0000, 2, kAf | kS2apR | kS2Normal);
    s2_.ptw = true;
    struct Case {
        uint64_t memattr;
        bool device_without_fwb, device_with_fwb;
    } cases[] = {
        {0xb, false, true},  // oWT-iWB / Device-GRE
        {0xe, false, false}, // oWB-iWT / forced Write-Back
        {0x6, false, false}, // oNC-iWT / forced Write-Back
        {0x7, false, false}, // oNC-iWB / stage 1's type
        {0x4, true, true},   // reserved in both encodings
    };
    for (const Case &c : cases) {
        pt_.Map(s2_.tt, tt_.ttb, tt_.ttb, 2, kAf | kS2apR | kS2apW | (c.memattr << 2));
        for (bool fwb : {false, true}) {
            s2_.fwb = fwb;
            smmu_engine_inv_all(engine_.get());
            bool device = fwb ? c.device_with_fwb : c.device_without_fwb;
            EXPECT_EQ(Translate(&s1_, &s2_, 0x1000, kRead), !device)
                << "memattr " << c.memattr << " fwb " << fwb;
            if (device) {
                ExpectFault(SMMU_FAULT_PERMISSION, 2, 2);
            }
        }
    }
}

TEST_F(NestedTest, WalkAbortDuringStage2OfTableFetch) {
    pt_.Map(tt_, 0x1000, 0x8000'0000, 3);
    uint64_t s2_l2 = pt_.DescAddr(s2_.tt, tt_.ttb, 2);
    host_.abort_at.insert(s2_l2);
    EXPECT_FALSE(Translate(&s1_, &s2_, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_WALK_EABT, 2, 2);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_TT);
    EXPECT_EQ(fault_.fetch_addr, s2_l2);
}

TEST_F(NestedTest, Stage1DescriptorAbortAfterStage2IsAStage1FaultOfClassTt) {
    pt_.Map(tt_, 0x1000, 0x8000'0000, 3);
    uint64_t leaf = pt_.DescAddr(tt_, 0x1000, 3); // stage 2 maps the table IPAs to the same PAs
    host_.abort_at.insert(leaf);
    EXPECT_FALSE(Translate(&s1_, &s2_, 0x1000, kRead));
    ExpectFault(SMMU_FAULT_WALK_EABT, 1, 3);
    EXPECT_EQ(fault_.fclass, SMMU_CLASS_TT);
    EXPECT_EQ(fault_.fetch_addr, leaf);
}

TEST_F(NestedTest, CombinedSizeIsTheSmallerStage) {
    pt_.Map(tt_, 0x4000'0000, 0x8000'0000, 1, kAf);                                  // 1GB at stage 1
    pt_.Map(s2_.tt, 0x8020'0000, 0x9020'0000, 2, kAf | kS2apR | kS2apW | kS2Normal); // 2MB at stage 2
    ASSERT_TRUE(Translate(&s1_, &s2_, 0x4020'1234, kWrite));
    EXPECT_EQ(out_.oa, 0x9020'1234u);
    EXPECT_EQ(out_.size_shift, 21);
}

} // namespace
