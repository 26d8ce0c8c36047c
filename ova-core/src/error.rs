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
    /// A block where a tar header was expected is not one (bad checksum or number field).
    #[error("invalid tar header at offset {offset}")]
    BadHeader {
        /// Offset of the block in the archive.
        offset: u64,
        /// What is wrong with it.
        #[source]
        source: crate::tar::HeaderError,
    },
    /// The archive ends inside a header or inside an entry's data.
    #[error("archive is truncated in entry {entry:?} at offset {offset}")]
    Truncated {
        /// The entry being read (empty before the first entry).
        entry: String,
        /// Offset where the input ended.
        offset: u64,
    },
    /// A pax or GNU LongLink header states an absurd size.
    #[error("extension header at offset {offset} is too large ({size} bytes)")]
    ExtensionTooLarge {
        /// Offset of the extension data.
        offset: u64,
        /// The stated size.
        size: u64,
    },
    /// A pax extended header is malformed.
    #[error("malformed pax header at offset {offset}: {reason}")]
    BadPax {
        /// Offset of the pax header block.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Reading the archive stream failed.
    #[error("cannot read archive at offset {offset}")]
    ArchiveRead {
        /// Offset reached.
        offset: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing an archive failed.
    #[error("cannot write archive entry {entry:?}")]
    ArchiveWrite {
        /// The entry being written.
        entry: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An entry is too large to be read into memory.
    #[error("entry {entry:?} is {size} bytes, more than the {max} bytes allowed here")]
    EntryTooLarge {
        /// The entry.
        entry: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A name or size cannot be written in a strict ustar header.
    #[error("cannot write entry {entry:?} as strict ustar")]
    Encode {
        /// The entry.
        entry: String,
        /// Why.
        #[source]
        source: crate::tar::EncodeError,
    },
    /// Entries were added in an order ovakit refuses to write.
    #[error("cannot add {entry:?}: {reason}")]
    Order {
        /// The entry being added.
        entry: String,
        /// The rule broken.
        reason: &'static str,
    },
    /// A file source delivered a different number of bytes than announced.
    #[error("entry {entry:?}: expected {expected} bytes, source gave {actual}")]
    SizeMismatch {
        /// The entry.
        entry: String,
        /// Announced size.
        expected: u64,
        /// Bytes delivered.
        actual: u64,
    },
    /// The package has no `.ovf` descriptor.
    #[error("no ovf descriptor found in {source_name}")]
    NoDescriptor {
        /// The archive or directory searched.
        source_name: String,
    },
    /// A file the descriptor references is not in the package.
    #[error("referenced file {entry:?} is missing")]
    MissingEntry {
        /// The missing name.
        entry: String,
    },
    /// An entry cannot be extracted or packed safely.
    #[error("refusing unsafe entry {entry:?}: {reason}")]
    UnsafeEntry {
        /// The entry name.
        entry: String,
        /// Why.
        reason: String,
    },
    /// An in-place edit is impossible; the caller may fall back to a repack.
    #[error("cannot edit in place: {reason}")]
    InPlaceImpossible {
        /// Why (for example: the new descriptor needs more blocks than the entry occupies).
        reason: String,
    },
    // ---- ovf (descriptor model and edits) ----
    // ---- manifest ----
    /// A manifest cannot be used for the requested operation.
    #[error("manifest {entry:?}: {reason}")]
    Manifest {
        /// The manifest entry name.
        entry: String,
        /// What is wrong.
        reason: String,
    },
    // ---- vmdk ----
    // ---- signing ----
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
