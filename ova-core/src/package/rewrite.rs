//! Writing packages from an [`Ova`]: repack (with edits, chunking, joining and
//! decompression), extract, and pack.

use std::path::{Path, PathBuf};

use crate::archive::EntryInfo;
use crate::content::Compression;
use crate::error::{Error, Result};
use crate::manifest::{self, Algorithm, Digests};
use crate::ovf::{Descriptor, Edit};
use crate::progress::Progress;
use crate::tar::LargeSize;
use crate::write::{
    self, Chunking, FileSource, ManifestChoice, PackageSpec, PlannedFile, WriteReport,
};

use super::{Ova, StoredFile, chunk_of};

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

impl Ova {
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
            let mut file = write::StreamingFile::new(out.file(), f.stored_size());
            let copy = write::copy_hashed(&mut src, &mut file, &algorithms, progress)
                .map_err(io_err(&target))?;
            let (n, digests) = crate::progress::finished(copy)?;
            if n != f.stored_size() {
                return Err(Error::Truncated {
                    entry: f.href.clone(),
                    offset: n,
                });
            }
            drop(file);
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
