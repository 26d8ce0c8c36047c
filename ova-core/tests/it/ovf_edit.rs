//! Edits on the OVF corpus (the repository's `testdata/corpus/ovf`, see its SOURCES.md): each
//! edit changes only the edited text, the result parses, and the model reads the new value back.

use std::path::Path;

use ova_core::Error;
use ova_core::ovf::{Descriptor, Edit};
use proptest::prelude::*;

/// The OVF corpus directory; panics when it is missing.
fn corpus_dir() -> &'static Path {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/corpus/ovf"
    ));
    assert!(dir.is_dir(), "OVF corpus missing at {}", dir.display());
    dir
}

/// One corpus descriptor, parsed; panics when the file is missing or does not parse.
fn load(name: &str) -> (Vec<u8>, Descriptor) {
    let p = corpus_dir().join(name);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let d = Descriptor::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    (bytes, d)
}

/// Every parseable corpus descriptor.
fn corpus() -> Vec<(String, Descriptor)> {
    let dir = corpus_dir();
    let mut out = Vec::new();
    for sub in ["cot", "govmomi", "open-vmdk"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "ovf"))
            .collect();
        names.sort();
        for p in names {
            if let Ok(d) = Descriptor::parse(&std::fs::read(&p).unwrap()) {
                out.push((
                    format!("{sub}/{}", p.file_name().unwrap().to_string_lossy()),
                    d,
                ));
            }
        }
    }
    assert!(out.len() >= 33, "only {} parseable descriptors", out.len());
    out
}

/// The changed region: (old bytes, new bytes) between the common prefix and suffix.
fn diff<'a>(a: &'a [u8], b: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let max_post = a.len().min(b.len()) - pre;
    let post = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_post)
        .take_while(|(x, y)| x == y)
        .count();
    (&a[pre..a.len() - post], &b[pre..b.len() - post])
}

/// Whether `changed` is a sub-slice of `within` (the changed bytes lie inside the expected
/// text, allowing common prefixes such as `vmx-` to be trimmed away).
fn inside(changed: &[u8], within: &[u8]) -> bool {
    changed.is_empty() || within.windows(changed.len()).any(|w| w == changed)
}

#[test]
fn virtual_system_type_on_every_system() {
    let mut edited = 0;
    for (name, d) in corpus() {
        for s in d.systems() {
            if s.hardware.len() != 1 || s.hardware[0].system_types.is_empty() {
                continue;
            }
            let old = s.hardware[0].system_types.join(" ");
            let out = d
                .apply(&[
                    Edit::set_virtual_system_type("vmx-07").in_system(&s.id),
                    // the splice is what is tested here; the refusal has its own test
                    Edit::AllowIncompatibleHardware,
                ])
                .unwrap_or_else(|e| panic!("{name} {}: {e}", s.id));
            let (was, now) = diff(d.as_bytes(), &out);
            assert!(
                inside(now, b"vmx-07"),
                "{name}: inserted {:?}",
                String::from_utf8_lossy(now)
            );
            let raw_old = std::str::from_utf8(was).unwrap();
            assert!(
                old.contains(raw_old.trim()) || raw_old.trim().is_empty(),
                "{name}: replaced {raw_old:?}, expected part of {old:?}"
            );
            let back = Descriptor::parse(&out).unwrap();
            assert_eq!(
                back.system(&s.id).unwrap().hardware[0].system_types,
                ["vmx-07"],
                "{name}"
            );
            edited += 1;
        }
    }
    assert!(edited >= 30, "only {edited} systems edited");
}

