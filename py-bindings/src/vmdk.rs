//! `ovakit.ova` VMDK functions: inspect and convert stream-optimized VMDKs.

use std::path::PathBuf;
use std::sync::Arc;

use ova_core::vmdk::{self, AdapterType, DigestAlgorithm, VmdkWriter};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::cancel::CancelToken;
use crate::conv::to_typed;
use crate::errors;
use crate::runtime::{Callback, Interrupt, run_blocking};

fn adapter(name: &str) -> PyResult<AdapterType> {
    [
        AdapterType::Ide,
        AdapterType::BusLogic,
        AdapterType::LsiLogic,
        AdapterType::LegacyEsx,
    ]
    .into_iter()
    .find(|a| a.as_str().eq_ignore_ascii_case(name))
    .ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown adapter type {name:?} (use ide, buslogic, lsilogic or legacyESX)"
        ))
    })
}

/// What kind of disk image the file at ``path`` holds: ``"sparse_vmdk"``, ``"descriptor_vmdk"``
/// (a text descriptor, not readable here) or ``"raw"``.
#[pyfunction]
fn detect_disk(py: Python<'_>, path: PathBuf) -> PyResult<&'static str> {
    let kind = py
        .detach(|| vmdk::detect_file(&path))
        .map_err(errors::Error::from)?;
    Ok(match kind {
        vmdk::DiskKind::SparseVmdk => "sparse_vmdk",
        vmdk::DiskKind::DescriptorVmdk => "descriptor_vmdk",
        vmdk::DiskKind::Raw => "raw",
    })
}

/// Inspect a stream-optimized VMDK without inflating it: header, embedded descriptor, grain and
/// marker walk, footer, problems a consumer may reject. Returns a ``VmdkInfo``.
///
/// Raises ``OvaError`` when the file is not a readable sparse VMDK.
#[pyfunction]
fn vmdk_info(py: Python<'_>, path: PathBuf) -> PyResult<Py<PyAny>> {
    let info = py
        .detach(|| vmdk::inspect_file(&path))
        .map_err(errors::Error::from)?;
    to_typed(py, "VmdkInfo", &info)
}

/// Convert a raw disk image into a stream-optimized VMDK as VMware writes it (written under a
/// temporary name, renamed on success). Returns a ``VmdkWriteReport`` with ``bytes_written``,
/// ``capacity``, ``grains``, ``populated_bytes`` and ``digest`` (hex, when ``digest`` names an
/// algorithm).
///
/// ``progress(done, total)`` gets the raw bytes read so far and the raw image's size; an exception
/// it raises (or Ctrl-C, or ``cancel.cancel()``) stops the conversion at the next buffer and is
/// re-raised, the temporary file removed and an existing ``vmdk_path`` left as it was.
#[pyfunction]
#[pyo3(signature = (raw, vmdk_path, *, adapter_type = "lsilogic", level = None, threads = None, digest = None, hw_version = None, progress = None, cancel = None))]
#[allow(clippy::too_many_arguments)]
fn raw_to_vmdk(
    py: Python<'_>,
    raw: PathBuf,
    vmdk_path: PathBuf,
    adapter_type: &str,
    level: Option<i32>,
    threads: Option<usize>,
    digest: Option<&str>,
    hw_version: Option<u32>,
    progress: Option<Py<PyAny>>,
    cancel: Option<PyRef<'_, CancelToken>>,
) -> PyResult<Py<PyAny>> {
    let mut writer = VmdkWriter::new().with_adapter(adapter(adapter_type)?);
    if let Some(level) = level {
        writer = writer.with_level(level);
    }
    if let Some(threads) = threads {
        writer = writer.with_threads(threads);
    }
    if let Some(d) = digest {
        writer = writer.with_digest(
            d.parse::<DigestAlgorithm>()
                .map_err(PyValueError::new_err)?,
        );
    }
    if let Some(v) = hw_version {
        writer = writer.with_hw_version(v);
    }
    let total = std::fs::metadata(&raw).ok().map(|m| m.len());
    let interrupt = Interrupt::new(cancel.as_deref());
    let callback = Callback::new(progress, Arc::clone(&interrupt));
    let summary = run_blocking(py, &interrupt, || -> errors::Result<_> {
        Ok(vmdk::raw_to_vmdk(
            &raw,
            &vmdk_path,
            &writer,
            &mut callback.counter_of(total),
        )?)
    })?;
    to_typed(py, "VmdkWriteReport", &summary)
}

/// Convert a stream-optimized VMDK into a raw disk image (written under a temporary name,
/// renamed on success). Returns a ``VmdkReadReport`` of what was read.
///
/// ``progress(done, total)`` gets the bytes of the VMDK read so far and its size; an exception it
/// raises (or Ctrl-C, or ``cancel.cancel()``) stops the conversion at the next buffer and is
/// re-raised, the temporary file removed and an existing ``raw`` left as it was.
#[pyfunction]
#[pyo3(signature = (vmdk_path, raw, *, progress = None, cancel = None))]
fn vmdk_to_raw(
    py: Python<'_>,
    vmdk_path: PathBuf,
    raw: PathBuf,
    progress: Option<Py<PyAny>>,
    cancel: Option<PyRef<'_, CancelToken>>,
) -> PyResult<Py<PyAny>> {
    let total = std::fs::metadata(&vmdk_path).ok().map(|m| m.len());
    let interrupt = Interrupt::new(cancel.as_deref());
    let callback = Callback::new(progress, Arc::clone(&interrupt));
    let summary = run_blocking(py, &interrupt, || -> errors::Result<_> {
        Ok(vmdk::vmdk_to_raw(
            &vmdk_path,
            &raw,
            &mut callback.counter_of(total),
        )?)
    })?;
    to_typed(py, "VmdkReadReport", &summary)
}

/// Register the VMDK functions on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(detect_disk, m)?)?;
    m.add_function(wrap_pyfunction!(vmdk_info, m)?)?;
    m.add_function(wrap_pyfunction!(raw_to_vmdk, m)?)?;
    m.add_function(wrap_pyfunction!(vmdk_to_raw, m)?)?;
    Ok(())
}
