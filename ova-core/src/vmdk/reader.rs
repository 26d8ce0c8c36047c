//! Stream-optimized VMDK → raw disk bytes, and inspection of a VMDK's structure.

use std::io::{Read, Seek, SeekFrom};

use super::layout::{
    Descriptor, GD_AT_END, GRAIN_MARKER_HEADER, Marker, MetaKind, SECTOR, SparseHeader,
    decode_table, sectors_for,
};
use crate::progress::{Progress, no_progress, report};
use crate::{Error, Result};

fn io_err(source: std::io::Error) -> Error {
    Error::VmdkIo {
        op: "reading the vmdk",
        source,
    }
}

fn read_full<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    Ok(got)
}

/// Something about a VMDK that is legal enough to read but that a consumer may reject.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum VmdkProblem {
    /// The stream ends without an end-of-stream marker.
    NoEndOfStreamMarker,
    /// The header defers the grain directory to a footer (`gdOffset` is `GD_AT_END`) and
    /// there is none. (A stream with the directory in its header needs no footer: qemu-img
    /// and open-vmdk write that layout, VMware writes footers.)
    NoFooter,
    /// Bytes follow the end-of-stream marker (qemu-img pads with zeros); VMware's stream
    /// reader stops at the marker, so a manifest digest over the whole file disagrees.
    BytesAfterEnd {
        /// How many bytes.
        bytes: u64,
        /// Whether any of them is not zero (possibly lost data).
        nonzero: bool,
    },
    /// Header flag bit 1 (redundant grain directory) is set on a stream (qemu-img does this).
    RedundantGrainDirectoryFlag,
    /// The header version is not 3, which ESXi requires for streams.
    Version {
        /// The version found.
        version: u32,
    },
    /// `createType` is not `streamOptimized`.
    CreateType {
        /// The value found (empty when absent).
        found: String,
    },
    /// A `ddb` entry that VMware products expect is missing.
    MissingDdb {
        /// The key.
        key: String,
    },
    /// The descriptor's extent size differs from the header capacity.
    DescriptorCapacity {
        /// Sectors in the extent line.
        descriptor: u64,
        /// Sectors in the header.
        header: u64,
    },
    /// Grains are not in ascending LBA order.
    GrainsOutOfOrder,
    /// The header says the disk was not closed cleanly.
    UncleanShutdown,
    /// The grain directory or tables could not be checked.
    Directory {
        /// Why.
        reason: String,
    },
    /// Grain-table entries that do not point at the grain marker of their slot.
    GrainTableMismatch {
        /// How many.
        count: u64,
    },
}

impl std::fmt::Display for VmdkProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoEndOfStreamMarker => f.write_str("no end-of-stream marker"),
            Self::NoFooter => f.write_str("no footer"),
            Self::BytesAfterEnd { bytes, nonzero } => write!(
                f,
                "{bytes} bytes after the end-of-stream marker{}",
                if *nonzero { " (not all zero)" } else { "" }
            ),
            Self::RedundantGrainDirectoryFlag => {
                f.write_str("redundant grain directory flag set on a stream")
            }
            Self::Version { version } => write!(f, "header version {version}, not 3"),
            Self::CreateType { found } => write!(f, "createType is {found:?}, not streamOptimized"),
            Self::MissingDdb { key } => write!(f, "descriptor has no {key}"),
            Self::DescriptorCapacity { descriptor, header } => write!(
                f,
                "descriptor extent has {descriptor} sectors, header {header}"
            ),
            Self::GrainsOutOfOrder => f.write_str("grains are not in ascending order"),
            Self::UncleanShutdown => f.write_str("unclean shutdown flag set"),
            Self::Directory { reason } => write!(f, "grain directory: {reason}"),
            Self::GrainTableMismatch { count } => {
                write!(f, "{count} grain table entries point at the wrong grain")
            }
        }
    }
}

