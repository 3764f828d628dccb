//! The current schema's job steps around the benchmark, as CloudAI main runs them
//! (`_gen_startup_srun_command`, `_gen_dcgm_launcher_block` in its
//! `slurm_command_gen_strategy.py`): `startup_cmd` once per node before the launch script
//! (its own image, or the host), and a DCGM exporter per node beside the whole job, checked
//! reachable before the benchmark starts and stopped after it. A step that fails writes the
//! run's failure marker with its cause, so the run's status says what went wrong.

use std::fmt::Write;

use super::ScriptError;
use super::current::FAILURE_MARKER;
use super::quote::sh;
use crate::config::gen2::TestDefinition;

/// Where the startup command's per-node manifests go (`runtime/<host>.json`), and the
/// variable that names the node's one (CloudAI main's `CLOUDAI_RUNTIME_FILE`).
pub const RUNTIME_DIR: &str = "runtime";
pub const RUNTIME_FILE_VAR: &str = "CLOUDAI_RUNTIME_FILE";
/// The DCGM exporter's step name, as CloudAI names it.
pub const DCGM_STEP_NAME: &str = "cloudai-dcgm-exporter";
/// The exporters' URLs, one per line (what aiperf's server metrics can read).
pub const DCGM_ENDPOINTS_FILE: &str = "dcgm_endpoints.txt";
/// Seconds each node's exporter has to answer, unless DCGM_EXPORTER_STARTUP_TIMEOUT says.
const DCGM_STARTUP_TIMEOUT: u32 = 60;

/// How one auxiliary step is started: `srun` and the options every step shares, then the
/// container options for an image (none on bare metal, or when the step has no image).
pub struct StepPrefix<'a> {
    pub srun: &'a [String],
    pub container: &'a dyn Fn(&str) -> Result<Vec<String>, ScriptError>,
    pub extra: &'a [String],
    pub pyxis: bool,
    pub nodes: u32,
    pub run_dir: &'a str,
}

impl StepPrefix<'_> {
    fn words(&self, image: Option<&str>) -> Result<Vec<String>, ScriptError> {
        let mut w = self.srun.to_vec();
        if let (true, Some(image)) = (self.pyxis, image) {
            w.extend((self.container)(image)?);
        }
        w.extend(self.extra.iter().cloned());
        w.extend([
            format!("--nodes={}", self.nodes),
            format!("--ntasks={}", self.nodes),
            "--ntasks-per-node=1".into(),
        ]);
        Ok(w)
    }
}

/// Lines before the launch step (DCGM exporter, then `startup_cmd`) and after it.
pub struct AuxSteps {
    pub before: String,
    pub after: String,
}

