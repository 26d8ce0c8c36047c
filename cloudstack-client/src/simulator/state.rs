//! The simulator's in-memory cloud: objects, jobs, and the command implementations.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::sign::format_expires;

/// What a command handler wants the server to do besides answering.
#[derive(Debug)]
pub(crate) enum SideEffect {
    /// Download the template's URL in the background.
    Download { template_id: String, url: String },
}

/// A handler's answer: HTTP status and the object under `<command>response`.
pub(crate) type Answer = (u16, Value);

/// A pending or finished job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Job {
    pub(crate) jobid: String,
    pub(crate) command: String,
    pub(crate) cmd: String,
    pub(crate) instance_type: String,
    pub(crate) instance_id: String,
    pub(crate) created: String,
    pub(crate) status: u8,
    pub(crate) resultcode: u32,
    pub(crate) resulttype: Option<String>,
    pub(crate) result: Option<Value>,
    pub(crate) completed: Option<String>,
    pub(crate) remaining_polls: u32,
    pub(crate) action: Action,
    /// Injected outcome: `Some((2, code, text))` fail, `Some((3, …))` cancel.
    pub(crate) forced: Option<(u8, u32, String)>,
    #[serde(skip)]
    pub(crate) ready_at: Option<Instant>,
    #[serde(skip)]
    pub(crate) completed_at: Option<Instant>,
}

/// The effect a job applies when it completes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Action {
    Deploy(String),
    Start(String),
    Stop(String),
    Destroy(String, bool),
    DeleteTemplate(String),
    Extract(String),
}

/// Injected faults and job behaviour.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Knobs {
    pub(crate) pending_polls: u32,
    #[serde(skip)]
    pub(crate) job_duration: Option<Duration>,
    pub(crate) next_job_outcome: Option<(u8, u32, String)>,
    pub(crate) throttle_next: u32,
    pub(crate) throttle_retry_ms: u64,
    pub(crate) fail_next: u32,
    pub(crate) fail_status: u16,
}

/// All simulated objects.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) zones: Vec<Map<String, Value>>,
    pub(crate) ostypes: Vec<Map<String, Value>>,
    pub(crate) offerings: Vec<Map<String, Value>>,
    pub(crate) templates: Vec<Map<String, Value>>,
    pub(crate) vms: Vec<Map<String, Value>>,
    pub(crate) jobs: BTreeMap<String, Job>,
    /// extract token → template id
    pub(crate) extracts: BTreeMap<String, String>,
    /// template id → source URL
    pub(crate) template_urls: BTreeMap<String, String>,
    pub(crate) seq: u64,
    #[serde(skip)]
    pub(crate) knobs: Knobs,
}

pub(crate) const ACCOUNT: &str = "admin";
pub(crate) const ACCOUNT_ID: &str = "5a1c1f2e-7a57-11ee-9c3a-0242ac110002";
pub(crate) const DOMAIN_ID: &str = "5a1b6a43-7a57-11ee-9c3a-0242ac110002";

