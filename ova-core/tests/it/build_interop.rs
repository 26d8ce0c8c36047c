//! `build`: a raw disk becomes a complete OVA that GNU tar, Python's `tarfile`, qemu-img and COT
//! read, whose manifest and signature verify. Each external tool is skipped with a message when
//! missing, and required when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::tools::{python, require as tool, run};

use ova_core::build::{BuildOptions, DiskController, build_ova, build_ova_to_writer};
use ova_core::manifest::{self, Algorithm};
use ova_core::no_progress;
use ova_core::sign::{self, SigningKey};
use ova_core::vmdk::{self, VmdkWriter};

fn cot() -> PathBuf {
    std::env::var_os("OVAKIT_PYTHON")
        .map(|p| PathBuf::from(p).with_file_name("cot"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("cot"))
}

fn raw_disk(dir: &Path) -> (PathBuf, Vec<u8>) {
    let mut raw = vec![0u8; 6 * 1024 * 1024 + 512];
    for (i, b) in raw[..2 * 1024 * 1024].iter_mut().enumerate() {
        *b = (i % 199) as u8 ^ (i >> 12) as u8;
    }
    let n = raw.len();
    raw[n - 300..].fill(0x5a);
    let p = dir.join("disk.raw");
    std::fs::write(&p, &raw).unwrap();
    (p, raw)
}

fn options() -> ova_core::build::BuildOptionsBuilder {
    BuildOptions::builder("appliance")
        .with_os_type("ubuntu64Guest")
        .with_cpus(4)
        .with_memory_mb(4096)
        .with_network("Lab & Test")
        .with_product("Appliance <beta>", "1.2.3")
        .with_property("guestinfo.hostname", "app-01")
}

#[test]
fn built_package_reads_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (raw_path, raw) = raw_disk(d);
    let (key_pem, cert_pem) = sign::test_support::self_signed("Build Test").unwrap();
    let key = SigningKey::from_pem(&key_pem, Some(&cert_pem), None).unwrap();
    let opts = options().with_signing_key(key).build().unwrap();
    let ova = d.join("appliance.ova");
    let report = build_ova(&raw_path, &ova, &opts, &mut no_progress).unwrap();
    assert_eq!(
        report.entries,
        [
            "appliance.ovf",
            "appliance.mf",
            "appliance.cert",
            "appliance-disk1.vmdk"
        ]
    );
    assert_eq!(report.bytes, std::fs::metadata(&ova).unwrap().len());
    assert_eq!(report.capacity, raw.len() as u64);
    assert!(report.converted);

    // manifest digests verify in one streaming pass
    let (_, verify) = manifest::verify_stream(
        std::fs::File::open(&ova).unwrap(),
        &Algorithm::ALL,
        no_progress,
    )
    .unwrap()
    .unwrap();
    assert!(verify.is_ok(), "{verify:?}");
    assert_eq!(verify.matched.len(), 2);

    // Python's tarfile: strict ustar, spec order, no pax header
    let listing = run(Command::new(python()).arg("-c").arg(
        "import sys,tarfile\nt=tarfile.open(sys.argv[1])\nfor m in t.getmembers(): print(m.name, m.size, m.type == tarfile.REGTYPE, m.pax_headers == {})",
    ).arg(&ova));
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(names, report.entries);
    assert!(
        listing.lines().all(|l| l.ends_with("True True")),
        "{listing}"
    );

    // GNU tar extracts it; the descriptor validates with no findings; the signature verifies
    let x = d.join("x");
    std::fs::create_dir(&x).unwrap();
    if tool("tar", "--version") {
        run(Command::new("tar").arg("-xf").arg(&ova).arg("-C").arg(&x));
    } else {
        run(Command::new(python())
            .arg("-c")
            .arg("import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])")
            .arg(&ova)
            .arg(&x));
    }
    let ovf = std::fs::read(x.join("appliance.ovf")).unwrap();
    let findings = ova_core::validate::validate_descriptor(&ovf);
    assert!(findings.is_empty(), "{findings:#?}");
    let ovf_text = String::from_utf8_lossy(&ovf);
    let vmdk_len = std::fs::metadata(x.join("appliance-disk1.vmdk"))
        .unwrap()
        .len();
    assert!(ovf_text.contains(&format!("ovf:size=\"{vmdk_len}\"")));
    assert!(ovf_text.contains(&format!("ovf:capacity=\"{}\"", raw.len())));
    assert!(ovf_text.contains("Lab &amp; Test"));
    let mf = std::fs::read(x.join("appliance.mf")).unwrap();
    let cert = std::fs::read(x.join("appliance.cert")).unwrap();
    let sig = sign::verify_manifest_signature(&cert, "appliance.mf", &mf, None).unwrap();
    assert!(sig.signature_valid);
    assert_eq!(sig.subject, "CN=Build Test");
    let info = vmdk::inspect_file(x.join("appliance-disk1.vmdk")).unwrap();
    assert!(info.problems.is_empty(), "{:?}", info.problems);

    // qemu-img reads the disk inside
    if tool("qemu-img", "--version") {
        run(Command::new("qemu-img")
            .args(["compare", "-f", "raw", "-F", "vmdk"])
            .arg(&raw_path)
            .arg(x.join("appliance-disk1.vmdk")));
        run(Command::new("qemu-img")
            .args(["check", "-f", "vmdk"])
            .arg(x.join("appliance-disk1.vmdk")));
    }

    // COT reads the package (COT 2.2.1 assumes SHA-1 for OVF 1.x and logs the SHA-256 lines as
    // mismatches; the SHA-1 package in the next test reads without any error)
    let cot = cot();
    if tool(cot.to_str().unwrap(), "--version") {
        let out = run(Command::new(&cot).args(["info", "--verbose"]).arg(&ova));
        assert!(out.contains("appliance-disk1.vmdk"), "{out}");
        assert!(out.contains("Appliance <beta>"), "{out}");
        assert!(out.contains("4 CPUs") || out.contains("CPUs"), "{out}");
    }
}

