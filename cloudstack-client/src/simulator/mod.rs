//! An in-process CloudStack API simulator for tests, demos and offline automation work
//! (cargo feature `simulator`).
//!
//! It listens on a loopback port and takes each request through the server's steps: the
//! servlet's parameter map (`request.rs`), `ApiServer.verifyRequest` with its own verifier
//! (`verify.rs`, no code shared with [`crate::sign`]), then the command (`state.rs`,
//! `templates.rs`, `vms.rs`, `network.rs`), declared once with its `listApis` metadata
//! (`apis.rs`). The crate's README lists the commands and has the table of what the server
//! refuses and how the simulator answers.
//!
//! * Async jobs stay pending for [`SimulatorConfig::pending_polls`] polls (or a duration), and can be
//!   told to fail or be cancelled ([`Simulator::fail_next_job`], [`Simulator::cancel_next_job`]).
//! * `registerTemplate` really downloads the URL in the background (status `Processing`, then
//!   `<n>% Downloaded`, then `Download Complete`) and marks the template ready only when the
//!   download finished, the registered `checksum` matches and (for `format=OVA`) the bytes are a
//!   tar whose first entry is an `.ovf`; otherwise the status carries the failure.
//! * `extractTemplate` serves the stored bytes, in the format they were registered and checked
//!   as, from its own `/userdata/<id>.<ext>` URL (`.ova`, `.qcow2`, `.vhd`, as the server names
//!   the link).
//! * Faults: [`Simulator::throttle_next`] (429 with "retry after N ms"), [`Simulator::fail_next`]
//!   (5xx with an HTML body, like a proxy).
//! * With [`SimulatorConfig::state_dir`] the state is saved as JSON after each change and reloaded
//!   at start.
//!
//! The server runs on its own thread and runtime, so it works from async and blocking code alike.
//!
//! # Examples
//! ```
//! use cloudstack_client::simulator::{Simulator, SimulatorConfig};
//! let sim = Simulator::start(SimulatorConfig::default()).unwrap();
//! let cs = cloudstack_client::blocking::Client::from_builder(sim.client_builder()).unwrap();
//! let zones = cs.list_zones(Default::default()).unwrap();
//! assert!(!zones.is_empty());
//! ```

mod apis;
mod network;
mod request;
mod server;
mod state;
mod templates;
mod verify;
mod vms;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{ClientBuilder, Error, Result};
use state::State;

/// Simulator settings.
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Loopback port (0 = any free port).
    pub port: u16,
    /// The API key clients must use.
    pub api_key: String,
    /// The secret key clients must sign with.
    pub secret_key: String,
    /// Polls for which a new async job stays pending (default 2).
    pub pending_polls: u32,
    /// Directory for the JSON state and template bytes (none = memory only).
    pub state_dir: Option<PathBuf>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            port: 0,
            api_key: "simulator-api-key".into(),
            secret_key: "simulator-secret-key".into(),
            pending_polls: 2,
            state_dir: None,
        }
    }
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("port", &self.port)
            .field("api_key", &self.api_key)
            .field("secret_key", &"***")
            .field("pending_polls", &self.pending_polls)
            .field("state_dir", &self.state_dir)
            .finish()
    }
}

struct Shared {
    cfg: SimulatorConfig,
    base_url: String,
    state: Mutex<State>,
    blobs: Mutex<BTreeMap<String, Bytes>>,
    http: reqwest::Client,
    requests: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn save(&self, st: &State) {
        let Some(dir) = &self.cfg.state_dir else {
            return;
        };
        let tmp = dir.join("state.json.tmp");
        let write = serde_json::to_vec_pretty(st)
            .map_err(std::io::Error::other)
            .and_then(|b| std::fs::write(&tmp, b));
        if let Err(e) = write.and_then(|()| std::fs::rename(&tmp, dir.join("state.json"))) {
            tracing::warn!(error = %e, "simulator: cannot save state");
        }
    }

