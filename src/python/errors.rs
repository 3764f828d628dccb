//! Exception classes, and the guard that turns a Rust panic into a Python exception.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::{ConfigError as CoreConfigError, Diagnostic};

create_exception!(
    cloudai_dynamo_rs._core,
    ConfigError,
    PyValueError,
    "Invalid configuration files; `.errors` lists every problem (file, line, column, path, message)."
);
create_exception!(
    cloudai_dynamo_rs._core,
    RenderError,
    PyValueError,
    "A valid configuration that cannot be written into a Slurm script (e.g. a comma in a mount)."
);
create_exception!(
    cloudai_dynamo_rs._core,
    ResultsError,
    PyValueError,
    "A malformed genai-perf/aiperf results file; the message starts with `path:line:col:`."
);
create_exception!(
    cloudai_dynamo_rs._core,
    MetricNotFoundError,
    ResultsError,
    "A metric, or the statistic asked for, is not in a results file (or has no value there)."
);
create_exception!(
    cloudai_dynamo_rs._core,
    InternalError,
    PyRuntimeError,
    "A bug in cloudai-dynamo-rs (a Rust panic caught at the Python boundary)."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("RenderError", py.get_type::<RenderError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add("ResultsError", py.get_type::<ResultsError>())?;
    m.add("MetricNotFoundError", py.get_type::<MetricNotFoundError>())?;
    Ok(())
}

fn diagnostic_dict<'py>(py: Python<'py>, d: &Diagnostic) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("file", &d.file)?;
    dict.set_item("line", d.line)?;
    dict.set_item("column", d.column)?;
    dict.set_item("path", &d.path)?;
    dict.set_item("message", &d.message)?;
    Ok(dict)
}

/// A `ConfigError` whose `.errors` holds one dict per diagnostic.
pub fn config_error(py: Python<'_>, e: &CoreConfigError) -> PyErr {
    let err = ConfigError::new_err(e.to_string());
    let errors: PyResult<Vec<Bound<'_, PyDict>>> = e
        .diagnostics
        .iter()
        .map(|d| diagnostic_dict(py, d))
        .collect();
    match errors.and_then(|list| err.value(py).setattr("errors", list)) {
        Ok(()) => err,
        Err(other) => other,
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
            Err(InternalError::new_err(format!(
                "internal error in cloudai-dynamo-rs (please report): {what}"
            )))
        }
    }
}
