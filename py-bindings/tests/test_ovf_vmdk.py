"""ovakit.ova descriptor view, edits, validation and VMDK conversion (cross-checked with
xml.etree and qemu-img)."""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

import ovakit
from ovakit.ova import (
    Descriptor,
    Ova,
    detect_disk,
    raw_to_vmdk,
    validate_descriptor,
    vmdk_info,
    vmdk_to_raw,
)

from .ovakit_helpers import build_ova

OVF = "{http://schemas.dmtf.org/ovf/envelope/1}"


def test_descriptor_view_of_a_package(tmp_path, corpus):
    xml = (corpus / "ovf" / "cot" / "input.ovf").read_bytes()
    path = build_ova(tmp_path / "input.ova", xml, {"input.vmdk": b"v" * 10})
    ova = Ova.open(path)
    d = ova.descriptor
    assert d.xml == xml
    assert d.version == "1.x"
    root = ET.fromstring(xml)
    hrefs = [f.get(OVF + "href") for f in root.iter(OVF + "File")]
    assert [r.href for r in d.references] == hrefs
    assert [x.disk_id for x in ova.disks] == [
        x.get(OVF + "diskId") for x in root.iter(OVF + "Disk")
    ]
    assert [s.id for s in ova.systems] == ["test"]
    keys = [p.get(OVF + "key") for p in root.iter(OVF + "Property")]
    assert [p.key for p in ova.properties] == keys
    assert all(p.system == "test" for p in ova.properties)
    assert d.to_dict()["version"] == "1.x"
    assert "Descriptor(" in repr(d)


def test_descriptor_without_one_is_an_ova_error(tmp_path):
    path = tmp_path / "empty.ova"
    import tarfile

    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT):
        pass
    with pytest.raises(ovakit.OvaError, match="no ovf descriptor"):
        Ova.open(path).descriptor


def test_edit_changes_only_the_edited_text(corpus):
    xml = (corpus / "ovf" / "cot" / "input.ovf").read_bytes()
    d = Descriptor.parse(xml)
    edited = d.edit(properties={"hostname": "router-1"}, name="renamed")
    root = ET.fromstring(edited.xml)
    values = {p.get(OVF + "key"): p.get(OVF + "value") for p in root.iter(OVF + "Property")}
    assert values["hostname"] == "router-1"
    assert root.find(f"{OVF}VirtualSystem/{OVF}Name").text == "renamed"
    # everything before the first change is byte-identical
    first = next(i for i, (a, b) in enumerate(zip(xml, edited.xml)) if a != b)
    assert edited.xml[:first] == xml[:first] and first > 100
    assert d.xml == xml  # the original is unchanged


def test_edit_errors_are_ovf_errors(corpus):
    d = Descriptor.open(corpus / "ovf" / "cot" / "input.ovf")
    with pytest.raises(ovakit.OvfError):
        d.edit(properties={"no-such-key": "x"})
    with pytest.raises(ovakit.OvfError):
        d.edit(cpus=0)
    with pytest.raises(ovakit.OvakitError):
        d.edit(system="nope", memory_mib=512)


def test_parse_errors_are_ovf_errors():
    with pytest.raises(ovakit.OvfError):
        Descriptor.parse(b"<not-closed")
    with pytest.raises(ovakit.OvfError, match="(?i)envelope"):
        Descriptor.parse(b"<html/>")
    with pytest.raises(ovakit.NotFoundError):
        Descriptor.open("/nonexistent/x.ovf")


def test_validation_findings(corpus):
    dup = (corpus / "ovf" / "govmomi" / "invalid-ref_dup_id.ovf").read_bytes()
    findings = Descriptor.parse(dup).validate()
    assert any(f.code == "duplicate-file-id" and f.severity == "error" for f in findings)
    assert all(f.is_error == (f.severity == "error") for f in findings)
    assert [f.code for f in validate_descriptor(dup)] == [f.code for f in findings]
    junk = validate_descriptor(b"<<<")
    assert [(f.severity, f.code) for f in junk] == [("error", "xml-not-well-formed")]
    assert str(junk[0]).startswith("error[xml-not-well-formed]")


@pytest.fixture
def raw_disk(tmp_path):
    data = bytearray(3 << 20)
    data[0:65536] = os.urandom(65536)
    data[(2 << 20) + 512 : (2 << 20) + 1024] = b"\xab" * 512
    path = tmp_path / "disk.raw"
    path.write_bytes(bytes(data))
    return path


def test_vmdk_round_trip(raw_disk, tmp_path):
    vmdk = tmp_path / "disk.vmdk"
    summary = raw_to_vmdk(raw_disk, vmdk, digest="sha256")
    assert summary.capacity == raw_disk.stat().st_size
    assert summary.bytes_written == vmdk.stat().st_size
    import hashlib

    assert summary.digest == hashlib.sha256(vmdk.read_bytes()).hexdigest()
    assert detect_disk(vmdk) == "sparse_vmdk" and detect_disk(raw_disk) == "raw"
    info = vmdk_info(vmdk)
    assert info.capacity == raw_disk.stat().st_size
    assert info.problems == () and info.has_eos
    assert info.create_type == "streamOptimized"
    back = tmp_path / "back.raw"
    vmdk_to_raw(vmdk, back)
    assert back.read_bytes() == raw_disk.read_bytes()


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed")
def test_qemu_img_reads_our_vmdk(raw_disk, tmp_path):
    vmdk = tmp_path / "disk.vmdk"
    raw_to_vmdk(raw_disk, vmdk, adapter_type="ide")
    out = subprocess.run(
        ["qemu-img", "compare", "-f", "raw", "-F", "vmdk", str(raw_disk), str(vmdk)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert vmdk_info(vmdk).adapter_type == "ide"


def test_vmdk_errors(raw_disk, tmp_path):
    with pytest.raises(ovakit.OvaError):
        vmdk_info(raw_disk)
    with pytest.raises(ovakit.NotFoundError):
        raw_to_vmdk(tmp_path / "absent.raw", tmp_path / "x.vmdk")
    assert not (tmp_path / "x.vmdk").exists()
    with pytest.raises(ValueError):
        raw_to_vmdk(raw_disk, tmp_path / "x.vmdk", adapter_type="floppy")
    with pytest.raises(ovakit.OvaError):
        vmdk_to_raw(raw_disk, tmp_path / "y.raw")
    assert not (tmp_path / "y.raw").exists()


def test_a_downgrade_the_hardware_cannot_take_needs_force(corpus):
    # the Photon 5 appliance of the real-world corpus: vmx-15 with a SATA controller
    d = Descriptor.open(corpus.parent / "realworld" / "govmomi" / "photon5.ovf")
    with pytest.raises(ovakit.OvfError, match="SATA"):
        d.edit(virtual_system_type="vmx-07")
    forced = d.edit(virtual_system_type="vmx-07", force=True)
    assert "hardware-exceeds-virtual-system-type" in [f.code for f in forced.validate()]
    with pytest.raises(ovakit.OvfError, match="no hardware family"):
        d.edit(virtual_system_type="bogus", force=True)
    # the CPU item's generated name follows the count (read back by xml.etree)
    rasd = "{http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData}"
    root = ET.fromstring(d.edit(cpus=2).xml)
    cpu = next(i for i in root.iter(OVF + "Item") if i.find(rasd + "ResourceType").text == "3")
    assert cpu.find(rasd + "ElementName").text == "2 virtual CPU(s)"
