#!/usr/bin/env bash
# Instructions per signed CloudStack call against the simulator, client and simulator apart, for
# this checkout and optionally a baseline commit built the same way: a load-independent companion
# to `cargo bench -p benches --bench cloudstack` (whose calls/s move with whatever else the machine
# runs).
#
#   bash benches/scripts/cloudstack_instructions.sh [BASELINE_COMMIT]
#
# Runs benches/examples/cloudstack_calls.rs (CALLS signed listZones calls, client on the main
# thread, simulator on its own threads) under valgrind's callgrind, once with CALLS and once with
# 2*CALLS calls, and prints (Ir(2*CALLS) - Ir(CALLS)) / CALLS: start-up cancels out. The client is
# the main thread, the simulator every other thread. With BASELINE_COMMIT, that commit is checked
# out as a detached git worktree under the work directory (removed once built), given the same
# example file, built with the same profile (bench) and measured the same way.
# `callgrind_annotate <work>/<label>-<calls>.out.<pid>-01` shows where the client's instructions go.
#
# Environment: CALLS (default 300), CS_BENCH_DIR (work directory, default target/cs-instructions),
# CARGO_TARGET_DIR (this checkout's build folder).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CARGO_INCREMENTAL=0
calls="${CALLS:-300}"
work="${CS_BENCH_DIR:-$root/target/cs-instructions}"
mkdir -p "$work"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }

build() { # CHECKOUT TARGET_DIR: the example's path
    (cd "$1" && CARGO_TARGET_DIR="$2" cargo build --quiet --profile bench -p benches --example cloudstack_calls)
    echo "$2/release/examples/cloudstack_calls"
}

# instructions of one run: "<client> <simulator>" (main thread, all other threads)
count() { # BINARY LABEL CALLS
    local out="$work/$2-$3.out"
    rm -f "$out".*
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out.%p" "$1" "$3" \
        >/dev/null 2>"$work/$2-$3.log"
    local client=0 sim=0 f ir
    for f in "$out".*; do
        ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p; s/^totals: \([0-9]*\).*/\1/p' "$f" | head -n 1)
        case "$f" in
            *-01) client=$((client + ir)) ;;
            *) sim=$((sim + ir)) ;;
        esac
    done
    echo "$client $sim"
}

measure() { # BINARY LABEL
    local a b
    read -r -a a <<<"$(count "$1" "$2" "$calls")"
    read -r -a b <<<"$(count "$1" "$2" $((2 * calls)))"
    printf '%-10s %14d %14d %14d\n' "$2" $(((b[0] - a[0]) / calls)) $(((b[1] - a[1]) / calls)) \
        $(((b[0] + b[1] - a[0] - a[1]) / calls))
}

bins=("$(build "$root" "${CARGO_TARGET_DIR:-$root/target}")")
labels=(current)
if [ $# -ge 1 ]; then
    base="$work/baseline-$1"
    [ -d "$base" ] || git -C "$root" worktree add --detach "$base" "$1" >/dev/null
    mkdir -p "$base/benches/examples"
    cp "$root/benches/examples/cloudstack_calls.rs" "$base/benches/examples/"
    bins=("$(build "$base" "$work/baseline-target")" "${bins[@]}")
    git -C "$root" worktree remove --force "$base" # the build stays in baseline-target
    labels=("$1" current)
fi
echo "instructions per signed listZones call (callgrind, $calls and $((2 * calls)) calls)"
printf '%-10s %14s %14s %14s\n' build client simulator total
for i in "${!bins[@]}"; do measure "${bins[$i]}" "${labels[$i]}"; done
