"""``cloudaix plan``, the summary line of dry-run and run, plan.json, and run's confirmation.

Figures are computed here from the sweep's axes, not by the code under test. The terminal
path of the confirmation runs the CLI in a pseudo-terminal (``pty``).
"""

from __future__ import annotations

import itertools
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import scenario_flags

from cloudai_dynamo_rs.cli import main

PREFILL = [1, 2, 3, 4, 5]
DECODE = [1, 2]
CONCURRENCY = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
MODES = list("abcdefghij")
ITERATIONS = 2
GPUS_PER_NODE = 8  # conf/staging/ai_dynamo/system/oci.toml


def sweep_test(seed_text: str, hf: Path) -> str:
    return (
        seed_text.replace("/your/path/to/hf_home", str(hf))
        .replace(
            "[cmd_args.dynamo.prefill_worker]\n  num_nodes = 1",
            f"[cmd_args.dynamo.prefill_worker]\n  num_nodes = {PREFILL}",
        )
        .replace(
            "[cmd_args.dynamo.vllm_worker]\n  num_nodes = 0",
            f"[cmd_args.dynamo.vllm_worker]\n  num_nodes = {DECODE}",
        )
        .replace("streaming = true", f"streaming = true\n  concurrency = {CONCURRENCY}")
        .replace("HF_HOME =", f"MODE = {json.dumps(MODES)}\nHF_HOME =")
    )


@pytest.fixture
def sweep(tmp_path: Path, seed_text: str, conf_dir: Path) -> dict[str, Path]:
    hf = tmp_path / "hf"
    hf.mkdir()
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "big.toml").write_text(sweep_test(seed_text, hf))
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        'name = "big"\n[[Tests]]\nid = "sweep"\ntest_name = "llama3.1_405b_fp8"\n'
        f'iterations = {ITERATIONS}\ntime_limit = "01:30:00"\n'
    )
    return {
        "system": conf_dir / "system" / "oci.toml",
        "tests": tests,
        "scenario": scenario,
        "out": tmp_path / "out",
    }


def scenario_args(i: dict[str, Path]) -> list[str]:
    return scenario_flags(i["system"], i["tests"], i["scenario"], i["out"])


NUMBER = (int, float)
RANGE = {"min": int, "max": int}
NODE_HOURS = {
    "bounded": NUMBER,
    "upper_bound": (*NUMBER, type(None)),
    "jobs_without_time_limit": int,
    "gpu_hours_upper_bound": (*NUMBER, type(None)),
}
ESTIMATE = {"node_hours": NUMBER, "jobs": int, "jobs_total": int}
RUN = {
    "key": str,
    "id": str,
    "test_name": str,
    "iteration": int,
    "step": (int, type(None)),
    "params": dict,
    "nodes": int,
    "gpus": (int, type(None)),
    "time_limit_seconds": (int, type(None)),
    "node_hours_upper_bound": (*NUMBER, type(None)),
    "estimate_seconds": (*NUMBER, type(None)),
    "estimate_from": (str, type(None)),
}
TEST = {
    "id": str,
    "test_name": str,
    "iterations": int,
    "cases": int,
    "pruned_cases": int,
    "jobs": int,
    "nodes_per_job": (dict, type(None)),
    "gpus_per_job": (dict, type(None)),
    "time_limit": (str, type(None)),
    "time_limit_seconds": (int, type(None)),
    "node_hours": dict,
    "estimate": (dict, type(None)),
    "dependencies": list,
}
PRUNED = {"id": str, "test_name": str, "step": int, "params": dict, "reason": str, "jobs": int}
PLAN = {
    "schema": str,
    "scenario": str,
    "system": str,
    "gpus_per_node": (int, type(None)),
    "jobs": int,
    "nodes_per_job": (dict, type(None)),
    "gpus_per_job": (dict, type(None)),
    "node_hours": dict,
    "estimate": (dict, type(None)),
    "history": dict,
    "order": dict,
    "tests": list,
    "pruned": list,
    "runs": list,
}


