#![doc = include_str!("../README.md")]

pub mod archive;
pub mod build;
pub mod content;
pub mod disk;
pub mod error;
pub mod finding;
pub mod inplace;
pub mod magic;
pub mod manifest;
pub mod ovf;
pub mod package;
pub mod progress;
pub mod sign;
pub mod tar;
pub mod validate;
pub mod vmdk;
pub mod write;

pub use error::{Error, Result};
pub use progress::{CancelToken, Progress, no_progress};
