//! `ovakit.cloudstack`: the CloudStack API client, async-job waiting, pagination and the
//! in-process simulator.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudstack_client::job::{JobOutcome, JobProgress, JobResult, JobStatus};
use cloudstack_client::simulator::{Simulator as CoreSimulator, SimulatorConfig};
use cloudstack_client::template::{RegisterTemplate, Zones};
use cloudstack_client::{Client as CoreClient, ClientBuilder, ConfigKey, ListStream, Params};
use futures::StreamExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};
use serde_json::Value;

use crate::cancel::CancelToken;
use crate::conv::{json_to_py, to_py, to_typed, typed};
use crate::errors::{Error, Result};
use crate::runtime::{Callback, Interrupt, Stop, run};

/// CloudStack parameters from Python keyword arguments: values become strings (`True` →
/// `"true"`); `None` values are left out.
fn params(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Params> {
    let mut p = Params::new();
    if let Some(kwargs) = kwargs {
        for (k, v) in kwargs.iter() {
            if v.is_none() {
                continue;
            }
            let key: String = k.extract()?;
            let value = if v.is_instance_of::<PyBool>() {
                if v.extract::<bool>()? {
                    "true"
                } else {
                    "false"
                }
                .to_owned()
            } else {
                v.str()?.to_string()
            };
            p.insert(key, value);
        }
    }
    Ok(p)
}

fn status_name(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Pending => "pending",
        JobStatus::Succeeded => "succeeded",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "cancelled",
        _ => "unknown",
    }
}

/// A finished async job as a ``JobOutcome``: ``job_id``, ``status``, ``result`` (the job's
/// object, text or None) and ``raw`` (the whole queryAsyncJobResult answer).
fn outcome_to_py(py: Python<'_>, o: &JobOutcome) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("job_id", &o.job_id)?;
    d.set_item("status", status_name(o.status))?;
    let result = match &o.result {
        JobResult::None => py.None(),
        _ => json_to_py(py, &o.object())?,
    };
    d.set_item("result", result)?;
    d.set_item("raw", json_to_py(py, &o.raw)?)?;
    typed(py, "JobOutcome", d.into_any().unbind())
}

fn progress_to_py(py: Python<'_>, p: &JobProgress) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("job_id", &p.job_id)?;
    d.set_item("command", &p.command)?;
    d.set_item("polls", p.polls)?;
    d.set_item("elapsed", p.elapsed.as_secs_f64())?;
    d.set_item("jobprocstatus", p.jobprocstatus)?;
    d.set_item("instance_id", &p.instance_id)?;
    typed(py, "JobProgress", d.into_any().unbind())
}

