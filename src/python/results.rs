//! Result files: parse a genai-perf/aiperf export, look metrics up, find exports in a run
//! directory. Parsing runs without the GIL; errors become `ResultsError` (malformed file,
//! message `path:line:col: ...`), `MetricNotFoundError` (lookup) or `OSError` (I/O).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use pyo3::exceptions::{PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError};
use pyo3::prelude::*;
use pythonize::pythonize;

use super::errors::{MetricNotFoundError, ResultsError, guard};
use crate::results::{
    self, Format, LookupError, MetricReader, Query, Results, ResultsError as CoreResultsError,
};

/// Where a parse error points: 1-based line and column, when the error has a position.
fn position(e: &CoreResultsError) -> Option<(usize, usize)> {
    use CoreResultsError as E;
    match e {
        E::NotUtf8 { line, col, .. }
        | E::BadNumber { line, col, .. }
        | E::RaggedRow { line, col, .. }
        | E::UnclosedQuote { line, col, .. }
        | E::AfterQuote { line, col, .. }
        | E::UnknownHeader { line, col, .. }
        | E::EmptyLabel { line, col, .. }
        | E::Json { line, col, .. }
        | E::Truncated { line, col, .. }
        | E::BadValue { line, col, .. }
        | E::UnknownUnit { line, col, .. }
        | E::Duplicate { line, col, .. }
        | E::WrongType { line, col, .. }
        | E::BadRecord { line, col, .. } => Some((*line, *col)),
        E::Empty { .. } | E::JsonShape { .. } => Some((1, 1)),
        E::Io { .. } | E::NoMetricTable { .. } | E::NotAFile { .. } | E::TooLarge { .. } => None,
    }
}

fn error_path(e: &CoreResultsError) -> &Path {
    use CoreResultsError as E;
    match e {
        E::Io { path, .. }
        | E::Empty { path }
        | E::NotUtf8 { path, .. }
        | E::BadNumber { path, .. }
        | E::RaggedRow { path, .. }
        | E::UnclosedQuote { path, .. }
        | E::AfterQuote { path, .. }
        | E::UnknownHeader { path, .. }
        | E::EmptyLabel { path, .. }
        | E::NoMetricTable { path }
        | E::Json { path, .. }
        | E::JsonShape { path, .. }
        | E::NotAFile { path, .. }
        | E::TooLarge { path, .. }
        | E::Truncated { path, .. }
        | E::BadValue { path, .. }
        | E::UnknownUnit { path, .. }
        | E::Duplicate { path, .. }
        | E::WrongType { path, .. }
        | E::BadRecord { path, .. } => path,
    }
}

/// The Python exception for a core error: an `OSError` subclass chosen like Python's own
/// `open()` would, or `ResultsError` with `path`, `line`, `column` attributes.
fn results_error(py: Python<'_>, e: &CoreResultsError) -> PyErr {
    if let CoreResultsError::Io { path, source } = e {
        // (errno, strerror, filename) sets `.errno`/`.filename` and the familiar
        // `[Errno 2] No such file or directory: 'x.csv'` form of Python's own errors.
        let text = source.to_string();
        let strerror = text.split(" (os error").next().unwrap_or(&text).to_owned();
        let args = (
            source.raw_os_error().unwrap_or(0),
            strerror,
            path.display().to_string(),
        );
        return match source.kind() {
            ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
            ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
            ErrorKind::IsADirectory => PyIsADirectoryError::new_err(args),
            _ => PyOSError::new_err(args),
        };
    }
    let err = ResultsError::new_err(e.to_string());
    let (line, column) = position(e).unzip();
    let path = error_path(e).display().to_string();
    let value = err.value(py);
    let set = value
        .setattr("path", path)
        .and_then(|()| value.setattr("line", line))
        .and_then(|()| value.setattr("column", column));
    match set {
        Ok(()) => err,
        Err(other) => other,
    }
}

fn lookup_error(e: &LookupError) -> PyErr {
    MetricNotFoundError::new_err(e.to_string())
}

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
    let files = results::find_result_files(path)?;
    let csv = files.iter().find(|f| f.format == Format::Csv);
    Ok(csv.or(files.first()).map(|f| f.path.clone()))
}

fn read_resolved(path: &Path) -> Result<Result<Results, CoreResultsError>, PathBuf> {
    match resolve(path) {
        Ok(Some(file)) => Ok(results::read(file)),
        Ok(None) => Err(path.to_owned()),
        Err(e) => Ok(Err(e)),
    }
}

