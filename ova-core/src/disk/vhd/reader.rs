//! VHD (fixed or dynamic) → raw disk bytes, after checking the footer, header and BAT.

use std::io::{Read, Seek, SeekFrom, Write};

use super::layout::{
    DynamicHeader, Footer, SECTOR, TYPE_DIFFERENCING, TYPE_DYNAMIC, TYPE_FIXED, UNALLOCATED,
    geometry_sectors,
};
use crate::disk::pipeline::read_full;
use crate::progress::{Progress, no_progress};
use crate::{Error, Result};

const FORMAT: &str = "vhd";

fn corrupt(offset: u64, reason: impl Into<String>) -> Error {
    Error::DiskCorrupt {
        format: FORMAT,
        offset,
        reason: reason.into(),
    }
}

fn io_err(source: std::io::Error) -> Error {
    Error::DiskIo {
        op: "reading the vhd image",
        source,
    }
}

fn read_at<R: Read + Seek>(
    input: &mut R,
    offset: u64,
    buf: &mut [u8],
    inside: &'static str,
) -> Result<()> {
    input.seek(SeekFrom::Start(offset)).map_err(io_err)?;
    let got = read_full(input, buf).map_err(io_err)?;
    if got < buf.len() {
        return Err(Error::DiskTruncated {
            format: FORMAT,
            offset: offset + got as u64,
            inside,
        });
    }
    Ok(())
}

/// What [`VhdReader::new`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VhdInfo {
    /// File size in bytes.
    pub file_size: u64,
    /// `fixed` or `dynamic`.
    pub disk_type: &'static str,
    /// Virtual disk size in bytes (the footer's current size).
    pub virtual_size: u64,
    /// Cylinders, heads, sectors per track.
    pub geometry: (u16, u8, u8),
    /// Bytes the geometry describes (what Virtual PC, Hyper-V and qemu for most creators take
    /// as the size).
    pub geometry_size: u64,
    /// Block size in bytes (dynamic disks).
    pub block_size: Option<u32>,
    /// BAT entries (dynamic disks).
    pub bat_entries: Option<u32>,
    /// Blocks allocated (dynamic disks).
    pub blocks_allocated: Option<u64>,
    /// Creator application, as written (`qemu`, `tap`, `win`, `vpc`, `ovak`, ...).
    pub creator_app: String,
    /// Creator version.
    pub creator_version: u32,
    /// Creator host OS.
    pub creator_os: String,
    /// Unique id, as hex.
    pub uuid: String,
    /// Problems a consumer may trip over that do not stop reading.
    pub problems: Vec<String>,
}

/// Reads a fixed or dynamic VHD as the raw virtual disk (its current size), through [`Read`]
/// or [`copy_to`](Self::copy_to). Sectors a block's bitmap marks absent read as zeros.
///
/// [`new`](Self::new) checks the footer (the one at the end, else the copy at the front) and
/// its checksum, the dynamic header, and every BAT entry (inside the file, no overlap with
/// another block or the metadata) before the first byte is read. Differencing disks are refused
/// with [`Error::DiskUnsupported`].
pub struct VhdReader<R> {
    input: R,
    footer: Footer,
    info: VhdInfo,
    dynamic: Option<(DynamicHeader, Vec<u32>)>,
    block: Vec<u8>,
    bitmap: Vec<u8>,
    block_index: Option<u64>,
    out_pos: u64,
    pos_read: u64,
}

impl<R> std::fmt::Debug for VhdReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VhdReader")
            .field("footer", &self.footer)
            .field("out_pos", &self.out_pos)
            .finish_non_exhaustive()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_end_matches(['\0', ' '])
        .to_owned()
}

