#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gicv2.h"
#include "router.h"
#include "test_initiator.h"
#include "timed.h"
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

using vp::GicV2;
using vp_test::TestInitiator;

namespace {

constexpr uint64_t kGicd = 0x08000000;
constexpr uint64_t kGicc = 0x08010000;
constexpr uint64_t kV2m = 0x08020000;
constexpr uint32_t kSpurious = 1023;

// The platform's view: a CPU reaching the three GIC frames through a router at the QEMU virt addresses.
struct Bench {
    GicV2 gic;
    vp::Router router{"router"};
    sc_core::sc_signal<bool> irq{"irq"};
    TestInitiator cpu;

    explicit Bench(TestInitiator::Body body, unsigned num_spis = 256, unsigned v2m_spi_base = 48)
        : gic("gic", num_spis, v2m_spi_base), cpu("cpu", std::move(body)) {
        gic.irq_out(irq);
        router.add_target(gic.dist_socket, kGicd, 0x10000, "gicd");
        router.add_target(gic.cpu_socket, kGicc, 0x10000, "gicc");
        router.add_target(gic.v2m_socket, kV2m, 0x1000, "gicv2m");
        cpu.socket.bind(router.target_socket);
    }
    void run() {
        sc_core::sc_start();
        EXPECT_TRUE(cpu.finished());
    }
};

// Lets irq_out (driven by a method process) catch up with register state.
void settle() {
    sc_core::wait(1, sc_core::SC_NS);
}

void enable_both_interfaces(TestInitiator &cpu, uint32_t pmr = 0xFF) {
    cpu.write32(kGicd + GicV2::kGICD_CTLR, 1);
    cpu.write32(kGicc + GicV2::kGICC_CTLR, 1);
    cpu.write32(kGicc + GicV2::kGICC_PMR, pmr);
}

void enable_intid(TestInitiator &cpu, unsigned intid, uint8_t priority) {
    cpu.write32(kGicd + GicV2::kGICD_ISENABLER + 4 * (intid / 32), 1u << (intid % 32));
    EXPECT_EQ(cpu.write(kGicd + GicV2::kGICD_IPRIORITYR + intid, priority, 1), tlm::TLM_OK_RESPONSE);
}

bool pending_bit(TestInitiator &cpu, unsigned intid) {
    return (cpu.read32(kGicd + GicV2::kGICD_ISPENDR + 4 * (intid / 32)) >> (intid % 32)) & 1;
}

bool active_bit(TestInitiator &cpu, unsigned intid) {
    return (cpu.read32(kGicd + GicV2::kGICD_ISACTIVER + 4 * (intid / 32)) >> (intid % 32)) & 1;
}

uint32_t ack(TestInitiator &cpu) {
    return cpu.read32(kGicc + GicV2::kGICC_IAR);
}
void eoi(TestInitiator &cpu, uint32_t value) {
    cpu.write32(kGicc + GicV2::kGICC_EOIR, value);
}

} // namespace

TEST(GicV2, IdentificationAndTyper) {
    Bench b(
        [](TestInitiator &cpu) {
            EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_TYPER) & 0x1F, 2u); // 96 INTIDs -> ITLinesNumber 2
            EXPECT_EQ((cpu.read32(kGicd + GicV2::kGICD_TYPER) >> 5) & 0x7, 0u);
            EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_PIDR2), 0x2Bu);
            EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_IIDR), 0x0202143Bu);
            EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_IIDR) & 0xFFF, 0x43Bu);
            // SGI/PPI targets read as this CPU; ITARGETSR of SPIs is writable (CPU 0 only).
            EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ITARGETSR), 0x01010101u);
            cpu.write32(kGicd + GicV2::kGICD_ITARGETSR + 32, 0xFFFFFFFF);
            EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ITARGETSR + 32), 0x01010101u);
            // INTIDs beyond the implemented ones are RAZ/WI.
            cpu.write32(kGicd + GicV2::kGICD_ISENABLER + 12, 0xFFFFFFFF);
            EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ISENABLER + 12), 0u);
        },
        64, 0);
    b.run();
    EXPECT_EQ(b.gic.num_intids(), 96u);
}

TEST(GicV2, DefaultTyperMatchesSpiCount) {
    Bench b([](TestInitiator &cpu) { EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_TYPER), 8u); });
    b.run();
}

