//! Reading a current-schema test with the same spanned reader and diagnostics as the seed one.

use indexmap::IndexMap;

use super::model::{
    Accuracy, Backend, CmdArgs, Constraints, DcgmExporter, Dynamo, Phase, TestDefinition, Worker,
    Workload, WorkloadKind,
};
use crate::config::diagnostic::Diagnostics;
use crate::config::node::{Node, Value, canonical_key, same_key};
use crate::config::parse::{
    boolean, command, float_in, multiline_string, non_empty_string, one_of, port, positive,
    quoted_list, string, string_list,
};
use crate::config::reader::{TableReader, list_of_tables};
use crate::config::shell_words::split_words;
use crate::config::sweep::{Sweep, sweep};
use crate::config::test_def::{ArgValue, arg_value, check_frontend_ports, read_header};
use crate::config::text::is_field_name;

pub fn read_test(node: &Node, diags: &mut Diagnostics) -> Option<TestDefinition> {
    let mut r = TableReader::new(node, "", diags)?;
    let header = read_header(&mut r, diags);
    let cmd_args = r.required(diags, "cmd_args", read_cmd_args);
    let dse_excluded_args = r.with_default(diags, "dse_excluded_args", Vec::new(), string_list);
    let constraints = r.with_default(
        diags,
        "constraints",
        Constraints {
            prefill_tp_le_decode_tp: true,
            tp_times_pp_le_gpus_per_node: true,
        },
        read_constraints,
    );
    // CloudAI fields that configure its own agents; accepted, not used by this engine.
    let _ = r.get("agent_config");
    r.finish(diags);
    Some(TestDefinition {
        header: header?,
        cmd_args: cmd_args?,
        dse_excluded_args,
        constraints,
    })
}

