//! Configuration loaders: each returns plain dicts (through pythonize) or raises ConfigError.

use std::path::PathBuf;

use pyo3::prelude::*;
use pythonize::pythonize;
use serde::Serialize;

use super::errors::guard;
use crate::config::{self, Checks, ConfigError};

fn to_py<'py, T: Serialize>(
    py: Python<'py>,
    result: Result<T, ConfigError>,
) -> PyResult<Bound<'py, PyAny>> {
    let value = result.map_err(crate::Error::from)?;
    Ok(pythonize(py, &value)?)
}

#[pyfunction]
fn load_system(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    guard(|| to_py(py, py.detach(|| config::load_system(&path))))
}

#[pyfunction]
#[pyo3(signature = (text, name = "<string>"))]
fn load_system_str<'py>(py: Python<'py>, text: &str, name: &str) -> PyResult<Bound<'py, PyAny>> {
    guard(|| to_py(py, config::load_system_str(text, name)))
}

#[pyfunction]
fn load_test(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    guard(|| to_py(py, py.detach(|| config::load_test(&path))))
}

#[pyfunction]
#[pyo3(signature = (text, name = "<string>"))]
fn load_test_str<'py>(py: Python<'py>, text: &str, name: &str) -> PyResult<Bound<'py, PyAny>> {
    guard(|| to_py(py, config::load_test_str(text, name)))
}

/// A host's dump (a mapping of plain values, e.g. pydantic's `model_dump(mode="json")`) as
/// the tree the readers read; anything else is a TypeError naming what was found.
pub(super) fn dump(data: &Bound<'_, PyAny>) -> PyResult<config::Dump> {
    pythonize::depythonize(data).map_err(|e| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "expected a mapping of strings, numbers, booleans, lists and mappings: {e}"
        ))
    })
}

/// A test definition dumped by CloudAI, read by the same readers as a file (see
/// `config::host`): `{"generation", "name", "cmd_args", "sweep_axes"}`.
#[pyfunction]
#[pyo3(signature = (data, *, test_file = None, scenario = None, entry = None))]
fn read_cloudai_test<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    test_file: Option<PathBuf>,
    scenario: Option<PathBuf>,
    entry: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let dump = dump(data)?;
        let origin = config::Origin {
            test_file: test_file.as_deref(),
            scenario: scenario.as_deref().zip(entry.as_deref()),
        };
        let read = py
            .detach(|| config::read_host_test(dump, &origin))
            .map_err(crate::Error::from)?;
        let out = pyo3::types::PyDict::new(py);
        out.set_item("generation", pythonize(py, &read.test.generation())?)?;
        out.set_item("name", read.test.name())?;
        let cmd_args = read.cmd_args.as_ref().map(config::Data);
        out.set_item("cmd_args", pythonize(py, &cmd_args)?)?;
        out.set_item("sweep_axes", read.sweep_axes)?;
        Ok(out.into_any())
    })
}

#[pyfunction]
fn load_scenario(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    guard(|| to_py(py, py.detach(|| config::load_scenario(&path))))
}

#[pyfunction]
#[pyo3(signature = (text, name = "<string>"))]
fn load_scenario_str<'py>(py: Python<'py>, text: &str, name: &str) -> PyResult<Bound<'py, PyAny>> {
    guard(|| to_py(py, config::load_scenario_str(text, name)))
}

#[pyfunction]
#[pyo3(signature = (system, tests, scenario, *, check_host_paths = true, max_runs = config::DEFAULT_MAX_RUNS))]
fn load_workspace(
    py: Python<'_>,
    system: PathBuf,
    tests: Vec<PathBuf>,
    scenario: PathBuf,
    check_host_paths: bool,
    max_runs: u64,
) -> PyResult<Bound<'_, PyAny>> {
    let checks = Checks {
        host_paths: check_host_paths,
        max_runs,
    };
    guard(|| {
        to_py(
            py,
            py.detach(|| config::load_workspace(&system, &tests, &scenario, checks)),
        )
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("DEFAULT_MAX_RUNS", config::DEFAULT_MAX_RUNS)?;
    m.add("TEMPLATE_NAME", config::TEMPLATE_NAME)?;
    m.add_function(wrap_pyfunction!(load_system, m)?)?;
    m.add_function(wrap_pyfunction!(load_system_str, m)?)?;
    m.add_function(wrap_pyfunction!(load_test, m)?)?;
    m.add_function(wrap_pyfunction!(load_test_str, m)?)?;
    m.add_function(wrap_pyfunction!(read_cloudai_test, m)?)?;
    m.add_function(wrap_pyfunction!(load_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(load_scenario_str, m)?)?;
    m.add_function(wrap_pyfunction!(load_workspace, m)?)?;
    m.add_function(wrap_pyfunction!(verify_files, m)?)?;
    Ok(())
}

/// `(errors, kinds)`: every problem as a dict, and `(path, kind or None)` per readable file.
#[pyfunction]
#[pyo3(signature = (paths, *, check_host_paths = true, max_runs = config::DEFAULT_MAX_RUNS))]
fn verify_files(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    check_host_paths: bool,
    max_runs: u64,
) -> PyResult<Bound<'_, PyAny>> {
    let checks = Checks {
        host_paths: check_host_paths,
        max_runs,
    };
    guard(|| {
        let result = py.detach(|| config::verify_files(&paths, checks));
        Ok(pythonize(py, &result)?)
    })
}
