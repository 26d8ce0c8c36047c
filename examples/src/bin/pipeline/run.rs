//! The thin shell that carries out a plan: run each step, record its output, save the state after
//! every step, and build the report.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::error::PipelineError;
use crate::plan::{self, Overrides, Request};
use crate::report::{self, Outcome, Printer, Report, StepRow};
use crate::state::{self, Check, State};
use crate::steps::{self, Ctx};

/// Run the plan for `request` and print progress; returns the report (already printed).
pub(crate) async fn run(
    cfg: &Config,
    request: Request,
    overrides: &Overrides,
    restart: bool,
    printer: Printer,
) -> Report {
    let started = Instant::now();
    let path = cfg.state_file();
    let mut report = Report {
        ok: false,
        exit_code: 2,
        state_file: path.display().to_string(),
        steps: Vec::new(),
        stale: Vec::new(),
        checks: Vec::new(),
        outputs: State::new(),
        seconds: 0.0,
    };
    let fail_early = |mut report: Report, e: PipelineError| {
        printer.line(&format!("error: {}", e.chain()));
        if let Some((_, advice)) = e.hint() {
            printer.line(&format!("hint:  {advice}"));
        }
        report.exit_code = e.exit_code();
        report.seconds = started.elapsed().as_secs_f64();
        printer.finish(&report);
        report
    };

    let mut st = if restart {
        State::new()
    } else {
        match state::load(&path) {
            Ok(st) => st,
            Err(e) => return fail_early(report, e.into()),
        }
    };
    let fps = cfg.fingerprints();
    let plan = match plan::plan(&st, request, &fps) {
        Ok(p) => p,
        Err(e) => return fail_early(report, e.into()),
    };
    if let Err(e) = plan::check(&plan, &st, overrides) {
        report.outputs = st;
        return fail_early(report, e.into());
    }
    for step in &plan.stale {
        printer.line(&format!(
            "note: the settings `{step}` uses changed since it ran: running it (and what depends on it) again"
        ));
    }
    for step in &plan.clear {
        st.clear(*step);
    }
    report.stale = plan.stale.clone();

    let mut rows: Vec<StepRow> = Vec::new();
    for step in &plan.skip {
        let row = StepRow {
            step: *step,
            outcome: Outcome::Skipped {
                seconds: st.seconds(*step).unwrap_or_default(),
            },
        };
        printer.row(&row);
        rows.push(row);
    }

    let mut ctx = Ctx::new(cfg, printer);
    let total = plan.run.len();
    let mut failure: Option<PipelineError> = None;
    for (i, step) in plan.run.iter().copied().enumerate() {
        if failure.is_some() {
            rows.push(StepRow {
                step,
                outcome: Outcome::NotRun,
            });
            continue;
        }
        printer.start(step, i + 1, total);
        let t0 = Instant::now();
        let result = match plan::inputs(step, &st, overrides) {
            Ok(inputs) => steps::run(&mut ctx, inputs, &st).await,
            Err(e) => Err(e.into()),
        };
        let seconds = t0.elapsed().as_secs_f64();
        let row = match result {
            Ok(out) => {
                let details = out.details();
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default();
                out.record(&mut st, now, seconds, fps.get(step).to_owned());
                if let Err(e) = state::save(&path, &st) {
                    // A failure outside the step itself: say so now, the row shows the step ok.
                    let e = PipelineError::from(e);
                    printer.line(&format!("error: {}", e.chain()));
                    failure = Some(e);
                }
                StepRow {
                    step,
                    outcome: Outcome::Done { seconds, details },
                }
            }
            Err(e) => {
                let row = report::failed_row(step, seconds, &e);
                failure = Some(e);
                row
            }
        };
        printer.row(&row);
        rows.push(row);
    }
    // Rows in run order, whatever was skipped or run.
    rows.sort_by_key(|r| r.step);

    let mut checks: Vec<Check> = ctx.checks;
    if let Some(v) = &st.verify
        && !plan.run.contains(&plan::Step::Verify)
    {
        checks.extend(v.output.checks.iter().cloned());
    }
    let all_passed = checks.iter().all(|c| c.passed);
    report.exit_code = match &failure {
        Some(e) => e.exit_code(),
        None if !all_passed => 1,
        None => 0,
    };
    report.ok = report.exit_code == 0;
    report.steps = rows;
    report.checks = checks;
    report.outputs = st;
    report.seconds = started.elapsed().as_secs_f64();
    printer.finish(&report);
    report
}
