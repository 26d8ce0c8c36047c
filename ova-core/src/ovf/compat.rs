//! What each VMware virtual hardware version (`vmx-NN`) can carry, as data, and a check of a
//! system's hardware against the families its `VirtualSystemType` names.
//!
//! Sources: VMware's "Hardware Features Available with Virtual Machine Compatibility
//! Settings" table (vSphere 6.5–8.0 documentation) and the hardware-version list in
//! govmomi's `vim25/types/hardware_version.go` (Broadcom KB 312100). Limits are the
//! per-VM configuration maximums of the first product that shipped each version.
//!
//! ```
//! use ova_core::ovf::compat::{Device, Family, family, hardware_version};
//! assert_eq!(family("vmx-07"), Family::Vmware(7));
//! let hw7 = hardware_version(7).unwrap();
//! assert_eq!(hw7.max_vcpus, 8);
//! assert!(!hw7.supports(Device::Sata));
//! assert!(hardware_version(10).unwrap().supports(Device::Sata));
//! ```

use serde::Serialize;

use super::model::{Item, VirtualHardware, VirtualSystem, resource_type};
use crate::finding::Severity;

/// A device whose availability depends on the hardware version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Device {
    /// IDE controller.
    Ide,
    /// BusLogic parallel SCSI.
    BusLogic,
    /// LSI Logic parallel SCSI.
    LsiLogic,
    /// LSI Logic SAS.
    LsiLogicSas,
    /// VMware Paravirtual SCSI.
    Pvscsi,
    /// SATA (AHCI) controller.
    Sata,
    /// NVMe controller.
    Nvme,
    /// AMD PCnet32 (vlance) NIC.
    PcNet32,
    /// Flexible / vmxnet NIC.
    Vmxnet,
    /// Enhanced vmxnet (vmxnet2) NIC.
    Vmxnet2,
    /// VMXNET3 NIC.
    Vmxnet3,
    /// Intel E1000 NIC.
    E1000,
    /// Intel E1000e NIC.
    E1000e,
    /// USB 1.1/2.0 controller (UHCI/EHCI).
    Usb2,
    /// USB 3 controller (xHCI).
    Usb3,
    /// EFI firmware (`vmw:Config vmw:key="firmware" vmw:value="efi"`).
    Efi,
}

impl Device {
    /// A short human name.
    pub fn name(self) -> &'static str {
        match self {
            Device::Ide => "IDE controller",
            Device::BusLogic => "BusLogic SCSI controller",
            Device::LsiLogic => "LSI Logic SCSI controller",
            Device::LsiLogicSas => "LSI Logic SAS controller",
            Device::Pvscsi => "paravirtual SCSI controller",
            Device::Sata => "SATA controller",
            Device::Nvme => "NVMe controller",
            Device::PcNet32 => "PCnet32 NIC",
            Device::Vmxnet => "vmxnet NIC",
            Device::Vmxnet2 => "vmxnet2 NIC",
            Device::Vmxnet3 => "VMXNET3 NIC",
            Device::E1000 => "E1000 NIC",
            Device::E1000e => "E1000e NIC",
            Device::Usb2 => "USB 2 controller",
            Device::Usb3 => "USB 3 (xHCI) controller",
            Device::Efi => "EFI firmware",
        }
    }
}

/// One row of the hardware-version table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HardwareVersion {
    /// The number in `vmx-NN`.
    pub version: u32,
    /// The product that introduced it.
    pub introduced_in: &'static str,
    /// Whether ESX/ESXi runs it (some versions are Workstation/Fusion only).
    pub on_esxi: bool,
    /// Most virtual CPUs.
    pub max_vcpus: u32,
    /// Most memory, in GiB.
    pub max_memory_gib: u32,
    /// Most network adapters.
    pub max_nics: u32,
}

impl HardwareVersion {
    /// Whether this version can carry `device`.
    pub fn supports(&self, device: Device) -> bool {
        self.version >= min_version(device)
    }
}

const fn hv(
    version: u32,
    introduced_in: &'static str,
    on_esxi: bool,
    max_vcpus: u32,
    max_memory_gib: u32,
    max_nics: u32,
) -> HardwareVersion {
    HardwareVersion {
        version,
        introduced_in,
        on_esxi,
        max_vcpus,
        max_memory_gib,
        max_nics,
    }
}