TEST(GicV2, EnableAndDisableGateTheInterrupt) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        bench->gic.set_spi_level(5, true); // INTID 37, level-sensitive by default
        settle();
        EXPECT_TRUE(pending_bit(cpu, 37));
        EXPECT_FALSE(bench->irq.read()); // pending but not enabled
        EXPECT_EQ(ack(cpu), kSpurious);
        enable_intid(cpu, 37, 0xA0);
        settle();
        EXPECT_TRUE(bench->irq.read());
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ISENABLER + 4), 1u << 5);
        cpu.write32(kGicd + GicV2::kGICD_ICENABLER + 4, 1u << 5);
        settle();
        EXPECT_FALSE(bench->irq.read());
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ISENABLER + 4), 0u);
        // SGIs cannot be disabled, as in QEMU.
        cpu.write32(kGicd + GicV2::kGICD_ICENABLER, 0xFFFFFFFF);
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ISENABLER) & 0xFFFF, 0xFFFFu);
        // Both CTLRs gate signalling.
        cpu.write32(kGicd + GicV2::kGICD_ISENABLER + 4, 1u << 5);
        cpu.write32(kGicd + GicV2::kGICD_CTLR, 0);
        settle();
        EXPECT_FALSE(bench->irq.read());
        cpu.write32(kGicd + GicV2::kGICD_CTLR, 1);
        cpu.write32(kGicc + GicV2::kGICC_CTLR, 0);
        settle();
        EXPECT_FALSE(bench->irq.read());
        EXPECT_EQ(ack(cpu), kSpurious);
        cpu.write32(kGicc + GicV2::kGICC_CTLR, 1);
        settle();
        EXPECT_TRUE(bench->irq.read());
    });
    bench = &b;
    b.run();
}

TEST(GicV2, HighestPriorityWinsAndTiesGoToTheLowestIntid) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        enable_intid(cpu, 40, 0x80);
        enable_intid(cpu, 50, 0x40);
        enable_intid(cpu, 45, 0x40);
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_IPRIORITYR + 48) & 0xFF0000, 0x400000u); // INTID 50: byte 2
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, (1u << 8) | (1u << 18) | (1u << 13));
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_HPPIR), 45u);
        EXPECT_EQ(ack(cpu), 45u);
        eoi(cpu, 45);
        EXPECT_EQ(ack(cpu), 50u);
        eoi(cpu, 50);
        EXPECT_EQ(ack(cpu), 40u);
        eoi(cpu, 40);
        EXPECT_EQ(ack(cpu), kSpurious);
        settle();
        EXPECT_FALSE(bench->irq.read());
    });
    bench = &b;
    b.run();
    EXPECT_EQ(b.gic.acknowledged(GicV2::kSpi), 3u);
    EXPECT_EQ(b.gic.spurious_acknowledges(), 1u);
}

TEST(GicV2, PriorityMaskBlocksEqualAndLowerPriorities) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu, 0x80);
        enable_intid(cpu, 33, 0x80);
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 1);
        settle();
        EXPECT_FALSE(bench->irq.read()); // priority must be strictly higher than PMR
        EXPECT_EQ(ack(cpu), kSpurious);
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_HPPIR), 33u); // still the best pending one
        EXPECT_TRUE(pending_bit(cpu, 33));                      // a spurious read changes nothing
        cpu.write32(kGicc + GicV2::kGICC_PMR, 0x81);
        settle();
        EXPECT_TRUE(bench->irq.read());
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_PMR), 0x81u);
        EXPECT_EQ(ack(cpu), 33u);
    });
    bench = &b;
    b.run();
}

