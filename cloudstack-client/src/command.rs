//! Building a signed request from a command and its parameters (sans-IO).

use std::time::{Duration, SystemTime};

use crate::params::{Params, RESERVED};
use crate::sign::{self, SignatureAlgorithm};
use crate::{Error, Result};

/// HTTP method choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MethodPolicy {
    /// GET, switching to POST for large or sensitive values (`userdata`, `password`, long requests).
    #[default]
    Auto,
    /// Always GET.
    Get,
    /// Always POST (form body).
    Post,
}

/// The HTTP method of a prepared request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Everything in the query string.
    Get,
    /// Everything in an `application/x-www-form-urlencoded` body, nothing in the query string.
    Post,
}

/// How requests are signed and sent.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// MAC algorithm (default HMAC-SHA1).
    pub algorithm: SignatureAlgorithm,
    /// Send `signatureVersion=3` and `expires` (default on).
    pub signature_v3: bool,
    /// Lifetime of a signed request (default 5 minutes, at most 10).
    pub expires_ttl: Duration,
    /// GET/POST policy.
    pub method: MethodPolicy,
    /// With [`MethodPolicy::Auto`], requests whose encoded form is longer than this go as POST
    /// (default 2000 bytes).
    pub post_threshold: usize,
}

impl Default for SignOptions {
    fn default() -> Self {
        Self {
            algorithm: SignatureAlgorithm::HmacSha1,
            signature_v3: true,
            expires_ttl: Duration::from_secs(300),
            method: MethodPolicy::Auto,
            post_threshold: 2000,
        }
    }
}

/// A signed request, ready to be sent: for GET `encoded` is the query string, for POST the body.
#[derive(Clone)]
pub struct PreparedRequest {
    /// GET or POST.
    pub method: Method,
    /// The form-encoded parameters including `signature`.
    pub encoded: String,
}

impl std::fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the signed form is a bearer credential until it expires: never print it
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("len", &self.encoded.len())
            .finish()
    }
}

/// Signs `command` with `params` at time `now`.
///
/// # Errors
/// [`Error::InvalidRequest`] when `params` uses a name the client sets itself (`command`, `apiKey`,
/// `signature`, `response`, `signatureVersion`, `expires`).
///
/// # Examples
/// ```
/// use std::time::UNIX_EPOCH;
/// use cloudstack_client::{command::{prepare, SignOptions, Method}, Params};
/// let opts = SignOptions { signature_v3: false, ..Default::default() };
/// let req = prepare("listZones", &Params::new(), "apiKey", b"secretKey", &opts, UNIX_EPOCH).unwrap();
/// assert_eq!(req.method, Method::Get);
/// assert_eq!(req.encoded, "command=listZones&response=json&apiKey=apiKey&signature=hNz838u4Z1ofz9vRaqYo9GDv1Io%3D");
/// ```
pub fn prepare(
    command: &str,
    params: &Params,
    api_key: &str,
    secret: &[u8],
    opts: &SignOptions,
    now: SystemTime,
) -> Result<PreparedRequest> {
    let mut pairs: Vec<(&str, String)> = Vec::with_capacity(params.len() + 6);
    pairs.push(("command", command.to_owned()));
    for (k, v) in params.iter() {
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(k)) {
            return Err(Error::InvalidRequest {
                command: command.to_owned(),
                reason: format!("parameter {k:?} is set by the client"),
            });
        }
        pairs.push((k, v.to_owned()));
    }
    pairs.push(("response", "json".to_owned()));
    pairs.push(("apiKey", api_key.to_owned()));
    if opts.signature_v3 {
        pairs.push(("signatureVersion", "3".to_owned()));
        pairs.push(("expires", sign::format_expires(now + opts.expires_ttl)));
    }
    let signature = sign::sign(
        opts.algorithm,
        secret,
        pairs.iter().map(|(k, v)| (*k, v.as_str())),
    );
    let mut encoded = String::new();
    for (k, v) in &pairs {
        if !encoded.is_empty() {
            encoded.push('&');
        }
        encoded.push_str(&sign::wire_encode(k));
        encoded.push('=');
        encoded.push_str(&sign::wire_encode(v));
    }
    encoded.push_str("&signature=");
    encoded.push_str(&sign::wire_encode(&signature));
    let method = match opts.method {
        MethodPolicy::Get => Method::Get,
        MethodPolicy::Post => Method::Post,
        MethodPolicy::Auto => {
            let sensitive = params.iter().any(|(k, _)| {
                ["userdata", "password"]
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(k))
            });
            if sensitive || encoded.len() > opts.post_threshold {
                Method::Post
            } else {
                Method::Get
            }
        }
    };
    Ok(PreparedRequest { method, encoded })
}

