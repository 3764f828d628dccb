"""The scheduler interface the runner needs, and its Slurm implementation.

The runner only ever submits a script, asks for the states of the jobs it submitted and
cancels them; anything Slurm-specific (commands, output formats, accounting lag) stays here
so that another scheduler can be plugged in later.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from ..errors import Error
from .models import JobInfo


class SubmitError(Error):
    """The scheduler refused a job; the message is the scheduler's own explanation."""


class SchedulerError(Error):
    """The scheduler could not be queried (timeout, controller down, ...); try again later."""


class Scheduler(Protocol):
    def submit(self, script: Path, run_dir: Path) -> str:
        """Submit ``script`` from ``run_dir``; return the job id or raise SubmitError."""
        ...

    def poll(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        """States of the given jobs; jobs the scheduler knows nothing about are left out.

        Raises SchedulerError when the scheduler cannot be asked at all.
        """
        ...

    def cancel(self, job_ids: Sequence[str]) -> None:
        """Ask the scheduler to cancel the jobs; does not wait for them to end."""
        ...


_JOB_ID = re.compile(r"^\d+(_\d+)?$")
_SCONTROL_FIELD = re.compile(r"(\w+)=(\S*)")
_ERROR_PREFIX = re.compile(r"^(sbatch|squeue|sacct|scancel|scontrol): error: ")


def parse_job_id(output: str) -> str:
    """The job id printed by ``sbatch --parsable``: ``12`` or ``12;cluster``."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    job_id = lines[-1].split(";", 1)[0] if lines else ""
    if not _JOB_ID.match(job_id):
        raise SubmitError(f"cannot read a job id from sbatch output {output.strip()!r}")
    return job_id


def normalize_state(raw: str) -> str:
    """``CANCELLED by 0`` -> ``CANCELLED``; ``COMPLETED+`` -> ``COMPLETED``."""
    words = raw.strip().split()
    return words[0].rstrip("+").upper() if words else "UNKNOWN"


def parse_duration(text: str) -> float | None:
    """Slurm durations: ``[D-]HH:MM:SS``, ``MM:SS``, ``MM:SS.mmm``; None if unreadable."""
    text = text.strip()
    days = 0
    if "-" in text:
        day_text, text = text.split("-", 1)
        if not day_text.isdigit():
            return None
        days = int(day_text)
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        return None
    if not 1 <= len(parts) <= 3:
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return days * 86400 + seconds


def error_message(stderr: str, fallback: str) -> str:
    """Slurm's error lines without the ``sbatch: error:`` prefixes, joined on one line."""
    lines = [_ERROR_PREFIX.sub("", line).strip() for line in stderr.splitlines()]
    return "; ".join(line for line in lines if line) or fallback


# Written by the repository's local test cluster (.ci/cluster/up); its clients only work
# through the wrappers next to it.
LOCAL_CLUSTER_ENV = Path("/run/cloudaix-cluster/env.sh")


def _hint() -> str:
    if LOCAL_CLUSTER_ENV.is_file():
        return (
            f"The local test cluster is up: put its Slurm clients first on PATH with "
            f"`. {LOCAL_CLUSTER_ENV}` (the line .ci/cluster/up printed), then run again."
        )
    return (
        "Run on a Slurm login node, with Slurm's clients on PATH and its configuration found "
        "(slurm.conf or SLURM_CONF); for the local test cluster, start .ci/cluster/up and "
        "add the PATH line it prints."
    )


class SlurmScheduler:
    """Slurm through its command-line clients.

    ``command_prefix`` is put in front of every command, e.g. ``["ssh", "login1"]``; the run
    directory must then be the same path on both sides (a shared filesystem).
    """

    def __init__(self, command_prefix: Sequence[str] = (), *, timeout: float = 60.0) -> None:
        self.command_prefix = list(command_prefix)
        self.timeout = timeout

    def _run(self, args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        cmd = [*self.command_prefix, *args]
        try:
            # A new session keeps a terminal's Ctrl-C away from the client: the runner decides
            # what an interrupt means (cancel everything), and a half-killed sbatch could
            # submit a job whose id we never learn.
            return subprocess.run(
                cmd,
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
                start_new_session=True,
            )
        except FileNotFoundError as err:
            raise SchedulerError(f"{cmd[0]}: command not found") from err
        except subprocess.TimeoutExpired as err:
            raise SchedulerError(f"{args[0]} did not answer within {self.timeout:g} s") from err

    def check_usable(self) -> None:
        """Raise SchedulerError saying why ``sbatch`` cannot be used here, and what to do.

        ``sbatch --version`` needs Slurm's configuration but not the controller, so it tells
        "no Slurm client" and "no slurm.conf" apart from a busy cluster in a tenth of a second.
        """
        try:
            proc = self._run(["sbatch", "--version"])
        except SchedulerError as err:
            raise SchedulerError(f"{err}; `run` submits with Slurm's sbatch. {_hint()}") from err
        if proc.returncode != 0:
            lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
            why = lines[-1] if lines else f"sbatch --version exited with {proc.returncode}"
            raise SchedulerError(f"sbatch cannot be used here ({why}). {_hint()}")

    def submit(self, script: Path, run_dir: Path) -> str:
        # Submitting from run_dir makes relative #SBATCH --output paths land there.
        try:
            proc = self._run(["sbatch", "--parsable", str(script.resolve())], cwd=run_dir)
        except SchedulerError as err:
            raise SubmitError(str(err)) from err
        if proc.returncode != 0:
            raise SubmitError(error_message(proc.stderr, f"sbatch exited with {proc.returncode}"))
        return parse_job_id(proc.stdout)

    def poll(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        if not job_ids:
            return {}
        infos = self._squeue(job_ids)
        # squeue has no exit code and forgets jobs after MinJobAge; ask accounting about
        # every job that ended or vanished. Its records arrive asynchronously, so a job that
        # just left the queue may still be missing or "RUNNING" there: then ask the
        # controller directly, and failing that leave the job out (unknown) for this poll.
        settled = [j for j in job_ids if j not in infos or infos[j].terminal]
        if settled:
            accounted = self._sacct(settled)
            for job_id in settled:
                record = accounted.get(job_id)
                if record is None or not record.terminal:
                    record = self._scontrol(job_id) or infos.get(job_id)
                if record is not None and record.terminal:
                    infos[job_id] = record
                else:
                    infos.pop(job_id, None)
        return infos

    def cancel(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            # Errors are expected here (jobs that ended meanwhile); the next poll tells.
            self._run(["scancel", *job_ids])

    def _squeue(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        proc = self._run(["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", "%i|%T|%M"])
        if proc.returncode != 0:
            # Slurm answers an error, not an empty list, when none of the ids is known.
            if "Invalid job id" in proc.stderr:
                return {}
            raise SchedulerError(error_message(proc.stderr, "squeue failed"))
        infos: dict[str, JobInfo] = {}
        for line in proc.stdout.splitlines():
            fields = line.strip().split("|")
            if len(fields) == 3:
                job_id, state, used = fields
                infos[job_id] = JobInfo(normalize_state(state), None, parse_duration(used))
        return infos

    def _sacct(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        args = ["sacct", "-j", ",".join(job_ids), "-X", "-n", "-P"]
        proc = self._run([*args, "-o", "JobID,State,ExitCode,Elapsed"])
        if proc.returncode != 0:
            return {}  # accounting is optional on some clusters; scontrol is the fallback
        infos: dict[str, JobInfo] = {}
        for line in proc.stdout.splitlines():
            fields = line.strip().split("|")
            if len(fields) == 4:
                state = normalize_state(fields[1])
                infos[fields[0]] = JobInfo(state, fields[2] or None, parse_duration(fields[3]))
        return infos

    def _scontrol(self, job_id: str) -> JobInfo | None:
        proc = self._run(["scontrol", "show", "job", "-o", job_id])
        if proc.returncode != 0:
            return None
        fields = dict(_SCONTROL_FIELD.findall(proc.stdout))
        if "JobState" not in fields:
            return None
        elapsed = parse_duration(fields.get("RunTime", ""))
        return JobInfo(normalize_state(fields["JobState"]), fields.get("ExitCode"), elapsed)
