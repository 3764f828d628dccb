//! Who runs where: one frontend node (etcd, NATS, the HTTP frontend, the load generator), then
//! the prefill nodes, then the decode nodes, in Slurm node-id order.

use serde::Serialize;

use crate::config::{SystemConfig, TestDefinition};

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

/// Plan the nodes of a test whose sweeps are pinned. `requested` is the scenario's
/// `num_nodes`; `nodes` its explicit node list or `PARTITION:GROUP:N` specs.
pub fn plan(
    system: &SystemConfig,
    test: &TestDefinition,
    requested: Option<u32>,
    nodes: &[String],
) -> Result<Topology, String> {
    let prefill = *test.cmd_args.dynamo.prefill_worker.num_nodes.value();
    let decode = *test.cmd_args.dynamo.decode_worker.num_nodes.value();
    let needed = 1 + prefill + decode;
    let breakdown = format!("1 frontend + {prefill} prefill + {decode} decode");
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
    if !resolved.is_empty() && requested.is_some_and(|r| r != have) {
        return Err(format!(
            "num_nodes = {} disagrees with the {have} node(s) listed in `nodes`",
            requested.unwrap_or_default()
        ));
    }
    if have < needed {
        return Err(format!(
            "expected at least {needed} nodes ({breakdown}), found {what}"
        ));
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
            "{what} but the test uses {needed} ({breakdown}): only {needed} are allocated{extra}"
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
    })
}

/// Expand `PARTITION:GROUP:N` specs through the system's partitions; other entries are
/// hostnames (Slurm hostlist ranges such as `node[1-4]` are expanded).
pub fn resolve_nodes(system: &SystemConfig, nodes: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for spec in nodes {
        let parts: Vec<&str> = spec.split(':').collect();
        let expanded = if let [partition, group, count] = parts[..] {
            let p = system
                .partitions
                .iter()
                .find(|p| p.name == partition)
                .ok_or_else(|| {
                    format!("node spec {spec:?}: no partition {partition:?} in the system")
                })?;
            let g = p.groups.iter().find(|g| g.name == group).ok_or_else(|| {
                format!("node spec {spec:?}: no group {group:?} in partition {partition:?}")
            })?;
            let members: Vec<String> = g.nodes.iter().flat_map(|n| expand_hostlist(n)).collect();
            let n: usize = count
                .parse()
                .map_err(|_| format!("node spec {spec:?}: expected a node count after the second ':', found {count:?}"))?;
            if n > members.len() {
                return Err(format!(
                    "node spec {spec:?}: group {group:?} has only {} node(s)",
                    members.len()
                ));
            }
            members
                .into_iter()
                .filter(|m| !out.contains(m))
                .take(n)
                .collect::<Vec<_>>()
        } else {
            expand_hostlist(spec)
        };
        for host in expanded {
            if out.contains(&host) {
                return Err(format!("node {host:?} is listed twice in `nodes`"));
            }
            out.push(host);
        }
    }
    Ok(out)
}

/// `node[01-03,7]` → node01 node02 node03 node7 (one bracket group, zero padding kept).
pub fn expand_hostlist(s: &str) -> Vec<String> {
    let (Some(open), Some(close)) = (s.find('['), s.rfind(']')) else {
        return vec![s.to_string()];
    };
    if close < open {
        return vec![s.to_string()];
    }
    let (prefix, body, suffix) = (&s[..open], &s[open + 1..close], &s[close + 1..]);
    let mut out = Vec::new();
    for range in body.split(',') {
        match range.split_once('-') {
            Some((a, b)) => match (a.parse::<u64>(), b.parse::<u64>()) {
                (Ok(lo), Ok(hi)) if lo <= hi && hi - lo < 100_000 => {
                    for i in lo..=hi {
                        out.push(format!("{prefix}{i:0width$}{suffix}", width = a.len()));
                    }
                }
                _ => out.push(format!("{prefix}{range}{suffix}")),
            },
            None => out.push(format!("{prefix}{range}{suffix}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostlists_expand_with_padding() {
        assert_eq!(
            expand_hostlist("n[08-10,3]"),
            vec!["n08", "n09", "n10", "n3"]
        );
        assert_eq!(expand_hostlist("plain"), vec!["plain"]);
    }
}
