//! `s3copy` as a command-line tool against real S3 servers: s3s-fs in-process on a loopback port,
//! and moto when `OVAKIT_MOTO_ENDPOINT` is set (skipped without it, a failure under CI). Every case
//! runs the built binary in a clean environment (no inherited `AWS_*` variable, `HOME` in a
//! temporary folder, credentials and region from the test) and checks the exit code (0 success,
//! 1 an integrity check failed, 2 usage, I/O or server error, 130 stopped by Ctrl-C), what was
//! printed, and what the store holds afterwards (the bytes, and no incomplete upload).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use s3_stream::{Client, CopyOptions, Credentials};

use test_support::data::xorshift64 as data;
use test_support::moto::unique;
use test_support::proxy::{flipping_proxy, loopback_addr};

use crate::common::sigint;

/// The s3s-fs credentials (the secret has the characters that need care in a signature).
const AK: &str = "S3COPYTESTKEY";
const SK: &str = "s3copy/test+Secret";
const MIB: usize = 1 << 20;

/// The `s3copy` binary with nothing from the developer's environment that it would read: every
/// `AWS_*` variable removed and `HOME` in `home` (no ~/.aws files).
fn s3copy_cmd(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3copy"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", home).env("AWS_REGION", "us-east-1");
    cmd
}

/// What a run of the binary left: exit code and output.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().expect("exited, not killed by a signal"),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Asserts success and parses the `--json` report.
    fn json(&self) -> serde_json::Value {
        assert_eq!(
            self.code, 0,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Asserts the exit code and that stderr contains every one of `needles`.
    fn fails(&self, code: i32, needles: &[&str]) {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "{n:?} not in stderr: {}",
                self.stderr
            );
        }
    }
}

enum Kind {
    /// s3s-fs storing objects as files under this folder (`<root>/<bucket>/<key>`; an upload's
    /// state and parts are `<root>/.upload*` files).
    Fs(tempfile::TempDir),
    Moto,
}

/// An S3 server, a library client for it, and the environment to run `s3copy` against it.
struct Store {
    endpoint: String,
    access_key: &'static str,
    secret_key: &'static str,
    kind: Kind,
    client: Client,
    home: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl Store {
    /// s3s-fs on 127.0.0.1:0, served by a runtime of its own for as long as the `Store` lives.
    fn s3s_fs() -> Self {
        Self::serve_fs(|fs| fs)
    }

    /// s3s-fs behind `wrap` (which may delay or refuse operations).
    fn serve_fs<S: s3s::S3>(wrap: impl FnOnce(s3s_fs::FileSystem) -> S) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let root = tempfile::tempdir().unwrap();
        let fs = test_support::s3s::file_system(root.path());
        let addr = rt.block_on(test_support::s3s::serve(wrap(fs), AK, SK));
        Self::new(format!("http://{addr}"), AK, SK, Kind::Fs(root), rt)
    }

    /// The moto server from `OVAKIT_MOTO_ENDPOINT` (any credentials).
    fn moto() -> Option<Self> {
        let endpoint = test_support::moto::endpoint()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Some(Self::new(endpoint, "testing", "testing", Kind::Moto, rt))
    }

    fn new(
        endpoint: String,
        access_key: &'static str,
        secret_key: &'static str,
        kind: Kind,
        rt: tokio::runtime::Runtime,
    ) -> Self {
        let client = Client::builder()
            .with_endpoint(&endpoint)
            .with_region("us-east-1")
            .with_credentials(Credentials::new(access_key, secret_key))
            .build()
            .unwrap();
        Self {
            endpoint,
            access_key,
            secret_key,
            kind,
            client,
            home: tempfile::tempdir().unwrap(),
            rt,
        }
    }

    fn is_moto(&self) -> bool {
        matches!(self.kind, Kind::Moto)
    }

    /// A new, empty bucket.
    fn bucket(&self, prefix: &str) -> String {
        let name = unique(prefix);
        match &self.kind {
            Kind::Fs(root) => std::fs::create_dir(root.path().join(&name)).unwrap(),
            Kind::Moto => self.rt.block_on(self.client.create_bucket(&name)).unwrap(),
        }
        name
    }

