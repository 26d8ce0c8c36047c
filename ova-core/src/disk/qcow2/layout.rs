//! The on-disk layout of QCOW2 images, without any I/O.
//!
//! The header, the L1/L2 entries (standard and compressed), the refcount table and blocks, and
//! [`Qcow2Encoder`], which turns "guest cluster N holds these bytes" into the exact bytes the
//! writer appends, plus the table contents it writes back at the front once the data is in.
//! All numbers are big-endian, as the format specifies.
//!
//! The image written by [`Qcow2Encoder`] is laid out as
//!
//! ```text
//! cluster 0            header (version 3, 104 bytes, no extensions)
//! clusters 1..         L1 table (sized from the virtual size), refcount table (sized for the
//!                      largest file the virtual size can give)
//! then, per 512 MiB    its data clusters (raw, or deflated and packed byte by byte),
//! of guest space       followed by its L2 table when any of its clusters holds data
//! at the end           the refcount blocks, covering every cluster of the file and themselves
//! ```
//!
//! Everything at the front has a size known from the virtual size alone, so the header is final
//! when written; only the L1 and refcount tables' contents are written back at the end.

use crate::{Error, Result};

/// The header magic, `QFI\xfb`.
pub const MAGIC: [u8; 4] = *b"QFI\xfb";
/// The cluster size the writer uses (64 KiB, qemu-img's default), as a power of two.
pub const DEFAULT_CLUSTER_BITS: u32 = 16;
/// Smallest and largest cluster sizes the format allows (512 B to 2 MiB).
pub const CLUSTER_BITS_RANGE: std::ops::RangeInclusive<u32> = 9..=21;
/// Header length of a version 3 header without the compression-type field.
pub const V3_HEADER_LEN: u32 = 104;
/// Header length of a version 2 header.
pub const V2_HEADER_LEN: u32 = 72;
/// The refcount width the writer uses (16 bits: `refcount_order` 4, qemu-img's default).
pub const DEFAULT_REFCOUNT_ORDER: u32 = 4;
/// Largest virtual size handled (64 TiB).
pub const MAX_VIRTUAL_SIZE: u64 = 1 << 46;
/// Largest L1 table read (32 MiB, qemu's own limit).
pub const MAX_L1_BYTES: u64 = 32 << 20;
/// Largest refcount table read (8 MiB, qemu's own limit).
pub const MAX_REFTABLE_BYTES: u64 = 8 << 20;

/// Incompatible feature: the image was not closed cleanly (refcounts may be stale).
pub const INCOMPAT_DIRTY: u64 = 1;
/// Incompatible feature: the image is marked corrupt.
pub const INCOMPAT_CORRUPT: u64 = 1 << 1;
/// Incompatible feature: guest data lives in an external data file.
pub const INCOMPAT_DATA_FILE: u64 = 1 << 2;
/// Incompatible feature: the compression type field is used.
pub const INCOMPAT_COMPRESSION: u64 = 1 << 3;
/// Incompatible feature: extended L2 entries (subclusters).
pub const INCOMPAT_EXTL2: u64 = 1 << 4;

/// L1/L2 entry flag: the cluster's refcount is exactly one.
pub const COPIED: u64 = 1 << 63;
/// L2 entry flag: the cluster is compressed.
pub const COMPRESSED: u64 = 1 << 62;
/// Standard L2 entry flag (version 3): the cluster reads as zeros.
pub const ZERO: u64 = 1;
/// Host offset bits of an L1 entry or a standard L2 entry.
pub const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
/// Bits of a standard L2 entry that must be zero (besides the offset's low bits).
pub const L2_RESERVED: u64 = 0x3f00_0000_0000_01fe;
/// Bits of an L1 entry that must be zero.
pub const L1_RESERVED: u64 = 0x7f00_0000_0000_01ff;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