TEST(GicV2, AcknowledgeActivatesAndEndOfInterruptDeactivates) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        enable_intid(cpu, 60, 0x90);
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 28);
        settle();
        EXPECT_TRUE(bench->irq.read());
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_RPR), 0xFFu); // idle
        EXPECT_EQ(ack(cpu), 60u);
        settle();
        EXPECT_FALSE(bench->irq.read());
        EXPECT_TRUE(active_bit(cpu, 60));
        EXPECT_FALSE(pending_bit(cpu, 60));
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_RPR), 0x90u);
        EXPECT_EQ(ack(cpu), kSpurious); // active, so not again
        // Pending again while active: active and pending, still not signalled.
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 28);
        settle();
        EXPECT_FALSE(bench->irq.read());
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_HPPIR), kSpurious);
        eoi(cpu, 1023); // spurious EOI is ignored
        EXPECT_TRUE(active_bit(cpu, 60));
        eoi(cpu, 60);
        settle();
        EXPECT_FALSE(active_bit(cpu, 60));
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_RPR), 0xFFu);
        EXPECT_TRUE(bench->irq.read()); // the second pending edge is now signalled
        EXPECT_EQ(ack(cpu), 60u);
        eoi(cpu, 60);
        // ISACTIVER/ICACTIVER set and clear the active state directly.
        cpu.write32(kGicd + GicV2::kGICD_ISACTIVER + 4, 1u << 28);
        EXPECT_TRUE(active_bit(cpu, 60));
        cpu.write32(kGicd + GicV2::kGICD_ICACTIVER + 4, 1u << 28);
        EXPECT_FALSE(active_bit(cpu, 60));
    });
    bench = &b;
    b.run();
    EXPECT_EQ(b.gic.end_of_interrupts(), 2u);
}

TEST(GicV2, HigherPriorityPreemptsAndRunningPriorityNests) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        enable_intid(cpu, 34, 0x80);
        enable_intid(cpu, 35, 0xA0);
        enable_intid(cpu, 36, 0x40);
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 2);
        EXPECT_EQ(ack(cpu), 34u);
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 3);
        settle();
        EXPECT_FALSE(bench->irq.read()); // 0xA0 does not preempt 0x80
        EXPECT_EQ(ack(cpu), kSpurious);
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 4);
        settle();
        EXPECT_TRUE(bench->irq.read()); // 0x40 does
        EXPECT_EQ(ack(cpu), 36u);
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_RPR), 0x40u);
        eoi(cpu, 36);
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_RPR), 0x80u); // back to the outer handler
        eoi(cpu, 34);
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_RPR), 0xFFu);
        // With BPR = 7 every priority is in the same group, so nothing preempts anything.
        cpu.write32(kGicc + GicV2::kGICC_BPR, 7);
        EXPECT_EQ(ack(cpu), 35u);
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_RPR), 0u);
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 4);
        EXPECT_EQ(ack(cpu), kSpurious);
        eoi(cpu, 35);
        EXPECT_EQ(ack(cpu), 36u);
    });
    bench = &b;
    b.run();
}

TEST(GicV2, SoftwareGeneratedInterruptFilters) {
    Bench b([](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        const uint64_t sgir = kGicd + GicV2::kGICD_SGIR;
        cpu.write32(sgir, (0u << 24) | (0x01u << 16) | 3); // list containing CPU 0
        EXPECT_TRUE(pending_bit(cpu, 3));
        cpu.write32(sgir, (0u << 24) | (0x02u << 16) | 4); // list naming only a CPU that does not exist
        cpu.write32(sgir, (1u << 24) | (0xFFu << 16) | 5); // all but self: nobody
        cpu.write32(sgir, (3u << 24) | (0x01u << 16) | 6); // reserved filter
        EXPECT_FALSE(pending_bit(cpu, 4));
        EXPECT_FALSE(pending_bit(cpu, 5));
        EXPECT_FALSE(pending_bit(cpu, 6));
        cpu.write32(sgir, (2u << 24) | 7); // self
        EXPECT_TRUE(pending_bit(cpu, 7));
        // Per-source pending bytes show CPU 0 as the requester.
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_SPENDSGIR), 0x01000000u);     // SGI 3 in byte 3
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_SPENDSGIR + 4), 0x01000000u); // SGI 7
        // IAR reports the source CPU in bits [12:10] (CPU 0 here).
        const uint32_t first = ack(cpu);
        EXPECT_EQ(first & 0x3FF, 3u);
        EXPECT_EQ((first >> 10) & 0x7, 0u);
        eoi(cpu, first);
        // CPENDSGIR removes a pending SGI; SPENDSGIR adds one.
        cpu.write32(kGicd + GicV2::kGICD_CPENDSGIR + 4, 0x01000000u);
        EXPECT_FALSE(pending_bit(cpu, 7));
        EXPECT_EQ(cpu.write(kGicd + GicV2::kGICD_SPENDSGIR + 9, 0x01, 1), tlm::TLM_OK_RESPONSE);
        EXPECT_TRUE(pending_bit(cpu, 9));
        // ISPENDR/ICPENDR do not touch SGIs.
        cpu.write32(kGicd + GicV2::kGICD_ICPENDR, 1u << 9);
        EXPECT_TRUE(pending_bit(cpu, 9));
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR, 1u << 10);
        EXPECT_FALSE(pending_bit(cpu, 10));
        EXPECT_EQ(ack(cpu), 9u);
        // SGIs are edge-triggered and that cannot be changed.
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ICFGR), 0xAAAAAAAAu);
        cpu.write32(kGicd + GicV2::kGICD_ICFGR, 0);
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ICFGR), 0xAAAAAAAAu);
    });
    b.run();
    EXPECT_EQ(b.gic.raised(GicV2::kSgi), 3u);
    EXPECT_EQ(b.gic.acknowledged(GicV2::kSgi), 2u);
}

