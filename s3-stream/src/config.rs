//! Destination configuration: endpoint, region, credentials, addressing, TLS, signing, retries.
//! Values come from the builder, the `AWS_*` environment variables and the `~/.aws/credentials`
//! and `~/.aws/config` profile files (explicit setters win over the environment, which wins over
//! the profile files).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::plan::PartLimits;
use crate::sigv4::Credentials;

/// How the bucket goes into the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressingStyle {
    /// `https://endpoint/bucket/key` (the default for custom endpoints).
    Path,
    /// `https://bucket.endpoint/key` (the default for AWS).
    VirtualHosted,
}

/// Which signature the client sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureVersion {
    /// AWS Signature Version 4 (default).
    #[default]
    V4,
    /// AWS Signature Version 2, for legacy S3-compatible stores.
    V2,
}

/// Whether SigV4 covers the body (`x-amz-content-sha256` = SHA-256 of the body) or not
/// (`UNSIGNED-PAYLOAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadSigning {
    /// Unsigned over HTTPS (TLS already protects the body, and SHA-256 costs CPU). Over plain
    /// HTTP, signed as the AWS SDKs do, until the store has echoed the CRC32C of a part (the
    /// default [`PartChecksum::Auto`](crate::PartChecksum::Auto) check, and
    /// [`PartChecksum::Crc32c`](crate::PartChecksum::Crc32c)): it then verifies every body
    /// itself and the later parts go as `UNSIGNED-PAYLOAD`, saving the SHA-256 pass that was about
    /// half of an upload's CPU time. A CRC32C guards against corruption, not against a party
    /// on the path that rewrites the traffic: against that, use HTTPS, or
    /// [`Signed`](Self::Signed) on plain HTTP with a store that checks the signed SHA-256.
    #[default]
    Auto,
    /// Always hash and sign the body.
    Signed,
    /// Never sign the body.
    Unsigned,
}

/// Retry policy for S3 requests: exponential backoff with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff.
    pub initial_backoff: Duration,
    /// Backoff ceiling.
    pub max_backoff: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 8,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(15),
        }
    }
}

impl RetryConfig {
    /// The delay before retry `attempt` (0-based), given a uniform random number in `[0, 1)`:
    /// `random × min(max_backoff, initial × 2^attempt)` ("full jitter").
    pub fn backoff(&self, attempt: u32, random: f64) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX));
        exp.min(self.max_backoff).mul_f64(random.clamp(0.0, 1.0))
    }
}

/// One configuration option by name, so strings (environment, CLI, Python) can reach the builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigKey {
    /// `endpoint` / `AWS_ENDPOINT_URL`.
    Endpoint,
    /// `region` / `AWS_REGION`.
    Region,
    /// `access_key_id` / `AWS_ACCESS_KEY_ID`.
    AccessKeyId,
    /// `secret_access_key` / `AWS_SECRET_ACCESS_KEY`.
    SecretAccessKey,
    /// `session_token` / `AWS_SESSION_TOKEN`.
    SessionToken,
    /// `addressing_style`: `path` or `virtual`.
    AddressingStyle,
    /// `signature_version`: `v4` or `v2`.
    SignatureVersion,
    /// `insecure_tls`: `true` turns off certificate checks for the destination.
    InsecureTls,
    /// `payload_signing`: `auto`, `signed` or `unsigned`.
    PayloadSigning,
}

impl FromStr for ConfigKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "endpoint" | "endpoint_url" | "aws_endpoint_url" => Self::Endpoint,
            "region" | "aws_region" | "aws_default_region" => Self::Region,
            "access_key_id" | "aws_access_key_id" => Self::AccessKeyId,
            "secret_access_key" | "aws_secret_access_key" => Self::SecretAccessKey,
            "session_token" | "aws_session_token" => Self::SessionToken,
            "addressing_style" => Self::AddressingStyle,
            "signature_version" => Self::SignatureVersion,
            "insecure_tls" => Self::InsecureTls,
            "payload_signing" => Self::PayloadSigning,
            _ => {
                return Err(Error::Config {
                    key: s.to_owned(),
                    reason: "unknown option".into(),
                });
            }
        })
    }
}

