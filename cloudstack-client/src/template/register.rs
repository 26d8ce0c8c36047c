//! The typed `registerTemplate` request.

use super::Zones;
use crate::{Error, Params, Result};

/// The algorithms CloudStack's `DigestHelper` accepts in `{ALGORITHM}hex`, with their hex length.
const CHECKSUM_ALGORITHMS: &[(&str, usize)] = &[
    ("MD5", 32),
    ("SHA-1", 40),
    ("SHA-224", 56),
    ("SHA-256", 64),
    ("SHA-384", 96),
    ("SHA-512", 128),
];

/// The CPU architectures `registerTemplate` takes in `arch` (CloudStack 4.20's `CPU.CPUArch`).
pub const ARCHITECTURES: &[&str] = &["x86_64", "aarch64"];

/// A `registerTemplate` request with the 4.20-era parameters typed.
///
/// # Examples
/// ```
/// use cloudstack_client::template::{RegisterTemplate, Zones};
/// let req = RegisterTemplate::new("web", "OVA", "VMware", "os-1", "https://h/web.ova", Zones::All)
///     .with_sha256("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
///     .with_arch("x86_64")
///     .with_deploy_as_is(true);
/// let p = req.params().unwrap();
/// assert_eq!(p.get("zoneids"), Some("-1"));
/// assert_eq!(p.get("checksum"), Some("{SHA-256}9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RegisterTemplate {
    /// `name`.
    pub name: String,
    /// `displaytext` (defaults to the name).
    pub displaytext: String,
    /// `format`: `OVA`, `QCOW2`, `VHD`, …
    pub format: String,
    /// `hypervisor`: `VMware`, `KVM`, `XenServer`, …
    pub hypervisor: String,
    /// `ostypeid`.
    pub ostypeid: String,
    /// `url` the storage VM downloads.
    pub url: String,
    /// `zoneid` (one zone), `zoneids` (several) or `zoneids=-1` (all zones).
    pub zones: Zones,
    /// `checksum`, `{ALGORITHM}hex` (the server verifies the download against it).
    pub checksum: Option<String>,
    /// `arch` (4.20+): `x86_64` or `aarch64`.
    pub arch: Option<String>,
    /// `directdownload` (KVM): the hosts fetch the URL at deploy time.
    pub directdownload: Option<bool>,
    /// `deployasis` (VMware, 4.15+): deploy with the OVF's own settings.
    pub deployasis: Option<bool>,
    /// Any other parameters (`isextractable`, `ispublic`, `passwordenabled`, …).
    pub extra: Params,
}

impl RegisterTemplate {
    /// The required parameters; `displaytext` is the name.
    pub fn new(
        name: impl Into<String>,
        format: impl Into<String>,
        hypervisor: impl Into<String>,
        ostypeid: impl Into<String>,
        url: impl Into<String>,
        zones: Zones,
    ) -> Self {
        let name = name.into();
        Self {
            displaytext: name.clone(),
            name,
            format: format.into(),
            hypervisor: hypervisor.into(),
            ostypeid: ostypeid.into(),
            url: url.into(),
            zones,
            checksum: None,
            arch: None,
            directdownload: None,
            deployasis: None,
            extra: Params::new(),
        }
    }

    /// `checksum={SHA-256}<hex>` from a SHA-256 digest in hex.
    pub fn with_sha256(mut self, hex: impl AsRef<str>) -> Self {
        self.checksum = Some(format!("{{SHA-256}}{}", hex.as_ref().to_ascii_lowercase()));
        self
    }

    /// `arch`.
    pub fn with_arch(mut self, arch: impl Into<String>) -> Self {
        self.arch = Some(arch.into());
        self
    }

    /// `directdownload`.
    pub fn with_direct_download(mut self, on: bool) -> Self {
        self.directdownload = Some(on);
        self
    }

    /// `deployasis`.
    pub fn with_deploy_as_is(mut self, on: bool) -> Self {
        self.deployasis = Some(on);
        self
    }

    /// `displaytext`.
    pub fn with_displaytext(mut self, text: impl Into<String>) -> Self {
        self.displaytext = text.into();
        self
    }

    /// Another parameter.
    pub fn with_param(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.extra.insert(key, value);
        self
    }

