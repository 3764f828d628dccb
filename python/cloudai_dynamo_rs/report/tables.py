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
from .metrics import ERRORS, METRICS, PER_GPU, PER_USER, RunMetrics, RunResults, read_run_results
from .runs import BAD_RECORD, Run

REPORT_FILE = "report.csv"
SUMMARY_FILE = "summary.csv"
TRAJECTORY_FILE = "trajectory.csv"
#: The per-GPU row appended to ``report.csv`` (CloudAI's label, so its users find it).
PER_GPU_LABEL = "Overall Output Tokens per Second per GPU"
GPUS_LABEL = "GPUs Counted (count)"
#: Failed requests, in the derived table (not aiperf's own label, which the export may hold).
ERRORS_LABEL = "Failed Requests (requests)"
ACCURACY_LABEL = "Accuracy (fraction)"
#: The per-source table of a run with several aiperf phases (or workloads).
PHASE_COLUMNS = [
    ("Phase", "phase"),
    ("Concurrency", "concurrency"),
    ("Output Token Throughput (tokens/sec)", "output_tokens_per_s"),
    (PER_GPU_LABEL, PER_GPU),
    ("Output Token Throughput Per User (tokens/sec/user)", PER_USER),
    ("Request Throughput (per sec)", "request_throughput_per_s"),
    ("Request Count (count)", "request_count"),
    (ERRORS_LABEL, ERRORS),
    ("Time To First Token avg (ms)", "ttft_avg_ms"),
    ("Time To First Token p99 (ms)", "ttft_p99_ms"),
    ("Inter Token Latency avg (ms)", "itl_avg_ms"),
    ("Inter Token Latency p99 (ms)", "itl_p99_ms"),
    ("Request Latency avg (ms)", "request_latency_avg_ms"),
    ("Report", "results_file"),
]

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
    """One source of a run (an aiperf phase, a genai-perf run, a seed run's export) with its
    metrics and the run's final status as the report shows it."""

    run: Run
    metrics: RunMetrics
    status: str
    cause: str

    @property
    def label(self) -> str:
        """``disagg/0`` or, for one phase of several, ``disagg/0 round_1``."""
        return self.run.label + (f" {self.metrics.phase}" if self.metrics.phase else "")


def _final_status(run: Run, results: RunResults) -> tuple[str, str]:
    """The runner's status, unless the results it accepted say otherwise (the core's
    verdict: unreadable or missing exports ``bad_results``, all requests of a source failed
    ``failed``, some ``flagged``); without a ``status.json`` (tree copied from elsewhere,
    runner killed) the files decide."""
    return _core.final_status(
        run.status, run.cause, results.verdict, results.cause, has_results=bool(results.sources)
    )


def build_rows(runs: Iterable[Run], gpus_per_node: int | None) -> list[RunRow]:
    """One row per source of each run (a run without any: one row, without figures)."""
    rows = []
    for run in runs:
        if run.status == BAD_RECORD:  # where it belongs is unknown: read and write nothing
            rows.append(RunRow(run, RunMetrics(), run.status, run.cause))
            continue
        results = read_run_results(run, gpus_per_node)
        status, cause = _final_status(run, results)
        for m in results.sources or [RunMetrics(gpus=results.gpus, accuracy=results.accuracy)]:
            rows.append(RunRow(run, m, status, cause))
    return rows


def runs_of(rows: Iterable[RunRow]) -> list[list[RunRow]]:
    """The rows grouped by run, in order."""
    groups: dict[Path, list[RunRow]] = {}
    for r in rows:
        groups.setdefault(r.run.run_dir, []).append(r)
    return list(groups.values())


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
    if isinstance(value, str):
        return _core.csv_text_cell(value)  # user text: never a spreadsheet formula
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


def write_run_report(rows: list[RunRow]) -> Path | None:
    """``report.csv`` of one run (``rows``: its sources): the export CloudAI reads for a bare
    metric key as written, then a ``Metric,Value`` table with the per-GPU throughput, its
    divisor, the failed requests and the accuracy, then, with several sources, one row per
    aiperf phase (or workload). Separate tables (no row spliced into the export's) keep every
    original table intact and the file valid for any multi-table reader."""
    readable = [r for r in rows if r.metrics.results_file is not None and not r.metrics.error]
    main = next((r for r in readable if r.metrics.primary), readable[-1] if readable else None)
    if main is None:
        return None
    source = main.metrics.results_file
    assert source is not None
    derived = [["Metric", "Value"]]
    per_gpu = main.metrics.values.get(PER_GPU)
    if per_gpu is not None:
        derived.append([PER_GPU_LABEL, _cell(per_gpu)])
    if main.metrics.gpus is not None:
        derived.append([GPUS_LABEL, str(main.metrics.gpus)])
    failed = main.metrics.values.get(ERRORS)
    if failed is not None:
        derived.append([ERRORS_LABEL, f"{failed:.2f}"])
    if main.metrics.accuracy is not None:
        derived.append([ACCURACY_LABEL, _cell(main.metrics.accuracy)])
    phases: list[list[str]] = []
    if len(rows) > 1:
        phases.append([h for h, _ in PHASE_COLUMNS])
        for r in rows:
            rec = {
                **r.metrics.values,
                "phase": r.metrics.phase,
                "concurrency": r.metrics.concurrency,
                "results_file": r.metrics.results_file and r.metrics.results_file.name,
            }
            phases.append([_cell(rec.get(k)) for _, k in PHASE_COLUMNS])

    def fill(out: BinaryIO) -> None:
        if source.suffix.lower() == ".csv":
            newline = _copy_export(source, out)
        else:
            newline = "\r\n"
            out.write(_csv_text(_tables_as_csv(_core.read_results(source)), newline).encode())
        for table in (derived, phases):
            if len(table) > 1:  # without gpus_per_node and counts, the export alone
                out.write((newline + _csv_text(table, newline)).encode())

    return atomic_write(main.run.run_dir / REPORT_FILE, fill)


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
        "phase",
        "concurrency",
        *METRIC_COLUMNS,
        "accuracy",
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
        "phase": m.phase,
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
        "concurrency": m.concurrency,
        **{c: m.values.get(c) for c in METRIC_COLUMNS},
        "accuracy": m.accuracy,
        "run_dir": rel(run.run_dir) or ".",
        "results_file": rel(m.results_file),
    }


def write_summary(path: Path, rows: list[RunRow], base: Path) -> Path:
    """One row per source of each run (an aiperf phase: ``phase``), in the order given;
    paths relative to ``base``."""
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
