#![doc = include_str!("../README.md")]

pub mod blocking;
pub mod calls;
pub mod cancel;
mod client;
pub mod command;
pub mod config;
mod error;
pub mod job;
pub mod paginate;
mod params;
pub mod response;
pub mod retry;
pub mod sign;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod template;
mod tls;
pub mod types;

pub use cancel::CancelToken;
pub use client::{Client, ListStream, ProgressFn, no_progress};
pub use config::{ClientBuilder, ConfigKey};
pub use error::{BoxError, Error, Result};
pub use params::Params;
