//! The `AIDynamo` test definition: CloudAI's July-2025 schema (commit 13816b1a), with its
//! defaults, plus the extensions this project needs (command overrides, aiperf, tokenizer).

use indexmap::IndexMap;
use serde::Serialize;

use super::diagnostic::Diagnostics;
use super::node::{Node, Value};
use super::parse::{
    boolean, command, container_mounts, count, env_scalar, env_value, float_in, int_in,
    multiline_string, non_empty_string, port, positive, string, string_list,
};
use super::reader::{TableReader, list_of_tables, read_map};
use super::shell_words::split_words;
use super::sweep::{Slot, Sweep, sweep};
use super::system::{ContainerRuntime, container_runtime};

pub const TEMPLATE_NAME: &str = "AIDynamo";

/// One test TOML.
#[derive(Clone, Debug, Serialize)]
pub struct TestDefinition {
    #[serde(flatten)]
    pub header: TestHeader,
    pub cmd_args: CmdArgs,
}

/// The fields every `AIDynamo` generation shares (CloudAI's `TestDefinition` base), read once
/// for both schemas by [`read_header`].
#[derive(Clone, Debug, Serialize)]
pub struct TestHeader {
    pub name: String,
    pub description: String,
    pub test_template_name: String,
    /// Exported in the sbatch and the launch script; a list value is a sweep axis.
    pub extra_env_vars: IndexMap<String, Sweep<String>>,
    pub extra_cmd_args: IndexMap<String, String>,
    pub extra_container_mounts: Vec<String>,
    pub git_repos: Vec<GitRepo>,
    pub agent: String,
    pub agent_steps: u32,
    pub agent_metrics: Vec<String>,
    pub agent_reward_function: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct GitRepo {
    pub url: String,
    pub commit: String,
    pub mount_as: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CmdArgs {
    pub docker_image_url: String,
    /// Overrides the system's `container_runtime` for this test (see `system::container_runtime`).
    pub container_runtime: Option<ContainerRuntime>,
    pub served_model_name: String,
    /// Upper bound, in seconds, of the wait for the frontend to serve the model.
    pub sleep_seconds: u32,
    pub dynamo: DynamoArgs,
    #[serde(flatten)]
    pub load_generator: LoadGenerator,
}

#[derive(Clone, Debug, Serialize)]
pub struct DynamoArgs {
    pub frontend: Frontend,
    pub processor: Processor,
    pub router: Router,
    pub prefill_worker: Worker,
    /// `vllm_worker` in the seed schema, `decode_worker` in later CloudAI: the decode role.
    pub decode_worker: Worker,
    /// Which of the two keys the file used (a host framework addresses the table by it).
    #[serde(skip)]
    pub decode_key: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct Frontend {
    pub endpoint: String,
    pub port: u16,
    pub port_etcd: u16,
    pub port_nats: u16,
    /// Command that starts the HTTP frontend (default: the seed-era `dynamo serve`).
    pub cmd: Option<String>,
    /// Whether the frontend node also runs an engine (its GPUs count in per-GPU figures);
    /// `None`: decided by [`Frontend::runs_engine`].
    pub runs_engine: Option<bool>,
    pub etcd_cmd: Option<String>,
    pub nats_cmd: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Processor {
    pub block_size: u32,
    pub max_model_len: u32,
    pub router: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Router {
    pub min_workers: u32,
}

/// Prefill or decode worker settings. Decode-only fields are `None` for prefill.
#[derive(Clone, Debug, Serialize)]
pub struct Worker {
    pub num_nodes: Sweep<u32>,
    pub kv_transfer_config: String,
    pub block_size: u32,
    pub max_model_len: u32,
    pub max_num_seqs: u32,
    pub gpu_memory_utilization: f64,
    pub tensor_parallel_size: Sweep<u32>,
    pub pipeline_parallel_size: Sweep<u32>,
    pub quantization: Option<String>,
    pub service_args: ServiceArgs,
    pub decode: Option<DecodeOnly>,
    /// Command that starts this role's worker (default: the seed-era `dynamo serve`).
    pub cmd: Option<String>,
    /// Free-form engine arguments, written into this role's section of dynamo_config.yaml.
    pub extra_args: IndexMap<String, ArgValue>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DecodeOnly {
    pub remote_prefill: bool,
    pub conditional_disagg: bool,
    pub max_local_prefill_length: u32,
    pub max_prefill_queue_size: u32,
    pub router: String,
    pub enable_prefix_caching: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceArgs {
    pub workers: u32,
    pub resources: IndexMap<String, String>,
}

/// A scalar engine argument.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ArgValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// Which load generator runs on the frontend node, and its settings.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadGenerator {
    GenaiPerf(LoadArgs),
    Aiperf(LoadArgs),
}

impl LoadGenerator {
    pub fn args(&self) -> &LoadArgs {
        match self {
            LoadGenerator::GenaiPerf(a) | LoadGenerator::Aiperf(a) => a,
        }
    }

    pub fn args_mut(&mut self) -> &mut LoadArgs {
        match self {
            LoadGenerator::GenaiPerf(a) | LoadGenerator::Aiperf(a) => a,
        }
    }

    /// The tool's command name (`genai-perf` or `aiperf`).
    pub fn binary(&self) -> &'static str {
        match self {
            LoadGenerator::GenaiPerf(_) => "genai-perf",
            LoadGenerator::Aiperf(_) => "aiperf",
        }
    }

    /// The TOML section name (`genai_perf` or `aiperf`).
    pub fn section(&self) -> &'static str {
        match self {
            LoadGenerator::GenaiPerf(_) => Self::SECTIONS[0],
            LoadGenerator::Aiperf(_) => Self::SECTIONS[1],
        }
    }

    /// Every load generator's section of `cmd_args`, in [`LoadGenerator::section`]'s order.
    pub const SECTIONS: [&'static str; 2] = ["genai_perf", "aiperf"];
}

/// genai-perf and aiperf share their profiling flags. Every `Option` is a flag that is passed
/// only when the user set it: the tools' own defaults apply otherwise (CloudAI instead forced
/// `--osl -1 --isl 550`, which silently overrode the user's means).
#[derive(Clone, Debug, Serialize)]
pub struct LoadArgs {
    pub cmd: Option<String>,
    /// Port of the frontend the load goes to; defaults to `dynamo.frontend.port`.
    pub port: Option<u16>,
    pub endpoint: Option<String>,
    pub endpoint_type: Option<String>,
    pub streaming: bool,
    /// Each value is passed as one `--extra-inputs VALUE`.
    pub extra_inputs: Vec<String>,
    pub input_file: Option<String>,
    pub tokenizer: Option<String>,
    pub output_tokens_mean: Option<u32>,
    pub output_tokens_stddev: Option<u32>,
    pub random_seed: Option<u32>,
    pub request_count: Option<u32>,
    pub synthetic_input_tokens_mean: Option<u32>,
    pub synthetic_input_tokens_stddev: Option<u32>,
    pub warmup_request_count: Option<u32>,
    pub concurrency: Option<Sweep<u32>>,
    pub request_rate: Option<Sweep<f64>>,
    /// Extra command-line words, each passed as one argument.
    pub extra_args: Vec<String>,
    /// genai-perf only: words passed through to perf_analyzer after `--`. CloudAI 13816b1a
    /// always passed `-- -v --async`, which is the default; `[]` passes nothing.
    pub perf_analyzer_args: Vec<String>,
}

impl Frontend {
    /// Whether the frontend node hosts an engine. The default command, the seed's
    /// `dynamo serve graphs.agg_router:Frontend`, starts Dynamo's whole `agg_router` graph
    /// (Frontend → Processor → Router → VllmWorker, ai-dynamo/dynamo
    /// `examples/llm/graphs/agg_router.py`), so a decode engine runs there; a user's `cmd`
    /// (e.g. `python -m dynamo.frontend`) is taken to run none, unless `runs_engine` says so.
    pub fn runs_engine(&self) -> bool {
        self.runs_engine.unwrap_or(self.cmd.is_none())
    }
}

impl TestDefinition {
    /// Every sweepable field, in the documented axis order (see [`super::sweep`]).
    pub fn sweep_slots(&mut self) -> Vec<(String, &mut dyn Slot)> {
        let lg = self.cmd_args.load_generator.section();
        let dynamo = &mut self.cmd_args.dynamo;
        let mut slots: Vec<(String, &mut dyn Slot)> = Vec::new();
        for (role, w) in [
            ("prefill_worker", &mut dynamo.prefill_worker),
            ("decode_worker", &mut dynamo.decode_worker),
        ] {
            slots.push((format!("dynamo.{role}.num_nodes"), &mut w.num_nodes));
            slots.push((
                format!("dynamo.{role}.tensor_parallel_size"),
                &mut w.tensor_parallel_size,
            ));
            slots.push((
                format!("dynamo.{role}.pipeline_parallel_size"),
                &mut w.pipeline_parallel_size,
            ));
        }
        let load = self.cmd_args.load_generator.args_mut();
        slots.push((format!("{lg}.concurrency"), &mut load.concurrency));
        slots.push((format!("{lg}.request_rate"), &mut load.request_rate));
        for (k, v) in &mut self.header.extra_env_vars {
            slots.push((format!("extra_env_vars.{k}"), v));
        }
        slots
    }

    pub fn hf_home(&self) -> Option<&str> {
        self.header
            .extra_env_vars
            .get("HF_HOME")
            .map(|v| v.value().as_str())
    }
}

/// Read the [`TestHeader`] fields of a test table (every problem reported; `None` when a
/// required one is missing or invalid). `cmd_args` and the rest are read by the caller.
pub(crate) fn read_header(r: &mut TableReader, diags: &mut Diagnostics) -> Option<TestHeader> {
    let name = r.required(diags, "name", non_empty_string);
    let description = r.with_default(diags, "description", String::new(), multiline_string);
    let template = r.required(diags, "test_template_name", string);
    if let (Some(t), Some(node)) = (&template, r.get("test_template_name")) {
        if t != TEMPLATE_NAME {
            diags.error(
                node.span,
                "test_template_name",
                format!("expected \"{TEMPLATE_NAME}\" (the only template cloudai-dynamo-rs runs), found {t:?}"),
            );
        }
    }
    let extra_env_vars = r.with_default(diags, "extra_env_vars", IndexMap::new(), read_env_sweeps);
    if let Some(hf) = r.get("extra_env_vars").and_then(|n| find_key(n, "HF_HOME")) {
        if matches!(&hf.value, Value::String(s) if s.trim().is_empty()) {
            diags.error(
                hf.span,
                "extra_env_vars.HF_HOME",
                "expected the path of the Hugging Face cache directory, found an empty string",
            );
        }
    }
    let complete = name.is_some() && template.is_some();
    let header = TestHeader {
        name: name.unwrap_or_default(),
        description,
        test_template_name: template.unwrap_or_default(),
        extra_env_vars,
        extra_cmd_args: r.with_default(diags, "extra_cmd_args", IndexMap::new(), read_string_map),
        extra_container_mounts: r.with_default(
            diags,
            "extra_container_mounts",
            Vec::new(),
            container_mounts,
        ),
        git_repos: r.with_default(diags, "git_repos", Vec::new(), read_git_repos),
        agent: r.with_default(diags, "agent", "grid_search".to_string(), non_empty_string),
        agent_steps: r.with_default(diags, "agent_steps", 1, positive),
        agent_metrics: r.with_default(
            diags,
            "agent_metrics",
            vec!["default".to_string()],
            string_list,
        ),
        agent_reward_function: r.with_default(
            diags,
            "agent_reward_function",
            "inverse".to_string(),
            non_empty_string,
        ),
    };
    complete.then_some(header)
}

/// Tables of `cmd_args` whose keys are data (engine flags, resource names), read as maps.
pub(crate) const FREE_KEY_TABLES: &[&str] = &["extra_args", "resources"];

/// The frontend node's services (HTTP frontend, etcd, NATS) share one host: each port named
/// in `ports` (field name, value) must differ from the ones before it, reported at its field.
pub(crate) fn check_frontend_ports(
    r: &mut TableReader,
    diags: &mut Diagnostics,
    ports: &[(&'static str, u16)],
) {
    for (i, (name, p)) in ports.iter().enumerate() {
        if let Some((other, _)) = ports[..i].iter().find(|(_, q)| q == p) {
            let span = r.get(name).map_or(r.span(), |n| n.span);
            diags.error(
                span,
                &r.field_path(name),
                format!("port {p} is already used by `{other}` on the frontend node"),
            );
        }
    }
}

/// Read a test definition from its (possibly override-merged) document node.
pub fn read_test(node: &Node, diags: &mut Diagnostics) -> Option<TestDefinition> {
    let mut r = TableReader::new(node, "", diags)?;
    let header = read_header(&mut r, diags);
    let cmd_args = r.required(diags, "cmd_args", read_cmd_args);
    r.finish(diags);
    Some(TestDefinition {
        header: header?,
        cmd_args: cmd_args?,
    })
}

pub(crate) fn find_key<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.value {
        Value::Table(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
        _ => None,
    }
}

fn read_cmd_args(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<CmdArgs> {
    let mut r = TableReader::new(node, path, diags)?;
    let docker_image_url = r.required(diags, "docker_image_url", non_empty_string);
    let container_runtime = r.optional(diags, "container_runtime", container_runtime);
    let served_model_name = r.required(diags, "served_model_name", non_empty_string);
    let sleep_seconds = r.with_default(diags, "sleep_seconds", 660, count);
    let dynamo = r.required(diags, "dynamo", read_dynamo);
    let genai = r.optional(diags, "genai_perf", |n, diags, p| {
        read_load_args(n, diags, p, true)
    });
    let aiperf = r.optional(diags, "aiperf", |n, diags, p| {
        read_load_args(n, diags, p, false)
    });
    let load_generator = match (genai, aiperf, r.get("genai_perf"), r.get("aiperf")) {
        (_, _, Some(_), Some(aiperf_node)) => {
            diags.error(
                aiperf_node.span,
                &r.field_path("aiperf"),
                "give either [cmd_args.genai_perf] or [cmd_args.aiperf], not both",
            );
            None
        }
        (Some(g), _, _, _) => Some(LoadGenerator::GenaiPerf(g)),
        (_, Some(a), _, _) => Some(LoadGenerator::Aiperf(a)),
        (None, None, None, None) => {
            diags.error(
                r.span(),
                &r.field_path("genai_perf"),
                "missing required field (or give [cmd_args.aiperf] instead)",
            );
            None
        }
        _ => None,
    };
    r.finish(diags);
    Some(CmdArgs {
        docker_image_url: docker_image_url?,
        container_runtime,
        served_model_name: served_model_name?,
        sleep_seconds,
        dynamo: dynamo?,
        load_generator: load_generator?,
    })
}

fn read_dynamo(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<DynamoArgs> {
    let mut r = TableReader::new(node, path, diags)?;
    let frontend = r.optional(diags, "frontend", read_frontend);
    let frontend = frontend.or_else(|| r.get("frontend").is_none().then(default_frontend));
    let processor = match r.get("processor") {
        Some(n) => read_processor(n, diags, &r.field_path("processor")),
        None => Some(Processor {
            block_size: 64,
            max_model_len: 8192,
            router: "kv".into(),
        }),
    };
    let router = match r.get("router") {
        Some(n) => read_router(n, diags, &r.field_path("router")),
        None => Some(Router { min_workers: 1 }),
    };
    let prefill = r.required(diags, "prefill_worker", |n, diags, p| {
        read_worker(n, diags, p, false)
    });
    let mut decode_key = "vllm_worker";
    let decode = match r.get_any(diags, &["vllm_worker", "decode_worker"]) {
        Some((name, n)) => {
            decode_key = name;
            read_worker(n, diags, &r.field_path(name), true)
        }
        None => {
            diags.error(
                r.span(),
                &r.field_path("vllm_worker"),
                "missing required field (the decode role; `decode_worker` is accepted too)",
            );
            None
        }
    };
    r.finish(diags);
    Some(DynamoArgs {
        frontend: frontend?,
        processor: processor?,
        router: router?,
        prefill_worker: prefill?,
        decode_worker: decode?,
        decode_key,
    })
}

fn default_frontend() -> Frontend {
    Frontend {
        endpoint: "dynamo.Processor.chat/completions".into(),
        port: 8000,
        port_etcd: 2379,
        port_nats: 4222,
        cmd: None,
        runs_engine: None,
        etcd_cmd: None,
        nats_cmd: None,
    }
}

fn read_frontend(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Frontend> {
    let mut r = TableReader::new(node, path, diags)?;
    let d = default_frontend();
    let f = Frontend {
        endpoint: r.with_default(diags, "endpoint", d.endpoint, non_empty_string),
        port: r.with_default(diags, "port", d.port, port),
        port_etcd: r.with_default(diags, "port_etcd", d.port_etcd, port),
        port_nats: r.with_default(diags, "port_nats", d.port_nats, port),
        cmd: r.optional(diags, "cmd", command),
        runs_engine: r.optional(diags, "runs_engine", boolean),
        etcd_cmd: r.optional(diags, "etcd_cmd", command),
        nats_cmd: r.optional(diags, "nats_cmd", command),
    };
    check_frontend_ports(
        &mut r,
        diags,
        &[
            ("port", f.port),
            ("port_etcd", f.port_etcd),
            ("port_nats", f.port_nats),
        ],
    );
    r.finish(diags);
    Some(f)
}

fn read_processor(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Processor> {
    let mut r = TableReader::new(node, path, diags)?;
    let p = Processor {
        block_size: r.with_default(diags, "block_size", 64, positive),
        max_model_len: r.with_default(diags, "max_model_len", 8192, positive),
        router: r.with_default(diags, "router", "kv".into(), non_empty_string),
    };
    r.finish(diags);
    Some(p)
}

fn read_router(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Router> {
    let mut r = TableReader::new(node, path, diags)?;
    let router = Router {
        min_workers: r.with_default(diags, "min_workers", 1, positive),
    };
    r.finish(diags);
    Some(router)
}

fn read_worker(node: &Node, diags: &mut Diagnostics, path: &str, decode: bool) -> Option<Worker> {
    let mut r = TableReader::new(node, path, diags)?;
    let num_nodes = r.required(diags, "num_nodes", sweep(count));
    let valid = num_nodes.is_some();
    let w = Worker {
        num_nodes: num_nodes.unwrap_or(Sweep::One(0)),
        kv_transfer_config: r.with_default(
            diags,
            "kv_transfer_config",
            r#"{"kv_connector":"DynamoNixlConnector"}"#.into(),
            non_empty_string,
        ),
        block_size: r.with_default(diags, "block_size", 64, positive),
        max_model_len: r.with_default(diags, "max_model_len", 8192, positive),
        max_num_seqs: r.with_default(diags, "max_num_seqs", 16, positive),
        gpu_memory_utilization: r.with_default(
            diags,
            "gpu_memory_utilization",
            0.95,
            float_in(0.0, 1.0),
        ),
        tensor_parallel_size: r.with_default(
            diags,
            "tensor_parallel_size",
            Sweep::One(8),
            sweep(positive),
        ),
        pipeline_parallel_size: r.with_default(
            diags,
            "pipeline_parallel_size",
            Sweep::One(1),
            sweep(positive),
        ),
        quantization: r.optional(diags, "quantization", non_empty_string),
        // `ServiceArgs` is CloudAI 13816b1a's alias (and the seed YAML's key).
        service_args: match r.get_any(diags, &["service_args", "ServiceArgs"]) {
            Some((name, n)) => read_service_args(n, diags, &r.field_path(name)),
            None => None,
        }
        .unwrap_or_else(default_service_args),
        decode: decode.then(|| DecodeOnly {
            remote_prefill: r.with_default(diags, "remote_prefill", true, boolean),
            conditional_disagg: r.with_default(diags, "conditional_disagg", true, boolean),
            max_local_prefill_length: r.with_default(diags, "max_local_prefill_length", 10, count),
            max_prefill_queue_size: r.with_default(diags, "max_prefill_queue_size", 2, count),
            router: r.with_default(diags, "router", "kv".into(), non_empty_string),
            enable_prefix_caching: r.with_default(diags, "enable_prefix_caching", true, boolean),
        }),
        cmd: r.optional(diags, "cmd", command),
        extra_args: r.with_default(diags, "extra_args", IndexMap::new(), read_arg_map),
    };
    r.finish(diags);
    valid.then_some(w)
}

fn default_service_args() -> ServiceArgs {
    ServiceArgs {
        workers: 1,
        resources: IndexMap::from([("gpu".to_string(), "8".to_string())]),
    }
}

fn read_service_args(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<ServiceArgs> {
    let mut r = TableReader::new(node, path, diags)?;
    let workers = r.with_default(diags, "workers", 1, positive);
    let resources = r.with_default(
        diags,
        "resources",
        default_service_args().resources,
        read_string_map_lenient,
    );
    r.finish(diags);
    Some(ServiceArgs { workers, resources })
}

/// CloudAI 13816b1a's genai-perf command ends with `-- -v --async`: perf_analyzer's verbose
/// output and its asynchronous request API (genai-perf itself already passes `--async`).
pub const DEFAULT_PERF_ANALYZER_ARGS: [&str; 2] = ["-v", "--async"];

fn read_load_args(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
    genai_perf: bool,
) -> Option<LoadArgs> {
    let mut r = TableReader::new(node, path, diags)?;
    let output_tokens_mean = aliased_mean(&mut r, diags, "output_tokens_mean", "osl");
    let synthetic_input_tokens_mean =
        aliased_mean(&mut r, diags, "synthetic_input_tokens_mean", "isl");
    let args = LoadArgs {
        cmd: r.optional(diags, "cmd", command),
        port: r.optional(diags, "port", port),
        endpoint: r.optional(diags, "endpoint", non_empty_string),
        endpoint_type: r.optional(diags, "endpoint_type", non_empty_string),
        streaming: r.with_default(diags, "streaming", false, boolean),
        extra_inputs: r.with_default(diags, "extra_inputs", Vec::new(), read_extra_inputs),
        input_file: r.optional(diags, "input_file", non_empty_string),
        tokenizer: r.optional(diags, "tokenizer", non_empty_string),
        output_tokens_mean,
        output_tokens_stddev: r.optional(diags, "output_tokens_stddev", count),
        random_seed: r.optional(diags, "random_seed", count),
        request_count: r.optional(diags, "request_count", positive),
        synthetic_input_tokens_mean,
        synthetic_input_tokens_stddev: r.optional(diags, "synthetic_input_tokens_stddev", count),
        warmup_request_count: r.optional(diags, "warmup_request_count", count),
        concurrency: r.optional(diags, "concurrency", sweep(positive)),
        request_rate: r.optional(diags, "request_rate", sweep(float_in(0.0, f64::INFINITY))),
        extra_args: r.with_default(diags, "extra_args", Vec::new(), string_list),
        perf_analyzer_args: if genai_perf {
            r.with_default(
                diags,
                "perf_analyzer_args",
                DEFAULT_PERF_ANALYZER_ARGS.map(String::from).to_vec(),
                string_list,
            )
        } else {
            Vec::new()
        },
    };
    r.finish(diags);
    Some(args)
}

/// genai-perf's `--osl`/`--isl` are aliases of the means; CloudAI's `osl`/`isl` fields default
/// to -1/550 and, passed after the means, overrode them. Here they are plain aliases: giving
/// both spellings is an error, and -1 means "not set".
fn aliased_mean(
    r: &mut TableReader,
    diags: &mut Diagnostics,
    name: &'static str,
    alias: &'static str,
) -> Option<u32> {
    let main = r.optional(diags, name, positive);
    let alias_value = r.optional(diags, alias, int_in::<i64>(-1, u32::MAX.into()));
    if let (Some(_), Some(node)) = (main, r.get(alias)) {
        if alias_value.is_some_and(|v| v != -1) {
            diags.error(
                node.span,
                &r.field_path(alias),
                format!("`{alias}` is an alias of `{name}`; set only one of them"),
            );
        }
        return main;
    }
    main.or_else(|| {
        alias_value
            .filter(|v| *v > 0)
            .and_then(|v| u32::try_from(v).ok())
    })
}

/// `extra_inputs`: a table (`{max_tokens = 256}`), a list of `key:value` strings, one such
/// string, or CloudAI's verbatim `--extra-inputs a:1 --extra-inputs b:2`.
fn read_extra_inputs(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<Vec<String>> {
    match &node.value {
        Value::Table(entries) => entries
            .iter()
            .map(|(k, v)| {
                arg_value(v, diags, &format!("{path}.{}", k.name))
                    .map(|v| format!("{}:{}", k.name, v.render()))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .collect(),
        Value::Array(_) => string_list(node, diags, path),
        Value::String(s) if s.trim_start().starts_with('-') => {
            // Shell words, as CloudAI pasted this string into the command line: a quoted JSON
            // value with blanks stays one value.
            let words = split_words(s).unwrap_or_default();
            let pairs_ok = !words.is_empty()
                && words.len() % 2 == 0
                && words.chunks(2).all(|c| c[0] == "--extra-inputs");
            if pairs_ok {
                Some(words.chunks(2).map(|c| c[1].to_string()).collect())
            } else {
                diags.error(
                    node.span,
                    path,
                    format!(
                        "expected `--extra-inputs VALUE` pairs or a single `key:value`, found {s:?}"
                    ),
                );
                None
            }
        }
        Value::String(s) if s.trim().is_empty() => Some(Vec::new()),
        Value::String(s) => Some(vec![s.trim().to_string()]),
        other => {
            diags.error(
                node.span,
                path,
                format!(
                    "expected a table, a list of strings or a string, found {}",
                    other.describe()
                ),
            );
            None
        }
    }
}

impl ArgValue {
    /// Text form for command lines and `key:value` pairs (booleans lower-case, as tools expect).
    pub fn render(&self) -> String {
        match self {
            ArgValue::Bool(b) => b.to_string(),
            ArgValue::Int(i) => i.to_string(),
            ArgValue::Float(f) => f.to_string(),
            ArgValue::Str(s) => s.clone(),
        }
    }
}

pub(crate) fn arg_value(node: &Node, diags: &mut Diagnostics, path: &str) -> Option<ArgValue> {
    match &node.value {
        Value::Boolean(b) => Some(ArgValue::Bool(*b)),
        Value::Integer(i) => Some(ArgValue::Int(*i)),
        Value::Float(f) if f.is_finite() => Some(ArgValue::Float(*f)),
        Value::String(s) => Some(ArgValue::Str(s.clone())),
        other => {
            diags.error(
                node.span,
                path,
                format!(
                    "expected a string, a finite number or a boolean, found {}",
                    other.describe()
                ),
            );
            None
        }
    }
}

fn read_arg_map(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
) -> Option<IndexMap<String, ArgValue>> {
    read_map(node, diags, path, arg_value)
}

pub(crate) fn read_string_map(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
) -> Option<IndexMap<String, String>> {
    read_map(node, diags, path, string)
}

fn read_string_map_lenient(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
) -> Option<IndexMap<String, String>> {
    read_map(node, diags, path, env_scalar)
}

pub fn read_env_sweeps(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
) -> Option<IndexMap<String, Sweep<String>>> {
    read_env(node, diags, path, sweep(env_value))
}

/// An environment table (`extra_env_vars`, `global_env_vars`): each key is written as
/// `export NAME=…`, so it must be a shell identifier, or the name itself would run as shell.
pub fn read_env<T>(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
    value: impl Fn(&Node, &mut Diagnostics, &str) -> Option<T>,
) -> Option<IndexMap<String, T>> {
    let map = read_map(node, diags, path, value);
    let Value::Table(entries) = &node.value else {
        return map;
    };
    let mut map = map?;
    let mut refused = std::collections::HashSet::new();
    for (key, _) in entries {
        let (expected, why) = if !super::text::is_env_name(&key.name) {
            (
                "an environment variable name (letters, digits and '_', not starting with a digit)",
                "",
            )
        } else if super::text::BASH_OWNED.contains(&key.name.as_str()) {
            (
                "an environment variable the job can set",
                ", which bash sets itself (its export fails or is lost)",
            )
        } else {
            continue;
        };
        diags.error(
            key.span,
            &format!("{path}.{}", key.name),
            format!("expected {expected}, found {:?}{why}", key.name),
        );
        refused.insert(key.name.as_str());
    }
    // Reported; dropped so that checks of the other variables (HF_HOME) still run.
    map.retain(|k, _| !refused.contains(k.as_str()));
    Some(map)
}

pub(crate) fn read_git_repos(
    node: &Node,
    diags: &mut Diagnostics,
    path: &str,
) -> Option<Vec<GitRepo>> {
    list_of_tables(node, diags, path, |r, diags| {
        Some(GitRepo {
            url: r.required(diags, "url", non_empty_string)?,
            commit: r.required(diags, "commit", non_empty_string)?,
            mount_as: r.optional(diags, "mount_as", non_empty_string),
        })
    })
}

impl From<&ArgValue> for super::sweep::SweepValue {
    fn from(v: &ArgValue) -> Self {
        use super::sweep::SweepValue;
        match v {
            ArgValue::Int(i) => SweepValue::Int(*i),
            ArgValue::Float(f) => SweepValue::Float(*f),
            ArgValue::Bool(b) => SweepValue::Str(b.to_string()),
            ArgValue::Str(s) => SweepValue::Str(s.clone()),
        }
    }
}
