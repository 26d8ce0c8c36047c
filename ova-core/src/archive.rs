//! Reading OVA archives: a single-pass streaming reader over any [`Read`] and an indexed reader
//! over a file.
//!
//! Both readers decode ustar, v7, GNU (base-256 numbers, `././@LongLink`) and pax headers through
//! [`crate::tar`], and attach every irregularity they see to the entry as an [`EntryProblem`]
//! instead of silently accepting it: absolute names, `..` components, links, devices, directories,
//! duplicates, extension headers (pax `x`/`g`, GNU LongLink) in front of an entry, macOS `._`
//! files, and (for the indexed reader, which knows the file length) sizes that run past the end.
//! Corrupt header blocks and archives that end inside an entry are typed errors.
//!
//! ```
//! # fn main() -> ova_core::Result<()> {
//! use ova_core::archive::{ArchiveReader, EntryKind};
//! use ova_core::tar::{self, LargeSize};
//! use std::io::Read;
//!
//! let mut bytes = tar::ustar_header("vm.ovf", 11, 0, LargeSize::Refuse).unwrap().to_vec();
//! bytes.extend_from_slice(b"<Envelope/>");
//! bytes.resize(2048, 0); // padding and the two end-of-archive blocks
//!
//! let mut reader = ArchiveReader::new(&bytes[..]);
//! let mut entry = reader.next_entry()?.expect("one entry");
//! assert_eq!(entry.info().kind, EntryKind::Descriptor);
//! let mut xml = String::new();
//! entry.read_to_string(&mut xml).unwrap();
//! assert_eq!(xml, "<Envelope/>");
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};
use crate::tar::{self, BLOCK, EntryType, HeaderFormat, Magic};

pub use crate::tar::{EntryType as TarEntryType, HeaderFormat as TarHeaderFormat};

/// Largest pax or GNU LongLink payload the readers accept (1 MiB).
pub const MAX_EXTENSION_SIZE: u64 = 1 << 20;

/// What role an entry plays in an OVF package, decided from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EntryKind {
    /// An `.ovf` descriptor.
    Descriptor,
    /// An `.mf` manifest.
    Manifest,
    /// A `.cert` signature/certificate file.
    Certificate,
    /// Anything else (disks, ISOs, NVRAM, junk).
    File,
}

impl EntryKind {
    /// Classify an entry name by its extension (case-insensitive). macOS `._` AppleDouble files
    /// are always [`EntryKind::File`].
    pub fn of(name: &str) -> Self {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with("._") {
            return Self::File;
        }
        let lower = base.to_ascii_lowercase();
        if lower.ends_with(".ovf") {
            Self::Descriptor
        } else if lower.ends_with(".mf") {
            Self::Manifest
        } else if lower.ends_with(".cert") {
            Self::Certificate
        } else {
            Self::File
        }
    }
}

/// An extension header that preceded an entry's own header block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Extension {
    /// A pax `x` header (Python `tarfile` default, `tar --format=posix`).
    PaxLocal,
    /// A pax `g` global header.
    PaxGlobal,
    /// A GNU `././@LongLink` name (`L`).
    GnuLongName,
    /// A GNU `././@LongLink` link target (`K`).
    GnuLongLink,
}

/// An irregularity in one entry. The validator turns these into findings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryProblem {
    /// The name starts with `/`.
    AbsolutePath,
    /// The name has a `..` component.
    ParentComponent,
    /// The name is not a flat file name (it has a directory part, possibly `./`).
    NotFlat,
    /// A hard or symbolic link.
    Link {
        /// The link target.
        target: String,
    },
    /// A character/block device or FIFO.
    Special,
    /// A directory entry.
    Directory,
    /// An unknown type flag.
    UnknownType {
        /// The type flag byte.
        flag: u8,
    },
    /// A name already used by an earlier entry.
    Duplicate,
    /// The entry's data runs past the end of the file.
    SizePastEnd {
        /// Bytes of data actually present.
        available: u64,
    },
    /// An extension header preceded this entry's own header block.
    ExtensionHeader {
        /// Which one.
        extension: Extension,
    },
    /// A macOS AppleDouble (`._name`) file.
    AppleDouble,
    /// The name is not ASCII or not valid UTF-8.
    NonAsciiName,
    /// The name is longer than 100 bytes.
    LongName,
    /// The header uses the GNU base-256 number encoding.
    Base256 {
        /// The fields so written (`size`, `uid`, `gid`, `mode`, `mtime`).
        fields: Vec<&'static str>,
    },
}

