//! `ovakit.ova`: OVA packages — entries, manifests and their verification.

use std::path::PathBuf;
use std::sync::Arc;

use ova_core::archive::{EntryInfo, IndexedArchive};
use ova_core::manifest::{self, Algorithm};
use ova_core::package;
use ova_core::sign::SigningKey;
use ova_core::write::ManifestChoice;
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde_json::{Value, json};

use crate::cancel::CancelToken;
use crate::conv::{name_of, to_typed};
use crate::errors::{self, Result};
use crate::ovf;
use crate::runtime::{Callback, Interrupt, Watch, Watched, run_blocking};

/// Default largest entry [`Ova::read`] loads into memory (64 MiB).
const DEFAULT_READ_MAX: u64 = 64 << 20;

/// An archive entry in the dict form of `ovakit.results.Entry`.
fn entry_value(info: &EntryInfo) -> Value {
    json!({
        "index": info.index,
        "name": info.name,
        "kind": name_of(&info.kind),
        "entry_type": name_of(&info.entry_type),
        "size": info.size,
        "header_offset": info.header_offset,
        "data_offset": info.data_offset,
        "header_format": name_of(&info.header_format),
        "mode": info.mode,
        "mtime": info.mtime,
        "problems": info.problems,
        "safe": info.is_safe_regular(),
    })
}

/// An archive entry as an `ovakit.results.Entry`.
fn entry(py: Python<'_>, info: &EntryInfo) -> PyResult<Py<PyAny>> {
    to_typed(py, "Entry", &entry_value(info))
}

/// A parsed manifest as an `ovakit.results.Manifest`.
fn manifest_result(py: Python<'_>, m: &manifest::Manifest) -> PyResult<Py<PyAny>> {
    let lines: Vec<Value> = m
        .lines
        .iter()
        .map(|l| {
            json!({
                "line": l.line,
                "algorithm": l.algorithm.token(),
                "name": l.name,
                "digest": l.digest_hex(),
                "variants": l.variants.iter().map(name_of).collect::<Vec<_>>(),
                "vmware_rejects": l.vmware_rejects(),
            })
        })
        .collect();
    let value = json!({
        "lines": lines,
        "bad_lines": m.bad_lines,
        "missing_final_newline": m.missing_final_newline,
        "duplicate_names": m.duplicate_names(),
    });
    to_typed(py, "Manifest", &value)
}

/// A manifest check's verdict: its problems, one line each (empty when it passed).
fn problems(r: &manifest::VerifyReport) -> Vec<String> {
    let mut problems: Vec<String> = r
        .mismatched
        .iter()
        .map(|m| {
            format!(
                "{}: {} mismatch (manifest {}, computed {})",
                m.name, m.algorithm, m.expected, m.actual
            )
        })
        .collect();
    problems.extend(r.missing.iter().map(|n| format!("{n}: listed but missing")));
    problems.extend(r.unlisted.iter().map(|n| format!("{n}: not listed")));
    problems.extend(r.unchecked.iter().map(|n| format!("{n}: not checked")));
    problems
}

/// A manifest check as an `ovakit.results.VerifyReport`.
fn verify_report(py: Python<'_>, r: &manifest::VerifyReport) -> PyResult<Py<PyAny>> {
    let mismatched: Vec<Value> = r
        .mismatched
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "algorithm": m.algorithm.token(),
                "expected": m.expected,
                "actual": m.actual,
            })
        })
        .collect();
    let value = json!({
        "manifest_name": r.manifest_name,
        "matched": r.matched,
        "mismatched": mismatched,
        "missing": r.missing,
        "unlisted": r.unlisted,
        "unchecked": r.unchecked,
        "ok": r.is_ok(),
        "problems": problems(r),
    });
    to_typed(py, "VerifyReport", &value)
}

