//! The results tree `dry-run` writes: `<results>/<test id>/<iteration>[/<step>]/`, each run
//! directory holding its record (`test-run.json`). The report lists runs from it, the plan's
//! history reads earlier results roots with the same walk.

use std::fs;
use std::path::{Path, PathBuf};

use crate::render::RECORD_FILE;

/// The directories directly under `dir`, sorted, hidden ones (a dry-run's staging directory)
/// left out. A missing or unreadable `dir` has none.
pub(crate) fn visible_subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        // Followed through symlinks, as a linked run directory is still a run (the report
        // refuses to write through it, the listing does not hide it).
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn is_number(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Every run directory under `results_dir`: `<test id>/<iteration>/` or
/// `<test id>/<iteration>/<step>/` (numbered) that holds a record, sorted by path.
pub fn run_dirs(results_dir: &Path) -> Vec<PathBuf> {
    let mut runs = Vec::new();
    for test in visible_subdirs(results_dir) {
        for iteration in visible_subdirs(&test).into_iter().filter(|d| is_number(d)) {
            if iteration.join(RECORD_FILE).is_file() {
                runs.push(iteration.clone());
            }
            for step in visible_subdirs(&iteration)
                .into_iter()
                .filter(|d| is_number(d))
            {
                if step.join(RECORD_FILE).is_file() {
                    runs.push(step);
                }
            }
        }
    }
    runs
}
