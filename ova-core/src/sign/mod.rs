//! Signing and verifying OVF manifests: the `.cert` file of DSP0243 and ovftool.
//!
//! A `.cert` file holds one line `ALG(name.mf)= <hex signature>` — an RSA PKCS#1 v1.5 signature
//! over the digest of the manifest's bytes, exactly what `openssl dgst -sha256 -sign` makes —
//! followed by the signer's PEM certificate (and any intermediates).
//!
//! Unlike ovftool, which wants key and certificate in one PEM file, [`SigningKey`] takes them
//! as two PEM files or one (in either order), PKCS#1 or PKCS#8, plain or encrypted, and checks
//! that the certificate belongs to the key before anything is written.
//!
//! The crypto is OpenSSL's (the `openssl` crate over the system library): the RustCrypto `rsa`
//! crate carries an unfixed advisory (RUSTSEC-2023-0071, a timing side channel when signing).
//!
//! ```
//! use ova_core::manifest::Algorithm;
//! use ova_core::sign::{self, SigningKey};
//! # let (key_pem, cert_pem) = sign::test_support::self_signed("Example Appliances")?;
//! let key = SigningKey::from_pem(&key_pem, Some(&cert_pem), None)?;
//! let manifest = b"SHA256(vm.ovf)= 00\n";
//! let cert_file = sign::sign_manifest(&key, "vm.mf", manifest, Algorithm::Sha256)?;
//! let report = sign::verify_manifest_signature(&cert_file, "vm.mf", manifest, None)?;
//! assert!(report.signature_valid);
//! assert!(report.self_signed);
//! # Ok::<(), ova_core::Error>(())
//! ```

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::{Signer, Verifier};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509NameRef, X509StoreContext};

use crate::manifest::Algorithm;
use crate::{Error, Result};

mod package;
pub use package::{PackageVerification, SignReport, sign_package, verify_package};

fn crypto(op: &'static str) -> impl FnOnce(openssl::error::ErrorStack) -> Error {
    move |e| Error::Crypto {
        op,
        source: Box::new(e),
    }
}

fn md(alg: Algorithm) -> MessageDigest {
    match alg {
        Algorithm::Sha1 => MessageDigest::sha1(),
        Algorithm::Sha512 => MessageDigest::sha512(),
        _ => MessageDigest::sha256(),
    }
}

/// One `-----BEGIN <label>----- ... -----END <label>-----` block of a PEM file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label (`CERTIFICATE`, `PRIVATE KEY`, `RSA PRIVATE KEY`, ...).
    pub label: String,
    /// The whole block, BEGIN and END lines included, ending in a newline.
    pub text: String,
}

impl PemBlock {
    /// Whether this block holds a private key (any encoding).
    pub fn is_private_key(&self) -> bool {
        self.label.ends_with("PRIVATE KEY")
    }

    /// Whether this block holds a certificate.
    pub fn is_certificate(&self) -> bool {
        self.label == "CERTIFICATE" || self.label == "X509 CERTIFICATE"
    }
}

/// Splits PEM text into its blocks, in order; text between blocks is ignored.
pub fn pem_blocks(text: &[u8]) -> Vec<PemBlock> {
    let text = String::from_utf8_lossy(text);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_owned();
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else {
            break;
        };
        let stop = start + end + end_marker.len();
        let mut block = rest[start..stop].replace("\r\n", "\n");
        block.push('\n');
        out.push(PemBlock { label, text: block });
        rest = &rest[stop..];
    }
    out
}

