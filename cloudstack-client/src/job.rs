//! Async-job polling as a sans-IO state machine.
//!
//! [`JobPoll::step`] is fed the clock and the last `queryAsyncJobResult` answer and says what to do
//! next: [`Step::Send`] a query, [`Step::Sleep`], or [`Step::Done`]. The decision uses `jobstatus`
//! only — 0 pending, 1 succeeded, 2 failed, 3 cancelled; `jobprocstatus` is ignored, since servers
//! report 0 there while the job runs.
//!
//! Default schedule ([`JobConfig::default`]): first poll at once, then waits of 500 ms growing by
//! ×1.5 up to 5 s (±10 % jitter), for at most 30 minutes in total.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::response::{error_fields, field_string, lenient_u64};
use crate::retry::Rng;
use crate::{Error, Params, Result};

/// How to wait for a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobConfig {
    /// First wait after a pending answer (default 500 ms).
    pub initial_interval: Duration,
    /// Largest wait (default 5 s).
    pub max_interval: Duration,
    /// Growth of the wait after each pending answer (default 1.5).
    pub multiplier: f64,
    /// Relative jitter applied to each wait, 0–1 (default 0.1).
    pub jitter: f64,
    /// Give up (with [`Error::JobTimeout`]) after this long (default 30 minutes).
    pub timeout: Duration,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(5),
            multiplier: 1.5,
            jitter: 0.1,
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// A job's `jobstatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobStatus {
    /// 0: still running.
    Pending,
    /// 1: succeeded.
    Succeeded,
    /// 2: failed.
    Failed,
    /// 3: cancelled.
    Cancelled,
}

impl JobStatus {
    /// Maps the numeric `jobstatus`; unknown non-zero values count as failures (terminal).
    pub fn from_code(code: u64) -> Self {
        match code {
            0 => Self::Pending,
            1 => Self::Succeeded,
            3 => Self::Cancelled,
            _ => Self::Failed,
        }
    }
}

/// A job's `jobresult`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum JobResult {
    /// `jobresulttype` "object": e.g. `{"virtualmachine": {…}}`.
    Object(Value),
    /// `jobresulttype` "text" (or a string `jobresult`).
    Text(String),
    /// No result.
    None,
}

impl JobResult {
    fn from_response(v: &Value) -> Self {
        match v.get("jobresult") {
            Some(Value::String(s)) => JobResult::Text(s.clone()),
            Some(Value::Null) | None => JobResult::None,
            Some(other) => JobResult::Object(other.clone()),
        }
    }
}

/// A finished job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    /// The job id.
    pub job_id: String,
    /// Always [`JobStatus::Succeeded`] (failures are errors).
    pub status: JobStatus,
    /// The parsed `jobresult`.
    pub result: JobResult,
    /// The whole `queryasyncjobresultresponse` object.
    pub raw: Value,
}

impl JobOutcome {
    /// The result's single object (`{"virtualmachine": {…}}` → the VM), or the result itself.
    pub fn object(&self) -> Value {
        match &self.result {
            JobResult::Object(v) => crate::response::single_object(v),
            JobResult::Text(s) => Value::String(s.clone()),
            JobResult::None => Value::Null,
        }
    }
}

/// What a pending job looked like at the last poll, for progress callbacks.
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    /// The job id.
    pub job_id: String,
    /// The command that started the job.
    pub command: String,
    /// Polls so far.
    pub polls: u32,
    /// Time since the wait started.
    pub elapsed: Duration,
    /// `jobprocstatus` (informative only).
    pub jobprocstatus: Option<u64>,
    /// `jobinstanceid`, the resource the job acts on.
    pub instance_id: Option<String>,
}

/// The next action for the shell.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send `queryAsyncJobResult` with these parameters, then call `step` with the answer.
    Send(Params),
    /// Sleep this long, then call `step` with `None`.
    Sleep(Duration),
    /// The job succeeded.
    Done(JobOutcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    AwaitingAnswer,
    Sleeping,
    Finished,
}

