//! Earlier results under an output root: how long completed runs of the same tests took.
//!
//! Every results directory written by dry-run holds `runs.json` (one entry per run: test id,
//! test name, iteration, step, sweep values, node count) and, once `run` has followed the job,
//! `<test id>/<iteration>[/<step>]/status.json` with the final status and `elapsed`, Slurm's
//! own figure when accounting knew it. Only completed runs count: a failed run stops early and
//! a timed-out one says nothing about the run's length.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::config::SweepValue;

/// Elapsed seconds of earlier completed runs, by case and by test.
#[derive(Debug, Default)]
pub struct History {
    by_case: HashMap<String, Vec<f64>>,
    by_test: HashMap<String, Vec<f64>>,
    /// Results directories that held a readable `runs.json`.
    pub results_dirs: usize,
    /// Completed runs with an elapsed time.
    pub completed_runs: usize,
}

/// Where an estimate of one run comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Earlier runs of the same test name, sweep values and node count.
    SameCase,
    /// Earlier runs of the same test name, any sweep values or node count.
    SameTest,
}

#[derive(Deserialize)]
struct IndexEntry {
    id: String,
    test_name: String,
    iteration: u32,
    step: Option<usize>,
    #[serde(default)]
    params: IndexMap<String, SweepValue>,
    num_nodes: u32,
}

#[derive(Deserialize)]
struct Status {
    status: String,
    elapsed: Option<f64>,
}

/// The key of one case: test name, node count and sweep values (in axis order, which the
/// test definition fixes).
pub fn case_key(test_name: &str, nodes: u32, params: &IndexMap<String, SweepValue>) -> String {
    let values = serde_json::to_string(params).unwrap_or_default();
    format!("{test_name}\u{0}{nodes}\u{0}{values}")
}

impl History {
    /// Read every results directory directly under `root` (hidden ones, such as a dry-run's
    /// staging directory, are skipped). A missing root is an empty history; unreadable or
    /// malformed files are not history and are skipped.
    pub fn scan(root: &Path) -> History {
        let mut history = History::default();
        for dir in crate::results::visible_subdirs(root) {
            history.add_results_dir(&dir);
        }
        history
    }

    fn add_results_dir(&mut self, dir: &Path) {
        let Ok(text) = fs::read(dir.join("runs.json")) else {
            return;
        };
        let Ok(index) = serde_json::from_slice::<Vec<IndexEntry>>(&text) else {
            return;
        };
        self.results_dirs += 1;
        for run in index {
            let mut run_dir = dir.join(&run.id).join(run.iteration.to_string());
            if let Some(step) = run.step {
                run_dir.push(step.to_string());
            }
            let Some(elapsed) = completed_elapsed(&run_dir.join(crate::render::STATUS_FILE)) else {
                continue;
            };
            self.completed_runs += 1;
            let key = case_key(&run.test_name, run.num_nodes, &run.params);
            self.by_case.entry(key).or_default().push(elapsed);
            self.by_test.entry(run.test_name).or_default().push(elapsed);
        }
    }

    /// Mean elapsed seconds of earlier completed runs of this case, else of this test.
    pub fn estimate(
        &self,
        test_name: &str,
        nodes: u32,
        params: &IndexMap<String, SweepValue>,
    ) -> Option<(f64, Source)> {
        if self.completed_runs == 0 {
            return None;
        }
        let key = case_key(test_name, nodes, params);
        if let Some(v) = self.by_case.get(&key) {
            return Some((mean(v), Source::SameCase));
        }
        self.by_test
            .get(test_name)
            .map(|v| (mean(v), Source::SameTest))
    }
}

fn completed_elapsed(path: &Path) -> Option<f64> {
    let status: Status = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
    let elapsed = status.elapsed?;
    (status.status == "completed" && elapsed.is_finite() && elapsed > 0.0).then_some(elapsed)
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}
