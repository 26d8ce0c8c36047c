//! The package rules: entry safety, placement of descriptor, manifest and certificate,
//! References against the archive's entries, chunked files.

use std::collections::{HashMap, HashSet};

use super::descriptor::{descriptor_findings, is_external, parse_failure};
use super::facts::PackageFacts;
use super::manifest::manifest_findings;
use crate::archive::{EntryInfo, EntryKind, EntryProblem, Extension};
use crate::finding::Finding;
use crate::ovf::Descriptor;

/// `name.000000012` → (`name`, 12).
fn chunk_of(name: &str) -> Option<(&str, u64)> {
    let (base, suffix) = name.rsplit_once('.')?;
    (suffix.len() == 9 && suffix.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (base, suffix.parse().ok()))
        .and_then(|(b, n)| n.map(|n| (b, n)))
}
/// The finding for one archive-entry irregularity (`None` for those reported elsewhere).
fn entry_finding(name: &str, size: u64, problem: &EntryProblem) -> Option<Finding> {
    Some(match problem {
        EntryProblem::AbsolutePath => Finding::error(
            "unsafe-entry-name",
            format!("entry name {name:?} is absolute"),
        ),
        EntryProblem::ParentComponent => Finding::error(
            "unsafe-entry-name",
            format!("entry name {name:?} has a '..' component"),
        ),
        EntryProblem::NotFlat => Finding::error(
            "unsafe-entry-name",
            format!("entry name {name:?} is not a plain file name (OVA entries are flat)"),
        ),
        EntryProblem::Link { target } => Finding::error(
            "entry-is-link",
            format!("entry {name:?} is a link to {target:?}"),
        ),
        EntryProblem::Special => Finding::error(
            "entry-is-special",
            format!("entry {name:?} is a device or FIFO"),
        ),
        EntryProblem::Directory => Finding::error(
            "entry-is-directory",
            format!("entry {name:?} is a directory (OVA entries are flat files)"),
        ),
        EntryProblem::UnknownType { flag } => Finding::error(
            "entry-unknown-type",
            format!(
                "entry {name:?} has the unknown tar type flag {:?}",
                char::from(*flag)
            ),
        ),
        EntryProblem::Duplicate => Finding::error(
            "duplicate-entry",
            format!("entry name {name:?} occurs more than once"),
        ),
        EntryProblem::SizePastEnd { available } => Finding::error(
            "entry-past-end",
            format!("entry {name:?} claims {size} bytes but only {available} are in the archive"),
        ),
        EntryProblem::AppleDouble => Finding::error(
            "appledouble-entry",
            format!("entry {name:?} is a macOS AppleDouble file"),
        ),
        EntryProblem::NonAsciiName => Finding::warning(
            "entry-name-not-ascii",
            format!("entry name {name:?} is not ASCII"),
        ),
        EntryProblem::LongName => Finding::warning(
            "entry-name-too-long",
            format!("entry name {name:?} is longer than 100 bytes (no USTAR header can hold it)"),
        ),
        EntryProblem::Base256 { fields } => Finding::warning(
            // The size is what a reader must decode to find the next header; the other
            // fields only lose their value.
            if fields.contains(&"size") {
                "entry-size-base256"
            } else {
                "entry-field-base256"
            },
            format!(
                "entry {name:?} stores its {} in GNU base-256 (not USTAR; VMware's support is undocumented)",
                fields.join(" and ")
            ),
        ),
        // Reported with the descriptor, where it matters.
        EntryProblem::ExtensionHeader { .. } => return None,
        // Problems the archive reader may add later.
        #[allow(unreachable_patterns)]
        _ => Finding::warning("entry-irregular", format!("entry {name:?}: {problem:?}")),
    })
}

