//! Certificates for TLS test servers and a TLS front for a plain TCP server.
//!
//! [`Identity::self_signed`] is what rcgen makes by default (an end-entity certificate);
//! [`Identity::self_signed_ca`] is what `openssl req -x509` makes (`CA:TRUE`, the server's own
//! certificate), which WebPKI alone refuses as `CaUsedAsEndEntity`. Servers use rustls with the
//! aws-lc-rs provider and its safe default protocol versions.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A server's certificate chain and private key, and the chain as PEM (what a client is told
/// to trust).
#[derive(Debug)]
pub struct Identity {
    /// The certificate chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// The chain as PEM text.
    pub pem: String,
}

impl Identity {
    /// A fresh self-signed end-entity certificate for `host` (rcgen's default: no CA flag).
    pub fn self_signed(host: &str) -> Self {
        let ck = rcgen::generate_simple_self_signed(vec![host.to_owned()]).unwrap();
        Self::from_rcgen(ck.cert, &ck.signing_key)
    }

    /// A fresh self-signed certificate for `host` made the way `openssl req -x509` makes it:
    /// `CA:TRUE` (unconstrained) on the server's own certificate.
    pub fn self_signed_ca(host: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(vec![host.to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let signing_key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&signing_key).unwrap();
        Self::from_rcgen(cert, &signing_key)
    }

    /// The PEM certificate chain and PEM private key files a tool (`openssl`) wrote.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Self {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem).unwrap();
        let pem = String::from_utf8(chain_pem.to_vec()).unwrap();
        Self { chain, key, pem }
    }

    fn from_rcgen(cert: rcgen::Certificate, signing_key: &rcgen::KeyPair) -> Self {
        Self {
            pem: cert.pem(),
            key: PrivateKeyDer::Pkcs8(signing_key.serialize_der().into()),
            chain: vec![cert.der().clone()],
        }
    }

    /// A TLS acceptor serving this identity (no client authentication).
    pub fn acceptor(&self) -> TlsAcceptor {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .unwrap();
        TlsAcceptor::from(Arc::new(cfg))
    }
}

/// A TLS-terminating front on `127.0.0.1:<port>` for the plain TCP server at a backend address,
/// served by a runtime of its own (one worker thread); it stops when dropped. Drop it outside
/// any async context (from a test's own thread or `spawn_blocking`), as any runtime.
#[derive(Debug)]
pub struct TlsFront {
    port: u16,
    _rt: tokio::runtime::Runtime,
}

impl TlsFront {
    /// Starts a front for `backend` presenting `identity`. Each accepted connection is
    /// decrypted and copied both ways to a new connection to `backend`; a failed handshake or
    /// backend connection just closes it.
    pub fn start(backend: SocketAddr, identity: &Identity) -> Self {
        let acceptor = identity.acceptor();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
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
                    let Ok(mut up) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        Self { port, _rt: rt }
    }

    /// The loopback port the front listens on (clients name it `localhost:<port>` or
    /// `127.0.0.1:<port>`, whichever the certificate is for).
    pub fn port(&self) -> u16 {
        self.port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_carry_one_certificate_and_its_pem() {
        for id in [
            Identity::self_signed("localhost"),
            Identity::self_signed_ca("localhost"),
        ] {
            assert_eq!(id.chain.len(), 1);
            assert!(id.pem.starts_with("-----BEGIN CERTIFICATE-----"));
            // the PEM is the same certificate
            let again = CertificateDer::pem_slice_iter(id.pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            assert_eq!(again, id.chain);
            let _ = id.acceptor();
        }
    }

    #[test]
    fn the_front_forwards_bytes_both_ways_after_a_handshake() {
        use std::io::{Read, Write};
        // a backend that echoes one line
        let backend = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = backend.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = backend.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        });
        let id = Identity::self_signed("localhost");
        let front = TlsFront::start(addr, &id);

        // a client trusting exactly this certificate
        let mut roots = rustls::RootCertStore::empty();
        roots.add(id.chain[0].clone()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(cfg), name).unwrap();
        let sock = std::net::TcpStream::connect(("127.0.0.1", front.port())).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        tls.write_all(b"hello").unwrap();
        let mut back = [0u8; 5];
        tls.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"hello");
    }
}
