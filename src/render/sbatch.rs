//! `cloudai_sbatch_script.sh`: Slurm directives from the system and the scenario, the exported
//! environment, and one `srun` of the launch script on every node.

use std::fmt::Write;

use super::ScriptError;
use super::quote::{check_directive, directive, env_word, sbatch_line_error, sh};
use crate::config::{AnyTest, ContainerRuntime, SystemConfig, TestRun};

/// Paths on the submit host (= on the nodes: the file system is shared).
pub struct Paths<'a> {
    pub run_dir: &'a str,
    pub install_dir: &'a str,
    pub launch_script: &'a str,
    /// The host framework (CloudAI) installed its `slurm-metadata.sh` into `install_dir`: run
    /// it as CloudAI's own sbatch does, before the job's step.
    pub metadata_script: bool,
}

/// CloudAI's node metadata script, installed by CloudAI into its install directory.
pub const METADATA_SCRIPT: &str = "slurm-metadata.sh";

/// Where the results directory and the install directory appear inside the container, as in
/// CloudAI (the results directory is also mounted at its own path, which the scripts use).
pub const CONTAINER_RESULTS: &str = "/cloudai_run_results";
pub const CONTAINER_INSTALL: &str = "/cloudai_install";

/// Slurm job name: stable for the same run (no timestamp), safe for `#SBATCH`.
pub fn job_name(run: &TestRun) -> String {
    let mut name = format!("cloudaix.{}.{}", run.id, run.iteration);
    if let Some(step) = run.step {
        let _ = write!(name, ".{step}");
    }
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn reservation(words: &[String]) -> Option<&str> {
    words.iter().enumerate().find_map(|(i, w)| {
        if w == "--reservation" {
            words.get(i + 1).map(String::as_str)
        } else {
            w.strip_prefix("--reservation=")
        }
    })
}

/// The environment of the job, in a fixed order: system variables in file order (unless the
/// test sets them too), then the test's variables in file order.
pub fn environment(system: &SystemConfig, run: &TestRun) -> Vec<(String, String)> {
    let test_env = run.test.extra_env_vars();
    let mut env: Vec<(String, String)> = system
        .global_env_vars
        .iter()
        .filter(|(k, _)| !test_env.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(test_env.iter().map(|(k, v)| (k.clone(), v.value().clone())))
        .collect();
    // The current schema takes the cache from the system (CloudAI main's hf_home_path).
    if let (AnyTest::Current(_), Some(hf)) = (&run.test, run.test.effective_hf_home(system)) {
        if !env.iter().any(|(k, _)| k == "HF_HOME") {
            env.push(("HF_HOME".into(), hf.to_string()));
        }
    }
    env
}

fn container_mounts(
    system: &SystemConfig,
    run: &TestRun,
    paths: &Paths,
) -> Result<Vec<String>, ScriptError> {
    let mut mounts = vec![
        format!("{}:{CONTAINER_RESULTS}", paths.run_dir),
        format!("{0}:{0}", paths.run_dir),
        format!("{}:{CONTAINER_INSTALL}", paths.install_dir),
    ];
    if let Some(hf) = run.test.effective_hf_home(system) {
        mounts.push(format!("{hf}:{hf}"));
    }
    mounts.extend(run.test.extra_container_mounts().iter().cloned());
    if let Some(bad) = mounts.iter().find(|m| m.contains(',')) {
        return Err(ScriptError::MountComma(bad.clone()));
    }
    Ok(mounts)
}

/// pyxis' options for a step in `image`: the run's mounts, the home directory unless wanted.
fn container_flags(
    system: &SystemConfig,
    run: &TestRun,
    paths: &Paths,
    image: &str,
) -> Result<Vec<String>, ScriptError> {
    let mut flags = vec![
        format!("--container-image={image}"),
        format!(
            "--container-mounts={}",
            container_mounts(system, run, paths)?.join(",")
        ),
    ];
    if !system.container_mount_home {
        flags.push("--no-container-mount-home".into());
    }
    Ok(flags)
}

/// Write one command, one option per line for readability; values stay next to their option.
pub(super) fn push_command(out: &mut String, words: &[String]) {
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push_str(if w.starts_with("--") { " \\\n  " } else { " " });
        }
        out.push_str(&sh(w));
    }
    out.push('\n');
}

/// `words` as one shell command line, quoted as [`push_command`] writes them.
fn command_line(words: &[String]) -> String {
    words.iter().map(|w| sh(w)).collect::<Vec<_>>().join(" ")
}

