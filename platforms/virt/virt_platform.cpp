#include "virt_platform.h"

#include "smmu_regs.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>
#include <vector>

namespace vp {

namespace {

// PSCI function IDs (SMC32 calling convention) and return values.
constexpr uint32_t kPsciVersion = 0x84000000;
constexpr uint32_t kPsciSystemOff = 0x84000008;
constexpr uint32_t kPsciSystemReset = 0x84000009;
constexpr uint32_t kPsciFeatures = 0x8400000a;
constexpr uint64_t kPsciVersion1_1 = 0x00010001;
constexpr uint64_t kPsciSuccess = 0;
constexpr uint64_t kPsciNotSupported = ~0ull; // -1
// PSCI_FEATURES answers success for this ID (an SMCCC vendor-specific hypervisor service number) only on this
// platform: firmware asks it to find out, safely, that the firmware marker register exists (QEMU answers
// NOT_SUPPORTED; an access to the register's address would abort there).
constexpr uint32_t kFeatureFirmwareMarker = 0x86005650;

} // namespace

VirtPlatform::VirtPlatform(const VirtConfig &config) : config_(config), ram_("ram", config.ram_size) {
    CpuConfig cpu_config;
    cpu_config.quantum_insns = config.cpu_quantum;
    cpu_config.ns_per_insn = config.cpu_ns_per_insn;
    cpu_config.ram_base = VirtConfig::kRamBase;
    cpu_config.ram_size = config.ram_size;
    cpu_config.entry_pc = kFirmwareBase;
    cpu_config.aliases = config.cpu_aliases;
    cpu_config.mmio_windows = {{0, VirtConfig::kRamBase}};
    cpu_ = std::make_unique<Cpu>("cpu", cpu_config);

    cpu_->socket.bind(router_.target_socket);
    router_.add_target(ram_.socket, VirtConfig::kRamBase, config.ram_size, "ram");
    router_.add_target(gic_.dist_socket, kGicdBase, kGicdSize, "gicd");
    router_.add_target(gic_.cpu_socket, kGiccBase, kGiccSize, "gicc");
    router_.add_target(gic_.v2m_socket, kGicV2mBase, kGicV2mSize, "gicv2m");
    router_.add_target(uart_.socket, kUartBase, kUartSize, "uart");
    // The fixed devices are wired first, so that a configurable one that collides with them is the error.
    gic_.irq_out.bind(cpu_irq_);
    cpu_->irq.bind(cpu_irq_);
    uart_.irq.bind(uart_irq_);
    gic_.connect_spi(kUartSpi, uart_irq_);
    add_smmu_and_dma(config);
    add_pcie(config);

    try {
        router_.add_target(marker_.socket, kMarkerBase, FirmwareMarker::kRegSpaceSize, "marker");
    } catch (const std::invalid_argument &error) {
        throw ConfigError(std::string("firmware marker at 0x0c010000: ") + error.what());
    }

    if (!config.trace_file.empty()) {
        std::string error;
        if (!trace_.set_filter(config.trace_filter, &error))
            throw ConfigError("trace.filter: " + error);
        trace_stream_ = std::make_unique<std::ofstream>(config.trace_file);
        if (!*trace_stream_)
            throw ConfigError("trace.file: cannot open '" + config.trace_file + "'");
        trace_.set_stream(trace_stream_.get());
        trace_.set_time_ordered(true);
        attach_trace();
    }
    if (!config.uart_file.empty()) {
        try {
            uart_.tee_to_file(config.uart_file);
        } catch (const std::exception &error) {
            throw ConfigError("uart.file: cannot open '" + config.uart_file + "'");
        }
    }
    cpu_->set_hvc_handler([this](const std::array<uint64_t, 4> &x) { return handle_psci(x); });
    register_stats();
}

void VirtPlatform::register_stats() {
    cpu_->register_stats(stats_);
    router_.register_stats(stats_);
    ram_.register_stats(stats_);
    uart_.register_stats(stats_);
    gic_.register_stats(stats_);
    smmu_->register_stats(stats_);
    dma_->register_stats(stats_);
    pcie_rc_->register_stats(stats_, "pcie.rc");
    for (const auto &endpoint : pcie_endpoints_)
        endpoint->register_stats(stats_, "pcie." + pcie_bdf_text(endpoint->bdf()));
    stats_.counter("platform.exit_status", [this] { return static_cast<uint64_t>(exit_status_); });
    stats_.counter("platform.sim_time_ps",
                   [] { return static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e12 + 0.5); });
    stats_.counter("platform.psci_calls", &psci_.calls);
    stats_.host("seconds", [this] { return host_seconds_; });
    stats_.host("mips", [this] {
        return host_seconds_ > 0 ? static_cast<double>(cpu_->instructions()) / host_seconds_ / 1e6 : 0.0;
    });
}

