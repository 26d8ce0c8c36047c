//! The typed, read-only view of a descriptor, built from the position-preserving tree.

use serde::Serialize;

use super::parse::{Node, Tree};
use super::units::bytes_per_unit;

/// Envelope namespace of VMware's pre-standard OVF 0.9.
pub const NS_OVF_0_9: &str = "http://www.vmware.com/schema/ovf/1/envelope";
/// Envelope namespace of DSP0243 1.x.
pub const NS_OVF_1: &str = "http://schemas.dmtf.org/ovf/envelope/1";
/// Envelope namespace of DSP0243 2.x.
pub const NS_OVF_2: &str = "http://schemas.dmtf.org/ovf/envelope/2";
/// VMware's extension namespace (`vmw:`).
pub const NS_VMW: &str = "http://www.vmware.com/schema/ovf";
/// XML Schema instance namespace (`xsi:type` of OVF 0.9 sections).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The OVF version, as told by the envelope namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum OvfVersion {
    /// VMware's pre-standard 0.9 (`http://www.vmware.com/schema/ovf/1/envelope`).
    #[serde(rename = "0.9")]
    V0_9,
    /// DSP0243 1.0/1.1 (`http://schemas.dmtf.org/ovf/envelope/1`).
    #[serde(rename = "1.x")]
    V1,
    /// DSP0243 2.0/2.1 (`http://schemas.dmtf.org/ovf/envelope/2`).
    #[serde(rename = "2.x")]
    V2,
}

impl OvfVersion {
    /// The version for an envelope namespace URI.
    pub fn from_namespace(uri: &str) -> Option<Self> {
        match uri {
            NS_OVF_0_9 => Some(Self::V0_9),
            NS_OVF_1 => Some(Self::V1),
            NS_OVF_2 => Some(Self::V2),
            _ => None,
        }
    }

    /// The envelope namespace URI of this version.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::V0_9 => NS_OVF_0_9,
            Self::V1 => NS_OVF_1,
            Self::V2 => NS_OVF_2,
        }
    }
}

/// A `References/File` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FileRef {
    /// `ovf:id`.
    pub id: String,
    /// `ovf:href`, the file's name in the package.
    pub href: String,
    /// `ovf:size` in bytes (the compressed size when `compression` is set).
    pub size: Option<u64>,
    /// `ovf:compression` (`gzip`, `bzip2`, `identity`), when present.
    pub compression: Option<String>,
    /// `ovf:chunkSize`: the file is stored as `href.000000000`, `href.000000001`, ...
    pub chunk_size: Option<u64>,
}

/// A `DiskSection/Disk` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Disk {
    /// `ovf:diskId`.
    pub disk_id: String,
    /// `ovf:fileRef`, the `References/File` id holding the image (`None` for a blank disk:
    /// the attribute is absent or empty).
    pub file_ref: Option<String>,
    /// `ovf:capacity` as written (a number, or a `${property}` reference).
    pub capacity: String,
    /// `ovf:capacityAllocationUnits` as written.
    pub capacity_units: Option<String>,
    /// The capacity in bytes, when both the number and the units parse.
    pub capacity_bytes: Option<u64>,
    /// `ovf:populatedSize` in bytes.
    pub populated_size: Option<u64>,
    /// `ovf:format` URI.
    pub format: Option<String>,
    /// `ovf:parentRef` (delta disks).
    pub parent_ref: Option<String>,
}

/// A `NetworkSection/Network` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Network {
    /// `ovf:name`.
    pub name: String,
    /// The `Description` child.
    pub description: Option<String>,
}

/// A `DeploymentOptionSection/Configuration` (a deployment profile such as "small").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeploymentOption {
    /// `ovf:id`, what items' and properties' `ovf:configuration` name.
    pub id: String,
    /// The `Label` child.
    pub label: Option<String>,
    /// The `Description` child.
    pub description: Option<String>,
    /// Whether this is the default (`ovf:default="true"`, or the first when none is marked).
    pub default: bool,
}

/// Which element an item was written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum ItemElement {
    /// `Item` (RASD).
    Item,
    /// `StorageItem` (SASD, OVF 2.x).
    StorageItem,
    /// `EthernetPortItem` (EPASD, OVF 2.x).
    EthernetPortItem,
}

