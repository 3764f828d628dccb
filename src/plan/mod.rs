//! What a scenario will cost before anything is submitted: jobs, nodes and GPUs per job,
//! node-hours as an upper bound (time limit × nodes) and, from earlier results of the same
//! tests, an estimate; the sweep points pruned and why; the order the tests start in.
//!
//! A job without a time limit (none in the scenario, or `UNLIMITED`) has no upper bound: Slurm
//! then applies the partition's default, which the files do not say. Such jobs are counted
//! apart, the total bound is reported as unknown (`null`), and `run` asks for confirmation.

mod history;
mod order;
mod text;

use std::path::Path;

use indexmap::IndexMap;
use serde::Serialize;

use crate::config::{
    Checks, ConfigError, Dependency, PrunedPoint, SweepValue, TestRun, Workspace, load_workspace,
    slurm_time_seconds,
};
pub use history::{History, Source};
pub use order::{Order, order};

/// Version of the `plan.json` layout; bumped when a field changes meaning or goes away.
pub const SCHEMA: &str = "cloudaix-plan/1";
/// File name of the plan in a results directory.
pub const PLAN_FILE: &str = "plan.json";
/// Node-hours above which `run` asks before submitting (when stdin is a terminal).
pub const DEFAULT_CONFIRM_NODE_HOURS: f64 = 100.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Range {
    pub min: u32,
    pub max: u32,
}

impl Range {
    fn of(values: impl IntoIterator<Item = u32>) -> Option<Range> {
        values.into_iter().fold(None, |r, v| {
            Some(match r {
                None => Range { min: v, max: v },
                Some(r) => Range {
                    min: r.min.min(v),
                    max: r.max.max(v),
                },
            })
        })
    }
}

/// Node-hours of a set of jobs, bounded by their time limits.
#[derive(Clone, Debug, Serialize)]
pub struct NodeHours {
    /// Σ time limit × nodes, over the jobs that have a time limit.
    pub bounded: f64,
    /// `bounded` when every job has a time limit; `None` when some have none.
    pub upper_bound: Option<f64>,
    pub jobs_without_time_limit: usize,
    /// `upper_bound` × `gpus_per_node` (GPUs are allocated per node, the frontend's too).
    pub gpu_hours_upper_bound: Option<f64>,
}

impl NodeHours {
    fn of<'a>(runs: impl IntoIterator<Item = &'a RunPlan>, gpus_per_node: Option<u32>) -> Self {
        let (mut bounded, mut without) = (0.0, 0);
        for r in runs {
            match r.node_hours_upper_bound {
                Some(h) => bounded += h,
                None => without += 1,
            }
        }
        let upper_bound = (without == 0).then_some(bounded);
        NodeHours {
            bounded,
            upper_bound,
            jobs_without_time_limit: without,
            gpu_hours_upper_bound: upper_bound
                .zip(gpus_per_node)
                .map(|(h, g)| h * f64::from(g)),
        }
    }
}

/// Node-hours expected from the elapsed times of earlier completed runs.
#[derive(Clone, Debug, Serialize)]
pub struct Estimate {
    /// Σ estimated elapsed × nodes over `jobs` (not over the jobs without earlier results).
    pub node_hours: f64,
    /// Jobs with earlier results of the same case or test.
    pub jobs: usize,
    pub jobs_total: usize,
}

impl Estimate {
    fn of<'a>(runs: impl IntoIterator<Item = &'a RunPlan>) -> Option<Self> {
        let (mut node_hours, mut jobs, mut total) = (0.0, 0, 0);
        for r in runs {
            total += 1;
            if let Some(s) = r.estimate_seconds {
                node_hours += s * f64::from(r.nodes) / 3600.0;
                jobs += 1;
            }
        }
        (jobs > 0).then_some(Estimate {
            node_hours,
            jobs,
            jobs_total: total,
        })
    }
}

/// One job of the plan.
#[derive(Clone, Debug, Serialize)]
pub struct RunPlan {
    /// Run directory relative to the results directory: `<test id>/<iteration>[/<step>]`.
    pub key: String,
    pub id: String,
    pub test_name: String,
    pub iteration: u32,
    pub step: Option<usize>,
    pub params: IndexMap<String, SweepValue>,
    pub nodes: u32,
    pub gpus: Option<u32>,
    pub time_limit_seconds: Option<u64>,
    pub node_hours_upper_bound: Option<f64>,
    /// Mean elapsed seconds of earlier completed runs, capped at the time limit.
    pub estimate_seconds: Option<f64>,
    pub estimate_from: Option<Source>,
}

/// One scenario entry of the plan.
#[derive(Clone, Debug, Serialize)]
pub struct TestPlan {
    pub id: String,
    pub test_name: String,
    pub iterations: u32,
    /// Sweep cases that run (1 without a sweep).
    pub cases: usize,
    pub pruned_cases: usize,
    pub jobs: usize,
    pub nodes_per_job: Option<Range>,
    pub gpus_per_job: Option<Range>,
    pub time_limit: Option<String>,
    pub time_limit_seconds: Option<u64>,
    pub node_hours: NodeHours,
    pub estimate: Option<Estimate>,
    pub dependencies: Vec<Dependency>,
}

