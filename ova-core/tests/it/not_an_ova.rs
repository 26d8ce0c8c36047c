//! Files that are not an OVA at all — a `.tar.gz`, a zip, xz/bzip2/zstd-compressed packages,
//! a qcow2 or VMDK disk, a PNG, an `.ovf` — are told apart by their magic bytes: the error
//! says what the file is and what to do. The inputs are made by the real tools (gzip, zip,
//! xz, bzip2, zstd, qemu-img); each one that is missing is skipped with a message (a failure
//! under `CI`, except for zstd and zip which the CI image may lack).

use std::path::Path;
use std::process::Command;

use crate::archive_support::{have, run, sample_ova, skip, write};
use ova_core::Error;
use ova_core::magic::FileFormat;
use ova_core::package::Ova;

fn expect(path: &Path, format: FileFormat, advice: &str) {
    match Ova::open(path) {
        Err(e @ Error::NotAnOva { .. }) => {
            let Error::NotAnOva {
                format: f,
                source_name,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(*f, format, "{}", path.display());
            assert_eq!(source_name, &path.display().to_string());
            let text = e.to_string();
            assert!(text.contains(advice), "{text}");
        }
        other => panic!("{}: {other:?}", path.display()),
    }
}

fn compressed(
    dir: &Path,
    tool: &str,
    args: &[&str],
    ova: &Path,
    suffix: &str,
) -> Option<std::path::PathBuf> {
    if !have(tool) {
        eprintln!("skipping {tool}: not found");
        return None;
    }
    let out = dir.join(format!("p.ova{suffix}"));
    let o = Command::new(tool).args(args).arg(ova).output().unwrap();
    assert!(o.status.success());
    std::fs::write(&out, o.stdout).unwrap();
    Some(out)
}

#[test]
fn compressed_packages_say_how_to_decompress() {
    let tmp = tempfile::tempdir().unwrap();
    let ova = write(tmp.path(), "p.ova", &sample_ova(20_000, 3000));
    for (tool, args, suffix, format, advice) in [
        (
            "gzip",
            &["-c"][..],
            ".gz",
            FileFormat::Gzip,
            "gunzip it first",
        ),
        ("xz", &["-c"][..], ".xz", FileFormat::Xz, "unxz it first"),
        (
            "bzip2",
            &["-c"][..],
            ".bz2",
            FileFormat::Bzip2,
            "bunzip2 it first",
        ),
        (
            "zstd",
            &["-c", "-q"][..],
            ".zst",
            FileFormat::Zstd,
            "unzstd it first",
        ),
    ] {
        if let Some(p) = compressed(tmp.path(), tool, args, &ova, suffix) {
            expect(&p, format, advice);
        } else if matches!(tool, "gzip" | "xz" | "bzip2") {
            skip(tool);
        }
    }
    // A gzip file shorter than one tar block.
    let tiny = write(tmp.path(), "tiny.gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    expect(&tiny, FileFormat::Gzip, "gunzip");
    if have("zip") {
        let z = tmp.path().join("p.zip");
        run(Command::new("zip").arg("-q").arg("-j").arg(&z).arg(&ova));
        expect(&z, FileFormat::Zip, "ova pack");
    }
}

#[test]
fn disks_images_and_descriptors_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let png = write(
        tmp.path(),
        "x.png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0",
    );
    expect(&png, FileFormat::Png, "not a virtual machine package");
    let ovf = write(
        tmp.path(),
        "x.ovf",
        crate::archive_support::descriptor(10, 10).as_bytes(),
    );
    expect(&ovf, FileFormat::Xml, "ova pack");
    if !have("qemu-img") {
        skip("qemu-img not found");
        return;
    }
    let q = tmp.path().join("d.qcow2");
    run(Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&q)
        .arg("1M"));
    expect(&q, FileFormat::Qcow2, "ova build");
    let v = tmp.path().join("d.vmdk");
    run(Command::new("qemu-img")
        .args([
            "create",
            "-q",
            "-f",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
        ])
        .arg(&v)
        .arg("1M"));
    expect(&v, FileFormat::Vmdk, "ova build");
}

#[test]
fn a_damaged_tar_is_still_a_bad_header() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = sample_ova(20_000, 3000);
    bytes[148] ^= 0x11; // the first header's checksum
    let p = write(tmp.path(), "bad.ova", &bytes);
    assert!(matches!(
        Ova::open(&p),
        Err(Error::BadHeader { offset: 0, .. })
    ));
}
