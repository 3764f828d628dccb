//! Generated scripts against golden files (seed scenario and a 2-prefill/2-decode case, in
//! container and bare-metal modes), checked with `bash -n` and shellcheck.
//! Regenerate the golden files with `UPDATE_GOLDEN=1 cargo test --test render`.

use std::path::{Path, PathBuf};
use std::process::Command;

use cloudai_dynamo_rs::config::{Checks, Workspace, load_workspace};
use cloudai_dynamo_rs::render::{RunFiles, render_run};

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/render")
        .join(p)
}

fn workspace(system: &str) -> Workspace {
    let tests = [data("seed_test.toml"), data("test_2p2d.toml")];
    load_workspace(
        &data(system),
        &tests,
        &data("scenario.toml"),
        Checks {
            host_paths: false,
            ..Checks::default()
        },
    )
    .expect("valid")
}

fn files(ws: &Workspace, id: &str) -> RunFiles {
    let run = ws.runs.iter().find(|r| r.id == id).expect("run");
    let dir = Path::new("/results/golden_2026-01-01_00-00-00").join(run.relative_dir());
    render_run(
        &ws.system,
        run,
        &dir,
        Path::new("/opt/cloudai/install"),
        false,
    )
    .expect("renders")
}

fn check_golden(case: &str, f: &RunFiles) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/golden")
        .join(case);
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (name, text) in [
        ("cloudai_sbatch_script.sh", &f.sbatch),
        ("run.sh", &f.launch),
        (
            "dynamo_config.yaml",
            f.dynamo_config.as_ref().expect("seed config"),
        ),
        ("node_roles.txt", &f.roles),
    ] {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let expected =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            text, &expected,
            "{case}/{name} differs from its golden file"
        );
    }
    for script in [&f.sbatch, &f.launch] {
        shell_check(script);
    }
}

/// `bash -n` and shellcheck (Debian's package; .ci/run installs it).
fn shell_check(script: &str) {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), script).unwrap();
    let out = Command::new("bash")
        .arg("-n")
        .arg(tmp.path())
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("shellcheck")
        .args(["--shell=bash", "--severity=warning"])
        .arg(tmp.path())
        .output()
        .expect("shellcheck must be installed (apt-get install shellcheck)");
    assert!(
        out.status.success(),
        "shellcheck:\n{}\n{script}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn seed_scenario_in_container_mode() {
    check_golden(
        "seed-pyxis",
        &files(&workspace("system_pyxis.toml"), "seed"),
    );
}

#[test]
fn seed_scenario_on_bare_metal() {
    check_golden(
        "seed-baremetal",
        &files(&workspace("system_baremetal.toml"), "seed"),
    );
}

#[test]
fn two_prefill_two_decode_in_container_mode() {
    check_golden(
        "2p2d-pyxis",
        &files(&workspace("system_pyxis.toml"), "disagg"),
    );
}

#[test]
fn two_prefill_two_decode_on_bare_metal() {
    check_golden(
        "2p2d-baremetal",
        &files(&workspace("system_baremetal.toml"), "disagg"),
    );
}

/// The keys of `[table]` in a TOML text, in the text's order (a table that runs to the end of
/// the file, holding `KEY = "value"` lines).
fn table_keys(text: &str, table: &str) -> Vec<String> {
    let start = text.find(&format!("[{table}]\n")).expect("table") + table.len() + 3;
    text[start..]
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.to_string()))
        .collect()
}

#[test]
fn the_job_environment_keeps_the_order_of_the_files() {
    // Names in no sorted order, one (MU) set by both files: the test's value wins, in the
    // test's place. Expected order read from the two files' own text, not from the renderer.
    let dir = tempfile::tempdir().unwrap();
    let mut system = std::fs::read_to_string(data("system_pyxis.toml")).unwrap();
    for k in ["ZETA", "ALPHA", "MU", "B_2", "OMEGA", "A1"] {
        system.push_str(&format!("{k} = \"system {k}\"\n"));
    }
    let mut test = std::fs::read_to_string(data("test_2p2d.toml")).unwrap();
    for k in ["YOTA", "MU", "C", "ETA"] {
        test.push_str(&format!("{k} = \"test {k}\"\n"));
    }
    std::fs::write(dir.path().join("system.toml"), &system).unwrap();
    std::fs::write(dir.path().join("test_2p2d.toml"), &test).unwrap();
    let ws = load_workspace(
        &dir.path().join("system.toml"),
        &[data("seed_test.toml"), dir.path().join("test_2p2d.toml")],
        &data("scenario.toml"),
        Checks {
            host_paths: false,
            ..Checks::default()
        },
    )
    .expect("valid");
    let sbatch = files(&ws, "disagg").sbatch;
    let exported: Vec<&str> = sbatch
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .map(|l| l.split('=').next().unwrap())
        .collect();
    let test_keys = table_keys(&test, "extra_env_vars");
    let mut expected = vec!["SLURM_JOB_MASTER_NODE".to_string()];
    expected.extend(
        table_keys(&system, "global_env_vars")
            .into_iter()
            .filter(|k| !test_keys.contains(k)),
    );
    expected.extend(test_keys);
    assert_eq!(exported, expected);
    assert!(sbatch.contains("export MU=\"test MU\"\n"));
}

#[test]
fn container_flags_only_in_container_mode() {
    let pyxis = files(&workspace("system_pyxis.toml"), "disagg").sbatch;
    assert!(pyxis.contains("--container-image=nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.6.1"));
    assert!(pyxis.contains("/lustre/hf_home:/lustre/hf_home"));
    assert!(pyxis.contains("--no-container-mount-home"));
    assert!(pyxis.contains("#SBATCH --reservation=dynamo"));
    assert!(pyxis.contains("#SBATCH --gres=gpu:8"));
    let bare = files(&workspace("system_baremetal.toml"), "disagg").sbatch;
    assert!(!bare.contains("--container"));
    assert!(!bare.contains("gpu"));
    assert!(bare.contains("#SBATCH --nodes=5"));
    // The test's HF_HOME wins over the system's, and is exported once.
    assert_eq!(pyxis.matches("export HF_HOME=").count(), 1);
    assert!(pyxis.contains("export HF_HOME=\"/lustre/hf_home\""));
}

#[test]
fn load_generator_gets_only_the_flags_the_user_set() {
    let seed = files(&workspace("system_pyxis.toml"), "seed").launch;
    for absent in [
        "--osl",
        "--isl",
        "--request-count",
        "--concurrency",
        "--random-seed",
    ] {
        assert!(!seed.contains(absent), "{absent}");
    }
    let disagg = files(&workspace("system_pyxis.toml"), "disagg").launch;
    for present in [
        "--concurrency\n    16",
        "--request-count\n    200",
        "--extra-inputs\n    ignore_eos:true",
        "--extra-inputs\n    max_tokens:150",
    ] {
        assert!(disagg.contains(present), "{present}");
    }
}
