//! Everything Slurm needs for each test run: the sbatch script, the per-node launch script,
//! the Dynamo configuration, the planned role map and a record of the resolved run — and the
//! atomic writing of a scenario's whole results tree (dry-run).

mod aux_steps;
mod current;
mod dynamo_yaml;
mod error;
mod launch;
mod loadgen;
pub mod quote;
mod sbatch;
mod staging;
mod standalone_job;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{AnyTest, SystemConfig, TestRun, Workspace};
use crate::plan::Plan;
pub use current::{
    FAILURE_MARKER as CURRENT_FAILURE_MARKER, SUCCESS_MARKER as CURRENT_SUCCESS_MARKER,
};
pub use error::{RenderError, ScriptError};
pub use launch::{DONE_MARKER as SEED_DONE_MARKER, FAILURE_MARKER as SEED_FAILURE_MARKER};
pub use sbatch::{environment, job_name};

/// File names in a run directory.
pub const SBATCH_FILE: &str = "cloudai_sbatch_script.sh";
/// The job script on a standalone system, in place of the sbatch script.
pub const STANDALONE_JOB_FILE: &str = "standalone_job.sh";
pub const LAUNCH_FILE: &str = "run.sh";
pub const CONFIG_FILE: &str = "dynamo_config.yaml";
pub const ROLES_FILE: &str = "node_roles.txt";
pub const RECORD_FILE: &str = "test-run.json";
/// A run's final status, written by the runner at its end (Python's `runner.status`) and read
/// by the plan's history (`crate::plan::history`).
pub const STATUS_FILE: &str = "status.json";
/// The job's own output and error streams (sbatch's `--output`/`--error`; the standalone
/// scheduler's job process writes the same files), where the load generator also writes.
pub const JOB_STDOUT: &str = "stdout.txt";
pub const JOB_STDERR: &str = "stderr.txt";

/// The job script's file name: the sbatch script, or its standalone counterpart.
pub fn job_file(system: &SystemConfig) -> &'static str {
    if system.is_standalone() {
        STANDALONE_JOB_FILE
    } else {
        SBATCH_FILE
    }
}

