//! What a file that is not an OVA is, told by its first bytes (sans-IO).
//!
//! An OVA is a plain tar archive. When the first block of an input is not a tar header,
//! [`sniff`] looks at its magic bytes so the error can say what the file is and what to do
//! instead of "invalid tar header" ([`crate::Error::NotAnOva`]).
//!
//! ```
//! use ova_core::magic::{FileFormat, sniff};
//!
//! assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Some(FileFormat::Gzip));
//! assert_eq!(sniff(b"KDMV\x03\x00\x00\x00"), Some(FileFormat::Vmdk));
//! assert!(FileFormat::Gzip.advice().contains("gunzip"));
//! assert_eq!(sniff(b"just some bytes"), None);
//! ```

/// A file format recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum FileFormat {
    /// gzip (`1f 8b`): a `.tar.gz`, a `.ova.gz`, or a gzip-compressed disk.
    Gzip,
    /// bzip2 (`BZh`).
    Bzip2,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
    /// Zstandard (`28 b5 2f fd`).
    Zstd,
    /// LZ4 frame (`04 22 4d 18`).
    Lz4,
    /// A zip archive (`PK\x03\x04`, or an empty one).
    Zip,
    /// A 7-Zip archive.
    SevenZip,
    /// A RAR archive.
    Rar,
    /// A QCOW2 (or QCOW) disk image (`QFI\xfb`).
    Qcow2,
    /// A sparse VMDK extent (`KDMV`).
    Vmdk,
    /// A VMDK descriptor file (text, `# Disk DescriptorFile`).
    VmdkDescriptor,
    /// A VHDX disk image (`vhdxfile`).
    Vhdx,
    /// A dynamic VHD disk image (`conectix` at the start).
    Vhd,
    /// A VirtualBox VDI disk image.
    Vdi,
    /// An XML document: an OVF descriptor given where the package was expected.
    Xml,
    /// A PNG image.
    Png,
    /// A JPEG image.
    Jpeg,
    /// A PDF document.
    Pdf,
    /// A raw disk image with an MBR boot signature.
    RawDisk,
}

impl FileFormat {
    /// A short description, e.g. "gzip-compressed".
    pub fn description(self) -> &'static str {
        match self {
            Self::Gzip => "gzip-compressed",
            Self::Bzip2 => "bzip2-compressed",
            Self::Xz => "xz-compressed",
            Self::Zstd => "zstd-compressed",
            Self::Lz4 => "lz4-compressed",
            Self::Zip => "a zip archive",
            Self::SevenZip => "a 7-zip archive",
            Self::Rar => "a rar archive",
            Self::Qcow2 => "a qcow2 disk image",
            Self::Vmdk => "a vmdk disk image",
            Self::VmdkDescriptor => "a vmdk descriptor file",
            Self::Vhdx => "a vhdx disk image",
            Self::Vhd => "a vhd disk image",
            Self::Vdi => "a virtualbox vdi disk image",
            Self::Xml => "an xml document (an .ovf descriptor?)",
            Self::Png => "a png image",
            Self::Jpeg => "a jpeg image",
            Self::Pdf => "a pdf document",
            Self::RawDisk => "a raw disk image (mbr boot signature)",
        }
    }

    /// What to do with such a file.
    pub fn advice(self) -> &'static str {
        match self {
            Self::Gzip => "OVA packages are plain tar; gunzip it first",
            Self::Bzip2 => "OVA packages are plain tar; bunzip2 it first",
            Self::Xz => "OVA packages are plain tar; unxz it first",
            Self::Zstd => "OVA packages are plain tar; unzstd it first",
            Self::Lz4 => "OVA packages are plain tar; lz4 -d it first",
            Self::Zip | Self::SevenZip | Self::Rar => {
                "OVA packages are plain tar; unpack it and pack the .ovf with `ova pack`"
            }
            Self::Qcow2 | Self::Vhdx | Self::Vhd | Self::Vdi => {
                "this is a disk, not a package; convert it to raw (qemu-img convert -O raw) and \
                 make a package with `ova build`"
            }
            Self::Vmdk | Self::RawDisk => {
                "this is a disk, not a package; make a package with `ova build`"
            }
            Self::VmdkDescriptor => {
                "this is the text part of a vmdk, not a package; convert the disk it names and \
                 make a package with `ova build`"
            }
            Self::Xml => {
                "give the .ova, or pack the .ovf and the files it references with `ova pack`"
            }
            Self::Png | Self::Jpeg | Self::Pdf => "this is not a virtual machine package",
        }
    }
}

