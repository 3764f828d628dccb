//! Configuration model: the seed file, the conf examples, every kind of error with its exact
//! message and position, scenario overrides, sweeps and node counts.

use std::fs;
use std::path::{Path, PathBuf};

use cloudai_dynamo_rs::config::{
    Checks, ConfigError, Diagnostic, LoadGenerator, Sweep, SweepValue, load_system, load_test_str,
    load_workspace, verify_files,
};

const SEED: &str = include_str!("data/config/seed_test.toml");
const SYSTEM: &str = r#"
name = "local"
scheduler = "slurm"
install_path = "/tmp/install"
output_path = "/tmp/results"
default_partition = "debug"
gpus_per_node = 8
[[partitions]]
name = "debug"
  [[partitions.groups]]
  name = "g"
  nodes = ["node[1-4]"]
"#;

fn errors(text: &str) -> Vec<String> {
    match load_test_str(text, "t.toml") {
        Ok(_) => Vec::new(),
        Err(ConfigError { diagnostics }) => diagnostics.iter().map(ToString::to_string).collect(),
    }
}

/// The seed with `extra` appended to the named section (inserted right after its header).
fn seed_with(section: &str, extra: &str) -> String {
    let header = format!("[{section}]\n");
    assert!(SEED.contains(&header), "{section}");
    SEED.replacen(&header, &format!("{header}{extra}\n"), 1)
}

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    /// A workspace whose test points HF_HOME at an existing directory.
    fn workspace(
        &self,
        test: &str,
        scenario: &str,
    ) -> Result<cloudai_dynamo_rs::config::Workspace, ConfigError> {
        let hf = self.path().join("hf");
        fs::create_dir_all(&hf).unwrap();
        let test = test.replace("/your/path/to/hf_home", hf.to_str().unwrap());
        let sys = self.write("system.toml", SYSTEM);
        let t = self.write("tests/t.toml", &test);
        let s = self.write("scenario.toml", scenario);
        load_workspace(&sys, &[t], &s, Checks::default())
    }
}

fn messages(e: ConfigError) -> Vec<String> {
    e.diagnostics
        .iter()
        .map(|d| format!("{}:{}: {}: {}", d.line, d.column, d.path, d.message))
        .collect()
}

#[test]
fn seed_test_is_valid_as_written_with_cloudai_defaults() {
    let t = load_test_str(SEED, "seed.toml").expect("seed is valid");
    let d = &t.cmd_args.dynamo;
    assert_eq!(
        t.cmd_args.served_model_name,
        "nvidia/Llama-3.1-405B-Instruct-FP8"
    );
    assert_eq!(t.cmd_args.sleep_seconds, 660);
    assert_eq!(d.prefill_worker.num_nodes, Sweep::One(1));
    assert_eq!(d.decode_worker.num_nodes, Sweep::One(0));
    assert_eq!(d.prefill_worker.tensor_parallel_size, Sweep::One(8));
    assert_eq!(
        d.decode_worker
            .decode
            .as_ref()
            .unwrap()
            .max_local_prefill_length,
        10
    );
    assert!(d.prefill_worker.decode.is_none());
    assert_eq!(d.frontend.port_etcd, 2379);
    assert_eq!(d.processor.max_model_len, 8192);
    let LoadGenerator::GenaiPerf(g) = &t.cmd_args.load_generator else {
        panic!("genai-perf")
    };
    assert!(g.streaming);
    assert_eq!(g.endpoint_type.as_deref(), Some("chat"));
    // The six fields CloudAI required are unset: genai-perf's own defaults apply.
    assert_eq!(
        (g.request_count, g.output_tokens_mean, g.random_seed),
        (None, None, None)
    );
    assert_eq!(t.agent, "grid_search");
    assert_eq!(t.hf_home(), Some("/your/path/to/hf_home"));
}

#[test]
fn conf_examples_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/staging/ai_dynamo");
    let sys = load_system(&root.join("system/oci.toml")).expect("oci.toml");
    assert_eq!(sys.gpus_per_node, Some(8));
    let files: Vec<PathBuf> = [
        "system/oci.toml",
        "test/llama3.1_405b_fp8.toml",
        "test_scenario/ai_dynamo.toml",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    let (errs, kinds) = verify_files(&files, Checks { host_paths: false });
    assert_eq!(errs, Vec::<Diagnostic>::new());
    assert_eq!(kinds.len(), 3);
}