/// Hash every entry of the archive at `path` in one pass and compare with its manifest.
fn check_path(
    py: Python<'_>,
    path: PathBuf,
    fallback: Vec<Algorithm>,
    progress: Option<Py<PyAny>>,
    cancel: Option<&CancelToken>,
) -> Result<Option<(manifest::Manifest, manifest::VerifyReport)>> {
    let interrupt = Interrupt::new(cancel);
    let callback = Callback::new(progress, Arc::clone(&interrupt));
    run_blocking(py, &interrupt, || {
        let file = std::fs::File::open(&path).map_err(|source| ova_core::Error::Io {
            path: path.clone(),
            source,
        })?;
        let total = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        // The reader also stops a pipe whose writer stalls; the counter stops between buffers.
        let reader = Watched::new(std::io::BufReader::with_capacity(1 << 20, file), &interrupt);
        let out = manifest::verify_stream(reader, &fallback, callback.counter_of(total))?;
        Ok(out)
    })
}

fn parse_algorithms(names: Option<Vec<String>>) -> PyResult<Vec<Algorithm>> {
    match names {
        None => Ok(vec![Algorithm::Sha256]),
        Some(names) => names
            .iter()
            .map(|n| n.parse::<Algorithm>().map_err(PyValueError::new_err))
            .collect(),
    }
}

