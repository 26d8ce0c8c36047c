//! Where the bytes come from: an HTTP(S) URL (resumable with `Range` + `If-Range`), a local file
//! (read by offset, parts in parallel) or any `AsyncRead` (stdin).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{BoxError, Error, Result};
use crate::ledger::{ResumeRefusal, Validator, check_resume};

/// An HTTP(S) source. TLS verification is on unless [`HttpSource::with_insecure_tls`]; this
/// switch and [`HttpSource::with_extra_ca_pem`] apply to the source only, never to the
/// destination.
#[derive(Debug, Clone)]
pub struct HttpSource {
    pub(crate) url: String,
    pub(crate) insecure: bool,
    pub(crate) extra_ca_pem: Option<Vec<u8>>,
    pub(crate) max_resumes: u32,
    pub(crate) max_redirects: usize,
    pub(crate) read_timeout: Duration,
}

impl HttpSource {
    /// A source for `url` (`http://` or `https://`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            insecure: false,
            extra_ca_pem: None,
            max_resumes: 10,
            max_redirects: 10,
            read_timeout: Duration::from_secs(60),
        }
    }

    /// Accepts any certificate from the source (self-signed export URLs). The destination keeps
    /// verifying.
    pub fn with_insecure_tls(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }

    /// Trusts an extra CA (PEM, one or more certificates) for the source.
    pub fn with_extra_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_ca_pem = Some(pem.into());
        self
    }

    /// How often a broken body may be resumed (default 10).
    pub fn with_max_resumes(mut self, n: u32) -> Self {
        self.max_resumes = n;
        self
    }

    /// Redirects followed (default 10).
    pub fn with_max_redirects(mut self, n: usize) -> Self {
        self.max_redirects = n;
        self
    }

    /// Longest wait for the next bytes before the body counts as broken (default 60 s).
    pub fn with_read_timeout(mut self, t: Duration) -> Self {
        self.read_timeout = t;
        self
    }

    fn client(&self) -> Result<reqwest::Client> {
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(self.max_redirects))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(self.read_timeout)
            .no_proxy()
            .tls_danger_accept_invalid_certs(self.insecure);
        if let Some(pem) = &self.extra_ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::Client {
                side: "source",
                source: Box::new(e),
            })?;
            b = b.tls_certs_merge(certs);
        }
        b.build().map_err(|e| Error::Client {
            side: "source",
            source: Box::new(e),
        })
    }
}

/// The bytes to copy.
#[non_exhaustive]
pub enum Source {
    /// An HTTP(S) URL.
    Http(HttpSource),
    /// A local file, read by offset so parts are read in parallel.
    File(PathBuf),
    /// Any reader (stdin, a pipe, a decompressor). Its length is unknown unless
    /// [`crate::CopyOptions::expected_size`] is given.
    Reader {
        /// Name used in messages.
        name: String,
        /// The reader.
        reader: Box<dyn AsyncRead + Send + Unpin>,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Http(h) => f.debug_tuple("Http").field(&h.url).finish(),
            Source::File(p) => f.debug_tuple("File").field(p).finish(),
            Source::Reader { name, .. } => f.debug_tuple("Reader").field(name).finish(),
        }
    }
}

impl Source {
    /// An HTTP(S) URL with default settings.
    pub fn url(url: impl Into<String>) -> Self {
        Source::Http(HttpSource::new(url))
    }

    /// A local file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Source::File(path.into())
    }

    /// Any reader.
    pub fn reader(
        name: impl Into<String>,
        reader: impl AsyncRead + Send + Unpin + 'static,
    ) -> Self {
        Source::Reader {
            name: name.into(),
            reader: Box::new(reader),
        }
    }

    /// Standard input.
    pub fn stdin() -> Self {
        Self::reader("stdin", tokio::io::stdin())
    }

    /// The name used in messages (URL without query, path, or reader name).
    pub fn name(&self) -> String {
        match self {
            Source::Http(h) => redact_url(&h.url),
            Source::File(p) => p.display().to_string(),
            Source::Reader { name, .. } => name.clone(),
        }
    }

    pub(crate) async fn open(self) -> Result<Opened> {
        match self {
            Source::File(path) => {
                let p = path.clone();
                let file = tokio::task::spawn_blocking(move || std::fs::File::open(&p))
                    .await
                    .map_err(|e| Error::Source {
                        what: path.display().to_string(),
                        source: Box::new(e),
                    })?
                    .map_err(|e| Error::Io {
                        path: path.clone(),
                        source: e,
                    })?;
                let len = file
                    .metadata()
                    .map_err(|e| Error::Io {
                        path: path.clone(),
                        source: e,
                    })?
                    .len();
                Ok(Opened::File {
                    file: Arc::new(file),
                    path,
                    len,
                })
            }
            Source::Reader { name, reader } => Ok(Opened::Seq(SeqReader {
                name,
                len: None,
                pos: 0,
                inner: SeqInner::Reader(reader),
            })),
            Source::Http(h) => {
                let name = redact_url(&h.url);
                let client = h.client()?;
                let resp = client.get(&h.url).send().await.map_err(|e| Error::Source {
                    what: name.clone(),
                    source: Box::new(e.without_url()),
                })?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(Error::Source {
                        what: name.clone(),
                        source: format!("http status {}", status.as_u16()).into(),
                    });
                }
                let hdr = |n: &str| {
                    resp.headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let validator = Validator {
                    etag: hdr("etag"),
                    last_modified: hdr("last-modified"),
                };
                let len = if hdr("content-encoding").is_some() {
                    None
                } else {
                    hdr("content-length").and_then(|v| v.parse().ok())
                };
                let url = resp.url().to_string();
                Ok(Opened::Seq(SeqReader {
                    name,
                    len,
                    pos: 0,
                    inner: SeqInner::Http(Box::new(HttpStream {
                        client,
                        url,
                        resp: Some(resp),
                        validator,
                        pending: Bytes::new(),
                        resumes_left: h.max_resumes,
                        resumes: 0,
                    })),
                }))
            }
        }
    }
}

