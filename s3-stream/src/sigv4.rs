//! AWS Signature Version 4 as S3 applies it. Pure: takes a request description, credentials and a
//! clock value, returns the headers (or the presigned query) to add.
//!
//! S3 differs from the generic SigV4 rules in two ways this module follows: the path is URI-encoded
//! once (not twice) and is never normalised (`/a/./b` and `//` stay as they are), and
//! `x-amz-content-sha256` is always sent and signed (either the hex SHA-256 of the body or
//! [`UNSIGNED_PAYLOAD`]).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::Timestamp;

/// The `x-amz-content-sha256` value of a request whose body is not covered by the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The hex SHA-256 of an empty body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Access key, secret key and optional session token. `Debug` never prints the secret or token.
///
/// # Examples
///
/// ```
/// let c = s3_stream::Credentials::new("AKID", "wJalrXUtnFEMI").with_session_token("tok");
/// assert!(!format!("{c:?}").contains("wJalrXUtnFEMI"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl Credentials {
    /// Credentials from an access key id and a secret access key.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// Adds a session token (sent as `x-amz-security-token`).
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// The access key id (not secret).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub(crate) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The session token, if any.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// HMAC (RFC 2104) of `data` under `key`, from the `hmac` crate, for the SHA-256 (SigV4) and
/// SHA-1 (SigV2) of the `digest` 0.11 family.
pub(crate) fn hmac<D: hmac::EagerHash>(key: &[u8], data: &[u8]) -> Vec<u8>
where
    hmac::Hmac<D>: hmac::Mac + hmac::KeyInit,
{
    use hmac::Mac as _;
    let mut mac = <hmac::Hmac<D> as hmac::KeyInit>::new_from_slice(key)
        .expect("HMAC takes keys of any length (a long key is hashed first)");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Compares two signatures (or any secrets derived from a key) in time that does not depend on
/// where they differ, so a server checking a request's signature with it does not tell an
/// attacker how many leading characters were right.
///
/// # Examples
///
/// ```
/// use s3_stream::sigv4::signatures_equal;
/// assert!(signatures_equal("f4780e2d", "f4780e2d"));
/// assert!(!signatures_equal("f4780e2d", "f4780e2e"));
/// assert!(!signatures_equal("f4780e2d", "f4780e2"));
/// ```
pub fn signatures_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Percent-encodes everything but the RFC 3986 unreserved characters (and `/` unless
/// `encode_slash`), with upper-case hex, as SigV4 requires.
///
/// # Examples
///
/// ```
/// assert_eq!(s3_stream::sigv4::uri_encode("a b/c$~", false), "a%20b/c%24~");
/// assert_eq!(s3_stream::sigv4::uri_encode("a/b", true), "a%2Fb");
/// ```
pub fn uri_encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if !encode_slash => out.push('/'),
            _ => {
                out.push('%');
                out.push_str(&format!("{b:02X}"));
            }
        }
    }
    out
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hexval(b[i + 1]), hexval(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The canonical URI of a request path as S3 computes it: decoded once, then encoded once, never
/// normalised. Already-encoded paths come out unchanged.
pub fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode(path);
    let s = String::from_utf8_lossy(&decoded);
    let enc = uri_encode(&s, false);
    if enc.is_empty() { "/".to_owned() } else { enc }
}

/// The canonical query string: parameters decoded, re-encoded, sorted by name then value.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = String::from_utf8_lossy(&percent_decode(k)).into_owned();
            let v = String::from_utf8_lossy(&percent_decode(v)).into_owned();
            (uri_encode(&k, true), uri_encode(&v, true))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn collapse_ws(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Canonical headers block and the signed-headers list. Names are lower-cased, values trimmed with
/// inner runs of whitespace collapsed, repeated names joined with `,` in their original order.
pub fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut names: Vec<String> = Vec::new();
    let mut values: Vec<Vec<String>> = Vec::new();
    for (k, v) in headers {
        let k = k.to_ascii_lowercase();
        let v = collapse_ws(v);
        match names.iter().position(|n| *n == k) {
            Some(i) => values[i].push(v),
            None => {
                names.push(k);
                values.push(vec![v]);
            }
        }
    }
    let mut idx: Vec<usize> = (0..names.len()).collect();
    idx.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut block = String::new();
    for &i in &idx {
        block.push_str(&names[i]);
        block.push(':');
        block.push_str(&values[i].join(","));
        block.push('\n');
    }
    let signed = idx
        .iter()
        .map(|&i| names[i].as_str())
        .collect::<Vec<_>>()
        .join(";");
    (block, signed)
}

/// A request to sign: method, the path and query exactly as they go on the wire, and the headers
/// to sign (`host` included).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Path as sent (may already be percent-encoded).
    pub path: &'a str,
    /// Query string as sent, without `?`.
    pub query: &'a str,
    /// Headers to sign, `host` among them.
    pub headers: &'a [(String, String)],
}

/// Everything but the request: credentials, region, service and time.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    /// The key pair.
    pub credentials: &'a Credentials,
    /// Region, e.g. `us-east-1`.
    pub region: &'a str,
    /// Service, `s3` for S3.
    pub service: &'a str,
    /// Signing time.
    pub time: Timestamp,
}

/// The canonical request (step 1 of SigV4).
pub fn canonical_request(req: &Request<'_>, payload_hash: &str) -> String {
    let (block, signed) = canonical_headers(req.headers);
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query),
        block,
        signed,
        payload_hash
    )
}