/// The whole plan; serialised as `plan.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub schema: &'static str,
    pub scenario: String,
    pub system: String,
    pub gpus_per_node: Option<u32>,
    pub jobs: usize,
    pub nodes_per_job: Option<Range>,
    pub gpus_per_job: Option<Range>,
    pub node_hours: NodeHours,
    pub estimate: Option<Estimate>,
    /// Earlier results the estimate was drawn from.
    pub history: HistoryInfo,
    pub order: Order,
    pub tests: Vec<TestPlan>,
    pub pruned: Vec<PrunedPoint>,
    pub runs: Vec<RunPlan>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HistoryInfo {
    pub results_dirs: usize,
    pub completed_runs: usize,
}

fn time_limit_seconds(run: &TestRun) -> Option<u64> {
    run.time_limit
        .as_deref()
        .and_then(slurm_time_seconds)
        .flatten()
}

fn run_plan(run: &TestRun, gpus_per_node: Option<u32>, history: &History) -> RunPlan {
    let nodes = run.topology.num_nodes;
    let limit = time_limit_seconds(run);
    let estimate = history.estimate(&run.test_name, nodes, &run.params);
    RunPlan {
        key: run.relative_dir().to_string_lossy().into_owned(),
        id: run.id.clone(),
        test_name: run.test_name.clone(),
        iteration: run.iteration,
        step: run.step,
        params: run.params.clone(),
        nodes,
        gpus: gpus_per_node.map(|g| g * nodes),
        time_limit_seconds: limit,
        node_hours_upper_bound: limit.map(|s| s as f64 * f64::from(nodes) / 3600.0),
        estimate_seconds: estimate.map(|(s, _)| limit.map_or(s, |l| s.min(l as f64))),
        estimate_from: estimate.map(|(_, src)| src),
    }
}

/// The plan of a validated workspace, with estimates from `history`.
pub fn build(ws: &Workspace, history: &History) -> Plan {
    let gpn = ws.system.gpus_per_node;
    let runs: Vec<RunPlan> = ws.runs.iter().map(|r| run_plan(r, gpn, history)).collect();
    let tests = ws
        .scenario
        .tests
        .iter()
        .map(|entry| {
            let mine: Vec<&RunPlan> = runs.iter().filter(|r| r.id == entry.id).collect();
            let pruned_cases = ws.pruned.iter().filter(|p| p.id == entry.id).count();
            let limit = entry.time_limit.as_deref().and_then(slurm_time_seconds);
            TestPlan {
                id: entry.id.clone(),
                test_name: entry.test_name.clone(),
                iterations: entry.iterations,
                cases: mine.len() / entry.iterations.max(1) as usize,
                pruned_cases,
                jobs: mine.len(),
                nodes_per_job: Range::of(mine.iter().map(|r| r.nodes)),
                gpus_per_job: Range::of(mine.iter().filter_map(|r| r.gpus)),
                time_limit: entry.time_limit.clone(),
                time_limit_seconds: limit.flatten(),
                node_hours: NodeHours::of(mine.iter().copied(), gpn),
                estimate: Estimate::of(mine.iter().copied()),
                dependencies: entry.dependencies.clone(),
            }
        })
        .collect();
    Plan {
        schema: SCHEMA,
        scenario: ws.scenario.name.clone(),
        system: ws.system.name.clone(),
        gpus_per_node: gpn,
        jobs: runs.len(),
        nodes_per_job: Range::of(runs.iter().map(|r| r.nodes)),
        gpus_per_job: Range::of(runs.iter().filter_map(|r| r.gpus)),
        node_hours: NodeHours::of(&runs, gpn),
        estimate: Estimate::of(&runs),
        history: HistoryInfo {
            results_dirs: history.results_dirs,
            completed_runs: history.completed_runs,
        },
        order: order(&ws.scenario.tests),
        tests,
        pruned: ws.pruned.clone(),
        runs,
    }
}

impl Plan {
    /// Why `run` should ask before submitting, given the node-hour threshold; `None` when it
    /// need not. A plan without an upper bound always asks: nothing says it is small.
    pub fn confirmation(&self, threshold: f64) -> Option<String> {
        if self.jobs == 0 {
            return None;
        }
        match self.node_hours.upper_bound {
            None => Some(format!(
                "{} job(s) have no time limit, so the node-hours have no upper bound",
                self.node_hours.jobs_without_time_limit
            )),
            Some(h) if h > threshold => Some(format!(
                "up to {h:.2} node-hours, above the confirmation threshold of {threshold} node-hours"
            )),
            Some(_) => None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// Validate the three inputs and plan them, with earlier results from `output_root` (default:
/// the system's `output_path`).
pub fn plan_files(
    system: &Path,
    tests: &[std::path::PathBuf],
    scenario: &Path,
    output_root: Option<&Path>,
    checks: Checks,
) -> Result<Plan, ConfigError> {
    let ws = load_workspace(system, tests, scenario, checks)?;
    Ok(plan_workspace(&ws, output_root))
}

/// The plan of a loaded workspace, with the history under `output_root` (or `output_path`).
pub fn plan_workspace(ws: &Workspace, output_root: Option<&Path>) -> Plan {
    let root = output_root.unwrap_or_else(|| Path::new(&ws.system.output_path));
    build(ws, &History::scan(root))
}
