//! Descriptor edits, applied as byte splices on the original document.

use std::fmt;
use std::ops::Range;

use super::model::{Item, VirtualHardware, VirtualSystem, kind_of, resource_type};
use super::parse::{Node, is_xml_char};
use super::units::bytes_per_unit;
use super::{Descriptor, ProductSection};
use crate::error::{Error, Result};

/// One descriptor edit. Compose several in a slice for [`Descriptor::apply`].
///
/// `system` selects a `VirtualSystem` by `ovf:id`; it may be left out when the descriptor has
/// exactly one. `configuration` selects the item of a `DeploymentOptionSection`
/// configuration; left out, the item of the descriptor's default configuration is edited
/// (the one written for it, else the one without `ovf:configuration`).
///
/// # Examples
///
/// ```
/// use ova_core::ovf::Edit;
/// let edits = [
///     Edit::set_virtual_system_type("vmx-07"),
///     Edit::set_memory_mib(4096).in_system("vm1"),
///     Edit::set_property("hostname", "router-1"),
/// ];
/// assert_eq!(edits[1].to_string(), "set memory to 4096 MiB in system vm1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Edit {
    /// Replace the text of `System/VirtualSystemType` (e.g. `vmx-07`).
    SetVirtualSystemType {
        /// The system's `ovf:id`.
        system: Option<String>,
        /// The new value.
        value: String,
    },
    /// Set the `VirtualQuantity` of the CPU item (ResourceType 3).
    SetCpus {
        /// The system's `ovf:id`.
        system: Option<String>,
        /// A deployment configuration id.
        configuration: Option<String>,
        /// Number of virtual CPUs (≥ 1).
        count: u64,
    },
    /// Set the memory item (ResourceType 4) to this many MiB, keeping its
    /// `AllocationUnits` when the amount is a whole number of them and rewriting the units
    /// to `byte * 2^20` otherwise.
    SetMemoryMib {
        /// The system's `ovf:id`.
        system: Option<String>,
        /// A deployment configuration id.
        configuration: Option<String>,
        /// MiB (≥ 1).
        mib: u64,
    },
    /// Set the `ovf:value` of the `Property` with this key (the attribute is added when
    /// missing).
    SetProperty {
        /// The system's or collection's `ovf:id` holding the `ProductSection`.
        system: Option<String>,
        /// `ProductSection ovf:class`, to tell sections apart.
        class: Option<String>,
        /// `ProductSection ovf:instance`, to tell sections apart.
        instance: Option<String>,
        /// `ovf:key`.
        key: String,
        /// The new value.
        value: String,
    },
    /// Set the system's `Name` element (or its `ovf:name` attribute where that is what the
    /// descriptor has).
    SetName {
        /// The system's `ovf:id`.
        system: Option<String>,
        /// The new name.
        name: String,
    },
    /// Set `ovf:chunkSize` on the `References/File` with this `ovf:href` (the attribute is
    /// added when missing): the file is then stored as `href.000000000`, `href.000000001`, ...
    SetChunkSize {
        /// The file's `ovf:href`.
        href: String,
        /// Bytes per chunk (≥ 1).
        chunk_size: u64,
    },
    /// Write the other edits even when they leave hardware the `VirtualSystemType` cannot
    /// carry (ovftool's `--lax`): without it [`Descriptor::apply`] refuses such edits with
    /// [`Error::OvfEditIncompatibleHardware`]. Changes no bytes itself.
    AllowIncompatibleHardware,
}

impl Edit {
    /// [`Edit::SetVirtualSystemType`] for the only system.
    pub fn set_virtual_system_type(value: impl Into<String>) -> Self {
        Edit::SetVirtualSystemType {
            system: None,
            value: value.into(),
        }
    }

    /// [`Edit::SetCpus`] for the only system, default configuration.
    pub fn set_cpus(count: u64) -> Self {
        Edit::SetCpus {
            system: None,
            configuration: None,
            count,
        }
    }

    /// [`Edit::SetMemoryMib`] for the only system, default configuration.
    pub fn set_memory_mib(mib: u64) -> Self {
        Edit::SetMemoryMib {
            system: None,
            configuration: None,
            mib,
        }
    }

