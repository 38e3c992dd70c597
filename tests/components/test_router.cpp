#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "memory.h"
#include "router.h"
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

#include <tlm_utils/simple_target_socket.h>

using vp_test::TestInitiator;

namespace {

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRomBase = 0x00000000;
constexpr uint64_t kDevBase = 0x09000000;

// A target that grants DMI over its own buffer and can announce DMI invalidations on request, to check the
// router's upward path.
class InvalidatingTarget : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<InvalidatingTarget> socket;
    uint8_t buffer[0x100] = {};

    explicit InvalidatingTarget(sc_core::sc_module_name name) : sc_core::sc_module(name), socket("socket") {
        socket.register_b_transport(this, &InvalidatingTarget::b_transport);
        socket.register_get_direct_mem_ptr(this, &InvalidatingTarget::get_direct_mem_ptr);
    }
    void invalidate(uint64_t start, uint64_t end) { socket->invalidate_direct_mem_ptr(start, end); }

  private:
    void b_transport(tlm::tlm_generic_payload &trans, sc_core::sc_time &) {
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
    }
    bool get_direct_mem_ptr(tlm::tlm_generic_payload &, tlm::tlm_dmi &dmi) {
        dmi.set_dmi_ptr(buffer);
        dmi.set_start_address(0);
        dmi.set_end_address(sizeof buffer - 1);
        dmi.allow_read();
        return true;
    }
};

// Three memories behind a router: ROM at 0, a small device-like memory at kDevBase, RAM at kRamBase. The RAM
// memory is larger than its window, to check that DMI is clipped to the window.
struct Bench {
    vp::Router router{"router", sc_core::sc_time(5, sc_core::SC_NS)};
    vp::Memory rom{"rom", 0x1000};
    vp::Memory dev{"dev", 0x100};
    vp::Memory ram{"ram", 0x20000};
    TestInitiator cpu;

    explicit Bench(TestInitiator::Body body) : cpu("cpu", std::move(body)) {
        router.add_target(rom.socket, kRomBase, 0x1000, "rom");
        router.add_target(dev.socket, kDevBase, 0x100, "dev");
        router.add_target(ram.socket, kRamBase, 0x10000, "ram");
        cpu.socket.bind(router.target_socket);
    }
    void run() {
        sc_core::sc_start();
        EXPECT_TRUE(cpu.finished());
    }
};

} // namespace

TEST(Router, DecodesWindowsAndStripsTheBase) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        cpu.write32(kRomBase + 0x10, 0x11111111);
        cpu.write32(kDevBase + 0x20, 0x22222222);
        cpu.write32(kRamBase + 0xFFFC, 0x33333333);
        EXPECT_EQ(cpu.read32(kDevBase + 0x20), 0x22222222u);
        uint32_t value = 0;
        EXPECT_TRUE(bench->rom.peek(0x10, &value, 4));
        EXPECT_EQ(value, 0x11111111u);
        EXPECT_TRUE(bench->dev.peek(0x20, &value, 4));
        EXPECT_EQ(value, 0x22222222u);
        EXPECT_TRUE(bench->ram.peek(0xFFFC, &value, 4));
        EXPECT_EQ(value, 0x33333333u);
        // Each access pays the router's 5 ns plus the memory's 20 ns.
        EXPECT_EQ(cpu.annotated_delay(), sc_core::sc_time(4 * 25, sc_core::SC_NS));
    });
    bench = &b;
    b.run();
    EXPECT_EQ(b.router.transactions(), 4u);
    ASSERT_NE(b.router.region_name(kDevBase + 0xFF), nullptr);
    EXPECT_EQ(*b.router.region_name(kDevBase + 0xFF), "dev");
    EXPECT_EQ(*b.router.region_name(kRamBase), "ram");
    EXPECT_EQ(b.router.region_name(kDevBase + 0x100), nullptr);
    EXPECT_EQ(b.router.region_name(kRamBase + 0x10000), nullptr);
}

