"""Submit prepared runs, keep at most N in the scheduler, follow them to the end.

One thread, one loop: end dependents whose ``end_post_comp`` test finished, submit what is
ready, poll, record finished runs, sleep. Every state change is reported once through the
``progress`` callback (by default a line on stderr). Ctrl-C or SIGTERM cancels every job this
call submitted, waits for Slurm to confirm, records the outcomes and raises
:class:`RunInterrupted`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import get_args

from ..signals import Signals
from .models import (
    DEPENDENCY_TYPES,
    END_POST_COMP,
    START_POST_COMP,
    START_POST_INIT,
    STARTED_STATES,
    JobInfo,
    PreparedRun,
    RunOutcome,
    Status,
)
from .scheduler import Scheduler, SchedulerError, SubmitError
from .status import combine, write_status

INTERRUPTED = "interrupted: cancelled by the runner"


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C/SIGTERM stopped the run after cancelling its jobs; carries every outcome."""

    def __init__(self, outcomes: list[RunOutcome]) -> None:
        super().__init__("run interrupted; submitted jobs were cancelled")
        self.outcomes = outcomes


@dataclass(frozen=True)
class ProgressEvent:
    """One state change of the run, with the counts after it."""

    elapsed: float  # seconds since run_jobs started
    key: str | None  # None for run-wide notes (interrupt, scheduler errors)
    job_id: str | None
    message: str
    pending: int  # not submitted yet, or waiting in the queue
    running: int
    ended: dict[str, int] = field(default_factory=dict)  # final status -> runs, none at 0

    @property
    def done(self) -> int:
        return self.ended.get("completed", 0)

    @property
    def failed(self) -> int:
        """Runs whose status is ``failed`` (cancelled, timeout, … are counted apart)."""
        return self.ended.get("failed", 0)

    @property
    def line(self) -> str:
        secs = int(self.elapsed)
        clock = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        who = (self.key or "run") + (f" job {self.job_id}" if self.job_id else "")
        # Each final state by its own name: a cancelled run is not a failed one.
        counts = [f"pending {self.pending}", f"running {self.running}", f"completed {self.done}"]
        for status in get_args(Status):
            if status != "completed" and self.ended.get(status):
                counts.append(f"{status.replace('_', ' ')} {self.ended[status]}")
        return f"[{clock}] {who}: {self.message} | {' '.join(counts)}"


Progress = Callable[[ProgressEvent], None]


def print_progress(event: ProgressEvent) -> None:
    print(event.line, file=sys.stderr, flush=True)


@dataclass
class _Track:
    """The runner's view of one run."""

    run: PreparedRun
    job_id: str | None = None
    state: str | None = None  # last Slurm state seen; None before the first poll
    submitted_at: float = 0.0
    cancel_reason: str | None = None  # set when the runner itself asked for a cancel
    unknown_since: float | None = None  # first poll at which the scheduler did not know it
    outcome: RunOutcome | None = None

    @property
    def active(self) -> bool:
        return self.job_id is not None and self.outcome is None

    @property
    def started(self) -> bool:
        # A run that ended without starting (refused, cancelled) will never start: count it
        # as started so that start_post_init dependents are not stuck forever.
        return self.outcome is not None or self.state in STARTED_STATES


