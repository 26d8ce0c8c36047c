//! Test servers: s3s-fs in-process, the moto server from the environment, an in-memory S3 with
//! fault injection, and an HTTP source with fault modes.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use md5::{Digest, Md5};
use s3_stream::{Client, Credentials, PartLimits, RetryConfig};

pub use test_support::data::xorshift64 as data;
pub use test_support::http::{Body, full, serve};
pub use test_support::moto::{endpoint as moto_endpoint, unique};

pub const AK: &str = "AKTESTKEY";
pub const SK: &str = "sk/test+secret";

pub fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(b))
}

pub fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

// ---------------------------------------------------------------------------------------------
// s3s-fs

/// s3s-fs over a temporary folder, with this suite's key pair.
pub async fn start_s3s_fs() -> test_support::s3s::S3sFs {
    test_support::s3s::S3sFs::start(AK, SK).await
}

/// One S3 server of the test matrix scripts/test.sh starts besides moto.
#[derive(Debug, Clone)]
pub struct MatrixServer {
    pub name: &'static str,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    /// Implements UploadPartCopy.
    pub upload_part_copy: bool,
    /// Accepts SigV2.
    pub sigv2: bool,
    /// Implements ListMultipartUploads and object ACLs.
    pub acl_and_listing: bool,
    /// CopyObject finds a source key with a space and `$` (s3rver 3.7.1 answers NoSuchKey).
    pub copy_source_any_key: bool,
}

impl MatrixServer {
    pub fn s3s_fs(endpoint: &str) -> Self {
        Self {
            name: "s3s-fs",
            endpoint: endpoint.to_owned(),
            access_key: AK.into(),
            secret_key: SK.into(),
            upload_part_copy: true,
            sigv2: true,
            acl_and_listing: false,
            copy_source_any_key: true,
        }
    }

    pub fn client(&self) -> Client {
        Client::builder()
            .with_endpoint(&self.endpoint)
            .with_region("us-east-1")
            .with_credentials(Credentials::new(&self.access_key, &self.secret_key))
            .with_retry(fast_retry())
            .build()
            .unwrap()
    }
}

/// The servers of the matrix whose endpoint variable is set: moto (`OVAKIT_MOTO_ENDPOINT`, the
/// pinned version), the oldest and newest moto 5.x (`OVAKIT_MOTO_OLDEST_ENDPOINT`,
/// `OVAKIT_MOTO_NEWEST_ENDPOINT`), ministack (`OVAKIT_MINISTACK_ENDPOINT`) and s3rver
/// (`OVAKIT_S3RVER_ENDPOINT`). Under `CI` a missing variable fails the test.
pub fn matrix_servers() -> Vec<MatrixServer> {
    let all = [
        ("moto", "OVAKIT_MOTO_ENDPOINT", AK, SK, true, true, true),
        (
            "moto-oldest",
            "OVAKIT_MOTO_OLDEST_ENDPOINT",
            AK,
            SK,
            true,
            true,
            true,
        ),
        (
            "moto-newest",
            "OVAKIT_MOTO_NEWEST_ENDPOINT",
            AK,
            SK,
            true,
            true,
            true,
        ),
        (
            "ministack",
            "OVAKIT_MINISTACK_ENDPOINT",
            AK,
            SK,
            true,
            true,
            // new buckets refuse ACLs (object ownership "bucket owner enforced", as on AWS)
            false,
        ),
        (
            "s3rver",
            "OVAKIT_S3RVER_ENDPOINT",
            "S3RVER",
            "S3RVER",
            // no UploadPartCopy; its SigV2 check refuses botocore's signatures too
            false,
            false,
            false,
        ),
    ];
    let mut out = Vec::new();
    for (name, var, ak, sk, upc, v2, acl) in all {
        match std::env::var(var) {
            Ok(e) if !e.is_empty() => out.push(MatrixServer {
                name,
                endpoint: e,
                access_key: ak.into(),
                secret_key: sk.into(),
                upload_part_copy: upc,
                sigv2: v2,
                acl_and_listing: acl,
                copy_source_any_key: name != "s3rver",
            }),
            _ => {
                if std::env::var_os("CI").is_some() {
                    panic!("{var} is not set (scripts/test.sh starts {name})");
                }
                eprintln!("skipping {name}: {var} is not set");
            }
        }
    }
    out
}

