// smmuv3-vp: runs an AArch64 firmware ELF on the virt platform. Stdout carries only the UART output;
// everything the simulator says goes to stderr with the "smmuv3-vp: " prefix.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <systemc>
#include <unistd.h>

#include "elf_loader.h"
#include "params.h"
#include "virt_config.h"
#include "virt_platform.h"

namespace {

// Exit codes reserved by the platform (the firmware's own status is PSCI SYSTEM_OFF x1 & 0xff).
constexpr int kExitUsage = 2;
constexpr int kExitInternal = 3;
constexpr int kExitOutput = 4; // an output file (--stats, --vcd) could not be written
constexpr int kExitMaxTime = 120;
constexpr int kExitNoProgress = 121;
constexpr int kExitUnmapped = 122;
constexpr int kExitIssError = 123;
constexpr int kExitReset = 124;
constexpr int kExitBusError = 125;
constexpr int kExitDebuggerKill = 137; // as if killed: the debugger's `kill`

// SIGINT/SIGTERM: the first one ends the simulation cleanly (the CPU polls this flag), outputs are written
// and the exit status is 128 + the signal number; a second one ends the process at once.
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int signal) {
    if (g_signal)
        _exit(128 + signal);
    g_signal = signal;
}

const char *signal_name(int signal) {
    return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal";
}

enum class LogLevel { Error = 0, Warn, Info, Debug };
LogLevel g_log_level = LogLevel::Warn;

void say(LogLevel level, const std::string &message) {
    if (level <= g_log_level)
        std::cerr << "smmuv3-vp: " << message << std::endl;
}

// Usage problems are reported in one line and end the process with exit code 2.
struct UsageError {
    std::string message;
};

struct Options {
    std::string firmware;
    std::string config;
    std::string vcd;
    std::string stats;
    std::optional<sc_core::sc_time> max_sim_time;
    std::vector<std::pair<std::string, std::string>> overrides; // registry keys set on the command line
    std::optional<uint16_t> gdb_port;
    bool gdb_wait = false;
    bool print_config = false;
    bool help = false;
    bool version = false;
};

const char *const kUsage =
    "usage: smmuv3-vp [--firmware] ELF [--config FILE] [--quantum INSNS] [--max-sim-time TIME]\n"
    "                 [--log-level L] [--vcd FILE] [--stats FILE] [--trace FILE] [--trace-filter SPEC]\n"
    "                 [--set KEY=VALUE]...\n"
    "                 [--gdb PORT [--gdb-wait]] [--print-config] [--help] [--version]\n"
    "Runs an AArch64 ELF on the SMMUv3 virtual platform (QEMU virt memory map, highmem=off).\n"
    "  --firmware ELF      AArch64 ELF64 executable (also accepted as a bare argument); PT_LOAD segments go "
    "to\n"
    "                      RAM, execution starts at e_entry\n"
    "  --config FILE       text file of `key = value` lines (# comments); keys below\n"
    "  --quantum INSNS     instructions per quantum (same as cpu.quantum; overrides the file)\n"
    "  --max-sim-time TIME stop after TIME of simulated time (10ms, 5us, 2s, 100ns): exit 120\n"
    "  --log-level L       error|warn|info|debug (default warn)\n"
    "  --vcd FILE          write the platform's signals as a VCD waveform (waves/README.md)\n"
    "  --stats FILE        write every component's statistics as one JSON document (docs/stats.md)\n"
    "  --trace FILE        write the text trace, one line per architectural step of every component\n"
    "                      (docs/trace.md; same as trace.file)\n"
    "  --trace-filter SPEC keep only some trace lines: comma-separated COMPONENT[/KIND] terms, '-'\n"
    "                      excludes (e.g. smmu/xlate,pcie or -smmu/tlb; same as trace.filter)\n"
    "  --set KEY=VALUE     set a configuration key (repeatable; overrides the file)\n"
    "  --gdb PORT          serve GDB's remote protocol on localhost:PORT (0: any free port, printed); a\n"
    "                      debugger that connects stops the CPU; simulated time stands still while GDB holds "
    "it\n"
    "  --gdb-wait          with --gdb: wait for the debugger and stop at the first instruction (QEMU's -S)\n"
    "  --print-config      print the effective configuration (defaults, --config, --set) as `key = value`\n"
    "                      lines that --config reads back, and exit (no firmware needed)\n"
    "  --version           print the simulator's version and exit\n"
    "Exit status: the firmware's PSCI SYSTEM_OFF status (x1 & 0xff), or 2 usage/config error, 3 internal\n"
    "error, 4 an output file could not be written, 120 max simulated time reached, 121 no progress (WFI\n"
    "nothing can wake), 122 CPU access to an unmapped address, 123 ISS error, 124 PSCI SYSTEM_RESET "
    "requested\n"
    "(not supported), 125 CPU access refused by a device, 130/143 interrupted by SIGINT/SIGTERM (outputs "
    "are\n"
    "still written), 137 killed from the debugger.\n"
    "Configuration keys:\n";

