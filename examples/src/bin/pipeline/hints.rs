//! Turn a failure into what the operator should do next. Pure: the inputs are what the error
//! says (HTTP status, service error code, the text of the error chain) and which step failed.

use std::fmt;

use crate::plan::Step;

/// What went wrong, in the operator's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Hint {
    /// The object store rejected the SigV4/SigV2 signature or the key.
    S3Signature,
    /// CloudStack answered 401.
    CloudStackSignature,
    /// CloudStack answered 530 because the template is still downloading.
    TemplateNotReady,
    /// The bucket refuses ACLs (object ownership "bucket owner enforced", or no ACL support).
    AclNotSupported,
    /// The export URL's TLS certificate did not verify.
    SourceTls,
    /// The object store's TLS certificate did not verify.
    S3Tls,
    /// The CloudStack endpoint's TLS certificate did not verify.
    CloudStackTls,
    /// The export is not an OVA or its bytes did not match its manifest.
    ExportCorrupt,
    /// A CloudStack job or template wait ran out of time.
    Timeout,
    /// The endpoint could not be reached at all.
    Unreachable,
    /// The bucket does not exist.
    NoSuchBucket,
}

impl Hint {
    /// The advice printed under the error.
    pub(crate) fn advice(self, step: Step) -> String {
        match self {
            Hint::S3Signature => "the object store rejected the request signature: check the access \
                 key and secret key ([s3] access_key/secret_key, AWS_ACCESS_KEY_ID/\
                 AWS_SECRET_ACCESS_KEY), the region, and this machine's clock (`date -u`; S3 allows \
                 15 minutes of skew)"
                .to_owned(),
            Hint::CloudStackSignature => "CloudStack answered 401: check the API key and secret key \
                 ([cloudstack] api_key/secret_key, CLOUDSTACK_KEY/CLOUDSTACK_SECRET) and this \
                 machine's clock (`date -u`; signed requests expire)"
                .to_owned(),
            Hint::TemplateNotReady => format!(
                "CloudStack answered 530: the template is not ready in the zone yet (still \
                 downloading). `pipeline run` waits for it in `register`; rerun `pipeline run` to \
                 resume, which repeats only `{step}` onwards"
            ),
            Hint::AclNotSupported => "this bucket does not accept ACLs (object ownership \"bucket \
                 owner enforced\", or a store without ACL support): remove `acl` from [s3] (or \
                 --acl) and grant CloudStack read access with a bucket policy, or point \
                 `public_url` at a URL it can fetch"
                .to_owned(),
            Hint::SourceTls => "TLS verification of the export URL failed (secondary storage often \
                 has a self-signed certificate): pass --source-ca CA.pem to trust its CA, or \
                 --source-insecure to skip verification of the source only (the object store is \
                 still verified)"
                .to_owned(),
            Hint::S3Tls => "TLS verification of the object store failed: set [s3] ca_file \
                 (--s3-ca-file PEM) to the CA certificate or the store's own self-signed \
                 certificate (`openssl s_client -showcerts -connect HOST:PORT` prints it), or [s3] \
                 insecure = true (--s3-insecure) to skip verification of the object store"
                .to_owned(),
            Hint::CloudStackTls => "TLS verification of the CloudStack endpoint failed: set \
                 [cloudstack] ca_file (--cs-ca-file PEM) to the CA certificate or the endpoint's \
                 own self-signed certificate (`openssl s_client -showcerts -connect HOST:PORT` \
                 prints it), or [cloudstack] insecure = true (--cs-insecure) to skip verification \
                 of the CloudStack endpoint"
                .to_owned(),
            Hint::ExportCorrupt => "the export failed the on-the-fly check (not the template's \
                 format, bytes that do not match an OVA's manifest, or a damaged or cut-short QCOW2 \
                 or VHD); the upload was aborted and no object was written. Extract again with \
                 `pipeline run --from export`"
                .to_owned(),
            Hint::Timeout => "the wait ran out of time: raise [cloudstack] timeout_seconds (or \
                 --timeout-seconds) and rerun `pipeline run` to resume"
                .to_owned(),
            Hint::Unreachable => format!(
                "cannot reach the endpoint `{step}` talks to: check the URL in pipeline.toml and \
                 that the service is up"
            ),
            Hint::NoSuchBucket => {
                "the bucket does not exist: create it or fix [s3] bucket (--bucket)".to_owned()
            }
        }
    }
}

/// What an error reports, collected from the typed error and its `source()` chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Signals<'a> {
    /// HTTP status, when one was received.
    pub(crate) status: Option<u16>,
    /// S3 error code (`SignatureDoesNotMatch`) or CloudStack `errorcode`.
    pub(crate) code: Option<&'a str>,
    /// The error and its causes, joined.
    pub(crate) text: &'a str,
}

