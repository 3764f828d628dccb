//! `cloudaix rehearse`: the user's own scenario with every engine replaced by Dynamo's mocker
//! (an LLM simulated on CPU), so that orchestration, readiness, the load generator's flags and
//! result parsing are exercised in minutes, without GPUs, before GPU hours are spent.
//!
//! What changes in each run (everything else — roles, worker counts, served model name,
//! endpoint, load-generator flags, sweeps, dependencies, environment — stays the user's):
//! * engines: each prefill/decode worker runs the mocker in the same role; a frontend node that
//!   hosts an engine (the seed's `dynamo serve` graph, see `Frontend::runs_engine`) runs a
//!   decode mocker next to the real frontend;
//! * frontend, etcd, NATS, load generator: the real ones from the local stack;
//! * tokenizer: the stack's local one, served under the user's model name (`HF_HOME` too);
//! * caps: request counts, readiness timeout and time limit (see [`Rehearsal`]);
//! * system: the one rehearsed on (standalone by default), with the user's `global_env_vars`.
//!
//! Each schema generation plugs in through [`Rehearsal::apply`]: one function per test model.

pub mod evidence;
pub mod logs;

use crate::config::gen2;
use crate::config::{
    AnyTest, ArgValue, LoadArgs, SystemConfig, TestDefinition, TestRun, Workspace,
};
use crate::config::{Sweep, slurm_time_seconds};

/// Caps and the local stack's location.
#[derive(Clone, Debug)]
pub struct Rehearsal {
    /// Root of the local stack: `bin/dynamo-python`, `bin/genai-perf`, `bin/aiperf`,
    /// `tiny-model/`.
    pub stack: String,
    /// Most requests per run (raised to the concurrency, so that every slot sends one).
    pub max_requests: u32,
    /// Longest wait for the frontend and workers to be ready, seconds.
    pub ready_timeout: u32,
    /// Longest run, as a Slurm time limit.
    pub time_limit: String,
}

impl Default for Rehearsal {
    fn default() -> Self {
        Rehearsal {
            stack: "/opt/cloudaix-stack".into(),
            max_requests: 10,
            ready_timeout: 180,
            time_limit: "00:10:00".into(),
        }
    }
}

impl Rehearsal {
    fn tokenizer(&self) -> String {
        format!("{}/tiny-model", self.stack)
    }

    fn mocker(&self, mode: Option<&str>) -> String {
        let mut cmd = format!(
            "{}/bin/dynamo-python -m dynamo.mocker --model-path {} --model-name \"$CLOUDAIX_MODEL\"",
            self.stack,
            self.tokenizer()
        );
        if let Some(mode) = mode {
            cmd.push_str(" --disaggregation-mode ");
            cmd.push_str(mode);
            if mode == "prefill" {
                cmd.push_str(" --bootstrap-ports \"$CLOUDAIX_WORKER_PORT\"");
            }
        }
        cmd
    }

    fn frontend(&self) -> String {
        format!(
            "{}/bin/dynamo-python -m dynamo.frontend --http-port \"$CLOUDAIX_FRONTEND_PORT\"",
            self.stack
        )
    }

    /// Rehearse one run, whatever its schema generation.
    pub fn apply(&self, run: &mut TestRun) {
        match &mut run.test {
            AnyTest::Seed(t) => self.apply_seed(t, run.topology.prefill),
            AnyTest::Current(t) => self.apply_current(t),
        }
        run.time_limit = Some(self.cap_time_limit(run.time_limit.as_deref()));
        // Hostnames of the real cluster mean nothing where the rehearsal runs.
        run.topology.nodelist.clear();
        run.topology.unused.clear();
    }

    /// The seed's schema (CloudAI 13816b1a's `AIDynamo`).
    pub fn apply_seed(&self, test: &mut TestDefinition, prefill_nodes: u32) {
        let args = &mut test.cmd_args;
        args.sleep_seconds = args.sleep_seconds.min(self.ready_timeout);
        let d = &mut args.dynamo;
        // Without prefill workers the engines are aggregated; with them, decode engines take
        // their prefill from the prefill workers, as in the user's deployment.
        let decode_mode = (prefill_nodes > 0).then_some("decode");
        let frontend_engine = d.frontend.runs_engine();
        d.frontend.runs_engine = Some(frontend_engine);
        d.frontend.cmd = Some(if frontend_engine {
            // Both in one session: the launch script stops them together; the first to end
            // ends the command, so a dead engine is seen as a dead frontend node.
            format!(
                "{} & {} & wait -n; exit $?",
                self.frontend(),
                self.mocker(decode_mode)
            )
        } else {
            self.frontend()
        });
        d.frontend.etcd_cmd = None;
        d.frontend.nats_cmd = None;
        d.prefill_worker.cmd = Some(self.mocker(Some("prefill")));
        d.decode_worker.cmd = Some(self.mocker(decode_mode));
        let generator = args.load_generator.binary();
        let lg: &mut LoadArgs = args.load_generator.args_mut();
        lg.cmd = Some(format!("{}/bin/{generator} profile", self.stack));
        lg.tokenizer = Some(self.tokenizer());
        let concurrency = lg.concurrency.as_ref().map_or(1, |c| *c.value()).max(1);
        let cap = self.max_requests.max(concurrency);
        lg.request_count = Some(lg.request_count.unwrap_or(cap).min(cap));
        // A warmup below the concurrency is kept: it is the user's, and it is a real problem.
        lg.warmup_request_count = lg.warmup_request_count.map(|w| w.min(cap));
        test.header
            .extra_env_vars
            .insert("HF_HOME".into(), Sweep::One(self.tokenizer()));
    }