fn now_str() -> String {
    format_expires(SystemTime::now())
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn s(m: &Map<String, Value>, k: &str) -> String {
    m.get(k)
        .and_then(crate::response::lenient_string)
        .unwrap_or_default()
}

/// The commands the simulator implements: (name, isasync, required params, optional params).
pub(crate) const APIS: &[(&str, bool, &[&str], &[&str])] = &[
    (
        "listZones",
        false,
        &[],
        &["id", "name", "keyword", "page", "pagesize"],
    ),
    (
        "listOsTypes",
        false,
        &[],
        &[
            "id",
            "oscategoryid",
            "description",
            "keyword",
            "page",
            "pagesize",
        ],
    ),
    (
        "listServiceOfferings",
        false,
        &[],
        &["id", "name", "keyword", "page", "pagesize"],
    ),
    (
        "listTemplates",
        false,
        &["templatefilter"],
        &[
            "id",
            "name",
            "zoneid",
            "keyword",
            "hypervisor",
            "page",
            "pagesize",
        ],
    ),
    (
        "registerTemplate",
        false,
        &[
            "name",
            "displaytext",
            "format",
            "hypervisor",
            "ostypeid",
            "url",
            "zoneid",
        ],
        &[
            "isextractable",
            "passwordenabled",
            "ispublic",
            "isfeatured",
            "checksum",
            "details",
        ],
    ),
    ("deleteTemplate", true, &["id"], &["zoneid", "forced"]),
    ("extractTemplate", true, &["id", "mode"], &["zoneid", "url"]),
    (
        "deployVirtualMachine",
        true,
        &["serviceofferingid", "templateid", "zoneid"],
        &["name", "displayname", "userdata", "networkids", "keypair"],
    ),
    (
        "listVirtualMachines",
        false,
        &[],
        &[
            "id",
            "name",
            "state",
            "zoneid",
            "templateid",
            "keyword",
            "listall",
            "page",
            "pagesize",
        ],
    ),
    ("startVirtualMachine", true, &["id"], &[]),
    ("stopVirtualMachine", true, &["id"], &["forced"]),
    ("destroyVirtualMachine", true, &["id"], &["expunge"]),
    ("queryAsyncJobResult", false, &["jobid"], &[]),
    (
        "listAsyncJobs",
        false,
        &[],
        &["keyword", "listall", "startdate", "page", "pagesize"],
    ),
    ("listApis", false, &[], &["name"]),
];

/// A CloudStack error answer (`errorcode` = HTTP status).
pub(crate) fn error(code: u16, cserrorcode: u32, text: impl Into<String>) -> Answer {
    (
        code,
        json!({"uuidList": [], "errorcode": code, "cserrorcode": cserrorcode, "errortext": text.into()}),
    )
}

impl State {
    /// A fresh cloud with realistic seed data.
    pub(crate) fn seeded() -> Self {
        let mut st = State::default();
        let z1 = st.uuid();
        let z2 = st.uuid();
        for (id, name, desc) in [
            (&z1, "tokyo-1", "Tokyo region, zone 1"),
            (&z2, "osaka-1", "Osaka region, zone 1"),
        ] {
            st.zones.push(obj(json!({
                "id": id, "name": name, "description": desc, "dns1": "8.8.8.8", "internaldns1": "10.0.0.2",
                "guestcidraddress": "10.1.1.0/24", "networktype": "Advanced", "securitygroupsenabled": false,
                "allocationstate": "Enabled", "zonetoken": format!("{:x}", st.seq * 0x9e37_79b9), "dhcpprovider": "VirtualRouter",
                "localstorageenabled": false, "tags": []
            })));
        }
        let categories = [
            ("Linux", "1a2c3e1f-7a57-11ee-9c3a-0242ac110002"),
            ("Windows", "1a2c4d5a-7a57-11ee-9c3a-0242ac110002"),
        ];
        for (desc, cat) in [
            ("CentOS 5.6 (64-bit)", 0),
            ("CentOS 6.5 (64-bit)", 0),
            ("CentOS 7", 0),
            ("Rocky Linux 9", 0),
            ("Ubuntu 22.04 LTS", 0),
            ("Debian GNU/Linux 12 (64-bit)", 0),
            ("Other Linux (64-bit)", 0),
            ("Windows Server 2019 (64-bit)", 1),
            ("Windows Server 2022 (64-bit)", 1),
        ] {
            let id = st.uuid();
            st.ostypes.push(obj(json!({"id": id, "description": desc, "oscategoryid": categories[cat].1, "oscategoryname": categories[cat].0, "isuserdefined": false})));
        }
        for (name, cpu, speed, mem) in [
            ("Small Instance", 1, 500, 512),
            ("Medium Instance", 1, 1000, 1024),
            ("Large Instance", 2, 2000, 4096),
        ] {
            let id = st.uuid();
            st.offerings.push(obj(json!({
                "id": id, "name": name, "displaytext": format!("{name}, {cpu} vCPU {speed} MHz, {mem} MB"), "cpunumber": cpu,
                "cpuspeed": speed, "memory": mem, "created": "2023-11-01T09:00:00+0000", "storagetype": "shared",
                "offerha": false, "limitcpuuse": false, "isvolatile": false, "issystem": false, "defaultuse": false,
                "iscustomized": false, "hosttags": ""
            })));
        }
        let os = s(&st.ostypes[0], "id");
        let id = st.uuid();
        st.templates.push(obj(json!({
            "id": id, "name": "CentOS 5.6(64-bit) no GUI (vSphere)", "displaytext": "CentOS 5.6(64-bit) no GUI (vSphere)",
            "ispublic": true, "created": "2023-11-01T09:00:00+0000", "isready": true, "passwordenabled": false,
            "format": "OVA", "isfeatured": true, "crossZones": true, "ostypeid": os, "ostypename": "CentOS 5.6 (64-bit)",
            "account": "system", "zoneid": z1, "zonename": "tokyo-1", "status": "Download Complete", "size": 21_474_836_480u64,
            "templatetype": "BUILTIN", "hypervisor": "VMware", "domain": "ROOT", "domainid": DOMAIN_ID, "isextractable": false,
            "checksum": "8d8e1bd4ba4a1bc5e4c2a3b8e7f1c2d9", "sshkeyenabled": false, "isdynamicallyscalable": false, "tags": []
        })));
        st
    }

    pub(crate) fn uuid(&mut self) -> String {
        self.seq += 1;
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut r = crate::retry::Rng::new(t ^ self.seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let a = (r.next_f64() * u32::MAX as f64) as u32;
        let b = (r.next_f64() * u16::MAX as f64) as u16;
        let c = (r.next_f64() * 4096.0) as u16 | 0x4000;
        let d = ((r.next_f64() * 16384.0) as u16) | 0x8000;
        format!(
            "{a:08x}-{b:04x}-{c:04x}-{d:04x}-{:012x}",
            self.seq & 0xffff_ffff_ffff
        )
    }

    /// Runs one verified command.
    pub(crate) fn dispatch(
        &mut self,
        command: &str,
        p: &BTreeMap<String, String>,
        base_url: &str,
    ) -> (Answer, Vec<SideEffect>) {
        let Some(&(name, _, required, _)) =
            APIS.iter().find(|(n, ..)| n.eq_ignore_ascii_case(command))
        else {
            return (
                error(
                    432,
                    9999,
                    "The given command does not exist or it is not available for user",
                ),
                vec![],
            );
        };
        for r in required {
            if p.get(*r).is_none_or(|v| v.is_empty()) {
                return (
                    error(
                        431,
                        4350,
                        format!(
                            "Unable to execute API command {} due to missing parameter {r}",
                            name.to_lowercase()
                        ),
                    ),
                    vec![],
                );
            }
        }
        let mut effects = vec![];
        let answer = match name {
            "listZones" => self.list("zone", &self.zones, p, &["id", "name"]),
            "listOsTypes" => self.list(
                "ostype",
                &self.ostypes,
                p,
                &["id", "oscategoryid", "description"],
            ),
            "listServiceOfferings" => {
                self.list("serviceoffering", &self.offerings, p, &["id", "name"])
            }
            "listTemplates" => self.list_templates(p),
            "registerTemplate" => self.register_template(p, &mut effects),
            "deleteTemplate" => self.delete_template(p),
            "extractTemplate" => self.extract_template(p),
            "deployVirtualMachine" => self.deploy(p),
            "listVirtualMachines" => {
                let vms: Vec<_> = self
                    .vms
                    .iter()
                    .filter(|v| p.contains_key("state") || s(v, "state") != "Destroyed")
                    .cloned()
                    .collect();
                self.list(
                    "virtualmachine",
                    &vms,
                    p,
                    &["id", "name", "state", "zoneid", "templateid"],
                )
            }
            "startVirtualMachine" => {
                self.vm_job(p, "startVirtualMachine", "StartVMCmd", Action::Start)
            }
            "stopVirtualMachine" => self.vm_job(p, "stopVirtualMachine", "StopVMCmd", Action::Stop),
            "destroyVirtualMachine" => {
                let expunge = p.get("expunge").is_some_and(|v| v == "true");
                self.vm_job(p, "destroyVirtualMachine", "DestroyVMCmd", |id| {
                    Action::Destroy(id, expunge)
                })
            }
            "queryAsyncJobResult" => self.query_job(p, base_url),
            "listAsyncJobs" => {
                let jobs: Vec<_> = self.jobs.values().map(|j| obj(job_json(j))).collect();
                self.list("asyncjobs", &jobs, p, &[])
            }
            "listApis" => {
                let apis: Vec<_> = APIS
                    .iter()
                    .map(|(n, a, req, opt)| {
                        let params: Vec<Value> = req
                            .iter()
                            .map(|x| json!({"name": x, "required": true, "type": "string", "description": x}))
                            .chain(opt.iter().map(|x| json!({"name": x, "required": false, "type": "string", "description": x})))
                            .collect();
                        obj(json!({"name": n, "description": format!("simulated {n}"), "isasync": a, "since": "4.0.0", "params": params, "response": [], "related": ""}))
                    })
                    .collect();
                self.list("api", &apis, p, &["name"])
            }
            _ => error(
                432,
                9999,
                "The given command does not exist or it is not available for user",
            ),
        };
        (answer, effects)
    }

    fn list(
        &self,
        item: &str,
        all: &[Map<String, Value>],
        p: &BTreeMap<String, String>,
        filters: &[&str],
    ) -> Answer {
        let max = 500usize;
        let (page, size) = match (p.get("page"), p.get("pagesize")) {
            (None, Some(_)) => {
                return error(
                    431,
                    4350,
                    "\"page\" parameter is required when \"pagesize\" is specified",
                );
            }
            (pg, sz) => {
                let size = match sz.map(|x| x.parse::<i64>()) {
                    None => max,
                    Some(Ok(n)) if n > 0 && n as usize <= max => n as usize,
                    Some(Ok(n)) if n > 0 => {
                        return error(
                            431,
                            4350,
                            format!("Page size can't exceed max allowed page size value: {max}"),
                        );
                    }
                    _ => {
                        return error(
                            431,
                            4350,
                            "Unable to execute API command due to invalid value. Invalid parameter pagesize",
                        );
                    }
                };
                let page = match pg.map(|x| x.parse::<i64>()) {
                    None => 1,
                    Some(Ok(n)) => n.max(1) as usize,
                    Some(Err(_)) => {
                        return error(
                            431,
                            4350,
                            "Unable to execute API command due to invalid value. Invalid parameter page",
                        );
                    }
                };
                (page, size)
            }
        };
        let keyword = p.get("keyword").map(|k| k.to_lowercase());
        let matched: Vec<&Map<String, Value>> = all
            .iter()
            .filter(|o| {
                filters.iter().all(|f| {
                    p.get(*f)
                        .is_none_or(|want| s(o, f).eq_ignore_ascii_case(want))
                })
            })
            .filter(|o| {
                keyword.as_ref().is_none_or(|k| {
                    ["name", "description", "displaytext"]
                        .iter()
                        .any(|f| s(o, f).to_lowercase().contains(k.as_str()))
                })
            })
            .collect();
        let items: Vec<Value> = matched
            .iter()
            .skip((page - 1) * size)
            .take(size)
            .map(|o| Value::Object((*o).clone()))
            .collect();
        if items.is_empty() {
            return (200, json!({}));
        }
        (200, json!({"count": matched.len(), item: items}))
    }

    fn list_templates(&self, p: &BTreeMap<String, String>) -> Answer {
        let filter = p
            .get("templatefilter")
            .map(|f| f.to_lowercase())
            .unwrap_or_default();
        let keep: fn(&Map<String, Value>) -> bool = match filter.as_str() {
            "featured" => |t| t.get("isfeatured") == Some(&Value::Bool(true)),
            "self" | "selfexecutable" => |t| s(t, "account") == ACCOUNT,
            "community" => |t| {
                t.get("ispublic") == Some(&Value::Bool(true))
                    && t.get("isfeatured") != Some(&Value::Bool(true))
            },
            "executable" | "all" | "sharedexecutable" => |_| true,
            _ => {
                return error(
                    431,
                    4350,
                    "Unable to execute API command listtemplates due to invalid value. Invalid parameter templatefilter value=".to_owned()
                        + p.get("templatefilter").map(String::as_str).unwrap_or(""),
                );
            }
        };
        let ts: Vec<_> = self.templates.iter().filter(|t| keep(t)).cloned().collect();
        self.list("template", &ts, p, &["id", "name", "zoneid", "hypervisor"])
    }

    fn find<'a>(list: &'a [Map<String, Value>], id: &str) -> Option<&'a Map<String, Value>> {
        list.iter().find(|o| s(o, "id") == id)
    }

    fn invalid(command: &str, name: &str, value: &str) -> Answer {
        error(
            431,
            4350,
            format!(
                "Unable to execute API command {} due to invalid value. Invalid parameter {name} value={value} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.",
                command.to_lowercase()
            ),
        )
    }

    fn register_template(
        &mut self,
        p: &BTreeMap<String, String>,
        effects: &mut Vec<SideEffect>,
    ) -> Answer {
        let g = |k: &str| p.get(k).cloned().unwrap_or_default();
        let Some(os) = Self::find(&self.ostypes, &g("ostypeid")).cloned() else {
            return Self::invalid("registerTemplate", "ostypeid", &g("ostypeid"));
        };
        let Some(zone) = Self::find(&self.zones, &g("zoneid")).cloned() else {
            return Self::invalid("registerTemplate", "zoneid", &g("zoneid"));
        };
        let format = g("format").to_uppercase();
        if !["OVA", "QCOW2", "VHD", "RAW", "VMDK", "ISO"].contains(&format.as_str()) {
            return error(
                431,
                4350,
                format!(
                    "Image format: {} is incorrect. Supported formats are VHD, QCOW2, OVA, RAW, VMDK, ISO",
                    g("format")
                ),
            );
        }
        let url = g("url");
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return error(431, 4350, format!("Unsupported scheme for url: {url}"));
        }
        let b = |k: &str| p.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let id = self.uuid();
        let t = obj(json!({
            "id": id, "name": g("name"), "displaytext": g("displaytext"), "ispublic": b("ispublic"), "created": now_str(),
            "isready": false, "passwordenabled": b("passwordenabled"), "format": format, "isfeatured": b("isfeatured"),
            "crossZones": false, "ostypeid": s(&os, "id"), "ostypename": s(&os, "description"), "account": ACCOUNT,
            "accountid": ACCOUNT_ID, "zoneid": s(&zone, "id"), "zonename": s(&zone, "name"), "status": "",
            "templatetype": "USER", "hypervisor": g("hypervisor"), "domain": "ROOT", "domainid": DOMAIN_ID,
            "isextractable": b("isextractable"), "sshkeyenabled": false, "isdynamicallyscalable": false,
            "downloaddetails": [], "tags": []
        }));
        self.templates.push(t.clone());
        self.template_urls.insert(id.clone(), url.clone());
        effects.push(SideEffect::Download {
            template_id: id,
            url,
        });
        (200, json!({"count": 1, "template": [t]}))
    }

    pub(crate) fn template_mut(&mut self, id: &str) -> Option<&mut Map<String, Value>> {
        self.templates.iter_mut().find(|t| s(t, "id") == id)
    }

    fn new_job(
        &mut self,
        command: &str,
        cmd_class: &str,
        instance_type: &str,
        instance_id: &str,
        action: Action,
    ) -> String {
        let jobid = self.uuid();
        let job = Job {
            jobid: jobid.clone(),
            command: command.to_owned(),
            cmd: format!("org.apache.cloudstack.api.command.user.{cmd_class}"),
            instance_type: instance_type.to_owned(),
            instance_id: instance_id.to_owned(),
            created: now_str(),
            status: 0,
            resultcode: 0,
            resulttype: None,
            result: None,
            completed: None,
            remaining_polls: self.knobs.pending_polls,
            action,
            forced: self.knobs.next_job_outcome.take(),
            ready_at: self.knobs.job_duration.map(|d| Instant::now() + d),
            completed_at: None,
        };
        self.jobs.insert(jobid.clone(), job);
        jobid
    }

    fn delete_template(&mut self, p: &BTreeMap<String, String>) -> Answer {
        let id = p["id"].clone();
        if Self::find(&self.templates, &id).is_none() {
            return Self::invalid("deleteTemplate", "id", &id);
        }
        let jobid = self.new_job(
            "deleteTemplate",
            "template.DeleteTemplateCmd",
            "Template",
            &id,
            Action::DeleteTemplate(id.clone()),
        );
        (200, json!({"jobid": jobid}))
    }

    fn extract_template(&mut self, p: &BTreeMap<String, String>) -> Answer {
        let id = p["id"].clone();
        let Some(t) = Self::find(&self.templates, &id) else {
            return Self::invalid("extractTemplate", "id", &id);
        };
        let mode = p["mode"].to_uppercase();
        if mode != "HTTP_DOWNLOAD" {
            return error(
                431,
                4350,
                format!(
                    "Please specify a valid extract Mode. Supported modes: HTTP_DOWNLOAD; got {}",
                    p["mode"]
                ),
            );
        }
        if t.get("isextractable") != Some(&Value::Bool(true)) {
            return error(
                431,
                4350,
                format!("Unable to extract template id={id} as it's not extractable"),
            );
        }
        if t.get("isready") != Some(&Value::Bool(true)) {
            return error(
                431,
                4350,
                format!("Unable to extract template id={id} as it's not yet downloaded"),
            );
        }
        let jobid = self.new_job(
            "extractTemplate",
            "template.ExtractTemplateCmd",
            "Template",
            &id,
            Action::Extract(id.clone()),
        );
        (200, json!({"jobid": jobid}))
    }

    fn deploy(&mut self, p: &BTreeMap<String, String>) -> Answer {
        let Some(off) = Self::find(&self.offerings, &p["serviceofferingid"]).cloned() else {
            return error(
                431,
                4350,
                format!(
                    "Unable to find service offering: {}",
                    p["serviceofferingid"]
                ),
            );
        };
        let Some(zone) = Self::find(&self.zones, &p["zoneid"]).cloned() else {
            return Self::invalid("deployVirtualMachine", "zoneid", &p["zoneid"]);
        };
        let Some(t) = Self::find(&self.templates, &p["templateid"]).cloned() else {
            return Self::invalid("deployVirtualMachine", "templateid", &p["templateid"]);
        };
        if t.get("isready") != Some(&Value::Bool(true)) {
            return error(
                530,
                4250,
                format!(
                    "Template {} has not been completely downloaded to zone {}",
                    s(&t, "id"),
                    s(&zone, "id")
                ),
            );
        }
        let id = self.uuid();
        let name = p.get("name").cloned().unwrap_or_else(|| format!("VM-{id}"));
        let vm = obj(json!({
            "id": id, "name": name, "displayname": p.get("displayname").cloned().unwrap_or_else(|| name.clone()),
            "account": ACCOUNT, "domainid": DOMAIN_ID, "domain": "ROOT", "created": now_str(), "state": "Starting",
            "haenable": false, "zoneid": s(&zone, "id"), "zonename": s(&zone, "name"), "templateid": s(&t, "id"),
            "templatename": s(&t, "name"), "templatedisplaytext": s(&t, "displaytext"), "passwordenabled": t.get("passwordenabled").cloned().unwrap_or(Value::Bool(false)),
            "serviceofferingid": s(&off, "id"), "serviceofferingname": s(&off, "name"), "cpunumber": off.get("cpunumber").cloned().unwrap_or(json!(1)),
            "cpuspeed": off.get("cpuspeed").cloned().unwrap_or(json!(500)), "memory": off.get("memory").cloned().unwrap_or(json!(512)),
            "guestosid": s(&t, "ostypeid"), "rootdevicetype": "ROOT", "hypervisor": s(&t, "hypervisor"), "nic": [], "tags": [],
            "isdynamicallyscalable": false, "ostypeid": s(&t, "ostypeid")
        }));
        self.vms.push(vm);
        let jobid = self.new_job(
            "deployVirtualMachine",
            "vm.DeployVMCmd",
            "VirtualMachine",
            &id,
            Action::Deploy(id.clone()),
        );
        (200, json!({"id": id, "jobid": jobid}))
    }

    fn vm_job(
        &mut self,
        p: &BTreeMap<String, String>,
        command: &str,
        class: &str,
        action: impl FnOnce(String) -> Action,
    ) -> Answer {
        let id = p["id"].clone();
        let Some(vm) = Self::find(&self.vms, &id) else {
            return Self::invalid(command, "id", &id);
        };
        if s(vm, "state") == "Destroyed" && command != "destroyVirtualMachine" {
            return error(
                431,
                4350,
                format!("Unable to find virtual machine with id {id}"),
            );
        }
        let jobid = self.new_job(
            command,
            &format!("vm.{class}"),
            "VirtualMachine",
            &id,
            action(id.clone()),
        );
        (200, json!({"jobid": jobid}))
    }

    fn query_job(&mut self, p: &BTreeMap<String, String>, base_url: &str) -> Answer {
        let jobid = p["jobid"].clone();
        let Some(job) = self.jobs.get_mut(&jobid) else {
            return Self::invalid("queryAsyncJobResult", "jobid", &jobid);
        };
        if job.status == 0 {
            if job.remaining_polls > 0 {
                job.remaining_polls -= 1;
            } else if job.ready_at.is_none_or(|t| Instant::now() >= t) {
                self.complete(&jobid, base_url);
            }
        }
        (200, job_json(&self.jobs[&jobid]))
    }

    /// Completes a job now: applies its action (or the injected failure/cancel).
    pub(crate) fn complete(&mut self, jobid: &str, base_url: &str) {
        let Some(job) = self.jobs.get(jobid).cloned() else {
            return;
        };
        let finish = |st: &mut State, status: u8, code: u32, rtype: &str, result: Value| {
            if let Some(j) = st.jobs.get_mut(jobid) {
                j.status = status;
                j.resultcode = code;
                j.resulttype = Some(rtype.to_owned());
                j.result = Some(result);
                j.completed = Some(now_str());
                j.completed_at = Some(job.ready_at.unwrap_or_else(Instant::now));
            }
        };
        if let Some((status, code, text)) = job.forced.clone() {
            finish(
                self,
                status,
                530,
                "object",
                json!({"errorcode": code, "errortext": text}),
            );
            return;
        }
        let vm_update = |st: &mut State, id: &str, state: &str| -> Value {
            match st.vms.iter_mut().find(|v| s(v, "id") == id) {
                Some(vm) => {
                    vm.insert("state".into(), json!(state));
                    Value::Object(vm.clone())
                }
                None => Value::Null,
            }
        };
        match &job.action {
            Action::Deploy(id) => {
                let mut vm = vm_update(self, id, "Running");
                if vm.get("passwordenabled") == Some(&Value::Bool(true)) {
                    vm["password"] = json!(format!("pw{}", &self.uuid()[..8]));
                }
                finish(self, 1, 0, "object", json!({"virtualmachine": vm}));
            }
            Action::Start(id) => {
                let vm = vm_update(self, id, "Running");
                finish(self, 1, 0, "object", json!({"virtualmachine": vm}));
            }
            Action::Stop(id) => {
                let vm = vm_update(self, id, "Stopped");
                finish(self, 1, 0, "object", json!({"virtualmachine": vm}));
            }
            Action::Destroy(id, expunge) => {
                let vm = vm_update(self, id, if *expunge { "Expunging" } else { "Destroyed" });
                if *expunge {
                    self.vms.retain(|v| s(v, "id") != *id);
                }
                finish(self, 1, 0, "object", json!({"virtualmachine": vm}));
            }
            Action::DeleteTemplate(id) => {
                self.templates.retain(|t| s(t, "id") != *id);
                self.template_urls.remove(id);
                finish(self, 1, 0, "object", json!({"success": true}));
            }
            Action::Extract(id) => {
                let token = self.uuid();
                self.extracts.insert(token.clone(), id.clone());
                let t = Self::find(&self.templates, id).cloned().unwrap_or_default();
                let url = format!("{base_url}/userdata/{token}.ova").replace('/', "%2F");
                let result = json!({"template": {
                    "id": id, "name": s(&t, "name"), "extractId": token, "accountid": ACCOUNT_ID, "state": "DOWNLOAD_URL_CREATED",
                    "zoneid": s(&t, "zoneid"), "zonename": s(&t, "zonename"), "extractMode": "HTTP_DOWNLOAD", "url": url,
                    "uploadpercentage": 100, "created": now_str(), "status": "DOWNLOAD_URL_CREATED"
                }});
                finish(self, 1, 0, "object", result);
            }
        }
    }
}

