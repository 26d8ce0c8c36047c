//! `ovakit.CancelToken`: stops running calls from any thread.
//!
//! A token remembers the [`Interrupt`] of every call it was given while that call runs (weakly:
//! a finished call's slot is dropped the next time the token is handed to a call).
//! [`CancelToken::cancel`] records a [`CancelledError`] in each of them, which is how a
//! raising progress callback already stops a call: [`run`](crate::runtime::run) wakes up and
//! stops the future, a blocking call stops at its next buffer. A token cancelled before the
//! call starts makes the call raise at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use pyo3::PyErr;
use pyo3::prelude::*;

use crate::runtime::Interrupt;

pyo3::import_exception!(ovakit.exceptions, CancelledError);

/// The exception a call stopped by its token raises.
fn cancelled_error() -> PyErr {
    CancelledError::new_err("the call was cancelled by its CancelToken")
}

/// A cancellation token for long calls: ``token = CancelToken()``, pass ``cancel=token`` to
/// calls, then ``token.cancel()`` from any thread (another thread, a GUI callback, a signal
/// handler) stops every running call given that token: each raises ``CancelledError`` after
/// cleaning up as on Ctrl-C (no temporary file, no half-written output, multipart uploads
/// aborted). A call given a token that is already cancelled raises at once without doing any
/// work. A token stays cancelled; use a new one for new calls.
#[pyclass(module = "ovakit", name = "CancelToken", frozen)]
#[derive(Default)]
pub(crate) struct CancelToken {
    cancelled: AtomicBool,
    /// The interrupts of the calls given this token (guarded together with `cancelled`).
    calls: Mutex<Vec<Weak<Interrupt>>>,
}

impl CancelToken {
    /// Stop the call behind `interrupt` when the token is cancelled (now, if it already is).
    pub(crate) fn watch(&self, interrupt: &Arc<Interrupt>) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if self.cancelled.load(Ordering::SeqCst) {
            drop(calls);
            interrupt.raise(cancelled_error());
            return;
        }
        calls.retain(|c| c.strong_count() > 0);
        calls.push(Arc::downgrade(interrupt));
    }
}

#[pymethods]
impl CancelToken {
    /// A token not cancelled yet.
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Cancel every running call given this token, and every later one (idempotent; safe
    /// from any thread).
    fn cancel(&self) {
        let calls = {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            if self.cancelled.swap(true, Ordering::SeqCst) {
                return;
            }
            std::mem::take(&mut *calls)
        };
        for interrupt in calls.iter().filter_map(Weak::upgrade) {
            interrupt.raise(cancelled_error());
        }
    }

    /// Whether ``cancel()`` has been called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    fn __repr__(&self) -> String {
        let state = if self.cancelled() { "True" } else { "False" };
        format!("CancelToken(cancelled={state})")
    }
}

/// Register `CancelToken` on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<CancelToken>()
}
