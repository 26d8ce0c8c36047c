//! Stopping long operations: a progress callback that returns `ControlFlow::Break` stops repack,
//! pack, extract, validate, manifest checks, signing, build and the VMDK conversions early with
//! `Error::Cancelled`. The callback has then seen far fewer bytes than the input holds, the
//! output folder holds no new file and no temporary file, and an existing file of the output's
//! name keeps every byte.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::archive_support::{data, sample_files, sample_ova, write};
use ova_core::build::{BuildOptions, build_ova, build_ova_to_writer};
use ova_core::manifest::{self, Algorithm};
use ova_core::package::{Ova, RepackOptions};
use ova_core::sign::{self, SigningKey};
use ova_core::vmdk::{self, VmdkWriter};
use ova_core::write::{LargeSize, ManifestChoice};
use ova_core::{Error, no_progress};
use test_support::package::listing;

const MIB: usize = 1 << 20;
/// The bytes an existing output file holds; they must survive a cancelled write.
const PRECIOUS: &[u8] = b"an existing file the user cares about\n";

/// What a stopping callback saw.
#[derive(Debug, Default)]
struct Seen {
    bytes: u64,
    calls: u32,
}

/// A progress callback that counts what it is given and says stop once it has seen at least
/// `after` bytes (so `after == 0` stops at the first call).
fn stop_after(after: u64, seen: &mut Seen) -> impl FnMut(u64) -> ControlFlow<()> + '_ {
    move |n| {
        seen.bytes += n;
        seen.calls += 1;
        if seen.bytes >= after {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// A folder `out` holding one existing file, `name`, with [`PRECIOUS`] bytes.
fn out_dir(root: &Path, name: &str) -> (PathBuf, PathBuf) {
    let dir = root.join("out");
    std::fs::create_dir(&dir).unwrap();
    let existing = write(&dir, name, PRECIOUS);
    (dir, existing)
}

/// `dir` holds exactly `existing` (no output, no temporary file), with its bytes intact.
fn untouched(dir: &Path, existing: &Path) {
    let name = existing.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(listing(dir), [name]);
    assert_eq!(std::fs::read(existing).unwrap(), PRECIOUS);
}

fn cancelled<T: std::fmt::Debug>(result: ova_core::Result<T>) {
    match result {
        Err(Error::Cancelled) => {}
        other => panic!("expected Error::Cancelled, got {other:?}"),
    }
}

/// A package with an 8 MiB disk and a 1 MiB iso, in `root/src`.
fn big_package(root: &Path) -> (PathBuf, u64) {
    let src = root.join("src");
    std::fs::create_dir(&src).unwrap();
    let bytes = sample_ova(8 * MIB, MIB);
    (write(&src, "big.ova", &bytes), bytes.len() as u64)
}

#[test]
fn repack_stops_at_the_next_buffer_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, size) = big_package(tmp.path());
    let (dir, existing) = out_dir(tmp.path(), "out.ova");
    let ova = Ova::open(&input).unwrap();
    for after in [0, 2 * MIB as u64] {
        let mut seen = Seen::default();
        cancelled(ova.repack(
            &existing,
            &RepackOptions::new(),
            &mut stop_after(after, &mut seen),
        ));
        assert!(seen.bytes <= after + MIB as u64, "{seen:?}");
        assert!(seen.bytes < size / 3, "{seen:?} of {size}");
        untouched(&dir, &existing);
    }
    // Over itself: the package stays as it was, and nothing is left beside it.
    let original = std::fs::read(&input).unwrap();
    let mut seen = Seen::default();
    cancelled(ova.repack(&input, &RepackOptions::new(), &mut stop_after(0, &mut seen)));
    assert_eq!(seen.calls, 1);
    drop(ova);
    assert_eq!(std::fs::read(&input).unwrap(), original);
    assert_eq!(listing(input.parent().unwrap()), ["big.ova"]);
}

