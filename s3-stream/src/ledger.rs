//! The part ledger (which parts are uploaded, with their ETags and digests) and the source
//! resume rules (`Range` + `If-Range`). Pure.

use std::collections::BTreeMap;

use base64::Engine as _;
use md5::{Digest, Md5};

use crate::error::{Error, Result};
use crate::xml::CompletedPart;

/// One uploaded part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    /// Part number.
    pub number: u32,
    /// Bytes in the part.
    pub size: u64,
    /// ETag the store returned.
    pub etag: String,
    /// MD5 of the part, when computed (Content-MD5 mode).
    pub md5: Option<[u8; 16]>,
    /// CRC32C of the part (always computed; cheap with SSE 4.2).
    pub crc32c: u32,
}

/// Parts uploaded so far, by number.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    parts: BTreeMap<u32, PartRecord>,
}

/// Base64 of a big-endian CRC32C, the `x-amz-checksum-crc32c` form.
pub fn crc32c_base64(crc: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

/// Strips the quotes (and a weak `W/` prefix) from an ETag.
pub fn unquote_etag(etag: &str) -> &str {
    let e = etag.trim();
    let e = e.strip_prefix("W/").unwrap_or(e);
    e.trim_matches('"')
}

/// The MD5 an ETag carries, when it is a plain (single-part) MD5: 32 hex digits, quotes and a
/// weak prefix ignored.
fn etag_md5(etag: &str) -> Option<[u8; 16]> {
    let e = unquote_etag(etag);
    let mut out = [0u8; 16];
    (e.len() == 32 && hex::decode_to_slice(e, &mut out).is_ok()).then_some(out)
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a part (replacing an earlier upload of the same number, as S3 does).
    pub fn insert(&mut self, record: PartRecord) {
        self.parts.insert(record.number, record);
    }

    /// Parts recorded.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether no part is recorded.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Bytes in all recorded parts.
    pub fn total_bytes(&self) -> u64 {
        self.parts.values().map(|p| p.size).sum()
    }

    /// Checks that parts `1..=count` are all present (and nothing else), which Complete needs.
    ///
    /// # Errors
    ///
    /// [`Error::Integrity`] naming the first missing or extra part.
    pub fn check_contiguous(&self, count: u32) -> Result<()> {
        for n in 1..=count {
            if !self.parts.contains_key(&n) {
                return Err(Error::Integrity {
                    what: "part list".into(),
                    expected: format!("part {n}"),
                    actual: "missing".into(),
                });
            }
        }
        if let Some((&last, _)) = self.parts.last_key_value()
            && last > count
        {
            return Err(Error::Integrity {
                what: "part list".into(),
                expected: format!("{count} parts"),
                actual: format!("part {last}"),
            });
        }
        Ok(())
    }

    /// CRC32C of the whole object, combined from the part CRCs in order.
    pub fn whole_crc32c(&self) -> u32 {
        self.parts.values().fold(0u32, |acc, p| {
            crc_fast::checksum_combine(
                crc_fast::CrcAlgorithm::Crc32Iscsi,
                u64::from(acc),
                u64::from(p.crc32c),
                p.size,
            ) as u32
        })
    }

    /// The md5-of-md5s multipart ETag (`hex(md5(md5(p1)‖…‖md5(pN)))-N`): from the MD5s sent
    /// when every part has one, else from the part ETags the store returned when each is a plain
    /// MD5 (then it shows the object was assembled from exactly the acknowledged parts); `None`
    /// otherwise.
    pub fn multipart_etag(&self) -> Option<String> {
        let ours: Option<Vec<[u8; 16]>> = self.parts.values().map(|p| p.md5).collect();
        let digests = match ours {
            Some(d) => d,
            None => self
                .parts
                .values()
                .map(|p| etag_md5(&p.etag))
                .collect::<Option<Vec<_>>>()?,
        };
        let mut h = Md5::new();
        for d in &digests {
            h.update(d);
        }
        Some(format!("{}-{}", hex::encode(h.finalize()), digests.len()))
    }

    /// The CompleteMultipartUpload list, ascending; with CRC32C values when `with_crc32c`.
    pub fn completed_parts(&self, with_crc32c: bool) -> Vec<CompletedPart> {
        self.parts
            .values()
            .map(|p| CompletedPart {
                number: p.number,
                etag: p.etag.clone(),
                checksum_crc32c: with_crc32c.then(|| crc32c_base64(p.crc32c)),
            })
            .collect()
    }
}

/// What identifies one version of an HTTP source, for `If-Range`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validator {
    /// `ETag` response header.
    pub etag: Option<String>,
    /// `Last-Modified` response header.
    pub last_modified: Option<String>,
}

impl Validator {
    /// The `If-Range` value: a strong ETag, else `Last-Modified`. `None` means the source cannot be
    /// resumed safely (a weak ETag cannot be used with `If-Range`).
    pub fn if_range(&self) -> Option<&str> {
        match &self.etag {
            Some(e) if !e.trim_start().starts_with("W/") => Some(e.as_str()),
            _ => self.last_modified.as_deref(),
        }
    }
}

/// Parses `Content-Range: bytes first-last/total` (total may be `*`).
pub fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b).then_some((a, b, total))
}

/// Why a resumed response cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeRefusal {
    /// `200 OK` to a request with `If-Range`: the source changed (or ignores ranges); mixing the
    /// versions would corrupt the object.
    Changed,
    /// The response range does not start where the stream broke, or the total length differs.
    WrongRange(String),
    /// Any other status.
    Status(u16),
}

