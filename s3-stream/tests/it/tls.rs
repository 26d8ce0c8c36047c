//! An HTTPS source with a self-signed certificate: refused by default, accepted with
//! `insecure` or with its CA, while the destination keeps verifying.

use std::sync::Arc;

use crate::common::*;
use bytes::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use s3_stream::{CopyOptions, Credentials, Error, HttpSource, Source};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// Serves `content` over HTTPS with a fresh self-signed certificate for `localhost`.
/// Returns the URL and the certificate (PEM).
async fn https_source(content: Bytes) -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = ck.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let acc = acceptor.clone();
            let content = content.clone();
            tokio::spawn(async move {
                let Ok(tls) = acc.accept(sock).await else {
                    return;
                };
                let svc = service_fn(move |_req| {
                    let c = content.clone();
                    async move {
                        Ok::<_, std::io::Error>(
                            hyper::Response::builder()
                                .header("content-length", c.len())
                                .header("etag", "\"v1\"")
                                .body(full(c))
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (format!("https://localhost:{port}/disk.ova"), cert_pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_source_needs_an_explicit_choice() {
    let d = data(300_000, 11);
    let (url, ca) = https_source(Bytes::from(d.clone())).await;
    let mock = MockS3::start(|_| None).await;
    let c = mock.client();

    // refused by default
    let e = c
        .copy(Source::url(&url), "b", "k", &CopyOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Source { .. }), "{e}");
    assert!(mock.object("k").is_none());

    // accepted when the source alone is insecure
    let s = HttpSource::new(&url).with_insecure_tls(true);
    c.copy(Source::Http(s), "b", "k1", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(mock.object("k1").unwrap(), Bytes::from(d.clone()));

    // accepted with its CA
    let s = HttpSource::new(&url).with_extra_ca_pem(ca.as_bytes().to_vec());
    c.copy(Source::Http(s), "b", "k2", &CopyOptions::default())
        .await
        .unwrap();
    assert_eq!(mock.object("k2").unwrap(), Bytes::from(d));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_still_verifies_when_the_source_is_insecure() {
    let d = data(1000, 12);
    let (url, ca) = https_source(Bytes::from(d)).await;
    // the destination is a server with the same kind of self-signed certificate
    let dest = url.replace("/disk.ova", "");
    let c = s3_stream::Client::builder()
        .with_endpoint(&dest)
        .with_credentials(Credentials::new(AK, SK))
        .with_retry(fast_retry())
        .build()
        .unwrap();
    let s = HttpSource::new(&url).with_insecure_tls(true);
    let e = c
        .copy(Source::Http(s), "b", "k", &CopyOptions::default())
        .await
        .unwrap_err();
    let ctx = e.s3_context().expect("an S3 transport error");
    assert_eq!(ctx.status, None, "no response: the TLS handshake must fail");
    // and the destination's own CA switch is separate
    let c2 = s3_stream::Client::builder()
        .with_endpoint(&dest)
        .with_credentials(Credentials::new(AK, SK))
        .with_extra_ca_pem(ca.into_bytes())
        .with_retry(fast_retry())
        .build()
        .unwrap();
    let h = c2.head_object("b", "k").await.unwrap();
    assert_eq!(
        h.size, 1000,
        "TLS accepted with the CA, and the server answered"
    );
}