/// Everything known about one archive entry without reading its data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct EntryInfo {
    /// Position of the entry in the archive (0-based, extension headers not counted).
    pub index: usize,
    /// The effective name (pax `path` or GNU long name when present), lossily UTF-8.
    pub name: String,
    /// Role in the package.
    pub kind: EntryKind,
    /// Tar entry type.
    pub entry_type: EntryType,
    /// Data size in bytes (pax `size` when present).
    pub size: u64,
    /// Offset of the first block belonging to this entry (its first extension header, if any).
    pub header_offset: u64,
    /// Offset of the entry's own header block.
    pub own_header_offset: u64,
    /// Offset of the first data byte.
    pub data_offset: u64,
    /// Header layout.
    pub header_format: HeaderFormat,
    /// Extension headers seen in front of the entry, in order.
    pub extensions: Vec<Extension>,
    /// Permission bits.
    pub mode: u32,
    /// Modification time (seconds).
    pub mtime: i64,
    /// Irregularities.
    pub problems: Vec<EntryProblem>,
}

impl EntryInfo {
    /// Whether this entry is a plain file (regular type) with a safe, flat name and no problems
    /// that make extraction unsafe.
    pub fn is_safe_regular(&self) -> bool {
        self.entry_type == EntryType::Regular
            && !self.problems.iter().any(|p| {
                matches!(
                    p,
                    EntryProblem::AbsolutePath
                        | EntryProblem::ParentComponent
                        | EntryProblem::Link { .. }
                        | EntryProblem::Special
                        | EntryProblem::Directory
                        | EntryProblem::UnknownType { .. }
                        | EntryProblem::Duplicate
                        | EntryProblem::SizePastEnd { .. }
                )
            })
    }

    /// Offset just past the entry's data padding.
    pub fn end_offset(&self) -> u64 {
        self.data_offset.saturating_add(tar::padded(self.size))
    }
}

/// How the archive ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ArchiveEnd {
    /// Offset just past the last entry (where the end-of-archive blocks start).
    pub data_end: u64,
    /// Number of all-zero blocks found at the end (POSIX wants two).
    pub zero_blocks: u64,
    /// Whether the archive stopped with no end-of-archive marker at all.
    pub missing_end_marker: bool,
    /// Whether the last entry's data was cut short (indexed reader only).
    pub truncated: bool,
}

fn name_problems(raw: &[u8], name: &str, problems: &mut Vec<EntryProblem>) {
    if !raw.is_ascii() {
        problems.push(EntryProblem::NonAsciiName);
    }
    if raw.len() > tar::MAX_NAME {
        problems.push(EntryProblem::LongName);
    }
    if name.starts_with('/') {
        problems.push(EntryProblem::AbsolutePath);
    }
    let trimmed = name.trim_end_matches('/');
    if trimmed.split(['/', '\\']).any(|c| c == "..") {
        problems.push(EntryProblem::ParentComponent);
    }
    if trimmed.contains('/') || name.starts_with("./") || trimmed == "." {
        problems.push(EntryProblem::NotFlat);
    }
    let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
    if base.starts_with("._") {
        problems.push(EntryProblem::AppleDouble);
    }
}

/// Skips `n` bytes of the source: by reading (any `Read`) or by seeking.
type Skipper<R> = fn(&mut R, u64) -> io::Result<u64>;

