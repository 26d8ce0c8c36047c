//! The on-disk layout of stream-optimized VMDK files, without any I/O.
//!
//! Everything here takes and returns bytes and values: the 512-byte sparse extent header, the
//! grain and metadata markers, the grain directory and grain tables, the embedded text descriptor,
//! and [`StreamEncoder`], which turns "here is compressed grain N" into the exact bytes VMware
//! writes. The reader and writer shells in the sibling modules only move those bytes.

use crate::{Error, Result};

/// Bytes in one sector; every VMDK offset and size is counted in sectors.
pub const SECTOR: u64 = 512;
/// The header magic, `KDMV` on disk.
pub const MAGIC: u32 = 0x564d_444b;
/// `gdOffset` value meaning "the grain directory is found through the footer".
pub const GD_AT_END: u64 = u64::MAX;
/// Header flag: the newline-detection characters are valid.
pub const FLAG_VALID_NEWLINE: u32 = 1;
/// Header flag: a redundant grain directory is in use.
pub const FLAG_REDUNDANT_GD: u32 = 1 << 1;
/// Header flag: zeroed-grain grain-table entries are used.
pub const FLAG_ZEROED_GTE: u32 = 1 << 2;
/// Header flag: grains are compressed.
pub const FLAG_COMPRESSED: u32 = 1 << 16;
/// Header flag: the file holds markers (grains carry their LBA).
pub const FLAG_MARKERS: u32 = 1 << 17;
/// The flags VMware writes on a stream-optimized extent.
pub const STREAM_FLAGS: u32 = FLAG_VALID_NEWLINE | FLAG_COMPRESSED | FLAG_MARKERS;
/// `compressAlgorithm` value for DEFLATE (zlib-framed in practice).
pub const COMPRESSION_DEFLATE: u16 = 1;
/// The grain size VMware, VirtualBox, qemu and open-vmdk all use, in sectors (64 KiB).
pub const DEFAULT_GRAIN_SECTORS: u64 = 128;
/// Grain-table entries per grain table everyone uses (a 2 KiB table covering 32 MiB).
pub const DEFAULT_GTES_PER_GT: u32 = 512;
/// Sectors VMware reserves before the first grain.
pub const DEFAULT_OVERHEAD_SECTORS: u64 = 128;
/// `ddb.toolsVersion` value meaning "unknown / not installed".
pub const TOOLS_VERSION_UNKNOWN: u32 = 2_147_483_647;

/// Largest grain accepted when reading, in sectors (1 MiB): bounds every allocation.
pub const MAX_GRAIN_SECTORS: u64 = 2048;
/// Largest embedded descriptor accepted when reading, in sectors (1 MiB).
pub const MAX_DESCRIPTOR_SECTORS: u64 = 2048;
/// Largest grain-table length accepted when reading.
pub const MAX_GTES_PER_GT: u32 = 4096;
/// Largest capacity this crate handles, in sectors (64 TiB, far above the 2 TiB that the
/// 32-bit sector offsets of a sparse extent can address on disk).
pub const MAX_CAPACITY_SECTORS: u64 = 1 << 37;
/// Largest sector offset a header field may hold (2^48 sectors, 128 PiB): far past any real
/// file, and small enough that byte offsets computed from it never overflow.
pub const MAX_OFFSET_SECTORS: u64 = 1 << 48;

