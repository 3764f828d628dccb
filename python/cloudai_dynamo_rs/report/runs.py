"""Find the runs of a scenario results tree and what each one knows about itself.

A run directory is ``<results>/<test id>/<iteration>/`` or, for a sweep,
``<results>/<test id>/<iteration>/<step>/``; the dry-run code leaves ``test-run.json`` (test,
sweep parameters, node plan) in each, and the runner adds ``status.json`` when the job ends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _core
from ..runner.status import (
    SMALL_FILE_LIMIT,
    STATUS_FILE,
    failure_cause,
    failure_marker_text,
    read_small_text,
)

RECORD_FILE = _core.RECORD_FILE
#: Status of a run whose ``test-run.json`` is malformed or disagrees with its place.
BAD_RECORD = "bad_record"
RUNS_FILE = "runs.json"


@dataclass
class Run:
    """One run directory: identity, node plan and final status (metrics are added later)."""

    run_dir: Path
    test_id: str
    iteration: int
    step: int | None
    params: dict[str, Any] = field(default_factory=dict)
    prefill_nodes: int | None = None
    decode_nodes: int | None = None
    num_nodes: int | None = None
    engine_nodes: int | None = None  # nodes running an engine: the per-GPU divisor's nodes
    status: str | None = None  # from status.json; None when the runner wrote none
    cause: str = ""
    job_id: str | None = None
    elapsed: float | None = None

    @property
    def label(self) -> str:
        """``Tests.1/0`` or ``Tests.2/1/3``: the run's path under the results directory."""
        return "/".join(
            [self.test_id, str(self.iteration), *([] if self.step is None else [str(self.step)])]
        )


def _read_json_any(path: Path, limit: int = SMALL_FILE_LIMIT) -> Any:
    """The JSON value in ``path``; None when it is missing, not a regular file, larger than
    ``limit`` (then cut, so invalid) or not JSON."""
    text = read_small_text(path, limit)
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None


def _read_json(path: Path) -> dict[str, Any] | None:
    """The object in ``path``, or None when it is missing or not a JSON object."""
    data = _read_json_any(path)
    return data if isinstance(data, dict) else None


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _path_int(part: str | None) -> int | None:
    return int(part) if part is not None and part.isdigit() else None


def load_run(record_path: Path, results_dir: Path, placed: bool = True) -> Run:
    """The run whose record is ``record_path``. The core validates the record, and with
    ``placed`` its agreement with where it lies under ``results_dir`` (a tampered one cannot
    move the run's outputs or invent columns); a bad record makes a ``bad_record`` run, named
    after its directories, with the error as its cause. A host framework's run directory
    (``placed=False``) has its own layout."""
    run_dir = record_path.parent
    parts = run_dir.relative_to(results_dir).parts
    try:
        record = _core.read_run_record(record_path, results_dir if placed else None)
    except (_core.ResultsError, OSError) as err:
        return Run(
            run_dir=run_dir,
            test_id=parts[0],
            iteration=_path_int(parts[1] if len(parts) > 1 else None) or 0,
            step=_path_int(parts[2] if len(parts) > 2 else None),
            status=BAD_RECORD,
            cause=str(err),
        )
    run = Run(
        run_dir=run_dir,
        test_id=record["id"],
        iteration=record["iteration"],
        step=record["step"],
        params=dict(record["params"]),
        prefill_nodes=record["prefill_nodes"],
        decode_nodes=record["decode_nodes"],
        num_nodes=record["num_nodes"],
        engine_nodes=record["engine_nodes"],
    )
    _apply_status(run)
    return run


def _apply_status(run: Run) -> None:
    """Take the runner's verdict; without one, a failure marker still explains a dead job."""
    status = _read_json(run.run_dir / STATUS_FILE)
    if status is not None:
        run.status = str(status.get("status") or "unknown")
        run.cause = str(status.get("cause") or "")
        run.job_id = None if status.get("job_id") is None else str(status["job_id"])
        run.elapsed = _number(status.get("elapsed"))
        return
    marker = failure_marker_text(run.run_dir)
    if marker is not None:
        run.status = "failed"
        run.cause = failure_cause(marker)


def _natural_key(text: str) -> tuple[Any, ...]:
    """``Tests.2`` before ``Tests.10``."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def find_runs(results_dir: Path) -> list[Run]:
    """Every run under ``results_dir``: tests in scenario order (``runs.json``), then iteration,
    then sweep step, so that a sweep reads as its trajectory."""
    records = [d / RECORD_FILE for d in _core.run_dirs(results_dir)]
    runs = [load_run(p, results_dir) for p in records]
    order = _scenario_order(results_dir)
    runs.sort(
        key=lambda r: (
            order.get(r.test_id, len(order)),
            _natural_key(r.test_id),
            r.iteration,
            -1 if r.step is None else r.step,
        )
    )
    return runs


def _scenario_order(results_dir: Path) -> dict[str, int]:
    """Position of each test id in the scenario, from ``runs.json`` (empty without one)."""
    # One entry per run: a scenario at the run cap (10,000 by default) writes a few MB.
    listed = _read_json_any(results_dir / RUNS_FILE, limit=64 << 20)
    order: dict[str, int] = {}
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            order.setdefault(entry["id"], len(order))
    return order
