"""ovakit.ova.sign on an existing OVA, with keys and certificates made by the openssl CLI; the
signature is cross-checked with ``openssl dgst -verify``."""

import shutil
import subprocess
import tarfile

import pytest

import ovakit
from ovakit.ova import Ova, sign

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


def make_pair(directory, name: str, passphrase: str = None):
    """A fresh RSA key and its self-signed certificate; the key encrypted with `passphrase`."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
            "-out", str(cert), "-days", "2", "-subj", f"/CN=ovakit {name}")
    if passphrase is not None:
        enc = directory / f"{name}.enc.key"
        openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", str(key), "-out", str(enc),
                "-passout", f"pass:{passphrase}")
        key = enc
    return key, cert


def openssl_accepts(tmp_path, ova, cert, stem: str = "small") -> None:
    """The .cert line holds SHA256(name.mf)= <hex signature>; openssl must accept it over the
    .mf bytes with the certificate's public key."""
    with tarfile.open(ova) as tar:
        mf = tar.extractfile(f"{stem}.mf").read()
        cert_text = tar.extractfile(f"{stem}.cert").read().decode()
    line = cert_text.splitlines()[0]
    assert line.startswith(f"SHA256({stem}.mf)= ")
    assert "-----BEGIN CERTIFICATE-----" in cert_text
    (tmp_path / "sig").write_bytes(bytes.fromhex(line.split("= ")[1].strip()))
    (tmp_path / "mf").write_bytes(mf)
    (tmp_path / "pub.pem").write_bytes(openssl("x509", "-in", str(cert), "-pubkey", "-noout"))
    check = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "pub.pem"),
                            "-signature", str(tmp_path / "sig"), str(tmp_path / "mf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_sign_then_verify(small_ova, tmp_path):
    key, cert = make_pair(tmp_path, "signer")
    out = tmp_path / "signed.ova"
    report = sign(small_ova, out, key, certificate=cert)
    assert report.certificate == "small.cert" and report.manifest == "small.mf"
    assert not report.manifest_regenerated and not report.in_place
    assert "ovakit signer" in report.subject
    ova = Ova.open(out)
    assert ova.names[:3] == ["small.ovf", "small.mf", "small.cert"]
    verdict = ova.verify_signature(trust=cert)
    assert verdict.signature_valid and verdict.chain_trusted
    assert ova.verify_manifest().ok
    openssl_accepts(tmp_path, out, cert)
    # the source is untouched
    assert Ova.open(small_ova).certificate_entry is None


def test_sign_in_place_and_other_digest(small_ova, tmp_path):
    key, cert = make_pair(tmp_path, "inplace")
    report = sign(small_ova, small_ova, key, certificate=cert)
    assert report.certificate == "small.cert"
    Ova.open(small_ova).verify_signature(trust=cert)
    openssl_accepts(tmp_path, small_ova, cert)
    # signing again in place with the same key rewrites only the certificate's bytes
    again = sign(small_ova, small_ova, key, certificate=cert)
    assert again.in_place
    assert Ova.open(small_ova).verify_signature(trust=cert).signature_valid
    # another digest writes a fresh SHA512 manifest
    out = tmp_path / "sha512.ova"
    report = sign(small_ova, out, key, certificate=cert, digest="sha512")
    assert report.manifest_regenerated
    ova = Ova.open(out)
    assert ova.manifest.lines[0].algorithm == "SHA512"
    assert ova.verify_signature().signature_valid
    with pytest.raises(ValueError):
        sign(small_ova, tmp_path / "md5.ova", key, certificate=cert, digest="md5")


def test_sign_with_one_pem(small_ova, tmp_path):
    key, cert = make_pair(tmp_path, "bundle")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(key.read_bytes() + cert.read_bytes())
    out = tmp_path / "bundle.ova"
    sign(small_ova, out, bundle)
    assert Ova.open(out).verify_signature(trust=cert).chain_trusted


def test_sign_with_encrypted_key(small_ova, tmp_path):
    key, cert = make_pair(tmp_path, "locked", passphrase="s3cret")
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    out = tmp_path / "locked.ova"
    sign(small_ova, out, key, certificate=cert, passphrase="s3cret")
    assert Ova.open(out).verify_signature(trust=cert).signature_valid
    sign(small_ova, tmp_path / "locked2.ova", key, certificate=cert, passphrase=b"s3cret")
    wrong = tmp_path / "wrong.ova"
    with pytest.raises(ovakit.SignatureError):
        sign(small_ova, wrong, key, certificate=cert, passphrase="nope")
    with pytest.raises(ovakit.SignatureError):
        sign(small_ova, wrong, key, certificate=cert)
    assert not wrong.exists()


def test_sign_errors(small_ova, tmp_path):
    key, cert = make_pair(tmp_path, "one")
    _, other_cert = make_pair(tmp_path, "two")
    out = tmp_path / "mismatch.ova"
    try:
        sign(small_ova, out, key, certificate=other_cert)
    except ovakit.OvakitError as e:
        caught = e
    else:
        pytest.fail("a certificate of another key was accepted")
    assert isinstance(caught, ovakit.SignatureError)
    assert isinstance(caught, ovakit.OvaError)
    assert not out.exists()
    with pytest.raises(ovakit.NotFoundError):
        sign(small_ova, out, tmp_path / "absent.key")
    with pytest.raises(ovakit.NotFoundError):
        sign(tmp_path / "absent.ova", out, key, certificate=cert)
    assert not out.exists()
