"""Unit tests of the runner with a scripted fake scheduler (no Slurm needed).

The fake advances every job by one scripted state per poll and logs what happened, so the
tests can check orderings and bounds exactly instead of relying on timing.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from cloudai_dynamo_rs.runner import (
    JobInfo,
    PreparedRun,
    ProgressEvent,
    RunInterrupted,
    RunOutcome,
    SchedulerError,
    SlurmScheduler,
    SubmitError,
    combine,
    failure_cause,
    find_results,
    run_jobs,
)
from cloudai_dynamo_rs.runner.scheduler import (
    error_message,
    normalize_state,
    parse_duration,
    parse_job_id,
)

OK = ["PENDING", "RUNNING", "COMPLETED"]
MARKER = (
    "role=decode node=node3 process=dynamo-decode exit=137\n"
    "INFO loading model\n"
    "ERROR CUDA out of memory\n"
)


class FakeScheduler:
    """Jobs follow scripted state lists; every call is logged in ``events``."""

    def __init__(
        self,
        root: Path,
        plans: dict[str, list[str]] | None = None,
        refuse: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.plans = plans or {}
        self.refuse = refuse or {}
        self.jobs: dict[str, tuple[str, list[str]]] = {}  # job id -> (key, remaining states)
        self.events: list[tuple[str, str]] = []  # (what, key)
        self.cancelled: list[str] = []
        self.max_in_queue = 0
        self.polls = 0

    def key_of(self, job_id: str) -> str:
        return self.jobs[job_id][0]

    def state(self, job_id: str) -> str:
        return self.jobs[job_id][1][0]

    def in_queue(self) -> int:
        return sum(not JobInfo(states[0]).terminal for _, states in self.jobs.values())

    def submit(self, script: Path, run_dir: Path) -> str:
        key = run_dir.relative_to(self.root).as_posix()
        assert script == run_dir / "cloudai_sbatch_script.sh"
        if key in self.refuse:
            self.events.append(("refused", key))
            raise SubmitError(self.refuse[key])
        job_id = str(100 + len(self.jobs))
        self.jobs[job_id] = (key, list(self.plans.get(key, OK)))
        self.events.append(("submit", key))
        self.max_in_queue = max(self.max_in_queue, self.in_queue())
        return job_id

    def poll(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        self.polls += 1
        infos = {}
        for job_id in job_ids:
            key, states = self.jobs[job_id]
            if len(states) > 1:
                states.pop(0)
            if states[0] == "LOST":
                continue  # the scheduler does not know this job
            info = JobInfo(states[0], "0:0", 12.0)
            if info.terminal:
                self.events.append(("end", key))
            elif states[0] == "RUNNING" and ("start", key) not in self.events:
                self.events.append(("start", key))
            infos[job_id] = info
        return infos

    def cancel(self, job_ids: Sequence[str]) -> None:
        for job_id in job_ids:
            self.cancelled.append(job_id)
            states = self.jobs[job_id][1]
            if not JobInfo(states[0]).terminal:
                states[:] = [states[0], "CANCELLED"]

    def index(self, what: str, key: str) -> int:
        return self.events.index((what, key))


def make_run(
    root: Path,
    key: str,
    *,
    depends_on: Iterable[tuple[str, str]] = (),
    outputs: bool = True,
    params: dict | None = None,
) -> PreparedRun:
    """A run dir as the dry-run leaves it; ``outputs`` pre-writes what a good job leaves."""
    test_id, iteration, step = key.split("/")
    run_dir = root / key
    run_dir.mkdir(parents=True)
    script = run_dir / "cloudai_sbatch_script.sh"
    script.write_text("#!/bin/bash\ntrue\n")
    if outputs:
        (run_dir / "done.marker").write_text("")
        (run_dir / "profile_genai_perf.csv").write_text("Metric,avg\nTTFT,1.0\n")
    return PreparedRun(
        key=key,
        test_id=test_id,
        iteration=int(iteration),
        step=int(step),
        run_dir=run_dir,
        sbatch_script=script,
        depends_on=list(depends_on),
        params=params or {},
    )


def quiet(event: ProgressEvent) -> None:
    pass


def run(runs: list[PreparedRun], fake: FakeScheduler, **kw) -> dict[str, RunOutcome]:
    kw.setdefault("progress", quiet)
    outcomes = run_jobs(runs, fake, poll_interval=0, **kw)
    assert [o.key for o in outcomes] == [r.key for r in runs]
    return {o.key: o for o in outcomes}


# -- parallelism, dependencies, iterations -------------------------------------------------


@pytest.mark.parametrize("max_parallel", [1, 2, 3])
def test_never_more_than_max_parallel_jobs_in_queue(tmp_path: Path, max_parallel: int) -> None:
    runs = [make_run(tmp_path, f"T/0/{i}") for i in range(7)]
    # Uneven lengths, so that jobs end out of order.
    plans = {
        r.key: ["PENDING"] * (i % 3) + ["RUNNING"] * (i % 4) + ["COMPLETED"]
        for i, r in enumerate(runs)
    }
    fake = FakeScheduler(tmp_path, plans)
    outcomes = run(runs, fake, max_parallel=max_parallel)
    assert fake.max_in_queue == max_parallel
    assert [k for what, k in fake.events if what == "submit"] == [r.key for r in runs]
    assert {o.status for o in outcomes.values()} == {"completed"}


def test_max_parallel_one_runs_jobs_one_after_the_other(tmp_path: Path) -> None:
    runs = [make_run(tmp_path, f"T/0/{i}") for i in range(3)]
    fake = FakeScheduler(tmp_path)
    run(runs, fake, max_parallel=1)
    kinds = [what for what, _ in fake.events if what in ("submit", "end")]
    assert kinds == ["submit", "end"] * 3


def test_start_post_comp_waits_for_every_run_of_the_dependency(tmp_path: Path) -> None:
    a = [make_run(tmp_path, f"A/0/{i}") for i in range(2)]
    b = make_run(tmp_path, "B/0/0", depends_on=[("start_post_comp", "A")])
    fake = FakeScheduler(tmp_path, {"A/0/1": ["PENDING", "RUNNING", "RUNNING", "COMPLETED"]})
    outcomes = run([b, *a], fake, max_parallel=4)
    assert fake.index("submit", "B/0/0") > max(fake.index("end", r.key) for r in a)
    assert outcomes["B/0/0"].status == "completed"


def test_start_post_comp_also_follows_a_failed_dependency(tmp_path: Path) -> None:
    a = make_run(tmp_path, "A/0/0", outputs=False)
    b = make_run(tmp_path, "B/0/0", depends_on=[("start_post_comp", "A")])
    fake = FakeScheduler(tmp_path, {"A/0/0": ["RUNNING", "FAILED"]})
    outcomes = run([a, b], fake)
    assert outcomes["A/0/0"].status == "failed"
    assert outcomes["B/0/0"].status == "completed"


def test_start_post_init_starts_once_the_dependency_runs(tmp_path: Path) -> None:
    server = make_run(tmp_path, "S/0/0")
    client = make_run(tmp_path, "C/0/0", depends_on=[("start_post_init", "S")])
    fake = FakeScheduler(
        tmp_path, {"S/0/0": ["PENDING", "PENDING", "RUNNING", "RUNNING", "RUNNING", "COMPLETED"]}
    )
    run([client, server], fake)
    assert fake.index("start", "S/0/0") < fake.index("submit", "C/0/0") < fake.index("end", "S/0/0")


def test_end_post_comp_cancels_the_dependent_when_the_dependency_ends(tmp_path: Path) -> None:
    client = make_run(tmp_path, "C/0/0")
    server = make_run(tmp_path, "S/0/0", depends_on=[("end_post_comp", "C")], outputs=False)
    # The server would run forever; the killed script leaves a failure marker behind.
    (server.run_dir / "failure.marker").write_text("role=frontend node=node1 exit=143\n")
    fake = FakeScheduler(tmp_path, {"S/0/0": ["PENDING"] + ["RUNNING"] * 100})
    outcomes = run([server, client], fake)
    assert fake.cancelled == ["100"]
    assert fake.index("end", "C/0/0") < fake.index("end", "S/0/0")
    assert outcomes["S/0/0"].status == "cancelled"
    assert outcomes["S/0/0"].slurm_state == "CANCELLED"
    assert outcomes["S/0/0"].cause == "end_post_comp: C finished"
    assert outcomes["C/0/0"].status == "completed"


def test_end_post_comp_cancels_runs_not_yet_submitted(tmp_path: Path) -> None:
    client = make_run(tmp_path, "C/0/0")
    server = make_run(tmp_path, "S/0/0", depends_on=[("end_post_comp", "C")])
    fake = FakeScheduler(tmp_path)
    outcomes = run([client, server], fake, max_parallel=1)
    assert ("submit", "S/0/0") not in fake.events
    assert outcomes["S/0/0"] == RunOutcome(
        "S/0/0", None, None, "cancelled", "end_post_comp: C finished", 0.0
    )


def test_iterations_run_in_order_and_steps_side_by_side(tmp_path: Path) -> None:
    runs = [make_run(tmp_path, f"T/{it}/{step}") for it in range(2) for step in range(2)]
    fake = FakeScheduler(tmp_path)
    outcomes = run(runs, fake, max_parallel=4)
    # Both steps of iteration 0 are queued together; iteration 1 waits for both to end.
    assert fake.index("submit", "T/0/1") < fake.index("end", "T/0/0")
    first_of_1 = min(fake.index("submit", "T/1/0"), fake.index("submit", "T/1/1"))
    assert first_of_1 > max(fake.index("end", "T/0/0"), fake.index("end", "T/0/1"))
    assert {o.status for o in outcomes.values()} == {"completed"}


def test_dependency_cycle_is_reported_not_hung(tmp_path: Path) -> None:
    a = make_run(tmp_path, "A/0/0", depends_on=[("start_post_comp", "B")])
    b = make_run(tmp_path, "B/0/0", depends_on=[("start_post_comp", "A")])
    free = make_run(tmp_path, "F/0/0")
    fake = FakeScheduler(tmp_path)
    outcomes = run([a, b, free], fake)
    assert outcomes["F/0/0"].status == "completed"
    assert outcomes["A/0/0"].status == "not_submitted"
    assert outcomes["A/0/0"].cause == "dependencies never met: start_post_comp B"
    assert [k for what, k in fake.events if what == "submit"] == ["F/0/0"]


@pytest.mark.parametrize(
    ("depends_on", "message"),
    [([("start_post_comp", "Nope")], "'Nope', which has no runs"), ([("after", "A")], "'after'")],
)
def test_bad_dependencies_are_rejected_before_submitting(
    tmp_path: Path, depends_on: list[tuple[str, str]], message: str
) -> None:
    runs = [make_run(tmp_path, "A/0/0"), make_run(tmp_path, "B/0/0", depends_on=depends_on)]
    fake = FakeScheduler(tmp_path)
    with pytest.raises(ValueError, match=message):
        run(runs, fake)
    assert fake.events == []


def test_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    r = make_run(tmp_path, "A/0/0")
    with pytest.raises(ValueError, match="duplicate"):
        run([r, r], FakeScheduler(tmp_path))


# -- status combination -----------------------------------------------------------------


def run_dir_with(tmp_path: Path, *files: str, marker: str | None = None) -> Path:
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("Metric,avg\nTTFT,1\n" if name.endswith(".csv") else "")
    if marker is not None:
        (tmp_path / "failure.marker").write_text(marker)
    return tmp_path


DECODE_CAUSE = (
    "decode worker on node3 (process dynamo-decode) exited with code 137: ERROR CUDA out of memory"
)


@pytest.mark.parametrize(
    ("state", "files", "marker", "expected"),
    [
        ("COMPLETED", ["done.marker", "profile_genai_perf.csv"], None, ("completed", "")),
        ("COMPLETED", ["done.marker", "gp/profile_c8_genai_perf.csv"], None, ("completed", "")),
        ("COMPLETED", ["done.marker", "a/b/profile_export_aiperf.csv"], None, ("completed", "")),
        ("COMPLETED", ["done.marker", "profile_genai_perf.csv"], MARKER, ("failed", DECODE_CAUSE)),
        ("FAILED", ["profile_genai_perf.csv"], MARKER, ("failed", DECODE_CAUSE)),
        ("COMPLETED", ["done.marker"], None, ("failed", "no results file")),
        ("COMPLETED", ["done.marker", "other.csv"], None, ("failed", "no results file")),
        (
            "CANCELLED",
            ["done.marker", "profile_genai_perf.csv"],
            None,
            ("cancelled", "Slurm state CANCELLED"),
        ),
        ("TIMEOUT", [], None, ("timeout", "Slurm state TIMEOUT")),
        ("NODE_FAIL", [], None, ("failed", "Slurm state NODE_FAIL")),
        ("OUT_OF_MEMORY", [], None, ("failed", "Slurm state OUT_OF_MEMORY")),
    ],
)
def test_status_combination(
    tmp_path: Path, state: str, files: list[str], marker: str | None, expected: tuple[str, str]
) -> None:
    run_dir = run_dir_with(tmp_path, *files, marker=marker)
    assert combine(run_dir, JobInfo(state, "0:0")) == expected


def test_current_schema_markers_are_read_as_the_seeds(tmp_path: Path) -> None:
    # CloudAI main's names (AIDynamoTestDefinition.success_marker/failure_marker), which the
    # core's current-schema script writes: the same verdicts as the seed's markers.
    (tmp_path / "profile_genai_perf.csv").write_text("Metric,avg\nTTFT,1\n")
    (tmp_path / "success-marker.txt").write_text("")
    assert combine(tmp_path, JobInfo("COMPLETED", "0:0")) == ("completed", "")
    (tmp_path / "failure-marker.txt").write_text(MARKER)
    assert combine(tmp_path, JobInfo("COMPLETED", "0:0")) == ("failed", DECODE_CAUSE)


def test_failed_state_reports_exit_code_and_signal(tmp_path: Path) -> None:
    assert combine(tmp_path, JobInfo("FAILED", "1:0")) == (
        "failed",
        "Slurm state FAILED (exit code 1)",
    )
    assert combine(tmp_path, JobInfo("FAILED", "0:9")) == (
        "failed",
        "Slurm state FAILED (exit code 0, signal 9)",
    )


def test_slurms_other_terminal_states_fail_and_the_report_keeps_the_runners_word() -> None:
    # sacct's codes of jobs that ended (PREEMPTED, DEADLINE, BOOT_FAIL): a failed run, the
    # state named; the report overrules only a completed (or missing) status with its results.
    from cloudai_dynamo_rs import _core

    assert _core.slurm_verdict("PREEMPTED", "0:15") == (
        "failed",
        "Slurm state PREEMPTED (exit code 0, signal 15)",
    )
    assert _core.slurm_verdict("DEADLINE") == ("failed", "Slurm state DEADLINE")
    assert _core.slurm_verdict("COMPLETED", "2:0") is None
    flagged = ("flagged", "1 of 10 request(s) failed")
    assert _core.final_status("completed", "", *flagged, has_results=True) == flagged
    timeout = ("timeout", "Slurm state TIMEOUT")
    assert _core.final_status(*timeout, *flagged, has_results=True) == timeout
    assert _core.final_status(None, "", "no_results", "", has_results=False) == (
        "not_run",
        "no status.json and no results file",
    )


def test_completed_without_done_marker_is_a_failure(tmp_path: Path) -> None:
    run_dir = run_dir_with(tmp_path, "profile_genai_perf.csv")
    status, cause = combine(run_dir, JobInfo("COMPLETED"))
    assert status == "failed"
    assert "done.marker" in cause


def test_empty_results_file_is_no_result(tmp_path: Path) -> None:
    (tmp_path / "profile_genai_perf.csv").write_text("")
    assert find_results(tmp_path) == []
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "profile_x_genai_perf.csv").write_text("a\n")
    assert find_results(tmp_path) == [tmp_path / "sub" / "profile_x_genai_perf.csv"]
    # aiperf's JSON export is a result too (as for the CloudAI plugin), after the CSV.
    (tmp_path / "sub" / "profile_export_aiperf.json").write_text("{}")
    assert find_results(tmp_path) == [
        tmp_path / "sub" / "profile_x_genai_perf.csv",
        tmp_path / "sub" / "profile_export_aiperf.json",
    ]


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (MARKER, DECODE_CAUSE),
        ("role=prefill_worker node=node2 exit=1\n", "prefill worker on node2 exited with code 1"),
        (
            "role=frontend node=node1 process=dynamo.frontend exit=1\n\n  \n",
            "frontend on node1 (process dynamo.frontend) exited with code 1",
        ),
        (
            # The launch script's format: node = Slurm node id (as in decode_stdout_node2.txt).
            "role=decode node=2 host=node3 process=decode exit=137\nKilled\n",
            "decode worker on node 2 (host node3, process decode) exited with code 137: Killed",
        ),
        ("something broke\nlast words\n", "failure marker: something broke: last words"),
        ("", "failure marker: empty"),
    ],
)
def test_failure_cause(text: str, cause: str) -> None:
    assert failure_cause(text) == cause


# -- outcomes, status.json, progress ------------------------------------------------------


def test_outcomes_are_written_to_status_json(tmp_path: Path) -> None:
    good = make_run(tmp_path, "T/0/1", params={"concurrency": 8})
    bad = make_run(tmp_path, "T/0/2", outputs=False)
    (bad.run_dir / "failure.marker").write_text(MARKER)
    fake = FakeScheduler(tmp_path, {"T/0/2": ["RUNNING", "FAILED"]})
    outcomes = run([good, bad], fake)
    for r in (good, bad):
        data = json.loads((r.run_dir / "status.json").read_text())
        o = outcomes[r.key]
        assert {
            k: data[k] for k in ("key", "job_id", "slurm_state", "status", "cause", "elapsed")
        } == o.to_json()
        assert data["test_id"] == "T" and data["iteration"] == 0 and data["step"] == r.step
    assert outcomes["T/0/1"] == RunOutcome("T/0/1", "100", "COMPLETED", "completed", "", 12.0)
    assert outcomes["T/0/2"] == RunOutcome("T/0/2", "101", "FAILED", "failed", DECODE_CAUSE, 12.0)
    assert json.loads((good.run_dir / "status.json").read_text())["params"] == {"concurrency": 8}


def test_progress_reports_each_state_change_once(tmp_path: Path) -> None:
    r = make_run(tmp_path, "T/0/0", params={"concurrency": 4})
    fake = FakeScheduler(tmp_path, {"T/0/0": ["PENDING"] * 5 + ["RUNNING"] * 5 + ["COMPLETED"]})
    events: list[ProgressEvent] = []
    run([r], fake, progress=events.append)
    assert fake.polls == 10
    assert [e.message for e in events] == [
        "submitted (concurrency=4)",
        "PENDING",
        "RUNNING",
        "completed after 12 s (COMPLETED)",
    ]
    assert [(e.pending, e.running, e.done, e.failed) for e in events] == [
        (1, 0, 0, 0),
        (1, 0, 0, 0),
        (0, 1, 0, 0),
        (0, 0, 1, 0),
    ]
    assert events[2].line.endswith("T/0/0 job 100: RUNNING | pending 0 running 1 completed 0")


def test_progress_counts_each_final_state_by_its_own_name(tmp_path: Path) -> None:
    runs = [
        make_run(tmp_path, "T/0/0"),
        make_run(tmp_path, "T/0/1", outputs=False),
        make_run(tmp_path, "T/0/2"),
        make_run(tmp_path, "T/0/3"),
    ]
    plans = {
        "T/0/1": ["PENDING", "RUNNING", "FAILED"],
        "T/0/2": ["PENDING", "CANCELLED"],
    }
    fake = FakeScheduler(tmp_path, plans, refuse={"T/0/3": "Invalid partition"})
    events: list[ProgressEvent] = []
    outcomes = run(runs, fake, progress=events.append)
    # By hand: one of each final state.
    assert sorted(o.status for o in outcomes.values()) == [
        "cancelled",
        "completed",
        "failed",
        "not_submitted",
    ]
    last = events[-1]
    assert last.ended == {"completed": 1, "failed": 1, "cancelled": 1, "not_submitted": 1}
    assert (last.done, last.failed) == (1, 1)
    assert last.line.endswith(
        "| pending 0 running 0 completed 1 failed 1 cancelled 1 not submitted 1"
    )


def test_default_progress_goes_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = make_run(tmp_path, "T/0/0")
    run_jobs([r], FakeScheduler(tmp_path), poll_interval=0)
    out, err = capsys.readouterr()
    assert out == ""
    assert "T/0/0 job 100: completed" in err
    assert len(err.splitlines()) == 3  # submitted, RUNNING, completed


def test_scheduler_errors_are_retried(tmp_path: Path) -> None:
    class Flaky(FakeScheduler):
        def poll(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
            self.polls += 1
            if self.polls <= 3:
                raise SchedulerError("slurmctld is not answering")
            return super().poll(job_ids)

    r = make_run(tmp_path, "T/0/0")
    events: list[ProgressEvent] = []
    outcomes = run([r], Flaky(tmp_path), progress=events.append)
    assert outcomes["T/0/0"].status == "completed"
    notes = [e.message for e in events if "slurmctld" in e.message]
    assert notes == ["cannot query the scheduler, will retry: slurmctld is not answering"]


def test_briefly_unknown_job_is_not_given_up(tmp_path: Path) -> None:
    # Accounting lag: the job is unknown for a few polls, then found again.
    r = make_run(tmp_path, "T/0/0")
    plan = ["PENDING", "RUNNING", "LOST", "RUNNING", "LOST", "RUNNING", "LOST", "COMPLETED"]
    fake = FakeScheduler(tmp_path, {"T/0/0": plan})
    outcomes = run([r], fake, lost_after=0)  # gives up at the second unknown poll in a row
    assert outcomes["T/0/0"].status == "completed"


def test_job_unknown_to_the_scheduler_eventually_fails(tmp_path: Path) -> None:
    r = make_run(tmp_path, "T/0/0")
    fake = FakeScheduler(tmp_path, {"T/0/0": ["PENDING", "RUNNING", "LOST"]})
    outcomes = run([r], fake, lost_after=0)
    assert outcomes["T/0/0"].status == "failed"
    assert outcomes["T/0/0"].cause == "job 100 vanished: the scheduler no longer knows it"
    assert outcomes["T/0/0"].slurm_state == "RUNNING"


# -- sbatch refusal ---------------------------------------------------------------------


def test_refused_job_is_not_submitted_and_the_others_continue(tmp_path: Path) -> None:
    runs = [make_run(tmp_path, f"T/0/{i}") for i in range(3)]
    message = "invalid partition specified: nope; Batch job submission failed"
    fake = FakeScheduler(tmp_path, refuse={"T/0/1": message})
    outcomes = run(runs, fake, max_parallel=1)
    assert outcomes["T/0/1"] == RunOutcome("T/0/1", None, None, "not_submitted", message, 0.0)
    assert outcomes["T/0/0"].status == outcomes["T/0/2"].status == "completed"
    assert json.loads((runs[1].run_dir / "status.json").read_text())["status"] == "not_submitted"


# -- interrupts -------------------------------------------------------------------------


def interrupt_when_running(n: int, how: str):
    """A progress callback that interrupts once ``n`` jobs are running."""
    fired = []

    def progress(event: ProgressEvent) -> None:
        if event.running >= n and not fired:
            fired.append(event)
            if how == "raise":
                raise KeyboardInterrupt
            os.kill(os.getpid(), getattr(signal, how))

    return progress


@pytest.mark.parametrize("how", ["raise", "SIGINT", "SIGTERM"])
def test_interrupt_cancels_every_submitted_job(tmp_path: Path, how: str) -> None:
    runs = [make_run(tmp_path, f"T/0/{i}") for i in range(5)]
    plans = {r.key: ["PENDING"] * 2 + ["RUNNING"] * 50 + ["COMPLETED"] for r in runs}
    plans["T/0/0"] = ["PENDING", "COMPLETED"]  # ends first, so T/0/3 gets submitted
    fake = FakeScheduler(tmp_path, plans)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(RunInterrupted) as info:
        run_jobs(
            runs, fake, max_parallel=3, poll_interval=0, progress=interrupt_when_running(2, how)
        )
    outcomes = {o.key: o for o in info.value.outcomes}
    assert isinstance(info.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before
    assert sorted(fake.cancelled) == ["101", "102", "103"]
    assert all(JobInfo(fake.state(j)).terminal for j in fake.jobs)
    assert outcomes["T/0/0"].status == "completed"
    for key in ("T/0/1", "T/0/2", "T/0/3"):
        assert outcomes[key].status == "cancelled"
        assert outcomes[key].slurm_state == "CANCELLED"
        assert outcomes[key].cause == "interrupted: cancelled by the runner"
    assert outcomes["T/0/4"] == RunOutcome(
        "T/0/4", None, None, "not_submitted", "interrupted before submission", 0.0
    )
    for r in runs:
        assert json.loads((r.run_dir / "status.json").read_text())["key"] == r.key


def test_interrupt_during_sbatch_does_not_lose_the_job(tmp_path: Path) -> None:
    class InterruptedWhileSubmitting(FakeScheduler):
        def submit(self, script: Path, run_dir: Path) -> str:
            job_id = super().submit(script, run_dir)
            os.kill(os.getpid(), signal.SIGINT)  # arrives between sbatch and recording the id
            return job_id

    runs = [make_run(tmp_path, f"T/0/{i}") for i in range(2)]
    fake = InterruptedWhileSubmitting(tmp_path)
    with pytest.raises(RunInterrupted) as info:
        run_jobs(runs, fake, poll_interval=0, progress=quiet)
    assert fake.cancelled == ["100"]
    assert [(o.key, o.job_id, o.status) for o in info.value.outcomes] == [
        ("T/0/0", "100", "cancelled"),
        ("T/0/1", None, "not_submitted"),
    ]


def test_job_that_ignores_cancel_is_recorded_as_unconfirmed(tmp_path: Path) -> None:
    class Stubborn(FakeScheduler):
        def cancel(self, job_ids: Sequence[str]) -> None:
            self.cancelled.extend(job_ids)

    r = make_run(tmp_path, "T/0/0")
    fake = Stubborn(tmp_path, {"T/0/0": ["RUNNING"] * 10_000})
    with pytest.raises(RunInterrupted) as info:
        run_jobs(
            [r],
            fake,
            poll_interval=0,
            cancel_timeout=0.05,
            progress=interrupt_when_running(1, "raise"),
        )
    [outcome] = info.value.outcomes
    assert fake.cancelled == ["100"]
    assert outcome.status == "cancelled"
    assert outcome.slurm_state == "RUNNING"
    assert outcome.cause.endswith("(final state not confirmed by the scheduler)")


# -- Slurm command parsing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("out", "job_id"), [("42\n", "42"), ("42;cluster1\n", "42"), ("7_3\n", "7_3")]
)
def test_parse_job_id(out: str, job_id: str) -> None:
    assert parse_job_id(out) == job_id


@pytest.mark.parametrize("out", ["", "Submitted batch job 42", "abc;c"])
def test_parse_job_id_rejects_garbage(out: str) -> None:
    with pytest.raises(SubmitError, match="cannot read a job id"):
        parse_job_id(out)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:00:01", 1),
        ("1:02", 62),
        ("01:02:03", 3723),
        ("2-00:00:10", 172810),
        ("01:02.500", 62.5),
        ("INVALID", None),
        ("x-01:00", None),
        ("", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("CANCELLED by 0", "CANCELLED"),
        ("COMPLETED+", "COMPLETED"),
        ("running", "RUNNING"),
        ("", "UNKNOWN"),
    ],
)
def test_normalize_state(raw: str, state: str) -> None:
    assert normalize_state(raw) == state


def test_error_message_strips_prefixes() -> None:
    stderr = (
        "sbatch: error: invalid partition specified: nope\n"
        "sbatch: error: Batch job submission failed: Invalid partition name specified\n"
    )
    assert error_message(stderr, "x") == (
        "invalid partition specified: nope; "
        "Batch job submission failed: Invalid partition name specified"
    )
    assert error_message("", "sbatch exited with 1") == "sbatch exited with 1"


FAKE_SLURM = """\
import json, sys, time
responses = json.load(open(sys.argv[1]))
cmd = sys.argv[2]
with open(sys.argv[1] + ".log", "a") as log:
    log.write(json.dumps(sys.argv[2:]) + "\\n")
