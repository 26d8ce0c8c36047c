//! Templates: the typed `registerTemplate` request of the 4.20-era API, and waiting until a
//! registered template is ready, as a sans-IO state machine like [`crate::job::JobPoll`].
//!
//! `registerTemplate` answers before the secondary-storage VM has downloaded anything. The
//! template's `status` then moves, per zone (one `listTemplates` row per zone), through the texts
//! CloudStack's `TemplateJoinDaoImpl.getTemplateStatus` writes:
//!
//! | status text | meaning |
//! |---|---|
//! | `Processing` (or a template state such as `Active`, `NotUploaded`, `UploadInProgress`) | queued |
//! | `N% Downloaded` | downloading |
//! | `Installing Template` | downloaded, being installed (download at 100 %) |
//! | `Download Complete` / `Successfully Installed` | done; `isready` follows |
//! | `Bypassed Secondary Storage` | direct download (KVM): nothing is copied |
//! | `Download success, starting install`, `Install completed successfully at …` | the storage VM's progress notes |
//! | the download error text | failed, e.g. `Failed post download script: checksum "{SHA-256}…" didn't match the given value, "{SHA-256}…"`, `checksum algorithm not recognised: …`, `Unable to install due to invalid file format`, `UploadError`, `UploadAbandoned` |
//!
//! [`TemplateWait`] polls `listTemplates templatefilter=self id=…` until every requested zone has a
//! row with `isready=true`, fails with [`Error::TemplateDownloadFailed`] (the server's text) as
//! soon as a requested zone's status reports a failure, and gives up with
//! [`Error::TemplateNotReady`] at the deadline. A status text it does not know counts as "still
//! working" (it is shown in the progress and in the timeout error), so a new server wording never
//! ends a wait early.

use std::time::{Duration, Instant};

use crate::job::JobConfig;
use crate::retry::Rng;
use crate::types::Template;
use crate::{Error, Params, Result};

/// The zones a template is registered in, or waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Zones {
    /// Every zone (`zoneids=-1` when registering; when waiting, every zone the template is listed
    /// in).
    All,
    /// These zone ids.
    These(Vec<String>),
}

impl Zones {
    /// One zone.
    pub fn one(id: impl Into<String>) -> Self {
        Zones::These(vec![id.into()])
    }

    fn wants(&self, zone: Option<&str>) -> bool {
        match (self, zone) {
            (Zones::All, _) | (_, None) => true,
            (Zones::These(z), Some(id)) => z.iter().any(|w| w == id),
        }
    }
}

/// What a template `status` text says about the download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadStatus {
    /// Queued, downloading or installing.
    InProgress,
    /// Downloaded (or bypassed for a direct download); `isready` decides the rest.
    Complete,
    /// The download or its installation failed: the text is the server's reason.
    Failed,
    /// A text this client does not know; treated as still in progress.
    Unknown,
}

/// Classifies a template `status` text (case-insensitive; see the module docs for the table).
///
/// # Examples
/// ```
/// use cloudstack_client::template::{DownloadStatus, download_status};
/// assert_eq!(download_status("45% Downloaded"), DownloadStatus::InProgress);
/// assert_eq!(download_status("Download Complete"), DownloadStatus::Complete);
/// let failed = r#"Failed post download script: checksum "{SHA-256}ab" didn't match the given value, "{SHA-256}cd""#;
/// assert_eq!(download_status(failed), DownloadStatus::Failed);
/// ```
pub fn download_status(status: &str) -> DownloadStatus {
    let s = status.trim().to_lowercase();
    let percent = s
        .strip_suffix("% downloaded")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    const IN_PROGRESS: &[&str] = &[
        "",
        "processing",
        "installing template",
        "installing iso",
        "active",
        "inactive",
        "notuploaded",
        "uploadinprogress",
        "uploaded",
        "not downloaded",
        "not_downloaded",
        "download_in_progress",
        "allocated",
        "creating",
        "created",
        "copying",
        "migrating",
    ];
    const COMPLETE: &[&str] = &[
        "download complete",
        "successfully installed",
        "bypassed secondary storage",
        "downloaded",
        "ready",
    ];
    if percent || IN_PROGRESS.contains(&s.as_str()) {
        return DownloadStatus::InProgress;
    }
    if COMPLETE.contains(&s.as_str()) {
        return DownloadStatus::Complete;
    }
    if s.starts_with("download success") || s.starts_with("install completed successfully") {
        return DownloadStatus::InProgress;
    }
    const FAILED: &[&str] = &[
        "fail",
        "error",
        "abandon",
        "didn't match",
        "does not match",
        "mismatch",
        "not recognised",
        "not recognized",
        "unable to",
        "cannot",
        "can't",
        "couldn't",
        "invalid",
        "not found",
        "refused",
        "denied",
        "timed out",
        "timeout",
        "unreachable",
        "exceed",
        "not supported",
        "unsupported",
        "corrupt",
    ];
    if FAILED.iter().any(|w| s.contains(w)) {
        return DownloadStatus::Failed;
    }
    DownloadStatus::Unknown
}

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

