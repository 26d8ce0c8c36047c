//! `register`, `deploy`, `export` and the CloudStack checks of `verify`, over cloudstack-client.

use cloudstack_client::job::JobConfig;
use cloudstack_client::template::{RegisterTemplate, Zones};
use cloudstack_client::{Client, Params};

use crate::config::Config;
use crate::error::PipelineError;
use crate::hypervisor::ImageFormat;
use crate::plan::Step;
use crate::state::{DeployOut, ExportOut, RegisterOut};

use super::Ctx;

/// Build a client from the `[cloudstack]` settings.
pub(crate) fn client(cfg: &Config, step: Step) -> Result<Client, PipelineError> {
    let s = cfg.cloudstack(step)?;
    let job = JobConfig {
        timeout: s.timeout,
        initial_interval: std::time::Duration::from_millis(200),
        ..JobConfig::default()
    };
    let builder = Client::builder()
        .with_endpoint(s.endpoint)
        .with_credentials(s.api_key, s.secret_key.expose())
        .with_job_config(job);
    let tls = &s.tls;
    crate::tls::cloudstack(builder, tls, step)?
        .build()
        .map_err(|e| match (&e, &tls.ca_file) {
            // The client calls its CA option by cs's ini key; the pipeline's is another.
            (cloudstack_client::Error::Config { key, .. }, Some(path)) if key == "verify" => {
                PipelineError::failed(
                    step,
                    format!(
                        "{} ({}) {} cannot be used to trust the CloudStack endpoint",
                        tls.ca_key,
                        tls.ca_flag,
                        path.display()
                    ),
                    e,
                )
            }
            _ => cs_error(step, "cannot configure the CloudStack client", e),
        })
}

/// Map a client error, keeping the status and errorcode for the hints.
pub(crate) fn cs_error(step: Step, context: &str, e: cloudstack_client::Error) -> PipelineError {
    use cloudstack_client::Error as E;
    let (status, code, check) = match &e {
        E::Api {
            http_status,
            errorcode,
            ..
        } => (Some(*http_status), Some(errorcode.to_string()), false),
        E::Unauthorized { .. } => (Some(401), None, false),
        E::JobFailed { errorcode, .. } => (None, Some(errorcode.to_string()), true),
        E::TemplateNotReady { .. } | E::TemplateDownloadFailed { .. } => (None, None, true),
        _ => (None, None, false),
    };
    PipelineError::Failed {
        step,
        context: context.to_owned(),
        status,
        code,
        check,
        source: Box::new(e),
    }
}

/// Find the zone's id by name.
async fn zone_id(c: &Client, step: Step, name: &str) -> Result<String, PipelineError> {
    let zones = c
        .list_zones(Params::new())
        .await
        .map_err(|e| cs_error(step, "listZones failed", e))?;
    let names: Vec<String> = zones.iter().filter_map(|z| z.name.clone()).collect();
    zones
        .into_iter()
        .find(|z| z.name.as_deref() == Some(name))
        .map(|z| z.id)
        .ok_or_else(|| PipelineError::NotFound {
            step,
            what: "zone",
            name: name.to_owned(),
            available: names,
        })
}

