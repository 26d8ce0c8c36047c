//! The native part of the `ovakit` Python package (`ovakit._ovakit`).
//!
//! This file only registers classes and functions; each capability lives in its own module and
//! every behaviour lives in the Rust crates. The Python modules `ovakit.ova`, `ovakit.disk`,
//! `ovakit.cloudstack` and `ovakit.s3` re-export what is registered here.

use pyo3::prelude::*;

mod build;
mod cancel;
mod cloudstack;
mod conv;
mod disk;
mod errors;
mod ova;
mod ovf;
mod runtime;
mod s3;
mod vmdk;

/// The native module; import `ovakit` instead.
#[pymodule]
fn _ovakit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    cancel::register(m)?;
    ova::register(m)?;
    vmdk::register(m)?;
    disk::register(m)?;
    cloudstack::register(m)?;
    s3::register(m)?;
    Ok(())
}
