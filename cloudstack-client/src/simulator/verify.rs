//! The simulator's own signature check, written from the server's algorithm
//! (`ApiServer.verifyRequest`) and sharing no code with the client's [`crate::sign`] module, so a
//! signing bug in the client shows up as a 401 here instead of being repeated.
//!
//! Sans-IO: the request's parameter map (after the servlet's decoding, see `request.rs`), the
//! configured keys and a clock reading in; a verdict out.
//!
//! The algorithm, as the server runs it:
//! 1. every parameter except the one named `signature` (ignoring case) is signed, in the order of
//!    its raw name under Java's `String.compareTo` (UTF-16 code units, uppercase before lowercase);
//! 2. each is `name=` + `java.net.URLEncoder.encode(value, "UTF-8")` with `+` turned into `%20`;
//!    the name is not encoded;
//! 3. joined with `&`, the whole string lowercased (`String.toLowerCase`);
//! 4. HMAC-SHA1 keyed with the secret's bytes, standard base64, compared in constant time with
//!    the `signature` value. (Clouds that disabled the legacy algorithm accept HMAC-SHA512; the
//!    simulator accepts both.)
//! 5. With `signatureVersion` (ignoring case) equal to `3`, `expires` must parse
//!    (`DateUtil.parseTZDateString`) and not be in the past.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

/// The bytes `java.net.URLEncoder` leaves as they are (its `dontNeedEncoding` set, less the space
/// it turns into `+`).
const fn java_unreserved() -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = b'a';
    while c <= b'z' {
        t[c as usize] = true;
        t[(c - b'a' + b'A') as usize] = true;
        c += 1;
    }
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = true;
        d += 1;
    }
    t[b'-' as usize] = true;
    t[b'_' as usize] = true;
    t[b'.' as usize] = true;
    t[b'*' as usize] = true;
    t
}

