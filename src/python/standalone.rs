//! The standalone scheduler's rules (`crate::standalone`): port slots and the process plan.

use pyo3::prelude::*;
use pythonize::pythonize;

use super::errors::guard;
use crate::render::RenderError;
use crate::standalone;

/// Names of the ports a job of 1 + `prefill` + `decode` nodes needs on one host.
#[pyfunction]
fn standalone_port_slots(prefill: u32, decode: u32) -> Vec<String> {
    standalone::port_slots(prefill, decode)
}

#[pyfunction]
#[pyo3(signature = (prefill, decode, *, gpus, ports, job_id, time_limit = None))]
fn standalone_plan<'py>(
    py: Python<'py>,
    prefill: u32,
    decode: u32,
    gpus: Vec<String>,
    ports: Vec<u16>,
    job_id: &str,
    time_limit: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let plan = standalone::plan(prefill, decode, &gpus, &ports, job_id, time_limit)
            .map_err(|source| RenderError::Local {
                run: job_id.to_string(),
                source,
            })
            .map_err(crate::Error::from)?;
        Ok(pythonize(py, &plan)?)
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(standalone_port_slots, m)?)?;
    m.add_function(wrap_pyfunction!(standalone_plan, m)?)?;
    Ok(())
}
