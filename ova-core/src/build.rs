//! Build a complete OVA from a raw disk image (or an existing stream-optimized VMDK).
//!
//! The package is written in DSP0243 order — descriptor, manifest, certificate, disk — as
//! strict USTAR, in one pass over the disk: the descriptor, manifest and certificate entries are
//! reserved at their final size first (their content depends on the disk's size and digest),
//! the disk is converted straight into the archive with its digest computed as it is written,
//! its tar header is written once its size is known, and the three reserved entries are filled
//! in last. The output is a temporary file beside the target, renamed into place on success.
//!
//! ```no_run
//! use ova_core::build::{BuildOptions, DiskController, build_ova};
//! let options = BuildOptions::builder("appliance")
//!     .with_os_type("ubuntu64Guest")
//!     .with_cpus(2)
//!     .with_memory_mb(4096)
//!     .with_disk_controller(DiskController::Scsi)
//!     .with_product("Appliance", "1.2.3")
//!     .with_property("hostname", "appliance")
//!     .build()?;
//! let report = build_ova("disk.raw", "appliance.ova", &options, &mut ova_core::no_progress)?;
//! println!("{} bytes", report.bytes);
//! # Ok::<(), ova_core::Error>(())
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use crate::manifest::{self, Algorithm};
use crate::progress::Progress;
use crate::sign::{self, SigningKey};
use crate::tar::{BLOCK, LargeSize};
use crate::vmdk::{self, AdapterType, DiskKind, VmdkWriter};
use crate::write::OvaWriter;
use crate::{Error, Result};

fn build_err(reason: impl Into<String>) -> Error {
    Error::Build {
        reason: reason.into(),
    }
}

/// The disk controller the disk hangs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DiskController {
    /// LSI Logic parallel SCSI (the default; every ESXi version).
    #[default]
    Scsi,
    /// IDE.
    Ide,
    /// SATA AHCI (hardware version 10 and later).
    Sata,
    /// NVMe (hardware version 13 and later).
    Nvme,
}

impl std::str::FromStr for DiskController {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "scsi" | "lsilogic" => Ok(Self::Scsi),
            "ide" => Ok(Self::Ide),
            "sata" => Ok(Self::Sata),
            "nvme" => Ok(Self::Nvme),
            _ => Err(format!(
                "unknown disk controller {s:?} (scsi, ide, sata or nvme)"
            )),
        }
    }
}

impl DiskController {
    /// `(ResourceType, ResourceSubType, description)` of the controller item.
    fn rasd(self) -> (u32, Option<&'static str>, &'static str) {
        match self {
            Self::Scsi => (6, Some("lsilogic"), "SCSI Controller"),
            Self::Ide => (5, None, "IDE Controller"),
            Self::Sata => (20, Some("vmware.sata.ahci"), "SATA Controller"),
            Self::Nvme => (20, Some("vmware.nvme.controller"), "NVMe Controller"),
        }
    }

    fn adapter(self) -> AdapterType {
        if self == Self::Ide {
            AdapterType::Ide
        } else {
            AdapterType::LsiLogic
        }
    }
}

/// The CIM operating-system id (`OperatingSystemSection ovf:id`) for a vSphere guest id, as
/// the mapping in govmomi's `ovf/cim.go` has it; unknown ids map to "Other" (1, or 102 for a
/// 64-bit guest).
pub fn cim_os_id(os_type: &str) -> u32 {
    let t = os_type.to_ascii_lowercase();
    let is64 = t.contains("64");
    let pick = |a: u32, b: u32| if is64 { b } else { a };
    if t.starts_with("ubuntu") {
        pick(93, 94)
    } else if t.starts_with("debian") {
        pick(95, 96)
    } else if t.starts_with("rhel") {
        pick(79, 80)
    } else if t.starts_with("centos") {
        pick(106, 107)
    } else if t.starts_with("oraclelinux") {
        pick(108, 109)
    } else if t.starts_with("other24xlinux") {
        pick(97, 98)
    } else if t.starts_with("other26xlinux") {
        pick(99, 100)
    } else if t.contains("linux") {
        pick(36, 101)
    } else if t.starts_with("vmkernel") {
        104
    } else if t.starts_with("windows7server") {
        103
    } else if t.starts_with("windows7") {
        105
    } else if t.starts_with("windows8server") {
        112
    } else {
        pick(1, 102)
    }
}

