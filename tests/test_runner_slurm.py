"""The runner against the real local Slurm cluster of ``.ci/cluster`` (skipped without it).

Each test submits tiny bash jobs from run dirs under ``tmp_path`` (the cluster's nodes share
this host's filesystem), with a job name of its own so that it only ever looks at, and
cleans up, its own jobs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from cloudai_dynamo_rs.runner import (
    JobInfo,
    PreparedRun,
    ProgressEvent,
    RunOutcome,
    SlurmScheduler,
    print_progress,
    run_jobs,
)

CLUSTER_BIN = Path("/run/cloudaix-cluster/bin")
POLL = 0.3
GOOD = """\
mkdir -p genai_perf
printf 'Metric,avg\\nTTFT,1.5\\n' > genai_perf/profile_c4_genai_perf.csv
touch done.marker
"""
FAILURE = """\
echo 'loading model' > decode.log
echo 'Segmentation fault' >> decode.log
{ echo "role=decode node=$(hostname) process=dynamo-decode exit=139"; tail -n 5 decode.log; } \\
  > failure.marker
exit 1
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    if not CLUSTER_BIN.is_dir():
        pytest.skip(f"no local Slurm cluster: {CLUSTER_BIN} missing (start it with .ci/cluster/up)")
    # The wrappers reach the cluster's network namespace; Debian's own clients in /usr/bin
    # cannot, so put the wrappers first (the SIGINT test's child inherits this PATH too).
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{CLUSTER_BIN}{os.pathsep}{path}"
    try:
        if shutil.which("sbatch") is None:
            pytest.skip(f"sbatch is not on PATH, not even in {CLUSTER_BIN}")
        proc = subprocess.run(["sinfo", "-h"], capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            pytest.skip(f"the local Slurm cluster does not answer: {proc.stderr.strip()}")
        yield
    finally:
        os.environ["PATH"] = path


@pytest.fixture
def job_name(cluster: None) -> Iterator[str]:
    """A job name unique to the test; its jobs are cancelled whatever the test's outcome."""
    name = f"cloudaix-runner-{uuid.uuid4().hex[:10]}"
    yield name
    subprocess.run(["scancel", "-n", name], capture_output=True, timeout=30)


def queued(name: str) -> list[tuple[str, str]]:
    """(job id, state) of the jobs named ``name`` still in the queue."""
    out = subprocess.run(
        ["squeue", "-h", "-n", name, "-o", "%i|%T"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return [tuple(line.split("|")) for line in out.split()]  # type: ignore[misc]


def make_job(
    root: Path,
    key: str,
    body: str,
    name: str,
    *,
    options: Sequence[str] = (),
    depends_on: Sequence[tuple[str, str]] = (),
) -> PreparedRun:
    test_id, iteration, step = key.split("/")
    run_dir = root / key
    run_dir.mkdir(parents=True)
    header = [
        "#!/bin/bash",
        f"#SBATCH --job-name={name}",
        f"#SBATCH --output={run_dir}/stdout.txt",
        f"#SBATCH --error={run_dir}/stderr.txt",
        "#SBATCH --nodes=1",
        "#SBATCH --time=5",
        *(f"#SBATCH {option}" for option in options),
        f"cd {run_dir}",
    ]
    script = run_dir / "cloudai_sbatch_script.sh"
    script.write_text("\n".join(header) + "\n" + body)
    return PreparedRun(
        key=key,
        test_id=test_id,
        iteration=int(iteration),
        step=int(step),
        run_dir=run_dir,
        sbatch_script=script,
        depends_on=list(depends_on),
    )


def by_key(outcomes: list[RunOutcome]) -> dict[str, RunOutcome]:
    return {o.key: o for o in outcomes}


def test_real_jobs_end_with_the_right_status(tmp_path: Path, job_name: str) -> None:
    runs = [
        make_job(tmp_path, "ok/0/0", GOOD, job_name),
        make_job(tmp_path, "crash/0/0", FAILURE, job_name),
        make_job(tmp_path, "empty/0/0", "touch done.marker\n", job_name),
        make_job(tmp_path, "exit3/0/0", "exit 3\n", job_name),
        make_job(tmp_path, "partition/0/0", GOOD, job_name, options=["--partition=nope"]),
        make_job(tmp_path, "nodes/0/0", GOOD, job_name, options=["--nodes=9"]),
    ]
    events: list[ProgressEvent] = []
    outcomes = by_key(
        run_jobs(runs, SlurmScheduler(), max_parallel=4, poll_interval=POLL, progress=events.append)
    )

    ok = outcomes["ok/0/0"]
    assert (ok.status, ok.slurm_state, ok.cause) == ("completed", "COMPLETED", "")
    assert ok.job_id is not None and ok.job_id.isdigit()
    crash = outcomes["crash/0/0"]
    assert (crash.status, crash.slurm_state) == ("failed", "FAILED")
    assert crash.cause.startswith("decode worker on node")
    assert crash.cause.endswith("(process dynamo-decode) exited with code 139: Segmentation fault")
    assert (outcomes["empty/0/0"].status, outcomes["empty/0/0"].cause) == (
        "failed",
        "no results file",
    )
    assert outcomes["exit3/0/0"].cause == "Slurm state FAILED (exit code 3)"
    partition = outcomes["partition/0/0"]
    assert (partition.status, partition.job_id, partition.slurm_state) == (
        "not_submitted",
        None,
        None,
    )
    assert "invalid partition" in partition.cause.lower()
    assert "Batch job submission failed" in outcomes["nodes/0/0"].cause
    assert outcomes["nodes/0/0"].status == "not_submitted"

    for r in runs:
        status = json.loads((r.run_dir / "status.json").read_text())
        assert status["status"] == outcomes[r.key].status
    assert (runs[0].run_dir / "stdout.txt").exists()  # Slurm wrote where the script said
    assert queued(job_name) == []
    assert [e.key for e in events if e.message.startswith("not submitted")] == [
        "partition/0/0",
        "nodes/0/0",
    ]


def test_bounded_parallelism_observed_in_squeue(tmp_path: Path, job_name: str) -> None:
    """Jobs wait for a ``go`` file that the test writes only after counting the queue."""

    class Observed(SlurmScheduler):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[int] = []  # jobs of this test in squeue, after each call
            self.run_dirs: list[Path] = []  # in submission order

        def submit(self, script: Path, run_dir: Path) -> str:
            job_id = super().submit(script, run_dir)
            self.run_dirs.append(run_dir)
            self.seen.append(len(queued(job_name)))
            return job_id

        def poll(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
            self.seen.append(len(queued(job_name)))
            for run_dir in self.run_dirs:
                (run_dir / "go").touch()
            return super().poll(job_ids)

    wait_for_go = "while [ ! -e go ]; do sleep 0.1; done\n" + GOOD
    runs = [make_job(tmp_path, f"T/0/{i}", wait_for_go, job_name) for i in range(5)]
    scheduler = Observed()
    outcomes = run_jobs(
        runs, scheduler, max_parallel=2, poll_interval=POLL, progress=print_progress
    )
    assert [o.status for o in outcomes] == ["completed"] * 5
    assert max(scheduler.seen) == 2
    assert len(scheduler.run_dirs) == 5


def test_dependencies_on_real_jobs(tmp_path: Path, job_name: str) -> None:
    stamp = "date +%s.%N > {}\n"
    runs = [
        # The server never ends by itself: end_post_comp on the client stops it.
        make_job(
            tmp_path,
            "server/0/0",
            stamp.format("started") + "sleep 300\n",
            job_name,
            depends_on=[("end_post_comp", "client")],
        ),
        make_job(
            tmp_path,
            "client/0/0",
            stamp.format("started") + GOOD + stamp.format("ended"),
            job_name,
            depends_on=[("start_post_init", "server")],
        ),
        make_job(
            tmp_path,
            "report/0/0",
            stamp.format("started") + GOOD,
            job_name,
            depends_on=[("start_post_comp", "client")],
        ),
    ]
    outcomes = by_key(run_jobs(runs, SlurmScheduler(), poll_interval=POLL, progress=print_progress))

    assert (outcomes["server/0/0"].status, outcomes["server/0/0"].slurm_state) == (
        "cancelled",
        "CANCELLED",
    )
    assert outcomes["server/0/0"].cause == "end_post_comp: client finished"
    assert outcomes["client/0/0"].status == outcomes["report/0/0"].status == "completed"
    started = {r.test_id: float((r.run_dir / "started").read_text()) for r in runs}
    assert started["server"] <= started["client"]
    assert float((runs[1].run_dir / "ended").read_text()) <= started["report"]
    assert queued(job_name) == []


def test_job_cancelled_outside_the_runner(tmp_path: Path, job_name: str) -> None:
    class CancelWhenRunning(SlurmScheduler):
        def poll(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
            infos = super().poll(job_ids)
            running = [j for j, info in infos.items() if info.state == "RUNNING"]
            if running:
                subprocess.run(["scancel", *running], check=True, timeout=30)
            return infos

    run = make_job(tmp_path, "T/0/0", "sleep 300\n", job_name)
    [outcome] = run_jobs([run], CancelWhenRunning(), poll_interval=POLL, progress=print_progress)
    assert (outcome.status, outcome.slurm_state, outcome.cause) == (
        "cancelled",
        "CANCELLED",
        "Slurm state CANCELLED",
    )


CHILD = """\
import json, sys
from pathlib import Path
from cloudai_dynamo_rs.runner import PreparedRun, RunInterrupted, SlurmScheduler, run_jobs

runs = [
    PreparedRun(**{**r, "run_dir": Path(r["run_dir"]), "sbatch_script": Path(r["sbatch_script"])})
    for r in json.loads(sys.argv[1])
]
try:
    run_jobs(runs, SlurmScheduler(), max_parallel=2, poll_interval=0.3)
except RunInterrupted as err:
    print(json.dumps([o.to_json() for o in err.outcomes]))
    sys.exit(130)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_cancels_every_job_of_the_run(
    tmp_path: Path, job_name: str, sig: signal.Signals
) -> None:
    runs = [make_job(tmp_path, f"T/0/{i}", "sleep 300\n", job_name) for i in range(3)]
    spec = [
        {"key": r.key, "test_id": r.test_id, "iteration": 0, "step": r.step,
         "run_dir": str(r.run_dir), "sbatch_script": str(r.sbatch_script)}
        for r in runs
    ]  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: [s for _, s in queued(job_name)] == ["RUNNING"] * 2, timeout=30)
        child.send_signal(sig)
        out, err = child.communicate(timeout=90)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert "interrupted: cancelling 2 job(s)" in err
    assert queued(job_name) == []
    outcomes = by_key([RunOutcome(**o) for o in json.loads(out)])
    cancelled = [outcomes[f"T/0/{i}"] for i in (0, 1)]
    assert [(o.status, o.slurm_state) for o in cancelled] == [("cancelled", "CANCELLED")] * 2
    assert outcomes["T/0/2"].status == "not_submitted"
    for r in runs:
        assert json.loads((r.run_dir / "status.json").read_text()) == {
            **outcomes[r.key].to_json(),
            "test_id": "T",
            "iteration": 0,
            "step": r.step,
            "params": {},
        }
    job_ids = ",".join(o.job_id or "" for o in cancelled)
    accounting = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", "State", "-j", job_ids],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert [line.split()[0] for line in accounting.splitlines()] == ["CANCELLED"] * 2


def wait_until(condition, timeout: float) -> None:
    """Poll ``condition`` (a readiness wait, not an assertion) until true or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.2)
