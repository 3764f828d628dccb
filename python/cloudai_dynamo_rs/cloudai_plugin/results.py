"""Results side of the CloudAI plugin: metric lookup, report and job status.

No CloudAI here, so it is unit-tested without it.

``metric`` asks the core's results parser (``_core.get_metric``) when the built module has it,
and otherwise reads genai-perf/aiperf CSVs in Python (``lookup``), with the same key
semantics. The Python reader is a bridge for wheels built before the core's results bindings;
it can go once every build has them.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import _core

FAILURE_MARKER = "failure.marker"
DONE_MARKER = "done.marker"
REPORT_FILE = "report.csv"
TEST_RUN_RECORD = "test-run.json"

# genai-perf names its CSV after the profile export (profile_genai_perf.csv,
# profile_export_genai_perf.csv); aiperf always uses one name.
RESULT_PATTERNS = ("profile*_genai_perf.csv", "profile_export_aiperf.csv")

_UNIT = re.compile(r"^(?P<name>.*?)\s*\((?P<unit>[^()]*)\)$")
_MARKER_HEAD = re.compile(r"(\w+)=(\S*)")
_TO_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3, "sec": 1e3}
_MISSING = frozenset({"", "N/A", "n/a", "nan", "NaN"})


@dataclass(frozen=True)
class MetricQuery:
    """What a CloudAI metric key asks for: names to match, which column, unit handling."""

    names: tuple[str, ...]
    stat: str | None = None  # None: `avg`, else `Value` (single-value sections)
    in_ms: bool = False  # durations are reported in milliseconds whatever the file's unit


_THROUGHPUT = MetricQuery(("Output Token Throughput",))

# CloudAI's AIDynamo metric keys (report strategy at 13816b1a), used by DSE `agent_metrics`.
METRIC_KEYS: dict[str, MetricQuery] = {
    "default": _THROUGHPUT,
    "output-token-throughput": _THROUGHPUT,
    "request-throughput": MetricQuery(("Request Throughput",)),
    "time-to-first-token": MetricQuery(("Time To First Token",), in_ms=True),
    "time-to-second-token": MetricQuery(("Time To Second Token",), in_ms=True),
    "request-latency": MetricQuery(("Request Latency",), in_ms=True),
    "inter-token-latency": MetricQuery(("Inter Token Latency",), in_ms=True),
}


def parse_metric_key(key: str) -> MetricQuery | None:
    """Query for ``key``, or None when it is no metric key CloudAI would send.

    Accepted: the keys above; HEAD's ``<benchmark>:<CSV metric name>:<column>``; a bare CSV
    metric name (``Time To First Token (ms)``; they start with a capital letter, which tells
    them from a misspelled key such as ``thruput``).
    """
    if key in METRIC_KEYS:
        return METRIC_KEYS[key]
    parts = key.split(":")
    if len(parts) == 3 and all(p.strip() for p in parts):
        return MetricQuery((parts[1].strip(),), stat=parts[2].strip())
    if key[:1].isupper():
        return MetricQuery((key,))
    return None


class MetricKeys(list[str]):
    """CloudAI's `metrics` class variable: lists the keys, and contains every parseable key.

    CloudAI checks ``all(m in reporter.metrics for m in agent_metrics)`` before a DSE run, so
    containment decides which `agent_metrics` are accepted.
    """

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and parse_metric_key(item) is not None


def find_results_csv(run_dir: Path) -> Path | None:
    """The run's summary CSV: outside `warmup/` first, then the shallowest, then by name."""
    found = [
        p
        for pattern in RESULT_PATTERNS
        for p in run_dir.rglob(pattern)
        if p.is_file() and p.stat().st_size > 0
    ]
    if not found:
        return None
    return min(found, key=lambda p: ("warmup" in p.relative_to(run_dir).parts, len(p.parts), p))


def read_metric_rows(csv_path: Path) -> dict[str, dict[str, str]]:
    """Rows by metric label, every section of the file; a `Metric,...` row starts a section."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    with csv_path.open(newline="", encoding="utf-8-sig") as f:
        for raw in csv.reader(f):
            row = [cell.strip() for cell in raw]
            if not any(row):
                continue
            if row[0] == "Metric":
                header = row
            elif header is not None:
                # The first section holds the statistics; a later duplicate must not win.
                rows.setdefault(row[0], dict(zip(header[1:], row[1:], strict=False)))
    return rows


def split_unit(label: str) -> tuple[str, str | None]:
    """``Time To First Token (ms)`` -> (``Time To First Token``, ``ms``)."""
    m = _UNIT.match(label)
    return (m["name"], m["unit"]) if m else (label, None)


def _find_row(
    rows: dict[str, dict[str, str]], names: tuple[str, ...]
) -> tuple[str, dict[str, str]] | None:
    for name in names:
        if name in rows:
            return name, rows[name]
    # genai-perf and aiperf differ in case ("To"/"to") and units ("per sec"/"tokens/sec").
    wanted = {split_unit(n)[0].casefold() for n in names}
    for label, row in rows.items():
        if split_unit(label)[0].casefold() in wanted:
            return label, row
    return None


def _number(text: str | None) -> float | None:
    if text is None or text in _MISSING:
        return None
    try:
        return float(text.replace(",", ""))  # genai-perf writes "1,146.31"
    except ValueError:
        return None


def lookup(rows: dict[str, dict[str, str]], query: MetricQuery) -> float | None:
    found = _find_row(rows, query.names)
    if found is None:
        return None
    label, row = found
    stat = query.stat or ("avg" if _number(row.get("avg")) is not None else "Value")
    value = _number(row.get(stat))
    if value is None or not query.in_ms:
        return value
    unit = split_unit(label)[1]
    return value * _TO_MS.get(unit or "ms", 1.0)


CoreGetMetric = Callable[[Path, str, str | None], float]


def core_get_metric() -> CoreGetMetric | None:
    """The core's metric lookup, if this build of the native module has it."""
    return getattr(_core, "get_metric", None)


