//! The simulator refuses what the real server refuses, and answers in its shapes (the table in
//! the simulator's module docs): requests are built and sent by hand here so each case is exactly
//! the one the server sees.

use std::collections::BTreeMap;

use cloudstack_client::sign::{SignatureAlgorithm, sign, wire_encode};
use cloudstack_client::simulator::{Simulator, SimulatorConfig};
use serde_json::{Value, json};

/// `pairs` on the wire in this order (duplicates included), signed over `signed_over`.
fn query(pairs: &[(&str, &str)], signed_over: &BTreeMap<&str, &str>, secret: &str) -> String {
    let sig = sign(
        SignatureAlgorithm::HmacSha1,
        secret.as_bytes(),
        signed_over.iter().map(|(k, v)| (*k, *v)),
    );
    pairs
        .iter()
        .map(|(k, v)| (*k, *v))
        .chain([("signature", sig.as_str())])
        .map(|(k, v)| format!("{}={}", wire_encode(k), wire_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Sends `pairs` signed over themselves (the last value of a repeated name, as the server keeps).
async fn send(sim: &Simulator, pairs: &[(&str, &str)]) -> (u16, Value) {
    let mut over = BTreeMap::new();
    for (k, v) in pairs {
        over.insert(*k, *v);
    }
    send_signed_over(sim, pairs, &over).await
}

async fn send_signed_over(
    sim: &Simulator,
    pairs: &[(&str, &str)],
    over: &BTreeMap<&str, &str>,
) -> (u16, Value) {
    let mut all: Vec<(&str, &str)> = vec![("apiKey", sim.api_key()), ("response", "json")];
    all.extend_from_slice(pairs);
    let mut over = over.clone();
    over.insert("apiKey", sim.api_key());
    over.insert("response", "json");
    let url = format!(
        "{}?{}",
        sim.endpoint(),
        query(&all, &over, sim.secret_key())
    );
    let resp = reqwest::get(&url).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

const REFUSED: &str = "unable to verify user credentials and/or request signature";

#[tokio::test]
async fn command_names_are_case_sensitive() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let (status, ok) = send(&sim, &[("command", "listZones")]).await;
    assert_eq!(status, 200);
    assert_eq!(ok["listzonesresponse"]["count"], 2);
    // `listzones` is not a command the server knows
    let (status, body) = send(&sim, &[("command", "listzones")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["errorresponse"]["errortext"], REFUSED);
    assert_eq!(body["errorresponse"]["errorcode"], 401);
}

#[tokio::test]
async fn capitalised_command_parameter_is_refused() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let (status, body) = send(&sim, &[("Command", "listZones")]).await;
    assert_eq!(status, 401);
    assert_eq!(body["errorresponse"]["errortext"], REFUSED);
}

#[tokio::test]
async fn unknown_signed_command_is_401_errorresponse() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let (status, body) = send(&sim, &[("command", "frobnicateZones")]).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"errorresponse": {"uuidList": [], "errorcode": 401, "cserrorcode": 9999, "errortext": REFUSED}})
    );
    // a known command with a bad signature keeps its own response name
    let mut over = BTreeMap::new();
    over.insert("command", "listZones");
    over.insert("name", "other");
    let (status, body) = send_signed_over(&sim, &[("command", "listZones")], &over).await;
    assert_eq!(status, 401);
    assert_eq!(body["listzonesresponse"]["errorcode"], 401);
}

#[tokio::test]
async fn repeated_parameter_keeps_the_last_value() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let wire = [
        ("command", "listZones"),
        ("name", "osaka-1"),
        ("name", "tokyo-1"),
    ];
    // signed over the last value, as the server verifies: accepted, and the last value is used
    let (status, body) = send(&sim, &wire).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["listzonesresponse"]["count"], 1);
    assert_eq!(body["listzonesresponse"]["zone"][0]["name"], "tokyo-1");
    // signed over the first value: refused
    let mut first = BTreeMap::new();
    first.insert("command", "listZones");
    first.insert("name", "osaka-1");
    let (status, _) = send_signed_over(&sim, &wire, &first).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn page_past_the_end_has_the_count() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let (status, body) = send(
        &sim,
        &[("command", "listOsTypes"), ("page", "9"), ("pagesize", "4")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"listostypesresponse": {"count": 9}}));
    let (_, body) = send(&sim, &[("command", "listOsTypes"), ("keyword", "plan9")]).await;
    assert_eq!(body, json!({"listostypesresponse": {}}));
}

