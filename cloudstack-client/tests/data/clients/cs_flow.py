"""The operator flow with the `cs` package (exoscale/cs, ngine-io/cs) against a CloudStack API.

Usage: python cs_flow.py ENDPOINT KEY SECRET OVA_URL OVA_SHA256
Prints one JSON object with what each step saw; exits non-zero when a step fails.
"""
import hashlib
import json
import sys
import time
import urllib.request

from importlib.metadata import version

from cs import CloudStack, CloudStackApiException

endpoint, key, secret, ova_url, ova_sha256 = sys.argv[1:6]
cs = CloudStack(endpoint=endpoint, key=key, secret=secret, poll_interval=0.05, fetch_result=False)
out = {"version": version("cs")}


def wait_ready(template_id, seen):
    for _ in range(400):
        t = cs.listTemplates(templatefilter="self", id=template_id)["template"][0]
        if not seen or seen[-1] != t["status"]:
            seen.append(t["status"])
        if t["isready"] or "match" in t["status"] or "Fail" in t["status"]:
            return t
        time.sleep(0.02)
    raise SystemExit("template %s never became ready: %s" % (template_id, seen))


zone = cs.listZones(name="tokyo-1")["zone"][0]
os_type = cs.listOsTypes(keyword="CentOS 6.5")["ostype"][0]
offering = cs.listServiceOfferings()["serviceoffering"][0]
out["hypervisors"] = sorted(h["name"] for h in cs.listHypervisors()["hypervisor"])

reg = cs.registerTemplate(
    name="flow-cs", displaytext="flow with cs", format="OVA", hypervisor="VMware",
    ostypeid=os_type["id"], zoneid=zone["id"], url=ova_url, isextractable="true",
    passwordenabled="true", checksum="{SHA-256}" + ova_sha256,
)
template = reg["template"][0]
out["registered_status"] = template["status"]
statuses = [template["status"]]
template = wait_ready(template["id"], statuses)
out["statuses"] = statuses
out["ready"] = template["isready"]
out["renamed"] = cs.updateTemplate(id=template["id"], displaytext="flow with cs, renamed")["template"]["displaytext"]

vm = cs.deployVirtualMachine(
    serviceofferingid=offering["id"], templateid=template["id"], zoneid=zone["id"],
    name="flow-cs", fetch_result=True,
)["virtualmachine"]
out["deployed"] = vm["state"]
out["nic_ip"] = vm["nic"][0]["ipaddress"]
out["password_set"] = bool(vm.get("password"))
out["stopped"] = cs.stopVirtualMachine(id=vm["id"], fetch_result=True)["virtualmachine"]["state"]
out["started"] = cs.startVirtualMachine(id=vm["id"], fetch_result=True)["virtualmachine"]["state"]
out["rebooted"] = cs.rebootVirtualMachine(id=vm["id"], fetch_result=True)["virtualmachine"]["state"]
out["root_volumes"] = cs.listVolumes(virtualmachineid=vm["id"], type="ROOT")["count"]

extracted = cs.extractTemplate(id=template["id"], mode="HTTP_DOWNLOAD", zoneid=zone["id"], fetch_result=True)
url = extracted["template"]["url"]
out["extract_url"] = url
with urllib.request.urlopen(url) as r:
    out["download_sha256"] = hashlib.sha256(r.read()).hexdigest()

cs.destroyVirtualMachine(id=vm["id"], expunge="true", fetch_result=True)
out["vms_left"] = cs.listVirtualMachines(id=vm["id"])
cs.deleteTemplate(id=template["id"], fetch_result=True)
out["templates_left"] = cs.listTemplates(templatefilter="self", id=template["id"])

# a checksum that does not match the bytes: the template fails with the storage's text
bad = cs.registerTemplate(
    name="flow-cs-bad", format="OVA", hypervisor="VMware", ostypeid=os_type["id"],
    zoneids="-1", url=ova_url, checksum="{SHA-256}" + "0" * 64,
)["template"]
out["bad_rows"] = len(bad)
out["bad_status"] = wait_ready(bad[0]["id"], [])["status"]

# requests the server refuses: a wrong-case command name, a capitalised `Command`
for name, call in [("wrong_case", lambda: cs.listzones()),
                   ("unknown", lambda: cs.frobnicateZones())]:
    try:
        call()
        out[name] = 200
    except CloudStackApiException as e:
        out[name] = [e.response.status_code, list(e.response.json().keys())[0]]
print(json.dumps(out))
