//! `ovakit.s3`: streaming copies into S3 (from a URL, a file or a Python file-like object),
//! server-side copies, ACLs and multipart-upload housekeeping.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use s3_stream::{
    CancelToken, Client as CoreClient, ClientBuilder, ConfigKey, CopyOptions, CopyReport,
    Credentials, Progress, Source, UploadInfo,
};
use tokio::io::{AsyncRead, ReadBuf};

use crate::cancel::CancelToken as PyCancelToken;
use crate::conv::typed;
use crate::errors::Error;
use crate::runtime::{Callback, Interrupt, Stop, run, run_simple};

fn report_to_py(py: Python<'_>, r: &CopyReport) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("bytes", r.bytes)?;
    d.set_item("parts", r.parts)?;
    d.set_item("multipart", r.multipart)?;
    d.set_item("part_size", r.part_size)?;
    d.set_item("elapsed", r.elapsed.as_secs_f64())?;
    d.set_item("etag", &r.etag)?;
    d.set_item("crc32c", &r.crc32c)?;
    d.set_item("md5", &r.md5)?;
    d.set_item("sha256", &r.sha256)?;
    d.set_item("upload_id", &r.upload_id)?;
    d.set_item("source_resumes", r.source_resumes)?;
    d.set_item("part_checksum", r.part_checksum.as_str())?;
    d.set_item("payload_signed", r.payload_signed)?;
    d.set_item("parts_reused", r.parts_reused)?;
    d.set_item("parts_uploaded", r.parts_uploaded)?;
    typed(py, "CopyReport", d.into_any().unbind())
}

fn progress_to_py(py: Python<'_>, p: &Progress) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("bytes_read", p.bytes_read)?;
    d.set_item("bytes_uploaded", p.bytes_uploaded)?;
    d.set_item("parts_done", p.parts_done)?;
    d.set_item("parts_total", p.parts_total)?;
    d.set_item("elapsed", p.elapsed.as_secs_f64())?;
    typed(py, "CopyProgress", d.into_any().unbind())
}

fn upload_to_py(py: Python<'_>, u: &UploadInfo) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    d.set_item("key", &u.key)?;
    d.set_item("upload_id", &u.upload_id)?;
    d.set_item("initiated", u.initiated.map(|t| t.unix()))?;
    typed(py, "MultipartUpload", d.into_any().unbind())
}

/// A Python file-like object (anything with ``read(n)``) as an async byte source. Reads run
/// with the GIL held on the copying thread; an exception is recorded in the [`Interrupt`].
struct PyReader {
    file: Py<PyAny>,
    interrupt: Arc<Interrupt>,
}

impl AsyncRead for PyReader {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let want = buf.remaining();
        let got = Python::attach(|py| -> PyResult<()> {
            let chunk = self.file.call_method1(py, "read", (want,))?;
            let chunk = chunk.bind(py);
            let bytes = chunk.cast::<PyBytes>().map_err(|_| {
                PyTypeError::new_err("the file-like source must return bytes from read()")
            })?;
            let data = bytes.as_bytes();
            let n = data.len().min(want);
            buf.put_slice(&data[..n]);
            Ok(())
        });
        Poll::Ready(got.map_err(|e| {
            let text = e.to_string();
            self.interrupt.raise(e);
            std::io::Error::other(text)
        }))
    }
}

/// The crate's [`Source`] for a Python argument: an ``http(s)://`` URL string, a path (str or
/// ``os.PathLike``) or an object with ``read(n)``.
fn source(py: Python<'_>, obj: &Bound<'_, PyAny>, interrupt: &Arc<Interrupt>) -> PyResult<Source> {
    if let Ok(s) = obj.cast::<PyString>() {
        let s: String = s.extract()?;
        let s = s.as_str();
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(Source::url(s));
        }
        return Ok(Source::file(PathBuf::from(s)));
    }
    if let Ok(path) = obj.extract::<PathBuf>() {
        return Ok(Source::file(path));
    }
    if obj.hasattr("read")? {
        let name = obj
            .getattr("name")
            .and_then(|n| n.str().map(|s| s.to_string()))
            .unwrap_or_else(|_| "file object".to_owned());
        let reader = PyReader {
            file: obj.clone().unbind(),
            interrupt: Arc::clone(interrupt),
        };
        let _ = py;
        return Ok(Source::reader(name, reader));
    }
    Err(PyTypeError::new_err(
        "source must be an http(s) URL, a path or a binary file object",
    ))
}

