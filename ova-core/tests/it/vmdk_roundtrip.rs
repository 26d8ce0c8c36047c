//! Stream-optimized VMDK: write ↔ read round trips and damaged inputs (no external tools).

use std::io::{Cursor, Read};

use ova_core::Error;
use ova_core::vmdk::{self, DigestAlgorithm, LayoutClass, StreamReader, VmdkWriter};
use proptest::prelude::*;

/// A disk with data, zero grains and a partial last sector.
fn sample_disk(len: usize, seed: u8) -> Vec<u8> {
    let mut raw = vec![0u8; len];
    for (i, b) in raw.iter_mut().enumerate() {
        let grain = i / 65_536;
        if grain % 3 != 1 {
            *b = ((i * 31 + grain * 7) % 253) as u8 ^ seed;
        }
    }
    raw
}

fn write(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    VmdkWriter::new()
        .with_content_id(1)
        .write(raw, raw.len() as u64, &mut out)
        .unwrap();
    out
}

fn read_back(vmdk: &[u8]) -> ova_core::Result<Vec<u8>> {
    let mut out = Vec::new();
    StreamReader::new(vmdk)?.copy_to(&mut out)?;
    Ok(out)
}

/// Returns 1..=n bytes per read call, to exercise short reads.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 7 + 1;
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn roundtrip_with_unaligned_size_and_short_reads() {
    let raw = sample_disk(3 * 1024 * 1024 + 1000, 5);
    let vmdk = write(&raw);
    let back = read_back(&vmdk).unwrap();
    assert_eq!(back.len(), raw.len().div_ceil(512) * 512);
    assert_eq!(&back[..raw.len()], &raw[..]);
    assert!(back[raw.len()..].iter().all(|&b| b == 0));

    let mut trickled = Vec::new();
    let reader = StreamReader::new(Trickle {
        data: &vmdk,
        step: 0,
    })
    .unwrap();
    let summary = reader.copy_to(&mut trickled).unwrap();
    assert_eq!(trickled, back);
    assert_eq!(summary.trailing_bytes, 0);
    assert!(summary.eos_offset.is_some());

    let mut written_trickle = Vec::new();
    VmdkWriter::new()
        .with_content_id(1)
        .write(
            Trickle {
                data: &raw,
                step: 3,
            },
            raw.len() as u64,
            &mut written_trickle,
        )
        .unwrap();
    assert_eq!(written_trickle, vmdk);
}

#[test]
fn inspect_our_output_has_no_problems() {
    let raw = sample_disk(40 * 1024 * 1024, 1);
    let mut out = Cursor::new(Vec::new());
    let s = VmdkWriter::new()
        .with_digest(DigestAlgorithm::Sha1)
        .write(&raw[..], raw.len() as u64, &mut out)
        .unwrap();
    let info = vmdk::inspect(&mut out).unwrap();
    assert_eq!(info.problems, vec![], "{info:#?}");
    assert_eq!(info.layout, LayoutClass::GdAtEndWithFooter);
    assert_eq!(info.capacity, raw.len() as u64);
    assert_eq!(info.grains, s.grains);
    assert_eq!(info.file_size, s.bytes_written);
    assert_eq!(info.logical_end, info.file_size);
    assert_eq!(info.version, 3);
    assert_eq!(info.flags, 0x30001);
    assert_eq!(info.adapter_type.as_deref(), Some("lsilogic"));
    assert_eq!(info.hw_version.as_deref(), Some("4"));
    assert_eq!(info.tools_version.as_deref(), Some("2147483647"));
    assert_eq!(s.digest.as_ref().map(String::len), Some(40));
    // the file ends exactly with the end-of-stream marker
    let bytes = out.into_inner();
    assert!(bytes[bytes.len() - 512..].iter().all(|&b| b == 0));
}

#[test]
fn trailing_padding_is_reported() {
    let raw = sample_disk(200_000, 2);
    let mut vmdk = write(&raw);
    vmdk.extend_from_slice(&[0u8; 4096]);
    let info = vmdk::inspect(Cursor::new(&vmdk)).unwrap();
    assert_eq!(
        info.problems,
        vec![vmdk::VmdkProblem::BytesAfterEnd {
            bytes: 4096,
            nonzero: false
        }]
    );
    // still readable
    assert_eq!(&read_back(&vmdk).unwrap()[..raw.len()], &raw[..]);
}

#[test]
fn truncated_inputs_are_typed_errors() {
    let raw = sample_disk(1024 * 1024, 3);
    let vmdk = write(&raw);
    let n = vmdk.len();
    for cut in [
        0,
        10,
        511,
        512,
        700,
        128 * 512,
        128 * 512 + 100,
        n - 1536,
        n - 1000,
        n - 1,
    ] {
        let err = read_back(&vmdk[..cut]).err();
        assert!(
            matches!(
                err,
                Some(
                    Error::VmdkTruncated { .. }
                        | Error::VmdkHeader { .. }
                        | Error::VmdkGrain { .. }
                )
            ),
            "cut at {cut}: {err:?}"
        );
        let _ = vmdk::inspect(Cursor::new(&vmdk[..cut]));
    }
    // only the end-of-stream marker missing: the data is complete, inspect says what is wrong
    assert_eq!(&read_back(&vmdk[..n - 512]).unwrap()[..raw.len()], &raw[..]);
    let info = vmdk::inspect(Cursor::new(&vmdk[..n - 512])).unwrap();
    assert_eq!(info.problems, vec![vmdk::VmdkProblem::NoEndOfStreamMarker]);
}

#[test]
fn corrupted_inputs_are_typed_errors() {
    let raw = sample_disk(1024 * 1024, 4);
    let vmdk = write(&raw);
    // damaged deflate data in the first grain
    let mut bad = vmdk.clone();
    for b in &mut bad[128 * 512 + 20..128 * 512 + 60] {
        *b ^= 0x55;
    }
    assert!(matches!(
        read_back(&bad).err(),
        Some(Error::VmdkGrain { lba: 0, .. })
    ));
    // an lba that is not a grain of the disk
    let mut bad = vmdk.clone();
    bad[128 * 512..128 * 512 + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    assert!(matches!(
        read_back(&bad).err(),
        Some(Error::VmdkCorrupt { .. })
    ));
    // a compressed size far beyond a grain
    let mut bad = vmdk.clone();
    bad[128 * 512 + 8..128 * 512 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        read_back(&bad).err(),
        Some(Error::VmdkCorrupt { .. })
    ));
    // not a vmdk at all
    assert!(matches!(
        read_back(&[0x42; 4096]).err(),
        Some(Error::VmdkHeader { .. })
    ));
    // random single-byte damage anywhere never panics
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut bad = vmdk.clone();
        let at = (state % bad.len() as u64) as usize;
        bad[at] ^= (state >> 32) as u8 | 1;
        let _ = read_back(&bad);
        let _ = vmdk::inspect(Cursor::new(&bad));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn write_read_roundtrip(len in 1usize..400_000, seed: u8, zero_every in 1usize..5) {
        let mut raw = sample_disk(len, seed);
        for (i, chunk) in raw.chunks_mut(65_536).enumerate() {
            if i % zero_every == 0 {
                chunk.fill(0);
            }
        }
        let vmdk = write(&raw);
        let back = read_back(&vmdk).unwrap();
        prop_assert_eq!(&back[..raw.len()], &raw[..]);
        prop_assert_eq!(back.len(), len.div_ceil(512) * 512);
    }
}
