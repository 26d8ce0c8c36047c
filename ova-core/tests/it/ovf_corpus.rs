//! Every descriptor of the OVF corpus (the repository's `testdata/corpus/ovf`, see its
//! SOURCES.md): parse, byte-identical round trip, model facts and validation findings.

use std::path::{Path, PathBuf};

use ova_core::Error;
use ova_core::ovf::{Content, Descriptor, OvfVersion};
use ova_core::validate::{Severity, validate_descriptor};

/// The OVF corpus directory; panics when it is missing.
fn corpus_dir() -> PathBuf {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/corpus/ovf"
    ));
    assert!(dir.is_dir(), "OVF corpus missing at {}", dir.display());
    dir.to_path_buf()
}

/// All `.ovf` files under the corpus, sorted, as (name relative to the corpus, bytes).
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir();
    let mut out = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "ovf") {
                let name = p
                    .strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    assert!(
        out.len() >= 35,
        "expected the 35 corpus descriptors, found {}",
        out.len()
    );
    out
}

/// One corpus descriptor, parsed; panics when the file is missing or does not parse.
fn load(name: &str) -> Descriptor {
    let p = corpus_dir().join(name);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Descriptor::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Files that are not OVF at all, with the error they must give.
const UNPARSEABLE: &[&str] = &[
    "cot/ersatz_ovf_3.0.ovf",
    "govmomi/invalid-html404-descriptor.ovf",
];

/// Error findings each file must produce (every other file: none).
const EXPECTED_ERRORS: &[(&str, &[&str])] = &[
    ("cot/ersatz_ovf_3.0.ovf", &["unknown-ovf-namespace"]),
    (
        "cot/invalid.ovf",
        &["disk-file-ref-dangling", "host-resource-dangling"],
    ),
    (
        "govmomi/invalid-html404-descriptor.ovf",
        &["not-an-ovf-envelope"],
    ),
    (
        "govmomi/invalid-fileelements_samefile.ovf",
        &["duplicate-file-href"],
    ),
    (
        "govmomi/invalid-not_in_order_disks.ovf",
        &["unsafe-href", "disk-order-differs-from-references"],
    ),
    (
        "govmomi/invalid-popsize_gt_capacity.ovf",
        &["unsafe-href", "populated-size-exceeds-capacity"],
    ),
    (
        "govmomi/invalid-prop_dup_keys.ovf",
        &["unsafe-href", "duplicate-property-key"],
    ),
    (
        "govmomi/invalid-ref_dup_id.ovf",
        &["duplicate-file-id", "unsafe-href"],
    ),
    // ovftool's positive template still points at a file outside the package.
    (
        "govmomi/ovftooltemplates-gzip_compression.ovf",
        &["unsafe-href"],
    ),
    // A SATA controller on vmx-08: SATA needs vmx-10.
    (
        "govmomi/nested-vapp.ovf",
        &["hardware-exceeds-virtual-system-type"],
    ),
    // Templates with `@@PLACEHOLDER@@` numbers.
    ("open-vmdk/template-hw21.ovf", &["not-a-number"]),
    ("open-vmdk/template-hw7.ovf", &["not-a-number"]),
];

#[test]
fn every_descriptor_round_trips_byte_identical_or_gives_a_typed_error() {
    for (name, bytes) in corpus() {
        match Descriptor::parse(&bytes) {
            Ok(d) => {
                assert!(d.as_bytes() == bytes.as_slice(), "{name}: bytes changed");
                let same = d.apply(&[]).unwrap();
                assert!(same == bytes, "{name}: empty edit list changed bytes");
                serde_json::to_string(&d).unwrap();
                assert!(!d.systems().is_empty(), "{name}: no virtual system found");
            }
            Err(e) => {
                assert!(UNPARSEABLE.contains(&name.as_str()), "{name}: {e}");
                assert!(
                    matches!(
                        e,
                        Error::OvfNotEnvelope { .. } | Error::OvfUnknownNamespace { .. }
                    ),
                    "{name}: {e}"
                );
            }
        }
    }
}

#[test]
fn validation_findings_match_expectations() {
    for (name, bytes) in corpus() {
        let findings = validate_descriptor(&bytes);
        let mut errors: Vec<&str> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.code)
            .collect();
        let expected: &[&str] = EXPECTED_ERRORS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[], |(_, e)| e);
        let mut want = expected.to_vec();
        want.sort_unstable();
        errors.sort_unstable();
        errors.dedup();
        assert_eq!(errors, want, "{name}: {findings:#?}");
    }
}

