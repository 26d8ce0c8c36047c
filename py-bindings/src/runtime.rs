//! The one process-wide tokio runtime, and how a long call runs on it.
//!
//! A call converts its arguments while it holds the GIL, then [`run`] releases the GIL
//! (`Python::detach`) and drives the future to completion. While it waits it wakes up every
//! [`SIGNAL_POLL`], re-attaches briefly and calls `Python::check_signals`: a pending Ctrl-C makes
//! the future be dropped (which is how the Rust crates cancel and clean up) and the
//! `KeyboardInterrupt` is raised in Python.
//!
//! The three ways to stop a call share one path: a progress callback that raises and a cancelled
//! [`CancelToken`] record their exception in the call's [`Interrupt`], Ctrl-C is found by the
//! same waits (and recorded there too by blocking calls), and the call stops and cleans up the
//! same way whichever it was.

use std::future::Future;
use std::io::{self, Read, Seek};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::Notify;

use crate::cancel::CancelToken;
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

/// A Python exception raised inside a running call (by a progress callback, or recorded by a
/// cancelled [`CancelToken`]), waiting to end it.
///
/// The first exception wins; [`run`] stops the call as soon as one is recorded and re-raises it.
#[derive(Default)]
pub(crate) struct Interrupt {
    err: Mutex<Option<PyErr>>,
    raised: Notify,
}

impl Interrupt {
    /// A fresh, shareable interrupt slot for one call, stopped by `cancel` too when given (at
    /// once if it is already cancelled: the call then raises before doing any work).
    pub(crate) fn new(cancel: Option<&CancelToken>) -> Arc<Self> {
        let interrupt = Arc::new(Self::default());
        if let Some(token) = cancel {
            token.watch(&interrupt);
        }
        interrupt
    }

    /// Record `err` (unless one is already recorded) and wake the waiting call.
    pub(crate) fn raise(&self, err: PyErr) {
        let mut slot = self.err.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(err);
            self.raised.notify_one();
        }
    }

    /// Whether an exception has been recorded (callbacks stop being called after that).
    pub(crate) fn is_raised(&self) -> bool {
        self.err.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn take(&self) -> Option<PyErr> {
        self.err.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    async fn wait(&self) -> PyErr {
        loop {
            self.raised.notified().await;
            if let Some(err) = self.take() {
                return err;
            }
        }
    }
}

/// How a running call is stopped when Ctrl-C arrives or a callback raises.
pub(crate) enum Stop<'a> {
    /// Drop the future: the crate cleans up in `Drop` (or has nothing to clean up).
    Drop,
    /// Ask the crate to stop (e.g. trigger its cancel token), then drive the future to its end so
    /// it can clean up (abort a multipart upload, remove a temp file) before the error is raised.
    Graceful(&'a (dyn Fn() + Sync)),
}

/// Run `fut` on the shared runtime without the GIL, stopping it on a pending signal (Ctrl-C) or
/// when a callback or a [`CancelToken`] records an exception in `interrupt`. An exception
/// recorded before the call (a token cancelled already) is raised without polling `fut`.
///
/// The future runs on the calling thread (tasks it spawns run on the worker threads). The
/// exception that stopped the call is the one returned, even when the crate reports its own
/// "cancelled" error.
pub(crate) fn run<F, T>(py: Python<'_>, interrupt: &Interrupt, stop: Stop<'_>, fut: F) -> Result<T>
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
    if let Some(err) = interrupt.take() {
        return Err(Error::Python(err));
    }
    let rt = runtime()?;
    py.detach(|| {
        rt.block_on(async {
            let mut fut = std::pin::pin!(fut);
            let err = tokio::select! {
                biased;
                out = &mut fut => return out.map_err(|e| interrupt.take().map_or(e, Error::Python)),
                err = interrupt.wait() => err,
                err = interrupted() => err,
            };
            if let Stop::Graceful(stop) = stop {
                stop();
                let _ = fut.await;
            }
            Err(Error::Python(err))
        })
    })
}