void VirtPlatform::attach_trace() {
    cpu_->set_trace(&trace_);
    gic_.set_trace(&trace_);
    smmu_->set_trace(&trace_);
    dma_->set_trace(&trace_);
    pcie_rc_->set_trace(&trace_, "pcie.rc");
    for (const auto &endpoint : pcie_endpoints_)
        endpoint->set_trace(&trace_);
    marker_.set_trace(&trace_);
}

void VirtPlatform::add_smmu_and_dma(const VirtConfig &config) {
    Smmuv3::Params smmu_params = Smmuv3::default_params();
    smmu_params.core = config.smmu;
    if (config.smmu_stall_max != 0)
        smmu_params.core.idr[5] =
            (smmu_params.core.idr[5] & ~static_cast<uint32_t>(SMMU_IDR5_STALL_MAX)) |
            static_cast<uint32_t>(SMMU_FIELD_PREP(SMMU_IDR5_STALL_MAX, config.smmu_stall_max));
    smmu_params.irq_pulse_width =
        sc_core::sc_time(static_cast<double>(config.smmu_irq_pulse_ps), sc_core::SC_PS);
    // The DMA master, bound below as upstream port 0 (the only one), is a platform device that can hold a
    // transaction while it stalls.
    smmu_params.stall_capable_ports = 1u << 0;
    try {
        smmu_ = std::make_unique<Smmuv3>("smmu", smmu_params);
    } catch (const std::invalid_argument &error) {
        throw ConfigError(error.what());
    }
    router_.add_target(smmu_->reg_socket, kSmmuBase, SMMU_REG_SPACE_SIZE, "smmuv3");
    smmu_->downstream_socket.bind(router_.target_socket);
    smmu_->own_access_socket.bind(router_.target_socket);
    smmu_->evtq_irq.bind(smmu_evtq_irq_);
    smmu_->priq_irq.bind(smmu_priq_irq_);
    smmu_->cmd_sync_irq.bind(smmu_cmd_sync_irq_);
    smmu_->gerror_irq.bind(smmu_gerror_irq_);
    gic_.connect_spi(kSmmuEvtqSpi, smmu_evtq_irq_);
    gic_.connect_spi(kSmmuPriqSpi, smmu_priq_irq_);
    gic_.connect_spi(kSmmuCmdSyncSpi, smmu_cmd_sync_irq_);
    gic_.connect_spi(kSmmuGerrorSpi, smmu_gerror_irq_);

    dma_ = std::make_unique<DmaMaster>("dma", config.dma_stream_id, 64, sc_core::sc_time(1, sc_core::SC_NS),
                                       config.dma_in_flight);
    // Both calls reject collisions with another device (window overlap, SPI already wired).
    try {
        router_.add_target(dma_->reg_socket, config.dma_base, DmaMaster::kRegSpaceSize, "dma");
        gic_.connect_spi(config.dma_spi, dma_irq_);
    } catch (const std::invalid_argument &error) {
        throw ConfigError(std::string("DMA test master: ") + error.what());
    }
    dma_->socket.bind(smmu_->upstream_socket);
    dma_->irq.bind(dma_irq_);
}

void VirtPlatform::add_pcie(const VirtConfig &config) {
    PcieRootComplex::Params params;
    params.mmio_base = kPcieMmioBase;
    params.rc_latency = sc_core::sc_time(static_cast<double>(config.pcie_rc_latency_ps), sc_core::SC_PS);
    params.link_latency = sc_core::sc_time(static_cast<double>(config.pcie_link_latency_ps), sc_core::SC_PS);
    params.rid_map = config.pcie_rid_map;
    try {
        pcie_rc_ = std::make_unique<PcieRootComplex>("pcie_rc", params);
    } catch (const std::invalid_argument &error) {
        throw ConfigError(std::string("pcie.rid_map: ") + error.what());
    }
    router_.add_target(pcie_rc_->ecam_socket, kEcamBase, kEcamSize, "ecam");
    router_.add_target(pcie_rc_->mmio_socket, kPcieMmioBase, kPcieMmioSize, "pcie_mmio");
    // Upstream port 1 of the SMMU (the DMA master is port 0): not stall-capable, PCIe never stalls.
    pcie_rc_->smmu_socket.bind(smmu_->upstream_socket);
    smmu_->message_socket.bind(pcie_rc_->message_socket);
    try {
        for (unsigned i = 0; i < PcieRootComplex::kIntxLines; ++i) {
            pcie_rc_->intx[i].bind(pcie_intx_[i]);
            gic_.connect_spi(kPcieIntxSpi + i, pcie_intx_[i]);
        }
    } catch (const std::invalid_argument &error) {
        throw ConfigError(std::string("PCIe INTx (SPIs 3..6): ") + error.what());
    }

    // Without the personality library only an explicit list can fail; the default list is left out.
    if (!config.pcie_endpoints_given && !PcieEndpoint::personalities_available())
        return;
    PcieEndpoint::Params endpoint_params;
    endpoint_params.lanes = config.pcie_lanes;
    for (const PcieEndpointConfig &entry : config.pcie_endpoints) {
        const std::string bdf = pcie_bdf_text(entry.bdf);
        std::string module = "pcie_" + bdf;
        for (char &c : module)
            if (c == ':' || c == '.')
                c = '_';
        try {
            pcie_endpoints_.push_back(std::make_unique<PcieEndpoint>(
                module.c_str(), entry.bdf, entry.personality, entry.params, endpoint_params));
            pcie_rc_->attach(*pcie_endpoints_.back());
        } catch (const std::invalid_argument &error) {
            throw ConfigError("pcie.endpoint '" + entry.text + "': " + error.what());
        }
    }
}

