//! The crate's [`Error`] as a Python exception, and the guard that turns a Rust panic into
//! one. The classes live in `cloudai_dynamo_rs.errors` (Python: they need two bases, e.g.
//! `Error` and `ValueError`); this module only fills their fields.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyMapping};
use pythonize::pythonize;

use crate::Error;

/// The exception classes `_core` re-exports.
const CLASSES: [&str; 8] = [
    "Error",
    "ConfigError",
    "RenderError",
    "ResultsError",
    "MetricNotFoundError",
    "MetricKeyError",
    "InternalError",
    "ErrorEntry",
];

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    MODULE
        .get_or_try_init(py, || {
            py.import("cloudai_dynamo_rs.errors").map(Bound::unbind)
        })?
        .bind(py)
        .getattr(name)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for name in CLASSES {
        m.add(name, class(m.py(), name)?)?;
    }
    Ok(())
}

/// An instance of `cloudai_dynamo_rs.errors.<name>(message, **fields)` as a `PyErr`.
fn raise(
    py: Python<'_>,
    name: &str,
    message: String,
    fields: impl FnOnce(&Bound<'_, PyDict>) -> PyResult<()>,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        fields(&kwargs)?;
        let value = class(py, name)?.call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(value))
    };
    build().unwrap_or_else(|e| e)
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        Python::attach(|py| {
            let message = e.to_string();
            if e.is_interrupted() {
                return PyKeyboardInterrupt::new_err(message);
            }
            if let Some(os) = e.os_error() {
                let filename = os.filename.display().to_string();
                return PyOSError::new_err((os.errno, os.strerror, filename));
            }
            raise(py, e.class_name(), message, |kwargs| {
                kwargs.update(pythonize(py, &e.fields())?.cast::<PyMapping>()?)
            })
        })
    }
}

/// Run `f`, turning a panic into `InternalError` so that none crosses into Python.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let message = format!("internal error in cloudai-dynamo-rs (please report): {what}");
            Err(Python::attach(|py| {
                raise(py, "InternalError", message, |_| Ok(()))
            }))
        }
    }
}
