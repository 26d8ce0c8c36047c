"""ovakit.ova against archives written by Python's tarfile and digests computed by hashlib."""

import hashlib
import tarfile
import threading

import pytest

import ovakit
from ovakit.ova import Ova, format_manifest, parse_manifest, verify_manifest

from .ovakit_helpers import build_ova


def test_open_lists_entries_like_tarfile(small_ova):
    ova = Ova.open(small_ova)
    with tarfile.open(small_ova) as tar:
        members = tar.getmembers()
    assert [e.name for e in ova.entries] == [m.name for m in members]
    assert ova.names == [m.name for m in members]
    assert [e.size for e in ova.entries] == [m.size for m in members]
    assert [e.kind for e in ova.entries] == ["descriptor", "manifest", "file"]
    assert all(e.safe and e.entry_type == "regular" and e.problems == () for e in ova.entries)
    assert ova.descriptor_entry.name == "small.ovf"
    assert ova.manifest_entry.name == "small.mf"
    assert ova.certificate_entry is None
    assert ova.descriptor_first
    assert ova.size == small_ova.stat().st_size
    assert ova.end.zero_blocks >= 2
    assert str(ova.path) == str(small_ova)
    assert "small.ova" in repr(ova)


def test_read_entry_matches_tarfile(small_ova, descriptor):
    ova = Ova.open(small_ova)
    assert ova.read("small.ovf") == descriptor
    assert ova.read("disk1.vmdk") == b"\x01" * 5000
    with pytest.raises(KeyError):
        ova.read("nope.vmdk")
    with pytest.raises(ovakit.OvaError) as info:
        ova.read("disk1.vmdk", max_size=100)
    assert "disk1.vmdk" in str(info.value)


def test_manifest_view(small_ova, descriptor):
    m = Ova.open(small_ova).manifest
    assert len(m) == 2
    assert [line.name for line in m.lines] == ["small.ovf", "disk1.vmdk"]
    assert m.lines[0].algorithm == "SHA256"
    assert m.lines[0].digest == hashlib.sha256(descriptor).hexdigest()
    assert m.lines[0].variants == () and not m.lines[0].vmware_rejects
    assert m.bad_lines == () and not m.missing_final_newline


def test_verify_manifest_ok(small_ova):
    report = Ova.open(small_ova).verify_manifest()
    assert report.ok and bool(report)
    assert sorted(report.matched) == ["disk1.vmdk", "small.ovf"]
    assert report.manifest_name == "small.mf"
    assert report.problems == ()
    assert verify_manifest(small_ova).ok


def test_verify_manifest_lists_every_mismatch(tmp_path, descriptor):
    path = build_ova(
        tmp_path / "bad.ova",
        descriptor,
        {"a.vmdk": b"a" * 100, "b.vmdk": b"b" * 100},
        tamper={"a.vmdk": b"A" * 100, "b.vmdk": b"B" * 100},
    )
    with pytest.raises(ovakit.ManifestMismatchError) as info:
        Ova.open(path).verify_manifest()
    err = info.value
    assert isinstance(err, ovakit.OvaError)
    assert len(err.mismatches) == 2
    assert "a.vmdk" in err.mismatches[0] and "b.vmdk" in err.mismatches[1]
    assert hashlib.sha256(b"A" * 100).hexdigest() in str(err)
    assert [m.name for m in err.report.mismatched] == ["a.vmdk", "b.vmdk"]
    assert err.report.mismatched[0].actual == hashlib.sha256(b"A" * 100).hexdigest()
    assert err.report.mismatched[0].expected == hashlib.sha256(b"a" * 100).hexdigest()
    # the non-raising form returns the same report
    report = Ova.open(path).check_manifest()
    assert not report.ok and len(report.mismatched) == 2


def test_verify_without_manifest_is_an_ova_error(tmp_path, descriptor):
    path = build_ova(tmp_path / "nomf.ova", descriptor, {"d.vmdk": b"x"}, manifest=False)
    assert Ova.open(path).check_manifest() is None
    with pytest.raises(ovakit.OvaError, match="no manifest"):
        Ova.open(path).verify_manifest()


def test_missing_file_is_not_found(tmp_path):
    missing = tmp_path / "absent.ova"
    with pytest.raises(ovakit.NotFoundError) as info:
        Ova.open(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, ovakit.OvakitError)
    assert info.value.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        verify_manifest(missing)


def test_corrupt_archive_is_an_ova_error(tmp_path):
    junk = tmp_path / "junk.ova"
    junk.write_bytes(b"this is not a tar archive at all" * 40)
    try:
        Ova.open(junk)
    except ovakit.OvakitError as err:
        assert type(err) is ovakit.OvaError
        assert "header" in str(err)
    else:
        pytest.fail("a corrupt archive was accepted")


