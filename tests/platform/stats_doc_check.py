#!/usr/bin/env python3
"""Keeps docs/stats.md and the statistics of a real run in step.

    stats_doc_check.py check VP ELF DOC   every statistic of a run of ELF is documented in DOC, and every name
                                          DOC documents exists in that run
    stats_doc_check.py names VP ELF       prints the run's names as DOC lists them (to write or update DOC)

An endpoint's statistics are documented once, as `pcie.BB:DD.F.<name>`: a run's `pcie.00:02.0.<name>` stands
for it. DOC documents a name by starting a table row with it in backquotes (`| `name` | meaning |`); the host
figures are documented as `host.<name>`.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ENDPOINT = re.compile(r"^pcie\.[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\.")
DOC_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|")


def fail(message):
    print("stats_doc_check: " + message)
    sys.exit(1)


def run_names(vp, elf):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "stats.json")
        result = subprocess.run([vp, "--firmware", elf, "--stats", path], capture_output=True, text=True,
                                timeout=300, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            fail("the run failed (exit %d):\n%s" % (result.returncode, result.stderr))
        with open(path) as file:
            stats = json.load(file)
    names = set()
    for name, value in stats.items():
        if name == "host":
            names.update("host." + key for key in value)
        else:
            names.add(ENDPOINT.sub("pcie.BB:DD.F.", name))
    return names


def doc_names(path):
    names = []
    with open(path) as file:
        for line in file:
            found = DOC_ROW.match(line)
            if found and "." in found.group(1):
                names.append(found.group(1))
    repeated = sorted(set(n for n in names if names.count(n) > 1))
    if repeated:
        fail("%s documents these more than once: %s" % (path, ", ".join(repeated)))
    return set(names)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "names":
        for name in sorted(run_names(sys.argv[2], sys.argv[3])):
            print(name)
        return
    if len(sys.argv) != 5 or sys.argv[1] != "check":
        fail("usage: stats_doc_check.py check VP ELF DOC | names VP ELF")
    vp, elf, doc = sys.argv[2:]
    ran, documented = run_names(vp, elf), doc_names(doc)
    missing = sorted(ran - documented)
    stale = sorted(documented - ran)
    if missing:
        fail("%d statistics of the run are not in %s: %s" % (len(missing), doc, ", ".join(missing)))
    if stale:
        fail("%s documents %d names the run does not have: %s" % (doc, len(stale), ", ".join(stale)))
    print("stats_doc_check: %d statistics, all documented in %s" % (len(ran), os.path.basename(doc)))


if __name__ == "__main__":
    main()
