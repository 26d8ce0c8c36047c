//! The pipeline's endpoints behind TLS.
//!
//! The transfer step against an HTTPS export URL whose certificate comes from a private CA (as
//! CloudStack secondary storage often has): refused by default with advice, accepted with
//! `--source-ca` or `--source-insecure`, while the object store is untouched by either switch.
//! The certificates and the HTTPS server come from the `openssl` command-line tool.
//!
//! The object store and the CloudStack endpoint behind a TLS front with a self-signed certificate
//! (rcgen): refused by default with advice naming the endpoint's own options, trusted exactly
//! with `--s3-ca-file`/`--cs-ca-file` (or the config keys), or not checked with
//! `--s3-insecure`/`--cs-insecure`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use test_support::openssl;
use test_support::ports::{free_port, wait_listening};

use crate::common::{Killed, demo_servers, pipeline_cmd, tls_front};

/// A CA and a server certificate for 127.0.0.1 signed by it (`ca.pem`, `server.pem`,
/// `server.key`).
fn make_certs(dir: &Path) {
    let ca = openssl::ca(dir, "ca", "pipeline test CA");
    openssl::signed_by(&ca, dir, "server", "127.0.0.1", "IP:127.0.0.1");
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
    assert!(
        wait_listening(port, Duration::from_secs(5)),
        "openssl s_server did not start"
    );
    (server, port)
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
    if !openssl::available() {
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

/// The `http://host:port` backend address of a demo endpoint in `config`'s `[table]`.
fn backend(config: &Path, table: &str) -> std::net::SocketAddr {
    let text = std::fs::read_to_string(config).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    let url = v[table]["endpoint"].as_str().unwrap();
    let rest = url.strip_prefix("http://").unwrap();
    rest.split('/').next().unwrap().parse().unwrap()
}

/// The report's row of `step`.
fn step_row<'a>(report: &'a serde_json::Value, step: &str) -> &'a serde_json::Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step"] == step)
        .unwrap_or_else(|| panic!("no {step} row: {report}"))
}

/// Runs `pipeline` with `args` and the config; returns the exit code and the JSON report.
fn pipeline_json(config: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = pipeline_cmd()
        .args(args)
        .arg("--json")
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), report)
}

