//! One local error enum for every crate error, and its single conversion into a Python exception.
//!
//! The orphan rule forbids `From<ova_core::Error> for PyErr` here, so each crate's error enters
//! [`Error`] through `#[from]` and leaves through `From<Error> for PyErr`. The exception classes
//! live in `python/ovakit/exceptions.py`; this module only picks the class and its attributes.

use std::error::Error as StdError;

use pyo3::PyErr;

pyo3::import_exception!(ovakit.exceptions, OvakitError);
pyo3::import_exception!(ovakit.exceptions, NotFoundError);
pyo3::import_exception!(ovakit.exceptions, ConfigError);
pyo3::import_exception!(ovakit.exceptions, OvaError);
pyo3::import_exception!(ovakit.exceptions, OvfError);
pyo3::import_exception!(ovakit.exceptions, ManifestMismatchError);
pyo3::import_exception!(ovakit.exceptions, SignatureError);
pyo3::import_exception!(ovakit.exceptions, CloudStackError);
pyo3::import_exception!(ovakit.exceptions, AsyncJobError);
pyo3::import_exception!(ovakit.exceptions, JobTimeoutError);
pyo3::import_exception!(ovakit.exceptions, S3Error);

/// Every error a binding can return before it becomes a Python exception.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Error {
    /// From `ova-core`.
    #[error(transparent)]
    Ova(#[from] ova_core::Error),
    /// From `cloudstack-client`.
    #[error(transparent)]
    CloudStack(#[from] cloudstack_client::Error),
    /// From `s3-stream`.
    #[error(transparent)]
    S3(#[from] s3_stream::Error),
    /// Already a Python exception (a callback raised, Ctrl-C, a bad argument type).
    #[error(transparent)]
    Python(#[from] PyErr),
}

/// The message of `err` followed by its causes, `": "`-separated: Python shows only `str(exc)`,
/// so the chain the Rust error keeps in `source()` is spelled out once here.
pub(crate) fn message(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !part.is_empty() && !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

/// The `std::io::Error` somewhere in the chain of `err`, if any.
fn io_cause<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a std::io::Error> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = e.source();
    }
    None
}

fn ova_to_py(err: &ova_core::Error) -> PyErr {
    use ova_core::Error as E;
    let msg = message(err);
    match err {
        E::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            NotFoundError::new_err((msg, path.display().to_string()))
        }
        E::Io { path, .. } => OvaError::new_err((msg, path.display().to_string())),
        E::OvfXml { .. }
        | E::OvfEncoding { .. }
        | E::OvfLimit { .. }
        | E::OvfNotEnvelope { .. }
        | E::OvfUnknownNamespace { .. }
        | E::OvfEditTargetAbsent { .. }
        | E::OvfEditTargetAmbiguous { .. }
        | E::OvfEditInvalidValue { .. }
        | E::OvfEditConflict { .. }
        | E::OvfEditIncompatibleHardware { .. } => OvfError::new_err(msg),
        E::SignKey { .. }
        | E::SignCertificate { .. }
        | E::SignKeyMismatch { .. }
        | E::SignCertFile { .. }
        | E::NotSigned { .. }
        | E::Crypto { .. } => SignatureError::new_err(msg),
        E::Truncated { entry, .. }
        | E::ArchiveWrite { entry, .. }
        | E::EntryTooLarge { entry, .. }
        | E::Encode { entry, .. }
        | E::Order { entry, .. }
        | E::SizeMismatch { entry, .. }
        | E::MissingEntry { entry }
        | E::UnsafeEntry { entry, .. }
        | E::Manifest { entry, .. } => OvaError::new_err((msg, None::<String>, entry.clone())),
        _ => match io_cause(err) {
            Some(io) if io.kind() == std::io::ErrorKind::NotFound => NotFoundError::new_err(msg),
            _ => OvaError::new_err(msg),
        },
    }
}

fn cloudstack_to_py(err: &cloudstack_client::Error) -> PyErr {
    use cloudstack_client::Error as E;
    let msg = message(err);
    let none = None::<String>;
    match err {
        E::Api {
            command,
            errorcode,
            errortext,
            ..
        } => CloudStackError::new_err((msg, command.clone(), *errorcode, errortext.clone())),
        E::Unauthorized { command, errortext } => {
            CloudStackError::new_err((msg, command.clone(), 401, errortext.clone()))
        }
        E::Throttled {
            command, errortext, ..
        } => CloudStackError::new_err((msg, command.clone(), 429, errortext.clone())),
        E::JobFailed {
            job_id,
            command,
            errorcode,
            errortext,
            ..
        } => AsyncJobError::new_err((
            msg,
            command.clone(),
            *errorcode,
            errortext.clone(),
            job_id.clone(),
        )),
        E::JobTimeout {
            job_id, command, ..
        } => JobTimeoutError::new_err((msg, command.clone(), none.clone(), none, job_id.clone())),
        E::Http { command, .. } | E::Decode { command, .. } | E::InvalidRequest { command, .. } => {
            CloudStackError::new_err((msg, command.clone()))
        }
        E::Config { key, .. } => ConfigError::new_err((msg, key.clone())),
        E::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            NotFoundError::new_err((msg, path.clone()))
        }
        _ => CloudStackError::new_err(msg),
    }
}

fn s3_to_py(err: &s3_stream::Error) -> PyErr {
    use s3_stream::Error as E;
    let msg = message(err);
    let none = None::<String>;
    match err {
        E::S3 { context, .. } => S3Error::new_err((
            msg,
            context.status,
            context.code.clone(),
            context.upload_id.clone(),
        )),
        E::UploadLeftOpen { upload_id, .. } => {
            S3Error::new_err((msg, None::<u16>, none, upload_id.clone()))
        }
        E::Config { key, .. } => ConfigError::new_err((msg, key.clone())),
        E::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            NotFoundError::new_err((msg, path.display().to_string()))
        }
        _ => match io_cause(err) {
            Some(io) if io.kind() == std::io::ErrorKind::NotFound => NotFoundError::new_err(msg),
            _ => S3Error::new_err(msg),
        },
    }
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        match err {
            Error::Ova(e) => ova_to_py(&e),
            Error::CloudStack(e) => cloudstack_to_py(&e),
            Error::S3(e) => s3_to_py(&e),
            Error::Python(e) => e,
        }
    }
}

/// `Result` with the local [`Error`].
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
