//! VHD (Virtual PC / Hyper-V / XenServer), dynamic written, fixed and dynamic read: the
//! XenServer template format.
//!
//! - [`VhdWriter`] turns raw disk bytes from any [`Read`](std::io::Read) into a dynamic VHD
//!   as qemu-img writes it, leaving all-zero blocks unallocated.
//! - [`VhdReader`] checks an image's footer, header and BAT and reads it back as the raw disk.
//! - [`layout`] holds the pure on-disk structures (footer, dynamic header, geometry).

pub mod layout;
mod reader;
mod writer;

pub use reader::{VhdInfo, VhdReader};
pub use writer::{VhdSummary, VhdWriter};