/// Recognise a format from the first bytes of a file (up to a block is enough), or `None`
/// when nothing matches.
pub fn sniff(head: &[u8]) -> Option<FileFormat> {
    const MAGICS: &[(&[u8], FileFormat)] = &[
        (&[0x1f, 0x8b], FileFormat::Gzip),
        (b"BZh", FileFormat::Bzip2),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0], FileFormat::Xz),
        (&[0x28, 0xb5, 0x2f, 0xfd], FileFormat::Zstd),
        (&[0x04, 0x22, 0x4d, 0x18], FileFormat::Lz4),
        (b"PK\x03\x04", FileFormat::Zip),
        (b"PK\x05\x06", FileFormat::Zip),
        (b"PK\x07\x08", FileFormat::Zip),
        (&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c], FileFormat::SevenZip),
        (b"Rar!\x1a\x07", FileFormat::Rar),
        (b"QFI\xfb", FileFormat::Qcow2),
        (b"KDMV", FileFormat::Vmdk),
        (b"vhdxfile", FileFormat::Vhdx),
        (b"conectix", FileFormat::Vhd),
        (b"\x89PNG\r\n\x1a\n", FileFormat::Png),
        (&[0xff, 0xd8, 0xff], FileFormat::Jpeg),
        (b"%PDF-", FileFormat::Pdf),
    ];
    if let Some((_, f)) = MAGICS.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(*f);
    }
    if head.len() >= 0x44 && head[0x40..0x44] == [0x7f, 0x10, 0xda, 0xbe] {
        return Some(FileFormat::Vdi);
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = &text[start..];
    if text.starts_with(b"# Disk DescriptorFile") {
        return Some(FileFormat::VmdkDescriptor);
    }
    if text.starts_with(b"<?xml") || text.starts_with(b"<Envelope") || text.starts_with(b"<ovf:") {
        return Some(FileFormat::Xml);
    }
    if head.len() >= 512 && head[510..512] == [0x55, 0xaa] {
        return Some(FileFormat::RawDisk);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_magics() {
        let cases: &[(&[u8], FileFormat)] = &[
            (b"\x1f\x8b\x08\x00", FileFormat::Gzip),
            (b"BZh91AY&SY", FileFormat::Bzip2),
            (b"\xfd7zXZ\x00\x00", FileFormat::Xz),
            (b"\x28\xb5\x2f\xfd\x04", FileFormat::Zstd),
            (b"PK\x03\x04\x14\x00", FileFormat::Zip),
            (b"QFI\xfb\x00\x00\x00\x03", FileFormat::Qcow2),
            (b"KDMV\x01\x00\x00\x00", FileFormat::Vmdk),
            (b"\x89PNG\r\n\x1a\n\x00", FileFormat::Png),
            (b"\xef\xbb\xbf  <?xml version=\"1.0\"?>", FileFormat::Xml),
            (
                b"# Disk DescriptorFile\nversion=1",
                FileFormat::VmdkDescriptor,
            ),
        ];
        for (head, want) in cases {
            assert_eq!(sniff(head), Some(*want), "{head:?}");
            assert!(!want.advice().is_empty());
        }
        let mut mbr = vec![0u8; 512];
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        assert_eq!(sniff(&mbr), Some(FileFormat::RawDisk));
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0u8; 512]), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(head in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = sniff(&head);
        }
    }
}