/// A job-progress callback for the crate, calling a Python callable with a ``JobProgress``; it
/// stops the wait once the callable raised.
fn job_progress(callback: &Callback) -> impl FnMut(&JobProgress) -> ControlFlow<()> + Send + '_ {
    move |p: &JobProgress| {
        let dict = Python::attach(|py| progress_to_py(py, p));
        match dict {
            Ok(d) => callback.call((d,)),
            Err(e) => callback.raise(e),
        }
        if callback.raised() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// A CloudStack API client: exact request signing, retries, async-job waiting, pagination.
///
/// ``Client(endpoint, api_key, secret_key, **options)``, ``Client.from_env()`` (environment and
/// ``~/.cloudstack.ini``, as ``cs`` reads them) or ``Client.from_config(profile)``. Options are
/// the ``cs`` ini keys: ``timeout``, ``method``, ``expiration``, ``signature_algorithm``,
/// ``verify``, ``dangerous_no_tls_verify``, ``job_timeout``.
///
/// Calls block the calling thread without holding the GIL; Ctrl-C interrupts them, and so does
/// cancelling the ``CancelToken`` given as ``cancel=`` (every call takes one; it raises
/// ``CancelledError``).
#[pyclass(module = "ovakit.cloudstack", frozen)]
pub(crate) struct Client {
    inner: CoreClient,
}

fn build(builder: ClientBuilder, options: Option<&Bound<'_, PyDict>>) -> PyResult<Client> {
    let mut builder = builder;
    if let Some(options) = options {
        for (k, v) in options.iter() {
            if v.is_none() {
                continue;
            }
            let key: String = k.extract()?;
            let key: ConfigKey = key.parse().map_err(Error::from)?;
            let value = if v.is_instance_of::<PyBool>() {
                if v.extract::<bool>()? {
                    "true"
                } else {
                    "false"
                }
                .to_owned()
            } else {
                v.str()?.to_string()
            };
            builder = builder.with_config(key, value);
        }
    }
    Ok(Client {
        inner: builder.build().map_err(Error::from)?,
    })
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (endpoint, api_key, secret_key, **options))]
    fn new(
        endpoint: &str,
        api_key: &str,
        secret_key: &str,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        build(
            CoreClient::builder()
                .with_endpoint(endpoint)
                .with_credentials(api_key, secret_key),
            options,
        )
    }

    /// A client configured from ``CLOUDSTACK_*`` environment variables and ``cs``-style ini
    /// files (``~/.cloudstack.ini``, ``./cloudstack.ini``, ``$CLOUDSTACK_CONFIG``).
    ///
    /// Raises ``ConfigError`` when nothing configures an endpoint and keys.
    #[staticmethod]
    #[pyo3(signature = (**options))]
    fn from_env(options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        build(ClientBuilder::from_env(), options)
    }

    /// Like ``from_env`` with an explicit ini profile (section).
    #[staticmethod]
    #[pyo3(signature = (profile = None, **options))]
    fn from_config(profile: Option<&str>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        build(ClientBuilder::from_env_profile(profile), options)
    }

    /// The API endpoint URL.
    #[getter]
    fn endpoint(&self) -> &str {
        self.inner.endpoint()
    }

    /// The API key (the secret key is never shown).
    #[getter]
    fn api_key(&self) -> &str {
        self.inner.api_key()
    }

    /// Send one API command and return the response object (the ``…response`` wrapper
    /// removed), e.g. ``cs.request("listZones", available=True)``.
    ///
    /// Raises ``CloudStackError`` (``.command``, ``.errorcode``, ``.errortext``).
    #[pyo3(signature = (command, /, *, cancel = None, **params))]
    fn request(
        &self,
        py: Python<'_>,
        command: &str,
        cancel: Option<PyRef<'_, CancelToken>>,
        params: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let p = self::params(params)?;
        let client = self.inner.clone();
        let interrupt = Interrupt::new(cancel.as_deref());
        let v = run(py, &interrupt, Stop::Drop, async move {
            Ok(client.request(command, &p).await?)
        })?;
        json_to_py(py, &v)
    }

    /// Send an asynchronous command and wait for its job; returns the job's result object.
    ///
    /// ``progress(JobProgress)`` is called after each poll (``job_id``, ``polls``, ``elapsed``...);
    /// raising from it stops waiting. Raises ``AsyncJobError`` when the job fails and
    /// ``JobTimeoutError`` past the client's job timeout.
    #[pyo3(signature = (command, /, *, progress = None, cancel = None, **params))]
    fn call_and_wait(
        &self,
        py: Python<'_>,
        command: &str,
        progress: Option<Py<PyAny>>,
        cancel: Option<PyRef<'_, CancelToken>>,
        params: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let p = self::params(params)?;
        let client = self.inner.clone();
        let interrupt = Interrupt::new(cancel.as_deref());
        let callback = Callback::new(progress, Arc::clone(&interrupt));
        let v = run(py, &interrupt, Stop::Drop, async {
            let mut on_progress = job_progress(&callback);
            Ok(client
                .call_and_wait_with(command, &p, &mut on_progress)
                .await?)
        })?;
        json_to_py(py, &v)
    }

    /// Wait for async job ``job_id`` (started by ``command``, named in errors) to finish.
    ///
    /// Returns a ``JobOutcome`` with ``job_id``, ``status``, ``result`` and ``raw``. Raises
    /// ``AsyncJobError`` / ``JobTimeoutError`` like ``call_and_wait``.
    #[pyo3(signature = (job_id, command = "queryAsyncJobResult", *, progress = None, cancel = None))]
    fn wait_job(
        &self,
        py: Python<'_>,
        job_id: &str,
        command: &str,
        progress: Option<Py<PyAny>>,
        cancel: Option<PyRef<'_, CancelToken>>,
    ) -> PyResult<Py<PyAny>> {
        let client = self.inner.clone();
        let interrupt = Interrupt::new(cancel.as_deref());
        let callback = Callback::new(progress, Arc::clone(&interrupt));
        let outcome = run(py, &interrupt, Stop::Drop, async {
            let mut on_progress = job_progress(&callback);
            Ok(client
                .wait_job_with(job_id, command, &mut on_progress)
                .await?)
        })?;
        outcome_to_py(py, &outcome)
    }

    /// Iterate over every item of a ``list*`` command, fetching pages lazily.
    ///
    /// ``for vm in cs.list_all("listVirtualMachines", state="Running"): ...``; ``cancel``
    /// stops the page being fetched (and every later one) with ``CancelledError``.
    #[pyo3(signature = (command, /, *, cancel = None, **params))]
    fn list_all(
        &self,
        command: &str,
        cancel: Option<Py<CancelToken>>,
        params: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<ListIter> {
        let p = self::params(params)?;
        Ok(ListIter {
            stream: Mutex::new(Some(self.inner.list_all(command, p))),
            cancel,
        })
    }

    fn __repr__(&self) -> String {
        format!("Client(endpoint={:?})", self.inner.endpoint())
    }
}

