//! A whole set of files — system, tests, scenario — validated together and expanded into the
//! test runs that will be written and submitted.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;

use super::any_test::{AnyTest, read_any_test};
use super::diagnostic::{ConfigError, Diagnostic, Diagnostics};
use super::gen2::prune_reason;
use super::node::{Node, Value, merge};
use super::scenario::{Dependency, Scenario, ScenarioTest, read_scenario};
use super::source::{FileId, Sources, Span};
use super::sweep::{SweepValue, product};
use super::system::{ContainerRuntime, SystemConfig, read_system};
use super::test_def::TEMPLATE_NAME;
use super::{parse_file, read_source};
use crate::topology::{self, Topology};

/// How many runs a scenario may expand to unless the user raises the limit (`--max-runs`): a
/// typo in a sweep (`[1, 1000]` written `[1..1000]`-style as a thousand values) or in
/// `iterations` must not fill the disk.
pub const DEFAULT_MAX_RUNS: u64 = 10_000;

/// Checks beyond the schema, and limits.
#[derive(Clone, Copy, Debug)]
pub struct Checks {
    /// `extra_env_vars.HF_HOME` must be set and name an existing directory.
    pub host_paths: bool,
    /// Most runs (tests × iterations × sweep cases) a scenario may expand to.
    pub max_runs: u64,
}

impl Default for Checks {
    fn default() -> Self {
        Self {
            host_paths: true,
            max_runs: DEFAULT_MAX_RUNS,
        }
    }
}

/// Validated files and every test run they describe.
#[derive(Debug, Serialize)]
pub struct Workspace {
    pub system: SystemConfig,
    pub scenario: Scenario,
    pub runs: Vec<TestRun>,
    /// Sweep cases left out, each with its reason (see [`PrunedPoint`]).
    pub pruned: Vec<PrunedPoint>,
    /// Non-fatal findings (e.g. more nodes requested than used), with their position.
    pub warnings: Vec<Diagnostic>,
}

/// One job: a scenario entry, at one iteration and (for sweeps) one case.
#[derive(Clone, Debug, Serialize)]
pub struct TestRun {
    pub id: String,
    pub test_name: String,
    pub iteration: u32,
    /// 1-based sweep case, `None` when the test has no sweep.
    pub step: Option<usize>,
    /// The swept fields and their values in this case, in axis order.
    pub params: IndexMap<String, SweepValue>,
    pub test: AnyTest,
    pub time_limit: Option<String>,
    pub dependencies: Vec<Dependency>,
    pub topology: Topology,
    /// The scenario entry's srun options and excluded hosts.
    pub extra_srun_args: Vec<String>,
    pub exclude_nodes: Vec<String>,
}

impl TestRun {
    /// Run directory relative to the scenario's results directory.
    pub fn relative_dir(&self) -> PathBuf {
        let mut p = PathBuf::from(&self.id).join(self.iteration.to_string());
        if let Some(step) = self.step {
            p.push(step.to_string());
        }
        p
    }

    /// The container runtime of this run: the test's `cmd_args.container_runtime` if set,
    /// else the system's.
    pub fn container_runtime(&self, system: &SystemConfig) -> ContainerRuntime {
        match &self.test {
            AnyTest::Seed(t) => t.cmd_args.container_runtime,
            AnyTest::Current(_) => None,
        }
        .unwrap_or(system.container_runtime)
    }
}

/// A sweep case that cannot run and is left out of the runs, with the reason. A sweep keeps
/// its other cases (their step numbers do not change); a test whose every case is pruned, or
/// that is not a sweep, is an error instead. Reasons: an impossible node plan
/// ([`topology::plan`], [`topology::plan_current`]) and, for the current schema, CloudAI's
/// DSE constraints ([`prune_reason`]), checked first as CloudAI does.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrunedPoint {
    pub id: String,
    pub test_name: String,
    /// The 1-based sweep case this point would have been.
    pub step: usize,
    pub params: IndexMap<String, SweepValue>,
    pub reason: String,
    /// Jobs left out (one per iteration).
    pub jobs: u32,
}