    /// The request's parameters, checked.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty required value, no zone, a checksum that is not
    /// `{ALGORITHM}hex` with a known algorithm and the right length, an unknown `arch`, or an
    /// `extra` parameter that repeats a typed one.
    pub fn params(&self) -> Result<Params> {
        let bad = |reason: String| Error::InvalidRequest {
            command: "registerTemplate".into(),
            reason,
        };
        let mut p = Params::new();
        for (k, v) in [
            ("name", &self.name),
            ("displaytext", &self.displaytext),
            ("format", &self.format),
            ("hypervisor", &self.hypervisor),
            ("ostypeid", &self.ostypeid),
            ("url", &self.url),
        ] {
            if v.trim().is_empty() {
                return Err(bad(format!("{k} is empty")));
            }
            p.insert(k, v.as_str());
        }
        match &self.zones {
            Zones::All => p.insert("zoneids", "-1"),
            Zones::These(z) if z.is_empty() || z.iter().any(|z| z.trim().is_empty()) => {
                return Err(bad(
                    "no zone: name a zone id, or Zones::All for every zone".into()
                ));
            }
            Zones::These(z) if z.len() == 1 => p.insert("zoneid", z[0].as_str()),
            Zones::These(z) => p.insert("zoneids", z.join(",")),
        }
        if let Some(c) = &self.checksum {
            check_checksum(c).map_err(bad)?;
            p.insert("checksum", c.as_str());
        }
        if let Some(a) = &self.arch {
            if !ARCHITECTURES.contains(&a.as_str()) {
                return Err(bad(format!(
                    "arch {a:?} is not one of {}",
                    ARCHITECTURES.join(", ")
                )));
            }
            p.insert("arch", a.as_str());
        }
        for (k, v) in [
            ("directdownload", self.directdownload),
            ("deployasis", self.deployasis),
        ] {
            if let Some(v) = v {
                p.insert(k, if v { "true" } else { "false" });
            }
        }
        for (k, v) in self.extra.iter() {
            if p.get(k).is_some() || (k == "zoneid" || k == "zoneids") {
                return Err(bad(format!(
                    "parameter {k} is set by a typed field; set it there"
                )));
            }
            p.insert(k, v);
        }
        Ok(p)
    }
}

/// Checks `{ALGORITHM}hex`.
fn check_checksum(c: &str) -> std::result::Result<(), String> {
    let Some((alg, hex)) = c.strip_prefix('{').and_then(|r| r.split_once('}')) else {
        return Err(format!(
            "checksum {c:?} must be {{ALGORITHM}}hex, e.g. {{SHA-256}}<64 hex digits>"
        ));
    };
    let Some(&(_, len)) = CHECKSUM_ALGORITHMS
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(alg))
    else {
        let known: Vec<&str> = CHECKSUM_ALGORITHMS.iter().map(|(a, _)| *a).collect();
        return Err(format!(
            "checksum algorithm {alg:?} is not one of {}",
            known.join(", ")
        ));
    };
    if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "a {alg} checksum is {len} hex digits, got {:?}",
            hex
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_parameters() {
        let base = || {
            RegisterTemplate::new(
                "n",
                "OVA",
                "VMware",
                "os",
                "http://h/x.ova",
                Zones::one("z1"),
            )
        };
        let p = base().params().unwrap();
        assert_eq!(p.get("zoneid"), Some("z1"));
        assert_eq!(p.get("displaytext"), Some("n"));
        assert!(p.get("zoneids").is_none() && p.get("checksum").is_none());
        let p = RegisterTemplate {
            zones: Zones::These(vec!["a".into(), "b".into()]),
            ..base()
        }
        .with_direct_download(false)
        .with_param("isextractable", "true")
        .params()
        .unwrap();
        assert_eq!(p.get("zoneids"), Some("a,b"));
        assert_eq!(p.get("directdownload"), Some("false"));
        assert_eq!(p.get("isextractable"), Some("true"));
        let hex = "AB".repeat(32);
        let p = base().with_sha256(&hex).params().unwrap();
        assert_eq!(
            p.get("checksum").unwrap(),
            format!("{{SHA-256}}{}", "ab".repeat(32))
        );
        for bad in [
            base().with_sha256("abc"),
            RegisterTemplate {
                checksum: Some("ab".repeat(32)),
                ..base()
            },
            RegisterTemplate {
                checksum: Some(format!("{{SHA-3}}{}", "ab".repeat(32))),
                ..base()
            },
            base().with_arch("ppc64"),
            RegisterTemplate {
                zones: Zones::These(vec![]),
                ..base()
            },
            RegisterTemplate {
                url: " ".into(),
                ..base()
            },
            base().with_param("zoneids", "-1"),
            base().with_param("name", "again"),
        ] {
            assert!(
                matches!(bad.params(), Err(Error::InvalidRequest { .. })),
                "{bad:?}"
            );
        }
        let md5 = RegisterTemplate {
            checksum: Some(format!("{{MD5}}{}", "0f".repeat(16))),
            ..base()
        };
        assert!(md5.params().is_ok());
    }
}
