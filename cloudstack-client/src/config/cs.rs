//! Where the settings come from, rule for rule as the Python `cs` package's `read_config`
//! (sans-IO: the caller reads the environment and the files).
//!
//! 1. Every `CLOUDSTACK_<KEY>` variable that is set and not empty gives `<key>` (keys: [`CS_KEYS`],
//!    plus this crate's `signature_algorithm`).
//! 2. Unless `CLOUDSTACK_OVERRIDES` is set, a set `CLOUDSTACK_ENDPOINT` means the environment alone
//!    configures the client: no file is read and the region (profile) is not consulted, even when
//!    one is named (`CLOUDSTACK_REGION=other` with the three `CLOUDSTACK_*` variables set uses the
//!    environment's keys).
//! 3. Otherwise the ini files `~/.cloudstack.ini`, `./cloudstack.ini` and `$CLOUDSTACK_CONFIG` are
//!    read in that order (later files win key by key); none existing is an error. The section is
//!    the region asked for, else `$CLOUDSTACK_REGION`, else `cloudstack`. A region asked for by
//!    name must exist; the `$CLOUDSTACK_REGION`/`cloudstack` fallback may be missing (then only the
//!    environment counts). Empty values and unknown keys are skipped; `header_*` keys are HTTP
//!    headers.
//! 4. The section's values override the environment's, except for the keys listed in
//!    `CLOUDSTACK_OVERRIDES` (split at non-word characters): for those the environment wins, and
//!    when the variable is unset `cs`'s built-in default wins over the file, so the file's value
//!    is dropped.
//! 5. No `endpoint` at the end is an error.

use std::collections::BTreeMap;

use super::ini::Ini;
use crate::{Error, Result};

/// The keys `cs` reads from the environment (`CLOUDSTACK_<KEY>`) and the ini section.
pub const CS_KEYS: &[&str] = &[
    "endpoint",
    "method",
    "timeout",
    "key",
    "secret",
    "verify",
    "cert",
    "cert_key",
    "retry",
    "retry_backoff",
    "theme",
    "expiration",
    "poll_interval",
    "trace",
    "dangerous_no_tls_verify",
    "job_timeout",
];

/// Keys this crate reads besides `cs`'s (`cs` ignores them).
const EXTENSION_KEYS: &[&str] = &["signature_algorithm"];

/// The keys `cs` has a built-in default for (its `DEFAULT_CONFIG`).
const CS_DEFAULTED: &[&str] = &[
    "timeout",
    "method",
    "retry",
    "verify",
    "cert",
    "cert_key",
    "name",
    "expiration",
    "poll_interval",
    "trace",
    "dangerous_no_tls_verify",
];

/// The settings `read_config` arrived at.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// The ini section used, `None` when the environment alone configured the client.
    pub name: Option<String>,
    /// Key → value, only what the environment or the file set (never `cs`'s defaults).
    pub values: BTreeMap<String, String>,
    /// HTTP headers from `header_<name>` keys.
    pub headers: BTreeMap<String, String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: BTreeMap<&str, &str> = self
            .values
            .iter()
            .map(|(k, v)| (k.as_str(), if k == "secret" { "***" } else { v.as_str() }))
            .collect();
        f.debug_struct("Settings")
            .field("name", &self.name)
            .field("values", &shown)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// One ini file: its path (for messages) and its text, `None` when it does not exist.
#[derive(Debug, Clone)]
pub struct IniFile {
    /// The path as tried.
    pub path: String,
    /// Its text, `None` when the file does not exist.
    pub text: Option<String>,
}

fn allowed(key: &str) -> bool {
    CS_KEYS.contains(&key) || EXTENSION_KEYS.contains(&key) || key.starts_with("header_")
}

