"""The standalone scheduler end to end: `cloudaix run` on a `scheduler = "standalone"` system runs
every node role as a local process (no Slurm) with the real Dynamo frontend and mocker, etcd,
NATS, genai-perf and aiperf from /opt/cloudaix-stack (installed by .ci/cluster/pystack). Also
its failure paths: a dying worker, Ctrl-C, and the rules it applies (ports, GPU split).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LONG_RUN, wait_for

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs import _core
from cloudai_dynamo_rs.runner.standalone import free_ports, machine_gpus

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "conf" / "local"
SYSTEM = LOCAL / "system" / "standalone.toml"
STACK = Path("/opt/cloudaix-stack/bin")

needs_stack = pytest.mark.skipif(
    not (STACK / "dynamo-python").exists(),
    reason="Python stack not set up (.ci/cluster/pystack)",
)


def cloudaix(*args: str) -> list[str]:
    return [sys.executable, "-m", "cloudai_dynamo_rs.cli", *args]


def run_args(scenario: Path, out: Path, tests: Path = LOCAL / "test") -> list[str]:
    return [
        "run",
        "--system-config",
        str(SYSTEM),
        "--tests-dir",
        str(tests),
        "--test-scenario",
        str(scenario),
        "--output-dir",
        str(out),
    ]


def status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def processes_of(path: Path) -> list[str]:
    """Processes whose command line or environment mentions ``path`` (i.e. of that run)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            text = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if str(path).encode() in text and state != "Z":
            found.append(proc.name)
    return found


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- rules (no processes) ------------------------------------------------------------------


def test_system_accepts_cloudais_standalone_fields_and_rejects_slurm_ones(tmp_path: Path) -> None:
    ok = _core.load_system_str(
        'name = "s"\nscheduler = "standalone"\ninstall_path = "i"\noutput_path = "o"\n'
        'hf_home_path = "h"\nmonitor_interval = 2\n[global_env_vars]\nA = "1"\n'
    )
    assert (ok["scheduler"], ok["monitor_interval"], ok["global_env_vars"]) == (
        "standalone",
        2,
        {"A": "1"},
    )
    with pytest.raises(_core.ConfigError) as err:
        _core.load_system_str(
            'name = "s"\nscheduler = "standalone"\ninstall_path = "i"\noutput_path = "o"\n'
            'default_partition = "batch"\n',
            "sys.toml",
        )
    (e,) = err.value.errors
    assert (e["file"], e["line"], e["path"]) == ("sys.toml", 5, "default_partition")
    assert "unknown field" in e["message"]


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6
    for port in ports:
        with socket.socket() as s:
            s.bind(("", port))


def test_gpus_come_from_cuda_visible_devices() -> None:
    assert machine_gpus({"CUDA_VISIBLE_DEVICES": "0,1, 3"}) == ["0", "1", "3"]
    assert machine_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []


def test_plan_splits_gpus_and_refuses_too_few() -> None:
    slots = _core.standalone_port_slots(1, 1)
    assert slots == ["frontend", "etcd", "etcd_peer", "nats", "worker1", "worker2"]
    plan = _core.standalone_plan(
        1, 1, gpus=["0", "1", "2"], ports=[1, 2, 3, 4, 5, 6], job_id="j", time_limit="00:05:00"
    )
    envs = [p["env"] for p in plan["processes"]]
    assert [e.get("CUDA_VISIBLE_DEVICES") for e in envs] == [None, "0", "1"]
    assert [e.get("CLOUDAIX_LOCAL_WORKER_PORT") for e in envs] == [None, "5", "6"]
    assert plan["time_limit_seconds"] == 300
    with pytest.raises(_core.RenderError, match="2 workers need at least one GPU each"):
        _core.standalone_plan(1, 1, gpus=["0"], ports=[1, 2, 3, 4, 5, 6], job_id="j")