TEST(GicV2, LevelSensitiveSpiFromAConnectedSignal) {
    GicV2 *gic_ptr = nullptr;
    sc_core::sc_signal<bool> line("uart_irq");
    sc_core::sc_signal<bool> irq("irq");
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        enable_intid(cpu, 33, 0x80);
        settle();
        EXPECT_FALSE(bench->irq.read());
        line.write(true);
        settle();
        EXPECT_TRUE(bench->irq.read());
        EXPECT_EQ(ack(cpu), 33u);
        settle();
        EXPECT_FALSE(bench->irq.read());
        EXPECT_TRUE(pending_bit(cpu, 33)); // line still high: active and pending
        EXPECT_TRUE(active_bit(cpu, 33));
        // ICPENDR cannot clear a level interrupt whose line is asserted.
        cpu.write32(kGicd + GicV2::kGICD_ICPENDR + 4, 1u << 1);
        EXPECT_TRUE(pending_bit(cpu, 33));
        line.write(false); // the handler silences the device
        settle();
        EXPECT_FALSE(pending_bit(cpu, 33));
        eoi(cpu, 33);
        settle();
        EXPECT_FALSE(bench->irq.read());
        EXPECT_EQ(ack(cpu), kSpurious);
    });
    bench = &b;
    gic_ptr = &b.gic;
    gic_ptr->connect_spi(1, line);
    EXPECT_THROW(gic_ptr->connect_spi(1, line), std::invalid_argument);
    EXPECT_THROW(gic_ptr->connect_spi(256, line), std::invalid_argument);
    b.run();
    EXPECT_EQ(b.gic.raised(GicV2::kSpi), 1u);
}

TEST(GicV2, LineAlreadyHighAtStartIsSeen) {
    sc_core::sc_signal<bool> line("line");
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        settle();
        EXPECT_TRUE(pending_bit(cpu, 32 + 7));
        enable_both_interfaces(cpu);
        enable_intid(cpu, 39, 0x10);
        settle();
        EXPECT_TRUE(bench->irq.read());
    });
    bench = &b;
    b.gic.connect_spi(7, line);
    line.write(true);
    b.run();
}

TEST(GicV2, EdgeTriggeredSpiLatchesRisingEdges) {
    sc_core::sc_signal<bool> line("line");
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        enable_intid(cpu, 42, 0x80);
        // ICFGR2 covers INTIDs 32..47; field 10 is INTID 42, bit 1 of the field selects edge.
        cpu.write32(kGicd + GicV2::kGICD_ICFGR + 8, 2u << (2 * 10));
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ICFGR + 8), 2u << (2 * 10));
        line.write(true);
        settle();
        line.write(false);
        settle();
        EXPECT_TRUE(pending_bit(cpu, 42)); // the pulse is remembered
        EXPECT_TRUE(bench->irq.read());
        EXPECT_EQ(ack(cpu), 42u);
        EXPECT_FALSE(pending_bit(cpu, 42));
        line.write(true); // another edge while active
        settle();
        EXPECT_TRUE(pending_bit(cpu, 42));
        EXPECT_TRUE(active_bit(cpu, 42));
        EXPECT_FALSE(bench->irq.read());
        eoi(cpu, 42);
        settle();
        EXPECT_TRUE(bench->irq.read());
        // A line that stays high gives no new edge: one acknowledge drains it.
        EXPECT_EQ(ack(cpu), 42u);
        eoi(cpu, 42);
        EXPECT_EQ(ack(cpu), kSpurious);
        // ICPENDR clears a latched edge.
        line.write(false);
        settle();
        line.write(true);
        settle();
        EXPECT_TRUE(pending_bit(cpu, 42));
        cpu.write32(kGicd + GicV2::kGICD_ICPENDR + 4, 1u << 10);
        EXPECT_FALSE(pending_bit(cpu, 42));
    });
    bench = &b;
    b.gic.connect_spi(10, line);
    b.run();
}

