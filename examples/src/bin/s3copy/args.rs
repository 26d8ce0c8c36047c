//! Command-line arguments of `s3copy`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use s3_stream::{Error, PartChecksum, PayloadSigning};

/// Stream a URL, file or stdin into S3-compatible storage (multipart, bounded memory, retries,
/// resume, integrity checks; incomplete uploads are always aborted on failure).
///
/// Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or ~/.aws
/// profiles. Endpoint: --endpoint or AWS_ENDPOINT_URL.
#[derive(Debug, Parser)]
#[command(
    name = "s3copy",
    version,
    override_usage = "s3copy [OPTIONS] SRC s3://bucket/key\n       s3copy [OPTIONS] set-acl s3://bucket/key ACL\n       s3copy [OPTIONS] uploads s3://bucket[/prefix] [--abort] [--older-than AGE]",
    after_help = "Exit codes: 0 success, 1 an integrity check failed, 2 usage, I/O or server error, 130 stopped by Ctrl-C.\nCtrl-C stops a copy and aborts its multipart upload, so nothing is stored; a second Ctrl-C exits at once.\n\nExamples:\n  s3copy https://cloud.example/export/disk.ova s3://images/disk.ova --source-insecure --acl public-read\n  curl -s URL | s3copy - s3://images/disk.ova --expected-size 2147483648\n  s3copy ./disk.ova s3://images/disk.ova --resume\n  s3copy s3://a/big.ova s3://b/big.ova\n  s3copy set-acl s3://images/disk.ova public-read\n  s3copy uploads s3://images --abort --older-than 24h"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) cmd: Option<Cmd>,
    /// Source: http(s) URL, file path, `-` for stdin, or s3://bucket/key (server-side copy).
    pub(crate) src: Option<String>,
    /// Destination: s3://bucket/key.
    pub(crate) dest: Option<String>,

    /// S3 endpoint URL (default: AWS for the region; AWS_ENDPOINT_URL).
    #[arg(long, global = true)]
    pub(crate) endpoint: Option<String>,
    /// Region (AWS_REGION; default us-east-1).
    #[arg(long, global = true)]
    pub(crate) region: Option<String>,
    /// Profile from ~/.aws/credentials and ~/.aws/config.
    #[arg(long, global = true)]
    pub(crate) profile: Option<String>,
    /// Path-style URLs (default for custom endpoints).
    #[arg(long, global = true, conflicts_with = "virtual_hosted")]
    pub(crate) path_style: bool,
    /// Virtual-hosted-style URLs (default for AWS).
    #[arg(long, global = true)]
    pub(crate) virtual_hosted: bool,
    /// Sign with AWS Signature Version 2 (legacy stores).
    #[arg(long, global = true)]
    pub(crate) sigv2: bool,
    /// Do not verify the DESTINATION's TLS certificate (the source has its own switch).
    #[arg(long, global = true)]
    pub(crate) insecure: bool,
    /// Certificates (PEM) trusted for the DESTINATION besides the system's: a CA bundle, or the
    /// endpoint's own self-signed certificate (its name and dates are still checked).
    #[arg(long, global = true, value_name = "PEM")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Print a JSON summary on stdout.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// No progress bar or summary line.
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,

    /// Canned ACL for the object (private, public-read, bucket-owner-full-control, ...).
    #[arg(long)]
    pub(crate) acl: Option<String>,
    /// Content-Type of the object.
    #[arg(long)]
    pub(crate) content_type: Option<String>,
    /// Part size, e.g. 16M, 64MiB, 8388608 (default: 8 MiB, raised to fit 10,000 parts).
    #[arg(long, value_parser = parse_size)]
    pub(crate) part_size: Option<u64>,
    /// Objects up to this size go in one request: PutObject (default: one part size) or, for a
    /// server-side copy, CopyObject (default and most: 5 GiB); larger ones in a multipart upload.
    #[arg(long, value_parser = parse_size)]
    pub(crate) multipart_threshold: Option<u64>,
    /// Parallel part uploads.
    #[arg(long, default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Accept the source's TLS certificate without checking it (self-signed export URLs).
    #[arg(long)]
    pub(crate) source_insecure: bool,
    /// Certificates (PEM) trusted for the source besides the system's: a CA bundle, or the
    /// source's own self-signed certificate (`openssl s_client -showcerts -connect host:443`
    /// prints it; its name and dates are still checked).
    #[arg(long, value_name = "PEM")]
    pub(crate) source_ca: Option<PathBuf>,
    /// Length of a stream that does not announce one (stdin); enforced.
    #[arg(long, value_parser = parse_size)]
    pub(crate) expected_size: Option<u64>,
    /// Also compute and report the whole-stream MD5.
    #[arg(long)]
    pub(crate) md5: bool,
    /// Also compute and report the whole-stream SHA-256.
    #[arg(long)]
    pub(crate) sha256: bool,
    /// Per-part check: auto (x-amz-checksum-crc32c on every part, plus Content-MD5 until the store
    /// has echoed a CRC32C), md5 (always Content-MD5), crc32c (x-amz-checksum-crc32c, for stores
    /// with flexible checksums), none.
    #[arg(long, value_enum, default_value_t = PartCheckArg::Auto)]
    pub(crate) part_checksum: PartCheckArg,
    /// SigV4 payload: auto (UNSIGNED-PAYLOAD over HTTPS; over plain HTTP signed until the store has
    /// echoed a part's CRC32C, which then covers every body), signed, unsigned.
    #[arg(long, value_enum, default_value_t = PayloadArg::Auto)]
    pub(crate) payload: PayloadArg,
    /// Skip the md5-of-md5s ETag comparison after Complete.
    #[arg(long)]
    pub(crate) no_etag_check: bool,
    /// Continue the upload an interrupted run of the same copy left (recorded under
    /// $XDG_STATE_HOME/ovakit/uploads, default ~/.local/state): the parts the store holds are
    /// checked against the source (size and MD5) and only the others are sent. An HTTP source is
    /// read again with `If-Range` of the version (strong ETag or Last-Modified) its first
    /// response had: a changed source, or one that sent no version, starts over (said on stderr
    /// and as `resume_refused` in --json). Without such an upload this is an ordinary copy.
    #[arg(long)]
    pub(crate) resume: bool,
}

