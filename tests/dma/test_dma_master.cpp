// vp::DmaMaster against a real Memory, with a probe in between that records every transaction's TxnAttr and
// can answer errors for an address range (standing in for an SMMU abort).
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "dma_master.h"
#include "memory.h"
#include "test_initiator.h"
#include "wave_probe.h"

using vp::DmaMaster;
using vp_test::TestInitiator;

namespace {

constexpr uint64_t kMemSize = 4u << 20;

struct SeenTxn {
    bool write;
    uint64_t addr;
    unsigned len;
    bool has_attr;
    vp::TxnAttr attr;
    sc_core::sc_time at; // simulated time of the transaction (kernel time + annotated delay)
};

// Forwards to memory, records what passes and fails [error_lo, error_hi] with TLM_ADDRESS_ERROR_RESPONSE.
class Probe : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<Probe> target;
    tlm_utils::simple_initiator_socket<Probe> initiator;
    std::vector<SeenTxn> seen;
    bool inject_errors = false;
    uint64_t error_lo = 0, error_hi = 0;
    // Transactions touching [hold_lo, hold_hi] wait for `release` (standing in for a stalled translation).
    bool hold = false;
    uint64_t hold_lo = 0, hold_hi = 0;
    sc_core::sc_event release;
    unsigned held_now = 0;

    explicit Probe(sc_core::sc_module_name name) : sc_module(name), target("target"), initiator("initiator") {
        target.register_b_transport(this, &Probe::b_transport);
    }

  private:
    void b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay) {
        const vp::TxnAttr *attr = vp::TxnAttr::of(gp);
        seen.push_back({gp.is_write(), gp.get_address(), gp.get_data_length(), attr != nullptr,
                        attr ? *attr : vp::TxnAttr(), sc_core::sc_time_stamp() + delay});
        const uint64_t last = gp.get_address() + gp.get_data_length() - 1;
        if (hold && gp.get_address() <= hold_hi && last >= hold_lo) {
            ++held_now;
            sc_core::wait(delay);
            delay = sc_core::SC_ZERO_TIME;
            sc_core::wait(release);
            --held_now;
        }
        if (inject_errors && gp.get_address() <= error_hi && last >= error_lo) {
            gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return;
        }
        initiator->b_transport(gp, delay);
    }
};

struct Bench {
    vp::Memory mem{"mem", kMemSize};
    Probe probe{"probe"};
    DmaMaster dma;
    sc_core::sc_signal<bool> irq{"irq"};
    TestInitiator cpu;

    Bench(TestInitiator::Body body, uint32_t reset_sid = 0x42, unsigned in_flight = 1)
        : dma("dma", reset_sid, 64, sc_core::sc_time(1, sc_core::SC_NS), in_flight),
          cpu("cpu", std::move(body)) {
        cpu.socket.bind(dma.reg_socket);
        dma.socket.bind(probe.target);
        probe.initiator.bind(mem.socket);
        dma.irq.bind(irq);
    }
};