/// How a stream-optimized file locates its grain directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutClass {
    /// `gdOffset` is `GD_AT_END` and a footer holds the real one (VMware, VirtualBox).
    GdAtEndWithFooter,
    /// A real `gdOffset` in the header and a footer too (a VMware variant).
    GdInHeaderWithFooter,
    /// Directory and tables at the front, no footer (qemu-img, open-vmdk).
    GdAtFront,
    /// No usable directory: only a linear marker walk reads it.
    Unindexed,
}

/// What a finished linear read found.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct StreamSummary {
    /// Grain markers read.
    pub grains: u64,
    /// Bytes of compressed grain data.
    pub compressed_bytes: u64,
    /// Grain-table markers seen.
    pub grain_tables: u64,
    /// Offset of the grain-directory marker, if one was seen.
    pub gd_marker_offset: Option<u64>,
    /// The footer, if one was seen.
    #[serde(skip)]
    pub footer: Option<SparseHeader>,
    /// Offset of the end-of-stream marker, if one was seen.
    pub eos_offset: Option<u64>,
    /// Offset just past the end-of-stream marker (or where the input ended).
    pub logical_end: u64,
    /// Bytes read after the logical end (when drained).
    pub trailing_bytes: u64,
    /// Whether any trailing byte is not zero.
    pub trailing_nonzero: bool,
    /// Whether every grain came in ascending LBA order.
    pub grains_ordered: bool,
}

/// Reads a stream-optimized VMDK sequentially (a linear marker walk, so any `Read` works: a
/// file, a pipe, an HTTP body) and yields the virtual disk as raw bytes through [`Read`]
/// (absent grains read as zeros).
///
/// Every allocation is bounded by the header's validated limits (at most a few MiB), whatever
/// the input says.
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use ova_core::vmdk::{StreamReader, VmdkWriter};
/// let raw = vec![9u8; 100_000];
/// let mut vmdk = Vec::new();
/// VmdkWriter::new().write(&raw[..], raw.len() as u64, &mut vmdk)?;
/// let mut reader = StreamReader::new(&vmdk[..])?;
/// let mut back = Vec::new();
/// reader.read_to_end(&mut back).unwrap();
/// assert_eq!(&back[..raw.len()], &raw[..]);
/// assert_eq!(back.len() as u64, reader.capacity());
/// # Ok::<(), ova_core::Error>(())
/// ```
pub struct StreamReader<R> {
    input: R,
    pos: u64,
    header: SparseHeader,
    descriptor: Descriptor,
    descriptor_bytes: Vec<u8>,
    capacity: u64,
    out_pos: u64,
    inflate: bool,
    strict_order: bool,
    decompressor: libdeflater::Decompressor,
    cbuf: Vec<u8>,
    csize: usize,
    gbuf: Vec<u8>,
    gbuf_start: Option<u64>,
    pending: Option<(u64, u64)>,
    next_lba: u64,
    ended: bool,
    summary: StreamSummary,
}

impl<R> std::fmt::Debug for StreamReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("header", &self.header)
            .field("pos", &self.pos)
            .field("out_pos", &self.out_pos)
            .finish_non_exhaustive()
    }
}