TEST(GicV2, DirectSpiAndPpiLevelCalls) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        enable_intid(cpu, 27, 0x20); // a PPI, e.g. the virtual timer
        bench->gic.set_ppi_level(11, true);
        bench->gic.set_spi_level(5000, true); // does not exist: ignored
        bench->gic.set_ppi_level(16, true);   // does not exist: ignored
        settle();
        EXPECT_TRUE(bench->irq.read());
        EXPECT_EQ(ack(cpu), 27u);
        bench->gic.set_ppi_level(11, false);
        eoi(cpu, 27);
        settle();
        EXPECT_FALSE(bench->irq.read());
    });
    bench = &b;
    b.run();
    EXPECT_EQ(b.gic.acknowledged(GicV2::kPpi), 1u);
    EXPECT_TRUE(b.gic.is_active(27) == false);
}

TEST(GicV2, V2mFrameTurnsWritesIntoPendingSpis) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        const uint32_t typer = cpu.read32(kV2m + GicV2::kV2M_MSI_TYPER);
        EXPECT_EQ(typer >> 16, 32u + 48u);
        EXPECT_EQ(typer & 0x3FF, 64u);
        EXPECT_EQ(cpu.read32(kV2m + GicV2::kV2M_MSI_IIDR) & 0xFFF, 0x43Bu);
        enable_both_interfaces(cpu);
        enable_intid(cpu, 80, 0x80);
        enable_intid(cpu, 143, 0x70);
        cpu.write32(kV2m + GicV2::kV2M_MSI_SETSPI_NS, 79);  // just below the frame's range
        cpu.write32(kV2m + GicV2::kV2M_MSI_SETSPI_NS, 144); // just above
        cpu.write32(kV2m + GicV2::kV2M_MSI_SETSPI_NS, 0xFFFFFFFF);
        EXPECT_FALSE(pending_bit(cpu, 79));
        EXPECT_FALSE(pending_bit(cpu, 144));
        settle();
        EXPECT_FALSE(bench->irq.read());
        cpu.write32(kV2m + GicV2::kV2M_MSI_SETSPI_NS, 80);
        cpu.write32(kV2m + GicV2::kV2M_MSI_SETSPI_NS, 143);
        EXPECT_TRUE(pending_bit(cpu, 80));
        settle();
        EXPECT_TRUE(bench->irq.read());
        EXPECT_EQ(ack(cpu), 143u); // priority 0x70 beats 0x80
        eoi(cpu, 143);
        EXPECT_EQ(ack(cpu), 80u);
        // MSIs are edges even on a level-configured SPI: acknowledging clears them.
        EXPECT_FALSE(pending_bit(cpu, 80));
        eoi(cpu, 80);
        EXPECT_EQ(ack(cpu), kSpurious);
        // Only 32-bit writes count.
        uint64_t value = 0;
        EXPECT_EQ(cpu.write(kV2m + GicV2::kV2M_MSI_SETSPI_NS, 80, 2), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read(kV2m + GicV2::kV2M_MSI_SETSPI_NS, value, 4), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(value, 0u);
        EXPECT_FALSE(pending_bit(cpu, 80));
    });
    bench = &b;
    b.run();
    EXPECT_EQ(b.gic.msi_accepted(), 2u);
    EXPECT_EQ(b.gic.msi_ignored(), 3u);
}