/// Checks the response to `Range: bytes=offset-` + `If-Range`.
pub fn check_resume(
    status: u16,
    content_range: Option<&str>,
    offset: u64,
    total: Option<u64>,
) -> std::result::Result<(), ResumeRefusal> {
    match status {
        206 => {
            let cr = content_range.ok_or(ResumeRefusal::WrongRange("no Content-Range".into()))?;
            let (a, _, t) = parse_content_range(cr)
                .ok_or_else(|| ResumeRefusal::WrongRange(format!("bad Content-Range {cr:?}")))?;
            if a != offset {
                return Err(ResumeRefusal::WrongRange(format!(
                    "range starts at {a}, expected {offset}"
                )));
            }
            if let (Some(t), Some(want)) = (t, total)
                && t != want
            {
                return Err(ResumeRefusal::WrongRange(format!(
                    "total length is now {t}, was {want}"
                )));
            }
            Ok(())
        }
        200 => Err(ResumeRefusal::Changed),
        s => Err(ResumeRefusal::Status(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(n: u32, data: &[u8]) -> PartRecord {
        PartRecord {
            number: n,
            size: data.len() as u64,
            etag: format!("\"{}\"", hex::encode(Md5::digest(data))),
            md5: Some(Md5::digest(data).into()),
            crc32c: crc32c::crc32c(data),
        }
    }

    #[test]
    fn whole_crc_and_etag() {
        let a = vec![1u8; 1000];
        let b = vec![2u8; 17];
        let mut l = Ledger::new();
        l.insert(rec(2, &b));
        l.insert(rec(1, &a));
        let whole = [a.clone(), b.clone()].concat();
        assert_eq!(l.whole_crc32c(), crc32c::crc32c(&whole));
        let mut h = Md5::new();
        h.update(Md5::digest(&a));
        h.update(Md5::digest(&b));
        assert_eq!(
            l.multipart_etag().unwrap(),
            format!("{}-2", hex::encode(h.finalize()))
        );
        assert!(l.check_contiguous(2).is_ok());
        assert!(l.check_contiguous(3).is_err());
        assert!(l.check_contiguous(1).is_err());
        let parts = l.completed_parts(true);
        assert_eq!(parts[0].number, 1);
        assert_eq!(
            parts[1].checksum_crc32c.as_deref(),
            Some(crc32c_base64(crc32c::crc32c(&b)).as_str())
        );
        assert_eq!(l.total_bytes(), 1017);
    }

    #[test]
    fn etag_from_returned_part_etags_when_no_md5_was_taken() {
        let (a, b) = (vec![3u8; 64], vec![4u8; 5]);
        let mut with = Ledger::new();
        with.insert(rec(1, &a));
        with.insert(rec(2, &b));
        let mut without = Ledger::new();
        for r in [rec(1, &a), rec(2, &b)] {
            without.insert(PartRecord { md5: None, ..r });
        }
        assert_eq!(without.multipart_etag(), with.multipart_etag());
        // A part ETag that is not a plain MD5 (another store's scheme): no expectation at all.
        without.insert(PartRecord {
            md5: None,
            etag: "\"0123-not-an-md5\"".into(),
            ..rec(3, &a)
        });
        assert_eq!(without.multipart_etag(), None);
        assert_eq!(
            etag_md5("W/\"00112233445566778899aabbccddeeff\"").map(|d| d[15]),
            Some(0xff)
        );
        assert_eq!(etag_md5("00112233445566778899aabbccddeeff-2"), None);
        assert_eq!(etag_md5("0011223344556677889zaabbccddeeff"), None);
    }

    #[test]
    fn crc32c_base64_known_value() {
        // crc32c("123456789") = 0xE3069283
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_base64(0xE306_9283), "4waSgw==");
    }

    #[test]
    fn resume_rules() {
        assert_eq!(
            check_resume(206, Some("bytes 100-199/200"), 100, Some(200)),
            Ok(())
        );
        assert_eq!(
            check_resume(200, None, 100, Some(200)),
            Err(ResumeRefusal::Changed)
        );
        assert!(matches!(
            check_resume(206, Some("bytes 0-199/200"), 100, Some(200)),
            Err(ResumeRefusal::WrongRange(_))
        ));
        assert!(matches!(
            check_resume(206, Some("bytes 100-199/300"), 100, Some(200)),
            Err(ResumeRefusal::WrongRange(_))
        ));
        assert_eq!(
            check_resume(416, None, 100, None),
            Err(ResumeRefusal::Status(416))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, 9, None)));
        assert_eq!(parse_content_range("bytes 9-5/10"), None);
    }

    #[test]
    fn validators() {
        let v = Validator {
            etag: Some("\"abc\"".into()),
            last_modified: Some("x".into()),
        };
        assert_eq!(v.if_range(), Some("\"abc\""));
        let w = Validator {
            etag: Some("W/\"abc\"".into()),
            last_modified: None,
        };
        assert_eq!(w.if_range(), None);
        let l = Validator {
            etag: Some("W/\"abc\"".into()),
            last_modified: Some("Tue".into()),
        };
        assert_eq!(l.if_range(), Some("Tue"));
        assert_eq!(unquote_etag(" W/\"abc\" "), "abc");
    }
}
