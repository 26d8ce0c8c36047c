"""Code with a typo on each marked line: mypy must report every one (see test_typing.py).
Never run; only type-checked."""

from ovakit import CancelToken
from ovakit.cloudstack import Client
from ovakit.ova import Ova, build_ova
from ovakit.s3 import Client as S3


def typos(ova: Ova, cs: Client, s3: S3) -> None:
    print(ova.disks[0].capacty)  # typo: attr-defined
    print(ova.entries[0].sise)  # typo: attr-defined
    report = build_ova("disk.raw", "out.ova", "vm")
    print(report.byte)  # typo: attr-defined
    zone = cs.list_zones()[0]
    print(zone["id"])  # typo: index
    vm = cs.deploy_virtual_machine(zoneid=zone.id)
    print(vm.stat)  # typo: attr-defined
    capacity: str = ova.disks[0].capacity  # typo: assignment
    copied = s3.copy("a", "b", "c")
    print(copied.sha265)  # typo: attr-defined
    print(s3.head_object("b", "c").metadata.size)  # typo: attr-defined
    print(capacity)
    token = CancelToken()
    ova.repack("out.ova", cancel=token)
    cs.wait_job("job", cancel=token)
    s3.copy("a", "b", "c", cancel=token)
    ova.validate(cancel=True)  # typo: arg-type
    print(token.canceled)  # typo: attr-defined
    token.cancelled = False  # typo: misc
