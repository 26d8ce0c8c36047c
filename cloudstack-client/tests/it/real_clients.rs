//! Real CloudStack clients nobody here wrote run the operator flow against the simulator:
//! register a template from a URL → wait until ready → deploy → stop/start/reboot → extract →
//! download and compare bytes → expunge and delete. The clients are the Python `cs` package,
//! Apache Libcloud's CloudStack driver and Ansible's `ngine_io.cloudstack` collection; their
//! scripts are in `tests/data/clients/`.

use crate::common;

use std::path::{Path, PathBuf};

use cloudstack_client::simulator::{Simulator, SimulatorConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/clients")
        .join(name)
}

/// A simulator whose jobs finish at the first poll, an OVA served over HTTP, and its SHA-256.
fn setup() -> (Simulator, String, String) {
    let sim = Simulator::start(SimulatorConfig {
        pending_polls: 1,
        ..Default::default()
    })
    .unwrap();
    let ova = common::make_ova();
    let sha = hex(&Sha256::digest(&ova));
    let url = format!("{}/images/flow.ova", common::serve_bytes(ova));
    (sim, url, sha)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn run_json(cmd: &mut std::process::Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad output {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Runs a flow script with the simulator's endpoint and keys, an OVA URL and its SHA-256;
/// `pythonpath` puts another version of the client first.
fn run_flow(py: &str, name: &str, pythonpath: Option<&str>) -> (Value, String) {
    let (sim, url, sha) = setup();
    let mut cmd = std::process::Command::new(py);
    cmd.arg(script(name))
        .args([&sim.endpoint(), sim.api_key(), sim.secret_key(), &url, &sha]);
    if let Some(p) = pythonpath {
        cmd.env("PYTHONPATH", p);
    }
    (run_json(&mut cmd), sha)
}

/// The oldest `cs` and Libcloud releases checked (`OVAKIT_OLD_CLIENTS`: a directory holding
/// `cs==3.0.0`, its `pytz`, and `apache-libcloud==3.0.0`, which `scripts/test.sh` installs).
fn old_clients() -> Option<String> {
    match std::env::var("OVAKIT_OLD_CLIENTS") {
        Ok(dir) => Some(dir),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("OVAKIT_OLD_CLIENTS is not set (scripts/test.sh installs the old clients)")
        }
        Err(_) => {
            eprintln!("skipping: OVAKIT_OLD_CLIENTS is not set");
            None
        }
    }
}

#[test]
fn cs_runs_the_operator_flow() {
    let Some(py) = common::python_with(&["cs"]) else {
        return;
    };
    let (out, sha) = run_flow(&py, "cs_flow.py", None);
    check_cs_flow(&out, &sha);
}

#[test]
fn oldest_cs_runs_the_operator_flow() {
    let (Some(py), Some(dir)) = (common::python_with(&["cs"]), old_clients()) else {
        return;
    };
    let (out, sha) = run_flow(&py, "cs_flow.py", Some(&dir));
    assert_eq!(out["version"], "3.0.0");
    check_cs_flow(&out, &sha);
}

fn check_cs_flow(out: &Value, sha: &str) {
    assert_eq!(out["registered_status"], "Processing");
    assert_eq!(
        out["statuses"].as_array().unwrap().last().unwrap(),
        "Download Complete"
    );
    assert_eq!(out["ready"], true);
    assert_eq!(out["renamed"], "flow with cs, renamed");
    assert_eq!(out["deployed"], "Running");
    assert_eq!(out["nic_ip"], "10.1.1.10");
    assert_eq!(out["password_set"], true);
    assert_eq!(
        (&out["stopped"], &out["started"], &out["rebooted"]),
        (&"Stopped".into(), &"Running".into(), &"Running".into())
    );
    assert_eq!(out["root_volumes"], 1);
    let extract = out["extract_url"].as_str().unwrap();
    assert!(
        extract.starts_with("http://127.0.0.1:"),
        "plain URL: {extract}"
    );
    assert_eq!(out["download_sha256"], sha);
    assert_eq!(out["vms_left"], serde_json::json!({}));
    assert_eq!(out["templates_left"], serde_json::json!({}));
    assert_eq!(out["bad_rows"], 2, "zoneids=-1 registers in every zone");
    let bad = out["bad_status"].as_str().unwrap();
    assert!(
        bad.starts_with(&format!(
            "checksum \"{{SHA-256}}{sha}\" didn't match the given value, \"{{SHA-256}}0000"
        )),
        "{bad}"
    );
    assert_eq!(out["wrong_case"], serde_json::json!([401, "errorresponse"]));
    assert_eq!(out["unknown"], serde_json::json!([401, "errorresponse"]));
}

#[test]
fn libcloud_runs_the_operator_flow() {
    let Some(py) = common::python_with(&["libcloud"]) else {
        return;
    };
    let (out, sha) = run_flow(&py, "libcloud_flow.py", None);
    check_libcloud_flow(&out, &sha);
}

#[test]
fn oldest_libcloud_runs_the_operator_flow() {
    let (Some(py), Some(dir)) = (common::python_with(&["libcloud"]), old_clients()) else {
        return;
    };
    let (out, sha) = run_flow(&py, "libcloud_flow.py", Some(&dir));
    assert_eq!(out["version"], "3.0.0");
    check_libcloud_flow(&out, &sha);
}

fn check_libcloud_flow(out: &Value, sha: &str) {
    assert_eq!(out["registered_status"], "Processing");
    assert_eq!(out["ready"], true);
    assert_eq!(out["private_ips"], serde_json::json!(["10.1.1.10"]));
    assert_eq!(out["listed_private_ips"], serde_json::json!(["10.1.1.10"]));
    assert_eq!(out["deployed"], "stopped", "Libcloud sends startvm=false");
    assert_eq!(out["first_start"], "Running");
    assert_eq!(out["stopped"], "Stopped");
    assert_eq!(out["started"], "Running");
    for step in ["rebooted", "destroyed", "image_deleted"] {
        assert_eq!(out[step], true, "{step}: {out}");
    }
    assert_eq!(out["listed_state"], "running");
    assert_eq!(out["volumes"], 1);
    assert_eq!(out["download_sha256"], sha);
    assert_eq!(out["nodes_left"], serde_json::json!([]));
    assert_eq!(out["templates_left"], serde_json::json!({}));
}

#[test]
fn ansible_runs_the_operator_flow() {
    let Some(py) =
        common::python_with(&["ansible", "cs", "ansible_collections.ngine_io.cloudstack"])
    else {
        return;
    };
    let (sim, url, sha) = setup();
    let dir = tempfile::tempdir().unwrap();
    let download = dir.path().join("extracted.ova");
    let out = std::process::Command::new(&py)
        .args(["-m", "ansible", "playbook", "-i", "localhost,"])
        .arg(script("ansible_flow.yml"))
        .arg("-e")
        .arg(format!(
            "ova_url={url} ova_sha256={sha} download_to={} ansible_python_interpreter={py}",
            download.display()
        ))
        .env("CLOUDSTACK_ENDPOINT", sim.endpoint())
        .env("CLOUDSTACK_KEY", sim.api_key())
        .env("CLOUDSTACK_SECRET", sim.secret_key())
        .env("ANSIBLE_HOME", dir.path().join("ansible"))
        .env("ANSIBLE_LOCAL_TEMP", dir.path().join("tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ansible-playbook failed:\n{log}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(log.contains("failed=0"), "{log}");
    assert_eq!(hex(&Sha256::digest(std::fs::read(&download).unwrap())), sha);
}
