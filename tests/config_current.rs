//! The current AIDynamo schema (CloudAI main): recognised per file, validated with the same
//! diagnostics as the seed one, DSE pruning with reasons, CloudAI main's node plan and GPU
//! slicing, and the launch script it renders.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use cloudai_dynamo_rs::config::gen2::{Backend, Generation, WorkloadKind};
use cloudai_dynamo_rs::config::{
    AnyTest, Checks, ConfigError, Workspace, load_any_test_str, load_workspace,
};
use cloudai_dynamo_rs::render::render_run;
use cloudai_dynamo_rs::topology::NodeRefs;

fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn example() -> String {
    fs::read_to_string(root("conf/local/test/current_mocker.toml")).unwrap()
}

const SEED: &str = include_str!("data/config/seed_test.toml");

const SYSTEM: &str = r#"
name = "local"
scheduler = "slurm"
install_path = "/tmp/install"
output_path = "/tmp/results"
default_partition = "debug"
gpus_per_node = 8
"#;

/// A minimal current-schema test; `{P}`/`{D}` are extra lines of the prefill/decode args.
fn test_text(prefill_args: &str, decode_args: &str, extra: &str) -> String {
    format!(
        r#"name = "t"
description = ""
test_template_name = "AIDynamo"
{extra}
[cmd_args]
docker_image_url = "img"

  [cmd_args.dynamo]
  backend = "vllm"
  model = "m"

    [cmd_args.dynamo.prefill_worker]
    num-nodes = 1
      [cmd_args.dynamo.prefill_worker.args]
{prefill_args}

    [cmd_args.dynamo.decode_worker]
    num-nodes = 1
      [cmd_args.dynamo.decode_worker.args]
{decode_args}
"#
    )
}

fn workspace(test: &str, scenario: &str) -> Result<Workspace, ConfigError> {
    workspace_on(SYSTEM, test, scenario)
}

fn workspace_on(system: &str, test: &str, scenario: &str) -> Result<Workspace, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let sys = dir.path().join("system.toml");
    fs::write(&sys, system).unwrap();
    let t = dir.path().join("t.toml");
    fs::write(&t, test).unwrap();
    let s = dir.path().join("s.toml");
    fs::write(&s, scenario).unwrap();
    load_workspace(
        &sys,
        &[t],
        &s,
        Checks {
            host_paths: false,
            ..Checks::default()
        },
    )
}

fn messages(e: ConfigError) -> Vec<String> {
    e.diagnostics.iter().map(ToString::to_string).collect()
}

#[test]
fn each_file_is_read_in_its_own_generation() {
    let seed = load_any_test_str(SEED, "seed.toml").expect("seed valid");
    assert_eq!(seed.generation(), Generation::Seed);
    let AnyTest::Current(t) = load_any_test_str(&example(), "cur.toml").expect("valid") else {
        panic!("the example is written in the current schema")
    };
    let d = &t.cmd_args.dynamo;
    assert_eq!(d.backend, Backend::Mocker);
    assert_eq!(d.model, "tiny");
    assert_eq!(t.cmd_args.workloads, vec![WorkloadKind::Aiperf]);
    let names: Vec<&str> = t
        .cmd_args
        .aiperf_phases
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["round_1", "round_2"]);
    // CloudAI main's defaults where the file is silent.
    assert_eq!((d.etcd_port, d.nats_port), (2379, 4222));
    assert_eq!(d.endpoint, "v1/chat/completions");
    assert_eq!(d.prefill_worker.tp(), 1);
    // The worker's initialized line defaults per backend (the mocker's own log line).
    assert_eq!(
        d.decode_worker.worker_initialized_regex,
        "mocker.worker.*created.and.running"
    );
    // A file with neither generation's keys is a current one (whose defaults are a job).
    let bare = "name = \"b\"\ndescription = \"\"\ntest_template_name = \"AIDynamo\"\n[cmd_args]\ndocker_image_url = \"i\"\n";
    let b = load_any_test_str(bare, "b.toml").expect("defaults");
    assert_eq!(b.generation(), Generation::Current);
}

