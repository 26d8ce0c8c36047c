"""ovakit: OVA/OVF packages, Apache CloudStack and streaming S3 copies, with the work done in Rust.

Submodules:

* :mod:`ovakit.ova` -- OVA packages: entries, manifests, verification.
* :mod:`ovakit.disk` -- disk images: raw, VMDK, QCOW2 and VHD conversion and checks.
* :mod:`ovakit.cloudstack` -- CloudStack client, job waiting, pagination, simulator.
* :mod:`ovakit.s3` -- streaming copies into S3, ACLs, multipart housekeeping.
* :mod:`ovakit.results` -- the typed, frozen result classes every call returns.
* :mod:`ovakit.exceptions` -- the exception hierarchy, rooted at :class:`OvakitError`.

Long calls release the GIL. Every long call (package checks and writes, disk conversions, S3
copies, CloudStack waits) can be stopped three ways, and cleans up the same way whichever it was
(no temporary file, no half-written output, the multipart upload aborted, the existing output
left as it was):

* ``progress=``: a callable that receives the operation's progress as it goes; an exception it
  raises stops the call, and that exception propagates.
* ``cancel=``: a :class:`CancelToken`; ``token.cancel()`` from any thread (another Python
  thread, a GUI callback, a signal handler) stops every running call given that token, which
  raises :class:`CancelledError`. A call given a token already cancelled raises at once.
* Ctrl-C: the call stops and ``KeyboardInterrupt`` is raised.

>>> import threading
>>> from ovakit import CancelToken, CancelledError
>>> token = CancelToken()
>>> threading.Timer(60, token.cancel).start()            # doctest: +SKIP
>>> ova.repack("clean.ova", cancel=token)                 # doctest: +SKIP
"""

from ovakit import cloudstack, disk, ova, results, s3
from ovakit._ovakit import CancelToken, __version__
from ovakit.exceptions import (
    AsyncJobError,
    CancelledError,
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
    "CancelToken",
    "CancelledError",
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