    /// [`Edit::SetProperty`] wherever the key is unique.
    pub fn set_property(key: impl Into<String>, value: impl Into<String>) -> Self {
        Edit::SetProperty {
            system: None,
            class: None,
            instance: None,
            key: key.into(),
            value: value.into(),
        }
    }

    /// [`Edit::SetName`] for the only system.
    pub fn set_name(name: impl Into<String>) -> Self {
        Edit::SetName {
            system: None,
            name: name.into(),
        }
    }

    /// [`Edit::SetChunkSize`] for the file with this `ovf:href`.
    pub fn set_chunk_size(href: impl Into<String>, chunk_size: u64) -> Self {
        Edit::SetChunkSize {
            href: href.into(),
            chunk_size,
        }
    }

    /// Addresses the edit to the system (or, for properties, system or collection) with this
    /// `ovf:id`.
    #[must_use]
    pub fn in_system(mut self, id: impl Into<String>) -> Self {
        let id = Some(id.into());
        match &mut self {
            Edit::SetVirtualSystemType { system, .. }
            | Edit::SetCpus { system, .. }
            | Edit::SetMemoryMib { system, .. }
            | Edit::SetProperty { system, .. }
            | Edit::SetName { system, .. } => *system = id,
            Edit::SetChunkSize { .. } | Edit::AllowIncompatibleHardware => {}
        }
        self
    }

    /// Addresses a CPU or memory edit to a deployment configuration; other edits are
    /// unchanged.
    #[must_use]
    pub fn in_configuration(mut self, id: impl Into<String>) -> Self {
        if let Edit::SetCpus { configuration, .. } | Edit::SetMemoryMib { configuration, .. } =
            &mut self
        {
            *configuration = Some(id.into());
        }
        self
    }

    /// Restricts a property edit to the `ProductSection` with this class and instance.
    #[must_use]
    pub fn in_product(mut self, class: Option<String>, instance: Option<String>) -> Self {
        if let Edit::SetProperty {
            class: c,
            instance: i,
            ..
        } = &mut self
        {
            *c = class;
            *i = instance;
        }
        self
    }

    fn system(&self) -> Option<&str> {
        match self {
            Edit::SetVirtualSystemType { system, .. }
            | Edit::SetCpus { system, .. }
            | Edit::SetMemoryMib { system, .. }
            | Edit::SetProperty { system, .. }
            | Edit::SetName { system, .. } => system.as_deref(),
            Edit::SetChunkSize { .. } | Edit::AllowIncompatibleHardware => None,
        }
    }
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::SetVirtualSystemType { value, .. } => {
                write!(f, "set VirtualSystemType to {value:?}")?
            }
            Edit::SetCpus { count, .. } => write!(f, "set cpus to {count}")?,
            Edit::SetMemoryMib { mib, .. } => write!(f, "set memory to {mib} MiB")?,
            Edit::SetProperty { key, value, .. } => write!(f, "set property {key} to {value:?}")?,
            Edit::SetName { name, .. } => write!(f, "set name to {name:?}")?,
            Edit::SetChunkSize { href, chunk_size } => {
                write!(f, "set chunk size of {href:?} to {chunk_size}")?
            }
            Edit::AllowIncompatibleHardware => {
                f.write_str("allow hardware the VirtualSystemType cannot carry")?
            }
        }
        if let Edit::SetCpus {
            configuration: Some(c),
            ..
        }
        | Edit::SetMemoryMib {
            configuration: Some(c),
            ..
        } = self
        {
            write!(f, " in configuration {c}")?;
        }
        if let Some(s) = self.system() {
            write!(f, " in system {s}")?;
        }
        Ok(())
    }
}

/// One byte splice: replace `range` by `text`.
struct Splice {
    range: Range<usize>,
    text: Vec<u8>,
    edit: usize,
}

/// Escapes text content: `&`, `<`, `>` and `\r` (which would otherwise be normalised away).
pub(crate) fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value for the given quote character; whitespace characters that
/// attribute normalisation would turn into spaces are written as character references.
pub(crate) fn escape_attr(s: &str, quote: u8) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quote == b'"' => out.push_str("&quot;"),
            '\'' if quote == b'\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

struct Ctx<'d> {
    d: &'d Descriptor,
    edit: &'d Edit,
    idx: usize,
}

