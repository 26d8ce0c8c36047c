//! Template `status` texts, classified (see the [module docs](super)).

/// What a template `status` text says about the download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadStatus {
    /// Queued, downloading or installing.
    InProgress,
    /// Downloaded (or bypassed for a direct download); `isready` decides the rest.
    Complete,
    /// The download or its installation failed: the text is the server's reason.
    Failed,
    /// A text this client does not know; treated as still in progress.
    Unknown,
}

/// Classifies a template `status` text (case-insensitive; see the module docs for the table).
///
/// # Examples
/// ```
/// use cloudstack_client::template::{DownloadStatus, download_status};
/// assert_eq!(download_status("45% Downloaded"), DownloadStatus::InProgress);
/// assert_eq!(download_status("Download Complete"), DownloadStatus::Complete);
/// let failed = r#"Failed post download script: checksum "{SHA-256}ab" didn't match the given value, "{SHA-256}cd""#;
/// assert_eq!(download_status(failed), DownloadStatus::Failed);
/// ```
pub fn download_status(status: &str) -> DownloadStatus {
    let s = status.trim().to_lowercase();
    let percent = s
        .strip_suffix("% downloaded")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    const IN_PROGRESS: &[&str] = &[
        "",
        "processing",
        "installing template",
        "installing iso",
        "active",
        "inactive",
        "notuploaded",
        "uploadinprogress",
        "uploaded",
        "not downloaded",
        "not_downloaded",
        "download_in_progress",
        "allocated",
        "creating",
        "created",
        "copying",
        "migrating",
    ];
    const COMPLETE: &[&str] = &[
        "download complete",
        "successfully installed",
        "bypassed secondary storage",
        "downloaded",
        "ready",
    ];
    if percent || IN_PROGRESS.contains(&s.as_str()) {
        return DownloadStatus::InProgress;
    }
    if COMPLETE.contains(&s.as_str()) {
        return DownloadStatus::Complete;
    }
    if s.starts_with("download success") || s.starts_with("install completed successfully") {
        return DownloadStatus::InProgress;
    }
    const FAILED: &[&str] = &[
        "fail",
        "error",
        "abandon",
        "didn't match",
        "does not match",
        "mismatch",
        "not recognised",
        "not recognized",
        "unable to",
        "cannot",
        "can't",
        "couldn't",
        "invalid",
        "not found",
        "refused",
        "denied",
        "timed out",
        "timeout",
        "unreachable",
        "exceed",
        "not supported",
        "unsupported",
        "corrupt",
    ];
    if FAILED.iter().any(|w| s.contains(w)) {
        return DownloadStatus::Failed;
    }
    DownloadStatus::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        for s in [
            "Processing",
            "7% Downloaded",
            "100% Downloaded",
            "Installing Template",
            "",
            "NotUploaded",
            "Active",
        ] {
            assert_eq!(download_status(s), DownloadStatus::InProgress, "{s}");
        }
        for s in [
            "Download Complete",
            "Successfully Installed",
            "Bypassed Secondary Storage",
        ] {
            assert_eq!(download_status(s), DownloadStatus::Complete, "{s}");
        }
        assert_eq!(download_status("x% Downloaded"), DownloadStatus::Unknown);
        assert_eq!(
            download_status("Migrating to another store soon"),
            DownloadStatus::Unknown
        );
    }
}
