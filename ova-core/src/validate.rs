//! The validation engine: pure rules over plain facts about a package, returning findings.
//!
//! Nothing here reads files. An archive reader collects a [`PackageFacts`] (the entries in
//! archive order with their irregularities, the descriptor's bytes, the manifest's parsed
//! lines and which digests were checked) and [`validate_package`] applies every rule.
//! [`validate_descriptor`] applies the descriptor-only rules to a bare `.ovf`.
//!
//! Every [`Finding`] has a stable kebab-case `code` that scripts can match on:
//!
//! | code | severity | meaning |
//! |---|---|---|
//! | `xml-not-well-formed` | error | the descriptor is not XML this reader accepts |
//! | `not-an-ovf-envelope` | error | the root element is not `Envelope` |
//! | `unknown-ovf-namespace` | error | the envelope namespace is no known OVF version |
//! | `not-a-number`, `capacity-overflow` | error | a numeric attribute does not hold a number |
//! | `capacity-units-unparseable` | error | `ovf:capacityAllocationUnits` cannot be read |
//! | `duplicate-file-id`, `duplicate-file-href`, `duplicate-disk-id`, `duplicate-network-name`, `duplicate-system-id`, `duplicate-instance-id`, `duplicate-property-key` | error | an id used twice |
//! | `disk-file-ref-dangling` | error | a disk's `ovf:fileRef` names no File |
//! | `host-resource-dangling` | error | a `HostResource` names no disk or file |
//! | `item-parent-dangling` | error | an item's `Parent` names no item |
//! | `populated-size-exceeds-capacity` | error | `ovf:populatedSize` > capacity |
//! | `disk-order-differs-from-references` | error | DiskSection order ≠ References order (ovftool refuses it) |
//! | `unsafe-href` | error | an `ovf:href` is absolute or climbs out with `..` |
//! | `manifest-in-references` | warning | the `.mf`/`.cert` is listed in References |
//! | `connection-network-undeclared` | warning | a NIC connects to a network NetworkSection lacks |
//! | `property-value-violates-qualifier` | warning | a default value breaks `MinLen`/`MaxLen`/`ValueMap` |
//! | `virtual-system-type-missing`, `unknown-virtual-system-type`, `non-vmware-virtual-system-type`, `virtual-system-type-not-on-esxi` | warning | see [`crate::ovf::compat`] |
//! | `hardware-exceeds-virtual-system-type` | error | devices, CPUs, memory or NICs the family cannot carry |
//! | `descriptor-missing`, `multiple-descriptors` | error | not exactly one `.ovf` |
//! | `descriptor-not-first` | error | the first entry is not the descriptor |
//! | `non-ustar-header-before-descriptor` | error | a pax/GNU extension header precedes the descriptor's header |
//! | `manifest-out-of-place`, `certificate-out-of-place`, `certificate-without-manifest`, `multiple-manifests`, `multiple-certificates` | error | DSP0243 placement rules |
//! | `order-differs-from-references` | warning | files not in References order |
//! | `referenced-file-absent` | error | a References file is not in the archive |
//! | `file-not-referenced` | warning | an archive file nothing references |
//! | `size-mismatch` | error | entry size ≠ `ovf:size` |
//! | `chunked-file-incomplete` | error | chunk files missing, out of sequence or of the wrong size |
//! | `digest-mismatch` | error | a manifest digest does not match the data |
//! | `file-missing-from-manifest`, `manifest-lists-absent-file`, `manifest-line-unparseable` | error | manifest coverage and syntax |
//! | `manifest-line-rejected-by-vmware` | error | a line form VMware refuses (`SHA256 (x) = y`, `SHA2-256(x)= y`) |
//! | `unsafe-entry-name`, `entry-is-link`, `entry-is-special`, `entry-is-directory`, `duplicate-entry`, `entry-past-end`, `appledouble-entry` | error | hostile or non-flat archive entries |
//! | `entry-unknown-type`, `manifest-duplicate-entry` | error | an unknown tar type flag; a name listed twice in the manifest |
//! | `entry-name-too-long`, `entry-name-not-ascii`, `entry-size-base256` | warning | headers VMware tools may not read |
//! | `digest-not-checked` | warning | a manifest line whose algorithm was not computed |
//! | `vmdk-unreadable` | error | a stream VMDK (an entry starting with a stream-optimized `KDMV` header) cannot be walked: bad header, truncated, corrupt marker |
//! | `vmdk-not-stream` | warning | a disk declared streamOptimized does not start with a stream-optimized sparse header |
//! | `vmdk-no-end-of-stream-marker` | error | a stream VMDK ends without its end-of-stream marker (truncated) |
//! | `vmdk-grain-directory`, `vmdk-grain-table-mismatch`, `vmdk-descriptor-capacity` | error | the grain directory or tables do not match the grains; the embedded descriptor's extent size is not the capacity |
//! | `vmdk-bytes-after-end` | warning (error when not all zero) | bytes after the end-of-stream marker (qemu-img's padding; VMware stops at the marker, so consumers report a digest mismatch) |
//! | `vmdk-no-footer`, `vmdk-redundant-directory-flag`, `vmdk-version-not-3`, `vmdk-create-type`, `vmdk-missing-ddb`, `vmdk-grains-out-of-order`, `vmdk-unclean-shutdown` | warning | stream VMDK details VMware products may reject (see [`crate::vmdk::VmdkProblem`]) |

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::archive::{EntryInfo, EntryKind, EntryProblem, Extension};
use crate::error::Error;
use crate::manifest::{Manifest, VerifyReport};
use crate::ovf::compat::check_hardware;
use crate::ovf::{Descriptor, HostResource, ProductSection, VirtualHardware};
use crate::vmdk::VmdkProblem;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The package will be refused or is unsafe.
    Error,
    /// The package works with some consumers but not all, or breaks a SHOULD.
    Warning,
}