impl<R: Read + Seek> VhdReader<R> {
    /// Reads and checks the footer, header and BAT, and positions the reader at the start of
    /// the virtual disk.
    ///
    /// # Errors
    ///
    /// [`Error::DiskHeader`] when no valid footer is found, [`Error::DiskUnsupported`] for a
    /// differencing disk, [`Error::DiskCorrupt`] for a damaged header or BAT,
    /// [`Error::DiskTruncated`] or [`Error::DiskIo`].
    pub fn new(mut input: R) -> Result<Self> {
        let file_size = input.seek(SeekFrom::End(0)).map_err(io_err)?;
        let mut problems = Vec::new();
        let mut end = [0u8; 512];
        let mut front = [0u8; 512];
        let end_footer = if file_size >= 512 {
            read_at(&mut input, file_size - 512, &mut end, "footer")?;
            Footer::parse(&end).ok()
        } else {
            None
        };
        let front_footer = if file_size >= 512 {
            read_at(&mut input, 0, &mut front, "footer copy")?;
            Footer::parse(&front).ok()
        } else {
            None
        };
        let footer = match (end_footer, front_footer) {
            (Some((f, true)), _) => f,
            (end, Some((f, true))) if f.disk_type != TYPE_FIXED => {
                problems.push(if end.is_some() {
                    "the footer's checksum is wrong; its copy at the front was used".to_owned()
                } else {
                    "no footer at the end (truncated?); its copy at the front was used".to_owned()
                });
                f
            }
            (Some((f, false)), _) => {
                return Err(corrupt(
                    file_size - 512,
                    format!("footer checksum mismatch (stored {:#x})", f.checksum),
                ));
            }
            _ => {
                return Err(Error::DiskHeader {
                    format: FORMAT,
                    reason: if file_size < 512 {
                        "shorter than a footer: not a vhd image".into()
                    } else {
                        "no conectix footer: not a vhd image".into()
                    },
                });
            }
        };
        let size = footer.current_size;
        let mut info = VhdInfo {
            file_size,
            disk_type: "fixed",
            virtual_size: size,
            geometry: footer.geometry,
            geometry_size: geometry_sectors(footer.geometry) * SECTOR,
            block_size: None,
            bat_entries: None,
            blocks_allocated: None,
            creator_app: text(&footer.creator_app),
            creator_version: footer.creator_version,
            creator_os: text(&footer.creator_os),
            uuid: hex::encode(footer.uuid),
            problems,
        };
        if size > super::layout::MAX_SIZE.max(1 << 45) {
            return Err(corrupt(48, format!("current size {size} is too large")));
        }
        if info.geometry_size != size && info.geometry_size != 0 {
            info.problems.push(format!(
                "the geometry describes {} bytes, the current size is {size}: readers that use \
                 the geometry (Virtual PC, Hyper-V, qemu for some creators) see another size",
                info.geometry_size
            ));
        }
        let dynamic = match footer.disk_type {
            TYPE_FIXED => {
                if file_size < size.saturating_add(512) {
                    return Err(Error::DiskTruncated {
                        format: FORMAT,
                        offset: file_size,
                        inside: "fixed disk data",
                    });
                }
                None
            }
            TYPE_DYNAMIC => {
                let d = Self::dynamic(&mut input, &footer, file_size, &mut info)?;
                info.disk_type = "dynamic";
                Some(d)
            }
            TYPE_DIFFERENCING => {
                return Err(Error::DiskUnsupported {
                    format: FORMAT,
                    feature: "a parent disk (differencing vhd)".into(),
                    hint: "merge it into its parent first (vhd-util coalesce, or qemu-img convert)",
                });
            }
            t => return Err(corrupt(60, format!("unknown disk type {t}"))),
        };
        let (block, bitmap) = match &dynamic {
            Some((h, _)) => (
                vec![0u8; h.block_size as usize],
                vec![0u8; h.bitmap_bytes() as usize],
            ),
            None => (Vec::new(), Vec::new()),
        };
        input.seek(SeekFrom::Start(0)).map_err(io_err)?;
        Ok(Self {
            input,
            footer,
            info,
            dynamic,
            block,
            bitmap,
            block_index: None,
            out_pos: 0,
            pos_read: 0,
        })
    }

