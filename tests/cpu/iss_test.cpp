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

// The SVC entry is emulated from Unicorn's interrupt hook. It must leave nothing behind that outlives the
// exception: the handler's device accesses, those after ERET and the HVC that follows all work, with exact
// counts, whatever the run budget (a stop recorded at the SVC used to swallow them until the budget ran out).
TEST_F(IssTest, SvcHandlerAndCodeAfterEretReachDevicesAtAnyBudget) {
    const uint64_t vbar = kRamBase + 0x800;
    // vector +0x200: ldr w3, [x5, #4]; add x1, x1, #1; str w1, [x5, #4]; mrs x4, esr_el1; eret
    load(vbar + 0x200, {0xb94004a3u, 0x91000421u, 0xb90004a1u, 0xd5385204u, 0xd69f03e0u});
    // str w1, [x5]; svc #5; ldr w2, [x5, #8]; str w2, [x5, #12]; hvc #3; b .
    load(kCode, {0xb90000a1u, 0xd40000a1u, 0xb94008a2u, 0xb9000ca2u, 0xd4000062u, 0x14000000u});
    iss_set_sysreg(iss_, ISS_VBAR_EL1, vbar);
    const uint32_t pstate = iss_get_pstate(iss_);
    const uint64_t pattern = 0x8877665544332211ull;
    for (uint64_t budget : {50000u, 1000u, 100u, 11u, 10u, 9u, 8u, 7u, 6u, 5u, 4u, 3u, 2u, 1u}) {
        SCOPED_TRACE(budget);
        accesses_.clear();
        iss_set_pc(iss_, kCode);
        iss_set_x(iss_, 1, 0x50);
        iss_set_x(iss_, 5, kMmioBase);
        const uint64_t start = iss_instruction_count(iss_);
        iss_stop_reason reason = ISS_STOP_QUANTUM;
        for (int run = 0; run < 20 && reason == ISS_STOP_QUANTUM; run++) {
            uint64_t executed = 0;
            reason = iss_run(iss_, budget, &executed);
            EXPECT_LT(executed, budget + 6) << "runs end at the first block boundary past the budget";
        }
        ASSERT_EQ(reason, ISS_STOP_HVC) << iss_last_stop(iss_)->message;
        EXPECT_EQ(iss_last_stop(iss_)->imm, 3u);
        EXPECT_EQ(iss_last_stop(iss_)->pc, kCode + 16);
        EXPECT_EQ(iss_instruction_count(iss_) - start, 10u);
        const std::vector<MmioAccess> want = {
            {true, kMmioBase, 4, 0x50, 1},
            {false, kMmioBase + 4, 4, (pattern + kMmioBase + 4) & 0xffffffff, 3},
            {true, kMmioBase + 4, 4, 0x51, 5},
            {false, kMmioBase + 8, 4, (pattern + kMmioBase + 8) & 0xffffffff, 8},
            {true, kMmioBase + 12, 4, (pattern + kMmioBase + 8) & 0xffffffff, 9},
        };
        ASSERT_EQ(accesses_.size(), want.size());
        for (size_t i = 0; i < want.size(); i++) {
            SCOPED_TRACE(i);
            EXPECT_EQ(accesses_[i].write, want[i].write);
            EXPECT_EQ(accesses_[i].address, want[i].address);
            EXPECT_EQ(accesses_[i].value, want[i].value);
            EXPECT_EQ(accesses_[i].count - start, want[i].count);
        }
        EXPECT_EQ(iss_get_x(iss_, 4), (0x15ull << 26) | (1ull << 25) | 5) << "ESR_EL1 seen by the handler";
        EXPECT_EQ(iss_get_pstate(iss_), pstate) << "ERET restored PSTATE";
    }
}