Options parse_command_line(int argc, char **argv) {
    Options options;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i], value;
        if (arg == "--help" || arg == "-h") {
            options.help = true;
            continue;
        }
        if (arg == "--version") {
            options.version = true;
            continue;
        }
        if (arg == "--gdb-wait") {
            options.gdb_wait = true;
            continue;
        }
        if (arg == "--print-config") {
            options.print_config = true;
            continue;
        }
        if (!arg.empty() && arg[0] != '-') {
            // A bare argument is the firmware ELF, as `qemu -kernel` users expect; a second one is a mistake.
            if (!options.firmware.empty())
                throw UsageError{"unexpected argument '" + arg + "' (the firmware is '" + options.firmware +
                                 "'; see --help)"};
            options.firmware = arg;
            continue;
        }
        size_t equals = arg.find('=');
        bool inline_value = arg.rfind("--", 0) == 0 && equals != std::string::npos;
        if (inline_value) {
            value = arg.substr(equals + 1);
            arg = arg.substr(0, equals);
        }
        static const std::vector<std::string> with_value = {
            "--firmware", "--config", "--quantum", "--max-sim-time", "--log-level",   "--vcd",
            "--stats",    "--trace",  "--set",     "--gdb",          "--trace-filter"};
        bool known = false;
        for (const std::string &name : with_value)
            known = known || name == arg;
        if (!known)
            throw UsageError{"unknown option '" + arg + "' (see --help)"};
        if (!inline_value) {
            if (i + 1 >= argc)
                throw UsageError{"option " + arg + " needs a value (see --help)"};
            value = argv[++i];
        }
        if (value.empty())
            throw UsageError{"option " + arg + " needs a non-empty value"};
        if (arg == "--firmware") {
            options.firmware = value;
        } else if (arg == "--config") {
            options.config = value;
        } else if (arg == "--quantum") {
            options.overrides.emplace_back("cpu.quantum", value);
        } else if (arg == "--max-sim-time") {
            sc_core::sc_time time;
            if (!vp::parse_time(value, time) || time == sc_core::SC_ZERO_TIME)
                throw UsageError{"invalid --max-sim-time '" + value +
                                 "' (expected e.g. 10ms, 5us, 2s, 100ns)"};
            options.max_sim_time = time;
        } else if (arg == "--log-level") {
            if (value == "error")
                g_log_level = LogLevel::Error;
            else if (value == "warn")
                g_log_level = LogLevel::Warn;
            else if (value == "info")
                g_log_level = LogLevel::Info;
            else if (value == "debug")
                g_log_level = LogLevel::Debug;
            else
                throw UsageError{"invalid --log-level '" + value + "' (expected error, warn, info or debug)"};
        } else if (arg == "--vcd") {
            options.vcd = value;
        } else if (arg == "--stats") {
            options.stats = value;
        } else if (arg == "--trace") {
            options.overrides.emplace_back("trace.file", value);
        } else if (arg == "--trace-filter") {
            options.overrides.emplace_back("trace.filter", value);
        } else if (arg == "--gdb") {
            char *end = nullptr;
            unsigned long port = std::strtoul(value.c_str(), &end, 10);
            if (*end != '\0' || value[0] == '-' || port > 65535)
                throw UsageError{"invalid --gdb port '" + value + "' (expected 0..65535)"};
            options.gdb_port = static_cast<uint16_t>(port);
        } else if (arg == "--set") {
            size_t split = value.find('=');
            if (split == std::string::npos || split == 0)
                throw UsageError{"invalid --set '" + value + "' (expected KEY=VALUE)"};
            options.overrides.emplace_back(value.substr(0, split), value.substr(split + 1));
        }
    }
    return options;
}

