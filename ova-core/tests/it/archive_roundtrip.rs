//! Property: whatever ovakit writes, its readers read back exactly (pack ↔ read).

use std::io::Read;

use ova_core::archive::{ArchiveIndex, ArchiveReader, EntryKind};
use ova_core::manifest::Algorithm;
use ova_core::tar::HeaderFormat;
use ova_core::write::OvaWriter;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn write_then_read(
        files in proptest::collection::vec(
            ("[a-z0-9_-]{1,20}\\.(vmdk|iso|img|nvram)", proptest::collection::vec(any::<u8>(), 0..3000)),
            0..5,
        ),
        descriptor in proptest::collection::vec(any::<u8>(), 0..1500),
        mtime in 0u64..0o77777777777,
    ) {
        let mut seen = std::collections::HashSet::new();
        let files: Vec<_> = files.into_iter().filter(|(n, _)| seen.insert(n.clone())).collect();
        let mut w = OvaWriter::new(Vec::new()).with_mtime(mtime);
        w.add_descriptor("vm.ovf", &descriptor).unwrap();
        for (n, d) in &files {
            let digests = w.add_file(n, d.len() as u64, &d[..], &[Algorithm::Sha256]).unwrap();
            prop_assert_eq!(&digests[&Algorithm::Sha256], &Algorithm::Sha256.digest(d));
        }
        let bytes = w.finish().unwrap();
        prop_assert_eq!(bytes.len() % 512, 0);
        let mut r = ArchiveReader::new(&bytes[..]);
        let mut got = Vec::new();
        while let Some(mut e) = r.next_entry().unwrap() {
            let mut d = Vec::new();
            e.read_to_end(&mut d).unwrap();
            prop_assert_eq!(e.info().header_format, HeaderFormat::Ustar);
            prop_assert!(e.info().problems.is_empty());
            prop_assert_eq!(e.info().mtime as u64, mtime);
            prop_assert_eq!(e.info().mode, 0o644);
            got.push((e.info().name.clone(), d));
        }
        prop_assert_eq!(r.end().zero_blocks, 2);
        prop_assert_eq!(&got[0].0, "vm.ovf");
        prop_assert_eq!(&got[0].1, &descriptor);
        prop_assert_eq!(&got[1..], &files[..]);
        let idx = ArchiveIndex::read(std::io::Cursor::new(&bytes), bytes.len() as u64).unwrap();
        prop_assert!(idx.descriptor_is_first_block());
        prop_assert_eq!(idx.entries[0].kind, EntryKind::Descriptor);
        prop_assert!(!idx.end.missing_end_marker);
    }
}