/// One result of validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Stable kebab-case code (see the module documentation).
    pub code: &'static str,
    /// What is wrong, for a human.
    pub message: String,
    /// The archive entry concerned, when there is one.
    pub entry: Option<String>,
}

impl Finding {
    /// An error finding.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            code,
            message: message.into(),
            entry: None,
        }
    }

    /// A warning finding.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            code,
            message: message.into(),
            entry: None,
        }
    }

    /// Attaches the entry name.
    #[must_use]
    pub fn with_entry(mut self, entry: impl Into<String>) -> Self {
        self.entry = Some(entry.into());
        self
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]: {}", self.code, self.message)?;
        if let Some(e) = &self.entry {
            write!(f, " ({e})")?;
        }
        Ok(())
    }
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// The manifest as parsed, and what checking its digests against the data found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ManifestFacts {
    /// The manifest entry's name.
    pub entry: String,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The digest comparison, when the data was hashed.
    pub report: Option<VerifyReport>,
}

impl ManifestFacts {
    /// Facts for the manifest entry `entry` parsed as `manifest`.
    pub fn new(entry: impl Into<String>, manifest: Manifest, report: Option<VerifyReport>) -> Self {
        ManifestFacts {
            entry: entry.into(),
            manifest,
            report,
        }
    }
}

/// Everything the package rules look at.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct PackageFacts {
    /// Entries in archive order, with the irregularities the archive reader attached.
    pub entries: Vec<EntryInfo>,
    /// The descriptor's bytes (of the first `.ovf` entry), when it was read.
    pub descriptor: Option<Vec<u8>>,
    /// The manifest, when there is one and it was read.
    pub manifest: Option<ManifestFacts>,
    /// The stream-optimized VMDKs that were inspected (empty when none was).
    pub disks: Vec<DiskFacts>,
}

/// What inspecting one stream-optimized VMDK entry found (see [`crate::vmdk::inspect`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DiskFacts {
    /// The archive entry.
    pub entry: String,
    /// Whether the entry starts with a stream-optimized sparse header (when not, it was
    /// only declared streamOptimized by the descriptor, and `inspection` says so).
    pub has_header: bool,
    /// The problems found, or why the disk could not be walked.
    pub inspection: std::result::Result<Vec<VmdkProblem>, String>,
}

impl DiskFacts {
    /// Facts for the entry `entry`.
    pub fn new(
        entry: impl Into<String>,
        has_header: bool,
        inspection: std::result::Result<Vec<VmdkProblem>, String>,
    ) -> Self {
        DiskFacts {
            entry: entry.into(),
            has_header,
            inspection,
        }
    }
}

impl PackageFacts {
    /// Facts with these entries, descriptor bytes and manifest.
    pub fn new(
        entries: Vec<EntryInfo>,
        descriptor: Option<Vec<u8>>,
        manifest: Option<ManifestFacts>,
    ) -> Self {
        PackageFacts {
            entries,
            descriptor,
            manifest,
            disks: Vec::new(),
        }
    }

    /// These facts with the inspected stream VMDKs.
    #[must_use]
    pub fn with_disks(mut self, disks: Vec<DiskFacts>) -> Self {
        self.disks = disks;
        self
    }
}

/// `name.000000012` → (`name`, 12).
fn chunk_of(name: &str) -> Option<(&str, u64)> {
    let (base, suffix) = name.rsplit_once('.')?;
    (suffix.len() == 9 && suffix.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (base, suffix.parse().ok()))
        .and_then(|(b, n)| n.map(|n| (b, n)))
}

