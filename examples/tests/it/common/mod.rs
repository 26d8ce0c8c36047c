//! Helpers shared by the integration tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub(crate) use test_support::package::listing;
use test_support::tls::{Identity, TlsFront};
use test_support::tools;

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

/// A TLS front for the plain TCP server at `backend`, on `localhost:<port>` with a fresh
/// self-signed certificate made the way `openssl req -x509` makes it (`CA:TRUE`, the server's own
/// certificate; WebPKI alone refuses it as `CaUsedAsEndEntity`): returns the port, the
/// certificate (PEM) and the front (it stops when dropped).
pub(crate) fn tls_front(backend: std::net::SocketAddr) -> (u16, String, TlsFront) {
    let id = Identity::self_signed_ca("localhost");
    let front = TlsFront::start(backend, &id);
    (front.port(), id.pem, front)
}

/// A child process killed (and reaped) when dropped.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pipeline demo --serve` in `dir`: a local S3 server (s3s-fs) and the CloudStack simulator;
/// returns the process, its `pipeline.toml` and the rest of its standard output.
pub(crate) fn demo_servers(
    dir: &Path,
) -> (
    Killed,
    PathBuf,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut child = pipeline_cmd()
        .args(["demo", "--serve", "--disk-mib", "2", "--dir"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let config = lines
        .by_ref()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("config: ").map(PathBuf::from))
        .unwrap();
    (Killed(child), config, lines)
}

/// `qemu-img ARGS` as the independent judge of a disk image: its stdout when it succeeds; a
/// failure with its output otherwise. `None` (the check skipped, with a message) when qemu-img
/// is not installed, which fails under `CI`.
pub(crate) fn qemu_img(args: &[&std::ffi::OsStr]) -> Option<String> {
    if !tools::require("qemu-img", "--version") {
        return None;
    }
    Some(tools::run(Command::new("qemu-img").args(args)))
}
