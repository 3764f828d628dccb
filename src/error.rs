//! The crate's one error type: each layer's error (configuration, rendering, results, metric
//! lookup, metric keys) folds into [`Error`], which the pyo3 layer turns into a Python exception in one
//! place (`src/python/errors.rs`).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{ConfigError, Diagnostic};
use crate::render::RenderError;
use crate::results::{LookupError, MetricKeyError, ResultsError};

/// What [`Error::NoResultsFile`] says after the directory.
pub const NO_RESULTS_FILE: &str = "no genai-perf/aiperf results file (*_genai_perf.csv/json, *_aiperf.csv/json) under this directory";

/// Any failure of the core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration files are invalid (every problem of every file).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A valid configuration that cannot be written as Slurm scripts, or a write that failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A results file that cannot be read or is malformed.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// A metric or statistic that a well-formed results file does not have.
    #[error("{}: {source}", path.display())]
    Lookup {
        /// The results file searched.
        path: PathBuf,
        /// What is missing.
        source: LookupError,
    },
    /// A run directory without any results export.
    #[error("{}: {NO_RESULTS_FILE}", dir.display())]
    NoResultsFile {
        /// The directory searched.
        dir: PathBuf,
    },
    /// A run of a test with an accuracy benchmark whose summary is nowhere CloudAI looks
    /// (or only as an empty file, which CloudAI takes for none).
    #[error("{}: {}", dir.display(), no_accuracy_summary(looked_for))]
    NoAccuracySummary {
        /// The run directory.
        dir: PathBuf,
        /// The places looked at, relative to `dir`, in CloudAI's order.
        looked_for: Vec<PathBuf>,
    },
    /// A metric key CloudAI's DSE may not ask for.
    #[error(transparent)]
    MetricKey(#[from] MetricKeyError),
}

/// What [`Error::NoAccuracySummary`] says after the directory.
fn no_accuracy_summary(looked_for: &[PathBuf]) -> String {
    let places: Vec<String> = looked_for.iter().map(|p| p.display().to_string()).collect();
    format!("no accuracy summary (looked for {})", places.join(", "))
}

/// `ENOENT`: Python makes an `OSError` with this errno a `FileNotFoundError`.
const ENOENT: i32 = 2;

/// An [`Error`] that is an operating-system error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsError {
    pub errno: i32,
    /// The OS's text for `errno`, without Rust's " (os error N)" suffix.
    pub strerror: String,
    pub filename: PathBuf,
}

/// The structured fields of an [`Error`] ([`Error::fields`]), serialised as a map.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ErrorFields<'a> {
    Config {
        errors: &'a [Diagnostic],
    },
    Render {
        run: Option<&'a str>,
    },
    Position {
        path: Cow<'a, str>,
        line: Option<usize>,
        column: Option<usize>,
    },
    Lookup {
        path: Cow<'a, str>,
        metric: &'a str,
        stat: Option<&'a str>,
    },
    MetricKey {
        key: &'a str,
    },
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The file an I/O failure concerns and its OS error, when this is one: such errors are
    /// `OSError`s in Python, keeping `errno` and `filename`.
    pub fn io(&self) -> Option<(&Path, &std::io::Error)> {
        match self {
            Error::Render(RenderError::Io { path, source })
            | Error::Results(ResultsError::Io { path, source }) => Some((path, source)),
            _ => None,
        }
    }

    /// This error as an operating-system error, when it is one (an I/O failure, or a missing
    /// results file): Python raises it as `OSError(errno, strerror, filename)`, which picks
    /// the subclass from the errno (`FileNotFoundError`, ...) as its own `open()` does.
    pub fn os_error(&self) -> Option<OsError> {
        if let Some((path, source)) = self.io() {
            let text = source.to_string();
            return Some(OsError {
                errno: source.raw_os_error().unwrap_or(0),
                strerror: text.split(" (os error").next().unwrap_or(&text).to_owned(),
                filename: path.to_owned(),
            });
        }
        match self {
            Error::NoResultsFile { dir } => Some(OsError {
                errno: ENOENT,
                strerror: NO_RESULTS_FILE.to_owned(),
                filename: dir.clone(),
            }),
            Error::NoAccuracySummary { dir, looked_for } => Some(OsError {
                errno: ENOENT,
                strerror: no_accuracy_summary(looked_for),
                filename: dir.clone(),
            }),
            _ => None,
        }
    }

    /// The exception class of `cloudai_dynamo_rs.errors` that this error is raised as in
    /// Python (errors that are [`Self::os_error`]s or [`Self::is_interrupted`] excepted).
    pub fn class_name(&self) -> &'static str {
        match self {
            Error::Config(_) => "ConfigError",
            Error::Render(_) => "RenderError",
            Error::Results(_) => "ResultsError",
            Error::Lookup { .. } => "MetricNotFoundError",
            Error::NoResultsFile { .. } | Error::NoAccuracySummary { .. } => "ResultsError",
            Error::MetricKey(_) => "MetricKeyError",
        }
    }

    /// The structured fields of this error's exception, by name (the keyword arguments of
    /// its class in `cloudai_dynamo_rs.errors`).
    pub fn fields(&self) -> ErrorFields<'_> {
        match self {
            Error::Config(c) => ErrorFields::Config {
                errors: &c.diagnostics,
            },
            Error::Render(r) => ErrorFields::Render { run: r.run() },
            Error::Results(r) => {
                let (line, column) = r.position().unzip();
                ErrorFields::Position {
                    path: r.path().to_string_lossy(),
                    line,
                    column,
                }
            }
            Error::Lookup { path, source } => ErrorFields::Lookup {
                path: path.to_string_lossy(),
                metric: source.metric(),
                stat: source.stat(),
            },
            Error::NoResultsFile { dir } | Error::NoAccuracySummary { dir, .. } => {
                ErrorFields::Position {
                    path: dir.to_string_lossy(),
                    line: None,
                    column: None,
                }
            }
            Error::MetricKey(k) => ErrorFields::MetricKey { key: k.key() },
        }
    }

    /// Whether writing stopped because a signal arrived (Python: the signal's exception).
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Render(RenderError::Interrupted))
    }

    /// A lookup failure of the file at `path`.
    pub fn lookup(path: &Path, source: LookupError) -> Self {
        Error::Lookup {
            path: path.to_owned(),
            source,
        }
    }
}
