//! QCOW2 and VHD interop with qemu-img as the judge: `qemu-img check` finds nothing wrong with
//! what we write and `qemu-img compare` finds it identical to the source; we read what
//! `qemu-img convert -O qcow2` (with and without `-c`) and `-O vpc -o subformat=dynamic` write
//! and give the same bytes; an OVA's disk converted by us and by qemu-img from the extracted
//! VMDK compare identical.
//!
//! Skips with a message when `qemu-img` is missing; fails instead when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::tools::{self, run};

use ova_core::build::{BuildOptions, build_ova};
use ova_core::disk::qcow2::Qcow2Reader;
use ova_core::disk::vhd::VhdReader;
use ova_core::disk::{self, ConvertOptions, DiskInfo, Format};
use ova_core::no_progress;

fn qemu_img() -> Option<PathBuf> {
    tools::require("qemu-img", "--version").then(|| PathBuf::from("qemu-img"))
}

/// A raw disk of `len` bytes spanning two L2 tables of 64 KiB clusters (512 MiB each) when
/// `len` allows, mixing zeros, repetitive data (compresses), noise (does not) and a partial last
/// cluster; sparse on disk where it is zero.
fn sample_raw(dir: &Path, len: u64) -> PathBuf {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("disk.raw");
    let mut f = std::fs::File::create(&path).unwrap();
    f.set_len(len).unwrap();
    let mut put = |at: u64, n: usize, seed: u32, noisy: bool| {
        if at >= len {
            return;
        }
        let n = n.min((len - at) as usize);
        let bytes: Vec<u8> = (0..n as u32)
            .map(|i| {
                if noisy {
                    (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 11) as u8
                } else {
                    ((i / 97 + seed) % 13) as u8
                }
            })
            .collect();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(&bytes).unwrap();
    };
    put(0, 3 << 20, 1, false);
    put(3 << 20, 1 << 20, 2, true);
    put((5 << 20) + 4096, 70_000, 3, false);
    put((512 << 20) - 30_000, 100_000, 4, true);
    put((600 << 20) + 12_345, 200_000, 5, false);
    put(len.saturating_sub(777), 777, 6, false);
    path
}

const LEN: u64 = (640 << 20) + 1234;

/// `qemu-img check` for QCOW2 (no corruption, leak or check error); qemu has no check for VHD
/// (it exits 63, "does not support checks"), so there `qemu-img info` must open the image.
fn check_clean(qemu: &Path, fmt: &str, image: &Path) {
    if fmt != "qcow2" {
        run(Command::new(qemu).args(["info", "-f", fmt]).arg(image));
        return;
    }
    let out = run(Command::new(qemu)
        .args(["check", "--output=json", "-f", fmt])
        .arg(image));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in ["corruptions", "leaks", "check-errors"] {
        assert_eq!(
            v.get(key).and_then(|x| x.as_u64()).unwrap_or(0),
            0,
            "{key}: {out}"
        );
    }
}

#[test]
fn qemu_img_accepts_our_qcow2_plain_and_compressed() {
    let Some(qemu) = qemu_img() else { return };
    let dir = tempfile::tempdir().unwrap();
    let raw = sample_raw(dir.path(), LEN);
    for compress in [false, true] {
        let out = dir.path().join(format!("ours-{compress}.qcow2"));
        let options = ConvertOptions::new(Format::Qcow2).with_compression(compress);
        let s = disk::convert_file(&raw, &out, &options, &mut no_progress).unwrap();
        assert_eq!(s.bytes_written, std::fs::metadata(&out).unwrap().len());
        assert_eq!(s.virtual_size, LEN.next_multiple_of(512));
        check_clean(&qemu, "qcow2", &out);
        run(Command::new(&qemu)
            .args(["compare", "-f", "raw", "-F", "qcow2"])
            .arg(&raw)
            .arg(&out));
        let info = run(Command::new(&qemu)
            .args(["info", "--output=json", "-f", "qcow2"])
            .arg(&out));
        let info: serde_json::Value = serde_json::from_str(&info).unwrap();
        assert_eq!(info["virtual-size"], LEN.next_multiple_of(512));
        assert_eq!(info["format-specific"]["data"]["compat"], "1.1");
        let DiskInfo::Qcow2(ours) = disk::info_file(&out).unwrap() else {
            panic!("not qcow2")
        };
        assert!(ours.problems.is_empty(), "{:?}", ours.problems);
        assert_eq!(ours.compressed_clusters > 0, compress);
    }
}

