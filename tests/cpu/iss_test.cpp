// Unit tests of the C ISS (iss.h) without SystemC. Guest programs are raw A64 instruction words (assembled
// once with aarch64-linux-gnu-as; the source is in the comment above each array).
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "iss.h"

namespace {

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kCode = kRamBase + 0x1000;
constexpr uint64_t kMmioBase = 0x09000000;

struct MmioAccess {
    bool write;
    uint64_t address;
    unsigned size;
    uint64_t value;
    uint64_t count = 0; // iss_instruction_count() during the access
};

class IssTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ram_ = static_cast<uint8_t *>(std::aligned_alloc(4096, kRamSize));
        std::memset(ram_, 0, kRamSize);
        char error[160];
        iss_ = iss_create(error, sizeof error);
        ASSERT_NE(iss_, nullptr) << error;
        ASSERT_EQ(iss_map_ram(iss_, kRamBase, kRamSize, ram_), 0);
        ASSERT_EQ(iss_map_mmio(iss_, kMmioBase, 0x1000, &IssTest::on_read, &IssTest::on_write, this), 0);
    }
    void TearDown() override {
        iss_destroy(iss_);
        std::free(ram_);
    }
    void load(uint64_t address, const std::vector<uint32_t> &words) {
        std::memcpy(ram_ + (address - kRamBase), words.data(), words.size() * 4);
        iss_set_pc(iss_, address);
    }
    uint64_t ram64(uint64_t address) const {
        uint64_t value;
        std::memcpy(&value, ram_ + (address - kRamBase), 8);
        return value;
    }
    static bool on_read(void *ctx, uint64_t address, unsigned size, uint64_t *value) {
        auto *self = static_cast<IssTest *>(ctx);
        if (self->refuse_mmio_)
            return false;
        // A value that differs in every byte and depends on the address, so a wrong join shows.
        uint64_t pattern = 0x8877665544332211ull + address;
        *value = size == 8 ? pattern : pattern & ((1ull << (8 * size)) - 1);
        self->accesses_.push_back({false, address, size, *value, iss_instruction_count(self->iss_)});
        if (self->request_stop_on_read_) {
            self->request_stop_on_read_ = false;
            iss_request_stop(self->iss_);
        }
        return true;
    }
    static bool on_write(void *ctx, uint64_t address, unsigned size, uint64_t value) {
        auto *self = static_cast<IssTest *>(ctx);
        if (self->refuse_mmio_)
            return false;
        self->accesses_.push_back({true, address, size, value, iss_instruction_count(self->iss_)});
        return true;
    }

    uint8_t *ram_ = nullptr;
    iss_t *iss_ = nullptr;
    std::vector<MmioAccess> accesses_;
    bool refuse_mmio_ = false;
    bool request_stop_on_read_ = false;
};

TEST_F(IssTest, GeneralAndSystemRegistersRoundTrip) {
    iss_set_x(iss_, 5, 0x1122334455667788ull);
    iss_set_x(iss_, 30, 0xabcdef);
    iss_set_pc(iss_, kCode + 0x40);
    EXPECT_EQ(iss_get_x(iss_, 5), 0x1122334455667788ull);
    EXPECT_EQ(iss_get_x(iss_, 30), 0xabcdefu);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 0x40);
    ASSERT_TRUE(iss_set_sysreg(iss_, ISS_VBAR_EL1, kRamBase + 0x800));
    uint64_t value = 0;
    ASSERT_TRUE(iss_get_sysreg(iss_, ISS_VBAR_EL1, &value));
    EXPECT_EQ(value, kRamBase + 0x800);
    ASSERT_TRUE(iss_get_sysreg(iss_, ISS_SCR_EL3, &value));
    EXPECT_EQ(value & 0x501u, 0x501u) << "SCR_EL3 must have RW, HCE and NS set";
    EXPECT_EQ(iss_get_pstate(iss_) & 0xfu, ISS_PSTATE_EL1H);
}

