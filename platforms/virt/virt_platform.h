// The `virt` platform: CPU, router, RAM, PL011, GICv2 (+v2m), the SMMUv3 with the DMA test master and the
// PCIe root complex with its endpoints at QEMU virt (highmem=off) addresses, plus the PSCI firmware interface
// over HVC.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <systemc>

#include "cpu.h"
#include "dma_master.h"
#include "elf_loader.h"
#include "endpoint.h"
#include "gicv2.h"
#include "marker.h"
#include "memory.h"
#include "pl011.h"
#include "root_complex.h"
#include "router.h"
#include "smmuv3.h"
#include "stats.h"
#include "trace.h"
#include "virt_config.h"

namespace vp {

// What the firmware asked for through PSCI.
struct PsciState {
    bool system_off = false;
    bool system_reset = false;
    uint64_t off_status = 0; // x1 of SYSTEM_OFF
    uint64_t calls = 0;
};

class VirtPlatform {
  public:
    // Memory map (QEMU virt, highmem=off).
    static constexpr uint64_t kGicdBase = 0x08000000, kGicdSize = 0x10000;
    static constexpr uint64_t kGiccBase = 0x08010000, kGiccSize = 0x10000;
    static constexpr uint64_t kGicV2mBase = 0x08020000, kGicV2mSize = 0x1000;
    static constexpr uint64_t kUartBase = 0x09000000, kUartSize = 0x1000;
    static constexpr unsigned kUartSpi = 1;
    static constexpr uint64_t kSmmuBase = 0x09050000;
    static constexpr unsigned kSmmuEvtqSpi = 74, kSmmuPriqSpi = 75, kSmmuCmdSyncSpi = 76, kSmmuGerrorSpi = 77;
    static constexpr uint64_t kEcamBase = 0x3f000000, kEcamSize = 0x1000000;          // buses 0..15
    static constexpr uint64_t kPcieMmioBase = 0x10000000, kPcieMmioSize = 0x2eff0000; // to 0x3efe_ffff
    static constexpr unsigned kPcieIntxSpi = 3;                                       // INTA..INTD: SPIs 3..6
    static constexpr uint64_t kFirmwareBase = 0x40080000;
    // The firmware marker register (this platform only; free on QEMU's platform bus, next to dma.base).
    static constexpr uint64_t kMarkerBase = 0x0c010000;

    // Throws ConfigError if uart.file or trace.file cannot be opened, the SMMU parameters are impossible or
    // the DMA master's window or SPI collides with another device, or a PCIe endpoint or the RID map is
    // refused.
    explicit VirtPlatform(const VirtConfig &config);

    // Copies the PT_LOAD segments into RAM (BSS zeroed) and sets the entry point. Throws ElfError if a
    // segment lies outside RAM.
    void load_firmware(const ElfImage &image);
    void trace(sc_core::sc_trace_file *tf);
    // Flushes and closes the text trace file (trace.file); false if any of it could not be written.
    bool close_trace_file();
    // Every component's statistics as one JSON document (Stats::write_json), with `platform.exit_status`
    // set to exit_status and the host-side figures (host seconds, MIPS) in its `host` section. false when
    // the stream fails.
    bool write_stats_json(std::ostream &os, int exit_status, double host_seconds);
    // The registry every component registered its statistics in.
    const Stats &stats() const { return stats_; }

    Cpu &cpu() { return *cpu_; }
    Smmuv3 &smmu() { return *smmu_; }
    const PsciState &psci() const { return psci_; }

  private:
    void add_smmu_and_dma(const VirtConfig &config);
    void add_pcie(const VirtConfig &config);
    // Hands trace_ to every component (only when trace.file is set: tracing costs nothing otherwise).
    void attach_trace();
    HvcResult handle_psci(const std::array<uint64_t, 4> &x);
    void register_stats();

    VirtConfig config_;
    PsciState psci_;
    Router router_{"router"};
    Memory ram_;
    Pl011 uart_{"uart"};
    GicV2 gic_{"gic"};
    std::unique_ptr<Cpu> cpu_;
    std::unique_ptr<Smmuv3> smmu_;
    std::unique_ptr<DmaMaster> dma_;
    std::unique_ptr<PcieRootComplex> pcie_rc_;
    std::vector<std::unique_ptr<PcieEndpoint>> pcie_endpoints_;
    std::unique_ptr<std::ofstream> trace_stream_;
    Trace trace_; // the one text trace every component writes (trace.file, trace.filter)
    FirmwareMarker marker_{"marker"};
    Stats stats_;
    int exit_status_ = 0;       // what write_stats_json reports as platform.exit_status
    double host_seconds_ = 0.0; // host-side: only in the `host` section
    sc_core::sc_signal<bool> cpu_irq_{"cpu_irq"};
    sc_core::sc_signal<bool> uart_irq_{"uart_irq"};
    sc_core::sc_signal<bool> smmu_evtq_irq_{"smmu_evtq_irq"};
    sc_core::sc_signal<bool> smmu_priq_irq_{"smmu_priq_irq"};
    sc_core::sc_signal<bool> smmu_cmd_sync_irq_{"smmu_cmd_sync_irq"};
    sc_core::sc_signal<bool> smmu_gerror_irq_{"smmu_gerror_irq"};
    sc_core::sc_signal<bool> dma_irq_{"dma_irq"};
    sc_core::sc_signal<bool> pcie_intx_[PcieRootComplex::kIntxLines] = {
        sc_core::sc_signal<bool>("pcie_inta"), sc_core::sc_signal<bool>("pcie_intb"),
        sc_core::sc_signal<bool>("pcie_intc"), sc_core::sc_signal<bool>("pcie_intd")};
};

} // namespace vp
