//! Every S3 response document the crate reads (CreateMultipartUpload, CompleteMultipartUpload,
//! UploadPartCopy/CopyObject results, ListMultipartUploads, `<Error>` bodies, and the generic
//! element tree under them): never panics, and an `<Error>` found by one reader is the one
//! `parse_error` finds. The CompleteMultipartUpload body the crate writes parses back to the
//! part numbers and ETags it was built from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_stream::xml::{self, CompletedPart, Outcome};

fn same_error<T>(outcome: &Outcome<T>, body: &[u8]) {
    if let Outcome::Error(e) = outcome {
        assert_eq!(Some(e), xml::parse_error(body).as_ref());
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = xml::parse("fuzz", data) {
        let _ = root.child_text("Code");
        let _ = root.children_named("Part").count();
    }
    let _ = xml::parse_error(data);
    if let Ok(o) = xml::parse_initiate(data) {
        same_error(&o, data);
        if let Outcome::Ok(id) = &o {
            assert!(!id.trim().is_empty());
        }
    }
    if let Ok(o) = xml::parse_complete(data) {
        same_error(&o, data);
    }
    if let Ok(o) = xml::parse_copy_result(data) {
        same_error(&o, data);
    }
    if let Ok(o) = xml::parse_list_uploads(data) {
        same_error(&o, data);
    }

    // Writer round trip: ETags (any text XML 1.0 can carry) come back as written.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parts: Vec<CompletedPart> = text
        .split('\n')
        .take(64)
        .enumerate()
        .filter(|(_, e)| {
            !e.chars()
                .any(|c| (c < ' ' && c != '\t') || c == '\u{fffe}' || c == '\u{ffff}')
        })
        .map(|(i, e)| CompletedPart {
            number: i as u32 + 1,
            etag: e.to_owned(),
            checksum_crc32c: None,
        })
        .collect();
    let body = xml::complete_body(&parts);
    let root = xml::parse("complete body", body.as_bytes()).expect("the written body parses");
    let back: Vec<(String, String)> = root
        .children_named("Part")
        .map(|p| {
            (
                p.child_text("PartNumber").unwrap_or_default().to_owned(),
                p.child_text("ETag").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = parts
        .iter()
        .map(|p| (p.number.to_string(), p.etag.clone()))
        .collect();
    assert_eq!(back, want);
});
