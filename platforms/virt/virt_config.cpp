#include "virt_config.h"

#include "dma_master.h"
#include "endpoint.h"
#include "trace.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstdio>
#include <sstream>
#include <string>

namespace vp {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxQuantum = 1000000000;

std::string hex(uint64_t value) {
    std::ostringstream text;
    text << "0x" << std::hex << value;
    return text.str();
}

std::string parse_alias(const std::string &value, std::vector<CpuAlias> &aliases) {
    std::istringstream fields(value);
    std::vector<std::string> words;
    for (std::string word; fields >> word;)
        words.push_back(word);
    if (words.size() != 2 && words.size() != 3)
        return "expected 'VA SIZE' or 'VA PA SIZE'";
    CpuAlias alias{0, VirtConfig::kRamBase, 0};
    bool ok = parse_u64(words[0], alias.va) && parse_size(words.back(), alias.size) &&
              (words.size() == 2 || parse_u64(words[1], alias.pa));
    if (!ok)
        return "addresses are numbers (0x.. allowed), SIZE may end in K, M or G";
    if ((alias.va | alias.pa | alias.size) % kPage || alias.size == 0)
        return "VA, PA and SIZE must be non-zero multiples of 4 KiB";
    if (alias.va + alias.size < alias.va || alias.pa + alias.size < alias.pa)
        return "window wraps around the address space";
    aliases.push_back(alias);
    return "";
}

// Registers an unsigned key that stores into `field` when the value lies in [min, max]. Register images and
// addresses are shown in hex.
enum class Show { Decimal, Hex };
template <typename Field>
void add_unsigned(ParamRegistry &registry, const std::string &key, const std::string &help, Field &field,
                  uint64_t min, uint64_t max, Show show = Show::Decimal) {
    registry.add(
        key, "N", help,
        [&field, min, max](const std::string &value) -> std::string {
            uint64_t number = 0;
            if (!parse_u64(value, number) || number < min || number > max)
                return "expected an integer from " + std::to_string(min) + " to " + std::to_string(max);
            field = static_cast<Field>(number);
            return "";
        },
        [&field, show] {
            const uint64_t v = static_cast<uint64_t>(field);
            return std::vector<std::string>{show == Show::Hex ? hex(v) : std::to_string(v)};
        });
}

// A getter for a text key that may be unset.
ParamRegistry::Getter text_value(const std::string &field) {
    return [&field] { return field.empty() ? std::vector<std::string>{} : std::vector<std::string>{field}; };
}

// The keys of one SMMU cache (`smmu.tlb.sets` ...).
void add_cache_params(ParamRegistry &registry, const std::string &prefix, const std::string &what,
                      smmu_cache_params &cache) {
    add_unsigned(registry, prefix + ".sets", what + ": number of sets, 0 disables it", cache.sets, 0,
                 1u << 20);
    add_unsigned(registry, prefix + ".ways", what + ": associativity", cache.ways, 1, 64);
    add_unsigned(registry, prefix + ".lookup_ps", what + ": latency of one lookup in ps", cache.lookup_ps, 0,
                 UINT64_C(1) << 40);
    registry.add(
        prefix + ".policy", "lru|fifo|random", what + ": replacement policy",
        [&cache](const std::string &value) -> std::string {
            if (value == "lru")
                cache.policy = SMMU_REPL_LRU;
            else if (value == "fifo")
                cache.policy = SMMU_REPL_FIFO;
            else if (value == "random")
                cache.policy = SMMU_REPL_RANDOM;
            else
                return "expected lru, fifo or random";
            return "";
        },
        [&cache] {
            const char *name = cache.policy == SMMU_REPL_FIFO     ? "fifo"
                               : cache.policy == SMMU_REPL_RANDOM ? "random"
                                                                  : "lru";
            return std::vector<std::string>{name};
        });
}

// "BB:DD.F" in hex, as lspci prints it.
bool parse_bdf(const std::string &text, uint16_t &bdf) {
    unsigned bus = 0, dev = 0, fn = 0;
    int used = 0;
    if (std::sscanf(text.c_str(), "%2x:%2x.%1x%n", &bus, &dev, &fn, &used) != 3 ||
        static_cast<size_t>(used) != text.size() || text.size() != 7 || dev > 0x1F || fn > 7)
        return false;
    bdf = pcie_bdf(bus, dev, fn);
    return true;
}

std::string parse_endpoint(const std::string &value, VirtConfig &config) {
    std::istringstream fields(value);
    std::vector<std::string> words;
    for (std::string word; fields >> word;)
        words.push_back(word);
    if (!config.pcie_endpoints_given) {
        config.pcie_endpoints.clear(); // the first one given replaces the default list
        config.pcie_endpoints_given = true;
    }
    if (words.size() == 1 && words[0] == "none") {
        config.pcie_endpoints.clear();
        return "";
    }
    if (words.size() < 2)
        return "expected 'PERSONALITY BB:DD.F [key=value ...]' or 'none'";
    PcieEndpointConfig endpoint;
    endpoint.personality = words[0];
    endpoint.text = value;
    if (!parse_bdf(words[1], endpoint.bdf))
        return "bad BDF '" + words[1] + "': expected BB:DD.F in hex, device 00..1f, function 0..7";
    if (endpoint.bdf == 0)
        return "00:00.0 is the host bridge";
    if ((endpoint.bdf >> 8) != 0)
        return "bus " + words[1].substr(0, 2) + " does not exist: endpoints sit on bus 00 (no bridges)";
    for (const PcieEndpointConfig &other : config.pcie_endpoints)
        if (other.bdf == endpoint.bdf)
            return "BDF " + words[1] + " is already taken by '" + other.text + "'";
    for (size_t i = 2; i < words.size(); ++i) {
        const size_t equals = words[i].find('=');
        if (equals == std::string::npos || equals == 0)
            return "expected key=value, got '" + words[i] + "'";
        endpoint.params.emplace_back(words[i].substr(0, equals), words[i].substr(equals + 1));
    }
    config.pcie_endpoints.push_back(endpoint);
    return "";
}

std::string parse_rid_range(const std::string &value, std::vector<PcieRidRange> &map) {
    std::istringstream fields(value);
    std::vector<std::string> words;
    for (std::string word; fields >> word;)
        words.push_back(word);
    uint64_t rid = 0, count = 0, sid = 0;
    if (words.size() != 3 || !parse_u64(words[0], rid) || !parse_u64(words[1], count) ||
        !parse_u64(words[2], sid))
        return "expected 'RID_BASE COUNT SID_BASE' (numbers, 0x.. allowed)";
    if (count == 0 || rid + count > 0x10000 || sid + count > 0x100000000)
        return "COUNT must be at least 1, RIDs within 0..0xffff and StreamIDs within 32 bits";
    map.push_back(
        PcieRidRange{static_cast<uint32_t>(rid), static_cast<uint32_t>(count), static_cast<uint32_t>(sid)});
    return "";
}

// A time key stored in picoseconds; zero allowed.
void add_time_ps(ParamRegistry &registry, const std::string &key, const std::string &help, uint64_t &field) {
    registry.add(
        key, "TIME", help,
        [&field](const std::string &value) -> std::string {
            sc_core::sc_time time;
            if (!parse_time(value, time))
                return "expected a time such as 20ns, 1.5us or 0ps";
            field = static_cast<uint64_t>(time.to_seconds() * 1e12 + 0.5);
            return "";
        },
        [&field] { return std::vector<std::string>{format_time_exact(field)}; });
}

} // namespace

