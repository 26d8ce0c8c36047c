//! The classes of wrong verdicts found on real packages, each on a file of its kind: the
//! real-world corpus (`testdata/realworld`), or files made by the tools that write them in
//! the wild (qemu-img VMDKs, Python `tarfile` archives). Python's XML parser reads back what
//! `build` writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::archive_support::{have, python, run, skip, write};
use ova_core::Error;
use ova_core::build::{BuildOptions, DiskController, DiskFacts, render_descriptor};
use ova_core::no_progress;
use ova_core::ovf::{Descriptor, Edit, resource_type};
use ova_core::package::Ova;
use ova_core::validate::{Severity, validate_descriptor};
use ova_core::write::{LargeSize, ManifestChoice, OvaWriter};

fn realworld(name: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/realworld"
    ))
    .join(name)
}

fn load(name: &str) -> Descriptor {
    Descriptor::parse(&std::fs::read(realworld(name)).unwrap()).unwrap()
}

fn codes(bytes: &[u8]) -> Vec<&'static str> {
    validate_descriptor(bytes).iter().map(|f| f.code).collect()
}

#[test]
fn items_of_one_range_share_their_instance_id() {
    let ok = std::fs::read(realworld("govmomi/valid_bound.ovf")).unwrap();
    assert!(
        !codes(&ok).contains(&"duplicate-instance-id"),
        "{:?}",
        codes(&ok)
    );
    // ovftool's negative cases: two max items, and a max item with no normal one
    let two_max = std::fs::read(realworld("govmomi/twomax_rangemarker.ovf")).unwrap();
    assert!(codes(&two_max).contains(&"duplicate-instance-id"));
    let no_normal = std::fs::read(realworld("govmomi/maxwith_nonormal.ovf")).unwrap();
    assert!(codes(&no_normal).contains(&"item-bound-without-normal"));
}

#[test]
fn per_configuration_items_override_the_general_one() {
    // DSP0243's SugarCRM vApp: memory for "medium large", then for "large", both InstanceID 2
    let bytes = std::fs::read(realworld("govmomi/SugarCRM.ovf")).unwrap();
    assert!(!codes(&bytes).contains(&"duplicate-instance-id"));
}

#[test]
fn an_unprefixed_envelope_declaring_the_ovf_namespace_is_read() {
    // ovftool 3.5: <Envelope> without a default namespace, only xmlns:ovf
    let d = load("govmomi/SLES11_SP2_64.ovf");
    assert_eq!(d.version(), ova_core::ovf::OvfVersion::V1);
    assert_eq!(d.references().len(), 1);
    assert_eq!(d.systems().len(), 1);
}

#[test]
fn a_child_may_carry_its_collections_id_and_a_descriptor_needs_content() {
    let vapp = std::fs::read(realworld("govmomi/vApp_with_2vms.ovf")).unwrap();
    let d = Descriptor::parse(&vapp).unwrap();
    let vsc = &d.collections()[0];
    assert!(d.systems().iter().any(|s| s.id == vsc.id));
    assert!(!codes(&vapp).contains(&"duplicate-system-id"));
    let none = std::fs::read(realworld("govmomi/invalid_no_vm.ovf")).unwrap();
    let findings = validate_descriptor(&none);
    assert!(
        findings
            .iter()
            .any(|f| f.code == "virtual-system-missing" && f.severity == Severity::Error),
        "{findings:?}"
    );
}

#[test]
fn ovf09_pack_includes_every_referenced_file() {
    // VMware Studio (default namespace) and an exporter writing unprefixed elements with no
    // default namespace around <ovf:Envelope>
    for (name, expect) in [
        ("govmomi/VM_OVF09.ovf", vec!["system.vmdk", "data1.vmdk"]),
        ("govmomi/smallxp-vapp.ovf", vec!["smallxp-vapp.vmdk"]),
    ] {
        let d = load(name);
        let hrefs: Vec<&str> = d.references().iter().map(|f| f.href.as_str()).collect();
        assert_eq!(hrefs, expect, "{name}");
        assert_eq!(d.disks().len(), expect.len(), "{name}");
        assert_eq!(d.systems().len(), 1, "{name}");
        let tmp = tempfile::tempdir().unwrap();
        let ovf = tmp.path().join("vm.ovf");
        std::fs::copy(realworld(name), &ovf).unwrap();
        for f in &expect {
            write(tmp.path(), f, b"disk");
        }
        let out = tmp.path().join("vm.ova");
        let report = Ova::pack(
            &ovf,
            &out,
            ManifestChoice::Sha256,
            LargeSize::Base256,
            &mut no_progress,
        )
        .unwrap();
        for f in &expect {
            assert!(report.written.iter().any(|w| w == f), "{name}: {report:?}");
        }
        // and a missing disk is an error, not a smaller package
        std::fs::remove_file(tmp.path().join(expect[0])).unwrap();
        let err = Ova::pack(
            &ovf,
            &out,
            ManifestChoice::Sha256,
            LargeSize::Base256,
            &mut no_progress,
        )
        .unwrap_err();
        assert!(matches!(err, Error::MissingEntry { .. }), "{err:?}");
    }
}