#[test]
fn errors_have_position_field_expectation_and_suggestion() {
    let text = r#"name = "t"
description = ""
test_template_name = "AIDynamo"
[cmd_args]
docker_image_url = "img"
workloads = "aiperf.sh,locust.sh"
  [cmd_args.dynamo]
  backnd = "vllm"
  connector = "nixl rdma"
    [cmd_args.dynamo.prefill_worker]
    num-nodes = "two"
      [cmd_args.dynamo.prefill_worker.args]
      tensor-parallel-size = 0
      gpu_memory_utilization = 1.5
      model = "other"
    [cmd_args.dynamo.decode_worker]
    num_nodes = 1
    num-nodes = 2
  [[cmd_args.aiperf_phases]]
  name = "a"
  [[cmd_args.aiperf_phases]]
  name = "a"
"#;
    let e = load_any_test_str(text, "t.toml").expect_err("invalid");
    assert_eq!(
        messages(e),
        [
            "t.toml:6:13: cmd_args.workloads: expected a comma-separated list of \"genai_perf.sh\", \"aiperf.sh\", found \"locust.sh\"",
            "t.toml:8:3: cmd_args.dynamo.backnd: unknown field; did you mean `backend`? (expected one of: backend, connector, dcgm_exporter, decode_worker, endpoint, etcd_cmd, etcd_port, ingress_cmd, model, nats_cmd, nats_port, node_setup_cmd, port, prefill_worker, workspace_path)",
            "t.toml:9:15: cmd_args.dynamo.connector: expected connectors among \"kvbm\", \"lmcache\", \"nixl\", \"none\", found \"rdma\"",
            "t.toml:11:17: cmd_args.dynamo.prefill_worker.num_nodes: expected a non-negative integer, found string \"two\" (or a list of such values to sweep)",
            "t.toml:13:30: cmd_args.dynamo.prefill_worker.args.tensor-parallel-size: expected a positive integer, found 0 (or a list of such values to sweep)",
            "t.toml:14:32: cmd_args.dynamo.prefill_worker.args.gpu_memory_utilization: expected a number > 0 and ≤ 1, found 1.5 (or a list of such values to sweep)",
            "t.toml:15:7: cmd_args.dynamo.prefill_worker.args.model: set by `dynamo.model` (\"Qwen/Qwen3-0.6B\") for this backend; remove it here or change `dynamo.model`",
            "t.toml:18:5: cmd_args.dynamo.decode_worker.num-nodes: field given twice (dashed and underscored spellings name the same field)",
            "t.toml:21:3: cmd_args.aiperf_phases[1].name: aiperf phase names must be unique; \"a\" is used twice",
        ]
    );
}

#[test]
fn dse_constraints_prune_points_with_their_reason() {
    let test = test_text(
        "tensor-parallel-size = [1, 4]",
        "tensor-parallel-size = [2, 16]",
        "",
    );
    let scenario = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"t\"\n";
    let ws = workspace(&test, scenario).expect("valid");
    // 2 × 2 cases, last axis fastest: (1,2) (1,16) (4,2) (4,16).
    let kept: Vec<Option<usize>> = ws.runs.iter().map(|r| r.step).collect();
    assert_eq!(kept, [Some(1)]);
    let reasons: Vec<(usize, &str)> = ws
        .pruned
        .iter()
        .map(|p| (p.step, p.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                2,
                "tp_times_pp_le_gpus_per_node: decode TP 16 × PP 1 = 16 > 8 GPUs per node"
            ),
            (
                3,
                "prefill_tp_le_decode_tp: prefill tensor-parallel-size 4 > decode tensor-parallel-size 2"
            ),
            (
                4,
                "tp_times_pp_le_gpus_per_node: decode TP 16 × PP 1 = 16 > 8 GPUs per node"
            ),
        ]
    );
    assert_eq!(
        ws.pruned[0].params["dynamo.decode_worker.args.tensor-parallel-size"].to_string(),
        "16"
    );
    // Shared nodes must fit both workers' GPUs: 4 + 8 > 8 on one node. Not a sweep, so
    // nothing would run: an error with the constraint's reason.
    let shared = test_text("tensor-parallel-size = 4", "tensor-parallel-size = 8", "");
    let one_node = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"t\"\nnum_nodes = 1\n";
    let e = workspace(&shared, one_node).expect_err("nothing runs");
    assert!(messages(e)[0].ends_with(
        "Tests[0]: shared_node_tp_pp_sum_le_gpus_per_node: prefill and decode share nodes and need 4×1 + 8×1 = 12 > 8 GPUs per node"
    ));
    // With the constraints off, the node plan still refuses it, with CloudAI's message.
    let off = test_text(
        "tensor-parallel-size = 4",
        "tensor-parallel-size = 8",
        "[constraints]\ntp_times_pp_le_gpus_per_node = false\n",
    );
    let e = workspace(&off, one_node).expect_err("does not fit");
    assert!(
        messages(e)[0].ends_with("Tests[0]: Not enough GPUs for shared-node disaggregated mode: need 8 decode + 4 prefill, but only have 8"),
    );
}

