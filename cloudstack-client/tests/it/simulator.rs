//! The client against the in-process simulator: the operator flow, jobs, errors, retries,
//! pagination, persistence, secrets.

use crate::common;

use std::time::{Duration, SystemTime};

use cloudstack_client::command::{SignOptions, prepare};
use cloudstack_client::job::JobConfig;
use cloudstack_client::retry::{BackoffConfig, RetryConfig};
use cloudstack_client::simulator::{Simulator, SimulatorConfig};
use cloudstack_client::{Client, Error, Params};
use futures::TryStreamExt;

fn fast_jobs() -> JobConfig {
    JobConfig {
        initial_interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(20),
        ..Default::default()
    }
}

fn fast_retry() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        backoff: BackoffConfig {
            init: Duration::from_millis(5),
            max: Duration::from_millis(20),
            base: 2.0,
        },
        ..Default::default()
    }
}

fn client(sim: &Simulator) -> Client {
    sim.client_builder()
        .with_job_config(fast_jobs())
        .with_retry(fast_retry())
        .build()
        .unwrap()
}

#[tokio::test]
async fn operator_flow_register_deploy_extract() {
    let sim = Simulator::start(SimulatorConfig {
        pending_polls: 3,
        ..Default::default()
    })
    .unwrap();
    let cs = client(&sim);
    let ova = common::make_ova();
    let url = format!("{}/images/centos.ova", common::serve_bytes(ova.clone()));

    let os = cs
        .list_os_types(Params::new().set("keyword", "CentOS 6.5"))
        .await
        .unwrap();
    assert_eq!(os.len(), 1);
    let zone = cs.list_zones(Params::new()).await.unwrap().remove(0);
    let offering = cs
        .list_service_offerings(Params::new())
        .await
        .unwrap()
        .remove(0);

    let t = cs
        .register_template(Params::from([
            ("name", "centos65-ova"),
            ("displaytext", "CentOS 6.5 OVA"),
            ("format", "OVA"),
            ("hypervisor", "VMware"),
            ("ostypeid", os[0].id.as_str()),
            ("zoneid", zone.id.as_str()),
            ("isextractable", "true"),
            ("passwordenabled", "true"),
            ("url", url.as_str()),
        ]))
        .await
        .unwrap();
    assert_eq!(
        t.isready,
        Some(false),
        "registerTemplate returns before the download"
    );
    let ready = cs.wait_template_ready(&t.id).await.unwrap();
    assert_eq!(ready.isready, Some(true));
    assert_eq!(ready.size, Some(ova.len() as u64));

    let mut polls = 0;
    let vm_answer = cs
        .call_and_wait_with(
            "deployVirtualMachine",
            &Params::from([
                ("zoneid", zone.id.as_str()),
                ("templateid", t.id.as_str()),
                ("serviceofferingid", offering.id.as_str()),
                ("name", "web-1"),
            ]),
            &mut |p| {
                polls += 1;
                assert_eq!(p.command, "deployVirtualMachine");
                std::ops::ControlFlow::Continue(())
            },
        )
        .await
        .unwrap();
    assert!(
        polls >= 3,
        "progress callback called for each pending poll ({polls})"
    );
    assert_eq!(vm_answer["virtualmachine"]["state"], "Running");
    assert!(
        vm_answer["virtualmachine"]["password"].is_string(),
        "passwordenabled template gives a password"
    );

    let extracted = cs
        .extract_template(&t.id, Params::new().set("zoneid", &zone.id))
        .await
        .unwrap();
    let raw = extracted.url.clone().unwrap();
    assert!(
        raw.starts_with("http://127.0.0.1:") && !raw.contains("%2F"),
        "a plain URL as 4.16+ servers write it: {raw}"
    );
    let download = extracted.download_url().unwrap();
    let bytes = reqwest::get(&download)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        bytes.as_ref(),
        ova.as_slice(),
        "extracted bytes equal the registered OVA"
    );

    let vms = cs
        .list_virtual_machines(Params::new().set("name", "web-1"))
        .await
        .unwrap();
    assert_eq!(vms.len(), 1);
    let stopped = cs.stop_virtual_machine(&vms[0].id, false).await.unwrap();
    assert_eq!(stopped.state.as_deref(), Some("Stopped"));
    let started = cs.start_virtual_machine(&vms[0].id).await.unwrap();
    assert_eq!(started.state.as_deref(), Some("Running"));
    let destroyed = cs.destroy_virtual_machine(&vms[0].id, true).await.unwrap();
    assert_eq!(destroyed.state.as_deref(), Some("Expunging"));
    assert!(
        cs.list_virtual_machines(Params::new())
            .await
            .unwrap()
            .is_empty()
    );
    cs.delete_template(&t.id, Params::new()).await.unwrap();
    assert!(
        cs.list_templates(Params::new().set("id", &t.id))
            .await
            .unwrap()
            .is_empty()
    );
    let jobs = cs.list_async_jobs(Params::new()).await.unwrap();
    assert!(jobs.len() >= 5 && jobs.iter().all(|j| j.jobstatus == Some(1)));
}

