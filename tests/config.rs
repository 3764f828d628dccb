//! Configuration model: the seed file, the conf examples, every kind of error with its exact
//! message and position, scenario overrides, sweeps and node counts.

use std::fs;
use std::path::{Path, PathBuf};

use cloudai_dynamo_rs::config::{
    AnyTest, Checks, ConfigError, Diagnostic, LoadGenerator, Sweep, SweepValue, load_system,
    load_test_str, load_workspace, verify_files,
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
    assert_eq!(t.header.agent, "grid_search");
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
    let (errs, kinds) = verify_files(
        &files,
        Checks {
            host_paths: false,
            ..Checks::default()
        },
    );
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
    let mut t = AnyTest::Seed(load_test_str(&text, "t.toml").unwrap());
    assert_eq!(
        t.sweep_axis_keys(),
        vec!["dynamo.vllm_worker.num_nodes", "genai_perf.concurrency"]
    );
    let decode = text.replace("vllm_worker]", "decode_worker]");
    let mut t = AnyTest::Seed(load_test_str(&decode, "t.toml").unwrap());
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
            "24:11: extra_env_vars.HF_HOME: expected an existing directory on this host, found {:?}, which does not exist or is not a directory; --skip-host-checks skips this check for files meant for another host",
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
    let e = load_workspace(
        &sys,
        &[bad_test, syntax],
        &s,
        Checks {
            host_paths: false,
            ..Checks::default()
        },
    )
    .unwrap_err();
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
            .contains("expected one of \"slurm\", \"standalone\", found \"pbs\"")
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
    let t = ws.runs[0].test.as_seed().expect("seed schema");
    assert_eq!(
        t.cmd_args.dynamo.prefill_worker.tensor_parallel_size,
        Sweep::One(4)
    );
    assert_eq!(t.cmd_args.dynamo.decode_worker.max_num_seqs, 32);
    assert_eq!(t.header.extra_env_vars["EXTRA"], Sweep::One("yes".into()));
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
    let pinned = ws.runs[5].test.as_seed().expect("seed schema");
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
    let (errs, _) = verify_files(
        &[sys, t, s, other],
        Checks {
            host_paths: false,
            ..Checks::default()
        },
    );
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
fn mangled_input_is_read_or_refused_with_positions_inside_the_text() {
    // Deterministic mutations of the seed: truncations and byte substitutions. Each is either
    // read (its name then comes from the text) or refused with diagnostics that point into
    // the text; none panics.
    let bytes = SEED.as_bytes();
    let subs = [b'"', b'[', b']', b'=', b'\n', b'-', b'0', b'{', b'\'', b'.'];
    let check = |text: &str| match load_test_str(text, "t.toml") {
        Ok(t) => assert!(
            text.contains(&format!("name = \"{}\"", t.header.name)),
            "{text}"
        ),
        Err(e) => {
            let lines: Vec<&str> = text.split('\n').collect();
            assert!(!e.diagnostics.is_empty(), "{text}");
            for d in &e.diagnostics {
                assert_eq!(d.file, "t.toml");
                assert!(!d.message.is_empty());
                let line = lines
                    .get(d.line.wrapping_sub(1))
                    .unwrap_or_else(|| panic!("line {} outside the text ({d}):\n{text}", d.line));
                // Columns count characters; one past the end points at the line break.
                assert!(
                    d.column >= 1 && d.column <= line.chars().count() + 1,
                    "{d}:\n{text}"
                );
            }
        }
    };
    for cut in 0..bytes.len() {
        check(&String::from_utf8_lossy(&bytes[..cut]));
        for s in subs {
            let mut m = bytes.to_vec();
            m[cut] = s;
            check(&String::from_utf8_lossy(&m));
        }
    }
}

// ---- hostile configurations: names, characters, counts, limits -------------------------

const ENV_NAME_RULE: &str =
    "expected an environment variable name (letters, digits and '_', not starting with a digit)";

#[test]
fn environment_variable_names_must_be_shell_identifiers() {
    let t = seed_with(
        "extra_env_vars",
        "\"X=1;touch /tmp/p;Y\" = \"1\"\nOK_1 = \"v\"\n9LIVES = [\"a\", \"b\"]\nA-B = 1",
    );
    assert_eq!(
        errors(&t),
        vec![
            format!(
                "t.toml:24:1: extra_env_vars.X=1;touch /tmp/p;Y: {ENV_NAME_RULE}, found \"X=1;touch /tmp/p;Y\""
            ),
            format!("t.toml:26:1: extra_env_vars.9LIVES: {ENV_NAME_RULE}, found \"9LIVES\""),
            format!("t.toml:27:1: extra_env_vars.A-B: {ENV_NAME_RULE}, found \"A-B\""),
        ]
    );
    let sys = format!("{SYSTEM}[global_env_vars]\nGOOD = 1\n\"$(reboot)\" = \"x\"\n");
    let line = sys.lines().count(); // the hostile key is the last line
    let e = cloudai_dynamo_rs::config::load_system_str(&sys, "s.toml").unwrap_err();
    assert_eq!(
        e.diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec![format!(
            "s.toml:{line}:1: global_env_vars.$(reboot): {ENV_NAME_RULE}, found \"$(reboot)\""
        )]
    );
    // Names bash owns would be lost or fail in the job script.
    let t = seed_with(
        "extra_env_vars",
        "UID = 0
_ = \"x\"",
    );
    assert_eq!(
        errors(&t),
        vec![
            "t.toml:24:1: extra_env_vars.UID: expected an environment variable the job can set, found \"UID\", which bash sets itself (its export fails or is lost)",
            "t.toml:25:1: extra_env_vars._: expected an environment variable the job can set, found \"_\", which bash sets itself (its export fails or is lost)",
        ]
    );
    // A scenario override is held to the same rule, and the error points into the scenario.
    let d = Dir::new();
    let sc = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n  [Tests.extra_env_vars]\n  \"a b\" = \"1\"\n";
    let e = d.workspace(SEED, sc).unwrap_err();
    assert_eq!(
        messages(e),
        vec![format!(
            "6:3: extra_env_vars.a b: {ENV_NAME_RULE}, found \"a b\""
        )]
    );
}

#[test]
fn control_characters_are_refused_with_their_position() {
    let sys = SYSTEM.replace(
        "default_partition = \"debug\"",
        "default_partition = \"de\\u0000bug\"",
    );
    let e = cloudai_dynamo_rs::config::load_system_str(&sys, "s.toml").unwrap_err();
    let msgs: Vec<String> = e.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs[0],
        "s.toml:6:21: default_partition: expected text without control characters, found U+0000 (NUL) at character 3 of the string"
    );
    // Escape sequences and C1 controls too, in keys as well as values.
    let t = seed_with(
        "cmd_args.dynamo.prefill_worker",
        "quantization = \"fp8\\u001b[31m\"\nextra_args = { \"k\\u0085\" = 1 }",
    );
    assert_eq!(
        errors(&t),
        vec![
            "t.toml:13:16: cmd_args.dynamo.prefill_worker.quantization: expected text without control characters, found U+001B (escape) at character 4 of the string",
            "t.toml:14:16: cmd_args.dynamo.prefill_worker.extra_args.k\u{85}: expected a key without control characters, found U+0085 at character 2 of the key",
        ]
    );
}

