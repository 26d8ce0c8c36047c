//! Step ordering and resume logic, with no IO.
//!
//! Given the saved [`State`] and what the user asked for, [`plan`] says which steps run, which are
//! skipped because an earlier run completed them, and which outputs must be forgotten first.
//! [`inputs`] resolves what one step needs from earlier steps (or from command-line overrides), so
//! any step can run alone once its inputs exist.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::state::State;

/// The pipeline's steps, in the order a full run takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Step {
    /// Build or repack the OVA, then validate it.
    Prepare,
    /// Upload the OVA to object storage.
    Publish,
    /// Register the object URL as a CloudStack template and wait until it is ready.
    Register,
    /// Deploy a VM from the template.
    Deploy,
    /// Extract the template (HTTP download URL).
    Export,
    /// Stream the export into object storage, verifying the manifest on the fly.
    Transfer,
    /// Final HEAD/GET checks.
    Verify,
}

impl Step {
    /// Every step, in run order.
    pub(crate) const ALL: [Step; 7] = [
        Step::Prepare,
        Step::Publish,
        Step::Register,
        Step::Deploy,
        Step::Export,
        Step::Transfer,
        Step::Verify,
    ];

    /// The step's command-line name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::Prepare => "prepare",
            Step::Publish => "publish",
            Step::Register => "register",
            Step::Deploy => "deploy",
            Step::Export => "export",
            Step::Transfer => "transfer",
            Step::Verify => "verify",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The steps whose outputs this step consumes.
    pub(crate) fn depends_on(self) -> &'static [Step] {
        match self {
            Step::Prepare => &[],
            Step::Publish => &[Step::Prepare],
            Step::Register => &[Step::Publish],
            Step::Deploy | Step::Export => &[Step::Register],
            Step::Transfer => &[Step::Export],
            Step::Verify => &[
                Step::Prepare,
                Step::Publish,
                Step::Register,
                Step::Deploy,
                Step::Export,
                Step::Transfer,
            ],
        }
    }

    /// `self` and every step that consumes its output, directly or not, in run order.
    pub(crate) fn with_dependents(self) -> Vec<Step> {
        let mut out = vec![self];
        for step in Step::ALL {
            if step > self && step.depends_on().iter().any(|d| out.contains(d)) {
                out.push(step);
            }
        }
        out
    }
}

/// For each step, a fingerprint of the configuration it uses, indexed by step.
///
/// A completed step whose recorded fingerprint differs from the current one is stale: it and its
/// dependents run again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Fingerprints(pub(crate) [String; 7]);

impl Fingerprints {
    /// The fingerprint of `step`.
    pub(crate) fn get(&self, step: Step) -> &str {
        &self.0[step.index()]
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// An unknown step name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown step `{0}` (expected one of prepare, publish, register, deploy, export, transfer, verify)"
)]
pub(crate) struct UnknownStep(String);

impl FromStr for Step {
    type Err = UnknownStep;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Step::ALL
            .into_iter()
            .find(|step| step.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownStep(s.to_owned()))
    }
}

/// What the user asked to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Request {
    /// Redo from this step on: its output and every later one is forgotten first.
    pub(crate) from: Option<Step>,
    /// Stop after this step.
    pub(crate) to: Option<Step>,
    /// Run only this step (even if done); other outputs are kept.
    pub(crate) only: Option<Step>,
}

/// What a run will do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    /// Completed steps whose configuration changed since they ran.
    pub(crate) stale: Vec<Step>,
    /// Outputs to forget before running.
    pub(crate) clear: Vec<Step>,
    /// Steps already completed by an earlier run, reported and not repeated.
    pub(crate) skip: Vec<Step>,
    /// Steps to run, in order.
    pub(crate) run: Vec<Step>,
}