#[tokio::test]
async fn new_commands_answer_in_the_servers_shapes() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let (_, h) = send(&sim, &[("command", "listHypervisors")]).await;
    assert!(
        h["listhypervisorsresponse"]["hypervisor"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "VMware")
    );
    let (_, c) = send(&sim, &[("command", "listCapabilities")]).await;
    assert_eq!(
        c["listcapabilitiesresponse"]["capability"]["cloudstackversion"],
        "4.20.1.0"
    );
    let (_, n) = send(&sim, &[("command", "listNetworks"), ("listall", "true")]).await;
    let net = &n["listnetworksresponse"]["network"][0];
    assert_eq!(net["type"], "Isolated");
    let (_, ip) = send(
        &sim,
        &[
            ("command", "listPublicIpAddresses"),
            ("associatednetworkid", net["id"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(ip["listpublicipaddressesresponse"]["count"], 1);
    assert_eq!(
        ip["listpublicipaddressesresponse"]["publicipaddress"][0]["issourcenat"],
        true
    );
    for (command, wrapper) in [
        ("listPortForwardingRules", "listportforwardingrulesresponse"),
        ("listIpForwardingRules", "listipforwardingrulesresponse"),
        ("listVolumes", "listvolumesresponse"),
    ] {
        let (status, body) = send(&sim, &[("command", command)]).await;
        assert_eq!((status, &body), (200, &json!({wrapper: {}})));
    }
    let (_, k) = send(&sim, &[("command", "listSSHKeyPairs")]).await;
    assert_eq!(
        k["listsshkeypairsresponse"]["sshkeypair"][0]["name"],
        "admin-key"
    );
    // updateTemplate on a template that is not there
    let (status, _) = send(&sim, &[("command", "updateTemplate"), ("id", "nope")]).await;
    assert_eq!(status, 431);
}

#[tokio::test]
async fn list_apis_has_real_metadata() {
    let sim = Simulator::start(SimulatorConfig::default()).unwrap();
    let (_, body) = send(&sim, &[("command", "listApis")]).await;
    let apis = body["listapisresponse"]["api"].as_array().unwrap();
    assert_eq!(body["listapisresponse"]["count"], apis.len());
    let reg = apis
        .iter()
        .find(|a| a["name"] == "registerTemplate")
        .unwrap();
    assert_eq!(reg["isasync"], false);
    let param = |name: &str| {
        reg["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(param("url")["length"], 2048);
    assert_eq!(param("url")["required"], true);
    assert_eq!(param("zoneids")["type"], "list");
    assert_eq!(param("isextractable")["type"], "boolean");
    assert_eq!(param("ostypeid")["type"], "uuid");
    assert!(
        reg["response"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "isready" && f["type"] == "boolean")
    );
    for a in apis {
        for p in a["params"].as_array().unwrap() {
            assert!(p["length"].as_u64().is_some_and(|n| n > 0), "{a}");
            assert!(p["description"].is_string() && p["required"].is_boolean());
        }
    }
    let deploy = apis
        .iter()
        .find(|a| a["name"] == "deployVirtualMachine")
        .unwrap();
    assert_eq!(deploy["isasync"], true);
    let (_, one) = send(
        &sim,
        &[("command", "listApis"), ("name", "rebootVirtualMachine")],
    )
    .await;
    assert_eq!(one["listapisresponse"]["count"], 1);
}

/// The server refuses to extract a template that is not extractable only for callers who are not
/// the root admin (`!isRootAdmin(caller) && !template.isExtractable()` in
/// `TemplateManagerImpl.extract`); the simulator's keys are the root admin's, so it extracts it.
#[tokio::test]
async fn root_admin_extracts_a_template_that_is_not_extractable() {
    let sim = Simulator::start(SimulatorConfig {
        pending_polls: 0,
        ..Default::default()
    })
    .unwrap();
    let ova = crate::common::make_ova();
    let url = format!("{}/t.ova", crate::common::serve_bytes(ova.clone()));
    let (_, zones) = send(&sim, &[("command", "listZones")]).await;
    let zone = zones["listzonesresponse"]["zone"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, os) = send(&sim, &[("command", "listOsTypes")]).await;
    let os = os["listostypesresponse"]["ostype"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, reg) = send(
        &sim,
        &[
            ("command", "registerTemplate"),
            ("displaytext", "not extractable"),
            ("format", "OVA"),
            ("hypervisor", "VMware"),
            ("name", "plain"),
            ("ostypeid", &os),
            ("url", &url),
            ("zoneid", &zone),
        ],
    )
    .await;
    assert_eq!(status, 200, "{reg}");
    let t = &reg["registertemplateresponse"]["template"][0];
    assert_eq!(t["isextractable"], false);
    let id = t["id"].as_str().unwrap().to_owned();
    let mut ready = false;
    for _ in 0..100 {
        let (_, l) = send(
            &sim,
            &[
                ("command", "listTemplates"),
                ("id", &id),
                ("templatefilter", "self"),
            ],
        )
        .await;
        if l["listtemplatesresponse"]["template"][0]["isready"] == true {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "the template never became ready");
    let (status, ex) = send(
        &sim,
        &[
            ("command", "extractTemplate"),
            ("id", &id),
            ("mode", "HTTP_DOWNLOAD"),
            ("zoneid", &zone),
        ],
    )
    .await;
    assert_eq!(status, 200, "{ex}");
    let job = ex["extracttemplateresponse"]["jobid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut url = None;
    for _ in 0..100 {
        let (_, r) = send(&sim, &[("command", "queryAsyncJobResult"), ("jobid", &job)]).await;
        let r = &r["queryasyncjobresultresponse"];
        if r["jobstatus"] != 0 {
            assert_eq!(r["jobstatus"], 1, "{r}");
            url = r["jobresult"]["template"]["url"]
                .as_str()
                .map(str::to_owned);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let url = url.expect("the extract job ended with a URL");
    let got = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), ova.as_slice());
}
