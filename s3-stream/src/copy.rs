//! `Client::copy`: a source (file, stream, HTTP) wired to one PUT or to an upload session.
//!
//! # Memory
//!
//! The session holds at most `concurrency + 1` part buffers: a permit is taken **before** the
//! next part is read, so a fast source can never run ahead of the uploads. Peak memory is
//! therefore about `(concurrency + 1) × part_size` plus a small constant (HTTP client buffers, a
//! few KiB per connection), whatever the source and its size. With the defaults for a stream
//! (16 MiB parts, concurrency 4) that is 80 MiB; pick a smaller part size or concurrency to use
//! less.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::Method;

use crate::checksum::{Answer, PartCheck};
use crate::client::{Client, Req, acl_error};
use crate::error::{Error, Result};
use crate::ledger::unquote_etag;
use crate::options::{CopyOptions, CopyReport, Progress};
use crate::plan::PartPlan;
use crate::source::{Opened, SeqReader, Source, read_file_range};
use crate::upload::hasher::OrderedHasher;
use crate::upload::part::{PartData, digest_part};
use crate::upload::resume::{self, ResumeRecord};
use crate::upload::scheduler::{Next, Reusable, Scheduler};
use crate::upload::session::{Resumed, Session};

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

enum Feed<'a> {
    Seq(&'a mut SeqReader),
    File {
        file: Arc<std::fs::File>,
        path: std::path::PathBuf,
    },
}

/// A file's version for the resume record: its length and modification time.
fn file_validator(file: &std::fs::File) -> Option<String> {
    let m = file.metadata().ok()?;
    let t = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!(
        "mtime {}.{:09} len {}",
        t.as_secs(),
        t.subsec_nanos(),
        m.len()
    ))
}

/// Feeds the session every part the scheduler asks for, taking a memory permit before each
/// read.
async fn run_parts(
    session: &mut Session,
    mut feed: Feed<'_>,
    mut first: Option<Bytes>,
    sched: &mut Scheduler,
    name: &str,
    total: Option<u64>,
) -> Result<()> {
    let cancel = session.cancel_token().clone();
    while let Next::Read { number, range } = sched.next() {
        let permit = session.wait_for_capacity().await?;
        let want = (range.end - range.start) as usize;
        let (data, len) = match &mut feed {
            Feed::File { file, path } => (
                PartData::File {
                    file: file.clone(),
                    path: path.clone(),
                    offset: range.start,
                    len: want,
                },
                want as u64,
            ),
            Feed::Seq(r) => {
                let bytes = match first.take() {
                    Some(b) => b,
                    None => {
                        let mut buf = session.buffer(want);
                        tokio::select! {
                            biased;
                            () = cancel.cancelled() => return Err(Error::Cancelled),
                            res = r.fill(&mut buf, want) => res?,
                        }
                        buf.freeze()
                    }
                };
                let len = bytes.len() as u64;
                (PartData::Ready(bytes), len)
            }
        };
        if !sched.read(number, len, name)? {
            break;
        }
        session.note_read(len);
        session.put_part(number, data, permit);
    }
    if let (Feed::Seq(r), Some(t)) = (&mut feed, total) {
        expect_eof(r, t).await?;
    }
    sched.check_end(name)
}