/// `cs`'s `read_config(ini_group)` over an environment lookup (`env(name)` returns the raw value,
/// empty strings included) and the ini files in reading order. See the module docs.
///
/// # Errors
/// [`Error::Config`] when no file exists and one is needed (`key` `config`), a file is malformed
/// (`config`), the named region is not in the files (`region`), or no endpoint results
/// (`endpoint`).
pub fn read_config(
    env: &dyn Fn(&str) -> Option<String>,
    files: &[IniFile],
    ini_group: Option<&str>,
) -> Result<Settings> {
    let mut env_conf = BTreeMap::new();
    for key in CS_KEYS.iter().chain(EXTENSION_KEYS) {
        if let Some(v) = env(&format!("CLOUDSTACK_{}", key.to_ascii_uppercase()))
            && !v.is_empty()
        {
            env_conf.insert((*key).to_owned(), v);
        }
    }
    let overrides = env("CLOUDSTACK_OVERRIDES").unwrap_or_default();
    let overrides = overrides.trim();
    if overrides.is_empty() && env_conf.contains_key("endpoint") {
        return Ok(Settings {
            name: None,
            values: env_conf,
            headers: BTreeMap::new(),
        });
    }
    if files.iter().all(|f| f.text.is_none()) {
        let tried: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        return Err(cfg(
            "config",
            format!(
                "config file not found (tried {}); set CLOUDSTACK_ENDPOINT, CLOUDSTACK_KEY and CLOUDSTACK_SECRET, or write ~/.cloudstack.ini",
                tried.join(", ")
            ),
        ));
    }
    let mut ini = Ini::default();
    for f in files {
        if let Some(text) = &f.text {
            ini.read(&f.path, text).map_err(|r| cfg("config", r))?;
        }
    }
    let (group, explicit) = match ini_group.filter(|g| !g.is_empty()) {
        Some(g) => (g.to_owned(), true),
        None => (
            env("CLOUDSTACK_REGION").unwrap_or_else(|| "cloudstack".to_owned()),
            false,
        ),
    };
    let mut settings = Settings::default();
    let mut ini_conf = BTreeMap::new();
    match ini.items(&group) {
        None if explicit => {
            let known: Vec<&str> = ini.sections().keys().map(String::as_str).collect();
            return Err(cfg(
                "region",
                format!(
                    "region '{group}' not in config (sections: {})",
                    known.join(", ")
                ),
            ));
        }
        None => {}
        Some(items) => {
            settings.name = Some(group.clone());
            for (k, v) in items.map_err(|r| cfg("config", r))? {
                if v.is_empty() || !allowed(&k) {
                    continue;
                }
                match k.strip_prefix("header_") {
                    Some(h) => {
                        settings.headers.insert(h.to_owned(), v);
                    }
                    None => {
                        ini_conf.insert(k, v);
                    }
                }
            }
        }
    }
    let override_keys: Vec<String> = overrides
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(str::to_lowercase)
        .collect();
    let mut values = env_conf.clone();
    values.extend(ini_conf);
    for k in &override_keys {
        match env_conf.get(k) {
            Some(v) => {
                values.insert(k.clone(), v.clone());
            }
            None if CS_DEFAULTED.contains(&k.as_str()) => {
                values.remove(k);
            }
            None => {}
        }
    }
    if override_keys.iter().any(|k| k == "name") {
        settings.name = None;
    }
    if !values.contains_key("endpoint") {
        return Err(cfg(
            "endpoint",
            format!(
                "the configuration is missing the following keys: endpoint ({})",
                match &settings.name {
                    Some(n) => format!("section [{n}] has no endpoint"),
                    None => format!(
                        "no section [{group}]; set CLOUDSTACK_ENDPOINT or name a region that exists"
                    ),
                }
            ),
        ));
    }
    settings.values = values;
    Ok(settings)
}

fn cfg(key: &str, reason: String) -> Error {
    Error::Config {
        key: key.to_owned(),
        reason,
    }
}