/// What a `HostResource` points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HostResource {
    /// `ovf:/disk/<diskId>` (or the 0.9 form `/disk/<diskId>`).
    Disk(String),
    /// `ovf:/file/<fileId>`.
    File(String),
    /// Anything else, as written.
    Other(String),
}

impl HostResource {
    /// Classifies a `HostResource` text.
    pub fn parse(s: &str) -> Self {
        let t = s.trim();
        let rest = t
            .strip_prefix("ovf://")
            .or_else(|| t.strip_prefix("ovf:/"))
            .or_else(|| t.strip_prefix('/'));
        match rest {
            Some(r) => {
                if let Some(id) = r.strip_prefix("disk/") {
                    HostResource::Disk(id.to_string())
                } else if let Some(id) = r.strip_prefix("file/") {
                    HostResource::File(id.to_string())
                } else {
                    HostResource::Other(t.to_string())
                }
            }
            None => HostResource::Other(t.to_string()),
        }
    }
}

/// One virtual hardware item (RASD `Item`, `StorageItem` or `EthernetPortItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Item {
    /// The element it was written as.
    pub element: ItemElement,
    /// `InstanceID` (`InstanceId` in 0.9).
    pub instance_id: Option<String>,
    /// `ResourceType` (3 CPU, 4 memory, 5 IDE, 6 SCSI, 10 NIC, 17 disk, 20 other storage,
    /// 23 USB, ...).
    pub resource_type: Option<u32>,
    /// `ResourceSubType` (`lsilogic`, `VmxNet3`, `vmware.sata.ahci`, ...).
    pub resource_sub_type: Option<String>,
    /// `ElementName` (or `Caption` in 0.9).
    pub element_name: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `VirtualQuantity`.
    pub virtual_quantity: Option<u64>,
    /// `AllocationUnits` as written.
    pub allocation_units: Option<String>,
    /// `HostResource` values.
    pub host_resources: Vec<String>,
    /// `Parent` (the controller's `InstanceID`).
    pub parent: Option<String>,
    /// `Address`.
    pub address: Option<String>,
    /// `AddressOnParent`.
    pub address_on_parent: Option<String>,
    /// `Connection` values (network names).
    pub connections: Vec<String>,
    /// `ovf:configuration`: the deployment options this item applies to (empty: all).
    pub configurations: Vec<String>,
    /// `ovf:required` (default true).
    pub required: bool,
    /// `ovf:bound` (`min`, `max` or `normal`; absent means `normal`): items describing a
    /// range share one `InstanceID`, one item per bound (DSP0243 9.5).
    pub bound: Option<String>,
    #[serde(skip)]
    pub(crate) node: usize,
}

/// RASD resource types this crate gives names to.
pub mod resource_type {
    /// Processor.
    pub const CPU: u32 = 3;
    /// Memory.
    pub const MEMORY: u32 = 4;
    /// IDE controller.
    pub const IDE: u32 = 5;
    /// Parallel SCSI HBA.
    pub const SCSI: u32 = 6;
    /// Ethernet adapter.
    pub const ETHERNET: u32 = 10;
    /// Floppy drive.
    pub const FLOPPY: u32 = 14;
    /// CD drive.
    pub const CD: u32 = 15;
    /// DVD drive.
    pub const DVD: u32 = 16;
    /// Disk drive.
    pub const DISK: u32 = 17;
    /// Other storage device (SATA and NVMe controllers).
    pub const OTHER_STORAGE: u32 = 20;
    /// Serial port.
    pub const SERIAL: u32 = 21;
    /// USB controller.
    pub const USB: u32 = 23;
}

impl Item {
    /// Whether the item is a storage controller (IDE, SCSI, SATA, NVMe, ...).
    pub fn is_controller(&self) -> bool {
        matches!(
            self.resource_type,
            Some(resource_type::IDE | resource_type::SCSI | resource_type::OTHER_STORAGE)
        ) || matches!(self.resource_type, Some(7..=9 | 12))
    }

    /// Whether the item is a network adapter.
    pub fn is_nic(&self) -> bool {
        self.resource_type == Some(resource_type::ETHERNET)
    }

    /// Whether the item is a disk drive.
    pub fn is_disk(&self) -> bool {
        self.resource_type == Some(resource_type::DISK)
    }

