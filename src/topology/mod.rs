//! Who runs where: one frontend node (etcd, NATS, the HTTP frontend, the load generator), then
//! the prefill nodes, then the decode nodes, in Slurm node-id order.

mod current;
mod error;

use serde::Serialize;

use crate::config::{SystemConfig, TestDefinition};
pub use current::{CurrentPlan, NodeRefs, plan_current};
pub use error::{NodesError, PlanError};

/// What a node does in the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Frontend,
    Prefill,
    Decode,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Frontend => "frontend",
            Role::Prefill => "prefill",
            Role::Decode => "decode",
        }
    }
}

/// The node plan of one test run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Topology {
    pub prefill: u32,
    pub decode: u32,
    /// Nodes allocated and used: 1 + prefill + decode.
    pub num_nodes: u32,
    /// Whether the frontend node runs an engine too (see `Frontend::runs_engine`).
    pub frontend_engine: bool,
    /// Nodes that run an engine, the per-GPU divisor's node count: prefill + decode, plus the
    /// frontend node when it hosts one (the seed's default commands: 1 + prefill + decode).
    pub engine_nodes: u32,
    /// Hostnames to allocate, when the scenario names nodes (empty: any `num_nodes` nodes).
    pub nodelist: Vec<String>,
    /// Requested nodes that are neither allocated nor used.
    pub unused: Vec<String>,
    /// Set when the scenario asked for more nodes than the test uses.
    #[serde(skip)]
    pub warning: Option<String>,
    /// The current schema's plan (no frontend node, shared nodes, GPU slicing); `None` for
    /// the seed schema, whose roles follow from the counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<CurrentPlan>,
}

impl Topology {
    /// Role of each Slurm node id, `SLURM_NODEID` order.
    pub fn roles(&self) -> Vec<Role> {
        std::iter::once(Role::Frontend)
            .chain(std::iter::repeat_n(Role::Prefill, self.prefill as usize))
            .chain(std::iter::repeat_n(Role::Decode, self.decode as usize))
            .collect()
    }
}

/// Most nodes one job may use when the system file lists no nodes to count: larger than any
/// Slurm cluster, small enough that a typo (`num_nodes = 4294967295`) is an error rather than a
/// plan that takes all memory.
pub const MAX_JOB_NODES: u32 = 65_536;

/// Plan the nodes of a test whose sweeps are pinned. `requested` is the scenario's
/// `num_nodes`; `nodes` its explicit node list or `PARTITION:GROUP:N` specs.
pub fn plan(
    system: &SystemConfig,
    test: &TestDefinition,
    requested: Option<u32>,
    nodes: &[String],
) -> Result<Topology, PlanError> {
    Planner::new(system).plan(test, requested, nodes)
}

/// [`plan`] for many cases of one system: the system's node capacity is worked out once
/// (expanding a partition's hostlists for each of a thousand sweep cases was a fifth of
/// planning them).
pub struct Planner<'a> {
    system: &'a SystemConfig,
    capacity: Result<Capacity, PlanError>,
}

impl<'a> Planner<'a> {
    pub fn new(system: &'a SystemConfig) -> Self {
        Planner {
            system,
            capacity: capacity(system),
        }
    }

    pub fn plan(
        &self,
        test: &TestDefinition,
        requested: Option<u32>,
        nodes: &[String],
    ) -> Result<Topology, PlanError> {
        plan_with(
            self.system,
            self.capacity.as_ref().map_err(PlanError::clone)?,
            test,
            requested,
            nodes,
        )
    }

    /// [`plan_current`] with this system's capacity.
    pub fn plan_current(
        &self,
        test: &crate::config::gen2::TestDefinition,
        requested: Option<u32>,
        nodes: &[String],
    ) -> Result<Topology, PlanError> {
        current::plan_with(
            self.system,
            self.capacity.as_ref().map_err(PlanError::clone)?,
            test,
            requested,
            nodes,
        )
    }

    /// Whether prefill and decode would share nodes, with this system's capacity (what the
    /// DSE's shared-node constraint needs before the GPU plan, which refuses what does not fit).
    pub fn shares_nodes(
        &self,
        test: &crate::config::gen2::TestDefinition,
        requested: Option<u32>,
        nodes: &[String],
    ) -> Result<bool, PlanError> {
        current::shares_with(
            self.system,
            self.capacity.as_ref().map_err(PlanError::clone)?,
            test,
            requested,
            nodes,
        )
    }
}

