//! Hostile and broken archives give a typed error or a finding, never a panic, and extraction
//! never writes outside its directory.

use std::io::Read;

use crate::archive_support::*;
use ova_core::Error;
use ova_core::archive::{ArchiveIndex, ArchiveReader, EntryProblem};
use ova_core::no_progress;
use ova_core::package::Ova;
use ova_core::tar::{self, LargeSize};
use ova_core::validate::has_errors;

/// A raw header with any name and type flag.
fn header(name: &[u8], size: u64, flag: u8, link: &[u8]) -> Vec<u8> {
    let mut b = tar::ustar_header("x", size, 0, LargeSize::Base256).unwrap();
    b[..100].fill(0);
    b[..name.len()].copy_from_slice(name);
    b[156] = flag;
    b[157..157 + link.len()].copy_from_slice(link);
    tar::set_checksum(&mut b);
    b.to_vec()
}

fn entry(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = header(name, data.len() as u64, b'0', b"");
    v.extend(data);
    v.resize(v.len() + tar::padding(data.len() as u64) as usize, 0);
    v
}

fn stream_all(bytes: &[u8]) -> ova_core::Result<usize> {
    let mut r = ArchiveReader::new(bytes);
    let mut n = 0;
    while let Some(mut e) = r.next_entry()? {
        let mut sink = Vec::new();
        e.read_to_end(&mut sink)
            .map_err(|source| Error::ArchiveRead { offset: 0, source })?;
        n += 1;
    }
    Ok(n)
}

fn package(entries: &[Vec<u8>]) -> Vec<u8> {
    let (d, _, _) = sample_files(1, 1);
    let mut v = entry(b"sample.ovf", &d);
    for e in entries {
        v.extend(e);
    }
    v.extend([0u8; 1024]);
    v
}

#[test]
fn traversal_links_and_devices_are_findings_and_block_extraction() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("abs", entry(b"/tmp/evil", b"x"), "unsafe-entry-name"),
        ("dotdot", entry(b"../evil", b"x"), "unsafe-entry-name"),
        (
            "symlink",
            header(b"link", 0, b'2', b"/etc/passwd"),
            "entry-is-link",
        ),
        (
            "hardlink",
            header(b"hard", 0, b'1', b"sample.ovf"),
            "entry-is-link",
        ),
        ("chardev", header(b"dev", 0, b'3', b""), "entry-is-special"),
        ("fifo", header(b"fifo", 0, b'6', b""), "entry-is-special"),
        ("dup", entry(b"sample.ovf", b"<x/>"), "duplicate-entry"),
        (
            "appledouble",
            entry(b"._disk1.vmdk", b"x"),
            "appledouble-entry",
        ),
    ];
    for (label, e, code) in cases {
        let p = write(tmp.path(), &format!("{label}.ova"), &package(&[e]));
        let ova = Ova::open(&p).unwrap();
        let findings = ova.validate(&mut no_progress).unwrap();
        assert!(
            findings.iter().any(|f| f.code == code),
            "{label}: {findings:?}"
        );
        assert!(has_errors(&findings), "{label}");
        let dir = tmp.path().join(format!("x-{label}"));
        match ova.extract(&dir, &mut no_progress) {
            Err(Error::UnsafeEntry { .. }) => {
                // Nothing at all was written.
                assert!(!dir.exists() || std::fs::read_dir(&dir).unwrap().count() == 0);
            }
            Ok(files) => {
                // Only harmless cases may extract, and only inside the directory.
                assert_eq!(label, "appledouble", "{label} extracted");
                assert!(files.iter().all(|f| f.starts_with(&dir)));
            }
            Err(e) => panic!("{label}: unexpected {e}"),
        }
    }
    assert!(!tmp.path().join("evil").exists());
    assert!(!std::path::Path::new("/tmp/evil").exists());
}

#[test]
fn extraction_refuses_symlinked_parent_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let dir = tmp.path().join("x");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("sub")).unwrap();
    let p = write(tmp.path(), "a.ova", &package(&[entry(b"sub/file", b"x")]));
    let err = Ova::open(&p)
        .unwrap()
        .extract(&dir, &mut no_progress)
        .unwrap_err();
    assert!(matches!(err, Error::UnsafeEntry { .. }), "{err}");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn truncated_archives() {
    let full = sample_ova(10_000, 100);
    for cut in [1, 100, 511, 512, 513, 600, 1500, 3000, full.len() - 1100] {
        let bytes = &full[..cut];
        match stream_all(bytes) {
            Err(Error::Truncated { .. } | Error::ArchiveRead { .. }) => {}
            other => panic!("cut {cut}: {other:?}"),
        }
    }
    // The indexed reader reports the entry that runs past the end instead.
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "t.ova", &full[..3000]);
    let ova = Ova::open(&p).unwrap();
    let last = ova.entries().last().unwrap();
    assert!(matches!(
        last.problems.last(),
        Some(EntryProblem::SizePastEnd { .. })
    ));
    let findings = ova.validate(&mut no_progress).unwrap();
    assert!(
        findings.iter().any(|f| f.code == "entry-past-end"),
        "{findings:?}"
    );
    assert!(matches!(
        ova.extract(tmp.path().join("x"), &mut no_progress),
        Err(Error::UnsafeEntry { .. })
    ));
}

