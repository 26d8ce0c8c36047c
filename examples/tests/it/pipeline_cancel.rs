//! `pipeline` and Ctrl-C during `prepare`: the build stops at its next buffer, the step is
//! reported as failed by the interruption, the run exits 130, and no package or temporary file is
//! left in the output folder (an existing package of that name keeps every byte).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{listing, pipeline_cmd, sigint, sparse_disk};

#[test]
fn ctrl_c_during_prepare_leaves_no_package_behind() {
    let tmp = tempfile::tempdir().unwrap();
    sparse_disk(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let existing = out.join("big.ova");
    std::fs::write(&existing, b"the previous package\n").unwrap();
    let config = tmp.path().join("pipeline.toml");
    std::fs::write(
        &config,
        "name = \"big\"\n[prepare]\ndisk = \"disk.raw\"\noutput = \"out/big.ova\"\n",
    )
    .unwrap();
    let mut child = pipeline_cmd()
        .args(["run", "--to", "prepare", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the temporary package beside the old one, then interrupt.
    let started = Instant::now();
    while listing(&out).len() < 2 && started.elapsed() < Duration::from_secs(10) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("pipeline ended before it could be interrupted: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    sigint(&child);
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert_eq!(done.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("cancelled"),
        "the step says why it failed: {stdout}\n{stderr}"
    );
    assert_eq!(listing(&out), ["big.ova"], "no package, no temporary file");
    assert_eq!(std::fs::read(&existing).unwrap(), b"the previous package\n");
}