#[tokio::test]
async fn deploy_before_ready_and_non_ova_download() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let cs = client(&sim);
    let url = common::serve_bytes(b"this is not a tar archive".repeat(40));
    let t = common::register_ova(&cs, "bad", &url).await.unwrap();
    let zone = t.zoneid.clone().unwrap();
    match cs.wait_template_ready(&t.id).await {
        Err(Error::TemplateDownloadFailed {
            template_id,
            status,
            ..
        }) => {
            assert_eq!(template_id, t.id);
            assert!(status.contains("not an OVA"), "{status}");
        }
        other => panic!("{other:?}"),
    }
    let offering = cs
        .list_service_offerings(Params::new())
        .await
        .unwrap()
        .remove(0);
    let e = cs
        .deploy_virtual_machine(Params::from([
            ("zoneid", zone.as_str()),
            ("templateid", t.id.as_str()),
            ("serviceofferingid", offering.id.as_str()),
        ]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Api {
                errorcode: 530,
                cserrorcode: Some(4250),
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn failed_and_cancelled_jobs_are_typed() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let cs = client(&sim);
    let vm = cs
        .list_templates(Params::new().set("templatefilter", "featured"))
        .await
        .unwrap()
        .remove(0);
    let zone = cs.list_zones(Params::new()).await.unwrap().remove(0);
    let off = cs
        .list_service_offerings(Params::new())
        .await
        .unwrap()
        .remove(0);
    let p = Params::from([
        ("zoneid", zone.id.as_str()),
        ("templateid", vm.id.as_str()),
        ("serviceofferingid", off.id.as_str()),
    ]);
    sim.fail_next_job(533, "Unable to create a deployment for VM");
    match cs.call_and_wait("deployVirtualMachine", &p).await {
        Err(Error::JobFailed {
            errorcode: 533,
            errortext,
            command,
            cancelled: false,
            job_id,
        }) => {
            assert!(errortext.contains("deployment"));
            assert_eq!(command, "deployVirtualMachine");
            assert!(!job_id.is_empty());
        }
        other => panic!("{other:?}"),
    }
    sim.cancel_next_job();
    assert!(matches!(
        cs.call_and_wait("deployVirtualMachine", &p).await,
        Err(Error::JobFailed {
            cancelled: true,
            ..
        })
    ));

    sim.set_pending_polls(1000);
    let short = sim
        .client_builder()
        .with_job_config(JobConfig {
            timeout: Duration::from_millis(50),
            ..fast_jobs()
        })
        .build()
        .unwrap();
    match short.call_and_wait("deployVirtualMachine", &p).await {
        Err(Error::JobTimeout { instance_id, .. }) => assert!(instance_id.is_some()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn signature_and_expiry_are_enforced() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let wrong = Client::builder()
        .with_endpoint(sim.endpoint())
        .with_credentials(sim.api_key(), "not-the-secret")
        .build()
        .unwrap();
    match wrong.list_zones(Params::new()).await {
        Err(e @ Error::Unauthorized { .. }) => assert!(e.to_string().contains("clock")),
        other => panic!("{other:?}"),
    }
    // a correctly signed request whose `expires` is in the past
    let http = reqwest::Client::new();
    let past = SystemTime::now() - Duration::from_secs(3600);
    let req = prepare(
        "listZones",
        &Params::new(),
        sim.api_key(),
        sim.secret_key().as_bytes(),
        &SignOptions::default(),
        past,
    )
    .unwrap();
    let resp = http
        .get(format!("{}?{}", sim.endpoint(), req.encoded))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(
        resp.headers()["x-description"],
        "unable to verify user credentials and/or request signature"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["listzonesresponse"]["errorcode"], 401);
    // the same request signed now passes; tampering with a value after signing fails
    let req = prepare(
        "listZones",
        &Params::new().set("name", "tokyo-1"),
        sim.api_key(),
        sim.secret_key().as_bytes(),
        &SignOptions::default(),
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(
        http.get(format!("{}?{}", sim.endpoint(), req.encoded))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let tampered = req.encoded.replace("name=tokyo-1", "name=osaka-1");
    assert_eq!(
        http.get(format!("{}?{}", sim.endpoint(), tampered))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    // the same name twice: the server signs one value; a duplicate sent in the body is ignored
    // for GET, so the request still verifies only when the query value was signed
    let resp = http
        .post(format!("{}?{}", sim.endpoint(), req.encoded))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=osaka-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "query string wins over the body (utf8Fixup)"
    );
}

#[tokio::test]
async fn sha512_post_and_no_v3_accepted() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let cs = sim
        .client_builder()
        .with_signature_algorithm(cloudstack_client::sign::SignatureAlgorithm::HmacSha512)
        .with_method(cloudstack_client::command::MethodPolicy::Post)
        .with_config(cloudstack_client::ConfigKey::Expiration, "-1")
        .build()
        .unwrap();
    assert_eq!(cs.list_zones(Params::new()).await.unwrap().len(), 2);
    // userdata goes as POST by default and verifies
    let cs = client(&sim);
    let t = cs
        .list_templates(Params::new().set("templatefilter", "featured"))
        .await
        .unwrap()
        .remove(0);
    let zone = cs.list_zones(Params::new()).await.unwrap().remove(0);
    let off = cs
        .list_service_offerings(Params::new())
        .await
        .unwrap()
        .remove(0);
    let vm = cs
        .deploy_virtual_machine(Params::from([
            ("zoneid", zone.id.as_str()),
            ("templateid", t.id.as_str()),
            ("serviceofferingid", off.id.as_str()),
            ("userdata", &"I2Nsb3VkLWNvbmZpZwo=~*+/ ".repeat(200)),
            ("displayname", "tilde~ and space"),
        ]))
        .await
        .unwrap();
    assert_eq!(vm.displayname.as_deref(), Some("tilde~ and space"));
}

#[tokio::test]
async fn param_errors_are_431_and_unknown_401() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let cs = client(&sim);
    match cs.request("listTemplates", &Params::new()).await {
        Err(Error::Api {
            http_status: 431,
            errorcode: 431,
            errortext,
            ..
        }) => assert!(errortext.contains("missing parameter templatefilter")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        cs.request("registerTemplate", &Params::new().set("name", "x"))
            .await,
        Err(Error::Api { errorcode: 431, .. })
    ));
    assert!(matches!(
        cs.request(
            "listOsTypes",
            &Params::new().set("page", "1").set("pagesize", "501")
        )
        .await,
        Err(Error::Api { errorcode: 431, .. })
    ));
    assert!(matches!(
        cs.request("frobnicate", &Params::new()).await,
        Err(Error::Unauthorized { .. })
    ));
    assert!(matches!(
        cs.request("listZones", &Params::new().set("apikey", "x"))
            .await,
        Err(Error::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn pagination_stream_matches_single_call() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let cs = client(&sim);
    let before = sim.request_count();
    let paged: Vec<serde_json::Value> = cs
        .list_all("listOsTypes", Params::new().set("pagesize", "2"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        sim.request_count() - before,
        5,
        "9 items in pages of 2: 5 requests, stop at count"
    );
    let all = cs.request("listOsTypes", &Params::new()).await.unwrap();
    assert_eq!(serde_json::Value::Array(paged), all["ostype"]);
    let none: Vec<serde_json::Value> = cs
        .list_all("listVirtualMachines", Params::new())
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
    let apis = cs.list_apis(Params::new()).await.unwrap();
    assert!(
        apis.iter()
            .any(|a| a.name == "deployVirtualMachine" && a.isasync == Some(true))
    );
    let bad: Result<Vec<serde_json::Value>, _> = cs
        .list_all("listZones", Params::new().set("page", "2"))
        .try_collect()
        .await;
    assert!(matches!(bad, Err(Error::InvalidRequest { .. })));
}

#[tokio::test]
async fn retries_only_read_only_commands() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let cs = client(&sim);
    sim.throttle_next(2, 5);
    assert_eq!(cs.list_zones(Params::new()).await.unwrap().len(), 2);
    sim.fail_next(2, 503);
    assert_eq!(cs.list_zones(Params::new()).await.unwrap().len(), 2);
    sim.fail_next(10, 503);
    match cs.list_zones(Params::new()).await {
        Err(
            e @ Error::Decode {
                http_status: 503, ..
            },
        ) => assert!(e.is_retryable()),
        other => panic!("{other:?}"),
    }
    sim.fail_next(0, 503);
    sim.throttle_next(1, 7);
    match cs
        .request("stopVirtualMachine", &Params::new().set("id", "x"))
        .await
    {
        Err(Error::Throttled { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_millis(7)))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn blocking_client_same_names() {
    let sim = Simulator::start(SimulatorConfig {
        pending_polls: 1,
        ..Default::default()
    })
    .unwrap();
    let cs = cloudstack_client::blocking::Client::from_builder(
        sim.client_builder().with_job_config(fast_jobs()),
    )
    .unwrap();
    let n = cs
        .list_all("listOsTypes", Params::new().set("pagesize", "4"))
        .map(Result::unwrap)
        .count();
    assert_eq!(n, 9);
    let t = cs
        .list_templates(Params::new().set("templatefilter", "featured"))
        .unwrap()
        .remove(0);
    let zone = cs.list_zones(Params::new()).unwrap().remove(0);
    let off = cs.list_service_offerings(Params::new()).unwrap().remove(0);
    let vm = cs
        .deploy_virtual_machine(Params::from([
            ("zoneid", &zone.id),
            ("templateid", &t.id),
            ("serviceofferingid", &off.id),
        ]))
        .unwrap();
    assert_eq!(vm.state.as_deref(), Some("Running"));
    let job = cs
        .request("stopVirtualMachine", &Params::new().set("id", &vm.id))
        .unwrap();
    let jobid = job["jobid"].as_str().unwrap();
    assert_eq!(cs.query_async_job_result(jobid).unwrap().jobstatus, Some(0));
    let done = cs.wait_job(jobid, "stopVirtualMachine").unwrap();
    assert_eq!(done.object()["state"], "Stopped");
}

#[test]
fn state_dir_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SimulatorConfig {
        state_dir: Some(dir.path().to_owned()),
        pending_polls: 0,
        ..Default::default()
    };
    let vm_id = {
        let sim = Simulator::start(cfg.clone()).unwrap();
        let cs = cloudstack_client::blocking::Client::from_builder(sim.client_builder()).unwrap();
        let t = cs
            .list_templates(Params::new().set("templatefilter", "featured"))
            .unwrap()
            .remove(0);
        let zone = cs.list_zones(Params::new()).unwrap().remove(0);
        let off = cs.list_service_offerings(Params::new()).unwrap().remove(0);
        cs.deploy_virtual_machine(Params::from([
            ("zoneid", &zone.id),
            ("templateid", &t.id),
            ("serviceofferingid", &off.id),
        ]))
        .unwrap()
        .id
    };
    let sim = Simulator::start(cfg).unwrap();
    let cs = cloudstack_client::blocking::Client::from_builder(sim.client_builder()).unwrap();
    let vms = cs.list_virtual_machines(Params::new()).unwrap();
    assert_eq!(vms.len(), 1);
    assert_eq!(vms[0].id, vm_id);
}

#[tokio::test]
async fn secret_never_in_errors_debug_or_urls() {
    const SECRET: &str = "S3CR3T-zz9-plural-z-alpha";
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let cs = Client::builder()
        .with_endpoint(sim.endpoint())
        .with_credentials(sim.api_key(), SECRET)
        .with_retry(fast_retry())
        .build()
        .unwrap();
    let mut texts = vec![format!("{cs:?}")];
    let e = cs.list_zones(Params::new()).await.unwrap_err();
    texts.push(format!("{e} {e:?}"));
    // transport error: a closed port; reqwest errors carry the URL (with the signature) unless removed
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dead = Client::builder()
        .with_endpoint(format!("http://{closed}/client/api"))
        .with_credentials("k", SECRET)
        .with_retry(fast_retry())
        .build()
        .unwrap();
    let e = dead
        .list_zones(Params::new().set("name", "probe"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { .. }));
    let mut chain = format!("{e} {e:?}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        chain.push_str(&format!(" {s} {s:?}"));
        src = s.source();
    }
    texts.push(chain);
    for t in &texts {
        assert!(!t.contains(SECRET), "secret leaked: {t}");
        assert!(!t.contains("signature="), "signed url leaked: {t}");
    }
}

/// The 4.20 template API end to end, client and simulator together: the right `{SHA-256}`
/// checksum gives a ready template in every zone; a wrong one fails the wait with the server's
/// own text instead of waiting until the timeout.
#[tokio::test]
async fn typed_register_with_checksum_right_and_wrong() {
    use cloudstack_client::template::{RegisterTemplate, Zones};
    use sha2::Digest;
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let cs = client(&sim);
    let ova = common::make_ova();
    let sha: String = sha2::Sha256::digest(&ova)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let url = common::serve_bytes(ova);
    let os = cs.list_os_types(Params::new()).await.unwrap().remove(0);
    let good =
        RegisterTemplate::new("good", "OVA", "VMware", &os.id, &url, Zones::All).with_sha256(&sha);
    let rows = cs.register_template_with(&good).await.unwrap();
    assert!(!rows.is_empty());
    let ready = cs
        .wait_template_ready_in(&rows[0].id, &Zones::All)
        .await
        .unwrap();
    assert!(ready.iter().all(|t| t.isready == Some(true)), "{ready:?}");
    let bad = RegisterTemplate::new("bad", "OVA", "VMware", &os.id, &url, Zones::All)
        .with_sha256("00".repeat(32));
    let rows = cs.register_template_with(&bad).await.unwrap();
    match cs.wait_template_ready_in(&rows[0].id, &Zones::All).await {
        Err(Error::TemplateDownloadFailed { status, .. }) => {
            assert!(status.contains("didn't match the given value"), "{status}");
            assert!(status.contains(&sha), "{status}");
        }
        other => panic!("{other:?}"),
    }
}

/// A disk image `qemu-img create` writes, in `fmt` (`qcow2` or `vpc`).
fn qemu_img_blank(fmt: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("disk");
    let mut cmd = std::process::Command::new("qemu-img");
    cmd.args(["create", "-q", "-f", fmt]);
    if fmt == "vpc" {
        cmd.args(["-o", "subformat=dynamic"]);
    }
    let status = cmd.arg(&path).arg("4M").status().unwrap();
    assert!(status.success(), "qemu-img create -f {fmt}");
    std::fs::read(&path).unwrap()
}

#[tokio::test]
async fn format_must_match_hypervisor_and_disk_headers_are_checked() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let cs = client(&sim);
    let zone = cs.list_zones(Params::new()).await.unwrap().remove(0);
    let os = cs.list_os_types(Params::new()).await.unwrap().remove(0);
    let qcow2 = qemu_img_blank("qcow2");
    let vhd = qemu_img_blank("vpc");
    let register = |format: &'static str, hypervisor: &'static str, url: String| {
        let cs = cs.clone();
        let (zone, os) = (zone.id.clone(), os.id.clone());
        async move {
            cs.register_template(Params::from([
                ("name", "t"),
                ("displaytext", "t"),
                ("format", format),
                ("hypervisor", hypervisor),
                ("ostypeid", os.as_str()),
                ("zoneid", zone.as_str()),
                ("url", url.as_str()),
                ("isextractable", "true"),
            ]))
            .await
        }
    };
    for (format, hypervisor) in [
        ("QCOW2", "VMware"),
        ("VHD", "KVM"),
        ("OVA", "XenServer"),
        ("QCOW2", "XenServer"),
    ] {
        let url = common::serve_bytes(qcow2.clone());
        match register(format, hypervisor, url).await {
            Err(Error::Api {
                errorcode: 431,
                errortext,
                ..
            }) => assert!(
                errortext.contains("is not supported for hypervisor"),
                "{errortext}"
            ),
            other => panic!("{format} on {hypervisor}: {other:?}"),
        }
    }
    for (format, hypervisor, good) in [("QCOW2", "KVM", &qcow2), ("VHD", "XenServer", &vhd)] {
        let t = register(format, hypervisor, common::serve_bytes(good.clone()))
            .await
            .unwrap();
        let ready = cs.wait_template_ready(&t.id).await.unwrap();
        assert_eq!(ready.size, Some(good.len() as u64));
        // extractTemplate hands back the stored format under its extension
        let extracted = cs
            .extract_template(&t.id, Params::new().set("zoneid", &zone.id))
            .await
            .unwrap();
        let url = extracted.download_url().unwrap();
        let ext = format.to_ascii_lowercase();
        assert!(url.ends_with(&format!(".{ext}")), "{url}");
        let bytes = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
        assert_eq!(bytes.as_ref(), good.as_slice());
        let other = url.replace(&format!(".{ext}"), ".ova");
        assert_eq!(reqwest::get(&other).await.unwrap().status(), 404);
        let wrong = if format == "QCOW2" { &vhd } else { &qcow2 };
        let t = register(format, hypervisor, common::serve_bytes(wrong.clone()))
            .await
            .unwrap();
        match cs.wait_template_ready(&t.id).await {
            Err(Error::TemplateDownloadFailed { status, .. }) => {
                assert!(status.contains(&format!("not a {format}")), "{status}")
            }
            other => panic!("{format} with the other format's bytes: {other:?}"),
        }
    }
}
