"""Type stubs for the native module ``ovakit._ovakit``; import from ``ovakit.ova``,
``ovakit.cloudstack`` and ``ovakit.s3`` instead."""

import os
from typing import Any, Callable, Literal, Optional, Sequence, Union, final

__version__: str

StrPath = Union[str, "os.PathLike[str]"]
ByteProgress = Callable[[int, Optional[int]], Any]

# ---- ovakit.ova ---------------------------------------------------------------------------

@final
class Entry:
    """One entry (file) of an OVA archive, without its data."""

    index: int
    """Position in the archive, from 0."""
    name: str
    """The entry's name."""
    kind: str
    """Role in the package: ``"descriptor"``, ``"manifest"``, ``"certificate"`` or ``"file"``."""
    entry_type: str
    """Tar entry type (``"regular"``, ``"directory"``, ``"symlink"``, ...)."""
    size: int
    """Data size in bytes."""
    header_offset: int
    """Offset of the entry's first header block (its first extension header, if any)."""
    data_offset: int
    """Offset of the first data byte."""
    header_format: str
    """Tar header layout (``"ustar"``, ``"gnu"``, ``"v7"``, ...)."""
    mode: int
    """Permission bits."""
    mtime: int
    """Modification time, seconds since the epoch."""
    problems: list[dict[str, Any]]
    """Irregularities, each a dict with a ``"problem"`` key (``{"problem": "duplicate"}``)."""
    safe: bool
    """Whether this is a plain file with a safe, flat name (safe to extract)."""

@final
class ManifestLine:
    """One parsed manifest line."""

    line: int
    """1-based line number."""
    algorithm: str
    """``"SHA1"``, ``"SHA256"`` or ``"SHA512"``."""
    name: str
    """The file name."""
    digest: str
    """The digest, lower-case hex."""
    variants: list[str]
    """How the line deviates from the canonical form (``"crlf"``, ``"space_before_paren"``...)."""
    vmware_rejects: bool
    """Whether VMware is documented to reject this line."""

@final
class Manifest:
    """A parsed manifest (``.mf``): the lines understood and those not understood."""

    lines: list[ManifestLine]
    """Parsed lines, in file order."""
    bad_lines: list[dict[str, Any]]
    """Unparseable lines, as dicts with ``"line"``, ``"text"`` and ``"reason"``."""
    missing_final_newline: bool
    """Whether the last line lacks its newline."""
    duplicate_names: list[str]
    """Names listed more than once."""
    def __len__(self) -> int: ...

@final
class Mismatch:
    """A digest that differs from the manifest."""

    name: str
    algorithm: str
    expected: str
    """Digest in the manifest (hex)."""
    actual: str
    """Digest computed (hex)."""

@final
class VerifyReport:
    """The result of checking a package against its manifest. True when everything matched."""

    manifest_name: Optional[str]
    matched: list[str]
    """Entries whose digest matched."""
    mismatched: list[Mismatch]
    """Entries whose digest differs."""
    missing: list[str]
    """Names the manifest lists that are not in the archive."""
    unlisted: list[str]
    """Archive entries the manifest does not list."""
    unchecked: list[str]
    """Lines not checked because their algorithm was not computed."""
    ok: bool
    """Whether everything listed is present and matches, and nothing is unlisted."""
    problems: list[str]
    """One line per problem (empty when ``ok``)."""
    def __bool__(self) -> bool: ...

@final
class Finding:
    """One validation result."""

    severity: str
    """``"error"`` or ``"warning"``."""
    code: str
    """Stable kebab-case code scripts can match on (e.g. ``"digest-mismatch"``)."""
    message: str
    """What is wrong, for a human."""
    entry: Optional[str]
    """The archive entry concerned, or None."""
    @property
    def is_error(self) -> bool: ...

