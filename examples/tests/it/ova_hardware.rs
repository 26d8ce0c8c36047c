//! `ova repack/edit/build` refuse a VirtualSystemType that cannot carry the package's devices
//! (the Photon 5 appliance of the real-world corpus: vmx-15 with a SATA controller) or that
//! names no hardware family; `--force` writes anyway and prints what the target cannot carry.
//! `--cpus`/`--memory-mb` keep the items' generated names in step.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ova(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ova"))
        .args(args)
        .output()
        .unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

/// The Photon 5 descriptor packed with a small stand-in for its disk.
fn photon_package(dir: &Path) -> PathBuf {
    let src = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/realworld/govmomi/photon5.ovf"
    ));
    let ovf = dir.join("photon5.ovf");
    std::fs::copy(src, &ovf).unwrap();
    std::fs::write(dir.join("photon-ova-disk1.vmdk"), b"stand-in").unwrap();
    let out = dir.join("photon5.ova");
    let o = ova(&[os("pack"), ovf.as_os_str(), out.as_os_str()]);
    assert!(o.status.success(), "{o:?}");
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn descriptor(path: &Path) -> String {
    let bytes = ova_core::package::Ova::open(path)
        .unwrap()
        .descriptor_bytes()
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn repack_and_edit_refuse_a_downgrade_the_devices_cannot_take() {
    let tmp = tempfile::tempdir().unwrap();
    let src = photon_package(tmp.path());
    let out = tmp.path().join("out.ova");
    let refused = ova(&[
        os("repack"),
        src.as_os_str(),
        out.as_os_str(),
        os("--set-virtual-system-type"),
        os("vmx-07"),
    ]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("SATA"), "{}", stderr(&refused));
    assert!(!out.exists());

    let before = std::fs::read(&src).unwrap();
    let edit = ova(&[
        os("edit"),
        src.as_os_str(),
        os("--in-place"),
        os("--set-virtual-system-type"),
        os("vmx-07"),
    ]);
    assert!(!edit.status.success());
    assert!(stderr(&edit).contains("SATA"), "{}", stderr(&edit));
    assert_eq!(std::fs::read(&src).unwrap(), before);

    let forced = ova(&[
        os("repack"),
        src.as_os_str(),
        out.as_os_str(),
        os("--set-virtual-system-type"),
        os("vmx-07"),
        os("--force"),
    ]);
    assert!(forced.status.success(), "{forced:?}");
    let printed = stderr(&forced);
    assert!(
        printed.contains("written anyway") && printed.contains("SATA"),
        "{printed}"
    );
    assert!(descriptor(&out).contains("<vssd:VirtualSystemType>vmx-07<"));

    for bad in ["foo", "bogus"] {
        let o = ova(&[
            os("repack"),
            src.as_os_str(),
            tmp.path().join("bad.ova").as_os_str(),
            os("--set-virtual-system-type"),
            os(bad),
            os("--force"),
        ]);
        assert!(!o.status.success(), "{bad}");
        assert!(stderr(&o).contains("no hardware family"), "{}", stderr(&o));
    }
}

#[test]
fn build_refuses_a_controller_the_type_cannot_carry() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk.raw");
    std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
    let out = tmp.path().join("vm.ova");
    let args = |extra: &[&str]| {
        let mut a: Vec<std::ffi::OsString> = vec![
            "build".into(),
            "--disk".into(),
            disk.clone().into(),
            "--name".into(),
            "vm".into(),
            "-o".into(),
            out.clone().into(),
            "--disk-controller".into(),
            "nvme".into(),
            "--virtual-system-type".into(),
            "vmx-07".into(),
        ];
        a.extend(extra.iter().map(|s| s.into()));
        a
    };
    let refused = Command::new(env!("CARGO_BIN_EXE_ova"))
        .args(args(&[]))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("NVMe"), "{}", stderr(&refused));
    assert!(!out.exists());
    let forced = Command::new(env!("CARGO_BIN_EXE_ova"))
        .args(args(&["--force"]))
        .output()
        .unwrap();
    assert!(forced.status.success(), "{forced:?}");
    assert!(stderr(&forced).contains("NVMe"), "{}", stderr(&forced));
    let validate = ova(&[os("validate"), out.as_os_str()]);
    assert!(!validate.status.success());
}

#[test]
fn cpu_and_memory_edits_rename_their_items() {
    let tmp = tempfile::tempdir().unwrap();
    let src = photon_package(tmp.path());
    let o = ova(&[
        os("edit"),
        src.as_os_str(),
        os("--in-place"),
        os("--cpus"),
        os("2"),
        os("--memory-mb"),
        os("4096"),
    ]);
    assert!(o.status.success(), "{o:?}");
    let d = descriptor(&src);
    assert!(d.contains(">2 virtual CPU(s)<"), "{d}");
    assert!(d.contains(">4096MB of memory<"), "{d}");
}
