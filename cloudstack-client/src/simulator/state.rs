//! The simulator's in-memory cloud: objects, jobs, the dispatcher and list pagination.
//! Command implementations live beside it by subject (`templates.rs`, `vms.rs`, `network.rs`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::apis;
use crate::sign::format_expires;

/// What a command handler wants the server to do besides answering.
#[derive(Debug)]
pub(crate) enum SideEffect {
    /// Download the template's URL in the background.
    Download { template_id: String, url: String },
}

/// A handler's answer: HTTP status and the object under `<command>response`.
pub(crate) type Answer = (u16, Value);

/// The lowercased parameters of a verified request.
pub(crate) type Params = BTreeMap<String, String>;

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
    Reboot(String),
    Destroy(String, bool),
    Expunge(String),
    /// Template id and, when given, the one zone to delete it from.
    DeleteTemplate(String, Option<String>),
    /// Template id and zone id.
    Extract(String, String),
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
    /// One row per template and zone, as the server's `template_view` lists them.
    pub(crate) templates: Vec<Map<String, Value>>,
    pub(crate) vms: Vec<Map<String, Value>>,
    #[serde(default)]
    pub(crate) networks: Vec<Map<String, Value>>,
    #[serde(default)]
    pub(crate) public_ips: Vec<Map<String, Value>>,
    #[serde(default)]
    pub(crate) volumes: Vec<Map<String, Value>>,
    #[serde(default)]
    pub(crate) ssh_keys: Vec<Map<String, Value>>,
    pub(crate) jobs: BTreeMap<String, Job>,
    /// extract token → template id
    pub(crate) extracts: BTreeMap<String, String>,
    /// template id → source URL
    pub(crate) template_urls: BTreeMap<String, String>,
    /// template id → checksum as registered (`{SHA-256}hex`, or plain hex for MD5)
    #[serde(default)]
    pub(crate) template_checksums: BTreeMap<String, String>,
    pub(crate) seq: u64,
    #[serde(skip)]
    pub(crate) knobs: Knobs,
}

pub(crate) const ACCOUNT: &str = "admin";
pub(crate) const ACCOUNT_ID: &str = "5a1c1f2e-7a57-11ee-9c3a-0242ac110002";
pub(crate) const DOMAIN_ID: &str = "5a1b6a43-7a57-11ee-9c3a-0242ac110002";
/// The version `listCapabilities` reports.
pub(crate) const CLOUDSTACK_VERSION: &str = "4.20.1.0";

pub(crate) fn now_str() -> String {
    format_expires(SystemTime::now())
}

pub(crate) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

pub(crate) fn s(m: &Map<String, Value>, k: &str) -> String {
    m.get(k)
        .and_then(crate::response::lenient_string)
        .unwrap_or_default()
}