impl<R: Read> StreamReader<R> {
    /// Reads the header and embedded descriptor and positions the reader at the first grain.
    ///
    /// # Errors
    ///
    /// [`Error::VmdkHeader`] when the header is invalid or the file is not a compressed
    /// stream with markers, [`Error::VmdkTruncated`] when the input ends early,
    /// [`Error::VmdkIo`] on a read error.
    pub fn new(mut input: R) -> Result<Self> {
        let mut sector = [0u8; 512];
        let n = read_full(&mut input, &mut sector)?;
        if n < 512 {
            if n >= 4 && sector[..4] != *b"KDMV" {
                return Err(Error::VmdkHeader {
                    reason: "no KDMV magic: not a sparse VMDK extent".to_owned(),
                });
            }
            return Err(Error::VmdkTruncated {
                offset: n as u64,
                inside: "header",
            });
        }
        let header = SparseHeader::parse(&sector)?;
        if !header.is_stream() {
            return Err(Error::VmdkHeader {
                reason: "not a stream-optimized extent (grains are not compressed with markers)"
                    .to_owned(),
            });
        }
        if header.compress_algorithm != super::layout::COMPRESSION_DEFLATE {
            return Err(Error::VmdkHeader {
                reason: format!(
                    "unsupported compression algorithm {}",
                    header.compress_algorithm
                ),
            });
        }
        let mut pos = 512u64;
        let mut descriptor_bytes = Vec::new();
        let skip_to = |input: &mut R, pos: &mut u64, to: u64, inside| -> Result<()> {
            if to > *pos {
                let want = to - *pos;
                let got = std::io::copy(&mut input.by_ref().take(want), &mut std::io::sink())
                    .map_err(io_err)?;
                *pos += got;
                if got < want {
                    return Err(Error::VmdkTruncated {
                        offset: *pos,
                        inside,
                    });
                }
            }
            Ok(())
        };
        if header.descriptor_offset >= 1 && header.descriptor_size > 0 {
            let start = header.descriptor_offset * SECTOR;
            skip_to(&mut input, &mut pos, start, "descriptor")?;
            if pos == start {
                descriptor_bytes = vec![0u8; (header.descriptor_size * SECTOR) as usize];
                let got = read_full(&mut input, &mut descriptor_bytes)?;
                pos += got as u64;
                if got < descriptor_bytes.len() {
                    return Err(Error::VmdkTruncated {
                        offset: pos,
                        inside: "descriptor",
                    });
                }
                let end = descriptor_bytes
                    .iter()
                    .position(|&b| b == 0)
                    .unwrap_or(descriptor_bytes.len());
                descriptor_bytes.truncate(end);
            }
        }
        let descriptor = Descriptor::parse(&descriptor_bytes);
        skip_to(&mut input, &mut pos, header.overhead * SECTOR, "metadata")?;
        let grain_bytes = header.grain_bytes() as usize;
        Ok(Self {
            input,
            pos,
            capacity: header.capacity * SECTOR,
            header,
            descriptor,
            descriptor_bytes,
            out_pos: 0,
            inflate: true,
            strict_order: true,
            decompressor: libdeflater::Decompressor::new(),
            cbuf: Vec::with_capacity(grain_bytes + 1024),
            csize: 0,
            gbuf: vec![0u8; grain_bytes],
            gbuf_start: None,
            pending: None,
            next_lba: 0,
            ended: false,
            summary: StreamSummary {
                grains_ordered: true,
                ..StreamSummary::default()
            },
        })
    }

    /// The sparse extent header.
    pub fn header(&self) -> &SparseHeader {
        &self.header
    }

    /// The embedded descriptor.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// The embedded descriptor text, as stored (padding removed).
    pub fn descriptor_text(&self) -> &[u8] {
        &self.descriptor_bytes
    }

    /// Virtual disk size in bytes.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Bytes of VMDK consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Walks markers only, without inflating grains and tolerating grains out of order (for
    /// inspection). The raw bytes produced are then meaningless.
    fn scan_only(mut self) -> Self {
        self.inflate = false;
        self.strict_order = false;
        self
    }

    fn max_compressed(&self) -> u64 {
        // deflate's worst case is ~0.03% over the input, plus the zlib frame
        self.header.grain_bytes() + self.header.grain_bytes() / 16 + 1024
    }

