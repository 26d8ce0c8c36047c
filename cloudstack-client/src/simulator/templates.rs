//! Template commands: register (4.20 parameters: `checksum`, `arch`, `directdownload`, `zoneids`,
//! `deployasis`), list, update, delete, extract, and the download's status texts.
//!
//! A template is kept as one row per zone, as the server's `template_view` lists it; the rows of
//! one template share its `id`.
//!
//! Status texts (`TemplateJoinDaoImpl.getTemplateStatus`): `Processing` until the download starts,
//! `<n>% Downloaded` while it runs, `Download Complete` (with `isready: true`) when stored, or the
//! secondary storage's error text when it failed (`isready` stays false).

use serde_json::{Map, Value, json};

use super::state::{
    ACCOUNT, ACCOUNT_ID, Action, Answer, DOMAIN_ID, Params, SideEffect, State, error, find, flag,
    invalid, now_str, obj, s,
};

/// The algorithms `DigestHelper` accepts in a `{ALGORITHM}hex` checksum, with their digest length
/// in bytes. A checksum without a prefix is MD5.
const ALGORITHMS: &[(&str, usize)] = &[
    ("MD5", 16),
    ("SHA-1", 20),
    ("SHA-224", 28),
    ("SHA-256", 32),
    ("SHA-384", 48),
    ("SHA-512", 64),
];

/// A registered checksum: algorithm (as `MessageDigest` names it) and lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checksum {
    pub(crate) algorithm: &'static str,
    pub(crate) hex: String,
}

impl std::fmt::Display for Checksum {
    /// `ChecksumValue.toString()`: `{SHA-256}hex`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{{}}}{}", self.algorithm, self.hex)
    }
}

impl Checksum {
    /// Parses `{ALGORITHM}hex` (algorithm name matched ignoring case, as `MessageDigest.getInstance`
    /// does) or plain hex (MD5).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, hex) = match text.strip_prefix('{').and_then(|r| r.split_once('}')) {
            Some((name, hex)) => (name, hex),
            None => ("MD5", text),
        };
        let Some(&(algorithm, len)) = ALGORITHMS
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(name))
        else {
            return Err(format!(
                "Checksum algorithm {name} is not supported; use one of MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512 as {{ALGORITHM}}hex"
            ));
        };
        if hex.len() != len * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "Checksum {text} is not a valid {algorithm} value: expected {} hexadecimal digits",
                len * 2
            ));
        }
        Ok(Self {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }

    /// The same algorithm's digest of `bytes`.
    pub(crate) fn of(&self, bytes: &[u8]) -> Self {
        use sha2::Digest;
        fn hex<D: Digest>(b: &[u8]) -> String {
            D::digest(b).iter().map(|x| format!("{x:02x}")).collect()
        }
        let hex = match self.algorithm {
            "MD5" => hex::<md5::Md5>(bytes),
            "SHA-1" => hex::<sha1::Sha1>(bytes),
            "SHA-224" => hex::<sha2::Sha224>(bytes),
            "SHA-384" => hex::<sha2::Sha384>(bytes),
            "SHA-512" => hex::<sha2::Sha512>(bytes),
            _ => hex::<sha2::Sha256>(bytes),
        };
        Self {
            algorithm: self.algorithm,
            hex,
        }
    }
}

/// The secondary storage's text when the downloaded bytes do not match the registered checksum
/// (`DownloadManagerImpl.postLocalDownload`).
pub(crate) fn checksum_mismatch(computed: &Checksum, given: &Checksum) -> String {
    format!("checksum \"{computed}\" didn't match the given value, \"{given}\"")
}