/// Render the sbatch script of one test run, and its main `srun` (the job's step on every
/// node) as one command line: CloudAI's `gen_srun_command`, which it records as `full_cmd`.
pub fn render(
    system: &SystemConfig,
    run: &TestRun,
    paths: &Paths,
) -> Result<(String, String), ScriptError> {
    let topo = &run.topology;
    let n = topo.num_nodes;
    let mut d: Vec<String> = vec![
        format!("--job-name={}", job_name(run)),
        format!("--output={}/{}", paths.run_dir, super::JOB_STDOUT),
        format!("--error={}/{}", paths.run_dir, super::JOB_STDERR),
        format!("--partition={}", system.default_partition),
    ];
    if let Some(a) = &system.account {
        d.push(format!("--account={a}"));
    }
    if let Some(r) = reservation(&system.extra_srun_args) {
        d.push(format!("--reservation={r}"));
    }
    if topo.nodelist.is_empty() {
        d.push(format!("--nodes={n}"));
        if let Some(dist) = &system.distribution {
            d.push(format!("--distribution={dist}"));
        }
    } else {
        d.push(format!("--nodelist={}", topo.nodelist.join(",")));
        d.push(format!("--nodes={n}"));
    }
    if let Some(g) = system.gpus_per_node {
        d.push(format!("--gpus-per-node={g}"));
        d.push(format!("--gres=gpu:{g}"));
    }
    if let Some(t) = system.ntasks_per_node {
        d.push(format!("--ntasks-per-node={t}"));
    }
    if let Some(t) = &run.time_limit {
        d.push(format!("--time={t}"));
    }
    if !run.exclude_nodes.is_empty() {
        d.push(format!("--exclude={}", run.exclude_nodes.join(",")));
    }
    for line in &d {
        check_directive("sbatch option", line)?;
    }
    // The user's own lines are written as given (as CloudAI does): sbatch honours their quotes.
    for line in &system.extra_sbatch_args {
        if let Some(why) = sbatch_line_error(line) {
            return Err(ScriptError::SbatchLine {
                line: line.clone(),
                source: why,
            });
        }
    }

    let mut out = String::from("#!/bin/bash\n");
    let _ = writeln!(out, "# Generated by cloudai-dynamo-rs {}.", crate::VERSION);
    for line in &d {
        let _ = writeln!(out, "#SBATCH {}", directive(line));
    }
    for line in &system.extra_sbatch_args {
        let _ = writeln!(out, "#SBATCH {line}");
    }
    out.push_str("\nset -uo pipefail\n");
    out.push_str("SLURM_JOB_MASTER_NODE=\"$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)\"\n");
    out.push_str("export SLURM_JOB_MASTER_NODE\n");
    // Values are shell by contract, like CloudAI's unquoted `export K=V`, but one word each.
    for (k, v) in environment(system, run) {
        let word = env_word(&v).map_err(|source| ScriptError::EnvValue {
            name: k.clone(),
            source,
        })?;
        let _ = writeln!(out, "export {k}={word}");
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "echo \"cloudaix: job $SLURM_JOB_ID on $SLURM_JOB_NODELIST; roles by SLURM_NODEID:\""
    );
    let _ = writeln!(
        out,
        "cat {}",
        sh(&format!("{}/node_roles.txt", paths.run_dir))
    );

    let pyxis = run.container_runtime(system) == ContainerRuntime::Pyxis;
    // What every step of the job starts with (the job's own image and mounts come next).
    let step_base: Vec<String> = vec![
        "srun".into(),
        "--export=ALL".into(),
        format!("--mpi={}", system.mpi),
    ];
    let mut srun = step_base.clone();
    if pyxis {
        srun.extend(container_flags(
            system,
            run,
            paths,
            run.test.docker_image_url(),
        )?);
    }
    let extra: Vec<String> = system
        .extra_srun_args
        .iter()
        .chain(&run.extra_srun_args)
        .cloned()
        .collect();
    srun.extend(extra.iter().cloned());
    if paths.metadata_script {
        // CloudAI's job metadata step, as its SlurmCommandGenStrategy._metadata_cmd writes it
        // (13816b1a, 5b5c0f72): one task per node, one TOML per node. Its failure does not
        // end the job (no `set -e`), as in CloudAI's sbatch.
        let dir = format!("{}/metadata", paths.run_dir);
        let script_dir = if pyxis {
            CONTAINER_INSTALL
        } else {
            paths.install_dir
        };
        let _ = writeln!(out, "mkdir -p {}", sh(&dir));
        let mut metadata = srun.clone();
        metadata.extend([
            format!("--ntasks={n}"),
            "--ntasks-per-node=1".into(),
            format!("--output={dir}/node-%N.toml"),
            format!("--error={dir}/nodes.err"),
            "bash".into(),
            format!("{script_dir}/{METADATA_SCRIPT}"),
        ]);
        push_command(&mut out, &metadata);
    }
    let aux = match &run.test {
        AnyTest::Current(test) => {
            let container = |image: &str| -> Result<Vec<String>, ScriptError> {
                container_flags(system, run, paths, image)
            };
            Some(super::aux_steps::render(
                test,
                &super::aux_steps::StepPrefix {
                    srun: &step_base,
                    container: &container,
                    extra: &extra,
                    pyxis,
                    nodes: n,
                    run_dir: paths.run_dir,
                },
            )?)
        }
        AnyTest::Seed(_) => None,
    };
    if let Some(aux) = &aux {
        out.push_str(&aux.before);
        out.push('\n');
    }
    srun.extend([
        format!("--nodes={n}"),
        format!("--ntasks={n}"),
        "--ntasks-per-node=1".into(),
        // A node that fails ends the step on every node, so the job does not hang.
        "--kill-on-bad-exit=1".into(),
        "bash".into(),
        paths.launch_script.to_string(),
    ]);
    push_command(&mut out, &srun);
    out.push_str("rc=$?\necho \"cloudaix: srun exited with $rc\"\n");
    if let Some(aux) = &aux {
        out.push_str(&aux.after);
    }
    out.push_str("exit $rc\n");
    Ok((out, command_line(&srun)))
}