/// Which service a step talks to.
fn service(step: Step) -> Service {
    match step {
        Step::Publish | Step::Transfer | Step::Verify => Service::S3,
        Step::Register | Step::Deploy | Step::Export => Service::CloudStack,
        Step::Prepare => Service::Local,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    S3,
    CloudStack,
    Local,
}

/// Map a failure of `step` to advice, or `None` when there is nothing better to say than the
/// error itself.
pub(crate) fn classify(step: Step, s: &Signals<'_>) -> Option<Hint> {
    let text = s.text.to_ascii_lowercase();
    let has = |needle: &str| text.contains(needle);
    let code = s.code.unwrap_or("");

    if has("digest mismatch") || has("does not match the manifest") || has("manifest mismatch") {
        return Some(Hint::ExportCorrupt);
    }
    let tls =
        has("certificate") || has("unknownissuer") || has("tls handshake") || has("self-signed");
    // s3-stream names the side whose certificate it refused; a source is the export URL.
    if has("was refused for the destination") {
        return Some(Hint::S3Tls);
    }
    if has("was refused for the source") || (step == Step::Transfer && tls) {
        return Some(Hint::SourceTls);
    }
    if tls {
        match service(step) {
            Service::S3 => return Some(Hint::S3Tls),
            Service::CloudStack => return Some(Hint::CloudStackTls),
            Service::Local => {}
        }
    }
    if code == "AccessControlListNotSupported"
        || has("accesscontrollistnotsupported")
        || (has("acl") && (has("not supported") || has("notimplemented") || s.status == Some(501)))
    {
        return Some(Hint::AclNotSupported);
    }
    if code == "NoSuchBucket" || has("nosuchbucket") {
        return Some(Hint::NoSuchBucket);
    }
    match service(step) {
        Service::S3 => {
            if matches!(
                code,
                "SignatureDoesNotMatch"
                    | "InvalidAccessKeyId"
                    | "RequestTimeTooSkewed"
                    | "AuthorizationHeaderMalformed"
            ) || has("signaturedoesnotmatch")
                || has("invalidaccesskeyid")
                || has("requesttimetooskewed")
                || (s.status == Some(403) && has("signature"))
            {
                return Some(Hint::S3Signature);
            }
        }
        Service::CloudStack => {
            if s.status == Some(401) || code == "401" || has("unable to verify user credentials") {
                return Some(Hint::CloudStackSignature);
            }
            if (s.status == Some(530) || code == "530")
                && (has("not been completely downloaded")
                    || has("not ready")
                    || has("is not yet ready"))
            {
                return Some(Hint::TemplateNotReady);
            }
            if has("not been completely downloaded") {
                return Some(Hint::TemplateNotReady);
            }
        }
        Service::Local => {}
    }
    if has("timed out") || has("timeout") || has("deadline") {
        return Some(Hint::Timeout);
    }
    if has("connection refused") || has("dns error") || has("error sending request") {
        return Some(Hint::Unreachable);
    }
    None
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(step: Step, status: Option<u16>, code: Option<&str>, text: &str) -> Option<Hint> {
        classify(step, &Signals { status, code, text })
    }

    #[test]
    fn s3_signature_errors_point_at_keys_and_clock() {
        for (status, code, text) in [
            (
                Some(403),
                Some("SignatureDoesNotMatch"),
                "put object failed",
            ),
            (Some(403), Some("InvalidAccessKeyId"), ""),
            (Some(403), Some("RequestTimeTooSkewed"), ""),
            (
                Some(403),
                None,
                "the request signature we calculated does not match",
            ),
            (None, None, "upload failed: SignatureDoesNotMatch"),
        ] {
            assert_eq!(
                c(Step::Publish, status, code, text),
                Some(Hint::S3Signature)
            );
            assert_eq!(
                c(Step::Transfer, status, code, text),
                Some(Hint::S3Signature)
            );
        }
        let advice = Hint::S3Signature.advice(Step::Publish);
        assert!(advice.contains("secret key") && advice.contains("clock"));
    }

    #[test]
    fn cloudstack_401_points_at_keys_and_clock() {
        assert_eq!(
            c(Step::Register, Some(401), None, "unauthorized"),
            Some(Hint::CloudStackSignature)
        );
        assert_eq!(
            c(
                Step::Deploy,
                Some(432),
                None,
                "unable to verify user credentials and/or request signature"
            ),
            Some(Hint::CloudStackSignature)
        );
        // A 401 from the object store is not a CloudStack problem.
        assert_ne!(
            c(Step::Publish, Some(401), None, "x"),
            Some(Hint::CloudStackSignature)
        );
        assert!(
            Hint::CloudStackSignature
                .advice(Step::Register)
                .contains("CLOUDSTACK_SECRET")
        );
    }

    #[test]
    fn cloudstack_530_template_not_ready() {
        let text = "Template 205 has not been completely downloaded to zone 1";
        assert_eq!(
            c(Step::Deploy, Some(530), Some("530"), text),
            Some(Hint::TemplateNotReady)
        );
        assert_eq!(
            c(Step::Export, None, None, text),
            Some(Hint::TemplateNotReady)
        );
        // A 530 for something else is not this hint.
        assert_eq!(c(Step::Deploy, Some(530), None, "internal error"), None);
        assert!(
            Hint::TemplateNotReady
                .advice(Step::Deploy)
                .contains("`deploy` onwards")
        );
    }

    #[test]
    fn acl_not_supported() {
        assert_eq!(
            c(
                Step::Publish,
                Some(400),
                Some("AccessControlListNotSupported"),
                "The bucket does not allow ACLs"
            ),
            Some(Hint::AclNotSupported)
        );
        assert_eq!(
            c(
                Step::Publish,
                Some(501),
                Some("NotImplemented"),
                "put object acl"
            ),
            Some(Hint::AclNotSupported)
        );
        assert!(
            Hint::AclNotSupported
                .advice(Step::Publish)
                .contains("--acl")
        );
    }

    #[test]
    fn tls_failure_on_the_export_url_names_both_options() {
        for text in [
            "error sending request: invalid peer certificate: UnknownIssuer",
            "tls handshake eof",
            "self-signed certificate in certificate chain",
        ] {
            assert_eq!(c(Step::Transfer, None, None, text), Some(Hint::SourceTls));
        }
        let advice = Hint::SourceTls.advice(Step::Transfer);
        assert!(advice.contains("--source-insecure") && advice.contains("--source-ca"));
        // The same words during publish are not about the export URL.
        assert_ne!(
            c(Step::Publish, None, None, "invalid peer certificate"),
            Some(Hint::SourceTls)
        );
    }

    #[test]
    fn tls_failures_on_the_object_store_and_cloudstack_name_their_options() {
        let s3_refused = "cannot stream x into s3://b/k: the TLS certificate of 127.0.0.1:9000 \
                          was refused for the destination; ...";
        for step in [Step::Publish, Step::Transfer, Step::Verify] {
            assert_eq!(c(step, None, None, s3_refused), Some(Hint::S3Tls));
        }
        assert_eq!(
            c(
                Step::Publish,
                None,
                None,
                "invalid peer certificate: UnknownIssuer"
            ),
            Some(Hint::S3Tls)
        );
        let source_refused = "the TLS certificate of h:443 was refused for the source";
        assert_eq!(
            c(Step::Transfer, None, None, source_refused),
            Some(Hint::SourceTls)
        );
        for step in [Step::Register, Step::Deploy, Step::Export] {
            assert_eq!(
                c(
                    step,
                    None,
                    None,
                    "listZones failed: the server's TLS certificate is not trusted"
                ),
                Some(Hint::CloudStackTls)
            );
        }
        let advice = Hint::S3Tls.advice(Step::Publish);
        assert!(advice.contains("--s3-ca-file") && advice.contains("--s3-insecure"));
        assert!(advice.contains("[s3] ca_file"));
        let advice = Hint::CloudStackTls.advice(Step::Deploy);
        assert!(advice.contains("--cs-ca-file") && advice.contains("--cs-insecure"));
        assert!(advice.contains("[cloudstack] ca_file"));
    }

    #[test]
    fn corrupt_export_timeouts_unreachable_and_buckets() {
        assert_eq!(
            c(
                Step::Transfer,
                None,
                None,
                "disk1.vmdk: sha256 digest mismatch"
            ),
            Some(Hint::ExportCorrupt)
        );
        assert_eq!(
            c(Step::Register, None, None, "job 12 timed out after 3600 s"),
            Some(Hint::Timeout)
        );
        assert_eq!(
            c(
                Step::Publish,
                None,
                None,
                "tcp connect error: Connection refused"
            ),
            Some(Hint::Unreachable)
        );
        assert_eq!(
            c(Step::Publish, Some(404), Some("NoSuchBucket"), ""),
            Some(Hint::NoSuchBucket)
        );
        assert_eq!(c(Step::Prepare, None, None, "something odd"), None);
        for h in [
            Hint::ExportCorrupt,
            Hint::Timeout,
            Hint::Unreachable,
            Hint::NoSuchBucket,
        ] {
            assert!(!h.advice(Step::Transfer).is_empty());
            assert!(!h.to_string().is_empty());
        }
    }
}
