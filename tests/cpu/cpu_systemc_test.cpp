// vp::Cpu with the real Memory and Router: MMIO through TLM with annotated time, the quantum keeper, IRQ and
// WFI handling, halts. Each TEST runs in a process of its own (SystemC elaborates once per process).
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <tlm_utils/simple_target_socket.h>

#include "cpu.h"
#include "memory.h"
#include "router.h"

namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 1 << 20;
constexpr uint64_t kEntry = kRamBase + 0x1000;
constexpr uint64_t kVbar = kRamBase + 0x800;
constexpr uint64_t kDeviceBase = 0x09000000;

constexpr uint32_t kNop = 0xd503201fu;
constexpr uint32_t kWfi = 0xd503207fu;
constexpr uint32_t kBranchSelf = 0x14000000u;
constexpr uint32_t kHvc0 = 0xd4000002u;
constexpr uint32_t kDaifClrIrq = 0xd50342ffu; // msr daifclr, #2
constexpr uint32_t kStrW1X5 = 0xb90000a1u;    // str w1, [x5]
constexpr uint32_t kLdrW1X5 = 0xb94000a1u;    // ldr w1, [x5]
constexpr uint32_t kMrsCntvct = 0xd53be040u;  // mrs x0, cntvct_el0
constexpr uint32_t kMovX20_1 = 0xd2800034u;   // mov x20, #1

// Records what reaches it and when.
struct Device : sc_core::sc_module {
    tlm_utils::simple_target_socket<Device> socket;
    struct Access {
        bool write;
        uint64_t offset;
        unsigned size;
        uint32_t value;
        sc_time arrival; // sc_time_stamp() + annotated delay
    };
    std::vector<Access> accesses;
    sc_time latency = sc_time(10, SC_NS);