fn is_external(href: &str) -> bool {
    let lower = href.to_ascii_lowercase();
    ["http://", "https://", "file:", "ftp://"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// Validates a bare descriptor (no archive).
///
/// A descriptor that does not parse yields one finding (`xml-not-well-formed`,
/// `not-an-ovf-envelope` or `unknown-ovf-namespace`).
pub fn validate_descriptor(bytes: &[u8]) -> Vec<Finding> {
    match Descriptor::parse(bytes) {
        Ok(d) => descriptor_findings(&d),
        Err(e) => vec![parse_failure(&e)],
    }
}

fn parse_failure(e: &Error) -> Finding {
    let code = match e {
        Error::OvfNotEnvelope { .. } => "not-an-ovf-envelope",
        Error::OvfUnknownNamespace { .. } => "unknown-ovf-namespace",
        _ => "xml-not-well-formed",
    };
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    Finding::error(code, msg)
}

fn duplicates<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    let mut dups = Vec::new();
    for i in items {
        if !seen.insert(i) && !dups.contains(&i) {
            dups.push(i);
        }
    }
    dups
}

/// The descriptor rules, on a parsed descriptor.
pub fn descriptor_findings(d: &Descriptor) -> Vec<Finding> {
    let mut out = Vec::new();
    for issue in d.issues() {
        out.push(Finding::error(issue.code, issue.message.clone()));
    }

    // Duplicate ids.
    for id in duplicates(d.references().iter().map(|f| f.id.as_str())) {
        out.push(Finding::error(
            "duplicate-file-id",
            format!("References has more than one File with ovf:id {id:?}"),
        ));
    }
    for href in duplicates(d.references().iter().map(|f| f.href.as_str())) {
        out.push(Finding::error(
            "duplicate-file-href",
            format!("References has more than one File with ovf:href {href:?}"),
        ));
    }
    for id in duplicates(d.disks().iter().map(|x| x.disk_id.as_str())) {
        out.push(Finding::error(
            "duplicate-disk-id",
            format!("DiskSection has more than one Disk with ovf:diskId {id:?}"),
        ));
    }
    for n in duplicates(d.networks().iter().map(|x| x.name.as_str())) {
        out.push(Finding::error(
            "duplicate-network-name",
            format!("NetworkSection has more than one Network named {n:?}"),
        ));
    }
    let mut content_ids: Vec<&str> = d.systems().iter().map(|s| s.id.as_str()).collect();
    content_ids.extend(d.collections().iter().map(|c| c.id.as_str()));
    for id in duplicates(content_ids.into_iter()) {
        out.push(Finding::error(
            "duplicate-system-id",
            format!("more than one VirtualSystem/VirtualSystemCollection has ovf:id {id:?}"),
        ));
    }

    // References.
    for f in d.references() {
        let h = f.href.as_str();
        if is_external(h) {
            continue;
        }
        if h.starts_with('/') || h.split(['/', '\\']).any(|c| c == "..") {
            out.push(Finding::error(
                "unsafe-href",
                format!("File {} has ovf:href {h:?}, which leaves the package", f.id),
            ));
        }
        if matches!(
            EntryKind::of(h),
            EntryKind::Manifest | EntryKind::Certificate
        ) {
            out.push(Finding::warning(
                "manifest-in-references",
                format!(
                    "References lists {h:?}; the manifest and certificate must not be referenced"
                ),
            ));
        }
    }

    // Disks.
    let file_ids: HashSet<&str> = d.references().iter().map(|f| f.id.as_str()).collect();
    let disk_ids: HashSet<&str> = d.disks().iter().map(|x| x.disk_id.as_str()).collect();
    for disk in d.disks() {
        if let Some(r) = &disk.file_ref
            && !file_ids.contains(r.as_str())
        {
            out.push(Finding::error(
                "disk-file-ref-dangling",
                format!(
                    "Disk {} has ovf:fileRef {r:?}, which no File has as ovf:id",
                    disk.disk_id
                ),
            ));
        }
        if let (Some(p), Some(c)) = (disk.populated_size, disk.capacity_bytes)
            && p > c
        {
            out.push(Finding::error(
                "populated-size-exceeds-capacity",
                format!(
                    "Disk {} has ovf:populatedSize {p}, more than its capacity of {c} bytes",
                    disk.disk_id
                ),
            ));
        }
    }
    let ref_pos: HashMap<&str, usize> = d
        .references()
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.as_str(), i))
        .collect();
    let disk_order: Vec<usize> = d
        .disks()
        .iter()
        .filter_map(|x| x.file_ref.as_deref().and_then(|r| ref_pos.get(r).copied()))
        .collect();
    if disk_order.windows(2).any(|w| w[0] > w[1]) {
        out.push(Finding::error(
            "disk-order-differs-from-references",
            "DiskSection lists disks in a different order than References lists their files (ovftool refuses this)",
        ));
    }

    // Systems: hardware references, instance ids, compatibility.
    let networks: HashSet<&str> = d.networks().iter().map(|n| n.name.as_str()).collect();
    for s in d.systems() {
        for h in &s.hardware {
            hardware_findings(&s.id, h, &disk_ids, &file_ids, &networks, &mut out);
        }
        for p in check_hardware(s) {
            out.push(Finding {
                severity: p.severity,
                code: p.code,
                message: p.message,
                entry: None,
            });
        }
    }

    // Products.
    for (owner, p) in d.product_sections() {
        product_findings(owner, p, &mut out);
    }
    out
}

