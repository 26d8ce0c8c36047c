//! `pipeline demo`: the whole flow against an in-process S3 server and the CloudStack simulator.

use crate::common::pipeline_cmd;

#[test]
fn demo_runs_every_step_and_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = pipeline_cmd()
        .args(["demo", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["exit_code"], 0);
    let steps: Vec<(&str, &str)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("prepare", "done"),
            ("publish", "done"),
            ("register", "done"),
            ("deploy", "done"),
            ("export", "done"),
            ("transfer", "done"),
            ("verify", "done"),
        ]
    );
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.len() >= 10, "{checks:?}");
    assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");

    // The published object and the transferred export are real files in the S3 server's folder,
    // and the export came back byte for byte.
    let outputs = &report["outputs"];
    let prepared = std::fs::read(outputs["prepare"]["output"]["ova"].as_str().unwrap()).unwrap();
    let bucket = dir.path().join("s3").join("ovakit-demo");
    let published = std::fs::read(bucket.join("ovakit-demo.ova")).unwrap();
    let transferred = std::fs::read(bucket.join("exports").join("ovakit-demo.ova")).unwrap();
    assert_eq!(published, prepared);
    assert_eq!(transferred, prepared);
    assert!(
        outputs["transfer"]["output"]["verified_entries"]
            .as_u64()
            .unwrap()
            >= 2
    );

    // The state file records every step.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("pipeline-state.json")).unwrap())
            .unwrap();
    for step in [
        "prepare", "publish", "register", "deploy", "export", "transfer", "verify",
    ] {
        assert!(state[step]["output"].is_object(), "{step} missing in state");
    }
}

#[test]
fn demo_text_output_shows_steps_timings_and_summary() {
    let out = pipeline_cmd().arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for needle in [
        "[1/7] prepare",
        "[7/7] verify",
        "summary",
        "object url:",
        "template:",
        "vm:",
        "export url:",
        "transferred:",
        "result:      ok",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = pipeline_cmd()
        .args(["run", "--only", "nosuchstep"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = pipeline_cmd().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo"));
}
