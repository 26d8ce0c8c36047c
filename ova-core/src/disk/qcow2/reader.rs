//! QCOW2 → raw disk bytes, after checking every table.

use std::io::{Read, Seek, SeekFrom, Write};

use super::layout::{
    self, Header, INCOMPAT_DIRTY, L1_RESERVED, L2Entry, MAX_L1_BYTES, MAX_REFTABLE_BYTES,
    OFFSET_MASK, compressed_span, refcount_at,
};
use crate::progress::{Progress, no_progress};
use crate::{Error, Result};

const FORMAT: &str = "qcow2";

fn corrupt(offset: u64, reason: impl Into<String>) -> Error {
    Error::DiskCorrupt {
        format: FORMAT,
        offset,
        reason: reason.into(),
    }
}

fn io_err(source: std::io::Error) -> Error {
    Error::DiskIo {
        op: "reading the qcow2 image",
        source,
    }
}

/// What [`Qcow2Reader::new`] found while checking the tables.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Qcow2Info {
    /// File size in bytes.
    pub file_size: u64,
    /// Format version (2 or 3).
    pub version: u32,
    /// Virtual disk size in bytes.
    pub virtual_size: u64,
    /// Cluster size in bytes.
    pub cluster_size: u64,
    /// Refcount width in bits.
    pub refcount_bits: u32,
    /// Entries of the active L1 table.
    pub l1_size: u32,
    /// Guest clusters stored uncompressed.
    pub data_clusters: u64,
    /// Guest clusters stored compressed.
    pub compressed_clusters: u64,
    /// Guest clusters marked as reading zeros.
    pub zero_clusters: u64,
    /// Host clusters with a refcount but no reference (wasted space, harmless).
    pub leaked_clusters: u64,
    /// Internal snapshots (not read: only the active disk is).
    pub snapshots: u32,
    /// Whether the image was not closed cleanly (its refcounts were then not checked).
    pub dirty: bool,
    /// Whether refcounts may be stale by design (the lazy-refcounts compatible feature).
    pub lazy_refcounts: bool,
    /// Problems a consumer may trip over that do not stop reading.
    pub problems: Vec<String>,
}

/// Reads a QCOW2 image (version 2 or 3, standard, zero and deflate-compressed clusters) as the
/// raw virtual disk, through [`Read`] or [`copy_to`](Self::copy_to).
///
/// [`new`](Self::new) checks the whole structure before the first byte is read: header fields
/// and features, every L1 and L2 entry (reserved bits, alignment, inside the file), overlaps
/// between metadata and data, and refcounts against the references (a refcount lower than
/// the references is corruption; a higher one is a leak, reported in [`info`](Self::info)).
/// Backing files, encryption, external data files, extended L2 entries and zstd compression are
/// refused with [`Error::DiskUnsupported`]. Every allocation is bounded by the file's size or
/// qemu's own table limits.
pub struct Qcow2Reader<R> {
    input: R,
    header: Header,
    info: Qcow2Info,
    l1: Vec<u64>,
    l2: Option<(u64, Vec<u64>)>,
    decompressor: libdeflater::Decompressor,
    cbuf: Vec<u8>,
    cluster: Vec<u8>,
    cluster_index: Option<u64>,
    out_pos: u64,
    pos_read: u64,
}

impl<R> std::fmt::Debug for Qcow2Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qcow2Reader")
            .field("header", &self.header)
            .field("out_pos", &self.out_pos)
            .finish_non_exhaustive()
    }
}

fn read_at<R: Read + Seek>(
    input: &mut R,
    offset: u64,
    buf: &mut [u8],
    inside: &'static str,
) -> Result<()> {
    input.seek(SeekFrom::Start(offset)).map_err(io_err)?;
    let got = crate::disk::pipeline::read_full(input, buf).map_err(io_err)?;
    if got < buf.len() {
        return Err(Error::DiskTruncated {
            format: FORMAT,
            offset: offset + got as u64,
            inside,
        });
    }
    Ok(())
}