fn no_results_file(dir: &Path) -> PyErr {
    PyFileNotFoundError::new_err(format!(
        "{}: no genai-perf/aiperf results file (*_genai_perf.csv/json, *_aiperf.csv/json) under this directory",
        dir.display()
    ))
}

/// Parse a results file (or the preferred export of a run directory) into a dict.
#[pyfunction]
fn read_results(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    guard(|| {
        let parsed = py.detach(|| read_resolved(&path));
        match parsed {
            Ok(Ok(results)) => Ok(pythonize(py, &results)?),
            Ok(Err(e)) => Err(results_error(py, &e)),
            Err(dir) => Err(no_results_file(&dir)),
        }
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
        let answered = py.detach(|| match resolve(&path) {
            Ok(Some(file)) => Ok(results::lookup_many(file, &queries)),
            Ok(None) => Err(path.clone()),
            Err(e) => Ok(Err(e)),
        });
        match answered {
            Ok(Ok(mut answers)) => match answers.pop() {
                Some(answer) => answer.map_err(|e| lookup_error(&e)),
                None => Err(no_results_file(&path)),
            },
            Ok(Err(e)) => Err(results_error(py, &e)),
            Err(dir) => Err(no_results_file(&dir)),
        }
    })
}

/// Exports under `run_dir`, best first: `[{"path", "tool", "format"}, ...]`.
#[pyfunction]
fn find_result_files(py: Python<'_>, run_dir: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    guard(
        || match py.detach(|| results::find_result_files(&run_dir)) {
            Ok(files) => Ok(pythonize(py, &files)?),
            Err(e) => Err(results_error(py, &e)),
        },
    )
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
        rows.map_err(|e: CoreResultsError| results_error(py, &e))
    })
}

/// The per-GPU figure of a run: `(gpus, throughput / gpus)`, where `gpus` is the GPUs of its
/// engine nodes (`topology.engine_nodes` of `test-run.json`); `None` parts when unknown.
#[pyfunction]
#[pyo3(signature = (throughput, engine_nodes, gpus_per_node))]
fn per_gpu_throughput(
    throughput: Option<f64>,
    engine_nodes: Option<u32>,
    gpus_per_node: Option<u32>,
) -> (Option<u64>, Option<f64>) {
    let gpus = engine_nodes
        .zip(gpus_per_node)
        .and_then(|(n, g)| crate::results::engine_gpus(n, g));
    let value = throughput
        .zip(gpus)
        .and_then(|(t, g)| crate::results::per_gpu(t, g));
    (gpus, value)
}

/// Request counts of a results file or run directory and the verdict on them:
/// `{"succeeded", "failed", "verdict": "ok" | "flagged" | "failed", "cause"}`.
#[pyfunction]
fn request_outcome(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    guard(|| {
        let outcome = py.detach(|| match resolve(&path) {
            Ok(Some(file)) => Ok(results::read_request_outcome(file)),
            Ok(None) => Err(path.clone()),
            Err(e) => Ok(Err(e)),
        });
        match outcome {
            Ok(Ok(outcome)) => Ok(pythonize(py, &outcome)?),
            Ok(Err(e)) => Err(results_error(py, &e)),
            Err(dir) => Err(no_results_file(&dir)),
        }
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
    guard(
        || match py.detach(|| results::read_run_record(&path, results_dir.as_deref())) {
            Ok(record) => Ok(pythonize(py, &record)?),
            Err(e) => Err(results_error(py, &e)),
        },
    )
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("MAX_PARSE_BYTES", results::MAX_PARSE_BYTES)?;
    m.add("MAX_SCAN_BYTES", results::MAX_SCAN_BYTES)?;
    m.add_function(wrap_pyfunction!(request_outcome, m)?)?;
    m.add_function(wrap_pyfunction!(read_run_record, m)?)?;
    m.add_function(wrap_pyfunction!(per_gpu_throughput, m)?)?;
    m.add_function(wrap_pyfunction!(read_results, m)?)?;
    m.add_function(wrap_pyfunction!(get_metric, m)?)?;
    m.add_function(wrap_pyfunction!(find_result_files, m)?)?;
    m.add_function(wrap_pyfunction!(read_metrics_many, m)?)?;
    Ok(())
}
