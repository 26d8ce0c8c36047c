//! The descriptor rules: ids, references, disks, hardware and product properties.

use std::collections::{HashMap, HashSet};

use crate::archive::EntryKind;
use crate::error::Error;
use crate::finding::Finding;
use crate::ovf::compat::check_hardware;
use crate::ovf::{Content, Descriptor, HostResource, ProductSection, VirtualHardware};

pub(super) fn is_external(href: &str) -> bool {
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

pub(super) fn parse_failure(e: &Error) -> Finding {
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
    // DSP0243 asks the ovf:id of the entities in one collection to differ; a child may
    // carry its parent's id (ovftool 3.5 and vCloud Director export vApps that way).
    for c in d.collections() {
        let ids = c.content.iter().map(|x| match x {
            Content::System(s) => s.id.as_str(),
            Content::Collection(c) => c.id.as_str(),
        });
        for id in duplicates(ids) {
            out.push(Finding::error(
                "duplicate-system-id",
                format!(
                    "VirtualSystemCollection {:?} holds more than one VirtualSystem/VirtualSystemCollection with ovf:id {id:?}",
                    c.id
                ),
            ));
        }
    }
    match d.content() {
        None => out.push(Finding::error(
            "virtual-system-missing",
            "the descriptor has no VirtualSystem or VirtualSystemCollection (DSP0243 requires one; ovftool refuses it)",
        )),
        Some(Content::Collection(c)) if d.systems().is_empty() => out.push(Finding::warning(
            "collection-without-system",
            format!("VirtualSystemCollection {:?} holds no VirtualSystem (an empty vApp)", c.id),
        )),
        Some(_) => {}
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
    // Duplicate InstanceIDs: the same id and bound on two items for the same configurations
    // (both without ovf:configuration, or both naming the same set). Items of one range
    // (ovf:bound min, max and normal; absent is normal) share their InstanceID by design
    // (DSP0243 9.5), and so does an item written for some configurations beside the general
    // one it overrides there (DSP0243's SugarCRM example: memory for "medium large", then for
    // "large"; ovftool's positive tests). Linear, so a hostile descriptor with many items
    // cannot make this quadratic.
    let mut seen: HashSet<(&str, &str, Vec<&str>)> = HashSet::new();
    let mut reported = HashSet::new();
    let mut normal: HashSet<&str> = HashSet::new();
    for item in &h.items {
        let Some(id) = item.instance_id.as_deref() else {
            continue;
        };
        let bound = item.bound.as_deref().unwrap_or("normal");
        if bound == "normal" {
            normal.insert(id);
        }
        let mut configs: Vec<&str> = item.configurations.iter().map(String::as_str).collect();
        configs.sort_unstable();
        configs.dedup();
        if !seen.insert((id, bound, configs)) && reported.insert((id, bound)) {
            let what = match item.bound.as_deref() {
                Some(b) => format!(" and ovf:bound {b:?}"),
                None => String::new(),
            };
            out.push(Finding::error(
                "duplicate-instance-id",
                format!("system {sys}: more than one item has InstanceID {id}{what}"),
            ));
        }
    }
    for item in &h.items {
        let (Some(id), Some(bound)) = (item.instance_id.as_deref(), item.bound.as_deref()) else {
            continue;
        };
        match bound {
            "normal" => {}
            "min" | "max" if normal.contains(id) => {}
            "min" | "max" => out.push(Finding::error(
                "item-bound-without-normal",
                format!(
                    "system {sys}: item {id} with ovf:bound {bound:?} has no normal item with the same InstanceID (DSP0243 9.5; ovftool refuses it)"
                ),
            )),
            other => out.push(Finding::error(
                "item-bound-invalid",
                format!(
                    "system {sys}: item {id} has ovf:bound {other:?}; the values are min, max and normal"
                ),
            )),
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
pub(super) fn qualifier_violation(qualifiers: &str, value: &str) -> Option<String> {
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
