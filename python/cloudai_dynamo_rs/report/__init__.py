"""Reports of a scenario's results tree: per-run ``report.csv`` (with the per-GPU throughput),
per-test and per-scenario ``summary.csv`` (one row per run, sweep parameters as columns),
per-iteration ``trajectory.csv`` for sweeps, and self-contained ``report.html`` pages.

See :mod:`.metrics` for how throughput per GPU and per user are defined.
"""

from __future__ import annotations

from .generate import ReportPaths, generate_report

__all__ = ["ReportPaths", "generate_report"]
