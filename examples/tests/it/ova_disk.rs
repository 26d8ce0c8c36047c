//! `ova disk convert`, `ova disk info` and `ova convert`: formats from content and extension,
//! exit codes (0 done, 1 damaged image, 2 usage), the default disk said on stderr, and qemu-img
//! reading what was written when it is installed.

use std::path::Path;
use std::process::{Command, Output};

fn ova(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ova"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn raw(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let mut data = vec![0u8; 6 << 20];
    for (i, b) in data[..(1 << 20)].iter_mut().enumerate() {
        *b = (i / 300) as u8;
    }
    data[(4 << 20) + 5..(4 << 20) + 900].fill(0x42);
    let p = dir.join("disk.raw");
    std::fs::write(&p, &data).unwrap();
    (p, data)
}

fn qemu_compare(raw: &Path, fmt: &str, image: &Path) {
    if Command::new("qemu-img").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "qemu-img is required when CI is set"
        );
        return;
    }
    let out = Command::new("qemu-img")
        .args(["compare", "-f", "raw", "-F", fmt])
        .arg(raw)
        .arg(image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn disk_convert_and_info_for_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, data) = raw(tmp.path());
    for (name, to, fmt) in [
        ("d.qcow2", None, "qcow2"),
        ("d.vhd", None, "vpc"),
        ("d.bin", Some("vmdk"), "vmdk"),
        ("d2.qcow2", Some("qcow2"), "qcow2"),
    ] {
        let out = tmp.path().join(name);
        let mut args: Vec<&std::ffi::OsStr> = vec!["disk".as_ref(), "convert".as_ref()];
        if let Some(t) = to {
            args.push("--to".as_ref());
            args.push(t.as_ref());
        }
        args.push(raw.as_os_str());
        args.push(out.as_os_str());
        ok(&ova(&args));
        qemu_compare(&raw, fmt, &out);
        let info = ok(&ova(&[
            "disk".as_ref(),
            "info".as_ref(),
            "--json".as_ref(),
            out.as_os_str(),
        ]));
        let v: serde_json::Value = serde_json::from_str(&info).unwrap();
        assert_eq!(v["format"], if fmt == "vpc" { "vhd" } else { fmt });
        let text = ok(&ova(&["disk".as_ref(), "info".as_ref(), out.as_os_str()]));
        assert!(text.contains("problems:      none"), "{text}");
        let back = tmp.path().join(format!("{name}.raw"));
        ok(&ova(&[
            "disk".as_ref(),
            "convert".as_ref(),
            out.as_os_str(),
            back.as_os_str(),
        ]));
        let b = std::fs::read(&back).unwrap();
        assert_eq!(&b[..data.len()], &data[..], "{name}");
    }
}

#[test]
fn disk_errors_have_their_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, _) = raw(tmp.path());
    // no format from the extension: usage
    let unknown = tmp.path().join("out.xyz");
    let out = ova(&[
        "disk".as_ref(),
        "convert".as_ref(),
        raw.as_os_str(),
        unknown.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--to"));
    assert!(!unknown.exists());
    // compression of a VHD is refused before anything is written
    let vhd = tmp.path().join("x.vhd");
    let out = ova(&[
        "disk".as_ref(),
        "convert".as_ref(),
        "--compress".as_ref(),
        raw.as_os_str(),
        vhd.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!vhd.exists());
    // a damaged QCOW2: info exits 1 and says what is wrong
    let q = tmp.path().join("d.qcow2");
    ok(&ova(&[
        "disk".as_ref(),
        "convert".as_ref(),
        raw.as_os_str(),
        q.as_os_str(),
    ]));
    let mut bytes = std::fs::read(&q).unwrap();
    bytes[2 * 65_536..2 * 65_536 + 8].fill(0);
    std::fs::write(&q, &bytes).unwrap();
    let out = ova(&["disk".as_ref(), "info".as_ref(), q.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refcount"));
    let back = tmp.path().join("back.raw");
    let out = ova(&[
        "disk".as_ref(),
        "convert".as_ref(),
        q.as_os_str(),
        back.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!back.exists());
    // a missing file
    let out = ova(&[
        "disk".as_ref(),
        "info".as_ref(),
        tmp.path().join("absent").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn convert_an_ova_says_which_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, data) = raw(tmp.path());
    let pkg = tmp.path().join("app.ova");
    ok(&ova(&[
        "build".as_ref(),
        "--disk".as_ref(),
        raw.as_os_str(),
        "--name".as_ref(),
        "app".as_ref(),
        "-o".as_ref(),
        pkg.as_os_str(),
    ]));
    for (to, fmt) in [("qcow2", "qcow2"), ("vhd", "vpc")] {
        let out_path = tmp.path().join(format!("app.{to}"));
        let out = ova(&[
            "convert".as_ref(),
            pkg.as_os_str(),
            "--to".as_ref(),
            to.as_ref(),
            "-o".as_ref(),
            out_path.as_os_str(),
        ]);
        ok(&out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("converting disk vmdisk1") && stderr.contains("only disk"),
            "{stderr}"
        );
        qemu_compare(&raw, fmt, &out_path);
        let back = tmp.path().join(format!("app-{to}.raw"));
        ok(&ova(&[
            "disk".as_ref(),
            "convert".as_ref(),
            out_path.as_os_str(),
            back.as_os_str(),
        ]));
        assert_eq!(&std::fs::read(&back).unwrap()[..data.len()], &data[..]);
    }
    let out = ova(&[
        "convert".as_ref(),
        pkg.as_os_str(),
        "--to".as_ref(),
        "qcow2".as_ref(),
        "--disk".as_ref(),
        "nope".as_ref(),
        "-o".as_ref(),
        tmp.path().join("n.qcow2").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("vmdisk1"));
    assert!(!tmp.path().join("n.qcow2").exists());
    let help = ok(&ova(&["convert".as_ref(), "--help".as_ref()]));
    assert!(help.contains("--disk") && help.contains("qcow2"), "{help}");
}