    /// Reads markers until the next grain (returns its LBA, compressed data in `cbuf`) or the
    /// end of the stream.
    fn next_grain(&mut self) -> Result<Option<u64>> {
        loop {
            let at = self.pos;
            let mut sector = [0u8; 512];
            let n = read_full(&mut self.input, &mut sector)?;
            self.pos += n as u64;
            if n == 0 {
                self.summary.logical_end = at;
                if self.inflate && self.summary.footer.is_none() {
                    // reading: without the end-of-stream marker (or a footer, which is written
                    // after every grain), grains after this point may be missing, and reading
                    // them as zeros would return a corrupt disk
                    return Err(Error::VmdkTruncated {
                        offset: at,
                        inside: "stream (no end-of-stream marker)",
                    });
                }
                return Ok(None);
            }
            if n < 512 {
                return Err(Error::VmdkTruncated {
                    offset: self.pos,
                    inside: "marker",
                });
            }
            match Marker::parse(&sector, at)? {
                Marker::Grain { lba, size } => {
                    let size = u64::from(size);
                    if size > self.max_compressed() {
                        return Err(Error::VmdkCorrupt {
                            offset: at,
                            reason: format!("grain marker claims {size} compressed bytes"),
                        });
                    }
                    if lba % self.header.grain_size != 0 || lba >= self.header.capacity {
                        return Err(Error::VmdkCorrupt {
                            offset: at,
                            reason: format!("grain marker lba {lba} is not a grain of this disk"),
                        });
                    }
                    if lba < self.next_lba {
                        if self.strict_order {
                            return Err(Error::VmdkCorrupt {
                                offset: at,
                                reason: format!(
                                    "grain lba {lba} comes after lba {}: grains out of order \
                                     cannot be read as a stream",
                                    self.next_lba.saturating_sub(self.header.grain_size)
                                ),
                            });
                        }
                        self.summary.grains_ordered = false;
                    }
                    let total = (sectors_for(GRAIN_MARKER_HEADER as u64 + size) * SECTOR) as usize;
                    self.cbuf.clear();
                    self.cbuf.resize(total, 0);
                    self.cbuf[..512].copy_from_slice(&sector);
                    let got = read_full(&mut self.input, &mut self.cbuf[512..])?;
                    self.pos += got as u64;
                    if got < total - 512 {
                        // the padding of the very last sector may be missing: accept when the
                        // compressed bytes themselves are complete
                        if 512 + got < GRAIN_MARKER_HEADER + size as usize {
                            return Err(Error::VmdkTruncated {
                                offset: self.pos,
                                inside: "grain",
                            });
                        }
                    }
                    self.csize = size as usize;
                    self.summary.grains += 1;
                    self.summary.compressed_bytes += size;
                    self.next_lba = self.next_lba.max(lba + self.header.grain_size);
                    self.summary.logical_end = self.pos;
                    return Ok(Some(lba));
                }
                Marker::Meta {
                    kind: MetaKind::EndOfStream,
                    ..
                } => {
                    self.summary.eos_offset = Some(at);
                    self.summary.logical_end = self.pos;
                    return Ok(None);
                }
                Marker::Meta { kind, sectors } => {
                    if kind == MetaKind::GrainTable {
                        self.summary.grain_tables += 1;
                    }
                    if kind == MetaKind::GrainDirectory {
                        self.summary.gd_marker_offset = Some(at);
                    }
                    let mut rest = sectors.saturating_mul(SECTOR);
                    if kind == MetaKind::Footer && sectors >= 1 {
                        let mut f = [0u8; 512];
                        let got = read_full(&mut self.input, &mut f)?;
                        self.pos += got as u64;
                        if got < 512 {
                            return Err(Error::VmdkTruncated {
                                offset: self.pos,
                                inside: "footer",
                            });
                        }
                        self.summary.footer =
                            Some(SparseHeader::parse(&f).map_err(|e| Error::VmdkCorrupt {
                                offset: at + 512,
                                reason: format!("footer: {e}"),
                            })?);
                        rest -= 512;
                    }
                    let got =
                        std::io::copy(&mut self.input.by_ref().take(rest), &mut std::io::sink())
                            .map_err(io_err)?;
                    self.pos += got;
                    if got < rest {
                        return Err(Error::VmdkTruncated {
                            offset: self.pos,
                            inside: "metadata",
                        });
                    }
                }
            }
        }
    }

