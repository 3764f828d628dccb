"""The metrics of one run, and the two derived rates: per GPU and per user.

**Per-GPU divisor.** Output token throughput per GPU divides the run's output token throughput
by the GPUs of the nodes that run an engine: ``engine_nodes * gpus_per_node``, where the node
plan (``topology.engine_nodes`` in ``test-run.json``, decided by the Rust core) counts the
prefill and decode nodes plus the frontend node when it hosts an engine. With the seed's
default commands it does (``dynamo serve graphs.agg_router:Frontend`` starts Dynamo's
Frontend → Processor → Router → VllmWorker graph there), so the divisor is CloudAI's
``(1 + prefill + decode) * gpus_per_node``; a frontend ``cmd`` such as
``python -m dynamo.frontend`` runs none (unless ``runs_engine = true``): ``(prefill + decode)``.
The arithmetic is the core's (``_core.per_gpu_throughput``).

**Per-user rate.** The per-request ``Output Token Throughput Per User`` metric when the file
has one (genai-perf ≥ 0.0.16, aiperf: measured per request), otherwise output token
throughput / concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _core
from .runs import Run

#: Summary column → (metric as `get_metric` understands it, statistic or None for default).
METRICS: dict[str, tuple[str, str | None]] = {
    "output_tokens_per_s": ("output-token-throughput", None),
    "request_throughput_per_s": ("request-throughput", None),
    "request_count": ("Request Count", None),
    "ttft_avg_ms": ("time-to-first-token", "avg"),
    "ttft_p50_ms": ("time-to-first-token", "p50"),
    "ttft_p99_ms": ("time-to-first-token", "p99"),
    "itl_avg_ms": ("inter-token-latency", "avg"),
    "itl_p50_ms": ("inter-token-latency", "p50"),
    "itl_p99_ms": ("inter-token-latency", "p99"),
    "request_latency_avg_ms": ("request-latency", "avg"),
    "request_latency_p50_ms": ("request-latency", "p50"),
    "request_latency_p99_ms": ("request-latency", "p99"),
}
PER_USER_METRIC = ("Output Token Throughput Per User", "avg")

#: Derived columns, placed after the throughput in summaries.
PER_GPU = "output_tokens_per_s_per_gpu"
PER_USER = "output_tokens_per_s_per_user"
#: Failed requests (aiperf's ``Error Request Count``), from the core's request outcome.
ERRORS = "error_request_count"
#: What stays of an export whose requests all failed: its figures measure nothing.
COUNT_COLUMNS = ("request_count", ERRORS)


@dataclass
class RunMetrics:
    """What the report shows of one run's results."""

    results_file: Path | None = None
    values: dict[str, float | None] = field(default_factory=dict)
    gpus: int | None = None
    error: str = ""  # why the results could not be read
    #: The core's verdict on the request counts: ``{"verdict", "cause", ...}``.
    requests: dict[str, Any] | None = None


def best_results_file(run_dir: Path) -> Path | None:
    """The export the report reads: the preferred CSV, else the preferred JSON."""
    files = _core.find_result_files(run_dir)
    csv = [f for f in files if f["format"] == "csv"]
    chosen = (csv or files)[:1]
    return Path(chosen[0]["path"]) if chosen else None


def read_run_metrics(run: Run, gpus_per_node: int | None) -> RunMetrics:
    """Metrics of ``run``; a malformed file becomes ``error`` rather than aborting the report."""
    out = RunMetrics(gpus=_core.per_gpu_throughput(None, run.engine_nodes, gpus_per_node)[0])
    try:
        out.results_file = best_results_file(run.run_dir)
    except OSError as err:
        out.error = str(err)
        return out
    if out.results_file is None:
        return out
    specs: list[str | tuple[str, str | None]] = [*METRICS.values(), PER_USER_METRIC]
    try:
        (row,) = _core.read_metrics_many([out.results_file], specs)
        out.requests = dict(_core.request_outcome(out.results_file))
    except (_core.ResultsError, OSError) as err:
        out.error = str(err)
        return out
    out.values = dict(zip(METRICS, row[: len(METRICS)], strict=True))
    out.values[ERRORS] = out.requests["failed"]
    if out.requests["verdict"] == "failed":
        # Every request failed: keep the counts, drop figures that measure nothing.
        out.values = {k: (v if k in COUNT_COLUMNS else None) for k, v in out.values.items()}
        out.values[PER_GPU] = out.values[PER_USER] = None
        return out
    throughput = out.values["output_tokens_per_s"]
    out.gpus, out.values[PER_GPU] = _core.per_gpu_throughput(
        throughput, run.engine_nodes, gpus_per_node
    )
    out.values[PER_USER] = _per_user(throughput, row[-1], run.concurrency)
    return out


def _per_user(
    throughput: float | None, measured: float | None, concurrency: float | None
) -> float | None:
    if measured is not None:
        return measured
    if throughput is None or not concurrency:
        return None
    return throughput / concurrency
