//! Repack, pack, extract and in-place edit, end to end on files.

use std::ops::ControlFlow;
use std::process::Command;

use crate::archive_support::*;
use ova_core::Error;
use ova_core::archive::EntryKind;
use ova_core::manifest::Algorithm;
use ova_core::no_progress;
use ova_core::ovf::Edit;
use ova_core::package::{Ova, RepackOptions};
use ova_core::validate::has_errors;
use ova_core::write::{LargeSize, ManifestChoice};

fn names(ova: &Ova) -> Vec<String> {
    ova.entries().iter().map(|e| e.name.clone()).collect()
}

#[test]
fn sample_is_valid_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "s.ova", &sample_ova(5000, 700));
    let ova = Ova::open(&p).unwrap();
    let findings = ova.validate(&mut no_progress).unwrap();
    assert!(!has_errors(&findings), "{findings:?}");
    let (_, report) = ova.verify_manifest(&mut no_progress).unwrap().unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.matched.len(), 3);
}

#[test]
fn repack_reorders_edits_and_remanifests() {
    let tmp = tempfile::tempdir().unwrap();
    // A badly laid out source: disks first, manifest at the end with SHA1 written by a tool
    // using the spaced form, plus junk.
    let (d, disk, iso) = sample_files(3000, 100);
    let mut w = ova_core::write::OvaWriter::new(Vec::new());
    w.add_descriptor("sample.ovf", &d).unwrap();
    w.add_bytes("extra.iso", &iso).unwrap();
    w.add_bytes("disk1.vmdk", &disk).unwrap();
    w.add_bytes("notes.txt", b"unreferenced").unwrap();
    w.add_bytes(
        "sample.mf",
        format!(
            "SHA1 (sample.ovf) = {}\n",
            hex::encode(Algorithm::Sha1.digest(&d))
        )
        .as_bytes(),
    )
    .unwrap();
    w.add_bytes("sample.cert", b"SHA1(sample.mf)= 00\n")
        .unwrap();
    let src = write(tmp.path(), "src.ova", &w.finish().unwrap());
    let out = tmp.path().join("out.ova");
    let ova = Ova::open(&src).unwrap();
    let opts = RepackOptions::new()
        .with_manifest(ManifestChoice::Fresh(Algorithm::Sha1))
        .with_edits(vec![
            Edit::set_virtual_system_type("vmx-07"),
            Edit::set_cpus(2),
        ]);
    let mut seen = 0;
    let report = ova
        .repack(&out, &opts, &mut |n| {
            seen += n;
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen, 3000 + 100 + 12);
    assert!(report.dropped.iter().any(|(n, _)| n == "sample.cert"));
    let new = Ova::open(&out).unwrap();
    assert_eq!(
        names(&new),
        [
            "sample.ovf",
            "sample.mf",
            "disk1.vmdk",
            "extra.iso",
            "notes.txt"
        ]
    );
    assert!(new.index().descriptor_is_first_block());
    let xml = String::from_utf8(new.descriptor_bytes().unwrap()).unwrap();
    assert!(xml.contains("<vssd:VirtualSystemType>vmx-07</vssd:VirtualSystemType>"));
    let (m, r) = new.verify_manifest(&mut no_progress).unwrap().unwrap();
    assert!(
        m.lines
            .iter()
            .all(|l| l.algorithm == Algorithm::Sha1 && l.variants.is_empty())
    );
    assert_eq!(r.matched.len(), 4);
    assert!(r.is_ok());
    let text = String::from_utf8(
        new.archive()
            .read_entry(new.index().manifest().unwrap(), 1 << 20)
            .unwrap(),
    )
    .unwrap();
    assert!(text.starts_with("SHA1(sample.ovf)= "));
    // Without a manifest.
    let out2 = tmp.path().join("nomf.ova");
    ova.repack(
        &out2,
        &RepackOptions::new().with_manifest(ManifestChoice::None),
        &mut no_progress,
    )
    .unwrap();
    assert!(Ova::open(&out2).unwrap().index().manifest().is_none());
    // No temp files left beside the outputs.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[cfg(unix)]
#[test]
fn outputs_get_ordinary_permissions_and_replaced_files_keep_theirs() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let tmp = tempfile::tempdir().unwrap();
    let src = write(tmp.path(), "src.ova", &sample_ova(3000, 100));
    let ova = Ova::open(&src).unwrap();
    // A new output: what any newly created file gets here (0666 less the umask).
    let reference = tmp.path().join("reference");
    std::fs::File::create(&reference).unwrap();
    let out = tmp.path().join("new.ova");
    ova.repack(&out, &RepackOptions::new(), &mut no_progress)
        .unwrap();
    assert_eq!(mode(&out), mode(&reference));
    // Replacing a file: its mode is kept as it was.
    let replaced = tmp.path().join("replaced.ova");
    std::fs::write(&replaced, b"old").unwrap();
    std::fs::set_permissions(&replaced, std::fs::Permissions::from_mode(0o640)).unwrap();
    ova.repack(&replaced, &RepackOptions::new(), &mut no_progress)
        .unwrap();
    assert_eq!(mode(&replaced), 0o640);
    assert!(Ova::open(&replaced).unwrap().index().manifest().is_some());
    // The same for a built package (a different writer path).
    let raw = write(tmp.path(), "disk.raw", &data(1 << 20, 7));
    let built = tmp.path().join("built.ova");
    ova_core::build::build_ova(
        &raw,
        &built,
        &ova_core::build::BuildOptions::builder("vm")
            .build()
            .unwrap(),
        &mut no_progress,
    )
    .unwrap();
    assert_eq!(mode(&built), mode(&reference));
}

#[test]
fn repack_failure_leaves_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, _, _) = sample_files(10, 10);
    let mut w = ova_core::write::OvaWriter::new(Vec::new());
    w.add_descriptor("sample.ovf", &d).unwrap();
    let src = write(tmp.path(), "src.ova", &w.finish().unwrap());
    let out = tmp.path().join("out.ova");
    let err = Ova::open(&src)
        .unwrap()
        .repack(&out, &RepackOptions::new(), &mut no_progress)
        .unwrap_err();
    assert!(matches!(err, Error::MissingEntry { .. }), "{err}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn in_place_edit_rewrites_only_descriptor_and_manifest_line() {
    let tmp = tempfile::tempdir().unwrap();
    let original = sample_ova(200_000, 1000);
    let p = write(tmp.path(), "s.ova", &original);
    let before = Ova::open(&p).unwrap();
    let d = before.index().descriptor().unwrap().clone();
    let mf = before.index().manifest().unwrap().clone();
    drop(before);
    let r = Ova::edit_in_place(&p, &[Edit::set_virtual_system_type("vmx-07")]).unwrap();
    assert_eq!(r.manifest_lines, vec![1]);
    assert!(!r.recovered);
    let after_bytes = std::fs::read(&p).unwrap();
    assert_eq!(after_bytes.len(), original.len());
    // Everything outside the descriptor's data blocks and the manifest's data is identical.
    let changed: Vec<usize> = (0..original.len())
        .filter(|&i| original[i] != after_bytes[i])
        .collect();
    let d_range = d.data_offset as usize..d.end_offset() as usize;
    let mf_range = mf.data_offset as usize..(mf.data_offset + mf.size) as usize;
    assert!(!changed.is_empty());
    assert!(
        changed
            .iter()
            .all(|i| d_range.contains(i) || mf_range.contains(i) || (*i as u64) < 512)
    );
    let ova = Ova::open(&p).unwrap();
    let xml = String::from_utf8(ova.descriptor_bytes().unwrap()).unwrap();
    assert!(xml.contains(">vmx-07<"));
    assert!(ova_core::ovf::Descriptor::parse(xml.as_bytes()).is_ok());
    let findings = ova.validate(&mut no_progress).unwrap();
    assert!(!has_errors(&findings), "{findings:?}");
    assert!(
        ova.verify_manifest(&mut no_progress)
            .unwrap()
            .unwrap()
            .1
            .is_ok()
    );
    if have("tar") {
        run(Command::new("tar").arg("-tvf").arg(&p));
    }
}

