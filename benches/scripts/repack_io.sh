#!/usr/bin/env bash
# `ova repack --manifest sha256` against the I/O floor, `cp && sync`, on the same generated
# package (default 2 GiB of random data, page cache warm), side by side, medians of ROUNDS runs:
#   - new output:       the output is removed (and synced away) before each run
#   - replacing output: the output of the previous run is still there and is replaced
# Both commands end with the data on disk (cp && sync; ova fsyncs before its rename).
# With PROFILE=1, one run of each ova case under `strace -c -f` is printed as well.
#
#   cargo build --release -p examples --bin ova
#   bash benches/scripts/repack_io.sh [SIZE_MIB] [ROUNDS]
#
# Environment: OVA_BIN (default target/release/ova), OVA_BENCH_DIR (default a temporary directory).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=benches/scripts/common.sh
source "$root/benches/scripts/common.sh"
ova="${OVA_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/ova}"
size_mib="${1:-2048}"
rounds="${2:-5}"
[ -x "$ova" ] || { echo "missing $ova: cargo build --release -p examples --bin ova" >&2; exit 2; }
work="${OVA_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work/src"
trap 'rm -rf "$work/src" "$work"/*.ova' EXIT

echo "==> generating a ${size_mib} MiB package in $work"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/src/disk1.vmdk"
cat > "$work/src/bench.ovf" <<OVF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="$(stat -c %s "$work/src/disk1.vmdk")"/>
  </References>
  <VirtualSystem ovf:id="vm1">
    <Info>vm</Info>
    <Name>bench</Name>
    <VirtualHardwareSection>
      <Info>hw</Info>
      <System>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-09</vssd:VirtualSystemType>
      </System>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
OVF
"$ova" pack "$work/src" "$work/in.ova" --manifest sha256 >/dev/null
rm -rf "$work/src"
sync
cat "$work/in.ova" > /dev/null

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'; }
cp_sync() { cp "$1" "$2" && sync; }
repack() { "$ova" repack "$1" "$2" --manifest sha256; }

declare -A runs
for i in $(seq "$rounds"); do
    rm -f "$work/cp.ova" "$work/out.ova"; sync
    runs[cp_new]+="$(secs cp_sync "$work/in.ova" "$work/cp.ova") "
    rm -f "$work/cp.ova"; sync
    runs[ova_new]+="$(secs repack "$work/in.ova" "$work/out.ova") "
    # the outputs of this round stay: the next runs replace them
    cp "$work/in.ova" "$work/cp.ova"; sync
    runs[cp_replace]+="$(secs cp_sync "$work/in.ova" "$work/cp.ova") "
    runs[ova_replace]+="$(secs repack "$work/in.ova" "$work/out.ova") "
done
med() { tr ' ' '\n' <<<"${runs[$1]}" | grep . | median; }
printf '%-22s %-40s %s\n' case runs median
for k in cp_new ova_new cp_replace ova_replace; do
    printf '%-22s %-40s %s\n' "$k" "${runs[$k]}" "$(med "$k")"
done
awk -v a="$(med ova_new)" -v b="$(med cp_new)" 'BEGIN { printf "new output:       ova repack / cp && sync = %.2f\n", a / b }'
awk -v a="$(med ova_replace)" -v b="$(med cp_replace)" 'BEGIN { printf "replacing output: ova repack / cp && sync = %.2f\n", a / b }'

if [ "${PROFILE:-0}" = 1 ] && command -v strace >/dev/null; then
    echo "==> strace -c -f, replacing an existing output"
    strace -c -f -o "$work/strace.txt" "$ova" repack "$work/in.ova" "$work/out.ova" --manifest sha256 >/dev/null
    head -20 "$work/strace.txt"
    rm -f "$work/out.ova"; sync
    echo "==> strace -c -f, new output"
    strace -c -f -o "$work/strace.txt" "$ova" repack "$work/in.ova" "$work/out.ova" --manifest sha256 >/dev/null
    head -20 "$work/strace.txt"
fi
