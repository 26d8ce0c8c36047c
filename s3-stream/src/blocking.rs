//! A blocking client with the same method names, over its own multi-threaded tokio runtime
//! (parts are hashed on several cores).
//!
//! Never call these methods from inside an async runtime: they block the thread, and tokio
//! panics when a runtime is blocked on from within another.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::{ClientBuilder, CopyOptions, CopyReport, ObjectInfo, Source, UploadInfo};

/// Blocking wrapper around [`crate::Client`].
#[derive(Debug)]
pub struct Client {
    inner: crate::Client,
    rt: tokio::runtime::Runtime,
}

impl Client {
    /// Builds the async client and a runtime for it.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`], plus [`Error::Client`] when the runtime cannot start.
    pub fn new(builder: ClientBuilder) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Client {
                side: "destination",
                source: Box::new(e),
            })?;
        let inner = {
            let _g = rt.enter();
            builder.build()?
        };
        Ok(Self { inner, rt })
    }

    /// The async client.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// See [`crate::Client::copy`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::copy`].
    pub fn copy(
        &self,
        source: Source,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
    ) -> Result<CopyReport> {
        self.rt.block_on(self.inner.copy(source, bucket, key, opts))
    }

    /// See [`crate::Client::writer`]: a [`std::io::Write`] into `s3://bucket/key`.
    pub fn writer(&self, bucket: &str, key: &str, opts: &CopyOptions) -> ObjectWriter {
        let _g = self.rt.enter();
        ObjectWriter {
            inner: Some(self.inner.writer(bucket, key, opts)),
            handle: self.rt.handle().clone(),
        }
    }

    /// See [`crate::Client::copy_object`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::copy_object`].
    pub fn copy_object(
        &self,
        src_bucket: &str,
        src_key: &str,
        bucket: &str,
        key: &str,
        opts: &CopyOptions,
    ) -> Result<CopyReport> {
        self.rt.block_on(
            self.inner
                .copy_object(src_bucket, src_key, bucket, key, opts),
        )
    }

    /// See [`crate::Client::head_object`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::head_object`].
    pub fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo> {
        self.rt.block_on(self.inner.head_object(bucket, key))
    }

    /// See [`crate::Client::put_object_acl`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::put_object_acl`].
    pub fn put_object_acl(&self, bucket: &str, key: &str, canned_acl: &str) -> Result<()> {
        self.rt
            .block_on(self.inner.put_object_acl(bucket, key, canned_acl))
    }

    /// See [`crate::Client::list_multipart_uploads`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::list_multipart_uploads`].
    pub fn list_multipart_uploads(
        &self,
        bucket: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<UploadInfo>> {
        self.rt
            .block_on(self.inner.list_multipart_uploads(bucket, prefix))
    }

    /// See [`crate::Client::abort_incomplete_uploads`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::abort_incomplete_uploads`].
    pub fn abort_incomplete_uploads(
        &self,
        bucket: &str,
        older_than: Option<Duration>,
    ) -> Result<Vec<UploadInfo>> {
        self.rt
            .block_on(self.inner.abort_incomplete_uploads(bucket, older_than))
    }
}

/// A blocking [`std::io::Write`] into one object; see [`crate::ObjectWriter`] for the
/// guarantees. Call [`ObjectWriter::finish`]: a writer dropped without it stores nothing.
///
/// ```no_run
/// # fn f(client: s3_stream::blocking::Client) -> s3_stream::Result<()> {
/// use std::io::{Read, Write};
/// let mut w = client.writer("bucket", "disk.raw", &s3_stream::CopyOptions::default());
/// std::io::copy(&mut std::io::repeat(0).take(1 << 20), &mut w).ok();
/// w.flush().ok();
/// let report = w.finish()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ObjectWriter {
    inner: Option<crate::ObjectWriter>,
    handle: tokio::runtime::Handle,
}

impl ObjectWriter {
    /// See [`crate::ObjectWriter::finish`].
    ///
    /// # Errors
    ///
    /// As [`crate::ObjectWriter::finish`].
    pub fn finish(mut self) -> Result<CopyReport> {
        let w = self.inner.take().ok_or(Error::Cancelled)?;
        self.handle.block_on(w.finish())
    }

    /// See [`crate::ObjectWriter::abort`].
    ///
    /// # Errors
    ///
    /// As [`crate::ObjectWriter::abort`].
    pub fn abort(mut self) -> Result<()> {
        let w = self.inner.take().ok_or(Error::Cancelled)?;
        self.handle.block_on(w.abort())
    }

    fn inner(&mut self) -> std::io::Result<&mut crate::ObjectWriter> {
        self.inner
            .as_mut()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "writer finished"))
    }
}

impl std::io::Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use tokio::io::AsyncWriteExt;
        let handle = self.handle.clone();
        let w = self.inner()?;
        handle.block_on(w.write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let handle = self.handle.clone();
        let w = self.inner()?;
        handle.block_on(w.flush())
    }
}
