//! `pipeline demo`: the whole flow against an in-process S3 server and the CloudStack simulator.

use std::ffi::OsStr;

use crate::common::{pipeline_cmd, qemu_img};

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
fn demo_for_kvm_and_xenserver_passes_with_no_configuration() {
    // The hypervisor is read in any case and written to the API as CloudStack spells it.
    for (hypervisor, ext, qemu_format) in [("KVM", "qcow2", "qcow2"), ("xenserver", "vhd", "vpc")] {
        let dir = tempfile::tempdir().unwrap();
        let out = pipeline_cmd()
            .args(["demo", "--json", "--hypervisor", hypervisor, "--dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{hypervisor}: {stderr}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["ok"], true);
        assert!(
            report["steps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["status"] == "done"),
            "{report}"
        );
        let checks = report["checks"].as_array().unwrap();
        assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");
        let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
        let upper = ext.to_uppercase();
        for want in [
            format!("{ext} image reads back"),
            "export verified in flight".to_owned(),
            format!("object URL serves the prepared {upper} image"),
            format!("transferred object is the prepared {upper} image"),
        ] {
            assert!(names.contains(&want.as_str()), "{want:?} not in {names:?}");
        }
        let in_flight = checks
            .iter()
            .find(|c| c["name"] == "export verified in flight")
            .unwrap();
        assert!(
            in_flight["detail"]
                .as_str()
                .unwrap()
                .contains("checked in flight"),
            "{in_flight}"
        );

        let outputs = &report["outputs"];
        let prepare = &outputs["prepare"]["output"];
        assert_eq!(prepare["format"], ext);
        let prepared_path = prepare["ova"].as_str().unwrap();
        assert!(prepared_path.ends_with(&format!("ovakit-demo.{ext}")));
        assert!(
            outputs["export"]["output"]["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!(".{ext}"))
        );
        assert_eq!(outputs["transfer"]["output"]["format"], ext);

        // qemu-img judges the prepared image: structure, and the same disk as the raw source.
        let raw = dir.path().join("disk.raw");
        if qemu_format == "qcow2" {
            let check = qemu_img(&[
                OsStr::new("check"),
                OsStr::new("-f"),
                OsStr::new("qcow2"),
                OsStr::new(prepared_path),
            ]);
            if let Some(text) = check {
                assert!(text.contains("No errors were found"), "{text}");
            }
        }
        if let Some(text) = qemu_img(&[
            OsStr::new("compare"),
            OsStr::new("-f"),
            OsStr::new("raw"),
            OsStr::new("-F"),
            OsStr::new(qemu_format),
            raw.as_os_str(),
            OsStr::new(prepared_path),
        ]) {
            assert!(text.contains("Images are identical"), "{text}");
        }

        // The published object and the export came back byte for byte.
        let prepared = std::fs::read(prepared_path).unwrap();
        let bucket = dir.path().join("s3").join("ovakit-demo");
        let published = std::fs::read(bucket.join(format!("ovakit-demo.{ext}"))).unwrap();
        let transferred =
            std::fs::read(bucket.join("exports").join(format!("ovakit-demo.{ext}"))).unwrap();
        assert!(
            published == prepared && transferred == prepared,
            "{hypervisor}"
        );
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