#[test]
fn line_breaks_only_in_commands_descriptions_and_environment_values() {
    let t = SEED.replace(
        "served_model_name = \"nvidia/Llama-3.1-405B-Instruct-FP8\"",
        "served_model_name = \"model\\n#SBATCH --x\"",
    );
    assert_eq!(
        errors(&t),
        vec![
            "t.toml:7:21: cmd_args.served_model_name: expected a single-line string, found U+000A (line feed) at character 6"
        ]
    );
    // Shell by contract, or free text: accepted.
    let t = seed_with(
        "cmd_args.dynamo.prefill_worker",
        "cmd = \"\"\"\nset -e\npython -m dynamo.mocker\n\"\"\"",
    )
    .replace(
        "description = \"llama3.1_405b_fp8\"",
        "description = \"two\\nlines\\tand a tab\"",
    );
    let t = seed_with_text(&t, "extra_env_vars", "JSON = \"{\\n  \\\"a\\\": 1\\n}\"");
    assert_eq!(errors(&t), Vec::<String>::new());
}

fn seed_with_text(text: &str, section: &str, extra: &str) -> String {
    let header = format!("[{section}]\n");
    text.replacen(&header, &format!("{header}{extra}\n"), 1)
}

#[test]
fn integers_beyond_64_bits_are_reported_as_written() {
    let t = SEED.replace("  num_nodes = 1", "  num_nodes = 99999999999999999999");
    assert_eq!(
        errors(&t),
        vec![
            "t.toml:13:15: cmd_args.dynamo.prefill_worker.num_nodes: expected a non-negative integer, found integer 99999999999999999999 (out of the 64-bit range) (or a list of such values to sweep)"
        ]
    );
    let t = seed_with("cmd_args.genai_perf", "random_seed = -0x8000000000000000");
    // TOML hex integers cannot be negative: the parser refuses it, no NaN anywhere.
    assert!(errors(&t).iter().all(|m| !m.contains("NaN")));
    let t = seed_with(
        "cmd_args.genai_perf",
        "random_seed = -9_223_372_036_854_775_809",
    );
    assert_eq!(
        errors(&t),
        vec![
            "t.toml:19:15: cmd_args.genai_perf.random_seed: expected a non-negative integer, found integer -9223372036854775809 (out of the 64-bit range)"
        ]
    );
}

