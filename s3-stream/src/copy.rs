//! The copy engine: single PUT or multipart upload with bounded memory, parallel parts, retries,
//! integrity checks, and cleanup on failure.
//!
//! # Memory
//!
//! The engine holds at most `concurrency + 1` part buffers: a permit is taken **before** the next
//! part is read, so a fast source can never run ahead of the uploads. Peak memory is therefore
//! about `(concurrency + 1) × part_size` plus a small constant (HTTP client buffers, a few KiB
//! per connection). With the defaults for a stream (16 MiB parts, concurrency 4) that is 80 MiB;
//! pick a smaller part size or concurrency to use less.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::Method;
use md5::{Digest, Md5};
use sha2::Sha256;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::checksum::{Answer, PartCheck};
use crate::client::{Client, Req, Resp, acl_error};
use crate::error::{Error, Result};
use crate::ledger::{Ledger, PartRecord, unquote_etag};
use crate::plan::PartPlan;
use crate::sigv4::uri_encode;
use crate::source::{Opened, SeqReader, Source, read_file_range};
use crate::xml::{self, Outcome};

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

/// The progress callback type.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Cancels a running copy; the engine then aborts its multipart upload. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    inner: Arc<(AtomicBool, Notify)>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels.
    pub fn cancel(&self) {
        self.inner.0.store(true, Ordering::SeqCst);
        self.inner.1.notify_waiters();
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.0.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let n = self.inner.1.notified();
            if self.is_cancelled() {
                return;
            }
            n.await;
        }
    }
}

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
    /// Progress callback.
    pub progress: Option<ProgressFn>,
    /// Cancellation.
    pub cancel: Option<CancelToken>,
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
    /// Whether part bodies were signed (their SHA-256 checked by the store).
    pub payload_signed: bool,
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

type HashMsg = (u32, Bytes, Option<Arc<OwnedSemaphorePermit>>);

/// Whole-stream MD5/SHA-256 in stream order, on its own thread, fed parts that may arrive out of
/// order (file sources read parts in parallel). Holding a part's permit while it waits keeps the
/// memory bound.
struct OrderedHasher {
    tx: Option<std::sync::mpsc::Sender<HashMsg>>,
    handle: tokio::task::JoinHandle<(Option<String>, Option<String>)>,
}

impl OrderedHasher {
    fn start(md5: bool, sha256: bool) -> Option<Self> {
        if !md5 && !sha256 {
            return None;
        }
        let (tx, rx) = std::sync::mpsc::channel::<HashMsg>();
        let handle = tokio::task::spawn_blocking(move || {
            let mut m = md5.then(Md5::new);
            let mut s = sha256.then(Sha256::new);
            let mut pending: BTreeMap<u32, Bytes> = BTreeMap::new();
            let mut permits: BTreeMap<u32, Option<Arc<OwnedSemaphorePermit>>> = BTreeMap::new();
            let mut next = 1u32;
            while let Ok((n, b, p)) = rx.recv() {
                pending.insert(n, b);
                permits.insert(n, p);
                while let Some(b) = pending.remove(&next) {
                    if let Some(m) = &mut m {
                        m.update(&b);
                    }
                    if let Some(s) = &mut s {
                        s.update(&b);
                    }
                    permits.remove(&next);
                    next += 1;
                }
            }
            (
                m.map(|m| hex::encode(m.finalize())),
                s.map(|s| hex::encode(s.finalize())),
            )
        });
        Some(Self {
            tx: Some(tx),
            handle,
        })
    }

    fn feed(&self, n: u32, b: Bytes, p: Option<Arc<OwnedSemaphorePermit>>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send((n, b, p));
        }
    }

    async fn finish(mut self) -> (Option<String>, Option<String>) {
        self.tx = None;
        self.handle.await.unwrap_or((None, None))
    }
}

struct PartDigests {
    md5: Option<[u8; 16]>,
    crc32c: u32,
    sha256: Option<String>,
}

impl PartDigests {
    /// The integrity headers of a part (or single PUT) body: the signed payload's SHA-256 when
    /// it was taken, and what the part check asks for.
    fn check_headers(&self, mut r: Req, check: &PartCheck) -> Req {
        r.sha256 = self.sha256.clone();
        for (k, v) in check.headers(self.md5.as_ref(), self.crc32c) {
            r = r.header(k, v);
        }
        r
    }
}

