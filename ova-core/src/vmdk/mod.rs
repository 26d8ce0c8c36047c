//! Stream-optimized VMDK: read any of the layouts in use, write VMware's.
//!
//! - [`VmdkWriter`] turns raw disk bytes from any [`Read`] into a
//!   stream-optimized VMDK exactly as VMware lays it out, compressing grains on every core while
//!   keeping their order, and hashing the output as it goes.
//! - [`StreamReader`] turns a stream-optimized VMDK (VMware/VirtualBox with the directory at
//!   the end, qemu-img/open-vmdk with it at the front, or a pure stream from a pipe) back into
//!   raw bytes.
//! - [`inspect`] reports the structure and the problems consumers trip over (no end-of-stream
//!   marker, no footer, bytes after the logical end).
//! - [`layout`] holds the pure on-disk structures.
//!
//! ```
//! use ova_core::vmdk::{self, VmdkWriter};
//! let raw: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8).collect();
//! let mut file = std::io::Cursor::new(Vec::new());
//! VmdkWriter::new().write(&raw[..], raw.len() as u64, &mut file)?;
//! let info = vmdk::inspect(&mut file)?;
//! assert!(info.problems.is_empty());
//! assert_eq!(info.capacity, 200_192); // rounded up to a sector
//! # Ok::<(), ova_core::Error>(())
//! ```

pub mod layout;
mod reader;
mod writer;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

pub use layout::AdapterType;
pub use reader::{LayoutClass, StreamReader, StreamSummary, VmdkInfo, VmdkProblem, inspect};
pub use writer::{VmdkWriter, WriteSummary};

/// The digest the writer can compute while writing (the manifest's algorithms).
pub use crate::manifest::Algorithm as DigestAlgorithm;

use crate::progress::Progress;
use crate::{Error, Result};

/// What a file holds, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskKind {
    /// A sparse VMDK extent (`KDMV` magic).
    SparseVmdk,
    /// A text VMDK descriptor (a flat or split disk's `.vmdk`), which this crate does not read.
    DescriptorVmdk,
    /// Anything else: taken as a raw disk image.
    Raw,
}

/// Classifies a disk image by its first bytes (at least 21 are needed to see a descriptor).
pub fn detect(first_bytes: &[u8]) -> DiskKind {
    if first_bytes.starts_with(b"KDMV") {
        DiskKind::SparseVmdk
    } else if first_bytes.starts_with(b"# Disk DescriptorFile") {
        DiskKind::DescriptorVmdk
    } else {
        DiskKind::Raw
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// Classifies the disk image at `path` (see [`detect`]).
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read.
pub fn detect_file(path: impl AsRef<Path>) -> Result<DiskKind> {
    let path = path.as_ref();
    let mut head = Vec::with_capacity(32);
    open(path)?
        .take(32)
        .read_to_end(&mut head)
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(detect(&head))
}

/// [`inspect`] on a file.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be opened, otherwise as [`inspect`].
pub fn inspect_file(path: impl AsRef<Path>) -> Result<VmdkInfo> {
    inspect(open(path.as_ref())?)
}

/// Writes `out` through a temporary file beside it, renamed into place only on success. The file
/// is written back while it is produced (see [`StreamingFile`](crate::write::StreamingFile)),
/// with blocks for `at_least` bytes allocated up front.
pub(crate) fn write_atomically<T>(
    out: &Path,
    at_least: u64,
    f: impl FnOnce(&mut crate::write::StreamingFile<'_>) -> Result<T>,
) -> Result<T> {
    let mut tmp = crate::write::AtomicFile::create(out)?;
    let value = f(&mut crate::write::StreamingFile::new(tmp.file(), at_least))?;
    tmp.commit()?;
    Ok(value)
}

/// Converts the raw disk image at `input` into a stream-optimized VMDK at `output` (written
/// under a temporary name, renamed on success). The writer's extent name is kept unless it is
/// the default, in which case the output's file name is used.
///
/// `progress` gets the bytes of `input` read, 2 MiB at a time (see [`Progress`]).
///
/// ```no_run
/// use ova_core::vmdk::{self, VmdkWriter};
/// vmdk::raw_to_vmdk("disk.raw", "disk.vmdk", &VmdkWriter::new(), &mut ova_core::no_progress)?;
/// # Ok::<(), ova_core::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Io`] for the files, otherwise as [`VmdkWriter::write`]; [`Error::Cancelled`] when
/// `progress` stops it. On any error the temporary file is removed and an existing `output` is
/// left as it was.
pub fn raw_to_vmdk(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    writer: &VmdkWriter,
    progress: Progress<'_>,
) -> Result<WriteSummary> {
    let (input, output) = (input.as_ref(), output.as_ref());
    let file = open(input)?;
    let size = file
        .metadata()
        .map_err(|source| Error::Io {
            path: input.to_owned(),
            source,
        })?
        .len();
    let writer = match output.file_name().and_then(|n| n.to_str()) {
        Some(name) if writer.extent_name() == "disk.vmdk" => writer.clone().with_extent_name(name),
        _ => writer.clone(),
    };
    write_atomically(output, 0, |out| {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, out);
        let summary = writer.write_progress(
            BufReader::with_capacity(1 << 20, file),
            size,
            &mut buffered,
            progress,
        )?;
        std::io::Write::flush(&mut buffered).map_err(|source| Error::VmdkIo {
            op: "writing the vmdk",
            source,
        })?;
        Ok(summary)
    })
}

/// Converts the stream-optimized VMDK at `input` into a raw disk image at `output` (written
/// under a temporary name, renamed on success).
///
/// `progress` gets the bytes of `input` read, after each MiB of raw disk written (see
/// [`StreamReader::copy_to_progress`] and [`Progress`]).
///
/// ```no_run
/// use ova_core::vmdk;
/// vmdk::vmdk_to_raw("disk.vmdk", "disk.raw", &mut ova_core::no_progress)?;
/// # Ok::<(), ova_core::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Io`] for the files, otherwise as [`StreamReader::copy_to`]; [`Error::Cancelled`]
/// when `progress` stops it. On any error the temporary file is removed and an existing
/// `output` is left as it was.
pub fn vmdk_to_raw(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    progress: Progress<'_>,
) -> Result<StreamSummary> {
    let file = open(input.as_ref())?;
    let reader = StreamReader::new(BufReader::with_capacity(1 << 20, file))?;
    write_atomically(output.as_ref(), 0, |out| {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, out);
        let summary = reader.copy_to_progress(&mut buffered, progress)?;
        std::io::Write::flush(&mut buffered).map_err(|source| Error::VmdkIo {
            op: "writing the raw disk",
            source,
        })?;
        Ok(summary)
    })
}
