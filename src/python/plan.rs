//! The cost plan of a scenario (`cloudaix plan`, the summary line of dry-run and run).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::errors::guard;
use crate::config::Checks;
use crate::plan;

/// Validate and plan a scenario; writes nothing. Returns a dict: `json` (the text of
/// plan.json; `json.loads` it for the data), `summary` (one line), `text` (the full report) and
/// `confirm` (why `run` should ask before submitting above `confirm_above` node-hours, else
/// None). The plan is not converted to Python objects here: the CLI needs only the texts, and
/// for a 1000-case sweep the conversion would cost more than the planning.
#[pyfunction]
#[pyo3(signature = (system, tests, scenario, *, output_root = None, check_host_paths = true, max_runs = crate::config::DEFAULT_MAX_RUNS, confirm_above = plan::DEFAULT_CONFIRM_NODE_HOURS))]
#[allow(clippy::too_many_arguments)]
fn plan_scenario<'py>(
    py: Python<'py>,
    system: PathBuf,
    tests: Vec<PathBuf>,
    scenario: PathBuf,
    output_root: Option<PathBuf>,
    check_host_paths: bool,
    max_runs: u64,
    confirm_above: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let checks = Checks {
        host_paths: check_host_paths,
        max_runs,
    };
    guard(|| {
        let result = py.detach(|| {
            plan::plan_files(&system, &tests, &scenario, output_root.as_deref(), checks)
        });
        let p = result.map_err(crate::Error::from)?;
        let out = PyDict::new(py);
        out.set_item("json", p.to_json())?;
        out.set_item("summary", p.summary())?;
        out.set_item("text", p.text())?;
        out.set_item("confirm", p.confirmation(confirm_above))?;
        Ok(out.into_any())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add(
        "DEFAULT_CONFIRM_NODE_HOURS",
        plan::DEFAULT_CONFIRM_NODE_HOURS,
    )?;
    m.add_function(wrap_pyfunction!(plan_scenario, m)?)?;
    Ok(())
}
