//! Chunked (`ovf:chunkSize`) and gzip-compressed (`ovf:compression="gzip"`) files laid out as
//! ovftool and vCloud Director write them: the descriptor, the manifest with one line per
//! chunk, then `disk1.vmdk.000000000`, `.000000001`, ... (compressed first, then chunked). The
//! disk is made by `qemu-img`, compressed by `gzip`, and the archive by Python `tarfile`
//! (ustar). Each is read as one file: validated, extracted, repacked.
//!
//! Skips with a message when qemu-img, gzip or Python are missing; fails when `CI` is set.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::archive_support::{data, descriptor, have, python, run, skip, write};
use ova_core::disk::{self, ConvertOptions, Format};
use ova_core::manifest::Algorithm;
use ova_core::no_progress;
use ova_core::package::Ova;
use ova_core::validate::Severity;

/// How the disk is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Plain,
    Chunked(usize),
    Gzip,
    GzipChunked(usize),
}

fn tools() -> bool {
    for t in ["qemu-img", "gzip", &python()] {
        if !have(t) {
            skip(&format!("{t} not found"));
            return false;
        }
    }
    true
}

/// A streamOptimized VMDK made by qemu-img from a 4 MiB raw disk (1 MiB of it random letters,
/// so the VMDK spans several chunks).
fn qemu_vmdk(dir: &Path) -> Vec<u8> {
    let mut raw = vec![0u8; 4 << 20];
    for (r, x) in raw.iter_mut().zip(data(1 << 20, 9)) {
        *r = b'a' + (x & 15);
    }
    let raw_path = write(dir, "disk.raw", &raw);
    let vmdk = dir.join("qemu.vmdk");
    run(Command::new("qemu-img")
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
        ])
        .arg(&raw_path)
        .arg(&vmdk));
    std::fs::read(vmdk).unwrap()
}

/// Writes a ustar archive with Python's `tarfile`, entries in the given order.
fn python_tar(out: &Path, dir: &Path, names: &[String]) {
    let script = "import sys, tarfile\n\
        out, d = sys.argv[1], sys.argv[2]\n\
        with tarfile.open(out, 'w', format=tarfile.USTAR_FORMAT) as t:\n\
        \x20   for n in sys.argv[3:]:\n\
        \x20       t.add(d + '/' + n, arcname=n)\n";
    run(Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(out)
        .arg(dir)
        .args(names));
}