/// [`run`] for a call without callbacks that is stopped by dropping it.
pub(crate) fn run_simple<F, T>(py: Python<'_>, fut: F) -> Result<T>
where
    F: Future<Output = Result<T>> + Send,
    T: Send,
{
    run(py, &Interrupt::default(), Stop::Drop, fut)
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

/// Run a blocking (synchronous) crate call without the GIL.
///
/// The call cannot be dropped half-way, so it is stopped from the inside: its progress callback
/// returns `ControlFlow::Break` once Ctrl-C is pending or a callback raised (see [`Watch`] and
/// [`Callback::counter`]), or its reader is wrapped in [`Watched`], which fails the next read
/// then. The recorded exception is then returned instead of the crate's "cancelled" or read
/// error. An exception recorded before the call (a token cancelled already) is raised without
/// calling `f`.
pub(crate) fn run_blocking<T, F>(py: Python<'_>, interrupt: &Interrupt, f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send,
    T: Send,
{
    if let Some(err) = interrupt.take() {
        return Err(Error::Python(err));
    }
    let out = py.detach(f);
    match interrupt.take() {
        Some(err) => Err(Error::Python(err)),
        None => out,
    }
}

/// Tells a blocking crate call, from the inside, that it must stop: a callback or a cancelled
/// [`CancelToken`] raised into the [`Interrupt`], or a signal handler raised (Ctrl-C; checked at
/// most every [`SIGNAL_POLL`], re-attaching briefly, and recorded in the [`Interrupt`] as the
/// exception to re-raise).
pub(crate) struct Watch<'a> {
    interrupt: &'a Interrupt,
    last_check: Instant,
}

impl<'a> Watch<'a> {
    /// Watch on behalf of `interrupt`.
    pub(crate) fn new(interrupt: &'a Interrupt) -> Self {
        Self {
            interrupt,
            last_check: Instant::now(),
        }
    }

    /// Whether the call must stop now.
    pub(crate) fn must_stop(&mut self) -> bool {
        if !self.interrupt.is_raised() && self.last_check.elapsed() >= SIGNAL_POLL {
            self.last_check = Instant::now();
            if let Err(err) = Python::attach(|py| py.check_signals()) {
                self.interrupt.raise(err);
            }
        }
        self.interrupt.is_raised()
    }

    /// [`must_stop`](Self::must_stop) as an ova-core progress answer.
    pub(crate) fn flow(&mut self) -> ControlFlow<()> {
        if self.must_stop() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// A reader that fails once the call must stop (see [`Watch`]), for crate calls that read
/// through a caller's reader.
pub(crate) struct Watched<'a, R> {
    inner: R,
    watch: Watch<'a>,
}

impl<'a, R> Watched<'a, R> {
    /// Watch `inner` on behalf of `interrupt`.
    pub(crate) fn new(inner: R, interrupt: &'a Interrupt) -> Self {
        Self {
            inner,
            watch: Watch::new(interrupt),
        }
    }
}

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.watch.must_stop() {
            return Err(io::Error::other("cancelled from Python"));
        }
        self.inner.read(buf)
    }
}

impl<R: Seek> Seek for Watched<'_, R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// A Python callable invoked from Rust with the GIL held; an exception it raises is recorded in
/// the [`Interrupt`] (which stops the call) and later calls are skipped.
pub(crate) struct Callback {
    func: Option<Py<PyAny>>,
    interrupt: Arc<Interrupt>,
}

impl Callback {
    /// Wrap an optional callable (None: calls do nothing).
    pub(crate) fn new(func: Option<Py<PyAny>>, interrupt: Arc<Interrupt>) -> Self {
        Self { func, interrupt }
    }

    /// Whether an exception has been recorded.
    pub(crate) fn raised(&self) -> bool {
        self.interrupt.is_raised()
    }

    /// Record an exception raised while preparing a call's arguments.
    pub(crate) fn raise(&self, err: PyErr) {
        self.interrupt.raise(err);
    }

    /// An ova-core progress callback: adds up the bytes, calls the Python callable with the
    /// running total as `progress(done)`, and returns `ControlFlow::Break` once the call must
    /// stop (the callable raised, or Ctrl-C is pending; see [`Watch`]).
    pub(crate) fn counter(&self) -> impl FnMut(u64) -> ControlFlow<()> + '_ {
        self.counting(|done| (done,))
    }

    /// [`counter`](Self::counter) calling `progress(done, total)`.
    pub(crate) fn counter_of(&self, total: Option<u64>) -> impl FnMut(u64) -> ControlFlow<()> + '_ {
        self.counting(move |done| (done, total))
    }

    /// The progress callback of [`counter`](Self::counter), with the call's arguments made from
    /// the running total by `args`.
    fn counting<'s, A>(
        &'s self,
        args: impl Fn(u64) -> A + 's,
    ) -> impl FnMut(u64) -> ControlFlow<()> + 's
    where
        A: for<'py> pyo3::call::PyCallArgs<'py>,
    {
        let mut watch = Watch::new(&self.interrupt);
        let mut done = 0u64;
        move |n| {
            done += n;
            self.call(args(done));
            watch.flow()
        }
    }

    /// Call it with `args` unless an exception was already recorded.
    pub(crate) fn call<A>(&self, args: A)
    where
        A: for<'py> pyo3::call::PyCallArgs<'py>,
    {
        let Some(func) = &self.func else { return };
        if self.interrupt.is_raised() {
            return;
        }
        Python::attach(|py| {
            if let Err(err) = func.call1(py, args) {
                self.interrupt.raise(err);
            }
        });
    }
}
