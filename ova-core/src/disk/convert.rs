//! The IO shell: any image (or an OVA's disk) → any format, written atomically.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::qcow2::{Qcow2Info, Qcow2Reader, Qcow2Writer};
use super::vhd::{VhdInfo, VhdReader, VhdWriter};
use super::{Format, detect_reader};
use crate::ovf::HostResource;
use crate::package::Ova;
use crate::progress::{Progress, report};
use crate::vmdk::{StreamReader, VmdkInfo, VmdkWriter};
use crate::write::StreamingFile;
use crate::{Error, Result};

/// How [`convert_file`] and [`convert_ova_disk`] write.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// The output format.
    pub to: Format,
    /// Compress (QCOW2: deflate clusters, as `qemu-img convert -c`; VMDK is always
    /// compressed; raw and VHD cannot be).
    pub compress: bool,
    /// Deflate level, 1 to 12 (default 5).
    pub level: Option<i32>,
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
}

impl ConvertOptions {
    /// Options writing `to`, uncompressed, with the default level and threads.
    pub fn new(to: Format) -> Self {
        Self {
            to,
            compress: false,
            level: None,
            threads: None,
        }
    }

    /// Compress the output (QCOW2 only; see [`ConvertOptions::compress`]).
    pub fn with_compression(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Deflate level, 1 (fastest) to 12 (smallest).
    pub fn with_level(mut self, level: i32) -> Self {
        self.level = Some(level);
        self
    }

    /// Worker threads.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }
}

/// What a conversion did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConvertSummary {
    /// The input's format.
    pub from: Format,
    /// The output's format.
    pub to: Format,
    /// The input's virtual size in bytes.
    pub source_size: u64,
    /// The output's virtual size in bytes (VHD rounds up to its geometry, VMDK to a sector).
    pub virtual_size: u64,
    /// Bytes written (the output file's size).
    pub bytes_written: u64,
}

/// What [`info_file`] found, per format.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "format", rename_all = "lowercase")]
#[non_exhaustive]
pub enum DiskInfo {
    /// A raw image.
    Raw {
        /// Its size, which is the virtual size.
        file_size: u64,
    },
    /// A stream-optimized VMDK.
    Vmdk(VmdkInfo),
    /// A QCOW2 image.
    Qcow2(Qcow2Info),
    /// A VHD image.
    Vhd(VhdInfo),
}

impl DiskInfo {
    /// The format.
    pub fn format(&self) -> Format {
        match self {
            Self::Raw { .. } => Format::Raw,
            Self::Vmdk(_) => Format::Vmdk,
            Self::Qcow2(_) => Format::Qcow2,
            Self::Vhd(_) => Format::Vhd,
        }
    }

    /// The virtual disk size in bytes.
    pub fn virtual_size(&self) -> u64 {
        match self {
            Self::Raw { file_size } => *file_size,
            Self::Vmdk(i) => i.capacity,
            Self::Qcow2(i) => i.virtual_size,
            Self::Vhd(i) => i.virtual_size,
        }
    }

    /// The file size in bytes.
    pub fn file_size(&self) -> u64 {
        match self {
            Self::Raw { file_size } => *file_size,
            Self::Vmdk(i) => i.file_size,
            Self::Qcow2(i) => i.file_size,
            Self::Vhd(i) => i.file_size,
        }
    }

