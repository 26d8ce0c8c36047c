"""The memory bound of ``Client.copy`` from a Python file object: a 2 GiB sparse file read
through ``open(path, "rb")`` peaks within (concurrency + 1) x part size + 64 MiB of resident
memory (VmHWM of the copying process, read from /proc), as the README promises for every
source."""

import http.server
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import threading

import pytest

MIB = 1 << 20
GIB = 1 << 30
PART = 16 * MIB
CONCURRENCY = 4
BOUND = (CONCURRENCY + 1) * PART + 64 * MIB


class Sink:
    """An S3 endpoint on loopback that answers the multipart protocol and counts the body bytes
    it receives, keeping none of them: the store must not be what limits the copy, and its own
    memory is not the copying process's."""

    def __init__(self):
        self.received = 0
        self.sizes = {}
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def reply(self, status=200, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def drain(self):
                left = int(self.headers.get("Content-Length") or 0)
                n = 0
                while left > 0:
                    chunk = self.rfile.read(min(left, MIB))
                    if not chunk:
                        break
                    n += len(chunk)
                    left -= len(chunk)
                return n

            def do_POST(self):
                self.drain()
                if self.path.endswith("?uploads") or "?uploads&" in self.path:
                    self.reply(
                        body=b"<InitiateMultipartUploadResult><UploadId>sink</UploadId>"
                        b"</InitiateMultipartUploadResult>"
                    )
                else:
                    self.reply(
                        body=b'<CompleteMultipartUploadResult><ETag>"sink"</ETag>'
                        b"</CompleteMultipartUploadResult>"
                    )

            def do_PUT(self):
                n = self.drain()
                key = self.path.split("?")[0]
                with lock:
                    outer.received += n
                    outer.sizes[key] = outer.sizes.get(key, 0) + n
                self.reply(headers=[("ETag", '"part"')])

            def do_HEAD(self):
                size = outer.sizes.get(self.path.split("?")[0], 0)
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.send_header("ETag", '"sink"')
                self.end_headers()

            def do_DELETE(self):
                self.drain()
                self.reply(status=204)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


CHILD = textwrap.dedent(
    """
    import json, sys
    from ovakit.s3 import Client

    endpoint, path, part, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    s3 = Client(endpoint, "us-east-1", "k", "s", addressing_style="path")
    with open(path, "rb") as f:
        report = s3.copy(f, "b", "disk.raw", part_size=part, concurrency=concurrency)
    peak = 0
    with open("/proc/self/status") as st:
        for line in st:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    print(json.dumps({"bytes": report.bytes, "parts": report.parts, "peak": peak}))
    """
)


@pytest.mark.skipif(not pathlib.Path("/proc/self/status").exists(), reason="needs /proc")
def test_copy_from_a_python_file_object_of_2_gib_stays_within_the_bound(tmp_path):
    src = tmp_path / "disk.raw"
    with open(src, "wb") as f:
        f.truncate(2 * GIB)  # sparse: no disk space, all zeros
    sink = Sink()
    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, sink.endpoint, str(src), str(PART), str(CONCURRENCY)],
            capture_output=True,
            text=True,
            timeout=1200,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
    finally:
        sink.close()
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["bytes"] == 2 * GIB and r["parts"] == 2 * GIB // PART, r
    assert sink.received == 2 * GIB
    assert r["peak"] <= BOUND, "peak RSS %.1f MiB > bound %.1f MiB" % (
        r["peak"] / MIB,
        BOUND / MIB,
    )
