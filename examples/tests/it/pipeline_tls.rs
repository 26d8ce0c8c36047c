//! The transfer step against an HTTPS export URL whose certificate comes from a private CA (as
//! CloudStack secondary storage often has): refused by default with advice, accepted with
//! `--source-ca` or `--source-insecure`, while the object store is untouched by either switch.
//! The certificates and the HTTPS server come from the `openssl` command-line tool.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::pipeline_cmd;

fn have_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "the openssl command is required under CI"
        );
        eprintln!("skipped: the openssl command is not installed");
    }
    ok
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=pipeline test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl s_server -WWW` serving files of `dir` over HTTPS.
fn https_server(dir: &Path) -> (Killed, u16) {
    let port = free_port();
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-WWW",
            "-cert",
            "server.pem",
            "-key",
            "server.key",
        ])
        .args(["-accept", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Killed(child);
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, port);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("openssl s_server did not start");
}

/// `pipeline demo --serve`: the S3 server the export goes to.
fn demo_servers(
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

fn transfer(config: &Path, url: &str, key: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = pipeline_cmd()
        .args([
            "step",
            "transfer",
            "--json",
            "--export-url",
            url,
            "--transfer-key",
            key,
        ])
        .args(extra)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

#[test]
fn export_url_with_a_private_ca_needs_source_ca_or_source_insecure() {
    if !have_openssl() {
        return;
    }
    let tls = tempfile::tempdir().unwrap();
    make_certs(tls.path());
    let work = tempfile::tempdir().unwrap();
    let (_servers, config, _stdout) = demo_servers(work.path());
    // An OVA to serve: prepare it with the demo configuration.
    let out = pipeline_cmd()
        .args(["run", "--to", "prepare", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let ova = std::fs::read(work.path().join("ovakit-demo.ova")).unwrap();
    std::fs::write(tls.path().join("export.ova"), &ova).unwrap();
    let (_https, port) = https_server(tls.path());
    let url = format!("https://127.0.0.1:{port}/export.ova");
    let bucket = work.path().join("s3").join("ovakit-demo");

    // Default: refused, with advice naming both switches; nothing written.
    let (code, report) = transfer(&config, &url, "exports/default.ova", &[]);
    assert_eq!(code, 2, "{report}");
    let row = &report["steps"][0];
    assert!(
        row["error"].as_str().unwrap().contains("certificate"),
        "{row}"
    );
    let hint = row["hint"].as_str().unwrap();
    assert!(
        hint.contains("--source-ca") && hint.contains("--source-insecure"),
        "{hint}"
    );
    assert!(!bucket.join("exports/default.ova").exists());

    // Trusting the CA for the source only.
    let ca = tls.path().join("ca.pem");
    let (code, report) = transfer(
        &config,
        &url,
        "exports/with-ca.ova",
        &["--source-ca", ca.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        std::fs::read(bucket.join("exports/with-ca.ova")).unwrap(),
        ova
    );

    // Or skipping verification of the source.
    let (code, report) = transfer(
        &config,
        &url,
        "exports/insecure.ova",
        &["--source-insecure"],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        std::fs::read(bucket.join("exports/insecure.ova")).unwrap(),
        ova
    );
}