fn mismatch_error(py: Python<'_>, path: &str, report: &manifest::VerifyReport) -> PyErr {
    let problems = problems(report);
    let mut message = format!(
        "{path}: manifest check failed ({} problem{})",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in &problems {
        message.push_str("\n  ");
        message.push_str(p);
    }
    let err = errors::ManifestMismatchError::new_err((
        message,
        path.to_owned(),
        report.manifest_name.clone(),
        problems,
    ));
    match verify_report(py, report) {
        Ok(report) => {
            let _ = err.value(py).setattr("report", report);
            err
        }
        Err(e) => e,
    }
}

/// Verify, raising for a missing manifest or any mismatch.
fn verify_path(
    py: Python<'_>,
    path: PathBuf,
    fallback: Vec<Algorithm>,
    progress: Option<Py<PyAny>>,
    cancel: Option<&CancelToken>,
) -> PyResult<Py<PyAny>> {
    let shown = path.display().to_string();
    let out = check_path(py, path, fallback, progress, cancel)?;
    raise_unless_ok(py, &shown, out.map(|(_, r)| r))
}

/// The report, or the exception for a missing manifest or any mismatch.
fn raise_unless_ok(
    py: Python<'_>,
    shown: &str,
    report: Option<manifest::VerifyReport>,
) -> PyResult<Py<PyAny>> {
    let shown = shown.to_owned();
    match report {
        None => Err(errors::OvaError::new_err((
            format!("{shown}: the package has no manifest"),
            shown,
        ))),
        Some(report) if report.is_ok() => verify_report(py, &report),
        Some(report) => Err(mismatch_error(py, &shown, &report)),
    }
}

/// An OVA package opened for reading: its entry table, read once.
///
/// Open with ``Ova.open(path)``. Entry data is read on demand.
#[pyclass(module = "ovakit.ova", frozen)]
pub(crate) struct Ova {
    inner: package::Ova,
}

impl Ova {
    fn archive(&self) -> &IndexedArchive {
        self.inner.archive()
    }

    fn check(
        &self,
        py: Python<'_>,
        progress: Option<Py<PyAny>>,
        cancel: Option<&CancelToken>,
    ) -> PyResult<Option<manifest::VerifyReport>> {
        let interrupt = Interrupt::new(cancel);
        let callback = Callback::new(progress, Arc::clone(&interrupt));
        let total = self.archive().index().len;
        Ok(run_blocking(py, &interrupt, || {
            let out = self
                .inner
                .verify_manifest(&mut callback.counter_of(Some(total)))?;
            Ok(out.map(|(_, r)| r))
        })?)
    }

    fn entry_info(&self, name: &str) -> PyResult<&EntryInfo> {
        self.archive()
            .index()
            .get(name)
            .ok_or_else(|| PyKeyError::new_err(name.to_owned()))
    }
}

#[pymethods]
impl Ova {
    /// Open an OVA file and read its entry table (headers only; data is skipped by seeking).
    ///
    /// Raises ``NotFoundError`` when the file does not exist and ``OvaError`` when it is not a
    /// readable tar archive.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py
            .detach(|| package::Ova::open(&path))
            .map_err(errors::Error::from)?;
        Ok(Self { inner })
    }

    /// The archive's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.archive().path().to_path_buf()
    }

    /// Total size of the archive file in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.archive().index().len
    }

    /// Every entry, in archive order.
    #[getter]
    fn entries(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let values: Vec<Value> = self
            .archive()
            .index()
            .entries
            .iter()
            .map(entry_value)
            .collect();
        to_typed(py, "Entry", &values)
    }

    /// The entry names, in archive order.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.archive()
            .index()
            .entries
            .iter()
            .map(|e| e.name.clone())
            .collect()
    }

    /// The first ``.ovf`` descriptor entry, or None.
    #[getter]
    fn descriptor_entry(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.archive()
            .index()
            .descriptor()
            .map(|e| entry(py, e))
            .transpose()
    }

    /// The first ``.mf`` manifest entry, or None.
    #[getter]
    fn manifest_entry(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.archive()
            .index()
            .manifest()
            .map(|e| entry(py, e))
            .transpose()
    }

    /// The first ``.cert`` certificate entry, or None.
    #[getter]
    fn certificate_entry(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.archive()
            .index()
            .certificate()
            .map(|e| entry(py, e))
            .transpose()
    }

    /// Whether the archive starts with the descriptor's own header, as VMware requires.
    #[getter]
    fn descriptor_first(&self) -> bool {
        self.archive().index().descriptor_is_first_block()
    }

    /// How the archive ends (``ArchiveEnd``: ``data_end``, ``zero_blocks``,
    /// ``missing_end_marker``, ``truncated``).
    #[getter]
    fn end(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_typed(py, "ArchiveEnd", &self.archive().index().end)
    }

    /// The parsed OVF descriptor (the first ``.ovf`` entry).
    ///
    /// Raises ``OvaError`` when the package has none and ``OvfError`` when it does not parse.
    #[getter]
    fn descriptor(&self, py: Python<'_>) -> PyResult<ovf::Descriptor> {
        let Some(info) = self.archive().index().descriptor() else {
            return Err(errors::OvaError::new_err((
                format!(
                    "no ovf descriptor found in {}",
                    self.archive().path().display()
                ),
                self.archive().path().display().to_string(),
            )));
        };
        let bytes = py
            .detach(|| self.archive().read_entry(info, 16 << 20))
            .map_err(errors::Error::from)?;
        ovf::Descriptor::parse_bytes(bytes)
    }

    /// The descriptor's disks (``DiskSection``), as ``Disk``.
    #[getter]
    fn disks(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.descriptor(py)?.disks(py)
    }

    /// The descriptor's virtual systems, as ``VirtualSystem``.
    #[getter]
    fn systems(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.descriptor(py)?.systems(py)
    }

    /// The descriptor's product properties, as ``PackageProperty``.
    #[getter]
    fn properties(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.descriptor(py)?.properties(py)
    }

    /// The parsed manifest, or None when the package has none.
    #[getter]
    fn manifest(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let Some(info) = self.archive().index().manifest() else {
            return Ok(None);
        };
        let text = py
            .detach(|| self.archive().read_entry(info, 16 << 20))
            .map_err(errors::Error::from)?;
        Ok(Some(manifest_result(py, &manifest::parse(&text))?))
    }

    /// Read one entry's data into memory (refusing entries larger than ``max_size`` bytes).
    ///
    /// Raises ``KeyError`` for an unknown name and ``OvaError`` when the entry is too large or
    /// cut short.
    #[pyo3(signature = (name, max_size = DEFAULT_READ_MAX))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        max_size: u64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let info = self.entry_info(name)?;
        let data = py
            .detach(|| self.archive().read_entry(info, max_size))
            .map_err(errors::Error::from)?;
        Ok(PyBytes::new(py, &data))
    }

    /// Hash every entry and compare with the manifest, using the manifest's own algorithms;
    /// raise on failure.
    ///
    /// ``progress(done, total)`` is called with the bytes hashed so far and the archive size; an
    /// exception it raises (or Ctrl-C, or ``cancel.cancel()``) stops the check at the next buffer
    /// and is re-raised. The module-level ``verify_manifest(path)`` also works on pipes.
    ///
    /// Returns the ``VerifyReport`` when everything matches. Raises ``ManifestMismatchError``
    /// listing every problem (``.mismatches``, ``.report``), or ``OvaError`` when there is no
    /// manifest.
    #[pyo3(signature = (*, progress = None, cancel = None))]
    fn verify_manifest(
        &self,
        py: Python<'_>,
        progress: Option<Py<PyAny>>,
        cancel: Option<PyRef<'_, CancelToken>>,
    ) -> PyResult<Py<PyAny>> {
        let report = self.check(py, progress, cancel.as_deref())?;
        raise_unless_ok(py, &self.archive().path().display().to_string(), report)
    }

    /// Like ``verify_manifest`` but returns the report (or None without a manifest) instead of
    /// raising on mismatches.
    #[pyo3(signature = (*, progress = None, cancel = None))]
    fn check_manifest(
        &self,
        py: Python<'_>,
        progress: Option<Py<PyAny>>,
        cancel: Option<PyRef<'_, CancelToken>>,
    ) -> PyResult<Option<Py<PyAny>>> {
        self.check(py, progress, cancel.as_deref())?
            .map(|r| verify_report(py, &r))
            .transpose()
    }

    /// Validate the whole package (archive layout, descriptor rules, manifest coverage and
    /// digests); returns the findings, empty for a clean package.
    ///
    /// ``progress(done)`` gets the bytes hashed so far; an exception it raises (or Ctrl-C, or
    /// ``cancel.cancel()``) stops the check at the next buffer and is re-raised.
    #[pyo3(signature = (*, progress = None, cancel = None))]
    fn validate(
        &self,
        py: Python<'_>,
        progress: Option<Py<PyAny>>,
        cancel: Option<PyRef<'_, CancelToken>>,
    ) -> PyResult<Py<PyAny>> {
        let interrupt = Interrupt::new(cancel.as_deref());
        let callback = Callback::new(progress, Arc::clone(&interrupt));
        let findings = run_blocking(py, &interrupt, || {
            Ok(self.inner.validate(&mut callback.counter())?)
        })?;
        ovf::findings(py, &findings)
    }

    /// Verify the package's signature (``.cert``) over its manifest: the signature with the
    /// certificate's key, the certificate's dates and, with ``trust`` (a PEM file of trusted
    /// certificates), the chain. Returns a ``SignatureReport`` (``signature_valid``, ``subject``,
    /// ``expired``, ``chain_trusted``...).
    ///
    /// Raises ``SignatureError`` when the package is unsigned, the ``.cert`` is malformed, or the
    /// signature does not verify. Check the digests themselves with ``verify_manifest``.
    #[pyo3(signature = (*, trust = None))]
    fn verify_signature(&self, py: Python<'_>, trust: Option<PathBuf>) -> PyResult<Py<PyAny>> {
        let index = self.archive().index();
        let shown = self.archive().path().display().to_string();
        let (Some(cert), Some(mf)) = (index.certificate(), index.manifest()) else {
            return Err(errors::SignatureError::new_err((
                format!("{shown}: the package is not signed (no .cert and .mf entries)"),
                shown,
            )));
        };
        let report = py.detach(|| -> errors::Result<_> {
            let store = match &trust {
                Some(path) => {
                    let pem = std::fs::read(path).map_err(|source| ova_core::Error::Io {
                        path: path.clone(),
                        source,
                    })?;
                    Some(ova_core::sign::TrustStore::from_pem(
                        &path.display().to_string(),
                        &pem,
                    )?)
                }
                None => None,
            };
            let cert_bytes = self.archive().read_entry(cert, 1 << 20)?;
            let mf_bytes = self.archive().read_entry(mf, 16 << 20)?;
            Ok(ova_core::sign::verify_manifest_signature(
                &cert_bytes,
                &mf.name,
                &mf_bytes,
                store.as_ref(),
            )?)
        })?;
        if !report.signature_valid {
            return Err(errors::SignatureError::new_err((
                format!(
                    "{shown}: the signature in {} does not match {}",
                    cert.name, mf.name
                ),
                shown,
                cert.name.clone(),
            )));
        }
        to_typed(py, "SignatureReport", &report)
    }

    /// Write a clean copy to ``output``: descriptor first (with the edits applied), a fresh
    /// manifest (``manifest="sha256"``, ``"sha1"``, ``"sha512"`` or None), then the files in
    /// References order. Signatures and junk entries are dropped (listed in the report).
    /// Written under a temporary name, renamed on success. Edits as for ``Descriptor.edit``.
    ///
    /// ``progress(done)`` gets the bytes copied so far; an exception it raises (or Ctrl-C, or
    /// ``cancel.cancel()``) stops the repack at the next buffer and is re-raised, the temporary
    /// file removed and an existing ``output`` left as it was.
    #[pyo3(signature = (output, *, manifest = Some("sha256"), name = None, cpus = None, memory_mb = None, virtual_system_type = None, properties = None, system = None, configuration = None, force = false, progress = None, cancel = None))]
    #[allow(clippy::too_many_arguments)]
    fn repack(
        &self,
        py: Python<'_>,
        output: PathBuf,
        manifest: Option<&str>,
        name: Option<String>,
        cpus: Option<u64>,
        memory_mb: Option<u64>,
        virtual_system_type: Option<String>,
        properties: Option<std::collections::BTreeMap<String, String>>,
        system: Option<String>,
        configuration: Option<String>,
        force: bool,
        progress: Option<Py<PyAny>>,
        cancel: Option<PyRef<'_, CancelToken>>,
    ) -> PyResult<Py<PyAny>> {
        let edits = ovf::edits(
            name,
            cpus,
            memory_mb,
            virtual_system_type,
            properties,
            system,
            configuration,
            force,
        );
        let options = package::RepackOptions::new()
            .with_manifest(manifest_choice(manifest)?)
            .with_edits(edits);
        let interrupt = Interrupt::new(cancel.as_deref());
        let callback = Callback::new(progress, Arc::clone(&interrupt));
        let report = run_blocking(py, &interrupt, || {
            Ok(self
                .inner
                .repack(&output, &options, &mut callback.counter())?)
        })?;
        to_typed(py, "WriteReport", &report)
    }

    /// Extract every regular entry into directory ``dest``; returns the paths written. Refuses
    /// (writing nothing) when an entry is unsafe (absolute, ``..``, link, device).
    ///
    /// ``progress(done)`` gets the bytes written so far; an exception it raises (or Ctrl-C, or
    /// ``cancel.cancel()``) stops the extraction at the next buffer and is re-raised. Entries are
    /// committed one by one: the entry being written is then removed (a file of its name is left as
    /// it was), the entries extracted before it stay.
    #[pyo3(signature = (dest, *, progress = None, cancel = None))]
    fn extract(
        &self,
        py: Python<'_>,
        dest: PathBuf,
        progress: Option<Py<PyAny>>,
        cancel: Option<PyRef<'_, CancelToken>>,
    ) -> PyResult<Vec<PathBuf>> {
        let interrupt = Interrupt::new(cancel.as_deref());
        let callback = Callback::new(progress, Arc::clone(&interrupt));
        Ok(run_blocking(py, &interrupt, || {
            Ok(self.inner.extract(&dest, &mut callback.counter())?)
        })?)
    }

    /// Edit the descriptor inside the archive at ``path`` without rewriting the disks (the
    /// manifest's descriptor digest is updated; crash-safe). Raises ``OvaError`` when the edit
    /// cannot be done in place (then use ``repack``). Returns an ``EditReport``.
    #[staticmethod]
    #[pyo3(signature = (path, *, name = None, cpus = None, memory_mb = None, virtual_system_type = None, properties = None, system = None, configuration = None, force = false))]
    #[allow(clippy::too_many_arguments)]
    fn edit_in_place(
        py: Python<'_>,
        path: PathBuf,
        name: Option<String>,
        cpus: Option<u64>,
        memory_mb: Option<u64>,
        virtual_system_type: Option<String>,
        properties: Option<std::collections::BTreeMap<String, String>>,
        system: Option<String>,
        configuration: Option<String>,
        force: bool,
    ) -> PyResult<Py<PyAny>> {
        let edits = ovf::edits(
            name,
            cpus,
            memory_mb,
            virtual_system_type,
            properties,
            system,
            configuration,
            force,
        );
        let report = py
            .detach(|| package::Ova::edit_in_place(&path, &edits))
            .map_err(errors::Error::from)?;
        to_typed(py, "EditReport", &report)
    }

    fn __repr__(&self) -> String {
        format!(
            "Ova({:?}, {} entries)",
            self.archive().path().display().to_string(),
            self.archive().index().entries.len()
        )
    }
}

