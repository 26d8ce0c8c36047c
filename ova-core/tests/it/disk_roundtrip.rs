//! QCOW2 and VHD write ↔ read round trips (proptest), and damaged images: every targeted
//! corruption gives its typed error, and random corruption or truncation gives an error or the
//! right number of bytes, never a panic.

use std::io::Cursor;

use ova_core::Error;
use ova_core::disk::qcow2::{Qcow2Reader, Qcow2Writer};
use ova_core::disk::vhd::{VhdReader, VhdWriter};
use proptest::prelude::*;

fn disk(len: usize, regions: &[(usize, usize, u8)]) -> Vec<u8> {
    let mut raw = vec![0u8; len];
    for &(at, n, seed) in regions {
        let at = at % len;
        let end = (at + n).min(len);
        for (i, b) in raw[at..end].iter_mut().enumerate() {
            *b = if seed % 2 == 0 {
                seed.wrapping_add((i / 50) as u8)
            } else {
                ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8 ^ seed
            };
        }
    }
    raw
}

fn qcow2(raw: &[u8], compress: bool, cluster_bits: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    Qcow2Writer::new()
        .with_compression(compress)
        .with_cluster_bits(cluster_bits)
        .with_threads(2)
        .write(raw, raw.len() as u64, &mut out)
        .unwrap();
    out.into_inner()
}

fn vhd(raw: &[u8]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    VhdWriter::new()
        .with_timestamp(1_700_000_000)
        .with_uuid([7; 16])
        .write(raw, raw.len() as u64, &mut out)
        .unwrap();
    out.into_inner()
}

fn read_qcow2(image: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    Qcow2Reader::new(Cursor::new(image))?.copy_to(&mut out)?;
    Ok(out)
}

fn read_vhd(image: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    VhdReader::new(Cursor::new(image))?.copy_to(&mut out)?;
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn qcow2_round_trips(
        len in 1usize..3_000_000,
        regions in proptest::collection::vec((0usize..3_000_000, 1usize..300_000, any::<u8>()), 0..6),
        compress in any::<bool>(),
        cluster_bits in 12u32..=17,
    ) {
        let raw = disk(len, &regions);
        let image = qcow2(&raw, compress, cluster_bits);
        let back = read_qcow2(&image).unwrap();
        prop_assert_eq!(back.len(), raw.len().next_multiple_of(512));
        prop_assert_eq!(&back[..raw.len()], &raw[..]);
        prop_assert!(back[raw.len()..].iter().all(|&b| b == 0));
    }

    #[test]
    fn vhd_round_trips(
        len in 1usize..7_000_000,
        regions in proptest::collection::vec((0usize..7_000_000, 1usize..300_000, any::<u8>()), 0..6),
    ) {
        let raw = disk(len, &regions);
        let back = read_vhd(&vhd(&raw)).unwrap();
        prop_assert!(back.len() >= raw.len());
        prop_assert_eq!(&back[..raw.len()], &raw[..]);
        prop_assert!(back[raw.len()..].iter().all(|&b| b == 0));
    }

    #[test]
    fn damaged_qcow2_never_panics(seed in any::<u64>(), flips in 1usize..40, cut in any::<bool>()) {
        let raw = disk(700_000, &[(0, 200_000, 2), (300_000, 100_000, 3)]);
        let mut image = qcow2(&raw, seed % 2 == 0, 12);
        let mut x = seed | 1;
        for _ in 0..flips {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            // aim at the metadata (first and last clusters) as often as at the data
            let len = image.len() as u64;
            let at = if x % 2 == 0 { x % 20_000.min(len) } else { len - 1 - (x >> 8) % len.min(20_000) };
            image[at as usize] ^= (x >> 32) as u8 | 1;
        }
        if cut {
            image.truncate((x % image.len() as u64) as usize);
        }
        if let Ok(back) = read_qcow2(&image) {
            prop_assert!(back.len() <= 1 << 46);
        }
    }

    #[test]
    fn damaged_vhd_never_panics(seed in any::<u64>(), flips in 1usize..40, cut in any::<bool>()) {
        let raw = disk(5_000_000, &[(0, 200_000, 2), (3_000_000, 100_000, 3)]);
        let mut image = vhd(&raw);
        let mut x = seed | 1;
        for _ in 0..flips {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            let len = image.len() as u64;
            let at = if x % 2 == 0 { x % 4096 } else { len - 1 - (x >> 8) % 512 };
            image[at as usize] ^= (x >> 32) as u8 | 1;
        }
        if cut {
            image.truncate((x % image.len() as u64) as usize);
        }
        let _ = read_vhd(&image);
    }
}

fn set_be64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