#[test]
fn pack_stops_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let (d, disk, iso) = sample_files(8 * MIB, MIB);
    write(&src, "sample.ovf", &d);
    write(&src, "disk1.vmdk", &disk);
    write(&src, "extra.iso", &iso);
    let (dir, existing) = out_dir(tmp.path(), "packed.ova");
    let mut seen = Seen::default();
    cancelled(Ova::pack(
        &src,
        &existing,
        ManifestChoice::Sha256,
        LargeSize::Base256,
        &mut stop_after(0, &mut seen),
    ));
    assert_eq!(seen.calls, 1);
    assert!(seen.bytes <= MIB as u64, "{seen:?}");
    untouched(&dir, &existing);
    assert_eq!(
        listing(&src),
        ["disk1.vmdk", "extra.iso", "sample.ovf"],
        "the sources are untouched"
    );
}

#[test]
fn extract_stops_removes_the_entry_being_written_and_keeps_the_finished_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, size) = big_package(tmp.path());
    let ova = Ova::open(&input).unwrap();
    // An existing file named like the disk entry.
    let (dir, existing) = out_dir(tmp.path(), "disk1.vmdk");

    // Stopped at the first call (inside the descriptor): nothing is extracted.
    let mut seen = Seen::default();
    cancelled(ova.extract(&dir, &mut stop_after(0, &mut seen)));
    assert_eq!(seen.calls, 1);
    untouched(&dir, &existing);

    // Stopped inside the disk: the descriptor and manifest were finished and stay, the disk
    // being written is removed and the existing file of its name keeps its bytes.
    let mut seen = Seen::default();
    cancelled(ova.extract(&dir, &mut stop_after(2 * MIB as u64, &mut seen)));
    assert!(
        seen.bytes <= 3 * MIB as u64 && seen.bytes < size / 3,
        "{seen:?}"
    );
    assert_eq!(listing(&dir), ["disk1.vmdk", "sample.mf", "sample.ovf"]);
    assert_eq!(std::fs::read(&existing).unwrap(), PRECIOUS);
    let (descriptor, _, _) = sample_files(8 * MIB, MIB);
    assert_eq!(std::fs::read(dir.join("sample.ovf")).unwrap(), descriptor);
}

#[test]
fn validate_and_manifest_checks_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, size) = big_package(tmp.path());
    let ova = Ova::open(&input).unwrap();
    let mut seen = Seen::default();
    cancelled(ova.validate(&mut stop_after(0, &mut seen)));
    assert_eq!(seen.calls, 1);
    assert!(seen.bytes <= MIB as u64, "{seen:?}");

    let mut seen = Seen::default();
    cancelled(ova.verify_manifest(&mut stop_after(MIB as u64, &mut seen)));
    assert!(seen.bytes < size / 3, "{seen:?}");

    let mut seen = Seen::default();
    cancelled(manifest::verify_stream(
        std::fs::File::open(&input).unwrap(),
        &[Algorithm::Sha256],
        stop_after(0, &mut seen),
    ));
    assert_eq!(seen.calls, 1);

    let mut seen = Seen::default();
    cancelled(sign::verify_package(
        &input,
        None,
        &mut stop_after(0, &mut seen),
    ));
    assert_eq!(seen.calls, 1);
    assert_eq!(listing(input.parent().unwrap()), ["big.ova"]);
}

#[test]
fn signing_stops_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, _) = big_package(tmp.path());
    let (k, c) = sign::test_support::self_signed("Cancel Test").unwrap();
    let key = SigningKey::from_pem(&k, Some(&c), None).unwrap();
    let (dir, existing) = out_dir(tmp.path(), "signed.ova");
    let mut seen = Seen::default();
    cancelled(sign::sign_package(
        &input,
        &existing,
        &key,
        Algorithm::Sha256,
        &mut stop_after(0, &mut seen),
    ));
    assert_eq!(seen.calls, 1);
    untouched(&dir, &existing);
    // In place: the package keeps its bytes.
    let original = std::fs::read(&input).unwrap();
    let mut seen = Seen::default();
    cancelled(sign::sign_package(
        &input,
        &input,
        &key,
        Algorithm::Sha256,
        &mut stop_after(3 * MIB as u64, &mut seen),
    ));
    assert_eq!(std::fs::read(&input).unwrap(), original);
    assert_eq!(listing(input.parent().unwrap()), ["big.ova"]);
}

