//! The on-disk layout of VHD images (Virtual Hard Disk Image Format Specification 1.0),
//! without any I/O: the footer, the dynamic disk header, the block allocation table, CHS
//! geometry and checksums, and [`VhdEncoder`], which lays out a dynamic VHD.
//!
//! A dynamic VHD written by [`VhdEncoder`] is laid out as `qemu-img convert -O vpc -o
//! subformat=dynamic` lays it out:
//!
//! ```text
//! 0          copy of the footer (512 bytes)
//! 512        dynamic disk header (1024 bytes)
//! 1536       block allocation table, one big-endian u32 sector number per 2 MiB block
//!            (0xffffffff: not allocated), padded to a sector
//! ...        allocated blocks in ascending order: a 512-byte sector bitmap (all ones),
//!            then the 2 MiB of data
//! end        the footer
//! ```
//!
//! The virtual size is rounded up to whole CHS cylinders as qemu does, so that every reader
//! agrees on it: Virtual PC and Hyper-V, and qemu for images from creators it does not know,
//! derive the size from the geometry; XenServer and others read the footer's current size.
//! Only sizes beyond the largest geometry (65535 × 16 × 255 sectors, about 127 GiB) keep
//! their exact size, with the geometry at its maximum, as qemu writes them.

use crate::{Error, Result};

/// Footer cookie.
pub const FOOTER_COOKIE: &[u8; 8] = b"conectix";
/// Dynamic header cookie.
pub const DYNAMIC_COOKIE: &[u8; 8] = b"cxsparse";
/// Bytes in one sector.
pub const SECTOR: u64 = 512;
/// The block size qemu, Hyper-V and XenServer use (2 MiB).
pub const DEFAULT_BLOCK_SIZE: u32 = 2 << 20;
/// BAT entry of an unallocated block.
pub const UNALLOCATED: u32 = u32::MAX;
/// Disk type: fixed.
pub const TYPE_FIXED: u32 = 2;
/// Disk type: dynamic.
pub const TYPE_DYNAMIC: u32 = 3;
/// Disk type: differencing.
pub const TYPE_DIFFERENCING: u32 = 4;
/// The most sectors a CHS geometry can describe.
pub const MAX_GEOMETRY_SECTORS: u64 = 65_535 * 16 * 255;
/// The largest virtual size written (2040 GiB, qemu's limit: the BAT holds 32-bit sector
/// numbers).
pub const MAX_SIZE: u64 = 0xff00_0000 * SECTOR;
/// Seconds from the Unix epoch to the VHD epoch (2000-01-01 00:00:00 UTC).
pub const VHD_EPOCH: u64 = 946_684_800;
/// Largest block size read (32 MiB; every producer uses 2 MiB or less): bounds every
/// allocation.
pub const MAX_BLOCK_SIZE: u32 = 32 << 20;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// The one's complement of the byte sum, with the checksum field (4 bytes at `field`) counted
/// as zeros.
pub fn checksum(bytes: &[u8], field: usize) -> u32 {
    let sum = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| !(field..field + 4).contains(i))
        .fold(0u32, |s, (_, &b)| s.wrapping_add(u32::from(b)));
    !sum
}

/// `(cylinders, heads, sectors per track)` for `total_sectors`, the specification's
/// algorithm (capped at the largest geometry).
pub fn geometry(total_sectors: u64) -> (u16, u8, u8) {
    let total = total_sectors.min(MAX_GEOMETRY_SECTORS);
    let (spt, heads, cth);
    if total >= 65_535 * 16 * 63 {
        spt = 255;
        heads = 16;
        cth = total / spt;
    } else {
        let mut s = 17;
        let mut c = total / s;
        let mut h = c.div_ceil(1024).max(4);
        if c >= h * 1024 || h > 16 {
            s = 31;
            h = 16;
            c = total / s;
        }
        if c >= h * 1024 {
            s = 63;
            h = 16;
            c = total / s;
        }
        spt = s;
        heads = h;
        cth = c;
    }
    ((cth / heads) as u16, heads as u8, spt as u8)
}

/// Sectors a geometry describes.
pub fn geometry_sectors((c, h, s): (u16, u8, u8)) -> u64 {
    u64::from(c) * u64::from(h) * u64::from(s)
}

