//! Interop with qemu-img: it accepts what we write, and we read what it writes.
//!
//! Skips with a message when `qemu-img` is missing; fails instead when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::tools::{self, run};

use ova_core::no_progress;
use ova_core::vmdk::{self, LayoutClass, VmdkProblem, VmdkWriter};

fn qemu_img() -> Option<PathBuf> {
    tools::require("qemu-img", "--version").then(|| PathBuf::from("qemu-img"))
}

/// A 40 MiB raw disk (two grain tables), data at the start, across the table boundary and in a
/// partial last sector, zeros elsewhere.
fn sample_raw(dir: &Path) -> (PathBuf, Vec<u8>) {
    let len = 40 * 1024 * 1024 + 1536;
    let mut raw = vec![0u8; len];
    let mut fill = |range: std::ops::Range<usize>, seed: usize| {
        for (i, b) in raw[range].iter_mut().enumerate() {
            *b = ((i * 131 + seed) % 251) as u8 ^ (i >> 9) as u8;
        }
    };
    fill(0..3 * 1024 * 1024, 1);
    fill(32 * 1024 * 1024 - 4096..32 * 1024 * 1024 + 70_000, 2);
    fill(len - 1000..len, 3);
    let path = dir.join("disk.raw");
    std::fs::write(&path, &raw).unwrap();
    (path, raw)
}

#[test]
fn qemu_img_accepts_our_output() {
    let Some(qemu) = qemu_img() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (raw_path, raw) = sample_raw(dir.path());
    let out = dir.path().join("disk.vmdk");
    let summary = vmdk::raw_to_vmdk(&raw_path, &out, &VmdkWriter::new(), &mut no_progress).unwrap();
    assert_eq!(
        summary.bytes_written,
        std::fs::metadata(&out).unwrap().len()
    );

    run(Command::new(&qemu).args(["check", "-f", "vmdk"]).arg(&out));
    run(Command::new(&qemu)
        .args(["compare", "-f", "raw", "-F", "vmdk"])
        .arg(&raw_path)
        .arg(&out));
    let info = run(Command::new(&qemu)
        .args(["info", "--output=json", "-f", "vmdk"])
        .arg(&out));
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["virtual-size"], raw.len() as u64);
    assert_eq!(
        info["format-specific"]["data"]["create-type"],
        "streamOptimized"
    );

    // qemu-img converts it back to the same raw bytes
    let back = dir.path().join("back.raw");
    run(Command::new(&qemu)
        .args(["convert", "-f", "vmdk", "-O", "raw"])
        .arg(&out)
        .arg(&back));
    assert!(std::fs::read(&back).unwrap() == raw);
}

#[test]
fn we_read_qemu_img_stream_output() {
    let Some(qemu) = qemu_img() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (raw_path, raw) = sample_raw(dir.path());
    let theirs = dir.path().join("qemu.vmdk");
    run(Command::new(&qemu)
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
        ])
        .arg(&raw_path)
        .arg(&theirs));

    let back = dir.path().join("ours.raw");
    vmdk::vmdk_to_raw(&theirs, &back, &mut no_progress).unwrap();
    assert!(std::fs::read(&back).unwrap() == raw);

    // a pure stream (no seeking) reads the same bytes
    let file = std::fs::File::open(&theirs).unwrap();
    let mut streamed = Vec::new();
    let summary = vmdk::StreamReader::new(std::io::BufReader::new(file))
        .unwrap()
        .copy_to(&mut streamed)
        .unwrap();
    assert!(streamed == raw);
    assert!(summary.footer.is_none());

    let info = vmdk::inspect_file(&theirs).unwrap();
    assert_eq!(info.layout, LayoutClass::GdAtFront);
    assert_eq!(info.capacity, raw.len() as u64);
    assert!(!info.has_footer);
    // the directory is in the header: no footer is needed
    assert!(!info.problems.contains(&VmdkProblem::NoFooter));
    assert!(
        info.problems
            .contains(&VmdkProblem::RedundantGrainDirectoryFlag)
    );
    assert!(
        !info.problems.iter().any(|p| matches!(
            p,
            VmdkProblem::GrainTableMismatch { .. } | VmdkProblem::Directory { .. }
        )),
        "{:?}",
        info.problems
    );
}

#[test]
fn we_read_qemu_img_output_of_our_output() {
    // qemu-img re-encoding our VMDK into its own stream layout keeps the bytes
    let Some(qemu) = qemu_img() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (raw_path, raw) = sample_raw(dir.path());
    let ours = dir.path().join("ours.vmdk");
    vmdk::raw_to_vmdk(
        &raw_path,
        &ours,
        &VmdkWriter::new().with_level(1),
        &mut no_progress,
    )
    .unwrap();
    let theirs = dir.path().join("theirs.vmdk");
    run(Command::new(&qemu)
        .args([
            "convert",
            "-f",
            "vmdk",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
        ])
        .arg(&ours)
        .arg(&theirs));
    let back = dir.path().join("back.raw");
    vmdk::vmdk_to_raw(&theirs, &back, &mut no_progress).unwrap();
    assert!(std::fs::read(&back).unwrap() == raw);
}