struct LoadedTest {
    node: Node,
    def: Option<AnyTest>,
}

/// Validate the system, every test file and the scenario together, then expand the scenario
/// into test runs. All problems of all files are reported at once.
pub fn load_workspace(
    system_path: &Path,
    test_paths: &[PathBuf],
    scenario_path: &Path,
    checks: Checks,
) -> Result<Workspace, ConfigError> {
    let mut sources = Sources::default();
    let mut io_errors = Vec::new();
    let system_id = read_source(&mut sources, &mut io_errors, system_path);
    let test_ids: Vec<_> = test_paths
        .iter()
        .filter_map(|p| read_source(&mut sources, &mut io_errors, p))
        .collect();
    let scenario_id = read_source(&mut sources, &mut io_errors, scenario_path);
    load_sources(
        &sources,
        io_errors,
        system_id,
        &test_ids,
        scenario_id,
        checks,
    )
}

/// [`load_workspace`] over texts rather than files (`(name, text)` pairs; names are used in
/// errors): for hosts that hold the files in memory, and for fuzzing the whole pipeline.
pub fn load_workspace_texts(
    system: (&str, &str),
    tests: &[(&str, &str)],
    scenario: (&str, &str),
    checks: Checks,
) -> Result<Workspace, ConfigError> {
    let mut sources = Sources::default();
    let mut add = |(name, text): (&str, &str)| sources.add(name, text.to_string());
    let system_id = add(system);
    let test_ids: Vec<FileId> = tests.iter().map(|t| add(*t)).collect();
    let scenario_id = add(scenario);
    load_sources(
        &sources,
        Vec::new(),
        Some(system_id),
        &test_ids,
        Some(scenario_id),
        checks,
    )
}

fn load_sources(
    sources: &Sources,
    io_errors: Vec<Diagnostic>,
    system_id: Option<FileId>,
    test_ids: &[FileId],
    scenario_id: Option<FileId>,
    checks: Checks,
) -> Result<Workspace, ConfigError> {
    let mut diags = Diagnostics::new(sources);
    diags.found = io_errors;
    let system = system_id
        .and_then(|id| parse_file(&mut diags, id))
        .and_then(|n| read_system(&n, &mut diags));
    let mut tests: Vec<LoadedTest> = Vec::new();
    for &id in test_ids {
        let Some(node) = parse_file(&mut diags, id) else {
            continue;
        };
        // A tests directory may hold other CloudAI workloads: only AIDynamo files are ours.
        if template_name(&node).is_some_and(|t| t != TEMPLATE_NAME) {
            continue;
        }
        let def = read_any_test(&node, &mut diags);
        tests.push(LoadedTest { node, def });
    }
    check_unique_names(&tests, &mut diags);
    let scenario = scenario_id
        .and_then(|id| parse_file(&mut diags, id))
        .and_then(|n| read_scenario(&n, &mut diags));

    let mut runs = Vec::new();
    let mut pruned = Vec::new();
    let mut warnings = Vec::new();
    if let (Some(system), Some(scenario)) = (&system, &scenario) {
        let mut planned = Vec::new();
        // The first file of each name (a duplicate is an error, reported above).
        let mut by_name = std::collections::HashMap::with_capacity(tests.len());
        for t in &tests {
            if let Some(d) = &t.def {
                by_name.entry(d.name()).or_insert(t);
            }
        }
        // For "unknown test" errors (only when every test file is valid: otherwise the name may
        // be that of a broken file). At most 20 names, however many files there are.
        let all_valid = tests.iter().all(|t| t.def.is_some());
        let mut names: Vec<&str> = by_name.keys().copied().collect();
        names.sort_unstable();
        let more = names.len().saturating_sub(20);
        names.truncate(20);
        let known_names = super::parse::quoted_list(&names)
            + &(if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            });
        for (index, entry) in scenario.tests.iter().enumerate() {
            // An entry defines its test inline (CloudAI main) or overrides a named one.
            let node = if entry.inline {
                let Some(node) = entry.overrides.clone() else {
                    continue;
                };
                node
            } else {
                let Some(test) = by_name.get(entry.test_name.as_str()).copied() else {
                    if all_valid {
                        diags.error(entry.span, &format!("Tests[{index}].test_name"), format!("expected the name of an AIDynamo test in the tests directory ({known_names}), found {:?}", entry.test_name));
                    }
                    continue;
                };
                let mut node = test.node.clone();
                if let Some(overrides) = &entry.overrides {
                    merge(&mut node, overrides);
                }
                node
            };
            let Some(def) = read_any_test(&node, &mut diags) else {
                continue;
            };
            if checks.host_paths {
                check_hf_home(&def, &node, &mut diags, Some(system));
            }
            planned.push((index, entry, def));
        }
        // Counted before anything is expanded, so that a huge scenario costs nothing.
        if check_run_count(&mut planned, checks.max_runs, &mut diags) {
            for (index, entry, def) in planned {
                let out = Expanded {
                    runs: &mut runs,
                    pruned: &mut pruned,
                    warnings: &mut warnings,
                };
                expand(system, entry, index, def, &mut diags, out);
            }
        }
    }
    let workspace = match (system, scenario) {
        (Some(system), Some(scenario)) if !diags.has_errors() => Some(Workspace {
            system,
            scenario,
            runs,
            pruned,
            warnings,
        }),
        _ => None,
    };
    diags.finish(workspace)
}