/// Options shared by `copy` and `copy_object`.
#[allow(clippy::too_many_arguments)]
fn options(
    acl: Option<String>,
    content_type: Option<String>,
    metadata: Option<Vec<(String, String)>>,
    part_size: Option<u64>,
    concurrency: Option<usize>,
    expected_size: Option<u64>,
    md5: bool,
    sha256: bool,
    part_checksum: Option<&str>,
) -> PyResult<CopyOptions> {
    let defaults = CopyOptions::default();
    let part_checksum = match part_checksum {
        Some(p) => p.parse().map_err(Error::from)?,
        None => defaults.part_checksum,
    };
    Ok(CopyOptions {
        acl,
        content_type,
        metadata: metadata.unwrap_or_default(),
        part_size,
        concurrency: concurrency.unwrap_or(defaults.concurrency),
        expected_size,
        md5,
        sha256,
        part_checksum,
        ..defaults
    })
}

/// Drive a copy future with cancellation wired: a raising progress callback, Ctrl-C or the
/// caller's cancelled `CancelToken` cancels the crate's token and the copy is awaited while it
/// aborts its multipart upload.
fn run_copy<F>(
    py: Python<'_>,
    mut opts: CopyOptions,
    progress: Option<Py<PyAny>>,
    interrupt: Arc<Interrupt>,
    start: impl FnOnce(CopyOptions) -> F,
) -> PyResult<Py<PyAny>>
where
    F: std::future::Future<Output = s3_stream::Result<CopyReport>> + Send,
{
    let token = CancelToken::new();
    opts.cancel = Some(token.clone());
    if progress.is_some() {
        let callback = Callback::new(progress, Arc::clone(&interrupt));
        opts.progress = Some(Arc::new(move |p: &Progress| {
            match Python::attach(|py| progress_to_py(py, p)) {
                Ok(d) => callback.call((d,)),
                Err(e) => callback.raise(e),
            }
            if callback.raised() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }));
    }
    let fut = start(opts);
    let stop_token = token.clone();
    let stop = move || stop_token.cancel();
    let report = run(py, &interrupt, Stop::Graceful(&stop), async move {
        Ok(fut.await?)
    })?;
    report_to_py(py, &report)
}

fn build(mut builder: ClientBuilder, options: Option<&Bound<'_, PyDict>>) -> PyResult<Client> {
    if let Some(options) = options {
        for (k, v) in options.iter() {
            if v.is_none() {
                continue;
            }
            let key: ConfigKey = k.extract::<String>()?.parse().map_err(Error::from)?;
            let value = if v.is_instance_of::<pyo3::types::PyBool>() {
                if v.extract::<bool>()? {
                    "true"
                } else {
                    "false"
                }
                .to_owned()
            } else {
                v.str()?.to_string()
            };
            builder = builder.with_config(key, &value);
        }
    }
    Ok(Client {
        inner: builder.build().map_err(Error::from)?,
    })
}

