"""Typed results: what the ``ovakit`` calls return, as frozen classes.

Every class here is a frozen dataclass: attributes are read-only and typed (numbers are
``int``, never strings), ``repr`` shows every field (but a VM's password), results with the
same fields are equal, and results hash (so they can go into sets and dict keys); where a field
holds a ``dict`` (``extra``, ``details``, ``metadata``, ``raw``...), it takes no part in the
hash.
``to_dict()`` returns the plain ``dict`` earlier versions returned, key for key, for code that
still indexes results::

    disk = ova.disks[0]
    disk.capacity            # bytes, an int (None when written as a ${property} reference)
    disk.capacity_text       # ovf:capacity as written, e.g. "8" (with capacity_units)
    disk.to_dict()["capacity_bytes"]

CloudStack objects keep every field the server sent: the ones a class names are attributes,
the others are in ``extra`` under the server's own names.

The classes are built by the native module; nothing here does any work.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, Mapping, Optional, Tuple, Type, TypeVar, Union

__all__ = [
    # ovakit.ova
    "EntryProblem",
    "Entry",
    "ArchiveEnd",
    "ManifestLine",
    "BadLine",
    "Manifest",
    "Mismatch",
    "VerifyReport",
    "Finding",
    "FileRef",
    "Disk",
    "Network",
    "DeploymentOption",
    "HardwareItem",
    "VirtualHardware",
    "OperatingSystem",
    "ConfigurationValue",
    "Property",
    "PackageProperty",
    "ProductSection",
    "PackageProductSection",
    "VirtualSystem",
    "VirtualSystemCollection",
    "ModelIssue",
    "WriteReport",
    "EditReport",
    "SignReport",
    "SignatureReport",
    "BuildReport",
    "VmdkExtent",
    "VmdkDescriptor",
    "VmdkProblem",
    "VmdkInfo",
    "VmdkWriteReport",
    "VmdkReadReport",
    # ovakit.disk
    "RawInfo",
    "Qcow2Info",
    "VhdInfo",
    "DiskInfo",
    "ConvertReport",
    "OvaDiskChoice",
    "OvaConvertReport",
    # ovakit.s3
    "CopyReport",
    "CopyProgress",
    "MultipartUpload",
    "ObjectInfo",
    # ovakit.cloudstack
    "Zone",
    "OsType",
    "ServiceOffering",
    "Template",
    "VirtualMachine",
    "AsyncJob",
    "ExtractedTemplate",
    "ApiParam",
    "ApiInfo",
    "JobOutcome",
    "JobProgress",
]

_R = TypeVar("_R", bound="Result")
_NONE = type(None)


class Result:
    """Base of every result class: ``to_dict()`` and the construction from the native dicts."""

    # dict key -> attribute name, where they differ ("type" -> "kind", "class" -> "class_")
    _keys: ClassVar[Mapping[str, str]] = {}
    # the attribute that collects keys the class does not name (None: there are none)
    _rest: ClassVar[Optional[str]] = None

    @classmethod
    def _from_dict(cls: Type[_R], data: Mapping[str, Any]) -> _R:
        plan = _plan(cls)
        values: Dict[str, Any] = {}
        rest: Dict[str, Any] = {}
        for key, value in data.items():
            step = plan.fields.get(key)
            if step is not None:
                name, convert = step
                values[name] = value if convert is None else convert(value)
            elif plan.rest is not None:
                rest[key] = value
            else:
                raise TypeError(f"{cls.__name__}: unexpected field {key!r} from the native module")
        if plan.rest is not None:
            values[plan.rest] = rest
        for name, default in plan.defaults:
            if name not in values:
                values[name] = default()
        if len(values) != plan.count:
            missing = sorted(set(plan.names) - set(values))
            raise TypeError(f"{cls.__name__}: the native module left out {missing}")
        # what the dataclass __init__ would do, without its per-field frozen setattr
        obj = cls.__new__(cls)
        obj.__dict__.update(values)
        # the dict as the native module gave it, for to_dict()
        obj.__dict__["_dict"] = dict(data)
        return obj

    def to_dict(self) -> Dict[str, Any]:
        """The plain dict form (as returned before the typed classes), a fresh deep copy."""
        raw = self.__dict__.get("_dict")
        if raw is not None:
            return copy.deepcopy(raw)
        out: Dict[str, Any] = {}
        names = {attr: key for key, attr in self._keys.items()}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue  # a key the native dicts leave out when it has no value
            if f.name == self._rest:
                out.update(copy.deepcopy(value))
            else:
                out[names.get(f.name, f.name)] = _plain(value)
        return out


Convert = Callable[[Any], Any]


class _Plan:
    """How one class is built from a native dict: each key's attribute and converter (None:
    the value as it is), the attribute collecting other keys, the defaults."""

    def __init__(self, cls: type) -> None:
        module = sys.modules[cls.__module__].__dict__
        hints = typing.get_type_hints(cls, module, module)
        rest: Optional[str] = getattr(cls, "_rest", None)
        keys: Mapping[str, str] = getattr(cls, "_keys", {})
        names = {attr: key for key, attr in keys.items()}
        self.fields: Dict[str, Tuple[str, Optional[Convert]]] = {}
        self.defaults: list[Tuple[str, Callable[[], Any]]] = []
        self.names = [f.name for f in dataclasses.fields(cls)]
        self.count = len(self.names)
        self.rest = rest
        for f in dataclasses.fields(cls):
            if f.name != rest:
                self.fields[names.get(f.name, f.name)] = (f.name, _converter(hints[f.name]))
            if f.default is not dataclasses.MISSING:
                self.defaults.append((f.name, _constant(f.default)))
            elif f.default_factory is not dataclasses.MISSING:
                self.defaults.append((f.name, f.default_factory))


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


_PLANS: Dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _Plan(cls)
    return plan


def _converter(tp: Any) -> Optional[Convert]:
    """How a native value (dict, list, scalar) becomes the annotated type ``tp``; None when it
    is taken as it is."""
    origin = typing.get_origin(tp)
    if origin is Union:
        choices = [a for a in typing.get_args(tp) if a is not _NONE]
        if len(choices) == 1:
            inner = _converter(choices[0])
            if inner is None:
                return None
            return lambda v: None if v is None else inner(v)
        # a tagged union: the class whose _tag is the value's "kind" or "format"
        tagged = {getattr(c, "_tag"): _converter(c) for c in choices}

        def pick(v: Any) -> Any:
            if v is None:
                return None
            for tag in (v.get("kind"), v.get("format")):
                convert = tagged.get(tag)
                if convert is not None:
                    return convert(v)
            raise TypeError(f"no result class of {[c.__name__ for c in choices]} for {v!r}")

        return pick
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            item = _converter(args[0])
            if item is None:
                return tuple
            return lambda v: tuple(item(x) for x in v)
        items = [_converter(a) for a in args]
        return lambda v: tuple(x if c is None else c(x) for c, x in zip(items, v))
    if isinstance(tp, type) and issubclass(tp, Result):
        return tp._from_dict
    return None


def _convert(tp: Any, value: Any) -> Any:
    """A native value as the annotated type ``tp``."""
    convert = _converter(tp)
    return value if convert is None else convert(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


def _build(name: str, value: Any) -> Any:
    """Called by the native module: ``value`` (a dict, or a list of dicts) as class ``name``."""
    cls = globals()[name]
    if isinstance(value, list):
        return [cls._from_dict(v) for v in value]
    return cls._from_dict(value)


def _build_one_of(names: Tuple[str, ...], value: Any) -> Any:
    """Called by the native module: ``value`` as the class of ``names`` its tag names."""
    return _convert(Union[tuple(globals()[n] for n in names)], value)


def _dict_field() -> Any:
    """A dict field: compared, shown, not hashed (a dict cannot be)."""
    return field(default_factory=dict, hash=False)


# ---- ovakit.ova: archive ------------------------------------------------------------------


@dataclass(frozen=True)
class EntryProblem(Result):
    """An irregularity of one archive entry; ``problem`` says which, the other fields the
    details that problem has (None otherwise)."""

    problem: str
    """``"absolute_path"``, ``"parent_component"``, ``"not_flat"``, ``"link"``, ``"special"``,
    ``"directory"``, ``"unknown_type"``, ``"duplicate"``, ``"size_past_end"``,
    ``"extension_header"``, ``"apple_double"``, ``"non_ascii_name"``, ``"long_name"``,
    ``"base256"``."""
    target: Optional[str] = None
    """``link``: the link target."""
    flag: Optional[int] = None
    """``unknown_type``: the type flag byte."""
    available: Optional[int] = None
    """``size_past_end``: bytes of data actually present."""
    extension: Optional[str] = None
    """``extension_header``: ``"pax_local"``, ``"pax_global"``, ``"gnu_long_name"``,
    ``"gnu_long_link"``."""
    fields: Optional[Tuple[str, ...]] = None
    """``base256``: the header fields written in base-256."""


@dataclass(frozen=True)
class Entry(Result):
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
    problems: Tuple[EntryProblem, ...]
    """Irregularities (empty for a clean entry)."""
    safe: bool
    """Whether this is a plain file with a safe, flat name (safe to extract)."""


@dataclass(frozen=True)
class ArchiveEnd(Result):
    """How an archive ends."""

    data_end: int
    """Offset just past the last entry (where the end-of-archive blocks start)."""
    zero_blocks: int
    """All-zero blocks at the end (POSIX wants two)."""
    missing_end_marker: bool
    """Whether the archive stops with no end-of-archive marker at all."""
    truncated: bool
    """Whether the last entry's data is cut short."""