TEST(GicV2, RegisterAccessSizesAndBadAccesses) {
    Bench b([](TestInitiator &cpu) {
        uint64_t value = 0;
        // Byte-accessible arrays take 8-, 16- and 32-bit accesses.
        EXPECT_EQ(cpu.write(kGicd + GicV2::kGICD_IPRIORITYR + 33, 0xC0, 1), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.write(kGicd + GicV2::kGICD_IPRIORITYR + 34, 0xB0A0, 2), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_IPRIORITYR + 32), 0xB0A0C000u);
        EXPECT_EQ(cpu.read(kGicd + GicV2::kGICD_IPRIORITYR + 34, value, 2), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(value, 0xB0A0u);
        // Word-only registers refuse narrow accesses; nothing is unaligned-tolerant.
        EXPECT_EQ(cpu.read(kGicd + GicV2::kGICD_CTLR, value, 1), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(cpu.write(kGicd + GicV2::kGICD_ISENABLER + 4, 1, 2), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read(kGicd + GicV2::kGICD_IPRIORITYR + 2, value, 4), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read(kGicd + GicV2::kGICD_IPRIORITYR + 1, value, 2), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read(kGicc + GicV2::kGICC_IAR, value, 2), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read(kGicc + GicV2::kGICC_IAR, value, 8), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read(kGicd + GicV2::kGICD_CTLR, value, 3), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_IPRIORITYR + 32), 0xB0A0C000u); // untouched
        // Reserved offsets are RAZ/WI.
        cpu.write32(kGicd + 0x0C, 0xFFFFFFFF);
        EXPECT_EQ(cpu.read32(kGicd + 0x0C), 0u);
        EXPECT_EQ(cpu.read32(kGicd + 0x8000), 0u);
        EXPECT_EQ(cpu.read32(kGicc + 0x40), 0u);
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_AIAR), kSpurious);
        cpu.write32(kGicc + GicV2::kGICC_AEOIR, 5);
        // Writable fields keep only their implemented bits.
        cpu.write32(kGicd + GicV2::kGICD_CTLR, 0xFFFFFFFF);
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_CTLR), 0x3u);
        cpu.write32(kGicc + GicV2::kGICC_PMR, 0x1FF);
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_PMR), 0xFFu);
        cpu.write32(kGicc + GicV2::kGICC_BPR, 0x13);
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_BPR), 0x3u);
        cpu.write32(kGicd + GicV2::kGICD_IGROUPR + 4, 0x5);
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_IGROUPR + 4), 0x5u);
    });
    b.run();
    EXPECT_EQ(b.gic.bad_accesses(), 7u);
}

TEST(GicV2, GroupEnablesSelectWhichInterruptsAreSignalled) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        cpu.write32(kGicc + GicV2::kGICC_PMR, 0xFF);
        enable_intid(cpu, 40, 0x80);
        cpu.write32(kGicd + GicV2::kGICD_IGROUPR + 4, 1u << 8); // INTID 40 in group 1
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 8);
        cpu.write32(kGicd + GicV2::kGICD_CTLR, 1); // group 0 only
        cpu.write32(kGicc + GicV2::kGICC_CTLR, 3);
        settle();
        EXPECT_FALSE(bench->irq.read());
        cpu.write32(kGicd + GicV2::kGICD_CTLR, 2);
        settle();
        EXPECT_TRUE(bench->irq.read());
        cpu.write32(kGicc + GicV2::kGICC_CTLR, 1);
        settle();
        EXPECT_FALSE(bench->irq.read());
    });
    bench = &b;
    b.run();
}

TEST(GicV2, SplitEoiModeNeedsDeactivate) {
    Bench b([](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        cpu.write32(kGicc + GicV2::kGICC_CTLR, 1 | GicV2::kCtlrEoiMode);
        enable_intid(cpu, 50, 0x80);
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 18);
        EXPECT_EQ(ack(cpu), 50u);
        eoi(cpu, 50);
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_RPR), 0xFFu); // priority dropped
        EXPECT_TRUE(active_bit(cpu, 50));                       // but still active
        cpu.write32(kGicc + GicV2::kGICC_DIR, 50);
        EXPECT_FALSE(active_bit(cpu, 50));
    });
    b.run();
}

TEST(GicV2, DebugReadOfIarDoesNotAcknowledge) {
    Bench b([](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        enable_intid(cpu, 33, 0x80);
        cpu.write32(kGicd + GicV2::kGICD_ISPENDR + 4, 1u << 1);
        uint8_t buffer[4] = {};
        EXPECT_EQ(cpu.debug(tlm::TLM_READ_COMMAND, kGicc + GicV2::kGICC_IAR, buffer, 4), 4u);
        EXPECT_EQ(buffer[0], 33);
        EXPECT_TRUE(pending_bit(cpu, 33));
        EXPECT_FALSE(active_bit(cpu, 33));
        uint8_t eoi_value[4] = {33, 0, 0, 0};
        EXPECT_EQ(cpu.debug(tlm::TLM_WRITE_COMMAND, kGicc + GicV2::kGICC_EOIR, eoi_value, 4), 0u);
        EXPECT_EQ(ack(cpu), 33u);
    });
    b.run();
}