    /// Whether the item applies to the deployment option `config` (`None`: the default,
    /// i.e. items without `ovf:configuration`).
    pub fn applies_to(&self, config: Option<&str>) -> bool {
        match config {
            None => self.configurations.is_empty(),
            Some(c) => self.configurations.is_empty() || self.configurations.iter().any(|x| x == c),
        }
    }
}

/// A `VirtualHardwareSection`.
///
/// Serializes with two computed fields, `cpus` and `memory_mib` (the default
/// configuration's values), beside the ones below.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualHardware {
    /// `ovf:id` (several sections may exist, one per platform).
    pub id: Option<String>,
    /// `ovf:transport` (space-separated list: `iso`, `com.vmware.guestInfo`).
    pub transport: Option<String>,
    /// `System/VirtualSystemType`, split on whitespace and commas.
    pub system_types: Vec<String>,
    /// The hardware items in document order.
    pub items: Vec<Item>,
    /// Whether the section has a `System` element.
    pub has_system: bool,
    /// Firmware from `vmw:Config vmw:key="firmware"` (`bios`, `efi`), when given.
    pub firmware: Option<String>,
    /// The deployment configuration the accessors ([`VirtualHardware::cpus`], ...) report:
    /// the descriptor's default `DeploymentOptionSection` configuration, if it has one.
    pub default_configuration: Option<String>,
    pub(crate) node: usize,
    pub(crate) system_type_node: Option<usize>,
}

impl Serialize for VirtualHardware {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            id: &'a Option<String>,
            transport: &'a Option<String>,
            system_types: &'a [String],
            cpus: Option<u64>,
            memory_mib: Option<u64>,
            firmware: &'a Option<String>,
            default_configuration: &'a Option<String>,
            has_system: bool,
            items: &'a [Item],
        }
        View {
            id: &self.id,
            transport: &self.transport,
            system_types: &self.system_types,
            cpus: self.cpus(),
            memory_mib: self.memory_mib(),
            firmware: &self.firmware,
            default_configuration: &self.default_configuration,
            has_system: self.has_system,
            items: &self.items,
        }
        .serialize(s)
    }
}

impl VirtualHardware {
    /// CPU count of the default configuration (`VirtualQuantity` of the ResourceType 3 item).
    pub fn cpus(&self) -> Option<u64> {
        self.default_item(resource_type::CPU)
            .and_then(|i| i.virtual_quantity)
    }

    /// Memory of the default configuration in MiB, converted from its `AllocationUnits`
    /// (absent units are taken as MiB, which is what every exporter means).
    pub fn memory_mib(&self) -> Option<u64> {
        let item = self.default_item(resource_type::MEMORY)?;
        let q = item.virtual_quantity?;
        let unit = match &item.allocation_units {
            Some(u) => bytes_per_unit(u).ok()?,
            None => 1 << 20,
        };
        q.checked_mul(unit).map(|b| b >> 20)
    }

    /// Storage controllers.
    pub fn controllers(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.is_controller())
    }

    /// Disk drives.
    pub fn disks(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.is_disk())
    }

    /// Network adapters.
    pub fn nics(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.is_nic())
    }

    fn default_item(&self, rt: u32) -> Option<&Item> {
        self.item_for(rt, self.default_configuration.as_deref())
    }

    /// The item of resource type `rt` that applies to deployment configuration `config`:
    /// one written for that configuration, else one without `ovf:configuration`, else the
    /// first of that type.
    pub fn item_for(&self, rt: u32, config: Option<&str>) -> Option<&Item> {
        let all: Vec<&Item> = self
            .items
            .iter()
            .filter(|i| i.resource_type == Some(rt))
            .collect();
        config
            .and_then(|c| all.iter().find(|i| i.configurations.iter().any(|x| x == c)))
            .or_else(|| all.iter().find(|i| i.configurations.is_empty()))
            .or(all.first())
            .copied()
    }
}

/// An `OperatingSystemSection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OperatingSystem {
    /// `ovf:id`, the CIM OS type number.
    pub id: Option<u32>,
    /// `ovf:version`.
    pub version: Option<String>,
    /// `vmw:osType`, the vSphere guest id.
    pub vmw_os_type: Option<String>,
    /// The `Description` child.
    pub description: Option<String>,
}