/// A QCOW2 header (version 2 or 3; extensions are not modelled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// 2 or 3.
    pub version: u32,
    /// Offset of the backing file name (0: none).
    pub backing_file_offset: u64,
    /// Length of the backing file name.
    pub backing_file_size: u32,
    /// log2 of the cluster size.
    pub cluster_bits: u32,
    /// Virtual disk size in bytes.
    pub size: u64,
    /// 0 none, 1 AES, 2 LUKS.
    pub crypt_method: u32,
    /// Entries in the active L1 table.
    pub l1_size: u32,
    /// Offset of the active L1 table.
    pub l1_table_offset: u64,
    /// Offset of the refcount table.
    pub refcount_table_offset: u64,
    /// Clusters the refcount table occupies.
    pub refcount_table_clusters: u32,
    /// Internal snapshots.
    pub nb_snapshots: u32,
    /// Offset of the snapshot table.
    pub snapshots_offset: u64,
    /// Incompatible feature bits (`INCOMPAT_*`; version 3).
    pub incompatible_features: u64,
    /// Compatible feature bits (version 3).
    pub compatible_features: u64,
    /// Auto-clear feature bits (version 3).
    pub autoclear_features: u64,
    /// log2 of the refcount width in bits (4 for version 2).
    pub refcount_order: u32,
    /// Header length in bytes.
    pub header_length: u32,
    /// Compression type (0 deflate, 1 zstd), when the header is long enough to hold it.
    pub compression_type: u8,
}