    /// Problems found that do not stop reading (none for raw).
    pub fn problems(&self) -> Vec<String> {
        match self {
            Self::Raw { .. } => Vec::new(),
            Self::Vmdk(i) => i.problems.iter().map(ToString::to_string).collect(),
            Self::Qcow2(i) => i.problems.clone(),
            Self::Vhd(i) => i.problems.clone(),
        }
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

fn descriptor_error(path: &Path) -> Error {
    Error::DiskUnsupported {
        format: "vmdk",
        feature: format!("a text descriptor ({})", path.display()),
        hint: "convert the extent file it names instead",
    }
}

/// Detects the format of the image at `path` and checks its structure (for QCOW2 and VHD
/// every table; for VMDK a walk of the markers).
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be opened; the format's reader errors otherwise.
pub fn info_file(path: impl AsRef<Path>) -> Result<DiskInfo> {
    let path = path.as_ref();
    let mut file = open(path)?;
    match detect_reader(&mut file)? {
        Format::Raw => Ok(DiskInfo::Raw {
            file_size: file.metadata().map(|m| m.len()).unwrap_or(0),
        }),
        Format::Vmdk => {
            if crate::vmdk::detect_file(path)? == crate::vmdk::DiskKind::DescriptorVmdk {
                return Err(descriptor_error(path));
            }
            Ok(DiskInfo::Vmdk(crate::vmdk::inspect(BufReader::new(file))?))
        }
        Format::Qcow2 => Ok(DiskInfo::Qcow2(Qcow2Reader::new(file)?.info().clone())),
        Format::Vhd => Ok(DiskInfo::Vhd(VhdReader::new(file)?.info().clone())),
    }
}

/// An opened source: the raw disk as a stream, and its size.
struct Source<'a> {
    format: Format,
    size: u64,
    raw: Box<dyn Read + 'a>,
}

fn open_source(path: &Path) -> Result<Source<'static>> {
    let mut file = open(path)?;
    let format = detect_reader(&mut file)?;
    Ok(match format {
        Format::Raw => Source {
            format,
            size: file.metadata().map(|m| m.len()).unwrap_or(0),
            raw: Box::new(BufReader::with_capacity(1 << 20, file)),
        },
        Format::Vmdk => {
            if crate::vmdk::detect_file(path)? == crate::vmdk::DiskKind::DescriptorVmdk {
                return Err(descriptor_error(path));
            }
            let r = StreamReader::new(BufReader::with_capacity(1 << 20, file))?;
            Source {
                format,
                size: r.capacity(),
                raw: Box::new(r),
            }
        }
        Format::Qcow2 => {
            let r = Qcow2Reader::new(BufReader::with_capacity(1 << 16, file))?;
            Source {
                format,
                size: r.virtual_size(),
                raw: Box::new(r),
            }
        }
        Format::Vhd => {
            let r = VhdReader::new(BufReader::with_capacity(1 << 16, file))?;
            Source {
                format,
                size: r.virtual_size(),
                raw: Box::new(r),
            }
        }
    })
}

/// Unwraps the crate error a reader put inside an `io::Error` (so a corrupt source reports as
/// itself, not as an I/O error).
fn source_error(e: Error) -> Error {
    match e {
        Error::DiskIo { source, op } if source.get_ref().is_some_and(|i| i.is::<Error>()) => {
            match source.into_inner().map(|b| b.downcast::<Error>()) {
                Some(Ok(inner)) => *inner,
                _ => Error::DiskIo {
                    op,
                    source: std::io::Error::other("reading the source disk"),
                },
            }
        }
        Error::VmdkIo { source, op } if source.get_ref().is_some_and(|i| i.is::<Error>()) => {
            match source.into_inner().map(|b| b.downcast::<Error>()) {
                Some(Ok(inner)) => *inner,
                _ => Error::VmdkIo {
                    op,
                    source: std::io::Error::other("reading the source disk"),
                },
            }
        }
        other => other,
    }
}