#[test]
fn truncations_and_corruptions_never_panic() {
    for (_name, bytes) in corpus() {
        // About a hundred prefix lengths per file.
        let step = (bytes.len() / 100).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let _ = Descriptor::parse(&bytes[..cut]);
            let _ = validate_descriptor(&bytes[..cut]);
        }
        let mut flipped = bytes.clone();
        for i in (0..flipped.len()).step_by(97) {
            flipped[i] ^= 0x20;
        }
        let _ = validate_descriptor(&flipped);
    }
}

#[test]
fn ovf_versions() {
    for (name, version) in [
        ("cot/v0.9.ovf", OvfVersion::V0_9),
        ("govmomi/ovftooltemplates-vbox1_0.9.ovf", OvfVersion::V0_9),
        ("cot/input.ovf", OvfVersion::V1),
        ("cot/ubuntu.2.0.ovf", OvfVersion::V2),
        ("govmomi/virtualsystemcollection.ovf", OvfVersion::V2),
    ] {
        let d = load(name);
        assert_eq!(d.version(), version, "{name}");
    }
}

#[test]
fn facts_vsphere8_export() {
    let d = load("govmomi/esxvmovf-25262174.ovf");
    let f = &d.references()[0];
    assert_eq!(
        (f.id.as_str(), f.href.as_str(), f.size),
        ("file1", "disk-0.vmdk", Some(706_671_104))
    );
    assert_eq!(d.disks()[0].capacity_bytes, Some(32 << 30));
    let s = d.system("esxvm-sb-62272164-rZ0").unwrap();
    assert_eq!(s.name.as_deref(), Some("esxvm-sb-62272164-rZ0"));
    let os = s.operating_system.as_ref().unwrap();
    assert_eq!(
        (os.id, os.vmw_os_type.as_deref()),
        (Some(104), Some("vmkernel8Guest"))
    );
    let h = &s.hardware[0];
    assert_eq!(h.system_types, ["vmx-20"]);
    assert_eq!(h.cpus(), Some(2));
    assert_eq!(h.memory_mib(), Some(8192));
    let subtypes: Vec<_> = h
        .controllers()
        .filter_map(|c| c.resource_sub_type.as_deref())
        .collect();
    assert!(subtypes.contains(&"VirtualSCSI"), "{subtypes:?}");
    assert_eq!(h.nics().count(), 1);
    assert_eq!(
        h.nics().next().unwrap().resource_sub_type.as_deref(),
        Some("VmxNet3")
    );
}

#[test]
fn facts_ovf_0_9() {
    let d = load("cot/v0.9.ovf");
    assert_eq!(d.disks()[0].capacity_bytes, Some(1_073_741_824));
    assert_eq!(d.networks()[0].name, "bridged");
    let s = &d.systems()[0];
    assert_eq!(s.id, "v0.9");
    let h = &s.hardware[0];
    assert_eq!(h.system_types, ["vmx-04"]);
    assert_eq!((h.cpus(), h.memory_mib()), (Some(1), Some(8192)));
    assert_eq!(h.disks().next().unwrap().host_resources, ["/disk/vmdisk1"]);
    assert!(s.eulas[0].starts_with("Licensing text"));
    assert!(s.annotation.as_deref().unwrap().starts_with("Hello world!"));
    assert_eq!(s.operating_system.as_ref().unwrap().id, Some(107));
}

#[test]
fn facts_csr1000v_products_and_profiles() {
    let d = load("cot/csr1000v.ovf");
    let s = &d.systems()[0];
    assert_eq!(
        s.name.as_deref(),
        Some("Cisco CSR 1000V Cloud Services Router")
    );
    let h = &s.hardware[0];
    assert_eq!(
        h.system_types,
        [
            "vmx-08",
            "vmx-09",
            "vmx-10",
            "vmx-11",
            "Cisco:Internal:VMCloud-01"
        ]
    );
    // The default configuration's values (items without ovf:configuration).
    assert_eq!((h.cpus(), h.memory_mib()), (Some(1), Some(4096)));
    let props: usize = s.products.iter().map(|p| p.properties.len()).sum();
    assert_eq!(props, 27);
    let find = |k: &str| {
        s.products
            .iter()
            .flat_map(|p| &p.properties)
            .find(|p| p.key == k)
            .unwrap()
    };
    let hostname = find("hostname");
    assert_eq!(hostname.qualifiers.as_deref(), Some("MaxLen(63)"));
    assert!(hostname.user_configurable);
    assert_eq!(hostname.value.as_deref(), Some(""));
    assert!(find("login-password").password);
}

