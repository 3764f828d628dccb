//! The current CloudAI `AIDynamo` schema (CloudAI main, 5b5c0f72), next to the seed one
//! (`test_def`): its own model and reader, the same spanned TOML and diagnostics. Which
//! generation a file is written in is judged per file from its shape ([`generation`]).

mod dse;
mod layout;
mod model;
mod read;

pub use dse::prune_reason;
pub use layout::{ACCURACY_RESULTS, FINAL_AIPERF_REPORT, accuracy_candidates, aiperf_phase_files};
pub use model::{
    Accuracy, Backend, CmdArgs, Constraints, DcgmExporter, Dynamo, Phase, TestDefinition, Worker,
    Workload, WorkloadKind,
};
pub(crate) use read::FREE_KEY_TABLES;
pub use read::{AIPERF_ARTIFACTS, read_test};

use serde::Serialize;

use super::node::{Node, Value, same_key};

/// The two schemas CloudAI has had for `AIDynamo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// July 2025 (CloudAI 13816b1a): `dynamo serve` graphs, `served_model_name`.
    Seed,
    /// CloudAI main (5b5c0f72): `python -m dynamo.*`, worker `args`, workloads, phases.
    Current,
}

/// Keys only the seed schema has (under `cmd_args`, `cmd_args.dynamo`, a worker).
const SEED_CMD_ARGS: &[&str] = &["served_model_name", "sleep_seconds"];
const SEED_DYNAMO: &[&str] = &["frontend", "processor", "router", "vllm_worker"];
const SEED_WORKER: &[&str] = &[
    "kv_transfer_config",
    "block_size",
    "max_model_len",
    "max_num_seqs",
    "gpu_memory_utilization",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "quantization",
    "service_args",
    "ServiceArgs",
    "remote_prefill",
    "conditional_disagg",
];
/// Keys only the current schema has.
const CURRENT_CMD_ARGS: &[&str] = &[
    "workloads",
    "aiperf_phases",
    "aiperf_accuracy",
    "storage_cache_dir",
    "hicache",
    "lmcache",
    "lmcache_controller",
    "startup_cmd",
    "startup_cmd_docker_image",
];
const CURRENT_DYNAMO: &[&str] = &[
    "model",
    "backend",
    "endpoint",
    "port",
    "connector",
    "workspace_path",
    "ingress_cmd",
    "node_setup_cmd",
    "etcd_cmd",
    "etcd_port",
    "nats_cmd",
    "nats_port",
    "dcgm_exporter",
];
const CURRENT_WORKER: &[&str] = &[
    "args",
    "worker_initialized_regex",
    "multiple_workers_per_node",
    "nodes",
];

/// The generation of a test document, from the keys it uses: the seed when it has more
/// seed-only keys than current-only ones, else the current schema (whose defaults describe a
/// whole job, so a file with neither kind of key is a current one).
pub fn generation(doc: &Node) -> Generation {
    let (mut seed, mut current) = (0usize, 0usize);
    let count = |node: Option<&Node>, keys: &[&str]| -> usize {
        keys.iter().filter(|k| child(node, k).is_some()).count()
    };
    let cmd_args = child(Some(doc), "cmd_args");
    seed += count(cmd_args, SEED_CMD_ARGS);
    current += count(cmd_args, CURRENT_CMD_ARGS);
    let dynamo = child(cmd_args, "dynamo");
    seed += count(dynamo, SEED_DYNAMO);
    current += count(dynamo, CURRENT_DYNAMO);
    for worker in ["prefill_worker", "decode_worker"] {
        let w = child(dynamo, worker);
        seed += count(w, SEED_WORKER);
        current += count(w, CURRENT_WORKER);
    }
    for lg in ["genai_perf", "aiperf"] {
        // The current schema puts tool flags under `args`; the seed had them inline.
        let t = child(cmd_args, lg);
        current += count(t, &["args", "setup_cmd"]);
        seed += count(
            t,
            &["streaming", "endpoint_type", "concurrency", "request_count"],
        );
    }
    if seed > current {
        Generation::Seed
    } else {
        Generation::Current
    }
}

fn child<'n>(node: Option<&'n Node>, key: &str) -> Option<&'n Node> {
    let Value::Table(entries) = &node?.value else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| same_key(&k.name, key))
        .map(|(_, v)| v)
}
