//! `pipeline.toml`, the same options as flags and environment variables, and their merge.
//!
//! Precedence: a flag, then its environment variable (clap reads both), then the file, then the
//! default. Each step asks only for the settings it needs ([`Config::s3`], [`Config::cloudstack`]),
//! so `--only prepare` works without any cloud credentials.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::hypervisor::{Hypervisor, ImageFormat};
use crate::plan::{Fingerprints, Step};

/// A secret value: never printed by `Debug`, never part of a fingerprint.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub(crate) fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for handing to a client.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// Appliance name: default for file names, template and VM names.
    pub(crate) name: Option<String>,
    /// Where the state file lives (default: `pipeline-state.json` beside the config file).
    pub(crate) state_file: Option<PathBuf>,
    /// `KVM`, `XenServer` or `VMware` (any case; default `VMware`): what `prepare` writes
    /// (QCOW2, VHD or OVA) and what `register` declares. `[cloudstack] hypervisor` is read as
    /// an alias; both set to different hypervisors is an error.
    pub(crate) hypervisor: Option<String>,
    /// `[prepare]`.
    pub(crate) prepare: PrepareConfig,
    /// `[s3]`.
    pub(crate) s3: S3Config,
    /// `[cloudstack]`.
    pub(crate) cloudstack: CloudStackConfig,
    /// `[transfer]`.
    pub(crate) transfer: TransferConfig,
    /// Directory relative paths are resolved against (the config file's directory).
    #[serde(skip)]
    pub(crate) base_dir: PathBuf,
}

/// `[prepare]`: build from a raw disk, or repack an existing OVA with edits.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct PrepareConfig {
    /// Raw disk image to build an OVA from.
    pub(crate) disk: Option<PathBuf>,
    /// Existing OVA to repack.
    pub(crate) source_ova: Option<PathBuf>,
    /// Where the prepared file is written (default `<name>.ova`, `.qcow2` or `.vhd` beside the
    /// state file).
    pub(crate) output: Option<PathBuf>,
    /// For KVM and XenServer from `source_ova`: the `ovf:diskId` of the disk to convert
    /// (default: the first disk of the first VirtualSystem).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) disk_id: Option<String>,
    /// For KVM: compress the QCOW2 image's clusters (deflate, as `qemu-img convert -c`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) compress: Option<bool>,
    /// Guest OS id written into the OVF (build only), e.g. `ubuntu64Guest`.
    pub(crate) guest_os: Option<String>,
    /// Virtual CPUs.
    pub(crate) cpus: Option<u32>,
    /// Memory in MiB.
    pub(crate) memory_mb: Option<u64>,
    /// `vssd:VirtualSystemType`, e.g. `vmx-07`.
    pub(crate) set_virtual_system_type: Option<String>,
    /// Manifest: `none`, `sha1`, `sha256` or `sha512`.
    pub(crate) manifest: Option<String>,
}

/// `[s3]`: the object store for `publish` and `transfer`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct S3Config {
    /// Endpoint URL (`AWS_ENDPOINT_URL`).
    pub(crate) endpoint: Option<String>,
    /// Region (`AWS_REGION`, default `us-east-1`).
    pub(crate) region: Option<String>,
    /// Bucket.
    pub(crate) bucket: Option<String>,
    /// Key of the published file (default `<name>.ova`, `.qcow2` or `.vhd`).
    pub(crate) key: Option<String>,
    /// Access key id (`AWS_ACCESS_KEY_ID`).
    pub(crate) access_key: Option<String>,
    /// Secret access key (`AWS_SECRET_ACCESS_KEY`).
    pub(crate) secret_key: Option<Secret>,
    /// Canned ACL for the published object, e.g. `public-read`; none by default.
    pub(crate) acl: Option<String>,
    /// URL CloudStack downloads the template from (default `<endpoint>/<bucket>/<key>`).
    pub(crate) public_url: Option<String>,
    /// Virtual-hosted-style addressing instead of path style.
    pub(crate) virtual_hosted: Option<bool>,
    /// Extra certificates (PEM) trusted for the endpoint: CA certificates, or the server's own
    /// self-signed certificate (trusted exactly).
    pub(crate) ca_file: Option<PathBuf>,
    /// Accept any certificate on the endpoint.
    pub(crate) insecure: Option<bool>,
}

/// `[cloudstack]`: the cloud for `register`, `deploy` and `export`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct CloudStackConfig {
    /// API endpoint (`CLOUDSTACK_ENDPOINT`).
    pub(crate) endpoint: Option<String>,
    /// API key (`CLOUDSTACK_KEY`).
    pub(crate) api_key: Option<String>,
    /// Secret key (`CLOUDSTACK_SECRET`).
    pub(crate) secret_key: Option<Secret>,
    /// Zone name.
    pub(crate) zone: Option<String>,
    /// OS type description as listOsTypes shows it.
    pub(crate) os_type: Option<String>,
    /// Alias of the top-level `hypervisor` (kept for existing files).
    pub(crate) hypervisor: Option<String>,
    /// Template name (default: the appliance name).
    pub(crate) template_name: Option<String>,
    /// Service offering name.
    pub(crate) service_offering: Option<String>,
    /// VM name (default `<name>-vm`).
    pub(crate) vm_name: Option<String>,
    /// Longest wait for the template or a job, in seconds (default 3600).
    pub(crate) timeout_seconds: Option<u64>,
    /// Extra certificates (PEM) trusted for the endpoint: CA certificates, or the server's own
    /// self-signed certificate (trusted exactly).
    pub(crate) ca_file: Option<PathBuf>,
    /// Accept any certificate on the endpoint.
    pub(crate) insecure: Option<bool>,
}

