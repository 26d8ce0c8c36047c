#!/usr/bin/env bash
# Stream-optimized VMDK: ovakit vs qemu-img, side by side on one generated 2 GiB raw image.
#
#   bash benches/scripts/vmdk_compare.sh [SIZE_MIB]      (default 2048)
#
# Builds the `ova` binary in release mode, generates a reproducible raw image with a realistic
# mix of zero regions, text, structured binary and incompressible data (1 MiB extents; the
# same seed gives the same bytes), then times:
#   1. raw → stream-optimized VMDK: `ova vmdk convert` vs `qemu-img convert -O vmdk -o
#      subformat=streamOptimized`, and compares output sizes;
#   2. VMDK → raw: `ova vmdk convert` vs `qemu-img convert -O raw`;
#   3. raw → complete OVA: `ova build` vs qemu-img convert + descriptor + manifest
#      (sha256sum) + `tar --format=ustar`.
# Work files go to a temporary directory (BENCH_DIR to override), removed at the end;
# OVA_BIN=path skips the release build and uses that binary.
set -euo pipefail

size_mib="${1:-2048}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${BENCH_DIR:-$(mktemp -d)}"
trap 'rm -rf "$work"' EXIT
python="${OVAKIT_PYTHON:-python3}"

if [ -n "${OVA_BIN:-}" ]; then
    ova="$OVA_BIN"   # a prebuilt release `ova` binary
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
sync

echo "==> raw → stream-optimized VMDK"
t0=$(now); qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$work/disk.raw" "$work/qemu.vmdk"; t1=$(now)
q_conv=$(elapsed "$t0" "$t1")
t0=$(now); "$ova" vmdk convert "$work/disk.raw" "$work/ours.vmdk" 2>/dev/null; t1=$(now)
o_conv=$(elapsed "$t0" "$t1")
q_size=$(stat -c %s "$work/qemu.vmdk"); o_size=$(stat -c %s "$work/ours.vmdk")
echo "qemu-img: ${q_conv}s, ${q_size} bytes"
echo "ovakit:   ${o_conv}s, ${o_size} bytes"
echo "speed-up: $(ratio "$q_conv" "$o_conv")x   size ratio (ours/qemu): $(ratio "$o_size" "$q_size")"
qemu-img compare -q -f raw -F vmdk "$work/disk.raw" "$work/ours.vmdk" && echo "qemu-img compare: identical"

echo "==> stream-optimized VMDK → raw"
t0=$(now); qemu-img convert -f vmdk -O raw "$work/qemu.vmdk" "$work/back-qemu.raw"; t1=$(now)
q_read=$(elapsed "$t0" "$t1"); rm -f "$work/back-qemu.raw"
t0=$(now); "$ova" vmdk convert "$work/ours.vmdk" "$work/back-ours.raw" 2>/dev/null; t1=$(now)
o_read=$(elapsed "$t0" "$t1")
cmp -s "$work/disk.raw" "$work/back-ours.raw" && echo "round trip: identical"
rm -f "$work/back-ours.raw"
echo "qemu-img: ${q_read}s   ovakit: ${o_read}s   speed-up: $(ratio "$q_read" "$o_read")x"

echo "==> raw → complete OVA"
t0=$(now)
mkdir -p "$work/manual"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$work/disk.raw" "$work/manual/bench-disk1.vmdk"
vsize=$(stat -c %s "$work/manual/bench-disk1.vmdk"); cap=$(stat -c %s "$work/disk.raw")
cat > "$work/manual/bench.ovf" <<OVF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="bench-disk1.vmdk" ovf:id="file1" ovf:size="$vsize"/></References>
  <DiskSection><Info>disks</Info><Disk ovf:capacity="$cap" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <VirtualSystem ovf:id="bench"><Info>vm</Info></VirtualSystem>
</Envelope>
OVF
(cd "$work/manual" && for f in bench.ovf bench-disk1.vmdk; do
    echo "SHA256($f)= $(sha256sum "$f" | cut -d' ' -f1)"; done > bench.mf
 tar --format=ustar -cf "$work/manual.ova" bench.ovf bench.mf bench-disk1.vmdk)
t1=$(now); q_build=$(elapsed "$t0" "$t1")
t0=$(now); "$ova" build --disk "$work/disk.raw" --name bench -o "$work/ours.ova" 2>/dev/null; t1=$(now)
o_build=$(elapsed "$t0" "$t1")
echo "qemu-img + manual steps: ${q_build}s   ova build: ${o_build}s   speed-up: $(ratio "$q_build" "$o_build")x"