fn set_be32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[test]
fn qcow2_damage_gives_typed_errors() {
    let raw = disk(1_000_448, &[(0, 300_000, 2)]);
    let good = qcow2(&raw, false, 16);
    let cs = 65_536;
    assert_eq!(read_qcow2(&good).unwrap(), raw);

    let mut not = good.clone();
    not[0] = b'X';
    assert!(matches!(read_qcow2(&not), Err(Error::DiskHeader { .. })));

    let mut backing = good.clone();
    set_be64(&mut backing, 8, 4000);
    set_be32(&mut backing, 16, 8);
    assert!(matches!(
        read_qcow2(&backing),
        Err(Error::DiskUnsupported { .. })
    ));

    let mut encrypted = good.clone();
    set_be32(&mut encrypted, 32, 2);
    assert!(matches!(
        read_qcow2(&encrypted),
        Err(Error::DiskUnsupported { .. })
    ));

    let mut unknown = good.clone();
    set_be64(&mut unknown, 72, 1 << 40);
    assert!(matches!(
        read_qcow2(&unknown),
        Err(Error::DiskUnsupported { .. })
    ));

    // the L1 entry points past the end of the file
    let mut outside = good.clone();
    set_be64(&mut outside, cs, (1 << 63) | (100 * cs as u64));
    assert!(matches!(
        read_qcow2(&outside),
        Err(Error::DiskCorrupt { .. })
    ));

    // the L1 entry points at the refcount table: an overlap
    let mut overlap = good.clone();
    set_be64(&mut overlap, cs, (1 << 63) | (2 * cs as u64));
    assert!(matches!(
        read_qcow2(&overlap),
        Err(Error::DiskCorrupt { .. })
    ));

    // the refcount table loses its block: every refcount reads 0, lower than the references
    let mut refcounts = good.clone();
    set_be64(&mut refcounts, 2 * cs, 0);
    let err = read_qcow2(&refcounts).unwrap_err();
    assert!(matches!(err, Error::DiskCorrupt { .. }), "{err}");
    assert!(
        err.to_string().contains("refcount") || err.to_string().contains("lower"),
        "{err}"
    );

    // a data cluster's L2 entry with reserved bits set
    let l2_at = good.len() - 2 * cs;
    let mut reserved = good.clone();
    reserved[l2_at + 7] |= 0x02;
    assert!(matches!(
        read_qcow2(&reserved),
        Err(Error::DiskCorrupt { .. })
    ));

    // the file cut in its data
    let truncated = &good[..4 * cs];
    assert!(read_qcow2(truncated).is_err());
    assert!(matches!(
        read_qcow2(&good[..50]),
        Err(Error::DiskTruncated { .. } | Error::DiskHeader { .. })
    ));
}

#[test]
fn qcow2_compressed_damage_is_reported_when_read() {
    let raw = disk(1_000_000, &[(0, 300_000, 2)]);
    let mut image = qcow2(&raw, true, 16);
    // the first compressed cluster starts right after the front (3 clusters); garble it
    for b in &mut image[3 * 65_536..3 * 65_536 + 64] {
        *b = 0xff;
    }
    let err = read_qcow2(&image).unwrap_err();
    assert!(matches!(err, Error::DiskCorrupt { .. }), "{err}");
}

#[test]
fn vhd_damage_gives_typed_errors() {
    let raw = disk(5_000_000, &[(0, 300_000, 2), (4_000_000, 10, 4)]);
    let good = vhd(&raw);
    assert_eq!(&read_vhd(&good).unwrap()[..raw.len()], &raw[..]);

    assert!(matches!(
        read_vhd(&[0u8; 4096]),
        Err(Error::DiskHeader { .. })
    ));

    // the footer at the end is damaged: the copy at the front is used, and said so
    let mut end = good.clone();
    let n = end.len();
    end[n - 100] ^= 1;
    let r = VhdReader::new(Cursor::new(&end)).unwrap();
    assert!(!r.info().problems.is_empty());

    // truncated: the end footer is gone, blocks run past the end
    let cut = &good[..good.len() - 600];
    assert!(matches!(read_vhd(cut), Err(Error::DiskCorrupt { .. })));

    // a differencing disk
    let mut diff = good.clone();
    for base in [0, n - 512] {
        set_be32(&mut diff, base + 60, 4);
        let sum = ova_core::disk::vhd::layout::checksum(&diff[base..base + 512], 64);
        set_be32(&mut diff, base + 64, sum);
    }
    assert!(matches!(
        read_vhd(&diff),
        Err(Error::DiskUnsupported { .. })
    ));

    // BAT entry 1 points at block 0: an overlap; then outside the file
    let bat = 1536;
    let mut overlap = good.clone();
    let first = overlap[bat..bat + 4].to_vec();
    overlap[bat + 8..bat + 12].copy_from_slice(&first);
    assert!(matches!(read_vhd(&overlap), Err(Error::DiskCorrupt { .. })));
    let mut outside = good.clone();
    set_be32(&mut outside, bat, 0x00ff_0000);
    assert!(matches!(read_vhd(&outside), Err(Error::DiskCorrupt { .. })));

    // the dynamic header's checksum
    let mut header = good.clone();
    header[512 + 40] ^= 1;
    assert!(matches!(read_vhd(&header), Err(Error::DiskCorrupt { .. })));
}
