//! cloudstack-client: signing throughput, signed calls per second against the simulator, and the
//! job-wait overhead (time from a job's completion to the client noticing it, default settings).

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use cloudstack_client::command::{SignOptions, prepare};
use cloudstack_client::sign::{SignatureAlgorithm, sign};
use cloudstack_client::simulator::{Simulator, SimulatorConfig};
use cloudstack_client::{Client, Params};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

fn register_params() -> Params {
    Params::from([
        ("name", "centos65-ova"),
        ("displaytext", "CentOS 6.5 OVA ~ built nightly"),
        ("format", "OVA"),
        ("hypervisor", "VMware"),
        ("ostypeid", "5d9b0e7a-7a57-11ee-9c3a-0242ac110002"),
        ("zoneid", "3f0f4cb9-7f17-4616-9fc0-000000000001"),
        ("isextractable", "true"),
        ("passwordenabled", "true"),
        (
            "url",
            "https://objects.example.com/images/centos65.ova?X-Amz-Signature=abcdef0123456789",
        ),
    ])
}

fn signing(c: &mut Criterion) {
    let mut g = c.benchmark_group("cloudstack/sign");
    g.throughput(Throughput::Elements(1));
    let p = register_params();
    let pairs: Vec<(String, String)> = p
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    for (name, alg) in [
        ("hmac-sha1", SignatureAlgorithm::HmacSha1),
        ("hmac-sha512", SignatureAlgorithm::HmacSha512),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                sign(
                    alg,
                    black_box(b"secret-key"),
                    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                )
            })
        });
    }
    let opts = SignOptions::default();
    g.bench_function("prepare-request", |b| {
        b.iter(|| {
            prepare(
                "registerTemplate",
                black_box(&p),
                "api-key",
                b"secret-key",
                &opts,
                SystemTime::now(),
            )
            .unwrap()
        })
    });
    g.finish();
}

fn calls(c: &mut Criterion) {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client: Client = sim.client_builder().build().unwrap();
    let mut g = c.benchmark_group("cloudstack/simulator");
    g.throughput(Throughput::Elements(1));
    g.bench_function("signed-listZones", |b| {
        b.iter(|| {
            rt.block_on(client.request("listZones", &Params::new()))
                .unwrap()
        })
    });
    g.finish();
}

fn job_wait(c: &mut Criterion) {
    let sim = Simulator::start(SimulatorConfig {
        pending_polls: 0,
        ..Default::default()
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client: Client = sim.client_builder().build().unwrap(); // default JobConfig
    let (zone, template, offering) = rt.block_on(async {
        let z = client.list_zones(Params::new()).await.unwrap().remove(0).id;
        let t = client
            .list_templates(Params::new().set("templatefilter", "featured"))
            .await
            .unwrap()
            .remove(0)
            .id;
        let s = client
            .list_service_offerings(Params::new())
            .await
            .unwrap()
            .remove(0)
            .id;
        (z, t, s)
    });
    let deploy = Params::from([
        ("zoneid", zone),
        ("templateid", template),
        ("serviceofferingid", offering),
    ]);
    // job durations spread over the first backoff steps, so the figure is an average over phases
    let durations = [200u64, 450, 800, 1300, 1900, 2600];
    let mut next = 0usize;
    let mut g = c.benchmark_group("cloudstack/job-wait");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(12)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(15));
    g.bench_function("overhead-after-completion", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                sim.set_job_duration(Some(Duration::from_millis(
                    durations[next % durations.len()],
                )));
                next += 1;
                let (job_id, noticed) = rt.block_on(async {
                    let started = client
                        .request("deployVirtualMachine", &deploy)
                        .await
                        .unwrap();
                    let job_id = started["jobid"].as_str().unwrap().to_owned();
                    client
                        .wait_job(&job_id, "deployVirtualMachine")
                        .await
                        .unwrap();
                    (job_id, Instant::now())
                });
                let done = sim.job_completed_at(&job_id).unwrap();
                total += noticed.saturating_duration_since(done);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, signing, calls, job_wait);
criterion_main!(benches);
