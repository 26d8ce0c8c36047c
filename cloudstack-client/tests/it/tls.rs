//! TLS: an HTTPS endpoint with a freshly generated self-signed certificate (a TLS-terminating
//! proxy in front of the simulator) is refused by default, and accepted with its certificate as
//! an extra CA or with explicit insecure mode, by the async and the blocking client. Certificates
//! made by the `openssl` command line (`req -x509`, which marks them `CA:TRUE`; `ca -selfsign`
//! for an expired one; a private CA signing a server certificate) are trusted exactly as the
//! user names them: the named certificate itself, never a look-alike, and only for its host name
//! and validity period.

use std::error::Error as _;
use std::time::Duration;

use cloudstack_client::retry::{BackoffConfig, RetryConfig};
use cloudstack_client::simulator::{Simulator, SimulatorConfig};
use cloudstack_client::{ClientBuilder, ConfigKey, Error, Params};
use test_support::openssl;
use test_support::tls::{Identity, TlsFront};

/// The simulator behind a TLS proxy on `localhost:<port>` with a self-signed certificate.
struct HttpsSimulator {
    sim: Simulator,
    endpoint: String,
    ca_pem: String,
    _front: TlsFront,
}

impl HttpsSimulator {
    fn start() -> Self {
        Self::serving(Identity::self_signed("localhost"), "localhost")
    }

    /// Serves the PEM certificate chain and key (files written by `openssl`) on `host`.
    fn start_pem(chain_pem: &[u8], key_pem: &[u8], host: &str) -> Self {
        Self::serving(Identity::from_pem(chain_pem, key_pem), host)
    }

    fn serving(id: Identity, host: &str) -> Self {
        let sim = Simulator::start(SimulatorConfig::default()).unwrap();
        let front = TlsFront::start(sim.addr(), &id);
        Self {
            endpoint: format!("https://{host}:{}/client/api", front.port()),
            sim,
            ca_pem: id.pem,
            _front: front,
        }
    }

    fn builder(&self) -> ClientBuilder {
        ClientBuilder::new()
            .with_endpoint(&self.endpoint)
            .with_credentials(self.sim.api_key(), self.sim.secret_key())
            .with_retry(RetryConfig {
                max_retries: 0,
                backoff: BackoffConfig {
                    init: Duration::from_millis(5),
                    max: Duration::from_millis(20),
                    base: 2.0,
                },
                ..Default::default()
            })
    }
}

