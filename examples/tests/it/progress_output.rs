//! The shared progress display of the four tools: on a pipe (standard error not a terminal) a run
//! prints no progress bytes at all (no carriage return, no escape sequence); on a terminal (a
//! pseudo-terminal from `script` of util-linux) bars and spinners are drawn; `--quiet` turns
//! them off there too.

use std::path::Path;
use std::process::{Command, Output};

use cloudstack_client::simulator::{Simulator, SimulatorConfig};

use crate::common::{demo_servers, pipeline_cmd};

/// What a bar is redrawn with on a terminal: back to the line's start, erase the line. (A
/// terminal also turns every newline into a carriage return and a newline, so a lone `\r` tells
/// nothing there.)
const CLEAR: &str = "\r\u{1b}[2K";

/// Fails when `bytes` (a tool's standard error or output) hold anything a progress display
/// draws with: a carriage return or an ANSI escape.
fn assert_no_progress(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !bytes.contains(&b'\r') && !bytes.contains(&0x1b),
        "{what} printed progress on a pipe: {text:?}"
    );
}

fn ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_progress(what, &out.stderr);
    assert_no_progress(what, &out.stdout);
}

/// Whether `script` (util-linux) can give a command a terminal here.
fn have_script() -> bool {
    let ok = Command::new("script")
        .args(["-qec", "true", "/dev/null"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "the script command (util-linux) is required under CI"
        );
        eprintln!("skipped: the script command (util-linux) is not installed");
    }
    ok
}

/// Runs `cmd` with its arguments on a pseudo-terminal (standard output and error both on it);
/// returns everything the terminal received.
fn on_terminal(cmd: &Command) -> String {
    let mut line = shell_quote(cmd.get_program().to_str().unwrap());
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_quote(a.to_str().unwrap()));
    }
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        script.current_dir(dir);
    }
    let out = script.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{line}: {text}");
    text
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `n` bytes that do not compress to nothing.
fn noise(n: usize) -> Vec<u8> {
    test_support::data::xorshift64(n, 0x9e37_79b9_7f4a_7c15)
}

fn ova(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ova"));
    c.args(args).current_dir(dir);
    c
}

#[test]
fn ova_build_repack_and_convert() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("disk.raw"), noise(24 << 20)).unwrap();
    let build = [
        "build", "--disk", "disk.raw", "--name", "p", "--output", "p.ova",
    ];
    ok("ova build", &ova(d, &build).output().unwrap());
    ok(
        "ova repack",
        &ova(d, &["repack", "p.ova", "q.ova"]).output().unwrap(),
    );
    let convert = ["convert", "--to", "qcow2", "-o", "p.qcow2", "p.ova"];
    ok("ova convert", &ova(d, &convert).output().unwrap());
    if !have_script() {
        return;
    }
    let shown = on_terminal(&ova(d, &["repack", "p.ova", "r.ova"]));
    assert!(
        shown.contains("repacking [") && shown.contains("eta") && shown.contains(CLEAR),
        "{shown:?}"
    );
    let shown = on_terminal(&ova(
        d,
        &["convert", "--to", "qcow2", "-o", "q.qcow2", "p.ova"],
    ));
    assert!(shown.contains("converting ["), "{shown:?}");
    let quiet = on_terminal(&ova(d, &["--quiet", "repack", "p.ova", "s.ova"]));
    assert!(
        !quiet.contains("repacking") && !quiet.contains(CLEAR),
        "{quiet:?}"
    );
}

fn cloudstack(sim: &Simulator, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cloudstack"));
    c.args(args)
        .env_remove("CLOUDSTACK_REGION")
        .env_remove("CLOUDSTACK_CONFIG")
        .env("HOME", env!("CARGO_MANIFEST_DIR"))
        .env("CLOUDSTACK_ENDPOINT", sim.endpoint())
        .env("CLOUDSTACK_KEY", sim.api_key())
        .env("CLOUDSTACK_SECRET", sim.secret_key());
    c
}

