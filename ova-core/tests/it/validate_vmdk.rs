//! `Ova::validate` walks the stream-optimized VMDKs inside a package (in place, without
//! extracting them) and turns their problems into findings.
//!
//! The qemu-img case skips with a message when `qemu-img` is missing; fails when `CI` is set.

use std::path::Path;
use std::process::Command;

use crate::archive_support::{descriptor, write};
use ova_core::build::{BuildOptions, build_ova};
use ova_core::no_progress;
use ova_core::package::Ova;
use ova_core::tar::LargeSize;
use ova_core::validate::{Finding, Severity};
use ova_core::vmdk::{self, VmdkWriter};
use ova_core::write::ManifestChoice;

fn qemu_img() -> bool {
    let found = Command::new("qemu-img")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "qemu-img is required when CI is set"
    );
    if !found {
        eprintln!("skipping: qemu-img not found");
    }
    found
}

fn raw_disk(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let mut raw = vec![0u8; 3 * 1024 * 1024];
    for (i, b) in raw[..300_000].iter_mut().enumerate() {
        *b = (i * 7 % 253) as u8;
    }
    (write(dir, "disk.raw", &raw), raw)
}

/// Packs `disk` as `disk1.vmdk` (declared streamOptimized) with a small `extra.iso`.
fn package_with(dir: &Path, disk: &[u8]) -> Ova {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let iso = vec![7u8; 1000];
    write(
        &src,
        "sample.ovf",
        descriptor(disk.len() as u64, iso.len() as u64).as_bytes(),
    );
    write(&src, "disk1.vmdk", disk);
    write(&src, "extra.iso", &iso);
    let out = dir.join("p.ova");
    Ova::pack(
        &src,
        &out,
        ManifestChoice::Sha256,
        LargeSize::Base256,
        &mut no_progress,
    )
    .unwrap();
    Ova::open(&out).unwrap()
}

fn vmdk_findings(ova: &Ova) -> Vec<Finding> {
    ova.validate(&mut no_progress)
        .unwrap()
        .into_iter()
        .filter(|f| f.code.starts_with("vmdk-"))
        .collect()
}

#[test]
fn ovakit_built_package_has_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (raw_path, _) = raw_disk(dir.path());
    let out = dir.path().join("a.ova");
    let opts = BuildOptions::builder("appliance").build().unwrap();
    build_ova(&raw_path, &out, &opts, &mut no_progress).unwrap();
    let findings = Ova::open(&out).unwrap().validate(&mut no_progress).unwrap();
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn qemu_img_padding_is_flagged() {
    if !qemu_img() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (raw_path, _) = raw_disk(dir.path());
    let theirs = dir.path().join("qemu.vmdk");
    let out = Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "vmdk"])
        .args(["-o", "subformat=streamOptimized"])
        .arg(&raw_path)
        .arg(&theirs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let bytes = std::fs::read(&theirs).unwrap();
    let ova = package_with(dir.path(), &bytes);
    let findings = vmdk_findings(&ova);
    let after_end = findings
        .iter()
        .find(|f| f.code == "vmdk-bytes-after-end")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(after_end.severity, Severity::Warning);
    assert_eq!(after_end.entry.as_deref(), Some("disk1.vmdk"));
    // qemu-img writes the grain directory at the front: a legal layout without footer
    assert!(!findings.iter().any(|f| f.code == "vmdk-no-footer"));
    assert!(
        findings.iter().all(|f| f.severity == Severity::Warning),
        "{findings:?}"
    );
}

#[test]
fn truncated_disk_is_an_error_finding() {
    let dir = tempfile::tempdir().unwrap();
    let (raw_path, _) = raw_disk(dir.path());
    let ours = dir.path().join("ours.vmdk");
    vmdk::raw_to_vmdk(&raw_path, &ours, &VmdkWriter::new(), &mut no_progress).unwrap();
    let bytes = std::fs::read(&ours).unwrap();
    // whole: nothing to say
    let whole = package_with(&dir.path().join("whole"), &bytes);
    assert!(vmdk_findings(&whole).is_empty());
    // cut in the middle of the grains (the package itself is consistent: sizes and digests
    // describe the cut file)
    let cut = &bytes[..bytes.len() / 2];
    let ova = package_with(&dir.path().join("cut"), cut);
    let findings = ova.validate(&mut no_progress).unwrap();
    let bad = findings
        .iter()
        .find(|f| f.code.starts_with("vmdk-") && f.severity == Severity::Error)
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(bad.entry.as_deref(), Some("disk1.vmdk"));
    assert!(!findings.iter().any(|f| f.code == "digest-mismatch"));
}

#[test]
fn declared_stream_disk_without_header_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let ova = package_with(dir.path(), &[0x5a; 5000]);
    let findings = vmdk_findings(&ova);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].code, "vmdk-not-stream");
    assert_eq!(findings[0].severity, Severity::Warning);
}