/// The error and all its sources, joined.
fn chain(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

fn assert_refused(h: &HttpsSimulator, e: &Error) {
    assert!(
        matches!(e, Error::Http { .. }),
        "not a transport error: {e:?}"
    );
    let text = chain(e);
    eprintln!("refused: {text}");
    let lower = text.to_lowercase();
    assert!(
        lower.contains("certificate") || lower.contains("tls"),
        "no TLS/certificate cause: {text}"
    );
    let debug = format!("{e:?}");
    for t in [&text, &debug] {
        assert!(!t.contains(h.sim.secret_key()), "secret leaked: {t}");
        assert!(
            !t.to_lowercase().contains("signature"),
            "signature leaked: {t}"
        );
        assert!(!t.contains(h.sim.api_key()), "signed url leaked: {t}");
    }
    assert_eq!(h.sim.request_count(), 0, "no request may reach the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_verifies_by_default_and_accepts_an_extra_ca_or_insecure() {
    let h = tokio::task::spawn_blocking(HttpsSimulator::start)
        .await
        .unwrap();

    // (a) refused by default
    let c = h.builder().build().unwrap();
    let e = c.list_zones(Params::new()).await.unwrap_err();
    assert_refused(&h, &e);

    // (b) accepted with the certificate as an extra CA: a real signed call
    let c = h
        .builder()
        .with_root_certificate_pem(h.ca_pem.as_bytes().to_vec())
        .build()
        .unwrap();
    let zones = c.list_zones(Params::new()).await.unwrap();
    assert!(!zones.is_empty(), "the simulator is seeded with zones");
    assert_eq!(h.sim.request_count(), 1);

    // (c) accepted in explicit insecure mode
    let c = h.builder().with_insecure_tls(true).build().unwrap();
    let zones2 = c.list_zones(Params::new()).await.unwrap();
    assert_eq!(zones2.len(), zones.len());
    assert_eq!(h.sim.request_count(), 2);

    // a wrong secret over TLS still reaches the server and is rejected there
    let c = h
        .builder()
        .with_credentials(h.sim.api_key(), "not-the-secret")
        .with_insecure_tls(true)
        .build()
        .unwrap();
    let e = c.list_zones(Params::new()).await.unwrap_err();
    assert!(matches!(e, Error::Unauthorized { .. }), "{e:?}");
    tokio::task::spawn_blocking(move || drop(h)).await.unwrap();
}

#[test]
fn blocking_client_verifies_by_default_and_accepts_an_extra_ca() {
    let h = HttpsSimulator::start();

    let c = cloudstack_client::blocking::Client::from_builder(h.builder()).unwrap();
    let e = c.list_zones(Params::new()).unwrap_err();
    assert_refused(&h, &e);

    let c = cloudstack_client::blocking::Client::from_builder(
        h.builder()
            .with_root_certificate_pem(h.ca_pem.as_bytes().to_vec()),
    )
    .unwrap();
    let zones = c.list_zones(Params::new()).unwrap();
    assert!(!zones.is_empty());
    assert_eq!(h.sim.request_count(), 1);

    let c = cloudstack_client::blocking::Client::from_builder(h.builder().with_insecure_tls(true))
        .unwrap();
    assert_eq!(c.list_zones(Params::new()).unwrap().len(), zones.len());
}

#[test]
fn ini_verify_key_takes_a_ca_file_or_false() {
    let h = HttpsSimulator::start();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &h.ca_pem).unwrap();
    let c = cloudstack_client::blocking::Client::from_builder(
        h.builder()
            .with_config(ConfigKey::Verify, ca.to_str().unwrap()),
    )
    .unwrap();
    assert!(!c.list_zones(Params::new()).unwrap().is_empty());

    // `verify = false` is the ini spelling of insecure mode
    let c = cloudstack_client::blocking::Client::from_builder(
        h.builder().with_config(ConfigKey::Verify, "false"),
    )
    .unwrap();
    assert!(!c.list_zones(Params::new()).unwrap().is_empty());

    // `verify = true` keeps verification on
    let c = cloudstack_client::blocking::Client::from_builder(
        h.builder().with_config(ConfigKey::Verify, "true"),
    )
    .unwrap();
    let e = c.list_zones(Params::new()).unwrap_err();
    assert!(matches!(e, Error::Http { .. }), "{e:?}");
}

/// `openssl req -x509` for `localhost`: a self-signed certificate with `CA:TRUE`, as private
/// clouds serve, in `<stem>.pem`. Returns (cert.pem, key.pem) files' contents.
fn openssl_self_signed(dir: &std::path::Path, stem: &str) -> (Vec<u8>, Vec<u8>) {
    let made = openssl::self_signed(dir, stem, "localhost");
    (made.cert.into_bytes(), made.key.into_bytes())
}

fn assert_refused_with_hint(h: &HttpsSimulator, e: &Error) {
    assert_refused(h, e);
    let text = chain(e);
    for needle in [
        "--ca-file",
        "verify = ",
        "openssl s_client -showcerts -connect",
        "--insecure",
    ] {
        assert!(text.contains(needle), "no {needle:?} in: {text}");
    }
    assert!(!e.is_retryable(), "a refused certificate is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_self_signed_certificate_is_trusted_exactly() {
    if !openssl::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_self_signed(dir.path(), "server");
    let (other, _) = openssl_self_signed(dir.path(), "other");
    let text = String::from_utf8_lossy(&cert).into_owned();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----"));
    let (c2, k2) = (cert.clone(), key.clone());
    let h = tokio::task::spawn_blocking(move || HttpsSimulator::start_pem(&c2, &k2, "localhost"))
        .await
        .unwrap();

    // not trusted by default, and the message says what helps
    let e = h
        .builder()
        .build()
        .unwrap()
        .list_zones(Params::new())
        .await
        .unwrap_err();
    assert_refused_with_hint(&h, &e);

    // trusted exactly: the PEM given to the builder, and the same file as ini `verify`
    let c = h
        .builder()
        .with_root_certificate_pem(cert.clone())
        .build()
        .unwrap();
    assert!(!c.list_zones(Params::new()).await.unwrap().is_empty());
    let file = dir.path().join("server.pem");
    let c = h
        .builder()
        .with_config(ConfigKey::Verify, file.to_str().unwrap())
        .build()
        .unwrap();
    assert!(!c.list_zones(Params::new()).await.unwrap().is_empty());
    assert_eq!(h.sim.request_count(), 2);

    // another self-signed certificate for the same name is not this one
    let c = h
        .builder()
        .with_root_certificate_pem(other)
        .build()
        .unwrap();
    let e = c.list_zones(Params::new()).await.unwrap_err();
    assert_eq!(h.sim.request_count(), 2);
    assert!(chain(&e).contains("certificate"), "{}", chain(&e));
    tokio::task::spawn_blocking(move || drop(h)).await.unwrap();

    // the same certificate served for another host name is refused
    let (c2, k2) = (cert.clone(), key.clone());
    let h = tokio::task::spawn_blocking(move || HttpsSimulator::start_pem(&c2, &k2, "127.0.0.1"))
        .await
        .unwrap();
    let c = h.builder().with_root_certificate_pem(cert).build().unwrap();
    let e = c.list_zones(Params::new()).await.unwrap_err();
    assert_refused_with_hint(&h, &e);
    assert!(chain(&e).contains("NotValidForName"), "{}", chain(&e));
    tokio::task::spawn_blocking(move || drop(h)).await.unwrap();
}

#[test]
fn expired_self_signed_certificate_is_refused_even_when_named() {
    if !openssl::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // no basic constraints: the plain self-signed kind, only its dates are wrong
    let made = openssl::expired_self_signed(dir.path(), "expired", false);
    let (cert, key) = (made.cert.into_bytes(), made.key.into_bytes());
    let h = HttpsSimulator::start_pem(&cert, &key, "localhost");
    let c = cloudstack_client::blocking::Client::from_builder(
        h.builder().with_root_certificate_pem(cert),
    )
    .unwrap();
    let e = c.list_zones(Params::new()).unwrap_err();
    assert_refused_with_hint(&h, &e);
    assert!(
        chain(&e).to_lowercase().contains("expired"),
        "{}",
        chain(&e)
    );
}

#[test]
fn private_ca_bundle_still_verifies_the_chain() {
    if !openssl::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = openssl::ca(d, "ca", "Private Test CA");
    let leaf = openssl::signed_by(&ca, d, "leaf", "localhost", "DNS:localhost");
    let (unrelated, _) = openssl_self_signed(d, "unrelated");
    let key = leaf.key.into_bytes();
    let leaf = leaf.cert.into_bytes();
    let mut bundle = unrelated;
    bundle.extend_from_slice(ca.cert.as_bytes());
    let bundle_path = d.join("bundle.pem");
    std::fs::write(&bundle_path, &bundle).unwrap();
    let h = HttpsSimulator::start_pem(&leaf, &key, "localhost");
    // a bundle without the CA that signed it does not verify it
    let c = cloudstack_client::blocking::Client::from_builder(
        h.builder()
            .with_root_certificate_pem(std::fs::read(d.join("unrelated.pem")).unwrap()),
    )
    .unwrap();
    assert_refused_with_hint(&h, &c.list_zones(Params::new()).unwrap_err());
    // with the CA in the bundle the chain verifies
    let c = cloudstack_client::blocking::Client::from_builder(
        h.builder()
            .with_config(ConfigKey::Verify, bundle_path.to_str().unwrap()),
    )
    .unwrap();
    assert!(!c.list_zones(Params::new()).unwrap().is_empty());
    // and insecure mode still connects
    let c = cloudstack_client::blocking::Client::from_builder(h.builder().with_insecure_tls(true))
        .unwrap();
    assert!(!c.list_zones(Params::new()).unwrap().is_empty());
}
