//! The typed calls, declared once.
//!
//! [`typed_calls!`](crate::typed_calls) hands the list below to a consumer macro: the async
//! [`crate::Client`] builds its methods from each entry's body, the blocking
//! [`crate::blocking::Client`] forwards each to the async method, and the Python bindings build
//! each method with the entry's Python signature. An entry is
//!
//! ```text
//! /// docs
//! fn name(arg: Type, ...) -> Return; py (python signature); |client| body;
//! ```
//!
//! where `body` is an `async` expression over `client: &Client` and the arguments. An argument's
//! type is one of `Params` (Python `**kwargs`), `str` (`&str`) or `bool`, mapped to the Rust type
//! by [`call_arg!`](crate::call_arg). Docs are `///` lines only.

/// Calls `$consumer!` with the table of typed calls (see the [module docs](crate::calls)).
#[doc(hidden)]
#[macro_export]
macro_rules! typed_calls {
    ($consumer:ident) => {
        $consumer! {
            /// `listZones` (all pages).
            fn list_zones(params: Params) -> Vec<Zone>;
            py (**params);
            |c| c.list_typed("listZones", params).await;

            /// `listOsTypes` (all pages).
            fn list_os_types(params: Params) -> Vec<OsType>;
            py (**params);
            |c| c.list_typed("listOsTypes", params).await;

            /// `listServiceOfferings` (all pages).
            fn list_service_offerings(params: Params) -> Vec<ServiceOffering>;
            py (**params);
            |c| c.list_typed("listServiceOfferings", params).await;

            /// `listTemplates` (all pages); `templatefilter` defaults to `self`.
            fn list_templates(params: Params) -> Vec<Template>;
            py (**params);
            |c| c.list_typed("listTemplates", $crate::calls::default_param(params, "templatefilter", "self")).await;

            /// `registerTemplate` from parameters (`name`, `displaytext`, `format`, `hypervisor`,
            /// `ostypeid`, `url`, `zoneid` or `zoneids`; optionally `checksum`, `arch`,
            /// `directdownload`, `deployasis`, …; see [`crate::template::RegisterTemplate`] for the
            /// checked form). Returns at once with `isready=false`: wait with `wait_template_ready`.
            /// Never retried.
            fn register_template(params: Params) -> Template;
            py (**params);
            |c| c.register_first(&params).await;

            /// Waits until template `template_id` is ready in every zone it is listed in (see
            /// [`crate::template`]); returns the first zone's row. Fails with
            /// `TemplateDownloadFailed` (the server's text) or `TemplateNotReady` (not listed, or
            /// past the job timeout).
            fn wait_template_ready(template_id: str) -> Template;
            py (template_id);
            |c| c.wait_template_ready_in(template_id, &$crate::template::Zones::All).await.map(|mut rows| rows.swap_remove(0));

            /// `deleteTemplate` and wait for its job.
            fn delete_template(id: str, params: Params) -> ();
            py (id, **params);
            |c| c.call_and_wait("deleteTemplate", &params.set("id", id)).await.map(drop);

            /// `extractTemplate` (`mode=HTTP_DOWNLOAD` unless given) and wait for its job. Use
            /// `ExtractedTemplate::download_url` for the URL.
            fn extract_template(id: str, params: Params) -> ExtractedTemplate;
            py (id, **params);
            |c| c.job_object("extractTemplate", &$crate::calls::default_param(params, "mode", "HTTP_DOWNLOAD").set("id", id)).await;

            /// `deployVirtualMachine` (needs `zoneid`, `templateid`, `serviceofferingid`) and wait
            /// for its job.
            fn deploy_virtual_machine(params: Params) -> VirtualMachine;
            py (**params);
            |c| c.job_object("deployVirtualMachine", &params).await;

            /// `listVirtualMachines` (all pages).
            fn list_virtual_machines(params: Params) -> Vec<VirtualMachine>;
            py (**params);
            |c| c.list_typed("listVirtualMachines", params).await;

            /// `startVirtualMachine` and wait.
            fn start_virtual_machine(id: str) -> VirtualMachine;
            py (id);
            |c| c.job_object("startVirtualMachine", &Params::new().set("id", id)).await;

            /// `stopVirtualMachine` (optionally `forced`) and wait.
            fn stop_virtual_machine(id: str, forced: bool) -> VirtualMachine;
            py (id, forced = false);
            |c| c.job_object("stopVirtualMachine", &$crate::calls::flag(Params::new().set("id", id), "forced", forced)).await;

            /// `destroyVirtualMachine` (optionally `expunge`) and wait.
            fn destroy_virtual_machine(id: str, expunge: bool) -> VirtualMachine;
            py (id, expunge = false);
            |c| c.job_object("destroyVirtualMachine", &$crate::calls::flag(Params::new().set("id", id), "expunge", expunge)).await;

            /// One `queryAsyncJobResult`, without waiting.
            fn query_async_job_result(job_id: str) -> AsyncJob;
            py (job_id);
            |c| $crate::types::from_value("queryAsyncJobResult", c.request("queryAsyncJobResult", &Params::new().set("jobid", job_id)).await?);

            /// `listAsyncJobs` (all pages).
            fn list_async_jobs(params: Params) -> Vec<AsyncJob>;
            py (**params);
            |c| c.list_typed("listAsyncJobs", params).await;

            /// `listApis` (one call; the server does not paginate it).
            fn list_apis(params: Params) -> Vec<ApiInfo>;
            py (**params);
            |c| c.list_one_page("listApis", &params).await;
        }
    };
}

/// The Rust type of a typed call's argument kind (`Params`, `str`, `bool`).
#[doc(hidden)]
#[macro_export]
macro_rules! call_arg {
    (Params) => {
        $crate::Params
    };
    (str) => {
        &str
    };
    (bool) => {
        bool
    };
}

/// `params` with `key=value` unless `key` is set.
#[doc(hidden)]
pub fn default_param(mut params: crate::Params, key: &str, value: &str) -> crate::Params {
    if params.get(key).is_none() {
        params.insert(key, value);
    }
    params
}

/// `params` with `key=true` when `on`.
#[doc(hidden)]
pub fn flag(mut params: crate::Params, key: &str, on: bool) -> crate::Params {
    if on {
        params.insert(key, "true");
    }
    params
}