# ---- ovakit.ova: manifests ----------------------------------------------------------------


@dataclass(frozen=True)
class ManifestLine(Result):
    """One parsed manifest line."""

    line: int
    """1-based line number."""
    algorithm: str
    """``"SHA1"``, ``"SHA256"`` or ``"SHA512"``."""
    name: str
    """The file name."""
    digest: str
    """The digest, lower-case hex."""
    variants: Tuple[str, ...]
    """How the line deviates from the canonical form (``"crlf"``, ``"space_before_paren"``...)."""
    vmware_rejects: bool
    """Whether VMware is documented to reject this line."""


@dataclass(frozen=True)
class BadLine(Result):
    """A manifest line that could not be read."""

    line: int
    """1-based line number."""
    text: str
    """The line as written."""
    reason: str
    """Why it was not understood."""


@dataclass(frozen=True)
class Manifest(Result):
    """A parsed manifest (``.mf``): the lines understood and those not understood."""

    lines: Tuple[ManifestLine, ...]
    """Parsed lines, in file order."""
    bad_lines: Tuple[BadLine, ...]
    """Lines not understood."""
    missing_final_newline: bool
    """Whether the last line lacks its newline."""
    duplicate_names: Tuple[str, ...]
    """Names listed more than once."""

    def __len__(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class Mismatch(Result):
    """A digest that differs from the manifest."""

    name: str
    """The entry."""
    algorithm: str
    """The manifest line's algorithm."""
    expected: str
    """Digest in the manifest (hex)."""
    actual: str
    """Digest computed (hex)."""


@dataclass(frozen=True)
class VerifyReport(Result):
    """The result of checking a package against its manifest; true when everything matched."""

    manifest_name: Optional[str]
    """The manifest entry's name."""
    matched: Tuple[str, ...]
    """Entries whose digest matched."""
    mismatched: Tuple[Mismatch, ...]
    """Entries whose digest differs."""
    missing: Tuple[str, ...]
    """Names the manifest lists that are not in the archive."""
    unlisted: Tuple[str, ...]
    """Archive entries the manifest does not list."""
    unchecked: Tuple[str, ...]
    """Lines not checked because their algorithm was not computed."""
    ok: bool
    """Whether everything listed is present and matches, and nothing is unlisted."""
    problems: Tuple[str, ...]
    """One line per problem, in a stable order (empty when ``ok``)."""

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class Finding(Result):
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
    def is_error(self) -> bool:
        """Whether this finding is an error (not a warning)."""
        return self.severity == "error"

    def __str__(self) -> str:
        where = f" ({self.entry})" if self.entry is not None else ""
        return f"{self.severity}[{self.code}]: {self.message}{where}"


# ---- ovakit.ova: the descriptor's typed view ----------------------------------------------


@dataclass(frozen=True)
class FileRef(Result):
    """A ``References/File`` element."""

    id: str
    """``ovf:id``."""
    href: str
    """``ovf:href``, the file's name in the package."""
    size: Optional[int]
    """``ovf:size`` in bytes (the compressed size when ``compression`` is set)."""
    compression: Optional[str]
    """``ovf:compression`` (``gzip``, ``bzip2``, ``identity``), when present."""
    chunk_size: Optional[int]
    """``ovf:chunkSize``: the file is stored in chunks ``href.000000000``, ..."""


@dataclass(frozen=True)
class Disk(Result):
    """A ``DiskSection/Disk`` element.

    ``capacity`` is the capacity in bytes (an ``int``); ``capacity_text`` and
    ``capacity_units`` are the attributes as written. In ``to_dict()`` these are the old keys
    ``capacity_bytes``, ``capacity`` and ``capacity_units``.
    """

    _keys: ClassVar[Mapping[str, str]] = {
        "capacity": "capacity_text",
        "capacity_bytes": "capacity",
    }

    disk_id: str
    """``ovf:diskId``."""
    file_ref: Optional[str]
    """``ovf:fileRef``, the ``References/File`` id holding the image (None: a blank disk)."""
    capacity_text: str
    """``ovf:capacity`` as written: a number in ``capacity_units``, or a ``${property}``."""
    capacity_units: Optional[str]
    """``ovf:capacityAllocationUnits`` as written (``byte * 2^30``...)."""
    capacity: Optional[int]
    """The capacity in bytes, when both the number and the units parse."""
    populated_size: Optional[int]
    """``ovf:populatedSize`` in bytes."""
    format: Optional[str]
    """``ovf:format`` URI."""
    parent_ref: Optional[str]
    """``ovf:parentRef`` (delta disks)."""


@dataclass(frozen=True)
class Network(Result):
    """A ``NetworkSection/Network`` element."""

    name: str
    """``ovf:name``."""
    description: Optional[str]
    """The ``Description`` child."""


@dataclass(frozen=True)
class DeploymentOption(Result):
    """A ``DeploymentOptionSection/Configuration`` (a deployment profile such as "small")."""

    id: str
    """``ovf:id``, what items' and properties' ``ovf:configuration`` name."""
    label: Optional[str]
    """The ``Label`` child."""
    description: Optional[str]
    """The ``Description`` child."""
    default: bool
    """Whether this is the default."""


@dataclass(frozen=True)
class HardwareItem(Result):
    """One virtual hardware item (RASD ``Item``, ``StorageItem`` or ``EthernetPortItem``)."""

    element: str
    """The element it was written as: ``"Item"``, ``"StorageItem"``, ``"EthernetPortItem"``."""
    instance_id: Optional[str]
    """``InstanceID``."""
    resource_type: Optional[int]
    """``ResourceType`` (3 CPU, 4 memory, 5 IDE, 6 SCSI, 10 NIC, 17 disk, 20 other storage...)."""
    resource_sub_type: Optional[str]
    """``ResourceSubType`` (``lsilogic``, ``VmxNet3``...)."""
    element_name: Optional[str]
    """``ElementName``."""
    description: Optional[str]
    """``Description``."""
    virtual_quantity: Optional[int]
    """``VirtualQuantity``."""
    allocation_units: Optional[str]
    """``AllocationUnits`` as written."""
    host_resources: Tuple[str, ...]
    """``HostResource`` values."""
    parent: Optional[str]
    """``Parent`` (the controller's ``InstanceID``)."""
    address: Optional[str]
    """``Address``."""
    address_on_parent: Optional[str]
    """``AddressOnParent``."""
    connections: Tuple[str, ...]
    """``Connection`` values (network names)."""
    configurations: Tuple[str, ...]
    """``ovf:configuration``: the deployment options this item applies to (empty: all)."""
    required: bool
    """``ovf:required``."""
    bound: Optional[str]
    """``ovf:bound`` (``min``, ``max``, ``normal``)."""


@dataclass(frozen=True)
class VirtualHardware(Result):
    """A ``VirtualHardwareSection``."""

    id: Optional[str]
    """``ovf:id``."""
    transport: Optional[str]
    """``ovf:transport``."""
    system_types: Tuple[str, ...]
    """``System/VirtualSystemType`` values (``vmx-13``...)."""
    cpus: Optional[int]
    """CPU count of the default configuration."""
    memory_mib: Optional[int]
    """Memory of the default configuration, in MiB."""
    firmware: Optional[str]
    """``bios`` or ``efi``, when given."""
    default_configuration: Optional[str]
    """The deployment configuration ``cpus`` and ``memory_mib`` are for."""
    has_system: bool
    """Whether the section has a ``System`` element."""
    items: Tuple[HardwareItem, ...]
    """The hardware items, in document order."""


@dataclass(frozen=True)
class OperatingSystem(Result):
    """An ``OperatingSystemSection``."""

    id: Optional[int]
    """``ovf:id``, the CIM OS type number."""
    version: Optional[str]
    """``ovf:version``."""
    vmw_os_type: Optional[str]
    """``vmw:osType``, the vSphere guest id."""
    description: Optional[str]
    """The ``Description`` child."""


@dataclass(frozen=True)
class ConfigurationValue(Result):
    """A property value for one deployment configuration."""

    configuration: str
    """``ovf:configuration``."""
    value: str
    """``ovf:value``."""


@dataclass(frozen=True)
class Property(Result):
    """A ``ProductSection/Property``."""

    _keys: ClassVar[Mapping[str, str]] = {"type": "kind", "class": "class_"}

    key: str
    """``ovf:key``."""
    kind: Optional[str]
    """``ovf:type`` as written (``string``, ``uint8``, ``boolean``...); ``"type"`` in
    ``to_dict()``."""
    value: Optional[str]
    """``ovf:value``, the default value."""
    qualifiers: Optional[str]
    """``ovf:qualifiers`` (``MinLen(1)``, ``ValueMap{"a","b"}``...)."""
    user_configurable: bool
    """``ovf:userConfigurable``."""
    password: bool
    """``ovf:password``."""
    label: Optional[str]
    """The ``Label`` child."""
    description: Optional[str]
    """The ``Description`` child."""
    configurations: Tuple[str, ...]
    """``ovf:configuration``: the deployment options this property applies to (empty: all)."""
    configuration_values: Tuple[ConfigurationValue, ...]
    """Per-configuration values."""


@dataclass(frozen=True)
class PackageProperty(Property):
    """A property as ``Ova.properties`` and ``Descriptor.properties`` list them: with where it
    is."""

    system: str
    """The id of the VirtualSystem (or collection) holding it."""
    class_: Optional[str]
    """Its ProductSection's ``ovf:class``; ``"class"`` in ``to_dict()``."""
    instance: Optional[str]
    """Its ProductSection's ``ovf:instance``."""


@dataclass(frozen=True)
class ProductSection(Result):
    """A ``ProductSection``."""

    _keys: ClassVar[Mapping[str, str]] = {"class": "class_"}

    class_: Optional[str]
    """``ovf:class``; ``"class"`` in ``to_dict()``."""
    instance: Optional[str]
    """``ovf:instance``."""
    product: Optional[str]
    """``Product``."""
    vendor: Optional[str]
    """``Vendor``."""
    version: Optional[str]
    """``Version``."""
    full_version: Optional[str]
    """``FullVersion``."""
    properties: Tuple[Property, ...]
    """The properties in document order."""


@dataclass(frozen=True)
class PackageProductSection(ProductSection):
    """A ProductSection as ``Descriptor.product_sections`` lists them: with where it is."""

    system: str
    """The id of the VirtualSystem (or collection) holding it."""


@dataclass(frozen=True)
class VirtualSystem(Result):
    """A ``VirtualSystem``."""

    _tag: ClassVar[str] = "system"

    id: str
    """``ovf:id``."""
    name: Optional[str]
    """The ``Name`` child."""
    info: Optional[str]
    """The ``Info`` child."""
    hardware: Tuple[VirtualHardware, ...]
    """The ``VirtualHardwareSection``s."""
    operating_system: Optional[OperatingSystem]
    """The ``OperatingSystemSection``."""
    products: Tuple[ProductSection, ...]
    """The ``ProductSection``s."""
    eulas: Tuple[str, ...]
    """``EulaSection/License`` texts."""
    annotation: Optional[str]
    """``AnnotationSection/Annotation``."""
    kind: Optional[str] = None
    """``"system"`` inside a collection's ``content``, None elsewhere."""


@dataclass(frozen=True)
class VirtualSystemCollection(Result):
    """A ``VirtualSystemCollection`` (a vApp), which holds systems and collections."""

    _tag: ClassVar[str] = "collection"

    id: str
    """``ovf:id``."""
    name: Optional[str]
    """The ``Name`` child."""
    info: Optional[str]
    """The ``Info`` child."""
    products: Tuple[ProductSection, ...]
    """The ``ProductSection``s."""
    eulas: Tuple[str, ...]
    """``EulaSection/License`` texts."""
    annotation: Optional[str]
    """``AnnotationSection/Annotation``."""
    content: Tuple[Union[VirtualSystem, VirtualSystemCollection], ...]
    """What the collection holds, in document order."""
    kind: Optional[str] = None
    """``"collection"`` inside a collection's ``content``, None elsewhere."""


@dataclass(frozen=True)
class ModelIssue(Result):
    """A problem noticed while reading the descriptor's model."""

    code: str
    """Stable kebab-case code."""
    message: str
    """What is wrong."""


# ---- ovakit.ova: reports ------------------------------------------------------------------


@dataclass(frozen=True)
class WriteReport(Result):
    """What ``Ova.repack`` or ``pack`` wrote."""

    written: Tuple[str, ...]
    """Entry names written, in order."""
    dropped: Tuple[Tuple[str, str], ...]
    """Entries of the source left out: ``(name, reason)`` pairs."""
    manifest: Optional[str]
    """The manifest written (its name), if any."""
    bytes: int
    """Bytes written."""


@dataclass(frozen=True)
class EditReport(Result):
    """What ``Ova.edit_in_place`` did."""

    bytes_written: int
    """Bytes written to the archive."""
    descriptor_size: Tuple[int, int]
    """Descriptor size before and after."""
    padding: int
    """Whitespace bytes appended to the descriptor."""
    manifest_lines: Tuple[int, ...]
    """Manifest lines rewritten."""
    recovered: bool
    """Whether an interrupted earlier edit was rolled back first."""


@dataclass(frozen=True)
class SignReport(Result):
    """What ``sign`` did."""

    certificate: str
    """Name of the ``.cert`` entry written."""
    manifest: str
    """Name of the manifest signed."""
    manifest_regenerated: bool
    """Whether a new manifest had to be written."""
    in_place: bool
    """Whether the package was updated in place."""
    subject: str
    """Signer certificate subject."""


@dataclass(frozen=True)
class SignatureReport(Result):
    """What ``Ova.verify_signature`` found."""

    signature_valid: bool
    """Whether the signature over the manifest verifies with the certificate's key."""
    algorithm: str
    """Digest algorithm of the signature (``"SHA256"``...)."""
    manifest_name_matches: bool
    """Whether the manifest name in the signature line matches the manifest entry."""
    spaced: bool
    """Whether the signature line's spacing is not canonical."""
    encoding: str
    """``"hex"`` or ``"base64"``."""
    subject: str
    """Signer certificate subject."""
    issuer: str
    """Signer certificate issuer."""
    not_before: str
    """Start of validity (``Jan  1 00:00:00 2026 GMT``)."""
    not_after: str
    """End of validity."""
    self_signed: bool
    """Whether the certificate is self-signed."""
    expired: bool
    """Whether the validity period has ended."""
    not_yet_valid: bool
    """Whether the validity period has not started."""
    chain_trusted: Optional[bool]
    """With ``trust``: whether the chain reaches it (None without)."""
    chain_error: Optional[str]
    """Why the chain did not verify."""


@dataclass(frozen=True)
class BuildReport(Result):
    """What ``build_ova`` wrote."""

    entries: Tuple[str, ...]
    """Entry names, in archive order."""
    bytes: int
    """Size of the OVA in bytes."""
    disk_size: int
    """Size of the VMDK entry."""
    capacity: int
    """Virtual capacity of the disk in bytes."""
    populated: int
    """Bytes of the capacity holding data."""
    converted: bool
    """Whether the disk was converted (False: an existing VMDK was copied as is)."""
    manifest: Optional[str]
    """The manifest text, if one was written."""
    signed_by: Optional[str]
    """Subject of the signing certificate, if signed."""


@dataclass(frozen=True)
class VmdkExtent(Result):
    """An extent line of a VMDK descriptor."""

    access: str
    """``RW``, ``RDONLY`` or ``NOACCESS``."""
    sectors: int
    """Size in sectors."""
    kind: str
    """``SPARSE``, ``FLAT``..."""
    file: str
    """The file name."""


@dataclass(frozen=True)
class VmdkDescriptor(Result):
    """A parsed VMDK text descriptor."""

    entries: Tuple[Tuple[str, str], ...]
    """Top-level ``key=value`` entries (``version``, ``CID``, ``createType``...), in order."""
    extents: Tuple[VmdkExtent, ...]
    """Extent lines."""
    ddb: Tuple[Tuple[str, str], ...]
    """``ddb.*`` entries, in order, quotes removed."""


@dataclass(frozen=True)
class VmdkProblem(Result):
    """Something in a VMDK a consumer may reject; ``kind`` says what (``"no_footer"``,
    ``"bytes_after_end"``, ``"version"``...), ``details`` holds that kind's values."""

    _rest: ClassVar[Optional[str]] = "details"

    kind: str
    """Which problem."""
    details: Dict[str, Any] = _dict_field()
    """That problem's values (``{"bytes": 512, "nonzero": False}``...)."""


@dataclass(frozen=True)
class VmdkInfo(Result):
    """What ``vmdk_info`` (and ``disk.info`` for a VMDK) found in a stream-optimized VMDK."""

    _tag: ClassVar[str] = "vmdk"

    file_size: int
    """File size in bytes."""
    capacity: int
    """Virtual disk size in bytes."""
    grain_size: int
    """Grain size in bytes."""
    version: int
    """Header version."""
    flags: int
    """Header flags."""
    layout: str
    """How the grain directory is found (``"gd_at_end_with_footer"``, ``"gd_at_front"``...)."""
    grains: int
    """Grains present."""
    compressed_bytes: int
    """Bytes of compressed grain data."""
    has_footer: bool
    """Whether a footer is present."""
    has_eos: bool
    """Whether an end-of-stream marker is present."""
    grains_ordered: bool
    """Whether grains come in ascending LBA order."""
    logical_end: int
    """Offset just past the end-of-stream marker (or the last structure)."""
    create_type: Optional[str]
    """``createType`` from the descriptor."""
    adapter_type: Optional[str]
    """``ddb.adapterType``."""
    hw_version: Optional[str]
    """``ddb.virtualHWVersion``."""
    tools_version: Optional[str]
    """``ddb.toolsVersion``."""
    descriptor: VmdkDescriptor
    """The whole embedded descriptor."""
    problems: Tuple[VmdkProblem, ...]
    """Findings a consumer may reject (empty for a VMware-layout file)."""
    format: Optional[str] = None
    """``"vmdk"`` from ``disk.info``; None from ``vmdk_info`` (whose dict has no ``format``)."""


@dataclass(frozen=True)
class VmdkWriteReport(Result):
    """What ``raw_to_vmdk`` wrote."""

    bytes_written: int
    """Bytes of VMDK written (the file size)."""
    capacity: int
    """Virtual disk size in bytes."""
    grains: int
    """Grains written (those not all zeros)."""
    populated_bytes: int
    """Raw bytes those grains hold (the OVF disk's ``populatedSize``)."""
    digest: Optional[str]
    """Lowercase hex digest of the written bytes, when one was asked for."""


@dataclass(frozen=True)
class VmdkReadReport(Result):
    """What ``vmdk_to_raw`` read."""

    grains: int
    """Grain markers read."""
    compressed_bytes: int
    """Bytes of compressed grain data."""
    grain_tables: int
    """Grain-table markers seen."""
    gd_marker_offset: Optional[int]
    """Offset of the grain-directory marker, if one was seen."""
    eos_offset: Optional[int]
    """Offset of the end-of-stream marker, if one was seen."""
    logical_end: int
    """Offset just past the end-of-stream marker (or where the input ended)."""
    trailing_bytes: int
    """Bytes read after the logical end."""
    trailing_nonzero: bool
    """Whether any of those is not zero."""
    grains_ordered: bool
    """Whether grains came in ascending LBA order."""


# ---- ovakit.disk --------------------------------------------------------------------------


@dataclass(frozen=True)
class RawInfo(Result):
    """``disk.info`` of a raw image."""

    _tag: ClassVar[str] = "raw"

    format: str
    """``"raw"``."""
    file_size: int
    """Its size, which is the virtual size."""


@dataclass(frozen=True)
class Qcow2Info(Result):
    """``disk.info`` of a QCOW2 image."""

    _tag: ClassVar[str] = "qcow2"

    format: str
    """``"qcow2"``."""
    file_size: int
    """File size in bytes."""
    version: int
    """Format version (2 or 3)."""
    virtual_size: int
    """Virtual disk size in bytes."""
    cluster_size: int
    """Cluster size in bytes."""
    refcount_bits: int
    """Refcount width in bits."""
    l1_size: int
    """Entries of the active L1 table."""
    data_clusters: int
    """Guest clusters stored uncompressed."""
    compressed_clusters: int
    """Guest clusters stored compressed."""
    zero_clusters: int
    """Guest clusters marked as reading zeros."""
    leaked_clusters: int
    """Host clusters with a refcount but no reference (harmless)."""
    snapshots: int
    """Internal snapshots (not read)."""
    dirty: bool
    """Whether the image was not closed cleanly."""
    lazy_refcounts: bool
    """Whether refcounts may be stale by design."""
    problems: Tuple[str, ...]
    """Problems a consumer may trip over that do not stop reading."""


@dataclass(frozen=True)
class VhdInfo(Result):
    """``disk.info`` of a VHD image."""

    _tag: ClassVar[str] = "vhd"

    format: str
    """``"vhd"``."""
    file_size: int
    """File size in bytes."""
    disk_type: str
    """``"fixed"`` or ``"dynamic"``."""
    virtual_size: int
    """Virtual disk size in bytes (the footer's current size)."""
    geometry: Tuple[int, int, int]
    """Cylinders, heads, sectors per track."""
    geometry_size: int
    """Bytes the geometry describes."""
    block_size: Optional[int]
    """Block size in bytes (dynamic disks)."""
    bat_entries: Optional[int]
    """BAT entries (dynamic disks)."""
    blocks_allocated: Optional[int]
    """Blocks allocated (dynamic disks)."""
    creator_app: str
    """Creator application, as written (``qemu``, ``win``, ``vpc``...)."""
    creator_version: int
    """Creator version."""
    creator_os: str
    """Creator host OS."""
    uuid: str
    """Unique id, as hex."""
    problems: Tuple[str, ...]
    """Problems a consumer may trip over that do not stop reading."""


DiskInfo = Union[RawInfo, VmdkInfo, Qcow2Info, VhdInfo]
"""What ``disk.info`` returns: one class per format; ``format`` says which."""


@dataclass(frozen=True)
class ConvertReport(Result):
    """What a disk conversion did."""

    _keys: ClassVar[Mapping[str, str]] = {"from": "from_"}

    from_: str
    """The input's format (``"raw"``, ``"vmdk"``, ``"qcow2"``, ``"vhd"``); ``"from"`` in
    ``to_dict()``."""
    to: str
    """The output's format."""
    source_size: int
    """The input's virtual size in bytes."""
    virtual_size: int
    """The output's virtual size in bytes."""
    bytes_written: int
    """Bytes written (the output file's size)."""


@dataclass(frozen=True)
class OvaDiskChoice(Result):
    """Which disk of an OVA ``disk.convert_ova`` converted."""

    disk_id: str
    """The disk's ``ovf:diskId``."""
    entry: str
    """The package entry holding it."""
    format: str
    """The entry's format (``"vmdk"`` or ``"raw"``)."""
    by_default: bool
    """Whether it was picked by default (no ``disk`` given)."""
    all_disks: Tuple[str, ...]
    """Every disk id of the package, in DiskSection order."""


@dataclass(frozen=True)
class OvaConvertReport(Result):
    """What ``disk.convert_ova`` did."""

    disk: OvaDiskChoice
    """The disk converted."""
    summary: ConvertReport
    """The conversion."""


# ---- ovakit.s3 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyReport(Result):
    """What an S3 copy did."""

    bytes: int
    """Bytes copied."""
    parts: int
    """Parts of the object (1 for a single PUT)."""
    multipart: bool
    """Whether it was a multipart upload."""
    part_size: int
    """Part size in bytes."""
    elapsed: float
    """Seconds the copy took."""
    etag: Optional[str]
    """The object's ETag."""
    crc32c: Optional[str]
    """The object's CRC32C checksum (base64), when computed."""
    md5: Optional[str]
    """MD5 of the bytes (hex), when asked for."""
    sha256: Optional[str]
    """SHA-256 of the bytes (hex), when asked for."""
    upload_id: Optional[str]
    """The multipart upload id."""
    source_resumes: int
    """Times the HTTP source was resumed after a broken connection."""
    part_checksum: str
    """How parts were checked: ``"crc32c"``, ``"md5"`` or ``"none"``."""
    payload_signed: bool
    """Whether the payload was signed."""
    parts_reused: int
    """Parts reused from an earlier, interrupted copy."""
    parts_uploaded: int
    """Parts uploaded by this copy."""


@dataclass(frozen=True)
class CopyProgress(Result):
    """What a copy's ``progress`` callback gets."""

    bytes_read: int
    """Bytes read from the source so far."""
    bytes_uploaded: int
    """Bytes the store acknowledged so far."""
    parts_done: int
    """Parts uploaded."""
    parts_total: Optional[int]
    """Parts in all, when the size is known."""
    elapsed: float
    """Seconds since the copy started."""


@dataclass(frozen=True)
class MultipartUpload(Result):
    """An incomplete multipart upload."""

    key: str
    """The object key."""
    upload_id: str
    """The upload id."""
    initiated: Optional[int]
    """When it started, seconds since the epoch."""


@dataclass(frozen=True)
class ObjectInfo(Result):
    """What HeadObject tells about an object."""

    size: int
    """Size in bytes."""
    etag: Optional[str]
    """The ETag."""
    content_type: Optional[str]
    """The Content-Type."""
    metadata: Dict[str, str] = _dict_field()
    """User metadata (``x-amz-meta-*``, prefix removed)."""


# ---- ovakit.cloudstack --------------------------------------------------------------------


@dataclass(frozen=True)
class Zone(Result):
    """A zone (``listZones``). Fields the class does not name are in ``extra``."""

    _rest: ClassVar[Optional[str]] = "extra"

    id: str
    """The id (UUID on 4.x, number on older clouds), as a string."""
    name: Optional[str] = None
    """Name."""
    description: Optional[str] = None
    """Description."""
    networktype: Optional[str] = None
    """``Basic`` or ``Advanced``."""
    allocationstate: Optional[str] = None
    """``Enabled`` / ``Disabled``."""
    extra: Dict[str, Any] = _dict_field()
    """Every other field, as sent."""


@dataclass(frozen=True)
class OsType(Result):
    """An OS type (``listOsTypes``). Fields the class does not name are in ``extra``."""

    _rest: ClassVar[Optional[str]] = "extra"

    id: str
    """The id, as a string."""
    description: Optional[str] = None
    """E.g. "CentOS 6.5 (64-bit)"."""
    oscategoryid: Optional[str] = None
    """OS category id."""
    extra: Dict[str, Any] = _dict_field()
    """Every other field, as sent."""


@dataclass(frozen=True)
class ServiceOffering(Result):
    """A service offering (``listServiceOfferings``). Other fields are in ``extra``."""

    _rest: ClassVar[Optional[str]] = "extra"

    id: str
    """The id, as a string."""
    name: Optional[str] = None
    """Name."""
    displaytext: Optional[str] = None
    """Display text."""
    cpunumber: Optional[int] = None
    """Number of CPUs."""
    cpuspeed: Optional[int] = None
    """CPU speed in MHz."""
    memory: Optional[int] = None
    """Memory in MiB."""
    extra: Dict[str, Any] = _dict_field()
    """Every other field, as sent."""


@dataclass(frozen=True)
class Template(Result):
    """A template (``listTemplates``, ``registerTemplate``, ``wait_template_ready``): one row per
    zone. The server's ``crossZones`` is ``crosszones``; fields the class does not name are in
    ``extra`` as the server sent them."""

    _rest: ClassVar[Optional[str]] = "extra"
    _keys: ClassVar[Mapping[str, str]] = {"crossZones": "crosszones"}

    id: str
    """The id, as a string."""
    name: Optional[str] = None
    """Name."""
    displaytext: Optional[str] = None
    """Display text."""
    isready: Optional[bool] = None
    """True once the download finished."""
    status: Optional[str] = None
    """Download status text (``"45% Downloaded"``, ``"Download Complete"``, an error...)."""
    format: Optional[str] = None
    """``OVA``, ``VHD``, ``QCOW2``..."""
    hypervisor: Optional[str] = None
    """``VMware``, ``XenServer``, ``KVM``..."""
    ostypeid: Optional[str] = None
    """OS type id."""
    ostypename: Optional[str] = None
    """OS type name."""
    zoneid: Optional[str] = None
    """Zone id."""
    zonename: Optional[str] = None
    """Zone name."""
    size: Optional[int] = None
    """Size in bytes."""
    isextractable: Optional[bool] = None
    """Whether the template can be extracted."""
    passwordenabled: Optional[bool] = None
    """Whether VMs get a generated password."""
    templatetype: Optional[str] = None
    """``USER``, ``BUILTIN``..."""
    created: Optional[str] = None
    """Creation time."""
    checksum: Optional[str] = None
    """The checksum given at registration, checked after the download (a hex digest, with or
    without its ``{SHA-256}``-style prefix)."""
    arch: Optional[str] = None
    """CPU architecture, ``x86_64`` or ``aarch64`` (4.20 and later)."""
    directdownload: Optional[bool] = None
    """Used straight from its URL, never copied to secondary storage (KVM)."""
    deployasis: Optional[bool] = None
    """A VMware template deployed with the settings of its own OVF descriptor."""
    crosszones: Optional[bool] = None
    """Available in every zone (``crossZones``; registered with ``zoneids=-1``)."""
    extra: Dict[str, Any] = _dict_field()
    """Every other field, as sent."""


@dataclass(frozen=True)
class VirtualMachine(Result):
    """A virtual machine (deploy, list, start, stop, destroy). Other fields are in ``extra``."""

    _rest: ClassVar[Optional[str]] = "extra"

    id: str
    """The id, as a string."""
    name: Optional[str] = None
    """Name."""
    displayname: Optional[str] = None
    """Display name."""
    state: Optional[str] = None
    """``Running``, ``Stopped``, ``Destroyed``, ``Expunging``..."""
    zoneid: Optional[str] = None
    """Zone id."""
    templateid: Optional[str] = None
    """Template id."""
    serviceofferingid: Optional[str] = None
    """Service offering id."""
    password: Optional[str] = field(default=None, repr=False)
    """Generated password (templates with ``passwordenabled``); not shown by ``repr``."""
    created: Optional[str] = None
    """Creation time."""
    extra: Dict[str, Any] = _dict_field()
    """Every other field, as sent."""


@dataclass(frozen=True)
class AsyncJob(Result):
    """An async job (``query_async_job_result``, ``list_async_jobs``). Other fields, such as
    ``jobresult``, are in ``extra``."""

    _rest: ClassVar[Optional[str]] = "extra"

    jobid: Optional[str] = None
    """The job id."""
    jobstatus: Optional[int] = None
    """0 pending, 1 succeeded, 2 failed, 3 cancelled."""
    jobresultcode: Optional[int] = None
    """0, or the error code."""
    jobresulttype: Optional[str] = None
    """``object`` or ``text``."""
    jobinstancetype: Optional[str] = None
    """Resource type the job acts on."""
    jobinstanceid: Optional[str] = None
    """Resource id the job acts on."""
    cmd: Optional[str] = None
    """The Java command class."""
    created: Optional[str] = None
    """Creation time."""
    completed: Optional[str] = None
    """Completion time."""
    extra: Dict[str, Any] = _dict_field()
    """Every other field, as sent."""

    @property
    def jobresult(self) -> Any:
        """The raw ``jobresult`` (object or text), when present."""
        return self.extra.get("jobresult")


@dataclass(frozen=True)
class ExtractedTemplate(Result):
    """The result of ``extract_template``. Other fields are in ``extra``."""

    _keys: ClassVar[Mapping[str, str]] = {
        "extractId": "extract_id",
        "extractMode": "extract_mode",
    }
    _rest: ClassVar[Optional[str]] = "extra"

    id: Optional[str] = None
    """Template id."""
    name: Optional[str] = None
    """Template name."""
    url: Optional[str] = None
    """The download URL as sent (old servers write ``/`` as ``%2F``: use ``download_url``)."""
    download_url: Optional[str] = None
    """The usable download URL."""
    state: Optional[str] = None
    """``DOWNLOAD_URL_CREATED``..."""
    extract_id: Optional[str] = None
    """Extraction id (``extractId``)."""
    extract_mode: Optional[str] = None
    """``HTTP_DOWNLOAD`` (``extractMode``)."""
    zoneid: Optional[str] = None
    """Zone id."""
    status: Optional[str] = None
    """Status text."""
    extra: Dict[str, Any] = _dict_field()
    """Every other field, as sent."""


@dataclass(frozen=True)
class ApiParam(Result):
    """A parameter of an API (``list_apis``). Other fields are in ``extra``."""

    _keys: ClassVar[Mapping[str, str]] = {"type": "kind"}
    _rest: ClassVar[Optional[str]] = "extra"

    name: Optional[str] = None
    """Name."""
    kind: Optional[str] = None
    """Type (``string``, ``uuid``, ``boolean``...); ``"type"`` in ``to_dict()``."""
    required: Optional[bool] = None
    """Whether it is required."""
    description: Optional[str] = None
    """Description."""
    extra: Dict[str, Any] = _dict_field()
    """Every other field, as sent."""


@dataclass(frozen=True)
class ApiInfo(Result):
    """An API command (``list_apis``). Other fields are in ``extra``."""

    _rest: ClassVar[Optional[str]] = "extra"

    name: str
    """Command name."""
    description: Optional[str] = None
    """Description."""
    isasync: Optional[bool] = None
    """Whether the command runs as an async job."""
    params: Tuple[ApiParam, ...] = ()
    """Parameters."""
    extra: Dict[str, Any] = _dict_field()
    """Every other field, as sent."""


@dataclass(frozen=True)
class JobOutcome(Result):
    """A finished async job (``wait_job``)."""

    job_id: str
    """The job id."""
    status: str
    """``"succeeded"`` (failures raise ``AsyncJobError``)."""
    result: Any = field(hash=False)
    """The job's result: its object (a dict), its text, or None."""
    raw: Dict[str, Any] = _dict_field()
    """The whole ``queryAsyncJobResult`` answer."""


@dataclass(frozen=True)
class JobProgress(Result):
    """What a job-waiting ``progress`` callback gets after each poll."""

    job_id: str
    """The job id."""
    command: str
    """The command that started the job."""
    polls: int
    """Polls so far."""
    elapsed: float
    """Seconds since waiting started."""
    jobprocstatus: Optional[int]
    """The server's ``jobprocstatus``, when sent."""
    instance_id: Optional[str]
    """The resource the job acts on, when known."""