fn digest_part(b: &[u8], md5: bool, sha256: bool) -> PartDigests {
    PartDigests {
        md5: md5.then(|| Md5::digest(b).into()),
        // CRC-32/ISCSI is CRC32C; crc-fast runs ~2.6x the crc32c crate's speed on this hardware.
        crc32c: crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, b) as u32,
        sha256: sha256.then(|| hex::encode(Sha256::digest(b))),
    }
}

enum PartData {
    Ready(Bytes),
    File {
        file: Arc<std::fs::File>,
        path: std::path::PathBuf,
        offset: u64,
        len: usize,
    },
}

/// State shared by the part tasks of one copy.
struct Shared {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    checksum: PartCheck,
    sign: bool,
    verify_etag: bool,
    slots: Arc<Semaphore>,
    /// Part buffers whose upload finished, reused for the next parts read from a stream: fresh
    /// buffers would cost a page fault and a zeroed page for every 4 KiB of the copy. Never
    /// more than the memory permits allow (`concurrency + 1`).
    buffers: Mutex<Vec<BytesMut>>,
    hasher: Option<Arc<OrderedHasher>>,
    read: AtomicU64,
    uploaded: AtomicU64,
    parts_done: AtomicU64,
    parts_total: Option<u32>,
    start: Instant,
    progress: Option<ProgressFn>,
}

impl Shared {
    /// An empty buffer of at least `capacity` bytes, reused when one is free.
    fn buffer(&self, capacity: usize) -> BytesMut {
        let reused = self.buffers.lock().ok().and_then(|mut b| b.pop());
        match reused {
            Some(mut b) => {
                b.clear();
                b.reserve(capacity);
                b
            }
            None => BytesMut::with_capacity(capacity),
        }
    }

    /// Take back a part's bytes once nothing else holds them.
    fn recycle(&self, bytes: Bytes) {
        if let Ok(b) = bytes.try_into_mut()
            && let Ok(mut free) = self.buffers.lock()
        {
            free.push(b);
        }
    }

    fn report(&self) {
        if let Some(p) = &self.progress {
            p(&Progress {
                bytes_read: self.read.load(Ordering::SeqCst),
                bytes_uploaded: self.uploaded.load(Ordering::SeqCst),
                parts_done: self.parts_done.load(Ordering::Relaxed) as u32,
                parts_total: self.parts_total,
                elapsed: self.start.elapsed(),
            });
        }
    }
}

async fn upload_part(
    sh: Arc<Shared>,
    n: u32,
    data: PartData,
    permit: OwnedSemaphorePermit,
) -> Result<PartRecord> {
    let want_md5 = sh.checksum.wants_md5();
    let sign = sh.sign;
    let (bytes, d) = tokio::task::spawn_blocking(move || -> Result<(Bytes, PartDigests)> {
        let b = match data {
            PartData::Ready(b) => b,
            PartData::File {
                file,
                path,
                offset,
                len,
            } => read_file_range(&file, &path, offset, len)?,
        };
        let d = digest_part(&b, want_md5, sign);
        Ok((b, d))
    })
    .await
    .map_err(|e| Error::Source {
        what: "part reader".into(),
        source: Box::new(e),
    })??;
    let permit = Arc::new(permit);
    if let Some(h) = &sh.hasher {
        h.feed(n, bytes.clone(), Some(permit.clone()));
    }
    let _slot = sh.slots.acquire().await.map_err(|_| Error::Cancelled)?;
    let size = bytes.len() as u64;
    let mut r = Req::new("UploadPart", Method::PUT, &sh.bucket, &sh.key)
        .query(format!(
            "partNumber={n}&uploadId={}",
            uri_encode(&sh.upload_id, true)
        ))
        .body(bytes);
    r.part = Some(n);
    r.upload_id = Some(sh.upload_id.clone());
    r = d.check_headers(r, &sh.checksum);
    let resp = sh.client.send(&r).await?;
    sh.recycle(std::mem::take(&mut r.body));
    let etag = resp
        .header("etag")
        .map(str::to_owned)
        .ok_or_else(|| r.error(Some(resp.status), None))
        .map_err(|e| match e {
            Error::S3 {
                mut context,
                source,
            } => {
                context.message = Some("no ETag in the response".into());
                Error::S3 { context, source }
            }
            e => e,
        })?;
    let answer = Answer {
        crc32c: resp.header("x-amz-checksum-crc32c"),
        etag: Some(&etag),
    };
    sh.checksum.judge(
        &format!("part {n}"),
        d.md5.as_ref(),
        d.crc32c,
        answer,
        sh.verify_etag,
    )?;
    // Count the part as uploaded before its memory permit is released, so "read − uploaded"
    // never exceeds the permits in use.
    sh.uploaded.fetch_add(size, Ordering::SeqCst);
    sh.parts_done.fetch_add(1, Ordering::SeqCst);
    sh.report();
    drop(permit);
    Ok(PartRecord {
        number: n,
        size,
        etag,
        md5: d.md5,
        crc32c: d.crc32c,
    })
}

