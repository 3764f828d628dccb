//! The cost plan: figures of a 1000-case sweep against values computed here from the axes,
//! pruned sweep points with their reasons, the start order, estimates from earlier results.

use std::fs;
use std::path::{Path, PathBuf};

use cloudai_dynamo_rs::config::{Checks, ConfigError, Workspace, load_workspace};
use cloudai_dynamo_rs::plan::{self, History, Plan, Source};

const SEED: &str = include_str!("data/config/seed_test.toml");

fn system(partition_nodes: Option<&str>) -> String {
    let mut s = String::from(
        "name = \"sys\"\nscheduler = \"slurm\"\ninstall_path = \"/tmp/i\"\noutput_path = \"/tmp/o\"\ndefault_partition = \"batch\"\ngpus_per_node = 8\n",
    );
    if let Some(nodes) = partition_nodes {
        s.push_str(&format!(
            "[[partitions]]\nname = \"batch\"\n  [[partitions.groups]]\n  name = \"g\"\n  nodes = [\"{nodes}\"]\n"
        ));
    }
    s
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }
    fn workspace(
        &self,
        system: &str,
        tests: &[(&str, &str)],
        scenario: &str,
    ) -> Result<Workspace, ConfigError> {
        let sys = self.write("system.toml", system);
        let tests: Vec<PathBuf> = tests
            .iter()
            .map(|(name, text)| self.write(&format!("tests/{name}.toml"), text))
            .collect();
        let sc = self.write("scenario.toml", scenario);
        load_workspace(
            &sys,
            &tests,
            &sc,
            Checks {
                host_paths: false,
                ..Checks::default()
            },
        )
    }
}