// Runs end at translation-block boundaries: the first one at or past the budget. The count is exact.
TEST_F(IssTest, RunsUntilTheFirstBlockBoundaryAtOrPastTheBudget) {
    // nop x8; b .   (one block of nine instructions, then `b .` alone, again and again)
    load(kCode, {0xd503201fu, 0xd503201fu, 0xd503201fu, 0xd503201fu, 0xd503201fu, 0xd503201fu, 0xd503201fu,
                 0xd503201fu, 0x14000000u});
    uint64_t executed = 0;
    EXPECT_EQ(iss_run(iss_, 5, &executed), ISS_STOP_QUANTUM);
    EXPECT_EQ(executed, 9u);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 8 * 4);
    EXPECT_EQ(iss_run(iss_, 1000, &executed), ISS_STOP_QUANTUM);
    EXPECT_EQ(executed, 1000u);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 8 * 4); // spinning on b .
    EXPECT_EQ(iss_instruction_count(iss_), 1009u);
}

// Without a per-instruction hook the PC is stale inside a block; each MMIO access is matched to its own
// instruction, which decides the 64-bit joining and gives an exact count. Three reads of one register:
// 32-bit, 64-bit (two halves joined), 32-bit, with a RAM load in between.
TEST_F(IssTest, MmioAccessesAreMatchedToTheirInstructions) {
    // ldr w1, [x5]; ldr x6, [x7]; ldr x2, [x5]; ldr w3, [x5]; b .
    load(kCode, {0xb94000a1u, 0xf94000e6u, 0xf94000a2u, 0xb94000a3u, 0x14000000u});
    iss_set_x(iss_, 5, kMmioBase + 0x40);
    iss_set_x(iss_, 7, kRamBase + 0x2000);
    uint64_t executed = 0;
    ASSERT_EQ(iss_run(iss_, 5, &executed), ISS_STOP_QUANTUM);
    EXPECT_EQ(executed, 5u);
    ASSERT_EQ(accesses_.size(), 3u);
    const uint64_t pattern = 0x8877665544332211ull + kMmioBase + 0x40;
    const unsigned sizes[3] = {4, 8, 4};
    const uint64_t counts[3] = {1, 3, 4}; // the instruction making the access counts as executed
    for (unsigned i = 0; i < 3; i++) {
        SCOPED_TRACE(i);
        EXPECT_EQ(accesses_[i].address, kMmioBase + 0x40);
        EXPECT_EQ(accesses_[i].size, sizes[i]);
        EXPECT_EQ(accesses_[i].count, counts[i]);
    }
    EXPECT_EQ(iss_get_x(iss_, 1), pattern & 0xffffffffu);
    EXPECT_EQ(iss_get_x(iss_, 2), pattern);
    EXPECT_EQ(iss_get_x(iss_, 3), pattern & 0xffffffffu);
    EXPECT_EQ(iss_mmio_attribution_guesses(iss_), 0u) << "each access had one possible instruction";
}

// Register offsets, pre-index writeback and pairs are matched too; a refused access in the middle of a block
// reports its own PC.
TEST_F(IssTest, MmioAttributionFollowsAddressingModes) {
    // mov x1, #8; ldr w2, [x5, x1]; str w2, [x5, #4]!; ldp w3, w4, [x5]; ldr w6, [x5, #0x20]; b .
    load(kCode, {0xd2800101u, 0xb86168a2u, 0xb8004ca2u, 0x294010a3u, 0xb94020a6u, 0x14000000u});
    iss_set_x(iss_, 5, kMmioBase);
    ASSERT_EQ(iss_run(iss_, 6, nullptr), ISS_STOP_QUANTUM);
    ASSERT_EQ(accesses_.size(), 5u);
    EXPECT_EQ(accesses_[0].address, kMmioBase + 8);
    EXPECT_EQ(accesses_[0].count, 2u);
    EXPECT_TRUE(accesses_[1].write);
    EXPECT_EQ(accesses_[1].address, kMmioBase + 4);
    EXPECT_EQ(accesses_[1].count, 3u);
    EXPECT_EQ(accesses_[2].address, kMmioBase + 4); // the pair reads from the written-back base
    EXPECT_EQ(accesses_[2].count, 4u);
    EXPECT_EQ(accesses_[3].address, kMmioBase + 8);
    EXPECT_EQ(accesses_[3].count, 4u);
    EXPECT_EQ(accesses_[4].address, kMmioBase + 0x24);
    EXPECT_EQ(accesses_[4].count, 5u);

    accesses_.clear();
    // nop; nop; ldr w1, [x5]; b .
    load(kCode + 0x100, {0xd503201fu, 0xd503201fu, 0xb94000a1u, 0x14000000u});
    refuse_mmio_ = true;
    ASSERT_EQ(iss_run(iss_, 10, nullptr), ISS_STOP_BUS_ERROR);
    EXPECT_EQ(iss_last_stop(iss_)->pc, kCode + 0x108);
}

