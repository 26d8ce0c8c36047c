//! The documents read back when an upload is resumed or its ACL checked (ListParts pages,
//! GetObjectAcl grants): never a panic; an `<Error>` found by either reader is the one
//! `parse_error` finds; a page read has only parts with a number and a size, and names a next
//! marker only when the page says it is truncated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_stream::xml::{self, Outcome};

fuzz_target!(|data: &[u8]| {
    match xml::parse_list_parts(data) {
        Ok(Outcome::Error(e)) => assert_eq!(Some(e), xml::parse_error(data)),
        Ok(Outcome::Ok(page)) => {
            if page.next.is_some() {
                let text = String::from_utf8_lossy(data);
                assert!(
                    text.contains("IsTruncated"),
                    "a next marker without IsTruncated"
                );
            }
        }
        Err(_) => {}
    }
    match xml::parse_acl(data) {
        Ok(Outcome::Error(e)) => assert_eq!(Some(e), xml::parse_error(data)),
        Ok(Outcome::Ok(grants)) => {
            assert!(grants.iter().all(|g| !g.permission.trim().is_empty()));
        }
        Err(_) => {}
    }
});
