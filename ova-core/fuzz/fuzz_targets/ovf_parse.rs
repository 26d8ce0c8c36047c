//! Fuzz the OVF descriptor parser, the edit splicer and the validation rules.
//!
//! Run: `cargo fuzz run ovf_parse --sanitizer none` (from `ova-core/`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use ova_core::ovf::{Descriptor, Edit};

fuzz_target!(|data: &[u8]| {
    let _ = ova_core::validate::validate_descriptor(data);
    let Ok(d) = Descriptor::parse(data) else {
        return;
    };
    // An unmodified descriptor is its input, byte for byte.
    assert_eq!(d.as_bytes(), data);
    assert_eq!(d.apply(&[]).unwrap(), data);
    // Edits either fail with a typed error or produce bytes that parse again.
    let value = String::from_utf8_lossy(&data[..data.len().min(16)]).into_owned();
    for edit in [
        Edit::set_virtual_system_type("vmx-07"),
        Edit::set_cpus(2),
        Edit::set_memory_mib(1024),
        Edit::set_name(value.clone()),
        Edit::set_property("hostname", value.clone()),
    ] {
        if let Ok(out) = d.apply(std::slice::from_ref(&edit)) {
            Descriptor::parse(&out).expect("an edited descriptor parses");
        }
    }
});
