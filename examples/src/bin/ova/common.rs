//! Shared pieces of the `ova` subcommands: edit flags, progress bars, Ctrl-C, errors and exit
//! codes.

use std::error::Error as _;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use examples::progress::{Bar, Display};
use ova_core::ovf::Edit;

/// Descriptor edit flags shared by `repack` and `edit`.
#[derive(Debug, Args, Default)]
pub(crate) struct EditFlags {
    /// Set vssd:VirtualSystemType (for example vmx-07).
    #[arg(long, value_name = "vmx-NN")]
    pub(crate) set_virtual_system_type: Option<String>,
    /// Set the number of virtual CPUs.
    #[arg(long, value_name = "N")]
    pub(crate) cpus: Option<u64>,
    /// Set the memory size in MiB.
    #[arg(long, value_name = "N")]
    pub(crate) memory_mb: Option<u64>,
    /// Set a product property's value (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub(crate) properties: Vec<String>,
    /// Set the VirtualSystem's Name.
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Address the VirtualSystem with this ovf:id (needed when there are several).
    #[arg(long, value_name = "ID")]
    pub(crate) system: Option<String>,
    /// Write the edits even when they leave hardware the VirtualSystemType cannot carry
    /// (SATA, NVMe, E1000e at vmx-07, ...); the problems are printed.
    #[arg(long)]
    pub(crate) force: bool,
}

impl EditFlags {
    /// The edits, in flag order.
    pub(crate) fn edits(&self) -> Result<Vec<Edit>, Failure> {
        let mut edits = Vec::new();
        if let Some(v) = &self.set_virtual_system_type {
            edits.push(Edit::set_virtual_system_type(v.clone()));
        }
        if let Some(n) = self.cpus {
            edits.push(Edit::set_cpus(n));
        }
        if let Some(n) = self.memory_mb {
            edits.push(Edit::set_memory_mib(n));
        }
        for p in &self.properties {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| Failure::usage(format!("--property {p:?}: expected KEY=VALUE")))?;
            edits.push(Edit::set_property(k, v));
        }
        if let Some(n) = &self.name {
            edits.push(Edit::set_name(n.clone()));
        }
        if let Some(id) = &self.system {
            edits = edits.into_iter().map(|e| e.in_system(id.clone())).collect();
        }
        if self.force && !edits.is_empty() {
            edits.push(Edit::AllowIncompatibleHardware);
        }
        Ok(edits)
    }
}

/// Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// Set by the first Ctrl-C once [`watch_ctrl_c`] ran; read by the progress callbacks.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Makes Ctrl-C (SIGINT) stop the running operation cleanly: the first one sets a flag that the
/// progress callbacks turn into `ControlFlow::Break`, so the operation stops at its next buffer,
/// removes its temporary output and the command exits with [`EXIT_INTERRUPTED`]; a second one
/// exits at once with the same code. Without it (or when it cannot be installed) Ctrl-C kills
/// the process as usual.
pub(crate) fn watch_ctrl_c() {
    use signal_hook::consts::SIGINT;
    // The shutdown goes first: on the first Ctrl-C the flag is still false when it looks, and
    // the second action then sets it, arming the shutdown for the next one.
    let shutdown = match signal_hook::flag::register_conditional_shutdown(
        SIGINT,
        i32::from(EXIT_INTERRUPTED),
        &INTERRUPTED,
    ) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("ova: cannot watch Ctrl-C ({e}); it will stop the process at once");
            return;
        }
    };
    if let Err(e) = signal_hook::flag::register(SIGINT, &INTERRUPTED) {
        signal_hook::low_level::unregister(shutdown);
        eprintln!("ova: cannot watch Ctrl-C ({e}); it will stop the process at once");
    }
}

/// `Break` once Ctrl-C was pressed, else `Continue`.
pub(crate) fn go_on() -> ControlFlow<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}

/// A progress callback that advances `bar` and stops the operation after Ctrl-C.
pub(crate) fn ticks(bar: &Bar) -> impl FnMut(u64) -> ControlFlow<()> + '_ {
    move |n| {
        bar.inc(n);
        go_on()
    }
}

/// Like [`ticks`], for a bar whose total is not known in advance (it grows with the count).
pub(crate) fn growing_ticks(bar: &Bar) -> impl FnMut(u64) -> ControlFlow<()> + '_ {
    move |n| {
        bar.inc_growing(n);
        go_on()
    }
}

/// Why a command stopped: a message and an exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// Usage or I/O problem (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }

    /// Stopped by Ctrl-C (exit 130); `what_stays` says what was left behind.
    pub(crate) fn cancelled(what_stays: &str) -> Self {
        Self {
            message: format!("cancelled by Ctrl-C; {what_stays}"),
            code: EXIT_INTERRUPTED,
        }
    }

    pub(crate) fn report(self) -> ExitCode {
        eprintln!("ova: {}", self.message);
        ExitCode::from(self.code)
    }
}

/// What an operation stopped by Ctrl-C leaves: its temporary output is removed and no existing
/// file is replaced.
pub(crate) const NOTHING_LEFT: &str =
    "nothing was left behind (the partial output was removed, existing files are unchanged)";

impl From<ova_core::Error> for Failure {
    fn from(e: ova_core::Error) -> Self {
        if e.is_cancelled() {
            return Self::cancelled(NOTHING_LEFT);
        }
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        Self { message, code: 2 }
    }
}

/// The progress display of this run, set once by `main` from `--quiet`.
static DISPLAY: OnceLock<Display> = OnceLock::new();

/// Chooses the progress display: drawn on a terminal unless `quiet`.
pub(crate) fn set_display(quiet: bool) {
    let _ = DISPLAY.set(Display::new(!quiet));
}

/// The progress display (drawn on a terminal when `main` did not choose otherwise).
pub(crate) fn display() -> Display {
    *DISPLAY.get_or_init(|| Display::new(true))
}

/// A byte progress bar on stderr (see [`examples::progress`]); `total` 0 means "not known yet"
/// (the bar then grows with [`growing_ticks`]).
pub(crate) fn progress(total: u64, what: &str) -> Bar {
    display().bytes(what, Some(total))
}

/// Print a JSON value to stdout.
pub(crate) fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into())
    );
}

/// Prints the hardware findings of the package at `path` (after a forced edit or build: what
/// the target cannot carry, so the user sees what was written anyway).
pub(crate) fn print_hardware_findings(path: &std::path::Path) {
    let Ok(bytes) = ova_core::package::Ova::open(path).and_then(|o| o.descriptor_bytes()) else {
        return;
    };
    for f in ova_core::validate::validate_descriptor(&bytes) {
        if f.code == "hardware-exceeds-virtual-system-type" {
            eprintln!("ova: written anyway (--force): {f}");
        }
    }
}