pub(super) fn package_rules(facts: &PackageFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    let entries = &facts.entries;

    // Entry safety.
    for e in entries {
        for problem in &e.problems {
            if let Some(f) = entry_finding(&e.name, e.size, problem) {
                out.push(f.with_entry(&e.name));
            }
        }
    }

    // Descriptor placement.
    let descriptors: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].kind == EntryKind::Descriptor)
        .collect();
    let Some(&di) = descriptors.first() else {
        out.push(Finding::error(
            "descriptor-missing",
            "the archive holds no .ovf descriptor",
        ));
        return out;
    };
    let dname = entries[di].name.clone();
    for &other in &descriptors[1..] {
        out.push(
            Finding::error(
                "multiple-descriptors",
                format!(
                    "the archive holds more than one descriptor ({dname:?} and {:?})",
                    entries[other].name
                ),
            )
            .with_entry(&entries[other].name),
        );
    }
    if di != 0 {
        out.push(
            Finding::error(
                "descriptor-not-first",
                format!(
                    "the descriptor {dname:?} is entry {}, not the first; VMware reports \"Did not find an .ovf file at the beginning of the OVA package\"",
                    di + 1
                ),
            )
            .with_entry(&entries[0].name),
        );
    }
    for problem in &entries[di].problems {
        if let EntryProblem::ExtensionHeader { extension } = problem {
            let kind = match extension {
                Extension::PaxLocal => "pax",
                Extension::PaxGlobal => "pax global",
                Extension::GnuLongName => "GNU LongLink name",
                Extension::GnuLongLink => "GNU LongLink target",
                #[allow(unreachable_patterns)]
                _ => "non-USTAR",
            };
            out.push(
                Finding::error(
                    "non-ustar-header-before-descriptor",
                    format!(
                        "a {kind} extension header precedes the descriptor's own header block, so the first block is not the .ovf"
                    ),
                )
                .with_entry(&dname),
            );
        }
    }

    // Manifest and certificate placement (DSP0243: both right after the descriptor, or
    // both at the end).
    let manifests: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].kind == EntryKind::Manifest)
        .collect();
    let certs: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].kind == EntryKind::Certificate)
        .collect();
    for &m in manifests.iter().skip(1) {
        out.push(
            Finding::error(
                "multiple-manifests",
                "the archive holds more than one manifest",
            )
            .with_entry(&entries[m].name),
        );
    }
    for &c in certs.iter().skip(1) {
        out.push(
            Finding::error(
                "multiple-certificates",
                "the archive holds more than one certificate",
            )
            .with_entry(&entries[c].name),
        );
    }
    let n = entries.len();
    match (manifests.first(), certs.first()) {
        (Some(&m), None) => {
            if m != di + 1 && m != n - 1 {
                out.push(
                    Finding::error(
                        "manifest-out-of-place",
                        "the manifest must directly follow the descriptor or be the last entry",
                    )
                    .with_entry(&entries[m].name),
                );
            }
        }
        (Some(&m), Some(&c)) => {
            let after = m == di + 1 && c == di + 2;
            let end = m + 2 == n && c + 1 == n;
            if !after && !end {
                let (code, idx) = if m == di + 1 || m + 2 == n {
                    ("certificate-out-of-place", c)
                } else {
                    ("manifest-out-of-place", m)
                };
                out.push(
                    Finding::error(
                        code,
                        "the manifest and certificate must either directly follow the descriptor (manifest first) or be the last two entries",
                    )
                    .with_entry(&entries[idx].name),
                );
            }
        }
        (None, Some(&c)) => out.push(
            Finding::error(
                "certificate-without-manifest",
                "the archive has a certificate but no manifest for it to sign",
            )
            .with_entry(&entries[c].name),
        ),
        (None, None) => {}
    }

    // The descriptor itself.
    let descriptor = match &facts.descriptor {
        None => return out,
        Some(bytes) => match Descriptor::parse(bytes) {
            Ok(d) => d,
            Err(e) => {
                out.push(parse_failure(&e).with_entry(&dname));
                return out;
            }
        },
    };
    for f in descriptor_findings(&descriptor) {
        out.push(f.with_entry(&dname));
    }

    // References against entries.
    let by_name: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    let mut chunks: HashMap<&str, Vec<(u64, usize)>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some((base, k)) = chunk_of(&e.name) {
            chunks.entry(base).or_default().push((k, i));
        }
    }
    let mut referenced: HashSet<usize> = HashSet::new();
    // For the order check: (reference position, chunk number) of each file entry.
    let mut order_key: HashMap<usize, (usize, u64)> = HashMap::new();
    for (ri, f) in descriptor.references().iter().enumerate() {
        if is_external(&f.href) {
            continue;
        }
        let whole = by_name.get(f.href.as_str()).copied();
        let parts = chunks.get(f.href.as_str());
        match (whole, parts) {
            (Some(i), _) => {
                referenced.insert(i);
                order_key.insert(i, (ri, 0));
                if let Some(size) = f.size
                    && entries[i].size != size
                {
                    out.push(
                        Finding::error(
                            "size-mismatch",
                            format!(
                                "File {} declares ovf:size {size} but the entry holds {} bytes",
                                f.id, entries[i].size
                            ),
                        )
                        .with_entry(&f.href),
                    );
                }
            }
            (None, Some(parts)) => {
                let mut parts = parts.clone();
                parts.sort_unstable();
                for &(k, i) in &parts {
                    referenced.insert(i);
                    order_key.insert(i, (ri, k));
                }
                chunk_findings(f, &parts, entries, &mut out);
            }
            (None, None) => out.push(
                Finding::error(
                    "referenced-file-absent",
                    format!("File {} ({:?}) is not in the archive", f.id, f.href),
                )
                .with_entry(&f.href),
            ),
        }
    }
    for (i, e) in entries.iter().enumerate() {
        if e.kind == EntryKind::File
            && !referenced.contains(&i)
            && !e.problems.contains(&EntryProblem::Directory)
        {
            out.push(
                Finding::warning(
                    "file-not-referenced",
                    format!("entry {:?} is not listed in References", e.name),
                )
                .with_entry(&e.name),
            );
        }
    }
    let mut keys: Vec<(usize, (usize, u64))> = order_key.into_iter().collect();
    keys.sort_unstable_by_key(|(i, _)| *i);
    if let Some(w) = keys.windows(2).find(|w| w[0].1 > w[1].1) {
        out.push(
            Finding::warning(
                "order-differs-from-references",
                format!(
                    "entry {:?} comes after {:?} in the archive but before it in References",
                    entries[w[0].0].name, entries[w[1].0].name
                ),
            )
            .with_entry(&entries[w[1].0].name),
        );
    }

    // Manifest.
    if let Some(mf) = &facts.manifest {
        manifest_findings(mf, &descriptor, &dname, entries, &chunks, &mut out);
    }
    out
}