// An MSI from an initiator running ahead of the kernel (the SMMU's MSI writes carry the delay of the
// operation that caused them) makes its SPI pending, and raises irq_out, at the write's annotated time and
// not before.
TEST(GicV2, MsiTakesEffectAtItsAnnotatedTime) {
    const sc_core::sc_time kDelay(250, sc_core::SC_NS);
    const sc_core::sc_time kPs(1, sc_core::SC_PS);
    constexpr unsigned kIntid = 80; // the first INTID of the v2m frame (SPI 48)
    Bench *bench = nullptr;
    sc_core::sc_time sent;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        enable_intid(cpu, kIntid, 0x80);
        settle();
        sent = sc_core::sc_time_stamp();
        ASSERT_EQ(cpu.write_ahead(kV2m + GicV2::kV2M_MSI_SETSPI_NS, kIntid, kDelay), tlm::TLM_OK_RESPONSE);
        EXPECT_FALSE(pending_bit(cpu, kIntid)) << "the MSI has not happened yet";
        sc_core::wait(kDelay - kPs);
        EXPECT_FALSE(pending_bit(cpu, kIntid)) << "one picosecond before the MSI";
        EXPECT_FALSE(bench->irq.read());
        EXPECT_EQ(bench->gic.msi_accepted(), 0u);
        sc_core::wait(2 * kPs);
        EXPECT_TRUE(pending_bit(cpu, kIntid)) << "one picosecond after it";
        EXPECT_TRUE(bench->irq.read());
        EXPECT_EQ(ack(cpu), kIntid);
        eoi(cpu, kIntid);
        settle();
    });
    bench = &b;
    vp_test::ChangeRecorder<bool> irq_changes("irq_changes");
    irq_changes.in.bind(b.irq);
    b.run();
    ASSERT_EQ(irq_changes.changes.size(), 2u);
    EXPECT_EQ(irq_changes.changes[0], std::make_pair(sent + kDelay, true))
        << "irq_out rises at the MSI's time";
    EXPECT_EQ(irq_changes.changes[1].second, false) << "and falls when the CPU acknowledges";
    EXPECT_EQ(b.gic.msi_accepted(), 1u);
}

// Writes from an initiator running ahead take effect at their annotated times, in time order: two writes made
// in one delta cycle (disable at +100 ns, enable again at +150 ns) show as two changes of irq_out, at those
// times; reads in between see the state of their own time.
TEST(GicV2, RegisterWritesTakeEffectAtTheirAnnotatedTimes) {
    const sc_core::sc_time kDisableAt(100, sc_core::SC_NS), kEnableAt(150, sc_core::SC_NS);
    const sc_core::sc_time kPmrAt(200, sc_core::SC_NS), kEoiAt(300, sc_core::SC_NS);
    Bench *bench = nullptr;
    sc_core::sc_time sent, eoi_sent;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        bench->gic.set_spi_level(5, true); // INTID 37, level
        enable_intid(cpu, 37, 0xA0);
        settle();
        ASSERT_TRUE(bench->irq.read());
        sent = sc_core::sc_time_stamp();
        cpu.write_ahead(kGicd + GicV2::kGICD_ICENABLER + 4, 1u << 5, kDisableAt);
        cpu.write_ahead(kGicd + GicV2::kGICD_ISENABLER + 4, 1u << 5, kEnableAt);
        cpu.write_ahead(kGicc + GicV2::kGICC_PMR, 0x80, kPmrAt); // masks priority 0xA0
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ISENABLER + 4), 1u << 5) << "still enabled now";
        sc_core::wait(kDisableAt + sc_core::sc_time(1, sc_core::SC_NS));
        EXPECT_EQ(cpu.read32(kGicd + GicV2::kGICD_ISENABLER + 4), 0u) << "disabled after its time";
        sc_core::wait(kPmrAt); // past every write
        EXPECT_EQ(cpu.read32(kGicc + GicV2::kGICC_PMR), 0x80u);
        // Priority drop and deactivation (EOIR) at their time too: acknowledge now, EOI ahead.
        cpu.write32(kGicc + GicV2::kGICC_PMR, 0xFF);
        settle();
        const uint32_t intid = ack(cpu);
        EXPECT_EQ(intid, 37u);
        settle();
        EXPECT_FALSE(bench->irq.read()) << "active: nothing else to signal";
        eoi_sent = sc_core::sc_time_stamp();
        cpu.write_ahead(kGicc + GicV2::kGICC_EOIR, intid, kEoiAt);
        EXPECT_TRUE(active_bit(cpu, 37)) << "the EOI has not happened yet";
        sc_core::wait(kEoiAt + sc_core::sc_time(1, sc_core::SC_NS));
        EXPECT_FALSE(active_bit(cpu, 37));
        EXPECT_TRUE(bench->irq.read()) << "the line is still high: pending again after the EOI";
        EXPECT_EQ(bench->gic.end_of_interrupts(), 1u);
    });
    bench = &b;
    vp_test::ChangeRecorder<bool> irq_changes("irq_changes");
    irq_changes.in.bind(b.irq);
    b.run();
    std::vector<std::pair<sc_core::sc_time, bool>> after_sent;
    for (const auto &c : irq_changes.changes)
        if (c.first >= sent)
            after_sent.push_back(c);
    // Disable, enable, PMR ahead; PMR back and the acknowledge at once; the EOI ahead.
    ASSERT_EQ(after_sent.size(), 6u);
    EXPECT_EQ(after_sent[0], std::make_pair(sent + kDisableAt, false));
    EXPECT_EQ(after_sent[1], std::make_pair(sent + kEnableAt, true));
    EXPECT_EQ(after_sent[2], std::make_pair(sent + kPmrAt, false));
    EXPECT_TRUE(after_sent[3].second);
    EXPECT_FALSE(after_sent[4].second);
    EXPECT_EQ(after_sent[5], std::make_pair(eoi_sent + kEoiAt, true));
}

