//! `cloudaix rehearse`'s reading of a failed run (`crate::rehearse::evidence`).

use std::path::PathBuf;

use pyo3::prelude::*;
use pythonize::pythonize;

/// `{"section", "endpoint", "http_status", "refusal"}` of the run in `run_dir`, each None
/// when absent.
#[pyfunction]
fn rehearsal_evidence(py: Python<'_>, run_dir: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let found = py.detach(|| crate::rehearse::evidence::evidence(&run_dir));
    Ok(pythonize(py, &found)?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(rehearsal_evidence, m)?)?;
    Ok(())
}