/// [`Error::NotAnOva`] when the first block of the input (at offset 0) is another known
/// format rather than a tar header.
fn not_an_ova(offset: u64, head: &[u8]) -> Option<Error> {
    if offset != 0 {
        return None;
    }
    crate::magic::sniff(head).map(|format| Error::NotAnOva {
        source_name: "input".into(),
        format,
    })
}

fn skip_by_reading<R: Read>(r: &mut R, n: u64) -> io::Result<u64> {
    io::copy(&mut r.take(n), &mut io::sink())
}

fn skip_by_seeking<R: Read + Seek>(r: &mut R, n: u64) -> io::Result<u64> {
    let n_i = i64::try_from(n).map_err(|_| io::Error::other("skip too large"))?;
    r.seek(SeekFrom::Current(n_i))?;
    Ok(n)
}

/// A single-pass reader over the entries of a tar archive.
///
/// Works on any [`Read`] (a file, a pipe, an HTTP body). Each call to
/// [`next_entry`](Self::next_entry) skips whatever the previous entry left unread.
#[derive(Debug)]
pub struct ArchiveReader<R> {
    inner: R,
    skipper: Skipper<R>,
    pos: u64,
    /// Data bytes of the current entry not yet consumed, and padding after them.
    remaining: u64,
    pad: u64,
    current_name: String,
    index: usize,
    seen: HashSet<String>,
    done: bool,
    end: ArchiveEnd,
    /// Known total length (indexed reader): entries running past it are reported, not read.
    limit: Option<u64>,
}

impl<R: Read> ArchiveReader<R> {
    /// Read from any byte stream. Unread data is skipped by reading it.
    pub fn new(inner: R) -> Self {
        Self::with_skipper(inner, skip_by_reading::<R>)
    }

    fn with_skipper(inner: R, skipper: Skipper<R>) -> Self {
        Self {
            inner,
            skipper,
            pos: 0,
            remaining: 0,
            pad: 0,
            current_name: String::new(),
            index: 0,
            seen: HashSet::new(),
            done: false,
            end: ArchiveEnd::default(),
            limit: None,
        }
    }

    /// Current offset in the archive.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// How the archive ended; meaningful once [`next_entry`](Self::next_entry) returned `None`.
    pub fn end(&self) -> &ArchiveEnd {
        &self.end
    }