/// Decodes an `application/x-www-form-urlencoded` string (`+` is a space) into pairs, as a servlet
/// container does. Invalid escapes are kept literally; invalid UTF-8 is replaced.
pub fn form_decode(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|t| !t.is_empty())
        .map(|t| {
            let (k, v) = t.split_once('=').unwrap_or((t, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// Percent-decodes `s` (optionally treating `+` as a space).
pub fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    b.get(i + 1).copied().and_then(hex),
                    b.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_v3() -> SignOptions {
        SignOptions {
            signature_v3: false,
            ..Default::default()
        }
    }

    #[test]
    fn signed_get_matches_vector_and_roundtrips() {
        let req = prepare(
            "listZones",
            &Params::new(),
            "apiKey",
            b"secretKey",
            &no_v3(),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        let decoded = form_decode(&req.encoded);
        let sig = decoded
            .iter()
            .find(|(k, _)| k == "signature")
            .unwrap()
            .1
            .clone();
        assert_eq!(
            sig,
            sign::sign(
                SignatureAlgorithm::HmacSha1,
                b"secretKey",
                decoded.iter().map(|(k, v)| (k.as_str(), v.as_str()))
            )
        );
    }

    #[test]
    fn v3_adds_expires() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_404_664_839);
        let req = prepare(
            "listZones",
            &Params::new(),
            "k",
            b"s",
            &SignOptions::default(),
            now,
        )
        .unwrap();
        assert!(
            req.encoded
                .contains("signatureVersion=3&expires=2014-07-06T16%3A45%3A39%2B0000"),
            "{}",
            req.encoded
        );
    }

    #[test]
    fn reserved_names_rejected() {
        for name in [
            "apikey",
            "APIKEY",
            "signature",
            "Command",
            "response",
            "expires",
            "signatureVersion",
        ] {
            let e = prepare(
                "x",
                &Params::new().set(name, "1"),
                "k",
                b"s",
                &no_v3(),
                SystemTime::UNIX_EPOCH,
            )
            .unwrap_err();
            assert!(matches!(e, Error::InvalidRequest { .. }), "{name}");
        }
    }

    #[test]
    fn post_for_userdata_and_long() {
        let p = Params::new().set("userdata", "aGVsbG8=");
        assert_eq!(
            prepare(
                "deployVirtualMachine",
                &p,
                "k",
                b"s",
                &no_v3(),
                SystemTime::UNIX_EPOCH
            )
            .unwrap()
            .method,
            Method::Post
        );
        let p = Params::new().set("url", "x".repeat(3000));
        assert_eq!(
            prepare(
                "registerTemplate",
                &p,
                "k",
                b"s",
                &no_v3(),
                SystemTime::UNIX_EPOCH
            )
            .unwrap()
            .method,
            Method::Post
        );
        let opts = SignOptions {
            method: MethodPolicy::Get,
            ..no_v3()
        };
        assert_eq!(
            prepare(
                "registerTemplate",
                &p,
                "k",
                b"s",
                &opts,
                SystemTime::UNIX_EPOCH
            )
            .unwrap()
            .method,
            Method::Get
        );
    }

    #[test]
    fn names_never_twice() {
        let p = Params::new().set("name", "a").set("NAME", "b");
        let req = prepare("x", &p, "k", b"s", &no_v3(), SystemTime::UNIX_EPOCH).unwrap();
        let names: Vec<String> = form_decode(&req.encoded)
            .into_iter()
            .map(|(k, _)| k.to_lowercase())
            .collect();
        let mut uniq = names.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(names.len(), uniq.len());
    }

    #[test]
    fn decode_forms() {
        assert_eq!(percent_decode("a+b%2Bc%7e%zz%4", true), "a b+c~%zz%4");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(
            form_decode("a=1&b&c=x%3Dy&"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "".into()),
                ("c".into(), "x=y".into())
            ]
        );
        assert_eq!(percent_decode("%C3%A9", true), "é");
    }

    #[test]
    fn debug_hides_signed_form() {
        let req = prepare(
            "listZones",
            &Params::new(),
            "k",
            b"s",
            &no_v3(),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        assert!(!format!("{req:?}").contains("signature"));
    }
}
