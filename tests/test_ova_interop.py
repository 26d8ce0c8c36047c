"""Python's tarfile and GNU tar read what `ova` writes; the descriptor's header is the first block."""
import hashlib
import pathlib
import subprocess
import tarfile

import pytest

from conftest import have

OVF = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="{size}"/>
  </References>
  <DiskSection>
    <Info>disks</Info>
    <Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"/>
  </DiskSection>
  <VirtualSystem ovf:id="vm1">
    <Info>vm</Info>
    <Name>interop</Name>
    <VirtualHardwareSection>
      <Info>hw</Info>
      <System>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:ElementName>cpu</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""


def run(*args, check=True):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check)


@pytest.fixture
def packed(ova_bin, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    disk = bytes(range(256)) * 4001
    (src / "disk1.vmdk").write_bytes(disk)
    (src / "vm.ovf").write_text(OVF.format(size=len(disk)))
    out = tmp_path / "vm.ova"
    run(ova_bin, "pack", src, out)
    return out, disk


def first_block_is_descriptor(path: pathlib.Path) -> None:
    block = path.read_bytes()[:512]
    assert block[:6] == b"vm.ovf"
    assert block[156:157] == b"0"  # a regular file, not a pax 'x' or GNU 'L' header
    assert block[257:265] == b"ustar\x0000"


def test_tarfile_reads_pack_output(packed):
    out, disk = packed
    with tarfile.open(out) as t:
        members = t.getmembers()
        assert [m.name for m in members] == ["vm.ovf", "vm.mf", "disk1.vmdk"]
        assert all(m.isreg() and m.mode == 0o644 and m.uid == 0 and m.gid == 0 for m in members)
        assert all(not m.pax_headers for m in members)
        assert t.extractfile("disk1.vmdk").read() == disk
        mf = t.extractfile("vm.mf").read().decode()
    assert f"SHA256(disk1.vmdk)= {hashlib.sha256(disk).hexdigest()}\n" in mf
    first_block_is_descriptor(out)


@pytest.mark.skipif(not have("tar"), reason="GNU tar is not installed")
def test_gnu_tar_lists_and_extracts(packed, tmp_path):
    out, disk = packed
    listing = run("tar", "-tvf", out).stdout.splitlines()
    assert [line.split()[-1] for line in listing] == ["vm.ovf", "vm.mf", "disk1.vmdk"]
    dest = tmp_path / "x"
    dest.mkdir()
    run("tar", "-C", dest, "-xf", out)
    assert (dest / "disk1.vmdk").read_bytes() == disk


def test_repack_fixes_a_python_tarfile_package(ova_bin, packed, tmp_path):
    out, disk = packed
    # Re-tar with Python's default (pax) format, the way many build scripts do: a pax header
    # now precedes the descriptor, which `ova validate` must flag and `ova repack` must fix.
    x = tmp_path / "x"
    x.mkdir()
    with tarfile.open(out) as t:
        t.extractall(x, filter="data")
    bad = tmp_path / "bad.ova"
    with tarfile.open(bad, "w", format=tarfile.PAX_FORMAT) as t:
        for name in ["vm.ovf", "vm.mf", "disk1.vmdk"]:
            t.add(x / name, arcname=name)
    r = run(ova_bin, "validate", bad, "--json", check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "non-ustar-header-before-descriptor" in r.stdout
    fixed = tmp_path / "fixed.ova"
    run(ova_bin, "repack", bad, fixed, "--manifest", "sha1")
    assert run(ova_bin, "validate", fixed, check=False).returncode == 0
    first_block_is_descriptor(fixed)
    with tarfile.open(fixed) as t:
        mf = t.extractfile("vm.mf").read().decode()
    assert mf.startswith("SHA1(vm.ovf)= ")


def test_in_place_edit_still_reads(ova_bin, packed):
    out, disk = packed
    size = out.stat().st_size
    r = run(ova_bin, "edit", out, "--in-place", "--set-virtual-system-type", "vmx-07", "--cpus", "2")
    assert "in place" in r.stdout
    assert out.stat().st_size == size
    first_block_is_descriptor(out)
    with tarfile.open(out) as t:
        ovf = t.extractfile("vm.ovf").read().decode()
        assert "<vssd:VirtualSystemType>vmx-07</vssd:VirtualSystemType>" in ovf
        assert t.extractfile("disk1.vmdk").read() == disk
        mf = t.extractfile("vm.mf").read().decode()
    assert f"SHA256(vm.ovf)= {hashlib.sha256(ovf.encode()).hexdigest()}" in mf
    if have("tar"):
        run("tar", "-tvf", out)
    assert run(ova_bin, "manifest", "verify", out).returncode == 0
    assert run(ova_bin, "validate", out).returncode == 0


def test_exit_codes(ova_bin, tmp_path):
    missing = tmp_path / "nope.ova"
    assert run(ova_bin, "validate", missing, check=False).returncode == 2
    junk = tmp_path / "junk.ova"
    junk.write_bytes(b"not a tar" * 100)
    assert run(ova_bin, "info", junk, check=False).returncode == 2
    assert run(ova_bin, "repack", check=False).returncode == 2


def test_manifest_verify_from_a_pipe(ova_bin, packed):
    out, _ = packed
    data = out.read_bytes()
    ok = subprocess.run([str(ova_bin), "manifest", "verify", "-"], input=data, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    assert b"manifest verifies" in ok.stdout
    # Flip one byte of the disk: the pipe verifier reports the mismatch with both digests.
    bad = bytearray(data)
    bad[-1024 - 512 - 100] ^= 0xFF
    r = subprocess.run([str(ova_bin), "manifest", "verify", "-"], input=bytes(bad), capture_output=True)
    assert r.returncode == 1
    assert b"MISMATCH  disk1.vmdk" in r.stdout
