//! `ova pack/repack --large-files chunk`: the package validates cleanly and Python's `tarfile`
//! (an independent reader) joins the chunks back into the original disk.

use std::path::Path;
use std::process::Command;

fn ova(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ova"))
        .args(args)
        .output()
        .unwrap()
}

fn descriptor(disk: u64) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References>
    <File ovf:href="disk1.img" ovf:id="file1" ovf:size="{disk}"/>
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    <Disk ovf:capacity="{disk}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1"/>
  </DiskSection>
  <VirtualSystem ovf:id="vm1">
    <Info>A virtual machine</Info>
    <Name>sample</Name>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"#
    )
}

fn python_join(ova: &Path, prefix: &str) -> Option<Vec<u8>> {
    let python = test_support::tools::python();
    let script = "import sys, tarfile\n\
        t = tarfile.open(sys.argv[1])\n\
        names = sorted(n for n in t.getnames() if n.startswith(sys.argv[2] + '.'))\n\
        sys.stdout.buffer.write(b''.join(t.extractfile(n).read() for n in names))\n";
    match Command::new(&python)
        .args(["-c", script])
        .arg(ova)
        .arg(prefix)
        .output()
    {
        Ok(o) if o.status.success() => Some(o.stdout),
        other => {
            assert!(
                std::env::var_os("CI").is_none(),
                "python is required when CI is set: {other:?}"
            );
            eprintln!("skipping the tarfile cross-check: no python");
            None
        }
    }
}

#[test]
fn pack_and_repack_with_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let disk: Vec<u8> = (0..3_670_016u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(src.join("vm.ovf"), descriptor(disk.len() as u64)).unwrap();
    std::fs::write(src.join("disk1.img"), &disk).unwrap();
    let chunked = dir.path().join("chunked.ova");
    let chunk_flags = [
        "--large-files",
        "chunk",
        "--chunk-size",
        "1M",
        "--chunk-threshold",
        "2M",
    ];
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["pack".as_ref(), src.as_os_str(), chunked.as_os_str()];
    args.extend(chunk_flags.iter().map(std::ffi::OsStr::new));
    let out = ova(&args);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("disk1.img.000000003"), "{text}");
    assert!(!text.contains("disk1.img.000000004"), "{text}");

    let out = ova(&["validate".as_ref(), chunked.as_os_str(), "--json".as_ref()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"].as_array().map(Vec::len), Some(0), "{json}");
    assert_eq!(json["ok"], true);

    if let Some(joined) = python_join(&chunked, "disk1.img") {
        assert!(joined == disk);
    }

    // the default stays one entry; repack then chunks it the same way
    let plain = dir.path().join("plain.ova");
    let out = ova(&["pack".as_ref(), src.as_os_str(), plain.as_os_str()]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("disk1.img\n"));
    let repacked = dir.path().join("repacked.ova");
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["repack".as_ref(), plain.as_os_str(), repacked.as_os_str()];
    args.extend(chunk_flags.iter().map(std::ffi::OsStr::new));
    let out = ova(&args);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read(&repacked).unwrap(),
        std::fs::read(&chunked).unwrap()
    );

    // a zero chunk size is a usage error
    let out = ova(&[
        "repack".as_ref(),
        plain.as_os_str(),
        dir.path().join("x.ova").as_os_str(),
        "--chunk-size".as_ref(),
        "0".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn extract_joins_or_keeps_chunks_and_repack_joins_them() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let disk: Vec<u8> = (0..2_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(src.join("vm.ovf"), descriptor(disk.len() as u64)).unwrap();
    std::fs::write(src.join("disk1.img"), &disk).unwrap();
    let chunked = dir.path().join("chunked.ova");
    let out = ova(&[
        "pack".as_ref(),
        src.as_os_str(),
        chunked.as_os_str(),
        "--large-files".as_ref(),
        "chunk".as_ref(),
        "--chunk-size".as_ref(),
        "1M".as_ref(),
        "--chunk-threshold".as_ref(),
        "1M".as_ref(),
    ]);
    assert!(out.status.success(), "{out:?}");

    let joined = dir.path().join("joined");
    let out = ova(&["extract".as_ref(), chunked.as_os_str(), joined.as_os_str()]);
    assert!(out.status.success(), "{out:?}");
    assert!(std::fs::read(joined.join("disk1.img")).unwrap() == disk);
    assert!(!joined.join("disk1.img.000000000").exists());
    let kept = dir.path().join("kept");
    let out = ova(&[
        "extract".as_ref(),
        chunked.as_os_str(),
        kept.as_os_str(),
        "--keep-chunks".as_ref(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(kept.join("disk1.img.000000002").exists());
    assert!(!kept.join("disk1.img").exists());

    let one = dir.path().join("one.ova");
    let out = ova(&[
        "repack".as_ref(),
        chunked.as_os_str(),
        one.as_os_str(),
        "--join-chunks".as_ref(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("disk1.img\n"));
    let out = ova(&["validate".as_ref(), one.as_os_str(), "--json".as_ref()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn input_that_is_not_an_ova_is_named_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("x.ova");
    std::fs::write(
        &gz,
        [
            0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
    )
    .unwrap();
    for cmd in ["info", "validate"] {
        let out = ova(&[cmd.as_ref(), gz.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("not an ova but gzip-compressed") && err.contains("gunzip it first"),
            "{err}"
        );
    }
}
