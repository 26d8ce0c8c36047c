//! Reading a referenced file's content as one file, whatever its storage: the pieces of an
//! OVF-chunked file (`disk.vmdk.000000000`, `.000000001`, ...) joined, and a file stored with
//! `ovf:compression="gzip"` decompressed.
//!
//! [`StoredReader`] reads the stored bytes (chunks joined) with positioned reads, so it never
//! moves a shared file cursor; [`ContentReader`] adds the gzip layer. Both implement
//! [`Seek`]: a gzip stream has no index, so seeking backwards decompresses again from the
//! start, and the first [`SeekFrom::End`] decompresses to the end once to learn the length.
//! Validation's disk walk reads a disk through [`ContentReader`], front to back, with a
//! second pass only for its grain tables.
//!
//! Use [`crate::package::Ova::open_content`] to get one for a file of a package.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

use flate2::read::MultiGzDecoder;

/// `ovf:compression` of a referenced file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum Compression {
    /// No compression (the attribute absent, empty or `identity`).
    Identity,
    /// gzip (RFC 1952); a stream of several gzip members is read as one.
    Gzip,
    /// Any other value (DSP8023 also names `bzip2`), which this crate cannot read.
    Other(String),
}

impl Compression {
    /// The compression an `ovf:compression` value names (case-insensitive).
    ///
    /// ```
    /// use ova_core::content::Compression;
    /// assert_eq!(Compression::from_attribute(None), Compression::Identity);
    /// assert_eq!(Compression::from_attribute(Some("GZIP")), Compression::Gzip);
    /// assert_eq!(Compression::from_attribute(Some("bzip2")), Compression::Other("bzip2".into()));
    /// ```
    pub fn from_attribute(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            None | Some("") => Self::Identity,
            Some(v) if v.eq_ignore_ascii_case("identity") => Self::Identity,
            Some(v) if v.eq_ignore_ascii_case("gzip") => Self::Gzip,
            Some(v) => Self::Other(v.to_owned()),
        }
    }
}

/// The stored bytes of one file: the data ranges of its archive entries, in order.
#[derive(Debug, Clone)]
pub struct StoredReader<'a> {
    file: &'a File,
    /// `(data offset in the archive, length)` of each piece.
    parts: Vec<(u64, u64)>,
    len: u64,
    pos: u64,
}

impl<'a> StoredReader<'a> {
    /// A reader over `parts` (`(offset, length)` ranges of `file`), read as one stream.
    pub fn new(file: &'a File, parts: Vec<(u64, u64)>) -> Self {
        let len = parts.iter().map(|(_, l)| l).sum();
        Self {
            file,
            parts,
            len,
            pos: 0,
        }
    }

    /// Total stored length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there are no stored bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for StoredReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut start = 0u64;
        for &(offset, len) in &self.parts {
            if self.pos < start + len {
                let within = self.pos - start;
                let n = (buf.len() as u64).min(len - within) as usize;
                let got = self.file.read_at(&mut buf[..n], offset + within)?;
                if got == 0 && n > 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "archive ends inside the file's data",
                    ));
                }
                self.pos += got as u64;
                return Ok(got);
            }
            start += len;
        }
        Ok(0)
    }
}

impl Seek for StoredReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = target(to, self.pos, Some(self.len))?;
        Ok(self.pos)
    }
}

fn target(to: SeekFrom, pos: u64, len: Option<u64>) -> io::Result<u64> {
    let t = match to {
        SeekFrom::Start(o) => Some(o),
        SeekFrom::Current(d) => pos.checked_add_signed(d),
        SeekFrom::End(d) => len.and_then(|l| l.checked_add_signed(d)),
    };
    t.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))
}

/// Read buffer of the gzip layer.
const GZ_BUF: usize = 256 * 1024;

/// The gzip layer over a [`StoredReader`].
#[derive(Debug)]
pub struct GzipReader<'a> {
    stored: StoredReader<'a>,
    decoder: MultiGzDecoder<BufReader<StoredReader<'a>>>,
    /// Position in the decompressed stream.
    pos: u64,
    /// Decompressed length, once known.
    len: Option<u64>,
}

impl<'a> GzipReader<'a> {
    fn new(stored: StoredReader<'a>) -> Self {
        let decoder = MultiGzDecoder::new(BufReader::with_capacity(GZ_BUF, stored.clone()));
        Self {
            stored,
            decoder,
            pos: 0,
            len: None,
        }
    }

    fn restart(&mut self) {
        let mut s = self.stored.clone();
        s.pos = 0;
        self.decoder = MultiGzDecoder::new(BufReader::with_capacity(GZ_BUF, s));
        self.pos = 0;
    }

    /// Decompress and discard up to `n` bytes; returns how many there were.
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        let skipped = io::copy(&mut (&mut *self).take(n), &mut io::sink())?;
        Ok(skipped)
    }

    /// The decompressed length (decompressing to the end once, then back to where it was).
    pub fn content_len(&mut self) -> io::Result<u64> {
        if let Some(l) = self.len {
            return Ok(l);
        }
        let here = self.pos;
        self.skip(u64::MAX)?;
        let len = self.pos;
        self.len = Some(len);
        self.seek(SeekFrom::Start(here))?;
        Ok(len)
    }
}