/// Everything [`build_ova`] needs besides the disk. Build one with [`BuildOptions::builder`].
#[derive(Debug)]
pub struct BuildOptions {
    name: String,
    os_type: String,
    cpus: u32,
    memory_mb: u64,
    network: String,
    virtual_system_type: String,
    controller: DiskController,
    product: Option<(String, String)>,
    vendor: Option<String>,
    properties: Vec<(String, String)>,
    manifest: Option<Algorithm>,
    signing: Option<SigningKey>,
    level: i32,
    mtime: u64,
    allow_incompatible_hardware: bool,
}

/// Builder for [`BuildOptions`]; consuming `with_*` setters and a validating
/// [`build`](Self::build).
#[derive(Debug)]
pub struct BuildOptionsBuilder {
    inner: BuildOptions,
}

impl BuildOptions {
    /// Starts options for a virtual machine called `name` (also the base of the file names in
    /// the package). Defaults: `otherGuest64`, 2 CPUs, 2048 MiB, network `VM Network`,
    /// `vmx-13`, SCSI, a SHA-256 manifest, no signature, compression level 5.
    pub fn builder(name: impl Into<String>) -> BuildOptionsBuilder {
        BuildOptionsBuilder {
            inner: Self {
                name: name.into(),
                os_type: "otherGuest64".into(),
                cpus: 2,
                memory_mb: 2048,
                network: "VM Network".into(),
                virtual_system_type: "vmx-13".into(),
                controller: DiskController::Scsi,
                product: None,
                vendor: None,
                properties: Vec::new(),
                manifest: Some(Algorithm::Sha256),
                signing: None,
                level: VmdkWriter::DEFAULT_LEVEL,
                mtime: 0,
                allow_incompatible_hardware: false,
            },
        }
    }

    /// The descriptor entry's name.
    pub fn descriptor_name(&self) -> String {
        format!("{}.ovf", self.name)
    }

    /// The disk entry's name.
    pub fn disk_name(&self) -> String {
        format!("{}-disk1.vmdk", self.name)
    }
}