/// A contradictory request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PlanError {
    /// `--only` with `--from`/`--to`.
    #[error("--only cannot be combined with --from or --to")]
    OnlyWithRange,
    /// `--from` after `--to`.
    #[error("--from {from} comes after --to {to}")]
    EmptyRange {
        /// The first step asked for.
        from: Step,
        /// The last step asked for.
        to: Step,
    },
}

/// Decide which steps run.
///
/// # Errors
///
/// [`PlanError`] when the request contradicts itself.
pub(crate) fn plan(
    state: &State,
    request: Request,
    fingerprints: &Fingerprints,
) -> Result<Plan, PlanError> {
    if let Some(only) = request.only {
        if request.from.is_some() || request.to.is_some() {
            return Err(PlanError::OnlyWithRange);
        }
        return Ok(Plan {
            stale: vec![],
            clear: if state.is_done(only) {
                vec![only]
            } else {
                vec![]
            },
            skip: vec![],
            run: vec![only],
        });
    }
    let first = request.from.unwrap_or(Step::Prepare);
    let last = request.to.unwrap_or(Step::Verify);
    if first > last {
        return Err(PlanError::EmptyRange {
            from: first,
            to: last,
        });
    }
    let mut out = Plan::default();
    let mut forget = Vec::new();
    for step in Step::ALL {
        if state
            .fingerprint(step)
            .is_some_and(|fp| fp != fingerprints.get(step))
        {
            out.stale.push(step);
            forget.extend(step.with_dependents());
        }
    }
    if let Some(from) = request.from {
        forget.extend_from_slice(&Step::ALL[from.index()..]);
    }
    out.clear = Step::ALL
        .into_iter()
        .filter(|s| state.is_done(*s) && forget.contains(s))
        .collect();
    for step in &Step::ALL[..=last.index()] {
        let forgotten = out.clear.contains(step);
        if state.is_done(*step) && !forgotten {
            out.skip.push(*step);
        } else if *step >= first {
            out.run.push(*step);
        }
    }
    Ok(out)
}

/// Values given on the command line in place of earlier steps' outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Overrides {
    /// `--ova`: publish this file instead of `prepare`'s output.
    pub(crate) ova: Option<String>,
    /// `--object-url`: register this URL instead of `publish`'s.
    pub(crate) object_url: Option<String>,
    /// `--template-id`: deploy/export this template instead of `register`'s.
    pub(crate) template_id: Option<String>,
    /// `--export-url`: transfer from this URL instead of `export`'s.
    pub(crate) export_url: Option<String>,
}

/// The resolved inputs of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inputs {
    /// `prepare` reads only the configuration.
    Prepare,
    /// `publish` uploads this OVA.
    Publish {
        /// Path of the OVA.
        ova: String,
    },
    /// `register` registers this URL.
    Register {
        /// URL CloudStack downloads.
        url: String,
        /// SHA-256 (hex) of the object at the URL, when it is the package `prepare` made and
        /// `publish` uploaded; CloudStack verifies its download against it.
        sha256: Option<String>,
    },
    /// `deploy` starts a VM from this template.
    Deploy {
        /// Template id.
        template_id: String,
    },
    /// `export` extracts this template.
    Export {
        /// Template id.
        template_id: String,
    },
    /// `transfer` copies this URL.
    Transfer {
        /// Export URL.
        export_url: String,
    },
    /// `verify` checks whatever earlier steps recorded.
    Verify,
}

/// A step's input is neither in the state nor on the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step} needs {what}: run `{producer}` first or pass {flag}")]
pub(crate) struct MissingInput {
    /// The step that cannot run.
    pub(crate) step: Step,
    /// What is missing.
    pub(crate) what: &'static str,
    /// The step that produces it.
    pub(crate) producer: Step,
    /// The flag that supplies it.
    pub(crate) flag: &'static str,
}