HvcResult VirtPlatform::handle_psci(const std::array<uint64_t, 4> &x) {
    psci_.calls++;
    switch (static_cast<uint32_t>(x[0])) {
    case kPsciVersion:
        return {kPsciVersion1_1, false};
    case kPsciSystemOff:
        psci_.system_off = true;
        psci_.off_status = x[1];
        return {kPsciSuccess, true};
    case kPsciSystemReset:
        psci_.system_reset = true;
        return {kPsciSuccess, true};
    case kPsciFeatures: {
        auto queried = static_cast<uint32_t>(x[1]);
        bool supported = queried == kPsciVersion || queried == kPsciSystemOff ||
                         queried == kPsciSystemReset || queried == kPsciFeatures ||
                         queried == kFeatureFirmwareMarker;
        return {supported ? kPsciSuccess : kPsciNotSupported, false};
    }
    default: // CPU_ON, CPU_SUSPEND, ... and anything unknown
        return {kPsciNotSupported, false};
    }
}

void VirtPlatform::load_firmware(const ElfImage &image) {
    const uint64_t ram_end = VirtConfig::kRamBase + config_.ram_size;
    for (const ElfSegment &segment : image.segments) {
        if (segment.address < VirtConfig::kRamBase || segment.memory_size > ram_end - segment.address ||
            segment.address >= ram_end) {
            std::ostringstream what;
            what << "firmware segment at 0x" << std::hex << segment.address << " (0x" << segment.memory_size
                 << " bytes) lies outside RAM 0x" << VirtConfig::kRamBase << "..0x" << ram_end - 1;
            throw ElfError(what.str());
        }
        uint64_t offset = segment.address - VirtConfig::kRamBase;
        ram_.load(offset, segment.data.data(), segment.data.size());
        std::vector<uint8_t> zeros(64 * 1024, 0);
        for (uint64_t done = segment.data.size(); done < segment.memory_size;) {
            uint64_t chunk = std::min<uint64_t>(zeros.size(), segment.memory_size - done);
            ram_.load(offset + done, zeros.data(), chunk);
            done += chunk;
        }
    }
    cpu_->set_entry_pc(image.entry);
}

void VirtPlatform::trace(sc_core::sc_trace_file *tf) {
    sc_core::sc_trace(tf, cpu_irq_, "cpu_irq");
    sc_core::sc_trace(tf, uart_irq_, "uart_irq");
    sc_core::sc_trace(tf, smmu_evtq_irq_, "smmu_evtq_irq");
    sc_core::sc_trace(tf, smmu_priq_irq_, "smmu_priq_irq");
    sc_core::sc_trace(tf, smmu_cmd_sync_irq_, "smmu_cmd_sync_irq");
    sc_core::sc_trace(tf, smmu_gerror_irq_, "smmu_gerror_irq");
    sc_core::sc_trace(tf, dma_irq_, "dma_irq");
    for (const auto &line : pcie_intx_)
        sc_core::sc_trace(tf, line, line.basename());
    smmu_->trace(tf);
    cpu_->trace(tf);
    gic_.trace(tf);
    for (const auto &endpoint : pcie_endpoints_)
        endpoint->trace(tf);
    marker_.trace(tf);
}

bool VirtPlatform::close_trace_file() {
    if (!trace_stream_)
        return true;
    smmu_->set_trace(nullptr);
    trace_.set_stream(nullptr);
    trace_stream_->close();
    bool ok = !trace_stream_->fail();
    trace_stream_.reset();
    return ok;
}

bool VirtPlatform::write_stats_json(std::ostream &os, int exit_status, double host_seconds) {
    exit_status_ = exit_status;
    host_seconds_ = host_seconds;
    return stats_.write_json(os);
}

} // namespace vp