#[test]
fn an_empty_file_ref_is_a_blank_disk() {
    let bytes =
        std::fs::read(realworld("govmomi/Vcf-License-Server-9.1.0.0.25262073.ovf")).unwrap();
    let d = Descriptor::parse(&bytes).unwrap();
    let blank = d.disk("vmdisk2").unwrap();
    assert_eq!(blank.file_ref, None);
    assert!(!codes(&bytes).contains(&"disk-file-ref-dangling"));
}

/// A package of one disk declared `#sparse` (a hosted sparse extent, as VMware Workstation
/// exports write).
fn sparse_package(dir: &Path, disk: &[u8]) -> PathBuf {
    let ovf = format!(
        r#"<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="disk.vmdk" ovf:id="file1" ovf:size="{}"/></References>
  <DiskSection><Info/><Disk ovf:capacity="4194304" ovf:diskId="d1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/specifications/vmdk.html#sparse"/></DiskSection>
  <VirtualSystem ovf:id="vm"><Info/><VirtualHardwareSection><Info/><System><vssd:VirtualSystemType>vmx-10</vssd:VirtualSystemType></System></VirtualHardwareSection></VirtualSystem>
</Envelope>
"#,
        disk.len()
    );
    let mut w = OvaWriter::new(Vec::new());
    w.add_descriptor("vm.ovf", ovf.as_bytes()).unwrap();
    w.add_bytes("disk.vmdk", disk).unwrap();
    write(dir, "vm.ova", &w.finish().unwrap())
}

#[test]
fn a_damaged_sparse_header_is_an_error() {
    if !have("qemu-img") {
        return skip("qemu-img not found");
    }
    let tmp = tempfile::tempdir().unwrap();
    let raw = write(tmp.path(), "d.raw", &vec![7u8; 1 << 20]);
    let vmdk = tmp.path().join("d.vmdk");
    run(Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "vmdk"])
        .arg(&raw)
        .arg(&vmdk));
    let mut disk = std::fs::read(&vmdk).unwrap();
    let good = Ova::open(sparse_package(tmp.path(), &disk))
        .unwrap()
        .validate(&mut no_progress)
        .unwrap();
    assert!(good.iter().all(|f| !f.code.starts_with("vmdk")), "{good:?}");
    // a text-mode transfer turns the "\n \r\n" newline-detection bytes into "\n \n\n"
    disk[73..77].copy_from_slice(b"\n \n\n");
    let damaged = write(tmp.path(), "damaged.vmdk", &disk);
    assert!(ova_core::vmdk::inspect_file(&damaged).is_err());
    let findings = Ova::open(sparse_package(tmp.path(), &disk))
        .unwrap()
        .validate(&mut no_progress)
        .unwrap();
    let f = findings
        .iter()
        .find(|f| f.code == "vmdk-unreadable")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("newline"), "{f}");
}

