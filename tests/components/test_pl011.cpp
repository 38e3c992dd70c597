#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pl011.h"
#include "test_initiator.h"
#include "wave_probe.h"

// The component's statistics as the platform writes them (vp::Stats), parsed back.
template <typename Component>
nlohmann::json registered_stats(const Component &component) {
    vp::Stats stats;
    component.register_stats(stats);
    std::ostringstream text;
    stats.write_json(text);
    return nlohmann::json::parse(text.str());
}

using vp::Pl011;
using vp_test::TestInitiator;

namespace {

struct Bench {
    std::ostringstream console;
    Pl011 uart{"uart", &console};
    sc_core::sc_signal<bool> irq{"irq"};
    TestInitiator cpu;

    explicit Bench(TestInitiator::Body body) : cpu("cpu", std::move(body)) {
        uart.irq(irq);
        cpu.socket.bind(uart.socket);
    }
    void run() {
        sc_core::sc_start();
        EXPECT_TRUE(cpu.finished());
    }
};

} // namespace

TEST(Pl011, TransmitsBytesToOutputAndStream) {
    Bench b([](TestInitiator &cpu) {
        for (char c : std::string("Hi!\n")) {
            cpu.write32(Pl011::kDR, static_cast<uint8_t>(c));
        }
        // 8-bit store of a byte, as putchar() compiles to, and a 32-bit store with junk above the byte.
        EXPECT_EQ(cpu.write(Pl011::kDR, 'x', 1), tlm::TLM_OK_RESPONSE);
        cpu.write32(Pl011::kDR, 0xFFFFFF00u | 'y');
    });
    b.run();
    EXPECT_EQ(b.uart.output(), "Hi!\nxy");
    EXPECT_EQ(b.console.str(), "Hi!\nxy");
    EXPECT_EQ(b.uart.bytes_transmitted(), 6u);
}

TEST(Pl011, TransmitsEvenWhenDisabled) {
    Bench b([](TestInitiator &cpu) {
        cpu.write32(Pl011::kCR, 0); // UARTEN and TXE off
        cpu.write32(Pl011::kDR, 'z');
    });
    b.run();
    EXPECT_EQ(b.uart.output(), "z");
}