/// Sections of an INI-style AWS profile file: `section -> key -> value`. Indented lines after a
/// `key =` line with no value are nested (`s3 =\n  addressing_style = path` gives
/// `s3.addressing_style`). Comments start with `#` or `;`.
pub fn parse_profile_file(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section: Option<String> = None;
    let mut parent: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = Some(line[1..line.len() - 1].trim().to_owned());
            parent = None;
            continue;
        }
        let Some(sec) = &section else { continue };
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
        let nested = raw.starts_with([' ', '\t']);
        let key = match (&parent, nested) {
            (Some(p), true) => format!("{p}.{k}"),
            _ => {
                parent = v.is_empty().then(|| k.clone());
                k
            }
        };
        out.entry(sec.clone()).or_default().insert(key, v);
    }
    out
}

/// Values read from the profile files for one profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Credentials, when both keys are present.
    pub credentials: Option<Credentials>,
    /// `region`.
    pub region: Option<String>,
    /// `endpoint_url` (or `s3.endpoint_url`).
    pub endpoint: Option<String>,
    /// `s3.addressing_style`.
    pub addressing_style: Option<AddressingStyle>,
}

impl Profile {
    /// Merges a credentials file and a config file for profile `name` (config sections are
    /// `[profile name]`, or `[default]`).
    pub fn from_files(name: &str, credentials_text: &str, config_text: &str) -> Self {
        let creds = parse_profile_file(credentials_text);
        let conf = parse_profile_file(config_text);
        let conf_sec = if name == "default" {
            conf.get("default").or_else(|| conf.get("profile default"))
        } else {
            conf.get(&format!("profile {name}"))
        };
        let empty = BTreeMap::new();
        let c = creds.get(name).unwrap_or(&empty);
        let f = conf_sec.unwrap_or(&empty);
        let get = |k: &str| {
            c.get(k)
                .or_else(|| f.get(k))
                .filter(|v| !v.is_empty())
                .cloned()
        };
        let credentials = match (get("aws_access_key_id"), get("aws_secret_access_key")) {
            (Some(a), Some(s)) => {
                let mut cr = Credentials::new(a, s);
                if let Some(t) = get("aws_session_token") {
                    cr = cr.with_session_token(t);
                }
                Some(cr)
            }
            _ => None,
        };
        Self {
            credentials,
            region: get("region"),
            endpoint: get("s3.endpoint_url").or_else(|| get("endpoint_url")),
            addressing_style: get("s3.addressing_style").and_then(|s| match s.as_str() {
                "path" => Some(AddressingStyle::Path),
                "virtual" => Some(AddressingStyle::VirtualHosted),
                _ => None,
            }),
        }
    }

    /// Loads profile `name` from `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE` or
    /// `~/.aws/credentials` / `~/.aws/config`. Missing files count as empty.
    pub fn load(name: &str) -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let path = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".aws").join(default))
        };
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        Self::from_files(
            name,
            &read(path("AWS_SHARED_CREDENTIALS_FILE", "credentials")),
            &read(path("AWS_CONFIG_FILE", "config")),
        )
    }
}

pub(crate) fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::Config {
            key: key.to_owned(),
            reason: format!("expected true or false, got {v:?}"),
        }),
    }
}

/// Builder for [`crate::Client`]. See the crate documentation for an example.
#[derive(Debug, Clone, Default)]
pub struct ClientBuilder {
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) addressing: Option<AddressingStyle>,
    pub(crate) insecure_tls: bool,
    pub(crate) extra_ca_pem: Option<Vec<u8>>,
    pub(crate) signature: SignatureVersion,
    pub(crate) payload: PayloadSigning,
    pub(crate) retry: RetryConfig,
    pub(crate) limits: PartLimits,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) read_timeout: Option<Duration>,
    /// The first value [`ClientBuilder::with_config`] could not take (key, reason), reported by
    /// [`ClientBuilder::build`].
    pub(crate) invalid: Option<(String, String)>,
}