#[test]
fn node_counts_never_wrap_and_fit_the_system() {
    let d = Dir::new();
    let sc = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n";
    // 1 + 4294967295 + 1 wraps to 1 in 32 bits.
    let t = SEED
        .replace("  num_nodes = 1", "  num_nodes = 4294967295")
        .replace("  num_nodes = 0", "  num_nodes = 1");
    let e = d.workspace(&t, sc).unwrap_err();
    assert_eq!(
        messages(e),
        vec![
            "2:1: Tests[0]: expected at most 4 nodes (the nodes of partition \"debug\" in the system file), found 1 frontend + 4294967295 prefill + 1 decode = 4294967297"
        ]
    );
    // Decode 0: no plan of 4 billion roles is ever built; without listed nodes the bound is
    // the per-job limit.
    let t = SEED.replace("  num_nodes = 1", "  num_nodes = 4294967295");
    let sys = d.write(
        "system2.toml",
        "name = \"x\"\nscheduler = \"slurm\"\ninstall_path = \"/i\"\noutput_path = \"/o\"\ndefault_partition = \"p\"\n",
    );
    let hf = d.path().join("hf");
    fs::create_dir_all(&hf).unwrap();
    let tp = d.write(
        "tests2/t.toml",
        &t.replace("/your/path/to/hf_home", hf.to_str().unwrap()),
    );
    let s = d.write("scenario2.toml", sc);
    let e = load_workspace(&sys, &[tp], &s, Checks::default()).unwrap_err();
    assert_eq!(
        messages(e),
        vec![
            "2:1: Tests[0]: expected at most 65536 nodes (the limit of one job when the system file lists no nodes), found 1 frontend + 4294967295 prefill + 0 decode = 4294967296"
        ]
    );
}

#[test]
fn tensor_times_pipeline_parallel_must_fit_a_node() {
    let d = Dir::new();
    let sc = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n";
    let t = seed_with(
        "cmd_args.dynamo.prefill_worker",
        "tensor_parallel_size = 8\npipeline_parallel_size = 2",
    );
    let e = d.workspace(&t, sc).unwrap_err();
    assert_eq!(
        messages(e),
        vec![
            "2:1: Tests[0]: dynamo.prefill_worker: expected tensor_parallel_size × pipeline_parallel_size ≤ gpus_per_node (8), found 8 × 2 = 16"
        ]
    );
    // A role with no node runs no engine: its sizes are not checked.
    let t = seed_with("cmd_args.dynamo.vllm_worker", "tensor_parallel_size = 64");
    assert!(d.workspace(&t, sc).is_ok());
}