fn be64s(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

const META: u8 = 1;
const DATA: u8 = 2;
const PACKED: u8 = 4;

/// Reference counts and kinds of every host cluster, as the tables say they are used.
struct Usage {
    bits: u32,
    file_size: u64,
    refs: Vec<u32>,
    kind: Vec<u8>,
}

impl Usage {
    fn add(&mut self, start: u64, end: u64, kind: u8, what: &str) -> Result<()> {
        // compressed data may end inside the file's last, partial sector
        let limit = if kind == PACKED {
            self.file_size.next_multiple_of(512)
        } else {
            self.file_size
        };
        if end > limit || start >= end {
            return Err(corrupt(
                start,
                format!("{what} ({start:#x}..{end:#x}) lies outside the file"),
            ));
        }
        for c in (start >> self.bits)..=((end - 1) >> self.bits) {
            let c = c as usize;
            let k = self.kind[c];
            let clash = (k != 0 && (kind == META || k & META != 0))
                || (kind | k) & (DATA | PACKED) == DATA | PACKED;
            if clash {
                return Err(corrupt(
                    (c as u64) << self.bits,
                    format!("{what} overlaps another structure in the same cluster"),
                ));
            }
            self.kind[c] |= kind;
            self.refs[c] = self.refs[c].saturating_add(1);
        }
        Ok(())
    }
}

impl<R: Read + Seek> Qcow2Reader<R> {
    /// Reads the header, checks every table (see the type's documentation) and positions the
    /// reader at the start of the virtual disk.
    ///
    /// # Errors
    ///
    /// [`Error::DiskHeader`], [`Error::DiskUnsupported`], [`Error::DiskCorrupt`],
    /// [`Error::DiskTruncated`] or [`Error::DiskIo`], naming what is wrong and where.
    pub fn new(mut input: R) -> Result<Self> {
        let file_size = input.seek(SeekFrom::End(0)).map_err(io_err)?;
        let mut head = vec![0u8; file_size.min(4096) as usize];
        read_at(&mut input, 0, &mut head, "header")?;
        if head.len() < 4 || head[..4] != layout::MAGIC {
            return Err(Error::DiskHeader {
                format: FORMAT,
                reason: "no QFI\\xfb magic: not a qcow2 image".into(),
            });
        }
        if head.len() < layout::V2_HEADER_LEN as usize {
            return Err(Error::DiskTruncated {
                format: FORMAT,
                offset: file_size,
                inside: "header",
            });
        }
        let h = Header::parse(&head)?;
        let cs = h.cluster_size();
        if (h.l1_size as u64) < h.l1_needed() {
            return Err(corrupt(
                36,
                format!(
                    "l1 table has {} entries, the virtual size needs {}",
                    h.l1_size,
                    h.l1_needed()
                ),
            ));
        }
        let l1_bytes = u64::from(h.l1_size) * 8;
        if l1_bytes > MAX_L1_BYTES {
            return Err(corrupt(
                36,
                format!("l1 table of {} entries is too large", h.l1_size),
            ));
        }
        let rt_bytes = u64::from(h.refcount_table_clusters) * cs;
        if rt_bytes > MAX_REFTABLE_BYTES || h.refcount_table_clusters == 0 {
            return Err(corrupt(
                56,
                format!(
                    "refcount table of {} clusters is invalid",
                    h.refcount_table_clusters
                ),
            ));
        }
        for (field, off, len) in [
            ("l1 table", h.l1_table_offset, l1_bytes),
            ("refcount table", h.refcount_table_offset, rt_bytes),
        ] {
            if len == 0 {
                continue;
            }
            if !off.is_multiple_of(cs) || off == 0 {
                return Err(corrupt(
                    off,
                    format!("{field} offset is not cluster-aligned"),
                ));
            }
            if off.checked_add(len).is_none_or(|e| e > file_size) {
                return Err(corrupt(off, format!("{field} lies outside the file")));
            }
        }
        let mut l1_raw = vec![0u8; l1_bytes as usize];
        read_at(&mut input, h.l1_table_offset, &mut l1_raw, "l1 table")?;
        let l1 = be64s(&l1_raw);
        let mut rt_raw = vec![0u8; rt_bytes as usize];
        read_at(
            &mut input,
            h.refcount_table_offset,
            &mut rt_raw,
            "refcount table",
        )?;
        let reftable = be64s(&rt_raw);

        let clusters = file_size.div_ceil(cs) as usize;
        let mut usage = Usage {
            bits: h.cluster_bits,
            file_size,
            refs: vec![0; clusters],
            kind: vec![0; clusters],
        };
        let mut info = Qcow2Info {
            file_size,
            version: h.version,
            virtual_size: h.size,
            cluster_size: cs,
            refcount_bits: h.refcount_bits(),
            l1_size: h.l1_size,
            data_clusters: 0,
            compressed_clusters: 0,
            zero_clusters: 0,
            leaked_clusters: 0,
            snapshots: h.nb_snapshots,
            dirty: h.incompatible_features & INCOMPAT_DIRTY != 0,
            lazy_refcounts: h.compatible_features & 1 != 0,
            problems: Vec::new(),
        };
        usage.add(0, cs, META, "the header")?;
        if l1_bytes > 0 {
            usage.add(
                h.l1_table_offset,
                h.l1_table_offset + l1_bytes,
                META,
                "the l1 table",
            )?;
        }
        usage.add(
            h.refcount_table_offset,
            h.refcount_table_offset + rt_bytes,
            META,
            "the refcount table",
        )?;
        let guest_clusters = h.size.div_ceil(cs);
        let mut l2_raw = vec![0u8; cs as usize];
        for (i, &e) in l1.iter().enumerate() {
            let at = h.l1_table_offset + i as u64 * 8;
            if e & L1_RESERVED != 0 {
                return Err(corrupt(
                    at,
                    format!("l1 entry {i} ({e:#018x}) has reserved bits set"),
                ));
            }
            let off = e & OFFSET_MASK;
            if off == 0 {
                continue;
            }
            if !off.is_multiple_of(cs) {
                return Err(corrupt(at, format!("l1 entry {i} is not cluster-aligned")));
            }
            usage.add(off, off + cs, META, "an l2 table")?;
            read_at(&mut input, off, &mut l2_raw, "l2 table")?;
            for (j, raw) in be64s(&l2_raw).into_iter().enumerate() {
                let guest = i as u64 * h.l2_entries() + j as u64;
                let at = off + j as u64 * 8;
                if guest >= guest_clusters {
                    continue;
                }
                match L2Entry::decode(raw, h.cluster_bits, h.version).map_err(|r| corrupt(at, r))? {
                    L2Entry::Unallocated => {}
                    L2Entry::Zero { offset } => {
                        info.zero_clusters += 1;
                        if offset != 0 {
                            usage.add(offset, offset + cs, DATA, "a preallocated zero cluster")?;
                        }
                    }
                    L2Entry::Data { offset } => {
                        info.data_clusters += 1;
                        usage.add(offset, offset + cs, DATA, "a data cluster")?;
                    }
                    L2Entry::Compressed { offset, sectors } => {
                        info.compressed_clusters += 1;
                        let (start, end) = compressed_span(offset, sectors);
                        if offset >= file_size {
                            return Err(corrupt(at, "compressed cluster lies outside the file"));
                        }
                        usage.add(start, end, PACKED, "a compressed cluster")?;
                    }
                }
            }
        }
        let per_block = h.refcounts_per_block();
        let mut blocks = Vec::new();
        for (i, &e) in reftable.iter().enumerate() {
            if e == 0 {
                continue;
            }
            let at = h.refcount_table_offset + i as u64 * 8;
            if !e.is_multiple_of(cs) || e & !OFFSET_MASK != 0 {
                return Err(corrupt(
                    at,
                    format!("refcount table entry {i} ({e:#x}) is invalid"),
                ));
            }
            usage.add(e, e + cs, META, "a refcount block")?;
            blocks.push((i as u64, e));
        }
        if info.dirty {
            info.problems
                .push("the image was not closed cleanly: refcounts were not checked".into());
        } else {
            let mut stored = vec![0u64; clusters];
            let mut block = vec![0u8; cs as usize];
            for (i, off) in blocks {
                let first = i * per_block;
                if first >= clusters as u64 {
                    continue;
                }
                read_at(&mut input, off, &mut block, "refcount block")?;
                let n = per_block.min(clusters as u64 - first) as usize;
                for k in 0..n {
                    stored[first as usize + k] = refcount_at(&block, h.refcount_bits(), k);
                }
            }
            for (c, (&r, &s)) in usage.refs.iter().zip(&stored).enumerate() {
                if u64::from(r) > s {
                    return Err(corrupt(
                        (c as u64) << h.cluster_bits,
                        format!(
                            "refcount {s} of this cluster is lower than its {r} references \
                             (repair with qemu-img check -r all)"
                        ),
                    ));
                }
                if r == 0 && s > 0 {
                    info.leaked_clusters += 1;
                }
            }
            if info.leaked_clusters > 0 {
                info.problems.push(format!(
                    "{} leaked clusters (allocated, unused: wasted space only)",
                    info.leaked_clusters
                ));
            }
        }
        if h.nb_snapshots > 0 {
            info.problems.push(format!(
                "{} internal snapshots: only the active disk is read",
                h.nb_snapshots
            ));
        }
        input.seek(SeekFrom::Start(0)).map_err(io_err)?;
        Ok(Self {
            input,
            info,
            l1,
            l2: None,
            decompressor: libdeflater::Decompressor::new(),
            cbuf: Vec::new(),
            cluster: vec![0u8; cs as usize],
            cluster_index: None,
            out_pos: 0,
            pos_read: 0,
            header: h,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// What the check found.
    pub fn info(&self) -> &Qcow2Info {
        &self.info
    }

    /// Virtual disk size in bytes.
    pub fn virtual_size(&self) -> u64 {
        self.header.size
    }

    /// Bytes of the image read so far for the raw disk (after the check).
    pub fn position(&self) -> u64 {
        self.pos_read
    }

    fn load_cluster(&mut self, guest: u64) -> Result<()> {
        let h = &self.header;
        let cs = h.cluster_size();
        let per = h.l2_entries();
        let (region, idx) = (guest / per, (guest % per) as usize);
        let l1e = self.l1.get(region as usize).copied().unwrap_or(0) & OFFSET_MASK;
        self.cluster_index = Some(guest);
        if l1e == 0 {
            self.cluster.fill(0);
            return Ok(());
        }
        if self.l2.as_ref().is_none_or(|(r, _)| *r != region) {
            let mut raw = vec![0u8; cs as usize];
            read_at(&mut self.input, l1e, &mut raw, "l2 table")?;
            self.pos_read += cs;
            self.l2 = Some((region, be64s(&raw)));
        }
        let raw = self.l2.as_ref().map_or(0, |(_, t)| t[idx]);
        let at = l1e + idx as u64 * 8;
        match L2Entry::decode(raw, h.cluster_bits, h.version).map_err(|r| corrupt(at, r))? {
            L2Entry::Unallocated | L2Entry::Zero { .. } => self.cluster.fill(0),
            L2Entry::Data { offset } => {
                read_at(&mut self.input, offset, &mut self.cluster, "data cluster")?;
                self.pos_read += cs;
            }
            L2Entry::Compressed { offset, sectors } => {
                let (_, end) = compressed_span(offset, sectors);
                let end = end.min(self.info.file_size);
                self.cbuf.resize((end - offset) as usize, 0);
                read_at(
                    &mut self.input,
                    offset,
                    &mut self.cbuf,
                    "compressed cluster",
                )?;
                self.pos_read += end - offset;
                match self
                    .decompressor
                    .deflate_decompress(&self.cbuf, &mut self.cluster)
                {
                    Ok(n) if n as u64 == cs => {}
                    Ok(n) => {
                        return Err(corrupt(
                            offset,
                            format!("compressed cluster inflates to {n} bytes, not {cs}"),
                        ));
                    }
                    Err(e) => {
                        return Err(corrupt(
                            offset,
                            format!("compressed cluster does not inflate ({e})"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads raw disk bytes: like [`Read::read`] with this crate's error type.
    ///
    /// # Errors
    ///
    /// [`Error::DiskCorrupt`] for a cluster that does not inflate, [`Error::DiskTruncated`] or
    /// [`Error::DiskIo`] when the image cannot be read.
    pub fn read_raw(&mut self, out: &mut [u8]) -> Result<usize> {
        let size = self.header.size;
        if out.is_empty() || self.out_pos >= size {
            return Ok(0);
        }
        let cs = self.header.cluster_size();
        let guest = self.out_pos / cs;
        if self.cluster_index != Some(guest) {
            self.load_cluster(guest)?;
        }
        let from = (self.out_pos % cs) as usize;
        let n = (cs as usize - from)
            .min(out.len())
            .min((size - self.out_pos) as usize);
        out[..n].copy_from_slice(&self.cluster[from..from + n]);
        self.out_pos += n as u64;
        Ok(n)
    }

    /// Copies the whole virtual disk into `out`.
    ///
    /// # Errors
    ///
    /// As [`read_raw`](Self::read_raw), plus [`Error::DiskIo`] when writing fails.
    pub fn copy_to<W: Write>(self, out: W) -> Result<Qcow2Info> {
        self.copy_to_progress(out, &mut no_progress)
    }

    /// [`copy_to`](Self::copy_to) with a [`Progress`] callback, called after each MiB of raw
    /// disk written with the bytes of image read for it.
    ///
    /// # Errors
    ///
    /// As [`copy_to`](Self::copy_to), and [`Error::Cancelled`] when `progress` stops it.
    pub fn copy_to_progress<W: Write>(
        mut self,
        mut out: W,
        progress: Progress<'_>,
    ) -> Result<Qcow2Info> {
        crate::progress::copy_raw(
            |b| {
                let n = self.read_raw(b)?;
                Ok((n, self.pos_read))
            },
            &mut out,
            progress,
            |source| Error::DiskIo {
                op: "writing the raw disk",
                source,
            },
        )?;
        Ok(self.info)
    }
}

impl<R: Read + Seek> Read for Qcow2Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.read_raw(buf).map_err(crate::disk::into_io_error)
    }
}