    explicit Device(sc_core::sc_module_name name) : sc_module(name), socket("socket") {
        socket.register_b_transport(this, &Device::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload &payload, sc_time &delay) {
        uint32_t value = 0x5a5a0000u + static_cast<uint32_t>(payload.get_address());
        if (payload.is_write())
            std::memcpy(&value, payload.get_data_ptr(), payload.get_data_length());
        else
            std::memcpy(payload.get_data_ptr(), &value, payload.get_data_length());
        accesses.push_back({payload.is_write(), payload.get_address(), payload.get_data_length(), value,
                            sc_core::sc_time_stamp() + delay});
        delay += latency;
        payload.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

struct Bench {
    vp::Router router{"router"};
    vp::Memory ram{"ram", kRamSize};
    Device device{"device"};
    sc_core::sc_signal<bool> irq_line{"irq_line"};
    vp::Cpu cpu;
    std::vector<std::array<uint64_t, 4>> hvc_calls;

    explicit Bench(vp::CpuConfig config = make_config(), bool map_ram = true) : cpu("cpu", config) {
        cpu.socket.bind(router.target_socket);
        // Without map_ram the RAM sits elsewhere, so the CPU's DMI request for its RAM range finds nothing.
        router.add_target(ram.socket, map_ram ? kRamBase : 2 * kRamBase, kRamSize, "ram");
        router.add_target(device.socket, kDeviceBase, 0x1000, "device");
        cpu.irq.bind(irq_line);
        // Every HVC stops the simulation: programs end with one.
        cpu.set_hvc_handler([this](const std::array<uint64_t, 4> &x) {
            hvc_calls.push_back(x);
            return vp::HvcResult{0, true};
        });
    }
    static vp::CpuConfig make_config() {
        vp::CpuConfig config;
        config.quantum_insns = 1000;
        config.ns_per_insn = 1.0;
        config.ram_base = kRamBase;
        config.ram_size = kRamSize;
        config.entry_pc = kEntry;
        return config;
    }
    void load(uint64_t address, const std::vector<uint32_t> &words) {
        ASSERT_TRUE(ram.load(address - kRamBase, words.data(), words.size() * 4));
    }
};

std::vector<uint32_t> repeat(uint32_t word, size_t count) {
    return std::vector<uint32_t>(count, word);
}

std::vector<uint32_t> concat(std::vector<uint32_t> a, const std::vector<uint32_t> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

TEST(CpuSystemC, MmioCarriesTheLocalTimeOffsetAndItsLatency) {
    Bench bench;
    bench.load(kEntry, concat(repeat(kNop, 100), {kStrW1X5, kLdrW1X5, kHvc0, kBranchSelf}));
    iss_set_x(bench.cpu.iss(), 5, kDeviceBase + 0x40);
    iss_set_x(bench.cpu.iss(), 1, 0xcafe);
    sc_core::sc_start();
    ASSERT_EQ(bench.cpu.halt_info().kind, vp::CpuHalt::HvcRequest);
    ASSERT_EQ(bench.device.accesses.size(), 2u);
    const Device::Access &store = bench.device.accesses[0];
    EXPECT_TRUE(store.write);
    EXPECT_EQ(store.offset, 0x40u);
    EXPECT_EQ(store.size, 4u);
    EXPECT_EQ(store.value, 0xcafeu);
    EXPECT_EQ(store.arrival, sc_time(101, SC_NS)) << "100 NOPs plus the store itself, 1 ns each";
    // The load comes one instruction later and after the store's 10 ns latency.
    EXPECT_EQ(bench.device.accesses[1].arrival, sc_time(112, SC_NS));
    EXPECT_EQ(iss_get_x(bench.cpu.iss(), 1), 0x5a5a0040u);
    // 103 instructions plus two 10 ns device latencies: the HVC syncs the quantum keeper before stopping.
    EXPECT_EQ(sc_core::sc_time_stamp(), sc_time(123, SC_NS));
    EXPECT_EQ(bench.cpu.mmio_writes(), 1u);
    EXPECT_EQ(bench.cpu.mmio_reads(), 1u);
    EXPECT_EQ(bench.cpu.instructions(), 103u);
}

TEST(CpuSystemC, QuantumKeeperSyncsEveryQuantum) {
    Bench bench;
    bench.load(kEntry, {kBranchSelf});
    sc_core::sc_start(sc_time(10, SC_US));
    // Each 1000-instruction quantum takes 1 us: the CPU may be at most one quantum ahead of the kernel.
    EXPECT_GE(bench.cpu.quanta(), 10u);
    EXPECT_LE(bench.cpu.quanta(), 11u);
    EXPECT_EQ(bench.cpu.instructions(), bench.cpu.quanta() * 1000);
    EXPECT_EQ(bench.cpu.halt_info().kind, vp::CpuHalt::None);
}

TEST(CpuSystemC, IrqIsTakenAtAQuantumBoundary) {
    Bench bench;
    bench.load(kVbar + 0x280, {kHvc0});
    bench.load(kEntry, {kDaifClrIrq, kBranchSelf});
    ASSERT_TRUE(iss_set_sysreg(bench.cpu.iss(), ISS_VBAR_EL1, kVbar));
    sc_core::sc_spawn([&] {
        sc_core::wait(sc_time(5, SC_US));
        bench.irq_line.write(true);
    });
    sc_core::sc_start(sc_time(100, SC_US));
    ASSERT_EQ(bench.cpu.halt_info().kind, vp::CpuHalt::HvcRequest);
    EXPECT_EQ(bench.cpu.irqs_taken(), 1u);
    EXPECT_EQ(bench.cpu.halt_info().pc, kVbar + 0x280);
    uint64_t elr = 0;
    iss_get_sysreg(bench.cpu.iss(), ISS_ELR_EL1, &elr);
    EXPECT_EQ(elr, kEntry + 4) << "interrupted on the spin loop";
    EXPECT_GE(sc_core::sc_time_stamp(), sc_time(5, SC_US));
    EXPECT_LE(sc_core::sc_time_stamp(), sc_time(6, SC_US) + sc_time(2, SC_NS)) << "within one quantum";
}

TEST(CpuSystemC, WfiSleepsUntilTheIrqLineRises) {
    Bench bench;
    // IRQs stay masked: WFI still wakes up, and execution continues after it without taking the IRQ.
    bench.load(kEntry, {kWfi, kMovX20_1, kHvc0, kBranchSelf});
    sc_core::sc_spawn([&] {
        sc_core::wait(sc_time(3, SC_US));
        bench.irq_line.write(true);
    });
    sc_core::sc_start(sc_time(100, SC_US));
    ASSERT_EQ(bench.cpu.halt_info().kind, vp::CpuHalt::HvcRequest);
    EXPECT_EQ(iss_get_x(bench.cpu.iss(), 20), 1u);
    EXPECT_EQ(bench.cpu.wfi_count(), 1u);
    EXPECT_EQ(bench.cpu.irqs_taken(), 0u);
    EXPECT_EQ(bench.cpu.wfi_time(), sc_time(3, SC_US) - sc_time(1, SC_NS));
    EXPECT_EQ(sc_core::sc_time_stamp(), sc_time(3, SC_US) + sc_time(2, SC_NS));
}

TEST(CpuSystemC, WfiWithNothingToWakeItIsNoProgress) {
    Bench bench;
    bench.load(kEntry, {kNop, kWfi, kBranchSelf});
    sc_core::sc_start(sc_time(100, SC_US));
    ASSERT_EQ(bench.cpu.halt_info().kind, vp::CpuHalt::NoProgress);
    EXPECT_EQ(bench.cpu.halt_info().pc, kEntry + 4);
    EXPECT_NE(bench.cpu.halt_info().message.find("WFI"), std::string::npos);
    EXPECT_LT(sc_core::sc_time_stamp(), sc_time(1, SC_US));
}

TEST(CpuSystemC, UnmappedAccessHaltsWithAddressAndPc) {
    Bench bench;
    bench.load(kEntry, {kNop, kLdrW1X5, kBranchSelf});
    iss_set_x(bench.cpu.iss(), 5, 0x06000000);
    sc_core::sc_start(sc_time(100, SC_US));
    const vp::CpuHaltInfo &halt = bench.cpu.halt_info();
    ASSERT_EQ(halt.kind, vp::CpuHalt::BusError);
    EXPECT_EQ(halt.address, 0x06000000u);
    EXPECT_EQ(halt.pc, kEntry + 4);
    EXPECT_EQ(halt.size, 4u);
    EXPECT_FALSE(halt.write);
    EXPECT_NE(halt.message.find("unmapped address 0x06000000"), std::string::npos) << halt.message;
    EXPECT_NE(halt.message.find("read of 4 bytes"), std::string::npos) << halt.message;
}

TEST(CpuSystemC, CounterFollowsSimulatedTime) {
    Bench bench;
    // 16000 NOPs take 16 us of simulated time; at 62.5 MHz that is 1000 ticks (the MRS adds 1 ns = 0.06
    // tick).
    bench.load(kEntry, concat(repeat(kNop, 16000), {kMrsCntvct, kHvc0, kBranchSelf}));
    sc_core::sc_start(sc_time(100, SC_US));
    ASSERT_EQ(bench.cpu.halt_info().kind, vp::CpuHalt::HvcRequest);
    EXPECT_EQ(bench.hvc_calls.at(0)[0], 1000u);
}

TEST(CpuSystemC, RefusedDmiIsAClearError) {
    Bench bench(Bench::make_config(), false);
    bench.load(kEntry, {kBranchSelf});
    sc_core::sc_start(sc_time(100, SC_US));
    ASSERT_EQ(bench.cpu.halt_info().kind, vp::CpuHalt::InternalError);
    EXPECT_NE(bench.cpu.halt_info().message.find("DMI"), std::string::npos);
    EXPECT_EQ(bench.cpu.instructions(), 0u);
}

} // namespace

// libsystemc references sc_main; GoogleTest's main() runs the tests, so this is never called.
int sc_main(int, char **) {
    return 1;
}
