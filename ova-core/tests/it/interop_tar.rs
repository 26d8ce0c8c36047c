//! Interop with independent tar implementations: archives written by Python's `tarfile` (pax,
//! ustar and GNU formats) and GNU tar (`--format=posix|gnu|ustar`) are read correctly, with
//! their extension headers reported; archives ovakit writes are read by both.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use crate::archive_support::*;
use ova_core::archive::{ArchiveIndex, ArchiveReader, EntryKind, EntryProblem, Extension};
use ova_core::package::Ova;
use ova_core::tar::HeaderFormat;

fn read_all(bytes: &[u8]) -> Vec<(ova_core::archive::EntryInfo, Vec<u8>)> {
    let mut r = ArchiveReader::new(bytes);
    let mut out = Vec::new();
    while let Some(mut e) = r.next_entry().unwrap() {
        let mut d = Vec::new();
        e.read_to_end(&mut d).unwrap();
        out.push((e.info().clone(), d));
    }
    out
}

fn sample_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let (d, disk, iso) = sample_files(70_000, 1_234);
    let long = format!("{}.txt", "n".repeat(120));
    let files = vec![
        ("sample.ovf".to_owned(), d),
        ("disk1.vmdk".to_owned(), disk),
        ("extra.iso".to_owned(), iso),
        (long, b"long name".to_vec()),
    ];
    for (n, b) in &files {
        std::fs::write(dir.join(n), b).unwrap();
    }
    files
}

fn check_contents(bytes: &[u8], files: &[(String, Vec<u8>)], formats: &[HeaderFormat]) {
    let got = read_all(bytes);
    let regular: Vec<_> = got
        .iter()
        .filter(|(i, _)| i.entry_type == ova_core::tar::EntryType::Regular)
        .collect();
    assert_eq!(regular.len(), files.len());
    for ((info, data), (name, want)) in regular.iter().zip(files) {
        assert_eq!(ova_core::write::normalize_name(&info.name), name);
        assert_eq!(data, want, "{name}");
        assert_eq!(info.size, want.len() as u64);
        assert!(
            formats.contains(&info.header_format),
            "{name}: {:?} not in {formats:?}",
            info.header_format
        );
    }
    // The indexed reader agrees with the streaming reader.
    let idx = ArchiveIndex::read(std::io::Cursor::new(bytes), bytes.len() as u64).unwrap();
    assert_eq!(
        idx.entries,
        got.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>()
    );
}

fn python_tar(dir: &Path, out: &Path, format: &str, names: &[String]) -> bool {
    let script = format!(
        "import tarfile,sys,os\nos.chdir(sys.argv[1])\nwith tarfile.open(sys.argv[2],'w',format=tarfile.{format}) as t:\n    for n in sys.argv[3:]:\n        t.add(n)\n"
    );
    let Ok(o) = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(dir)
        .arg(out)
        .args(names)
        .output()
    else {
        return false;
    };
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    true
}

#[test]
fn python_tarfile_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let files = sample_dir(&src);
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    for (format, formats) in [
        ("PAX_FORMAT", &[HeaderFormat::Pax, HeaderFormat::Ustar][..]),
        ("GNU_FORMAT", &[HeaderFormat::Gnu][..]),
    ] {
        let out = tmp.path().join(format!("{format}.tar"));
        if !python_tar(&src, &out, format, &names) {
            return skip("python3 is not available");
        }
        let bytes = std::fs::read(&out).unwrap();
        check_contents(&bytes, &files, formats);
        let idx = ArchiveIndex::read(std::io::Cursor::new(&bytes), bytes.len() as u64).unwrap();
        // Python's default format puts a pax header in front of the descriptor (float mtimes):
        // exactly what VMware refuses, and what the reader must report.
        if format == "PAX_FORMAT" {
            let d = &idx.entries[0];
            assert_eq!(d.kind, EntryKind::Descriptor);
            assert_eq!(d.extensions, vec![Extension::PaxLocal]);
            assert!(d.problems.contains(&EntryProblem::ExtensionHeader {
                extension: Extension::PaxLocal
            }));
            assert!(!idx.descriptor_is_first_block());
        } else {
            // GNU format: the 120-byte name needs a LongLink entry.
            let long = idx.entries.last().unwrap();
            assert_eq!(long.extensions, vec![Extension::GnuLongName]);
            assert!(idx.descriptor_is_first_block());
        }
    }
    // USTAR cannot hold the long name without the prefix field; leave it out.
    let out = tmp.path().join("ustar.tar");
    assert!(python_tar(&src, &out, "USTAR_FORMAT", &names[..3]));
    let bytes = std::fs::read(&out).unwrap();
    check_contents(&bytes, &files[..3], &[HeaderFormat::Ustar]);
}

