//! The rules of the standalone scheduler (CloudAI's `scheduler = "standalone"`): every node role
//! of a job runs as a local process of this machine, from the same `run.sh` as on Slurm. Since
//! the roles now share one host, each job gets its own ports (chosen free at run time by the
//! caller, one per slot named by [`port_slots`]) and, when the machine has GPUs, the workers
//! split them through `CUDA_VISIBLE_DEVICES`.
//!
//! The launch script reads the `CLOUDAIX_LOCAL_*` variables set here in place of Slurm's
//! (`SLURM_NODEID`, `SLURM_JOB_ID`, `SLURM_JOB_MASTER_NODE`) and of the configured ports; no
//! `SLURM_*` variable is faked, so that no tool in the job believes it runs under Slurm.

use indexmap::IndexMap;
use serde::Serialize;

use crate::config::slurm_time_seconds;
use crate::topology::Role;

/// Host every role uses to reach the frontend node's services.
pub const LOCAL_HOST: &str = "127.0.0.1";

/// Port slots of a job of 1 frontend + `prefill` + `decode` nodes: the frontend node's
/// services, then one per worker node (`worker<node id>`, exported as `CLOUDAIX_WORKER_PORT`,
/// e.g. for the mocker's `--bootstrap-ports`).
pub fn port_slots(prefill: u32, decode: u32) -> Vec<String> {
    let mut slots: Vec<String> = ["frontend", "etcd", "etcd_peer", "nats"]
        .map(String::from)
        .to_vec();
    slots.extend((1..=prefill + decode).map(|id| format!("worker{id}")));
    slots
}

/// One local process: the launch script as node `node_id`, with `env` added.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LocalProcess {
    pub node_id: u32,
    pub role: Role,
    pub env: IndexMap<String, String>,
}

/// Everything the standalone scheduler needs to start one job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LocalPlan {
    pub processes: Vec<LocalProcess>,
    /// Port of every slot, in [`port_slots`] order.
    pub ports: IndexMap<String, u16>,
    /// `None`: no time limit (none given, or `UNLIMITED`).
    pub time_limit_seconds: Option<u64>,
}

/// A standalone job that cannot be started on this machine as given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalPlanError {
    #[error("expected {} ports ({}), found {found}", .slots.len(), .slots.join(", "))]
    PortCount { slots: Vec<String>, found: usize },
    #[error("port {port} of slot {slot} is zero or repeated")]
    BadPort { port: u16, slot: String },
    #[error("unreadable time limit {0:?}")]
    TimeLimit(String),
    #[error("{workers} workers need at least one GPU each; this machine has {} ({})", .gpus.len(), .gpus.join(","))]
    TooFewGpus { workers: usize, gpus: Vec<String> },
}