fn chunk_findings(
    f: &crate::ovf::FileRef,
    parts: &[(u64, usize)],
    entries: &[EntryInfo],
    out: &mut Vec<Finding>,
) {
    let mut problems = Vec::new();
    for (expect, (k, _)) in parts.iter().enumerate() {
        if *k != expect as u64 {
            problems.push(format!("chunk {expect:09} is missing"));
            break;
        }
    }
    match f.chunk_size {
        None => problems.push("the file is split into chunks but has no ovf:chunkSize".into()),
        Some(cs) => {
            for &(k, i) in &parts[..parts.len().saturating_sub(1)] {
                if entries[i].size != cs {
                    problems.push(format!(
                        "chunk {k:09} holds {} bytes, not the chunk size {cs}",
                        entries[i].size
                    ));
                }
            }
            if let Some(&(k, i)) = parts.last()
                && entries[i].size > cs
            {
                problems.push(format!("last chunk {k:09} is larger than the chunk size"));
            }
        }
    }
    let total: u64 = parts.iter().map(|&(_, i)| entries[i].size).sum();
    if let Some(size) = f.size
        && total != size
    {
        problems.push(format!(
            "the chunks hold {total} bytes in all, but ovf:size is {size}"
        ));
    }
    for p in problems {
        out.push(
            Finding::error(
                "chunked-file-incomplete",
                format!("File {} ({:?}): {p}", f.id, f.href),
            )
            .with_entry(&f.href),
        );
    }
}
