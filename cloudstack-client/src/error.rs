//! The crate's one error type.

use std::time::Duration;

/// A boxed dependency error (reqwest, I/O, serde), kept out of the public API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong talking to CloudStack.
///
/// No variant ever carries the secret key, a signature or a signed URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be sent or the response could not be read (DNS, TCP, TLS, timeout).
    #[error("{command}: http request failed{}", hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Http {
        /// The API command.
        command: String,
        /// What the user can do, when the cause is known (a refused server certificate names
        /// `--ca-file`, the ini `verify` key and how to fetch the certificate).
        hint: Option<String>,
        /// The transport error (its URL, if any, removed).
        #[source]
        source: BoxError,
    },
    /// The server answered with a CloudStack error (HTTP status ≠ 200 and an error body or
    /// `X-Description` header).
    #[error("{command}: cloudstack error {errorcode} (http {http_status}{}): {errortext}", cserrorcode.map(|c| format!(", cserrorcode {c}")).unwrap_or_default())]
    Api {
        /// The API command.
        command: String,
        /// The HTTP status code.
        http_status: u16,
        /// CloudStack `errorcode` (usually equal to the HTTP status: 431, 530, …).
        errorcode: u32,
        /// CloudStack `cserrorcode` (`CSExceptionErrorCode`, e.g. 4350), when present.
        cserrorcode: Option<u32>,
        /// CloudStack `errortext`.
        errortext: String,
    },
    /// HTTP 401: the signature, API key or `expires` was rejected.
    #[error(
        "{command}: unauthorized ({errortext}); check the API key and secret key, and that this machine's clock is within a few minutes of the server's (signed requests expire)"
    )]
    Unauthorized {
        /// The API command.
        command: String,
        /// The server's text.
        errortext: String,
    },
    /// HTTP 429: the account reached its API limit (retries exhausted, or not retried).
    #[error("{command}: throttled by the server: {errortext}")]
    Throttled {
        /// The API command.
        command: String,
        /// The wait the server asked for, parsed from "retry after N ms".
        retry_after: Option<Duration>,
        /// The server's text.
        errortext: String,
    },
    /// An async job ended with `jobstatus` 2 (failed) or 3 (cancelled).
    #[error("{command}: async job {job_id} {}: error {errorcode}: {errortext}", if *cancelled { "was cancelled" } else { "failed" })]
    JobFailed {
        /// The job id.
        job_id: String,
        /// The command that started the job.
        command: String,
        /// `errorcode` of the job result (or `jobresultcode`).
        errorcode: u32,
        /// `errortext` of the job result (or the text result).
        errortext: String,
        /// `true` when the job was cancelled (`jobstatus` 3) rather than failed.
        cancelled: bool,
    },
    /// The job was still pending when the wait deadline passed.
    #[error("{command}: async job {job_id} still pending after {waited:?}{}", instance_id.as_ref().map(|i| format!(" (resource {i})")).unwrap_or_default())]
    JobTimeout {
        /// The job id (query it again later with `queryAsyncJobResult`).
        job_id: String,
        /// The command that started the job.
        command: String,
        /// How long the client waited.
        waited: Duration,
        /// `jobinstanceid` reported while pending: the resource the job acts on.
        instance_id: Option<String>,
    },
    /// A template is not listed, or did not become ready before the deadline.
    #[error("template {template_id}: {reason}")]
    TemplateNotReady {
        /// The template id.
        template_id: String,
        /// The status text or a timeout note.
        reason: String,
    },
    /// The server reports that a template's download failed (checksum mismatch, unreachable URL,
    /// invalid file, …): its `status` text, as written.
    #[error("template {template_id}: download failed{}: {status}", zone_id.as_ref().map(|z| format!(" in zone {z}")).unwrap_or_default())]
    TemplateDownloadFailed {
        /// The template id.
        template_id: String,
        /// The zone whose row reported the failure.
        zone_id: Option<String>,
        /// The server's status text.
        status: String,
    },
    /// The response was not the JSON expected.
    #[error(
        "{command}: cannot decode response (http {http_status}): {reason}; body starts with {excerpt:?}"
    )]
    Decode {
        /// The API command.
        command: String,
        /// The HTTP status code.
        http_status: u16,
        /// What was wrong.
        reason: String,
        /// The first bytes of the body (≤ 200 characters).
        excerpt: String,
    },
    /// A request that cannot be sent as asked (duplicate or reserved parameter name).
    #[error("{command}: invalid request: {reason}")]
    InvalidRequest {
        /// The API command.
        command: String,
        /// What is wrong.
        reason: String,
    },
    /// The call was stopped by the [`crate::CancelToken`] of its client handle or by a progress
    /// callback's `Break` (see [`crate::cancel`]). A stopped wait does not stop the async job.
    #[error("{command}: cancelled{}", job_id.as_ref().map(|j| format!("; async job {j} goes on in the cloud (queryAsyncJobResult jobid={j} shows how it ends)")).unwrap_or_default())]
    Cancelled {
        /// The API command, or the wait, that was stopped.
        command: String,
        /// The async job being waited for, when there was one.
        job_id: Option<String>,
    },
    /// A configuration value is missing or invalid.
    #[error("invalid configuration {key}: {reason}")]
    Config {
        /// The option (`endpoint`, `CLOUDSTACK_KEY`, an ini key, …).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A local I/O error (config file, state directory).
    #[error("cannot access {path}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// `true` for errors worth retrying (transport errors, 429, 5xx other than CloudStack's 531–537
    /// business errors, also when a proxy sent a non-JSON 5xx body). Whether a retry is safe also depends on the command: see [`crate::retry`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Http { hint: None, .. } | Error::Throttled { .. } => true,
            Error::Api { http_status, .. } | Error::Decode { http_status, .. } => {
                crate::retry::is_retryable_status(*http_status)
            }
            _ => false,
        }
    }

    /// The CloudStack `errorcode`, when the server sent one.
    pub fn errorcode(&self) -> Option<u32> {
        match self {
            Error::Api { errorcode, .. } | Error::JobFailed { errorcode, .. } => Some(*errorcode),
            Error::Unauthorized { .. } => Some(401),
            Error::Throttled { .. } => Some(429),
            _ => None,
        }
    }

    pub(crate) fn cancelled(command: &str, job_id: Option<&str>) -> Self {
        Error::Cancelled {
            command: command.to_owned(),
            job_id: job_id.map(str::to_owned),
        }
    }

    pub(crate) fn http(command: &str, e: reqwest::Error) -> Self {
        let hint = crate::tls::is_certificate_error(&e).then(|| {
            let host_port = e
                .url()
                .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
                .unwrap_or_else(|| "HOST:443".to_owned());
            crate::tls::certificate_hint(&host_port)
        });
        Error::Http {
            command: command.to_owned(),
            hint,
            source: Box::new(e.without_url()),
        }
    }

    pub(crate) fn decode(
        command: &str,
        http_status: u16,
        reason: impl Into<String>,
        body: &[u8],
    ) -> Self {
        Error::Decode {
            command: command.to_owned(),
            http_status,
            reason: reason.into(),
            excerpt: excerpt(body),
        }
    }
}

/// The first ≤ 200 characters of a body, lossily decoded, with control characters replaced.
pub(crate) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(800)])
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
