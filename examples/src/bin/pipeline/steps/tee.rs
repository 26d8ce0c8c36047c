//! One download, two consumers: the S3 uploader and the OVA verifier.
//!
//! A pump task reads the source stream once and hands every chunk (a cheap `Bytes` clone) to both
//! sides through bounded channels, so memory stays at a few chunks whatever the size. The verifier
//! runs on a blocking thread over a plain `std::io::Read` (ova-core's streaming reader is
//! synchronous). The uploader reads a [`GatedReader`]: it yields the bytes as they come, but it
//! only reports end-of-stream once the verifier has accepted the whole archive. A verifier error
//! (early or at the very end) becomes a read error instead, so the uploader never completes the
//! object and aborts its multipart upload.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::Digest;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{mpsc, oneshot};

/// Chunks held in each channel.
const DEPTH: usize = 8;

/// Byte count and SHA-256 of everything that passed through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Passed {
    /// Bytes read from the source.
    pub(crate) bytes: u64,
    /// SHA-256, lowercase hex.
    pub(crate) sha256: String,
}

/// The blocking side: a `Read` over the chunks the pump hands out, hashing as it goes.
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl ChannelReader {
    /// Read and discard whatever the verifier did not consume (tar padding after the end blocks),
    /// so the digest covers the whole stream.
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }
}

impl io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        let chunk = self.current.split_to(n);
        buf[..n].copy_from_slice(&chunk);
        self.hasher.update(&chunk);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The uploader's side of the tee.
pub(crate) struct GatedReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    verdict: Option<oneshot::Receiver<Result<(), String>>>,
    source_done: bool,
}

impl GatedReader {
    fn poll_verdict(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(rx) = self.verdict.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let result = ready!(Pin::new(rx).poll(cx));
        self.verdict = None;
        Poll::Ready(match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(msg)) => Err(io::Error::new(io::ErrorKind::InvalidData, msg)),
            Err(_) => Err(io::Error::other("verifier stopped without a verdict")),
        })
    }
}

use std::future::Future;

impl AsyncRead for GatedReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // A verifier that already failed stops the upload at once.
        if let Some(rx) = this.verdict.as_mut()
            && let Poll::Ready(v) = Pin::new(rx).poll(cx)
        {
            this.verdict = None;
            match v {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, msg)));
                }
                Err(_) => {
                    return Poll::Ready(Err(io::Error::other(
                        "verifier stopped without a verdict",
                    )));
                }
            }
        }
        loop {
            if !this.current.is_empty() {
                let n = buf.remaining().min(this.current.len());
                buf.put_slice(&this.current.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.source_done {
                // End of the source: EOF only once the verifier accepted everything.
                return this.poll_verdict(cx);
            }
            match ready!(this.rx.poll_recv(cx)) {
                Some(Ok(chunk)) => this.current = chunk,
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => this.source_done = true,
            }
        }
    }
}

/// The verifier's task: its result and what passed through.
pub(crate) type VerifierTask<T> = tokio::task::JoinHandle<(Result<T, String>, Passed)>;