/// A `ProductSection/Property`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Property {
    /// `ovf:key`.
    pub key: String,
    /// `ovf:type` as written (`string`, `uint8`, `boolean`, ...).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `ovf:value`, the default value.
    pub value: Option<String>,
    /// `ovf:qualifiers` (`MinLen(1)`, `ValueMap{"a","b"}`, ...).
    pub qualifiers: Option<String>,
    /// `ovf:userConfigurable`.
    pub user_configurable: bool,
    /// `ovf:password`.
    pub password: bool,
    /// The `Label` child.
    pub label: Option<String>,
    /// The `Description` child.
    pub description: Option<String>,
    /// `ovf:configuration`: the deployment options this property applies to (empty: all).
    pub configurations: Vec<String>,
    /// Per-configuration values (`Value ovf:configuration=… ovf:value=…` children).
    pub configuration_values: Vec<ConfigurationValue>,
    #[serde(skip)]
    pub(crate) node: usize,
}

/// A property value for one deployment configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConfigurationValue {
    /// `ovf:configuration`.
    pub configuration: String,
    /// `ovf:value`.
    pub value: String,
}

/// A `ProductSection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProductSection {
    /// `ovf:class`.
    pub class: Option<String>,
    /// `ovf:instance`.
    pub instance: Option<String>,
    /// `Product`.
    pub product: Option<String>,
    /// `Vendor`.
    pub vendor: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `FullVersion`.
    pub full_version: Option<String>,
    /// The properties in document order (including those inside `Category` groups).
    pub properties: Vec<Property>,
}

/// A `VirtualSystem` (OVF 0.9: `Content xsi:type="ovf:VirtualSystem_Type"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VirtualSystem {
    /// `ovf:id`.
    pub id: String,
    /// The `Name` child (or an `ovf:name` attribute in old descriptors).
    pub name: Option<String>,
    /// The `Info` child.
    pub info: Option<String>,
    /// The `VirtualHardwareSection`s.
    pub hardware: Vec<VirtualHardware>,
    /// The `OperatingSystemSection`.
    pub operating_system: Option<OperatingSystem>,
    /// The `ProductSection`s.
    pub products: Vec<ProductSection>,
    /// `EulaSection/License` texts.
    pub eulas: Vec<String>,
    /// `AnnotationSection/Annotation`.
    pub annotation: Option<String>,
    #[serde(skip)]
    pub(crate) node: usize,
}

/// A `VirtualSystemCollection` (a vApp), which holds systems and collections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VirtualSystemCollection {
    /// `ovf:id`.
    pub id: String,
    /// The `Name` child.
    pub name: Option<String>,
    /// The `Info` child.
    pub info: Option<String>,
    /// The `ProductSection`s.
    pub products: Vec<ProductSection>,
    /// `EulaSection/License` texts.
    pub eulas: Vec<String>,
    /// `AnnotationSection/Annotation`.
    pub annotation: Option<String>,
    /// What the collection holds, in document order.
    pub content: Vec<Content>,
}

/// The descriptor's content: one system or a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Content {
    /// A `VirtualSystem`.
    System(VirtualSystem),
    /// A `VirtualSystemCollection`.
    Collection(VirtualSystemCollection),
}

/// A problem noticed while building the model (an attribute that is not a number, units
/// that do not parse, ...). The validation engine turns these into findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ModelIssue {
    /// Stable kebab-case code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Everything the builder extracts from a tree.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub(crate) references: Vec<FileRef>,
    pub(crate) disks: Vec<Disk>,
    pub(crate) networks: Vec<Network>,
    pub(crate) deployment_options: Vec<DeploymentOption>,
    pub(crate) content: Option<Content>,
    pub(crate) issues: Vec<ModelIssue>,
}

struct Builder<'t> {
    tree: &'t Tree,
    ns: &'static str,
    issues: Vec<ModelIssue>,
    default_configuration: Option<String>,
}