impl Header {
    /// Parses and validates the fields every reader needs. `bytes` is the start of the file
    /// (at least 104 bytes for version 3, 72 for version 2).
    ///
    /// # Errors
    ///
    /// [`Error::DiskHeader`] for a wrong magic, version, cluster size, refcount width or header
    /// length; [`Error::DiskUnsupported`] for encryption, a backing file, an external data
    /// file, extended L2 entries, zstd compression or unknown incompatible features.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bad = |reason: String| Error::DiskHeader {
            format: "qcow2",
            reason,
        };
        if bytes.len() < V2_HEADER_LEN as usize || bytes[..4] != MAGIC {
            return Err(bad("no QFI\\xfb magic: not a qcow2 image".into()));
        }
        let version = be32(bytes, 4);
        let mut h = Self {
            version,
            backing_file_offset: be64(bytes, 8),
            backing_file_size: be32(bytes, 16),
            cluster_bits: be32(bytes, 20),
            size: be64(bytes, 24),
            crypt_method: be32(bytes, 32),
            l1_size: be32(bytes, 36),
            l1_table_offset: be64(bytes, 40),
            refcount_table_offset: be64(bytes, 48),
            refcount_table_clusters: be32(bytes, 56),
            nb_snapshots: be32(bytes, 60),
            snapshots_offset: be64(bytes, 64),
            incompatible_features: 0,
            compatible_features: 0,
            autoclear_features: 0,
            refcount_order: 4,
            header_length: V2_HEADER_LEN,
            compression_type: 0,
        };
        match version {
            2 => {}
            3 => {
                if bytes.len() < V3_HEADER_LEN as usize {
                    return Err(bad("version 3 header is shorter than 104 bytes".into()));
                }
                h.incompatible_features = be64(bytes, 72);
                h.compatible_features = be64(bytes, 80);
                h.autoclear_features = be64(bytes, 88);
                h.refcount_order = be32(bytes, 96);
                h.header_length = be32(bytes, 100);
                if h.header_length < V3_HEADER_LEN || !h.header_length.is_multiple_of(8) {
                    return Err(bad(format!("invalid header length {}", h.header_length)));
                }
                if h.header_length > V3_HEADER_LEN {
                    h.compression_type = *bytes.get(104).ok_or_else(|| {
                        bad(
                            "header length covers the compression type but the header is cut"
                                .into(),
                        )
                    })?;
                }
            }
            v => return Err(bad(format!("unsupported version {v} (2 and 3 are read)"))),
        }
        if !CLUSTER_BITS_RANGE.contains(&h.cluster_bits) {
            return Err(bad(format!("invalid cluster_bits {}", h.cluster_bits)));
        }
        if u64::from(h.header_length) > h.cluster_size() {
            return Err(bad("header is larger than a cluster".into()));
        }
        if h.refcount_order > 6 {
            return Err(bad(format!("invalid refcount_order {}", h.refcount_order)));
        }
        if h.size > MAX_VIRTUAL_SIZE {
            return Err(bad(format!("virtual size {} is too large", h.size)));
        }
        let unsupported = |feature: String, hint: &'static str| Error::DiskUnsupported {
            format: "qcow2",
            feature,
            hint,
        };
        if h.backing_file_offset != 0 {
            return Err(unsupported(
                "a backing file".into(),
                "flatten it first (qemu-img convert -O qcow2 without -B, or qemu-img rebase -b '')",
            ));
        }
        if h.crypt_method != 0 {
            return Err(unsupported(
                format!("encryption (method {})", h.crypt_method),
                "decrypt it first (qemu-img convert with --object secret and --image-opts)",
            ));
        }
        if h.incompatible_features & INCOMPAT_DATA_FILE != 0 {
            return Err(unsupported(
                "an external data file".into(),
                "convert it into a self-contained image first (qemu-img convert -O qcow2)",
            ));
        }
        if h.incompatible_features & INCOMPAT_EXTL2 != 0 {
            return Err(unsupported(
                "extended L2 entries (subclusters)".into(),
                "convert it without extended_l2 first (qemu-img convert -O qcow2)",
            ));
        }
        if h.incompatible_features & INCOMPAT_CORRUPT != 0 {
            return Err(Error::DiskCorrupt {
                format: "qcow2",
                offset: 72,
                reason: "the image is marked corrupt; repair it with qemu-img check -r all".into(),
            });
        }
        if h.compression_type != 0 {
            return Err(unsupported(
                format!("compression type {} (zstd)", h.compression_type),
                "convert it with compression_type=zlib first",
            ));
        }
        let unknown = h.incompatible_features
            & !(INCOMPAT_DIRTY
                | INCOMPAT_COMPRESSION
                | INCOMPAT_CORRUPT
                | INCOMPAT_DATA_FILE
                | INCOMPAT_EXTL2);
        if unknown != 0 {
            return Err(unsupported(
                format!("unknown incompatible features {unknown:#x}"),
                "convert it with qemu-img first",
            ));
        }
        Ok(h)
    }

    /// Cluster size in bytes.
    pub fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }

    /// Entries in one L2 table.
    pub fn l2_entries(&self) -> u64 {
        self.cluster_size() / 8
    }

    /// Refcount width in bits.
    pub fn refcount_bits(&self) -> u32 {
        1 << self.refcount_order
    }

    /// Refcount entries in one refcount block.
    pub fn refcounts_per_block(&self) -> u64 {
        self.cluster_size() * 8 / u64::from(self.refcount_bits())
    }

    /// L1 entries needed to map the virtual size.
    pub fn l1_needed(&self) -> u64 {
        self.size
            .div_ceil(self.cluster_size())
            .div_ceil(self.l2_entries())
    }

    /// Bit position of the sector count in a compressed L2 entry.
    pub fn csize_shift(&self) -> u32 {
        62 - (self.cluster_bits - 8)
    }

    /// The header as written at the start of the file (the 8-byte end-of-extensions marker
    /// included).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.header_length as usize + 8);
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&self.version.to_be_bytes());
        b.extend_from_slice(&self.backing_file_offset.to_be_bytes());
        b.extend_from_slice(&self.backing_file_size.to_be_bytes());
        b.extend_from_slice(&self.cluster_bits.to_be_bytes());
        b.extend_from_slice(&self.size.to_be_bytes());
        b.extend_from_slice(&self.crypt_method.to_be_bytes());
        b.extend_from_slice(&self.l1_size.to_be_bytes());
        b.extend_from_slice(&self.l1_table_offset.to_be_bytes());
        b.extend_from_slice(&self.refcount_table_offset.to_be_bytes());
        b.extend_from_slice(&self.refcount_table_clusters.to_be_bytes());
        b.extend_from_slice(&self.nb_snapshots.to_be_bytes());
        b.extend_from_slice(&self.snapshots_offset.to_be_bytes());
        if self.version >= 3 {
            b.extend_from_slice(&self.incompatible_features.to_be_bytes());
            b.extend_from_slice(&self.compatible_features.to_be_bytes());
            b.extend_from_slice(&self.autoclear_features.to_be_bytes());
            b.extend_from_slice(&self.refcount_order.to_be_bytes());
            b.extend_from_slice(&self.header_length.to_be_bytes());
        }
        b.resize(self.header_length as usize + 8, 0);
        b
    }
}