#[test]
fn object_store_and_cloudstack_behind_self_signed_tls_need_their_own_ca_file_or_insecure() {
    let work = tempfile::tempdir().unwrap();
    let (_servers, config, _stdout) = demo_servers(work.path());
    let (code, report) = pipeline_json(&config, &["run", "--to", "prepare"]);
    assert_eq!(code, 0, "{report}");
    let (s3_port, s3_pem, _s3_front) = tls_front(backend(&config, "s3"));
    let (cs_port, cs_pem, _cs_front) = tls_front(backend(&config, "cloudstack"));
    let certs = tempfile::tempdir().unwrap();
    let s3_ca = certs.path().join("s3.pem");
    let cs_ca = certs.path().join("cs.pem");
    std::fs::write(&s3_ca, &s3_pem).unwrap();
    std::fs::write(&cs_ca, &cs_pem).unwrap();
    let (s3_ca, cs_ca) = (s3_ca.to_str().unwrap(), cs_ca.to_str().unwrap());
    let s3_endpoint = format!("https://localhost:{s3_port}");
    let cs_endpoint = format!("https://localhost:{cs_port}/client/api");
    let object = work.path().join("s3/ovakit-demo/ovakit-demo.ova");
    let publish = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--from",
            "publish",
            "--to",
            "publish",
            "--s3-endpoint",
            s3_endpoint.as_str(),
        ];
        args.extend_from_slice(extra);
        pipeline_json(&config, &args)
    };

    // The object store: refused by default, the hint names its options, nothing stored.
    let (code, report) = publish(&[]);
    assert_eq!(code, 2, "{report}");
    let row = step_row(&report, "publish");
    assert!(
        row["error"].as_str().unwrap().contains("certificate"),
        "{row}"
    );
    let hint = row["hint"].as_str().unwrap();
    assert!(
        hint.contains("--s3-ca-file") && hint.contains("--s3-insecure"),
        "{hint}"
    );
    assert!(!object.exists());
    // Another endpoint's CA file does not help.
    let (code, report) = publish(&["--cs-ca-file", cs_ca]);
    assert_eq!(code, 2, "{report}");
    assert!(!object.exists());
    // The store's own self-signed certificate, trusted exactly.
    let (code, report) = publish(&["--s3-ca-file", s3_ca]);
    assert_eq!(code, 0, "{report}");
    let prepared = std::fs::read(work.path().join("ovakit-demo.ova")).unwrap();
    assert_eq!(std::fs::read(&object).unwrap(), prepared);
    std::fs::remove_file(&object).unwrap();
    let (code, report) = publish(&["--s3-insecure"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(std::fs::read(&object).unwrap(), prepared);
    // verify reads the object URL (https, the store's) as CloudStack would: same trust.
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--from",
            "verify",
            "--to",
            "verify",
            "--s3-endpoint",
            s3_endpoint.as_str(),
        ];
        args.extend_from_slice(extra);
        pipeline_json(&config, &args)
    };
    let (code, report) = verify(&[]);
    assert_ne!(code, 0, "{report}");
    let (code, report) = verify(&["--s3-ca-file", s3_ca]);
    assert_eq!(code, 0, "{report}");
    let probe = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "object URL serves an OVA")
        .unwrap();
    assert_eq!(probe["passed"], true, "{probe}");
    assert!(
        probe["detail"]
            .as_str()
            .unwrap()
            .contains("https://localhost"),
        "{probe}"
    );
    let (code, report) = verify(&["--s3-insecure"]);
    assert_eq!(code, 0, "{report}");

    // CloudStack: register the (plain HTTP) object URL through the TLS front, each run with its
    // own state file so that only `register` runs.
    let plain_url = format!(
        "http://{}/ovakit-demo/ovakit-demo.ova",
        backend(&config, "s3")
    );
    let register = |state: &str, extra: &[&str]| {
        let state = work.path().join(state);
        let mut args = vec![
            "step",
            "register",
            "--object-url",
            plain_url.as_str(),
            "--cs-endpoint",
            cs_endpoint.as_str(),
            "--state-file",
            state.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        pipeline_json(&config, &args)
    };
    let (code, report) = register("cs-default.json", &[]);
    assert_eq!(code, 2, "{report}");
    let row = step_row(&report, "register");
    assert!(
        row["error"].as_str().unwrap().contains("certificate"),
        "{row}"
    );
    let hint = row["hint"].as_str().unwrap();
    assert!(
        hint.contains("--cs-ca-file") && hint.contains("--cs-insecure"),
        "{hint}"
    );
    let (code, report) = register("cs-wrong.json", &["--s3-ca-file", s3_ca]);
    assert_eq!(code, 2, "{report}");
    let (code, report) = register("cs-ca.json", &["--cs-ca-file", cs_ca]);
    assert_eq!(code, 0, "{report}");
    assert!(
        report["outputs"]["register"]["output"]["template_id"].is_string(),
        "{report}"
    );
    let (code, report) = register("cs-insecure.json", &["--cs-insecure"]);
    assert_eq!(code, 0, "{report}");

    // The same trust from the config file's keys (a path relative to the file's folder).
    std::fs::copy(certs.path().join("cs.pem"), work.path().join("cs-ca.pem")).unwrap();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace("[cloudstack]\n", "[cloudstack]\nca_file = \"cs-ca.pem\"\n");
    std::fs::write(&config, text).unwrap();
    let (code, report) = register("cs-key.json", &[]);
    assert_eq!(code, 0, "{report}");

    // A CA file that is not PEM: the error names the key and the file, not the client's own
    // option name.
    std::fs::write(work.path().join("cs-ca.pem"), "not a certificate\n").unwrap();
    let (code, report) = register("cs-bad-pem.json", &[]);
    assert_eq!(code, 2, "{report}");
    let error = step_row(&report, "register")["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains("cloudstack.ca_file") && error.contains("cs-ca.pem"),
        "{error}"
    );
}
