//! TLS trust: the system roots, plus the certificates the user names (`--ca-file`, ini
//! `verify = cert.pem`, [`crate::ClientBuilder::with_root_certificate_pem`]).
//!
//! A named certificate is trusted two ways:
//! - as a CA: a server certificate that chains to it (or to a system root) is accepted after the
//!   usual checks (webpki path building, validity, host name);
//! - as the server's own certificate: a private cloud, or CloudStack's storage VMs, often serve a
//!   self-signed certificate made by `openssl req -x509`, which marks it `CA:TRUE`. webpki refuses
//!   such a certificate as an end entity (`CaUsedAsEndEntity`) even when it is a trust anchor;
//!   curl `--cacert` and Python requests accept it. When normal verification fails and the
//!   certificate the server presents is byte for byte one the user named, it is accepted if it is
//!   within its validity period and names the host, exactly like a chain-verified certificate.
//!
//! The handshake signature is verified against the presented certificate's key in both cases, so
//! a server without the private key is refused.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// Reads every certificate of a PEM text (a single certificate or a bundle).
///
/// # Errors
/// A text naming the problem when the PEM is malformed or holds no certificate.
pub(crate) fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err("no `-----BEGIN CERTIFICATE-----` block found".into());
    }
    Ok(certs)
}

/// A rustls client configuration that trusts the system roots and `certs` (see the module docs).
///
/// # Errors
/// A text when the verifier cannot be built (no usable system trust store, bad certificate).
pub(crate) fn client_config(
    certs: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, String> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let chain =
        rustls_platform_verifier::Verifier::new_with_extra_roots(certs.clone(), provider.clone())
            .map_err(|e| format!("cannot build the certificate verifier: {e}"))?;
    let verifier = ChainOrExact::new(Arc::new(chain), certs);
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("no TLS protocol version available: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Normal chain verification first; then, only for a presented certificate identical to one the
/// user named, its validity period and host name.
#[derive(Debug)]
pub(crate) struct ChainOrExact {
    chain: Arc<dyn ServerCertVerifier>,
    exact: Vec<CertificateDer<'static>>,
}

impl ChainOrExact {
    /// `chain` does the normal verification; `exact` are the user's certificates.
    pub(crate) fn new(
        chain: Arc<dyn ServerCertVerifier>,
        exact: Vec<CertificateDer<'static>>,
    ) -> Self {
        Self { chain, exact }
    }
}

impl ServerCertVerifier for ChainOrExact {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.chain.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(v) => Ok(v),
            Err(chain_error) => {
                if !self.exact.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
                    return Err(chain_error);
                }
                check_exact(end_entity, server_name, now)?;
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

/// The checks an exactly trusted certificate must still pass: `now` within its validity period
/// (bounds inclusive, RFC 5280 §4.1.2.5) and `server_name` among its names.
///
/// # Errors
/// `InvalidCertificate` with `Expired`, `NotValidYet`, `NotValidForName` or `BadEncoding`.
pub(crate) fn check_exact(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let bad = |e| rustls::Error::InvalidCertificate(e);
    let (not_before, not_after) =
        validity(cert.as_ref()).ok_or(bad(CertificateError::BadEncoding))?;
    let t = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if t > not_after {
        return Err(bad(CertificateError::Expired));
    }
    if t < not_before {
        return Err(bad(CertificateError::NotValidYet));
    }
    let ee =
        webpki::EndEntityCert::try_from(cert).map_err(|_| bad(CertificateError::BadEncoding))?;
    ee.verify_is_valid_for_subject_name(server_name)
        .map_err(|_| bad(CertificateError::NotValidForName))
}

/// One DER TLV: (tag, contents, rest). Definite lengths up to 4 bytes.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// `notBefore` and `notAfter` of a DER certificate, as Unix seconds.
pub(crate) fn validity(der: &[u8]) -> Option<(i64, i64)> {
    const SEQUENCE: u8 = 0x30;
    let (SEQUENCE, cert, _) = tlv(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, r) = tlv(rest)?;
    if tag == 0xa0 {
        rest = r; // [0] EXPLICIT version
    }
    for expected in [0x02, SEQUENCE, SEQUENCE] {
        // serialNumber, signature, issuer
        let (tag, _, r) = tlv(rest)?;
        if tag != expected {
            return None;
        }
        rest = r;
    }
    let (SEQUENCE, validity, _) = tlv(rest)? else {
        return None;
    };
    let (t1, v1, r) = tlv(validity)?;
    let (t2, v2, _) = tlv(r)?;
    Some((asn1_time(t1, v1)?, asn1_time(t2, v2)?))
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) as Unix
/// seconds.
fn asn1_time(tag: u8, v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?.strip_suffix('Z')?;
    let num = |r: std::ops::Range<usize>| -> Option<i32> {
        let p = s.get(r)?;
        p.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| p.parse().ok())?
    };
    let (year, rest) = match (tag, s.len()) {
        (0x17, 12) => {
            let yy = num(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (0x18, 14) => (num(0..4)?, 4),
        _ => return None,
    };
    let n = |i: usize| num(rest + i..rest + i + 2);
    let month = time::Month::try_from(u8::try_from(n(0)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(n(2)?).ok()?).ok()?;
    let t = time::Time::from_hms(
        u8::try_from(n(4)?).ok()?,
        u8::try_from(n(6)?).ok()?,
        u8::try_from(n(8)?).ok()?,
    )
    .ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// `true` when a transport error's causes include a refused server certificate.
pub(crate) fn is_certificate_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return matches!(
                r,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && is_certificate_error(inner)
        {
            return true;
        }
        let text = err.to_string();
        if text.contains("invalid peer certificate") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// What to tell the user when `host:port` presented a certificate that was not accepted.
pub(crate) fn certificate_hint(host_port: &str) -> String {
    format!(
        "the server's TLS certificate is not trusted. If it is self-signed or from a private CA, \
fetch it with `openssl s_client -showcerts -connect {host_port} </dev/null` and trust it with \
--ca-file cert.pem (ini: `verify = /path/to/cert.pem`); --insecure (ini: `verify = false`) turns \
verification off"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    use rustls::client::WebPkiServerVerifier;

    fn cert(names: &[&str], ca: bool, from: (i32, u8), to: (i32, u8)) -> CertificateDer<'static> {
        let mut p =
            CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .unwrap();
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        p.not_before = rcgen::date_time_ymd(from.0, from.1, 1);
        p.not_after = rcgen::date_time_ymd(to.0, to.1, 1);
        let key = KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().clone()
    }

    fn at(y: i32, m: u8) -> UnixTime {
        let d = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), 15).unwrap();
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            d.midnight().assume_utc().unix_timestamp() as u64,
        ))
    }

    fn verifier(trusted: &[CertificateDer<'static>]) -> ChainOrExact {
        let mut roots = rustls::RootCertStore::empty();
        for c in trusted {
            roots.add(c.clone()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        ChainOrExact::new(chain, trusted.to_vec())
    }

    fn name(s: &str) -> ServerName<'static> {
        ServerName::try_from(s.to_owned()).unwrap()
    }

    fn verify(
        v: &ChainOrExact,
        c: &CertificateDer<'_>,
        host: &str,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        v.verify_server_cert(c, &[], &name(host), &[], now)
    }

    #[test]
    fn self_signed_ca_true_is_trusted_exactly() {
        let c = cert(&["localhost"], true, (2020, 1), (2040, 1));
        let v = verifier(std::slice::from_ref(&c));
        // webpki alone refuses it as an end entity
        let e = v
            .chain
            .verify_server_cert(&c, &[], &name("localhost"), &[], at(2030, 6))
            .unwrap_err();
        assert!(e.to_string().contains("CaUsedAsEndEntity"), "{e}");
        assert!(verify(&v, &c, "localhost", at(2030, 6)).is_ok());
        let wrong_name = verify(&v, &c, "example.com", at(2030, 6)).unwrap_err();
        assert_eq!(
            wrong_name,
            rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
        );
        let expired = verify(&v, &c, "localhost", at(2041, 1)).unwrap_err();
        assert_eq!(
            expired,
            rustls::Error::InvalidCertificate(CertificateError::Expired)
        );
        let early = verify(&v, &c, "localhost", at(2019, 1)).unwrap_err();
        assert_eq!(
            early,
            rustls::Error::InvalidCertificate(CertificateError::NotValidYet)
        );
    }

    #[test]
    fn another_certificate_is_not_trusted_by_its_likeness() {
        let trusted = cert(&["localhost"], true, (2020, 1), (2040, 1));
        let other = cert(&["localhost"], true, (2020, 1), (2040, 1));
        let v = verifier(&[trusted]);
        assert!(matches!(
            verify(&v, &other, "localhost", at(2030, 1)),
            Err(rustls::Error::InvalidCertificate(_))
        ));
    }

    #[test]
    fn chain_verification_still_applies() {
        // a leaf without CA:TRUE, trusted as an anchor, passes the normal path
        let leaf = cert(&["localhost", "127.0.0.1"], false, (2020, 1), (2040, 1));
        let v = verifier(std::slice::from_ref(&leaf));
        assert!(verify(&v, &leaf, "localhost", at(2030, 1)).is_ok());
        assert!(verify(&v, &leaf, "127.0.0.1", at(2030, 1)).is_ok());
        assert!(verify(&v, &leaf, "127.0.0.2", at(2030, 1)).is_err());
    }

    #[test]
    fn validity_of_real_encodings() {
        let c = cert(&["a"], true, (2021, 3), (2051, 7));
        let (nb, na) = validity(c.as_ref()).unwrap();
        assert_eq!(nb, 1_614_556_800); // 2021-03-01T00:00:00Z (UTCTime)
        assert_eq!(na, 2_571_782_400); // 2051-07-01T00:00:00Z (GeneralizedTime)
        assert_eq!(asn1_time(0x17, b"500101000000Z"), Some(-631_152_000));
        assert_eq!(asn1_time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(asn1_time(0x18, b"19700101000000Z"), Some(0));
        for bad in [
            &b"5001010000Z"[..],
            b"500101000000",
            b"5013010000000Z",
            b"50010100000aZ",
        ] {
            assert_eq!(asn1_time(0x17, bad), None, "{bad:?}");
        }
        assert_eq!(validity(b""), None);
        assert_eq!(validity(&[0x30, 0x82, 0xff]), None);
        assert_eq!(validity(&c.as_ref()[..c.as_ref().len() / 3]), None);
    }

    #[test]
    fn pem_reading() {
        let c = cert(&["a"], true, (2021, 1), (2031, 1));
        let pem = rustls::pki_types::pem::PemObject::pem_slice_iter(&[][..])
            .collect::<Result<Vec<CertificateDer<'static>>, _>>()
            .unwrap();
        assert!(pem.is_empty());
        let b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(c.as_ref())
        };
        let text = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
        assert_eq!(pem_certificates(text.as_bytes()).unwrap(), vec![c.clone()]);
        let two = format!("{text}{text}");
        assert_eq!(pem_certificates(two.as_bytes()).unwrap().len(), 2);
        assert!(pem_certificates(b"hello").is_err());
        assert!(
            pem_certificates(b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }

    #[test]
    fn certificate_errors_are_recognised_through_io_errors() {
        let r = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::other(r);
        assert!(is_certificate_error(&io));
        assert!(!is_certificate_error(&std::io::Error::other(
            "connection refused"
        )));
        assert!(certificate_hint("h:443").contains("openssl s_client -showcerts -connect h:443"));
    }
}
