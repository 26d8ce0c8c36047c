"""Smoke test of an installed ovakit wheel: typed package files present, every module imports,
and a package is built, signed with a fresh key and verified through the wheel's own native
code (OpenSSL included)."""
import importlib.resources
import os
import pathlib
import subprocess
import tempfile

import ovakit
import ovakit.cloudstack  # noqa: F401
import ovakit.s3  # noqa: F401
from ovakit.ova import Ova, build_ova, sign

files = importlib.resources.files("ovakit")
for name in ("py.typed", "_ovakit.pyi", "__init__.py", "results.py"):
    assert files.joinpath(name).is_file(), f"{name} missing from the wheel"
assert "site-packages" in ovakit.__file__, ovakit.__file__

with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    raw = tmp / "disk.raw"
    raw.write_bytes(os.urandom(1 << 20) + bytes(3 << 20))
    out = tmp / "smoke.ova"
    build_ova(raw, out, name="smoke")
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=ovakit wheel smoke", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    sign(out, out, key, certificate=cert)
    ova = Ova.open(out)
    ova.verify_manifest()
    verdict = ova.verify_signature(trust=cert)
    assert verdict.signature_valid and verdict.chain_trusted, verdict
    assert not [f for f in ova.validate() if f.severity == "error"]
print(f"ovakit wheel ok: {ovakit.__file__}")
