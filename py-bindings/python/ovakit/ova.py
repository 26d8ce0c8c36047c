"""OVA packages: entries, descriptor, manifests and their verification; VMDK conversion.

>>> from ovakit.ova import Ova
>>> ova = Ova.open("appliance.ova")                      # doctest: +SKIP
>>> [e.name for e in ova.entries]                       # doctest: +SKIP
['appliance.ovf', 'appliance.mf', 'appliance-disk1.vmdk']
>>> ova.verify_manifest()                               # doctest: +SKIP
VerifyReport(ok=True, matched=2, problems=0)

Everything here is implemented in Rust (``ova-core``); this module only re-exports it, with
the result classes of :mod:`ovakit.results`.
"""

from ovakit._ovakit import (
    Descriptor,
    Ova,
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
from ovakit.results import (
    ArchiveEnd,
    BuildReport,
    ConfigurationValue,
    DeploymentOption,
    Disk,
    EditReport,
    Entry,
    EntryProblem,
    FileRef,
    Finding,
    HardwareItem,
    Manifest,
    ManifestLine,
    Mismatch,
    ModelIssue,
    Network,
    OperatingSystem,
    ProductSection,
    Property,
    SignatureReport,
    SignReport,
    VerifyReport,
    VirtualHardware,
    VirtualSystem,
    VirtualSystemCollection,
    VmdkInfo,
    VmdkReadReport,
    VmdkWriteReport,
    WriteReport,
)

__all__ = [
    "Ova",
    "Descriptor",
    # results
    "ArchiveEnd",
    "BuildReport",
    "ConfigurationValue",
    "DeploymentOption",
    "Disk",
    "EditReport",
    "Entry",
    "EntryProblem",
    "FileRef",
    "Finding",
    "HardwareItem",
    "Manifest",
    "ManifestLine",
    "Mismatch",
    "ModelIssue",
    "Network",
    "OperatingSystem",
    "ProductSection",
    "Property",
    "SignatureReport",
    "SignReport",
    "VerifyReport",
    "VirtualHardware",
    "VirtualSystem",
    "VirtualSystemCollection",
    "VmdkInfo",
    "VmdkReadReport",
    "VmdkWriteReport",
    "WriteReport",
    # functions
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