#[test]
fn type_errors_name_position_field_expected_and_found() {
    let text = seed_with("cmd_args.dynamo.prefill_worker", "max_num_seqs = \"many\"");
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:13:16: cmd_args.dynamo.prefill_worker.max_num_seqs: expected a positive integer, found string \"many\""
        ]
    );
}

#[test]
fn sweepable_fields_say_a_list_is_allowed() {
    let text = SEED.replace("num_nodes = 1", "num_nodes = \"two\"");
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:13:15: cmd_args.dynamo.prefill_worker.num_nodes: expected a non-negative integer, found string \"two\" (or a list of such values to sweep)"
        ]
    );
}

#[test]
fn range_errors() {
    let text = seed_with(
        "cmd_args.dynamo.vllm_worker",
        "gpu_memory_utilization = 1.5\nblock_size = 0",
    );
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:16:26: cmd_args.dynamo.vllm_worker.gpu_memory_utilization: expected a number > 0 and ≤ 1, found 1.5",
            "t.toml:17:14: cmd_args.dynamo.vllm_worker.block_size: expected a positive integer, found 0",
        ]
    );
    let text = seed_with("cmd_args.dynamo.frontend", "port = 70000");
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:12:8: cmd_args.dynamo.frontend.port: expected an integer between 1 and 65535, found 70000"
        ]
    );
}

#[test]
fn unknown_keys_at_every_level_suggest_the_closest_field() {
    let text = seed_with("cmd_args", "sleep_secondz = 10")
        .replace("HF_HOME =", "hf_home_x = 1\nHF_HOME =");
    let errs = errors(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with(
            "t.toml:6:1: cmd_args.sleep_secondz: unknown field; did you mean `sleep_seconds`?"
        ),
        "{}",
        errs[0]
    );
    let text = seed_with("cmd_args.genai_perf", "concurency = 4");
    assert!(
        errors(&text)[0]
            .contains("cmd_args.genai_perf.concurency: unknown field; did you mean `concurrency`?")
    );
    let text = seed_with("cmd_args.dynamo.prefill_worker", "remote_prefill = true");
    assert!(
        errors(&text)[0].starts_with(
            "t.toml:13:1: cmd_args.dynamo.prefill_worker.remote_prefill: unknown field"
        ),
        "decode-only fields are not prefill fields"
    );
    let text = format!("nme = \"x\"\n{SEED}");
    assert!(errors(&text)[0].starts_with("t.toml:1:1: nme: unknown field; did you mean `name`?"));
}

#[test]
fn missing_required_fields_are_reported_at_their_table() {
    let text = SEED.replace("num_nodes = 1\n", "").replace(
        "served_model_name = \"nvidia/Llama-3.1-405B-Instruct-FP8\"\n",
        "",
    );
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:5:1: cmd_args.served_model_name: missing required field",
            "t.toml:11:3: cmd_args.dynamo.prefill_worker.num_nodes: missing required field",
        ]
    );
}

#[test]
fn lists_only_where_a_sweep_is_allowed() {
    let text = seed_with(
        "cmd_args.dynamo.prefill_worker",
        "max_model_len = [1024, 2048]\ntensor_parallel_size = [2, 4]",
    );
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:13:17: cmd_args.dynamo.prefill_worker.max_model_len: expected a positive integer, found a list of 2 item(s) (this field cannot be swept)"
        ]
    );
    let text = seed_with("cmd_args.genai_perf", "concurrency = [1, \"x\"]");
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:19:19: cmd_args.genai_perf.concurrency[1]: expected a positive integer, found string \"x\""
        ]
    );
}

#[test]
fn dashed_and_underscored_spellings() {
    let text = seed_with(
        "cmd_args.dynamo.prefill_worker",
        "tensor-parallel-size = 4\nmax-num-seqs = 2",
    );
    let t = load_test_str(&text, "t.toml").unwrap();
    assert_eq!(
        t.cmd_args.dynamo.prefill_worker.tensor_parallel_size,
        Sweep::One(4)
    );
    assert_eq!(t.cmd_args.dynamo.prefill_worker.max_num_seqs, 2);
    let text = seed_with(
        "cmd_args.dynamo.prefill_worker",
        "tensor-parallel-size = 4\ntensor_parallel_size = 2",
    );
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:14:1: cmd_args.dynamo.prefill_worker.tensor_parallel_size: field given twice (dashed and underscored spellings name the same field)"
        ]
    );
    let decode = SEED.replace(
        "[cmd_args.dynamo.vllm_worker]",
        "[cmd_args.dynamo.decode_worker]",
    );
    assert!(load_test_str(&decode, "t.toml").is_ok());
}

