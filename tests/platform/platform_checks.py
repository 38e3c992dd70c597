#!/usr/bin/env python3
"""Checks of smmuv3-vp runs that check-run.sh cannot express (one-line errors, JSON statistics, VCD files).

usage: platform_checks.py MODE VP [ARGS...]
  usage-error VP TEXT ARGS...   exit 2, nothing on stdout, exactly one stderr line, containing TEXT
  stats VP ELF                  --stats gives valid JSON whose cpu.instructions matches the summary line
  deterministic VP ELF          two runs give byte-identical statistics (outside `host`), UART output and VCD
                                files, and --vcd does not change the statistics
  stats-deterministic VP ELF    two runs give byte-identical --stats files once the `host` line is removed;
                                the document's shape: counters, histograms, host figures
  vcd VP ELF                    --vcd writes a VCD with the IRQ lines declared
  quantum-override VP ELF CFG   --quantum on the command line wins over cpu.quantum in CFG
  uart-file VP ELF              uart.file gets exactly what stdout got
  bad-elves VP                  ELF32, non-AArch64 and out-of-RAM ELFs are each refused with exit 2
  vcd-trace VP ELF              every `write CMDQ_PROD` of the SMMU text trace is a value change of
                                smmu.cmdq_prod in the VCD at the same picosecond, with the same value
  exact-stop VP ELF             --max-sim-time inside the first quantum: no output, exit 120, time <= limit
  sigterm VP ELF                SIGTERM during a long run: exit 143, parseable statistics and VCD, summary
"""
import json
import signal
import struct
import time
import os
import re
import subprocess
import sys
import tempfile

SUMMARY = re.compile(r"^smmuv3-vp: instructions (\d+), simulated time [0-9.]+ (s|ms|us|ns), "
                     r"host time [0-9.]+ s, [0-9.]+ MIPS$")
EXIT_LINE = re.compile(r"^smmuv3-vp: exit status (\d+) \(.+\)$")


def fail(message):
    print("platform_checks: " + message)
    sys.exit(1)


def run(command):
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout, result.stderr


def summary(stderr):
    lines = stderr.rstrip("\n").split("\n")
    if len(lines) < 2 or not EXIT_LINE.match(lines[-2]) or not SUMMARY.match(lines[-1]):
        fail("the run does not end with the two summary lines:\n" + stderr)
    return int(EXIT_LINE.match(lines[-2]).group(1)), int(SUMMARY.match(lines[-1]).group(1))


def stats_of(vp, elf, extra, directory, name):
    path = os.path.join(directory, name)
    code, out, err = run([vp, "--firmware", elf, "--stats", path] + extra)
    status, instructions = summary(err)
    if code != 0 or status != 0:
        fail("exit code %d, status line %d\n%s" % (code, status, err))
    with open(path) as file:
        text = file.read()
    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        duplicates = sorted(set(key for key in keys if keys.count(key) > 1))
        if duplicates:
            fail("statistics repeat keys: %s" % ", ".join(duplicates))
        return dict(pairs)

    try:
        stats = json.loads(text, object_pairs_hook=no_duplicates)
    except ValueError as error:
        fail("statistics are not valid JSON (%s):\n%s" % (error, text))
    if not isinstance(stats, dict):
        fail("statistics are not one JSON object")
    check_shape(stats)
    return stats, instructions, out, without_host(text)


HISTOGRAM_KEYS = ["count", "sum", "min", "max", "buckets"]
BUCKET = re.compile(r"^(0|<2\^([1-9]|[1-5][0-9]|6[0-4]))$")