/// The virtual size in sectors and geometry qemu gives an image made from `size` bytes: the
/// smallest CHS geometry holding it, or the exact size with the largest geometry beyond it.
///
/// # Errors
///
/// [`Error::DiskHeader`] for 0 bytes or more than [`MAX_SIZE`].
pub fn size_for(size: u64) -> Result<(u64, (u16, u8, u8))> {
    if size == 0 || size > MAX_SIZE {
        return Err(Error::DiskHeader {
            format: "vhd",
            reason: format!("cannot write a virtual size of {size} bytes (1 to {MAX_SIZE})"),
        });
    }
    let wanted = size.div_ceil(SECTOR);
    if wanted >= MAX_GEOMETRY_SECTORS {
        return Ok((wanted, geometry(MAX_GEOMETRY_SECTORS)));
    }
    let mut total = wanted;
    loop {
        let g = geometry(total);
        if geometry_sectors(g) >= wanted {
            return Ok((geometry_sectors(g), g));
        }
        total += 1;
    }
}

/// The 512-byte footer (also written at the start of a dynamic disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    /// Features (bit 1 is always set).
    pub features: u32,
    /// File format version (0x00010000).
    pub version: u32,
    /// Offset of the dynamic header (`u64::MAX` for a fixed disk).
    pub data_offset: u64,
    /// Creation time, seconds since 2000-01-01 UTC.
    pub timestamp: u32,
    /// Creator application (`qemu`, `tap\0`, `win `, `vpc `, ...).
    pub creator_app: [u8; 4],
    /// Creator version.
    pub creator_version: u32,
    /// Creator host OS (`Wi2k`, `Mac `).
    pub creator_os: [u8; 4],
    /// Size at creation, bytes.
    pub original_size: u64,
    /// Current virtual size, bytes.
    pub current_size: u64,
    /// Cylinders, heads, sectors per track.
    pub geometry: (u16, u8, u8),
    /// `TYPE_FIXED`, `TYPE_DYNAMIC` or `TYPE_DIFFERENCING`.
    pub disk_type: u32,
    /// The checksum stored.
    pub checksum: u32,
    /// Unique id.
    pub uuid: [u8; 16],
    /// Saved-state flag.
    pub saved_state: u8,
}

impl Footer {
    /// Parses a footer; `checksum_ok` says whether its checksum matches.
    ///
    /// # Errors
    ///
    /// [`Error::DiskHeader`] when the cookie is missing.
    pub fn parse(b: &[u8]) -> Result<(Self, bool)> {
        if b.len() < 512 || &b[..8] != FOOTER_COOKIE {
            return Err(Error::DiskHeader {
                format: "vhd",
                reason: "no conectix footer: not a vhd image".into(),
            });
        }
        let mut app = [0u8; 4];
        app.copy_from_slice(&b[28..32]);
        let mut os = [0u8; 4];
        os.copy_from_slice(&b[36..40]);
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&b[68..84]);
        let f = Self {
            features: be32(b, 8),
            version: be32(b, 12),
            data_offset: be64(b, 16),
            timestamp: be32(b, 24),
            creator_app: app,
            creator_version: be32(b, 32),
            creator_os: os,
            original_size: be64(b, 40),
            current_size: be64(b, 48),
            geometry: (u16::from_be_bytes([b[56], b[57]]), b[58], b[59]),
            disk_type: be32(b, 60),
            checksum: be32(b, 64),
            uuid,
            saved_state: b[84],
        };
        let ok = checksum(&b[..512], 64) == f.checksum;
        Ok((f, ok))
    }

    /// The 512-byte encoding, with its checksum computed.
    pub fn to_bytes(&self) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[..8].copy_from_slice(FOOTER_COOKIE);
        b[8..12].copy_from_slice(&self.features.to_be_bytes());
        b[12..16].copy_from_slice(&self.version.to_be_bytes());
        b[16..24].copy_from_slice(&self.data_offset.to_be_bytes());
        b[24..28].copy_from_slice(&self.timestamp.to_be_bytes());
        b[28..32].copy_from_slice(&self.creator_app);
        b[32..36].copy_from_slice(&self.creator_version.to_be_bytes());
        b[36..40].copy_from_slice(&self.creator_os);
        b[40..48].copy_from_slice(&self.original_size.to_be_bytes());
        b[48..56].copy_from_slice(&self.current_size.to_be_bytes());
        b[56..58].copy_from_slice(&self.geometry.0.to_be_bytes());
        b[58] = self.geometry.1;
        b[59] = self.geometry.2;
        b[60..64].copy_from_slice(&self.disk_type.to_be_bytes());
        b[68..84].copy_from_slice(&self.uuid);
        b[84] = self.saved_state;
        let sum = checksum(&b, 64);
        b[64..68].copy_from_slice(&sum.to_be_bytes());
        b
    }
}

/// The 1024-byte dynamic disk header (the parent fields of differencing disks are not
/// modelled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicHeader {
    /// Offset of the block allocation table.
    pub table_offset: u64,
    /// Header version (0x00010000).
    pub version: u32,
    /// BAT entries.
    pub max_table_entries: u32,
    /// Block size in bytes.
    pub block_size: u32,
    /// The checksum stored.
    pub checksum: u32,
}

