//! The second generation of CloudAI's `AIDynamo` test definition (CloudAI main, 5b5c0f72):
//! current Dynamo (`python -m dynamo.frontend`, `python3 -m dynamo.vllm|sglang`), free engine
//! `args` per worker, load generators as generic workloads, several aiperf phases per job.

use indexmap::IndexMap;
use serde::Serialize;

use crate::config::node::same_key;
use crate::config::sweep::{Slot, Sweep};
use crate::config::test_def::{ArgValue, TestHeader};

/// One current-schema test TOML.
#[derive(Clone, Debug, Serialize)]
pub struct TestDefinition {
    #[serde(flatten)]
    pub header: TestHeader,
    pub cmd_args: CmdArgs,
    /// `cmd_args.…` paths whose lists are data, not sweep axes (CloudAI's DSE exclusion).
    pub dse_excluded_args: Vec<String>,
    pub constraints: Constraints,
}

/// CloudAI's DSE constraints: a sweep point that breaks one is pruned before anything is
/// written.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Constraints {
    pub prefill_tp_le_decode_tp: bool,
    pub tp_times_pp_le_gpus_per_node: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct CmdArgs {
    pub docker_image_url: String,
    pub startup_cmd: Option<String>,
    pub startup_cmd_docker_image: Option<String>,
    pub storage_cache_dir: Option<String>,
    pub dynamo: Dynamo,
    /// Written as `hicache-config.toml` / `lmcache-config.yaml` for the engines, as given.
    pub hicache: Option<serde_json::Value>,
    pub lmcache: Option<serde_json::Value>,
    pub lmcache_controller: Option<String>,
    pub genai_perf: Workload,
    pub aiperf: Workload,
    pub aiperf_phases: Vec<Phase>,
    pub aiperf_accuracy: Option<Accuracy>,
    /// Which load generators run, in order (CloudAI's `workloads = "aiperf.sh,genai_perf.sh"`).
    pub workloads: Vec<WorkloadKind>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadKind {
    GenaiPerf,
    Aiperf,
}

impl WorkloadKind {
    /// CloudAI's spelling in `workloads`.
    pub fn script(self) -> &'static str {
        match self {
            WorkloadKind::GenaiPerf => "genai_perf.sh",
            WorkloadKind::Aiperf => "aiperf.sh",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Vllm,
    Sglang,
    SglangDsr1,
    /// Dynamo's CPU engine simulator (`python -m dynamo.mocker`): this project's extension,
    /// the engine CPU-only users can run.
    Mocker,
}

impl Backend {
    pub const NAMES: &'static [&'static str] = &["vllm", "sglang", "sglang_dsr1", "mocker"];

    pub fn parse(s: &str) -> Option<Backend> {
        match s {
            "vllm" => Some(Backend::Vllm),
            "sglang" => Some(Backend::Sglang),
            "sglang_dsr1" => Some(Backend::SglangDsr1),
            "mocker" => Some(Backend::Mocker),
            _ => None,
        }
    }

    /// The worker command when the file gives none.
    pub fn default_cmd(self, prefill: bool) -> &'static str {
        match (self, prefill) {
            (Backend::Vllm, true) => "python3 -m dynamo.vllm --is-prefill-worker",
            (Backend::Vllm, false) => "python3 -m dynamo.vllm",
            (Backend::Sglang | Backend::SglangDsr1, _) => "python3 -m dynamo.sglang",
            (Backend::Mocker, true) => "python3 -m dynamo.mocker --disaggregation-mode prefill",
            (Backend::Mocker, false) => "python3 -m dynamo.mocker --disaggregation-mode decode",
        }
    }

    /// The log line that says a worker is ready, when the file gives none.
    pub fn default_initialized_regex(self) -> &'static str {
        match self {
            Backend::Vllm => "VllmWorker.*has.been.initialized",
            Backend::Sglang | Backend::SglangDsr1 => {
                "register._register_model_with_runtime_config:.Successfully.registered.LLM.with.runtime.config"
            }
            // dynamo.mocker's `All N mocker worker(s) created and running` (Dynamo 1.6).
            Backend::Mocker => "mocker.worker.*created.and.running",
        }
    }

    /// Flags that carry `dynamo.model` into this backend's engine, as CloudAI injects them
    /// (vLLM `--model`; SGLang `--model-path` and `--served-model-name`). The mocker takes
    /// `--model-name`, and `--model-path` (its tokenizer) unless the args give one.
    pub fn model_flags(self) -> &'static [&'static str] {
        match self {
            Backend::Vllm => &["model"],
            Backend::Sglang | Backend::SglangDsr1 => &["model-path", "served-model-name"],
            Backend::Mocker => &["model-path", "model-name"],
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Dynamo {
    pub model: String,
    pub backend: Backend,
    pub endpoint: String,
    pub connector: Vec<String>,
    pub workspace_path: String,
    pub ingress_cmd: String,
    pub node_setup_cmd: String,
    pub port: u16,
    pub etcd_cmd: String,
    pub etcd_port: u16,
    pub nats_cmd: String,
    pub nats_port: u16,
    pub dcgm_exporter: DcgmExporter,
    pub prefill_worker: Worker,
    pub decode_worker: Worker,
}

#[derive(Clone, Debug, Serialize)]
pub struct DcgmExporter {
    pub enabled: bool,
    pub docker_image_url: String,
    pub port: u16,
}

#[derive(Clone, Debug, Serialize)]
pub struct Worker {
    pub cmd: String,
    pub worker_initialized_regex: String,
    pub multiple_workers_per_node: bool,
    pub num_nodes: Sweep<u32>,
    /// Explicit hostnames (CloudAI's comma-separated `nodes`).
    pub nodes: Vec<String>,
    /// Engine flags `--KEY VALUE` in file order; a list is a sweep axis. The typed ones
    /// (parallel sizes, memory share) are checked when read.
    pub args: IndexMap<String, Sweep<ArgValue>>,
    /// Extra command-line words, appended as given.
    pub extra_args: Vec<String>,
}

impl Worker {
    fn int_arg(&self, name: &str, default: u32) -> u32 {
        match self.arg(name).map(Sweep::value) {
            Some(ArgValue::Int(i)) => u32::try_from(*i).unwrap_or(default),
            _ => default,
        }
    }

    /// The value of an engine argument in any spelling (`tensor-parallel-size`/`_`).
    pub fn arg(&self, name: &str) -> Option<&Sweep<ArgValue>> {
        let canonical = name.replace('-', "_");
        self.args
            .iter()
            .find(|(k, _)| same_key(k, &canonical))
            .map(|(_, v)| v)
    }

    pub fn tp(&self) -> u32 {
        self.int_arg("tensor-parallel-size", 1)
    }

    pub fn pp(&self) -> u32 {
        self.int_arg("pipeline-parallel-size", 1)
    }

    /// GPUs one engine instance uses.
    pub fn gpus_per_worker(&self) -> u32 {
        self.tp().saturating_mul(self.pp())
    }

    pub fn nodes_count(&self) -> u32 {
        if self.nodes.is_empty() {
            *self.num_nodes.value()
        } else {
            u32::try_from(self.nodes.len()).unwrap_or(u32::MAX)
        }
    }
}

/// A load generator (`genai_perf`, `aiperf`) or one aiperf phase.
#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    pub cmd: String,
    pub setup_cmd: Option<String>,
    pub report_name: String,
    pub artifact_dir_name: String,
    /// Tool flags `--KEY VALUE` in file order (`true` = flag alone, `false` = omitted).
    pub args: IndexMap<String, Sweep<ArgValue>>,
    pub extra_args: Vec<String>,
    pub health_check_between_phases: bool,
    pub continue_on_phase_failure: bool,
    pub between_phase_cmd: Option<String>,
}

/// A named aiperf phase: its fields override the base `[cmd_args.aiperf]`.
#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    pub name: String,
    pub cmd: Option<String>,
    pub setup_cmd: Option<String>,
    pub report_name: Option<String>,
    pub artifact_dir_name: Option<String>,
    pub args: IndexMap<String, ArgValue>,
    pub extra_args: Option<Vec<String>>,
    pub between_phase_cmd: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Accuracy {
    pub entrypoint: String,
    /// aiperf arguments with `{model}`, `{url}`, `{artifact_dir}` placeholders.
    pub cli: String,
    pub setup_cmd: Option<String>,
    pub artifact_dir_name: String,
}

impl TestDefinition {
    /// Every sweepable field in axis order: prefill (num_nodes, args in file order), decode
    /// (same), genai_perf args, aiperf args, extra_env_vars — last varying fastest.
    pub fn sweep_slots(&mut self) -> Vec<(String, &mut dyn Slot)> {
        let mut slots: Vec<(String, &mut dyn Slot)> = Vec::new();
        let ca = &mut self.cmd_args;
        for (role, w) in [
            ("prefill_worker", &mut ca.dynamo.prefill_worker),
            ("decode_worker", &mut ca.dynamo.decode_worker),
        ] {
            slots.push((format!("dynamo.{role}.num_nodes"), &mut w.num_nodes));
            for (k, v) in &mut w.args {
                slots.push((format!("dynamo.{role}.args.{k}"), v));
            }
        }
        for (section, wl) in [
            ("genai_perf", &mut ca.genai_perf),
            ("aiperf", &mut ca.aiperf),
        ] {
            for (k, v) in &mut wl.args {
                slots.push((format!("{section}.args.{k}"), v));
            }
        }
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
