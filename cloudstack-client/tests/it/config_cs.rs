//! Configuration precedence against the Python `cs` package itself: for each scenario (the
//! environment, `~/.cloudstack.ini`, `./cloudstack.ini`, `$CLOUDSTACK_CONFIG`, a region asked for
//! or not) `cs.read_config` runs in a child process with exactly that environment and those files,
//! and [`read_config`] must arrive at the same settings, or fail where `cs` fails.

use std::collections::BTreeMap;
use std::path::Path;

use cloudstack_client::Error;
use cloudstack_client::config::{IniFile, Settings, read_config};
use serde_json::{Value, json};

use crate::common;

const SCRIPT: &str = r#"
import json, sys, configparser
import cs
from cs.client import DEFAULT_CONFIG
group = sys.argv[1] or None
try:
    conf = cs.read_config(ini_group=group)
except SystemExit:
    print(json.dumps({"error": "config"})); sys.exit(0)
except configparser.NoSectionError:
    print(json.dumps({"error": "region"})); sys.exit(0)
except ValueError as e:
    kind = "endpoint" if "missing the following keys" in str(e) else "config"
    print(json.dumps({"error": kind})); sys.exit(0)
except configparser.Error:
    print(json.dumps({"error": "config"})); sys.exit(0)
values = {}
for k, v in conf.items():
    if k in ("name", "headers"):
        continue
    if k in DEFAULT_CONFIG and v is DEFAULT_CONFIG[k]:
        continue  # cs's built-in default, not a setting
    values[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
print(json.dumps({"name": conf.get("name"), "values": values, "headers": conf.get("headers", {})}))
"#;

struct Scenario {
    what: &'static str,
    env: &'static [(&'static str, &'static str)],
    home_ini: Option<&'static str>,
    cwd_ini: Option<&'static str>,
    config_ini: Option<&'static str>,
    group: Option<&'static str>,
}

const BASE: &str = "[cloudstack]\nendpoint = https://default.example/client/api\nkey = kd\nsecret = sd\ntimeout = 30\n\n[other]\nendpoint = https://other.example/client/api\nkey = ko\nsecret = so\n";
const ENV3: &[(&str, &str)] = &[
    ("CLOUDSTACK_ENDPOINT", "https://env.example/client/api"),
    ("CLOUDSTACK_KEY", "ke"),
    ("CLOUDSTACK_SECRET", "se"),
];

fn scenarios() -> Vec<Scenario> {
    let s = |what, env, home_ini, group| Scenario {
        what,
        env,
        home_ini,
        cwd_ini: None,
        config_ini: None,
        group,
    };
    vec![
        s(
            "CLOUDSTACK_REGION=other with the three CLOUDSTACK_* set: the environment's keys",
            &[
                ("CLOUDSTACK_ENDPOINT", "https://env.example/client/api"),
                ("CLOUDSTACK_KEY", "ke"),
                ("CLOUDSTACK_SECRET", "se"),
                ("CLOUDSTACK_REGION", "other"),
            ],
            Some(BASE),
            None,
        ),
        s(
            "a region named while CLOUDSTACK_ENDPOINT is set: still the environment",
            ENV3,
            Some(BASE),
            Some("other"),
        ),
        s(
            "CLOUDSTACK_ENDPOINT alone: the environment, without keys",
            &[("CLOUDSTACK_ENDPOINT", "https://e/client/api")],
            Some(BASE),
            None,
        ),
        s("nothing set: [cloudstack]", &[], Some(BASE), None),
        s(
            "CLOUDSTACK_REGION selects the section",
            &[("CLOUDSTACK_REGION", "other")],
            Some(BASE),
            None,
        ),
        s(
            "a region named: that section",
            &[("CLOUDSTACK_REGION", "cloudstack")],
            Some(BASE),
            Some("other"),
        ),
        s(
            "a region named that is missing",
            &[],
            Some(BASE),
            Some("tokyo"),
        ),
        s(
            "CLOUDSTACK_REGION names a missing section",
            &[("CLOUDSTACK_REGION", "tokyo")],
            Some(BASE),
            None,
        ),
        s(
            "CLOUDSTACK_REGION empty",
            &[("CLOUDSTACK_REGION", "")],
            Some(BASE),
            None,
        ),
        s(
            "no file and no endpoint",
            &[("CLOUDSTACK_KEY", "k")],
            None,
            None,
        ),
        s(
            "the file wins over the environment for keys it has; the environment fills the rest",
            &[
                ("CLOUDSTACK_KEY", "ke"),
                ("CLOUDSTACK_TIMEOUT", "5"),
                ("CLOUDSTACK_JOB_TIMEOUT", "99"),
            ],
            Some("[cloudstack]\nendpoint = https://f/client/api\nsecret = sf\ntimeout = 30\n"),
            None,
        ),
        s(
            "CLOUDSTACK_OVERRIDES: listed keys from the environment, cs's default for unset ones",
            &[
                ("CLOUDSTACK_OVERRIDES", "key, endpoint;timeout"),
                ("CLOUDSTACK_KEY", "ke"),
                ("CLOUDSTACK_ENDPOINT", "https://env.example/client/api"),
            ],
            Some(BASE),
            None,
        ),
        s(
            "CLOUDSTACK_OVERRIDES with a missing section",
            &[
                ("CLOUDSTACK_OVERRIDES", "endpoint"),
                ("CLOUDSTACK_REGION", "tokyo"),
                ("CLOUDSTACK_ENDPOINT", "https://env.example/client/api"),
            ],
            Some(BASE),
            None,
        ),
        s(
            "empty environment values are unset",
            &[("CLOUDSTACK_ENDPOINT", ""), ("CLOUDSTACK_KEY", "")],
            Some(BASE),
            None,
        ),
        s(
            "[DEFAULT], interpolation, case, continuation, empty and unknown keys, headers",
            &[("CLOUDSTACK_SECRET", "se")],
            Some(
                "[DEFAULT]\nhost = d.example\ntimeout = 12\n[cloudstack]\nEndpoint = https://%(host)s/client/api\nkey: k=1\nsecret =\ntheme = 100%%\nbogus = 1\nheader_X-Req = yes\nverify = /etc/ssl/a.pem\n  continued\ndangerous_no_tls_verify = on\n",
            ),
            None,
        ),
        s(
            "a lone % is an error",
            &[],
            Some("[cloudstack]\nendpoint = https://x\nsecret = 50%off\n"),
            None,
        ),
        s(
            "a section twice in a file is an error",
            &[],
            Some("[cloudstack]\nendpoint = https://x\n[cloudstack]\nkey = k\n"),
            None,
        ),
        Scenario {
            what: "later files win key by key: ~/.cloudstack.ini < ./cloudstack.ini < $CLOUDSTACK_CONFIG",
            env: &[],
            home_ini: Some(BASE),
            cwd_ini: Some("[cloudstack]\nkey = kcwd\nsecret = scwd\n"),
            config_ini: Some("[cloudstack]\nsecret = sconfig\n[third]\nendpoint = https://t\n"),
            group: None,
        },
        Scenario {
            what: "only ./cloudstack.ini",
            env: &[("CLOUDSTACK_REGION", "other")],
            home_ini: None,
            cwd_ini: Some(BASE),
            config_ini: None,
            group: None,
        },
    ]
}

fn ours(sc: &Scenario, home: &Path, cwd: &Path) -> Value {
    let env: BTreeMap<String, String> = sc
        .env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut env = env;
    let config_path = home.join("extra.ini");
    if sc.config_ini.is_some() {
        env.insert(
            "CLOUDSTACK_CONFIG".into(),
            config_path.display().to_string(),
        );
    }
    let lookup = |k: &str| env.get(k).cloned();
    let mut paths = vec![home.join(".cloudstack.ini"), cwd.join("cloudstack.ini")];
    if sc.config_ini.is_some() {
        paths.push(config_path);
    }
    let files: Vec<IniFile> = paths
        .iter()
        .map(|p| IniFile {
            path: p.display().to_string(),
            text: std::fs::read_to_string(p).ok(),
        })
        .collect();
    match read_config(&lookup, &files, sc.group) {
        Ok(Settings {
            name,
            values,
            headers,
            ..
        }) => {
            let values: BTreeMap<String, String> = values
                .into_iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v.to_lowercase().as_str()) {
                        (
                            "dangerous_no_tls_verify" | "trace",
                            "y" | "yes" | "t" | "true" | "on" | "1",
                        ) => "true".to_owned(),
                        (
                            "dangerous_no_tls_verify" | "trace",
                            "n" | "no" | "f" | "false" | "off" | "0",
                        ) => "false".to_owned(),
                        _ => v,
                    };
                    (k, v)
                })
                .collect();
            json!({"name": name, "values": values, "headers": headers})
        }
        Err(Error::Config { key, .. }) => json!({ "error": key }),
        Err(other) => panic!("{}: unexpected error {other:?}", sc.what),
    }
}

#[test]
fn precedence_matches_the_cs_package() {
    let Some(py) = common::python_with(&["cs"]) else {
        return;
    };
    for sc in scenarios() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let cwd = dir.path().join("work");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&cwd).unwrap();
        if let Some(t) = sc.home_ini {
            std::fs::write(home.join(".cloudstack.ini"), t).unwrap();
        }
        if let Some(t) = sc.cwd_ini {
            std::fs::write(cwd.join("cloudstack.ini"), t).unwrap();
        }
        let mut cmd = std::process::Command::new(&py);
        cmd.env_clear()
            .env("HOME", &home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(&cwd)
            .args(["-c", SCRIPT, sc.group.unwrap_or("")]);
        if let Some(t) = sc.config_ini {
            std::fs::write(home.join("extra.ini"), t).unwrap();
            cmd.env("CLOUDSTACK_CONFIG", home.join("extra.ini"));
        }
        for (k, v) in sc.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}: python: {}",
            sc.what,
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mine = ours(&sc, &home, &cwd);
        assert_eq!(mine, theirs, "{}", sc.what);
    }
}
