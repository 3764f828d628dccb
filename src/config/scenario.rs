//! The test scenario TOML: which tests run, how often, on how many nodes, with which
//! per-test overrides.

use std::collections::HashMap;

use serde::Serialize;

use super::diagnostic::Diagnostics;
use super::node::{Node, Value};
use super::parse::{boolean, float_in, non_empty_string, one_of, positive, slurm_time};
use super::reader::{TableReader, list_of_tables};
use super::sweep::{Sweep, sweep};
use super::text::{MAX_NAME_BYTES, MAX_SCENARIO_NAME_BYTES, host_lists, path_component_problem};

#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    pub name: String,
    pub job_status_check: bool,
    pub tests: Vec<ScenarioTest>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioTest {
    pub id: String,
    /// The test it runs; for a test defined inline (CloudAI main), its `name`.
    pub test_name: String,
    /// The entry defines its test itself (`name`, `test_template_name`, `cmd_args`, …)
    /// instead of naming one of the tests directory.
    pub inline: bool,
    /// `None` when the scenario leaves the count to the test (1 + prefill + decode).
    pub num_nodes: Option<Sweep<u32>>,
    /// Explicit hostnames or `PARTITION:GROUP:N` specs.
    pub nodes: Vec<String>,
    pub time_limit: Option<String>,
    pub iterations: u32,
    pub dependencies: Vec<Dependency>,
    pub weight: Option<f64>,
    /// srun options of this entry, after the system's.
    pub extra_srun_args: Vec<String>,
    /// Hostnames Slurm must not allocate (`--exclude`).
    pub exclude_nodes: Vec<String>,
    /// Fields of the test definition overridden for this entry (cmd_args, extra_env_vars, …),
    /// kept as spanned TOML so that errors point into the scenario file.
    #[serde(skip)]
    pub overrides: Option<Node>,
    /// Where this entry starts in the scenario file.
    #[serde(skip)]
    pub span: super::source::Span,
}