std::vector<PcieEndpointConfig> VirtConfig::default_pcie_endpoints() {
    return {{"edu", pcie_bdf(0, 1, 0), {}, "edu 00:01.0"},
            {"testengine", pcie_bdf(0, 2, 0), {{"stop_marker", "1"}}, "testengine 00:02.0 stop_marker=1"},
            {"testengine", pcie_bdf(0, 3, 0), {{"stop_marker", "0"}}, "testengine 00:03.0 stop_marker=0"}};
}

void register_virt_params(ParamRegistry &registry, VirtConfig &config) {
    registry.add(
        "ram.size", "SIZE", "RAM size at 0x40000000, multiple of 4 KiB, at most 3G (default 1G)",
        [&config](const std::string &value) -> std::string {
            uint64_t size = 0;
            if (!parse_size(value, size))
                return "expected a size such as 512M or 0x40000000";
            if (size == 0 || size % kPage || size > VirtConfig::kRamLimit - VirtConfig::kRamBase)
                return "must be a non-zero multiple of 4 KiB, at most 3G";
            config.ram_size = size;
            return "";
        },
        [&config] { return std::vector<std::string>{format_size(config.ram_size)}; });
    registry.add(
        "cpu.quantum", "INSNS", "instructions per quantum (default 50000)",
        [&config](const std::string &value) -> std::string {
            uint64_t quantum = 0;
            if (!parse_u64(value, quantum) || quantum == 0 || quantum > kMaxQuantum)
                return "expected an integer from 1 to 1000000000";
            config.cpu_quantum = quantum;
            return "";
        },
        [&config] { return std::vector<std::string>{std::to_string(config.cpu_quantum)}; });
    registry.add(
        "cpu.ns_per_insn", "NS", "simulated time per instruction in ns (default 1.0)",
        [&config](const std::string &value) -> std::string {
            double ns = 0;
            // Below 1 ps (the kernel's time resolution) an instruction would take no time at all.
            if (!parse_positive_double(value, ns) || ns < 0.001 || ns > 1e6)
                return "expected a number of ns from 0.001 to 1000000";
            config.cpu_ns_per_insn = ns;
            return "";
        },
        [&config] {
            // The shortest text that reads back as the same double.
            char text[32];
            for (int digits = 6; digits <= 17; digits++) {
                std::snprintf(text, sizeof text, "%.*g", digits, config.cpu_ns_per_insn);
                if (std::strtod(text, nullptr) == config.cpu_ns_per_insn)
                    break;
            }
            return std::vector<std::string>{text};
        });
    registry.add(
        "cpu.alias", "VA [PA] SIZE", "map RAM at PA (default 0x40000000) also at VA, for VA != PA code",
        [&config](const std::string &value) { return parse_alias(value, config.cpu_aliases); },
        [&config] {
            std::vector<std::string> values;
            for (const CpuAlias &a : config.cpu_aliases)
                values.push_back(hex(a.va) + " " + hex(a.pa) + " " + hex(a.size));
            return values;
        },
        true);
    registry.add(
        "uart.file", "PATH", "also write the UART output to PATH",
        [&config](const std::string &value) -> std::string {
            config.uart_file = value;
            return "";
        },
        text_value(config.uart_file));

    registry.add(
        "trace.file", "PATH",
        "write the text trace (one line per architectural step of every component, docs/trace.md) to PATH",
        [&config](const std::string &value) -> std::string {
            config.trace_file = value;
            return "";
        },
        text_value(config.trace_file));
    registry.add(
        "trace.filter", "SPEC",
        "keep only these trace lines: comma-separated COMPONENT[/KIND] terms, '-' excludes (e.g. "
        "smmu/xlate,pcie,"
        "-pcie.rc)",
        [&config](const std::string &value) -> std::string {
            std::string error;
            Trace probe;
            if (!probe.set_filter(value, &error))
                return error;
            config.trace_filter = value;
            return "";
        },
        text_value(config.trace_filter));

    // SMMUv3: raw ID registers as the FVP model takes them, checked by smmu_params_validate() at start-up.
    for (unsigned i = 0; i < 6; i++)
        add_unsigned(registry, "smmu.idr" + std::to_string(i), "raw SMMU_IDR" + std::to_string(i) + " value",
                     config.smmu.idr[i], 0, UINT32_MAX, Show::Hex);
    add_unsigned(registry, "smmu.iidr", "raw SMMU_IIDR value", config.smmu.iidr, 0, UINT32_MAX, Show::Hex);
    add_unsigned(registry, "smmu.aidr", "raw SMMU_AIDR value", config.smmu.aidr, 0, UINT32_MAX, Show::Hex);
    add_cache_params(registry, "smmu.tlb", "SMMU TLB", config.smmu.engine.tlb);
    add_cache_params(registry, "smmu.walk_cache", "SMMU walk cache", config.smmu.engine.walk_cache);
    add_cache_params(registry, "smmu.config_cache", "SMMU STE/CD cache", config.smmu.config_cache);
    add_unsigned(registry, "smmu.tlb.tag_stream", "1: TLB entries are also tagged with the StreamID",
                 config.smmu.engine.tlb_tag_stream, 0, 1);
    add_unsigned(registry, "smmu.random_seed", "seed of the random replacement policy",
                 config.smmu.engine.random_seed, 0, UINT32_MAX);
    add_unsigned(registry, "smmu.walk_step_ps", "SMMU cost of one table-walk step on top of memory time, ps",
                 config.smmu.engine.walk_step_ps, 0, UINT64_C(1) << 40);
    add_unsigned(registry, "smmu.cmd_ps", "SMMU processing time per command, ps", config.smmu.cmd_ps, 0,
                 UINT64_C(1) << 40);
    add_unsigned(registry, "smmu.event_ps", "SMMU time to build one event record, ps", config.smmu.event_ps,
                 0, UINT64_C(1) << 40);
    add_unsigned(registry, "smmu.reg_access_ps", "SMMU register access latency, ps",
                 config.smmu.reg_access_ps, 0, UINT64_C(1) << 40);
    add_unsigned(registry, "smmu.msi_ps", "SMMU time to issue one MSI write (besides the memory write), ps",
                 config.smmu.msi_ps, 0, UINT64_C(1) << 40);
    registry.add(
        "smmu.atc_inv_timeout", "TIME",
        "a CMD_SYNC waiting longer than this for ATS invalidation completions fails (default 1ms)",
        [&config](const std::string &value) -> std::string {
            sc_core::sc_time time;
            if (!parse_time(value, time) || time == sc_core::SC_ZERO_TIME)
                return "expected a positive time such as 1ms, 50us or 200ns";
            config.smmu.atc_inv_timeout_ps = static_cast<uint64_t>(time.to_seconds() * 1e12 + 0.5);
            return "";
        },
        [&config] { return std::vector<std::string>{format_time_exact(config.smmu.atc_inv_timeout_ps)}; });
    registry.add(
        "smmu.stall_max", "N", "transactions the SMMU may hold stalled at once (IDR5.STALL_MAX; default 8)",
        [&config](const std::string &value) -> std::string {
            uint64_t number = 0;
            if (!parse_u64(value, number) || number < 1 || number > 0xFFFF)
                return "expected an integer from 1 to 65535";
            config.smmu_stall_max = static_cast<uint32_t>(number);
            return "";
        },
        [&config] {
            // Unset, smmu.idr5 (printed too) carries the value.
            return config.smmu_stall_max ? std::vector<std::string>{std::to_string(config.smmu_stall_max)}
                                         : std::vector<std::string>{};
        });
    add_unsigned(registry, "smmu.atc_inv_queue_depth",
                 "ATS invalidations one endpoint may have outstanding (its Invalidate Queue Depth)",
                 config.smmu.atc_inv_queue_depth, 1, 32);
    add_unsigned(registry, "smmu.irq_pulse_ps", "width of the SMMU's wired IRQ pulses, ps",
                 config.smmu_irq_pulse_ps, 1, UINT64_C(1) << 40);

    add_unsigned(registry, "dma.base", "address of the DMA test master's 4 KiB register window",
                 config.dma_base, 0, VirtConfig::kRamBase - 0x1000, Show::Hex);
    add_unsigned(registry, "dma.stream_id", "reset StreamID of the DMA test master", config.dma_stream_id, 0,
                 UINT32_MAX);
    add_unsigned(registry, "dma.spi", "GIC SPI of the DMA test master's completion IRQ", config.dma_spi, 0,
                 255); // the GIC has 256 SPIs
    add_unsigned(registry, "dma.in_flight",
                 "chunks the DMA test master keeps in flight at once (each a read then a write)",
                 config.dma_in_flight, 1, DmaMaster::kMaxInFlight);

    registry.add(
        "pcie.endpoint", "PERSONALITY BB:DD.F [key=value ...] | none",
        "a PCIe endpoint on bus 00 (the first one replaces the default list: edu 00:01.0, testengine 00:02.0 "
        "stop_marker=1, testengine 00:03.0 stop_marker=0; none: no endpoints)",
        [&config](const std::string &value) { return parse_endpoint(value, config); },
        [&config] {
            std::vector<std::string> values;
            for (const PcieEndpointConfig &e : config.pcie_endpoints)
                values.push_back(e.text);
            if (values.empty())
                values.push_back("none");
            return values;
        },
        true);
    registry.add(
        "pcie.rid_map", "RID_BASE COUNT SID_BASE",
        "RIDs RID_BASE.. map to StreamIDs SID_BASE.. (IORT-style; absent: StreamID = RID; RIDs outside every "
        "range are refused)",
        [&config](const std::string &value) { return parse_rid_range(value, config.pcie_rid_map); },
        [&config] {
            std::vector<std::string> values;
            for (const PcieRidRange &r : config.pcie_rid_map)
                values.push_back(hex(r.rid_base) + " " + std::to_string(r.count) + " " + hex(r.sid_base));
            return values;
        },
        true);
    add_time_ps(registry, "pcie.rc_latency", "root complex time per crossing, each way (default 10ns)",
                config.pcie_rc_latency_ps);
    add_time_ps(registry, "pcie.link_latency",
                "PCIe link time between the root complex and an endpoint, each way "
                "(default 20ns)",
                config.pcie_link_latency_ps);
    add_unsigned(registry, "pcie.lanes", "memory requests each endpoint keeps in flight at once (default 16)",
                 config.pcie_lanes, 1, PcieEndpoint::kMaxLanes);
}

void validate_virt_config(const VirtConfig &config) {
    if (config.dma_base % 0x1000 != 0)
        throw ConfigError("dma.base " + hex(config.dma_base) +
                          ": the DMA master's window must be 4 KiB aligned");
    const uint64_t ram_end = VirtConfig::kRamBase + config.ram_size;
    for (size_t i = 0; i < config.cpu_aliases.size(); i++) {
        const CpuAlias &alias = config.cpu_aliases[i];
        std::string what = "cpu.alias " + hex(alias.va) + " " + hex(alias.pa) + " " + hex(alias.size) + ": ";
        if (alias.pa < VirtConfig::kRamBase || alias.pa + alias.size > ram_end)
            throw ConfigError(what + "PA range is not inside RAM");
        // Below RAM is the MMIO space the CPU hands to the router; RAM itself is mapped at its own address.
        if (alias.va < ram_end)
            throw ConfigError(what + "VA range must lie above the end of RAM (" + hex(ram_end) + ")");
        for (size_t j = 0; j < i; j++) {
            const CpuAlias &other = config.cpu_aliases[j];
            if (alias.va < other.va + other.size && other.va < alias.va + alias.size)
                throw ConfigError(what + "VA range overlaps another alias");
        }
    }
}

} // namespace vp