fn limited(d: &Dir, test: &str, scenario: &str, max_runs: u64) -> Result<usize, Vec<String>> {
    let hf = d.path().join("hf");
    fs::create_dir_all(&hf).unwrap();
    let sys = d.write("system.toml", SYSTEM);
    let t = d.write(
        "tests/t.toml",
        &test.replace("/your/path/to/hf_home", hf.to_str().unwrap()),
    );
    let s = d.write("scenario.toml", scenario);
    let checks = Checks {
        max_runs,
        ..Checks::default()
    };
    load_workspace(&sys, &[t], &s, checks)
        .map(|ws| ws.runs.len())
        .map_err(messages)
}

#[test]
fn scenarios_are_capped_in_runs_before_anything_expands() {
    let d = Dir::new();
    let sc = |extra: &str| {
        format!("name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n{extra}\n")
    };
    // iterations = 4294967295 reached 20 GB; now a message, at once.
    let e = limited(&d, SEED, &sc("iterations = 4294967295"), 10_000).unwrap_err();
    assert_eq!(
        e,
        vec![
            "2:1: Tests[0]: the scenario expands to 4294967295 runs, more than the limit of 10000 (raise it with --max-runs): Tests[0] \"a\": 4294967295 iterations = 4294967295 runs"
        ]
    );
    // A 1000 × 1000 sweep.
    let thousand = (1..=1000)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let t = seed_with(
        "cmd_args.genai_perf",
        &format!("concurrency = [{thousand}]\nrequest_rate = [{thousand}]"),
    );
    let e = limited(&d, &t, &sc(""), 10_000).unwrap_err();
    assert_eq!(
        e,
        vec![
            "2:1: Tests[0]: the scenario expands to 1000000 runs, more than the limit of 10000 (raise it with --max-runs): Tests[0] \"a\": 1000 values of genai_perf.concurrency × 1000 values of genai_perf.request_rate × 1 iteration = 1000000 runs"
        ]
    );
    // 2^64 cases: no overflow, the same error with the exact count.
    let axes: String = (0..64)
        .map(|i| format!("S{i} = [\"a\", \"b\"]\n"))
        .collect();
    let t = seed_with("extra_env_vars", &axes);
    let e = limited(&d, &t, &sc(""), 10_000).unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with(
            "2:1: Tests[0]: the scenario expands to 18446744073709551616 runs, more than the limit of 10000"
        ),
        "{}",
        e[0]
    );
    // 2^200 cases do not fit in 128 bits either.
    let axes: String = (0..200)
        .map(|i| format!("S{i} = [\"a\", \"b\"]\n"))
        .collect();
    let t = seed_with("extra_env_vars", &axes);
    let e = limited(&d, &t, &sc(""), u64::MAX).unwrap_err();
    assert!(e[0].contains("expands to more than 2^128 runs"), "{}", e[0]);
    // Runs are summed over the scenario's tests; the limit is inclusive and can be raised.
    let t = seed_with("cmd_args.genai_perf", "concurrency = [1, 2, 3]");
    let two = format!(
        "{}[[Tests]]\nid = \"b\"\ntest_name = \"llama3.1_405b_fp8\"\niterations = 2\n",
        sc("")
    );
    assert_eq!(limited(&d, &t, &two, 9), Ok(9));
    let e = limited(&d, &t, &two, 8).unwrap_err();
    assert_eq!(
        e,
        vec![
            "6:1: Tests[1]: the scenario expands to 9 runs, more than the limit of 8 (raise it with --max-runs): Tests[0] \"a\": 3 values of genai_perf.concurrency × 1 iteration = 3 runs; Tests[1] \"b\": 3 values of genai_perf.concurrency × 2 iterations = 6 runs"
        ]
    );
}