#[test]
fn gnu_tar_formats() {
    if !have("tar") {
        return skip("GNU tar is not available");
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let files = sample_dir(&src);
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    for (format, formats, n) in [
        ("posix", &[HeaderFormat::Pax][..], 4),
        ("gnu", &[HeaderFormat::Gnu][..], 4),
        ("ustar", &[HeaderFormat::Ustar][..], 3),
    ] {
        let out = tmp.path().join(format!("{format}.tar"));
        run(Command::new("tar")
            .arg("-C")
            .arg(&src)
            .arg(format!("--format={format}"))
            .arg("-cf")
            .arg(&out)
            .args(&names[..n]));
        let bytes = std::fs::read(&out).unwrap();
        check_contents(&bytes, &files[..n], formats);
    }
    // `tar -C dir .` puts a `./` directory first: reported, and the descriptor is not first.
    let out = tmp.path().join("dot.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&src)
        .arg("--format=ustar")
        .arg("--exclude=nnn*")
        .arg("-cf")
        .arg(&out)
        .arg("."));
    let ova = Ova::open(&out).unwrap();
    let first = &ova.entries()[0];
    assert_eq!(first.name, "./");
    assert!(first.problems.contains(&EntryProblem::Directory));
    assert!(!ova.index().descriptor_is_first_block());
}

#[test]
fn independent_readers_read_what_we_write() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = sample_ova(100_000, 513);
    let path = write(tmp.path(), "sample.ova", &bytes);
    // The first block is the descriptor's own ustar header.
    assert_eq!(&bytes[..10], b"sample.ovf");
    assert_eq!(&bytes[257..265], b"ustar\x0000");
    if have("tar") {
        let listing = run(Command::new("tar").arg("-tvf").arg(&path));
        let names: Vec<&str> = listing
            .lines()
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(
            names,
            ["sample.ovf", "sample.mf", "disk1.vmdk", "extra.iso"]
        );
        assert!(listing.contains("-rw-r--r-- 0/0"));
        let out = tmp.path().join("x");
        std::fs::create_dir(&out).unwrap();
        run(Command::new("tar")
            .arg("-C")
            .arg(&out)
            .arg("-xf")
            .arg(&path));
        let (_, disk, _) = sample_files(100_000, 513);
        assert_eq!(std::fs::read(out.join("disk1.vmdk")).unwrap(), disk);
    } else {
        skip("GNU tar is not available");
    }
    let script = "import tarfile,sys\nt=tarfile.open(sys.argv[1])\nfor m in t.getmembers():\n    print(m.name, m.size, m.type.decode(), oct(m.mode), m.uid, m.gid, len(m.pax_headers))\n";
    match Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
    {
        Ok(o) => {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let text = String::from_utf8_lossy(&o.stdout);
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 4);
            assert!(lines[0].starts_with("sample.ovf "));
            assert!(lines[2].starts_with("disk1.vmdk 100000 0 0o644 0 0 0"));
        }
        Err(_) => skip("python3 is not available"),
    }
}