    fn inflate_pending(&mut self, lba: u64, marker_offset: u64) -> Result<()> {
        let data = &self.cbuf[GRAIN_MARKER_HEADER..GRAIN_MARKER_HEADER + self.csize];
        let n = self
            .decompressor
            .zlib_decompress(data, &mut self.gbuf)
            .map_err(|e| Error::VmdkGrain {
                offset: marker_offset,
                lba,
                source: Box::new(e),
            })?;
        self.gbuf[n..].fill(0);
        Ok(())
    }

    /// Reads raw disk bytes: like [`Read::read`] with this crate's error type.
    ///
    /// # Errors
    ///
    /// [`Error::VmdkCorrupt`], [`Error::VmdkTruncated`], [`Error::VmdkGrain`] or
    /// [`Error::VmdkIo`] when the stream is damaged or cannot be read. The input ending
    /// before the end-of-stream marker (and before any footer) is [`Error::VmdkTruncated`],
    /// also when it ends exactly between two markers: the disk is never completed with zeros.
    /// Zeros after the end-of-stream marker (qemu-img's padding) are not read at all.
    pub fn read_raw(&mut self, out: &mut [u8]) -> Result<usize> {
        let grain_bytes = self.header.grain_bytes();
        loop {
            if out.is_empty() {
                return Ok(0);
            }
            if self.out_pos >= self.capacity {
                // the disk is complete only when the stream ends properly: walk the markers
                // that remain up to the end-of-stream marker
                while !self.ended {
                    let at = self.pos;
                    match self.next_grain()? {
                        Some(lba) => {
                            return Err(Error::VmdkCorrupt {
                                offset: at,
                                reason: format!("grain lba {lba} after the whole disk was read"),
                            });
                        }
                        None => self.ended = true,
                    }
                }
                return Ok(0);
            }
            let limit = (self.capacity - self.out_pos).min(out.len() as u64);
            if let Some(start) = self.gbuf_start
                && self.out_pos >= start
                && self.out_pos < start + grain_bytes
            {
                let from = (self.out_pos - start) as usize;
                let n = (grain_bytes - (self.out_pos - start)).min(limit) as usize;
                out[..n].copy_from_slice(&self.gbuf[from..from + n]);
                self.out_pos += n as u64;
                return Ok(n);
            }
            if let Some((lba, marker_offset)) = self.pending {
                let start = lba * SECTOR;
                if self.out_pos < start {
                    let n = (start - self.out_pos).min(limit) as usize;
                    out[..n].fill(0);
                    self.out_pos += n as u64;
                    return Ok(n);
                }
                if self.inflate {
                    self.inflate_pending(lba, marker_offset)?;
                }
                self.gbuf_start = Some(start);
                self.pending = None;
                continue;
            }
            if self.ended {
                let n = limit as usize;
                out[..n].fill(0);
                self.out_pos += n as u64;
                return Ok(n);
            }
            let marker_offset = self.pos;
            match self.next_grain()? {
                Some(lba) if !self.inflate => {
                    // scanning: skip the data entirely
                    let _ = (lba, marker_offset);
                }
                Some(lba) => self.pending = Some((lba, marker_offset)),
                None => self.ended = true,
            }
        }
    }

    /// Reads the rest of the stream without producing raw bytes: walks the remaining
    /// markers, then drains the input after the end-of-stream marker, counting what follows
    /// it. Call after the raw bytes were read (or instead of reading them).
    ///
    /// # Errors
    ///
    /// As [`read_raw`](Self::read_raw).
    pub fn finish(mut self) -> Result<StreamSummary> {
        self.walk_to_end()?;
        Ok(self.summary)
    }

