//! Pieces shared by the command-line tools of this package (`ova`, `s3copy`, `cloudstack`,
//! `pipeline`).
//!
//! [`progress`] is the one progress display they all use: bytes done, rate and time left for work
//! that moves bytes, a spinner with a status text for waits, drawn on standard error only when it
//! is a terminal. [`log`] shows what the libraries log when `OVAKIT_LOG` asks for it.

pub mod log;
pub mod progress;
