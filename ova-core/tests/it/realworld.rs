//! The real-world corpus (the repository's `testdata/realworld`, see its SOURCES.md): every
//! operation on every file, compared with the verdict recorded by hand in
//! `testdata/realworld/expected.json`.
//!
//! For a package: `validate`, `manifest verify`, `repack` (fresh SHA-256 manifest) and the
//! validation of its output, an in-place edit, `extract`, and `pack` of the extracted files.
//! For a bare descriptor: the descriptor rules, an edit (`--cpus 2`), and `pack` with a
//! small stand-in file for each local reference (so a dropped file shows as a missing entry).
//!
//! Each expected finding carries a `reason` (why the verdict is right, from DSP0243 or a
//! VMware tool's behaviour); the comparison ignores the reasons but requires one. A new
//! finding or a missing one fails, and the failure prints the verdict as computed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ova_core::no_progress;
use ova_core::ovf::{Descriptor, Edit};
use ova_core::package::{Ova, RepackOptions};
use ova_core::validate::{Finding, Severity, validate_descriptor};
use ova_core::write::{LargeSize, ManifestChoice};
use serde_json::{Value, json};

fn corpus_dir() -> PathBuf {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/realworld"
    ));
    assert!(
        dir.is_dir(),
        "real-world corpus missing at {}",
        dir.display()
    );
    dir.to_path_buf()
}

/// Findings as sorted `severity code` strings.
fn verdict(findings: &[Finding]) -> Vec<String> {
    let mut v: Vec<String> = findings
        .iter()
        .map(|f| {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            format!("{sev} {}", f.code)
        })
        .collect();
    v.sort();
    v
}

fn outcome<T>(r: ova_core::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => refused(&e),
    }
}

/// An error as recorded: its message without the paths of this run.
fn refused(e: &ova_core::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.find(" in /") {
        Some(i) => &msg[..i],
        None => &msg,
    };
    format!("refused: {msg}")
}

fn package_verdict(path: &Path) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let ova = match Ova::open(path) {
        Ok(ova) => ova,
        // Only that it is refused is recorded: the message is the archive reader's.
        Err(_) => return json!({ "open": "refused" }),
    };
    let validate = verdict(&ova.validate(&mut no_progress).unwrap());
    let manifest = match ova.verify_manifest(&mut no_progress).unwrap() {
        None => "none".to_string(),
        Some((_, r)) if r.is_ok() => "verifies".into(),
        Some((_, r)) => format!(
            "fails: {} mismatched, {} missing, {} unlisted",
            r.mismatched.len(),
            r.missing.len(),
            r.unlisted.len()
        ),
    };
    let repacked = tmp.path().join("repacked.ova");
    let options = RepackOptions::new().with_manifest(ManifestChoice::Sha256);
    let repack = outcome(ova.repack(&repacked, &options, &mut no_progress));
    let repacked_validate = if repacked.exists() {
        verdict(
            &Ova::open(&repacked)
                .unwrap()
                .validate(&mut no_progress)
                .unwrap(),
        )
    } else {
        Vec::new()
    };
    let edited = tmp.path().join("edited.ova");
    std::fs::copy(path, &edited).unwrap();
    let edit = outcome(Ova::edit_in_place(&edited, &[Edit::set_name("corpus")]));
    let dir = tmp.path().join("x");
    let extract = match ova.extract(&dir, &mut no_progress) {
        Ok(files) => {
            let mut names: Vec<String> = files
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            names.sort();
            json!(names)
        }
        Err(e) => json!(refused(&e)),
    };
    let packed = tmp.path().join("packed.ova");
    let pack = match Ova::pack(
        &dir,
        &packed,
        ManifestChoice::Sha256,
        LargeSize::Base256,
        &mut no_progress,
    ) {
        Ok(r) => json!(r.written),
        Err(e) => json!(refused(&e)),
    };
    json!({
        "validate": validate,
        "manifest": manifest,
        "repack": repack,
        "repacked_validate": repacked_validate,
        "edit": edit,
        "extract": extract,
        "pack": pack,
    })
}

fn descriptor_verdict(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    let validate = verdict(&validate_descriptor(&bytes));
    let edit = match Descriptor::parse(&bytes) {
        Ok(d) => outcome(d.apply(&[Edit::set_cpus(2)])),
        Err(e) => refused(&e),
    };
    // Pack with a stand-in for every local file the descriptor references.
    let tmp = tempfile::tempdir().unwrap();
    let name = path.file_name().unwrap();
    std::fs::write(tmp.path().join(name), &bytes).unwrap();
    if let Ok(d) = Descriptor::parse(&bytes) {
        for f in d.references() {
            let p = tmp.path().join(&f.href);
            if !f.href.contains("..")
                && !f.href.contains("://")
                && let Some(parent) = p.parent()
            {
                std::fs::create_dir_all(parent).unwrap();
                std::fs::write(&p, b"stand-in").unwrap();
            }
        }
    }
    let pack = match Ova::pack(
        tmp.path().join(name),
        tmp.path().join("packed.ova"),
        ManifestChoice::Sha256,
        LargeSize::Base256,
        &mut no_progress,
    ) {
        Ok(r) => json!(r.written),
        Err(e) => json!(refused(&e)),
    };
    json!({ "validate": validate, "edit": edit, "pack": pack })
}

/// The expected verdicts with the reasons taken out (`validate` entries are
/// `{"finding": "severity code", "reason": "..."}` in the file).
fn strip_reasons(file: &str, v: &Value) -> Value {
    let mut v = v.clone();
    let obj = v.as_object_mut().unwrap();
    obj.remove("source");
    obj.remove("why");
    for key in ["validate", "repacked_validate"] {
        if let Some(Value::Array(items)) = obj.get_mut(key) {
            let mut codes: Vec<String> = items
                .iter()
                .map(|i| {
                    let reason = i["reason"].as_str().unwrap_or("");
                    assert!(
                        !reason.trim().is_empty(),
                        "{file}: {key} finding {i} has no reason"
                    );
                    i["finding"].as_str().unwrap().to_string()
                })
                .collect();
            codes.sort();
            *items = codes.into_iter().map(Value::String).collect();
        }
    }
    v
}

#[test]
fn every_operation_on_every_file_gives_the_recorded_verdict() {
    let dir = corpus_dir();
    let expected: BTreeMap<String, Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ova" || x == "ovf") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut failures = Vec::new();
    let mut actual_all = BTreeMap::new();
    for p in &files {
        let rel = p
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let actual = if rel.ends_with(".ova") {
            package_verdict(p)
        } else {
            descriptor_verdict(p)
        };
        match expected.get(&rel) {
            None => failures.push(format!("{rel}: no recorded verdict")),
            Some(e) if strip_reasons(&rel, e) != actual => {
                failures.push(format!("{rel}: verdict differs"));
            }
            Some(_) => {}
        }
        actual_all.insert(rel, actual);
    }
    for name in expected.keys() {
        if !actual_all.contains_key(name) {
            failures.push(format!("{name}: recorded but not in the corpus"));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\ncomputed verdicts:\n{}",
        failures.join("\n"),
        serde_json::to_string_pretty(&actual_all).unwrap()
    );
}