impl State {
    pub(crate) fn list_templates(&self, p: &Params) -> Answer {
        let filter = p
            .get("templatefilter")
            .map(|f| f.to_lowercase())
            .unwrap_or_default();
        let keep: fn(&Map<String, Value>) -> bool = match filter.as_str() {
            "featured" => |t| t.get("isfeatured") == Some(&Value::Bool(true)),
            "self" | "selfexecutable" => |t| s(t, "account") == ACCOUNT,
            "community" => |t| {
                t.get("ispublic") == Some(&Value::Bool(true))
                    && t.get("isfeatured") != Some(&Value::Bool(true))
            },
            "executable" | "all" | "sharedexecutable" => |_| true,
            _ => {
                return error(
                    431,
                    4350,
                    "Unable to execute API command listtemplates due to invalid value. Invalid parameter templatefilter value=".to_owned()
                        + p.get("templatefilter").map(String::as_str).unwrap_or(""),
                );
            }
        };
        let ts: Vec<_> = self.templates.iter().filter(|t| keep(t)).cloned().collect();
        self.list(
            "template",
            &ts,
            p,
            &["id", "name", "zoneid", "hypervisor", "arch"],
        )
    }

    /// Every row (one per zone) of template `id`.
    pub(crate) fn template_rows_mut(
        &mut self,
        id: &str,
    ) -> impl Iterator<Item = &mut Map<String, Value>> {
        self.templates.iter_mut().filter(move |t| s(t, "id") == id)
    }

    /// The zones a registration names: `zoneid`, or `zoneids` (a comma-separated list), where
    /// `-1` alone means every zone (a cross-zone template).
    fn target_zones(&self, p: &Params) -> Result<(Vec<Map<String, Value>>, bool), Answer> {
        let zoneid = p.get("zoneid").filter(|v| !v.is_empty());
        let zoneids: Vec<&str> = p
            .get("zoneids")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|z| !z.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let ids: Vec<&str> = match (zoneid, zoneids.is_empty()) {
            (Some(_), false) => {
                return Err(error(
                    431,
                    4350,
                    "Both zoneid and zoneids cannot be specified at the same time",
                ));
            }
            (None, true) => {
                return Err(error(
                    431,
                    4350,
                    "Either zoneid or zoneids is required. Both cannot be null.",
                ));
            }
            (Some(z), true) => vec![z.as_str()],
            (None, false) => zoneids,
        };
        if ids.len() > 1 && ids.contains(&"-1") {
            return Err(error(
                431,
                4350,
                "ZoneId = -1 is not allowed when multiple zones are specified",
            ));
        }
        if ids == ["-1"] {
            return Ok((self.zones.clone(), true));
        }
        let mut zones = Vec::new();
        for id in ids {
            match find(&self.zones, id) {
                Some(z) => zones.push(z.clone()),
                None => return Err(invalid("registerTemplate", "zoneid", id)),
            }
        }
        Ok((zones, false))
    }