#[test]
fn huge_sizes() {
    // A base-256 size of 2^62 bytes: the indexed reader reports it, the stream reader fails.
    let bytes = package(&[header(b"disk1.vmdk", 1 << 62, b'0', b"")]);
    let idx = ArchiveIndex::read(std::io::Cursor::new(&bytes), bytes.len() as u64).unwrap();
    assert!(matches!(
        idx.entries[1].problems.last(),
        Some(EntryProblem::SizePastEnd { .. })
    ));
    assert!(matches!(
        stream_all(&bytes),
        Err(Error::Truncated { .. } | Error::ArchiveRead { .. })
    ));
    // u64::MAX: padding would overflow.
    let mut h = header(b"disk1.vmdk", 0, b'0', b"");
    h[124] = 0x80;
    h[125..136].fill(0xff);
    let mut b: [u8; 512] = h.try_into().unwrap();
    tar::set_checksum(&mut b);
    let bytes = package(&[b.to_vec()]);
    assert!(ArchiveIndex::read(std::io::Cursor::new(&bytes), bytes.len() as u64).is_err());
    assert!(stream_all(&bytes).is_err());
    // A pax header claiming a huge size record.
    let rec = b"30 size=99999999999999999999\n";
    let mut pax = header(b"././@PaxHeader", rec.len() as u64 - 1, b'x', b"");
    pax.extend(&rec[..rec.len() - 1]);
    pax.resize(1024, 0);
    pax.extend(header(b"a", 0, b'0', b""));
    assert!(matches!(stream_all(&pax), Err(Error::BadPax { .. })));
}

#[test]
fn not_a_tar() {
    for bytes in [
        b"PK\x03\x04 this is a zip".repeat(100),
        vec![0xffu8; 4096],
        b"<?xml version='1.0'?><Envelope/>".to_vec(),
    ] {
        // A zip and an .ovf are named for what they are; unknown bytes are a bad header.
        assert!(matches!(
            stream_all(&bytes),
            Err(Error::BadHeader { offset: 0, .. }) | Err(Error::NotAnOva { .. })
        ));
        assert_eq!(
            matches!(stream_all(&bytes), Err(Error::NotAnOva { .. })),
            bytes[0] != 0xff
        );
        let tmp = tempfile::tempdir().unwrap();
        let p = write(tmp.path(), "z.ova", &bytes);
        assert!(Ova::open(&p).is_err());
    }
    // Empty input: no entries and no error, but no descriptor either.
    assert_eq!(stream_all(b"").unwrap(), 0);
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "empty.ova", b"");
    let ova = Ova::open(&p).unwrap();
    let findings = ova.validate(&mut no_progress).unwrap();
    assert!(
        findings.iter().any(|f| f.code == "descriptor-missing"),
        "{findings:?}"
    );
}

#[test]
fn xml_bomb_descriptor_is_a_finding() {
    let bomb = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1">&lol2;</Envelope>"#;
    let mut v = entry(b"bomb.ovf", bomb);
    v.extend([0u8; 1024]);
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "bomb.ova", &v);
    let ova = Ova::open(&p).unwrap();
    assert!(ova.descriptor().is_err());
    let findings = ova.validate(&mut no_progress).unwrap();
    assert!(
        findings.iter().any(|f| f.code == "xml-not-well-formed"),
        "{findings:?}"
    );
}

#[test]
fn random_garbage_never_panics() {
    let base = sample_ova(3000, 10);
    let mut x: u64 = 0x1234_5678;
    for _ in 0..300 {
        let mut b = base.clone();
        for _ in 0..8 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (x >> 33) as usize % b.len();
            b[i] = (x >> 17) as u8;
        }
        let _ = stream_all(&b);
        let _ = ArchiveIndex::read(std::io::Cursor::new(&b), b.len() as u64);
        let _ = ova_core::manifest::verify_stream(
            &b[..],
            &[ova_core::manifest::Algorithm::Sha256],
            no_progress,
        );
    }
}