impl BuildOptionsBuilder {
    /// vSphere guest id (`vmw:osType`), such as `ubuntu64Guest`.
    pub fn with_os_type(mut self, os_type: impl Into<String>) -> Self {
        self.inner.os_type = os_type.into();
        self
    }
    /// Number of virtual CPUs.
    pub fn with_cpus(mut self, cpus: u32) -> Self {
        self.inner.cpus = cpus;
        self
    }
    /// Memory in MiB.
    pub fn with_memory_mb(mut self, mb: u64) -> Self {
        self.inner.memory_mb = mb;
        self
    }
    /// Name of the logical network the NIC connects to.
    pub fn with_network(mut self, network: impl Into<String>) -> Self {
        self.inner.network = network.into();
        self
    }
    /// Virtual hardware family (`vmx-13`).
    pub fn with_virtual_system_type(mut self, vst: impl Into<String>) -> Self {
        self.inner.virtual_system_type = vst.into();
        self
    }
    /// Builds even when the virtual system type cannot carry the chosen hardware (an NVMe
    /// controller at `vmx-07`), as ovftool's `--lax` does; the package's own validation then
    /// reports it.
    pub fn with_allow_incompatible_hardware(mut self, allow: bool) -> Self {
        self.inner.allow_incompatible_hardware = allow;
        self
    }
    /// The disk controller.
    pub fn with_disk_controller(mut self, c: DiskController) -> Self {
        self.inner.controller = c;
        self
    }
    /// Adds a ProductSection with this product name and version.
    pub fn with_product(mut self, product: impl Into<String>, version: impl Into<String>) -> Self {
        self.inner.product = Some((product.into(), version.into()));
        self
    }
    /// The ProductSection's vendor.
    pub fn with_vendor(mut self, vendor: impl Into<String>) -> Self {
        self.inner.vendor = Some(vendor.into());
        self
    }
    /// Adds a user-configurable string property (creates the ProductSection if needed).
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.properties.push((key.into(), value.into()));
        self
    }
    /// The manifest digest (`None`: no manifest, allowed only without signing).
    pub fn with_manifest(mut self, alg: Option<Algorithm>) -> Self {
        self.inner.manifest = alg;
        self
    }
    /// Signs the manifest with this key (a SHA-256 manifest is written if none was chosen).
    pub fn with_signing_key(mut self, key: SigningKey) -> Self {
        self.inner.signing = Some(key);
        self
    }
    /// Deflate level of the disk conversion (1–12).
    pub fn with_compression_level(mut self, level: i32) -> Self {
        self.inner.level = level;
        self
    }
    /// Modification time of the tar entries (seconds since the epoch; default 0).
    pub fn with_mtime(mut self, mtime: u64) -> Self {
        self.inner.mtime = mtime;
        self
    }

    /// Checks the options.
    ///
    /// # Errors
    ///
    /// [`Error::Build`] for a name that cannot be a file name in a strict USTAR archive, zero
    /// CPUs or memory, an empty OS type or network, a virtual system type that names no
    /// hardware family or cannot carry the disk controller, a text XML cannot carry, or a
    /// property with an empty or duplicate key.
    pub fn build(mut self) -> Result<BuildOptions> {
        let o = &mut self.inner;
        let name_ok = !o.name.is_empty()
            && o.name.len() <= 80
            && o.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
            && !o.name.starts_with('.');
        if !name_ok {
            return Err(build_err(format!(
                "name {:?} must be 1-80 ascii letters, digits or -_.+ (it names the files)",
                o.name
            )));
        }
        if o.cpus == 0 || o.memory_mb == 0 {
            return Err(build_err("cpus and memory must be at least 1"));
        }
        for (what, v) in [
            ("os type", &o.os_type),
            ("network", &o.network),
            ("virtual system type", &o.virtual_system_type),
        ] {
            if v.trim().is_empty() {
                return Err(build_err(format!("{what} must not be empty")));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &o.properties {
            if k.is_empty() || !seen.insert(k.clone()) {
                return Err(build_err(format!(
                    "property key {k:?} is empty or repeated"
                )));
            }
        }
        let texts = [&o.name, &o.os_type, &o.network, &o.virtual_system_type]
            .into_iter()
            .chain(o.product.iter().flat_map(|(p, v)| [p, v]))
            .chain(o.vendor.iter())
            .chain(o.properties.iter().flat_map(|(k, v)| [k, v]));
        for t in texts {
            if let Some(c) = t.chars().find(|&c| !crate::ovf::is_xml_char(c)) {
                return Err(build_err(format!(
                    "{t:?} holds U+{:04X}, which XML cannot carry",
                    c as u32
                )));
            }
        }
        crate::ovf::compat::check_system_type(&o.virtual_system_type)
            .map_err(|why| build_err(format!("virtual system type: {why}")))?;
        if !o.allow_incompatible_hardware {
            let facts = DiskFacts {
                file_size: 0,
                capacity: 1 << 30,
                populated: 0,
            };
            let d = crate::ovf::Descriptor::parse(render_descriptor(o, &facts).as_bytes())?;
            let problems: Vec<String> = d
                .systems()
                .into_iter()
                .flat_map(crate::ovf::compat::check_hardware)
                .filter(|p| p.severity == crate::finding::Severity::Error)
                .map(|p| p.message)
                .collect();
            if !problems.is_empty() {
                return Err(build_err(format!(
                    "{}; choose a later virtual system type or another controller, or allow incompatible hardware (--force)",
                    problems.join("; ")
                )));
            }
        }
        if o.signing.is_some() && o.manifest.is_none() {
            o.manifest = Some(Algorithm::Sha256);
        }
        Ok(self.inner)
    }
}

/// Facts about the disk file that the descriptor states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskFacts {
    /// Size of the VMDK file in bytes.
    pub file_size: u64,
    /// Virtual capacity in bytes.
    pub capacity: u64,
    /// Bytes of the capacity that hold data.
    pub populated: u64,
}