/// `--part-checksum` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PartCheckArg {
    Auto,
    Md5,
    Crc32c,
    None,
}

impl From<PartCheckArg> for PartChecksum {
    fn from(a: PartCheckArg) -> Self {
        match a {
            PartCheckArg::Auto => Self::Auto,
            PartCheckArg::Md5 => Self::ContentMd5,
            PartCheckArg::Crc32c => Self::Crc32c,
            PartCheckArg::None => Self::None,
        }
    }
}

/// `--payload` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PayloadArg {
    Auto,
    Signed,
    Unsigned,
}

impl From<PayloadArg> for PayloadSigning {
    fn from(a: PayloadArg) -> Self {
        match a {
            PayloadArg::Auto => Self::Auto,
            PayloadArg::Signed => Self::Signed,
            PayloadArg::Unsigned => Self::Unsigned,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Cmd {
    /// Set a canned ACL on an existing object.
    SetAcl {
        /// s3://bucket/key
        target: String,
        /// Canned ACL, e.g. public-read.
        acl: String,
    },
    /// List (or abort) incomplete multipart uploads of a bucket.
    Uploads {
        /// s3://bucket[/prefix]
        bucket: String,
        /// Abort them.
        #[arg(long)]
        abort: bool,
        /// Only uploads started longer ago than this (e.g. 24h, 30m, 7d).
        #[arg(long)]
        older_than: Option<String>,
    },
}

/// `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Url {
    pub(crate) bucket: String,
    pub(crate) key: String,
}

impl S3Url {
    pub(crate) fn parse(s: &str) -> Result<Self, Error> {
        let rest = s.strip_prefix("s3://").ok_or_else(|| Error::Config {
            key: "url".into(),
            reason: format!("{s:?} is not an s3://bucket/key url"),
        })?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::Config {
                key: "url".into(),
                reason: format!("{s:?} has no bucket"),
            });
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// `16M`, `64MiB`, `1G`, `8388608`.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("bad size unit in {s:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

/// `24h`, `30m`, `7d`, `90s`, `3600`.
pub(crate) fn parse_age(s: &str) -> Result<Duration, Error> {
    let t = s.trim();
    let bad = || Error::Config {
        key: "older-than".into(),
        reason: format!("bad duration {s:?}, use e.g. 24h"),
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages() {
        assert_eq!(parse_size("16M").unwrap(), 16 << 20);
        assert_eq!(parse_size("5MiB").unwrap(), 5 << 20);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert!(parse_size("12Q").is_err());
        assert_eq!(parse_age("24h").unwrap(), Duration::from_secs(86_400));
        assert!(parse_age("soon").is_err());
    }

    #[test]
    fn s3_urls() {
        assert_eq!(
            S3Url::parse("s3://b/k/x").unwrap(),
            S3Url {
                bucket: "b".into(),
                key: "k/x".into()
            }
        );
        assert_eq!(S3Url::parse("s3://b").unwrap().key, "");
        assert!(S3Url::parse("http://b/k").is_err());
        assert!(S3Url::parse("s3:///k").is_err());
    }

    #[test]
    fn cli_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let c = Cli::try_parse_from(["s3copy", "-", "s3://b/k", "--part-size", "8M", "--json"])
            .unwrap();
        assert_eq!(c.part_size, Some(8 << 20));
        let c = Cli::try_parse_from([
            "s3copy",
            "uploads",
            "s3://b",
            "--abort",
            "--older-than",
            "24h",
            "--endpoint",
            "http://x",
        ])
        .unwrap();
        assert!(matches!(c.cmd, Some(Cmd::Uploads { abort: true, .. })));
        // global options may come first: the subcommand is still one
        let c =
            Cli::try_parse_from(["s3copy", "--endpoint", "http://x", "uploads", "s3://b"]).unwrap();
        assert!(matches!(c.cmd, Some(Cmd::Uploads { abort: false, .. })));
        let c =
            Cli::try_parse_from(["s3copy", "--json", "set-acl", "s3://b/k", "private"]).unwrap();
        assert!(matches!(c.cmd, Some(Cmd::SetAcl { .. })));
        // a file named like a subcommand is copied by its path
        let c = Cli::try_parse_from(["s3copy", "--json", "./uploads", "s3://b/k"]).unwrap();
        assert!(c.cmd.is_none());
        assert_eq!(c.src.as_deref(), Some("./uploads"));
    }
}
