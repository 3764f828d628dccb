//! Node plan of the current schema, as CloudAI main plans it: no frontend node (etcd, NATS,
//! the frontend and the load generator run on the first decode node), explicit node lists,
//! prefill and decode sharing nodes when fewer nodes are allocated than roles need, and GPU
//! slicing (`multiple-workers-per-node`: TP × PP GPUs per worker, several workers per node).
//!
//! Error texts carry the content of CloudAI's (`slurm_command_gen_strategy.py`,
//! `ai_dynamo.sh`), found here before anything is written instead of inside the job.

use serde::Serialize;

use super::{Capacity, PlanError, Topology, resolve_nodes};
use crate::config::SystemConfig;
use crate::config::gen2::TestDefinition;

/// Nodes of a role: Slurm node ids (positions in the job's node list), or hostnames when the
/// file names them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRefs {
    Ids(Vec<u32>),
    Hosts(Vec<String>),
}

impl NodeRefs {
    pub fn len(&self) -> usize {
        match self {
            NodeRefs::Ids(v) => v.len(),
            NodeRefs::Hosts(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Space-separated, for the launch script's arrays.
    pub fn words(&self) -> Vec<String> {
        match self {
            NodeRefs::Ids(v) => v.iter().map(u32::to_string).collect(),
            NodeRefs::Hosts(v) => v.clone(),
        }
    }
}

/// Where each worker runs and on which GPUs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurrentPlan {
    pub decode_nodes: NodeRefs,
    pub prefill_nodes: NodeRefs,
    /// Prefill and decode workers share nodes (one of each per node, GPUs split).
    pub shared: bool,
    pub decode_workers_per_node: u32,
    pub prefill_workers_per_node: u32,
    pub decode_gpus_per_worker: u32,
    pub prefill_gpus_per_worker: u32,
    /// First GPU of the prefill workers on a shared node (after the decode worker's).
    pub prefill_gpu_offset: u32,
}

impl CurrentPlan {
    pub fn expected_prefill_workers(&self) -> u32 {
        u32::try_from(self.prefill_nodes.len()).unwrap_or(u32::MAX) * self.prefill_workers_per_node
    }

    pub fn expected_decode_workers(&self) -> u32 {
        u32::try_from(self.decode_nodes.len()).unwrap_or(u32::MAX) * self.decode_workers_per_node
    }
}

struct NodePlan {
    p: u32,
    dn: u32,
    have: u32,
    used: u32,
    shared: bool,
    allocation: Vec<String>,
    decode_nodes: NodeRefs,
    prefill_nodes: NodeRefs,
}

/// Which nodes run which role (`get_cached_nodes_spec` and `_set_nodelists` in CloudAI).
fn node_plan(
    system: &SystemConfig,
    cap: &Capacity,
    test: &TestDefinition,
    requested: Option<u32>,
    nodes: &[String],
) -> Result<NodePlan, PlanError> {
    let d = &test.cmd_args.dynamo;
    let (pw, dw) = (&d.prefill_worker, &d.decode_worker);
    let (p, dn) = (pw.nodes_count(), dw.nodes_count());
    if dn == 0 {
        return Err(PlanError::NoDecodeNode);
    }
    let explicit = !pw.nodes.is_empty() || !dw.nodes.is_empty();
    let resolved = resolve_nodes(system, nodes)?;
    if let Some(requested) = requested
        .filter(|r| !resolved.is_empty() && usize::try_from(*r).ok() != Some(resolved.len()))
    {
        return Err(PlanError::CountDisagrees {
            requested,
            listed: resolved.len(),
        });
    }
    let mut allocation: Vec<String> = Vec::new();
    if explicit {
        for h in pw.nodes.iter().chain(&dw.nodes).chain(&resolved) {
            if !allocation.contains(h) {
                allocation.push(h.clone());
            }
        }
    } else {
        allocation = resolved.clone();
    }
    let unknown = |field: &'static str, host: &String| PlanError::UnknownHost {
        field,
        host: host.clone(),
        partition: system.default_partition.clone(),
        known: host_summary(&cap.hosts),
    };
    for (field, w) in [
        ("dynamo.prefill_worker.nodes", pw),
        ("dynamo.decode_worker.nodes", dw),
    ] {
        if let Some(h) = w.nodes.iter().find(|h| !cap.knows(h)) {
            return Err(unknown(field, h));
        }
    }
    if let Some(h) = resolved.iter().find(|h| !cap.knows(h)) {
        return Err(unknown("nodes", h));
    }
    let have = if allocation.is_empty() {
        requested.unwrap_or(p + dn)
    } else {
        u32::try_from(allocation.len()).unwrap_or(u32::MAX)
    };
    if have > cap.max {
        let found = if !allocation.is_empty() {
            format!("{have} node(s) named by the workers' and the scenario's `nodes`")
        } else if let Some(r) = requested {
            format!("num_nodes = {r}")
        } else {
            format!(
                "{p} prefill + {dn} decode = {}",
                u64::from(p) + u64::from(dn)
            )
        };
        return Err(PlanError::BeyondCapacity {
            capacity: cap.max,
            limit: cap.where_.clone(),
            found,
        });
    }
    let overlap = pw.nodes.iter().any(|h| dw.nodes.contains(h));
    let shared = overlap || (p > 0 && have < p + dn);
    if shared && have < p.max(dn) {
        return Err(PlanError::TooFewSharedNodes {
            prefill: p,
            decode: dn,
            have,
        });
    }
    if overlap {
        let mut unique: Vec<&String> = Vec::new();
        for h in pw.nodes.iter().chain(&dw.nodes) {
            if !unique.contains(&h) {
                unique.push(h);
            }
        }
        if usize::try_from(have).ok() != Some(unique.len()) {
            return Err(PlanError::OverlapDisagrees {
                unique: unique.len(),
                have,
            });
        }
    }
    if !shared && u64::from(p) + u64::from(dn) > u64::from(have) {
        return Err(PlanError::TooFewDisaggregatedNodes {
            prefill: p,
            decode: dn,
            have,
        });
    }
    let (decode_nodes, prefill_nodes) = if explicit {
        let take = |given: &[String], n: u32, exclude: &[String]| -> Vec<String> {
            if given.is_empty() {
                allocation
                    .iter()
                    .filter(|h| !exclude.contains(h))
                    .take(n as usize)
                    .cloned()
                    .collect()
            } else {
                given.to_vec()
            }
        };
        let decode = take(&dw.nodes, dn, &pw.nodes);
        let prefill = take(&pw.nodes, p, if shared { &[] } else { &decode });
        (NodeRefs::Hosts(decode), NodeRefs::Hosts(prefill))
    } else {
        let decode: Vec<u32> = (0..dn).collect();
        let prefill: Vec<u32> = if shared {
            (0..p).collect()
        } else {
            (dn..dn + p).collect()
        };
        (NodeRefs::Ids(decode), NodeRefs::Ids(prefill))
    };
    let used = if shared { p.max(dn) } else { p + dn };
    Ok(NodePlan {
        p,
        dn,
        have,
        used,
        shared,
        allocation,
        decode_nodes,
        prefill_nodes,
    })
}

/// The partition's nodes for a message: the first few and the count.
fn host_summary(hosts: &[String]) -> String {
    const SHOWN: usize = 8;
    let first = hosts[..hosts.len().min(SHOWN)].join(", ");
    if hosts.len() > SHOWN {
        format!("its {} nodes: {first}, …", hosts.len())
    } else {
        format!("its nodes: {first}")
    }
}

/// Whether prefill and decode would share nodes (what the DSE's shared-node constraint needs
/// before the GPU plan, which refuses what does not fit).
pub(super) fn shares_with(
    system: &SystemConfig,
    cap: &Capacity,
    test: &TestDefinition,
    requested: Option<u32>,
    nodes: &[String],
) -> Result<bool, PlanError> {
    node_plan(system, cap, test, requested, nodes).map(|n| n.shared)
}

/// Plan a current-schema test whose sweeps are pinned. `requested` is the scenario's
/// `num_nodes`, `nodes` its node list or `PARTITION:GROUP:N` specs.
pub fn plan_current(
    system: &SystemConfig,
    test: &TestDefinition,
    requested: Option<u32>,
    nodes: &[String],
) -> Result<Topology, PlanError> {
    super::Planner::new(system).plan_current(test, requested, nodes)
}

pub(super) fn plan_with(
    system: &SystemConfig,
    cap: &Capacity,
    test: &TestDefinition,
    requested: Option<u32>,
    nodes: &[String],
) -> Result<Topology, PlanError> {
    let NodePlan {
        p,
        dn,
        have,
        used,
        shared,
        allocation,
        decode_nodes,
        prefill_nodes,
    } = node_plan(system, cap, test, requested, nodes)?;
    let gpus = gpu_slicing(system.gpus_per_node, test, shared)?;
    let nodelist = allocation;
    let warning = (have > used).then(|| {
        format!(
            "{have} node(s) allocated but the test uses {used} ({p} prefill, {dn} decode{})",
            if shared { ", shared" } else { "" }
        )
    });
    Ok(Topology {
        prefill: p,
        decode: dn,
        num_nodes: have,
        // The frontend shares the first decode node: every used node runs an engine.
        frontend_engine: true,
        engine_nodes: used,
        nodelist,
        unused: Vec::new(),
        warning,
        current: Some(CurrentPlan {
            decode_nodes,
            prefill_nodes,
            shared,
            ..gpus
        }),
    })
}

/// GPUs per worker and workers per node (`_compute_worker_allocation_vllm` in CloudAI's
/// driver; SGLang DSR1 runs one worker per node on all GPUs).
fn gpu_slicing(
    gpus_per_node: Option<u32>,
    test: &TestDefinition,
    shared: bool,
) -> Result<CurrentPlan, PlanError> {
    use crate::config::gen2::Backend;
    let d = &test.cmd_args.dynamo;
    let (pw, dw) = (&d.prefill_worker, &d.decode_worker);
    let (pg, dg) = (pw.gpus_per_worker(), dw.gpus_per_worker());
    let base = CurrentPlan {
        decode_nodes: NodeRefs::Ids(Vec::new()),
        prefill_nodes: NodeRefs::Ids(Vec::new()),
        shared,
        decode_workers_per_node: 1,
        prefill_workers_per_node: 1,
        decode_gpus_per_worker: dg,
        prefill_gpus_per_worker: pg,
        prefill_gpu_offset: 0,
    };
    let Some(n) = gpus_per_node.filter(|g| *g > 0) else {
        return Ok(base);
    };
    if d.backend == Backend::SglangDsr1 {
        return Ok(CurrentPlan {
            decode_gpus_per_worker: n,
            prefill_gpus_per_worker: n,
            ..base
        });
    }
    if shared {
        if pg + dg > n {
            return Err(PlanError::TooFewSharedGpus {
                decode: dg,
                prefill: pg,
                gpus: n,
            });
        }
        return Ok(CurrentPlan {
            prefill_gpu_offset: dg,
            ..base
        });
    }
    let per_worker = |w: &crate::config::gen2::Worker,
                      g: u32,
                      role: &'static str|
     -> Result<(u32, u32), PlanError> {
        let g = if w.multiple_workers_per_node { g } else { n };
        if g > n {
            return Err(PlanError::WorkerBeyondNode {
                role,
                needed: g,
                gpus: n,
            });
        }
        Ok((g, n / g))
    };
    let (dgw, dwpn) = per_worker(dw, dg, "decode")?;
    let (pgw, pwpn) = per_worker(pw, pg, "prefill")?;
    Ok(CurrentPlan {
        decode_gpus_per_worker: dgw,
        decode_workers_per_node: dwpn,
        prefill_gpus_per_worker: pgw,
        prefill_workers_per_node: pwpn,
        ..base
    })
}
