//! `cloudstack`: call any Apache CloudStack API command, waiting for async jobs; or run the
//! built-in simulator.
//!
//! ```text
//! cloudstack [--profile P] [--json] [--no-wait] [--ca-file PEM | --insecure] COMMAND [key=value ...]
//! cloudstack simulator [--port N] [--api-key K --secret-key S] [--state-dir DIR]   (see --help)
//! ```
//!
//! Exit codes: 0 success, 1 API or job error (message shown), 2 usage or configuration error.

mod output;
mod sim;

use std::process::ExitCode;

use clap::Parser;
use cloudstack_client::{Client, ClientBuilder, Error, Params};
use examples::progress::Display;
use serde_json::Value;

/// Call an Apache CloudStack API command, signed with the keys of a `cs`-style profile.
#[derive(Debug, Parser)]
#[command(
    name = "cloudstack",
    version,
    after_help = "Configuration (the rules of the `cs` package): CLOUDSTACK_ENDPOINT, CLOUDSTACK_KEY and \
CLOUDSTACK_SECRET; when CLOUDSTACK_ENDPOINT is set the environment alone is used (unless CLOUDSTACK_OVERRIDES \
lists the keys it overrides). Otherwise ~/.cloudstack.ini, ./cloudstack.ini and $CLOUDSTACK_CONFIG (later files \
win) with one [section] per profile holding endpoint, key and secret; the section is --profile, else \
$CLOUDSTACK_REGION, else [cloudstack].\n\n\
TLS: certificates are verified against the system roots; --ca-file cert.pem (or `verify = /path/cert.pem` in \
the profile) also trusts the CA certificates in that file, or the server's own self-signed certificate \
(fetch it with `openssl s_client -showcerts -connect host:443`); --insecure (or `verify = false`) disables \
verification.\n\n\
Examples:\n  cloudstack listZones\n  cloudstack --json listTemplates templatefilter=self\n  \
cloudstack deployVirtualMachine zoneid=Z templateid=T serviceofferingid=S\n  \
cloudstack --no-wait extractTemplate id=T mode=HTTP_DOWNLOAD\n  \
cloudstack simulator --port 8080   (run `cloudstack simulator --help` for its options)\n\n\
Exit status: 0 success, 1 API or job error, 2 usage or configuration error."
)]
struct Cli {
    /// Profile (ini section) to use; the default is $CLOUDSTACK_REGION, else `cloudstack`.
    /// Ignored, as by `cs`, when CLOUDSTACK_ENDPOINT is set (unless CLOUDSTACK_OVERRIDES is).
    #[arg(long, short = 'p', visible_alias = "region", env = "CLOUDSTACK_REGION")]
    profile: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Do not wait for async jobs: print the job id and return.
    #[arg(long)]
    no_wait: bool,
    /// Draw no spinner while waiting for a job (it is drawn on standard error only when it is a
    /// terminal).
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Give up waiting for a job after this many seconds (default 1800).
    #[arg(long, value_name = "SECS")]
    job_timeout: Option<u64>,
    /// Send as POST (form body) instead of GET.
    #[arg(long)]
    post: bool,
    /// Also trust the CA certificate(s) in this PEM file, or the server's own self-signed
    /// certificate (repeatable).
    #[arg(long, value_name = "PEM")]
    ca_file: Vec<std::path::PathBuf>,
    /// Do not verify the server's TLS certificate (dangerous).
    #[arg(long, conflicts_with = "ca_file")]
    insecure: bool,
    /// The API command, e.g. listZones, deployVirtualMachine; or `simulator`.
    #[arg(value_name = "COMMAND")]
    command: String,
    /// Parameters as key=value.
    #[arg(
        value_name = "KEY=VALUE",
        allow_hyphen_values = true,
        trailing_var_arg = true
    )]
    params: Vec<String>,
}

fn main() -> ExitCode {
    examples::log::init("cloudstack");
    // `cloudstack [--json] simulator ...` hands everything after `simulator` to the simulator's
    // own parser, so `cloudstack simulator --help` shows the simulator's options.
    let args: Vec<String> = std::env::args().collect();
    let flags = args
        .iter()
        .skip(1)
        .take_while(|a| a.as_str() == "--json")
        .count();
    if args.get(1 + flags).map(String::as_str) == Some("simulator") {
        return sim::run(&args[2 + flags..], flags > 0);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(&Error::Io {
                path: "tokio runtime".into(),
                source: e,
            });
        }
    };
    match rt.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &Error) -> ExitCode {
    let mut msg = format!("cloudstack: error: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    eprintln!("{msg}");
    let usage = matches!(
        e,
        Error::Config { .. } | Error::InvalidRequest { .. } | Error::Io { .. }
    );
    ExitCode::from(if usage { 2 } else { 1 })
}

async fn run(cli: &Cli) -> cloudstack_client::Result<()> {
    let params = Params::from_kv_args(&cli.params).map_err(|word| Error::InvalidRequest {
        command: cli.command.clone(),
        reason: format!("expected key=value, got {word:?}"),
    })?;
    // Like the `cs` command, a region is always named (default `cloudstack`), so a missing section
    // is an error rather than silently nothing.
    let region = cli.profile.as_deref().unwrap_or("cloudstack");
    let mut builder = ClientBuilder::from_env_profile(Some(region));
    if let Some(t) = cli.job_timeout {
        builder = builder.with_config(cloudstack_client::ConfigKey::JobTimeout, t.to_string());
    }
    if cli.post {
        builder = builder.with_method(cloudstack_client::command::MethodPolicy::Post);
    }
    for f in &cli.ca_file {
        let pem = std::fs::read(f).map_err(|source| Error::Io {
            path: f.display().to_string(),
            source,
        })?;
        builder = builder.with_root_certificate_pem(pem);
    }
    if cli.insecure {
        builder = builder.with_insecure_tls(true);
    }
    let client = builder.build()?;
    let command = cli.command.as_str();
    let paginate = command.to_ascii_lowercase().starts_with("list")
        && !command.eq_ignore_ascii_case("listApis")
        && params.get("page").is_none();
    if paginate {
        let items = client.list_all_vec(command, params).await?;
        output::print_list(&items, cli.json);
        return Ok(());
    }
    let answer = client.request(command, &params).await?;
    let job_id =
        cloudstack_client::response::lenient_string(answer.get("jobid").unwrap_or(&Value::Null));
    match job_id {
        Some(job_id) if answer.get("count").is_none() && !cli.no_wait => {
            let result = wait(&client, &job_id, command, cli.quiet).await?;
            output::print_value(&result, cli.json);
        }
        _ => output::print_value(&answer, cli.json),
    }
    Ok(())
}

async fn wait(
    client: &Client,
    job_id: &str,
    command: &str,
    quiet: bool,
) -> cloudstack_client::Result<Value> {
    let display = Display::new(!quiet);
    let bar = display.spinner("cloudstack", &format!("{command} job {job_id} started"));
    let mut on_progress = bar.job_status();
    let outcome = client
        .wait_job_with(job_id, command, &mut on_progress)
        .await;
    bar.finish();
    Ok(outcome?
        .raw
        .get("jobresult")
        .cloned()
        .unwrap_or(Value::Null))
}
