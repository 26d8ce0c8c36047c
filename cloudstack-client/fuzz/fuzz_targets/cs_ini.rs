//! `cloudstack.ini` (Python configparser's dialect, as `cs` reads it) and the settings built
//! from it: never panics, and a file written back from what was read (single-line values without
//! `%`) reads the same.
#![no_main]

use cloudstack_client::config::{IniFile, parse_ini, read_config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sections) = parse_ini(text) {
        let mut written = String::new();
        let mut kept = Vec::new();
        for (name, keys) in &sections {
            if name.contains(['\r', '\n']) || name.trim() != name || name.is_empty() {
                continue;
            }
            written.push_str(&format!("[{name}]\n"));
            for (k, v) in keys {
                if v.contains(['\n', '\r', '%']) || k.contains(['=', ':', '\r', '\n', '[']) {
                    continue;
                }
                if k.starts_with(['#', ';']) || k.trim() != k || k.is_empty() {
                    continue;
                }
                written.push_str(&format!("{k} = {v}\n"));
                kept.push((name.clone(), k.clone(), v.clone()));
            }
        }
        if let Ok(again) = parse_ini(&written) {
            for (name, k, v) in kept {
                assert_eq!(
                    again.get(&name).and_then(|s| s.get(&k)),
                    Some(&v),
                    "[{name}] {k}"
                );
            }
        }
    }
    let env = |k: &str| (k == "CLOUDSTACK_REGION").then(|| "cloudstack".to_owned());
    let files = [IniFile {
        path: "cloudstack.ini".into(),
        text: Some(text.to_owned()),
    }];
    let _ = read_config(&env, &files, None);
    let _ = read_config(&|_| None, &files, Some("cloudstack"));
});
