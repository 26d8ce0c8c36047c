//! Which TLS certificates the source and the destination accept.
//!
//! The system's roots, plus what the user gives as PEM: CA certificates (a bundle), or the
//! server's own self-signed certificate, as `openssl req -x509` makes it (with `CA:TRUE`). WebPKI
//! refuses a CA certificate presented as the server's certificate (`CaUsedAsEndEntity`), where
//! `curl --cacert` and Python's requests accept it; [`Trust`] first verifies normally against
//! the system roots and the given certificates, and only when that fails and the server
//! presented **byte for byte** one of the given certificates does it accept that certificate
//! after checking its validity period and that it names the server. The handshake signature is
//! still verified against the certificate's key.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::error::{BoxError, Error, Result};

/// The certificates of a PEM text (`CERTIFICATE` blocks; other blocks are skipped).
fn certificates(pem: &[u8]) -> std::result::Result<Vec<CertificateDer<'static>>, BoxError> {
    let certs = CertificateDer::pem_slice_iter(pem).collect::<std::result::Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err("no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".into());
    }
    Ok(certs)
}

/// A server-certificate verifier: normal verification against the system roots and the given
/// certificates, then, for a presented certificate identical to a given one, its validity period
/// and server name.
#[derive(Debug)]
struct Trust {
    normal: Arc<dyn ServerCertVerifier>,
    given: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for Trust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let err = match self.normal.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if !self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return Err(err);
        }
        check_given(end_entity, server_name, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.normal.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.normal.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.normal.supported_verify_schemes()
    }
}

/// What is still checked of a certificate the user gave and the server presented: the server
/// name (subject alternative names, as for any certificate) and the validity period.
fn check_given(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> std::result::Result<(), rustls::Error> {
    let bad = |e: CertificateError| rustls::Error::InvalidCertificate(e);
    let ee =
        webpki::EndEntityCert::try_from(cert).map_err(|_| bad(CertificateError::BadEncoding))?;
    ee.verify_is_valid_for_subject_name(server_name)
        .map_err(|_| bad(CertificateError::NotValidForName))?;
    let (not_before, not_after) = validity(cert).ok_or(bad(CertificateError::BadEncoding))?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if now < not_before {
        return Err(bad(CertificateError::NotValidYet));
    }
    if now > not_after {
        return Err(bad(CertificateError::Expired));
    }
    Ok(())
}

/// One DER element at the start of `d`: (tag, contents, rest).
fn der(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, d) = d.split_first()?;
    let (&first, mut d) = d.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || d.len() < n {
            return None;
        }
        let (bytes, rest) = d.split_at(n);
        d = rest;
        bytes.iter().fold(0usize, |a, &b| a << 8 | usize::from(b))
    };
    (d.len() >= len).then(|| (tag, &d[..len], &d[len..]))
}

