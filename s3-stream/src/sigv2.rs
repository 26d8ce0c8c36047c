//! AWS Signature Version 2 (HMAC-SHA1) for S3-compatible stores that predate SigV4. Pure.
//!
//! The client sends `Date` only (no `x-amz-date`): the S3 documentation's prose and its worked
//! example disagree on where `x-amz-date` goes, and servers follow one or the other.

use base64::Engine as _;
use sha1::Sha1;

use crate::sigv4::{Credentials, hmac, percent_decode};

/// Query parameters that belong to the SigV2 canonical resource (sorted).
pub const SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// The canonical resource: `/bucket` (for virtual-hosted requests; `None` for path-style, whose
/// path already starts with the bucket) + the path as sent + the sorted subresources of the query.
///
/// # Examples
///
/// ```
/// use s3_stream::sigv2::canonical_resource;
/// assert_eq!(canonical_resource(Some("johnsmith"), "/", "acl"), "/johnsmith/?acl");
/// assert_eq!(
///     canonical_resource(None, "/b/k", "uploadId=x&partNumber=2&foo=1"),
///     "/b/k?partNumber=2&uploadId=x"
/// );
/// ```
pub fn canonical_resource(bucket: Option<&str>, path: &str, query: &str) -> String {
    let mut out = String::new();
    if let Some(b) = bucket {
        out.push('/');
        out.push_str(b);
    }
    out.push_str(if path.is_empty() { "/" } else { path });
    let mut subs: Vec<(String, Option<String>)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = match p.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (p, None),
            };
            SUBRESOURCES.contains(&k).then(|| {
                let v = v.map(|v| String::from_utf8_lossy(&percent_decode(v)).into_owned());
                (k.to_owned(), v)
            })
        })
        .collect();
    subs.sort();
    for (i, (k, v)) in subs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        if let Some(v) = v {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// The string to sign. `Content-MD5`, `Content-Type`, `Date` and `x-amz-*` are taken from
/// `headers`; `expires` (presigned URLs) replaces the date; an `x-amz-date` header empties the
/// date slot (the documented rule).
pub fn string_to_sign(
    method: &str,
    headers: &[(String, String)],
    canonical_resource: &str,
    expires: Option<&str>,
) -> String {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    };
    let mut amz: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in headers {
        let k = k.to_ascii_lowercase();
        if !k.starts_with("x-amz-") {
            continue;
        }
        // trimmed, folded lines unfolded; inner spaces kept (as botocore and s3s do)
        let v = v.trim().replace(['\r', '\n'], " ");
        match amz.iter_mut().find(|(n, _)| *n == k) {
            Some((_, vs)) => vs.push(v),
            None => amz.push((k, vec![v])),
        }
    }
    amz.sort();
    let date = match expires {
        Some(e) => e,
        None if amz.iter().any(|(k, _)| k == "x-amz-date") => "",
        None => get("date"),
    };
    let mut s = format!(
        "{method}\n{}\n{}\n{date}\n",
        get("content-md5"),
        get("content-type")
    );
    for (k, vs) in &amz {
        s.push_str(k);
        s.push(':');
        s.push_str(&vs.join(","));
        s.push('\n');
    }
    s.push_str(canonical_resource);
    s
}

/// Base64 HMAC-SHA1 of a string to sign.
pub fn signature(credentials: &Credentials, string_to_sign: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac::<Sha1>(
        credentials.secret_access_key().as_bytes(),
        string_to_sign.as_bytes(),
    ))
}

/// The `Authorization` header value: `AWS <access key>:<signature>`.
pub fn authorization(credentials: &Credentials, string_to_sign: &str) -> String {
    format!(
        "AWS {}:{}",
        credentials.access_key_id(),
        signature(credentials, string_to_sign)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn multipart_subresources() {
        assert_eq!(canonical_resource(None, "/b/k", "uploads"), "/b/k?uploads");
        assert_eq!(
            canonical_resource(None, "/b/k", "uploadId=a%2Bb"),
            "/b/k?uploadId=a+b"
        );
        assert_eq!(canonical_resource(None, "", "prefix=x"), "/");
    }

    #[test]
    fn amz_headers_sorted_and_joined() {
        let sts = string_to_sign(
            "PUT",
            &h(&[
                ("Date", "D"),
                ("X-Amz-Meta-B", "2"),
                ("x-amz-meta-a", "  1  x "),
                ("x-amz-meta-b", "3"),
            ]),
            "/b/k",
            None,
        );
        assert_eq!(sts, "PUT\n\n\nD\nx-amz-meta-a:1  x\nx-amz-meta-b:2,3\n/b/k");
    }
}
