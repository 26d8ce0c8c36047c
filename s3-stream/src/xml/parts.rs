//! The documents read back when an upload is resumed or checked: ListParts pages and
//! GetObjectAcl grants, read by the same tolerant rules as every other response (any root name
//! or namespace, an `<Error>` as the root or inside a wrapper, a byte order mark, whitespace,
//! extra and reordered elements). Pure.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{Outcome, non_blank, read};
use crate::error::{Error, Result};

/// A part the store lists for an upload (ListParts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    /// Part number.
    pub number: u32,
    /// Bytes stored.
    pub size: u64,
    /// The part's ETag, as listed (quotes kept as sent, whitespace around them removed).
    pub etag: String,
}

/// One page of ListParts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartsPage {
    /// Parts on this page, in document order.
    pub parts: Vec<StoredPart>,
    /// The `part-number-marker` of the next page, when the listing is truncated: the
    /// `NextPartNumberMarker` the store sent, or the highest part number of this page when a
    /// truncated page does not name one.
    pub next: Option<u32>,
}

/// Parses a ListParts page (`<ListPartsResult>` in the S3 reference; any root name). `<Part>`
/// entries may be interleaved with other elements and carry extra children (checksums,
/// `LastModified`, storage class).
///
/// # Errors
///
/// [`Error::Xml`] when the body is not XML, names none of `Part`, `IsTruncated`, `UploadId`,
/// `MaxParts` (an unrelated page is not an empty listing), or for a `<Part>` without a numeric
/// `PartNumber` and `Size` (a part that could neither be checked nor skipped knowingly).
///
/// # Examples
///
/// ```
/// use s3_stream::xml::{parse_list_parts, Outcome};
/// let body = br#"<ListPartsResult><IsTruncated>false</IsTruncated>
///   <Part><PartNumber>1</PartNumber><ETag>"e"</ETag><Size>5</Size></Part></ListPartsResult>"#;
/// let Outcome::Ok(page) = parse_list_parts(body).unwrap() else { panic!() };
/// assert_eq!((page.parts[0].number, page.parts[0].size, page.next), (1, 5, None));
/// ```
pub fn parse_list_parts(body: &[u8]) -> Result<Outcome<PartsPage>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Part {
        part_number: Option<String>,
        size: Option<String>,
        #[serde(rename = "ETag")]
        etag: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Doc {
        #[serde(default, rename = "Part")]
        parts: Vec<Part>,
        is_truncated: Option<String>,
        next_part_number_marker: Option<String>,
        upload_id: Option<IgnoredAny>,
        max_parts: Option<IgnoredAny>,
    }
    const WHAT: &str = "ListParts";
    let (root, d) = match read::<Doc>(WHAT, body)? {
        (_, Outcome::Error(e)) => return Ok(Outcome::Error(e)),
        (root, Outcome::Ok(d)) => (root, d),
    };
    if d.parts.is_empty()
        && d.is_truncated.is_none()
        && d.upload_id.is_none()
        && d.max_parts.is_none()
    {
        // an unrelated document (a proxy's HTML page) is not an empty listing
        return Err(Error::Xml {
            what: WHAT,
            reason: format!("<{root}> has none of Part, IsTruncated, UploadId, MaxParts"),
        });
    }
    let mut parts = Vec::with_capacity(d.parts.len());
    for p in d.parts {
        let number = non_blank(p.part_number).and_then(|n| n.parse::<u32>().ok());
        let size = non_blank(p.size).and_then(|s| s.parse::<u64>().ok());
        let (Some(number), Some(size)) = (number, size) else {
            return Err(Error::Xml {
                what: WHAT,
                reason: format!("a <Part> in <{root}> without a numeric PartNumber and Size"),
            });
        };
        parts.push(StoredPart {
            number,
            size,
            etag: non_blank(p.etag).unwrap_or_default(),
        });
    }
    let truncated = non_blank(d.is_truncated).is_some_and(|t| t.eq_ignore_ascii_case("true"));
    let next = truncated
        .then(|| {
            non_blank(d.next_part_number_marker)
                .and_then(|m| m.parse().ok())
                .or_else(|| parts.iter().map(|p| p.number).max())
        })
        .flatten();
    Ok(Outcome::Ok(PartsPage { parts, next }))
}