/// Length check after the last part of a sequential source.
async fn expect_eof(r: &mut SeqReader, expected: u64) -> Result<()> {
    let mut probe = BytesMut::with_capacity(1);
    r.fill(&mut probe, 1).await?;
    if probe.is_empty() {
        Ok(())
    } else {
        Err(Error::TooLong {
            what: r.name.clone(),
            expected,
        })
    }
}

impl Client {
    /// Copies `source` to `s3://bucket/key`.
    ///
    /// Objects up to the multipart threshold go in one PUT; larger ones (or streams longer than
    /// one part) in a multipart upload of `concurrency` parallel parts. On any failure, or on
    /// cancellation, the multipart upload is aborted before the error is returned.
    ///
    /// # Errors
    ///
    /// Any [`Error`]: source read errors ([`Error::Source`], [`Error::Truncated`],
    /// [`Error::CannotResume`]), S3 errors after retries ([`Error::S3`] naming the part, status,
    /// server code and upload id), [`Error::Integrity`] when a check fails,
    /// [`Error::TooManyParts`], [`Error::Cancelled`], [`Error::UploadLeftOpen`] when even the
    /// abort failed.
    pub async fn copy(
        &self,
        source: Source,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
    ) -> Result<CopyReport> {
        if key.is_empty() {
            return Err(Error::Config {
                key: "key".into(),
                reason: "empty object key".into(),
            });
        }
        if opts.concurrency == 0 {
            return Err(Error::Config {
                key: "concurrency".into(),
                reason: "must be at least 1".into(),
            });
        }
        let start = Instant::now();
        let opened = source.open().await?;
        let announced = match &opened {
            Opened::File { len, .. } => Some(*len),
            Opened::Seq(r) => r.len,
        };
        if let (Some(a), Some(e)) = (announced, opts.expected_size)
            && a != e
        {
            return Err(Error::Integrity {
                what: "source length".into(),
                expected: e.to_string(),
                actual: a.to_string(),
            });
        }
        let total = announced.or(opts.expected_size);
        let plan = PartPlan::new(total, opts.part_size, self.inner.limits)?;
        let threshold = opts.multipart_threshold.unwrap_or(plan.part_size());
        let hasher = OrderedHasher::start(opts.md5, opts.sha256).map(Arc::new);
        let payload_signed = self.signs_payload();
        let mut report = CopyReport {
            part_size: plan.part_size(),
            part_checksum: opts.part_checksum,
            payload_signed,
            ..Default::default()
        };
        match opened {
            Opened::File { file, path, len } => {
                if len <= threshold {
                    let (f, p) = (file.clone(), path.clone());
                    let b = tokio::task::spawn_blocking(move || {
                        read_file_range(&f, &p, 0, len as usize)
                    })
                    .await
                    .map_err(|e| Error::Source {
                        what: path.display().to_string(),
                        source: Box::new(e),
                    })??;
                    self.put_single(b, bucket, key, opts, hasher, &mut report)
                        .await?;
                } else {
                    self.multipart(
                        Feed::File {
                            file: file.clone(),
                            path: path.clone(),
                        },
                        None,
                        plan,
                        bucket,
                        key,
                        opts,
                        hasher,
                        &mut report,
                    )
                    .await?;
                    let now = file.metadata().map(|m| m.len()).unwrap_or(len);
                    if now != len {
                        return Err(Error::Integrity {
                            what: format!("{} size during the copy", path.display()),
                            expected: len.to_string(),
                            actual: now.to_string(),
                        });
                    }
                }
            }
            Opened::Seq(mut r) => {
                let first_len = match total {
                    Some(t) if t <= threshold => t as usize,
                    _ => plan.part_size() as usize,
                };
                let mut first = BytesMut::with_capacity(first_len);
                r.fill(&mut first, first_len).await?;
                let got = first.len() as u64;
                match total {
                    Some(t) if got < first_len as u64 => {
                        return Err(Error::Truncated {
                            what: r.name.clone(),
                            expected: t,
                            received: got,
                        });
                    }
                    Some(t) if t <= threshold => {
                        expect_eof(&mut r, t).await?;
                        self.put_single(first.freeze(), bucket, key, opts, hasher, &mut report)
                            .await?;
                    }
                    None if got < first_len as u64 => {
                        self.put_single(first.freeze(), bucket, key, opts, hasher, &mut report)
                            .await?;
                    }
                    _ => {
                        self.multipart(
                            Feed::Seq(&mut r),
                            Some(first.freeze()),
                            plan,
                            bucket,
                            key,
                            opts,
                            hasher,
                            &mut report,
                        )
                        .await?;
                    }
                }
                report.source_resumes = r.resumes();
            }
        }
        report.elapsed = start.elapsed();
        Ok(report)
    }

