//! `test-run.json`, the record `dry-run` leaves in every run directory, read back for the
//! report as the untrusted input it is: the report writes files where the record says the
//! run belongs and shows its sweep parameters as columns, so a tampered record must not
//! place files outside the results tree nor invent columns.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::error::ResultsError;
use super::position::line_col;
use super::read_small;
use super::sources::{RawCmdArgs, Source};
use crate::config::is_axis_key;

/// What the report needs of a run's record, validated against where the record lies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// Test id: the name of the directory two (or, for a sweep step, three) levels up.
    pub id: String,
    /// Iteration: the name of the iteration directory.
    pub iteration: u32,
    /// Sweep step (1-based): the name of the step directory, for sweeps.
    pub step: Option<u32>,
    /// Sweep parameters, axis path → value (`genai_perf.concurrency` → 4).
    pub params: IndexMap<String, serde_json::Value>,
    /// Prefill worker nodes of the node plan.
    pub prefill_nodes: Option<u32>,
    /// Decode worker nodes of the node plan.
    pub decode_nodes: Option<u32>,
    /// Nodes of the whole job.
    pub num_nodes: Option<u32>,
    /// Nodes that run an engine (the per-GPU divisor's node count).
    pub engine_nodes: Option<u32>,
    /// The load generator's concurrency (an integer stays one); for the current schema,
    /// the primary source's.
    pub concurrency: Option<serde_json::Value>,
    /// Current schema: the aiperf phases and genai-perf runs the job reports, in order.
    /// Empty for the seed schema (its one export is found by name).
    pub sources: Vec<Source>,
    /// Current schema with `aiperf_accuracy`: where the accuracy summary may lie, in
    /// CloudAI's order (relative to the run directory). Empty: no accuracy asked.
    pub accuracy_files: Vec<std::path::PathBuf>,
}

#[derive(Deserialize)]
struct Raw {
    id: String,
    iteration: u32,
    #[serde(default)]
    step: Option<u32>,
    #[serde(default)]
    params: Option<IndexMap<String, serde_json::Value>>,
    #[serde(default)]
    topology: Option<RawTopology>,
    #[serde(default)]
    test: Option<RawTest>,
}

#[derive(Deserialize)]
struct RawTopology {
    prefill: Option<u32>,
    decode: Option<u32>,
    num_nodes: Option<u32>,
    engine_nodes: Option<u32>,
}

#[derive(Deserialize)]
struct RawTest {
    #[serde(default)]
    cmd_args: Option<RawCmdArgs>,
}

/// Reads the record at `path`, which must lie under `results_dir` as
/// `<id>/<iteration>[/<step>]/test-run.json`, and agree with that place.
///
/// Without `results_dir` (a host framework's own run directory, where only that directory
/// is written), the place is not checked; types and parameters still are.
pub fn read_run_record(path: &Path, results_dir: Option<&Path>) -> Result<RunRecord, ResultsError> {
    let data = read_small(path, "a run record")?;
    let text = std::str::from_utf8(&data).map_err(|e| {
        let (line, col) = line_col(&data, e.valid_up_to());
        bad(path, line, col, "expected UTF-8 text".to_owned())
    })?;
    let raw: Raw = serde_json::from_str(text).map_err(|e| {
        bad(
            path,
            e.line().max(1),
            e.column().max(1),
            format!("invalid run record: {e}"),
        )
    })?;
    let at = |key: &str, message: String| {
        let (line, col) = top_level_key(text, key).map_or((1, 1), |o| line_col(data.as_slice(), o));
        bad(path, line, col, message)
    };

    if let Some(results_dir) = results_dir {
        check_place(path, results_dir, &raw, &at)?;
    }
    let params = raw.params.unwrap_or_default();
    for (key, value) in &params {
        if !is_axis_key(key) {
            return Err(at(
                "params",
                format!(
                    "params: key {key:?} is not a sweep axis; expected `num_nodes` or a dotted field path such as `genai_perf.concurrency`"
                ),
            ));
        }
        let scalar = match value {
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => true,
            serde_json::Value::String(s) => s.len() <= 4096 && !s.chars().any(char::is_control),
            _ => false,
        };
        if !scalar {
            return Err(at(
                "params",
                format!(
                    "params.{key}: expected a number, a boolean or a one-line string, found {value}"
                ),
            ));
        }
    }
    let cmd_args = raw.test.and_then(|t| t.cmd_args);
    let (sources, accuracy_files) = match &cmd_args {
        Some(c) if c.is_current() => c
            .sources()
            .map_err(|e| at("test", format!("test.cmd_args.{e}")))?,
        _ => Default::default(),
    };
    let concurrency = match &cmd_args {
        Some(c) if c.is_current() => sources
            .iter()
            .find(|s| s.primary)
            .and_then(|s| s.concurrency.clone()),
        Some(c) => c.seed_concurrency(),
        None => None,
    };
    if let Some(c) = &concurrency {
        if !c.as_f64().is_some_and(|v| v.is_finite() && v > 0.0) {
            return Err(at(
                "test",
                format!("test.cmd_args.*.concurrency: expected a positive number, found {c}"),
            ));
        }
    }
    let topology = raw.topology;
    Ok(RunRecord {
        id: raw.id,
        iteration: raw.iteration,
        step: raw.step,
        params,
        prefill_nodes: topology.as_ref().and_then(|t| t.prefill),
        decode_nodes: topology.as_ref().and_then(|t| t.decode),
        num_nodes: topology.as_ref().and_then(|t| t.num_nodes),
        engine_nodes: topology.as_ref().and_then(|t| t.engine_nodes),
        concurrency,
        sources,
        accuracy_files,
    })
}

