//! HTTPS sources and destinations: a self-signed certificate is refused by default (with a
//! message naming the option and how to fetch the certificate), accepted with `insecure`, with
//! its CA, or given itself (what `openssl req -x509` makes, `CA:TRUE`), while its name and dates
//! are still checked; the destination keeps verifying on its own terms.

use std::path::Path;

use crate::common::*;
use bytes::Bytes;
use s3_stream::{CopyOptions, Credentials, Error, HttpSource, Source};
use test_support::openssl::{self, Made, self_signed};
use test_support::tls::Identity;

/// Serves `content` over HTTPS with a fresh self-signed certificate for `localhost`.
/// Returns the URL and the certificate (PEM).
async fn https_source(content: Bytes) -> (String, String) {
    let id = Identity::self_signed("localhost");
    (https_server(&id, content).await, id.pem)
}

/// Serves `content` (with an ETag) to every request over HTTPS for `localhost` with this
/// identity; the URL.
async fn https_server(id: &Identity, content: Bytes) -> String {
    let addr = test_support::http::serve_tls(id.acceptor(), move |_req| {
        let c = content.clone();
        async move {
            Ok(hyper::Response::builder()
                .header("content-length", c.len())
                .header("etag", "\"v1\"")
                .body(full(c))
                .unwrap())
        }
    })
    .await;
    format!("https://localhost:{}/disk.ova", addr.port())
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
    assert!(
        matches!(e, Error::UntrustedCertificate { side: "source", .. }),
        "{e}"
    );
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
    assert!(
        matches!(
            e,
            Error::UntrustedCertificate {
                side: "destination",
                ..
            }
        ),
        "the TLS handshake must fail: {e}"
    );
    assert!(e.to_string().contains("--ca-file"), "{e}");
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

// ---------------------------------------------------------------------------------------------
// Certificates made by the openssl command line, as a server operator makes them

/// A self-signed `CA:TRUE` certificate for localhost that expired in 2020.
fn expired_self_signed(dir: &Path) -> Made {
    openssl::expired_self_signed(dir, "old", true)
}

/// A CA and a server certificate for localhost it signed: (CA PEM, server).
fn ca_and_server(dir: &Path) -> (String, Made) {
    let ca = openssl::ca(dir, "ca", "Test CA");
    let server = openssl::signed_by(&ca, dir, "srv", "localhost", "DNS:localhost");
    (ca.cert, server)
}

async fn serve_made(m: &Made, content: Bytes) -> String {
    https_server(
        &Identity::from_pem(m.cert.as_bytes(), m.key.as_bytes()),
        content,
    )
    .await
}

async fn copy_from(url: &str, trusted_pem: &str, mock: &MockS3, key: &str) -> Result<(), Error> {
    let s = HttpSource::new(url).with_extra_ca_pem(trusted_pem.as_bytes().to_vec());
    mock.client()
        .copy(Source::Http(s), "b", key, &CopyOptions::default())
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_own_self_signed_certificate_is_trusted_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(200_000, 21);
    let made = self_signed(dir.path(), "own", "localhost");
    let url = serve_made(&made, Bytes::from(d.clone())).await;
    let mock = MockS3::start(|_| None).await;
    copy_from(&url, &made.cert, &mock, "k").await.unwrap();
    assert_eq!(mock.object("k").unwrap(), Bytes::from(d));

    // the same rule for the destination (the server answers any request)
    let c = s3_stream::Client::builder()
        .with_endpoint(url.replace("/disk.ova", ""))
        .with_credentials(Credentials::new(AK, SK))
        .with_extra_ca_pem(made.cert.into_bytes())
        .with_retry(fast_retry())
        .build()
        .unwrap();
    assert_eq!(c.head_object("b", "k").await.unwrap().size, 200_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_certificate_is_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let content = Bytes::from(data(10_000, 22));
    let mock = MockS3::start(|_| None).await;

    // issued for another name
    let other = self_signed(dir.path(), "other", "other.example");
    let url = serve_made(&other, content.clone()).await;
    let e = copy_from(&url, &other.cert, &mock, "name")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UntrustedCertificate { .. }), "{e}");
    assert!(
        format!("{:?}", std::error::Error::source(&e)).contains("NotValidForName"),
        "{e:?}"
    );

    // expired
    let old = expired_self_signed(dir.path());
    let url = serve_made(&old, content.clone()).await;
    let e = copy_from(&url, &old.cert, &mock, "old").await.unwrap_err();
    assert!(matches!(e, Error::UntrustedCertificate { .. }), "{e}");
    assert!(
        format!("{:?}", std::error::Error::source(&e)).contains("Expired"),
        "{e:?}"
    );

    // a different self-signed certificate than the one given
    let served = self_signed(dir.path(), "served", "localhost");
    let given = self_signed(dir.path(), "given", "localhost");
    let url = serve_made(&served, content.clone()).await;
    let e = copy_from(&url, &given.cert, &mock, "other")
        .await
        .unwrap_err();
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "openssl s_client -showcerts -connect localhost:{port}"
        )) && text.contains("--source-ca"),
        "{text}"
    );
    assert!(mock.object("name").is_none() && mock.object("old").is_none());
    assert!(mock.object("other").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_bundle_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let d = data(50_000, 23);
    let (ca, server) = ca_and_server(dir.path());
    let url = serve_made(&server, Bytes::from(d.clone())).await;
    let mock = MockS3::start(|_| None).await;
    // a bundle: an unrelated certificate first, then the CA
    let unrelated = self_signed(dir.path(), "unrelated", "localhost");
    let bundle = format!("{}{}", unrelated.cert, ca);
    copy_from(&url, &bundle, &mock, "k").await.unwrap();
    assert_eq!(mock.object("k").unwrap(), Bytes::from(d));
    // the CA certificate is not the server's: without it, refused
    let e = copy_from(&url, &unrelated.cert, &mock, "k2")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::UntrustedCertificate { .. }), "{e}");
}