fn job_json(j: &Job) -> Value {
    let mut v = json!({
        "accountid": ACCOUNT_ID, "userid": ACCOUNT_ID, "cmd": j.cmd, "jobstatus": j.status, "jobprocstatus": 0,
        "jobresultcode": j.resultcode, "jobinstancetype": j.instance_type, "jobinstanceid": j.instance_id,
        "created": j.created, "jobid": j.jobid
    });
    if let Some(t) = &j.resulttype {
        v["jobresulttype"] = json!(t);
    }
    if let Some(r) = &j.result {
        v["jobresult"] = r.clone();
    }
    if let Some(c) = &j.completed {
        v["completed"] = json!(c);
    }
    v
}

/// `true` when `bytes` start like an OVA: a tar archive whose first entry is an `.ovf` file
/// (checks the ustar header checksum and the name).
pub(crate) fn looks_like_ova(bytes: &[u8]) -> bool {
    if bytes.len() < 512 {
        return false;
    }
    let h = &bytes[..512];
    let name_end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
    let Ok(name) = std::str::from_utf8(&h[..name_end]) else {
        return false;
    };
    let stored = std::str::from_utf8(&h[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    let typeflag_ok = matches!(h[156], b'0' | 0);
    stored == Some(sum) && typeflag_ok && name.to_ascii_lowercase().ends_with(".ovf")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_header(name: &str) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(b"00000000000");
        h[156] = b'0';
        h[257..262].copy_from_slice(b"ustar");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    #[test]
    fn ova_check() {
        assert!(looks_like_ova(&tar_header("vm.ovf")));
        assert!(!looks_like_ova(&tar_header("disk.vmdk")));
        let mut bad = tar_header("vm.ovf");
        bad[0] = b'w';
        assert!(!looks_like_ova(&bad));
        assert!(!looks_like_ova(b"short"));
        assert!(!looks_like_ova(&[0u8; 1024]));
    }

    #[test]
    fn pagination_rules() {
        let st = State::seeded();
        let p = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let (code, v) = st.list(
            "ostype",
            &st.ostypes,
            &p(&[("page", "2"), ("pagesize", "4")]),
            &[],
        );
        assert_eq!(code, 200);
        assert_eq!(v["count"], 9);
        assert_eq!(v["ostype"].as_array().unwrap().len(), 4);
        assert_eq!(
            st.list(
                "ostype",
                &st.ostypes,
                &p(&[("page", "9"), ("pagesize", "4")]),
                &[]
            )
            .1,
            json!({})
        );
        assert_eq!(
            st.list("ostype", &st.ostypes, &p(&[("pagesize", "4")]), &[])
                .0,
            431
        );
        assert_eq!(
            st.list(
                "ostype",
                &st.ostypes,
                &p(&[("page", "1"), ("pagesize", "501")]),
                &[]
            )
            .0,
            431
        );
    }
}