// SVCs back to back with a device write in the handler: every budget, including those that end runs right
// at the exception entry or inside the vector, gives the same accesses at the same instruction counts.
TEST_F(IssTest, SvcLoopGivesTheSameAccessesAndCountsAtEveryBudget) {
    const uint64_t vbar = kRamBase + 0x800;
    // vector +0x200: str w6, [x5]; add x6, x6, #1; eret
    load(vbar + 0x200, {0xb90000a6u, 0x910004c6u, 0xd69f03e0u});
    // loop: svc #0; subs x7, x7, #1; b.ne loop; hvc #0
    load(kCode, {0xd4000001u, 0xf10004e7u, 0x54ffffc1u, 0xd4000002u});
    iss_set_sysreg(iss_, ISS_VBAR_EL1, vbar);
    constexpr uint64_t kCalls = 20;
    std::vector<uint64_t> budgets = {50000};
    for (uint64_t budget = 1; budget <= 13; budget++)
        budgets.push_back(budget);
    for (uint64_t budget : budgets) {
        SCOPED_TRACE(budget);
        accesses_.clear();
        iss_set_pc(iss_, kCode);
        iss_set_x(iss_, 5, kMmioBase + 0x10);
        iss_set_x(iss_, 6, 0);
        iss_set_x(iss_, 7, kCalls);
        const uint64_t start = iss_instruction_count(iss_);
        iss_stop_reason reason = ISS_STOP_QUANTUM;
        for (int run = 0; run < 200 && reason == ISS_STOP_QUANTUM; run++)
            reason = iss_run(iss_, budget, nullptr);
        ASSERT_EQ(reason, ISS_STOP_HVC) << iss_last_stop(iss_)->message;
        EXPECT_EQ(iss_instruction_count(iss_) - start, kCalls * 6 + 1);
        ASSERT_EQ(accesses_.size(), kCalls);
        for (uint64_t i = 0; i < kCalls; i++) {
            SCOPED_TRACE(i);
            EXPECT_TRUE(accesses_[i].write);
            EXPECT_EQ(accesses_[i].value, i);
            EXPECT_EQ(accesses_[i].count - start, 6 * i + 2) << "svc, then the store of the handler";
        }
    }
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

// With the MMU on, Unicorn 2.0.1 checks every access and fetch against its own map at the virtual address.
// The ISS makes VA != PA work with no alias: the physical space nothing backs is covered by placeholders
// (accesses that reach one are bus errors), and VAs above it (TTBR1) get placeholders when the guest's
// tables map them. Tables: 48-bit VAs, 4 KiB granule; the code and the device window identity-mapped.
class IssMmuTest : public IssTest {
  protected:
    static constexpr uint64_t kNormal = (1ull << 10) | (3ull << 8); // AF, inner shareable, MAIR index 0
    static constexpr uint64_t kDevice = (1ull << 10) | (1ull << 2); // AF, MAIR index 1
    static constexpr uint64_t kDataVa = 0x0000ffff86000000ull;      // a process-like address, TTBR0
    static constexpr uint64_t kDeviceVa = kDataVa + 0x1000;
    static constexpr uint64_t kCodeVa = 0x0000ffff87000000ull;
    static constexpr uint64_t kHighVa = 0xffff000012345000ull; // TTBR1, above every physical address
    static constexpr uint64_t kDataPa = kRamBase + 0x40000, kOtherDataPa = kRamBase + 0x41000;
    static constexpr uint64_t kCodePa = kRamBase + 0x42000, kHighPa = kRamBase + 0x43000;

    uint64_t new_table() {
        const uint64_t table = next_table_;
        next_table_ += 0x1000;
        std::memset(ram_ + (table - kRamBase), 0, 0x1000);
        return table;
    }
    uint64_t &entry(uint64_t table, uint64_t va, unsigned level) {
        const uint64_t index = (va >> (39 - 9 * level)) & 511;
        return *reinterpret_cast<uint64_t *>(ram_ + (table - kRamBase) + 8 * index);
    }
    // A block (level 1 or 2) or page (level 3) descriptor for va, with the tables on the way.
    void map(uint64_t root, uint64_t va, uint64_t pa, unsigned level, uint64_t attributes) {
        uint64_t table = root;
        for (unsigned l = 0; l < level; l++) {
            uint64_t &e = entry(table, va, l);
            if (!(e & 1))
                e = new_table() | 3;
            table = e & 0xfffffffff000ull;
        }
        entry(table, va, level) = pa | attributes | (level == 3 ? 3 : 1);
    }
    // A root with the identity maps (devices below RAM, RAM) and the VA != PA pages; data_pa for kDataVa.
    uint64_t layout(uint64_t data_pa) {
        const uint64_t root = new_table();
        map(root, 0, 0, 1, kDevice);
        map(root, kRamBase, kRamBase, 1, kNormal);
        map(root, kDataVa, data_pa, 3, kNormal);
        map(root, kDeviceVa, kMmioBase, 3, kDevice);
        map(root, kCodeVa, kCodePa, 3, kNormal);
        return root;
    }
    void mmu_on(uint64_t ttbr0) {
        ttbr1_ = new_table();
        map(ttbr1_, kHighVa, kHighPa, 3, kNormal);
        ASSERT_TRUE(iss_set_sysreg(iss_, ISS_MAIR_EL1, 0x00ff));
        // T0SZ = T1SZ = 16, write-back walks, inner shareable, TG0 4 KiB, TG1 4 KiB, IPS 48 bits.
        const uint64_t tcr = 16 | (1ull << 8) | (1ull << 10) | (3ull << 12) | (16ull << 16) | (1ull << 24) |
                             (1ull << 26) | (3ull << 28) | (2ull << 30) | (5ull << 32);
        ASSERT_TRUE(iss_set_sysreg(iss_, ISS_TCR_EL1, tcr));
        ASSERT_TRUE(iss_set_sysreg(iss_, ISS_TTBR0_EL1, ttbr0));
        ASSERT_TRUE(iss_set_sysreg(iss_, ISS_TTBR1_EL1, ttbr1_));
        uint64_t sctlr = 0;
        iss_get_sysreg(iss_, ISS_SCTLR_EL1, &sctlr);
        ASSERT_TRUE(iss_set_sysreg(iss_, ISS_SCTLR_EL1, sctlr | 1));
    }
    void put64(uint64_t pa, uint64_t value) { std::memcpy(ram_ + (pa - kRamBase), &value, 8); }

    uint64_t next_table_ = kRamBase + 0x80000;
    uint64_t ttbr1_ = 0;
};

TEST_F(IssMmuTest, RamDevicesAndCodeWorkThroughVaNotEqualPaWithoutAlias) {
    mmu_on(layout(kDataPa));
    put64(kDataPa, 0x1111);
    put64(kDataPa + 16, 0x3333);
    put64(kHighPa, 0x4444);
    // va_code page: mov x7, #0x1234; ldr x8, [x2, #16]; str w3, [x5, #8]; hvc #1
    const uint32_t va_code[] = {0xd2824687u, 0xf9400848u, 0xb90008a3u, 0xd4000022u};
    std::memcpy(ram_ + (kCodePa - kRamBase), va_code, sizeof va_code);
    // ldr x1, [x2]; str x3, [x2, #8]; ldr w4, [x5]; str w3, [x5, #4]; ldr x9, [x10]; str x3, [x10, #8]; br x6
    load(kCode, {0xf9400041u, 0xf9000443u, 0xb94000a4u, 0xb90004a3u, 0xf9400149u, 0xf9000543u, 0xd61f00c0u});
    iss_set_x(iss_, 2, kDataVa);
    iss_set_x(iss_, 3, 0xabcdef);
    iss_set_x(iss_, 5, kDeviceVa);
    iss_set_x(iss_, 6, kCodeVa);
    iss_set_x(iss_, 10, kHighVa);
    uint64_t executed = 0;
    ASSERT_EQ(iss_run(iss_, 50000, &executed), ISS_STOP_HVC) << iss_last_stop(iss_)->message;
    EXPECT_EQ(executed, 11u);
    EXPECT_EQ(iss_last_stop(iss_)->pc, kCodeVa + 12) << "the PC is the VA the code was fetched at";
    EXPECT_EQ(iss_get_x(iss_, 1), 0x1111u);
    EXPECT_EQ(ram64(kDataPa + 8), 0xabcdefu) << "the store went to the PA";
    EXPECT_EQ(iss_get_x(iss_, 9), 0x4444u) << "TTBR1 VA";
    EXPECT_EQ(ram64(kHighPa + 8), 0xabcdefu);
    EXPECT_EQ(iss_get_x(iss_, 7), 0x1234u);
    EXPECT_EQ(iss_get_x(iss_, 8), 0x3333u);
    const uint64_t pattern = 0x8877665544332211ull;
    EXPECT_EQ(iss_get_x(iss_, 4), (pattern + kMmioBase) & 0xffffffff);
    // The device sees physical addresses, each access at its own instruction.
    const std::vector<MmioAccess> want = {
        {false, kMmioBase, 4, (pattern + kMmioBase) & 0xffffffff, 3},
        {true, kMmioBase + 4, 4, 0xabcdef, 4},
        {true, kMmioBase + 8, 4, 0xabcdef, 10},
    };
    ASSERT_EQ(accesses_.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) {
        SCOPED_TRACE(i);
        EXPECT_EQ(accesses_[i].write, want[i].write);
        EXPECT_EQ(accesses_[i].address, want[i].address);
        EXPECT_EQ(accesses_[i].size, want[i].size);
        EXPECT_EQ(accesses_[i].value, want[i].value);
        EXPECT_EQ(accesses_[i].count, want[i].count);
    }
    EXPECT_EQ(iss_mmio_attribution_guesses(iss_), 0u);
    // The placeholders hold nothing: the host cannot read guest memory through them either.
    uint64_t value = 0;
    EXPECT_FALSE(iss_read_memory(iss_, kDataVa, &value, 8));
    EXPECT_TRUE(iss_read_memory(iss_, kDataPa, &value, 8));
    EXPECT_EQ(value, 0x1111u);
}

// The same VA in two layouts: after the guest switches TTBR0 (and invalidates its TLB), loads at the VA see
// the second PA's data; nothing the ISS set up for the first layout stands in the way.
TEST_F(IssMmuTest, SameVaInTwoLayoutsSeesEachLayoutsPa) {
    const uint64_t first = layout(kDataPa), second = layout(kOtherDataPa);
    mmu_on(first);
    put64(kDataPa, 0x1111);
    put64(kOtherDataPa, 0x2222);
    // ldr x1, [x2]; msr ttbr0_el1, x9; isb; tlbi vmalle1; dsb sy; isb; ldr x10, [x2]; ldr w11, [x5, #12]; hvc
    // #2
    load(kCode, {0xf9400041u, 0xd5182009u, 0xd5033fdfu, 0xd508871fu, 0xd5033f9fu, 0xd5033fdfu, 0xf940004au,
                 0xb9400cabu, 0xd4000042u});
    iss_set_x(iss_, 2, kDataVa);
    iss_set_x(iss_, 5, kDeviceVa);
    iss_set_x(iss_, 9, second);
    ASSERT_EQ(iss_run(iss_, 50000, nullptr), ISS_STOP_HVC) << iss_last_stop(iss_)->message;
    EXPECT_EQ(iss_get_x(iss_, 1), 0x1111u);
    EXPECT_EQ(iss_get_x(iss_, 10), 0x2222u);
    ASSERT_EQ(accesses_.size(), 1u);
    EXPECT_EQ(accesses_[0].address, kMmioBase + 12);
    EXPECT_EQ(accesses_[0].count, 8u);
}

// VAs above the physical space get their placeholders on demand, on chunks as large as fit: 300 TTBR1 pages
// (more than the ISS keeps placeholders for) all work.
TEST_F(IssMmuTest, ManyTtbr1PagesShareTheirPlaceholders) {
    mmu_on(layout(kDataPa));
    constexpr uint64_t kPages = 300, kFirst = 0xffff000040000000ull;
    for (uint64_t i = 0; i < kPages; i++)
        map(ttbr1_, kFirst + i * 0x1000, kHighPa, 3, kNormal);
    put64(kHighPa, 0x5555);
    // loop: ldr x1, [x2]; add x2, x2, #0x1000; subs x3, x3, #1; b.ne loop; hvc #0
    load(kCode, {0xf9400041u, 0x91400442u, 0xf1000463u, 0x54ffffa1u, 0xd4000002u});
    iss_set_x(iss_, 2, kFirst);
    iss_set_x(iss_, 3, kPages);
    uint64_t executed = 0;
    ASSERT_EQ(iss_run(iss_, 50000, &executed), ISS_STOP_HVC) << iss_last_stop(iss_)->message;
    EXPECT_EQ(executed, kPages * 4 + 1);
    EXPECT_EQ(iss_get_x(iss_, 1), 0x5555u);
}

// A VA the tables do not map, or one mapped to a PA nothing backs, is an unmapped-address bus error at the
// instruction making the access, whether or not Unicorn's own map already covers the VA.
TEST_F(IssMmuTest, UntranslatableVaAndUnbackedPaAreBusErrors) {
    const uint64_t root = layout(kDataPa);
    map(root, kDataVa + 0x2000, 0x80000000ull, 3, kNormal); // past the end of RAM: nothing there
    mmu_on(root);
    // nop; ldr x12, [x13]; b .
    load(kCode, {0xd503201fu, 0xf94001acu, 0x14000000u});
    struct Case {
        uint64_t va;
        uint64_t address;
        const char *message;
    };
    const Case cases[] = {
        {0x0000ffff90000000ull, 0x0000ffff90000000ull, "does not translate"}, // TTBR0, no descriptor
        {kDataVa + 0x2000, 0x80000000ull, "nothing at physical address 0x80000000"},
        {0xffff800000000000ull, 0xffff800000000000ull, "does not translate"}, // TTBR1, no descriptor
        {kHighVa + 0x1000, kHighVa + 0x1000, "does not translate"},           // TTBR1, next to a mapped page
        {0x0001000000000000ull, 0x0001000000000000ull, "does not translate"}, // neither half
    };
    // A load from kHighVa first, so that Unicorn's map covers its neighbourhood (cases 3 and 4 differ there).
    iss_set_pc(iss_, kCode);
    iss_set_x(iss_, 13, kHighVa);
    ASSERT_EQ(iss_run(iss_, 2, nullptr), ISS_STOP_QUANTUM) << iss_last_stop(iss_)->message;
    for (const Case &c : cases) {
        SCOPED_TRACE(c.va);
        iss_set_pc(iss_, kCode);
        iss_set_x(iss_, 13, c.va);
        uint64_t executed = 0;
        ASSERT_EQ(iss_run(iss_, 100, &executed), ISS_STOP_BUS_ERROR) << iss_last_stop(iss_)->message;
        const iss_stop_info *info = iss_last_stop(iss_);
        EXPECT_EQ(executed, 2u);
        EXPECT_EQ(info->pc, kCode + 4);
        EXPECT_EQ(info->address, c.address);
        EXPECT_EQ(info->size, 8u);
        EXPECT_EQ(info->access, ISS_ACCESS_READ);
        EXPECT_TRUE(info->unmapped);
        EXPECT_NE(std::string(info->message).find(c.message), std::string::npos) << info->message;
    }
    // Fetches: nop; br x13 to a VA that does not translate, then to one whose PA is not RAM.
    for (uint64_t target :
         std::initializer_list<uint64_t>{0x0000ffff90000000ull, kDeviceVa, 0xffff800000000000ull}) {
        SCOPED_TRACE(target);
        load(kCode + 0x100, {0xd503201fu, 0xd61f01a0u});
        iss_set_x(iss_, 13, target);
        uint64_t executed = 0;
        ASSERT_EQ(iss_run(iss_, 100, &executed), ISS_STOP_BUS_ERROR) << iss_last_stop(iss_)->message;
        const iss_stop_info *info = iss_last_stop(iss_);
        EXPECT_EQ(executed, 2u);
        EXPECT_EQ(info->pc, target);
        EXPECT_EQ(info->address, target);
        EXPECT_EQ(info->access, ISS_ACCESS_FETCH);
        EXPECT_TRUE(info->unmapped);
        EXPECT_NE(info->message[0], '\0');
    }
    EXPECT_TRUE(accesses_.empty()) << "the device never sees a fetch";
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

// mov x0, #1; add x0, x0, #1 (three times); b .
const std::vector<uint32_t> kCountUp = {0xd2800020, 0x91000400, 0x91000400, 0x91000400, 0x14000000};

TEST_F(IssTest, BreakpointStopsBeforeItsInstructionAndIsSteppedOverOnResume) {
    load(kCode, kCountUp);
    ASSERT_TRUE(iss_add_breakpoint(iss_, kCode + 8));
    uint64_t executed = 0;
    EXPECT_EQ(iss_run(iss_, 1000, &executed), ISS_STOP_BREAKPOINT);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 8);
    EXPECT_EQ(iss_last_stop(iss_)->pc, kCode + 8);
    EXPECT_EQ(iss_get_x(iss_, 0), 2u); // the instruction at the breakpoint has not run
    EXPECT_EQ(executed, 2u);
    EXPECT_EQ(iss_instruction_count(iss_), 2u);

    // Resuming from the breakpoint executes it; the next breakpoint stops the run.
    ASSERT_TRUE(iss_add_breakpoint(iss_, kCode + 16));
    EXPECT_EQ(iss_run(iss_, 1000, &executed), ISS_STOP_BREAKPOINT);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 16);
    EXPECT_EQ(iss_get_x(iss_, 0), 4u);
    EXPECT_EQ(executed, 2u);

    // A breakpoint on a branch to itself: resuming runs it once and stops there again.
    EXPECT_EQ(iss_run(iss_, 1000, &executed), ISS_STOP_BREAKPOINT);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 16);
    EXPECT_EQ(executed, 1u);

    // Removed: the loop runs to the budget.
    EXPECT_TRUE(iss_remove_breakpoint(iss_, kCode + 16));
    EXPECT_FALSE(iss_remove_breakpoint(iss_, kCode + 16));
    EXPECT_EQ(iss_run(iss_, 100, &executed), ISS_STOP_QUANTUM);
    EXPECT_GE(executed, 100u);
}