    /// CloudAI main's schema: the mocker backend with the stack's frontend and tokenizer; the
    /// parallel sizes stay (they plan the GPUs), other engine flags are the real engine's.
    pub fn apply_current(&self, test: &mut gen2::TestDefinition) {
        let d = &mut test.cmd_args.dynamo;
        d.backend = gen2::Backend::Mocker;
        d.ingress_cmd = format!("{}/bin/dynamo-python -m dynamo.frontend", self.stack);
        for (w, mode) in [
            (
                &mut d.prefill_worker,
                "prefill --bootstrap-ports \"$((17100 + CLOUDAIX_WORKER_INDEX))\"",
            ),
            (&mut d.decode_worker, "decode"),
        ] {
            w.cmd = format!(
                "{}/bin/dynamo-python -m dynamo.mocker --disaggregation-mode {mode}",
                self.stack
            );
            w.worker_initialized_regex = gen2::Backend::Mocker.default_initialized_regex().into();
            w.args.retain(|k, _| {
                let k = k.replace('-', "_");
                k == "tensor_parallel_size" || k == "pipeline_parallel_size"
            });
            w.args.insert(
                "model-path".into(),
                Sweep::One(ArgValue::Str(self.tokenizer())),
            );
            w.extra_args.clear();
        }
        let tokenizer = self.tokenizer();
        let cap = self.max_requests;
        let ca = &mut test.cmd_args;
        for (wl, bin) in [
            (&mut ca.genai_perf, "genai-perf"),
            (&mut ca.aiperf, "aiperf"),
        ] {
            wl.cmd = format!("{}/bin/{bin} profile", self.stack);
            wl.setup_cmd = None;
            wl.args.insert(
                "tokenizer".into(),
                Sweep::One(ArgValue::Str(tokenizer.clone())),
            );
            cap_count(&mut wl.args, cap);
        }
        for p in &mut ca.aiperf_phases {
            p.cmd = None;
            p.setup_cmd = None;
            if let Some(ArgValue::Int(n)) = p.args.get_mut("request-count") {
                *n = (*n).min(i64::from(cap));
            }
        }
        ca.aiperf_accuracy = None;
        test.header
            .extra_env_vars
            .insert("HF_HOME".into(), Sweep::One(tokenizer));
        test.header.extra_env_vars.insert(
            "CLOUDAIX_READY_TIMEOUT".into(),
            Sweep::One(self.ready_timeout.to_string()),
        );
    }

    fn cap_time_limit(&self, user: Option<&str>) -> String {
        let cap = slurm_time_seconds(&self.time_limit).flatten();
        let theirs = user.and_then(slurm_time_seconds).flatten();
        match (theirs, cap) {
            (Some(t), Some(c)) if t < c => user.unwrap_or_default().to_string(),
            _ => self.time_limit.clone(),
        }
    }
}

/// At most `cap` requests per run (CloudAI main's `request-count` argument).
fn cap_count(args: &mut indexmap::IndexMap<String, Sweep<ArgValue>>, cap: u32) {
    for (k, v) in args.iter_mut() {
        if k.replace('_', "-") == "request-count" {
            if let Sweep::One(ArgValue::Int(n)) = v {
                *n = (*n).min(i64::from(cap));
            }
        }
    }
}

/// The user's workspace made a rehearsal on `system`: every run rehearsed, the scenario
/// renamed `rehearse_<name>`, the user's system environment kept (the target system's wins).
/// `sample`: keep that many runs, evenly spread over all of them (first and last included);
/// a dependency on a test with no kept run is dropped.
pub fn rehearse_workspace(
    mut ws: Workspace,
    system: SystemConfig,
    r: &Rehearsal,
    sample: Option<usize>,
) -> Workspace {
    let mut system = system;
    for (k, v) in &ws.system.global_env_vars {
        system
            .global_env_vars
            .entry(k.clone())
            .or_insert_with(|| v.clone());
    }
    ws.system = system;
    ws.scenario.name = format!("rehearse_{}", ws.scenario.name);
    if let Some(n) = sample {
        let keep = sample_indices(ws.runs.len(), n);
        ws.runs = std::mem::take(&mut ws.runs)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i))
            .map(|(_, run)| run)
            .collect();
        let ids: Vec<String> = ws.runs.iter().map(|run| run.id.clone()).collect();
        for run in &mut ws.runs {
            run.dependencies.retain(|d| ids.contains(&d.id));
        }
    }
    for run in &mut ws.runs {
        r.apply(run);
    }
    ws
}

/// `n` of `total` indices, evenly spread, first and last included, in order.
pub fn sample_indices(total: usize, n: usize) -> Vec<usize> {
    if n >= total {
        return (0..total).collect();
    }
    match n {
        0 => Vec::new(),
        1 => vec![0],
        _ => (0..n).map(|i| i * (total - 1) / (n - 1)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_spread_evenly() {
        assert_eq!(sample_indices(10, 3), vec![0, 4, 9]);
        assert_eq!(sample_indices(5, 5), vec![0, 1, 2, 3, 4]);
        assert_eq!(sample_indices(5, 9), vec![0, 1, 2, 3, 4]);
        assert_eq!(sample_indices(1000, 2), vec![0, 999]);
        assert_eq!(sample_indices(7, 1), vec![0]);
    }

    #[test]
    fn time_limit_is_capped_not_raised() {
        let r = Rehearsal::default();
        assert_eq!(r.cap_time_limit(Some("01:00:00")), "00:10:00");
        assert_eq!(r.cap_time_limit(Some("5")), "5");
        assert_eq!(r.cap_time_limit(None), "00:10:00");
        assert_eq!(r.cap_time_limit(Some("UNLIMITED")), "00:10:00");
    }
}
