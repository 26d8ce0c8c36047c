//! Where the bytes come from: an HTTP(S) URL (resumable with `Range` + `If-Range`), a local file
//! (read by offset, parts in parallel) or any `AsyncRead` (stdin).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{BoxError, Error, Result};
use crate::ledger::{ResumeRefusal, Validator, check_resume, parse_content_range};
use crate::tls;

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

    /// Trusts more certificates (PEM) for the source, beside the system's roots: CA
    /// certificates, or the server's own self-signed certificate (accepted when the server
    /// presents exactly that certificate, for its name and within its validity period).
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
        let b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(self.max_redirects))
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(self.read_timeout)
            .no_proxy();
        let b = tls::configure(b, "source", self.insecure, self.extra_ca_pem.as_deref())?;
        b.build().map_err(|e| Error::Client {
            side: "source",
            source: Box::new(e),
        })
    }
}

impl HttpSource {
    /// Opens the URL for reading by the caller, with the same rules as a copy from it: a body
    /// that breaks is continued with `Range` guarded by `If-Range`, and every `206` is checked
    /// against the first response's validators, so the bytes read are one version or an error.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] for a failed request or a status other than 2xx, [`Error::Client`] or a
    /// TLS error for the client settings.
    ///
    /// ```no_run
    /// # async fn f() -> s3_stream::Result<()> {
    /// let mut r = s3_stream::HttpSource::new("https://example.org/disk.ova").open().await?;
    /// loop {
    ///     let chunk = r.read_chunk(1 << 20).await?;
    ///     if chunk.is_empty() {
    ///         break;
    ///     }
    /// }
    /// println!("resumed {} times", r.resumes());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn open(self) -> Result<HttpReader> {
        match Source::Http(self).open(None).await? {
            Opened::Seq(inner) => Ok(HttpReader { inner }),
            Opened::File { path, .. } => Err(Error::Source {
                what: path.display().to_string(),
                source: "an HTTP source opened as a file".into(),
            }),
        }
    }
}

/// An opened HTTP source ([`HttpSource::open`]), read in chunks.
pub struct HttpReader {
    inner: SeqReader,
}

impl std::fmt::Debug for HttpReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpReader")
            .field("name", &self.inner.name)
            .field("len", &self.inner.len)
            .field("pos", &self.inner.pos)
            .finish_non_exhaustive()
    }
}

impl HttpReader {
    /// The next bytes, at most `max` (fewer only at the end); empty at the end of the body.
    ///
    /// # Errors
    ///
    /// [`Error::CannotResume`] when a broken body cannot be continued (no validator, a changed
    /// source, too many interruptions), [`Error::Source`] for other read failures.
    pub async fn read_chunk(&mut self, max: usize) -> Result<Bytes> {
        let mut buf = BytesMut::with_capacity(max);
        self.inner.fill(&mut buf, max).await?;
        Ok(buf.freeze())
    }

    /// The length the server announced (`None` for a compressed or chunked body).
    pub fn len(&self) -> Option<u64> {
        self.inner.len
    }

    /// Whether the server announced an empty body.
    pub fn is_empty(&self) -> bool {
        self.inner.len == Some(0)
    }

    /// Bytes read so far.
    pub fn position(&self) -> u64 {
        self.inner.pos
    }

    /// How often the body broke and was continued.
    pub fn resumes(&self) -> u32 {
        self.inner.resumes()
    }

