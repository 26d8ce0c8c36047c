//! Writing OVA archives: the strict USTAR [`OvaWriter`], fast hashed copies, `repack`, `pack`
//! and `extract`.
//!
//! Every archive ovakit writes is strict USTAR: the descriptor's header is the first block of the
//! file, there are no pax or GNU LongLink headers and no directories, names are at most 100 ASCII
//! bytes, mode is 0644 and uid/gid are 0. A file of 8 GiB or more gets a GNU base-256 size field by
//! default ([`LargeSize::Base256`], which GNU tar, Python's `tarfile`, libarchive and vSphere read);
//! [`LargeSize::Refuse`] makes the writer fail instead, for callers that chunk large files
//! themselves (`ovf:chunkSize`, see [`OvaWriter::add_chunked`]). Repack and pack chunk large
//! referenced files when given a [`Chunking`] (descriptor attribute and manifest lines
//! included); the documented default stays base-256.
//!
//! Outputs go to a temporary file beside the target, are flushed to disk, and are renamed over the
//! target only when complete, so a failed or interrupted run never leaves a half-written file at
//! the user's path.
//!
//! ```
//! # fn main() -> ova_core::Result<()> {
//! use ova_core::manifest::Algorithm;
//! use ova_core::write::OvaWriter;
//!
//! let descriptor = b"<Envelope/>";
//! let disk = vec![0u8; 4096];
//! let mut w = OvaWriter::new(Vec::new());
//! w.add_descriptor("vm.ovf", descriptor)?;
//! let manifest = format!(
//!     "SHA256(vm.ovf)= {}\nSHA256(disk.img)= {}\n",
//!     hex::encode(Algorithm::Sha256.digest(descriptor)),
//!     hex::encode(Algorithm::Sha256.digest(&disk)),
//! );
//! w.add_manifest("vm.mf", manifest.as_bytes())?;
//! w.add_file("disk.img", disk.len() as u64, &disk[..], &[])?;
//! let ova: Vec<u8> = w.finish()?;
//! assert_eq!(&ova[..6], b"vm.ovf");
//! # Ok(()) }
//! ```

mod atomic;
mod copy;
mod extract;
mod ova_writer;
mod plan;
pub mod refs;
mod stream;

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::archive::IndexedArchive;
use crate::content::{Compression, ContentReader, StoredReader};
use crate::error::{Error, Result};
use crate::manifest::{self, Algorithm};
use crate::progress::Progress;
use crate::tar::BLOCK;

pub use crate::tar::LargeSize;
pub use atomic::AtomicFile;
pub use copy::copy_hashed;
pub(crate) use copy::{HashJob, hashing_thread};
pub(crate) use extract::make_parents;
pub use extract::{extract, extract_entries};
pub use ova_writer::{OpenEntry, OvaWriter, Reserved};
use plan::entry_names;
pub use plan::{
    Chunking, Dropped, FileSource, PlannedFile, normalize_name, plan_repack, safe_relative_path,
};
pub use stream::StreamingFile;

/// How `repack` and `pack` write the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ManifestChoice {
    /// No manifest.
    None,
    /// A fresh canonical manifest with this algorithm.
    Fresh(Algorithm),
    /// A fresh SHA-256 manifest (the default).
    #[default]
    Sha256,
}

impl ManifestChoice {
    /// The algorithm, if a manifest is written.
    pub fn algorithm(self) -> Option<Algorithm> {
        match self {
            Self::None => None,
            Self::Fresh(a) => Some(a),
            Self::Sha256 => Some(Algorithm::Sha256),
        }
    }
}

impl std::str::FromStr for ManifestChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s.eq_ignore_ascii_case("none") {
            Ok(Self::None)
        } else {
            s.parse().map(Self::Fresh)
        }
    }
}

/// What a repack or pack did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct WriteReport {
    /// Names written, in order.
    pub written: Vec<String>,
    /// Entries of the source left out, with the reason.
    pub dropped: Dropped,
    /// The manifest written (name), if any.
    pub manifest: Option<String>,
    /// Bytes written.
    pub bytes: u64,
}

/// What [`write_package`] writes.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct PackageSpec<'a> {
    /// Name of the descriptor entry.
    pub descriptor_name: &'a str,
    /// Descriptor bytes.
    pub descriptor: &'a [u8],
    /// Files after the manifest, in order.
    pub files: &'a [PlannedFile],
    /// Manifest to write.
    pub manifest: ManifestChoice,
    /// Encoding of sizes ≥ 8 GiB.
    pub large: LargeSize,
}

impl<'a> PackageSpec<'a> {
    /// A spec with a SHA-256 manifest and base-256 large sizes.
    pub fn new(descriptor_name: &'a str, descriptor: &'a [u8], files: &'a [PlannedFile]) -> Self {
        Self {
            descriptor_name,
            descriptor,
            files,
            manifest: ManifestChoice::default(),
            large: LargeSize::default(),
        }
    }

    /// Choose the manifest.
    pub fn with_manifest(mut self, manifest: ManifestChoice) -> Self {
        self.manifest = manifest;
        self
    }

    /// Choose the large-size encoding.
    pub fn with_large_size(mut self, large: LargeSize) -> Self {
        self.large = large;
        self
    }
}