fn corrupt(offset: u64, reason: impl Into<String>) -> Error {
    Error::VmdkCorrupt {
        offset,
        reason: reason.into(),
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Number of whole sectors needed for `bytes` bytes.
pub fn sectors_for(bytes: u64) -> u64 {
    bytes.div_ceil(SECTOR)
}

/// The 512-byte sparse extent header (also the layout of the footer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparseHeader {
    /// Format version: 1, 2 or 3 (stream-optimized files for ESXi use 3).
    pub version: u32,
    /// Feature flags (`FLAG_*`).
    pub flags: u32,
    /// Virtual disk size in sectors.
    pub capacity: u64,
    /// Grain size in sectors.
    pub grain_size: u64,
    /// Sector of the embedded descriptor (0 when there is none).
    pub descriptor_offset: u64,
    /// Sectors reserved for the embedded descriptor.
    pub descriptor_size: u64,
    /// Entries in one grain table.
    pub num_gtes_per_gt: u32,
    /// Sector of the redundant grain directory.
    pub rgd_offset: u64,
    /// Sector of the grain directory, or [`GD_AT_END`].
    pub gd_offset: u64,
    /// Sectors of metadata before the first grain.
    pub overhead: u64,
    /// Whether the disk was not closed cleanly.
    pub unclean_shutdown: bool,
    /// Compression algorithm (`COMPRESSION_DEFLATE` for stream-optimized files).
    pub compress_algorithm: u16,
}

impl SparseHeader {
    /// A version 3 stream-optimized header with VMware's flags and the directory at the end.
    pub fn stream(capacity: u64, descriptor_size: u64) -> Self {
        Self {
            version: 3,
            flags: STREAM_FLAGS,
            capacity,
            grain_size: DEFAULT_GRAIN_SECTORS,
            descriptor_offset: 1,
            descriptor_size,
            num_gtes_per_gt: DEFAULT_GTES_PER_GT,
            rgd_offset: 0,
            gd_offset: GD_AT_END,
            overhead: DEFAULT_OVERHEAD_SECTORS,
            unclean_shutdown: false,
            compress_algorithm: COMPRESSION_DEFLATE,
        }
    }

    /// Parses and validates a header (or footer) sector.
    ///
    /// # Errors
    ///
    /// [`Error::VmdkHeader`] when the magic, version, flags, grain size, table size or
    /// capacity are not those of a sparse extent this crate can read.
    pub fn parse(sector: &[u8]) -> Result<Self> {
        let bad = |reason: &str| Error::VmdkHeader {
            reason: reason.to_owned(),
        };
        if sector.len() < SECTOR as usize {
            return Err(bad("header is shorter than 512 bytes"));
        }
        if u32_at(sector, 0) != MAGIC {
            return Err(bad("no KDMV magic: not a sparse VMDK extent"));
        }
        let h = Self {
            version: u32_at(sector, 4),
            flags: u32_at(sector, 8),
            capacity: u64_at(sector, 12),
            grain_size: u64_at(sector, 20),
            descriptor_offset: u64_at(sector, 28),
            descriptor_size: u64_at(sector, 36),
            num_gtes_per_gt: u32_at(sector, 44),
            rgd_offset: u64_at(sector, 48),
            gd_offset: u64_at(sector, 56),
            overhead: u64_at(sector, 64),
            unclean_shutdown: sector[72] != 0,
            compress_algorithm: u16::from_le_bytes([sector[77], sector[78]]),
        };
        if !(1..=3).contains(&h.version) {
            return Err(bad(&format!("unsupported version {}", h.version)));
        }
        let known = FLAG_VALID_NEWLINE | FLAG_REDUNDANT_GD | FLAG_ZEROED_GTE;
        if h.flags & 0xffff & !known != 0 || h.flags >> 16 & !0b11 != 0 {
            return Err(bad(&format!("unknown flags {:#x}", h.flags)));
        }
        if h.flags & FLAG_MARKERS != 0 && h.flags & FLAG_COMPRESSED == 0 {
            return Err(bad("markers flag set without the compressed flag"));
        }
        if h.flags & FLAG_VALID_NEWLINE != 0 && sector[73..77] != *b"\n \r\n" {
            return Err(bad(
                "newline detection bytes are damaged (file transferred in text mode?)",
            ));
        }
        if !h.grain_size.is_power_of_two() || h.grain_size > MAX_GRAIN_SECTORS {
            return Err(bad(&format!("invalid grain size {} sectors", h.grain_size)));
        }
        if !h.num_gtes_per_gt.is_power_of_two()
            || !(128..=MAX_GTES_PER_GT).contains(&h.num_gtes_per_gt)
        {
            return Err(bad(&format!(
                "invalid grain table size {} entries",
                h.num_gtes_per_gt
            )));
        }
        if h.capacity > MAX_CAPACITY_SECTORS {
            return Err(bad(&format!(
                "capacity {} sectors is too large",
                h.capacity
            )));
        }
        if h.descriptor_size > MAX_DESCRIPTOR_SECTORS {
            return Err(bad("embedded descriptor larger than 1 MiB"));
        }
        // Sector offsets past any real file: in bytes they would overflow the arithmetic of
        // every reader, so they are refused here, once.
        for (name, value) in [
            ("descriptor offset", h.descriptor_offset),
            ("redundant grain directory offset", h.rgd_offset),
            // GD_AT_END (all ones) says "in the footer", as stream-optimized files do
            (
                "grain directory offset",
                if h.gd_offset == GD_AT_END {
                    0
                } else {
                    h.gd_offset
                },
            ),
            ("overhead", h.overhead),
        ] {
            if value > MAX_OFFSET_SECTORS {
                return Err(bad(&format!(
                    "{name} {value} sectors is past any real file"
                )));
            }
        }
        Ok(h)
    }

    /// Whether grains are compressed and carry markers, as in every stream-optimized file.
    pub fn is_stream(&self) -> bool {
        self.flags & FLAG_COMPRESSED != 0 && self.flags & FLAG_MARKERS != 0
    }

    /// Grain size in bytes.
    pub fn grain_bytes(&self) -> u64 {
        self.grain_size * SECTOR
    }

    /// Number of grains covering the capacity (the last one may be partial).
    pub fn grain_count(&self) -> u64 {
        self.capacity.div_ceil(self.grain_size)
    }

    /// Number of grain tables (= grain-directory entries) covering the capacity.
    pub fn gt_count(&self) -> u64 {
        self.grain_count().div_ceil(u64::from(self.num_gtes_per_gt))
    }

    /// Sectors one grain table occupies.
    pub fn gt_sectors(&self) -> u64 {
        sectors_for(u64::from(self.num_gtes_per_gt) * 4)
    }

    /// Sectors the grain directory occupies.
    pub fn gd_sectors(&self) -> u64 {
        sectors_for(self.gt_count() * 4)
    }

    /// The 512-byte encoding.
    pub fn to_bytes(&self) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&self.version.to_le_bytes());
        b[8..12].copy_from_slice(&self.flags.to_le_bytes());
        b[12..20].copy_from_slice(&self.capacity.to_le_bytes());
        b[20..28].copy_from_slice(&self.grain_size.to_le_bytes());
        b[28..36].copy_from_slice(&self.descriptor_offset.to_le_bytes());
        b[36..44].copy_from_slice(&self.descriptor_size.to_le_bytes());
        b[44..48].copy_from_slice(&self.num_gtes_per_gt.to_le_bytes());
        b[48..56].copy_from_slice(&self.rgd_offset.to_le_bytes());
        b[56..64].copy_from_slice(&self.gd_offset.to_le_bytes());
        b[64..72].copy_from_slice(&self.overhead.to_le_bytes());
        b[72] = u8::from(self.unclean_shutdown);
        b[73..77].copy_from_slice(b"\n \r\n");
        b[77..79].copy_from_slice(&self.compress_algorithm.to_le_bytes());
        b
    }
}

