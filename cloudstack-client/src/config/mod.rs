//! Client configuration: builder, environment, and the `cs`-compatible ini file.
//!
//! [`ClientBuilder::from_env`] and [`ClientBuilder::from_env_profile`] find the settings exactly
//! as the Python `cs` package does (see [`read_config`] for every rule): a set
//! `CLOUDSTACK_ENDPOINT` (with `CLOUDSTACK_KEY`, `CLOUDSTACK_SECRET`, …) configures the client
//! from the environment alone, whatever region is named, unless `CLOUDSTACK_OVERRIDES` is set;
//! otherwise the ini files `~/.cloudstack.ini`, `./cloudstack.ini` and `$CLOUDSTACK_CONFIG` are
//! read (in `configparser`'s dialect, later files winning) and the section named by the profile
//! argument, `$CLOUDSTACK_REGION`, or `cloudstack` is used.
//!
//! Keys used: `endpoint`, `key`, `secret`, `method` (`get`/`post`), `timeout` (seconds),
//! `expiration` (seconds, `-1` disables `signatureVersion=3`), `verify` (a PEM file of CA
//! certificates or of the server's own self-signed certificate; this crate also reads `false`
//! as "do not verify"), `dangerous_no_tls_verify` (`true`), `job_timeout` (seconds) and this
//! crate's `signature_algorithm` (`HmacSHA1`/`HmacSHA512`). `cs`'s `cert`, `cert_key`, `retry`,
//! `retry_backoff`, `poll_interval`, `theme`, `trace` and `header_*` are read but not used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::command::{MethodPolicy, SignOptions};
use crate::job::JobConfig;
use crate::retry::RetryConfig;
use crate::sign::SignatureAlgorithm;
use crate::{Client, Error, Result};

mod cs;
mod ini;

pub use cs::{CS_KEYS, IniFile, Settings, read_config};

/// A secret string: `Debug` prints `***`, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret's value (only for signing).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A configuration option, nameable from strings (env vars, ini keys, Python dicts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ConfigKey {
    /// API endpoint URL (`endpoint`, `url`, `api_url`).
    Endpoint,
    /// API key (`key`, `apikey`, `api_key`).
    ApiKey,
    /// Secret key (`secret`, `secretkey`, `secret_key`).
    SecretKey,
    /// `get`, `post` or `auto` (`method`).
    Method,
    /// Request timeout in seconds (`timeout`).
    Timeout,
    /// Signed-request lifetime in seconds, `-1` = no `signatureVersion=3` (`expiration`).
    Expiration,
    /// `HmacSHA1` / `HmacSHA512` (`signature_algorithm`, `signaturealgorithm`).
    SignatureAlgorithm,
    /// `true`/`false`, or a CA bundle path to trust in addition (`verify`).
    Verify,
    /// `true` disables TLS verification (`dangerous_no_tls_verify`).
    DangerousNoTlsVerify,
    /// Async-job wait deadline in seconds (`job_timeout`).
    JobTimeout,
}

impl FromStr for ConfigKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let k = s.to_ascii_lowercase();
        let k = k.strip_prefix("cloudstack_").unwrap_or(&k);
        Ok(match k {
            "endpoint" | "url" | "api_url" => Self::Endpoint,
            "key" | "apikey" | "api_key" => Self::ApiKey,
            "secret" | "secretkey" | "secret_key" | "api_secret" => Self::SecretKey,
            "method" => Self::Method,
            "timeout" => Self::Timeout,
            "expiration" => Self::Expiration,
            "signature_algorithm" | "signaturealgorithm" => Self::SignatureAlgorithm,
            "verify" => Self::Verify,
            "dangerous_no_tls_verify" => Self::DangerousNoTlsVerify,
            "job_timeout" => Self::JobTimeout,
            _ => {
                return Err(Error::Config {
                    key: s.to_owned(),
                    reason: "unknown option".into(),
                });
            }
        })
    }
}

/// Builds a [`Client`]. `with_*` setters consume and return the builder; [`ClientBuilder::build`]
/// validates once.
///
/// # Examples
/// ```
/// let client = cloudstack_client::Client::builder()
///     .with_endpoint("https://cloud.example.com/client/api")
///     .with_credentials("api-key", "secret-key")
///     .build()
///     .unwrap();
/// # drop(client);
/// ```
#[derive(Clone, Default)]
pub struct ClientBuilder {
    pub(crate) endpoint: Option<String>,
    pub(crate) api_key: Option<String>,
    pub(crate) secret: Option<Secret>,
    pub(crate) sign: SignOptions,
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) retry: RetryConfig,
    pub(crate) job: JobConfig,
    pub(crate) extra_ca_pem: Vec<Vec<u8>>,
    pub(crate) ca_files: Vec<PathBuf>,
    pub(crate) insecure_tls: bool,
    pub(crate) deferred: Vec<(ConfigKey, String)>,
    /// Why [`ClientBuilder::from_env`] found no usable settings, reported by
    /// [`ClientBuilder::build`].
    pub(crate) unreadable: Option<Unreadable>,
}