/// The polling state machine for one job.
///
/// # Examples
/// ```
/// use std::time::Instant;
/// use cloudstack_client::job::{JobConfig, JobPoll, Step};
/// use serde_json::json;
/// let t0 = Instant::now();
/// let mut poll = JobPoll::new("j-1", "deployVirtualMachine", JobConfig::default(), t0);
/// assert!(matches!(poll.step(t0, None).unwrap(), Step::Send(_)));
/// assert!(matches!(poll.step(t0, Some(&json!({"jobid": "j-1", "jobstatus": 0}))).unwrap(), Step::Sleep(_)));
/// assert!(matches!(poll.step(t0, None).unwrap(), Step::Send(_)));
/// let done = poll.step(t0, Some(&json!({"jobstatus": 1, "jobresult": {"virtualmachine": {"id": "v"}}}))).unwrap();
/// let Step::Done(outcome) = done else { panic!() };
/// assert_eq!(outcome.object()["id"], "v");
/// ```
#[derive(Debug, Clone)]
pub struct JobPoll {
    job_id: String,
    command: String,
    cfg: JobConfig,
    start: Instant,
    interval: Duration,
    polls: u32,
    state: State,
    last: Option<JobProgress>,
    rng: Rng,
}

impl JobPoll {
    /// Starts waiting for `job_id` (started by `command`) at time `now`.
    pub fn new(
        job_id: impl Into<String>,
        command: impl Into<String>,
        cfg: JobConfig,
        now: Instant,
    ) -> Self {
        let job_id = job_id.into();
        let seed = job_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Self {
            command: command.into(),
            interval: cfg.initial_interval,
            cfg,
            start: now,
            polls: 0,
            state: State::Idle,
            last: None,
            rng: Rng::new(seed),
            job_id,
        }
    }

    /// The job id.
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// The progress seen at the last pending answer.
    pub fn progress(&self) -> Option<&JobProgress> {
        self.last.as_ref()
    }

    /// Advances the machine. Pass `None` to start and after a [`Step::Sleep`]; pass the
    /// unwrapped `queryasyncjobresultresponse` after a [`Step::Send`].
    ///
    /// # Errors
    /// [`Error::JobFailed`] for `jobstatus` 2 or 3, [`Error::JobTimeout`] when the deadline passed,
    /// [`Error::Decode`] when the answer has no `jobstatus`.
    pub fn step(&mut self, now: Instant, answer: Option<&Value>) -> Result<Step> {
        match (self.state, answer) {
            (State::Finished, _) => Err(Error::InvalidRequest {
                command: self.command.clone(),
                reason: "job wait already finished".into(),
            }),
            (_, None) => {
                self.state = State::AwaitingAnswer;
                Ok(Step::Send(Params::new().set("jobid", &self.job_id)))
            }
            (_, Some(v)) => {
                self.polls += 1;
                let Some(code) = v.get("jobstatus").and_then(lenient_u64) else {
                    self.state = State::Finished;
                    let body = serde_json::to_vec(v).unwrap_or_default();
                    return Err(Error::decode(
                        "queryAsyncJobResult",
                        200,
                        "answer has no jobstatus",
                        &body,
                    ));
                };
                match JobStatus::from_code(code) {
                    JobStatus::Pending => self.pending(now, v),
                    JobStatus::Succeeded => {
                        self.state = State::Finished;
                        Ok(Step::Done(JobOutcome {
                            job_id: self.job_id.clone(),
                            status: JobStatus::Succeeded,
                            result: JobResult::from_response(v),
                            raw: v.clone(),
                        }))
                    }
                    status => {
                        self.state = State::Finished;
                        Err(self.failure(v, status == JobStatus::Cancelled))
                    }
                }
            }
        }
    }

