//! Watching and stopping long operations: the [`Progress`] callback.
//!
//! Every operation that streams a package or a disk ([`Ova::validate`], [`Ova::repack`],
//! [`Ova::extract`], [`Ova::pack`], [`build_ova`], [`raw_to_vmdk`], [`verify_package`], ...)
//! takes a progress callback. It is called after each buffer (about 1 MiB) with the number of
//! bytes just processed, and its return value decides whether the operation goes on:
//!
//! - [`ControlFlow::Continue`] goes on;
//! - [`ControlFlow::Break`] stops the operation at once (before the next buffer is read, not at
//!   the end) with [`Error::Cancelled`], cleaning up exactly as on any other error: the temporary
//!   output is removed and no existing file is replaced. [`Ova::extract`] says what stays behind
//!   when it is stopped.
//!
//! Callers that do not watch pass [`no_progress`]. To stop an operation from elsewhere (another
//! thread, a Ctrl-C handler), give it a callback watched by a [`CancelToken`]
//! ([`CancelToken::watch`]): these operations work buffer by buffer, so the callback is where
//! they stop.
//!
//! ```
//! use std::ops::ControlFlow;
//! use std::sync::atomic::{AtomicBool, Ordering};
//!
//! use ova_core::vmdk::VmdkWriter;
//!
//! // A flag a Ctrl-C handler (or another thread) sets.
//! let stop = AtomicBool::new(false);
//! let raw = vec![7u8; 8 << 20];
//! let mut seen = 0u64;
//! let result = VmdkWriter::new().write_progress(&raw[..], raw.len() as u64, Vec::new(), &mut |n| {
//!     seen += n;
//!     if seen >= 2 << 20 {
//!         stop.store(true, Ordering::Relaxed); // pretend Ctrl-C was pressed
//!     }
//!     if stop.load(Ordering::Relaxed) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
//! });
//! assert!(matches!(result, Err(ova_core::Error::Cancelled)));
//! assert!(seen < raw.len() as u64);
//!
//! // Without watching:
//! VmdkWriter::new().write_progress(&raw[..], raw.len() as u64, Vec::new(), &mut ova_core::no_progress)?;
//! # Ok::<(), ova_core::Error>(())
//! ```
//!
//! [`Ova::validate`]: crate::package::Ova::validate
//! [`Ova::repack`]: crate::package::Ova::repack
//! [`Ova::extract`]: crate::package::Ova::extract
//! [`Ova::pack`]: crate::package::Ova::pack
//! [`build_ova`]: crate::build::build_ova
//! [`raw_to_vmdk`]: crate::vmdk::raw_to_vmdk
//! [`verify_package`]: crate::sign::verify_package
//! [`Error::Cancelled`]: crate::Error::Cancelled

use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Error, Result};

/// A progress callback: called with the number of bytes just processed (after each buffer, about
/// 1 MiB; it may be called with 0 while an operation works without consuming input, such as
/// writing the zeros of an empty region of a disk, which is still a chance to stop).
///
/// Returning [`ControlFlow::Break`] stops the operation before its next buffer with
/// [`Error::Cancelled`]; the operation then cleans up as on any other error (its temporary
/// output is removed, existing files are left as they were). See the [module
/// documentation](self).
pub type Progress<'a> = &'a mut dyn FnMut(u64) -> ControlFlow<()>;

/// The callback of callers that neither watch nor stop an operation: always goes on.
///
/// ```no_run
/// use ova_core::no_progress;
/// use ova_core::package::Ova;
///
/// let findings = Ova::open("appliance.ova")?.validate(&mut no_progress)?;
/// # Ok::<(), ova_core::Error>(())
/// ```
pub fn no_progress(_: u64) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// Stops operations from anywhere (another thread, a Ctrl-C handler): every callback made by
/// [`CancelToken::watch`] answers [`ControlFlow::Break`] once the token is cancelled, so the
/// operation ends with [`Error::Cancelled`] before its next buffer. Cheap to clone; clones share
/// one state. The same type, with the same methods, stops a copy in `s3-stream` and a wait in
/// `cloudstack-client` (see ARCHITECTURE.md).
///
/// ```
/// use std::ops::ControlFlow;
///
/// use ova_core::CancelToken;
/// use ova_core::vmdk::VmdkWriter;
///
/// let token = CancelToken::new();
/// let stopper = token.clone(); // for a Ctrl-C handler or another thread
/// let raw = vec![7u8; 8 << 20];
/// let mut seen = 0u64;
/// let result = VmdkWriter::new().write_progress(&raw[..], raw.len() as u64, Vec::new(), &mut token.watch(|n| {
///     seen += n;
///     if seen >= 2 << 20 {
///         stopper.cancel(); // as if Ctrl-C was pressed
///     }
///     ControlFlow::Continue(())
/// }));
/// assert!(matches!(result, Err(ova_core::Error::Cancelled)));
/// assert!(seen < raw.len() as u64);
/// ```
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<Node>,
}

