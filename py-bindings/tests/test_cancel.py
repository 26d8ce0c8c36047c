"""Stopping long calls: an exception raised by a progress callback, Ctrl-C, or a CancelToken
cancelled from another thread stops repack, extract, pack, validate, build_ova and the VMDK
conversions at the next buffer. The exception raised is the one that propagates
(``CancelledError`` for a token); the output folder is left holding only what was there before,
byte for byte (no output, no temporary file)."""

import os
import threading
import time

import pytest

import ovakit
from ovakit import CancelledError, CancelToken
from ovakit.ova import Ova, build_ova, pack, raw_to_vmdk, verify_manifest, vmdk_to_raw

PRECIOUS = b"an existing file the user cares about\n"

DESCRIPTOR = b"""<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
    <File ovf:href="disk1.img" ovf:id="file1"/>
  </References>
  <VirtualSystem ovf:id="vm">
    <Info>A virtual machine</Info>
  </VirtualSystem>
</Envelope>
"""


class Stop(Exception):
    pass


class Raiser:
    """A progress callback that raises ``Stop`` on its first call and counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        raise Stop("enough")


def out_dir(tmp_path, name):
    """A folder holding one existing file ``name``."""
    out = tmp_path / "out"
    out.mkdir()
    existing = out / name
    existing.write_bytes(PRECIOUS)
    return out, existing


def untouched(out, existing):
    assert sorted(os.listdir(out)) == [existing.name]
    assert existing.read_bytes() == PRECIOUS


def sparse_disk(tmp_path):
    """A 4 GiB sparse raw disk: seconds of work for a build, no disk space."""
    disk = tmp_path / "disk.raw"
    with open(disk, "wb") as f:
        f.truncate(4 << 30)
    return disk


def once_writing(out, then):
    """A started thread that calls ``then()`` once a call has begun writing its temporary file
    into ``out`` (which already holds one file), or after 10 s."""

    def wait_then():
        deadline = time.monotonic() + 10
        while len(os.listdir(out)) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        then()

    thread = threading.Thread(target=wait_then)
    thread.start()
    return thread


def test_repack_stops_on_the_first_raise(big_ova, tmp_path):
    ticks = []
    Ova.open(big_ova).repack(tmp_path / "full.ova", progress=ticks.append)
    assert len(ticks) >= 48

    out, existing = out_dir(tmp_path, "new.ova")
    stop = Raiser()
    with pytest.raises(Stop, match="enough"):
        Ova.open(big_ova).repack(existing, progress=stop)
    assert stop.calls == 1
    untouched(out, existing)


def test_repack_over_itself_stops_and_keeps_the_package(big_ova):
    before = big_ova.read_bytes()
    stop = Raiser()
    with pytest.raises(Stop):
        Ova.open(big_ova).repack(big_ova, progress=stop)
    assert stop.calls == 1
    assert big_ova.read_bytes() == before
    assert sorted(os.listdir(big_ova.parent)) == [big_ova.name]


def test_extract_stops_on_the_first_raise(big_ova, tmp_path):
    out, existing = out_dir(tmp_path, "disk1.vmdk")
    stop = Raiser()
    with pytest.raises(Stop):
        Ova.open(big_ova).extract(out, progress=stop)
    assert stop.calls == 1
    untouched(out, existing)


def test_extract_stopped_inside_the_disk_keeps_the_finished_entries(big_ova, tmp_path):
    out, existing = out_dir(tmp_path, "disk1.vmdk")

    def progress(done):
        if done > 4 << 20:
            raise Stop("inside the disk")

    with pytest.raises(Stop):
        Ova.open(big_ova).extract(out, progress=progress)
    # descriptor and manifest were complete and stay; the disk being written was removed
    assert sorted(os.listdir(out)) == ["big.mf", "big.ovf", "disk1.vmdk"]
    assert existing.read_bytes() == PRECIOUS


def test_pack_stops_on_the_first_raise(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "vm.ovf").write_bytes(DESCRIPTOR)
    (src / "disk1.img").write_bytes(os.urandom(32 << 20))
    ticks = []
    pack(src, tmp_path / "full.ova", progress=ticks.append)
    assert len(ticks) >= 32

    out, existing = out_dir(tmp_path, "vm.ova")
    stop = Raiser()
    with pytest.raises(Stop):
        pack(src, existing, progress=stop)
    assert stop.calls == 1
    untouched(out, existing)
    assert sorted(os.listdir(src)) == ["disk1.img", "vm.ovf"]


def test_validate_stops_on_the_first_raise(big_ova):
    stop = Raiser()
    with pytest.raises(Stop):
        Ova.open(big_ova).validate(progress=stop)
    assert stop.calls == 1


@pytest.fixture
def random_disk(tmp_path):
    """16 MiB of incompressible raw disk, in its own folder."""
    src = tmp_path / "src"
    src.mkdir()
    path = src / "disk.raw"
    path.write_bytes(os.urandom(16 << 20))
    return path


def test_build_ova_stops_on_the_first_raise(random_disk, tmp_path):
    ticks = []
    report = build_ova(random_disk, tmp_path / "full.ova", "vm", progress=lambda *a: ticks.append(a))
    assert report.converted
    assert ticks[-1] == (16 << 20, 16 << 20)
    assert len(ticks) >= 8

    out, existing = out_dir(tmp_path, "vm.ova")
    stop = Raiser()
    with pytest.raises(Stop):
        build_ova(random_disk, existing, "vm", progress=stop)
    assert stop.calls == 1
    untouched(out, existing)


def test_vmdk_conversions_stop_on_the_first_raise(random_disk, tmp_path):
    out, existing = out_dir(tmp_path, "disk.vmdk")
    stop = Raiser()
    with pytest.raises(Stop):
        raw_to_vmdk(random_disk, existing, level=1, progress=stop)
    assert stop.calls == 1
    untouched(out, existing)

    vmdk = random_disk.with_name("disk.vmdk")
    ticks = []
    raw_to_vmdk(random_disk, vmdk, level=1, progress=lambda *a: ticks.append(a))
    assert ticks[-1] == (16 << 20, 16 << 20)

    existing.unlink()
    existing = out / "disk.img"
    existing.write_bytes(PRECIOUS)
    stop = Raiser()
    with pytest.raises(Stop):
        vmdk_to_raw(vmdk, existing, progress=stop)
    assert stop.calls == 1
    untouched(out, existing)

    ticks = []
    vmdk_to_raw(vmdk, tmp_path / "back.raw", progress=lambda *a: ticks.append(a))
    assert ticks[-1] == (vmdk.stat().st_size, vmdk.stat().st_size)
    assert (tmp_path / "back.raw").read_bytes() == random_disk.read_bytes()


def test_keyboard_interrupt_stops_build_ova_without_a_callback(tmp_path, sigint_raises):
    """Ctrl-C while the Rust code runs, with no Python code in between: the call notices the
    pending signal by itself, stops long before the disk is read and leaves nothing."""
    import _thread

    disk = tmp_path / "disk.raw"
    with open(disk, "wb") as f:
        f.truncate(4 << 30)  # sparse: seconds of work, no disk space
    out, existing = out_dir(tmp_path, "vm.ova")

    def interrupt():
        # wait until the build has started writing its temporary file
        deadline = time.monotonic() + 10
        while len(os.listdir(out)) < 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        _thread.interrupt_main()

    timer = threading.Thread(target=interrupt)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            build_ova(disk, existing, "vm")
    finally:
        timer.join()
    assert time.monotonic() - started < 10
    untouched(out, existing)


class CancelFromAnotherThread:
    """A progress callback that, once ``after`` bytes are done, has another thread cancel
    ``token`` and waits (at most 10 s) until it has: the call is then mid-way, whatever the
    speed of the machine. Counts its calls after the cancel."""

    def __init__(self, token, after):
        self.token = token
        self.after = after
        self.reached = threading.Event()
        self.calls_after_cancel = 0
        self.thread = threading.Thread(target=self._cancel)
        self.thread.start()

    def _cancel(self):
        if self.reached.wait(10):
            self.token.cancel()

    def __call__(self, done, *rest):
        if self.token.cancelled:
            self.calls_after_cancel += 1
        elif done >= self.after:
            self.reached.set()
            deadline = time.monotonic() + 10
            while not self.token.cancelled and time.monotonic() < deadline:
                time.sleep(0.001)

    def join(self):
        self.reached.set()
        self.thread.join()


def test_cancel_token_basics():
    token = CancelToken()
    assert not token.cancelled
    assert repr(token) == "CancelToken(cancelled=False)"
    token.cancel()
    token.cancel()  # idempotent
    assert token.cancelled
    assert repr(token) == "CancelToken(cancelled=True)"
    with pytest.raises(AttributeError):
        token.cancelled = False  # type: ignore[misc]
    assert issubclass(CancelledError, ovakit.OvakitError)


def test_repack_cancelled_from_another_thread(big_ova, tmp_path):
    out, existing = out_dir(tmp_path, "new.ova")
    token = CancelToken()
    progress = CancelFromAnotherThread(token, after=8 << 20)
    try:
        with pytest.raises(CancelledError, match="cancelled by its CancelToken"):
            Ova.open(big_ova).repack(existing, progress=progress, cancel=token)
    finally:
        progress.join()
    assert token.cancelled
    assert progress.calls_after_cancel == 0
    untouched(out, existing)


def test_validate_and_verify_cancelled_from_another_thread(big_ova):
    ova = Ova.open(big_ova)
    for call in (ova.validate, ova.verify_manifest, ova.check_manifest):
        token = CancelToken()
        progress = CancelFromAnotherThread(token, after=8 << 20)
        try:
            with pytest.raises(CancelledError):
                call(progress=progress, cancel=token)
        finally:
            progress.join()
        assert progress.calls_after_cancel == 0

    token = CancelToken()
    progress = CancelFromAnotherThread(token, after=8 << 20)
    try:
        with pytest.raises(CancelledError):
            verify_manifest(big_ova, progress=progress, cancel=token)
    finally:
        progress.join()


def test_cancel_without_a_progress_callback(tmp_path):
    """No Python code runs during the build: the call notices the cancelled token by itself,
    stops long before the disk is read and leaves nothing."""
    disk = sparse_disk(tmp_path)
    out, existing = out_dir(tmp_path, "vm.ova")
    token = CancelToken()
    canceller = once_writing(out, token.cancel)
    try:
        with pytest.raises(CancelledError):
            build_ova(disk, existing, "vm", cancel=token)
    finally:
        canceller.join()
    untouched(out, existing)


def test_one_token_stops_every_call_given_it(big_ova, tmp_path):
    """Two repacks in two threads share a token: one cancel() stops both."""
    out, existing = out_dir(tmp_path, "a.ova")
    token = CancelToken()
    started = threading.Barrier(3)
    errors = []

    def progress(done):
        if done >= 4 << 20:
            started.wait(10)
            deadline = time.monotonic() + 10
            while not token.cancelled and time.monotonic() < deadline:
                time.sleep(0.001)

    def repack(name):
        try:
            Ova.open(big_ova).repack(out / name, progress=progress, cancel=token)
        except BaseException as err:  # noqa: BLE001 - the test looks at what was raised
            errors.append(err)

    workers = [threading.Thread(target=repack, args=(n,)) for n in ("a.ova", "b.ova")]
    for w in workers:
        w.start()
    started.wait(10)
    token.cancel()
    for w in workers:
        w.join()
    assert [type(e) for e in errors] == [CancelledError, CancelledError]
    untouched(out, existing)


def test_a_token_cancelled_before_the_call_stops_it_at_once(big_ova, random_disk, tmp_path):
    """Nothing is read or written: no progress call, no output, no temporary file."""
    token = CancelToken()
    token.cancel()
    calls = []
    out, existing = out_dir(tmp_path, "vm.ova")
    ova = Ova.open(big_ova)
    with pytest.raises(CancelledError):
        ova.validate(progress=calls.append, cancel=token)
    with pytest.raises(CancelledError):
        ova.verify_manifest(progress=lambda *a: calls.append(a), cancel=token)
    with pytest.raises(CancelledError):
        ova.repack(existing, progress=calls.append, cancel=token)
    with pytest.raises(CancelledError):
        ova.extract(out, progress=calls.append, cancel=token)
    with pytest.raises(CancelledError):
        build_ova(random_disk, existing, "vm", progress=lambda *a: calls.append(a), cancel=token)
    with pytest.raises(CancelledError):
        raw_to_vmdk(random_disk, out / "disk.vmdk", cancel=token)
    with pytest.raises(CancelledError):
        ovakit.disk.convert(random_disk, out / "disk.qcow2", cancel=token)
    assert calls == []
    untouched(out, existing)

    # a token is per call: the same package goes through with a fresh one (or none)
    assert ova.validate(cancel=CancelToken()) == ova.validate()


def test_cancel_from_a_signal_handler(tmp_path):
    """A handler (here for SIGUSR1) that cancels the token stops the call running on the main
    thread: the call runs Python signal handlers while it waits, as it does for Ctrl-C."""
    import signal

    disk = sparse_disk(tmp_path)
    out, existing = out_dir(tmp_path, "vm.ova")
    token = CancelToken()
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: token.cancel())
    sender = once_writing(out, lambda: os.kill(os.getpid(), signal.SIGUSR1))
    try:
        with pytest.raises(CancelledError):
            build_ova(disk, existing, "vm", cancel=token)
    finally:
        sender.join()
        signal.signal(signal.SIGUSR1, old)
    assert token.cancelled
    untouched(out, existing)
