//! S3 XML request bodies and responses. Pure: bytes in, values out.
//!
//! Responses are read the way the AWS SDKs read them: by the children a caller needs (quick-xml's
//! serde support), whatever the root element is called or which namespace it is in, with a byte
//! order mark, whitespace, extra and reordered elements accepted. An `<Error>` document is
//! recognised in every response, also in a `200 OK` (what S3 sends when CompleteMultipartUpload,
//! UploadPartCopy or CopyObject fails after the headers went out) and inside a wrapper element.
//! [`parse`] gives a generic element tree for bodies without a typed reader; the ListParts and
//! GetObjectAcl readers (resume and the ACL check) are in `parts.rs`.

mod parts;

pub use parts::{Grant, PartsPage, StoredPart, parse_acl, parse_list_parts};

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::Timestamp;
use crate::error::{Error, Result};

/// One element: local name, text, children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Local name (namespace prefix dropped).
    pub name: String,
    /// Concatenated text content directly inside this element.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// First child with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Text of the first child with this name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// All children with this name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn resolve_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let n = name.strip_prefix('#')?;
            let v = match n.strip_prefix('x') {
                Some(h) => u32::from_str_radix(h, 16).ok()?,
                None => n.parse().ok()?,
            };
            char::from_u32(v)?
        }
    })
}

/// Parses a document into its root element. A byte-order mark and leading whitespace (S3's
/// keep-alive spaces) are fine.
///
/// # Errors
///
/// [`Error::Xml`] for malformed XML or an empty body.
pub fn parse(what: &'static str, body: &[u8]) -> Result<Element> {
    let mut reader = Reader::from_str(document(what, body)?);
    let mut stack: Vec<Element> = Vec::new();
    let bad = |reason: String| Error::Xml { what, reason };
    loop {
        match reader.read_event().map_err(|e| bad(e.to_string()))? {
            Event::Start(e) => stack.push(Element {
                name: e.local_name().as_ref().to_owned(),
                ..Default::default()
            }),
            Event::Empty(e) => {
                let el = Element {
                    name: e.local_name().as_ref().to_owned(),
                    ..Default::default()
                };
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                let name = r.into_inner();
                let c =
                    resolve_entity(&name).ok_or_else(|| bad(format!("unknown entity &{name};")))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push(c);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| bad("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Eof => return Err(bad("unexpected end of document".into())),
            _ => {}
        }
    }
}

/// An S3 `<Error>` document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3ErrorBody {
    /// `<Code>`.
    pub code: Option<String>,
    /// `<Message>`.
    pub message: Option<String>,
}

/// The text after a byte-order mark and leading whitespace (S3 sends spaces to keep a long
/// CompleteMultipartUpload or UploadPartCopy connection alive before the document).
fn document<'a>(what: &'static str, body: &'a [u8]) -> Result<&'a str> {
    let text = std::str::from_utf8(body).map_err(|e| Error::Xml {
        what,
        reason: e.to_string(),
    })?;
    Ok(text.trim_start_matches('\u{feff}').trim_start())
}

/// Local names of the root element and of its direct children, in document order.
fn outline(what: &'static str, text: &str) -> Result<(String, Vec<String>)> {
    let bad = |reason: String| Error::Xml { what, reason };
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    let mut root = None;
    let mut children = Vec::new();
    loop {
        match reader.read_event().map_err(|e| bad(e.to_string()))? {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_owned();
                match depth {
                    0 => root = Some(name),
                    1 => children.push(name),
                    _ => {}
                }
                depth += 1;
            }
            Event::Empty(e) => {
                let name = e.local_name().as_ref().to_owned();
                match depth {
                    0 => return Ok((name, children)),
                    1 => children.push(name),
                    _ => {}
                }
            }
            Event::End(_) => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| bad("unbalanced end tag".into()))?;
                if depth == 0 {
                    let root = root.ok_or_else(|| bad("no root element".into()))?;
                    return Ok((root, children));
                }
            }
            Event::Eof => {
                return Err(bad(if root.is_some() {
                    "unexpected end of document".into()
                } else {
                    "empty body".into()
                }));
            }
            _ => {}
        }
    }
}