fn hardware_findings(
    sys: &str,
    h: &VirtualHardware,
    disk_ids: &HashSet<&str>,
    file_ids: &HashSet<&str>,
    networks: &HashSet<&str>,
    out: &mut Vec<Finding>,
) {
    let instance_ids: HashSet<&str> = h
        .items
        .iter()
        .filter_map(|i| i.instance_id.as_deref())
        .collect();
    // Duplicate InstanceIDs: the same id on two items that apply to a common configuration
    // (two items without ovf:configuration, or two naming the same configuration). Linear, so
    // a hostile descriptor with many items cannot make this quadratic.
    let mut seen: HashMap<&str, (bool, HashSet<&str>)> = HashMap::new();
    let mut reported = HashSet::new();
    for item in &h.items {
        let Some(id) = item.instance_id.as_deref() else {
            continue;
        };
        let (unconfigured, configs) = seen.entry(id).or_default();
        let overlap = if item.configurations.is_empty() {
            std::mem::replace(unconfigured, true)
        } else {
            let mut hit = false;
            for c in &item.configurations {
                hit |= !configs.insert(c.as_str());
            }
            hit
        };
        if overlap && reported.insert(id) {
            out.push(Finding::error(
                "duplicate-instance-id",
                format!("system {sys}: more than one item has InstanceID {id}"),
            ));
        }
    }
    for item in &h.items {
        let iid = item.instance_id.as_deref().unwrap_or("?");
        for hr in &item.host_resources {
            let ok = match HostResource::parse(hr) {
                HostResource::Disk(id) => disk_ids.contains(id.as_str()),
                HostResource::File(id) => file_ids.contains(id.as_str()),
                HostResource::Other(s) => s.is_empty(),
            };
            if !ok {
                out.push(Finding::error(
                    "host-resource-dangling",
                    format!(
                        "system {sys}: item {iid} has HostResource {hr:?}, which names no disk or file of the descriptor"
                    ),
                ));
            }
        }
        if let Some(p) = &item.parent
            && !instance_ids.contains(p.as_str())
        {
            out.push(Finding::error(
                "item-parent-dangling",
                format!("system {sys}: item {iid} has Parent {p}, which no item has as InstanceID"),
            ));
        }
        if item.is_nic() {
            for c in &item.connections {
                if !c.is_empty() && !networks.contains(c.as_str()) {
                    out.push(Finding::warning(
                        "connection-network-undeclared",
                        format!(
                            "system {sys}: network adapter {iid} connects to {c:?}, which NetworkSection does not declare"
                        ),
                    ));
                }
            }
        }
    }
}

fn product_findings(owner: &str, p: &ProductSection, out: &mut Vec<Finding>) {
    for key in duplicates(p.properties.iter().map(|x| x.key.as_str())) {
        out.push(Finding::error(
            "duplicate-property-key",
            format!(
                "{owner}: ProductSection{} has more than one Property with ovf:key {key:?}",
                p.class
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            ),
        ));
    }
    for prop in &p.properties {
        let (Some(q), Some(v)) = (&prop.qualifiers, &prop.value) else {
            continue;
        };
        if v.is_empty() || v.starts_with("${") {
            continue;
        }
        if let Some(why) = qualifier_violation(q, v) {
            out.push(Finding::warning(
                "property-value-violates-qualifier",
                format!("{owner}: property {} default value {v:?} {why}", prop.key),
            ));
        }
    }
}

/// Checks `MinLen(n)`, `MaxLen(n)` and `ValueMap{...}` qualifiers against a value.
fn qualifier_violation(qualifiers: &str, value: &str) -> Option<String> {
    let len = value.chars().count();
    let num = |s: &str, name: &str| -> Option<usize> {
        let i = s.find(name)?;
        let rest = &s[i + name.len()..];
        let rest = rest.trim_start().strip_prefix('(')?;
        rest[..rest.find(')')?].trim().parse().ok()
    };
    if let Some(min) = num(qualifiers, "MinLen")
        && len < min
    {
        return Some(format!("is shorter than MinLen({min})"));
    }
    if let Some(max) = num(qualifiers, "MaxLen")
        && len > max
    {
        return Some(format!("is longer than MaxLen({max})"));
    }
    if let Some(i) = qualifiers.find("ValueMap") {
        let rest = &qualifiers[i + "ValueMap".len()..];
        if let Some(body) = rest
            .trim_start()
            .strip_prefix('{')
            .and_then(|r| r.find('}').map(|e| &r[..e]))
        {
            let allowed: Vec<String> = body
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect();
            // Ranges ("1..10") make membership undecidable here; only check plain lists.
            if !allowed.iter().any(|a| a.contains("..")) && !allowed.iter().any(|a| a == value) {
                return Some(format!("is not one of ValueMap{{{body}}}"));
            }
        }
    }
    None
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
        EntryProblem::Base256 => Finding::warning(
            "entry-size-base256",
            format!(
                "entry {name:?} uses the GNU base-256 size field (not USTAR; VMware's support is undocumented)"
            ),
        ),
        // Reported with the descriptor, where it matters.
        EntryProblem::ExtensionHeader { .. } => return None,
        // Problems the archive reader may add later.
        #[allow(unreachable_patterns)]
        _ => Finding::warning("entry-irregular", format!("entry {name:?}: {problem:?}")),
    })
}