impl Ctx<'_> {
    fn absent(&self, what: impl Into<String>) -> Error {
        Error::OvfEditTargetAbsent {
            edit: self.edit.to_string(),
            what: what.into(),
        }
    }

    fn ambiguous(&self, what: impl Into<String>, candidates: Vec<String>) -> Error {
        Error::OvfEditTargetAmbiguous {
            edit: self.edit.to_string(),
            what: what.into(),
            candidates,
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::OvfEditInvalidValue {
            edit: self.edit.to_string(),
            reason: reason.into(),
        }
    }

    fn check_value(&self, v: &str) -> Result<()> {
        match v.chars().find(|&c| !is_xml_char(c)) {
            Some(c) => Err(self.invalid(format!(
                "the value holds U+{:04X}, which XML cannot carry",
                c as u32
            ))),
            None => Ok(()),
        }
    }

    fn node(&self, i: usize) -> &Node {
        self.d.tree().node(i)
    }

    fn system(&self) -> Result<&VirtualSystem> {
        let systems = self.d.systems();
        match self.edit.system() {
            Some(id) => {
                let found: Vec<_> = systems.into_iter().filter(|s| s.id == id).collect();
                match found.len() {
                    0 => Err(self.absent(format!("virtual system with ovf:id {id:?}"))),
                    1 => Ok(found[0]),
                    _ => Err(self.ambiguous(
                        format!("ovf:id {id:?} (used by several virtual systems)"),
                        found.iter().map(|s| s.id.clone()).collect(),
                    )),
                }
            }
            None => match systems.len() {
                0 => Err(self.absent("virtual system")),
                1 => Ok(systems[0]),
                _ => Err(self.ambiguous(
                    "virtual system (choose one by id)",
                    systems.iter().map(|s| s.id.clone()).collect(),
                )),
            },
        }
    }

    fn hardware<'s>(&self, s: &'s VirtualSystem) -> Result<&'s VirtualHardware> {
        match s.hardware.len() {
            0 => Err(self.absent(format!("VirtualHardwareSection in system {:?}", s.id))),
            1 => Ok(&s.hardware[0]),
            _ => Err(self.ambiguous(
                format!("VirtualHardwareSection in system {:?}", s.id),
                s.hardware
                    .iter()
                    .map(|h| h.id.clone().unwrap_or_else(|| "(no id)".into()))
                    .collect(),
            )),
        }
    }

    fn item<'h>(
        &self,
        h: &'h VirtualHardware,
        rt: u32,
        what: &str,
        configuration: Option<&str>,
    ) -> Result<&'h Item> {
        let of_type: Vec<&Item> = h
            .items
            .iter()
            .filter(|i| i.resource_type == Some(rt))
            .collect();
        // The configuration asked for, or the descriptor's default one.
        let config = configuration.or(h.default_configuration.as_deref());
        let mut chosen: Vec<&Item> = match config {
            Some(c) => of_type
                .iter()
                .copied()
                .filter(|i| i.configurations.iter().any(|x| x == c))
                .collect(),
            None => Vec::new(),
        };
        if chosen.is_empty() {
            chosen = of_type
                .iter()
                .copied()
                .filter(|i| i.configurations.is_empty())
                .collect();
        }
        if chosen.is_empty() && configuration.is_none() && of_type.len() == 1 {
            chosen = of_type.clone();
        }
        match chosen.len() {
            1 => Ok(chosen[0]),
            0 => Err(self.absent(match configuration {
                Some(c) => format!("{what} item (ResourceType {rt}) for configuration {c:?}"),
                None => format!("{what} item (ResourceType {rt})"),
            })),
            _ => Err(self.ambiguous(
                format!("{what} item (ResourceType {rt})"),
                chosen
                    .iter()
                    .map(|i| {
                        let id = i.instance_id.clone().unwrap_or_default();
                        if i.configurations.is_empty() {
                            format!("InstanceID {id}")
                        } else {
                            format!("InstanceID {id} [{}]", i.configurations.join(" "))
                        }
                    })
                    .collect(),
            )),
        }
    }

    /// The child of item node `i` with this local name (RASD children; any namespace).
    fn item_child(&self, i: usize, local: &str) -> Option<usize> {
        self.d
            .tree()
            .children(i)
            .find(|&c| self.node(c).local.eq_ignore_ascii_case(local))
    }

    /// Splice replacing the text of element `i` by `value`.
    fn set_text(&self, i: usize, value: &str) -> Result<Splice> {
        self.check_value(value)?;
        let n = self.node(i);
        if !n.children.is_empty() {
            return Err(self.invalid(format!("<{}> has child elements", n.qname())));
        }
        let bytes = self.d.as_bytes();
        let escaped = escape_text(value);
        let Some(_) = &n.end else {
            // `<x .../>` becomes `<x ...>value</x>`.
            let tag = &bytes[n.start.clone()];
            let open = &tag[..tag.len() - 2];
            let mut text = open.to_vec();
            text.push(b'>');
            text.extend_from_slice(escaped.as_bytes());
            text.extend_from_slice(format!("</{}>", n.qname()).as_bytes());
            return Ok(Splice {
                range: n.start.clone(),
                text,
                edit: self.idx,
            });
        };
        let content = n.content();
        let raw = &bytes[content.clone()];
        let range = if raw.contains(&b'<') || raw.contains(&b'&') {
            content
        } else {
            // Keep surrounding whitespace, replace the value itself.
            let lead = raw.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let trail = raw[lead..]
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            if lead == raw.len() {
                content
            } else {
                content.start + lead..content.end - trail
            }
        };
        Ok(Splice {
            range,
            text: escaped.into_bytes(),
            edit: self.idx,
        })
    }

    /// Keeps a CPU or memory item's `ElementName` (`Caption` in OVF 0.9) in step with its
    /// new quantity, as VMware's tools write it (`2 virtual CPU(s)`, `2048MB of memory`),
    /// when the name is in that generated form; a name of any other form is the author's
    /// and stays.
    fn rename(&self, item: &Item, name: &str) -> Result<Option<Splice>> {
        let Some(n) = self
            .item_child(item.node, "ElementName")
            .or_else(|| self.item_child(item.node, "Caption"))
        else {
            return Ok(None);
        };
        let current = self.node(n).text.trim();
        let generated = |suffix: &str| {
            current.strip_suffix(suffix).is_some_and(|q| {
                let q = q.trim_end();
                !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit())
            })
        };
        if generated("virtual CPU(s)") || generated("MB of memory") {
            Ok(Some(self.set_text(n, name)?))
        } else {
            Ok(None)
        }
    }

    fn splices(&self) -> Result<Vec<Splice>> {
        match self.edit {
            Edit::SetVirtualSystemType { value, .. } => {
                let v = value.trim();
                super::compat::check_system_type(v).map_err(|why| self.invalid(why))?;
                let s = self.system()?;
                let h = self.hardware(s)?;
                let t = h.system_type_node.ok_or_else(|| {
                    self.absent(format!("System/VirtualSystemType in system {:?}", s.id))
                })?;
                Ok(vec![self.set_text(t, v)?])
            }
            Edit::SetCpus {
                count,
                configuration,
                ..
            } => {
                if *count == 0 {
                    return Err(self.invalid("a virtual machine needs at least one cpu"));
                }
                let s = self.system()?;
                let h = self.hardware(s)?;
                let item = self.item(h, resource_type::CPU, "cpu", configuration.as_deref())?;
                let q = self
                    .item_child(item.node, "VirtualQuantity")
                    .ok_or_else(|| self.absent("VirtualQuantity of the cpu item"))?;
                let mut out = vec![self.set_text(q, &count.to_string())?];
                out.extend(self.rename(item, &format!("{count} virtual CPU(s)"))?);
                Ok(out)
            }
            Edit::SetMemoryMib {
                mib, configuration, ..
            } => {
                if *mib == 0 {
                    return Err(self.invalid("memory must be at least 1 MiB"));
                }
                let bytes = mib
                    .checked_mul(1 << 20)
                    .ok_or_else(|| self.invalid("memory size overflows"))?;
                let s = self.system()?;
                let h = self.hardware(s)?;
                let item =
                    self.item(h, resource_type::MEMORY, "memory", configuration.as_deref())?;
                let q = self
                    .item_child(item.node, "VirtualQuantity")
                    .ok_or_else(|| self.absent("VirtualQuantity of the memory item"))?;
                let units = self.item_child(item.node, "AllocationUnits");
                let mut out = match units {
                    None => vec![self.set_text(q, &mib.to_string())?],
                    Some(u) => {
                        let per = bytes_per_unit(self.node(u).text.trim()).ok();
                        match per {
                            Some(per) if bytes % per == 0 => {
                                vec![self.set_text(q, &(bytes / per).to_string())?]
                            }
                            _ => vec![
                                self.set_text(u, "byte * 2^20")?,
                                self.set_text(q, &mib.to_string())?,
                            ],
                        }
                    }
                };
                out.extend(self.rename(item, &format!("{mib}MB of memory"))?);
                Ok(out)
            }
            Edit::SetProperty {
                system,
                class,
                instance,
                key,
                value,
            } => {
                self.check_value(value)?;
                let sections: Vec<(&str, &ProductSection)> = self
                    .d
                    .product_sections()
                    .into_iter()
                    .filter(|(owner, _)| system.as_deref().is_none_or(|s| s == *owner))
                    .filter(|(_, p)| class.is_none() || p.class == *class)
                    .filter(|(_, p)| instance.is_none() || p.instance == *instance)
                    .collect();
                let found: Vec<(&str, &ProductSection, &super::Property)> = sections
                    .iter()
                    .flat_map(|(o, p)| {
                        p.properties
                            .iter()
                            .filter(|pr| pr.key == *key)
                            .map(move |pr| (*o, *p, pr))
                    })
                    .collect();
                let (_, _, prop) = match found.len() {
                    0 => return Err(self.absent(format!("property with ovf:key {key:?}"))),
                    1 => found[0],
                    _ => {
                        return Err(self.ambiguous(
                            format!("property {key:?}"),
                            found
                                .iter()
                                .map(|(o, p, _)| {
                                    format!(
                                        "system {o} class {:?} instance {:?}",
                                        p.class.as_deref().unwrap_or(""),
                                        p.instance.as_deref().unwrap_or("")
                                    )
                                })
                                .collect(),
                        ));
                    }
                };
                let n = self.node(prop.node);
                let ns = self.d.version().namespace();
                if let Some(a) = n
                    .attrs
                    .iter()
                    .find(|a| a.local == "value" && (a.ns.as_deref() == Some(ns) || a.ns.is_none()))
                {
                    return Ok(vec![Splice {
                        range: a.span.clone(),
                        text: escape_attr(value, a.quote).into_bytes(),
                        edit: self.idx,
                    }]);
                }
                // Add the attribute after the last one, with the prefix the key uses.
                let prefix = n
                    .attrs
                    .iter()
                    .find(|a| a.local == "key")
                    .map(|a| a.prefix.clone())
                    .filter(|p| !p.is_empty())
                    .or_else(|| n.prefix_for(ns).map(str::to_string))
                    .filter(|p| !p.is_empty());
                let at = n
                    .attrs
                    .last()
                    .map(|a| a.span.end + 1)
                    .unwrap_or(n.start.start + 1 + n.qname().len());
                let name = match prefix {
                    Some(p) => format!("{p}:value"),
                    None => "value".to_string(),
                };
                Ok(vec![Splice {
                    range: at..at,
                    text: format!(" {name}=\"{}\"", escape_attr(value, b'"')).into_bytes(),
                    edit: self.idx,
                }])
            }
            Edit::SetName { name, .. } => {
                let s = self.system()?;
                let ns = self.d.version().namespace();
                let tree = self.d.tree();
                if let Some(c) = tree
                    .children(s.node)
                    .find(|&c| kind_of(tree.node(c), ns) == Some("Name"))
                {
                    return Ok(vec![self.set_text(c, name)?]);
                }
                self.check_value(name)?;
                match self.node(s.node).attr_ns(ns, "name") {
                    Some(a) => Ok(vec![Splice {
                        range: a.span.clone(),
                        text: escape_attr(name, a.quote).into_bytes(),
                        edit: self.idx,
                    }]),
                    None => Err(self.absent(format!("Name element of system {:?}", s.id))),
                }
            }
            Edit::SetChunkSize { href, chunk_size } => {
                if *chunk_size == 0 {
                    return Err(self.invalid("the chunk size is zero"));
                }
                let ns = self.d.version().namespace();
                let tree = self.d.tree();
                let found: Vec<usize> = (0..tree.nodes.len())
                    .filter(|&i| {
                        let n = tree.node(i);
                        kind_of(n, ns) == Some("File")
                            && n.attr_ns(ns, "href").is_some_and(|a| a.value == *href)
                    })
                    .collect();
                let i = match found.len() {
                    0 => return Err(self.absent(format!("File with ovf:href {href:?}"))),
                    1 => found[0],
                    _ => {
                        return Err(self.ambiguous(
                            format!("File with ovf:href {href:?}"),
                            vec![href.clone(); found.len()],
                        ));
                    }
                };
                let n = self.node(i);
                let value = chunk_size.to_string();
                if let Some(a) = n.attr_ns(ns, "chunkSize") {
                    return Ok(vec![Splice {
                        range: a.span.clone(),
                        text: value.into_bytes(),
                        edit: self.idx,
                    }]);
                }
                // Add the attribute after the last one, with the prefix `ovf:href` uses.
                let prefix = n
                    .attr_ns(ns, "href")
                    .map(|a| a.prefix.clone())
                    .filter(|p| !p.is_empty());
                let at = n
                    .attrs
                    .last()
                    .map(|a| a.span.end + 1)
                    .unwrap_or(n.start.start + 1 + n.qname().len());
                let name = match prefix {
                    Some(p) => format!("{p}:chunkSize"),
                    None => "chunkSize".to_string(),
                };
                Ok(vec![Splice {
                    range: at..at,
                    text: format!(" {name}=\"{value}\"").into_bytes(),
                    edit: self.idx,
                }])
            }
            Edit::AllowIncompatibleHardware => Ok(Vec::new()),
        }
    }
}

