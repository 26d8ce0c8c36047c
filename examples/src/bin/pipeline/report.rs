//! What the operator sees: one line per step with its time, a final summary, or `--json`.

use std::io::Write;
use std::sync::OnceLock;

use examples::progress::Display;
use serde::Serialize;

use crate::error::PipelineError;
use crate::plan::Step;
use crate::state::{Check, State};

/// How a step ended in this run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub(crate) enum Outcome {
    /// Completed in this run.
    Done {
        /// Wall time.
        seconds: f64,
        /// What it produced, one line each.
        details: Vec<String>,
    },
    /// Completed by an earlier run; not repeated.
    Skipped {
        /// Wall time of the earlier run.
        seconds: f64,
    },
    /// Failed in this run.
    Failed {
        /// Wall time until the failure.
        seconds: f64,
        /// The error and its causes.
        error: String,
        /// What to do about it.
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
    },
    /// Not reached because an earlier step failed.
    NotRun,
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StepRow {
    /// The step.
    pub(crate) step: Step,
    /// How it ended.
    #[serde(flatten)]
    pub(crate) outcome: Outcome,
}

/// The whole run's report.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// Whether every step and every check passed.
    pub(crate) ok: bool,
    /// The process exit code.
    pub(crate) exit_code: i32,
    /// The state file.
    pub(crate) state_file: String,
    /// Steps in order.
    pub(crate) steps: Vec<StepRow>,
    /// Steps whose configuration changed since they ran, so they ran again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) stale: Vec<Step>,
    /// All checks made by this run and recorded by earlier ones.
    pub(crate) checks: Vec<Check>,
    /// Every recorded output.
    pub(crate) outputs: State,
    /// Total wall time of this run.
    pub(crate) seconds: f64,
}

/// The progress display of this process, chosen once by `main` from `--quiet`.
static DISPLAY: OnceLock<Display> = OnceLock::new();

/// Chooses the progress display: bars and spinners on standard error when it is a terminal,
/// unless `quiet`. Only the first call counts.
pub(crate) fn set_display(quiet: bool) {
    let _ = DISPLAY.set(Display::new(!quiet));
}

/// Prints `text` on standard error above any bar being drawn (a message outside the report, such
/// as what Ctrl-C does).
pub(crate) fn note(text: &str) {
    let display = *DISPLAY.get_or_init(Display::hidden);
    display.suspend(|| eprintln!("{text}"));
}

/// Prints progress as it happens: to stdout normally, to stderr with `--json` (stdout then holds
/// only the JSON document). Byte bars and wait spinners go to stderr, on a terminal only (see
/// [`examples::progress`]), so neither the report lines nor the JSON document ever hold them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    /// `--json` given.
    pub(crate) json: bool,
}

impl Printer {
    /// The progress display: bars for the steps that move bytes, spinners for those that wait.
    pub(crate) fn progress(&self) -> Display {
        *DISPLAY.get_or_init(Display::hidden)
    }

