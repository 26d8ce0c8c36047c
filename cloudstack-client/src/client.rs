//! The async client: a thin IO shell over the sans-IO modules.

use std::collections::VecDeque;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::Stream;
use serde_json::Value;

use crate::cancel::CancelToken;
use crate::command::{self, Method, SignOptions};
use crate::config::{ClientBuilder, Secret};
use crate::job::{JobConfig, JobOutcome, JobPoll, JobProgress, Step};
use crate::paginate::Pager;
use crate::response::{self, field_string};
use crate::retry::{ReadRetry, RetryConfig, Rng};
use crate::template::{RegisterTemplate, TemplateProgress, TemplateStep, TemplateWait, Zones};
use crate::types::{
    ApiInfo, AsyncJob, ExtractedTemplate, JobStarted, OsType, ServiceOffering, Template,
    VirtualMachine, Zone, from_value,
};
use crate::{Error, Params, Result};

/// A stream of list items, one page fetched at a time.
pub type ListStream = Pin<Box<dyn Stream<Item = Result<Value>> + Send + 'static>>;

/// A progress callback of a wait: called after each poll that finds the job (or template) still
/// pending, with what the poll saw. [`ControlFlow::Continue`] goes on waiting;
/// [`ControlFlow::Break`] stops the wait with [`Error::Cancelled`] (the job goes on in the
/// cloud). See [`crate::cancel`].
pub type ProgressFn<'a, P = JobProgress> = &'a mut (dyn FnMut(&P) -> ControlFlow<()> + Send);