pub(crate) fn apply(d: &Descriptor, edits: &[Edit]) -> Result<Vec<u8>> {
    let mut splices = Vec::new();
    for (idx, edit) in edits.iter().enumerate() {
        splices.extend(Ctx { d, edit, idx }.splices()?);
    }
    splices.sort_by_key(|s| (s.range.start, s.range.end));
    for w in splices.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if b.range.start < a.range.end || b.range.start == a.range.start {
            return Err(Error::OvfEditConflict {
                first: edits[a.edit].to_string(),
                second: edits[b.edit].to_string(),
            });
        }
    }
    let src = d.as_bytes();
    let mut out = Vec::with_capacity(src.len() + 64);
    let mut at = 0;
    for s in &splices {
        out.extend_from_slice(&src[at..s.range.start]);
        out.extend_from_slice(&s.text);
        at = s.range.end;
    }
    out.extend_from_slice(&src[at..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0"?>
<!-- keep me -->
<ovf:Envelope xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <ovf:References/>
  <ovf:VirtualSystemCollection ovf:id="app">
    <ovf:Info>app</ovf:Info>
    <ovf:ProductSection ovf:class="com.example" ovf:instance="1">
      <ovf:Info>p</ovf:Info>
      <ovf:Property ovf:key="shared" ovf:type="string" ovf:value="a"/>
    </ovf:ProductSection>
    <ovf:VirtualSystem ovf:id="vm1">
      <ovf:Info>one</ovf:Info>
      <ovf:Name>first</ovf:Name>
      <ovf:ProductSection>
        <ovf:Info>p</ovf:Info>
        <ovf:Property ovf:key="shared" ovf:type="string" ovf:value='x'/>
        <ovf:Property ovf:key="novalue" ovf:type="string"/>
      </ovf:ProductSection>
      <ovf:VirtualHardwareSection>
        <ovf:Info>hw</ovf:Info>
        <ovf:System><vssd:VirtualSystemType> vmx-13 </vssd:VirtualSystemType></ovf:System>
        <ovf:Item><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></ovf:Item>
        <ovf:Item ovf:configuration="big"><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>8</rasd:VirtualQuantity></ovf:Item>
        <ovf:Item><rasd:AllocationUnits>byte * 2^30</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>4</rasd:VirtualQuantity></ovf:Item>
      </ovf:VirtualHardwareSection>
    </ovf:VirtualSystem>
    <ovf:VirtualSystem ovf:id="vm2">
      <ovf:Info>two</ovf:Info>
      <ovf:VirtualHardwareSection>
        <ovf:Info>hw</ovf:Info>
        <ovf:System><vssd:VirtualSystemType/></ovf:System>
        <ovf:Item><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1536</rasd:VirtualQuantity><rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits></ovf:Item>
      </ovf:VirtualHardwareSection>
    </ovf:VirtualSystem>
  </ovf:VirtualSystemCollection>
</ovf:Envelope>
"#;

    fn d() -> Descriptor {
        Descriptor::parse(DOC.as_bytes()).unwrap()
    }

    fn apply_str(edits: &[Edit]) -> String {
        String::from_utf8(d().apply(edits).unwrap()).unwrap()
    }

    #[test]
    fn virtual_system_type_keeps_whitespace_and_expands_empty_tags() {
        let out = apply_str(&[
            Edit::set_virtual_system_type("vmx-07").in_system("vm1"),
            Edit::set_virtual_system_type("vmx-10").in_system("vm2"),
        ]);
        assert!(out.contains("<vssd:VirtualSystemType> vmx-07 </vssd:VirtualSystemType>"));
        assert!(out.contains("<vssd:VirtualSystemType>vmx-10</vssd:VirtualSystemType>"));
        assert!(out.contains("<!-- keep me -->"));
    }

    #[test]
    fn several_systems_need_an_id() {
        let e = d().apply(&[Edit::set_cpus(2)]).unwrap_err();
        match e {
            Error::OvfEditTargetAmbiguous { candidates, .. } => {
                assert_eq!(candidates, ["vm1", "vm2"])
            }
            e => panic!("{e}"),
        }
        let e = d()
            .apply(&[Edit::set_cpus(2).in_system("nope")])
            .unwrap_err();
        assert!(matches!(e, Error::OvfEditTargetAbsent { .. }), "{e}");
        let e = d()
            .apply(&[Edit::set_cpus(2).in_system("vm2")])
            .unwrap_err();
        assert!(e.to_string().contains("cpu item"), "{e}");
    }

    #[test]
    fn cpus_by_configuration() {
        let out = apply_str(&[Edit::set_cpus(4).in_system("vm1")]);
        assert!(out.contains("<rasd:VirtualQuantity>4</rasd:VirtualQuantity></ovf:Item>\n        <ovf:Item ovf:configuration=\"big\">"));
        let out = apply_str(&[Edit::set_cpus(16).in_system("vm1").in_configuration("big")]);
        assert!(out.contains("<rasd:VirtualQuantity>16</rasd:VirtualQuantity>"));
        assert!(out.contains("<rasd:VirtualQuantity>2</rasd:VirtualQuantity>"));
        let e = d()
            .apply(&[Edit::set_cpus(0).in_system("vm1")])
            .unwrap_err();
        assert!(matches!(e, Error::OvfEditInvalidValue { .. }));
    }

    #[test]
    fn memory_respects_or_normalises_units() {
        // 8 GiB in `byte * 2^30` units stays in those units.
        let out = apply_str(&[Edit::set_memory_mib(8192).in_system("vm1")]);
        assert!(out.contains("<rasd:VirtualQuantity>8</rasd:VirtualQuantity>"));
        // 1.5 GiB is not a whole number of GiB: the units become MiB.
        let out = apply_str(&[Edit::set_memory_mib(1536).in_system("vm1")]);
        assert!(out.contains("<rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>1536</rasd:VirtualQuantity>"));
        let e2 = Descriptor::parse(out.as_bytes()).unwrap();
        assert_eq!(
            e2.system("vm1").unwrap().hardware[0].memory_mib(),
            Some(1536)
        );
        let out = apply_str(&[Edit::set_memory_mib(2048).in_system("vm2")]);
        assert!(out.contains("<rasd:VirtualQuantity>2048</rasd:VirtualQuantity><rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>"));
    }

    #[test]
    fn property_values_are_escaped_and_added() {
        let out = apply_str(&[Edit::set_property("shared", "a&b<c>\"d'\n").in_system("vm1")]);
        assert!(
            out.contains("ovf:value='a&amp;b&lt;c&gt;\"d&apos;&#10;'"),
            "{out}"
        );
        let back = Descriptor::parse(out.as_bytes()).unwrap();
        let (_, p) = back.product_sections()[1];
        assert_eq!(p.properties[0].value.as_deref(), Some("a&b<c>\"d'\n"));

        let out = apply_str(&[Edit::set_property("novalue", "q\"")]);
        assert!(out.contains(
            r#"<ovf:Property ovf:key="novalue" ovf:type="string" ovf:value="q&quot;"/>"#
        ));

        let e = d().apply(&[Edit::set_property("shared", "z")]).unwrap_err();
        assert!(matches!(e, Error::OvfEditTargetAmbiguous { .. }), "{e}");
        let out = apply_str(&[
            Edit::set_property("shared", "z").in_product(Some("com.example".into()), None)
        ]);
        assert!(out.contains(r#"ovf:key="shared" ovf:type="string" ovf:value="z""#));
        let e = d().apply(&[Edit::set_property("nope", "z")]).unwrap_err();
        assert!(matches!(e, Error::OvfEditTargetAbsent { .. }));
        let e = d()
            .apply(&[Edit::set_property("novalue", "\u{1}")])
            .unwrap_err();
        assert!(matches!(e, Error::OvfEditInvalidValue { .. }));
    }

    #[test]
    fn name_edit_and_absent_name() {
        let out = apply_str(&[Edit::set_name("R&D <1>").in_system("vm1")]);
        assert!(out.contains("<ovf:Name>R&amp;D &lt;1&gt;</ovf:Name>"));
        let e = d()
            .apply(&[Edit::set_name("x").in_system("vm2")])
            .unwrap_err();
        assert!(matches!(e, Error::OvfEditTargetAbsent { .. }), "{e}");
    }

    #[test]
    fn name_attribute_of_old_descriptors() {
        let xml = r#"<ovf:Envelope xmlns:ovf="http://www.vmware.com/schema/ovf/1/envelope" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <ovf:Content ovf:id="vm" ovf:name='old' xsi:type="ovf:VirtualSystem_Type"><ovf:Info/></ovf:Content>
</ovf:Envelope>"#;
        let d = Descriptor::parse(xml.as_bytes()).unwrap();
        assert_eq!(d.systems()[0].name.as_deref(), Some("old"));
        let out = String::from_utf8(d.apply(&[Edit::set_name("it's")]).unwrap()).unwrap();
        assert!(out.contains("ovf:name='it&apos;s'"), "{out}");
        let back = Descriptor::parse(out.as_bytes()).unwrap();
        assert_eq!(back.systems()[0].name.as_deref(), Some("it's"));
    }

    #[test]
    fn descriptor_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Descriptor>();
        check::<Edit>();
    }

    #[test]
    fn conflicting_edits_are_refused() {
        let e = d()
            .apply(&[
                Edit::set_cpus(2).in_system("vm1"),
                Edit::set_cpus(3).in_system("vm1"),
            ])
            .unwrap_err();
        assert!(matches!(e, Error::OvfEditConflict { .. }), "{e}");
    }

    #[test]
    fn chunk_size_is_added_or_replaced() {
        let doc = r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:href="a.vmdk" ovf:id="f1" ovf:size="10"/><File ovf:href='b.iso' ovf:id="f2" ovf:chunkSize='5'/></References></Envelope>"#;
        let d = Descriptor::parse(doc.as_bytes()).unwrap();
        let out = d
            .apply(&[
                Edit::set_chunk_size("a.vmdk", 1048576),
                Edit::set_chunk_size("b.iso", 7),
            ])
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            doc.replace(
                r#"ovf:size="10"/>"#,
                r#"ovf:size="10" ovf:chunkSize="1048576"/>"#
            )
            .replace("ovf:chunkSize='5'", "ovf:chunkSize='7'")
        );
        let parsed = Descriptor::parse(out.as_bytes()).unwrap();
        assert_eq!(parsed.references()[0].chunk_size, Some(1048576));
        assert!(matches!(
            d.apply(&[Edit::set_chunk_size("c", 1)]),
            Err(Error::OvfEditTargetAbsent { .. })
        ));
        assert!(d.apply(&[Edit::set_chunk_size("a.vmdk", 0)]).is_err());
    }

    #[test]
    fn only_edited_bytes_change() {
        let src = DOC.as_bytes();
        let out = d()
            .apply(&[Edit::set_virtual_system_type("vmx-07").in_system("vm1")])
            .unwrap();
        let pre = src.iter().zip(&out).take_while(|(a, b)| a == b).count();
        let post = src
            .iter()
            .rev()
            .zip(out.iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        assert_eq!(&src[pre..src.len() - post], b"13");
        assert_eq!(&out[pre..out.len() - post], b"07");
    }
}