/// ``zoneids`` as the client's zones: ``["-1"]`` is every zone, as CloudStack writes it.
fn zones(zoneids: Vec<String>) -> Zones {
    if zoneids.len() == 1 && zoneids[0] == "-1" {
        Zones::All
    } else {
        Zones::These(zoneids)
    }
}

/// The typed ``registerTemplate`` request (CloudStack 4.20's template API) and its per-zone wait.
#[pymethods]
impl Client {
    /// ``registerTemplate`` with the 4.20-era parameters typed and checked before anything is
    /// sent: ``zoneids`` (``["-1"]`` for every zone), ``checksum`` (``{SHA-256}hex``; the server
    /// verifies its download against it), ``arch`` (``x86_64``, ``aarch64``),
    /// ``directdownload`` (KVM), ``deployasis`` (VMware); other parameters as keywords.
    /// Returns at once with one ``Template`` per zone (``isready`` false): wait with
    /// ``wait_template_ready_in``. Raises ``CloudStackError`` without sending anything for a
    /// malformed request (a checksum that is not ``{ALGORITHM}hex``, an unknown arch, no zone).
    /// Never retried.
    #[pyo3(signature = (name, format, hypervisor, ostypeid, url, *, zoneids, displaytext = None, checksum = None, arch = None, directdownload = None, deployasis = None, cancel = None, **params))]
    #[allow(clippy::too_many_arguments)]
    fn register_template_checked(
        &self,
        py: Python<'_>,
        name: String,
        format: String,
        hypervisor: String,
        ostypeid: String,
        url: String,
        zoneids: Vec<String>,
        displaytext: Option<String>,
        checksum: Option<String>,
        arch: Option<String>,
        directdownload: Option<bool>,
        deployasis: Option<bool>,
        cancel: Option<PyRef<'_, CancelToken>>,
        params: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let mut request =
            RegisterTemplate::new(name, format, hypervisor, ostypeid, url, zones(zoneids));
        if let Some(text) = displaytext {
            request = request.with_displaytext(text);
        }
        request.checksum = checksum;
        request.arch = arch;
        request.directdownload = directdownload;
        request.deployasis = deployasis;
        for (k, v) in self::params(params)?.iter() {
            request = request.with_param(k, v);
        }
        let client = self.inner.clone();
        let interrupt = Interrupt::new(cancel.as_deref());
        let rows = run(py, &interrupt, Stop::Drop, async move {
            Ok(client.register_template_with(&request).await?)
        })?;
        to_typed(py, "Template", &rows)
    }

    /// Waits until template ``template_id`` is ready in each of ``zoneids`` (``["-1"]``, the
    /// default: every zone it is listed in); returns one ``Template`` per zone. Raises
    /// ``CloudStackError`` with the server's text when a download fails (a checksum that does
    /// not match, an unreachable URL) or the template is not ready by the job timeout.
    #[pyo3(signature = (template_id, zoneids = None, *, cancel = None))]
    fn wait_template_ready_in(
        &self,
        py: Python<'_>,
        template_id: &str,
        zoneids: Option<Vec<String>>,
        cancel: Option<PyRef<'_, CancelToken>>,
    ) -> PyResult<Py<PyAny>> {
        let zones = zones(zoneids.unwrap_or_else(|| vec!["-1".to_owned()]));
        let client = self.inner.clone();
        let interrupt = Interrupt::new(cancel.as_deref());
        let rows = run(py, &interrupt, Stop::Drop, async move {
            Ok(client.wait_template_ready_in(template_id, &zones).await?)
        })?;
        to_typed(py, "Template", &rows)
    }
}

