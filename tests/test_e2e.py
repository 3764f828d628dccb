"""End to end, as a user runs it: `cloudaix run` on the real local Slurm cluster (started by
.ci/cluster/up) with the real Dynamo 1.6 frontend and mocker engine, etcd, NATS, genai-perf and
aiperf (installed by .ci/cluster/pystack). Also the failure paths: a worker killed mid-run,
scancel, an impossible node count, sbatch refusing a job, and Ctrl-C.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import LONG_RUN, wait_for

import cloudai_dynamo_rs as cdr

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "conf" / "local"
CLUSTER_BIN = Path("/run/cloudaix-cluster/bin")
STACK = Path("/opt/cloudaix-stack/bin")

pytestmark = pytest.mark.skipif(
    not (CLUSTER_BIN / "sbatch").exists() or not (STACK / "dynamo-python").exists(),
    reason="local Slurm cluster or Python stack not set up (.ci/cluster/up, .ci/cluster/pystack)",
)


def cloudaix_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "cloudai_dynamo_rs.cli", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{CLUSTER_BIN}:{os.environ['PATH']}"}


def scenario_args(system: str, scenario: Path, out: Path) -> list[str]:
    return [
        "run",
        "--system-config",
        str(LOCAL / "system" / system),
        "--tests-dir",
        str(LOCAL / "test"),
        "--test-scenario",
        str(scenario),
        "--output-dir",
        str(out),
    ]


def run(
    system: str, scenario: Path, out: Path, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        cloudaix_cmd(*scenario_args(system, scenario, out)),
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def run_dirs(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.glob("*/*/*/cloudai_sbatch_script.sh"))


def summary_rows(results_dir: Path) -> list[dict[str, str]]:
    with (results_dir / "summary.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def squeue_names() -> str:
    return subprocess.run(
        ["squeue", "-h", "-o", "%j %T"], env=env(), capture_output=True, text=True, check=True
    ).stdout


def scenario_file(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "scenario.toml"
    p.write_text(body)
    return p


@pytest.mark.parametrize("system", ["baremetal.toml", "pyxis.toml"])
def test_genai_perf_and_aiperf_runs_complete(system: str, tmp_path: Path) -> None:
    proc = run(system, LOCAL / "test_scenario" / "mocker_both.toml", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    dirs = run_dirs(tmp_path)
    assert [d.relative_to(d.parents[1]).as_posix() for d in dirs] == ["aiperf/0", "genai_perf/0"]
    for d in dirs:
        st = status(d)
        assert (st["status"], st["slurm_state"]) == ("completed", "COMPLETED")
        assert cdr.get_metric(d, "Request Count") == 20
        assert cdr.get_metric(d, "default") > 0
        roles = (d / "node_roles.log").read_text().split("\n")
        assert sorted(line.split()[2] for line in roles if line) == [
            "decode",
            "frontend",
            "prefill",
        ]
        # The seed's Step 4: `watch tail -n 4 *.txt` in the run directory shows every process,
        # named as CloudAI 13816b1a names them, and the load generator's output is in stdout.txt.
        logs = {p.name for p in d.glob("*.txt")}
        for process in ("etcd", "nats", "frontend", "prefill_{}_node1", "decode_{}_node2"):
            for stream in ("stdout", "stderr"):
                name = process.format(stream) if "{}" in process else f"{process}_{stream}"
                assert f"{name}.txt" in logs, (name, sorted(logs))
        assert not (d / "logs").exists()
        stdout = (d / "stdout.txt").read_text()
        assert LOADGEN_OUTPUT[d.parent.name] in stdout, stdout[-2000:]
    results_dir = dirs[0].parents[1]
    rows = summary_rows(results_dir)
    assert [(r["test_id"], r["status"]) for r in rows] == [
        ("genai_perf", "completed"),
        ("aiperf", "completed"),
    ]
    html = (results_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    sbatch = (dirs[0] / "cloudai_sbatch_script.sh").read_text()
    assert ("--container-image=" in sbatch) == (system == "pyxis.toml")


#: A line each load generator prints on its console at the end of a run.
LOADGEN_OUTPUT = {"genai_perf": "Request Count (count)", "aiperf": "Request Count (requests)"}


def start_long_run(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen(
        cloudaix_cmd(*scenario_args("baremetal.toml", scenario_file(tmp_path, LONG_RUN), tmp_path)),
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    wait_for(lambda: "start genai-perf" in _job_stdout(tmp_path), 120, "load")
    (run_dir,) = list(tmp_path.glob("long_*/long/0"))
    return proc, run_dir


def _job_stdout(out: Path) -> str:
    found = list(out.glob("long_*/long/0/stdout.txt"))
    return found[0].read_text(errors="replace") if found else ""


def test_killed_decode_worker_fails_the_run_and_names_it(tmp_path: Path) -> None:
    proc, run_dir = start_long_run(tmp_path)
    pids = subprocess.run(
        ["pgrep", "-f", "disaggregation-mode decode"], capture_output=True, text=True, check=False
    ).stdout.split()
    mine = [
        p for p in pids if str(run_dir) in Path(f"/proc/{p}/environ").read_text(errors="replace")
    ]
    assert mine, "decode worker of this job not found"
    for pid in mine:
        os.kill(int(pid), signal.SIGKILL)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    st = status(run_dir)
    assert st["status"] == "failed"
    marker = (run_dir / "failure.marker").read_text().splitlines()[0]
    # node = SLURM_NODEID, as in the dead worker's log names; host = its hostname.
    assert marker.startswith("role=decode node=2 host=node3 process=decode exit=")
    assert (run_dir / "decode_stdout_node2.txt").is_file()
    assert "decode" in st["cause"] and "node3" in st["cause"]
    (row,) = summary_rows(run_dir.parents[1])
    assert row["status"] == "failed"
    assert row["cause"].startswith(
        "decode worker on node 2 (host node3, process decode) exited with code"
    )


def test_scancel_is_recorded_as_cancelled(tmp_path: Path) -> None:
    proc, run_dir = start_long_run(tmp_path)
    subprocess.run(["scancel", "--name=cloudaix.long.0"], env=env(), check=True)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    assert status(run_dir)["status"] == "cancelled"


def test_ctrl_c_cancels_every_job(tmp_path: Path) -> None:
    proc, run_dir = start_long_run(tmp_path)
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "cloudaix.long" not in squeue_names()
    assert status(run_dir)["status"] == "cancelled"


def test_too_few_nodes_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    body = LONG_RUN.replace('time_limit = "00:05:00"', "num_nodes = 2")
    proc = run("baremetal.toml", scenario_file(tmp_path, body), tmp_path / "out", timeout=60)
    assert proc.returncode == 1
    assert (
        "expected at least 3 nodes (1 frontend + 1 prefill + 1 decode), found num_nodes = 2"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_sbatch_refusal_is_reported_with_slurms_message(tmp_path: Path) -> None:
    body = LONG_RUN + "  [Tests.cmd_args.dynamo.prefill_worker]\n  num_nodes = 5\n"
    proc = run("baremetal.toml", scenario_file(tmp_path, body), tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (run_dir,) = run_dirs(tmp_path)
    st = status(run_dir)
    assert st["status"] == "not_submitted"
    assert "node" in st["cause"].lower()
