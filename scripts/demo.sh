#!/usr/bin/env bash
# The main job, with no input: build the tools, write a small OVF descriptor and disk from
# scratch, pack them into an OVA, then inspect, validate, verify and edit it in place.
#
#   bash scripts/demo.sh            (work directory: a fresh temporary directory)
#   OVAKIT_DEMO_DIR=out bash scripts/demo.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
echo "==> building the ova tool"
cargo build --quiet -p examples --bin ova
ova="$target/debug/ova"

work="${OVAKIT_DEMO_DIR:-$(mktemp -d)}"
mkdir -p "$work/src"
echo "==> writing a sample package in $work/src"
# A 4 MiB disk image with some content (a real VMDK comes with `ova build` later).
head -c 4194304 /dev/zero > "$work/src/disk1.img"
printf 'ovakit demo disk\n' | dd of="$work/src/disk1.img" conv=notrunc status=none
disk_size=$(stat -c %s "$work/src/disk1.img")
cat > "$work/src/demo.ovf" <<OVF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:href="disk1.img" ovf:id="file1" ovf:size="$disk_size"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="4" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#monolithicFlat"/>
  </DiskSection>
  <VirtualSystem ovf:id="demo">
    <Info>A demo virtual machine</Info>
    <Name>demo</Name>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>2 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>1024MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>1024</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:ElementName>SCSI Controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:ElementName>Hard Disk 1</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
OVF

echo; echo "==> ova pack"
"$ova" pack "$work/src" "$work/demo.ova" --manifest sha256
echo; echo "==> ova info"
"$ova" info "$work/demo.ova"
echo; echo "==> ova validate"
"$ova" validate "$work/demo.ova"
echo; echo "==> ova manifest verify"
"$ova" manifest verify "$work/demo.ova"
echo; echo "==> ova edit --in-place --set-virtual-system-type vmx-07 --cpus 1"
"$ova" edit "$work/demo.ova" --in-place --set-virtual-system-type vmx-07 --cpus 1
"$ova" validate "$work/demo.ova"
"$ova" manifest verify "$work/demo.ova" >/dev/null
echo; echo "==> ova repack --manifest sha1"
"$ova" repack "$work/demo.ova" "$work/demo-sha1.ova" --manifest sha1
"$ova" validate "$work/demo-sha1.ova"
if command -v tar >/dev/null; then
    echo; echo "==> tar -tvf (GNU tar reads it; the descriptor is first)"
    tar -tvf "$work/demo-sha1.ova"
fi
echo; echo "demo OK: $work/demo.ova"