/// Metadata marker types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaKind {
    /// End of stream.
    EndOfStream,
    /// A grain table follows.
    GrainTable,
    /// The grain directory follows.
    GrainDirectory,
    /// The footer (a copy of the header with the real `gdOffset`) follows.
    Footer,
    /// open-vmdk's progress marker.
    Progress,
}

impl MetaKind {
    fn code(self) -> u32 {
        match self {
            Self::EndOfStream => 0,
            Self::GrainTable => 1,
            Self::GrainDirectory => 2,
            Self::Footer => 3,
            Self::Progress => 4,
        }
    }
}

/// A marker, decoded from the sector it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A compressed grain: `size` bytes of zlib data start 12 bytes into the marker.
    Grain {
        /// First virtual sector of the grain.
        lba: u64,
        /// Compressed bytes.
        size: u32,
    },
    /// A metadata marker followed by `sectors` sectors of metadata.
    Meta {
        /// What follows.
        kind: MetaKind,
        /// Sectors of metadata that follow the marker sector.
        sectors: u64,
    },
}

/// Bytes of a grain marker before the compressed data.
pub const GRAIN_MARKER_HEADER: usize = 12;

impl Marker {
    /// Decodes the marker that starts at `sector` (the first 512 bytes of it); `offset` is the
    /// byte position, for the error message.
    ///
    /// # Errors
    ///
    /// [`Error::VmdkCorrupt`] for an unknown metadata type.
    pub fn parse(sector: &[u8], offset: u64) -> Result<Self> {
        let value = u64_at(sector, 0);
        let size = u32_at(sector, 8);
        if size > 0 {
            return Ok(Self::Grain { lba: value, size });
        }
        let kind = match u32_at(sector, 12) {
            0 => MetaKind::EndOfStream,
            1 => MetaKind::GrainTable,
            2 => MetaKind::GrainDirectory,
            3 => MetaKind::Footer,
            4 => MetaKind::Progress,
            t => return Err(corrupt(offset, format!("unknown marker type {t}"))),
        };
        Ok(Self::Meta {
            kind,
            sectors: value,
        })
    }