/// The section kind of an element: its local name, or for `Section`/`Content` elements (OVF
/// 0.9 style) the `xsi:type` without prefix and `_Type` suffix.
///
/// Elements in the envelope's namespace count, and so do unqualified ones (no namespace at
/// all): VMware's OVF 0.9 exporters wrote `<ovf:Envelope>` around unprefixed `<References>`,
/// `<Section>` and `<Content>` with no default namespace (govmomi's vSphere import fixtures
/// carry such descriptors).
pub(crate) fn kind_of<'a>(node: &'a Node, ovf_ns: &str) -> Option<&'a str> {
    if node.ns.as_deref().is_some_and(|ns| ns != ovf_ns) {
        return None;
    }
    if node.local == "Section" || node.local == "Content" {
        let t = node.attr_ns(NS_XSI, "type")?;
        let v = t.value.as_str();
        let v = v.rsplit(':').next().unwrap_or(v);
        return Some(v.strip_suffix("_Type").unwrap_or(v));
    }
    Some(node.local.as_str())
}

impl Builder<'_> {
    fn kind(&self, i: usize) -> Option<&str> {
        kind_of(self.tree.node(i), self.ns)
    }

    fn attr(&self, i: usize, local: &str) -> Option<String> {
        self.tree
            .node(i)
            .attr_ns(self.ns, local)
            .map(|a| a.value.clone())
    }

    fn number(&mut self, i: usize, local: &str, what: &str) -> Option<u64> {
        let v = self.attr(i, local)?;
        match v.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.issues.push(ModelIssue {
                    code: "not-a-number",
                    message: format!("{what} ovf:{local}=\"{v}\" is not a whole number"),
                });
                None
            }
        }
    }

    /// Text of the first child of `i` with this local name (any namespace), trimmed.
    fn child_text(&self, i: usize, local: &str) -> Option<String> {
        self.child(i, local)
            .map(|c| self.tree.node(c).text.trim().to_string())
    }

    fn child(&self, i: usize, local: &str) -> Option<usize> {
        self.tree
            .children(i)
            .find(|&c| self.tree.node(c).local.eq_ignore_ascii_case(local))
    }

    fn build(mut self) -> Model {
        let root = 0;
        let mut m = Model {
            references: Vec::new(),
            disks: Vec::new(),
            networks: Vec::new(),
            deployment_options: Vec::new(),
            content: None,
            issues: Vec::new(),
        };
        let children: Vec<usize> = self.tree.children(root).collect();
        // Deployment options first: the hardware accessors need the default.
        for &c in &children {
            if self.kind(c) == Some("DeploymentOptionSection") {
                for o in self.tree.children(c) {
                    if self.kind(o) == Some("Configuration") {
                        m.deployment_options.push(DeploymentOption {
                            id: self.attr(o, "id").unwrap_or_default(),
                            label: self.child_text(o, "Label"),
                            description: self.child_text(o, "Description"),
                            default: self
                                .attr(o, "default")
                                .is_some_and(|v| matches!(v.trim(), "true" | "1")),
                        });
                    }
                }
            }
        }
        if !m.deployment_options.iter().any(|o| o.default)
            && let Some(first) = m.deployment_options.first_mut()
        {
            first.default = true;
        }
        self.default_configuration = m
            .deployment_options
            .iter()
            .find(|o| o.default)
            .map(|o| o.id.clone());
        for c in children {
            match self.kind(c) {
                Some("References") => {
                    let files: Vec<usize> = self.tree.children(c).collect();
                    for f in files {
                        if self.kind(f) == Some("File") {
                            let r = self.file(f);
                            m.references.push(r);
                        }
                    }
                }
                Some("DiskSection") => {
                    let disks: Vec<usize> = self.tree.children(c).collect();
                    for d in disks {
                        if self.kind(d) == Some("Disk") {
                            let disk = self.disk(d);
                            m.disks.push(disk);
                        }
                    }
                }
                Some("NetworkSection") => {
                    for n in self.tree.children(c) {
                        if self.kind(n) == Some("Network") {
                            m.networks.push(Network {
                                name: self.attr(n, "name").unwrap_or_default(),
                                description: self.child_text(n, "Description"),
                            });
                        }
                    }
                }
                Some("VirtualSystem") if m.content.is_none() => {
                    m.content = Some(Content::System(self.system(c)));
                }
                Some("VirtualSystemCollection") if m.content.is_none() => {
                    m.content = Some(Content::Collection(self.collection(c)));
                }
                _ => {}
            }
        }
        m.issues = self.issues;
        m
    }

    fn file(&mut self, f: usize) -> FileRef {
        FileRef {
            id: self.attr(f, "id").unwrap_or_default(),
            href: self.attr(f, "href").unwrap_or_default(),
            size: self.number(f, "size", "File"),
            compression: self.attr(f, "compression"),
            chunk_size: self.number(f, "chunkSize", "File"),
        }
    }

    fn disk(&mut self, d: usize) -> Disk {
        let disk_id = self.attr(d, "diskId").unwrap_or_default();
        let capacity = self.attr(d, "capacity").unwrap_or_default();
        let capacity_units = self.attr(d, "capacityAllocationUnits");
        let unit = match &capacity_units {
            None => Some(1),
            Some(u) => match bytes_per_unit(u) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.issues.push(ModelIssue {
                        code: "capacity-units-unparseable",
                        message: format!(
                            "disk {disk_id}: ovf:capacityAllocationUnits=\"{u}\" cannot be read ({e})"
                        ),
                    });
                    None
                }
            },
        };
        let cap_trim = capacity.trim();
        let number = if cap_trim.starts_with("${") {
            None
        } else {
            match cap_trim.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    self.issues.push(ModelIssue {
                        code: "not-a-number",
                        message: format!(
                            "disk {disk_id}: ovf:capacity=\"{capacity}\" is not a whole number"
                        ),
                    });
                    None
                }
            }
        };
        let capacity_bytes = match (number, unit) {
            (Some(n), Some(u)) => {
                let b = n.checked_mul(u);
                if b.is_none() {
                    self.issues.push(ModelIssue {
                        code: "capacity-overflow",
                        message: format!("disk {disk_id}: capacity does not fit in 64 bits"),
                    });
                }
                b
            }
            _ => None,
        };
        Disk {
            // An empty reference is a blank disk, as an absent one is (VMware 9.1 appliances
            // ship `ovf:fileRef=""`).
            file_ref: self.attr(d, "fileRef").filter(|r| !r.trim().is_empty()),
            capacity,
            capacity_units,
            capacity_bytes,
            populated_size: self.number(d, "populatedSize", "Disk"),
            format: self.attr(d, "format"),
            parent_ref: self.attr(d, "parentRef"),
            disk_id,
        }
    }

    fn common_sections(
        &mut self,
        i: usize,
        products: &mut Vec<ProductSection>,
        eulas: &mut Vec<String>,
        annotation: &mut Option<String>,
    ) {
        let children: Vec<usize> = self.tree.children(i).collect();
        for c in children {
            match self.kind(c) {
                Some("ProductSection") => {
                    let p = self.product(c);
                    products.push(p);
                }
                Some("EulaSection") => {
                    if let Some(t) = self.child_text(c, "License") {
                        eulas.push(t);
                    }
                }
                Some("AnnotationSection") => {
                    *annotation = self.child_text(c, "Annotation");
                }
                _ => {}
            }
        }
    }

    fn name_of(&self, i: usize) -> Option<String> {
        self.tree
            .children(i)
            .find(|&c| self.kind(c) == Some("Name"))
            .map(|c| self.tree.node(c).text.trim().to_string())
            .or_else(|| self.attr(i, "name"))
    }

    fn info_of(&self, i: usize) -> Option<String> {
        self.tree
            .children(i)
            .find(|&c| self.kind(c) == Some("Info"))
            .map(|c| self.tree.node(c).text.trim().to_string())
    }

    fn collection(&mut self, i: usize) -> VirtualSystemCollection {
        let mut vsc = VirtualSystemCollection {
            id: self.attr(i, "id").unwrap_or_default(),
            name: self.name_of(i),
            info: self.info_of(i),
            products: Vec::new(),
            eulas: Vec::new(),
            annotation: None,
            content: Vec::new(),
        };
        self.common_sections(i, &mut vsc.products, &mut vsc.eulas, &mut vsc.annotation);
        let children: Vec<usize> = self.tree.children(i).collect();
        for c in children {
            match self.kind(c) {
                Some("VirtualSystem") => {
                    let s = self.system(c);
                    vsc.content.push(Content::System(s));
                }
                Some("VirtualSystemCollection") => {
                    let s = self.collection(c);
                    vsc.content.push(Content::Collection(s));
                }
                _ => {}
            }
        }
        vsc
    }

    fn system(&mut self, i: usize) -> VirtualSystem {
        let mut vs = VirtualSystem {
            id: self.attr(i, "id").unwrap_or_default(),
            name: self.name_of(i),
            info: self.info_of(i),
            hardware: Vec::new(),
            operating_system: None,
            products: Vec::new(),
            eulas: Vec::new(),
            annotation: None,
            node: i,
        };
        self.common_sections(i, &mut vs.products, &mut vs.eulas, &mut vs.annotation);
        let children: Vec<usize> = self.tree.children(i).collect();
        for c in children {
            match self.kind(c) {
                Some("VirtualHardwareSection") => {
                    let h = self.hardware(c);
                    vs.hardware.push(h);
                }
                Some("OperatingSystemSection") => {
                    let node = self.tree.node(c);
                    vs.operating_system = Some(OperatingSystem {
                        id: self.attr(c, "id").and_then(|v| v.trim().parse().ok()),
                        version: self.attr(c, "version"),
                        vmw_os_type: node.attr_ns(NS_VMW, "osType").map(|a| a.value.clone()),
                        description: self.child_text(c, "Description"),
                    });
                }
                _ => {}
            }
        }
        vs
    }

    fn hardware(&mut self, h: usize) -> VirtualHardware {
        let mut vh = VirtualHardware {
            id: self.attr(h, "id"),
            transport: self.attr(h, "transport"),
            system_types: Vec::new(),
            items: Vec::new(),
            has_system: false,
            firmware: None,
            default_configuration: self.default_configuration.clone(),
            node: h,
            system_type_node: None,
        };
        let children: Vec<usize> = self.tree.children(h).collect();
        for c in children {
            match self.kind(c) {
                Some("System") => {
                    vh.has_system = true;
                    if let Some(t) = self.child(c, "VirtualSystemType") {
                        vh.system_type_node = Some(t);
                        vh.system_types = split_system_types(&self.tree.node(t).text);
                    }
                }
                _ if self.tree.node(c).ns.as_deref() == Some(NS_VMW)
                    && self.tree.node(c).local == "Config" =>
                {
                    let n = self.tree.node(c);
                    if n.attr_ns(NS_VMW, "key")
                        .is_some_and(|k| k.value == "firmware")
                    {
                        vh.firmware = n.attr_ns(NS_VMW, "value").map(|v| v.value.clone());
                    }
                }
                Some("Item") => vh.items.push(self.item(c, ItemElement::Item)),
                Some("StorageItem") => vh.items.push(self.item(c, ItemElement::StorageItem)),
                Some("EthernetPortItem") => {
                    vh.items.push(self.item(c, ItemElement::EthernetPortItem))
                }
                _ => {}
            }
        }
        vh
    }

    fn item(&mut self, i: usize, element: ItemElement) -> Item {
        let mut item = Item {
            element,
            instance_id: None,
            resource_type: None,
            resource_sub_type: None,
            element_name: None,
            description: None,
            virtual_quantity: None,
            allocation_units: None,
            host_resources: Vec::new(),
            parent: None,
            address: None,
            address_on_parent: None,
            connections: Vec::new(),
            configurations: self
                .attr(i, "configuration")
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            required: self
                .attr(i, "required")
                .is_none_or(|v| !matches!(v.trim(), "false" | "0")),
            bound: self.attr(i, "bound").map(|v| v.trim().to_string()),
            node: i,
        };
        let mut caption = None;
        for c in self.tree.children(i) {
            let n = self.tree.node(c);
            if n.ns.as_deref() == Some(NS_VMW) {
                continue;
            }
            let text = n.text.trim().to_string();
            match n.local.to_ascii_lowercase().as_str() {
                "instanceid" => item.instance_id = Some(text),
                "resourcetype" => item.resource_type = text.parse().ok(),
                "resourcesubtype" => item.resource_sub_type = Some(text),
                "elementname" => item.element_name = Some(text),
                "caption" => caption = Some(text),
                "description" => item.description = Some(text),
                "virtualquantity" => item.virtual_quantity = text.parse().ok(),
                "allocationunits" => item.allocation_units = Some(text),
                "hostresource" => item.host_resources.push(text),
                "parent" => item.parent = Some(text),
                "address" => item.address = Some(text),
                "addressonparent" => item.address_on_parent = Some(text),
                "connection" => item.connections.push(text),
                _ => {}
            }
        }
        if item.element_name.is_none() {
            item.element_name = caption;
        }
        item
    }

    fn product(&mut self, p: usize) -> ProductSection {
        let mut ps = ProductSection {
            class: self.attr(p, "class"),
            instance: self.attr(p, "instance"),
            product: self.child_text(p, "Product"),
            vendor: self.child_text(p, "Vendor"),
            version: self.child_text(p, "Version"),
            full_version: self.child_text(p, "FullVersion"),
            properties: Vec::new(),
        };
        for c in self.tree.children(p) {
            if self.kind(c) == Some("Property") {
                let b = |v: Option<String>| v.is_some_and(|v| matches!(v.trim(), "true" | "1"));
                ps.properties.push(Property {
                    key: self.attr(c, "key").unwrap_or_default(),
                    kind: self.attr(c, "type"),
                    value: self.attr(c, "value"),
                    qualifiers: self.attr(c, "qualifiers"),
                    user_configurable: b(self.attr(c, "userConfigurable")),
                    password: b(self.attr(c, "password")),
                    label: self.child_text(c, "Label"),
                    description: self.child_text(c, "Description"),
                    configurations: self
                        .attr(c, "configuration")
                        .map(|v| v.split_whitespace().map(str::to_string).collect())
                        .unwrap_or_default(),
                    configuration_values: self
                        .tree
                        .children(c)
                        .filter(|&v| self.kind(v) == Some("Value"))
                        .map(|v| ConfigurationValue {
                            configuration: self.attr(v, "configuration").unwrap_or_default(),
                            value: self.attr(v, "value").unwrap_or_default(),
                        })
                        .collect(),
                    node: c,
                });
            }
        }
        ps
    }
}

