//! [`Ova`]: an OVA package opened for random access, tying the archive reader, the descriptor
//! model, the manifest and the writers together.
//!
//! ```no_run
//! # fn main() -> ova_core::Result<()> {
//! use std::ops::ControlFlow;
//! use ova_core::no_progress;
//! use ova_core::ovf::Edit;
//! use ova_core::package::{Ova, RepackOptions};
//! use ova_core::write::ManifestChoice;
//! use ova_core::manifest::Algorithm;
//!
//! let ova = Ova::open("appliance.ova")?;
//! for finding in ova.validate(&mut no_progress)? {
//!     println!("{finding}");
//! }
//! // Downgrade for an old ESX host, with a SHA1 manifest, showing progress.
//! let options = RepackOptions::new()
//!     .with_manifest(ManifestChoice::Fresh(Algorithm::Sha1))
//!     .with_edits(vec![Edit::set_virtual_system_type("vmx-07")]);
//! let mut done = 0;
//! ova.repack("appliance-vmx07.ova", &options, &mut |n| {
//!     done += n;
//!     eprint!("\r{done} bytes");
//!     ControlFlow::Continue(()) // ControlFlow::Break(()) would stop it, leaving nothing behind
//! })?;
//!
//! // Or, when the edit fits the descriptor's blocks, change only those bytes.
//! Ova::edit_in_place("appliance.ova", &[Edit::set_cpus(2)])?;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use crate::archive::{ArchiveIndex, EntryInfo, EntryKind, EntryProblem, IndexedArchive};
use crate::content::{Compression, ContentReader, StoredReader};
use crate::error::{Error, Result};
use crate::inplace;
use crate::manifest::{self, Algorithm, Digests, Manifest, VerifyReport};
use crate::ovf::{Descriptor, Edit};
use crate::progress::Progress;
use crate::tar::{BLOCK, EntryType, LargeSize};
use crate::validate::{self, DiskFacts, Finding, ManifestFacts, PackageFacts};
use crate::write::{
    self, Chunking, FileSource, ManifestChoice, PackageSpec, PlannedFile, WriteReport,
};

/// Largest descriptor or manifest read into memory (64 MiB).
pub const MAX_TEXT_ENTRY: u64 = 64 << 20;

/// An OVA file opened for random access.
#[derive(Debug)]
pub struct Ova {
    archive: IndexedArchive,
}

/// Options for [`Ova::repack`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RepackOptions {
    /// Manifest to write (default: fresh SHA-256).
    pub manifest: ManifestChoice,
    /// Descriptor edits to apply.
    pub edits: Vec<Edit>,
    /// How sizes ≥ 8 GiB are stored (default: GNU base-256).
    pub large: LargeSize,
    /// Split large referenced files with OVF chunking instead (default: none, so `large`
    /// applies). Files the source already stores in chunks are joined and re-chunked with it
    /// (or stored whole when they fall below its threshold).
    pub chunking: Option<Chunking>,
    /// Store files the source splits into chunks as one entry each, dropping their
    /// `ovf:chunkSize` (default: chunks are copied as they are, unless `chunking` is set).
    pub join_chunks: bool,
    /// Store gzip-compressed files (`ovf:compression="gzip"`) uncompressed: `ovf:compression`
    /// is dropped and `ovf:size` set to the uncompressed size (default: copied as stored).
    pub decompress: bool,
}

/// Options for [`Ova::pack_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PackOptions {
    /// Manifest to write (default: fresh SHA-256).
    pub manifest: ManifestChoice,
    /// How sizes ≥ 8 GiB are stored (default: GNU base-256).
    pub large: LargeSize,
    /// Split large referenced files with OVF chunking instead (default: none).
    pub chunking: Option<Chunking>,
}

impl PackOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
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

    /// Split large referenced files into chunks (see [`Chunking`]).
    pub fn with_chunking(mut self, chunking: Option<Chunking>) -> Self {
        self.chunking = chunking;
        self
    }
}

/// Marks the planned files that `chunking` applies to and that the descriptor references
/// under the same name, and returns the descriptor edits that declare their chunk size.
fn plan_chunks(
    descriptor: &Descriptor,
    files: &mut [PlannedFile],
    chunking: Option<Chunking>,
) -> Vec<Edit> {
    let Some(c) = chunking else {
        return Vec::new();
    };
    let mut edits = Vec::new();
    for f in files.iter_mut() {
        if c.applies(f.size) && descriptor.references().iter().any(|r| r.href == f.name) {
            f.chunk_size = Some(c.chunk_size);
            edits.push(Edit::set_chunk_size(&f.name, c.chunk_size));
        }
    }
    edits
}

