//! The facts the package rules look at, collected by an archive reader.

use serde::Serialize;

use crate::archive::EntryInfo;
use crate::manifest::{Manifest, VerifyReport};
use crate::vmdk::VmdkProblem;

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
    /// Whether the entry starts with a sparse extent header that was read: a
    /// stream-optimized one, or a damaged one of any kind (when not, the entry was only
    /// declared streamOptimized by the descriptor, and `inspection` says so).
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