impl DynamicHeader {
    /// Parses a dynamic header; `checksum_ok` says whether its checksum matches.
    ///
    /// # Errors
    ///
    /// [`Error::DiskHeader`] when the cookie is missing or the block size is not a power of
    /// two between 512 bytes and 32 MiB.
    pub fn parse(b: &[u8]) -> Result<(Self, bool)> {
        let bad = |reason: String| Error::DiskHeader {
            format: "vhd",
            reason,
        };
        if b.len() < 1024 || &b[..8] != DYNAMIC_COOKIE {
            return Err(bad("no cxsparse dynamic disk header".into()));
        }
        let h = Self {
            table_offset: be64(b, 16),
            version: be32(b, 24),
            max_table_entries: be32(b, 28),
            block_size: be32(b, 32),
            checksum: be32(b, 36),
        };
        if !h.block_size.is_power_of_two() || !(512..=MAX_BLOCK_SIZE).contains(&h.block_size) {
            return Err(bad(format!("invalid block size {}", h.block_size)));
        }
        let ok = checksum(&b[..1024], 36) == h.checksum;
        Ok((h, ok))
    }

    /// The 1024-byte encoding, with its checksum computed.
    pub fn to_bytes(&self) -> [u8; 1024] {
        let mut b = [0u8; 1024];
        b[..8].copy_from_slice(DYNAMIC_COOKIE);
        b[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
        b[16..24].copy_from_slice(&self.table_offset.to_be_bytes());
        b[24..28].copy_from_slice(&self.version.to_be_bytes());
        b[28..32].copy_from_slice(&self.max_table_entries.to_be_bytes());
        b[32..36].copy_from_slice(&self.block_size.to_be_bytes());
        let sum = checksum(&b, 36);
        b[36..40].copy_from_slice(&sum.to_be_bytes());
        b
    }

    /// Bytes of the sector bitmap in front of each block (a whole number of sectors).
    pub fn bitmap_bytes(&self) -> u64 {
        (u64::from(self.block_size) / SECTOR)
            .div_ceil(8)
            .next_multiple_of(SECTOR)
    }
}

/// Where everything of a dynamic VHD goes, from the raw size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The footer (checksum computed on encoding).
    pub footer: Footer,
    /// The dynamic header.
    pub header: DynamicHeader,
    /// Offset of the first block (after the BAT).
    pub blocks_start: u64,
}

impl Plan {
    /// Plans a dynamic VHD for `size` raw bytes (rounded up to the geometry, see the [module
    /// documentation](self)), created at `timestamp` (seconds since the Unix epoch) with this
    /// unique id.
    ///
    /// # Errors
    ///
    /// As [`size_for`].
    pub fn new(size: u64, timestamp: u64, uuid: [u8; 16]) -> Result<Self> {
        let (sectors, geometry) = size_for(size)?;
        let bytes = sectors * SECTOR;
        let block_size = DEFAULT_BLOCK_SIZE;
        let entries = bytes.div_ceil(u64::from(block_size));
        let table_offset = 3 * SECTOR;
        let blocks_start = table_offset + (entries * 4).next_multiple_of(SECTOR);
        Ok(Self {
            footer: Footer {
                features: 2,
                version: 0x0001_0000,
                data_offset: SECTOR,
                timestamp: timestamp.saturating_sub(VHD_EPOCH).min(u64::from(u32::MAX)) as u32,
                creator_app: *b"ovak",
                creator_version: 0x0001_0000,
                creator_os: *b"Wi2k",
                original_size: bytes,
                current_size: bytes,
                geometry,
                disk_type: TYPE_DYNAMIC,
                checksum: 0,
                uuid,
                saved_state: 0,
            },
            header: DynamicHeader {
                table_offset,
                version: 0x0001_0000,
                max_table_entries: entries as u32,
                block_size,
                checksum: 0,
            },
            blocks_start,
        })
    }

    /// The virtual size in bytes.
    pub fn virtual_size(&self) -> u64 {
        self.footer.current_size
    }
}

/// Lays out a dynamic VHD: blocks are placed in the order given, each right after the
/// previous one; the BAT is written back at the end.
#[derive(Debug)]
pub struct VhdEncoder {
    plan: Plan,
    bat: Vec<u32>,
    pos: u64,
    blocks: u64,
}