/// Builds `p.ova` in `dir` holding `vmdk` as `disk1.vmdk` stored per `layout`, the way
/// ovftool lays it out; returns its path.
fn package(dir: &Path, vmdk: &[u8], layout: Layout) -> PathBuf {
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    let stored = match layout {
        Layout::Gzip | Layout::GzipChunked(_) => {
            let plain = write(&files, "plain.vmdk", vmdk);
            let out = Command::new("gzip")
                .args(["-n", "-6", "-c"])
                .arg(&plain)
                .output()
                .unwrap();
            assert!(out.status.success());
            std::fs::remove_file(plain).unwrap();
            out.stdout
        }
        _ => vmdk.to_vec(),
    };
    let pieces: Vec<(String, &[u8])> = match layout {
        Layout::Chunked(cs) | Layout::GzipChunked(cs) => stored
            .chunks(cs)
            .enumerate()
            .map(|(k, c)| (format!("disk1.vmdk.{k:09}"), c))
            .collect(),
        _ => vec![("disk1.vmdk".to_owned(), &stored[..])],
    };
    let iso = data(3000, 2);
    let mut attrs = format!(
        r#"ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="{}""#,
        stored.len()
    );
    if let Layout::Chunked(cs) | Layout::GzipChunked(cs) = layout {
        attrs.push_str(&format!(r#" ovf:chunkSize="{cs}""#));
    }
    if let Layout::Gzip | Layout::GzipChunked(_) = layout {
        attrs.push_str(r#" ovf:compression="gzip""#);
    }
    let ovf = descriptor(0, iso.len() as u64).replace(
        r#"ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="0""#,
        &attrs,
    );
    write(&files, "p.ovf", ovf.as_bytes());
    let sha = |b: &[u8]| hex::encode(Algorithm::Sha256.digest(b));
    let mut mf = format!("SHA256(p.ovf)= {}\n", sha(ovf.as_bytes()));
    let mut names = vec!["p.ovf".to_owned(), "p.mf".to_owned()];
    for (name, bytes) in &pieces {
        write(&files, name, bytes);
        mf.push_str(&format!("SHA256({name})= {}\n", sha(bytes)));
        names.push(name.clone());
    }
    write(&files, "extra.iso", &iso);
    mf.push_str(&format!("SHA256(extra.iso)= {}\n", sha(&iso)));
    names.push("extra.iso".into());
    write(&files, "p.mf", mf.as_bytes());
    let out = dir.join("p.ova");
    python_tar(&out, &files, &names);
    out
}

fn codes(ova: &Ova) -> Vec<(String, Severity)> {
    let mut v: Vec<(String, Severity)> = ova
        .validate(&mut no_progress)
        .unwrap()
        .into_iter()
        .map(|f| (f.code.to_string(), f.severity))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn chunked_and_gzip_disks_validate_as_the_plain_disk_does() {
    if !tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let vmdk = qemu_vmdk(tmp.path());
    let plain = Ova::open(package(&tmp.path().join("plain"), &vmdk, Layout::Plain)).unwrap();
    let expected = codes(&plain);
    // qemu-img's stream VMDK has no footer and zero padding after the end: warnings only.
    assert!(
        expected.iter().all(|(_, s)| *s == Severity::Warning),
        "{expected:?}"
    );
    assert!(
        expected.iter().any(|(c, _)| c.starts_with("vmdk-")),
        "{expected:?}"
    );
    let chunk = 256 * 1024;
    assert!(vmdk.len() > 2 * chunk, "the disk must span several chunks");
    for layout in [
        Layout::Chunked(chunk),
        Layout::Gzip,
        Layout::GzipChunked(100_000),
        Layout::Chunked(vmdk.len()),
    ] {
        let dir = tmp.path().join(format!("{layout:?}"));
        let ova = Ova::open(package(&dir, &vmdk, layout)).unwrap();
        assert_eq!(codes(&ova), expected, "{layout:?}");
        let (_, report) = ova.verify_manifest(&mut no_progress).unwrap().unwrap();
        assert!(report.is_ok(), "{layout:?}: {report:?}");
        // The content reader gives the disk qemu-img wrote.
        let files = ova.stored_files().unwrap();
        assert_eq!(files[0].href, "disk1.vmdk");
        assert_eq!(
            files[0].is_chunked(),
            matches!(layout, Layout::Chunked(_) | Layout::GzipChunked(_))
        );
        let mut content = Vec::new();
        ova.open_content(&files[0])
            .unwrap()
            .read_to_end(&mut content)
            .unwrap();
        assert!(content == vmdk, "{layout:?}");
    }
}

#[test]
fn a_cut_disk_across_chunks_is_still_an_error() {
    if !tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let vmdk = qemu_vmdk(tmp.path());
    let cut = &vmdk[..vmdk.len() * 2 / 3];
    for layout in [Layout::Chunked(200_000), Layout::GzipChunked(100_000)] {
        let ova = Ova::open(package(
            &tmp.path().join(format!("{layout:?}")),
            cut,
            layout,
        ))
        .unwrap();
        let findings = ova.validate(&mut no_progress).unwrap();
        let bad: Vec<_> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert_eq!(bad.len(), 1, "{layout:?}: {findings:?}");
        assert_eq!(bad[0].code, "vmdk-unreadable");
        assert_eq!(bad[0].entry.as_deref(), Some("disk1.vmdk"));
    }
}

#[test]
fn a_declared_gzip_file_that_is_not_gzip_is_reported() {
    if !tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let vmdk = qemu_vmdk(tmp.path());
    let path = package(tmp.path(), &vmdk, Layout::Plain);
    // Same package, but the descriptor claims gzip: the stored bytes are a plain VMDK.
    let files = tmp.path().join("files");
    let ovf = std::fs::read_to_string(files.join("p.ovf"))
        .unwrap()
        .replace(
            r#"ovf:id="file1""#,
            r#"ovf:id="file1" ovf:compression="gzip""#,
        );
    write(&files, "p.ovf", ovf.as_bytes());
    std::fs::remove_file(&path).unwrap();
    python_tar(
        &path,
        &files,
        &["p.ovf".into(), "disk1.vmdk".into(), "extra.iso".into()],
    );
    let findings = Ova::open(&path)
        .unwrap()
        .validate(&mut no_progress)
        .unwrap();
    let f = findings
        .iter()
        .find(|f| f.entry.as_deref() == Some("disk1.vmdk") && f.code.starts_with("vmdk-"))
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert!(f.message.contains("decompress"), "{f:?}");
}

/// `qemu-img check` judges a disk file (a stream VMDK is checked as qemu reads it).
fn qemu_check(path: &Path) {
    run(Command::new("qemu-img").arg("check").arg(path));
}

/// GNU tar and Python `tarfile` both list the archive, with these names.
fn tar_readers_agree(path: &Path, names: &[&str]) {
    let gnu = run(Command::new("tar").arg("-tf").arg(path));
    assert_eq!(gnu.lines().collect::<Vec<_>>(), names, "GNU tar");
    let py = run(Command::new(python())
        .arg("-c")
        .arg("import sys, tarfile\nfor m in tarfile.open(sys.argv[1]).getmembers(): print(m.name)")
        .arg(path));
    assert_eq!(py.lines().collect::<Vec<_>>(), names, "Python tarfile");
}

#[test]
fn extract_joins_chunks_unless_asked_to_keep_them() {
    if !tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let vmdk = qemu_vmdk(tmp.path());
    let ova = Ova::open(package(
        &tmp.path().join("c"),
        &vmdk,
        Layout::Chunked(200_000),
    ))
    .unwrap();
    let out = tmp.path().join("joined");
    let written = ova.extract(&out, &mut no_progress).unwrap();
    assert_eq!(written.len(), 4, "{written:?}");
    let disk = out.join("disk1.vmdk");
    assert!(std::fs::read(&disk).unwrap() == vmdk);
    assert!(!out.join("disk1.vmdk.000000000").exists());
    qemu_check(&disk);
    // The directory is a consistent package again: packing it validates cleanly but for the
    // disk's own (qemu-img) warnings, and its manifest names the joined file.
    let mf = std::fs::read_to_string(out.join("p.mf")).unwrap();
    assert_eq!(mf.lines().count(), 3, "{mf}");
    assert!(mf.contains("SHA256(disk1.vmdk)= "), "{mf}");
    let ovf = std::fs::read_to_string(out.join("p.ovf")).unwrap();
    assert!(!ovf.contains("chunkSize"), "{ovf}");
    let repacked = tmp.path().join("again.ova");
    let options = ova_core::package::PackOptions::new();
    Ova::pack_with(out.join("p.ovf"), &repacked, &options, &mut no_progress).unwrap();
    let again = Ova::open(&repacked).unwrap();
    assert!(
        codes(&again).iter().all(|(_, s)| *s == Severity::Warning),
        "{:?}",
        codes(&again)
    );

    let kept = tmp.path().join("kept");
    let opts = ova_core::package::ExtractOptions::new().with_keep_chunks(true);
    let written = ova.extract_with(&kept, &opts, &mut no_progress).unwrap();
    assert_eq!(written.len(), 2 + 1 + vmdk.len().div_ceil(200_000));
    assert!(kept.join("disk1.vmdk.000000000").exists());
    assert!(!kept.join("disk1.vmdk").exists());
}

#[test]
fn repack_keeps_joins_rechunks_and_decompresses() {
    if !tools() {
        return;
    }
    use ova_core::package::RepackOptions;
    use ova_core::write::Chunking;
    let tmp = tempfile::tempdir().unwrap();
    let vmdk = qemu_vmdk(tmp.path());
    let src = Ova::open(package(
        &tmp.path().join("src"),
        &vmdk,
        Layout::GzipChunked(100_000),
    ))
    .unwrap();
    let expected = {
        let plain = Ova::open(package(&tmp.path().join("plain"), &vmdk, Layout::Plain)).unwrap();
        codes(&plain)
    };
    let names =
        |ova: &Ova| -> Vec<String> { ova.entries().iter().map(|e| e.name.clone()).collect() };
    let chunk_names =
        |n: usize| -> Vec<String> { (0..n).map(|k| format!("disk1.vmdk.{k:09}")).collect() };
    let stored_chunks = src.stored_files().unwrap()[0].entries.len();

    // default: copied as stored
    let same = tmp.path().join("same.ova");
    src.repack(&same, &RepackOptions::new(), &mut no_progress)
        .unwrap();
    let same = Ova::open(&same).unwrap();
    let mut want = vec!["p.ovf".to_owned(), "p.mf".to_owned()];
    want.extend(chunk_names(stored_chunks));
    want.push("extra.iso".into());
    assert_eq!(names(&same), want);
    assert_eq!(codes(&same), expected);

    // joined: one gzip entry, chunkSize gone, still compressed
    let joined = tmp.path().join("joined.ova");
    src.repack(
        &joined,
        &RepackOptions::new().with_join_chunks(true),
        &mut no_progress,
    )
    .unwrap();
    let joined = Ova::open(&joined).unwrap();
    assert_eq!(names(&joined), ["p.ovf", "p.mf", "disk1.vmdk", "extra.iso"]);
    let r = joined.descriptor().unwrap().references()[0].clone();
    assert_eq!(
        (r.chunk_size, r.compression.as_deref()),
        (None, Some("gzip"))
    );
    assert_eq!(codes(&joined), expected);

    // re-chunked at another size
    let rechunked = tmp.path().join("rechunked.ova");
    let options =
        RepackOptions::new().with_chunking(Some(Chunking::new(150_000).with_threshold(1)));
    src.repack(&rechunked, &options, &mut no_progress).unwrap();
    let rechunked = Ova::open(&rechunked).unwrap();
    let r = rechunked.descriptor().unwrap().references()[0].clone();
    assert_eq!(r.chunk_size, Some(150_000));
    let stored = src.stored_files().unwrap()[0].stored_size() as usize;
    assert_eq!(
        rechunked.stored_files().unwrap()[0].entries.len(),
        stored.div_ceil(150_000)
    );
    assert_eq!(codes(&rechunked), expected);

    // decompressed: one plain entry, References fixed
    let plain = tmp.path().join("plain.ova");
    src.repack(
        &plain,
        &RepackOptions::new().with_decompress(true),
        &mut no_progress,
    )
    .unwrap();
    tar_readers_agree(&plain, &["p.ovf", "p.mf", "disk1.vmdk", "extra.iso"]);
    let plain = Ova::open(&plain).unwrap();
    let r = plain.descriptor().unwrap().references()[0].clone();
    assert_eq!(
        (r.chunk_size, r.compression.as_deref(), r.size),
        (None, None, Some(vmdk.len() as u64))
    );
    assert_eq!(codes(&plain), expected);
    let out = tmp.path().join("x");
    plain.extract(&out, &mut no_progress).unwrap();
    assert!(std::fs::read(out.join("disk1.vmdk")).unwrap() == vmdk);
    qemu_check(&out.join("disk1.vmdk"));
}

#[test]
fn in_place_edit_of_a_chunked_gzip_package_keeps_it_valid() {
    if !tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let vmdk = qemu_vmdk(tmp.path());
    let expected =
        codes(&Ova::open(package(&tmp.path().join("plain"), &vmdk, Layout::Plain)).unwrap());
    let path = package(&tmp.path().join("c"), &vmdk, Layout::GzipChunked(100_000));
    let before = std::fs::read(&path).unwrap();
    let report = Ova::edit_in_place(&path, &[ova_core::ovf::Edit::set_cpus(2)]).unwrap();
    assert_eq!(report.manifest_lines.len(), 1);
    let ova = Ova::open(&path).unwrap();
    assert_eq!(codes(&ova), expected);
    // the chunks are untouched, byte for byte
    for e in &ova.stored_files().unwrap()[0].entries {
        let r = e.data_offset as usize..(e.data_offset + e.size) as usize;
        assert!(before[r.clone()] == std::fs::read(&path).unwrap()[r]);
    }
}

/// A vCenter-generated descriptor with `ovf:chunkSize` (govmomi's `nostalgia-chunkdisk.ovf`,
/// Apache-2.0, see testdata/corpus/ovf/SOURCES.md) packaged as ovftool lays a chunked export
/// out, around a qemu-img disk of the capacity it declares: it validates exactly as the same
/// package stored whole does, and extracts to a disk `qemu-img check` accepts.
#[test]
fn a_real_vcenter_chunked_descriptor_packaged_as_ovftool_does() {
    if !tools() {
        return;
    }
    let real = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/corpus/ovf/govmomi/nostalgia-chunkdisk.ovf"
    ))
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let raw_path = tmp.path().join("n.raw");
    {
        let f = std::fs::File::create(&raw_path).unwrap();
        f.set_len(107_373_568).unwrap();
        use std::os::unix::fs::FileExt;
        let letters: Vec<u8> = data(1 << 20, 4).iter().map(|x| b'a' + (x & 15)).collect();
        f.write_all_at(&letters, 0).unwrap();
    }
    let vmdk_path = tmp.path().join("n.vmdk");
    run(Command::new("qemu-img")
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vmdk",
            "-o",
            "subformat=streamOptimized",
        ])
        .arg(&raw_path)
        .arg(&vmdk_path));
    let vmdk = std::fs::read(&vmdk_path).unwrap();
    let build = |dir: &Path, chunk: Option<usize>| -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let attr = match chunk {
            Some(cs) => format!(r#"ovf:chunkSize="{cs}" "#),
            None => String::new(),
        };
        let ovf = real.replace(
            r#"ovf:chunkSize="7516192768" ovf:href="Nostalgia-disk1.vmdk" ovf:id="file1" ovf:size="6872576""#,
            &format!(
                r#"{attr}ovf:href="Nostalgia-disk1.vmdk" ovf:id="file1" ovf:size="{}""#,
                vmdk.len()
            ),
        );
        assert_ne!(ovf, real);
        let name = "Nostalgia.ovf";
        write(dir, name, ovf.as_bytes());
        let sha = |b: &[u8]| hex::encode(Algorithm::Sha256.digest(b));
        let mut mf = format!("SHA256({name})= {}\n", sha(ovf.as_bytes()));
        let mut names = vec![name.to_owned(), "Nostalgia.mf".to_owned()];
        let pieces: Vec<(String, &[u8])> = match chunk {
            Some(cs) => vmdk
                .chunks(cs)
                .enumerate()
                .map(|(k, c)| (format!("Nostalgia-disk1.vmdk.{k:09}"), c))
                .collect(),
            None => vec![("Nostalgia-disk1.vmdk".into(), &vmdk[..])],
        };
        for (n, b) in &pieces {
            write(dir, n, b);
            mf.push_str(&format!("SHA256({n})= {}\n", sha(b)));
            names.push(n.clone());
        }
        write(dir, "Nostalgia.mf", mf.as_bytes());
        let out = dir.join("n.ova");
        python_tar(&out, dir, &names);
        out
    };
    let whole = Ova::open(build(&tmp.path().join("whole"), None)).unwrap();
    let chunked = Ova::open(build(&tmp.path().join("chunked"), Some(250_000))).unwrap();
    assert!(chunked.stored_files().unwrap()[0].entries.len() > 2);
    let expected = codes(&whole);
    assert!(
        !expected
            .iter()
            .any(|(c, _)| c.starts_with("chunk") || c == "vmdk-unreadable"),
        "{expected:?}"
    );
    assert_eq!(codes(&chunked), expected);
    let out = tmp.path().join("x");
    chunked.extract(&out, &mut no_progress).unwrap();
    assert!(std::fs::read(out.join("Nostalgia-disk1.vmdk")).unwrap() == vmdk);
    qemu_check(&out.join("Nostalgia-disk1.vmdk"));
}

