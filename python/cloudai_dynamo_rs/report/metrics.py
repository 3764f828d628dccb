"""The figures of one run, as the core reads them (``_core.run_results``): one set per source
(an aiperf phase or a genai-perf run of a current-schema test; the preferred export of a
seed-schema run), each with its per-GPU and per-user rates, and the run's verdict. The rules
(which files, per-GPU divisor, per-user fallback, request verdicts, accuracy) are the core's;
this module only carries them to the report.

**Per-GPU divisor.** The GPUs of the nodes that run an engine, ``engine_nodes *
gpus_per_node`` from the node plan (``topology.engine_nodes`` in ``test-run.json``).

**Per-user rate.** The per-request ``Output Token Throughput Per User`` metric when the export
has it, otherwise output token throughput / the source's concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _core
from .runs import Run

#: Summary columns read from each export, in the core's names (``_core.Figures``).
METRICS: tuple[str, ...] = (
    "output_tokens_per_s",
    "request_throughput_per_s",
    "request_count",
    "ttft_avg_ms",
    "ttft_p50_ms",
    "ttft_p99_ms",
    "itl_avg_ms",
    "itl_p50_ms",
    "itl_p99_ms",
    "request_latency_avg_ms",
    "request_latency_p50_ms",
    "request_latency_p99_ms",
)
#: Derived columns, placed after the throughput in summaries.
PER_GPU = "output_tokens_per_s_per_gpu"
PER_USER = "output_tokens_per_s_per_user"
#: Failed requests (aiperf's ``Error Request Count``), from the core's request outcome.
ERRORS = "error_request_count"


@dataclass
class RunMetrics:
    """What the report shows of one source of a run."""

    results_file: Path | None = None
    values: dict[str, float | None] = field(default_factory=dict)
    gpus: int | None = None
    error: str = ""  # why this source could not be read
    #: Phase or workload name (``round_1``, ``genai_perf``); empty for a seed-schema run.
    phase: str = ""
    concurrency: float | None = None
    #: The source CloudAI reads for a bare metric key (its ``<workload>_report.csv``).
    primary: bool = True
    #: The run's accuracy (fraction), when its test runs an accuracy benchmark.
    accuracy: float | None = None


@dataclass
class RunResults:
    """One run's sources and the core's verdict on them."""

    sources: list[RunMetrics]
    verdict: str = "no_results"  # ok, flagged, failed, bad_results, no_results
    cause: str = ""
    gpus: int | None = None
    accuracy: float | None = None


def read_run_results(run: Run, gpus_per_node: int | None) -> RunResults:
    """The core's view of ``run``; an unreadable directory becomes a ``bad_results`` run."""
    try:
        res: dict[str, Any] = dict(_core.run_results(run.run_dir, gpus_per_node))
    except (_core.ResultsError, OSError) as err:
        return RunResults(sources=[], verdict="bad_results", cause=str(err))
    acc = res["accuracy"]
    accuracy = acc["accuracy"]["value"] if acc and acc["accuracy"] else None
    sources = [
        RunMetrics(
            results_file=None if s["file"] is None else Path(s["file"]),
            values=dict(s["figures"]) if s["error"] is None else {},
            gpus=res["gpus"],
            error=s["error"] or "",
            phase=s["name"],
            concurrency=s["concurrency"],
            primary=s["primary"],
            accuracy=accuracy,
        )
        for s in res["sources"]
    ]
    return RunResults(sources, res["verdict"], res["cause"], res["gpus"], accuracy)