/// The callback of callers that do not watch a wait: always goes on.
pub fn no_progress<P>(_: &P) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// An async CloudStack API client. Cheap to clone (shared connection pool).
///
/// # Examples
/// ```no_run
/// # async fn demo() -> cloudstack_client::Result<()> {
/// use cloudstack_client::{Client, Params};
/// let cs = Client::from_env()?;
/// for zone in cs.list_zones(Params::new()).await? {
///     println!("{} {}", zone.id, zone.name.unwrap_or_default());
/// }
/// let vm = cs
///     .deploy_virtual_machine(Params::from([("zoneid", "z"), ("templateid", "t"), ("serviceofferingid", "s")]))
///     .await?; // waits for the async job
/// println!("{:?}", vm.state);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// What every call of this handle watches ([`Client::with_cancel`]).
    cancel: Option<CancelToken>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: String,
    /// `endpoint` parsed once, when it has no query and no fragment (each GET then only appends
    /// its query instead of parsing the whole URL again).
    endpoint_url: Option<reqwest::Url>,
    api_key: String,
    secret: Secret,
    sign: SignOptions,
    retry: RetryConfig,
    job: JobConfig,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("api_key", &self.inner.api_key)
            .field("secret", &self.inner.secret)
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from the environment and `~/.cloudstack.ini` (see [`crate::config`]):
    /// `ClientBuilder::from_env().build()`.
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration is missing or invalid.
    pub fn from_env() -> Result<Self> {
        ClientBuilder::from_env().build()
    }

    /// A handle on the same client (same connections and settings) whose every call watches
    /// `token`: once it is cancelled, a running request, retry pause, job or template wait of
    /// this handle ends at once with [`Error::Cancelled`], and later calls fail before they
    /// send anything. Other handles of the client are not affected. See [`crate::cancel`].
    ///
    /// ```
    /// # async fn demo(cs: cloudstack_client::Client) {
    /// use cloudstack_client::{CancelToken, Error, Params};
    ///
    /// let token = CancelToken::new();
    /// let stopper = token.clone(); // give this to a Ctrl-C handler, another task or thread
    /// # stopper.cancel();
    /// let deployed = cs
    ///     .with_cancel(&token)
    ///     .deploy_virtual_machine(Params::from([("zoneid", "z"), ("templateid", "t"), ("serviceofferingid", "s")]))
    ///     .await;
    /// if let Err(Error::Cancelled { job_id, .. }) = &deployed {
    ///     eprintln!("stopped waiting; the job {job_id:?} goes on");
    /// }
    /// # }
    /// ```
    pub fn with_cancel(&self, token: &CancelToken) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            cancel: Some(token.clone()),
        }
    }

    /// Runs `fut` unless this handle's token is (or becomes) cancelled first; an already
    /// cancelled token wins the first poll, so `fut` is then never started.
    async fn watched<T>(
        &self,
        command: &str,
        job_id: Option<&str>,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(token) = &self.cancel else {
            return fut.await;
        };
        tokio::select! {
            biased;
            () = token.cancelled() => Err(Error::cancelled(command, job_id)),
            out = fut => out,
        }
    }

    pub(crate) fn from_builder(b: ClientBuilder) -> Result<Self> {
        let mut http = reqwest::Client::builder()
            .timeout(b.timeout.unwrap_or(Duration::from_secs(60)))
            .connect_timeout(b.connect_timeout.unwrap_or(Duration::from_secs(10)))
            .user_agent(concat!("cloudstack-client/", env!("CARGO_PKG_VERSION")));
        let mut certs = Vec::new();
        for pem in &b.extra_ca_pem {
            certs.extend(
                crate::tls::pem_certificates(pem).map_err(|reason| Error::Config {
                    key: "verify".into(),
                    reason: format!("invalid certificate: {reason}"),
                })?,
            );
        }
        for f in &b.ca_files {
            let pem = std::fs::read(f).map_err(|source| Error::Io {
                path: f.display().to_string(),
                source,
            })?;
            certs.extend(
                crate::tls::pem_certificates(&pem).map_err(|reason| Error::Config {
                    key: "verify".into(),
                    reason: format!("{}: {reason}", f.display()),
                })?,
            );
        }
        if b.insecure_tls {
            http = http.tls_danger_accept_invalid_certs(true);
        } else if !certs.is_empty() {
            let tls = crate::tls::client_config(certs).map_err(|reason| Error::Config {
                key: "verify".into(),
                reason,
            })?;
            http = http.tls_backend_preconfigured(tls);
        }
        let http = http.build().map_err(|e| Error::Config {
            key: "tls".into(),
            reason: format!("cannot build http client: {e}"),
        })?;
        let endpoint = b.endpoint.unwrap_or_default();
        let endpoint_url = reqwest::Url::parse(&endpoint)
            .ok()
            .filter(|u| !endpoint.contains(['?', '#']) && u.query().is_none());
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoint_url,
                endpoint,
                api_key: b.api_key.unwrap_or_default(),
                secret: b.secret.unwrap_or_else(|| Secret::new("")),
                sign: b.sign,
                retry: b.retry,
                job: b.job,
            }),
            cancel: None,
        })
    }

    /// The API endpoint.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The API key (not secret).
    pub fn api_key(&self) -> &str {
        &self.inner.api_key
    }

    /// The signing options in force.
    pub fn sign_options(&self) -> &SignOptions {
        &self.inner.sign
    }

    /// The job-wait configuration in force.
    pub fn job_config(&self) -> &JobConfig {
        &self.inner.job
    }

    /// Sends `command` with `params` and returns the unwrapped `<command>response` object.
    /// Read-only commands (`list*`, `query*`, `get*`) are retried on transport errors, 429 and 5xx.
    ///
    /// # Errors
    /// [`Error::Api`], [`Error::Unauthorized`], [`Error::Throttled`], [`Error::Http`],
    /// [`Error::Decode`], [`Error::InvalidRequest`].
    pub async fn request(&self, command: &str, params: &Params) -> Result<Value> {
        self.watched(command, None, self.request_with_retries(command, params))
            .await
    }

    async fn request_with_retries(&self, command: &str, params: &Params) -> Result<Value> {
        let mut retry =
            ReadRetry::new(command, &self.inner.retry, Rng::from_time(), Instant::now());
        loop {
            let e = match self.send_once(command, params).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let Some(wait) = retry.after_error(&e, Instant::now()) else {
                return Err(e);
            };
            tracing::debug!(command, attempt = retry.retries(), ?wait, error = %e, "retrying read-only call");
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(&self, command: &str, params: &Params) -> Result<Value> {
        let i = &self.inner;
        let req = command::prepare(
            command,
            params,
            &i.api_key,
            i.secret.expose().as_bytes(),
            &i.sign,
            SystemTime::now(),
        )?;
        let rb = match req.method {
            Method::Get => match &i.endpoint_url {
                Some(base) => i.http.get(with_query(base, &req.encoded)),
                None => {
                    let sep = if i.endpoint.contains('?') { '&' } else { '?' };
                    i.http.get(format!("{}{sep}{}", i.endpoint, req.encoded))
                }
            },
            Method::Post => i
                .http
                .post(&i.endpoint)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded; charset=UTF-8",
                )
                .body(req.encoded),
        };
        tracing::debug!(command, method = ?req.method, "sending");
        let resp = rb.send().await.map_err(|e| Error::http(command, e))?;
        let status = resp.status().as_u16();
        let xdesc = resp
            .headers()
            .get("x-description")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.bytes().await.map_err(|e| Error::http(command, e))?;
        response::parse(command, status, &body, xdesc.as_deref())
    }

    /// Every item of a `list*` command, fetching page after page (page from 1, `pagesize` ≤ 500,
    /// stopping at `count` or an empty page). Errors end the stream after being yielded.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(cs: cloudstack_client::Client) -> cloudstack_client::Result<()> {
    /// use futures::TryStreamExt;
    /// let all: Vec<serde_json::Value> = cs
    ///     .list_all("listTemplates", cloudstack_client::Params::new().set("templatefilter", "self"))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_all(&self, command: &str, params: Params) -> ListStream {
        struct S {
            client: Client,
            command: String,
            pager: Option<Pager>,
            buf: VecDeque<Value>,
            first_error: Option<Error>,
        }
        let (pager, first_error) = match Pager::new(command, params, 0) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        };
        let s = S {
            client: self.clone(),
            command: command.to_owned(),
            pager,
            buf: VecDeque::new(),
            first_error,
        };
        Box::pin(futures::stream::unfold(s, |mut s| async move {
            loop {
                if let Some(e) = s.first_error.take() {
                    s.pager = None;
                    return Some((Err(e), s));
                }
                if let Some(v) = s.buf.pop_front() {
                    return Some((Ok(v), s));
                }
                let pager = s.pager.as_mut()?;
                let params = pager.next_request()?;
                match s.client.request(&s.command, &params).await {
                    Ok(answer) => {
                        let items = pager.feed(&answer);
                        s.buf.extend(items);
                    }
                    Err(e) => {
                        s.pager = None;
                        return Some((Err(e), s));
                    }
                }
            }
        }))
    }

    /// [`Client::list_all`], collected.
    ///
    /// # Errors
    /// The first error of any page.
    pub async fn list_all_vec(&self, command: &str, params: Params) -> Result<Vec<Value>> {
        use futures::TryStreamExt;
        self.list_all(command, params).try_collect().await
    }

    /// Sends `command`; when the answer carries a `jobid`, waits for the job.
    ///
    /// Returns the job's `jobresult` (object or string) for async commands, the response otherwise.
    ///
    /// # Errors
    /// As [`Client::request`], plus [`Error::JobFailed`] and [`Error::JobTimeout`].
    pub async fn call_and_wait(&self, command: &str, params: &Params) -> Result<Value> {
        self.call_and_wait_with(command, params, &mut no_progress)
            .await
    }

    /// [`Client::call_and_wait`] with a progress callback called after each pending poll.
    ///
    /// # Errors
    /// As [`Client::call_and_wait`].
    pub async fn call_and_wait_with(
        &self,
        command: &str,
        params: &Params,
        on_progress: ProgressFn<'_>,
    ) -> Result<Value> {
        let answer = self.request(command, params).await?;
        match field_string(&answer, "jobid") {
            Some(job_id) if answer.get("count").is_none() => {
                let outcome = self.wait_job_with(&job_id, command, on_progress).await?;
                Ok(outcome.raw.get("jobresult").cloned().unwrap_or(Value::Null))
            }
            _ => Ok(answer),
        }
    }

    /// Waits for job `job_id` (started by `command`, used in errors) with the client's
    /// [`JobConfig`].
    ///
    /// # Errors
    /// [`Error::JobFailed`] (status 2 or 3), [`Error::JobTimeout`], or a polling error.
    pub async fn wait_job(&self, job_id: &str, command: &str) -> Result<JobOutcome> {
        self.wait_job_with(job_id, command, &mut no_progress).await
    }

    /// [`Client::wait_job`] with a progress callback; its `Break` stops the wait.
    ///
    /// # Errors
    /// As [`Client::wait_job`], and [`Error::Cancelled`] (naming the job) when the callback or
    /// the handle's token stops the wait.
    pub async fn wait_job_with(
        &self,
        job_id: &str,
        command: &str,
        on_progress: ProgressFn<'_>,
    ) -> Result<JobOutcome> {
        let mut poll = JobPoll::new(job_id, command, self.inner.job.clone(), Instant::now());
        let mut answer: Option<Value> = None;
        loop {
            match poll.step(Instant::now(), answer.take().as_ref())? {
                Step::Send(params) => {
                    let polled = self.request("queryAsyncJobResult", &params).await;
                    answer = Some(polled.map_err(|e| in_job(e, command, job_id))?);
                }
                Step::Sleep(d) => {
                    if let Some(p) = poll.progress()
                        && on_progress(p).is_break()
                    {
                        return Err(Error::cancelled(command, Some(job_id)));
                    }
                    self.watched(command, Some(job_id), sleep(d)).await?;
                }
                Step::Done(outcome) => return Ok(outcome),
            }
        }
    }

    /// Waits until template `id` is ready in `zones` (see [`crate::template`]): returns their rows
    /// once each is ready. [`Client::wait_template_ready`] waits for every zone listed.
    ///
    /// # Errors
    /// [`Error::TemplateDownloadFailed`] with the server's status text when a download fails,
    /// [`Error::TemplateNotReady`] when the template is not listed or the deadline passes, or a
    /// request error.
    pub async fn wait_template_ready_in(&self, id: &str, zones: &Zones) -> Result<Vec<Template>> {
        self.wait_template_ready_with(id, zones, &mut no_progress)
            .await
    }

    /// [`Client::wait_template_ready_in`] with a progress callback called after each poll that
    /// finds the template still downloading; its `Break` stops the wait.
    ///
    /// # Errors
    /// As [`Client::wait_template_ready_in`], and [`Error::Cancelled`] when the callback or the
    /// handle's token stops the wait.
    pub async fn wait_template_ready_with(
        &self,
        id: &str,
        zones: &Zones,
        on_progress: ProgressFn<'_, TemplateProgress>,
    ) -> Result<Vec<Template>> {
        let waiting = format!("waiting for template {id}");
        let mut wait = TemplateWait::new(id, zones.clone(), self.inner.job.clone(), Instant::now());
        let mut answer: Option<Vec<Template>> = None;
        loop {
            match wait.step(Instant::now(), answer.take().as_deref())? {
                TemplateStep::Send(params) => answer = Some(self.list_templates(params).await?),
                TemplateStep::Sleep(d) => {
                    if let Some(p) = wait.progress()
                        && on_progress(p).is_break()
                    {
                        return Err(Error::cancelled(&waiting, None));
                    }
                    self.watched(&waiting, None, sleep(d)).await?;
                }
                TemplateStep::Ready(rows) => return Ok(rows),
            }
        }
    }

    /// `registerTemplate` from a typed request (`checksum`, `arch`, `directdownload`, `zoneids`,
    /// `deployasis` checked before sending). Returns at once, one row per zone, `isready=false`:
    /// see [`Client::wait_template_ready_in`] with the request's zones.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for a malformed request, else as [`Client::request`] (never retried).
    pub async fn register_template_with(
        &self,
        request: &RegisterTemplate,
    ) -> Result<Vec<Template>> {
        let answer = self.request("registerTemplate", &request.params()?).await?;
        let page = response::list_page(&answer);
        let items = if page.items.is_empty() {
            vec![response::single_object(&answer)]
        } else {
            page.items
        };
        items
            .into_iter()
            .map(|v| from_value("registerTemplate", v))
            .collect()
    }

    async fn list_typed<T: serde::de::DeserializeOwned>(
        &self,
        command: &str,
        params: Params,
    ) -> Result<Vec<T>> {
        self.list_all_vec(command, params)
            .await?
            .into_iter()
            .map(|v| from_value(command, v))
            .collect()
    }

    async fn job_object<T: serde::de::DeserializeOwned>(
        &self,
        command: &str,
        params: &Params,
    ) -> Result<T> {
        let started: JobStarted = from_value(command, self.request(command, params).await?)?;
        let outcome = self.wait_job(&started.jobid, command).await?;
        from_value(command, outcome.object())
    }

    /// `registerTemplate`'s first template (the answer lists one per zone).
    pub(crate) async fn register_first(&self, params: &Params) -> Result<Template> {
        let answer = self.request("registerTemplate", params).await?;
        let first = response::list_page(&answer)
            .items
            .into_iter()
            .next()
            .unwrap_or_else(|| response::single_object(&answer));
        from_value("registerTemplate", first)
    }

    /// The items of one unpaginated list answer.
    pub(crate) async fn list_one_page<T: serde::de::DeserializeOwned>(
        &self,
        command: &str,
        params: &Params,
    ) -> Result<Vec<T>> {
        let answer = self.request(command, params).await?;
        response::list_page(&answer)
            .items
            .into_iter()
            .map(|v| from_value(command, v))
            .collect()
    }
}