/// A private key with its certificate (and any intermediate certificates), ready to sign.
///
/// `Debug` shows the certificate subject only, never key material.
pub struct SigningKey {
    key: PKey<Private>,
    cert: X509,
    chain: Vec<X509>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("certificate", &self.subject())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    /// Loads a key and certificate. `key_pem` may hold the certificate too (in either order);
    /// `cert_pem`, when given, supplies the certificate (and intermediates) instead. Keys may be
    /// PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`); an
    /// encrypted key needs `passphrase`.
    ///
    /// # Errors
    ///
    /// [`Error::SignKey`] when there is no key, the key is encrypted and no (or a wrong)
    /// passphrase is given, or it cannot be decoded; [`Error::SignCertificate`] when there is
    /// no certificate or it cannot be decoded; [`Error::SignKeyMismatch`] when the certificate
    /// belongs to another key.
    pub fn from_pem(
        key_pem: &[u8],
        cert_pem: Option<&[u8]>,
        passphrase: Option<&[u8]>,
    ) -> Result<Self> {
        Self::from_pem_named(key_pem, "key", cert_pem, "certificate", passphrase)
    }

    /// [`from_pem`](Self::from_pem) on files.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when a file cannot be read, otherwise as [`from_pem`](Self::from_pem).
    pub fn from_files(
        key: impl AsRef<std::path::Path>,
        cert: Option<&std::path::Path>,
        passphrase: Option<&[u8]>,
    ) -> Result<Self> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|source| Error::Io {
                path: p.to_owned(),
                source,
            })
        };
        let key = key.as_ref();
        let key_pem = read(key)?;
        let cert_pem = cert.map(read).transpose()?;
        Self::from_pem_named(
            &key_pem,
            &key.display().to_string(),
            cert_pem.as_deref(),
            &cert.map_or_else(|| key.display().to_string(), |c| c.display().to_string()),
            passphrase,
        )
    }

    fn from_pem_named(
        key_pem: &[u8],
        key_name: &str,
        cert_pem: Option<&[u8]>,
        cert_name: &str,
        passphrase: Option<&[u8]>,
    ) -> Result<Self> {
        let key_err = |e: Box<dyn std::error::Error + Send + Sync>| Error::SignKey {
            source_name: key_name.to_owned(),
            source: e,
        };
        let blocks = pem_blocks(key_pem);
        let key_block = blocks
            .iter()
            .find(|b| b.is_private_key())
            .ok_or_else(|| key_err("no private key block in the PEM data".into()))?;
        let mut asked = false;
        let key = PKey::private_key_from_pem_callback(key_block.text.as_bytes(), |buf| {
            asked = true;
            match passphrase {
                Some(p) if p.len() <= buf.len() => {
                    buf[..p.len()].copy_from_slice(p);
                    Ok(p.len())
                }
                _ => Ok(0),
            }
        });
        let key = match key {
            Ok(k) => k,
            Err(_) if asked && passphrase.is_none() => {
                return Err(key_err(
                    "the key is encrypted: a passphrase is needed".into(),
                ));
            }
            Err(_) if asked => {
                return Err(key_err("wrong passphrase for the encrypted key".into()));
            }
            Err(e) => return Err(key_err(Box::new(e))),
        };
        let cert_blocks: Vec<PemBlock> = match cert_pem {
            Some(c) => pem_blocks(c),
            None => blocks,
        }
        .into_iter()
        .filter(PemBlock::is_certificate)
        .collect();
        let cert_err =
            |e: Option<Box<dyn std::error::Error + Send + Sync>>| Error::SignCertificate {
                source_name: cert_name.to_owned(),
                source: e,
            };
        let mut certs = cert_blocks
            .iter()
            .map(|b| X509::from_pem(b.text.as_bytes()).map_err(|e| cert_err(Some(Box::new(e)))))
            .collect::<Result<Vec<_>>>()?;
        if certs.is_empty() {
            return Err(cert_err(Some(
                "no certificate block in the PEM data".into(),
            )));
        }
        // the signer's certificate is the one matching the key, wherever it is in the file
        let pos = certs
            .iter()
            .position(|c| c.public_key().is_ok_and(|p| p.public_eq(&key)))
            .ok_or_else(|| Error::SignKeyMismatch {
                certificate: name_string(certs[0].subject_name()),
            })?;
        let cert = certs.remove(pos);
        Ok(Self {
            key,
            cert,
            chain: certs,
        })
    }

    /// The certificate's subject, as `CN=..., O=...`.
    pub fn subject(&self) -> String {
        name_string(self.cert.subject_name())
    }

    /// Signature length in bytes (the RSA modulus size; the maximum for other key types).
    pub fn signature_len(&self) -> usize {
        self.key.size()
    }

    /// The certificate(s) as PEM, signer first.
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] when encoding fails.
    pub fn certificates_pem(&self) -> Result<Vec<u8>> {
        let mut out = self.cert.to_pem().map_err(crypto("encode certificate"))?;
        for c in &self.chain {
            out.extend(c.to_pem().map_err(crypto("encode certificate"))?);
        }
        Ok(out)
    }

    /// Length of the `.cert` file [`sign_manifest`] will produce for a manifest named
    /// `manifest_name` (exact for RSA keys, an upper bound otherwise).
    ///
    /// # Errors
    ///
    /// As [`certificates_pem`](Self::certificates_pem).
    pub fn cert_file_len(&self, manifest_name: &str, alg: Algorithm) -> Result<usize> {
        Ok(format!("{}({})= ", alg.token(), manifest_name).len()
            + 2 * self.signature_len()
            + 1
            + self.certificates_pem()?.len())
    }
}