/// `[transfer]`: where the export goes and how its source is trusted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct TransferConfig {
    /// Destination key in the `[s3]` bucket (default `exports/<name>.ova`, `.qcow2` or `.vhd`).
    pub(crate) key: Option<String>,
    /// Accept any certificate on the export URL (the destination still verifies).
    pub(crate) source_insecure: Option<bool>,
    /// Extra CA (PEM) trusted for the export URL only.
    pub(crate) source_ca: Option<PathBuf>,
}

/// The same options as flags and environment variables; each one overrides the file.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ConfigArgs {
    /// Appliance name (default for file, template and VM names).
    #[arg(long, env = "PIPELINE_NAME")]
    pub(crate) name: Option<String>,
    /// State file (default: pipeline-state.json beside the config file).
    #[arg(long, env = "PIPELINE_STATE_FILE")]
    pub(crate) state_file: Option<PathBuf>,
    /// KVM (QCOW2 template), XenServer (VHD) or VMware (OVA), in any case; default VMware.
    #[arg(long, env = "PIPELINE_HYPERVISOR")]
    pub(crate) hypervisor: Option<String>,

    /// Raw disk image to build the OVA from.
    #[arg(long, help_heading = "Prepare")]
    pub(crate) disk: Option<PathBuf>,
    /// Existing OVA to repack.
    #[arg(long, help_heading = "Prepare")]
    pub(crate) source_ova: Option<PathBuf>,
    /// Output path (an .ova, .qcow2 or .vhd, after the hypervisor).
    #[arg(long, help_heading = "Prepare")]
    pub(crate) output: Option<PathBuf>,
    /// Disk of --source-ova to convert for KVM or XenServer (its ovf:diskId).
    #[arg(long, help_heading = "Prepare")]
    pub(crate) disk_id: Option<String>,
    /// Compress the QCOW2 image (KVM).
    #[arg(long, help_heading = "Prepare")]
    pub(crate) compress: bool,
    /// Guest OS id for a build (e.g. ubuntu64Guest).
    #[arg(long, help_heading = "Prepare")]
    pub(crate) guest_os: Option<String>,
    /// Virtual CPUs.
    #[arg(long, help_heading = "Prepare")]
    pub(crate) cpus: Option<u32>,
    /// Memory in MiB.
    #[arg(long, help_heading = "Prepare")]
    pub(crate) memory_mb: Option<u64>,
    /// Set vssd:VirtualSystemType (e.g. vmx-07).
    #[arg(long, help_heading = "Prepare")]
    pub(crate) set_virtual_system_type: Option<String>,
    /// Manifest: none, sha1, sha256 or sha512.
    #[arg(long, help_heading = "Prepare")]
    pub(crate) manifest: Option<String>,

    /// Endpoint URL.
    #[arg(long, env = "AWS_ENDPOINT_URL", help_heading = "S3")]
    pub(crate) s3_endpoint: Option<String>,
    /// Region.
    #[arg(long, env = "AWS_REGION", help_heading = "S3")]
    pub(crate) s3_region: Option<String>,
    /// Bucket.
    #[arg(long, env = "PIPELINE_BUCKET", help_heading = "S3")]
    pub(crate) bucket: Option<String>,
    /// Key of the published file.
    #[arg(long, help_heading = "S3")]
    pub(crate) key: Option<String>,
    /// Access key id.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", help_heading = "S3")]
    pub(crate) access_key: Option<String>,
    /// Secret access key.
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true,
        help_heading = "S3"
    )]
    pub(crate) secret_key: Option<String>,
    /// Canned ACL for the published object (e.g. public-read).
    #[arg(long, help_heading = "S3")]
    pub(crate) acl: Option<String>,
    /// URL CloudStack downloads the template from.
    #[arg(long, help_heading = "S3")]
    pub(crate) public_url: Option<String>,
    /// Virtual-hosted-style addressing.
    #[arg(long, help_heading = "S3")]
    pub(crate) virtual_hosted: bool,
    /// Also trust the CA certificate(s) in this PEM file, or the object store's own self-signed
    /// certificate, for the object store.
    #[arg(long, value_name = "PEM", help_heading = "S3")]
    pub(crate) s3_ca_file: Option<PathBuf>,
    /// Accept any TLS certificate on the object store.
    #[arg(long, help_heading = "S3")]
    pub(crate) s3_insecure: bool,

    /// API endpoint.
    #[arg(long, env = "CLOUDSTACK_ENDPOINT", help_heading = "CloudStack")]
    pub(crate) cs_endpoint: Option<String>,
    /// API key.
    #[arg(long, env = "CLOUDSTACK_KEY", help_heading = "CloudStack")]
    pub(crate) cs_key: Option<String>,
    /// Secret key.
    #[arg(
        long,
        env = "CLOUDSTACK_SECRET",
        hide_env_values = true,
        help_heading = "CloudStack"
    )]
    pub(crate) cs_secret: Option<String>,
    /// Zone name.
    #[arg(long, help_heading = "CloudStack")]
    pub(crate) zone: Option<String>,
    /// OS type description (as listOsTypes shows it).
    #[arg(long, help_heading = "CloudStack")]
    pub(crate) os_type: Option<String>,
    /// Template name.
    #[arg(long, help_heading = "CloudStack")]
    pub(crate) template_name: Option<String>,
    /// Service offering name.
    #[arg(long, help_heading = "CloudStack")]
    pub(crate) service_offering: Option<String>,
    /// VM name.
    #[arg(long, help_heading = "CloudStack")]
    pub(crate) vm_name: Option<String>,
    /// Longest wait for a template or job, in seconds.
    #[arg(long, help_heading = "CloudStack")]
    pub(crate) timeout_seconds: Option<u64>,
    /// Also trust the CA certificate(s) in this PEM file, or the API endpoint's own self-signed
    /// certificate, for CloudStack.
    #[arg(long, value_name = "PEM", help_heading = "CloudStack")]
    pub(crate) cs_ca_file: Option<PathBuf>,
    /// Accept any TLS certificate on the CloudStack API endpoint.
    #[arg(long, help_heading = "CloudStack")]
    pub(crate) cs_insecure: bool,

    /// Destination key of the export.
    #[arg(long, help_heading = "Transfer")]
    pub(crate) transfer_key: Option<String>,
    /// Accept any TLS certificate on the export URL (destination still verified).
    #[arg(long, help_heading = "Transfer")]
    pub(crate) source_insecure: bool,
    /// Extra CA certificate (PEM) for the export URL only.
    #[arg(long, help_heading = "Transfer")]
    pub(crate) source_ca: Option<PathBuf>,
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this tool.
    #[error("config file {path} is invalid")]
    Parse {
        /// The file.
        path: String,
        /// The cause (line, column, unknown key).
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A setting a step needs is not set anywhere.
    #[error("{step} needs `{key}`: set it in pipeline.toml or pass {flag}{}", env.map(|e| format!(" (or env {e})")).unwrap_or_default())]
    Missing {
        /// The step asking.
        step: Step,
        /// `section.key` in the file.
        key: &'static str,
        /// The flag.
        flag: &'static str,
        /// The environment variable, if any.
        env: Option<&'static str>,
    },
    /// A setting has an unusable value.
    #[error("invalid `{key}`: {reason}")]
    Invalid {
        /// `section.key`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// What `prepare` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrepareSource {
    /// A raw disk: built into an OVA, or converted to QCOW2 or VHD.
    Build(PathBuf),
    /// An existing OVA: repacked, or its disk converted to QCOW2 or VHD.
    Repack(PathBuf),
}

/// Settings `prepare` needs.
#[derive(Debug, Clone)]
pub(crate) struct PrepareSettings {
    /// Build or repack.
    pub(crate) source: PrepareSource,
    /// What to write: an OVA, a QCOW2 or a VHD.
    pub(crate) format: ImageFormat,
    /// The hypervisor the file is for.
    pub(crate) hypervisor: Hypervisor,
    /// Output file.
    pub(crate) output: PathBuf,
    /// Appliance name.
    pub(crate) name: String,
    /// The `[prepare]` table.
    pub(crate) options: PrepareConfig,
}

/// Settings the S3 steps need.
#[derive(Debug, Clone)]
pub(crate) struct S3Settings {
    /// Endpoint URL.
    pub(crate) endpoint: String,
    /// Region.
    pub(crate) region: String,
    /// Bucket.
    pub(crate) bucket: String,
    /// Access key id.
    pub(crate) access_key: String,
    /// Secret key.
    pub(crate) secret_key: Secret,
    /// Virtual-hosted-style addressing.
    pub(crate) virtual_hosted: bool,
    /// How the endpoint's certificate is trusted.
    pub(crate) tls: TlsSettings,
}

/// How an endpoint's TLS certificate is trusted (`ca_file` and `insecure` of its table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// A PEM file of extra certificates to trust (resolved against the config file's folder).
    pub(crate) ca_file: Option<PathBuf>,
    /// Accept any certificate.
    pub(crate) insecure: bool,
    /// `s3.ca_file` or `cloudstack.ca_file`.
    pub(crate) ca_key: &'static str,
    /// `--s3-ca-file` or `--cs-ca-file`.
    pub(crate) ca_flag: &'static str,
}