/// `register`: registerTemplate with the object URL, the hypervisor and its format (OVA, QCOW2
/// or VHD) and, when known, the published file's SHA-256 as `checksum` (CloudStack then
/// verifies its download), then wait until it is ready in the zone.
pub(crate) async fn register(
    ctx: &mut Ctx<'_>,
    url: &str,
    sha256: Option<&str>,
) -> Result<RegisterOut, PipelineError> {
    let step = Step::Register;
    let cfg = ctx.cfg;
    let s = cfg.cloudstack(step)?;
    let hypervisor = cfg.hypervisor()?;
    let format = hypervisor.format();
    let os_name = Config::required(
        &cfg.cloudstack.os_type,
        step,
        "cloudstack.os_type",
        "--os-type",
    )?;
    let c = client(cfg, step)?;
    let zone = zone_id(&c, step, &s.zone).await?;
    let os_types = c
        .list_os_types(Params::new())
        .await
        .map_err(|e| cs_error(step, "listOsTypes failed", e))?;
    let descriptions: Vec<String> = os_types
        .iter()
        .filter_map(|o| o.description.clone())
        .collect();
    let os = os_types
        .into_iter()
        .find(|o| {
            o.description
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case(&os_name))
        })
        .ok_or_else(|| PipelineError::NotFound {
            step,
            what: "OS type",
            name: os_name.clone(),
            available: descriptions,
        })?;
    let name = cfg.template_name();
    let zones = Zones::one(&zone);
    let mut request = RegisterTemplate::new(
        &name,
        format.api_name(),
        hypervisor.api_name(),
        &os.id,
        url,
        zones.clone(),
    )
    .with_param("isextractable", "true");
    if let Some(hex) = sha256 {
        request = request.with_sha256(hex);
    }
    let template = c
        .register_template_with(&request)
        .await
        .map_err(|e| cs_error(step, "registerTemplate failed", e))?
        .into_iter()
        .next()
        .ok_or_else(|| PipelineError::Check {
            step,
            what: "registerTemplate answered without a template".into(),
            hint: None,
        })?;
    ctx.printer.line(&format!(
        "            template {} registered as {format} for {hypervisor}{}; waiting until CloudStack has downloaded it",
        template.id,
        if sha256.is_some() {
            " with the file's SHA-256 as checksum"
        } else {
            ""
        }
    ));
    let wait = ctx
        .printer
        .progress()
        .spinner("register", "waiting for the template");
    let ready = c
        .wait_template_ready_with(&template.id, &zones, &mut wait.template_status())
        .await
        .map_err(|e| cs_error(step, "the template did not become ready", e))?
        .swap_remove(0);
    ctx.check(
        "template ready",
        ready.isready == Some(true),
        format!(
            "template {} status {}",
            ready.id,
            ready.status.as_deref().unwrap_or("-")
        ),
    );
    Ok(RegisterOut {
        template_id: ready.id,
        template_name: name,
        zone_id: zone,
    })
}