    /// Give back the underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn truncated(&self) -> Error {
        Error::Truncated {
            entry: self.current_name.clone(),
            offset: self.pos,
        }
    }

    fn skip(&mut self, n: u64) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let got = (self.skipper)(&mut self.inner, n).map_err(|source| Error::ArchiveRead {
            offset: self.pos,
            source,
        })?;
        self.pos += got;
        if got < n {
            return Err(self.truncated());
        }
        Ok(())
    }

    /// Read one block; `Ok(None)` on a clean EOF at a block boundary.
    fn read_block(&mut self) -> Result<Option<[u8; BLOCK]>> {
        let mut block = [0u8; BLOCK];
        let mut filled = 0;
        while filled < BLOCK {
            match self.inner.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::ArchiveRead {
                        offset: self.pos,
                        source,
                    });
                }
            }
        }
        let start = self.pos;
        self.pos += filled as u64;
        match filled {
            0 => Ok(None),
            BLOCK => Ok(Some(block)),
            _ => Err(not_an_ova(start, &block[..filled]).unwrap_or_else(|| self.truncated())),
        }
    }

    fn read_extension(&mut self, size: u64) -> Result<Vec<u8>> {
        if size > MAX_EXTENSION_SIZE {
            return Err(Error::ExtensionTooLarge {
                offset: self.pos,
                size,
            });
        }
        let mut data = vec![0u8; size as usize];
        let mut filled = 0;
        while filled < data.len() {
            match self.inner.read(&mut data[filled..]) {
                Ok(0) => {
                    self.pos += filled as u64;
                    return Err(self.truncated());
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::ArchiveRead {
                        offset: self.pos,
                        source,
                    });
                }
            }
        }
        self.pos += size;
        self.skip(tar::padding(size))?;
        Ok(data)
    }

    /// Advance to the next entry.
    ///
    /// Returns `Ok(None)` at the end of the archive (two zero blocks, or a clean end of input
    /// at a block boundary, recorded in [`end`](Self::end)).
    ///
    /// # Errors
    ///
    /// [`Error::NotAnOva`] when the input is not a tar at all but another known format (gzip,
    /// zip, a disk image, an `.ovf`...), [`Error::BadHeader`] for a block that is not a tar
    /// header, [`Error::Truncated`] when the input ends inside a header or inside data being
    /// skipped, [`Error::ExtensionTooLarge`]/[`Error::BadPax`] for absurd or malformed extension
    /// headers, [`Error::ArchiveRead`] for I/O errors.
    pub fn next_entry(&mut self) -> Result<Option<Entry<'_, R>>> {
        let info = match self.next_info()? {
            Some(info) => info,
            None => return Ok(None),
        };
        Ok(Some(Entry { info, reader: self }))
    }

    /// Like [`next_entry`](Self::next_entry) but returns only the metadata; the entry's data is
    /// skipped on the following call.
    ///
    /// # Errors
    ///
    /// As for [`next_entry`](Self::next_entry).
    pub fn next_info(&mut self) -> Result<Option<EntryInfo>> {
        if self.done {
            return Ok(None);
        }
        let leftover = self.remaining + self.pad;
        self.remaining = 0;
        self.pad = 0;
        self.skip(leftover)?;

        let header_offset = self.pos;
        let mut extensions = Vec::new();
        let mut long_name: Option<Vec<u8>> = None;
        let mut pax_path: Option<Vec<u8>> = None;
        let mut pax_link: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        let mut any_pax = false;
        let mut any_gnu_ext = false;
        loop {
            let block_offset = self.pos;
            let Some(block) = self.read_block()? else {
                self.end.data_end = block_offset;
                self.end.missing_end_marker = self.end.zero_blocks < 2;
                self.done = true;
                if !extensions.is_empty() {
                    return Err(self.truncated());
                }
                return Ok(None);
            };
            if tar::is_zero_block(&block) {
                if !extensions.is_empty() {
                    return Err(Error::BadHeader {
                        offset: block_offset,
                        source: tar::HeaderError::BadNumber { field: "checksum" },
                    });
                }
                if self.end.zero_blocks == 0 {
                    self.end.data_end = block_offset;
                }
                self.end.zero_blocks += 1;
                if self.end.zero_blocks >= 2 {
                    self.done = true;
                    return Ok(None);
                }
                continue;
            }
            if self.end.zero_blocks > 0 {
                // A lone zero block between entries: tolerated (GNU tar --ignore-zeros style).
                self.end.zero_blocks = 0;
            }
            let header = tar::parse_header(&block).map_err(|source| {
                not_an_ova(block_offset, &block).unwrap_or(Error::BadHeader {
                    offset: block_offset,
                    source,
                })
            })?;
            let et = header.entry_type();
            if et.is_extension() {
                let data = self.read_extension(header.size)?;
                match et {
                    EntryType::PaxLocal | EntryType::PaxGlobal => {
                        any_pax = true;
                        extensions.push(if et == EntryType::PaxLocal {
                            Extension::PaxLocal
                        } else {
                            Extension::PaxGlobal
                        });
                        let records = tar::parse_pax(&data).map_err(|reason| Error::BadPax {
                            offset: block_offset,
                            reason,
                        })?;
                        if et == EntryType::PaxLocal {
                            for r in records {
                                match r.key.as_str() {
                                    "path" => pax_path = Some(r.value),
                                    "linkpath" => pax_link = Some(r.value),
                                    "size" => {
                                        let size = std::str::from_utf8(&r.value)
                                            .ok()
                                            .and_then(|s| s.parse::<u64>().ok())
                                            .ok_or_else(|| Error::BadPax {
                                                offset: block_offset,
                                                reason: "size record is not a number".into(),
                                            })?;
                                        pax_size = Some(size);
                                    }
                                    _ => {}
                                }
                            }
                        }
                    }
                    EntryType::GnuLongName => {
                        any_gnu_ext = true;
                        extensions.push(Extension::GnuLongName);
                        let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                        long_name = Some(data[..end].to_vec());
                    }
                    _ => {
                        any_gnu_ext = true;
                        extensions.push(Extension::GnuLongLink);
                        let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                        pax_link.get_or_insert_with(|| data[..end].to_vec());
                    }
                }
                continue;
            }

            let raw_name = pax_path.or(long_name).unwrap_or(header.name.clone());
            let name = String::from_utf8_lossy(&raw_name).into_owned();
            let size = pax_size.unwrap_or(header.size);
            let data_offset = self.pos;
            let mut problems = Vec::new();
            for &e in &extensions {
                problems.push(EntryProblem::ExtensionHeader { extension: e });
            }
            name_problems(&raw_name, &name, &mut problems);
            let link_target = pax_link.unwrap_or(header.linkname.clone());
            match et {
                EntryType::HardLink | EntryType::Symlink => problems.push(EntryProblem::Link {
                    target: String::from_utf8_lossy(&link_target).into_owned(),
                }),
                EntryType::CharDevice | EntryType::BlockDevice | EntryType::Fifo => {
                    problems.push(EntryProblem::Special);
                }
                EntryType::Directory => problems.push(EntryProblem::Directory),
                EntryType::Other(flag) => problems.push(EntryProblem::UnknownType { flag }),
                _ => {}
            }
            if header.base256 {
                problems.push(EntryProblem::Base256 {
                    fields: header.base256_fields.clone(),
                });
            }
            if !self.seen.insert(name.clone()) {
                problems.push(EntryProblem::Duplicate);
            }
            // Links, devices and directories carry no data even when a size is stated (ustar).
            let data_size = match et {
                EntryType::HardLink
                | EntryType::Symlink
                | EntryType::CharDevice
                | EntryType::BlockDevice
                | EntryType::Directory
                | EntryType::Fifo => 0,
                _ => size,
            };
            let Some(data_end) = data_offset.checked_add(tar::padded(data_size)) else {
                return Err(Error::BadHeader {
                    offset: block_offset,
                    source: tar::HeaderError::OutOfRange { field: "size" },
                });
            };
            let mut truncated = false;
            if let Some(limit) = self.limit
                && data_end > limit
            {
                let available = limit.saturating_sub(data_offset).min(data_size);
                if data_offset.saturating_add(data_size) > limit {
                    problems.push(EntryProblem::SizePastEnd { available });
                    truncated = true;
                }
            }
            let header_format = if any_pax {
                HeaderFormat::Pax
            } else if any_gnu_ext || header.magic == Magic::Gnu || header.base256 {
                HeaderFormat::Gnu
            } else if header.magic == Magic::Posix {
                HeaderFormat::Ustar
            } else {
                HeaderFormat::Old
            };
            let info = EntryInfo {
                index: self.index,
                kind: EntryKind::of(&name),
                name: name.clone(),
                entry_type: et,
                size: data_size,
                header_offset,
                own_header_offset: block_offset,
                data_offset,
                header_format,
                extensions,
                mode: header.mode,
                mtime: header.mtime,
                problems,
            };
            self.index += 1;
            self.current_name = name;
            if truncated {
                // Nothing after this entry can be trusted; stop here.
                self.done = true;
                self.end.truncated = true;
                self.end.data_end = self.limit.unwrap_or(data_offset);
                self.end.missing_end_marker = true;
                self.remaining = 0;
                self.pad = 0;
            } else {
                self.remaining = data_size;
                self.pad = tar::padding(data_size);
            }
            return Ok(Some(info));
        }
    }
}

