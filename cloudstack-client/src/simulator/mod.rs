//! An in-process CloudStack API simulator for tests, demos and offline automation work
//! (cargo feature `simulator`).
//!
//! It listens on a loopback port, verifies every request's signature and `expires` the way
//! `ApiServer.verifyRequest` does (answering 401 with CloudStack's error body on a mismatch), keeps
//! zones, OS types, service offerings, templates, VMs and async jobs in memory (seeded with realistic
//! data), and implements: listZones, listOsTypes, listServiceOfferings, listTemplates,
//! registerTemplate, deleteTemplate, extractTemplate, deployVirtualMachine, listVirtualMachines,
//! startVirtualMachine, stopVirtualMachine, destroyVirtualMachine, queryAsyncJobResult,
//! listAsyncJobs and listApis.
//!
//! * Async jobs stay pending for [`SimulatorConfig::pending_polls`] polls (or a duration), and can be
//!   told to fail or be cancelled ([`Simulator::fail_next_job`], [`Simulator::cancel_next_job`]).
//! * `registerTemplate` really downloads the URL in the background and marks the template ready only
//!   when the download finished and (for `format=OVA`) the bytes are a tar whose first entry is an
//!   `.ovf`; otherwise the status reports the failure.
//! * `extractTemplate` serves the stored bytes from its own `/userdata/<id>.ova` URL, written with
//!   `%2F` for `/` as CloudStack 2.2–3.0 did.
//! * Lists paginate (`page`/`pagesize` ≤ 500, `{}` for an empty page); missing or invalid
//!   parameters get 431, unknown commands 432.
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

