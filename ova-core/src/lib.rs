#![doc = include_str!("../README.md")]

pub mod archive;
pub mod build;
pub mod error;
pub mod manifest;
pub mod ovf;
pub mod sign;
pub mod tar;
pub mod validate;
pub mod vmdk;

pub use error::{Error, Result};
