"""dry-run writes the whole tree atomically, never overwrites, and submits nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs.cli import main


def prepare(i: dict[str, Path], timestamp: str = "ts") -> dict:
    return cdr.prepare(
        i["system"],
        sorted(i["tests"].glob("*.toml")),
        i["scenario"],
        timestamp=timestamp,
        output_root=i["out"],
    )


def test_tree_layout_and_run_index(inputs: dict[str, Path]) -> None:
    prepared = prepare(inputs)
    root = Path(prepared["results_dir"])
    assert root == inputs["out"] / "ai_dynamo_ts"
    for step in (1, 2):
        run_dir = root / "Tests.1" / "0" / str(step)
        names = sorted(p.name for p in run_dir.iterdir())
        assert names == [
            "cloudai_sbatch_script.sh",
            "dynamo_config.yaml",
            "node_roles.txt",
            "run.sh",
            "test-run.json",
        ]
        record = json.loads((run_dir / "test-run.json").read_text())
        assert record["params"] == {"genai_perf.concurrency": [1, 4][step - 1]}
        assert f"--concurrency\n    {[1, 4][step - 1]}\n" in (run_dir / "run.sh").read_text()
    index = json.loads((root / "runs.json").read_text())
    assert [r["step"] for r in index] == [1, 2]
    assert [p.name for p in inputs["out"].iterdir()] == ["ai_dynamo_ts"]


def test_existing_results_are_never_overwritten(inputs: dict[str, Path]) -> None:
    first = prepare(inputs)
    sbatch = Path(first["runs"][0]["sbatch"])
    sbatch.write_text("# edited by hand\n")
    with pytest.raises(cdr.RenderError, match="already exists; it is never overwritten"):
        prepare(inputs)
    assert sbatch.read_text() == "# edited by hand\n"


def test_a_failure_leaves_no_partial_tree(inputs: dict[str, Path]) -> None:
    test = inputs["tests"] / "t.toml"
    # A comma in a container mount cannot be written into --container-mounts.
    test.write_text(
        test.read_text().replace("[cmd_args]", 'extra_container_mounts = ["/a,b:/c"]\n[cmd_args]')
    )
    with pytest.raises(cdr.RenderError, match="contains a comma"):
        prepare(inputs)
    assert list(inputs["out"].iterdir()) == []


def test_cli_dry_run_reports_config_errors_without_writing(
    inputs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    test = inputs["tests"] / "t.toml"
    test.write_text(test.read_text().replace("num_nodes = 1", "num_nodes = 3"))
    argv = [
        "dry-run",
        "--system-config",
        str(inputs["system"]),
        "--tests-dir",
        str(inputs["tests"]),
        "--test-scenario",
        str(inputs["scenario"]),
        "--output-dir",
        str(inputs["out"]),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert (
        "expected at least 4 nodes (1 frontend + 3 prefill + 0 decode), found num_nodes = 2" in err
    )
    assert not inputs["out"].exists()
