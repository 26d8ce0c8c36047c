//! `pipeline demo`: the whole flow with no configuration, against servers started in-process —
//! an S3 server (s3s-fs, data in a folder) and the CloudStack simulator — on a small generated
//! disk. `--serve` keeps the servers up and writes a `pipeline.toml` for `pipeline run`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cloudstack_client::simulator::{Simulator, SimulatorConfig};
use hyper_util::rt::TokioIo;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

use crate::config::{Config, Secret};
use crate::hypervisor::Hypervisor;
use crate::plan::{Overrides, Request};
use crate::report::Printer;

/// Access key of the demo's S3 server.
const ACCESS_KEY: &str = "ovakit-demo-access";
/// Secret key of the demo's S3 server.
const SECRET_KEY: &str = "ovakit-demo-secret";
/// The demo bucket.
const BUCKET: &str = "ovakit-demo";

/// Options of `pipeline demo`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    /// Print a JSON report on stdout (progress goes to stderr).
    #[arg(long)]
    pub(crate) json: bool,
    /// Keep the demo's data in this folder instead of a temporary one.
    #[arg(long)]
    pub(crate) dir: Option<PathBuf>,
    /// Only start the servers, write DIR/pipeline.toml, print its path and wait until standard
    /// input closes (for trying `pipeline run --config` by hand, and for tests).
    #[arg(long)]
    pub(crate) serve: bool,
    /// Size of the generated disk in MiB.
    #[arg(long, default_value_t = 8)]
    pub(crate) disk_mib: u64,
    /// KVM (a QCOW2 template), XenServer (a VHD) or VMware (an OVA), in any case.
    #[arg(long, default_value = "VMware")]
    pub(crate) hypervisor: Hypervisor,
}

/// Signed requests for everything; anonymous GET/HEAD of objects, as a bucket policy granting
/// public read would (s3s-fs has no ACLs). CloudStack downloads the template anonymously.
struct PublicRead;

#[async_trait::async_trait]
impl S3Access for PublicRead {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> s3s::S3Result<()> {
        if cx.credentials().is_some() {
            return Ok(());
        }
        let op = cx.s3_op().name();
        if matches!(op, "GetObject" | "HeadObject")
            && matches!(cx.s3_path(), s3s::path::S3Path::Object { .. })
        {
            return Ok(());
        }
        Err(s3s::s3_error!(AccessDenied, "Signature is required"))
    }
}

/// A local S3 server: s3s-fs over `root` on a loopback port.
pub(crate) struct LocalS3 {
    /// `http://127.0.0.1:<port>`.
    pub(crate) endpoint: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start s3s-fs with the demo keys, a public-read policy and `bucket` created.
pub(crate) async fn start_s3(root: &Path, bucket: &str) -> std::io::Result<LocalS3> {
    std::fs::create_dir_all(root.join(bucket))?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut b = S3ServiceBuilder::new(fs);
    b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    b.set_access(PublicRead);
    let service = b.build();
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    Ok(LocalS3 {
        endpoint: format!("http://{addr}"),
        task,
    })
}

/// Write a raw disk of `mib` MiB: a boot-sector-like header, some text, runs of data and zeros.
pub(crate) fn write_disk(path: &Path, mib: u64) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut block = vec![0u8; 1 << 20];
    for i in 0..mib {
        block.fill(0);
        if i % 2 == 0 {
            // Half of each even MiB holds patterned data; the rest stays zero (sparse grains).
            let mut x: u32 = 0x9e37_79b9 ^ (i as u32);
            for byte in &mut block[..1 << 19] {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *byte = (x % 61) as u8 + b'0';
            }
        }
        if i == 0 {
            block[510] = 0x55;
            block[511] = 0xaa;
        }
        f.write_all(&block)?;
    }
    f.flush()
}

/// The demo's configuration for servers at the given endpoints.
fn demo_config(dir: &Path, s3: &str, sim: &Simulator, hypervisor: Hypervisor) -> Config {
    let mut cfg = Config {
        name: Some("ovakit-demo".into()),
        state_file: Some(dir.join("pipeline-state.json")),
        base_dir: dir.to_path_buf(),
        hypervisor: Some(hypervisor.api_name().into()),
        ..Config::default()
    };
    cfg.prepare.disk = Some(dir.join("disk.raw"));
    if hypervisor == Hypervisor::VMware {
        cfg.prepare.guest_os = Some("ubuntu64Guest".into());
        cfg.prepare.cpus = Some(1);
        cfg.prepare.memory_mb = Some(512);
    }
    cfg.s3.endpoint = Some(s3.to_owned());
    cfg.s3.bucket = Some(BUCKET.into());
    cfg.s3.access_key = Some(ACCESS_KEY.into());
    cfg.s3.secret_key = Some(Secret::new(SECRET_KEY));
    cfg.cloudstack.endpoint = Some(sim.endpoint());
    cfg.cloudstack.api_key = Some(sim.api_key().to_owned());
    cfg.cloudstack.secret_key = Some(Secret::new(sim.secret_key()));
    cfg.cloudstack.zone = Some("tokyo-1".into());
    cfg.cloudstack.os_type = Some("Ubuntu 22.04 LTS".into());
    cfg.cloudstack.service_offering = Some("Small Instance".into());
    cfg.cloudstack.timeout_seconds = Some(300);
    cfg
}

