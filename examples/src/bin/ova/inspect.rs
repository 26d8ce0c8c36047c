//! `ova info`, `ova validate`, `ova manifest verify`.

use std::path::Path;
use std::process::ExitCode;

use ova_core::archive::EntryProblem;
use ova_core::manifest::Algorithm;
use ova_core::package::Ova;
use ova_core::validate::{Severity, has_errors};
use serde_json::json;

use crate::common::{Failure, growing_ticks, print_json, progress, ticks};

fn data_bytes(ova: &Ova) -> u64 {
    ova.entries().iter().map(|e| e.size).sum()
}

fn problem_text(p: &EntryProblem) -> String {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v.get("problem").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_else(|| format!("{p:?}"))
}

pub(crate) fn info(file: &Path, json: bool) -> Result<ExitCode, Failure> {
    let ova = Ova::open(file)?;
    let descriptor = ova.descriptor();
    let manifest = ova.manifest()?;
    if json {
        let d = match &descriptor {
            Ok(d) => serde_json::to_value(d).unwrap_or_default(),
            Err(e) => json!({ "error": e.to_string() }),
        };
        print_json(&json!({
            "file": file.display().to_string(),
            "size": ova.index().len,
            "descriptor_is_first_block": ova.index().descriptor_is_first_block(),
            "entries": ova.entries(),
            "end": ova.index().end,
            "descriptor": d,
            "manifest": manifest.as_ref().map(|(e, _, m)| json!({ "entry": e.name, "parsed": m })),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} ({} bytes)", file.display(), ova.index().len);
    println!(
        "descriptor is the first header block: {}",
        if ova.index().descriptor_is_first_block() {
            "yes"
        } else {
            "NO"
        }
    );
    println!("entries:");
    for e in ova.entries() {
        let problems: Vec<String> = e.problems.iter().map(problem_text).collect();
        println!(
            "  {:>12} {:>14}  {:<6} {:<11} {}{}",
            e.header_offset,
            e.size,
            format!("{:?}", e.header_format).to_lowercase(),
            format!("{:?}", e.kind).to_lowercase(),
            e.name,
            if problems.is_empty() {
                String::new()
            } else {
                format!("  [{}]", problems.join(", "))
            }
        );
    }
    match &descriptor {
        Ok(d) => {
            println!("descriptor: OVF {:?}", d.version());
            for r in d.references() {
                println!(
                    "  file {} href={} size={}",
                    r.id,
                    r.href,
                    r.size.map_or("-".into(), |s| s.to_string())
                );
            }
            for s in d.systems() {
                println!(
                    "  system {} name={}",
                    s.id,
                    s.name.as_deref().unwrap_or("-")
                );
                for h in &s.hardware {
                    println!(
                        "    hardware: type={} cpus={} memory={} MiB items={}",
                        if h.system_types.is_empty() {
                            "-".into()
                        } else {
                            h.system_types.join(" ")
                        },
                        h.cpus().map_or("-".into(), |c| c.to_string()),
                        h.memory_mib().map_or("-".into(), |c| c.to_string()),
                        h.items.len()
                    );
                }
            }
        }
        Err(e) => println!("descriptor: cannot parse: {e}"),
    }
    match &manifest {
        Some((e, _, m)) => {
            let algs: Vec<String> = m.algorithms().iter().map(|a| a.to_string()).collect();
            println!(
                "manifest: {} ({} lines, {}; {} unparseable, {} rejected by VMware)",
                e.name,
                m.lines.len(),
                algs.join("+"),
                m.bad_lines.len(),
                m.lines.iter().filter(|l| l.vmware_rejects()).count()
            );
        }
        None => println!("manifest: none"),
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn validate(file: &Path, json: bool) -> Result<ExitCode, Failure> {
    let ova = Ova::open(file)?;
    let bar = progress(data_bytes(&ova), "validating");
    let findings = ova.validate(&mut ticks(&bar));
    bar.finish();
    let findings = findings?;
    let failed = has_errors(&findings);
    if json {
        print_json(&json!({
            "file": file.display().to_string(),
            "ok": !failed,
            "findings": findings,
        }));
    } else {
        for f in &findings {
            println!("{f}");
        }
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        println!(
            "{}: {} error(s), {} warning(s)",
            file.display(),
            errors,
            findings.len() - errors
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn verify_manifest(file: &Path, json: bool) -> Result<ExitCode, Failure> {
    let result = if file == Path::new("-") {
        // A pipe or an HTTP body: one streaming pass. Entries before the manifest are hashed
        // with SHA-256 and SHA-1 (the manifest's algorithm is not known yet).
        let bar = progress(0, "hashing");
        let r = ova_core::manifest::verify_stream(
            std::io::stdin().lock(),
            &[Algorithm::Sha256, Algorithm::Sha1],
            growing_ticks(&bar),
        );
        bar.finish();
        r?
    } else {
        let ova = Ova::open(file)?;
        let bar = progress(data_bytes(&ova), "hashing");
        let r = ova.verify_manifest(&mut ticks(&bar));
        bar.finish();
        r?
    };
    let Some((manifest, report)) = result else {
        if json {
            print_json(
                &json!({ "file": file.display().to_string(), "ok": false, "error": "no manifest" }),
            );
        } else {
            println!("{}: no manifest", file.display());
        }
        return Ok(ExitCode::from(1));
    };
    let ok = report.is_ok() && manifest.bad_lines.is_empty();
    if json {
        print_json(&json!({
            "file": file.display().to_string(),
            "ok": ok,
            "report": report,
            "bad_lines": manifest.bad_lines,
        }));
    } else {
        for n in &report.matched {
            println!("ok        {n}");
        }
        for m in &report.mismatched {
            println!(
                "MISMATCH  {} ({}: manifest {}, computed {})",
                m.name, m.algorithm, m.expected, m.actual
            );
        }
        for n in &report.missing {
            println!("MISSING   {n} (listed in the manifest, not in the archive)");
        }
        for n in &report.unlisted {
            println!("UNLISTED  {n} (in the archive, not in the manifest)");
        }
        for n in &report.unchecked {
            println!("UNCHECKED {n}");
        }
        for b in &manifest.bad_lines {
            println!("BAD LINE  {}: {} ({})", b.line, b.text, b.reason);
        }
        println!(
            "{}: manifest {}",
            file.display(),
            if ok { "verifies" } else { "does NOT verify" }
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
