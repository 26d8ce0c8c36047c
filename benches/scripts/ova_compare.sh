#!/usr/bin/env bash
# Side-by-side timings on a generated OVA (default 2 GiB, page cache warm):
#   - `ova repack --manifest sha256` vs `cp` vs the manual tar x + sed + sha256sum + tar c sequence
#   - `ova manifest verify` (SHA256 and SHA1 packages) vs `openssl dgst -sha256|-sha1` and
#     `sha256sum` on the same disk bytes
#   - `ova edit --in-place` wall time
#
#   cargo build --release -p examples --bin ova
#   bash benches/scripts/ova_compare.sh [SIZE_MIB]
#
# Environment: OVA_BIN (default target/release/ova), OVA_BENCH_DIR (default a temporary directory).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ova="${OVA_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/ova}"
size_mib="${1:-2048}"
[ -x "$ova" ] || { echo "missing $ova: cargo build --release -p examples --bin ova" >&2; exit 2; }
work="${OVA_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"
trap 'rm -rf "$work/src" "$work/manual" "$work"/*.ova' EXIT

now() { date +%s.%N; }
# time_cmd LABEL CMD... : runs CMD, prints and records its wall time in seconds.
declare -A T
time_cmd() {
    local label="$1"; shift
    local t0 t1
    t0=$(now); "$@" >/dev/null; t1=$(now)
    T[$label]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    printf '%-34s %8.3f s\n' "$label" "${T[$label]}"
}
ratio() { awk -v a="${T[$1]}" -v b="${T[$2]}" 'BEGIN { printf "%.2f", a / b }'; }

echo "==> generating a ${size_mib} MiB package in $work"
mkdir -p "$work/src"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/src/disk1.vmdk"
disk_size=$(stat -c %s "$work/src/disk1.vmdk")
cat > "$work/src/bench.ovf" <<OVF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="$disk_size"/>
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
"$ova" pack "$work/src" "$work/in-sha1.ova" --manifest sha1 >/dev/null
# Warm the page cache.
cat "$work/in.ova" "$work/in-sha1.ova" "$work/src/disk1.vmdk" > /dev/null

echo "==> repack (edit + fresh SHA256 manifest)"
time_cmd "cp" cp "$work/in.ova" "$work/cp.ova"
rm -f "$work/cp.ova"; sync
time_cmd "ova repack --manifest sha256" "$ova" repack "$work/in.ova" "$work/out.ova" --manifest sha256 --set-virtual-system-type vmx-07
rm -f "$work/out.ova"; sync
manual() {
    rm -rf "$work/manual"; mkdir -p "$work/manual"; cd "$work/manual"
    tar xf "$work/in.ova"
    sed -i 's/vmx-09/vmx-07/' bench.ovf
    sha256sum bench.ovf disk1.vmdk | awk '{ printf "SHA256(%s)= %s\n", $2, $1 }' > bench.mf
    tar --format=ustar -cf "$work/manual.ova" bench.ovf bench.mf disk1.vmdk
    cd "$root"
}
time_cmd "manual tar x+sed+sha256sum+tar c" manual
rm -rf "$work/manual" "$work/manual.ova"; sync

echo "==> manifest verification (same bytes)"
time_cmd "openssl dgst -sha256" openssl dgst -sha256 "$work/src/disk1.vmdk"
time_cmd "sha256sum" sha256sum "$work/src/disk1.vmdk"
time_cmd "ova manifest verify (sha256)" "$ova" manifest verify "$work/in.ova"
time_cmd "openssl dgst -sha1" openssl dgst -sha1 "$work/src/disk1.vmdk"
time_cmd "ova manifest verify (sha1)" "$ova" manifest verify "$work/in-sha1.ova"

echo "==> in-place edit"
sync
for i in 1 2 3 4 5; do
    if [ $((i % 2)) = 1 ]; then v=vmx-07; else v=vmx-09; fi
    time_cmd "ova edit --in-place #$i" "$ova" edit "$work/in.ova" --in-place --set-virtual-system-type "$v"
done
T['ova edit --in-place']=$(for i in 1 2 3 4 5; do echo "${T["ova edit --in-place #$i"]}"; done | sort -n | sed -n 3p)
"$ova" manifest verify "$work/in.ova" >/dev/null

echo
echo "ratios (targets: repack/cp <= 1.3; verify throughput >= 0.9x openssl, i.e. time ratio <= 1.11):"
echo "  repack / cp                        $(ratio 'ova repack --manifest sha256' cp)"
echo "  manual sequence / repack           $(ratio 'manual tar x+sed+sha256sum+tar c' 'ova repack --manifest sha256')"
echo "  verify sha256 / openssl -sha256    $(ratio 'ova manifest verify (sha256)' 'openssl dgst -sha256')"
echo "  verify sha256 / sha256sum          $(ratio 'ova manifest verify (sha256)' sha256sum)"
echo "  verify sha1 / openssl -sha1        $(ratio 'ova manifest verify (sha1)' 'openssl dgst -sha1')"
echo "  in-place edit (median of 5)        ${T['ova edit --in-place']} s (target < 0.050 s)"