/// Escapes text for XML content and attribute values (double-quoted): the markup
/// characters, and tab, newline and carriage return as character references (`&#9;`,
/// `&#10;`, `&#13;`), since an XML parser turns them into spaces inside an attribute value.
/// The same escaper the descriptor edits use. Characters XML cannot carry at all are refused
/// by [`BuildOptionsBuilder::build`] before anything is rendered.
pub fn xml_escape(s: &str) -> String {
    crate::ovf::escape_attr(s, b'"').replace('\'', "&apos;")
}

/// Renders the OVF 1.0 descriptor for `options` and a disk with `disk` facts.
pub fn render_descriptor(options: &BuildOptions, disk: &DiskFacts) -> String {
    let o = options;
    let e = xml_escape;
    let name = e(&o.name);
    let net = e(&o.network);
    let (rtype, subtype, ctl_desc) = o.controller.rasd();
    let mut x = String::with_capacity(4096);
    x.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\" ",
        "xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\" ",
        "xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\" ",
        "xmlns:rasd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData\" ",
        "xmlns:vmw=\"http://www.vmware.com/schema/ovf\" ",
        "xmlns:vssd=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData\" ",
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
    ));
    x.push_str(&format!(
        "  <References>\n    <File ovf:href=\"{}\" ovf:id=\"file1\" ovf:size=\"{}\"/>\n  </References>\n",
        e(&o.disk_name()),
        disk.file_size
    ));
    x.push_str(&format!(
        "  <DiskSection>\n    <Info>Virtual disk information</Info>\n    <Disk ovf:capacity=\"{}\" \
         ovf:capacityAllocationUnits=\"byte\" ovf:diskId=\"vmdisk1\" ovf:fileRef=\"file1\" \
         ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\" \
         ovf:populatedSize=\"{}\"/>\n  </DiskSection>\n",
        disk.capacity, disk.populated
    ));
    x.push_str(&format!(
        "  <NetworkSection>\n    <Info>The list of logical networks</Info>\n    <Network ovf:name=\"{net}\">\n      \
         <Description>The {net} network</Description>\n    </Network>\n  </NetworkSection>\n"
    ));
    x.push_str(&format!(
        "  <VirtualSystem ovf:id=\"{name}\">\n    <Info>A virtual machine</Info>\n    <Name>{name}</Name>\n    \
         <OperatingSystemSection ovf:id=\"{}\" vmw:osType=\"{}\">\n      \
         <Info>The kind of installed guest operating system</Info>\n    </OperatingSystemSection>\n",
        cim_os_id(&o.os_type),
        e(&o.os_type)
    ));
    x.push_str(&format!(
        "    <VirtualHardwareSection>\n      <Info>Virtual hardware requirements</Info>\n      <System>\n        \
         <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>\n        <vssd:InstanceID>0</vssd:InstanceID>\n        \
         <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>\n        \
         <vssd:VirtualSystemType>{}</vssd:VirtualSystemType>\n      </System>\n",
        e(&o.virtual_system_type)
    ));
    let item = |lines: &[String]| {
        let mut s = String::from("      <Item>\n");
        for l in lines {
            s.push_str("        ");
            s.push_str(l);
            s.push('\n');
        }
        s.push_str("      </Item>\n");
        s
    };
    x.push_str(&item(&[
        "<rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>".into(),
        "<rasd:Description>Number of Virtual CPUs</rasd:Description>".into(),
        format!(
            "<rasd:ElementName>{} virtual CPU(s)</rasd:ElementName>",
            o.cpus
        ),
        "<rasd:InstanceID>1</rasd:InstanceID>".into(),
        "<rasd:ResourceType>3</rasd:ResourceType>".into(),
        format!("<rasd:VirtualQuantity>{}</rasd:VirtualQuantity>", o.cpus),
    ]));
    x.push_str(&item(&[
        "<rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>".into(),
        "<rasd:Description>Memory Size</rasd:Description>".into(),
        format!(
            "<rasd:ElementName>{}MB of memory</rasd:ElementName>",
            o.memory_mb
        ),
        "<rasd:InstanceID>2</rasd:InstanceID>".into(),
        "<rasd:ResourceType>4</rasd:ResourceType>".into(),
        format!(
            "<rasd:VirtualQuantity>{}</rasd:VirtualQuantity>",
            o.memory_mb
        ),
    ]));
    let mut ctl = vec![
        "<rasd:Address>0</rasd:Address>".to_owned(),
        format!("<rasd:Description>{ctl_desc}</rasd:Description>"),
        format!("<rasd:ElementName>{ctl_desc} 0</rasd:ElementName>"),
        "<rasd:InstanceID>3</rasd:InstanceID>".to_owned(),
    ];
    if let Some(sub) = subtype {
        ctl.push(format!(
            "<rasd:ResourceSubType>{sub}</rasd:ResourceSubType>"
        ));
    }
    ctl.push(format!("<rasd:ResourceType>{rtype}</rasd:ResourceType>"));
    x.push_str(&item(&ctl));
    x.push_str(&item(&[
        "<rasd:AddressOnParent>0</rasd:AddressOnParent>".into(),
        "<rasd:ElementName>Hard Disk 1</rasd:ElementName>".into(),
        "<rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource>".into(),
        "<rasd:InstanceID>4</rasd:InstanceID>".into(),
        "<rasd:Parent>3</rasd:Parent>".into(),
        "<rasd:ResourceType>17</rasd:ResourceType>".into(),
    ]));
    x.push_str(&item(&[
        "<rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>".into(),
        format!("<rasd:Connection>{net}</rasd:Connection>"),
        format!(
            "<rasd:Description>VmxNet3 ethernet adapter on &quot;{net}&quot;</rasd:Description>"
        ),
        "<rasd:ElementName>Network adapter 1</rasd:ElementName>".into(),
        "<rasd:InstanceID>5</rasd:InstanceID>".into(),
        "<rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>".into(),
        "<rasd:ResourceType>10</rasd:ResourceType>".into(),
    ]));
    x.push_str("    </VirtualHardwareSection>\n");
    if o.product.is_some() || o.vendor.is_some() || !o.properties.is_empty() {
        x.push_str(
            "    <ProductSection>\n      <Info>Information about the installed software</Info>\n",
        );
        if let Some((product, _)) = &o.product {
            x.push_str(&format!("      <Product>{}</Product>\n", e(product)));
        }
        if let Some(vendor) = &o.vendor {
            x.push_str(&format!("      <Vendor>{}</Vendor>\n", e(vendor)));
        }
        if let Some((_, version)) = &o.product {
            x.push_str(&format!(
                "      <Version>{0}</Version>\n      <FullVersion>{0}</FullVersion>\n",
                e(version)
            ));
        }
        for (k, v) in &o.properties {
            x.push_str(&format!(
                "      <Property ovf:key=\"{}\" ovf:type=\"string\" ovf:userConfigurable=\"true\" ovf:value=\"{}\"/>\n",
                e(k),
                e(v)
            ));
        }
        x.push_str("    </ProductSection>\n");
    }
    x.push_str("  </VirtualSystem>\n</Envelope>\n");
    x
}

