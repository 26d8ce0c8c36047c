//! Helpers shared by the `pipeline` integration tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// The `pipeline` binary built for these tests.
const BIN: &str = env!("CARGO_BIN_EXE_pipeline");

/// The binary, with the environment variables it reads removed so that a developer's own
/// credentials cannot override the test's configuration.
pub(crate) fn pipeline_cmd() -> Command {
    let mut cmd = Command::new(BIN);
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "CLOUDSTACK_ENDPOINT",
        "CLOUDSTACK_KEY",
        "CLOUDSTACK_SECRET",
        "PIPELINE_CONFIG",
        "PIPELINE_NAME",
        "PIPELINE_STATE_FILE",
        "PIPELINE_BUCKET",
        "PIPELINE_HYPERVISOR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// The names in `dir`, sorted.
pub(crate) fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A 4 GiB sparse raw disk `dir/disk.raw` (all zeros, no blocks on disk): converting it takes
/// seconds, so there is time to interrupt it.
pub(crate) fn sparse_disk(dir: &Path) -> PathBuf {
    let path = dir.join("disk.raw");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    path
}

/// Sends SIGINT (what Ctrl-C sends) to `child`.
pub(crate) fn sigint(child: &Child) {
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

/// `qemu-img ARGS` as the independent judge of a disk image: its stdout when it succeeds; a
/// failure with its output otherwise. `None` (the check skipped, with a message) when qemu-img
/// is not installed, which fails under `CI`.
pub(crate) fn qemu_img(args: &[&std::ffi::OsStr]) -> Option<String> {
    if Command::new("qemu-img").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "qemu-img is required when CI is set"
        );
        eprintln!("skipped: qemu-img is not installed");
        return None;
    }
    let out = Command::new("qemu-img").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "qemu-img {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(stdout)
}