// SystemC reports go to stderr with our prefix: stdout belongs to the UART.
void report_handler(const sc_core::sc_report &report, const sc_core::sc_actions &actions) {
    if (actions & sc_core::SC_DISPLAY) {
        LogLevel level = LogLevel::Debug;
        switch (report.get_severity()) {
        case sc_core::SC_WARNING:
            level = LogLevel::Warn;
            break;
        case sc_core::SC_ERROR:
        case sc_core::SC_FATAL:
            level = LogLevel::Error;
            break;
        default:
            break;
        }
        say(level, std::string("systemc: ") + report.get_msg_type() + ": " + report.get_msg());
    }
    sc_core::sc_report_handler::default_handler(report, actions & ~(sc_core::SC_DISPLAY | sc_core::SC_LOG));
}

// Creates (or truncates) `path` to find out now whether the file can be written.
void check_writable(const std::string &path, const char *what) {
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
        throw vp::ConfigError(std::string("cannot write ") + what + " '" + path + "': it is a directory");
    std::ofstream probe(path, std::ios::trunc);
    if (!probe)
        throw vp::ConfigError(std::string("cannot write ") + what + " '" + path + "'");
}

// SystemC writes the wall-clock date into the VCD header; blank it (same length, in place) so that equal runs
// give byte-identical waveforms.
void blank_vcd_date(const std::string &path) {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    char head[512] = {};
    file.read(head, sizeof head - 1);
    std::string text(head, static_cast<size_t>(file.gcount()));
    size_t start = text.find("$date");
    size_t end = start == std::string::npos ? start : text.find("$end", start);
    if (end == std::string::npos)
        return;
    start += 5;
    file.clear();
    file.seekp(static_cast<std::streamoff>(start));
    std::string blank(end - start, ' ');
    blank.front() = '\n';
    blank.back() = '\n';
    file.write(blank.data(), static_cast<std::streamsize>(blank.size()));
}

// Puts the finished temporary file `from` at `to`: renamed when `to` is a regular file (or does not exist
// yet), copied through a stream otherwise, so that a full disk or a closed pipe is an error and not a lost
// result.
bool move_output(const std::string &from, const std::string &to) {
    std::error_code error;
    const auto status = std::filesystem::status(to, error);
    if (!std::filesystem::exists(status) || std::filesystem::is_regular_file(status)) {
        if (std::rename(from.c_str(), to.c_str()) == 0)
            return true;
    }
    bool ok = false;
    {
        std::ifstream in(from, std::ios::binary);
        std::ofstream out(to, std::ios::binary | std::ios::trunc);
        if (in && out) {
            out << in.rdbuf();
            out.close();
            ok = !out.fail();
        }
    }
    std::remove(from.c_str());
    return ok;
}

struct Outcome {
    int status;
    std::string reason;
};