void fill_pattern(vp::Memory &mem, uint64_t addr, size_t len, uint8_t seed) {
    std::vector<uint8_t> bytes(len);
    for (size_t i = 0; i < len; ++i)
        bytes[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
    ASSERT_TRUE(mem.load(addr, bytes.data(), len));
}

void program(TestInitiator &cpu, uint64_t src, uint64_t dst, uint32_t len) {
    cpu.write32(DmaMaster::kRegSrcLo, static_cast<uint32_t>(src));
    cpu.write32(DmaMaster::kRegSrcHi, static_cast<uint32_t>(src >> 32));
    cpu.write32(DmaMaster::kRegDstLo, static_cast<uint32_t>(dst));
    cpu.write32(DmaMaster::kRegDstHi, static_cast<uint32_t>(dst >> 32));
    cpu.write32(DmaMaster::kRegLen, len);
}

// Polls STATUS until the job is no longer busy; returns the final status.
uint32_t wait_not_busy(TestInitiator &cpu) {
    for (int i = 0; i < 1000000; ++i) {
        const uint32_t status = cpu.read32(DmaMaster::kRegStatus);
        if (status != DmaMaster::kBusy)
            return status;
        sc_core::wait(100, sc_core::SC_NS);
    }
    ADD_FAILURE() << "DMA job never finished";
    return DmaMaster::kBusy;
}

// Lets the DMA master's IRQ method run and its signal update.
void settle() {
    sc_core::wait(1, sc_core::SC_NS);
}

bool same_bytes(vp::Memory &mem, uint64_t a, uint64_t b, size_t len) {
    return std::memcmp(mem.data() + a, mem.data() + b, len) == 0;
}

TEST(DmaMaster, CopiesAcrossPagesWithStatusAndIrq) {
    constexpr uint64_t kSrc = 0x1003, kDst = 0x20011;
    constexpr uint32_t kLen = 10000;
    Bench *bench_ptr = nullptr;
    Bench bench([&](TestInitiator &cpu) {
        Bench &b = *bench_ptr;
        EXPECT_EQ(cpu.read32(DmaMaster::kRegId), 0x444D4131u);
        program(cpu, kSrc, kDst, kLen);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart | DmaMaster::kCtrlIrqEnable);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), uint32_t{DmaMaster::kBusy});
        settle();
        EXPECT_FALSE(b.irq.read()) << "no IRQ while busy";
        sc_core::wait(300, sc_core::SC_NS);
        const uint32_t partial = cpu.read32(DmaMaster::kRegBytesDone);
        EXPECT_GT(partial, 0u);
        EXPECT_LT(partial, kLen) << "the copy takes simulated time";
        EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kDone});
        EXPECT_EQ(cpu.read32(DmaMaster::kRegBytesDone), kLen);
        settle();
        EXPECT_TRUE(b.irq.read()) << "done with the IRQ enabled raises the line";
        EXPECT_TRUE(same_bytes(b.mem, kSrc, kDst, kLen));
        EXPECT_EQ(b.mem.data()[kDst + kLen], 0) << "nothing written past the end";
        EXPECT_EQ(b.mem.data()[kDst - 1], 0) << "nothing written before the start";
        cpu.write32(DmaMaster::kRegStatus, 0);
        settle();
        EXPECT_FALSE(b.irq.read()) << "writing STATUS 0 clears the IRQ";
        EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), uint32_t{DmaMaster::kIdle});
    });
    bench_ptr = &bench;
    fill_pattern(bench.mem, kSrc, kLen, 3);
    sc_core::sc_start();
    ASSERT_TRUE(bench.cpu.finished());
    for (const SeenTxn &t : bench.probe.seen) {
        EXPECT_LE(t.len, 64u);
        EXPECT_EQ(t.addr / 4096, (t.addr + t.len - 1) / 4096)
            << "chunk crosses a 4 KiB page at 0x" << std::hex << t.addr;
    }
    EXPECT_EQ(bench.dma.counters().jobs, 1u);
    EXPECT_EQ(bench.dma.counters().bytes, kLen);
    EXPECT_EQ(bench.dma.counters().faults, 0u);
}

// An LT initiator running ahead of the kernel writes CTRL with an annotated delay: the job starts at the
// write's time, not at the initiator's last synchronisation point.
TEST(DmaMaster, JobStartsAtTheAnnotatedTimeOfTheWrite) {
    const sc_core::sc_time kAhead(700, sc_core::SC_NS);
    Bench bench([&](TestInitiator &cpu) {
        program(cpu, 0x1000, 0x2000, 64);
        uint32_t start = DmaMaster::kCtrlStart;
        tlm::tlm_generic_payload gp;
        gp.set_command(tlm::TLM_WRITE_COMMAND);
        gp.set_address(DmaMaster::kRegCtrl);
        gp.set_data_ptr(reinterpret_cast<unsigned char *>(&start));
        gp.set_data_length(4);
        gp.set_streaming_width(4);
        sc_core::sc_time delay = kAhead;
        cpu.socket->b_transport(gp, delay);
        ASSERT_TRUE(gp.is_response_ok());
        sc_core::wait(delay);
        EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kDone});
    });
    sc_core::sc_time begin = sc_core::sc_time_stamp();
    sc_core::sc_start();
    ASSERT_TRUE(bench.cpu.finished());
    ASSERT_FALSE(bench.probe.seen.empty());
    EXPECT_GE(bench.probe.seen.front().at, begin + kAhead);
}

