#!/usr/bin/env bash
# QCOW2 and VHD: ovakit vs qemu-img, side by side in one run on one generated 2 GiB raw image
# (the realistic mix of the VMDK bench: zeros, text, structured binary, random).
#
#   bash benches/scripts/disk_compare.sh [SIZE_MIB]      (default 2048)
#
# Times, each output checked by `qemu-img compare` against the raw image:
#   1. raw → QCOW2:            `ova disk convert`            vs `qemu-img convert -O qcow2`
#   2. raw → compressed QCOW2: `ova disk convert --compress` vs `qemu-img convert -c -O qcow2`
#   3. raw → dynamic VHD:      `ova disk convert --to vhd`   vs `qemu-img convert -O vpc -o subformat=dynamic`
#   4. OVA → QCOW2:            `ova convert`                 vs `tar -xf` + `qemu-img convert -O qcow2`
# and prints wall and CPU seconds and the ratios (time: qemu-img / ovakit, so > 1 means ovakit is
# faster; size: ovakit / qemu-img). CPU seconds tell more than wall time on a shared machine. Work files go to a temporary directory (BENCH_DIR to override), removed at the
# end; OVA_BIN=path skips the release build and uses that binary.
set -euo pipefail

size_mib="${1:-2048}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
python="${OVAKIT_PYTHON:-python3}"

if [ -n "${OVA_BIN:-}" ]; then
    ova="$OVA_BIN"
else
    echo "==> building ova (release)"
    (cd "$root" && cargo build --release --quiet -p examples --bin ova)
    ova="${CARGO_TARGET_DIR:-$root/target}/release/ova"
fi

echo "==> generating a ${size_mib} MiB raw image"
"$python" "$root/benches/scripts/realistic_disk.py" "$work/disk.raw" "$size_mib"

now() { date +%s.%N; }
elapsed() { "$python" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
ratio() { "$python" -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
size() { stat -c %s "$1"; }
sync

# Runs a command and prints "WALL CPU" (seconds; CPU = user + system of it and its children).
timed() {
    /usr/bin/time -o "$work/.time" -f "%e %U %S" "$@" >/dev/null 2>&1
    "$python" -c "import sys; w,u,s = map(float, sys.argv[1:4]); print(f'{w:.2f} {u + s:.2f}')" $(tail -1 "$work/.time")
}

# compare NAME FMT QEMU_OUT OVA_OUT QEMU_CMD... -- OVA_CMD...: runs qemu-img's side then ours,
# prints wall and CPU times, sizes and ratios, and checks our output with qemu-img compare.
# ovakit syncs its output to disk before renaming it into place; qemu-img leaves it in the page
# cache, so the time of `sync FILE` after it is shown too, and the speed-up is given both ways.
compare() {
    local name="$1" fmt="$2" q_out="$3" o_out="$4"; shift 4
    local q_cmd=() o_cmd=()
    while [ "$1" != "--" ]; do q_cmd+=("$1"); shift; done; shift
    o_cmd=("$@")
    echo "==> $name"
    sync
    read -r q_wall q_cpu < <(timed "${q_cmd[@]}")
    local t0 t1 q_sync
    t0=$(now); sync "$q_out"; t1=$(now); q_sync=$(elapsed "$t0" "$t1")
    sync
    read -r o_wall o_cpu < <(timed "${o_cmd[@]}")
    local q_total
    q_total=$("$python" -c "import sys; print(f'{float(sys.argv[1]) + float(sys.argv[2]):.2f}')" "$q_wall" "$q_sync")
    echo "qemu-img: ${q_wall}s (+ ${q_sync}s to sync its output), ${q_cpu} CPU-s, $(size "$q_out") bytes"
    echo "ovakit:   ${o_wall}s (output synced), ${o_cpu} CPU-s, $(size "$o_out") bytes"
    echo "speed-up: $(ratio "$q_wall" "$o_wall")x wall, $(ratio "$q_total" "$o_wall")x wall with qemu-img's sync, $(ratio "$q_cpu" "$o_cpu")x CPU   size ratio (ours/qemu): $(ratio "$(size "$o_out")" "$(size "$q_out")")"
    qemu-img compare -q -f raw -F "$fmt" "$work/disk.raw" "$o_out" && echo "qemu-img compare: identical"
    rm -f "$q_out" "$o_out"
}

compare "raw → QCOW2" qcow2 "$work/q.qcow2" "$work/o.qcow2" \
    qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/q.qcow2" -- \
    "$ova" disk convert "$work/disk.raw" "$work/o.qcow2"
compare "raw → compressed QCOW2" qcow2 "$work/qc.qcow2" "$work/oc.qcow2" \
    qemu-img convert -c -f raw -O qcow2 "$work/disk.raw" "$work/qc.qcow2" -- \
    "$ova" disk convert --compress "$work/disk.raw" "$work/oc.qcow2"
compare "raw → dynamic VHD" vpc "$work/q.vhd" "$work/o.vhd" \
    qemu-img convert -f raw -O vpc -o subformat=dynamic "$work/disk.raw" "$work/q.vhd" -- \
    "$ova" disk convert --to vhd "$work/disk.raw" "$work/o.vhd"

echo "==> building the OVA (not timed)"
"$ova" build --disk "$work/disk.raw" --name bench -o "$work/bench.ova" 2>/dev/null
compare "OVA → QCOW2 (tar -xf + qemu-img convert)" qcow2 "$work/qo.qcow2" "$work/oo.qcow2" \
    bash -c 'mkdir -p "$1/x" && tar -xf "$1/bench.ova" -C "$1/x" &&
             qemu-img convert -f vmdk -O qcow2 "$1/x/bench-disk1.vmdk" "$1/qo.qcow2" && rm -rf "$1/x"' \
        extract-and-convert "$work" -- \
    "$ova" convert "$work/bench.ova" --to qcow2 -o "$work/oo.qcow2"