Outcome decide_outcome(vp::VirtPlatform &platform, const Options &options) {
    const vp::CpuHaltInfo &halt = platform.cpu().halt_info();
    switch (halt.kind) {
    case vp::CpuHalt::HvcRequest:
        if (platform.psci().system_reset)
            return {kExitReset, "PSCI SYSTEM_RESET requested, not supported"};
        return {static_cast<int>(platform.psci().off_status & 0xff), "PSCI SYSTEM_OFF"};
    case vp::CpuHalt::NoProgress:
        say(LogLevel::Error, "error: " + halt.message);
        return {kExitNoProgress, "no progress"};
    case vp::CpuHalt::BusError:
        say(LogLevel::Error, "error: " + halt.message);
        if (halt.unmapped)
            return {kExitUnmapped, "CPU access to an unmapped address"};
        return {kExitBusError, "CPU access refused by a device"};
    case vp::CpuHalt::IssError:
        say(LogLevel::Error, "error: " + halt.message);
        return {kExitIssError, "ISS error"};
    case vp::CpuHalt::InternalError:
        say(LogLevel::Error, "error: " + halt.message);
        return {kExitInternal, "internal error"};
    case vp::CpuHalt::Interrupted:
        return {128 + g_signal, std::string("interrupted by ") + signal_name(g_signal)};
    case vp::CpuHalt::DebuggerKill:
        return {kExitDebuggerKill, "killed from the debugger"};
    case vp::CpuHalt::None:
        break;
    }
    // The CPU in WFI and nothing left that could wake it: the kernel ran out of events (and, with
    // --max-sim-time, moved time to the limit anyway).
    if (platform.cpu().waiting_for_interrupt() && !sc_core::sc_pending_activity()) {
        say(LogLevel::Error, "error: no progress: the CPU waits in WFI and no simulation activity is left");
        return {kExitNoProgress, "no progress"};
    }
    if (options.max_sim_time && sc_core::sc_time_stamp() >= *options.max_sim_time)
        return {kExitMaxTime, "maximum simulated time reached"};
    say(LogLevel::Error, "error: the simulation ended with the CPU still running");
    return {kExitInternal, "internal error"};
}

int run(int argc, char **argv) {
    Options options;
    vp::VirtConfig config;
    vp::ParamRegistry registry;
    vp::register_virt_params(registry, config);
    options = parse_command_line(argc, argv);
    if (options.version) {
        std::cout << "smmuv3-vp " << VP_VERSION << "\n";
        return 0;
    }
    if (options.help) {
        std::cout << kUsage;
        registry.describe(std::cout);
        return 0;
    }
    if (options.firmware.empty() && !options.print_config)
        throw UsageError{"missing --firmware ELF (see --help)"};
    if (options.gdb_wait && !options.gdb_port)
        throw UsageError{"--gdb-wait needs --gdb PORT"};
    if (!options.config.empty())
        registry.load_file(options.config);
    for (const auto &[key, value] : options.overrides)
        registry.set(key, value);
    vp::validate_virt_config(config);
    if (options.print_config) {
        std::cout << "# smmuv3-vp " << VP_VERSION
                  << ": effective configuration (read it back with --config)\n";
        registry.print(std::cout);
        std::cout.flush();
        return std::cout ? 0 : kExitOutput;
    }
    vp::ElfImage image = vp::read_elf(options.firmware);
    // Output files are checked before the run, so a bad path is a usage error and not a lost result.
    if (!options.stats.empty())
        check_writable(options.stats, "statistics file");
    if (!options.vcd.empty())
        check_writable(options.vcd, "VCD file");

    vp::VirtPlatform platform(config);
    platform.load_firmware(image);
    say(
        LogLevel::Info, "firmware " + options.firmware + ": " + std::to_string(image.segments.size()) +
                            " segment(s), entry 0x" + [&] {
                                char text[20];
                                std::snprintf(text, sizeof text, "%llx",
                                              static_cast<unsigned long long>(image.entry));
                                return std::string(text);
                            }());

    // SystemC names the VCD file itself (it appends ".vcd") and cannot report a failed write, so it writes a
    // temporary file beside the output (or in the temporary directory when the output is not a regular file,
    // e.g. a pipe or /dev/full) that is renamed or copied at the end, where errors can be seen.
    sc_core::sc_trace_file *vcd = nullptr;
    std::string vcd_temp;
    if (!options.vcd.empty()) {
        std::error_code error;
        const bool regular = std::filesystem::is_regular_file(options.vcd, error);
        std::filesystem::path dir = regular ? std::filesystem::path(options.vcd).parent_path()
                                            : std::filesystem::temp_directory_path(error);
        std::string base = (dir / (".smmuv3-vp-" + std::to_string(getpid()) + "-waves")).string();
        try {
            vcd = sc_core::sc_create_vcd_trace_file(base.c_str());
        } catch (const std::exception &) {
            vcd = nullptr;
        }
        if (!vcd)
            throw vp::ConfigError("cannot create VCD file '" + options.vcd + "'");
        vcd_temp = base + ".vcd";
        // Picoseconds: the waveform shows each change at the simulated time of the access that made it.
        vcd->set_time_unit(1, sc_core::SC_PS);
        platform.trace(vcd);
    }

    platform.cpu().set_interrupt_check([] { return g_signal != 0; });
    std::unique_ptr<gdb_stub, void (*)(gdb_stub *)> gdb(nullptr, gdb_stub_close);
    if (options.gdb_port) {
        char error[160] = "";
        gdb.reset(gdb_stub_listen(*options.gdb_port, error, sizeof error));
        if (!gdb)
            throw vp::ConfigError(error);
        platform.cpu().attach_gdb(gdb.get(), options.gdb_wait);
        // Always said (not a log message): a script that asked for port 0 needs the number.
        std::cerr << "smmuv3-vp: gdb: listening on localhost:" << gdb_stub_port(gdb.get()) << std::endl;
    }
    if (options.max_sim_time)
        platform.cpu().set_time_limit(*options.max_sim_time);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    auto host_start = std::chrono::steady_clock::now();
    if (options.max_sim_time)
        sc_core::sc_start(*options.max_sim_time);
    else
        sc_core::sc_start();
    double host_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - host_start).count();

    Outcome outcome = decide_outcome(platform, options);
    gdb_stub_exited(gdb.get(), outcome.status);
    bool output_failed = false;
    if (vcd) {
        sc_core::sc_close_vcd_trace_file(vcd);
        blank_vcd_date(vcd_temp);
        if (!move_output(vcd_temp, options.vcd)) {
            say(LogLevel::Error, "error: cannot write VCD file '" + options.vcd + "'");
            output_failed = true;
        }
    }
    if (!options.stats.empty()) {
        std::ofstream stats(options.stats);
        platform.write_stats_json(stats, outcome.status, host_seconds);
        stats.close();
        if (stats.fail()) {
            say(LogLevel::Error, "error: cannot write statistics file '" + options.stats + "'");
            output_failed = true;
        }
    }
    if (!platform.close_trace_file()) {
        say(LogLevel::Error, "error: cannot write trace file");
        output_failed = true;
    }
    if (output_failed)
        outcome = {kExitOutput, "an output file could not be written"};
    uint64_t instructions = platform.cpu().instructions();
    double mips = host_seconds > 0 ? static_cast<double>(instructions) / host_seconds / 1e6 : 0.0;
    char line[256];
    std::snprintf(line, sizeof line, "instructions %llu, simulated time %s, host time %.3f s, %.2f MIPS",
                  static_cast<unsigned long long>(instructions),
                  vp::format_time(sc_core::sc_time_stamp()).c_str(), host_seconds, mips);
    std::cerr << "smmuv3-vp: exit status " << outcome.status << " (" << outcome.reason << ")\n"
              << "smmuv3-vp: " << line << std::endl;
    return outcome.status;
}

} // namespace

