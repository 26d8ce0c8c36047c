"""ovakit.s3 against a real S3 server (moto), cross-checked with boto3."""

import hashlib
import io
import os
import threading
import time
import urllib.request

import pytest

import ovakit
from ovakit.s3 import Client


@pytest.fixture
def boto(moto_endpoint):
    boto3 = pytest.importorskip("boto3")
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_copy_file_multipart_with_progress(s3, bucket, boto, tmp_path):
    data = os.urandom(12 << 20)
    src = tmp_path / "disk.bin"
    src.write_bytes(data)
    ticks = []
    report = s3.copy(src, bucket, "disk.bin", part_size=5 << 20, sha256=True, progress=ticks.append)
    assert report.bytes == len(data) and report.multipart and report.parts == 3
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert ticks and ticks[-1].bytes_uploaded == len(data)
    body = boto.get_object(Bucket=bucket, Key="disk.bin")["Body"].read()
    assert body == data
    assert s3.head_object(bucket, "disk.bin").size == len(data)


def test_part_checksum_choice_is_reported(s3, bucket, boto):
    data = os.urandom(11 << 20)
    # moto checks neither part header nor the signed payload, and echoes no CRC32C: the default
    # takes each part's MD5 and compares the ETags moto returns (the MD5 of what it stored)
    report = s3.copy(io.BytesIO(data), bucket, "auto", part_size=5 << 20)
    assert report.payload_signed and report.part_checksum == "md5"
    report = s3.copy(io.BytesIO(data), bucket, "md5", part_size=5 << 20, part_checksum="md5")
    assert report.part_checksum == "md5" and report.parts == 3
    for key in ("auto", "md5"):
        assert boto.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    with pytest.raises(ovakit.ConfigError):
        s3.copy(io.BytesIO(data), bucket, "bad", part_checksum="sha1")


def test_copy_from_url_and_file_object(s3, bucket, file_server):
    data = os.urandom(300_000)
    (file_server.root / "x.bin").write_bytes(data)
    s3.copy(file_server.url("x.bin"), bucket, "from-url", content_type="application/x-test")
    assert s3.get_object(bucket, "from-url") == data
    assert s3.head_object(bucket, "from-url").content_type == "application/x-test"
    s3.copy(io.BytesIO(data), bucket, "from-fileobj", metadata=[("origin", "test")])
    assert s3.get_object(bucket, "from-fileobj") == data
    assert s3.head_object(bucket, "from-fileobj").metadata == {"origin": "test"}


def test_acl_and_server_side_copy(s3, bucket, moto_endpoint, boto):
    s3.copy(io.BytesIO(b"hello"), bucket, "a.txt")
    s3.put_object_acl(bucket, "a.txt", "public-read")
    grants = boto.get_object_acl(Bucket=bucket, Key="a.txt")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)
    with urllib.request.urlopen(f"{moto_endpoint}/{bucket}/a.txt") as resp:
        assert resp.read() == b"hello"
    report = s3.copy_object(bucket, "a.txt", bucket, "b.txt")
    assert report.bytes == 5
    assert s3.get_object(bucket, "b.txt") == b"hello"
    s3.delete_object(bucket, "b.txt")
    with pytest.raises(ovakit.S3Error) as info:
        s3.head_object(bucket, "b.txt")
    assert info.value.status == 404


def test_list_and_abort_uploads(s3, bucket, boto):
    up = boto.create_multipart_upload(Bucket=bucket, Key="stale")
    listed = s3.list_multipart_uploads(bucket)
    assert [(u.key, u.upload_id) for u in listed] == [("stale", up["UploadId"])]
    s3.abort_multipart_upload(bucket, "stale", up["UploadId"])
    assert s3.list_multipart_uploads(bucket) == []
    boto.create_multipart_upload(Bucket=bucket, Key="p/one")
    boto.create_multipart_upload(Bucket=bucket, Key="q/two")
    assert [u.key for u in s3.list_multipart_uploads(bucket, prefix="p/")] == ["p/one"]
    aborted = s3.abort_incomplete_uploads(bucket)
    assert sorted(u.key for u in aborted) == ["p/one", "q/two"]
    assert s3.list_multipart_uploads(bucket) == []


def test_s3_errors(s3, bucket, tmp_path):
    with pytest.raises(ovakit.S3Error) as info:
        s3.copy(io.BytesIO(b"x"), "no-such-bucket-ovakit", "k")
    assert isinstance(info.value, ovakit.OvakitError)
    assert info.value.status == 404 and info.value.code == "NoSuchBucket"
    with pytest.raises(ovakit.NotFoundError):
        s3.copy(tmp_path / "absent.bin", bucket, "k")
    with pytest.raises(ovakit.ConfigError):
        Client("http://127.0.0.1:1", "us-east-1", "a", "b", no_such_option=1)
    with pytest.raises(TypeError):
        s3.copy(12345, bucket, "k")


def test_exception_in_progress_aborts_the_upload(s3, bucket, tmp_path):
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(20 << 20))

    class Stop(Exception):
        pass

    def progress(p):
        if p.parts_done >= 1:
            raise Stop("stop")

    with pytest.raises(Stop):
        s3.copy(src, bucket, "big.bin", part_size=5 << 20, concurrency=1, progress=progress)
    assert s3.list_multipart_uploads(bucket) == []
    with pytest.raises(ovakit.S3Error):
        s3.head_object(bucket, "big.bin")


