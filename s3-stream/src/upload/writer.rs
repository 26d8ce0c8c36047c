//! Bytes the caller writes, streamed into one object with the guarantees of a copy: bounded
//! memory (the writer waits while the session has no room, which is the backpressure), parts
//! uploaded in parallel, the upload aborted unless the writer is finished.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::task::JoinHandle;

use crate::cancel::CancelToken;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::options::{CopyOptions, CopyReport};
use crate::source::Source;

/// Bytes between the writer and the session (on top of the session's part buffers).
const PIPE: usize = 1 << 20;

/// A writer into `s3://bucket/key`, from [`Client::writer`].
///
/// Write with [`tokio::io::AsyncWriteExt`] (or [`std::io::Write`] through
/// [`crate::blocking::ObjectWriter`]), then call [`ObjectWriter::finish`]: only then is the
/// object stored. A writer dropped or [`ObjectWriter::abort`]ed before that leaves no object
/// and no incomplete upload. Memory is bounded as for [`Client::copy`] of a stream:
/// `(concurrency + 1) × part_size` plus 1 MiB.
///
/// When the upload fails, writes fail with a broken pipe; [`ObjectWriter::finish`] then
/// returns the upload's error.
///
/// ```no_run
/// # async fn f(client: s3_stream::Client) -> s3_stream::Result<()> {
/// use tokio::io::AsyncWriteExt;
/// let mut w = client.writer("bucket", "logs/today.txt", &s3_stream::CopyOptions::default());
/// w.write_all(b"line 1\n").await.ok();
/// let report = w.finish().await?;
/// println!("{} bytes stored", report.bytes);
/// # Ok(())
/// # }
/// ```
pub struct ObjectWriter {
    pipe: Option<DuplexStream>,
    finished: Arc<AtomicBool>,
    cancel: CancelToken,
    task: Option<JoinHandle<Result<CopyReport>>>,
}

impl std::fmt::Debug for ObjectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectWriter")
            .field("finished", &self.finished.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

/// The session's side of the pipe: the end of the bytes counts only after `finish`.
struct Guarded {
    pipe: DuplexStream,
    finished: Arc<AtomicBool>,
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.pipe).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r
            && buf.filled().len() == before
            && !self.finished.load(Ordering::SeqCst)
        {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the writer was dropped before finish",
            )));
        }
        r
    }
}

impl Client {
    /// A writer streaming into `s3://bucket/key` with `opts` (a stream of unknown length
    /// unless `opts.expected_size` is set). Must be called inside a tokio runtime: the upload
    /// runs as a task of it.
    pub fn writer(&self, bucket: &str, key: &str, opts: &CopyOptions) -> ObjectWriter {
        let (ours, theirs) = tokio::io::duplex(PIPE);
        let finished = Arc::new(AtomicBool::new(false));
        let cancel = opts
            .cancel
            .as_ref()
            .map(CancelToken::child)
            .unwrap_or_default();
        let opts = CopyOptions {
            cancel: Some(cancel.clone()),
            ..opts.clone()
        };
        let source = Source::reader(
            format!("writer into s3://{bucket}/{key}"),
            Guarded {
                pipe: theirs,
                finished: finished.clone(),
            },
        );
        let (client, bucket, key) = (self.clone(), bucket.to_owned(), key.to_owned());
        let task = tokio::spawn(async move { client.copy(source, &bucket, &key, &opts).await });
        ObjectWriter {
            pipe: Some(ours),
            finished,
            cancel,
            task: Some(task),
        }
    }
}

impl ObjectWriter {
    /// Ends the stream and waits for the object to be stored and checked.
    ///
    /// # Errors
    ///
    /// As [`Client::copy`]; the upload is aborted on failure.
    pub async fn finish(mut self) -> Result<CopyReport> {
        self.finished.store(true, Ordering::SeqCst);
        if let Some(mut p) = self.pipe.take() {
            // A failed upload closed its end already; its error is the one that matters.
            let _ = p.shutdown().await;
        }
        self.join().await
    }

    /// Abandons the object: the upload is aborted, nothing is stored.
    ///
    /// # Errors
    ///
    /// [`Error::UploadLeftOpen`] when even the abort failed.
    pub async fn abort(mut self) -> Result<()> {
        self.cancel.cancel();
        self.pipe = None;
        match self.join().await {
            Err(e @ Error::UploadLeftOpen { .. }) => Err(e),
            _ => Ok(()),
        }
    }

    async fn join(&mut self) -> Result<CopyReport> {
        let task = self.task.take().ok_or(Error::Cancelled)?;
        task.await.map_err(|e| Error::Source {
            what: "object writer".into(),
            source: Box::new(e),
        })?
    }

    fn pipe(&mut self) -> std::io::Result<&mut DuplexStream> {
        self.pipe
            .as_mut()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "writer finished"))
    }
}

impl AsyncWrite for ObjectWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let pipe = self.pipe()?;
        Pin::new(pipe).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let pipe = self.pipe()?;
        Pin::new(pipe).poll_flush(cx)
    }

    /// Ends the stream like [`ObjectWriter::finish`] (whose result then still has to be
    /// awaited for the object to be known stored).
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.finished.store(true, Ordering::SeqCst);
        let pipe = self.pipe()?;
        Pin::new(pipe).poll_shutdown(cx)
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if self.task.is_some() && !self.finished.load(Ordering::SeqCst) {
            // Not finished: the end of the bytes must not complete the object.
            self.cancel.cancel();
        }
    }
}
