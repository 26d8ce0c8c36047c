//! Interop with the `openssl` command-line tool: it verifies what we sign, and we verify what it
//! signs. Skips with a message when `openssl` is missing; fails instead when `CI` is set.

use std::path::Path;
use std::process::Command;

use test_support::openssl::{available as have_openssl, run as openssl};

use ova_core::manifest::Algorithm;
use ova_core::sign::{self, SigningKey, TrustStore};

fn make_key(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-nodes",
            "-sha256",
            "-newkey",
            "rsa:2048",
            "-days",
            "30",
            "-subj",
            "/CN=Example Appliance Signer/O=Example",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ],
    );
}

const MANIFEST: &[u8] =
    b"SHA256(vm.ovf)= 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n";

#[test]
fn openssl_verifies_our_signature() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_key(d, "signer");
    std::fs::write(d.join("vm.mf"), MANIFEST).unwrap();
    let key =
        SigningKey::from_files(d.join("signer.key"), Some(&d.join("signer.crt")), None).unwrap();
    for (alg, flag) in [
        (Algorithm::Sha256, "-sha256"),
        (Algorithm::Sha1, "-sha1"),
        (Algorithm::Sha512, "-sha512"),
    ] {
        let cert = sign::sign_manifest(&key, "vm.mf", MANIFEST, alg).unwrap();
        let parsed = sign::parse_cert_file("vm.cert", &cert).unwrap();
        std::fs::write(d.join("sig.bin"), &parsed.signature).unwrap();
        std::fs::write(d.join("vm.cert"), &cert).unwrap();
        // the certificate in our .cert file is the signer's, and openssl reads it
        openssl(
            d,
            &[
                "x509", "-in", "vm.cert", "-pubkey", "-noout", "-out", "pub.pem",
            ],
        );
        let out = openssl(
            d,
            &[
                "dgst",
                flag,
                "-verify",
                "pub.pem",
                "-signature",
                "sig.bin",
                "vm.mf",
            ],
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Verified OK"));
    }
    // a tampered manifest fails openssl's check
    std::fs::write(d.join("vm.mf"), b"SHA256(vm.ovf)= 00\n").unwrap();
    let out = Command::new("openssl")
        .current_dir(d)
        .args([
            "dgst",
            "-sha512",
            "-verify",
            "pub.pem",
            "-signature",
            "sig.bin",
            "vm.mf",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn we_verify_an_openssl_signature() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_key(d, "signer");
    std::fs::write(d.join("vm.mf"), MANIFEST).unwrap();
    // the recipe from DSP0243 users: openssl dgst -sign, hex, then the certificate
    let out = openssl(
        d,
        &["dgst", "-sha256", "-sign", "signer.key", "-hex", "vm.mf"],
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let hex_sig = line.trim().rsplit(' ').next().unwrap().to_owned();
    let cert_pem = std::fs::read(d.join("signer.crt")).unwrap();
    let cert_file = [
        format!("SHA256(vm.mf)= {hex_sig}\n").into_bytes(),
        cert_pem.clone(),
    ]
    .concat();
    let r = sign::verify_manifest_signature(&cert_file, "vm.mf", MANIFEST, None).unwrap();
    assert!(r.signature_valid);
    assert!(r.self_signed);
    assert!(!r.expired);
    assert!(r.subject.contains("CN=Example Appliance Signer"));
    let trust = TrustStore::from_pem("signer.crt", &cert_pem).unwrap();
    let r = sign::verify_manifest_signature(&cert_file, "vm.mf", MANIFEST, Some(&trust)).unwrap();
    assert_eq!(r.chain_trusted, Some(true));
    // tampered manifest: signature mismatch, not an error
    let r = sign::verify_manifest_signature(&cert_file, "vm.mf", b"SHA256(vm.ovf)= 00\n", None)
        .unwrap();
    assert!(!r.signature_valid);
    // ovftool's single-PEM recipe (key and certificate in one file) loads as is
    openssl(
        d,
        &[
            "req", "-x509", "-nodes", "-sha256", "-newkey", "rsa:2048", "-days", "1", "-subj",
            "/CN=one", "-keyout", "both.pem", "-out", "both.pem",
        ],
    );
    let both = SigningKey::from_files(d.join("both.pem"), None, None).unwrap();
    assert_eq!(both.subject(), "CN=one");
}

#[test]
fn openssl_encrypted_keys_load_with_passphrase() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_key(d, "signer");
    openssl(
        d,
        &[
            "pkey",
            "-in",
            "signer.key",
            "-aes256",
            "-passout",
            "pass:hunter2",
            "-out",
            "enc.key",
        ],
    );
    let crt = d.join("signer.crt");
    assert!(SigningKey::from_files(d.join("enc.key"), Some(&crt), Some(b"hunter2")).is_ok());
    assert!(SigningKey::from_files(d.join("enc.key"), Some(&crt), None).is_err());
    openssl(
        d,
        &[
            "rsa",
            "-in",
            "signer.key",
            "-traditional",
            "-out",
            "pkcs1.key",
        ],
    );
    assert!(
        std::fs::read_to_string(d.join("pkcs1.key"))
            .unwrap()
            .contains("BEGIN RSA PRIVATE KEY")
    );
    assert!(SigningKey::from_files(d.join("pkcs1.key"), Some(&crt), None).is_ok());
}
