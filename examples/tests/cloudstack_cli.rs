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
    let no_profile = cli(&sim, &["--profile", "nosuchprofile", "listZones"]);
    assert_eq!(no_profile.status.code(), Some(2), "config error");
}