/// Formats an X.509 name as `CN=..., O=..., C=...`.
fn name_string(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e
                .data()
                .to_string()
                .unwrap_or_else(|_| String::from_utf8_lossy(e.data().as_slice()).into_owned());
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Signs `manifest` (the bytes of the `.mf` entry named `manifest_name`) and returns the
/// `.cert` file: `ALG(name.mf)= <hex signature>\n` followed by the PEM certificate(s).
///
/// # Errors
///
/// [`Error::Crypto`] when OpenSSL fails to sign.
pub fn sign_manifest(
    key: &SigningKey,
    manifest_name: &str,
    manifest: &[u8],
    alg: Algorithm,
) -> Result<Vec<u8>> {
    let mut signer = Signer::new(md(alg), &key.key).map_err(crypto("sign manifest"))?;
    signer.update(manifest).map_err(crypto("sign manifest"))?;
    let signature = signer.sign_to_vec().map_err(crypto("sign manifest"))?;
    let mut out = format_signature_line(alg, manifest_name, &signature).into_bytes();
    out.extend(key.certificates_pem()?);
    Ok(out)
}

/// The canonical signature line, `ALG(name)= hex\n`.
pub fn format_signature_line(alg: Algorithm, manifest_name: &str, signature: &[u8]) -> String {
    format!(
        "{}({})= {}\n",
        alg.token(),
        manifest_name,
        hex::encode(signature)
    )
}

/// How the signature in a `.cert` file was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    /// Lowercase or uppercase hex (DSP0243, ovftool).
    Hex,
    /// Base64 (VMware Cloud Director add-ons).
    Base64,
}

/// A parsed `.cert` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFile {
    /// Digest algorithm of the signature line.
    pub algorithm: Algorithm,
    /// The manifest name the line names.
    pub manifest_name: String,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// How the signature was encoded.
    pub encoding: SignatureEncoding,
    /// Whether the line used a non-canonical spacing (`ALG (name) = sig`).
    pub spaced: bool,
    /// The PEM certificate blocks, in order (signer first).
    pub certificates: Vec<String>,
}

