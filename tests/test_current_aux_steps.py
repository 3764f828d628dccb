"""CloudAI main's `startup_cmd` and DCGM exporter (`dynamo.dcgm_exporter`) in the generated
scripts, checked by executing them with stand-ins for srun, scontrol and the exporter:

* the exporter runs as its own overlapping step in its image, is reachable on every node
  before anything else starts, and is stopped when the job's step ends; unreachable, the run
  fails with that cause and the benchmark never starts;
* `startup_cmd` runs once per node in its own image before the benchmark, with
  `CLOUDAI_RUNTIME_FILE` naming the node's manifest; a failure fails the run with its cause;
* the launch script applies the node's manifest (`runtime/<host>.json`) to the files its
  variables name; a bad manifest fails the run with the reason;
* the user's strings stay data (the payloads of tests/test_quoting.py never run).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from test_quoting import free_port, payload, pwned, stub, toml_str

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs.runner.status import failure_cause

ROOT = Path(__file__).resolve().parent.parent

# A stand-in srun: records each step's arguments (one file per step, NUL-separated); runs
# the DCGM step's and the startup step's command as the node "n1" would; the launch step only
# records.
SRUN = r"""
args=("$@") out=/dev/stdout err=/dev/stderr
n=$(ls steps 2>/dev/null | wc -l)
printf "%s\0" "$@" > "steps/$n"
while [ "${#args[@]}" -gt 0 ] && [ "${args[0]#--}" != "${args[0]}" ]; do
  case ${args[0]} in
    --output=*) out=${args[0]#--output=} ;;
    --error=*) err=${args[0]#--error=} ;;
  esac
  args=("${args[@]:1}")
done
out=${out//%n/0} err=${err//%n/0}
case " $* " in
  *" --job-name=cloudai-dcgm-exporter "*) exec "${args[@]}" > "$out" 2> "$err" ;;
esac
if [ "${args[0]} ${args[1]}" = "bash -c" ]; then
  SLURMD_NODENAME=n1 exec "${args[@]}" > "$out" 2> "$err"
fi
"""

# Serves /metrics on $DCGM_EXPORTER_LISTEN (":PORT") until stopped; records its pid.
EXPORTER = (
    'echo $$ > "$EXPORTER_PID_FILE"; mkdir -p srv; : > srv/metrics; cd srv; exec '
    + sys.executable
    + ' -c "import http.server as h, os; '
    "p = int(os.environ['DCGM_EXPORTER_LISTEN'].split(':')[1]); "
    "h.ThreadingHTTPServer(('127.0.0.1', p), h.SimpleHTTPRequestHandler).serve_forever()\""
)


def write_inputs(tmp: Path, startup_cmd: str, dcgm_port: int) -> Path:
    """A pyxis system and a current-schema test with startup_cmd and the DCGM exporter;
    returns the run directory of its dry-run."""
    tests = tmp / "tests"
    tests.mkdir()
    text = (ROOT / "conf/local/test/current_mocker.toml").read_text()
    text = text.replace(
        'workloads = "aiperf.sh"\n',
        'workloads = "aiperf.sh"\n'
        f"startup_cmd = {toml_str(startup_cmd)}\n"
        f"startup_cmd_docker_image = {toml_str(payload('startup_image'))}\n",
    )
    text = text.replace(
        '  node-setup-cmd = "hostname"\n',
        '  node-setup-cmd = "hostname"\n'
        "    [cmd_args.dynamo.dcgm_exporter]\n"
        "    enabled = true\n"
        f"    port = {dcgm_port}\n"
        f"    docker-image-url = {toml_str(payload('dcgm_image'))}\n",
    )
    text = text.replace(
        "[extra_env_vars]\n",
        f'[extra_env_vars]\nPROBE_FILE = "{tmp}/probe.conf"\n',
    )
    (tests / "t.toml").write_text(text)
    (tmp / "system.toml").write_text(
        'name = "s"\nscheduler = "slurm"\n'
        f'install_path = "{tmp}/install"\noutput_path = "{tmp}/results"\n'
        'default_partition = "p"\ngpus_per_node = 8\n'
    )
    (tmp / "scenario.toml").write_text(
        f'name = "aux"\n[[Tests]]\nid = {toml_str("id" + payload("id", quotes=False))}\n'
        'test_name = "current_mocker"\n'
    )
    prepared = cdr.prepare(
        tmp / "system.toml",
        [tests / "t.toml"],
        tmp / "scenario.toml",
        timestamp="t",
        check_host_paths=False,
    )
    return Path(prepared["runs"][0]["run_dir"])


def run_sbatch(
    tmp: Path, run_dir: Path, exporter: str = EXPORTER, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    work, bin_dir = tmp / "work", tmp / "bin"
    (work / "steps").mkdir(parents=True)
    bin_dir.mkdir()
    stub(bin_dir, "srun", SRUN)
    stub(bin_dir, "scontrol", "echo 127.0.0.1")
    stub(bin_dir, "dcgm-exporter", exporter)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SLURM_JOB_NODELIST": "n1",
        "SLURM_JOB_ID": "1",
        "EXPORTER_PID_FILE": str(tmp / "exporter.pid"),
        **(extra_env or {}),
    }
    proc = subprocess.run(
        ["bash", str(run_dir / "cloudai_sbatch_script.sh")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    steps = [
        p.read_text().split("\0")[:-1]
        for p in sorted((work / "steps").iterdir(), key=lambda p: int(p.name))
    ]
    return proc, steps


def alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except ProcessLookupError:
        return False
    return True


MANIFEST_CMD = (
    'printf \'{"PROBE_FILE": {"@HOST@": "%s"}}\' "$SLURMD_NODENAME" > "$CLOUDAI_RUNTIME_FILE"'
)


def test_exporter_then_startup_then_the_benchmark(tmp_path: Path) -> None:
    port = free_port()
    run_dir = write_inputs(tmp_path, MANIFEST_CMD, port)
    proc, steps = run_sbatch(tmp_path, run_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(steps) == 3
    dcgm, startup, bench = steps
    # The exporter: its own image (pyxis), beside the job's step, run without a shell.
    assert f"--container-image={payload('dcgm_image')}" in dcgm
    assert "--overlap" in dcgm and dcgm[-1] == "dcgm-exporter"
    assert f"DCGM exporter reachable: http://127.0.0.1:{port}/metrics" in proc.stdout
    assert (run_dir / "dcgm_endpoints.txt").read_text() == f"http://127.0.0.1:{port}/metrics\n"
    # Stopped once the job's step ended.
    assert not alive(tmp_path / "exporter.pid")
    # startup_cmd: in its image, once per node, with the manifest path of the node.
    assert f"--container-image={payload('startup_image')}" in startup
    assert startup[-3:-1] == ["bash", "-c"]
    assert json.loads((run_dir / "runtime" / "n1.json").read_text()) == {
        "PROBE_FILE": {"@HOST@": "n1"}
    }
    # The benchmark in the test's image, last.
    assert bench[-1] == str(run_dir / "run.sh")
    assert "--container-image=nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.1.1" in bench
    assert not (run_dir / "failure-marker.txt").exists()
    # startup_cmd is shell by contract; every other field's payload stayed data.
    assert pwned(tmp_path) == []


def test_unreachable_exporter_fails_the_run_before_the_benchmark(tmp_path: Path) -> None:
    run_dir = write_inputs(tmp_path, "true", free_port())
    # An exporter that serves nothing: its step runs, its endpoint never answers.
    proc, steps = run_sbatch(
        tmp_path,
        run_dir,
        exporter='echo $$ > "$EXPORTER_PID_FILE"; exec sleep 60',
        extra_env={"DCGM_EXPORTER_STARTUP_TIMEOUT": "2"},
    )
    assert proc.returncode == 1
    assert len(steps) == 1  # neither startup nor the benchmark
    marker = (run_dir / "failure-marker.txt").read_text()
    assert failure_cause(marker).startswith(
        "dcgm exporter (process dcgm-exporter) exited with code 1: "
        "DCGM exporter metrics endpoint unreachable after 2s: http://127.0.0.1:"
    )
    assert not alive(tmp_path / "exporter.pid")


def test_failed_startup_cmd_fails_the_run_with_its_cause(tmp_path: Path) -> None:
    run_dir = write_inputs(tmp_path, "echo 'no license server' >&2; exit 3", free_port())
    proc, steps = run_sbatch(tmp_path, run_dir)
    assert proc.returncode == 1
    assert len(steps) == 2  # the exporter and startup_cmd; the benchmark never started
    marker = (run_dir / "failure-marker.txt").read_text()
    assert marker.splitlines()[0] == "role=startup_cmd process=startup_cmd exit=3"
    assert failure_cause(marker) == (
        "startup cmd (process startup_cmd) exited with code 3: no license server"
    )
    assert not alive(tmp_path / "exporter.pid")


def launch_as_prefill_node(tmp: Path, run_dir: Path) -> subprocess.CompletedProcess[str]:
    """run.sh as node 1 (prefill) with a stand-in scontrol; no etcd answers, so after the
    runtime configuration the node gives up waiting after CLOUDAIX_READY_TIMEOUT."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    stub(bin_dir, "scontrol", "echo n0; echo n1")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SLURM_NODEID": "1",
        "SLURMD_NODENAME": "n1",
        "SLURM_JOB_NODELIST": "n[0-1]",
        "SLURM_JOB_ID": "1",
        "CLOUDAIX_READY_TIMEOUT": "1",
        "PROBE_FILE": str(tmp / "probe.conf"),
        "TMPDIR": str(tmp),
    }
    return subprocess.run(
        ["bash", str(run_dir / "run.sh")],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_launch_script_applies_the_nodes_manifest(tmp_path: Path) -> None:
    run_dir = write_inputs(tmp_path, "true", free_port())
    (tmp_path / "probe.conf").write_text("host = @HOST@\nport = 1\n")
    (run_dir / "runtime").mkdir()
    (run_dir / "runtime" / "n1.json").write_text(json.dumps({"PROBE_FILE": {"@HOST@": "n1"}}))
    proc = launch_as_prefill_node(tmp_path, run_dir)
    localized = run_dir / "runtime" / "probe.n1.conf"
    assert localized.read_text() == "host = n1\nport = 1\n"
    assert f"runtime config: export PROBE_FILE={shlex.quote(str(localized))}" in proc.stdout
    # The node went on to wait for etcd (and gave up at the bound), not failed on the config.
    assert "not ready after 1s: etcd healthy" in (run_dir / "failure-marker.txt").read_text()


def test_bad_manifest_fails_the_node_with_the_reason(tmp_path: Path) -> None:
    run_dir = write_inputs(tmp_path, "true", free_port())
    (run_dir / "runtime").mkdir()
    (run_dir / "runtime" / "n1.json").write_text(json.dumps({"NOT_SET_ANYWHERE": {"a": "b"}}))
    proc = launch_as_prefill_node(tmp_path, run_dir)
    assert proc.returncode == 1
    marker = (run_dir / "failure-marker.txt").read_text()
    assert failure_cause(marker) == (
        "prefill worker on node 1 (host n1, process runtime-config) exited with code 1: "
        f"{run_dir}/runtime/n1.json: NOT_SET_ANYWHERE is not set on n1: no file to rewrite"
    )