TEST_F(IssTest, BreakpointAddedAfterTheCodeRanStillStops) {
    load(kCode, kCountUp);
    uint64_t executed = 0;
    EXPECT_EQ(iss_run(iss_, 50, &executed), ISS_STOP_QUANTUM); // translates and caches the block
    load(kCode, kCountUp);
    ASSERT_TRUE(iss_add_breakpoint(iss_, kCode + 4));
    EXPECT_EQ(iss_run(iss_, 1000, &executed), ISS_STOP_BREAKPOINT);
    EXPECT_EQ(iss_get_pc(iss_), kCode + 4);
    EXPECT_EQ(iss_get_x(iss_, 0), 1u);
}

TEST_F(IssTest, SingleStepExecutesExactlyOneInstruction) {
    load(kCode, kCountUp);
    ASSERT_TRUE(iss_set_single_step(iss_, true));
    uint64_t executed = 0;
    for (uint64_t i = 1; i <= 4; i++) {
        EXPECT_EQ(iss_run(iss_, 1000, &executed), ISS_STOP_QUANTUM);
        EXPECT_EQ(executed, 1u);
        EXPECT_EQ(iss_get_pc(iss_), kCode + 4 * i);
        EXPECT_EQ(iss_get_x(iss_, 0), i);
    }
    EXPECT_EQ(iss_instruction_count(iss_), 4u);
    ASSERT_TRUE(iss_set_single_step(iss_, false));
    EXPECT_EQ(iss_run(iss_, 100, &executed), ISS_STOP_QUANTUM);
    EXPECT_GE(executed, 100u);
}

TEST_F(IssTest, VirtualMemoryAccessWithTheMmuOffIsPhysicalRamOnly) {
    const uint32_t word = 0xCAFEF00D;
    ASSERT_TRUE(iss_write_virtual(iss_, kRamBase + 0x2000, &word, 4));
    uint32_t back = 0;
    ASSERT_TRUE(iss_read_virtual(iss_, kRamBase + 0x2000, &back, 4));
    EXPECT_EQ(back, 0xCAFEF00Du);
    EXPECT_EQ(ram64(kRamBase + 0x2000) & 0xFFFFFFFF, 0xCAFEF00Du);
    EXPECT_FALSE(iss_read_virtual(iss_, kMmioBase, &back, 4));                // never MMIO
    EXPECT_FALSE(iss_write_virtual(iss_, kRamBase + kRamSize - 2, &word, 4)); // partly outside RAM
    EXPECT_TRUE(accesses_.empty());
}

} // namespace