/// The place decides; the record must agree with it: inside `results_dir` (symlinks
/// resolved), and id, iteration and step equal to the directories it lies in.
fn check_place(
    path: &Path,
    results_dir: &Path,
    raw: &Raw,
    at: &dyn Fn(&str, String) -> ResultsError,
) -> Result<(), ResultsError> {
    let inside = std::fs::canonicalize(path)
        .ok()
        .zip(std::fs::canonicalize(results_dir).ok())
        .is_some_and(|(p, root)| p.starts_with(root));
    if !inside {
        return Err(bad(
            path,
            1,
            1,
            format!(
                "run record is not inside the results directory {}",
                results_dir.display()
            ),
        ));
    }
    let dirs: Vec<&str> = path
        .parent()
        .into_iter()
        .flat_map(|p| p.ancestors())
        .take(3)
        .map(|p| p.file_name().and_then(|n| n.to_str()).unwrap_or(""))
        .collect();
    let (id_dir, iteration_dir, step_dir) = match raw.step {
        Some(_) => (dirs.get(2), dirs.get(1), dirs.first()),
        None => (dirs.get(1), dirs.first(), None),
    };
    if id_dir != Some(&raw.id.as_str()) {
        return Err(at(
            "id",
            format!(
                "id: expected `{}`, the test directory this record is in, found {:?}",
                id_dir.unwrap_or(&""),
                raw.id
            ),
        ));
    }
    if iteration_dir != Some(&raw.iteration.to_string().as_str()) {
        return Err(at(
            "iteration",
            format!(
                "iteration: expected {}, the iteration directory this record is in, found {}",
                iteration_dir.unwrap_or(&""),
                raw.iteration
            ),
        ));
    }
    if let (Some(step), Some(dir)) = (raw.step, step_dir) {
        if *dir != step.to_string() {
            return Err(at(
                "step",
                format!("step: expected {dir}, the step directory this record is in, found {step}"),
            ));
        }
    }
    Ok(())
}

fn bad(path: &Path, line: usize, col: usize, message: String) -> ResultsError {
    ResultsError::BadRecord {
        path: path.to_owned(),
        line,
        col,
        message,
    }
}

/// Byte offset of the key `key` of the top-level object (its opening quote), if present.
fn top_level_key(text: &str, key: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let quoted = format!("\"{key}\"");
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                if depth == 1 && text[i..].starts_with(&quoted) {
                    let rest = text[i + quoted.len()..].trim_start();
                    if rest.starts_with(':') {
                        return Some(i);
                    }
                }
                // Skip the string, escapes included.
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_keys() {
        let text = r#"{"test": {"id": 1, "x": "\"id\":"}, "id" : "a"}"#;
        assert_eq!(top_level_key(text, "id"), Some(36));
        assert_eq!(top_level_key(text, "x"), None);
    }
}