/// A decoded L2 entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L2Entry {
    /// Not allocated: reads as zeros (there is no backing file).
    Unallocated,
    /// Reads as zeros (the zero flag), whatever cluster it may keep preallocated.
    Zero {
        /// The preallocated host cluster, or 0.
        offset: u64,
    },
    /// A standard data cluster at this host offset.
    Data {
        /// Host offset (cluster-aligned when valid).
        offset: u64,
    },
    /// A compressed cluster.
    Compressed {
        /// Host byte offset of the compressed data.
        offset: u64,
        /// 512-byte sectors the data may span, counted from the sector holding `offset`.
        sectors: u64,
    },
}

impl L2Entry {
    /// Decodes `raw` for an image with `cluster_bits`. `version` 2 has no zero flag.
    ///
    /// # Errors
    ///
    /// A reason string when reserved bits are set or a data offset is not cluster-aligned.
    pub fn decode(raw: u64, cluster_bits: u32, version: u32) -> std::result::Result<Self, String> {
        if raw & COMPRESSED != 0 {
            let shift = 62 - (cluster_bits - 8);
            let offset = raw & ((1u64 << shift) - 1);
            let sectors = ((raw & !COPIED & !COMPRESSED) >> shift) + 1;
            return Ok(Self::Compressed { offset, sectors });
        }
        if raw & L2_RESERVED != 0 {
            return Err(format!("l2 entry {raw:#018x} has reserved bits set"));
        }
        let offset = raw & OFFSET_MASK;
        if offset & ((1u64 << cluster_bits) - 1) != 0 {
            return Err(format!(
                "data cluster offset {offset:#x} is not cluster-aligned"
            ));
        }
        if version >= 3 && raw & ZERO != 0 {
            return Ok(Self::Zero { offset });
        }
        if offset == 0 {
            return Ok(Self::Unallocated);
        }
        Ok(Self::Data { offset })
    }
}

/// The compressed-cluster L2 entry for `len` bytes of deflate data at host byte `offset`.
pub fn compressed_entry(cluster_bits: u32, offset: u64, len: u64) -> u64 {
    let shift = 62 - (cluster_bits - 8);
    let extra = ((offset + len - 1) >> 9) - (offset >> 9);
    COMPRESSED | (extra << shift) | offset
}

/// The host byte range `[start, end)` a compressed entry accounts for (whole sectors, as
/// refcounting and qemu's reader see it).
pub fn compressed_span(offset: u64, sectors: u64) -> (u64, u64) {
    let start = offset & !511;
    (start, start + sectors * 512)
}

/// Reads refcount `index` from a refcount block of `refcount_bits` width.
pub fn refcount_at(block: &[u8], refcount_bits: u32, index: usize) -> u64 {
    match refcount_bits {
        64 => be64(block, index * 8),
        32 => u64::from(be32(block, index * 4)),
        16 => u64::from(u16::from_be_bytes([block[index * 2], block[index * 2 + 1]])),
        8 => u64::from(block[index]),
        bits => {
            // 1, 2 or 4 bits: the first entry in the lowest bits of a byte
            let per_byte = 8 / bits as usize;
            let byte = block[index / per_byte];
            let shift = (index % per_byte) as u32 * bits;
            u64::from(byte >> shift) & ((1 << bits) - 1)
        }
    }
}

