//! The async S3 client: request building, signing, retries, and the single-request operations.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};

use crate::config::{
    AddressingStyle, ClientBuilder, PayloadSigning, RetryConfig, SignatureVersion,
};
use crate::error::{Error, Result, S3Context};
use crate::plan::PartLimits;
use crate::sigv4::{self, Credentials, Signer, UNSIGNED_PAYLOAD, uri_encode};
use crate::xml::{self, Outcome, UploadInfo};
use crate::{Timestamp, sigv2};

/// An S3 client for one endpoint. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("region", &self.inner.region)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    http: reqwest::Client,
    scheme: String,
    hostport: String,
    endpoint: String,
    pub(crate) region: String,
    credentials: Option<Credentials>,
    addressing: AddressingStyle,
    signature: SignatureVersion,
    payload: PayloadSigning,
    pub(crate) retry: RetryConfig,
    pub(crate) limits: PartLimits,
    rng: AtomicU64,
}

/// Metadata from HeadObject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `Content-Length`.
    pub size: u64,
    /// `ETag` (quotes kept).
    pub etag: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `x-amz-meta-*` headers, name without the prefix.
    pub metadata: Vec<(String, String)>,
}

/// One request, reusable across retries.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub(crate) operation: &'static str,
    pub(crate) method: Method,
    pub(crate) bucket: String,
    pub(crate) key: String,
    /// Raw query, already encoded.
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    /// Precomputed hex SHA-256 of the body, when the caller already has it.
    pub(crate) sha256: Option<String>,
    /// Send the body as `UNSIGNED-PAYLOAD` even where the client signs payloads (a part whose
    /// CRC32C the store has shown it verifies).
    pub(crate) unsigned_payload: bool,
    pub(crate) part: Option<u32>,
    pub(crate) upload_id: Option<String>,
}

impl Req {
    pub(crate) fn new(operation: &'static str, method: Method, bucket: &str, key: &str) -> Self {
        Self {
            operation,
            method,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            query: String::new(),
            headers: Vec::new(),
            body: Bytes::new(),
            sha256: None,
            unsigned_payload: false,
            part: None,
            upload_id: None,
        }
    }

    pub(crate) fn query(mut self, q: impl Into<String>) -> Self {
        self.query = q.into();
        self
    }

    pub(crate) fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_owned(), v.into()));
        self
    }

    pub(crate) fn body(mut self, b: impl Into<Bytes>) -> Self {
        self.body = b.into();
        self
    }

    pub(crate) fn context(&self) -> S3Context {
        S3Context {
            operation: self.operation,
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            part: self.part,
            upload_id: self.upload_id.clone(),
            ..Default::default()
        }
    }

    pub(crate) fn error(&self, status: Option<u16>, body: Option<xml::S3ErrorBody>) -> Error {
        let mut c = self.context();
        c.status = status;
        if let Some(b) = body {
            c.code = b.code;
            c.message = b.message;
        }
        Error::S3 {
            context: Box::new(c),
            source: None,
        }
    }
}

