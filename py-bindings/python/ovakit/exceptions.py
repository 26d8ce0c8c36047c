"""The exceptions ovakit raises.

Every error is an :class:`OvakitError`, so one ``except ovakit.OvakitError`` catches them all.
Where a builtin exception fits, the class derives from it too: a missing file is both a
:class:`NotFoundError` and a :class:`FileNotFoundError`, a CloudStack job that outlives its
deadline is both a :class:`JobTimeoutError` and a :class:`TimeoutError`.

The classes only hold data; the Rust extension decides which one to raise.
"""

from __future__ import annotations

import errno as _errno

from typing import Optional, Sequence

from ovakit.results import VerifyReport

__all__ = [
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
    "CancelledError",
]


class OvakitError(Exception):
    """Base class of every error raised by ovakit."""


class NotFoundError(OvakitError, FileNotFoundError):
    """A file, object or resource that does not exist.

    Attributes:
        filename: the path or name that was not found, when known.
    """

    def __init__(self, message: str, filename: Optional[str] = None) -> None:
        super().__init__(message)
        self.errno = _errno.ENOENT
        self.strerror = message
        self.filename = filename

    def __str__(self) -> str:
        return str(self.strerror)


class ConfigError(OvakitError, ValueError):
    """An invalid option or argument (bad endpoint, unknown key, missing credentials).

    Attributes:
        key: the option that was rejected, when known.
    """

    def __init__(self, message: str, key: Optional[str] = None) -> None:
        super().__init__(message)
        self.key = key


class OvaError(OvakitError):
    """Reading, writing or checking an OVA/OVF package failed.

    Attributes:
        path: the package or file involved, when known.
        entry: the archive entry involved, when known.
    """

    def __init__(
        self, message: str, path: Optional[str] = None, entry: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.entry = entry


class OvfError(OvaError):
    """The OVF descriptor is malformed or an edit does not apply."""


class ManifestMismatchError(OvaError):
    """The manifest does not match the package.

    Attributes:
        mismatches: every problem found, one string each (not only the first).
        report: the whole check (``ovakit.ova.VerifyReport``), when ovakit raised it.
    """

    report: Optional[VerifyReport] = None

    def __init__(
        self,
        message: str,
        path: Optional[str] = None,
        entry: Optional[str] = None,
        mismatches: Sequence[str] = (),
    ) -> None:
        super().__init__(message, path, entry)
        self.mismatches = list(mismatches)


class SignatureError(OvaError):
    """The signature or certificate is missing, malformed or does not verify."""


class CloudStackError(OvakitError):
    """A CloudStack API call failed.

    Attributes:
        command: the API command, e.g. ``"deployVirtualMachine"``.
        errorcode: the HTTP-like error code CloudStack returned (e.g. 431), if any.
        errortext: CloudStack's own error text, if any.
    """

    def __init__(
        self,
        message: str,
        command: Optional[str] = None,
        errorcode: Optional[int] = None,
        errortext: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.command = command
        self.errorcode = errorcode
        self.errortext = errortext


class AsyncJobError(CloudStackError):
    """An asynchronous CloudStack job finished with a failure.

    Attributes:
        job_id: the id of the failed job.
    """

    def __init__(
        self,
        message: str,
        command: Optional[str] = None,
        errorcode: Optional[int] = None,
        errortext: Optional[str] = None,
        job_id: Optional[str] = None,
    ) -> None:
        super().__init__(message, command, errorcode, errortext)
        self.job_id = job_id


class JobTimeoutError(CloudStackError, TimeoutError):
    """Waiting for a CloudStack job or template ran past its deadline.

    Attributes:
        job_id: the job waited for, when there is one.
    """

    def __init__(
        self,
        message: str,
        command: Optional[str] = None,
        errorcode: Optional[int] = None,
        errortext: Optional[str] = None,
        job_id: Optional[str] = None,
    ) -> None:
        CloudStackError.__init__(self, message, command, errorcode, errortext)
        self.job_id = job_id


class S3Error(OvakitError):
    """An S3 request or transfer failed.

    Attributes:
        status: the HTTP status of the failing response, if any.
        code: the S3 error code (e.g. ``"NoSuchBucket"``), if any.
        upload_id: the multipart upload involved, if any.
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        code: Optional[str] = None,
        upload_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.upload_id = upload_id


class CancelledError(OvakitError):
    """A call stopped because its ``cancel=`` token (:class:`ovakit.CancelToken`) was cancelled.

    The call cleaned up first, as on Ctrl-C: no temporary file or half-written output is left,
    a multipart upload is aborted.
    """
