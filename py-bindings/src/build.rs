//! `ovakit.ova.build_ova`: a complete OVA from a raw disk or a stream-optimized VMDK.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use ova_core::build::{self, BuildOptions, DiskController};
use ova_core::manifest::Algorithm;
use ova_core::sign::SigningKey;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::cancel::CancelToken;
use crate::conv::to_typed;
use crate::errors::Error;
use crate::runtime::{Callback, Interrupt, run_blocking};

/// Build an OVA at ``output`` from the disk image at ``disk`` (raw: converted to a
/// stream-optimized VMDK on the way in; or a stream-optimized VMDK, copied as is).
///
/// The package holds an OVF 1.0 descriptor for one VM named ``name``, the disk, a manifest
/// (``manifest="sha256"``, ``"sha1"``, ``"sha512"`` or None for none) and, with
/// ``signing_key`` (a PEM file; ``certificate`` when the key file lacks it), a ``.cert``.
/// It is written under a temporary name and renamed on success. Returns a ``BuildReport``
/// (``entries``, ``bytes``, ``capacity``, ``manifest``, ``signed_by``...).
///
/// A ``virtual_system_type`` that names no hardware family, or one that cannot carry
/// ``disk_controller`` (``nvme`` at ``vmx-07``), is refused; ``force=True`` builds the latter
/// anyway.
///
/// ``progress(done, total)`` gets the bytes of ``disk`` read so far and its size; an exception it
/// raises (or Ctrl-C, or ``cancel.cancel()``) stops the build at the next buffer and is re-raised,
/// the temporary file removed and an existing ``output`` left as it was.
#[pyfunction]
#[pyo3(signature = (disk, output, name, *, os_type = None, cpus = None, memory_mb = None, network = None, virtual_system_type = None, disk_controller = None, product = None, version = None, vendor = None, properties = None, manifest = Some("sha256"), signing_key = None, certificate = None, passphrase = None, compression_level = None, mtime = None, force = false, progress = None, cancel = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_ova(
    py: Python<'_>,
    disk: PathBuf,
    output: PathBuf,
    name: &str,
    os_type: Option<String>,
    cpus: Option<u32>,
    memory_mb: Option<u64>,
    network: Option<String>,
    virtual_system_type: Option<String>,
    disk_controller: Option<&str>,
    product: Option<String>,
    version: Option<String>,
    vendor: Option<String>,
    properties: Option<BTreeMap<String, String>>,
    manifest: Option<&str>,
    signing_key: Option<PathBuf>,
    certificate: Option<PathBuf>,
    passphrase: Option<Vec<u8>>,
    compression_level: Option<i32>,
    mtime: Option<u64>,
    force: bool,
    progress: Option<Py<PyAny>>,
    cancel: Option<PyRef<'_, CancelToken>>,
) -> PyResult<Py<PyAny>> {
    let mut b = BuildOptions::builder(name);
    if let Some(v) = os_type {
        b = b.with_os_type(v);
    }
    if let Some(v) = cpus {
        b = b.with_cpus(v);
    }
    if let Some(v) = memory_mb {
        b = b.with_memory_mb(v);
    }
    if let Some(v) = network {
        b = b.with_network(v);
    }
    if let Some(v) = virtual_system_type {
        b = b.with_virtual_system_type(v);
    }
    if let Some(v) = disk_controller {
        b = b.with_disk_controller(v.parse::<DiskController>().map_err(PyValueError::new_err)?);
    }
    if product.is_some() || version.is_some() {
        b = b.with_product(product.unwrap_or_default(), version.unwrap_or_default());
    }
    if let Some(v) = vendor {
        b = b.with_vendor(v);
    }
    for (k, v) in properties.unwrap_or_default() {
        b = b.with_property(k, v);
    }
    let alg = manifest
        .map(|m| m.parse::<Algorithm>().map_err(PyValueError::new_err))
        .transpose()?;
    b = b.with_manifest(alg);
    if let Some(key) = signing_key {
        let key = py
            .detach(|| SigningKey::from_files(&key, certificate.as_deref(), passphrase.as_deref()))
            .map_err(Error::from)?;
        b = b.with_signing_key(key);
    }
    if let Some(v) = compression_level {
        b = b.with_compression_level(v);
    }
    if let Some(v) = mtime {
        b = b.with_mtime(v);
    }
    let options = b
        .with_allow_incompatible_hardware(force)
        .build()
        .map_err(Error::from)?;
    let total = std::fs::metadata(&disk).ok().map(|m| m.len());
    let interrupt = Interrupt::new(cancel.as_deref());
    let callback = Callback::new(progress, Arc::clone(&interrupt));
    let report = run_blocking(py, &interrupt, || {
        Ok(build::build_ova(
            &disk,
            &output,
            &options,
            &mut callback.counter_of(total),
        )?)
    })?;
    to_typed(py, "BuildReport", &report)
}
