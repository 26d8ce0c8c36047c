//! `ova repack`, `ova edit --in-place`, `ova extract`, `ova pack`.

use std::path::Path;
use std::process::ExitCode;

use ova_core::Error;
use ova_core::package::{Ova, RepackOptions};
use ova_core::write::{LargeSize, ManifestChoice, WriteReport};

use crate::common::{EditFlags, Failure, progress};

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
) -> Result<ExitCode, Failure> {
    let edits = flags.edits()?;
    let ova = Ova::open(input)?;
    let total = ova.entries().iter().map(|e| e.size).sum();
    let bar = progress(total, "repacking");
    let options = RepackOptions::new()
        .with_manifest(manifest)
        .with_edits(edits);
    let report = ova.repack(output, &options, &mut |n| bar.inc(n))?;
    bar.finish_and_clear();
    print_report(output, &report);
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
            let report = ova.repack(file, &options, &mut |n| bar.inc(n))?;
            bar.finish_and_clear();
            print_report(file, &report);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn extract(input: &Path, dir: &Path) -> Result<ExitCode, Failure> {
    let ova = Ova::open(input)?;
    let total = ova.entries().iter().map(|e| e.size).sum();
    let bar = progress(total, "extracting");
    let written = ova.extract(dir, &mut |n| bar.inc(n))?;
    bar.finish_and_clear();
    for p in written {
        println!("{}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn pack(
    src: &Path,
    output: &Path,
    manifest: ManifestChoice,
) -> Result<ExitCode, Failure> {
    let bar = progress(0, "packing");
    let report = Ova::pack(src, output, manifest, LargeSize::Base256, &mut |n| {
        bar.inc_length(n);
        bar.inc(n);
    })?;
    bar.finish_and_clear();
    print_report(output, &report);
    Ok(ExitCode::SUCCESS)
}
