//! Helpers shared by the archive, manifest, repack and hostile-input tests.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use ova_core::manifest::Algorithm;
use ova_core::write::OvaWriter;
pub use test_support::ci;
pub use test_support::tools::{python, run};

/// A small OVF 1.x descriptor referencing `disk1.vmdk` of `disk_size` bytes and `extra.iso`.
pub fn descriptor(disk_size: u64, iso_size: u64) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="{disk_size}"/>
    <File ovf:href="extra.iso" ovf:id="file2" ovf:size="{iso_size}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network">
      <Description>The VM Network network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="vm1">
    <Info>A virtual machine</Info>
    <Name>sample</Name>
    <ProductSection>
      <Info>Product</Info>
      <Property ovf:key="hostname" ovf:type="string" ovf:value="localhost"/>
    </ProductSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>1 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>512MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>512</rasd:VirtualQuantity>
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
"#
    )
}

/// Deterministic pseudo-random bytes.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    test_support::data::xorshift32(len, u32::from(seed))
}

/// The files of the sample package: (descriptor, disk, iso).
pub fn sample_files(disk_len: usize, iso_len: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let disk = data(disk_len, 1);
    let iso = data(iso_len, 2);
    (
        descriptor(disk.len() as u64, iso.len() as u64).into_bytes(),
        disk,
        iso,
    )
}

/// A valid sample OVA with a SHA256 manifest (in memory).
pub fn sample_ova(disk_len: usize, iso_len: usize) -> Vec<u8> {
    let (d, disk, iso) = sample_files(disk_len, iso_len);
    let alg = Algorithm::Sha256;
    let mf = format!(
        "SHA256(sample.ovf)= {}\nSHA256(disk1.vmdk)= {}\nSHA256(extra.iso)= {}\n",
        hex::encode(alg.digest(&d)),
        hex::encode(alg.digest(&disk)),
        hex::encode(alg.digest(&iso))
    );
    let mut w = OvaWriter::new(Vec::new());
    w.add_descriptor("sample.ovf", &d).unwrap();
    w.add_manifest("sample.mf", mf.as_bytes()).unwrap();
    w.add_file("disk1.vmdk", disk.len() as u64, &disk[..], &[])
        .unwrap();
    w.add_file("extra.iso", iso.len() as u64, &iso[..], &[])
        .unwrap();
    w.finish().unwrap()
}

/// Write bytes to a fresh file in `dir`.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A reader returning at most `n` bytes per call (cycling 1..=max), for short-read tests.
pub struct ShortReader<R> {
    pub inner: R,
    pub max: usize,
    pub next: usize,
}

impl<R: Read> Read for ShortReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.next = self.next % self.max + 1;
        let n = self.next.min(buf.len());
        self.inner.read(&mut buf[..n])
    }
}

/// Skip (or fail under CI) with a message.
pub fn skip(why: &str) {
    assert!(!ci(), "required test dependency missing under CI: {why}");
    eprintln!("skipping: {why}");
}

/// Whether a command can be run.
pub fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
