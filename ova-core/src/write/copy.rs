//! The hashed copy: one pipeline that reads, hashes and writes on overlapping threads.

use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::sync::mpsc;

use crate::manifest::{Algorithm, Digests, Hasher};
use crate::progress::Progress;

/// Size of the buffers of the hashed copy pipeline.
const COPY_BUF: usize = 1 << 20;
/// Number of buffers in flight.
const COPY_BUFS: usize = 8;
/// Copy everything from `source` to `out`, hashing with `algorithms`; returns the byte count and
/// digests. Without algorithms this is a plain buffered copy; with them, a reader thread, a
/// hashing thread and the calling (writing) thread overlap.
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
    let hashers: Vec<Hasher> = algorithms.iter().map(|a| a.hasher()).collect();
    std::thread::scope(|s| {
        let (free_tx, free_rx) = mpsc::sync_channel::<Vec<u8>>(COPY_BUFS);
        let (read_tx, read_rx) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(COPY_BUFS);
        let (hashed_tx, hashed_rx) = mpsc::sync_channel::<io::Result<(Vec<u8>, usize)>>(COPY_BUFS);
        for _ in 0..COPY_BUFS {
            let _ = free_tx.send(vec![0u8; COPY_BUF]);
        }
        s.spawn(move || {
            while let Ok(mut buf) = free_rx.recv() {
                let r = loop {
                    match source.read(&mut buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other,
                    }
                };
                match r {
                    Ok(0) => break,
                    Ok(n) => {
                        if read_tx.send(Ok((buf, n))).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = read_tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let hasher = s.spawn(move || {
            let mut hashers = hashers;
            for item in read_rx {
                if let Ok((buf, n)) = &item {
                    for h in &mut hashers {
                        h.update(&buf[..*n]);
                    }
                }
                let failed = item.is_err();
                if hashed_tx.send(item).is_err() || failed {
                    break;
                }
            }
            hashers
        });
        let mut total = 0u64;
        let mut result = Ok(ControlFlow::Continue(()));
        // Leaving this loop drops `hashed_rx`: the hashing thread's next send fails, it stops
        // and drops `read_rx`, and then the reader thread stops too.
        for item in hashed_rx {
            match item {
                Ok((buf, n)) => {
                    if let Err(e) = out.write_all(&buf[..n]) {
                        result = Err(e);
                        break;
                    }
                    total += n as u64;
                    if progress(n as u64).is_break() {
                        result = Ok(ControlFlow::Break(()));
                        break;
                    }
                    let _ = free_tx.send(buf);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(free_tx);
        let hashers = hasher
            .join()
            .map_err(|_| io::Error::other("hashing thread panicked"))?;
        if result?.is_break() {
            return Ok(ControlFlow::Break(()));
        }
        let digests = hashers
            .into_iter()
            .map(|h| (h.algorithm(), h.finish()))
            .collect();
        Ok(ControlFlow::Continue((total, digests)))
    })
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