/// Where the front structures of an image written by [`Qcow2Encoder`] go, from the virtual
/// size alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// log2 of the cluster size.
    pub cluster_bits: u32,
    /// Virtual size in bytes.
    pub size: u64,
    /// L1 entries.
    pub l1_size: u64,
    /// Offset of the L1 table (cluster 1).
    pub l1_offset: u64,
    /// Offset of the refcount table.
    pub reftable_offset: u64,
    /// Clusters reserved for the refcount table (enough for the largest file possible).
    pub reftable_clusters: u64,
    /// Offset of the first data cluster.
    pub data_start: u64,
}

impl Plan {
    /// Plans an image of `size` bytes with 64 KiB clusters.
    ///
    /// # Errors
    ///
    /// [`Error::DiskHeader`] for a size of 0 or above [`MAX_VIRTUAL_SIZE`].
    pub fn new(size: u64) -> Result<Self> {
        Self::with_cluster_bits(size, DEFAULT_CLUSTER_BITS)
    }

    /// Plans an image of `size` bytes with `1 << cluster_bits` clusters (12 to 21).
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), and for a cluster size outside 4 KiB..=2 MiB.
    pub fn with_cluster_bits(size: u64, cluster_bits: u32) -> Result<Self> {
        let bad = |reason: String| Error::DiskHeader {
            format: "qcow2",
            reason,
        };
        if size == 0 || size > MAX_VIRTUAL_SIZE {
            return Err(bad(format!(
                "cannot write a virtual size of {size} bytes (1 to {MAX_VIRTUAL_SIZE})"
            )));
        }
        if !(12..=21).contains(&cluster_bits) {
            return Err(bad(format!("cannot write cluster_bits {cluster_bits}")));
        }
        let cs = 1u64 << cluster_bits;
        let guest_clusters = size.div_ceil(cs);
        let l1_size = guest_clusters.div_ceil(cs / 8);
        let l1_clusters = (l1_size * 8).div_ceil(cs);
        let per_block = cs * 8 / 16;
        // The largest file: header, L1, refcount table, every guest cluster twice (a
        // compressed cluster's partial host cluster wasted before each raw one), every L2 table
        // and the refcount blocks covering all of it.
        let mut rt_clusters = 1;
        loop {
            let base = 1 + l1_clusters + rt_clusters + 2 * guest_clusters + l1_size + 1;
            let blocks = base.div_ceil(per_block - 1) + 1;
            let need = (blocks * 8).div_ceil(cs);
            if need <= rt_clusters {
                break;
            }
            rt_clusters = need;
        }
        Ok(Self {
            cluster_bits,
            size,
            l1_size,
            l1_offset: cs,
            reftable_offset: cs * (1 + l1_clusters),
            reftable_clusters: rt_clusters,
            data_start: cs * (1 + l1_clusters + rt_clusters),
        })
    }

    /// Cluster size in bytes.
    pub fn cluster_size(&self) -> u64 {
        1 << self.cluster_bits
    }

    /// The header of the planned image.
    pub fn header(&self) -> Header {
        Header {
            version: 3,
            backing_file_offset: 0,
            backing_file_size: 0,
            cluster_bits: self.cluster_bits,
            size: self.size,
            crypt_method: 0,
            l1_size: self.l1_size as u32,
            l1_table_offset: self.l1_offset,
            refcount_table_offset: self.reftable_offset,
            refcount_table_clusters: self.reftable_clusters as u32,
            nb_snapshots: 0,
            snapshots_offset: 0,
            incompatible_features: 0,
            compatible_features: 0,
            autoclear_features: 0,
            refcount_order: DEFAULT_REFCOUNT_ORDER,
            header_length: V3_HEADER_LEN,
            compression_type: 0,
        }
    }
}

/// What [`Qcow2Encoder::finish`] leaves for the shell: bytes to write back at the front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patches {
    /// `(offset, bytes)` to write over the zeros written at the start.
    pub writes: Vec<(u64, Vec<u8>)>,
    /// The final file size.
    pub file_size: u64,
}

