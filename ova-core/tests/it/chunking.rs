//! OVF chunking on pack and repack: chunk names and sizes, `ovf:chunkSize` in the
//! descriptor, one manifest line per chunk, a package that validates cleanly, and chunks that
//! join back into the original bytes.

use crate::archive_support::{sample_files, write};
use ova_core::no_progress;
use ova_core::package::{Ova, PackOptions, RepackOptions};
use ova_core::write::{Chunking, ManifestChoice};

const MIB: u64 = 1024 * 1024;

fn check_chunked(ova: &Ova, disk: &[u8]) {
    let names: Vec<&str> = ova.entries().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "sample.ovf",
            "sample.mf",
            "disk1.vmdk.000000000",
            "disk1.vmdk.000000001",
            "disk1.vmdk.000000002",
            "disk1.vmdk.000000003",
            "extra.iso",
        ]
    );
    let sizes: Vec<u64> = ova.entries()[2..6].iter().map(|e| e.size).collect();
    assert_eq!(sizes, [MIB, MIB, MIB, disk.len() as u64 - 3 * MIB]);
    let d = ova.descriptor().unwrap();
    let f = &d.references()[0];
    assert_eq!(f.href, "disk1.vmdk");
    assert_eq!(f.chunk_size, Some(MIB));
    assert_eq!(f.size, Some(disk.len() as u64));
    assert_eq!(d.references()[1].chunk_size, None);
    let text = String::from_utf8_lossy(d.as_bytes()).into_owned();
    assert!(text.contains(r#"ovf:chunkSize="1048576""#), "{text}");
    // the manifest lists every chunk, not the joined file
    let mf = ova.entries()[1].clone();
    let ova_bytes = std::fs::read(ova.path()).unwrap();
    let at = mf.data_offset as usize;
    let mf_text = String::from_utf8(ova_bytes[at..at + mf.size as usize].to_vec()).unwrap();
    let listed: Vec<&str> = mf_text
        .lines()
        .map(|l| l.split_once('(').unwrap().1.split_once(')').unwrap().0)
        .collect();
    assert_eq!(
        listed,
        names
            .iter()
            .filter(|n| **n != "sample.mf")
            .copied()
            .collect::<Vec<_>>()
    );
    // The only finding is the one the same package unchunked gets: the sample's disk is
    // random bytes declared streamOptimized, and the chunks are read as that one file.
    let findings = ova.validate(&mut no_progress).unwrap();
    let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["vmdk-not-stream"], "{findings:?}");
    // joining the chunks gives the original bytes
    let mut joined = Vec::new();
    for e in &ova.entries()[2..6] {
        let at = e.data_offset as usize;
        joined.extend_from_slice(&ova_bytes[at..at + e.size as usize]);
    }
    assert!(joined == disk);
}

#[test]
fn pack_and_repack_chunk_large_files() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let (d, disk, iso) = sample_files(3 * MIB as usize + 512 * 1024, 3000);
    write(&src, "sample.ovf", &d);
    write(&src, "disk1.vmdk", &disk);
    write(&src, "extra.iso", &iso);
    let chunking = Some(Chunking::new(MIB).with_threshold(2 * MIB));

    let packed = tmp.path().join("packed.ova");
    let opts = PackOptions::new()
        .with_manifest(ManifestChoice::Sha256)
        .with_chunking(chunking);
    let report = Ova::pack_with(&src, &packed, &opts, &mut no_progress).unwrap();
    assert_eq!(report.written.len(), 7);
    check_chunked(&Ova::open(&packed).unwrap(), &disk);

    // repack of the plain package, chunked
    let plain = tmp.path().join("plain.ova");
    Ova::pack_with(&src, &plain, &PackOptions::new(), &mut no_progress).unwrap();
    assert_eq!(Ova::open(&plain).unwrap().entries().len(), 4);
    let repacked = tmp.path().join("repacked.ova");
    Ova::open(&plain)
        .unwrap()
        .repack(
            &repacked,
            &RepackOptions::new().with_chunking(chunking),
            &mut no_progress,
        )
        .unwrap();
    check_chunked(&Ova::open(&repacked).unwrap(), &disk);
    // the same bytes either way
    assert_eq!(
        std::fs::read(&packed).unwrap(),
        std::fs::read(&repacked).unwrap()
    );

    // a repack of the chunked package keeps its chunks as they are
    let again = tmp.path().join("again.ova");
    Ova::open(&repacked)
        .unwrap()
        .repack(&again, &RepackOptions::new(), &mut no_progress)
        .unwrap();
    check_chunked(&Ova::open(&again).unwrap(), &disk);

    // below the threshold nothing is chunked, and the descriptor is unchanged
    let small = tmp.path().join("small.ova");
    let opts = PackOptions::new().with_chunking(Some(Chunking::new(MIB).with_threshold(8 * MIB)));
    Ova::pack_with(&src, &small, &opts, &mut no_progress).unwrap();
    let small = Ova::open(&small).unwrap();
    assert_eq!(small.entries().len(), 4);
    assert_eq!(small.descriptor().unwrap().as_bytes(), &d[..]);
}