/// Seconds since 1970 of an X.509 `UTCTime` (tag 0x17, `YYMMDDHHMMSSZ`, years 1950..2049) or
/// `GeneralizedTime` (tag 0x18, `YYYYMMDDHHMMSSZ`).
fn x509_time(tag: u8, v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?.strip_suffix('Z')?;
    let (year, rest) = match (tag, s.len()) {
        (0x17, 12) => {
            let yy: i32 = s[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &s[2..])
        }
        (0x18, 14) => (s[..4].parse().ok()?, &s[4..]),
        _ => return None,
    };
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |i: usize| rest[i..i + 2].parse::<u8>().ok();
    let month = time::Month::try_from(n(0)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, n(2)?).ok()?;
    let t = time::Time::from_hms(n(4)?, n(6)?, n(8)?).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// `(notBefore, notAfter)` of a certificate, in seconds since 1970.
fn validity(cert: &[u8]) -> Option<(i64, i64)> {
    let (0x30, cert, _) = der(cert)? else {
        return None;
    };
    let (0x30, tbs, _) = der(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, r) = der(rest)?;
    if tag == 0xa0 {
        rest = r; // [0] version
    }
    for _ in 0..3 {
        rest = der(rest)?.2; // serial, signature algorithm, issuer
    }
    let (0x30, val, _) = der(rest)? else {
        return None;
    };
    let (t1, v1, r) = der(val)?;
    let (t2, v2, _) = der(r)?;
    Some((x509_time(t1, v1)?, x509_time(t2, v2)?))
}

/// Sets up TLS on an HTTP client builder for one side (`source` or `destination`): off when
/// `insecure`, the system's roots when no PEM is given, else [`Trust`] with the given PEM.
pub(crate) fn configure(
    b: reqwest::ClientBuilder,
    side: &'static str,
    insecure: bool,
    pem: Option<&[u8]>,
) -> Result<reqwest::ClientBuilder> {
    if insecure {
        return Ok(b.tls_danger_accept_invalid_certs(true));
    }
    let Some(pem) = pem else {
        return Ok(b);
    };
    let client_err = |source: BoxError| Error::Client { side, source };
    let given = certificates(pem).map_err(client_err)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let normal =
        rustls_platform_verifier::Verifier::new_with_extra_roots(given.clone(), provider.clone())
            .map_err(|e| client_err(Box::new(e)))?;
    let verifier = Trust {
        normal: Arc::new(normal),
        given,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| client_err(Box::new(e)))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // the clients speak HTTP/1.1 only
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(b.use_preconfigured_tls(config))
}

/// An HTTP client for other requests to the same servers (a public object URL, a presigned GET)
/// that trusts certificates exactly as the copies do: the system's roots and the CA certificates
/// of `ca_pem`, and a server presenting one of `ca_pem`'s certificates itself (a self-signed
/// certificate made by `openssl req -x509`, `CA:TRUE`) after its validity period and name are
/// checked; no verification at all when `insecure`.
///
/// ```
/// let client = s3_stream::http_client(false, None)?;
/// # drop(client);
/// # Ok::<(), s3_stream::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Client`] when `ca_pem` holds no certificate or the TLS setup fails.
pub fn http_client(insecure: bool, ca_pem: Option<&[u8]>) -> Result<reqwest::Client> {
    let b = configure(reqwest::Client::builder(), "destination", insecure, ca_pem)?;
    b.build().map_err(|e| Error::Client {
        side: "destination",
        source: Box::new(e),
    })
}

/// Whether an error (or one of its causes) is a refused server certificate. An `io::Error`
/// hides what it wraps from `source()` (it answers the wrapped error's source), so wrapped
/// errors are unpacked with `get_ref` (the TLS error sits two `io::Error`s deep under reqwest).
fn is_certificate_error(e: &(dyn std::error::Error + 'static)) -> bool {
    if let Some(
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::UnsupportedNameType,
    ) = e.downcast_ref::<rustls::Error>()
    {
        return true;
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        && is_certificate_error(inner)
    {
        return true;
    }
    e.source().is_some_and(is_certificate_error)
}

/// The error for a request that failed: [`Error::UntrustedCertificate`] naming the option that
/// helps when the server's certificate was refused, else `otherwise(e)`.
pub(crate) fn classify(
    e: reqwest::Error,
    side: &'static str,
    host: &str,
    otherwise: impl FnOnce(reqwest::Error) -> Error,
) -> Error {
    if !is_certificate_error(&e) {
        return otherwise(e);
    }
    Error::UntrustedCertificate {
        side,
        host: host.to_owned(),
        option: if side == "source" {
            "--source-ca (HttpSource::with_extra_ca_pem)"
        } else {
            "--ca-file (ClientBuilder::with_extra_ca_pem)"
        },
        source: Box::new(e.without_url()),
    }
}

/// `host:port` of a URL, for messages (`openssl s_client -connect` takes this form).
pub(crate) fn host_port(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}",
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or(443)
        ),
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x509_times() {
        assert_eq!(x509_time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(x509_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(x509_time(0x18, b"20380119031408Z"), Some(2_147_483_648));
        assert_eq!(x509_time(0x18, b"99991231235959Z"), Some(253_402_300_799));
        for bad in [
            &b"7001010000Z"[..],
            b"700101000000",
            b"701301000000Z",
            b"70010100000+Z",
        ] {
            assert_eq!(x509_time(0x17, bad), None, "{bad:?}");
        }
        assert_eq!(x509_time(0x04, b"700101000000Z"), None);
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der(&[0x30, 0x01, 0xff]), Some((0x30, &[0xff][..], &[][..])));
        assert_eq!(
            der(&[0x30, 0x81, 0x01, 0xff, 9]).map(|t| t.2),
            Some(&[9][..])
        );
        assert_eq!(der(&[0x30, 0x02, 0xff]), None);
        assert_eq!(der(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(der(&[0x30]), None);
        assert_eq!(validity(&[0x30, 0x00]), None);
    }

    #[test]
    fn pem_without_certificates_is_refused() {
        assert!(certificates(b"").is_err());
        assert!(
            certificates(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(host_port("https://a.example/x?y"), "a.example:443");
        assert_eq!(host_port("https://127.0.0.1:8443/x"), "127.0.0.1:8443");
        assert_eq!(host_port("http://a.example/x"), "a.example:80");
    }
}
