//! S3 XML request bodies and responses. Pure: bytes in, values out.
//!
//! Responses are read into a small element tree (namespaces dropped) and then picked apart, so a
//! `200 OK` whose body is `<Error>` (what S3 does when CompleteMultipartUpload or UploadPartCopy
//! fails after the headers were sent) is recognised everywhere.

use quick_xml::Reader;
use quick_xml::events::Event;

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

/// Parses a document into its root element. Leading whitespace (S3's keep-alive spaces) is fine.
///
/// # Errors
///
/// [`Error::Xml`] for malformed XML or an empty body.
pub fn parse(what: &'static str, body: &[u8]) -> Result<Element> {
    let text = std::str::from_utf8(body).map_err(|e| Error::Xml {
        what,
        reason: e.to_string(),
    })?;
    let mut reader = Reader::from_str(text.trim_start());
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3ErrorBody {
    /// `<Code>`.
    pub code: Option<String>,
    /// `<Message>`.
    pub message: Option<String>,
}

/// Reads an `<Error>` body; `None` when the body is not one (or is empty / not XML).
pub fn parse_error(body: &[u8]) -> Option<S3ErrorBody> {
    let root = parse("error", body).ok()?;
    (root.name == "Error").then(|| S3ErrorBody {
        code: root.child_text("Code").map(str::to_owned),
        message: root.child_text("Message").map(str::to_owned),
    })
}

/// What a body that should have been a result turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The expected result.
    Ok(T),
    /// An `<Error>` document (possibly inside a `200 OK`).
    Error(S3ErrorBody),
}

fn expect_root(what: &'static str, body: &[u8], root_name: &str) -> Result<Outcome<Element>> {
    let root = parse(what, body)?;
    if root.name == "Error" {
        return Ok(Outcome::Error(S3ErrorBody {
            code: root.child_text("Code").map(str::to_owned),
            message: root.child_text("Message").map(str::to_owned),
        }));
    }
    if root.name != root_name {
        return Err(Error::Xml {
            what,
            reason: format!("root element is <{}>, expected <{root_name}>", root.name),
        });
    }
    Ok(Outcome::Ok(root))
}

/// The `UploadId` of an `InitiateMultipartUploadResult`.
///
/// # Errors
///
/// [`Error::Xml`] when the body is not that document or has no upload id.
pub fn parse_initiate(body: &[u8]) -> Result<Outcome<String>> {
    Ok(
        match expect_root(
            "CreateMultipartUpload",
            body,
            "InitiateMultipartUploadResult",
        )? {
            Outcome::Ok(root) => match root.child_text("UploadId") {
                Some(id) if !id.is_empty() => Outcome::Ok(id.to_owned()),
                _ => {
                    return Err(Error::Xml {
                        what: "CreateMultipartUpload",
                        reason: "no UploadId".into(),
                    });
                }
            },
            Outcome::Error(e) => Outcome::Error(e),
        },
    )
}

/// The `ETag` of a `CompleteMultipartUploadResult` (quotes kept as sent).
///
/// # Errors
///
/// [`Error::Xml`] when the body is neither that document nor `<Error>`.
pub fn parse_complete(body: &[u8]) -> Result<Outcome<Option<String>>> {
    Ok(
        match expect_root(
            "CompleteMultipartUpload",
            body,
            "CompleteMultipartUploadResult",
        )? {
            Outcome::Ok(root) => Outcome::Ok(root.child_text("ETag").map(str::to_owned)),
            Outcome::Error(e) => Outcome::Error(e),
        },
    )
}

/// The `ETag` of a `CopyPartResult` (UploadPartCopy) or `CopyObjectResult`.
///
/// # Errors
///
/// [`Error::Xml`] when the body is neither a copy result nor `<Error>`, or has no ETag.
pub fn parse_copy_result(body: &[u8]) -> Result<Outcome<String>> {
    let root = parse("UploadPartCopy", body)?;
    match root.name.as_str() {
        "Error" => Ok(Outcome::Error(S3ErrorBody {
            code: root.child_text("Code").map(str::to_owned),
            message: root.child_text("Message").map(str::to_owned),
        })),
        "CopyPartResult" | "CopyObjectResult" => root
            .child_text("ETag")
            .map(|e| Outcome::Ok(e.to_owned()))
            .ok_or(Error::Xml {
                what: "UploadPartCopy",
                reason: "no ETag".into(),
            }),
        other => Err(Error::Xml {
            what: "UploadPartCopy",
            reason: format!("unexpected root <{other}>"),
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

/// Parses a ListMultipartUploadsResult page.
///
/// # Errors
///
/// [`Error::Xml`] when the body is not that document.
pub fn parse_list_uploads(body: &[u8]) -> Result<Outcome<UploadsPage>> {
    let root = match expect_root("ListMultipartUploads", body, "ListMultipartUploadsResult")? {
        Outcome::Ok(r) => r,
        Outcome::Error(e) => return Ok(Outcome::Error(e)),
    };
    let uploads = root
        .children_named("Upload")
        .map(|u| UploadInfo {
            key: u.child_text("Key").unwrap_or_default().to_owned(),
            upload_id: u.child_text("UploadId").unwrap_or_default().to_owned(),
            initiated: u.child_text("Initiated").and_then(Timestamp::parse_iso8601),
        })
        .collect();
    let truncated = root.child_text("IsTruncated").map(str::trim) == Some("true");
    let next = truncated.then(|| {
        (
            root.child_text("NextKeyMarker")
                .unwrap_or_default()
                .to_owned(),
            root.child_text("NextUploadIdMarker")
                .unwrap_or_default()
                .to_owned(),
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
