//! `ova build`: a raw disk image (or a stream-optimized VMDK) → a complete, optionally signed OVA.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ova_core::build::{BuildOptions, DiskController, build_ova};
use ova_core::sign::SigningKey;
use ova_core::write::ManifestChoice;

use crate::common::{print_hardware_findings, progress, ticks};

/// Arguments of `ova build`.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The disk image: raw (converted to a stream-optimized VMDK) or a stream-optimized VMDK
    /// (copied as is).
    #[arg(long, value_name = "IMAGE")]
    disk: PathBuf,
    /// Virtual machine name (also names the files in the package).
    #[arg(long)]
    name: String,
    /// Output OVA (written to a temporary name, then renamed).
    #[arg(short, long, value_name = "OUT.ova")]
    output: PathBuf,
    /// vSphere guest id.
    #[arg(long, default_value = "otherGuest64")]
    os_type: String,
    /// Virtual CPUs.
    #[arg(long, default_value_t = 2)]
    cpus: u32,
    /// Memory in MiB.
    #[arg(long, default_value_t = 2048)]
    memory_mb: u64,
    /// Logical network name for the NIC.
    #[arg(long, default_value = "VM Network")]
    network: String,
    /// Virtual hardware family.
    #[arg(long, default_value = "vmx-13", value_name = "vmx-NN")]
    virtual_system_type: String,
    /// Disk controller: scsi, ide, sata or nvme.
    #[arg(long, default_value = "scsi")]
    disk_controller: DiskController,
    /// Product name (adds a ProductSection).
    #[arg(long)]
    product: Option<String>,
    /// Product version.
    #[arg(long = "version", value_name = "VERSION")]
    product_version: Option<String>,
    /// Product vendor.
    #[arg(long)]
    vendor: Option<String>,
    /// A user-configurable string property (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// Manifest digest: sha1, sha256, sha512 or none.
    #[arg(long, default_value = "sha256")]
    manifest: ManifestChoice,
    /// Sign with this private key (PEM; may also hold the certificate).
    #[arg(long, value_name = "KEY.pem")]
    sign: Option<PathBuf>,
    /// The signer's certificate (PEM), when not in the key file.
    #[arg(long, value_name = "CERT.pem", requires = "sign")]
    cert: Option<PathBuf>,
    /// Name of an environment variable holding the key's passphrase.
    #[arg(long, value_name = "VAR", requires = "sign")]
    passphrase_env: Option<String>,
    /// Deflate level of the disk conversion, 1 (fastest) to 12 (smallest).
    #[arg(long, default_value_t = ova_core::vmdk::VmdkWriter::DEFAULT_LEVEL)]
    level: i32,
    /// Build even when the virtual system type cannot carry the disk controller (NVMe or
    /// SATA at vmx-07, ...); the problems are printed.
    #[arg(long)]
    force: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Loads a signing key, reading the passphrase from the named environment variable.
pub(crate) fn load_key(
    key: &std::path::Path,
    cert: Option<&std::path::Path>,
    passphrase_env: Option<&str>,
) -> Result<SigningKey, ova_core::Error> {
    let passphrase = match passphrase_env {
        Some(var) => Some(std::env::var(var).map_err(|_| ova_core::Error::SignKey {
            source_name: key.display().to_string(),
            source: format!("environment variable {var} is not set").into(),
        })?),
        None => None,
    };
    SigningKey::from_files(key, cert, passphrase.as_deref().map(str::as_bytes))
}

/// Runs `ova build`.
pub(crate) fn run(a: BuildArgs) -> Result<ExitCode, ova_core::Error> {
    let mut b = BuildOptions::builder(a.name)
        .with_os_type(a.os_type)
        .with_cpus(a.cpus)
        .with_memory_mb(a.memory_mb)
        .with_network(a.network)
        .with_virtual_system_type(a.virtual_system_type)
        .with_disk_controller(a.disk_controller)
        .with_manifest(a.manifest.algorithm())
        .with_compression_level(a.level)
        .with_allow_incompatible_hardware(a.force);
    if a.product.is_some() || a.product_version.is_some() {
        b = b.with_product(
            a.product.unwrap_or_default(),
            a.product_version.unwrap_or_default(),
        );
    }
    if let Some(v) = a.vendor {
        b = b.with_vendor(v);
    }
    for p in &a.properties {
        let (k, v) = p.split_once('=').ok_or_else(|| ova_core::Error::Build {
            reason: format!("--property {p:?}: expected KEY=VALUE"),
        })?;
        b = b.with_property(k, v);
    }
    if let Some(key) = &a.sign {
        b = b.with_signing_key(load_key(
            key,
            a.cert.as_deref(),
            a.passphrase_env.as_deref(),
        )?);
    }
    let options = b.build()?;
    let size = std::fs::metadata(&a.disk).map_or(0, |m| m.len());
    let bar = progress(size, "building");
    let report = build_ova(&a.disk, &a.output, &options, &mut ticks(&bar));
    bar.finish();
    let report = report?;
    if a.force {
        print_hardware_findings(&a.output);
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_else(|_| "null".into())
        );
    } else {
        eprintln!(
            "{}: {} bytes ({}), disk {} bytes for {} bytes of capacity{}",
            a.output.display(),
            report.bytes,
            report.entries.join(", "),
            report.disk_size,
            report.capacity,
            report
                .signed_by
                .as_deref()
                .map(|s| format!(", signed by {s}"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