impl<R: Read + Seek> ArchiveReader<R> {
    /// Read from a seekable source: unread data is skipped by seeking, and entries whose size
    /// runs past `len` are reported ([`EntryProblem::SizePastEnd`]) instead of failing.
    pub fn new_seekable(inner: R, len: u64) -> Self {
        let mut r = Self::with_skipper(inner, skip_by_seeking::<R>);
        r.limit = Some(len);
        r
    }
}

/// One entry of an [`ArchiveReader`]; reading it yields the entry's data and nothing more.
#[derive(Debug)]
pub struct Entry<'a, R> {
    info: EntryInfo,
    reader: &'a mut ArchiveReader<R>,
}

impl<R> Entry<'_, R> {
    /// The entry's metadata.
    pub fn info(&self) -> &EntryInfo {
        &self.info
    }

    /// Bytes of data not yet read.
    pub fn remaining(&self) -> u64 {
        self.reader.remaining
    }
}

impl<R: Read> Read for Entry<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = &mut *self.reader;
        if r.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(r.remaining).unwrap_or(usize::MAX));
        let n = r.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "archive ends inside entry {} at offset {}",
                    self.info.name, r.pos
                ),
            ));
        }
        r.remaining -= n as u64;
        r.pos += n as u64;
        Ok(n)
    }
}