/// Applies every rule to a package.
pub fn validate_package(facts: &PackageFacts) -> Vec<Finding> {
    let mut out = package_rules(facts);
    for disk in &facts.disks {
        disk_findings(disk, &mut out);
    }
    out
}

/// The findings for one inspected stream-optimized VMDK.
fn disk_findings(disk: &DiskFacts, out: &mut Vec<Finding>) {
    let problems = match &disk.inspection {
        Ok(problems) => problems,
        Err(reason) if !disk.has_header => {
            out.push(
                Finding::warning(
                    "vmdk-not-stream",
                    format!("disk {:?}: {reason}", disk.entry),
                )
                .with_entry(&disk.entry),
            );
            return;
        }
        Err(reason) => {
            out.push(
                Finding::error(
                    "vmdk-unreadable",
                    format!("stream vmdk {:?} cannot be read: {reason}", disk.entry),
                )
                .with_entry(&disk.entry),
            );
            return;
        }
    };
    for p in problems {
        let (error, code) = match p {
            VmdkProblem::NoEndOfStreamMarker => (true, "vmdk-no-end-of-stream-marker"),
            VmdkProblem::NoFooter => (false, "vmdk-no-footer"),
            VmdkProblem::BytesAfterEnd { nonzero, .. } => (*nonzero, "vmdk-bytes-after-end"),
            VmdkProblem::RedundantGrainDirectoryFlag => (false, "vmdk-redundant-directory-flag"),
            VmdkProblem::Version { .. } => (false, "vmdk-version-not-3"),
            VmdkProblem::CreateType { .. } => (false, "vmdk-create-type"),
            VmdkProblem::MissingDdb { .. } => (false, "vmdk-missing-ddb"),
            VmdkProblem::DescriptorCapacity { .. } => (true, "vmdk-descriptor-capacity"),
            VmdkProblem::GrainsOutOfOrder => (false, "vmdk-grains-out-of-order"),
            VmdkProblem::UncleanShutdown => (false, "vmdk-unclean-shutdown"),
            VmdkProblem::Directory { .. } => (true, "vmdk-grain-directory"),
            VmdkProblem::GrainTableMismatch { .. } => (true, "vmdk-grain-table-mismatch"),
            #[allow(unreachable_patterns)]
            _ => (false, "vmdk-irregular"),
        };
        let message = format!("stream vmdk {:?}: {p}", disk.entry);
        let f = if error {
            Finding::error(code, message)
        } else {
            Finding::warning(code, message)
        };
        out.push(f.with_entry(&disk.entry));
    }
}

