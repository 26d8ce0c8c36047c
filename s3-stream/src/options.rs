//! Options and report of a copy or upload: the per-part check, progress, cancellation.

use std::fmt;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cancel::CancelToken;
use crate::error::{Error, Result};

/// The per-part integrity check.
///
/// A check counts only when something compares it with what the store received, and stores
/// differ in what they verify (moto checks neither `Content-MD5`, `x-amz-checksum-crc32c` nor a
/// signed payload's SHA-256, but returns the MD5 of what it stored as the ETag; AWS and ministack
/// verify all and echo the CRC32C they computed). The default therefore adapts to the store; see
/// [`PartChecksum::Auto`]. A signed payload's SHA-256 (plain HTTP with SigV4) is sent besides, as
/// the signing configuration says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartChecksum {
    /// `x-amz-checksum-crc32c` on every body (free: the CRC32C is computed anyway), plus
    /// `Content-MD5` with the returned ETag compared to it until the store has echoed a CRC32C
    /// (then it is known to compute it, and MD5 costs CPU for nothing). Reported as `crc32c`
    /// when the store echoed CRC32C, else as `md5`.
    #[default]
    Auto,
    /// `Content-MD5` on every part (honoured by every S3-compatible store, and signed by SigV2),
    /// and each returned ETag that is a plain MD5 compared with it.
    ContentMd5,
    /// `x-amz-checksum-crc32c` (cheaper; needs a store with flexible checksums; an echoed
    /// CRC32C is compared with ours).
    Crc32c,
    /// No per-part header (the whole-stream CRC32C is still computed and reported; a signed
    /// payload's SHA-256 is still checked by a store that checks it).
    None,
}

impl PartChecksum {
    /// The name used by the command line, the Python bindings and reports: `auto`, `md5`,
    /// `crc32c`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::ContentMd5 => "md5",
            Self::Crc32c => "crc32c",
            Self::None => "none",
        }
    }
}

impl fmt::Display for PartChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PartChecksum {
    type Err = Error;

    /// Parses [`PartChecksum::as_str`] names (`content-md5` is accepted for `md5`).
    ///
    /// ```
    /// use s3_stream::PartChecksum;
    /// assert_eq!("crc32c".parse::<PartChecksum>().unwrap(), PartChecksum::Crc32c);
    /// assert!("sha1".parse::<PartChecksum>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "md5" | "content-md5" => Ok(Self::ContentMd5),
            "crc32c" => Ok(Self::Crc32c),
            "none" => Ok(Self::None),
            other => Err(Error::Config {
                key: "part_checksum".into(),
                reason: format!("{other:?} is not one of auto, md5, crc32c, none"),
            }),
        }
    }
}

/// A progress snapshot passed to the progress callback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Bytes read from the source.
    pub bytes_read: u64,
    /// Bytes whose upload finished.
    pub bytes_uploaded: u64,
    /// Parts finished.
    pub parts_done: u32,
    /// Parts in total, when the length is known.
    pub parts_total: Option<u32>,
    /// Time since the copy started.
    pub elapsed: Duration,
}

impl Progress {
    /// Upload rate in bytes per second.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.bytes_uploaded as f64 / s
        } else {
            0.0
        }
    }
}

/// The progress callback of a copy: called with a snapshot as data moves (from the copy's tasks,
/// hence `Fn + Send + Sync`). [`ControlFlow::Continue`] goes on; [`ControlFlow::Break`] stops the
/// copy as [`CopyOptions::cancel`] would: the multipart upload is aborted and the copy ends with
/// [`Error::Cancelled`]. A `Break` answered to the last report of a single-request upload comes
/// after the object is stored and changes nothing. See [`crate::cancel`].
///
/// ```
/// use std::ops::ControlFlow;
/// use std::sync::Arc;
///
/// use s3_stream::{CopyOptions, ProgressFn};
///
/// let limit = 1 << 30;
/// let progress: ProgressFn = Arc::new(move |p| {
///     eprintln!("{} bytes uploaded", p.bytes_uploaded);
///     if p.bytes_read > limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
/// });
/// let opts = CopyOptions { progress: Some(progress), ..CopyOptions::default() };
/// # let _ = opts;
/// ```
pub type ProgressFn = Arc<dyn Fn(&Progress) -> ControlFlow<()> + Send + Sync>;