TEST(DmaMaster, TransactionsCarryTheProgrammedAttributes) {
    Bench *bench_ptr = nullptr;
    Bench bench([&](TestInitiator &cpu) {
        program(cpu, 0x3000, 0x5000, 256);
        cpu.write32(DmaMaster::kRegStreamId, 0x1234);
        cpu.write32(DmaMaster::kRegSubstream, DmaMaster::kSubstreamSsv | 0xABCDE | 0x00F00000);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegSubstream), DmaMaster::kSubstreamSsv | 0xABCDE)
            << "bits 30:20 are reserved";
        cpu.write32(DmaMaster::kRegAttr, DmaMaster::kAttrPriv | DmaMaster::kAttrExec);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
        // Changing the registers while busy must not change the running job.
        cpu.write32(DmaMaster::kRegStreamId, 0x9999);
        EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kDone});
        EXPECT_FALSE(bench_ptr->irq.read()) << "IRQ disabled";
    });
    bench_ptr = &bench;
    sc_core::sc_start();
    ASSERT_EQ(bench.probe.seen.size(), 8u); // 256 bytes in 64-byte chunks: 4 reads and 4 writes
    for (const SeenTxn &t : bench.probe.seen) {
        ASSERT_TRUE(t.has_attr);
        EXPECT_EQ(t.attr.stream_id, 0x1234u);
        EXPECT_TRUE(t.attr.ssv);
        EXPECT_EQ(t.attr.substream_id, 0xABCDEu);
        EXPECT_TRUE(t.attr.priv);
        EXPECT_EQ(t.attr.exec, !t.write) << "instruction attribute only on reads";
        EXPECT_EQ(t.attr.at, vp::PcieAt::Untranslated);
        EXPECT_EQ(t.attr.kind, vp::TxnKind::Memory);
        EXPECT_EQ(t.attr.security, vp::SecurityState::NonSecure);
        const uint64_t base = t.write ? 0x5000 : 0x3000;
        EXPECT_GE(t.addr, base);
        EXPECT_LE(t.addr + t.len, base + 256);
    }
    EXPECT_FALSE(bench.probe.seen[0].write);
    EXPECT_TRUE(bench.probe.seen[1].write);
}

TEST(DmaMaster, ResetStreamIdComesFromTheConstructor) {
    Bench bench(
        [](TestInitiator &cpu) {
            EXPECT_EQ(cpu.read32(DmaMaster::kRegStreamId), 0x77u);
            EXPECT_EQ(cpu.read32(DmaMaster::kRegSubstream), 0u);
            program(cpu, 0x100, 0x200, 4);
            cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
            EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kDone});
        },
        0x77);
    sc_core::sc_start();
    ASSERT_EQ(bench.probe.seen.size(), 2u);
    EXPECT_EQ(bench.probe.seen[0].attr.stream_id, 0x77u);
    EXPECT_FALSE(bench.probe.seen[0].attr.ssv);
    EXPECT_FALSE(bench.probe.seen[0].attr.priv);
}

TEST(DmaMaster, ReadFaultStopsWithFaultAddressAndBytesDone) {
    Bench *bench_ptr = nullptr;
    Bench bench([&](TestInitiator &cpu) {
        program(cpu, 0x10000, 0x30000, 0x3000);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart | DmaMaster::kCtrlIrqEnable);
        EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kReadFault});
        EXPECT_EQ(cpu.read32(DmaMaster::kRegFaultLo), 0x11040u);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegFaultHi), 0u);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegBytesDone), 0x1040u);
        settle();
        EXPECT_TRUE(bench_ptr->irq.read()) << "a fault raises the IRQ too";
        // Writing a non-zero STATUS does nothing.
        cpu.write32(DmaMaster::kRegStatus, 2);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), uint32_t{DmaMaster::kReadFault});
    });
    bench_ptr = &bench;
    fill_pattern(bench.mem, 0x10000, 0x3000, 9);
    bench.probe.inject_errors = true;
    bench.probe.error_lo = 0x11050; // inside the chunk at 0x11040
    bench.probe.error_hi = 0x1FFFF;
    sc_core::sc_start();
    EXPECT_TRUE(same_bytes(bench.mem, 0x10000, 0x30000, 0x1040));
    EXPECT_EQ(bench.mem.data()[0x31040], 0) << "nothing written after the fault";
    EXPECT_EQ(bench.dma.counters().faults, 1u);
}

