#!/usr/bin/env python3
"""Checks of the text trace (docs/trace.md) on real runs of the platform.

  trace_check.py pcie VP PCIE_TRACE_ELF   the Test Engine MEMCPY in SMMU bypass (sw/programs/pcie_trace): the
                                          expected steps appear in order; --trace-filter keeps only what it
                                          names; two runs give identical traces
  trace_check.py ats-pri VP SVA_PRI_ELF   an SVA run with I/O page faults: a fault round trip (ATC miss,
                                          Translation Request, the SMMU's answer without permission, Page
                                          Request routed to the PRI queue, the PRG Response (CMD_PRI_RESP) routed
                                          back, the retried translation filling the ATC, a translated access)
                                          appears in order
"""
import os
import re
import subprocess
import sys
import tempfile

LINE = re.compile(r"^(\d+) ps (\S+): (\S+)(?: (.*))?$")


def fail(message):
    print("trace_check: " + message)
    sys.exit(1)


def run(vp, elf, trace, extra=()):
    result = subprocess.run([vp, "--firmware", elf, "--trace", trace] + list(extra), capture_output=True, text=True,
                            timeout=600, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        fail("%s exited %d\n%s%s" % (os.path.basename(elf), result.returncode, result.stdout, result.stderr))
    with open(trace) as file:
        text = file.read()
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        found = LINE.match(line)
        if not found:
            fail("line %d is not '<ps> ps <component>: <kind> <fields>': %r" % (number, line))
        lines.append((int(found.group(1)), found.group(2), found.group(3), found.group(4) or ""))
    return text, lines


def expect_in_order(lines, steps, what):
    """Each step (component, kind, fields regex) must match a line after the previous step's line."""
    at = 0
    for component, kind, pattern in steps:
        while at < len(lines) and not (lines[at][1] == component and lines[at][2] == kind and
                                       re.search(pattern, lines[at][3])):
            at += 1
        if at == len(lines):
            fail("%s: no '%s: %s' matching %r after the previous step" % (what, component, kind, pattern))
        at += 1


def check_times(lines):
    """The file is sorted by simulated time."""
    for (before, _, _, _), (time, component, kind, _) in zip(lines, lines[1:]):
        if time < before:
            fail("%s: %s at %d ps after a line at %d ps" % (component, kind, time, before))


def check_pcie(vp, elf, directory):
    trace = os.path.join(directory, "a.txt")
    text, lines = run(vp, elf, trace)
    check_times(lines)
    # 00:02.0 is RID 0x10: with the default RID map its StreamID is 0x10.
    expect_in_order(lines, [
        ("marker", "write", r"^value=0x1 "),
        ("smmu", "write", r"^CR0 = 0x0$"),
        ("smmu", "write", r"^GBPA = 0x80000000$"),
        ("marker", "write", r"^value=0x2 "),
        ("pcie.00:02.0", "cmd_start", r"^frame=0 cmd=MEMCPY begin=0x[0-9a-f]+ end=0x[0-9a-f]+ stride=0x1 .*pasid=- ats=0"),
        ("pcie.00:02.0", "mem", r"at=untranslated .* dir=r pasid=-$"),
        ("smmu", "xlate", r"^sid=0x10 ssid=- .* dir=r at=untranslated result=ok pa=0x[0-9a-f]+ bypass$"),
        ("pcie.00:02.0", "mem", r"at=untranslated .* dir=w pasid=-$"),
        ("smmu", "xlate", r"^sid=0x10 ssid=- .* dir=w at=untranslated result=ok pa=0x[0-9a-f]+ bypass$"),
        ("pcie.00:02.0", "cmd_end", r"^frame=0 cmd=MEMCPY status=halted fault=0x0$"),
        ("marker", "write", r"^value=0x3 "),
    ], "pcie_trace")
    # 256 bytes in 64-byte transactions: 4 reads and 4 writes, each translated once.
    xlates = [l for l in lines if l[1] == "smmu" and l[2] == "xlate" and "sid=0x10 " in l[3]]
    if len(xlates) != 8:
        fail("pcie_trace: %d translations of StreamID 0x10, want 8 (4 reads, 4 writes of 64 bytes)" % len(xlates))

    again, _ = run(vp, elf, os.path.join(directory, "b.txt"))
    if again != text:
        fail("two runs gave different traces")

    _, only = run(vp, elf, os.path.join(directory, "f1.txt"),
                  ["--trace-filter", "pcie.00:02.0/cmd_start,pcie.00:02.0/cmd_end,marker"])
    kinds = sorted(set((c, k) for _, c, k, _ in only))
    if kinds != [("marker", "write"), ("pcie.00:02.0", "cmd_end"), ("pcie.00:02.0", "cmd_start")]:
        fail("--trace-filter pcie.00:02.0/cmd_start,pcie.00:02.0/cmd_end,marker kept %r" % kinds)
    if len(only) != 5:
        fail("--trace-filter kept %d lines, want 5 (3 markers, start, end)" % len(only))
    selected = [l for l in lines if l[1] == "marker" or (l[1] == "pcie.00:02.0" and l[2] in ("cmd_start", "cmd_end"))]
    if only != selected:
        fail("--trace-filter changed the lines it kept")

    _, without = run(vp, elf, os.path.join(directory, "f2.txt"), ["--trace-filter", "-smmu,-pcie.00:02.0/mem"])
    if any(c == "smmu" or (c == "pcie.00:02.0" and k == "mem") for _, c, k, _ in without):
        fail("--trace-filter -smmu,-pcie.00:02.0/mem kept an excluded line")
    if len(without) != len([l for l in lines if l[1] != "smmu" and not (l[1] == "pcie.00:02.0" and l[2] == "mem")]):
        fail("--trace-filter -smmu,-pcie.00:02.0/mem dropped lines it does not name")
    print("trace_check: pcie_trace: %d lines, steps in order, filters and repeat ok" % len(lines))


def check_ats_pri(vp, elf, directory):
    _, lines = run(vp, elf, os.path.join(directory, "sva.txt"))
    check_times(lines)
    ep = "pcie.00:02.0"
    expect_in_order(lines, [
        (ep, "cmd_start", r"cmd=\w+ .* pasid=0x[0-9a-f]+ ats=1 pri=1"),
        (ep, "atc", r"^miss addr=0x[0-9a-f]+ pasid=0x"),
        (ep, "ats_req", r"^tag=\d+ addr=0x[0-9a-f]+ pasid=0x"),
        ("smmu", "ats", r"^sid=0x10 ssid=0x[0-9a-f]+ .* status=SC out=0x[0-9a-f]+ size=2\^12 perm=$"),
        (ep, "ats_cpl", r"status=SC .* cached=0$"),
        (ep, "page_req", r"^addr=0x[0-9a-f]+ pasid=0x[0-9a-f]+ prgi=0x[0-9a-f]+ last=1"),
        ("pcie.rc", "msg_up", r"^msg=page_req from=00:02.0 sid=0x10$"),
        ("smmu", "pri", r"^request sid=0x10 .* prod=0x"),
        # The root complex routes the response inside the SMMU's send, before the SMMU's own line.
        ("pcie.rc", "msg_down", r"^msg=prg_resp sid=0x10 to=00:02.0$"),
        ("smmu", "pri", r"^response sid=0x10 ssid=0x[0-9a-f]+ prgi=0x[0-9a-f]+ resp=success$"),
        (ep, "prg_resp", r"^prgi=0x[0-9a-f]+ code=0x0$"),
        (ep, "ats_req", r""),
        ("smmu", "ats", r"status=SC out=0x[0-9a-f]+ size=2\^12 perm=rw"),
        (ep, "ats_cpl", r"status=SC .* cached=1$"),
        (ep, "atc", r"^hit "),
        (ep, "mem", r"at=translated "),
        ("smmu", "xlate", r"^sid=0x10 .* at=translated result=ok"),
        (ep, "cmd_end", r"status=halted"),
    ], "sva_pri")
    print("trace_check: sva_pri: %d lines, an I/O page fault round trip in order" % len(lines))


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("pcie", "ats-pri"):
        fail("usage: trace_check.py pcie|ats-pri VP ELF")
    mode, vp, elf = sys.argv[1:]
    with tempfile.TemporaryDirectory() as directory:
        if mode == "pcie":
            check_pcie(vp, elf, directory)
        else:
            check_ats_pri(vp, elf, directory)


if __name__ == "__main__":
    main()
