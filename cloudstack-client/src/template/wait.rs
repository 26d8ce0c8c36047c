//! Waiting for a registered template (see the [module docs](super)).

use std::time::{Duration, Instant};

use super::Zones;
use super::status::{DownloadStatus, download_status};
use crate::job::JobConfig;
use crate::retry::Rng;
use crate::types::Template;
use crate::{Error, Params, Result};

/// One zone's row at the last poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneStatus {
    /// The zone id (`None` when the row has none).
    pub zone_id: Option<String>,
    /// The zone name.
    pub zone_name: Option<String>,
    /// The status text.
    pub status: Option<String>,
    /// `isready`.
    pub ready: bool,
}

/// What the wait looked like at the last poll, for progress callbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProgress {
    /// The template id.
    pub template_id: String,
    /// Polls so far.
    pub polls: u32,
    /// Time since the wait started.
    pub elapsed: Duration,
    /// The rows of the zones waited for.
    pub zones: Vec<ZoneStatus>,
}

/// The next action for the shell.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateStep {
    /// Send `listTemplates` with these parameters (all pages), then call `step` with the rows.
    Send(Params),
    /// Sleep this long, then call `step` with `None`.
    Sleep(Duration),
    /// Ready in every zone waited for: those rows.
    Ready(Vec<Template>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    AwaitingAnswer,
    Finished,
}

/// The wait for one template (see the module docs).
///
/// # Examples
/// ```
/// use std::time::Instant;
/// use cloudstack_client::job::JobConfig;
/// use cloudstack_client::template::{TemplateStep, TemplateWait, Zones};
/// use cloudstack_client::types::Template;
/// let row = |status: &str, ready: bool| -> Template {
///     serde_json::from_value(serde_json::json!({"id": "t", "zoneid": "z1", "status": status, "isready": ready})).unwrap()
/// };
/// let t0 = Instant::now();
/// let mut wait = TemplateWait::new("t", Zones::one("z1"), JobConfig::default(), t0);
/// assert!(matches!(wait.step(t0, None).unwrap(), TemplateStep::Send(_)));
/// assert!(matches!(wait.step(t0, Some(&[row("Processing", false)])).unwrap(), TemplateStep::Sleep(_)));
/// assert!(matches!(wait.step(t0, None).unwrap(), TemplateStep::Send(_)));
/// let done = wait.step(t0, Some(&[row("Download Complete", true)])).unwrap();
/// assert!(matches!(done, TemplateStep::Ready(rows) if rows.len() == 1));
/// ```
#[derive(Debug, Clone)]
pub struct TemplateWait {
    id: String,
    zones: Zones,
    cfg: JobConfig,
    start: Instant,
    interval: Duration,
    polls: u32,
    state: State,
    last: Option<TemplateProgress>,
    rng: Rng,
}

impl TemplateWait {
    /// Starts waiting for template `id` in `zones` at `now`, with the schedule and deadline of
    /// `cfg`.
    pub fn new(id: impl Into<String>, zones: Zones, cfg: JobConfig, now: Instant) -> Self {
        let id = id.into();
        let seed = id.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Self {
            interval: cfg.initial_interval,
            cfg,
            start: now,
            polls: 0,
            state: State::Idle,
            last: None,
            rng: Rng::new(seed),
            zones,
            id,
        }
    }

    /// The progress seen at the last poll.
    pub fn progress(&self) -> Option<&TemplateProgress> {
        self.last.as_ref()
    }

    /// Advances the machine. Pass `None` to start and after a [`TemplateStep::Sleep`]; pass the
    /// `listTemplates` rows after a [`TemplateStep::Send`].
    ///
    /// # Errors
    /// [`Error::TemplateDownloadFailed`] when a zone waited for reports a failed download,
    /// [`Error::TemplateNotReady`] when the template is not listed or the deadline passed,
    /// [`Error::InvalidRequest`] when called after the wait ended.
    pub fn step(&mut self, now: Instant, answer: Option<&[Template]>) -> Result<TemplateStep> {
        match (self.state, answer) {
            (State::Finished, _) => Err(Error::InvalidRequest {
                command: "listTemplates".into(),
                reason: "template wait already finished".into(),
            }),
            (_, None) => {
                self.state = State::AwaitingAnswer;
                Ok(TemplateStep::Send(
                    Params::new()
                        .set("templatefilter", "self")
                        .set("id", &self.id),
                ))
            }
            (_, Some(rows)) => {
                self.polls += 1;
                let r = self.judge(now, rows);
                if !matches!(r, Ok(TemplateStep::Sleep(_))) {
                    self.state = State::Finished;
                }
                r
            }
        }
    }