def check_shape(stats):
    """Every value is a number, a histogram object or (only under `host`) the host-side figures."""
    for name, value in stats.items():
        if name == "host":
            if not isinstance(value, dict) or set(value) != {"seconds", "mips"}:
                fail("the host section is %r, want seconds and mips" % (value,))
            if any(not isinstance(v, (int, float)) or v < 0 for v in value.values()):
                fail("host figures must be non-negative numbers: %r" % (value,))
        elif isinstance(value, dict):
            if list(value) != HISTOGRAM_KEYS:
                fail("%s: a histogram has the keys %s, got %s" % (name, HISTOGRAM_KEYS, list(value)))
            buckets = value["buckets"]
            if not isinstance(buckets, dict) or any(not BUCKET.match(b) for b in buckets):
                fail("%s: bad buckets %r" % (name, buckets))
            if sum(buckets.values()) != value["count"] or value["min"] > value["max"] or \
                    (value["count"] and not value["min"] * value["count"] <= value["sum"] <= value["max"] *
                     value["count"]):
                fail("%s: inconsistent histogram %r" % (name, value))
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            fail("%s: %r is neither a number nor a histogram" % (name, value))
    if "host" not in stats:
        fail("no host section")


def without_host(text):
    """The document without its host-side figures, which differ from run to run."""
    return "\n".join(line for line in text.split("\n") if not line.startswith(' "host": '))


def read_vcd(path):
    """Returns ({scoped name: [(time, value)]}, timescale text); a value is an int (x/z bits count as 0)."""
    names, changes, scope = {}, {}, []
    now = 0
    with open(path) as file:
        text = file.read()
    header, _, body = text.partition("$enddefinitions")
    if not body:
        fail("VCD has no $enddefinitions")
    for line in header.splitlines():
        words = line.split()
        if words[:1] == ["$scope"]:
            scope.append(words[2])
        elif words[:1] == ["$upscope"]:
            scope.pop()
        elif words[:1] == ["$var"]:
            name = ".".join(scope[1:] + [words[4]])  # without the top "SystemC" scope
            names.setdefault(words[3], []).append(name)
            changes[name] = []
    timescale = re.search(r"\$timescale\s+(\S+\s*\S*)\s+\$end", header)
    in_comment = False
    for line in body.splitlines()[1:]:
        line = line.strip()
        if line.startswith("$comment"):
            in_comment = True
        if in_comment:
            in_comment = line != "$end" and not line.endswith(" $end")
            continue
        if not line or line.startswith("$"):
            continue
        if line[0] == "#":
            now = int(line[1:])
            continue
        if line[0] in "bB":
            bits, ident = line[1:].split()
        else:
            bits, ident = line[0], line[1:]
        value = int(bits.lower().replace("x", "0").replace("z", "0"), 2)
        for name in names.get(ident, []):
            changes[name].append((now, value))
    return changes, (timescale.group(1).replace(" ", "") if timescale else "")


