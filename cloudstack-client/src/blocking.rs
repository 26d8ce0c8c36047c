//! A blocking client with the same method names as the async [`crate::Client`].
//!
//! It drives the async client on its own current-thread tokio runtime. **Never call it inside an
//! async runtime** (from a `tokio` task or `async fn`): blocking there panics or stalls the
//! executor. Use [`crate::Client`] in async code.

use serde_json::Value;

use crate::job::{JobOutcome, JobProgress};
use crate::types::{
    ApiInfo, AsyncJob, ExtractedTemplate, OsType, ServiceOffering, Template, VirtualMachine, Zone,
};
use crate::{ClientBuilder, Error, ListStream, Params, Result};

/// The blocking client.
///
/// # Examples
/// ```no_run
/// use cloudstack_client::{blocking::Client, Params};
/// let cs = Client::from_env()?;
/// for t in cs.list_all("listTemplates", Params::new().set("templatefilter", "self")) {
///     println!("{}", t?["name"]);
/// }
/// # Ok::<(), cloudstack_client::Error>(())
/// ```
#[derive(Debug)]
pub struct Client {
    inner: crate::Client,
    rt: tokio::runtime::Runtime,
}

impl Client {
    /// Wraps an async client (builds a current-thread runtime).
    ///
    /// # Errors
    /// [`Error::Io`] when the runtime cannot be created.
    pub fn new(inner: crate::Client) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: "tokio runtime".into(),
                source,
            })?;
        Ok(Self { inner, rt })
    }

    /// Builds from a [`ClientBuilder`].
    ///
    /// # Errors
    /// As [`ClientBuilder::build`].
    pub fn from_builder(b: ClientBuilder) -> Result<Self> {
        Self::new(b.build()?)
    }

    /// From the environment and `~/.cloudstack.ini`.
    ///
    /// # Errors
    /// As [`crate::Client::from_env`].
    pub fn from_env() -> Result<Self> {
        Self::new(crate::Client::from_env()?)
    }

    /// The async client inside.
    pub fn async_client(&self) -> &crate::Client {
        &self.inner
    }

    /// See [`crate::Client::request`].
    ///
    /// # Errors
    /// As the async method.
    pub fn request(&self, command: &str, params: &Params) -> Result<Value> {
        self.rt.block_on(self.inner.request(command, params))
    }

    /// See [`crate::Client::list_all`]: an iterator fetching page after page.
    pub fn list_all(&self, command: &str, params: Params) -> ListIter<'_> {
        ListIter {
            rt: &self.rt,
            stream: self.inner.list_all(command, params),
        }
    }

    /// See [`crate::Client::call_and_wait`].
    ///
    /// # Errors
    /// As the async method.
    pub fn call_and_wait(&self, command: &str, params: &Params) -> Result<Value> {
        self.rt.block_on(self.inner.call_and_wait(command, params))
    }

    /// See [`crate::Client::call_and_wait_with`].
    ///
    /// # Errors
    /// As the async method.
    pub fn call_and_wait_with(
        &self,
        command: &str,
        params: &Params,
        on_progress: &mut (dyn FnMut(&JobProgress) + Send),
    ) -> Result<Value> {
        self.rt
            .block_on(self.inner.call_and_wait_with(command, params, on_progress))
    }

    /// See [`crate::Client::wait_job`].
    ///
    /// # Errors
    /// As the async method.
    pub fn wait_job(&self, job_id: &str, command: &str) -> Result<JobOutcome> {
        self.rt.block_on(self.inner.wait_job(job_id, command))
    }

    /// See [`crate::Client::wait_template_ready`].
    ///
    /// # Errors
    /// As the async method.
    pub fn wait_template_ready(&self, id: &str) -> Result<Template> {
        self.rt.block_on(self.inner.wait_template_ready(id))
    }

    /// See [`crate::Client::list_zones`].
    ///
    /// # Errors
    /// As the async method.
    pub fn list_zones(&self, params: Params) -> Result<Vec<Zone>> {
        self.rt.block_on(self.inner.list_zones(params))
    }

    /// See [`crate::Client::list_os_types`].
    ///
    /// # Errors
    /// As the async method.
    pub fn list_os_types(&self, params: Params) -> Result<Vec<OsType>> {
        self.rt.block_on(self.inner.list_os_types(params))
    }

    /// See [`crate::Client::list_service_offerings`].
    ///
    /// # Errors
    /// As the async method.
    pub fn list_service_offerings(&self, params: Params) -> Result<Vec<ServiceOffering>> {
        self.rt.block_on(self.inner.list_service_offerings(params))
    }

    /// See [`crate::Client::list_templates`].
    ///
    /// # Errors
    /// As the async method.
    pub fn list_templates(&self, params: Params) -> Result<Vec<Template>> {
        self.rt.block_on(self.inner.list_templates(params))
    }

    /// See [`crate::Client::register_template`].
    ///
    /// # Errors
    /// As the async method.
    pub fn register_template(&self, params: Params) -> Result<Template> {
        self.rt.block_on(self.inner.register_template(params))
    }

    /// See [`crate::Client::delete_template`].
    ///
    /// # Errors
    /// As the async method.
    pub fn delete_template(&self, id: &str, params: Params) -> Result<()> {
        self.rt.block_on(self.inner.delete_template(id, params))
    }

    /// See [`crate::Client::extract_template`].
    ///
    /// # Errors
    /// As the async method.
    pub fn extract_template(&self, id: &str, params: Params) -> Result<ExtractedTemplate> {
        self.rt.block_on(self.inner.extract_template(id, params))
    }

    /// See [`crate::Client::deploy_virtual_machine`].
    ///
    /// # Errors
    /// As the async method.
    pub fn deploy_virtual_machine(&self, params: Params) -> Result<VirtualMachine> {
        self.rt.block_on(self.inner.deploy_virtual_machine(params))
    }

    /// See [`crate::Client::list_virtual_machines`].
    ///
    /// # Errors
    /// As the async method.
    pub fn list_virtual_machines(&self, params: Params) -> Result<Vec<VirtualMachine>> {
        self.rt.block_on(self.inner.list_virtual_machines(params))
    }

    /// See [`crate::Client::start_virtual_machine`].
    ///
    /// # Errors
    /// As the async method.
    pub fn start_virtual_machine(&self, id: &str) -> Result<VirtualMachine> {
        self.rt.block_on(self.inner.start_virtual_machine(id))
    }

    /// See [`crate::Client::stop_virtual_machine`].
    ///
    /// # Errors
    /// As the async method.
    pub fn stop_virtual_machine(&self, id: &str, forced: bool) -> Result<VirtualMachine> {
        self.rt
            .block_on(self.inner.stop_virtual_machine(id, forced))
    }

    /// See [`crate::Client::destroy_virtual_machine`].
    ///
    /// # Errors
    /// As the async method.
    pub fn destroy_virtual_machine(&self, id: &str, expunge: bool) -> Result<VirtualMachine> {
        self.rt
            .block_on(self.inner.destroy_virtual_machine(id, expunge))
    }

    /// See [`crate::Client::query_async_job_result`].
    ///
    /// # Errors
    /// As the async method.
    pub fn query_async_job_result(&self, job_id: &str) -> Result<AsyncJob> {
        self.rt.block_on(self.inner.query_async_job_result(job_id))
    }

    /// See [`crate::Client::list_async_jobs`].
    ///
    /// # Errors
    /// As the async method.
    pub fn list_async_jobs(&self, params: Params) -> Result<Vec<AsyncJob>> {
        self.rt.block_on(self.inner.list_async_jobs(params))
    }

    /// See [`crate::Client::list_apis`].
    ///
    /// # Errors
    /// As the async method.
    pub fn list_apis(&self, params: Params) -> Result<Vec<ApiInfo>> {
        self.rt.block_on(self.inner.list_apis(params))
    }
}

/// Iterator over the items of a `list*` command (see [`Client::list_all`]).
pub struct ListIter<'a> {
    rt: &'a tokio::runtime::Runtime,
    stream: ListStream,
}

impl std::fmt::Debug for ListIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListIter").finish_non_exhaustive()
    }
}

impl Iterator for ListIter<'_> {
    type Item = Result<Value>;
    fn next(&mut self) -> Option<Self::Item> {
        use futures::StreamExt;
        self.rt.block_on(self.stream.next())
    }
}