#[test]
fn existing_vmdk_is_copied_as_is_and_writer_output_matches() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (raw_path, _) = raw_disk(d);
    let vmdk_path = d.join("in.vmdk");
    vmdk::raw_to_vmdk(&raw_path, &vmdk_path, &VmdkWriter::new(), &mut no_progress).unwrap();
    let opts = options()
        .with_manifest(Some(Algorithm::Sha1))
        .with_disk_controller(DiskController::Ide)
        .with_virtual_system_type("vmx-07")
        .build()
        .unwrap();
    let ova = d.join("copy.ova");
    let report = build_ova(&vmdk_path, &ova, &opts, &mut no_progress).unwrap();
    assert!(!report.converted);
    assert_eq!(report.entries.len(), 3);
    let original = std::fs::read(&vmdk_path).unwrap();
    assert_eq!(report.disk_size, original.len() as u64);
    let bytes = std::fs::read(&ova).unwrap();
    assert!(
        bytes
            .windows(original.len())
            .any(|w| w == original.as_slice())
    );
    let (_, verify) = manifest::verify_stream(&bytes[..], &Algorithm::ALL, no_progress)
        .unwrap()
        .unwrap();
    assert!(verify.is_ok());
    assert!(
        report
            .manifest
            .unwrap()
            .starts_with("SHA1(appliance.ovf)= ")
    );

    // the non-seekable variant produces the same package
    let mut piped = Vec::new();
    build_ova_to_writer(&vmdk_path, &mut piped, &opts, &mut no_progress).unwrap();
    assert_eq!(piped, bytes);
}

#[test]
fn bad_inputs_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = d.join("empty.raw");
    std::fs::write(&empty, b"").unwrap();
    let out = d.join("out.ova");
    let opts = options().build().unwrap();
    assert!(build_ova(&empty, &out, &opts, &mut no_progress).is_err());
    let text = d.join("desc.vmdk");
    std::fs::write(&text, b"# Disk DescriptorFile\nversion=1\n").unwrap();
    assert!(build_ova(&text, &out, &opts, &mut no_progress).is_err());
    let broken = d.join("broken.vmdk");
    std::fs::write(&broken, b"KDMV\x03\0\0\0garbage").unwrap();
    assert!(build_ova(&broken, &out, &opts, &mut no_progress).is_err());
    assert!(build_ova(d.join("missing.raw"), &out, &opts, &mut no_progress).is_err());
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
