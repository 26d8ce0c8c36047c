//! Stopping a long operation from anywhere: the [`CancelToken`].
//!
//! This is the crate's half of the workspace's progress and cancellation convention (see
//! ARCHITECTURE.md): a copy stops when its progress callback returns [`ControlFlow::Break`],
//! when the token in [`CopyOptions::cancel`] is cancelled (from another task, thread or signal
//! handler, even while the copy waits on the network), or when its future is dropped. The first
//! two end the copy with [`Error::Cancelled`] after the same cleanup as any failure (the
//! multipart upload is aborted and its resume record removed); dropping the future cannot await
//! that cleanup, so the upload is then aborted by a background task of the runtime.
//!
//! [`ControlFlow::Break`]: std::ops::ControlFlow::Break
//! [`CopyOptions::cancel`]: crate::CopyOptions::cancel
//! [`Error::Cancelled`]: crate::Error::Cancelled

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Cancels the operations that watch it. Cheap to clone; clones share one state.
///
/// ```
/// use s3_stream::CancelToken;
///
/// let token = CancelToken::new();
/// let one_copy = token.child();
/// one_copy.cancel(); // stops that copy only
/// assert!(!token.is_cancelled());
/// token.cancel(); // stops everything watching the token or a child of it
/// assert!(token.child().is_cancelled());
/// ```
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<Node>,
}

#[derive(Default)]
struct Node {
    cancelled: AtomicBool,
    wake: Notify,
    parent: Option<CancelToken>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token cancelled with this one (or on its own): what one operation of many watches,
    /// so that stopping it leaves the others running.
    pub fn child(&self) -> Self {
        Self {
            inner: Arc::new(Node {
                parent: Some(self.clone()),
                ..Node::default()
            }),
        }
    }

    /// Cancels this token and its children. Idempotent.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.wake.notify_waiters();
    }

    /// Whether this token, or one it is a child of, was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
            || self.inner.parent.as_ref().is_some_and(Self::is_cancelled)
    }

    /// Resolves once [`CancelToken::is_cancelled`] is true (at once when it already is).
    pub async fn cancelled(&self) {
        match &self.inner.parent {
            None => self.own().await,
            Some(parent) => {
                tokio::select! {
                    () = self.own() => {}
                    () = Box::pin(parent.cancelled()) => {}
                }
            }
        }
    }

    async fn own(&self) {
        loop {
            let woken = self.inner.wake.notified();
            if self.inner.cancelled.load(Ordering::SeqCst) {
                return;
            }
            woken.await;
        }
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_child_wakes_on_its_parent_and_leaves_it_alone() {
        let parent = CancelToken::new();
        let child = parent.child();
        let grandchild = child.child();
        grandchild.cancel();
        assert!(grandchild.is_cancelled() && !child.is_cancelled() && !parent.is_cancelled());

        let waiting = tokio::spawn({
            let c = child.child();
            async move { c.cancelled().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        parent.cancel();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the child wakes when its grandparent is cancelled")
            .unwrap();
        child.cancelled().await; // already cancelled: resolves at once
    }

    #[test]
    fn debug_shows_the_state() {
        let t = CancelToken::new();
        assert_eq!(format!("{t:?}"), "CancelToken { cancelled: false }");
        t.cancel();
        assert_eq!(format!("{t:?}"), "CancelToken { cancelled: true }");
    }
}
