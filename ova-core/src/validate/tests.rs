//! Unit tests of the validation rules.

use super::descriptor::qualifier_violation;
use super::*;
use crate::archive::{EntryInfo, EntryKind, EntryProblem, Extension};
use crate::manifest::{Manifest, VerifyReport};
use crate::vmdk::VmdkProblem;

const OVF: &str = r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
<File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="1000"/>
<File ovf:href="cd.iso" ovf:id="file2" ovf:size="300"/>
  </References>
  <DiskSection><Info/>
<Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:populatedSize="500"/>
  </DiskSection>
  <NetworkSection><Info/><Network ovf:name="VM Network"/></NetworkSection>
  <VirtualSystem ovf:id="vm">
<Info/>
<ProductSection><Info/><Property ovf:key="a" ovf:type="string" ovf:value="x"/></ProductSection>
<VirtualHardwareSection><Info/>
  <System><vssd:VirtualSystemType>vmx-10</vssd:VirtualSystemType></System>
  <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
  <Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
  <Item><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>3</rasd:InstanceID><rasd:Parent>2</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
  <Item><rasd:HostResource>ovf:/file/file2</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:ResourceType>15</rasd:ResourceType></Item>
  <Item><rasd:Connection>VM Network</rasd:Connection><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
</VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#;

fn codes(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.code).collect()
}

fn with(from: &str, to: &str) -> Vec<u8> {
    assert!(OVF.contains(from), "{from}");
    OVF.replacen(from, to, 1).into_bytes()
}

fn entry(name: &str, size: u64) -> EntryInfo {
    EntryInfo {
        index: 0,
        name: name.into(),
        kind: EntryKind::of(name),
        entry_type: crate::tar::EntryType::Regular,
        size,
        header_offset: 0,
        own_header_offset: 0,
        data_offset: 0,
        header_format: crate::tar::HeaderFormat::Ustar,
        extensions: vec![],
        mode: 0o644,
        mtime: 0,
        problems: vec![],
    }
}

fn with_problem(mut e: EntryInfo, p: EntryProblem) -> EntryInfo {
    e.problems.push(p);
    e
}

const DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn manifest(names: &[&str]) -> Manifest {
    let text: String = names
        .iter()
        .map(|n| format!("SHA256({n})= {DIGEST}\n"))
        .collect();
    crate::manifest::parse(text.as_bytes())
}

fn good_facts() -> PackageFacts {
    PackageFacts::new(
        vec![
            entry("vm.ovf", OVF.len() as u64),
            entry("vm.mf", 100),
            entry("disk1.vmdk", 1000),
            entry("cd.iso", 300),
        ],
        Some(OVF.as_bytes().to_vec()),
        Some(ManifestFacts::new(
            "vm.mf",
            manifest(&["vm.ovf", "disk1.vmdk", "cd.iso"]),
            Some(VerifyReport::default()),
        )),
    )
}

#[test]
fn a_good_descriptor_and_package_have_no_findings() {
    assert_eq!(validate_descriptor(OVF.as_bytes()), vec![]);
    assert_eq!(validate_package(&good_facts()), vec![]);
}

