//! Why a test's nodes cannot be planned on a system. The texts of the current schema's errors
//! carry the content of CloudAI's (`slurm_command_gen_strategy.py`, `ai_dynamo.sh`).

/// A node plan that cannot be made. A sweep case with such a plan is pruned with this as its
/// reason; a single run fails with it ([`crate::render::RenderError::Plan`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("expected at most {capacity} nodes ({limit}), found {found}")]
    BeyondCapacity {
        capacity: u32,
        /// Where the capacity comes from (a partition's nodes, or the one-job limit).
        limit: String,
        /// What asked for more, as the user wrote it (`num_nodes = 9`, role counts, …).
        found: String,
    },
    #[error(
        "{field}: node {host:?} is not in partition {partition:?} of the system file ({known})"
    )]
    UnknownHost {
        /// The field that names the host (`nodes`, `dynamo.decode_worker.nodes`).
        field: &'static str,
        host: String,
        partition: String,
        /// The partition's nodes, the first few and the count.
        known: String,
    },
    #[error("num_nodes = {requested} disagrees with the {listed} node(s) listed in `nodes`")]
    CountDisagrees { requested: u32, listed: usize },
    #[error(
        "expected at least {needed} nodes (1 frontend + {prefill} prefill + {decode} decode), found {found}"
    )]
    TooFewNodes {
        needed: u32,
        prefill: u32,
        decode: u32,
        /// What was allocated, as the user wrote it (`num_nodes = 2`, `2 node(s) in `nodes``).
        found: String,
    },
    #[error(
        "dynamo.{role}: expected tensor_parallel_size × pipeline_parallel_size ≤ gpus_per_node ({gpus}), found {tp} × {pp} = {}",
        u64::from(*tp) * u64::from(*pp)
    )]
    EngineBeyondNode {
        role: &'static str,
        gpus: u32,
        tp: u32,
        pp: u32,
    },
    #[error("partition {partition:?} lists more than {limit} nodes")]
    PartitionTooLarge { partition: String, limit: usize },
    #[error(transparent)]
    Nodes(#[from] NodesError),
    #[error(
        "decode_worker.num_nodes must be at least 1: the frontend runs on the first decode node"
    )]
    NoDecodeNode,
    #[error(
        "Not enough nodes requested for shared-node disaggregated run: need at least {} node(s) to satisfy role node counts ({prefill} prefill, {decode} decode), but only got {have}",
        prefill.max(decode)
    )]
    TooFewSharedNodes {
        prefill: u32,
        decode: u32,
        have: u32,
    },
    #[error(
        "Overlapping prefill/decode node lists require the allocated node count to match the unique worker node count ({unique}), but got {have}"
    )]
    OverlapDisagrees { unique: usize, have: u32 },
    #[error(
        "Not enough nodes requested: need {} total nodes ({prefill} prefill + {decode} decode), but only got {have}",
        u64::from(*prefill) + u64::from(*decode)
    )]
    TooFewDisaggregatedNodes {
        prefill: u32,
        decode: u32,
        have: u32,
    },
    #[error(
        "Not enough GPUs for shared-node disaggregated mode: need {decode} decode + {prefill} prefill, but only have {gpus}"
    )]
    TooFewSharedGpus {
        decode: u32,
        prefill: u32,
        gpus: u32,
    },
    #[error("{role} worker needs TP × PP = {needed} GPUs, but a node has only {gpus}")]
    WorkerBeyondNode {
        role: &'static str,
        needed: u32,
        gpus: u32,
    },
}

/// A scenario's `nodes` entry, or a host list, that names no usable set of nodes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NodesError {
    #[error("node spec {spec:?}: no partition {partition:?} in the system")]
    NoPartition { spec: String, partition: String },
    #[error("node spec {spec:?}: no group {group:?} in partition {partition:?}")]
    NoGroup {
        spec: String,
        group: String,
        partition: String,
    },
    #[error("node spec {spec:?}: expected a node count after the second ':', found {count:?}")]
    BadCount { spec: String, count: String },
    #[error("node spec {spec:?}: group {group:?} has only {members} node(s)")]
    GroupTooSmall {
        spec: String,
        group: String,
        members: usize,
    },
    #[error("node {0:?} is listed twice in `nodes`")]
    Repeated(String),
    #[error("`nodes` lists more than {limit} nodes, the most one job may have")]
    TooMany { limit: u32 },
    #[error("host list {list:?} names more than {limit} nodes")]
    HostListTooLong { list: String, limit: u32 },
}