    /// The object's bytes, or `None` when there is no such object.
    fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match &self.kind {
            Kind::Fs(root) => {
                let path = root.path().join(bucket).join(key);
                path.is_file().then(|| std::fs::read(path).unwrap())
            }
            Kind::Moto => match self.rt.block_on(self.client.get_object(bucket, key)) {
                Ok(b) => Some(b.to_vec()),
                Err(e) => {
                    let status = e.s3_context().and_then(|c| c.status);
                    assert_eq!(status, Some(404), "GetObject s3://{bucket}/{key}: {e}");
                    None
                }
            },
        }
    }

    /// Incomplete multipart uploads: what ListMultipartUploads returns on moto, the upload
    /// files on s3s-fs (which has no ListMultipartUploads).
    fn open_uploads(&self, bucket: &str) -> Vec<String> {
        match &self.kind {
            Kind::Fs(root) => upload_files(root.path()),
            Kind::Moto => self
                .rt
                .block_on(self.client.list_multipart_uploads(bucket, None))
                .unwrap()
                .into_iter()
                .map(|u| format!("{} {}", u.key, u.upload_id))
                .collect(),
        }
    }

    /// `s3copy` with this store's endpoint and credentials. `--endpoint` comes first, so every
    /// `set-acl` and `uploads` run also checks that a global option may precede the subcommand.
    fn cmd(&self) -> Command {
        self.cmd_with_keys(self.access_key, self.secret_key)
    }

    fn cmd_with_keys(&self, access_key: &str, secret_key: &str) -> Command {
        let mut cmd = s3copy_cmd(self.home.path());
        cmd.env("AWS_ACCESS_KEY_ID", access_key)
            .env("AWS_SECRET_ACCESS_KEY", secret_key)
            .args(["--endpoint", &self.endpoint]);
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).output().unwrap())
    }

    /// Runs with `input` written to the child's stdin (from a thread: the child may stop reading
    /// early, and a broken pipe is then expected).
    fn run_stdin(&self, args: &[&str], input: Vec<u8>) -> Run {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run::from(out)
    }

    /// Asserts that nothing of a failed copy to `s3://bucket/key` is left: no object, no
    /// incomplete upload.
    fn assert_nothing_left(&self, bucket: &str, key: &str) {
        assert!(
            self.object(bucket, key).is_none(),
            "s3://{bucket}/{key} must not exist"
        );
        assert_eq!(
            self.open_uploads(bucket),
            Vec::<String>::new(),
            "no incomplete upload may be left"
        );
    }
}

/// s3s-fs's multipart upload files (`.upload-<id>.json`, `.upload_id-<id>.part-<n>`).
fn upload_files(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".upload"))
        .collect();
    names.sort();
    names
}