    /// [`finish`](Self::finish) without consuming the reader: walks the remaining markers and
    /// drains (and counts) what follows the end-of-stream marker.
    fn walk_to_end(&mut self) -> Result<()> {
        while !self.ended {
            let marker_offset = self.pos;
            match self.next_grain()? {
                Some(lba) => {
                    if self.inflate {
                        self.inflate_pending(lba, marker_offset)?;
                    }
                }
                None => self.ended = true,
            }
        }
        if self.summary.eos_offset.is_none()
            && self.header.gd_offset == GD_AT_END
            && self.summary.footer.is_none()
        {
            // the directory can only be found through the footer: the file is incomplete
            return Err(Error::VmdkTruncated {
                offset: self.pos,
                inside: "stream (no footer or end-of-stream marker)",
            });
        }
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match self.input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e)),
            };
            self.summary.trailing_bytes += n as u64;
            if !self.summary.trailing_nonzero && buf[..n].iter().any(|&b| b != 0) {
                self.summary.trailing_nonzero = true;
            }
        }
        Ok(())
    }

    /// Copies the whole raw disk into `out`, then finishes the stream (see
    /// [`finish`](Self::finish)).
    ///
    /// # Errors
    ///
    /// As [`read_raw`](Self::read_raw), plus [`Error::VmdkIo`] when writing fails.
    pub fn copy_to<W: std::io::Write>(self, out: W) -> Result<StreamSummary> {
        self.copy_to_progress(out, &mut no_progress)
    }

    /// [`copy_to`](Self::copy_to) with a [`Progress`] callback, called after each MiB of raw
    /// disk written with the bytes of VMDK read for it (counted from the start of the stream,
    /// header included; 0 while an unallocated region is written as zeros), and once more for
    /// what follows the last grain. Over the whole copy it is given every byte of the input.
    ///
    /// # Errors
    ///
    /// As [`copy_to`](Self::copy_to), and [`Error::Cancelled`] when `progress` returns
    /// [`ControlFlow::Break`](std::ops::ControlFlow::Break) (`out` then holds part of the disk).
    pub fn copy_to_progress<W: std::io::Write>(
        mut self,
        mut out: W,
        progress: Progress<'_>,
    ) -> Result<StreamSummary> {
        let reported = crate::progress::copy_raw(
            |b| {
                let n = self.read_raw(b)?;
                Ok((n, self.pos))
            },
            &mut out,
            progress,
            |source| Error::VmdkIo {
                op: "writing the raw disk",
                source,
            },
        )?;
        self.walk_to_end()?;
        report(
            progress,
            (self.pos + self.summary.trailing_bytes).saturating_sub(reported),
        )?;
        Ok(self.summary)
    }
}

impl<R: Read> Read for StreamReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.read_raw(buf).map_err(|e| match e {
            Error::VmdkIo { source, .. } => source,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        })
    }
}

/// Everything [`inspect`] learns about a stream-optimized VMDK.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VmdkInfo {
    /// File size in bytes.
    pub file_size: u64,
    /// Virtual disk size in bytes.
    pub capacity: u64,
    /// Grain size in bytes.
    pub grain_size: u64,
    /// Header version.
    pub version: u32,
    /// Header flags.
    pub flags: u32,
    /// How the grain directory is found.
    pub layout: LayoutClass,
    /// Grains present.
    pub grains: u64,
    /// Bytes of compressed grain data.
    pub compressed_bytes: u64,
    /// Whether a footer is present.
    pub has_footer: bool,
    /// Whether an end-of-stream marker is present.
    pub has_eos: bool,
    /// Whether grains come in ascending LBA order.
    pub grains_ordered: bool,
    /// Offset just past the end-of-stream marker (or the last structure).
    pub logical_end: u64,
    /// `createType` from the descriptor.
    pub create_type: Option<String>,
    /// `ddb.adapterType`.
    pub adapter_type: Option<String>,
    /// `ddb.virtualHWVersion`.
    pub hw_version: Option<String>,
    /// `ddb.toolsVersion`.
    pub tools_version: Option<String>,
    /// The whole embedded descriptor.
    pub descriptor: Descriptor,
    /// Findings a consumer may reject (empty for a VMware-layout file).
    pub problems: Vec<VmdkProblem>,
}