fn write_source(
    source: Source<'_>,
    output: &Path,
    options: &ConvertOptions,
    progress: Progress<'_>,
) -> Result<ConvertSummary> {
    let Source { format, size, raw } = source;
    if options.compress && matches!(options.to, Format::Raw | Format::Vhd) {
        return Err(Error::DiskUnsupported {
            format: options.to.as_str(),
            feature: "compression".into(),
            hint: "compress to qcow2 (or vmdk, which is always compressed) instead",
        });
    }
    let (virtual_size, bytes_written) = crate::vmdk::write_atomically(output, 0, |file| {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let flush = |out: &mut BufWriter<&mut StreamingFile<'_>>| {
            out.flush().map_err(|source| Error::DiskIo {
                op: "writing the output image",
                source,
            })
        };
        let result = match options.to {
            Format::Raw => {
                copy_raw(raw, size, &mut out, progress)?;
                (size, size)
            }
            Format::Vmdk => {
                let mut w = VmdkWriter::new();
                if let Some(l) = options.level {
                    w = w.with_level(l);
                }
                if let Some(t) = options.threads {
                    w = w.with_threads(t);
                }
                if let Some(name) = output.file_name().and_then(|n| n.to_str()) {
                    w = w.with_extent_name(name);
                }
                let s = w.write_progress(raw, size, &mut out, progress)?;
                (s.capacity, s.bytes_written)
            }
            Format::Qcow2 => {
                let mut w = Qcow2Writer::new().with_compression(options.compress);
                if let Some(l) = options.level {
                    w = w.with_level(l);
                }
                if let Some(t) = options.threads {
                    w = w.with_threads(t);
                }
                let s = w.write_progress(raw, size, &mut out, progress)?;
                (s.virtual_size, s.bytes_written)
            }
            Format::Vhd => {
                let mut w = VhdWriter::new();
                if let Some(t) = options.threads {
                    w = w.with_threads(t);
                }
                let s = w.write_progress(raw, size, &mut out, progress)?;
                (s.virtual_size, s.bytes_written)
            }
        };
        flush(&mut out)?;
        Ok(result)
    })
    .map_err(source_error)?;
    Ok(ConvertSummary {
        from: format,
        to: options.to,
        source_size: size,
        virtual_size,
        bytes_written,
    })
}

fn copy_raw(
    mut raw: Box<dyn Read + '_>,
    size: u64,
    out: &mut impl Write,
    progress: Progress<'_>,
) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    while done < size {
        let want = (size - done).min(buf.len() as u64) as usize;
        let got = super::pipeline::read_full(&mut raw, &mut buf[..want]).map_err(|source| {
            Error::DiskIo {
                op: "reading the source disk",
                source,
            }
        })?;
        if got < want {
            return Err(Error::VmdkInputSize {
                expected: size,
                actual: done + got as u64,
            });
        }
        out.write_all(&buf[..want])
            .map_err(|source| Error::DiskIo {
                op: "writing the raw disk",
                source,
            })?;
        done += want as u64;
        report(progress, want as u64)?;
    }
    Ok(())
}

/// Converts the image at `input` (raw, stream-optimized VMDK, QCOW2 or VHD, detected from its
/// content) into `options.to` at `output`, in one streaming pass with no temporary copy: the
/// output is written under a temporary name beside it, synced and renamed on success.
///
/// `progress` gets the raw disk bytes converted (the total is the input's virtual size).
///
/// # Errors
///
/// [`Error::Io`] for the files, the source reader's errors for a damaged or unsupported
/// input, the writer's errors, [`Error::DiskUnsupported`] for compression to raw or VHD, and
/// [`Error::Cancelled`] when `progress` stops it. On any error the temporary file is removed
/// and an existing `output` is left as it was.
pub fn convert_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    options: &ConvertOptions,
    progress: Progress<'_>,
) -> Result<ConvertSummary> {
    let source = open_source(input.as_ref())?;
    write_source(source, output.as_ref(), options, progress)
}

/// Which disk of an OVA [`open_ova_disk`] picked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OvaDiskChoice {
    /// The disk's `ovf:diskId`.
    pub disk_id: String,
    /// The package entry holding it.
    pub entry: String,
    /// The entry's format (stream-optimized VMDK or raw).
    pub format: Format,
    /// Whether it was picked by default (no id given): the first disk of the first
    /// VirtualSystem, or the first disk of the DiskSection when no system names one.
    pub by_default: bool,
    /// Every disk id of the package, in DiskSection order.
    pub all_disks: Vec<String>,
}