/// What [`build_ova`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BuildReport {
    /// Entry names, in archive order.
    pub entries: Vec<String>,
    /// Size of the OVA in bytes.
    pub bytes: u64,
    /// Size of the VMDK entry.
    pub disk_size: u64,
    /// Virtual capacity of the disk in bytes.
    pub capacity: u64,
    /// Bytes of the capacity holding data.
    pub populated: u64,
    /// Whether the input disk was converted (false: an existing VMDK was copied as is).
    pub converted: bool,
    /// The manifest text, if one was written.
    pub manifest: Option<String>,
    /// Subject of the signing certificate, if signed.
    pub signed_by: Option<String>,
}

/// Builds the OVA at `output` from the disk image at `disk` (raw, converted to a
/// stream-optimized VMDK on the way in; or a stream-optimized VMDK, copied as is).
///
/// `progress` gets the bytes of `disk` read as they are converted or copied (see
/// [`Progress`]); a stream-optimized input is inspected first, which is not reported.
///
/// # Errors
///
/// [`Error::Io`] for the files, [`Error::Build`] for a disk that is a text VMDK descriptor or
/// empty, the VMDK reader's errors for a damaged input VMDK, the writer's errors,
/// [`Error::Crypto`] when signing fails, [`Error::Cancelled`] when `progress` stops it.
/// `output` is never left half-written: on any error the temporary file is removed and an
/// existing `output` is left as it was.
pub fn build_ova(
    disk: impl AsRef<Path>,
    output: impl AsRef<Path>,
    options: &BuildOptions,
    progress: Progress<'_>,
) -> Result<BuildReport> {
    let (disk, output) = (disk.as_ref(), output.as_ref());
    vmdk::write_atomically(output, 0, |file| build_into(disk, file, options, progress))
}

