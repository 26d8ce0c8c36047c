//! What the libraries log, on the tools' standard error when asked: `OVAKIT_LOG=warn` (or
//! `error`, `info`, `debug`, `trace`) shows the libraries' `tracing` events at that level and
//! above (an S3 request retried, a damaged part sent again, an upload aborted, a resume refused),
//! one line each, printed above any progress bar. Unset or `off`, nothing is shown: the tools
//! report what matters themselves.

use std::io::Write;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The environment variable naming the level.
pub const LOG_ENV: &str = "OVAKIT_LOG";

/// Installs the logger `OVAKIT_LOG` asks for; `tool` prefixes the complaint about a value that
/// is not a level (which then shows nothing).
pub fn init(tool: &str) {
    let Some(level) = std::env::var_os(LOG_ENV) else {
        return;
    };
    let level = level.to_string_lossy();
    let filter = match level.trim().parse::<LevelFilter>() {
        Ok(f) => f,
        Err(_) => {
            eprintln!(
                "{tool}: {LOG_ENV}={level:?} is not one of off, error, warn, info, debug, trace; \
                 nothing is logged"
            );
            return;
        }
    };
    if filter == LevelFilter::OFF {
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_writer(AboveBars)
        .try_init();
}

/// Writes each event as one line above the progress bars (see
/// [`crate::progress::above_bars`]).
struct AboveBars;

impl<'a> MakeWriter<'a> for AboveBars {
    type Writer = EventLine;

    fn make_writer(&'a self) -> EventLine {
        EventLine(Vec::new())
    }
}

/// One event's text, printed when the formatter is done with it.
struct EventLine(Vec<u8>);

impl Write for EventLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventLine {
    fn drop(&mut self) {
        let line = std::mem::take(&mut self.0);
        crate::progress::above_bars(|| {
            let _ = std::io::stderr().lock().write_all(&line);
        });
    }
}