@final
class Descriptor:
    """A parsed OVF descriptor: the original bytes plus a typed, read-only view.

    Nested parts are plain dicts and lists. ``edit`` returns a new descriptor in which only the
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
    def references(self) -> list[dict[str, Any]]: ...
    @property
    def disks(self) -> list[dict[str, Any]]: ...
    @property
    def networks(self) -> list[dict[str, Any]]: ...
    @property
    def deployment_options(self) -> list[dict[str, Any]]: ...
    @property
    def systems(self) -> list[dict[str, Any]]:
        """Every VirtualSystem (also inside collections)."""
    @property
    def collections(self) -> list[dict[str, Any]]: ...
    @property
    def properties(self) -> list[dict[str, Any]]:
        """Every product property, with ``"system"``, ``"class"`` and ``"instance"`` added."""
    @property
    def product_sections(self) -> list[dict[str, Any]]: ...
    @property
    def issues(self) -> list[dict[str, Any]]: ...
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
    ) -> Descriptor:
        """A new descriptor with the edits applied. Raises ``OvfError`` when a target is
        missing or ambiguous or a value cannot be written."""

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
    def end(self) -> dict[str, Any]:
        """How the archive ends (``data_end``, ``zero_blocks``, ``missing_end_marker``,
        ``truncated``)."""
    @property
    def descriptor(self) -> Descriptor:
        """The parsed descriptor. Raises ``OvaError`` without one, ``OvfError`` if invalid."""
    @property
    def disks(self) -> list[dict[str, Any]]:
        """The descriptor's disks."""
    @property
    def systems(self) -> list[dict[str, Any]]:
        """The descriptor's virtual systems."""
    @property
    def properties(self) -> list[dict[str, Any]]:
        """The descriptor's product properties."""
    @property
    def manifest(self) -> Optional[Manifest]:
        """The parsed manifest, or None when the package has none."""
    def read(self, name: str, max_size: int = ...) -> bytes:
        """Read one entry's data into memory (refusing entries over ``max_size``, 64 MiB).

        Raises ``KeyError`` for an unknown name, ``OvaError`` when too large or cut short.
        """
    def verify_manifest(self, *, progress: Optional[ByteProgress] = None) -> VerifyReport:
        """Hash every entry and compare with the manifest, with the manifest's algorithms.

        ``progress(done, total)`` gets the bytes hashed so far and the archive size; an
        exception it raises (or Ctrl-C) stops the check at the next buffer and is re-raised.
        The module-level ``verify_manifest`` also reads pipes.

        Raises ``ManifestMismatchError`` listing every problem (``.mismatches``, ``.report``) or
        ``OvaError`` when the package has no manifest.
        """
    def verify_signature(self, *, trust: Optional[StrPath] = None) -> dict[str, Any]:
        """Verify the ``.cert`` signature over the manifest (and the chain, with ``trust``).
        Raises ``SignatureError`` when unsigned, malformed or not matching."""
    def validate(self, *, progress: Optional[Callable[[int], Any]] = None) -> list[Finding]:
        """Validate the whole package (layout, descriptor, manifest coverage and digests).

        ``progress(done)`` gets the bytes hashed so far; an exception it raises (or Ctrl-C)
        stops the check at the next buffer and is re-raised."""
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
        progress: Optional[Callable[[int], Any]] = None,
    ) -> dict[str, Any]:
        """Write a clean copy (descriptor first, edits applied, fresh manifest).

        ``progress(done)`` gets the bytes copied so far; an exception it raises (or Ctrl-C)
        stops the repack at the next buffer and is re-raised, the temporary file removed and
        an existing ``output`` left as it was."""
    def extract(
        self, dest: StrPath, *, progress: Optional[Callable[[int], Any]] = None
    ) -> list[str]:
        """Extract every regular entry into ``dest``; refuses unsafe entries.

        ``progress(done)`` gets the bytes written so far; an exception it raises (or Ctrl-C)
        stops the extraction at the next buffer and is re-raised. Entries are committed one by
        one: the entry being written is removed (a file of its name is left as it was), the
        entries extracted before it stay."""
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
    ) -> dict[str, Any]:
        """Edit the descriptor inside the archive without rewriting the disks."""
    def check_manifest(self, *, progress: Optional[ByteProgress] = None) -> Optional[VerifyReport]:
        """Like ``verify_manifest`` but return the report (None without a manifest)."""