impl Signer<'_> {
    fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.time.date_stamp(),
            self.region,
            self.service
        )
    }

    /// The string to sign for a canonical request.
    pub fn string_to_sign(&self, canonical_request: &str) -> String {
        format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            self.time.amz_date(),
            self.scope(),
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        )
    }

    /// The derived signing key.
    pub fn signing_key(&self) -> Vec<u8> {
        let k = format!("AWS4{}", self.credentials.secret_access_key());
        let k = hmac::<Sha256>(k.as_bytes(), self.time.date_stamp().as_bytes());
        let k = hmac::<Sha256>(&k, self.region.as_bytes());
        let k = hmac::<Sha256>(&k, self.service.as_bytes());
        hmac::<Sha256>(&k, b"aws4_request")
    }

    /// The hex signature of a string to sign.
    pub fn signature(&self, string_to_sign: &str) -> String {
        hex::encode(hmac::<Sha256>(
            &self.signing_key(),
            string_to_sign.as_bytes(),
        ))
    }

    /// Signs with an `Authorization` header. `req.headers` must already hold `host`,
    /// `x-amz-date`, `x-amz-content-sha256` and, with a session token, `x-amz-security-token`
    /// (see [`Signer::headers_to_add`]). Returns the `Authorization` value.
    pub fn authorization(&self, req: &Request<'_>, payload_hash: &str) -> String {
        let creq = canonical_request(req, payload_hash);
        let sig = self.signature(&self.string_to_sign(&creq));
        let (_, signed) = canonical_headers(req.headers);
        format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={signed}, Signature={sig}",
            self.credentials.access_key_id(),
            self.scope()
        )
    }

    /// The headers the signer contributes before signing: `x-amz-date`, `x-amz-content-sha256`
    /// and the session token when there is one.
    pub fn headers_to_add(&self, payload_hash: &str) -> Vec<(String, String)> {
        let mut h = vec![
            ("x-amz-date".to_owned(), self.time.amz_date()),
            ("x-amz-content-sha256".to_owned(), payload_hash.to_owned()),
        ];
        if let Some(t) = self.credentials.session_token() {
            h.push(("x-amz-security-token".to_owned(), t.to_owned()));
        }
        h
    }

    /// Presigns a request: returns the full query string (the given one plus the `X-Amz-*`
    /// parameters and the signature). The payload is `UNSIGNED-PAYLOAD` for S3.
    pub fn presign_query(
        &self,
        req: &Request<'_>,
        expires_secs: u64,
        payload_hash: &str,
    ) -> String {
        let (_, signed) = canonical_headers(req.headers);
        let mut q = String::from(req.query);
        let mut add = |k: &str, v: &str| {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(k);
            q.push('=');
            q.push_str(&uri_encode(v, true));
        };
        add("X-Amz-Algorithm", ALGORITHM);
        add(
            "X-Amz-Credential",
            &format!("{}/{}", self.credentials.access_key_id(), self.scope()),
        );
        add("X-Amz-Date", &self.time.amz_date());
        add("X-Amz-Expires", &expires_secs.to_string());
        if let Some(t) = self.credentials.session_token() {
            add("X-Amz-Security-Token", t);
        }
        add("X-Amz-SignedHeaders", &signed);
        let creq = canonical_request(
            &Request {
                query: &q,
                ..req.clone()
            },
            payload_hash,
        );
        let sig = self.signature(&self.string_to_sign(&creq));
        format!("{q}&X-Amz-Signature={sig}")
    }

    /// Signature of one `aws-chunked` chunk (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`), chained from
    /// the previous signature (the seed signature for the first chunk).
    pub fn chunk_signature(&self, previous_signature: &str, chunk: &[u8]) -> String {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{previous_signature}\n{EMPTY_SHA256}\n{}",
            self.time.amz_date(),
            self.scope(),
            hex::encode(Sha256::digest(chunk))
        );
        self.signature(&sts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_rfc4231_case_2() {
        let mac = hmac::<Sha256>(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // key longer than the block size (RFC 4231 case 6)
        let mac = hmac::<Sha256>(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn canonical_uri_is_not_normalised_and_encoded_once() {
        assert_eq!(canonical_uri("/a/./b/../c//d"), "/a/./b/../c//d");
        assert_eq!(canonical_uri("/test$file.text"), "/test%24file.text");
        assert_eq!(canonical_uri("/test%24file.text"), "/test%24file.text");
        assert_eq!(canonical_uri("/a%2520b"), "/a%2520b");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/ሴ"), "/%E1%88%B4");
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        assert_eq!(canonical_query("uploads"), "uploads=");
        assert_eq!(
            canonical_query("uploadId=a+b/c&partNumber=2"),
            "partNumber=2&uploadId=a%2Bb%2Fc"
        );
        assert_eq!(canonical_query("b=2&a=2&a=1"), "a=1&a=2&b=2");
        assert_eq!(canonical_query(""), "");
    }

    #[test]
    fn percent_decode_keeps_bad_escapes() {
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("a%20b"), b"a b");
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Credentials::new("AKID", "SUPERSECRET").with_session_token("TOKENVALUE");
        let d = format!("{c:?}");
        assert!(d.contains("AKID"));
        assert!(!d.contains("SUPERSECRET"));
        assert!(!d.contains("TOKENVALUE"));
    }
}