fn first_id(sim: &Simulator, args: &[&str]) -> String {
    let out = cloudstack(sim, args).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn cloudstack_job_wait() {
    let sim = Simulator::start(SimulatorConfig {
        pending_polls: 3,
        ..Default::default()
    })
    .unwrap();
    let z = first_id(&sim, &["--json", "listZones"]);
    let t = first_id(
        &sim,
        &["--json", "listTemplates", "templatefilter=featured"],
    );
    let s = first_id(&sim, &["--json", "listServiceOfferings"]);
    let (zp, tp, sp) = (
        format!("zoneid={z}"),
        format!("templateid={t}"),
        format!("serviceofferingid={s}"),
    );
    let deploy = |name: &str| {
        cloudstack(
            &sim,
            &[
                "deployVirtualMachine",
                &zp,
                &tp,
                &sp,
                &format!("name={name}"),
            ],
        )
    };
    ok("cloudstack wait", &deploy("pipe-vm").output().unwrap());
    if !have_script() {
        return;
    }
    let shown = on_terminal(&deploy("tty-vm"));
    assert!(
        shown.contains("cloudstack: deployVirtualMachine job") && shown.contains(CLEAR),
        "{shown:?}"
    );
    let quiet = on_terminal(cloudstack(&sim, &["--quiet"]).args(deploy("quiet-vm").get_args()));
    assert!(
        !quiet.contains(" job ") && !quiet.contains(CLEAR),
        "{quiet:?}"
    );
}

/// The `[s3]` settings of a demo configuration: endpoint, access key, secret key, bucket.
fn s3_settings(config: &Path) -> [String; 4] {
    let v: toml::Value = toml::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    ["endpoint", "access_key", "secret_key", "bucket"]
        .map(|k| v["s3"][k].as_str().unwrap().to_owned())
}

#[test]
fn s3copy_upload() {
    let work = tempfile::tempdir().unwrap();
    let (_servers, config, _stdout) = demo_servers(work.path());
    let [endpoint, access, secret, bucket] = s3_settings(&config);
    let src = work.path().join("src.bin");
    std::fs::write(&src, noise(12 << 20)).unwrap();
    let copy = |key: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_s3copy"));
        c.arg("--endpoint")
            .arg(&endpoint)
            .arg("--path-style")
            .arg("--part-size")
            .arg("5MiB")
            .arg(&src)
            .arg(format!("s3://{bucket}/{key}"))
            .env("HOME", work.path())
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_ACCESS_KEY_ID", &access)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env("AWS_REGION", "us-east-1");
        c
    };
    ok("s3copy", &copy("pipe.bin").output().unwrap());
    if !have_script() {
        return;
    }
    let shown = on_terminal(&copy("tty.bin"));
    assert!(
        shown.contains("s3copy ") && shown.contains(CLEAR),
        "{shown:?}"
    );
    let mut quiet = copy("quiet.bin");
    quiet.arg("--quiet");
    let quiet = on_terminal(&quiet);
    assert!(!quiet.contains(CLEAR), "{quiet:?}");
}

#[test]
fn pipeline_demo_every_step() {
    let demo = |mib: &str| {
        let mut c = pipeline_cmd();
        c.args(["demo", "--disk-mib", mib]);
        c
    };
    let out = demo("8").output().unwrap();
    ok("pipeline demo", &out);
    let out = demo("8").arg("--json").output().unwrap();
    ok("pipeline demo --json", &out);
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
    if !have_script() {
        return;
    }
    // A disk large enough that every byte-moving step lasts a few frames.
    let shown = on_terminal(&demo("160"));
    for drawn in [
        "prepare [",
        "publish [",
        "register: template",
        "deploy: deployVirtualMachine job",
        "export: extractTemplate job",
        "transfer [",
        "verify: ",
    ] {
        assert!(shown.contains(drawn), "{drawn} not drawn: {shown:?}");
    }
    let quiet = on_terminal(demo("8").arg("--quiet"));
    assert!(
        !quiet.contains(CLEAR) && !quiet.contains("publish ["),
        "{quiet:?}"
    );
}
