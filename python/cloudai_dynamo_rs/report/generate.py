"""``generate_report``: every output of the report for one scenario results directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .html import render_html
from .plots import make_plots, matplotlib_available
from .runs import RECORD_FILE, find_runs, load_run
from .tables import (
    SUMMARY_FILE,
    RunRow,
    atomic_write,
    build_rows,
    runs_of,
    write_run_report,
    write_summary,
    write_trajectories,
)

HTML_FILE = "report.html"


@dataclass(frozen=True)
class ReportPaths:
    """Everything ``generate_report`` wrote."""

    results_dir: Path
    summary: Path  # <results>/summary.csv: one row per run of the scenario
    html: Path  # <results>/report.html
    run_reports: list[Path] = field(default_factory=list)  # <run>/report.csv
    test_summaries: dict[str, Path] = field(default_factory=dict)  # <results>/<test>/summary.csv
    test_html: dict[str, Path] = field(default_factory=dict)  # <results>/<test>/report.html
    trajectories: list[Path] = field(default_factory=list)  # <test>/<iteration>/trajectory.csv
    plots: bool = True  # False when matplotlib is missing (the HTML says so)

    def __str__(self) -> str:
        return (
            f"{self.html} (summary {self.summary}; {len(self.run_reports)} run report(s), "
            f"{len(self.test_summaries)} test summary(ies))"
        )


def _write_page(
    path: Path,
    title: str,
    results_dir: Path,
    rows: list[RunRow],
    gpus_per_node: int | None,
    plots: bool,
) -> Path:
    figures = make_plots(rows) if plots else None
    return atomic_write(path, render_html(title, results_dir, rows, figures, gpus_per_node))


def generate_report(
    results_dir: Path, gpus_per_node: int | None, *, trajectories: bool = True
) -> ReportPaths:
    """Write the per-run, per-test and per-scenario reports of ``results_dir``.

    ``results_dir`` is a scenario's results tree (``<output>/<scenario>_<timestamp>/``, as
    written by ``cloudaix dry-run``/``run``). ``gpus_per_node`` comes from the system file;
    None leaves the per-GPU columns empty. ``trajectories=False`` leaves ``trajectory.csv``
    to CloudAI, whose DSE appends its observations there. Raises FileNotFoundError when no
    run is found.
    """
    results_dir = Path(results_dir)
    runs = find_runs(results_dir)
    if not runs:
        raise FileNotFoundError(
            f"{results_dir}: no test runs found "
            "(expected <test id>/<iteration>[/<step>]/test-run.json, as written by dry-run)"
        )
    rows = build_rows(runs, gpus_per_node)
    plots = matplotlib_available()
    run_reports = [p for p in (write_run_report(g) for g in runs_of(rows)) if p is not None]
    test_summaries: dict[str, Path] = {}
    test_html: dict[str, Path] = {}
    written_trajectories: list[Path] = []
    for test_id in dict.fromkeys(r.run.test_id for r in rows):
        test_rows = [r for r in rows if r.run.test_id == test_id]
        test_dir = results_dir / test_id
        test_summaries[test_id] = write_summary(test_dir / SUMMARY_FILE, test_rows, test_dir)
        if trajectories:
            written_trajectories.extend(write_trajectories(test_dir, test_rows))
        test_html[test_id] = _write_page(
            test_dir / HTML_FILE,
            f"AI Dynamo report: {test_id}",
            test_dir,
            test_rows,
            gpus_per_node,
            plots,
        )
    return ReportPaths(
        results_dir=results_dir,
        summary=write_summary(results_dir / SUMMARY_FILE, rows, results_dir),
        html=_write_page(
            results_dir / HTML_FILE,
            f"AI Dynamo report: {results_dir.name}",
            results_dir,
            rows,
            gpus_per_node,
            plots,
        ),
        run_reports=run_reports,
        test_summaries=test_summaries,
        test_html=test_html,
        trajectories=written_trajectories,
        plots=plots,
    )


def write_single_report(run_dir: Path, gpus_per_node: int | None) -> Path | None:
    """``report.csv`` of one run directory (a host framework's per-run reporter asks for it);
    None when the run has no readable results."""
    run_dir = Path(run_dir)
    run = load_run(run_dir / RECORD_FILE, run_dir.parents[1], placed=False)
    return write_run_report(build_rows([run], gpus_per_node))
