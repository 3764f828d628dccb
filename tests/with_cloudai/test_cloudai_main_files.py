"""CloudAI main's own AIDynamo files (conf/experimental/ai_dynamo at 5b5c0f72) through the
plugin: they verify, dry-run into the scripts the embedded engine writes from the same files,
and an error in a scenario override is reported at its line in the scenario.

Collected under CloudAI main only (conftest.py): CloudAI 13816b1a's own TestDefinition refuses
the files' `dse_excluded_args`, so they never loaded there, with or without the plugin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cloudai_cli import dry_run, run_cli

ROOT = Path(__file__).resolve().parents[2]
SYSTEM = ROOT / "conf" / "local" / "cloudai" / "system.toml"
SCENARIOS = [
    "sglang_hicache.toml",
    "sglang_slurm.toml",
    "vllm_k8s.toml",
    "vllm_kvbm_slurm.toml",
    "vllm_lmcache.toml",
    "vllm_slurm.toml",
]


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """CloudAI main's conf/experimental/ai_dynamo (from the source tree .ci/cloudai unpacked)."""
    source = ROOT / ".ci-venvs" / "src-5b5c0f72" / "conf" / "experimental" / "ai_dynamo"
    assert source.is_dir(), f"{source}: run through .ci/cloudai"
    conf = tmp_path / "ai_dynamo"
    shutil.copytree(source, conf)
    assert sorted(p.name for p in (conf / "test_scenario").iterdir()) == SCENARIOS
    return conf


def test_every_shipped_file_verifies_through_the_plugin(shipped: Path, tmp_path: Path) -> None:
    done = run_cli(tmp_path, "verify-configs", shipped)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Checked tests: 2, all passed" in log
    assert "Checked scenarios: 6, all passed" in log


def _run_dirs(results: Path) -> dict[str, Path]:
    return {str(p.parent.relative_to(results)): p.parent for p in results.rglob("run.sh")}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_shipped_scenario_dry_runs_into_the_embedded_engines_scripts(
    shipped: Path, tmp_path: Path, scenario: str
) -> None:
    args = (SYSTEM, shipped / "test", shipped / "test_scenario" / scenario)
    ours = dry_run(tmp_path, *args)
    # The files name no HF_HOME that exists here: the embedded engine checks it, CloudAI not.
    embedded = dry_run(tmp_path, *args, "embedded", "--skip-host-checks")
    runs, expected = _run_dirs(ours), _run_dirs(embedded)
    assert sorted(runs) == sorted(expected) and runs
    for key, run_dir in runs.items():
        for name in ("run.sh", "node_roles.txt"):
            text = (run_dir / name).read_text().replace(str(ours), "<results>")
            want = (expected[key] / name).read_text().replace(str(embedded), "<results>")
            assert text == want, f"{key}/{name}"


def test_a_shipped_scenario_says_what_its_files_say(shipped: Path, tmp_path: Path) -> None:
    # vllm_slurm.toml's "test.disagg.shared-node": num_nodes = 2, prefill and decode 2 nodes
    # each at tensor-parallel-size 4 (overriding vllm.toml's 8), one aiperf phase
    # "shared_node_smoke"; vllm.toml: model Qwen/Qwen3-0.6B, backend vllm.
    results = dry_run(
        tmp_path, SYSTEM, shipped / "test", shipped / "test_scenario" / "vllm_slurm.toml"
    )
    run_dir = results / "test.disagg.shared-node" / "0"
    sbatch = (run_dir / "cloudai_sbatch_script.sh").read_text()
    assert "#SBATCH --nodes=2\n" in sbatch
    assert "#SBATCH --time=00:10:00\n" in sbatch
    roles = (run_dir / "node_roles.txt").read_text().splitlines()[1:]
    assert [line.split()[0] for line in roles] == ["0", "1"]
    assert all("decode" in line and "prefill" in line for line in roles)
    run_sh = (run_dir / "run.sh").read_text()
    for role in ("PREFILL_ARGS", "DECODE_ARGS"):
        (line,) = [x for x in run_sh.splitlines() if x.startswith(f"{role}=(")]
        assert "--model Qwen/Qwen3-0.6B" in line
        assert "--tensor-parallel-size 4 " in line
    assert "python3 -m dynamo.vllm --is-prefill-worker" in run_sh
    assert "shared_node_smoke" in run_sh and "round_1" not in run_sh


def test_a_scenario_override_error_is_positioned_in_the_scenario(
    shipped: Path, tmp_path: Path
) -> None:
    scenario = shipped / "test_scenario" / "vllm_slurm.toml"
    text = scenario.read_text()
    assert "tensor-parallel-size = 4\n" in text
    bad = text.replace("tensor-parallel-size = 4\n", "tensor-parallel-size = -4\n", 1)
    scenario.write_text(bad)
    lines = bad.splitlines()
    line = next(i for i, t in enumerate(lines, 1) if "tensor-parallel-size = -4" in t)
    column = lines[line - 1].index("-4") + 1
    done = run_cli(tmp_path, "verify-configs", shipped)
    log = done.stdout + done.stderr
    # CloudAI's verify-configs counts the problem (and exits 0 anyway: handlers.py returns the
    # count, which its main does not use).
    assert "1 out of 8 configuration files have issues" in log
    expected = (
        f"{scenario}:{line}:{column}: cmd_args.dynamo.prefill_worker.args.tensor-parallel-size: "
        "expected a positive integer, found -4"
    )
    assert expected in log
