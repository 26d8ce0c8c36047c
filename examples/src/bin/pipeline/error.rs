//! The pipeline's error type, its exit codes, and the advice attached to it.

use std::error::Error as StdError;

use crate::config::ConfigError;
use crate::hints::{self, Hint, Signals};
use crate::plan::{MissingInput, PlanError, Step};
use crate::state::StateError;

/// A boxed cause from one of the library crates.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a step (or the run) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PipelineError {
    /// A setting is missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The state file is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The request contradicts itself.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A step's input is missing.
    #[error(transparent)]
    Missing(#[from] MissingInput),
    /// A name in the configuration does not exist on the service.
    #[error("{step}: {what} `{name}` not found (available: {})", available.join(", "))]
    NotFound {
        /// The step.
        step: Step,
        /// Zone, OS type, service offering.
        what: &'static str,
        /// The name looked up.
        name: String,
        /// The names that exist.
        available: Vec<String>,
    },
    /// A check failed: the data is wrong (validation findings, digest mismatch, failed job).
    #[error("{step}: {what}")]
    Check {
        /// The step.
        step: Step,
        /// What did not hold.
        what: String,
        /// Advice, when known.
        hint: Option<Hint>,
    },
    /// An operation failed (network, service, local IO).
    #[error("{step}: {context}")]
    Failed {
        /// The step.
        step: Step,
        /// What was being done.
        context: String,
        /// HTTP status, when known.
        status: Option<u16>,
        /// S3 error code or CloudStack errorcode, when known.
        code: Option<String>,
        /// Whether the failure means a check did not hold (exit 1) rather than an IO problem.
        check: bool,
        /// The cause.
        #[source]
        source: BoxError,
    },
}

impl PipelineError {
    /// A failure with a cause and no service details.
    pub(crate) fn failed(
        step: Step,
        context: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Failed {
            step,
            context: context.into(),
            status: None,
            code: None,
            check: false,
            source: source.into(),
        }
    }

    /// Exit code: 1 when a check failed, 130 when Ctrl-C stopped the step, 2 for usage,
    /// configuration and IO problems.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            PipelineError::Check { .. } | PipelineError::Failed { check: true, .. } => 1,
            _ if self.interrupted() => 130,
            _ => 2,
        }
    }

    /// Whether the step stopped because it was cancelled (Ctrl-C): an upload aborted by
    /// s3-stream, or a build or repack stopped by ova-core.
    pub(crate) fn interrupted(&self) -> bool {
        let PipelineError::Failed { source, .. } = self else {
            return false;
        };
        let mut cur: Option<&(dyn StdError + 'static)> = Some(source.as_ref());
        while let Some(e) = cur {
            if e.downcast_ref::<ova_core::Error>()
                .is_some_and(ova_core::Error::is_cancelled)
                || matches!(
                    e.downcast_ref::<s3_stream::Error>(),
                    Some(s3_stream::Error::Cancelled)
                )
            {
                return true;
            }
            cur = e.source();
        }
        false
    }

    /// The step this error belongs to, when it belongs to one.
    pub(crate) fn step(&self) -> Option<Step> {
        match self {
            PipelineError::NotFound { step, .. }
            | PipelineError::Check { step, .. }
            | PipelineError::Failed { step, .. } => Some(*step),
            PipelineError::Missing(m) => Some(m.step),
            _ => None,
        }
    }

    /// The error and every cause, joined with `: `.
    pub(crate) fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut cur = self.source();
        while let Some(e) = cur {
            let s = e.to_string();
            if !out.contains(&s) {
                out.push_str(": ");
                out.push_str(&s);
            }
            cur = e.source();
        }
        out
    }

    /// Advice for the operator, when there is any.
    pub(crate) fn hint(&self) -> Option<(Hint, String)> {
        let step = self.step()?;
        let hint = match self {
            PipelineError::Check { hint, .. } => *hint,
            PipelineError::Failed { status, code, .. } => {
                let text = self.chain();
                hints::classify(
                    step,
                    &Signals {
                        status: *status,
                        code: code.as_deref(),
                        text: &text,
                    },
                )
            }
            _ => None,
        }?;
        Some((hint, hint.advice(step)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_chain() {
        let io = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        let e = PipelineError::failed(Step::Transfer, "cannot download the export", io);
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.chain(),
            "transfer: cannot download the export: invalid peer certificate: UnknownIssuer"
        );
        let (hint, advice) = e.hint().unwrap();
        assert_eq!(hint, Hint::SourceTls);
        assert!(advice.contains("--source-ca"));

        let e = PipelineError::Check {
            step: Step::Prepare,
            what: "validation found 2 errors".into(),
            hint: None,
        };
        assert_eq!(e.exit_code(), 1);
        assert!(e.hint().is_none());

        let e = PipelineError::NotFound {
            step: Step::Deploy,
            what: "service offering",
            name: "Huge".into(),
            available: vec!["Small".into(), "Large".into()],
        };
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "deploy: service offering `Huge` not found (available: Small, Large)"
        );

        // Ctrl-C: a stopped build or an aborted upload exits 130, like the other tools.
        let e = PipelineError::failed(Step::Prepare, "cannot build", ova_core::Error::Cancelled);
        assert!(e.interrupted());
        assert_eq!(e.exit_code(), 130);
        let e = PipelineError::failed(Step::Publish, "upload", s3_stream::Error::Cancelled);
        assert_eq!(e.exit_code(), 130);
        let e = PipelineError::failed(Step::Publish, "upload", std::io::Error::other("reset"));
        assert!(!e.interrupted());
    }
}
