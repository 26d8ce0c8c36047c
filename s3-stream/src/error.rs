//! The crate's one error type.

use std::fmt;
use std::path::PathBuf;

/// A boxed dependency error (HTTP client, TLS, parser), kept as the `source()` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a failed S3 request was about: operation, object, part, status, the server's error code and
/// message, and the multipart upload id. Never contains credentials or signed URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Context {
    /// S3 operation name, e.g. `UploadPart`.
    pub operation: &'static str,
    /// Bucket.
    pub bucket: String,
    /// Object key (empty for bucket operations).
    pub key: String,
    /// Part number, for part operations.
    pub part: Option<u32>,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// Server error code (`<Code>`), e.g. `SlowDown`.
    pub code: Option<String>,
    /// Server error message (`<Message>`).
    pub message: Option<String>,
    /// Multipart upload id.
    pub upload_id: Option<String>,
}

impl fmt::Display for S3Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s3://{}/{}", self.operation, self.bucket, self.key)?;
        if let Some(p) = self.part {
            write!(f, " part {p}")?;
        }
        f.write_str(" failed")?;
        if let Some(s) = self.status {
            write!(f, ": http status {s}")?;
        }
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, ", {c}: {m}")?,
            (Some(c), None) => write!(f, ", {c}")?,
            (None, Some(m)) => write!(f, ", {m}")?,
            (None, None) => {}
        }
        if let Some(u) = &self.upload_id {
            write!(f, " (upload id {u})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is missing or invalid.
    #[error("invalid configuration {key}: {reason}")]
    Config {
        /// The option (or environment variable / profile key).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The length cannot be cut into parts within the store's limits.
    #[error("cannot plan the upload: {reason}")]
    Plan {
        /// Why.
        reason: String,
    },
    /// A stream of unknown length reached part `max_parts + 1`; nothing of that part was sent and
    /// the upload was aborted.
    #[error(
        "the stream needs more than {max_parts} parts of {part_size} bytes; give a larger part size or the expected size"
    )]
    TooManyParts {
        /// Part size in use.
        part_size: u64,
        /// The store's part limit.
        max_parts: u32,
    },
    /// An S3 request failed (after retries, when retryable).
    #[error("{context}")]
    S3 {
        /// Operation, object, part, status, server code and message, upload id.
        context: Box<S3Context>,
        /// Transport error, when there was no response.
        #[source]
        source: Option<BoxError>,
    },
    /// The bucket refuses ACLs (`AccessControlListNotSupported`: Object Ownership is "bucket owner
    /// enforced", the AWS default since April 2023).
    #[error(
        "bucket {bucket} does not allow ACLs (object ownership is 'bucket owner enforced'); store without an ACL or grant access with a bucket policy"
    )]
    AclNotSupported {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// Reading the source failed.
    #[error("cannot read source {what}")]
    Source {
        /// Source URL or path.
        what: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The source ended before the announced length (truncation guard).
    #[error("source {what} ended after {received} bytes, {expected} were announced")]
    Truncated {
        /// Source URL or path.
        what: String,
        /// Announced length.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// The source sent more bytes than announced.
    #[error("source {what} sent more than the {expected} bytes announced")]
    TooLong {
        /// Source URL or path.
        what: String,
        /// Announced length.
        expected: u64,
    },
    /// The source broke mid-stream and could not be resumed safely.
    #[error("source {what} broke at byte {offset} and cannot be resumed: {reason}")]
    CannotResume {
        /// Source URL.
        what: String,
        /// First byte not received.
        offset: u64,
        /// Why resuming was refused.
        reason: String,
        /// The read error that broke the stream, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// A digest or size did not match.
    #[error("integrity check failed for {what}: expected {expected}, got {actual}")]
    Integrity {
        /// What was checked.
        what: String,
        /// Expected value.
        expected: String,
        /// Value found.
        actual: String,
    },
    /// The copy was cancelled; any multipart upload was aborted.
    #[error("cancelled")]
    Cancelled,
    /// The copy failed and aborting its multipart upload failed too: the upload is left behind.
    #[error(
        "upload {upload_id} of s3://{bucket}/{key} failed and could not be aborted ({abort_error}); abort it with `s3copy uploads s3://{bucket} --abort`"
    )]
    UploadLeftOpen {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// Upload id left open.
        upload_id: String,
        /// Why the abort failed.
        abort_error: String,
        /// The failure that caused the abort.
        #[source]
        source: Box<Error>,
    },
    /// An S3 response body could not be parsed.
    #[error("cannot parse the {what} response: {reason}")]
    Xml {
        /// Which response.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("{}: i/o error", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The server's TLS certificate was refused (unknown issuer, self-signed, wrong name,
    /// expired). The message names the option that trusts a certificate and how to fetch it.
    #[error(
        "the TLS certificate of {host} was refused for the {side}; if the server's own (self-signed) certificate or its CA is the one to trust, fetch it with `openssl s_client -showcerts -connect {host} </dev/null` and give that PEM with {option}"
    )]
    UntrustedCertificate {
        /// `source` or `destination`.
        side: &'static str,
        /// `host:port` of the server.
        host: String,
        /// The option that adds a trusted certificate.
        option: &'static str,
        /// The TLS error.
        #[source]
        source: BoxError,
    },
    /// The HTTP client could not be built (TLS setup, CA file).
    #[error("cannot set up the http client for the {side}")]
    Client {
        /// `source` or `destination`.
        side: &'static str,
        /// The cause.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// The S3 context of an [`Error::S3`].
    pub fn s3_context(&self) -> Option<&S3Context> {
        match self {
            Error::S3 { context, .. } => Some(context),
            Error::UploadLeftOpen { source, .. } => source.s3_context(),
            _ => None,
        }
    }

    /// Whether retrying the same request may succeed: 5xx, 429, `SlowDown`, `InternalError`,
    /// `RequestTimeout`, a body damaged on the way (`BadDigest`, `XAmzContentSHA256Mismatch`),
    /// and transport errors (timeouts, resets).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::S3 { context, source } => {
                if context.status.is_none() {
                    return source.is_some();
                }
                let st = context.status.unwrap_or(0);
                let code = context.code.as_deref().unwrap_or("");
                // BadDigest / XAmzContentSHA256Mismatch: the body the store received is not the
                // one that was hashed (damaged on the way); the part is still in memory, so
                // sending it again is the cure.
                st >= 500
                    || st == 429
                    || matches!(
                        code,
                        "SlowDown"
                            | "InternalError"
                            | "RequestTimeout"
                            | "ServiceUnavailable"
                            | "BadDigest"
                            | "XAmzContentSHA256Mismatch"
                    )
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_error_text_has_context() {
        let e = Error::S3 {
            context: Box::new(S3Context {
                operation: "UploadPart",
                bucket: "b".into(),
                key: "k".into(),
                part: Some(3),
                status: Some(503),
                code: Some("SlowDown".into()),
                message: Some("Please reduce your request rate.".into()),
                upload_id: Some("U1".into()),
            }),
            source: None,
        };
        assert_eq!(
            e.to_string(),
            "UploadPart s3://b/k part 3 failed: http status 503, SlowDown: Please reduce your request rate. (upload id U1)"
        );
        assert!(e.is_retryable());
        let e = Error::S3 {
            context: Box::new(S3Context {
                operation: "UploadPart",
                status: Some(403),
                code: Some("AccessDenied".into()),
                ..Default::default()
            }),
            source: None,
        };
        assert!(!e.is_retryable());
        for (code, retry) in [
            ("BadDigest", true),
            ("XAmzContentSHA256Mismatch", true),
            ("InvalidDigest", false),
            ("NoSuchUpload", false),
        ] {
            let e = Error::S3 {
                context: Box::new(S3Context {
                    operation: "UploadPart",
                    status: Some(400),
                    code: Some(code.into()),
                    ..Default::default()
                }),
                source: None,
            };
            assert_eq!(e.is_retryable(), retry, "{code}");
        }
    }
}