/// A boolean parameter as the server reads it (`Boolean.valueOf`: `true` in any case).
pub(crate) fn flag(p: &Params, k: &str) -> bool {
    p.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A CloudStack error answer (`errorcode` = HTTP status).
pub(crate) fn error(code: u16, cserrorcode: u32, text: impl Into<String>) -> Answer {
    (
        code,
        json!({"uuidList": [], "errorcode": code, "cserrorcode": cserrorcode, "errortext": text.into()}),
    )
}

/// The answer for a parameter that names no object (`InvalidParameterValueException` from the
/// parameter's entity lookup).
pub(crate) fn invalid(command: &str, name: &str, value: &str) -> Answer {
    error(
        431,
        4350,
        format!(
            "Unable to execute API command {} due to invalid value. Invalid parameter {name} value={value} due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation for the field in api cmd class.",
            command.to_lowercase()
        ),
    )
}

pub(crate) fn find<'a>(list: &'a [Map<String, Value>], id: &str) -> Option<&'a Map<String, Value>> {
    list.iter().find(|o| s(o, "id") == id)
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
                "localstorageenabled": false, "type": "Core", "tags": []
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
            st.ostypes.push(obj(json!({"id": id, "description": desc, "name": desc, "oscategoryid": categories[cat].1, "oscategoryname": categories[cat].0, "isuserdefined": false})));
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
            "checksum": "8d8e1bd4ba4a1bc5e4c2a3b8e7f1c2d9", "sshkeyenabled": false, "isdynamicallyscalable": false,
            "directdownload": false, "deployasis": false, "requireshvm": false, "arch": "x86_64", "bits": 64, "tags": []
        })));
        st.seed_networks();
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

    /// Runs one verified command; `command` is the exact name the request carried.
    pub(crate) fn dispatch(
        &mut self,
        command: &str,
        p: &Params,
        base_url: &str,
    ) -> (Answer, Vec<SideEffect>) {
        let Some(api) = apis::find(command) else {
            // unreachable behind `verify_request`, which refuses unknown names with 401
            return (
                error(432, 9999, format!("Unknown API command: {command}")),
                vec![],
            );
        };
        for r in api.required() {
            if p.get(r).is_none_or(|v| v.is_empty()) {
                return (
                    error(
                        431,
                        4350,
                        format!(
                            "Unable to execute API command {} due to missing parameter {r}",
                            api.name.to_lowercase()
                        ),
                    ),
                    vec![],
                );
            }
        }
        let mut effects = vec![];
        let answer = match api.name {
            "listApis" => {
                let all: Vec<_> = apis::APIS.iter().map(|a| obj(a.to_json())).collect();
                self.list("api", &all, p, &["name"])
            }
            "listCapabilities" => (
                200,
                json!({"capability": {
                    "securitygroupsenabled": false, "dynamicrolesenabled": true, "cloudstackversion": CLOUDSTACK_VERSION,
                    "userpublictemplateenabled": true, "supportELB": "false", "projectinviterequired": false,
                    "allowusercreateprojects": true, "customdiskofferingminsize": 1, "customdiskofferingmaxsize": 1024,
                    "regionsecondaryenabled": false, "kvmsnapshotenabled": true, "allowuserviewdestroyedvm": true,
                    "allowuserexpungerecovervm": true, "allowuserexpungerecovervolume": true, "allowuserviewalldomainaccounts": false,
                    "kubernetesserviceenabled": false, "kubernetesclusterexperimentalfeaturesenabled": false,
                    "defaultuipagesize": 20, "instancesstatsretentiontime": 720, "instancesstatsuseronly": false,
                    "instancesdisksstatsretentionenabled": false, "instancesdisksstatsretentiontime": 720,
                    "sharedfsvmmincpucount": 2, "sharedfsvmminramsize": 512, "dynamicscalingenabled": true,
                    "apilimitinterval": 1, "apilimitmax": 25
                }}),
            ),
            "listZones" => self.list("zone", &self.zones, p, &["id", "name"]),
            "listHypervisors" => {
                let hv: Vec<_> = ["KVM", "VMware", "XenServer", "Simulator"]
                    .iter()
                    .map(|h| obj(json!({"name": h})))
                    .collect();
                self.list("hypervisor", &hv, p, &[])
            }
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
            "updateTemplate" => self.update_template(p),
            "updateTemplatePermissions" => self.update_template_permissions(p),
            "deleteTemplate" => self.delete_template(p),
            "extractTemplate" => self.extract_template(p),
            "deployVirtualMachine" => self.deploy(p),
            "listVirtualMachines" => self.list_vms(p),
            "startVirtualMachine" => {
                self.vm_job(p, "startVirtualMachine", "StartVMCmd", Action::Start)
            }
            "stopVirtualMachine" => self.vm_job(p, "stopVirtualMachine", "StopVMCmd", Action::Stop),
            "rebootVirtualMachine" => {
                self.vm_job(p, "rebootVirtualMachine", "RebootVMCmd", Action::Reboot)
            }
            "destroyVirtualMachine" => {
                let expunge = flag(p, "expunge");
                self.vm_job(p, "destroyVirtualMachine", "DestroyVMCmd", |id| {
                    Action::Destroy(id, expunge)
                })
            }
            "expungeVirtualMachine" => {
                self.vm_job(p, "expungeVirtualMachine", "ExpungeVMCmd", Action::Expunge)
            }
            "recoverVirtualMachine" => self.recover_vm(p),
            "listVolumes" => self.list(
                "volume",
                &self.volumes,
                p,
                &["id", "name", "type", "virtualmachineid", "zoneid"],
            ),
            "listNetworks" => self.list_networks(p),
            "listPublicIpAddresses" => self.list_public_ips(p),
            "listPortForwardingRules" => {
                self.list("portforwardingrule", &[], p, &["id", "ipaddressid"])
            }
            "listIpForwardingRules" => {
                self.list("ipforwardingrule", &[], p, &["id", "ipaddressid"])
            }
            "listSSHKeyPairs" => self.list(
                "sshkeypair",
                &self.ssh_keys,
                p,
                &["id", "name", "fingerprint"],
            ),
            "queryAsyncJobResult" => self.query_job(p, base_url),
            "listAsyncJobs" => {
                let jobs: Vec<_> = self.jobs.values().map(|j| obj(job_json(j))).collect();
                self.list("asyncjobs", &jobs, p, &[])
            }
            other => error(432, 9999, format!("Unknown API command: {other}")),
        };
        (answer, effects)
    }

    /// A list answer as `ApiResponseSerializer` writes it: `count` (the number of matches, not
    /// of this page) when it is not zero, the items when the page has any. So no match at all is
    /// `{}` and a page past the end is `{"count": N}`.
    pub(crate) fn list(
        &self,
        item: &str,
        all: &[Map<String, Value>],
        p: &Params,
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
        let mut out = Map::new();
        if !matched.is_empty() {
            out.insert("count".into(), json!(matched.len()));
        }
        if !items.is_empty() {
            out.insert(item.into(), Value::Array(items));
        }
        (200, Value::Object(out))
    }

    pub(crate) fn new_job(
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

    fn query_job(&mut self, p: &Params, base_url: &str) -> Answer {
        let jobid = p["jobid"].clone();
        let Some(job) = self.jobs.get_mut(&jobid) else {
            return invalid("queryAsyncJobResult", "jobid", &jobid);
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
        let (status, code, result) = match job.forced.clone() {
            Some((status, code, text)) => {
                (status, 530, json!({"errorcode": code, "errortext": text}))
            }
            None => match self.apply(&job.action, base_url) {
                Ok(result) => (1, 0, result),
                Err((code, text)) => (2, 530, json!({"errorcode": code, "errortext": text})),
            },
        };
        if let Some(j) = self.jobs.get_mut(jobid) {
            j.status = status;
            j.resultcode = code;
            j.resulttype = Some("object".to_owned());
            j.result = Some(result);
            j.completed = Some(now_str());
            j.completed_at = Some(job.ready_at.unwrap_or_else(Instant::now));
        }
    }

    /// A job's effect on the cloud and its `jobresult`, or the error it fails with.
    fn apply(&mut self, action: &Action, base_url: &str) -> Result<Value, (u16, String)> {
        match action {
            Action::Deploy(id) | Action::Start(id) | Action::Reboot(id) => {
                let mut vm = self.set_vm_state(id, "Running");
                if matches!(action, Action::Deploy(_))
                    && vm.get("passwordenabled") == Some(&Value::Bool(true))
                {
                    vm["password"] = json!(format!("pw{}", &self.uuid()[..8]));
                }
                Ok(json!({"virtualmachine": vm}))
            }
            Action::Stop(id) => Ok(json!({"virtualmachine": self.set_vm_state(id, "Stopped")})),
            Action::Destroy(id, expunge) => {
                let vm = self.set_vm_state(id, if *expunge { "Expunging" } else { "Destroyed" });
                if *expunge {
                    self.remove_vm(id);
                }
                Ok(json!({"virtualmachine": vm}))
            }
            Action::Expunge(id) => {
                self.remove_vm(id);
                Ok(json!({"success": true}))
            }
            Action::DeleteTemplate(id, zone) => {
                self.remove_template(id, zone.as_deref());
                Ok(json!({"success": true}))
            }
            Action::Extract(id, zone) => Ok(self.extract_result(id, zone, base_url)),
        }
    }
}

pub(crate) fn job_json(j: &Job) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pagination_rules() {
        let st = State::seeded();
        let (code, v) = st.list(
            "ostype",
            &st.ostypes,
            &p(&[("page", "2"), ("pagesize", "4")]),
            &[],
        );
        assert_eq!(code, 200);
        assert_eq!(v["count"], 9);
        assert_eq!(v["ostype"].as_array().unwrap().len(), 4);
        // past the end: the count without items, as ApiResponseSerializer writes it
        assert_eq!(
            st.list(
                "ostype",
                &st.ostypes,
                &p(&[("page", "9"), ("pagesize", "4")]),
                &[]
            )
            .1,
            json!({"count": 9})
        );
        // nothing matches: an empty object
        assert_eq!(
            st.list("ostype", &st.ostypes, &p(&[("keyword", "plan9")]), &[])
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

    #[test]
    fn every_known_command_dispatches() {
        let mut st = State::seeded();
        for api in apis::APIS {
            let ((code, body), _) = st.dispatch(api.name, &Params::new(), "http://sim");
            assert_ne!(code, 432, "{} is declared but not implemented", api.name);
            if api.required().next().is_some() {
                assert_eq!(code, 431, "{}: {body}", api.name);
            }
        }
    }
}
