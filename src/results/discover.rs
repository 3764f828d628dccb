//! Locating result exports in a run directory.
//!
//! Only file names are looked at: the exports sit next to multi-GB `profile_export.jsonl`
//! and `inputs.json` files that must not be read.

use std::cmp::Reverse;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Format, ResultsError, Tool};

/// Deep enough for `<run>/<iteration>/<step>/artifacts/<model-...-concurrencyN>/phases/<phase>/`.
const MAX_DEPTH: usize = 12;

/// A result export found under a run directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultFile {
    /// Path of the file (under the directory searched).
    pub path: PathBuf,
    /// Tool that writes files of this name.
    pub tool: Tool,
    /// CSV or JSON.
    pub format: Format,
}

/// Finds genai-perf (`*_genai_perf.csv/json`) and aiperf (`*_aiperf.csv/json`) summary
/// exports anywhere under `run_dir`, best first.
///
/// Preference order: anything outside a `warmup` directory before warmup copies, then
/// shallower paths first (so aiperf's top-level export beats `phases/profiling/`), then
/// genai-perf's `profile*` names, CSV before JSON, then path order. `analyze_export_*`
/// sweeps and crashed aiperf `.partial` files are not summary exports and are skipped.
pub fn find_result_files(run_dir: impl AsRef<Path>) -> Result<Vec<ResultFile>, ResultsError> {
    let root = run_dir.as_ref();
    let mut found = Vec::new();
    walk(root, 0, &mut |path, name| {
        if let Some((tool, format)) = classify(name) {
            found.push(ResultFile { path, tool, format });
        }
    })
    .map_err(|source| ResultsError::Io {
        path: root.to_owned(),
        source,
    })?;
    found.sort_by_cached_key(|f: &ResultFile| {
        let rel = f.path.strip_prefix(root).unwrap_or(&f.path);
        let warmup = rel.components().any(|c| c.as_os_str() == "warmup");
        let depth = rel.components().count();
        let name = f.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let profile_name = name.starts_with("profile");
        (
            warmup,
            depth,
            Reverse(profile_name),
            f.format == Format::Json,
            f.path.clone(),
        )
    });
    Ok(found)
}

/// The preferred CSV export under `run_dir` (see [`find_result_files`]), if any.
pub fn best_result_csv(run_dir: impl AsRef<Path>) -> Result<Option<PathBuf>, ResultsError> {
    Ok(find_result_files(run_dir)?
        .into_iter()
        .find(|f| f.format == Format::Csv)
        .map(|f| f.path))
}

/// The export a run is reported from: the preferred CSV, else the preferred JSON (see
/// [`find_result_files`]).
pub fn best_result(run_dir: impl AsRef<Path>) -> Result<Option<ResultFile>, ResultsError> {
    let mut files = find_result_files(run_dir)?;
    let pick = files.iter().position(|f| f.format == Format::Csv);
    Ok(match pick {
        Some(i) => Some(files.swap_remove(i)),
        None => files.into_iter().next(),
    })
}

/// The path of [`best_result`].
pub fn best_result_file(run_dir: impl AsRef<Path>) -> Result<Option<PathBuf>, ResultsError> {
    Ok(best_result(run_dir)?.map(|f| f.path))
}

/// Every regular file (or symlink to one) under `dir`, down to [`MAX_DEPTH`], handed to `found`
/// with its name.
fn walk(dir: &Path, depth: usize, found: &mut dyn FnMut(PathBuf, &str)) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            // Unreadable subdirectories (permissions, races with a running job) are skipped
            // rather than failing the whole search.
            if depth < MAX_DEPTH {
                let _ = walk(&path, depth + 1, found);
            }
            continue;
        }
        // Symlinked directories are not followed (no cycles); symlinked files are fine.
        let is_file = file_type.is_file() || (file_type.is_symlink() && path.is_file());
        if let (true, Some(name)) = (is_file, entry.file_name().to_str()) {
            let name = name.to_owned();
            found(path, &name);
        }
    }
    Ok(())
}

/// aiperf's per-request records (`profile_export.jsonl`, one JSON object a request, written
/// next to its summary exports under `--artifact-dir`) anywhere under `run_dir`, in path order.
/// They hold what aiperf's log does not: each failed request's HTTP status.
pub fn find_request_records(run_dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, ResultsError> {
    let root = run_dir.as_ref();
    let mut found = Vec::new();
    walk(root, 0, &mut |path, name| {
        if is_request_records(name) {
            found.push(path);
        }
    })
    .map_err(|source| ResultsError::Io {
        path: root.to_owned(),
        source,
    })?;
    found.sort();
    Ok(found)
}

/// Whether a file name is aiperf's per-request export (`profile_export*.jsonl`).
fn is_request_records(name: &str) -> bool {
    name.starts_with("profile_export") && name.ends_with(".jsonl")
}

/// Which export a file name denotes, if any.
fn classify(name: &str) -> Option<(Tool, Format)> {
    let (stem, format) = if let Some(s) = name.strip_suffix(".csv") {
        (s, Format::Csv)
    } else if let Some(s) = name.strip_suffix(".json") {
        (s, Format::Json)
    } else {
        return None;
    };
    if stem.ends_with("_genai_perf") && !stem.starts_with("analyze_export") {
        Some((Tool::GenaiPerf, format))
    } else if stem.ends_with("_aiperf") {
        Some((Tool::Aiperf, format))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{classify, is_request_records};
    use crate::results::{Format, Tool};

    #[test]
    fn names() {
        assert_eq!(
            classify("profile_genai_perf.csv"),
            Some((Tool::GenaiPerf, Format::Csv))
        );
        assert_eq!(
            classify("x_c10_genai_perf.json"),
            Some((Tool::GenaiPerf, Format::Json))
        );
        assert_eq!(
            classify("profile_export_aiperf.csv"),
            Some((Tool::Aiperf, Format::Csv))
        );
        assert_eq!(classify("analyze_export_genai_perf.csv"), None);
        assert_eq!(classify("profile_export_aiperf.csv.partial"), None);
        assert_eq!(classify("profile_export_aiperf_timeslices.csv"), None);
        assert_eq!(classify("profile_export.json"), None);
        assert_eq!(classify("genai_perf_report.csv"), None);
    }

    #[test]
    fn request_record_names() {
        assert!(is_request_records("profile_export.jsonl"));
        assert!(is_request_records("profile_export_raw.jsonl"));
        assert!(!is_request_records("profile_export_aiperf.json"));
        assert!(!is_request_records("profile_export.jsonl.partial"));
        assert!(!is_request_records("inputs.json"));
    }
}
