//! The multipart upload session: the IO shell around the part scheduler.
//!
//! A [`Session`] is one multipart upload. Producers take a memory permit with
//! [`Session::wait_for_capacity`] **before** they read the next part, then hand the part to
//! [`Session::put_part`] (or a server-side range to [`Session::put_part_copy`]); the session
//! uploads up to `concurrency` parts at once, collects their ETags in the ledger,
//! [`Session::finish`]es (Complete, then HEAD checks) or [`Session::abort`]s. A session dropped
//! while still open (its future cancelled) aborts its upload in the background.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::Method;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::hasher::OrderedHasher;
use super::part::{PartData, PartDigests, digest_part, read_part};
use super::resume::{self, ResumeRecord};
use super::scheduler::Reusable;
use crate::cancel::CancelToken;
use crate::checksum::{Answer, PartCheck};
use crate::client::{Client, Req, Resp};
use crate::error::{Error, Result};
use crate::ledger::{Ledger, PartRecord, unquote_etag};
use crate::options::{CopyOptions, CopyReport, PartChecksum, Progress, ProgressFn};
use crate::plan::PartPlan;
use crate::sigv4::uri_encode;
use crate::xml::{self, Outcome};

/// An upload to continue: its id, the parts the store holds, and where its record lives.
pub(crate) struct Resumed {
    pub(crate) upload_id: String,
    pub(crate) reusable: Reusable,
}

/// State shared by the part tasks of one session.
struct Shared {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    checksum: PartCheck,
    sign: bool,
    /// The payload is signed by default only ([`Client::signs_payload_by_default`]): parts sent
    /// after the store has shown it verifies their CRC32C go unsigned.
    sign_until_verified: bool,
    /// A part was sent as `UNSIGNED-PAYLOAD` in place of a signed payload.
    sent_unsigned: std::sync::atomic::AtomicBool,
    verify_etag: bool,
    slots: Arc<Semaphore>,
    /// Part buffers whose upload finished, reused for the next parts: fresh buffers would cost a
    /// page fault and a zeroed page for every 4 KiB of the copy.
    buffers: Mutex<Vec<BytesMut>>,
    /// How many free buffers the pool may keep (`concurrency + 1`): a buffer that is not needed
    /// again is freed, never hoarded.
    pool_limit: usize,
    hasher: Option<Arc<OrderedHasher>>,
    reusable: Reusable,
    read: AtomicU64,
    uploaded: AtomicU64,
    parts_done: AtomicU64,
    parts_reused: AtomicU64,
    parts_total: Option<u32>,
    start: Instant,
    progress: Option<ProgressFn>,
    /// What the session watches: a child of the caller's token, cancelled by a progress
    /// callback's `Break`.
    cancel: CancelToken,
}

impl Shared {
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

    /// A buffer for a part read from a file ([`read_part`] sizes it). A recycled buffer keeps its
    /// old bytes, which the read overwrites: zeroing every part's buffer first cost about 5% of a
    /// file upload's CPU time.
    fn read_buffer(&self) -> BytesMut {
        self.buffers
            .lock()
            .ok()
            .and_then(|mut b| b.pop())
            .unwrap_or_default()
    }

    fn recycle(&self, bytes: Bytes) {
        if let Ok(b) = bytes.try_into_mut()
            && let Ok(mut free) = self.buffers.lock()
            && free.len() < self.pool_limit
        {
            free.push(b);
        }
    }

    /// Reports progress; a `Break` answer cancels the session.
    fn report(&self) {
        if let Some(p) = &self.progress
            && p(&Progress {
                bytes_read: self.read.load(Ordering::SeqCst),
                bytes_uploaded: self.uploaded.load(Ordering::SeqCst),
                parts_done: self.parts_done.load(Ordering::Relaxed) as u32,
                parts_total: self.parts_total,
                elapsed: self.start.elapsed(),
            })
            .is_break()
        {
            self.cancel.cancel();
        }
    }
}

/// One multipart upload in progress. See the module documentation.
pub(crate) struct Session {
    sh: Arc<Shared>,
    memory: Arc<Semaphore>,
    tasks: JoinSet<Result<PartRecord>>,
    ledger: Ledger,
    record: Option<PathBuf>,
    /// Still open: dropping the session aborts the upload.
    open: bool,
}

