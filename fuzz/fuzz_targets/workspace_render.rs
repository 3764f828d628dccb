//! The whole planning pipeline on hostile input: a test, a scenario and a system (NUL-separated;
//! missing parts are valid defaults) are validated together, expanded into runs (sweeps,
//! iterations, the run cap), planned into nodes and rendered to memory. Any input must give
//! positioned diagnostics or scripts, never a panic, an overflow, a hang or unbounded memory;
//! rendered scripts must keep their invariants (valid `export` names, no NUL, bounded plans).
#![no_main]

use std::path::Path;

use cloudai_dynamo_rs::config::{self, Checks};
use cloudai_dynamo_rs::{render, topology};
use libfuzzer_sys::fuzz_target;

const SCENARIO: &str = "name = \"fuzz\"\n[[Tests]]\nid = \"a\"\ntest_name = \"fuzz\"\n";
const SYSTEM: &str = "name = \"s\"\nscheduler = \"slurm\"\ninstall_path = \"/i\"\noutput_path = \"/o\"\ndefault_partition = \"p\"\ngpus_per_node = 8\n[[partitions]]\nname = \"p\"\n  [[partitions.groups]]\n  name = \"g\"\n  nodes = [\"n[1-8]\"]\n";
/// Small, so that each input stays fast; the cap itself is what is being exercised.
const MAX_RUNS: u64 = 64;
const NAMES: [&str; 3] = ["test.toml", "scenario.toml", "system.toml"];

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0);
    let mut next = |default: &'static str| match parts.next() {
        Some(p) => std::str::from_utf8(p).ok(),
        None => Some(default),
    };
    let (Some(test), Some(scenario), Some(system)) = (next(""), next(SCENARIO), next(SYSTEM))
    else {
        return;
    };
    let checks = Checks {
        host_paths: false,
        max_runs: MAX_RUNS,
    };
    let ws = match config::load_workspace_texts(
        (NAMES[2], system),
        &[(NAMES[0], test)],
        (NAMES[1], scenario),
        checks,
    ) {
        Ok(ws) => ws,
        Err(e) => {
            assert!(!e.diagnostics.is_empty());
            assert!(
                e.diagnostics
                    .iter()
                    .all(|d| NAMES.contains(&d.file.as_str()))
            );
            return;
        }
    };
    assert!(ws.runs.len() as u64 <= MAX_RUNS);
    for run in &ws.runs {
        let topo = &run.topology;
        assert!(topo.num_nodes <= topology::MAX_JOB_NODES);
        if topo.current.is_none() {
            // The seed plan: one node per role. The current schema shares nodes between roles.
            assert_eq!(topo.roles().len(), topo.num_nodes as usize);
        }
        let dir = Path::new("/r").join(run.relative_dir());
        let Ok(files) = render::render_run(&ws.system, run, &dir, Path::new("/i"), true) else {
            continue; // a render error is a message, which is all that is asked
        };
        let texts = [&files.sbatch, &files.launch, &files.roles];
        for text in texts.into_iter().chain(files.dynamo_config.as_ref()) {
            assert!(!text.contains('\0'));
        }
        for line in files.sbatch.lines() {
            if let Some(rest) = line.strip_prefix("export ") {
                let name = rest.split('=').next().unwrap_or_default();
                assert!(config::is_env_name(name), "{line}");
            }
        }
    }
});