/// Turns guest clusters, given in ascending order, into the bytes of an image (see the
/// [module documentation](self) for the layout). It tracks every host cluster's refcount, so
/// the refcount blocks it writes at the end are exact.
#[derive(Debug)]
pub struct Qcow2Encoder {
    plan: Plan,
    pos: u64,
    refcounts: Vec<u16>,
    l1: Vec<u64>,
    l2: Vec<u64>,
    region: Option<u64>,
    next_guest: u64,
    data_clusters: u64,
    compressed_clusters: u64,
}

impl Qcow2Encoder {
    /// Starts an image: the encoder and the bytes of its front (header, zeroed L1 and refcount
    /// tables), to be written first.
    pub fn start(plan: Plan) -> (Self, Vec<u8>) {
        let mut front = plan.header().to_bytes();
        front.resize(plan.data_start as usize, 0);
        let cs = plan.cluster_size();
        let front_clusters = plan.data_start / cs;
        let enc = Self {
            pos: plan.data_start,
            refcounts: vec![1; front_clusters as usize],
            l1: vec![0; plan.l1_size as usize],
            l2: Vec::new(),
            region: None,
            next_guest: 0,
            data_clusters: 0,
            compressed_clusters: 0,
            plan,
        };
        (enc, front)
    }

    /// Bytes of image produced so far (the front included).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Guest clusters stored so far (raw or compressed).
    pub fn data_clusters(&self) -> u64 {
        self.data_clusters
    }

    /// Of those, the compressed ones.
    pub fn compressed_clusters(&self) -> u64 {
        self.compressed_clusters
    }

    fn inc(&mut self, start: u64, end: u64) {
        let bits = self.plan.cluster_bits;
        let (first, last) = (start >> bits, (end - 1) >> bits);
        if self.refcounts.len() <= last as usize {
            self.refcounts.resize(last as usize + 1, 0);
        }
        for c in first..=last {
            let r = &mut self.refcounts[c as usize];
            *r = r.saturating_add(1);
        }
    }

    fn align(&mut self, out: &mut Vec<u8>) {
        let cs = self.plan.cluster_size();
        let aligned = self.pos.next_multiple_of(cs);
        out.resize(out.len() + (aligned - self.pos) as usize, 0);
        self.pos = aligned;
    }

    fn enter(&mut self, guest: u64, out: &mut Vec<u8>) -> Result<usize> {
        let max = self.plan.size.div_ceil(self.plan.cluster_size());
        if guest < self.next_guest || guest >= max {
            return Err(Error::DiskHeader {
                format: "qcow2",
                reason: format!("guest cluster {guest} given out of order or past the end"),
            });
        }
        self.next_guest = guest + 1;
        let per = self.plan.cluster_size() / 8;
        let region = guest / per;
        if self.region != Some(region) {
            self.flush_l2(out);
            self.region = Some(region);
            self.l2.clear();
            self.l2.resize(per as usize, 0);
        }
        Ok((guest % per) as usize)
    }

    fn flush_l2(&mut self, out: &mut Vec<u8>) {
        let Some(region) = self.region.take() else {
            return;
        };
        if self.l2.iter().all(|&e| e == 0) {
            return;
        }
        self.align(out);
        let at = self.pos;
        for e in &self.l2 {
            out.extend_from_slice(&e.to_be_bytes());
        }
        let cs = self.plan.cluster_size();
        self.pos += cs;
        self.inc(at, at + cs);
        self.l1[region as usize] = at | COPIED;
    }

    /// Appends guest cluster `guest` stored as it is (`data` is one cluster, or less for the
    /// last cluster of the disk, padded with zeros here).
    ///
    /// # Errors
    ///
    /// [`Error::DiskHeader`] when clusters are not given in ascending order or past the end.
    pub fn raw_cluster(&mut self, guest: u64, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.place_raw(guest, out)?;
        let cs = self.plan.cluster_size() as usize;
        out.extend_from_slice(&data[..data.len().min(cs)]);
        out.resize(out.len() + cs.saturating_sub(data.len()), 0);
        Ok(())
    }