impl ClientBuilder {
    /// An empty builder (no environment read).
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts from the profile (`AWS_PROFILE`, else `default`) and the `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ENDPOINT_URL` (or
    /// `AWS_ENDPOINT_URL_S3`) and `AWS_REGION` (or `AWS_DEFAULT_REGION`) environment variables.
    pub fn from_env() -> Self {
        let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
        let mut b = Self::new().with_profile(&profile);
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let (Some(a), Some(s)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
            let mut c = Credentials::new(a, s);
            if let Some(t) = env("AWS_SESSION_TOKEN") {
                c = c.with_session_token(t);
            }
            b.credentials = Some(c);
        }
        if let Some(e) = env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL")) {
            b.endpoint = Some(e);
        }
        if let Some(r) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
            b.region = Some(r);
        }
        b
    }

    /// Applies profile `name` from the profile files (its values replace earlier ones).
    pub fn with_profile(mut self, name: &str) -> Self {
        let p = Profile::load(name);
        if p.credentials.is_some() {
            self.credentials = p.credentials;
        }
        self.region = p.region.or(self.region);
        self.endpoint = p.endpoint.or(self.endpoint);
        self.addressing = p.addressing_style.or(self.addressing);
        self
    }

    /// Endpoint URL, e.g. `http://127.0.0.1:9000` (default: AWS for the region).
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Region (default `us-east-1`).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Credentials.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Path-style or virtual-hosted addressing (default: path-style for custom endpoints,
    /// virtual-hosted for AWS).
    pub fn with_addressing_style(mut self, style: AddressingStyle) -> Self {
        self.addressing = Some(style);
        self
    }

    /// Turns off TLS certificate verification **for the destination**. Independent of the
    /// source's setting.
    pub fn with_insecure_tls(mut self, insecure: bool) -> Self {
        self.insecure_tls = insecure;
        self
    }

    /// Trusts more certificates (PEM) for the destination, beside the system's roots: CA
    /// certificates, or the server's own self-signed certificate (accepted when the server
    /// presents exactly that certificate, for its name and within its validity period).
    pub fn with_extra_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_ca_pem = Some(pem.into());
        self
    }

    /// SigV4 (default) or SigV2.
    pub fn with_signature_version(mut self, v: SignatureVersion) -> Self {
        self.signature = v;
        self
    }

    /// Payload signing policy (SigV4 only).
    pub fn with_payload_signing(mut self, p: PayloadSigning) -> Self {
        self.payload = p;
        self
    }

    /// Retry policy.
    pub fn with_retry(mut self, r: RetryConfig) -> Self {
        self.retry = r;
        self
    }

    /// The store's part limits (default: AWS's 5 MiB / 5 GiB / 10,000).
    pub fn with_part_limits(mut self, l: PartLimits) -> Self {
        self.limits = l;
        self
    }

    /// Connect timeout (default 30 s) and per-read timeout (default 120 s).
    pub fn with_timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.connect_timeout = Some(connect);
        self.read_timeout = Some(read);
        self
    }

    /// Sets one option by name from its text, as a profile or the environment gives it. Like
    /// every builder method it returns the builder: a value it cannot take is reported by
    /// [`ClientBuilder::build`] (the first one, with its key), and leaves the option as it was.
    ///
    /// ```
    /// use s3_stream::{ClientBuilder, ConfigKey};
    ///
    /// let built = ClientBuilder::new()
    ///     .with_config(ConfigKey::Endpoint, "http://127.0.0.1:9000")
    ///     .with_config(ConfigKey::AddressingStyle, "sideways")
    ///     .build();
    /// let err = built.unwrap_err().to_string();
    /// assert!(err.contains("addressing_style"), "{err}");
    /// ```
    pub fn with_config(mut self, key: ConfigKey, value: &str) -> Self {
        if let Err(e) = self.apply(key, value)
            && self.invalid.is_none()
        {
            self.invalid = Some(match e {
                Error::Config { key, reason } => (key, reason),
                other => (format!("{key:?}"), other.to_string()),
            });
        }
        self
    }

    fn apply(&mut self, key: ConfigKey, value: &str) -> Result<()> {
        let bad = |k: &str, v: &str| Error::Config {
            key: k.to_owned(),
            reason: format!("invalid value {v:?}"),
        };
        match key {
            ConfigKey::Endpoint => self.endpoint = Some(value.to_owned()),
            ConfigKey::Region => self.region = Some(value.to_owned()),
            ConfigKey::AccessKeyId => {
                let secret = self
                    .credentials
                    .as_ref()
                    .map(|c| c.secret_access_key().to_owned());
                self.credentials = Some(Credentials::new(value, secret.unwrap_or_default()));
            }
            ConfigKey::SecretAccessKey => {
                let id = self
                    .credentials
                    .as_ref()
                    .map(|c| c.access_key_id().to_owned());
                self.credentials = Some(Credentials::new(id.unwrap_or_default(), value));
            }
            ConfigKey::SessionToken => {
                let c = self
                    .credentials
                    .take()
                    .unwrap_or_else(|| Credentials::new("", ""));
                self.credentials = Some(c.with_session_token(value));
            }
            ConfigKey::AddressingStyle => {
                self.addressing = Some(match value {
                    "path" => AddressingStyle::Path,
                    "virtual" | "virtual-hosted" => AddressingStyle::VirtualHosted,
                    _ => return Err(bad("addressing_style", value)),
                })
            }
            ConfigKey::SignatureVersion => {
                self.signature = match value.to_ascii_lowercase().as_str() {
                    "v4" | "s3v4" => SignatureVersion::V4,
                    "v2" | "s3" => SignatureVersion::V2,
                    _ => return Err(bad("signature_version", value)),
                }
            }
            ConfigKey::InsecureTls => self.insecure_tls = parse_bool("insecure_tls", value)?,
            ConfigKey::PayloadSigning => {
                self.payload = match value {
                    "auto" => PayloadSigning::Auto,
                    "signed" => PayloadSigning::Signed,
                    "unsigned" => PayloadSigning::Unsigned,
                    _ => return Err(bad("payload_signing", value)),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDS: &str = "[default]\naws_access_key_id = AK1\naws_secret_access_key = SK1\n\n[other]\naws_access_key_id=AK2\naws_secret_access_key=SK2\naws_session_token=T2\n";
    const CONF: &str = "[default]\nregion = eu-west-1\n# comment\n[profile other]\nregion = us-west-2\nendpoint_url = http://localhost:9000\ns3 =\n  addressing_style = virtual\n";

    #[test]
    fn profiles_merge() {
        let d = Profile::from_files("default", CREDS, CONF);
        assert_eq!(d.credentials.unwrap().access_key_id(), "AK1");
        assert_eq!(d.region.as_deref(), Some("eu-west-1"));
        assert_eq!(d.endpoint, None);
        let o = Profile::from_files("other", CREDS, CONF);
        let c = o.credentials.unwrap();
        assert_eq!(c.access_key_id(), "AK2");
        assert_eq!(c.session_token(), Some("T2"));
        assert_eq!(o.region.as_deref(), Some("us-west-2"));
        assert_eq!(o.endpoint.as_deref(), Some("http://localhost:9000"));
        assert_eq!(o.addressing_style, Some(AddressingStyle::VirtualHosted));
        let none = Profile::from_files("missing", CREDS, CONF);
        assert_eq!(none, Profile::default());
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let r = RetryConfig::default();
        assert_eq!(r.backoff(0, 1.0), Duration::from_millis(200));
        assert_eq!(r.backoff(3, 1.0), Duration::from_millis(1600));
        assert_eq!(r.backoff(40, 1.0), Duration::from_secs(15));
        assert_eq!(r.backoff(5, 0.0), Duration::ZERO);
    }

    #[test]
    fn config_keys() {
        let b = ClientBuilder::new()
            .with_config("AWS_REGION".parse().unwrap(), "x")
            .with_config(ConfigKey::SignatureVersion, "v2");
        assert_eq!(b.region.as_deref(), Some("x"));
        assert_eq!(b.signature, SignatureVersion::V2);
        assert!(b.invalid.is_none());
        assert!("nope".parse::<ConfigKey>().is_err());
        let bad = ClientBuilder::new()
            .with_endpoint("http://127.0.0.1:9000")
            .with_config(ConfigKey::InsecureTls, "maybe")
            .with_config(ConfigKey::SignatureVersion, "v9");
        assert!(!bad.insecure_tls);
        match bad.build() {
            Err(Error::Config { key, reason }) => {
                assert_eq!(key, "insecure_tls");
                assert!(reason.contains("maybe"), "{reason}");
            }
            other => panic!("the first bad value is reported at build: {other:?}"),
        }
    }
}