#[test]
fn cpus_and_memory_on_every_system() {
    for (name, d) in corpus() {
        for s in d.systems() {
            if s.hardware.len() != 1 {
                continue;
            }
            let h = &s.hardware[0];
            match d.apply(&[
                Edit::set_cpus(3).in_system(&s.id),
                Edit::AllowIncompatibleHardware,
            ]) {
                Ok(out) => {
                    let (_, now) = diff(d.as_bytes(), &out);
                    // the quantity, and the generated ElementName kept in step with it
                    assert!(
                        inside(now, b"3")
                            || String::from_utf8_lossy(now).contains("3 virtual CPU(s)"),
                        "{name}"
                    );
                    let back = Descriptor::parse(&out).unwrap();
                    assert_eq!(back.system(&s.id).unwrap().hardware[0].cpus(), Some(3));
                }
                Err(Error::OvfEditTargetAbsent { .. }) => assert!(
                    h.items.iter().all(|i| i.resource_type != Some(3)) || h.cpus().is_none(),
                    "{name}: cpu item exists but was not found"
                ),
                Err(e) => panic!("{name} {}: {e}", s.id),
            }
            match d.apply(&[
                Edit::set_memory_mib(3072).in_system(&s.id),
                Edit::AllowIncompatibleHardware,
            ]) {
                Ok(out) => {
                    let back = Descriptor::parse(&out).unwrap();
                    assert_eq!(
                        back.system(&s.id).unwrap().hardware[0].memory_mib(),
                        Some(3072),
                        "{name}"
                    );
                    // Only the quantity (and possibly the units) changed: same length ± a few
                    // bytes, and the JSON model differs only in those fields.
                    let before = serde_json::to_value(&d).unwrap();
                    let after = serde_json::to_value(&back).unwrap();
                    assert_eq!(
                        before["references"], after["references"],
                        "{name}: references changed"
                    );
                    assert_eq!(before["disks"], after["disks"], "{name}: disks changed");
                }
                Err(Error::OvfEditTargetAbsent { .. }) => {
                    assert!(h.memory_mib().is_none(), "{name}: memory item exists")
                }
                Err(e) => panic!("{name} {}: {e}", s.id),
            }
        }
    }
}

#[test]
fn every_property_of_every_file() {
    let mut edited = 0;
    for (name, d) in corpus() {
        for (owner, p) in d.product_sections() {
            for prop in &p.properties {
                let edit = Edit::set_property(&prop.key, "new & <value>")
                    .in_system(owner)
                    .in_product(p.class.clone(), p.instance.clone());
                match d.apply(std::slice::from_ref(&edit)) {
                    Ok(out) => {
                        let (_, now) = diff(d.as_bytes(), &out);
                        let now = std::str::from_utf8(now).unwrap();
                        assert!(
                            "new &amp; &lt;value&gt;".contains(now)
                                || now.contains("value=\"new &amp; &lt;value&gt;\""),
                            "{name}: {now:?}"
                        );
                        let back = Descriptor::parse(&out).unwrap();
                        let found = back
                            .product_sections()
                            .into_iter()
                            .filter(|(o, q)| {
                                *o == owner && q.class == p.class && q.instance == p.instance
                            })
                            .flat_map(|(_, q)| q.properties.iter())
                            .find(|q| q.key == prop.key)
                            .unwrap();
                        assert_eq!(found.value.as_deref(), Some("new & <value>"), "{name}");
                        edited += 1;
                    }
                    // The corpus holds a section with duplicate keys on purpose.
                    Err(Error::OvfEditTargetAmbiguous { .. }) => {
                        assert_eq!(name, "govmomi/invalid-prop_dup_keys.ovf")
                    }
                    Err(e) => panic!("{name} {}: {e}", prop.key),
                }
            }
        }
    }
    assert!(edited >= 100, "only {edited} properties edited");
}