pub fn client(endpoint: &str) -> Client {
    Client::builder()
        .with_endpoint(endpoint)
        .with_region("us-east-1")
        .with_credentials(Credentials::new(AK, SK))
        .with_retry(fast_retry())
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// In-memory S3 with fault injection

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and S3 error code.
    Status(u16, &'static str),
    /// Close the connection without answering (mid-request).
    Drop,
    /// 200 OK whose body is `<Error><Code>InternalError</Code>…`.
    ErrorIn200,
    /// Do the work, then close the connection without answering (a lost response).
    DropAfter,
    /// Wait this many milliseconds, then answer normally.
    Delay(u64),
    /// Damage the received body (one byte flipped) before checking and storing it: what a part
    /// looks like to the store after corruption on the way.
    Corrupt,
    /// Damage the received body after the checks and store it: what a store that checks
    /// nothing (moto) keeps of a part corrupted on the way, answering with its digests.
    CorruptUnchecked,
    /// Complete the upload but give the object a wrong md5-of-md5s ETag.
    WrongEtag,
    /// Store the part without echoing its `x-amz-checksum-crc32c` (a store that does not
    /// compute flexible checksums, like moto).
    NoChecksumEcho,
}

/// The integrity headers of one request, as the store received them.
#[derive(Debug, Clone)]
pub struct SeenHeaders {
    pub op: &'static str,
    pub part: Option<u32>,
    pub content_md5: bool,
    pub crc32c: bool,
    pub content_sha256: String,
    /// `Content-Length`, when the request had one (S3 refuses chunked transfer encoding).
    pub content_length: Option<u64>,
    pub chunked: bool,
}

/// What the fault hook sees: operation name, part number, and how many times this
/// (operation, part) was seen before.
#[derive(Debug, Clone)]
pub struct Seen {
    pub op: &'static str,
    pub part: Option<u32>,
    pub attempt: u32,
}

type Hook = Box<dyn Fn(&Seen) -> Option<Fault> + Send + Sync>;

#[derive(Default)]
pub struct MockState {
    pub objects: BTreeMap<String, Bytes>,
    pub uploads: BTreeMap<String, (String, BTreeMap<u32, (Bytes, String)>)>,
    pub acls: HashMap<String, String>,
    pub counts: HashMap<(&'static str, Option<u32>), u32>,
    pub log: Vec<String>,
    pub headers: Vec<SeenHeaders>,
    pub next_id: u64,
}

pub struct MockS3 {
    pub endpoint: String,
    pub state: Arc<Mutex<MockState>>,
    pub max_in_flight_parts: Arc<AtomicUsize>,
}

fn xml_resp(status: u16, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(full(body))
        .unwrap()
}

fn s3_error(status: u16, code: &str) -> Response<Body> {
    xml_resp(
        status,
        format!("<Error><Code>{code}</Code><Message>injected {code}</Message></Error>"),
    )
}

fn query_map(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| String::from_utf8_lossy(&percent_decode(s)).into_owned();
            (dec(k), dec(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

impl MockS3 {
    /// Starts the mock. `hook` decides faults per request.
    pub async fn start(hook: impl Fn(&Seen) -> Option<Fault> + Send + Sync + 'static) -> Self {
        let state = Arc::new(Mutex::new(MockState::default()));
        let hook: Arc<Hook> = Arc::new(Box::new(hook));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let (st, mx) = (state.clone(), max_in_flight.clone());
        let addr = serve(move |req| {
            let (st, hook, inf, mx) = (st.clone(), hook.clone(), in_flight.clone(), mx.clone());
            handle(req, st, hook, inf, mx)
        })
        .await;
        MockS3 {
            endpoint: format!("http://{addr}"),
            state,
            max_in_flight_parts: max_in_flight,
        }
    }

    pub fn client(&self) -> Client {
        self.builder().build().unwrap()
    }

    /// The builder behind [`MockS3::client`], for tests that change one setting.
    pub fn builder(&self) -> s3_stream::ClientBuilder {
        Client::builder()
            .with_endpoint(&self.endpoint)
            .with_credentials(Credentials::new(AK, SK))
            .with_retry(fast_retry())
            .with_part_limits(PartLimits {
                min_part_size: 1024,
                ..PartLimits::default()
            })
    }

    pub fn object(&self, key: &str) -> Option<Bytes> {
        self.state.lock().unwrap().objects.get(key).cloned()
    }

    pub fn open_uploads(&self) -> usize {
        self.state.lock().unwrap().uploads.len()
    }

    pub fn count(&self, op: &'static str, part: Option<u32>) -> u32 {
        self.state
            .lock()
            .unwrap()
            .counts
            .get(&(op, part))
            .copied()
            .unwrap_or(0)
    }
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    st: Arc<Mutex<MockState>>,
    hook: Arc<Hook>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
) -> Result<Response<Body>, std::io::Error> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let q = query_map(req.uri().query().unwrap_or(""));
    let headers = req.headers().clone();
    let key = path
        .trim_start_matches('/')
        .split_once('/')
        .map(|(_, k)| k)
        .unwrap_or("")
        .to_owned();
    let key = String::from_utf8_lossy(&percent_decode(&key)).into_owned();
    let part: Option<u32> = q.get("partNumber").and_then(|p| p.parse().ok());
    let op: &'static str = match (
        &method,
        q.contains_key("uploads"),
        q.contains_key("uploadId"),
    ) {
        (&hyper::Method::POST, true, _) => "CreateMultipartUpload",
        (&hyper::Method::PUT, _, true) => "UploadPart",
        (&hyper::Method::POST, _, true) => "CompleteMultipartUpload",
        (&hyper::Method::DELETE, _, true) => "AbortMultipartUpload",
        (&hyper::Method::DELETE, _, false) => "DeleteObject",
        (&hyper::Method::GET, true, _) => "ListMultipartUploads",
        (&hyper::Method::PUT, _, _) if q.contains_key("acl") => "PutObjectAcl",
        (&hyper::Method::GET, _, _) if q.contains_key("acl") => "GetObjectAcl",
        (&hyper::Method::PUT, _, _) => "PutObject",
        (&hyper::Method::HEAD, _, _) => "HeadObject",
        (&hyper::Method::GET, _, _) => "GetObject",
        _ => "Other",
    };
    let attempt = {
        let mut s = st.lock().unwrap();
        let c = s.counts.entry((op, part)).or_insert(0);
        *c += 1;
        let a = *c - 1;
        s.log.push(format!("{op} {part:?} #{a}"));
        a
    };
    let fault = hook(&Seen { op, part, attempt });
    match fault {
        Some(Fault::Drop) => return Err(std::io::Error::other("injected drop")),
        Some(Fault::Status(s, c)) => return Ok(s3_error(s, c)),
        Some(Fault::Delay(ms)) => tokio::time::sleep(Duration::from_millis(ms)).await,
        _ => {}
    }
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    if op == "UploadPart" {
        max_in_flight.fetch_max(now, Ordering::SeqCst);
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut body = body.map_err(|e| std::io::Error::other(e.to_string()))?;
    let content_sha256 = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    st.lock().unwrap().headers.push(SeenHeaders {
        op,
        part,
        content_md5: headers.contains_key("content-md5"),
        crc32c: headers.contains_key("x-amz-checksum-crc32c"),
        content_sha256: content_sha256.clone(),
        content_length: headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        chunked: headers.contains_key("transfer-encoding"),
    });
    if fault == Some(Fault::Corrupt) && !body.is_empty() {
        let mut v = body.to_vec();
        v[0] ^= 0x01;
        body = Bytes::from(v);
    }
    // A signed payload: the store recomputes the SHA-256 the client signed, as S3 does.
    if content_sha256.len() == 64 && content_sha256 != sha256_hex(&body) {
        return Ok(s3_error(400, "XAmzContentSHA256Mismatch"));
    }
    if let Some(m) = headers.get("content-md5") {
        let want = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&body));
        if m.to_str().unwrap_or("") != want {
            return Ok(s3_error(400, "BadDigest"));
        }
    }
    if let Some(c) = headers.get("x-amz-checksum-crc32c") {
        let want =
            base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(&body).to_be_bytes());
        if c.to_str().unwrap_or("") != want {
            return Ok(s3_error(400, "BadDigest"));
        }
    }
    if fault == Some(Fault::CorruptUnchecked) && !body.is_empty() {
        let mut v = body.to_vec();
        v[0] ^= 0x01;
        body = Bytes::from(v);
    }
    let mut s = st.lock().unwrap();
    let etag = |b: &[u8]| format!("\"{}\"", md5_hex(b));
    Ok(match op {
        "CreateMultipartUpload" => {
            s.next_id += 1;
            let id = format!("upload+{}/x", s.next_id);
            s.uploads.insert(id.clone(), (key.clone(), BTreeMap::new()));
            xml_resp(
                200,
                format!(
                    "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>{key}</Key><UploadId>{id}</UploadId></InitiateMultipartUploadResult>"
                ),
            )
        }
        "UploadPart" => {
            let id = &q["uploadId"];
            let Some(up) = s.uploads.get_mut(id) else {
                return Ok(s3_error(404, "NoSuchUpload"));
            };
            let e = etag(&body);
            let crc = base64::engine::general_purpose::STANDARD
                .encode(crc32c::crc32c(&body).to_be_bytes());
            up.1.insert(part.unwrap_or(0), (body, e.clone()));
            let mut r = Response::builder().status(200).header("etag", e);
            // as S3 does: the checksum it computed, for the algorithm the client gave
            if headers.contains_key("x-amz-checksum-crc32c") && fault != Some(Fault::NoChecksumEcho)
            {
                r = r.header("x-amz-checksum-crc32c", crc);
            }
            r.body(full(Bytes::new())).unwrap()
        }
        "CompleteMultipartUpload" => {
            let id = &q["uploadId"];
            let Some((k, parts)) = s.uploads.remove(id) else {
                return Ok(s3_error(404, "NoSuchUpload"));
            };
            let listed = String::from_utf8_lossy(&body).to_string();
            let mut all = Vec::new();
            let mut md5s = Vec::new();
            for (n, (b, e)) in &parts {
                if !listed.contains(&format!(
                    "<PartNumber>{n}</PartNumber><ETag>{}</ETag>",
                    e.replace('"', "&quot;")
                )) {
                    s.uploads.insert(id.clone(), (k, parts.clone()));
                    return Ok(s3_error(400, "InvalidPart"));
                }
                all.extend_from_slice(b);
                md5s.extend_from_slice(&Md5::digest(b));
            }
            let mut etag = format!("\"{}-{}\"", md5_hex(&md5s), parts.len());
            if fault == Some(Fault::WrongEtag) {
                etag = format!("\"{}-{}\"", md5_hex(b"not these parts"), parts.len());
            }
            s.objects.insert(k.clone(), Bytes::from(all));
            s.acls.insert(format!("etag:{k}"), etag.clone());
            if fault == Some(Fault::ErrorIn200) {
                // the work happened, but the answer says it failed (S3's 200-with-Error)
                s.objects.remove(&k);
                s.uploads.insert(id.clone(), (k, parts));
                return Ok(xml_resp(200, "   <Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>".into()));
            }
            if fault == Some(Fault::DropAfter) {
                return Err(std::io::Error::other("response lost"));
            }
            xml_resp(
                200,
                format!(
                    "<CompleteMultipartUploadResult><Key>{k}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
                    etag.replace('"', "&quot;")
                ),
            )
        }
        "DeleteObject" => {
            s.objects.remove(&key);
            Response::builder()
                .status(204)
                .body(full(Bytes::new()))
                .unwrap()
        }
        "AbortMultipartUpload" => {
            s.uploads.remove(&q["uploadId"]);
            Response::builder()
                .status(204)
                .body(full(Bytes::new()))
                .unwrap()
        }
        "ListMultipartUploads" => {
            let mut x =
                String::from("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>");
            for (id, (k, _)) in &s.uploads {
                x.push_str(&format!("<Upload><Key>{k}</Key><UploadId>{id}</UploadId><Initiated>2020-01-01T00:00:00.000Z</Initiated></Upload>"));
            }
            x.push_str("</ListMultipartUploadsResult>");
            xml_resp(200, x)
        }
        // Like ministack, the mock keeps only ACLs set by PutObjectAcl (the x-amz-acl of
        // CreateMultipartUpload is dropped).
        "GetObjectAcl" => {
            let public = s.acls.get(&key).map(String::as_str) == Some("public-read");
            let grant = if public {
                "<Grant><Grantee><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"
            } else {
                ""
            };
            xml_resp(
                200,
                format!(
                    "<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList><Grant><Grantee><ID>o</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>{grant}</AccessControlList></AccessControlPolicy>"
                ),
            )
        }
        "PutObjectAcl" => {
            if key.contains("no-acl") {
                return Ok(s3_error(400, "AccessControlListNotSupported"));
            }
            let acl = headers
                .get("x-amz-acl")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            s.acls.insert(key, acl);
            Response::builder()
                .status(200)
                .body(full(Bytes::new()))
                .unwrap()
        }
        "PutObject" => {
            let e = etag(&body);
            s.acls.insert(format!("etag:{key}"), e.clone());
            s.objects.insert(key, body);
            Response::builder()
                .status(200)
                .header("etag", e)
                .body(full(Bytes::new()))
                .unwrap()
        }
        "HeadObject" | "GetObject" => match s.objects.get(&key) {
            Some(b) => {
                let e = s
                    .acls
                    .get(&format!("etag:{key}"))
                    .cloned()
                    .unwrap_or_default();
                let body = if op == "GetObject" {
                    b.clone()
                } else {
                    Bytes::new()
                };
                Response::builder()
                    .status(200)
                    .header("content-length", b.len())
                    .header("etag", e)
                    .body(full(body))
                    .unwrap()
            }
            None => s3_error(404, "NoSuchKey"),
        },
        _ => s3_error(501, "NotImplemented"),
    })
}

// ---------------------------------------------------------------------------------------------
// HTTP source with fault modes

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceMode {
    /// Content-Length, ETag, Range support.
    Normal,
    /// Like Normal, but the first full response stops after `n` bytes and closes.
    BreakOnceAt(usize),
    /// Every response stops after `n` bytes (announcing the full length).
    AlwaysBreakAt(usize),
    /// Announces more bytes than it has (Content-Length + `extra`), every time.
    LiesAboutLength(usize),
    /// Breaks after `n` bytes; later requests see a different version (new ETag, new bytes).
    ChangesAfterBreak(usize),
    /// Like BreakOnceAt but sends no ETag / Last-Modified.
    BreakWithoutValidator(usize),
    /// Chunked transfer encoding, no Content-Length.
    Chunked,
    /// Breaks after `n` bytes; later requests see a different version (new ETag, new bytes) and
    /// the server ignores `If-Range` (a 206 of the new version).
    ChangesIgnoringIfRange(usize),
    /// Like ChangesIgnoringIfRange with no ETag at all: only Last-Modified tells the versions apart.
    ChangesIgnoringIfRangeLastModifiedOnly(usize),
    /// Breaks after `n` bytes; later requests get `200` and the whole unchanged object (no Range
    /// support).
    IgnoresRange(usize),
}

pub struct SourceServer {
    pub url: String,
    pub requests: Arc<AtomicU32>,
}

fn broken_body(data: Bytes, stop: usize) -> Body {
    use futures::StreamExt as _;
    let head = data.slice(..stop.min(data.len()));
    // the pause lets the headers and the first bytes go out before the connection breaks
    let tail = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        Err::<Frame<Bytes>, _>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected break",
        ))
    });
    BodyExt::boxed(StreamBody::new(
        futures::stream::iter(vec![Ok(Frame::data(head))]).chain(tail),
    ))
}