impl RepackOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Choose the manifest.
    pub fn with_manifest(mut self, manifest: ManifestChoice) -> Self {
        self.manifest = manifest;
        self
    }

    /// Set the edits.
    pub fn with_edits(mut self, edits: Vec<Edit>) -> Self {
        self.edits = edits;
        self
    }

    /// Choose the large-file encoding.
    pub fn with_large_size(mut self, large: LargeSize) -> Self {
        self.large = large;
        self
    }

    /// Split large referenced files into chunks (see [`Chunking`]).
    pub fn with_chunking(mut self, chunking: Option<Chunking>) -> Self {
        self.chunking = chunking;
        self
    }

    /// Store chunked files as one entry each (see [`RepackOptions::join_chunks`]).
    pub fn with_join_chunks(mut self, join: bool) -> Self {
        self.join_chunks = join;
        self
    }

    /// Store gzip-compressed files uncompressed (see [`RepackOptions::decompress`]).
    pub fn with_decompress(mut self, decompress: bool) -> Self {
        self.decompress = decompress;
        self
    }
}

/// Options for [`Ova::extract_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExtractOptions {
    /// Write the chunks of a chunked file as stored (`href.000000000`, ...) instead of
    /// joining them (default: joined).
    pub keep_chunks: bool,
}

impl ExtractOptions {
    /// Default options (chunks joined).
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep the chunks of chunked files as stored.
    pub fn with_keep_chunks(mut self, keep: bool) -> Self {
        self.keep_chunks = keep;
        self
    }
}

/// What an in-place edit did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct InPlaceReport {
    /// Bytes written to the archive.
    pub bytes_written: u64,
    /// Descriptor size before and after.
    pub descriptor_size: (u64, u64),
    /// Whitespace bytes appended to the descriptor.
    pub padding: u64,
    /// Manifest lines rewritten.
    pub manifest_lines: Vec<usize>,
    /// Whether an interrupted earlier edit was rolled back first.
    pub recovered: bool,
}

/// Expand References into archive names: a chunked file becomes its chunk entries present in
/// the archive (`href.000000000`, ...), in chunk order.
pub fn reference_names(descriptor: &Descriptor, index: &ArchiveIndex) -> Vec<String> {
    let mut out = Vec::new();
    for r in descriptor.references() {
        out.extend(
            stored_entries(index, &r.href, r.chunk_size.is_some())
                .into_iter()
                .map(|e| write::normalize_name(&e.name).to_owned()),
        );
        let href = write::normalize_name(&r.href);
        if !out
            .iter()
            .any(|n| n == href || chunk_of(n).is_some_and(|(b, _)| b == href))
        {
            // Absent: planning reports it as missing.
            out.push(href.to_owned());
        }
    }
    out
}

/// `("disk.vmdk", 1)` for the chunk name `disk.vmdk.000000001` (a dot and exactly 9 digits).
pub fn chunk_of(name: &str) -> Option<(&str, u64)> {
    let (base, suffix) = name.rsplit_once('.')?;
    (!base.is_empty() && suffix.len() == 9 && suffix.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (base, suffix.parse().unwrap_or(0)))
}

/// The regular entries holding the file `href`: the entry of that name, or (when there is
/// none and `chunked` is set) its chunk entries in chunk order.
fn stored_entries<'a>(index: &'a ArchiveIndex, href: &str, chunked: bool) -> Vec<&'a EntryInfo> {
    let href = write::normalize_name(href);
    let regular = |e: &&EntryInfo| e.entry_type == EntryType::Regular;
    if let Some(e) = index
        .entries
        .iter()
        .filter(regular)
        .find(|e| write::normalize_name(&e.name) == href)
    {
        return vec![e];
    }
    if !chunked {
        return Vec::new();
    }
    let mut chunks: Vec<(u64, &EntryInfo)> = index
        .entries
        .iter()
        .filter(regular)
        .filter_map(|e| {
            let (base, k) = chunk_of(write::normalize_name(&e.name))?;
            (base == href).then_some((k, e))
        })
        .collect();
    chunks.sort_by_key(|(k, _)| *k);
    chunks.dedup_by_key(|(k, _)| *k);
    chunks.into_iter().map(|(_, e)| e).collect()
}

/// A file the descriptor references, as the archive stores it: one entry, or the chunks of an
/// OVF-chunked file, possibly gzip-compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredFile {
    /// `ovf:href`, without a leading `./`.
    pub href: String,
    /// The entries holding it, in order (one, or its chunks; none when it is absent).
    pub entries: Vec<EntryInfo>,
    /// `ovf:compression`.
    pub compression: Compression,
    /// `ovf:chunkSize`, when declared.
    pub chunk_size: Option<u64>,
    /// `ovf:size`, when declared.
    pub declared_size: Option<u64>,
}

impl StoredFile {
    /// Bytes stored (the chunks together; compressed bytes for a compressed file).
    pub fn stored_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// Whether it is stored as chunks (`href.000000000`, ...).
    pub fn is_chunked(&self) -> bool {
        self.entries
            .first()
            .is_some_and(|e| write::normalize_name(&e.name) != self.href)
    }
}

