"""`run` through CloudAI on the local Slurm cluster (.ci/cluster/up, Dynamo's mocker engine),
as a CloudAI user runs it: `install`, then `run`, with CloudAI's own system schema
(conf/local/cloudai/system.toml) and the test-level bare-metal setting."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cloudai_cli import CLUSTER_BIN, LONG_RUN, cloudaix, results_dir, wait_for

import cloudai_dynamo_rs as cdr

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "conf" / "local"
SYSTEM = LOCAL / "cloudai" / "system.toml"


@pytest.fixture(autouse=True)
def _cluster() -> None:
    # Not a skip: without the cluster these tests fail, like the rest of .ci/cloudai.
    assert (CLUSTER_BIN / "sbatch").exists(), "local Slurm cluster not up (.ci/cluster/up)"


def _workspace(tmp_path: Path, scenario: str, **test_edits: str) -> tuple[Path, Path]:
    tests = tmp_path / "test"
    # Both schema generations side by side, as in the repository.
    shutil.copytree(LOCAL / "test", tests)
    test = tests / "mocker_genai_perf.toml"
    text = test.read_text()
    for old, new in test_edits.items():
        assert old in text, old
        text = text.replace(old, new)
    test.write_text(text)
    (tmp_path / "scenario.toml").write_text(scenario)
    return tests, tmp_path / "scenario.toml"


def _install_and_run(
    tmp_path: Path, tests: Path, scenario: Path, **kw
) -> subprocess.CompletedProcess:
    done = cloudaix(tmp_path, "install", SYSTEM, tests, scenario)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "install" / "slurm-metadata.sh").is_file()  # CloudAI installed it
    kw.setdefault("timeout", 900)  # jobs of other users of the cluster may queue ours
    return cloudaix(
        tmp_path, "run", SYSTEM, tests, scenario, "--output-dir", str(tmp_path / "out"), **kw
    )


BARE_METAL = {"[cmd_args]\n": '[cmd_args]\ncontainer_runtime = "none"\n'}

SWEEP = """
name = "sweep"
[[Tests]]
id = "1p1d"
test_name = "mocker_1p1d_genai_perf"
time_limit = "00:05:00"
"""


def test_dse_sweep_runs_bare_metal_and_observes_our_results(tmp_path: Path) -> None:
    """Two cases (concurrency 1 and 2) run by CloudAI's DSE grid search; each completes, and
    CloudAI's observation of each step is the throughput in that step's results."""
    tests, scenario = _workspace(
        tmp_path, SWEEP, **BARE_METAL, **{"concurrency = 2": "concurrency = [1, 2]"}
    )
    done = _install_and_run(tmp_path, tests, scenario)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    results = results_dir(tmp_path / "out")
    steps = sorted(p for p in (results / "1p1d" / "0").iterdir() if p.is_dir())
    assert [p.name for p in steps] == ["1", "2"]
    for step, concurrency in zip(steps, (1, 2), strict=True):
        sbatch = (step / "cloudai_sbatch_script.sh").read_text()
        assert "--container-image" not in sbatch  # bare metal, asked for in the test file
        words = (step / "run.sh").read_text().split()
        assert words[words.index("--concurrency") + 1] == str(concurrency)
        status = json.loads((step / "status.json").read_text())
        assert (status["status"], status["slurm_state"]) == ("completed", "COMPLETED")
        # CloudAI's metadata step ran on each of the 3 nodes (item 6).
        metadata = sorted(p.name for p in (step / "metadata").glob("node-*.toml"))
        assert metadata == ["node-node1.toml", "node-node2.toml", "node-node3.toml"]
        assert "[system]" in (step / "metadata" / "node-node1.toml").read_text()
    # CloudAI's observations are read from our results (its trajectory, one row per step).
    with (results / "1p1d" / "0" / "trajectory.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [1, 2]
    for row, step in zip(rows, steps, strict=True):
        observed = float(row["observation"].strip("[]"))
        assert observed == pytest.approx(cdr.get_metric(step, "default"))
        assert observed > 0
    # The embedded engine's outputs, from CloudAI's report step (item 10).
    with (results / "summary.csv").open(newline="") as f:
        summary = list(csv.DictReader(f))
    assert [(r["step"], r["status"]) for r in summary] == [("1", "completed"), ("2", "completed")]
    html = (results / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3


def _pids(pattern: str, run_root: Path) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    mine = []
    for pid in found.split():
        try:
            environ = Path(f"/proc/{pid}/environ").read_text(errors="replace")
        except OSError:
            continue
        if str(run_root) in environ:
            mine.append(int(pid))
    return mine


def test_a_dying_worker_is_reported_failed_with_its_cause(tmp_path: Path) -> None:
    """Pyxis mode (the cluster's pyxis stand-in runs on the host); the decode worker is killed
    once the load generator runs: CloudAI reports the job failed with our cause."""
    tests, scenario = _workspace(tmp_path, LONG_RUN)
    out = tmp_path / "out"
    done = cloudaix(tmp_path, "install", SYSTEM, tests, scenario)
    assert done.returncode == 0, done.stdout + done.stderr
    env = {k: v for k, v in os.environ.items() if k != "CLOUDAIX_ENGINE"}
    env["PATH"] = f"{CLUSTER_BIN}:{env['PATH']}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudai_dynamo_rs.engine", "--engine", "cloudai", "run",
         "--system-config", str(SYSTEM), "--tests-dir", str(tests),
         "--test-scenario", str(scenario), "--output-dir", str(out)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        # The job may queue behind others' on the shared cluster.
        wait_for(
            lambda: (
                proc.poll() is not None
                or bool(_pids("genai-perf", out) and _pids("disaggregation-mode decode", out))
            ),
            600,
            "the load generator",
        )
        assert proc.poll() is None, proc.communicate()[0]
        for pid in _pids("disaggregation-mode decode", out):
            os.kill(pid, signal.SIGKILL)
        log, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    run_dir = results_dir(out) / "long" / "0"
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "failed"
    assert status["cause"].startswith("decode worker on node")
    # CloudAI's own message carries our cause.
    assert f"for test long failed: {status['cause']}" in log
    with (results_dir(out) / "summary.csv").open(newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["status"], row["cause"]) == ("failed", status["cause"])


def test_a_current_schema_test_runs_through_cloudai(tmp_path: Path) -> None:
    """conf/local/test/current_mocker.toml (CloudAI main's schema: mocker backend, 1 prefill +
    1 decode, two aiperf phases) run by CloudAI, through the fake pyxis, to completion."""
    tests, scenario = _workspace(
        tmp_path,
        'name = "cur"\n[[Tests]]\nid = "disagg"\ntest_name = "current_mocker"\n'
        'time_limit = "00:05:00"\n',
    )
    done = _install_and_run(tmp_path, tests, scenario)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = results_dir(tmp_path / "out") / "disagg" / "0"
    status = json.loads((run_dir / "status.json").read_text())
    assert (status["status"], status["slurm_state"]) == ("completed", "COMPLETED")
    assert (run_dir / "success-marker.txt").is_file()  # CloudAI main's marker, current schema
    # The two phases of the file (round_1: concurrency 2, round_2: 4), each with its export.
    for phase in ("round_1", "round_2"):
        export = run_dir / "aiperf_artifacts" / phase / "profile_export_aiperf.csv"
        assert cdr.get_metric(export, "Request Throughput") > 0, phase
