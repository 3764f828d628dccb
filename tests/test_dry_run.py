"""dry-run writes the whole tree atomically, never overwrites, and submits nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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
    second = prepare(inputs)  # same second: a new name, the first tree untouched
    assert Path(second["results_dir"]) == inputs["out"] / "ai_dynamo_ts_2"
    assert sbatch.read_text() == "# edited by hand\n"
    # The second tree's scripts name its own directory, not the first one's.
    text = Path(second["runs"][0]["sbatch"]).read_text()
    assert str(inputs["out"] / "ai_dynamo_ts_2" / "Tests.1") in text
    assert str(inputs["out"] / "ai_dynamo_ts" / "Tests.1") not in text
    # An empty directory of that name (someone else's, or a killed writer's claim) is
    # skipped as well, never written into.
    (inputs["out"] / "ai_dynamo_ts_3").mkdir()
    assert Path(prepare(inputs)["results_dir"]).name == "ai_dynamo_ts_4"
    assert list((inputs["out"] / "ai_dynamo_ts_3").iterdir()) == []


def test_writers_in_the_same_second_get_unique_complete_trees(inputs: dict[str, Path]) -> None:
    # prepare releases the GIL while writing, so these threads really write at once, all
    # with the same timestamp (the old code: "Directory not empty" and a left .partial-*).
    with ThreadPoolExecutor(8) as pool:
        dirs = list(pool.map(lambda _: prepare(inputs)["results_dir"], range(8)))
    names = sorted(Path(d).name for d in dirs)
    assert names == sorted(["ai_dynamo_ts"] + [f"ai_dynamo_ts_{n}" for n in range(2, 9)])
    assert sorted(p.name for p in inputs["out"].iterdir()) == names  # nothing else left
    for d in dirs:
        index = json.loads((Path(d) / "runs.json").read_text())
        assert [Path(r["run_dir"]).parent.parent.parent for r in index] == [Path(d)] * 2
        assert all(Path(r["sbatch"]).is_file() for r in index)


def test_stale_staging_of_a_dead_writer_is_ignored(inputs: dict[str, Path]) -> None:
    # A writer killed with SIGKILL leaves its staging directory; a later one with the same
    # pid must neither reuse it (its files would end up in the new tree) nor fail on it.
    stale = inputs["out"] / f".ai_dynamo_ts.partial-{os.getpid()}"
    (stale / "Tests.1" / "0" / "9").mkdir(parents=True)
    (stale / "Tests.1" / "0" / "9" / "run.sh").write_text("stale\n")
    root = Path(prepare(inputs)["results_dir"])
    assert root == inputs["out"] / "ai_dynamo_ts"
    assert sorted(p.name for p in (root / "Tests.1" / "0").iterdir()) == ["1", "2"]
    assert (stale / "Tests.1" / "0" / "9" / "run.sh").read_text() == "stale\n"


def dry_run_args(inputs: dict[str, Path]) -> list[str]:
    return [
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


def cloudaix(*args: str) -> list[str]:
    return [sys.executable, "-m", "cloudai_dynamo_rs.engine", "--engine", "embedded", *args]


def test_cli_dry_runs_started_together_all_succeed(inputs: dict[str, Path]) -> None:
    argv = cloudaix(*dry_run_args(inputs))
    for _ in range(3):  # three at once, three times
        procs = [
            subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err.decode()
    entries = sorted(p.name for p in inputs["out"].iterdir())
    assert len(entries) == 9
    assert not [e for e in entries if e.startswith(".")]
    assert all((inputs["out"] / e / "runs.json").is_file() for e in entries)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_dry_run_stopped_mid_write_leaves_nothing(inputs: dict[str, Path], sig: int) -> None:
    test = inputs["tests"] / "t.toml"
    sweep = ", ".join(str(c) for c in range(1, 5001))  # 5000 runs: seconds of writing
    test.write_text(test.read_text().replace("concurrency = [1, 4]", f"concurrency = [{sweep}]"))
    out = inputs["out"]
    out.mkdir()
    proc = subprocess.Popen(
        cloudaix(*dry_run_args(inputs)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    staging: list[Path] = []
    # Wait until some runs are in the staging directory, then stop the writer.
    while proc.poll() is None and time.monotonic() < deadline:
        staging = list(out.glob(".ai_dynamo_*.partial-*"))
        if staging and len(list(staging[0].glob("Tests.1/0/*"))) > 10:
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the dry-run ended before it could be stopped mid-write"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "interrupted" in err.decode()
    assert list(out.iterdir()) == []  # no staging, no claimed name, no partial tree


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
    argv = dry_run_args(inputs)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert (
        "expected at least 4 nodes (1 frontend + 3 prefill + 0 decode), found num_nodes = 2" in err
    )
    assert not inputs["out"].exists()