const PREFILL: [u32; 5] = [1, 2, 3, 4, 5];
const DECODE: [u32; 2] = [1, 2];
const CONCURRENCY: [u32; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const MODES: [&str; 10] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
const ITERATIONS: u32 = 2;
const LIMIT_HOURS: f64 = 1.5; // "01:30:00"

/// A test sweeping 5 × 2 × 10 × 10 = 1000 cases, named `name`.
fn sweep_test(name: &str) -> String {
    let list = |v: &[u32]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let modes: Vec<String> = MODES.iter().map(|m| format!("\"{m}\"")).collect();
    SEED.replace(
        "name = \"llama3.1_405b_fp8\"",
        &format!("name = \"{name}\""),
    )
    .replace(
        "[cmd_args.dynamo.prefill_worker]\n  num_nodes = 1",
        &format!(
            "[cmd_args.dynamo.prefill_worker]\n  num_nodes = [{}]",
            list(&PREFILL)
        ),
    )
    .replace(
        "[cmd_args.dynamo.vllm_worker]\n  num_nodes = 0",
        &format!(
            "[cmd_args.dynamo.vllm_worker]\n  num_nodes = [{}]",
            list(&DECODE)
        ),
    )
    .replace(
        "streaming = true",
        &format!("streaming = true\n  concurrency = [{}]", list(&CONCURRENCY)),
    )
    .replace(
        "HF_HOME =",
        &format!("MODE = [{}]\nHF_HOME =", modes.join(", ")),
    )
}

fn sweep_scenario() -> String {
    format!(
        "name = \"big\"\n[[Tests]]\nid = \"sweep\"\ntest_name = \"big\"\niterations = {ITERATIONS}\ntime_limit = \"01:30:00\"\n"
    )
}

impl Dir {
    /// The 1000-case sweep on a system whose partition holds `partition_nodes`.
    fn sweep(&self, partition_nodes: Option<&str>) -> Workspace {
        let test = sweep_test("big");
        self.workspace(
            &system(partition_nodes),
            &[("big", &test)],
            &sweep_scenario(),
        )
        .unwrap()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// Every case of the sweep in case order (last axis fastest): (step, prefill, decode).
fn cases() -> Vec<(usize, u32, u32)> {
    let mut out = Vec::new();
    for &p in &PREFILL {
        for &d in &DECODE {
            for _ in CONCURRENCY {
                for _ in MODES {
                    out.push((out.len() + 1, p, d));
                }
            }
        }
    }
    out
}

#[test]
fn thousand_case_sweep_figures_match_hand_computation() {
    let d = Dir::new();
    let ws = d.sweep(None);
    let p = plan::build(&ws, &History::default());
    let all = cases();
    assert_eq!(all.len(), 1000);
    let jobs = all.len() * ITERATIONS as usize;
    // Σ over cases and iterations of (1 frontend + prefill + decode) × 1.5 h.
    let bound: f64 = all
        .iter()
        .map(|&(_, p, d)| f64::from(1 + p + d) * LIMIT_HOURS * f64::from(ITERATIONS))
        .sum();
    // By hand: Σ_p Σ_d (1+p+d) = 55 node-sets, × 100 cases each × 2 iterations × 1.5 h.
    assert!(close(bound, 55.0 * 100.0 * 2.0 * 1.5));
    assert_eq!(p.jobs, jobs);
    assert_eq!(p.runs.len(), jobs);
    assert_eq!(
        (p.nodes_per_job.unwrap().min, p.nodes_per_job.unwrap().max),
        (3, 8)
    );
    assert_eq!(
        (p.gpus_per_job.unwrap().min, p.gpus_per_job.unwrap().max),
        (24, 64)
    );
    assert!(close(p.node_hours.upper_bound.unwrap(), bound));
    assert!(close(
        p.node_hours.gpu_hours_upper_bound.unwrap(),
        bound * 8.0
    ));
    assert_eq!(p.node_hours.jobs_without_time_limit, 0);
    assert!(p.estimate.is_none());
    assert!(p.pruned.is_empty());
    let t = &p.tests[0];
    assert_eq!(
        (t.cases, t.jobs, t.pruned_cases, t.iterations),
        (1000, 2000, 0, 2)
    );
    assert_eq!(t.time_limit_seconds, Some(5400));
    // Each run: its own case's nodes and bound; iterations of a case are consecutive.
    for (i, r) in p.runs.iter().enumerate() {
        let (step, pre, dec) = all[i / ITERATIONS as usize];
        assert_eq!(r.step, Some(step));
        assert_eq!(r.iteration, (i % ITERATIONS as usize) as u32);
        assert_eq!(r.nodes, 1 + pre + dec);
        assert_eq!(r.gpus, Some(8 * (1 + pre + dec)));
        assert!(close(
            r.node_hours_upper_bound.unwrap(),
            f64::from(1 + pre + dec) * 1.5
        ));
    }
    assert_eq!(p.runs[3].key, "sweep/1/2");
    assert_eq!(
        p.summary(),
        format!(
            "plan: 2000 jobs, 3-8 nodes (24-64 GPUs) per job, <= {bound:.2} node-hours (time limit x nodes)"
        )
    );
    assert_eq!(
        p.summary(),
        "plan: 2000 jobs, 3-8 nodes (24-64 GPUs) per job, <= 16500.00 node-hours (time limit x nodes)"
    );
    assert!(p.confirmation(plan::DEFAULT_CONFIRM_NODE_HOURS).is_some());
    assert!(p.confirmation(16_500.0).is_none());
}

#[test]
fn impossible_sweep_points_are_pruned_with_their_reason() {
    let d = Dir::new();
    // A 6-node partition: cases needing 7 or 8 nodes cannot run.
    let ws = d.sweep(Some("n[1-6]"));
    let p = plan::build(&ws, &History::default());
    let all = cases();
    let pruned: Vec<&(usize, u32, u32)> = all.iter().filter(|c| 1 + c.1 + c.2 > 6).collect();
    // (4,2), (5,1), (5,2): 3 of the 10 node combinations, 100 cases each.
    assert_eq!(pruned.len(), 300);
    assert_eq!(p.pruned.len(), 300);
    for (point, &&(step, pre, dec)) in p.pruned.iter().zip(&pruned) {
        assert_eq!(point.step, step);
        assert_eq!(point.jobs, ITERATIONS);
        assert_eq!(point.id, "sweep");
        assert_eq!(
            point.reason,
            format!(
                "expected at most 6 nodes (the nodes of partition \"batch\" in the system file), found 1 frontend + {pre} prefill + {dec} decode = {}",
                1 + pre + dec
            )
        );
    }
    let kept: f64 = all
        .iter()
        .filter(|c| 1 + c.1 + c.2 <= 6)
        .map(|&(_, p, d)| f64::from(1 + p + d) * LIMIT_HOURS * f64::from(ITERATIONS))
        .sum();
    assert!(close(kept, (55.0 - 22.0) * 100.0 * 2.0 * 1.5));
    assert_eq!(p.jobs, 700 * 2);
    assert!(close(p.node_hours.upper_bound.unwrap(), kept));
    assert_eq!(p.nodes_per_job.unwrap().max, 6);
    // Steps keep their case numbers: the first pruned case leaves a gap.
    let first = pruned[0].0;
    assert!(p.runs.iter().all(|r| r.step != Some(first)));
    assert!(p.runs.iter().any(|r| r.step == Some(first - 1)));
    assert!(p.summary().ends_with(", 300 sweep points pruned"));
    assert!(p.text().contains(&format!(
        "  sweep step {first} [dynamo.prefill_worker.num_nodes=4, dynamo.decode_worker.num_nodes=2, genai_perf.concurrency=1, extra_env_vars.MODE=a]: expected at most 6 nodes (the nodes of partition \"batch\" in the system file), found 1 frontend + 4 prefill + 2 decode = 7\n"
    )));
}

#[test]
fn gpu_and_node_count_rules_prune_sweeps_and_reject_single_runs() {
    let d = Dir::new();
    let tp = SEED.replace(
        "[cmd_args.dynamo.prefill_worker]\n  num_nodes = 1",
        "[cmd_args.dynamo.prefill_worker]\n  num_nodes = 1\n  tensor_parallel_size = [4, 8, 16]\n  pipeline_parallel_size = [1, 2]",
    );
    let sc = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n";
    let ws = d.workspace(&system(None), &[("t", &tp)], sc).unwrap();
    // tp × pp > 8 GPUs of the one prefill node: (8,2), (16,1), (16,2).
    let steps: Vec<usize> = ws.pruned.iter().map(|p| p.step).collect();
    assert_eq!(steps, vec![4, 5, 6]);
    assert_eq!(
        ws.pruned[0].reason,
        "dynamo.prefill_worker: expected tensor_parallel_size × pipeline_parallel_size ≤ gpus_per_node (8), found 8 × 2 = 16"
    );
    assert_eq!(ws.runs.len(), 3);
    // The scenario's num_nodes as a fixed count: cases needing more are pruned.
    let nodes = SEED.replace("num_nodes = 1", "num_nodes = [1, 2, 3]");
    let sc4 = format!("{sc}num_nodes = 3\n");
    let ws = d.workspace(&system(None), &[("t", &nodes)], &sc4).unwrap();
    assert_eq!(ws.runs.len(), 2);
    assert_eq!(ws.pruned.len(), 1);
    assert_eq!(
        ws.pruned[0].reason,
        "expected at least 4 nodes (1 frontend + 3 prefill + 0 decode), found num_nodes = 3"
    );
    // Not a sweep, or every case impossible: an error, as before, and nothing is pruned.
    let single = SEED.replace(
        "num_nodes = 1",
        "num_nodes = 1\n  tensor_parallel_size = 16",
    );
    let e = d
        .workspace(&system(None), &[("t", &single)], sc)
        .unwrap_err();
    assert_eq!(e.diagnostics.len(), 1);
    assert!(
        e.diagnostics[0]
            .message
            .starts_with("dynamo.prefill_worker: expected tensor_parallel_size")
    );
    let big = SEED.replace("num_nodes = 1", "num_nodes = [6, 7]");
    let e = d
        .workspace(&system(Some("n[1-4]")), &[("t", &big)], sc)
        .unwrap_err();
    let msgs: Vec<&str> = e.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs,
        vec![
            "expected at most 4 nodes (the nodes of partition \"batch\" in the system file), found 1 frontend + 6 prefill + 0 decode = 7 (sweep case dynamo.prefill_worker.num_nodes=6)",
            "expected at most 4 nodes (the nodes of partition \"batch\" in the system file), found 1 frontend + 7 prefill + 0 decode = 8 (sweep case dynamo.prefill_worker.num_nodes=7)",
        ]
    );
}

#[test]
fn dependency_order_is_by_stage() {
    let d = Dir::new();
    let entry = |id: &str, deps: &[(&str, &str)]| {
        let mut s = format!("[[Tests]]\nid = \"{id}\"\ntest_name = \"llama3.1_405b_fp8\"\n");
        for (kind, on) in deps {
            s.push_str(&format!(
                "  [[Tests.dependencies]]\n  type = \"{kind}\"\n  id = \"{on}\"\n"
            ));
        }
        s
    };
    let sc = [
        "name = \"deps\"\n".to_string(),
        entry("c", &[("start_post_init", "b")]),
        entry("b", &[("start_post_comp", "a")]),
        entry("a", &[]),
        entry("d", &[("end_post_comp", "a")]),
        entry("e", &[("start_post_comp", "c"), ("start_post_init", "a")]),
    ]
    .concat();
    let ws = d.workspace(&system(None), &[("t", SEED)], &sc).unwrap();
    let p = plan::build(&ws, &History::default());
    assert_eq!(
        p.order.stages,
        vec![vec!["a", "d"], vec!["b"], vec!["c"], vec!["e"]]
    );
    let text = p.text();
    let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} not in {text}"));
    assert!(pos("stage 1: a (") < pos("stage 1: d ("));
    assert!(pos("stage 1: d (") < pos("stage 2: b ("));
    assert!(pos("stage 2: b (") < pos("stage 3: c ("));
    assert!(text.contains("stage 3: c (llama3.1_405b_fp8): 1 job, 2 nodes (16 GPUs) per job, time limit none, node-hours unbounded (1 job without time limit); starts once b has started\n"));
    assert!(text.contains("; cancelled when a ends\n"));
    assert!(text.contains("stage 4: e (llama3.1_405b_fp8): 1 job, 2 nodes (16 GPUs) per job, time limit none, node-hours unbounded (1 job without time limit); starts after c ends; starts once a has started\n"));
}

/// One earlier run: test id, test name, iteration, step, sweep values (JSON), nodes, status,
/// elapsed seconds.
type Earlier<'a> = (&'a str, &'a str, u32, usize, &'a str, u32, &'a str, f64);

/// A results directory as dry-run and run leave it: runs.json, and status.json per run.
fn earlier_results(root: &Path, name: &str, runs: &[Earlier]) {
    let dir = root.join(name);
    let mut index = Vec::new();
    for &(id, test_name, iteration, step, params, nodes, status, elapsed) in runs {
        index.push(format!(
            "{{\"id\": \"{id}\", \"test_name\": \"{test_name}\", \"iteration\": {iteration}, \"step\": {step}, \"params\": {params}, \"num_nodes\": {nodes}, \"run_dir\": \"/elsewhere\", \"sbatch\": \"/elsewhere/x\", \"dependencies\": [], \"prefill\": 0, \"decode\": 0}}"
        ));
        let run_dir = dir
            .join(id)
            .join(iteration.to_string())
            .join(step.to_string());
        fs::create_dir_all(&run_dir).unwrap();
        fs::write(
            run_dir.join("status.json"),
            format!("{{\"key\": \"k\", \"job_id\": \"1\", \"slurm_state\": \"COMPLETED\", \"status\": \"{status}\", \"cause\": \"\", \"elapsed\": {elapsed}}}"),
        )
        .unwrap();
    }
    fs::write(dir.join("runs.json"), format!("[{}]", index.join(","))).unwrap();
}

#[test]
fn estimates_come_from_earlier_completed_runs_of_the_same_case_then_test() {
    let d = Dir::new();
    let ws = d.sweep(None);
    let root = d.0.path().join("results");
    let case1 = r#"{"dynamo.prefill_worker.num_nodes": 1, "dynamo.decode_worker.num_nodes": 1, "genai_perf.concurrency": 1, "extra_env_vars.MODE": "a"}"#;
    let case2 = r#"{"dynamo.prefill_worker.num_nodes": 1, "dynamo.decode_worker.num_nodes": 1, "genai_perf.concurrency": 1, "extra_env_vars.MODE": "b"}"#;
    earlier_results(
        &root,
        "big_2026-01-01_00-00-00",
        &[
            ("sweep", "big", 0, 1, case1, 3, "completed", 600.0),
            ("sweep", "big", 1, 1, case1, 3, "completed", 1200.0),
            // Longer than the new time limit: capped at 5400 s.
            ("sweep", "big", 0, 2, case2, 3, "completed", 9000.0),
            // Failed and timed-out runs say nothing about a run's length.
            ("sweep", "big", 1, 2, case2, 3, "failed", 10.0),
            ("sweep", "big", 0, 3, case2, 3, "timeout", 5400.0),
            // Another test's results are not this test's.
            ("x", "other", 0, 1, "{}", 3, "completed", 50.0),
        ],
    );
    // A staging directory of an interrupted dry-run is not history.
    earlier_results(
        &root,
        ".big_x.partial-1",
        &[("sweep", "big", 0, 1, case1, 3, "completed", 1.0)],
    );
    let history = History::scan(&root);
    assert_eq!((history.results_dirs, history.completed_runs), (1, 4));
    let p = plan::build(&ws, &history);
    let case1_mean = (600.0 + 1200.0) / 2.0;
    let test_mean = (600.0 + 1200.0 + 9000.0) / 3.0;
    let mut expected = 0.0;
    for r in &p.runs {
        let (secs, source) = match r.step {
            Some(1) => (case1_mean, Source::SameCase),
            Some(2) => (5400.0, Source::SameCase),
            _ => (test_mean, Source::SameTest),
        };
        assert_eq!(r.estimate_from, Some(source), "{}", r.key);
        assert!(close(r.estimate_seconds.unwrap(), secs), "{}", r.key);
        expected += secs * f64::from(r.nodes) / 3600.0;
    }
    let e = p.estimate.as_ref().unwrap();
    assert_eq!((e.jobs, e.jobs_total), (2000, 2000));
    assert!(close(e.node_hours, expected));
    assert!(p.summary().contains(&format!(
        ", est. {expected:.2} node-hours from earlier runs"
    )));
    // No earlier run of this test at all: no estimate.
    let other = d.0.path().join("other");
    earlier_results(
        &other,
        "r",
        &[("x", "other", 0, 1, "{}", 3, "completed", 50.0)],
    );
    assert!(plan::build(&ws, &History::scan(&other)).estimate.is_none());
}

#[test]
fn missing_time_limits_leave_the_bound_open() {
    let d = Dir::new();
    let sc = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\ntime_limit = \"30\"\n[[Tests]]\nid = \"b\"\ntest_name = \"llama3.1_405b_fp8\"\n[[Tests]]\nid = \"c\"\ntest_name = \"llama3.1_405b_fp8\"\ntime_limit = \"UNLIMITED\"\n";
    let ws = d.workspace(&system(None), &[("t", SEED)], sc).unwrap();
    let p: Plan = plan::build(&ws, &History::default());
    // a: 30 minutes × 2 nodes; b and c have no bound.
    assert!(close(p.node_hours.bounded, 1.0));
    assert_eq!(p.node_hours.upper_bound, None);
    assert_eq!(p.node_hours.gpu_hours_upper_bound, None);
    assert_eq!(p.node_hours.jobs_without_time_limit, 2);
    assert_eq!(
        p.summary(),
        "plan: 3 jobs, 2 nodes (16 GPUs) per job, node-hours unbounded (2 jobs without time limit; <= 1.00 for the other 1)"
    );
    assert_eq!(
        p.confirmation(1e9).as_deref(),
        Some("2 job(s) have no time limit, so the node-hours have no upper bound")
    );
}