    fn dynamic(
        input: &mut R,
        footer: &Footer,
        file_size: u64,
        info: &mut VhdInfo,
    ) -> Result<(DynamicHeader, Vec<u32>)> {
        let at = footer.data_offset;
        if at.checked_add(1024).is_none_or(|e| e > file_size) {
            return Err(corrupt(
                16,
                format!("dynamic header offset {at} lies outside the file"),
            ));
        }
        let mut hb = [0u8; 1024];
        read_at(input, at, &mut hb, "dynamic header")?;
        let (h, ok) = DynamicHeader::parse(&hb)?;
        if !ok {
            return Err(corrupt(at + 36, "dynamic header checksum mismatch"));
        }
        let needed = footer.current_size.div_ceil(u64::from(h.block_size));
        if u64::from(h.max_table_entries) < needed {
            return Err(corrupt(
                at + 28,
                format!(
                    "the BAT has {} entries, the current size needs {needed}",
                    h.max_table_entries
                ),
            ));
        }
        let bat_bytes = u64::from(h.max_table_entries) * 4;
        if h.table_offset
            .checked_add(bat_bytes)
            .is_none_or(|e| e > file_size)
        {
            return Err(corrupt(at + 16, "the BAT lies outside the file"));
        }
        let mut raw = vec![0u8; bat_bytes as usize];
        read_at(input, h.table_offset, &mut raw, "block allocation table")?;
        let bat: Vec<u32> = raw
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let span = h.bitmap_bytes() + u64::from(h.block_size);
        let mut ranges = vec![
            (0, 512, "the footer copy".to_owned()),
            (at, at + 1024, "the dynamic header".to_owned()),
            (
                h.table_offset,
                h.table_offset + bat_bytes,
                "the BAT".to_owned(),
            ),
        ];
        let mut allocated = 0;
        for (i, &e) in bat.iter().enumerate() {
            if e == UNALLOCATED {
                continue;
            }
            if i as u64 >= needed {
                info.problems.push(format!(
                    "BAT entry {i} is allocated past the end of the disk"
                ));
                continue;
            }
            let start = u64::from(e) * SECTOR;
            if start + span > file_size {
                return Err(corrupt(
                    h.table_offset + i as u64 * 4,
                    format!("block {i} at {start} lies outside the file"),
                ));
            }
            allocated += 1;
            ranges.push((start, start + span, format!("block {i}")));
        }
        ranges.sort();
        for w in ranges.windows(2) {
            if w[1].0 < w[0].1 {
                return Err(corrupt(w[1].0, format!("{} overlaps {}", w[1].2, w[0].2)));
            }
        }
        info.block_size = Some(h.block_size);
        info.bat_entries = Some(h.max_table_entries);
        info.blocks_allocated = Some(allocated);
        Ok((h, bat))
    }

    /// The footer in use.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// What the check found.
    pub fn info(&self) -> &VhdInfo {
        &self.info
    }

    /// Virtual disk size in bytes.
    pub fn virtual_size(&self) -> u64 {
        self.footer.current_size
    }

    /// Bytes of the image read so far for the raw disk.
    pub fn position(&self) -> u64 {
        self.pos_read
    }

    fn load_block(&mut self, index: u64) -> Result<()> {
        let Some((h, bat)) = &self.dynamic else {
            return Ok(());
        };
        self.block_index = Some(index);
        let e = bat.get(index as usize).copied().unwrap_or(UNALLOCATED);
        if e == UNALLOCATED {
            self.block.fill(0);
            return Ok(());
        }
        let start = u64::from(e) * SECTOR;
        let bitmap_bytes = h.bitmap_bytes();
        read_at(&mut self.input, start, &mut self.bitmap, "sector bitmap")?;
        read_at(
            &mut self.input,
            start + bitmap_bytes,
            &mut self.block,
            "block",
        )?;
        self.pos_read += bitmap_bytes + self.block.len() as u64;
        for (s, sector) in self.block.chunks_mut(SECTOR as usize).enumerate() {
            if self.bitmap[s / 8] & (0x80 >> (s % 8)) == 0 {
                sector.fill(0);
            }
        }
        Ok(())
    }

    /// Reads raw disk bytes: like [`Read::read`] with this crate's error type.
    ///
    /// # Errors
    ///
    /// [`Error::DiskTruncated`] or [`Error::DiskIo`] when the image cannot be read.
    pub fn read_raw(&mut self, out: &mut [u8]) -> Result<usize> {
        let size = self.footer.current_size;
        if out.is_empty() || self.out_pos >= size {
            return Ok(0);
        }
        let left = (size - self.out_pos).min(out.len() as u64) as usize;
        let Some((h, _)) = &self.dynamic else {
            read_at(
                &mut self.input,
                self.out_pos,
                &mut out[..left],
                "fixed disk data",
            )?;
            self.out_pos += left as u64;
            self.pos_read += left as u64;
            return Ok(left);
        };
        let bs = u64::from(h.block_size);
        let index = self.out_pos / bs;
        if self.block_index != Some(index) {
            self.load_block(index)?;
        }
        let from = (self.out_pos % bs) as usize;
        let n = (bs as usize - from).min(left);
        out[..n].copy_from_slice(&self.block[from..from + n]);
        self.out_pos += n as u64;
        Ok(n)
    }

    /// Copies the whole virtual disk into `out`.
    ///
    /// # Errors
    ///
    /// As [`read_raw`](Self::read_raw), plus [`Error::DiskIo`] when writing fails.
    pub fn copy_to<W: Write>(self, out: W) -> Result<VhdInfo> {
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
    ) -> Result<VhdInfo> {
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

impl<R: Read + Seek> Read for VhdReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.read_raw(buf).map_err(crate::disk::into_io_error)
    }
}
