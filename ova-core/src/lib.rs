#![doc = include_str!("../README.md")]

pub mod archive;
pub mod error;
pub mod manifest;
pub mod tar;

pub use error::{Error, Result};
