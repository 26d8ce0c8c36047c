//! `ova disk` (convert between raw, VMDK, QCOW2 and VHD; describe any of them) and `ova convert`
//! (an OVA's disk straight into a QCOW2 or VHD template).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ova_core::disk::{self, ConvertOptions, DiskInfo, Format};

use crate::common::{Failure, progress, ticks, watch_ctrl_c};

/// Arguments of `ova disk`.
#[derive(Debug, Args)]
pub(crate) struct DiskArgs {
    #[command(subcommand)]
    command: DiskCommand,
}

#[derive(Debug, Subcommand)]
enum DiskCommand {
    /// Convert a disk image between raw, stream-optimized VMDK, QCOW2 and VHD (IN's format is
    /// detected from its content).
    Convert {
        /// Input image: raw, stream-optimized VMDK, QCOW2 or VHD.
        input: PathBuf,
        /// Output file (written to a temporary name, synced, then renamed).
        output: PathBuf,
        /// Output format: raw, vmdk, qcow2 or vhd (default: from OUT's extension).
        #[arg(long, value_name = "FORMAT")]
        to: Option<Format>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Check a disk image (raw, VMDK, QCOW2 or VHD) and show its format, sizes and structure.
    /// Exit 1 when the image is damaged or uses a feature ovakit does not read.
    Info {
        /// The image.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// How the output is written.
#[derive(Debug, Args)]
pub(crate) struct WriteFlags {
    /// Compress the output (QCOW2: deflate clusters, as qemu-img convert -c; VMDK output is
    /// always compressed).
    #[arg(long)]
    compress: bool,
    /// Deflate level, 1 (fastest) to 12 (smallest).
    #[arg(long, default_value_t = 5)]
    level: i32,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

impl WriteFlags {
    fn options(&self, to: Format) -> ConvertOptions {
        let mut o = ConvertOptions::new(to)
            .with_compression(self.compress)
            .with_level(self.level);
        if let Some(t) = self.threads {
            o = o.with_threads(t);
        }
        o
    }
}

/// Arguments of `ova convert`.
#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// The OVA.
    ova: PathBuf,
    /// Template format: qcow2 (KVM) or vhd (XenServer); also raw or vmdk.
    #[arg(long, value_name = "FORMAT")]
    to: Format,
    /// Output file (written to a temporary name, synced, then renamed).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: PathBuf,
    /// The disk to convert (its ovf:diskId); default: the first disk of the first
    /// VirtualSystem.
    #[arg(long, value_name = "ID")]
    disk: Option<String>,
    #[command(flatten)]
    write: WriteFlags,
}

/// Runs `ova disk`.
pub(crate) fn run(args: DiskArgs) -> Result<ExitCode, Failure> {
    match args.command {
        DiskCommand::Info { file, json } => info(&file, json),
        DiskCommand::Convert {
            input,
            output,
            to,
            write,
        } => {
            let to = match to.or_else(|| Format::from_extension(&output)) {
                Some(f) => f,
                None => {
                    return Err(Failure::usage(format!(
                        "cannot tell the output format from {}: give --to raw|vmdk|qcow2|vhd",
                        output.display()
                    )));
                }
            };
            watch_ctrl_c();
            convert(&input, &output, &write.options(to))
        }
    }
}

fn convert(input: &Path, output: &Path, options: &ConvertOptions) -> Result<ExitCode, Failure> {
    let (from, size) = disk::probe_file(input)?;
    let bar = progress(size.unwrap_or(0), "converting");
    let result = disk::convert_file(input, output, options, &mut ticks(&bar));
    bar.finish();
    let s = result?;
    eprintln!(
        "{} ({from}) → {} ({}, virtual size {} bytes, {} bytes written)",
        input.display(),
        output.display(),
        s.to,
        s.virtual_size,
        s.bytes_written
    );
    if s.virtual_size != s.source_size {
        eprintln!(
            "note: the virtual size grew from {} to {} bytes ({})",
            s.source_size,
            s.virtual_size,
            if s.to == Format::Vhd {
                "a VHD's size is rounded up to whole CHS cylinders, as qemu-img does"
            } else {
                "rounded up to a whole sector"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `ova convert`.
pub(crate) fn run_convert(args: ConvertArgs) -> Result<ExitCode, Failure> {
    watch_ctrl_c();
    let options = args.write.options(args.to);
    let ova = ova_core::package::Ova::open(&args.ova)?;
    // the bar's total: the disk's virtual size, known once the disk is opened; the package
    // is reopened by the conversion itself
    let (choice, _, size) = disk::open_ova_disk(&ova, args.disk.as_deref())?;
    if choice.by_default && choice.all_disks.len() > 1 {
        eprintln!(
            "converting disk {} ({}), the first disk of the first VirtualSystem; the package \
             has {}: pick another with --disk ID",
            choice.disk_id,
            choice.entry,
            choice.all_disks.join(", ")
        );
    } else if choice.by_default {
        eprintln!(
            "converting disk {} ({}), the package's only disk",
            choice.disk_id, choice.entry
        );
    }
    drop(ova);
    let bar = progress(size, "converting");
    let result = disk::convert_ova_disk(
        &args.ova,
        Some(&choice.disk_id),
        &args.output,
        &options,
        &mut ticks(&bar),
    );
    bar.finish();
    let (_, s) = result?;
    eprintln!(
        "{}:{} → {} ({}, virtual size {} bytes, {} bytes written)",
        args.ova.display(),
        choice.entry,
        args.output.display(),
        s.to,
        s.virtual_size,
        s.bytes_written
    );
    Ok(ExitCode::SUCCESS)
}

fn info(file: &Path, json: bool) -> Result<ExitCode, Failure> {
    let info = match disk::info_file(file) {
        Ok(i) => i,
        Err(e @ ova_core::Error::Io { .. }) => return Err(e.into()),
        Err(e) => {
            let f = Failure::from(e);
            let code = f.report();
            return Ok(if code == ExitCode::from(2) {
                ExitCode::from(1)
            } else {
                code
            });
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&info).unwrap_or_else(|_| "null".into())
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "file:          {} ({} bytes)",
        file.display(),
        info.file_size()
    );
    println!("format:        {}", info.format());
    println!("virtual size:  {} bytes", info.virtual_size());
    match &info {
        DiskInfo::Raw { .. } => {}
        DiskInfo::Vmdk(i) => {
            println!(
                "grains:        {} ({} bytes compressed)",
                i.grains, i.compressed_bytes
            );
            println!("layout:        {:?}", i.layout);
        }
        DiskInfo::Qcow2(i) => {
            println!("version:       {}", i.version);
            println!("cluster size:  {} bytes", i.cluster_size);
            println!("refcount bits: {}", i.refcount_bits);
            println!(
                "clusters:      {} data, {} compressed, {} zero, {} leaked",
                i.data_clusters, i.compressed_clusters, i.zero_clusters, i.leaked_clusters
            );
        }
        DiskInfo::Vhd(i) => {
            println!("type:          {}", i.disk_type);
            let (c, h, s) = i.geometry;
            println!(
                "geometry:      {c}/{h}/{s} (C/H/S, {} bytes)",
                i.geometry_size
            );
            if let (Some(bs), Some(n), Some(a)) = (i.block_size, i.bat_entries, i.blocks_allocated)
            {
                println!("blocks:        {a} of {n} allocated ({bs} bytes each)");
            }
            println!(
                "creator:       {} {:#x} on {}",
                i.creator_app, i.creator_version, i.creator_os
            );
        }
        _ => {}
    }
    let problems = info.problems();
    if problems.is_empty() {
        println!("problems:      none");
    }
    for p in problems {
        println!("problem:       {p}");
    }
    Ok(ExitCode::SUCCESS)
}
