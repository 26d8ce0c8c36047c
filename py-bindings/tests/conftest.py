"""Shared fixtures for the ovakit Python package tests."""

import os
import pathlib

import pytest

from .ovakit_helpers import FileServer, build_ova, missing

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO / "testdata" / "corpus"


@pytest.fixture
def corpus() -> pathlib.Path:
    """The repository's test corpus, `testdata/corpus` (see its SOURCES.md files)."""
    if not CORPUS.is_dir():
        pytest.fail(f"test corpus {CORPUS} is missing")
    return CORPUS


@pytest.fixture
def descriptor(corpus) -> bytes:
    """A real OVF descriptor from the corpus."""
    return (corpus / "ovf" / "cot" / "minimal.ovf").read_bytes()


@pytest.fixture
def small_ova(tmp_path, descriptor) -> pathlib.Path:
    """An OVA with a descriptor, a manifest and one small disk file."""
    return build_ova(tmp_path / "small.ova", descriptor, {"disk1.vmdk": b"\x01" * 5000})


@pytest.fixture
def big_ova(tmp_path, descriptor) -> pathlib.Path:
    """An OVA whose disk is large enough for many progress callbacks (1 MiB each)."""
    return build_ova(tmp_path / "big.ova", descriptor, {"disk1.vmdk": os.urandom(48 << 20)})


@pytest.fixture
def file_server(tmp_path):
    """An HTTP server on loopback serving `tmp_path / "www"`."""
    www = tmp_path / "www"
    www.mkdir()
    server = FileServer(www)
    server.root = www
    yield server
    server.close()


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto S3 server: OVAKIT_MOTO_ENDPOINT (set by the test script), else one we start."""
    import socket
    import subprocess
    import sys
    import urllib.request

    endpoint = os.environ.get("OVAKIT_MOTO_ENDPOINT")
    if endpoint:
        yield endpoint
        return
    moto = pathlib.Path(sys.executable).parent / "moto_server"
    if not moto.exists():
        missing("moto_server is not installed (pip install 'moto[server]')")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/")
                break
            except OSError:
                proc.poll()
                if proc.returncode is not None:
                    pytest.fail("moto_server exited")
                import time

                time.sleep(0.05)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait()


@pytest.fixture
def s3(moto_endpoint):
    from ovakit.s3 import Client

    return Client(moto_endpoint, "us-east-1", "testing", "testing", addressing_style="path")


@pytest.fixture
def bucket(s3, request):
    import uuid

    name = "ovakit-" + uuid.uuid4().hex[:12]
    s3.create_bucket(name)
    return name


@pytest.fixture
def sigint_raises():
    """Make SIGINT raise KeyboardInterrupt for the test, even when the test run was started
    with SIGINT ignored (as non-interactive shells do for background jobs)."""
    import signal

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)
