//! `ovakit.disk`: convert disk images between raw, stream-optimized VMDK, QCOW2 and VHD, and
//! describe any of them.

use std::path::PathBuf;
use std::sync::Arc;

use ova_core::disk::{self, ConvertOptions, Format};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::cancel::CancelToken;
use crate::conv::{to_typed, to_typed_one_of};
use crate::errors;
use crate::runtime::{Callback, Interrupt, run_blocking};

fn options(
    dst: &std::path::Path,
    to: Option<&str>,
    compress: bool,
    level: Option<i32>,
    threads: Option<usize>,
) -> PyResult<ConvertOptions> {
    let to = match to {
        Some(t) => t.parse::<Format>().map_err(PyValueError::new_err)?,
        None => Format::from_extension(dst).ok_or_else(|| {
            PyValueError::new_err(format!(
                "cannot tell the output format from {}: pass to='raw', 'vmdk', 'qcow2' or 'vhd'",
                dst.display()
            ))
        })?,
    };
    let mut o = ConvertOptions::new(to).with_compression(compress);
    if let Some(l) = level {
        o = o.with_level(l);
    }
    if let Some(t) = threads {
        o = o.with_threads(t);
    }
    Ok(o)
}

/// Convert the disk image ``src`` (raw, stream-optimized VMDK, QCOW2 or VHD, detected from its
/// content) into ``dst`` in the format ``to`` (``"raw"``, ``"vmdk"``, ``"qcow2"``, ``"vhd"``;
/// default: from ``dst``'s extension), written under a temporary name and renamed on success.
/// ``compress`` stores QCOW2 clusters deflated. Returns a ``ConvertReport`` with ``from_``,
/// ``to``, ``source_size``, ``virtual_size`` and ``bytes_written``.
///
/// ``progress(done, total)`` gets the raw disk bytes converted and the disk's virtual size; an
/// exception it raises (or Ctrl-C, or ``cancel.cancel()``) stops the conversion at the next buffer
/// and is re-raised, the temporary file removed and an existing ``dst`` left as it was.
#[pyfunction]
#[pyo3(signature = (src, dst, *, to = None, compress = false, level = None, threads = None, progress = None, cancel = None))]
#[allow(clippy::too_many_arguments)]
fn disk_convert(
    py: Python<'_>,
    src: PathBuf,
    dst: PathBuf,
    to: Option<&str>,
    compress: bool,
    level: Option<i32>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    cancel: Option<PyRef<'_, CancelToken>>,
) -> PyResult<Py<PyAny>> {
    let options = options(&dst, to, compress, level, threads)?;
    let total = disk::probe_file(&src).ok().and_then(|(_, size)| size);
    let interrupt = Interrupt::new(cancel.as_deref());
    let callback = Callback::new(progress, Arc::clone(&interrupt));
    let summary = run_blocking(py, &interrupt, || -> errors::Result<_> {
        Ok(disk::convert_file(
            &src,
            &dst,
            &options,
            &mut callback.counter_of(total),
        )?)
    })?;
    to_typed(py, "ConvertReport", &summary)
}

/// Convert a disk of the OVA ``ova`` (``disk``: its ovf:diskId; default: the first disk of the
/// first VirtualSystem) into ``dst``, streaming it from the package. Returns an
/// ``OvaConvertReport`` with ``disk`` (which disk and whether it was the default) and
/// ``summary``. Arguments as
/// :func:`convert`.
#[pyfunction]
#[pyo3(signature = (ova, dst, *, to = None, disk = None, compress = false, level = None, threads = None, progress = None, cancel = None))]
#[allow(clippy::too_many_arguments)]
fn disk_convert_ova(
    py: Python<'_>,
    ova: PathBuf,
    dst: PathBuf,
    to: Option<&str>,
    disk: Option<String>,
    compress: bool,
    level: Option<i32>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    cancel: Option<PyRef<'_, CancelToken>>,
) -> PyResult<Py<PyAny>> {
    let options = options(&dst, to, compress, level, threads)?;
    let interrupt = Interrupt::new(cancel.as_deref());
    let callback = Callback::new(progress, Arc::clone(&interrupt));
    let (choice, summary) = run_blocking(py, &interrupt, || -> errors::Result<_> {
        Ok(disk::convert_ova_disk(
            &ova,
            disk.as_deref(),
            &dst,
            &options,
            &mut callback.counter_of(None),
        )?)
    })?;
    to_typed(
        py,
        "OvaConvertReport",
        &serde_json::json!({ "disk": choice, "summary": summary }),
    )
}

/// Check the disk image at ``path`` (raw, VMDK, QCOW2 or VHD) and describe it: a ``RawInfo``,
/// ``VmdkInfo``, ``Qcow2Info`` or ``VhdInfo`` with ``format``, the virtual and file sizes, the
/// format's structure and ``problems``.
///
/// Raises ``OvaError`` when the image is damaged or uses a feature ovakit does not read.
#[pyfunction]
fn disk_info(py: Python<'_>, path: PathBuf) -> PyResult<Py<PyAny>> {
    let info = py
        .detach(|| disk::info_file(&path))
        .map_err(errors::Error::from)?;
    to_typed_one_of(py, &["RawInfo", "VmdkInfo", "Qcow2Info", "VhdInfo"], &info)
}

/// Register the disk functions on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(disk_convert, m)?)?;
    m.add_function(wrap_pyfunction!(disk_convert_ova, m)?)?;
    m.add_function(wrap_pyfunction!(disk_info, m)?)?;
    Ok(())
}
