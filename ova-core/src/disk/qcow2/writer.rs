//! Raw disk bytes → QCOW2 (version 3), optionally compressed on every core, in one pass.

use std::io::{Read, Seek, SeekFrom, Write};

use super::layout::{Plan, Qcow2Encoder};
use crate::disk::pipeline::{self, Unit};
use crate::progress::{Progress, no_progress};
use crate::{Error, Result};

/// Clusters handed to a worker at once (2 MiB of raw input with 64 KiB clusters).
const BATCH_CLUSTERS: usize = 32;

/// What [`Qcow2Writer::write`] produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Qcow2Summary {
    /// Bytes of image written (the file size).
    pub bytes_written: u64,
    /// Virtual disk size in bytes (the raw input size rounded up to a 512-byte sector).
    pub virtual_size: u64,
    /// Guest clusters stored (clusters that are not all zeros).
    pub data_clusters: u64,
    /// Of those, stored compressed.
    pub compressed_clusters: u64,
}

/// Writes QCOW2 version 3 images as qemu-img reads and checks them: 64 KiB clusters, 16-bit
/// refcounts, all-zero clusters left unallocated (never written), and with
/// [`with_compression`](Self::with_compression) clusters stored as raw deflate wherever that
/// saves space (qemu's compressed-cluster descriptors), compressed on every core while keeping
/// their order.
///
/// The input is read once, sequentially (a file, a pipe, a VMDK or an OVA entry being
/// decoded). The output must be seekable: the header and the space of the L1 and refcount
/// tables are written first (their sizes follow from the virtual size), the data and L2 tables
/// follow, the refcount blocks end the file and the two tables are written back over their
/// reserved space. No temporary file is used and memory stays bounded: a few MiB of batches in
/// flight, one L2 table, and two bytes per cluster of output for the refcounts.
///
/// ```
/// use std::io::Cursor;
/// use ova_core::disk::qcow2::{Qcow2Reader, Qcow2Writer};
/// let raw: Vec<u8> = (0..300_000u32).map(|i| (i / 1000) as u8).collect();
/// let mut image = Cursor::new(Vec::new());
/// let summary = Qcow2Writer::new().with_compression(true).write(&raw[..], raw.len() as u64, &mut image)?;
/// assert_eq!(summary.virtual_size, 300_032); // a whole number of sectors
/// let mut back = Vec::new();
/// Qcow2Reader::new(image)?.copy_to(&mut back)?;
/// assert_eq!(&back[..300_000], &raw[..]);
/// # Ok::<(), ova_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Qcow2Writer {
    compress: bool,
    level: i32,
    threads: usize,
    cluster_bits: u32,
}

impl Default for Qcow2Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Qcow2Writer {
    /// Default deflate level for compressed clusters (libdeflate level 5, as the VMDK writer).
    pub const DEFAULT_LEVEL: i32 = 5;

    /// A writer with the defaults: no compression, level 5 when compressing, one thread per
    /// core, 64 KiB clusters.
    pub fn new() -> Self {
        Self {
            compress: false,
            level: Self::DEFAULT_LEVEL,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cluster_bits: super::layout::DEFAULT_CLUSTER_BITS,
        }
    }