#[test]
fn node_plan_follows_cloudai_main() {
    let scenario =
        |extra: &str| format!("name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"t\"\n{extra}");
    let plain = test_text("tensor-parallel-size = 1", "tensor-parallel-size = 1", "");
    // Disaggregated: decode first (node 0 also runs the frontend), then prefill.
    let ws = workspace(&plain, &scenario("")).expect("valid");
    let plan = ws.runs[0].topology.current.clone().expect("current plan");
    assert_eq!(ws.runs[0].topology.num_nodes, 2);
    assert_eq!(plan.decode_nodes, NodeRefs::Ids(vec![0]));
    assert_eq!(plan.prefill_nodes, NodeRefs::Ids(vec![1]));
    assert!(!plan.shared);
    // Without multiple-workers-per-node a worker takes the whole node.
    assert_eq!(
        (plan.decode_gpus_per_worker, plan.decode_workers_per_node),
        (8, 1)
    );
    // Fewer nodes than roles: prefill and decode share them, prefill GPUs after decode's.
    let ws = workspace(&plain, &scenario("num_nodes = 1")).expect("valid");
    let plan = ws.runs[0].topology.current.clone().unwrap();
    assert!(plan.shared);
    assert_eq!(plan.prefill_nodes, NodeRefs::Ids(vec![0]));
    assert_eq!(
        (plan.prefill_gpu_offset, plan.prefill_gpus_per_worker),
        (1, 1)
    );
    // Two prefill + two decode nodes cannot share one node.
    let big = plain.replace("num-nodes = 1", "num-nodes = 2");
    let e = workspace(&big, &scenario("num_nodes = 1")).expect_err("too few");
    assert!(messages(e)[0].ends_with("Not enough nodes requested for shared-node disaggregated run: need at least 2 node(s) to satisfy role node counts (2 prefill, 2 decode), but only got 1"));
    // GPU slicing: TP 2 workers, four per node.
    let sliced = test_text("tensor-parallel-size = 2", "tensor-parallel-size = 2", "").replace(
        "num-nodes = 1\n",
        "num-nodes = 1\n    multiple-workers-per-node = true\n",
    );
    let ws = workspace(&sliced, &scenario("")).expect("valid");
    let plan = ws.runs[0].topology.current.clone().unwrap();
    assert_eq!(
        (plan.decode_gpus_per_worker, plan.decode_workers_per_node),
        (2, 4)
    );
    assert_eq!(plan.expected_decode_workers(), 4);
    // Explicit node lists: hostnames, overlapping lists share nodes.
    let listed = plain
        .replace(
            "    num-nodes = 1\n      [cmd_args.dynamo.prefill",
            "    nodes = \"n1,n2\"\n      [cmd_args.dynamo.prefill",
        )
        .replace(
            "    num-nodes = 1\n      [cmd_args.dynamo.decode",
            "    nodes = \"n2\"\n      [cmd_args.dynamo.decode",
        );
    let ws = workspace(&listed, &scenario("")).expect("valid");
    let topo = &ws.runs[0].topology;
    assert_eq!(topo.nodelist, ["n1", "n2"]);
    let plan = topo.current.clone().unwrap();
    assert!(plan.shared);
    assert_eq!(plan.decode_nodes, NodeRefs::Hosts(vec!["n2".into()]));
}

