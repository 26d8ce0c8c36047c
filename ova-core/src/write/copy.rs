//! The crate's one hashing pipeline: the calling thread reads (and writes, for a copy) while a
//! hashing thread hashes the buffers it is handed, so a pass runs at the speed of the slower
//! of the two. [`copy_hashed`] (repack, pack, build, extract) and
//! [`crate::manifest::verify_stream`] both drive it; buffers circulate between the two
//! threads, so memory stays at `COPY_BUFS × COPY_BUF`.

use std::io::{self, Read, Write};
use std::ops::ControlFlow;

use crate::manifest::{Algorithm, Digests, Hasher};
use crate::progress::Progress;

/// Size of the buffers of the hashed copy pipeline.
const COPY_BUF: usize = 1 << 20;
/// Number of buffers in flight.
const COPY_BUFS: usize = 8;
/// Copy everything from `source` to `out`, hashing with `algorithms`; returns the byte count and
/// digests. Without algorithms this is a plain buffered copy; with them, the calling thread
/// reads and writes while a hashing thread hashes (see the module docs).
///
/// `progress` is called after each buffer (1 MiB) is written. When it returns
/// [`ControlFlow::Break`], the copy stops there and returns `Ok(ControlFlow::Break(()))`: `out`
/// then holds a prefix of the data (callers discard it).
///
/// ```
/// use std::ops::ControlFlow;
/// use ova_core::manifest::Algorithm;
/// use ova_core::write::copy_hashed;
///
/// let data = vec![1u8; 3 << 20];
/// let mut out = Vec::new();
/// let copy = copy_hashed(&mut &data[..], &mut out, &[Algorithm::Sha256], &mut ova_core::no_progress)?;
/// let ControlFlow::Continue((n, digests)) = copy else { unreachable!() };
/// assert_eq!(n, data.len() as u64);
/// assert_eq!(digests[&Algorithm::Sha256], Algorithm::Sha256.digest(&data));
///
/// // Stopped after the first buffer.
/// let mut out = Vec::new();
/// let copy = copy_hashed(&mut &data[..], &mut out, &[], &mut |_| ControlFlow::Break(()))?;
/// assert!(copy.is_break());
/// assert!(out.len() < data.len());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// The first I/O error of the reader or the writer.
pub fn copy_hashed<R: Read + Send, W: Write + ?Sized>(
    source: &mut R,
    out: &mut W,
    algorithms: &[Algorithm],
    progress: Progress<'_>,
) -> io::Result<ControlFlow<(), (u64, Digests)>> {
    if algorithms.is_empty() {
        let mut buf = vec![0u8; COPY_BUF];
        let mut total = 0u64;
        loop {
            let n = match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            out.write_all(&buf[..n])?;
            total += n as u64;
            if progress(n as u64).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        return Ok(ControlFlow::Continue((total, Digests::new())));
    }
    let lost = || io::Error::other("the hashing thread stopped");
    // Leaving the scope drops the job sender: the hashing thread ends and is joined.
    std::thread::scope(|scope| {
        let (jobs, hashed) = hashing_thread(scope);
        let hashers = algorithms.iter().map(|a| a.hasher()).collect();
        jobs.send(HashJob::Begin(hashers)).map_err(|_| lost())?;
        let mut total = 0u64;
        loop {
            let mut buf = hashed.free.recv().map_err(|_| lost())?;
            let n = match source.read(&mut buf) {
                Ok(0) => {
                    let _ = hashed.free_tx.send(buf);
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    let _ = hashed.free_tx.send(buf);
                    continue;
                }
                Err(e) => return Err(e),
            };
            out.write_all(&buf[..n])?;
            jobs.send(HashJob::Data(buf, n)).map_err(|_| lost())?;
            total += n as u64;
            if progress(n as u64).is_break() {
                return Ok(ControlFlow::Break(()));
            }
        }
        jobs.send(HashJob::End).map_err(|_| lost())?;
        let digests = hashed.digests.recv().map_err(|_| lost())?;
        Ok(ControlFlow::Continue((total, digests)))
    })
}

/// What the reading thread asks of the hashing thread.
pub(crate) enum HashJob {
    /// A new entry, hashed with these.
    Begin(Vec<Hasher>),
    /// The next bytes of the entry (the buffer is handed back when hashed).
    Data(Vec<u8>, usize),
    /// The entry is complete: send its digests.
    End,
}

/// The reading thread's side of the hashing thread.
pub(crate) struct Hashed {
    /// Empty buffers to read into.
    pub(crate) free: std::sync::mpsc::Receiver<Vec<u8>>,
    /// To hand back a buffer that was not used.
    pub(crate) free_tx: std::sync::mpsc::SyncSender<Vec<u8>>,
    /// The digests of each entry, in order.
    pub(crate) digests: std::sync::mpsc::Receiver<Digests>,
}

/// Start the hashing thread in `scope`; it ends when the job sender is dropped.
pub(crate) fn hashing_thread<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
) -> (std::sync::mpsc::SyncSender<HashJob>, Hashed) {
    use std::sync::mpsc::sync_channel;
    let (job_tx, job_rx) = sync_channel::<HashJob>(COPY_BUFS + 2);
    let (free_tx, free_rx) = sync_channel::<Vec<u8>>(COPY_BUFS);
    let (digest_tx, digest_rx) = sync_channel::<Digests>(1);
    for _ in 0..COPY_BUFS {
        let _ = free_tx.send(vec![0u8; COPY_BUF]);
    }
    let give_back = free_tx.clone();
    scope.spawn(move || {
        let mut hashers: Vec<Hasher> = Vec::new();
        for job in job_rx {
            match job {
                HashJob::Begin(h) => hashers = h,
                HashJob::Data(buf, n) => {
                    for h in &mut hashers {
                        h.update(&buf[..n]);
                    }
                    if give_back.send(buf).is_err() {
                        return;
                    }
                }
                HashJob::End => {
                    let digests = std::mem::take(&mut hashers)
                        .into_iter()
                        .map(|h| (h.algorithm(), h.finish()))
                        .collect();
                    if digest_tx.send(digests).is_err() {
                        return;
                    }
                }
            }
        }
    });
    (
        job_tx,
        Hashed {
            free: free_rx,
            free_tx,
            digests: digest_rx,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_copy_matches() {
        let data: Vec<u8> = (0..(3 * COPY_BUF + 17)).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        let mut seen = 0;
        let copy = copy_hashed(
            &mut &data[..],
            &mut out,
            &[Algorithm::Sha256, Algorithm::Sha1],
            &mut |k| {
                seen += k;
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        let ControlFlow::Continue((n, d)) = copy else {
            panic!("not stopped")
        };
        assert_eq!(n, data.len() as u64);
        assert_eq!(seen, n);
        assert_eq!(out, data);
        assert_eq!(d[&Algorithm::Sha256], Algorithm::Sha256.digest(&data));
        assert_eq!(d[&Algorithm::Sha1], Algorithm::Sha1.digest(&data));
    }

    #[test]
    fn hashed_copy_stops_at_the_next_buffer() {
        let data = vec![3u8; 16 * COPY_BUF];
        for algorithms in [&[][..], &[Algorithm::Sha256][..]] {
            let mut out = Vec::new();
            let mut calls = 0;
            let copy = copy_hashed(&mut &data[..], &mut out, algorithms, &mut |_| {
                calls += 1;
                if calls == 2 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap();
            assert!(copy.is_break());
            assert_eq!(calls, 2);
            assert_eq!(out.len(), 2 * COPY_BUF);
        }
    }
}