impl Ova {
    /// Open an OVA and read its entry table (headers only; the data is not read).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened, [`Error::BadHeader`] when it is not a tar
    /// archive, [`Error::Truncated`] when it ends inside a header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            archive: IndexedArchive::open(path)?,
        })
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        self.archive.path()
    }

    /// The entry table.
    pub fn index(&self) -> &ArchiveIndex {
        self.archive.index()
    }

    /// Entries in archive order.
    pub fn entries(&self) -> &[EntryInfo] {
        &self.archive.index().entries
    }

    /// The underlying indexed archive.
    pub fn archive(&self) -> &IndexedArchive {
        &self.archive
    }

    /// The descriptor's bytes.
    ///
    /// # Errors
    ///
    /// [`Error::NoDescriptor`], [`Error::EntryTooLarge`] above [`MAX_TEXT_ENTRY`], read errors.
    pub fn descriptor_bytes(&self) -> Result<Vec<u8>> {
        let d = self
            .index()
            .descriptor()
            .ok_or_else(|| Error::NoDescriptor {
                source_name: self.path().display().to_string(),
            })?;
        self.archive.read_entry(d, MAX_TEXT_ENTRY)
    }

    /// The parsed descriptor.
    ///
    /// # Errors
    ///
    /// As [`descriptor_bytes`](Self::descriptor_bytes), plus the descriptor parse errors.
    pub fn descriptor(&self) -> Result<Descriptor> {
        Descriptor::from_vec(self.descriptor_bytes()?)
    }

    /// The manifest entry, its bytes and its parse, if there is a manifest.
    ///
    /// # Errors
    ///
    /// [`Error::EntryTooLarge`] above [`MAX_TEXT_ENTRY`], read errors.
    pub fn manifest(&self) -> Result<Option<(EntryInfo, Vec<u8>, Manifest)>> {
        let Some(mf) = self.index().manifest() else {
            return Ok(None);
        };
        let bytes = self.archive.read_entry(mf, MAX_TEXT_ENTRY)?;
        let parsed = manifest::parse(&bytes);
        Ok(Some((mf.clone(), bytes, parsed)))
    }

    /// The files the descriptor references, in References order, with the entries that store
    /// them (a chunked file's chunks in order) and their compression.
    ///
    /// # Errors
    ///
    /// As [`descriptor`](Self::descriptor).
    pub fn stored_files(&self) -> Result<Vec<StoredFile>> {
        let descriptor = self.descriptor()?;
        Ok(Self::stored_files_of(&descriptor, self.index()))
    }

    fn stored_files_of(descriptor: &Descriptor, index: &ArchiveIndex) -> Vec<StoredFile> {
        descriptor
            .references()
            .iter()
            .map(|r| StoredFile {
                href: write::normalize_name(&r.href).to_owned(),
                entries: stored_entries(index, &r.href, r.chunk_size.is_some())
                    .into_iter()
                    .cloned()
                    .collect(),
                compression: Compression::from_attribute(r.compression.as_deref()),
                chunk_size: r.chunk_size,
                declared_size: r.size,
            })
            .collect()
    }

    /// The stored bytes of `file`, its chunks joined (compressed bytes stay compressed).
    pub fn open_stored(&self, file: &StoredFile) -> StoredReader<'_> {
        let len = self.index().len;
        let parts = file
            .entries
            .iter()
            .map(|e| (e.data_offset, e.size.min(len.saturating_sub(e.data_offset))))
            .collect();
        StoredReader::new(self.archive.file(), parts)
    }

    /// The content of `file` as one file: its chunks joined, gzip decompressed. The reader is
    /// seekable (see [`crate::content`] for what seeking in a gzip stream costs).
    ///
    /// ```no_run
    /// # fn main() -> ova_core::Result<()> {
    /// use std::io::Read;
    /// let ova = ova_core::package::Ova::open("appliance.ova")?;
    /// for file in ova.stored_files()? {
    ///     let mut head = [0u8; 4];
    ///     ova.open_content(&file)?.read_exact(&mut head).ok();
    ///     println!("{}: {:?}", file.href, head);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedCompression`] for an `ovf:compression` other than gzip or identity.
    pub fn open_content(&self, file: &StoredFile) -> Result<ContentReader<'_>> {
        ContentReader::new(self.open_stored(file), &file.compression).map_err(|method| {
            Error::UnsupportedCompression {
                entry: file.href.clone(),
                method,
            }
        })
    }

    /// Hash every regular entry with `algorithms`, one pass, each byte read once; returns
    /// `(name, digests, exempt)` for every entry (the manifest and certificate are exempt).
    fn hash_entries(
        &self,
        algorithms: &[Algorithm],
        progress: Progress<'_>,
    ) -> Result<Vec<(String, Digests, bool)>> {
        let mut out = Vec::new();
        for e in self.entries() {
            let exempt = matches!(e.kind, EntryKind::Manifest | EntryKind::Certificate)
                || e.entry_type != EntryType::Regular;
            if exempt
                || e.problems
                    .iter()
                    .any(|p| matches!(p, EntryProblem::SizePastEnd { .. }))
            {
                out.push((e.name.clone(), Digests::new(), exempt));
                continue;
            }
            let mut src = self.archive.open_entry(e)?;
            let copy = write::copy_hashed(&mut src, &mut std::io::sink(), algorithms, progress)
                .map_err(|source| Error::Io {
                    path: self.path().to_path_buf(),
                    source,
                })?;
            let (n, d) = crate::progress::finished(copy)?;
            if n != e.size {
                return Err(Error::Truncated {
                    entry: e.name.clone(),
                    offset: e.data_offset + n,
                });
            }
            out.push((e.name.clone(), d, false));
        }
        Ok(out)
    }

    /// Check the manifest against the data: reads the manifest first, then hashes every other
    /// entry once with the manifest's algorithms. `None` when there is no manifest.
    ///
    /// `progress` gets the bytes hashed (see [`Progress`]).
    ///
    /// # Errors
    ///
    /// Read errors, [`Error::Truncated`], [`Error::Cancelled`] when `progress` stops it.
    pub fn verify_manifest(
        &self,
        progress: Progress<'_>,
    ) -> Result<Option<(Manifest, VerifyReport)>> {
        let Some((mf, _, parsed)) = self.manifest()? else {
            return Ok(None);
        };
        let algs: Vec<Algorithm> = parsed.algorithms().into_iter().collect();
        let hashed = self.hash_entries(&algs, progress)?;
        let mut report =
            manifest::compare(&parsed, hashed.iter().map(|(n, d, e)| (n.as_str(), d, *e)));
        report.manifest_name = Some(mf.name);
        Ok(Some((parsed, report)))
    }

    /// Gather the facts of this package (entries, descriptor bytes, manifest and digest
    /// checks; digests are computed in one pass) for the validation engine.
    ///
    /// `progress` gets the bytes hashed (see [`Progress`]).
    ///
    /// # Errors
    ///
    /// Read errors, [`Error::Cancelled`] when `progress` stops it.
    pub fn facts(&self, progress: Progress<'_>) -> Result<PackageFacts> {
        let descriptor = match self.index().descriptor() {
            Some(d) if d.size <= MAX_TEXT_ENTRY => self.archive.read_entry(d, MAX_TEXT_ENTRY).ok(),
            _ => None,
        };
        let manifest = match self.manifest()? {
            Some((mf, _, parsed)) => {
                let algs: Vec<Algorithm> = parsed.algorithms().into_iter().collect();
                let hashed = self.hash_entries(&algs, progress)?;
                let mut report =
                    manifest::compare(&parsed, hashed.iter().map(|(n, d, e)| (n.as_str(), d, *e)));
                report.manifest_name = Some(mf.name.clone());
                Some(ManifestFacts::new(mf.name, parsed, Some(report)))
            }
            None => None,
        };
        let disks = self.inspect_stream_disks(descriptor.as_deref())?;
        Ok(PackageFacts::new(self.entries().to_vec(), descriptor, manifest).with_disks(disks))
    }

    /// Walks every stream-optimized VMDK in the package in place, without extracting it: each
    /// referenced file read as one file (chunks joined, gzip decompressed, see
    /// [`open_content`](Self::open_content)) and each unreferenced entry, when it starts with a
    /// stream VMDK header or the descriptor declares it a streamOptimized disk.
    fn inspect_stream_disks(&self, descriptor: Option<&[u8]>) -> Result<Vec<DiskFacts>> {
        let parsed = descriptor.and_then(|b| Descriptor::parse(b).ok());
        let declared: Vec<String> = parsed
            .as_ref()
            .map(|d| {
                d.disks()
                    .iter()
                    .filter(|disk| {
                        disk.format
                            .as_deref()
                            .is_some_and(|f| f.to_ascii_lowercase().contains("streamoptimized"))
                    })
                    .filter_map(|disk| d.file(disk.file_ref.as_deref()?))
                    .map(|f| write::normalize_name(&f.href).to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let mut files = parsed
            .as_ref()
            .map(|d| Self::stored_files_of(d, self.index()))
            .unwrap_or_default();
        files.retain(|f| !f.entries.is_empty() && f.entries.iter().all(EntryInfo::is_safe_regular));
        let covered: Vec<u64> = files
            .iter()
            .flat_map(|f| f.entries.iter().map(|e| e.data_offset))
            .collect();
        for e in self.entries() {
            if e.kind == EntryKind::File && e.is_safe_regular() && !covered.contains(&e.data_offset)
            {
                files.push(StoredFile {
                    href: write::normalize_name(&e.name).to_owned(),
                    entries: vec![e.clone()],
                    compression: Compression::Identity,
                    chunk_size: None,
                    declared_size: None,
                });
            }
        }
        let mut disks = Vec::new();
        for f in &files {
            let name = f.href.as_str();
            let Ok(mut content) = self.open_content(f) else {
                // An unreadable compression is reported by the descriptor rules.
                continue;
            };
            let mut head = [0u8; 12];
            let mut got = 0;
            let mut undecodable = false;
            while got < head.len() {
                match std::io::Read::read(&mut content, &mut head[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) if f.compression != Compression::Identity => {
                        // Not a readable gzip stream: say so for a declared disk.
                        if declared.iter().any(|d| d == name) {
                            disks.push(DiskFacts::new(
                                name,
                                false,
                                Err(format!(
                                    "the {:?} data cannot be decompressed: {e}",
                                    f.compression
                                )),
                            ));
                        }
                        undecodable = true;
                        break;
                    }
                    Err(source) => {
                        return Err(Error::Io {
                            path: self.archive.path().to_owned(),
                            source,
                        });
                    }
                }
            }
            // a sparse extent whose flags say compressed grains with markers
            let stream = !undecodable
                && got == 12
                && head.starts_with(b"KDMV")
                && u32::from_le_bytes([head[8], head[9], head[10], head[11]]) & 0x30000 == 0x30000;
            let inspection = if stream {
                let rewound = std::io::Seek::seek(&mut content, std::io::SeekFrom::Start(0));
                match rewound.map_err(|source| Error::Io {
                    path: self.archive.path().to_owned(),
                    source,
                }) {
                    Ok(_) => match crate::vmdk::inspect(&mut content) {
                        Ok(info) => Ok(info.problems),
                        Err(e @ Error::Io { .. }) if f.compression == Compression::Identity => {
                            return Err(e);
                        }
                        Err(e) => Err(e.to_string()),
                    },
                    Err(e) => Err(e.to_string()),
                }
            } else if !undecodable && declared.iter().any(|d| d == name) {
                Err(String::from(
                    "declared streamOptimized but has no stream-optimized sparse header",
                ))
            } else {
                continue;
            };
            disks.push(DiskFacts::new(name, stream, inspection));
        }
        Ok(disks)
    }

    /// Validate the package: archive layout, descriptor rules, manifest coverage and digests.
    ///
    /// `progress` gets the bytes hashed (see [`Progress`]).
    ///
    /// # Errors
    ///
    /// Read errors, and [`Error::Cancelled`] when `progress` stops it; every problem of the
    /// package itself is a [`Finding`].
    pub fn validate(&self, progress: Progress<'_>) -> Result<Vec<Finding>> {
        let facts = self.facts(progress)?;
        Ok(validate::validate_package(&facts))
    }

    /// The descriptor after `edits`, and the archive names in References order.
    fn edited(&self, edits: &[Edit]) -> Result<(String, Vec<u8>, Vec<String>)> {
        let d_entry = self
            .index()
            .descriptor()
            .ok_or_else(|| Error::NoDescriptor {
                source_name: self.path().display().to_string(),
            })?;
        let descriptor = self.descriptor()?;
        let bytes = if edits.is_empty() {
            descriptor.as_bytes().to_vec()
        } else {
            descriptor.apply(edits)?
        };
        let order = reference_names(&descriptor, self.index());
        Ok((
            write::normalize_name(&d_entry.name).to_owned(),
            bytes,
            order,
        ))
    }

    /// Write a new OVA at `out` in one pass over this one: descriptor (edited) first, then the
    /// manifest (regenerated or omitted), then the files in References order, then any other
    /// regular files. Certificates are dropped (the signature no longer matches), as are
    /// directories, links and AppleDouble files; the report lists what was dropped.
    ///
    /// `progress` gets the bytes of each file copied (see [`Progress`]).
    ///
    /// # Errors
    ///
    /// Descriptor parse and edit errors, [`Error::MissingEntry`] for a referenced file absent from
    /// the archive, write errors, [`Error::Cancelled`] when `progress` stops it. `out` is never
    /// left half-written: on any error the temporary file is removed and an existing `out` is
    /// left as it was (`out` may be this package's own path).
    pub fn repack(
        &self,
        out: impl AsRef<Path>,
        options: &RepackOptions,
        progress: Progress<'_>,
    ) -> Result<WriteReport> {
        let (name, bytes, order) = self.edited(&options.edits)?;
        let (mut files, dropped) = write::plan_repack(self.entries(), &order)?;
        let (files_changes, units) = self.storage_units(options, progress)?;
        for unit in units {
            let pieces: Vec<String> = match &unit.source {
                FileSource::ArchiveParts { parts, .. } => self
                    .entries()
                    .iter()
                    .filter(|e| parts.iter().any(|(o, _)| *o == e.data_offset))
                    .map(|e| write::normalize_name(&e.name).to_owned())
                    .collect(),
                _ => Vec::new(),
            };
            let at = files
                .iter()
                .position(|f| pieces.contains(&f.name))
                .unwrap_or(files.len());
            files.retain(|f| !pieces.contains(&f.name));
            files.insert(at.min(files.len()), unit);
        }
        let bytes = if files_changes.is_empty() {
            bytes
        } else {
            write::refs::apply(&Descriptor::parse(&bytes)?, &files_changes)?
        };
        let chunk_edits = plan_chunks(&Descriptor::parse(&bytes)?, &mut files, options.chunking);
        let bytes = if chunk_edits.is_empty() {
            bytes
        } else {
            Descriptor::parse(&bytes)?.apply(&chunk_edits)?
        };
        let spec = PackageSpec::new(&name, &bytes, &files)
            .with_manifest(options.manifest)
            .with_large_size(options.large);
        let mut report = write::write_package(out.as_ref(), &spec, Some(&self.archive), progress)?;
        report.dropped = dropped;
        Ok(report)
    }

    /// The referenced files a repack writes as one unit (joined chunks, decompressed gzip),
    /// with the References changes that describe their new storage. Decompressing needs the
    /// uncompressed size before the descriptor is written: each such file is decompressed
    /// once to count it (`progress` sees those bytes too).
    fn storage_units(
        &self,
        options: &RepackOptions,
        progress: Progress<'_>,
    ) -> Result<(Vec<write::refs::StorageChange>, Vec<PlannedFile>)> {
        let mut changes = Vec::new();
        let mut units = Vec::new();
        for f in self.stored_files()? {
            if f.entries.is_empty() {
                continue;
            }
            let join = f.is_chunked() && (options.join_chunks || options.chunking.is_some());
            let gunzip = options.decompress && f.compression == Compression::Gzip;
            if options.decompress && matches!(f.compression, Compression::Other(_)) {
                // Refused rather than copied still compressed.
                self.open_content(&f)?;
            }
            if !join && !gunzip {
                continue;
            }
            let mut change = write::refs::StorageChange::new(f.href.clone());
            if f.chunk_size.is_some() {
                // Written as one entry (re-chunked below when `chunking` applies).
                change.chunk_size = Some(None);
            }
            let size = if gunzip {
                let mut content = self.open_content(&f)?;
                let mut counted = 0u64;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = match std::io::Read::read(&mut content, &mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(source) => {
                            return Err(Error::Io {
                                path: format!("{}: {} (gzip)", self.path().display(), f.href)
                                    .into(),
                                source,
                            });
                        }
                    };
                    counted += n as u64;
                    crate::progress::report(progress, n as u64)?;
                }
                change.drop_compression = true;
                change.size = Some(counted);
                counted
            } else {
                f.stored_size()
            };
            let len = self.index().len;
            units.push(PlannedFile {
                name: f.href.clone(),
                source: FileSource::ArchiveParts {
                    parts: f
                        .entries
                        .iter()
                        .map(|e| (e.data_offset, e.size.min(len.saturating_sub(e.data_offset))))
                        .collect(),
                    gunzip,
                },
                size,
                chunk_size: None,
            });
            changes.push(change);
        }
        Ok((changes, units))
    }

    /// Apply `edits` to the descriptor of the OVA at `path` in place, when the result fits the
    /// blocks the descriptor entry already occupies. Only the descriptor's header and blocks and
    /// the manifest's descriptor digest(s) are rewritten; see [`crate::inplace`] for the
    /// crash-safety protocol. An interrupted earlier edit is rolled back first.
    ///
    /// # Errors
    ///
    /// [`Error::InPlaceImpossible`] when the edit does not fit, the package is signed, or the
    /// descriptor is preceded by extension headers (callers fall back to [`repack`](Self::repack));
    /// edit errors; I/O errors.
    pub fn edit_in_place(path: impl AsRef<Path>, edits: &[Edit]) -> Result<InPlaceReport> {
        let path = path.as_ref();
        let recovered = inplace::recover(path)?;
        let ova = Self::open(path)?;
        let (_, bytes, _) = ova.edited(edits)?;
        let d = ova
            .index()
            .descriptor()
            .cloned()
            .ok_or_else(|| Error::NoDescriptor {
                source_name: path.display().to_string(),
            })?;
        let mut header = [0u8; BLOCK];
        {
            use std::os::unix::fs::FileExt;
            ova.archive
                .file()
                .read_exact_at(&mut header, d.own_header_offset)
                .map_err(|source| Error::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
        }
        let manifest = ova.manifest()?;
        let plan = inplace::plan(
            ova.index(),
            &header,
            manifest.as_ref().map(|(e, b, _)| (e, &b[..])),
            &bytes,
        )?;
        drop(ova);
        inplace::apply(path, &plan)?;
        Ok(InPlaceReport {
            bytes_written: plan.patches.iter().map(|p| p.bytes.len() as u64).sum(),
            descriptor_size: (d.size, plan.descriptor_size),
            padding: plan.padding,
            manifest_lines: plan.manifest_lines.iter().map(|(l, _)| *l).collect(),
            recovered,
        })
    }

    /// Extract every regular entry into `dir`, the chunks of a chunked file joined (see
    /// [`extract_with`](Self::extract_with)); see [`write::extract`] for the safety rules.
    ///
    /// `progress` gets the bytes written (see [`Progress`]).
    ///
    /// Entries are committed one by one. When the extraction stops (an I/O error, or
    /// [`Error::Cancelled`]), the entry being written is removed and a file of its name that
    /// existed before is left as it was; the entries extracted before it stay, as do `dir` and
    /// the directories created for them (see [`write::extract`]).
    ///
    /// # Errors
    ///
    /// [`Error::UnsafeEntry`] (nothing is written then), I/O errors, [`Error::Cancelled`] when
    /// `progress` stops it.
    pub fn extract(&self, dir: impl AsRef<Path>, progress: Progress<'_>) -> Result<Vec<PathBuf>> {
        self.extract_with(dir, &ExtractOptions::new(), progress)
    }

    /// [`extract`](Self::extract) with options. By default a file the package stores in
    /// chunks (`href.000000000`, ...) is written joined, as `href`: the extracted descriptor
    /// then has no `ovf:chunkSize` for it and the extracted manifest lists it with a digest
    /// computed while writing (its other lines are kept), so the directory is a consistent
    /// OVF package again. [`ExtractOptions::keep_chunks`] writes the entries as stored.
    ///
    /// # Errors
    ///
    /// As [`extract`](Self::extract); [`Error::UnsafeEntry`] for a signed package whose chunks
    /// would be joined (the signature covers the manifest as stored: keep the chunks).
    pub fn extract_with(
        &self,
        dir: impl AsRef<Path>,
        options: &ExtractOptions,
        progress: Progress<'_>,
    ) -> Result<Vec<PathBuf>> {
        let dir = dir.as_ref();
        let joined: Vec<StoredFile> = if options.keep_chunks {
            Vec::new()
        } else {
            // A descriptor that cannot be read has no References to join.
            self.stored_files()
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f.is_chunked() && f.entries.iter().all(EntryInfo::is_safe_regular))
                .collect()
        };
        if joined.is_empty() {
            return write::extract(&self.archive, dir, progress);
        }
        if let Some(cert) = self.index().certificate() {
            return Err(Error::UnsafeEntry {
                entry: cert.name.clone(),
                reason: "the signature covers the chunks as stored; extract with the chunks kept"
                    .into(),
            });
        }
        let d_entry = self.index().descriptor().cloned();
        let mf_entry = self.index().manifest().cloned();
        let rewritten: Vec<u64> = d_entry
            .iter()
            .chain(mf_entry.iter())
            .map(|e| e.data_offset)
            .chain(
                joined
                    .iter()
                    .flat_map(|f| f.entries.iter().map(|e| e.data_offset)),
            )
            .collect();
        let mut written = write::extract_entries(
            &self.archive,
            dir,
            &|e| !rewritten.contains(&e.data_offset),
            progress,
        )?;
        let manifest = self.manifest()?;
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let mut joined_digests: Vec<(String, Digests)> = Vec::new();
        for f in &joined {
            let rel = write::safe_relative_path(&f.href)?;
            write::make_parents(dir, &rel, &f.href)?;
            let target = dir.join(&rel);
            let algorithms: Vec<Algorithm> = manifest
                .as_ref()
                .map(|(_, _, m)| {
                    let mut a: Vec<Algorithm> = m
                        .lines
                        .iter()
                        .filter(|l| chunk_of(&l.name).is_some_and(|(b, _)| b == f.href))
                        .map(|l| l.algorithm)
                        .collect();
                    a.sort();
                    a.dedup();
                    a
                })
                .unwrap_or_default();
            let mut out = write::AtomicFile::create(&target)?;
            let mut src = self.open_stored(f);
            let copy = write::copy_hashed(&mut src, out.file(), &algorithms, progress)
                .map_err(io_err(&target))?;
            let (n, digests) = crate::progress::finished(copy)?;
            if n != f.stored_size() {
                return Err(Error::Truncated {
                    entry: f.href.clone(),
                    offset: n,
                });
            }
            out.commit()?;
            written.push(target);
            joined_digests.push((f.href.clone(), digests));
        }
        let Some(d_entry) = d_entry else {
            return Ok(written);
        };
        let changes: Vec<write::refs::StorageChange> = joined
            .iter()
            .map(|f| {
                let mut c = write::refs::StorageChange::new(f.href.clone());
                c.chunk_size = Some(None);
                c
            })
            .collect();
        let descriptor = self.descriptor()?;
        let d_bytes = write::refs::apply(&descriptor, &changes)?;
        let mut small = |name: &str, bytes: &[u8]| -> Result<()> {
            let rel = write::safe_relative_path(name)?;
            write::make_parents(dir, &rel, name)?;
            let target = dir.join(&rel);
            let mut out = write::AtomicFile::create(&target)?;
            std::io::Write::write_all(out.file(), bytes).map_err(io_err(&target))?;
            out.commit()?;
            written.push(target);
            Ok(())
        };
        small(&d_entry.name, &d_bytes)?;
        if let Some((mf, _, parsed)) = manifest {
            let d_name = write::normalize_name(&d_entry.name);
            let mut text = String::new();
            for l in &parsed.lines {
                if let Some((base, k)) = chunk_of(&l.name)
                    && let Some((_, d)) = joined_digests.iter().find(|(h, _)| h == base)
                {
                    if k == 0 {
                        let digest = d.get(&l.algorithm).cloned().unwrap_or_default();
                        text.push_str(&manifest::format_line(l.algorithm, base, &digest));
                    }
                    continue;
                }
                let digest = if l.name == d_name {
                    l.algorithm.digest(&d_bytes)
                } else {
                    l.digest.clone()
                };
                text.push_str(&manifest::format_line(l.algorithm, &l.name, &digest));
            }
            small(&mf.name, text.as_bytes())?;
        }
        Ok(written)
    }

    /// Pack a directory (holding exactly one `.ovf`) or an `.ovf` file plus the files its
    /// References name (relative to it) into an OVA at `out`: descriptor, fresh manifest, then
    /// the files in References order.
    ///
    /// # Errors
    ///
    /// [`Error::NoDescriptor`] when a directory holds no or several `.ovf` files,
    /// [`Error::MissingEntry`] when a referenced file is absent, [`Error::UnsafeEntry`] for an
    /// href that is absolute, climbs out with `..` or is a URL, descriptor parse errors, I/O
    /// errors, [`Error::Cancelled`] when `progress` (which gets the bytes of each file copied)
    /// stops it. `out` is never left half-written: on any error the temporary file is removed
    /// and an existing `out` is left as it was.
    pub fn pack(
        src: impl AsRef<Path>,
        out: impl AsRef<Path>,
        manifest: ManifestChoice,
        large: LargeSize,
        progress: Progress<'_>,
    ) -> Result<WriteReport> {
        let options = PackOptions::new()
            .with_manifest(manifest)
            .with_large_size(large);
        Self::pack_with(src, out, &options, progress)
    }

    /// [`pack`](Self::pack) with all options, including OVF chunking of large files.
    ///
    /// # Errors
    ///
    /// As [`pack`](Self::pack).
    pub fn pack_with(
        src: impl AsRef<Path>,
        out: impl AsRef<Path>,
        options: &PackOptions,
        progress: Progress<'_>,
    ) -> Result<WriteReport> {
        let src = src.as_ref();
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| Error::Io { path: p, source }
        };
        let ovf_path = if src.is_dir() {
            let mut found = Vec::new();
            for e in std::fs::read_dir(src).map_err(io(src))? {
                let p = e.map_err(io(src))?.path();
                if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ovf")) {
                    found.push(p);
                }
            }
            if found.len() != 1 {
                return Err(Error::NoDescriptor {
                    source_name: format!(
                        "{} ({} .ovf files; exactly one is needed)",
                        src.display(),
                        found.len()
                    ),
                });
            }
            found.remove(0)
        } else {
            src.to_path_buf()
        };
        let dir = ovf_path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let bytes = std::fs::read(&ovf_path).map_err(io(&ovf_path))?;
        let descriptor = Descriptor::parse(&bytes)?;
        let name = ovf_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files = Vec::new();
        for r in descriptor.references() {
            let lower = r.href.to_ascii_lowercase();
            if lower.contains("://") || lower.starts_with("file:") {
                return Err(Error::UnsafeEntry {
                    entry: r.href.clone(),
                    reason: "external reference; only local files can be packed".into(),
                });
            }
            let rel = write::safe_relative_path(&r.href)?;
            let archive_name = write::normalize_name(&r.href).to_owned();
            let mut push = |archive_name: String, p: PathBuf| -> Result<()> {
                let size = std::fs::metadata(&p)
                    .map_err(|_| Error::MissingEntry {
                        entry: archive_name.clone(),
                    })?
                    .len();
                files.push(PlannedFile::from_path(archive_name, p, size));
                Ok(())
            };
            let p = dir.join(&rel);
            if p.exists() || r.chunk_size.is_none() {
                push(archive_name, p)?;
            } else {
                // Chunked and stored as chunks on disk.
                let mut n = 0u32;
                loop {
                    let cname = format!("{archive_name}.{n:09}");
                    let cp = dir.join(format!("{}.{n:09}", rel.display()));
                    if !cp.exists() {
                        break;
                    }
                    push(cname, cp)?;
                    n += 1;
                }
                if n == 0 {
                    return Err(Error::MissingEntry {
                        entry: archive_name,
                    });
                }
            }
        }
        let chunk_edits = plan_chunks(&descriptor, &mut files, options.chunking);
        let bytes = if chunk_edits.is_empty() {
            bytes
        } else {
            descriptor.apply(&chunk_edits)?
        };
        let spec = PackageSpec::new(&name, &bytes, &files)
            .with_manifest(options.manifest)
            .with_large_size(options.large);
        write::write_package(out.as_ref(), &spec, None, progress)
    }
}

impl PlannedFile {
    /// A file read from disk.
    pub fn from_path(name: String, path: PathBuf, size: u64) -> Self {
        Self {
            name,
            source: FileSource::Path(path),
            size,
            chunk_size: None,
        }
    }
}
