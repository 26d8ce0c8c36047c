//! The hypervisor a template is for, and the image format that follows from it. Pure.
//!
//! CloudStack reads the `hypervisor` parameter case-insensitively (`kvm` works) and answers
//! with its canonical name (`KVM`, `XenServer`, `VMware`); each hypervisor's zones take one
//! template format: QCOW2 for KVM, VHD for XenServer, OVA for VMware.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A hypervisor the pipeline prepares templates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub(crate) enum Hypervisor {
    /// VMware vSphere: OVA templates.
    #[default]
    VMware,
    /// KVM: QCOW2 templates.
    #[serde(rename = "KVM")]
    Kvm,
    /// XenServer / XCP-ng: VHD templates.
    XenServer,
}

impl Hypervisor {
    /// Every hypervisor, in the order the help lists them.
    pub(crate) const ALL: [Hypervisor; 3] =
        [Hypervisor::Kvm, Hypervisor::XenServer, Hypervisor::VMware];

    /// The name CloudStack uses (and answers with).
    pub(crate) fn api_name(self) -> &'static str {
        match self {
            Hypervisor::VMware => "VMware",
            Hypervisor::Kvm => "KVM",
            Hypervisor::XenServer => "XenServer",
        }
    }

    /// The template format this hypervisor's zones take.
    pub(crate) fn format(self) -> ImageFormat {
        match self {
            Hypervisor::VMware => ImageFormat::Ova,
            Hypervisor::Kvm => ImageFormat::Qcow2,
            Hypervisor::XenServer => ImageFormat::Vhd,
        }
    }
}

impl fmt::Display for Hypervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.api_name())
    }
}

/// A hypervisor name this pipeline does not prepare templates for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hypervisor `{0}` (expected KVM, XenServer or VMware, in any case)")]
pub(crate) struct UnknownHypervisor(pub(crate) String);

impl FromStr for Hypervisor {
    type Err = UnknownHypervisor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Hypervisor::ALL
            .into_iter()
            .find(|h| h.api_name().eq_ignore_ascii_case(t))
            // XCP-ng zones are XenServer zones to CloudStack.
            .or_else(|| {
                t.eq_ignore_ascii_case("xcp-ng")
                    .then_some(Hypervisor::XenServer)
            })
            .ok_or_else(|| UnknownHypervisor(s.to_owned()))
    }
}

/// The format of the file `prepare` writes and `register` declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ImageFormat {
    /// An OVA package (VMware).
    #[default]
    Ova,
    /// A QCOW2 image (KVM).
    Qcow2,
    /// A dynamic VHD (XenServer).
    Vhd,
}

impl ImageFormat {
    /// The `format` value of registerTemplate.
    pub(crate) fn api_name(self) -> &'static str {
        match self {
            ImageFormat::Ova => "OVA",
            ImageFormat::Qcow2 => "QCOW2",
            ImageFormat::Vhd => "VHD",
        }
    }

    /// The file name extension (without the dot).
    pub(crate) fn extension(self) -> &'static str {
        match self {
            ImageFormat::Ova => "ova",
            ImageFormat::Qcow2 => "qcow2",
            ImageFormat::Vhd => "vhd",
        }
    }

    /// The `Content-Type` of the published and transferred objects.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Ova => "application/x-tar",
            ImageFormat::Qcow2 | ImageFormat::Vhd => "application/octet-stream",
        }
    }

    /// The ova-core disk format, for QCOW2 and VHD.
    pub(crate) fn disk(self) -> Option<ova_core::disk::Format> {
        match self {
            ImageFormat::Ova => None,
            ImageFormat::Qcow2 => Some(ova_core::disk::Format::Qcow2),
            ImageFormat::Vhd => Some(ova_core::disk::Format::Vhd),
        }
    }

    /// The format of a file from its first bytes (and, for a VHD with only a trailing
    /// footer, its last 512): `None` when it is none of the three.
    pub(crate) fn sniff(first: &[u8], last: &[u8]) -> Option<Self> {
        if first.len() >= 262 && &first[257..262] == b"ustar" {
            return Some(ImageFormat::Ova);
        }
        match ova_core::disk::detect(first, last) {
            ova_core::disk::Format::Qcow2 => Some(ImageFormat::Qcow2),
            ova_core::disk::Format::Vhd => Some(ImageFormat::Vhd),
            _ => None,
        }
    }

    /// `an OVA file`, `a QCOW2 file`, `a VHD file`.
    pub(crate) fn a_file(self) -> String {
        let article = if self == ImageFormat::Ova { "an" } else { "a" };
        format!("{article} {self} file")
    }

    /// The hypervisor whose templates have this format.
    pub(crate) fn hypervisor(self) -> Hypervisor {
        match self {
            ImageFormat::Ova => Hypervisor::VMware,
            ImageFormat::Qcow2 => Hypervisor::Kvm,
            ImageFormat::Vhd => Hypervisor::XenServer,
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.api_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_in_any_case_and_write_canonically() {
        for (text, h) in [
            ("kvm", Hypervisor::Kvm),
            ("KVM", Hypervisor::Kvm),
            (" Kvm ", Hypervisor::Kvm),
            ("xenserver", Hypervisor::XenServer),
            ("XCP-ng", Hypervisor::XenServer),
            ("vmware", Hypervisor::VMware),
            ("VMware", Hypervisor::VMware),
        ] {
            assert_eq!(text.parse::<Hypervisor>(), Ok(h), "{text}");
        }
        for h in Hypervisor::ALL {
            assert_eq!(h.to_string().parse::<Hypervisor>(), Ok(h));
            assert_eq!(h.format().hypervisor(), h);
        }
        assert_eq!(Hypervisor::Kvm.api_name(), "KVM");
        let err = "hyperv".parse::<Hypervisor>().unwrap_err().to_string();
        assert!(err.contains("`hyperv`") && err.contains("KVM, XenServer or VMware"));
        assert_eq!(serde_json::to_string(&Hypervisor::Kvm).unwrap(), "\"KVM\"");
        assert_eq!(
            serde_json::to_string(&ImageFormat::Qcow2).unwrap(),
            "\"qcow2\""
        );
    }

    #[test]
    fn each_hypervisor_takes_one_format() {
        assert_eq!(Hypervisor::Kvm.format().api_name(), "QCOW2");
        assert_eq!(Hypervisor::XenServer.format().api_name(), "VHD");
        assert_eq!(Hypervisor::VMware.format().api_name(), "OVA");
        assert_eq!(ImageFormat::Vhd.extension(), "vhd");
        assert_eq!(ImageFormat::Ova.content_type(), "application/x-tar");
    }

    #[test]
    fn sniff_tells_the_three_apart() {
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(ImageFormat::sniff(&tar, &[]), Some(ImageFormat::Ova));
        assert_eq!(
            ImageFormat::sniff(b"QFI\xfb\0\0\0\x03", &[]),
            Some(ImageFormat::Qcow2)
        );
        assert_eq!(ImageFormat::sniff(b"conectix", &[]), Some(ImageFormat::Vhd));
        let mut footer = vec![0u8; 512];
        footer[..8].copy_from_slice(b"conectix");
        assert_eq!(
            ImageFormat::sniff(&[0u8; 512], &footer),
            Some(ImageFormat::Vhd)
        );
        assert_eq!(ImageFormat::sniff(b"hello", &[]), None);
        assert_eq!(ImageFormat::sniff(&[], &[]), None);
    }
}