/// A response, body read in full.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The sources of `e`, outermost first, joined by `: ` (what a log line adds to `e` itself).
fn causes(e: &Error) -> String {
    let mut out = String::new();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

/// Validates an object key for use in a URL path: HTTP clients normalise `.` and `..` segments,
/// which would change the key.
fn check_key(key: &str) -> Result<()> {
    if key.split('/').any(|s| s == "." || s == "..") {
        return Err(Error::Config {
            key: "key".into(),
            reason: format!("{key:?} has '.' or '..' path segments, which http clients rewrite"),
        });
    }
    Ok(())
}

impl ClientBuilder {
    /// Validates the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad endpoint or a value [`ClientBuilder::with_config`] could not
    /// take; [`Error::Client`] when TLS setup fails.
    pub fn build(self) -> Result<Client> {
        if let Some((key, reason)) = self.invalid {
            return Err(Error::Config { key, reason });
        }
        let region = self
            .region
            .clone()
            .unwrap_or_else(|| "us-east-1".to_owned());
        let (endpoint, custom) = match &self.endpoint {
            Some(e) => (e.trim_end_matches('/').to_owned(), true),
            None => (format!("https://s3.{region}.amazonaws.com"), false),
        };
        let url = reqwest::Url::parse(&endpoint).map_err(|e| Error::Config {
            key: "endpoint".into(),
            reason: e.to_string(),
        })?;
        let scheme = url.scheme().to_owned();
        if scheme != "http" && scheme != "https" {
            return Err(Error::Config {
                key: "endpoint".into(),
                reason: format!("scheme must be http or https, not {scheme}"),
            });
        }
        let host = url.host_str().ok_or_else(|| Error::Config {
            key: "endpoint".into(),
            reason: "no host".into(),
        })?;
        if url.path() != "/" && !url.path().is_empty() {
            return Err(Error::Config {
                key: "endpoint".into(),
                reason: "an endpoint with a path is not supported".into(),
            });
        }
        let hostport = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let addressing = self.addressing.unwrap_or(if custom {
            AddressingStyle::Path
        } else {
            AddressingStyle::VirtualHosted
        });
        let b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout.unwrap_or(Duration::from_secs(30)))
            .read_timeout(self.read_timeout.unwrap_or(Duration::from_secs(120)))
            .pool_idle_timeout(Duration::from_secs(50))
            .no_proxy()
            .http1_only()
            .tcp_nodelay(true);
        let b = crate::tls::configure(
            b,
            "destination",
            self.insecure_tls,
            self.extra_ca_pem.as_deref(),
        )?;
        let http = b.build().map_err(|e| Error::Client {
            side: "destination",
            source: Box::new(e),
        })?;
        let seed = Timestamp::now().unix() as u64 ^ (std::process::id() as u64) << 32 | 1;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                scheme,
                hostport,
                endpoint,
                region,
                credentials: self.credentials,
                addressing,
                signature: self.signature,
                payload: self.payload,
                retry: self.retry,
                limits: self.limits,
                rng: AtomicU64::new(seed),
            }),
        })
    }
}

impl Client {
    /// A builder with nothing set. See also [`ClientBuilder::from_env`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The store's part limits.
    pub fn part_limits(&self) -> PartLimits {
        self.inner.limits
    }