impl Session {
    /// Creates the multipart upload (or continues `resumed`) for `plan`. When `opts.resume_file`
    /// is set, the upload is recorded there (atomically) so a later run can continue it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start(
        client: &Client,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
        plan: &PartPlan,
        hasher: Option<Arc<OrderedHasher>>,
        resumed: Option<Resumed>,
        source: Option<ResumeRecord>,
    ) -> Result<Self> {
        let (upload_id, reusable) = match resumed {
            Some(r) => (r.upload_id, r.reusable),
            None => (
                client.create_multipart_upload(bucket, key, opts).await?,
                Reusable::default(),
            ),
        };
        let record = match (&opts.resume_file, source) {
            (Some(path), Some(mut rec)) => {
                rec.upload_id = upload_id.clone();
                if let Err(e) = resume::write(path, &rec) {
                    let _ = client.abort_multipart_upload(bucket, key, &upload_id).await;
                    return Err(e);
                }
                Some(path.clone())
            }
            _ => None,
        };
        let concurrency = opts.concurrency.max(1);
        let cancel = opts
            .cancel
            .as_ref()
            .map(CancelToken::child)
            .unwrap_or_default();
        Ok(Self {
            sh: Arc::new(Shared {
                client: client.clone(),
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                upload_id,
                checksum: PartCheck::new(opts.part_checksum),
                sign: client.signs_payload(),
                sign_until_verified: client.signs_payload_by_default(),
                sent_unsigned: std::sync::atomic::AtomicBool::new(false),
                verify_etag: opts.verify_etag,
                slots: Arc::new(Semaphore::new(concurrency)),
                buffers: Mutex::new(Vec::new()),
                pool_limit: concurrency + 1,
                hasher,
                reusable,
                read: AtomicU64::new(0),
                uploaded: AtomicU64::new(0),
                parts_done: AtomicU64::new(0),
                parts_reused: AtomicU64::new(0),
                parts_total: plan.part_count(),
                start: Instant::now(),
                progress: opts.progress.clone(),
                cancel,
            }),
            memory: Arc::new(Semaphore::new(concurrency + 1)),
            tasks: JoinSet::new(),
            ledger: Ledger::new(),
            record,
            open: true,
        })
    }

    /// The upload id.
    pub(crate) fn upload_id(&self) -> &str {
        &self.sh.upload_id
    }

    /// The cancellation token the session watches.
    pub(crate) fn cancel_token(&self) -> &CancelToken {
        &self.sh.cancel
    }

    /// An empty buffer of at least `capacity` bytes, from the pool when one is free.
    pub(crate) fn buffer(&self, capacity: usize) -> BytesMut {
        self.sh.buffer(capacity)
    }

    /// Counts bytes read from the source (progress).
    pub(crate) fn note_read(&self, len: u64) {
        self.sh.read.fetch_add(len, Ordering::SeqCst);
    }

    fn absorb(
        &mut self,
        res: std::result::Result<Result<PartRecord>, tokio::task::JoinError>,
    ) -> Result<()> {
        match res {
            Ok(Ok(rec)) => {
                self.ledger.insert(rec);
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(e) => Err(Error::Source {
                what: "part task".into(),
                source: Box::new(e),
            }),
        }
    }

    /// Waits until one more part buffer may exist (at most `concurrency + 1` do), collecting
    /// finished parts meanwhile. This is the only backpressure a producer needs: take the permit,
    /// then read the part.
    ///
    /// # Errors
    ///
    /// The first failed part's error, or [`Error::Cancelled`].
    pub(crate) async fn wait_for_capacity(&mut self) -> Result<OwnedSemaphorePermit> {
        loop {
            let cancel = self.sh.cancel.clone();
            tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(Error::Cancelled),
                Some(res) = self.tasks.join_next(), if !self.tasks.is_empty() => self.absorb(res)?,
                p = self.memory.clone().acquire_owned() => return p.map_err(|_| Error::Cancelled),
            }
        }
    }

    /// Uploads part `n` (in the background; its permit is released once it is stored).
    pub(crate) fn put_part(&mut self, n: u32, data: PartData, permit: OwnedSemaphorePermit) {
        self.tasks
            .spawn(upload_part(self.sh.clone(), n, data, permit));
    }

    /// Copies `range` of `copy_source` (`/bucket/key`, encoded) into part `n` (UploadPartCopy),
    /// at most `concurrency` at once.
    pub(crate) fn put_part_copy(
        &mut self,
        n: u32,
        copy_source: String,
        range: std::ops::Range<u64>,
    ) {
        let sh = self.sh.clone();
        self.tasks.spawn(async move {
            let _slot = sh
                .slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| Error::Cancelled)?;
            let mut r = Req::new("UploadPartCopy", Method::PUT, &sh.bucket, &sh.key)
                .query(format!(
                    "partNumber={n}&uploadId={}",
                    uri_encode(&sh.upload_id, true)
                ))
                .header("x-amz-copy-source", copy_source)
                .header(
                    "x-amz-copy-source-range",
                    format!("bytes={}-{}", range.start, range.end - 1),
                );
            r.part = Some(n);
            r.upload_id = Some(sh.upload_id.clone());
            let etag = Mutex::new(String::new());
            sh.client
                .send_checked(&r, |resp| match xml::parse_copy_result(&resp.body)? {
                    Outcome::Ok(e) => {
                        if let Ok(mut g) = etag.lock() {
                            *g = e;
                        }
                        Ok(())
                    }
                    Outcome::Error(e) => Err(r.error(Some(resp.status), Some(e))),
                })
                .await?;
            let size = range.end - range.start;
            sh.uploaded.fetch_add(size, Ordering::SeqCst);
            sh.parts_done.fetch_add(1, Ordering::SeqCst);
            sh.report();
            Ok(PartRecord {
                number: n,
                size,
                etag: etag.into_inner().unwrap_or_default(),
                md5: None,
                crc32c: 0,
            })
        });
    }

    /// Waits for every part still running.
    async fn drain(&mut self) -> Result<()> {
        loop {
            let cancel = self.sh.cancel.clone();
            let next = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(Error::Cancelled),
                r = self.tasks.join_next() => r,
            };
            match next {
                Some(res) => self.absorb(res)?,
                None => return Ok(()),
            }
        }
    }

    /// Completes the upload of `count` parts holding `read_total` bytes (the producer's count),
    /// checks the stored object and fills `report`; aborts the upload when anything fails.
    /// `streamed` is false for a server-side copy (no bytes passed through, so no whole-stream
    /// CRC32C and no md5-of-md5s comparison).
    ///
    /// # Errors
    ///
    /// Any part's error, [`Error::Integrity`] when the parts or the stored object do not add up
    /// (the object is then deleted), S3 errors of Complete/HEAD.
    pub(crate) async fn finish(
        mut self,
        count: u32,
        read_total: Option<u64>,
        opts: &CopyOptions,
        streamed: bool,
        report: &mut CopyReport,
    ) -> Result<()> {
        let result = self
            .finish_inner(count, read_total, opts, streamed, report)
            .await;
        match result {
            Ok(()) => {
                self.open = false;
                self.forget_record();
                Ok(())
            }
            Err(e) => Err(self.abort(e).await),
        }
    }

    async fn finish_inner(
        &mut self,
        count: u32,
        read_total: Option<u64>,
        opts: &CopyOptions,
        streamed: bool,
        report: &mut CopyReport,
    ) -> Result<()> {
        self.drain().await?;
        let l = self.ledger.clone();
        // Truncation guard: what was read and uploaded must be what the producer handed over.
        if let Some(read) = read_total
            && l.total_bytes() != read
        {
            return Err(Error::Integrity {
                what: "uploaded bytes".into(),
                expected: read.to_string(),
                actual: l.total_bytes().to_string(),
            });
        }
        l.check_contiguous(count)?;
        // the Complete body lists part CRC32Cs when the check in force was CRC32C
        report.part_checksum = self.sh.checksum.used();
        let body =
            xml::complete_body(&l.completed_parts(report.part_checksum == PartChecksum::Crc32c));
        let expected_etag = if streamed { l.multipart_etag() } else { None };
        let (bucket, key) = (self.sh.bucket.clone(), self.sh.key.clone());
        let client = self.sh.client.clone();
        let etag = client
            .complete(
                &bucket,
                &key,
                &self.sh.upload_id,
                body,
                l.total_bytes(),
                expected_etag.as_deref(),
            )
            .await?;
        // The object exists from here on: nothing is left to abort.
        self.open = false;
        let head = client.head_object(&bucket, &key).await?;
        if head.size != l.total_bytes() {
            return Err(client
                .reject_written(
                    &bucket,
                    &key,
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
                return Err(client
                    .reject_written(
                        &bucket,
                        &key,
                        "multipart etag",
                        want.clone(),
                        got.to_owned(),
                    )
                    .await);
            }
        }
        if let Some(acl) = &opts.acl {
            client.ensure_acl(&bucket, &key, acl).await?;
        }
        report.bytes = l.total_bytes();
        report.parts = count;
        report.multipart = true;
        report.upload_id = Some(self.sh.upload_id.clone());
        report.etag = head.etag.or(etag);
        report.parts_reused = self.sh.parts_reused.load(Ordering::SeqCst) as u32;
        if self.sh.sent_unsigned.load(Ordering::SeqCst) {
            report.payload_signed = false;
        }
        report.parts_uploaded = count - report.parts_reused;
        if streamed {
            report.crc32c = Some(format!("{:08x}", l.whole_crc32c()));
        }
        Ok(())
    }

    /// Stops the running parts and aborts the upload; returns `e`, or
    /// [`Error::UploadLeftOpen`] when the abort failed too.
    pub(crate) async fn abort(mut self, e: Error) -> Error {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        self.forget_record();
        if !self.open {
            return e;
        }
        self.open = false;
        let sh = &self.sh;
        tracing::warn!(error = %e, upload_id = sh.upload_id, "copy failed, aborting the multipart upload");
        match sh
            .client
            .abort_multipart_upload(&sh.bucket, &sh.key, &sh.upload_id)
            .await
        {
            Ok(()) => e,
            Err(ae) => Error::UploadLeftOpen {
                bucket: sh.bucket.clone(),
                key: sh.key.clone(),
                upload_id: sh.upload_id.clone(),
                abort_error: ae.to_string(),
                source: Box::new(e),
            },
        }
    }

    fn forget_record(&mut self) {
        if let Some(p) = self.record.take() {
            resume::remove(&p);
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        // Dropped while open (the copy's future was cancelled): stop the parts and abort the
        // upload in the background, as `abort` would have.
        self.tasks.abort_all();
        self.forget_record();
        let sh = self.sh.clone();
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(async move {
                if let Err(e) = sh
                    .client
                    .abort_multipart_upload(&sh.bucket, &sh.key, &sh.upload_id)
                    .await
                {
                    tracing::warn!(error = %e, upload_id = sh.upload_id, "abort after drop failed");
                }
            });
        }
    }
}