    /// Store clusters compressed (deflate) where that saves space, as `qemu-img convert -c`.
    pub fn with_compression(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Compression level, 1 (fastest) to 12 (smallest); clamped to that range.
    pub fn with_level(mut self, level: i32) -> Self {
        self.level = level.clamp(1, 12);
        self
    }

    /// Number of worker threads (at least 1).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Cluster size as a power of two, 12 (4 KiB) to 21 (2 MiB); the default is 16 (64 KiB).
    pub fn with_cluster_bits(mut self, bits: u32) -> Self {
        self.cluster_bits = bits;
        self
    }

    /// Converts `size` raw bytes read from `input` into a QCOW2 image written to `output`
    /// from its current position 0 (a new file). The virtual size is `size` rounded up to a
    /// whole sector, as qemu-img makes it; the missing bytes read as zeros.
    ///
    /// # Errors
    ///
    /// [`Error::VmdkInputSize`] when `input` holds fewer or more than `size` bytes,
    /// [`Error::DiskIo`] when reading or writing fails, [`Error::DiskHeader`] for a size of 0
    /// or above 64 TiB.
    pub fn write<R: Read, W: Write + Seek>(
        &self,
        input: R,
        size: u64,
        output: W,
    ) -> Result<Qcow2Summary> {
        self.write_progress(input, size, output, &mut no_progress)
    }

    /// [`write`](Self::write) with a [`Progress`] callback, called with the raw bytes read
    /// after each batch of 2 MiB.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write), and [`Error::Cancelled`] when `progress` stops it (the output
    /// then holds an incomplete image, to be thrown away).
    pub fn write_progress<R: Read, W: Write + Seek>(
        &self,
        mut input: R,
        size: u64,
        mut output: W,
        progress: Progress<'_>,
    ) -> Result<Qcow2Summary> {
        // qemu counts a disk in whole sectors (it truncates a QCOW2's size to them and rounds a
        // raw file's up), so the size is rounded up to a sector, the tail reading as zeros
        let virtual_size = size.next_multiple_of(512);
        let plan = Plan::with_cluster_bits(virtual_size, self.cluster_bits)?;
        let cs = plan.cluster_size() as usize;
        let (mut enc, front) = Qcow2Encoder::start(plan);
        let write_err = |source| Error::DiskIo {
            op: "writing the qcow2 image",
            source,
        };
        output.write_all(&front).map_err(write_err)?;
        let mut buf: Vec<u8> = Vec::with_capacity(4 << 20);
        let pipe = pipeline::Plan {
            unit: cs,
            batch_units: (BATCH_CLUSTERS * 65_536 / cs).max(1),
            threads: self.threads,
            deflate_level: self.compress.then_some(self.level),
        };
        pipeline::run(&mut input, size, pipe, progress, |batch| {
            // a run of raw clusters contiguous in both the batch and the image
            let mut run: Option<(usize, usize)> = None;
            for (i, unit) in batch.units.iter().enumerate() {
                let guest = batch.first + i as u64;
                match unit {
                    Unit::Zero => {}
                    Unit::Raw => {
                        enc.place_raw(guest, &mut buf)?;
                        if !buf.is_empty() {
                            flush_run(&mut output, &batch.data, &mut run, cs)?;
                            output.write_all(&buf).map_err(write_err)?;
                            buf.clear();
                        }
                        match &mut run {
                            Some((start, n)) if *start + *n == i => *n += 1,
                            _ => {
                                flush_run(&mut output, &batch.data, &mut run, cs)?;
                                run = Some((i, 1));
                            }
                        }
                    }
                    Unit::Deflated(d) => {
                        flush_run(&mut output, &batch.data, &mut run, cs)?;
                        enc.compressed_cluster(guest, d, &mut buf)?;
                    }
                }
            }
            if !buf.is_empty() {
                flush_run(&mut output, &batch.data, &mut run, cs)?;
                output.write_all(&buf).map_err(write_err)?;
                buf.clear();
            }
            flush_run(&mut output, &batch.data, &mut run, cs)
        })?;
        let summary = Qcow2Summary {
            bytes_written: 0,
            virtual_size,
            data_clusters: enc.data_clusters(),
            compressed_clusters: enc.compressed_clusters(),
        };
        let patches = enc.finish(&mut buf)?;
        output.write_all(&buf).map_err(write_err)?;
        for (at, bytes) in &patches.writes {
            output.seek(SeekFrom::Start(*at)).map_err(write_err)?;
            output.write_all(bytes).map_err(write_err)?;
        }
        output
            .seek(SeekFrom::Start(patches.file_size))
            .map_err(write_err)?;
        output.flush().map_err(write_err)?;
        Ok(Qcow2Summary {
            bytes_written: patches.file_size,
            ..summary
        })
    }
}

fn flush_run<W: Write>(
    output: &mut W,
    data: &[u8],
    run: &mut Option<(usize, usize)>,
    cs: usize,
) -> Result<()> {
    if let Some((start, n)) = run.take() {
        output
            .write_all(&data[start * cs..(start + n) * cs])
            .map_err(|source| Error::DiskIo {
                op: "writing the qcow2 image",
                source,
            })?;
    }
    Ok(())
}
