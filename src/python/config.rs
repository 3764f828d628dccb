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

/// The sweep axes of a test definition (see `TestDefinition::sweep_axis_keys`).
#[pyfunction]
#[pyo3(signature = (text, name = "<string>"))]
fn sweep_axes<'py>(py: Python<'py>, text: &str, name: &str) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        to_py(
            py,
            config::load_test_str(text, name).map(|mut d| d.sweep_axis_keys()),
        )
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
    m.add_function(wrap_pyfunction!(load_system, m)?)?;
    m.add_function(wrap_pyfunction!(load_system_str, m)?)?;
    m.add_function(wrap_pyfunction!(load_test, m)?)?;
    m.add_function(wrap_pyfunction!(load_test_str, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_axes, m)?)?;
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
