//! The crate's one error type: each layer's error (configuration, rendering, results, metric
//! lookup) folds into [`Error`], which the pyo3 layer turns into a Python exception in one
//! place (`src/python/errors.rs`).

use std::path::{Path, PathBuf};

use crate::config::ConfigError;
use crate::render::RenderError;
use crate::results::{LookupError, ResultsError};

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