impl Client {
    /// Copies `source` to `s3://bucket/key`.
    ///
    /// Objects up to the multipart threshold go in one PUT; larger ones (or streams longer than
    /// one part) in a multipart upload of `concurrency` parallel parts. On any failure, or on
    /// cancellation, the multipart upload is aborted before the error is returned.
    ///
    /// With [`CopyOptions::resume_file`] the upload is recorded in that file while it runs, and
    /// with [`CopyOptions::resume`] an upload recorded there by an earlier, interrupted run is
    /// continued: the parts the store holds are read again from the source and kept when their
    /// ETag is the MD5 of the bytes read now; only the others are sent.
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
        let name = source.name();
        let destination = format!("s3://{bucket}/{key}");
        // An HTTP source continuing a recorded upload is read with If-Range of the recorded
        // version: the server itself answers whether the stored parts' version is still there.
        let recorded_version = opts
            .resume
            .then(|| opts.resume_file.as_deref().and_then(resume::read))
            .flatten()
            .filter(|r| r.source == name && r.destination == destination)
            .and_then(|r| r.validator);
        let opened = source.open(recorded_version.as_deref()).await?;
        let (announced, validator, versioned) = match &opened {
            Opened::File { len, file, .. } => (Some(*len), file_validator(file), false),
            Opened::Seq(r) => (r.len, r.validator(), r.is_http()),
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
        let record = ResumeRecord {
            source: name.clone(),
            destination,
            size: total,
            part_size: 0,
            validator,
            upload_id: String::new(),
        };
        let (earlier, resume_refused) = self
            .earlier_upload(&record, versioned, bucket, key, opts)
            .await;
        let requested = earlier
            .as_ref()
            .map(|(r, _)| r.part_size)
            .or(opts.part_size);
        let plan = PartPlan::new(total, requested, self.inner.limits)?;
        let threshold = opts.multipart_threshold.unwrap_or(plan.part_size());
        let hasher = OrderedHasher::start(opts.md5, opts.sha256).map(Arc::new);
        let payload_signed = self.signs_payload();
        let mut report = CopyReport {
            part_size: plan.part_size(),
            part_checksum: opts.part_checksum,
            payload_signed,
            resume_refused,
            ..Default::default()
        };
        let resumed = match earlier {
            Some((rec, listed)) => {
                let reusable = Reusable::from_listing(&plan, &listed);
                tracing::info!(
                    upload_id = rec.upload_id,
                    stored = listed.len(),
                    reusable = reusable.len(),
                    "continuing an earlier upload"
                );
                Some(Resumed {
                    upload_id: rec.upload_id,
                    reusable,
                })
            }
            None => None,
        };
        let record = ResumeRecord {
            part_size: plan.part_size(),
            ..record
        };
        match opened {
            Opened::File { file, path, len } => {
                if len <= threshold && resumed.is_none() {
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
                    let feed = Feed::File {
                        file: file.clone(),
                        path: path.clone(),
                    };
                    self.multipart(
                        feed,
                        None,
                        plan,
                        bucket,
                        key,
                        opts,
                        hasher,
                        resumed,
                        record,
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
                    Some(t) if t <= threshold && resumed.is_none() => {
                        expect_eof(&mut r, t).await?;
                        self.put_single(first.freeze(), bucket, key, opts, hasher, &mut report)
                            .await?;
                    }
                    None if got < first_len as u64 && resumed.is_none() => {
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
                            resumed,
                            record,
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

    /// The upload an earlier run of the same copy recorded in `opts.resume_file`, with the parts
    /// the store holds for it, when `opts.resume` asks for it and it still fits: same source
    /// version and length, same destination, the upload still there. An HTTP source
    /// (`versioned`) fits only when the earlier run recorded its version (a strong ETag or
    /// Last-Modified). A record that does not fit is dropped (its upload aborted); the copy then
    /// starts over.
    async fn earlier_upload(
        &self,
        current: &ResumeRecord,
        versioned: bool,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
    ) -> (
        Option<(ResumeRecord, Vec<crate::upload::StoredPart>)>,
        Option<String>,
    ) {
        let Some(path) = opts.resume_file.as_ref() else {
            return (None, None);
        };
        let Some(rec) = resume::read(path) else {
            return (None, None);
        };
        let refused = if !opts.resume {
            None
        } else if versioned && rec.validator.is_none() {
            Some(
                "the source sent no ETag or Last-Modified when the upload started, so nothing \
                 proves the stored parts are of its current version"
                    .to_owned(),
            )
        } else if rec.validator != current.validator {
            Some(format!(
                "the source changed since the upload started (version {} then, {} now)",
                rec.validator.as_deref().unwrap_or("unknown"),
                current.validator.as_deref().unwrap_or("unknown"),
            ))
        } else if !rec.continues(current, opts.part_size) {
            Some(format!(
                "the recorded upload has another size or part size ({} bytes in parts of {})",
                rec.size.map_or("unknown".into(), |s| s.to_string()),
                rec.part_size
            ))
        } else {
            None
        };
        if !opts.resume || refused.is_some() {
            if let Some(why) = &refused {
                tracing::warn!(
                    upload_id = rec.upload_id,
                    "not resuming: {why}; starting over"
                );
            }
            // The record is replaced either way; its upload would only cost storage.
            let _ = self
                .abort_multipart_upload(bucket, key, &rec.upload_id)
                .await;
            resume::remove(path);
            return (None, refused);
        }
        match self.list_parts(bucket, key, &rec.upload_id).await {
            Ok(parts) => (Some((rec, parts)), None),
            Err(e) => {
                tracing::warn!(error = %e, upload_id = rec.upload_id, "cannot continue the recorded upload; starting over");
                resume::remove(path);
                (
                    None,
                    Some(format!("the recorded upload cannot be listed: {e}")),
                )
            }
        }
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
            // The object is stored: a `Break` now has nothing left to stop.
            let _ = p(&Progress {
                bytes_read: size,
                bytes_uploaded: size,
                parts_done: 1,
                parts_total: Some(1),
                elapsed: Duration::ZERO,
            });
        }
        if let Some(acl) = &opts.acl {
            self.ensure_acl(bucket, key, acl).await?;
        }
        report.bytes = size;
        report.parts = 1;
        report.parts_uploaded = 1;
        report.multipart = false;
        report.etag = head.etag.or(etag);
        report.crc32c = Some(format!("{:08x}", d.crc32c));
        if let Some(h) = hasher {
            let h = Arc::try_unwrap(h).map_err(|_| Error::Cancelled)?;
            (report.md5, report.sha256) = h.finish().await;
        }
        Ok(())
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
        resumed: Option<Resumed>,
        record: ResumeRecord,
        report: &mut CopyReport,
    ) -> Result<()> {
        let mut session = Session::start(
            self,
            bucket,
            key,
            opts,
            &plan,
            hasher.clone(),
            resumed,
            Some(record),
        )
        .await?;
        report.upload_id = Some(session.upload_id().to_owned());
        report.multipart = true;
        let name = match &feed {
            Feed::Seq(r) => r.name.clone(),
            Feed::File { path, .. } => path.display().to_string(),
        };
        let mut sched = Scheduler::new(plan);
        let run = run_parts(&mut session, feed, first, &mut sched, &name, plan.total()).await;
        match run {
            Ok(()) => {
                session
                    .finish(sched.parts(), Some(sched.bytes()), opts, true, report)
                    .await?
            }
            Err(e) => return Err(session.abort(e).await),
        }
        report.part_size = plan.part_size();
        if let Some(h) = hasher {
            let h = Arc::try_unwrap(h).map_err(|_| Error::Cancelled)?;
            (report.md5, report.sha256) = h.finish().await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