/// A URL without its query string (which may hold a signature or token).
pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((a, _)) => format!("{a}?…"),
        None => url.to_owned(),
    }
}

pub(crate) enum Opened {
    Seq(SeqReader),
    File {
        file: Arc<std::fs::File>,
        path: PathBuf,
        len: u64,
    },
}

pub(crate) struct SeqReader {
    pub(crate) name: String,
    pub(crate) len: Option<u64>,
    pub(crate) pos: u64,
    inner: SeqInner,
}

enum SeqInner {
    Http(Box<HttpStream>),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

struct HttpStream {
    client: reqwest::Client,
    url: String,
    resp: Option<reqwest::Response>,
    validator: Validator,
    pending: Bytes,
    resumes_left: u32,
    resumes: u32,
}

impl SeqReader {
    /// The version of an HTTP source (its `If-Range` value: a strong ETag or Last-Modified),
    /// for the record of a resumable upload; `None` for other streams.
    pub(crate) fn validator(&self) -> Option<String> {
        match &self.inner {
            SeqInner::Http(h) => h.validator.if_range().map(str::to_owned),
            SeqInner::Reader(_) => None,
        }
    }

    /// Number of times the HTTP body was resumed.
    pub(crate) fn resumes(&self) -> u32 {
        match &self.inner {
            SeqInner::Http(h) => h.resumes,
            SeqInner::Reader(_) => 0,
        }
    }

    /// Appends bytes to `buf` until it holds `want` bytes or the source ends.
    pub(crate) async fn fill(&mut self, buf: &mut BytesMut, want: usize) -> Result<()> {
        match &mut self.inner {
            SeqInner::Reader(r) => {
                while buf.len() < want {
                    let before = buf.len();
                    let mut limited = (&mut *r).take((want - before) as u64);
                    let n = limited.read_buf(buf).await.map_err(|e| Error::Source {
                        what: self.name.clone(),
                        source: Box::new(e),
                    })?;
                    self.pos += n as u64;
                    if n == 0 {
                        break;
                    }
                }
                Ok(())
            }
            SeqInner::Http(h) => {
                while buf.len() < want {
                    if !h.pending.is_empty() {
                        let take = (want - buf.len()).min(h.pending.len());
                        buf.extend_from_slice(&h.pending.split_to(take));
                        self.pos += take as u64;
                        continue;
                    }
                    let Some(resp) = h.resp.as_mut() else { break };
                    match resp.chunk().await {
                        Ok(Some(b)) => h.pending = b,
                        Ok(None) => {
                            h.resp = None;
                            break;
                        }
                        Err(e) => {
                            h.resp = None;
                            let cause: BoxError = Box::new(e.without_url());
                            h.resume(&self.name, self.pos, self.len, cause).await?;
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

impl HttpStream {
    async fn resume(
        &mut self,
        name: &str,
        offset: u64,
        total: Option<u64>,
        cause: BoxError,
    ) -> Result<()> {
        let refuse = |reason: String, cause: Option<BoxError>| Error::CannotResume {
            what: name.to_owned(),
            offset,
            reason,
            source: cause,
        };
        if self.resumes_left == 0 {
            return Err(refuse("too many interruptions".into(), Some(cause)));
        }
        self.resumes_left -= 1;
        self.resumes += 1;
        let Some(if_range) = self.validator.if_range().map(str::to_owned) else {
            return Err(refuse(
                "the server sent no ETag or Last-Modified, so a resumed range could mix two versions".into(),
                Some(cause),
            ));
        };
        tracing::warn!(
            source = name,
            offset,
            "source body broke, resuming with Range"
        );
        let resp = self
            .client
            .get(&self.url)
            .header("range", format!("bytes={offset}-"))
            .header("if-range", if_range)
            .send()
            .await
            .map_err(|e| {
                refuse(
                    "the resume request failed".into(),
                    Some(Box::new(e.without_url())),
                )
            })?;
        let cr = resp
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match check_resume(resp.status().as_u16(), cr.as_deref(), offset, total) {
            Ok(()) => {
                self.resp = Some(resp);
                Ok(())
            }
            Err(ResumeRefusal::Changed) => Err(refuse(
                "the source changed since the copy started (If-Range did not match); the two versions must not be mixed".into(),
                Some(cause),
            )),
            Err(ResumeRefusal::WrongRange(r)) => Err(refuse(r, Some(cause))),
            Err(ResumeRefusal::Status(s)) => {
                Err(refuse(format!("the resume request got http status {s}"), Some(cause)))
            }
        }
    }
}

/// Reads `len` bytes at `offset` of a file (blocking; run on the blocking pool).
pub(crate) fn read_file_range(
    file: &std::fs::File,
    path: &std::path::Path,
    offset: u64,
    len: usize,
) -> Result<Bytes> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = file
            .read_at(&mut buf[done..], offset + done as u64)
            .map_err(|e| Error::Io {
                path: path.to_owned(),
                source: e,
            })?;
        if n == 0 {
            return Err(Error::Truncated {
                what: path.display().to_string(),
                expected: offset + len as u64,
                received: offset + done as u64,
            });
        }
        done += n;
    }
    Ok(Bytes::from(buf))
}