#[test]
fn dependency_cycles_are_found_at_validation() {
    let entry = |id: &str, deps: &[&str]| {
        let mut s = format!("[[Tests]]\nid = \"{id}\"\ntest_name = \"t\"\n");
        for d in deps {
            s += &format!(
                "  [[Tests.dependencies]]\n  type = \"start_post_comp\"\n  id = \"{d}\"\n"
            );
        }
        s
    };
    let load = |entries: &[String]| {
        let text = format!("name = \"s\"\n{}", entries.concat());
        match cloudai_dynamo_rs::config::load_scenario_str(&text, "s.toml") {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
        }
    };
    // a ↔ b: reported once, at a (line 2).
    assert_eq!(
        load(&[entry("a", &["b"]), entry("b", &["a"])]),
        vec![
            "s.toml:2:1: Tests[0].dependencies: dependency cycle: \"a\" → \"b\" → \"a\" (each waits for the next, so none would ever start)"
        ]
    );
    // A longer cycle behind a test that is not on it; c's entry starts at line 14.
    let errs = load(&[
        entry("x", &["c"]),
        entry("c", &["d"]),
        entry("d", &["e"]),
        entry("e", &["c"]),
    ]);
    assert_eq!(
        errs,
        vec![
            "s.toml:8:1: Tests[1].dependencies: dependency cycle: \"c\" → \"d\" → \"e\" → \"c\" (each waits for the next, so none would ever start)"
        ]
    );
    // Self-dependency, and a chain without a cycle.
    assert_eq!(
        load(&[entry("a", &["a"])]),
        vec!["s.toml:2:1: Tests[0].dependencies[0].id: a test cannot depend on itself"]
    );
    assert!(load(&[entry("a", &[]), entry("b", &["a"]), entry("c", &["a", "b"])]).is_empty());
}

#[test]
fn two_test_files_with_one_name_are_an_error() {
    let d = Dir::new();
    let hf = d.path().join("hf");
    fs::create_dir_all(&hf).unwrap();
    let t = SEED.replace("/your/path/to/hf_home", hf.to_str().unwrap());
    let sys = d.write("system.toml", SYSTEM);
    let a = d.write("tests/a.toml", &t);
    let b = d.write("tests/b.toml", &format!("# copy\n{t}"));
    let s = d.write(
        "scenario.toml",
        "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n",
    );
    let e = load_workspace(&sys, &[a.clone(), b.clone()], &s, Checks::default()).unwrap_err();
    let expected = format!(
        "{}:2:8: name: duplicate test name \"llama3.1_405b_fp8\": {}:1:8 already defines it (a scenario's `test_name` must name one test)",
        b.display(),
        a.display()
    );
    assert_eq!(
        e.diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec![expected.clone()]
    );
    // verify-configs finds it with the test files alone.
    let (errs, _) = verify_files(&[a, b], Checks::default());
    assert_eq!(
        errs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec![expected]
    );
}

#[test]
fn names_used_as_directories_fit_one_path_component() {
    let long = "x".repeat(300);
    let text = format!("name = \"s\"\n[[Tests]]\nid = \"{long}\"\ntest_name = \"t\"\n");
    let e = cloudai_dynamo_rs::config::load_scenario_str(&text, "s.toml").unwrap_err();
    assert_eq!(
        e.diagnostics[0].to_string(),
        format!(
            "s.toml:2:1: Tests[0].id: expected a test id usable as a directory name, found {:?}… (300 bytes), which is 300 bytes long, more than the 255 a directory name may have",
            "x".repeat(40)
        )
    );
    let text = format!(
        "name = \"{}\"\n[[Tests]]\nid = \"a\"\ntest_name = \"t\"\n",
        "é".repeat(101)
    );
    let e = cloudai_dynamo_rs::config::load_scenario_str(&text, "s.toml").unwrap_err();
    assert!(
        e.diagnostics[0]
            .to_string()
            .starts_with("s.toml:1:8: name: expected a scenario name of at most 200 bytes"),
        "{}",
        e.diagnostics[0]
    );
    // 255 bytes is fine.
    let text = format!(
        "name = \"s\"\n[[Tests]]\nid = \"{}\"\ntest_name = \"t\"\n",
        "y".repeat(255)
    );
    assert!(cloudai_dynamo_rs::config::load_scenario_str(&text, "s.toml").is_ok());
}