    pub(crate) fn register_template(
        &mut self,
        p: &Params,
        effects: &mut Vec<SideEffect>,
    ) -> Answer {
        let g = |k: &str| p.get(k).cloned().unwrap_or_default();
        let Some(os) = find(&self.ostypes, &g("ostypeid")).cloned() else {
            return invalid("registerTemplate", "ostypeid", &g("ostypeid"));
        };
        let (zones, cross_zones) = match self.target_zones(p) {
            Ok(z) => z,
            Err(e) => return e,
        };
        let format = g("format").to_uppercase();
        if !["OVA", "QCOW2", "VHD", "VHDX", "RAW", "VMDK", "ISO", "TAR"].contains(&format.as_str())
        {
            return error(
                431,
                4350,
                format!(
                    "Image format: {} is incorrect. Supported formats are VHD, VHDX, QCOW2, OVA, RAW, VMDK, TAR",
                    g("format")
                ),
            );
        }
        let hypervisor = match [
            "KVM",
            "VMware",
            "XenServer",
            "Hyperv",
            "LXC",
            "Ovm3",
            "Simulator",
        ]
        .iter()
        .find(|h| h.eq_ignore_ascii_case(&g("hypervisor")))
        {
            Some(h) => *h,
            None => {
                return error(
                    431,
                    4350,
                    format!("Hypervisor Type: {} is invalid. ", g("hypervisor")),
                );
            }
        };
        if let Some(allowed) = formats_for(hypervisor)
            && !allowed.contains(&format.as_str())
        {
            return error(
                431,
                4350,
                format!(
                    "Image format: {format} is not supported for hypervisor {hypervisor}. Supported formats for {hypervisor} are {}",
                    allowed.join(", ")
                ),
            );
        }
        let url = g("url");
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return error(431, 4350, format!("Unsupported scheme for url: {url}"));
        }
        let checksum = match p.get("checksum").filter(|c| !c.trim().is_empty()) {
            Some(c) => match Checksum::parse(c) {
                Ok(c) => Some(c),
                Err(text) => return error(431, 4350, text),
            },
            None => None,
        };
        let arch = match p.get("arch").map(|a| a.to_lowercase()) {
            None => "x86_64".to_owned(),
            Some(a) if a == "x86_64" || a == "aarch64" => a,
            Some(a) => {
                return error(
                    431,
                    4350,
                    format!("Invalid value for arch: {a}. Valid options are: x86_64, aarch64"),
                );
            }
        };
        let direct = flag(p, "directdownload");
        if direct && hypervisor != "KVM" {
            return error(
                431,
                4350,
                "Parameter directdownload is only allowed for KVM templates",
            );
        }
        let id = self.uuid();
        let name = g("name");
        let displaytext = p
            .get("displaytext")
            .filter(|d| !d.is_empty())
            .cloned()
            .unwrap_or_else(|| name.clone());
        let row = |zone: &Map<String, Value>| {
            obj(json!({
                "id": id, "name": name, "displaytext": displaytext, "ispublic": flag(p, "ispublic"), "created": now_str(),
                "isready": false, "passwordenabled": flag(p, "passwordenabled"), "format": format, "isfeatured": flag(p, "isfeatured"),
                "crossZones": cross_zones, "ostypeid": s(&os, "id"), "ostypename": s(&os, "description"), "account": ACCOUNT,
                "accountid": ACCOUNT_ID, "zoneid": s(zone, "id"), "zonename": s(zone, "name"), "status": "Processing",
                "templatetype": "USER", "hypervisor": hypervisor, "domain": "ROOT", "domainid": DOMAIN_ID,
                "isextractable": flag(p, "isextractable"), "sshkeyenabled": flag(p, "sshkeyenabled"),
                "isdynamicallyscalable": flag(p, "isdynamicallyscalable"), "checksum": checksum.as_ref().map(|c| c.hex.clone()),
                "downloaddetails": [{"datastore": format!("nfs-secondary-{}", s(zone, "name")), "downloadPercent": "0", "downloadState": "NOT_DOWNLOADED"}],
                "bits": 64, "directdownload": direct, "deployasis": hypervisor == "VMware" && flag(p, "deployasis"),
                "requireshvm": flag(p, "requireshvm"), "arch": arch, "url": url, "details": {}, "tags": []
            }))
        };
        let rows: Vec<_> = zones.iter().map(row).collect();
        self.templates.extend(rows.iter().cloned());
        self.template_urls.insert(id.clone(), url.clone());
        if let Some(c) = &checksum {
            self.template_checksums.insert(id.clone(), c.to_string());
        }
        effects.push(SideEffect::Download {
            template_id: id,
            url,
        });
        (200, json!({"count": rows.len(), "template": rows}))
    }

    pub(crate) fn update_template(&mut self, p: &Params) -> Answer {
        let id = p["id"].clone();
        if find(&self.templates, &id).is_none() {
            return invalid("updateTemplate", "id", &id);
        }
        let os = match p.get("ostypeid") {
            Some(o) => match find(&self.ostypes, o) {
                Some(os) => Some(os.clone()),
                None => return invalid("updateTemplate", "ostypeid", o),
            },
            None => None,
        };
        for t in self.template_rows_mut(&id) {
            for k in ["name", "displaytext", "format", "arch", "templatetype"] {
                if let Some(v) = p.get(k) {
                    let v = if k == "format" || k == "templatetype" {
                        v.to_uppercase()
                    } else {
                        v.clone()
                    };
                    t.insert(k.into(), json!(v));
                }
            }
            for k in [
                "passwordenabled",
                "sshkeyenabled",
                "isdynamicallyscalable",
                "requireshvm",
                "bootable",
            ] {
                if p.contains_key(k) {
                    t.insert(k.into(), json!(flag(p, k)));
                }
            }
            if let Some(os) = &os {
                t.insert("ostypeid".into(), json!(s(os, "id")));
                t.insert("ostypename".into(), json!(s(os, "description")));
            }
        }
        let t = find(&self.templates, &id).cloned().unwrap_or_default();
        (200, json!({"template": t}))
    }

    pub(crate) fn update_template_permissions(&mut self, p: &Params) -> Answer {
        let id = p["id"].clone();
        if find(&self.templates, &id).is_none() {
            return invalid("updateTemplatePermissions", "id", &id);
        }
        if (p.contains_key("accounts") || p.contains_key("projectids")) && !p.contains_key("op") {
            return error(
                431,
                4350,
                "The op parameter is required when accounts or projectids are given",
            );
        }
        for t in self.template_rows_mut(&id) {
            for k in ["isextractable", "isfeatured", "ispublic"] {
                if p.contains_key(k) {
                    t.insert(k.into(), json!(flag(p, k)));
                }
            }
        }
        (200, json!({"success": true}))
    }

    pub(crate) fn delete_template(&mut self, p: &Params) -> Answer {
        let id = p["id"].clone();
        if find(&self.templates, &id).is_none() {
            return invalid("deleteTemplate", "id", &id);
        }
        let zone = p.get("zoneid").cloned();
        if let Some(z) = &zone
            && !self
                .templates
                .iter()
                .any(|t| s(t, "id") == id && s(t, "zoneid") == *z)
        {
            return error(
                431,
                4350,
                format!("Template {id} is not available in zone {z}"),
            );
        }
        let jobid = self.new_job(
            "deleteTemplate",
            "template.DeleteTemplateCmd",
            "Template",
            &id,
            Action::DeleteTemplate(id.clone(), zone),
        );
        (200, json!({"jobid": jobid}))
    }

    pub(crate) fn remove_template(&mut self, id: &str, zone: Option<&str>) {
        self.templates
            .retain(|t| !(s(t, "id") == id && zone.is_none_or(|z| s(t, "zoneid") == z)));
        if find(&self.templates, id).is_none() {
            self.template_urls.remove(id);
            self.template_checksums.remove(id);
        }
    }

    pub(crate) fn extract_template(&mut self, p: &Params) -> Answer {
        let id = p["id"].clone();
        let row = match p.get("zoneid") {
            Some(z) => self
                .templates
                .iter()
                .find(|t| s(t, "id") == id && s(t, "zoneid") == *z),
            None => find(&self.templates, &id),
        };
        let Some(t) = row else {
            return invalid("extractTemplate", "id", &id);
        };
        let mode = p["mode"].to_uppercase();
        if mode != "HTTP_DOWNLOAD" {
            return error(
                431,
                4350,
                format!(
                    "Please specify a valid extract Mode. Supported modes: HTTP_DOWNLOAD; got {}",
                    p["mode"]
                ),
            );
        }
        // The server refuses a template that is not extractable only to callers who are not
        // the root admin (`!isRootAdmin(caller) && !template.isExtractable()`); the simulator's
        // keys are the root admin's, so `isextractable` does not stop an extract here.
        if t.get("isready") != Some(&Value::Bool(true)) {
            return error(
                431,
                4350,
                format!("Unable to extract template id={id} as it's not yet downloaded"),
            );
        }
        let zone = s(t, "zoneid");
        let jobid = self.new_job(
            "extractTemplate",
            "template.ExtractTemplateCmd",
            "Template",
            &id,
            Action::Extract(id.clone(), zone),
        );
        (200, json!({"jobid": jobid}))
    }

    /// The `ExtractResponse` of a finished extract job, with a plain download URL as 4.16+
    /// servers write it: `/userdata/<uuid>.<extension of the stored format>`, the name
    /// `createEntityExtractUrl` gives the link on secondary storage (`ImageFormat
    /// .getFileExtension()`: `.ova`, `.qcow2`, `.vhd`, ...).
    pub(crate) fn extract_result(&mut self, id: &str, zone: &str, base_url: &str) -> Value {
        let token = self.uuid();
        self.extracts.insert(token.clone(), id.to_owned());
        let t = self
            .templates
            .iter()
            .find(|t| s(t, "id") == id && s(t, "zoneid") == zone)
            .cloned()
            .unwrap_or_default();
        let url = format!(
            "{base_url}/userdata/{token}.{}",
            extract_extension(&s(&t, "format"))
        );
        json!({"template": {
            "id": id, "name": s(&t, "name"), "extractId": token, "accountid": ACCOUNT_ID, "state": "DOWNLOAD_URL_CREATED",
            "zoneid": s(&t, "zoneid"), "zonename": s(&t, "zonename"), "extractMode": "HTTP_DOWNLOAD", "url": url,
            "uploadpercentage": 100, "created": now_str(), "status": "DOWNLOAD_URL_CREATED"
        }})
    }

    /// Sets the download state of every row of template `id`: `percent` while in progress,
    /// `Ok(size)` when stored, `Err(text)` when it failed.
    pub(crate) fn set_download(&mut self, id: &str, progress: Download) {
        for t in self.template_rows_mut(id) {
            let (status, ready, state, percent) = match &progress {
                Download::Progress(n) => (
                    format!("{n}% Downloaded"),
                    false,
                    "DOWNLOAD_IN_PROGRESS",
                    *n,
                ),
                Download::Done(size) => {
                    t.insert("size".into(), json!(size));
                    t.insert("physicalsize".into(), json!(size));
                    ("Download Complete".to_owned(), true, "DOWNLOADED", 100)
                }
                Download::Failed(text) => (text.clone(), false, "DOWNLOAD_ERROR", 0),
            };
            t.insert("status".into(), json!(status));
            t.insert("isready".into(), json!(ready));
            if let Some(Value::Array(d)) = t.get_mut("downloaddetails")
                && let Some(Value::Object(d)) = d.first_mut()
            {
                d.insert("downloadState".into(), json!(state));
                d.insert("downloadPercent".into(), json!(percent.to_string()));
            }
        }
    }
}

