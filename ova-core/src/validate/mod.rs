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
//! | `duplicate-file-id`, `duplicate-file-href`, `duplicate-disk-id`, `duplicate-network-name`, `duplicate-system-id`, `duplicate-instance-id`, `duplicate-property-key` | error | an id used twice (system ids: among the children of one collection; instance ids: per `ovf:bound`) |
//! | `item-bound-without-normal`, `item-bound-invalid` | error | an `ovf:bound` min/max item without the normal item of its InstanceID; a bound other than min, max, normal |
//! | `virtual-system-missing` | error | no VirtualSystem or VirtualSystemCollection at all |
//! | `collection-without-system` | warning | a VirtualSystemCollection holding no VirtualSystem (an empty vApp) |
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
//! | `entry-name-too-long`, `entry-name-not-ascii`, `entry-size-base256`, `entry-field-base256` | warning | headers VMware tools may not read (a base-256 size; a base-256 uid, gid, mode or mtime) |
//! | `digest-not-checked` | warning | a manifest line whose algorithm was not computed |
//! | `vmdk-unreadable` | error | a stream VMDK (an entry starting with a stream-optimized `KDMV` header) cannot be walked: bad header, truncated, corrupt marker; or any other sparse extent's header is damaged (as `ova vmdk info` reports it) |
//! | `vmdk-not-stream` | warning | a disk declared streamOptimized does not start with a stream-optimized sparse header |
//! | `vmdk-no-end-of-stream-marker` | error | a stream VMDK ends without its end-of-stream marker (truncated) |
//! | `vmdk-grain-directory`, `vmdk-grain-table-mismatch`, `vmdk-descriptor-capacity` | error | the grain directory or tables do not match the grains; the embedded descriptor's extent size is not the capacity |
//! | `vmdk-bytes-after-end` | warning (error when not all zero) | bytes after the end-of-stream marker (qemu-img's padding; VMware stops at the marker, so consumers report a digest mismatch) |
//! | `vmdk-no-footer`, `vmdk-redundant-directory-flag`, `vmdk-version-not-3`, `vmdk-create-type`, `vmdk-missing-ddb`, `vmdk-grains-out-of-order`, `vmdk-unclean-shutdown` | warning | stream VMDK details VMware products may reject (see [`crate::vmdk::VmdkProblem`]) |

mod descriptor;
mod disk;
mod facts;
mod manifest;
mod package;
#[cfg(test)]
mod tests;

pub use crate::finding::{Finding, Severity, has_errors};
pub use descriptor::{descriptor_findings, validate_descriptor};
pub use facts::{DiskFacts, ManifestFacts, PackageFacts};

/// Applies every rule to a package.
pub fn validate_package(facts: &PackageFacts) -> Vec<Finding> {
    let mut out = package::package_rules(facts);
    for disk in &facts.disks {
        disk::disk_findings(disk, &mut out);
    }
    out
}