out, err, rc = responses.get(cmd, ["", "", 0])
if cmd == "sleep":
    time.sleep(10)
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(rc)
"""


def fake_slurm(tmp_path: Path, responses: dict[str, list]) -> tuple[SlurmScheduler, Path]:
    """A SlurmScheduler whose commands are answered from ``responses`` (command -> out, err, rc)."""
    script = tmp_path / "fake_slurm.py"
    script.write_text(FAKE_SLURM)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    config = tmp_path / "responses.json"
    config.write_text(json.dumps(responses))
    return SlurmScheduler([sys.executable, str(script), str(config)], timeout=5), Path(
        f"{config}.log"
    )


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_slurm_submit_parses_the_id_and_runs_from_the_run_dir(tmp_path: Path) -> None:
    sched, log = fake_slurm(tmp_path, {"sbatch": ["13;cl\n", "", 0]})
    assert sched.submit(Path("x.sh"), tmp_path) == "13"
    assert calls(log) == [["sbatch", "--parsable", str(Path("x.sh").resolve())]]


def test_slurm_submit_refusal_carries_slurms_message(tmp_path: Path) -> None:
    err = "sbatch: error: Batch job submission failed: Node count specification invalid\n"
    sched, _ = fake_slurm(tmp_path, {"sbatch": ["", err, 1]})
    with pytest.raises(
        SubmitError, match=r"^Batch job submission failed: Node count specification invalid$"
    ):
        sched.submit(tmp_path / "x.sh", tmp_path)


def test_slurm_missing_command_is_a_submit_error(tmp_path: Path) -> None:
    sched = SlurmScheduler([str(tmp_path / "no-such-wrapper")])
    with pytest.raises(SubmitError, match="command not found"):
        sched.submit(tmp_path / "x.sh", tmp_path)


def test_slurm_poll_uses_squeue_then_accounting(tmp_path: Path) -> None:
    sched, log = fake_slurm(
        tmp_path,
        {
            "squeue": ["5|RUNNING|1:00\n6|COMPLETED|0:07\n", "", 0],
            "sacct": ["6|COMPLETED|0:0|00:00:07\n7|CANCELLED by 0|0:15|00:00:02\n", "", 0],
        },
    )
    assert sched.poll(["5", "6", "7"]) == {
        "5": JobInfo("RUNNING", None, 60.0),
        "6": JobInfo("COMPLETED", "0:0", 7.0),
        "7": JobInfo("CANCELLED", "0:15", 2.0),
    }
    assert [c[0] for c in calls(log)] == ["squeue", "sacct"]
    assert calls(log)[1][:3] == ["sacct", "-j", "6,7"]


def test_slurm_poll_falls_back_to_scontrol_while_accounting_lags(tmp_path: Path) -> None:
    scontrol = (
        "JobId=8 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 RunTime=00:00:04\n"
    )
    sched, log = fake_slurm(
        tmp_path,
        {
            "squeue": ["", "slurm_load_jobs error: Invalid job id specified\n", 1],
            "sacct": ["8|RUNNING|0:0|00:00:03\n", "", 0],
            "scontrol": [scontrol, "", 0],
        },
    )
    assert sched.poll(["8"]) == {"8": JobInfo("FAILED", "3:0", 4.0)}
    assert [c[0] for c in calls(log)] == ["squeue", "sacct", "scontrol"]


def test_slurm_poll_leaves_out_jobs_nobody_knows(tmp_path: Path) -> None:
    sched, _ = fake_slurm(
        tmp_path,
        {
            "squeue": ["", "", 0],
            "sacct": ["", "", 0],
            "scontrol": ["", "Invalid job id specified", 1],
        },
    )
    assert sched.poll(["9"]) == {}


def test_slurm_poll_failure_is_a_scheduler_error(tmp_path: Path) -> None:
    sched, _ = fake_slurm(
        tmp_path, {"squeue": ["", "squeue: error: Unable to contact slurm controller\n", 1]}
    )
    with pytest.raises(SchedulerError, match="Unable to contact slurm controller"):
        sched.poll(["1"])


def test_slurm_command_timeout(tmp_path: Path) -> None:
    sched, _ = fake_slurm(tmp_path, {})
    sched.timeout = 0.3
    with pytest.raises(SchedulerError, match=r"did not answer within 0\.3 s"):
        sched._run(["sleep"])


def test_slurm_cancel_passes_every_id(tmp_path: Path) -> None:
    sched, log = fake_slurm(tmp_path, {"scancel": ["", "scancel: error: Job already done\n", 1]})
    sched.cancel(["3", "4"])
    sched.cancel([])
    assert calls(log) == [["scancel", "3", "4"]]


def test_unexpected_error_still_cancels_the_jobs(tmp_path: Path) -> None:
    def broken(event: ProgressEvent) -> None:
        if event.running:
            raise RuntimeError("bug in a progress callback")

    runs = [make_run(tmp_path, f"T/0/{i}") for i in range(3)]
    fake = FakeScheduler(tmp_path, {r.key: ["PENDING"] + ["RUNNING"] * 50 for r in runs})
    with pytest.raises(RuntimeError, match="bug in a progress callback"):
        run_jobs(runs, fake, max_parallel=2, poll_interval=0, progress=broken)
    assert fake.cancelled == ["100", "101"]
    statuses = [json.loads((r.run_dir / "status.json").read_text()) for r in runs]
    assert [s["status"] for s in statuses] == ["cancelled", "cancelled", "not_submitted"]
    assert statuses[0]["cause"] == "runner error: RuntimeError('bug in a progress callback')"
    assert statuses[2]["cause"] == "runner error before submission"


def test_no_runs_is_no_work(tmp_path: Path) -> None:
    fake = FakeScheduler(tmp_path)
    assert run_jobs([], fake, poll_interval=0, progress=quiet) == []
    assert fake.events == [] and fake.polls == 0


def test_max_parallel_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_parallel"):
        run_jobs([make_run(tmp_path, "T/0/0")], FakeScheduler(tmp_path), max_parallel=0)