pub async fn start_source(content: Bytes, mode: SourceMode) -> SourceServer {
    let requests = Arc::new(AtomicU32::new(0));
    let r2 = requests.clone();
    let addr = serve(move |req| {
        let content = content.clone();
        let n = r2.fetch_add(1, Ordering::SeqCst);
        async move {
            if req.uri().path() == "/redirect" {
                return Ok(Response::builder()
                    .status(302)
                    .header("location", "/data")
                    .body(full(Bytes::new()))
                    .unwrap());
            }
            let changed = matches!(
                mode,
                SourceMode::ChangesAfterBreak(_)
                    | SourceMode::ChangesIgnoringIfRange(_)
                    | SourceMode::ChangesIgnoringIfRangeLastModifiedOnly(_)
            ) && n > 0;
            let (content, etag) = if changed {
                let mut v = content.to_vec();
                v.reverse();
                (Bytes::from(v), "\"v2\"")
            } else {
                (content, "\"v1\"")
            };
            let range = if matches!(mode, SourceMode::IgnoresRange(_)) {
                None
            } else {
                req.headers().get("range").cloned()
            };
            let range = range
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes="))
                .and_then(|v| v.strip_suffix('-'))
                .and_then(|v| v.parse::<usize>().ok());
            let ignores_if_range = matches!(
                mode,
                SourceMode::ChangesIgnoringIfRange(_)
                    | SourceMode::ChangesIgnoringIfRangeLastModifiedOnly(_)
            );
            let if_range_ok = ignores_if_range
                || req
                    .headers()
                    .get("if-range")
                    .map(|v| v == etag)
                    .unwrap_or(true);
            let validators = !matches!(mode, SourceMode::BreakWithoutValidator(_));
            let last_modified = if changed {
                "Fri, 01 Jan 2021 00:00:00 GMT"
            } else {
                "Wed, 01 Jan 2020 00:00:00 GMT"
            };
            let mut b = Response::builder();
            if validators && !matches!(mode, SourceMode::ChangesIgnoringIfRangeLastModifiedOnly(_))
            {
                b = b.header("etag", etag);
            }
            if validators {
                b = b.header("last-modified", last_modified);
            }
            if let (Some(start), true) = (range, if_range_ok) {
                let slice = content.slice(start.min(content.len())..);
                let len = slice.len();
                let b = b
                    .status(206)
                    .header(
                        "content-range",
                        format!(
                            "bytes {start}-{}/{}",
                            content.len().max(1) - 1,
                            content.len()
                        ),
                    )
                    .header("content-length", len);
                let body = match mode {
                    SourceMode::AlwaysBreakAt(k) => broken_body(slice, k),
                    SourceMode::LiesAboutLength(_) => broken_body(slice, len),
                    _ => full(slice),
                };
                return Ok(b.body(body).unwrap());
            }
            let len = content.len();
            Ok(match mode {
                SourceMode::Normal => b.header("content-length", len).body(full(content)).unwrap(),
                SourceMode::Chunked => {
                    let chunks: Vec<Result<Frame<Bytes>, std::io::Error>> = content
                        .chunks(100_000)
                        .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                        .collect();
                    b.body(StreamBody::new(futures::stream::iter(chunks)).boxed())
                        .unwrap()
                }
                SourceMode::BreakOnceAt(k)
                | SourceMode::ChangesAfterBreak(k)
                | SourceMode::BreakWithoutValidator(k)
                | SourceMode::ChangesIgnoringIfRange(k)
                | SourceMode::ChangesIgnoringIfRangeLastModifiedOnly(k)
                | SourceMode::IgnoresRange(k)
                    if n == 0 =>
                {
                    b.header("content-length", len)
                        .body(broken_body(content, k))
                        .unwrap()
                }
                SourceMode::AlwaysBreakAt(k) => b
                    .header("content-length", len)
                    .body(broken_body(content, k))
                    .unwrap(),
                SourceMode::LiesAboutLength(extra) => b
                    .header("content-length", len + extra)
                    .body(broken_body(content, len))
                    .unwrap(),
                _ => b.header("content-length", len).body(full(content)).unwrap(),
            })
        }
    })
    .await;
    SourceServer {
        url: format!("http://{addr}/data"),
        requests,
    }
}

pub fn infallible() -> Result<(), Infallible> {
    Ok(())
}