/// Like [`build_ova`], for an output that cannot seek (a pipe, a socket): the package is built
/// in a temporary file first (unnamed, gone when the call returns), then copied to `out`.
///
/// `progress` is called as for [`build_ova`] while the package is built; the copy to `out` is
/// not reported and, once started, not stopped.
///
/// ```no_run
/// use ova_core::build::{BuildOptions, build_ova_to_writer};
/// let options = BuildOptions::builder("appliance").build()?;
/// build_ova_to_writer("disk.raw", std::io::stdout().lock(), &options, &mut ova_core::no_progress)?;
/// # Ok::<(), ova_core::Error>(())
/// ```
///
/// # Errors
///
/// As [`build_ova`], plus [`Error::ArchiveWrite`] when writing to `out` fails. Nothing is
/// written to `out` when the build fails or is cancelled.
pub fn build_ova_to_writer<W: Write>(
    disk: impl AsRef<Path>,
    mut out: W,
    options: &BuildOptions,
    progress: Progress<'_>,
) -> Result<BuildReport> {
    let disk = disk.as_ref();
    let mut tmp = tempfile::tempfile().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let report = build_into(disk, &mut tmp, options, progress)?;
    let write_err = |source| Error::ArchiveWrite {
        entry: "package".into(),
        source,
    };
    tmp.seek(SeekFrom::Start(0)).map_err(write_err)?;
    std::io::copy(&mut tmp, &mut out).map_err(write_err)?;
    out.flush().map_err(write_err)?;
    Ok(report)
}