/// Offsets of every marker of a stream-optimized VMDK, up to and including the
/// end-of-stream marker (an independent walk over the on-disk format).
fn marker_offsets(vmdk: &[u8]) -> Vec<usize> {
    let u64_at = |at: usize| u64::from_le_bytes(vmdk[at..at + 8].try_into().unwrap());
    let u32_at = |at: usize| u32::from_le_bytes(vmdk[at..at + 4].try_into().unwrap());
    let mut at = (u64_at(64) * 512) as usize; // header.overhead
    let mut offsets = Vec::new();
    while at + 512 <= vmdk.len() {
        offsets.push(at);
        let (value, size) = (u64_at(at), u32_at(at + 8));
        if size > 0 {
            at += (12 + size as usize).div_ceil(512) * 512;
            continue;
        }
        if u32_at(at + 12) == 0 {
            return offsets; // end-of-stream
        }
        at += 512 + value as usize * 512;
    }
    panic!("no end-of-stream marker in the walk");
}

/// Truncating the stream exactly at any marker boundary gives a typed truncation error,
/// never a disk read as zeros.
fn assert_truncations_fail(vmdk: &[u8], raw: &[u8]) {
    let mut whole = Vec::new();
    vmdk::StreamReader::new(vmdk)
        .unwrap()
        .copy_to(&mut whole)
        .unwrap();
    assert!(whole == raw);
    let offsets = marker_offsets(vmdk);
    assert!(offsets.len() > 3, "{offsets:?}");
    let footer = offsets.len() >= 2 && {
        // a footer is a metadata marker of type 3 just before the end-of-stream marker
        let at = offsets[offsets.len() - 2];
        vmdk[at + 8..at + 12] == [0; 4] && vmdk[at + 12..at + 16] == 3u32.to_le_bytes()
    };
    for &cut in &offsets {
        if footer && cut == *offsets.last().unwrap() {
            // the footer is written after every grain: only the end-of-stream marker is
            // missing, the disk is complete (inspect flags it)
            let mut out = Vec::new();
            vmdk::StreamReader::new(&vmdk[..cut])
                .unwrap()
                .copy_to(&mut out)
                .unwrap();
            assert!(out == raw);
            let info = vmdk::inspect(std::io::Cursor::new(&vmdk[..cut])).unwrap();
            assert!(info.problems.contains(&VmdkProblem::NoEndOfStreamMarker));
            continue;
        }
        let mut out = Vec::new();
        let err = vmdk::StreamReader::new(&vmdk[..cut])
            .and_then(|r| r.copy_to(&mut out))
            .expect_err(&format!("truncated at {cut} read without error"));
        assert!(
            matches!(err, ova_core::Error::VmdkTruncated { .. }),
            "cut at {cut}: {err:?}"
        );
        // through `Read`, too
        let mut reader = vmdk::StreamReader::new(&vmdk[..cut]).unwrap();
        let err = std::io::copy(&mut reader, &mut std::io::sink()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "cut at {cut}");
    }
}

/// A 3.5 MiB raw disk with data in a few separate grains.
fn small_raw(dir: &Path) -> (PathBuf, Vec<u8>) {
    let mut raw = vec![0u8; 3 * 1024 * 1024 + 512 * 1024];
    for (i, b) in raw[..200_000].iter_mut().enumerate() {
        *b = (i * 7 % 253) as u8;
    }
    for (i, b) in raw[2_000_000..2_100_000].iter_mut().enumerate() {
        *b = (i * 13 % 241) as u8 | 1;
    }
    let path = dir.join("small.raw");
    std::fs::write(&path, &raw).unwrap();
    (path, raw)
}

#[test]
fn truncated_qemu_img_stream_is_an_error_at_every_marker() {
    let Some(qemu) = qemu_img() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (raw_path, raw) = small_raw(dir.path());
    let theirs = dir.path().join("qemu.vmdk");
    run(Command::new(&qemu)
        .args(["convert", "-f", "raw", "-O", "vmdk"])
        .args(["-o", "subformat=streamOptimized"])
        .arg(&raw_path)
        .arg(&theirs));
    assert_truncations_fail(&std::fs::read(&theirs).unwrap(), &raw);
}

#[test]
fn truncated_ovakit_stream_is_an_error_at_every_marker() {
    let dir = tempfile::tempdir().unwrap();
    let (raw_path, raw) = small_raw(dir.path());
    let ours = dir.path().join("ours.vmdk");
    vmdk::raw_to_vmdk(&raw_path, &ours, &VmdkWriter::new(), &mut no_progress).unwrap();
    assert_truncations_fail(&std::fs::read(&ours).unwrap(), &raw);
}
