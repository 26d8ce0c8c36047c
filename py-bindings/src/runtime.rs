//! The one process-wide tokio runtime, and how a long call runs on it.
//!
//! A call converts its arguments while it holds the GIL, then [`run`] releases the GIL
//! (`Python::detach`) and drives the future to completion. While it waits it wakes up every
//! [`SIGNAL_POLL`], re-attaches briefly and calls `Python::check_signals`: a pending Ctrl-C makes
//! the future be dropped (which is how the Rust crates cancel and clean up) and the
//! `KeyboardInterrupt` is raised in Python.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::{Builder, Runtime};

use crate::errors::{Error, Result};

/// How often a waiting call looks for pending signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process-wide multi-threaded runtime, built on first use.
pub(crate) fn runtime() -> PyResult<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = Builder::new_multi_thread()
        .enable_all()
        .thread_name("ovakit-worker")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the ovakit runtime: {e}")))?;
    // Another thread may have won the race; its runtime is used and ours is dropped.
    Ok(RUNTIME.get_or_init(|| rt))
}

/// Run `fut` on the shared runtime without the GIL, cancelling it on a pending signal.
///
/// The future runs on the calling thread (tasks it spawns run on the worker threads). When a
/// signal handler raises (Ctrl-C → `KeyboardInterrupt`), the future is dropped and the exception
/// is returned.
pub(crate) fn run<F, T>(py: Python<'_>, fut: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send,
    T: Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PyRuntimeError::new_err(
            "ovakit calls cannot be nested inside a running ovakit call (e.g. from a progress callback)",
        )
        .into());
    }
    let rt = runtime()?;
    py.detach(|| {
        rt.block_on(async {
            tokio::select! {
                biased;
                err = interrupted() => Err(Error::Python(err)),
                out = fut => out,
            }
        })
    })
}

/// Resolves with the exception raised by a signal handler, polling every [`SIGNAL_POLL`].
async fn interrupted() -> PyErr {
    let mut tick = tokio::time::interval(SIGNAL_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = Python::attach(|py| py.check_signals()) {
            return err;
        }
    }
}