fn manifest_choice(manifest: Option<&str>) -> PyResult<ManifestChoice> {
    Ok(match manifest {
        None => ManifestChoice::None,
        Some(m) => ManifestChoice::Fresh(m.parse::<Algorithm>().map_err(PyValueError::new_err)?),
    })
}

/// Pack the directory ``src`` (one ``.ovf`` and the files it references) into the OVA
/// ``output``: descriptor first, fresh manifest, files in References order. Written under a
/// temporary name, renamed on success. Returns a ``WriteReport``.
///
/// ``progress(done)`` gets the bytes copied so far; an exception it raises (or Ctrl-C, or
/// ``cancel.cancel()``) stops the pack at the next buffer and is re-raised, the temporary file
/// removed and an existing ``output`` left as it was.
#[pyfunction]
#[pyo3(signature = (src, output, *, manifest = Some("sha256"), progress = None, cancel = None))]
fn pack(
    py: Python<'_>,
    src: PathBuf,
    output: PathBuf,
    manifest: Option<&str>,
    progress: Option<Py<PyAny>>,
    cancel: Option<PyRef<'_, CancelToken>>,
) -> PyResult<Py<PyAny>> {
    let choice = manifest_choice(manifest)?;
    let interrupt = Interrupt::new(cancel.as_deref());
    let callback = Callback::new(progress, Arc::clone(&interrupt));
    let report = run_blocking(py, &interrupt, || {
        Ok(package::Ova::pack(
            &src,
            &output,
            choice,
            Default::default(),
            &mut callback.counter(),
        )?)
    })?;
    to_typed(py, "WriteReport", &report)
}