#[test]
fn sweep_axes_are_the_list_valued_sweepable_fields_as_the_file_spells_them() {
    // extra_inputs is a list-valued field, not an axis; the decode table keeps its key.
    let text = SEED
        .replace("  num_nodes = 0\n", "  num_nodes = [1, 2]\n")
        .replace(
            "streaming = true\n",
            "streaming = true\nextra_inputs = [\"a:1\", \"b:2\"]\nconcurrency = [4]\n",
        );
    let mut t = load_test_str(&text, "t.toml").unwrap();
    assert_eq!(
        t.sweep_axis_keys(),
        vec!["dynamo.vllm_worker.num_nodes", "genai_perf.concurrency"]
    );
    let decode = text.replace("vllm_worker]", "decode_worker]");
    let mut t = load_test_str(&decode, "t.toml").unwrap();
    assert_eq!(t.sweep_axis_keys()[0], "dynamo.decode_worker.num_nodes");
}

#[test]
fn hf_home_is_checked() {
    let d = Dir::new();
    let empty = SEED.replace("\"/your/path/to/hf_home\"", "\"\"");
    assert_eq!(
        errors(&empty),
        vec![
            "t.toml:24:11: extra_env_vars.HF_HOME: expected the path of the Hugging Face cache directory, found an empty string"
        ]
    );
    let missing = d.path().join("nope");
    let test = SEED.replace("/your/path/to/hf_home", missing.to_str().unwrap());
    let sys = d.write("system.toml", SYSTEM);
    let t = d.write("tests/t.toml", &test);
    let s = d.write(
        "s.toml",
        "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n",
    );
    let e = load_workspace(&sys, std::slice::from_ref(&t), &s, Checks::default()).unwrap_err();
    assert_eq!(
        messages(e),
        vec![format!(
            "24:11: extra_env_vars.HF_HOME: expected an existing directory on this host, found {:?}, which does not exist or is not a directory",
            missing.to_str().unwrap()
        )]
    );
    let no_hf = test.replace(
        &format!("HF_HOME = {:?}", missing.to_str().unwrap()),
        "OTHER = \"1\"",
    );
    let t = d.write("tests/t.toml", &no_hf);
    let e = load_workspace(&sys, &[t], &s, Checks::default()).unwrap_err();
    assert_eq!(
        messages(e),
        vec![
            "23:1: extra_env_vars.HF_HOME: missing required field: set HF_HOME to the Hugging Face cache directory that holds the model weights"
        ]
    );
}

#[test]
fn every_file_reports_its_errors_at_once() {
    let d = Dir::new();
    let sys = d.write(
        "system.toml",
        &SYSTEM.replace("scheduler = \"slurm\"", "scheduler = \"pbs\""),
    );
    let bad_test = d.write("tests/t.toml", &seed_with("cmd_args", "sleep_seconds = -1"));
    let syntax = d.write("tests/broken.toml", "name = \n");
    let s = d.write(
        "s.toml",
        "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"x\"\niterations = 0\n",
    );
    let e =
        load_workspace(&sys, &[bad_test, syntax], &s, Checks { host_paths: false }).unwrap_err();
    let files: Vec<&str> = e
        .diagnostics
        .iter()
        .map(|d| d.file.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        files,
        vec!["s.toml", "system.toml", "broken.toml", "t.toml"],
        "{e}"
    );
    assert!(
        e.diagnostics[0]
            .message
            .contains("expected a positive integer, found 0")
    );
    assert!(
        e.diagnostics[1]
            .message
            .contains("expected one of \"slurm\", found \"pbs\"")
    );
    assert!(e.diagnostics[2].message.starts_with("invalid TOML"));
    assert_eq!((e.diagnostics[2].line, e.diagnostics[2].column), (1, 8));
    assert!(
        e.diagnostics[3]
            .message
            .contains("expected a non-negative integer, found -1")
    );
}