TEST_F(IssTest, RamIsSharedWithTheHostPointer) {
    // str x1, [x2]; ldr x3, [x2, #8]; b .
    load(kCode, {0xf9000041u, 0xf9400443u, 0x14000000u});
    iss_set_x(iss_, 1, 0x0123456789abcdefull);
    iss_set_x(iss_, 2, kRamBase + 0x2000);
    uint64_t host_value = 0x5555aaaa5555aaaaull;
    std::memcpy(ram_ + 0x2008, &host_value, 8);
    iss_run(iss_, 2, nullptr);
    EXPECT_EQ(ram64(kRamBase + 0x2000), 0x0123456789abcdefull);
    EXPECT_EQ(iss_get_x(iss_, 3), host_value);
}

TEST_F(IssTest, WfiStopsTheRunAfterTheInstruction) {
    // mov x0, #1; wfi; mov x1, #2; b .
    load(kCode, {0xd2800020u, 0xd503207fu, 0xd2800041u, 0x14000000u});
    uint64_t executed = 0;
    EXPECT_EQ(iss_run(iss_, 100, &executed), ISS_STOP_WFI);
    EXPECT_EQ(executed, 2u);
    EXPECT_EQ(iss_last_stop(iss_)->pc, kCode + 4);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 8);
    EXPECT_EQ(iss_get_x(iss_, 1), 0u);
    EXPECT_EQ(iss_run(iss_, 1, &executed), ISS_STOP_QUANTUM);
    EXPECT_EQ(iss_get_x(iss_, 1), 2u);
}

TEST_F(IssTest, WfeYieldAndSevAreHintsThatMakeProgress) {
    // wfe; yield; sev; sevl; mov x1, #1; b .
    load(kCode, {0xd503205fu, 0xd503203fu, 0xd503209fu, 0xd50320bfu, 0xd2800021u, 0x14000000u});
    uint64_t total = 0;
    for (int attempt = 0; attempt < 10 && iss_get_x(iss_, 1) != 1; attempt++) {
        uint64_t executed = 0;
        iss_stop_reason reason = iss_run(iss_, 5, &executed);
        EXPECT_TRUE(reason == ISS_STOP_QUANTUM || reason == ISS_STOP_WFI) << reason;
        total += executed;
    }
    EXPECT_EQ(iss_get_x(iss_, 1), 1u);
    EXPECT_EQ(total, 6u); // the hints, the mov and the `b .` that ends their block
}

TEST_F(IssTest, HvcStopsWithArgumentsAndResumesAfterTheCall) {
    // movz x0, #0x8400, lsl #16; mov x1, #7; hvc #0x12; add x2, x0, #1; b .
    load(kCode, {0xd2b08000u, 0xd28000e1u, 0xd4000242u, 0x91000402u, 0x14000000u});
    uint64_t executed = 0;
    ASSERT_EQ(iss_run(iss_, 100, &executed), ISS_STOP_HVC);
    EXPECT_EQ(executed, 3u);
    EXPECT_EQ(iss_last_stop(iss_)->imm, 0x12u);
    EXPECT_EQ(iss_last_stop(iss_)->pc, kCode + 8);
    EXPECT_EQ(iss_get_x(iss_, 0), 0x84000000u);
    EXPECT_EQ(iss_get_x(iss_, 1), 7u);
    iss_set_x(iss_, 0, 0x10001);
    EXPECT_EQ(iss_run(iss_, 1, nullptr), ISS_STOP_QUANTUM);
    EXPECT_EQ(iss_get_x(iss_, 2), 0x10002u);
}

