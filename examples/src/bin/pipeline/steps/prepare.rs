//! `prepare`: the file the hypervisor's zones take, then validated (ova-core).
//!
//! VMware: an OVA built from a raw disk, or an existing one repacked with edits. KVM and
//! XenServer: a QCOW2 or VHD image converted in one streaming pass from a disk image (raw, VMDK,
//! QCOW2 or VHD, told apart by content) or straight from an OVA's disk, then read back whole
//! through ova-core's reader (every table and refcount checked) for its virtual size and the
//! SHA-256 of its raw content.

use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;

use ova_core::build::{BuildOptions, build_ova};
use ova_core::manifest::Algorithm;
use ova_core::ovf::Edit;
use ova_core::package::{Ova, RepackOptions};
use ova_core::validate::{Finding, Severity};
use ova_core::write::ManifestChoice;
use sha2::Digest;

use crate::config::{PrepareConfig, PrepareSettings, PrepareSource};
use crate::error::PipelineError;
use crate::hypervisor::ImageFormat;
use crate::plan::Step;
use crate::state::PrepareOut;

use super::{CtrlC, Ctx, image_verify};

fn ova_error(context: String, e: ova_core::Error) -> PipelineError {
    PipelineError::failed(Step::Prepare, context, e)
}

fn manifest_algorithm(p: &PrepareConfig) -> Option<Algorithm> {
    match p.manifest.as_deref() {
        Some("none") => None,
        Some("sha1") => Some(Algorithm::Sha1),
        Some("sha512") => Some(Algorithm::Sha512),
        _ => Some(Algorithm::Sha256),
    }
}

fn edits(p: &PrepareConfig) -> Vec<Edit> {
    let mut out = Vec::new();
    if let Some(v) = &p.set_virtual_system_type {
        out.push(Edit::set_virtual_system_type(v.clone()));
    }
    if let Some(n) = p.cpus {
        out.push(Edit::set_cpus(u64::from(n)));
    }
    if let Some(m) = p.memory_mb {
        out.push(Edit::set_memory_mib(m));
    }
    out
}