/// The typed calls of [`cloudstack_client::typed_calls!`] as Python methods: the same names, the
/// entry's Python signature (``Params`` arguments are ``**kwargs``), each result as its class of
/// ``ovakit.results`` (or a list of them). A call whose result type has no class here does not
/// compile: [`ToPyValue`] names the class of each.
mod typed {
    use super::*;
    use cloudstack_client::types::{
        ApiInfo, AsyncJob, ExtractedTemplate, OsType, ServiceOffering, Template, VirtualMachine,
        Zone,
    };

    /// A Python-side argument turned into the client's.
    trait IntoCall {
        type Out;
        fn into_call(self) -> PyResult<Self::Out>;
    }

    impl<'a> IntoCall for Option<&'a Bound<'a, PyDict>> {
        type Out = cloudstack_client::Params;
        fn into_call(self) -> PyResult<Self::Out> {
            super::params(self)
        }
    }

    impl<'a> IntoCall for &'a str {
        type Out = &'a str;
        fn into_call(self) -> PyResult<Self::Out> {
            Ok(self)
        }
    }

    impl IntoCall for bool {
        type Out = bool;
        fn into_call(self) -> PyResult<Self::Out> {
            Ok(self)
        }
    }

    /// A call's result as a Python value.
    trait ToPyValue {
        fn to_py_value(&self, py: Python<'_>) -> PyResult<Py<PyAny>>;
    }

    /// The class of `ovakit.results` each result type becomes.
    macro_rules! result_class {
        ($($t:ty => $class:literal),* $(,)?) => {$(
            impl ToPyValue for $t {
                fn to_py_value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                    to_typed(py, $class, self)
                }
            }
            impl ToPyValue for Vec<$t> {
                fn to_py_value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                    to_typed(py, $class, self)
                }
            }
        )*};
    }
    result_class!(
        Zone => "Zone",
        OsType => "OsType",
        ServiceOffering => "ServiceOffering",
        Template => "Template",
        VirtualMachine => "VirtualMachine",
        AsyncJob => "AsyncJob",
        ApiInfo => "ApiInfo",
    );

    /// Calls that return nothing return None.
    impl ToPyValue for () {
        fn to_py_value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
            Ok(py.None())
        }
    }

    /// ``extractTemplate``: the server's ``url`` and ``download_url``, the same URL made usable
    /// (old servers escape its slashes).
    impl ToPyValue for ExtractedTemplate {
        fn to_py_value(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
            let d = super::to_py(py, self)?;
            d.bind(py)
                .cast::<PyDict>()?
                .set_item("download_url", self.download_url())?;
            typed(py, "ExtractedTemplate", d)
        }
    }

    /// Builds one ``#[pymethods]`` block per typed call, munching its arguments into the types
    /// pyo3 expects (``**kwargs`` must be spelled ``Option<&Bound<PyDict>>``, and comes last,
    /// after ``cancel``), then its signature (the keyword-only ``cancel = None`` is added before
    /// ``**kwargs``, or at the end).
    macro_rules! py_call {
        (@munch $docs:tt $name:ident $sig:tt [$($decl:tt)*] [$($arg:ident)*] $kw:tt $a:ident : Params $(, $($rest:tt)*)?) => {
            py_call!(@munch $docs $name $sig [$($decl)*] [$($arg)* $a] [$a: Option<&Bound<'_, PyDict>>,] $($($rest)*)?);
        };
        (@munch $docs:tt $name:ident $sig:tt [$($decl:tt)*] [$($arg:ident)*] $kw:tt $a:ident : str $(, $($rest:tt)*)?) => {
            py_call!(@munch $docs $name $sig [$($decl)* $a: &str,] [$($arg)* $a] $kw $($($rest)*)?);
        };
        (@munch $docs:tt $name:ident $sig:tt [$($decl:tt)*] [$($arg:ident)*] $kw:tt $a:ident : bool $(, $($rest:tt)*)?) => {
            py_call!(@munch $docs $name $sig [$($decl)* $a: bool,] [$($arg)* $a] $kw $($($rest)*)?);
        };
        (@munch $docs:tt $name:ident ($($sig:tt)*) [$($decl:tt)*] $args:tt [$($kw:tt)*]) => {
            py_call!(@sig $docs $name cancel [$($decl)* cancel: Option<PyRef<'_, CancelToken>>, $($kw)*] $args [] $($sig)*);
        };
        (@sig $docs:tt $name:ident $c:ident $decl:tt $args:tt [$($acc:tt)*] * * $kw:ident) => {
            py_call!(@emit $docs $name $c ($($acc)* *, cancel = None, **$kw) $decl $args);
        };
        (@sig $docs:tt $name:ident $c:ident $decl:tt $args:tt []) => {
            py_call!(@emit $docs $name $c (*, cancel = None) $decl $args);
        };
        (@sig $docs:tt $name:ident $c:ident $decl:tt $args:tt [$($acc:tt)+]) => {
            py_call!(@emit $docs $name $c ($($acc)+, *, cancel = None) $decl $args);
        };
        (@sig $docs:tt $name:ident $c:ident $decl:tt $args:tt [$($acc:tt)*] $t:tt $($rest:tt)*) => {
            py_call!(@sig $docs $name $c $decl $args [$($acc)* $t] $($rest)*);
        };
        (@emit [$($doc:literal)*] $name:ident $c:ident $sig:tt [$($decl:tt)*] [$($arg:ident)*]) => {
            #[pymethods]
            impl Client {
                $(#[doc = $doc])*
                #[pyo3(signature = $sig)]
                fn $name(&self, py: Python<'_>, $($decl)*) -> PyResult<Py<PyAny>> {
                    $(let $arg = IntoCall::into_call($arg)?;)*
                    let client = self.inner.clone();
                    let interrupt = Interrupt::new($c.as_deref());
                    let v = run(py, &interrupt, Stop::Drop, async move {
                        Ok(client.$name($($arg),*).await?)
                    })?;
                    v.to_py_value(py)
                }
            }
        };
    }

    macro_rules! py_calls {
        ($(
            $(#[doc = $doc:literal])*
            fn $name:ident ( $($a:ident : $kind:ident),* ) -> $ret:ty;
            py $sig:tt;
            |$c:ident| $body:expr;
        )*) => {
            $(py_call!(@munch [$($doc)*] $name $sig [] [] [] $($a : $kind),*);)*
        };
    }

    cloudstack_client::typed_calls!(py_calls);
}

/// Iterator returned by ``Client.list_all``: one dict per item, pages fetched lazily.
#[pyclass(module = "ovakit.cloudstack")]
pub(crate) struct ListIter {
    stream: Mutex<Option<ListStream>>,
    cancel: Option<Py<CancelToken>>,
}

#[pymethods]
impl ListIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let mut guard = self.stream.lock().unwrap_or_else(|p| p.into_inner());
        let Some(stream) = guard.as_mut() else {
            return Ok(None);
        };
        let interrupt = Interrupt::new(self.cancel.as_ref().map(Py::get));
        let next: Result<Option<Value>> = run(py, &interrupt, Stop::Drop, async {
            match stream.next().await {
                Some(item) => Ok(Some(item?)),
                None => Ok(None),
            }
        });
        match next {
            Ok(Some(v)) => Ok(Some(json_to_py(py, &v)?)),
            Ok(None) => {
                *guard = None;
                Ok(None)
            }
            Err(e) => {
                *guard = None;
                Err(e.into())
            }
        }
    }
}

/// An in-process CloudStack API simulator on ``127.0.0.1`` for your own tests.
///
/// It verifies request signatures, runs async jobs (pending for a few polls), downloads
/// registered templates from their URL and serves extracted ones. Use it as a context manager::
///
///     with Simulator() as sim:
///         cs = sim.client()
///         cs.list_zones()
#[pyclass(module = "ovakit.cloudstack", frozen)]
pub(crate) struct Simulator {
    inner: Mutex<Option<CoreSimulator>>,
    endpoint: String,
    api_key: String,
    secret_key: String,
}

impl Simulator {
    fn with<T>(&self, f: impl FnOnce(&CoreSimulator) -> T) -> PyResult<T> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(sim) => Ok(f(sim)),
            None => Err(PyRuntimeError::new_err("the simulator has been stopped")),
        }
    }
}

#[pymethods]
impl Simulator {
    /// Start a simulator (``port=0`` picks a free port). ``state_dir`` keeps its state and
    /// template bytes on disk across restarts.
    #[new]
    #[pyo3(signature = (*, port = 0, api_key = None, secret_key = None, pending_polls = 2, state_dir = None))]
    fn new(
        py: Python<'_>,
        port: u16,
        api_key: Option<String>,
        secret_key: Option<String>,
        pending_polls: u32,
        state_dir: Option<std::path::PathBuf>,
    ) -> PyResult<Self> {
        let defaults = SimulatorConfig::default();
        let cfg = SimulatorConfig {
            port,
            api_key: api_key.unwrap_or(defaults.api_key),
            secret_key: secret_key.unwrap_or(defaults.secret_key),
            pending_polls,
            state_dir,
        };
        let sim = py
            .detach(|| CoreSimulator::start(cfg))
            .map_err(Error::from)?;
        Ok(Self {
            endpoint: sim.endpoint(),
            api_key: sim.api_key().to_owned(),
            secret_key: sim.secret_key().to_owned(),
            inner: Mutex::new(Some(sim)),
        })
    }

    /// The API endpoint URL (``http://127.0.0.1:PORT/client/api``).
    #[getter]
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The API key clients must use.
    #[getter]
    fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The secret key clients must sign with.
    #[getter]
    fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// A ``Client`` for this simulator (options as for ``Client``).
    #[pyo3(signature = (**options))]
    fn client(&self, options: Option<&Bound<'_, PyDict>>) -> PyResult<Client> {
        let builder = self.with(|s| s.client_builder())?;
        build(builder, options)
    }

    /// Polls for which new async jobs stay pending.
    fn set_pending_polls(&self, n: u32) -> PyResult<()> {
        self.with(|s| s.set_pending_polls(n))
    }

    /// New jobs complete at the first poll after ``seconds`` (None: poll count only).
    fn set_job_duration(&self, seconds: Option<f64>) -> PyResult<()> {
        self.with(|s| s.set_job_duration(seconds.map(Duration::from_secs_f64)))
    }

    /// The next async job fails with ``errorcode`` and ``errortext``.
    fn fail_next_job(&self, errorcode: u32, errortext: &str) -> PyResult<()> {
        self.with(|s| s.fail_next_job(errorcode, errortext))
    }

    /// The next async job is cancelled.
    fn cancel_next_job(&self) -> PyResult<()> {
        self.with(|s| s.cancel_next_job())
    }

    /// The next ``n`` requests get HTTP 429 asking to retry after ``retry_after_ms``.
    fn throttle_next(&self, n: u32, retry_after_ms: u64) -> PyResult<()> {
        self.with(|s| s.throttle_next(n, retry_after_ms))
    }

    /// The next ``n`` requests get HTTP ``status`` with an HTML body, as from a proxy.
    fn fail_next(&self, n: u32, status: u16) -> PyResult<()> {
        self.with(|s| s.fail_next(n, status))
    }

    /// Requests received so far (API calls and downloads).
    #[getter]
    fn request_count(&self) -> PyResult<u64> {
        self.with(|s| s.request_count())
    }

    /// Whether the server is running.
    #[getter]
    fn running(&self) -> bool {
        self.inner.lock().map(|g| g.is_some()).unwrap_or(false)
    }

    /// Stop the server and wait for its thread (idempotent).
    fn stop(&self, py: Python<'_>) {
        let sim = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(sim) = sim {
            py.detach(|| sim.shutdown());
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.stop(py);
        false
    }

    fn __repr__(&self) -> String {
        format!("Simulator(endpoint={:?})", self.endpoint)
    }
}

/// Register the `ovakit.cloudstack` classes on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Client>()?;
    m.add_class::<ListIter>()?;
    m.add_class::<Simulator>()?;
    Ok(())
}
