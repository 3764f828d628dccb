"""The Slurm runner of the embedded engine.

``run_jobs`` takes the runs prepared by the dry-run code (one job script per run
directory), submits them through a :class:`Scheduler` (``SlurmScheduler`` for Slurm,
``StandaloneScheduler`` for local processes on a standalone system), keeps at
most ``max_parallel`` of them in the queue, honours the scenario's dependencies and returns
one :class:`RunOutcome` per run, also written to ``<run_dir>/status.json``.

Nothing here needs the native module.
"""

from __future__ import annotations

from ..signals import interrupt_on_signals
from .models import JobInfo, PreparedRun, RunOutcome, Status
from .runner import ProgressEvent, RunInterrupted, print_progress, run_jobs
from .scheduler import Scheduler, SchedulerError, SlurmScheduler, SubmitError
from .standalone import StandaloneScheduler
from .status import combine, failure_cause, find_results

__all__ = [
    "JobInfo",
    "PreparedRun",
    "ProgressEvent",
    "RunInterrupted",
    "RunOutcome",
    "Scheduler",
    "SchedulerError",
    "SlurmScheduler",
    "StandaloneScheduler",
    "Status",
    "SubmitError",
    "combine",
    "failure_cause",
    "find_results",
    "interrupt_on_signals",
    "print_progress",
    "run_jobs",
]
