//! Typed views of CloudStack objects.
//!
//! Every struct keeps the fields it does not name in `extra`, so nothing the server sends is lost,
//! and reads ids, numbers and booleans leniently (`17164` and `"17164"` are the same id).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?
        .as_ref()
        .and_then(crate::response::lenient_string))
}

fn lenient_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    crate::response::lenient_string(&v)
        .ok_or_else(|| serde::de::Error::custom(format!("id must be a string or number, got {v}")))
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?
        .as_ref()
        .and_then(crate::response::lenient_bool))
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?
        .as_ref()
        .and_then(crate::response::lenient_u64))
}

macro_rules! model {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $de:literal $field:ident $(as $rename:literal)? : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fm])*
                $(#[serde(rename = $rename)])?
                #[serde(default, deserialize_with = $de, skip_serializing_if = "Option::is_none")]
                pub $field: $ty,
            )*
            /// Every other field, as sent.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

macro_rules! with_id {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $de:literal $field:ident $(as $rename:literal)? : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            /// The id (UUID on 4.x, number on older clouds), as a string.
            #[serde(deserialize_with = "lenient_id")]
            pub id: String,
            $(
                $(#[$fm])*
                $(#[serde(rename = $rename)])?
                #[serde(default, deserialize_with = $de, skip_serializing_if = "Option::is_none")]
                pub $field: $ty,
            )*
            /// Every other field, as sent.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

with_id!(
    /// A zone (`listZones`).
    Zone {
        /// Name.
        "lenient_string" name: Option<String>,
        /// Description.
        "lenient_string" description: Option<String>,
        /// `Basic` or `Advanced`.
        "lenient_string" networktype: Option<String>,
        /// `Enabled` / `Disabled`.
        "lenient_string" allocationstate: Option<String>,
    }
);

with_id!(
    /// An OS type (`listOsTypes`).
    OsType {
        /// E.g. "CentOS 6.5 (64-bit)".
        "lenient_string" description: Option<String>,
        /// OS category id.
        "lenient_string" oscategoryid: Option<String>,
    }
);

with_id!(
    /// A service offering (`listServiceOfferings`).
    ServiceOffering {
        /// Name.
        "lenient_string" name: Option<String>,
        /// Display text.
        "lenient_string" displaytext: Option<String>,
        /// Number of CPUs.
        "lenient_u64" cpunumber: Option<u64>,
        /// CPU speed in MHz.
        "lenient_u64" cpuspeed: Option<u64>,
        /// Memory in MiB.
        "lenient_u64" memory: Option<u64>,
    }
);

with_id!(
    /// A template (`listTemplates`, `registerTemplate`).
    Template {
        /// Name.
        "lenient_string" name: Option<String>,
        /// Display text.
        "lenient_string" displaytext: Option<String>,
        /// `true` once the download finished.
        "lenient_bool" isready: Option<bool>,
        /// Download status text ("45% Downloaded", "Download Complete", an error …).
        "lenient_string" status: Option<String>,
        /// `OVA`, `VHD`, `QCOW2` …
        "lenient_string" format: Option<String>,
        /// `VMware`, `XenServer`, `KVM` …
        "lenient_string" hypervisor: Option<String>,
        /// OS type id.
        "lenient_string" ostypeid: Option<String>,
        /// OS type name.
        "lenient_string" ostypename: Option<String>,
        /// Zone id.
        "lenient_string" zoneid: Option<String>,
        /// Zone name.
        "lenient_string" zonename: Option<String>,
        /// Size in bytes.
        "lenient_u64" size: Option<u64>,
        /// Whether the template can be extracted.
        "lenient_bool" isextractable: Option<bool>,
        /// Whether VMs get a generated password.
        "lenient_bool" passwordenabled: Option<bool>,
        /// `USER`, `BUILTIN` …
        "lenient_string" templatetype: Option<String>,
        /// Creation time.
        "lenient_string" created: Option<String>,
        /// The checksum given at registration, which the server checks after its download, as
        /// it lists it (a hex digest, with or without its `{SHA-256}`-style prefix).
        "lenient_string" checksum: Option<String>,
        /// CPU architecture, `x86_64` or `aarch64` (4.20 and later).
        "lenient_string" arch: Option<String>,
        /// Used straight from its URL, never copied to secondary storage (KVM).
        "lenient_bool" directdownload: Option<bool>,
        /// A VMware template deployed with the settings of its own OVF descriptor.
        "lenient_bool" deployasis: Option<bool>,
        /// Available in every zone (registered with `zoneids=-1`).
        "lenient_bool" crosszones as "crossZones": Option<bool>,
    }
);

with_id!(
    /// A virtual machine (`deployVirtualMachine`, `listVirtualMachines`, start/stop/destroy).
    VirtualMachine {
        /// Name.
        "lenient_string" name: Option<String>,
        /// Display name.
        "lenient_string" displayname: Option<String>,
        /// `Running`, `Stopped`, `Destroyed`, `Expunging` …
        "lenient_string" state: Option<String>,
        /// Zone id.
        "lenient_string" zoneid: Option<String>,
        /// Template id.
        "lenient_string" templateid: Option<String>,
        /// Service offering id.
        "lenient_string" serviceofferingid: Option<String>,
        /// Generated password (templates with `passwordenabled`).
        "lenient_string" password: Option<String>,
        /// Creation time.
        "lenient_string" created: Option<String>,
    }
);

model!(
    /// An async job (`queryAsyncJobResult`, `listAsyncJobs`).
    AsyncJob {
        /// The job id.
        "lenient_string" jobid: Option<String>,
        /// 0 pending, 1 succeeded, 2 failed, 3 cancelled.
        "lenient_u64" jobstatus: Option<u64>,
        /// 0, or the error code.
        "lenient_u64" jobresultcode: Option<u64>,
        /// `object` or `text`.
        "lenient_string" jobresulttype: Option<String>,
        /// Resource type the job acts on.
        "lenient_string" jobinstancetype: Option<String>,
        /// Resource id the job acts on.
        "lenient_string" jobinstanceid: Option<String>,
        /// The Java command class.
        "lenient_string" cmd: Option<String>,
        /// Creation time.
        "lenient_string" created: Option<String>,
        /// Completion time.
        "lenient_string" completed: Option<String>,
    }
);

impl AsyncJob {
    /// The raw `jobresult` (object or text), when present.
    pub fn jobresult(&self) -> Option<&Value> {
        self.extra.get("jobresult")
    }
}

/// The answer of an async call: the job id, plus the new resource id for create commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobStarted {
    /// The job id.
    #[serde(deserialize_with = "lenient_id")]
    pub jobid: String,
    /// The new resource's id (create commands).
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
}

model!(
    /// The result of `extractTemplate` (note the camelCase keys the server uses).
    ExtractedTemplate {
        /// Template id.
        "lenient_string" id: Option<String>,
        /// Template name.
        "lenient_string" name: Option<String>,
        /// The download URL as sent (old servers write `/` as `%2F`: use [`ExtractedTemplate::download_url`]).
        "lenient_string" url: Option<String>,
        /// `DOWNLOAD_URL_CREATED` …
        "lenient_string" state: Option<String>,
        /// Extraction id.
        "lenient_string" extract_id as "extractId": Option<String>,
        /// `HTTP_DOWNLOAD`.
        "lenient_string" extract_mode as "extractMode": Option<String>,
        /// Zone id.
        "lenient_string" zoneid: Option<String>,
        /// Status text.
        "lenient_string" status: Option<String>,
    }
);

impl ExtractedTemplate {
    /// The usable download URL, with a server-written `%2F` undone (see [`crate::response::extract_url`]).
    pub fn download_url(&self) -> Option<String> {
        self.url.as_deref().map(crate::response::extract_url)
    }
}

model!(
    /// A parameter of an API (`listApis`).
    ApiParam {
        /// Name.
        "lenient_string" name: Option<String>,
        /// Type (`string`, `uuid`, `boolean` …).
        "lenient_string" r#type as "type": Option<String>,
        /// Whether it is required.
        "lenient_bool" required: Option<bool>,
        /// Description.
        "lenient_string" description: Option<String>,
    }
);

/// An API command (`listApis`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiInfo {
    /// Command name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the command runs as an async job.
    #[serde(
        default,
        deserialize_with = "lenient_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub isasync: Option<bool>,
    /// Parameters.
    #[serde(default)]
    pub params: Vec<ApiParam>,
    /// Every other field, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Deserializes a typed view from a JSON value.
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(
    command: &str,
    v: Value,
) -> crate::Result<T> {
    serde_json::from_value(v.clone()).map_err(|e| {
        let body = serde_json::to_vec(&v).unwrap_or_default();
        crate::Error::decode(command, 200, format!("unexpected shape: {e}"), &body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{list_page, parse};

    /// The bytes of one file of the CloudStack corpus (the repository's
    /// `testdata/corpus/cloudstack`, see its SOURCES.md); panics when it is missing.
    fn corpus(rel: &str) -> Vec<u8> {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testdata/corpus/cloudstack/"
        );
        let path = format!("{p}{rel}");
        std::fs::read(&path).unwrap_or_else(|e| panic!("corpus file {path}: {e}"))
    }

    fn items<T: serde::de::DeserializeOwned>(command: &str, rel: &str) -> (Vec<T>, Option<u64>) {
        let body = corpus(rel);
        let page = list_page(&parse(command, 200, &body, None).unwrap());
        let typed = page
            .items
            .into_iter()
            .map(|v| from_value::<T>(command, v).unwrap())
            .collect();
        (typed, page.count)
    }

    #[test]
    fn corpus_lists_parse() {
        let (t, c) = items::<OsType>("listOsTypes", "libcloud/listOsTypes_default.json");
        assert_eq!(c, Some(146));
        assert!(
            t.iter()
                .all(|o| !o.id.is_empty() && o.description.is_some())
        );

        let (t, c) = items::<ServiceOffering>(
            "listServiceOfferings",
            "libcloud/listServiceOfferings_default.json",
        );
        assert_eq!(c, None);
        assert!(!t.is_empty());

        let (t, _) = items::<Zone>("listZones", "libcloud/listZones_default.json");
        assert_eq!(t.len(), 1);

        let (t, _) = items::<Template>("listTemplates", "libcloud/listTemplates_deployip.json");
        assert!(
            t.iter()
                .any(|x| x.format.as_deref() == Some("OVA") && x.isready == Some(true))
        );
        assert!(t.iter().all(|x| !x.extra.is_empty()));

        let (t, c) = items::<Template>("listTemplates", "libcloud/listTemplates_notemplates.json");
        assert!(t.is_empty() && c.is_none());

        let (t, _) = items::<OsType>("listOsTypes", "jclouds/listostypesresponse.json");
        assert!(!t.is_empty());

        let (t, _) = items::<Zone>("listZones", "jclouds/listzonesresponse.json");
        assert!(!t.is_empty());

        let (t, _) = items::<ServiceOffering>(
            "listServiceOfferings",
            "jclouds/listserviceofferingsresponse.json",
        );
        assert!(!t.is_empty());

        let (t, _) = items::<Template>("listTemplates", "jclouds/listtemplatesresponse.json");
        assert!(!t.is_empty());

        let (t, c) = items::<AsyncJob>("listAsyncJobs", "jclouds/listasyncjobsresponse.json");
        assert_eq!(c, Some(77));
        assert_eq!(t.iter().filter(|j| j.jobstatus == Some(2)).count(), 9);
    }

    #[test]
    fn corpus_bundles_parse() {
        let b = corpus("cloudstack-go/TemplateService.json");
        let bundle: Value = serde_json::from_slice(&b).unwrap();
        let reg = serde_json::to_vec(&bundle["registerTemplate"]).unwrap();
        let page = list_page(&parse("registerTemplate", 200, &reg, None).unwrap());
        let t: Template = from_value("registerTemplate", page.items[0].clone()).unwrap();
        assert!(t.isready.is_some());
        let ext = serde_json::to_vec(&bundle["extractTemplate"]).unwrap();
        let v = parse("extractTemplate", 200, &ext, None).unwrap();
        let e: ExtractedTemplate = from_value(
            "extractTemplate",
            crate::response::single_object(&v["jobresult"]),
        )
        .unwrap();
        assert_eq!(e.download_url(), e.url);
        let b = corpus("cloudstack-go/ApiDiscoveryService.json");
        let bundle: Value = serde_json::from_slice(&b).unwrap();
        let body = serde_json::to_vec(&bundle["listApis"]).unwrap();
        let page = list_page(&parse("listApis", 200, &body, None).unwrap());
        let apis: Vec<ApiInfo> = page
            .items
            .into_iter()
            .map(|v| from_value("listApis", v).unwrap())
            .collect();
        assert!(apis.iter().all(|a| !a.name.is_empty()));
        let b = corpus("jclouds/deployvirtualmachineresponse4x.json");
        let v = parse("deployVirtualMachine", 200, &b, None).unwrap();
        let started: JobStarted = from_value("deployVirtualMachine", v).unwrap();
        assert!(started.id.is_some());
        let b = corpus("libcloud/deployVirtualMachine_default.json");
        let started: JobStarted = from_value(
            "deployVirtualMachine",
            parse("deployVirtualMachine", 200, &b, None).unwrap(),
        )
        .unwrap();
        assert_eq!(started.jobid, "17164");
    }

    /// The template fields servers send and the struct names: `crossZones` (camel case on every
    /// version), `checksum`; `arch`, `deployasis` and `directdownload` as 4.20 lists them.
    #[test]
    fn template_fields_of_old_and_new_servers() {
        let (t, _) = items::<Template>("listTemplates", "libcloud/listTemplates_deployip.json");
        assert!(t.iter().all(|t| t.crosszones == Some(false)));
        assert!(t.iter().all(|t| !t.extra.contains_key("crossZones")));
        let (t, _) = items::<Template>("listTemplates", "jclouds/listtemplatesresponse.json");
        assert!(t.iter().any(|t| t.crosszones == Some(true)));

        let job = corpus("libcloud/queryAsyncJobResult_1300003.json");
        let answer = parse("queryAsyncJobResult", 200, &job, None).unwrap();
        let t: Template = from_value(
            "queryAsyncJobResult",
            answer["jobresult"]["template"].clone(),
        )
        .unwrap();
        assert_eq!(
            t.checksum.as_deref(),
            Some("d8fc299515d138b13680014d05031d8b")
        );

        let v = serde_json::json!({"id": "t", "arch": "aarch64", "deployasis": "true",
            "directdownload": false, "crossZones": true});
        let t: Template = serde_json::from_value(v).unwrap();
        assert_eq!(t.arch.as_deref(), Some("aarch64"));
        assert_eq!(
            (t.deployasis, t.directdownload, t.crosszones),
            (Some(true), Some(false), Some(true))
        );
        assert!(t.extra.is_empty(), "{:?}", t.extra);
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["crossZones"], true);
        assert!(back.get("crosszones").is_none());
    }

    #[test]
    fn unknown_fields_kept_and_roundtrip() {
        let v = serde_json::json!({"id": 5, "name": "z", "newfield": {"a": 1}, "isready": "true"});
        let t: Template = serde_json::from_value(v).unwrap();
        assert_eq!(t.id, "5");
        assert_eq!(t.isready, Some(true));
        assert_eq!(t.extra["newfield"]["a"], 1);
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["newfield"]["a"], 1);
        assert!(serde_json::from_value::<Zone>(serde_json::json!({"name": "noid"})).is_err());
    }
}