#[test]
fn descriptor_rules() {
    let cases: &[(&str, &str, &str)] = &[
        ("ovf:id=\"file2\"", "ovf:id=\"file1\"", "duplicate-file-id"),
        (
            "ovf:href=\"cd.iso\"",
            "ovf:href=\"disk1.vmdk\"",
            "duplicate-file-href",
        ),
        (
            "ovf:href=\"cd.iso\"",
            "ovf:href=\"../cd.iso\"",
            "unsafe-href",
        ),
        (
            "ovf:href=\"cd.iso\"",
            "ovf:href=\"vm.mf\"",
            "manifest-in-references",
        ),
        (
            "ovf:fileRef=\"file1\"",
            "ovf:fileRef=\"nope\"",
            "disk-file-ref-dangling",
        ),
        (
            "ovf:populatedSize=\"500\"",
            "ovf:populatedSize=\"1073741825\"",
            "populated-size-exceeds-capacity",
        ),
        ("byte * 2^30", "byte * 2^", "capacity-units-unparseable"),
        ("ovf:capacity=\"1\"", "ovf:capacity=\"one\"", "not-a-number"),
        (
            "ovf:/disk/vmdisk1",
            "ovf:/disk/vmdisk9",
            "host-resource-dangling",
        ),
        (
            "ovf:/file/file2",
            "ovf:/file/file9",
            "host-resource-dangling",
        ),
        (
            "<rasd:Parent>2</rasd:Parent>",
            "<rasd:Parent>7</rasd:Parent>",
            "item-parent-dangling",
        ),
        (
            "<rasd:InstanceID>4</rasd:InstanceID>",
            "<rasd:InstanceID>3</rasd:InstanceID>",
            "duplicate-instance-id",
        ),
        (
            "<rasd:Connection>VM Network</rasd:Connection>",
            "<rasd:Connection>Other</rasd:Connection>",
            "connection-network-undeclared",
        ),
        (
            "ovf:key=\"a\" ovf:type=\"string\" ovf:value=\"x\"/>",
            "ovf:key=\"a\" ovf:type=\"string\" ovf:value=\"x\"/><Property ovf:key=\"a\" ovf:type=\"string\"/>",
            "duplicate-property-key",
        ),
        (
            "ovf:value=\"x\"",
            "ovf:value=\"x\" ovf:qualifiers=\"MinLen(2)\"",
            "property-value-violates-qualifier",
        ),
        (
            "ovf:value=\"x\"",
            "ovf:value=\"x\" ovf:qualifiers=\"ValueMap{&quot;y&quot;,&quot;z&quot;}\"",
            "property-value-violates-qualifier",
        ),
        ("vmx-10", "virtualbox-2.2", "non-vmware-virtual-system-type"),
        ("vmx-10", "quux-1", "unknown-virtual-system-type"),
        ("vmx-10", "vmx-04", "hardware-exceeds-virtual-system-type"),
        (
            "<Network ovf:name=\"VM Network\"/>",
            "<Network ovf:name=\"VM Network\"/><Network ovf:name=\"VM Network\"/>",
            "duplicate-network-name",
        ),
        (
            "<VirtualSystem ovf:id=\"vm\">",
            "<VirtualSystem ovf:id=\"vm\">",
            "",
        ),
    ];
    for (from, to, code) in cases {
        let f = validate_descriptor(&with(from, to));
        if code.is_empty() {
            assert!(f.is_empty());
            continue;
        }
        assert!(codes(&f).contains(code), "{code}: {f:#?}");
    }
    // Disk order.
    let two = with(
        "<Disk ovf:capacity=\"1\"",
        "<Disk ovf:capacity=\"1\" ovf:diskId=\"vmdisk2\" ovf:fileRef=\"file2\"/>\n<Disk ovf:capacity=\"1\"",
    );
    assert!(codes(&validate_descriptor(&two)).contains(&"disk-order-differs-from-references"));
    // Parse failures.
    assert_eq!(codes(&validate_descriptor(b"<a>")), ["xml-not-well-formed"]);
    assert_eq!(
        codes(&validate_descriptor(b"<HTML/>")),
        ["not-an-ovf-envelope"]
    );
    assert_eq!(
        codes(&validate_descriptor(
            b"<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/3\"/>"
        )),
        ["unknown-ovf-namespace"]
    );
}

#[test]
fn instance_ids_per_configuration() {
    let item = |cfg: &str| {
        format!(
            "<Item{cfg}><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>"
        )
    };
    let first = item("");
    let doc = |extra: &str| with(&first, &format!("{first}{extra}"));
    let dup =
        |extra: &str| codes(&validate_descriptor(&doc(extra))).contains(&"duplicate-instance-id");
    // The default item plus per-configuration overrides is the normal pattern.
    assert!(!dup(&item(" ovf:configuration=\"a\"")));
    assert!(!dup(&[
        item(" ovf:configuration=\"a\""),
        item(" ovf:configuration=\"b c\"")
    ]
    .concat()));
    // An item for "b" beside one for "a b" overrides it there (DSP0243's SugarCRM example).
    assert!(!dup(&[
        item(" ovf:configuration=\"a b\""),
        item(" ovf:configuration=\"b\"")
    ]
    .concat()));
    // Two items for the same configurations are ambiguous.
    assert!(dup(&[
        item(" ovf:configuration=\"a b\""),
        item(" ovf:configuration=\"b a\"")
    ]
    .concat()));
    assert!(dup(&item("")));
}

#[test]
fn qualifiers() {
    assert_eq!(qualifier_violation("MinLen(1) MaxLen(3)", "ab"), None);
    assert!(qualifier_violation("MaxLen(3)", "abcd").is_some());
    assert_eq!(qualifier_violation("ValueMap{\"a\",\"b\"}", "b"), None);
    assert_eq!(qualifier_violation("ValueMap{1..10}", "99"), None);
    assert_eq!(qualifier_violation("Ip", "x"), None);
}

