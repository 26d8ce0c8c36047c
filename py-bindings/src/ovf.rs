//! `ovakit.ova.Descriptor` and `Finding`: the OVF descriptor view, its edits and validation.

use std::collections::BTreeMap;

use ova_core::ovf::{self, Edit};
use ova_core::validate::{self, Severity};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::conv::{name_of, to_py, to_typed, typed};
use crate::errors;

/// Validation findings as a list of `ovakit.results.Finding`.
pub(crate) fn findings(py: Python<'_>, findings: &[validate::Finding]) -> PyResult<Py<PyAny>> {
    let value: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "severity": match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                "code": f.code,
                "message": f.message,
                "entry": f.entry,
            })
        })
        .collect();
    to_typed(py, "Finding", &value)
}

/// A parsed OVF descriptor: the original bytes plus a typed, read-only view of them.
///
/// Nested parts (disks, systems, properties...) are the frozen classes of ``ovakit.results``.
/// Edits return a new ``Descriptor`` in which only the edited text differs.
#[pyclass(module = "ovakit.ova", frozen)]
pub(crate) struct Descriptor {
    inner: ovf::Descriptor,
}

impl Descriptor {
    pub(crate) fn new(inner: ovf::Descriptor) -> Self {
        Self { inner }
    }

    /// The descriptor parsed from bytes, as a Python error on failure.
    pub(crate) fn parse_bytes(data: Vec<u8>) -> PyResult<Self> {
        Ok(Self::new(
            ovf::Descriptor::from_vec(data).map_err(errors::Error::from)?,
        ))
    }
}

#[pymethods]
impl Descriptor {
    /// Parse descriptor XML (``bytes`` or ``str``).
    ///
    /// Raises ``OvfError`` when it is not well-formed XML or not an OVF envelope.
    #[staticmethod]
    fn parse(data: Vec<u8>) -> PyResult<Self> {
        Self::parse_bytes(data)
    }

    /// Read and parse an ``.ovf`` file.
    #[staticmethod]
    fn open(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let data = py
            .detach(|| std::fs::read(&path))
            .map_err(|source| errors::Error::from(ova_core::Error::Io { path, source }))?;
        Self::parse_bytes(data)
    }

