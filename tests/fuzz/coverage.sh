#!/bin/sh
# Line coverage of components/smmuv3/core/*.c reached by a corpus (default: the committed one), with clang's
# source-based coverage: builds tests/fuzz with -DVP_FUZZ_COVERAGE=ON in BUILD_DIR, replays the corpus once
# (-runs=0), and prints llvm-cov's per-file report and the total. `make fuzz-coverage` runs it.
#   tests/fuzz/coverage.sh BUILD_DIR [CORPUS_DIR...]
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: coverage.sh BUILD_DIR [CORPUS_DIR...]}
shift
[ $# -gt 0 ] || set -- "$here/corpus"
profdata=$(command -v llvm-profdata || command -v llvm-profdata-14 || true)
cov=$(command -v llvm-cov || command -v llvm-cov-14 || true)
if [ -z "$profdata" ] || [ -z "$cov" ]; then
    echo "coverage.sh: llvm-profdata / llvm-cov not found (Debian package llvm; run make deps)" >&2
    exit 1
fi
cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Fuzz -DVP_FUZZ_COVERAGE=ON >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target fuzz_smmu >/dev/null
rm -f "$build"/*.profraw
# One profile per process (%p): libFuzzer may fork for nothing here, but a stale merged file must not count.
LLVM_PROFILE_FILE="$build/fuzz-%p.profraw" "$build/fuzz_smmu" -runs=0 "$@" >/dev/null 2>&1
"$profdata" merge -sparse "$build"/*.profraw -o "$build/fuzz.profdata"
"$cov" report "$build/fuzz_smmu" -instr-profile="$build/fuzz.profdata" "$root"/components/smmuv3/core/*.c
"$cov" report "$build/fuzz_smmu" -instr-profile="$build/fuzz.profdata" "$root"/components/smmuv3/core/*.c |
    awk '/^TOTAL/ { print "fuzz-coverage: line coverage of components/smmuv3/core/*.c: " $(NF-3) }'