    fn blob(&self, template_id: &str) -> Option<Bytes> {
        if let Some(b) = self
            .blobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(template_id)
        {
            return Some(b.clone());
        }
        let dir = self.cfg.state_dir.as_ref()?;
        std::fs::read(dir.join("templates").join(template_id))
            .ok()
            .map(Bytes::from)
    }
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("endpoint", &self.endpoint())
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Starts the simulator on `127.0.0.1:<port>` in a background thread.
    ///
    /// # Errors
    /// [`Error::Io`] when the port cannot be bound, the state directory cannot be read, or the
    /// runtime cannot start.
    pub fn start(cfg: SimulatorConfig) -> Result<Self> {
        let io = |path: &str| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", cfg.port)).map_err(io("127.0.0.1"))?;
        listener.set_nonblocking(true).map_err(io("listener"))?;
        let addr = listener.local_addr().map_err(io("listener"))?;
        let mut st = State::seeded();
        if let Some(dir) = &cfg.state_dir {
            std::fs::create_dir_all(dir.join("templates"))
                .map_err(io(&dir.display().to_string()))?;
            let file = dir.join("state.json");
            match std::fs::read(&file) {
                Ok(b) => {
                    st = serde_json::from_slice(&b).map_err(|e| Error::Io {
                        path: file.display().to_string(),
                        source: std::io::Error::other(e),
                    })?;
                    st.interrupt_downloads();
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Io {
                        path: file.display().to_string(),
                        source: e,
                    });
                }
            }
        }
        st.knobs.pending_polls = cfg.pending_polls;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| Error::Io {
                path: "http client".into(),
                source: std::io::Error::other(e),
            })?;
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            cfg,
            state: Mutex::new(st),
            blobs: Mutex::new(BTreeMap::new()),
            http,
            requests: Default::default(),
        });
        shared.save(&shared.lock());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("cloudstack-simulator")
            .build()
            .map_err(io("tokio runtime"))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("cloudstack-simulator".into())
            .spawn(move || rt.block_on(server::serve(listener, sh, rx)))
            .map_err(io("thread"))?;
        Ok(Self {
            shared,
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The API endpoint, `http://127.0.0.1:<port>/client/api`.
    pub fn endpoint(&self) -> String {
        format!("{}/client/api", self.shared.base_url)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API key.
    pub fn api_key(&self) -> &str {
        &self.shared.cfg.api_key
    }

    /// The secret key (this is a test server: printing it is its purpose).
    pub fn secret_key(&self) -> &str {
        &self.shared.cfg.secret_key
    }

    /// A client builder pointed at this simulator with its keys.
    pub fn client_builder(&self) -> ClientBuilder {
        ClientBuilder::new()
            .with_endpoint(self.endpoint())
            .with_credentials(self.api_key(), self.secret_key())
    }

    /// Polls for which new jobs stay pending.
    pub fn set_pending_polls(&self, n: u32) {
        self.shared.lock().knobs.pending_polls = n;
    }

    /// Makes new jobs complete at the first poll after `d` (on top of the pending polls);
    /// `None` restores poll-count-only behaviour.
    pub fn set_job_duration(&self, d: Option<Duration>) {
        self.shared.lock().knobs.job_duration = d;
    }

    /// The next async job fails with `errorcode` and `errortext` (`jobstatus` 2).
    pub fn fail_next_job(&self, errorcode: u32, errortext: &str) {
        self.shared.lock().knobs.next_job_outcome = Some((2, errorcode, errortext.to_owned()));
    }

    /// The next async job is cancelled (`jobstatus` 3).
    pub fn cancel_next_job(&self) {
        self.shared.lock().knobs.next_job_outcome = Some((3, 4250, "Job was cancelled".to_owned()));
    }

    /// The next `n` verified requests get HTTP 429 asking to retry after `retry_after_ms`.
    pub fn throttle_next(&self, n: u32, retry_after_ms: u64) {
        let mut st = self.shared.lock();
        st.knobs.throttle_next = n;
        st.knobs.throttle_retry_ms = retry_after_ms;
    }

    /// The next `n` verified requests get `status` (e.g. 503) with an HTML body, as from a proxy.
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut st = self.shared.lock();
        st.knobs.fail_next = n;
        st.knobs.fail_status = status;
    }

    /// Requests received so far (API and downloads).
    pub fn request_count(&self) -> u64 {
        self.shared
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// When job `job_id` completed (for measuring how fast clients notice).
    pub fn job_completed_at(&self, job_id: &str) -> Option<Instant> {
        self.shared
            .lock()
            .jobs
            .get(job_id)
            .and_then(|j| j.completed_at)
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    /// Runs until the process is interrupted (for the `cloudstack simulator` command).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}
