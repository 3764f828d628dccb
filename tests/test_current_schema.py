"""CloudAI main's own AIDynamo files (vendored CloudAI 5b5c0f72) through the embedded engine:
every shipped test and scenario verifies and dry-runs; pruned sweep points are reported."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest
from conftest import scenario_flags

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs.cli import main

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = "cloudai-5b5c0f72.tar.gz"


def _vendor_archive() -> Path:
    """Where .ci/cloudai finds the vendored CloudAI (CLOUDAI_VENDOR, ../shared/vendor)."""
    for d in (
        os.environ.get("CLOUDAI_VENDOR"),
        ROOT.parent / "shared" / "vendor",
        "/work/shared/vendor",
    ):
        if d and (Path(d) / ARCHIVE).is_file():
            return Path(d) / ARCHIVE
    pytest.fail(f"{ARCHIVE} not found: set CLOUDAI_VENDOR to the directory holding it")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CloudAI main's conf/experimental/ai_dynamo, extracted from the archive."""
    out = tmp_path_factory.mktemp("cloudai-main")
    with tarfile.open(_vendor_archive()) as tar:
        members = [
            m for m in tar.getmembers() if "/conf/experimental/ai_dynamo/" in m.name and m.isfile()
        ]
        tar.extractall(out, members=members, filter="data")
    (conf,) = out.glob("*/conf/experimental/ai_dynamo")
    return conf


@pytest.fixture
def system(tmp_path: Path) -> Path:
    hf = tmp_path / "hf"
    hf.mkdir()
    text = (ROOT / "conf/local/system/baremetal.toml").read_text()
    path = tmp_path / "system.toml"
    path.write_text(text + f'hf_home_path = "{hf}"\n')
    return path


def test_every_shipped_file_verifies(shipped: Path) -> None:
    files = sorted(shipped.rglob("*.toml"))
    # Two tests and six scenarios at 5b5c0f72: the list itself is checked, so a missing
    # extraction cannot pass silently.
    assert [f.name for f in files if f.parent.name == "test"] == ["sglang.toml", "vllm.toml"]
    assert len([f for f in files if f.parent.name == "test_scenario"]) == 6
    errors, kinds = cdr.verify_files(files, check_host_paths=False)
    assert errors == []
    assert {k for _, k in kinds} == {"test", "scenario"}


@pytest.mark.parametrize(
    ("scenario", "runs"),
    [
        ("vllm_slurm.toml", 3),
        ("vllm_kvbm_slurm.toml", 1),
        ("vllm_lmcache.toml", 1),
        ("vllm_k8s.toml", 1),
        ("sglang_slurm.toml", 2),
        ("sglang_hicache.toml", 1),
    ],
)
def test_every_shipped_scenario_dry_runs(
    shipped: Path,
    system: Path,
    tmp_path: Path,
    scenario: str,
    runs: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    flags = scenario_flags(system, shipped / "test", shipped / "test_scenario" / scenario, out)
    rc = main(["dry-run", *flags])
    assert rc == 0, capsys.readouterr().err
    (results,) = out.iterdir()
    index = json.loads((results / "runs.json").read_text())
    assert len(index) == runs
    for run in index:
        assert run["generation"] == "current"
        d = Path(run["run_dir"])
        launch = (d / "run.sh").read_text()
        assert "SUCCESS_MARKER_NAME=success-marker.txt" in launch
        assert not (d / "dynamo_config.yaml").exists()
        assert (d / "cloudai_sbatch_script.sh").is_file()
    if scenario == "vllm_lmcache.toml":
        (d,) = [Path(r["run_dir"]) for r in index]
        assert json.loads((d / "lmcache-config.yaml").read_text())["chunk_size"] == 256


def test_pruned_points_are_listed_with_their_reason(
    system: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    text = (ROOT / "conf/local/test/current_mocker.toml").read_text()
    # Prefill TP 2 > decode TP 1 breaks prefill_tp_le_decode_tp.
    text = text.replace("tensor-parallel-size = 1", "tensor-parallel-size = [1, 2]", 1)
    (tests / "t.toml").write_text(text)
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "s"\n[[Tests]]\nid = "a"\ntest_name = "current_mocker"\n')
    out = tmp_path / "out"
    rc = main(["dry-run", *scenario_flags(system, tests, scenario, out)])
    err = capsys.readouterr().err
    assert rc == 0, err
    (results,) = out.iterdir()
    assert [r["step"] for r in json.loads((results / "runs.json").read_text())] == [1]
    (point,) = json.loads((results / "plan.json").read_text())["pruned"]
    assert point["step"] == 2
    assert point["params"] == {"dynamo.prefill_worker.args.tensor-parallel-size": 2}
    assert point["reason"] == (
        "prefill_tp_le_decode_tp: prefill tensor-parallel-size 2 > decode tensor-parallel-size 1"
    )
