//! A blocking client with the same method names as the async [`crate::Client`].
//!
//! It drives the async client on its own current-thread tokio runtime. **Never call it inside an
//! async runtime** (from a `tokio` task or `async fn`): blocking there panics or stalls the
//! executor. Use [`crate::Client`] in async code.

use serde_json::Value;

use crate::job::JobOutcome;
use crate::template::{RegisterTemplate, TemplateProgress, Zones};
use crate::types::{
    ApiInfo, AsyncJob, ExtractedTemplate, OsType, ServiceOffering, Template, VirtualMachine, Zone,
};
use crate::{CancelToken, ClientBuilder, Error, ListStream, Params, ProgressFn, Result};

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

    /// This client, its every call watching `token` (see [`crate::Client::with_cancel`]):
    /// cancelling it from another thread ends a running call with [`Error::Cancelled`].
    ///
    /// ```no_run
    /// use cloudstack_client::{blocking::Client, CancelToken, Params};
    ///
    /// let token = CancelToken::new();
    /// let cs = Client::from_env()?.with_cancel(&token);
    /// let stopper = token.clone();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_secs(600));
    ///     stopper.cancel(); // give up waiting after ten minutes
    /// });
    /// let vm = cs.deploy_virtual_machine(Params::from([("zoneid", "z"), ("templateid", "t"), ("serviceofferingid", "s")]));
    /// # Ok::<(), cloudstack_client::Error>(())
    /// ```
    pub fn with_cancel(mut self, token: &CancelToken) -> Self {
        self.inner = self.inner.with_cancel(token);
        self
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
        on_progress: ProgressFn<'_>,
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

    /// See [`crate::Client::wait_template_ready_in`].
    ///
    /// # Errors
    /// As the async method.
    pub fn wait_template_ready_in(&self, id: &str, zones: &Zones) -> Result<Vec<Template>> {
        self.rt
            .block_on(self.inner.wait_template_ready_in(id, zones))
    }

    /// See [`crate::Client::wait_template_ready_with`].
    ///
    /// # Errors
    /// As the async method.
    pub fn wait_template_ready_with(
        &self,
        id: &str,
        zones: &Zones,
        on_progress: ProgressFn<'_, TemplateProgress>,
    ) -> Result<Vec<Template>> {
        self.rt
            .block_on(self.inner.wait_template_ready_with(id, zones, on_progress))
    }

    /// See [`crate::Client::register_template_with`].
    ///
    /// # Errors
    /// As the async method.
    pub fn register_template_with(&self, request: &RegisterTemplate) -> Result<Vec<Template>> {
        self.rt.block_on(self.inner.register_template_with(request))
    }
}

/// Builds the blocking client's typed calls from [`crate::typed_calls!`]: each forwards to the
/// async method of the same name.
macro_rules! blocking_calls {
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
                /// As the async method.
                pub fn $name(&self, $($arg: crate::call_arg!($kind)),*) -> Result<$ret> {
                    self.rt.block_on(self.inner.$name($($arg),*))
                }
            )*
        }
    };
}

crate::typed_calls!(blocking_calls);

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
