//! The multipart calls the session makes beyond UploadPart: Complete (with its retry rule),
//! ListParts (resume), the ACL check after an upload, and the rejection of a stored object that
//! failed its check.

use std::sync::Mutex;

use http::Method;

use super::resume::acl_in_effect;
use super::session::looks_like_multipart_etag;
use crate::client::{Client, Req, Resp};
use crate::error::{Error, Result};
use crate::ledger::unquote_etag;
use crate::sigv4::uri_encode;
use crate::xml::{self, Grant, Outcome, PartsPage, StoredPart};

impl Client {
    pub(crate) async fn reject_written(
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

    /// Every part the store holds for an incomplete upload (ListParts, all pages).
    ///
    /// # Errors
    ///
    /// [`Error::S3`] (code `NoSuchUpload` when the upload is gone).
    pub async fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>> {
        let mut out = Vec::new();
        let mut marker: Option<u32> = None;
        loop {
            let mut q = format!("uploadId={}", uri_encode(upload_id, true));
            if let Some(m) = marker {
                q.push_str(&format!("&part-number-marker={m}"));
            }
            let mut r = Req::new("ListParts", Method::GET, bucket, key).query(q);
            r.upload_id = Some(upload_id.to_owned());
            let page = Mutex::new(PartsPage::default());
            self.send_checked(&r, |resp: &Resp| match xml::parse_list_parts(&resp.body)? {
                Outcome::Ok(p) => {
                    if let Ok(mut g) = page.lock() {
                        *g = p;
                    }
                    Ok(())
                }
                Outcome::Error(e) => Err(r.error(Some(resp.status), Some(e))),
            })
            .await?;
            let page = page.into_inner().unwrap_or_default();
            out.extend(page.parts);
            match page.next {
                Some(n) if Some(n) != marker => marker = Some(n),
                _ => return Ok(out),
            }
        }
    }

    /// Checks that the canned `acl` given at creation is in effect on `s3://bucket/key`
    /// (GetObjectAcl) and applies it with PutObjectAcl when the store dropped it (some stores
    /// ignore the ACL of CreateMultipartUpload). A store without GetObjectAcl, or a canned ACL
    /// whose grants name accounts this client cannot know, gets PutObjectAcl unchecked.
    ///
    /// # Errors
    ///
    /// [`Error::AclNotSupported`], [`Error::S3`] from PutObjectAcl, [`Error::Integrity`] when the
    /// ACL is still not in effect after PutObjectAcl.
    pub(crate) async fn ensure_acl(&self, bucket: &str, key: &str, acl: &str) -> Result<()> {
        let grants = match self.object_acl_grants(bucket, key).await {
            Ok(g) => g,
            Err(e) => {
                tracing::debug!(error = %e, "GetObjectAcl failed; setting the ACL unchecked");
                return self.put_object_acl(bucket, key, acl).await;
            }
        };
        match acl_in_effect(acl, &grants) {
            Some(true) => Ok(()),
            None => self.put_object_acl(bucket, key, acl).await,
            Some(false) => {
                tracing::warn!(
                    bucket,
                    key,
                    acl,
                    "the store dropped the ACL; applying it again"
                );
                self.put_object_acl(bucket, key, acl).await?;
                let again = self.object_acl_grants(bucket, key).await?;
                if acl_in_effect(acl, &again) == Some(false) {
                    return Err(Error::Integrity {
                        what: format!("s3://{bucket}/{key} acl"),
                        expected: acl.to_owned(),
                        actual: describe_grants(&again),
                    });
                }
                Ok(())
            }
        }
    }

    async fn object_acl_grants(&self, bucket: &str, key: &str) -> Result<Vec<Grant>> {
        let r = Req::new("GetObjectAcl", Method::GET, bucket, key).query("acl");
        let resp = self.send(&r).await?;
        match xml::parse_acl(&resp.body)? {
            Outcome::Ok(g) => Ok(g),
            Outcome::Error(e) => Err(r.error(Some(resp.status), Some(e))),
        }
    }
}

fn describe_grants(grants: &[Grant]) -> String {
    if grants.is_empty() {
        return "no grants".into();
    }
    grants
        .iter()
        .map(|g| {
            let who = g.grantee.rsplit('/').next().unwrap_or(&g.grantee);
            format!("{} to {who}", g.permission)
        })
        .collect::<Vec<_>>()
        .join(", ")
}
