#!/usr/bin/env python3
"""The whole operator flow with ovakit, from a raw disk to a verified export in S3.

    build OVA -> upload to S3 with a public ACL -> registerTemplate -> wait until ready
    -> deploy a VM -> wait -> extractTemplate -> copy the export into S3 -> verify the bytes

Run it against a real cloud (CloudStack settings from CLOUDSTACK_* or ~/.cloudstack.ini, S3
settings from AWS_* or ~/.aws) or, with --simulator, against ovakit's CloudStack simulator:

    python operator_flow.py --s3-endpoint http://127.0.0.1:9000 --bucket images --simulator

Every step raises an ovakit.OvakitError subclass on failure; Ctrl-C stops any step cleanly.
"""

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

import ovakit
from ovakit.cloudstack import Client as CloudStack
from ovakit.cloudstack import Simulator
from ovakit.ova import Ova, build_ova
from ovakit.s3 import Client as S3
from ovakit.s3 import CopyProgress


def show(step: str, detail: str = "") -> None:
    print(f"==> {step}" + (f": {detail}" if detail else ""), flush=True)


def demo_disk(path: Path) -> Path:
    """A small raw disk with some data in it (a stand-in for a real image)."""
    with open(path, "wb") as f:
        f.truncate(8 << 20)
        f.write(os.urandom(1 << 20))
    return path


def progress_printer(label: str) -> Callable[[CopyProgress], None]:
    def progress(p: CopyProgress) -> None:
        print(f"    {label}: {p.bytes_uploaded:>12,} bytes", end="\r", flush=True)

    return progress


def run(args: argparse.Namespace, cs: CloudStack, workdir: Path) -> None:
    s3 = S3(endpoint=args.s3_endpoint, region=args.region, addressing_style="path")
    disk = Path(args.disk) if args.disk else demo_disk(workdir / "disk.raw")

    ova_path = workdir / f"{args.name}.ova"
    report = build_ova(disk, ova_path, args.name, cpus=2, memory_mb=2048, os_type="ubuntu64Guest")
    show("built", f"{ova_path.name}, {report.bytes:,} bytes, entries {list(report.entries)}")
    Ova.open(ova_path).verify_manifest()
    show("manifest verified locally")

    if args.create_bucket:
        with contextlib.suppress(ovakit.S3Error):
            s3.create_bucket(args.bucket)
    key = f"templates/{ova_path.name}"
    s3.copy(ova_path, args.bucket, key, acl="public-read", progress=progress_printer("upload"))
    public_url = f"{args.s3_endpoint.rstrip('/')}/{args.bucket}/{key}"
    show("uploaded with a public ACL", public_url)

    zone = cs.list_zones()[0]
    ostype = cs.list_os_types()[0]
    template = cs.register_template(
        name=args.name,
        displaytext=args.name,
        url=public_url,
        zoneid=zone.id,
        ostypeid=ostype.id,
        format="OVA",
        hypervisor="VMware",
        isextractable=True,
    )
    show("registered template", template.id)
    template = cs.wait_template_ready(template.id)
    show("template ready", template.status or "")

    offering = cs.list_service_offerings()[0]
    vm = cs.deploy_virtual_machine(
        name=f"{args.name}-vm",
        zoneid=zone.id,
        templateid=template.id,
        serviceofferingid=offering.id,
    )
    show("deployed", f"{vm.name} is {vm.state}")

    export = cs.extract_template(template.id)
    if export.download_url is None:
        raise SystemExit(f"extractTemplate gave no URL: {export}")
    show("extracted", export.download_url)
    export_key = f"exports/{ova_path.name}"
    s3.copy(export.download_url, args.bucket, export_key, progress=progress_printer("export"))
    show("export copied into S3", f"s3://{args.bucket}/{export_key}")

    copy = workdir / "export.ova"
    s3.copy_object(args.bucket, export_key, args.bucket, export_key + ".check")
    copy.write_bytes(s3.get_object(args.bucket, export_key))
    if copy.read_bytes() != ova_path.read_bytes():
        raise SystemExit("the exported OVA differs from the one uploaded")
    Ova.open(copy).verify_manifest()
    show("verified", "the export is byte-identical and its manifest matches")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--disk", help="raw disk or stream-optimized VMDK (default: a demo disk)")
    parser.add_argument("--name", default="appliance")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--s3-endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--create-bucket", action="store_true")
    parser.add_argument("--simulator", action="store_true", help="use ovakit's CloudStack simulator")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.simulator:
                with Simulator() as sim:
                    run(args, sim.client(), Path(tmp))
            else:
                run(args, CloudStack.from_env(), Path(tmp))
    except ovakit.OvakitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