    fn pending(&mut self, now: Instant, v: &Value) -> Result<Step> {
        let elapsed = now.saturating_duration_since(self.start);
        self.last = Some(JobProgress {
            job_id: self.job_id.clone(),
            command: self.command.clone(),
            polls: self.polls,
            elapsed,
            jobprocstatus: v.get("jobprocstatus").and_then(lenient_u64),
            instance_id: field_string(v, "jobinstanceid")
                .or_else(|| self.last.as_ref().and_then(|l| l.instance_id.clone())),
        });
        if elapsed >= self.cfg.timeout {
            self.state = State::Finished;
            return Err(Error::JobTimeout {
                job_id: self.job_id.clone(),
                command: self.command.clone(),
                waited: elapsed,
                instance_id: self.last.as_ref().and_then(|l| l.instance_id.clone()),
            });
        }
        let jitter = self.cfg.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + jitter * (2.0 * self.rng.next_f64() - 1.0);
        let wait = self
            .interval
            .mul_f64(factor)
            .min(self.cfg.timeout - elapsed);
        self.interval = self
            .interval
            .mul_f64(self.cfg.multiplier.max(1.0))
            .min(self.cfg.max_interval);
        self.state = State::Sleeping;
        Ok(Step::Sleep(wait))
    }

    fn failure(&self, v: &Value, cancelled: bool) -> Error {
        let resultcode = v
            .get("jobresultcode")
            .and_then(lenient_u64)
            .map(|c| c as u32);
        let (code, text) = match v.get("jobresult") {
            Some(Value::Object(o)) => error_fields(o),
            Some(Value::String(s)) => (None, Some(s.clone())),
            _ => (None, None),
        };
        Error::JobFailed {
            job_id: self.job_id.clone(),
            command: self.command.clone(),
            errorcode: code.or(resultcode).unwrap_or(530),
            errortext: text.unwrap_or_else(|| {
                if cancelled {
                    "job cancelled".into()
                } else {
                    "job failed without an error text".into()
                }
            }),
            cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One `queryAsyncJobResult` answer of the CloudStack corpus (the repository's
    /// `testdata/corpus/cloudstack`, see its SOURCES.md), parsed; panics when it is missing.
    fn corpus(rel: &str) -> Value {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/corpus/cloudstack/"
        );
        let path = format!("{p}{rel}");
        let b = std::fs::read(&path).unwrap_or_else(|e| panic!("corpus file {path}: {e}"));
        crate::response::parse("queryAsyncJobResult", 200, &b, None).unwrap()
    }

    fn run(answers: &[Value], cfg: JobConfig) -> (Result<JobOutcome>, Vec<Duration>) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut p = JobPoll::new("j", "cmd", cfg, t0);
        let mut sleeps = vec![];
        let mut it = answers.iter();
        let mut step = p.step(now, None);
        loop {
            match step {
                Ok(Step::Send(params)) => {
                    assert_eq!(params.get("jobid"), Some("j"));
                    let a = it.next().expect("more answers");
                    step = p.step(now, Some(a));
                }
                Ok(Step::Sleep(d)) => {
                    sleeps.push(d);
                    now += d;
                    step = p.step(now, None);
                }
                Ok(Step::Done(o)) => return (Ok(o), sleeps),
                Err(e) => return (Err(e), sleeps),
            }
        }
    }

    #[test]
    fn statuses_end_the_wait() {
        let pending = json!({"jobstatus": 0, "jobprocstatus": 0, "jobinstanceid": "vm-1"});
        let (r, s) = run(
            &[
                pending.clone(),
                pending.clone(),
                json!({"jobstatus": 1, "jobresulttype": "object", "jobresult": {"success": true}}),
            ],
            JobConfig::default(),
        );
        assert_eq!(
            r.unwrap().result,
            JobResult::Object(json!({"success": true}))
        );
        assert_eq!(s.len(), 2);
        let (r, _) = run(
            &[pending.clone(), json!({"jobstatus": 3})],
            JobConfig::default(),
        );
        assert!(matches!(
            r,
            Err(Error::JobFailed {
                cancelled: true,
                ..
            })
        ));
        let (r, _) = run(
            &[
                json!({"jobstatus": "2", "jobresultcode": 530, "jobresult": {"errorcode": 431, "errortext": "bad"}}),
            ],
            JobConfig::default(),
        );
        match r {
            Err(Error::JobFailed {
                errorcode: 431,
                errortext,
                cancelled: false,
                ..
            }) => assert_eq!(errortext, "bad"),
            other => panic!("{other:?}"),
        }
        let (r, _) = run(
            &[
                json!({"jobstatus": 2, "jobresulttype": "text", "jobresultcode": 551, "jobresult": "Unable to deploy"}),
            ],
            JobConfig::default(),
        );
        assert!(matches!(r, Err(Error::JobFailed { errorcode: 551, .. })));
        let (r, _) = run(
            &[json!({"jobstatus": 1, "jobresulttype": "text", "jobresult": "done"})],
            JobConfig::default(),
        );
        assert_eq!(r.unwrap().result, JobResult::Text("done".into()));
        let (r, _) = run(&[json!({"jobprocstatus": 1})], JobConfig::default());
        assert!(matches!(r, Err(Error::Decode { .. })));
    }

    #[test]
    fn jobprocstatus_is_ignored() {
        let (r, s) = run(
            &[
                json!({"jobstatus": 0, "jobprocstatus": 100}),
                json!({"jobstatus": 1}),
            ],
            JobConfig::default(),
        );
        assert!(r.is_ok());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn backoff_capped_and_deadline() {
        let cfg = JobConfig {
            jitter: 0.0,
            timeout: Duration::from_secs(60),
            ..Default::default()
        };
        let pending = json!({"jobstatus": 0, "jobinstanceid": 42});
        let answers = vec![pending; 200];
        let (r, sleeps) = run(&answers, cfg.clone());
        match r {
            Err(Error::JobTimeout {
                waited,
                instance_id,
                ..
            }) => {
                assert_eq!(waited, Duration::from_secs(60));
                assert_eq!(instance_id.as_deref(), Some("42"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(sleeps[0], Duration::from_millis(500));
        assert_eq!(sleeps[1], Duration::from_millis(750));
        assert!(sleeps.iter().all(|d| *d <= Duration::from_secs(5)));
        assert_eq!(sleeps.iter().sum::<Duration>(), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_in_band() {
        let cfg = JobConfig {
            jitter: 0.1,
            ..Default::default()
        };
        let mut p = JobPoll::new("x", "c", cfg, Instant::now());
        let now = Instant::now();
        p.step(now, None).unwrap();
        let Step::Sleep(d) = p.step(now, Some(&json!({"jobstatus": 0}))).unwrap() else {
            panic!()
        };
        assert!(
            d >= Duration::from_millis(450) && d <= Duration::from_millis(550),
            "{d:?}"
        );
        assert!(p.progress().is_some());
        p.step(now, None).unwrap();
        p.step(now, Some(&json!({"jobstatus": 1}))).unwrap();
        assert!(p.step(now, None).is_err());
    }

    #[test]
    fn corpus_job_results() {
        let v = corpus("libcloud/queryAsyncJobResult_17164.json");
        let (r, _) = run(&[v], JobConfig::default());
        let o = r.unwrap();
        assert!(o.object().get("id").is_some());

        let v = corpus("libcloud/queryAsyncJobResult_17177.json");
        let (r, _) = run(&[v], JobConfig::default());
        assert!(matches!(
            r,
            Err(Error::JobFailed {
                cancelled: false,
                ..
            })
        ));

        let v = corpus("jclouds/queryasyncjobresultresponse-extracttemplate.json");
        let (r, _) = run(&[v], JobConfig::default());
        let o = r.unwrap().object();
        let url = o["url"].as_str().unwrap();
        assert!(url.contains("%2F"));
        assert!(crate::response::extract_url(url).starts_with("https://"));

        let v = corpus("libcloud/queryAsyncJobResult_1149342.json");
        let (r, _) = run(&[v], JobConfig::default());
        assert!(r.is_ok());
    }
}