    async fn put_single(
        &self,
        body: Bytes,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
        hasher: Option<Arc<OrderedHasher>>,
        report: &mut CopyReport,
    ) -> Result<()> {
        if let Some(c) = &opts.cancel
            && c.is_cancelled()
        {
            return Err(Error::Cancelled);
        }
        let check = PartCheck::new(opts.part_checksum);
        let want_md5 = check.wants_md5();
        let sign = self.signs_payload();
        let b2 = body.clone();
        let d = tokio::task::spawn_blocking(move || digest_part(&b2, want_md5, sign))
            .await
            .map_err(|e| Error::Source {
                what: "digest".into(),
                source: Box::new(e),
            })?;
        if let Some(h) = &hasher {
            h.feed(1, body.clone(), None);
        }
        let size = body.len() as u64;
        let mut r = Client::object_headers(Req::new("PutObject", Method::PUT, bucket, key), opts)
            .body(body);
        r = d.check_headers(r, &check);
        let put = self.send(&r).await.map_err(|e| acl_error(e, bucket, key))?;
        let etag = put.header("etag").map(str::to_owned);
        let answer = Answer {
            crc32c: put.header("x-amz-checksum-crc32c"),
            etag: etag.as_deref(),
        };
        if let Err(e) = check.judge("body", d.md5.as_ref(), d.crc32c, answer, opts.verify_etag) {
            let (what, expected, actual) = match e {
                Error::Integrity {
                    what,
                    expected,
                    actual,
                } => (what, expected, actual),
                other => return Err(other),
            };
            return Err(self
                .reject_written(bucket, key, &what, expected, actual)
                .await);
        }
        report.part_checksum = check.used();
        let head = self.head_object(bucket, key).await?;
        if head.size != size {
            return Err(self
                .reject_written(bucket, key, "size", size.to_string(), head.size.to_string())
                .await);
        }
        if let (Some(m), Some(e)) = (&d.md5, &head.etag) {
            let e = unquote_etag(e);
            if opts.verify_etag && e.len() == 32 && !e.contains('-') && e != hex::encode(m) {
                return Err(self
                    .reject_written(bucket, key, "etag", hex::encode(m), e.to_owned())
                    .await);
            }
        }
        if let Some(p) = &opts.progress {
            p(&Progress {
                bytes_read: size,
                bytes_uploaded: size,
                parts_done: 1,
                parts_total: Some(1),
                elapsed: Duration::ZERO,
            });
        }
        report.bytes = size;
        report.parts = 1;
        report.multipart = false;
        report.etag = head.etag.or(etag);
        report.crc32c = Some(format!("{:08x}", d.crc32c));
        if let Some(h) = hasher {
            let h = Arc::try_unwrap(h).map_err(|_| Error::Cancelled)?;
            (report.md5, report.sha256) = h.finish().await;
        }
        Ok(())
    }

