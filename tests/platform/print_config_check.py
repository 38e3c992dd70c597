#!/usr/bin/env python3
"""--print-config: the printed configuration, read back with --config, prints the same again; the values set in a
file and with --set show in it; every key --help lists appears (as a value or an unset comment)."""
import os
import re
import subprocess
import sys
import tempfile


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(args)} exited {r.returncode}: {r.stderr}")
    return r.stdout


def main():
    vp = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, "base.cfg")
        with open(base, "w") as f:
            f.write("cpu.quantum = 777\nsmmu.tlb.policy = fifo\npcie.endpoint = edu 00:04.0\n")
        sets = ["cpu.ns_per_insn=0.3", "smmu.atc_inv_timeout=1500ns", "pcie.rid_map=0x8 8 0x100",
                "pcie.endpoint=testengine 00:05.0 stop_marker=0 frames=2", "cpu.alias=0x100000000 0x40000000 64K",
                "smmu.stall_max=4", "ram.size=768M", "smmu.idr0=0x80d7e9b"]
        args = [vp, "--print-config", "--config", base]
        for s in sets:
            args += ["--set", s]
        first = run(args)
        expected = ["cpu.quantum = 777", "smmu.tlb.policy = fifo", "pcie.endpoint = edu 00:04.0",
                    "pcie.endpoint = testengine 00:05.0 stop_marker=0 frames=2", "cpu.ns_per_insn = 0.3",
                    "smmu.atc_inv_timeout = 1500ns", "pcie.rid_map = 0x8 8 0x100",
                    "cpu.alias = 0x100000000 0x40000000 0x10000", "smmu.stall_max = 4", "ram.size = 768M"]
        for line in expected:
            if line not in first.splitlines():
                fail(f"'{line}' missing from --print-config:\n{first}")
        printed = os.path.join(tmp, "printed.cfg")
        with open(printed, "w") as f:
            f.write(first)
        second = run([vp, "--print-config", "--config", printed])
        if second != first:
            fail("the configuration read back prints differently:\n" + first + "\n---\n" + second)
        help_text = run([vp, "--help"])
        keys = set(re.findall(r"^  ([a-z][a-z0-9_.]+) = ", help_text, re.M))
        shown = set(re.findall(r"^#? ?([a-z][a-z0-9_.]+) = ", first, re.M))
        if not keys or keys - shown:
            fail(f"keys of --help missing from --print-config: {sorted(keys - shown)}")
    print(f"print-config: {len(keys)} keys, round trip identical: ok")


if __name__ == "__main__":
    main()
