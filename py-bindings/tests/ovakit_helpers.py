"""Helpers shared by the ovakit tests (a uniquely named module, so it never clashes with
another directory's conftest)."""

import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent.parent


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


class FileServer:
    """A real HTTP server on loopback serving one directory (Python's http.server)."""

    def __init__(self, directory: pathlib.Path) -> None:
        import functools
        import http.server
        import threading

        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _quiet_handler_base():
    import http.server

    return http.server.SimpleHTTPRequestHandler


class _QuietHandler(_quiet_handler_base()):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


def register_ova(cs, url: str, name: str = "appliance"):
    """Register an OVA template from `url` and wait until it is ready (the ready `Template`)."""
    t = cs.register_template(
        name=name,
        displaytext=name,
        url=url,
        zoneid=cs.list_zones()[0].id,
        ostypeid=cs.list_os_types()[0].id,
        format="OVA",
        hypervisor="VMware",
        isextractable=True,
    )
    return cs.wait_template_ready(t.id)