/// Options of one copy. `Default` gives: part size from the plan, concurrency 4, one digest per
/// part ([`PartChecksum::Auto`]), whole-stream CRC32C only, ETag check on.
///
/// # Memory
///
/// A permit is taken **before** the next part is read, so at most `concurrency + 1` part buffers
/// exist at once: peak memory is about `(concurrency + 1) × part_size` plus a small constant
/// (HTTP client buffers, a few KiB per connection). For a stream with the defaults (16 MiB parts,
/// concurrency 4) that is 80 MiB; a smaller part size or concurrency uses less.
#[derive(Clone)]
pub struct CopyOptions {
    /// Part size (default: 8 MiB for known lengths, raised to fit 10,000 parts; 16 MiB for streams).
    pub part_size: Option<u64>,
    /// Parallel part uploads (default 4). Peak memory ≈ `(concurrency + 1) × part_size`.
    pub concurrency: usize,
    /// Length of a stream that does not announce one (stdin); also checked against the source.
    pub expected_size: Option<u64>,
    /// Objects up to this size go in one PUT (default: one part size).
    pub multipart_threshold: Option<u64>,
    /// Per-part integrity check (default [`PartChecksum::Auto`]).
    pub part_checksum: PartChecksum,
    /// Also compute the whole-stream MD5.
    pub md5: bool,
    /// Also compute the whole-stream SHA-256.
    pub sha256: bool,
    /// Canned ACL (`public-read`, …).
    pub acl: Option<String>,
    /// `Content-Type` of the object.
    pub content_type: Option<String>,
    /// User metadata (`x-amz-meta-<name>`).
    pub metadata: Vec<(String, String)>,
    /// Compare ETags: each part's with the MD5 sent (when one was sent and the ETag looks like an
    /// MD5), and the object's md5-of-md5s after Complete (when it has that shape) with the one
    /// computed from the parts' MD5s, or from the part ETags the store returned when no MD5 was
    /// taken (then it proves the object is made of exactly the acknowledged parts). Turn off for
    /// stores whose ETags are not MD5-based but look like it (Cloudflare R2 part ETags).
    pub verify_etag: bool,
    /// Progress callback; its [`ControlFlow::Break`] stops the copy (see [`ProgressFn`]).
    pub progress: Option<ProgressFn>,
    /// Stops the copy when cancelled, even while it waits on the network: the multipart upload
    /// is aborted and the copy ends with [`Error::Cancelled`]. The copy watches a
    /// [child](CancelToken::child) of it, so it never cancels the token itself.
    pub cancel: Option<CancelToken>,
    /// Record a multipart upload in this file while it runs (written atomically, removed once
    /// the upload is completed or aborted), so that a run killed before either can be continued.
    /// [`crate::resume_path`] gives the usual place.
    pub resume_file: Option<PathBuf>,
    /// Continue the upload recorded in [`CopyOptions::resume_file`], when it belongs to this
    /// source (same name, length and version) and destination and the store still has it: the
    /// stored parts are read again from the source and kept when their ETag is the MD5 of the
    /// bytes read now; only the others are uploaded. Without a fitting record this is an
    /// ordinary copy.
    pub resume: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        Self {
            part_size: None,
            concurrency: 4,
            expected_size: None,
            multipart_threshold: None,
            part_checksum: PartChecksum::Auto,
            md5: false,
            sha256: false,
            acl: None,
            content_type: None,
            metadata: Vec::new(),
            verify_etag: true,
            progress: None,
            cancel: None,
            resume_file: None,
            resume: false,
        }
    }
}

impl fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyOptions")
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("expected_size", &self.expected_size)
            .field("part_checksum", &self.part_checksum)
            .field("md5", &self.md5)
            .field("sha256", &self.sha256)
            .field("acl", &self.acl)
            .field("content_type", &self.content_type)
            .field("resume_file", &self.resume_file)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// What a finished copy did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CopyReport {
    /// Bytes copied.
    pub bytes: u64,
    /// Parts uploaded (1 for a single PUT).
    pub parts: u32,
    /// Whether a multipart upload was used.
    pub multipart: bool,
    /// Part size used.
    pub part_size: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// The object's ETag as the store reports it.
    pub etag: Option<String>,
    /// Hex CRC32C of the whole stream (not for server-side copies).
    pub crc32c: Option<String>,
    /// Hex MD5 of the whole stream, when requested.
    pub md5: Option<String>,
    /// Hex SHA-256 of the whole stream, when requested.
    pub sha256: Option<String>,
    /// The multipart upload id.
    pub upload_id: Option<String>,
    /// How often a broken HTTP source was resumed.
    pub source_resumes: u32,
    /// The per-part check that was in force ([`PartChecksum::Auto`] reported as `Crc32c` on a
    /// store that echoed CRC32C, else as `ContentMd5`).
    pub part_checksum: PartChecksum,
    /// Whether every part body was signed (its SHA-256 checked by a store that checks it). By
    /// default over plain HTTP, parts sent after the store has echoed a CRC32C are not: the
    /// verified CRC32C covers them (see [`PayloadSigning::Auto`](crate::PayloadSigning::Auto)).
    pub payload_signed: bool,
    /// Parts of an earlier, interrupted upload that were found intact and kept.
    pub parts_reused: u32,
    /// Parts sent by this run.
    pub parts_uploaded: u32,
    /// Why an upload recorded by an earlier, interrupted run was not continued (the source
    /// changed, or sent no version to check it by), when [`CopyOptions::resume`] found one.
    pub resume_refused: Option<String>,
}

impl CopyReport {
    /// Throughput in MB/s (10^6 bytes per second).
    pub fn mb_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.bytes as f64 / s / 1e6
        } else {
            0.0
        }
    }
}
