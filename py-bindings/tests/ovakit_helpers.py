"""Helpers shared by the ovakit tests (a uniquely named module, so it never clashes with
another directory's conftest)."""

import os
import pathlib

import pytest


def missing(reason: str) -> None:
    """Skip the test, or fail it when running under CI (where nothing may be missing)."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def add_bytes(tar, name: str, data: bytes) -> None:
    """Add one regular file to an open tarfile.TarFile."""
    import io
    import tarfile

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def build_ova(
    path: pathlib.Path,
    descriptor: bytes,
    disks: dict,
    manifest: bool = True,
    tamper: dict = None,
) -> pathlib.Path:
    """Write an OVA with Python's tarfile (an implementation independent of ovakit).

    The manifest holds SHA256 lines computed by hashlib; `tamper` replaces an entry's data after
    the manifest was computed.
    """
    import hashlib
    import tarfile

    files = {path.stem + ".ovf": descriptor, **disks}
    lines = "".join(
        f"SHA256({name})= {hashlib.sha256(data).hexdigest()}\n" for name, data in files.items()
    )
    files.update(tamper or {})
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        names = list(files)
        add_bytes(tar, names[0], files[names[0]])
        if manifest:
            add_bytes(tar, path.stem + ".mf", lines.encode())
        for name in names[1:]:
            add_bytes(tar, name, files[name])
    return path