/// A scenario names tests by their `name`: two files with the same name would make the choice
/// depend on file order. Reported at the later file, naming the earlier one.
fn check_unique_names(tests: &[LoadedTest], diags: &mut Diagnostics) {
    let mut first_of: std::collections::HashMap<&str, &LoadedTest> =
        std::collections::HashMap::with_capacity(tests.len());
    for t in tests {
        let Some(def) = &t.def else { continue };
        let first = *first_of.entry(def.name()).or_insert(t);
        if !std::ptr::eq(first, t) {
            let at = |n: &Node| find(n, &["name"]).map_or(n.span, |v| v.span);
            let first_span = at(&first.node);
            let file = diags.sources.file(first_span.file);
            let (line, column) = file.position(first_span.start);
            let where_first = format!("{}:{line}:{column}", file.path.display());
            diags.error(
                at(&t.node),
                "name",
                format!(
                    "duplicate test name {:?}: {where_first} already defines it (a scenario's `test_name` must name one test)",
                    def.name()
                ),
            );
        }
    }
}

fn template_name(node: &Node) -> Option<&str> {
    let Value::Table(entries) = &node.value else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| k.name == "test_template_name")
        .and_then(|(_, v)| match &v.value {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        })
}

fn find<'n>(node: &'n Node, path: &[&str]) -> Option<&'n Node> {
    let mut cur = node;
    for name in path {
        let Value::Table(entries) = &cur.value else {
            return None;
        };
        cur = &entries.iter().find(|(k, _)| k.name == *name)?.1;
    }
    Some(cur)
}

/// How to get past a host check when the files are meant for another machine (the flag of
/// `verify-configs`, `dry-run` and `run`).
const SKIP_HINT: &str = "--skip-host-checks skips this check for files meant for another host";

