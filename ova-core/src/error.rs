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
    /// The input is not a tar archive at all: its first bytes say what it is.
    #[error("{source_name} is not an ova but {}: {}", format.description(), format.advice())]
    NotAnOva {
        /// The file (or `input` for a stream).
        source_name: String,
        /// What the first bytes say it is.
        format: crate::magic::FileFormat,
    },
    /// A referenced file uses an `ovf:compression` this crate cannot read.
    #[error("file {entry:?} uses ovf:compression {method:?}; only gzip and identity can be read")]
    UnsupportedCompression {
        /// The file's href.
        entry: String,
        /// The `ovf:compression` value.
        method: String,
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
    /// The descriptor is not well-formed XML (or uses a construct this reader refuses).
    #[error("descriptor is not well-formed xml at byte {position}: {reason}")]
    OvfXml {
        /// Byte offset in the descriptor where the problem was found.
        position: u64,
        /// What is wrong, in a few words.
        reason: String,
        /// The XML parser's error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The descriptor is not UTF-8 text.
    #[error("descriptor is not utf-8 text (invalid byte at offset {position})")]
    OvfEncoding {
        /// Byte offset of the first invalid byte.
        position: u64,
    },
    /// The descriptor exceeds a safety limit (size, nesting depth, element count).
    #[error("descriptor exceeds the {what} limit of {limit}")]
    OvfLimit {
        /// Which limit.
        what: &'static str,
        /// The limit's value.
        limit: u64,
    },
    /// The document's root element is not an OVF `Envelope`.
    #[error("descriptor root element is <{found}>, not an ovf envelope")]
    OvfNotEnvelope {
        /// The root element's name as written.
        found: String,
    },
    /// The `Envelope` is in a namespace that is not a known OVF version.
    #[error("ovf envelope namespace {namespace:?} is not a known ovf version")]
    OvfUnknownNamespace {
        /// The namespace URI found on the root element.
        namespace: String,
    },
    /// An edit's target element or attribute does not exist.
    #[error("cannot {edit}: {what} not found")]
    OvfEditTargetAbsent {
        /// The edit, described.
        edit: String,
        /// What was looked for.
        what: String,
    },
    /// An edit's target matches more than one element.
    #[error("cannot {edit}: {what} is ambiguous (candidates: {})", candidates.join(", "))]
    OvfEditTargetAmbiguous {
        /// The edit, described.
        edit: String,
        /// What was looked for.
        what: String,
        /// The candidates found, so the user can pick one.
        candidates: Vec<String>,
    },
    /// An edit's value cannot be written.
    #[error("cannot {edit}: {reason}")]
    OvfEditInvalidValue {
        /// The edit, described.
        edit: String,
        /// Why the value is refused.
        reason: String,
    },
    /// Two edits in one list change the same bytes.
    #[error("edits conflict: {first} and {second} change the same text")]
    OvfEditConflict {
        /// The first edit, described.
        first: String,
        /// The second edit, described.
        second: String,
    },
    /// The edits leave hardware that the system's `VirtualSystemType` cannot carry (a SATA
    /// controller at `vmx-07`, ...), which vSphere refuses at import. Add
    /// [`crate::ovf::Edit::AllowIncompatibleHardware`] (`--force`) to write it anyway.
    #[error(
        "the edited descriptor has hardware its VirtualSystemType cannot carry: {}; remove or replace those devices, choose a later vmx-NN, or force the edit",
        problems.join("; ")
    )]
    OvfEditIncompatibleHardware {
        /// Each problem, for a human.
        problems: Vec<String>,
    },
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
    /// The sparse extent header (or footer) is not one this crate can read.
    #[error("invalid vmdk header: {reason}")]
    VmdkHeader {
        /// What is wrong with it.
        reason: String,
    },
    /// A VMDK structure (marker, grain table, directory) is damaged.
    #[error("corrupt vmdk at offset {offset}: {reason}")]
    VmdkCorrupt {
        /// Byte offset of the damaged structure.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The VMDK ends inside a structure.
    #[error("vmdk is truncated at offset {offset} (inside {inside})")]
    VmdkTruncated {
        /// Offset where the input ended.
        offset: u64,
        /// The structure being read.
        inside: &'static str,
    },
    /// A compressed grain does not inflate.
    #[error("grain at offset {offset} (lba {lba}) does not decompress")]
    VmdkGrain {
        /// Byte offset of the grain marker.
        offset: u64,
        /// The grain's first virtual sector.
        lba: u64,
        /// The decompressor's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Reading or writing a VMDK stream failed.
    #[error("i/o error while {op}")]
    VmdkIo {
        /// What was being done (`reading the vmdk`, `writing the vmdk`, `reading the raw disk`).
        op: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The raw input is longer or shorter than the capacity it was announced with.
    #[error("raw disk input has {actual} bytes, expected {expected}")]
    VmdkInputSize {
        /// Bytes announced.
        expected: u64,
        /// Bytes read before the input ended (or the first byte past the capacity).
        actual: u64,
    },
    // ---- disk images (qcow2, vhd) ----
    /// A disk image's header (QCOW2 header, VHD footer or dynamic header) is not one this crate
    /// can read.
    #[error("invalid {format} header: {reason}")]
    DiskHeader {
        /// The image format (`qcow2`, `vhd`).
        format: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A disk image's tables (L1/L2, refcounts, BAT) are damaged: an entry points outside the
    /// file, two structures overlap, a refcount is lower than the references to its cluster,
    /// a compressed cluster does not inflate.
    #[error("corrupt {format} image at offset {offset}: {reason}")]
    DiskCorrupt {
        /// The image format.
        format: &'static str,
        /// Byte offset of the damaged structure (or of the table entry naming it).
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A disk image uses a feature this crate does not read (a backing file, encryption, an
    /// external data file, a differencing VHD, ...); the reason says what to do instead.
    #[error("{format} image uses {feature}, which ovakit does not read: {hint}")]
    DiskUnsupported {
        /// The image format.
        format: &'static str,
        /// The feature.
        feature: String,
        /// What to do instead.
        hint: &'static str,
    },
    /// The disk image ends inside a structure.
    #[error("{format} image is truncated at offset {offset} (inside {inside})")]
    DiskTruncated {
        /// The image format.
        format: &'static str,
        /// Offset where the input ended.
        offset: u64,
        /// The structure being read.
        inside: &'static str,
    },
    /// Reading or writing a disk image failed.
    #[error("i/o error while {op}")]
    DiskIo {
        /// What was being done (`reading the qcow2 image`, `writing the vhd image`, ...).
        op: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    // ---- signing ----
    /// A private key cannot be read (bad PEM, wrong passphrase, unsupported type).
    #[error("cannot load private key from {source_name}")]
    SignKey {
        /// Where the key came from (file name).
        source_name: String,
        /// The crypto library's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A certificate cannot be read.
    #[error("cannot load certificate from {source_name}")]
    SignCertificate {
        /// Where the certificate came from (file name or entry).
        source_name: String,
        /// The crypto library's error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The certificate's public key is not the private key's.
    #[error("certificate {certificate} does not belong to the private key")]
    SignKeyMismatch {
        /// The certificate's subject.
        certificate: String,
    },
    /// A `.cert` file is not in the `ALG(name.mf)= signature` + PEM form.
    #[error("malformed certificate file {file}: {reason}")]
    SignCertFile {
        /// The `.cert` entry name.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The package has no manifest or certificate to verify.
    #[error("package is not signed: {reason}")]
    NotSigned {
        /// What is missing.
        reason: String,
    },
    /// A signing or verification primitive failed inside the crypto library.
    #[error("crypto operation failed: {op}")]
    Crypto {
        /// The operation.
        op: &'static str,
        /// The crypto library's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Building an OVA failed for a reason not covered by another variant.
    #[error("cannot build package: {reason}")]
    Build {
        /// What is wrong.
        reason: String,
    },
    // ---- progress ----
    /// The operation's progress callback returned [`ControlFlow::Break`]: it stopped before
    /// its next buffer and cleaned up as on any other error (see [`crate::progress`]).
    ///
    /// [`ControlFlow::Break`]: std::ops::ControlFlow::Break
    #[error("operation cancelled")]
    Cancelled,
}

impl Error {
    /// Whether the operation was stopped by its progress callback ([`Error::Cancelled`]) rather
    /// than failing.
    ///
    /// ```
    /// assert!(ova_core::Error::Cancelled.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