def check_shape(obj: dict, shape: dict, where: str) -> None:
    assert set(obj) == set(shape), where
    for key, kind in shape.items():
        assert isinstance(obj[key], kind), f"{where}.{key}: {obj[key]!r}"


def check_schema(plan: dict) -> None:
    """The plan.json layout, field by field (cloudaix-plan/1)."""
    check_shape(plan, PLAN, "plan")
    assert plan["schema"] == "cloudaix-plan/1"
    check_shape(plan["node_hours"], NODE_HOURS, "node_hours")
    check_shape(plan["history"], {"results_dirs": int, "completed_runs": int}, "history")
    check_shape(plan["order"], {"stages": list}, "order")
    for stage in plan["order"]["stages"]:
        assert all(isinstance(i, str) for i in stage)
    for name in ("nodes_per_job", "gpus_per_job"):
        if plan[name] is not None:
            check_shape(plan[name], RANGE, name)
    if plan["estimate"] is not None:
        check_shape(plan["estimate"], ESTIMATE, "estimate")
    for t in plan["tests"]:
        check_shape(t, TEST, "tests[]")
        check_shape(t["node_hours"], NODE_HOURS, "tests[].node_hours")
    for p in plan["pruned"]:
        check_shape(p, PRUNED, "pruned[]")
    for r in plan["runs"]:
        check_shape(r, RUN, "runs[]")


