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

/// A plain HTTP client for URLs served by an endpoint (the published object's URL, fetched the
/// way CloudStack fetches it), with that endpoint's trust settings. reqwest trusts `ca_file`'s
/// certificates as roots: a CA, or a self-signed certificate that is not itself marked as a CA.
pub(crate) fn http(tls: &TlsSettings, step: Step) -> Result<reqwest::Client, PipelineError> {
    let mut b = reqwest::Client::builder().danger_accept_invalid_certs(tls.insecure);
    if let Some(pem) = read_ca(tls, step)? {
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            PipelineError::failed(
                step,
                format!("{} ({}) holds no PEM certificate", tls.ca_key, tls.ca_flag),
                e,
            )
        })?;
        for cert in certs {
            b = b.add_root_certificate(cert);
        }
    }
    b.build()
        .map_err(|e| PipelineError::failed(step, "cannot configure the HTTP client", e))
}