TEST_F(IssTest, MmioAccessesOfEverySizeReachTheCallbacksWhole) {
    // strb w1,[x5]; strh w1,[x5,#2]; str w1,[x5,#4]; str x1,[x5,#8]; ldrb w2,[x5]; ldrh w3,[x5,#2];
    // ldr w4,[x5,#4]; ldr x6,[x5,#8]; stp x1,x7,[x5,#16]; b .
    load(kCode, {0x390000a1u, 0x790004a1u, 0xb90004a1u, 0xf90004a1u, 0x394000a2u, 0x794004a3u, 0xb94004a4u,
                 0xf94004a6u, 0xa9011ca1u, 0x14000000u});
    const uint64_t x1 = 0xf1e2d3c4b5a69788ull, x7 = 0x0102030405060708ull;
    iss_set_x(iss_, 1, x1);
    iss_set_x(iss_, 5, kMmioBase);
    iss_set_x(iss_, 7, x7);
    ASSERT_EQ(iss_run(iss_, 9, nullptr), ISS_STOP_QUANTUM);
    const uint64_t pattern = 0x8877665544332211ull;
    std::vector<MmioAccess> want = {
        {true, kMmioBase + 0, 1, x1 & 0xff},
        {true, kMmioBase + 2, 2, x1 & 0xffff},
        {true, kMmioBase + 4, 4, x1 & 0xffffffff},
        {true, kMmioBase + 8, 8, x1},
        {false, kMmioBase + 0, 1, (pattern + kMmioBase) & 0xff},
        {false, kMmioBase + 2, 2, (pattern + kMmioBase + 2) & 0xffff},
        {false, kMmioBase + 4, 4, (pattern + kMmioBase + 4) & 0xffffffff},
        {false, kMmioBase + 8, 8, pattern + kMmioBase + 8},
        {true, kMmioBase + 16, 8, x1},
        {true, kMmioBase + 24, 8, x7},
    };
    ASSERT_EQ(accesses_.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) {
        SCOPED_TRACE(i);
        EXPECT_EQ(accesses_[i].write, want[i].write);
        EXPECT_EQ(accesses_[i].address, want[i].address);
        EXPECT_EQ(accesses_[i].size, want[i].size);
        EXPECT_EQ(accesses_[i].value, want[i].value);
    }
    EXPECT_EQ(iss_get_x(iss_, 2), (pattern + kMmioBase) & 0xff);
    EXPECT_EQ(iss_get_x(iss_, 3), (pattern + kMmioBase + 2) & 0xffff);
    EXPECT_EQ(iss_get_x(iss_, 4), (pattern + kMmioBase + 4) & 0xffffffff);
    EXPECT_EQ(iss_get_x(iss_, 6), pattern + kMmioBase + 8);
}

TEST_F(IssTest, LoadPairOfXRegistersIsTwo64BitReads) {
    // ldp x2, x3, [x5]; b .
    load(kCode, {0xa9400ca2u, 0x14000000u});
    iss_set_x(iss_, 5, kMmioBase + 0x20);
    ASSERT_EQ(iss_run(iss_, 1, nullptr), ISS_STOP_QUANTUM);
    const uint64_t pattern = 0x8877665544332211ull;
    ASSERT_EQ(accesses_.size(), 2u);
    for (unsigned i = 0; i < 2; i++) {
        EXPECT_FALSE(accesses_[i].write);
        EXPECT_EQ(accesses_[i].address, kMmioBase + 0x20 + 8 * i);
        EXPECT_EQ(accesses_[i].size, 8u);
    }
    EXPECT_EQ(iss_get_x(iss_, 2), pattern + kMmioBase + 0x20);
    EXPECT_EQ(iss_get_x(iss_, 3), pattern + kMmioBase + 0x28);
}