def test_dry_run_writes_a_job_script_that_runs_the_same_launch_script(tmp_path: Path) -> None:
    proc = subprocess.run(
        cloudaix(
            "dry-run",
            *run_args(LOCAL / "test_scenario" / "mocker_genai_perf.toml", tmp_path)[1:],
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = [p.parent for p in tmp_path.glob("*/1p1d/0/run.sh")]
    assert not (run_dir / "cloudai_sbatch_script.sh").exists()
    job = (run_dir / "standalone_job.sh").read_text()
    assert "export HF_HOME=/opt/cloudaix-stack/tiny-model\n" in job
    assert job.endswith(f"exec bash {run_dir}/run.sh\n")


# -- end to end ----------------------------------------------------------------------------


@needs_stack
def test_both_load_generators_complete_side_by_side_on_their_own_ports(tmp_path: Path) -> None:
    # Two jobs at once on one machine: only distinct ports let both work. GPUs are "0,1":
    # the mocker ignores them, the plan must still give each worker its own.
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0,1"}
    proc = subprocess.run(
        cloudaix(
            *run_args(LOCAL / "test_scenario" / "mocker_both.toml", tmp_path),
            "--max-parallel",
            "2",
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    dirs = sorted(p.parent for p in tmp_path.glob("*/*/0/standalone_job.sh"))
    assert [d.parent.name for d in dirs] == ["aiperf", "genai_perf"]
    ports = []
    for d in dirs:
        st = status(d)
        assert (st["status"], st["slurm_state"]) == ("completed", "COMPLETED")
        assert cdr.get_metric(d, "Request Count") == 20
        assert cdr.get_metric(d, "default") > 0
        roles = sorted(line.split()[2] for line in (d / "node_roles.log").read_text().splitlines())
        assert roles == ["decode", "frontend", "prefill"]
        plan = json.loads((d / "standalone_plan.json").read_text())
        ports += list(plan["ports"].values())
        envs = [p["env"] for p in plan["processes"]]
        assert [e.get("CUDA_VISIBLE_DEVICES") for e in envs] == [None, "0", "1"]
        assert processes_of(d) == []
    assert len(set(ports)) == len(ports) == 12
    (results_dir,) = {d.parents[1] for d in dirs}
    assert "completed" in (results_dir / "summary.csv").read_text()
    assert (results_dir / "report.html").is_file()


FRONTEND = STACK / "dynamo-python"
DYING_DECODE = f"""
name = "dying_decode"
description = "a decode worker that dies"
test_template_name = "AIDynamo"
[cmd_args]
docker_image_url = "unused"
served_model_name = "tiny"
sleep_seconds = 60
  [cmd_args.dynamo.frontend]
  cmd = '{FRONTEND} -m dynamo.frontend --http-port "$CLOUDAIX_FRONTEND_PORT"'
  [cmd_args.dynamo.prefill_worker]
  num_nodes = 0
  [cmd_args.dynamo.decode_worker]
  num_nodes = 1
  cmd = 'sleep 2; echo "decode: CUDA out of memory" >&2; exit 3'
  [cmd_args.genai_perf]
  cmd = "/opt/cloudaix-stack/bin/genai-perf profile"
[extra_env_vars]
HF_HOME = "/opt/cloudaix-stack/tiny-model"
"""


@needs_stack
def test_dying_worker_fails_the_run_with_its_cause(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    write(tests / "dying.toml", DYING_DECODE)
    scenario = write(
        tmp_path / "s.toml", 'name = "dying"\n[[Tests]]\nid = "d"\ntest_name = "dying_decode"\n'
    )
    proc = subprocess.run(
        cloudaix(*run_args(scenario, tmp_path / "out", tests)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (run_dir,) = list((tmp_path / "out").glob("dying_*/d/0"))
    st = status(run_dir)
    assert (st["status"], st["slurm_state"]) == ("failed", "FAILED")
    host = socket.gethostname()
    assert st["cause"] == (
        f"decode worker on node 1 (host {host}, process decode) exited with code 3: "
        "decode: CUDA out of memory"
    )
    assert processes_of(run_dir) == []


@needs_stack
def test_ctrl_c_exits_130_and_leaves_no_process(tmp_path: Path) -> None:
    scenario = write(tmp_path / "long.toml", LONG_RUN)
    proc = subprocess.Popen(
        cloudaix(*run_args(scenario, tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    def loading() -> bool:
        out = list(tmp_path.glob("long_*/long/0/stdout.txt"))
        return bool(out) and "start genai-perf" in out[0].read_text(errors="replace")

    wait_for(loading, 120, "load")
    (run_dir,) = list(tmp_path.glob("long_*/long/0"))
    assert len(processes_of(run_dir)) >= 6  # job, 3 nodes, etcd, nats, frontend, workers, load
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert status(run_dir)["status"] == "cancelled"
    assert processes_of(run_dir) == []
