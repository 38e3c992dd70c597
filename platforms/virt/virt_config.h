// Parameters of the virt platform and where they are registered: the one place a new component (SMMU, DMA
// master, PCIe) adds its keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu.h"
#include "params.h"
#include "root_complex.h"
#include "smmu.h"

namespace vp {

// One `pcie.endpoint` entry: a personality at a BDF with its `key=value` parameters.
struct PcieEndpointConfig {
    std::string personality;
    uint16_t bdf = 0;
    std::vector<std::pair<std::string, std::string>> params;
    std::string text; // the value as given, for messages
};

struct VirtConfig {
    static constexpr uint64_t kRamBase = 0x40000000;
    static constexpr uint64_t kRamLimit = 0x100000000; // highmem=off: RAM ends below 4 GiB

    uint64_t ram_size = 1ull << 30;
    uint64_t cpu_quantum = 50000;
    double cpu_ns_per_insn = 1.0;
    std::vector<CpuAlias> cpu_aliases;
    std::string uart_file;
    std::string trace_file;   // the text trace of every component (docs/trace.md)
    std::string trace_filter; // which components / kinds it keeps (vp::Trace::set_filter); empty: all

    // SMMUv3 at 0x0905_0000: raw ID registers, caches and latencies (smmu_params_default()).
    smmu_params smmu = default_smmu_params();
    uint64_t smmu_irq_pulse_ps = 1000;
    // IDR5.STALL_MAX by its own name; 0: keep what smmu.idr5 (or the default) says.
    uint32_t smmu_stall_max = 0;

    // Platform DMA test master behind the SMMU (absent on QEMU).
    uint64_t dma_base = 0x0c000000;
    uint32_t dma_stream_id = 0x10;
    unsigned dma_spi = 112;
    unsigned dma_in_flight = 1; // chunks the DMA test master keeps in flight

    // PCIe: root complex (ECAM 0x3f00_0000, MMIO 0x1000_0000..0x3efe_ffff, INTx on SPIs 3..6) and endpoints.
    std::vector<PcieEndpointConfig> pcie_endpoints = default_pcie_endpoints();
    bool pcie_endpoints_given = false;      // a pcie.endpoint key replaced the default list
    std::vector<PcieRidRange> pcie_rid_map; // empty: StreamID = RID
    uint64_t pcie_rc_latency_ps = 10000;
    uint64_t pcie_link_latency_ps = 20000;
    unsigned pcie_lanes = 16;

    static std::vector<PcieEndpointConfig> default_pcie_endpoints();

  private:
    static smmu_params default_smmu_params() {
        smmu_params params;
        smmu_params_default(&params);
        return params;
    }
};

// Registers every key of the platform. Values are checked for syntax here and for consistency by
// validate_virt_config() once all sources (file, command line) have been applied.
void register_virt_params(ParamRegistry &registry, VirtConfig &config);
// Throws ConfigError for combinations that cannot work (alias outside RAM, overlapping windows, ...).
void validate_virt_config(const VirtConfig &config);

} // namespace vp