def verify_manifest(
    path: StrPath,
    *,
    progress: Optional[ByteProgress] = None,
    fallback: Optional[Sequence[str]] = None,
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
) -> dict[str, Any]:
    """Pack a directory (one ``.ovf`` and its files) into an OVA.

    ``progress(done)`` gets the bytes copied so far; an exception it raises (or Ctrl-C) stops
    the pack at the next buffer and is re-raised, the temporary file removed and an existing
    ``output`` left as it was."""

def sign(
    src: StrPath,
    output: StrPath,
    signing_key: StrPath,
    *,
    certificate: Optional[StrPath] = None,
    digest: str = "sha256",
    passphrase: Optional[Union[str, bytes]] = None,
) -> dict[str, Any]:
    """Sign the OVA ``src`` and write the signed package to ``output`` (``output == src``
    signs in place).

    ``signing_key`` is a PEM file with the private key (and the certificate, unless
    ``certificate`` names it); ``passphrase`` unlocks an encrypted key. The manifest is kept
    when it uses ``digest`` (``"sha256"``, ``"sha1"``, ``"sha512"``) and matches the data,
    otherwise a fresh one is written; then the ``.cert``. ``output`` is never left
    half-written. Returns a report dict (``certificate``, ``manifest``,
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
    progress: Optional[ByteProgress] = None,
) -> dict[str, Any]:
    """Build a complete OVA (descriptor, manifest, optional signature, disk) from a raw disk
    or a stream-optimized VMDK; written under a temporary name and renamed on success.
    Raises ``SignatureError`` for an unusable key, ``OvaError`` for an unusable disk.

    ``progress(done, total)`` gets the bytes of ``disk`` read so far and its size; an
    exception it raises (or Ctrl-C) stops the build at the next buffer and is re-raised, the
    temporary file removed and an existing ``output`` left as it was."""

def validate_descriptor(data: bytes) -> list[Finding]:
    """Descriptor-only validation of raw bytes (unparseable XML yields one finding)."""

def detect_disk(path: StrPath) -> str:
    """``"sparse_vmdk"``, ``"descriptor_vmdk"`` or ``"raw"``, from the file's first bytes."""

def vmdk_info(path: StrPath) -> dict[str, Any]:
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
) -> dict[str, Any]:
    """Convert a raw image into a stream-optimized VMDK (temp file, renamed on success).

    ``progress(done, total)`` gets the raw bytes read so far and the image's size; an
    exception it raises (or Ctrl-C) stops the conversion at the next buffer and is re-raised,
    the temporary file removed and an existing ``vmdk_path`` left as it was."""

def vmdk_to_raw(
    vmdk_path: StrPath, raw: StrPath, *, progress: Optional[ByteProgress] = None
) -> dict[str, Any]:
    """Convert a stream-optimized VMDK into a raw image (temp file, renamed on success).

    ``progress(done, total)`` gets the bytes of the VMDK read so far and its size; an
    exception it raises (or Ctrl-C) stops the conversion at the next buffer and is re-raised,
    the temporary file removed and an existing ``raw`` left as it was."""

# ---- ovakit.cloudstack --------------------------------------------------------------------