fn build_into<F: Write + Seek>(
    disk: &Path,
    file: &mut F,
    o: &BuildOptions,
    progress: Progress<'_>,
) -> Result<BuildReport> {
    let io_disk = |source| Error::Io {
        path: disk.to_owned(),
        source,
    };
    let kind = vmdk::detect_file(disk)?;
    let input_len = std::fs::metadata(disk).map_err(io_disk)?.len();
    if input_len == 0 {
        return Err(build_err(format!("{} is empty", disk.display())));
    }
    let existing = match kind {
        DiskKind::DescriptorVmdk => {
            return Err(build_err(format!(
                "{} is a text VMDK descriptor; convert the disk to raw or stream-optimized first",
                disk.display()
            )));
        }
        DiskKind::SparseVmdk => Some(vmdk::inspect_file(disk)?),
        DiskKind::Raw => None,
    };
    let ovf_name = o.descriptor_name();
    let mf_name = format!("{}.mf", o.name);
    let cert_name = format!("{}.cert", o.name);
    let disk_name = o.disk_name();
    let alg = o.manifest;
    let write_err = |entry: &str| {
        let entry = entry.to_owned();
        move |source| Error::ArchiveWrite { entry, source }
    };

    // Reserve the descriptor, manifest and certificate at their final sizes.
    let max = DiskFacts {
        file_size: u64::MAX,
        capacity: u64::MAX,
        populated: u64::MAX,
    };
    let desc_len = render_descriptor(o, &max).len() as u64;
    let mf_len = alg.map(|a| manifest::canonical_len(a, [ovf_name.as_str(), disk_name.as_str()]));
    let cert_len = match (&o.signing, alg) {
        (Some(key), Some(a)) => Some(key.cert_file_len(&mf_name, a)? as u64),
        _ => None,
    };
    let mut entries = vec![ovf_name.clone()];
    let mut w = OvaWriter::new(BufWriter::with_capacity(1 << 20, &mut *file))
        .with_mtime(o.mtime)
        .with_large_size(LargeSize::Base256);
    let desc_slot = w.reserve(&ovf_name, desc_len)?;
    let mf_slot = match mf_len {
        Some(len) => {
            entries.push(mf_name.clone());
            Some(w.reserve(&mf_name, len)?)
        }
        None => None,
    };
    let cert_slot = match cert_len {
        Some(len) => {
            entries.push(cert_name.clone());
            Some(w.reserve(&cert_name, len)?)
        }
        None => None,
    };

    // The disk: its size is known once it is converted or copied (hashed on the way).
    entries.push(disk_name.clone());
    let disk_entry = w.begin_entry(&disk_name)?;
    let input = File::open(disk).map_err(io_disk)?;
    let (disk_size, disk_digest, capacity, populated) = match &existing {
        None => {
            let mut writer = VmdkWriter::new()
                .with_level(o.level)
                .with_adapter(o.controller.adapter())
                .with_extent_name(disk_name.clone());
            if let Some(a) = alg {
                writer = writer.with_digest(a);
            }
            let s = writer.write_progress(
                BufReader::with_capacity(1 << 20, input),
                input_len,
                w.get_mut(),
                progress,
            )?;
            let digest = s.digest.map(|h| hex::decode(h).unwrap_or_default());
            (s.bytes_written, digest, s.capacity, s.populated_bytes)
        }
        Some(info) => {
            let mut input = input;
            let copy = crate::write::copy_hashed(
                &mut input,
                w.get_mut(),
                &alg.into_iter().collect::<Vec<_>>(),
                progress,
            )
            .map_err(write_err(&disk_name))?;
            let (count, digests) = crate::progress::finished(copy)?;
            if count != input_len {
                return Err(build_err(format!(
                    "{} changed while it was read",
                    disk.display()
                )));
            }
            let digest = alg.and_then(|a| digests.get(&a).cloned());
            let populated = (info.grains * info.grain_size).min(info.capacity);
            (input_len, digest, info.capacity, populated)
        }
    };
    w.end_entry(&disk_entry, disk_size)?;

    let facts = DiskFacts {
        file_size: disk_size,
        capacity,
        populated,
    };
    let mut descriptor = render_descriptor(o, &facts).into_bytes();
    // pad to the reserved size: whitespace after the root element is insignificant
    descriptor.resize(desc_len as usize, b' ');
    if let Some(last) = descriptor.last_mut() {
        *last = b'\n';
    }
    w.fill(&desc_slot, &descriptor)?;

    let mut manifest_text = None;
    if let (Some(a), Some(slot)) = (alg, &mf_slot) {
        let mut text = manifest::format_line(a, &ovf_name, &a.digest(&descriptor));
        text.push_str(&manifest::format_line(
            a,
            &disk_name,
            disk_digest.as_deref().unwrap_or_default(),
        ));
        w.fill(slot, text.as_bytes())?;
        if let (Some(key), Some(slot)) = (&o.signing, &cert_slot) {
            let mut cert = sign::sign_manifest(key, &mf_name, text.as_bytes(), a)?;
            if cert.len() as u64 > slot.size {
                return Err(build_err("certificate file longer than reserved"));
            }
            cert.resize(slot.size as usize, b'\n');
            w.fill(slot, &cert)?;
        }
        manifest_text = Some(text);
    }
    let total = w.position() + 2 * BLOCK as u64;
    let mut out = w.finish()?;
    out.flush().map_err(write_err("package"))?;
    Ok(BuildReport {
        entries,
        bytes: total,
        disk_size,
        capacity,
        populated,
        converted: existing.is_none(),
        manifest: manifest_text,
        signed_by: o.signing.as_ref().map(SigningKey::subject),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            xml_escape("a<b>&\"c'\t\n\r"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#9;&#10;&#13;"
        );
    }

    #[test]
    fn os_ids() {
        assert_eq!(cim_os_id("ubuntu64Guest"), 94);
        assert_eq!(cim_os_id("ubuntuGuest"), 93);
        assert_eq!(cim_os_id("debian11_64Guest"), 96);
        assert_eq!(cim_os_id("rhel8_64Guest"), 80);
        assert_eq!(cim_os_id("centos64Guest"), 107);
        assert_eq!(cim_os_id("other5xLinux64Guest"), 101);
        assert_eq!(cim_os_id("otherLinuxGuest"), 36);
        assert_eq!(cim_os_id("otherGuest64"), 102);
        assert_eq!(cim_os_id("otherGuest"), 1);
        assert_eq!(cim_os_id("windows7Server64Guest"), 103);
    }

    #[test]
    fn options_validation() {
        assert!(BuildOptions::builder("ok-name_1.2").build().is_ok());
        for bad in ["", "a/b", ".hidden", "sp ace", "ünï"] {
            assert!(BuildOptions::builder(bad).build().is_err(), "{bad}");
        }
        assert!(BuildOptions::builder("x").with_cpus(0).build().is_err());
        assert!(
            BuildOptions::builder("x")
                .with_property("k", "1")
                .with_property("k", "2")
                .build()
                .is_err()
        );
        assert!(matches!("NVMe".parse(), Ok(DiskController::Nvme)));
        assert!("floppy".parse::<DiskController>().is_err());
    }

    #[test]
    fn descriptors_validate_clean_for_every_controller() {
        for (c, vst) in [
            (DiskController::Scsi, "vmx-07"),
            (DiskController::Ide, "vmx-07"),
            (DiskController::Sata, "vmx-10"),
            (DiskController::Nvme, "vmx-13"),
        ] {
            let o = BuildOptions::builder("vm")
                .with_os_type("ubuntu64Guest")
                .with_disk_controller(c)
                .with_virtual_system_type(vst)
                .with_network("Net <&> \"1\"")
                .with_product("Prod & Co", "1.0")
                .with_vendor("V")
                .with_property("a.b", "x<y")
                .build()
                .unwrap();
            let facts = DiskFacts {
                file_size: 123,
                capacity: 1 << 30,
                populated: 65_536,
            };
            let text = render_descriptor(&o, &facts);
            let findings = crate::validate::validate_descriptor(text.as_bytes());
            assert!(findings.is_empty(), "{c:?}: {findings:#?}");
            let d = crate::ovf::Descriptor::parse(text.as_bytes()).unwrap();
            assert_eq!(d.references().len(), 1);
            assert!(text.contains("Net &lt;&amp;&gt; &quot;1&quot;"));
        }
    }
}