#[test]
fn qemu_img_accepts_our_vhd() {
    let Some(qemu) = qemu_img() else { return };
    let dir = tempfile::tempdir().unwrap();
    let raw = sample_raw(dir.path(), LEN);
    let out = dir.path().join("ours.vhd");
    let s = disk::convert_file(
        &raw,
        &out,
        &ConvertOptions::new(Format::Vhd),
        &mut no_progress,
    )
    .unwrap();
    assert!(s.virtual_size >= LEN);
    check_clean(&qemu, "vpc", &out);
    // the extra sectors of the CHS rounding read as zeros: compare without -s accepts them
    run(Command::new(&qemu)
        .args(["compare", "-f", "raw", "-F", "vpc"])
        .arg(&raw)
        .arg(&out));
    // qemu-img itself rounds the same size to the same geometry
    let theirs = dir.path().join("theirs.vhd");
    run(Command::new(&qemu)
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vpc",
            "-o",
            "subformat=dynamic",
        ])
        .arg(&raw)
        .arg(&theirs));
    let info = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&run(Command::new(&qemu)
            .args(["info", "--output=json", "-f", "vpc"])
            .arg(p)))
        .unwrap()
    };
    assert_eq!(info(&out)["virtual-size"], info(&theirs)["virtual-size"]);
    assert_eq!(info(&out)["virtual-size"], s.virtual_size);
    let (DiskInfo::Vhd(a), DiskInfo::Vhd(b)) = (
        disk::info_file(&out).unwrap(),
        disk::info_file(&theirs).unwrap(),
    ) else {
        panic!("not vhd")
    };
    assert_eq!(a.geometry, b.geometry);
    assert_eq!(a.virtual_size, b.virtual_size);
    assert_eq!(a.blocks_allocated, b.blocks_allocated);
    // same layout as qemu's: only the ids, times and creator differ
    assert_eq!(
        std::fs::metadata(&out).unwrap().len(),
        std::fs::metadata(&theirs).unwrap().len()
    );
}

fn read_all(image: &Path, fmt: Format) -> Vec<u8> {
    let f = std::fs::File::open(image).unwrap();
    let mut out = Vec::new();
    match fmt {
        Format::Qcow2 => {
            Qcow2Reader::new(f).unwrap().copy_to(&mut out).unwrap();
        }
        Format::Vhd => {
            VhdReader::new(f).unwrap().copy_to(&mut out).unwrap();
        }
        _ => unreachable!(),
    }
    out
}

#[test]
fn we_read_what_qemu_img_writes() {
    let Some(qemu) = qemu_img() else { return };
    let dir = tempfile::tempdir().unwrap();
    let raw = sample_raw(dir.path(), LEN);
    let expected = std::fs::read(&raw).unwrap();
    for (name, args, fmt) in [
        ("plain.qcow2", &["-O", "qcow2"][..], Format::Qcow2),
        ("packed.qcow2", &["-c", "-O", "qcow2"][..], Format::Qcow2),
        (
            "v2.qcow2",
            &["-O", "qcow2", "-o", "compat=0.10"][..],
            Format::Qcow2,
        ),
        (
            "small-clusters.qcow2",
            &[
                "-c",
                "-O",
                "qcow2",
                "-o",
                "cluster_size=4096,refcount_bits=1",
            ][..],
            Format::Qcow2,
        ),
        (
            "dynamic.vhd",
            &["-O", "vpc", "-o", "subformat=dynamic"][..],
            Format::Vhd,
        ),
        (
            "fixed.vhd",
            &["-O", "vpc", "-o", "subformat=fixed"][..],
            Format::Vhd,
        ),
    ] {
        let image = dir.path().join(name);
        run(Command::new(&qemu)
            .args(["convert", "-f", "raw"])
            .args(args)
            .arg(&raw)
            .arg(&image));
        let info = disk::info_file(&image).unwrap();
        assert_eq!(info.format(), fmt, "{name}");
        if fmt == Format::Qcow2 {
            assert!(info.problems().is_empty(), "{name}: {:?}", info.problems());
        }
        let back = read_all(&image, fmt);
        assert!(back.len() as u64 >= LEN, "{name}");
        assert_eq!(&back[..LEN as usize], &expected[..], "{name}");
        assert!(back[LEN as usize..].iter().all(|&b| b == 0), "{name}");
        // and converting it back to raw with our command gives the same bytes
        let again = dir.path().join(format!("{name}.raw"));
        disk::convert_file(
            &image,
            &again,
            &ConvertOptions::new(Format::Raw),
            &mut no_progress,
        )
        .unwrap();
        assert_eq!(std::fs::read(&again).unwrap(), back, "{name}");
    }
}

