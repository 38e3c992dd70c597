#!/usr/bin/env python3
"""Picks, from candidate inputs (e.g. what `make fuzz` found), the few that add the most line coverage of
components/smmuv3/core/*.c to the committed corpus: a greedy set cover over per-input llvm-cov line sets. It
prints the chosen files, best first, with the lines each adds; copy them to tests/fuzz/corpus/ by hand.

    tests/fuzz/pick_inputs.py COVERAGE_BUILD CANDIDATE_DIR [MAX]

COVERAGE_BUILD is a tests/fuzz build configured with -DVP_FUZZ_COVERAGE=ON (make fuzz-coverage leaves one in
build/fuzz-coverage). Candidates are best minimised first with libFuzzer's -merge=1 (see README.md)."""
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = sorted(glob.glob(os.path.join(HERE, "..", "..", "components", "smmuv3", "core", "*.c")))


def tool(name):
    for n in (name, name + "-14"):
        for d in os.environ.get("PATH", "").split(os.pathsep):
            if os.access(os.path.join(d, n), os.X_OK):
                return os.path.join(d, n)
    sys.exit(f"pick_inputs: {name} not found (Debian package llvm)")


def covered_lines(build, inputs):
    """The (file, line) pairs of the core that replaying `inputs` executes."""
    binary = os.path.join(build, "fuzz_smmu")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LLVM_PROFILE_FILE=os.path.join(tmp, "p-%p.profraw"))
        subprocess.run([binary, "-runs=0", *inputs], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        raws = glob.glob(os.path.join(tmp, "*.profraw"))
        if not raws:
            return set()
        prof = os.path.join(tmp, "all.profdata")
        subprocess.run([tool("llvm-profdata"), "merge", "-sparse", *raws, "-o", prof], check=True)
        lcov = subprocess.run([tool("llvm-cov"), "export", "-format=lcov", binary, "-instr-profile=" + prof, *CORE],
                              check=True, capture_output=True, text=True).stdout
    lines, current = set(), None
    for row in lcov.splitlines():
        if row.startswith("SF:"):
            current = os.path.basename(row[3:])
        elif row.startswith("DA:"):
            line, count = row[3:].split(",")[:2]
            if int(count) > 0:
                lines.add((current, int(line)))
    return lines


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    build, cand_dir = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    have = covered_lines(build, [os.path.join(HERE, "corpus")])
    cands = {}
    for path in sorted(glob.glob(os.path.join(cand_dir, "*"))):
        extra = covered_lines(build, [path]) - have
        if extra:
            cands[path] = extra
    print(f"corpus: {len(have)} core lines; {len(cands)} candidates add some")
    for _ in range(limit):
        if not cands:
            break
        best = max(cands, key=lambda p: (len(cands[p]), -os.path.getsize(p)))
        gain = cands.pop(best)
        files = sorted({name for name, _ in gain})
        print(f"{best}\t+{len(gain)} lines\t{os.path.getsize(best)} bytes\t{' '.join(files)}")
        have |= gain
        cands = {p: s - have for p, s in cands.items() if s - have}
    print(f"total: {len(have)} core lines")


if __name__ == "__main__":
    main()
