//! Archive + manifest: stream and index arbitrary bytes, verify the manifest in one pass.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use ova_core::archive::{ArchiveIndex, ArchiveReader};
use ova_core::manifest::{self, Algorithm};

fuzz_target!(|data: &[u8]| {
    let mut r = ArchiveReader::new(data);
    let mut buf = Vec::new();
    while let Ok(Some(mut e)) = r.next_entry() {
        buf.clear();
        if e.read_to_end(&mut buf).is_err() {
            break;
        }
        if e.info().kind == ova_core::archive::EntryKind::Manifest {
            let _ = manifest::parse(&buf);
        }
    }
    let _ = ArchiveIndex::read(std::io::Cursor::new(data), data.len() as u64);
    let _ = manifest::verify_stream(data, &[Algorithm::Sha1], ova_core::no_progress);
});
