//! The AWS shared config/credentials file reader: never panics, keys come out lowercased and
//! trimmed, and a file written back from what was read (flat keys only) reads the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_stream::config::{Profile, parse_profile_file};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sections = parse_profile_file(text);
    let mut written = String::new();
    for (name, keys) in &sections {
        for k in keys.keys() {
            assert_eq!(k.trim(), k);
            assert_eq!(&k.to_ascii_lowercase(), k);
        }
        let flat: Vec<_> = keys
            .iter()
            .filter(|(k, v)| !k.contains('.') && !v.is_empty())
            .collect();
        written.push_str(&format!("[{name}]\n"));
        for (k, v) in flat {
            written.push_str(&format!("{k} = {v}\n"));
        }
    }
    for (name, keys) in parse_profile_file(&written) {
        let flat: Vec<_> = keys
            .iter()
            .filter(|(k, v)| !k.contains('.') && !v.is_empty())
            .collect();
        let orig = sections.get(&name);
        for (k, v) in flat {
            assert_eq!(orig.and_then(|o| o.get(k)), Some(v), "[{name}] {k}");
        }
    }
    let (creds, conf) = text.split_once("\n\n").unwrap_or((text, ""));
    for name in ["default", "p"] {
        let _ = Profile::from_files(name, creds, conf);
        let _ = Profile::from_files(name, text, text);
    }
});
