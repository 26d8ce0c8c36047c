//! `ova repack`, `ova edit --in-place`, `ova extract`, `ova pack`.

use std::path::Path;
use std::process::ExitCode;

use ova_core::Error;
use ova_core::package::{ExtractOptions, Ova, PackOptions, RepackOptions};
use ova_core::write::{Chunking, LargeSize, ManifestChoice, WriteReport};

use crate::common::{EditFlags, Failure, growing_ticks, print_hardware_findings, progress, ticks};

/// How files of 8 GiB or more are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LargeFiles {
    /// One entry with a GNU base-256 size field (GNU tar, Python, libarchive, vSphere read it).
    Gnu,
    /// OVF chunking: `name.000000000`, `name.000000001`, ... and `ovf:chunkSize`.
    Chunk,
}

/// `--large-files`, `--chunk-size`, `--chunk-threshold` of repack and pack.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct LargeFileFlags {
    /// How files of 8 GiB or more are stored: gnu (a base-256 size field, the default) or
    /// chunk (split with OVF chunking, `ovf:chunkSize`, one manifest line per chunk).
    #[arg(long, value_enum, default_value = "gnu")]
    large_files: LargeFiles,
    /// Chunk size with --large-files chunk (bytes, or with a K, M or G suffix, 1024-based).
    #[arg(long, value_parser = parse_chunk_size, default_value = "4G")]
    chunk_size: u64,
    /// Files of at least this size are chunked with --large-files chunk (default 8G).
    #[arg(long, value_parser = parse_size, default_value = "8G")]
    chunk_threshold: u64,
}

/// `--join-chunks`, `--decompress` of repack.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StorageFlags {
    /// Store files the source splits into chunks (ovf:chunkSize) as one entry each (with
    /// --large-files chunk they are re-chunked instead).
    #[arg(long)]
    join_chunks: bool,
    /// Store gzip-compressed files (ovf:compression="gzip") uncompressed, dropping
    /// ovf:compression and setting ovf:size to the uncompressed size.
    #[arg(long)]
    decompress: bool,
}

impl LargeFileFlags {
    fn chunking(&self) -> Option<Chunking> {
        (self.large_files == LargeFiles::Chunk)
            .then(|| Chunking::new(self.chunk_size).with_threshold(self.chunk_threshold))
    }
}

/// `123`, `64K`, `512M`, `4G` (1024-based) → bytes; a chunk size must be 1 byte to 8 GiB - 1.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size (bytes, or a number with K, M or G)"))?;
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    if v == 0 || v > ova_core::tar::USTAR_MAX_SIZE + 1 {
        return Err(format!("{s:?} must be between 1 byte and 8 GiB"));
    }
    Ok(v)
}

/// A size below the ustar limit (a chunk must fit a plain ustar entry).
fn parse_chunk_size(s: &str) -> Result<u64, String> {
    let v = parse_size(s)?;
    if v > ova_core::tar::USTAR_MAX_SIZE {
        return Err(format!("{s:?}: a chunk must be smaller than 8 GiB"));
    }
    Ok(v)
}

fn print_report(out: &Path, report: &WriteReport) {
    for (name, why) in report
        .dropped
        .iter()
        .filter(|(_, why)| !why.starts_with("manifest is"))
    {
        eprintln!("ova: dropped {name}: {why}");
    }
    println!(
        "wrote {} ({} bytes): {}",
        out.display(),
        report.bytes,
        report.written.join(", ")
    );
}

pub(crate) fn repack(
    input: &Path,
    output: &Path,
    manifest: ManifestChoice,
    flags: &EditFlags,
    large: &LargeFileFlags,
    storage: &StorageFlags,
) -> Result<ExitCode, Failure> {
    let edits = flags.edits()?;
    let ova = Ova::open(input)?;
    let total = ova.entries().iter().map(|e| e.size).sum();
    let bar = progress(total, "repacking");
    let options = RepackOptions::new()
        .with_manifest(manifest)
        .with_edits(edits)
        .with_chunking(large.chunking())
        .with_join_chunks(storage.join_chunks)
        .with_decompress(storage.decompress);
    let report = ova.repack(output, &options, &mut ticks(&bar));
    bar.finish();
    print_report(output, &report?);
    if flags.force {
        print_hardware_findings(output);
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn edit(file: &Path, no_fallback: bool, flags: &EditFlags) -> Result<ExitCode, Failure> {
    let edits = flags.edits()?;
    if edits.is_empty() {
        return Err(Failure::usage("no edit given (see ova edit --help)"));
    }
    match Ova::edit_in_place(file, &edits) {
        Ok(r) => {
            if r.recovered {
                eprintln!("ova: rolled back an interrupted earlier edit first");
            }
            println!(
                "edited {} in place: descriptor {} -> {} bytes ({} bytes of padding), {} manifest line(s) updated, {} bytes written",
                file.display(),
                r.descriptor_size.0,
                r.descriptor_size.1,
                r.padding,
                r.manifest_lines.len(),
                r.bytes_written
            );
            if flags.force {
                print_hardware_findings(file);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::InPlaceImpossible { reason }) if !no_fallback => {
            eprintln!("ova: cannot edit in place ({reason}); repacking instead");
            let ova = Ova::open(file)?;
            // Keep the package's manifest algorithm, or no manifest if it had none.
            let manifest = match ova.manifest()? {
                Some((_, _, m)) => m.lines.first().map_or(ManifestChoice::Sha256, |l| {
                    ManifestChoice::Fresh(l.algorithm)
                }),
                None => ManifestChoice::None,
            };
            let total = ova.entries().iter().map(|e| e.size).sum();
            let bar = progress(total, "repacking");
            let options = RepackOptions::new()
                .with_manifest(manifest)
                .with_edits(edits)
                .with_large_size(LargeSize::Base256);
            let report = ova.repack(file, &options, &mut ticks(&bar));
            bar.finish();
            print_report(file, &report?);
            if flags.force {
                print_hardware_findings(file);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn extract(input: &Path, dir: &Path, keep_chunks: bool) -> Result<ExitCode, Failure> {
    let ova = Ova::open(input)?;
    let total = ova.entries().iter().map(|e| e.size).sum();
    let bar = progress(total, "extracting");
    let options = ExtractOptions::new().with_keep_chunks(keep_chunks);
    let written = ova.extract_with(dir, &options, &mut ticks(&bar));
    bar.finish();
    let written = match written {
        Err(Error::Cancelled) => {
            // Entries are committed one by one: the one being written was removed (a file of
            // its name left as it was), the ones before it are complete and stay.
            return Err(Failure::cancelled(&format!(
                "no partial file was left behind (the entry being extracted was removed); \
                 entries extracted before it stay in {}",
                dir.display()
            )));
        }
        other => other?,
    };
    for p in written {
        println!("{}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn pack(
    src: &Path,
    output: &Path,
    manifest: ManifestChoice,
    large: &LargeFileFlags,
) -> Result<ExitCode, Failure> {
    let bar = progress(0, "packing");
    let options = PackOptions::new()
        .with_manifest(manifest)
        .with_large_size(LargeSize::Base256)
        .with_chunking(large.chunking());
    let report = Ova::pack_with(src, output, &options, &mut growing_ticks(&bar));
    bar.finish();
    print_report(output, &report?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert!(parse_size("9G").is_err());
        assert!(super::parse_chunk_size("8G").is_err());
        assert_eq!(super::parse_chunk_size("7G"), Ok(7 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("x").is_err());
        assert!(parse_size("").is_err());
    }
}