def test_truncated_archive_is_an_ova_error(small_ova, tmp_path):
    cut = tmp_path / "cut.ova"
    cut.write_bytes(small_ova.read_bytes()[:3000])
    with pytest.raises(ovakit.OvaError, match="truncated"):
        verify_manifest(cut)


def test_parse_and_format_manifest():
    digest = hashlib.sha256(b"").hexdigest()
    text = format_manifest([("a.ovf", digest), ("b.vmdk", hashlib.sha256(b"").digest())])
    assert text == f"SHA256(a.ovf)= {digest}\nSHA256(b.vmdk)= {digest}\n"
    sha1 = format_manifest([("a.ovf", hashlib.sha1(b"").digest())], algorithm="sha1")
    assert sha1.startswith("SHA1(a.ovf)= ")
    m = parse_manifest(f"SHA256 (a.ovf) = {digest}\r\ngarbage line\n".encode())
    assert m.lines[0].vmware_rejects
    assert "crlf" in m.lines[0].variants and "space_before_paren" in m.lines[0].variants
    assert m.bad_lines[0].line == 2 and m.bad_lines[0].text == "garbage line"
    with pytest.raises(ValueError):
        format_manifest([("a.ovf", "abcd")])
    with pytest.raises(ValueError):
        format_manifest([("a.ovf", digest)], algorithm="md5")


def test_progress_reports_every_byte(big_ova):
    ticks = []
    Ova.open(big_ova).verify_manifest(progress=lambda done, total: ticks.append((done, total)))
    assert len(ticks) >= 48
    assert [d for d, _ in ticks] == sorted(d for d, _ in ticks)
    hashed = ticks[-1][0]
    ova = Ova.open(big_ova)
    assert hashed == sum(e.size for e in ova.entries if e.kind != "manifest")
    assert ticks[-1][1] == big_ova.stat().st_size


def test_exception_in_progress_cancels(big_ova):
    class Stop(Exception):
        pass

    calls = []

    def progress(done, total):
        calls.append(done)
        if len(calls) == 3:
            raise Stop("enough")

    with pytest.raises(Stop, match="enough"):
        verify_manifest(big_ova, progress=progress)
    assert len(calls) == 3


def test_gil_is_released_during_verify(big_ova, tmp_path):
    """A second Python thread makes progress while the Rust code runs.

    The package is fed through a named pipe by a Python thread, chunk by chunk, while the main
    thread is inside ``verify_manifest``: were the GIL held during the call, the writer could
    never run and the call could never finish (faulthandler ends the run after 120 s in that
    case instead of hanging).
    """
    import faulthandler
    import os

    fifo = tmp_path / "pipe.ova"
    os.mkfifo(fifo)
    data = big_ova.read_bytes()
    chunks = []

    def writer():
        with open(fifo, "wb") as out:
            for start in range(0, len(data), 1 << 20):
                out.write(data[start : start + (1 << 20)])
                out.flush()
                chunks.append(start)

    ticks = []
    worker = threading.Thread(target=writer)
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        worker.start()
        report = verify_manifest(fifo, progress=lambda done, total: ticks.append(len(chunks)))
    finally:
        worker.join()
        faulthandler.cancel_dump_traceback_later()
    assert report.ok
    assert len(chunks) == (len(data) + (1 << 20) - 1) >> 20
    # progress was reported while the writer was still writing
    assert len(ticks) >= 48
    assert ticks[0] < len(chunks)
    assert len(set(ticks)) > 1


def test_keyboard_interrupt_stops_verify(big_ova, tmp_path, sigint_raises):
    """Ctrl-C while the Rust code runs (no Python code in between) raises KeyboardInterrupt.

    A writer thread feeds the package through a named pipe; after the first megabyte it sends
    the interrupt and then trickles the rest. The extension must notice the pending signal by
    itself (the progress callback is C code, which never runs signal handlers) and stop long
    before the writer is done.
    """
    import _thread
    import faulthandler
    import os

    fifo = tmp_path / "pipe.ova"
    os.mkfifo(fifo)
    data = big_ova.read_bytes()
    stopped = threading.Event()
    written = []

    def writer():
        try:
            with open(fifo, "wb") as out:
                out.write(data[: 1 << 20])
                out.flush()
                _thread.interrupt_main()
                for start in range(1 << 20, len(data), 64 << 10):
                    if stopped.is_set():
                        return
                    out.write(data[start : start + (64 << 10)])
                    out.flush()
                    written.append(start)
                    stopped.wait(0.01)
        except BrokenPipeError:
            pass

    ticks = {}
    worker = threading.Thread(target=writer)
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        worker.start()
        with pytest.raises(KeyboardInterrupt):
            verify_manifest(fifo, progress=ticks.__setitem__)
    finally:
        stopped.set()
        worker.join()
        faulthandler.cancel_dump_traceback_later()
    assert written and written[-1] + (64 << 10) < len(data)