impl Read for GzipReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.decoder.read(buf)?;
        self.pos += n as u64;
        if n == 0 && !buf.is_empty() {
            self.len = Some(self.pos);
        }
        Ok(n)
    }
}

impl Seek for GzipReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let len = match to {
            SeekFrom::End(_) => Some(self.content_len()?),
            _ => self.len,
        };
        let t = target(to, self.pos, len)?;
        if t < self.pos {
            self.restart();
        }
        let want = t - self.pos;
        let got = self.skip(want)?;
        if got < want {
            // Past the end, as a file allows: reads there return 0.
            self.pos = t;
        }
        Ok(t)
    }
}

/// A referenced file's logical content: its stored bytes (chunks joined), decompressed when it
/// is stored with gzip.
#[derive(Debug)]
#[non_exhaustive]
pub enum ContentReader<'a> {
    /// Stored as is.
    Stored(StoredReader<'a>),
    /// Stored gzip-compressed.
    Gzip(Box<GzipReader<'a>>),
}

impl<'a> ContentReader<'a> {
    /// The content of `stored` under `compression`.
    ///
    /// # Errors
    ///
    /// `Err(method)` for a compression this crate cannot read.
    pub fn new(
        stored: StoredReader<'a>,
        compression: &Compression,
    ) -> std::result::Result<Self, String> {
        match compression {
            Compression::Identity => Ok(Self::Stored(stored)),
            Compression::Gzip => Ok(Self::Gzip(Box::new(GzipReader::new(stored)))),
            Compression::Other(m) => Err(m.clone()),
        }
    }

    /// The content's length: the stored length, or for gzip the decompressed length (which
    /// costs one decompression pass the first time; the position is kept).
    ///
    /// # Errors
    ///
    /// Reading or decompressing the stored bytes.
    pub fn content_len(&mut self) -> io::Result<u64> {
        match self {
            Self::Stored(r) => Ok(r.len()),
            Self::Gzip(r) => r.content_len(),
        }
    }
}

impl Read for ContentReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Stored(r) => r.read(buf),
            Self::Gzip(r) => r.read(buf),
        }
    }
}

impl Seek for ContentReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            Self::Stored(r) => r.seek(to),
            Self::Gzip(r) => r.seek(to),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn archive(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn chunks_read_as_one_and_seek() {
        // "abc" at 10, "defg" at 20, "h" at 30, with noise around.
        let mut data = vec![b'.'; 40];
        data[10..13].copy_from_slice(b"abc");
        data[20..24].copy_from_slice(b"defg");
        data[30] = b'h';
        let f = archive(&data);
        let mut r = StoredReader::new(&f, vec![(10, 3), (20, 4), (30, 1)]);
        assert_eq!(r.len(), 8);
        let mut all = String::new();
        r.read_to_string(&mut all).unwrap();
        assert_eq!(all, "abcdefgh");
        r.seek(SeekFrom::Start(2)).unwrap();
        let mut b = [0u8; 3];
        r.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"cde");
        assert_eq!(r.seek(SeekFrom::End(-1)).unwrap(), 7);
        r.read_exact(&mut b[..1]).unwrap();
        assert_eq!(b[0], b'h');
    }

    #[test]
    fn gzip_reads_seeks_and_learns_its_length() {
        let plain: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain[..500_000]).unwrap();
        let mut stored = gz.finish().unwrap();
        // A second gzip member, as parallel compressors write.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain[500_000..]).unwrap();
        stored.extend(gz.finish().unwrap());
        let split = stored.len() / 3;
        let mut on_disk = stored[..split].to_vec();
        on_disk.extend_from_slice(&[0u8; 7]);
        on_disk.extend_from_slice(&stored[split..]);
        let f = archive(&on_disk);
        let parts = vec![
            (0, split as u64),
            (split as u64 + 7, (stored.len() - split) as u64),
        ];
        let mut r = ContentReader::new(StoredReader::new(&f, parts), &Compression::Gzip).unwrap();
        assert_eq!(r.seek(SeekFrom::End(0)).unwrap(), plain.len() as u64);
        r.seek(SeekFrom::Start(1000)).unwrap();
        let mut b = vec![0u8; 64];
        r.read_exact(&mut b).unwrap();
        assert_eq!(b, plain[1000..1064]);
        r.seek(SeekFrom::Start(900_000)).unwrap();
        r.read_exact(&mut b).unwrap();
        assert_eq!(b, plain[900_000..900_064]);
        r.seek(SeekFrom::Current(-100_000)).unwrap();
        r.read_exact(&mut b).unwrap();
        assert_eq!(b, plain[800_064..800_128]);
        r.seek(SeekFrom::Start(0)).unwrap();
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, plain);
    }

    #[test]
    fn garbage_is_a_read_error_not_a_panic() {
        let f = archive(b"not gzip at all");
        let mut r =
            ContentReader::new(StoredReader::new(&f, vec![(0, 15)]), &Compression::Gzip).unwrap();
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        assert!(
            ContentReader::new(
                StoredReader::new(&f, vec![]),
                &Compression::Other("bzip2".into())
            )
            .is_err()
        );
    }
}