#[test]
fn chunked_and_gzip_disks_convert_straight_from_the_package() {
    if !tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let vmdk = qemu_vmdk(tmp.path());
    let source = write(tmp.path(), "source.vmdk", &vmdk);
    for layout in [
        Layout::Plain,
        Layout::Chunked(256 * 1024),
        Layout::Gzip,
        Layout::GzipChunked(100_000),
    ] {
        let dir = tmp.path().join(format!("{layout:?}"));
        let ova = package(&dir, &vmdk, layout);
        let out = dir.join("disk.qcow2");
        let (choice, summary) = disk::convert_ova_disk(
            &ova,
            None,
            &out,
            &ConvertOptions::new(Format::Qcow2),
            &mut no_progress,
        )
        .unwrap_or_else(|e| panic!("{layout:?}: {e}"));
        assert_eq!(choice.entry, "disk1.vmdk", "{layout:?}");
        assert_eq!(summary.from, Format::Vmdk, "{layout:?}");
        // qemu-img judges: the template holds exactly the disk qemu-img wrote
        run(Command::new("qemu-img").arg("check").arg(&out));
        run(Command::new("qemu-img")
            .args(["compare", "-f", "qcow2", "-F", "vmdk"])
            .arg(&out)
            .arg(&source));
    }
}