/// Resolve the inputs of `step` from overrides first, then the state.
///
/// # Errors
///
/// [`MissingInput`] naming the step to run first or the flag to pass.
pub(crate) fn inputs(
    step: Step,
    state: &State,
    overrides: &Overrides,
) -> Result<Inputs, MissingInput> {
    let missing = |what, producer, flag| MissingInput {
        step,
        what,
        producer,
        flag,
    };
    let template_id = || {
        overrides
            .template_id
            .clone()
            .or_else(|| {
                state
                    .register
                    .as_ref()
                    .map(|d| d.output.template_id.clone())
            })
            .ok_or_else(|| missing("a template id", Step::Register, "--template-id"))
    };
    Ok(match step {
        Step::Prepare => Inputs::Prepare,
        Step::Publish => Inputs::Publish {
            ova: overrides
                .ova
                .clone()
                .or_else(|| state.prepare.as_ref().map(|d| d.output.ova.clone()))
                .ok_or_else(|| missing("an OVA", Step::Prepare, "--ova"))?,
        },
        Step::Register => match (&overrides.object_url, &state.publish) {
            (Some(url), _) => Inputs::Register {
                url: url.clone(),
                sha256: None,
            },
            (None, Some(published)) => Inputs::Register {
                url: published.output.url.clone(),
                sha256: state
                    .prepare
                    .as_ref()
                    .map(|d| d.output.sha256.clone())
                    .filter(|h| h.len() == 64),
            },
            (None, None) => {
                return Err(missing("the object URL", Step::Publish, "--object-url"));
            }
        },
        Step::Deploy => Inputs::Deploy {
            template_id: template_id()?,
        },
        Step::Export => Inputs::Export {
            template_id: template_id()?,
        },
        Step::Transfer => Inputs::Transfer {
            export_url: overrides
                .export_url
                .clone()
                .or_else(|| state.export.as_ref().map(|d| d.output.url.clone()))
                .ok_or_else(|| missing("the export URL", Step::Export, "--export-url"))?,
        },
        Step::Verify => Inputs::Verify,
    })
}

/// Check before running anything that every planned step will have its inputs, counting on the
/// outputs of the planned steps before it.
///
/// # Errors
///
/// The first [`MissingInput`].
pub(crate) fn check(plan: &Plan, state: &State, overrides: &Overrides) -> Result<(), MissingInput> {
    let mut sim = state.clone();
    for step in &plan.clear {
        sim.clear(*step);
    }
    for step in &plan.run {
        inputs(*step, &sim, overrides)?;
        mark_done_placeholder(&mut sim, *step);
    }
    Ok(())
}