/// How many times a part the store acknowledged with the digest of other bytes is sent again
/// before the copy fails.
const PART_RESENDS: u32 = 2;

async fn upload_part(
    sh: Arc<Shared>,
    n: u32,
    data: PartData,
    permit: OwnedSemaphorePermit,
) -> Result<PartRecord> {
    // A part the store already holds (a resumed upload) is read and hashed like any other, and
    // kept when its stored ETag is the MD5 of the bytes read now.
    let candidate = sh.reusable.candidate(n).cloned();
    let check_md5 = sh.checksum.wants_md5();
    let want_md5 = check_md5 || candidate.is_some();
    // Over plain HTTP the payload's SHA-256 is signed (as the AWS SDKs do) until the store has
    // echoed a part's CRC32C: from then on that check covers every body end to end, and the
    // SHA-256 (about half of an upload's CPU time) is left out.
    let sign = sh.sign && !(sh.sign_until_verified && sh.checksum.crc32c_verified());
    // A file part is read only once it may be sent: at most `concurrency` file parts are in
    // memory (a stream's part is in memory already, under its permit).
    let early_slot = match &data {
        PartData::File { .. } => Some(sh.slots.acquire().await.map_err(|_| Error::Cancelled)?),
        PartData::Ready(_) => None,
    };
    let buf = match &data {
        PartData::File { .. } => Some(sh.read_buffer()),
        PartData::Ready(_) => None,
    };
    let (bytes, d) = tokio::task::spawn_blocking(move || -> Result<_> {
        let b = match (data, buf) {
            (
                PartData::File {
                    file,
                    path,
                    offset,
                    len,
                },
                Some(buf),
            ) => read_part(&file, &path, offset, len, buf)?,
            (
                PartData::File {
                    file,
                    path,
                    offset,
                    len,
                },
                None,
            ) => read_part(&file, &path, offset, len, BytesMut::new())?,
            (PartData::Ready(b), _) => b,
        };
        let d = digest_part(&b, want_md5, sign && candidate.is_none());
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
    let size = bytes.len() as u64;
    if let Some(kept) = sh.reusable.verdict(n, size, d.md5) {
        sh.recycle(bytes);
        sh.uploaded.fetch_add(size, Ordering::SeqCst);
        sh.parts_done.fetch_add(1, Ordering::SeqCst);
        sh.parts_reused.fetch_add(1, Ordering::SeqCst);
        sh.report();
        return Ok(PartRecord {
            number: n,
            size,
            etag: kept,
            md5: d.md5,
            crc32c: d.crc32c,
        });
    }
    // A stored part that did not match is uploaded again; its digest for the signature was
    // skipped above, so take it now.
    let d = if sign && d.sha256.is_none() {
        let b2 = bytes.clone();
        tokio::task::spawn_blocking(move || digest_part(&b2, check_md5, true))
            .await
            .map_err(|e| Error::Source {
                what: "part reader".into(),
                source: Box::new(e),
            })?
    } else {
        d
    };
    let _slot = match early_slot {
        Some(s) => s,
        None => sh.slots.acquire().await.map_err(|_| Error::Cancelled)?,
    };
    let mut r = Req::new("UploadPart", Method::PUT, &sh.bucket, &sh.key)
        .query(format!(
            "partNumber={n}&uploadId={}",
            uri_encode(&sh.upload_id, true)
        ))
        .body(bytes);
    r.part = Some(n);
    r.upload_id = Some(sh.upload_id.clone());
    // The check sees the MD5 only when it asked for one (a resumed part's MD5 was taken to
    // compare it with the stored part, not to send it).
    let sent = PartDigests {
        md5: d.md5.filter(|_| check_md5),
        crc32c: d.crc32c,
        sha256: d.sha256.clone(),
    };
    r = sent.check_headers(r, &sh.checksum);
    if sh.sign && !sign {
        r.unsigned_payload = true;
        sh.sent_unsigned.store(true, Ordering::SeqCst);
    }
    // A store that checks nothing (moto) stores a part damaged on the way and answers with
    // the digest of what it stored: the part is sent again, replacing it, as a store that
    // refused it would have had it sent.
    let mut resent = 0;
    let etag = loop {
        let resp = sh.client.send(&r).await?;
        let etag = part_etag(&r, &resp)?;
        let answer = Answer {
            crc32c: resp.header("x-amz-checksum-crc32c"),
            etag: Some(&etag),
        };
        match sh.checksum.judge(
            &format!("part {n}"),
            sent.md5.as_ref(),
            sent.crc32c,
            answer,
            sh.verify_etag,
        ) {
            Ok(()) => break etag,
            Err(e @ Error::Integrity { .. }) if resent < PART_RESENDS => {
                resent += 1;
                tracing::warn!(part = n, error = %e, "the store holds other bytes than were sent; sending the part again");
            }
            Err(e) => return Err(e),
        }
    };
    sh.recycle(std::mem::take(&mut r.body));
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

/// The ETag header of an UploadPart response; its absence is an error naming the part.
fn part_etag(r: &Req, resp: &Resp) -> Result<String> {
    resp.header("etag")
        .map(str::to_owned)
        .ok_or_else(|| match r.error(Some(resp.status), None) {
            Error::S3 {
                mut context,
                source,
            } => {
                context.message = Some("no ETag in the response".into());
                Error::S3 { context, source }
            }
            e => e,
        })
}

/// `<32 hex>-<N>` (with `N == parts` unless `parts` is 0).
pub(crate) fn looks_like_multipart_etag(etag: &str, parts: u32) -> bool {
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
}