fn plan_with(
    system: &SystemConfig,
    cap: &Capacity,
    test: &TestDefinition,
    requested: Option<u32>,
    nodes: &[String],
) -> Result<Topology, PlanError> {
    let prefill = *test.cmd_args.dynamo.prefill_worker.num_nodes.value();
    let decode = *test.cmd_args.dynamo.decode_worker.num_nodes.value();
    // u64: 1 + two u32 cannot overflow it.
    let needed64 = 1 + u64::from(prefill) + u64::from(decode);
    let Some(needed) = u32::try_from(needed64).ok().filter(|n| *n <= cap.max) else {
        return Err(PlanError::BeyondCapacity {
            capacity: cap.max,
            limit: cap.where_.clone(),
            found: format!("1 frontend + {prefill} prefill + {decode} decode = {needed64}"),
        });
    };
    check_gpus(system, test)?;
    let resolved = resolve_nodes(system, nodes)?;
    let (have, what) = if resolved.is_empty() {
        (
            requested.unwrap_or(needed),
            format!("num_nodes = {}", requested.unwrap_or(needed)),
        )
    } else {
        let n = u32::try_from(resolved.len()).unwrap_or(u32::MAX);
        (n, format!("{n} node(s) in `nodes`"))
    };
    if let Some(requested) = requested.filter(|r| !resolved.is_empty() && *r != have) {
        return Err(PlanError::CountDisagrees {
            requested,
            listed: resolved.len(),
        });
    }
    if have < needed {
        return Err(PlanError::TooFewNodes {
            needed,
            prefill,
            decode,
            found: what,
        });
    }
    let used = needed as usize;
    let (nodelist, unused) = if resolved.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (resolved[..used].to_vec(), resolved[used..].to_vec())
    };
    let warning = (have > needed).then(|| {
        let extra = if unused.is_empty() {
            String::new()
        } else {
            format!("; not allocated: {}", unused.join(","))
        };
        format!(
            "{what} but the test uses {needed} (1 frontend + {prefill} prefill + {decode} decode): only {needed} are allocated{extra}"
        )
    });
    let frontend_engine = test.cmd_args.dynamo.frontend.runs_engine();
    Ok(Topology {
        prefill,
        decode,
        num_nodes: needed,
        frontend_engine,
        engine_nodes: prefill + decode + u32::from(frontend_engine),
        nodelist,
        unused,
        warning,
        current: None,
    })
}

/// How many nodes a job may have: the nodes the system file lists for its default partition,
/// or [`MAX_JOB_NODES`] when it lists none.
#[derive(Clone, Debug)]
pub(crate) struct Capacity {
    pub max: u32,
    /// Says where `max` comes from, for messages.
    pub where_: String,
    /// The partition's hostnames, sorted (empty: the system file lists none).
    pub hosts: Vec<String>,
}

impl Capacity {
    /// Whether `host` may be allocated: any host when the system file lists none.
    pub fn knows(&self, host: &str) -> bool {
        self.hosts.is_empty()
            || self
                .hosts
                .binary_search_by(|h| h.as_str().cmp(host))
                .is_ok()
    }
}

pub(crate) fn capacity(system: &SystemConfig) -> Result<Capacity, PlanError> {
    let partition = system
        .partitions
        .iter()
        .find(|p| p.name == system.default_partition);
    let mut hosts: Vec<String> = Vec::new();
    for g in partition.map(|p| p.groups.as_slice()).unwrap_or_default() {
        for n in &g.nodes {
            hosts.extend(expand_hostlist(n)?);
            if hosts.len() > MAX_JOB_NODES as usize * 4 {
                return Err(PlanError::PartitionTooLarge {
                    partition: system.default_partition.clone(),
                    limit: MAX_JOB_NODES as usize * 4,
                });
            }
        }
    }
    hosts.sort_unstable();
    hosts.dedup();
    if hosts.is_empty() {
        Ok(Capacity {
            max: MAX_JOB_NODES,
            where_: "the limit of one job when the system file lists no nodes".to_string(),
            hosts,
        })
    } else {
        Ok(Capacity {
            max: u32::try_from(hosts.len())
                .unwrap_or(u32::MAX)
                .min(MAX_JOB_NODES),
            where_: format!(
                "the nodes of partition {:?} in the system file",
                system.default_partition
            ),
            hosts,
        })
    }
}

/// Each prefill or decode node runs one engine over `tensor_parallel_size ×
/// pipeline_parallel_size` GPUs, which must fit in one node (CloudAI's DSE constraint
/// `tp_times_pp_le_gpus_per_node`). Roles with no node are not checked.
fn check_gpus(system: &SystemConfig, test: &TestDefinition) -> Result<(), PlanError> {
    let Some(gpus) = system.gpus_per_node else {
        return Ok(());
    };
    let d = &test.cmd_args.dynamo;
    for (role, w) in [
        ("prefill_worker", &d.prefill_worker),
        ("decode_worker", &d.decode_worker),
    ] {
        if *w.num_nodes.value() == 0 {
            continue;
        }
        let (tp, pp) = (
            *w.tensor_parallel_size.value(),
            *w.pipeline_parallel_size.value(),
        );
        if u64::from(tp) * u64::from(pp) > u64::from(gpus) {
            return Err(PlanError::EngineBeyondNode { role, gpus, tp, pp });
        }
    }
    Ok(())
}

