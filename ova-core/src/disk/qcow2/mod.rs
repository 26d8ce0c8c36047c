//! QCOW2 (version 3 written, 2 and 3 read): the KVM template format.
//!
//! - [`Qcow2Writer`] turns raw disk bytes from any [`Read`](std::io::Read) into an image,
//!   leaving zero clusters unallocated and optionally compressing clusters on every core.
//! - [`Qcow2Reader`] checks an image's tables and reads it back as the raw disk.
//! - [`layout`] holds the pure on-disk structures and the encoder that plans an image.

pub mod layout;
mod reader;
mod writer;

pub use reader::{Qcow2Info, Qcow2Reader};
pub use writer::{Qcow2Summary, Qcow2Writer};
