//! Result files: parse a genai-perf/aiperf export, look metrics up, find exports in a run
//! directory. Parsing runs without the GIL; errors become `ResultsError` (malformed file,
//! message `path:line:col: ...`), `MetricNotFoundError` (lookup), `MetricKeyError` (a key
//! CloudAI may not ask for) or `OSError` (I/O).

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pythonize::pythonize;

use super::errors::guard;
use super::results_object::{self, PyResults};
use crate::Error;
use crate::results::{self, MetricReader, Query, ResultsError as CoreResultsError};

/// A results file: `path` itself, or the preferred export under the directory `path`
/// (CSV before JSON, see `find_result_files`).
///
/// A path named like an export (`.csv`, `.json`) is a file whatever it points to: a
/// `x.csv` that is a symlink to a directory is refused when read, never searched, so a
/// number from another file cannot stand in for it.
fn resolve(path: &Path) -> Result<Option<PathBuf>, CoreResultsError> {
    let named_as_file = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("json"));
    if named_as_file || !path.is_dir() {
        return Ok(Some(path.to_owned()));
    }
    results::best_result_file(path)
}

/// The file `path` names, or `Error::NoResultsFile` for a directory without exports.
fn resolve_file(path: &Path) -> crate::Result<PathBuf> {
    resolve(path)?.ok_or_else(|| Error::NoResultsFile {
        dir: path.to_owned(),
    })
}

/// Parse a results file (or the preferred export of a run directory) into a `Results`.
#[pyfunction]
fn read_results(py: Python<'_>, path: PathBuf) -> PyResult<PyResults> {
    guard(|| {
        let results =
            py.detach(|| -> crate::Result<_> { Ok(results::read_compact(resolve_file(&path)?)?) })?;
        Ok(PyResults::new(results))
    })
}

/// One metric of a file or run directory, like CloudAI's `get_metric` but raising instead of
/// returning -1. Answered while scanning the file (no rows are built), so its memory is the
/// file's bytes.
#[pyfunction]
#[pyo3(signature = (path, metric, stat = None))]
fn get_metric(py: Python<'_>, path: PathBuf, metric: &str, stat: Option<&str>) -> PyResult<f64> {
    guard(|| {
        let queries = [Query::new(metric, stat)];
        let value = py.detach(|| -> crate::Result<f64> {
            let file = resolve_file(&path)?;
            let answers = results::lookup_many(&file, &queries)?;
            // One query, one answer.
            let answer = answers.into_iter().next().expect("one answer per query");
            answer.map_err(|e| Error::lookup(&file, e))
        })?;
        Ok(value)
    })
}

/// Exports under `run_dir`, best first: `[{"path", "tool", "format"}, ...]`.
#[pyfunction]
fn find_result_files(py: Python<'_>, run_dir: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    guard(|| {
        let files = py
            .detach(|| results::find_result_files(&run_dir))
            .map_err(Error::from)?;
        Ok(pythonize(py, &files)?)
    })
}

/// A metric to read: `"name"` (default statistic) or `("name", "stat" or None)`.
#[derive(FromPyObject)]
enum MetricSpec {
    Name(String),
    WithStat(String, Option<String>),
}

impl MetricSpec {
    fn parts(&self) -> (&str, Option<&str>) {
        match self {
            MetricSpec::Name(m) => (m, None),
            MetricSpec::WithStat(m, s) => (m, s.as_deref()),
        }
    }
}

/// Values of `queries` in each of `paths`, stopping at the first file that fails; `None`
/// where a file lacks a metric or its value.
fn read_part(
    paths: &[PathBuf],
    queries: &[Query],
) -> Result<Vec<Vec<Option<f64>>>, CoreResultsError> {
    let mut reader = MetricReader::new(queries);
    paths
        .iter()
        .map(|p| Ok(reader.read(p)?.into_iter().map(Result::ok).collect()))
        .collect()
}

/// Batches smaller than this per thread are not worth a thread's start-up (~10 µs).
const MIN_FILES_PER_THREAD: usize = 16;

/// Values of `metrics` in each of `paths`: one list per file, `None` where the file lacks the
/// metric or its value. Parses without the GIL, on up to `threads` threads (default: every
/// core); a malformed or unreadable file raises (the first in `paths` order, naming it)
/// rather than silently becoming a row of `None`.
#[pyfunction]
#[pyo3(signature = (paths, metrics, *, threads = None))]
fn read_metrics_many(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    metrics: Vec<MetricSpec>,
    threads: Option<usize>,
) -> PyResult<Vec<Vec<Option<f64>>>> {
    guard(|| {
        // Prepared once for the whole batch: keys parsed, names folded.
        let queries: Vec<Query> = metrics
            .iter()
            .map(|m| {
                let (metric, stat) = m.parts();
                Query::new(metric, stat)
            })
            .collect();
        // `available_parallelism` reads cgroup files: only ask when the caller did not say.
        let threads = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .min(paths.len() / MIN_FILES_PER_THREAD)
            .max(1);
        let rows = py.detach(|| {
            if threads == 1 {
                return read_part(&paths, &queries);
            }
            let chunk = paths.len().div_ceil(threads).max(1);
            std::thread::scope(|scope| {
                let workers: Vec<_> = paths
                    .chunks(chunk)
                    .map(|part| {
                        let queries = &queries;
                        scope.spawn(move || read_part(part, queries))
                    })
                    .collect();
                let mut rows = Vec::with_capacity(paths.len());
                for worker in workers {
                    // A panic in a worker is re-raised here, where `guard` catches it.
                    let part = worker
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p));
                    rows.extend(part?);
                }
                Ok(rows)
            })
        });
        Ok(rows.map_err(Error::from)?)
    })
}