    /// Print one progress line (above any bar being drawn).
    pub(crate) fn line(&self, text: &str) {
        self.progress().suspend(|| {
            if self.json {
                eprintln!("{text}");
            } else {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        });
    }

    /// A step starts.
    pub(crate) fn start(&self, step: Step, n: usize, total: usize) {
        self.line(&format!("[{n}/{total}] {step} ..."));
    }

    /// Print a finished row.
    pub(crate) fn row(&self, row: &StepRow) {
        match &row.outcome {
            Outcome::Done { seconds, details } => {
                self.line(&format!("  {:<9} ok      {:>8}", row.step, secs(*seconds)));
                for d in details {
                    self.line(&format!("            {d}"));
                }
            }
            Outcome::Skipped { seconds } => self.line(&format!(
                "  {:<9} skipped (done by an earlier run in {})",
                row.step,
                secs(*seconds)
            )),
            Outcome::Failed {
                seconds,
                error,
                hint,
            } => {
                self.line(&format!(
                    "  {:<9} FAILED  {:>8}\n  error: {error}",
                    row.step,
                    secs(*seconds)
                ));
                if let Some(h) = hint {
                    self.line(&format!("  hint:  {h}"));
                }
            }
            Outcome::NotRun => self.line(&format!("  {:<9} not run", row.step)),
        }
    }

    /// Print the summary (text) or the JSON document.
    pub(crate) fn finish(&self, report: &Report) {
        if self.json {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer_pretty(&mut out, report);
            let _ = writeln!(out);
            return;
        }
        self.line("");
        self.line("summary");
        for row in &report.steps {
            let (status, t) = match &row.outcome {
                Outcome::Done { seconds, .. } => ("ok", secs(*seconds)),
                Outcome::Skipped { seconds } => ("ok (earlier run)", secs(*seconds)),
                Outcome::Failed { seconds, .. } => ("FAILED", secs(*seconds)),
                Outcome::NotRun => ("not run", String::new()),
            };
            self.line(&format!("  {:<9} {:<17} {:>8}", row.step, status, t));
        }
        let s = &report.outputs;
        if let Some(d) = &s.prepare {
            let label = format!("{}:", d.output.format.api_name().to_lowercase());
            self.line(&format!(
                "  {label:<12} {} ({} bytes, sha256 {})",
                d.output.ova, d.output.size, d.output.sha256
            ));
        }
        if let Some(d) = &s.publish {
            self.line(&format!("  object url:  {}", d.output.url));
        }
        if let Some(d) = &s.register {
            self.line(&format!(
                "  template:    {} ({})",
                d.output.template_id, d.output.template_name
            ));
        }
        if let Some(d) = &s.deploy {
            self.line(&format!(
                "  vm:          {} {} ip {}",
                d.output.vm_id,
                d.output.vm_name,
                d.output.ip.as_deref().unwrap_or("-")
            ));
        }
        if let Some(d) = &s.export {
            self.line(&format!("  export url:  {}", d.output.url));
        }
        if let Some(d) = &s.transfer {
            let checked = match d.output.virtual_size {
                Some(v) => format!(
                    "{} structure checked, virtual size {v} bytes",
                    d.output.format
                ),
                None => format!("{} manifest entries verified", d.output.verified_entries),
            };
            self.line(&format!(
                "  transferred: s3://{}/{} ({} bytes, sha256 {}, {checked})",
                d.output.bucket, d.output.key, d.output.size, d.output.sha256
            ));
        }
        let passed = report.checks.iter().filter(|c| c.passed).count();
        self.line(&format!(
            "  checks:      {passed}/{} passed",
            report.checks.len()
        ));
        for c in report.checks.iter().filter(|c| !c.passed) {
            self.line(&format!("    FAILED {}: {}", c.name, c.detail));
        }
        self.line(&format!(
            "  result:      {} in {} (state: {})",
            if report.ok { "ok" } else { "FAILED" },
            secs(report.seconds),
            report.state_file
        ));
    }
}

/// Build the failed row for an error.
pub(crate) fn failed_row(step: Step, seconds: f64, err: &PipelineError) -> StepRow {
    StepRow {
        step,
        outcome: Outcome::Failed {
            seconds,
            error: err.chain(),
            hint: err.hint().map(|(_, advice)| advice),
        },
    }
}

/// `1.234 s` / `12 ms`.
pub(crate) fn secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_format() {
        assert_eq!(secs(0.0123), "12 ms");
        assert_eq!(secs(2.5), "2.50 s");
    }

    #[test]
    fn rows_serialize_with_status_tags() {
        let row = StepRow {
            step: Step::Deploy,
            outcome: Outcome::Skipped { seconds: 1.0 },
        };
        let v = serde_json::to_value(&row).unwrap();
        assert_eq!(v["step"], "deploy");
        assert_eq!(v["status"], "skipped");
        let row = StepRow {
            step: Step::Verify,
            outcome: Outcome::NotRun,
        };
        assert_eq!(serde_json::to_value(&row).unwrap()["status"], "not-run");
    }
}
