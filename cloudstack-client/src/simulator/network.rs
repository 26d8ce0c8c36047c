//! Networking seen by the clients' normal flows: a default isolated guest network per zone with
//! its source-NAT public address, and an SSH key pair. (Libcloud's `list_nodes` reads the public
//! addresses and forwarding rules; Ansible's `cs_instance` reads the networks.)

use serde_json::json;

use super::state::{ACCOUNT, Answer, DOMAIN_ID, Params, State, obj, s};

impl State {
    /// One `Isolated` guest network per zone (10.1.N.0/24) with a source-NAT address from
    /// 203.0.113.0/24 (TEST-NET-3), and one SSH key pair.
    pub(crate) fn seed_networks(&mut self) {
        let zones = self.zones.clone();
        for (i, zone) in zones.iter().enumerate() {
            let id = self.uuid();
            let net = i + 1;
            let offering = "8f5a1f12-7a57-11ee-9c3a-0242ac110002";
            self.networks.push(obj(json!({
                "id": id, "name": format!("guest-{}", s(zone, "name")), "displaytext": format!("Default guest network of {}", s(zone, "name")),
                "broadcastdomaintype": "Vlan", "broadcasturi": format!("vlan://{}", 1000 + net), "traffictype": "Guest",
                "gateway": format!("10.1.{net}.1"), "netmask": "255.255.255.0", "cidr": format!("10.1.{net}.0/24"),
                "zoneid": s(zone, "id"), "zonename": s(zone, "name"), "networkofferingid": offering,
                "networkofferingname": "DefaultIsolatedNetworkOfferingWithSourceNatService",
                "networkofferingdisplaytext": "Offering for Isolated networks with Source Nat service enabled",
                "networkofferingconservemode": true, "networkofferingavailability": "Required", "issystem": false,
                "state": "Implemented", "related": id, "dns1": "8.8.8.8", "type": "Isolated", "acltype": "Account",
                "account": ACCOUNT, "domainid": DOMAIN_ID, "domain": "ROOT", "isdefault": false, "canusefordeploy": true,
                "ispersistent": false, "restartrequired": false, "specifyipranges": false, "redundantrouter": false,
                "service": [{"name": "SourceNat"}, {"name": "Dhcp"}, {"name": "Dns"}, {"name": "Firewall"}, {"name": "PortForwarding"}, {"name": "StaticNat"}],
                "tags": []
            })));
            let ip = self.uuid();
            self.public_ips.push(obj(json!({
                "id": ip, "ipaddress": format!("203.0.113.{}", 10 + net), "allocated": "2023-11-01T09:00:00+0000",
                "zoneid": s(zone, "id"), "zonename": s(zone, "name"), "issourcenat": true, "account": ACCOUNT,
                "domainid": DOMAIN_ID, "domain": "ROOT", "forvirtualnetwork": true, "isstaticnat": false, "issystem": false,
                "associatednetworkid": id, "associatednetworkname": format!("guest-{}", s(zone, "name")), "networkid": id,
                "state": "Allocated", "fordisplay": true, "tags": []
            })));
        }
        let key = self.uuid();
        self.ssh_keys.push(obj(json!({
            "id": key, "name": "admin-key", "fingerprint": "4e:5c:3a:1f:8b:2d:90:77:aa:11:6d:e3:0c:9f:42:b8",
            "account": ACCOUNT, "domainid": DOMAIN_ID, "domain": "ROOT"
        })));
    }

    pub(crate) fn list_networks(&self, p: &Params) -> Answer {
        let nets: Vec<_> = self
            .networks
            .iter()
            .filter(|n| {
                p.get("type").is_none_or(|t| {
                    t.eq_ignore_ascii_case("all") || t.eq_ignore_ascii_case(&s(n, "type"))
                })
            })
            .cloned()
            .collect();
        self.list(
            "network",
            &nets,
            p,
            &[
                "id",
                "name",
                "zoneid",
                "traffictype",
                "canusefordeploy",
                "issystem",
            ],
        )
    }

    pub(crate) fn list_public_ips(&self, p: &Params) -> Answer {
        self.list(
            "publicipaddress",
            &self.public_ips,
            p,
            &[
                "id",
                "ipaddress",
                "zoneid",
                "associatednetworkid",
                "issourcenat",
                "isstaticnat",
            ],
        )
    }
}
