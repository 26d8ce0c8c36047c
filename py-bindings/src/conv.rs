//! Conversions shared by the bindings: serde values to Python objects, enum names, paths.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde::Serialize;
use serde_json::Value;

/// A JSON value as the equivalent Python object (dict, list, str, int, float, bool, None).
pub(crate) fn json_to_py(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    Ok(match value {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64()
                    .unwrap_or(f64::NAN)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

/// Any serializable crate value as a Python object, through its serde form.
pub(crate) fn to_py<T: Serialize + ?Sized>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    json_to_py(py, &json)
}

/// The serde name of a unit enum variant (`EntryKind::Descriptor` → `"descriptor"`).
pub(crate) fn name_of<T: Serialize + std::fmt::Debug>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => format!("{value:?}").to_lowercase(),
    }
}

/// `value` (a dict, or a list of dicts) as the `ovakit.results` class `class` (a list of them).
pub(crate) fn typed(py: Python<'_>, class: &str, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
    let build = py.import("ovakit.results")?.getattr("_build")?;
    Ok(build.call1((class, value))?.unbind())
}

/// Any serializable crate value as the `ovakit.results` class `class`, through its serde form.
pub(crate) fn to_typed<T: Serialize + ?Sized>(
    py: Python<'_>,
    class: &str,
    value: &T,
) -> PyResult<Py<PyAny>> {
    typed(py, class, to_py(py, value)?)
}

/// A serializable value as whichever `ovakit.results` class of `classes` its tag (`kind` or
/// `format`) names.
pub(crate) fn to_typed_one_of<T: Serialize + ?Sized>(
    py: Python<'_>,
    classes: &[&str],
    value: &T,
) -> PyResult<Py<PyAny>> {
    let build = py.import("ovakit.results")?.getattr("_build_one_of")?;
    let names = pyo3::types::PyTuple::new(py, classes)?;
    Ok(build.call1((names, to_py(py, value)?))?.unbind())
}