fn package_codes(change: impl FnOnce(&mut PackageFacts)) -> Vec<&'static str> {
    let mut f = good_facts();
    change(&mut f);
    codes(&validate_package(&f))
}

#[test]
fn placement_rules() {
    assert_eq!(
        package_codes(|f| f.entries.swap(0, 2)),
        ["descriptor-not-first", "manifest-out-of-place"]
    );
    assert_eq!(
        package_codes(
            |f| f.entries[0].problems.push(EntryProblem::ExtensionHeader {
                extension: Extension::PaxLocal
            })
        ),
        ["non-ustar-header-before-descriptor"]
    );
    // Manifest at the end is fine; in the middle it is not.
    assert!(
        package_codes(|f| {
            let m = f.entries.remove(1);
            f.entries.push(m);
        })
        .is_empty()
    );
    assert_eq!(
        package_codes(|f| f.entries.swap(1, 2)),
        ["manifest-out-of-place"]
    );
    // Certificate right after the manifest, or both at the end.
    assert!(package_codes(|f| f.entries.insert(2, entry("vm.cert", 10))).is_empty());
    assert!(
        package_codes(|f| {
            let m = f.entries.remove(1);
            f.entries.push(m);
            f.entries.push(entry("vm.cert", 10));
        })
        .is_empty()
    );
    assert_eq!(
        package_codes(|f| f.entries.push(entry("vm.cert", 10))),
        ["certificate-out-of-place"]
    );
    assert_eq!(
        package_codes(|f| {
            f.entries.remove(1);
            f.manifest = None;
            f.entries.push(entry("vm.cert", 10));
        }),
        ["certificate-without-manifest"]
    );
    assert_eq!(
        package_codes(|f| f.entries.push(entry("x.mf", 10))),
        ["multiple-manifests"]
    );
    assert_eq!(
        package_codes(|f| f.entries.push(entry("b.ovf", 10))),
        ["multiple-descriptors"]
    );
    assert_eq!(
        package_codes(|f| f.entries.retain(|e| e.name != "vm.ovf")),
        ["descriptor-missing"]
    );
}

#[test]
fn reference_rules() {
    assert_eq!(
        package_codes(|f| f.entries.truncate(3)),
        ["referenced-file-absent", "manifest-lists-absent-file"]
    );
    assert_eq!(
        package_codes(|f| f.entries[2].size = 999),
        ["size-mismatch"]
    );
    let extra = package_codes(|f| f.entries.push(entry("notes.txt", 1)));
    assert_eq!(extra, ["file-not-referenced"]);
}

#[test]
fn entry_safety_rules() {
    let all = package_codes(|f| {
        for (name, size, p) in [
            ("/etc/passwd", 1, EntryProblem::AbsolutePath),
            ("../x", 1, EntryProblem::ParentComponent),
            ("sub/x", 1, EntryProblem::NotFlat),
            ("l", 0, EntryProblem::Link { target: "/".into() }),
            ("dev", 0, EntryProblem::Special),
            ("cd.iso", 300, EntryProblem::Duplicate),
            ("big", 1 << 40, EntryProblem::SizePastEnd { available: 5 }),
            ("._vm.ovf", 1, EntryProblem::AppleDouble),
            ("d/", 0, EntryProblem::Directory),
            (
                "huge",
                1 << 34,
                EntryProblem::Base256 {
                    fields: vec!["size"],
                },
            ),
        ] {
            f.entries.push(with_problem(entry(name, size), p));
        }
    });
    for code in [
        "unsafe-entry-name",
        "entry-is-link",
        "entry-is-special",
        "duplicate-entry",
        "entry-past-end",
        "appledouble-entry",
        "entry-is-directory",
        "entry-size-base256",
    ] {
        assert!(all.contains(&code), "{code}: {all:?}");
    }
}

