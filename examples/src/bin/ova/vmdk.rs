//! `ova vmdk`: the disk layer on its own (inspect a stream-optimized VMDK, convert raw ↔ VMDK).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ova_core::vmdk::{self, DiskKind, VmdkWriter};

use crate::common::{progress, ticks, watch_ctrl_c};

/// Arguments of `ova vmdk`.
#[derive(Debug, Args)]
pub(crate) struct VmdkArgs {
    #[command(subcommand)]
    command: VmdkCommand,
}

#[derive(Debug, Subcommand)]
enum VmdkCommand {
    /// Show a stream-optimized VMDK's header, descriptor, layout and problems (such as no
    /// end-of-stream marker, no footer, bytes after the logical end).
    Info {
        /// The VMDK file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Convert a raw disk image to a stream-optimized VMDK, or a stream-optimized VMDK back to
    /// raw (the direction is detected from IN).
    Convert {
        /// Input: a raw image or a stream-optimized VMDK.
        input: PathBuf,
        /// Output file (written to a temporary name, then renamed).
        output: PathBuf,
        /// Deflate level for raw → VMDK, 1 (fastest) to 12 (smallest).
        #[arg(long, default_value_t = VmdkWriter::DEFAULT_LEVEL)]
        level: i32,
        /// Compression threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
}

/// Runs `ova vmdk`.
pub(crate) fn run(args: VmdkArgs) -> Result<ExitCode, ova_core::Error> {
    match args.command {
        VmdkCommand::Info { file, json } => {
            let info = vmdk::inspect_file(&file)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&info).unwrap_or_else(|_| "null".into())
                );
            } else {
                println!(
                    "file:          {} ({} bytes)",
                    file.display(),
                    info.file_size
                );
                println!("capacity:      {} bytes", info.capacity);
                println!("grain size:    {} bytes", info.grain_size);
                println!("version/flags: {} / {:#x}", info.version, info.flags);
                println!("layout:        {:?}", info.layout);
                println!(
                    "grains:        {} ({} bytes compressed, {})",
                    info.grains,
                    info.compressed_bytes,
                    if info.grains_ordered {
                        "in order"
                    } else {
                        "out of order"
                    }
                );
                println!(
                    "footer / eos:  {} / {}",
                    if info.has_footer { "yes" } else { "no" },
                    if info.has_eos { "yes" } else { "no" }
                );
                for (k, v) in [
                    ("createType", &info.create_type),
                    ("adapterType", &info.adapter_type),
                    ("hwVersion", &info.hw_version),
                    ("toolsVersion", &info.tools_version),
                ] {
                    println!("{:<15}{}", format!("{k}:"), v.as_deref().unwrap_or("-"));
                }
                if info.problems.is_empty() {
                    println!("problems:      none");
                }
                for p in &info.problems {
                    println!("problem:       {p}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        VmdkCommand::Convert {
            input,
            output,
            level,
            threads,
        } => {
            watch_ctrl_c();
            convert(&input, &output, level, threads)
        }
    }
}

/// `ova vmdk convert`: the direction is detected from `input`.
fn convert(
    input: &std::path::Path,
    output: &std::path::Path,
    level: i32,
    threads: Option<usize>,
) -> Result<ExitCode, ova_core::Error> {
    let kind = vmdk::detect_file(input)?;
    if kind == DiskKind::DescriptorVmdk {
        return Err(ova_core::Error::Build {
            reason: format!(
                "{} is a text VMDK descriptor; convert its extent instead",
                input.display()
            ),
        });
    }
    let size = std::fs::metadata(input).map_or(0, |m| m.len());
    let bar = progress(size, "converting");
    if kind == DiskKind::SparseVmdk {
        let s = vmdk::vmdk_to_raw(input, output, &mut ticks(&bar));
        bar.finish();
        let s = s?;
        eprintln!(
            "{} → {} (raw, {} grains read)",
            input.display(),
            output.display(),
            s.grains
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let mut writer = VmdkWriter::new().with_level(level);
        if let Some(t) = threads {
            writer = writer.with_threads(t);
        }
        let s = vmdk::raw_to_vmdk(input, output, &writer, &mut ticks(&bar));
        bar.finish();
        let s = s?;
        eprintln!(
            "{} → {} (stream-optimized, {} bytes, {} of {} grains populated)",
            input.display(),
            output.display(),
            s.bytes_written,
            s.grains,
            s.capacity.div_ceil(65_536)
        );
        Ok(ExitCode::SUCCESS)
    }
}