/// `deploy`: deployVirtualMachine with the service offering looked up by name; wait for the job.
pub(crate) async fn deploy(
    ctx: &mut Ctx<'_>,
    template_id: &str,
) -> Result<DeployOut, PipelineError> {
    let step = Step::Deploy;
    let cfg = ctx.cfg;
    let s = cfg.cloudstack(step)?;
    let offering_name = Config::required(
        &cfg.cloudstack.service_offering,
        step,
        "cloudstack.service_offering",
        "--service-offering",
    )?;
    let c = client(cfg, step)?;
    let zone = zone_id(&c, step, &s.zone).await?;
    let offerings = c
        .list_service_offerings(Params::new())
        .await
        .map_err(|e| cs_error(step, "listServiceOfferings failed", e))?;
    let names: Vec<String> = offerings.iter().filter_map(|o| o.name.clone()).collect();
    let offering = offerings
        .into_iter()
        .find(|o| o.name.as_deref() == Some(offering_name.as_str()))
        .ok_or_else(|| PipelineError::NotFound {
            step,
            what: "service offering",
            name: offering_name.clone(),
            available: names,
        })?;
    let vm_name = cfg.vm_name();
    let _wait = ctx
        .printer
        .progress()
        .spinner("deploy", "deployVirtualMachine job pending");
    let vm = c
        .deploy_virtual_machine(
            Params::new()
                .set("zoneid", &zone)
                .set("templateid", template_id)
                .set("serviceofferingid", &offering.id)
                .set("name", &vm_name)
                .set("displayname", &vm_name),
        )
        .await
        .map_err(|e| cs_error(step, "deployVirtualMachine failed", e))?;
    let ip = vm
        .extra
        .get("nic")
        .and_then(|n| n.get(0))
        .and_then(|n| n.get("ipaddress"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let state = vm.state.clone().unwrap_or_default();
    ctx.check(
        "vm running",
        state == "Running",
        format!("vm {} state {state}", vm.id),
    );
    Ok(DeployOut {
        vm_id: vm.id.clone(),
        vm_name: vm.name.clone().unwrap_or(vm_name),
        ip,
    })
}

/// `export`: extractTemplate (HTTP_DOWNLOAD), wait, decode the URL; note the template's format
/// as listTemplates gives it (what the export holds, checked by `transfer`).
pub(crate) async fn export(
    ctx: &mut Ctx<'_>,
    template_id: &str,
) -> Result<ExportOut, PipelineError> {
    let step = Step::Export;
    let cfg = ctx.cfg;
    let s = cfg.cloudstack(step)?;
    let c = client(cfg, step)?;
    let zone = zone_id(&c, step, &s.zone).await?;
    let _wait = ctx
        .printer
        .progress()
        .spinner("export", "extractTemplate job pending");
    let extracted = c
        .extract_template(template_id, Params::new().set("zoneid", &zone))
        .await
        .map_err(|e| cs_error(step, "extractTemplate failed", e))?;
    let url = extracted
        .download_url()
        .ok_or_else(|| PipelineError::Check {
            step,
            what: "extractTemplate answered without a URL".into(),
            hint: None,
        })?;
    let is_http = url.starts_with("http://") || url.starts_with("https://");
    ctx.check("export url is http(s)", is_http, url.clone());
    if !is_http {
        return Err(PipelineError::Check {
            step,
            what: format!("export URL `{url}` is not an http(s) URL"),
            hint: None,
        });
    }
    let listed = c
        .list_templates(
            Params::new()
                .set("id", template_id)
                .set("templatefilter", "self"),
        )
        .await
        .map_err(|e| cs_error(step, "listTemplates failed", e))?;
    let named = listed.iter().find_map(|t| t.format.clone());
    let format = match named.as_deref() {
        Some(f) => {
            let known = [ImageFormat::Ova, ImageFormat::Qcow2, ImageFormat::Vhd]
                .into_iter()
                .find(|k| k.api_name().eq_ignore_ascii_case(f));
            if known.is_none() {
                return Err(PipelineError::Check {
                    step,
                    what: format!(
                        "template {template_id} has format {f}: the pipeline checks OVA, QCOW2 \
                         and VHD exports only"
                    ),
                    hint: None,
                });
            }
            known
        }
        None => None,
    };
    if let Some(f) = format {
        ctx.printer
            .line(&format!("            the template is stored as {f}"));
    }
    Ok(ExportOut { url, format })
}

/// The CloudStack half of `verify`: the template is ready and the VM runs.
pub(crate) async fn verify(
    ctx: &mut Ctx<'_>,
    template_id: Option<&str>,
    vm_id: Option<&str>,
) -> Result<(), PipelineError> {
    let step = Step::Verify;
    if template_id.is_none() && vm_id.is_none() {
        return Ok(());
    }
    let c = client(ctx.cfg, step)?;
    if let Some(id) = template_id {
        let list = c
            .list_templates(Params::new().set("id", id))
            .await
            .map_err(|e| cs_error(step, "listTemplates failed", e))?;
        let ready = list.iter().any(|t| t.isready == Some(true));
        ctx.check(
            "template listed and ready",
            ready,
            format!("template {id}: {} listed", list.len()),
        );
    }
    if let Some(id) = vm_id {
        let list = c
            .list_virtual_machines(Params::new().set("id", id))
            .await
            .map_err(|e| cs_error(step, "listVirtualMachines failed", e))?;
        let state = list
            .first()
            .and_then(|v| v.state.clone())
            .unwrap_or_else(|| "absent".into());
        ctx.check(
            "vm running",
            state == "Running",
            format!("vm {id} state {state}"),
        );
    }
    Ok(())
}