/// Picks a disk of `ova` (`disk_id`, or by default the first disk drive of the first
/// VirtualSystem) and opens its data as a raw disk stream: the one place an OVA's disk is read
/// for conversion. Returns the choice, the stream and the disk's virtual size.
///
/// # Errors
///
/// [`Error::MissingEntry`] when the id or its file is not in the package,
/// [`Error::DiskUnsupported`] for a disk in a format other than stream-optimized VMDK or raw,
/// [`Error::UnsupportedCompression`] for an `ovf:compression` other than gzip, and the
/// descriptor and VMDK reader errors. A chunked or gzip-compressed disk is read as one file.
pub fn open_ova_disk<'a>(
    ova: &'a Ova,
    disk_id: Option<&str>,
) -> Result<(OvaDiskChoice, Box<dyn Read + 'a>, u64)> {
    let descriptor = ova.descriptor()?;
    let all: Vec<String> = descriptor
        .disks()
        .iter()
        .map(|d| d.disk_id.clone())
        .collect();
    let by_default = disk_id.is_none();
    let id = match disk_id {
        Some(id) => id.to_owned(),
        None => descriptor
            .systems()
            .first()
            .and_then(|vs| {
                vs.hardware.iter().flat_map(|h| h.disks()).find_map(|item| {
                    item.host_resources
                        .iter()
                        .find_map(|r| match HostResource::parse(r) {
                            HostResource::Disk(id) => Some(id),
                            _ => None,
                        })
                })
            })
            .filter(|id| all.contains(id))
            .or_else(|| all.first().cloned())
            .ok_or_else(|| Error::MissingEntry {
                entry: "a DiskSection disk (the package has none)".into(),
            })?,
    };
    let disk = descriptor.disk(&id).ok_or_else(|| Error::MissingEntry {
        entry: format!("disk {id:?} (the package has {})", all.join(", ")),
    })?;
    let file_ref = disk
        .file_ref
        .as_deref()
        .ok_or_else(|| Error::MissingEntry {
            entry: format!("the file of disk {id:?} (it has no ovf:fileRef: an empty disk)"),
        })?;
    let file = descriptor
        .file(file_ref)
        .ok_or_else(|| Error::MissingEntry {
            entry: format!("References/File {file_ref:?} of disk {id:?}"),
        })?;
    // Chunks are joined and gzip is decompressed here, so every disk reads as one stream.
    let stored = ova
        .stored_files()?
        .into_iter()
        .find(|f| f.href == crate::write::normalize_name(&file.href))
        .filter(|f| !f.entries.is_empty())
        .ok_or_else(|| Error::MissingEntry {
            entry: file.href.clone(),
        })?;
    let entry = stored.entries[0].clone();
    let mut data = BufReader::with_capacity(1 << 20, ova.open_content(&stored)?);
    let head = std::io::BufRead::fill_buf(&mut data).map_err(|source| Error::Io {
        path: ova.path().to_owned(),
        source,
    })?;
    let format = super::detect(head, &[]);
    let choice = OvaDiskChoice {
        disk_id: id,
        entry: stored.href.clone(),
        format,
        by_default,
        all_disks: all,
    };
    match format {
        Format::Vmdk if head.starts_with(b"KDMV") => {
            let r = StreamReader::new(data)?;
            let size = r.capacity();
            Ok((choice, Box::new(r), size))
        }
        Format::Raw => {
            // the reader seeks back to where it was: what is buffered stays valid
            let size = data.get_mut().content_len().map_err(|source| Error::Io {
                path: ova.path().to_owned(),
                source,
            })?;
            Ok((choice, Box::new(data), size))
        }
        other => Err(Error::DiskUnsupported {
            format: "ova",
            feature: format!(
                "a {other} disk ({})",
                entry.name.trim_end_matches(".000000000")
            ),
            hint: "extract the package and convert the disk with ova disk convert",
        }),
    }
}

/// Converts a disk of the OVA at `ova` (see [`open_ova_disk`] for which) into `options.to` at
/// `output`, streaming it from the package: no extraction, no temporary copy.
///
/// # Errors
///
/// As [`open_ova_disk`] and [`convert_file`].
pub fn convert_ova_disk(
    ova: impl AsRef<Path>,
    disk_id: Option<&str>,
    output: impl AsRef<Path>,
    options: &ConvertOptions,
    progress: Progress<'_>,
) -> Result<(OvaDiskChoice, ConvertSummary)> {
    let ova = Ova::open(ova)?;
    let (choice, raw, size) = open_ova_disk(&ova, disk_id)?;
    let source = Source {
        format: choice.format,
        size,
        raw,
    };
    let summary = write_source(source, output.as_ref(), options, progress)?;
    Ok((choice, summary))
}
