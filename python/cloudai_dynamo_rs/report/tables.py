"""The CSV outputs: per-run ``report.csv``, per-test and per-scenario ``summary.csv``, and
per-iteration ``trajectory.csv`` for sweeps (where CloudAI users look for a sweep's cases)."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .. import _core
from .metrics import ERRORS, METRICS, PER_GPU, PER_USER, RunMetrics, read_run_metrics
from .runs import BAD_RECORD, Run

REPORT_FILE = "report.csv"
SUMMARY_FILE = "summary.csv"
TRAJECTORY_FILE = "trajectory.csv"
#: The per-GPU row appended to ``report.csv`` (CloudAI's label, so its users find it).
PER_GPU_LABEL = "Overall Output Tokens per Second per GPU"
GPUS_LABEL = "GPUs Counted (count)"
#: Failed requests, in the derived table (not aiperf's own label, which the export may hold).
ERRORS_LABEL = "Failed Requests (requests)"

#: Metric columns of summaries, in order: throughputs first, then latencies.
METRIC_COLUMNS = [
    "output_tokens_per_s",
    PER_GPU,
    PER_USER,
    *(c for c in METRICS if c != "output_tokens_per_s"),
    ERRORS,
]


@dataclass
class RunRow:
    """A run with its metrics and its final status as the report shows it."""

    run: Run
    metrics: RunMetrics
    status: str
    cause: str


def _final_status(run: Run, metrics: RunMetrics) -> tuple[str, str]:
    """The runner's status, unless the results it accepted cannot be read or their request
    counts say otherwise (all failed: ``failed``; some: ``flagged``); without a
    ``status.json`` (tree copied from elsewhere, runner killed) the files decide."""
    if metrics.error and run.status in (None, "completed"):
        return "bad_results", metrics.error
    verdict = (metrics.requests or {}).get("verdict", "ok")
    if verdict != "ok" and run.status in (None, "completed"):
        assert metrics.requests is not None
        return ("failed" if verdict == "failed" else "flagged"), metrics.requests["cause"]
    if run.status is not None:
        return run.status, run.cause
    if metrics.results_file is not None:
        return "completed", ""
    return "not_run", "no status.json and no results file"


def build_rows(runs: Iterable[Run], gpus_per_node: int | None) -> list[RunRow]:
    rows = []
    for run in runs:
        if run.status == BAD_RECORD:  # where it belongs is unknown: read and write nothing
            rows.append(RunRow(run, RunMetrics(), run.status, run.cause))
            continue
        metrics = read_run_metrics(run, gpus_per_node)
        rows.append(RunRow(run, metrics, *_final_status(run, metrics)))
    return rows


def atomic_write(path: Path, content: str | Callable[[BinaryIO], None]) -> Path:
    """Write via a temporary file so a browser or script never sees half a report.

    The temporary name is unique to this writer (pid and random part, created exclusively),
    so reports generated in parallel on one tree do not trip over each other; the last
    rename wins, whole. ``content`` is the text, or a function that writes the bytes. On
    any failure (a full disk) the temporary file is removed and the error names the report
    file.
    """
    prefix = f".{path.name}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide the report from other users
        with os.fdopen(fd, "wb") as f:
            if isinstance(content, str):
                f.write(content.encode("utf-8"))
            else:
                content(f)
        os.replace(tmp, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OSError(err.errno, f"cannot write {path.name}: {err.strerror}", str(path)) from err
    return path


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest exact form: a reader gets the very same double
    return str(value)


# -- report.csv ---------------------------------------------------------------------------


def _tables_as_csv(results: _core.Results) -> list[list[str]]:
    """A JSON-only export rewritten as genai-perf-style tables, so report.csv is always CSV."""
    rows: list[list[str]] = []
    for table in results.tables:
        metrics = table.metrics
        stats: list[str] = []
        for metric in metrics:
            stats.extend(s for s in metric.stats if s not in stats)
        if rows:
            rows.append([])
        rows.append(["Metric", *stats])
        for metric in metrics:
            # The unit goes into the label, as in the tools' CSVs, so it is not lost.
            label = metric.label + (f" ({metric.unit})" if metric.unit else "")
            values = metric.stats
            rows.append([label, *(_cell(values.get(s)) for s in stats)])
    return rows


def write_run_report(row: RunRow) -> Path | None:
    """``report.csv``: the export as written plus a ``Metric,Value`` table with the per-GPU
    throughput and its divisor. A separate table (not a row spliced into the throughput's
    table) keeps every original table intact and the file valid for any multi-table reader."""
    source = row.metrics.results_file
    if source is None or row.metrics.error:
        return None
    derived = [["Metric", "Value"]]
    per_gpu = row.metrics.values.get(PER_GPU)
    if per_gpu is not None:
        derived.append([PER_GPU_LABEL, _cell(per_gpu)])
    if row.metrics.gpus is not None:
        derived.append([GPUS_LABEL, str(row.metrics.gpus)])
    failed = row.metrics.values.get(ERRORS)
    if failed is not None:
        derived.append([ERRORS_LABEL, f"{failed:.2f}"])

    def fill(out: BinaryIO) -> None:
        if source.suffix.lower() == ".csv":
            newline = _copy_export(source, out)
        else:
            newline = "\r\n"
            out.write(_csv_text(_tables_as_csv(_core.read_results(source)), newline).encode())
        if len(derived) > 1:  # without gpus_per_node and counts, the export alone
            out.write((newline + _csv_text(derived, newline)).encode())

    return atomic_write(row.run.run_dir / REPORT_FILE, fill)


#: Exports are copied in chunks of this size, so a large one is never held whole.
_CHUNK = 1 << 20


def _copy_export(source: Path, out: BinaryIO) -> str:
    """Copy a CSV export as written (less a BOM), ending it with a line break if it has
    none; the line break its rows use (CRLF as written by the tools, LF in copies)."""
    with open(source, "rb") as f:
        chunk = f.read(_CHUNK).removeprefix(codecs.BOM_UTF8)
        newline = "\r\n" if b"\r\n" in chunk else "\n"
        last = b""
        while chunk:
            out.write(chunk)
            last = chunk[-1:]
            chunk = f.read(_CHUNK)
    if last not in (b"\n", b"\r"):
        out.write(newline.encode())
    return newline


def _csv_text(rows: list[list[str]], newline: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    return buf.getvalue()


# -- summary.csv / trajectory.csv ---------------------------------------------------------


def param_columns(rows: Iterable[RunRow]) -> list[str]:
    """Sweep parameter names in order of first appearance."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.run.params))
    return list(names)


