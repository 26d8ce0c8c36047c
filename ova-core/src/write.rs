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

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;

use crate::archive::{EntryInfo, EntryKind, IndexedArchive};
use crate::error::{Error, Result};
use crate::manifest::{self, Algorithm, Digests, Hasher};
use crate::progress::{Progress, no_progress};
use crate::tar::{self, BLOCK, EntryType};

pub use crate::tar::LargeSize;

/// Size of the buffers of the hashed copy pipeline.
const COPY_BUF: usize = 1 << 20;
/// Number of buffers in flight.
const COPY_BUFS: usize = 8;

/// A strict USTAR OVA writer over any [`Write`].
///
/// The first entry must be the descriptor. Names are checked with [`tar::check_name`] and must be
/// unique. Call [`finish`](Self::finish) to write the end-of-archive blocks.
#[derive(Debug)]
pub struct OvaWriter<W: Write> {
    out: W,
    pos: u64,
    names: HashSet<String>,
    mtime: u64,
    large: LargeSize,
}

/// An entry written with placeholder data, to be filled in later (see
/// [`OvaWriter::reserve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    /// Entry name.
    pub name: String,
    /// Offset of the data.
    pub data_offset: u64,
    /// Reserved size.
    pub size: u64,
}

impl<W: Write> OvaWriter<W> {
    /// A writer with mtime 0 and [`LargeSize::Base256`].
    pub fn new(out: W) -> Self {
        Self {
            out,
            pos: 0,
            names: HashSet::new(),
            mtime: 0,
            large: LargeSize::default(),
        }
    }

    /// Set the modification time written in every header (seconds since the epoch).
    pub fn with_mtime(mut self, mtime: u64) -> Self {
        self.mtime = mtime;
        self
    }

    /// Choose how sizes of 8 GiB or more are stored.
    pub fn with_large_size(mut self, large: LargeSize) -> Self {
        self.large = large;
        self
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn write_err(entry: &str) -> impl FnOnce(io::Error) -> Error + '_ {
        move |source| Error::ArchiveWrite {
            entry: entry.to_owned(),
            source,
        }
    }

    fn header(&mut self, name: &str, size: u64, kind: EntryKind) -> Result<()> {
        if self.names.is_empty() && kind != EntryKind::Descriptor {
            return Err(Error::Order {
                entry: name.to_owned(),
                reason: "the first entry of an ova must be the .ovf descriptor",
            });
        }
        if !self.names.is_empty() && kind == EntryKind::Descriptor {
            return Err(Error::Order {
                entry: name.to_owned(),
                reason: "an ova holds exactly one descriptor",
            });
        }
        let block = tar::ustar_header(name, size, self.mtime, self.large).map_err(|source| {
            Error::Encode {
                entry: name.to_owned(),
                source,
            }
        })?;
        if !self.names.insert(name.to_owned()) {
            return Err(Error::Order {
                entry: name.to_owned(),
                reason: "duplicate entry name",
            });
        }
        self.out.write_all(&block).map_err(Self::write_err(name))?;
        self.pos += BLOCK as u64;
        Ok(())
    }

    fn pad(&mut self, name: &str, size: u64) -> Result<()> {
        let pad = tar::padding(size) as usize;
        self.out
            .write_all(&[0u8; BLOCK][..pad])
            .map_err(Self::write_err(name))?;
        self.pos += pad as u64;
        Ok(())
    }

    fn add_kind(&mut self, name: &str, data: &[u8], kind: EntryKind) -> Result<()> {
        self.header(name, data.len() as u64, kind)?;
        self.out.write_all(data).map_err(Self::write_err(name))?;
        self.pos += data.len() as u64;
        self.pad(name, data.len() as u64)
    }

    /// Add the descriptor; it must be the first entry.
    ///
    /// # Errors
    ///
    /// [`Error::Order`] when it is not the first entry, [`Error::Encode`] for a bad name,
    /// [`Error::ArchiveWrite`] on I/O errors.
    pub fn add_descriptor(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.add_kind(name, data, EntryKind::Descriptor)
    }

    /// Add a manifest.
    ///
    /// # Errors
    ///
    /// As [`add_descriptor`](Self::add_descriptor) (the descriptor must come first).
    pub fn add_manifest(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.add_kind(name, data, EntryKind::Manifest)
    }

