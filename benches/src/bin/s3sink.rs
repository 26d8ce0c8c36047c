//! `s3sink`: an S3 endpoint that answers the multipart protocol correctly, checks SigV4/SigV2
//! signatures (and signed payload hashes), `Content-MD5` and `x-amz-checksum-crc32c` (echoed, as
//! S3 does), and discards the bytes. It keeps per part only the size, MD5 and CRC32C, so `HEAD`
//! can report the object's size, the md5-of-md5s ETag and the whole-object CRC32C
//! (`x-amz-meta-sink-crc32c`) for the benchmark's digest check (HEAD is also answered without a
//! signature, for curl).
//!
//! ```text
//! s3sink PORT ACCESS_KEY SECRET_KEY
//! ```
//! Decodes `aws-chunked` bodies (the default of recent AWS CLIs). Single-threaded accounting, no
//! persistence: a benchmark tool, not a store.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use s3_stream::sigv4::{self, Signer};
use s3_stream::{Credentials, Timestamp, sigv2};

#[derive(Clone)]
struct Part {
    size: u64,
    md5: [u8; 16],
    crc: u32,
}

#[derive(Default)]
struct State {
    uploads: HashMap<String, HashMap<u32, Part>>,
    objects: HashMap<String, (u64, String, u32)>,
    next: u64,
}

fn resp(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(body.into()))
        .unwrap_or_default()
}

fn err(status: u16, code: &str) -> Response<Full<Bytes>> {
    resp(
        status,
        format!("<Error><Code>{code}</Code><Message>{code}</Message></Error>"),
    )
}

/// Decodes an `aws-chunked` body (`hex-size[;chunk-signature=…]\r\n data \r\n … 0\r\n trailers`).
fn decode_chunked(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    loop {
        let eol = b[i..].windows(2).position(|w| w == b"\r\n")? + i;
        let line = std::str::from_utf8(&b[i..eol]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        i = eol + 2;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(i..i + size)?);
        i += size + 2;
    }
}

/// What the sink keeps of a request body: its length and digests, and its first bytes (enough
/// for the XML bodies of Complete and ACL requests; part data is hashed as it arrives and
/// dropped, never copied).
struct Digested {
    len: u64,
    md5: [u8; 16],
    crc32c: u32,
    /// Hex SHA-256 of the body as sent, computed only for a signed payload (else empty).
    sha256: String,
    head: Vec<u8>,
}

/// Bytes of a body kept in [`Digested::head`].
const HEAD_KEEP: usize = 1 << 20;

/// Reads a body frame by frame, hashing as it goes. `aws-chunked` bodies (an
/// `x-amz-content-sha256` of `STREAMING-…`) are collected and decoded first; `Ok(None)` when
/// that encoding is broken.
async fn digest_body(
    body: hyper::body::Incoming,
    payload: &str,
) -> Result<Option<Digested>, hyper::Error> {
    let of = |data: &[u8]| Digested {
        len: data.len() as u64,
        md5: Md5::digest(data).into(),
        crc32c: crc32c::crc32c(data),
        sha256: String::new(),
        head: data[..data.len().min(HEAD_KEEP)].to_vec(),
    };
    if payload.starts_with("STREAMING-") {
        let raw = body.collect().await?.to_bytes();
        return Ok(decode_chunked(&raw).map(|d| of(&d)));
    }
    let signed = payload.len() == 64;
    let (mut md5, mut sha) = (Md5::new(), sha2::Sha256::new());
    let (mut len, mut crc, mut head) = (0u64, 0u32, Vec::new());
    let mut body = std::pin::pin!(body);
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        md5.update(&data);
        if signed {
            sha.update(&data);
        }
        crc = crc32c::crc32c_append(crc, &data);
        len += data.len() as u64;
        if head.len() < HEAD_KEEP {
            head.extend_from_slice(&data[..data.len().min(HEAD_KEEP - head.len())]);
        }
    }
    Ok(Some(Digested {
        len,
        md5: md5.finalize().into(),
        crc32c: crc,
        sha256: if signed {
            hex::encode(sha.finalize())
        } else {
            String::new()
        },
        head,
    }))
}