#[test]
fn in_place_edit_that_grows_within_the_last_block() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "s.ova", &sample_ova(1000, 10));
    let d_size = Ova::open(&p).unwrap().index().descriptor().unwrap().size;
    let room = ova_core::tar::padding(d_size) as usize;
    // A name a few bytes longer than "sample" still fits when there is room in the block.
    let grow = room.saturating_sub(1).min(40);
    let name = format!("sample{}", "x".repeat(grow));
    let r = Ova::edit_in_place(&p, &[Edit::set_name(name.clone())]).unwrap();
    assert_eq!(r.descriptor_size.1, d_size + grow as u64);
    let ova = Ova::open(&p).unwrap();
    assert!(
        String::from_utf8(ova.descriptor_bytes().unwrap())
            .unwrap()
            .contains(&name)
    );
    assert!(
        ova.verify_manifest(&mut no_progress)
            .unwrap()
            .unwrap()
            .1
            .is_ok()
    );
}

#[test]
fn in_place_edit_that_does_not_fit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let original = sample_ova(1000, 10);
    let p = write(tmp.path(), "s.ova", &original);
    let err = Ova::edit_in_place(&p, &[Edit::set_name("n".repeat(2000))]).unwrap_err();
    assert!(matches!(err, Error::InPlaceImpossible { .. }), "{err}");
    assert_eq!(std::fs::read(&p).unwrap(), original);
}

