"""Turn a finished job (Slurm state + the files its script left) into a run status.

The job scripts leave ``failure.marker`` when a Dynamo process dies and ``done.marker`` when
they reach their normal end; Slurm alone cannot tell those apart because a script that
cleans up after a dead worker may still exit 0.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, cast

from .. import _core
from .models import JobInfo, PreparedRun, RunOutcome, Status

# The job scripts' marker names, the seed's first, then CloudAI main's (the core writes the
# scripts: src/render/launch.rs, src/render/current.rs).
FAILURE_MARKER, CURRENT_FAILURE_MARKER = _core.FAILURE_MARKERS
DONE_MARKER, CURRENT_DONE_MARKER = _core.DONE_MARKERS
STATUS_FILE = _core.STATUS_FILE


#: The most read of a marker or small JSON file of a run: they are a few KB when the job's
#: scripts write them; anything larger is cut there rather than loaded whole.
SMALL_FILE_LIMIT = 1 << 20


def read_small_text(path: Path, limit: int = SMALL_FILE_LIMIT) -> str | None:
    """The first ``limit`` bytes of ``path`` as text, or None when it is missing or not a
    regular file: opened without blocking, so a FIFO planted in a run directory cannot hang
    the runner or the report, and checked on the open descriptor (no device is read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return f.read(limit).decode("utf-8", errors="replace")


def find_results(run_dir: Path) -> list[Path]:
    """Non-empty results exports under ``run_dir``, best first: the core's
    ``find_result_files`` (the CloudAI plugin asks the same), an empty file being no result."""
    if not run_dir.is_dir():
        return []
    found = (Path(f["path"]) for f in _core.find_result_files(run_dir))
    return [p for p in found if p.is_file() and p.stat().st_size > 0]


def failure_marker_text(run_dir: Path) -> str | None:
    """The failure marker a run's script left, in either schema's name, if any."""
    for name in _core.FAILURE_MARKERS:
        text = read_small_text(run_dir / name)
        if text is not None:
            return text
    return None


def has_done_marker(run_dir: Path) -> bool:
    """Whether the run's script reached its normal end (either schema's marker name)."""
    return any((run_dir / n).is_file() for n in _core.DONE_MARKERS)


def failure_cause(marker_text: str) -> str:
    """Explain a failure marker: who died, where, with which code, and its last words (the
    core reads the line the job scripts write)."""
    return _core.failure_cause(marker_text)


def combine(run_dir: Path, info: JobInfo) -> tuple[Status, str]:
    """Status and cause of a job that reached a terminal Slurm state.

    The failure marker wins over everything: a script that caught a dead worker and then
    exited cleanly is still a failed benchmark.
    """
    marker_text = failure_marker_text(run_dir)
    if marker_text is not None:
        return "failed", failure_cause(marker_text)
    slurm = _core.slurm_verdict(info.state, info.exit_code)
    if slurm is not None:
        return cast(Status, slurm[0]), slurm[1]
    return script_verdict(run_dir)


def script_verdict(run_dir: Path) -> tuple[Status, str]:
    """Status and cause of a job from what its script left, Slurm's verdict aside (the
    failure marker is checked before it): results, the done marker, then the requests.
    One rule for the embedded runner and the CloudAI plugin, so both agree on a run."""
    if not find_results(run_dir):
        return "failed", "no results file"
    if not has_done_marker(run_dir):
        return "failed", f"no {DONE_MARKER}: the job script did not reach its normal end"
    return _requests_verdict(run_dir)


def _requests_verdict(run_dir: Path) -> tuple[Status, str]:
    """A job that ended normally but whose every request failed measured nothing: failed,
    by the core's rule on the export's request counts. A partly failed run completes (the
    report flags it); an unreadable export is left to the report, which names the error."""
    try:
        outcome = _core.request_outcome(run_dir)
    except (_core.ResultsError, OSError):
        return "completed", ""
    if outcome["verdict"] == "failed":
        return "failed", outcome["cause"]
    return "completed", ""


def write_status(run: PreparedRun, outcome: RunOutcome) -> None:
    """Write ``status.json`` atomically, so a reader never sees half a file."""
    data: dict[str, Any] = outcome.to_json()
    data.update(test_id=run.test_id, iteration=run.iteration, step=run.step, params=run.params)
    run.run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run.run_dir / f".{STATUS_FILE}.tmp"
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, run.run_dir / STATUS_FILE)