/// A document read by the children a reader needs, whatever its root is called and whatever
/// namespace it is in (the AWS SDKs read S3 responses the same way): the root's name, and the
/// error when the document is an `<Error>` (as the root, or as a child of a wrapper such as
/// `<ErrorResponse>`), else the typed success value.
fn read<T: DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<(String, Outcome<T>)> {
    let text = document(what, body)?;
    let (root, children) = outline(what, text)?;
    let de_err = |e: quick_xml::DeError| Error::Xml {
        what,
        reason: format!("<{root}>: {e}"),
    };
    if root == "Error" {
        let e: S3ErrorBody = quick_xml::de::from_str(text).map_err(de_err)?;
        return Ok((root, Outcome::Error(e)));
    }
    if children.iter().any(|c| c == "Error") {
        #[derive(Deserialize)]
        struct Wrapper {
            #[serde(rename = "Error")]
            error: S3ErrorBody,
        }
        let w: Wrapper = quick_xml::de::from_str(text).map_err(de_err)?;
        return Ok((root, Outcome::Error(w.error)));
    }
    let v: T = quick_xml::de::from_str(text).map_err(de_err)?;
    Ok((root, Outcome::Ok(v)))
}

/// Reads an `<Error>` body (also inside a wrapper element); `None` when the body is not one
/// (or is empty / not XML).
pub fn parse_error(body: &[u8]) -> Option<S3ErrorBody> {
    #[derive(Deserialize)]
    struct Nothing {}
    match read::<Nothing>("error", body) {
        Ok((_, Outcome::Error(e))) => Some(e),
        _ => None,
    }
}

/// What a body that should have been a result turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The expected result.
    Ok(T),
    /// An `<Error>` document (possibly inside a `200 OK`).
    Error(S3ErrorBody),
}

/// An element's text with surrounding whitespace removed; `None` when absent or blank.
fn non_blank(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The `UploadId` of a CreateMultipartUpload result (`<InitiateMultipartUploadResult>` in the S3
/// reference; any root name is accepted).
///
/// # Errors
///
/// [`Error::Xml`] when the body is not XML or neither an error nor a document with an upload id.
pub fn parse_initiate(body: &[u8]) -> Result<Outcome<String>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Doc {
        upload_id: Option<String>,
    }
    const WHAT: &str = "CreateMultipartUpload";
    match read::<Doc>(WHAT, body)? {
        (_, Outcome::Error(e)) => Ok(Outcome::Error(e)),
        (root, Outcome::Ok(d)) => {
            non_blank(d.upload_id)
                .map(Outcome::Ok)
                .ok_or_else(|| Error::Xml {
                    what: WHAT,
                    reason: format!("no <UploadId> in <{root}>"),
                })
        }
    }
}

/// The `ETag` of a CompleteMultipartUpload result (quotes kept as sent, whitespace around them
/// removed). Any root name is accepted (`<CompleteMultipartUploadResult>` in the S3 reference,
/// `<CompleteMultipartUploadResponse>` from some moto versions); the document must name at least
/// one of `ETag`, `Key`, `Bucket` or `Location`, so an unrelated page is not taken for success.
///
/// # Errors
///
/// [`Error::Xml`] when the body is neither such a document nor `<Error>`.
pub fn parse_complete(body: &[u8]) -> Result<Outcome<Option<String>>> {
    #[derive(Deserialize)]
    struct Doc {
        #[serde(rename = "ETag")]
        etag: Option<String>,
        #[serde(rename = "Key")]
        key: Option<String>,
        #[serde(rename = "Bucket")]
        bucket: Option<String>,
        #[serde(rename = "Location")]
        location: Option<String>,
    }
    const WHAT: &str = "CompleteMultipartUpload";
    match read::<Doc>(WHAT, body)? {
        (_, Outcome::Error(e)) => Ok(Outcome::Error(e)),
        (root, Outcome::Ok(d)) => {
            if d.etag.is_none() && d.key.is_none() && d.bucket.is_none() && d.location.is_none() {
                return Err(Error::Xml {
                    what: WHAT,
                    reason: format!("<{root}> has none of ETag, Key, Bucket, Location"),
                });
            }
            Ok(Outcome::Ok(non_blank(d.etag)))
        }
    }
}

/// The `ETag` of an UploadPartCopy or CopyObject result (`<CopyPartResult>`,
/// `<CopyObjectResult>`, or any other root with an `ETag` child).
///
/// # Errors
///
/// [`Error::Xml`] when the body is neither a copy result nor `<Error>`, or has no ETag.
pub fn parse_copy_result(body: &[u8]) -> Result<Outcome<String>> {
    #[derive(Deserialize)]
    struct Doc {
        #[serde(rename = "ETag")]
        etag: Option<String>,
    }
    const WHAT: &str = "UploadPartCopy";
    match read::<Doc>(WHAT, body)? {
        (_, Outcome::Error(e)) => Ok(Outcome::Error(e)),
        (root, Outcome::Ok(d)) => non_blank(d.etag)
            .map(Outcome::Ok)
            .ok_or_else(|| Error::Xml {
                what: WHAT,
                reason: format!("no <ETag> in <{root}>"),
            }),
    }
}

/// One part for the CompleteMultipartUpload body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// Part number.
    pub number: u32,
    /// ETag as returned by UploadPart.
    pub etag: String,
    /// Base64 CRC32C, when the upload uses that checksum.
    pub checksum_crc32c: Option<String>,
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// The CompleteMultipartUpload request body, parts in ascending order.
///
/// # Examples
///
/// ```
/// use s3_stream::xml::{complete_body, CompletedPart};
/// let b = complete_body(&[CompletedPart { number: 1, etag: "\"e\"".into(), checksum_crc32c: None }]);
/// assert!(b.contains("<Part><PartNumber>1</PartNumber><ETag>&quot;e&quot;</ETag></Part>"));
/// ```
pub fn complete_body(parts: &[CompletedPart]) -> String {
    let mut sorted: Vec<&CompletedPart> = parts.iter().collect();
    sorted.sort_by_key(|p| p.number);
    let mut s =
        String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for p in sorted {
        s.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag>",
            p.number,
            escape(&p.etag)
        ));
        if let Some(c) = &p.checksum_crc32c {
            s.push_str(&format!("<ChecksumCRC32C>{}</ChecksumCRC32C>", escape(c)));
        }
        s.push_str("</Part>");
    }
    s.push_str("</CompleteMultipartUpload>");
    s
}

