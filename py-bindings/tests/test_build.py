"""ovakit.ova.build_ova, read back with Python's tarfile and ovakit itself; signing with a key
made by the openssl CLI."""

import os
import shutil
import subprocess
import tarfile

import pytest

import ovakit
from ovakit.ova import Ova, build_ova, vmdk_info


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk.raw"
    with open(path, "wb") as f:
        f.truncate(3 << 20)
        f.write(os.urandom(100_000))
    return path


def test_build_from_raw_disk(disk, tmp_path):
    out = tmp_path / "vm.ova"
    report = build_ova(disk, out, "vm", cpus=4, memory_mb=4096, properties={"hostname": "h1"})
    assert report.converted and report.capacity == 3 << 20
    assert report.bytes == out.stat().st_size
    with tarfile.open(out) as tar:
        assert tar.getnames() == list(report.entries)
        assert report.entries[0] == "vm.ovf" and report.entries[1] == "vm.mf"
        vmdk_name = report.entries[-1]
        (tmp_path / "x").mkdir()
        tar.extract(vmdk_name, tmp_path / "x")
    assert vmdk_info(tmp_path / "x" / vmdk_name).capacity == 3 << 20
    ova = Ova.open(out)
    assert ova.verify_manifest().ok
    assert not any(f.is_error for f in ova.descriptor.validate())
    assert [p.key for p in ova.properties] == ["hostname"]
    assert ova.systems[0].id


def test_build_errors(tmp_path, disk):
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"")
    with pytest.raises(ovakit.OvaError):
        build_ova(empty, tmp_path / "e.ova", "e")
    assert not (tmp_path / "e.ova").exists()
    with pytest.raises(ovakit.NotFoundError):
        build_ova(tmp_path / "absent.raw", tmp_path / "a.ova", "a")
    with pytest.raises(ValueError):
        build_ova(disk, tmp_path / "b.ova", "b", manifest="md5")
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key\n")
    with pytest.raises(ovakit.SignatureError) as info:
        build_ova(disk, tmp_path / "c.ova", "c", signing_key=bad_key)
    assert isinstance(info.value, ovakit.OvaError)
    assert not (tmp_path / "c.ova").exists()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_build_signed(disk, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=ovakit test"],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "signed.ova"
    report = build_ova(disk, out, "signed", signing_key=key, certificate=cert)
    assert "ovakit test" in report.signed_by
    ova = Ova.open(out)
    assert ova.certificate_entry.name == "signed.cert"
    report = ova.verify_signature(trust=cert)
    assert report.signature_valid and report.chain_trusted and "ovakit test" in report.subject
    # cross-check with the openssl CLI: the .cert signs the manifest with SHA256
    with tarfile.open(out) as tar:
        mf = tar.extractfile("signed.mf").read()
        line = tar.extractfile("signed.cert").read().decode().splitlines()[0]
    sig = bytes.fromhex(line.split("= ")[1].strip())
    (tmp_path / "sig").write_bytes(sig)
    (tmp_path / "mf").write_bytes(mf)
    pub = subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    (tmp_path / "pub.pem").write_bytes(pub)
    check = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "pub.pem"),
                            "-signature", str(tmp_path / "sig"), str(tmp_path / "mf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    # a repack drops the signature: verifying it then is a SignatureError
    ova.repack(tmp_path / "unsigned.ova")
    with pytest.raises(ovakit.SignatureError, match="not signed"):
        Ova.open(tmp_path / "unsigned.ova").verify_signature()


def test_a_controller_the_hardware_version_cannot_carry_needs_force(disk, tmp_path):
    out = tmp_path / "vm.ova"
    with pytest.raises(ovakit.OvaError, match="NVMe"):
        build_ova(disk, out, "vm", disk_controller="nvme", virtual_system_type="vmx-07")
    assert not out.exists()
    with pytest.raises(ovakit.OvaError, match="no hardware family"):
        build_ova(disk, out, "vm", virtual_system_type="foo", force=True)
    build_ova(disk, out, "vm", disk_controller="nvme", virtual_system_type="vmx-07", force=True)
    findings = Ova.open(out).descriptor.validate()
    assert "hardware-exceeds-virtual-system-type" in [f.code for f in findings]


def test_property_values_keep_newlines_and_tabs(disk, tmp_path):
    import xml.etree.ElementTree as ET

    out = tmp_path / "vm.ova"
    value = "line1\nline2\tx\ry"
    build_ova(disk, out, "vm", product="p", version="1", properties={"k": value})
    ovf = "{http://schemas.dmtf.org/ovf/envelope/1}"
    root = ET.fromstring(Ova.open(out).descriptor.xml)
    assert next(root.iter(ovf + "Property")).get(ovf + "value") == value