/// The algorithms CloudStack's `DigestHelper` accepts in `{ALGORITHM}hex`, with their hex length.
const CHECKSUM_ALGORITHMS: &[(&str, usize)] = &[
    ("MD5", 32),
    ("SHA-1", 40),
    ("SHA-224", 56),
    ("SHA-256", 64),
    ("SHA-384", 96),
    ("SHA-512", 128),
];

/// The CPU architectures `registerTemplate` takes in `arch` (CloudStack 4.20's `CPU.CPUArch`).
pub const ARCHITECTURES: &[&str] = &["x86_64", "aarch64"];

/// A `registerTemplate` request with the 4.20-era parameters typed.
///
/// # Examples
/// ```
/// use cloudstack_client::template::{RegisterTemplate, Zones};
/// let req = RegisterTemplate::new("web", "OVA", "VMware", "os-1", "https://h/web.ova", Zones::All)
///     .with_sha256("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
///     .with_arch("x86_64")
///     .with_deploy_as_is(true);
/// let p = req.params().unwrap();
/// assert_eq!(p.get("zoneids"), Some("-1"));
/// assert_eq!(p.get("checksum"), Some("{SHA-256}9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RegisterTemplate {
    /// `name`.
    pub name: String,
    /// `displaytext` (defaults to the name).
    pub displaytext: String,
    /// `format`: `OVA`, `QCOW2`, `VHD`, …
    pub format: String,
    /// `hypervisor`: `VMware`, `KVM`, `XenServer`, …
    pub hypervisor: String,
    /// `ostypeid`.
    pub ostypeid: String,
    /// `url` the storage VM downloads.
    pub url: String,
    /// `zoneid` (one zone), `zoneids` (several) or `zoneids=-1` (all zones).
    pub zones: Zones,
    /// `checksum`, `{ALGORITHM}hex` (the server verifies the download against it).
    pub checksum: Option<String>,
    /// `arch` (4.20+): `x86_64` or `aarch64`.
    pub arch: Option<String>,
    /// `directdownload` (KVM): the hosts fetch the URL at deploy time.
    pub directdownload: Option<bool>,
    /// `deployasis` (VMware, 4.15+): deploy with the OVF's own settings.
    pub deployasis: Option<bool>,
    /// Any other parameters (`isextractable`, `ispublic`, `passwordenabled`, …).
    pub extra: Params,
}

impl RegisterTemplate {
    /// The required parameters; `displaytext` is the name.
    pub fn new(
        name: impl Into<String>,
        format: impl Into<String>,
        hypervisor: impl Into<String>,
        ostypeid: impl Into<String>,
        url: impl Into<String>,
        zones: Zones,
    ) -> Self {
        let name = name.into();
        Self {
            displaytext: name.clone(),
            name,
            format: format.into(),
            hypervisor: hypervisor.into(),
            ostypeid: ostypeid.into(),
            url: url.into(),
            zones,
            checksum: None,
            arch: None,
            directdownload: None,
            deployasis: None,
            extra: Params::new(),
        }
    }

    /// `checksum={SHA-256}<hex>` from a SHA-256 digest in hex.
    pub fn with_sha256(mut self, hex: impl AsRef<str>) -> Self {
        self.checksum = Some(format!("{{SHA-256}}{}", hex.as_ref().to_ascii_lowercase()));
        self
    }

    /// `arch`.
    pub fn with_arch(mut self, arch: impl Into<String>) -> Self {
        self.arch = Some(arch.into());
        self
    }

    /// `directdownload`.
    pub fn with_direct_download(mut self, on: bool) -> Self {
        self.directdownload = Some(on);
        self
    }

    /// `deployasis`.
    pub fn with_deploy_as_is(mut self, on: bool) -> Self {
        self.deployasis = Some(on);
        self
    }

    /// `displaytext`.
    pub fn with_displaytext(mut self, text: impl Into<String>) -> Self {
        self.displaytext = text.into();
        self
    }

    /// Another parameter.
    pub fn with_param(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.extra.insert(key, value);
        self
    }