TEST(DmaMaster, WriteFaultReportsTheDestination) {
    Bench bench([](TestInitiator &cpu) {
        cpu.write32(DmaMaster::kRegSrcLo, 0x1000);
        cpu.write32(DmaMaster::kRegDstLo, 0x00002000);
        cpu.write32(DmaMaster::kRegDstHi, 0x1); // 0x1_0000_2000: beyond the probe's error start
        cpu.write32(DmaMaster::kRegLen, 128);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
        EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kWriteFault});
        EXPECT_EQ(cpu.read32(DmaMaster::kRegFaultLo), 0x2000u);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegFaultHi), 0x1u);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegBytesDone), 0u);
        uint64_t fault = 0;
        EXPECT_EQ(cpu.read(DmaMaster::kRegFaultLo, fault, 8), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(fault, 0x100002000u) << "a 64-bit access reads both halves";
    });
    bench.probe.inject_errors = true;
    bench.probe.error_lo = 0x100000000;
    bench.probe.error_hi = ~uint64_t{0};
    sc_core::sc_start();
    EXPECT_EQ(bench.dma.counters().faults, 1u);
}

TEST(DmaMaster, LengthLimits) {
    Bench bench([](TestInitiator &cpu) {
        program(cpu, 0x0, 0x200000, 0);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), uint32_t{DmaMaster::kIdle}) << "LEN 0 is refused";
        cpu.write32(DmaMaster::kRegLen, DmaMaster::kMaxLen + 1);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), uint32_t{DmaMaster::kIdle}) << "LEN > 1 MiB is refused";
        cpu.write32(DmaMaster::kRegLen, DmaMaster::kMaxLen);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), uint32_t{DmaMaster::kBusy});
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart); // refused: busy
        EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kDone});
        EXPECT_EQ(cpu.read32(DmaMaster::kRegBytesDone), DmaMaster::kMaxLen);
        cpu.write32(DmaMaster::kRegLen, 1);
        cpu.write32(DmaMaster::kRegSrcLo, 0x300001);
        cpu.write32(DmaMaster::kRegDstLo, 0x3FFFFF);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
        EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kDone});
    });
    fill_pattern(bench.mem, 0, DmaMaster::kMaxLen, 1);
    fill_pattern(bench.mem, 0x300001, 1, 0x5A);
    sc_core::sc_start();
    EXPECT_TRUE(same_bytes(bench.mem, 0, 0x200000, DmaMaster::kMaxLen));
    EXPECT_EQ(bench.mem.data()[0x3FFFFF], 0x5A);
    EXPECT_EQ(bench.dma.counters().jobs, 2u);
    EXPECT_EQ(bench.dma.counters().rejected_starts, 3u);
    EXPECT_EQ(bench.dma.counters().bytes, DmaMaster::kMaxLen + 1u);
}

TEST(DmaMaster, IrqFollowsEnableAndStatus) {
    Bench *bench_ptr = nullptr;
    Bench bench([&](TestInitiator &cpu) {
        sc_core::sc_signal<bool> &irq = bench_ptr->irq;
        program(cpu, 0x1000, 0x2000, 16);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
        EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kDone});
        settle();
        EXPECT_FALSE(irq.read());
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlIrqEnable); // enable only, no start
        EXPECT_EQ(cpu.read32(DmaMaster::kRegCtrl), DmaMaster::kCtrlIrqEnable);
        settle();
        EXPECT_TRUE(irq.read()) << "enabling with a finished job raises the line";
        cpu.write32(DmaMaster::kRegCtrl, 0);
        settle();
        EXPECT_FALSE(irq.read()) << "disabling lowers it";
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlIrqEnable);
        cpu.write32(DmaMaster::kRegStatus, 0);
        settle();
        EXPECT_FALSE(irq.read()) << "STATUS 0 lowers it";
        EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), uint32_t{DmaMaster::kIdle});
    });
    bench_ptr = &bench;
    sc_core::sc_start();
    EXPECT_TRUE(bench.cpu.finished());
}