/// One incomplete multipart upload from ListMultipartUploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// Object key.
    pub key: String,
    /// Upload id.
    pub upload_id: String,
    /// When it was started, if the store said so.
    pub initiated: Option<Timestamp>,
}

/// One page of ListMultipartUploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadsPage {
    /// Uploads on this page.
    pub uploads: Vec<UploadInfo>,
    /// `(key-marker, upload-id-marker)` for the next page, when truncated.
    pub next: Option<(String, String)>,
}

/// Parses a ListMultipartUploads page (`<ListMultipartUploadsResult>`, any root name).
/// `<Upload>` entries may be interleaved with other elements (`<CommonPrefixes>`); an entry
/// without a key or upload id is skipped, as it could be neither resumed nor aborted.
///
/// # Errors
///
/// [`Error::Xml`] when the body is not XML.
pub fn parse_list_uploads(body: &[u8]) -> Result<Outcome<UploadsPage>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Upload {
        key: Option<String>,
        upload_id: Option<String>,
        initiated: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Doc {
        #[serde(default, rename = "Upload")]
        uploads: Vec<Upload>,
        is_truncated: Option<String>,
        next_key_marker: Option<String>,
        next_upload_id_marker: Option<String>,
    }
    let d = match read::<Doc>("ListMultipartUploads", body)? {
        (_, Outcome::Error(e)) => return Ok(Outcome::Error(e)),
        (_, Outcome::Ok(d)) => d,
    };
    let uploads = d
        .uploads
        .into_iter()
        .filter_map(|u| {
            Some(UploadInfo {
                // a key is kept exactly (spaces are legal in keys); ids and dates are trimmed
                key: u.key.filter(|k| !k.is_empty())?,
                upload_id: non_blank(u.upload_id)?,
                initiated: non_blank(u.initiated)
                    .as_deref()
                    .and_then(Timestamp::parse_iso8601),
            })
        })
        .collect();
    let truncated = non_blank(d.is_truncated).is_some_and(|t| t.eq_ignore_ascii_case("true"));
    let next = truncated.then(|| {
        (
            d.next_key_marker.unwrap_or_default(),
            non_blank(d.next_upload_id_marker).unwrap_or_default(),
        )
    });
    Ok(Outcome::Ok(UploadsPage { uploads, next }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_with_error_inside_200() {
        let body = b"   \n  <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>656c76696e6727732072657175657374</RequestId></Error>";
        let out = parse_complete(body).unwrap();
        assert_eq!(
            out,
            Outcome::Error(S3ErrorBody {
                code: Some("InternalError".into()),
                message: Some("We encountered an internal error. Please try again.".into())
            })
        );
    }

    #[test]
    fn complete_result_from_the_s3_docs() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
 <Location>http://Example-Bucket.s3.amazonaws.com/Example-Object</Location>
 <Bucket>Example-Bucket</Bucket>
 <Key>Example-Object</Key>
 <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
</CompleteMultipartUploadResult>"#;
        assert_eq!(
            parse_complete(body).unwrap(),
            Outcome::Ok(Some("\"3858f62230ac3c915f300c664312c11f-9\"".into()))
        );
        assert!(parse_complete(b"<Other/>").is_err());
        assert!(parse_complete(b"").is_err());
        assert!(parse_complete(b"<CompleteMultipartUploadResult>").is_err());
    }

    #[test]
    fn initiate_and_entities() {
        let body = br#"<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>a&amp;b&#x41;</Key><UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>"#;
        assert_eq!(
            parse_initiate(body).unwrap(),
            Outcome::Ok("VXBsb2FkIElE".into())
        );
        let root = parse("t", body).unwrap();
        assert_eq!(root.child_text("Key"), Some("a&bA"));
        assert!(parse_initiate(b"<InitiateMultipartUploadResult/>").is_err());
    }

    #[test]
    fn list_uploads_page() {
        let body = br#"<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>bucket</Bucket><IsTruncated>true</IsTruncated>
  <NextKeyMarker>my-movie.m2ts</NextKeyMarker><NextUploadIdMarker>YW55IGlkZWEgd2h5</NextUploadIdMarker>
  <Upload><Key>my-divisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>
  <Upload><Key>my-movie.m2ts</Key><UploadId>VXBsb2FkIElEIGZvciBlbHZpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>
</ListMultipartUploadsResult>"#;
        let Outcome::Ok(p) = parse_list_uploads(body).unwrap() else {
            panic!()
        };
        assert_eq!(p.uploads.len(), 2);
        assert_eq!(p.uploads[0].key, "my-divisor");
        assert_eq!(
            p.uploads[0].initiated.unwrap().amz_date(),
            "20101110T204833Z"
        );
        assert_eq!(
            p.next,
            Some(("my-movie.m2ts".into(), "YW55IGlkZWEgd2h5".into()))
        );
    }

    #[test]
    fn complete_body_sorted_and_escaped() {
        let parts = vec![
            CompletedPart {
                number: 2,
                etag: "\"b\"".into(),
                checksum_crc32c: Some("AAAAAA==".into()),
            },
            CompletedPart {
                number: 1,
                etag: "\"a\"".into(),
                checksum_crc32c: None,
            },
        ];
        let b = complete_body(&parts);
        let i1 = b.find("<PartNumber>1<").unwrap();
        let i2 = b.find("<PartNumber>2<").unwrap();
        assert!(i1 < i2);
        assert!(b.contains("<ChecksumCRC32C>AAAAAA==</ChecksumCRC32C>"));
        // and it parses back
        let root = parse("t", b.as_bytes()).unwrap();
        assert_eq!(root.children_named("Part").count(), 2);
    }

    #[test]
    fn copy_result_and_errors() {
        let ok = br#"<CopyPartResult><LastModified>2009-10-28T22:32:00</LastModified><ETag>"9b2cf535f27731c974343645a3985328"</ETag></CopyPartResult>"#;
        assert_eq!(
            parse_copy_result(ok).unwrap(),
            Outcome::Ok("\"9b2cf535f27731c974343645a3985328\"".into())
        );
        let e = parse_error(b"<Error><Code>AccessControlListNotSupported</Code><Message>The bucket does not allow ACLs</Message></Error>").unwrap();
        assert_eq!(e.code.as_deref(), Some("AccessControlListNotSupported"));
        assert_eq!(parse_error(b"not xml"), None);
    }

    #[test]
    fn short_and_hostile_inputs_never_panic() {
        let body =
            br#"<CompleteMultipartUploadResult><ETag>"x"</ETag></CompleteMultipartUploadResult>"#;
        for n in 0..body.len() {
            let _ = parse_complete(&body[..n]);
        }
        for junk in [
            &b"<a><b></a>"[..],
            b"&bogus;",
            b"<a>&bogus;</a>",
            b"\xff\xfe",
            b"</a>",
        ] {
            let _ = parse("t", junk);
        }
    }
}