/// SHA-256 and size of a file.
pub(crate) fn file_sha256(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

/// The bytes a build or repack reads, for the progress bar.
fn source_size(source: &PrepareSource) -> Option<u64> {
    match source {
        PrepareSource::Build(p) | PrepareSource::Repack(p) => {
            std::fs::metadata(p).ok().map(|m| m.len())
        }
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Summarize validation findings as one line.
fn summarize(findings: &[Finding]) -> (usize, String) {
    let errors: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    let warnings = findings.len() - errors.len();
    let mut text = format!("{} errors, {warnings} warnings", errors.len());
    for f in findings {
        text.push_str(&format!("; {}: {}", f.code, f.message));
    }
    (errors.len(), text)
}

/// Run `prepare`.
pub(crate) async fn prepare(ctx: &mut Ctx<'_>) -> Result<PrepareOut, PipelineError> {
    let settings = ctx.cfg.prepare()?;
    let printer = ctx.printer;
    // Ctrl-C stops a build or repack at its next buffer; ova-core then removes its temporary
    // output, and the step fails as cancelled.
    let ctrl_c = CtrlC::new();
    let token = ctrl_c.token.clone();
    let bar = printer
        .progress()
        .bytes("prepare", source_size(&settings.source));
    let job = tokio::task::spawn_blocking(move || -> Result<_, PipelineError> {
        let counter = bar.clone();
        let mut stop = move |n: u64| {
            counter.inc(n);
            if token.is_cancelled() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let out = &settings.output;
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                PipelineError::failed(Step::Prepare, format!("cannot create {}", dir.display()), e)
            })?;
        }
        if let Some(to) = settings.format.disk() {
            return convert(&settings, to, &mut stop, printer);
        }
        let opts = &settings.options;
        match &settings.source {
            PrepareSource::Build(disk) => {
                let mut b = BuildOptions::builder(settings.name.clone())
                    .with_manifest(manifest_algorithm(opts));
                if let Some(g) = &opts.guest_os {
                    b = b.with_os_type(g.clone());
                }
                if let Some(c) = opts.cpus {
                    b = b.with_cpus(c);
                }
                if let Some(m) = opts.memory_mb {
                    b = b.with_memory_mb(m);
                }
                if let Some(v) = &opts.set_virtual_system_type {
                    b = b.with_virtual_system_type(v.clone());
                }
                let options = b
                    .build()
                    .map_err(|e| ova_error("invalid build options".into(), e))?;
                let report = build_ova(disk, out, &options, &mut stop).map_err(|e| {
                    ova_error(format!("cannot build an OVA from {}", disk.display()), e)
                })?;
                printer.line(&format!(
                    "            built from {} ({} bytes of disk, {} entries)",
                    disk.display(),
                    report.capacity,
                    report.entries.len()
                ));
            }
            PrepareSource::Repack(src) => {
                let ova = Ova::open(src)
                    .map_err(|e| ova_error(format!("cannot open {}", src.display()), e))?;
                let manifest = match manifest_algorithm(opts) {
                    None => ManifestChoice::None,
                    Some(Algorithm::Sha256) => ManifestChoice::Sha256,
                    Some(a) => ManifestChoice::Fresh(a),
                };
                let edits = edits(opts);
                let n = edits.len();
                let options = RepackOptions::new()
                    .with_manifest(manifest)
                    .with_edits(edits);
                ova.repack(out, &options, &mut stop)
                    .map_err(|e| ova_error(format!("cannot repack {}", src.display()), e))?;
                printer.line(&format!(
                    "            repacked {} with {n} edit(s)",
                    src.display()
                ));
            }
        }
        bar.restart(
            "prepare: validating",
            std::fs::metadata(out).ok().map(|m| m.len()),
        );
        let findings = Ova::open(out)
            .and_then(|o| o.validate(&mut stop))
            .map_err(|e| ova_error(format!("cannot validate {}", out.display()), e))?;
        let (size, sha256) = file_sha256(out).map_err(|e| {
            PipelineError::failed(Step::Prepare, format!("cannot read {}", out.display()), e)
        })?;
        Ok(Prepared::Ova(
            PrepareOut {
                ova: out.display().to_string(),
                size,
                sha256,
                ..PrepareOut::default()
            },
            findings,
        ))
    });
    let prepared = job
        .await
        .map_err(|e| PipelineError::failed(Step::Prepare, "the prepare task stopped", e))??;
    drop(ctrl_c);
    let (out, findings) = match prepared {
        Prepared::Ova(out, findings) => (out, findings),
        Prepared::Image(out, problems) => {
            let format = out.format;
            let detail = format!(
                "{format} read back: virtual size {} bytes, raw sha256 {}{}",
                out.virtual_size.unwrap_or_default(),
                out.raw_sha256.as_deref().unwrap_or("-"),
                if problems.is_empty() {
                    String::new()
                } else {
                    format!("; {}", problems.join("; "))
                }
            );
            ctx.check(
                format!("{} image reads back", format.extension()),
                true,
                detail,
            );
            return Ok(out);
        }
    };
    let ova = out.ova.clone();
    let (errors, text) = summarize(&findings);
    ctx.check("ova validates", errors == 0, text.clone());
    if errors > 0 {
        return Err(PipelineError::Check {
            step: Step::Prepare,
            what: format!("{ova} does not validate: {text}"),
            hint: None,
        });
    }
    Ok(out)
}

/// What the blocking half of `prepare` made.
enum Prepared {
    /// An OVA and its validation findings.
    Ova(PrepareOut, Vec<Finding>),
    /// A QCOW2 or VHD image and the reader's notes.
    Image(PrepareOut, Vec<String>),
}

/// KVM and XenServer: convert the raw disk or the OVA's disk, then read the image back.
fn convert(
    settings: &PrepareSettings,
    to: ova_core::disk::Format,
    stop: &mut dyn FnMut(u64) -> ControlFlow<()>,
    printer: crate::report::Printer,
) -> Result<Prepared, PipelineError> {
    let out = &settings.output;
    let opts = &settings.options;
    let options =
        ova_core::disk::ConvertOptions::new(to).with_compression(opts.compress == Some(true));
    let ignored: Vec<&str> = [
        ("guest_os", opts.guest_os.is_some()),
        ("cpus", opts.cpus.is_some()),
        ("memory_mb", opts.memory_mb.is_some()),
        (
            "set_virtual_system_type",
            opts.set_virtual_system_type.is_some(),
        ),
        ("manifest", opts.manifest.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if !ignored.is_empty() {
        printer.line(&format!(
            "            note: [prepare] {} describe an OVA package; a {} image has no place for them",
            ignored.join(", "),
            settings.format
        ));
    }
    let summary = match &settings.source {
        PrepareSource::Build(disk) => {
            let s = ova_core::disk::convert_file(disk, out, &options, stop).map_err(|e| {
                ova_error(
                    format!(
                        "cannot convert {} to a {} image",
                        disk.display(),
                        settings.format
                    ),
                    e,
                )
            })?;
            printer.line(&format!(
                "            converted {} ({} disk, {} bytes) to {} for {}",
                disk.display(),
                s.from,
                s.source_size,
                settings.format,
                settings.hypervisor
            ));
            s
        }
        PrepareSource::Repack(src) => {
            let (choice, s) =
                ova_core::disk::convert_ova_disk(src, opts.disk_id.as_deref(), out, &options, stop)
                    .map_err(|e| {
                        ova_error(
                            format!(
                                "cannot convert a disk of {} to a {} image",
                                src.display(),
                                settings.format
                            ),
                            e,
                        )
                    })?;
            printer.line(&format!(
                "            converted disk {} ({}{}) of {} to {} for {}",
                choice.disk_id,
                choice.entry,
                if choice.by_default && choice.all_disks.len() > 1 {
                    format!(
                        "; the first of {}, pick another with disk_id",
                        choice.all_disks.join(", ")
                    )
                } else {
                    String::new()
                },
                src.display(),
                settings.format,
                settings.hypervisor
            ));
            s
        }
    };
    let back = image_verify::read_back_file(settings.format, out, stop)
        .map_err(|e| ova_error(format!("{} does not read back", out.display()), e))?;
    if back.virtual_size != summary.virtual_size {
        return Err(PipelineError::Check {
            step: Step::Prepare,
            what: format!(
                "{} reads back with a virtual size of {} bytes, {} were written",
                out.display(),
                back.virtual_size,
                summary.virtual_size
            ),
            hint: None,
        });
    }
    let (size, sha256) = file_sha256(out).map_err(|e| {
        PipelineError::failed(Step::Prepare, format!("cannot read {}", out.display()), e)
    })?;
    Ok(Prepared::Image(
        PrepareOut {
            ova: out.display().to_string(),
            size,
            sha256,
            format: settings.format,
            virtual_size: Some(back.virtual_size),
            raw_sha256: Some(back.raw_sha256),
        },
        back.problems,
    ))
}

/// The format a prepared file has, from its content: for `publish --ova FILE`, which may be
/// anything.
pub(crate) fn sniff_file(path: &Path) -> std::io::Result<Option<ImageFormat>> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut first = vec![0u8; 512.min(len as usize)];
    f.read_exact(&mut first)?;
    let mut last = vec![0u8; if len >= 1024 { 512 } else { 0 }];
    if !last.is_empty() {
        f.seek(SeekFrom::Start(len - 512))?;
        f.read_exact(&mut last)?;
    }
    Ok(ImageFormat::sniff(&first, &last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_and_edit_choices() {
        let mut p = PrepareConfig::default();
        assert_eq!(manifest_algorithm(&p), Some(Algorithm::Sha256));
        p.manifest = Some("none".into());
        assert_eq!(manifest_algorithm(&p), None);
        p.manifest = Some("sha1".into());
        assert_eq!(manifest_algorithm(&p), Some(Algorithm::Sha1));
        p.manifest = Some("sha512".into());
        assert_eq!(manifest_algorithm(&p), Some(Algorithm::Sha512));
        assert!(edits(&p).is_empty());
        p.set_virtual_system_type = Some("vmx-07".into());
        p.cpus = Some(2);
        p.memory_mb = Some(1024);
        assert_eq!(
            edits(&p),
            vec![
                Edit::set_virtual_system_type("vmx-07"),
                Edit::set_cpus(2),
                Edit::set_memory_mib(1024)
            ]
        );
    }
}