/// An S3 client for one endpoint (AWS, MinIO, Ceph, moto...).
///
/// ``Client(endpoint=None, region=None, access_key_id=None, secret_access_key=None, **options)``
/// starts from the environment (``AWS_*`` variables, ``~/.aws`` files, ``profile=``) and
/// overrides what is given. Options: ``session_token``, ``addressing_style`` (``path`` or
/// ``virtual``), ``signature_version`` (``v4``/``v2``), ``insecure_tls``, ``payload_signing``.
#[pyclass(module = "ovakit.s3", name = "S3Client", frozen)]
pub(crate) struct Client {
    inner: CoreClient,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (endpoint = None, region = None, access_key_id = None, secret_access_key = None, *, profile = None, **options))]
    fn new(
        endpoint: Option<String>,
        region: Option<String>,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        profile: Option<&str>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let mut b = ClientBuilder::from_env();
        if let Some(p) = profile {
            b = b.with_profile(p);
        }
        if let Some(e) = endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(r) = region {
            b = b.with_region(r);
        }
        match (access_key_id, secret_access_key) {
            (Some(a), Some(s)) => b = b.with_credentials(Credentials::new(a, s)),
            (None, None) => {}
            _ => {
                return Err(crate::errors::ConfigError::new_err((
                    "give both access_key_id and secret_access_key, or neither",
                    "access_key_id",
                )));
            }
        }
        build(b, options)
    }

    /// Stream ``source`` into ``s3://bucket/key`` with bounded memory (multipart above the
    /// threshold), verifying what the store received. Returns a ``CopyReport`` (``bytes``,
    /// ``parts``, ``etag``, ``md5``/``sha256`` when asked, ``upload_id``...).
    ///
    /// ``source`` is an ``http(s)://`` URL (resumed on broken connections), a path, or a binary
    /// file object (``read(n)``). ``progress(CopyProgress)`` is called as data moves; raising from
    /// it, Ctrl-C or ``cancel.cancel()`` cancels the copy and aborts the multipart upload before
    /// the exception (``CancelledError`` for ``cancel``) propagates. ``acl`` is a canned ACL such
    /// as ``"public-read"``. ``part_checksum`` is the per-part check: ``"auto"`` (default: each
    /// part's CRC32C, and its MD5 compared with the returned ETag until the store has echoed a
    /// CRC32C), ``"md5"``, ``"crc32c"`` or ``"none"``; the report says which was in force
    /// (``part_checksum``, ``payload_signed``).
    ///
    /// Raises ``S3Error`` (``.status``, ``.code``, ``.upload_id``).
    #[pyo3(signature = (source, bucket, key, *, progress = None, acl = None, content_type = None, metadata = None, part_size = None, concurrency = None, expected_size = None, md5 = false, sha256 = false, part_checksum = None, cancel = None))]
    #[allow(clippy::too_many_arguments)]
    fn copy(
        &self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        bucket: String,
        key: String,
        progress: Option<Py<PyAny>>,
        acl: Option<String>,
        content_type: Option<String>,
        metadata: Option<Vec<(String, String)>>,
        part_size: Option<u64>,
        concurrency: Option<usize>,
        expected_size: Option<u64>,
        md5: bool,
        sha256: bool,
        part_checksum: Option<&str>,
        cancel: Option<PyRef<'_, PyCancelToken>>,
    ) -> PyResult<Py<PyAny>> {
        let interrupt = Interrupt::new(cancel.as_deref());
        let src = self::source(py, source, &interrupt)?;
        let opts = options(
            acl,
            content_type,
            metadata,
            part_size,
            concurrency,
            expected_size,
            md5,
            sha256,
            part_checksum,
        )?;
        let client = self.inner.clone();
        run_copy(py, opts, progress, interrupt, move |opts| async move {
            client.copy(src, &bucket, &key, &opts).await
        })
    }

    /// Server-side copy of ``s3://src_bucket/src_key`` to ``s3://bucket/key`` (multipart
    /// UploadPartCopy for large objects); options as for ``copy``.
    #[pyo3(signature = (src_bucket, src_key, bucket, key, *, progress = None, acl = None, content_type = None, metadata = None, part_size = None, concurrency = None, cancel = None))]
    #[allow(clippy::too_many_arguments)]
    fn copy_object(
        &self,
        py: Python<'_>,
        src_bucket: String,
        src_key: String,
        bucket: String,
        key: String,
        progress: Option<Py<PyAny>>,
        acl: Option<String>,
        content_type: Option<String>,
        metadata: Option<Vec<(String, String)>>,
        part_size: Option<u64>,
        concurrency: Option<usize>,
        cancel: Option<PyRef<'_, PyCancelToken>>,
    ) -> PyResult<Py<PyAny>> {
        let opts = options(
            acl,
            content_type,
            metadata,
            part_size,
            concurrency,
            None,
            false,
            false,
            None,
        )?;
        let client = self.inner.clone();
        run_copy(
            py,
            opts,
            progress,
            Interrupt::new(cancel.as_deref()),
            move |opts| async move {
                client
                    .copy_object(&src_bucket, &src_key, &bucket, &key, &opts)
                    .await
            },
        )
    }

    /// Set a canned ACL (e.g. ``"public-read"``) on an object.
    fn put_object_acl(&self, py: Python<'_>, bucket: &str, key: &str, acl: &str) -> PyResult<()> {
        let c = self.inner.clone();
        run_simple(
            py,
            async move { Ok(c.put_object_acl(bucket, key, acl).await?) },
        )?;
        Ok(())
    }

    /// Incomplete multipart uploads in ``bucket`` (optionally under ``prefix``), as
    /// ``MultipartUpload``s with ``key``, ``upload_id`` and ``initiated`` (Unix seconds or None).
    #[pyo3(signature = (bucket, prefix = None))]
    fn list_multipart_uploads(
        &self,
        py: Python<'_>,
        bucket: &str,
        prefix: Option<&str>,
    ) -> PyResult<Vec<Py<PyAny>>> {
        let c = self.inner.clone();
        let ups = run_simple(py, async move {
            Ok(c.list_multipart_uploads(bucket, prefix).await?)
        })?;
        ups.iter().map(|u| upload_to_py(py, u)).collect()
    }

    /// Abort one multipart upload.
    fn abort_multipart_upload(
        &self,
        py: Python<'_>,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> PyResult<()> {
        let c = self.inner.clone();
        run_simple(py, async move {
            Ok(c.abort_multipart_upload(bucket, key, upload_id).await?)
        })?;
        Ok(())
    }

    /// Abort every incomplete upload in ``bucket`` (only those older than ``older_than``
    /// seconds, when given); returns the aborted ones.
    #[pyo3(signature = (bucket, older_than = None))]
    fn abort_incomplete_uploads(
        &self,
        py: Python<'_>,
        bucket: &str,
        older_than: Option<f64>,
    ) -> PyResult<Vec<Py<PyAny>>> {
        let c = self.inner.clone();
        let age = older_than.map(std::time::Duration::from_secs_f64);
        let ups = run_simple(py, async move {
            Ok(c.abort_incomplete_uploads(bucket, age).await?)
        })?;
        ups.iter().map(|u| upload_to_py(py, u)).collect()
    }

    /// Create a bucket.
    fn create_bucket(&self, py: Python<'_>, bucket: &str) -> PyResult<()> {
        let c = self.inner.clone();
        run_simple(py, async move { Ok(c.create_bucket(bucket).await?) })?;
        Ok(())
    }

    /// HeadObject: an ``ObjectInfo`` with ``size``, ``etag``, ``content_type`` and ``metadata``.
    fn head_object(&self, py: Python<'_>, bucket: &str, key: &str) -> PyResult<Py<PyAny>> {
        let c = self.inner.clone();
        let info = run_simple(py, async move { Ok(c.head_object(bucket, key).await?) })?;
        let d = PyDict::new(py);
        d.set_item("size", info.size)?;
        d.set_item("etag", &info.etag)?;
        d.set_item("content_type", &info.content_type)?;
        d.set_item(
            "metadata",
            info.metadata
                .into_iter()
                .collect::<std::collections::BTreeMap<_, _>>(),
        )?;
        typed(py, "ObjectInfo", d.into_any().unbind())
    }

    /// GetObject into memory (for small objects).
    fn get_object<'py>(
        &self,
        py: Python<'py>,
        bucket: &str,
        key: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let c = self.inner.clone();
        let data = run_simple(py, async move { Ok(c.get_object(bucket, key).await?) })?;
        Ok(PyBytes::new(py, &data))
    }

    /// Delete an object.
    fn delete_object(&self, py: Python<'_>, bucket: &str, key: &str) -> PyResult<()> {
        let c = self.inner.clone();
        run_simple(py, async move { Ok(c.delete_object(bucket, key).await?) })?;
        Ok(())
    }
}

/// Register the `ovakit.s3` classes on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Client>()?;
    Ok(())
}
