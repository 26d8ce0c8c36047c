//! One progress display for every tool: a byte bar (bytes done, rate, time left) for work that
//! moves bytes, a spinner with a status text for waits (a CloudStack job, a template download).
//!
//! The display draws on standard error, and only when standard error is a terminal: on a pipe or
//! a file nothing is drawn, so logs and `--json` output never carry progress bytes. A tool turns
//! it off entirely with `--quiet` by asking for a [`Display::new(false)`](Display::new).
//!
//! Bars live in one process-wide area, so several can run at once (an upload beside the check of
//! what it uploads) and a tool prints its own lines above them with [`Display::suspend`].
//!
//! ```
//! use examples::progress::Display;
//! let display = Display::new(true); // hidden unless stderr is a terminal
//! let bar = display.bytes("copying", Some(4096));
//! bar.inc(1024);
//! bar.inc(3072);
//! display.suspend(|| eprintln!("copied"));
//! bar.finish();
//! ```

pub mod format;

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// The drawing area all bars of the process share.
static AREA: LazyLock<MultiProgress> =
    LazyLock::new(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));

/// How often a spinner turns on its own (waits have no bytes to move it).
const SPIN: Duration = Duration::from_millis(120);

/// Whether progress is drawn. Cheap to copy; every tool makes one from its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Display {
    shown: bool,
}

impl Display {
    /// The display a tool asked for: drawn when `wanted` (no `--quiet`, and for tools whose
    /// `--json` shares standard error, no `--json`) and standard error is a terminal.
    pub fn new(wanted: bool) -> Self {
        Self {
            shown: wanted && std::io::stderr().is_terminal(),
        }
    }

    /// A display that draws nothing.
    pub fn hidden() -> Self {
        Self { shown: false }
    }

    /// Whether anything is drawn.
    pub fn is_shown(&self) -> bool {
        self.shown
    }

    /// A byte bar labelled `what`: bytes done and, with a `total`, a bar, the rate and the time
    /// left; without one, bytes and rate.
    pub fn bytes(&self, what: &str, total: Option<u64>) -> Bar {
        if !self.shown {
            return Bar::hidden();
        }
        let pb = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
        pb.set_style(byte_style(total.is_some()));
        pb.set_prefix(what.to_owned());
        Bar::shown(AREA.add(pb))
    }

    /// A spinner labelled `what` with a status text, turning on its own until finished.
    pub fn spinner(&self, what: &str, status: &str) -> Bar {
        if !self.shown {
            return Bar::hidden();
        }
        let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        pb.set_style(spinner_style());
        pb.set_prefix(what.to_owned());
        pb.set_message(status.to_owned());
        let pb = AREA.add(pb);
        pb.enable_steady_tick(SPIN);
        Bar::shown(pb)
    }

    /// Runs `f` (which prints lines of its own) with the bars cleared, and draws them again
    /// below what it printed.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        if self.shown { AREA.suspend(f) } else { f() }
    }
}

/// Runs `f` (which prints a line of its own) with any bars of this process cleared, and draws
/// them again below what it printed.
pub fn above_bars<R>(f: impl FnOnce() -> R) -> R {
    AREA.suspend(f)
}

/// `{stats}`: the byte figures of [`format::stats`].
fn stats_key(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = w.write_str(&format::stats(state.pos(), state.len(), state.per_sec()));
}

/// `{age}`: time since the bar started.
fn age_key(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    let _ = w.write_str(&format::duration(state.elapsed()));
}

fn byte_style(with_total: bool) -> ProgressStyle {
    let template = if with_total {
        "{prefix} [{wide_bar}] {stats} {msg}"
    } else {
        "{spinner} {prefix} {stats} {msg}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
        .with_key("stats", stats_key)
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix}: {msg} ({age})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key("age", age_key)
}

/// One bar or spinner. Clones share it; it is cleared from the terminal when the last clone is
/// dropped or [`finish`](Bar::finish)ed. Every method does nothing on a hidden bar.
#[derive(Clone, Debug)]
pub struct Bar {
    inner: Option<Arc<Shown>>,
}

/// A drawn bar; clearing it on drop keeps an early return (an error) from leaving it behind.
#[derive(Debug)]
struct Shown(ProgressBar);

impl Drop for Shown {
    fn drop(&mut self) {
        self.0.finish_and_clear();
        AREA.remove(&self.0);
    }
}

impl Bar {
    /// A bar that draws nothing.
    pub fn hidden() -> Self {
        Self { inner: None }
    }

    fn shown(pb: ProgressBar) -> Self {
        Self {
            inner: Some(Arc::new(Shown(pb))),
        }
    }

    fn pb(&self) -> Option<&ProgressBar> {
        self.inner.as_deref().map(|s| &s.0)
    }

    /// `n` more bytes done.
    pub fn inc(&self, n: u64) {
        if let Some(pb) = self.pb() {
            pb.inc(n);
        }
    }

    /// `n` more bytes done, for a bar whose total grows with what it has seen (the total is
    /// raised by `n` too, so the bar reads as "so far").
    pub fn inc_growing(&self, n: u64) {
        if let Some(pb) = self.pb() {
            pb.inc_length(n);
            pb.inc(n);
        }
    }

    /// Bytes done so far.
    pub fn set_position(&self, done: u64) {
        if let Some(pb) = self.pb() {
            pb.set_position(done);
        }
    }

