"""Run CloudAI's own CLI through `cloudaix --engine cloudai` in a subprocess (CloudAI
reconfigures logging process-wide, so never in the test process)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

CLUSTER_BIN = Path("/run/cloudaix-cluster/bin")


def _tests_conftest():
    # tests/conftest.py shares helpers as `from conftest import …`; here `conftest` is this
    # directory's, so load that file under its own name.
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("cloudaix_tests_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_shared = _tests_conftest()
LONG_RUN: str = _shared.LONG_RUN  # a scenario whose load lasts minutes
wait_for = _shared.wait_for


def run_cli(
    cwd: Path, *args: str | Path, engine: str = "cloudai", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`cloudaix --engine ENGINE ARGS…` in `cwd`, with the cluster's Slurm clients on PATH."""
    argv = [sys.executable, "-m", "cloudai_dynamo_rs.engine", "--engine", engine, *map(str, args)]
    env = {k: v for k, v in os.environ.items() if k != "CLOUDAIX_ENGINE"}
    env["PATH"] = f"{CLUSTER_BIN}:{env['PATH']}"
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def cloudaix(
    cwd: Path,
    verb: str,
    system: Path,
    tests_dir: Path,
    scenario: Path,
    *extra: str,
    engine: str = "cloudai",
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    return run_cli(
        cwd, verb, "--system-config", system, "--tests-dir", tests_dir,
        "--test-scenario", scenario, *extra, engine=engine, timeout=timeout,
    )  # fmt: skip


def results_dir(out: Path) -> Path:
    (found,) = [p for p in out.iterdir() if p.is_dir()]
    return found


def dry_run(
    cwd: Path, system: Path, tests_dir: Path, scenario: Path, engine: str = "cloudai", *extra: str
) -> Path:
    """Dry-run into `cwd/out-<engine>`; returns the scenario's results directory."""
    out = cwd / f"out-{engine}"
    done = cloudaix(
        cwd, "dry-run", system, tests_dir, scenario, "--output-dir", str(out), *extra,
        engine=engine,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.splitlines()[0] == f"cloudaix: engine={engine}"
    return results_dir(out)
