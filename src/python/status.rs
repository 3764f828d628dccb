//! A run's status (`crate::job_status`): Slurm's verdict and the report's final word.

use pyo3::prelude::*;

/// `(status, cause)` of a run Slurm ended in `state`, or None for `COMPLETED`.
#[pyfunction]
#[pyo3(signature = (state, exit_code = None))]
fn slurm_verdict(state: &str, exit_code: Option<&str>) -> Option<(&'static str, String)> {
    crate::job_status::slurm_verdict(state, exit_code)
}

/// `(status, cause)` the report shows for a run.
#[pyfunction]
#[pyo3(signature = (status, cause, verdict, verdict_cause, *, has_results))]
fn final_status(
    status: Option<String>,
    cause: String,
    verdict: String,
    verdict_cause: String,
    has_results: bool,
) -> (String, String) {
    let runner = status.as_deref().map(|s| (s, cause.as_str()));
    let (s, c) = crate::job_status::final_status(runner, &verdict, &verdict_cause, has_results);
    (s.to_string(), c.to_string())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(slurm_verdict, m)?)?;
    m.add_function(wrap_pyfunction!(final_status, m)?)?;
    Ok(())
}