/// The table of entries of an archive, with offsets for random access.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ArchiveIndex {
    /// Entries in archive order.
    pub entries: Vec<EntryInfo>,
    /// How the archive ended.
    pub end: ArchiveEnd,
    /// Total length of the archive file.
    pub len: u64,
}

impl ArchiveIndex {
    /// Read the headers of a seekable archive of length `len`, seeking over the data.
    ///
    /// # Errors
    ///
    /// As for [`ArchiveReader::next_entry`]; sizes past the end are reported as
    /// [`EntryProblem::SizePastEnd`] on the last entry, not as errors.
    pub fn read<R: Read + Seek>(source: R, len: u64) -> Result<Self> {
        let mut reader = ArchiveReader::new_seekable(source, len);
        let mut entries = Vec::new();
        while let Some(info) = reader.next_info()? {
            entries.push(info);
        }
        Ok(Self {
            entries,
            end: reader.end.clone(),
            len,
        })
    }

    /// The first descriptor entry.
    pub fn descriptor(&self) -> Option<&EntryInfo> {
        self.entries
            .iter()
            .find(|e| e.kind == EntryKind::Descriptor)
    }

    /// The first manifest entry.
    pub fn manifest(&self) -> Option<&EntryInfo> {
        self.entries.iter().find(|e| e.kind == EntryKind::Manifest)
    }

    /// The first certificate entry.
    pub fn certificate(&self) -> Option<&EntryInfo> {
        self.entries
            .iter()
            .find(|e| e.kind == EntryKind::Certificate)
    }

    /// The entry with this exact name (the first, if duplicated).
    pub fn get(&self, name: &str) -> Option<&EntryInfo> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Whether the archive's very first header block is the descriptor's own ustar/GNU header
    /// (no extension header, directory or other entry in front of it) — what VMware requires.
    pub fn descriptor_is_first_block(&self) -> bool {
        self.entries.first().is_some_and(|e| {
            e.kind == EntryKind::Descriptor && e.own_header_offset == 0 && e.extensions.is_empty()
        })
    }
}

/// An archive file opened for random access.
#[derive(Debug)]
pub struct IndexedArchive {
    file: File,
    index: ArchiveIndex,
    path: std::path::PathBuf,
}

