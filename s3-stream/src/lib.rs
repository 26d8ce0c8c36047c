#![doc = include_str!("../README.md")]

pub mod blocking;
mod checksum;
mod client;
pub mod config;
mod copy;
mod error;
pub mod ledger;
pub mod plan;
pub mod sigv2;
pub mod sigv4;
mod source;
mod time;
mod tls;
pub mod xml;

pub use crate::time::Timestamp;
pub use client::{Client, ObjectInfo};
pub use config::{
    AddressingStyle, ClientBuilder, ConfigKey, PayloadSigning, RetryConfig, SignatureVersion,
};
pub use copy::{CancelToken, CopyOptions, CopyReport, PartChecksum, Progress, ProgressFn};
pub use error::{BoxError, Error, Result, S3Context};
pub use plan::{PartLimits, PartPlan};
pub use sigv4::Credentials;
pub use source::{HttpSource, Source};
pub use xml::UploadInfo;
