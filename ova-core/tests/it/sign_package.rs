//! Signing and verifying whole packages: sign, verify, tamper, re-sign in place, repack.

use ova_core::build::{BuildOptions, build_ova};
use ova_core::manifest::Algorithm;
use ova_core::no_progress;
use ova_core::package::{Ova, RepackOptions};
use ova_core::sign::{self, SigningKey, TrustStore};

fn package(dir: &std::path::Path) -> std::path::PathBuf {
    let raw = dir.join("disk.raw");
    let mut data = vec![0u8; 1 << 20];
    data[..4096].fill(7);
    std::fs::write(&raw, &data).unwrap();
    let out = dir.join("vm.ova");
    build_ova(
        &raw,
        &out,
        &BuildOptions::builder("vm").build().unwrap(),
        &mut no_progress,
    )
    .unwrap();
    out
}

#[test]
fn sign_verify_tamper_and_repack() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ova = package(d);
    let unsigned = sign::verify_package(&ova, None, &mut no_progress).unwrap();
    assert!(!unsigned.is_ok());
    assert!(unsigned.signature.is_none());

    let (k, c) = sign::test_support::self_signed("Signer").unwrap();
    let key = SigningKey::from_pem(&k, Some(&c), None).unwrap();
    let signed = d.join("signed.ova");
    let r = sign::sign_package(&ova, &signed, &key, Algorithm::Sha256, &mut no_progress).unwrap();
    assert!(!r.manifest_regenerated && !r.in_place);
    let v = sign::verify_package(&signed, None, &mut no_progress).unwrap();
    assert!(v.is_ok(), "{:?}", v.failures);
    let idx = Ova::open(&signed).unwrap();
    let names: Vec<&str> = idx.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["vm.ovf", "vm.mf", "vm.cert", "vm-disk1.vmdk"]);
    drop(idx);

    // trust store: self-signed signer trusted only when it is in the store
    let trusted = TrustStore::from_pem("c.pem", &c).unwrap();
    assert!(
        sign::verify_package(&signed, Some(&trusted), &mut no_progress)
            .unwrap()
            .is_ok()
    );
    let (_, other) = sign::test_support::self_signed("Other").unwrap();
    let other = TrustStore::from_pem("o.pem", &other).unwrap();
    assert!(
        !sign::verify_package(&signed, Some(&other), &mut no_progress)
            .unwrap()
            .is_ok()
    );

    // re-signing the same file with the same key fits in place
    let r =
        sign::sign_package(&signed, &signed, &key, Algorithm::Sha256, &mut no_progress).unwrap();
    assert!(r.in_place);
    assert!(
        sign::verify_package(&signed, None, &mut no_progress)
            .unwrap()
            .is_ok()
    );

    // another digest regenerates the manifest
    let sha512 = d.join("sha512.ova");
    let r =
        sign::sign_package(&signed, &sha512, &key, Algorithm::Sha512, &mut no_progress).unwrap();
    assert!(r.manifest_regenerated);
    assert!(
        sign::verify_package(&sha512, None, &mut no_progress)
            .unwrap()
            .is_ok()
    );

    // a tampered manifest: the signature no longer matches
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes.windows(7).position(|w| w == b"SHA256(").unwrap() + 30;
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let tampered = d.join("tampered.ova");
    std::fs::write(&tampered, &bytes).unwrap();
    let v = sign::verify_package(&tampered, None, &mut no_progress).unwrap();
    assert!(!v.is_ok());
    assert!(!v.signature.unwrap().signature_valid);

    // a repack without a key drops the certificate and says so
    let repacked = d.join("repacked.ova");
    let report = Ova::open(&signed)
        .unwrap()
        .repack(&repacked, &RepackOptions::new(), &mut no_progress)
        .unwrap();
    assert!(
        report.dropped.iter().any(|(n, _)| n == "vm.cert"),
        "{report:?}"
    );
    assert!(
        !sign::verify_package(&repacked, None, &mut no_progress)
            .unwrap()
            .is_ok()
    );
    // re-signing it restores a valid signature
    sign::sign_package(
        &repacked,
        &repacked,
        &key,
        Algorithm::Sha256,
        &mut no_progress,
    )
    .unwrap();
    assert!(
        sign::verify_package(&repacked, None, &mut no_progress)
            .unwrap()
            .is_ok()
    );
}
