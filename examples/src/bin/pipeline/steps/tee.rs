//! One download, two consumers: the object upload and the OVA verifier.
//!
//! [`run`] reads the source stream once and hands every chunk (a cheap `Bytes` clone) to the
//! verifier through a bounded channel and to the upload's writer, so memory stays at a few chunks
//! (plus the upload session's part buffers) whatever the size. The verifier runs on a blocking
//! thread over a plain `std::io::Read` (ova-core's streaming reader is synchronous). `run` returns
//! once the source ended and the verifier gave its verdict; the caller finishes the writer (the
//! object is stored) only when the source, the writes and the verdict are all good, and aborts it
//! otherwise, so a rejected export never becomes an object.

use std::io;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::Digest;
use tokio::io::{AsyncWrite, AsyncWriteExt};
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

/// How a [`run`] ended.
#[derive(Debug)]
pub(crate) struct Teed<T, E> {
    /// The source's error, when reading it failed (the pump stopped there).
    pub(crate) source: Result<(), E>,
    /// The writer's error, when a write failed (the upload behind it stopped).
    pub(crate) write: io::Result<()>,
    /// The verifier's result.
    pub(crate) verdict: Result<T, String>,
    /// What the verifier saw.
    pub(crate) passed: Passed,
}

/// Pumps `source` into `sink` and into `verify` (on a blocking thread over a
/// [`ChannelReader`]) until the source ends, fails, a write fails or the verifier gives up;
/// then waits for the verdict. `sink` is neither finished nor shut down: that is the caller's
/// decision, taken on the returned [`Teed`].
pub(crate) async fn run<S, E, W, V, T>(source: S, sink: &mut W, verify: V) -> Teed<T, E>
where
    S: Stream<Item = Result<Bytes, E>>,
    W: AsyncWrite + Unpin,
    V: FnOnce(&mut ChannelReader) -> Result<T, String> + Send + 'static,
    T: Send + 'static,
{
    let (ver_tx, ver_rx) = mpsc::channel::<Bytes>(DEPTH);
    let (gave_up_tx, mut gave_up) = oneshot::channel::<()>();
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
        if result.is_err() {
            let _ = gave_up_tx.send(());
        }
        // Unblock the pump if the verifier stopped early.
        drop(reader.rx);
        let passed = Passed {
            bytes: reader.bytes,
            sha256: hex::encode(reader.hasher.finalize()),
        };
        (result, passed)
    });

    let mut source = std::pin::pin!(source);
    let mut ver_tx = Some(ver_tx);
    let (mut source_result, mut write) = (Ok(()), Ok(()));
    while let Some(item) = source.next().await {
        // A verifier that already failed stops the transfer at once.
        if gave_up.try_recv().is_ok() {
            break;
        }
        let chunk = match item {
            Ok(c) => c,
            Err(e) => {
                source_result = Err(e);
                break;
            }
        };
        if let Some(tx) = &ver_tx
            && tx.send(chunk.clone()).await.is_err()
        {
            // The verifier stopped reading (it failed); its verdict says why.
            ver_tx = None;
            break;
        }
        if let Err(e) = sink.write_all(&chunk).await {
            write = Err(e);
            break;
        }
    }
    drop(ver_tx); // the end of the verifier's input (early when the pump stopped early)
    let (verdict, passed) = match handle.await {
        Ok(v) => v,
        Err(e) => (
            Err(format!("the verifier stopped: {e}")),
            Passed {
                bytes: 0,
                sha256: String::new(),
            },
        ),
    };
    Teed {
        source: source_result,
        write,
        verdict,
        passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

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
    async fn all_bytes_reach_both_sides() {
        let d = data();
        let mut sink = Vec::new();
        let t = run(
            futures::stream::iter(chunks(&d, 4096)),
            &mut sink,
            read_all_then(true),
        )
        .await;
        assert!(t.source.is_ok() && t.write.is_ok());
        assert_eq!(sink, d);
        assert_eq!(t.verdict, Ok(d.len()));
        assert_eq!(t.passed.bytes, d.len() as u64);
        assert_eq!(t.passed.sha256, hex::encode(sha2::Sha256::digest(&d)));
    }

    #[tokio::test]
    async fn a_verdict_at_the_very_end_is_reported_after_every_byte_was_written() {
        let d = data();
        let mut sink = Vec::new();
        let t = run(
            futures::stream::iter(chunks(&d, 1000)),
            &mut sink,
            read_all_then(false),
        )
        .await;
        assert!(t.source.is_ok() && t.write.is_ok());
        assert_eq!(
            sink, d,
            "the writer got everything; the caller must not finish it"
        );
        assert!(t.verdict.unwrap_err().contains("digest mismatch"));
    }

    #[tokio::test]
    async fn an_early_verifier_failure_stops_the_pump() {
        let d = vec![0u8; 4 << 20];
        let mut sink = Vec::new();
        let t = run(
            futures::stream::iter(chunks(&d, 1024)),
            &mut sink,
            |r: &mut ChannelReader| {
                let mut head = [0u8; 512];
                r.read_exact(&mut head).map_err(|e| e.to_string())?;
                Err::<(), _>("not an OVA: descriptor is not first".to_owned())
            },
        )
        .await;
        assert!(t.verdict.unwrap_err().contains("descriptor is not first"));
        assert!(sink.len() < d.len(), "the pump stopped early");
    }

    #[tokio::test]
    async fn a_source_error_stops_the_pump_and_cuts_the_verifier_short() {
        let mut items = chunks(&data(), 4096);
        items.truncate(3);
        items.push(Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")));
        let mut sink = Vec::new();
        let t = run(futures::stream::iter(items), &mut sink, read_all_then(true)).await;
        assert_eq!(t.source.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(sink.len(), 3 * 4096);
        assert_eq!(t.passed.bytes, 3 * 4096);
    }

    #[tokio::test]
    async fn a_failed_write_stops_the_pump() {
        struct Broken;
        impl AsyncWrite for Broken {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                _: &[u8],
            ) -> std::task::Poll<io::Result<usize>> {
                std::task::Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
        }
        let d = data();
        let t = run(
            futures::stream::iter(chunks(&d, 4096)),
            &mut Broken,
            read_all_then(true),
        )
        .await;
        assert_eq!(t.write.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert!(t.passed.bytes < d.len() as u64);
    }
}