JobProgress = Callable[[dict[str, Any]], Any]

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
    def request(self, command: str, /, **params: Any) -> dict[str, Any]:
        """Send one API command; returns the response object (wrapper removed)."""
    def call_and_wait(
        self, command: str, /, *, progress: Optional[JobProgress] = None, **params: Any
    ) -> Any:
        """Send an async command and wait for its job; returns the job result.

        Raises ``AsyncJobError`` on failure, ``JobTimeoutError`` past the job timeout.
        """
    def wait_job(
        self,
        job_id: str,
        command: str = "queryAsyncJobResult",
        *,
        progress: Optional[JobProgress] = None,
    ) -> dict[str, Any]:
        """Wait for a job; returns ``{"job_id", "status", "result", "raw"}``."""
    def wait_template_ready(self, template_id: str) -> dict[str, Any]:
        """Poll until the template is ready; raises ``CloudStackError`` if its download fails."""
    def list_all(self, command: str, /, **params: Any) -> ListIter:
        """Iterate over every item of a ``list*`` command, fetching pages lazily."""
    def list_zones(self, **params: Any) -> list[dict[str, Any]]: ...
    def list_os_types(self, **params: Any) -> list[dict[str, Any]]: ...
    def list_service_offerings(self, **params: Any) -> list[dict[str, Any]]: ...
    def list_templates(self, **params: Any) -> list[dict[str, Any]]: ...
    def register_template(self, **params: Any) -> dict[str, Any]: ...
    def delete_template(self, id: str, **params: Any) -> None: ...
    def extract_template(self, id: str, **params: Any) -> dict[str, Any]:
        """Extract and wait; the dict has ``url`` and the usable ``download_url``."""
    def deploy_virtual_machine(self, **params: Any) -> dict[str, Any]: ...
    def list_virtual_machines(self, **params: Any) -> list[dict[str, Any]]: ...
    def start_virtual_machine(self, id: str) -> dict[str, Any]: ...
    def stop_virtual_machine(self, id: str, forced: bool = False) -> dict[str, Any]: ...
    def destroy_virtual_machine(self, id: str, expunge: bool = False) -> dict[str, Any]: ...
    def query_async_job_result(self, job_id: str) -> dict[str, Any]: ...
    def list_async_jobs(self, **params: Any) -> list[dict[str, Any]]: ...
    def list_apis(self, **params: Any) -> list[dict[str, Any]]: ...

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

CopyProgress = Callable[[dict[str, Any]], Any]

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
        progress: Optional[CopyProgress] = None,
        acl: Optional[str] = None,
        content_type: Optional[str] = None,
        metadata: Optional[Sequence[tuple[str, str]]] = None,
        part_size: Optional[int] = None,
        concurrency: Optional[int] = None,
        expected_size: Optional[int] = None,
        md5: bool = False,
        sha256: bool = False,
        part_checksum: Optional[Literal["auto", "md5", "crc32c", "none"]] = None,
    ) -> dict[str, Any]:
        """Stream an ``http(s)://`` URL, a path or a binary file object into ``s3://bucket/key``.

        ``part_checksum``: ``"auto"`` (default; each part's CRC32C, and its MD5 compared with the
        returned ETag until the store has echoed a CRC32C: reported as ``"crc32c"`` or ``"md5"``),
        ``"md5"``, ``"crc32c"`` or ``"none"``.
        Raising from ``progress`` or Ctrl-C cancels and aborts the multipart upload first.
        """
    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        progress: Optional[CopyProgress] = None,
        acl: Optional[str] = None,
        content_type: Optional[str] = None,
        metadata: Optional[Sequence[tuple[str, str]]] = None,
        part_size: Optional[int] = None,
        concurrency: Optional[int] = None,
    ) -> dict[str, Any]:
        """Server-side copy (UploadPartCopy for large objects)."""
    def put_object_acl(self, bucket: str, key: str, acl: str) -> None: ...
    def list_multipart_uploads(
        self, bucket: str, prefix: Optional[str] = None
    ) -> list[dict[str, Any]]: ...
    def abort_multipart_upload(self, bucket: str, key: str, upload_id: str) -> None: ...
    def abort_incomplete_uploads(
        self, bucket: str, older_than: Optional[float] = None
    ) -> list[dict[str, Any]]: ...
    def create_bucket(self, bucket: str) -> None: ...
    def head_object(self, bucket: str, key: str) -> dict[str, Any]: ...
    def get_object(self, bucket: str, key: str) -> bytes: ...
    def delete_object(self, bucket: str, key: str) -> None: ...