/// Start the tee: `verify` runs on a blocking thread over the [`ChannelReader`] and returns its
/// result; the returned handle yields that result together with what passed through.
pub(crate) fn start<S, V, T>(source: S, verify: V) -> (GatedReader, VerifierTask<T>)
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    V: FnOnce(&mut ChannelReader) -> Result<T, String> + Send + 'static,
    T: Send + 'static,
{
    let (up_tx, up_rx) = mpsc::channel::<io::Result<Bytes>>(DEPTH);
    let (ver_tx, ver_rx) = mpsc::channel::<Bytes>(DEPTH);
    let (verdict_tx, verdict_rx) = oneshot::channel();

    tokio::spawn(async move {
        let mut source = std::pin::pin!(source);
        let mut ver_tx = Some(ver_tx);
        while let Some(item) = source.next().await {
            match item {
                Ok(chunk) => {
                    if let Some(tx) = &ver_tx
                        && tx.send(chunk.clone()).await.is_err()
                    {
                        // The verifier stopped reading (it failed); the gate reports why.
                        ver_tx = None;
                    }
                    if up_tx.send(Ok(chunk)).await.is_err() {
                        return; // the uploader gave up
                    }
                }
                Err(e) => {
                    let _ = up_tx.send(Err(e)).await;
                    return; // dropping ver_tx ends the verifier's input early
                }
            }
        }
    });

    let handle = tokio::task::spawn_blocking(move || {
        let mut reader = ChannelReader {
            rx: ver_rx,
            current: Bytes::new(),
            hasher: sha2::Sha256::new(),
            bytes: 0,
        };
        let result = verify(&mut reader).and_then(|t| {
            reader
                .drain()
                .map_err(|e| format!("reading the rest of the stream: {e}"))?;
            Ok(t)
        });
        let _ = verdict_tx.send(result.as_ref().map(|_| ()).map_err(Clone::clone));
        // Unblock the pump if the verifier stopped early.
        drop(reader.rx);
        let passed = Passed {
            bytes: reader.bytes,
            sha256: hex::encode(reader.hasher.finalize()),
        };
        (result, passed)
    });

    let gate = GatedReader {
        rx: up_rx,
        current: Bytes::new(),
        verdict: Some(verdict_rx),
        source_done: false,
    };
    (gate, handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use tokio::io::AsyncReadExt;

    fn chunks(data: &[u8], size: usize) -> Vec<io::Result<Bytes>> {
        data.chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect()
    }

    fn data() -> Vec<u8> {
        (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// A verifier that reads everything and compares a trailing "checksum" (the sum of bytes).
    fn read_all_then(expect_ok: bool) -> impl FnOnce(&mut ChannelReader) -> Result<usize, String> {
        move |r| {
            let mut all = Vec::new();
            r.read_to_end(&mut all).map_err(|e| e.to_string())?;
            if expect_ok {
                Ok(all.len())
            } else {
                Err("disk1.vmdk: sha256 digest mismatch".into())
            }
        }
    }

    #[tokio::test]
    async fn all_bytes_reach_both_sides_and_eof_follows_the_verdict() {
        let d = data();
        let (mut gate, handle) =
            start(futures::stream::iter(chunks(&d, 4096)), read_all_then(true));
        let mut got = Vec::new();
        gate.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, d);
        let (result, passed) = handle.await.unwrap();
        assert_eq!(result, Ok(d.len()));
        assert_eq!(passed.bytes, d.len() as u64);
        assert_eq!(passed.sha256, hex::encode(sha2::Sha256::digest(&d)));
    }

    #[tokio::test]
    async fn a_verdict_at_the_very_end_turns_eof_into_an_error() {
        let d = data();
        // The verifier gives its verdict only after the uploader has taken every byte, so the
        // read that would have been EOF is the one that must fail.
        let (all_read_tx, all_read_rx) = std::sync::mpsc::channel::<()>();
        let (mut gate, handle) = start(futures::stream::iter(chunks(&d, 1000)), move |r| {
            let mut all = Vec::new();
            r.read_to_end(&mut all).map_err(|e| e.to_string())?;
            all_read_rx.recv().map_err(|e| e.to_string())?;
            Err::<usize, _>("disk1.vmdk: sha256 digest mismatch".into())
        });
        let mut got = vec![0u8; d.len()];
        gate.read_exact(&mut got).await.unwrap();
        assert_eq!(got, d);
        all_read_tx.send(()).unwrap();
        let err = gate.read(&mut [0u8; 16]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("digest mismatch"));
        assert!(handle.await.unwrap().0.is_err());
    }

    #[tokio::test]
    async fn a_failed_verdict_never_ends_in_a_clean_eof() {
        // Whenever the verdict lands (before or after the last chunk reached the uploader), the
        // uploader sees an error, never a clean end of stream.
        for _ in 0..50 {
            let d = data();
            let (mut gate, handle) = start(
                futures::stream::iter(chunks(&d, 1000)),
                read_all_then(false),
            );
            let mut got = Vec::new();
            let err = gate.read_to_end(&mut got).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert!(got.len() <= d.len());
            assert!(handle.await.unwrap().0.is_err());
        }
    }

    #[tokio::test]
    async fn an_early_verifier_failure_stops_the_upload_side() {
        let d = vec![0u8; 1 << 20];
        let (mut gate, handle) = start(
            futures::stream::iter(chunks(&d, 1024)),
            |r: &mut ChannelReader| {
                let mut head = [0u8; 512];
                r.read_exact(&mut head).map_err(|e| e.to_string())?;
                Err::<(), _>("not an OVA: descriptor is not first".to_owned())
            },
        );
        let mut got = Vec::new();
        let err = gate.read_to_end(&mut got).await.unwrap_err();
        assert!(err.to_string().contains("descriptor is not first"));
        assert!(got.len() < d.len());
        assert!(handle.await.unwrap().0.is_err());
    }

    #[tokio::test]
    async fn a_source_error_reaches_the_uploader() {
        let mut items = chunks(&data(), 4096);
        items.truncate(3);
        items.push(Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")));
        let (mut gate, handle) = start(futures::stream::iter(items), read_all_then(true));
        let mut got = Vec::new();
        let err = gate.read_to_end(&mut got).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        drop(gate);
        let _ = handle.await.unwrap();
    }
}
