//! TLS: an HTTPS endpoint with a freshly generated self-signed certificate (a TLS-terminating
//! proxy in front of the simulator) is refused by default, and accepted with its certificate as
//! an extra CA or with explicit insecure mode, by the async and the blocking client.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use cloudstack_client::retry::{BackoffConfig, RetryConfig};
use cloudstack_client::simulator::{Simulator, SimulatorConfig};
use cloudstack_client::{ClientBuilder, ConfigKey, Error, Params};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// The simulator behind a TLS proxy on `localhost:<port>` with a self-signed certificate.
struct HttpsSimulator {
    sim: Simulator,
    endpoint: String,
    ca_pem: String,
    _rt: tokio::runtime::Runtime,
}

impl HttpsSimulator {
    fn start() -> Self {
        let sim = Simulator::start(SimulatorConfig::default()).unwrap();
        let backend = sim.addr();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let ca_pem = ck.cert.pem();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(cfg));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        rt.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let acc = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acc.accept(sock).await else {
                        return;
                    };
                    let Ok(mut up) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        Self {
            endpoint: format!("https://localhost:{port}/client/api"),
            sim,
            ca_pem,
            _rt: rt,
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