/// The table: one row per known hardware version.
pub const HARDWARE_VERSIONS: &[HardwareVersion] = &[
    hv(3, "ESX 2.x", true, 2, 3, 4),
    hv(4, "ESX 3.x", true, 4, 64, 4),
    hv(6, "Workstation 6.0", false, 4, 8, 10),
    hv(7, "ESX/ESXi 4.x", true, 8, 255, 10),
    hv(8, "ESXi 5.0", true, 32, 1011, 10),
    hv(9, "ESXi 5.1", true, 64, 1011, 10),
    hv(10, "ESXi 5.5", true, 64, 1011, 10),
    hv(11, "ESXi 6.0", true, 128, 4080, 10),
    hv(12, "Workstation 12", false, 16, 64, 10),
    hv(13, "ESXi 6.5", true, 128, 6128, 10),
    hv(14, "ESXi 6.7", true, 128, 6128, 10),
    hv(15, "ESXi 6.7 U2", true, 256, 6128, 10),
    hv(16, "Workstation 15", false, 32, 128, 10),
    hv(17, "ESXi 7.0", true, 256, 6128, 10),
    hv(18, "ESXi 7.0 U1", true, 768, 24560, 10),
    hv(19, "ESXi 7.0 U2", true, 768, 24560, 10),
    hv(20, "ESXi 8.0", true, 768, 24560, 10),
    hv(21, "ESXi 8.0 U2", true, 768, 24560, 10),
    hv(22, "ESX 9.0", true, 960, 24560, 10),
];

/// The first hardware version that carries each device.
pub const DEVICE_MIN_VERSION: &[(Device, u32)] = &[
    (Device::Ide, 3),
    (Device::BusLogic, 3),
    (Device::LsiLogic, 3),
    (Device::PcNet32, 3),
    (Device::Vmxnet, 3),
    (Device::Vmxnet2, 4),
    (Device::E1000, 4),
    (Device::LsiLogicSas, 7),
    (Device::Pvscsi, 7),
    (Device::Vmxnet3, 7),
    (Device::Usb2, 6),
    (Device::E1000e, 8),
    (Device::Usb3, 8),
    (Device::Efi, 8),
    (Device::Sata, 10),
    (Device::Nvme, 13),
];

/// The first hardware version that carries `device`.
pub fn min_version(device: Device) -> u32 {
    DEVICE_MIN_VERSION
        .iter()
        .find(|(d, _)| *d == device)
        .map_or(u32::MAX, |(_, v)| *v)
}

/// The table row for `vmx-<version>`.
pub fn hardware_version(version: u32) -> Option<&'static HardwareVersion> {
    HARDWARE_VERSIONS.iter().find(|h| h.version == version)
}

/// What a `VirtualSystemType` token names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Family {
    /// `vmx-NN` (also the `vmx-6` spelling without a leading zero).
    Vmware(u32),
    /// A known family that is not VMware's (`virtualbox-2.2`, `qemu-*`, `xen-*`, ...): ESXi
    /// rejects it ("Unsupported hardware family").
    OtherKnown(String),
    /// Anything else.
    Unknown(String),
}

/// Classifies one `VirtualSystemType` token.
pub fn family(token: &str) -> Family {
    let t = token.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix("vmx-")
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && let Ok(v) = n.parse::<u32>()
    {
        return Family::Vmware(v);
    }
    let known = [
        "virtualbox-",
        "qemu",
        "kvm",
        "xen",
        "hyperv",
        "hyper-v",
        "bhyve",
    ];
    if known.iter().any(|k| lower.starts_with(k)) {
        Family::OtherKnown(t.to_string())
    } else {
        Family::Unknown(t.to_string())
    }
}

/// Checks a `VirtualSystemType` value before it is written: one hardware family, or several
/// separated by spaces (`vmx-07 vmx-08`, as vSphere reads the element), each a VMware
/// hardware version of [`HARDWARE_VERSIONS`] or a known family of another hypervisor
/// (`virtualbox-2.2`). vSphere refuses a value that names no family it knows
/// (`NotSupported`), so a typo such as `foo` is refused here instead of at import.
///
/// ```
/// use ova_core::ovf::compat::check_system_type;
/// assert!(check_system_type("vmx-07").is_ok());
/// assert!(check_system_type("vmx-07 vmx-08").is_ok());
/// assert!(check_system_type("foo").is_err());
/// assert!(check_system_type("vmx-99").is_err());
/// ```
///
/// # Errors
///
/// Why the value is refused, for a human.
pub fn check_system_type(value: &str) -> Result<(), String> {
    let tokens: Vec<&str> = value.split_whitespace().collect();
    if tokens.is_empty() {
        return Err("the value is empty".into());
    }
    let newest = HARDWARE_VERSIONS.last().map_or(0, |r| r.version);
    for t in tokens {
        match family(t) {
            Family::Vmware(v) if hardware_version(v).is_some() => {}
            Family::OtherKnown(_) => {}
            Family::Vmware(v) => {
                return Err(format!(
                    "vmx-{v:02} is no VMware hardware version (known: vmx-03, vmx-04, vmx-06 ... vmx-{newest})"
                ));
            }
            _ => {
                return Err(format!(
                    "{t:?} is no hardware family; write vmx-NN (vmx-04 ... vmx-{newest}), or several separated by spaces (\"vmx-07 vmx-08\")"
                ));
            }
        }
    }
    Ok(())
}