impl State {
    /// After a restart from saved state: a download that was running cannot finish.
    pub(crate) fn interrupt_downloads(&mut self) {
        let running: Vec<String> = self
            .templates
            .iter()
            .filter(|t| {
                t.get("isready") == Some(&Value::Bool(false))
                    && t.get("downloaddetails")
                        .and_then(|d| d.get(0))
                        .and_then(|d| d.get("downloadState"))
                        .and_then(Value::as_str)
                        != Some("DOWNLOAD_ERROR")
            })
            .map(|t| s(t, "id"))
            .collect();
        for id in running {
            self.set_download(
                &id,
                Download::Failed("Failed: download interrupted by a simulator restart".into()),
            );
        }
    }
}

/// The file extension of a stored template format (`ImageFormat.getFileExtension()`).
pub(crate) fn extract_extension(format: &str) -> String {
    if format.is_empty() {
        "ova".to_owned()
    } else {
        format.to_ascii_lowercase()
    }
}

/// A template download's progress.
#[derive(Debug, Clone)]
pub(crate) enum Download {
    /// Percent received so far.
    Progress(u8),
    /// Stored; the size in bytes.
    Done(usize),
    /// Failed with the secondary storage's text.
    Failed(String),
}

/// `true` when `bytes` start like an OVA: a tar archive whose first entry is an `.ovf` file
/// (checks the ustar header checksum and the name).
/// The template formats a hypervisor's zones take (`None`: this simulator does not restrict them).
pub(crate) fn formats_for(hypervisor: &str) -> Option<&'static [&'static str]> {
    match hypervisor {
        "KVM" => Some(&["QCOW2", "RAW"]),
        "XenServer" => Some(&["VHD"]),
        "VMware" => Some(&["OVA"]),
        _ => None,
    }
}