    /// Add a certificate.
    ///
    /// # Errors
    ///
    /// As [`add_descriptor`](Self::add_descriptor).
    pub fn add_certificate(&mut self, name: &str, data: &[u8]) -> Result<()> {
        self.add_kind(name, data, EntryKind::Certificate)
    }

    /// Add a small entry from memory.
    ///
    /// # Errors
    ///
    /// As [`add_descriptor`](Self::add_descriptor).
    pub fn add_bytes(&mut self, name: &str, data: &[u8]) -> Result<()> {
        let kind = EntryKind::of(name);
        self.add_kind(name, data, kind)
    }

    /// Add a file of exactly `size` bytes from `source`, hashing it with `algorithms` while it
    /// is copied. With hashing, reading, hashing and writing overlap on separate threads.
    ///
    /// # Errors
    ///
    /// [`Error::SizeMismatch`] when `source` ends early or has more data, [`Error::Order`],
    /// [`Error::Encode`] and [`Error::ArchiveWrite`] as for the other `add_*` methods (a read
    /// error from `source` is reported as [`Error::ArchiveWrite`] naming the entry).
    pub fn add_file<R: Read + Send>(
        &mut self,
        name: &str,
        size: u64,
        source: R,
        algorithms: &[Algorithm],
    ) -> Result<Digests> {
        self.add_file_progress(name, size, source, algorithms, &mut no_progress)
    }

    /// [`add_file`](Self::add_file) with a [`Progress`] callback receiving the bytes copied
    /// after each buffer.
    ///
    /// # Errors
    ///
    /// As [`add_file`](Self::add_file); [`Error::Cancelled`] when `progress` returns
    /// [`ControlFlow::Break`] (the entry is then incomplete: the archive being written must be
    /// thrown away, as after any other error).
    pub fn add_file_progress<R: Read + Send>(
        &mut self,
        name: &str,
        size: u64,
        source: R,
        algorithms: &[Algorithm],
        progress: Progress<'_>,
    ) -> Result<Digests> {
        let kind = EntryKind::of(name);
        self.header(name, size, kind)?;
        let mut limited = source.take(size);
        let copy =
            copy_hashed(&mut limited, &mut self.out, algorithms, progress).map_err(|source| {
                Error::ArchiveWrite {
                    entry: name.to_owned(),
                    source,
                }
            })?;
        let (copied, digests) = crate::progress::finished(copy)?;
        self.pos += copied;
        if copied != size {
            return Err(Error::SizeMismatch {
                entry: name.to_owned(),
                expected: size,
                actual: copied,
            });
        }
        let mut source = limited.into_inner();
        let mut probe = [0u8; 1];
        if matches!(source.read(&mut probe), Ok(n) if n > 0) {
            return Err(Error::SizeMismatch {
                entry: name.to_owned(),
                expected: size,
                actual: size + 1,
            });
        }
        self.pad(name, size)?;
        Ok(digests)
    }

    /// Add a file as OVF chunks `name.000000000`, `name.000000001`, ... of `chunk_size` bytes
    /// (the last may be shorter). The descriptor must declare `ovf:chunkSize`. Returns the
    /// digests of each chunk, in order, with its name.
    ///
    /// # Errors
    ///
    /// As [`add_file`](Self::add_file); [`Error::Order`] for a zero or ≥ 8 GiB chunk size.
    pub fn add_chunked<R: Read + Send>(
        &mut self,
        name: &str,
        size: u64,
        mut source: R,
        chunk_size: u64,
        algorithms: &[Algorithm],
    ) -> Result<Vec<(String, Digests)>> {
        if chunk_size == 0 || chunk_size > tar::USTAR_MAX_SIZE {
            return Err(Error::Order {
                entry: name.to_owned(),
                reason: "chunk size must be between 1 byte and 8 GiB - 1",
            });
        }
        let mut out = Vec::new();
        let mut left = size;
        let mut n = 0u32;
        loop {
            let this = left.min(chunk_size);
            let chunk_name = format!("{name}.{n:09}");
            let d = self.add_file(&chunk_name, this, (&mut source).take(this), algorithms)?;
            out.push((chunk_name, d));
            left -= this;
            n += 1;
            if left == 0 {
                break;
            }
        }
        Ok(out)
    }

