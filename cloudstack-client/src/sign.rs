//! Request signing exactly as the CloudStack server verifies it (`ApiServer.verifyRequest`).
//!
//! Sans-IO: every function here takes values (and a clock reading) and returns strings.
//!
//! The string to sign is built from the *logical* (decoded) parameter values:
//! 1. every parameter except `signature` (name compared ignoring case) takes part;
//! 2. names are sorted raw, case-sensitive, by UTF-16 code units (Java `String.compareTo`);
//! 3. each pair is `name=value` with the name verbatim and the value encoded like Java's
//!    `URLEncoder.encode(v, "UTF-8")` with `+` replaced by `%20` ([`java_urlencode`]);
//! 4. pairs are joined with `&` and the whole string is lowercased;
//! 5. the MAC is HMAC-SHA1 (or HMAC-SHA512) keyed with the secret, encoded as standard base64.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use time::macros::{datetime, format_description};
use time::{Date, Month, OffsetDateTime};

/// The MAC algorithm used for the request signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// HMAC-SHA1, accepted by every CloudStack release (the default).
    #[default]
    HmacSha1,
    /// HMAC-SHA512, for clouds that disabled legacy algorithms.
    HmacSha512,
}

impl std::str::FromStr for SignatureAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "hmacsha1" | "sha1" => Ok(Self::HmacSha1),
            "hmacsha512" | "sha512" => Ok(Self::HmacSha512),
            other => Err(format!(
                "unknown signature algorithm {other:?} (expected HmacSHA1 or HmacSHA512)"
            )),
        }
    }
}

/// Encodes a value like `java.net.URLEncoder.encode(value, "UTF-8").replaceAll("\\+", "%20")`.
///
/// `A-Z a-z 0-9 . - * _` are kept, a space becomes `%20`, every other byte of the UTF-8 form becomes
/// `%XX` with uppercase hex — including `~`, which RFC 3986 encoders leave alone.
///
/// # Examples
/// ```
/// use cloudstack_client::sign::java_urlencode;
/// assert_eq!(java_urlencode("a b*c~d+e/f"), "a%20b*c%7Ed%2Be%2Ff");
/// ```
pub fn java_urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push_str("%20"),
            _ => push_pct(&mut out, b),
        }
    }
    out
}

/// Percent-encodes a value for the wire (RFC 3986: only unreserved characters kept).
///
/// The wire encoding is independent of the signing encoding: the server decodes the wire form and
/// re-encodes it with Java's rules before computing the MAC.
pub fn wire_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => push_pct(&mut out, b),
        }
    }
    out
}

fn push_pct(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 15)] as char);
}

/// Compares two names the way Java's `String.compareTo` does (UTF-16 code units).
fn java_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Builds the exact string the server feeds to the MAC, from logical `(name, value)` pairs.
///
/// Pairs named `signature` (any case) are skipped. When a name occurs twice only its first value is
/// used, as the server does; [`crate::Params`] never produces duplicates.
///
/// # Examples
/// ```
/// use cloudstack_client::sign::string_to_sign;
/// let s = string_to_sign([("command", "listZones"), ("apiKey", "k"), ("response", "json")]);
/// assert_eq!(s, "apikey=k&command=listzones&response=json");
/// ```
pub fn string_to_sign<'a, I, K, V>(params: I) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str> + 'a,
    V: AsRef<str> + 'a,
{
    let mut pairs: Vec<(K, V)> = params
        .into_iter()
        .filter(|(k, _)| !k.as_ref().eq_ignore_ascii_case("signature"))
        .collect();
    pairs.sort_by(|a, b| java_cmp(a.0.as_ref(), b.0.as_ref()));
    pairs.dedup_by(|later, first| later.0.as_ref() == first.0.as_ref());
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k.as_ref());
        out.push('=');
        out.push_str(&java_urlencode(v.as_ref()));
    }
    out.to_lowercase()
}