    fn judge(&mut self, now: Instant, rows: &[Template]) -> Result<TemplateStep> {
        let elapsed = now.saturating_duration_since(self.start);
        let mine: Vec<&Template> = rows
            .iter()
            .filter(|t| t.id == self.id && self.zones.wants(t.zoneid.as_deref()))
            .collect();
        self.last = Some(TemplateProgress {
            template_id: self.id.clone(),
            polls: self.polls,
            elapsed,
            zones: mine
                .iter()
                .map(|t| ZoneStatus {
                    zone_id: t.zoneid.clone(),
                    zone_name: t.zonename.clone(),
                    status: t.status.clone(),
                    ready: t.isready == Some(true),
                })
                .collect(),
        });
        if rows.iter().all(|t| t.id != self.id) {
            return Err(Error::TemplateNotReady {
                template_id: self.id.clone(),
                reason: "template not listed (deleted, or not visible to this account)".into(),
            });
        }
        if let Some(t) = mine.iter().find(|t| {
            t.isready != Some(true)
                && t.status.as_deref().map(download_status) == Some(DownloadStatus::Failed)
        }) {
            return Err(Error::TemplateDownloadFailed {
                template_id: self.id.clone(),
                zone_id: t.zoneid.clone(),
                status: t.status.clone().unwrap_or_default(),
            });
        }
        let missing: Vec<&str> = match &self.zones {
            Zones::All => vec![],
            Zones::These(z) => z
                .iter()
                .filter(|w| {
                    !mine
                        .iter()
                        .any(|t| t.zoneid.as_deref().is_none_or(|id| id == w.as_str()))
                })
                .map(String::as_str)
                .collect(),
        };
        if missing.is_empty() && !mine.is_empty() && mine.iter().all(|t| t.isready == Some(true)) {
            return Ok(TemplateStep::Ready(mine.into_iter().cloned().collect()));
        }
        if elapsed >= self.cfg.timeout {
            let mut notes: Vec<String> = mine
                .iter()
                .filter(|t| t.isready != Some(true))
                .map(|t| {
                    format!(
                        "zone {}: {:?}",
                        t.zonename.as_deref().or(t.zoneid.as_deref()).unwrap_or("?"),
                        t.status.as_deref().unwrap_or("")
                    )
                })
                .collect();
            notes.extend(missing.iter().map(|z| format!("zone {z}: not listed")));
            return Err(Error::TemplateNotReady {
                template_id: self.id.clone(),
                reason: format!("not ready after {elapsed:?} ({})", notes.join("; ")),
            });
        }
        let jitter = self.cfg.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + jitter * (2.0 * self.rng.next_f64() - 1.0);
        let wait = self
            .interval
            .mul_f64(factor)
            .min(self.cfg.timeout.saturating_sub(elapsed));
        self.interval = self
            .interval
            .mul_f64(self.cfg.multiplier.max(1.0))
            .min(self.cfg.max_interval);
        Ok(TemplateStep::Sleep(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(zone: &str, status: &str, ready: bool) -> Template {
        serde_json::from_value(
            json!({"id": "t1", "zoneid": zone, "zonename": format!("{zone}-name"), "status": status, "isready": ready}),
        )
        .unwrap()
    }

    /// Drives a wait over recorded answers; returns the outcome and the sleeps.
    fn run(
        zones: Zones,
        answers: &[Vec<Template>],
        cfg: JobConfig,
    ) -> (Result<Vec<Template>>, Vec<Duration>) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut w = TemplateWait::new("t1", zones, cfg, t0);
        let mut it = answers.iter();
        let mut sleeps = vec![];
        let mut step = w.step(now, None);
        loop {
            match step {
                Ok(TemplateStep::Send(p)) => {
                    assert_eq!(p.get("id"), Some("t1"));
                    assert_eq!(p.get("templatefilter"), Some("self"));
                    let a = it.next().expect("more answers");
                    step = w.step(now, Some(a));
                }
                Ok(TemplateStep::Sleep(d)) => {
                    sleeps.push(d);
                    now += d;
                    step = w.step(now, None);
                }
                Ok(TemplateStep::Ready(rows)) => return (Ok(rows), sleeps),
                Err(e) => return (Err(e), sleeps),
            }
        }
    }

    #[test]
    fn real_status_sequence_to_ready() {
        // the texts a 4.20 server writes while one zone downloads and installs
        let seq = [
            ("Processing", false),
            ("0% Downloaded", false),
            ("45% Downloaded", false),
            ("100% Downloaded", false),
            ("Installing Template", false),
            ("Download success, starting install ", false),
            ("Install completed successfully at 12/6/26 11:02 AM", false),
            ("Download Complete", false),
            ("Download Complete", true),
        ];
        let answers: Vec<Vec<Template>> = seq.iter().map(|(s, r)| vec![row("z1", s, *r)]).collect();
        let (r, sleeps) = run(Zones::one("z1"), &answers, JobConfig::default());
        let rows = r.unwrap();
        assert_eq!(rows[0].isready, Some(true));
        assert_eq!(sleeps.len(), seq.len() - 1);
    }

    #[test]
    fn failed_download_reports_the_server_text() {
        let text = r#"Failed post download script: checksum "{SHA-256}aa" didn't match the given value, "{SHA-256}bb""#;
        for failure in [
            text,
            "checksum algorithm not recognised: SHA-3",
            "Unable to install due to invalid file format",
            "UploadError",
            "UploadAbandoned",
            "Failed post download install: Couldn't read QCOW2 virtual size. Error: x",
            "Storage VM reported: Connection refused",
        ] {
            let answers = vec![
                vec![row("z1", "Processing", false)],
                vec![row("z1", "12% Downloaded", false)],
                vec![row("z1", failure, false)],
            ];
            match run(Zones::All, &answers, JobConfig::default()).0 {
                Err(Error::TemplateDownloadFailed {
                    template_id,
                    zone_id,
                    status,
                }) => {
                    assert_eq!(template_id, "t1");
                    assert_eq!(zone_id.as_deref(), Some("z1"));
                    assert_eq!(status, failure);
                }
                other => panic!("{failure}: {other:?}"),
            }
        }
    }

    #[test]
    fn waits_for_the_requested_zones_only() {
        let answers = vec![
            vec![
                row("z1", "Download Complete", true),
                row("z2", "3% Downloaded", false),
            ],
            vec![
                row("z1", "Download Complete", true),
                row("z2", "Failed post download script: x", false),
            ],
        ];
        let (r, s) = run(Zones::one("z1"), &answers, JobConfig::default());
        assert_eq!(r.unwrap().len(), 1);
        assert!(s.is_empty());
        // all zones: z2's failure ends the wait
        let (r, _) = run(Zones::All, &answers, JobConfig::default());
        assert!(
            matches!(r, Err(Error::TemplateDownloadFailed { zone_id: Some(z), .. }) if z == "z2")
        );
        // two zones, the second listed only later
        let answers = vec![
            vec![row("z1", "Download Complete", true)],
            vec![
                row("z1", "Download Complete", true),
                row("z2", "Download Complete", true),
            ],
        ];
        let (r, s) = run(
            Zones::These(vec!["z1".into(), "z2".into()]),
            &answers,
            JobConfig::default(),
        );
        assert_eq!(r.unwrap().len(), 2);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn not_listed_and_deadline() {
        let (r, _) = run(Zones::All, &[vec![]], JobConfig::default());
        assert!(
            matches!(r, Err(Error::TemplateNotReady { reason, .. }) if reason.contains("not listed"))
        );
        let cfg = JobConfig {
            jitter: 0.0,
            timeout: Duration::from_secs(20),
            ..Default::default()
        };
        let answers = vec![vec![row("z1", "A new wording nobody knows", false)]; 100];
        let (r, sleeps) = run(Zones::one("z1"), &answers, cfg);
        match r {
            Err(Error::TemplateNotReady { reason, .. }) => {
                assert!(reason.contains("A new wording nobody knows"), "{reason}");
                assert!(reason.contains("z1-name"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(sleeps.iter().sum::<Duration>(), Duration::from_secs(20));
        assert_eq!(sleeps[0], Duration::from_millis(500));
        assert!(sleeps.iter().all(|d| *d <= Duration::from_secs(5)));
        let answers = vec![vec![row("z1", "Download Complete", true)]; 3];
        let (r, _) = run(
            Zones::one("z9"),
            &answers,
            JobConfig {
                timeout: Duration::from_secs(1),
                ..Default::default()
            },
        );
        assert!(
            matches!(r, Err(Error::TemplateNotReady { reason, .. }) if reason.contains("z9: not listed"))
        );
    }

    #[test]
    fn finished_wait_refuses_more_steps() {
        let t0 = Instant::now();
        let mut w = TemplateWait::new("t1", Zones::All, JobConfig::default(), t0);
        w.step(t0, None).unwrap();
        assert!(matches!(
            w.step(t0, Some(&[row("z", "Download Complete", true)]))
                .unwrap(),
            TemplateStep::Ready(_)
        ));
        assert!(w.step(t0, None).is_err());
        assert_eq!(w.progress().unwrap().polls, 1);
    }
}