#[derive(Clone, Debug, Serialize)]
pub struct Dependency {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// Test-definition fields a scenario entry may override.
pub const OVERRIDABLE: &[&str] = &[
    "name",
    "description",
    "test_template_name",
    "dse_excluded_args",
    "cmd_args",
    "extra_env_vars",
    "extra_cmd_args",
    "extra_container_mounts",
    "git_repos",
    "agent",
    "agent_steps",
    "agent_metrics",
    "agent_reward_function",
];

pub const DEPENDENCY_KINDS: &[&str] = &["start_post_init", "start_post_comp", "end_post_comp"];

pub fn read_scenario(node: &Node, diags: &mut Diagnostics) -> Option<Scenario> {
    let mut r = TableReader::new(node, "", diags)?;
    let name = r.required(diags, "name", non_empty_string);
    let r_name_node = r.get("name");
    let job_status_check = r.with_default(diags, "job_status_check", true, boolean);
    let tests = r.required(diags, "Tests", |n, diags, p| {
        list_of_tables(n, diags, p, read_entry)
    });
    // Hooks are accepted for compatibility with CloudAI scenarios but not run by this tool.
    let _ = (r.get("pre_test"), r.get("post_test"), r.get("reports"));
    r.finish(diags);
    let tests = tests?;
    check_ids(&tests, diags);
    if let (Some(n), Some(node)) = (&name, r_name_node) {
        // The name becomes the results directory's name, with a timestamp appended.
        if n.len() > MAX_SCENARIO_NAME_BYTES {
            diags.error(
                node.span,
                "name",
                format!(
                    "expected a scenario name of at most {MAX_SCENARIO_NAME_BYTES} bytes (it names the results directory), found {}",
                    short(n)
                ),
            );
        }
    }
    Some(Scenario {
        name: name?,
        job_status_check,
        tests,
    })
}

fn read_entry(r: &mut TableReader, diags: &mut Diagnostics) -> Option<ScenarioTest> {
    let id = r.required(diags, "id", non_empty_string);
    let inline = r.get("test_name").is_none() && r.get("test_template_name").is_some();
    let test_name = if inline {
        r.required(diags, "name", non_empty_string)
    } else {
        let given = r.get("test_name").is_some();
        let name = r.required(diags, "test_name", non_empty_string);
        if !given {
            if let Some(d) = diags.found.last_mut() {
                d.message
                    .push_str(" (or define the test here with `name` and `test_template_name`)");
            }
        }
        name
    };
    let num_nodes = r.optional(diags, "num_nodes", sweep(positive));
    let nodes = r.with_default(diags, "nodes", Vec::new(), host_lists(true));
    let time_limit = r.optional(diags, "time_limit", slurm_time);
    let iterations = r.with_default(diags, "iterations", 1, positive);
    let dependencies = r.with_default(diags, "dependencies", Vec::new(), |n, diags, p| {
        list_of_tables(n, diags, p, |d, diags| {
            let kind = d.required(diags, "type", one_of(DEPENDENCY_KINDS))?;
            let id = d.required(diags, "id", non_empty_string)?;
            Some(Dependency { kind, id })
        })
    });
    let weight = r.optional(diags, "weight", float_in(f64::NEG_INFINITY, f64::INFINITY));
    // CloudAI fields for its own reports and agents; accepted, not used by this engine.
    let _ = (
        r.get("sol"),
        r.get("ideal_gpu_efficiency"),
        r.get("ideal_perf"),
        r.get("agent_config"),
        r.get("nsys"),
    );
    let extra_srun_args = r.with_default(diags, "extra_srun_args", Vec::new(), |n, diags, p| {
        let s = non_empty_string(n, diags, p)?;
        match super::shell_words::split_words(&s) {
            Ok(w) => Some(w),
            Err(e) => {
                diags.error(
                    n.span,
                    p,
                    format!("expected srun options, found {s:?}: {e}"),
                );
                None
            }
        }
    });
    let exclude_nodes = r.with_default(diags, "exclude_nodes", Vec::new(), host_lists(false));
    let overrides = collect_overrides(r);
    Some(ScenarioTest {
        id: id?,
        test_name: test_name?,
        inline,
        num_nodes,
        nodes,
        time_limit,
        iterations,
        dependencies,
        weight,
        extra_srun_args,
        exclude_nodes,
        overrides,
        span: r.span(),
    })
}

/// The overridable fields of an entry, as a table node to merge over the test definition.
fn collect_overrides(r: &mut TableReader) -> Option<Node> {
    let mut entries = Vec::new();
    for name in OVERRIDABLE {
        if let Some(node) = r.get(name) {
            let key = super::node::Key {
                name: (*name).to_string(),
                span: node.span,
            };
            entries.push((key, node.clone()));
        }
    }
    (!entries.is_empty()).then(|| Node {
        value: Value::Table(entries),
        span: r.span(),
    })
}

fn check_ids(tests: &[ScenarioTest], diags: &mut Diagnostics) {
    // First entry of each id (maps, not scans: a scenario may list many tests).
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(tests.len());
    for (i, t) in tests.iter().enumerate() {
        // The id names the run's directory.
        if let Some(problem) = path_component_problem(&t.id, MAX_NAME_BYTES) {
            diags.error(
                t.span,
                &format!("Tests[{i}].id"),
                format!(
                    "expected a test id usable as a directory name, found {}, which {problem}",
                    short(&t.id)
                ),
            );
        }
        if first.contains_key(t.id.as_str()) {
            diags.error(
                t.span,
                &format!("Tests[{i}].id"),
                format!("duplicate test id {:?}", t.id),
            );
        } else {
            first.insert(&t.id, i);
        }
    }
    for (i, t) in tests.iter().enumerate() {
        for (j, d) in t.dependencies.iter().enumerate() {
            if !first.contains_key(d.id.as_str()) {
                diags.error(
                    t.span,
                    &format!("Tests[{i}].dependencies[{j}].id"),
                    format!(
                        "expected the id of a test in this scenario, found {:?}",
                        d.id
                    ),
                );
            } else if d.id == t.id {
                diags.error(
                    t.span,
                    &format!("Tests[{i}].dependencies[{j}].id"),
                    "a test cannot depend on itself",
                );
            }
        }
    }
    check_cycles(tests, diags);
}

fn short(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() > MAX {
        format!(
            "{:?}… ({} bytes)",
            s.chars().take(MAX).collect::<String>(),
            s.len()
        )
    } else {
        format!("{s:?}")
    }
}

/// A test waits for its dependencies whatever their kind, so any cycle of dependencies (a
/// waits for b, b for a) would leave every test on it unsubmitted. Each cycle is reported
/// once, at its first test in file order, naming every test on it. Self-dependencies are
/// reported by [`check_ids`].
fn check_cycles(tests: &[ScenarioTest], diags: &mut Diagnostics) {
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(tests.len());
    for (i, t) in tests.iter().enumerate() {
        first.entry(&t.id).or_insert(i);
    }
    let index_of = |id: &str| first.get(id).copied();
    // Edges by index, first occurrence of a duplicated id only.
    let edges: Vec<Vec<usize>> = tests
        .iter()
        .map(|t| {
            let mut e: Vec<usize> = t
                .dependencies
                .iter()
                .filter_map(|d| index_of(&d.id))
                .filter(|&j| tests[j].id != t.id)
                .collect();
            e.dedup();
            e
        })
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; tests.len()];
    let mut reported: Vec<Vec<usize>> = Vec::new();
    for start in 0..tests.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative depth-first search: the path and each node's next edge to follow.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&to) = edges[node].get(*next) {
                *next += 1;
                match mark[to] {
                    Mark::New => {
                        mark[to] = Mark::OnPath;
                        path.push((to, 0));
                    }
                    Mark::OnPath => {
                        let from = path.iter().position(|&(n, _)| n == to).unwrap_or(0);
                        let mut cycle: Vec<usize> = path[from..].iter().map(|&(n, _)| n).collect();
                        // Same cycle, same message: rotate to its smallest index.
                        let min = cycle
                            .iter()
                            .enumerate()
                            .min_by_key(|&(_, n)| *n)
                            .map_or(0, |(i, _)| i);
                        cycle.rotate_left(min);
                        if !reported.contains(&cycle) {
                            report_cycle(tests, &cycle, diags);
                            reported.push(cycle);
                        }
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                path.pop();
            }
        }
    }
}

fn report_cycle(tests: &[ScenarioTest], cycle: &[usize], diags: &mut Diagnostics) {
    let first = cycle[0];
    let names: Vec<String> = cycle
        .iter()
        .chain(std::iter::once(&first))
        .map(|&i| format!("{:?}", tests[i].id))
        .collect();
    diags.error(
        tests[first].span,
        &format!("Tests[{first}].dependencies"),
        format!(
            "dependency cycle: {} (each waits for the next, so none would ever start)",
            names.join(" → ")
        ),
    );
}
