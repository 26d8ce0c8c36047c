"""OVA packages: entries, manifests and their verification.

>>> from ovakit.ova import Ova
>>> ova = Ova.open("appliance.ova")                      # doctest: +SKIP
>>> [e.name for e in ova.entries]                       # doctest: +SKIP
['appliance.ovf', 'appliance.mf', 'appliance-disk1.vmdk']
>>> ova.verify_manifest()                               # doctest: +SKIP
VerifyReport(ok=True, matched=2, problems=0)

Everything here is implemented in Rust (``ova-core``); this module only re-exports it.
"""

from ovakit._ovakit import (
    Entry,
    Manifest,
    ManifestLine,
    Mismatch,
    Ova,
    VerifyReport,
    format_manifest,
    parse_manifest,
    verify_manifest,
)

__all__ = [
    "Ova",
    "Entry",
    "Manifest",
    "ManifestLine",
    "Mismatch",
    "VerifyReport",
    "verify_manifest",
    "parse_manifest",
    "format_manifest",
]