int sc_main(int argc, char **argv) {
    sc_core::sc_report_handler::set_handler(report_handler);
    // Deprecation notes of the SystemC kernel are noise for users of the simulator.
    sc_core::sc_report_handler::set_actions("/IEEE_Std_1666/deprecated", sc_core::SC_DO_NOTHING);
    try {
        return run(argc, argv);
    } catch (const UsageError &error) {
        std::cerr << "smmuv3-vp: " << error.message << std::endl;
        return kExitUsage;
    } catch (const vp::ConfigError &error) {
        std::cerr << "smmuv3-vp: " << error.what() << std::endl;
        return kExitUsage;
    } catch (const vp::ElfError &error) {
        std::cerr << "smmuv3-vp: " << error.what() << std::endl;
        return kExitUsage;
    } catch (const std::exception &error) {
        std::cerr << "smmuv3-vp: internal error: " << error.what() << std::endl;
        return kExitInternal;
    } catch (...) {
        std::cerr << "smmuv3-vp: internal error: unknown exception" << std::endl;
        return kExitInternal;
    }
}

// Our own main() (it takes precedence over libsystemc's): the kernel prints its banner to stdout while it
// starts, before sc_main runs, and stdout belongs to the UART.
int main(int argc, char **argv) {
    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
    return sc_core::sc_elab_and_sim(argc, argv);
}