// Register writes from an initiator running ahead take effect at their annotated times: enabling the IRQ of a
// finished job at +10 ns and clearing STATUS at +20 ns, both written in one delta cycle, raise the line at
// +10 ns and lower it at +20 ns (not one merged change); a read in between sees the state of its time.
TEST(DmaMaster, IrqChangesAtTheAnnotatedTimesOfTheWrites) {
    const sc_core::sc_time kEnableAt(10, sc_core::SC_NS), kClearAt(20, sc_core::SC_NS);
    Bench *bench_ptr = nullptr;
    sc_core::sc_time sent;
    Bench bench([&](TestInitiator &cpu) {
        program(cpu, 0x1000, 0x2000, 16);
        cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
        EXPECT_EQ(wait_not_busy(cpu), uint32_t{DmaMaster::kDone});
        settle();
        EXPECT_FALSE(bench_ptr->irq.read());
        sent = sc_core::sc_time_stamp();
        cpu.write_ahead(DmaMaster::kRegCtrl, DmaMaster::kCtrlIrqEnable, kEnableAt);
        cpu.write_ahead(DmaMaster::kRegStatus, 0, kClearAt);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegCtrl), 0u) << "the enable has not happened yet";
        sc_core::wait(kEnableAt + sc_core::sc_time(1, sc_core::SC_NS));
        EXPECT_EQ(cpu.read32(DmaMaster::kRegCtrl), DmaMaster::kCtrlIrqEnable);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), uint32_t{DmaMaster::kDone});
        EXPECT_TRUE(bench_ptr->irq.read());
        sc_core::wait(kClearAt);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), uint32_t{DmaMaster::kIdle});
    });
    bench_ptr = &bench;
    vp_test::ChangeRecorder<bool> irq_changes("irq_changes");
    irq_changes.in.bind(bench.irq);
    sc_core::sc_start();
    ASSERT_TRUE(bench.cpu.finished());
    const std::vector<std::pair<sc_core::sc_time, bool>> expected = {{sent + kEnableAt, true},
                                                                     {sent + kClearAt, false}};
    EXPECT_EQ(irq_changes.changes, expected);
}

TEST(DmaMaster, RegisterAccessRules) {
    Bench bench([](TestInitiator &cpu) {
        uint64_t value = 0;
        EXPECT_EQ(cpu.read(DmaMaster::kRegId, value, 2), tlm::TLM_GENERIC_ERROR_RESPONSE) << "16-bit access";
        EXPECT_EQ(cpu.read(DmaMaster::kRegId + 2, value, 4), tlm::TLM_GENERIC_ERROR_RESPONSE) << "misaligned";
        EXPECT_EQ(cpu.read(0x1000, value, 4), tlm::TLM_ADDRESS_ERROR_RESPONSE) << "outside the 4 KiB";
        EXPECT_EQ(cpu.write(DmaMaster::kRegSrcLo, 0x1122334455667788, 8), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegSrcLo), 0x55667788u);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegSrcHi), 0x11223344u);
        cpu.write32(DmaMaster::kRegId, 0);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegId), DmaMaster::kIdValue) << "ID is read-only";
        cpu.write32(0x800, 0xFFFFFFFF);
        EXPECT_EQ(cpu.read32(0x800), 0u) << "reserved offsets are RAZ/WI";
        cpu.write32(DmaMaster::kRegAttr, 0xFFFFFFFF);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegAttr), 3u);
        cpu.write32(DmaMaster::kRegBytesDone, 5);
        EXPECT_EQ(cpu.read32(DmaMaster::kRegBytesDone), 0u) << "BYTES_DONE is read-only";
    });
    sc_core::sc_start();
    EXPECT_TRUE(bench.cpu.finished());
}

TEST(DmaMaster, RejectsBadChunkSize) {
    EXPECT_THROW(DmaMaster("bad", 0, 100), std::invalid_argument);
}