/// Sign the OVA ``src`` and write the signed package to ``output`` (which may be ``src``:
/// then it is signed in place). ``signing_key`` is a PEM file holding the private key (and the
/// certificate, unless ``certificate`` names a PEM file with it and any intermediates);
/// ``passphrase`` (``str`` or ``bytes``) unlocks an encrypted key. The manifest is kept when it
/// uses ``digest`` (``"sha256"``, ``"sha1"`` or ``"sha512"``) and matches the data, otherwise
/// a fresh one is written; the ``.cert`` follows it. Never leaves ``output`` half-written.
/// Returns a ``SignReport`` (``certificate``, ``manifest``, ``manifest_regenerated``,
/// ``in_place``, ``subject``).
///
/// Raises ``SignatureError`` when the key cannot be read (no key, wrong or missing passphrase),
/// the certificate is missing or does not belong to the key; ``NotFoundError`` for a missing
/// file; ``ValueError`` for an unknown digest. Ctrl-C (``KeyboardInterrupt``) or
/// ``cancel.cancel()`` (``CancelledError``) stops it at the next buffer with ``output`` left as
/// it was.
#[pyfunction]
#[pyo3(signature = (src, output, signing_key, *, certificate = None, digest = "sha256", passphrase = None, cancel = None))]
#[allow(clippy::too_many_arguments)]
fn sign(
    py: Python<'_>,
    src: PathBuf,
    output: PathBuf,
    signing_key: PathBuf,
    certificate: Option<PathBuf>,
    digest: &str,
    passphrase: Option<Bound<'_, PyAny>>,
    cancel: Option<PyRef<'_, CancelToken>>,
) -> PyResult<Py<PyAny>> {
    let algorithm: Algorithm = digest.parse().map_err(PyValueError::new_err)?;
    let passphrase = match passphrase {
        None => None,
        Some(p) => Some(match p.extract::<String>() {
            Ok(text) => text.into_bytes(),
            Err(_) => p.extract::<Vec<u8>>()?,
        }),
    };
    let interrupt = Interrupt::new(cancel.as_deref());
    let report = run_blocking(py, &interrupt, || -> Result<_> {
        let key =
            SigningKey::from_files(&signing_key, certificate.as_deref(), passphrase.as_deref())?;
        let mut watch = Watch::new(&interrupt);
        Ok(ova_core::sign::sign_package(
            &src,
            &output,
            &key,
            algorithm,
            &mut |_| watch.flow(),
        )?)
    })?;
    to_typed(py, "SignReport", &report)
}

