//! The async-job poller fed arbitrary `queryAsyncJobResult` answers: `JobPoll::step` never
//! panics, a pending answer asks for a sleep, and once the job ended (success, failure or an
//! unreadable answer) the machine refuses to go on.
#![no_main]

use std::time::{Duration, Instant};

use cloudstack_client::job::{JobConfig, JobPoll, Step};
use cloudstack_client::response::unwrap_envelope;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let answer = unwrap_envelope("queryAsyncJobResult", &json).unwrap_or(&json);
    let t0 = Instant::now();
    let mut poll = JobPoll::new("job-1", "deployVirtualMachine", JobConfig::default(), t0);
    assert!(matches!(poll.step(t0, None), Ok(Step::Send(_))));
    let mut now = t0;
    for _ in 0..3 {
        match poll.step(now, Some(answer)) {
            Ok(Step::Sleep(d)) => {
                let _ = poll.progress();
                now += d.max(Duration::from_millis(1));
                assert!(matches!(poll.step(now, None), Ok(Step::Send(_))));
            }
            Ok(Step::Done(outcome)) => {
                let _ = outcome.object();
                assert!(poll.step(now, Some(answer)).is_err());
                return;
            }
            Ok(Step::Send(_)) => panic!("an answer never asks to send again before a sleep"),
            Err(e) => {
                let _ = e.to_string();
                assert!(poll.step(now, Some(answer)).is_err());
                return;
            }
        }
    }
});