def test_plan_json_of_a_1000_case_sweep(
    sweep: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", *scenario_args(sweep), "--json", "-"]) == 0
    plan = json.loads(capsys.readouterr().out)
    check_schema(plan)
    cases = list(itertools.product(PREFILL, DECODE, CONCURRENCY, MODES))
    assert len(cases) == 1000
    nodes = [1 + p + d for p, d, _, _ in cases]
    bound = sum(n * 1.5 for n in nodes) * ITERATIONS
    assert bound == 16500.0  # (Σ_p Σ_d (1 + p + d) = 55) x 100 x 2 iterations x 1.5 h
    assert plan["jobs"] == 2000
    assert plan["nodes_per_job"] == {"min": 3, "max": 8}
    assert plan["gpus_per_job"] == {"min": 24, "max": 64}
    assert plan["node_hours"]["upper_bound"] == pytest.approx(bound)
    assert plan["node_hours"]["gpu_hours_upper_bound"] == pytest.approx(bound * GPUS_PER_NODE)
    assert plan["pruned"] == []
    assert plan["order"] == {"stages": [["sweep"]]}
    [test] = plan["tests"]
    assert (test["cases"], test["jobs"], test["time_limit_seconds"]) == (1000, 2000, 5400)
    for i, run in enumerate(plan["runs"]):
        p, d, c, m = cases[i // ITERATIONS]
        assert run["key"] == f"sweep/{i % ITERATIONS}/{i // ITERATIONS + 1}"
        assert run["params"] == {
            "dynamo.prefill_worker.num_nodes": p,
            "dynamo.decode_worker.num_nodes": d,
            "genai_perf.concurrency": c,
            "extra_env_vars.MODE": m,
        }
        assert run["nodes"] == 1 + p + d
        assert run["node_hours_upper_bound"] == pytest.approx((1 + p + d) * 1.5)


def test_plan_text_prunes_points_the_partition_cannot_hold(
    sweep: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A 6-node partition: the (4, 2), (5, 1) and (5, 2) node combinations cannot run.
    system = tmp_path / "sys.toml"
    system.write_text(
        sweep["system"].read_text().replace("gpu-h100-[001-016]", "gpu-h100-[001-006]")
    )
    out_json = tmp_path / "plan.json"
    args = [*scenario_args({**sweep, "system": system}), "--json", str(out_json)]
    assert main(["plan", *args]) == 0
    text = capsys.readouterr().out
    cases = list(itertools.product(PREFILL, DECODE, CONCURRENCY, MODES))
    pruned = [(i + 1, c) for i, c in enumerate(cases) if 1 + c[0] + c[1] > 6]
    kept = [c for c in cases if 1 + c[0] + c[1] <= 6]
    bound = sum((1 + p + d) * 1.5 for p, d, _, _ in kept) * ITERATIONS
    first = text.splitlines()[0]
    assert first == (
        f"plan: {len(kept) * ITERATIONS} jobs, 3-6 nodes (24-48 GPUs) per job, "
        f"<= {bound:.2f} node-hours (time limit x nodes), {len(pruned)} sweep points pruned"
    )
    step, (p, d, c, m) = pruned[0]
    assert (
        f"  sweep step {step} [dynamo.prefill_worker.num_nodes={p}, "
        f"dynamo.decode_worker.num_nodes={d}, genai_perf.concurrency={c}, "
        f"extra_env_vars.MODE={m}]: expected at most 6 nodes (the nodes of partition "
        f'"batch" in the system file), found 1 frontend + {p} prefill + {d} decode = {1 + p + d}\n'
    ) in text
    assert text.endswith(f"plan written to {out_json}\n")
    plan = json.loads(out_json.read_text())
    check_schema(plan)
    assert [(x["step"], x["jobs"]) for x in plan["pruned"]] == [(s, 2) for s, _ in pruned]
    assert not list(tmp_path.glob(".plan.json*"))  # no temporary file left behind


def test_dry_run_starts_with_the_summary_and_writes_plan_json(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dry-run", *scenario_args(inputs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # 2 cases x 2 nodes x time limit 01:00:00.
    assert lines[0] == (
        "plan: 2 jobs, 2 nodes (16 GPUs) per job, <= 4.00 node-hours (time limit x nodes)"
    )
    assert lines[1].startswith("2 test run(s) written to ")
    [results] = inputs["out"].iterdir()
    plan = json.loads((results / "plan.json").read_text())
    check_schema(plan)
    assert [r["key"] for r in plan["runs"]] == ["Tests.1/0/1", "Tests.1/0/2"]
    assert plan["node_hours"]["upper_bound"] == 4.0


def test_plan_is_ours_whatever_the_engine(
    inputs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # CloudAI has no `plan`: it never goes there, even when the environment asks for it.
    env = {**os.environ, "CLOUDAIX_ENGINE": "cloudai"}
    cmd = [sys.executable, "-m", "cloudai_dynamo_rs.engine", "plan", *scenario_args(inputs)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("cloudaix: engine=embedded")
    assert proc.stdout.startswith("plan: 2 jobs, 2 nodes (16 GPUs) per job, <= 4.00 node-hours")


# -- confirmation --------------------------------------------------------------------------


@pytest.fixture
def fake_slurm(tmp_path: Path) -> Path:
    """A bin directory whose sbatch refuses every job and logs that it was called.

    ``sbatch --version`` (run's check that Slurm's client is usable) answers as Slurm does.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(
        '#!/bin/sh\n[ "$1" = --version ] && echo "slurm 22.05.8" && exit 0\n'
        f'echo called >> "{tmp_path}/sbatch.log"\n'
        'echo "sbatch: error: fake refusal" >&2\nexit 1\n'
    )
    sbatch.chmod(0o755)
    return bin_dir


def run_cmd(i: dict[str, Path], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "cloudai_dynamo_rs.engine",
        "run",
        *scenario_args(i),
        "--poll-interval",
        "0.1",
        *extra,
    ]


def run_env(fake_slurm: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CLOUDAIX_CONFIRM_NODE_HOURS"}
    env.update(CLOUDAIX_ENGINE="embedded", PATH=f"{fake_slurm}:{env['PATH']}", **extra)
    return env


def run_piped(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` with no terminal anywhere (stdin is /dev/null)."""
    return subprocess.run(
        cmd,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_in_pty(
    cmd: list[str], env: dict[str, str], cwd: Path, answer: str | None
) -> tuple[int, str]:
    """Run ``cmd`` with a terminal as stdin/stdout/stderr; type ``answer`` at the prompt."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True
    )
    os.close(slave)
    out = b""
    answered = answer is None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            if not answered and b"Submit? [y/N] " in out:
                os.write(master, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, out.decode(errors="replace").replace("\r\n", "\n")


def test_run_asks_on_a_terminal_and_no_submits_nothing(
    inputs: dict[str, Path], fake_slurm: Path, tmp_path: Path
) -> None:
    # 4 node-hours, above a threshold of 3 set through the environment.
    env = run_env(fake_slurm, CLOUDAIX_CONFIRM_NODE_HOURS="3")
    code, out = run_in_pty(run_cmd(inputs), env, tmp_path, "n")
    assert code == 1, out
    assert "plan: 2 jobs, 2 nodes (16 GPUs) per job, <= 4.00 node-hours" in out
    assert (
        "up to 4.00 node-hours, above the confirmation threshold of 3 node-hours.\nSubmit? [y/N] "
    ) in out
    assert "not submitted: nothing was written" in out
    assert not inputs["out"].exists()
    assert not (tmp_path / "sbatch.log").exists()


def test_run_submits_after_yes_on_a_terminal(
    inputs: dict[str, Path], fake_slurm: Path, tmp_path: Path
) -> None:
    code, out = run_in_pty(
        run_cmd(inputs, "--confirm-above", "1"), run_env(fake_slurm), tmp_path, "y"
    )
    assert "Submit? [y/N] " in out
    assert "2 test run(s) written to" in out
    # The fake sbatch refused both jobs: the runner did submit them.
    assert (tmp_path / "sbatch.log").read_text().count("called") == 2
    assert code == 1, out


@pytest.mark.parametrize(
    ("extra", "env_extra"),
    [
        (["--yes"], {"CLOUDAIX_CONFIRM_NODE_HOURS": "1"}),
        ([], {"CLOUDAIX_CONFIRM_NODE_HOURS": "4"}),  # at the threshold is not above it
        ([], {}),  # the default threshold (100 node-hours)
    ],
)
def test_run_does_not_ask_with_yes_or_below_the_threshold(
    inputs: dict[str, Path],
    fake_slurm: Path,
    tmp_path: Path,
    extra: list[str],
    env_extra: dict[str, str],
) -> None:
    code, out = run_in_pty(
        run_cmd(inputs, *extra), run_env(fake_slurm, **env_extra), tmp_path, None
    )
    assert "Submit?" not in out
    assert (tmp_path / "sbatch.log").read_text().count("called") == 2
    assert code == 1, out


def test_run_never_asks_without_a_terminal(
    inputs: dict[str, Path], fake_slurm: Path, tmp_path: Path
) -> None:
    proc = run_piped(run_cmd(inputs, "--confirm-above", "0"), run_env(fake_slurm), tmp_path)
    assert "Submit?" not in proc.stdout + proc.stderr
    assert proc.stdout.startswith("plan: 2 jobs")
    assert (tmp_path / "sbatch.log").read_text().count("called") == 2


def test_a_bad_threshold_is_refused_before_anything_happens(
    inputs: dict[str, Path], fake_slurm: Path, tmp_path: Path
) -> None:
    env = run_env(fake_slurm, CLOUDAIX_CONFIRM_NODE_HOURS="lots")
    proc = run_piped(run_cmd(inputs), env, tmp_path)
    assert proc.returncode == 2
    assert (
        "error: CLOUDAIX_CONFIRM_NODE_HOURS: expected a number of node-hours >= 0, found 'lots'"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert not inputs["out"].exists()
    proc = run_piped(run_cmd(inputs, "--confirm-above", "-1"), run_env(fake_slurm), tmp_path)
    assert proc.returncode == 2
    assert "expected node-hours >= 0, found '-1'" in proc.stderr
