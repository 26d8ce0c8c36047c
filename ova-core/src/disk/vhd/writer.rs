//! Raw disk bytes → dynamic VHD, in one pass.

use std::io::{Read, Seek, SeekFrom, Write};

use super::layout::{DEFAULT_BLOCK_SIZE, Plan, VhdEncoder};
use crate::disk::pipeline::{self, Unit};
use crate::progress::{Progress, no_progress};
use crate::{Error, Result};

/// What [`VhdWriter::write`] produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VhdSummary {
    /// Bytes of image written (the file size).
    pub bytes_written: u64,
    /// Virtual disk size in bytes (the raw size rounded up to the CHS geometry).
    pub virtual_size: u64,
    /// 2 MiB blocks stored (blocks that are not all zeros).
    pub blocks: u64,
}

/// Writes dynamic VHDs as `qemu-img convert -O vpc -o subformat=dynamic` does: footer copy,
/// dynamic header, BAT, 2 MiB blocks each behind an all-ones sector bitmap, footer; the size
/// rounded up to the CHS geometry (see [`layout`](super::layout)); all-zero blocks left
/// unallocated.
///
/// The input is read once, sequentially; the output must be seekable (the BAT is written back
/// at the end). No temporary file is used.
///
/// ```
/// use std::io::Cursor;
/// use ova_core::disk::vhd::{VhdReader, VhdWriter};
/// let raw = vec![5u8; 3 << 20];
/// let mut image = Cursor::new(Vec::new());
/// let summary = VhdWriter::new().write(&raw[..], raw.len() as u64, &mut image)?;
/// assert_eq!(summary.blocks, 2);
/// let mut back = Vec::new();
/// VhdReader::new(image)?.copy_to(&mut back)?;
/// assert_eq!(&back[..raw.len()], &raw[..]);
/// assert!(back[raw.len()..].iter().all(|&b| b == 0));
/// # Ok::<(), ova_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct VhdWriter {
    threads: usize,
    timestamp: Option<u64>,
    uuid: Option<[u8; 16]>,
}

impl Default for VhdWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl VhdWriter {
    /// A writer with the defaults: one thread per core, the current time, a fresh unique id.
    pub fn new() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timestamp: None,
            uuid: None,
        }
    }

    /// Number of worker threads (at least 1) finding the all-zero blocks.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// A fixed creation time (seconds since the Unix epoch), for reproducible output.
    pub fn with_timestamp(mut self, unix_seconds: u64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// A fixed unique id, for reproducible output.
    pub fn with_uuid(mut self, uuid: [u8; 16]) -> Self {
        self.uuid = Some(uuid);
        self
    }

    fn plan(&self, size: u64) -> Result<Plan> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let uuid = self.uuid.unwrap_or_else(|| {
            // a version 4 UUID from the clock and the process id
            let seed = now.as_nanos() ^ (u128::from(std::process::id()) << 64);
            let mut v = seed
                .wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
                .to_be_bytes();
            v[6] = (v[6] & 0x0f) | 0x40;
            v[8] = (v[8] & 0x3f) | 0x80;
            v
        });
        Plan::new(size, self.timestamp.unwrap_or(now.as_secs()), uuid)
    }

    /// Converts `size` raw bytes read from `input` into a dynamic VHD written to `output`
    /// (a new, seekable file).
    ///
    /// # Errors
    ///
    /// [`Error::VmdkInputSize`] when `input` holds fewer or more than `size` bytes,
    /// [`Error::DiskIo`] when reading or writing fails, [`Error::DiskHeader`] for a size of 0
    /// or above 2040 GiB.
    pub fn write<R: Read, W: Write + Seek>(
        &self,
        input: R,
        size: u64,
        output: W,
    ) -> Result<VhdSummary> {
        self.write_progress(input, size, output, &mut no_progress)
    }

    /// [`write`](Self::write) with a [`Progress`] callback, called with the raw bytes read
    /// after each batch of 4 MiB.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write), and [`Error::Cancelled`] when `progress` stops it.
    pub fn write_progress<R: Read, W: Write + Seek>(
        &self,
        mut input: R,
        size: u64,
        mut output: W,
        progress: Progress<'_>,
    ) -> Result<VhdSummary> {
        let plan = self.plan(size)?;
        let virtual_size = plan.virtual_size();
        let (mut enc, front) = VhdEncoder::start(plan);
        let write_err = |source| Error::DiskIo {
            op: "writing the vhd image",
            source,
        };
        output.write_all(&front).map_err(write_err)?;
        let block = DEFAULT_BLOCK_SIZE as usize;
        let pipe = pipeline::Plan {
            unit: block,
            batch_units: 2,
            threads: self.threads,
            deflate_level: None,
        };
        let mut buf = Vec::with_capacity(512);
        pipeline::run(&mut input, size, pipe, progress, |batch| {
            for (i, unit) in batch.units.iter().enumerate() {
                if matches!(unit, Unit::Zero) {
                    continue;
                }
                enc.place_block(batch.first + i as u64, &mut buf)?;
                output.write_all(&buf).map_err(write_err)?;
                buf.clear();
                output
                    .write_all(&batch.data[i * block..(i + 1) * block])
                    .map_err(write_err)?;
            }
            Ok(())
        })?;
        let blocks = enc.blocks();
        let (bat_at, bat, file_size) = enc.finish(&mut buf);
        output.write_all(&buf).map_err(write_err)?;
        output.seek(SeekFrom::Start(bat_at)).map_err(write_err)?;
        output.write_all(&bat).map_err(write_err)?;
        output.seek(SeekFrom::Start(file_size)).map_err(write_err)?;
        output.flush().map_err(write_err)?;
        Ok(VhdSummary {
            bytes_written: file_size,
            virtual_size,
            blocks,
        })
    }
}