    /// Sectors this marker and its payload occupy, the marker sector included.
    pub fn total_sectors(&self) -> u64 {
        match *self {
            Self::Grain { size, .. } => sectors_for(GRAIN_MARKER_HEADER as u64 + u64::from(size)),
            Self::Meta { kind, sectors } => {
                if kind == MetaKind::EndOfStream {
                    1
                } else {
                    1 + sectors
                }
            }
        }
    }
}

/// The 512-byte encoding of a metadata marker.
pub fn meta_marker(kind: MetaKind, sectors: u64) -> [u8; 512] {
    let mut b = [0u8; 512];
    b[0..8].copy_from_slice(&sectors.to_le_bytes());
    b[12..16].copy_from_slice(&kind.code().to_le_bytes());
    b
}

/// The 12 bytes that start a grain marker.
pub fn grain_marker(lba: u64, size: u32) -> [u8; GRAIN_MARKER_HEADER] {
    let mut b = [0u8; GRAIN_MARKER_HEADER];
    b[0..8].copy_from_slice(&lba.to_le_bytes());
    b[8..12].copy_from_slice(&size.to_le_bytes());
    b
}

/// Decodes the 12 bytes that start a grain marker: `(lba, compressed size)`.
pub fn parse_grain_marker(b: &[u8; GRAIN_MARKER_HEADER]) -> (u64, u32) {
    (u64_at(b, 0), u32_at(b, 8))
}

/// Decodes a grain table or grain directory: little-endian `u32` sector numbers.
pub fn decode_table(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn encode_table(entries: &[u32], sectors: u64, out: &mut Vec<u8>) {
    let start = out.len();
    for e in entries {
        out.extend_from_slice(&e.to_le_bytes());
    }
    out.resize(start + (sectors * SECTOR) as usize, 0);
}

/// Virtual disk adapter type recorded in `ddb.adapterType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdapterType {
    /// IDE (16 heads geometry).
    Ide,
    /// BusLogic SCSI.
    BusLogic,
    /// LSI Logic SCSI (the default; also used for SATA, NVMe and PVSCSI controllers).
    #[default]
    LsiLogic,
    /// Legacy ESX.
    LegacyEsx,
}

impl AdapterType {
    /// The descriptor spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ide => "ide",
            Self::BusLogic => "buslogic",
            Self::LsiLogic => "lsilogic",
            Self::LegacyEsx => "legacyESX",
        }
    }

    /// `(cylinders, heads, sectors)` for a capacity in sectors, as VMware computes them.
    pub fn geometry(self, capacity: u64) -> (u64, u64, u64) {
        let (heads, max_cyl) = if self == Self::Ide {
            (16, 16_383)
        } else {
            (255, 65_535)
        };
        ((capacity / (heads * 63)).min(max_cyl), heads, 63)
    }
}

/// The settings of a descriptor this crate writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorParams {
    /// Content id (`CID`): any value but `ffffffff`/`fffffffe`.
    pub cid: u32,
    /// Extent file name written in the extent line.
    pub extent_name: String,
    /// Capacity in sectors.
    pub capacity: u64,
    /// `ddb.adapterType` and the geometry that follows from it.
    pub adapter: AdapterType,
    /// `ddb.virtualHWVersion`.
    pub hw_version: u32,
    /// `ddb.toolsVersion` (`1024*x + 32*y + z`; [`TOOLS_VERSION_UNKNOWN`] when unknown).
    pub tools_version: u32,
    /// `ddb.longContentID` (32 hex digits).
    pub long_content_id: u128,
}

/// Renders the embedded descriptor text VMware tools expect.
pub fn render_descriptor(p: &DescriptorParams) -> String {
    let (c, h, s) = p.adapter.geometry(p.capacity);
    let name: String = p
        .extent_name
        .chars()
        .map(|ch| {
            if ch == '"' || ch.is_control() {
                '_'
            } else {
                ch
            }
        })
        .collect();
    format!(
        "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID={:08x}\nparentCID=ffffffff\n\
         createType=\"streamOptimized\"\n\n# Extent description\nRW {} SPARSE \"{}\"\n\n\
         # The Disk Data Base\n#DDB\n\nddb.adapterType = \"{}\"\nddb.geometry.cylinders = \"{}\"\n\
         ddb.geometry.heads = \"{}\"\nddb.geometry.sectors = \"{}\"\nddb.longContentID = \"{:032x}\"\n\
         ddb.toolsInstallType = \"4\"\nddb.toolsVersion = \"{}\"\nddb.virtualHWVersion = \"{}\"\n",
        p.cid,
        p.capacity,
        name,
        p.adapter.as_str(),
        c,
        h,
        s,
        p.long_content_id,
        p.tools_version,
        p.hw_version
    )
}

