"""OVA packages: entries, descriptor, manifests and their verification; VMDK conversion.

>>> from ovakit.ova import Ova
>>> ova = Ova.open("appliance.ova")                      # doctest: +SKIP
>>> [e.name for e in ova.entries]                       # doctest: +SKIP
['appliance.ovf', 'appliance.mf', 'appliance-disk1.vmdk']
>>> ova.verify_manifest()                               # doctest: +SKIP
VerifyReport(ok=True, matched=2, problems=0)

Everything here is implemented in Rust (``ova-core``); this module only re-exports it.
"""

from ovakit._ovakit import (
    Descriptor,
    Entry,
    Finding,
    Manifest,
    ManifestLine,
    Mismatch,
    Ova,
    VerifyReport,
    build_ova,
    detect_disk,
    format_manifest,
    pack,
    parse_manifest,
    raw_to_vmdk,
    sign,
    validate_descriptor,
    verify_manifest,
    vmdk_info,
    vmdk_to_raw,
)

__all__ = [
    "Ova",
    "Entry",
    "Descriptor",
    "Finding",
    "Manifest",
    "ManifestLine",
    "Mismatch",
    "VerifyReport",
    "build_ova",
    "verify_manifest",
    "parse_manifest",
    "format_manifest",
    "pack",
    "sign",
    "validate_descriptor",
    "detect_disk",
    "vmdk_info",
    "raw_to_vmdk",
    "vmdk_to_raw",
]
