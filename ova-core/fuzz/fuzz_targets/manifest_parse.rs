//! Manifest parsing: never panics, and canonical re-formatting re-parses to the same lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ova_core::manifest;

fuzz_target!(|data: &[u8]| {
    let m = manifest::parse(data);
    let text: String = m
        .lines
        .iter()
        .map(|l| manifest::format_line(l.algorithm, &l.name, &l.digest))
        .collect();
    let again = manifest::parse(text.as_bytes());
    assert_eq!(again.lines.len(), m.lines.len());
    for (a, b) in again.lines.iter().zip(&m.lines) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.digest, b.digest);
        assert!(a.variants.is_empty());
    }
});
