//! Manifest text ↔ model round-trips (proptest) and the manifests of the OVF corpus (the
//! repository's `testdata/corpus/ovf`, see its SOURCES.md).

use ova_core::manifest::{self, Algorithm, Variant};
use proptest::prelude::*;

/// The bytes of one OVF corpus file; panics when it is missing.
fn corpus(rel: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/corpus/ovf/");
    let path = format!("{p}{rel}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("corpus file {path}: {e}"))
}

#[test]
fn corpus_manifests() {
    // VirtualBox/govmomi style: `SHA1 (x) = y`, rejected by VMware.
    let m = manifest::parse(&corpus("govmomi/ttylinux-pc_i486-16.1.mf"));
    assert!(m.bad_lines.is_empty());
    assert_eq!(m.lines.len(), 2);
    assert_eq!(m.lines[0].name, "ttylinux-pc_i486-16.1.ovf");
    assert_eq!(
        m.lines[1].digest_hex(),
        "648e20a1e1625b1bb963b08c926bc18e62f15dfc"
    );
    assert!(m.lines.iter().all(|l| l.algorithm == Algorithm::Sha1
        && l.vmware_rejects()
        && l.variants.contains(&Variant::SpaceBeforeParen)));
    for rel in ["cot/input.mf", "cot/ubuntu.2.0.mf"] {
        let b = corpus(rel);
        let m = manifest::parse(&b);
        assert!(m.bad_lines.is_empty(), "{rel}: {:?}", m.bad_lines);
        assert!(!m.lines.is_empty());
        // Canonical files re-format to the same bytes.
        if m.lines.iter().all(|l| l.variants.is_empty()) {
            let text: String = m
                .lines
                .iter()
                .map(|l| manifest::format_line(l.algorithm, &l.name, &l.digest))
                .collect();
            assert_eq!(text.as_bytes(), &b[..], "{rel}");
        }
    }
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

proptest! {
    #[test]
    fn canonical_roundtrip(
        lines in proptest::collection::vec(
            (algorithm(), "[A-Za-z0-9 ()=._-]{1,40}", any::<[u8; 64]>()),
            0..8,
        )
    ) {
        let lines: Vec<_> = lines
            .into_iter()
            .filter(|(_, n, _)| n.trim() == n.as_str() && !n.is_empty())
            .collect();
        let text: String = lines
            .iter()
            .map(|(a, n, d)| manifest::format_line(*a, n, &d[..a.digest_len()]))
            .collect();
        let m = manifest::parse(text.as_bytes());
        prop_assert!(m.bad_lines.is_empty(), "{:?}", m.bad_lines);
        prop_assert_eq!(m.lines.len(), lines.len());
        for (got, (a, n, d)) in m.lines.iter().zip(&lines) {
            prop_assert_eq!(got.algorithm, *a);
            prop_assert_eq!(&got.name, n);
            prop_assert_eq!(&got.digest[..], &d[..a.digest_len()]);
            prop_assert!(got.variants.is_empty());
        }
    }

    #[test]
    fn lenient_forms_parse_to_the_same_entry(
        a in algorithm(),
        name in "[A-Za-z0-9._()-]{1,30}",
        d in any::<[u8; 64]>(),
        form in 0usize..5,
    ) {
        let hex = hex::encode(&d[..a.digest_len()]);
        let tok = a.token();
        let line = match form {
            0 => format!("{tok} ({name}) = {hex}\n"),
            1 => format!("{tok}({name})={hex}\r\n"),
            2 => format!("{}({name})= {hex}\n", tok.replace("SHA", "SHA2-").replace("SHA2-1", "SHA1")),
            3 => format!("{tok}({name})= {}\n", hex.to_uppercase()),
            _ => format!("  {tok}({name})=  {hex}  \n"),
        };
        let m = manifest::parse(line.as_bytes());
        prop_assert!(m.bad_lines.is_empty(), "{line:?}: {:?}", m.bad_lines);
        prop_assert_eq!(&m.lines[0].name, &name);
        prop_assert_eq!(m.lines[0].algorithm, a);
        prop_assert_eq!(m.lines[0].digest_hex(), hex);
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = manifest::parse(&bytes);
    }
}
