"""Type stubs for the native module ``ovakit._ovakit``; import from ``ovakit.ova``,
``ovakit.cloudstack`` and ``ovakit.s3`` instead."""

import os
from typing import Any, Callable, Optional, Sequence, Union, final

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
    def verify_manifest(
        self,
        *,
        progress: Optional[ByteProgress] = None,
        fallback: Optional[Sequence[str]] = None,
    ) -> VerifyReport:
        """Hash every entry in one streaming pass and compare with the manifest.

        ``progress(done, total)`` gets the bytes hashed so far and the archive size; raising
        from it stops the check and the exception propagates. Ctrl-C also stops it.

        Raises ``ManifestMismatchError`` listing every problem (``.mismatches``, ``.report``) or
        ``OvaError`` when the package has no manifest.
        """
    def check_manifest(
        self,
        *,
        progress: Optional[ByteProgress] = None,
        fallback: Optional[Sequence[str]] = None,
    ) -> Optional[VerifyReport]:
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

def parse_manifest(data: bytes) -> Manifest:
    """Parse manifest text leniently; lines it cannot read are in ``bad_lines``."""

def format_manifest(
    entries: Sequence[tuple[str, Union[bytes, str]]], algorithm: str = "sha256"
) -> str:
    """A canonical manifest (``ALG(name)= hex`` lines) for ``(name, digest)`` pairs."""

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
) -> dict[str, Any]:
    """Convert a raw image into a stream-optimized VMDK (temp file, renamed on success)."""

def vmdk_to_raw(vmdk_path: StrPath, raw: StrPath) -> dict[str, Any]:
    """Convert a stream-optimized VMDK into a raw image (temp file, renamed on success)."""