#[test]
fn manifest_rules() {
    assert_eq!(
        package_codes(|f| {
            let mut r = VerifyReport::default();
            r.mismatched.push(crate::manifest::Mismatch {
                name: "disk1.vmdk".into(),
                algorithm: crate::manifest::Algorithm::Sha256,
                expected: DIGEST.into(),
                actual: "ff".into(),
            });
            r.unchecked.push("cd.iso".into());
            f.manifest.as_mut().unwrap().report = Some(r);
        }),
        ["digest-mismatch", "digest-not-checked"]
    );
    assert_eq!(
        package_codes(|f| {
            f.manifest.as_mut().unwrap().manifest = manifest(&["vm.ovf", "disk1.vmdk"]);
        }),
        ["file-missing-from-manifest"]
    );
    assert_eq!(
        package_codes(|f| {
            f.manifest.as_mut().unwrap().manifest =
                manifest(&["vm.ovf", "disk1.vmdk", "cd.iso", "cd.iso", "gone.txt"]);
        }),
        ["manifest-duplicate-entry", "manifest-lists-absent-file"]
    );
    assert_eq!(
        package_codes(|f| {
            let text = format!(
                "SHA256 (vm.ovf) = {DIGEST}\nSHA256(disk1.vmdk)= {DIGEST}\nSHA256(cd.iso)= {DIGEST}\nnonsense\n"
            );
            f.manifest.as_mut().unwrap().manifest = crate::manifest::parse(text.as_bytes());
        }),
        [
            "manifest-line-unparseable",
            "manifest-line-rejected-by-vmware"
        ]
    );
}

#[test]
fn chunk_rules() {
    let chunked = OVF.replace(
        "ovf:href=\"disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"1000\"",
        "ovf:chunkSize=\"400\" ovf:href=\"disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"1000\"",
    );
    let facts = |sizes: &[(u32, u64)]| {
        let mut f = good_facts();
        f.descriptor = Some(chunked.clone().into_bytes());
        f.manifest = None;
        f.entries.remove(1);
        f.entries.remove(1);
        for (i, (k, s)) in sizes.iter().enumerate() {
            f.entries
                .insert(1 + i, entry(&format!("disk1.vmdk.{k:09}"), *s));
        }
        codes(&validate_package(&f))
    };
    assert!(facts(&[(0, 400), (1, 400), (2, 200)]).is_empty());
    assert_eq!(
        facts(&[(0, 400), (2, 200)]),
        ["chunked-file-incomplete", "chunked-file-incomplete"]
    );
    assert_eq!(
        facts(&[(0, 400), (1, 300), (2, 300)]),
        ["chunked-file-incomplete"]
    );
    assert_eq!(facts(&[(0, 400), (1, 400)]), ["chunked-file-incomplete"]);
    assert_eq!(
        facts(&[(1, 400), (0, 400), (2, 200)]),
        ["order-differs-from-references"]
    );
}

#[test]
fn disk_rules() {
    let codes_for = |disk: DiskFacts| {
        let facts = good_facts().with_disks(vec![disk]);
        validate_package(&facts)
            .into_iter()
            .map(|f| (f.code, f.severity, f.entry))
            .collect::<Vec<_>>()
    };
    let e = Some("disk1.vmdk".to_owned());
    assert_eq!(
        codes_for(DiskFacts::new("disk1.vmdk", true, Ok(vec![]))),
        vec![]
    );
    assert_eq!(
        codes_for(DiskFacts::new(
            "disk1.vmdk",
            true,
            Ok(vec![
                VmdkProblem::NoEndOfStreamMarker,
                VmdkProblem::BytesAfterEnd {
                    bytes: 512,
                    nonzero: false
                },
                VmdkProblem::BytesAfterEnd {
                    bytes: 512,
                    nonzero: true
                },
                VmdkProblem::NoFooter,
            ])
        )),
        vec![
            ("vmdk-no-end-of-stream-marker", Severity::Error, e.clone()),
            ("vmdk-bytes-after-end", Severity::Warning, e.clone()),
            ("vmdk-bytes-after-end", Severity::Error, e.clone()),
            ("vmdk-no-footer", Severity::Warning, e.clone()),
        ]
    );
    assert_eq!(
        codes_for(DiskFacts::new("disk1.vmdk", true, Err("cut".into()))),
        vec![("vmdk-unreadable", Severity::Error, e.clone())]
    );
    assert_eq!(
        codes_for(DiskFacts::new("disk1.vmdk", false, Err("no".into()))),
        vec![("vmdk-not-stream", Severity::Warning, e)]
    );
}

#[test]
fn findings_serialize() {
    let f = Finding::error("descriptor-not-first", "m").with_entry("x");
    let j = serde_json::to_value(&f).unwrap();
    assert_eq!(
        j,
        serde_json::json!({"severity": "error", "code": "descriptor-not-first", "message": "m", "entry": "x"})
    );
    assert_eq!(f.to_string(), "error[descriptor-not-first]: m (x)");
}