// The platform ends a quantum from inside an MMIO callback (the quantum keeper needs a sync). The stop takes
// effect at the next block boundary, and the rest of the block runs correctly: when the stop used to be taken
// in the callback itself, the following loads returned 0.
TEST_F(IssTest, StopRequestedInsideMmioReadEndsTheRunAtTheNextBlock) {
    // ldr w1, [x2]; str w1, [x3]; ldr w4, [x2, #4]; b .
    load(kCode, {0xb9400041u, 0xb9000061u, 0xb9400444u, 0x14000000u});
    iss_set_x(iss_, 2, kMmioBase + 0x40);
    iss_set_x(iss_, 3, kRamBase + 0x3000);
    request_stop_on_read_ = true;
    uint64_t executed = 0;
    ASSERT_EQ(iss_run(iss_, 100, &executed), ISS_STOP_REQUESTED);
    EXPECT_EQ(executed, 4u);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 12);
    EXPECT_EQ(iss_last_stop(iss_)->pc, kCode + 12);
    const uint64_t pattern = 0x8877665544332211ull;
    EXPECT_EQ(iss_get_x(iss_, 1), (pattern + kMmioBase + 0x40) & 0xffffffff);
    uint32_t stored;
    std::memcpy(&stored, ram_ + 0x3000, 4);
    EXPECT_EQ(stored, (pattern + kMmioBase + 0x40) & 0xffffffff);
    EXPECT_EQ(iss_get_x(iss_, 4), (pattern + kMmioBase + 0x44) & 0xffffffff);
    ASSERT_EQ(accesses_.size(), 2u);
    ASSERT_EQ(iss_run(iss_, 2, &executed), ISS_STOP_QUANTUM);
    EXPECT_EQ(executed, 2u);
}

// A typical driver sequence: the base address comes from RAM into the register that then addresses the
// device. The RAM load, recomputed with today's registers, points at the device too; it ran already (its
// address register was written after it), so the access belongs to the second load, which is 4-byte aligned.
TEST_F(IssTest, MmioAccessIsNotGivenToALoadWhoseRegistersChangedSinceItRan) {
    // ldr x0, [x0]; add x0, x0, #0x64; ldr w0, [x0]; b .
    load(kCode, {0xf9400000u, 0x91019000u, 0xb9400000u, 0x14000000u});
    const uint64_t base_slot = kRamBase + 0x2000;
    const uint64_t base = kMmioBase;
    std::memcpy(ram_ + 0x2000, &base, 8);
    iss_set_x(iss_, 0, base_slot);
    ASSERT_EQ(iss_run(iss_, 4, nullptr), ISS_STOP_QUANTUM) << iss_last_stop(iss_)->message;
    ASSERT_EQ(accesses_.size(), 1u);
    EXPECT_EQ(accesses_[0].address, kMmioBase + 0x64);
    EXPECT_EQ(accesses_[0].size, 4u);
    EXPECT_EQ(accesses_[0].count, 3u);
    // Decided by the rule, not guessed: a load into its own base cannot still be in progress with that base.
    EXPECT_EQ(iss_mmio_attribution_guesses(iss_), 0u);
}

// MMIO windows are Device memory: a misaligned access is an alignment fault, which ends the run as an ISS
// error at the instruction's PC and never reaches the device.
TEST_F(IssTest, MisalignedDeviceAccessIsAnAlignmentFault) {
    // nop; ldr x1, [x5]; b .
    load(kCode, {0xd503201fu, 0xf94000a1u, 0x14000000u});
    iss_set_x(iss_, 5, kMmioBase + 4);
    ASSERT_EQ(iss_run(iss_, 10, nullptr), ISS_STOP_ISS_ERROR);
    EXPECT_EQ(iss_last_stop(iss_)->pc, kCode + 4);
    EXPECT_NE(std::string(iss_last_stop(iss_)->message).find("alignment fault"), std::string::npos);
    EXPECT_TRUE(accesses_.empty());
    // str w1, [x5]; b .   at an address that is 2 but not 4 aligned
    load(kCode + 0x100, {0xb90000a1u, 0x14000000u});
    iss_set_x(iss_, 5, kMmioBase + 0x12);
    ASSERT_EQ(iss_run(iss_, 10, nullptr), ISS_STOP_ISS_ERROR);
    EXPECT_TRUE(accesses_.empty());
}

TEST_F(IssTest, RefusedMmioIsABusErrorWithPcAddressAndSize) {
    // ldr w1, [x5]; b .
    load(kCode, {0xb94000a1u, 0x14000000u});
    iss_set_x(iss_, 5, kMmioBase + 0x10);
    refuse_mmio_ = true;
    ASSERT_EQ(iss_run(iss_, 10, nullptr), ISS_STOP_BUS_ERROR);
    const iss_stop_info *info = iss_last_stop(iss_);
    EXPECT_EQ(info->address, kMmioBase + 0x10);
    EXPECT_EQ(info->size, 4u);
    EXPECT_EQ(info->access, ISS_ACCESS_READ);
    EXPECT_FALSE(info->unmapped);
    EXPECT_EQ(info->pc, kCode);
}

