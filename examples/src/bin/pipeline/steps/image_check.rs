//! The in-flight check of a QCOW2 or VHD export, as the OVA manifest check is for an OVA: the
//! structure is checked while the bytes stream past, with no seek and no copy kept.
//!
//! [`StreamCheck`] is sans-IO: [`StreamCheck::feed`] takes the stream's chunks in order and
//! [`StreamCheck::finish`] gives the verdict at its end. It parses the header with ova-core's
//! layout types (QCOW2: magic, version, features, virtual size; VHD: the footer copy at the
//! front, its checksum, the dynamic header and the trailing footer), keeps only the tables it
//! still has to see (QCOW2: the L1 table, every L2 table and the refcount table; VHD: the
//! BAT) and checks every offset they hold against where the stream really ends. A table placed
//! before a structure that names it (allowed, but no writer does it) cannot be seen in one
//! pass: it is listed in the summary, and `verify` reads the stored object back through
//! ova-core's reader, which checks everything including refcounts.

use std::collections::BTreeMap;
use std::io::Read;

use ova_core::disk::qcow2::layout::{self as ql, Header, L2Entry};
use ova_core::disk::vhd::layout::{self as vl, DynamicHeader, Footer};

use crate::config::Config;
use crate::hypervisor::ImageFormat;
use crate::state::State;

/// What the export must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expect {
    /// QCOW2 or VHD.
    pub(crate) format: ImageFormat,
    /// The virtual size prepared (and registered), when known.
    pub(crate) virtual_size: Option<u64>,
}

/// What `transfer` checks the export against: `None` for an OVA (its manifest is the check).
/// The format is the one CloudStack lists for the template (recorded by `export`), else the
/// hypervisor's; the virtual size is the prepared image's when it has that format.
pub(crate) fn expectation(cfg: &Config, state: &State) -> Option<Expect> {
    let format = state
        .export
        .as_ref()
        .and_then(|e| e.output.format)
        .unwrap_or_else(|| cfg.format());
    if format == ImageFormat::Ova {
        return None;
    }
    let virtual_size = state
        .prepare
        .as_ref()
        .filter(|p| p.output.format == format)
        .and_then(|p| p.output.virtual_size);
    Some(Expect {
        format,
        virtual_size,
    })
}

/// The verdict of the in-flight check the tee runs: an OVA's manifest or an image's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InFlight {
    /// An OVA: the manifest entries whose digest matched (`None`: it has no manifest).
    Manifest(Option<usize>),
    /// A QCOW2 or VHD image.
    Image(Checked),
}

/// What the in-flight check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    /// The format read.
    pub(crate) format: ImageFormat,
    /// The virtual size its header gives.
    pub(crate) virtual_size: u64,
    /// Bytes seen.
    pub(crate) bytes: u64,
    /// One line: what was checked.
    pub(crate) summary: String,
}

/// A table still to come.
#[derive(Debug)]
enum Table {
    L1,
    L2(u64),
    Refcounts,
    DynamicHeader,
    Bat,
}

#[derive(Debug)]
struct Capture {
    table: Table,
    len: usize,
    buf: Vec<u8>,
}

/// Bytes kept from the start of the stream for the header.
const HEAD: usize = 4096;
/// Tables waiting for their bytes at once, at most: a 64 TiB QCOW2 with 64 KiB clusters has
/// 131072 L2 tables; a hostile L1 table must not make the checker hold millions.
const MAX_PENDING: usize = 1 << 20;

/// The sans-IO in-flight checker.
#[derive(Debug)]
pub(crate) struct StreamCheck {
    expect: Expect,
    pos: u64,
    /// Bytes handed to [`StreamCheck::capture`] so far.
    seen: u64,
    head: Vec<u8>,
    started: bool,
    qcow: Option<Header>,
    vhd_front: Option<Footer>,
    vhd_dynamic: Option<DynamicHeader>,
    pending: BTreeMap<u64, Capture>,
    tail: Vec<u8>,
    /// The furthest byte any table references, and what references it.
    reach: (u64, String),
    /// The furthest byte compressed QCOW2 data reaches (may end inside a last partial sector).
    packed_reach: u64,
    tables: u64,
    entries: u64,
    unseen: Vec<String>,
}

