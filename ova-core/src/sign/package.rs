//! Signing and verifying whole packages: the IO shell over [`crate::package::Ova`].

use super::{SignatureReport, SigningKey, TrustStore, sign_manifest, verify_manifest_signature};

use crate::manifest::Algorithm;
use crate::progress::Progress;
use crate::{Error, Result};

/// What [`sign_package`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignReport {
    /// Name of the `.cert` entry written.
    pub certificate: String,
    /// Name of the manifest that was signed.
    pub manifest: String,
    /// Whether a new manifest had to be written (none, another algorithm, or stale).
    pub manifest_regenerated: bool,
    /// Whether the package was updated in place (only the certificate's bytes rewritten).
    pub in_place: bool,
    /// Signer certificate subject.
    pub subject: String,
}

fn base_name(descriptor: &str) -> &str {
    descriptor.rsplit_once('.').map_or(descriptor, |(b, _)| b)
}

/// Signs the OVA at `input` and writes the signed package to `output` (which may be the same
/// path): descriptor, manifest, certificate, then the other files in their order. The existing
/// manifest is signed when it uses `alg` and matches the data; otherwise a fresh one is
/// written. When `output` is `input`, an existing certificate of the same length is
/// overwritten in place; otherwise the package is rewritten beside and renamed over it.
///
/// `progress` gets the bytes of every pass over the data (see [`Progress`]): checking the
/// existing manifest, hashing the files when a fresh manifest is needed, and copying them into
/// the signed package, so the total may be up to three times the data's size.
///
/// # Errors
///
/// The archive reader's errors, [`Error::NoDescriptor`], [`Error::Crypto`], write errors,
/// [`Error::Cancelled`] when `progress` stops it; `output` is never left half-written (on any
/// error the temporary file is removed and an existing `output`, `input` included, is left as
/// it was).
pub fn sign_package(
    input: impl AsRef<std::path::Path>,
    output: impl AsRef<std::path::Path>,
    key: &SigningKey,
    alg: Algorithm,
    progress: Progress<'_>,
) -> Result<SignReport> {
    use crate::archive::EntryKind;
    use crate::tar::EntryType;
    let (input, output) = (input.as_ref(), output.as_ref());
    let ova = crate::package::Ova::open(input)?;
    let descriptor = ova
        .index()
        .descriptor()
        .cloned()
        .ok_or_else(|| Error::NoDescriptor {
            source_name: input.display().to_string(),
        })?;
    let base = base_name(&descriptor.name).to_owned();
    let existing = ova.manifest()?;
    let usable = match &existing {
        Some((_, _, parsed)) if parsed.algorithms().into_iter().eq([alg]) => ova
            .verify_manifest(&mut *progress)?
            .is_some_and(|(_, report)| report.is_ok()),
        _ => false,
    };
    let files: Vec<crate::archive::EntryInfo> = ova
        .entries()
        .iter()
        .filter(|e| {
            e.entry_type == EntryType::Regular
                && !matches!(
                    e.kind,
                    EntryKind::Descriptor | EntryKind::Manifest | EntryKind::Certificate
                )
        })
        .cloned()
        .collect();
    let (mf_name, mf_bytes) = match (&existing, usable) {
        (Some((entry, bytes, _)), true) => (entry.name.clone(), bytes.clone()),
        _ => {
            let desc_bytes = ova.descriptor_bytes()?;
            let mut text =
                crate::manifest::format_line(alg, &descriptor.name, &alg.digest(&desc_bytes));
            for e in &files {
                let mut src = ova.archive().open_entry(e)?;
                let copy = crate::write::copy_hashed(
                    &mut src,
                    &mut std::io::sink(),
                    &[alg],
                    &mut *progress,
                )
                .map_err(|source| Error::Io {
                    path: input.to_owned(),
                    source,
                })?;
                let (_, d) = crate::progress::finished(copy)?;
                let digest = d.get(&alg).cloned().unwrap_or_default();
                text.push_str(&crate::manifest::format_line(alg, &e.name, &digest));
            }
            (format!("{base}.mf"), text.into_bytes())
        }
    };
    let cert_name = format!("{base}.cert");
    let cert = sign_manifest(key, &mf_name, &mf_bytes, alg)?;
    let report = |manifest_regenerated, in_place| SignReport {
        certificate: cert_name.clone(),
        manifest: mf_name.to_owned(),
        manifest_regenerated,
        in_place,
        subject: key.subject(),
    };
    let same_path = std::fs::canonicalize(output).ok() == std::fs::canonicalize(input).ok();
    if same_path
        && usable
        && let Some(old) = ova.index().certificate()
        && old.name == cert_name
        && old.size == cert.len() as u64
    {
        use std::io::{Seek, SeekFrom, Write};
        let offset = old.data_offset;
        drop(ova);
        let io = |source| Error::Io {
            path: output.to_owned(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(output)
            .map_err(io)?;
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        f.write_all(&cert).map_err(io)?;
        f.sync_all().map_err(io)?;
        return Ok(report(false, true));
    }
    let desc_bytes = ova.descriptor_bytes()?;
    let mut out = crate::write::AtomicFile::create(output)?;
    {
        let at_least = files
            .iter()
            .fold(desc_bytes.len() as u64, |n, e| n + e.size);
        let file = std::io::BufWriter::with_capacity(
            1 << 20,
            crate::write::StreamingFile::new(out.file(), at_least),
        );
        let mut w = crate::write::OvaWriter::new(file);
        w.add_descriptor(&descriptor.name, &desc_bytes)?;
        w.add_manifest(&mf_name, &mf_bytes)?;
        w.add_certificate(&cert_name, &cert)?;
        for e in &files {
            let src = ova.archive().open_entry(e)?;
            w.add_file_progress(&e.name, e.size, src, &[], &mut *progress)?;
        }
        let mut file = w.finish()?;
        std::io::Write::flush(&mut file).map_err(|source| Error::Io {
            path: output.to_owned(),
            source,
        })?;
    }
    drop(ova);
    out.commit()?;
    Ok(report(!usable, false))
}

/// The verdict of [`verify_package`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageVerification {
    /// The manifest check (`None` when there is no manifest).
    pub manifest: Option<crate::manifest::VerifyReport>,
    /// The signature check (`None` when there is no certificate).
    pub signature: Option<SignatureReport>,
    /// Why the package does not verify (empty when it does).
    pub failures: Vec<String>,
}

impl PackageVerification {
    /// Whether the package is signed, the signature is valid (and trusted, when a trust store
    /// was given), and every manifest digest matches.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Verifies a signed OVA: the certificate's signature over the manifest, every manifest
/// digest (one pass over the data), the certificate's dates, and, with `trust`, its chain.
/// A self-signed certificate is reported, and is a failure only when `trust` is given and does
/// not hold it.
///
/// `progress` gets the bytes hashed (see [`Progress`]).
///
/// # Errors
///
/// Errors reading the archive (the package cannot be checked at all), [`Error::Cancelled`]
/// when `progress` stops it. A bad signature or digest is not an error: it is listed in
/// [`PackageVerification::failures`].
pub fn verify_package(
    path: impl AsRef<std::path::Path>,
    trust: Option<&TrustStore>,
    progress: Progress<'_>,
) -> Result<PackageVerification> {
    let ova = crate::package::Ova::open(path.as_ref())?;
    let mut failures = Vec::new();
    let manifest = ova.manifest()?;
    let signature = match (ova.index().certificate(), &manifest) {
        (None, _) => {
            failures.push("package is not signed (no .cert entry)".to_owned());
            None
        }
        (Some(_), None) => {
            failures.push("certificate present but no manifest to verify".to_owned());
            None
        }
        (Some(cert), Some((mf, bytes, _))) => {
            let cert_bytes = ova.archive().read_entry(cert, 1 << 20)?;
            match verify_manifest_signature(&cert_bytes, &mf.name, bytes, trust) {
                Ok(r) => {
                    if !r.signature_valid {
                        failures.push(format!("signature does not match {}", mf.name));
                    }
                    if !r.manifest_name_matches {
                        failures.push(format!("signature line does not name {}", mf.name));
                    }
                    if r.expired {
                        failures.push(format!("certificate expired {}", r.not_after));
                    }
                    if r.not_yet_valid {
                        failures.push(format!("certificate not valid before {}", r.not_before));
                    }
                    if r.chain_trusted == Some(false) {
                        failures.push(format!(
                            "certificate chain does not reach the trust store{}",
                            r.chain_error
                                .as_deref()
                                .map(|e| format!(" ({e})"))
                                .unwrap_or_default()
                        ));
                    }
                    Some(r)
                }
                Err(e) => {
                    failures.push(e.to_string());
                    None
                }
            }
        }
    };
    let manifest = match ova.verify_manifest(progress)? {
        None => {
            failures.push("package has no manifest".to_owned());
            None
        }
        Some((_, report)) => {
            for m in &report.mismatched {
                failures.push(format!("{}: {} digest mismatch", m.name, m.algorithm));
            }
            for m in &report.missing {
                failures.push(format!("{m}: listed in the manifest but missing"));
            }
            for m in &report.unlisted {
                failures.push(format!("{m}: not listed in the manifest"));
            }
            for m in &report.unchecked {
                failures.push(format!("{m}: digest not checked"));
            }
            Some(report)
        }
    };
    Ok(PackageVerification {
        manifest,
        signature,
        failures,
    })
}