/// Verify the OVA at ``path`` against its manifest in one streaming pass; see
/// ``Ova.verify_manifest``.
#[pyfunction]
#[pyo3(signature = (path, *, progress = None, fallback = None, cancel = None))]
fn verify_manifest(
    py: Python<'_>,
    path: PathBuf,
    progress: Option<Py<PyAny>>,
    fallback: Option<Vec<String>>,
    cancel: Option<PyRef<'_, CancelToken>>,
) -> PyResult<Py<PyAny>> {
    verify_path(
        py,
        path,
        parse_algorithms(fallback)?,
        progress,
        cancel.as_deref(),
    )
}

/// Parse manifest text (``bytes``) leniently; lines it cannot read are in ``bad_lines``.
#[pyfunction]
fn parse_manifest(py: Python<'_>, data: &[u8]) -> PyResult<Py<PyAny>> {
    manifest_result(py, &manifest::parse(data))
}

/// A canonical manifest (``ALG(name)= hex`` lines) for ``(name, digest)`` pairs, digests as
/// ``bytes`` or hex strings.
#[pyfunction]
#[pyo3(signature = (entries, algorithm = "sha256"))]
fn format_manifest(entries: Vec<(String, Bound<'_, PyAny>)>, algorithm: &str) -> PyResult<String> {
    let algorithm: Algorithm = algorithm.parse().map_err(PyValueError::new_err)?;
    let mut decoded = Vec::with_capacity(entries.len());
    for (name, digest) in entries {
        let bytes = if let Ok(text) = digest.extract::<String>() {
            hex::decode(&text)
                .map_err(|_| PyValueError::new_err(format!("{name}: digest is not hex")))?
        } else {
            digest.extract::<Vec<u8>>()?
        };
        if bytes.len() != algorithm.digest_len() {
            return Err(PyValueError::new_err(format!(
                "{name}: a {algorithm} digest is {} bytes, got {}",
                algorithm.digest_len(),
                bytes.len()
            )));
        }
        decoded.push((name, bytes));
    }
    Ok(manifest::format_manifest(
        algorithm,
        decoded.iter().map(|(n, d)| (n.as_str(), d.as_slice())),
    ))
}

/// Register the `ovakit.ova` classes and functions on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Ova>()?;
    m.add_class::<ovf::Descriptor>()?;
    m.add_function(wrap_pyfunction!(ovf::validate_descriptor, m)?)?;
    m.add_function(wrap_pyfunction!(crate::build::build_ova, m)?)?;
    m.add_function(wrap_pyfunction!(verify_manifest, m)?)?;
    m.add_function(wrap_pyfunction!(pack, m)?)?;
    m.add_function(wrap_pyfunction!(sign, m)?)?;
    m.add_function(wrap_pyfunction!(parse_manifest, m)?)?;
    m.add_function(wrap_pyfunction!(format_manifest, m)?)?;
    Ok(())
}