/// A configuration failure kept in a builder until [`ClientBuilder::build`] reports it (the
/// builder is `Clone`, an [`Error`] is not).
#[derive(Clone, Debug)]
pub(crate) enum Unreadable {
    /// Nothing names an endpoint (no file, or a section without one): moot once the caller
    /// sets the endpoint itself.
    NoEndpoint {
        key: String,
        reason: String,
    },
    Config {
        key: String,
        reason: String,
    },
    Io {
        path: String,
        kind: std::io::ErrorKind,
        message: String,
    },
}

impl Unreadable {
    fn of(e: Error) -> Self {
        match e {
            Error::Config { key, reason }
                if key == "endpoint" || (key == "config" && reason.contains("not found")) =>
            {
                Self::NoEndpoint { key, reason }
            }
            Error::Io { path, source } => Self::Io {
                path,
                kind: source.kind(),
                message: source.to_string(),
            },
            Error::Config { key, reason } => Self::Config { key, reason },
            other => Self::Config {
                key: "configuration".into(),
                reason: other.to_string(),
            },
        }
    }

    fn into_error(self) -> Error {
        match self {
            Self::Config { key, reason } | Self::NoEndpoint { key, reason } => {
                Error::Config { key, reason }
            }
            Self::Io {
                path,
                kind,
                message,
            } => Error::Io {
                path,
                source: std::io::Error::new(kind, message),
            },
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key)
            .field("secret", &self.secret)
            .field("sign", &self.sign)
            .field("insecure_tls", &self.insecure_tls)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The API endpoint, e.g. `https://cloud.example.com/client/api`.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The API key and secret key.
    pub fn with_credentials(
        mut self,
        api_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.api_key = Some(api_key.into());
        self.secret = Some(Secret::new(secret_key));
        self
    }

    /// Whole-request timeout (default 60 s).
    pub fn with_timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }

    /// Connect timeout (default 10 s).
    pub fn with_connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = Some(t);
        self
    }

    /// Signing options (algorithm, `signatureVersion=3`, TTL, GET/POST policy).
    pub fn with_sign_options(mut self, opts: SignOptions) -> Self {
        self.sign = opts;
        self
    }

    /// MAC algorithm (default HMAC-SHA1).
    pub fn with_signature_algorithm(mut self, alg: SignatureAlgorithm) -> Self {
        self.sign.algorithm = alg;
        self
    }

    /// GET/POST policy (default: GET, POST for large or sensitive values).
    pub fn with_method(mut self, m: MethodPolicy) -> Self {
        self.sign.method = m;
        self
    }

    /// Retry policy for read-only calls.
    pub fn with_retry(mut self, r: RetryConfig) -> Self {
        self.retry = r;
        self
    }

    /// Async-job wait schedule and deadline.
    pub fn with_job_config(mut self, j: JobConfig) -> Self {
        self.job = j;
        self
    }

    /// Trusts an extra CA certificate (PEM) in addition to the system roots.
    pub fn with_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_ca_pem.push(pem.into());
        self
    }

    /// Disables TLS certificate verification. Only for test clouds: anyone on the path can then read
    /// and replay requests.
    pub fn with_insecure_tls(mut self, insecure: bool) -> Self {
        self.insecure_tls = insecure;
        self
    }

    /// Sets an option by key from a string; parse errors surface in [`ClientBuilder::build`].
    pub fn with_config(mut self, key: ConfigKey, value: impl Into<String>) -> Self {
        self.deferred.push((key, value.into()));
        self
    }

    /// A builder from the environment and the `cs`-style ini files, as `cs.read_config()` (see
    /// [`read_config`]): the section is `$CLOUDSTACK_REGION`, else `cloudstack`, and may be
    /// missing when the environment has the endpoint. Later `with_*` calls override what it
    /// read.
    ///
    /// Like every builder method it returns the builder; [`ClientBuilder::build`] reports
    /// [`Error::Config`] when no file exists and the environment has no endpoint, a file is
    /// malformed, or no endpoint results, and [`Error::Io`] for an unreadable file.
    ///
    /// ```
    /// use cloudstack_client::ClientBuilder;
    ///
    /// // With no settings anywhere, the builder still comes back; build() says what is missing.
    /// # unsafe { std::env::set_var("CLOUDSTACK_CONFIG", "/nonexistent/cloudstack.ini") };
    /// let built = ClientBuilder::from_env()
    ///     .with_endpoint("http://127.0.0.1:8080/client/api")
    ///     .with_credentials("api-key", "secret-key")
    ///     .build();
    /// # drop(built);
    /// ```
    pub fn from_env() -> Self {
        Self::from_env_profile(None)
    }

    /// Like [`ClientBuilder::from_env`] with a region (ini section) asked for by name, as
    /// `cs.read_config(ini_group)`: it must exist in the files, and is not consulted at all when
    /// `CLOUDSTACK_ENDPOINT` is set (unless `CLOUDSTACK_OVERRIDES` is). `None` is
    /// [`ClientBuilder::from_env`].
    ///
    /// [`ClientBuilder::build`] reports the errors of [`ClientBuilder::from_env`], and
    /// [`Error::Config`] (key `region`) for a missing section.
    pub fn from_env_profile(profile: Option<&str>) -> Self {
        Self::read_env(profile).unwrap_or_else(|e| Self {
            unreadable: Some(Unreadable::of(e)),
            ..Self::new()
        })
    }

    fn read_env(profile: Option<&str>) -> Result<Self> {
        let env = |k: &str| std::env::var(k).ok();
        let mut paths = Vec::new();
        if let Some(home) = std::env::var_os("HOME") {
            paths.push(Path::new(&home).join(".cloudstack.ini"));
        }
        paths.push(
            std::env::current_dir()
                .unwrap_or_default()
                .join("cloudstack.ini"),
        );
        if let Some(c) = std::env::var_os("CLOUDSTACK_CONFIG") {
            paths.push(PathBuf::from(c));
        }
        let mut files = Vec::new();
        for f in paths {
            let text = match std::fs::read_to_string(&f) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => {
                    return Err(Error::Io {
                        path: f.display().to_string(),
                        source,
                    });
                }
            };
            files.push(IniFile {
                path: f.display().to_string(),
                text,
            });
        }
        Ok(Self::from_settings(&read_config(&env, &files, profile)?))
    }

    /// A builder from settings found by [`read_config`]. A `verify` path takes precedence over
    /// `dangerous_no_tls_verify`, as in `cs`.
    pub fn from_settings(settings: &Settings) -> Self {
        let mut b = ClientBuilder::new();
        let verify_set = settings.values.contains_key("verify");
        for (k, v) in &settings.values {
            if k == "dangerous_no_tls_verify" && verify_set {
                continue;
            }
            match ConfigKey::from_str(k) {
                Ok(key) => b = b.with_config(key, v.clone()),
                Err(_) => tracing::debug!(key = %k, "setting read but not used"),
            }
        }
        b
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] for a missing/invalid endpoint, key or secret, an unreadable CA, or an
    /// invalid option value.
    pub fn build(mut self) -> Result<Client> {
        let endpoint_given =
            self.endpoint.is_some() || self.deferred.iter().any(|(k, _)| *k == ConfigKey::Endpoint);
        match self.unreadable.take() {
            Some(Unreadable::NoEndpoint { .. }) if endpoint_given => {}
            Some(e) => return Err(e.into_error()),
            None => {}
        }
        for (key, value) in std::mem::take(&mut self.deferred) {
            self.apply(key, &value)?;
        }
        let endpoint = self
            .endpoint
            .clone()
            .ok_or_else(|| cfg_err("endpoint", "not set"))?;
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(cfg_err("endpoint", "must start with http:// or https://"));
        }
        if self.api_key.as_deref().unwrap_or("").is_empty() {
            return Err(cfg_err("key", "API key not set"));
        }
        if self
            .secret
            .as_ref()
            .map(|s| s.expose().is_empty())
            .unwrap_or(true)
        {
            return Err(cfg_err("secret", "secret key not set"));
        }
        if self.sign.expires_ttl > Duration::from_secs(600) {
            return Err(cfg_err("expiration", "at most 600 seconds"));
        }
        Client::from_builder(self)
    }

    fn apply(&mut self, key: ConfigKey, value: &str) -> Result<()> {
        let name = format!("{key:?}").to_ascii_lowercase();
        let secs = |v: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64)
        };
        match key {
            ConfigKey::Endpoint => self.endpoint = Some(value.to_owned()),
            ConfigKey::ApiKey => self.api_key = Some(value.to_owned()),
            ConfigKey::SecretKey => self.secret = Some(Secret::new(value)),
            ConfigKey::Method => {
                self.sign.method = match value.to_ascii_lowercase().as_str() {
                    "get" => MethodPolicy::Get,
                    "post" => MethodPolicy::Post,
                    "auto" | "" => MethodPolicy::Auto,
                    _ => return Err(cfg_err(&name, "expected get, post or auto")),
                }
            }
            ConfigKey::Timeout => {
                self.timeout = Some(secs(value).ok_or_else(|| cfg_err(&name, "expected seconds"))?)
            }
            ConfigKey::JobTimeout => {
                self.job.timeout = secs(value).ok_or_else(|| cfg_err(&name, "expected seconds"))?
            }
            ConfigKey::Expiration => {
                if value.trim() == "-1" {
                    self.sign.signature_v3 = false;
                } else {
                    self.sign.signature_v3 = true;
                    self.sign.expires_ttl =
                        secs(value).ok_or_else(|| cfg_err(&name, "expected seconds or -1"))?;
                }
            }
            ConfigKey::SignatureAlgorithm => {
                self.sign.algorithm = value.parse().map_err(|r: String| cfg_err(&name, &r))?
            }
            ConfigKey::Verify => match value.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "" => {}
                "false" | "no" | "0" => self.insecure_tls = true,
                _ => self.ca_files.push(PathBuf::from(value)),
            },
            ConfigKey::DangerousNoTlsVerify => {
                self.insecure_tls = cs::strtobool(value.trim())
                    .ok_or_else(|| cfg_err(&name, "expected true or false"))?;
            }
        }
        Ok(())
    }
}

