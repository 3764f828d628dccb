"""The core's listing of a results tree's run directories (``_core.run_dirs``)."""

from __future__ import annotations

from pathlib import Path

from cloudai_dynamo_rs import _core


def test_run_dirs_lists_numbered_run_directories_with_a_record(tmp_path: Path) -> None:
    record = _core.RECORD_FILE
    wanted = ["a/0", "a/1/1", "a/1/2", "b/10"]
    for rel in wanted:
        (tmp_path / rel).mkdir(parents=True)
        (tmp_path / rel / record).write_text("{}")
    # Not runs: no record, a non-numbered iteration or step, a hidden staging directory,
    # a record too deep or too shallow.
    for rel in ["a/2", "c/x", "a/1/y", ".staging/0", "a/1/1/3", "a"]:
        (tmp_path / rel).mkdir(parents=True, exist_ok=True)
    for rel in ["c/x", "a/1/y", ".staging/0", "a/1/1/3", "a"]:
        (tmp_path / rel / record).write_text("{}")
    found = sorted(d.relative_to(tmp_path).as_posix() for d in _core.run_dirs(tmp_path))
    assert found == wanted


def test_run_dirs_of_a_missing_tree_is_empty(tmp_path: Path) -> None:
    assert _core.run_dirs(tmp_path / "nope") == []