    /// Write the two end-of-archive blocks and return the writer (flushed).
    ///
    /// # Errors
    ///
    /// [`Error::ArchiveWrite`] on I/O errors; [`Error::NoDescriptor`] for an empty archive.
    pub fn finish(mut self) -> Result<W> {
        if self.names.is_empty() {
            return Err(Error::NoDescriptor {
                source_name: "archive being written".into(),
            });
        }
        self.out
            .write_all(&[0u8; 2 * BLOCK])
            .and_then(|()| self.out.flush())
            .map_err(Self::write_err("end of archive"))?;
        self.pos += 2 * BLOCK as u64;
        Ok(self.out)
    }
}

impl<W: Write + Seek> OvaWriter<W> {
    /// Write an entry of `size` zero bytes now, to be filled in with [`fill`](Self::fill)
    /// once its content is known (a manifest placed before the files it lists, whose canonical
    /// length [`manifest::canonical_len`] is known in advance).
    ///
    /// # Errors
    ///
    /// As [`add_descriptor`](Self::add_descriptor).
    pub fn reserve(&mut self, name: &str, size: u64) -> Result<Reserved> {
        let kind = EntryKind::of(name);
        self.header(name, size, kind)?;
        let data_offset = self.pos;
        io::copy(&mut io::repeat(0).take(size), &mut self.out).map_err(Self::write_err(name))?;
        self.pos += size;
        self.pad(name, size)?;
        Ok(Reserved {
            name: name.to_owned(),
            data_offset,
            size,
        })
    }

    /// Fill a reserved entry; `data` must have exactly the reserved size.
    ///
    /// # Errors
    ///
    /// [`Error::SizeMismatch`] for a wrong length, [`Error::ArchiveWrite`] on I/O errors.
    pub fn fill(&mut self, reserved: &Reserved, data: &[u8]) -> Result<()> {
        if data.len() as u64 != reserved.size {
            return Err(Error::SizeMismatch {
                entry: reserved.name.clone(),
                expected: reserved.size,
                actual: data.len() as u64,
            });
        }
        let name = reserved.name.as_str();
        self.out
            .seek(SeekFrom::Start(reserved.data_offset))
            .and_then(|_| self.out.write_all(data))
            .and_then(|()| self.out.seek(SeekFrom::Start(self.pos)))
            .map_err(Self::write_err(name))?;
        Ok(())
    }
}