/// Parses a `.cert` file: the signature line (canonical or spaced, hex or base64 signature;
/// the name may contain parentheses), then the certificate blocks (other blocks, such as a CMS
/// signature, are ignored).
///
/// # Errors
///
/// [`Error::SignCertFile`] when there is no signature line, the algorithm is unknown, the
/// signature decodes as neither hex nor base64, or there is no certificate.
pub fn parse_cert_file(file: &str, bytes: &[u8]) -> Result<CertFile> {
    let bad = |reason: &str| Error::SignCertFile {
        file: file.to_owned(),
        reason: reason.to_owned(),
    };
    let text = String::from_utf8_lossy(bytes);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("-----"))
        .ok_or_else(|| bad("no signature line"))?;
    let open = line
        .find('(')
        .ok_or_else(|| bad("signature line has no '('"))?;
    let token = &line[..open];
    let (algorithm, _) =
        Algorithm::from_token(token.trim()).ok_or_else(|| bad("unknown signature algorithm"))?;
    let eq = line
        .rfind(")=")
        .map(|i| (i, i + 2))
        .or_else(|| line.rfind(") =").map(|i| (i, i + 3)))
        .ok_or_else(|| bad("signature line has no ')=' or ') ='"))?;
    let manifest_name = line[open + 1..eq.0].to_owned();
    let value = line[eq.1..].trim();
    let spaced =
        token.ends_with(' ') || line[eq.0..eq.1].contains(' ') || !line[eq.1..].starts_with(' ');
    let (signature, encoding) = if !value.is_empty()
        && value.len() % 2 == 0
        && value.bytes().all(|b| b.is_ascii_hexdigit())
    {
        (
            hex::decode(value).map_err(|_| bad("bad hex signature"))?,
            SignatureEncoding::Hex,
        )
    } else {
        use base64::Engine as _;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| bad("signature is neither hex nor base64"))?;
        (sig, SignatureEncoding::Base64)
    };
    let certificates: Vec<String> = pem_blocks(bytes)
        .into_iter()
        .filter(PemBlock::is_certificate)
        .map(|b| b.text)
        .collect();
    if certificates.is_empty() {
        return Err(bad("no certificate"));
    }
    Ok(CertFile {
        algorithm,
        manifest_name,
        signature,
        encoding,
        spaced,
        certificates,
    })
}

/// A set of trusted CA certificates for [`verify_manifest_signature`].
pub struct TrustStore {
    certs: Vec<X509>,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("certificates", &self.certs.len())
            .finish()
    }
}