TEST(DmaMaster, StatsListEveryCounter) {
    DmaMaster dma("dma", 1);
    vp::Stats stats;
    dma.register_stats(stats);
    std::ostringstream os;
    ASSERT_TRUE(stats.write_json(os));
    const nlohmann::json doc = nlohmann::json::parse(os.str());
    for (const char *name :
         {"dma.jobs", "dma.bytes", "dma.faults", "dma.rejected_starts", "dma.transactions"})
        EXPECT_EQ(doc.at(name), 0u) << name;
    EXPECT_EQ(doc.size(), 5u) << os.str();
}

} // namespace

// Four lanes: while one chunk waits (a stalled translation), the other lanes finish the rest of the job; the
// job completes only when the held chunk is released, and every byte arrives.
TEST(DmaMaster, LanesKeepSeveralChunksInFlightAndOneHeldChunkDoesNotBlockTheOthers) {
    constexpr uint64_t kSrc = 0x10000, kDst = 0x30000;
    constexpr uint32_t kLen = 1024; // 16 chunks of 64 bytes
    Bench *bench_ptr = nullptr;
    Bench bench(
        [&](TestInitiator &cpu) {
            Bench &b = *bench_ptr;
            b.probe.hold = true;
            b.probe.hold_lo = kSrc + 128; // the third chunk's read
            b.probe.hold_hi = kSrc + 128;
            program(cpu, kSrc, kDst, kLen);
            cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
            sc_core::wait(2, sc_core::SC_US);
            EXPECT_EQ(b.probe.held_now, 1u);
            EXPECT_EQ(cpu.read32(DmaMaster::kRegStatus), DmaMaster::kBusy);
            EXPECT_EQ(cpu.read32(DmaMaster::kRegBytesDone), kLen - 64); // all but the held chunk
            b.probe.release.notify(sc_core::SC_ZERO_TIME);
            EXPECT_EQ(wait_not_busy(cpu), DmaMaster::kDone);
            EXPECT_EQ(cpu.read32(DmaMaster::kRegBytesDone), kLen);
            EXPECT_TRUE(same_bytes(b.mem, kSrc, kDst, kLen));
            EXPECT_EQ(b.dma.counters().transactions, 32u);
        },
        0x42, 4);
    bench_ptr = &bench;
    fill_pattern(bench.mem, kSrc, kLen, 9);
    sc_core::sc_start();
}

// A fault on one lane stops new chunks; chunks already in flight finish; STATUS and FAULT_ADDR name the
// fault.
TEST(DmaMaster, AFaultWithSeveralLanesEndsTheJobAfterTheChunksInFlight) {
    constexpr uint64_t kSrc = 0x10000, kDst = 0x30000;
    constexpr uint32_t kLen = 4096;
    Bench *bench_ptr = nullptr;
    Bench bench(
        [&](TestInitiator &cpu) {
            Bench &b = *bench_ptr;
            b.probe.inject_errors = true;
            b.probe.error_lo = kDst + 256; // the fifth chunk's write
            b.probe.error_hi = kDst + 256;
            program(cpu, kSrc, kDst, kLen);
            cpu.write32(DmaMaster::kRegCtrl, DmaMaster::kCtrlStart);
            EXPECT_EQ(wait_not_busy(cpu), DmaMaster::kWriteFault);
            EXPECT_EQ(cpu.read32(DmaMaster::kRegFaultLo), static_cast<uint32_t>(kDst + 256));
            const uint32_t done = cpu.read32(DmaMaster::kRegBytesDone);
            // Four lanes: chunks 0..3 were in flight with or before the faulting one, and no chunk after
            // the fault was started by a lane that saw it.
            EXPECT_GE(done, 4u * 64);
            EXPECT_LT(done, kLen);
            EXPECT_EQ(done % 64, 0u);
            EXPECT_EQ(b.dma.counters().faults, 1u);
        },
        0x42, 4);
    bench_ptr = &bench;
    fill_pattern(bench.mem, kSrc, kLen, 3);
    sc_core::sc_start();
}

TEST(DmaMaster, RefusesZeroOrTooManyLanes) {
    EXPECT_THROW(DmaMaster("none", 0, 64, sc_core::sc_time(1, sc_core::SC_NS), 0), std::invalid_argument);
    EXPECT_THROW(DmaMaster("many", 0, 64, sc_core::sc_time(1, sc_core::SC_NS), DmaMaster::kMaxInFlight + 1),
                 std::invalid_argument);
}