    /// [`raw_cluster`](Self::raw_cluster) without the data: appends to `out` only what goes
    /// before the cluster (padding, a finished L2 table); the caller writes the cluster's bytes
    /// (exactly one cluster) right after `out`, which saves copying them.
    ///
    /// # Errors
    ///
    /// As [`raw_cluster`](Self::raw_cluster).
    pub fn place_raw(&mut self, guest: u64, out: &mut Vec<u8>) -> Result<()> {
        let idx = self.enter(guest, out)?;
        self.align(out);
        let cs = self.plan.cluster_size();
        let at = self.pos;
        self.pos += cs;
        self.inc(at, at + cs);
        self.l2[idx] = at | COPIED;
        self.data_clusters += 1;
        Ok(())
    }

    /// Appends guest cluster `guest` as raw deflate data (at most a cluster), packed right after
    /// the previous compressed cluster.
    ///
    /// # Errors
    ///
    /// As [`raw_cluster`](Self::raw_cluster), and [`Error::DiskHeader`] when `deflated` is
    /// empty or longer than a cluster.
    pub fn compressed_cluster(
        &mut self,
        guest: u64,
        deflated: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let cs = self.plan.cluster_size();
        if deflated.is_empty() || deflated.len() as u64 > cs {
            return Err(Error::DiskHeader {
                format: "qcow2",
                reason: format!("compressed cluster of {} bytes", deflated.len()),
            });
        }
        let idx = self.enter(guest, out)?;
        let at = self.pos;
        let len = deflated.len() as u64;
        out.extend_from_slice(deflated);
        self.pos += len;
        let entry = compressed_entry(self.plan.cluster_bits, at, len);
        let sectors = ((entry & !COMPRESSED) >> (62 - (self.plan.cluster_bits - 8))) + 1;
        let (start, end) = compressed_span(at, sectors);
        self.inc(start, end);
        self.l2[idx] = entry;
        self.data_clusters += 1;
        self.compressed_clusters += 1;
        Ok(())
    }