#[test]
fn a_base256_uid_is_blamed_on_the_uid() {
    // glance's test package: uid 11608529 in base-256, sizes in octal
    let glance = Ova::open(realworld("glance/testserver.ova"))
        .unwrap()
        .validate(&mut no_progress)
        .unwrap();
    assert!(
        glance.iter().all(|f| f.code != "entry-size-base256"),
        "{glance:?}"
    );
    assert!(
        glance
            .iter()
            .any(|f| f.code == "entry-field-base256" && f.message.contains("uid")),
        "{glance:?}"
    );
    if !have(&python()) {
        return skip("python3 not found");
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("uid.ova");
    // GNU tar and Python's tarfile write an owner id past 7 octal digits in base-256
    let script = r#"
import io, sys, tarfile
ovf = b'<?xml version="1.0"?><Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References/><VirtualSystem ovf:id="vm"><Info/></VirtualSystem></Envelope>'
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
    i = tarfile.TarInfo("vm.ovf"); i.size = len(ovf); i.uid = 3000000000; i.gid = 1000
    t.addfile(i, io.BytesIO(ovf))
"#;
    run(Command::new(python()).args(["-c", script]).arg(&out));
    let findings = Ova::open(&out).unwrap().validate(&mut no_progress).unwrap();
    let codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    assert!(!codes.contains(&"entry-size-base256"), "{findings:?}");
    let f = findings
        .iter()
        .find(|f| f.code == "entry-field-base256")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert!(
        f.message.contains("uid") && !f.message.contains("size"),
        "{f}"
    );
}

#[test]
fn a_hardware_version_that_cannot_carry_the_devices_is_refused() {
    // photon5: vmx-15 with a SATA controller
    let d = load("govmomi/photon5.ovf");
    let err = d
        .apply(&[Edit::set_virtual_system_type("vmx-07")])
        .unwrap_err();
    match &err {
        Error::OvfEditIncompatibleHardware { problems } => {
            assert!(problems.iter().any(|p| p.contains("SATA")), "{problems:?}");
        }
        other => panic!("{other:?}"),
    }
    // forced, it is written, and validation says what the target cannot carry
    let out = d
        .apply(&[
            Edit::set_virtual_system_type("vmx-07"),
            Edit::AllowIncompatibleHardware,
        ])
        .unwrap();
    assert!(codes(&out).contains(&"hardware-exceeds-virtual-system-type"));
    // a version that carries SATA, and a list of versions, are fine
    d.apply(&[Edit::set_virtual_system_type("vmx-10")]).unwrap();
    d.apply(&[Edit::set_virtual_system_type("vmx-15 vmx-17")])
        .unwrap();
    // build: an NVMe controller at vmx-07
    let nvme = BuildOptions::builder("vm")
        .with_disk_controller(DiskController::Nvme)
        .with_virtual_system_type("vmx-07");
    assert!(matches!(nvme.build(), Err(Error::Build { .. })));
    BuildOptions::builder("vm")
        .with_disk_controller(DiskController::Nvme)
        .with_virtual_system_type("vmx-07")
        .with_allow_incompatible_hardware(true)
        .build()
        .unwrap();
}

#[test]
fn a_virtual_system_type_that_is_no_family_is_refused() {
    let d = load("govmomi/photon5.ovf");
    for bad in ["foo", "bogus", "vmx-99", "vmx-10,vmx-11"] {
        let err = d.apply(&[Edit::set_virtual_system_type(bad)]).unwrap_err();
        assert!(
            matches!(err, Error::OvfEditInvalidValue { .. }),
            "{bad}: {err:?}"
        );
        let build = BuildOptions::builder("vm")
            .with_virtual_system_type(bad)
            .build();
        assert!(matches!(build, Err(Error::Build { .. })), "{bad}");
    }
}

#[test]
fn build_escapes_newline_tab_and_cr_in_properties() {
    let value = "line1\nline2\tx\ry 'q' \"d\" <&>";
    let options = BuildOptions::builder("vm")
        .with_product("p", "1")
        .with_property("k", value)
        .build()
        .unwrap();
    let facts = DiskFacts {
        file_size: 1,
        capacity: 1 << 20,
        populated: 0,
    };
    let ovf = render_descriptor(&options, &facts);
    assert!(ovf.contains("line1&#10;line2&#9;x&#13;y"), "{ovf}");
    // ovakit's own parser reads the value back unchanged
    let d = Descriptor::parse(ovf.as_bytes()).unwrap();
    let (_, p) = d.product_sections()[0];
    assert_eq!(p.properties[0].value.as_deref(), Some(value));
    // and so does Python's
    if !have(&python()) {
        return skip("python3 not found");
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "vm.ovf", ovf.as_bytes());
    let script = r#"
import sys, xml.etree.ElementTree as ET
ns = "{http://schemas.dmtf.org/ovf/envelope/1}"
root = ET.parse(sys.argv[1]).getroot()
p = next(root.iter(ns + "Property"))
sys.stdout.write(repr(p.get(ns + "value")))
"#;
    let got = run(Command::new(python()).args(["-c", script]).arg(&path));
    assert_eq!(got, r#"'line1\nline2\tx\ry \'q\' "d" <&>'"#);
    // a character XML cannot carry is refused, not dropped
    let nul = BuildOptions::builder("vm")
        .with_property("k", "a\u{1}b")
        .build();
    assert!(matches!(nul, Err(Error::Build { .. })));
}

#[test]
fn cpu_and_memory_edits_keep_the_element_name_in_step() {
    let d = load("govmomi/photon5.ovf");
    let out = d
        .edited(&[Edit::set_cpus(2), Edit::set_memory_mib(4096)])
        .unwrap();
    let h = &out.systems()[0].hardware[0];
    let name = |rt: u32| {
        h.items
            .iter()
            .find(|i| i.resource_type == Some(rt))
            .and_then(|i| i.element_name.clone())
    };
    assert_eq!(
        name(resource_type::CPU).as_deref(),
        Some("2 virtual CPU(s)")
    );
    assert_eq!(
        name(resource_type::MEMORY).as_deref(),
        Some("4096MB of memory")
    );
    // OVF 0.9 keeps the name in Caption
    let old = load("govmomi/smallxp-vapp.ovf")
        .edited(&[Edit::set_cpus(4)])
        .unwrap();
    let cpu = old.systems()[0].hardware[0]
        .items
        .iter()
        .find(|i| i.resource_type == Some(resource_type::CPU))
        .unwrap()
        .element_name
        .clone();
    assert_eq!(cpu.as_deref(), Some("4 virtual CPU(s)"));
    // a name of another form is the author's and stays
    let custom = String::from_utf8(std::fs::read(realworld("govmomi/photon5.ovf")).unwrap())
        .unwrap()
        .replace("1 virtual CPU(s)", "Processors");
    let kept = Descriptor::parse(custom.as_bytes())
        .unwrap()
        .edited(&[Edit::set_cpus(2)])
        .unwrap();
    assert!(String::from_utf8_lossy(kept.as_bytes()).contains("Processors"));
}