def make_elf(path, elf_class=2, machine=183, paddr=0x40080000):
    """A minimal ELF with one PT_LOAD segment of 4 bytes (an AArch64 `b .`)."""
    code = struct.pack("<I", 0x14000000)
    header = b"\x7fELF" + bytes([elf_class, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, paddr, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    program = struct.pack("<IIQQQQQQ", 1, 5, 120, paddr, paddr, len(code), len(code), 4096)
    with open(path, "wb") as file:
        file.write(header + program + code)


def check_usage_error(command, text):
    code, out, err = run(command)
    lines = err.splitlines()
    if code != 2 or out or len(lines) != 1 or text not in lines[0] or not lines[0].startswith("smmuv3-vp: "):
        fail("want exit 2, no stdout, one stderr line with '%s'; got exit %d, stdout %r, stderr %r"
             % (text, code, out, err))


def main():
    mode, vp, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory() as directory:
        if mode == "usage-error":
            check_usage_error([vp] + args[1:], args[0])
        elif mode == "bad-elves":
            cases = [({"elf_class": 1}, "is not a little-endian ELF64 file"),
                     ({"machine": 62}, "is not an AArch64 ELF (e_machine 62)"),
                     ({"paddr": 0x1000}, "firmware segment at 0x1000 (0x4 bytes) lies outside RAM"),
                     ({"paddr": 0x80000000}, "lies outside RAM")]
            for fields, text in cases:
                path = os.path.join(directory, "bad.elf")
                make_elf(path, **fields)
                check_usage_error([vp, "--firmware", path], text)
            # The same generator with good fields must load and run (it spins until the time limit).
            make_elf(os.path.join(directory, "good.elf"))
            code, _, err = run([vp, "--firmware", os.path.join(directory, "good.elf"), "--max-sim-time", "10us"])
            if code != 120:
                fail("the well-formed generated ELF did not run to the time limit: exit %d\n%s" % (code, err))
        elif mode == "stats":
            stats, instructions, _, _ = stats_of(vp, args[0], [], directory, "stats.json")
            if stats.get("cpu.instructions") != instructions or instructions <= 0:
                fail("cpu.instructions %r differs from the summary line's %d" % (stats.get("cpu.instructions"),
                                                                                 instructions))
            if stats.get("platform.exit_status") != 0 or stats.get("uart.bytes_transmitted", 0) <= 0:
                fail("platform.exit_status or uart.bytes_transmitted wrong: %r" % stats)
        elif mode == "stats-deterministic":
            first = stats_of(vp, args[0], [], directory, "a.json")
            second = stats_of(vp, args[0], [], directory, "b.json")
            if first[3] != second[3]:
                a, b = first[3].split("\n"), second[3].split("\n")
                where = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                fail("two runs give different statistics outside host, line %d:\n%s\n%s" % (
                    where + 1, a[where] if where < len(a) else "", b[where] if where < len(b) else ""))
            stats = first[0]
            histograms = [name for name, value in stats.items() if name != "host" and isinstance(value, dict)]
            for needed in ["smmu.stall.residency_ps", "smmu.engine.walk.steps.s1.level3", "cpu.instructions",
                           "platform.sim_time_ps", "smmu.engine.tlb.hits", "smmu.config_cache.misses",
                           "smmu.cmd.SYNC", "dma.bytes"]:
                if needed not in stats:
                    fail("no statistic %s" % needed)
            if not histograms:
                fail("no histogram in the statistics")
            walked = sum(stats["smmu.engine.walk.steps.s%d.level%d" % (s, l)] for s in (1, 2) for l in range(4))
            if walked != stats["smmu.engine.walk.mem_reads.s1"] + stats["smmu.engine.walk.mem_reads.s2"] or \
                    walked == 0:
                fail("walk steps per level (%d in all) do not add up to the descriptor reads" % walked)
            if stats["platform.sim_time_ps"] <= 0 or stats["cpu.instructions"] <= 0:
                fail("no simulated time or no instructions")
        elif mode == "deterministic":
            waves = [os.path.join(directory, name) for name in ("a.vcd", "b.vcd")]
            first = stats_of(vp, args[0], ["--vcd", waves[0]], directory, "a.json")
            second = stats_of(vp, args[0], ["--vcd", waves[1]], directory, "b.json")
            if first[3] != second[3] or first[2] != second[2]:
                fail("two runs differ:\n%s\n%s" % (first[3], second[3]))
            with open(waves[0], "rb") as a, open(waves[1], "rb") as b:
                if a.read() != b.read():
                    fail("two runs wrote different VCD files")
            plain = stats_of(vp, args[0], [], directory, "c.json")
            if plain[3] != first[3]:
                fail("--vcd changed the statistics:\n%s\n%s" % (plain[3], first[3]))
        elif mode == "vcd":
            path = os.path.join(directory, "waves.vcd")
            code, _, err = run([vp, "--firmware", args[0], "--vcd", path])
            summary(err)
            if code != 0 or not os.path.exists(path):
                fail("no VCD written (exit %d)\n%s" % (code, err))
            with open(path) as file:
                text = file.read()
            for needed in ("$enddefinitions", "cpu_irq", "uart_irq", "wfi"):
                if needed not in text:
                    fail("VCD lacks '%s'" % needed)
        elif mode == "vcd-trace":
            waves, trace = os.path.join(directory, "w.vcd"), os.path.join(directory, "t.txt")
            code, _, err = run([vp, "--firmware", args[0], "--vcd", waves, "--trace", trace])
            if code != 0:
                fail("exit %d\n%s" % (code, err))
            changes, timescale = read_vcd(waves)
            if timescale != "1ps":
                fail("VCD timescale %r, want 1 ps" % timescale)
            vcd_prod = set(changes["smmu.cmdq_prod"])
            writes = []
            with open(trace) as file:
                for line in file:
                    found = re.match(r"^(\d+) ps smmu: write CMDQ_PROD = (0x[0-9a-f]+)", line)
                    if found:
                        writes.append((int(found.group(1)), int(found.group(2), 16)))
            if len(writes) < 10:
                fail("only %d CMDQ_PROD writes in the trace" % len(writes))
            # A write of the value the register already holds is no value change.
            changing = [w for i, w in enumerate(writes) if w[1] != (writes[i - 1][1] if i else 0)]
            missing = [w for w in changing if w not in vcd_prod]
            if missing:
                fail("%d of %d CMDQ_PROD writes are not a VCD change at their time, first (ps, value) %r; VCD "
                     "has %r" % (len(missing), len(writes), missing[0], sorted(vcd_prod)[:8]))
        elif mode == "exact-stop":
            code, out, err = run([vp, "--firmware", args[0], "--max-sim-time", "1ps"])
            if code != 120 or out:
                fail("--max-sim-time 1ps: want exit 120 and no output, got exit %d, stdout %r" % (code, out))
            found = re.search(r"simulated time ([0-9.]+) (\w+)", err)
            if not found or found.group(2) != "ns" or float(found.group(1)) > 0.001:
                fail("--max-sim-time 1ps: summary time is not <= 1 ps: %r" % err)
            full = run([vp, "--firmware", args[0]])[1]
            code, out, err = run([vp, "--firmware", args[0], "--max-sim-time", "10us"])
            found = re.search(r"simulated time ([0-9.]+) us", err)
            if code != 120 or not found or float(found.group(1)) > 10.0:
                fail("--max-sim-time 10us: want exit 120 at <= 10 us, got %d: %r" % (code, err))
            if not full.startswith(out) or out == full:
                fail("--max-sim-time 10us: the output must be a strict prefix of the whole run's: %r" % out)
        elif mode == "sigterm":
            waves, stats = os.path.join(directory, "w.vcd"), os.path.join(directory, "s.json")
            process = subprocess.Popen([vp, "--firmware", args[0], "--vcd", waves, "--stats", stats],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       stdin=subprocess.DEVNULL)
            time.sleep(1.0)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
            if process.returncode != 143 or "exit status 143 (interrupted by SIGTERM)" not in err:
                fail("want exit 143 and the summary, got %d: %r" % (process.returncode, err))
            summary(err)
            with open(stats) as file:
                values = json.load(file)
            check_shape(values)
            if values.get("platform.exit_status") != 143 or values.get("cpu.instructions", 0) <= 0:
                fail("statistics after SIGTERM: %r" % values)
            changes, _ = read_vcd(waves)
            if "cpu.wfi" not in changes:
                fail("VCD after SIGTERM lacks cpu.wfi")
        elif mode == "quantum-override":
            # Runs also end at device accesses and events, so compare against runs with each quantum alone.
            both, _, _, _ = stats_of(vp, args[0], ["--config", args[1], "--quantum", "2000"], directory, "a.json")
            cli, _, _, _ = stats_of(vp, args[0], ["--quantum", "2000"], directory, "b.json")
            cfg, _, _, _ = stats_of(vp, args[0], ["--config", args[1]], directory, "c.json")
            if both["cpu.quanta"] != cli["cpu.quanta"] or both["cpu.quanta"] == cfg["cpu.quanta"]:
                fail("cpu.quanta %d with --config and --quantum 2000, %d with --quantum 2000 alone, %d with "
                     "the config alone: the command line must win" % (both["cpu.quanta"], cli["cpu.quanta"],
                                                                     cfg["cpu.quanta"]))
        elif mode == "uart-file":
            config = os.path.join(directory, "uart.cfg")
            copy = os.path.join(directory, "uart.txt")
            with open(config, "w") as file:
                file.write("uart.file = %s\n" % copy)
            code, out, err = run([vp, "--firmware", args[0], "--config", config])
            summary(err)
            with open(copy) as file:
                teed = file.read()
            if code != 0 or not out or teed != out:
                fail("uart.file content %r differs from stdout %r" % (teed, out))
        else:
            fail("unknown mode " + mode)


if __name__ == "__main__":
    main()