#[test]
fn names_and_composed_edits() {
    for (name, d) in corpus() {
        let systems = d.systems();
        let Some(s) = systems.first() else { continue };
        let mut edits = vec![Edit::set_name("renamed \"vm\"").in_system(&s.id)];
        if s.hardware.len() == 1 && !s.hardware[0].system_types.is_empty() {
            edits.push(Edit::set_virtual_system_type("vmx-10").in_system(&s.id));
        }
        match d.apply(&edits) {
            Ok(out) => {
                let back = Descriptor::parse(&out).unwrap();
                assert_eq!(
                    back.system(&s.id).unwrap().name.as_deref(),
                    Some("renamed \"vm\""),
                    "{name}"
                );
                // Everything outside the two spliced regions is identical: removing both
                // new values from the output and the old ones from the input gives the same
                // skeleton.
                assert!(out.len().abs_diff(d.as_bytes().len()) < 200, "{name}");
            }
            Err(Error::OvfEditTargetAbsent { what, .. }) => {
                assert!(s.name.is_none(), "{name}: {what}")
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn ambiguity_in_collections() {
    let (_, d) = load("govmomi/ImportOvf2014-3VMvApp.ovf");
    assert!(d.systems().len() >= 3);
    match d.apply(&[Edit::set_cpus(2)]).unwrap_err() {
        Error::OvfEditTargetAmbiguous { candidates, .. } => {
            assert_eq!(candidates.len(), d.systems().len())
        }
        e => panic!("{e}"),
    }
    let id = d.systems()[1].id.clone();
    let out = d.apply(&[Edit::set_cpus(2).in_system(&id)]).unwrap();
    let back = Descriptor::parse(&out).unwrap();
    assert_eq!(back.system(&id).unwrap().hardware[0].cpus(), Some(2));
    for s in d.systems() {
        if s.id != id {
            assert_eq!(
                back.system(&s.id).unwrap().hardware[0].cpus(),
                s.hardware[0].cpus()
            );
        }
    }
}

fn one_property_file() -> Descriptor {
    load("cot/csr1000v.ovf").1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any XML-representable string survives a property edit exactly, and only the
    /// attribute value's bytes change.
    #[test]
    fn property_values_round_trip(value in "[\\x09\\x0a\\x0d\\x20-\\x7e\u{a0}-\u{2fff}\u{1F600}]{0,40}") {
        let d = one_property_file();
        let out = d.apply(&[Edit::set_property("hostname", value.clone())]).unwrap();
        let back = Descriptor::parse(&out).unwrap();
        let got = back
            .product_sections()
            .into_iter()
            .flat_map(|(_, p)| p.properties.iter())
            .find(|p| p.key == "hostname")
            .and_then(|p| p.value.clone());
        prop_assert_eq!(got.as_deref(), Some(value.as_str()));
        let (was, _) = diff(d.as_bytes(), &out);
        prop_assert!(was.is_empty(), "the old value was empty, so nothing may be removed");
    }

    /// Names (element text) round-trip too, including `]]>`, CR and leading spaces.
    #[test]
    fn names_round_trip(name in "[\\x0a\\x20-\\x7e\u{e9}]{1,30}") {
        prop_assume!(name.trim() == name);
        let d = one_property_file();
        let out = d.apply(&[Edit::set_name(name.clone())]).unwrap();
        let back = Descriptor::parse(&out).unwrap();
        prop_assert_eq!(back.systems()[0].name.as_deref(), Some(name.as_str()));
    }

    /// CPU counts and memory sizes always read back as written.
    #[test]
    fn quantities_round_trip(cpus in 1u64..1000, mib in 1u64..(1 << 30)) {
        let d = one_property_file();
        let out = d
            .apply(&[
                Edit::set_cpus(cpus),
                Edit::set_memory_mib(mib),
                Edit::AllowIncompatibleHardware,
            ])
            .unwrap();
        let back = Descriptor::parse(&out).unwrap();
        let h = &back.systems()[0].hardware[0];
        prop_assert_eq!(h.cpus(), Some(cpus));
        prop_assert_eq!(h.memory_mib(), Some(mib));
    }
}

/// The user story: a vSphere 8 export set to vmx-07 for an old host. The edit is one splice,
/// and validation catches what vmx-07 cannot carry.
#[test]
fn downgrade_of_a_vsphere8_export_is_caught() {
    let (bytes, d) = load("govmomi/esxvmovf-25262174.ovf");
    assert_eq!(d.systems()[0].hardware[0].firmware.as_deref(), Some("efi"));
    assert!(!ova_core::validate::has_errors(
        &ova_core::validate::validate_descriptor(&bytes)
    ));
    // refused as it stands (EFI at vmx-07), written when forced
    let refused = d
        .apply(&[Edit::set_virtual_system_type("vmx-07")])
        .unwrap_err();
    assert!(
        matches!(&refused, Error::OvfEditIncompatibleHardware { problems } if problems.iter().any(|p| p.contains("EFI firmware"))),
        "{refused:?}"
    );
    let out = d
        .apply(&[
            Edit::set_virtual_system_type("vmx-07"),
            Edit::AllowIncompatibleHardware,
        ])
        .unwrap();
    let (was, now) = diff(&bytes, &out);
    assert_eq!((was, now), (&b"20"[..], &b"07"[..]));
    let findings = ova_core::validate::validate_descriptor(&out);
    let exceeded: Vec<_> = findings
        .iter()
        .filter(|f| f.code == "hardware-exceeds-virtual-system-type")
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        exceeded.iter().any(|m| m.contains("EFI firmware")),
        "{findings:#?}"
    );
    assert!(ova_core::validate::has_errors(&findings));
}
