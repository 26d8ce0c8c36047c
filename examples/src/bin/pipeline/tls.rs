//! Trust for the object store and CloudStack endpoints: `[s3]` and `[cloudstack]` `ca_file` and
//! `insecure` handed to the clients' own TLS options, which trust CA certificates and a server's
//! own self-signed certificate exactly (the same rules as `s3copy --ca-file` and
//! `cloudstack --ca-file`).

use crate::config::TlsSettings;
use crate::error::PipelineError;
use crate::plan::Step;

/// The PEM of `ca_file`, when one is set.
fn read_ca(tls: &TlsSettings, step: Step) -> Result<Option<Vec<u8>>, PipelineError> {
    let Some(path) = &tls.ca_file else {
        return Ok(None);
    };
    std::fs::read(path).map(Some).map_err(|e| {
        PipelineError::failed(
            step,
            format!(
                "cannot read {} ({}) {}",
                tls.ca_key,
                tls.ca_flag,
                path.display()
            ),
            e,
        )
    })
}

/// `b` with the object store's trust settings.
pub(crate) fn s3(
    b: s3_stream::ClientBuilder,
    tls: &TlsSettings,
    step: Step,
) -> Result<s3_stream::ClientBuilder, PipelineError> {
    let mut b = b.with_insecure_tls(tls.insecure);
    if let Some(pem) = read_ca(tls, step)? {
        b = b.with_extra_ca_pem(pem);
    }
    Ok(b)
}

/// `b` with the CloudStack endpoint's trust settings.
pub(crate) fn cloudstack(
    b: cloudstack_client::ClientBuilder,
    tls: &TlsSettings,
    step: Step,
) -> Result<cloudstack_client::ClientBuilder, PipelineError> {
    let mut b = b.with_insecure_tls(tls.insecure);
    if let Some(pem) = read_ca(tls, step)? {
        b = b.with_root_certificate_pem(pem);
    }
    Ok(b)
}

/// A plain HTTP client for URLs served by the object store (the published object's URL, fetched
/// the way CloudStack fetches it; presigned read-backs), with its trust settings and s3-stream's
/// trust rule: `ca_file` may hold CA certificates or the store's own self-signed certificate.
pub(crate) fn http(tls: &TlsSettings, step: Step) -> Result<reqwest::Client, PipelineError> {
    let pem = read_ca(tls, step)?;
    s3_stream::http_client(tls.insecure, pem.as_deref()).map_err(|e| {
        PipelineError::failed(
            step,
            format!(
                "{} ({}) cannot be used to trust the object store",
                tls.ca_key, tls.ca_flag
            ),
            e,
        )
    })
}