/// HF_HOME is mounted into every node and holds the weights: check it before anything is
/// written (CloudAI found a bad one only while generating the sbatch, as a traceback).
fn check_hf_home(
    def: &AnyTest,
    node: &Node,
    diags: &mut Diagnostics,
    system: Option<&SystemConfig>,
) {
    let path = "extra_env_vars.HF_HOME";
    if let (AnyTest::Current(_), None, Some(system)) =
        (def, def.extra_env_vars().get("HF_HOME"), system)
    {
        let dir = &system.hf_home();
        if !Path::new(dir).is_dir() {
            diags.error(node.span, "hf_home_path", format!("expected the Hugging Face cache directory to exist on this host (the system's hf_home_path, default <install_path>/huggingface, or the test's extra_env_vars.HF_HOME), found {dir:?}, which does not exist or is not a directory"));
        }
        return;
    }
    if matches!(def, AnyTest::Current(_)) && def.extra_env_vars().get("HF_HOME").is_none() {
        // Checked with the system, which gives the default.
        return;
    }
    match def.extra_env_vars().get("HF_HOME") {
        None => {
            let span = find(node, &["extra_env_vars"]).map_or(node.span, |n| n.span);
            diags.error(span, path, "missing required field: set HF_HOME to the Hugging Face cache directory that holds the model weights");
        }
        Some(value) => {
            let span = find(node, &["extra_env_vars", "HF_HOME"]).map_or(node.span, |n| n.span);
            for dir in value.values() {
                if dir.trim().is_empty() {
                    diags.error(
                        span,
                        path,
                        "expected a directory path, found an empty string",
                    );
                } else if !Path::new(&dir).is_dir() {
                    diags.error(span, path, format!("expected an existing directory on this host, found {dir:?}, which does not exist or is not a directory; {SKIP_HINT}"));
                }
            }
        }
    }
}

/// How many runs one scenario entry expands to, and the factors that make it.
struct RunCount {
    /// `None` when the product does not fit in 128 bits.
    runs: Option<u128>,
    factors: Vec<String>,
}

fn count_runs(entry: &ScenarioTest, def: &mut AnyTest) -> RunCount {
    let mut runs: Option<u128> = Some(u128::from(entry.iterations));
    let mut factors = Vec::new();
    let mut axis = |name: &str, n: usize| {
        runs = runs.and_then(|r| r.checked_mul(n as u128));
        factors.push(format!("{n} values of {name}"));
    };
    for (name, slot) in def.sweep_slots() {
        if slot.is_list() {
            axis(&name, slot.value_count());
        }
    }
    if let Some(n) = entry.num_nodes.as_ref().filter(|s| s.is_sweep()) {
        axis("num_nodes", n.values().len());
    }
    let it = entry.iterations;
    factors.push(format!("{it} iteration{}", if it == 1 { "" } else { "s" }));
    RunCount { runs, factors }
}

/// Refuse a scenario that expands to more than `max_runs` runs, naming the count and the axes
/// that make it. Returns whether expansion may go on.
fn check_run_count(
    planned: &mut [(usize, &ScenarioTest, AnyTest)],
    max_runs: u64,
    diags: &mut Diagnostics,
) -> bool {
    let counts: Vec<RunCount> = planned
        .iter_mut()
        .map(|(_, entry, def)| count_runs(entry, def))
        .collect();
    let total = counts
        .iter()
        .try_fold(0u128, |acc, c| c.runs.and_then(|r| acc.checked_add(r)));
    if total.is_some_and(|t| t <= u128::from(max_runs)) {
        return true;
    }
    let show = |r: Option<u128>| r.map_or_else(|| "more than 2^128".to_string(), |r| r.to_string());
    // The tests that weigh most, in file order; at most 10, so that a scenario of thousands of
    // tests gets a readable message.
    const SHOWN: usize = 10;
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(counts[i].runs.unwrap_or(u128::MAX)));
    order.truncate(SHOWN);
    order.sort_unstable();
    let mut parts: Vec<String> = order
        .iter()
        .map(|&i| {
            let ((index, entry, _), c) = (&planned[i], &counts[i]);
            format!(
                "Tests[{index}] {:?}: {} = {} runs",
                entry.id,
                c.factors.join(" × "),
                show(c.runs)
            )
        })
        .collect();
    if planned.len() > SHOWN {
        parts.push(format!("and {} more tests", planned.len() - SHOWN));
    }
    // Reported at the entry that contributes most (the first of equals).
    let biggest = planned
        .iter()
        .zip(&counts)
        .min_by_key(|(_, c)| std::cmp::Reverse(c.runs.unwrap_or(u128::MAX)))
        .map(|((index, entry, _), _)| (*index, entry.span));
    if let Some((index, span)) = biggest {
        diags.error(
            span,
            &format!("Tests[{index}]"),
            format!(
                "the scenario expands to {} runs, more than the limit of {max_runs} (raise it with --max-runs): {}",
                show(total),
                parts.join("; ")
            ),
        );
    }
    false
}