    /// Ends the image: appends the last L2 table and the refcount blocks to `out` and returns
    /// the L1 and refcount tables to write back at their offsets.
    ///
    /// # Errors
    ///
    /// [`Error::DiskHeader`] when a refcount overflowed 16 bits or the reserved refcount table
    /// is too small (neither happens with clusters from a real disk).
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<Patches> {
        self.flush_l2(out);
        self.align(out);
        let cs = self.plan.cluster_size();
        let per_block = cs * 8 / 16;
        let n0 = self.pos / cs;
        let mut blocks = n0.div_ceil(per_block);
        while (n0 + blocks).div_ceil(per_block) > blocks {
            blocks += 1;
        }
        if blocks * 8 > self.plan.reftable_clusters * cs {
            return Err(Error::DiskHeader {
                format: "qcow2",
                reason: "refcount table reserve exceeded".into(),
            });
        }
        let first_block = self.pos;
        self.inc(first_block, first_block + blocks * cs);
        if self.refcounts.contains(&u16::MAX) {
            return Err(Error::DiskHeader {
                format: "qcow2",
                reason: "a cluster's refcount exceeds 16 bits".into(),
            });
        }
        self.refcounts.resize((n0 + blocks) as usize, 0);
        let mut reftable = Vec::with_capacity((blocks * 8) as usize);
        for b in 0..blocks {
            reftable.extend_from_slice(&(first_block + b * cs).to_be_bytes());
            let start = out.len();
            let lo = (b * per_block) as usize;
            let hi = (lo + per_block as usize).min(self.refcounts.len());
            for r in &self.refcounts[lo..hi] {
                out.extend_from_slice(&r.to_be_bytes());
            }
            out.resize(start + cs as usize, 0);
        }
        self.pos += blocks * cs;
        let mut l1 = Vec::with_capacity(self.l1.len() * 8);
        for e in &self.l1 {
            l1.extend_from_slice(&e.to_be_bytes());
        }
        Ok(Patches {
            writes: vec![
                (self.plan.l1_offset, l1),
                (self.plan.reftable_offset, reftable),
            ],
            file_size: self.pos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_for_two_gib() {
        let p = Plan::new(2 << 30).unwrap();
        assert_eq!(p.l1_size, 4);
        assert_eq!(p.l1_offset, 65_536);
        assert_eq!(p.reftable_offset, 131_072);
        assert_eq!(p.reftable_clusters, 1);
        assert_eq!(p.data_start, 196_608);
        let h = Header::parse(&p.header().to_bytes()).unwrap();
        assert_eq!(h, p.header());
        assert_eq!(h.l1_needed(), 4);
        assert!(Plan::new(0).is_err());
        assert!(Plan::new(MAX_VIRTUAL_SIZE + 1).is_err());
    }

    #[test]
    fn compressed_entries_round_trip() {
        for (off, len) in [
            (196_608u64, 100u64),
            (200_000, 512),
            (65_535, 2),
            (1 << 40, 65_536),
        ] {
            let e = compressed_entry(16, off, len);
            let L2Entry::Compressed { offset, sectors } = L2Entry::decode(e, 16, 3).unwrap() else {
                panic!("not compressed");
            };
            assert_eq!(offset, off);
            let (s, end) = compressed_span(offset, sectors);
            assert!(s <= off && end >= off + len && end - (off + len) < 512);
        }
    }

    #[test]
    fn l2_entries_decode() {
        assert_eq!(L2Entry::decode(0, 16, 3), Ok(L2Entry::Unallocated));
        assert_eq!(L2Entry::decode(1, 16, 3), Ok(L2Entry::Zero { offset: 0 }));
        assert_eq!(
            L2Entry::decode(COPIED | 0x30000, 16, 3),
            Ok(L2Entry::Data { offset: 0x30000 })
        );
        assert!(L2Entry::decode(0x30200, 16, 3).is_err());
        assert!(L2Entry::decode(0x30002, 16, 3).is_err());
    }

    #[test]
    fn refcount_widths() {
        let block = [0b1011_0100u8, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 9];
        assert_eq!(refcount_at(&block, 1, 2), 1);
        assert_eq!(refcount_at(&block, 2, 1), 1);
        assert_eq!(refcount_at(&block, 4, 1), 0b1011);
        assert_eq!(refcount_at(&block, 8, 1), 0x12);
        assert_eq!(refcount_at(&block, 16, 1), 0x3456);
        assert_eq!(refcount_at(&block, 32, 1), 0x7800_0000);
    }

    #[test]
    fn encoder_counts_every_cluster_once() {
        let plan = Plan::new(3 << 29).unwrap(); // 1.5 GiB: 3 L2 regions
        let (mut enc, mut out) = Qcow2Encoder::start(plan.clone());
        let cluster = vec![7u8; 65_536];
        enc.raw_cluster(0, &cluster, &mut out).unwrap();
        enc.compressed_cluster(1, &[1, 2, 3], &mut out).unwrap();
        enc.compressed_cluster(2, &[4; 700], &mut out).unwrap();
        enc.raw_cluster(3, &cluster[..100], &mut out).unwrap();
        enc.raw_cluster(20_000, &cluster, &mut out).unwrap();
        assert!(enc.raw_cluster(5, &cluster, &mut out).is_err());
        let p = enc.finish(&mut out).unwrap();
        assert_eq!(p.file_size, out.len() as u64);
        for (at, bytes) in &p.writes {
            out[*at as usize..*at as usize + bytes.len()].copy_from_slice(bytes);
        }
        // front 3, data 1 + 1 (two compressed packed) + 1, L2 for region 0, data + L2 for
        // region 2, one refcount block
        assert_eq!(out.len(), 65_536 * 10);
        let rb = &out[9 * 65_536..];
        let counts: Vec<u64> = (0..11).map(|i| refcount_at(rb, 16, i)).collect();
        assert_eq!(counts, vec![1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 0]);
        let h = Header::parse(&out).unwrap();
        assert_eq!(h.l1_size, 3);
        let l1 = &out[65_536..65_536 + 24];
        assert_eq!(be64(l1, 0), COPIED | (6 * 65_536));
        assert_eq!(be64(l1, 8), 0);
        assert_eq!(be64(l1, 16), COPIED | (8 * 65_536));
    }
}