TEST(Pl011, FlagRegisterAlwaysReadyToTransmit) {
    Bench b([](TestInitiator &cpu) {
        const uint32_t flags = cpu.read32(Pl011::kFR);
        EXPECT_NE(flags & Pl011::kFlagTxEmpty, 0u);
        EXPECT_NE(flags & Pl011::kFlagRxEmpty, 0u);
        EXPECT_EQ(flags & (1u << 5), 0u); // TXFF
        EXPECT_EQ(flags & (1u << 3), 0u); // BUSY
        cpu.write32(Pl011::kDR, 'a');
        EXPECT_EQ(cpu.read32(Pl011::kFR), flags); // still empty right after a transmit
        uint64_t byte = 0;
        EXPECT_EQ(cpu.read(Pl011::kFR, byte, 1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(byte, flags & 0xFF);
        cpu.write32(Pl011::kFR, 0); // read-only
        EXPECT_EQ(cpu.read32(Pl011::kFR), flags);
    });
    b.run();
}

TEST(Pl011, IdentificationRegisters) {
    Bench b([](TestInitiator &cpu) {
        const uint32_t periph[4] = {0x11, 0x10, 0x14, 0x00};
        const uint32_t cell[4] = {0x0D, 0xF0, 0x05, 0xB1};
        for (unsigned i = 0; i < 4; ++i) {
            EXPECT_EQ(cpu.read32(0xFE0 + 4 * i), periph[i]) << "PeriphID" << i;
            EXPECT_EQ(cpu.read32(0xFF0 + 4 * i), cell[i]) << "PCellID" << i;
        }
        uint64_t byte = 0;
        EXPECT_EQ(cpu.read(0xFF4, byte, 1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(byte, 0xF0u);
    });
    b.run();
}

TEST(Pl011, ControlRegistersKeepTheirValuesAcrossAccessSizes) {
    Bench b([](TestInitiator &cpu) {
        EXPECT_EQ(cpu.read32(Pl011::kCR), 0x300u); // TXE | RXE out of reset
        cpu.write32(Pl011::kIBRD, 0x1234);
        cpu.write32(Pl011::kFBRD, 0xFF); // only 6 bits exist
        EXPECT_EQ(cpu.read32(Pl011::kIBRD), 0x1234u);
        EXPECT_EQ(cpu.read32(Pl011::kFBRD), 0x3Fu);
        // 16-bit and 8-bit writes update only their own bytes.
        EXPECT_EQ(cpu.write(Pl011::kIBRD, 0xABCD, 2), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.read32(Pl011::kIBRD), 0xABCDu);
        EXPECT_EQ(cpu.write(Pl011::kIBRD + 1, 0x55, 1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.read32(Pl011::kIBRD), 0x55CDu);
        uint64_t value = 0;
        EXPECT_EQ(cpu.read(Pl011::kIBRD + 1, value, 1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(value, 0x55u);
        EXPECT_EQ(cpu.read(Pl011::kIBRD + 2, value, 2), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(value, 0u);
        cpu.write32(Pl011::kLCR_H, 0x70);
        EXPECT_EQ(cpu.read32(Pl011::kLCR_H), 0x70u);
        cpu.write32(Pl011::kCR, 0x301);
        EXPECT_EQ(cpu.read32(Pl011::kCR), 0x301u);
        EXPECT_EQ(cpu.read32(Pl011::kDR), 0u); // nothing received
        EXPECT_EQ(cpu.read32(0x100), 0u);      // reserved
    });
    b.run();
    EXPECT_EQ(b.uart.output(), "");
}

TEST(Pl011, BadAccessesAreBusErrorsWithoutSideEffects) {
    Bench b([](TestInitiator &cpu) {
        uint64_t value = 0;
        EXPECT_EQ(cpu.write(Pl011::kDR + 1, 'q', 2), tlm::TLM_GENERIC_ERROR_RESPONSE); // misaligned
        EXPECT_EQ(cpu.write(Pl011::kDR, 'q', 3), tlm::TLM_GENERIC_ERROR_RESPONSE);     // odd size
        EXPECT_EQ(cpu.write(Pl011::kDR, 'q', 8), tlm::TLM_GENERIC_ERROR_RESPONSE);     // too wide
        EXPECT_EQ(cpu.read(Pl011::kFR + 2, value, 4), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read(0x1000, value, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        uint8_t data[4] = {'q', 0, 0, 0};
        const uint8_t enables[4] = {TLM_BYTE_ENABLED, 0, 0, 0};
        EXPECT_EQ(cpu.access(tlm::TLM_WRITE_COMMAND, Pl011::kDR, data, 4, enables, 4),
                  tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    });
    b.run();
    EXPECT_EQ(b.uart.output(), "");
    EXPECT_EQ(b.uart.bad_accesses(), 6u);
}

TEST(Pl011, TransmitInterruptFollowsMaskAndClear) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        cpu.write32(Pl011::kDR, 'a');
        sc_core::wait(1, sc_core::SC_NS);
        EXPECT_NE(cpu.read32(Pl011::kRIS) & Pl011::kIntTx, 0u);
        EXPECT_EQ(cpu.read32(Pl011::kMIS), 0u);
        EXPECT_FALSE(bench->irq.read()); // masked
        cpu.write32(Pl011::kIMSC, Pl011::kIntTx);
        sc_core::wait(1, sc_core::SC_NS);
        EXPECT_EQ(cpu.read32(Pl011::kMIS), Pl011::kIntTx);
        EXPECT_TRUE(bench->irq.read());
        cpu.write32(Pl011::kICR, Pl011::kIntTx);
        sc_core::wait(1, sc_core::SC_NS);
        EXPECT_EQ(cpu.read32(Pl011::kRIS), 0u);
        EXPECT_FALSE(bench->irq.read());
        cpu.write32(Pl011::kDR, 'b'); // the next byte raises it again
        sc_core::wait(1, sc_core::SC_NS);
        EXPECT_TRUE(bench->irq.read());
    });
    bench = &b;
    b.run();
}

TEST(Pl011, DebugReadsHaveNoSideEffects) {
    Bench b([](TestInitiator &cpu) {
        uint8_t buffer[4] = {};
        EXPECT_EQ(cpu.debug(tlm::TLM_READ_COMMAND, 0xFF0, buffer, 4), 4u);
        EXPECT_EQ(buffer[0], 0x0D);
        uint8_t out[1] = {'w'};
        EXPECT_EQ(cpu.debug(tlm::TLM_WRITE_COMMAND, Pl011::kDR, out, 1), 0u);
    });
    b.run();
    EXPECT_EQ(b.uart.output(), "");
}

TEST(Pl011, TeesToAFile) {
    char path[] = "/tmp/pl011_tee_XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    {
        Bench b([](TestInitiator &cpu) {
            cpu.write32(Pl011::kDR, 'o');
            cpu.write32(Pl011::kDR, 'k');
        });
        b.uart.tee_to_file(path);
        b.run();
        std::ifstream in(path);
        std::stringstream content;
        content << in.rdbuf();
        EXPECT_EQ(content.str(), "ok");
        EXPECT_THROW(b.uart.tee_to_file("/nonexistent-dir/uart.log"), std::runtime_error);
    }
    std::remove(path);
}

TEST(Pl011, NullStreamOnlyRecords) {
    Pl011 uart("quiet", nullptr);
    sc_core::sc_signal<bool> irq("irq");
    uart.irq(irq);
    TestInitiator cpu("cpu", [](TestInitiator &self) { self.write32(Pl011::kDR, 'n'); });
    cpu.socket.bind(uart.socket);
    sc_core::sc_start();
    EXPECT_EQ(uart.output(), "n");
    const nlohmann::json stats = registered_stats(uart);
    EXPECT_EQ(stats.at("quiet.bytes_transmitted"), 1u) << stats.dump();
}

// A write from an initiator running ahead takes effect at its annotated time: the byte goes out, RIS and the
// IRQ change then, not when b_transport is called; two writes made in one delta cycle are two IRQ changes.
TEST(Pl011, WritesTakeEffectAtTheirAnnotatedTime) {
    const sc_core::sc_time kTransmitAt(40, sc_core::SC_NS), kClearAt(60, sc_core::SC_NS);
    Bench *bench = nullptr;
    sc_core::sc_time sent;
    Bench b([&](TestInitiator &cpu) {
        cpu.write32(Pl011::kIMSC, Pl011::kIntTx);
        sc_core::wait(1, sc_core::SC_NS);
        sent = sc_core::sc_time_stamp();
        EXPECT_EQ(cpu.write_ahead(Pl011::kDR, 'A', kTransmitAt), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.write_ahead(Pl011::kICR, Pl011::kIntTx, kClearAt), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(bench->uart.output(), "") << "not transmitted before its time";
        EXPECT_EQ(cpu.read32(Pl011::kRIS), 0u);
        sc_core::wait(kTransmitAt + sc_core::sc_time(1, sc_core::SC_NS));
        EXPECT_EQ(bench->uart.output(), "A");
        EXPECT_EQ(cpu.read32(Pl011::kRIS), Pl011::kIntTx);
        sc_core::wait(kClearAt);
        EXPECT_EQ(cpu.read32(Pl011::kRIS), 0u);
    });
    bench = &b;
    vp_test::ChangeRecorder<bool> irq_changes("irq_changes");
    irq_changes.in.bind(b.irq);
    b.run();
    const std::vector<std::pair<sc_core::sc_time, bool>> expected = {{sent + kTransmitAt, true},
                                                                     {sent + kClearAt, false}};
    EXPECT_EQ(irq_changes.changes, expected);
}