/// Where [`expand`] puts what it finds.
struct Expanded<'a> {
    runs: &'a mut Vec<TestRun>,
    pruned: &'a mut Vec<PrunedPoint>,
    warnings: &'a mut Vec<Diagnostic>,
}

fn expand(
    system: &SystemConfig,
    entry: &super::scenario::ScenarioTest,
    index: usize,
    mut def: AnyTest,
    diags: &mut Diagnostics,
    out: Expanded,
) {
    let node_counts = entry.num_nodes.as_ref().map(|s| s.values());
    let mut lens: Vec<usize> = def
        .sweep_slots()
        .iter()
        .map(|(_, s)| s.value_count())
        .collect();
    let node_axis = entry.num_nodes.as_ref().is_some_and(|s| s.is_sweep());
    if node_axis {
        lens.push(node_counts.as_ref().map_or(1, Vec::len));
    }
    // A one-element list still declares an axis: the user asked for a sweep.
    let is_sweep = node_axis || def.sweep_slots().iter().any(|(_, s)| s.is_list());
    let entry_path = format!("Tests[{index}]");
    let mut reported = std::collections::HashSet::new();
    let mut pruned: Vec<PrunedPoint> = Vec::new();
    let mut kept = 0usize;
    let planner = topology::Planner::new(system);
    for (case, idx) in product(&lens).enumerate() {
        let mut pinned = def.clone();
        let mut params = IndexMap::new();
        for ((name, slot), &i) in pinned.sweep_slots().into_iter().zip(&idx) {
            if slot.is_list() {
                params.insert(name, slot.value_at(i));
            }
            slot.pin(i);
        }
        let requested = node_counts
            .as_ref()
            .map(|v| v[if node_axis { idx[idx.len() - 1] } else { 0 }]);
        if node_axis {
            params.insert(
                "NUM_NODES".to_string(),
                SweepValue::Int(i64::from(requested.unwrap_or(0))),
            );
        }
        // A case that cannot be planned is pruned, with why as its reason.
        let planned = match &pinned {
            AnyTest::Seed(t) => planner
                .plan(t, requested, &entry.nodes)
                .map_err(|e| e.to_string()),
            AnyTest::Current(t) => planner
                .shares_nodes(t, requested, &entry.nodes)
                .map_err(|e| e.to_string())
                .and_then(
                    |shared| match prune_reason(t, system.gpus_per_node, shared) {
                        Some(reason) => Err(reason),
                        None => planner
                            .plan_current(t, requested, &entry.nodes)
                            .map_err(|e| e.to_string()),
                    },
                ),
        };
        let topo = match planned {
            Ok(t) => t,
            Err(reason) => {
                pruned.push(PrunedPoint {
                    id: entry.id.clone(),
                    test_name: entry.test_name.clone(),
                    step: case + 1,
                    params,
                    reason,
                    jobs: entry.iterations,
                });
                continue;
            }
        };
        kept += 1;
        if let Some(w) = &topo.warning {
            if reported.insert(w.clone()) {
                out.warnings
                    .push(warning_at(diags, entry.span, &entry_path, w));
            }
        }
        // The case's values move into its first iteration; later iterations are copies.
        let first = TestRun {
            id: entry.id.clone(),
            test_name: entry.test_name.clone(),
            iteration: 0,
            step: is_sweep.then_some(case + 1),
            params,
            test: pinned,
            time_limit: entry.time_limit.clone(),
            dependencies: entry.dependencies.clone(),
            topology: topo,
            extra_srun_args: entry.extra_srun_args.clone(),
            exclude_nodes: entry.exclude_nodes.clone(),
        };
        let later: Vec<TestRun> = (1..entry.iterations)
            .map(|iteration| TestRun {
                iteration,
                ..first.clone()
            })
            .collect();
        out.runs.push(first);
        out.runs.extend(later);
    }
    if is_sweep && kept > 0 {
        out.pruned.extend(pruned);
        return;
    }
    // Nothing would run: every problem is an error, once per distinct reason.
    for p in pruned {
        if reported.insert(p.reason.clone()) {
            diags.error(
                entry.span,
                &entry_path,
                format!("{}{}", p.reason, case_suffix(is_sweep, &p.params)),
            );
        }
    }
}