class _Engine:
    def __init__(
        self,
        runs: Sequence[PreparedRun],
        scheduler: Scheduler,
        max_parallel: int,
        poll_interval: float,
        progress: Progress,
        cancel_timeout: float,
        lost_after: float,
    ) -> None:
        _check_runs(runs)
        self.tracks = [_Track(run) for run in runs]
        self.by_test: dict[str, list[_Track]] = {}
        for track in self.tracks:
            self.by_test.setdefault(track.run.test_id, []).append(track)
        self.scheduler = scheduler
        self.max_parallel = max_parallel
        self.poll_interval = poll_interval
        self.progress = progress
        self.cancel_timeout = cancel_timeout
        self.lost_after = lost_after
        self.signals = Signals()
        self.start = time.monotonic()
        self.last_note: str | None = None

    # -- main loop -----------------------------------------------------------------------

    def run(self) -> list[RunOutcome]:
        try:
            with self.signals.installed():
                self._loop()
        except KeyboardInterrupt:
            self._clean_up("interrupted", INTERRUPTED)
            raise RunInterrupted(self.outcomes()) from None
        except Exception as err:
            # A bug (ours or the progress callback's) must not leave jobs running unwatched.
            self.progress = print_progress
            self._clean_up("runner error", f"runner error: {err!r}")
            raise
        return self.outcomes()

    def _clean_up(self, what: str, reason: str) -> None:
        # A second Ctrl-C while cancelling would leave jobs behind: hold signals until done.
        with self.signals.installed(), self.signals.held(reraise=False):
            self._cancel_everything(what, reason)

    def _loop(self) -> None:
        while True:
            while self._end_finished_dependents() | self._submit_ready():
                pass  # an ended or refused run can make further runs ready
            if all(t.outcome for t in self.tracks):
                return
            if not any(t.active for t in self.tracks):
                self._give_up_on_waiting_runs()
                return
            time.sleep(self.poll_interval)
            self._poll()

    def outcomes(self) -> list[RunOutcome]:
        return [t.outcome for t in self.tracks if t.outcome is not None]

    # -- dependencies --------------------------------------------------------------------

    def _unmet(self, track: _Track) -> list[str]:
        """Why ``track`` cannot be submitted yet (empty when it can)."""
        run = track.run
        unmet = []
        for kind, test_id in run.depends_on:
            deps = self.by_test[test_id]
            if kind == START_POST_COMP and not all(d.outcome for d in deps):
                unmet.append(f"{kind} {test_id}")
            elif kind == START_POST_INIT and not all(d.started for d in deps):
                unmet.append(f"{kind} {test_id}")
        # Iterations of one test run one after the other, as in CloudAI; the sweep steps of
        # one iteration may run side by side.
        earlier = [t for t in self.by_test[run.test_id] if t.run.iteration < run.iteration]
        if not all(t.outcome for t in earlier):
            unmet.append(f"iteration {run.iteration - 1} of {run.test_id}")
        return unmet

    def _end_finished_dependents(self) -> bool:
        """Cancel runs whose ``end_post_comp`` test has finished all its runs."""
        changed = False
        for track in self.tracks:
            if track.outcome or track.cancel_reason:
                continue
            for kind, test_id in track.run.depends_on:
                if kind == END_POST_COMP and all(d.outcome for d in self.by_test[test_id]):
                    self._cancel_for(track, f"{END_POST_COMP}: {test_id} finished")
                    changed = True
                    break
        return changed

    def _cancel_for(self, track: _Track, reason: str) -> None:
        track.cancel_reason = reason
        if track.job_id is None:
            self._record(track, None, "cancelled", reason, 0.0)
            return
        self._note(track, f"cancelling ({reason})")
        try:
            self.scheduler.cancel([track.job_id])
        except SchedulerError as err:
            self._note(None, f"cancel of job {track.job_id} failed: {err}")

    def _give_up_on_waiting_runs(self) -> None:
        """Nothing runs and nothing can start: the rest waits on a cycle or on nothing."""
        for track in self.tracks:
            if track.outcome is None:
                why = ", ".join(self._unmet(track)) or "unknown reason"
                self._record(track, None, "not_submitted", f"dependencies never met: {why}", 0.0)

    # -- submission ----------------------------------------------------------------------

    def _submit_ready(self) -> bool:
        changed = False
        for track in self.tracks:
            if sum(t.active for t in self.tracks) >= self.max_parallel:
                break
            if track.job_id is None and track.outcome is None and not self._unmet(track):
                self._submit(track)
                changed = True
        return changed

    def _submit(self, track: _Track) -> None:
        run = track.run
        with self.signals.held():
            try:
                job_id = self.scheduler.submit(run.sbatch_script, run.run_dir)
            except SubmitError as err:
                self._record(track, None, "not_submitted", str(err), 0.0)
                return
            track.job_id = job_id
            track.submitted_at = time.monotonic()
        params = ", ".join(f"{k}={v}" for k, v in run.params.items())
        self._note(track, "submitted" + (f" ({params})" if params else ""))

    # -- polling -------------------------------------------------------------------------

    def _poll(self) -> None:
        active = [t for t in self.tracks if t.active]
        try:
            infos = self.scheduler.poll([t.job_id for t in active if t.job_id])
        except SchedulerError as err:
            self._note(None, f"cannot query the scheduler, will retry: {err}", once=True)
            return
        now = time.monotonic()
        for track in active:
            info = infos.get(track.job_id or "")
            if info is None:
                self._lost(track, now)
                continue
            track.unknown_since = None
            if info.terminal:
                self._finish(track, info)
            elif info.state != track.state:
                track.state = info.state
                self._note(track, info.state)

    def _lost(self, track: _Track, now: float) -> None:
        # Accounting may lag a few seconds behind the queue; only give up after a while.
        if track.unknown_since is None:
            track.unknown_since = now
        elif now - track.unknown_since >= self.lost_after:
            cause = f"job {track.job_id} vanished: the scheduler no longer knows it"
            self._record(track, track.state, "failed", cause, now - track.submitted_at)

    def _finish(self, track: _Track, info: JobInfo) -> None:
        status, cause = combine(track.run.run_dir, info)
        if track.cancel_reason and status != "completed":
            # Killing a job makes its script write a failure marker; that is not a failure.
            status, cause = "cancelled", track.cancel_reason
        elapsed = info.elapsed
        if elapsed is None:
            elapsed = time.monotonic() - track.submitted_at
        self._record(track, info.state, status, cause, elapsed)

    # -- interrupt -----------------------------------------------------------------------

    def _cancel_everything(self, what: str, reason: str) -> None:
        active = [t for t in self.tracks if t.active]
        self._note(None, f"{what}: cancelling {len(active)} job(s)")
        for track in active:
            track.cancel_reason = track.cancel_reason or reason
        try:
            self.scheduler.cancel([t.job_id for t in active if t.job_id])
        except SchedulerError as err:
            self._note(None, f"scancel failed: {err}")
        deadline = time.monotonic() + self.cancel_timeout
        while any(t.active for t in self.tracks) and time.monotonic() < deadline:
            time.sleep(min(self.poll_interval, 1.0))
            self._poll()
        for track in self.tracks:
            if track.active:
                cause = f"{track.cancel_reason} (final state not confirmed by the scheduler)"
                elapsed = time.monotonic() - track.submitted_at
                self._record(track, track.state, "cancelled", cause, elapsed)
            elif track.outcome is None:
                cause = f"{what} before submission"
                self._record(track, None, "not_submitted", cause, 0.0)

    # -- reporting -----------------------------------------------------------------------

    def _record(
        self, track: _Track, state: str | None, status: Status, cause: str, elapsed: float
    ) -> None:
        run = track.run
        track.outcome = RunOutcome(run.key, track.job_id, state, status, cause, elapsed)
        try:
            write_status(run, track.outcome)
        except OSError as err:
            self._note(track, f"cannot write status.json: {err}")
        message: str = status if status != "not_submitted" else "not submitted"
        if track.job_id is not None:
            message += f" after {elapsed:.0f} s ({state})"
        self._note(track, message + (f": {cause}" if cause else ""))

    def _note(self, track: _Track | None, message: str, *, once: bool = False) -> None:
        if once and message == self.last_note:
            return
        self.last_note = message
        pending = running = 0
        ended: dict[str, int] = {}
        for t in self.tracks:
            if t.outcome is not None:
                ended[t.outcome.status] = ended.get(t.outcome.status, 0) + 1
            elif t.state in STARTED_STATES:
                running += 1
            else:
                pending += 1
        self.progress(
            ProgressEvent(
                elapsed=time.monotonic() - self.start,
                key=track.run.key if track else None,
                job_id=track.job_id if track else None,
                message=message,
                pending=pending,
                running=running,
                ended=ended,
            )
        )


