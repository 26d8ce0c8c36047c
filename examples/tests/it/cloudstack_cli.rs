//! The `cloudstack` binary against the in-process simulator: output, job waiting, exit codes.

use std::process::{Command, Output};

use cloudstack_client::simulator::{Simulator, SimulatorConfig};

fn cli(sim: &Simulator, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cloudstack"))
        .args(args)
        .env_remove("CLOUDSTACK_REGION")
        .env_remove("CLOUDSTACK_CONFIG")
        .env("HOME", env!("CARGO_MANIFEST_DIR"))
        .env("CLOUDSTACK_ENDPOINT", sim.endpoint())
        .env("CLOUDSTACK_KEY", sim.api_key())
        .env("CLOUDSTACK_SECRET", sim.secret_key())
        .output()
        .unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn lists_waits_and_exit_codes() {
    let sim = Simulator::start(SimulatorConfig {
        pending_polls: 1,
        ..Default::default()
    })
    .unwrap();
    let zones = json(&cli(&sim, &["--json", "listZones"]));
    assert_eq!(zones.as_array().unwrap().len(), 2);
    let t = json(&cli(
        &sim,
        &["--json", "listTemplates", "templatefilter=featured"],
    ))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let s = json(&cli(&sim, &["--json", "listServiceOfferings"]))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let z = zones[0]["id"].as_str().unwrap();
    let (zp, tp, sp) = (
        format!("zoneid={z}"),
        format!("templateid={t}"),
        format!("serviceofferingid={s}"),
    );
    let vm = json(&cli(
        &sim,
        &[
            "--json",
            "deployVirtualMachine",
            &zp,
            &tp,
            &sp,
            "name=cli-vm",
        ],
    ));
    assert_eq!(
        vm["virtualmachine"]["state"], "Running",
        "waited for the job"
    );
    let id = vm["virtualmachine"]["id"].as_str().unwrap().to_owned();
    let started = json(&cli(
        &sim,
        &[
            "--json",
            "--no-wait",
            "stopVirtualMachine",
            &format!("id={id}"),
        ],
    ));
    assert!(started["jobid"].is_string(), "--no-wait returns the job id");
    let human = cli(&sim, &["listVirtualMachines"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("cli-vm"));

    sim.fail_next_job(530, "simulated failure");
    let failed = cli(&sim, &["startVirtualMachine", &format!("id={id}")]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("simulated failure"));
    assert_eq!(
        cli(&sim, &["listTemplates"]).status.code(),
        Some(1),
        "431 missing templatefilter"
    );
    assert_eq!(
        cli(&sim, &["listZones", "novalue"]).status.code(),
        Some(2),
        "usage error"
    );
    assert_eq!(cli(&sim, &[]).status.code(), Some(2));
    // as with `cs`, a set CLOUDSTACK_ENDPOINT configures the client whatever region is named
    let env_wins = cli(&sim, &["--json", "--profile", "nosuchprofile", "listZones"]);
    assert_eq!(json(&env_wins).as_array().unwrap().len(), 2);
}

#[test]
fn regions_follow_the_cs_rules() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join(".cloudstack.ini"),
        format!(
            "[cloudstack]\nendpoint = http://127.0.0.1:9/client/api\nkey = wrong\nsecret = wrong\n\n\
[sim]\nendpoint = {}\nkey = {}\nsecret = {}\n",
            sim.endpoint(),
            sim.api_key(),
            sim.secret_key()
        ),
    )
    .unwrap();
    let run = |args: &[&str], region: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cloudstack"));
        c.args(args)
            .env_remove("CLOUDSTACK_ENDPOINT")
            .env_remove("CLOUDSTACK_KEY")
            .env_remove("CLOUDSTACK_SECRET")
            .env_remove("CLOUDSTACK_CONFIG")
            .env_remove("CLOUDSTACK_OVERRIDES")
            .env_remove("CLOUDSTACK_REGION")
            .env("HOME", home.path())
            .current_dir(home.path());
        if let Some(r) = region {
            c.env("CLOUDSTACK_REGION", r);
        }
        c.output().unwrap()
    };
    let by_flag = run(&["--json", "--profile", "sim", "listZones"], None);
    assert_eq!(json(&by_flag).as_array().unwrap().len(), 2);
    let by_alias = run(&["--json", "--region", "sim", "listZones"], None);
    assert_eq!(json(&by_alias).as_array().unwrap().len(), 2);
    let by_env = run(&["--json", "listZones"], Some("sim"));
    assert_eq!(json(&by_env).as_array().unwrap().len(), 2);
    let missing = run(&["--profile", "nosuchprofile", "listZones"], None);
    assert_eq!(missing.status.code(), Some(2), "config error");
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("region 'nosuchprofile' not in config"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[test]
fn simulator_help_shows_the_simulator_options() {
    for args in [&["simulator", "--help"][..], &["--json", "simulator", "-h"]] {
        let o = Command::new(env!("CARGO_BIN_EXE_cloudstack"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let help = String::from_utf8_lossy(&o.stdout);
        for opt in ["--port", "--state-dir", "--pending-polls", "--api-key"] {
            assert!(help.contains(opt), "{args:?}: no {opt} in {help}");
        }
        assert!(
            !help.contains("--ca-file"),
            "{args:?} printed the main help: {help}"
        );
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_cloudstack"))
        .args(["simulator", "--no-such-option"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// The simulator behind a TLS proxy on `localhost:<port>` with a fresh self-signed certificate:
/// returns the https endpoint, the certificate (PEM) and the front that serves it.
fn https_proxy(sim: &Simulator) -> (String, String, test_support::tls::TlsFront) {
    let (port, pem, front) = crate::common::tls_front(sim.addr());
    (format!("https://localhost:{port}/client/api"), pem, front)
}

#[test]
fn tls_verified_by_default_with_ca_file_and_insecure_options() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let (endpoint, ca_pem, _rt) = https_proxy(&sim);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &ca_pem).unwrap();
    let ca = ca.to_str().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cloudstack"))
            .args(args)
            .env_remove("CLOUDSTACK_REGION")
            .env_remove("CLOUDSTACK_CONFIG")
            .env("HOME", env!("CARGO_MANIFEST_DIR"))
            .env("CLOUDSTACK_ENDPOINT", &endpoint)
            .env("CLOUDSTACK_KEY", sim.api_key())
            .env("CLOUDSTACK_SECRET", sim.secret_key())
            .output()
            .unwrap()
    };

    // refused by default: exit 1, the certificate named, no secret
    let o = run(&["--json", "listZones"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("certificate"), "{err}");
    assert!(!err.contains(sim.secret_key()), "{err}");
    assert_eq!(sim.request_count(), 0);

    // trusted with --ca-file, and with --insecure
    assert_eq!(
        json(&run(&["--json", "--ca-file", ca, "listZones"]))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        json(&run(&["--json", "--insecure", "listZones"]))
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // an unreadable CA file is a usage error; both options at once are refused
    let missing = dir.path().join("missing.pem");
    let o = run(&["--ca-file", missing.to_str().unwrap(), "listZones"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.pem"));
    let o = run(&["--ca-file", ca, "--insecure", "listZones"]);
    assert_eq!(o.status.code(), Some(2));
}