/// A four-node partition, as the local cluster's (`.ci/cluster`).
const FOUR_NODES: &str = r#"
[[partitions]]
name = "debug"
  [[partitions.groups]]
  name = "all"
  nodes = ["node[1-4]"]
"#;

#[test]
fn plans_are_checked_against_the_systems_nodes_before_anything_is_written() {
    let system = format!("{SYSTEM}{FOUR_NODES}");
    let scenario =
        |extra: &str| format!("name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"t\"\n{extra}");
    let plain = test_text("tensor-parallel-size = 1", "tensor-parallel-size = 1", "");
    let nodes = |prefill: &str, decode: &str| {
        plain
            .replacen("num-nodes = 1", prefill, 1)
            .replacen("num-nodes = 1", decode, 1)
    };
    // 3 + 2 role nodes on a 4-node partition.
    let big = nodes("num-nodes = 3", "num-nodes = 2");
    let e = workspace_on(&system, &big, &scenario("")).expect_err("too many");
    let m = messages(e);
    assert_eq!(m.len(), 1);
    // Positioned at the scenario's entry (line 2 of the scenario file).
    assert!(m[0].contains("/s.toml:2:1: Tests[0]: "), "{}", m[0]);
    assert!(m[0].ends_with("Tests[0]: expected at most 4 nodes (the nodes of partition \"debug\" in the system file), found 3 prefill + 2 decode = 5"), "{}", m[0]);
    // The same roles sharing four nodes fit (shared-node disaggregation).
    let ws = workspace_on(&system, &big, &scenario("num_nodes = 4")).expect("fits shared");
    assert!(ws.runs[0].topology.current.as_ref().unwrap().shared);
    // The scenario asks for more nodes than the partition has.
    let e = workspace_on(&system, &plain, &scenario("num_nodes = 6")).expect_err("too many");
    assert!(messages(e)[0].ends_with("expected at most 4 nodes (the nodes of partition \"debug\" in the system file), found num_nodes = 6"));
    // A worker names a node the partition does not have.
    let unknown = nodes("nodes = \"node1,node9\"", "nodes = \"node2\"");
    let e = workspace_on(&system, &unknown, &scenario("")).expect_err("unknown node");
    assert!(messages(e)[0].ends_with("Tests[0]: dynamo.prefill_worker.nodes: node \"node9\" is not in partition \"debug\" of the system file (its nodes: node1, node2, node3, node4)"));
    // A worker lists a node twice: an error in the test file, at the field.
    let twice = nodes("nodes = \"node1,node1\"", "num-nodes = 1");
    let e = workspace_on(&system, &twice, &scenario("")).expect_err("twice");
    let m = messages(e);
    let line = twice
        .lines()
        .position(|l| l.contains("node1,node1"))
        .unwrap()
        + 1;
    assert!(m[0].contains(&format!("/t.toml:{line}:")), "{}", m[0]);
    assert!(
        m[0].ends_with("cmd_args.dynamo.prefill_worker.nodes: node \"node1\" is listed twice"),
        "{}",
        m[0]
    );
    // In a sweep, the cases that do not fit are pruned with the reason; the others run.
    let sweep = nodes("num-nodes = [1, 3]", "num-nodes = 2");
    let ws = workspace_on(&system, &sweep, &scenario("")).expect("one case fits");
    assert_eq!(ws.runs.len(), 1);
    assert_eq!(ws.pruned.len(), 1);
    assert_eq!(ws.pruned[0].step, 2);
    assert_eq!(
        ws.pruned[0].reason,
        "expected at most 4 nodes (the nodes of partition \"debug\" in the system file), found 3 prefill + 2 decode = 5"
    );
}