/// Inspects a stream-optimized VMDK: header, descriptor, a marker walk over the whole file
/// (grains are not inflated), the footer and end-of-stream marker, what follows the logical
/// end, and the grain directory and tables (each entry must point at the grain marker of its
/// slot).
///
/// # Errors
///
/// [`Error::VmdkHeader`], [`Error::VmdkCorrupt`], [`Error::VmdkTruncated`] or
/// [`Error::VmdkIo`] when the file cannot be walked.
pub fn inspect<R: Read + Seek>(mut input: R) -> Result<VmdkInfo> {
    let file_size = input.seek(SeekFrom::End(0)).map_err(io_err)?;
    input.seek(SeekFrom::Start(0)).map_err(io_err)?;
    let reader =
        StreamReader::new(std::io::BufReader::with_capacity(256 * 1024, &mut input))?.scan_only();
    let header = *reader.header();
    let descriptor = reader.descriptor().clone();
    let summary = reader.finish()?;
    let mut problems = Vec::new();
    if header.version != 3 {
        problems.push(VmdkProblem::Version {
            version: header.version,
        });
    }
    if header.flags & super::layout::FLAG_REDUNDANT_GD != 0 {
        problems.push(VmdkProblem::RedundantGrainDirectoryFlag);
    }
    if header.unclean_shutdown {
        problems.push(VmdkProblem::UncleanShutdown);
    }
    let create_type = descriptor.get("createType").map(str::to_owned);
    if !create_type
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("streamOptimized"))
    {
        problems.push(VmdkProblem::CreateType {
            found: create_type.clone().unwrap_or_default(),
        });
    }
    // `ddb.toolsVersion` only sets the VMware Tools state shown after import (KB 83068);
    // vCloud Director's own exports omit it, so its absence is no finding.
    for key in ["ddb.virtualHWVersion", "ddb.adapterType"] {
        if descriptor.ddb(key).is_none() {
            problems.push(VmdkProblem::MissingDdb {
                key: key.to_owned(),
            });
        }
    }
    let extent_sectors: u64 = descriptor.extents.iter().map(|e| e.sectors).sum();
    if !descriptor.extents.is_empty() && extent_sectors != header.capacity {
        problems.push(VmdkProblem::DescriptorCapacity {
            descriptor: extent_sectors,
            header: header.capacity,
        });
    }
    if summary.eos_offset.is_none() {
        problems.push(VmdkProblem::NoEndOfStreamMarker);
    }
    // A footer is needed only where the header defers the grain directory to it; with the
    // directory in the header (qemu-img, open-vmdk) a stream without footer is complete.
    if summary.footer.is_none() && header.gd_offset == GD_AT_END {
        problems.push(VmdkProblem::NoFooter);
    }
    if summary.trailing_bytes > 0 {
        problems.push(VmdkProblem::BytesAfterEnd {
            bytes: summary.trailing_bytes,
            nonzero: summary.trailing_nonzero,
        });
    }
    if !summary.grains_ordered {
        problems.push(VmdkProblem::GrainsOutOfOrder);
    }
    let gd_offset = match summary.footer {
        Some(f) if f.gd_offset != GD_AT_END => Some(f.gd_offset),
        _ if header.gd_offset != GD_AT_END => Some(header.gd_offset),
        _ => summary.gd_marker_offset.map(|o| o / SECTOR + 1),
    };
    let layout = match (header.gd_offset == GD_AT_END, summary.footer.is_some()) {
        (true, true) => LayoutClass::GdAtEndWithFooter,
        (false, true) => LayoutClass::GdInHeaderWithFooter,
        (false, false) => LayoutClass::GdAtFront,
        (true, false) => LayoutClass::Unindexed,
    };
    match gd_offset {
        None => problems.push(VmdkProblem::Directory {
            reason: "no grain directory found".to_owned(),
        }),
        Some(gd) => match check_directory(&mut input, &header, gd, file_size) {
            Ok((0, referenced)) if referenced == summary.grains => {}
            Ok((0, referenced)) => problems.push(VmdkProblem::Directory {
                reason: format!(
                    "tables reference {referenced} grains, the stream holds {}",
                    summary.grains
                ),
            }),
            Ok((bad, _)) => problems.push(VmdkProblem::GrainTableMismatch { count: bad }),
            Err(reason) => problems.push(VmdkProblem::Directory { reason }),
        },
    }
    Ok(VmdkInfo {
        file_size,
        capacity: header.capacity * SECTOR,
        grain_size: header.grain_bytes(),
        version: header.version,
        flags: header.flags,
        layout,
        grains: summary.grains,
        compressed_bytes: summary.compressed_bytes,
        has_footer: summary.footer.is_some(),
        has_eos: summary.eos_offset.is_some(),
        grains_ordered: summary.grains_ordered,
        logical_end: summary.logical_end,
        create_type,
        adapter_type: descriptor.ddb("ddb.adapterType").map(str::to_owned),
        hw_version: descriptor.ddb("ddb.virtualHWVersion").map(str::to_owned),
        tools_version: descriptor.ddb("ddb.toolsVersion").map(str::to_owned),
        descriptor,
        problems,
    })
}