mod state;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::command::form_decode;
use crate::sign::{self, SignatureAlgorithm};
use crate::{ClientBuilder, Error, Result};
use state::{SideEffect, State};

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
                    for t in &mut st.templates {
                        if t.get("isready") == Some(&Value::Bool(false))
                            && t.get("status")
                                .and_then(Value::as_str)
                                .is_some_and(|s| !s.contains("ail"))
                        {
                            t.insert(
                                "status".into(),
                                json!("Failed: download interrupted by a simulator restart"),
                            );
                        }
                    }
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
            .spawn(move || rt.block_on(serve(listener, sh, rx)))
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

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let sh = shared.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(sh.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

type Resp = Response<Full<Bytes>>;

fn json_response(status: u16, body: &Value, desc: Option<&str>) -> Resp {
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json; charset=UTF-8");
    if let Some(d) = desc {
        b = b.header("x-description", d.replace(['\r', '\n'], " "));
    }
    b.body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> std::result::Result<Resp, Infallible> {
    shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = req.uri().path().to_owned();
    if let Some(file) = path.strip_prefix("/userdata/") {
        return Ok(serve_extract(&shared, file));
    }
    if path.trim_end_matches('/') != "/client/api" {
        return Ok(Response::builder()
            .status(404)
            .body(Full::new(Bytes::from_static(b"not found")))
            .unwrap_or_default());
    }
    let query = req.uri().query().unwrap_or("").to_owned();
    let is_form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    // servlet semantics: the parameter map holds query and form body (first value wins), then
    // utf8Fixup overwrites with the query string's values
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    if is_form {
        for (k, v) in form_decode(&String::from_utf8_lossy(&body)) {
            params.entry(k).or_insert(v);
        }
    }
    let mut from_query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in form_decode(&query) {
        from_query.entry(k).or_insert(v);
    }
    params.extend(from_query);
    Ok(api(&shared, params))
}

fn serve_extract(shared: &Shared, file: &str) -> Resp {
    let token = file.trim_end_matches(".ova");
    let tid = shared.lock().extracts.get(token).cloned();
    match tid.and_then(|t| shared.blob(&t)) {
        Some(bytes) => Response::builder()
            .status(200)
            .header("content-type", "application/octet-stream")
            .body(Full::new(bytes))
            .unwrap_or_default(),
        None => Response::builder()
            .status(404)
            .body(Full::new(Bytes::from_static(b"no such extract")))
            .unwrap_or_default(),
    }
}

const UNAUTHORIZED: &str = "unable to verify user credentials and/or request signature";

fn api(shared: &Arc<Shared>, params: BTreeMap<String, String>) -> Resp {
    let command = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("command"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let wrapper = |cmd: &str| {
        if cmd.is_empty() {
            "errorresponse".to_owned()
        } else {
            format!("{}response", cmd.to_lowercase())
        }
    };
    let reply = |status: u16, inner: Value| {
        let key = if status == 432 {
            "errorresponse".to_owned()
        } else {
            wrapper(&command)
        };
        let desc = if status != 200 {
            inner
                .get("errortext")
                .and_then(Value::as_str)
                .map(str::to_owned)
        } else {
            None
        };
        json_response(status, &json!({ key: inner }), desc.as_deref())
    };
    if !verify(&shared.cfg, &params) {
        return reply(
            401,
            json!({"uuidList": [], "errorcode": 401, "errortext": UNAUTHORIZED}),
        );
    }
    if command.is_empty() {
        return reply(
            432,
            json!({"uuidList": [], "errorcode": 432, "cserrorcode": 9999, "errortext": "no command specified"}),
        );
    }
    // the API works on lowercased names after verification (ParamUnpackWorker)
    let lower: BTreeMap<String, String> = params
        .into_iter()
        .map(|(k, v)| (k.to_lowercase(), v))
        .collect();
    let mut st = shared.lock();
    if st.knobs.throttle_next > 0 {
        st.knobs.throttle_next -= 1;
        let ms = st.knobs.throttle_retry_ms;
        let text = format!(
            "The given user has reached his/her account api limit, please retry after {ms} ms."
        );
        return reply(
            429,
            json!({"uuidList": [], "errorcode": 429, "cserrorcode": 9999, "errortext": text}),
        );
    }
    if st.knobs.fail_next > 0 {
        st.knobs.fail_next -= 1;
        let status = st.knobs.fail_status;
        return Response::builder()
            .status(status)
            .header("content-type", "text/html")
            .body(Full::new(Bytes::from(format!(
                "<html><body><h1>{status} Service Unavailable</h1></body></html>"
            ))))
            .unwrap_or_default();
    }
    let ((status, inner), effects) = st.dispatch(&command, &lower, &shared.base_url);
    let mutating = !crate::retry::is_read_only(&command)
        || command.eq_ignore_ascii_case("queryAsyncJobResult");
    if mutating {
        shared.save(&st);
    }
    drop(st);
    for e in effects {
        match e {
            SideEffect::Download { template_id, url } => {
                let sh = shared.clone();
                tokio::spawn(download(sh, template_id, url));
            }
        }
    }
    reply(status, inner)
}

/// `ApiServer.verifyRequest`: api key known, signature present and equal (HMAC-SHA1 or -SHA512 of
/// the string to sign), and for `signatureVersion=3` an `expires` that parses and is not past.
fn verify(cfg: &SimulatorConfig, params: &BTreeMap<String, String>) -> bool {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let (Some(key), Some(signature)) = (get("apikey"), get("signature")) else {
        return false;
    };
    if key != cfg.api_key {
        return false;
    }
    if get("signatureversion") == Some("3") {
        match get("expires").and_then(sign::parse_expires) {
            Some(t) if t >= SystemTime::now() => {}
            _ => return false,
        }
    }
    let sts = sign::string_to_sign(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    [SignatureAlgorithm::HmacSha1, SignatureAlgorithm::HmacSha512]
        .iter()
        .any(|alg| {
            sign::constant_time_eq(
                signature,
                &sign::mac_base64(*alg, cfg.secret_key.as_bytes(), &sts),
            )
        })
}

async fn download(shared: Arc<Shared>, template_id: String, url: String) {
    let set_status = |status: String, ready: bool, size: Option<usize>| {
        let mut st = shared.lock();
        if let Some(t) = st.template_mut(&template_id) {
            t.insert("status".into(), json!(status));
            t.insert("isready".into(), json!(ready));
            if let Some(n) = size {
                t.insert("size".into(), json!(n));
                t.insert("physicalsize".into(), json!(n));
            }
        }
        shared.save(&st);
    };
    set_status("0% Downloaded".into(), false, None);
    let fetched = async {
        let resp = shared
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !resp.status().is_success() {
            return Err(format!("http status {}", resp.status().as_u16()));
        }
        resp.bytes().await.map_err(|e| e.without_url().to_string())
    }
    .await;
    let format = shared
        .lock()
        .templates
        .iter()
        .find(|t| t.get("id").and_then(Value::as_str) == Some(&template_id))
        .and_then(|t| t.get("format").and_then(Value::as_str).map(str::to_owned));
    match fetched {
        Err(e) => set_status(format!("Failed to download template: {e}"), false, None),
        Ok(bytes) if format.as_deref() == Some("OVA") && !state::looks_like_ova(&bytes) => {
            set_status("Failed post download script: the file is not an OVA (no tar archive with an .ovf first)".into(), false, None)
        }
        Ok(bytes) => {
            if let Some(dir) = &shared.cfg.state_dir {
                let path = dir.join("templates").join(&template_id);
                if let Err(e) = std::fs::write(&path, &bytes) {
                    tracing::warn!(error = %e, "simulator: cannot store template bytes");
                }
            }
            let n = bytes.len();
            shared.blobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(template_id.clone(), bytes);
            set_status("Download Complete".into(), true, Some(n));
        }
    }
}
