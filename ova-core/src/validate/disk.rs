//! The disk rules: what walking a stream-optimized VMDK found.

use super::facts::DiskFacts;
use crate::finding::Finding;
use crate::vmdk::VmdkProblem;

/// The findings for one inspected stream-optimized VMDK.
pub(super) fn disk_findings(disk: &DiskFacts, out: &mut Vec<Finding>) {
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
                    format!("vmdk {:?} cannot be read: {reason}", disk.entry),
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