#[derive(Default)]
struct Node {
    cancelled: AtomicBool,
    parent: Option<CancelToken>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token cancelled with this one (or on its own): what one operation of many watches, so
    /// that stopping it leaves the others running.
    pub fn child(&self) -> Self {
        Self {
            inner: Arc::new(Node {
                cancelled: AtomicBool::new(false),
                parent: Some(self.clone()),
            }),
        }
    }

    /// Cancels this token and its children. Idempotent.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether this token, or one it is a child of, was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
            || self.inner.parent.as_ref().is_some_and(Self::is_cancelled)
    }

    /// `progress` watched by this token: the callback to give an operation. It calls `progress`
    /// and answers [`ControlFlow::Break`] when either it does or the token is cancelled.
    /// [`no_progress`] watches nothing but the token.
    pub fn watch<'a>(
        &'a self,
        mut progress: impl FnMut(u64) -> ControlFlow<()> + 'a,
    ) -> impl FnMut(u64) -> ControlFlow<()> + 'a {
        move |n| {
            if progress(n).is_break() || self.is_cancelled() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
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

/// Reports `n` bytes; [`Error::Cancelled`] when the callback says stop.
pub(crate) fn report(
    progress: &mut (impl FnMut(u64) -> ControlFlow<()> + ?Sized),
    n: u64,
) -> Result<()> {
    match progress(n) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(Error::Cancelled),
    }
}

/// The copy loop every disk reader shares (VMDK, QCOW2, VHD → raw): fills 1 MiB of raw disk from
/// `read`, which returns how many bytes it gave and how many bytes of the image it has read so
/// far, writes it to `out` (a write failure becomes `write_error`), and reports the image bytes
/// read for it. Returns the image bytes reported.
pub(crate) fn copy_raw<W: std::io::Write + ?Sized>(
    mut read: impl FnMut(&mut [u8]) -> Result<(usize, u64)>,
    out: &mut W,
    progress: &mut (impl FnMut(u64) -> ControlFlow<()> + ?Sized),
    write_error: impl Fn(std::io::Error) -> Error,
) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut reported = 0;
    loop {
        let mut filled = 0;
        let mut image_pos = reported;
        while filled < buf.len() {
            let (n, pos) = read(&mut buf[filled..])?;
            image_pos = pos;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(reported);
        }
        out.write_all(&buf[..filled]).map_err(&write_error)?;
        report(progress, image_pos - reported)?;
        reported = image_pos;
    }
}

/// What a step that may be stopped produced; [`Error::Cancelled`] when its callback stopped it.
pub(crate) fn finished<T>(flow: ControlFlow<(), T>) -> Result<T> {
    match flow {
        ControlFlow::Continue(value) => Ok(value),
        ControlFlow::Break(()) => Err(Error::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watched_callback_breaks_once_its_token_or_a_parent_is_cancelled() {
        let parent = CancelToken::new();
        let token = parent.child();
        let mut calls = 0;
        let mut watched = token.watch(|_| {
            calls += 1;
            ControlFlow::Continue(())
        });
        assert_eq!(watched(1), ControlFlow::Continue(()));
        parent.cancel();
        assert_eq!(watched(1), ControlFlow::Break(()));
        drop(watched);
        assert_eq!(calls, 2, "the caller's callback still sees every report");

        let sibling = CancelToken::new();
        let one = sibling.child();
        one.cancel();
        assert!(one.is_cancelled() && !sibling.is_cancelled());
        assert_eq!(format!("{one:?}"), "CancelToken { cancelled: true }");
    }

    #[test]
    fn a_break_of_the_callback_stops_without_the_token() {
        let token = CancelToken::new();
        let mut watched = token.watch(|n| {
            if n > 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(watched(1), ControlFlow::Continue(()));
        assert_eq!(watched(9), ControlFlow::Break(()));
        assert!(!token.is_cancelled());
        assert!(matches!(report(&mut watched, 9), Err(Error::Cancelled)));
    }
}