TEST(Router, UnmappedAndWindowCrossingAccessesAreAddressErrors) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        uint64_t value = 0;
        EXPECT_EQ(cpu.read(0x08000000, value, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(cpu.write(0xFFFFFFFFFFFFFFFFull, 0, 1), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        // Last two bytes of the device window plus two beyond it: the device must not see it at all.
        EXPECT_EQ(cpu.write(kDevBase + 0xFE, 0xAABBCCDD, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        // Crossing from RAM's window into the hole after it, although the RAM memory itself is larger.
        EXPECT_EQ(cpu.write(kRamBase + 0xFFFC, 0x1, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(cpu.write(kDevBase + 0xFC, 0xAABBCCDD, 4), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(bench->dev.writes(), 1u);
        EXPECT_EQ(bench->ram.writes(), 0u);
    });
    bench = &b;
    b.run();
    EXPECT_EQ(b.router.address_errors(), 4u);
}

TEST(Router, RejectsOverlappingAndDegenerateWindows) {
    vp::Router router("router");
    vp::Memory a("a", 0x1000), b("b", 0x1000), c("c", 0x1000), d("d", 0x1000);
    router.add_target(a.socket, 0x1000, 0x1000, "a");
    EXPECT_THROW(router.add_target(b.socket, 0x1800, 0x1000, "b"), std::invalid_argument); // overlaps the end
    EXPECT_THROW(router.add_target(b.socket, 0x0800, 0x1000, "b"),
                 std::invalid_argument); // overlaps the start
    EXPECT_THROW(router.add_target(b.socket, 0x0000, 0x10000, "b"), std::invalid_argument); // covers it
    EXPECT_THROW(router.add_target(b.socket, 0x1FFF, 1, "b"), std::invalid_argument);       // last byte
    EXPECT_THROW(router.add_target(c.socket, 0x5000, 0, "c"), std::invalid_argument);
    EXPECT_THROW(router.add_target(c.socket, 0xFFFFFFFFFFFFF000ull, 0x2000, "c"), std::invalid_argument);
    // Adjacent windows are fine.
    EXPECT_NO_THROW(router.add_target(d.socket, 0x2000, 0x1000, "d"));
    EXPECT_EQ(*router.region_name(0x2000), "d");
    EXPECT_EQ(*router.region_name(0x1FFF), "a");
}

TEST(Router, ForwardsDmiWithGlobalAddressesClippedToTheWindow) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(cpu.get_dmi(kRamBase + 0x1234, dmi));
        EXPECT_EQ(dmi.get_start_address(), kRamBase);
        EXPECT_EQ(dmi.get_end_address(), kRamBase + 0xFFFF); // window, not the 128 KiB memory
        EXPECT_EQ(dmi.get_dmi_ptr(), bench->ram.data());
        EXPECT_EQ(dmi.get_read_latency(), sc_core::sc_time(25, sc_core::SC_NS));

        ASSERT_TRUE(cpu.get_dmi(kDevBase, dmi));
        EXPECT_EQ(dmi.get_start_address(), kDevBase);
        EXPECT_EQ(dmi.get_end_address(), kDevBase + 0xFF);
        EXPECT_EQ(dmi.get_dmi_ptr(), bench->dev.data());

        // Unmapped: refused, and the refusal does not cover any mapped address.
        EXPECT_FALSE(cpu.get_dmi(0x20000000, dmi));
        EXPECT_EQ(dmi.get_start_address(), 0x20000000u);
        EXPECT_EQ(dmi.get_end_address(), 0x20000000u);
    });
    bench = &b;
    b.run();
    EXPECT_EQ(b.router.dmi_grants(), 2u);
}

TEST(Router, BroadcastsDmiInvalidationsWithGlobalAddresses) {
    vp::Router router("router");
    vp::Memory ram("ram", 0x1000);
    InvalidatingTarget target("target");
    TestInitiator other("other", nullptr);
    TestInitiator cpu("cpu", [&](TestInitiator &self) {
        tlm::tlm_dmi dmi;
        ASSERT_TRUE(self.get_dmi(0x80000010, dmi));
        EXPECT_EQ(dmi.get_start_address(), 0x80000000u);
        EXPECT_EQ(dmi.get_dmi_ptr(), target.buffer);
        target.invalidate(0x10, 0x1F);
        // A target invalidating "everything" must not make the initiators drop DMI of other windows.
        target.invalidate(0, ~uint64_t{0});
    });
    router.add_target(ram.socket, 0x0, 0x1000, "ram");
    router.add_target(target.socket, 0x80000000, 0x100, "target");
    cpu.socket.bind(router.target_socket);
    other.socket.bind(router.target_socket);
    sc_core::sc_start();
    ASSERT_TRUE(cpu.finished());
    for (const TestInitiator *initiator : {&cpu, &other}) {
        ASSERT_EQ(initiator->invalidations().size(), 2u);
        EXPECT_EQ(initiator->invalidations()[0].first, 0x80000010u);
        EXPECT_EQ(initiator->invalidations()[0].second, 0x8000001Fu);
        EXPECT_EQ(initiator->invalidations()[1].first, 0x80000000u);
        EXPECT_EQ(initiator->invalidations()[1].second, 0x800000FFu);
    }
    EXPECT_EQ(router.dmi_invalidations(), 2u);
}

TEST(Router, ForwardsDebugTransportClippedToTheWindow) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        uint8_t pattern[4] = {1, 2, 3, 4};
        EXPECT_EQ(cpu.debug(tlm::TLM_WRITE_COMMAND, kDevBase + 0x10, pattern, 4), 4u);
        EXPECT_EQ(bench->dev.data()[0x13], 4);
        uint8_t buffer[16] = {};
        // Starts 8 bytes before the end of the device window: only those 8 bytes are transferred.
        EXPECT_EQ(cpu.debug(tlm::TLM_READ_COMMAND, kDevBase + 0xF8, buffer, sizeof buffer), 8u);
        EXPECT_EQ(cpu.debug(tlm::TLM_READ_COMMAND, 0x30000000, buffer, 4), 0u);
        EXPECT_EQ(bench->dev.writes(), 0u); // debug traffic is not timed traffic
    });
    bench = &b;
    b.run();
    const nlohmann::json stats = registered_stats(b.router);
    EXPECT_EQ(stats.at("router.debug_accesses"), 3u) << stats.dump();
}