impl IndexedArchive {
    /// Open a file and read its entry table.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be opened, and the errors of [`ArchiveIndex::read`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let io_err = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        let index = ArchiveIndex::read(BufReader::with_capacity(64 * 1024, &file), len).map_err(
            |e| match e {
                Error::NotAnOva { format, .. } => Error::NotAnOva {
                    source_name: path.display().to_string(),
                    format,
                },
                e => e,
            },
        )?;
        Ok(Self { file, index, path })
    }

    /// The entry table.
    pub fn index(&self) -> &ArchiveIndex {
        &self.index
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// A reader over one entry's data (only the bytes present in the file).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when seeking fails.
    pub fn open_entry(&self, entry: &EntryInfo) -> Result<impl Read + '_> {
        let mut f = &self.file;
        f.seek(SeekFrom::Start(entry.data_offset))
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        let available = self.index.len.saturating_sub(entry.data_offset);
        Ok(f.take(entry.size.min(available)))
    }

    /// Read a whole entry into memory, refusing entries larger than `max` bytes.
    ///
    /// # Errors
    ///
    /// [`Error::EntryTooLarge`] above `max`, [`Error::Truncated`] when the data is cut short,
    /// [`Error::Io`] on read errors.
    pub fn read_entry(&self, entry: &EntryInfo, max: u64) -> Result<Vec<u8>> {
        if entry.size > max {
            return Err(Error::EntryTooLarge {
                entry: entry.name.clone(),
                size: entry.size,
                max,
            });
        }
        let mut buf = Vec::with_capacity(entry.size as usize);
        self.open_entry(entry)?
            .read_to_end(&mut buf)
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        if (buf.len() as u64) < entry.size {
            return Err(Error::Truncated {
                entry: entry.name.clone(),
                offset: entry.data_offset + buf.len() as u64,
            });
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tar::{LargeSize, set_checksum, ustar_header};

    fn entry(name: &str, data: &[u8]) -> Vec<u8> {
        let mut v = ustar_header(name, data.len() as u64, 0, LargeSize::Refuse)
            .unwrap()
            .to_vec();
        v.extend_from_slice(data);
        v.resize(v.len() + tar::padding(data.len() as u64) as usize, 0);
        v
    }

    fn raw_header(name: &[u8], size: u64, flag: u8) -> Vec<u8> {
        let mut b = ustar_header("x", size, 0, LargeSize::Base256).unwrap();
        b[..100].fill(0);
        b[..name.len()].copy_from_slice(name);
        b[156] = flag;
        set_checksum(&mut b);
        b.to_vec()
    }

    fn list(bytes: &[u8]) -> Result<Vec<EntryInfo>> {
        let mut r = ArchiveReader::new(bytes);
        let mut out = Vec::new();
        while let Some(i) = r.next_info()? {
            out.push(i);
        }
        Ok(out)
    }

    #[test]
    fn kinds() {
        assert_eq!(EntryKind::of("a.OVF"), EntryKind::Descriptor);
        assert_eq!(EntryKind::of("a.mf"), EntryKind::Manifest);
        assert_eq!(EntryKind::of("a.cert"), EntryKind::Certificate);
        assert_eq!(EntryKind::of("a.vmdk"), EntryKind::File);
        assert_eq!(EntryKind::of("._a.ovf"), EntryKind::File);
    }

    #[test]
    fn reads_entries_and_data() {
        let mut bytes = entry("a.ovf", b"<x/>");
        bytes.extend(entry("a.vmdk", &[7u8; 1000]));
        bytes.extend([0u8; 1024]);
        let mut r = ArchiveReader::new(&bytes[..]);
        let e = r.next_entry().unwrap().unwrap();
        assert_eq!(e.info().kind, EntryKind::Descriptor);
        assert_eq!(e.info().data_offset, 512);
        let mut e = r.next_entry().unwrap().unwrap();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        assert_eq!(data, vec![7u8; 1000]);
        assert_eq!(e.info().header_offset, 1024);
        assert!(r.next_entry().unwrap().is_none());
        assert_eq!(r.end().zero_blocks, 2);
        assert!(!r.end().missing_end_marker);
        assert_eq!(r.end().data_end, 1024 + 512 + 1024);
    }

    #[test]
    fn problems_are_reported() {
        let mut bytes = raw_header(b"/etc/passwd", 0, b'0');
        bytes.extend(raw_header(b"../up", 0, b'0'));
        bytes.extend(raw_header(b"link", 0, b'2'));
        bytes.extend(raw_header(b"dev", 0, b'3'));
        bytes.extend(raw_header(b"./", 0, b'5'));
        bytes.extend(raw_header(b"._a.ovf", 0, b'0'));
        bytes.extend(raw_header(b"link", 0, b'0'));
        bytes.extend(raw_header(b"q", 0, b'Z'));
        let e = list(&bytes).unwrap();
        assert!(e[0].problems.contains(&EntryProblem::AbsolutePath));
        assert!(e[1].problems.contains(&EntryProblem::ParentComponent));
        assert!(matches!(e[2].problems[0], EntryProblem::Link { .. }));
        assert!(e[3].problems.contains(&EntryProblem::Special));
        assert!(e[4].problems.contains(&EntryProblem::Directory));
        assert!(e[4].problems.contains(&EntryProblem::NotFlat));
        assert!(e[5].problems.contains(&EntryProblem::AppleDouble));
        assert!(e[6].problems.contains(&EntryProblem::Duplicate));
        assert!(
            e[7].problems
                .contains(&EntryProblem::UnknownType { flag: b'Z' })
        );
        for i in &e {
            assert!(!i.is_safe_regular() || i.name == "._a.ovf");
        }
    }

    #[test]
    fn pax_and_longlink() {
        let pax = b"18 path=long/name\n";
        let mut bytes = raw_header(b"././@PaxHeader", pax.len() as u64, b'x');
        bytes.extend(pax);
        bytes.resize(1024, 0);
        bytes.extend(raw_header(b"short", 0, b'0'));
        let ln = vec![b'n'; 150];
        bytes.extend(raw_header(b"././@LongLink", ln.len() as u64, b'L'));
        bytes.extend(&ln);
        bytes.resize(bytes.len() + tar::padding(150) as usize, 0);
        bytes.extend(raw_header(b"trunc", 0, b'0'));
        let e = list(&bytes).unwrap();
        assert_eq!(e[0].name, "long/name");
        assert_eq!(e[0].header_format, HeaderFormat::Pax);
        assert_eq!(e[0].own_header_offset, 1024);
        assert_eq!(e[0].header_offset, 0);
        assert_eq!(e[1].name.len(), 150);
        assert_eq!(e[1].header_format, HeaderFormat::Gnu);
        assert!(e[1].problems.contains(&EntryProblem::LongName));
    }

    #[test]
    fn truncation_and_garbage() {
        let bytes = entry("a.ovf", &[1u8; 600]);
        assert!(matches!(list(&bytes[..700]), Err(Error::Truncated { .. })));
        assert!(matches!(list(&bytes[..300]), Err(Error::Truncated { .. })));
        assert!(matches!(
            list(&[b'A'; 2048]),
            Err(Error::BadHeader { offset: 0, .. })
        ));
        // clean end without end marker
        let e = list(&bytes).unwrap();
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn indexed_reports_size_past_end() {
        let mut bytes = entry("a.ovf", b"x");
        bytes.extend(raw_header(b"disk", 1 << 40, b'0'));
        bytes.extend([0u8; 100]);
        let len = bytes.len() as u64;
        let idx = ArchiveIndex::read(io::Cursor::new(bytes), len).unwrap();
        assert_eq!(idx.entries.len(), 2);
        assert_eq!(
            idx.entries[1].problems.last(),
            Some(&EntryProblem::SizePastEnd { available: 100 })
        );
        assert!(idx.end.truncated);
        assert!(idx.descriptor_is_first_block());
    }

    #[test]
    fn huge_extension_is_rejected() {
        let bytes = raw_header(b"././@LongLink", 1 << 40, b'L');
        assert!(matches!(list(&bytes), Err(Error::ExtensionTooLarge { .. })));
    }
}
