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

from ..runner.status import FAILURE_MARKER, STATUS_FILE, failure_cause

RECORD_FILE = "test-run.json"
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
    concurrency: float | None = None
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


def _read_json(path: Path) -> dict[str, Any] | None:
    """The object in ``path``, or None when it is missing or not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first_int(value: Any, fallback: int) -> int:
    found = _int(value)
    return fallback if found is None else found


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _concurrency(record: dict[str, Any]) -> float | None:
    """The load generator's concurrency of this run (sweeps are already pinned per step)."""
    cmd_args = record.get("test", {}).get("cmd_args", {})
    for tool in ("genai_perf", "aiperf"):
        section = cmd_args.get(tool)
        value = section.get("concurrency") if isinstance(section, dict) else None
        if _number(value) is not None:
            return value  # kept an int when it is one, so summaries print `4`, not `4.0`
    return None


def load_run(record_path: Path, results_dir: Path) -> Run:
    run_dir = record_path.parent
    parts = run_dir.relative_to(results_dir).parts
    record = _read_json(record_path) or {}
    topology = record.get("topology") if isinstance(record.get("topology"), dict) else {}
    run = Run(
        run_dir=run_dir,
        test_id=str(record.get("id", parts[0])),
        iteration=_first_int(
            record.get("iteration"), int(parts[1]) if parts[1:2] and parts[1].isdigit() else 0
        ),
        step=_int(record.get("step")) if "step" in record else _step_from_path(parts),
        params=dict(record.get("params") or {}),
        prefill_nodes=_int(topology.get("prefill")),
        decode_nodes=_int(topology.get("decode")),
        num_nodes=_int(topology.get("num_nodes")),
        engine_nodes=_int(topology.get("engine_nodes")),
        concurrency=_concurrency(record),
    )
    _apply_status(run)
    return run


def _step_from_path(parts: tuple[str, ...]) -> int | None:
    return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None


def _apply_status(run: Run) -> None:
    """Take the runner's verdict; without one, a failure marker still explains a dead job."""
    status = _read_json(run.run_dir / STATUS_FILE)
    if status is not None:
        run.status = str(status.get("status") or "unknown")
        run.cause = str(status.get("cause") or "")
        run.job_id = None if status.get("job_id") is None else str(status["job_id"])
        run.elapsed = _number(status.get("elapsed"))
        return
    marker = run.run_dir / FAILURE_MARKER
    if marker.is_file():
        run.status = "failed"
        run.cause = failure_cause(marker.read_text(errors="replace"))


def _natural_key(text: str) -> tuple[Any, ...]:
    """``Tests.2`` before ``Tests.10``."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


def find_runs(results_dir: Path) -> list[Run]:
    """Every run under ``results_dir``: tests in scenario order (``runs.json``), then iteration,
    then sweep step, so that a sweep reads as its trajectory."""
    records = sorted(results_dir.glob(f"*/*/{RECORD_FILE}")) + sorted(
        results_dir.glob(f"*/*/*/{RECORD_FILE}")
    )
    runs = [load_run(p, results_dir) for p in records if p.parent.name.isdigit()]
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
    try:
        listed = json.loads((results_dir / RUNS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    order: dict[str, int] = {}
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            order.setdefault(entry["id"], len(order))
    return order
