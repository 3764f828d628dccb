//! Script generation: `prepare` writes a scenario's results tree (dry-run).

use std::path::PathBuf;

use pyo3::prelude::*;
use pythonize::pythonize;

use super::errors::{RenderError, config_error, guard};
use crate::config::Checks;
use crate::render::{self, PrepareError};

#[pyfunction]
#[pyo3(signature = (system, tests, scenario, *, timestamp, output_root = None, check_host_paths = true))]
fn prepare<'py>(
    py: Python<'py>,
    system: PathBuf,
    tests: Vec<PathBuf>,
    scenario: PathBuf,
    timestamp: &str,
    output_root: Option<PathBuf>,
    check_host_paths: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let checks = Checks {
        host_paths: check_host_paths,
    };
    guard(|| {
        let result = py.detach(|| {
            render::prepare(
                &system,
                &tests,
                &scenario,
                output_root.as_deref(),
                timestamp,
                checks,
            )
        });
        match result {
            Ok(prepared) => Ok(pythonize(py, &prepared)?),
            Err(PrepareError::Config(e)) => Err(config_error(py, &e)),
            Err(PrepareError::Render(render::RenderError::Io { path, source })) => {
                Err(pyo3::exceptions::PyOSError::new_err(format!(
                    "cannot write {}: {source}",
                    path.display()
                )))
            }
            Err(PrepareError::Render(e)) => Err(RenderError::new_err(e.to_string())),
        }
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(prepare, m)?)?;
    Ok(())
}