#[test]
fn scenario_overrides_merge_in_both_spellings_and_point_into_the_scenario() {
    let d = Dir::new();
    let scenario = r#"name = "s"
[[Tests]]
id = "a"
test_name = "llama3.1_405b_fp8"
  [Tests.cmd_args.dynamo.prefill_worker]
  tensor-parallel-size = 4
  [Tests.cmd_args.dynamo.vllm_worker]
  num_nodes = 1
  max_num_seqs = 32
  [Tests.extra_env_vars]
  EXTRA = "yes"
"#;
    let ws = d.workspace(SEED, scenario).expect("valid");
    assert_eq!(ws.runs.len(), 1);
    let t = &ws.runs[0].test;
    assert_eq!(
        t.cmd_args.dynamo.prefill_worker.tensor_parallel_size,
        Sweep::One(4)
    );
    assert_eq!(t.cmd_args.dynamo.decode_worker.max_num_seqs, 32);
    assert_eq!(t.extra_env_vars["EXTRA"], Sweep::One("yes".into()));
    assert_eq!(ws.runs[0].topology.num_nodes, 3);
    let bad = scenario.replace(
        "tensor-parallel-size = 4",
        "tensor-parallel-size = \"four\"",
    );
    let e = d.workspace(SEED, &bad).unwrap_err();
    assert_eq!(e.diagnostics.len(), 1);
    assert!(e.diagnostics[0].file.ends_with("scenario.toml"));
    assert_eq!((e.diagnostics[0].line, e.diagnostics[0].column), (6, 26));
    assert_eq!(
        e.diagnostics[0].path,
        "cmd_args.dynamo.prefill_worker.tensor_parallel_size"
    );
}

#[test]
fn sweeps_expand_as_a_cartesian_product_last_axis_fastest() {
    let d = Dir::new();
    let test = seed_with(
        "cmd_args.dynamo.prefill_worker",
        "tensor_parallel_size = [2, 4]",
    )
    .replace(
        "streaming = true",
        "streaming = true\nconcurrency = [1, 8, 64]",
    )
    .replace("HF_HOME =", "MODE = [\"a\", \"b\"]\nHF_HOME =");
    let scenario =
        "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\niterations = 2\n";
    let ws = d.workspace(&test, scenario).unwrap();
    assert_eq!(ws.runs.len(), 2 * 3 * 2 * 2);
    let first: Vec<String> = ws
        .runs
        .iter()
        .filter(|r| r.iteration == 0)
        .map(|r| {
            r.params
                .iter()
                .map(|(_, v)| v.to_string())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    assert_eq!(&first[..4], &["2/1/a", "2/1/b", "2/8/a", "2/8/b"]);
    assert_eq!(first[11], "4/64/b");
    let names: Vec<&str> = ws.runs[0].params.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        vec![
            "dynamo.prefill_worker.tensor_parallel_size",
            "genai_perf.concurrency",
            "extra_env_vars.MODE"
        ]
    );
    // Iterations of a case are consecutive runs.
    assert_eq!((ws.runs[5].step, ws.runs[5].iteration), (Some(3), 1));
    assert_eq!(ws.runs[5].relative_dir(), PathBuf::from("a/1/3"));
    let pinned = &ws.runs[5].test;
    assert!(
        !pinned
            .cmd_args
            .dynamo
            .prefill_worker
            .tensor_parallel_size
            .is_sweep()
    );
    // The scenario's num_nodes is the last axis.
    let sc = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\nnum_nodes = [2, 3]\n";
    let ws = d.workspace(SEED, sc).unwrap();
    assert_eq!(ws.runs.len(), 2);
    assert_eq!(
        ws.runs[1].params.get("NUM_NODES"),
        Some(&SweepValue::Int(3))
    );
    assert_eq!(ws.warnings.len(), 1);
}

#[test]
fn node_counts_too_few_is_an_error_too_many_a_warning() {
    let d = Dir::new();
    let sc = |extra: &str| {
        format!("name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n{extra}\n")
    };
    let e = d.workspace(SEED, &sc("num_nodes = 1")).unwrap_err();
    assert_eq!(
        messages(e),
        vec![
            "2:1: Tests[0]: expected at least 2 nodes (1 frontend + 1 prefill + 0 decode), found num_nodes = 1"
        ]
    );
    let ws = d.workspace(SEED, &sc("num_nodes = 5")).unwrap();
    assert_eq!(ws.runs[0].topology.num_nodes, 2);
    assert_eq!(
        ws.warnings[0].message,
        "num_nodes = 5 but the test uses 2 (1 frontend + 1 prefill + 0 decode): only 2 are allocated"
    );
    let ws = d.workspace(SEED, &sc("nodes = [\"debug:g:3\"]")).unwrap();
    assert_eq!(ws.runs[0].topology.nodelist, vec!["node1", "node2"]);
    assert_eq!(ws.runs[0].topology.unused, vec!["node3"]);
    assert!(ws.warnings[0].message.ends_with("not allocated: node3"));
    let e = d
        .workspace(SEED, &sc("nodes = [\"debug:nope:3\"]"))
        .unwrap_err();
    assert!(messages(e)[0].contains("no group \"nope\" in partition \"debug\""));
    // The default is exactly what the test needs (CloudAI defaulted to 1 and failed).
    let ws = d.workspace(SEED, &sc("")).unwrap();
    assert_eq!(ws.runs[0].topology.num_nodes, 2);
    assert!(ws.warnings.is_empty());
}

#[test]
fn verify_files_finds_node_shortfalls_and_unknown_files() {
    let d = Dir::new();
    let sys = d.write("system.toml", SYSTEM);
    let t = d.write("t.toml", SEED);
    let s = d.write(
        "s.toml",
        "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\nnum_nodes = 1\n",
    );
    let other = d.write("other.toml", "x = 1\n");
    let (errs, _) = verify_files(&[sys, t, s, other], Checks { host_paths: false });
    let msgs: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].starts_with("cannot tell what this file is"));
    assert!(msgs[1].starts_with("expected at least 2 nodes"));
}