    /// The object written at `s3://bucket/key` failed a check after it was stored: delete it, so
    /// no wrong object is left in place, and say so in the returned [`Error::Integrity`].
    async fn reject_written(
        &self,
        bucket: &str,
        key: &str,
        check: &str,
        expected: String,
        actual: String,
    ) -> Error {
        let fate = match self.delete_object(bucket, key).await {
            Ok(()) => "the object was deleted".to_owned(),
            Err(e) => format!("deleting the object failed too: {e}"),
        };
        tracing::warn!(bucket, key, check, "stored object failed its check; {fate}");
        Error::Integrity {
            what: format!("s3://{bucket}/{key} {check} ({fate})"),
            expected,
            actual,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn multipart(
        &self,
        feed: Feed<'_>,
        first: Option<Bytes>,
        plan: PartPlan,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
        hasher: Option<Arc<OrderedHasher>>,
        report: &mut CopyReport,
    ) -> Result<()> {
        let upload_id = self.create_multipart_upload(bucket, key, opts).await?;
        report.upload_id = Some(upload_id.clone());
        report.multipart = true;
        let shared = Arc::new(Shared {
            client: self.clone(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            upload_id: upload_id.clone(),
            checksum: PartCheck::new(opts.part_checksum),
            sign: self.signs_payload(),
            verify_etag: opts.verify_etag,
            slots: Arc::new(Semaphore::new(opts.concurrency)),
            buffers: Mutex::new(Vec::new()),
            hasher: hasher.clone(),
            read: AtomicU64::new(0),
            uploaded: AtomicU64::new(0),
            parts_done: AtomicU64::new(0),
            parts_total: plan.part_count(),
            start: Instant::now(),
            progress: opts.progress.clone(),
        });
        let ledger = Arc::new(Mutex::new(Ledger::new()));
        let mut tasks: JoinSet<Result<PartRecord>> = JoinSet::new();
        let run = self
            .run_parts(feed, first, plan, opts, &shared, &ledger, &mut tasks)
            .await;
        let result = match run {
            Ok(count) => {
                // the Complete body lists part CRC32Cs when the check in force was CRC32C
                report.part_checksum = shared.checksum.used();
                let opts = &CopyOptions {
                    part_checksum: report.part_checksum,
                    ..opts.clone()
                };
                self.finish_multipart(bucket, key, &upload_id, plan, count, opts, &ledger, report)
                    .await
            }
            Err(e) => Err(e),
        };
        drop(shared);
        match result {
            Ok(()) => {
                if let Some(h) = hasher {
                    let h = Arc::try_unwrap(h).map_err(|_| Error::Cancelled)?;
                    (report.md5, report.sha256) = h.finish().await;
                }
                Ok(())
            }
            Err(e) => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                tracing::warn!(error = %e, upload_id, "copy failed, aborting the multipart upload");
                match self.abort_multipart_upload(bucket, key, &upload_id).await {
                    Ok(()) => Err(e),
                    Err(ae) => Err(Error::UploadLeftOpen {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        upload_id,
                        abort_error: ae.to_string(),
                        source: Box::new(e),
                    }),
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_parts(
        &self,
        mut feed: Feed<'_>,
        mut first: Option<Bytes>,
        plan: PartPlan,
        opts: &CopyOptions,
        shared: &Arc<Shared>,
        ledger: &Arc<Mutex<Ledger>>,
        tasks: &mut JoinSet<Result<PartRecord>>,
    ) -> Result<u32> {
        let memory = Arc::new(Semaphore::new(opts.concurrency + 1));
        let cancel = opts.cancel.clone().unwrap_or_default();
        let mut n: u32 = 0;
        let mut read_total: u64 = 0;
        let absorb =
            |res: std::result::Result<Result<PartRecord>, tokio::task::JoinError>| -> Result<()> {
                match res {
                    Ok(Ok(rec)) => {
                        ledger.lock().map_err(|_| Error::Cancelled)?.insert(rec);
                        Ok(())
                    }
                    Ok(Err(e)) => Err(e),
                    Err(e) => Err(Error::Source {
                        what: "part task".into(),
                        source: Box::new(e),
                    }),
                }
            };
        loop {
            if let Some(count) = plan.part_count()
                && n >= count
            {
                break;
            }
            // Take a memory permit before reading the next part; meanwhile collect finished parts.
            let permit = loop {
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => return Err(Error::Cancelled),
                    Some(res) = tasks.join_next(), if !tasks.is_empty() => absorb(res)?,
                    p = memory.clone().acquire_owned() => break p.map_err(|_| Error::Cancelled)?,
                }
            };
            let number = n + 1;
            let range = plan.part_range(number);
            let data = match &mut feed {
                Feed::File { file, path } => PartData::File {
                    file: file.clone(),
                    path: path.clone(),
                    offset: range.start,
                    len: (range.end - range.start) as usize,
                },
                Feed::Seq(r) => {
                    let bytes = match first.take() {
                        Some(b) => b,
                        None => {
                            let want = (range.end - range.start) as usize;
                            let mut buf = shared.buffer(want);
                            tokio::select! {
                                biased;
                                () = cancel.cancelled() => return Err(Error::Cancelled),
                                res = r.fill(&mut buf, want) => res?,
                            }
                            if let Some(t) = plan.total()
                                && buf.len() < want
                            {
                                return Err(Error::Truncated {
                                    what: r.name.clone(),
                                    expected: t,
                                    received: read_total + buf.len() as u64,
                                });
                            }
                            if buf.is_empty() {
                                break;
                            }
                            buf.freeze()
                        }
                    };
                    PartData::Ready(bytes)
                }
            };
            plan.check_part_number(number)?;
            let len = match &data {
                PartData::Ready(b) => b.len() as u64,
                PartData::File { len, .. } => *len as u64,
            };
            read_total += len;
            shared.read.fetch_add(len, Ordering::SeqCst);
            n = number;
            let sh = shared.clone();
            tasks.spawn(upload_part(sh, number, data, permit));
            if plan.total().is_none() && len < plan.part_size() {
                break;
            }
        }
        if let (Feed::Seq(r), Some(t)) = (&mut feed, plan.total()) {
            expect_eof(r, t).await?;
        }
        while let Some(res) = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            r = tasks.join_next() => r,
        } {
            absorb(res)?;
        }
        // Truncation guard: what was read and uploaded must be the announced length.
        let uploaded = ledger.lock().map_err(|_| Error::Cancelled)?.total_bytes();
        if uploaded != read_total {
            return Err(Error::Integrity {
                what: "uploaded bytes".into(),
                expected: read_total.to_string(),
                actual: uploaded.to_string(),
            });
        }
        if let Some(t) = plan.total()
            && read_total != t
        {
            return Err(Error::Truncated {
                what: "source".into(),
                expected: t,
                received: read_total,
            });
        }
        Ok(n)
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        plan: PartPlan,
        count: u32,
        opts: &CopyOptions,
        ledger: &Arc<Mutex<Ledger>>,
        report: &mut CopyReport,
    ) -> Result<()> {
        let l = ledger.lock().map_err(|_| Error::Cancelled)?.clone();
        l.check_contiguous(count)?;
        let body =
            xml::complete_body(&l.completed_parts(opts.part_checksum == PartChecksum::Crc32c));
        let expected_etag = l.multipart_etag();
        let etag = self
            .complete(
                bucket,
                key,
                upload_id,
                body,
                l.total_bytes(),
                expected_etag.as_deref(),
            )
            .await?;
        let head = self.head_object(bucket, key).await?;
        if head.size != l.total_bytes() {
            return Err(self
                .reject_written(
                    bucket,
                    key,
                    "size",
                    l.total_bytes().to_string(),
                    head.size.to_string(),
                )
                .await);
        }
        if opts.verify_etag
            && let (Some(want), Some(got)) = (&expected_etag, &head.etag)
        {
            let got = unquote_etag(got);
            if looks_like_multipart_etag(got, count) && got != want {
                return Err(self
                    .reject_written(bucket, key, "multipart etag", want.clone(), got.to_owned())
                    .await);
            }
        }
        report.bytes = l.total_bytes();
        report.parts = count;
        report.part_size = plan.part_size();
        report.etag = head.etag.or(etag);
        report.crc32c = Some(format!("{:08x}", l.whole_crc32c()));
        Ok(())
    }

    /// CompleteMultipartUpload with retries; `<Error>` in a 200 is retried, and `NoSuchUpload`
    /// after a retried attempt is checked with HEAD (the first attempt may have succeeded).
    pub(crate) async fn complete(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        body: String,
        size: u64,
        expected_etag: Option<&str>,
    ) -> Result<Option<String>> {
        let mut r = Req::new("CompleteMultipartUpload", Method::POST, bucket, key)
            .query(format!("uploadId={}", uri_encode(upload_id, true)))
            .header("content-type", "application/xml")
            .body(body);
        r.upload_id = Some(upload_id.to_owned());
        let etag = Mutex::new(None);
        let check = |resp: &Resp| -> Result<()> {
            match xml::parse_complete(&resp.body)? {
                Outcome::Ok(e) => {
                    if let Ok(mut g) = etag.lock() {
                        *g = e;
                    }
                    Ok(())
                }
                Outcome::Error(e) => Err(r.error(Some(resp.status), Some(e))),
            }
        };
        let (res, attempts) = self.send_counted(&r, check).await;
        match res {
            Ok(_) => Ok(etag.lock().ok().and_then(|g| g.clone())),
            Err(e) => {
                let no_such =
                    e.s3_context().and_then(|c| c.code.as_deref()) == Some("NoSuchUpload");
                // A retried Complete may find the upload gone because an earlier attempt worked:
                // accept only if the object is there with the right size (and ETag, if known).
                if no_such
                    && attempts > 1
                    && let Ok(h) = self.head_object(bucket, key).await
                {
                    let etag_ok = match (expected_etag, &h.etag) {
                        (Some(w), Some(g)) => {
                            let g = unquote_etag(g);
                            g == w || !looks_like_multipart_etag(g, 0)
                        }
                        _ => true,
                    };
                    if h.size == size && etag_ok {
                        tracing::warn!(
                            upload_id,
                            "Complete said NoSuchUpload after a retry; the object is there"
                        );
                        return Ok(h.etag);
                    }
                }
                Err(e)
            }
        }
    }

    /// Server-side copy `s3://src_bucket/src_key` → `s3://bucket/key` with UploadPartCopy: no
    /// object bytes pass through the client. Uses `opts.part_size`, `concurrency`, ACL, content
    /// type, metadata and `cancel`.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] (after retries; `<Error>` in a 200 is retried), [`Error::Integrity`] when the
    /// result has the wrong size, [`Error::Cancelled`]; the upload is aborted on failure.
    pub async fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
    ) -> Result<CopyReport> {
        let start = Instant::now();
        let src = self.head_object(src_bucket, src_key).await?;
        let plan = PartPlan::new(
            Some(src.size),
            opts.part_size.or(Some(crate::plan::MIB * 64)),
            self.inner.limits,
        )
        .or_else(|_| PartPlan::new(Some(src.size), None, self.inner.limits))?;
        let mut report = CopyReport {
            part_size: plan.part_size(),
            ..Default::default()
        };
        if src.size == 0 {
            self.put_single(Bytes::new(), bucket, key, opts, None, &mut report)
                .await?;
            report.elapsed = start.elapsed();
            return Ok(report);
        }
        // the store copies the bytes itself: no part checksum travels (Auto asks for none)
        let create = CopyOptions {
            part_checksum: match opts.part_checksum {
                PartChecksum::Auto => PartChecksum::None,
                other => other,
            },
            ..opts.clone()
        };
        let upload_id = self.create_multipart_upload(bucket, key, &create).await?;
        report.upload_id = Some(upload_id.clone());
        report.multipart = true;
        let count = plan.part_count().unwrap_or(1);
        let sem = Arc::new(Semaphore::new(opts.concurrency.max(1)));
        let mut tasks: JoinSet<Result<PartRecord>> = JoinSet::new();
        let copy_source = format!("/{src_bucket}/{}", uri_encode(src_key, false));
        let mut ledger = Ledger::new();
        let mut failure = None;
        let cancel = opts.cancel.clone().unwrap_or_default();
        for n in 1..=count {
            let permit = tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                p = sem.clone().acquire_owned() => Some(p.map_err(|_| Error::Cancelled)?),
            };
            let Some(permit) = permit else {
                failure = Some(Error::Cancelled);
                break;
            };
            let rg = plan.part_range(n);
            let mut r = Req::new("UploadPartCopy", Method::PUT, bucket, key)
                .query(format!(
                    "partNumber={n}&uploadId={}",
                    uri_encode(&upload_id, true)
                ))
                .header("x-amz-copy-source", copy_source.clone())
                .header(
                    "x-amz-copy-source-range",
                    format!("bytes={}-{}", rg.start, rg.end - 1),
                );
            r.part = Some(n);
            r.upload_id = Some(upload_id.clone());
            let c = self.clone();
            tasks.spawn(async move {
                let _p = permit;
                let etag = Mutex::new(String::new());
                c.send_checked(&r, |resp| match xml::parse_copy_result(&resp.body)? {
                    Outcome::Ok(e) => {
                        if let Ok(mut g) = etag.lock() {
                            *g = e;
                        }
                        Ok(())
                    }
                    Outcome::Error(e) => Err(r.error(Some(resp.status), Some(e))),
                })
                .await?;
                Ok(PartRecord {
                    number: n,
                    size: rg.end - rg.start,
                    etag: etag.into_inner().unwrap_or_default(),
                    md5: None,
                    crc32c: 0,
                })
            });
            while let Some(res) = tasks.try_join_next() {
                match res {
                    Ok(Ok(rec)) => ledger.insert(rec),
                    Ok(Err(e)) => failure = Some(e),
                    Err(e) => {
                        failure = Some(Error::Source {
                            what: "copy task".into(),
                            source: Box::new(e),
                        })
                    }
                }
            }
            if failure.is_some() {
                break;
            }
        }
        while failure.is_none() {
            let next = tokio::select! {
                biased;
                () = cancel.cancelled() => {
                    failure = Some(Error::Cancelled);
                    break;
                }
                next = tasks.join_next() => next,
            };
            match next {
                Some(Ok(Ok(rec))) => ledger.insert(rec),
                Some(Ok(Err(e))) => failure = Some(e),
                Some(Err(e)) => {
                    failure = Some(Error::Source {
                        what: "copy task".into(),
                        source: Box::new(e),
                    })
                }
                None => break,
            }
        }
        let result = match failure {
            Some(e) => Err(e),
            None => {
                async {
                    ledger.check_contiguous(count)?;
                    let body = xml::complete_body(&ledger.completed_parts(false));
                    let etag = self
                        .complete(bucket, key, &upload_id, body, src.size, None)
                        .await?;
                    let head = self.head_object(bucket, key).await?;
                    if head.size != src.size {
                        return Err(Error::Integrity {
                            what: format!("s3://{bucket}/{key} size"),
                            expected: src.size.to_string(),
                            actual: head.size.to_string(),
                        });
                    }
                    Ok(head.etag.or(etag))
                }
                .await
            }
        };
        match result {
            Ok(etag) => {
                report.bytes = src.size;
                report.parts = count;
                report.etag = etag;
                report.elapsed = start.elapsed();
                Ok(report)
            }
            Err(e) => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                match self.abort_multipart_upload(bucket, key, &upload_id).await {
                    Ok(()) => Err(e),
                    Err(ae) => Err(Error::UploadLeftOpen {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        upload_id,
                        abort_error: ae.to_string(),
                        source: Box::new(e),
                    }),
                }
            }
        }
    }
}

enum Feed<'a> {
    Seq(&'a mut SeqReader),
    File {
        file: Arc<std::fs::File>,
        path: std::path::PathBuf,
    },
}

/// `<32 hex>-<N>` (with `N == parts` unless `parts` is 0).
fn looks_like_multipart_etag(etag: &str, parts: u32) -> bool {
    match etag.split_once('-') {
        Some((h, n)) => {
            h.len() == 32
                && h.bytes().all(|b| b.is_ascii_hexdigit())
                && n.parse::<u32>().is_ok_and(|n| parts == 0 || n == parts)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etag_shape() {
        assert!(looks_like_multipart_etag(
            "d41d8cd98f00b204e9800998ecf8427e-3",
            3
        ));
        assert!(!looks_like_multipart_etag(
            "d41d8cd98f00b204e9800998ecf8427e-3",
            2
        ));
        assert!(!looks_like_multipart_etag(
            "d41d8cd98f00b204e9800998ecf8427e",
            1
        ));
        assert!(!looks_like_multipart_etag("random-3", 3));
    }

    #[test]
    fn progress_rate() {
        let p = Progress {
            bytes_read: 10,
            bytes_uploaded: 10,
            parts_done: 1,
            parts_total: None,
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(p.rate(), 5.0);
    }

    #[tokio::test]
    async fn cancel_token_wakes() {
        let t = CancelToken::new();
        let t2 = t.clone();
        let h = tokio::spawn(async move { t2.cancelled().await });
        t.cancel();
        h.await.unwrap();
        assert!(t.is_cancelled());
    }
}
