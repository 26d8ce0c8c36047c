"""Type stubs for the native module ``ovakit._ovakit``; import from ``ovakit.ova``,
``ovakit.cloudstack`` and ``ovakit.s3`` instead."""

import os
from typing import Any, Callable, Literal, Optional, Sequence, Union, final

from ovakit.results import (
    ApiInfo,
    ArchiveEnd,
    AsyncJob,
    BuildReport,
    ConvertReport,
    CopyProgress,
    CopyReport,
    DeploymentOption,
    Disk,
    DiskInfo,
    EditReport,
    Entry,
    ExtractedTemplate,
    FileRef,
    Finding,
    JobOutcome,
    JobProgress,
    Manifest,
    ModelIssue,
    MultipartUpload,
    Network,
    ObjectInfo,
    OsType,
    OvaConvertReport,
    PackageProductSection,
    PackageProperty,
    ServiceOffering,
    SignatureReport,
    SignReport,
    Template,
    VerifyReport,
    VirtualMachine,
    VirtualSystem,
    VirtualSystemCollection,
    VmdkInfo,
    VmdkReadReport,
    VmdkWriteReport,
    WriteReport,
    Zone,
)

__version__: str

StrPath = Union[str, "os.PathLike[str]"]
ByteProgress = Callable[[int, Optional[int]], Any]

# ---- cancellation --------------------------------------------------------------------------