impl StreamCheck {
    /// A checker for `expect`.
    pub(crate) fn new(expect: Expect) -> Self {
        Self {
            expect,
            pos: 0,
            seen: 0,
            head: Vec::new(),
            started: false,
            qcow: None,
            vhd_front: None,
            vhd_dynamic: None,
            pending: BTreeMap::new(),
            tail: Vec::new(),
            reach: (0, String::new()),
            packed_reach: 0,
            tables: 0,
            entries: 0,
            unseen: Vec::new(),
        }
    }

    /// Take the next chunk of the stream.
    ///
    /// # Errors
    ///
    /// What is wrong with the image, as soon as it shows.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<(), String> {
        let start = self.pos;
        if self.head.len() < HEAD {
            let n = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..n]);
        }
        self.pos += chunk.len() as u64;
        if !self.started && self.head.len() >= HEAD {
            self.start()?;
        }
        if self.started {
            self.capture(start, chunk)?;
        }
        self.seen = self.pos;
        // The last 512 bytes, for the trailing footer.
        if chunk.len() >= 512 {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - 512..]);
        } else {
            self.tail.extend_from_slice(chunk);
            let excess = self.tail.len().saturating_sub(512);
            self.tail.drain(..excess);
        }
        Ok(())
    }

    /// Parse the header from the bytes kept and plan the tables to catch.
    fn start(&mut self) -> Result<(), String> {
        self.started = true;
        let found = ImageFormat::sniff(&self.head, &[]);
        match self.expect.format {
            ImageFormat::Qcow2 => {
                if found != Some(ImageFormat::Qcow2) {
                    return Err(not_the_format(self.expect.format, found));
                }
                self.start_qcow2()?;
            }
            ImageFormat::Vhd => match found {
                Some(ImageFormat::Vhd) => self.start_vhd()?,
                // A fixed VHD has its only footer at the end: judged in `finish`.
                None => {}
                other => return Err(not_the_format(self.expect.format, other)),
            },
            ImageFormat::Ova => return Err("an OVA is checked against its manifest".into()),
        }
        Ok(())
    }

    fn check_size(&self, size: u64, what: &str) -> Result<(), String> {
        match self.expect.virtual_size {
            Some(want) if want != size => Err(format!(
                "the {what} gives a virtual size of {size} bytes, the prepared image has {want}"
            )),
            _ => Ok(()),
        }
    }

    fn start_qcow2(&mut self) -> Result<(), String> {
        let h = Header::parse(&self.head).map_err(|e| format!("the QCOW2 header: {e}"))?;
        if h.incompatible_features & ql::INCOMPAT_CORRUPT != 0 {
            return Err("the QCOW2 image is marked corrupt (its corrupt bit is set)".into());
        }
        self.check_size(h.size, "QCOW2 header")?;
        if u64::from(h.l1_size) < h.l1_needed() {
            return Err(format!(
                "the L1 table has {} entries, a virtual size of {} bytes needs {}",
                h.l1_size,
                h.size,
                h.l1_needed()
            ));
        }
        let l1 = u64::from(h.l1_size) * 8;
        let reftable = u64::from(h.refcount_table_clusters) * h.cluster_size();
        if l1 > ql::MAX_L1_BYTES || reftable > ql::MAX_REFTABLE_BYTES {
            return Err(format!(
                "the L1 table ({l1} bytes) or refcount table ({reftable} bytes) is larger than \
                 qemu allows"
            ));
        }
        if h.l1_size > 0 {
            self.want(h.l1_table_offset, l1, Table::L1, "the L1 table")?;
        }
        self.want(
            h.refcount_table_offset,
            reftable,
            Table::Refcounts,
            "the refcount table",
        )?;
        self.qcow = Some(h);
        Ok(())
    }

    fn start_vhd(&mut self) -> Result<(), String> {
        let (f, ok) = Footer::parse(&self.head).map_err(|e| format!("the VHD footer copy: {e}"))?;
        if !ok {
            return Err("the VHD footer copy at the start has a wrong checksum".into());
        }
        self.check_size(f.current_size, "VHD footer")?;
        match f.disk_type {
            vl::TYPE_DYNAMIC => {
                self.want(
                    f.data_offset,
                    1024,
                    Table::DynamicHeader,
                    "the dynamic disk header",
                )?;
            }
            vl::TYPE_DIFFERENCING => {
                return Err("the VHD is a differencing disk: a template must stand alone".into());
            }
            t => {
                return Err(format!(
                    "the VHD starts with a footer copy but its disk type is {t}, not dynamic (3)"
                ));
            }
        }
        self.vhd_front = Some(f);
        Ok(())
    }

    /// Ask for `len` bytes at `offset`, the table `table`.
    fn want(&mut self, offset: u64, len: u64, table: Table, what: &str) -> Result<(), String> {
        if len == 0 {
            return Ok(());
        }
        self.reference(offset.saturating_add(len), what);
        let kept = self.head.len() as u64;
        if offset < self.seen && offset.saturating_add(len) > kept {
            // Bytes already streamed past (and not kept): one pass cannot read them.
            self.unseen.push(format!("{what} at {offset:#x}"));
            return Ok(());
        }
        let Ok(len) = usize::try_from(len) else {
            return Err(format!("{what} of {len} bytes is too large"));
        };
        if self.pending.contains_key(&offset) {
            return Err(format!("{what} at {offset:#x} overlaps another table"));
        }
        if self.pending.len() >= MAX_PENDING {
            return Err(format!(
                "more than {MAX_PENDING} tables wait further down the stream: not a plausible \
                 image"
            ));
        }
        // The buffer is allocated when its bytes arrive, so waiting tables cost little.
        self.pending.insert(
            offset,
            Capture {
                table,
                len,
                buf: Vec::new(),
            },
        );
        if offset < kept {
            let head = self.head.clone();
            self.capture(0, &head)?;
        }
        Ok(())
    }

    fn reference(&mut self, end: u64, what: &str) {
        if end > self.reach.0 {
            self.reach = (end, what.to_owned());
        }
    }

    /// Copy the bytes of `chunk` (at `start`) into the tables waiting for them; check each
    /// table as it completes.
    fn capture(&mut self, start: u64, chunk: &[u8]) -> Result<(), String> {
        let end = start + chunk.len() as u64;
        loop {
            let mut complete = None;
            for (&offset, cap) in self.pending.range_mut(..end) {
                let have = offset + cap.buf.len() as u64;
                if have >= end {
                    continue;
                }
                if have < start {
                    return Err(format!("the table at {offset:#x} was streamed past"));
                }
                let from = (have - start) as usize;
                let n = (cap.len - cap.buf.len()).min(chunk.len() - from);
                if cap.buf.is_empty() {
                    cap.buf.reserve_exact(cap.len.min(1 << 20));
                }
                cap.buf.extend_from_slice(&chunk[from..from + n]);
                if cap.buf.len() == cap.len {
                    complete = Some(offset);
                    break;
                }
            }
            let Some(offset) = complete else {
                return Ok(());
            };
            if let Some(c) = self.pending.remove(&offset) {
                self.tables += 1;
                self.table(offset, c.table, &c.buf)?;
            }
        }
    }

    fn table(&mut self, offset: u64, table: Table, buf: &[u8]) -> Result<(), String> {
        let be64 = |c: &[u8]| u64::from_be_bytes(c.try_into().unwrap_or([0; 8]));
        match table {
            Table::L1 => {
                let cs = self.qcow.as_ref().map_or(1 << 16, Header::cluster_size);
                for (i, raw) in buf.chunks_exact(8).map(be64).enumerate() {
                    self.entries += 1;
                    if raw & ql::L1_RESERVED != 0 {
                        return Err(format!("L1 entry {i} ({raw:#018x}) has reserved bits set"));
                    }
                    let l2 = raw & ql::OFFSET_MASK;
                    if l2 == 0 {
                        continue;
                    }
                    if !l2.is_multiple_of(cs) {
                        return Err(format!(
                            "L1 entry {i}: L2 table offset {l2:#x} is not cluster-aligned"
                        ));
                    }
                    self.want(l2, cs, Table::L2(i as u64), &format!("L2 table {i}"))?;
                }
            }
            Table::L2(i) => {
                let Some(h) = self.qcow.clone() else {
                    return Ok(());
                };
                let cs = h.cluster_size();
                for (j, raw) in buf.chunks_exact(8).map(be64).enumerate() {
                    self.entries += 1;
                    let what = || format!("L2 table {i} entry {j}");
                    match L2Entry::decode(raw, h.cluster_bits, h.version)
                        .map_err(|e| format!("{}: {e}", what()))?
                    {
                        L2Entry::Data { offset } | L2Entry::Zero { offset } if offset != 0 => {
                            self.reference(offset + cs, &what());
                        }
                        L2Entry::Compressed { offset, sectors } => {
                            let (_, end) = ql::compressed_span(offset, sectors);
                            self.packed_reach = self.packed_reach.max(end);
                        }
                        _ => {}
                    }
                }
            }
            Table::Refcounts => {
                let cs = self.qcow.as_ref().map_or(1 << 16, Header::cluster_size);
                for (i, raw) in buf.chunks_exact(8).map(be64).enumerate() {
                    let block = raw & !0x1ff;
                    if raw & 0x1ff != 0 || !block.is_multiple_of(cs) {
                        return Err(format!(
                            "refcount table entry {i} ({raw:#x}) is not a cluster-aligned offset"
                        ));
                    }
                    if block != 0 {
                        self.reference(block + cs, &format!("refcount block {i}"));
                    }
                }
            }
            Table::DynamicHeader => {
                let (d, ok) = DynamicHeader::parse(buf)
                    .map_err(|e| format!("the VHD dynamic header at {offset:#x}: {e}"))?;
                if !ok {
                    return Err("the VHD dynamic header has a wrong checksum".into());
                }
                let size = self.vhd_front.as_ref().map_or(0, |f| f.current_size);
                let needed = size.div_ceil(u64::from(d.block_size));
                if u64::from(d.max_table_entries) < needed {
                    return Err(format!(
                        "the BAT has {} entries, a virtual size of {size} bytes needs {needed}",
                        d.max_table_entries
                    ));
                }
                let bat = u64::from(d.max_table_entries) * 4;
                if bat > 64 << 20 {
                    return Err(format!("the BAT of {bat} bytes is implausibly large"));
                }
                self.vhd_dynamic = Some(d.clone());
                self.want(d.table_offset, bat, Table::Bat, "the BAT")?;
            }
            Table::Bat => {
                let Some(d) = self.vhd_dynamic.clone() else {
                    return Ok(());
                };
                let span = d.bitmap_bytes() + u64::from(d.block_size);
                for (i, c) in buf.chunks_exact(4).enumerate() {
                    self.entries += 1;
                    let sector = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
                    if sector != vl::UNALLOCATED {
                        let at = u64::from(sector) * vl::SECTOR;
                        // the trailing footer follows the last block
                        self.reference(at + span + vl::SECTOR, &format!("BAT entry {i}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The verdict once the stream ended.
    ///
    /// # Errors
    ///
    /// What is wrong: a truncated stream, a table pointing past its end, a bad trailing
    /// footer.
    pub(crate) fn finish(mut self) -> Result<Checked, String> {
        if !self.started {
            self.start()?;
        }
        let total = self.pos;
        if self.reach.0 > total {
            return Err(format!(
                "{} reaches byte {} but the stream ended at byte {total}: truncated",
                self.reach.1, self.reach.0
            ));
        }
        if let Some((offset, c)) = self.pending.iter().next() {
            return Err(format!(
                "the stream ended at byte {total}, before the table at {offset:#x} \
                 ({} of {} bytes seen): truncated",
                c.buf.len(),
                c.len
            ));
        }
        let (virtual_size, summary) = match self.expect.format {
            ImageFormat::Qcow2 => {
                let h = self.qcow.take().ok_or("no QCOW2 header")?;
                if self.packed_reach > total.next_multiple_of(512) {
                    return Err(format!(
                        "compressed data reaches byte {} but the stream ended at byte {total}: \
                         truncated",
                        self.packed_reach
                    ));
                }
                (
                    h.size,
                    format!(
                        "QCOW2 v{}, virtual size {} bytes, {} KiB clusters; header, L1, {} L2 \
                         and refcount tables checked in flight",
                        h.version,
                        h.size,
                        h.cluster_size() >> 10,
                        self.tables.saturating_sub(2)
                    ),
                )
            }
            _ => self.finish_vhd(total)?,
        };
        let mut summary = summary;
        if !self.unseen.is_empty() {
            summary.push_str(&format!(
                " ({} placed before the structure naming it, left to verify's read-back)",
                self.unseen.join(", ")
            ));
        }
        Ok(Checked {
            format: self.expect.format,
            virtual_size,
            bytes: total,
            summary,
        })
    }

    fn finish_vhd(&self, total: u64) -> Result<(u64, String), String> {
        if self.tail.len() < 512 {
            return Err(format!(
                "the stream of {total} bytes is too short for a VHD footer"
            ));
        }
        let (end, ok) = Footer::parse(&self.tail)
            .map_err(|_| "the VHD has no footer in its last 512 bytes: truncated".to_owned())?;
        if !ok {
            return Err("the VHD footer at the end has a wrong checksum".into());
        }
        match &self.vhd_front {
            Some(front) => {
                if (front.current_size, front.disk_type, front.uuid)
                    != (end.current_size, end.disk_type, end.uuid)
                {
                    return Err(
                        "the VHD footer at the end differs from its copy at the start".into(),
                    );
                }
                let d = self.vhd_dynamic.as_ref().ok_or("no VHD dynamic header")?;
                Ok((
                    end.current_size,
                    format!(
                        "dynamic VHD, virtual size {} bytes, {} KiB blocks; footers, dynamic \
                         header and BAT ({} entries) checked in flight",
                        end.current_size,
                        d.block_size >> 10,
                        d.max_table_entries
                    ),
                ))
            }
            None => {
                if end.disk_type != vl::TYPE_FIXED {
                    return Err(format!(
                        "the VHD's only footer is at the end but its disk type is {}, not fixed (2)",
                        end.disk_type
                    ));
                }
                self.check_size(end.current_size, "VHD footer")?;
                if total != end.current_size + 512 {
                    return Err(format!(
                        "the fixed VHD is {total} bytes, its footer says {} bytes of disk plus 512",
                        end.current_size
                    ));
                }
                Ok((
                    end.current_size,
                    format!(
                        "fixed VHD, virtual size {} bytes; footer checked",
                        end.current_size
                    ),
                ))
            }
        }
    }
}

fn not_the_format(want: ImageFormat, found: Option<ImageFormat>) -> String {
    let found = match found {
        Some(f) => f.a_file(),
        None => "neither an OVA, a QCOW2 nor a VHD".to_owned(),
    };
    format!(
        "the export is {found}, not the {want} image hypervisor {} takes",
        want.hypervisor()
    )
}

/// Run the in-flight check over a reader (the tee's verifier side).
///
/// # Errors
///
/// What is wrong with the image, or the read error.
pub(crate) fn check_stream(reader: &mut impl Read, expect: Expect) -> Result<Checked, String> {
    let mut check = StreamCheck::new(expect);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| format!("reading the export: {e}"))?;
        if n == 0 {
            return check.finish();
        }
        check.feed(&buf[..n])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ova_core::disk::qcow2::Qcow2Writer;
    use ova_core::disk::vhd::VhdWriter;

    const SIZE: u64 = 3 << 20;

    fn raw() -> Vec<u8> {
        let mut d = vec![0u8; SIZE as usize];
        for (i, b) in d.iter_mut().enumerate().take(1 << 20) {
            *b = (i % 251) as u8;
        }
        d[(2 << 20) + 7] = 9;
        d
    }

    fn qcow2(compress: bool) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        Qcow2Writer::new()
            .with_compression(compress)
            .write(&raw()[..], SIZE, &mut out)
            .unwrap();
        out.into_inner()
    }

    fn vhd() -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        VhdWriter::new().write(&raw()[..], SIZE, &mut out).unwrap();
        out.into_inner()
    }

    fn expect(format: ImageFormat, size: Option<u64>) -> Expect {
        Expect {
            format,
            virtual_size: size,
        }
    }

    fn run(bytes: &[u8], e: Expect, chunk: usize) -> Result<Checked, String> {
        let mut c = StreamCheck::new(e);
        for part in bytes.chunks(chunk.max(1)) {
            c.feed(part)?;
        }
        c.finish()
    }

    #[test]
    fn good_images_pass_in_any_chunking() {
        for (bytes, format) in [
            (qcow2(false), ImageFormat::Qcow2),
            (qcow2(true), ImageFormat::Qcow2),
            (vhd(), ImageFormat::Vhd),
        ] {
            let vs = if format == ImageFormat::Vhd {
                ova_core::disk::vhd::layout::size_for(SIZE).unwrap().0 * 512
            } else {
                SIZE
            };
            for chunk in [1, 7, 511, 4096, 65_536, 1 << 22] {
                let got = run(&bytes, expect(format, Some(vs)), chunk)
                    .unwrap_or_else(|e| panic!("{format} in {chunk}-byte chunks: {e}"));
                assert_eq!(got.virtual_size, vs);
                assert_eq!(got.bytes, bytes.len() as u64);
                assert!(
                    !got.summary.contains("verify's read-back"),
                    "{}",
                    got.summary
                );
            }
        }
    }

    #[test]
    fn a_wrong_virtual_size_or_format_is_named() {
        let q = qcow2(false);
        let err = run(&q, expect(ImageFormat::Qcow2, Some(SIZE + 512)), 4096).unwrap_err();
        assert!(err.contains("virtual size of 3145728 bytes"), "{err}");
        let err = run(&q, expect(ImageFormat::Vhd, None), 4096).unwrap_err();
        assert_eq!(
            err,
            "the export is a QCOW2 file, not the VHD image hypervisor XenServer takes"
        );
        let err = run(&vhd(), expect(ImageFormat::Qcow2, None), 4096).unwrap_err();
        assert!(
            err.contains("is a VHD file, not the QCOW2 image hypervisor KVM"),
            "{err}"
        );
        let err = run(&[b'x'; 9000], expect(ImageFormat::Qcow2, None), 4096).unwrap_err();
        assert!(err.contains("neither an OVA, a QCOW2 nor a VHD"), "{err}");
        // Short junk: an answer, never a panic.
        for n in 0..600 {
            assert!(run(&q[..n], expect(ImageFormat::Qcow2, None), 64).is_err());
            assert!(run(&vhd()[..n], expect(ImageFormat::Vhd, None), 64).is_err());
        }
    }

    #[test]
    fn truncation_is_caught_wherever_the_stream_stops() {
        for bytes in [qcow2(false), qcow2(true)] {
            for cut in [bytes.len() - 1, bytes.len() - 70_000, 70_000, 5000] {
                let err = run(&bytes[..cut], expect(ImageFormat::Qcow2, None), 4096).unwrap_err();
                assert!(err.contains("truncated"), "cut {cut}: {err}");
            }
        }
        let v = vhd();
        for cut in [v.len() - 1, v.len() - 512, 3000] {
            assert!(
                run(&v[..cut], expect(ImageFormat::Vhd, None), 4096).is_err(),
                "{cut}"
            );
        }
    }

    #[test]
    fn damaged_tables_and_checksums_are_refused() {
        let q = qcow2(false);
        let h = Header::parse(&q).unwrap();
        let mut bad = q.clone();
        let l1 = h.l1_table_offset as usize;
        bad[l1..l1 + 8].copy_from_slice(&((1u64 << 40) | ql::COPIED).to_be_bytes());
        let err = run(&bad, expect(ImageFormat::Qcow2, None), 4096).unwrap_err();
        assert!(err.contains("L2 table 0 reaches byte"), "{err}");
        let mut bad = q.clone();
        bad[l1 + 7] |= 1; // a reserved bit
        let err = run(&bad, expect(ImageFormat::Qcow2, None), 4096).unwrap_err();
        assert!(err.contains("reserved bits"), "{err}");

        let v = vhd();
        let mut bad = v.clone();
        bad[50] ^= 1;
        let err = run(&bad, expect(ImageFormat::Vhd, None), 4096).unwrap_err();
        assert!(err.contains("wrong checksum"), "{err}");
        let mut bad = v.clone();
        let n = bad.len();
        bad[n - 512 + 70] ^= 1; // the uuid of the trailing footer, checksum fixed
        let sum = vl::checksum(&bad[n - 512..], 64);
        bad[n - 512 + 64..n - 512 + 68].copy_from_slice(&sum.to_be_bytes());
        let err = run(&bad, expect(ImageFormat::Vhd, None), 4096).unwrap_err();
        assert!(err.contains("differs from its copy"), "{err}");
    }

    #[test]
    fn a_fixed_vhd_is_judged_by_its_trailing_footer() {
        let v = vhd();
        let (front, _) = Footer::parse(&v).unwrap();
        let fixed = Footer {
            disk_type: vl::TYPE_FIXED,
            data_offset: u64::MAX,
            ..front
        };
        let mut bytes = vec![0u8; fixed.current_size as usize];
        bytes.extend_from_slice(&fixed.to_bytes());
        let got = run(
            &bytes,
            expect(ImageFormat::Vhd, Some(fixed.current_size)),
            65_536,
        )
        .unwrap();
        assert!(got.summary.starts_with("fixed VHD"), "{}", got.summary);
        bytes.insert(0, 0);
        assert!(run(&bytes, expect(ImageFormat::Vhd, None), 65_536).is_err());
    }

    fn images() -> &'static [(Vec<u8>, ImageFormat)] {
        static IMAGES: std::sync::OnceLock<Vec<(Vec<u8>, ImageFormat)>> =
            std::sync::OnceLock::new();
        IMAGES.get_or_init(|| {
            vec![
                (qcow2(false), ImageFormat::Qcow2),
                (qcow2(true), ImageFormat::Qcow2),
                (vhd(), ImageFormat::Vhd),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn any_chunking_gives_the_same_verdict(
            which in 0usize..3,
            sizes in proptest::collection::vec(1usize..100_000, 1..64),
        ) {
            let (bytes, format) = &images()[which];
            let mut c = StreamCheck::new(expect(*format, None));
            let mut at = 0;
            let mut i = 0;
            while at < bytes.len() {
                let n = sizes[i % sizes.len()].min(bytes.len() - at);
                c.feed(&bytes[at..at + n]).unwrap();
                at += n;
                i += 1;
            }
            let whole = run(bytes, expect(*format, None), bytes.len()).unwrap();
            proptest::prop_assert_eq!(c.finish().unwrap(), whole);
        }

        #[test]
        fn damaged_images_get_an_answer_never_a_panic(
            which in 0usize..3,
            flips in proptest::collection::vec((0usize..200_000, proptest::prelude::any::<u8>()), 1..8),
            cut in proptest::option::of(0usize..4_000_000),
            chunk in 1usize..70_000,
        ) {
            let (bytes, format) = &images()[which];
            let mut bad = bytes.clone();
            for (at, x) in flips {
                let at = at % bad.len();
                bad[at] ^= x;
            }
            if let Some(n) = cut {
                bad.truncate(n % (bad.len() + 1));
            }
            let _ = run(&bad, expect(*format, None), chunk);
        }
    }
}
