//! `ova`: inspect, validate, edit, repack, extract and pack OVA packages.
//!
//! Exit codes: 0 success, 1 the check failed (validation errors, manifest mismatch), 2 usage
//! or I/O error (the file cannot be read or written), 130 stopped by Ctrl-C (the operation
//! stops at its next buffer and removes its temporary output; a second Ctrl-C exits at once).

mod build;
mod common;
mod disk;
mod inspect;
mod rewrite;
mod sign;
mod verify;
mod vmdk;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use common::{EditFlags, Failure, watch_ctrl_c};

/// Inspect, validate, edit, repack, extract and pack OVA packages in single streaming passes.
#[derive(Debug, Parser)]
#[command(
    name = "ova",
    version,
    about = "Inspect, validate, edit, repack, extract and pack OVA packages in single streaming passes",
    after_help = "Exit codes: 0 success, 1 the check failed (validation errors, digest or signature \
                  mismatch), 2 usage or I/O error, 130 stopped by Ctrl-C.\n\
                  Ctrl-C stops a running operation at its next buffer: its temporary output is \
                  removed and no existing file is changed (extract keeps the entries it finished). \
                  A second Ctrl-C exits at once."
)]
struct Cli {
    /// Draw no progress bars (they are drawn on standard error only when it is a terminal).
    #[arg(long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the entries, descriptor summary and manifest of an OVA.
    Info {
        /// The OVA file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validate an OVA (layout, descriptor, manifest digests). Exit 1 when errors are found.
    Validate {
        /// The OVA file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a new OVA from IN in one pass: descriptor first, fresh manifest, files in
    /// References order, edits applied.
    Repack {
        /// Source OVA.
        input: PathBuf,
        /// Output OVA (written to a temporary name, then renamed).
        output: PathBuf,
        /// Manifest to write: none, sha1, sha256 or sha512.
        #[arg(long, default_value = "sha256")]
        manifest: ova_core::write::ManifestChoice,
        #[command(flatten)]
        edits: EditFlags,
        #[command(flatten)]
        large: rewrite::LargeFileFlags,
        #[command(flatten)]
        storage: rewrite::StorageFlags,
        #[command(flatten)]
        signing: sign::SignFlags,
    },
    /// Edit the descriptor of an OVA in place (milliseconds, disks untouched); falls back to a
    /// repack when the edit does not fit.
    Edit {
        /// The OVA file.
        file: PathBuf,
        /// Required: confirms the file itself is modified.
        #[arg(long, required = true)]
        in_place: bool,
        /// Fail instead of falling back to a repack when the edit does not fit.
        #[arg(long)]
        no_fallback: bool,
        #[command(flatten)]
        edits: EditFlags,
    },
    /// Extract the entries of an OVA into a directory (refuses unsafe names and links).
    Extract {
        /// The OVA file.
        input: PathBuf,
        /// Target directory (created if missing).
        dir: PathBuf,
        /// Write the chunks of a chunked file as stored (name.000000000, ...) instead of one
        /// joined file (the default, with the descriptor and manifest adjusted to match).
        #[arg(long)]
        keep_chunks: bool,
    },
    /// Pack a directory holding one .ovf, or an .ovf file and its referenced files, into an OVA.
    Pack {
        /// A directory or an .ovf file.
        src: PathBuf,
        /// Output OVA.
        output: PathBuf,
        /// Manifest to write: none, sha1, sha256 or sha512.
        #[arg(long, default_value = "sha256")]
        manifest: ova_core::write::ManifestChoice,
        #[command(flatten)]
        large: rewrite::LargeFileFlags,
        #[command(flatten)]
        signing: sign::SignFlags,
    },
    /// Manifest operations.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Sign an OVA's manifest (adds the .cert entry; key and certificate in one or two PEMs).
    Sign(sign::SignArgs),
    /// Verify an OVA's signature, certificate and every manifest digest (exit 0 good, 1 not).
    Verify(verify::VerifyArgs),
    /// Build a complete OVA from a raw disk image (or a stream-optimized VMDK).
    Build(build::BuildArgs),
    /// Stream-optimized VMDK: info, and convert raw <-> VMDK.
    Vmdk(vmdk::VmdkArgs),
    /// Disk images (raw, stream-optimized VMDK, QCOW2, VHD): info, and convert between them.
    Disk(disk::DiskArgs),
    /// Convert an OVA's disk straight into a QCOW2 (KVM) or VHD (XenServer) template,
    /// streaming it from the package.
    Convert(disk::ConvertArgs),
}

#[derive(Debug, Subcommand)]
enum ManifestCommand {
    /// Verify every manifest digest in one pass. Exit 1 on any mismatch, missing or unlisted file.
    Verify {
        /// The OVA file, or `-` to read the archive from standard input (a pipe).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    common::set_display(cli.quiet);
    // Everything that streams a package or a disk stops cleanly on Ctrl-C; `info` (headers
    // only) keeps the default, and `vmdk` and `disk` watch for `convert` only.
    if !matches!(
        cli.command,
        Command::Info { .. } | Command::Vmdk(_) | Command::Disk(_)
    ) {
        watch_ctrl_c();
    }
    match cli.command {
        Command::Sign(a) => Ok(sign::run(a)?),
        Command::Verify(a) => Ok(verify::run(a)?),
        Command::Build(a) => Ok(build::run(a)?),
        Command::Vmdk(a) => Ok(vmdk::run(a)?),
        Command::Disk(a) => disk::run(a),
        Command::Convert(a) => disk::run_convert(a),
        Command::Info { file, json } => inspect::info(&file, json),
        Command::Validate { file, json } => inspect::validate(&file, json),
        Command::Manifest(ManifestCommand::Verify { file, json }) => {
            inspect::verify_manifest(&file, json)
        }
        Command::Repack {
            input,
            output,
            manifest,
            edits,
            large,
            storage,
            signing,
        } => rewrite::repack(&input, &output, manifest, &edits, &large, &storage)
            .and_then(|code| sign::sign_after(&signing, &output, manifest, code)),
        Command::Edit {
            file,
            in_place: _,
            no_fallback,
            edits,
        } => rewrite::edit(&file, no_fallback, &edits),
        Command::Extract {
            input,
            dir,
            keep_chunks,
        } => rewrite::extract(&input, &dir, keep_chunks),
        Command::Pack {
            src,
            output,
            manifest,
            large,
            signing,
        } => rewrite::pack(&src, &output, manifest, &large)
            .and_then(|code| sign::sign_after(&signing, &output, manifest, code)),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    examples::log::init("ova");
    match run(cli) {
        Ok(code) => code,
        Err(f) => f.report(),
    }
}
