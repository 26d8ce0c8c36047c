//! The manifest rules: line syntax, digests, coverage.

use std::collections::{HashMap, HashSet};

use super::descriptor::is_external;
use super::facts::ManifestFacts;
use crate::archive::EntryInfo;
use crate::finding::Finding;
use crate::ovf::Descriptor;

pub(super) fn manifest_findings(
    mf: &ManifestFacts,
    d: &Descriptor,
    dname: &str,
    entries: &[EntryInfo],
    chunks: &HashMap<&str, Vec<(u64, usize)>>,
    out: &mut Vec<Finding>,
) {
    let at = |f: Finding| f.with_entry(&mf.entry);
    let m = &mf.manifest;
    for l in &m.bad_lines {
        out.push(at(Finding::error(
            "manifest-line-unparseable",
            format!(
                "manifest line {} is not an ALG(name)= digest line ({})",
                l.line, l.reason
            ),
        )));
    }
    for l in &m.lines {
        if l.vmware_rejects() {
            out.push(at(Finding::error(
                "manifest-line-rejected-by-vmware",
                format!(
                    "manifest line {} ({}) is in a form VMware refuses; write {}({})= hex",
                    l.line,
                    l.name,
                    l.algorithm.token(),
                    l.name
                ),
            )));
        }
    }
    for name in m.duplicate_names() {
        out.push(at(Finding::error(
            "manifest-duplicate-entry",
            format!("the manifest lists {name} more than once"),
        )));
    }
    if let Some(report) = &mf.report {
        for c in &report.mismatched {
            out.push(
                Finding::error(
                    "digest-mismatch",
                    format!(
                        "{} digest of {} is {}, the manifest says {}",
                        c.algorithm.token(),
                        c.name,
                        c.actual,
                        c.expected
                    ),
                )
                .with_entry(&c.name),
            );
        }
        for name in &report.unchecked {
            out.push(at(Finding::warning(
                "digest-not-checked",
                format!("the digest of {name} was not checked (its algorithm was not computed)"),
            )));
        }
    }
    let listed: HashSet<&str> = m.lines.iter().map(|l| l.name.as_str()).collect();
    let present: HashSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    let mut must_list: Vec<String> = vec![dname.to_string()];
    for f in d.references() {
        if is_external(&f.href) {
            continue;
        }
        if present.contains(f.href.as_str()) {
            must_list.push(f.href.clone());
        } else if let Some(parts) = chunks.get(f.href.as_str()) {
            // A chunked file is listed chunk by chunk (a whole-file line is also accepted).
            if !listed.contains(f.href.as_str()) {
                must_list.extend(parts.iter().map(|&(_, i)| entries[i].name.clone()));
            }
        }
    }
    for name in must_list {
        if !listed.contains(name.as_str()) {
            out.push(at(Finding::error(
                "file-missing-from-manifest",
                format!("the manifest has no digest for {name}"),
            )));
        }
    }
    for l in &m.lines {
        let chunked_whole = chunks.contains_key(l.name.as_str());
        if !present.contains(l.name.as_str()) && !chunked_whole {
            out.push(at(Finding::error(
                "manifest-lists-absent-file",
                format!("the manifest lists {}, which is not in the archive", l.name),
            )));
        }
    }
}
