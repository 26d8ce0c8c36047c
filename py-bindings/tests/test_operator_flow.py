"""The operator flow in Python against the CloudStack simulator and a real S3 server (moto):
build OVA -> upload with public ACL -> registerTemplate -> wait ready -> deploy -> wait ->
extract -> copy the export into S3 -> verify the bytes. Runs the example script users copy."""

import os
import subprocess
import sys
import uuid

from .ovakit_helpers import REPO, missing


def test_operator_flow_example(moto_endpoint, tmp_path):
    script = REPO / "examples" / "python" / "operator_flow.py"
    if not script.exists():
        missing(f"{script} is missing")
    disk = tmp_path / "disk.raw"
    with open(disk, "wb") as f:
        f.truncate(6 << 20)
        f.write(os.urandom(300_000))
    bucket = "flow-" + uuid.uuid4().hex[:10]
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    out = subprocess.run(
        [
            sys.executable,
            str(script),
            "--disk",
            str(disk),
            "--bucket",
            bucket,
            "--s3-endpoint",
            moto_endpoint,
            "--create-bucket",
            "--simulator",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for step in ["built", "uploaded with a public ACL", "template ready", "deployed", "extracted",
                 "export copied into S3", "verified"]:
        assert f"==> {step}" in out.stdout, out.stdout


def test_operator_flow_in_process(moto_endpoint, s3, bucket, tmp_path):
    """The same flow step by step in this process, checking each result."""
    import hashlib

    from ovakit.cloudstack import Simulator
    from ovakit.ova import Ova, build_ova

    disk = tmp_path / "disk.raw"
    with open(disk, "wb") as f:
        f.truncate(4 << 20)
        f.write(os.urandom(200_000))
    ova = tmp_path / "app.ova"
    report = build_ova(disk, ova, "app", cpus=2, memory_mb=1024)
    assert report.entries[0] == "app.ovf" and Ova.open(ova).verify_manifest().ok
    s3.copy(ova, bucket, "app.ova", acl="public-read")
    url = f"{moto_endpoint}/{bucket}/app.ova"
    with Simulator() as sim:
        cs = sim.client()
        zone = cs.list_zones()[0].id
        t = cs.register_template(name="app", displaytext="app", url=url, zoneid=zone,
                                 ostypeid=cs.list_os_types()[0].id, format="OVA",
                                 hypervisor="VMware", isextractable=True)
        t = cs.wait_template_ready(t.id)
        assert t.isready
        vm = cs.deploy_virtual_machine(zoneid=zone, templateid=t.id,
                                       serviceofferingid=cs.list_service_offerings()[0].id)
        assert vm.state == "Running"
        export = cs.extract_template(t.id)
        copied = s3.copy(export.download_url, bucket, "export.ova", sha256=True)
    assert copied.sha256 == hashlib.sha256(ova.read_bytes()).hexdigest()
    assert s3.get_object(bucket, "export.ova") == ova.read_bytes()
