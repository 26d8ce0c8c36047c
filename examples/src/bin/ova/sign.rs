//! `ova sign`: sign an OVA's manifest and add the `.cert` entry.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ova_core::manifest::Algorithm;
use ova_core::sign::sign_package;

use crate::common::{Failure, go_on};

/// Arguments of `ova sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The OVA to sign.
    input: PathBuf,
    /// The signed OVA (may be IN: then updated in place when the certificate fits).
    output: PathBuf,
    /// Private key (PEM, PKCS#1 or PKCS#8; may also hold the certificate).
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,
    /// The signer's certificate (PEM), when not in the key file.
    #[arg(long, value_name = "CERT.pem")]
    cert: Option<PathBuf>,
    /// Digest of the signature (and of the manifest, if one has to be written).
    #[arg(long, default_value = "sha256")]
    digest: Algorithm,
    /// Name of an environment variable holding the key's passphrase.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `ova sign`.
pub(crate) fn run(a: SignArgs) -> Result<ExitCode, ova_core::Error> {
    let key = crate::build::load_key(&a.key, a.cert.as_deref(), a.passphrase_env.as_deref())?;
    let report = sign_package(&a.input, &a.output, &key, a.digest, &mut |_| go_on())?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_else(|_| "null".into())
        );
    } else {
        eprintln!(
            "{}: signed {} by {}{}{}",
            a.output.display(),
            report.manifest,
            report.subject,
            if report.manifest_regenerated {
                " (manifest regenerated)"
            } else {
                ""
            },
            if report.in_place { " (in place)" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `--sign KEY [--cert CERT] [--passphrase-env VAR]` for commands that write a package
/// (`repack`, `pack`): the written package is signed afterwards.
#[derive(Debug, Args, Default)]
pub(crate) struct SignFlags {
    /// Sign the written package with this private key (PEM; may also hold the certificate).
    #[arg(long = "sign", value_name = "KEY.pem")]
    sign_key: Option<PathBuf>,
    /// The signer's certificate (PEM), when not in the key file.
    #[arg(long = "cert", value_name = "CERT.pem", requires = "sign_key")]
    sign_cert: Option<PathBuf>,
    /// Name of an environment variable holding the key's passphrase.
    #[arg(long = "passphrase-env", value_name = "VAR", requires = "sign_key")]
    sign_passphrase_env: Option<String>,
}

/// Signs `output` (in place) when `--sign` was given and the command succeeded.
pub(crate) fn sign_after(
    flags: &SignFlags,
    output: &std::path::Path,
    manifest: ova_core::write::ManifestChoice,
    code: ExitCode,
) -> Result<ExitCode, Failure> {
    let Some(key_path) = &flags.sign_key else {
        return Ok(code);
    };
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    let key = crate::build::load_key(
        key_path,
        flags.sign_cert.as_deref(),
        flags.sign_passphrase_env.as_deref(),
    )?;
    let alg = manifest.algorithm().unwrap_or(Algorithm::Sha256);
    let report = match sign_package(output, output, &key, alg, &mut |_| go_on()) {
        Err(e) if e.is_cancelled() => {
            return Err(Failure::cancelled(&format!(
                "{} was written but is not signed (the partial signed copy was removed)",
                output.display()
            )));
        }
        other => other?,
    };
    eprintln!(
        "{}: signed {} by {}",
        output.display(),
        report.manifest,
        report.subject
    );
    Ok(code)
}
