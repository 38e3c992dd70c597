#!/bin/bash
# Runs a command and checks its exit code and output. Used by ctest for firmware runs on the platform and on QEMU.
#   check-run.sh [--exit N] [--expect FILE] [--stderr-has TEXT]... [--timeout S] -- COMMAND ARGS...
# --expect FILE: every non-empty line of FILE must appear, whole and in the same order, among the lines the command
#                prints on stdout (other lines may come between them).
# --stderr-has TEXT: TEXT must occur somewhere in stderr (repeatable).
set -u
want_exit=0 expect="" timeout_s=120
stderr_has=()
while [ $# -gt 0 ]; do
    case "$1" in
    --exit) want_exit=$2; shift 2 ;;
    --expect) expect=$2; shift 2 ;;
    --stderr-has) stderr_has+=("$2"); shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "check-run: unknown option $1" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "check-run: no command" >&2; exit 2; }

out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
timeout "$timeout_s" "$@" >"$out" 2>"$err" </dev/null
rc=$?
fail=0
if [ "$rc" -ne "$want_exit" ]; then
    echo "check-run: exit code $rc, expected $want_exit"
    fail=1
fi
if [ -n "$expect" ]; then
    line_no=0
    # Walk the output once, consuming expected lines in order.
    mapfile -t want < <(grep -v '^[[:space:]]*$' "$expect")
    i=0
    while IFS= read -r line && [ "$i" -lt "${#want[@]}" ]; do
        line=${line%$'\r'}
        [ "$line" == "${want[$i]}" ] && i=$((i + 1))
        line_no=$((line_no + 1))
    done <"$out"
    if [ "$i" -lt "${#want[@]}" ]; then
        echo "check-run: expected line not found (in order): '${want[$i]}'"
        fail=1
    fi
fi
for text in "${stderr_has[@]+"${stderr_has[@]}"}"; do
    if ! grep -qF -- "$text" "$err"; then
        echo "check-run: stderr lacks '$text'"
        fail=1
    fi
done
if [ "$fail" -ne 0 ]; then
    echo "---- command: $*"
    echo "---- stdout:"; cat "$out"
    echo "---- stderr:"; cat "$err"
    exit 1
fi
exit 0