/// Record a placeholder output so later steps of a dry check see their input as available.
fn mark_done_placeholder(state: &mut State, step: Step) {
    use crate::state::*;
    fn d<T>(output: T) -> Option<Done<T>> {
        Some(Done {
            completed_at: 0,
            seconds: 0.0,
            fingerprint: String::new(),
            output,
        })
    }
    match step {
        Step::Prepare => state.prepare = d(PrepareOut::default()),
        Step::Publish => {
            state.publish = d(PublishOut {
                bucket: String::new(),
                key: String::new(),
                url: String::new(),
                size: 0,
                etag: None,
                acl: None,
            })
        }
        Step::Register => {
            state.register = d(RegisterOut {
                template_id: String::new(),
                template_name: String::new(),
                zone_id: String::new(),
            })
        }
        Step::Deploy => {
            state.deploy = d(DeployOut {
                vm_id: String::new(),
                vm_name: String::new(),
                ip: None,
            })
        }
        Step::Export => state.export = d(ExportOut::default()),
        Step::Transfer => state.transfer = d(TransferOut::default()),
        Step::Verify => state.verify = d(VerifyOut { checks: vec![] }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Fingerprints {
        Fingerprints::default()
    }

    fn set_fp(state: &mut State, step: Step, fp: &str) {
        state.set_fingerprint(step, fp.to_owned());
    }

    fn state_with(done: &[Step]) -> State {
        let mut state = State::new();
        for step in done {
            mark_done_placeholder(&mut state, *step);
        }
        state
    }

    #[test]
    fn names_parse_both_ways() {
        for step in Step::ALL {
            assert_eq!(step.name().parse::<Step>().unwrap(), step);
            assert_eq!(
                step.to_string().to_uppercase().parse::<Step>().unwrap(),
                step
            );
        }
        let err = "deplyo".parse::<Step>().unwrap_err();
        assert!(err.to_string().contains("unknown step `deplyo`"));
        assert_eq!(
            serde_json::to_string(&Step::Transfer).unwrap(),
            "\"transfer\""
        );
    }

    #[test]
    fn fresh_run_takes_every_step_in_order() {
        let p = plan(&State::new(), Request::default(), &fp()).unwrap();
        assert_eq!(p.run, Step::ALL.to_vec());
        assert!(p.skip.is_empty() && p.clear.is_empty());
        check(&p, &State::new(), &Overrides::default()).unwrap();
    }

    #[test]
    fn resume_skips_completed_steps_and_runs_the_rest() {
        let state = state_with(&[Step::Prepare, Step::Publish, Step::Register]);
        let p = plan(&state, Request::default(), &fp()).unwrap();
        assert_eq!(p.skip, vec![Step::Prepare, Step::Publish, Step::Register]);
        assert_eq!(
            p.run,
            vec![Step::Deploy, Step::Export, Step::Transfer, Step::Verify]
        );
        check(&p, &state, &Overrides::default()).unwrap();
    }

    #[test]
    fn a_gap_in_the_state_is_run_again() {
        // deploy failed, export ran alone later: a plain run redoes deploy only before transfer.
        let state = state_with(&[Step::Prepare, Step::Publish, Step::Register, Step::Export]);
        let p = plan(&state, Request::default(), &fp()).unwrap();
        assert_eq!(p.run, vec![Step::Deploy, Step::Transfer, Step::Verify]);
        assert_eq!(
            p.skip,
            vec![Step::Prepare, Step::Publish, Step::Register, Step::Export]
        );
    }

    #[test]
    fn everything_done_runs_nothing() {
        let state = state_with(&Step::ALL);
        let p = plan(&state, Request::default(), &fp()).unwrap();
        assert!(p.run.is_empty());
        assert_eq!(p.skip, Step::ALL.to_vec());
    }

    #[test]
    fn from_forgets_that_step_and_every_later_one() {
        let state = state_with(&Step::ALL);
        let p = plan(
            &state,
            Request {
                from: Some(Step::Export),
                ..Request::default()
            },
            &fp(),
        )
        .unwrap();
        assert_eq!(p.clear, vec![Step::Export, Step::Transfer, Step::Verify]);
        assert_eq!(p.run, vec![Step::Export, Step::Transfer, Step::Verify]);
        assert_eq!(
            p.skip,
            vec![Step::Prepare, Step::Publish, Step::Register, Step::Deploy]
        );
        check(&p, &state, &Overrides::default()).unwrap();
    }

    #[test]
    fn to_stops_early_and_from_to_is_a_window() {
        let p = plan(
            &State::new(),
            Request {
                to: Some(Step::Publish),
                ..Request::default()
            },
            &fp(),
        )
        .unwrap();
        assert_eq!(p.run, vec![Step::Prepare, Step::Publish]);

        let state = state_with(&[Step::Prepare]);
        let p = plan(
            &state,
            Request {
                from: Some(Step::Publish),
                to: Some(Step::Register),
                only: None,
            },
            &fp(),
        )
        .unwrap();
        assert_eq!(p.run, vec![Step::Publish, Step::Register]);
        assert_eq!(p.skip, vec![Step::Prepare]);
        assert!(p.clear.is_empty());
    }

    #[test]
    fn contradictory_requests_are_refused() {
        let state = State::new();
        assert_eq!(
            plan(
                &state,
                Request {
                    only: Some(Step::Deploy),
                    from: Some(Step::Prepare),
                    to: None
                },
                &fp(),
            ),
            Err(PlanError::OnlyWithRange)
        );
        assert_eq!(
            plan(
                &state,
                Request {
                    from: Some(Step::Verify),
                    to: Some(Step::Prepare),
                    only: None
                },
                &fp(),
            ),
            Err(PlanError::EmptyRange {
                from: Step::Verify,
                to: Step::Prepare
            })
        );
    }

    #[test]
    fn only_runs_one_step_even_when_done_and_keeps_the_rest() {
        let state = state_with(&Step::ALL);
        let p = plan(
            &state,
            Request {
                only: Some(Step::Deploy),
                ..Request::default()
            },
            &fp(),
        )
        .unwrap();
        assert_eq!(p.run, vec![Step::Deploy]);
        assert_eq!(p.clear, vec![Step::Deploy]);
        assert!(p.skip.is_empty());
        check(&p, &state, &Overrides::default()).unwrap();
    }

    #[test]
    fn a_step_alone_needs_its_inputs_from_state_or_flags() {
        let cases = [
            (Step::Publish, Step::Prepare, "--ova"),
            (Step::Register, Step::Publish, "--object-url"),
            (Step::Deploy, Step::Register, "--template-id"),
            (Step::Export, Step::Register, "--template-id"),
            (Step::Transfer, Step::Export, "--export-url"),
        ];
        for (step, producer, flag) in cases {
            let err = inputs(step, &State::new(), &Overrides::default()).unwrap_err();
            assert_eq!((err.step, err.producer, err.flag), (step, producer, flag));
            let msg = err.to_string();
            assert!(msg.contains(&format!("run `{producer}` first")), "{msg}");
            assert!(msg.contains(flag), "{msg}");
            // With the producer's output in the state, the input resolves.
            let state = state_with(&[producer]);
            inputs(step, &state, &Overrides::default()).unwrap();
        }
        assert_eq!(
            inputs(Step::Prepare, &State::new(), &Overrides::default()),
            Ok(Inputs::Prepare)
        );
        assert_eq!(
            inputs(Step::Verify, &State::new(), &Overrides::default()),
            Ok(Inputs::Verify)
        );
    }

    #[test]
    fn overrides_win_over_state() {
        let mut state = State::new();
        state.register = Some(crate::state::Done {
            completed_at: 0,
            seconds: 0.0,
            fingerprint: String::new(),
            output: crate::state::RegisterOut {
                template_id: "from-state".into(),
                template_name: "t".into(),
                zone_id: "z".into(),
            },
        });
        let o = Overrides {
            ova: Some("x.ova".into()),
            object_url: Some("http://o".into()),
            template_id: Some("from-flag".into()),
            export_url: Some("http://e".into()),
        };
        assert_eq!(
            inputs(Step::Deploy, &state, &Overrides::default()),
            Ok(Inputs::Deploy {
                template_id: "from-state".into()
            })
        );
        assert_eq!(
            inputs(Step::Deploy, &state, &o),
            Ok(Inputs::Deploy {
                template_id: "from-flag".into()
            })
        );
        assert_eq!(
            inputs(Step::Publish, &State::new(), &o),
            Ok(Inputs::Publish {
                ova: "x.ova".into()
            })
        );
        assert_eq!(
            inputs(Step::Register, &State::new(), &o),
            Ok(Inputs::Register {
                url: "http://o".into(),
                sha256: None
            })
        );
        assert_eq!(
            inputs(Step::Export, &State::new(), &o),
            Ok(Inputs::Export {
                template_id: "from-flag".into()
            })
        );
        assert_eq!(
            inputs(Step::Transfer, &State::new(), &o),
            Ok(Inputs::Transfer {
                export_url: "http://e".into()
            })
        );
    }

    #[test]
    fn check_catches_a_window_whose_first_step_lacks_input() {
        let p = plan(
            &State::new(),
            Request {
                from: Some(Step::Deploy),
                ..Request::default()
            },
            &fp(),
        )
        .unwrap();
        let err = check(&p, &State::new(), &Overrides::default()).unwrap_err();
        assert_eq!(err.step, Step::Deploy);
        // Export's input comes from register, also missing; deploy is reported first.
        let o = Overrides {
            template_id: Some("t".into()),
            ..Overrides::default()
        };
        check(&p, &State::new(), &o).unwrap();
    }

    #[test]
    fn check_sees_through_cleared_outputs() {
        // Redoing from publish forgets publish's URL; register then relies on the new publish.
        let state = state_with(&Step::ALL);
        let p = plan(
            &state,
            Request {
                from: Some(Step::Publish),
                ..Request::default()
            },
            &fp(),
        )
        .unwrap();
        check(&p, &state, &Overrides::default()).unwrap();
    }

    #[test]
    fn dependents_follow_the_data() {
        assert_eq!(Step::Prepare.with_dependents(), Step::ALL.to_vec());
        assert_eq!(
            Step::Deploy.with_dependents(),
            vec![Step::Deploy, Step::Verify]
        );
        assert_eq!(
            Step::Register.with_dependents(),
            vec![
                Step::Register,
                Step::Deploy,
                Step::Export,
                Step::Transfer,
                Step::Verify
            ]
        );
        assert_eq!(Step::Verify.with_dependents(), vec![Step::Verify]);
    }

    #[test]
    fn a_changed_configuration_reruns_that_step_and_its_dependents() {
        let mut state = state_with(&Step::ALL);
        for step in Step::ALL {
            set_fp(&mut state, step, "same");
        }
        let mut fps = Fingerprints(std::array::from_fn(|_| "same".to_owned()));
        let p = plan(&state, Request::default(), &fps).unwrap();
        assert!(p.run.is_empty() && p.stale.is_empty());

        // The service offering changed: deploy and verify run again, export and transfer do not.
        fps.0[Step::Deploy.index()] = "other".into();
        let p = plan(&state, Request::default(), &fps).unwrap();
        assert_eq!(p.stale, vec![Step::Deploy]);
        assert_eq!(p.clear, vec![Step::Deploy, Step::Verify]);
        assert_eq!(p.run, vec![Step::Deploy, Step::Verify]);
        check(&p, &state, &Overrides::default()).unwrap();
    }

    #[test]
    fn outputs_without_fingerprint_are_never_stale() {
        let state = state_with(&[Step::Prepare]);
        let fps = Fingerprints(std::array::from_fn(|_| "x".to_owned()));
        let p = plan(&state, Request::default(), &fps).unwrap();
        assert_eq!(p.skip, vec![Step::Prepare]);
        assert!(p.stale.is_empty());
    }

    #[test]
    fn register_passes_the_prepared_package_digest_only_for_the_published_url() {
        let mut state = state_with(&[Step::Prepare, Step::Publish]);
        let hex = "ab".repeat(32);
        if let Some(d) = state.prepare.as_mut() {
            d.output.sha256 = hex.clone();
        }
        if let Some(d) = state.publish.as_mut() {
            d.output.url = "http://s3/b/k.ova".into();
        }
        assert_eq!(
            inputs(Step::Register, &state, &Overrides::default()),
            Ok(Inputs::Register {
                url: "http://s3/b/k.ova".into(),
                sha256: Some(hex)
            })
        );
        // a URL given on the command line may be another object: no checksum
        let o = Overrides {
            object_url: Some("http://elsewhere/x.ova".into()),
            ..Overrides::default()
        };
        assert_eq!(
            inputs(Step::Register, &state, &o),
            Ok(Inputs::Register {
                url: "http://elsewhere/x.ova".into(),
                sha256: None
            })
        );
    }
}