/// The same configuration as a `pipeline.toml`.
fn demo_toml(dir: &Path, s3: &str, sim: &Simulator, hypervisor: Hypervisor) -> String {
    let q = |p: &Path| toml_str(&p.display().to_string());
    let ovf = if hypervisor == Hypervisor::VMware {
        "guest_os = \"ubuntu64Guest\"\ncpus = 1\nmemory_mb = 512\n"
    } else {
        ""
    };
    format!(
        r#"# Written by `pipeline demo --serve`: a local S3 server and the CloudStack simulator.
name = "ovakit-demo"
state_file = {state}
hypervisor = "{hypervisor}"

[prepare]
disk = {disk}
{ovf}
[s3]
endpoint = {s3}
bucket = "{BUCKET}"
access_key = "{ACCESS_KEY}"
secret_key = "{SECRET_KEY}"

[cloudstack]
endpoint = {cs}
api_key = {key}
secret_key = {secret}
zone = "tokyo-1"
os_type = "Ubuntu 22.04 LTS"
service_offering = "Small Instance"
timeout_seconds = 300
"#,
        state = q(&dir.join("pipeline-state.json")),
        disk = q(&dir.join("disk.raw")),
        s3 = toml_str(s3),
        cs = toml_str(&sim.endpoint()),
        key = toml_str(sim.api_key()),
        secret = toml_str(sim.secret_key()),
    )
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// Run the demo; returns the exit code.
pub(crate) async fn main(args: DemoArgs) -> i32 {
    let printer = Printer { json: args.json };
    let (_tmp, dir) = match &args.dir {
        Some(d) => match std::fs::create_dir_all(d) {
            Ok(()) => (None, d.clone()),
            Err(e) => {
                eprintln!("error: cannot create {}: {e}", d.display());
                return 2;
            }
        },
        None => match tempfile::Builder::new().prefix("ovakit-demo-").tempdir() {
            Ok(t) => {
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
            Err(e) => {
                eprintln!("error: cannot create a temporary folder: {e}");
                return 2;
            }
        },
    };
    let s3 = match start_s3(&dir.join("s3"), BUCKET).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the local S3 server: {e}");
            return 2;
        }
    };
    let sim = match Simulator::start(SimulatorConfig::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the CloudStack simulator: {e}");
            return 2;
        }
    };
    if let Err(e) = write_disk(&dir.join("disk.raw"), args.disk_mib.max(1)) {
        eprintln!("error: cannot write the demo disk: {e}");
        return 2;
    }
    printer.line(&format!(
        "demo folder:          {}{}",
        dir.display(),
        if args.dir.is_none() {
            " (removed at exit; --dir DIR keeps it)"
        } else {
            ""
        }
    ));
    printer.line(&format!(
        "local S3 (s3s-fs):    {} bucket {BUCKET}",
        s3.endpoint
    ));
    printer.line(&format!("CloudStack simulator: {}", sim.endpoint()));

    if args.serve {
        let path = dir.join("pipeline.toml");
        if let Err(e) = std::fs::write(&path, demo_toml(&dir, &s3.endpoint, &sim, args.hypervisor))
        {
            eprintln!("error: cannot write {}: {e}", path.display());
            return 2;
        }
        printer.line("servers run until standard input closes (Ctrl-D) or Ctrl-C; try:");
        printer.line(&format!("  pipeline run --config {}", path.display()));
        printer.line(&format!("config: {}", path.display()));
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        });
        tokio::select! {
            _ = stdin_closed => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        drop(sim);
        return 0;
    }

    printer.line(&format!(
        "disk:                 {} ({} MiB raw)",
        dir.join("disk.raw").display(),
        args.disk_mib.max(1)
    ));
    printer.line(&format!(
        "hypervisor:           {} ({} template)",
        args.hypervisor,
        args.hypervisor.format()
    ));
    printer.line("");
    let cfg = demo_config(&dir, &s3.endpoint, &sim, args.hypervisor);
    let report = crate::run::run(
        &cfg,
        Request::default(),
        &Overrides::default(),
        true,
        printer,
    )
    .await;
    drop(sim);
    report.exit_code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_toml_parses_into_the_same_settings() {
        let dir = tempfile::tempdir().unwrap();
        let sim = Simulator::start(SimulatorConfig::default()).unwrap();
        for h in Hypervisor::ALL {
            let text = demo_toml(dir.path(), "http://127.0.0.1:1", &sim, h);
            let from_file = Config::parse(&text).unwrap();
            let built = demo_config(dir.path(), "http://127.0.0.1:1", &sim, h);
            assert_eq!(from_file.fingerprints(), built.fingerprints(), "{h}");
            assert_eq!(from_file.state_file(), built.state_file());
            assert_eq!(from_file.hypervisor().unwrap(), h);
        }
    }

    #[test]
    fn generated_disk_has_the_requested_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.raw");
        write_disk(&p, 3).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 3 << 20);
    }
}