/// Settings the CloudStack steps need.
#[derive(Debug, Clone)]
pub(crate) struct CloudStackSettings {
    /// API endpoint.
    pub(crate) endpoint: String,
    /// API key.
    pub(crate) api_key: String,
    /// Secret key.
    pub(crate) secret_key: Secret,
    /// Zone name.
    pub(crate) zone: String,
    /// Longest wait.
    pub(crate) timeout: std::time::Duration,
    /// How the endpoint's certificate is trusted.
    pub(crate) tls: TlsSettings,
}

impl Config {
    /// Read and parse `path`; relative paths inside are resolved against its directory.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`] or [`ConfigError::Parse`].
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut cfg = Self::parse(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source: Box::new(source),
        })?;
        cfg.base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(cfg)
    }

    /// Parse TOML text.
    pub(crate) fn parse(text: &str) -> Result<Self, toml::de::Error> {
        let mut cfg: Config = toml::from_str(text)?;
        cfg.base_dir = PathBuf::from(".");
        Ok(cfg)
    }

    /// Apply flags and environment variables over the file's values.
    pub(crate) fn merge(&mut self, a: ConfigArgs) {
        fn set<T>(slot: &mut Option<T>, v: Option<T>) {
            if v.is_some() {
                *slot = v;
            }
        }
        set(&mut self.name, a.name);
        set(&mut self.state_file, a.state_file);
        if a.hypervisor.is_some() {
            // A flag overrides the file, whichever of its two keys the file uses.
            self.hypervisor = a.hypervisor;
            self.cloudstack.hypervisor = None;
        }
        let p = &mut self.prepare;
        set(&mut p.disk, a.disk);
        set(&mut p.source_ova, a.source_ova);
        set(&mut p.output, a.output);
        set(&mut p.disk_id, a.disk_id);
        if a.compress {
            p.compress = Some(true);
        }
        set(&mut p.guest_os, a.guest_os);
        set(&mut p.cpus, a.cpus);
        set(&mut p.memory_mb, a.memory_mb);
        set(&mut p.set_virtual_system_type, a.set_virtual_system_type);
        set(&mut p.manifest, a.manifest);
        let s = &mut self.s3;
        set(&mut s.endpoint, a.s3_endpoint);
        set(&mut s.region, a.s3_region);
        set(&mut s.bucket, a.bucket);
        set(&mut s.key, a.key);
        set(&mut s.access_key, a.access_key);
        set(&mut s.secret_key, a.secret_key.map(Secret));
        set(&mut s.acl, a.acl);
        set(&mut s.public_url, a.public_url);
        if a.virtual_hosted {
            s.virtual_hosted = Some(true);
        }
        set(&mut s.ca_file, a.s3_ca_file);
        if a.s3_insecure {
            s.insecure = Some(true);
        }
        let c = &mut self.cloudstack;
        set(&mut c.endpoint, a.cs_endpoint);
        set(&mut c.api_key, a.cs_key);
        set(&mut c.secret_key, a.cs_secret.map(Secret));
        set(&mut c.zone, a.zone);
        set(&mut c.os_type, a.os_type);
        set(&mut c.template_name, a.template_name);
        set(&mut c.service_offering, a.service_offering);
        set(&mut c.vm_name, a.vm_name);
        set(&mut c.timeout_seconds, a.timeout_seconds);
        set(&mut c.ca_file, a.cs_ca_file);
        if a.cs_insecure {
            c.insecure = Some(true);
        }
        let t = &mut self.transfer;
        set(&mut t.key, a.transfer_key);
        if a.source_insecure {
            t.source_insecure = Some(true);
        }
        set(&mut t.source_ca, a.source_ca);
    }

    fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// Appliance name (default `appliance`).
    pub(crate) fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "appliance".to_owned())
    }

    /// Path of the state file.
    pub(crate) fn state_file(&self) -> PathBuf {
        match &self.state_file {
            Some(p) => self.resolve(p),
            None => self.base_dir.join("pipeline-state.json"),
        }
    }

    /// Key of the published file.
    pub(crate) fn publish_key(&self) -> String {
        self.s3
            .key
            .clone()
            .unwrap_or_else(|| format!("{}.{}", self.name(), self.format().extension()))
    }

    /// Key of the transferred export.
    pub(crate) fn transfer_key(&self) -> String {
        self.transfer
            .key
            .clone()
            .unwrap_or_else(|| format!("exports/{}.{}", self.name(), self.format().extension()))
    }

    /// Template name.
    pub(crate) fn template_name(&self) -> String {
        self.cloudstack
            .template_name
            .clone()
            .unwrap_or_else(|| self.name())
    }

    /// VM name.
    pub(crate) fn vm_name(&self) -> String {
        self.cloudstack
            .vm_name
            .clone()
            .unwrap_or_else(|| format!("{}-vm", self.name()))
    }

    /// The hypervisor: the top-level `hypervisor`, or its alias `[cloudstack] hypervisor`,
    /// read in any case (default VMware).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a name that is none of KVM, XenServer and VMware, or when
    /// both keys are set to different hypervisors.
    pub(crate) fn hypervisor(&self) -> Result<Hypervisor, ConfigError> {
        let parse = |key: &'static str, v: &str| {
            v.parse::<Hypervisor>().map_err(|e| ConfigError::Invalid {
                key,
                reason: e.to_string(),
            })
        };
        let top = self
            .hypervisor
            .as_deref()
            .map(|v| parse("hypervisor", v))
            .transpose()?;
        let alias = self
            .cloudstack
            .hypervisor
            .as_deref()
            .map(|v| parse("cloudstack.hypervisor", v))
            .transpose()?;
        match (top, alias) {
            (Some(a), Some(b)) if a != b => Err(ConfigError::Invalid {
                key: "hypervisor",
                reason: format!(
                    "`hypervisor = \"{a}\"` and `[cloudstack] hypervisor = \"{b}\"` disagree: \
                     keep one (the top-level key; the [cloudstack] one is its older alias)"
                ),
            }),
            (Some(h), _) | (None, Some(h)) => Ok(h),
            (None, None) => Ok(Hypervisor::default()),
        }
    }

    /// The format `prepare` writes and `register` declares (OVA when the hypervisor setting
    /// is unusable: every step then stops on [`Config::hypervisor`]'s error).
    pub(crate) fn format(&self) -> ImageFormat {
        self.hypervisor().unwrap_or_default().format()
    }

    /// Settings for `prepare`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when neither or both of `disk` and `source_ova` are set, the manifest
    /// algorithm is unknown, or a setting does not apply to the hypervisor's format.
    pub(crate) fn prepare(&self) -> Result<PrepareSettings, ConfigError> {
        let hypervisor = self.hypervisor()?;
        let format = hypervisor.format();
        let p = &self.prepare;
        let source = match (&p.disk, &p.source_ova) {
            (Some(d), None) => PrepareSource::Build(self.resolve(d)),
            (None, Some(o)) => PrepareSource::Repack(self.resolve(o)),
            (None, None) => {
                return Err(ConfigError::Missing {
                    step: Step::Prepare,
                    key: "prepare.disk or prepare.source_ova",
                    flag: "--disk or --source-ova",
                    env: None,
                });
            }
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: "prepare.disk",
                    reason: "set either disk (build) or source_ova (repack), not both".into(),
                });
            }
        };
        if let Some(m) = &p.manifest
            && !["none", "sha1", "sha256", "sha512"].contains(&m.as_str())
        {
            return Err(ConfigError::Invalid {
                key: "prepare.manifest",
                reason: format!("`{m}` is not one of none, sha1, sha256, sha512"),
            });
        }
        if p.disk_id.is_some() && !matches!(source, PrepareSource::Repack(_)) {
            return Err(ConfigError::Invalid {
                key: "prepare.disk_id",
                reason: "picks a disk of `source_ova`; a raw `disk` has only one".into(),
            });
        }
        if p.disk_id.is_some() && format == ImageFormat::Ova {
            return Err(ConfigError::Invalid {
                key: "prepare.disk_id",
                reason: format!(
                    "picks the disk converted to a QCOW2 or VHD template; hypervisor {hypervisor} \
                     takes the whole OVA (set hypervisor = \"KVM\" or \"XenServer\", or drop disk_id)"
                ),
            });
        }
        if p.compress == Some(true) && format != ImageFormat::Qcow2 {
            return Err(ConfigError::Invalid {
                key: "prepare.compress",
                reason: format!(
                    "only a QCOW2 image (hypervisor KVM) can be compressed; hypervisor {hypervisor} \
                     takes {}",
                    if format == ImageFormat::Vhd {
                        "a VHD, which has no compression"
                    } else {
                        "an OVA, whose disk is always compressed"
                    }
                ),
            });
        }
        let output = match &p.output {
            Some(o) => self.resolve(o),
            None => {
                let dir = self.state_file().parent().map(Path::to_path_buf);
                dir.unwrap_or_default()
                    .join(format!("{}.{}", self.name(), format.extension()))
            }
        };
        if let Some(ext) = output.extension().and_then(|e| e.to_str())
            && let Some(named) = [ImageFormat::Ova, ImageFormat::Qcow2, ImageFormat::Vhd]
                .into_iter()
                .find(|f| f.extension().eq_ignore_ascii_case(ext))
            && named != format
        {
            return Err(ConfigError::Invalid {
                key: "prepare.output",
                reason: format!(
                    "{} names a {named} file, but hypervisor {hypervisor} takes {format} \
                     templates: change the output's extension or the hypervisor",
                    output.display()
                ),
            });
        }
        Ok(PrepareSettings {
            source,
            format,
            hypervisor,
            output,
            name: self.name(),
            options: p.clone(),
        })
    }

    /// Settings for the S3 steps.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`] naming the first unset setting.
    pub(crate) fn s3(&self, step: Step) -> Result<S3Settings, ConfigError> {
        let s = &self.s3;
        let need = |v: &Option<String>, key, flag, env| {
            v.clone().ok_or(ConfigError::Missing {
                step,
                key,
                flag,
                env,
            })
        };
        Ok(S3Settings {
            endpoint: need(
                &s.endpoint,
                "s3.endpoint",
                "--s3-endpoint",
                Some("AWS_ENDPOINT_URL"),
            )?,
            region: s.region.clone().unwrap_or_else(|| "us-east-1".to_owned()),
            bucket: need(&s.bucket, "s3.bucket", "--bucket", Some("PIPELINE_BUCKET"))?,
            access_key: need(
                &s.access_key,
                "s3.access_key",
                "--access-key",
                Some("AWS_ACCESS_KEY_ID"),
            )?,
            secret_key: s.secret_key.clone().ok_or(ConfigError::Missing {
                step,
                key: "s3.secret_key",
                flag: "--secret-key",
                env: Some("AWS_SECRET_ACCESS_KEY"),
            })?,
            virtual_hosted: s.virtual_hosted.unwrap_or(false),
            tls: TlsSettings {
                ca_file: s.ca_file.as_deref().map(|p| self.resolve(p)),
                insecure: s.insecure.unwrap_or(false),
                ca_key: "s3.ca_file",
                ca_flag: "--s3-ca-file",
            },
        })
    }

    /// Settings for the CloudStack steps.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`] naming the first unset setting.
    pub(crate) fn cloudstack(&self, step: Step) -> Result<CloudStackSettings, ConfigError> {
        let c = &self.cloudstack;
        let need = |v: &Option<String>, key, flag, env| {
            v.clone().ok_or(ConfigError::Missing {
                step,
                key,
                flag,
                env,
            })
        };
        Ok(CloudStackSettings {
            endpoint: need(
                &c.endpoint,
                "cloudstack.endpoint",
                "--cs-endpoint",
                Some("CLOUDSTACK_ENDPOINT"),
            )?,
            api_key: need(
                &c.api_key,
                "cloudstack.api_key",
                "--cs-key",
                Some("CLOUDSTACK_KEY"),
            )?,
            secret_key: c.secret_key.clone().ok_or(ConfigError::Missing {
                step,
                key: "cloudstack.secret_key",
                flag: "--cs-secret",
                env: Some("CLOUDSTACK_SECRET"),
            })?,
            zone: need(&c.zone, "cloudstack.zone", "--zone", None)?,
            timeout: std::time::Duration::from_secs(c.timeout_seconds.unwrap_or(3600)),
            tls: TlsSettings {
                ca_file: c.ca_file.as_deref().map(|p| self.resolve(p)),
                insecure: c.insecure.unwrap_or(false),
                ca_key: "cloudstack.ca_file",
                ca_flag: "--cs-ca-file",
            },
        })
    }

    /// A setting a step needs that has no default.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`].
    pub(crate) fn required(
        value: &Option<String>,
        step: Step,
        key: &'static str,
        flag: &'static str,
    ) -> Result<String, ConfigError> {
        value.clone().ok_or(ConfigError::Missing {
            step,
            key,
            flag,
            env: None,
        })
    }

    /// The per-step fingerprints of the settings each step uses (secrets excluded).
    pub(crate) fn fingerprints(&self) -> Fingerprints {
        let s = &self.s3;
        let c = &self.cloudstack;
        let hypervisor = match self.hypervisor() {
            Ok(h) => h.api_name().to_owned(),
            Err(_) => format!("{:?}", (&self.hypervisor, &c.hypervisor)),
        };
        // An OVA's fingerprint stays what it was before other formats existed.
        let prepare = match self.hypervisor() {
            Ok(Hypervisor::VMware) => {
                serde_json::json!({ "name": self.name(), "prepare": self.prepare })
            }
            _ => serde_json::json!({
                "name": self.name(), "prepare": self.prepare, "hypervisor": hypervisor
            }),
        };
        let parts: [serde_json::Value; 7] = [
            prepare,
            serde_json::json!([
                s.endpoint,
                s.bucket,
                self.publish_key(),
                s.acl,
                s.public_url
            ]),
            serde_json::json!([
                c.endpoint,
                c.zone,
                c.os_type,
                hypervisor,
                self.template_name()
            ]),
            serde_json::json!([c.endpoint, c.zone, c.service_offering, self.vm_name()]),
            serde_json::json!([c.endpoint, c.zone]),
            serde_json::json!([s.endpoint, s.bucket, self.transfer_key()]),
            serde_json::json!("verify"),
        ];
        Fingerprints(parts.map(|v| {
            let digest = sha2::Sha256::digest(v.to_string().as_bytes());
            hex::encode(&digest[..8])
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: ConfigArgs,
    }

    const FULL: &str = r#"
name = "web"
state_file = "st/state.json"

[prepare]
source_ova = "in.ova"
set_virtual_system_type = "vmx-07"
manifest = "none"

[s3]
endpoint = "http://127.0.0.1:9000"
bucket = "images"
access_key = "AK"
secret_key = "SK-SECRET"
acl = "public-read"

[cloudstack]
endpoint = "http://127.0.0.1:8080/client/api"
api_key = "key"
secret_key = "CS-SECRET"
zone = "zone1"
os_type = "Ubuntu 22.04 (64-bit)"
service_offering = "Small Instance"

[transfer]
source_insecure = true
"#;

    #[test]
    fn parses_a_full_file_with_defaults() {
        let cfg = Config::parse(FULL).unwrap();
        assert_eq!(cfg.name(), "web");
        assert_eq!(cfg.publish_key(), "web.ova");
        assert_eq!(cfg.transfer_key(), "exports/web.ova");
        assert_eq!(cfg.template_name(), "web");
        assert_eq!(cfg.vm_name(), "web-vm");
        assert_eq!(cfg.hypervisor().unwrap(), Hypervisor::VMware);
        assert_eq!(cfg.state_file(), Path::new("./st/state.json"));
        let p = cfg.prepare().unwrap();
        assert_eq!(p.source, PrepareSource::Repack(PathBuf::from("./in.ova")));
        assert_eq!(p.output, Path::new("./st/web.ova"));
        let s3 = cfg.s3(Step::Publish).unwrap();
        assert_eq!(
            (s3.region.as_str(), s3.bucket.as_str()),
            ("us-east-1", "images")
        );
        let cs = cfg.cloudstack(Step::Register).unwrap();
        assert_eq!(cs.zone, "zone1");
        assert_eq!(cs.timeout.as_secs(), 3600);
        assert_eq!(cfg.transfer.source_insecure, Some(true));
    }

    #[test]
    fn tls_keys_and_flags_for_both_endpoints() {
        let mut cfg =
            Config::parse("[s3]\nca_file = \"certs/s3.pem\"\n[cloudstack]\ninsecure = true\n")
                .unwrap();
        cfg.base_dir = PathBuf::from("/etc/pipeline");
        let before = cfg.fingerprints();
        let s3 = cfg.s3.clone();
        assert_eq!(s3.ca_file.as_deref(), Some(Path::new("certs/s3.pem")));
        let cli = Cli::parse_from(["t", "--cs-ca-file", "cs.pem", "--s3-insecure"]);
        cfg.merge(cli.args);
        cfg.s3.endpoint = Some("https://s3".into());
        cfg.s3.bucket = Some("b".into());
        cfg.s3.access_key = Some("a".into());
        cfg.s3.secret_key = Some(Secret::new("s"));
        let tls = cfg.s3(Step::Publish).unwrap().tls;
        assert_eq!(
            tls.ca_file.as_deref(),
            Some(Path::new("/etc/pipeline/certs/s3.pem"))
        );
        assert!(tls.insecure);
        assert_eq!((tls.ca_key, tls.ca_flag), ("s3.ca_file", "--s3-ca-file"));
        cfg.cloudstack.endpoint = Some("https://cs".into());
        cfg.cloudstack.api_key = Some("k".into());
        cfg.cloudstack.secret_key = Some(Secret::new("s"));
        cfg.cloudstack.zone = Some("z".into());
        let tls = cfg.cloudstack(Step::Deploy).unwrap().tls;
        assert_eq!(
            tls.ca_file.as_deref(),
            Some(Path::new("/etc/pipeline/cs.pem"))
        );
        assert!(tls.insecure);
        // Trust settings change no step's output, so they do not make a step stale.
        let mut plain = cfg.clone();
        (plain.s3.ca_file, plain.s3.insecure) = (None, None);
        (plain.cloudstack.ca_file, plain.cloudstack.insecure) = (None, None);
        assert_eq!(cfg.fingerprints(), plain.fingerprints());
        assert_ne!(before, plain.fingerprints());
    }

    #[test]
    fn the_example_file_parses() {
        let cfg = Config::parse(include_str!("pipeline.example.toml")).unwrap();
        assert_eq!(cfg.name(), "web-appliance");
        assert_eq!(cfg.s3.acl.as_deref(), Some("public-read"));
        assert!(cfg.prepare().is_ok());
        // Credentials come from the environment or flags, so the S3 settings are incomplete here.
        assert!(matches!(
            cfg.s3(Step::Publish),
            Err(ConfigError::Missing {
                key: "s3.access_key",
                ..
            })
        ));
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::parse("[s3]\nbukket = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("bukket"), "{err}");
    }

    #[test]
    fn missing_settings_name_the_key_flag_and_env() {
        let cfg = Config::default();
        let err = cfg.s3(Step::Transfer).unwrap_err().to_string();
        assert_eq!(
            err,
            "transfer needs `s3.endpoint`: set it in pipeline.toml or pass --s3-endpoint (or env AWS_ENDPOINT_URL)"
        );
        let err = cfg.cloudstack(Step::Deploy).unwrap_err().to_string();
        assert!(
            err.starts_with("deploy needs `cloudstack.endpoint`"),
            "{err}"
        );
        let err = cfg.prepare().unwrap_err().to_string();
        assert!(err.contains("--disk or --source-ova"), "{err}");
    }

    #[test]
    fn prepare_rejects_both_sources_and_unknown_manifest() {
        let cfg = Config::parse("[prepare]\ndisk = \"a\"\nsource_ova = \"b\"\n").unwrap();
        assert!(matches!(cfg.prepare(), Err(ConfigError::Invalid { .. })));
        let cfg = Config::parse("[prepare]\ndisk = \"a\"\nmanifest = \"md5\"\n").unwrap();
        let err = cfg.prepare().unwrap_err().to_string();
        assert!(err.contains("`md5`"), "{err}");
    }

    #[test]
    fn flags_override_the_file() {
        let mut cfg = Config::parse(FULL).unwrap();
        let cli = Cli::try_parse_from([
            "x",
            "--bucket",
            "other",
            "--zone",
            "zone2",
            "--cs-secret",
            "NEW",
            "--manifest",
            "sha1",
        ])
        .unwrap();
        cfg.merge(cli.args);
        assert_eq!(cfg.s3.bucket.as_deref(), Some("other"));
        assert_eq!(cfg.cloudstack.zone.as_deref(), Some("zone2"));
        assert_eq!(cfg.cloudstack.secret_key, Some(Secret::new("NEW")));
        assert_eq!(cfg.prepare.manifest.as_deref(), Some("sha1"));
        // Untouched values stay.
        assert_eq!(cfg.s3.access_key.as_deref(), Some("AK"));
    }

    #[test]
    fn secrets_stay_out_of_debug_and_fingerprints() {
        let cfg = Config::parse(FULL).unwrap();
        let debug = format!("{cfg:?}");
        assert!(!debug.contains("SK-SECRET") && !debug.contains("CS-SECRET"));
        let s3 = cfg.s3(Step::Publish).unwrap();
        assert!(!format!("{s3:?}").contains("SK-SECRET"));
        let mut other = cfg.clone();
        other.s3.secret_key = Some(Secret::new("rotated"));
        other.cloudstack.secret_key = Some(Secret::new("rotated"));
        assert_eq!(cfg.fingerprints(), other.fingerprints());
    }

    #[test]
    fn the_hypervisor_has_one_place_and_an_alias() {
        // Default, top-level key in any case, and the older [cloudstack] key.
        assert_eq!(Config::default().hypervisor().unwrap(), Hypervisor::VMware);
        let cfg = Config::parse("hypervisor = \"kvm\"\n").unwrap();
        assert_eq!(cfg.hypervisor().unwrap(), Hypervisor::Kvm);
        assert_eq!(cfg.format(), ImageFormat::Qcow2);
        assert_eq!(cfg.publish_key(), "appliance.qcow2");
        assert_eq!(cfg.transfer_key(), "exports/appliance.qcow2");
        let cfg = Config::parse("[cloudstack]\nhypervisor = \"xenserver\"\n").unwrap();
        assert_eq!(cfg.hypervisor().unwrap(), Hypervisor::XenServer);
        // Both keys naming the same hypervisor (in any case) is fine; different ones are not.
        let cfg =
            Config::parse("hypervisor = \"KVM\"\n[cloudstack]\nhypervisor = \"kvm\"\n").unwrap();
        assert_eq!(cfg.hypervisor().unwrap(), Hypervisor::Kvm);
        let cfg =
            Config::parse("hypervisor = \"KVM\"\n[cloudstack]\nhypervisor = \"VMware\"\n").unwrap();
        let err = cfg.hypervisor().unwrap_err().to_string();
        assert!(
            err.contains(
                "`hypervisor = \"KVM\"` and `[cloudstack] hypervisor = \"VMware\"` disagree"
            ),
            "{err}"
        );
        // A flag overrides whichever key the file used.
        let mut cfg = cfg;
        let cli = Cli::try_parse_from(["x", "--hypervisor", "xenserver"]).unwrap();
        cfg.merge(cli.args);
        assert_eq!(cfg.hypervisor().unwrap(), Hypervisor::XenServer);
        let cfg = Config::parse("hypervisor = \"hyperv\"\n").unwrap();
        let err = cfg.hypervisor().unwrap_err().to_string();
        assert!(err.contains("unknown hypervisor `hyperv`"), "{err}");
        assert!(cfg.prepare().is_err());
    }

    #[test]
    fn prepare_settings_follow_the_hypervisor() {
        let cfg =
            Config::parse("hypervisor = \"KVM\"\n[prepare]\ndisk = \"d.raw\"\ncompress = true\n")
                .unwrap();
        let p = cfg.prepare().unwrap();
        assert_eq!(p.format, ImageFormat::Qcow2);
        assert_eq!(p.output, Path::new("./appliance.qcow2"));
        let cfg = Config::parse(
            "hypervisor = \"XenServer\"\n[prepare]\ndisk = \"d.raw\"\ncompress = true\n",
        )
        .unwrap();
        let err = cfg.prepare().unwrap_err().to_string();
        assert!(err.contains("only a QCOW2 image"), "{err}");
        let cfg = Config::parse(
            "hypervisor = \"XenServer\"\n[prepare]\nsource_ova = \"a.ova\"\noutput = \"x.qcow2\"\n",
        )
        .unwrap();
        let err = cfg.prepare().unwrap_err().to_string();
        assert!(
            err.contains("names a QCOW2 file, but hypervisor XenServer takes VHD templates"),
            "{err}"
        );
        let cfg =
            Config::parse("[prepare]\nsource_ova = \"a.ova\"\ndisk_id = \"vmdisk1\"\n").unwrap();
        let err = cfg.prepare().unwrap_err().to_string();
        assert!(
            err.contains("hypervisor VMware takes the whole OVA"),
            "{err}"
        );
        let cfg = Config::parse(
            "hypervisor = \"kvm\"\n[prepare]\nsource_ova = \"a.ova\"\ndisk_id = \"vmdisk2\"\n",
        )
        .unwrap();
        assert_eq!(
            cfg.prepare().unwrap().options.disk_id.as_deref(),
            Some("vmdisk2")
        );
    }

    #[test]
    fn the_hypervisor_reruns_prepare_and_register_but_leaves_an_ova_fingerprint_alone() {
        let cfg = Config::parse(FULL).unwrap();
        // The fingerprint of an OVA prepare is the one earlier versions recorded.
        let old = serde_json::json!({ "name": cfg.name(), "prepare": cfg.prepare });
        let digest = sha2::Sha256::digest(old.to_string().as_bytes());
        assert_eq!(
            cfg.fingerprints().get(Step::Prepare),
            hex::encode(&digest[..8])
        );
        let mut kvm = cfg.clone();
        kvm.hypervisor = Some("kvm".into());
        let (a, b) = (cfg.fingerprints(), kvm.fingerprints());
        for step in [Step::Prepare, Step::Publish, Step::Register, Step::Transfer] {
            assert_ne!(a.get(step), b.get(step), "{step}");
        }
        assert_eq!(a.get(Step::Deploy), b.get(Step::Deploy));
        // The spelling of the name does not matter.
        let mut upper = kvm.clone();
        upper.hypervisor = Some("KVM".into());
        assert_eq!(upper.fingerprints(), kvm.fingerprints());
    }

    #[test]
    fn fingerprints_change_only_for_the_steps_that_use_a_setting() {
        let cfg = Config::parse(FULL).unwrap();
        let mut other = cfg.clone();
        other.cloudstack.service_offering = Some("Large".into());
        let (a, b) = (cfg.fingerprints(), other.fingerprints());
        for step in Step::ALL {
            assert_eq!(a.get(step) == b.get(step), step != Step::Deploy, "{step}");
        }
        let mut other = cfg.clone();
        other.s3.bucket = Some("b2".into());
        let b = other.fingerprints();
        for step in Step::ALL {
            let changed = matches!(step, Step::Publish | Step::Transfer);
            assert_eq!(a.get(step) != b.get(step), changed, "{step}");
        }
    }
}