/// Splits a `VirtualSystemType` text into families (whitespace- or comma-separated).
pub fn split_system_types(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn build(tree: &Tree, version: OvfVersion) -> Model {
    Builder {
        tree,
        ns: version.namespace(),
        issues: Vec::new(),
        default_configuration: None,
    }
    .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_resource_forms() {
        assert_eq!(
            HostResource::parse("ovf:/disk/vmdisk1"),
            HostResource::Disk("vmdisk1".into())
        );
        assert_eq!(
            HostResource::parse(" /disk/vmdisk1 "),
            HostResource::Disk("vmdisk1".into())
        );
        assert_eq!(
            HostResource::parse("ovf:/file/file2"),
            HostResource::File("file2".into())
        );
        assert_eq!(
            HostResource::parse("nonexistent.vmdk"),
            HostResource::Other("nonexistent.vmdk".into())
        );
    }

    #[test]
    fn properties_with_configurations() {
        let xml = br#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
<DeploymentOptionSection><Info/><Configuration ovf:id="a"/><Configuration ovf:id="b"/></DeploymentOptionSection>
<VirtualSystem ovf:id="vm"><Info/><ProductSection ovf:class="c" ovf:instance="1"><Info/>
<Property ovf:key="k" ovf:type="string" ovf:value="d" ovf:configuration="a b"><Value ovf:configuration="b" ovf:value="vb"/></Property>
</ProductSection></VirtualSystem></Envelope>"#;
        let d = crate::ovf::Descriptor::parse(xml).unwrap();
        assert_eq!(
            d.deployment_options()
                .iter()
                .map(|o| (o.id.as_str(), o.default))
                .collect::<Vec<_>>(),
            [("a", true), ("b", false)]
        );
        let (owner, p) = d.product_sections()[0];
        assert_eq!(
            (owner, p.class.as_deref(), p.instance.as_deref()),
            ("vm", Some("c"), Some("1"))
        );
        let prop = &p.properties[0];
        assert_eq!(prop.configurations, ["a", "b"]);
        assert_eq!(
            prop.configuration_values,
            [ConfigurationValue {
                configuration: "b".into(),
                value: "vb".into()
            }]
        );
    }

    #[test]
    fn system_type_lists() {
        assert_eq!(
            split_system_types(" vmx-10,vmx-11  Cisco:Internal:VMCloud-01\n"),
            ["vmx-10", "vmx-11", "Cisco:Internal:VMCloud-01"]
        );
    }
}
