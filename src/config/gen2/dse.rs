//! CloudAI's DSE constraints on a sweep point (`AIDynamoTestDefinition.constraint_check`):
//! a point that breaks one is pruned before anything is written, with its reason.

use super::model::TestDefinition;

/// Why a pinned test breaks a constraint, if it does. `gpus_per_node` is the system's (the
/// GPU checks are skipped without it, as in CloudAI); `shared` says prefill and decode share
/// nodes (see the topology).
pub fn prune_reason(
    test: &TestDefinition,
    gpus_per_node: Option<u32>,
    shared: bool,
) -> Option<String> {
    let c = test.constraints;
    let d = &test.cmd_args.dynamo;
    let (ptp, ppp) = (d.prefill_worker.tp(), d.prefill_worker.pp());
    let (dtp, dpp) = (d.decode_worker.tp(), d.decode_worker.pp());
    if c.prefill_tp_le_decode_tp && ptp > dtp {
        return Some(format!(
            "prefill_tp_le_decode_tp: prefill tensor-parallel-size {ptp} > decode tensor-parallel-size {dtp}"
        ));
    }
    let gpn = gpus_per_node.filter(|g| *g > 0)?;
    if !c.tp_times_pp_le_gpus_per_node {
        return None;
    }
    for (role, tp, pp) in [("prefill", ptp, ppp), ("decode", dtp, dpp)] {
        if u64::from(tp) * u64::from(pp) > u64::from(gpn) {
            return Some(format!(
                "tp_times_pp_le_gpus_per_node: {role} TP {tp} × PP {pp} = {} > {gpn} GPUs per node",
                u64::from(tp) * u64::from(pp)
            ));
        }
    }
    let both = u64::from(ptp) * u64::from(ppp) + u64::from(dtp) * u64::from(dpp);
    if shared && both > u64::from(gpn) {
        return Some(format!(
            "shared_node_tp_pp_sum_le_gpus_per_node: prefill and decode share nodes and need {ptp}×{ppp} + {dtp}×{dpp} = {both} > {gpn} GPUs per node"
        ));
    }
    None
}