/// Python's `strtobool`: `Some(true)` for y/yes/t/true/on/1, `Some(false)` for
/// n/no/f/false/off/0 (any case), `None` otherwise.
pub(crate) fn strtobool(v: &str) -> Option<bool> {
    match v.to_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Some(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn files(texts: &[&str]) -> Vec<IniFile> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| IniFile {
                path: format!("f{i}.ini"),
                text: Some((*t).to_owned()),
            })
            .collect()
    }

    const INI: &str = "[cloudstack]\nendpoint = https://a/client/api\nkey = ka\nsecret = sa\ntimeout = 30\n[other]\nendpoint = https://o/client/api\nkey = ko\nsecret = so\ntheme = x\nbogus = 1\nheader_X-Trace = on\n";
    const ENV3: &[(&str, &str)] = &[
        ("CLOUDSTACK_ENDPOINT", "https://e/client/api"),
        ("CLOUDSTACK_KEY", "ke"),
        ("CLOUDSTACK_SECRET", "se"),
    ];

    #[test]
    fn environment_endpoint_wins_over_region() {
        let mut env = ENV3.to_vec();
        env.push(("CLOUDSTACK_REGION", "other"));
        let s = read_config(&env_of(&env), &files(&[INI]), None).unwrap();
        assert_eq!(s.name, None);
        assert_eq!(s.values["key"], "ke");
        // even a region named explicitly
        let s = read_config(&env_of(ENV3), &files(&[INI]), Some("other")).unwrap();
        assert_eq!(s.values["endpoint"], "https://e/client/api");
        // no file is needed then
        assert!(read_config(&env_of(ENV3), &[], Some("other")).is_ok());
    }

    #[test]
    fn region_selects_the_section_and_file_wins_over_env() {
        let env = [
            ("CLOUDSTACK_REGION", "other"),
            ("CLOUDSTACK_KEY", "ke"),
            ("CLOUDSTACK_TIMEOUT", "7"),
        ];
        let s = read_config(&env_of(&env), &files(&[INI]), None).unwrap();
        assert_eq!(s.name.as_deref(), Some("other"));
        assert_eq!(s.values["key"], "ko");
        assert_eq!(s.values["timeout"], "7"); // not in [other]: the environment's
        assert!(!s.values.contains_key("bogus"));
        assert_eq!(s.headers["x-trace"], "on");
        let s = read_config(&env_of(&[]), &files(&[INI]), None).unwrap();
        assert_eq!(s.values["key"], "ka");
    }

    #[test]
    fn overrides_let_the_environment_win() {
        let env = [
            ("CLOUDSTACK_OVERRIDES", "key, endpoint;timeout"),
            ("CLOUDSTACK_KEY", "ke"),
            ("CLOUDSTACK_ENDPOINT", "https://e/client/api"),
        ];
        let s = read_config(&env_of(&env), &files(&[INI]), None).unwrap();
        assert_eq!(s.name.as_deref(), Some("cloudstack"));
        assert_eq!(s.values["key"], "ke");
        assert_eq!(s.values["endpoint"], "https://e/client/api");
        assert_eq!(s.values["secret"], "sa");
        assert!(!s.values.contains_key("timeout"), "cs's default wins");
    }

    #[test]
    fn missing_things() {
        let e = read_config(
            &env_of(&[]),
            &[IniFile {
                path: "~/.cloudstack.ini".into(),
                text: None,
            }],
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::Config { key, reason } if key == "config" && reason.contains("~/.cloudstack.ini")),
            "{e:?}"
        );
        let e = read_config(&env_of(&[]), &files(&[INI]), Some("tokyo")).unwrap_err();
        assert!(
            matches!(&e, Error::Config { key, reason } if key == "region" && reason.contains("'tokyo'")),
            "{e:?}"
        );
        let e = read_config(
            &env_of(&[("CLOUDSTACK_REGION", "tokyo")]),
            &files(&[INI]),
            None,
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::Config { key, .. } if key == "endpoint"),
            "{e:?}"
        );
        // the fallback section may be missing when the environment has the rest (with overrides)
        let env = [
            ("CLOUDSTACK_REGION", "tokyo"),
            ("CLOUDSTACK_OVERRIDES", "x"),
            ("CLOUDSTACK_ENDPOINT", "https://e"),
        ];
        assert_eq!(
            read_config(&env_of(&env), &files(&[INI]), None)
                .unwrap()
                .name,
            None
        );
        // empty values are unset
        let env = [("CLOUDSTACK_ENDPOINT", ""), ("CLOUDSTACK_KEY", "")];
        assert_eq!(
            read_config(&env_of(&env), &files(&[INI]), None)
                .unwrap()
                .values["key"],
            "ka"
        );
        let s = read_config(
            &env_of(&[]),
            &files(&["[cloudstack]\nendpoint = https://a\nkey =\n"]),
            None,
        )
        .unwrap();
        assert!(!s.values.contains_key("key"));
    }

    #[test]
    fn secret_not_in_debug() {
        let s = read_config(&env_of(ENV3), &[], None).unwrap();
        assert!(!format!("{s:?}").contains("se\""));
        assert!(format!("{s:?}").contains("***"));
    }

    #[test]
    fn strtobool_table() {
        for t in ["y", "YES", "t", "True", "on", "1"] {
            assert_eq!(strtobool(t), Some(true));
        }
        for f in ["n", "No", "f", "false", "OFF", "0"] {
            assert_eq!(strtobool(f), Some(false));
        }
        assert_eq!(strtobool("maybe"), None);
    }
}
