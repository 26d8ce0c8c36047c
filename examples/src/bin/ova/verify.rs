//! `ova verify`: check an OVA's signature, certificate and every manifest digest.
//! Exit 0 when all is good, 1 when not, 2 when the package cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ova_core::sign::{TrustStore, verify_package};

use crate::common::go_on;

/// Arguments of `ova verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The OVA file.
    file: PathBuf,
    /// Trusted CA certificates (PEM bundle); without it a self-signed certificate is only
    /// reported.
    #[arg(long, value_name = "CA.pem")]
    trust: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `ova verify`.
pub(crate) fn run(a: VerifyArgs) -> Result<ExitCode, ova_core::Error> {
    let trust = match &a.trust {
        Some(p) => {
            let pem = std::fs::read(p).map_err(|source| ova_core::Error::Io {
                path: p.clone(),
                source,
            })?;
            Some(TrustStore::from_pem(&p.display().to_string(), &pem)?)
        }
        None => None,
    };
    let v = verify_package(&a.file, trust.as_ref(), &mut |_| go_on())?;
    if a.json {
        let mut value = serde_json::to_value(&v).unwrap_or_default();
        value["ok"] = serde_json::Value::Bool(v.is_ok());
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| "null".into())
        );
    } else {
        if let Some(s) = &v.signature {
            println!(
                "signature:   {} ({})",
                if s.signature_valid {
                    "valid"
                } else {
                    "INVALID"
                },
                s.algorithm
            );
            println!("subject:     {}", s.subject);
            println!(
                "issuer:      {}{}",
                s.issuer,
                if s.self_signed { " (self-signed)" } else { "" }
            );
            println!("valid:       {} – {}", s.not_before, s.not_after);
            if let Some(t) = s.chain_trusted {
                println!("trusted:     {}", if t { "yes" } else { "no" });
            }
        }
        if let Some(m) = &v.manifest {
            println!("digests:     {} matched", m.matched.len());
        }
        for f in &v.failures {
            println!("FAILED:      {f}");
        }
        println!("{}", if v.is_ok() { "OK" } else { "NOT VERIFIED" });
    }
    Ok(if v.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