/// The generated files of one run.
pub struct RunFiles {
    /// The job script ([`job_file`]).
    pub sbatch: String,
    /// The job's main `srun` on one line (CloudAI's `gen_srun_command`, recorded as its
    /// `full_cmd`); None for the standalone scheduler, whose job runs no srun.
    pub srun: Option<String>,
    pub launch: String,
    /// The seed schema's `dynamo_config.yaml` (the current schema configures by flags).
    pub dynamo_config: Option<String>,
    pub roles: String,
    pub record: String,
    /// Engine configuration files of the current schema (`lmcache-config.yaml`, …).
    pub extra: Vec<(&'static str, String)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RenderError + '_ {
    move |source| RenderError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Render the files of one run whose directory will be `run_dir` (absolute).
pub fn render_run(
    system: &SystemConfig,
    run: &TestRun,
    run_dir: &Path,
    install_dir: &Path,
    metadata_script: bool,
) -> Result<RunFiles, RenderError> {
    let invalid = |source: ScriptError| RenderError::Invalid {
        run: run.relative_dir().display().to_string(),
        source,
    };
    let text = |p: &Path| -> Result<String, RenderError> {
        let s = p
            .to_str()
            .ok_or_else(|| invalid(ScriptError::PathNotUtf8(p.to_path_buf())))?;
        if s.contains(['\n', '\r']) {
            return Err(invalid(ScriptError::PathLineBreak(s.to_string())));
        }
        Ok(s.to_string())
    };
    let dir = text(run_dir)?;
    let launch_path = format!("{dir}/{LAUNCH_FILE}");
    let config_path = format!("{dir}/{CONFIG_FILE}");
    let paths = sbatch::Paths {
        run_dir: &dir,
        install_dir: &text(install_dir)?,
        launch_script: &launch_path,
        metadata_script,
    };
    let (sbatch, srun) = if system.is_standalone() {
        (standalone_job::render(system, run, &launch_path), None)
    } else {
        let (script, srun) = sbatch::render(system, run, &paths).map_err(invalid)?;
        (script, Some(srun))
    };
    let record = serde_json::to_string_pretty(run).map_err(|e| invalid(e.into()))? + "\n";
    match (&run.test, &run.topology.current) {
        (AnyTest::Seed(test), _) => Ok(RunFiles {
            sbatch,
            srun,
            launch: launch::render(test, &run.topology, &dir, &config_path),
            dynamo_config: Some(dynamo_yaml::render(test)),
            roles: role_map(run),
            record,
            extra: Vec::new(),
        }),
        (AnyTest::Current(test), Some(plan)) => Ok(RunFiles {
            sbatch,
            srun,
            launch: current::render(test, &run.topology, plan, &dir, run.time_limit.as_deref()),
            dynamo_config: None,
            roles: current_role_map(plan),
            record,
            extra: current::config_files(test),
        }),
        (AnyTest::Current(_), None) => Err(invalid(ScriptError::NoCurrentPlan)),
    }
}

/// Planned roles of a current-schema run: the first decode node also runs the frontend.
fn current_role_map(plan: &crate::topology::CurrentPlan) -> String {
    let by = match plan.decode_nodes {
        crate::topology::NodeRefs::Ids(_) => "SLURM_NODEID",
        crate::topology::NodeRefs::Hosts(_) => "host",
    };
    let mut out = format!("# {by} roles\n");
    let mut refs: Vec<String> = Vec::new();
    for r in plan
        .decode_nodes
        .words()
        .into_iter()
        .chain(plan.prefill_nodes.words())
    {
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    let decode = plan.decode_nodes.words();
    let prefill = plan.prefill_nodes.words();
    for (i, r) in refs.iter().enumerate() {
        let mut roles = Vec::new();
        if i == 0 {
            roles.push("frontend".to_string());
        }
        if decode.contains(r) {
            roles.push(format!("decode×{}", plan.decode_workers_per_node));
        }
        if prefill.contains(r) {
            roles.push(format!("prefill×{}", plan.prefill_workers_per_node));
        }
        let _ = writeln!(out, "{r} {}", roles.join(","));
    }
    out
}

/// Planned roles by Slurm node id (hostnames are known only at run time, unless listed).
fn role_map(run: &TestRun) -> String {
    let mut out = String::from("# SLURM_NODEID role [host]\n");
    for (i, role) in run.topology.roles().iter().enumerate() {
        let host = run.topology.nodelist.get(i).map_or("", String::as_str);
        let line = format!("{i} {} {host}", role.as_str());
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// What was written for one run (also what the runner submits).
#[derive(Clone, Debug, Serialize)]
pub struct WrittenRun {
    pub id: String,
    pub test_name: String,
    pub iteration: u32,
    pub step: Option<usize>,
    pub run_dir: PathBuf,
    pub sbatch: PathBuf,
    pub params: indexmap::IndexMap<String, crate::config::SweepValue>,
    pub dependencies: Vec<crate::config::Dependency>,
    pub num_nodes: u32,
    pub prefill: u32,
    pub decode: u32,
    /// `seed` or `current`: which schema the test is written in.
    pub generation: crate::config::gen2::Generation,
}

/// Write the results tree of a whole scenario under `output_root/<scenario>_<timestamp>/`,
/// with `plan` as its `plan.json` when given.
///
/// The name is claimed first by creating the (empty) directory, so that two writers in the
/// same second get `<name>`, `<name>_2`, … and an existing directory is never written into.
/// The tree is built in a hidden, locked sibling `.<name>.partial-<host>.<pid>[-n]` (always a
/// fresh one) and renamed over the claimed empty directory at the end, so a reader never sees
/// a half-written results directory. Staging directories of dead writers, and their empty
/// claims, are removed first ([`staging`]).
/// `interrupted` is asked between runs; when it says stop, or anything fails, the staging
/// directory and the claim are removed before returning.
pub fn write_scenario(
    ws: &Workspace,
    output_root: &Path,
    timestamp: &str,
    install_dir: &Path,
    plan: Option<&Plan>,
    interrupted: &dyn Fn() -> bool,
) -> Result<(PathBuf, Vec<WrittenRun>), RenderError> {
    let name = format!("{}_{timestamp}", ws.scenario.name.replace(['/', '\\'], "_"));
    fs::create_dir_all(output_root).map_err(io(output_root))?;
    staging::remove_stale(output_root);
    let (final_dir, final_name) = create_unique(output_root, &name, "_")?;
    let staging = match staging::create(output_root, &final_name) {
        Ok(s) => s,
        Err(e) => {
            let _ = fs::remove_dir(&final_dir);
            return Err(e);
        }
    };
    let dir = &staging.dir;
    let result = write_all(ws, dir, &final_dir, install_dir, interrupted).and_then(|runs| {
        if let Some(plan) = plan {
            let p = dir.join(crate::plan::PLAN_FILE);
            fs::write(&p, plan.to_json()).map_err(io(&p))?;
        }
        // Renaming a directory over an empty one replaces it atomically.
        fs::rename(dir, &final_dir).map_err(io(&final_dir))?;
        Ok(runs)
    });
    match result {
        Ok(runs) => Ok((final_dir, runs)),
        Err(e) => {
            let _ = fs::remove_dir_all(dir);
            let _ = fs::remove_dir(&final_dir); // only while still the empty claim
            Err(e)
        }
    }
}

/// Create `root/<base>`, or `<base><sep>2`, `<base><sep>3`, … when taken; the directory and
/// its name. `create_dir` fails on an existing path, which makes the claim atomic.
fn create_unique(root: &Path, base: &str, sep: &str) -> Result<(PathBuf, String), RenderError> {
    const MAX_TRIES: u32 = 1000;
    for n in 1..=MAX_TRIES {
        let name = if n == 1 {
            base.to_string()
        } else {
            format!("{base}{sep}{n}")
        };
        let dir = root.join(&name);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok((dir, name)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(&dir)(e)),
        }
    }
    Err(RenderError::Exists(root.join(base), MAX_TRIES))
}

fn write_all(
    ws: &Workspace,
    staging: &Path,
    final_dir: &Path,
    install_dir: &Path,
    interrupted: &dyn Fn() -> bool,
) -> Result<Vec<WrittenRun>, RenderError> {
    let mut written = Vec::with_capacity(ws.runs.len());
    for run in &ws.runs {
        if interrupted() {
            return Err(RenderError::Interrupted);
        }
        let rel = run.relative_dir();
        let run_dir = final_dir.join(&rel);
        let files = render_run(&ws.system, run, &run_dir, install_dir, false)?;
        let dir = staging.join(&rel);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut all = vec![
            (job_file(&ws.system), &files.sbatch, false),
            (LAUNCH_FILE, &files.launch, true),
            (ROLES_FILE, &files.roles, false),
            (RECORD_FILE, &files.record, false),
        ];
        if let Some(c) = &files.dynamo_config {
            all.push((CONFIG_FILE, c, false));
        }
        all.extend(files.extra.iter().map(|(n, t)| (*n, t, false)));
        for (file, text, exec) in all {
            let p = dir.join(file);
            fs::write(&p, text).map_err(io(&p))?;
            if exec {
                set_executable(&p)?;
            }
        }
        written.push(WrittenRun {
            id: run.id.clone(),
            test_name: run.test_name.clone(),
            iteration: run.iteration,
            step: run.step,
            sbatch: run_dir.join(job_file(&ws.system)),
            run_dir,
            params: run.params.clone(),
            dependencies: run.dependencies.clone(),
            num_nodes: run.topology.num_nodes,
            prefill: run.topology.prefill,
            decode: run.topology.decode,
            generation: run.test.generation(),
        });
    }
    let index = serde_json::to_string_pretty(&written).unwrap_or_default() + "\n";
    let p = staging.join("runs.json");
    fs::write(&p, index).map_err(io(&p))?;
    Ok(written)
}

#[cfg(unix)]
fn set_executable(p: &Path) -> Result<(), RenderError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).map_err(io(p))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result<(), RenderError> {
    Ok(())
}

/// A scenario written to disk: where, which runs, and the validation warnings.
#[derive(Debug, Serialize)]
pub struct Prepared {
    pub results_dir: PathBuf,
    pub runs: Vec<WrittenRun>,
    pub warnings: Vec<crate::config::Diagnostic>,
    /// The plan's summary line (the whole plan is `plan.json` in the results directory).
    pub plan_summary: String,
}

/// Validate the three inputs and write the scenario's results tree (what `dry-run` does and
/// what `run` submits). `output_root` defaults to the system's `output_path`; relative paths
/// are taken from the current directory, as CloudAI does.
pub fn prepare(
    system: &Path,
    tests: &[PathBuf],
    scenario: &Path,
    output_root: Option<&Path>,
    timestamp: &str,
    checks: crate::config::Checks,
    interrupted: &dyn Fn() -> bool,
) -> crate::Result<Prepared> {
    let ws = crate::config::load_workspace(system, tests, scenario, checks)?;
    write_prepared(ws, output_root, timestamp, interrupted)
}

/// Write a loaded workspace's results tree with its plan (see [`write_scenario`]).
fn write_prepared(
    ws: Workspace,
    output_root: Option<&Path>,
    timestamp: &str,
    interrupted: &dyn Fn() -> bool,
) -> crate::Result<Prepared> {
    let absolute = |p: &Path| std::path::absolute(p).map_err(io(p));
    let root = absolute(output_root.unwrap_or_else(|| Path::new(&ws.system.output_path)))?;
    let install = absolute(Path::new(&ws.system.install_path))?;
    // Earlier results are read before this run's directory exists.
    let plan = crate::plan::plan_workspace(&ws, Some(&root));
    let (results_dir, runs) =
        write_scenario(&ws, &root, timestamp, &install, Some(&plan), interrupted)?;
    Ok(Prepared {
        results_dir,
        runs,
        warnings: ws.warnings,
        plan_summary: plan.summary(),
    })
}

/// `prepare` for `cloudaix rehearse`: the user's scenario rehearsed on `target` (a system
/// file, e.g. the local Slurm cluster; default: this machine, standalone), see
/// [`crate::rehearse`]. Host paths of the user's cluster (HF_HOME) are not checked here.
#[allow(clippy::too_many_arguments)]
pub fn prepare_rehearsal(
    system: &Path,
    tests: &[PathBuf],
    scenario: &Path,
    target: Option<&Path>,
    output_root: Option<&Path>,
    timestamp: &str,
    rehearsal: &crate::rehearse::Rehearsal,
    sample: Option<usize>,
    max_runs: u64,
    interrupted: &dyn Fn() -> bool,
) -> crate::Result<Prepared> {
    let checks = crate::config::Checks {
        host_paths: false,
        max_runs,
    };
    let ws = crate::config::load_workspace(system, tests, scenario, checks)?;
    let target = match target {
        Some(path) => crate::config::load_system(path)?,
        None => SystemConfig::standalone(
            format!("rehearsal-{}", ws.system.name),
            rehearsal.stack.clone(),
            ws.system.output_path.clone(),
        ),
    };
    let ws = crate::rehearse::rehearse_workspace(ws, target, rehearsal, sample);
    write_prepared(ws, output_root, timestamp, interrupted)
}

/// One run described by its parts rather than by a scenario: what a host framework that
/// builds its own test runs (CloudAI) hands over. Sweeps must already be pinned.
pub struct SingleRun<'a> {
    pub system: &'a crate::config::SystemConfig,
    pub test: &'a AnyTest,
    pub id: &'a str,
    pub iteration: u32,
    pub step: Option<usize>,
    pub num_nodes: Option<u32>,
    pub nodes: &'a [String],
    pub time_limit: Option<&'a str>,
    /// See `sbatch::Paths::metadata_script`.
    pub metadata_script: bool,
}

/// Validate and render one run (no files written).
pub fn render_single(
    single: &SingleRun,
    run_dir: &Path,
    install_dir: &Path,
) -> crate::Result<(TestRun, RunFiles)> {
    let system = single.system;
    let mut test = single.test.clone();
    if let Some((name, _)) = test.sweep_slots().into_iter().find(|(_, s)| s.is_list()) {
        return Err(RenderError::Invalid {
            run: single.id.to_string(),
            source: ScriptError::UnpinnedSweep(name),
        }
        .into());
    }
    let topology = match &test {
        AnyTest::Seed(t) => crate::topology::plan(system, t, single.num_nodes, single.nodes),
        AnyTest::Current(t) => {
            crate::topology::plan_current(system, t, single.num_nodes, single.nodes)
        }
    }
    .map_err(|source| RenderError::Plan {
        run: single.id.to_string(),
        source,
    })?;
    let run = TestRun {
        id: single.id.to_string(),
        test_name: test.name().to_string(),
        iteration: single.iteration,
        step: single.step,
        params: indexmap::IndexMap::new(),
        test,
        time_limit: single.time_limit.map(str::to_string),
        dependencies: Vec::new(),
        topology,
        extra_srun_args: Vec::new(),
        exclude_nodes: Vec::new(),
    };
    let files = render_run(system, &run, run_dir, install_dir, single.metadata_script)?;
    Ok((run, files))
}