/// One grant of an object's ACL (GetObjectAcl).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// The grantee: a group's URI, else a canonical user's ID, else an e-mail address; empty
    /// when the grantee names none of them.
    pub grantee: String,
    /// `READ`, `WRITE`, `READ_ACP`, `WRITE_ACP` or `FULL_CONTROL`, as sent.
    pub permission: String,
}

/// Parses a GetObjectAcl response (`<AccessControlPolicy>` in the S3 reference; any root name)
/// into its grants, in document order. A grant without a permission grants nothing and is left
/// out.
///
/// # Errors
///
/// [`Error::Xml`] when the body is not XML, or names neither `AccessControlList` nor `Owner`
/// (an unrelated page is not an empty ACL).
///
/// # Examples
///
/// ```
/// use s3_stream::xml::{parse_acl, Outcome};
/// let body = br#"<AccessControlPolicy><AccessControlList><Grant>
///   <Grantee><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>
///   <Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"#;
/// let Outcome::Ok(grants) = parse_acl(body).unwrap() else { panic!() };
/// assert_eq!(grants[0].permission, "READ");
/// ```
pub fn parse_acl(body: &[u8]) -> Result<Outcome<Vec<Grant>>> {
    #[derive(Deserialize)]
    struct Grantee {
        #[serde(rename = "URI")]
        uri: Option<String>,
        #[serde(rename = "ID")]
        id: Option<String>,
        #[serde(rename = "EmailAddress")]
        email: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct GrantDoc {
        grantee: Option<Grantee>,
        permission: Option<String>,
    }
    #[derive(Deserialize)]
    struct List {
        #[serde(default, rename = "Grant")]
        grants: Vec<GrantDoc>,
    }
    #[derive(Deserialize)]
    struct Doc {
        #[serde(rename = "AccessControlList")]
        list: Option<List>,
        #[serde(rename = "Owner")]
        owner: Option<IgnoredAny>,
    }
    const WHAT: &str = "GetObjectAcl";
    let d = match read::<Doc>(WHAT, body)? {
        (_, Outcome::Error(e)) => return Ok(Outcome::Error(e)),
        (root, Outcome::Ok(d)) => {
            if d.list.is_none() && d.owner.is_none() {
                return Err(Error::Xml {
                    what: WHAT,
                    reason: format!("<{root}> has neither AccessControlList nor Owner"),
                });
            }
            d
        }
    };
    let grants = d
        .list
        .map(|l| l.grants)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| {
            let permission = non_blank(g.permission)?;
            let grantee = g
                .grantee
                .and_then(|e| non_blank(e.uri).or(non_blank(e.id)).or(non_blank(e.email)))
                .unwrap_or_default();
            Some(Grant {
                grantee,
                permission,
            })
        })
        .collect();
    Ok(Outcome::Ok(grants))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &[u8]) -> PartsPage {
        match parse_list_parts(body).unwrap() {
            Outcome::Ok(p) => p,
            Outcome::Error(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn list_parts_any_root_namespace_and_order() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListPartsOutput xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>
  <Owner><ID>me</ID></Owner>
  <IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker>
  <Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag><Size>5</Size></Part>
  <StorageClass>STANDARD</StorageClass>
  <Part><Size> 6 </Size><ETag>"bb"</ETag><LastModified>x</LastModified><PartNumber>2</PartNumber></Part>
</ListPartsOutput>"#;
        let p = page(body);
        assert_eq!(p.next, Some(2));
        assert_eq!(
            p.parts,
            vec![
                StoredPart {
                    number: 1,
                    size: 5,
                    etag: "\"aa\"".into()
                },
                StoredPart {
                    number: 2,
                    size: 6,
                    etag: "\"bb\"".into()
                },
            ]
        );
        let last = br#"<ListPartsResult><IsTruncated>false</IsTruncated><NextPartNumberMarker>9</NextPartNumberMarker></ListPartsResult>"#;
        assert_eq!(page(last), PartsPage::default());
        let prefixed = "\u{feff}  <s3:R xmlns:s3=\"urn:x\"><s3:Part><s3:PartNumber>3</s3:PartNumber><s3:Size>1</s3:Size></s3:Part><s3:IsTruncated>true</s3:IsTruncated></s3:R>";
        let p = page(prefixed.as_bytes());
        assert_eq!(
            (p.parts[0].number, p.next),
            (3, Some(3)),
            "marker from the parts"
        );
    }

    #[test]
    fn list_parts_errors_anywhere_and_bad_parts() {
        for err in [
            &b"<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>"[..],
            b"<ErrorResponse><Error><Code>NoSuchUpload</Code></Error></ErrorResponse>",
            b"  \n<?xml version=\"1.0\"?><Error><Code>NoSuchUpload</Code></Error>",
        ] {
            let Outcome::Error(e) = parse_list_parts(err).unwrap() else {
                panic!("not an error")
            };
            assert_eq!(e.code.as_deref(), Some("NoSuchUpload"));
        }
        assert!(parse_list_parts(b"<a><Part><Size>1</Size></Part></a>").is_err());
        assert!(
            parse_list_parts(b"<a><Part><PartNumber>x</PartNumber><Size>1</Size></Part></a>")
                .is_err()
        );
        assert!(parse_list_parts(b"<a><b>").is_err());
        assert!(parse_list_parts(b"").is_err());
    }

    #[test]
    fn acl_grants_of_every_grantee_kind() {
        let body = br#"<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList>
<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o</ID><DisplayName>n</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>
<Grant><Permission>READ</Permission><Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee></Grant>
<Grant><Grantee xsi:type="AmazonCustomerByEmail"><EmailAddress>a@b</EmailAddress></Grantee><Permission>READ_ACP</Permission></Grant>
<Grant><Grantee><ID>x</ID></Grantee></Grant>
</AccessControlList></AccessControlPolicy>"#;
        let Outcome::Ok(g) = parse_acl(body).unwrap() else {
            panic!()
        };
        let pairs: Vec<(&str, &str)> = g
            .iter()
            .map(|g| (g.grantee.as_str(), g.permission.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("o", "FULL_CONTROL"),
                ("http://acs.amazonaws.com/groups/global/AllUsers", "READ"),
                ("a@b", "READ_ACP"),
            ]
        );
        let Outcome::Error(e) =
            parse_acl(b"<Error><Code>AccessControlListNotSupported</Code></Error>").unwrap()
        else {
            panic!()
        };
        assert_eq!(e.code.as_deref(), Some("AccessControlListNotSupported"));
        let owner_only = b"<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList/></AccessControlPolicy>";
        let Outcome::Ok(none) = parse_acl(owner_only).unwrap() else {
            panic!()
        };
        assert!(none.is_empty());
        assert!(parse_acl(b"<html><body>502 Bad Gateway</body></html>").is_err());
        assert!(parse_list_parts(b"<html><body>502 Bad Gateway</body></html>").is_err());
    }

    #[test]
    fn every_prefix_is_refused_or_read() {
        let body = br#"<ListPartsResult><Part><PartNumber>1</PartNumber><Size>5</Size><ETag>"e"</ETag></Part><IsTruncated>true</IsTruncated></ListPartsResult>"#;
        for n in 0..body.len() {
            let _ = parse_list_parts(&body[..n]);
            let _ = parse_acl(&body[..n]);
        }
    }
}