TEST_F(IssTest, UnmappedAccessIsABusError) {
    load(kCode, {0xb94000a1u, 0x14000000u});
    iss_set_x(iss_, 5, 0x06000000);
    ASSERT_EQ(iss_run(iss_, 10, nullptr), ISS_STOP_BUS_ERROR);
    const iss_stop_info *info = iss_last_stop(iss_);
    EXPECT_EQ(info->address, 0x06000000u);
    EXPECT_EQ(info->size, 4u);
    EXPECT_EQ(info->access, ISS_ACCESS_READ);
    EXPECT_TRUE(info->unmapped);
    EXPECT_EQ(info->pc, kCode);
}

TEST_F(IssTest, FetchingOutsideRamStopsWithoutExecuting) {
    for (uint64_t pc : {kMmioBase + 0x100, uint64_t{0x20000000}, kRamBase + kRamSize}) {
        SCOPED_TRACE(pc);
        iss_set_pc(iss_, pc);
        uint64_t executed = 1;
        iss_stop_reason reason = iss_run(iss_, 10, &executed);
        EXPECT_TRUE(reason == ISS_STOP_BUS_ERROR || reason == ISS_STOP_ISS_ERROR) << reason;
        EXPECT_EQ(executed, 0u);
    }
}

TEST_F(IssTest, UndefinedInstructionIsAnIssErrorAtItsPc) {
    // nop; udf #0; b .
    load(kCode, {0xd503201fu, 0x00000000u, 0x14000000u});
    ASSERT_EQ(iss_run(iss_, 10, nullptr), ISS_STOP_ISS_ERROR);
    EXPECT_EQ(iss_last_stop(iss_)->pc, kCode + 4);
    EXPECT_NE(std::strstr(iss_last_stop(iss_)->message, "undefined"), nullptr);
}

TEST_F(IssTest, IrqEntersVbarPlus0x280AndEretReturns) {
    const uint64_t vbar = kRamBase + 0x800;
    // vector +0x280: mov x10, #0x77; eret
    load(vbar + 0x280, {0xd2800eeau, 0xd69f03e0u});
    // msr daifclr, #2; nop; nop; nop; b .   (the DAIF write ends its block; nops and `b .` form the next)
    load(kCode, {0xd50342ffu, 0xd503201fu, 0xd503201fu, 0xd503201fu, 0x14000000u});
    iss_set_sysreg(iss_, ISS_VBAR_EL1, vbar);
    EXPECT_FALSE(iss_take_irq(iss_)) << "IRQs are masked out of reset";
    EXPECT_EQ(iss_get_pc(iss_), kCode);
    ASSERT_EQ(iss_run(iss_, 2, nullptr), ISS_STOP_QUANTUM);
    uint32_t pstate_before = iss_get_pstate(iss_);
    ASSERT_EQ(pstate_before & ISS_PSTATE_I, 0u);
    ASSERT_TRUE(iss_take_irq(iss_));
    EXPECT_EQ(iss_get_pc(iss_), vbar + 0x280);
    uint64_t elr = 0, spsr = 0;
    iss_get_sysreg(iss_, ISS_ELR_EL1, &elr);
    iss_get_sysreg(iss_, ISS_SPSR_EL1, &spsr);
    EXPECT_EQ(elr, kCode + 16);
    EXPECT_EQ(spsr, pstate_before);
    EXPECT_EQ(iss_get_pstate(iss_) & 0x3cfu, 0x3c5u) << "DAIF masked, EL1h";
    EXPECT_FALSE(iss_take_irq(iss_)) << "a second IRQ must wait for the handler to unmask";
    ASSERT_EQ(iss_run(iss_, 2, nullptr), ISS_STOP_QUANTUM);
    EXPECT_EQ(iss_get_x(iss_, 10), 0x77u);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 16);
    EXPECT_EQ(iss_get_pstate(iss_), pstate_before);
}