#[test]
fn facts_collections_chunks_and_compression() {
    let d = load("govmomi/nested-vapp.ovf");
    assert!(matches!(d.content(), Some(Content::Collection(_))));
    assert!(d.collections().len() >= 2, "nested collection");
    assert!(d.systems().len() >= 2);

    let d = load("govmomi/nostalgia-chunkdisk.ovf");
    let f = &d.references()[0];
    assert_eq!(
        (f.chunk_size, f.size),
        (Some(7_516_192_768), Some(6_872_576))
    );

    let d = load("govmomi/ovftooltemplates-gzip_compression.ovf");
    assert_eq!(d.references()[0].compression.as_deref(), Some("gzip"));

    let d = load("govmomi/ovftooltemplates-vbox1.ovf");
    assert_eq!(d.disks()[0].capacity_bytes, Some(10_737_418_240));
    assert_eq!(d.systems()[0].hardware[0].memory_mib(), Some(192));
    assert_eq!(d.systems()[0].hardware[0].system_types, ["virtualbox-2.2"]);

    let d = load("cot/ubuntu.2.0.ovf");
    assert_eq!(d.disks()[0].capacity_bytes, Some(8_589_934_592));
    assert_eq!(d.systems()[0].hardware[0].memory_mib(), Some(512));

    let d = load("govmomi/ImportOvf2014-eula.ovf");
    let vsc = &d.collections()[0];
    assert!(!vsc.eulas.is_empty());
    assert!(d.systems().iter().any(|s| !s.eulas.is_empty()));
}

#[test]
fn bom_and_crlf_variants_read_the_same() {
    for (name, bytes) in corpus() {
        let Ok(d) = Descriptor::parse(&bytes) else {
            continue;
        };
        let model = serde_json::to_value(&d).unwrap();
        // Toggle the byte order mark (one corpus file has one).
        let bom = match bytes.strip_prefix(b"\xef\xbb\xbf") {
            Some(rest) => rest.to_vec(),
            None => [b"\xef\xbb\xbf".as_slice(), &bytes].concat(),
        };
        let lf: Vec<u8> = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\r\n", "\n")
            .into_bytes();
        let crlf: Vec<u8> = String::from_utf8(lf.clone())
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes();
        for (variant, b) in [("bom", bom), ("lf", lf), ("crlf", crlf)] {
            let v = Descriptor::parse(&b).unwrap_or_else(|e| panic!("{name} {variant}: {e}"));
            assert_eq!(v.as_bytes(), b.as_slice());
            assert_eq!(
                serde_json::to_value(&v).unwrap(),
                model,
                "{name} {variant}: model differs"
            );
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Random splices into real descriptors: a typed error or a descriptor that round-trips.
    #[test]
    fn mutated_descriptors_never_panic(
        file in 0usize..64,
        at in proptest::prelude::any::<proptest::sample::Index>(),
        cut in 0usize..40,
        insert in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
    ) {
        let files = corpus();
        let (_, bytes) = &files[file % files.len()];
        let pos = at.index(bytes.len());
        let end = (pos + cut).min(bytes.len());
        let mut m = bytes[..pos].to_vec();
        m.extend_from_slice(&insert);
        m.extend_from_slice(&bytes[end..]);
        let _ = validate_descriptor(&m);
        if let Ok(d) = Descriptor::parse(&m) {
            proptest::prop_assert_eq!(d.as_bytes(), m.as_slice());
            proptest::prop_assert_eq!(d.apply(&[]).unwrap(), m);
        }
    }
}

#[test]
fn json_view_carries_computed_hardware_values() {
    let d = load("govmomi/esxvmovf-25262174.ovf");
    let j = serde_json::to_value(&d).unwrap();
    assert_eq!(j["version"], "1.x");
    assert_eq!(j["disks"][0]["capacity_bytes"], 34_359_738_368u64);
    let hw = &j["content"]["hardware"][0];
    assert_eq!(hw["cpus"], 2);
    assert_eq!(hw["memory_mib"], 8192);
    assert_eq!(hw["firmware"], "efi");
    assert_eq!(hw["system_types"][0], "vmx-20");
    assert_eq!(j["content"]["kind"], "system");
}
