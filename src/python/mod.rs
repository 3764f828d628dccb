//! The pyo3 layer: thin wrappers that convert arguments, call the core, and map its errors to
//! the Python exception classes. No logic lives here.

mod config;
mod errors;
mod plan;
mod rehearse;
mod render;
mod results;
mod results_object;
mod standalone;
mod status;

use pyo3::prelude::*;

/// `__version__` in PEP 440 form (Cargo's `-alpha.N`/`-beta.N` become `aN`/`bN`).
fn python_version() -> String {
    crate::VERSION
        .replace("-alpha.", "a")
        .replace("-beta.", "b")
        .replace("-rc.", "rc")
}

/// A CSV text cell a spreadsheet shows as written ([`crate::spreadsheet::text_cell`]).
#[pyfunction]
fn csv_text_cell(text: &str) -> String {
    crate::spreadsheet::text_cell(text)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", python_version())?;
    errors::register(m)?;
    config::register(m)?;
    render::register(m)?;
    plan::register(m)?;
    results::register(m)?;
    standalone::register(m)?;
    m.add_function(wrap_pyfunction!(csv_text_cell, m)?)?;
    rehearse::register(m)?;
    status::register(m)?;
    Ok(())
}
