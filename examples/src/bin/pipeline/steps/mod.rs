//! The steps: thin shells over ova-core, s3-stream and cloudstack-client.

mod cloud;
mod image_check;
mod image_verify;
mod prepare;
mod s3;
mod tee;

use crate::config::Config;
use crate::error::PipelineError;
use crate::plan::{Inputs, Step};
use crate::report::Printer;
use crate::state::{
    Check, DeployOut, Done, ExportOut, PrepareOut, PublishOut, RegisterOut, State, TransferOut,
    VerifyOut,
};

/// The step work in progress (an upload, or prepare's build/repack), cancelled by [`interrupt`].
static ACTIVE: std::sync::Mutex<Option<s3_stream::CancelToken>> = std::sync::Mutex::new(None);

/// Registers a cancel token for Ctrl-C while it lives.
pub(crate) struct CtrlC {
    pub(crate) token: s3_stream::CancelToken,
}

impl CtrlC {
    pub(crate) fn new() -> Self {
        let token = s3_stream::CancelToken::new();
        *ACTIVE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token.clone());
        Self { token }
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        *ACTIVE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// Ctrl-C: cancel the running work (s3-stream aborts an upload, ova-core removes a half-written
/// package, so nothing is left behind) and report whether there was any.
pub(crate) fn interrupt() -> bool {
    match ACTIVE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
    {
        Some(t) => {
            t.cancel();
            true
        }
        None => false,
    }
}

/// What the steps share during one run.
pub(crate) struct Ctx<'a> {
    /// The merged configuration.
    pub(crate) cfg: &'a Config,
    /// Progress output.
    pub(crate) printer: Printer,
    /// Checks made so far in this run.
    pub(crate) checks: Vec<Check>,
}

impl<'a> Ctx<'a> {
    /// A fresh context.
    pub(crate) fn new(cfg: &'a Config, printer: Printer) -> Self {
        Self {
            cfg,
            printer,
            checks: Vec::new(),
        }
    }

    /// Record a check; returns whether it passed.
    pub(crate) fn check(
        &mut self,
        name: impl Into<String>,
        passed: bool,
        detail: impl Into<String>,
    ) -> bool {
        self.checks.push(Check {
            name: name.into(),
            passed,
            detail: detail.into(),
        });
        passed
    }
}

/// What a step produced.
#[derive(Debug, Clone)]
pub(crate) enum StepOutput {
    /// `prepare`.
    Prepare(PrepareOut),
    /// `publish`.
    Publish(PublishOut),
    /// `register`.
    Register(RegisterOut),
    /// `deploy`.
    Deploy(DeployOut),
    /// `export`.
    Export(ExportOut),
    /// `transfer`.
    Transfer(TransferOut),
    /// `verify`.
    Verify(VerifyOut),
}

impl StepOutput {
    /// One line per produced value, for the progress output.
    pub(crate) fn details(&self) -> Vec<String> {
        match self {
            StepOutput::Prepare(o) => match o.virtual_size {
                None => vec![
                    format!("ova {} ({} bytes)", o.ova, o.size),
                    format!("sha256 {}", o.sha256),
                ],
                Some(v) => vec![
                    format!(
                        "{} {} ({} bytes, virtual size {v})",
                        o.format.extension(),
                        o.ova,
                        o.size
                    ),
                    format!(
                        "sha256 {}, raw content sha256 {}",
                        o.sha256,
                        o.raw_sha256.as_deref().unwrap_or("-")
                    ),
                ],
            },
            StepOutput::Publish(o) => vec![
                format!("s3://{}/{} ({} bytes)", o.bucket, o.key, o.size),
                format!("url {}", o.url),
            ],
            StepOutput::Register(o) => {
                vec![format!(
                    "template {} ({}) ready",
                    o.template_id, o.template_name
                )]
            }
            StepOutput::Deploy(o) => vec![format!(
                "vm {} {} ip {}",
                o.vm_id,
                o.vm_name,
                o.ip.as_deref().unwrap_or("-")
            )],
            StepOutput::Export(o) => vec![format!("url {}", o.url)],
            StepOutput::Transfer(o) => vec![
                format!("s3://{}/{} ({} bytes)", o.bucket, o.key, o.size),
                match o.virtual_size {
                    None => format!(
                        "sha256 {}, {} manifest entries verified in flight",
                        o.sha256, o.verified_entries
                    ),
                    Some(v) => format!(
                        "sha256 {}, {} structure and virtual size {v} checked in flight",
                        o.sha256, o.format
                    ),
                },
            ],
            StepOutput::Verify(o) => vec![format!(
                "{}/{} checks passed",
                o.checks.iter().filter(|c| c.passed).count(),
                o.checks.len()
            )],
        }
    }

