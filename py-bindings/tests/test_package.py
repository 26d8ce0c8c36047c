"""Package operations: validate, repack, in-place edit, extract, pack (cross-checked with
Python's tarfile and hashlib)."""

import hashlib
import tarfile
import xml.etree.ElementTree as ET

import pytest

import ovakit
from ovakit.ova import Ova, build_ova, pack

from .ovakit_helpers import build_ova as tar_ova

OVF = "{http://schemas.dmtf.org/ovf/envelope/1}"


@pytest.fixture
def built(tmp_path):
    disk = tmp_path / "disk.raw"
    with open(disk, "wb") as f:
        f.truncate(2 << 20)
        f.write(b"\x42" * 70_000)
    out = tmp_path / "vm.ova"
    build_ova(disk, out, "vm", properties={"hostname": "h1"})
    return out


def test_validate(built, tmp_path, descriptor):
    ticks = []
    assert not any(f.is_error for f in Ova.open(built).validate(progress=ticks.append))
    assert ticks
    bad = tar_ova(tmp_path / "bad.ova", descriptor, {"d.vmdk": b"a"}, tamper={"d.vmdk": b"b"})
    codes = {f.code for f in Ova.open(bad).validate()}
    assert "digest-mismatch" in codes


def test_repack_with_edits(built, tmp_path):
    out = tmp_path / "re.ova"
    report = Ova.open(built).repack(out, properties={"hostname": "h2"}, cpus=3, manifest="sha512")
    assert report.bytes == out.stat().st_size
    ova = Ova.open(out)
    assert ova.verify_manifest().ok
    assert ova.manifest.lines[0].algorithm == "SHA512"
    root = ET.fromstring(ova.read(ova.descriptor_entry.name))
    assert [p.get(OVF + "value") for p in root.iter(OVF + "Property")] == ["h2"]
    with tarfile.open(out) as tar:
        assert tar.getnames() == list(report.written)


def test_edit_in_place(built):
    before = built.stat().st_size
    report = Ova.edit_in_place(built, properties={"hostname": "h3"})
    assert report.bytes_written > 0
    assert built.stat().st_size == before
    ova = Ova.open(built)
    assert [p.value for p in ova.properties] == ["h3"]
    assert ova.verify_manifest().ok
    with pytest.raises(ovakit.OvfError):
        Ova.edit_in_place(built, properties={"nope": "x"})


def test_extract_and_pack(built, tmp_path):
    dest = tmp_path / "out"
    paths = Ova.open(built).extract(dest)
    with tarfile.open(built) as tar:
        for m in tar.getmembers():
            assert (dest / m.name).read_bytes() == tar.extractfile(m).read()
    assert sorted(p.name for p in map(__import__("pathlib").Path, paths)) == sorted(
        m for m in Ova.open(built).names
    )
    (dest / "vm.mf").unlink()
    repacked = tmp_path / "packed.ova"
    report = pack(dest, repacked)
    assert report.manifest == "vm.mf"
    ova = Ova.open(repacked)
    assert ova.verify_manifest().ok
    for e in ova.entries:
        if e.kind == "file":
            assert hashlib.sha256(ova.read(e.name)).digest() == hashlib.sha256(
                (dest / e.name).read_bytes()
            ).digest()


def test_unsafe_extract_and_bad_pack(tmp_path, descriptor):
    evil = tmp_path / "evil.ova"
    with tarfile.open(evil, "w", format=tarfile.USTAR_FORMAT) as tar:
        import io

        info = tarfile.TarInfo("evil.ovf")
        info.size = len(descriptor)
        tar.addfile(info, io.BytesIO(descriptor))
        link = tarfile.TarInfo("passwd")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(ovakit.OvaError, match="unsafe"):
        Ova.open(evil).extract(tmp_path / "x")
    assert not (tmp_path / "x" / "evil.ovf").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ovakit.OvaError):
        pack(empty, tmp_path / "e.ova")
    assert not (tmp_path / "e.ova").exists()
