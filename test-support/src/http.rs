//! Tiny HTTP servers on a loopback port, for tests that need a server answering exactly as they
//! say: hyper servers for a request handler ([`serve`], [`serve_tls`], [`serve_service`]) and a
//! thread-per-connection server for tests that write the raw answer themselves
//! ([`serve_raw`]). Every server lives as long as the test process (or its runtime).

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The response body of a [`serve`] handler: any stream of bytes, which may fail mid-way (a
/// broken connection).
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A whole body of these bytes.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// Serves `handler` over HTTP/1.1 on `127.0.0.1:0` from tasks of the current tokio runtime;
/// returns the address. A handler error closes the connection without a response.
pub async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Body>, std::io::Error>> + Send + 'static,
{
    serve_on(None, handler).await
}

/// [`serve`] over HTTPS: each connection is accepted by `acceptor` first (a failed handshake
/// closes it).
pub async fn serve_tls<F, Fut>(acceptor: TlsAcceptor, handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Body>, std::io::Error>> + Send + 'static,
{
    serve_on(Some(acceptor), handler).await
}

async fn serve_on<F, Fut>(tls: Option<TlsAcceptor>, handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Body>, std::io::Error>> + Send + 'static,
{
    let handler = Arc::new(handler);
    serve_service(tls, service_fn(move |req| handler(req))).await
}

/// Serves a hyper `service` (cloned for each connection; an s3s service, a `service_fn`) over
/// HTTP/1.1 on `127.0.0.1:0` from tasks of the current tokio runtime, behind TLS when an
/// acceptor is given; returns the address.
pub async fn serve_service<S, B>(tls: Option<TlsAcceptor>, service: S) -> SocketAddr
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let (svc, tls) = (service.clone(), tls.clone());
            tokio::spawn(async move {
                let conn = http1::Builder::new();
                match tls {
                    None => {
                        let _ = conn.serve_connection(TokioIo::new(sock), svc).await;
                    }
                    Some(acc) => {
                        let Ok(stream) = acc.accept(sock).await else {
                            return;
                        };
                        let _ = conn.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
            });
        }
    });
    addr
}

/// The head of one request as a [`serve_raw`] server read it (request line and headers, up to
/// and including the empty line).
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The head's text.
    pub text: String,
}

impl RequestHead {
    /// The method (`GET`, `HEAD`, ...).
    pub fn method(&self) -> &str {
        self.text.split_whitespace().next().unwrap_or("")
    }

    /// The request target (`/path?query`).
    pub fn path(&self) -> &str {
        self.text.split_whitespace().nth(1).unwrap_or("")
    }

    /// The value of header `name` (case-insensitive, trimmed), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.text.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }
}

/// A server on `127.0.0.1:0` that answers each connection from a thread of its own: it reads
/// the request head and hands it with the socket to `answer`, which writes the raw response
/// (status line, headers, body) and may stall or break it. A connection closed before the head
/// is complete is dropped. Returns the address; the server lives as long as the test process.
pub fn serve_raw<F>(answer: F) -> SocketAddr
where
    F: Fn(RequestHead, TcpStream) + Send + Sync + 'static,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut raw = Vec::new();
                while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => raw.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&raw).into_owned();
                answer(RequestHead { text }, sock);
            });
        }
    });
    addr
}

/// Serves `body` with `200 OK` to every request (HTTP/1.1, `Connection: close`); returns the
/// base URL.
pub fn serve_bytes(body: Vec<u8>) -> String {
    let body = Arc::new(body);
    let addr = serve_raw(move |_, mut s| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&body);
    });
    format!("http://{addr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, path: &str, extra: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        // a TLS server closes a plain connection: whatever came before the close
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn the_raw_server_hands_over_the_parsed_head() {
        let addr = serve_raw(|head, mut s| {
            let reply = format!(
                "{} {} {:?} {:?}",
                head.method(),
                head.path(),
                head.header("RANGE"),
                head.header("if-range")
            );
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        });
        let out = get(addr, "/a?b=c", "Range:  bytes=5- \r\n");
        assert!(out.ends_with("GET /a?b=c Some(\"bytes=5-\") None"), "{out}");
    }

    #[test]
    fn serve_bytes_answers_every_request_with_the_body() {
        let url = serve_bytes(b"payload".to_vec());
        let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
        for path in ["/", "/other"] {
            let out = get(addr, path, "");
            assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
            assert!(out.contains("Content-Length: 7\r\n"), "{out}");
            assert!(out.ends_with("\r\n\r\npayload"), "{out}");
        }
    }

    #[tokio::test]
    async fn hyper_servers_answer_over_http_and_https() {
        let handler = |req: Request<Incoming>| async move {
            Ok(Response::new(full(req.uri().path().to_owned())))
        };
        let addr = serve(handler).await;
        let out = tokio::task::spawn_blocking(move || get(addr, "/plain", ""))
            .await
            .unwrap();
        assert!(out.ends_with("\r\n\r\n/plain"), "{out}");

        // over TLS a plain request gets no HTTP answer
        let id = crate::tls::Identity::self_signed("localhost");
        let addr = serve_tls(id.acceptor(), handler).await;
        let out = tokio::task::spawn_blocking(move || get(addr, "/tls", ""))
            .await
            .unwrap();
        assert!(!out.contains("/tls"), "{out}");
    }
}
