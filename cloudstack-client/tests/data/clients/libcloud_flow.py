"""The operator flow with Apache Libcloud's CloudStack driver against a CloudStack API.

Libcloud has no template registration or extraction call, so those two go through the driver's
own signed connection (`_sync_request`/`_async_request`), as Libcloud users do; the rest is the
driver's public API (`list_images`, `create_node`, `ex_stop`, `ex_start`, `reboot_node`,
`list_nodes`, `destroy_node`); the driver has no `delete_image` either, so the template is
deleted through the connection too.

Usage: python libcloud_flow.py ENDPOINT KEY SECRET OVA_URL OVA_SHA256
"""
import hashlib
import json
import sys
import time
import urllib.parse
import urllib.request

import libcloud
from libcloud.compute.providers import get_driver
from libcloud.compute.types import Provider

endpoint, key, secret, ova_url, ova_sha256 = sys.argv[1:6]
u = urllib.parse.urlparse(endpoint)
Driver = get_driver(Provider.CLOUDSTACK)
drv = Driver(key, secret, secure=False, host=u.hostname, port=u.port, path=u.path)
drv.connection.poll_interval = 0.05
out = {"version": libcloud.__version__}

location = [loc for loc in drv.list_locations() if loc.name == "tokyo-1"][0]
size = drv.list_sizes()[0]
os_type = drv._sync_request("listOsTypes", params={"keyword": "CentOS 6.5"})["ostype"][0]
reg = drv._sync_request("registerTemplate", params={
    "name": "flow-libcloud", "displaytext": "flow with libcloud", "format": "OVA",
    "hypervisor": "VMware", "ostypeid": os_type["id"], "zoneid": location.id, "url": ova_url,
    "isextractable": "true", "checksum": "{SHA-256}" + ova_sha256,
})
template_id = reg["template"][0]["id"]
out["registered_status"] = reg["template"][0]["status"]
for _ in range(400):
    t = drv._sync_request("listTemplates", params={"templatefilter": "self", "id": template_id})["template"][0]
    if t["isready"]:
        break
    time.sleep(0.02)
out["ready"] = t["isready"]
image = [i for i in drv.list_images(location=location) if i.id == template_id][0]

# Libcloud deploys with startvm=false unless told otherwise
node = drv.create_node(name="flow-libcloud", size=size, image=image, location=location)
out["deployed"] = str(node.state)
out["private_ips"] = node.private_ips
out["first_start"] = drv.ex_start(node)
out["stopped"] = drv.ex_stop(node)
out["started"] = drv.ex_start(node)
out["rebooted"] = drv.reboot_node(node)
nodes = drv.list_nodes()
mine = [n for n in nodes if n.id == node.id][0]
out["listed_private_ips"] = mine.private_ips
out["listed_state"] = str(mine.state)
out["volumes"] = len(drv.list_volumes())

extracted = drv._async_request("extractTemplate", params={"id": template_id, "mode": "HTTP_DOWNLOAD", "zoneid": location.id})
with urllib.request.urlopen(extracted["template"]["url"]) as r:
    out["download_sha256"] = hashlib.sha256(r.read()).hexdigest()

out["destroyed"] = drv.destroy_node(node, ex_expunge=True)
out["nodes_left"] = [n.id for n in drv.list_nodes() if n.id == node.id]
deleted = drv._async_request("deleteTemplate", params={"id": template_id})
out["image_deleted"] = deleted.get("success")
out["templates_left"] = drv._sync_request("listTemplates", params={"templatefilter": "self", "id": template_id})
print(json.dumps(out))