/// An 8 MiB raw disk of incompressible data in `root/src`.
fn raw_disk(root: &Path) -> PathBuf {
    let src = root.join("src");
    std::fs::create_dir_all(&src).unwrap();
    write(&src, "disk.raw", &data(8 * MIB, 7))
}

#[test]
fn build_stops_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = raw_disk(tmp.path());
    let (dir, existing) = out_dir(tmp.path(), "vm.ova");
    let options = BuildOptions::builder("vm").build().unwrap();
    let mut seen = Seen::default();
    cancelled(build_ova(
        &raw,
        &existing,
        &options,
        &mut stop_after(0, &mut seen),
    ));
    assert_eq!(seen.calls, 1);
    assert!(seen.bytes <= 2 * MIB as u64, "{seen:?}");
    untouched(&dir, &existing);

    // From a stream-optimized VMDK (copied into the package, not converted).
    let vmdk_path = tmp.path().join("src").join("disk.vmdk");
    vmdk::raw_to_vmdk(
        &raw,
        &vmdk_path,
        &VmdkWriter::new().with_level(1),
        &mut no_progress,
    )
    .unwrap();
    let mut seen = Seen::default();
    cancelled(build_ova(
        &vmdk_path,
        &existing,
        &options,
        &mut stop_after(0, &mut seen),
    ));
    assert_eq!(seen.calls, 1);
    assert!(seen.bytes <= MIB as u64, "{seen:?}");
    untouched(&dir, &existing);

    // To a writer: nothing at all is written to it.
    let mut out = Vec::new();
    let mut seen = Seen::default();
    cancelled(build_ova_to_writer(
        &raw,
        &mut out,
        &options,
        &mut stop_after(0, &mut seen),
    ));
    assert!(out.is_empty());
}

#[test]
fn vmdk_conversions_stop_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = raw_disk(tmp.path());
    let (dir, existing) = out_dir(tmp.path(), "disk.vmdk");
    let writer = VmdkWriter::new().with_level(1);

    let mut seen = Seen::default();
    cancelled(vmdk::raw_to_vmdk(
        &raw,
        &existing,
        &writer,
        &mut stop_after(0, &mut seen),
    ));
    assert_eq!(seen.calls, 1);
    assert!(seen.bytes <= 2 * MIB as u64, "{seen:?}");
    untouched(&dir, &existing);

    // The whole input is reported when nobody stops.
    let vmdk_path = tmp.path().join("src").join("disk.vmdk");
    let mut total = 0;
    vmdk::raw_to_vmdk(&raw, &vmdk_path, &writer, &mut |n| {
        total += n;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(total, 8 * MIB as u64);
    let vmdk_size = std::fs::metadata(&vmdk_path).unwrap().len();
    assert!(vmdk_size > 8 * MIB as u64, "random data does not compress");

    let existing_raw = write(&dir, "disk.img", PRECIOUS);
    std::fs::remove_file(&existing).unwrap();
    let mut seen = Seen::default();
    cancelled(vmdk::vmdk_to_raw(
        &vmdk_path,
        &existing_raw,
        &mut stop_after(0, &mut seen),
    ));
    assert_eq!(seen.calls, 1);
    assert!(seen.bytes < vmdk_size / 4, "{seen:?} of {vmdk_size}");
    untouched(&dir, &existing_raw);

    let mut total = 0;
    vmdk::vmdk_to_raw(&vmdk_path, dir.join("back.img"), &mut |n| {
        total += n;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(total, vmdk_size, "every byte of the VMDK is reported");
    assert_eq!(
        std::fs::read(dir.join("back.img")).unwrap(),
        data(8 * MIB, 7)
    );
}
