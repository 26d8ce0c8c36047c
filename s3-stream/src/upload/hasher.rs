//! Whole-stream MD5/SHA-256 in stream order, on a thread of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use md5::{Digest, Md5};
use sha2::Sha256;
use tokio::sync::OwnedSemaphorePermit;

type HashMsg = (u32, Bytes, Option<Arc<OwnedSemaphorePermit>>);

/// Whole-stream MD5/SHA-256 in stream order, on its own thread, fed parts that may arrive out of
/// order (file sources read parts in parallel). Holding a part's permit while it waits keeps the
/// memory bound.
pub(crate) struct OrderedHasher {
    tx: Option<std::sync::mpsc::Sender<HashMsg>>,
    handle: tokio::task::JoinHandle<(Option<String>, Option<String>)>,
}

impl OrderedHasher {
    pub(crate) fn start(md5: bool, sha256: bool) -> Option<Self> {
        if !md5 && !sha256 {
            return None;
        }
        let (tx, rx) = std::sync::mpsc::channel::<HashMsg>();
        let handle = tokio::task::spawn_blocking(move || {
            let mut m = md5.then(Md5::new);
            let mut s = sha256.then(Sha256::new);
            let mut pending: BTreeMap<u32, Bytes> = BTreeMap::new();
            let mut permits: BTreeMap<u32, Option<Arc<OwnedSemaphorePermit>>> = BTreeMap::new();
            let mut next = 1u32;
            while let Ok((n, b, p)) = rx.recv() {
                pending.insert(n, b);
                permits.insert(n, p);
                while let Some(b) = pending.remove(&next) {
                    if let Some(m) = &mut m {
                        m.update(&b);
                    }
                    if let Some(s) = &mut s {
                        s.update(&b);
                    }
                    permits.remove(&next);
                    next += 1;
                }
            }
            (
                m.map(|m| hex::encode(m.finalize())),
                s.map(|s| hex::encode(s.finalize())),
            )
        });
        Some(Self {
            tx: Some(tx),
            handle,
        })
    }

    pub(crate) fn feed(&self, n: u32, b: Bytes, p: Option<Arc<OwnedSemaphorePermit>>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send((n, b, p));
        }
    }

    pub(crate) async fn finish(mut self) -> (Option<String>, Option<String>) {
        self.tx = None;
        self.handle.await.unwrap_or((None, None))
    }
}