/// Checks every grain-table entry; returns (entries pointing at the wrong grain, entries).
fn check_directory<R: Read + Seek>(
    input: &mut R,
    header: &SparseHeader,
    gd_sector: u64,
    file_size: u64,
) -> std::result::Result<(u64, u64), String> {
    let gd_len = header.gt_count() * 4;
    let gd_start = gd_sector.saturating_mul(SECTOR);
    if gd_start.saturating_add(gd_len) > file_size {
        return Err(format!(
            "directory at sector {gd_sector} lies past the end of the file"
        ));
    }
    let read_at = |input: &mut R, at: u64, buf: &mut [u8]| -> std::result::Result<(), String> {
        input
            .seek(SeekFrom::Start(at))
            .and_then(|_| input.read_exact(buf))
            .map_err(|e| format!("cannot read at offset {at}: {e}"))
    };
    let mut gd = vec![0u8; gd_len as usize];
    read_at(input, gd_start, &mut gd)?;
    let per_gt = u64::from(header.num_gtes_per_gt);
    let mut gt = vec![0u8; (per_gt * 4) as usize];
    let (mut bad, mut referenced) = (0u64, 0u64);
    for (gd_index, gt_sector) in decode_table(&gd).into_iter().enumerate() {
        if gt_sector == 0 {
            continue;
        }
        let at = u64::from(gt_sector) * SECTOR;
        if at + gt.len() as u64 > file_size {
            return Err(format!(
                "grain table {gd_index} lies past the end of the file"
            ));
        }
        read_at(input, at, &mut gt)?;
        for (i, gte) in decode_table(&gt).into_iter().enumerate() {
            let grain = gd_index as u64 * per_gt + i as u64;
            if gte == 0 || gte == 1 || grain >= header.grain_count() {
                continue;
            }
            referenced += 1;
            let mut m = [0u8; GRAIN_MARKER_HEADER];
            let ok = read_at(input, u64::from(gte) * SECTOR, &mut m).is_ok() && {
                let (lba, size) = super::layout::parse_grain_marker(&m);
                size > 0 && lba == grain * header.grain_size
            };
            if !ok {
                bad += 1;
            }
        }
    }
    Ok((bad, referenced))
}
