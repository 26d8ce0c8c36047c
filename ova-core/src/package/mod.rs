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

mod files;
mod rewrite;

use std::path::Path;

use crate::archive::{ArchiveIndex, EntryInfo, EntryKind, EntryProblem, IndexedArchive};
use crate::content::Compression;
use crate::error::{Error, Result};
use crate::inplace;
use crate::manifest::{self, Algorithm, Digests, Manifest, VerifyReport};
use crate::ovf::{Descriptor, Edit};
use crate::progress::Progress;
use crate::tar::{BLOCK, EntryType};
use crate::validate::{self, DiskFacts, Finding, ManifestFacts, PackageFacts};
use crate::write;

pub use files::{StoredFile, chunk_of, reference_names};
pub use rewrite::{ExtractOptions, PackOptions, RepackOptions};

/// Largest descriptor or manifest read into memory (64 MiB).
pub const MAX_TEXT_ENTRY: u64 = 64 << 20;

/// An OVA file opened for random access.
#[derive(Debug)]
pub struct Ova {
    archive: IndexedArchive,
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
            let sparse = !undecodable && got == 12 && head.starts_with(b"KDMV");
            let stream = sparse
                && u32::from_le_bytes([head[8], head[9], head[10], head[11]]) & 0x30000 == 0x30000;
            let damaged = if sparse && !stream {
                // Any other sparse extent: its header is checked as `ova vmdk info` checks it.
                let mut sector = Vec::with_capacity(512);
                let _ =
                    std::io::Seek::seek(&mut content, std::io::SeekFrom::Start(0)).and_then(|_| {
                        std::io::Read::read_to_end(
                            &mut std::io::Read::take(&mut content, 512),
                            &mut sector,
                        )
                    });
                crate::vmdk::layout::SparseHeader::parse(&sector).err()
            } else {
                None
            };
            let has_header = stream || damaged.is_some();
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
            } else if let Some(e) = damaged {
                Err(e.to_string())
            } else if !undecodable && declared.iter().any(|d| d == name) {
                Err(String::from(
                    "declared streamOptimized but has no stream-optimized sparse header",
                ))
            } else {
                continue;
            };
            disks.push(DiskFacts::new(name, has_header, inspection));
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
}