fn crc32c_hex(b: &[u8]) -> String {
    format!("{:08x}", crc32c::crc32c(b))
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Serves `body` at `/x` (and 404 at any other path) over HTTP/1.1 on a loopback port, one
/// thread per connection, until the test process ends. Returns `http://127.0.0.1:PORT`.
fn serve_file(body: Vec<u8>) -> String {
    let body = Arc::new(body);
    let addr = test_support::http::serve_raw(move |head, mut sock| {
        let (status, payload): (&str, &[u8]) = if head.path() == "/x" {
            ("200 OK", &body)
        } else {
            ("404 Not Found", b"no such file\n")
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
            payload.len()
        );
        let _ = sock.write_all(answer.as_bytes());
        if head.method() != "HEAD" {
            let _ = sock.write_all(payload);
        }
    });
    format!("http://{addr}")
}

/// An anonymous GET (no signature) of `url`; returns the HTTP status.
fn anonymous_get(url: &str) -> u16 {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut sock = std::net::TcpStream::connect(host).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        sock,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    sock.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"))
}

// ---------------------------------------------------------------------------------------------
// 1. a file in parts: the JSON report, the per-part check chosen, the stored bytes

fn file_upload_reports_and_stores(s: &Store) {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = data(12 * MIB + 12_345, 1);
    let file = write_file(tmp.path(), "disk.bin", &bytes);
    let file = file.to_str().unwrap();
    let bucket = s.bucket("s3copy-file");
    let dest = format!("s3://{bucket}/dir/disk.bin");

    let r = s.run(&[file, &dest, "--json", "--part-size", "5M"]);
    let j = r.json();
    assert_eq!(j["bucket"], bucket.as_str());
    assert_eq!(j["key"], "dir/disk.bin");
    assert_eq!(j["bytes"], bytes.len() as u64);
    assert_eq!(j["parts"], 3);
    assert_eq!(j["part_size"], 5 * MIB as u64);
    assert_eq!(j["multipart"], true);
    assert_eq!(j["crc32c"], crc32c_hex(&bytes).as_str());
    // the default check: neither store echoes a part's CRC32C (moto checks no part header at
    // all), so every part carries its MD5 too and the returned ETags are compared with it
    assert_eq!(j["part_checksum"], "md5", "{j}");
    assert_eq!(j["payload_signed"], true);
    assert!(j["mb_per_s"].as_f64().unwrap() > 0.0, "{j}");
    assert!(j["seconds"].as_f64().unwrap() > 0.0, "{j}");
    let etag = j["etag"].as_str().unwrap();
    assert!(!etag.is_empty(), "{j}");
    if s.is_moto() {
        // S3's md5-of-md5s shape (s3s-fs reports the object's plain MD5)
        assert!(etag.trim_matches('"').ends_with("-3"), "{etag}");
    }
    assert!(j["md5"].is_null() && j["sha256"].is_null(), "not asked for");
    assert!(
        r.stderr.is_empty(),
        "--json prints no summary line: {}",
        r.stderr
    );
    assert!(s.object(&bucket, "dir/disk.bin").unwrap() == bytes);
    assert!(s.open_uploads(&bucket).is_empty());

    // Content-MD5 on every part, whole-stream digests on request
    let r = s.run(&[
        file,
        &dest,
        "--json",
        "--part-size",
        "5M",
        "--part-checksum",
        "md5",
        "--md5",
        "--sha256",
    ]);
    let j = r.json();
    assert_eq!(j["part_checksum"], "md5");
    assert_eq!(j["payload_signed"], true);
    assert_eq!(j["parts"], 3);
    {
        use sha2::Digest as _;
        assert_eq!(
            j["sha256"],
            hex::encode(sha2::Sha256::digest(&bytes)).as_str()
        );
    }
    assert_eq!(j["md5"].as_str().unwrap().len(), 32, "{j}");
    assert!(s.object(&bucket, "dir/disk.bin").unwrap() == bytes);

    // UNSIGNED-PAYLOAD: the same default check
    let r = s.run(&[
        file,
        &dest,
        "--json",
        "--part-size",
        "5M",
        "--payload",
        "unsigned",
    ]);
    let j = r.json();
    assert_eq!(j["payload_signed"], false);
    assert_eq!(j["part_checksum"], "md5");
    assert!(s.object(&bucket, "dir/disk.bin").unwrap() == bytes);

    // x-amz-checksum-crc32c on every part
    let r = s.run(&[
        file,
        &dest,
        "--json",
        "--part-size",
        "5M",
        "--part-checksum",
        "crc32c",
    ]);
    let j = r.json();
    assert_eq!(j["part_checksum"], "crc32c");
    assert_eq!(j["crc32c"], crc32c_hex(&bytes).as_str());
    assert!(s.object(&bucket, "dir/disk.bin").unwrap() == bytes);

    // Without --json: one summary line on stderr, nothing on stdout; --quiet: nothing at all.
    let small = data(100_000, 2);
    let small_file = write_file(tmp.path(), "small.bin", &small);
    let small_dest = format!("s3://{bucket}/small.bin");
    let r = s.run(&[small_file.to_str().unwrap(), &small_dest]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let line = format!("{small_dest}: 100000 bytes, 1 part(s), ");
    assert!(r.stderr.starts_with(&line), "{}", r.stderr);
    assert!(
        r.stderr
            .trim_end()
            .ends_with(&format!("crc32c {}", crc32c_hex(&small))),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let r = s.run(&[small_file.to_str().unwrap(), &small_dest, "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.is_empty() && r.stderr.is_empty(),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert!(s.object(&bucket, "small.bin").unwrap() == small);

    // A file whose length is not the size promised: refused before anything is sent.
    let r = s.run(&[
        small_file.to_str().unwrap(),
        &format!("s3://{bucket}/promised.bin"),
        "--expected-size",
        "200000",
    ]);
    r.fails(1, &["integrity check failed", "200000", "100000"]);
    s.assert_nothing_left(&bucket, "promised.bin");
}

#[test]
fn file_upload_reports_and_stores_on_s3s_fs() {
    file_upload_reports_and_stores(&Store::s3s_fs());
}

#[test]
fn file_upload_reports_and_stores_on_moto() {
    if let Some(s) = Store::moto() {
        file_upload_reports_and_stores(&s);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. stdin with --expected-size: exact, too long, too short

fn stdin_with_expected_size(s: &Store) {
    let bucket = s.bucket("s3copy-stdin");
    let bytes = data(7 * MIB + 777, 3);
    let len = bytes.len().to_string();
    let dest = format!("s3://{bucket}/piped.bin");

    let r = s.run_stdin(
        &[
            "-",
            &dest,
            "--expected-size",
            &len,
            "--part-size",
            "5M",
            "--json",
        ],
        bytes.clone(),
    );
    let j = r.json();
    assert_eq!(j["bytes"], bytes.len() as u64);
    assert_eq!(j["parts"], 2);
    assert_eq!(j["crc32c"], crc32c_hex(&bytes).as_str());
    assert!(s.object(&bucket, "piped.bin").unwrap() == bytes);

    // A small stream goes in one PUT.
    let small = data(4000, 4);
    let r = s.run_stdin(
        &[
            "-",
            &format!("s3://{bucket}/small.bin"),
            "--expected-size",
            "4000",
            "--json",
        ],
        small.clone(),
    );
    let j = r.json();
    assert_eq!(
        (j["parts"].as_u64(), j["multipart"].as_bool()),
        (Some(1), Some(false))
    );
    assert!(s.object(&bucket, "small.bin").unwrap() == small);

    // The stream ends before the size given: the upload (one part already stored) is aborted.
    let r = s.run_stdin(
        &[
            "-",
            &format!("s3://{bucket}/short.bin"),
            "--expected-size",
            "12M",
            "--part-size",
            "5M",
        ],
        bytes.clone(),
    );
    r.fails(
        1,
        &[
            &format!("ended after {} bytes", bytes.len()),
            &format!("{} were announced", 12 * MIB),
        ],
    );
    assert!(r.stdout.is_empty());
    s.assert_nothing_left(&bucket, "short.bin");

    // The stream goes on past the size given (two full parts were sent first).
    let r = s.run_stdin(
        &[
            "-",
            &format!("s3://{bucket}/long.bin"),
            "--expected-size",
            "6M",
            "--part-size",
            "5M",
        ],
        bytes.clone(),
    );
    r.fails(
        1,
        &[&format!("sent more than the {} bytes announced", 6 * MIB)],
    );
    s.assert_nothing_left(&bucket, "long.bin");

    // The same in one PUT: nothing is stored either.
    let r = s.run_stdin(
        &[
            "-",
            &format!("s3://{bucket}/long-small.bin"),
            "--expected-size",
            "3000",
        ],
        small.clone(),
    );
    r.fails(1, &["sent more than the 3000 bytes announced"]);
    s.assert_nothing_left(&bucket, "long-small.bin");
}

#[test]
fn stdin_with_expected_size_on_s3s_fs() {
    stdin_with_expected_size(&Store::s3s_fs());
}

#[test]
fn stdin_with_expected_size_on_moto() {
    if let Some(s) = Store::moto() {
        stdin_with_expected_size(&s);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. an HTTP source

#[test]
fn http_source_is_streamed_and_a_404_is_an_error() {
    let s = Store::s3s_fs();
    let bucket = s.bucket("s3copy-http");
    let bytes = data(6 * MIB + 5, 5);
    let base = serve_file(bytes.clone());

    let r = s.run(&[
        &format!("{base}/x"),
        &format!("s3://{bucket}/from-http.bin"),
        "--part-size",
        "5M",
        "--json",
    ]);
    let j = r.json();
    assert_eq!(j["bytes"], bytes.len() as u64);
    assert_eq!(j["parts"], 2);
    assert_eq!(j["crc32c"], crc32c_hex(&bytes).as_str());
    assert!(s.object(&bucket, "from-http.bin").unwrap() == bytes);

    let r = s.run(&[
        &format!("{base}/missing"),
        &format!("s3://{bucket}/missing.bin"),
    ]);
    r.fails(2, &["404", "/missing"]);
    assert!(r.stdout.is_empty());
    s.assert_nothing_left(&bucket, "missing.bin");
}

// ---------------------------------------------------------------------------------------------
// 4. usage errors and --help

#[test]
fn usage_errors_exit_2_with_a_useful_message() {
    let home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = write_file(tmp.path(), "f.bin", b"abc");
    let file = file.to_str().unwrap();
    // Credentials and an endpoint nobody listens on: nothing may be sent anyway.
    let run = |args: &[&str]| {
        Run::from(
            s3copy_cmd(home.path())
                .env("AWS_ACCESS_KEY_ID", "AK")
                .env("AWS_SECRET_ACCESS_KEY", "SK")
                .args(["--endpoint", "http://127.0.0.1:9"])
                .args(args)
                .output()
                .unwrap(),
        )
    };

    run(&[]).fails(2, &["usage: s3copy SRC s3://bucket/key"]);
    run(&[file]).fails(2, &["usage: s3copy SRC s3://bucket/key"]);
    for dest in ["s3://bucket", "s3://bucket/", "s3://bucket/dir/"] {
        run(&[file, dest]).fails(2, &["destination", "give a full object key"]);
    }
    run(&[file, "/tmp/out.bin"]).fails(2, &["\"/tmp/out.bin\" is not an s3://bucket/key url"]);
    run(&[file, "s3:///key"]).fails(2, &["has no bucket"]);
    let r = run(&[file, "s3://b/k", "--part-checksum", "sha1"]);
    r.fails(
        2,
        &[
            "invalid value 'sha1'",
            "--part-checksum",
            "auto, md5, crc32c, none",
        ],
    );
    run(&[file, "s3://b/k", "--part-size", "12Q"]).fails(2, &["bad size unit"]);
    run(&[file, "s3://b/k", "--payload", "maybe"]).fails(2, &["invalid value 'maybe'"]);
    let r = run(&[file, "s3://b/k", "--path-style", "--virtual-hosted"]);
    r.fails(
        2,
        &["--path-style", "cannot be used with", "--virtual-hosted"],
    );
    run(&["uploads", "s3://b", "--older-than", "soon"]).fails(2, &["bad duration \"soon\""]);
    run(&["set-acl", "s3://b/k"]).fails(2, &["<ACL>"]);
    // a missing source file is an I/O error, reported with its path
    let missing = tmp.path().join("missing.bin");
    run(&[missing.to_str().unwrap(), "s3://b/k"]).fails(2, &[missing.to_str().unwrap()]);

    let r = run(&["--help"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "Usage: s3copy [OPTIONS] SRC s3://bucket/key",
        "s3copy [OPTIONS] uploads s3://bucket[/prefix]",
        "set-acl",
        "uploads",
        "--part-checksum",
        "--expected-size",
        "Exit codes: 0 success, 1 an integrity check failed, 2 usage, I/O or server error, 130 stopped by Ctrl-C",
    ] {
        assert!(
            r.stdout.contains(needle),
            "{needle:?} not in --help:\n{}",
            r.stdout
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5. server-side copy

fn server_side_copy(s: &Store) {
    let tmp = tempfile::tempdir().unwrap();
    let bucket = s.bucket("s3copy-ssc");
    let other = s.bucket("s3copy-ssc-dest");
    let big = data(11 * MIB, 6);
    let small = data(1000, 7);
    for (name, bytes) in [("big.bin", &big), ("small.bin", &small)] {
        let f = write_file(tmp.path(), name, bytes);
        let r = s.run(&[f.to_str().unwrap(), &format!("s3://{bucket}/{name}"), "-q"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }

    let r = s.run(&[
        &format!("s3://{bucket}/big.bin"),
        &format!("s3://{other}/copy/big.bin"),
        "--part-size",
        "5M",
        "--multipart-threshold",
        "5M",
        "--json",
    ]);
    let j = r.json();
    assert_eq!(j["bytes"], big.len() as u64);
    assert_eq!(j["parts"], 3);
    assert_eq!(j["multipart"], true);
    assert!(s.object(&other, "copy/big.bin").unwrap() == big);

    // up to 5 GiB a server-side copy is one CopyObject
    let r = s.run(&[
        &format!("s3://{bucket}/big.bin"),
        &format!("s3://{other}/whole/big.bin"),
        "--json",
    ]);
    let j = r.json();
    assert_eq!(
        (j["parts"].as_u64(), j["multipart"].as_bool()),
        (Some(1), Some(false))
    );
    assert!(s.object(&other, "whole/big.bin").unwrap() == big);

    let r = s.run(&[
        &format!("s3://{bucket}/small.bin"),
        &format!("s3://{bucket}/small-copy.bin"),
        "--json",
    ]);
    let j = r.json();
    assert_eq!(j["bytes"], 1000);
    assert!(s.object(&bucket, "small-copy.bin").unwrap() == small);
    assert!(s.open_uploads(&bucket).is_empty() && s.open_uploads(&other).is_empty());

    let r = s.run(&[
        &format!("s3://{bucket}/no-such.bin"),
        &format!("s3://{bucket}/never.bin"),
    ]);
    r.fails(2, &["HeadObject", "no-such.bin", "404"]);
    s.assert_nothing_left(&bucket, "never.bin");
}

#[test]
fn server_side_copy_on_s3s_fs() {
    server_side_copy(&Store::s3s_fs());
}

#[test]
fn server_side_copy_on_moto() {
    if let Some(s) = Store::moto() {
        server_side_copy(&s);
    }
}

// ---------------------------------------------------------------------------------------------
// 6. set-acl and uploads (moto: s3s-fs has neither ACLs nor ListMultipartUploads)

#[test]
fn set_acl_makes_an_object_public_and_private_again_on_moto() {
    let Some(s) = Store::moto() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bucket = s.bucket("s3copy-acl");
    let f = write_file(tmp.path(), "acl.bin", &data(2000, 8));
    let r = s.run(&[f.to_str().unwrap(), &format!("s3://{bucket}/acl.bin"), "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let url = format!("{}/{bucket}/acl.bin", s.endpoint);
    assert_eq!(anonymous_get(&url), 403, "a new object is private");

    let target = format!("s3://{bucket}/acl.bin");
    let r = s.run(&["set-acl", &target, "public-read", "--json"]);
    let j = r.json();
    assert_eq!(j["bucket"], bucket.as_str());
    assert_eq!(j["key"], "acl.bin");
    assert_eq!(j["acl"], "public-read");
    assert_eq!(anonymous_get(&url), 200);

    let r = s.run(&["set-acl", &target, "private"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.trim(), format!("{target}: acl private"));
    assert_eq!(anonymous_get(&url), 403);

    // --acl on the copy itself
    let r = s.run(&[
        f.to_str().unwrap(),
        &format!("s3://{bucket}/public.bin"),
        "--acl",
        "public-read",
        "-q",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        anonymous_get(&format!("{}/{bucket}/public.bin", s.endpoint)),
        200
    );

    let r = s.run(&[
        "set-acl",
        &format!("s3://{bucket}/no-such.bin"),
        "public-read",
    ]);
    r.fails(2, &["PutObjectAcl", "404", "NoSuchKey"]);
}

#[test]
fn uploads_lists_and_aborts_incomplete_uploads_on_moto() {
    let Some(s) = Store::moto() else { return };
    let bucket = s.bucket("s3copy-uploads");
    let create = |key: &str| {
        s.rt.block_on(
            s.client
                .create_multipart_upload(&bucket, key, &CopyOptions::default()),
        )
        .unwrap()
    };
    let a = create("a.bin");
    let b = create("dir/b.bin");
    let target = format!("s3://{bucket}");
    let listed = |j: &serde_json::Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = j
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["key"].as_str().unwrap().to_owned(),
                    u["upload_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let both = vec![
        ("a.bin".to_owned(), a.clone()),
        ("dir/b.bin".to_owned(), b.clone()),
    ];

    let j = s.run(&["uploads", &target, "--json"]).json();
    assert_eq!(listed(&j), both);
    assert!(j[0]["initiated"].is_string(), "{j}");
    assert_eq!(j[0]["aborted"], false);
    // a prefix narrows the listing
    let j = s
        .run(&["uploads", &format!("{target}/dir/"), "--json"])
        .json();
    assert_eq!(listed(&j), vec![("dir/b.bin".to_owned(), b.clone())]);
    // the plain listing: one line per upload
    let r = s.run(&["uploads", &target]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(r.stdout.contains(&format!("  {a}  a.bin")), "{}", r.stdout);

    // --older-than: moto reports a fixed initiation time (2010-11-10) whatever the clock says,
    // so a fresh upload cannot be told from an old one there; what can be checked is that an age
    // no upload reaches (a century) keeps both, listed or aborted.
    let j = s
        .run(&["uploads", &target, "--older-than", "36500d", "--json"])
        .json();
    assert_eq!(listed(&j), Vec::<(String, String)>::new());
    let j = s
        .run(&[
            "uploads",
            &target,
            "--abort",
            "--older-than",
            "36500d",
            "--json",
        ])
        .json();
    assert_eq!(listed(&j), Vec::<(String, String)>::new());
    assert_eq!(s.open_uploads(&bucket).len(), 2, "both kept");

    let j = s.run(&["uploads", &target, "--abort", "--json"]).json();
    assert_eq!(listed(&j), both);
    assert_eq!(j[0]["aborted"], true);
    let j = s.run(&["uploads", &target, "--json"]).json();
    assert_eq!(listed(&j), Vec::<(String, String)>::new());
    assert!(s.open_uploads(&bucket).is_empty());

    let r = s.run(&[
        "uploads",
        &format!("s3://{}", unique("s3copy-none")),
        "--json",
    ]);
    r.fails(2, &["ListMultipartUploads", "404", "NoSuchBucket"]);
}

// ---------------------------------------------------------------------------------------------
// 7. wrong credentials

#[test]
fn wrong_credentials_exit_2_without_showing_the_secret() {
    let s = Store::s3s_fs();
    let tmp = tempfile::tempdir().unwrap();
    let bucket = s.bucket("s3copy-auth");
    let bytes = data(6 * MIB, 9);
    let f = write_file(tmp.path(), "f.bin", &bytes);
    let f = f.to_str().unwrap();
    let dest = format!("s3://{bucket}/k.bin");
    let wrong_secret = "Wr0ngSecret/ForThisTest+xyz";
    for (ak, sk, code) in [
        (AK, wrong_secret, "SignatureDoesNotMatch"),
        ("NOSUCHACCESSKEY", wrong_secret, "NotSignedUp"),
    ] {
        for args in [
            vec![f, dest.as_str(), "--part-size", "5M", "--json"],
            vec![
                f,
                dest.as_str(),
                "--part-size",
                "5M",
                "--payload",
                "unsigned",
            ],
            vec!["uploads", "s3://bucket"],
        ] {
            let r = Run::from(s.cmd_with_keys(ak, sk).args(&args).output().unwrap());
            r.fails(2, &["403", code]);
            assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
            for secret in [sk, SK] {
                assert!(
                    !r.stderr.contains(secret) && !r.stdout.contains(secret),
                    "{args:?}: the secret was printed: {}",
                    r.stderr
                );
            }
        }
    }
    s.assert_nothing_left(&bucket, "k.bin");
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C

/// Waits for `child` for up to `limit`; kills it and panics if it is still running then.
fn wait_for(child: &mut Child, limit: Duration, what: &str) -> Run {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("s3copy did not exit within {limit:?} after {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Run {
        code: status.code().expect("exited, not killed by a signal"),
        stdout,
        stderr,
    }
}

#[test]
fn ctrl_c_aborts_the_upload_and_exits_130() {
    let s = Store::s3s_fs();
    let Kind::Fs(root) = &s.kind else {
        unreachable!()
    };
    let bucket = s.bucket("s3copy-cancel");
    let dest = format!("s3://{bucket}/cancelled.bin");
    let mut child = s
        .cmd()
        .args(["-", &dest, "--expected-size", "12M", "--part-size", "5M"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // One part and a bit: the copy then waits for the rest, which never comes (stdin stays
    // open), with part 1 stored in an open multipart upload.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&data(6 * MIB, 10)).unwrap();
    let started = Instant::now();
    while !upload_files(root.path())
        .iter()
        .any(|n| n.contains(".part-1"))
    {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("s3copy ended before it could be interrupted: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "part 1 never arrived"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    sigint(&child);
    let r = wait_for(&mut child, Duration::from_secs(20), "Ctrl-C");
    drop(stdin);
    r.fails(
        130,
        &[
            "s3copy: interrupted: stopping the copy and aborting its upload",
            "s3copy: cancelled by Ctrl-C; no object was stored and no incomplete upload was left",
        ],
    );
    assert_eq!(r.stderr.lines().count(), 2, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    s.assert_nothing_left(&bucket, "cancelled.bin");
}

/// s3s-fs whose UploadPartCopy takes a minute: a server-side copy that is still running when
/// Ctrl-C comes. Only what that copy needs is passed on.
struct SlowPartCopies(s3s_fs::FileSystem);

#[async_trait::async_trait]
impl s3s::S3 for SlowPartCopies {
    async fn head_object(
        &self,
        req: s3s::S3Request<s3s::dto::HeadObjectInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::HeadObjectOutput>> {
        self.0.head_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: s3s::S3Request<s3s::dto::CreateMultipartUploadInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::CreateMultipartUploadOutput>> {
        self.0.create_multipart_upload(req).await
    }

    async fn upload_part_copy(
        &self,
        req: s3s::S3Request<s3s::dto::UploadPartCopyInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::UploadPartCopyOutput>> {
        tokio::time::sleep(Duration::from_secs(60)).await;
        self.0.upload_part_copy(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: s3s::S3Request<s3s::dto::AbortMultipartUploadInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::AbortMultipartUploadOutput>> {
        self.0.abort_multipart_upload(req).await
    }
}

#[test]
fn ctrl_c_stops_a_server_side_copy_and_aborts_its_upload() {
    let s = Store::serve_fs(SlowPartCopies);
    let Kind::Fs(root) = &s.kind else {
        unreachable!()
    };
    let bucket = s.bucket("s3copy-cancel-ssc");
    // s3s-fs keeps objects as plain files: the source is written in place.
    let source = data(11 * MIB, 11);
    std::fs::write(root.path().join(&bucket).join("src.bin"), &source).unwrap();
    let mut child = s
        .cmd()
        .args([
            &format!("s3://{bucket}/src.bin"),
            &format!("s3://{bucket}/dst.bin"),
            "--part-size",
            "5M",
            "--multipart-threshold",
            "5M",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while upload_files(root.path()).is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("s3copy ended before it could be interrupted: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no upload was started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // the part copies are under way (the first few are sent at once)
    std::thread::sleep(Duration::from_millis(200));
    sigint(&child);
    let r = wait_for(&mut child, Duration::from_secs(20), "Ctrl-C");
    r.fails(130, &["interrupted", "cancelled by Ctrl-C"]);
    s.assert_nothing_left(&bucket, "dst.bin");
    assert!(s.object(&bucket, "src.bin").unwrap() == source);
}

// ---------------------------------------------------------------------------------------------
// a byte flipped on the way to the store, default settings

/// s3copy with default settings through a proxy that damages one byte of a part: the store
/// refuses the part, or keeps it and answers with the digests of what it kept; either way the
/// part is sent again and the object stored is the file, byte for byte. `OVAKIT_LOG=warn` shows
/// the retry.
fn a_flipped_byte_is_never_stored(s: &Store) {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = data(11 * MIB, 9);
    let file = write_file(tmp.path(), "disk.bin", &bytes);
    let bucket = s.bucket("s3copy-flip");
    let proxy = flipping_proxy(loopback_addr(&s.endpoint), MIB as u64);
    let (flipped, proxy) = (proxy.flipped, format!("http://{}", proxy.addr));
    let r = Run::from(
        s3copy_cmd(s.home.path())
            .env("AWS_ACCESS_KEY_ID", s.access_key)
            .env("AWS_SECRET_ACCESS_KEY", s.secret_key)
            .env("OVAKIT_LOG", "warn")
            .args(["--endpoint", &proxy])
            .args([
                file.to_str().unwrap(),
                &format!("s3://{bucket}/disk.bin"),
                "--part-size",
                "5M",
            ])
            .output()
            .unwrap(),
    );
    assert!(flipped.load(Ordering::SeqCst), "nothing was flipped");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        s.object(&bucket, "disk.bin").unwrap() == bytes,
        "exit 0 with a corrupt object: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("sending the part again") || r.stderr.contains("retrying"),
        "the logged retry: {}",
        r.stderr
    );
}

#[test]
fn a_flipped_byte_is_never_stored_on_s3s_fs() {
    a_flipped_byte_is_never_stored(&Store::s3s_fs());
}

#[test]
fn a_flipped_byte_is_never_stored_on_moto() {
    if let Some(s) = Store::moto() {
        a_flipped_byte_is_never_stored(&s);
    }
}
