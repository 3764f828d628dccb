"""Results side of the CloudAI plugin: metric lookup, report and job status.

Everything goes through the core's results parser and the embedded engine's report and
status rules, so that both engines give the same numbers. No CloudAI here: unit-tested
without it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .. import _core
from ..errors import MetricKeyError, ResultsError
from ..report.generate import ReportPaths, generate_report, write_single_report
from ..runner.models import JobInfo, PreparedRun, RunOutcome
from ..runner.scheduler import normalize_state
from ..runner.status import (
    combine,
    failure_cause,
    failure_marker_text,
    script_verdict,
    write_status,
)

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: CloudAI's own dependency reads TOML
    import toml as tomllib  # type: ignore[no-redef]

#: CloudAI's record of a finished Slurm job (its SlurmRunner writes it into the run directory
#: at 13816b1a and 5b5c0f72): job id, state, exit code, elapsed seconds.
SLURM_JOB_FILE = "slurm-job.toml"
RECORD_FILE = _core.RECORD_FILE  # ours, written next to the scripts


class MetricKeys(list[str]):
    """CloudAI's `metrics` class variable: lists the keys, and contains every parseable key.

    CloudAI checks ``all(m in reporter.metrics for m in agent_metrics)`` before a DSE run, so
    containment decides which `agent_metrics` are accepted.
    """

    def __init__(self) -> None:
        super().__init__(_core.METRIC_KEYS)

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, str):
            return False
        try:
            _core.check_metric_key(item)
        except MetricKeyError:
            return False
        return True


def has_results(run_dir: Path) -> bool:
    try:
        return bool(_core.find_result_files(run_dir))
    except OSError:
        return False


def is_our_run(run_dir: Path) -> bool:
    """A run directory our scripts were written into, or one holding results to read."""
    return (run_dir / RECORD_FILE).is_file() or has_results(run_dir)


def metric(run_dir: Path, key: str) -> float | None:
    """Value of CloudAI metric ``key`` for the run in ``run_dir``; None when unavailable
    (CloudAI turns that into its METRIC_ERROR)."""
    # The core answers as the CloudAI of the run's schema generation does.
    try:
        return _core.cloudai_metric(run_dir, key)
    except (MetricKeyError, ResultsError, OSError) as why:  # not InternalError: a bug shows
        logging.debug("metric %r: %s", key, why)
        return None


def write_report(run_dir: Path, gpus_per_node: int | None) -> Path | None:
    """The embedded engine's ``report.csv`` (export + per-GPU throughput of the worker nodes)."""
    return write_single_report(run_dir, gpus_per_node)


def write_run_status(run_dir: Path) -> RunOutcome | None:
    """Write ``status.json`` of a run CloudAI's Slurm runner finished, as the embedded runner
    writes it: Slurm's verdict from CloudAI's ``slurm-job.toml``, overruled by our markers.
    None (nothing written) when CloudAI left no job record (dry-run, other runners)."""
    try:
        job = tomllib.loads((run_dir / SLURM_JOB_FILE).read_text())
        record = json.loads((run_dir / RECORD_FILE).read_text())
    except (OSError, ValueError) as err:
        logging.debug("%s: no status.json: %s", run_dir, err)
        return None
    info = JobInfo(
        normalize_state(str(job.get("state", ""))),
        job.get("exit_code"),
        job.get("elapsed_time_sec"),
    )
    status, cause = combine(run_dir, info)
    step = record.get("step")
    run = PreparedRun(
        key="/".join(str(p) for p in (record["id"], record["iteration"], step) if p is not None),
        test_id=record["id"],
        iteration=record["iteration"],
        step=step,
        run_dir=run_dir,
        sbatch_script=run_dir / _core.SBATCH_FILE,
        params=record.get("params") or {},
    )
    job_id = job.get("job_id")
    outcome = RunOutcome(
        key=run.key,
        job_id=None if job_id is None else str(job_id),
        slurm_state=info.state,
        status=status,
        cause=cause,
        elapsed=float(info.elapsed or 0),
    )
    write_status(run, outcome)
    return outcome


def results_dir_of(run_dir: Path) -> Path:
    """The scenario's results directory: ``<results>/<test id>/<iteration>[/<step>]``."""
    try:
        step = json.loads((run_dir / RECORD_FILE).read_text()).get("step")
    except (OSError, ValueError):
        step = None
    return run_dir.parents[2 if step is not None else 1]


def write_outputs(run_dir: Path, gpus_per_node: int | None) -> ReportPaths | None:
    """Everything the embedded engine writes after a run, from CloudAI's per-run report step:
    ``status.json``, ``report.csv``, then the scenario's and the test's ``summary.csv`` and
    ``report.html`` (rewritten at each run's step, so the last one covers all runs)."""
    write_run_status(run_dir)
    write_report(run_dir, gpus_per_node)
    try:
        # CloudAI's DSE owns trajectory.csv (it appends each step's observation there).
        return generate_report(results_dir_of(run_dir), gpus_per_node, trajectories=False)
    except FileNotFoundError as err:
        logging.warning("cloudai-dynamo-rs report: %s", err)
        return None


def finished(run_dir: Path) -> tuple[bool, str]:
    """``(successful, why not)`` of a run CloudAI saw finish; writes its ``status.json``."""
    outcome = write_run_status(run_dir)
    if outcome is None:
        return job_status(run_dir)
    return outcome.status == "completed", outcome.cause


def job_status(run_dir: Path) -> tuple[bool, str]:
    """``(successful, why not)`` of a finished run, from what its job script left: the
    embedded runner's rule (``runner.status``) without Slurm's verdict, which CloudAI did not
    record.

    Slurm's exit code is not enough: a script that stops every process after a dead worker
    may still exit 0, so the failure marker wins, and success needs results, the done
    marker (the script reached its normal end) and a request that did not fail.
    """
    marker = failure_marker_text(run_dir)
    if marker is not None:
        return False, failure_cause(marker)
    status, cause = script_verdict(run_dir)
    return status == "completed", cause