#[test]
fn host_lists_too_large_for_any_job_are_refused() {
    let d = Dir::new();
    let sys = SYSTEM.replace("node[1-4]", "node[0-99999999999]");
    let hf = d.path().join("hf");
    fs::create_dir_all(&hf).unwrap();
    let s = d.write("system.toml", &sys);
    let t = d.write(
        "tests/t.toml",
        &SEED.replace("/your/path/to/hf_home", hf.to_str().unwrap()),
    );
    let sc = d.write(
        "scenario.toml",
        "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n",
    );
    let e = load_workspace(&s, &[t], &sc, Checks::default()).unwrap_err();
    assert_eq!(
        messages(e),
        vec!["2:1: Tests[0]: host list \"node[0-99999999999]\" names more than 65536 nodes"]
    );
}

#[test]
fn a_test_file_problem_is_reported_once() {
    // The file is read on its own and again under the scenario entry that uses it.
    let d = Dir::new();
    let t = seed_with("cmd_args.genai_perf", "bogus = 1");
    let sc = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"llama3.1_405b_fp8\"\n[[Tests]]\nid = \"b\"\ntest_name = \"llama3.1_405b_fp8\"\n";
    let e = d.workspace(&t, sc).unwrap_err();
    let m = messages(e);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].starts_with("19:1: cmd_args.genai_perf.bogus: unknown field"));
}

#[test]
fn only_regular_files_of_bounded_size_are_read() {
    let d = Dir::new();
    let big = d.write("big.toml", &"# x\n".repeat(4 * 1024 * 1024 + 1));
    let dir = d.path().join("adir.toml");
    fs::create_dir_all(&dir).unwrap();
    let fifo = d.path().join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let zero = PathBuf::from("/dev/zero");
    // A FIFO without a writer would block a reader forever, /dev/zero never ends.
    let (errs, _) = verify_files(
        &[big.clone(), dir.clone(), fifo.clone(), zero],
        Checks::default(),
    );
    let got: Vec<String> = errs.iter().map(ToString::to_string).collect();
    let mut expected = vec![
        format!(
            "{}: expected a configuration file of at most 16 MiB, found a larger file",
            big.display()
        ),
        format!(
            "{}: expected a regular file, found a directory",
            dir.display()
        ),
        format!(
            "{}: expected a regular file, found a special file (FIFO, socket or device)",
            fifo.display()
        ),
        "/dev/zero: expected a regular file, found a special file (FIFO, socket or device)"
            .to_string(),
    ];
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn tables_with_many_keys_are_checked_in_linear_time() {
    // 20,000 unknown keys and 20,000 bad environment names, each reported once. (The former
    // pairwise scans took over 4 minutes on this input in a debug build; now seconds.)
    let n = 20_000;
    let unknown: String = (0..n).map(|i| format!("k{i} = 1\n")).collect();
    let bad_env: String = (0..n).map(|i| format!("\"E-{i}\" = 1\n")).collect();
    let t = format!("{unknown}{SEED}{bad_env}");
    let errs = errors(&t);
    assert_eq!(errs.len(), 2 * n);
    assert!(errs[0].starts_with("t.toml:1:1: k0: unknown field"));
    assert!(errs[n].contains("extra_env_vars.E-0: expected an environment variable name"));
}

#[test]
fn host_names_are_checked_where_they_are_written() {
    // A blank or a comma would change the node count of `--nodelist`; reported at the entry.
    let sys = SYSTEM.replace(
        "nodes = [\"node[1-4]\"]",
        "nodes = [\"node[1-4]\", \"a b\"]",
    );
    let e = cloudai_dynamo_rs::config::load_system_str(&sys, "s.toml").unwrap_err();
    assert_eq!(
        e.diagnostics[0].to_string(),
        "s.toml:12:25: partitions[0].groups[0].nodes[1]: expected a host name or a host list such as node[1-4], found \"a b\", which has U+0020 at character 2"
    );
    let sc = "name = \"s\"\n[[Tests]]\nid = \"a\"\ntest_name = \"t\"\nnodes = [\"n1,n2\", \"debug:g:2\", \"n[1-2\"]\n";
    let e = cloudai_dynamo_rs::config::load_scenario_str(sc, "s.toml").unwrap_err();
    let msgs: Vec<String> = e.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        vec![
            "s.toml:5:10: Tests[0].nodes[0]: expected a host name, a host list such as node[1-4], or PARTITION:GROUP:COUNT, found \"n1,n2\", which has a ',' outside brackets (give one host or host list per entry)",
            "s.toml:5:32: Tests[0].nodes[2]: expected a host name, a host list such as node[1-4], or PARTITION:GROUP:COUNT, found \"n[1-2\", which has unbalanced or nested brackets",
        ]
    );
}