fn package_rules(facts: &PackageFacts) -> Vec<Finding> {
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

fn manifest_findings(
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

#[cfg(test)]
mod tests {
    use super::*;

    const OVF: &str = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="1000"/>
    <File ovf:href="cd.iso" ovf:id="file2" ovf:size="300"/>
  </References>
  <DiskSection><Info/>
    <Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:populatedSize="500"/>
  </DiskSection>
  <NetworkSection><Info/><Network ovf:name="VM Network"/></NetworkSection>
  <VirtualSystem ovf:id="vm">
    <Info/>
    <ProductSection><Info/><Property ovf:key="a" ovf:type="string" ovf:value="x"/></ProductSection>
    <VirtualHardwareSection><Info/>
      <System><vssd:VirtualSystemType>vmx-10</vssd:VirtualSystemType></System>
      <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>3</rasd:InstanceID><rasd:Parent>2</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:HostResource>ovf:/file/file2</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>15</rasd:ResourceType></Item>
      <Item><rasd:Connection>VM Network</rasd:Connection><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#;

    fn codes(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.code).collect()
    }

    fn with(from: &str, to: &str) -> Vec<u8> {
        assert!(OVF.contains(from), "{from}");
        OVF.replacen(from, to, 1).into_bytes()
    }

    fn entry(name: &str, size: u64) -> EntryInfo {
        EntryInfo {
            index: 0,
            name: name.into(),
            kind: EntryKind::of(name),
            entry_type: crate::tar::EntryType::Regular,
            size,
            header_offset: 0,
            own_header_offset: 0,
            data_offset: 0,
            header_format: crate::tar::HeaderFormat::Ustar,
            extensions: vec![],
            mode: 0o644,
            mtime: 0,
            problems: vec![],
        }
    }

    fn with_problem(mut e: EntryInfo, p: EntryProblem) -> EntryInfo {
        e.problems.push(p);
        e
    }

    const DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    fn manifest(names: &[&str]) -> Manifest {
        let text: String = names
            .iter()
            .map(|n| format!("SHA256({n})= {DIGEST}\n"))
            .collect();
        crate::manifest::parse(text.as_bytes())
    }

    fn good_facts() -> PackageFacts {
        PackageFacts::new(
            vec![
                entry("vm.ovf", OVF.len() as u64),
                entry("vm.mf", 100),
                entry("disk1.vmdk", 1000),
                entry("cd.iso", 300),
            ],
            Some(OVF.as_bytes().to_vec()),
            Some(ManifestFacts::new(
                "vm.mf",
                manifest(&["vm.ovf", "disk1.vmdk", "cd.iso"]),
                Some(VerifyReport::default()),
            )),
        )
    }

    #[test]
    fn a_good_descriptor_and_package_have_no_findings() {
        assert_eq!(validate_descriptor(OVF.as_bytes()), vec![]);
        assert_eq!(validate_package(&good_facts()), vec![]);
    }

    #[test]
    fn descriptor_rules() {
        let cases: &[(&str, &str, &str)] = &[
            ("ovf:id=\"file2\"", "ovf:id=\"file1\"", "duplicate-file-id"),
            (
                "ovf:href=\"cd.iso\"",
                "ovf:href=\"disk1.vmdk\"",
                "duplicate-file-href",
            ),
            (
                "ovf:href=\"cd.iso\"",
                "ovf:href=\"../cd.iso\"",
                "unsafe-href",
            ),
            (
                "ovf:href=\"cd.iso\"",
                "ovf:href=\"vm.mf\"",
                "manifest-in-references",
            ),
            (
                "ovf:fileRef=\"file1\"",
                "ovf:fileRef=\"nope\"",
                "disk-file-ref-dangling",
            ),
            (
                "ovf:populatedSize=\"500\"",
                "ovf:populatedSize=\"1073741825\"",
                "populated-size-exceeds-capacity",
            ),
            ("byte * 2^30", "byte * 2^", "capacity-units-unparseable"),
            ("ovf:capacity=\"1\"", "ovf:capacity=\"one\"", "not-a-number"),
            (
                "ovf:/disk/vmdisk1",
                "ovf:/disk/vmdisk9",
                "host-resource-dangling",
            ),
            (
                "ovf:/file/file2",
                "ovf:/file/file9",
                "host-resource-dangling",
            ),
            (
                "<rasd:Parent>2</rasd:Parent>",
                "<rasd:Parent>7</rasd:Parent>",
                "item-parent-dangling",
            ),
            (
                "<rasd:InstanceID>4</rasd:InstanceID>",
                "<rasd:InstanceID>3</rasd:InstanceID>",
                "duplicate-instance-id",
            ),
            (
                "<rasd:Connection>VM Network</rasd:Connection>",
                "<rasd:Connection>Other</rasd:Connection>",
                "connection-network-undeclared",
            ),
            (
                "ovf:key=\"a\" ovf:type=\"string\" ovf:value=\"x\"/>",
                "ovf:key=\"a\" ovf:type=\"string\" ovf:value=\"x\"/><Property ovf:key=\"a\" ovf:type=\"string\"/>",
                "duplicate-property-key",
            ),
            (
                "ovf:value=\"x\"",
                "ovf:value=\"x\" ovf:qualifiers=\"MinLen(2)\"",
                "property-value-violates-qualifier",
            ),
            (
                "ovf:value=\"x\"",
                "ovf:value=\"x\" ovf:qualifiers=\"ValueMap{&quot;y&quot;,&quot;z&quot;}\"",
                "property-value-violates-qualifier",
            ),
            ("vmx-10", "virtualbox-2.2", "non-vmware-virtual-system-type"),
            ("vmx-10", "quux-1", "unknown-virtual-system-type"),
            ("vmx-10", "vmx-04", "hardware-exceeds-virtual-system-type"),
            (
                "<Network ovf:name=\"VM Network\"/>",
                "<Network ovf:name=\"VM Network\"/><Network ovf:name=\"VM Network\"/>",
                "duplicate-network-name",
            ),
            (
                "<VirtualSystem ovf:id=\"vm\">",
                "<VirtualSystem ovf:id=\"vm\">",
                "",
            ),
        ];
        for (from, to, code) in cases {
            let f = validate_descriptor(&with(from, to));
            if code.is_empty() {
                assert!(f.is_empty());
                continue;
            }
            assert!(codes(&f).contains(code), "{code}: {f:#?}");
        }
        // Disk order.
        let two = with(
            "<Disk ovf:capacity=\"1\"",
            "<Disk ovf:capacity=\"1\" ovf:diskId=\"vmdisk2\" ovf:fileRef=\"file2\"/>\n<Disk ovf:capacity=\"1\"",
        );
        assert!(codes(&validate_descriptor(&two)).contains(&"disk-order-differs-from-references"));
        // Parse failures.
        assert_eq!(codes(&validate_descriptor(b"<a>")), ["xml-not-well-formed"]);
        assert_eq!(
            codes(&validate_descriptor(b"<HTML/>")),
            ["not-an-ovf-envelope"]
        );
        assert_eq!(
            codes(&validate_descriptor(
                b"<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/3\"/>"
            )),
            ["unknown-ovf-namespace"]
        );
    }

    #[test]
    fn instance_ids_per_configuration() {
        let item = |cfg: &str| {
            format!(
                "<Item{cfg}><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>"
            )
        };
        let first = item("");
        let doc = |extra: &str| with(&first, &format!("{first}{extra}"));
        let dup = |extra: &str| {
            codes(&validate_descriptor(&doc(extra))).contains(&"duplicate-instance-id")
        };
        // The default item plus per-configuration overrides is the normal pattern.
        assert!(!dup(&item(" ovf:configuration=\"a\"")));
        assert!(!dup(&[
            item(" ovf:configuration=\"a\""),
            item(" ovf:configuration=\"b c\"")
        ]
        .concat()));
        assert!(dup(&[
            item(" ovf:configuration=\"a b\""),
            item(" ovf:configuration=\"b\"")
        ]
        .concat()));
        assert!(dup(&item("")));
    }

    #[test]
    fn qualifiers() {
        assert_eq!(qualifier_violation("MinLen(1) MaxLen(3)", "ab"), None);
        assert!(qualifier_violation("MaxLen(3)", "abcd").is_some());
        assert_eq!(qualifier_violation("ValueMap{\"a\",\"b\"}", "b"), None);
        assert_eq!(qualifier_violation("ValueMap{1..10}", "99"), None);
        assert_eq!(qualifier_violation("Ip", "x"), None);
    }

    fn package_codes(change: impl FnOnce(&mut PackageFacts)) -> Vec<&'static str> {
        let mut f = good_facts();
        change(&mut f);
        codes(&validate_package(&f))
    }

    #[test]
    fn placement_rules() {
        assert_eq!(
            package_codes(|f| f.entries.swap(0, 2)),
            ["descriptor-not-first", "manifest-out-of-place"]
        );
        assert_eq!(
            package_codes(
                |f| f.entries[0].problems.push(EntryProblem::ExtensionHeader {
                    extension: Extension::PaxLocal
                })
            ),
            ["non-ustar-header-before-descriptor"]
        );
        // Manifest at the end is fine; in the middle it is not.
        assert!(
            package_codes(|f| {
                let m = f.entries.remove(1);
                f.entries.push(m);
            })
            .is_empty()
        );
        assert_eq!(
            package_codes(|f| f.entries.swap(1, 2)),
            ["manifest-out-of-place"]
        );
        // Certificate right after the manifest, or both at the end.
        assert!(package_codes(|f| f.entries.insert(2, entry("vm.cert", 10))).is_empty());
        assert!(
            package_codes(|f| {
                let m = f.entries.remove(1);
                f.entries.push(m);
                f.entries.push(entry("vm.cert", 10));
            })
            .is_empty()
        );
        assert_eq!(
            package_codes(|f| f.entries.push(entry("vm.cert", 10))),
            ["certificate-out-of-place"]
        );
        assert_eq!(
            package_codes(|f| {
                f.entries.remove(1);
                f.manifest = None;
                f.entries.push(entry("vm.cert", 10));
            }),
            ["certificate-without-manifest"]
        );
        assert_eq!(
            package_codes(|f| f.entries.push(entry("x.mf", 10))),
            ["multiple-manifests"]
        );
        assert_eq!(
            package_codes(|f| f.entries.push(entry("b.ovf", 10))),
            ["multiple-descriptors"]
        );
        assert_eq!(
            package_codes(|f| f.entries.retain(|e| e.name != "vm.ovf")),
            ["descriptor-missing"]
        );
    }

    #[test]
    fn reference_rules() {
        assert_eq!(
            package_codes(|f| f.entries.truncate(3)),
            ["referenced-file-absent", "manifest-lists-absent-file"]
        );
        assert_eq!(
            package_codes(|f| f.entries[2].size = 999),
            ["size-mismatch"]
        );
        let extra = package_codes(|f| f.entries.push(entry("notes.txt", 1)));
        assert_eq!(extra, ["file-not-referenced"]);
    }

    #[test]
    fn entry_safety_rules() {
        let all = package_codes(|f| {
            for (name, size, p) in [
                ("/etc/passwd", 1, EntryProblem::AbsolutePath),
                ("../x", 1, EntryProblem::ParentComponent),
                ("sub/x", 1, EntryProblem::NotFlat),
                ("l", 0, EntryProblem::Link { target: "/".into() }),
                ("dev", 0, EntryProblem::Special),
                ("cd.iso", 300, EntryProblem::Duplicate),
                ("big", 1 << 40, EntryProblem::SizePastEnd { available: 5 }),
                ("._vm.ovf", 1, EntryProblem::AppleDouble),
                ("d/", 0, EntryProblem::Directory),
                ("huge", 1 << 34, EntryProblem::Base256),
            ] {
                f.entries.push(with_problem(entry(name, size), p));
            }
        });
        for code in [
            "unsafe-entry-name",
            "entry-is-link",
            "entry-is-special",
            "duplicate-entry",
            "entry-past-end",
            "appledouble-entry",
            "entry-is-directory",
            "entry-size-base256",
        ] {
            assert!(all.contains(&code), "{code}: {all:?}");
        }
    }

    #[test]
    fn manifest_rules() {
        assert_eq!(
            package_codes(|f| {
                let mut r = VerifyReport::default();
                r.mismatched.push(crate::manifest::Mismatch {
                    name: "disk1.vmdk".into(),
                    algorithm: crate::manifest::Algorithm::Sha256,
                    expected: DIGEST.into(),
                    actual: "ff".into(),
                });
                r.unchecked.push("cd.iso".into());
                f.manifest.as_mut().unwrap().report = Some(r);
            }),
            ["digest-mismatch", "digest-not-checked"]
        );
        assert_eq!(
            package_codes(|f| {
                f.manifest.as_mut().unwrap().manifest = manifest(&["vm.ovf", "disk1.vmdk"]);
            }),
            ["file-missing-from-manifest"]
        );
        assert_eq!(
            package_codes(|f| {
                f.manifest.as_mut().unwrap().manifest =
                    manifest(&["vm.ovf", "disk1.vmdk", "cd.iso", "cd.iso", "gone.txt"]);
            }),
            ["manifest-duplicate-entry", "manifest-lists-absent-file"]
        );
        assert_eq!(
            package_codes(|f| {
                let text = format!(
                    "SHA256 (vm.ovf) = {DIGEST}\nSHA256(disk1.vmdk)= {DIGEST}\nSHA256(cd.iso)= {DIGEST}\nnonsense\n"
                );
                f.manifest.as_mut().unwrap().manifest = crate::manifest::parse(text.as_bytes());
            }),
            [
                "manifest-line-unparseable",
                "manifest-line-rejected-by-vmware"
            ]
        );
    }

    #[test]
    fn chunk_rules() {
        let chunked = OVF.replace(
            "ovf:href=\"disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"1000\"",
            "ovf:chunkSize=\"400\" ovf:href=\"disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"1000\"",
        );
        let facts = |sizes: &[(u32, u64)]| {
            let mut f = good_facts();
            f.descriptor = Some(chunked.clone().into_bytes());
            f.manifest = None;
            f.entries.remove(1);
            f.entries.remove(1);
            for (i, (k, s)) in sizes.iter().enumerate() {
                f.entries
                    .insert(1 + i, entry(&format!("disk1.vmdk.{k:09}"), *s));
            }
            codes(&validate_package(&f))
        };
        assert!(facts(&[(0, 400), (1, 400), (2, 200)]).is_empty());
        assert_eq!(
            facts(&[(0, 400), (2, 200)]),
            ["chunked-file-incomplete", "chunked-file-incomplete"]
        );
        assert_eq!(
            facts(&[(0, 400), (1, 300), (2, 300)]),
            ["chunked-file-incomplete"]
        );
        assert_eq!(facts(&[(0, 400), (1, 400)]), ["chunked-file-incomplete"]);
        assert_eq!(
            facts(&[(1, 400), (0, 400), (2, 200)]),
            ["order-differs-from-references"]
        );
    }

    #[test]
    fn disk_rules() {
        let codes_for = |disk: DiskFacts| {
            let facts = good_facts().with_disks(vec![disk]);
            validate_package(&facts)
                .into_iter()
                .map(|f| (f.code, f.severity, f.entry))
                .collect::<Vec<_>>()
        };
        let e = Some("disk1.vmdk".to_owned());
        assert_eq!(
            codes_for(DiskFacts::new("disk1.vmdk", true, Ok(vec![]))),
            vec![]
        );
        assert_eq!(
            codes_for(DiskFacts::new(
                "disk1.vmdk",
                true,
                Ok(vec![
                    VmdkProblem::NoEndOfStreamMarker,
                    VmdkProblem::BytesAfterEnd {
                        bytes: 512,
                        nonzero: false
                    },
                    VmdkProblem::BytesAfterEnd {
                        bytes: 512,
                        nonzero: true
                    },
                    VmdkProblem::NoFooter,
                ])
            )),
            vec![
                ("vmdk-no-end-of-stream-marker", Severity::Error, e.clone()),
                ("vmdk-bytes-after-end", Severity::Warning, e.clone()),
                ("vmdk-bytes-after-end", Severity::Error, e.clone()),
                ("vmdk-no-footer", Severity::Warning, e.clone()),
            ]
        );
        assert_eq!(
            codes_for(DiskFacts::new("disk1.vmdk", true, Err("cut".into()))),
            vec![("vmdk-unreadable", Severity::Error, e.clone())]
        );
        assert_eq!(
            codes_for(DiskFacts::new("disk1.vmdk", false, Err("no".into()))),
            vec![("vmdk-not-stream", Severity::Warning, e)]
        );
    }

    #[test]
    fn findings_serialize() {
        let f = Finding::error("descriptor-not-first", "m").with_entry("x");
        let j = serde_json::to_value(&f).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"severity": "error", "code": "descriptor-not-first", "message": "m", "entry": "x"})
        );
        assert_eq!(f.to_string(), "error[descriptor-not-first]: m (x)");
    }
}