/// Write a new OVA at `out`: `descriptor` first, then a fresh manifest (if chosen), then `files`
/// in the given order. The manifest is reserved right after the descriptor and filled in once the
/// files have been hashed during the copy, so every byte is read once.
///
/// `archive` supplies the bytes of [`FileSource::Archive`] and [`FileSource::ArchiveParts`]
/// files.
///
/// `progress` gets the bytes of each file copied (see [`Progress`]).
///
/// # Errors
///
/// [`Error::Io`] for the output or a source file, the [`OvaWriter`] errors, and
/// [`Error::SizeMismatch`] when a source is shorter than planned; [`Error::Cancelled`] when
/// `progress` stops the write. On any error the temporary file is removed and `out` is left as
/// it was.
pub fn write_package(
    out: &Path,
    spec: &PackageSpec<'_>,
    archive: Option<&IndexedArchive>,
    progress: Progress<'_>,
) -> Result<WriteReport> {
    let PackageSpec {
        descriptor_name,
        descriptor,
        files,
        manifest,
        large,
    } = *spec;
    stream::forget_cached(out);
    let mut atomic = AtomicFile::create(out)?;
    let mut report = WriteReport::default();
    {
        // A lower bound of the archive's size: the payloads (headers and padding come on top).
        let at_least = files
            .iter()
            .fold(descriptor.len() as u64, |n, f| n.saturating_add(f.size));
        let file = StreamingFile::new(atomic.file(), at_least);
        let mut w =
            OvaWriter::new(BufWriter::with_capacity(256 * 1024, file)).with_large_size(large);
        w.add_descriptor(descriptor_name, descriptor)?;
        report.written.push(descriptor_name.to_owned());
        let alg = manifest.algorithm();
        let mf_name = format!(
            "{}.mf",
            descriptor_name
                .strip_suffix(".ovf")
                .or_else(|| descriptor_name.strip_suffix(".OVF"))
                .unwrap_or(descriptor_name)
        );
        let reserved = match alg {
            Some(a) => {
                let chunked: Vec<String> = files.iter().flat_map(entry_names).collect();
                let names =
                    std::iter::once(descriptor_name).chain(chunked.iter().map(|n| n.as_str()));
                let len = manifest::canonical_len(a, names);
                let r = w.reserve(&mf_name, len)?;
                report.written.push(mf_name.clone());
                Some((a, r))
            }
            None => None,
        };
        let algs: Vec<Algorithm> = alg.into_iter().collect();
        let mut digests: Vec<(String, Vec<u8>)> = Vec::new();
        if let Some(a) = alg {
            digests.push((descriptor_name.to_owned(), a.digest(descriptor)));
        }
        for f in files {
            let mut src: Box<dyn Read + Send + '_> = match &f.source {
                FileSource::Archive { offset } => {
                    let archive = archive.ok_or_else(|| Error::MissingEntry {
                        entry: f.name.clone(),
                    })?;
                    let mut src = archive.file();
                    src.seek(SeekFrom::Start(*offset))
                        .map_err(|source| Error::Io {
                            path: archive.path().to_path_buf(),
                            source,
                        })?;
                    Box::new(src.take(f.size))
                }
                FileSource::ArchiveParts { parts, gunzip } => {
                    let archive = archive.ok_or_else(|| Error::MissingEntry {
                        entry: f.name.clone(),
                    })?;
                    let stored = StoredReader::new(archive.file(), parts.clone());
                    let compression = if *gunzip {
                        Compression::Gzip
                    } else {
                        Compression::Identity
                    };
                    match ContentReader::new(stored, &compression) {
                        Ok(r) => Box::new(r),
                        Err(method) => {
                            return Err(Error::UnsupportedCompression {
                                entry: f.name.clone(),
                                method,
                            });
                        }
                    }
                }
                FileSource::Path(p) => Box::new(File::open(p).map_err(|source| Error::Io {
                    path: p.clone(),
                    source,
                })?),
            };
            let mut left = f.size;
            for name in entry_names(f) {
                let this = match f.chunk_size {
                    Some(cs) if cs > 0 => left.min(cs),
                    _ => left,
                };
                let d = w.add_file_progress(&name, this, (&mut src).take(this), &algs, progress)?;
                left -= this;
                report.written.push(name.clone());
                if let Some(a) = alg {
                    digests.push((name, d.get(&a).cloned().unwrap_or_default()));
                }
            }
        }
        if let Some((a, r)) = reserved {
            let text =
                manifest::format_manifest(a, digests.iter().map(|(n, d)| (n.as_str(), &d[..])));
            w.fill(&r, text.as_bytes())?;
            report.manifest = Some(mf_name);
        }
        report.bytes = w.position() + 2 * BLOCK as u64;
        let mut buf = w.finish()?;
        buf.flush().map_err(|source| Error::Io {
            path: out.to_path_buf(),
            source,
        })?;
    }
    atomic.commit()?;
    Ok(report)
}

/// Plan the files of a repack: `order` (the descriptor's References hrefs, chunk names expanded
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_choice_parsing() {
        assert_eq!(
            "none".parse::<ManifestChoice>().unwrap(),
            ManifestChoice::None
        );
        assert_eq!(
            "sha1".parse::<ManifestChoice>().unwrap().algorithm(),
            Some(Algorithm::Sha1)
        );
        assert!("md5".parse::<ManifestChoice>().is_err());
    }
}
