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
//! Callers that do not watch pass [`no_progress`].
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

use std::ops::ControlFlow;

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