/// Plan one job. `ports` are free ports, one per [`port_slots`] entry, in that order;
/// `gpus` the GPU ids of this machine (empty when it has none).
pub fn plan(
    prefill: u32,
    decode: u32,
    gpus: &[String],
    ports: &[u16],
    job_id: &str,
    time_limit: Option<&str>,
) -> Result<LocalPlan, LocalPlanError> {
    let slots = port_slots(prefill, decode);
    if ports.len() != slots.len() {
        return Err(LocalPlanError::PortCount {
            slots,
            found: ports.len(),
        });
    }
    for (i, p) in ports.iter().enumerate() {
        if *p == 0 || ports[..i].contains(p) {
            return Err(LocalPlanError::BadPort {
                port: *p,
                slot: slots[i].clone(),
            });
        }
    }
    let time_limit_seconds = match time_limit {
        None => None,
        Some(t) => slurm_time_seconds(t).ok_or_else(|| LocalPlanError::TimeLimit(t.to_string()))?,
    };
    let shares = split_gpus(gpus, prefill + decode)?;
    let ports: IndexMap<String, u16> = slots.into_iter().zip(ports.iter().copied()).collect();
    let common: IndexMap<String, String> = [
        ("CLOUDAIX_LOCAL_JOB_ID", job_id.to_string()),
        ("CLOUDAIX_LOCAL_HOST", LOCAL_HOST.to_string()),
        (
            "CLOUDAIX_LOCAL_FRONTEND_PORT",
            ports["frontend"].to_string(),
        ),
        ("CLOUDAIX_LOCAL_ETCD_PORT", ports["etcd"].to_string()),
        (
            "CLOUDAIX_LOCAL_ETCD_PEER_PORT",
            ports["etcd_peer"].to_string(),
        ),
        ("CLOUDAIX_LOCAL_NATS_PORT", ports["nats"].to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .into_iter()
    .collect();
    let topo_roles = std::iter::once(Role::Frontend)
        .chain(std::iter::repeat_n(Role::Prefill, prefill as usize))
        .chain(std::iter::repeat_n(Role::Decode, decode as usize));
    let processes = topo_roles
        .enumerate()
        .map(|(i, role)| {
            let node_id = u32::try_from(i).unwrap_or(u32::MAX);
            let mut env = common.clone();
            env.insert("CLOUDAIX_LOCAL_NODE_ID".into(), node_id.to_string());
            if node_id > 0 {
                let port = ports[&format!("worker{node_id}")];
                env.insert("CLOUDAIX_LOCAL_WORKER_PORT".into(), port.to_string());
                if let Some(share) = shares.get(i - 1) {
                    env.insert("CUDA_VISIBLE_DEVICES".into(), share.join(","));
                }
            }
            LocalProcess { node_id, role, env }
        })
        .collect();
    Ok(LocalPlan {
        processes,
        ports,
        time_limit_seconds,
    })
}

/// The machine's GPUs split between `workers` worker processes: equal contiguous shares in
/// GPU order (as Slurm gives each worker node its own GPUs); a remainder stays unused. No
/// GPUs: no shares (nothing is restricted). The frontend node runs no engine and gets none.
pub fn split_gpus(gpus: &[String], workers: u32) -> Result<Vec<Vec<String>>, LocalPlanError> {
    let workers = workers as usize;
    if gpus.is_empty() || workers == 0 {
        return Ok(Vec::new());
    }
    if gpus.len() < workers {
        return Err(LocalPlanError::TooFewGpus {
            workers,
            gpus: gpus.to_vec(),
        });
    }
    let share = gpus.len() / workers;
    Ok(gpus
        .chunks(share)
        .take(workers)
        .map(<[String]>::to_vec)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn gpus_split_in_equal_contiguous_shares() {
        assert_eq!(
            split_gpus(&ids(8), 3).unwrap(),
            vec![vec!["0", "1"], vec!["2", "3"], vec!["4", "5"]]
        );
        assert_eq!(
            split_gpus(&ids(4), 1).unwrap(),
            vec![vec!["0", "1", "2", "3"]]
        );
        assert!(split_gpus(&[], 2).unwrap().is_empty());
        assert_eq!(
            split_gpus(&ids(1), 2).unwrap_err().to_string(),
            "2 workers need at least one GPU each; this machine has 1 (0)"
        );
    }

    #[test]
    fn plan_gives_every_role_its_node_id_and_every_worker_its_port() {
        let plan = plan(
            1,
            2,
            &ids(4),
            &[10, 11, 12, 13, 20, 21, 22],
            "j1",
            Some("5"),
        )
        .unwrap();
        assert_eq!(plan.time_limit_seconds, Some(300));
        let roles: Vec<Role> = plan.processes.iter().map(|p| p.role).collect();
        assert_eq!(
            roles,
            [Role::Frontend, Role::Prefill, Role::Decode, Role::Decode]
        );
        let decode2 = &plan.processes[3].env;
        assert_eq!(decode2["CLOUDAIX_LOCAL_NODE_ID"], "3");
        assert_eq!(decode2["CLOUDAIX_LOCAL_WORKER_PORT"], "22");
        assert_eq!(decode2["CLOUDAIX_LOCAL_NATS_PORT"], "13");
        // 4 GPUs, 3 workers: one each, GPU 3 stays unused.
        assert_eq!(decode2["CUDA_VISIBLE_DEVICES"], "2");
        assert!(!plan.processes[0].env.contains_key("CUDA_VISIBLE_DEVICES"));
        assert!(
            !plan.processes[0]
                .env
                .contains_key("CLOUDAIX_LOCAL_WORKER_PORT")
        );
    }

    #[test]
    fn plan_refuses_missing_or_repeated_ports() {
        assert_eq!(
            plan(0, 1, &[], &[1, 2, 3], "j", None)
                .unwrap_err()
                .to_string(),
            "expected 5 ports (frontend, etcd, etcd_peer, nats, worker1), found 3"
        );
        assert_eq!(
            plan(0, 1, &[], &[1, 2, 3, 4, 2], "j", None),
            Err(LocalPlanError::BadPort {
                port: 2,
                slot: "worker1".into()
            })
        );
        assert_eq!(
            plan(0, 1, &[], &[1, 2, 3, 4, 5], "j", Some("5 minutes")),
            Err(LocalPlanError::TimeLimit("5 minutes".into()))
        );
    }
}
