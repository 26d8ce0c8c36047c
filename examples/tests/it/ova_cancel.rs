//! `ova` and Ctrl-C: SIGINT during a long operation stops it at its next buffer; the tool says
//! so in one line, exits 130, and leaves neither its output nor a temporary file behind, while
//! an existing file of the output's name keeps every byte.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{listing, sigint, sparse_disk};

const PRECIOUS: &[u8] = b"an existing file the user cares about\n";

/// Runs `ova args...`, waits until a temporary file appears beside `existing` (or a few seconds
/// pass), sends SIGINT, and checks the exit code, the message and what is left in the folder.
fn interrupt(args: &[&std::ffi::OsStr], existing: &Path) {
    let dir = existing.parent().unwrap();
    let name = existing.file_name().unwrap().to_string_lossy().into_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ova"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while listing(dir).len() < 2 && started.elapsed() < Duration::from_secs(5) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ova ended before it could be interrupted: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    sigint(&child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].starts_with("ova: cancelled by Ctrl-C; nothing was left behind"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert_eq!(listing(dir), [name], "no output and no temporary file");
    assert_eq!(std::fs::read(existing).unwrap(), PRECIOUS);
}

#[test]
fn ctrl_c_stops_a_build_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = sparse_disk(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let existing = out.join("big.ova");
    std::fs::write(&existing, PRECIOUS).unwrap();
    interrupt(
        &[
            "build".as_ref(),
            "--disk".as_ref(),
            disk.as_os_str(),
            "--name".as_ref(),
            "big".as_ref(),
            "-o".as_ref(),
            existing.as_os_str(),
        ],
        &existing,
    );
}

#[test]
fn ctrl_c_stops_a_vmdk_conversion_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = sparse_disk(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let existing = out.join("big.vmdk");
    std::fs::write(&existing, PRECIOUS).unwrap();
    interrupt(
        &[
            "vmdk".as_ref(),
            "convert".as_ref(),
            disk.as_os_str(),
            existing.as_os_str(),
        ],
        &existing,
    );
}

#[test]
fn ctrl_c_stops_a_disk_conversion_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = sparse_disk(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for (name, extra) in [("big.qcow2", "--compress"), ("big.vhd", "--threads=1")] {
        let existing = out.join(name);
        std::fs::write(&existing, PRECIOUS).unwrap();
        interrupt(
            &[
                "disk".as_ref(),
                "convert".as_ref(),
                extra.as_ref(),
                disk.as_os_str(),
                existing.as_os_str(),
            ],
            &existing,
        );
        std::fs::remove_file(&existing).unwrap();
    }
}

#[test]
fn exit_code_130_is_documented_in_the_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_ova"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("130 stopped by Ctrl-C"), "{help}");
}
