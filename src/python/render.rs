//! Script generation: `prepare` writes a scenario's results tree (dry-run).

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use pythonize::pythonize;

use super::errors::guard;
use crate::config::{self, Checks};
use crate::render;

#[pyfunction]
#[pyo3(signature = (system, tests, scenario, *, timestamp, output_root = None, check_host_paths = true, max_runs = crate::config::DEFAULT_MAX_RUNS))]
#[allow(clippy::too_many_arguments)]
fn prepare<'py>(
    py: Python<'py>,
    system: PathBuf,
    tests: Vec<PathBuf>,
    scenario: PathBuf,
    timestamp: &str,
    output_root: Option<PathBuf>,
    check_host_paths: bool,
    max_runs: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let checks = Checks {
        host_paths: check_host_paths,
        max_runs,
    };
    write_interruptibly(py, |interrupted| {
        render::prepare(
            &system,
            &tests,
            &scenario,
            output_root.as_deref(),
            timestamp,
            checks,
            interrupted,
        )
    })
}

/// Run `write` (which writes a results tree) without the GIL; between runs the GIL is taken
/// back briefly to run Python's signal handlers, so Ctrl-C (or SIGTERM, when the CLI maps it
/// to KeyboardInterrupt) stops the writing and the staging directory is removed.
fn write_interruptibly<'py>(
    py: Python<'py>,
    write: impl FnOnce(&dyn Fn() -> bool) -> crate::Result<render::Prepared> + Send,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let pending: Mutex<Option<PyErr>> = Mutex::new(None);
        let result = py.detach(|| {
            let interrupted = || match Python::attach(|py| py.check_signals()) {
                Ok(()) => false,
                Err(e) => {
                    *pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    true
                }
            };
            write(&interrupted)
        });
        match result {
            Ok(prepared) => Ok(pythonize(py, &prepared)?),
            // The signal handler's own exception (KeyboardInterrupt, or what the CLI raises).
            Err(e) if e.is_interrupted() => Err(pending
                .into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| e.into())),
            Err(e) => Err(e.into()),
        }
    })
}

/// `prepare` for `cloudaix rehearse` (see `crate::rehearse`): `target` is the system file to
/// rehearse on (default: this machine, standalone).
#[pyfunction]
#[pyo3(signature = (system, tests, scenario, *, timestamp, target = None, output_root = None, stack = None, max_requests = None, sample = None, max_runs = crate::config::DEFAULT_MAX_RUNS))]
#[allow(clippy::too_many_arguments)]
fn prepare_rehearsal<'py>(
    py: Python<'py>,
    system: PathBuf,
    tests: Vec<PathBuf>,
    scenario: PathBuf,
    timestamp: &str,
    target: Option<PathBuf>,
    output_root: Option<PathBuf>,
    stack: Option<String>,
    max_requests: Option<u32>,
    sample: Option<usize>,
    max_runs: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let mut rehearsal = crate::rehearse::Rehearsal::default();
    if let Some(stack) = stack {
        rehearsal.stack = stack;
    }
    if let Some(n) = max_requests {
        rehearsal.max_requests = n;
    }
    write_interruptibly(py, |interrupted| {
        render::prepare_rehearsal(
            &system,
            &tests,
            &scenario,
            target.as_deref(),
            output_root.as_deref(),
            timestamp,
            &rehearsal,
            sample,
            max_runs,
            interrupted,
        )
    })
}

/// Render one run (for host frameworks such as CloudAI that build their own test runs) from
/// TOML texts or from the host's dumps (see `config::host`). Returns the file texts and the
/// node plan; writes nothing.
#[pyfunction]
#[pyo3(signature = (system, test, *, run_dir, install_dir, id, iteration = 0, step = None, num_nodes = None, nodes = Vec::new(), time_limit = None, metadata_script = false, docker_image = None))]
#[allow(clippy::too_many_arguments)]
fn render_one<'py>(
    py: Python<'py>,
    system: &Bound<'py, PyAny>,
    test: &Bound<'py, PyAny>,
    run_dir: PathBuf,
    install_dir: PathBuf,
    id: &str,
    iteration: u32,
    step: Option<usize>,
    num_nodes: Option<u32>,
    nodes: Vec<String>,
    time_limit: Option<&str>,
    metadata_script: bool,
    docker_image: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    guard(|| {
        let system = match system.extract::<&str>() {
            Ok(text) => config::load_system_str(text, "system"),
            Err(_) => config::read_host_system(super::config::dump(system)?),
        }
        .map_err(crate::Error::from)?;
        let mut test = match test.extract::<&str>() {
            Ok(text) => config::load_any_test_str(text, "test"),
            Err(_) => {
                config::read_host_test(super::config::dump(test)?, &config::Origin::default())
                    .map(|t| t.test)
            }
        }
        .map_err(crate::Error::from)?;
        if let Some(image) = docker_image {
            test.set_docker_image_url(image);
        }
        let single = render::SingleRun {
            system: &system,
            test: &test,
            id,
            iteration,
            step,
            num_nodes,
            nodes: &nodes,
            time_limit,
            metadata_script,
        };
        let (run, files) = render::render_single(&single, &run_dir, &install_dir)?;
        let dict = pyo3::types::PyDict::new(py);
        dict.set_item(render::SBATCH_FILE, files.sbatch)?;
        dict.set_item("srun_command", files.srun)?;
        dict.set_item(render::LAUNCH_FILE, files.launch)?;
        dict.set_item(render::CONFIG_FILE, files.dynamo_config)?;
        dict.set_item(render::ROLES_FILE, files.roles)?;
        dict.set_item(render::RECORD_FILE, files.record)?;
        dict.set_item("topology", pythonize(py, &run.topology)?)?;
        Ok(dict.into_any())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(prepare, m)?)?;
    m.add_function(wrap_pyfunction!(prepare_rehearsal, m)?)?;
    m.add_function(wrap_pyfunction!(render_one, m)?)?;
    m.add("RECORD_FILE", render::RECORD_FILE)?;
    m.add("STATUS_FILE", render::STATUS_FILE)?;
    m.add("SBATCH_FILE", render::SBATCH_FILE)?;
    m.add("LAUNCH_FILE", render::LAUNCH_FILE)?;
    m.add("JOB_STDOUT", render::JOB_STDOUT)?;
    m.add("JOB_STDERR", render::JOB_STDERR)?;
    // Both schemas' marker names, seed first: a run directory holds one schema's.
    m.add(
        "FAILURE_MARKERS",
        (render::SEED_FAILURE_MARKER, render::CURRENT_FAILURE_MARKER),
    )?;
    m.add(
        "DONE_MARKERS",
        (render::SEED_DONE_MARKER, render::CURRENT_SUCCESS_MARKER),
    )?;
    Ok(())
}