def metric(run_dir: Path, key: str) -> float | None:
    """Value of CloudAI metric ``key`` for the run in ``run_dir``; None when unavailable."""
    query = parse_metric_key(key)
    if query is None:
        logging.debug("metric %r: not a metric key", key)
        return None
    get = core_get_metric()
    if get is not None:
        name = key if key in METRIC_KEYS else query.names[0]
        try:
            return get(run_dir, name, query.stat)
        except (ValueError, OSError) as err:  # MetricNotFoundError, ResultsError, no file
            logging.debug("metric %r: %s", key, err)
            return None
    return _python_metric(run_dir, query)


def _python_metric(run_dir: Path, query: MetricQuery) -> float | None:
    csv_path = find_results_csv(run_dir)
    if csv_path is None:
        return None
    try:
        return lookup(read_metric_rows(csv_path), query)
    except (OSError, csv.Error, UnicodeDecodeError) as err:
        logging.warning("cannot read %s: %s", csv_path, err)
        return None


# ---- report ------------------------------------------------------------------------------

REPORT_KEYS = (
    "output-token-throughput",
    "request-throughput",
    "time-to-first-token",
    "time-to-second-token",
    "request-latency",
    "inter-token-latency",
)


def worker_nodes(run_dir: Path, fallback: int) -> int:
    """Prefill + decode nodes of the run, from the record our scripts wrote.

    The per-GPU throughput divides by the workers' GPUs only, as the embedded engine's report
    does: the frontend node runs no engine, so counting its GPUs (CloudAI's built-in divides by
    ``(1 + prefill + decode) * gpus_per_node``) would understate small topologies.
    """
    try:
        topology = json.loads((run_dir / TEST_RUN_RECORD).read_text())["topology"]
        return int(topology["prefill"]) + int(topology["decode"])
    except (OSError, ValueError, KeyError, TypeError):
        return fallback


def report_rows(run_dir: Path, gpus: int | None) -> list[tuple[str, str]]:
    """``(metric, value)`` rows; an empty value marks a metric the results do not have."""
    values = {k: metric(run_dir, k) for k in REPORT_KEYS}
    throughput = values["output-token-throughput"]
    per_gpu = throughput / gpus if throughput is not None and gpus else None
    out = [(k, _fmt(v)) for k, v in values.items()]
    out.insert(1, ("output-token-throughput-per-gpu", _fmt(per_gpu)))
    return out


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def write_report(run_dir: Path, gpus: int | None) -> Path:
    """Write ``report.csv``: the CloudAI metric keys and the throughput per worker GPU."""
    path = run_dir / REPORT_FILE
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("metric", "value"))
        writer.writerows(report_rows(run_dir, gpus))
    return path


# ---- job status --------------------------------------------------------------------------


def failure_cause(marker_text: str) -> str:
    """Explain a ``failure.marker``: who died, where, with which code, and its last words."""
    lines = marker_text.splitlines()
    head = dict(_MARKER_HEAD.findall(lines[0])) if lines else {}
    tail = [line.strip() for line in lines[1:] if line.strip()]
    last = f": {tail[-1][:300]}" if tail else ""
    if "role" not in head:
        return f"failure marker: {lines[0].strip() if lines else 'empty'}{last}"
    who = head["role"]
    if head.get("node"):
        who += f" on {head['node']}"
    if head.get("process"):
        who += f" (process {head['process']})"
    what = f"exited with code {head['exit']}" if head.get("exit") else "failed"
    return f"{who} {what}{last}"


def job_status(run_dir: Path) -> tuple[bool, str]:
    """``(successful, why not)`` of a finished run, from what its job script left.

    Slurm's exit code is not enough: a script that stops every process after a dead worker
    may still exit 0, so the failure marker wins, and success needs results and the done
    marker (the script reached its normal end).
    """
    marker = run_dir / FAILURE_MARKER
    if marker.is_file():
        return False, failure_cause(marker.read_text(errors="replace"))
    if find_results_csv(run_dir) is None:
        return False, f"no genai-perf/aiperf results CSV in {run_dir}"
    if not (run_dir / DONE_MARKER).is_file():
        return False, f"no {DONE_MARKER} in {run_dir}: the job script did not reach its normal end"
    return True, ""