fn read_constraints(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Constraints> {
    let mut r = TableReader::new(node, path, diags)?;
    let c = Constraints {
        prefill_tp_le_decode_tp: r.with_default(diags, "prefill_tp_le_decode_tp", true, boolean),
        tp_times_pp_le_gpus_per_node: r.with_default(
            diags,
            "tp_times_pp_le_gpus_per_node",
            true,
            boolean,
        ),
    };
    r.finish(diags);
    Some(c)
}

fn read_cmd_args(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<CmdArgs> {
    let mut r = TableReader::new(node, path, diags)?;
    let docker_image_url = r.required(diags, "docker_image_url", non_empty_string);
    let startup_cmd = r.optional(diags, "startup_cmd", command);
    let startup_cmd_docker_image = r.optional(diags, "startup_cmd_docker_image", non_empty_string);
    let storage_cache_dir = match r.get("storage_cache_dir") {
        None => Some("/tmp".to_string()),
        Some(n) => non_empty_string(n, diags, &r.field_path("storage_cache_dir")),
    };
    // A `dynamo` table is optional: CloudAI's defaults describe a whole vLLM job.
    let dynamo = match r.get("dynamo") {
        Some(n) => read_dynamo(n, diags, &r.field_path("dynamo")),
        None => read_dynamo(&empty_table(r.span()), diags, &r.field_path("dynamo")),
    };
    let hicache = r.optional(diags, "hicache", free_table);
    let lmcache = r.optional(diags, "lmcache", free_table);
    let lmcache_controller = r.optional(diags, "lmcache_controller", |n, diags, p| {
        let mut t = TableReader::new(n, p, diags)?;
        let cmd = t.required(diags, "cmd", command);
        t.finish(diags);
        cmd
    });
    let genai_perf = match r.get("genai_perf") {
        Some(n) => read_workload(
            n,
            diags,
            &r.field_path("genai_perf"),
            WorkloadKind::GenaiPerf,
        ),
        None => Some(default_workload(WorkloadKind::GenaiPerf)),
    };
    let aiperf = match r.get("aiperf") {
        Some(n) => read_workload(n, diags, &r.field_path("aiperf"), WorkloadKind::Aiperf),
        None => Some(default_workload(WorkloadKind::Aiperf)),
    };
    let aiperf_phases = r.with_default(diags, "aiperf_phases", Vec::new(), read_phases);
    let aiperf_accuracy = r.optional(diags, "aiperf_accuracy", read_accuracy);
    let workloads = r
        .optional(diags, "workloads", read_workloads)
        .unwrap_or_else(|| vec![WorkloadKind::GenaiPerf]);
    r.finish(diags);
    Some(CmdArgs {
        docker_image_url: docker_image_url?,
        startup_cmd,
        startup_cmd_docker_image,
        storage_cache_dir,
        dynamo: dynamo?,
        hicache,
        lmcache,
        lmcache_controller,
        genai_perf: genai_perf?,
        aiperf: aiperf?,
        aiperf_phases,
        aiperf_accuracy,
        workloads,
    })
}

fn empty_table(span: crate::config::source::Span) -> Node {
    Node {
        value: Value::Table(Vec::new()),
        span,
    }
}

/// `workloads = "aiperf.sh"` or `"genai_perf.sh,aiperf.sh"` (CloudAI's script names).
fn read_workloads(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<WorkloadKind>> {
    let s = string(node, diags, path)?;
    let mut out = Vec::new();
    for w in s.split(',').map(str::trim) {
        let kind = match w {
            "genai_perf.sh" => WorkloadKind::GenaiPerf,
            "aiperf.sh" => WorkloadKind::Aiperf,
            other => {
                diags.error(
                    node.span,
                    path,
                    format!(
                        "expected a comma-separated list of \"genai_perf.sh\", \"aiperf.sh\", found {other:?}"
                    ),
                );
                return None;
            }
        };
        if out.contains(&kind) {
            diags.error(node.span, path, format!("{w:?} is listed twice"));
            return None;
        }
        out.push(kind);
    }
    Some(out)
}

/// Tables of `cmd_args` read by [`free_table`]: their keys are data.
pub(crate) const FREE_KEY_TABLES: &[&str] = &["hicache", "lmcache"];

/// A free-form table (LMCache, HiCache configuration), kept as data.
fn free_table(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<serde_json::Value> {
    if !matches!(node.value, Value::Table(_)) {
        diags.error(
            node.span,
            path,
            format!("expected a table, found {}", node.value.describe()),
        );
        return None;
    }
    to_json(node, diags, path)
}

fn to_json(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match &node.value {
        Value::String(s) => J::String(s.clone()),
        Value::Integer(i) => J::from(*i),
        Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => J::Number(n),
            None => {
                diags.error(
                    node.span,
                    path,
                    format!("expected a finite number, found {f}"),
                );
                return None;
            }
        },
        Value::Boolean(b) => J::Bool(*b),
        Value::OutOfRange(raw) => {
            diags.error(
                node.span,
                path,
                format!("expected a 64-bit integer, found {raw}"),
            );
            return None;
        }
        Value::Datetime(d) => J::String(d.clone()),
        Value::Array(items) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| to_json(n, diags, &format!("{path}[{i}]")))
                .collect::<Option<Vec<_>>>()?,
        ),
        Value::Table(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    Some((
                        k.name.clone(),
                        to_json(v, diags, &format!("{path}.{}", k.name))?,
                    ))
                })
                .collect::<Option<serde_json::Map<_, _>>>()?,
        ),
    })
}

