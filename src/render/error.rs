//! Why a run's scripts cannot be written: its node plan, a value that cannot go into a script,
//! or the file system.

use std::path::PathBuf;

use super::quote::{QuoteError, SbatchLineError};
use crate::standalone::LocalPlanError;
use crate::topology::PlanError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A run whose files cannot be generated.
    #[error("{run}: {source}")]
    Invalid { run: String, source: ScriptError },
    /// A run whose nodes cannot be planned on the system.
    #[error("{run}: {source}")]
    Plan { run: String, source: PlanError },
    /// A standalone job whose local processes cannot be planned on this machine.
    #[error("{run}: {source}")]
    Local { run: String, source: LocalPlanError },
    #[error("results directory {0} and its numbered variants up to _{1} all exist already")]
    Exists(PathBuf, u32),
    #[error("interrupted; nothing was written")]
    Interrupted,
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl RenderError {
    /// The run the error concerns (its directory relative to the results directory, or its
    /// id), when it is one run's.
    pub fn run(&self) -> Option<&str> {
        match self {
            RenderError::Invalid { run, .. }
            | RenderError::Plan { run, .. }
            | RenderError::Local { run, .. } => Some(run),
            RenderError::Exists(..) | RenderError::Interrupted | RenderError::Io { .. } => None,
        }
    }
}

/// A valid configuration whose values cannot be written into a run's scripts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    #[error(transparent)]
    Quote(#[from] QuoteError),
    #[error("extra_sbatch_args entry {line:?}: {source}")]
    SbatchLine {
        line: String,
        source: SbatchLineError,
    },
    #[error("environment variable {name}: {source}")]
    EnvValue { name: String, source: QuoteError },
    #[error("container mount {0:?} contains a comma, which pyxis reads as a separator")]
    MountComma(String),
    #[error("path {} is not UTF-8", .0.display())]
    PathNotUtf8(PathBuf),
    #[error("path {0:?} contains a line break")]
    PathLineBreak(String),
    #[error("{0} is still a list: expand sweeps before rendering one run")]
    UnpinnedSweep(String),
    #[error("no node plan for a current-schema test")]
    NoCurrentPlan,
    #[error(transparent)]
    Record(#[from] serde_json::Error),
}