#[test]
fn aiperf_replaces_genai_perf_and_osl_is_an_alias() {
    let text = SEED.replace("[cmd_args.genai_perf]", "[cmd_args.aiperf]");
    let t = load_test_str(&text, "t.toml").unwrap();
    assert!(matches!(
        t.cmd_args.load_generator,
        LoadGenerator::Aiperf(_)
    ));
    let both = format!("{SEED}\n[cmd_args.aiperf]\nstreaming = true\n");
    assert!(
        errors(&both)[0]
            .contains("give either [cmd_args.genai_perf] or [cmd_args.aiperf], not both")
    );
    let t = load_test_str(
        &seed_with("cmd_args.genai_perf", "osl = 128\nisl = -1"),
        "t.toml",
    )
    .unwrap();
    assert_eq!(
        t.cmd_args.load_generator.args().output_tokens_mean,
        Some(128)
    );
    assert_eq!(
        t.cmd_args.load_generator.args().synthetic_input_tokens_mean,
        None
    );
    let clash = seed_with("cmd_args.genai_perf", "osl = 128\noutput_tokens_mean = 64");
    assert!(
        errors(&clash)[0]
            .contains("`osl` is an alias of `output_tokens_mean`; set only one of them")
    );
    let t = load_test_str(
        &seed_with(
            "cmd_args.genai_perf",
            "extra_inputs = \"--extra-inputs max_tokens:16 --extra-inputs ignore_eos:true\"",
        ),
        "t.toml",
    )
    .unwrap();
    assert_eq!(
        t.cmd_args.load_generator.args().extra_inputs,
        vec!["max_tokens:16", "ignore_eos:true"]
    );
    let quoted = seed_with(
        "cmd_args.genai_perf",
        r#"extra_inputs = "--extra-inputs '{\"stop\": [\"a b\"]}' --extra-inputs max_tokens:8""#,
    );
    let t = load_test_str(&quoted, "t.toml").unwrap();
    assert_eq!(
        t.cmd_args.load_generator.args().extra_inputs,
        vec![r#"{"stop": ["a b"]}"#, "max_tokens:8"]
    );
}

#[test]
fn never_panics_on_mangled_input() {
    // Deterministic mutations of the seed: truncations and byte substitutions.
    let bytes = SEED.as_bytes();
    let subs = [b'"', b'[', b']', b'=', b'\n', b'-', b'0', b'{', b'\'', b'.'];
    for cut in 0..bytes.len() {
        let _ = load_test_str(&String::from_utf8_lossy(&bytes[..cut]), "t.toml");
        for s in subs {
            let mut m = bytes.to_vec();
            m[cut] = s;
            let _ = load_test_str(&String::from_utf8_lossy(&m), "t.toml");
        }
    }
}
