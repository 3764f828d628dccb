"""dry-run writes the whole tree atomically, never overwrites, and submits nothing."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import scenario_flags

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
        *scenario_flags(*(inputs[k] for k in ("system", "tests", "scenario", "out"))),
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


def start_a_long_dry_run(inputs: dict[str, Path]) -> tuple[subprocess.Popen[bytes], Path]:
    """A dry-run of 5000 runs (seconds of writing), once more than 10 are in its staging
    directory: the process and that directory."""
    test = inputs["tests"] / "t.toml"
    sweep = ", ".join(str(c) for c in range(1, 5001))
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
    while proc.poll() is None and time.monotonic() < deadline:
        staging = list(out.glob(".ai_dynamo_*.partial-*"))
        if staging and len(list(staging[0].glob("Tests.1/0/*"))) > 10:
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the dry-run ended before it could be stopped mid-write"
    return proc, staging[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_dry_run_stopped_mid_write_leaves_nothing(inputs: dict[str, Path], sig: int) -> None:
    proc, _ = start_a_long_dry_run(inputs)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "interrupted" in err.decode()
    assert list(inputs["out"].iterdir()) == []  # no staging, no claimed name, no partial tree


def this_host() -> str:
    """The host part of a staging directory's name: the host name, one file-name part."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())


def test_a_killed_dry_runs_leftovers_are_removed_by_the_next(inputs: dict[str, Path]) -> None:
    out = inputs["out"]
    proc, staging = start_a_long_dry_run(inputs)
    proc.kill()  # SIGKILL: no handler runs, the staging directory and the claim stay
    proc.communicate(timeout=60)
    claim = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len(claim) == 1 and list(claim[0].iterdir()) == []
    assert staging.name == f".{claim[0].name}.partial-{this_host()}.{proc.pid}"
    assert sorted(out.iterdir()) == sorted([staging, claim[0]])
    # The next dry-run (a small one) removes both and writes its own tree.
    test = inputs["tests"] / "t.toml"
    test.write_text(re.sub(r"concurrency = \[[0-9, ]*\]", "concurrency = [1, 4]", test.read_text()))
    done = subprocess.run(cloudaix(*dry_run_args(inputs)), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    left = list(out.iterdir())
    assert len(left) == 1 and not left[0].name.startswith("."), left
    assert (left[0] / "runs.json").is_file()


def test_staging_directories_that_may_be_in_use_are_kept(inputs: dict[str, Path]) -> None:
    out = inputs["out"]
    out.mkdir()
    host = this_host()
    sleeper = subprocess.Popen(["sleep", "120"])
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = gone.pid
    staged = {
        "live": f".ai_dynamo_a.partial-{host}.{sleeper.pid}",  # its writer still runs
        "locked": f".ai_dynamo_b.partial-{host}.{dead}",  # locked (another pid namespace)
        "other host": f".ai_dynamo_c.partial-{host}x.{dead}",  # pids of another host
        "old format": f".ai_dynamo_d.partial-{dead}",  # not a name this version makes
        "future": f".ai_dynamo_e.partial-{host}.{dead}",  # modified after the run started
        "stale": f".ai_dynamo_f.partial-{host}.{dead}-2",  # removed, with its empty claim
        "stale, claim in use": f".ai_dynamo_g.partial-{host}.{dead}",  # the claim holds files
    }
    for name in staged.values():
        (out / name / "Tests.1").mkdir(parents=True)
        (out / name[1:].split(".partial-")[0]).mkdir()
    (out / "ai_dynamo_g" / "mine.txt").write_text("kept\n")
    future = time.time() + 3600
    os.utime(out / staged["future"], (future, future))
    lock = os.open(out / staged["locked"], os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        done = subprocess.run(cloudaix(*dry_run_args(inputs)), capture_output=True, timeout=120)
    finally:
        os.close(lock)
        sleeper.kill()
        sleeper.wait()
    assert done.returncode == 0, done.stderr.decode()
    gone_names = {staged["stale"], "ai_dynamo_f", staged["stale, claim in use"]}
    for what, name in staged.items():
        assert (out / name).exists() == (name not in gone_names), what
    for claim in "abcdeg":
        assert (out / f"ai_dynamo_{claim}").is_dir(), claim
    assert (out / "ai_dynamo_g" / "mine.txt").read_text() == "kept\n"


def test_a_failure_leaves_no_partial_tree(inputs: dict[str, Path]) -> None:
    # The run directories are mounted into the container: with a comma in the output path
    # they cannot be written into --container-mounts (pyxis splits mounts at commas), which
    # is found while the runs are written. (A comma in a user's mount is refused at load.)
    inputs["out"] = inputs["out"].with_name("out,1")
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