#[test]
fn an_ova_disk_converts_as_qemu_img_converts_the_extracted_vmdk() {
    let Some(qemu) = qemu_img() else { return };
    let dir = tempfile::tempdir().unwrap();
    let raw = sample_raw(dir.path(), 40 << 20);
    let ova = dir.path().join("appliance.ova");
    let opts = BuildOptions::builder("appliance").build().unwrap();
    build_ova(&raw, &ova, &opts, &mut no_progress).unwrap();
    // extract the VMDK with GNU tar, as a user would
    let extracted = dir.path().join("x");
    std::fs::create_dir(&extracted).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&ova)
        .arg("-C")
        .arg(&extracted));
    let vmdk = extracted.join(opts.disk_name());
    for (to, fmt, qemu_args) in [
        (Format::Qcow2, "qcow2", &["-O", "qcow2"][..]),
        (
            Format::Vhd,
            "vpc",
            &["-O", "vpc", "-o", "subformat=dynamic"][..],
        ),
    ] {
        let ours = dir.path().join(format!("ours.{to}"));
        let (choice, s) = disk::convert_ova_disk(
            &ova,
            None,
            &ours,
            &ConvertOptions::new(to),
            &mut no_progress,
        )
        .unwrap();
        assert!(choice.by_default);
        assert_eq!(choice.entry, opts.disk_name());
        assert_eq!(s.from, Format::Vmdk);
        let theirs = dir.path().join(format!("theirs.{to}"));
        run(Command::new(&qemu)
            .args(["convert", "-f", "vmdk"])
            .args(qemu_args)
            .arg(&vmdk)
            .arg(&theirs));
        check_clean(&qemu, fmt, &ours);
        run(Command::new(&qemu)
            .args(["compare", "-f", fmt, "-F", fmt])
            .arg(&ours)
            .arg(&theirs));
    }
    let missing = disk::convert_ova_disk(
        &ova,
        Some("nope"),
        dir.path().join("x.qcow2"),
        &ConvertOptions::new(Format::Qcow2),
        &mut no_progress,
    );
    assert!(matches!(missing, Err(ova_core::Error::MissingEntry { .. })));
    assert!(!dir.path().join("x.qcow2").exists());
}

#[test]
fn cross_conversions_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let raw = sample_raw(dir.path(), 9 << 20);
    let expected = std::fs::read(&raw).unwrap();
    // raw → vmdk → qcow2 (compressed) → vhd → raw
    let mut src = raw.clone();
    for (to, compress) in [
        (Format::Vmdk, false),
        (Format::Qcow2, true),
        (Format::Vhd, false),
        (Format::Qcow2, false),
        (Format::Raw, false),
    ] {
        let out = dir.path().join(format!("step.{}.{to}", compress));
        let options = ConvertOptions::new(to).with_compression(compress);
        let s = disk::convert_file(&src, &out, &options, &mut no_progress).unwrap();
        assert_eq!(s.to, to);
        src = out;
    }
    let back = std::fs::read(&src).unwrap();
    assert!(back.len() >= expected.len());
    assert_eq!(&back[..expected.len()], &expected[..]);
    assert!(back[expected.len()..].iter().all(|&b| b == 0));
}

#[test]
fn empty_images_from_qemu_img_read_as_no_bytes() {
    let Some(qemu) = qemu_img() else { return };
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("empty.qcow2");
    run(Command::new(&qemu)
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&image)
        .arg("0"));
    let info = disk::info_file(&image).unwrap();
    assert_eq!((info.format(), info.virtual_size()), (Format::Qcow2, 0));
    assert!(read_all(&image, Format::Qcow2).is_empty());
}
