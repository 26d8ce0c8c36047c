//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `ova-core`.
///
/// Messages are lowercase and carry the context a user needs (which file, which entry); the
/// underlying cause is available through [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error on a named file.
    #[error("cannot access {path}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    // ---- archive (tar reading/writing) ----
    // ---- ovf (descriptor model and edits) ----
    // ---- manifest ----
    // ---- vmdk ----
    // ---- signing ----
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