fn shell_check(script: &str) {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    fs::write(tmp.path(), script).unwrap();
    let out = Command::new("bash")
        .arg("-n")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("shellcheck")
        .args(["--shell=bash", "--severity=warning"])
        .arg(tmp.path())
        .output()
        .expect("shellcheck must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn launch_script_starts_current_dynamo_with_the_model_injected() {
    let ws = load_workspace(
        &root("conf/local/system/baremetal.toml"),
        &[root("conf/local/test/current_mocker.toml")],
        &root("conf/local/test_scenario/current_mocker.toml"),
        Checks {
            host_paths: false,
            ..Checks::default()
        },
    )
    .expect("valid");
    let run = ws.runs.iter().find(|r| r.id == "shared-node").unwrap();
    let f = render_run(
        &ws.system,
        run,
        Path::new("/r/x"),
        Path::new("/opt/i"),
        false,
    )
    .expect("renders");
    shell_check(&f.launch);
    assert!(f.dynamo_config.is_none());
    // The mocker gets the served name; the tokenizer path is the file's own.
    assert!(
        f.launch.contains(
            "DECODE_ARGS=(--model-name tiny --model-path /opt/cloudaix-stack/tiny-model)"
        )
    );
    assert!(!f.launch.contains("--tensor-parallel-size"));
    assert!(f.launch.contains(
        "INGRESS_CMD='/opt/cloudaix-stack/bin/dynamo-python -m dynamo.frontend --router-mode kv'"
    ));
    // Two phases, each with its own artifacts and report (CloudAI's names).
    assert!(f.launch.contains("STEP_NAME=(round_1 round_2)"));
    assert!(f.launch.contains("/r/x/aiperf_artifacts/round_2"));
    assert!(f.launch.contains("/r/x/aiperf_round_2_report.csv"));
    assert!(f.launch.contains("SUCCESS_MARKER_NAME=success-marker.txt"));
    // 5-minute limit: readiness bounded at 4 minutes.
    assert!(f.launch.contains("READY_TIMEOUT_DEFAULT=240"));
    assert_eq!(
        f.roles,
        "# SLURM_NODEID roles\n0 frontend,decode×1,prefill×1\n"
    );
    assert!(f.sbatch.contains("#SBATCH --nodes=1"));
}

#[test]
fn frontend_ports_must_differ() {
    // The example's frontend listens on 8000; NATS given the same port is reported there.
    let text = example().replace("  port = 8000\n", "  port = 8000\n  nats_port = 8000\n");
    let line = text
        .lines()
        .position(|l| l == "  nats_port = 8000")
        .unwrap()
        + 1;
    let e = load_any_test_str(&text, "t.toml").expect_err("invalid");
    assert_eq!(
        messages(e),
        [format!(
            "t.toml:{line}:15: cmd_args.dynamo.nats_port: port 8000 is already used by `port` on the frontend node"
        )]
    );
}

/// A run's parameters are named by the sweepable fields; the results reader accepts a record
/// only if its parameter keys are axis keys. Every field either schema can sweep must be one,
/// as the file spells it (the example's arguments are dashed: `tensor-parallel-size`).
#[test]
fn every_sweepable_field_is_an_axis_key_the_record_reader_accepts() {
    for (text, name) in [(SEED.to_owned(), "seed.toml"), (example(), "cur.toml")] {
        let mut t = load_any_test_str(&text, name).expect("valid");
        let names: Vec<String> = t.sweep_slots().into_iter().map(|(n, _)| n).collect();
        assert!(!names.is_empty(), "{name}");
        for n in &names {
            assert!(cloudai_dynamo_rs::config::is_axis_key(n), "{name}: {n}");
        }
        if name == "cur.toml" {
            assert!(
                names.contains(&"dynamo.prefill_worker.args.tensor-parallel-size".to_owned()),
                "{names:?}"
            );
        }
    }
}