impl TrustStore {
    /// Loads every certificate of a PEM bundle.
    ///
    /// # Errors
    ///
    /// [`Error::SignCertificate`] when a block does not decode or there is none.
    pub fn from_pem(source_name: &str, pem: &[u8]) -> Result<Self> {
        let certs = pem_blocks(pem)
            .into_iter()
            .filter(PemBlock::is_certificate)
            .map(|b| {
                X509::from_pem(b.text.as_bytes()).map_err(|e| Error::SignCertificate {
                    source_name: source_name.to_owned(),
                    source: Some(Box::new(e)),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if certs.is_empty() {
            return Err(Error::SignCertificate {
                source_name: source_name.to_owned(),
                source: Some("no certificate in the trust store".into()),
            });
        }
        Ok(Self { certs })
    }
}

/// What [`verify_manifest_signature`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignatureReport {
    /// Whether the signature over the manifest verifies with the certificate's public key.
    pub signature_valid: bool,
    /// Digest algorithm of the signature.
    pub algorithm: Algorithm,
    /// Whether the manifest name in the signature line matches the manifest entry.
    pub manifest_name_matches: bool,
    /// The signature line's spacing is not canonical.
    pub spaced: bool,
    /// How the signature was encoded.
    pub encoding: SignatureEncoding,
    /// Signer certificate subject.
    pub subject: String,
    /// Signer certificate issuer.
    pub issuer: String,
    /// Start of validity (`Jan  1 00:00:00 2026 GMT`).
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// Whether the certificate is self-signed.
    pub self_signed: bool,
    /// Whether the validity period has ended.
    pub expired: bool,
    /// Whether the validity period has not started.
    pub not_yet_valid: bool,
    /// With a trust store: whether the chain reaches it (`None` without one).
    pub chain_trusted: Option<bool>,
    /// Why the chain did not verify.
    pub chain_error: Option<String>,
}

/// Verifies the `.cert` file `cert_file` against the manifest bytes: the signature with the
/// certificate's public key, the certificate's validity dates, and, with `trust`, whether the
/// chain (intermediates from the `.cert` file) reaches a trusted certificate.
///
/// # Errors
///
/// [`Error::SignCertFile`] when the file cannot be parsed, [`Error::SignCertificate`] when its
/// certificate does not decode, [`Error::Crypto`] for OpenSSL failures other than a bad
/// signature.
pub fn verify_manifest_signature(
    cert_file: &[u8],
    manifest_name: &str,
    manifest: &[u8],
    trust: Option<&TrustStore>,
) -> Result<SignatureReport> {
    let parsed = parse_cert_file(&format!("certificate for {manifest_name}"), cert_file)?;
    let certs = parsed
        .certificates
        .iter()
        .map(|pem| {
            X509::from_pem(pem.as_bytes()).map_err(|e| Error::SignCertificate {
                source_name: "certificate file".to_owned(),
                source: Some(Box::new(e)),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let leaf = &certs[0];
    let public = leaf.public_key().map_err(crypto("read public key"))?;
    let mut verifier = Verifier::new(md(parsed.algorithm), &public).map_err(crypto("verify"))?;
    verifier.update(manifest).map_err(crypto("verify"))?;
    // a malformed signature is "not valid", not an error
    let signature_valid = verifier.verify(&parsed.signature).unwrap_or(false);
    let same_name = leaf
        .subject_name()
        .to_der()
        .ok()
        .zip(leaf.issuer_name().to_der().ok())
        .is_some_and(|(s, i)| s == i);
    let self_signed = same_name && leaf.verify(&public).unwrap_or(false);
    let now = openssl::asn1::Asn1Time::days_from_now(0).map_err(crypto("read clock"))?;
    let expired = leaf.not_after() < now;
    let not_yet_valid = leaf.not_before() > now;
    let (chain_trusted, chain_error) = match trust {
        None => (None, None),
        Some(t) => {
            let (ok, err) = check_chain(leaf, &certs[1..], t)?;
            (Some(ok), err)
        }
    };
    Ok(SignatureReport {
        signature_valid,
        algorithm: parsed.algorithm,
        manifest_name_matches: parsed.manifest_name == manifest_name,
        spaced: parsed.spaced,
        encoding: parsed.encoding,
        subject: name_string(leaf.subject_name()),
        issuer: name_string(leaf.issuer_name()),
        not_before: leaf.not_before().to_string(),
        not_after: leaf.not_after().to_string(),
        self_signed,
        expired,
        not_yet_valid,
        chain_trusted,
        chain_error,
    })
}

fn check_chain(
    leaf: &X509,
    intermediates: &[X509],
    trust: &TrustStore,
) -> Result<(bool, Option<String>)> {
    let mut store = X509StoreBuilder::new().map_err(crypto("build trust store"))?;
    for c in &trust.certs {
        store
            .add_cert(c.clone())
            .map_err(crypto("build trust store"))?;
    }
    let store = store.build();
    let mut chain = Stack::new().map_err(crypto("build chain"))?;
    for c in intermediates {
        chain.push(c.clone()).map_err(crypto("build chain"))?;
    }
    let mut ctx = X509StoreContext::new().map_err(crypto("verify chain"))?;
    let (ok, err) = ctx
        .init(&store, leaf, &chain, |c| {
            let ok = c.verify_cert()?;
            Ok((ok, c.error().error_string().to_owned()))
        })
        .map_err(crypto("verify chain"))?;
    Ok((ok, (!ok).then_some(err)))
}

/// Helpers for examples and tests: key and certificate generation.
#[doc(hidden)]
pub mod test_support {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::{X509, X509NameBuilder};

    use crate::{Error, Result};

    /// A fresh RSA-2048 key (PKCS#8 PEM) and a self-signed certificate for it (PEM).
    ///
    /// # Errors
    ///
    /// [`Error::Crypto`] when OpenSSL fails.
    pub fn self_signed(common_name: &str) -> Result<(Vec<u8>, Vec<u8>)> {
        let c = |e: openssl::error::ErrorStack| Error::Crypto {
            op: "generate test certificate",
            source: Box::new(e),
        };
        let key = PKey::from_rsa(Rsa::generate(2048).map_err(c)?).map_err(c)?;
        let mut name = X509NameBuilder::new().map_err(c)?;
        name.append_entry_by_text("CN", common_name).map_err(c)?;
        let name = name.build();
        let mut b = X509::builder().map_err(c)?;
        b.set_version(2).map_err(c)?;
        let serial = BigNum::from_u32(1)
            .map_err(c)?
            .to_asn1_integer()
            .map_err(c)?;
        b.set_serial_number(&serial).map_err(c)?;
        b.set_subject_name(&name).map_err(c)?;
        b.set_issuer_name(&name).map_err(c)?;
        b.set_pubkey(&key).map_err(c)?;
        let (start, end) = (
            Asn1Time::days_from_now(0).map_err(c)?,
            Asn1Time::days_from_now(365).map_err(c)?,
        );
        b.set_not_before(&start).map_err(c)?;
        b.set_not_after(&end).map_err(c)?;
        b.sign(&key, MessageDigest::sha256()).map_err(c)?;
        Ok((
            key.private_key_to_pem_pkcs8().map_err(c)?,
            b.build().to_pem().map_err(c)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> (Vec<u8>, Vec<u8>) {
        test_support::self_signed("ovakit test").unwrap()
    }

    #[test]
    fn pem_blocks_split_in_order() {
        let text =
            b"junk\n-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\nmid\n\
-----BEGIN RSA PRIVATE KEY-----\nBBBB\n-----END RSA PRIVATE KEY-----\n-----BEGIN BROKEN-----\n";
        let b = pem_blocks(text);
        assert_eq!(b.len(), 2);
        assert!(b[0].is_certificate());
        assert_eq!(
            b[0].text,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        );
        assert!(b[1].is_private_key());
    }

    #[test]
    fn key_and_cert_in_one_file_either_order() {
        let (k, c) = key();
        let both = [k.clone(), c.clone()].concat();
        let reversed = [c.clone(), k.clone()].concat();
        for pem in [&both, &reversed] {
            let s = SigningKey::from_pem(pem, None, None).unwrap();
            assert_eq!(s.subject(), "CN=ovakit test");
            assert!(!format!("{s:?}").contains("PRIVATE"));
        }
        assert!(matches!(
            SigningKey::from_pem(&k, None, None),
            Err(Error::SignCertificate { .. })
        ));
        assert!(matches!(
            SigningKey::from_pem(&c, None, None),
            Err(Error::SignKey { .. })
        ));
    }

    #[test]
    fn mismatched_certificate_is_refused() {
        let (k, _) = key();
        let (_, other) = key();
        assert!(matches!(
            SigningKey::from_pem(&k, Some(&other), None),
            Err(Error::SignKeyMismatch { .. })
        ));
    }

    #[test]
    fn encrypted_and_pkcs1_keys() {
        let (k, c) = key();
        let pkey = PKey::private_key_from_pem(&k).unwrap();
        let enc = pkey
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"s3cret")
            .unwrap();
        assert!(SigningKey::from_pem(&enc, Some(&c), Some(b"s3cret")).is_ok());
        let err = SigningKey::from_pem(&enc, Some(&c), None).unwrap_err();
        assert!(err.to_string().contains("cannot load private key"));
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .contains("passphrase is needed")
        );
        assert!(SigningKey::from_pem(&enc, Some(&c), Some(b"wrong")).is_err());
        let pkcs1 = pkey.rsa().unwrap().private_key_to_pem().unwrap();
        assert!(String::from_utf8_lossy(&pkcs1).contains("BEGIN RSA PRIVATE KEY"));
        assert!(SigningKey::from_pem(&pkcs1, Some(&c), None).is_ok());
        let pkcs1_enc = pkey
            .rsa()
            .unwrap()
            .private_key_to_pem_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw")
            .unwrap();
        assert!(SigningKey::from_pem(&pkcs1_enc, Some(&c), Some(b"pw")).is_ok());
    }

    #[test]
    fn sign_verify_roundtrip_all_algorithms() {
        let (k, c) = key();
        let s = SigningKey::from_pem(&k, Some(&c), None).unwrap();
        for alg in Algorithm::ALL {
            let mf = b"SHA1(a.ovf)= 0102\n";
            let cert = sign_manifest(&s, "a.mf", mf, alg).unwrap();
            assert_eq!(cert.len(), s.cert_file_len("a.mf", alg).unwrap());
            let line = String::from_utf8_lossy(&cert)
                .lines()
                .next()
                .unwrap()
                .to_owned();
            assert!(line.starts_with(&format!("{}(a.mf)= ", alg.token())));
            let r = verify_manifest_signature(&cert, "a.mf", mf, None).unwrap();
            assert!(r.signature_valid && r.self_signed && !r.expired && !r.spaced);
            assert_eq!(r.algorithm, alg);
            assert_eq!(r.subject, "CN=ovakit test");
            assert_eq!(r.issuer, "CN=ovakit test");
            assert_eq!(r.chain_trusted, None);
            let tampered =
                verify_manifest_signature(&cert, "a.mf", b"SHA1(a.ovf)= 0103\n", None).unwrap();
            assert!(!tampered.signature_valid);
        }
    }

    #[test]
    fn variants_base64_and_spacing() {
        let (k, c) = key();
        let s = SigningKey::from_pem(&k, Some(&c), None).unwrap();
        let mf = b"manifest";
        let cert = sign_manifest(&s, "x (1).mf", mf, Algorithm::Sha256).unwrap();
        let parsed = parse_cert_file("x.cert", &cert).unwrap();
        assert_eq!(parsed.manifest_name, "x (1).mf");
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&parsed.signature);
        let vbox = format!(
            "SHA256 (x (1).mf) = {}\n\n{}",
            hex::encode_upper(&parsed.signature),
            String::from_utf8_lossy(&c)
        );
        let vcd = format!("SHA256(x (1).mf)= {b64}\n{}", String::from_utf8_lossy(&c));
        for (text, enc, spaced) in [
            (vbox, SignatureEncoding::Hex, true),
            (vcd, SignatureEncoding::Base64, false),
        ] {
            let r = verify_manifest_signature(text.as_bytes(), "x (1).mf", mf, None).unwrap();
            assert!(r.signature_valid);
            assert!(r.manifest_name_matches);
            assert_eq!(r.encoding, enc);
            assert_eq!(r.spaced, spaced);
        }
        for bad in [
            &b""[..],
            b"no signature here",
            b"MD5(x.mf)= 00\n",
            b"SHA256(x.mf)= !!\n",
        ] {
            assert!(matches!(
                parse_cert_file("x.cert", bad),
                Err(Error::SignCertFile { .. })
            ));
        }
        let no_cert = b"SHA256(x.mf)= 0011\n";
        assert!(parse_cert_file("x.cert", no_cert).is_err());
    }

    #[test]
    fn trust_store() {
        let (k, c) = key();
        let s = SigningKey::from_pem(&k, Some(&c), None).unwrap();
        let cert = sign_manifest(&s, "a.mf", b"m", Algorithm::Sha256).unwrap();
        let trusted = TrustStore::from_pem("ca.pem", &c).unwrap();
        let r = verify_manifest_signature(&cert, "a.mf", b"m", Some(&trusted)).unwrap();
        assert_eq!(r.chain_trusted, Some(true));
        let (_, other) = key();
        let untrusted = TrustStore::from_pem("other.pem", &other).unwrap();
        let r = verify_manifest_signature(&cert, "a.mf", b"m", Some(&untrusted)).unwrap();
        assert_eq!(r.chain_trusted, Some(false));
        assert!(r.chain_error.is_some());
        assert!(TrustStore::from_pem("empty.pem", b"").is_err());
    }
}
