//! Disk images for every hypervisor: QCOW2 (KVM), VHD (XenServer), stream-optimized VMDK
//! (VMware) and raw, converted into one another in one streaming pass.
//!
//! - [`qcow2`] and [`vhd`] hold the writers and checking readers of those formats (the VMDK
//!   ones are in [`crate::vmdk`]).
//! - [`detect`] tells the four apart from their bytes; [`info_file`] describes any of them.
//! - [`convert_file`] turns any of them into any other; [`convert_ova_disk`] turns an OVA's
//!   disk into a QCOW2 or VHD template straight from the package, with no temporary file.
//!
//! ```
//! use ova_core::disk::{self, ConvertOptions, Format};
//! let dir = tempfile::tempdir().unwrap();
//! let raw: Vec<u8> = (0..1_048_576u32).map(|i| (i / 4096) as u8).collect();
//! std::fs::write(dir.path().join("disk.raw"), &raw).unwrap();
//! let options = ConvertOptions::new(Format::Qcow2).with_compression(true);
//! disk::convert_file(dir.path().join("disk.raw"), dir.path().join("disk.qcow2"), &options, &mut ova_core::no_progress)?;
//! let info = disk::info_file(dir.path().join("disk.qcow2"))?;
//! assert_eq!(info.format(), Format::Qcow2);
//! assert_eq!(info.virtual_size(), 1_048_576);
//! # Ok::<(), ova_core::Error>(())
//! ```

mod convert;
mod pipeline;
pub mod qcow2;
pub mod vhd;

pub use convert::{
    ConvertOptions, ConvertSummary, DiskInfo, OvaDiskChoice, convert_file, convert_ova_disk,
    info_file, open_ova_disk,
};

use std::io::{Read, Seek, SeekFrom};

/// A disk image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A raw image: the disk's bytes.
    Raw,
    /// A stream-optimized VMDK.
    Vmdk,
    /// QCOW2.
    Qcow2,
    /// VHD (fixed or dynamic).
    Vhd,
}

impl Format {
    /// The lowercase name (`raw`, `vmdk`, `qcow2`, `vhd`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Vmdk => "vmdk",
            Self::Qcow2 => "qcow2",
            Self::Vhd => "vhd",
        }
    }

    /// The format a file name's extension names (`.raw`/`.img`, `.vmdk`, `.qcow2`/`.qcow`,
    /// `.vhd`/`.vpc`), case-insensitively.
    pub fn from_extension(path: impl AsRef<std::path::Path>) -> Option<Self> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "raw" | "img" | "bin" => Some(Self::Raw),
            "vmdk" => Some(Self::Vmdk),
            "qcow2" | "qcow" => Some(Self::Qcow2),
            "vhd" | "vpc" => Some(Self::Vhd),
            _ => None,
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "raw" => Ok(Self::Raw),
            "vmdk" => Ok(Self::Vmdk),
            "qcow2" => Ok(Self::Qcow2),
            "vhd" | "vpc" => Ok(Self::Vhd),
            other => Err(format!(
                "unknown disk format {other:?} (raw, vmdk, qcow2 or vhd)"
            )),
        }
    }
}

/// A disk reader's error as the `io::Error` its `Read` impl returns: the underlying I/O error
/// itself, anything else (a damaged table, a bad header) as `InvalidData` carrying the error.
pub(crate) fn into_io_error(e: crate::Error) -> std::io::Error {
    match e {
        crate::Error::DiskIo { source, .. } => source,
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
    }
}

/// Classifies an image from its first bytes and, for a fixed VHD (whose only footer is at the
/// end), its last 512 bytes. Anything unrecognised is raw.
pub fn detect(first: &[u8], last: &[u8]) -> Format {
    if first.starts_with(b"KDMV") || first.starts_with(b"# Disk DescriptorFile") {
        Format::Vmdk
    } else if first.starts_with(&qcow2::layout::MAGIC) {
        Format::Qcow2
    } else if first.starts_with(vhd::layout::FOOTER_COOKIE)
        || (last.len() == 512 && last.starts_with(vhd::layout::FOOTER_COOKIE))
    {
        Format::Vhd
    } else {
        Format::Raw
    }
}

/// [`detect`] on a seekable input; leaves it at offset 0.
///
/// # Errors
///
/// [`crate::Error::DiskIo`] when it cannot be read.
pub fn detect_reader<R: Read + Seek>(input: &mut R) -> crate::Result<Format> {
    let io = |source| crate::Error::DiskIo {
        op: "reading the disk image",
        source,
    };
    let len = input.seek(SeekFrom::End(0)).map_err(io)?;
    input.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut first = [0u8; 32];
    let n = pipeline::read_full(input, &mut first).map_err(io)?;
    let mut last = Vec::new();
    if len >= 1024 {
        last.resize(512, 0);
        input.seek(SeekFrom::Start(len - 512)).map_err(io)?;
        pipeline::read_full(input, &mut last).map_err(io)?;
    }
    input.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(detect(&first[..n], &last))
}

/// The format of the image at `path` and its virtual size read from the header alone (no table
/// is checked): what a progress bar needs before [`convert_file`] starts.
///
/// # Errors
///
/// [`crate::Error::Io`] when the file cannot be opened, [`crate::Error::DiskIo`] when it
/// cannot be read; `None` as the size when the header does not parse.
pub fn probe_file(path: impl AsRef<std::path::Path>) -> crate::Result<(Format, Option<u64>)> {
    let path = path.as_ref();
    let mut file = std::fs::File::open(path).map_err(|source| crate::Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let format = detect_reader(&mut file)?;
    let len = file.metadata().map_or(0, |m| m.len());
    let mut head = vec![0u8; 4096];
    let n = pipeline::read_full(&mut file, &mut head).map_err(|source| crate::Error::DiskIo {
        op: "reading the disk image",
        source,
    })?;
    head.truncate(n);
    let size = match format {
        Format::Raw => Some(len),
        Format::Vmdk => crate::vmdk::layout::SparseHeader::parse(&head)
            .ok()
            .map(|h| h.capacity * 512),
        Format::Qcow2 => qcow2::layout::Header::parse(&head).ok().map(|h| h.size),
        Format::Vhd => {
            let mut last = [0u8; 512];
            let ok = len >= 512
                && file.seek(SeekFrom::Start(len - 512)).is_ok()
                && pipeline::read_full(&mut file, &mut last).is_ok_and(|n| n == 512);
            let end = ok.then(|| vhd::layout::Footer::parse(&last).ok()).flatten();
            end.or_else(|| vhd::layout::Footer::parse(&head).ok())
                .map(|(f, _)| f.current_size)
        }
    };
    Ok((format, size))
}
