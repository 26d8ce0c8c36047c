//! Virtual machine commands: deploy (a NIC with an address in the zone's guest network and a ROOT
//! volume), list, start/stop/reboot/destroy/expunge jobs, recover.

use serde_json::{Map, Value, json};

use super::state::{
    ACCOUNT, Action, Answer, DOMAIN_ID, Params, State, error, find, invalid, now_str, obj, s,
};

impl State {
    pub(crate) fn deploy(&mut self, p: &Params) -> Answer {
        let Some(off) = find(&self.offerings, &p["serviceofferingid"]).cloned() else {
            return error(
                431,
                4350,
                format!(
                    "Unable to find service offering: {}",
                    p["serviceofferingid"]
                ),
            );
        };
        let Some(zone) = find(&self.zones, &p["zoneid"]).cloned() else {
            return invalid("deployVirtualMachine", "zoneid", &p["zoneid"]);
        };
        let Some(t) = self
            .templates
            .iter()
            .find(|t| s(t, "id") == p["templateid"])
            .cloned()
        else {
            return invalid("deployVirtualMachine", "templateid", &p["templateid"]);
        };
        let in_zone = self
            .templates
            .iter()
            .find(|t| s(t, "id") == p["templateid"] && s(t, "zoneid") == s(&zone, "id"));
        if in_zone.is_none_or(|t| t.get("isready") != Some(&Value::Bool(true))) {
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
        let network = match p.get("networkids").and_then(|n| n.split(',').next()) {
            Some(nid) => match find(&self.networks, nid.trim()) {
                Some(n) if s(n, "zoneid") == s(&zone, "id") => n.clone(),
                _ => return invalid("deployVirtualMachine", "networkids", nid),
            },
            None => match self
                .networks
                .iter()
                .find(|n| s(n, "zoneid") == s(&zone, "id"))
            {
                Some(n) => n.clone(),
                None => {
                    return error(
                        431,
                        4350,
                        "Can't find a default network in this zone; specify networkids",
                    );
                }
            },
        };
        if let Some(key) = p.get("keypair")
            && !self.ssh_keys.iter().any(|k| s(k, "name") == *key)
        {
            return error(
                431,
                4350,
                format!(
                    "A key pair with name '{key}' was not found for account {ACCOUNT} in specified domain id"
                ),
            );
        }
        let id = self.uuid();
        let name = p.get("name").cloned().unwrap_or_else(|| format!("VM-{id}"));
        let nic = self.new_nic(&network, p.get("ipaddress").map(String::as_str));
        let start = p
            .get("startvm")
            .is_none_or(|v| v.eq_ignore_ascii_case("true"));
        let n = self.vms.len() + 2;
        let vm = obj(json!({
            "id": id, "name": name, "displayname": p.get("displayname").cloned().unwrap_or_else(|| name.clone()),
            "account": ACCOUNT, "domainid": DOMAIN_ID, "domain": "ROOT", "created": now_str(), "state": if start { "Starting" } else { "Stopped" },
            "haenable": false, "zoneid": s(&zone, "id"), "zonename": s(&zone, "name"), "templateid": s(&t, "id"),
            "templatename": s(&t, "name"), "templatedisplaytext": s(&t, "displaytext"), "passwordenabled": t.get("passwordenabled").cloned().unwrap_or(Value::Bool(false)),
            "serviceofferingid": s(&off, "id"), "serviceofferingname": s(&off, "name"), "cpunumber": off.get("cpunumber").cloned().unwrap_or(json!(1)),
            "cpuspeed": off.get("cpuspeed").cloned().unwrap_or(json!(500)), "memory": off.get("memory").cloned().unwrap_or(json!(512)),
            "guestosid": s(&t, "ostypeid"), "rootdeviceid": 0, "rootdevicetype": "ROOT", "hypervisor": s(&t, "hypervisor"),
            "instancename": format!("i-2-{n}-VM"), "nic": [nic], "securitygroup": [], "affinitygroup": [], "tags": [],
            "keypairs": p.get("keypair").cloned().unwrap_or_default(), "isdynamicallyscalable": false, "ostypeid": s(&t, "ostypeid"),
            "osdisplayname": s(&t, "ostypename"), "arch": t.get("arch").cloned().unwrap_or(json!("x86_64")), "details": {}
        }));
        let volume_id = self.uuid();
        self.volumes.push(obj(json!({
            "id": volume_id, "name": format!("ROOT-{n}"), "zoneid": s(&zone, "id"), "zonename": s(&zone, "name"),
            "type": "ROOT", "deviceid": 0, "virtualmachineid": id, "vmname": name, "vmdisplayname": name, "vmstate": "Starting",
            "size": t.get("size").cloned().unwrap_or(json!(21_474_836_480u64)), "created": now_str(), "state": "Ready",
            "account": ACCOUNT, "domainid": DOMAIN_ID, "domain": "ROOT", "storagetype": "shared", "hypervisor": s(&t, "hypervisor"),
            "templateid": s(&t, "id"), "serviceofferingid": s(&off, "id"), "destroyed": false, "isextractable": false,
            "provisioningtype": "thin", "tags": []
        })));
        self.vms.push(vm);
        let action = if start {
            Action::Deploy(id.clone())
        } else {
            Action::Stop(id.clone())
        };
        let jobid = self.new_job(
            "deployVirtualMachine",
            "vm.DeployVMCmd",
            "VirtualMachine",
            &id,
            action,
        );
        (200, json!({"id": id, "jobid": jobid}))
    }

    pub(crate) fn list_vms(&self, p: &Params) -> Answer {
        let vms: Vec<_> = self
            .vms
            .iter()
            .filter(|v| {
                p.contains_key("state")
                    || !["Destroyed", "Expunging"].contains(&s(v, "state").as_str())
            })
            .cloned()
            .collect();
        self.list(
            "virtualmachine",
            &vms,
            p,
            &[
                "id",
                "name",
                "state",
                "zoneid",
                "templateid",
                "serviceofferingid",
            ],
        )
    }

    pub(crate) fn vm_job(
        &mut self,
        p: &Params,
        command: &str,
        class: &str,
        action: impl FnOnce(String) -> Action,
    ) -> Answer {
        let id = p["id"].clone();
        let Some(vm) = find(&self.vms, &id) else {
            return invalid(command, "id", &id);
        };
        let state = s(vm, "state");
        let allowed = match command {
            "destroyVirtualMachine" | "expungeVirtualMachine" => true,
            "rebootVirtualMachine" => state == "Running",
            _ => state != "Destroyed",
        };
        if !allowed {
            return error(
                431,
                4350,
                if command == "rebootVirtualMachine" {
                    format!("Unable to reboot VM {id} as it is not in Running state")
                } else {
                    format!("Unable to find virtual machine with id {id}")
                },
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

    pub(crate) fn recover_vm(&mut self, p: &Params) -> Answer {
        let id = p["id"].clone();
        let Some(vm) = find(&self.vms, &id) else {
            return invalid("recoverVirtualMachine", "id", &id);
        };
        if s(vm, "state") != "Destroyed" {
            return error(
                431,
                4350,
                format!("Unable to recover VM {id} as it is not in Destroyed state"),
            );
        }
        (
            200,
            json!({"virtualmachine": self.set_vm_state(&id, "Stopped")}),
        )
    }

    /// Sets a VM's (and its volumes') state and returns the VM as the job result shows it.
    pub(crate) fn set_vm_state(&mut self, id: &str, state: &str) -> Value {
        for v in self
            .volumes
            .iter_mut()
            .filter(|v| s(v, "virtualmachineid") == id)
        {
            v.insert("vmstate".into(), json!(state));
        }
        match self.vms.iter_mut().find(|v| s(v, "id") == id) {
            Some(vm) => {
                vm.insert("state".into(), json!(state));
                Value::Object(vm.clone())
            }
            None => Value::Null,
        }
    }

    /// Expunges a VM: it, its volumes and its NIC's address are gone.
    pub(crate) fn remove_vm(&mut self, id: &str) {
        self.vms.retain(|v| s(v, "id") != id);
        self.volumes.retain(|v| s(v, "virtualmachineid") != id);
    }

    /// A NIC in `network`, with the requested address or the next free one of its CIDR.
    fn new_nic(&mut self, network: &Map<String, Value>, wanted: Option<&str>) -> Value {
        let netid = s(network, "id");
        let used: Vec<String> = self
            .vms
            .iter()
            .filter_map(|v| v.get("nic").and_then(Value::as_array))
            .flatten()
            .filter(|n| n.get("networkid").and_then(Value::as_str) == Some(netid.as_str()))
            .filter_map(|n| {
                n.get("ipaddress")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        let prefix = s(network, "gateway")
            .rsplit_once('.')
            .map(|(p, _)| p.to_owned())
            .unwrap_or_else(|| "10.1.1".to_owned());
        let ip = wanted.map(str::to_owned).unwrap_or_else(|| {
            (10..255)
                .map(|host| format!("{prefix}.{host}"))
                .find(|ip| !used.contains(ip))
                .unwrap_or_else(|| format!("{prefix}.254"))
        });
        let id = self.uuid();
        let mac = self.seq;
        json!({
            "id": id, "networkid": netid, "networkname": s(network, "name"), "netmask": s(network, "netmask"),
            "gateway": s(network, "gateway"), "ipaddress": ip, "isolationuri": s(network, "broadcasturi"),
            "broadcasturi": s(network, "broadcasturi"), "traffictype": "Guest", "type": s(network, "type"),
            "isdefault": true, "macaddress": format!("02:00:{:02x}:{:02x}:{:02x}:{:02x}", (mac >> 24) & 0xff, (mac >> 16) & 0xff, (mac >> 8) & 0xff, mac & 0xff),
            "deviceid": "0", "secondaryip": [], "extradhcpoption": []
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployed_vm_has_a_nic_and_a_root_volume() {
        let mut st = State::seeded();
        let t = st.templates[0].clone();
        let p: Params = [
            ("serviceofferingid", s(&st.offerings[0], "id")),
            ("templateid", s(&t, "id")),
            ("zoneid", s(&t, "zoneid")),
            ("name", "web-1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let (code, body) = st.deploy(&p);
        assert_eq!(code, 200, "{body}");
        let (_, again) = st.deploy(&p);
        let vm = find(&st.vms, body["id"].as_str().unwrap()).unwrap();
        let nic = &vm["nic"][0];
        assert_eq!(nic["ipaddress"], "10.1.1.10");
        assert_eq!(nic["gateway"], "10.1.1.1");
        let other_id = again["id"].as_str().unwrap().to_owned();
        let other = find(&st.vms, &other_id).unwrap();
        assert_eq!(other["nic"][0]["ipaddress"], "10.1.1.11");
        assert_eq!(
            st.volumes
                .iter()
                .filter(|v| s(v, "virtualmachineid") == s(vm, "id") && s(v, "type") == "ROOT")
                .count(),
            1
        );
        let id = s(vm, "id");
        st.remove_vm(&id);
        assert!(st.volumes.iter().all(|v| s(v, "virtualmachineid") != id));
        // a stopped VM cannot be rebooted
        st.set_vm_state(&other_id, "Stopped");
        let mut r = Params::new();
        r.insert("id".into(), other_id);
        assert_eq!(
            st.vm_job(&r, "rebootVirtualMachine", "RebootVMCmd", Action::Reboot)
                .0,
            431
        );
        assert!(super::super::state::flag(
            &[("x".to_owned(), "TRUE".to_owned())].into(),
            "x"
        ));
    }
}