impl VhdEncoder {
    /// Starts an image: the encoder and its first bytes (footer copy, dynamic header, an
    /// all-unallocated BAT).
    pub fn start(plan: Plan) -> (Self, Vec<u8>) {
        let mut front = Vec::with_capacity(plan.blocks_start as usize);
        front.extend_from_slice(&plan.footer.to_bytes());
        front.extend_from_slice(&plan.header.to_bytes());
        front.resize(plan.blocks_start as usize, 0xff);
        let enc = Self {
            bat: vec![UNALLOCATED; plan.header.max_table_entries as usize],
            pos: plan.blocks_start,
            blocks: 0,
            plan,
        };
        (enc, front)
    }

    /// Blocks placed so far.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Places block `index`: appends its sector bitmap (every sector present) to `out`; the
    /// caller writes the block's data (exactly one block) right after it.
    ///
    /// # Errors
    ///
    /// [`Error::DiskHeader`] for a block past the end or placed twice.
    pub fn place_block(&mut self, index: u64, out: &mut Vec<u8>) -> Result<()> {
        let slot = self
            .bat
            .get_mut(index as usize)
            .filter(|e| **e == UNALLOCATED)
            .ok_or_else(|| Error::DiskHeader {
                format: "vhd",
                reason: format!("block {index} placed twice or past the end"),
            })?;
        *slot = (self.pos / SECTOR) as u32;
        let bitmap = self.plan.header.bitmap_bytes();
        out.resize(out.len() + bitmap as usize, 0xff);
        self.pos += bitmap + u64::from(self.plan.header.block_size);
        self.blocks += 1;
        Ok(())
    }

    /// Ends the image: appends the footer to `out` and returns the BAT's offset and bytes to
    /// write back, and the file size.
    pub fn finish(self, out: &mut Vec<u8>) -> (u64, Vec<u8>, u64) {
        out.extend_from_slice(&self.plan.footer.to_bytes());
        let mut bat = Vec::with_capacity(self.bat.len() * 4);
        for e in &self.bat {
            bat.extend_from_slice(&e.to_be_bytes());
        }
        (self.plan.header.table_offset, bat, self.pos + SECTOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_matches_the_specification_examples() {
        // 2 GiB: 4161 x 16 x 63 is 16 sectors short, so qemu-img makes it 2147991552 bytes
        let (sectors, g) = size_for(2 << 30).unwrap();
        assert_eq!(g, (4162, 16, 63));
        assert_eq!(sectors * 512, 2_147_991_552);
        // a size that is already a geometry stays as it is
        let (s, g2) = size_for(4162 * 16 * 63 * 512).unwrap();
        assert_eq!((s, g2), (sectors, g));
        // beyond the largest geometry the exact size is kept
        let big = 200u64 << 30;
        let (s, g) = size_for(big).unwrap();
        assert_eq!(s * 512, big);
        assert_eq!(g, (65_535, 16, 255));
        assert!(size_for(0).is_err());
        assert!(size_for(MAX_SIZE + 1).is_err());
    }

    #[test]
    fn footer_and_header_round_trip_with_checksums() {
        let plan = Plan::new(10 << 20, VHD_EPOCH + 5, [3; 16]).unwrap();
        let fb = plan.footer.to_bytes();
        let (f, ok) = Footer::parse(&fb).unwrap();
        assert!(ok);
        assert_eq!(f.current_size, plan.virtual_size());
        assert_eq!(f.timestamp, 5);
        let mut damaged = fb;
        damaged[100] ^= 1;
        assert!(!Footer::parse(&damaged).unwrap().1);
        let hb = plan.header.to_bytes();
        let (h, ok) = DynamicHeader::parse(&hb).unwrap();
        assert!(ok);
        assert_eq!(h.bitmap_bytes(), 512);
        assert_eq!(
            h.max_table_entries as u64,
            plan.virtual_size().div_ceil(2 << 20)
        );
    }

    #[test]
    fn encoder_places_blocks_in_order() {
        let plan = Plan::new(10 << 20, VHD_EPOCH, [0; 16]).unwrap();
        let start = plan.blocks_start;
        let (mut enc, front) = VhdEncoder::start(plan);
        assert_eq!(front.len() as u64, start);
        let mut out = Vec::new();
        enc.place_block(1, &mut out).unwrap();
        assert!(enc.place_block(1, &mut out).is_err());
        enc.place_block(3, &mut out).unwrap();
        assert!(enc.place_block(99, &mut out).is_err());
        let (at, bat, size) = enc.finish(&mut out);
        assert_eq!(at, 1536);
        assert_eq!(be32(&bat, 0), UNALLOCATED);
        assert_eq!(u64::from(be32(&bat, 4)) * 512, start);
        assert_eq!(u64::from(be32(&bat, 12)) * 512, start + 512 + (2 << 20));
        assert_eq!(size, start + 2 * (512 + (2 << 20)) + 512);
    }
}