def _check_runs(runs: Sequence[PreparedRun]) -> None:
    """Reject inputs the dry-run code should never produce, before submitting anything."""
    keys = [r.key for r in runs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate run keys: {sorted({k for k in keys if keys.count(k) > 1})}")
    test_ids = {r.test_id for r in runs}
    for run in runs:
        for kind, test_id in run.depends_on:
            if kind not in DEPENDENCY_TYPES:
                raise ValueError(f"{run.key}: unknown dependency type {kind!r}")
            if test_id not in test_ids:
                raise ValueError(f"{run.key}: depends on {test_id!r}, which has no runs")


def run_jobs(
    runs: list[PreparedRun],
    scheduler: Scheduler,
    *,
    max_parallel: int = 4,
    poll_interval: float = 5.0,
    progress: Progress | None = None,
    cancel_timeout: float = 60.0,
    lost_after: float = 120.0,
) -> list[RunOutcome]:
    """Run every prepared run to its end and return the outcomes, in input order.

    At most ``max_parallel`` jobs are in the scheduler (queued or running) at any time; runs
    are submitted in input order as their dependencies allow. ``progress`` gets one event
    per state change (default: a line on stderr). Each run's outcome is also written to
    ``run_dir/status.json`` as soon as it is known.

    On Ctrl-C or SIGTERM, every job this call submitted is cancelled, its final state is
    awaited for up to ``cancel_timeout`` seconds, all outcomes are written and
    :class:`RunInterrupted` (a KeyboardInterrupt) is raised with them.
    """
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    engine = _Engine(
        runs,
        scheduler,
        max_parallel,
        poll_interval,
        progress or print_progress,
        cancel_timeout,
        lost_after,
    )
    return engine.run()