/// The version-dependent device an item is, if it is one.
pub fn classify(item: &Item) -> Option<Device> {
    let sub = item
        .resource_sub_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    // `ResourceSubType` may list alternatives ("someother, lsilogic"); take the first known.
    let subs: Vec<&str> = sub
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    let any = |names: &[&str]| subs.iter().any(|s| names.contains(s));
    match item.resource_type? {
        resource_type::IDE => Some(Device::Ide),
        resource_type::SCSI => {
            if any(&["lsilogicsas"]) {
                Some(Device::LsiLogicSas)
            } else if any(&["virtualscsi", "pvscsi"]) {
                Some(Device::Pvscsi)
            } else if any(&["buslogic"]) {
                Some(Device::BusLogic)
            } else if any(&["lsilogic"]) {
                Some(Device::LsiLogic)
            } else {
                None
            }
        }
        resource_type::OTHER_STORAGE => {
            if any(&["vmware.sata.ahci", "ahci"]) {
                Some(Device::Sata)
            } else if any(&["vmware.nvme.controller", "nvme"]) {
                Some(Device::Nvme)
            } else {
                None
            }
        }
        resource_type::ETHERNET => {
            if any(&["e1000e"]) {
                Some(Device::E1000e)
            } else if any(&["e1000"]) {
                Some(Device::E1000)
            } else if any(&["vmxnet3"]) {
                Some(Device::Vmxnet3)
            } else if any(&["vmxnet2"]) {
                Some(Device::Vmxnet2)
            } else if any(&["vmxnet", "flexible"]) {
                Some(Device::Vmxnet)
            } else if any(&["pcnet32"]) {
                Some(Device::PcNet32)
            } else {
                None
            }
        }
        resource_type::USB => {
            if any(&["vmware.usb.xhci", "xhci"]) {
                Some(Device::Usb3)
            } else {
                Some(Device::Usb2)
            }
        }
        _ => None,
    }
}

/// A problem [`check_hardware`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Stable kebab-case code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

fn problem(severity: Severity, code: &'static str, message: String) -> Problem {
    Problem {
        severity,
        code,
        message,
    }
}

/// Checks each `VirtualHardwareSection` of `system`: whether its `VirtualSystemType` names a
/// known family, and whether the oldest VMware family it names can carry its devices, CPU
/// count, memory and NIC count. So a downgrade (`vmx-13` → `vmx-07` with a SATA controller
/// left in) is caught before upload.
pub fn check_hardware(system: &VirtualSystem) -> Vec<Problem> {
    let mut out = Vec::new();
    for h in &system.hardware {
        check_section(system, h, &mut out);
    }
    out
}

