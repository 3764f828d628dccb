//! The test scenario TOML: which tests run, how often, on how many nodes, with which
//! per-test overrides.

use serde::Serialize;

use super::diagnostic::Cx;
use super::node::{Node, Value};
use super::parse::{
    boolean, float_in, non_empty_string, one_of, positive, slurm_time, string_list,
};
use super::reader::{TableReader, list_of_tables};
use super::sweep::{Sweep, sweep};

#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    pub name: String,
    pub job_status_check: bool,
    pub tests: Vec<ScenarioTest>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioTest {
    pub id: String,
    pub test_name: String,
    /// `None` when the scenario leaves the count to the test (1 + prefill + decode).
    pub num_nodes: Option<Sweep<u32>>,
    /// Explicit hostnames or `PARTITION:GROUP:N` specs.
    pub nodes: Vec<String>,
    pub time_limit: Option<String>,
    pub iterations: u32,
    pub dependencies: Vec<Dependency>,
    pub weight: Option<f64>,
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

pub fn read_scenario(node: &Node, cx: &mut Cx) -> Option<Scenario> {
    let mut r = TableReader::new(node, "", cx)?;
    let name = r.required(cx, "name", non_empty_string);
    let job_status_check = r.or(cx, "job_status_check", true, boolean);
    let tests = r.required(cx, "Tests", |n, cx, p| list_of_tables(n, cx, p, read_entry));
    // Hooks are accepted for compatibility with CloudAI scenarios but not run by this tool.
    let _ = (r.get("pre_test"), r.get("post_test"), r.get("reports"));
    r.finish(cx);
    let tests = tests?;
    check_ids(&tests, cx);
    Some(Scenario {
        name: name?,
        job_status_check,
        tests,
    })
}

fn read_entry(r: &mut TableReader, cx: &mut Cx) -> Option<ScenarioTest> {
    let id = r.required(cx, "id", non_empty_string);
    let test_name = r.required(cx, "test_name", non_empty_string);
    let num_nodes = r.optional(cx, "num_nodes", sweep(positive));
    let nodes = r.or(cx, "nodes", Vec::new(), string_list);
    let time_limit = r.optional(cx, "time_limit", slurm_time);
    let iterations = r.or(cx, "iterations", 1, positive);
    let dependencies = r.or(cx, "dependencies", Vec::new(), |n, cx, p| {
        list_of_tables(n, cx, p, |d, cx| {
            let kind = d.required(cx, "type", one_of(DEPENDENCY_KINDS))?;
            let id = d.required(cx, "id", non_empty_string)?;
            Some(Dependency { kind, id })
        })
    });
    let weight = r.optional(cx, "weight", float_in(f64::NEG_INFINITY, f64::INFINITY));
    let _ = (r.get("sol"), r.get("ideal_gpu_efficiency"));
    let overrides = collect_overrides(r);
    Some(ScenarioTest {
        id: id?,
        test_name: test_name?,
        num_nodes,
        nodes,
        time_limit,
        iterations,
        dependencies,
        weight,
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

fn check_ids(tests: &[ScenarioTest], cx: &mut Cx) {
    for (i, t) in tests.iter().enumerate() {
        // The id names the run's directory.
        if t.id.contains(['/', '\\', '\n', '\r', '\0']) || t.id == "." || t.id == ".." {
            cx.error(t.span, &format!("Tests[{i}].id"), format!("expected a test id usable as a directory name (no '/', line break, '.' or '..'), found {:?}", t.id));
        }
        if tests[..i].iter().any(|o| o.id == t.id) {
            cx.error(
                t.span,
                &format!("Tests[{i}].id"),
                format!("duplicate test id {:?}", t.id),
            );
        }
        for (j, d) in t.dependencies.iter().enumerate() {
            if !tests.iter().any(|o| o.id == d.id) {
                cx.error(
                    t.span,
                    &format!("Tests[{i}].dependencies[{j}].id"),
                    format!(
                        "expected the id of a test in this scenario, found {:?}",
                        d.id
                    ),
                );
            } else if d.id == t.id {
                cx.error(
                    t.span,
                    &format!("Tests[{i}].dependencies[{j}].id"),
                    "a test cannot depend on itself",
                );
            }
        }
    }
}
