"""The CI harness stops only what it started: `.ci/cluster/up` says whether it started the
cluster, and `.ci/run` runs `.ci/cluster/down` on exit only then."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UP = ROOT / ".ci" / "cluster" / "up"
SETTINGS = Path("/run/cloudaix-cluster/settings")
# What `up` records for its defaults (NUM_NODES=4, GPUS_PER_NODE=8, …; see .ci/cluster/README).
DEFAULT_SETTINGS = (
    "mode=netns nodes=4 gpus=:8 cpus=16 mem=16000 part=debug acct=slurmdbd subnet=10.77.0 bind=1"
)
KNOBS = (
    "NUM_NODES GPUS_PER_NODE GPU_TYPE CPUS_PER_NODE MEM_PER_NODE_MB PARTITION NET_MODE "
    "ACCOUNTING CLUSTER_SUBNET FAKE_PYXIS_BIND CLUSTER_RUN CLUSTER_STATE CLUSTER_NETNS"
).split()


def cluster_running_with_defaults() -> bool:
    try:
        return SETTINGS.read_text().strip() == DEFAULT_SETTINGS
    except OSError:
        return False


@pytest.mark.skipif(
    os.geteuid() != 0 or not cluster_running_with_defaults(),
    reason="needs root and the local cluster already up with its default settings "
    "(anything else would make `up` start or restart a cluster)",
)
def test_up_reports_a_running_cluster_as_already_up(tmp_path: Path) -> None:
    status = tmp_path / "up-status"
    env = {k: v for k, v in os.environ.items() if k not in KNOBS}
    env["UP_STATUS_FILE"] = str(status)
    out = subprocess.run([str(UP)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "already up" in out.stdout
    assert status.read_text() == "already-up\n"
    assert SETTINGS.read_text().strip() == DEFAULT_SETTINGS  # still the same cluster


def stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("up_says", "test_rc", "stopped"),
    [
        ("already-up", 0, False),
        ("already-up", 1, False),
        ("started", 0, True),
        ("started", 1, True),
    ],
)
def test_ci_run_stops_the_cluster_only_when_it_started_it(
    tmp_path: Path, up_says: str, test_rc: int, stopped: bool
) -> None:
    # The real .ci/run in a copy of the repository whose cluster scripts, test command and
    # installers are stubs that log what was called.
    repo, log = tmp_path / "repo", tmp_path / "calls.log"
    (repo / ".ci").mkdir(parents=True)
    (repo / ".ci" / "run").write_text((ROOT / ".ci" / "run").read_text())
    stub(repo / ".ci" / "cluster" / "pystack", "exit 0\n")
    stub(repo / ".ci" / "cluster" / "up", f'echo up >> {log}; echo {up_says} > "$UP_STATUS_FILE"\n')
    stub(repo / ".ci" / "cluster" / "down", f"echo down >> {log}\n")
    stub(repo / ".ci" / "test", f"echo test >> {log}; exit {test_rc}\n")
    stub(repo / ".ci" / "fuzz", f"echo fuzz >> {log}\n")
    stub(repo / ".ci" / "cloudai", f"echo cloudai >> {log}\n")
    bin_dir = tmp_path / "bin"
    stub(bin_dir / "python3", 'mkdir -p "$3/bin" && : > "$3/bin/activate"\n')  # -m venv DIR
    # `pip wheel … -w DIR .` leaves a wheel in DIR; every other pip call does nothing.
    stub(
        bin_dir / "pip",
        '[ "$1" = wheel ] || exit 0\nwhile [ "$1" != -w ]; do shift; done\n'
        'mkdir -p "$2" && : > "$2/cloudai_dynamo_rs-0.1.0-py3-none-any.whl"\n',
    )
    for tool in ("rustup", "shellcheck"):
        stub(bin_dir / tool, "exit 0\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(
        ["bash", str(repo / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == test_rc, out.stderr
    ran = ["up", "test"] + (["fuzz", "cloudai"] if test_rc == 0 else [])
    assert log.read_text().split() == ran + (["down"] if stopped else [])
    assert ("left running" in out.stdout) != stopped