// Every rising edge of an edge-triggered SPI's line is seen and counted, however close the edges are (here
// one picosecond apart), and latches the SPI pending.
TEST(GicV2, EveryRisingEdgeOfAnEdgeTriggeredLineCounts) {
    constexpr unsigned kSpi = 10, kIntid = 32 + kSpi, kPulses = 5;
    sc_core::sc_signal<bool> line("line");
    vp::TimedWriter<bool> driver(line, "driver");
    Bench b([&](TestInitiator &cpu) {
        // ICFGR2 covers INTIDs 32..47; the odd bit of each field selects edge.
        cpu.write32(kGicd + GicV2::kGICD_ICFGR + 8, 2u << (2 * (kIntid - 32)));
        for (unsigned i = 0; i < kPulses; ++i) {
            driver.write_after(sc_core::sc_time(10 + 2 * i, sc_core::SC_PS), true);
            driver.write_after(sc_core::sc_time(11 + 2 * i, sc_core::SC_PS), false);
        }
        sc_core::wait(1, sc_core::SC_NS);
        EXPECT_TRUE(pending_bit(cpu, kIntid)) << "latched by the edges";
        cpu.write32(kGicd + GicV2::kGICD_ICPENDR + 4, 1u << kSpi);
        EXPECT_FALSE(pending_bit(cpu, kIntid)) << "an edge-triggered SPI stays clear once the line is low";
    });
    b.gic.connect_spi(kSpi, line);
    b.run();
    EXPECT_EQ(b.gic.raised(GicV2::kSpi), kPulses);
}

TEST(GicV2, RejectsImpossibleConfigurations) {
    EXPECT_THROW(GicV2("too_many", 1000), std::invalid_argument);
    EXPECT_THROW(GicV2("v2m_outside", 64, 48, 64), std::invalid_argument);
    EXPECT_NO_THROW(GicV2("largest", 988, 900, 88));
}

TEST(GicV2, StatisticsDump) {
    Bench *bench = nullptr;
    Bench b([&](TestInitiator &cpu) {
        enable_both_interfaces(cpu);
        cpu.write32(kGicd + GicV2::kGICD_SGIR, (2u << 24) | 1);
        eoi(cpu, ack(cpu));
        ack(cpu);
        bench->gic.set_spi_level(0, true);
    });
    bench = &b;
    b.run();
    const nlohmann::json stats = registered_stats(b.gic);
    EXPECT_EQ(stats.at("gic.raised_sgi"), 1u) << stats.dump();
    EXPECT_EQ(stats.at("gic.acknowledged_sgi"), 1u) << stats.dump();
    EXPECT_EQ(stats.at("gic.raised_spi"), 1u) << stats.dump();
    EXPECT_EQ(stats.at("gic.spurious_acknowledges"), 1u) << stats.dump();
}
