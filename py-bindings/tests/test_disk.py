"""ovakit.disk: conversions between raw, VMDK, QCOW2 and VHD, judged by qemu-img where it is
installed, and the checks of damaged images."""

import os
import shutil
import subprocess

import pytest

import ovakit
from ovakit import disk
from ovakit.ova import build_ova

QEMU = shutil.which("qemu-img")


@pytest.fixture
def raw_disk(tmp_path):
    data = bytearray(5 << 20)
    data[0:65536] = os.urandom(65536)
    data[(2 << 20) + 512 : (3 << 20)] = b"ovakit " * (((1 << 20) - 512) // 7) + b"x" * (
        ((1 << 20) - 512) % 7
    )
    data[-100:] = b"\x5a" * 100
    path = tmp_path / "disk.raw"
    path.write_bytes(bytes(data))
    return path


def qemu(*args):
    out = subprocess.run(["qemu-img", *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.parametrize(
    "name,to,compress,fmt",
    [
        ("d.qcow2", None, False, "qcow2"),
        ("d-c.qcow2", "qcow2", True, "qcow2"),
        ("d.vhd", None, False, "vpc"),
        ("d.out", "vmdk", False, "vmdk"),
    ],
)
def test_convert_and_read_back(raw_disk, tmp_path, name, to, compress, fmt):
    out = tmp_path / name
    seen = []
    summary = disk.convert(
        raw_disk, out, to=to, compress=compress, progress=lambda done, total: seen.append((done, total))
    )
    assert summary.from_ == "raw"
    assert summary.bytes_written == out.stat().st_size
    assert seen and seen[-1] == (raw_disk.stat().st_size, raw_disk.stat().st_size)
    info = disk.info(out)
    assert info.format == {"vpc": "vhd"}.get(fmt, fmt)
    assert info.problems == ()
    back = tmp_path / (name + ".raw")
    disk.convert(out, back, to="raw")
    data = back.read_bytes()
    original = raw_disk.read_bytes()
    assert data[: len(original)] == original and not data[len(original) :].strip(b"\0")
    if QEMU:
        if fmt == "qcow2":  # qemu-img has no check for vpc or vmdk streams
            qemu("check", "-f", fmt, out)
        qemu("compare", "-f", "raw", "-F", fmt, raw_disk, out)


@pytest.mark.skipif(QEMU is None, reason="qemu-img is not installed")
def test_reads_what_qemu_img_writes(raw_disk, tmp_path):
    for name, args in [
        ("q.qcow2", ["-c", "-O", "qcow2"]),
        ("q.vhd", ["-O", "vpc", "-o", "subformat=dynamic"]),
    ]:
        image = tmp_path / name
        qemu("convert", "-f", "raw", *args, raw_disk, image)
        back = tmp_path / (name + ".raw")
        disk.convert(image, back, to="raw")
        data = back.read_bytes()
        original = raw_disk.read_bytes()
        assert data[: len(original)] == original and not data[len(original) :].strip(b"\0")


def test_convert_ova(raw_disk, tmp_path):
    ova = tmp_path / "app.ova"
    build_ova(raw_disk, ova, "app")
    out = tmp_path / "app.qcow2"
    result = disk.convert_ova(ova, out)
    assert result.disk.by_default and result.disk.format == "vmdk"
    assert result.summary.virtual_size == raw_disk.stat().st_size
    back = tmp_path / "back.raw"
    disk.convert(out, back, to="raw")
    assert back.read_bytes() == raw_disk.read_bytes()
    with pytest.raises(ovakit.OvaError):
        disk.convert_ova(ova, tmp_path / "x.qcow2", disk="nope")
    assert not (tmp_path / "x.qcow2").exists()


def test_errors(raw_disk, tmp_path):
    with pytest.raises(ValueError):
        disk.convert(raw_disk, tmp_path / "x.unknown")
    with pytest.raises(ValueError):
        disk.convert(raw_disk, tmp_path / "x.img", to="floppy")
    with pytest.raises(ovakit.OvaError):
        disk.convert(raw_disk, tmp_path / "x.vhd", compress=True)
    assert not (tmp_path / "x.vhd").exists()
    with pytest.raises(ovakit.NotFoundError):
        disk.convert(tmp_path / "absent.raw", tmp_path / "x.qcow2")
    # a QCOW2 whose refcount table lost its block
    image = tmp_path / "d.qcow2"
    disk.convert(raw_disk, image)
    data = bytearray(image.read_bytes())
    data[2 * 65536 : 2 * 65536 + 8] = bytes(8)
    image.write_bytes(bytes(data))
    with pytest.raises(ovakit.OvaError, match="refcount"):
        disk.info(image)
    with pytest.raises(ovakit.OvaError):
        disk.convert(image, tmp_path / "y.raw")
    assert not (tmp_path / "y.raw").exists()


def test_stop_from_progress_leaves_nothing(raw_disk, tmp_path):
    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop()

    with pytest.raises(Stop):
        disk.convert(raw_disk, tmp_path / "s.qcow2", progress=stop)
    assert list(tmp_path.glob("*s.qcow2*")) == []
