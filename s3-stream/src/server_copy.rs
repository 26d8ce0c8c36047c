//! Server-side copy: CopyObject up to 5 GiB (every store has it, some have nothing else), an
//! upload session of UploadPartCopy ranges above. No object bytes pass through the client.

use std::sync::Mutex;
use std::time::Instant;

use http::Method;

use crate::client::{Client, Req, acl_error};
use crate::error::{Error, Result};
use crate::options::{CopyOptions, CopyReport, PartChecksum};
use crate::plan::{MAX_PART_SIZE, MIB, PartPlan};
use crate::sigv4::uri_encode;
use crate::upload::scheduler::{Next, Scheduler};
use crate::upload::session::Session;
use crate::xml::{self, Outcome};

/// The largest object CopyObject copies (S3's limit); larger ones need UploadPartCopy.
pub const MAX_COPY_OBJECT_SIZE: u64 = MAX_PART_SIZE;

impl Client {
    /// Server-side copy `s3://src_bucket/src_key` → `s3://bucket/key`: one CopyObject up to
    /// 5 GiB (or up to `opts.multipart_threshold` when that is smaller), else a multipart upload
    /// of UploadPartCopy ranges of `opts.part_size` (default 64 MiB), `concurrency` at once. Uses
    /// the ACL (checked afterwards, see [`CopyOptions::acl`]), content type and metadata of
    /// `opts` (CopyObject keeps the source's content type and metadata unless either is given),
    /// and `cancel`.
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
        let copy_source = format!("/{src_bucket}/{}", uri_encode(src_key, false));
        let threshold = opts
            .multipart_threshold
            .map_or(MAX_COPY_OBJECT_SIZE, |t| t.min(MAX_COPY_OBJECT_SIZE));
        let mut report = if src.size <= threshold {
            self.copy_whole(&copy_source, src.size, bucket, key, opts)
                .await?
        } else {
            self.copy_parts(&copy_source, src.size, bucket, key, opts)
                .await?
        };
        report.elapsed = start.elapsed();
        Ok(report)
    }

    /// CopyObject, then the size (and ACL) check.
    async fn copy_whole(
        &self,
        copy_source: &str,
        size: u64,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
    ) -> Result<CopyReport> {
        if opts.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(Error::Cancelled);
        }
        let mut r = Client::object_headers(Req::new("CopyObject", Method::PUT, bucket, key), opts)
            .header("x-amz-copy-source", copy_source.to_owned());
        if opts.content_type.is_some() || !opts.metadata.is_empty() {
            r = r.header("x-amz-metadata-directive", "REPLACE");
        }
        let etag = Mutex::new(None);
        let send = self.send_checked(&r, |resp| match xml::parse_copy_result(&resp.body)? {
            Outcome::Ok(e) => {
                if let Ok(mut g) = etag.lock() {
                    *g = Some(e);
                }
                Ok(())
            }
            Outcome::Error(e) => Err(r.error(Some(resp.status), Some(e))),
        });
        let cancel = opts.cancel.clone().unwrap_or_default();
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::Cancelled),
            res = send => { res.map_err(|e| acl_error(e, bucket, key))?; }
        }
        let head = self.head_object(bucket, key).await?;
        if head.size != size {
            return Err(self
                .reject_written(bucket, key, "size", size.to_string(), head.size.to_string())
                .await);
        }
        if let Some(acl) = &opts.acl {
            self.ensure_acl(bucket, key, acl).await?;
        }
        Ok(CopyReport {
            bytes: size,
            parts: 1,
            parts_uploaded: 1,
            part_size: size,
            etag: head.etag.or(etag.into_inner().unwrap_or_default()),
            ..Default::default()
        })
    }

    /// A multipart upload of UploadPartCopy ranges through an upload session.
    async fn copy_parts(
        &self,
        copy_source: &str,
        size: u64,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
    ) -> Result<CopyReport> {
        let plan = PartPlan::new(
            Some(size),
            opts.part_size.or(Some(MIB * 64)),
            self.inner.limits,
        )
        .or_else(|_| PartPlan::new(Some(size), None, self.inner.limits))?;
        let mut report = CopyReport {
            part_size: plan.part_size(),
            ..Default::default()
        };
        // the store copies the bytes itself: no part checksum travels (Auto asks for none)
        let opts = &CopyOptions {
            part_checksum: match opts.part_checksum {
                PartChecksum::Auto => PartChecksum::None,
                other => other,
            },
            ..opts.clone()
        };
        let mut session = Session::start(self, bucket, key, opts, &plan, None, None, None).await?;
        let mut sched = Scheduler::new(plan);
        let run = async {
            while let Next::Read { number, range } = sched.next() {
                // UploadPartCopy holds no bytes here, so its permit only paces the loop.
                let permit = session.wait_for_capacity().await?;
                drop(permit);
                sched.read(number, range.end - range.start, copy_source)?;
                session.put_part_copy(number, copy_source.to_owned(), range);
            }
            Ok::<(), Error>(())
        }
        .await;
        match run {
            Ok(()) => {
                session
                    .finish(sched.parts(), None, opts, false, &mut report)
                    .await?
            }
            Err(e) => return Err(session.abort(e).await),
        }
        Ok(report)
    }
}
