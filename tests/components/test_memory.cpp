#include <cstring>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "memory.h"
#include "test_initiator.h"

// The component's statistics as the platform writes them (vp::Stats), parsed back.
template <typename Component>
nlohmann::json registered_stats(const Component &component) {
    vp::Stats stats;
    component.register_stats(stats);
    std::ostringstream text;
    stats.write_json(text);
    return nlohmann::json::parse(text.str());
}

using vp_test::TestInitiator;

namespace {

// Builds one memory and one initiator running BODY, then simulates until the body returns.
void run_with_memory(uint64_t size, const std::function<void(TestInitiator &, vp::Memory &)> &body) {
    vp::Memory memory("memory", size);
    TestInitiator initiator("initiator", [&](TestInitiator &self) { body(self, memory); });
    initiator.socket.bind(memory.socket);
    sc_core::sc_start();
    EXPECT_TRUE(initiator.finished());
}

} // namespace

TEST(Memory, StartsZeroedAndRoundTripsWritesWithLatency) {
    run_with_memory(0x1000, [](TestInitiator &cpu, vp::Memory &memory) {
        EXPECT_EQ(cpu.read32(0x100), 0u);
        cpu.write32(0x100, 0xCAFEF00D);
        EXPECT_EQ(cpu.read32(0x100), 0xCAFEF00Du);
        uint64_t value = 0;
        EXPECT_EQ(cpu.read(0x100, value, 8), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(value, 0xCAFEF00Du);
        uint32_t backdoor = 0;
        ASSERT_TRUE(memory.peek(0x100, &backdoor, sizeof backdoor));
        EXPECT_EQ(backdoor, 0xCAFEF00Du); // little-endian byte order in storage
        EXPECT_EQ(memory.data()[0x100], 0x0D);
        EXPECT_EQ(cpu.annotated_delay(), sc_core::sc_time(80, sc_core::SC_NS)); // 4 accesses x 20 ns
        EXPECT_EQ(memory.reads(), 3u);
        EXPECT_EQ(memory.writes(), 1u);
        EXPECT_EQ(memory.bytes_read(), 16u);
    });
}

TEST(Memory, HonoursByteEnables) {
    run_with_memory(0x100, [](TestInitiator &cpu, vp::Memory &memory) {
        cpu.write32(0x10, 0x44332211);
        uint8_t data[4] = {0xAA, 0xBB, 0xCC, 0xDD};
        const uint8_t enables[4] = {TLM_BYTE_ENABLED, TLM_BYTE_DISABLED, TLM_BYTE_ENABLED, TLM_BYTE_DISABLED};
        EXPECT_EQ(cpu.access(tlm::TLM_WRITE_COMMAND, 0x10, data, 4, enables, 4), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.read32(0x10), 0x44CC22AAu);

        // A shorter byte-enable pattern repeats over the data.
        const uint8_t every_other[2] = {TLM_BYTE_DISABLED, TLM_BYTE_ENABLED};
        uint8_t zeros[4] = {};
        EXPECT_EQ(cpu.access(tlm::TLM_WRITE_COMMAND, 0x10, zeros, 4, every_other, 2), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.read32(0x10), 0x00CC00AAu);

        // Byte-enabled reads leave disabled bytes of the buffer untouched.
        uint8_t out[4] = {1, 2, 3, 4};
        EXPECT_EQ(cpu.access(tlm::TLM_READ_COMMAND, 0x10, out, 4, enables, 4), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(out[0], 0xAA);
        EXPECT_EQ(out[1], 2);
        EXPECT_EQ(out[2], 0xCC);
        EXPECT_EQ(out[3], 4);
        (void)memory;
    });
}

TEST(Memory, OutOfRangeIsAnAddressError) {
    run_with_memory(0x100, [](TestInitiator &cpu, vp::Memory &memory) {
        uint64_t value = 0;
        EXPECT_EQ(cpu.read(0x100, value, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read(0xFE, value, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE); // straddles the end
        EXPECT_EQ(cpu.write(0xFFFFFFFFFFFFFFFCull, 1, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        uint8_t data[8] = {};
        const uint8_t enables[8] = {0, 0, 0, 0, 0, 0, 0, TLM_BYTE_ENABLED};
        EXPECT_EQ(cpu.access(tlm::TLM_WRITE_COMMAND, 0xFC, data, 8, enables, 8),
                  tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read(0xFC, value, 4), tlm::TLM_OK_RESPONSE); // the last word itself is fine
        EXPECT_EQ(memory.address_errors(), 4u);
        EXPECT_EQ(memory.writes(), 0u);
    });
}

TEST(Memory, GrantsDmiOverTheWholeRangeAtData) {
    run_with_memory(0x4000, [](TestInitiator &cpu, vp::Memory &memory) {
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(cpu.get_dmi(0x1234, dmi));
        EXPECT_EQ(dmi.get_dmi_ptr(), memory.data());
        EXPECT_EQ(dmi.get_start_address(), 0u);
        EXPECT_EQ(dmi.get_end_address(), 0x3FFFu);
        EXPECT_TRUE(dmi.is_read_write_allowed());
        EXPECT_EQ(dmi.get_read_latency(), sc_core::sc_time(20, sc_core::SC_NS));
        // Writes through the DMI pointer are what the socket reads back.
        dmi.get_dmi_ptr()[0x200] = 0x5A;
        uint64_t value = 0;
        EXPECT_EQ(cpu.read(0x200, value, 1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(value, 0x5Au);
        EXPECT_EQ(memory.dmi_grants(), 1u);
    });
}

TEST(Memory, BackdoorAndDebugAccessesRespectTheRange) {
    run_with_memory(0x100, [](TestInitiator &cpu, vp::Memory &memory) {
        const char text[] = "hello";
        EXPECT_TRUE(memory.load(0xF0, text, sizeof text));
        EXPECT_FALSE(memory.load(0xFC, text, sizeof text));
        char back[sizeof text] = {};
        EXPECT_FALSE(memory.peek(0xFD, back, 4));
        EXPECT_TRUE(memory.peek(0xF0, back, sizeof back));
        EXPECT_STREQ(back, "hello");

        uint8_t buffer[0x20] = {};
        EXPECT_EQ(cpu.debug(tlm::TLM_READ_COMMAND, 0xF0, buffer, sizeof buffer), 0x10u); // clipped at the end
        EXPECT_EQ(std::memcmp(buffer, "hello", 6), 0);
        const uint8_t pattern[2] = {0x12, 0x34};
        EXPECT_EQ(cpu.debug(tlm::TLM_WRITE_COMMAND, 0x40, const_cast<uint8_t *>(pattern), 2), 2u);
        EXPECT_EQ(memory.data()[0x41], 0x34);
        EXPECT_EQ(cpu.debug(tlm::TLM_READ_COMMAND, 0x100, buffer, 4), 0u);
        EXPECT_EQ(memory.reads() + memory.writes(), 0u); // debug traffic is not counted as traffic
    });
}

TEST(Memory, LargeMemoryIsCheapAndZeroSizeIsRejected) {
    EXPECT_THROW(vp::Memory("empty", 0), std::invalid_argument);
    // 1 GiB must not be touched up front; reading the far end still sees zeros.
    vp::Memory ram("ram", 1ull << 30);
    uint32_t word = 1;
    EXPECT_TRUE(ram.peek((1ull << 30) - 4, &word, sizeof word));
    EXPECT_EQ(word, 0u);
    const nlohmann::json stats = registered_stats(ram);
    EXPECT_EQ(stats.at("ram.reads"), 0u) << stats.dump();
}
