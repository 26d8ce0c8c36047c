//! The HTTP source's response-header checks for a resumed download: `Content-Range` parsing
//! and the resume judgement never panic, a parsed range is ordered, and the canonical form of a
//! parsed range parses to the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_stream::ledger::{check_resume, parse_content_range, unquote_etag};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = unquote_etag(text);
    if let Some((first, last, total)) = parse_content_range(text) {
        assert!(first <= last);
        let canonical = match total {
            Some(t) => format!("bytes {first}-{last}/{t}"),
            None => format!("bytes {first}-{last}/*"),
        };
        assert_eq!(parse_content_range(&canonical), Some((first, last, total)));
    }
    let offset = data.len() as u64;
    for status in [200, 206, 416] {
        let _ = check_resume(status, Some(text), offset, Some(offset.wrapping_mul(31)));
        let _ = check_resume(status, Some(text), offset, None);
    }
});