TEST_F(IssTest, PendingIrqStopsTheRunWhenTheGuestUnmasks) {
    // nop; msr daifclr, #2; mov x1, #1; b .
    load(kCode, {0xd503201fu, 0xd50342ffu, 0xd2800021u, 0x14000000u});
    iss_set_irq_pending(iss_, true);
    uint64_t executed = 0;
    ASSERT_EQ(iss_run(iss_, 100, &executed), ISS_STOP_IRQ);
    EXPECT_EQ(executed, 2u);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 8) << "stopped before the instruction after the unmask";
    EXPECT_EQ(iss_get_x(iss_, 1), 0u);
    EXPECT_EQ(iss_get_pstate(iss_) & ISS_PSTATE_I, 0u);
    iss_set_irq_pending(iss_, false);
    ASSERT_EQ(iss_run(iss_, 1, &executed), ISS_STOP_QUANTUM);
    EXPECT_EQ(iss_get_x(iss_, 1), 1u);
}

TEST_F(IssTest, IrqFromEl0IsRefusedWithoutChangingState) {
    // eret to EL0t at kCode + 0x100, where b . spins.
    load(kCode + 0x100, {0x14000000u});
    load(kCode, {0xd69f03e0u});
    iss_set_sysreg(iss_, ISS_SPSR_EL1, 0); // EL0t, DAIF clear
    iss_set_sysreg(iss_, ISS_ELR_EL1, kCode + 0x100);
    ASSERT_EQ(iss_run(iss_, 3, nullptr), ISS_STOP_QUANTUM);
    ASSERT_EQ(ISS_PSTATE_EL(iss_get_pstate(iss_)), 0u);
    uint32_t pstate = iss_get_pstate(iss_);
    EXPECT_FALSE(iss_take_irq(iss_));
    EXPECT_EQ(iss_get_pstate(iss_), pstate);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 0x100);
}

TEST_F(IssTest, SvcIsDeliveredToTheSynchronousVector) {
    const uint64_t vbar = kRamBase + 0x800;
    load(vbar + 0x200, {0xd2800eeau, 0xd69f03e0u});
    // svc #0x42; b .
    load(kCode, {0xd4000841u, 0x14000000u});
    iss_set_sysreg(iss_, ISS_VBAR_EL1, vbar);
    iss_run(iss_, 1, nullptr);
    EXPECT_EQ(iss_get_pc(iss_), vbar + 0x200);
    uint64_t esr = 0, elr = 0;
    iss_get_sysreg(iss_, ISS_ESR_EL1, &esr);
    iss_get_sysreg(iss_, ISS_ELR_EL1, &elr);
    EXPECT_EQ(esr, (0x15ull << 26) | (1ull << 25) | 0x42);
    EXPECT_EQ(elr, kCode + 4);
    iss_run(iss_, 2, nullptr);
    EXPECT_EQ(iss_get_x(iss_, 10), 0x77u);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 4);
}

TEST_F(IssTest, AliasWindowSharesRam) {
    ASSERT_EQ(iss_add_ram_alias(iss_, 0x80000000, kRamBase + 0x4000, 0x2000), 0);
    EXPECT_NE(iss_add_ram_alias(iss_, 0x90000000, kRamBase + kRamSize - 0x1000, 0x2000), 0)
        << "an alias reaching past RAM must be refused";
    // str x1, [x2]; ldr x3, [x2, #8]; b .
    load(kCode, {0xf9000041u, 0xf9400443u, 0x14000000u});
    iss_set_x(iss_, 1, 0xfeedfacecafebeefull);
    iss_set_x(iss_, 2, 0x80000000);
    uint64_t host_value = 0x1234;
    std::memcpy(ram_ + 0x4008, &host_value, 8);
    iss_run(iss_, 2, nullptr);
    EXPECT_EQ(ram64(kRamBase + 0x4000), 0xfeedfacecafebeefull);
    EXPECT_EQ(iss_get_x(iss_, 3), host_value);
}

uint64_t fixed_counter(void *ctx) {
    return *static_cast<uint64_t *>(ctx);
}