/// A pause of a wait, as a future [`Client::watched`] can race with the token.
async fn sleep(d: Duration) -> Result<()> {
    tokio::time::sleep(d).await;
    Ok(())
}

/// `e` as stopped while waiting for `job_id` (started by `command`), when it is a cancellation.
fn in_job(e: Error, command: &str, job_id: &str) -> Error {
    match e {
        Error::Cancelled { .. } => Error::cancelled(command, Some(job_id)),
        other => other,
    }
}

/// `base` (no query, no fragment) with the query `encoded`: the URL `format!("{base}?{encoded}")`
/// parses to.
fn with_query(base: &reqwest::Url, encoded: &str) -> reqwest::Url {
    let mut url = base.clone();
    url.set_query(Some(encoded));
    url
}

/// Builds the async client's typed calls from [`crate::typed_calls!`].
macro_rules! async_calls {
    ($(
        $(#[doc = $doc:literal])*
        fn $name:ident ( $($arg:ident : $kind:ident),* ) -> $ret:ty;
        py $py:tt;
        |$c:ident| $body:expr;
    )*) => {
        impl Client {
            $(
                $(#[doc = $doc])*
                ///
                /// # Errors
                /// As [`Client::request`], and for calls that wait, [`Client::call_and_wait`].
                pub async fn $name(&self, $($arg: crate::call_arg!($kind)),*) -> Result<$ret> {
                    let $c = self;
                    $body
                }
            )*
        }
    };
}

crate::typed_calls!(async_calls);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn query_appended_as_parsed(
            endpoint in prop::sample::select(vec![
                "http://127.0.0.1:8080/client/api",
                "https://cloud.example.com/client/api/",
                "http://[::1]/client/api",
                "https://Cloud.Example.COM:443/a%20b/api",
            ]),
            params in proptest::collection::btree_map("[a-zA-Z]{1,8}", "\\PC{0,12}", 0..6),
        ) {
            let params: Params = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let req = command::prepare(
                "listZones",
                &params,
                "key",
                b"secret",
                &SignOptions::default(),
                SystemTime::UNIX_EPOCH,
            )
            .unwrap();
            let base = reqwest::Url::parse(endpoint).unwrap();
            let parsed = reqwest::Url::parse(&format!("{endpoint}?{}", req.encoded)).unwrap();
            prop_assert_eq!(with_query(&base, &req.encoded), parsed);
        }
    }
}
