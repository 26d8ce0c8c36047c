#![doc = include_str!("../README.md")]

pub mod blocking;
pub mod cancel;
mod checksum;
mod client;
pub mod config;
mod copy;
mod error;
pub mod ledger;
mod options;
pub mod plan;
mod server_copy;
pub mod sigv2;
pub mod sigv4;
mod source;
mod time;
mod tls;
mod upload;
pub mod xml;

pub use crate::time::Timestamp;
pub use cancel::CancelToken;
pub use client::{Client, ObjectInfo};
pub use config::{
    AddressingStyle, ClientBuilder, ConfigKey, PayloadSigning, RetryConfig, SignatureVersion,
};
pub use error::{BoxError, Error, Result, S3Context};
pub use options::{CopyOptions, CopyReport, PartChecksum, Progress, ProgressFn};
pub use plan::{PartLimits, PartPlan};
pub use server_copy::MAX_COPY_OBJECT_SIZE;
pub use sigv4::Credentials;
pub use source::{HttpReader, HttpSource, Source};
pub use tls::http_client;
pub use upload::{ObjectWriter, ResumeRecord, StoredPart, resume_path};
pub use xml::UploadInfo;
