#!/bin/sh
# Runs every benchmark of a Release build and collects their figures.
#   bench/run.sh BUILD_DIR [RESULTS_JSON]
# Each figure is printed as `name value unit` and all of them are written to RESULTS_JSON (default
# BUILD_DIR/results.json) as one flat JSON object {"name": value, ...}.
set -eu
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
build=${1:?usage: bench/run.sh BUILD_DIR [RESULTS_JSON]}
results=${2:-$build/results.json}
mkdir -p "$(dirname "$results")"
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT

# ISS speed through the whole platform: the platform's last stderr line carries the MIPS figure.
platform_mips() {
    fw=$build/sw/$1.elf
    line=$("$build/bin/smmuv3-vp" --firmware "$fw" 2>&1 >/dev/null | grep 'MIPS$' | tail -n 1)
    echo "$line" | sed -n 's/.* \([0-9][0-9.]*\) MIPS$/\1/p'
}
for pair in compute:bench_compute loadstore:bench_loadstore; do
    name=${pair%%:*} fw=${pair#*:}
    mips=$(platform_mips "$fw")
    [ -n "$mips" ] || { echo "bench: no MIPS figure from $fw" >&2; exit 1; }
    echo "iss.$name.mips $mips MIPS" >>"$figures"
done

# Poll latency (simulated ns from a DMA start to the CPU reading STATUS done) at the default quantum and at a
# quantum of one instruction: the two must be equal, since every device access is made at its own time.
for quantum in default 1; do
    set -- --firmware "$build/sw/bench_poll.elf"
    [ "$quantum" = default ] || set -- "$@" --quantum "$quantum"
    line=$("$build/bin/smmuv3-vp" "$@" 2>/dev/null | grep '^platform.poll_latency.ns ')
    [ -n "$line" ] || { echo "bench: no poll latency from bench_poll" >&2; exit 1; }
    [ "$quantum" = default ] || line=$(echo "$line" | sed "s/^platform.poll_latency.ns/platform.poll_latency_q$quantum.ns/")
    echo "$line" >>"$figures"
done

# Benchmark programs print their own `name value unit` lines.
for prog in "$build"/bin/bench_*; do
    [ -x "$prog" ] || continue
    "$prog" | grep -E '^[a-z0-9_.]+ [0-9.eE+-]+ [A-Za-z/%]+$' >>"$figures"
done

cat "$figures"
{
    printf '{'
    sep=''
    while read -r name value unit; do
        printf '%s"%s": %s' "$sep" "$name" "$value"
        sep=', '
    done <"$figures"
    printf '}\n'
} >"$results"
echo "bench: figures written to $results"