/// One extent line of a descriptor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Extent {
    /// `RW`, `RDONLY` or `NOACCESS`.
    pub access: String,
    /// Size in sectors.
    pub sectors: u64,
    /// `SPARSE`, `FLAT`, ...
    pub kind: String,
    /// The file name.
    pub file: String,
}

/// A parsed embedded (or standalone) VMDK text descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Descriptor {
    /// Top-level `key=value` entries (`version`, `CID`, `createType`, ...), in file order.
    pub entries: Vec<(String, String)>,
    /// Extent lines.
    pub extents: Vec<Extent>,
    /// `ddb.*` entries, in file order, quotes removed.
    pub ddb: Vec<(String, String)>,
}

impl Descriptor {
    /// Parses descriptor text; tolerant of CRLF, comments, spacing and unknown keys.
    /// Text stops at the first NUL (the padding of an embedded descriptor).
    pub fn parse(text: &[u8]) -> Self {
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        let text = String::from_utf8_lossy(&text[..end]);
        let mut d = Self::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                let k = k.trim();
                let v = v.trim().trim_matches('"').to_owned();
                // bytes: the key may be any text, and its fourth byte inside a character
                if k.len() > 4 && k.as_bytes()[..4].eq_ignore_ascii_case(b"ddb.") {
                    d.ddb.push((k.to_owned(), v));
                } else {
                    d.entries.push((k.to_owned(), v));
                }
                continue;
            }
            let mut parts = line.splitn(4, ' ').filter(|p| !p.is_empty());
            if let (Some(access), Some(sectors), Some(kind)) =
                (parts.next(), parts.next(), parts.next())
                && let Ok(sectors) = sectors.parse()
            {
                let file = parts
                    .next()
                    .map(|f| {
                        let f = f.trim();
                        let f = f.strip_prefix('"').unwrap_or(f);
                        f.split('"').next().unwrap_or(f).to_owned()
                    })
                    .unwrap_or_default();
                d.extents.push(Extent {
                    access: access.to_owned(),
                    sectors,
                    kind: kind.to_owned(),
                    file,
                });
            }
        }
        d
    }

    /// A top-level entry, by case-insensitive key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// A `ddb.` entry, by case-insensitive full key (`ddb.adapterType`).
    pub fn ddb(&self, key: &str) -> Option<&str> {
        self.ddb
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Settings for [`StreamEncoder`].
#[derive(Debug, Clone)]
pub struct StreamParams {
    /// Capacity in sectors.
    pub capacity: u64,
    /// The embedded descriptor.
    pub descriptor: DescriptorParams,
}

/// Turns a sequence of compressed grains into the exact bytes of a VMware-layout
/// stream-optimized VMDK: header (directory at the end), descriptor, padding to sector 128,
/// grain markers in ascending LBA order, a grain-table marker and table after every 512 grains
/// (all tables are written, empty ones too, as VMware does), the grain-directory marker and
/// directory, the footer marker and footer, and the end-of-stream marker, after which nothing.
#[derive(Debug)]
pub struct StreamEncoder {
    header: SparseHeader,
    /// Next free sector.
    sector: u64,
    /// Grain-table index the current table belongs to.
    gt_index: u64,
    gt: Vec<u32>,
    gd: Vec<u32>,
    next_grain: u64,
    grains_written: u64,
}

impl StreamEncoder {
    /// Starts a stream and returns the encoder with the preamble bytes (header, descriptor and
    /// padding up to the first grain).
    ///
    /// # Errors
    ///
    /// [`Error::VmdkHeader`] when the capacity is zero or too large.
    pub fn start(params: &StreamParams) -> Result<(Self, Vec<u8>)> {
        if params.capacity == 0 || params.capacity > MAX_CAPACITY_SECTORS {
            return Err(Error::VmdkHeader {
                reason: format!("cannot write a disk of {} sectors", params.capacity),
            });
        }
        let mut dp = params.descriptor.clone();
        dp.capacity = params.capacity;
        let text = render_descriptor(&dp);
        let desc_sectors = sectors_for(text.len() as u64);
        let mut header = SparseHeader::stream(params.capacity, desc_sectors);
        header.overhead = DEFAULT_OVERHEAD_SECTORS.max(1 + desc_sectors);
        let mut out = Vec::with_capacity((header.overhead * SECTOR) as usize);
        out.extend_from_slice(&header.to_bytes());
        out.extend_from_slice(text.as_bytes());
        out.resize((header.overhead * SECTOR) as usize, 0);
        let gtes = header.num_gtes_per_gt as usize;
        Ok((
            Self {
                sector: header.overhead,
                gt_index: 0,
                gt: vec![0; gtes],
                gd: Vec::with_capacity(header.gt_count() as usize),
                header,
                next_grain: 0,
                grains_written: 0,
            },
            out,
        ))
    }

    /// The header this stream starts with.
    pub fn header(&self) -> &SparseHeader {
        &self.header
    }

    /// Bytes produced so far.
    pub fn position(&self) -> u64 {
        self.sector * SECTOR
    }

    /// Grains written so far.
    pub fn grains_written(&self) -> u64 {
        self.grains_written
    }

    fn sector_u32(&self) -> Result<u32> {
        u32::try_from(self.sector).map_err(|_| Error::VmdkHeader {
            reason: "stream exceeds the 2 TiB a sparse extent can address".to_owned(),
        })
    }

    /// Emits grain tables until the table holding grain `grain` is the current one.
    fn flush_tables_until(&mut self, gt_index: u64, out: &mut Vec<u8>) -> Result<()> {
        while self.gt_index < gt_index {
            let gt_sectors = self.header.gt_sectors();
            out.extend_from_slice(&meta_marker(MetaKind::GrainTable, gt_sectors));
            self.sector += 1;
            self.gd.push(self.sector_u32()?);
            encode_table(&self.gt, gt_sectors, out);
            self.sector += gt_sectors;
            self.gt.iter_mut().for_each(|e| *e = 0);
            self.gt_index += 1;
        }
        Ok(())
    }

    /// Appends grain number `grain` (its zlib data) to `out`, preceded by any grain tables that
    /// are complete. Grains must come in strictly ascending order.
    ///
    /// # Errors
    ///
    /// [`Error::VmdkCorrupt`] when grains come out of order, past the capacity, or empty.
    pub fn grain(&mut self, grain: u64, compressed: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if grain < self.next_grain || grain >= self.header.grain_count() {
            return Err(corrupt(
                self.position(),
                format!("grain {grain} written out of order or past the capacity"),
            ));
        }
        let size = u32::try_from(compressed.len())
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| corrupt(self.position(), "compressed grain is empty or too large"))?;
        let per_gt = u64::from(self.header.num_gtes_per_gt);
        self.flush_tables_until(grain / per_gt, out)?;
        self.gt[(grain % per_gt) as usize] = self.sector_u32()?;
        let start = out.len();
        out.extend_from_slice(&grain_marker(grain * self.header.grain_size, size));
        out.extend_from_slice(compressed);
        let padded = start + (sectors_for((out.len() - start) as u64) * SECTOR) as usize;
        out.resize(padded, 0);
        self.sector += sectors_for((GRAIN_MARKER_HEADER + compressed.len()) as u64);
        self.next_grain = grain + 1;
        self.grains_written += 1;
        Ok(())
    }

    /// Appends the remaining grain tables, the grain directory, the footer and the
    /// end-of-stream marker; the stream is complete after these bytes.
    ///
    /// # Errors
    ///
    /// [`Error::VmdkHeader`] when the stream exceeds 2 TiB.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<u64> {
        self.flush_tables_until(self.header.gt_count(), out)?;
        let gd_sectors = self.header.gd_sectors();
        out.extend_from_slice(&meta_marker(MetaKind::GrainDirectory, gd_sectors));
        self.sector += 1;
        let gd_offset = self.sector;
        encode_table(&self.gd, gd_sectors, out);
        self.sector += gd_sectors;
        out.extend_from_slice(&meta_marker(MetaKind::Footer, 1));
        let mut footer = self.header;
        footer.gd_offset = gd_offset;
        out.extend_from_slice(&footer.to_bytes());
        out.extend_from_slice(&meta_marker(MetaKind::EndOfStream, 0));
        self.sector += 3;
        Ok(self.sector * SECTOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(capacity: u64) -> StreamParams {
        StreamParams {
            capacity,
            descriptor: DescriptorParams {
                cid: 0x1234_abcd,
                extent_name: "disk.vmdk".into(),
                capacity,
                adapter: AdapterType::LsiLogic,
                hw_version: 4,
                tools_version: TOOLS_VERSION_UNKNOWN,
                long_content_id: 7,
            },
        }
    }

    #[test]
    fn header_roundtrip_and_layout() {
        let h = SparseHeader::stream(20_480, 1);
        let b = h.to_bytes();
        assert_eq!(&b[0..4], b"KDMV");
        assert_eq!(u32_at(&b, 8), 0x30001);
        assert_eq!(SparseHeader::parse(&b).unwrap(), h);
        assert_eq!(h.grain_count(), 160);
        assert_eq!(h.gt_count(), 1);
        assert_eq!(h.gt_sectors(), 4);
        assert_eq!(h.gd_sectors(), 1);
        let odd = SparseHeader::stream(20_483, 1);
        assert_eq!(odd.grain_count(), 161);
    }

    #[test]
    fn header_rejects_hostile_values() {
        let good = SparseHeader::stream(2048, 1);
        let cases: Vec<fn(&mut [u8; 512])> = vec![
            |b| b[0] = b'X',
            |b| b[4..8].copy_from_slice(&4u32.to_le_bytes()),
            |b| b[8..12].copy_from_slice(&0x0002_0001u32.to_le_bytes()),
            |b| b[8..12].copy_from_slice(&0x0013_0001u32.to_le_bytes()),
            |b| b[20..28].copy_from_slice(&100u64.to_le_bytes()),
            |b| b[20..28].copy_from_slice(&(1u64 << 40).to_le_bytes()),
            |b| b[44..48].copy_from_slice(&0u32.to_le_bytes()),
            |b| b[44..48].copy_from_slice(&(1u32 << 30).to_le_bytes()),
            |b| b[12..20].copy_from_slice(&u64::MAX.to_le_bytes()),
            |b| b[36..44].copy_from_slice(&u64::MAX.to_le_bytes()),
            |b| b[75] = b'\n',
        ];
        for (i, f) in cases.iter().enumerate() {
            let mut b = good.to_bytes();
            f(&mut b);
            assert!(
                matches!(SparseHeader::parse(&b), Err(Error::VmdkHeader { .. })),
                "case {i}"
            );
        }
        assert!(SparseHeader::parse(&[0u8; 100]).is_err());
        // qemu's flags (redundant GD bit) are accepted
        let mut b = good.to_bytes();
        b[8..12].copy_from_slice(&0x30003u32.to_le_bytes());
        assert!(SparseHeader::parse(&b).is_ok());
    }

    #[test]
    fn markers() {
        let g = grain_marker(256, 700);
        let mut s = [0u8; 512];
        s[..12].copy_from_slice(&g);
        let m = Marker::parse(&s, 0).unwrap();
        assert_eq!(
            m,
            Marker::Grain {
                lba: 256,
                size: 700
            }
        );
        assert_eq!(m.total_sectors(), 2);
        let gt = Marker::parse(&meta_marker(MetaKind::GrainTable, 4), 0).unwrap();
        assert_eq!(gt.total_sectors(), 5);
        let eos = Marker::parse(&[0u8; 512], 0).unwrap();
        assert_eq!(
            eos,
            Marker::Meta {
                kind: MetaKind::EndOfStream,
                sectors: 0
            }
        );
        assert_eq!(eos.total_sectors(), 1);
        let mut bad = meta_marker(MetaKind::Footer, 1);
        bad[12] = 9;
        assert!(matches!(
            Marker::parse(&bad, 1024),
            Err(Error::VmdkCorrupt { offset: 1024, .. })
        ));
    }

    #[test]
    fn descriptor_render_and_parse() {
        let p = params(4_194_304);
        let text = render_descriptor(&p.descriptor);
        assert!(text.len() < 1024);
        let d = Descriptor::parse(text.as_bytes());
        assert_eq!(d.get("createtype"), Some("streamOptimized"));
        assert_eq!(d.get("CID"), Some("1234abcd"));
        assert_eq!(d.extents.len(), 1);
        assert_eq!(d.extents[0].sectors, 4_194_304);
        assert_eq!(d.extents[0].file, "disk.vmdk");
        assert_eq!(d.ddb("ddb.adapterType"), Some("lsilogic"));
        assert_eq!(d.ddb("ddb.geometry.cylinders"), Some("261"));
        assert_eq!(d.ddb("ddb.virtualhwversion"), Some("4"));
        assert_eq!(d.ddb("ddb.toolsVersion"), Some("2147483647"));
    }

    #[test]
    fn descriptor_parse_tolerates_variants() {
        let text = b"# Disk DescriptorFile\r\nversion=1\r\nCID=fffffffe\r\ncreateType=\"streamOptimized\"\r\n\
RDONLY 20480 SPARSE \"generated-stream.vmdk\"\r\nddb.adapterType = \"ide\"  \r\nDDB.Foo=bar\r\n\0\0\0garbage";
        let d = Descriptor::parse(text);
        assert_eq!(d.extents[0].access, "RDONLY");
        assert_eq!(d.extents[0].file, "generated-stream.vmdk");
        assert_eq!(d.ddb("ddb.adaptertype"), Some("ide"));
        assert_eq!(d.ddb("ddb.foo"), Some("bar"));
        assert_eq!(d.get("version"), Some("1"));
        let garbage = Descriptor::parse(&[0xff, 0xfe, b'\n', b'=', b'\n']);
        assert!(garbage.extents.is_empty());
        // a key whose fourth byte is inside a character (found by the vmdk_read fuzz target)
        let d = Descriptor::parse("ddb\u{20ac}x=1\nabc\u{fffd}\u{fffd}=2\n".as_bytes());
        assert_eq!(d.get("ddb\u{20ac}x"), Some("1"));
        assert_eq!(d.get("abc\u{fffd}\u{fffd}"), Some("2"));
        assert!(d.ddb.is_empty());
    }

    #[test]
    fn geometry() {
        assert_eq!(AdapterType::Ide.geometry(20_480), (20, 16, 63));
        assert_eq!(AdapterType::LsiLogic.geometry(u64::MAX / 2).0, 65_535);
    }

    #[test]
    fn encoder_layout_matches_vmware() {
        // 3 GTs worth of grains (capacity 1536 grains), grains 0, 1 and 1100 present
        let cap = 1536 * 128;
        let (mut enc, pre) = StreamEncoder::start(&params(cap)).unwrap();
        assert_eq!(pre.len(), 128 * 512);
        let h = SparseHeader::parse(&pre[..512]).unwrap();
        assert_eq!(h.gd_offset, GD_AT_END);
        assert_eq!(h.overhead, 128);
        let mut out = pre;
        enc.grain(0, &[1; 500], &mut out).unwrap();
        enc.grain(1, &[2; 501], &mut out).unwrap();
        assert!(enc.grain(1, &[2; 10], &mut out).is_err());
        assert!(enc.grain(2, &[], &mut out).is_err());
        enc.grain(1100, &[3; 10], &mut out).unwrap();
        assert!(enc.grain(1536, &[3; 10], &mut out).is_err());
        let total = enc.finish(&mut out).unwrap();
        assert_eq!(total, out.len() as u64);
        assert_eq!(out.len() % 512, 0);
        // sector 128: grain 0, sector 130: grain 1 (500+12 bytes = 1 sector)
        assert_eq!(
            Marker::parse(&out[128 * 512..], 0).unwrap(),
            Marker::Grain { lba: 0, size: 500 }
        );
        assert_eq!(
            Marker::parse(&out[129 * 512..], 0).unwrap(),
            Marker::Grain {
                lba: 128,
                size: 501
            }
        );
        // GT 0 marker follows at 131 (501+12 > 512: grain 1 takes 2 sectors)
        assert_eq!(
            Marker::parse(&out[131 * 512..], 0).unwrap(),
            Marker::Meta {
                kind: MetaKind::GrainTable,
                sectors: 4
            }
        );
        let gt0 = decode_table(&out[132 * 512..136 * 512]);
        assert_eq!(&gt0[..3], &[128, 129, 0]);
        // then GT 1 (empty) at 136..141, then grain 1100 at 141, then GT 2
        let gt1 = decode_table(&out[137 * 512..141 * 512]);
        assert!(gt1.iter().all(|&e| e == 0));
        assert_eq!(
            Marker::parse(&out[141 * 512..], 0).unwrap(),
            Marker::Grain {
                lba: 1100 * 128,
                size: 10
            }
        );
        let gt2 = decode_table(&out[143 * 512..147 * 512]);
        assert_eq!(gt2[1100 - 1024], 141);
        // GD marker, GD (3 entries), footer marker, footer, EOS
        let n = out.len() / 512;
        let eos = &out[(n - 1) * 512..];
        assert!(eos.iter().all(|&b| b == 0));
        let footer = SparseHeader::parse(&out[(n - 2) * 512..]).unwrap();
        assert_eq!(footer.gd_offset, (n - 4) as u64);
        assert_eq!(
            Marker::parse(&out[(n - 3) * 512..], 0).unwrap(),
            Marker::Meta {
                kind: MetaKind::Footer,
                sectors: 1
            }
        );
        let gd = decode_table(&out[(n - 4) * 512..(n - 3) * 512]);
        assert_eq!(&gd[..3], &[132, 137, 143]);
        assert!(StreamEncoder::start(&params(0)).is_err());
    }
}