/// Request counts of a results file or run directory and the verdict on them:
/// `{"succeeded", "failed", "verdict": "ok" | "flagged" | "failed", "cause"}`.
#[pyfunction]
fn request_outcome(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    guard(|| {
        let outcome = py.detach(|| -> crate::Result<_> {
            Ok(results::read_request_outcome(resolve_file(&path)?)?)
        })?;
        Ok(pythonize(py, &outcome)?)
    })
}

/// A run's `test-run.json`, validated (and against its place under `results_dir`, if given).
#[pyfunction]
#[pyo3(signature = (path, results_dir = None))]
fn read_run_record(
    py: Python<'_>,
    path: PathBuf,
    results_dir: Option<PathBuf>,
) -> PyResult<Bound<'_, PyAny>> {
    guard(|| {
        let record = py
            .detach(|| results::read_run_record(&path, results_dir.as_deref()))
            .map_err(Error::from)?;
        Ok(pythonize(py, &record)?)
    })
}

/// The record of the run in `run_dir` (`test-run.json`), checked against its place under
/// `results_dir` when given.
fn record_of(
    run_dir: &Path,
    results_dir: Option<&Path>,
) -> Result<results::RunRecord, CoreResultsError> {
    results::read_run_record(&run_dir.join(crate::render::RECORD_FILE), results_dir)
}

/// Everything the report shows of the run in `run_dir`: its sources (one per aiperf phase or
/// genai-perf run; the preferred export of a seed-schema run) with their figures, per-GPU and
/// per-user rates, request verdicts, the accuracy summary, and the verdict on the whole.
#[pyfunction]
#[pyo3(signature = (run_dir, gpus_per_node, results_dir = None))]
fn run_results(
    py: Python<'_>,
    run_dir: PathBuf,
    gpus_per_node: Option<u32>,
    results_dir: Option<PathBuf>,
) -> PyResult<Bound<'_, PyAny>> {
    guard(|| {
        let out = py
            .detach(|| {
                let record = record_of(&run_dir, results_dir.as_deref())?;
                results::run_results(&run_dir, &record, gpus_per_node)
            })
            .map_err(Error::from)?;
        Ok(pythonize(py, &out)?)
    })
}

/// CloudAI's `get_metric(key)` for the run in `run_dir`, as the CloudAI of its schema
/// generation answers it; raises where CloudAI gets `METRIC_ERROR`.
#[pyfunction]
fn cloudai_metric(py: Python<'_>, run_dir: PathBuf, key: &str) -> PyResult<f64> {
    guard(|| Ok(py.detach(|| results::cloudai_metric(&run_dir, key))?))
}

/// The cause a failure marker's text gives (who died, where, with which code, last words).
#[pyfunction]
fn failure_cause(text: &str) -> String {
    results::failure_cause(text)
}

/// The run directories of a results tree, `<test id>/<iteration>[/<step>]` holding a record.
#[pyfunction]
fn run_dirs(py: Python<'_>, results_dir: PathBuf) -> Vec<PathBuf> {
    py.detach(|| results::run_dirs(&results_dir))
}

/// Whether CloudAI's DSE may ask for `key` (see `cloudai_metric`): `None`, or raises
/// `MetricKeyError` saying why not.
#[pyfunction]
fn check_metric_key(key: &str) -> PyResult<()> {
    Ok(results::check_metric_key(key).map_err(Error::from)?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(check_metric_key, m)?)?;
    m.add("METRIC_KEYS", results::METRIC_KEYS.to_vec())?;
    results_object::register(m)?;
    m.add_function(wrap_pyfunction!(run_results, m)?)?;
    m.add_function(wrap_pyfunction!(cloudai_metric, m)?)?;
    m.add("MAX_PARSE_BYTES", results::MAX_PARSE_BYTES)?;
    m.add("MAX_SCAN_BYTES", results::MAX_SCAN_BYTES)?;
    m.add_function(wrap_pyfunction!(request_outcome, m)?)?;
    m.add_function(wrap_pyfunction!(read_run_record, m)?)?;
    m.add_function(wrap_pyfunction!(read_results, m)?)?;
    m.add_function(wrap_pyfunction!(get_metric, m)?)?;
    m.add_function(wrap_pyfunction!(find_result_files, m)?)?;
    m.add_function(wrap_pyfunction!(read_metrics_many, m)?)?;
    m.add_function(wrap_pyfunction!(failure_cause, m)?)?;
    m.add_function(wrap_pyfunction!(run_dirs, m)?)?;
    Ok(())
}
