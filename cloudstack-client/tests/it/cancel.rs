//! Stopping calls: a progress callback's `Break`, a client handle's `CancelToken` (async and
//! blocking), a token cancelled before the call. A stopped wait names its job, which goes on.

use crate::common;

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use cloudstack_client::job::JobConfig;
use cloudstack_client::simulator::{Simulator, SimulatorConfig};
use cloudstack_client::{CancelToken, Client, Error, Params};

/// A simulator with one ready template (returned), whose later jobs stay pending.
async fn sim_with_template() -> (Simulator, Client, String) {
    let sim = Simulator::start(SimulatorConfig {
        pending_polls: 0,
        ..Default::default()
    })
    .unwrap();
    let cs = client(&sim, Duration::from_millis(5));
    let url = format!(
        "{}/images/appliance.ova",
        common::serve_bytes(common::make_ova())
    );
    let t = common::register_ova(&cs, "appliance", &url).await.unwrap();
    cs.wait_template_ready(&t.id).await.unwrap();
    sim.set_pending_polls(u32::MAX);
    (sim, cs, t.id)
}

/// A client polling jobs every `interval`.
fn client(sim: &Simulator, interval: Duration) -> Client {
    sim.client_builder()
        .with_job_config(JobConfig {
            initial_interval: interval,
            max_interval: interval,
            ..Default::default()
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_progress_break_stops_the_wait_and_names_the_job() {
    let (sim, cs, template) = sim_with_template().await;
    let mut polls = 0;
    let err = cs
        .call_and_wait_with(
            "deleteTemplate",
            &Params::new().set("id", &template),
            &mut |_| {
                polls += 1;
                if polls == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .await
        .unwrap_err();
    assert_eq!(polls, 3);
    let Error::Cancelled {
        command,
        job_id: Some(job_id),
    } = &err
    else {
        panic!("expected a cancelled wait naming its job: {err:?}");
    };
    assert_eq!(command, "deleteTemplate");
    assert!(err.to_string().contains(job_id.as_str()), "{err}");
    // Stopping the wait did not stop the job: the cloud still runs it.
    let job = cs.query_async_job_result(job_id).await.unwrap();
    assert_eq!(job.jobstatus, Some(0), "{job:?}");
    drop(sim);
}

#[tokio::test]
async fn a_token_stops_a_typed_call_in_the_middle_of_its_pause_and_only_that_handle() {
    let (sim, _, template) = sim_with_template().await;
    // Polls an hour apart: only the token can end this wait in time.
    let cs = client(&sim, Duration::from_secs(3600));
    let token = CancelToken::new();
    let stopper = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stopper.cancel();
    });
    let started = Instant::now();
    let err = cs
        .with_cancel(&token)
        .delete_template(&template, Params::new())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "cancelled during the pause"
    );
    assert!(
        matches!(&err, Error::Cancelled { command, job_id: Some(_) } if command == "deleteTemplate"),
        "{err:?}"
    );
    // The handle without the token still works; a handle with it refuses to send anything.
    assert!(!cs.list_zones(Params::new()).await.unwrap().is_empty());
    let before = sim.request_count();
    let refused = cs
        .with_cancel(&token)
        .list_zones(Params::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Cancelled { command, job_id: None } if command == "listZones"),
        "{refused:?}"
    );
    assert_eq!(sim.request_count(), before, "nothing sent once cancelled");
}

#[tokio::test]
async fn a_child_token_stops_one_call_and_leaves_its_parent() {
    let (_sim, cs, template) = sim_with_template().await;
    let parent = CancelToken::new();
    let child = parent.child();
    child.cancel();
    let err = cs
        .with_cancel(&child)
        .delete_template(&template, Params::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
    assert!(!parent.is_cancelled());
    assert!(
        !cs.with_cancel(&parent)
            .list_zones(Params::new())
            .await
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_blocking_call_is_stopped_from_another_thread() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sim, _, template) = rt.block_on(sim_with_template());
    let token = CancelToken::new();
    let cs = cloudstack_client::blocking::Client::new(client(&sim, Duration::from_secs(3600)))
        .unwrap()
        .with_cancel(&token);
    let stopper = token.clone();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        stopper.cancel();
    });
    let started = Instant::now();
    let err = cs.delete_template(&template, Params::new()).unwrap_err();
    thread.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(
        matches!(
            &err,
            Error::Cancelled {
                job_id: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
}