TEST_F(IssTest, CounterReadsComeFromTheCounterSource) {
    // mrs x0, cntvct_el0; mrs x1, cntpct_el0; mrs x2, cntfrq_el0; b .
    load(kCode, {0xd53be040u, 0xd53be021u, 0xd53be002u, 0x14000000u});
    uint64_t ticks = 0x123456789ull;
    iss_set_counter(iss_, fixed_counter, &ticks);
    iss_run(iss_, 3, nullptr);
    EXPECT_EQ(iss_get_x(iss_, 0), ticks);
    EXPECT_EQ(iss_get_x(iss_, 1), ticks);
    EXPECT_EQ(iss_get_x(iss_, 2), 62500000u);
}

TEST_F(IssTest, CounterDefaultsToInstructionCountOver16) {
    // nop x8 then b .: run 160, then mrs x0, cntvct_el0 placed after.
    std::vector<uint32_t> program(64, 0xd503201fu);
    program.push_back(0xd53be040u);
    program.push_back(0x14000000u);
    load(kCode, program);
    iss_run(iss_, 65, nullptr);
    EXPECT_EQ(iss_get_x(iss_, 0), 65u / 16);
}

// Stage-1 tables, 4 KiB granule, 39-bit VA (start at level 1).
TEST_F(IssTest, TranslateRunsAtAgainstGuestTables) {
    const uint64_t l1 = kRamBase + 0x10000, l2 = kRamBase + 0x11000;
    const uint64_t af = 1ull << 10, inner_shareable = 3ull << 8, ap_el0_rw = 1ull << 6;
    auto put = [&](uint64_t address, uint64_t value) { std::memcpy(ram_ + (address - kRamBase), &value, 8); };
    put(l1 + 0 * 8, 0x40000000ull | af | inner_shareable | ap_el0_rw | 1); // VA 0: 1 GiB block
    put(l1 + 2 * 8, l2 | 3);                                               // VA 2 GiB: table
    put(l2 + 1 * 8, 0x40600000ull | af | inner_shareable | 1);             // VA 2 GiB + 2 MiB: EL1 only
    ASSERT_TRUE(iss_set_sysreg(iss_, ISS_MAIR_EL1, 0xff));
    uint64_t tcr = 25 | (1ull << 8) | (1ull << 10) | (3ull << 12) | (1ull << 23) | (2ull << 32);
    ASSERT_TRUE(iss_set_sysreg(iss_, ISS_TCR_EL1, tcr));
    ASSERT_TRUE(iss_set_sysreg(iss_, ISS_TTBR0_EL1, l1));
    uint64_t sctlr = 0;
    iss_get_sysreg(iss_, ISS_SCTLR_EL1, &sctlr);
    ASSERT_TRUE(iss_set_sysreg(iss_, ISS_SCTLR_EL1, sctlr | 1));
    iss_set_pc(iss_, kCode);
    iss_set_x(iss_, 0, 0xaa);

    uint64_t par = ~0ull;
    ASSERT_TRUE(iss_translate(iss_, 0x123456, ISS_AT_S1E1R, &par));
    EXPECT_EQ(par & 1, 0u);
    EXPECT_EQ(par & 0xfffffffff000ull, 0x40123000u);
    EXPECT_EQ(par >> 56, 0xffu) << "attributes from MAIR index 0";
    ASSERT_TRUE(iss_translate(iss_, 0x80201234, ISS_AT_S1E1W, &par));
    EXPECT_EQ(par & 1, 0u);
    EXPECT_EQ(par & 0xfffffffff000ull, 0x40601000u);
    ASSERT_TRUE(iss_translate(iss_, 0x80201234, ISS_AT_S1E0R, &par));
    EXPECT_EQ(par & 1, 1u) << "EL0 has no access to an AP=00 block";
    ASSERT_TRUE(iss_translate(iss_, 0x123456, ISS_AT_S1E0R, &par));
    EXPECT_EQ(par & 1, 0u);
    ASSERT_TRUE(iss_translate(iss_, 0xc0000000, ISS_AT_S1E1R, &par));
    EXPECT_EQ(par & 1, 1u) << "invalid level-1 descriptor";

    EXPECT_EQ(iss_get_pc(iss_), kCode);
    EXPECT_EQ(iss_get_x(iss_, 0), 0xaau);
    EXPECT_EQ(iss_get_pstate(iss_) & 0xfu, ISS_PSTATE_EL1H);
    EXPECT_EQ(iss_instruction_count(iss_), 0u);
}

} // namespace