pub fn render(test: &TestDefinition, p: &StepPrefix) -> Result<AuxSteps, ScriptError> {
    let mut before = String::new();
    let mut after = String::new();
    let marker = sh(&format!("{}/{FAILURE_MARKER}", p.run_dir));
    let dcgm = &test.cmd_args.dynamo.dcgm_exporter;
    if dcgm.enabled {
        let mut w = p.words(Some(&dcgm.docker_image_url))?;
        // Beside the launch step on the same nodes and GPUs.
        w.extend([
            "--overlap".into(),
            format!("--job-name={DCGM_STEP_NAME}"),
            format!("--output={}/dcgm-node-%n-stdout.txt", p.run_dir),
            format!("--error={}/dcgm-node-%n-stderr.txt", p.run_dir),
            // Run directly (no shell): the exporter's image is distroless.
            "dcgm-exporter".into(),
        ]);
        let port = dcgm.port;
        let _ = writeln!(
            before,
            "\n# DCGM exporter on every node (dynamo.dcgm_exporter), for the whole job."
        );
        let _ = write!(before, "DCGM_EXPORTER_LISTEN=:{port} ");
        super::sbatch::push_command(&mut before, &w);
        before.pop();
        before.push_str(" &\n");
        let _ = write!(
            before,
            r#"DCGM_EXPORTER_SRUN_PID=$!
stop_dcgm_exporter() {{
  kill -TERM "$DCGM_EXPORTER_SRUN_PID" 2>/dev/null
  wait "$DCGM_EXPORTER_SRUN_PID" 2>/dev/null
}}
dcgm_failed() {{
  {{
    echo "role=dcgm_exporter process=dcgm-exporter exit=1"
    echo "$1"
    tail -q -n 5 {dir}/dcgm-node-*-stderr.txt 2>/dev/null
  }} > {marker}
  echo "cloudaix: $1"
  stop_dcgm_exporter
  exit 1
}}
dcgm_answers() {{
  if command -v curl > /dev/null; then
    curl -fsS --max-time 2 -o /dev/null "$1" 2>/dev/null
  else
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null
  fi
}}
DCGM_EXPORTER_STARTUP_TIMEOUT=${{DCGM_EXPORTER_STARTUP_TIMEOUT:-{DCGM_STARTUP_TIMEOUT}}}
: > {endpoints}
for node in $(scontrol show hostnames "$SLURM_JOB_NODELIST"); do
  url="http://$node:{port}/metrics"
  echo "$url" >> {endpoints}
  deadline=$((SECONDS + DCGM_EXPORTER_STARTUP_TIMEOUT))
  until dcgm_answers "$url"; do
    kill -0 "$DCGM_EXPORTER_SRUN_PID" 2>/dev/null ||
      dcgm_failed "DCGM exporter step ended before $url answered"
    [ "$SECONDS" -ge "$deadline" ] &&
      dcgm_failed "DCGM exporter metrics endpoint unreachable after ${{DCGM_EXPORTER_STARTUP_TIMEOUT}}s: $url"
    sleep 1
  done
  echo "cloudaix: DCGM exporter reachable: $url"
done
"#,
            dir = sh(p.run_dir),
            endpoints = sh(&format!("{}/{DCGM_ENDPOINTS_FILE}", p.run_dir)),
        );
        after.push_str("stop_dcgm_exporter\n");
    }
    if let Some(cmd) = &test.cmd_args.startup_cmd {
        let runtime = format!("{}/{RUNTIME_DIR}", p.run_dir);
        let mut w = p.words(test.cmd_args.startup_cmd_docker_image.as_deref())?;
        // The user's command is shell by contract; the manifest path is data.
        let script = format!(
            "export {RUNTIME_FILE_VAR}={}/\"${{SLURMD_NODENAME:-$(hostname)}}.json\"\n{cmd}",
            sh(&runtime)
        );
        w.extend([
            "--kill-on-bad-exit=1".into(),
            format!("--output={}/startup-node-%n-stdout.txt", p.run_dir),
            format!("--error={}/startup-node-%n-stderr.txt", p.run_dir),
            "bash".into(),
            "-c".into(),
            script,
        ]);
        let _ = writeln!(
            before,
            "\n# startup_cmd on every node before the benchmark; it may leave a manifest in\n\
             # {RUNTIME_DIR}/<host>.json that the launch script applies to config files."
        );
        let _ = writeln!(before, "mkdir -p {}", sh(&runtime));
        super::sbatch::push_command(&mut before, &w);
        let _ = write!(
            before,
            r#"rc=$?
if [ "$rc" -ne 0 ]; then
  {{
    echo "role=startup_cmd process=startup_cmd exit=$rc"
    tail -q -n 5 {dir}/startup-node-*-stderr.txt 2>/dev/null
  }} > {marker}
  echo "cloudaix: startup_cmd failed with $rc"
{stop}  exit 1
fi
"#,
            dir = sh(p.run_dir),
            stop = if dcgm.enabled {
                "  stop_dcgm_exporter\n"
            } else {
                ""
            },
        );
    }
    Ok(AuxSteps { before, after })
}