fn cfg_err(key: &str, reason: &str) -> Error {
    Error::Config {
        key: key.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Parses an ini text as Python's `configparser` does (the dialect `cs` reads): section →
/// key → value, with `[DEFAULT]` merged into every section and `%(key)s` interpolated.
///
/// # Errors
/// [`Error::Config`] for a malformed file (a key outside a section, a line that is not
/// `key = value`, a repeated section or key, a bad `%`).
pub fn parse_ini(text: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let mut ini = ini::Ini::default();
    ini.read("ini", text).map_err(|r| cfg_err("config", &r))?;
    ini.sections()
        .keys()
        .map(|name| {
            let items = ini
                .items(name)
                .unwrap_or_else(|| Ok(BTreeMap::new()))
                .map_err(|r| cfg_err("config", &r))?;
            Ok((name.clone(), items))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `from_env` could not read is reported by `build`, unless it only lacked the endpoint
    /// and the caller then gave one.
    #[test]
    fn settings_that_could_not_be_read_are_reported_at_build() {
        let unread = |e: Error| ClientBuilder {
            unreadable: Some(Unreadable::of(e)),
            ..ClientBuilder::new()
        };
        let nothing = || cfg_err("config", "config file not found (tried ~/.cloudstack.ini)");
        let given = unread(nothing())
            .with_endpoint("http://127.0.0.1:8080/client/api")
            .with_credentials("key", "secret")
            .build();
        assert!(given.is_ok(), "{given:?}");
        match unread(nothing()).with_credentials("key", "secret").build() {
            Err(Error::Config { key, reason }) => {
                assert_eq!(key, "config");
                assert!(reason.contains("not found"), "{reason}");
            }
            other => panic!("the missing file is reported: {other:?}"),
        }
        let malformed = unread(cfg_err("config", "~/.cloudstack.ini line 3: no section"))
            .with_endpoint("http://127.0.0.1:8080/client/api")
            .with_credentials("key", "secret")
            .build();
        assert!(
            matches!(&malformed, Err(Error::Config { reason, .. }) if reason.contains("line 3")),
            "a malformed file is reported even when the endpoint is given: {malformed:?}"
        );
        let io = unread(Error::Io {
            path: "/etc/cloudstack.ini".into(),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        })
        .build();
        assert!(
            matches!(&io, Err(Error::Io { path, source }) if path == "/etc/cloudstack.ini" && source.kind() == std::io::ErrorKind::PermissionDenied),
            "{io:?}"
        );
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn resolve(
        env: &dyn Fn(&str) -> Option<String>,
        files: &[(String, String)],
        profile: Option<&str>,
    ) -> Result<ClientBuilder> {
        let files: Vec<IniFile> = files
            .iter()
            .map(|(p, t)| IniFile {
                path: p.clone(),
                text: Some(t.clone()),
            })
            .collect();
        Ok(ClientBuilder::from_settings(&read_config(
            env, &files, profile,
        )?))
    }

    const INI: &str = "# cs config\n[cloudstack]\nendpoint = https://a.example/client/api\nkey = ka\nsecret = sa\n\n[tokyo]\nendpoint: https://t.example/client/api\nkey = kt\nsecret = st=with=equals\ntimeout = 30\nexpiration = -1\nmethod = post\n";

    #[test]
    fn ini_profiles() {
        let files = vec![("x.ini".to_owned(), INI.to_owned())];
        let b = resolve(&env_of(&[]), &files, None)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(b.endpoint(), "https://a.example/client/api");
        let b = resolve(&env_of(&[("CLOUDSTACK_REGION", "tokyo")]), &files, None).unwrap();
        let c = b.build().unwrap();
        assert_eq!(c.endpoint(), "https://t.example/client/api");
        assert!(!c.sign_options().signature_v3);
        assert_eq!(c.sign_options().method, MethodPolicy::Post);
        let b = resolve(&env_of(&[]), &files, Some("tokyo")).unwrap();
        assert_eq!(b.secret.as_ref().map(Secret::expose), None); // deferred until build
        match resolve(&env_of(&[]), &files, Some("osaka")) {
            Err(Error::Config { key, reason }) => {
                assert!(key == "region" && reason.contains("'osaka'"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn later_files_override() {
        let files = vec![
            ("a".to_owned(), INI.to_owned()),
            ("b".to_owned(), "[cloudstack]\nkey = override\n".to_owned()),
        ];
        let b = resolve(&env_of(&[]), &files, None)
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(b.api_key(), "override");
    }

    #[test]
    fn env_wins_without_profile() {
        let env = env_of(&[
            ("CLOUDSTACK_ENDPOINT", "http://127.0.0.1:1/client/api"),
            ("CLOUDSTACK_KEY", "k"),
            ("CLOUDSTACK_SECRET", "s"),
            ("CLOUDSTACK_TIMEOUT", "5"),
        ]);
        let c = resolve(&env, &[], None).unwrap().build().unwrap();
        assert_eq!(c.endpoint(), "http://127.0.0.1:1/client/api");
        assert!(matches!(
            resolve(&env_of(&[]), &[], None),
            Err(Error::Config { .. })
        ));
    }

    #[test]
    fn invalid_values() {
        let base = ClientBuilder::new()
            .with_endpoint("https://x/client/api")
            .with_credentials("k", "s");
        for (k, v) in [
            (ConfigKey::Timeout, "soon"),
            (ConfigKey::Method, "put"),
            (ConfigKey::SignatureAlgorithm, "md5"),
            (ConfigKey::Expiration, "abc"),
        ] {
            assert!(
                matches!(
                    base.clone().with_config(k, v).build(),
                    Err(Error::Config { .. })
                ),
                "{k:?}"
            );
        }
        assert!(matches!(
            ClientBuilder::new()
                .with_endpoint("ftp://x")
                .with_credentials("k", "s")
                .build(),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            ClientBuilder::new()
                .with_endpoint("https://x")
                .with_credentials("k", "")
                .build(),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            ClientBuilder::new().with_credentials("k", "s").build(),
            Err(Error::Config { .. })
        ));
        assert!("bogus".parse::<ConfigKey>().is_err());
        assert_eq!(
            "CLOUDSTACK_SECRET".parse::<ConfigKey>().unwrap(),
            ConfigKey::SecretKey
        );
    }

    #[test]
    fn secret_not_in_debug() {
        let b = ClientBuilder::new().with_credentials("k", "TOPSECRET-123");
        assert!(!format!("{b:?}").contains("TOPSECRET"));
        assert!(!format!("{:?}", Secret::new("TOPSECRET")).contains("TOPSECRET"));
    }

    #[test]
    fn ini_parser() {
        let m = parse_ini("; c\n[s]\nA = 1\nb: 2\n  # x\nc = http://h:1/p\n").unwrap();
        assert_eq!(m["s"]["a"], "1");
        assert_eq!(m["s"]["b"], "2");
        assert_eq!(m["s"]["c"], "http://h:1/p");
        assert!(parse_ini("k=v\n").is_err(), "a key outside a section");
    }

    #[test]
    fn verify_path_beats_dangerous_no_tls_verify() {
        let s = Settings {
            name: None,
            values: [
                ("endpoint", "https://x/client/api"),
                ("key", "k"),
                ("secret", "s"),
                ("verify", "/nonexistent/ca.pem"),
                ("dangerous_no_tls_verify", "true"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            headers: BTreeMap::new(),
        };
        let e = ClientBuilder::from_settings(&s).build().unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "the CA file is read: {e:?}");
    }
}
