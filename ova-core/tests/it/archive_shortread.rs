//! The streaming reader gives the same entries and data whatever the read sizes of its source.

use std::io::Read;

use crate::archive_support::*;
use ova_core::archive::ArchiveReader;
use ova_core::manifest::{self, Algorithm};
use ova_core::no_progress;

fn collect<R: Read>(r: R) -> Vec<(ova_core::archive::EntryInfo, Vec<u8>)> {
    let mut a = ArchiveReader::new(r);
    let mut out = Vec::new();
    while let Some(mut e) = a.next_entry().unwrap() {
        let mut d = Vec::new();
        e.read_to_end(&mut d).unwrap();
        out.push((e.info().clone(), d));
    }
    out
}

#[test]
fn short_reads_give_identical_results() {
    let bytes = sample_ova(20_000, 1_000);
    let want = collect(&bytes[..]);
    assert_eq!(want.len(), 4);
    for max in [1, 2, 3, 7, 100, 511, 513, 4096] {
        let got = collect(ShortReader {
            inner: &bytes[..],
            max,
            next: 0,
        });
        assert_eq!(got, want, "max {max}");
    }
}

#[test]
fn partially_read_entries_are_skipped() {
    let bytes = sample_ova(20_000, 1_000);
    let mut a = ArchiveReader::new(ShortReader {
        inner: &bytes[..],
        max: 5,
        next: 0,
    });
    let mut names = Vec::new();
    while let Some(mut e) = a.next_entry().unwrap() {
        let mut buf = [0u8; 3];
        let _ = e.read(&mut buf).unwrap();
        names.push(e.info().name.clone());
    }
    assert_eq!(
        names,
        ["sample.ovf", "sample.mf", "disk1.vmdk", "extra.iso"]
    );
    assert_eq!(a.position(), bytes.len() as u64);
}

#[test]
fn streaming_verify_over_short_reads() {
    let bytes = sample_ova(50_000, 10);
    let (m, r) = manifest::verify_stream(
        ShortReader {
            inner: &bytes[..],
            max: 13,
            next: 0,
        },
        &[Algorithm::Sha256],
        no_progress,
    )
    .unwrap()
    .unwrap();
    assert_eq!(m.lines.len(), 3);
    assert!(r.is_ok(), "{r:?}");
    // Corrupt one disk byte: a mismatch with both digests.
    let mut bad = bytes.clone();
    let pos = bad.len() - 1024 - 1024 - 176 - 100;
    bad[pos] ^= 0xff;
    let (_, r) = manifest::verify_stream(&bad[..], &[Algorithm::Sha256], no_progress)
        .unwrap()
        .unwrap();
    assert_eq!(r.mismatched.len(), 1);
    assert_ne!(r.mismatched[0].expected, r.mismatched[0].actual);
}