/// Why a downloaded file is not the format it was registered as, after the basic header checks
/// the secondary storage VM's format processors make: the QCOW2 magic, version and a non-zero
/// virtual size; the VHD footer cookie (`conectix`, at the end and, for a dynamic VHD, at the
/// front) and a non-zero current size.
pub(crate) fn disk_header_problem(format: &str, bytes: &[u8]) -> Option<String> {
    let be64 = |b: &[u8], at: usize| {
        b.get(at..at + 8)
            .map(|s| u64::from_be_bytes(s.try_into().unwrap_or([0; 8])))
    };
    match format {
        "QCOW2" => {
            if bytes.get(..4) != Some(b"QFI\xfb".as_slice()) {
                return Some("the file is not a QCOW2 image (no QFI\\xfb magic)".into());
            }
            let version = bytes
                .get(4..8)
                .map(|s| u32::from_be_bytes(s.try_into().unwrap_or([0; 4])));
            if !matches!(version, Some(2 | 3)) {
                return Some(format!(
                    "the QCOW2 header has version {version:?}, not 2 or 3"
                ));
            }
            match be64(bytes, 24) {
                Some(0) | None => Some("the QCOW2 header gives no virtual size".into()),
                Some(_) => None,
            }
        }
        "VHD" => {
            let n = bytes.len();
            let footer = if n >= 512 && &bytes[n - 512..n - 504] == b"conectix" {
                &bytes[n - 512..]
            } else if n >= 511 && &bytes[n - 511..n - 503] == b"conectix" {
                &bytes[n - 511..]
            } else {
                return Some("the file is not a VHD (no conectix footer)".into());
            };
            let disk_type = footer
                .get(60..64)
                .map(|s| u32::from_be_bytes(s.try_into().unwrap_or([0; 4])));
            if disk_type == Some(3) && bytes.get(..8) != Some(b"conectix".as_slice()) {
                return Some("the dynamic VHD has no footer copy at its start".into());
            }
            match be64(footer, 48) {
                Some(0) | None => Some("the VHD footer gives no current size".into()),
                Some(_) => None,
            }
        }
        _ => None,
    }
}

