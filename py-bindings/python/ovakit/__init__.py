"""ovakit: OVA/OVF packages, Apache CloudStack and streaming S3 copies, with the work done in Rust.

Submodules:

* :mod:`ovakit.ova` -- OVA packages: entries, manifests, verification.
* :mod:`ovakit.disk` -- disk images: raw, VMDK, QCOW2 and VHD conversion and checks.
* :mod:`ovakit.cloudstack` -- CloudStack client, job waiting, pagination, simulator.
* :mod:`ovakit.s3` -- streaming copies into S3, ACLs, multipart housekeeping.
* :mod:`ovakit.results` -- the typed, frozen result classes every call returns.
* :mod:`ovakit.exceptions` -- the exception hierarchy, rooted at :class:`OvakitError`.

Long calls release the GIL and can be interrupted with Ctrl-C.
"""

from ovakit import cloudstack, disk, ova, results, s3
from ovakit._ovakit import __version__
from ovakit.exceptions import (
    AsyncJobError,
    CloudStackError,
    ConfigError,
    JobTimeoutError,
    ManifestMismatchError,
    NotFoundError,
    OvaError,
    OvakitError,
    OvfError,
    S3Error,
    SignatureError,
)

__all__ = [
    "__version__",
    "ova",
    "disk",
    "cloudstack",
    "s3",
    "results",
    "OvakitError",
    "NotFoundError",
    "ConfigError",
    "OvaError",
    "OvfError",
    "ManifestMismatchError",
    "SignatureError",
    "CloudStackError",
    "AsyncJobError",
    "JobTimeoutError",
    "S3Error",
]