@final
class CancelToken:
    """Stops running calls from any thread: pass ``cancel=token`` to long calls, then
    ``token.cancel()`` (from another thread, a GUI callback, a signal handler) makes each of
    them clean up as on Ctrl-C and raise ``CancelledError``. A call given a token already
    cancelled raises at once. A token stays cancelled."""

    def __init__(self) -> None: ...
    def cancel(self) -> None:
        """Cancel every running call given this token, and every later one (idempotent)."""
    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` has been called."""

# ---- ovakit.ova ---------------------------------------------------------------------------

@final
class Descriptor:
    """A parsed OVF descriptor: the original bytes plus a typed, read-only view.

    Nested parts are the frozen classes of ``ovakit.results``. ``edit`` returns a new descriptor in which only the
    edited text differs.
    """

    @staticmethod
    def parse(data: bytes) -> Descriptor:
        """Parse descriptor XML. Raises ``OvfError`` when it is not an OVF envelope."""
    @staticmethod
    def open(path: StrPath) -> Descriptor:
        """Read and parse an ``.ovf`` file."""
    @property
    def xml(self) -> bytes:
        """The descriptor's bytes, exactly as parsed."""
    @property
    def version(self) -> str:
        """``"0.9"``, ``"1.x"`` or ``"2.x"``."""
    @property
    def references(self) -> list[FileRef]: ...
    @property
    def disks(self) -> list[Disk]: ...
    @property
    def networks(self) -> list[Network]: ...
    @property
    def deployment_options(self) -> list[DeploymentOption]: ...
    @property
    def systems(self) -> list[VirtualSystem]:
        """Every VirtualSystem (also inside collections)."""
    @property
    def collections(self) -> list[VirtualSystemCollection]: ...
    @property
    def properties(self) -> list[PackageProperty]:
        """Every product property, with its ``system``, ``class_`` and ``instance``."""
    @property
    def product_sections(self) -> list[PackageProductSection]:
        """Every ProductSection, with its ``system``."""
    @property
    def issues(self) -> list[ModelIssue]: ...
    def to_dict(self) -> dict[str, Any]:
        """The whole typed view as one dict."""
    def validate(self) -> list[Finding]:
        """The descriptor-only validation rules; empty when clean."""
    def edit(
        self,
        *,
        name: Optional[str] = None,
        cpus: Optional[int] = None,
        memory_mib: Optional[int] = None,
        virtual_system_type: Optional[str] = None,
        properties: Optional[dict[str, str]] = None,
        system: Optional[str] = None,
        configuration: Optional[str] = None,
        force: bool = False,
    ) -> Descriptor:
        """A new descriptor with the edits applied. Raises ``OvfError`` when a target is
        missing or ambiguous, a value cannot be written, or the edits leave hardware the
        VirtualSystemType cannot carry (``force=True`` writes that anyway)."""

@final
class Ova:
    """An OVA package opened for reading: its entry table, read once. Open with ``Ova.open``."""

    @staticmethod
    def open(path: StrPath) -> Ova:
        """Open an OVA file and read its entry table (headers only).

        Raises ``NotFoundError`` (also a ``FileNotFoundError``) when the file does not exist and
        ``OvaError`` when it is not a readable tar archive.
        """
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int:
        """Total size of the archive file in bytes."""
    @property
    def entries(self) -> list[Entry]:
        """Every entry, in archive order."""
    @property
    def names(self) -> list[str]:
        """The entry names, in archive order."""
    @property
    def descriptor_entry(self) -> Optional[Entry]:
        """The first ``.ovf`` descriptor entry, or None."""
    @property
    def manifest_entry(self) -> Optional[Entry]:
        """The first ``.mf`` manifest entry, or None."""
    @property
    def certificate_entry(self) -> Optional[Entry]:
        """The first ``.cert`` certificate entry, or None."""
    @property
    def descriptor_first(self) -> bool:
        """Whether the archive starts with the descriptor's own header, as VMware requires."""
    @property
    def end(self) -> ArchiveEnd:
        """How the archive ends (``data_end``, ``zero_blocks``, ``missing_end_marker``,
        ``truncated``)."""
    @property
    def descriptor(self) -> Descriptor:
        """The parsed descriptor. Raises ``OvaError`` without one, ``OvfError`` if invalid."""
    @property
    def disks(self) -> list[Disk]:
        """The descriptor's disks."""
    @property
    def systems(self) -> list[VirtualSystem]:
        """The descriptor's virtual systems."""
    @property
    def properties(self) -> list[PackageProperty]:
        """The descriptor's product properties."""
    @property
    def manifest(self) -> Optional[Manifest]:
        """The parsed manifest, or None when the package has none."""
    def read(self, name: str, max_size: int = ...) -> bytes:
        """Read one entry's data into memory (refusing entries over ``max_size``, 64 MiB).

        Raises ``KeyError`` for an unknown name, ``OvaError`` when too large or cut short.
        """
    def verify_manifest(
        self, *, progress: Optional[ByteProgress] = None, cancel: Optional[CancelToken] = None
    ) -> VerifyReport:
        """Hash every entry and compare with the manifest, with the manifest's algorithms.

        ``progress(done, total)`` gets the bytes hashed so far and the archive size; an
        exception it raises (or Ctrl-C, or ``cancel.cancel()``) stops the check at the next
        buffer and is re-raised. The module-level ``verify_manifest`` also reads pipes.

        Raises ``ManifestMismatchError`` listing every problem (``.mismatches``, ``.report``) or
        ``OvaError`` when the package has no manifest.
        """
    def verify_signature(self, *, trust: Optional[StrPath] = None) -> SignatureReport:
        """Verify the ``.cert`` signature over the manifest (and the chain, with ``trust``).
        Raises ``SignatureError`` when unsigned, malformed or not matching."""
    def validate(
        self,
        *,
        progress: Optional[Callable[[int], Any]] = None,
        cancel: Optional[CancelToken] = None,
    ) -> list[Finding]:
        """Validate the whole package (layout, descriptor, manifest coverage and digests).

        ``progress(done)`` gets the bytes hashed so far; an exception it raises (or Ctrl-C, or
        ``cancel.cancel()``) stops the check at the next buffer and is re-raised."""
    def repack(
        self,
        output: StrPath,
        *,
        manifest: Optional[str] = "sha256",
        name: Optional[str] = None,
        cpus: Optional[int] = None,
        memory_mb: Optional[int] = None,
        virtual_system_type: Optional[str] = None,
        properties: Optional[dict[str, str]] = None,
        system: Optional[str] = None,
        configuration: Optional[str] = None,
        force: bool = False,
        progress: Optional[Callable[[int], Any]] = None,
        cancel: Optional[CancelToken] = None,
    ) -> WriteReport:
        """Write a clean copy (descriptor first, edits applied, fresh manifest). Edits that
        leave hardware the VirtualSystemType cannot carry raise ``OvfError`` unless ``force``.

        ``progress(done)`` gets the bytes copied so far; an exception it raises (or Ctrl-C, or
        ``cancel.cancel()``) stops the repack at the next buffer and is re-raised, the temporary
        file removed and an existing ``output`` left as it was."""
    def extract(
        self,
        dest: StrPath,
        *,
        progress: Optional[Callable[[int], Any]] = None,
        cancel: Optional[CancelToken] = None,
    ) -> list[str]:
        """Extract every regular entry into ``dest``; refuses unsafe entries.

        ``progress(done)`` gets the bytes written so far; an exception it raises (or Ctrl-C, or
        ``cancel.cancel()``) stops the extraction at the next buffer and is re-raised. Entries
        are committed one by one: the entry being written is removed (a file of its name is left
        as it was), the entries extracted before it stay."""
    @staticmethod
    def edit_in_place(
        path: StrPath,
        *,
        name: Optional[str] = None,
        cpus: Optional[int] = None,
        memory_mb: Optional[int] = None,
        virtual_system_type: Optional[str] = None,
        properties: Optional[dict[str, str]] = None,
        system: Optional[str] = None,
        configuration: Optional[str] = None,
        force: bool = False,
    ) -> EditReport:
        """Edit the descriptor inside the archive without rewriting the disks. Edits that
        leave hardware the VirtualSystemType cannot carry raise ``OvfError`` unless ``force``."""
    def check_manifest(
        self, *, progress: Optional[ByteProgress] = None, cancel: Optional[CancelToken] = None
    ) -> Optional[VerifyReport]:
        """Like ``verify_manifest`` but return the report (None without a manifest)."""

def verify_manifest(
    path: StrPath,
    *,
    progress: Optional[ByteProgress] = None,
    fallback: Optional[Sequence[str]] = None,
    cancel: Optional[CancelToken] = None,
) -> VerifyReport:
    """Verify the OVA at ``path`` against its manifest; see ``Ova.verify_manifest``.

    ``path`` may be a pipe: the archive is read once, front to back.
    """

def pack(
    src: StrPath,
    output: StrPath,
    *,
    manifest: Optional[str] = "sha256",
    progress: Optional[Callable[[int], Any]] = None,
    cancel: Optional[CancelToken] = None,
) -> WriteReport:
    """Pack a directory (one ``.ovf`` and its files) into an OVA.

    ``progress(done)`` gets the bytes copied so far; an exception it raises (or Ctrl-C, or
    ``cancel.cancel()``) stops the pack at the next buffer and is re-raised, the temporary file
    removed and an existing ``output`` left as it was."""

def sign(
    src: StrPath,
    output: StrPath,
    signing_key: StrPath,
    *,
    certificate: Optional[StrPath] = None,
    digest: str = "sha256",
    passphrase: Optional[Union[str, bytes]] = None,
    cancel: Optional[CancelToken] = None,
) -> SignReport:
    """Sign the OVA ``src`` and write the signed package to ``output`` (``output == src``
    signs in place).

    ``signing_key`` is a PEM file with the private key (and the certificate, unless
    ``certificate`` names it); ``passphrase`` unlocks an encrypted key. The manifest is kept
    when it uses ``digest`` (``"sha256"``, ``"sha1"``, ``"sha512"``) and matches the data,
    otherwise a fresh one is written; then the ``.cert``. ``output`` is never left
    half-written. Returns a ``SignReport`` (``certificate``, ``manifest``,
    ``manifest_regenerated``, ``in_place``, ``subject``).

    Raises ``SignatureError`` for an unreadable key, a wrong or missing passphrase, or a
    certificate that does not belong to the key; ``NotFoundError`` for a missing file;
    ``ValueError`` for an unknown digest. Check the result with ``Ova.verify_signature``.
    Ctrl-C stops it at the next buffer (``KeyboardInterrupt``), ``output`` left as it was.
    """

def parse_manifest(data: bytes) -> Manifest:
    """Parse manifest text leniently; lines it cannot read are in ``bad_lines``."""

def format_manifest(
    entries: Sequence[tuple[str, Union[bytes, str]]], algorithm: str = "sha256"
) -> str:
    """A canonical manifest (``ALG(name)= hex`` lines) for ``(name, digest)`` pairs."""

def build_ova(
    disk: StrPath,
    output: StrPath,
    name: str,
    *,
    os_type: Optional[str] = None,
    cpus: Optional[int] = None,
    memory_mb: Optional[int] = None,
    network: Optional[str] = None,
    virtual_system_type: Optional[str] = None,
    disk_controller: Optional[str] = None,
    product: Optional[str] = None,
    version: Optional[str] = None,
    vendor: Optional[str] = None,
    properties: Optional[dict[str, str]] = None,
    manifest: Optional[str] = "sha256",
    signing_key: Optional[StrPath] = None,
    certificate: Optional[StrPath] = None,
    passphrase: Optional[bytes] = None,
    compression_level: Optional[int] = None,
    mtime: Optional[int] = None,
    force: bool = False,
    progress: Optional[ByteProgress] = None,
    cancel: Optional[CancelToken] = None,
) -> BuildReport:
    """Build a complete OVA (descriptor, manifest, optional signature, disk) from a raw disk
    or a stream-optimized VMDK; written under a temporary name and renamed on success.
    Raises ``SignatureError`` for an unusable key, ``OvaError`` for an unusable disk or a
    ``virtual_system_type`` that cannot carry ``disk_controller`` (unless ``force``).

    ``progress(done, total)`` gets the bytes of ``disk`` read so far and its size; an exception
    it raises (or Ctrl-C, or ``cancel.cancel()``) stops the build at the next buffer and is
    re-raised, the temporary file removed and an existing ``output`` left as it was."""

def validate_descriptor(data: bytes) -> list[Finding]:
    """Descriptor-only validation of raw bytes (unparseable XML yields one finding)."""

def detect_disk(path: StrPath) -> str:
    """``"sparse_vmdk"``, ``"descriptor_vmdk"`` or ``"raw"``, from the file's first bytes."""

def vmdk_info(path: StrPath) -> VmdkInfo:
    """Inspect a stream-optimized VMDK without inflating it. Raises ``OvaError``."""

def raw_to_vmdk(
    raw: StrPath,
    vmdk_path: StrPath,
    *,
    adapter_type: str = "lsilogic",
    level: Optional[int] = None,
    threads: Optional[int] = None,
    digest: Optional[str] = None,
    hw_version: Optional[int] = None,
    progress: Optional[ByteProgress] = None,
    cancel: Optional[CancelToken] = None,
) -> VmdkWriteReport:
    """Convert a raw image into a stream-optimized VMDK (temp file, renamed on success).

    ``progress(done, total)`` gets the raw bytes read so far and the image's size; an exception
    it raises (or Ctrl-C, or ``cancel.cancel()``) stops the conversion at the next buffer and is
    re-raised, the temporary file removed and an existing ``vmdk_path`` left as it was."""

def disk_convert(
    src: StrPath,
    dst: StrPath,
    *,
    to: Optional[str] = None,
    compress: bool = False,
    level: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Optional[ByteProgress] = None,
    cancel: Optional[CancelToken] = None,
) -> ConvertReport:
    """Convert ``src`` (raw, stream-optimized VMDK, QCOW2 or VHD, detected from its content)
    into ``dst`` as ``to`` (``"raw"``, ``"vmdk"``, ``"qcow2"``, ``"vhd"``; default: from
    ``dst``'s extension); temp file, renamed on success. ``compress`` deflates QCOW2 clusters.

    ``progress(done, total)`` gets the raw disk bytes converted and the virtual size; an
    exception it raises (or Ctrl-C, or ``cancel.cancel()``) stops the conversion at the next
    buffer and is re-raised, the temporary file removed and an existing ``dst`` left as it was.
    Raises ``OvaError`` for a damaged or unsupported image, ``ValueError`` for an unknown
    format."""

def disk_convert_ova(
    ova: StrPath,
    dst: StrPath,
    *,
    to: Optional[str] = None,
    disk: Optional[str] = None,
    compress: bool = False,
    level: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Optional[ByteProgress] = None,
    cancel: Optional[CancelToken] = None,
) -> OvaConvertReport:
    """Convert a disk of an OVA (``disk``: its ovf:diskId; default: the first disk of the first
    VirtualSystem) into ``dst``, streaming it from the package. Returns which disk
    (``disk``) and the conversion (``summary``)."""

def disk_info(path: StrPath) -> DiskInfo:
    """Check a disk image (raw, VMDK, QCOW2, VHD) and describe it; ``format`` names which.
    Raises ``OvaError`` when it is damaged or uses a feature ovakit does not read."""

def vmdk_to_raw(
    vmdk_path: StrPath,
    raw: StrPath,
    *,
    progress: Optional[ByteProgress] = None,
    cancel: Optional[CancelToken] = None,
) -> VmdkReadReport:
    """Convert a stream-optimized VMDK into a raw image (temp file, renamed on success).

    ``progress(done, total)`` gets the bytes of the VMDK read so far and its size; an exception
    it raises (or Ctrl-C, or ``cancel.cancel()``) stops the conversion at the next buffer and is
    re-raised, the temporary file removed and an existing ``raw`` left as it was."""

# ---- ovakit.cloudstack --------------------------------------------------------------------

JobProgressCallback = Callable[[JobProgress], Any]

@final
class Client:
    """A CloudStack API client: exact request signing, retries, async-job waiting, pagination.

    Options are the ``cs`` ini keys (``timeout``, ``method``, ``expiration``,
    ``signature_algorithm``, ``verify``, ``dangerous_no_tls_verify``, ``job_timeout``).
    Calls release the GIL; Ctrl-C interrupts them. Errors are ``CloudStackError`` subclasses.
    """

    def __init__(self, endpoint: str, api_key: str, secret_key: str, **options: Any) -> None: ...
    @staticmethod
    def from_env(**options: Any) -> Client:
        """From ``CLOUDSTACK_*`` variables and ``cs``-style ini files. Raises ``ConfigError``."""
    @staticmethod
    def from_config(profile: Optional[str] = None, **options: Any) -> Client:
        """Like ``from_env`` with an explicit ini profile (section)."""
    @property
    def endpoint(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    def request(
        self, command: str, /, *, cancel: Optional[CancelToken] = None, **params: Any
    ) -> dict[str, Any]:
        """Send one API command; returns the response object (wrapper removed)."""
    def call_and_wait(
        self,
        command: str,
        /,
        *,
        progress: Optional[JobProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> Any:
        """Send an async command and wait for its job; returns the job result.

        Raises ``AsyncJobError`` on failure, ``JobTimeoutError`` past the job timeout.
        """
    def wait_job(
        self,
        job_id: str,
        command: str = "queryAsyncJobResult",
        *,
        progress: Optional[JobProgressCallback] = None,
        cancel: Optional[CancelToken] = None,
    ) -> JobOutcome:
        """Wait for a job; returns its ``job_id``, ``status``, ``result`` and ``raw`` answer."""
    def wait_template_ready(
        self, template_id: str, *, cancel: Optional[CancelToken] = None
    ) -> Template:
        """Poll until the template is ready; raises ``CloudStackError`` if its download fails."""
    def list_all(
        self, command: str, /, *, cancel: Optional[CancelToken] = None, **params: Any
    ) -> ListIter:
        """Iterate over every item of a ``list*`` command, fetching pages lazily."""
    def list_zones(self, *, cancel: Optional[CancelToken] = None, **params: Any) -> list[Zone]:
        """``listZones`` (all pages)."""
    def list_os_types(
        self,
        *,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> list[OsType]:
        """``listOsTypes`` (all pages)."""
    def list_service_offerings(
        self,
        *,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> list[ServiceOffering]:
        """``listServiceOfferings`` (all pages)."""
    def list_templates(
        self,
        *,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> list[Template]:
        """``listTemplates`` (all pages); ``templatefilter`` defaults to ``self``."""
    def register_template(
        self,
        *,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> Template:
        """``registerTemplate`` (``name``, ``displaytext``, ``format``, ``hypervisor``,
        ``ostypeid``, ``url``, ``zoneid`` or ``zoneids``; optionally ``checksum``, ``arch``,
        ``directdownload``, ``deployasis``...). Returns at once: wait with
        ``wait_template_ready``. Never retried."""
    def register_template_checked(
        self,
        name: str,
        format: str,
        hypervisor: str,
        ostypeid: str,
        url: str,
        *,
        zoneids: Sequence[str],
        displaytext: Optional[str] = None,
        checksum: Optional[str] = None,
        arch: Optional[Literal["x86_64", "aarch64"]] = None,
        directdownload: Optional[bool] = None,
        deployasis: Optional[bool] = None,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> list[Template]:
        """``registerTemplate`` with the 4.20-era parameters typed and checked before sending:
        ``zoneids`` (``["-1"]``: every zone), ``checksum`` (``{SHA-256}hex``, verified by the
        server after its download), ``arch``, ``directdownload`` (KVM), ``deployasis`` (VMware).
        Returns one ``Template`` per zone, not ready yet: wait with ``wait_template_ready_in``.
        Raises ``CloudStackError`` without sending for a malformed request. Never retried."""
    def wait_template_ready_in(
        self,
        template_id: str,
        zoneids: Optional[Sequence[str]] = None,
        *,
        cancel: Optional[CancelToken] = None,
    ) -> list[Template]:
        """Wait until the template is ready in each of ``zoneids`` (default ``["-1"]``: every
        zone it is listed in); one ``Template`` per zone. Raises ``CloudStackError`` with the
        server's text when a download fails (e.g. the checksum differs)."""
    def delete_template(
        self,
        id: str,
        *,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> None:
        """``deleteTemplate`` and wait for its job."""
    def extract_template(
        self,
        id: str,
        *,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> ExtractedTemplate:
        """Extract and wait; ``url`` as sent and the usable ``download_url``."""
    def deploy_virtual_machine(
        self,
        *,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> VirtualMachine:
        """``deployVirtualMachine`` (``zoneid``, ``templateid``, ``serviceofferingid``) and wait."""
    def list_virtual_machines(
        self,
        *,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> list[VirtualMachine]:
        """``listVirtualMachines`` (all pages)."""
    def start_virtual_machine(
        self,
        id: str,
        *,
        cancel: Optional[CancelToken] = None,
    ) -> VirtualMachine:
        """``startVirtualMachine`` and wait."""
    def stop_virtual_machine(
        self,
        id: str,
        forced: bool = False,
        *,
        cancel: Optional[CancelToken] = None,
    ) -> VirtualMachine:
        """``stopVirtualMachine`` and wait."""
    def destroy_virtual_machine(
        self,
        id: str,
        expunge: bool = False,
        *,
        cancel: Optional[CancelToken] = None,
    ) -> VirtualMachine:
        """``destroyVirtualMachine`` and wait."""
    def query_async_job_result(
        self,
        job_id: str,
        *,
        cancel: Optional[CancelToken] = None,
    ) -> AsyncJob:
        """One ``queryAsyncJobResult``, without waiting."""
    def list_async_jobs(
        self,
        *,
        cancel: Optional[CancelToken] = None,
        **params: Any,
    ) -> list[AsyncJob]:
        """``listAsyncJobs`` (all pages)."""
    def list_apis(self, *, cancel: Optional[CancelToken] = None, **params: Any) -> list[ApiInfo]:
        """``listApis`` (one call)."""

class ListIter:
    """Iterator over the items of a paginated ``list*`` command."""

    def __iter__(self) -> ListIter: ...
    def __next__(self) -> dict[str, Any]: ...

@final
class Simulator:
    """An in-process CloudStack API simulator on 127.0.0.1, for tests. A context manager."""

    def __init__(
        self,
        *,
        port: int = 0,
        api_key: Optional[str] = None,
        secret_key: Optional[str] = None,
        pending_polls: int = 2,
        state_dir: Optional[StrPath] = None,
    ) -> None: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def api_key(self) -> str: ...
    @property
    def secret_key(self) -> str: ...
    @property
    def request_count(self) -> int: ...
    @property
    def running(self) -> bool: ...
    def client(self, **options: Any) -> Client:
        """A ``Client`` for this simulator."""
    def set_pending_polls(self, n: int) -> None: ...
    def set_job_duration(self, seconds: Optional[float]) -> None: ...
    def fail_next_job(self, errorcode: int, errortext: str) -> None: ...
    def cancel_next_job(self) -> None: ...
    def throttle_next(self, n: int, retry_after_ms: int) -> None: ...
    def fail_next(self, n: int, status: int) -> None: ...
    def stop(self) -> None:
        """Stop the server (idempotent)."""
    def __enter__(self) -> Simulator: ...
    def __exit__(self, *args: Any) -> bool: ...

# ---- ovakit.s3 ----------------------------------------------------------------------------

CopyProgressCallback = Callable[[CopyProgress], Any]

@final
class S3Client:
    """An S3 client for one endpoint (exported as ``ovakit.s3.Client``).

    Starts from the environment (``AWS_*``, ``~/.aws``; ``profile=``) and overrides what is
    given. Options: ``session_token``, ``addressing_style``, ``signature_version``,
    ``insecure_tls``, ``payload_signing``. Errors are ``S3Error`` (``.status``, ``.code``,
    ``.upload_id``).
    """

    def __init__(
        self,
        endpoint: Optional[str] = None,
        region: Optional[str] = None,
        access_key_id: Optional[str] = None,
        secret_access_key: Optional[str] = None,
        *,
        profile: Optional[str] = None,
        **options: Any,
    ) -> None: ...
    def copy(
        self,
        source: Any,
        bucket: str,
        key: str,
        *,
        progress: Optional[CopyProgressCallback] = None,
        acl: Optional[str] = None,
        content_type: Optional[str] = None,
        metadata: Optional[Sequence[tuple[str, str]]] = None,
        part_size: Optional[int] = None,
        concurrency: Optional[int] = None,
        expected_size: Optional[int] = None,
        md5: bool = False,
        sha256: bool = False,
        part_checksum: Optional[Literal["auto", "md5", "crc32c", "none"]] = None,
        cancel: Optional[CancelToken] = None,
    ) -> CopyReport:
        """Stream an ``http(s)://`` URL, a path or a binary file object into ``s3://bucket/key``.

        ``part_checksum``: ``"auto"`` (default; each part's CRC32C, and its MD5 compared with the
        returned ETag until the store has echoed a CRC32C: reported as ``"crc32c"`` or ``"md5"``),
        ``"md5"``, ``"crc32c"`` or ``"none"``.
        Raising from ``progress``, Ctrl-C or ``cancel.cancel()`` (``CancelledError``) cancels
        and aborts the multipart upload first.
        """
    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        progress: Optional[CopyProgressCallback] = None,
        acl: Optional[str] = None,
        content_type: Optional[str] = None,
        metadata: Optional[Sequence[tuple[str, str]]] = None,
        part_size: Optional[int] = None,
        concurrency: Optional[int] = None,
        cancel: Optional[CancelToken] = None,
    ) -> CopyReport:
        """Server-side copy (UploadPartCopy for large objects)."""
    def put_object_acl(self, bucket: str, key: str, acl: str) -> None: ...
    def list_multipart_uploads(
        self, bucket: str, prefix: Optional[str] = None
    ) -> list[MultipartUpload]: ...
    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None: ...
    def abort_incomplete_uploads(
        self, bucket: str, older_than: Optional[float] = None
    ) -> list[MultipartUpload]: ...
    def create_bucket(self, bucket: str) -> None: ...
    def head_object(self, bucket: str, key: str) -> ObjectInfo: ...
    def get_object(self, bucket: str, key: str) -> bytes: ...
    def delete_object(self, bucket: str, key: str) -> None: ...
