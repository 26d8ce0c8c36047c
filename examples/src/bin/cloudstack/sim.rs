//! `cloudstack simulator`: run the CloudStack API simulator in the foreground.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cloudstack_client::simulator::{Simulator, SimulatorConfig};

/// Run a CloudStack API simulator on 127.0.0.1 until interrupted. It verifies request signatures
/// like the real server, so any client (cs, cloudmonkey, Terraform, scripts) can be pointed at it.
#[derive(Debug, Parser)]
#[command(name = "cloudstack simulator")]
struct SimArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// API key clients must use.
    #[arg(long, default_value = "simulator-api-key", requires = "secret_key")]
    api_key: String,
    /// Secret key clients must sign with.
    #[arg(long, default_value = "simulator-secret-key")]
    secret_key: String,
    /// Keep the state (JSON) and template files in DIR across restarts.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Polls for which async jobs stay pending.
    #[arg(long, default_value_t = 2)]
    pending_polls: u32,
    /// Print the endpoint and keys as one JSON line.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &[String], json: bool) -> ExitCode {
    let parsed = SimArgs::try_parse_from(
        std::iter::once("cloudstack simulator".to_owned()).chain(args.iter().cloned()),
    );
    let a = match parsed {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let json_out = json || a.json;
    let cfg = SimulatorConfig {
        port: a.port,
        api_key: a.api_key,
        secret_key: a.secret_key,
        pending_polls: a.pending_polls,
        state_dir: a.state_dir,
    };
    let sim = match Simulator::start(cfg) {
        Ok(s) => s,
        Err(e) => {
            let mut msg = format!("cloudstack simulator: error: {e}");
            if let Some(s) = std::error::Error::source(&e) {
                msg.push_str(&format!(": {s}"));
            }
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    if json_out {
        let v = serde_json::json!({"endpoint": sim.endpoint(), "key": sim.api_key(), "secret": sim.secret_key()});
        println!("{v}");
    } else {
        println!("CloudStack simulator listening");
        println!("endpoint: {}", sim.endpoint());
        println!("api key:  {}", sim.api_key());
        println!("secret:   {}", sim.secret_key());
        println!();
        println!(
            "export CLOUDSTACK_ENDPOINT={} CLOUDSTACK_KEY={} CLOUDSTACK_SECRET={}",
            sim.endpoint(),
            sim.api_key(),
            sim.secret_key()
        );
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    sim.wait();
    ExitCode::SUCCESS
}
