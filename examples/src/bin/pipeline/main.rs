//! `pipeline`: the operator's whole flow in one command — prepare the template file (an OVA for
//! VMware, a QCOW2 for KVM, a VHD for XenServer), publish it to object storage, register it as a
//! CloudStack template, deploy a VM, export the template, stream the export back into storage
//! while checking it (an OVA's manifest, a QCOW2's or VHD's structure), and check everything.
//! Resumable.
//!
//! Exit codes: 0 every step and check passed, 1 a check failed, 2 usage, configuration or I/O error,
//! 130 stopped by Ctrl-C.

mod config;
mod demo;
mod error;
mod hints;
mod hypervisor;
mod plan;
mod report;
mod run;
mod state;
mod steps;
mod tls;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigArgs};
use crate::plan::{Overrides, Request, Step};
use crate::report::Printer;

/// Build, publish, register, deploy, export and transfer a template (OVA, QCOW2 or VHD): each step
/// checked and resumable.
#[derive(Debug, Parser)]
#[command(
    name = "pipeline",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 every step and check passed, 1 a check failed, 2 usage, configuration or I/O error, 130 stopped by Ctrl-C.\nCtrl-C stops the running step (an upload is aborted, a build or repack leaves no package behind); a second Ctrl-C exits at once. The state file is only ever replaced whole, so the next run resumes where this one stopped."
)]
struct Cli {
    /// Draw no progress bars or spinners (they are drawn on standard error, and only when it is a
    /// terminal).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the flow (or part of it) from a config file, flags and environment variables.
    Run(RunArgs),
    /// Run one step alone (same as `run --only STEP`).
    Step {
        /// prepare, publish, register, deploy, export, transfer or verify.
        step: Step,
        #[command(flatten)]
        args: RunArgs,
    },
    /// Show what the state file records.
    Status {
        /// Config file (for the state file's location).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// State file.
        #[arg(long)]
        state_file: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The whole flow with no configuration: a local S3 server (s3s-fs) and the CloudStack
    /// simulator in this process, data in a temporary folder, a small generated disk.
    Demo(demo::DemoArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct RunArgs {
    /// pipeline.toml.
    #[arg(long, short, env = "PIPELINE_CONFIG")]
    config: Option<PathBuf>,
    /// Redo from this step on (forgets its output and every later one).
    #[arg(long)]
    from: Option<Step>,
    /// Stop after this step.
    #[arg(long)]
    to: Option<Step>,
    /// Run only this step.
    #[arg(long)]
    only: Option<Step>,
    /// Ignore the state file and start from scratch.
    #[arg(long)]
    restart: bool,
    /// Print a JSON report on stdout (progress goes to stderr).
    #[arg(long)]
    json: bool,
    /// Publish this file (an OVA, or a QCOW2/VHD for KVM/XenServer) instead of prepare's output.
    #[arg(long, help_heading = "Step inputs")]
    ova: Option<String>,
    /// Register this URL instead of publish's.
    #[arg(long, help_heading = "Step inputs")]
    object_url: Option<String>,
    /// Deploy/export this template instead of register's.
    #[arg(long, help_heading = "Step inputs")]
    template_id: Option<String>,
    /// Transfer from this URL instead of export's.
    #[arg(long, help_heading = "Step inputs")]
    export_url: Option<String>,
    #[command(flatten)]
    settings: ConfigArgs,
}

fn main() {
    examples::log::init("pipeline");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    };
    report::set_display(cli.quiet);
    let code = runtime.block_on(dispatch(cli.command));
    std::process::exit(code);
}

/// Ctrl-C: a running upload is cancelled (and aborted, so no incomplete upload is left), a
/// running build or repack stops (its temporary output removed), and the step fails; otherwise,
/// or on a second Ctrl-C, exit at once with 130. The state file is only
/// ever replaced atomically, so stopping anywhere is safe to resume.
fn handle_ctrl_c() {
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            if steps::interrupt() {
                report::note(
                    "interrupted: stopping the running step (Ctrl-C again to quit at once)",
                );
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            } else {
                report::note("interrupted");
                std::process::exit(130);
            }
        }
    });
}

async fn dispatch(command: Command) -> i32 {
    if !matches!(&command, Command::Demo(d) if d.serve) {
        handle_ctrl_c();
    }
    match command {
        Command::Run(args) => run_from_args(args, None).await,
        Command::Step { step, args } => run_from_args(args, Some(step)).await,
        Command::Status {
            config,
            state_file,
            json,
        } => status(config, state_file, json),
        Command::Demo(args) => demo::main(args).await,
    }
}

async fn run_from_args(args: RunArgs, only: Option<Step>) -> i32 {
    let printer = Printer { json: args.json };
    let mut cfg = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(cfg) => cfg,
            Err(e) => return usage_error(&e),
        },
        None => Config {
            base_dir: PathBuf::from("."),
            ..Config::default()
        },
    };
    cfg.merge(args.settings);
    let request = Request {
        from: args.from,
        to: args.to,
        only: only.or(args.only),
    };
    let overrides = Overrides {
        ova: args.ova,
        object_url: args.object_url,
        template_id: args.template_id,
        export_url: args.export_url,
    };
    run::run(&cfg, request, &overrides, args.restart, printer)
        .await
        .exit_code
}

fn status(config: Option<PathBuf>, state_file: Option<PathBuf>, json: bool) -> i32 {
    let cfg = match &config {
        Some(path) => match Config::load(path) {
            Ok(cfg) => cfg,
            Err(e) => return usage_error(&e),
        },
        None => Config {
            base_dir: PathBuf::from("."),
            ..Config::default()
        },
    };
    let path = state_file.unwrap_or_else(|| cfg.state_file());
    let st = match state::load(&path) {
        Ok(st) => st,
        Err(e) => return usage_error(&e),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&st).expect("state serializes")
        );
        return 0;
    }
    println!("state file: {}", path.display());
    for step in Step::ALL {
        match st.seconds(step) {
            Some(s) => println!("  {step:<9} done ({})", report::secs(s)),
            None => println!("  {step:<9} pending"),
        }
    }
    0
}

fn usage_error(e: &dyn std::error::Error) -> i32 {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cur = c.source();
    }
    eprintln!("error: {msg}");
    2
}