fn read_dynamo(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Dynamo> {
    let mut r = TableReader::new(node, path, diags)?;
    let model = r.with_default(
        diags,
        "model",
        "Qwen/Qwen3-0.6B".to_string(),
        non_empty_string,
    );
    let backend = r
        .optional(diags, "backend", one_of(Backend::NAMES))
        .and_then(|b| Backend::parse(&b))
        .unwrap_or(Backend::Vllm);
    let endpoint = r.with_default(
        diags,
        "endpoint",
        "v1/chat/completions".to_string(),
        non_empty_string,
    );
    let connector = r.with_default(diags, "connector", Vec::new(), read_connectors);
    let workspace_path = r.with_default(
        diags,
        "workspace_path",
        "/workspace".into(),
        non_empty_string,
    );
    let ingress_cmd = r.with_default(
        diags,
        "ingress_cmd",
        "python -m dynamo.frontend --router-mode kv".into(),
        command,
    );
    let node_setup_cmd = r.with_default(
        diags,
        "node_setup_cmd",
        "/usr/local/ucx/bin/ucx_info -d |grep Transport | sort -u;".into(),
        multiline_string,
    );
    let port_v = r.with_default(diags, "port", 8000, port);
    let etcd_cmd = r.with_default(
        diags,
        "etcd_cmd",
        "etcd --log-level info --data-dir /tmp/etcd".into(),
        command,
    );
    let etcd_port = r.with_default(diags, "etcd_port", 2379, port);
    let nats_cmd = r.with_default(diags, "nats_cmd", "nats-server -js".into(), command);
    let nats_port = r.with_default(diags, "nats_port", 4222, port);
    check_frontend_ports(
        &mut r,
        diags,
        &[
            ("port", port_v),
            ("etcd_port", etcd_port),
            ("nats_port", nats_port),
        ],
    );
    let dcgm_exporter = r.with_default(
        diags,
        "dcgm_exporter",
        DcgmExporter {
            enabled: false,
            docker_image_url: DCGM_IMAGE.into(),
            port: 9401,
        },
        read_dcgm,
    );
    let prefill = read_worker_or_default(&mut r, diags, "prefill_worker", backend, &model, true);
    let decode = read_worker_or_default(&mut r, diags, "decode_worker", backend, &model, false);
    r.finish(diags);
    Some(Dynamo {
        model,
        backend,
        endpoint,
        connector,
        workspace_path,
        ingress_cmd,
        node_setup_cmd,
        port: port_v,
        etcd_cmd,
        etcd_port,
        nats_cmd,
        nats_port,
        dcgm_exporter,
        prefill_worker: prefill?,
        decode_worker: decode?,
    })
}

const DCGM_IMAGE: &str = "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.2-4.8.1-distroless";

fn read_dcgm(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<DcgmExporter> {
    let mut r = TableReader::new(node, path, diags)?;
    let enabled = r.with_default(diags, "enabled", false, boolean);
    let image = match r.get_any(diags, &["docker_image_url", "image_url"]) {
        Some((name, n)) => non_empty_string(n, diags, &r.field_path(name)),
        None => Some(DCGM_IMAGE.to_string()),
    };
    let port_v = r.with_default(diags, "port", 9401, port);
    r.finish(diags);
    Some(DcgmExporter {
        enabled,
        docker_image_url: image?,
        port: port_v,
    })
}

/// `connector = "kvbm nixl"` or `["kvbm", "nixl"]`: each one of CloudAI's four.
fn read_connectors(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<String>> {
    const ALLOWED: &[&str] = &["kvbm", "lmcache", "nixl", "none"];
    let words: Vec<String> = match &node.value {
        Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        Value::Array(_) => string_list(node, diags, path)?
            .iter()
            .flat_map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect(),
        other => {
            diags.error(
                node.span,
                path,
                format!(
                    "expected a connector name or a list of them, found {}",
                    other.describe()
                ),
            );
            return None;
        }
    };
    for w in &words {
        if !ALLOWED.contains(&w.as_str()) {
            diags.error(
                node.span,
                path,
                format!(
                    "expected connectors among {}, found {w:?}",
                    quoted_list(ALLOWED)
                ),
            );
            return None;
        }
    }
    Some(words)
}

fn read_worker_or_default(
    r: &mut TableReader,
    diags: &mut Diagnostics,
    name: &'static str,
    backend: Backend,
    model: &str,
    prefill: bool,
) -> Option<Worker> {
    let path = r.field_path(name);
    let node = r
        .get(name)
        .cloned()
        .unwrap_or_else(|| empty_table(r.span()));
    read_worker(&node, diags, &path, backend, model, prefill)
}

/// Engine arguments with a type CloudAI checks; every other key is passed as given.
const TYPED_ARGS: &[(&str, ArgKind)] = &[
    ("tensor_parallel_size", ArgKind::Positive),
    ("pipeline_parallel_size", ArgKind::Positive),
    ("data_parallel_size", ArgKind::Positive),
    ("gpu_memory_utilization", ArgKind::Fraction),
];

#[derive(Clone, Copy)]
enum ArgKind {
    Positive,
    Fraction,
    Any,
}

fn read_worker(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
    backend: Backend,
    model: &str,
    prefill: bool,
) -> Option<Worker> {
    let mut r = TableReader::new(node, path, diags)?;
    let cmd = r.with_default(diags, "cmd", backend.default_cmd(prefill).into(), command);
    let regex = r.with_default(
        diags,
        "worker_initialized_regex",
        backend.default_initialized_regex().into(),
        non_empty_string,
    );
    if let Some(n) = r.get("worker_initialized_regex") {
        if let Value::String(s) = &n.value {
            check_ere(s, n, diags, &r.field_path("worker_initialized_regex"));
        }
    }
    let multiple = r.with_default(diags, "multiple_workers_per_node", false, boolean);
    let num_nodes = r.with_default(
        diags,
        "num_nodes",
        Sweep::One(1),
        sweep(crate::config::parse::count),
    );
    let nodes = r.with_default(diags, "nodes", Vec::new(), read_node_list);
    let args = match r.get("args") {
        Some(n) => read_args(n, diags, &r.field_path("args"), TYPED_ARGS),
        None => Some(IndexMap::new()),
    };
    if let Some(n) = r.get("args") {
        check_model_flags(n, diags, &r.field_path("args"), backend, model);
    }
    let extra_args = r.with_default(diags, "extra_args", Vec::new(), read_extra_words);
    r.finish(diags);
    Some(Worker {
        cmd,
        worker_initialized_regex: regex,
        multiple_workers_per_node: multiple,
        num_nodes,
        nodes,
        args: args?,
        extra_args,
    })
}

/// `dynamo.model` is injected into the engine's own model flags; giving one of those in `args`
/// too would start an engine on another model than the one the load generator asks for.
fn check_model_flags(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
    backend: Backend,
    model: &str,
) {
    let Value::Table(entries) = &node.value else {
        return;
    };
    for flag in backend.model_flags() {
        // The mocker's tokenizer path is the user's to choose.
        if backend == Backend::Mocker && *flag == "model-path" {
            continue;
        }
        let canonical = canonical_key(flag);
        if let Some((k, v)) = entries.iter().find(|(k, _)| same_key(&k.name, &canonical)) {
            if !matches!(&v.value, Value::String(s) if s == model) {
                diags.error(
                    k.span,
                    &format!("{path}.{}", k.name),
                    format!("set by `dynamo.model` ({model:?}) for this backend; remove it here or change `dynamo.model`"),
                );
            }
        }
    }
}

fn key_span(node: &Node, key: &str) -> crate::config::source::Span {
    match &node.value {
        Value::Table(entries) => entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map_or(node.span, |(k, _)| k.span),
        _ => node.span,
    }
}

/// `nodes = "n1,n2"` (CloudAI) or a list of hostnames.
fn read_node_list(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<String>> {
    let list: Vec<String> = match &node.value {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Value::Array(_) => string_list(node, diags, path)?,
        other => {
            diags.error(
                node.span,
                path,
                format!(
                    "expected comma-separated hostnames or a list of them, found {}",
                    other.describe()
                ),
            );
            return None;
        }
    };
    let mut out: Vec<String> = Vec::new();
    let mut hosts = Vec::new();
    for h in &list {
        match crate::topology::expand_hostlist(h) {
            Ok(v) => hosts.extend(v),
            Err(e) => {
                diags.error(node.span, path, e.to_string());
                return None;
            }
        }
    }
    for host in hosts {
        let valid = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
        if !valid {
            diags.error(
                node.span,
                path,
                format!("expected hostnames, found {host:?}"),
            );
            return None;
        }
        if out.contains(&host) {
            diags.error(node.span, path, format!("node {host:?} is listed twice"));
            return None;
        }
        out.push(host);
    }
    Some(out)
}

/// Free `--KEY VALUE` arguments: scalars, or lists of scalars to sweep. Keys must be flag
/// names (they reach the command line).
fn read_args(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
    typed: &[(&str, ArgKind)],
) -> Option<IndexMap<String, Sweep<ArgValue>>> {
    let Value::Table(entries) = &node.value else {
        diags.error(
            node.span,
            path,
            format!(
                "expected a table of arguments, found {}",
                node.value.describe()
            ),
        );
        return None;
    };
    let mut out = IndexMap::with_capacity(entries.len());
    let mut ok = true;
    for (i, (k, v)) in entries.iter().enumerate() {
        let field = format!("{path}.{}", k.name);
        if !is_field_name(&k.name) {
            diags.error(
                k.span,
                &field,
                "expected an argument name of letters, digits, '-' and '_'",
            );
            ok = false;
            continue;
        }
        let canonical = canonical_key(&k.name);
        if entries[..i]
            .iter()
            .any(|(o, _)| same_key(&o.name, &canonical))
        {
            diags.error(
                k.span,
                &field,
                "field given twice (dashed and underscored spellings name the same field)",
            );
            ok = false;
            continue;
        }
        let kind = typed
            .iter()
            .find(|(t, _)| *t == canonical)
            .map_or(ArgKind::Any, |(_, kind)| *kind);
        let parsed = match kind {
            ArgKind::Positive => sweep(|n: &Node, diags: &mut Diagnostics, p: &str| {
                positive(n, diags, p).map(|x| ArgValue::Int(i64::from(x)))
            })(v, diags, &field),
            ArgKind::Fraction => sweep(|n: &Node, diags: &mut Diagnostics, p: &str| {
                float_in(0.0, 1.0)(n, diags, p).map(ArgValue::Float)
            })(v, diags, &field),
            ArgKind::Any => sweep(arg_value)(v, diags, &field),
        };
        match parsed {
            Some(x) => {
                out.insert(k.name.clone(), x);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// `extra-args`: a string of shell words (as CloudAI pastes it into the command) or a list of
/// words; each becomes one argument.
fn read_extra_words(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<String>> {
    match &node.value {
        Value::String(s) => match split_words(s) {
            Ok(w) => Some(w),
            Err(e) => {
                diags.error(
                    node.span,
                    path,
                    format!("expected shell words, found {s:?}: {e}"),
                );
                None
            }
        },
        Value::Array(_) => string_list(node, diags, path),
        other => {
            diags.error(
                node.span,
                path,
                format!(
                    "expected a string or a list of strings, found {}",
                    other.describe()
                ),
            );
            None
        }
    }
}

/// The regex is used with `grep -E`: reject what it would refuse, before a job waits on it.
fn check_ere(s: &str, node: &Node, diags: &mut Diagnostics, path: &str) {
    let mut depth: i32 = 0;
    let mut escaped = false;
    let mut in_class = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    if depth != 0 || in_class || escaped || s.contains('\n') {
        diags.error(
            node.span,
            path,
            format!("expected an extended regular expression (grep -E) on one line, found {s:?}"),
        );
    }
}

fn default_workload(kind: WorkloadKind) -> Workload {
    let (cmd, report) = match kind {
        WorkloadKind::GenaiPerf => ("genai-perf profile", "genai_perf_report.csv"),
        WorkloadKind::Aiperf => ("aiperf profile", "aiperf_report.csv"),
    };
    Workload {
        cmd: cmd.into(),
        setup_cmd: None,
        report_name: report.into(),
        artifact_dir_name: match kind {
            WorkloadKind::GenaiPerf => "genai_perf_artifacts".into(),
            WorkloadKind::Aiperf => AIPERF_ARTIFACTS.into(),
        },
        args: IndexMap::new(),
        extra_args: Vec::new(),
        health_check_between_phases: true,
        continue_on_phase_failure: false,
        between_phase_cmd: None,
    }
}

pub const AIPERF_ARTIFACTS: &str = "aiperf_artifacts";

fn read_workload(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
    kind: WorkloadKind,
) -> Option<Workload> {
    let mut r = TableReader::new(node, path, diags)?;
    let d = default_workload(kind);
    // `name`, `script` and `repo` name CloudAI's wrapper scripts; accepted for its files.
    let _ = (r.get("name"), r.get("script"), r.get("repo"));
    let cmd = r.with_default(diags, "cmd", d.cmd, command);
    let report_name = r.with_default(diags, "report_name", d.report_name, file_name);
    let args = match r.get("args") {
        Some(n) => read_args(n, diags, &r.field_path("args"), &[]),
        None => Some(IndexMap::new()),
    };
    let extra_args = r.with_default(diags, "extra_args", Vec::new(), read_extra_words);
    let w = if kind == WorkloadKind::Aiperf {
        Workload {
            cmd,
            setup_cmd: r.optional(diags, "setup_cmd", command),
            report_name,
            artifact_dir_name: r.with_default(
                diags,
                "artifact_dir_name",
                d.artifact_dir_name,
                relative_dir,
            ),
            args: args?,
            extra_args,
            health_check_between_phases: r.with_default(
                diags,
                "health_check_between_phases",
                true,
                boolean,
            ),
            continue_on_phase_failure: r.with_default(
                diags,
                "continue_on_phase_failure",
                false,
                boolean,
            ),
            between_phase_cmd: r.optional(diags, "between_phase_cmd", command),
        }
    } else {
        Workload {
            cmd,
            report_name,
            args: args?,
            extra_args,
            ..d
        }
    };
    r.finish(diags);
    Some(w)
}

/// A file name inside the run directory.
fn file_name(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    let s = non_empty_string(node, diags, path)?;
    if s.contains(['/', '\\', '\n']) || s == "." || s == ".." {
        diags.error(
            node.span,
            path,
            format!("expected a file name (no '/'), found {s:?}"),
        );
        return None;
    }
    Some(s)
}

/// A directory relative to the run directory, without `..`.
fn relative_dir(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    let s = non_empty_string(node, diags, path)?;
    if s.starts_with('/') || s.contains('\n') || s.split('/').any(|p| p == ".." || p.is_empty()) {
        diags.error(
            node.span,
            path,
            format!("expected a directory relative to the run directory (no leading '/', no '..'), found {s:?}"),
        );
        return None;
    }
    Some(s)
}

fn read_phases(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<Phase>> {
    let phases = list_of_tables(node, diags, path, |r, diags| {
        let name = r.required(diags, "name", phase_name);
        let args = match r.get("args") {
            Some(n) => read_args(n, diags, &r.field_path("args"), &[])
                .and_then(|a| single_values(a, n, diags, &r.field_path("args"))),
            None => Some(IndexMap::new()),
        };
        Some(Phase {
            name: name?,
            cmd: r.optional(diags, "cmd", command),
            setup_cmd: r.optional(diags, "setup_cmd", command),
            report_name: r.optional(diags, "report_name", file_name),
            artifact_dir_name: r.optional(diags, "artifact_dir_name", relative_dir),
            args: args?,
            extra_args: r.optional(diags, "extra_args", read_extra_words),
            between_phase_cmd: r.optional(diags, "between_phase_cmd", command),
        })
    })?;
    for (i, p) in phases.iter().enumerate() {
        if phases[..i].iter().any(|o| o.name == p.name) {
            let span = match &node.value {
                Value::Array(items) => items[i].span,
                _ => node.span,
            };
            diags.error(
                span,
                &format!("{path}[{i}].name"),
                format!(
                    "aiperf phase names must be unique; {:?} is used twice",
                    p.name
                ),
            );
        }
    }
    Some(phases)
}

/// Phases are the several-points-in-one-job mechanism: their arguments are single values.
fn single_values(
    args: IndexMap<String, Sweep<ArgValue>>,
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
) -> Option<IndexMap<String, ArgValue>> {
    let mut out = IndexMap::with_capacity(args.len());
    let mut ok = true;
    for (k, v) in args {
        match v {
            Sweep::One(x) => {
                out.insert(k, x);
            }
            Sweep::Many(_) => {
                diags.error(
                    key_span(node, &k),
                    &format!("{path}.{k}"),
                    "expected a single value (an aiperf phase argument cannot be swept; add a phase instead)",
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Phase names become directory and file names: CloudAI's `^[A-Za-z0-9_.-]+$`.
fn phase_name(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<String> {
    let s = non_empty_string(node, diags, path)?;
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && s != "."
        && s != "..";
    if ok {
        Some(s)
    } else {
        diags.error(
            node.span,
            path,
            format!("expected a phase name of letters, digits, '_', '.' and '-', found {s:?}"),
        );
        None
    }
}

fn read_accuracy(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Accuracy> {
    let mut r = TableReader::new(node, path, diags)?;
    let _ = (r.get("name"), r.get("script"));
    let entrypoint = r.with_default(diags, "entrypoint", "aiperf profile".into(), command);
    let cli = r.required(diags, "cli", command);
    let setup_cmd = r.optional(diags, "setup_cmd", command);
    let artifact_dir_name = r.with_default(
        diags,
        "artifact_dir_name",
        "aiperf_accuracy_artifacts".into(),
        relative_dir,
    );
    r.finish(diags);
    Some(Accuracy {
        entrypoint,
        cli: cli?,
        setup_cmd,
        artifact_dir_name,
    })
}