/// Computes the base64 MAC of an already-built string to sign.
///
/// # Examples
/// ```
/// use cloudstack_client::sign::{mac_base64, SignatureAlgorithm};
/// let sig = mac_base64(SignatureAlgorithm::HmacSha1, b"secretKey", "apikey=apikey&command=listzones");
/// assert_eq!(sig, "2UG8AcnMaozL3BINdjgkJ+RzjEY=");
/// ```
pub fn mac_base64(alg: SignatureAlgorithm, secret: &[u8], string_to_sign: &str) -> String {
    let mac = match alg {
        SignatureAlgorithm::HmacSha1 => hmac::<sha1::Sha1>(secret, string_to_sign.as_bytes()),
        SignatureAlgorithm::HmacSha512 => hmac::<sha2::Sha512>(secret, string_to_sign.as_bytes()),
    };
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// Signs logical `(name, value)` pairs: [`string_to_sign`] then [`mac_base64`].
pub fn sign<'a, I, K, V>(alg: SignatureAlgorithm, secret: &[u8], params: I) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str> + 'a,
    V: AsRef<str> + 'a,
{
    mac_base64(alg, secret, &string_to_sign(params))
}

/// HMAC (RFC 2104) of `msg` under `key`, from the `hmac` crate (a key longer than the digest's
/// block is hashed first, as the server's `javax.crypto.Mac` does).
fn hmac<D: hmac::EagerHash>(key: &[u8], msg: &[u8]) -> Vec<u8>
where
    hmac::Hmac<D>: hmac::Mac + hmac::KeyInit,
{
    use hmac::Mac as _;
    let mut mac = <hmac::Hmac<D> as hmac::KeyInit>::new_from_slice(key)
        .expect("HMAC takes keys of any length (a long key is hashed first)");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time string comparison (as the server's `ConstantTimeComparator`), from the `subtle`
/// crate: the time taken does not depend on where the strings differ (only on their lengths).
///
/// # Examples
/// ```
/// use cloudstack_client::sign::constant_time_eq;
/// assert!(constant_time_eq("2UG8AcnMaozL3BINdjgkJ+RzjEY=", "2UG8AcnMaozL3BINdjgkJ+RzjEY="));
/// assert!(!constant_time_eq("2UG8AcnMaozL3BINdjgkJ+RzjEY=", "2UG8AcnMaozL3BINdjgkJ+RzjEZ="));
/// assert!(!constant_time_eq("abc", "ab"));
/// ```
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The latest instant [`format_expires`] renders: `9999-12-31T23:59:59+0000`.
const MAX_EXPIRES_SECS: i64 = datetime!(9999-12-31 23:59:59 UTC).unix_timestamp();

/// Formats the `expires` value for `signatureVersion=3`: `yyyy-MM-dd'T'HH:mm:ss+0000` (UTC), the only
/// form every server version parses.
///
/// A time before the Unix epoch is written as the epoch (`1970-01-01T00:00:00+0000`, long expired
/// either way) and one after the last four-digit year as `9999-12-31T23:59:59+0000`, so the value is
/// always in that form and the call never panics.
///
/// # Examples
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use cloudstack_client::sign::format_expires;
/// assert_eq!(format_expires(UNIX_EPOCH + Duration::from_secs(1_404_664_839)), "2014-07-06T16:40:39+0000");
/// ```
pub fn format_expires(at: SystemTime) -> String {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .min(MAX_EXPIRES_SECS);
    // 1970..=9999 is inside the `time` crate's range, so the fallback is never taken.
    OffsetDateTime::from_unix_timestamp(secs)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
        ))
        // Formatting fails only for a field the value lacks (an `OffsetDateTime` has them all) or a
        // year beyond ±9999 (clamped away above).
        .expect("a UTC date-time with a four-digit year formats")
}

/// Parses an `expires` value the way current servers do (`DateUtil.parseTZDateString`):
/// `2014-07-06T16:40:39+0900`, `…+09:00`, `…Z`, optional fraction, and the legacy `…Z+0000`.
/// Returns `None` when the value does not parse (the server then rejects the request).
///
/// Month `01`–`12`, day `01`–`31`, hour `00`–`23`, minute `00`–`59` and second `00`–`60` are
/// accepted; a day past the end of its month rolls over into the next (`2014-02-31` is 2014-03-03)
/// and second `60` into the next minute. A value before the Unix epoch gives `None`.
pub fn parse_expires(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let month = Month::try_from(u8::try_from(mo).ok()?).ok()?;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    if let Some(r) = rest.strip_prefix("Z") {
        rest = r;
        if rest.is_empty() {
            rest = "+0000";
        }
    }
    let sign = match rest.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let off = &rest[1..];
    let (oh, om) = match off.len() {
        4 if off.bytes().all(|c| c.is_ascii_digit()) => {
            (off[..2].parse::<i64>().ok()?, off[2..].parse::<i64>().ok()?)
        }
        5 if off.as_bytes()[2] == b':' => {
            (off[..2].parse::<i64>().ok()?, off[3..].parse::<i64>().ok()?)
        }
        _ => return None,
    };
    // Midnight on the first of the month, then the rest as a plain count of seconds: that is what
    // lets day 31 of a shorter month and second 60 roll over instead of failing.
    let first = Date::from_calendar_date(i32::try_from(y).ok()?, month, 1).ok()?;
    let secs =
        first.midnight().assume_utc().unix_timestamp() + (d - 1) * 86_400 + h * 3600 + mi * 60 + se
            - sign * (oh * 3600 + om * 60);
    u64::try_from(secs)
        .ok()
        .map(|s| UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1: SignatureAlgorithm = SignatureAlgorithm::HmacSha1;

    // The hand-rolled calendar (Howard Hinnant's civil-from-days and days-from-civil algorithms) and
    // the `expires` formatting and parsing built on it that this module used before the `time`
    // crate, kept verbatim here only as an independent reference for the comparisons below.

    fn civil_from_days(z: i64) -> (i64, u32, u32) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    fn reference_format_expires(at: SystemTime) -> String {
        let secs = at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}+0000",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }

    fn reference_parse_expires(s: &str) -> Option<SystemTime> {
        let b = s.as_bytes();
        if b.len() < 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let t = s.get(r)?;
            if t.bytes().all(|c| c.is_ascii_digit()) {
                t.parse().ok()
            } else {
                None
            }
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            rest = &frac[n..];
        }
        if let Some(r) = rest.strip_prefix("Z") {
            rest = r;
            if rest.is_empty() {
                rest = "+0000";
            }
        }
        let sign = match rest.as_bytes().first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let off = &rest[1..];
        let (oh, om) = match off.len() {
            4 if off.bytes().all(|c| c.is_ascii_digit()) => {
                (off[..2].parse::<i64>().ok()?, off[2..].parse::<i64>().ok()?)
            }
            5 if off.as_bytes()[2] == b':' => {
                (off[..2].parse::<i64>().ok()?, off[3..].parse::<i64>().ok()?)
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + h * 3600 + mi * 60 + se - sign * (oh * 3600 + om * 60);
        u64::try_from(secs)
            .ok()
            .map(|s| UNIX_EPOCH + Duration::from_secs(s))
    }

    /// `format_expires` of `secs` equals the reference's, and both parsers read it (and the same
    /// instant written with a `Z`, a fraction or another offset) back to it.
    fn assert_expires_match_reference(secs: u64) {
        let t = UNIX_EPOCH + Duration::from_secs(secs);
        let text = format_expires(t);
        assert_eq!(text, reference_format_expires(t), "{secs}");
        let shifted = format_expires(t + Duration::from_secs(9 * 3600 + 30 * 60));
        let zulu = text.replace("+0000", "Z");
        let variants = [
            text.clone(),
            zulu.clone(),
            zulu.replace('Z', ".250Z"),
            format!("{zulu}+0000"),
            text.replace("+0000", "+00:00"),
            shifted.replace("+0000", "+0930"),
            shifted.replace("+0000", "+09:30"),
        ];
        for v in variants {
            assert_eq!(parse_expires(&v), Some(t), "{v}");
            assert_eq!(reference_parse_expires(&v), Some(t), "{v}");
        }
    }

    fn check(secret: &str, params: &[(&str, &str)], want_sts: &str, want_sig: &str) {
        let sts = string_to_sign(params.iter().copied());
        assert_eq!(sts, want_sts);
        assert_eq!(
            sign(SHA1, secret.as_bytes(), params.iter().copied()),
            want_sig
        );
    }

    /// V1: apache/cloudstack-documentation, source/developersguide/dev.rst (Python walk-through).
    #[test]
    fn v1_cloudstack_docs() {
        check(
            "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ",
            &[
                ("command", "listUsers"),
                ("response", "json"),
                (
                    "apikey",
                    "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg",
                ),
            ],
            "apikey=plgwjfzk4gys3momtvmjuvg-x-jlwlnfauj9gabbbf9edm-kaymmailqzzq1elzlyq_u38zcm0bewzgudp66mg&command=listusers&response=json",
            "TTpdDq/7j/J58XCRHomKoQXEQds=",
        );
        assert_eq!(
            wire_encode("TTpdDq/7j/J58XCRHomKoQXEQds="),
            "TTpdDq%2F7j%2FJ58XCRHomKoQXEQds%3D"
        );
    }

    /// V2: jclouds apis/cloudstack/src/test/java/org/jclouds/cloudstack/filters/QuerySignerTest.java testFilter.
    #[test]
    fn v2_jclouds_query_signer() {
        check(
            "secretKey",
            &[("command", "listZones"), ("apiKey", "apiKey")],
            "apikey=apikey&command=listzones",
            "2UG8AcnMaozL3BINdjgkJ+RzjEY=",
        );
    }

    /// V3–V5: apache/libcloud libcloud/test/common/test_cloudstack.py test_signature_algorithm.
    #[test]
    fn v3_v5_libcloud() {
        check(
            "abracadabra",
            &[
                ("command", "listVirtualMachines"),
                ("apiKey", "fnord"),
                ("response", "json"),
            ],
            "apikey=fnord&command=listvirtualmachines&response=json",
            "z/a9Y7J52u48VpqIgiwaGUMCso0=",
        );
        let deploy = |display: &'static str| {
            vec![
                ("command", "deployVirtualMachine"),
                ("name", "fred"),
                ("displayname", display),
                ("serviceofferingid", "5"),
                ("templateid", "17"),
                ("zoneid", "23"),
                ("networkids", "42"),
                ("apiKey", "fnord"),
                ("response", "json"),
            ]
        };
        check(
            "abracadabra",
            &deploy("George"),
            "apikey=fnord&command=deployvirtualmachine&displayname=george&name=fred&networkids=42&response=json&serviceofferingid=5&templateid=17&zoneid=23",
            "gHTo7mYmadZ+zluKHzlEKb1i/QU=",
        );
        check(
            "abracadabra",
            &deploy("George+Ringo"),
            "apikey=fnord&command=deployvirtualmachine&displayname=george%2bringo&name=fred&networkids=42&response=json&serviceofferingid=5&templateid=17&zoneid=23",
            "tAgfrreI1ZvWlWLClD3gu4+aKv4=",
        );
    }

    /// V6–V12: exoscale/cs tests.py (test_request_params, _casing, test_encoding, test_transform,
    /// test_transform_dict, test_transform_empty, test_method).
    #[test]
    fn v6_v12_exoscale_cs() {
        let base = [
            ("apiKey", "foo"),
            ("command", "listVirtualMachines"),
            ("response", "json"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            base.iter().chain(extra).copied().collect::<Vec<_>>()
        };
        check(
            "bar",
            &with(&[("listall", "true")]),
            "apikey=foo&command=listvirtualmachines&listall=true&response=json",
            "B0d6hBsZTcFVCiioSxzwKA9Pke8=",
        );
        check(
            "bar",
            &with(&[
                ("zoneId", "2"),
                ("templateId", "3"),
                ("temPlateidd", "4"),
                ("pageSize", "10"),
                ("page", "1"),
            ]),
            "apikey=foo&command=listvirtualmachines&page=1&pagesize=10&response=json&templateidd=4&templateid=3&zoneid=2",
            "mMS7XALuGkCXk7kj5SywySku0Z0=",
        );
        check(
            "bar",
            &with(&[
                ("listall", "1"),
                ("unicode_param", "\u{e9}\u{e8}\u{e0}\u{e0}\u{fb}"),
            ]),
            "apikey=foo&command=listvirtualmachines&listall=1&response=json&unicode_param=%c3%a9%c3%a8%c3%a0%c3%a0%c3%bb",
            "gABU/KFJKD3FLAgKDuxQoryu4sA=",
        );
        check(
            "bar",
            &with(&[
                ("foo", "foo,bar"),
                ("bar[0].baz", "blah"),
                ("bar[0].foo", "1000"),
                ("bytes_param", "blah"),
            ]),
            "apikey=foo&bar[0].baz=blah&bar[0].foo=1000&bytes_param=blah&command=listvirtualmachines&foo=foo%2cbar&response=json",
            "ImJ/5F0P2RDL7yn4LdLnGcEx5WE=",
        );
        check(
            "bar",
            &[
                ("apiKey", "foo"),
                ("command", "scaleVirtualMachine"),
                ("response", "json"),
                ("id", "a"),
                ("details[0].cpunumber", "1000"),
                ("details[0].memory", "640k"),
            ],
            "apikey=foo&command=scalevirtualmachine&details[0].cpunumber=1000&details[0].memory=640k&id=a&response=json",
            "ZNl66z3gFhnsx2Eo3vvCIM0kAgI=",
        );
        check(
            "bar",
            &[
                ("apiKey", "foo"),
                ("command", "createNetwork"),
                ("response", "json"),
                ("name", ""),
                ("display_text", ""),
            ],
            "apikey=foo&command=createnetwork&display_text=&name=&response=json",
            "CistTEiPt/4Rv1v4qSyILvPbhmg=",
        );
        check(
            "bar",
            &with(&[("blah", "brah")]),
            "apikey=foo&blah=brah&command=listvirtualmachines&response=json",
            "58VvLSaVUqHnG9DhXNOAiDFwBoA=",
        );
    }

    /// V7 counter-check: lowercasing before sorting gives exoscale/cs's old, wrong signature.
    #[test]
    fn v7_sort_before_lowercase() {
        let wrong = mac_base64(
            SHA1,
            b"bar",
            "apikey=foo&command=listvirtualmachines&page=1&pagesize=10&response=json&templateid=3&templateidd=4&zoneid=2",
        );
        assert_eq!(wrong, "GN/H2DT9Phd/s9djmht3lJxsAts=");
        assert_ne!(wrong, "mMS7XALuGkCXk7kj5SywySku0Z0=");
    }

    /// V13/V14: apache/cloudstack-cloudmonkey cmd/network_test.go TestSignRequestHmacSHA1/HmacSHA512.
    #[test]
    fn v13_v14_cloudmonkey() {
        let p = [
            ("apikey", "abc"),
            ("command", "listZones"),
            ("response", "json"),
        ];
        assert_eq!(sign(SHA1, b"secret", p), "tcMI1Kpm20pLhrrVYtCCcualuBU=");
        assert_eq!(
            sign(SignatureAlgorithm::HmacSha512, b"secret", p),
            "/JUUf9SPvNd0sjdbfIxsCxYItNUlGauI+T71cOhHd5fYffHuVAXIba9RzFBK+empezGCzlhw4+R9LFri3CG+oQ=="
        );
    }

    /// Derived regression vectors (computed by the research re-implementation of verifyRequest, not a
    /// public suite): v3 + expires, encoder corners, an IDCF-style registerTemplate.
    #[test]
    fn derived_vectors() {
        check(
            "bar",
            &[
                ("apiKey", "foo"),
                ("command", "listZones"),
                ("response", "json"),
                ("signatureVersion", "3"),
                ("expires", "2014-07-06T16:40:39+0900"),
            ],
            "apikey=foo&command=listzones&expires=2014-07-06t16%3a40%3a39%2b0900&response=json&signatureversion=3",
            "lbDOJL+O1iSxyAf0RJ+F5hJPako=",
        );
        check(
            "bar",
            &[
                ("apiKey", "foo"),
                ("command", "listTemplates"),
                ("response", "json"),
                ("keyword", "a b*c~d+e/f:g=h&i%j"),
            ],
            "apikey=foo&command=listtemplates&keyword=a%20b*c%7ed%2be%2ff%3ag%3dh%26i%25j&response=json",
            "bbf9FW3dfc0WXk8i2i5nK3aCsZ4=",
        );
        check(
            "bar",
            &[
                ("apiKey", "foo"),
                ("command", "registerTemplate"),
                ("response", "json"),
                ("name", "centos65-ova"),
                ("displaytext", "CentOS 6.5 OVA"),
                ("format", "OVA"),
                ("hypervisor", "VMware"),
                ("ostypeid", "112"),
                ("zoneid", "1"),
                ("isextractable", "true"),
                ("passwordenabled", "true"),
                ("url", "http://example.com/images/centos65.ova"),
            ],
            "apikey=foo&command=registertemplate&displaytext=centos%206.5%20ova&format=ova&hypervisor=vmware&isextractable=true&name=centos65-ova&ostypeid=112&passwordenabled=true&response=json&url=http%3a%2f%2fexample.com%2fimages%2fcentos65.ova&zoneid=1",
            "lAUH/MDsd3ywNkkqogIs0UlR1OU=",
        );
    }

    #[test]
    fn signature_param_excluded_any_case() {
        let a = string_to_sign([("command", "x"), ("Signature", "zzz"), ("apiKey", "k")]);
        assert_eq!(a, "apikey=k&command=x");
    }

    #[test]
    fn java_encoder_every_byte() {
        for b in 0u8..=127 {
            let s = (b as char).to_string();
            let e = java_urlencode(&s);
            let keep = b.is_ascii_alphanumeric() || b".-*_".contains(&b);
            if keep {
                assert_eq!(e, s);
            } else {
                assert_eq!(e, format!("%{b:02X}"));
            }
        }
        assert_eq!(java_urlencode("é"), "%C3%A9");
        assert_eq!(java_urlencode("日"), "%E6%97%A5");
    }

    #[test]
    fn java_sort_is_utf16() {
        // U+FF21 sorts before U+10000 by code point, but after it by UTF-16 code unit (0xD800 < 0xFF21).
        let s = string_to_sign([("\u{ff21}", "2"), ("\u{10000}", "1")]);
        assert!(s.starts_with("\u{10000}=1&"), "{s}");
    }

    #[test]
    fn expires_roundtrip_and_forms() {
        let t = UNIX_EPOCH + Duration::from_secs(1_404_664_839);
        assert_eq!(format_expires(t), "2014-07-06T16:40:39+0000");
        assert_eq!(parse_expires("2014-07-06T16:40:39+0000"), Some(t));
        assert_eq!(parse_expires("2014-07-07T01:40:39+0900"), Some(t));
        assert_eq!(parse_expires("2014-07-07T01:40:39+09:00"), Some(t));
        assert_eq!(parse_expires("2014-07-06T16:40:39Z"), Some(t));
        assert_eq!(parse_expires("2014-07-06T16:40:39.123456Z"), Some(t));
        assert_eq!(parse_expires("2014-07-06T16:40:39Z+0000"), Some(t));
        assert_eq!(parse_expires("2014-07-06T11:40:39-0500"), Some(t));
        for bad in [
            "",
            "2014-07-06",
            "2014-07-06T16:40:39",
            "2014-13-06T16:40:39+0000",
            "2014-07-06T16:40:39+09",
            "x014-07-06T16:40:39+0000",
        ] {
            assert_eq!(parse_expires(bad), None, "{bad}");
        }
        for days in [-1000i64, 0, 59, 60, 365, 10_957, 20_000, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
    }

    /// Fixed vectors from Python's `datetime` (an oracle independent of both calendars here).
    #[test]
    fn expires_python_datetime_vectors() {
        for (secs, text) in [
            (784_111_777, "1994-11-06T08:49:37+0000"),
            (951_825_600, "2000-02-29T12:00:00+0000"),
            (1_796_511_600, "2026-12-05T23:00:00+0000"),
            (4_107_542_399, "2100-02-28T23:59:59+0000"),
            (4_107_542_400, "2100-03-01T00:00:00+0000"),
        ] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(format_expires(t), text);
            assert_eq!(parse_expires(text), Some(t));
        }
    }

    /// Every day from 1970-01-01 to 2100-12-31, at its first and last second and one in between
    /// that walks through the day, against the reference calendar.
    #[test]
    fn expires_every_day_1970_to_2100_matches_reference() {
        let last = days_from_civil(2100, 12, 31) as u64;
        assert_eq!(last, 47_846);
        for day in 0..=last {
            let start = day * 86_400;
            for secs in [start, start + day * 7919 % 86_400, start + 86_399] {
                assert_expires_match_reference(secs);
            }
        }
    }

    #[test]
    fn expires_out_of_range() {
        let max = MAX_EXPIRES_SECS as u64;
        assert_eq!(max, days_from_civil(10_000, 1, 1) as u64 * 86_400 - 1);
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(format_expires(at(max)), "9999-12-31T23:59:59+0000");
        assert_eq!(format_expires(at(max)), reference_format_expires(at(max)));
        // Later than the last four-digit year: written as its last second (the old code wrote a
        // five-digit year no server parses).
        for secs in [max + 1, 1 << 40, i64::MAX as u64] {
            if let Some(t) = UNIX_EPOCH.checked_add(Duration::from_secs(secs)) {
                assert_eq!(format_expires(t), "9999-12-31T23:59:59+0000", "{secs}");
            }
        }
        // Before the epoch: written as the epoch, as before.
        for before in [1, 86_400, 1 << 40] {
            if let Some(t) = UNIX_EPOCH.checked_sub(Duration::from_secs(before)) {
                assert_eq!(format_expires(t), "1970-01-01T00:00:00+0000");
                assert_eq!(format_expires(t), reference_format_expires(t));
            }
        }
        // The parser's extremes: the last second plus a leap second and the largest offset, and a
        // value before the epoch.
        assert_eq!(
            parse_expires("9999-12-31T23:59:60-99:99"),
            Some(at(max + 1 + 99 * 3600 + 99 * 60))
        );
        assert_eq!(parse_expires("0000-01-01T00:00:00Z"), None);
        assert_eq!(parse_expires("1969-12-31T23:59:59Z"), None);
        assert_eq!(parse_expires("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
    }

    #[test]
    fn expires_parse_rolls_over_like_before() {
        let p = |s: &str| parse_expires(s).map(format_expires);
        assert_eq!(
            p("2014-02-31T00:00:00Z").as_deref(),
            Some("2014-03-03T00:00:00+0000")
        );
        assert_eq!(
            p("2016-02-30T00:00:00+0000").as_deref(),
            Some("2016-03-01T00:00:00+0000")
        );
        assert_eq!(
            p("2014-12-31T23:59:60Z").as_deref(),
            Some("2015-01-01T00:00:00+0000")
        );
        for bad in [
            "2014-00-06T16:40:39+0000",
            "2014-07-00T16:40:39+0000",
            "2014-07-32T16:40:39+0000",
            "2014-07-06T24:40:39+0000",
            "2014-07-06T16:60:39+0000",
            "2014-07-06T16:40:61+0000",
            "2014-07-06T16:40:39.Z",
            "2014-07-06T16:40:39 +0000",
        ] {
            assert_eq!(parse_expires(bad), None, "{bad}");
            assert_eq!(reference_parse_expires(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn expires_match_reference(secs in 0..=MAX_EXPIRES_SECS as u64 - 9 * 3600 - 30 * 60) {
            assert_expires_match_reference(secs);
        }

        /// Field values in and just outside their ranges with every offset form: accepted and
        /// rejected alike, with the same instant.
        #[test]
        fn parse_fields_match_reference(
            y in 0u32..=9999,
            mo in 0u32..=13,
            d in 0u32..=32,
            h in 0u32..=24,
            mi in 0u32..=60,
            se in 0u32..=61,
            frac in proptest::sample::select(vec!["", ".", ".1", ".123456"]),
            zone in proptest::sample::select(vec![
                "Z", "Z+0000", "+0000", "-0500", "+09:00", "+0960", "-99:99", "+09", "", "+-1:00",
            ]),
        ) {
            let s = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}{frac}{zone}");
            proptest::prop_assert_eq!(parse_expires(&s), reference_parse_expires(&s), "{}", s);
        }

        #[test]
        fn parse_any_text_matches_reference(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[0-9Z:.+-]{0,8}") {
            proptest::prop_assert_eq!(parse_expires(&s), reference_parse_expires(&s), "{}", s);
        }
    }

    #[test]
    fn algorithm_from_str() {
        assert_eq!(
            "HmacSHA512".parse::<SignatureAlgorithm>(),
            Ok(SignatureAlgorithm::HmacSha512)
        );
        assert_eq!(
            "hmac-sha1".parse::<SignatureAlgorithm>(),
            Ok(SignatureAlgorithm::HmacSha1)
        );
        assert!("md5".parse::<SignatureAlgorithm>().is_err());
    }
}
