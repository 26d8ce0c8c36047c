//! Small OVA packages written as plain USTAR by this crate, independently of `ova-core`'s
//! writer: an input a reader, an uploader or a CloudStack register call can be given; and what a
//! folder holds after a run (no output and no temporary file left behind).

use std::path::Path;

/// The names in `dir`, sorted: what a test compares to prove a stopped or failed run left no
/// output and no temporary file.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One USTAR header block for a regular file `name` (at most 100 bytes) of `size` bytes (mode
/// 0644, uid and gid 0, a fixed mtime), with its checksum.
///
/// # Panics
///
/// When `name` is longer than 100 bytes.
pub fn ustar_header(name: &str, size: u64) -> [u8; 512] {
    assert!(
        name.len() <= 100,
        "{name}: a USTAR name has at most 100 bytes"
    );
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"14000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A USTAR archive of `files` (name, content) in this order, each padded to 512 bytes, closed
/// by two zero blocks.
pub fn ustar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        out.extend_from_slice(&ustar_header(name, data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// The descriptor of [`small_ova`]: one virtual system and one referenced file, `disk1.vmdk`.
pub const SMALL_OVF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:href="disk1.vmdk" ovf:id="file1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"/></References><VirtualSystem ovf:id="vm" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><Info>test vm</Info></VirtualSystem></Envelope>
"#;

/// A small but valid OVA: `vm.ovf` ([`SMALL_OVF`]) first, then a 3000-byte stand-in disk
/// `disk1.vmdk` (not a VMDK: the bytes `i * 7 % 251`).
pub fn small_ova() -> Vec<u8> {
    let disk: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    ustar(&[("vm.ovf", SMALL_OVF.as_bytes()), ("disk1.vmdk", &disk)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_is_sorted_and_names_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b", ".tmp-a", "a"] {
            std::fs::write(dir.path().join(n), b"").unwrap();
        }
        assert_eq!(listing(dir.path()), [".tmp-a", "a", "b"]);
    }

    #[test]
    fn headers_carry_a_valid_checksum_and_octal_size() {
        let h = ustar_header("disk1.vmdk", 3000);
        let stored = std::str::from_utf8(&h[148..154]).unwrap();
        let mut blank = h;
        blank[148..156].fill(b' ');
        let sum: u32 = blank.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(u32::from_str_radix(stored, 8).unwrap(), sum);
        assert_eq!(&h[124..136], b"00000005670\0");
        assert_eq!(&h[257..263], b"ustar\0");
    }

    #[test]
    fn the_small_ova_is_laid_out_in_blocks() {
        let ova = small_ova();
        // header + descriptor blocks, header + 6 disk blocks (3000 bytes), two zero blocks
        let ovf_blocks = SMALL_OVF.len().div_ceil(512);
        assert_eq!(ova.len(), 512 * (1 + ovf_blocks + 1 + 6 + 2));
        assert_eq!(&ova[..6], b"vm.ovf");
        let disk_header = 512 * (1 + ovf_blocks);
        assert_eq!(&ova[disk_header..disk_header + 10], b"disk1.vmdk");
        assert!(ova[ova.len() - 1024..].iter().all(|&b| b == 0));
    }
}