fn check_auth(
    req_method: &str,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    creds: &Credentials,
    body_sha256: &str,
) -> bool {
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let hv = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    if let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") {
        let field = |name: &str| {
            rest.split(',')
                .map(str::trim)
                .find_map(|p| p.strip_prefix(name))
                .unwrap_or("")
                .to_owned()
        };
        let cred = field("Credential=");
        let signed = field("SignedHeaders=");
        let sig = field("Signature=");
        let scope: Vec<&str> = cred.split('/').collect();
        if scope.len() != 5 || scope[0] != creds.access_key_id() {
            return false;
        }
        let Some(time) = Timestamp::parse_iso8601(&hv("x-amz-date")) else {
            return false;
        };
        let payload = hv("x-amz-content-sha256");
        if payload.len() == 64 && payload != body_sha256 {
            return false;
        }
        let hs: Vec<(String, String)> = signed
            .split(';')
            .map(|n| {
                let vals: Vec<&str> = headers
                    .get_all(n)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                (n.to_owned(), vals.join(","))
            })
            .collect();
        let signer = Signer {
            credentials: creds,
            region: scope[2],
            service: scope[3],
            time,
        };
        let r = sigv4::Request {
            method: req_method,
            path,
            query,
            headers: &hs,
        };
        let auth2 = signer.authorization(&r, &payload);
        let want = auth2.rsplit_once("Signature=").map_or("", |(_, s)| s);
        return sigv4::signatures_equal(want, &sig);
    }
    if let Some(rest) = auth.strip_prefix("AWS ") {
        let hs: Vec<(String, String)> = headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let res = sigv2::canonical_resource(None, path, query);
        let sts = sigv2::string_to_sign(req_method, &hs, &res, None);
        let want = format!(
            "{}:{}",
            creds.access_key_id(),
            sigv2::signature(creds, &sts)
        );
        return sigv4::signatures_equal(rest, &want);
    }
    false
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    st: Arc<Mutex<State>>,
    creds: Arc<Credentials>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let headers = req.headers().clone();
    let payload = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Ok(body) = digest_body(req.into_body(), payload).await else {
        return Ok(err(400, "IncompleteBody"));
    };
    let Some(body) = body else {
        return Ok(err(400, "InvalidChunkedEncoding"));
    };
    // Unsigned HEAD is allowed so a benchmark script can read the result with curl.
    let anonymous_head = method == "HEAD" && !headers.contains_key("authorization");
    if !anonymous_head && !check_auth(&method, &path, &query, &headers, &creds, &body.sha256) {
        return Ok(err(403, "SignatureDoesNotMatch"));
    }
    let (md5, data) = (body.md5, body.head);
    if let Some(m) = headers.get("content-md5").and_then(|v| v.to_str().ok())
        && m != base64::engine::general_purpose::STANDARD.encode(md5)
    {
        return Ok(err(400, "BadDigest"));
    }
    // As S3 does: a CRC32C the client sends is checked, and echoed in the part's answer.
    let crc_b64 = base64::engine::general_purpose::STANDARD.encode(body.crc32c.to_be_bytes());
    let crc_sent = headers
        .get("x-amz-checksum-crc32c")
        .and_then(|v| v.to_str().ok());
    if crc_sent.is_some_and(|c| c != crc_b64) {
        return Ok(err(400, "BadDigest"));
    }
    let crc_echo = crc_sent.map(|_| crc_b64.clone());
    let q: HashMap<&str, &str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let key = path.clone();
    let mut s = st.lock().unwrap_or_else(|e| e.into_inner());
    let etag = |m: &[u8]| format!("\"{}\"", hex::encode(m));
    let r = match (
        method.as_str(),
        q.contains_key("uploads"),
        q.get("uploadId"),
    ) {
        ("POST", true, _) => {
            s.next += 1;
            let id = format!("sink{}", s.next);
            s.uploads.insert(id.clone(), HashMap::new());
            resp(
                200,
                format!(
                    "<InitiateMultipartUploadResult><Key>{key}</Key><UploadId>{id}</UploadId></InitiateMultipartUploadResult>"
                ),
            )
        }
        ("PUT", _, Some(id)) => {
            let n: u32 = q
                .get("partNumber")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let Some(u) = s.uploads.get_mut(*id) else {
                return Ok(err(404, "NoSuchUpload"));
            };
            u.insert(
                n,
                Part {
                    size: body.len,
                    md5,
                    crc: body.crc32c,
                },
            );
            let mut r = Response::builder().status(200).header("etag", etag(&md5));
            if let Some(c) = &crc_echo {
                r = r.header("x-amz-checksum-crc32c", c.as_str());
            }
            r.body(Full::new(Bytes::new())).unwrap_or_default()
        }
        ("POST", _, Some(id)) => {
            let Some(parts) = s.uploads.remove(*id) else {
                return Ok(err(404, "NoSuchUpload"));
            };
            let text = String::from_utf8_lossy(&data).replace("&quot;", "\"");
            let mut listed: Vec<u32> = text
                .split("<PartNumber>")
                .skip(1)
                .filter_map(|t| t.split('<').next()?.trim().parse().ok())
                .collect();
            listed.sort_unstable();
            let (mut size, mut crc, mut md5s) = (0u64, 0u32, Md5::new());
            for n in &listed {
                let Some(p) = parts.get(n) else {
                    return Ok(err(400, "InvalidPart"));
                };
                if !text.contains(&etag(&p.md5)) && !text.contains(&hex::encode(p.md5)) {
                    return Ok(err(400, "InvalidPart"));
                }
                size += p.size;
                crc = crc32c::crc32c_combine(crc, p.crc, p.size as usize);
                md5s.update(p.md5);
            }
            let e = format!("\"{}-{}\"", hex::encode(md5s.finalize()), listed.len());
            s.objects.insert(key.clone(), (size, e.clone(), crc));
            resp(
                200,
                format!(
                    "<CompleteMultipartUploadResult><Key>{key}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
                    e.replace('"', "&quot;")
                ),
            )
        }
        ("DELETE", _, Some(id)) => {
            s.uploads.remove(*id);
            resp(204, Bytes::new())
        }
        ("GET", true, _) => resp(
            200,
            "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>",
        ),
        ("PUT", _, None) if q.contains_key("acl") => resp(200, Bytes::new()),
        ("PUT", _, None) => {
            s.objects.insert(key, (body.len, etag(&md5), body.crc32c));
            Response::builder()
                .status(200)
                .header("etag", etag(&md5))
                .body(Full::new(Bytes::new()))
                .unwrap_or_default()
        }
        ("HEAD", _, _) | ("GET", _, _) => match s.objects.get(&key) {
            Some((size, e, crc)) => Response::builder()
                .status(200)
                .header("content-length", *size)
                .header("etag", e.as_str())
                .header("x-amz-meta-sink-crc32c", format!("{crc:08x}"))
                .body(Full::new(Bytes::new()))
                .unwrap_or_default(),
            None if path.trim_matches('/').contains('/') => err(404, "NoSuchKey"),
            None => resp(
                200,
                "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
            ),
        },
        _ => err(501, "NotImplemented"),
    };
    Ok(r)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: s3sink PORT ACCESS_KEY SECRET_KEY");
        std::process::exit(2);
    }
    let creds = Arc::new(Credentials::new(&args[2], &args[3]));
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", args[1].parse::<u16>().unwrap_or(0))).await?;
    eprintln!("s3sink on http://{}", listener.local_addr()?);
    let st = Arc::new(Mutex::new(State::default()));
    loop {
        let (sock, _) = listener.accept().await?;
        let (st, creds) = (st.clone(), creds.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(req, st.clone(), creds.clone()));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(sock), svc)
                .await;
        });
    }
}