/// Copy everything from `source` to `out`, hashing with `algorithms`; returns the byte count and
/// digests. Without algorithms this is a plain buffered copy; with them, a reader thread, a
/// hashing thread and the calling (writing) thread overlap.
///
/// `progress` is called after each buffer (1 MiB) is written. When it returns
/// [`ControlFlow::Break`], the copy stops there and returns `Ok(ControlFlow::Break(()))`: `out`
/// then holds a prefix of the data (callers discard it).
///
/// ```
/// use std::ops::ControlFlow;
/// use ova_core::manifest::Algorithm;
/// use ova_core::write::copy_hashed;
///
/// let data = vec![1u8; 3 << 20];
/// let mut out = Vec::new();
/// let copy = copy_hashed(&mut &data[..], &mut out, &[Algorithm::Sha256], &mut ova_core::no_progress)?;
/// let ControlFlow::Continue((n, digests)) = copy else { unreachable!() };
/// assert_eq!(n, data.len() as u64);
/// assert_eq!(digests[&Algorithm::Sha256], Algorithm::Sha256.digest(&data));
///
/// // Stopped after the first buffer.
/// let mut out = Vec::new();
/// let copy = copy_hashed(&mut &data[..], &mut out, &[], &mut |_| ControlFlow::Break(()))?;
/// assert!(copy.is_break());
/// assert!(out.len() < data.len());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// The first I/O error of the reader or the writer.
pub fn copy_hashed<R: Read + Send, W: Write + ?Sized>(
    source: &mut R,
    out: &mut W,
    algorithms: &[Algorithm],
    progress: Progress<'_>,
) -> io::Result<ControlFlow<(), (u64, Digests)>> {
    if algorithms.is_empty() {
        let mut buf = vec![0u8; COPY_BUF];
        let mut total = 0u64;
        loop {
            let n = match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            out.write_all(&buf[..n])?;
            total += n as u64;
            if progress(n as u64).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        return Ok(ControlFlow::Continue((total, Digests::new())));
    }
    let hashers: Vec<Hasher> = algorithms.iter().map(|a| a.hasher()).collect();
    std::thread::scope(|s| {
        let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(COPY_BUFS);
        let (read_tx, read_rx) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(COPY_BUFS);
        let (hashed_tx, hashed_rx) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(COPY_BUFS);
        for _ in 0..COPY_BUFS {
            let _ = free_tx.send(vec![0u8; COPY_BUF]);
        }
        s.spawn(move || {
            while let Ok(mut buf) = free_rx.recv() {
                let r = loop {
                    match source.read(&mut buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other,
                    }
                };
                match r {
                    Ok(0) => break,
                    Ok(n) => {
                        if read_tx.send(Ok((buf, n))).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = read_tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let hasher = s.spawn(move || {
            let mut hashers = hashers;
            for item in read_rx {
                if let Ok((buf, n)) = &item {
                    for h in &mut hashers {
                        h.update(&buf[..*n]);
                    }
                }
                let failed = item.is_err();
                if hashed_tx.send(item).is_err() || failed {
                    break;
                }
            }
            hashers
        });
        let mut total = 0u64;
        let mut result = Ok(ControlFlow::Continue(()));
        // Leaving this loop drops `hashed_rx`: the hashing thread's next send fails, it stops
        // and drops `read_rx`, and then the reader thread stops too.
        for item in hashed_rx {
            match item {
                Ok((buf, n)) => {
                    if let Err(e) = out.write_all(&buf[..n]) {
                        result = Err(e);
                        break;
                    }
                    total += n as u64;
                    if progress(n as u64).is_break() {
                        result = Ok(ControlFlow::Break(()));
                        break;
                    }
                    let _ = free_tx.send(buf);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(free_tx);
        let hashers = hasher
            .join()
            .map_err(|_| io::Error::other("hashing thread panicked"))?;
        if result?.is_break() {
            return Ok(ControlFlow::Break(()));
        }
        let digests = hashers
            .into_iter()
            .map(|h| (h.algorithm(), h.finish()))
            .collect();
        Ok(ControlFlow::Continue((total, digests)))
    })
}

/// A file being written beside its final path; [`commit`](Self::commit) syncs and renames it.
/// Dropped without committing, the temporary file is removed.
///
/// The result gets the permissions a plainly created file would get (`0666` less the umask on
/// Unix), or, when it replaces a file, that file's permissions.
#[derive(Debug)]
pub struct AtomicFile {
    temp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    /// Create a temporary file in the target's directory.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the directory is not writable.
    pub fn create(target: impl AsRef<Path>) -> Result<Self> {
        let target = target.as_ref().to_path_buf();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let prefix = format!(".{base}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        let replaced = std::fs::metadata(&target).ok().filter(|m| m.is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Created with 0666: the kernel applies the umask, as for any new file (tempfile's
            // own default, 0600, would make every output private).
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(&dir).map_err(io(&dir))?;
        if let Some(m) = replaced {
            // Replacing a file keeps its permissions exactly (umask not applied).
            temp.as_file()
                .set_permissions(m.permissions())
                .map_err(io(&target))?;
        }
        Ok(Self { temp, target })
    }

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Flush to disk and rename over the target.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when syncing or renaming fails.
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        self.temp.as_file().sync_all().map_err(|source| Error::Io {
            path: target.clone(),
            source,
        })?;
        self.temp.persist(&target).map_err(|e| Error::Io {
            path: target.clone(),
            source: e.error,
        })?;
        if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

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

/// One file to put in a new archive.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedFile {
    /// Name in the archive.
    pub name: String,
    /// Where its bytes come from.
    pub source: FileSource,
    /// Size in bytes.
    pub size: u64,
    /// When set, the file is written as chunks of this many bytes named `name.000000000`,
    /// `name.000000001`, ... (OVF chunking; the descriptor must carry `ovf:chunkSize`).
    pub chunk_size: Option<u64>,
}

/// OVF chunking of large files on repack and pack: a file referenced by the descriptor whose
/// size is at least `threshold` is split into `chunk_size` pieces named `href.000000000`, ...,
/// its `File` element gets `ovf:chunkSize`, and the manifest lists every chunk (as DSP0243
/// and ovftool do). Without chunking, such files get a GNU base-256 size field instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Chunking {
    /// Bytes per chunk (1 byte to 8 GiB - 1).
    pub chunk_size: u64,
    /// Files of at least this many bytes are chunked (default 8 GiB, the ustar limit + 1).
    pub threshold: u64,
}

impl Chunking {
    /// The default chunk size: 4 GiB.
    pub const DEFAULT_CHUNK_SIZE: u64 = 4 << 30;

    /// Chunks of `chunk_size` bytes for files of 8 GiB or more.
    pub fn new(chunk_size: u64) -> Self {
        Chunking {
            chunk_size,
            threshold: tar::USTAR_MAX_SIZE + 1,
        }
    }

    /// Chunk files of at least `threshold` bytes instead.
    #[must_use]
    pub fn with_threshold(mut self, threshold: u64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Whether a file of `size` bytes is chunked.
    pub fn applies(&self, size: u64) -> bool {
        size >= self.threshold
    }
}

impl Default for Chunking {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CHUNK_SIZE)
    }
}

/// The archive names a planned file becomes.
fn entry_names(f: &PlannedFile) -> Vec<String> {
    match f.chunk_size {
        Some(cs) if cs > 0 => {
            let n = f.size.div_ceil(cs).max(1);
            (0..n).map(|k| format!("{}.{k:09}", f.name)).collect()
        }
        _ => vec![f.name.clone()],
    }
}

/// Where a planned file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileSource {
    /// A range of the source archive.
    Archive {
        /// Data offset.
        offset: u64,
    },
    /// A file on disk.
    Path(PathBuf),
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

/// Entries left out of a repack, with the reason.
pub type Dropped = Vec<(String, String)>;

/// Strip a leading `./` (GNU tar `-C dir .` style) from an entry name.
pub fn normalize_name(name: &str) -> &str {
    let mut n = name;
    while let Some(rest) = n.strip_prefix("./") {
        n = rest;
    }
    n
}

/// Write a new OVA at `out`: `descriptor` first, then a fresh manifest (if chosen), then `files`
/// in the given order. The manifest is reserved right after the descriptor and filled in once the
/// files have been hashed during the copy, so every byte is read once.
///
/// `archive` supplies the bytes of [`FileSource::Archive`] files.
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
    let mut atomic = AtomicFile::create(out)?;
    let mut report = WriteReport::default();
    {
        let file = atomic.file();
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
/// by the caller) first, then any other regular entries in archive order; the descriptor,
/// manifests, certificates, directories, links, devices and AppleDouble files are dropped (and
/// listed in the returned drop list).
///
/// # Errors
///
/// [`Error::MissingEntry`] when a name in `order` is not in the archive.
pub fn plan_repack(entries: &[EntryInfo], order: &[String]) -> Result<(Vec<PlannedFile>, Dropped)> {
    let mut planned = Vec::new();
    let mut used = HashSet::new();
    let find = |name: &str| {
        entries
            .iter()
            .find(|e| normalize_name(&e.name) == name && e.entry_type == EntryType::Regular)
    };
    for name in order {
        if !used.insert(name.clone()) {
            continue;
        }
        let e = find(name).ok_or_else(|| Error::MissingEntry {
            entry: name.clone(),
        })?;
        planned.push(PlannedFile {
            name: name.clone(),
            source: FileSource::Archive {
                offset: e.data_offset,
            },
            size: e.size,
            chunk_size: None,
        });
    }
    let mut dropped = Vec::new();
    let mut first_descriptor = true;
    for e in entries {
        let name = normalize_name(&e.name).to_owned();
        let reason = if e.entry_type != EntryType::Regular {
            Some("not a regular file")
        } else if e.kind == EntryKind::Descriptor && first_descriptor {
            first_descriptor = false;
            None
        } else if e.kind == EntryKind::Manifest {
            Some("manifest is regenerated or omitted")
        } else if e.kind == EntryKind::Certificate {
            Some("signature no longer matches the rewritten package")
        } else if e
            .problems
            .contains(&crate::archive::EntryProblem::AppleDouble)
        {
            Some("macOS AppleDouble file")
        } else if used.contains(&name) {
            None
        } else if e.kind == EntryKind::Descriptor {
            Some("second descriptor")
        } else if tar::check_name(&name).is_err() {
            Some("name cannot be stored safely in strict ustar")
        } else {
            used.insert(name.clone());
            planned.push(PlannedFile {
                name: name.clone(),
                source: FileSource::Archive {
                    offset: e.data_offset,
                },
                size: e.size,
                chunk_size: None,
            });
            None
        };
        if let Some(r) = reason {
            dropped.push((e.name.clone(), r.to_owned()));
        }
    }
    Ok((planned, dropped))
}

/// Check that an entry name is safe to create under a directory and return the relative path.
///
/// # Errors
///
/// [`Error::UnsafeEntry`] for absolute names, `..` components, empty names and names that are
/// not valid UTF-8 path components.
pub fn safe_relative_path(name: &str) -> Result<PathBuf> {
    let unsafe_entry = |reason: &str| Error::UnsafeEntry {
        entry: name.to_owned(),
        reason: reason.to_owned(),
    };
    let n = normalize_name(name);
    if n.is_empty() || n.contains('\0') || n.contains('\\') {
        return Err(unsafe_entry("empty name, NUL or backslash"));
    }
    let p = Path::new(n);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_entry("'..' component")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry("absolute path"));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(unsafe_entry("empty name"));
    }
    Ok(out)
}

/// Extract every regular entry of `archive` into `dir` (created if missing).
///
/// Refuses the whole archive, before writing anything, when any entry is a link, a device, has an
/// absolute name or a `..` component, is duplicated, or is truncated. Directory entries are
/// skipped. Each file is written to a temporary name and renamed; parent directories are created
/// inside `dir` only, and an existing symbolic link on the way is refused.
///
/// `progress` gets the bytes of each entry written (see [`Progress`]).
///
/// # What stays behind after an error
///
/// Entries are extracted one after the other, each committed (renamed into place) when it is
/// complete. When the extraction stops half-way (an I/O error, or [`Error::Cancelled`]), the
/// entry being written is removed (its temporary file), and a file of that name that existed
/// before is left as it was. The entries already extracted before it stay (each is complete
/// and replaced any file of its name), as do `dir` and the directories created for them.
///
/// # Errors
///
/// [`Error::UnsafeEntry`] as above, [`Error::Io`] for file system errors,
/// [`Error::Cancelled`] when `progress` stops the extraction.
pub fn extract(
    archive: &IndexedArchive,
    dir: &Path,
    progress: Progress<'_>,
) -> Result<Vec<PathBuf>> {
    use crate::archive::EntryProblem as P;
    let entries = &archive.index().entries;
    let mut plan = Vec::new();
    for e in entries {
        if e.entry_type == EntryType::Directory {
            continue;
        }
        for p in &e.problems {
            let reason = match p {
                P::Link { target } => Some(format!("link to {target:?}")),
                P::Special => Some("device or fifo".into()),
                P::UnknownType { flag } => Some(format!("unknown entry type {:?}", *flag as char)),
                P::Duplicate => Some("duplicate name".into()),
                P::SizePastEnd { available } => Some(format!(
                    "truncated ({available} of {} bytes present)",
                    e.size
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                return Err(Error::UnsafeEntry {
                    entry: e.name.clone(),
                    reason,
                });
            }
        }
        plan.push((e, safe_relative_path(&e.name)?));
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut written = Vec::new();
    for (e, rel) in plan {
        let target = dir.join(&rel);
        // Create parents one component at a time, refusing symlinks.
        let mut cur = dir.to_path_buf();
        if let Some(parent) = rel.parent() {
            for c in parent.components() {
                cur.push(c);
                match fs::symlink_metadata(&cur) {
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(Error::UnsafeEntry {
                            entry: e.name.clone(),
                            reason: format!("{} is a symbolic link", cur.display()),
                        });
                    }
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(Error::UnsafeEntry {
                            entry: e.name.clone(),
                            reason: format!("{} is not a directory", cur.display()),
                        });
                    }
                    Err(_) => fs::create_dir(&cur).map_err(io_err(&cur))?,
                }
            }
        }
        let mut out = AtomicFile::create(&target)?;
        let mut src = archive.open_entry(e)?;
        let copy = copy_hashed(&mut src, out.file(), &[], progress).map_err(io_err(&target))?;
        let (n, _) = crate::progress::finished(copy)?;
        if n != e.size {
            return Err(Error::Truncated {
                entry: e.name.clone(),
                offset: e.data_offset + n,
            });
        }
        out.commit()?;
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ArchiveReader;

    #[test]
    fn writer_rules() {
        let mut w = OvaWriter::new(Vec::new());
        assert!(matches!(
            w.add_bytes("disk", b"x"),
            Err(Error::Order { .. })
        ));
        w.add_descriptor("a.ovf", b"<a/>").unwrap();
        assert!(matches!(
            w.add_descriptor("b.ovf", b"<a/>"),
            Err(Error::Order { .. })
        ));
        assert!(matches!(
            w.add_bytes("a.ovf", b"x"),
            Err(Error::Order { .. })
        ));
        assert!(matches!(
            w.add_bytes(&"n".repeat(101), b"x"),
            Err(Error::Encode { .. })
        ));
        assert!(matches!(
            w.add_file("short", 10, &b"abc"[..], &[]),
            Err(Error::SizeMismatch { actual: 3, .. })
        ));
        let mut w = OvaWriter::new(Vec::new());
        w.add_descriptor("a.ovf", b"<a/>").unwrap();
        assert!(matches!(
            w.add_file("long", 2, &b"abc"[..], &[Algorithm::Sha1]),
            Err(Error::SizeMismatch { actual: 3, .. })
        ));
        assert!(matches!(
            OvaWriter::new(Vec::new()).finish(),
            Err(Error::NoDescriptor { .. })
        ));
    }

    #[test]
    fn hashed_copy_matches() {
        let data: Vec<u8> = (0..(3 * COPY_BUF + 17)).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        let mut seen = 0;
        let copy = copy_hashed(
            &mut &data[..],
            &mut out,
            &[Algorithm::Sha256, Algorithm::Sha1],
            &mut |k| {
                seen += k;
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        let ControlFlow::Continue((n, d)) = copy else {
            panic!("not stopped")
        };
        assert_eq!(n, data.len() as u64);
        assert_eq!(seen, n);
        assert_eq!(out, data);
        assert_eq!(d[&Algorithm::Sha256], Algorithm::Sha256.digest(&data));
        assert_eq!(d[&Algorithm::Sha1], Algorithm::Sha1.digest(&data));
    }

    #[test]
    fn hashed_copy_stops_at_the_next_buffer() {
        let data = vec![3u8; 16 * COPY_BUF];
        for algorithms in [&[][..], &[Algorithm::Sha256][..]] {
            let mut out = Vec::new();
            let mut calls = 0;
            let copy = copy_hashed(&mut &data[..], &mut out, algorithms, &mut |_| {
                calls += 1;
                if calls == 2 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
            assert!(copy.is_break());
            assert_eq!(calls, 2);
            assert_eq!(out.len(), 2 * COPY_BUF);
        }
    }

    #[test]
    fn reserve_and_chunks() {
        let mut w = OvaWriter::new(io::Cursor::new(Vec::new()));
        w.add_descriptor("a.ovf", b"<a/>").unwrap();
        let r = w.reserve("a.mf", 5).unwrap();
        let chunks = w
            .add_chunked("d.img", 1000, &[9u8; 1000][..], 400, &[Algorithm::Sha256])
            .unwrap();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[2].0, "d.img.000000002");
        w.fill(&r, b"hello").unwrap();
        assert!(w.fill(&r, b"hi").is_err());
        let bytes = w.finish().unwrap().into_inner();
        let mut reader = ArchiveReader::new(&bytes[..]);
        let mut names = Vec::new();
        while let Some(mut e) = reader.next_entry().unwrap() {
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            if e.info().name == "a.mf" {
                assert_eq!(data, b"hello");
            }
            names.push((e.info().name.clone(), data.len()));
        }
        assert_eq!(
            names,
            vec![
                ("a.ovf".into(), 4),
                ("a.mf".into(), 5),
                ("d.img.000000000".into(), 400),
                ("d.img.000000001".into(), 400),
                ("d.img.000000002".into(), 200)
            ]
        );
    }

    #[test]
    fn safe_paths() {
        assert_eq!(
            safe_relative_path("./a.ovf").unwrap(),
            PathBuf::from("a.ovf")
        );
        assert_eq!(safe_relative_path("d/a").unwrap(), PathBuf::from("d/a"));
        for bad in ["/etc/x", "../x", "a/../../x", "", "./", "a\\b"] {
            assert!(safe_relative_path(bad).is_err(), "{bad:?}");
        }
    }

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