fn case_suffix(is_sweep: bool, params: &IndexMap<String, SweepValue>) -> String {
    if !is_sweep || params.is_empty() {
        return String::new();
    }
    let p: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(" (sweep case {})", p.join(", "))
}

fn warning_at(diags: &Diagnostics, span: Span, path: &str, message: &str) -> Diagnostic {
    let file = diags.sources.file(span.file);
    let (line, column) = file.position(span.start);
    Diagnostic {
        file: file.path.display().to_string(),
        line,
        column,
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// What a configuration file is, judged by its top-level keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    System,
    Test,
    Scenario,
}

fn kind_of(node: &Node) -> Option<FileKind> {
    let Value::Table(entries) = &node.value else {
        return None;
    };
    let has = |k: &str| entries.iter().any(|(key, _)| key.name == k);
    if has("test_template_name") {
        Some(FileKind::Test)
    } else if has("Tests") {
        Some(FileKind::Scenario)
    } else if has("scheduler") {
        Some(FileKind::System)
    } else {
        None
    }
}

/// Check a set of files of any kind (CloudAI's `verify-configs`). When exactly one system and
/// one scenario are among them, the scenario is also expanded against the tests, so node-count
/// problems and override errors are found too. Returns every problem, sorted by position, and
/// the kind found for each readable file.
pub fn verify_files(
    paths: &[PathBuf],
    checks: Checks,
) -> (Vec<Diagnostic>, Vec<(PathBuf, Option<FileKind>)>) {
    let mut sources = Sources::default();
    let mut io_errors = Vec::new();
    let ids: Vec<_> = paths
        .iter()
        .filter_map(|p| read_source(&mut sources, &mut io_errors, p).map(|id| (p.clone(), id)))
        .collect();
    let mut diags = Diagnostics::new(&sources);
    diags.found = io_errors;
    let mut kinds = Vec::new();
    let (mut systems, mut tests, mut scenarios) = (Vec::new(), Vec::new(), Vec::new());
    let mut loaded = Vec::new();
    for (path, id) in ids {
        let Some(node) = parse_file(&mut diags, id) else {
            kinds.push((path, None));
            continue;
        };
        let kind = kind_of(&node);
        match kind {
            Some(FileKind::System) => {
                read_system(&node, &mut diags);
                systems.push(path.clone());
            }
            Some(FileKind::Test) => {
                if template_name(&node) == Some(TEMPLATE_NAME) {
                    let def = read_any_test(&node, &mut diags);
                    if let (Some(def), true) = (&def, checks.host_paths) {
                        check_hf_home(def, &node, &mut diags, None);
                    }
                    loaded.push(LoadedTest { node, def });
                }
                tests.push(path.clone());
            }
            Some(FileKind::Scenario) => {
                read_scenario(&node, &mut diags);
                scenarios.push(path.clone());
            }
            None => diags.error(
                node.span,
                "",
                "cannot tell what this file is: expected `scheduler` (a system), `test_template_name` (a test) or `Tests` (a test scenario)",
            ),
        }
        kinds.push((path, kind));
    }
    check_unique_names(&loaded, &mut diags);
    let mut diagnostics = diags.found;
    if let ([system], [scenario]) = (&systems[..], &scenarios[..]) {
        // Per-file errors are already listed; add only what the combination reveals.
        let combined = match load_workspace(
            system,
            &tests,
            scenario,
            Checks {
                host_paths: false,
                ..checks
            },
        ) {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics,
        };
        diagnostics.extend(combined);
    }
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| seen.insert(d.clone()));
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    (diagnostics, kinds)
}
