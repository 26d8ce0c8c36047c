//! `pipeline run --config` against the CloudStack simulator and s3s-fs (started by
//! `pipeline demo --serve`): a resume after an injected failure, a step run alone, and a corrupted
//! export that the transfer step must refuse without leaving an object or an upload behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use ova_core::no_progress;

use crate::common::{pipeline_cmd, qemu_img};

/// `pipeline demo --serve`, stopped (stdin closed, then killed) on drop.
pub(crate) struct Servers {
    child: Child,
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
    config: PathBuf,
    dir: tempfile::TempDir,
}

impl Servers {
    pub(crate) fn start(disk_mib: u64) -> Self {
        Self::start_for(disk_mib, "VMware")
    }

    /// The servers and a `pipeline.toml` for `hypervisor`.
    pub(crate) fn start_for(disk_mib: u64, hypervisor: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = pipeline_cmd()
            .args([
                "demo",
                "--serve",
                "--hypervisor",
                hypervisor,
                "--disk-mib",
                &disk_mib.to_string(),
                "--dir",
            ])
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut config = None;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(p) = line.strip_prefix("config: ") {
                config = Some(PathBuf::from(p));
                break;
            }
        }
        let config = config.expect("demo --serve printed its config path");
        Self {
            child,
            _stdout: lines,
            config,
            dir,
        }
    }

    fn toml(&self) -> toml::Table {
        std::fs::read_to_string(&self.config)
            .unwrap()
            .parse()
            .unwrap()
    }

    pub(crate) fn s3_root(&self) -> PathBuf {
        self.dir.path().join("s3")
    }

    fn s3_endpoint(&self) -> String {
        self.toml()["s3"]["endpoint"].as_str().unwrap().to_owned()
    }

    fn set_offering(&self, name: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        for l in &mut lines {
            if l.starts_with("service_offering") {
                *l = format!("service_offering = {:?}", name);
            }
        }
        std::fs::write(&self.config, lines.join("\n") + "\n").unwrap();
    }

    pub(crate) fn pipeline(&self, args: &[&str]) -> (i32, serde_json::Value, String) {
        let out = pipeline_cmd()
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .arg("--json")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}); stderr:\n{stderr}"));
        (out.status.code().unwrap(), report, stderr)
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn statuses(report: &serde_json::Value) -> Vec<(String, String)> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// Every file under `root` whose name starts with `.upload` (s3s-fs's multipart upload state).
pub(crate) fn incomplete_uploads(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(".upload") {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn run_resumes_after_an_injected_failure() {
    let s = Servers::start(4);
    // Injected failure: a service offering that does not exist makes deploy fail.
    s.set_offering("No Such Offering");
    let (code, report, stderr) = s.pipeline(&["run"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("prepare", "done"),
            ("publish", "done"),
            ("register", "done"),
            ("deploy", "failed"),
            ("export", "not-run"),
            ("transfer", "not-run"),
            ("verify", "not-run"),
        ])
    );
    let deploy = &report["steps"][3];
    assert!(
        deploy["error"]
            .as_str()
            .unwrap()
            .contains("service offering `No Such Offering` not found (available: "),
        "{deploy}"
    );
    let template = report["outputs"]["register"]["output"]["template_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Fix the configuration and run again: the completed steps are not repeated.
    s.set_offering("Small Instance");
    let (code, report, stderr) = s.pipeline(&["run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        statuses(&report),
        pairs(&[
            ("prepare", "skipped"),
            ("publish", "skipped"),
            ("register", "skipped"),
            ("deploy", "done"),
            ("export", "done"),
            ("transfer", "done"),
            ("verify", "done"),
        ])
    );
    assert_eq!(
        report["outputs"]["register"]["output"]["template_id"],
        template.as_str()
    );
    // Deploy never completed, so changing its settings makes nothing stale.
    assert!(report["stale"].is_null());

    // Exactly one template exists in the simulator: register really was not repeated.
    let cs = &s.toml()["cloudstack"];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let templates = rt.block_on(async {
        let c = cloudstack_client::Client::builder()
            .with_endpoint(cs["endpoint"].as_str().unwrap())
            .with_credentials(
                cs["api_key"].as_str().unwrap(),
                cs["secret_key"].as_str().unwrap(),
            )
            .build()
            .unwrap();
        c.list_templates(cloudstack_client::Params::new())
            .await
            .unwrap()
    });
    assert_eq!(templates.len(), 1, "{templates:?}");
    assert_eq!(templates[0].id, template);

    // A third run has nothing left to do and still exits 0.
    let (code, report, _) = s.pipeline(&["run"]);
    assert_eq!(code, 0);
    assert!(statuses(&report).iter().all(|(_, st)| st == "skipped"));

    // One step alone, on demand: verify runs again and passes.
    let (code, report, stderr) = s.pipeline(&["step", "verify"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(statuses(&report), pairs(&[("verify", "done")]));
}

#[test]
fn a_step_alone_without_its_input_says_what_to_run() {
    let s = Servers::start(1);
    let (code, report, stderr) = s.pipeline(&["step", "deploy"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("deploy needs a template id: run `register` first or pass --template-id"),
        "{stderr}"
    );
    assert_eq!(report["ok"], false);
}

/// Offset and size of the tar entry whose name ends with `suffix`.
fn entry(ova: &[u8], suffix: &str) -> (usize, usize) {
    let mut off = 0;
    while off + 512 <= ova.len() && ova[off] != 0 {
        let h = &ova[off..off + 512];
        let name = String::from_utf8_lossy(&h[..100])
            .trim_end_matches('\0')
            .to_owned();
        let size_field = String::from_utf8_lossy(&h[124..136]);
        let size =
            usize::from_str_radix(size_field.trim_matches(|c| c == '\0' || c == ' '), 8).unwrap();
        if name.ends_with(suffix) {
            return (off + 512, size);
        }
        off += 512 + size.div_ceil(512) * 512;
    }
    panic!("no entry ending with {suffix}");
}

#[test]
fn transfer_refuses_a_corrupted_export_and_leaves_nothing_behind() {
    // A disk big enough that the OVA needs a multipart upload (more than one 8 MiB part).
    let s = Servers::start(80);
    let (code, report, stderr) = s.pipeline(&["run", "--to", "prepare"]);
    assert_eq!(code, 0, "{stderr}");
    let ova_path = report["outputs"]["prepare"]["output"]["ova"]
        .as_str()
        .unwrap()
        .to_owned();
    let good = std::fs::read(&ova_path).unwrap();
    assert!(
        good.len() > 9 << 20,
        "OVA of {} bytes is too small",
        good.len()
    );

    // Serve a good and a corrupted copy from the S3 server (anonymous GET, like an export URL).
    let bucket_dir = s.s3_root().join("ovakit-demo");
    std::fs::create_dir_all(bucket_dir.join("src")).unwrap();
    std::fs::write(bucket_dir.join("src/good.ova"), &good).unwrap();
    let mut bad = good.clone();
    let (off, size) = entry(&bad, ".vmdk");
    // One byte near the end of the last entry: the mismatch is only known after every part but
    // the last has been uploaded.
    bad[off + size - 100] ^= 0x01;
    std::fs::write(bucket_dir.join("src/bad.ova"), &bad).unwrap();
    let base = format!("{}/ovakit-demo/src", s.s3_endpoint());

    // Control: the intact export goes through, in more than one part.
    let url = format!("{base}/good.ova");
    let (code, report, stderr) = s.pipeline(&[
        "step",
        "transfer",
        "--export-url",
        &url,
        "--transfer-key",
        "exports/good.ova",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read(bucket_dir.join("exports/good.ova")).unwrap(),
        good
    );
    let details: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["detail"].as_str().unwrap().to_owned())
        .collect();
    let parts: u32 = details
        .iter()
        .find_map(|d| {
            let rest = d.split(" bytes in ").nth(1)?;
            rest.split(' ').next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no part count in {details:?}"));
    assert!(
        parts >= 2,
        "a single-part upload does not test the abort: {details:?}"
    );

    // The corrupted export: exit 1, the mismatch named, no object, no open upload.
    let url = format!("{base}/bad.ova");
    let (code, report, stderr) = s.pipeline(&[
        "step",
        "transfer",
        "--export-url",
        &url,
        "--transfer-key",
        "exports/bad.ova",
    ]);
    assert_eq!(code, 1, "{stderr}");
    let row = &report["steps"][0];
    assert_eq!(row["status"], "failed");
    let error = row["error"].as_str().unwrap();
    assert!(error.contains("digest mismatch"), "{error}");
    assert!(error.contains(".vmdk"), "{error}");
    assert!(
        row["hint"]
            .as_str()
            .unwrap()
            .contains("no object was written"),
        "{row}"
    );
    assert!(!bucket_dir.join("exports/bad.ova").exists());
    assert_eq!(incomplete_uploads(&s.s3_root()), Vec::<PathBuf>::new());
    // The state does not record the failed transfer.
    assert!(report["outputs"]["transfer"].is_null());

    // Something that is not an OVA at all is refused the same way.
    std::fs::write(bucket_dir.join("src/junk.ova"), vec![b'x'; 3 << 20]).unwrap();
    let url = format!("{base}/junk.ova");
    let (code, report, stderr) = s.pipeline(&[
        "step",
        "transfer",
        "--export-url",
        &url,
        "--transfer-key",
        "exports/junk.ova",
    ]);
    assert_eq!(code, 1, "{stderr}");
    let error = report["steps"][0]["error"].as_str().unwrap();
    assert!(error.contains("not a readable OVA"), "{error}");
    assert!(!bucket_dir.join("exports/junk.ova").exists());
    assert_eq!(incomplete_uploads(&s.s3_root()), Vec::<PathBuf>::new());
}

#[test]
fn prepare_repacks_an_existing_ova_with_edits_and_no_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk.raw");
    std::fs::write(&disk, vec![7u8; 1 << 20]).unwrap();
    let source = dir.path().join("source.ova");
    let options = ova_core::build::BuildOptions::builder("web")
        .build()
        .unwrap();
    ova_core::build::build_ova(&disk, &source, &options, &mut no_progress).unwrap();

    let config = dir.path().join("pipeline.toml");
    std::fs::write(
        &config,
        "name = \"web\"\n[prepare]\nsource_ova = \"source.ova\"\noutput = \"out/web-vmx07.ova\"\n\
         set_virtual_system_type = \"vmx-07\"\nmanifest = \"none\"\n",
    )
    .unwrap();
    let out = pipeline_cmd()
        .args(["run", "--to", "prepare", "--json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(statuses(&report), pairs(&[("prepare", "done")]));

    let repacked = ova_core::package::Ova::open(dir.path().join("out/web-vmx07.ova")).unwrap();
    let descriptor = String::from_utf8(repacked.descriptor_bytes().unwrap()).unwrap();
    assert!(descriptor.contains(">vmx-07<"), "{descriptor}");
    assert!(repacked.manifest().unwrap().is_none());
    let original = ova_core::package::Ova::open(&source).unwrap();
    assert!(original.manifest().unwrap().is_some());
    // The state file sits beside the config and records the output and its digest.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("pipeline-state.json")).unwrap())
            .unwrap();
    assert_eq!(
        state["prepare"]["output"]["sha256"].as_str().unwrap().len(),
        64
    );
    assert!(state["publish"].is_null());
}

#[test]
fn publish_with_a_canned_acl_to_moto_then_verify_the_public_url() {
    // the moto server the test script starts (ACLs, unlike s3s-fs)
    let Some(endpoint) = test_support::moto::endpoint() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk.raw");
    std::fs::write(&disk, vec![3u8; 1 << 20]).unwrap();
    let source = dir.path().join("source.ova");
    let options = ova_core::build::BuildOptions::builder("acl")
        .build()
        .unwrap();
    ova_core::build::build_ova(&disk, &source, &options, &mut no_progress).unwrap();
    let bucket = format!(
        "pipeline-acl-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        s3_stream::Client::builder()
            .with_endpoint(endpoint.clone())
            .with_region("us-east-1")
            .with_credentials(s3_stream::Credentials::new("testing", "testing"))
            .build()
            .unwrap()
            .create_bucket(&bucket)
            .await
            .unwrap();
    });
    let config = dir.path().join("pipeline.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"acl\"\n[prepare]\nsource_ova = \"source.ova\"\n[s3]\nendpoint = {endpoint:?}\n\
             bucket = {bucket:?}\naccess_key = \"testing\"\nsecret_key = \"testing\"\n\
             acl = \"public-read\"\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = pipeline_cmd()
            .args(args)
            .arg("--json")
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            out.status.code().unwrap(),
            report,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, report, stderr) = run(&["run", "--to", "publish"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["outputs"]["publish"]["output"]["acl"], "public-read");
    let url = report["outputs"]["publish"]["output"]["url"]
        .as_str()
        .unwrap();
    assert_eq!(url, format!("{endpoint}/{bucket}/acl.ova"));
    // verify: HEAD through the API and an anonymous GET of the URL CloudStack would fetch.
    let (code, report, stderr) = run(&["step", "verify"]);
    assert_eq!(code, 0, "{stderr}");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"object URL serves an OVA"), "{names:?}");

    // Control: the same object without the ACL is private, and verify says so (exit 1).
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("acl = \"public-read\"\n", "key = \"private.ova\"\n")
            .replace(
                "name = \"acl\"",
                "name = \"acl\"\nstate_file = \"private-state.json\"",
            ),
    )
    .unwrap();
    let (code, _, stderr) = run(&["run", "--to", "publish"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, report, _) = run(&["step", "verify"]);
    assert_eq!(code, 1);
    let failed: Vec<String> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| format!("{}: {}", c["name"], c["detail"]))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("object URL serves an OVA") && failed[0].contains("403"),
        "{failed:?}"
    );
}

#[test]
fn wrong_keys_get_advice_about_keys_and_clock() {
    let s = Servers::start(1);
    // CloudStack: the simulator checks signatures like the server and answers 401.
    let (code, report, _) = s.pipeline(&[
        "step",
        "register",
        "--object-url",
        "http://127.0.0.1:9/x.ova",
        "--cs-secret",
        "not-the-secret",
    ]);
    assert_eq!(code, 2);
    let hint = report["steps"][0]["hint"].as_str().unwrap();
    assert!(
        hint.contains("CloudStack answered 401") && hint.contains("clock"),
        "{hint}"
    );

    // S3: s3s-fs verifies SigV4 and refuses the wrong secret.
    let (code, report, _) = s.pipeline(&["run", "--to", "publish", "--secret-key", "wrong"]);
    assert_eq!(code, 2);
    let row = &report["steps"][1];
    assert_eq!(row["step"], "publish");
    let hint = row["hint"].as_str().unwrap();
    assert!(
        hint.contains("rejected the request signature") && hint.contains("clock"),
        "{row}"
    );

    // A transfer whose upload is refused is an S3 problem, not a corrupt export, even though the
    // verifier then sees a cut-off stream.
    let (code, report, stderr) = s.pipeline(&["run", "--to", "publish"]);
    assert_eq!(code, 0, "{stderr}");
    let url = report["outputs"]["publish"]["output"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, report, _) = s.pipeline(&[
        "step",
        "transfer",
        "--export-url",
        &url,
        "--secret-key",
        "wrong",
    ]);
    assert_eq!(code, 2);
    let row = &report["steps"][0];
    let hint = row["hint"].as_str().unwrap();
    assert!(hint.contains("rejected the request signature"), "{row}");
    assert!(incomplete_uploads(&s.s3_root()).is_empty());
}

#[test]
fn kvm_run_then_transfer_refuses_a_damaged_qcow2_and_leaves_nothing_behind() {
    // A disk big enough that the QCOW2 needs a multipart upload (more than one 8 MiB part).
    let s = Servers::start_for(48, "kvm");
    let (code, report, stderr) = s.pipeline(&["run"]);
    assert_eq!(code, 0, "{stderr}");
    let prepare = &report["outputs"]["prepare"]["output"];
    let path = prepare["ova"].as_str().unwrap().to_owned();
    assert!(path.ends_with(".qcow2"), "{path}");
    assert_eq!(prepare["virtual_size"], 48u64 << 20);
    if let Some(text) = qemu_img(&[std::ffi::OsStr::new("check"), std::ffi::OsStr::new(&path)]) {
        assert!(text.contains("No errors were found"), "{text}");
    }
    let good = std::fs::read(&path).unwrap();
    assert!(good.len() > 9 << 20, "{} bytes is too small", good.len());

    let bucket_dir = s.s3_root().join("ovakit-demo");

    // verify reads the transferred object back: one flipped byte of disk data fails it.
    let exported = bucket_dir.join("exports/ovakit-demo.qcow2");
    assert_eq!(std::fs::read(&exported).unwrap(), good);
    let be = |at: usize, n: usize| {
        good[at..at + n]
            .iter()
            .fold(0u64, |v, &b| (v << 8) | u64::from(b))
    };
    let cluster = 1usize << be(20, 4);
    let data_start = be(48, 8) as usize + be(56, 4) as usize * cluster;
    let mut flipped = good.clone();
    flipped[data_start + 100] ^= 0x20;
    std::fs::write(&exported, &flipped).unwrap();
    let (code, report, _) = s.pipeline(&["step", "verify"]);
    assert_eq!(code, 1);
    let failed: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0]["name"],
        "transferred object is the prepared QCOW2 image"
    );
    assert!(
        failed[0]["detail"].as_str().unwrap().contains("(prepared "),
        "{}",
        failed[0]
    );
    std::fs::write(&exported, &good).unwrap();
    let (code, _, stderr) = s.pipeline(&["step", "verify"]);
    assert_eq!(code, 0, "{stderr}");

    std::fs::create_dir_all(bucket_dir.join("src")).unwrap();
    let base = format!("{}/ovakit-demo/src", s.s3_endpoint());
    // Cut short (only the end shows it), another virtual size in the header, and an OVA.
    let mut resized = good.clone();
    resized[24..32].copy_from_slice(&(47u64 << 20).to_be_bytes());
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("cut.qcow2", good[..good.len() - 4096].to_vec(), "truncated"),
        (
            "resized.qcow2",
            resized,
            "virtual size of 49283072 bytes, the prepared image has 50331648",
        ),
        (
            "other.qcow2",
            {
                let mut tar = vec![0u8; 3 << 20];
                tar[257..262].copy_from_slice(b"ustar");
                tar
            },
            "the export is an OVA file, not the QCOW2 image hypervisor KVM takes",
        ),
    ];
    for (name, bytes, why) in cases {
        std::fs::write(bucket_dir.join("src").join(name), &bytes).unwrap();
        let key = format!("exports/{name}");
        let (code, report, stderr) = s.pipeline(&[
            "step",
            "transfer",
            "--export-url",
            &format!("{base}/{name}"),
            "--transfer-key",
            &key,
        ]);
        assert_eq!(code, 1, "{name}: {stderr}");
        let error = report["steps"][0]["error"].as_str().unwrap();
        assert!(error.contains(why), "{name}: {error}");
        assert!(!bucket_dir.join(&key).exists(), "{name}");
        assert_eq!(incomplete_uploads(&s.s3_root()), Vec::<PathBuf>::new());
    }
}

#[test]
fn a_hypervisor_and_format_mismatch_is_refused_with_a_clear_message() {
    let s = Servers::start_for(2, "KVM");
    let (code, report, stderr) = s.pipeline(&["run", "--to", "publish"]);
    assert_eq!(code, 0, "{stderr}");
    let qcow2 = report["outputs"]["prepare"]["output"]["ova"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = report["outputs"]["publish"]["output"]["url"]
        .as_str()
        .unwrap()
        .to_owned();

    // publish: the file is not what the hypervisor's zones take.
    let (code, report, _) = s.pipeline(&[
        "step",
        "publish",
        "--ova",
        &qcow2,
        "--hypervisor",
        "XenServer",
    ]);
    assert_eq!(code, 1);
    let error = report["steps"][0]["error"].as_str().unwrap();
    assert!(
        error.contains(
            "is a QCOW2 file, the template format of KVM, but hypervisor XenServer takes VHD templates"
        ),
        "{error}"
    );

    // register: CloudStack's secondary storage refuses the download (the simulator is as strict).
    let (code, report, _) = s.pipeline(&[
        "step",
        "register",
        "--object-url",
        &url,
        "--hypervisor",
        "xenserver",
    ]);
    assert_eq!(code, 1);
    let error = report["steps"][0]["error"].as_str().unwrap();
    assert!(error.contains("not a VHD"), "{error}");

    // The configuration: both keys naming different hypervisors.
    let text = std::fs::read_to_string(&s.config).unwrap();
    std::fs::write(
        &s.config,
        text.replace("[cloudstack]\n", "[cloudstack]\nhypervisor = \"VMware\"\n"),
    )
    .unwrap();
    let (code, _, stderr) = s.pipeline(&["run"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "invalid `hypervisor`: `hypervisor = \"KVM\"` and `[cloudstack] hypervisor = \"VMware\"` disagree"
        ),
        "{stderr}"
    );
}

#[test]
fn xenserver_prepare_converts_an_ovas_disk_and_names_a_wrong_disk_id() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk.raw");
    let mut raw = vec![0u8; 3 << 20];
    raw[..1 << 20].fill(5);
    raw[(2 << 20) + 11] = 1;
    std::fs::write(&disk, &raw).unwrap();
    let source = dir.path().join("source.ova");
    let options = ova_core::build::BuildOptions::builder("web")
        .build()
        .unwrap();
    ova_core::build::build_ova(&disk, &source, &options, &mut no_progress).unwrap();
    let config = dir.path().join("pipeline.toml");
    std::fs::write(
        &config,
        "name = \"web\"\nhypervisor = \"XenServer\"\n[prepare]\nsource_ova = \"source.ova\"\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let out = pipeline_cmd()
            .args(["run", "--to", "prepare", "--json", "--config"])
            .arg(&config)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, report, stderr) = run(&[]);
    assert_eq!(code, 0, "{stderr}");
    let vhd = dir.path().join("web.vhd");
    assert_eq!(
        report["outputs"]["prepare"]["output"]["ova"],
        vhd.display().to_string()
    );
    if let Some(text) = qemu_img(&[
        std::ffi::OsStr::new("compare"),
        std::ffi::OsStr::new("-f"),
        std::ffi::OsStr::new("raw"),
        std::ffi::OsStr::new("-F"),
        std::ffi::OsStr::new("vpc"),
        disk.as_os_str(),
        vhd.as_os_str(),
    ]) {
        assert!(text.contains("Images are identical"), "{text}");
    }
    let (code, report, stderr) = run(&["--disk-id", "nosuchdisk", "--restart"]);
    assert_eq!(code, 2, "{stderr}");
    let error = report["steps"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("nosuchdisk") && error.contains("the package has"),
        "{error}"
    );
}