const UNRESERVED: [bool; 256] = java_unreserved();
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// `URLEncoder.encode(value, "UTF-8").replaceAll("\\+", "%20")`: a space becomes `+` and then
/// `%20`, a literal `+` becomes `%2B`, every byte outside the table is `%XX`.
fn url_encoder(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for &b in value.as_bytes() {
        if UNRESERVED[b as usize] {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out.replace('+', "%20")
}

/// `Collections.sort` on names: `String.compareTo`, UTF-16 code unit by code unit.
fn java_string_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The string the server MACs, from the request's parameter map (one value per name).
pub(crate) fn unsigned_request(params: &BTreeMap<String, String>) -> String {
    let mut names: Vec<&String> = params
        .keys()
        .filter(|n| !n.eq_ignore_ascii_case("signature"))
        .collect();
    names.sort_by(|a, b| java_string_order(a, b));
    let joined = names
        .iter()
        .map(|n| format!("{n}={}", url_encoder(&params[*n])))
        .collect::<Vec<_>>()
        .join("&");
    joined.to_lowercase()
}

fn base64_mac<M: Mac + KeyInit>(secret: &[u8], msg: &str) -> Option<String> {
    let mut mac = <M as KeyInit>::new_from_slice(secret).ok()?;
    mac.update(msg.as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// Why a request failed verification (the server answers all of them with the same 401; the
/// reason goes to the simulator's log only, as it goes to the server's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No parameter named exactly `command`.
    NoCommand,
    /// No `apiKey` or no `signature`.
    Unsigned,
    /// The API key is not the simulator's.
    UnknownKey,
    /// `signatureVersion=3` without a parseable `expires`, or one in the past.
    Expired,
    /// The command is not one the server knows (looked up case-sensitively).
    UnknownCommand,
    /// The signature is not the MAC of the request.
    BadSignature,
}

/// `ApiServer.verifyRequest` for an API-key request, in the server's order of checks.
pub(crate) fn verify_request(
    params: &BTreeMap<String, String>,
    api_key: &str,
    secret_key: &str,
    known_command: impl Fn(&str) -> bool,
    now: SystemTime,
) -> Result<(), Refusal> {
    let Some(command) = params.get("command") else {
        return Err(Refusal::NoCommand);
    };
    let find = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let (Some(key), Some(signature)) = (find("apikey"), find("signature")) else {
        return Err(Refusal::Unsigned);
    };
    if find("signatureversion") == Some("3") {
        match find("expires").and_then(parse_tz_date) {
            Some(t) if t >= now => {}
            _ => return Err(Refusal::Expired),
        }
    }
    if key != api_key {
        return Err(Refusal::UnknownKey);
    }
    if !known_command(command) {
        return Err(Refusal::UnknownCommand);
    }
    let msg = unsigned_request(params);
    let secret = secret_key.as_bytes();
    let matches = |computed: Option<String>| {
        computed.is_some_and(|c| bool::from(signature.as_bytes().ct_eq(c.as_bytes())))
    };
    // HMAC-SHA512 is computed only when HMAC-SHA1 does not match: which algorithm a client
    // uses is no secret, and the common request costs one MAC
    if matches(base64_mac::<hmac::Hmac<sha1::Sha1>>(secret, &msg))
        || matches(base64_mac::<hmac::Hmac<sha2::Sha512>>(secret, &msg))
    {
        Ok(())
    } else {
        Err(Refusal::BadSignature)
    }
}

/// `DateUtil.parseTZDateString`: `yyyy-MM-dd'T'HH:mm:ss` with an optional fraction, then `Z`,
/// `±hh:mm`, `±hhmm` or the legacy `Z±hhmm`. Day and second overflow roll forward as Java's
/// lenient calendar does.
pub(crate) fn parse_tz_date(text: &str) -> Option<SystemTime> {
    let (date, rest) = text.split_at_checked(10)?;
    let rest = rest.strip_prefix('T')?;
    let (clock, mut zone) = rest.split_at_checked(8)?;
    let field = |s: &str, len: usize| -> Option<i64> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut d = date.split('-');
    let (y, mo, day) = (
        field(d.next()?, 4)?,
        field(d.next()?, 2)?,
        field(d.next()?, 2)?,
    );
    let mut c = clock.split(':');
    let (h, mi, s) = (
        field(c.next()?, 2)?,
        field(c.next()?, 2)?,
        field(c.next()?, 2)?,
    );
    if d.next().is_some() || c.next().is_some() {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    if let Some(f) = zone.strip_prefix('.') {
        let digits = f.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = &f[digits..];
    }
    let offset = match zone {
        "Z" => 0,
        z => {
            let z = z.strip_prefix('Z').unwrap_or(z);
            let sign = match z.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let body = &z[1..];
            let (oh, om) = match body.len() {
                4 => (field(&body[..2], 2)?, field(&body[2..], 2)?),
                5 if body.as_bytes()[2] == b':' => (field(&body[..2], 2)?, field(&body[3..], 2)?),
                _ => return None,
            };
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_since_epoch(y, mo)? + day - 1;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s - offset;
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

/// Days from 1970-01-01 to the first day of month `m` of year `y` (proleptic Gregorian).
fn days_since_epoch(y: i64, m: i64) -> Option<i64> {
    let date = time::Date::from_calendar_date(
        i32::try_from(y).ok()?,
        time::Month::try_from(u8::try_from(m).ok()?).ok()?,
        1,
    )
    .ok()?;
    Some(i64::from(date.to_julian_day()) - 2_440_588)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn mac(secret: &str, params: &BTreeMap<String, String>) -> String {
        base64_mac::<hmac::Hmac<sha1::Sha1>>(secret.as_bytes(), &unsigned_request(params)).unwrap()
    }

    /// Published vectors (research notes V1, V2, V7, V8, V9; their sources are the CloudStack
    /// developer guide, jclouds' QuerySignerTest and exoscale/cs's tests).
    #[test]
    fn published_vectors() {
        let v1 = map(&[
            ("command", "listUsers"),
            ("response", "json"),
            (
                "apikey",
                "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg",
            ),
        ]);
        assert_eq!(
            mac(
                "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ",
                &v1
            ),
            "TTpdDq/7j/J58XCRHomKoQXEQds="
        );
        let v2 = map(&[("command", "listZones"), ("apiKey", "apiKey")]);
        assert_eq!(mac("secretKey", &v2), "2UG8AcnMaozL3BINdjgkJ+RzjEY=");
        let v7 = map(&[
            ("apiKey", "foo"),
            ("command", "listVirtualMachines"),
            ("response", "json"),
            ("zoneId", "2"),
            ("templateId", "3"),
            ("temPlateidd", "4"),
            ("pageSize", "10"),
            ("page", "1"),
        ]);
        assert_eq!(
            unsigned_request(&v7),
            "apikey=foo&command=listvirtualmachines&page=1&pagesize=10&response=json&templateidd=4&templateid=3&zoneid=2"
        );
        assert_eq!(mac("bar", &v7), "mMS7XALuGkCXk7kj5SywySku0Z0=");
        let v8 = map(&[
            ("apiKey", "foo"),
            ("command", "listVirtualMachines"),
            ("response", "json"),
            ("listall", "1"),
            ("unicode_param", "\u{e9}\u{e8}\u{e0}\u{e0}\u{fb}"),
        ]);
        assert_eq!(mac("bar", &v8), "gABU/KFJKD3FLAgKDuxQoryu4sA=");
        let v9 = map(&[
            ("apiKey", "foo"),
            ("command", "listVirtualMachines"),
            ("response", "json"),
            ("foo", "foo,bar"),
            ("bar[0].baz", "blah"),
            ("bar[0].foo", "1000"),
            ("bytes_param", "blah"),
        ]);
        assert_eq!(mac("bar", &v9), "ImJ/5F0P2RDL7yn4LdLnGcEx5WE=");
    }

    #[test]
    fn encoder_corners() {
        assert_eq!(
            url_encoder("a b*c~d+e/f:g=h&i%j\u{e9}"),
            "a%20b*c%7Ed%2Be%2Ff%3Ag%3Dh%26i%25j%C3%A9"
        );
    }

    #[test]
    fn expires_forms() {
        let t = |s: &str| parse_tz_date(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        let want = Some(1_404_632_439); // 2014-07-06T07:40:39Z
        assert_eq!(t("2014-07-06T16:40:39+0900"), want);
        assert_eq!(t("2014-07-06T16:40:39+09:00"), want);
        assert_eq!(t("2014-07-06T07:40:39Z"), want);
        assert_eq!(t("2014-07-06T07:40:39.123456Z"), want);
        assert_eq!(t("2014-07-06T07:40:39Z+0000"), want);
        assert_eq!(t("2014-07-06 07:40:39Z"), None);
        assert_eq!(t("2014-07-06T07:40:39"), None);
        assert_eq!(t("2014-13-06T07:40:39Z"), None);
        assert_eq!(t("2014-02-31T00:00:00Z"), t("2014-03-03T00:00:00Z"));
    }

    #[test]
    fn order_of_checks() {
        let known = |c: &str| c == "listZones";
        let now = SystemTime::now();
        let signed = |pairs: &[(&str, &str)]| {
            let mut m = map(pairs);
            let sig = mac("s", &m);
            m.insert("signature".into(), sig);
            m
        };
        let ok = signed(&[("command", "listZones"), ("apiKey", "k")]);
        assert_eq!(verify_request(&ok, "k", "s", known, now), Ok(()));
        let wrong_case = signed(&[("command", "listzones"), ("apiKey", "k")]);
        assert_eq!(
            verify_request(&wrong_case, "k", "s", known, now),
            Err(Refusal::UnknownCommand)
        );
        let cap = signed(&[("Command", "listZones"), ("apiKey", "k")]);
        assert_eq!(
            verify_request(&cap, "k", "s", known, now),
            Err(Refusal::NoCommand)
        );
        let mut bad = ok.clone();
        bad.insert("signature".into(), "AAAA".into());
        assert_eq!(
            verify_request(&bad, "k", "s", known, now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify_request(&ok, "other", "s", known, now),
            Err(Refusal::UnknownKey)
        );
        let old = signed(&[
            ("command", "listZones"),
            ("apiKey", "k"),
            ("signatureVersion", "3"),
            ("expires", "2014-07-06T16:40:39+0900"),
        ]);
        assert_eq!(
            verify_request(&old, "k", "s", known, now),
            Err(Refusal::Expired)
        );
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z][a-zA-Z0-9_.\\[\\]é]{0,12}"
    }

    proptest! {
        /// The client's signer and this verifier agree on every parameter set: names that differ
        /// only by case, brackets, non-ASCII names and arbitrary Unicode values.
        #[test]
        fn client_signer_and_verifier_agree(
            params in proptest::collection::btree_map(name(), any::<String>(), 0..8),
            secret in "[ -~]{1,80}",
            sha512 in any::<bool>(),
        ) {
            let mut params = params;
            params.retain(|k, _| !k.eq_ignore_ascii_case("signature")
                && !k.eq_ignore_ascii_case("signatureversion"));
            params.insert("command".into(), "listZones".into());
            params.insert("apiKey".into(), "key".into());
            let alg = if sha512 {
                crate::sign::SignatureAlgorithm::HmacSha512
            } else {
                crate::sign::SignatureAlgorithm::HmacSha1
            };
            let signature = crate::sign::sign(
                alg,
                secret.as_bytes(),
                params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
            params.insert("signature".into(), signature);
            prop_assert_eq!(
                verify_request(&params, "key", &secret, |c| c == "listZones", SystemTime::now()),
                Ok(())
            );
            // and a changed value is refused
            params.insert("apiKey".into(), "key".into());
            params.insert("~extra".into(), "tampered".into());
            prop_assert_eq!(
                verify_request(&params, "key", &secret, |c| c == "listZones", SystemTime::now()),
                Err(Refusal::BadSignature)
            );
        }
    }
}
