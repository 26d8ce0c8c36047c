//! Certificates made by the `openssl` command line, as a server operator makes them: its
//! self-signed certificates carry `CA:TRUE` (what `req -x509` writes by default), unlike the
//! ones rcgen makes ([`crate::tls`]). Every recipe writes `<stem>.pem` and `<stem>.key` into a
//! folder the test owns, with 2048-bit RSA keys.

use std::path::{Path, PathBuf};
use std::process::Output;

/// Whether the `openssl` command is there; when not, the caller skips (a message says so).
///
/// # Panics
///
/// Under CI ([`crate::ci`]) when `openssl` is missing.
pub fn available() -> bool {
    crate::tools::require("openssl", "version")
}

/// Runs `openssl args` in `dir`.
///
/// # Panics
///
/// When `openssl` is missing or fails (the message has its stderr).
pub fn run(dir: &Path, args: &[&str]) -> Output {
    crate::tools::run_in(dir, "openssl", args)
}

/// A certificate and its key, as files and as PEM text.
#[derive(Debug, Clone)]
pub struct Made {
    /// The certificate file (`<stem>.pem`).
    pub cert_path: PathBuf,
    /// The private key file (`<stem>.key`).
    pub key_path: PathBuf,
    /// The certificate, PEM.
    pub cert: String,
    /// The private key, PEM.
    pub key: String,
}

impl Made {
    fn read(dir: &Path, stem: &str) -> Self {
        let cert_path = dir.join(format!("{stem}.pem"));
        let key_path = dir.join(format!("{stem}.key"));
        Self {
            cert: std::fs::read_to_string(&cert_path).unwrap(),
            key: std::fs::read_to_string(&key_path).unwrap(),
            cert_path,
            key_path,
        }
    }
}

/// `openssl req -x509` for `host` (subject `CN=host`, `subjectAltName=DNS:host`), valid for two
/// days: the self-signed `CA:TRUE` certificate private clouds and appliances serve.
pub fn self_signed(dir: &Path, stem: &str, host: &str) -> Made {
    req_x509(dir, stem, host, Some(&format!("subjectAltName=DNS:{host}")))
}

/// A private CA: `openssl req -x509` with subject `CN=common_name` and no subject alternative
/// name, valid for two days.
pub fn ca(dir: &Path, stem: &str, common_name: &str) -> Made {
    req_x509(dir, stem, common_name, None)
}

fn req_x509(dir: &Path, stem: &str, common_name: &str, ext: Option<&str>) -> Made {
    let (cert, key, subj) = (
        format!("{stem}.pem"),
        format!("{stem}.key"),
        format!("/CN={common_name}"),
    );
    let mut args = vec![
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &cert, "-days",
        "2", "-subj", &subj,
    ];
    if let Some(ext) = ext {
        args.extend(["-addext", ext]);
    }
    run(dir, &args);
    Made::read(dir, stem)
}

/// A server certificate `ca` signed (`openssl x509 -req`): subject `CN=common_name`,
/// `subjectAltName=<san>` (`DNS:localhost`, `IP:127.0.0.1`), `CA:FALSE`, `serverAuth`, valid
/// for two days.
pub fn signed_by(ca: &Made, dir: &Path, stem: &str, common_name: &str, san: &str) -> Made {
    let (cert, csr, ext) = (
        format!("{stem}.pem"),
        format!("{stem}.csr"),
        format!("{stem}.ext"),
    );
    req_new(dir, stem, common_name, &[]);
    std::fs::write(
        dir.join(&ext),
        format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    run(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            ca.cert_path.to_str().unwrap(),
            "-CAkey",
            ca.key_path.to_str().unwrap(),
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
    Made::read(dir, stem)
}

/// `openssl req -new`: a fresh key `<stem>.key` and a request `<stem>.csr` for `CN=common_name`
/// asking for the extensions `addext` (`-addext` values).
fn req_new(dir: &Path, stem: &str, common_name: &str, addext: &[&str]) {
    let (key, csr, subj) = (
        format!("{stem}.key"),
        format!("{stem}.csr"),
        format!("/CN={common_name}"),
    );
    let mut args = vec![
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
        &subj,
    ];
    for e in addext {
        args.extend(["-addext", e]);
    }
    run(dir, &args);
}

/// A self-signed certificate for `localhost` valid only in January 2020 (`openssl ca -selfsign`
/// sets the dates), with `basicConstraints=critical,CA:TRUE` when `ca_flag` (as `req -x509`
/// makes them) or no basic constraints at all. The CA database lives in `<dir>/<stem>-db`.
pub fn expired_self_signed(dir: &Path, stem: &str, ca_flag: bool) -> Made {
    let db = format!("{stem}-db");
    std::fs::create_dir(dir.join(&db)).unwrap();
    std::fs::write(dir.join(&db).join("index.txt"), "").unwrap();
    std::fs::write(dir.join(&db).join("serial"), "01\n").unwrap();
    let cnf = format!("{stem}-ca.cnf");
    std::fs::write(
        dir.join(&cnf),
        format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {db}/index.txt\nserial = {db}/serial\n\
             new_certs_dir = {db}\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n\
             unique_subject = no\n[p]\ncommonName = supplied\n"
        ),
    )
    .unwrap();
    let (cert, key, csr) = (
        format!("{stem}.pem"),
        format!("{stem}.key"),
        format!("{stem}.csr"),
    );
    let mut addext = vec!["subjectAltName=DNS:localhost"];
    if ca_flag {
        addext.push("basicConstraints=critical,CA:TRUE");
    }
    req_new(dir, stem, "localhost", &addext);
    run(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            &cnf,
            "-selfsign",
            "-keyfile",
            &key,
            "-in",
            &csr,
            "-out",
            &cert,
            "-notext",
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200201000000Z",
        ],
    );
    Made::read(dir, stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `openssl x509` reads in the certificate: its text dump.
    fn dump(dir: &Path, m: &Made) -> String {
        let out = run(
            dir,
            &[
                "x509",
                "-noout",
                "-text",
                "-in",
                m.cert_path.to_str().unwrap(),
            ],
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn the_recipes_make_what_they_say() {
        if !available() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();

        let own = self_signed(dir, "own", "localhost");
        assert!(own.cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(own.key.contains("PRIVATE KEY"));
        let t = dump(dir, &own);
        assert!(t.contains("CA:TRUE") && t.contains("DNS:localhost"), "{t}");

        let ca = ca(dir, "ca", "Test CA");
        let leaf = signed_by(&ca, dir, "leaf", "127.0.0.1", "IP:127.0.0.1");
        let t = dump(dir, &leaf);
        assert!(
            t.contains("CA:FALSE") && t.contains("IP Address:127.0.0.1"),
            "{t}"
        );
        assert!(
            t.contains("Issuer: CN = Test CA") && t.contains("TLS Web Server Authentication"),
            "{t}"
        );
        run(dir, &["verify", "-CAfile", "ca.pem", "leaf.pem"]);

        for (stem, flag) in [("old-ca", true), ("old", false)] {
            let old = expired_self_signed(dir, stem, flag);
            let t = dump(dir, &old);
            assert!(t.contains("Not After : Feb  1 00:00:00 2020 GMT"), "{t}");
            assert_eq!(t.contains("CA:TRUE"), flag, "{t}");
        }
    }
}