pub(crate) fn looks_like_ova(bytes: &[u8]) -> bool {
    if bytes.len() < 512 {
        return false;
    }
    let h = &bytes[..512];
    let name_end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
    let Ok(name) = std::str::from_utf8(&h[..name_end]) else {
        return false;
    };
    let stored = std::str::from_utf8(&h[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    let typeflag_ok = matches!(h[156], b'0' | 0);
    stored == Some(sum) && typeflag_ok && name.to_ascii_lowercase().ends_with(".ovf")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_header(name: &str) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(b"00000000000");
        h[156] = b'0';
        h[257..262].copy_from_slice(b"ustar");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    #[test]
    fn ova_check() {
        assert!(looks_like_ova(&tar_header("vm.ovf")));
        assert!(!looks_like_ova(&tar_header("disk.vmdk")));
        let mut bad = tar_header("vm.ovf");
        bad[0] = b'w';
        assert!(!looks_like_ova(&bad));
        assert!(!looks_like_ova(b"short"));
        assert!(!looks_like_ova(&[0u8; 1024]));
    }

    #[test]
    fn checksum_forms() {
        // published digests of "abc" (FIPS 180-2 examples, RFC 1321)
        let sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let c = Checksum::parse(&format!("{{SHA-256}}{sha256}")).unwrap();
        assert_eq!(c.of(b"abc"), c);
        assert_eq!(c.to_string(), format!("{{SHA-256}}{sha256}"));
        let md5 = Checksum::parse("900150983cd24fb0d6963f7d28e17f72").unwrap();
        assert_eq!(md5.algorithm, "MD5");
        assert_eq!(md5.of(b"abc"), md5);
        let sha1 = Checksum::parse("{sha-1}A9993E364706816ABA3E25717850C26C9CD0D89D").unwrap();
        assert_eq!(sha1.algorithm, "SHA-1");
        assert_eq!(sha1.of(b"abc"), sha1);
        assert!(Checksum::parse("{SHA256}00").is_err());
        assert!(Checksum::parse("{SHA-256}abc").is_err());
        assert!(Checksum::parse("zz").is_err());
        let other = c.of(b"abd");
        assert_eq!(
            checksum_mismatch(&other, &c),
            format!("checksum \"{other}\" didn't match the given value, \"{c}\"")
        );
    }

    #[test]
    fn disk_headers_and_formats_per_hypervisor() {
        let mut qcow2 = vec![0u8; 512];
        qcow2[..4].copy_from_slice(b"QFI\xfb");
        qcow2[7] = 3;
        assert!(
            disk_header_problem("QCOW2", &qcow2)
                .unwrap()
                .contains("virtual size")
        );
        qcow2[24..32].copy_from_slice(&(1u64 << 20).to_be_bytes());
        assert_eq!(disk_header_problem("QCOW2", &qcow2), None);
        qcow2[7] = 9;
        assert!(
            disk_header_problem("QCOW2", &qcow2)
                .unwrap()
                .contains("version")
        );
        let mut footer = vec![0u8; 512];
        footer[..8].copy_from_slice(b"conectix");
        footer[48..56].copy_from_slice(&(1u64 << 20).to_be_bytes());
        footer[63] = 2;
        assert_eq!(disk_header_problem("VHD", &footer), None);
        footer[63] = 3;
        let mut dynamic = vec![0u8; 1024];
        dynamic[512..].copy_from_slice(&footer);
        assert!(
            disk_header_problem("VHD", &dynamic)
                .unwrap()
                .contains("footer copy")
        );
        dynamic[..512].copy_from_slice(&footer);
        assert_eq!(disk_header_problem("VHD", &dynamic), None);
        // truncated or foreign input: an answer, never a panic
        for n in 0..40 {
            assert!(disk_header_problem("QCOW2", &qcow2[..n.min(24)]).is_some());
            assert!(disk_header_problem("VHD", &footer[..n]).is_some());
        }
        assert_eq!(disk_header_problem("OVA", b""), None);
        assert_eq!(formats_for("KVM"), Some(&["QCOW2", "RAW"][..]));
        assert_eq!(formats_for("Simulator"), None);
        let mut st = State::seeded();
        let os = s(&st.ostypes[0], "id");
        let z = s(&st.zones[0], "id");
        let (code, body) = st.register_template(
            &p(&[
                ("name", "t"),
                ("format", "VHD"),
                ("hypervisor", "kvm"),
                ("url", "http://h/t.vhd"),
                ("ostypeid", os.as_str()),
                ("zoneid", z.as_str()),
            ]),
            &mut vec![],
        );
        assert_eq!(code, 431);
        assert!(
            body["errortext"]
                .as_str()
                .unwrap()
                .contains("VHD is not supported for hypervisor KVM"),
            "{body}"
        );
    }

    fn p(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn registration_zones_and_status() {
        let mut st = State::seeded();
        let os = s(&st.ostypes[0], "id");
        let base = [
            ("name", "t"),
            ("format", "QCOW2"),
            ("hypervisor", "kvm"),
            ("url", "http://h/t.qcow2"),
            ("ostypeid", os.as_str()),
        ];
        let mut fx = vec![];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            p(&v)
        };
        let (code, body) = st.register_template(&with(&[("zoneids", "-1")]), &mut fx);
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["count"], 2, "a row per zone");
        assert_eq!(body["template"][0]["status"], "Processing");
        assert_eq!(body["template"][0]["crossZones"], true);
        assert_eq!(body["template"][0]["hypervisor"], "KVM");
        let (code, body) = st.register_template(&with(&[]), &mut fx);
        assert_eq!(code, 431);
        assert!(
            body["errortext"]
                .as_str()
                .unwrap()
                .contains("Either zoneid or zoneids")
        );
        let z = s(&st.zones[0], "id");
        let mut both = with(&[("zoneids", "-1")]);
        both.insert("zoneid".into(), z.clone());
        assert_eq!(st.register_template(&both, &mut fx).0, 431);
        assert_eq!(
            st.register_template(&with(&[("zoneids", "-1,x")]), &mut fx)
                .0,
            431
        );
        let mut vmw = with(&[("directdownload", "true")]);
        vmw.insert("zoneid".into(), z.clone());
        vmw.insert("hypervisor".into(), "VMware".into());
        assert_eq!(st.register_template(&vmw, &mut fx).0, 431);
        let mut bad = with(&[("checksum", "{SHA-256}00")]);
        bad.insert("zoneid".into(), z);
        assert_eq!(st.register_template(&bad, &mut fx).0, 431);
    }
}
