//! OVF descriptors: a typed, read-only view and byte-preserving edits.
//!
//! [`Descriptor::parse`] reads OVF 0.9, 1.x and 2.x descriptors (namespaces are resolved by
//! URI, prefixes stay as written; CRLF and a UTF-8 BOM are fine) into a model of
//! References, disks, networks, virtual systems and collections, hardware, products and
//! EULAs. Every element and attribute value the model comes from keeps its byte range in the
//! original document, so [`Descriptor::apply`] changes exactly the edited text and nothing
//! else: comments, indentation, attribute order and quoting all survive. An unmodified
//! descriptor's [`Descriptor::as_bytes`] is the input, byte for byte.
//!
//! The reader refuses DTD internal subsets and unknown entities (no expansion bombs) and
//! bounds nesting depth, element count and size.
//!
//! # Examples
//!
//! ```
//! use ova_core::ovf::{Descriptor, Edit};
//!
//! let xml = br#"<?xml version="1.0"?>
//! <Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"
//!     xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
//!     xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
//!     xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
//!   <References><File ovf:href="disk1.vmdk" ovf:id="file1" ovf:size="1024"/></References>
//!   <DiskSection><Info>Disks</Info>
//!     <Disk ovf:capacity="8" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="file1"/>
//!   </DiskSection>
//!   <VirtualSystem ovf:id="vm">
//!     <Info>A VM</Info>
//!     <Name>vm</Name>
//!     <VirtualHardwareSection><Info>Hardware</Info>
//!       <System><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
//!       <Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
//!     </VirtualHardwareSection>
//!   </VirtualSystem>
//! </Envelope>"#;
//! let d = Descriptor::parse(xml)?;
//! assert_eq!(d.disks()[0].capacity_bytes, Some(8 << 30));
//! assert_eq!(d.systems()[0].hardware[0].cpus(), Some(2));
//!
//! let out = d.apply(&[Edit::set_virtual_system_type("vmx-07"), Edit::set_cpus(4)])?;
//! let edited = Descriptor::parse(&out)?;
//! assert_eq!(edited.systems()[0].hardware[0].system_types, ["vmx-07"]);
//! assert_eq!(out.len(), xml.len());
//! # Ok::<(), ova_core::Error>(())
//! ```

pub mod compat;
mod edit;
mod model;
mod parse;
pub mod units;

use serde::Serialize;

pub use edit::Edit;
pub(crate) use edit::escape_attr;
pub use model::{
    ConfigurationValue, Content, DeploymentOption, Disk, FileRef, HostResource, Item, ItemElement,
    ModelIssue, NS_OVF_0_9, NS_OVF_1, NS_OVF_2, NS_VMW, NS_XSI, Network, OperatingSystem,
    OvfVersion, ProductSection, Property, VirtualHardware, VirtualSystem, VirtualSystemCollection,
    resource_type, split_system_types,
};
pub(crate) use parse::is_xml_char;

use crate::error::{Error, Result};
use parse::Tree;

/// A parsed OVF descriptor: the original bytes plus a typed view of them.
///
/// Serializes (serde) to the typed view, for `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct Descriptor {
    #[serde(skip)]
    bytes: Vec<u8>,
    #[serde(skip)]
    tree: Tree,
    version: OvfVersion,
    namespace: &'static str,
    references: Vec<FileRef>,
    disks: Vec<Disk>,
    networks: Vec<Network>,
    deployment_options: Vec<DeploymentOption>,
    content: Option<Content>,
    issues: Vec<ModelIssue>,
}