def summary_columns(rows: list[RunRow]) -> list[str]:
    return [
        "test_id",
        "iteration",
        "step",
        *param_columns(rows),
        "status",
        "cause",
        "job_id",
        "elapsed_s",
        "num_nodes",
        "prefill_nodes",
        "decode_nodes",
        "engine_nodes",
        "gpus",
        "concurrency",
        *METRIC_COLUMNS,
        "run_dir",
        "results_file",
    ]


def summary_record(row: RunRow, base: Path) -> dict[str, Any]:
    run, m = row.run, row.metrics

    def rel(p: Path | None) -> str | None:
        return None if p is None else str(p.relative_to(base) if p.is_relative_to(base) else p)

    return {
        "test_id": run.test_id,
        "iteration": run.iteration,
        "step": run.step,
        **run.params,
        "status": row.status,
        "cause": row.cause,
        "job_id": run.job_id,
        "elapsed_s": run.elapsed,
        "num_nodes": run.num_nodes,
        "prefill_nodes": run.prefill_nodes,
        "decode_nodes": run.decode_nodes,
        "engine_nodes": run.engine_nodes,
        "gpus": m.gpus,
        "concurrency": run.concurrency,
        **{c: m.values.get(c) for c in METRIC_COLUMNS},
        "run_dir": rel(run.run_dir) or ".",
        "results_file": rel(m.results_file),
    }


def write_summary(path: Path, rows: list[RunRow], base: Path) -> Path:
    """One row per run, in the order given; paths relative to ``base``."""
    columns = summary_columns(rows)
    table = [columns] + [
        [_cell(rec.get(c)) for c in columns] for rec in (summary_record(r, base) for r in rows)
    ]
    return atomic_write(path, _csv_text(table, "\n"))


def write_trajectories(test_dir: Path, rows: list[RunRow]) -> list[Path]:
    """``<test>/<iteration>/trajectory.csv`` for sweeps: each step's parameters and metrics."""
    written = []
    for iteration in sorted({r.run.iteration for r in rows if r.run.step is not None}):
        steps = [r for r in rows if r.run.iteration == iteration and r.run.step is not None]
        written.append(write_summary(test_dir / str(iteration) / TRAJECTORY_FILE, steps, test_dir))
    return written