/// Expand `PARTITION:GROUP:N` specs through the system's partitions; other entries are
/// hostnames (Slurm hostlist ranges such as `node[1-4]` are expanded).
pub fn resolve_nodes(system: &SystemConfig, nodes: &[String]) -> Result<Vec<String>, NodesError> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for spec in nodes {
        let parts: Vec<&str> = spec.split(':').collect();
        let expanded =
            if let [partition, group, count] = parts[..] {
                let p = system
                    .partitions
                    .iter()
                    .find(|p| p.name == partition)
                    .ok_or_else(|| NodesError::NoPartition {
                        spec: spec.clone(),
                        partition: partition.to_string(),
                    })?;
                let g = p.groups.iter().find(|g| g.name == group).ok_or_else(|| {
                    NodesError::NoGroup {
                        spec: spec.clone(),
                        group: group.to_string(),
                        partition: partition.to_string(),
                    }
                })?;
                let mut members: Vec<String> = Vec::new();
                for n in &g.nodes {
                    members.extend(expand_hostlist(n)?);
                }
                let n: usize = count.parse().map_err(|_| NodesError::BadCount {
                    spec: spec.clone(),
                    count: count.to_string(),
                })?;
                if n > members.len() {
                    return Err(NodesError::GroupTooSmall {
                        spec: spec.clone(),
                        group: group.to_string(),
                        members: members.len(),
                    });
                }
                members
                    .into_iter()
                    .filter(|m| !seen.contains(m))
                    .take(n)
                    .collect::<Vec<_>>()
            } else {
                expand_hostlist(spec)?
            };
        for host in expanded {
            if !seen.insert(host.clone()) {
                return Err(NodesError::Repeated(host));
            }
            out.push(host);
            if out.len() > MAX_JOB_NODES as usize {
                return Err(NodesError::TooMany {
                    limit: MAX_JOB_NODES,
                });
            }
        }
    }
    Ok(out)
}

/// `node[01-03,7]` → node01 node02 node03 node7 (one bracket group, zero padding kept).
/// A list of more than [`MAX_JOB_NODES`] names is refused: no job can use them, and a range
/// such as `n[0-99999999999]` would otherwise take all memory.
pub fn expand_hostlist(s: &str) -> Result<Vec<String>, NodesError> {
    let (Some(open), Some(close)) = (s.find('['), s.rfind(']')) else {
        return Ok(vec![s.to_string()]);
    };
    if close < open {
        return Ok(vec![s.to_string()]);
    }
    let (prefix, body, suffix) = (&s[..open], &s[open + 1..close], &s[close + 1..]);
    let limit = u64::from(MAX_JOB_NODES);
    let too_many = || NodesError::HostListTooLong {
        list: s.to_string(),
        limit: MAX_JOB_NODES,
    };
    let mut out = Vec::new();
    for range in body.split(',') {
        match range.split_once('-') {
            Some((a, b)) => match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(lo), Ok(hi)) if lo <= hi => {
                    if hi - lo >= limit || out.len() as u64 + (hi - lo) >= limit {
                        return Err(too_many());
                    }
                    for i in lo..=hi {
                        out.push(host_name(prefix, i, a.len(), suffix));
                    }
                }
                _ => out.push(format!("{prefix}{range}{suffix}")),
            },
            None => out.push(format!("{prefix}{range}{suffix}")),
        }
        if out.len() as u64 > limit {
            return Err(too_many());
        }
    }
    Ok(out)
}

/// `{prefix}{i:0width$}{suffix}` without the formatting machinery: a partition of a few
/// thousand nodes is expanded for every plan.
fn host_name(prefix: &str, i: u64, width: usize, suffix: &str) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = i;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = &digits[at..];
    let zeros = width.saturating_sub(digits.len());
    let mut name = String::with_capacity(prefix.len() + zeros + digits.len() + suffix.len());
    name.push_str(prefix);
    name.extend(std::iter::repeat_n('0', zeros));
    name.extend(digits.iter().map(|&d| char::from(d)));
    name.push_str(suffix);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostlists_expand_with_padding() {
        assert_eq!(
            expand_hostlist("n[08-10,3]").unwrap(),
            vec!["n08", "n09", "n10", "n3"]
        );
        assert_eq!(expand_hostlist("plain").unwrap(), vec!["plain"]);
        assert_eq!(
            expand_hostlist("gpu[098-100].ib").unwrap(),
            vec!["gpu098.ib", "gpu099.ib", "gpu100.ib"]
        );
        assert_eq!(host_name("gpu", 7, 3, ".ib"), "gpu007.ib");
        assert_eq!(host_name("n", 0, 0, ""), "n0");
        assert_eq!(host_name("n", u64::MAX, 2, ""), format!("n{}", u64::MAX));
    }

    #[test]
    fn huge_hostlists_are_refused() {
        assert!(expand_hostlist("n[0-99999999999]").is_err());
        let many = format!("n[{}]", ["1-60000"; 3].join(","));
        assert!(expand_hostlist(&many).is_err());
        assert_eq!(expand_hostlist("n[1-65536]").unwrap().len(), 65_536);
    }
}
