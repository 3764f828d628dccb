//! The order in which a scenario's tests can start, from their dependencies.
//!
//! `start_post_comp` (start after the other test's runs all ended) and `start_post_init`
//! (start once they have started) hold a test back; `end_post_comp` does not (the test starts
//! at once and is cancelled when the other one ends), as in the runner and in CloudAI.

use serde::Serialize;

use crate::config::ScenarioTest;

/// Dependency kinds that delay a test's start.
const STARTS_AFTER: &[&str] = &["start_post_comp", "start_post_init"];

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Order {
    /// Test ids by stage, in scenario order within a stage: a test is one stage after the
    /// latest test it waits for. Validation rejects dependency cycles, so every test has one.
    pub stages: Vec<Vec<String>>,
}

/// Indices of the tests `t` waits for before it can start.
fn waits_for(tests: &[ScenarioTest], t: &ScenarioTest) -> Vec<usize> {
    let mut out: Vec<usize> = t
        .dependencies
        .iter()
        .filter(|d| STARTS_AFTER.contains(&d.kind.as_str()))
        .filter_map(|d| tests.iter().position(|o| o.id == d.id))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

pub fn order(tests: &[ScenarioTest]) -> Order {
    let deps: Vec<Vec<usize>> = tests.iter().map(|t| waits_for(tests, t)).collect();
    let mut stage: Vec<Option<usize>> = vec![None; tests.len()];
    // Longest path by relaxation: each pass settles at least one test of an acyclic graph.
    for _ in 0..tests.len() {
        let mut changed = false;
        for i in 0..tests.len() {
            if stage[i].is_some() {
                continue;
            }
            let settled: Option<Vec<usize>> = deps[i].iter().map(|&d| stage[d]).collect();
            if let Some(levels) = settled {
                stage[i] = Some(levels.iter().max().map_or(0, |m| m + 1));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let depth = stage.iter().flatten().max().map_or(0, |m| m + 1);
    let mut stages = vec![Vec::new(); depth];
    for (i, s) in stage.iter().enumerate() {
        if let Some(s) = s {
            stages[*s].push(tests[i].id.clone());
        }
    }
    Order { stages }
}