    pub(crate) fn random(&self) -> f64 {
        // xorshift64*; only for backoff jitter
        let mut x = self.inner.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.inner.rng.store(x, Ordering::Relaxed);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether the payload is signed only because of [`PayloadSigning::Auto`] over plain HTTP,
    /// so that a part check the store has shown it verifies can take its place.
    pub(crate) fn signs_payload_by_default(&self) -> bool {
        self.inner.signature == SignatureVersion::V4
            && self.inner.payload == PayloadSigning::Auto
            && self.inner.scheme == "http"
    }

    /// Whether part bodies are hashed for the signature (SigV4 signed payload).
    pub(crate) fn signs_payload(&self) -> bool {
        self.inner.signature == SignatureVersion::V4
            && match self.inner.payload {
                PayloadSigning::Auto => self.inner.scheme == "http",
                PayloadSigning::Signed => true,
                PayloadSigning::Unsigned => false,
            }
    }

    fn url_parts(&self, bucket: &str, key: &str) -> (String, String, Option<String>) {
        // (host, path, bucket-for-sigv2-resource)
        let enc = uri_encode(key, false);
        match self.inner.addressing {
            AddressingStyle::Path => {
                let path = if bucket.is_empty() {
                    "/".to_owned()
                } else {
                    format!("/{bucket}/{enc}")
                };
                (self.inner.hostport.clone(), path, None)
            }
            AddressingStyle::VirtualHosted => {
                let host = if bucket.is_empty() {
                    self.inner.hostport.clone()
                } else {
                    format!("{bucket}.{}", self.inner.hostport)
                };
                let b = (!bucket.is_empty()).then(|| bucket.to_owned());
                (host, format!("/{enc}"), b)
            }
        }
    }

    async fn attempt(&self, r: &Req) -> Result<Resp> {
        let (host, path, v2_bucket) = self.url_parts(&r.bucket, &r.key);
        let url = if r.query.is_empty() {
            format!("{}://{host}{path}", self.inner.scheme)
        } else {
            format!("{}://{host}{path}?{}", self.inner.scheme, r.query)
        };
        let now = Timestamp::now();
        let mut headers = r.headers.clone();
        if let Some(creds) = &self.inner.credentials {
            match self.inner.signature {
                SignatureVersion::V4 => {
                    let hash = if r.body.is_empty() || (self.signs_payload() && !r.unsigned_payload)
                    {
                        r.sha256
                            .clone()
                            .unwrap_or_else(|| hex::encode(Sha256::digest(&r.body)))
                    } else {
                        UNSIGNED_PAYLOAD.to_owned()
                    };
                    let signer = Signer {
                        credentials: creds,
                        region: &self.inner.region,
                        service: "s3",
                        time: now,
                    };
                    headers.extend(signer.headers_to_add(&hash));
                    let mut to_sign = headers.clone();
                    to_sign.push(("host".to_owned(), host.clone()));
                    let auth = signer.authorization(
                        &sigv4::Request {
                            method: r.method.as_str(),
                            path: &path,
                            query: &r.query,
                            headers: &to_sign,
                        },
                        &hash,
                    );
                    headers.push(("authorization".to_owned(), auth));
                }
                SignatureVersion::V2 => {
                    headers.push(("date".to_owned(), now.rfc1123()));
                    if let Some(t) = creds.session_token() {
                        headers.push(("x-amz-security-token".to_owned(), t.to_owned()));
                    }
                    let res = sigv2::canonical_resource(v2_bucket.as_deref(), &path, &r.query);
                    let sts = sigv2::string_to_sign(r.method.as_str(), &headers, &res, None);
                    headers.push((
                        "authorization".to_owned(),
                        sigv2::authorization(creds, &sts),
                    ));
                }
            }
        }
        let mut rb = self.inner.http.request(r.method.clone(), &url);
        for (k, v) in &headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if !r.body.is_empty() || r.method == Method::PUT || r.method == Method::POST {
            rb = rb.body(r.body.clone());
        }
        let transport = |e: reqwest::Error| {
            let host = format!("{}://{}", self.inner.scheme, self.inner.hostport);
            crate::tls::classify(e, "destination", &crate::tls::host_port(&host), |e| {
                Error::S3 {
                    context: Box::new(r.context()),
                    source: Some(Box::new(e.without_url())),
                }
            })
        };
        let resp = rb.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(transport)?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    /// Sends with retries. `check` turns a 2xx response into an error when its body says so
    /// (errors it marks retryable are retried too). Also returns the number of attempts.
    pub(crate) async fn send_counted(
        &self,
        r: &Req,
        check: impl Fn(&Resp) -> Result<()>,
    ) -> (Result<Resp>, u32) {
        let retry = self.inner.retry;
        let mut attempt = 0;
        loop {
            let res = match self.attempt(r).await {
                Ok(resp) if (200..300).contains(&resp.status) => check(&resp).map(|()| resp),
                Ok(resp) => Err(r.error(Some(resp.status), xml::parse_error(&resp.body))),
                Err(e) => Err(e),
            };
            match res {
                Ok(resp) => return (Ok(resp), attempt + 1),
                Err(e) if e.is_retryable() && attempt < retry.max_retries => {
                    let d = retry.backoff(attempt, self.random());
                    let delay_ms = d.as_millis() as u64;
                    match causes(&e) {
                        c if c.is_empty() => {
                            tracing::warn!(error = %e, attempt, delay_ms, "retrying")
                        }
                        cause => tracing::warn!(error = %e, cause, attempt, delay_ms, "retrying"),
                    }
                    tokio::time::sleep(d).await;
                    attempt += 1;
                }
                Err(e) => return (Err(e), attempt + 1),
            }
        }
    }

    pub(crate) async fn send_checked(
        &self,
        r: &Req,
        check: impl Fn(&Resp) -> Result<()>,
    ) -> Result<Resp> {
        self.send_counted(r, check).await.0
    }

    pub(crate) async fn send(&self, r: &Req) -> Result<Resp> {
        self.send_checked(r, |_| Ok(())).await
    }

    /// Creates a bucket (`PUT /bucket`). An existing bucket you own is not an error.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] when the store refuses.
    pub async fn create_bucket(&self, bucket: &str) -> Result<()> {
        let r = Req::new("CreateBucket", Method::PUT, bucket, "");
        match self.send(&r).await {
            Ok(_) => Ok(()),
            Err(e)
                if e.s3_context().and_then(|c| c.code.as_deref())
                    == Some("BucketAlreadyOwnedByYou") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// HeadObject.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] (status 404 when the object does not exist).
    pub async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo> {
        check_key(key)?;
        let r = Req::new("HeadObject", Method::HEAD, bucket, key);
        let resp = self.send(&r).await?;
        let size = resp
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::Xml {
                what: "HeadObject",
                reason: "no Content-Length".into(),
            })?;
        let metadata = resp
            .headers
            .iter()
            .filter_map(|(k, v)| {
                let name = k.as_str().strip_prefix("x-amz-meta-")?;
                Some((name.to_owned(), v.to_str().ok()?.to_owned()))
            })
            .collect();
        Ok(ObjectInfo {
            size,
            etag: resp.header("etag").map(str::to_owned),
            content_type: resp.header("content-type").map(str::to_owned),
            metadata,
        })
    }

    /// GetObject into memory (for small objects and checks; large objects belong in a stream).
    ///
    /// # Errors
    ///
    /// [`Error::S3`].
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Bytes> {
        check_key(key)?;
        let r = Req::new("GetObject", Method::GET, bucket, key);
        Ok(self.send(&r).await?.body)
    }

    /// DeleteObject.
    ///
    /// # Errors
    ///
    /// [`Error::S3`].
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        check_key(key)?;
        let r = Req::new("DeleteObject", Method::DELETE, bucket, key);
        self.send(&r).await.map(|_| ())
    }

    /// Sets a canned ACL (`private`, `public-read`, …) on an existing object (PutObjectAcl).
    ///
    /// # Errors
    ///
    /// [`Error::AclNotSupported`] when the bucket has ACLs disabled; [`Error::S3`] otherwise.
    pub async fn put_object_acl(&self, bucket: &str, key: &str, canned_acl: &str) -> Result<()> {
        check_key(key)?;
        let r = Req::new("PutObjectAcl", Method::PUT, bucket, key)
            .query("acl")
            .header("x-amz-acl", canned_acl);
        self.send(&r)
            .await
            .map(|_| ())
            .map_err(|e| acl_error(e, bucket, key))
    }

    /// Lists incomplete multipart uploads (all pages), optionally under a key prefix.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] (some stores do not implement ListMultipartUploads: status 501).
    pub async fn list_multipart_uploads(
        &self,
        bucket: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<UploadInfo>> {
        let mut out = Vec::new();
        let mut marker: Option<(String, String)> = None;
        loop {
            let mut q = String::from("uploads");
            if let Some((k, u)) = &marker {
                q.push_str(&format!(
                    "&key-marker={}&upload-id-marker={}",
                    uri_encode(k, true),
                    uri_encode(u, true)
                ));
            }
            if let Some(p) = prefix {
                q.push_str(&format!("&prefix={}", uri_encode(p, true)));
            }
            let r = Req::new("ListMultipartUploads", Method::GET, bucket, "").query(q);
            let resp = self.send(&r).await?;
            let page = match xml::parse_list_uploads(&resp.body)? {
                Outcome::Ok(p) => p,
                Outcome::Error(e) => return Err(r.error(Some(resp.status), Some(e))),
            };
            out.extend(page.uploads);
            match page.next {
                Some(n) if Some(&n) != marker.as_ref() => marker = Some(n),
                _ => return Ok(out),
            }
        }
    }

    /// AbortMultipartUpload (retried). An upload that is already gone counts as aborted.
    ///
    /// # Errors
    ///
    /// [`Error::S3`].
    pub async fn abort_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<()> {
        check_key(key)?;
        let mut r = Req::new("AbortMultipartUpload", Method::DELETE, bucket, key)
            .query(format!("uploadId={}", uri_encode(upload_id, true)));
        r.upload_id = Some(upload_id.to_owned());
        match self.send(&r).await {
            Ok(_) => Ok(()),
            Err(e) if e.s3_context().and_then(|c| c.code.as_deref()) == Some("NoSuchUpload") => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Aborts every incomplete upload in `bucket` started more than `older_than` ago (all of them
    /// for `None`). Returns what was aborted.
    ///
    /// # Errors
    ///
    /// [`Error::S3`] from listing or aborting.
    pub async fn abort_incomplete_uploads(
        &self,
        bucket: &str,
        older_than: Option<Duration>,
    ) -> Result<Vec<UploadInfo>> {
        let now = Timestamp::now().unix();
        let mut done = Vec::new();
        for u in self.list_multipart_uploads(bucket, None).await? {
            let old_enough = match (older_than, u.initiated) {
                (None, _) => true,
                (Some(age), Some(t)) => now - t.unix() >= age.as_secs() as i64,
                (Some(_), None) => false,
            };
            if old_enough {
                self.abort_multipart_upload(bucket, &u.key, &u.upload_id)
                    .await?;
                done.push(u);
            }
        }
        Ok(done)
    }

    /// Common object headers: ACL, content type, metadata.
    pub(crate) fn object_headers(r: Req, o: &crate::options::CopyOptions) -> Req {
        let mut r = r;
        if let Some(a) = &o.acl {
            r = r.header("x-amz-acl", a.clone());
        }
        if let Some(c) = &o.content_type {
            r = r.header("content-type", c.clone());
        }
        for (k, v) in &o.metadata {
            r = r.header(&format!("x-amz-meta-{}", k.to_ascii_lowercase()), v.clone());
        }
        r
    }

    /// CreateMultipartUpload with the object options of `o` (ACL, content type, metadata, checksum
    /// algorithm). Returns the upload id. [`Client::copy`] does this itself; this is for callers
    /// driving the protocol by hand (and for tests of cleanup).
    ///
    /// # Errors
    ///
    /// [`Error::S3`], [`Error::AclNotSupported`].
    pub async fn create_multipart_upload(
        &self,
        bucket: &str,
        key: &str,
        o: &crate::options::CopyOptions,
    ) -> Result<String> {
        check_key(key)?;
        let mut r = Req::new("CreateMultipartUpload", Method::POST, bucket, key).query("uploads");
        r = Self::object_headers(r, o);
        if let Some(alg) = crate::checksum::PartCheck::create_algorithm(o.part_checksum) {
            r = r.header("x-amz-checksum-algorithm", alg);
        }
        let resp = self.send(&r).await.map_err(|e| acl_error(e, bucket, key))?;
        match xml::parse_initiate(&resp.body)? {
            Outcome::Ok(id) => Ok(id),
            Outcome::Error(e) => Err(r.error(Some(resp.status), Some(e))),
        }
    }
}

pub(crate) fn acl_error(e: Error, bucket: &str, key: &str) -> Error {
    if e.s3_context().and_then(|c| c.code.as_deref()) == Some("AccessControlListNotSupported") {
        Error::AclNotSupported {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }
    } else {
        e
    }
}

pub(crate) fn md5_base64(d: &[u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_lists_every_source_outermost_first() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let outer = std::io::Error::other(Error::Source {
            what: "inner".into(),
            source: Box::new(inner),
        });
        let e = Error::Source {
            what: "http://example.test/disk.ova".into(),
            source: Box::new(outer),
        };
        assert_eq!(causes(&e), "cannot read source inner: refused");
        assert_eq!(
            causes(&Error::Config {
                key: "k".into(),
                reason: "r".into()
            }),
            ""
        );
    }
}