    /// The total, once it is known (the bar then shows the time left).
    pub fn set_total(&self, total: u64) {
        if let Some(pb) = self.pb()
            && pb.length() != Some(total)
        {
            if pb.length().is_none() {
                pb.set_style(byte_style(true));
            }
            pb.set_length(total);
        }
    }

    /// Starts a new phase on the same line: label `what`, count from zero, `total` bytes.
    pub fn restart(&self, what: &str, total: Option<u64>) {
        if let Some(pb) = self.pb() {
            pb.reset();
            match total {
                Some(t) => pb.set_length(t),
                None => pb.unset_length(),
            }
            pb.set_prefix(what.to_owned());
            pb.set_style(byte_style(total.is_some()));
        }
    }

    /// The status text of a spinner (or the note after a byte bar's figures).
    pub fn set_status(&self, status: &str) {
        if let Some(pb) = self.pb() {
            pb.set_message(status.to_owned());
        }
    }

    /// Clears the bar now (the clones left draw nothing more).
    pub fn finish(self) {
        if let Some(pb) = self.pb() {
            pb.finish_and_clear();
        }
    }

    /// A progress callback for an s3-stream copy: bytes uploaded and parts done (the bar's total is
    /// the source's length, when the caller knows it); `None` for a hidden bar, so the copy skips
    /// the calls.
    pub fn upload_progress(&self) -> Option<s3_stream::ProgressFn> {
        self.pb()?;
        let bar = self.clone();
        Some(Arc::new(move |p: &s3_stream::Progress| {
            bar.set_position(p.bytes_uploaded);
            bar.set_status(&parts_text(p.parts_done, p.parts_total));
            ControlFlow::Continue(())
        }))
    }

    /// A CloudStack job-wait callback: the spinner's status becomes the job's.
    pub fn job_status(
        &self,
    ) -> impl FnMut(&cloudstack_client::job::JobProgress) -> ControlFlow<()> + Send + use<> {
        let bar = self.clone();
        move |p| {
            bar.set_status(&job_text(p));
            ControlFlow::Continue(())
        }
    }

    /// A CloudStack template-wait callback: the spinner's status becomes the zones' status texts.
    pub fn template_status(
        &self,
    ) -> impl FnMut(&cloudstack_client::template::TemplateProgress) -> ControlFlow<()> + Send + use<>
    {
        let bar = self.clone();
        move |p| {
            bar.set_status(&template_text(p));
            ControlFlow::Continue(())
        }
    }
}

/// `parts 3/10` (or `parts 3` while the count is not known).
pub fn parts_text(done: u32, total: Option<u32>) -> String {
    match total {
        Some(t) => format!("parts {done}/{t}"),
        None => format!("parts {done}"),
    }
}

/// `deployVirtualMachine job 1f… pending (poll 4)`.
pub fn job_text(p: &cloudstack_client::job::JobProgress) -> String {
    let mut text = format!("{} job {} pending", p.command, p.job_id);
    if let Some(s) = p.jobprocstatus.filter(|s| *s != 0) {
        text.push_str(&format!(", step {s}"));
    }
    text.push_str(&format!(" (poll {})", p.polls));
    text
}

/// `template 9a…: 42% Downloaded` (one status per zone, joined).
pub fn template_text(p: &cloudstack_client::template::TemplateProgress) -> String {
    let zones: Vec<String> = p
        .zones
        .iter()
        .map(|z| {
            let status = z.status.as_deref().unwrap_or("no status yet");
            match &z.zone_name {
                Some(name) if p.zones.len() > 1 => format!("{name} {status}"),
                _ => status.to_owned(),
            }
        })
        .collect();
    let status = if zones.is_empty() {
        "not listed yet".to_owned()
    } else {
        zones.join("; ")
    };
    format!("template {}: {status}", p.template_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_display_draws_nothing_and_costs_nothing() {
        let d = Display::hidden();
        assert!(!d.is_shown());
        let bar = d.bytes("copying", Some(10));
        assert!(bar.upload_progress().is_none());
        bar.inc(5);
        bar.set_status("x");
        assert_eq!(d.suspend(|| 7), 7);
        bar.finish();
    }

    #[test]
    fn part_counts() {
        assert_eq!(parts_text(3, Some(10)), "parts 3/10");
        assert_eq!(parts_text(3, None), "parts 3");
    }

    #[test]
    fn wait_texts() {
        let job = cloudstack_client::job::JobProgress {
            job_id: "j-1".into(),
            command: "deployVirtualMachine".into(),
            polls: 4,
            elapsed: Duration::from_secs(3),
            jobprocstatus: Some(2),
            instance_id: None,
        };
        assert_eq!(
            job_text(&job),
            "deployVirtualMachine job j-1 pending, step 2 (poll 4)"
        );
        let zone = |name: &str, status: Option<&str>| cloudstack_client::template::ZoneStatus {
            zone_id: None,
            zone_name: Some(name.into()),
            status: status.map(str::to_owned),
            ready: false,
        };
        let mut t = cloudstack_client::template::TemplateProgress {
            template_id: "t-1".into(),
            polls: 2,
            elapsed: Duration::from_secs(1),
            zones: vec![zone("z1", Some("42% Downloaded"))],
        };
        assert_eq!(template_text(&t), "template t-1: 42% Downloaded");
        t.zones.push(zone("z2", None));
        assert_eq!(
            template_text(&t),
            "template t-1: z1 42% Downloaded; z2 no status yet"
        );
        t.zones.clear();
        assert_eq!(template_text(&t), "template t-1: not listed yet");
    }
}
