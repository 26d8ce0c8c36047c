"""Disk images for every hypervisor: raw, stream-optimized VMDK, QCOW2 (KVM) and VHD (XenServer).

>>> from ovakit import disk
>>> disk.convert("disk.vmdk", "disk.qcow2", compress=True)     # doctest: +SKIP
ConvertReport(from_='vmdk', to='qcow2', source_size=10737418240, ...)
>>> disk.info("disk.qcow2").format                           # doctest: +SKIP
'qcow2'
>>> disk.convert_ova("appliance.ova", "app.vhd")                # doctest: +SKIP

Everything here is implemented in Rust (``ova-core``); this module only re-exports it, with
the result classes of :mod:`ovakit.results`.
"""

from ovakit._ovakit import disk_convert as convert
from ovakit._ovakit import disk_convert_ova as convert_ova
from ovakit._ovakit import disk_info as info
from ovakit.results import (
    ConvertReport,
    DiskInfo,
    OvaConvertReport,
    OvaDiskChoice,
    Qcow2Info,
    RawInfo,
    VhdInfo,
    VmdkInfo,
)

__all__ = [
    "convert",
    "convert_ova",
    "info",
    "ConvertReport",
    "DiskInfo",
    "OvaConvertReport",
    "OvaDiskChoice",
    "Qcow2Info",
    "RawInfo",
    "VhdInfo",
    "VmdkInfo",
]
