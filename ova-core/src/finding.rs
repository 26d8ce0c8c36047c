//! What validation reports: a [`Finding`] with its [`Severity`].
//!
//! Kept apart from the rules so that the modules the rules call (such as
//! [`crate::ovf::compat`]) can speak of severities without importing the rules back.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The package will be refused or is unsafe.
    Error,
    /// The package works with some consumers but not all, or breaks a SHOULD.
    Warning,
}

/// One result of validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// Stable kebab-case code (see the module documentation).
    pub code: &'static str,
    /// What is wrong, for a human.
    pub message: String,
    /// The archive entry concerned, when there is one.
    pub entry: Option<String>,
}

impl Finding {
    /// An error finding.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            code,
            message: message.into(),
            entry: None,
        }
    }

    /// A warning finding.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            code,
            message: message.into(),
            entry: None,
        }
    }

    /// Attaches the entry name.
    #[must_use]
    pub fn with_entry(mut self, entry: impl Into<String>) -> Self {
        self.entry = Some(entry.into());
        self
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}]: {}", self.code, self.message)?;
        if let Some(e) = &self.entry {
            write!(f, " ({e})")?;
        }
        Ok(())
    }
}

/// Whether any finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
