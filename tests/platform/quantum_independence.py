#!/usr/bin/env python3
"""Runs one firmware program at several CPU quanta and checks that nothing a user reads depends on the quantum.

    quantum_independence.py VP ELF [--max-sim-time T] [--close-sim-time]

For --quantum 1, 100, 1000 and 50000 it compares the UART output (stdout), the exit status, the text trace (every
line with its time; lines of the same picosecond may come in another order, since independent requesters acting
at one simulated time are run by the kernel in an order the CPU's scheduling changes) and every statistic except the ones that count the CPU's own scheduling (cpu.quanta,
cpu.syncs) and the host-side figures (the `host` section: host seconds and MIPS). Times and latency histograms
are statistics too (platform.sim_time_ps, cpu.wfi_time_ps), so they must match exactly.
--close-sim-time also states the issue's weaker requirement on its own line: the simulated run time at 50000 is
within 10% of the time at 1.
"""
import json
import os
import subprocess
import sys
import tempfile

QUANTA = [1, 100, 1000, 50000]
# The CPU's own scheduling, which is what the quantum changes; and the host section (wall-clock time, MIPS),
# which differs even between two runs at the same quantum.
SCHEDULING_STATS = {"cpu.quanta", "cpu.syncs", "host"}


def fail(message):
    print("quantum_independence: " + message)
    sys.exit(1)


def run(vp, elf, quantum, extra, directory):
    stats = os.path.join(directory, "stats-%d.json" % quantum)
    trace = os.path.join(directory, "trace-%d.txt" % quantum)
    command = [vp, "--firmware", elf, "--quantum", str(quantum), "--stats", stats, "--trace", trace] + extra
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    with open(stats) as file:
        values = json.load(file)
    with open(trace) as file:
        # Sorted: the same lines at the same times, whatever the order within one picosecond.
        lines = sorted(file)
    return {"exit": result.returncode, "stdout": result.stdout, "trace": lines, "stats": values,
            "stderr": result.stderr}


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "line %d: %r against %r" % (i + 1, x, y)
    return "%d lines against %d" % (len(a), len(b))


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        fail("usage: quantum_independence.py VP ELF [--max-sim-time T] [--close-sim-time]")
    vp, elf, rest = args[0], args[1], args[2:]
    extra = []
    close_time = False
    while rest:
        if rest[0] == "--max-sim-time" and len(rest) > 1:
            extra += ["--max-sim-time", rest[1]]
            rest = rest[2:]
        elif rest[0] == "--close-sim-time":
            close_time = True
            rest = rest[1:]
        else:
            fail("unknown argument " + rest[0])
    with tempfile.TemporaryDirectory() as directory:
        runs = {q: run(vp, elf, q, extra, directory) for q in QUANTA}
    base = runs[QUANTA[0]]
    if base["exit"] in (2, 3, 4):
        fail("the run itself failed (exit %d):\n%s" % (base["exit"], base["stderr"]))
    for q in QUANTA[1:]:
        other = runs[q]
        where = "--quantum %d against --quantum %d" % (q, QUANTA[0])
        if other["exit"] != base["exit"]:
            fail("%s: exit %d against %d" % (where, other["exit"], base["exit"]))
        if other["stdout"] != base["stdout"]:
            fail("%s: UART output differs, %s" % (where, first_difference(other["stdout"].splitlines(),
                                                                          base["stdout"].splitlines())))
        if other["trace"] != base["trace"]:
            fail("%s: trace differs, %s" % (where, first_difference(other["trace"], base["trace"])))
        keys = (set(base["stats"]) | set(other["stats"])) - SCHEDULING_STATS
        differ = sorted(k for k in keys if base["stats"].get(k) != other["stats"].get(k))
        if differ:
            fail("%s: statistics differ: %s" % (where, ", ".join(
                "%s %s against %s" % (k, other["stats"].get(k), base["stats"].get(k)) for k in differ)))
    if close_time:
        t1 = base["stats"]["platform.sim_time_ps"]
        t50k = runs[50000]["stats"]["platform.sim_time_ps"]
        if abs(t50k - t1) > 0.1 * t1:
            fail("simulated time %d ps at --quantum 50000, %d ps at 1: more than 10%% apart" % (t50k, t1))
    print("quantum_independence: %s: exit %d, %d output lines, %d trace lines, %d statistics identical at "
          "quanta %s (%d ps simulated)" % (os.path.basename(elf), base["exit"], len(base["stdout"].splitlines()),
                                           len(base["trace"]), len(base["stats"]),
                                           ", ".join(map(str, QUANTA)), base["stats"]["platform.sim_time_ps"]))


if __name__ == "__main__":
    main()