    /// The URL without its query, as used in messages.
    pub fn name(&self) -> &str {
        &self.inner.name
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

    /// Opens the source. `if_range` is the version an earlier, interrupted run recorded for an
    /// HTTP source (ignored for other sources): the body is then asked for with
    /// `Range: bytes=0-` and `If-Range`, so the server answers a `206` of that version when it
    /// is unchanged and a `200` of the current one when not; either way the body starts at byte
    /// 0 and its validators say which version it is.
    pub(crate) async fn open(self, if_range: Option<&str>) -> Result<Opened> {
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
                let mut get = client.get(&h.url);
                if let Some(v) = if_range {
                    get = get.header("range", "bytes=0-").header("if-range", v);
                }
                let resp = get.send().await.map_err(|e| {
                    tls::classify(e, "source", &tls::host_port(&h.url), |e| Error::Source {
                        what: name.clone(),
                        source: Box::new(e.without_url()),
                    })
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
                } else if status.as_u16() == 206 {
                    // only `Range: bytes=0-` is sent here, so the range must be the whole body
                    let cr = hdr("content-range").unwrap_or_default();
                    match whole_range(&cr) {
                        Ok(total) => {
                            total.or_else(|| hdr("content-length").and_then(|v| v.parse().ok()))
                        }
                        Err(reason) => {
                            return Err(Error::Source {
                                what: name.clone(),
                                source: format!("the answer to Range: bytes=0- {reason}").into(),
                            });
                        }
                    }
                } else {
                    hdr("content-length").and_then(|v| v.parse().ok())
                };
                if let Some(v) = if_range {
                    tracing::info!(
                        source = %name,
                        status = status.as_u16(),
                        recorded = v,
                        now = validator.if_range().unwrap_or("none"),
                        "source opened with If-Range of the recorded version"
                    );
                }
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
                        skip: 0,
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
    /// Bytes still to drop from the body (a resume the server answered with the whole object).
    skip: u64,
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

    /// Whether this is an HTTP source (resumable across runs only with a recorded version).
    pub(crate) fn is_http(&self) -> bool {
        matches!(self.inner, SeqInner::Http(_))
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
                        Ok(Some(mut b)) => {
                            let drop = usize::try_from(h.skip).unwrap_or(usize::MAX).min(b.len());
                            h.skip -= drop as u64;
                            h.pending = b.split_off(drop);
                        }
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
        let hdr = |n: &str| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let answer = Validator {
            etag: hdr("etag"),
            last_modified: hdr("last-modified"),
        };
        let cr = hdr("content-range");
        match judge_resume(
            &self.validator,
            resp.status().as_u16(),
            &answer,
            cr.as_deref(),
            offset,
            total,
        ) {
            Ok(Resumed::Range) => {
                self.resp = Some(resp);
                Ok(())
            }
            Ok(Resumed::Whole) => {
                tracing::warn!(
                    source = name,
                    offset,
                    "the source ignored Range and sent the same version again; skipping what was read"
                );
                self.skip = offset;
                self.resp = Some(resp);
                Ok(())
            }
            Err(reason) => Err(refuse(reason, Some(cause))),
        }
    }
}

/// The total length a `206` to `Range: bytes=0-` announces, when its `Content-Range` covers the
/// whole body (from byte 0 to the last); an error naming what is wrong otherwise. Pure.
fn whole_range(content_range: &str) -> std::result::Result<Option<u64>, String> {
    let (first, last, total) = parse_content_range(content_range)
        .ok_or_else(|| format!("has a bad Content-Range {content_range:?}"))?;
    if first != 0 || total.is_some_and(|t| last.checked_add(1) != Some(t)) {
        return Err(format!(
            "is not the whole body (Content-Range {content_range:?})"
        ));
    }
    Ok(total)
}

/// How a resumed request can continue the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resumed {
    /// A 206 of the same version from the offset asked for.
    Range,
    /// A 200 of the whole object, the same version by its strong ETag (the server ignored
    /// `Range`): the bytes up to the offset are read again and dropped.
    Whole,
}

/// Whether two responses are of the same version: the same strong ETag when the first had one,
/// else the same Last-Modified (and no differing ETag). `None` when `first` has neither.
fn same_version(first: &Validator, answer: &Validator) -> Option<bool> {
    let strong = |v: &Validator| v.etag.clone().filter(|e| !e.trim_start().starts_with("W/"));
    if let Some(e) = strong(first) {
        return Some(strong(answer).as_deref().map(str::trim) == Some(e.trim()));
    }
    let lm = first.last_modified.as_deref()?;
    let etags_differ = first.etag.is_some() && answer.etag.is_some() && first.etag != answer.etag;
    Some(answer.last_modified.as_deref() == Some(lm) && !etags_differ)
}

/// Judges the response to `Range: bytes=offset-` + `If-Range`: a 206 must carry the first
/// response's validators (a server or cache that ignores `If-Range` would otherwise hand over
/// the rest of another version, and the object would mix two), and a 200 is either the same
/// version in whole (the server ignored `Range`) or a changed source. Pure.
fn judge_resume(
    first: &Validator,
    status: u16,
    answer: &Validator,
    content_range: Option<&str>,
    offset: u64,
    total: Option<u64>,
) -> std::result::Result<Resumed, String> {
    let describe = |v: &Validator| match (&v.etag, &v.last_modified) {
        (Some(e), _) => format!("ETag {e}"),
        (None, Some(l)) => format!("Last-Modified {l}"),
        (None, None) => "no ETag or Last-Modified".to_owned(),
    };
    let changed = |how: &str| {
        format!(
            "the source changed since the copy started ({how}: {} at the start, {} now); the two versions must not be mixed",
            describe(first),
            describe(answer)
        )
    };
    let same = same_version(first, answer).ok_or_else(|| {
        "the server sent no ETag or Last-Modified, so a resumed range could mix two versions"
            .to_owned()
    })?;
    match check_resume(status, content_range, offset, total) {
        Ok(()) if same => Ok(Resumed::Range),
        Ok(()) => Err(changed(
            "the server ignored If-Range and sent a range of the new version",
        )),
        Err(ResumeRefusal::Changed) if same && strong_etag(first) => Ok(Resumed::Whole),
        Err(ResumeRefusal::Changed) if same => Err(format!(
            "the server ignored Range (it sent the whole object again, http status 200) and the \
             source has no strong ETag ({}) to prove it is the same version",
            describe(first)
        )),
        Err(ResumeRefusal::Changed) => Err(changed("If-Range did not match")),
        Err(ResumeRefusal::WrongRange(r)) => Err(r),
        Err(ResumeRefusal::Status(s)) => Err(format!("the resume request got http status {s}")),
    }
}

fn strong_etag(v: &Validator) -> bool {
    v.etag
        .as_deref()
        .is_some_and(|e| !e.trim_start().starts_with("W/"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v(etag: Option<&str>, lm: Option<&str>) -> Validator {
        Validator {
            etag: etag.map(str::to_owned),
            last_modified: lm.map(str::to_owned),
        }
    }

    const LM1: &str = "Wed, 01 Jan 2020 00:00:00 GMT";
    const LM2: &str = "Fri, 01 Jan 2021 00:00:00 GMT";

    #[test]
    fn a_206_must_carry_the_first_validators() {
        let first = v(Some("\"v1\""), Some(LM1));
        let cr = Some("bytes 10-99/100");
        let j = |answer: &Validator| judge_resume(&first, 206, answer, cr, 10, Some(100));
        assert_eq!(j(&v(Some("\"v1\""), Some(LM2))), Ok(Resumed::Range));
        let e = j(&v(Some("\"v2\""), Some(LM1))).unwrap_err();
        assert!(
            e.contains("ignored If-Range") && e.contains("\"v2\""),
            "{e}"
        );
        assert!(j(&v(None, Some(LM1))).is_err(), "a 206 without the ETag");
        assert!(j(&v(Some("W/\"v1\""), Some(LM1))).is_err(), "a weak ETag");

        // only Last-Modified (or a weak ETag) at the start: Last-Modified decides
        let first = v(None, Some(LM1));
        let j = |answer: &Validator| judge_resume(&first, 206, answer, cr, 10, Some(100));
        assert_eq!(j(&v(None, Some(LM1))), Ok(Resumed::Range));
        assert!(j(&v(None, Some(LM2))).unwrap_err().contains("changed"));
        assert!(j(&v(None, None)).is_err());
        let first = v(Some("W/\"a\""), Some(LM1));
        assert!(
            judge_resume(
                &first,
                206,
                &v(Some("W/\"b\""), Some(LM1)),
                cr,
                10,
                Some(100)
            )
            .is_err()
        );

        // no validator at all: never resumed
        assert!(
            judge_resume(&v(None, None), 206, &v(None, None), cr, 10, Some(100))
                .unwrap_err()
                .contains("no ETag or Last-Modified")
        );
        // the range itself is still checked
        assert!(
            judge_resume(
                &v(Some("\"v1\""), None),
                206,
                &v(Some("\"v1\""), None),
                Some("bytes 0-99/100"),
                10,
                Some(100)
            )
            .is_err()
        );
    }

    #[test]
    fn a_206_to_a_range_from_0_must_be_the_whole_body() {
        assert_eq!(whole_range("bytes 0-99/100"), Ok(Some(100)));
        assert_eq!(whole_range("bytes 0-99/*"), Ok(None));
        assert!(
            whole_range("bytes 0-49/100")
                .unwrap_err()
                .contains("not the whole")
        );
        assert!(whole_range("bytes 10-99/100").is_err());
        assert!(whole_range("").unwrap_err().contains("bad Content-Range"));
    }

    #[test]
    fn a_200_is_range_ignored_or_a_changed_source() {
        let first = v(Some("\"v1\""), Some(LM1));
        assert_eq!(
            judge_resume(
                &first,
                200,
                &v(Some("\"v1\""), Some(LM1)),
                None,
                10,
                Some(100)
            ),
            Ok(Resumed::Whole)
        );
        let e = judge_resume(
            &first,
            200,
            &v(Some("\"v2\""), Some(LM2)),
            None,
            10,
            Some(100),
        )
        .unwrap_err();
        assert!(e.contains("If-Range did not match"), "{e}");
        let first = v(None, Some(LM1));
        let e = judge_resume(&first, 200, &v(None, Some(LM1)), None, 10, Some(100)).unwrap_err();
        assert!(e.contains("ignored Range") && !e.contains("changed"), "{e}");
        let e = judge_resume(&first, 200, &v(None, Some(LM2)), None, 10, Some(100)).unwrap_err();
        assert!(e.contains("changed"), "{e}");
        assert_eq!(
            judge_resume(&first, 416, &v(None, Some(LM1)), None, 10, Some(100)),
            Err("the resume request got http status 416".into())
        );
    }
}