#[test]
fn engine_arguments_are_finite() {
    let t = SEED.replace(
        "  num_nodes = 1",
        "  num_nodes = 1\n  extra_args = { rate = inf, ok = 1.5 }",
    );
    assert_eq!(
        errors(&t),
        vec![
            "t.toml:14:25: cmd_args.dynamo.prefill_worker.extra_args.rate: expected a string, a finite number or a boolean, found float inf"
        ]
    );
}

#[test]
fn the_run_cap_message_stays_short_for_many_tests() {
    // 12,000 one-run tests: the message names the 10 largest (ties: the first in file order)
    // and counts the rest, instead of listing every test.
    let d = Dir::new();
    let mut sc = String::from("name = \"s\"\n");
    for i in 0..12_000 {
        sc += &format!("[[Tests]]\nid = \"t{i}\"\ntest_name = \"llama3.1_405b_fp8\"\n");
    }
    let e = limited(&d, SEED, &sc, 10_000).unwrap_err();
    assert_eq!(e.len(), 1);
    let first: Vec<String> = (0..10)
        .map(|i| format!("Tests[{i}] \"t{i}\": 1 iteration = 1 runs"))
        .collect();
    assert_eq!(
        e[0],
        format!(
            "2:1: Tests[0]: the scenario expands to 12000 runs, more than the limit of 10000 (raise it with --max-runs): {}; and 11990 more tests",
            first.join("; ")
        )
    );
}

#[test]
fn a_comma_in_a_container_mount_is_refused_where_it_is_written() {
    // pyxis splits `--container-mounts` at commas: "/a,b:/c" would become two other mounts.
    let mounts = r#"extra_container_mounts = ["/data:/data", "/a,b:/c"]"#;
    let t = format!("{mounts}\n{SEED}");
    let column = mounts.find(r#""/a,b"#).unwrap() + 1;
    assert_eq!(
        errors(&t),
        vec![format!(
            "t.toml:1:{column}: extra_container_mounts[1]: expected a container mount without a comma (pyxis separates mounts with commas), found \"/a,b:/c\""
        )]
    );
    assert!(errors(&t.replace("/a,b:/c", "/a:/c")).is_empty());
}

#[test]
fn frontend_ports_must_differ() {
    // etcd, NATS and the HTTP frontend share the frontend node: a port used twice is
    // reported at the later field.
    let t = seed_with("cmd_args.dynamo.frontend", "port = 7000\nport_etcd = 7000");
    let line = t.lines().position(|l| l == "port_etcd = 7000").unwrap() + 1;
    assert_eq!(
        errors(&t),
        vec![format!(
            "t.toml:{line}:13: cmd_args.dynamo.frontend.port_etcd: port 7000 is already used by `port` on the frontend node"
        )]
    );
}