    /// Store the output in the state.
    pub(crate) fn record(self, state: &mut State, now: u64, seconds: f64, fingerprint: String) {
        fn done<T>(output: T, now: u64, seconds: f64, fingerprint: String) -> Option<Done<T>> {
            Some(Done {
                completed_at: now,
                seconds,
                fingerprint,
                output,
            })
        }
        match self {
            StepOutput::Prepare(o) => state.prepare = done(o, now, seconds, fingerprint),
            StepOutput::Publish(o) => state.publish = done(o, now, seconds, fingerprint),
            StepOutput::Register(o) => state.register = done(o, now, seconds, fingerprint),
            StepOutput::Deploy(o) => state.deploy = done(o, now, seconds, fingerprint),
            StepOutput::Export(o) => state.export = done(o, now, seconds, fingerprint),
            StepOutput::Transfer(o) => state.transfer = done(o, now, seconds, fingerprint),
            StepOutput::Verify(o) => state.verify = done(o, now, seconds, fingerprint),
        }
    }
}

/// Run one step with its resolved inputs.
///
/// # Errors
///
/// [`PipelineError`] describing the failure.
pub(crate) async fn run(
    ctx: &mut Ctx<'_>,
    inputs: Inputs,
    state: &State,
) -> Result<StepOutput, PipelineError> {
    // Every step depends on the hypervisor (file name, format, checks): an unusable setting
    // stops any of them with the same message.
    ctx.cfg.hypervisor()?;
    Ok(match inputs {
        Inputs::Prepare => StepOutput::Prepare(prepare::prepare(ctx).await?),
        Inputs::Publish { ova } => {
            check_publishable(ctx, &ova)?;
            StepOutput::Publish(s3::publish(ctx, &ova, state).await?)
        }
        Inputs::Register { url, sha256 } => {
            StepOutput::Register(cloud::register(ctx, &url, sha256.as_deref()).await?)
        }
        Inputs::Deploy { template_id } => {
            StepOutput::Deploy(cloud::deploy(ctx, &template_id).await?)
        }
        Inputs::Export { template_id } => {
            StepOutput::Export(cloud::export(ctx, &template_id).await?)
        }
        Inputs::Transfer { export_url } => {
            let expect = image_check::expectation(ctx.cfg, state);
            StepOutput::Transfer(s3::transfer(ctx, &export_url, expect).await?)
        }
        Inputs::Verify => StepOutput::Verify(verify(ctx, state).await?),
    })
}

/// Before `publish`: the file is what the hypervisor's zones take (a file given with `--ova`
/// may be anything), so a mismatch stops here rather than in CloudStack's download.
fn check_publishable(ctx: &Ctx<'_>, file: &str) -> Result<(), PipelineError> {
    let want = ctx.cfg.format();
    let found = prepare::sniff_file(std::path::Path::new(file))
        .map_err(|e| PipelineError::failed(Step::Publish, format!("cannot read {file}"), e))?;
    if found == Some(want) {
        return Ok(());
    }
    let what = match found {
        Some(f) => format!("{}, the template format of {}", f.a_file(), f.hypervisor()),
        None => "neither an OVA, a QCOW2 nor a VHD".to_owned(),
    };
    Err(PipelineError::Check {
        step: Step::Publish,
        what: format!(
            "{file} is {what}, but hypervisor {} takes {want} templates: set the hypervisor \
             that matches the file (--hypervisor), or prepare a {want}",
            want.hypervisor()
        ),
        hint: None,
    })
}

/// `verify`: re-check what earlier steps recorded.
async fn verify(ctx: &mut Ctx<'_>, state: &State) -> Result<VerifyOut, PipelineError> {
    let first = ctx.checks.len();
    let template = state
        .register
        .as_ref()
        .map(|d| d.output.template_id.clone());
    let vm = state.deploy.as_ref().map(|d| d.output.vm_id.clone());
    let _wait = ctx
        .printer
        .progress()
        .spinner("verify", "checking the recorded outputs");
    s3::verify(ctx, state).await?;
    image_verify::verify(ctx, state).await?;
    cloud::verify(ctx, template.as_deref(), vm.as_deref()).await?;
    let checks: Vec<Check> = ctx.checks[first..].to_vec();
    if checks.is_empty() {
        return Err(PipelineError::Check {
            step: Step::Verify,
            what: "nothing to verify: no earlier step has completed".into(),
            hint: None,
        });
    }
    let failed: Vec<&Check> = checks.iter().filter(|c| !c.passed).collect();
    if !failed.is_empty() {
        return Err(PipelineError::Check {
            step: Step::Verify,
            what: format!(
                "{} of {} checks failed: {}",
                failed.len(),
                checks.len(),
                failed
                    .iter()
                    .map(|c| format!("{} ({})", c.name, c.detail))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            hint: None,
        });
    }
    Ok(VerifyOut { checks })
}