fn check_section(system: &VirtualSystem, h: &VirtualHardware, out: &mut Vec<Problem>) {
    let sys = &system.id;
    if h.system_types.is_empty() {
        out.push(problem(
            Severity::Warning,
            "virtual-system-type-missing",
            format!("system {sys}: the hardware section names no VirtualSystemType"),
        ));
        return;
    }
    let families: Vec<Family> = h.system_types.iter().map(|t| family(t)).collect();
    let vmware: Vec<u32> = families
        .iter()
        .filter_map(|f| match f {
            Family::Vmware(v) => Some(*v),
            _ => None,
        })
        .collect();
    if vmware.is_empty() {
        for f in &families {
            match f {
                Family::OtherKnown(t) => out.push(problem(
                    Severity::Warning,
                    "non-vmware-virtual-system-type",
                    format!(
                        "system {sys}: VirtualSystemType {t} is not a VMware hardware family; ESXi refuses it (set it to a vmx-NN)"
                    ),
                )),
                Family::Unknown(t) => out.push(problem(
                    Severity::Warning,
                    "unknown-virtual-system-type",
                    format!("system {sys}: VirtualSystemType {t} is not a known hardware family"),
                )),
                Family::Vmware(_) => {}
            }
        }
        return;
    }
    let oldest = vmware.iter().copied().min().unwrap_or(0);
    let row = match hardware_version(oldest) {
        Some(r) => r,
        None => {
            let newest = HARDWARE_VERSIONS.last().map_or(0, |r| r.version);
            if oldest > newest {
                // Newer than this table: nothing to check against.
                out.push(problem(
                    Severity::Warning,
                    "unknown-virtual-system-type",
                    format!(
                        "system {sys}: vmx-{oldest:02} is newer than the known hardware versions (up to vmx-{newest})"
                    ),
                ));
            } else {
                out.push(problem(
                    Severity::Warning,
                    "unknown-virtual-system-type",
                    format!("system {sys}: vmx-{oldest:02} is not a VMware hardware version"),
                ));
            }
            return;
        }
    };
    let fam = format!("vmx-{oldest:02}");
    let exceeds = |what: String| {
        problem(
            Severity::Error,
            "hardware-exceeds-virtual-system-type",
            format!(
                "system {sys}: {fam} ({}) cannot carry {what}",
                row.introduced_in
            ),
        )
    };
    let mut nics = 0u32;
    for item in &h.items {
        if item.is_nic() && item.configurations.is_empty() {
            nics += 1;
        }
        if let Some(dev) = classify(item)
            && !row.supports(dev)
        {
            let label = item.element_name.as_deref().unwrap_or("");
            let mut p = exceeds(format!(
                "a {} (item {:?}{}; needs vmx-{:02} or later)",
                dev.name(),
                item.instance_id.as_deref().unwrap_or(""),
                if label.is_empty() {
                    String::new()
                } else {
                    format!(" {label:?}")
                },
                min_version(dev)
            ));
            // An item marked ovf:required="false" may be dropped by the consumer.
            if !item.required {
                p.severity = Severity::Warning;
                p.message
                    .push_str(" (the item is optional: ovf:required=\"false\")");
            }
            out.push(p);
        }
        let cfg = if item.configurations.is_empty() {
            String::new()
        } else {
            format!(" in configuration {}", item.configurations.join(" "))
        };
        match item.resource_type {
            Some(resource_type::CPU) => {
                if let Some(n) = item.virtual_quantity
                    && n > u64::from(row.max_vcpus)
                {
                    out.push(exceeds(format!(
                        "{n} virtual CPUs{cfg} (at most {})",
                        row.max_vcpus
                    )));
                }
            }
            Some(resource_type::MEMORY) => {
                let units = item.allocation_units.as_deref();
                let per = units.map_or(Ok(1 << 20), super::units::bytes_per_unit);
                match (item.virtual_quantity, per) {
                    (Some(q), Ok(per)) => {
                        let max = u128::from(row.max_memory_gib) << 30;
                        let bytes = u128::from(q) * u128::from(per);
                        if bytes > max {
                            out.push(exceeds(format!(
                                "{} MiB of memory{cfg} (at most {} GiB)",
                                bytes >> 20,
                                row.max_memory_gib
                            )));
                        }
                    }
                    (_, Err(e)) => out.push(problem(
                        Severity::Warning,
                        "allocation-units-unparseable",
                        format!(
                            "system {sys}: memory AllocationUnits {:?} cannot be read ({e})",
                            units.unwrap_or("")
                        ),
                    )),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if h.firmware
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case("efi"))
        && !row.supports(Device::Efi)
    {
        out.push(exceeds(format!(
            "EFI firmware (needs vmx-{:02} or later; set firmware to bios)",
            min_version(Device::Efi)
        )));
    }
    if nics > row.max_nics {
        out.push(exceeds(format!(
            "{nics} network adapters (at most {})",
            row.max_nics
        )));
    }
    if !row.on_esxi {
        out.push(problem(
            Severity::Warning,
            "virtual-system-type-not-on-esxi",
            format!(
                "system {sys}: {fam} is a {} hardware version that ESXi does not run",
                row.introduced_in
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ovf::Descriptor;

    fn system_with(vst: &str, items: &str) -> Descriptor {
        let xml = format!(
            r#"<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
<References/><VirtualSystem ovf:id="vm"><Info/><VirtualHardwareSection><Info/>
<System><vssd:VirtualSystemType>{vst}</vssd:VirtualSystemType></System>{items}
</VirtualHardwareSection></VirtualSystem></Envelope>"#
        );
        Descriptor::parse(xml.as_bytes()).unwrap()
    }

    fn item(rt: u32, sub: &str, extra: &str) -> String {
        format!(
            "<Item><rasd:InstanceID>{rt}{sub}</rasd:InstanceID><rasd:ResourceSubType>{sub}</rasd:ResourceSubType><rasd:ResourceType>{rt}</rasd:ResourceType>{extra}</Item>"
        )
    }

    fn codes(d: &Descriptor) -> Vec<&'static str> {
        check_hardware(d.systems()[0])
            .iter()
            .map(|p| p.code)
            .collect()
    }

    #[test]
    fn table_is_ordered_and_devices_monotonic() {
        assert!(
            HARDWARE_VERSIONS
                .windows(2)
                .all(|w| w[0].version < w[1].version)
        );
        for v in 4..=21 {
            if v == 5 {
                continue;
            }
            assert!(hardware_version(v).is_some(), "vmx-{v}");
        }
        let h7 = hardware_version(7).unwrap();
        assert_eq!((h7.max_vcpus, h7.max_memory_gib), (8, 255));
        for d in [Device::Sata, Device::Nvme, Device::E1000e, Device::Usb3] {
            assert!(!h7.supports(d), "{d:?}");
        }
        for d in [Device::Vmxnet3, Device::Pvscsi, Device::LsiLogicSas] {
            assert!(h7.supports(d));
            assert!(!hardware_version(4).unwrap().supports(d));
        }
        assert!(hardware_version(13).unwrap().supports(Device::Nvme));
        assert!(!hardware_version(11).unwrap().supports(Device::Nvme));
    }

    #[test]
    fn families() {
        assert_eq!(family("vmx-6"), Family::Vmware(6));
        assert_eq!(family("VMX-21"), Family::Vmware(21));
        assert!(matches!(family("virtualbox-2.2"), Family::OtherKnown(_)));
        assert!(matches!(family("qemu-q35"), Family::OtherKnown(_)));
        assert!(matches!(
            family("Cisco:Internal:VMCloud-01"),
            Family::Unknown(_)
        ));
        assert!(matches!(family("vmx-"), Family::Unknown(_)));
    }

    #[test]
    fn downgrade_to_vmx07_is_caught() {
        let items = [
            item(20, "vmware.sata.ahci", ""),
            item(20, "vmware.nvme.controller", ""),
            item(10, "E1000e", ""),
            item(23, "vmware.usb.xhci", ""),
            item(3, "", "<rasd:VirtualQuantity>16</rasd:VirtualQuantity>"),
            item(
                4,
                "",
                "<rasd:AllocationUnits>byte * 2^30</rasd:AllocationUnits><rasd:VirtualQuantity>256</rasd:VirtualQuantity>",
            ),
        ]
        .concat();
        let d = system_with("vmx-07", &items);
        let problems = check_hardware(d.systems()[0]);
        assert_eq!(problems.len(), 6, "{problems:#?}");
        assert!(problems.iter().all(|p| p.severity == Severity::Error));
        // The same hardware is fine on vmx-13, except nothing.
        let d = system_with("vmx-13 vmx-14", &items);
        assert!(codes(&d).is_empty(), "{:?}", check_hardware(d.systems()[0]));
        // A list is checked against its oldest VMware family.
        let d = system_with("vmx-10 vmx-13", &item(20, "vmware.nvme.controller", ""));
        assert_eq!(codes(&d), ["hardware-exceeds-virtual-system-type"]);
        // At the limits is fine.
        let d = system_with(
            "vmx-07",
            &item(
                4,
                "",
                "<rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits><rasd:VirtualQuantity>261120</rasd:VirtualQuantity>",
            ),
        );
        assert!(codes(&d).is_empty());
    }

    #[test]
    fn efi_needs_vmx08() {
        let efi = r#"<vmw:Config xmlns:vmw="http://www.vmware.com/schema/ovf" ovf:required="false" vmw:key="firmware" vmw:value="efi"/>"#;
        let d = system_with("vmx-07", efi);
        assert_eq!(d.systems()[0].hardware[0].firmware.as_deref(), Some("efi"));
        assert_eq!(codes(&d), ["hardware-exceeds-virtual-system-type"]);
        assert!(codes(&system_with("vmx-08", efi)).is_empty());
        assert!(codes(&system_with("vmx-07", &efi.replace("efi", "bios"))).is_empty());
    }

    #[test]
    fn other_families() {
        assert_eq!(
            codes(&system_with("virtualbox-2.2", "")),
            ["non-vmware-virtual-system-type"]
        );
        assert_eq!(
            codes(&system_with("frobnitz-1", "")),
            ["unknown-virtual-system-type"]
        );
        assert_eq!(
            codes(&system_with("vmx-99", "")),
            ["unknown-virtual-system-type"]
        );
        assert_eq!(
            codes(&system_with("vmx-12", "")),
            ["virtual-system-type-not-on-esxi"]
        );
        assert!(codes(&system_with("vmx-08 Cisco:Internal:VMCloud-01", "")).is_empty());
        assert_eq!(codes(&system_with("", "")), ["virtual-system-type-missing"]);
    }
}
