//! [`OvaWriter`]: the strict USTAR writer every archive ovakit writes goes through.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::archive::EntryKind;
use crate::error::{Error, Result};
use crate::manifest::{Algorithm, Digests};
use crate::progress::{Progress, no_progress};
use crate::tar::{self, BLOCK, LargeSize};

use super::copy::copy_hashed;

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
    /// [`ControlFlow::Break`](std::ops::ControlFlow::Break) (the entry is then incomplete: the archive being written must be
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

/// An entry whose size is known only once its data is written (see
/// [`OvaWriter::begin_entry`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenEntry {
    /// Entry name.
    pub name: String,
    /// Offset of its header.
    pub header_offset: u64,
    /// Offset of its data.
    pub data_offset: u64,
}

impl<W: Write + Seek> OvaWriter<W> {
    /// Start an entry of a size not known yet: a header with a placeholder size is written,
    /// then the caller writes the data through [`get_mut`](Self::get_mut) and calls
    /// [`end_entry`](Self::end_entry), which pads it and writes the real header.
    ///
    /// # Errors
    ///
    /// As [`add_descriptor`](Self::add_descriptor).
    pub fn begin_entry(&mut self, name: &str) -> Result<OpenEntry> {
        let header_offset = self.pos;
        self.header(name, 0, EntryKind::of(name))?;
        Ok(OpenEntry {
            name: name.to_owned(),
            header_offset,
            data_offset: self.pos,
        })
    }

    /// End an entry started with [`begin_entry`](Self::begin_entry) whose `size` bytes of
    /// data were written through [`get_mut`](Self::get_mut).
    ///
    /// # Errors
    ///
    /// [`Error::SizeMismatch`] when the underlying writer is not at the end of `size` bytes of
    /// data, [`Error::Encode`] for a size the header cannot hold, [`Error::ArchiveWrite`] on
    /// I/O errors.
    pub fn end_entry(&mut self, entry: &OpenEntry, size: u64) -> Result<()> {
        let name = entry.name.as_str();
        let at = self.out.stream_position().map_err(Self::write_err(name))?;
        if at != entry.data_offset + size {
            return Err(Error::SizeMismatch {
                entry: name.to_owned(),
                expected: size,
                actual: at.saturating_sub(entry.data_offset),
            });
        }
        self.pos = at;
        self.pad(name, size)?;
        let header = tar::ustar_header(name, size, self.mtime, self.large).map_err(|source| {
            Error::Encode {
                entry: name.to_owned(),
                source,
            }
        })?;
        self.out
            .seek(SeekFrom::Start(entry.header_offset))
            .and_then(|_| self.out.write_all(&header))
            .and_then(|()| self.out.seek(SeekFrom::Start(self.pos)))
            .map_err(Self::write_err(name))?;
        Ok(())
    }

    /// Write an entry of `size` zero bytes now, to be filled in with [`fill`](Self::fill)
    /// once its content is known (a manifest placed before the files it lists, whose canonical
    /// length [`crate::manifest::canonical_len`] is known in advance).
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
    fn entries_of_unknown_size() {
        let mut w = OvaWriter::new(io::Cursor::new(Vec::new()));
        w.add_descriptor("a.ovf", b"<a/>").unwrap();
        let open = w.begin_entry("d.vmdk").unwrap();
        w.get_mut().write_all(&[5u8; 700]).unwrap();
        assert!(matches!(
            w.end_entry(&open, 600),
            Err(Error::SizeMismatch { actual: 700, .. })
        ));
        w.end_entry(&open, 700).unwrap();
        w.add_bytes("b.iso", b"xyz").unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let mut reader = ArchiveReader::new(&bytes[..]);
        let mut names = Vec::new();
        while let Some(mut e) = reader.next_entry().unwrap() {
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            names.push((e.info().name.clone(), data.len()));
        }
        assert_eq!(
            names,
            vec![
                ("a.ovf".into(), 4),
                ("d.vmdk".into(), 700),
                ("b.iso".into(), 3)
            ]
        );
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
}