def test_error_in_file_object_propagates(s3, bucket):
    class Broken(io.RawIOBase):
        def read(self, n=-1):
            raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        s3.copy(Broken(), bucket, "broken")


class TrickleServer:
    """An HTTP server on loopback, in a Python thread, that streams `data` in 256 KiB writes
    and counts what it has sent; `after(sent)` runs after each write."""

    def __init__(self, data, after=None):
        import http.server

        self.data, self.sent, self.after = data, [0], after
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.data)))
                self.end_headers()
                try:
                    for start in range(0, len(outer.data), 256 << 10):
                        self.wfile.write(outer.data[start : start + (256 << 10)])
                        outer.sent[0] = min(len(outer.data), start + (256 << 10))
                        if outer.after and outer.after(outer.sent[0]):
                            return
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/big" % self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_gil_released_during_copy(s3, bucket):
    """The source is served by a Python thread while the main thread is inside ``copy``: were
    the GIL held during the call, the server could never send and the copy never finish
    (faulthandler ends the run after 120 s instead of hanging). Every progress report has seen
    only bytes the Python server had already sent."""
    import faulthandler

    data = os.urandom(16 << 20)
    server = TrickleServer(data)
    seen = []
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        report = s3.copy(
            server.url,
            bucket,
            "big.bin",
            part_size=5 << 20,
            concurrency=1,
            progress=lambda p: seen.append((p.bytes_read, server.sent[0])),
        )
    finally:
        faulthandler.cancel_dump_traceback_later()
        server.close()
    assert report.bytes == len(data)
    assert len(seen) >= 3
    assert all(read <= sent for read, sent in seen)
    assert s3.get_object(bucket, "big.bin") == data


def test_keyboard_interrupt_aborts_the_upload(s3, bucket, sigint_raises):
    """Ctrl-C during a copy raises KeyboardInterrupt after the multipart upload is aborted.

    The Python server sends the interrupt once 11 MiB are out, then keeps trickling; the
    extension notices the pending signal by itself, cancels, aborts the upload and raises.
    """
    import _thread
    import faulthandler

    data = os.urandom(40 << 20)
    fired = []

    def after(sent):
        if sent >= (11 << 20) and not fired:
            fired.append(sent)
            _thread.interrupt_main()
        if fired:
            threading.Event().wait(0.02)
        return False

    server = TrickleServer(data, after)
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        with pytest.raises(KeyboardInterrupt):
            s3.copy(server.url, bucket, "big.bin", part_size=5 << 20, concurrency=1)
    finally:
        faulthandler.cancel_dump_traceback_later()
        server.close()
    assert fired
    assert s3.list_multipart_uploads(bucket) == []
    with pytest.raises(ovakit.S3Error):
        s3.head_object(bucket, "big.bin")


class StallingFile:
    """A binary file object of ``size`` random bytes that, past ``stall_at`` bytes, waits (at
    most 10 s) until ``token`` is cancelled before giving more: the copy is then mid-way when
    another thread cancels, whatever the speed of the machine."""

    def __init__(self, size, stall_at, token):
        self.data = io.BytesIO(os.urandom(size))
        self.stall_at = stall_at
        self.token = token
        self.stalled = threading.Event()
        self.name = "stalling"

    def read(self, n=-1):
        if self.data.tell() >= self.stall_at and not self.token.cancelled:
            self.stalled.set()
            deadline = time.monotonic() + 10
            while not self.token.cancelled and time.monotonic() < deadline:
                time.sleep(0.001)
        return self.data.read(n)


def test_cancel_token_aborts_the_upload(s3, bucket, boto):
    """Another thread cancels while a part is uploaded and the next is being read: the copy
    raises CancelledError after the multipart upload is aborted (boto3 lists none)."""
    from ovakit import CancelledError, CancelToken

    token = CancelToken()
    source = StallingFile(40 << 20, 11 << 20, token)
    parts = []

    def cancel():
        if source.stalled.wait(10):
            token.cancel()

    canceller = threading.Thread(target=cancel)
    canceller.start()
    try:
        with pytest.raises(CancelledError, match="cancelled by its CancelToken"):
            s3.copy(
                source,
                bucket,
                "big.bin",
                part_size=5 << 20,
                concurrency=1,
                progress=lambda p: parts.append(p.parts_done),
                cancel=token,
            )
    finally:
        source.stalled.set()
        canceller.join()
    assert source.data.tell() < 40 << 20
    assert max(parts) >= 1  # the multipart upload had started
    assert boto.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    with pytest.raises(ovakit.S3Error):
        s3.head_object(bucket, "big.bin")


def test_cancel_token_stops_a_server_side_copy_before_it_starts(s3, bucket, boto):
    from ovakit import CancelledError, CancelToken

    s3.copy(io.BytesIO(b"x" * 1000), bucket, "src.bin")
    token = CancelToken()
    token.cancel()
    calls = []
    with pytest.raises(CancelledError):
        s3.copy_object(bucket, "src.bin", bucket, "dst.bin", progress=calls.append, cancel=token)
    with pytest.raises(CancelledError):
        s3.copy(io.BytesIO(os.urandom(1 << 20)), bucket, "new.bin", cancel=token)
    assert calls == []
    assert boto.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    keys = [o["Key"] for o in boto.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["src.bin"]