    /// The descriptor's bytes, exactly as parsed.
    #[getter]
    fn xml<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.as_bytes())
    }

    /// OVF version: "0.9", "1.x" or "2.x".
    #[getter]
    fn version(&self) -> String {
        name_of(&self.inner.version())
    }

    /// The ``References`` files (``FileRef``).
    #[getter]
    fn references(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_typed(py, "FileRef", self.inner.references())
    }

    /// The ``DiskSection`` disks (``Disk``).
    #[getter]
    pub(crate) fn disks(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_typed(py, "Disk", self.inner.disks())
    }

    /// The ``NetworkSection`` networks (``Network``).
    #[getter]
    fn networks(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_typed(py, "Network", self.inner.networks())
    }

    /// The ``DeploymentOptionSection`` configurations (``DeploymentOption``).
    #[getter]
    fn deployment_options(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_typed(py, "DeploymentOption", self.inner.deployment_options())
    }

    /// Every ``VirtualSystem`` (also those inside collections).
    #[getter]
    pub(crate) fn systems(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_typed(py, "VirtualSystem", &self.inner.systems())
    }

    /// Every ``VirtualSystemCollection``.
    #[getter]
    fn collections(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_typed(py, "VirtualSystemCollection", &self.inner.collections())
    }

    /// Every product property (``PackageProperty``), with the holding system's id in ``system`` and the
    /// product section's ``class_`` and ``instance``.
    #[getter]
    pub(crate) fn properties(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let out = pyo3::types::PyList::empty(py);
        for (system, section) in self.inner.product_sections() {
            let section_dict = to_py(py, section)?;
            let section_dict = section_dict.bind(py).cast::<PyDict>()?;
            let class = section_dict.get_item("class")?;
            let instance = section_dict.get_item("instance")?;
            if let Some(props) = section_dict.get_item("properties")? {
                for prop in props.try_iter()? {
                    let prop = prop?;
                    let prop = prop.cast::<PyDict>()?;
                    prop.set_item("system", system)?;
                    prop.set_item("class", &class)?;
                    prop.set_item("instance", &instance)?;
                    out.append(prop)?;
                }
            }
        }
        typed(py, "PackageProperty", out.into_any().unbind())
    }

    /// The ``ProductSection``s (``PackageProductSection``, with the holding system's id).
    #[getter]
    fn product_sections(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let out = pyo3::types::PyList::empty(py);
        for (system, section) in self.inner.product_sections() {
            let d = to_py(py, section)?;
            d.bind(py).cast::<PyDict>()?.set_item("system", system)?;
            out.append(d)?;
        }
        typed(py, "PackageProductSection", out.into_any().unbind())
    }

    /// Problems noticed while reading the model (``ModelIssue``: ``code`` and ``message``).
    #[getter]
    fn issues(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_typed(py, "ModelIssue", self.inner.issues())
    }

    /// The whole typed view as one dict (what ``ova info --json`` prints).
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py(py, &self.inner)
    }

    /// Apply the descriptor-only validation rules; returns the findings (empty when clean).
    fn validate(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        findings(py, &validate::descriptor_findings(&self.inner))
    }

    /// A new descriptor with edits applied; only the edited text changes.
    ///
    /// ``properties`` maps product property keys to new values. ``system`` addresses one
    /// VirtualSystem by ``ovf:id`` (needed when there are several); ``configuration`` limits CPU
    /// and memory edits to one deployment option.
    ///
    /// Raises ``OvfError`` when a target is missing or ambiguous, a value cannot be written
    /// (a ``virtual_system_type`` that names no hardware family), or the edits leave hardware
    /// the VirtualSystemType cannot carry (SATA at ``vmx-07``, ...); ``force=True`` writes the
    /// latter anyway.
    #[pyo3(signature = (*, name = None, cpus = None, memory_mib = None, virtual_system_type = None, properties = None, system = None, configuration = None, force = false))]
    #[allow(clippy::too_many_arguments)]
    fn edit(
        &self,
        name: Option<String>,
        cpus: Option<u64>,
        memory_mib: Option<u64>,
        virtual_system_type: Option<String>,
        properties: Option<BTreeMap<String, String>>,
        system: Option<String>,
        configuration: Option<String>,
        force: bool,
    ) -> PyResult<Self> {
        let edits = edits(
            name,
            cpus,
            memory_mib,
            virtual_system_type,
            properties,
            system,
            configuration,
            force,
        );
        Ok(Self::new(
            self.inner.edited(&edits).map_err(errors::Error::from)?,
        ))
    }

    fn __repr__(&self) -> String {
        format!(
            "Descriptor(version={:?}, systems={}, disks={})",
            name_of(&self.inner.version()),
            self.inner.systems().len(),
            self.inner.disks().len()
        )
    }
}

/// The crate's [`Edit`] list for the keyword arguments of `Descriptor.edit`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn edits(
    name: Option<String>,
    cpus: Option<u64>,
    memory_mib: Option<u64>,
    virtual_system_type: Option<String>,
    properties: Option<BTreeMap<String, String>>,
    system: Option<String>,
    configuration: Option<String>,
    force: bool,
) -> Vec<Edit> {
    let mut out = Vec::new();
    if let Some(n) = name {
        out.push(Edit::set_name(n));
    }
    if let Some(v) = virtual_system_type {
        out.push(Edit::set_virtual_system_type(v));
    }
    if let Some(c) = cpus {
        out.push(Edit::set_cpus(c));
    }
    if let Some(m) = memory_mib {
        out.push(Edit::set_memory_mib(m));
    }
    for (k, v) in properties.unwrap_or_default() {
        out.push(Edit::set_property(k, v));
    }
    let mut out: Vec<Edit> = out
        .into_iter()
        .map(|e| {
            let e = match &system {
                Some(s) => e.in_system(s.clone()),
                None => e,
            };
            match &configuration {
                Some(c) => e.in_configuration(c.clone()),
                None => e,
            }
        })
        .collect();
    if force && !out.is_empty() {
        out.push(Edit::AllowIncompatibleHardware);
    }
    out
}

/// Apply the descriptor-only validation rules to descriptor bytes (a descriptor that does not
/// parse yields one finding instead of an exception).
#[pyfunction]
pub(crate) fn validate_descriptor(py: Python<'_>, data: Vec<u8>) -> PyResult<Py<PyAny>> {
    findings(py, &validate::validate_descriptor(&data))
}