impl Descriptor {
    /// Parses a descriptor.
    ///
    /// # Errors
    ///
    /// - [`Error::OvfXml`] when the bytes are not well-formed XML, or use a DTD internal
    ///   subset or an unknown entity;
    /// - [`Error::OvfEncoding`] when they are not UTF-8;
    /// - [`Error::OvfLimit`] when a size, depth or element-count limit is exceeded;
    /// - [`Error::OvfNotEnvelope`] when the root element is not `Envelope`;
    /// - [`Error::OvfUnknownNamespace`] when the envelope is in no known OVF namespace
    ///   (for example a made-up `envelope/3`).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Self::from_vec(bytes.to_vec())
    }

    /// Like [`Descriptor::parse`], taking ownership of the bytes.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::parse`].
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self> {
        let tree = parse::parse_tree(&bytes)?;
        let root = tree.root();
        if root.local != "Envelope" {
            return Err(Error::OvfNotEnvelope {
                found: root.qname(),
            });
        }
        let version = match root.ns.as_deref() {
            Some(ns) => OvfVersion::from_namespace(ns),
            // An unqualified <Envelope> (ovftool 3.5 wrote some with only xmlns:ovf declared):
            // the OVF namespace the root declares, when it declares exactly one.
            None => {
                let declared: Vec<OvfVersion> = [OvfVersion::V0_9, OvfVersion::V1, OvfVersion::V2]
                    .into_iter()
                    .filter(|v| root.prefix_for(v.namespace()).is_some())
                    .collect();
                match declared[..] {
                    [v] => Some(v),
                    _ => None,
                }
            }
        }
        .ok_or_else(|| Error::OvfUnknownNamespace {
            namespace: root.ns.as_deref().unwrap_or_default().to_string(),
        })?;
        let m = model::build(&tree, version);
        Ok(Descriptor {
            bytes,
            tree,
            version,
            namespace: version.namespace(),
            references: m.references,
            disks: m.disks,
            networks: m.networks,
            deployment_options: m.deployment_options,
            content: m.content,
            issues: m.issues,
        })
    }

    /// The descriptor's bytes, exactly as parsed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives the bytes back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The OVF version (from the envelope namespace).
    pub fn version(&self) -> OvfVersion {
        self.version
    }

    /// `References/File` elements, in document order.
    pub fn references(&self) -> &[FileRef] {
        &self.references
    }

    /// The `References/File` with this `ovf:id`.
    pub fn file(&self, id: &str) -> Option<&FileRef> {
        self.references.iter().find(|f| f.id == id)
    }

    /// `DiskSection/Disk` elements, in document order.
    pub fn disks(&self) -> &[Disk] {
        &self.disks
    }

    /// The `Disk` with this `ovf:diskId`.
    pub fn disk(&self, id: &str) -> Option<&Disk> {
        self.disks.iter().find(|d| d.disk_id == id)
    }

    /// `NetworkSection/Network` elements.
    pub fn networks(&self) -> &[Network] {
        &self.networks
    }

    /// `DeploymentOptionSection/Configuration` elements (deployment profiles).
    pub fn deployment_options(&self) -> &[DeploymentOption] {
        &self.deployment_options
    }

    /// The top-level content: one `VirtualSystem` or a `VirtualSystemCollection`.
    pub fn content(&self) -> Option<&Content> {
        self.content.as_ref()
    }

    /// Every `VirtualSystem`, depth first, including those inside (nested) collections.
    pub fn systems(&self) -> Vec<&VirtualSystem> {
        fn walk<'a>(c: &'a Content, out: &mut Vec<&'a VirtualSystem>) {
            match c {
                Content::System(s) => out.push(s),
                Content::Collection(vsc) => vsc.content.iter().for_each(|c| walk(c, out)),
            }
        }
        let mut out = Vec::new();
        if let Some(c) = &self.content {
            walk(c, &mut out);
        }
        out
    }

    /// The `VirtualSystem` with this `ovf:id`.
    pub fn system(&self, id: &str) -> Option<&VirtualSystem> {
        self.systems().into_iter().find(|s| s.id == id)
    }

    /// Every `VirtualSystemCollection`, depth first.
    pub fn collections(&self) -> Vec<&VirtualSystemCollection> {
        fn walk<'a>(c: &'a Content, out: &mut Vec<&'a VirtualSystemCollection>) {
            if let Content::Collection(vsc) = c {
                out.push(vsc);
                vsc.content.iter().for_each(|c| walk(c, out));
            }
        }
        let mut out = Vec::new();
        if let Some(c) = &self.content {
            walk(c, &mut out);
        }
        out
    }

    /// Every `ProductSection` with the `ovf:id` of the system or collection holding it.
    pub fn product_sections(&self) -> Vec<(&str, &ProductSection)> {
        fn walk<'a>(c: &'a Content, out: &mut Vec<(&'a str, &'a ProductSection)>) {
            match c {
                Content::System(s) => out.extend(s.products.iter().map(|p| (s.id.as_str(), p))),
                Content::Collection(vsc) => {
                    out.extend(vsc.products.iter().map(|p| (vsc.id.as_str(), p)));
                    vsc.content.iter().for_each(|c| walk(c, out));
                }
            }
        }
        let mut out = Vec::new();
        if let Some(c) = &self.content {
            walk(c, &mut out);
        }
        out
    }

    /// Problems noticed while reading (numbers that are not numbers, capacity units that do
    /// not parse). [`crate::validate`] reports them as findings.
    pub fn issues(&self) -> &[ModelIssue] {
        &self.issues
    }

    /// Applies `edits` and returns the new descriptor bytes. Only the edited text changes;
    /// the result is parsed again before it is returned.
    ///
    /// # Errors
    ///
    /// [`Error::OvfEditTargetAbsent`] / [`Error::OvfEditTargetAmbiguous`] when an edit's
    /// target is missing or matches several elements (address a system with
    /// [`Edit::in_system`]), [`Error::OvfEditInvalidValue`] for a value that cannot be
    /// written (a control character, a zero CPU count, a `VirtualSystemType` that names no
    /// hardware family), [`Error::OvfEditConflict`] when two edits change the same text,
    /// [`Error::OvfEditIncompatibleHardware`] when the edits leave hardware the
    /// `VirtualSystemType` cannot carry (unless the list holds
    /// [`Edit::AllowIncompatibleHardware`]).
    pub fn apply(&self, edits: &[Edit]) -> Result<Vec<u8>> {
        Ok(self.edited(edits)?.into_bytes())
    }

    /// [`Descriptor::apply`], returning the parsed result.
    ///
    /// # Errors
    ///
    /// As [`Descriptor::apply`].
    pub fn edited(&self, edits: &[Edit]) -> Result<Descriptor> {
        let out = edit::apply(self, edits)?;
        // The splices are local and escaped, so this cannot fail short of a bug; checking
        // keeps a broken descriptor from ever reaching an archive.
        let d = Descriptor::from_vec(out)?;
        if !edits.contains(&Edit::AllowIncompatibleHardware) {
            let problems = self.hardware_regressions(&d);
            if !problems.is_empty() {
                return Err(Error::OvfEditIncompatibleHardware { problems });
            }
        }
        Ok(d)
    }

    /// The hardware errors of `edited` ([`compat::check_hardware`]) that this descriptor did
    /// not have: what the edits broke. A package that was already incompatible can still be
    /// edited in other ways.
    pub fn hardware_regressions(&self, edited: &Descriptor) -> Vec<String> {
        let errors = |d: &Descriptor| -> Vec<String> {
            d.systems()
                .into_iter()
                .flat_map(compat::check_hardware)
                .filter(|p| p.severity == crate::finding::Severity::Error)
                .map(|p| p.message)
                .collect()
        };
        let before = errors(self);
        errors(edited)
            .into_iter()
            .filter(|m| !before.contains(m))
            .collect()
    }

    pub(crate) fn tree(&self) -> &Tree {
        &self.tree
    }
}