    /// The request's parameters, checked.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty required value, no zone, a checksum that is not
    /// `{ALGORITHM}hex` with a known algorithm and the right length, an unknown `arch`, or an
    /// `extra` parameter that repeats a typed one.
    pub fn params(&self) -> Result<Params> {
        let bad = |reason: String| Error::InvalidRequest {
            command: "registerTemplate".into(),
            reason,
        };
        let mut p = Params::new();
        for (k, v) in [
            ("name", &self.name),
            ("displaytext", &self.displaytext),
            ("format", &self.format),
            ("hypervisor", &self.hypervisor),
            ("ostypeid", &self.ostypeid),
            ("url", &self.url),
        ] {
            if v.trim().is_empty() {
                return Err(bad(format!("{k} is empty")));
            }
            p.insert(k, v.as_str());
        }
        match &self.zones {
            Zones::All => p.insert("zoneids", "-1"),
            Zones::These(z) if z.is_empty() || z.iter().any(|z| z.trim().is_empty()) => {
                return Err(bad(
                    "no zone: name a zone id, or Zones::All for every zone".into()
                ));
            }
            Zones::These(z) if z.len() == 1 => p.insert("zoneid", z[0].as_str()),
            Zones::These(z) => p.insert("zoneids", z.join(",")),
        }
        if let Some(c) = &self.checksum {
            check_checksum(c).map_err(bad)?;
            p.insert("checksum", c.as_str());
        }
        if let Some(a) = &self.arch {
            if !ARCHITECTURES.contains(&a.as_str()) {
                return Err(bad(format!(
                    "arch {a:?} is not one of {}",
                    ARCHITECTURES.join(", ")
                )));
            }
            p.insert("arch", a.as_str());
        }
        for (k, v) in [
            ("directdownload", self.directdownload),
            ("deployasis", self.deployasis),
        ] {
            if let Some(v) = v {
                p.insert(k, if v { "true" } else { "false" });
            }
        }
        for (k, v) in self.extra.iter() {
            if p.get(k).is_some() || (k == "zoneid" || k == "zoneids") {
                return Err(bad(format!(
                    "parameter {k} is set by a typed field; set it there"
                )));
            }
            p.insert(k, v);
        }
        Ok(p)
    }
}

/// Checks `{ALGORITHM}hex`.
fn check_checksum(c: &str) -> std::result::Result<(), String> {
    let Some((alg, hex)) = c.strip_prefix('{').and_then(|r| r.split_once('}')) else {
        return Err(format!(
            "checksum {c:?} must be {{ALGORITHM}}hex, e.g. {{SHA-256}}<64 hex digits>"
        ));
    };
    let Some(&(_, len)) = CHECKSUM_ALGORITHMS
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(alg))
    else {
        let known: Vec<&str> = CHECKSUM_ALGORITHMS.iter().map(|(a, _)| *a).collect();
        return Err(format!(
            "checksum algorithm {alg:?} is not one of {}",
            known.join(", ")
        ));
    };
    if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "a {alg} checksum is {len} hex digits, got {:?}",
            hex
        ));
    }
    Ok(())
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

    #[test]
    fn status_table() {
        for s in [
            "Processing",
            "7% Downloaded",
            "100% Downloaded",
            "Installing Template",
            "",
            "NotUploaded",
            "Active",
        ] {
            assert_eq!(download_status(s), DownloadStatus::InProgress, "{s}");
        }
        for s in [
            "Download Complete",
            "Successfully Installed",
            "Bypassed Secondary Storage",
        ] {
            assert_eq!(download_status(s), DownloadStatus::Complete, "{s}");
        }
        assert_eq!(download_status("x% Downloaded"), DownloadStatus::Unknown);
        assert_eq!(
            download_status("Migrating to another store soon"),
            DownloadStatus::Unknown
        );
    }

    #[test]
    fn register_parameters() {
        let base = || {
            RegisterTemplate::new(
                "n",
                "OVA",
                "VMware",
                "os",
                "http://h/x.ova",
                Zones::one("z1"),
            )
        };
        let p = base().params().unwrap();
        assert_eq!(p.get("zoneid"), Some("z1"));
        assert_eq!(p.get("displaytext"), Some("n"));
        assert!(p.get("zoneids").is_none() && p.get("checksum").is_none());
        let p = RegisterTemplate {
            zones: Zones::These(vec!["a".into(), "b".into()]),
            ..base()
        }
        .with_direct_download(false)
        .with_param("isextractable", "true")
        .params()
        .unwrap();
        assert_eq!(p.get("zoneids"), Some("a,b"));
        assert_eq!(p.get("directdownload"), Some("false"));
        assert_eq!(p.get("isextractable"), Some("true"));
        let hex = "AB".repeat(32);
        let p = base().with_sha256(&hex).params().unwrap();
        assert_eq!(
            p.get("checksum").unwrap(),
            format!("{{SHA-256}}{}", "ab".repeat(32))
        );
        for bad in [
            base().with_sha256("abc"),
            RegisterTemplate {
                checksum: Some("ab".repeat(32)),
                ..base()
            },
            RegisterTemplate {
                checksum: Some(format!("{{SHA-3}}{}", "ab".repeat(32))),
                ..base()
            },
            base().with_arch("ppc64"),
            RegisterTemplate {
                zones: Zones::These(vec![]),
                ..base()
            },
            RegisterTemplate {
                url: " ".into(),
                ..base()
            },
            base().with_param("zoneids", "-1"),
            base().with_param("name", "again"),
        ] {
            assert!(
                matches!(bad.params(), Err(Error::InvalidRequest { .. })),
                "{bad:?}"
            );
        }
        let md5 = RegisterTemplate {
            checksum: Some(format!("{{MD5}}{}", "0f".repeat(16))),
            ..base()
        };
        assert!(md5.params().is_ok());
    }
}