#[test]
fn in_place_recovers_from_an_interrupted_edit() {
    let tmp = tempfile::tempdir().unwrap();
    let original = sample_ova(1000, 10);
    let p = write(tmp.path(), "s.ova", &original);
    // Simulate a crash after the journal was written and the data partly changed: run a real
    // edit on a copy to learn the plan, then write its journal for the original by hand.
    let ova = Ova::open(&p).unwrap();
    let d = ova.index().descriptor().unwrap().clone();
    drop(ova);
    let mut damaged = original.clone();
    damaged[d.data_offset as usize..d.data_offset as usize + 10].copy_from_slice(b"GARBAGE!!!");
    // Journal format: magic, count, (offset, len, bytes)*, sha256 trailer.
    let mut j = b"OVAKIT-INPLACE-JOURNAL-1\n".to_vec();
    j.extend(1u64.to_le_bytes());
    j.extend(d.data_offset.to_le_bytes());
    j.extend(10u64.to_le_bytes());
    j.extend(&original[d.data_offset as usize..d.data_offset as usize + 10]);
    let sum = Algorithm::Sha256.digest(&j);
    j.extend(sum);
    std::fs::write(&p, &damaged).unwrap();
    std::fs::write(ova_core::inplace::journal_path(&p), &j).unwrap();
    assert!(ova_core::inplace::recover(&p).unwrap());
    assert_eq!(std::fs::read(&p).unwrap(), original);
    assert!(!ova_core::inplace::journal_path(&p).exists());
    // A torn journal (crash while writing it) is discarded without touching the archive.
    std::fs::write(ova_core::inplace::journal_path(&p), &j[..j.len() - 5]).unwrap();
    assert!(!ova_core::inplace::recover(&p).unwrap());
    assert_eq!(std::fs::read(&p).unwrap(), original);
}

#[test]
fn signed_packages_are_not_edited_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let (d, disk, _) = sample_files(10, 10);
    let mut w = ova_core::write::OvaWriter::new(Vec::new());
    w.add_descriptor("sample.ovf", &d).unwrap();
    w.add_manifest("sample.mf", b"").unwrap();
    w.add_certificate("sample.cert", b"x").unwrap();
    w.add_bytes("disk1.vmdk", &disk).unwrap();
    let p = write(tmp.path(), "s.ova", &w.finish().unwrap());
    let err = Ova::edit_in_place(&p, &[Edit::set_cpus(4)]).unwrap_err();
    assert!(matches!(err, Error::InPlaceImpossible { .. }));
}

#[test]
fn pack_and_extract_roundtrip() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let (d, disk, iso) = sample_files(70_000, 3);
    write(&src, "sample.ovf", &d);
    write(&src, "disk1.vmdk", &disk);
    write(&src, "extra.iso", &iso);
    let out = tmp.path().join("p.ova");
    Ova::pack(
        &src,
        &out,
        ManifestChoice::Sha256,
        LargeSize::Base256,
        &mut no_progress,
    )
    .unwrap();
    let ova = Ova::open(&out).unwrap();
    assert_eq!(
        names(&ova),
        ["sample.ovf", "sample.mf", "disk1.vmdk", "extra.iso"]
    );
    assert_eq!(ova.entries()[1].kind, EntryKind::Manifest);
    assert!(!has_errors(&ova.validate(&mut no_progress).unwrap()));
    // Packing the .ovf file directly gives the same bytes.
    let out2 = tmp.path().join("p2.ova");
    Ova::pack(
        src.join("sample.ovf"),
        &out2,
        ManifestChoice::Sha256,
        LargeSize::Base256,
        &mut no_progress,
    )
    .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
    let x = tmp.path().join("x");
    let written = ova.extract(&x, &mut no_progress).unwrap();
    assert_eq!(written.len(), 4);
    assert_eq!(std::fs::read(x.join("disk1.vmdk")).unwrap(), disk);
    assert_eq!(std::fs::read(x.join("sample.ovf")).unwrap(), d);
    // A missing referenced file is a typed error and nothing is written.
    std::fs::remove_file(src.join("extra.iso")).unwrap();
    let out3 = tmp.path().join("p3.ova");
    let err = Ova::pack(
        &src,
        &out3,
        ManifestChoice::None,
        LargeSize::Base256,
        &mut no_progress,
    )
    .unwrap_err();
    assert!(matches!(err, Error::MissingEntry { .. }), "{err}");
    assert!(!out3.exists());
}
