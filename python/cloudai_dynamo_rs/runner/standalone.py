"""The standalone scheduler (``scheduler = "standalone"``): jobs run on this machine, no Slurm.

``submit`` plans the job with the Rust core (a process per node role, the job's ports, the
GPU split, the time limit), takes free ports for it, and starts one
:mod:`~.local_job` process, in a session of its own, that runs the job's script once per
role. The job id is that process's pid. ``poll`` reads the state file the job writes at its
end; ``cancel`` sends it SIGTERM (it then stops every process of the job).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .. import _core
from .models import JobInfo, exit_code
from .scheduler import SchedulerError, SubmitError

PLAN_FILE = "standalone_plan.json"
STATE_FILE = "standalone_state.json"
RECORD_FILE = _core.RECORD_FILE
# Below Linux's ephemeral range (32768-60999), so that a port found free is not taken by an
# outgoing connection before the job binds it.
PORT_RANGE = (20000, 32767)


def free_ports(count: int, *, rng: random.Random | None = None) -> list[int]:
    """``count`` distinct TCP ports that nothing listens on, on any address, right now."""
    rng = rng or random.SystemRandom()
    ports: list[int] = []
    with ExitStack() as held:  # hold each until all are found, so none is picked twice
        for _ in range(200 * max(count, 1)):
            if len(ports) == count:
                break
            port = rng.randint(*PORT_RANGE)
            if port in ports:
                continue
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                sock.bind(("", port))
            except OSError:
                continue
            ports.append(port)
    if len(ports) < count:
        raise SubmitError(f"found only {len(ports)} of {count} free TCP ports on this machine")
    return ports


def machine_gpus(env: Mapping[str, str] | None = None) -> list[str]:
    """This machine's GPU ids: ``CUDA_VISIBLE_DEVICES`` when set, else ``nvidia-smi``'s."""
    visible = (os.environ if env is None else env).get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g.strip() for g in visible.split(",") if g.strip() and g.strip() != "-1"]
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip().isdigit()]


def _core_plan(record: dict[str, Any], gpus: list[str], job_id: str) -> dict[str, Any]:
    topo = record["topology"]
    slots = _core.standalone_port_slots(topo["prefill"], topo["decode"])
    try:
        return _core.standalone_plan(
            topo["prefill"],
            topo["decode"],
            gpus=gpus,
            ports=free_ports(len(slots)),
            job_id=job_id,
            time_limit=record.get("time_limit"),
        )
    except _core.RenderError as err:
        raise SubmitError(str(err)) from err


Planner = Callable[[dict[str, Any], list[str], str], dict[str, Any]]


class StandaloneScheduler:
    """Runs each job as local processes; ``gpus`` defaults to :func:`machine_gpus`."""

    def __init__(self, gpus: list[str] | None = None, planner: Planner = _core_plan) -> None:
        self.gpus = machine_gpus() if gpus is None else gpus
        self.planner = planner
        self.jobs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        self._serial = 0

    def check_usable(self) -> None:
        """Raise SchedulerError when this machine cannot run jobs (the job scripts need bash)."""
        if not shutil.which("bash"):
            raise SchedulerError("bash not found on PATH: the standalone scheduler runs bash")

    def submit(self, script: Path, run_dir: Path) -> str:
        try:
            record = json.loads((run_dir / RECORD_FILE).read_text())
        except (OSError, ValueError) as err:
            raise SubmitError(f"cannot read {run_dir / RECORD_FILE}: {err}") from err
        self._serial += 1
        # Unique on this machine while the job runs: scratch directories are named after it.
        job_tag = f"local{os.getpid()}-{self._serial}"
        plan = self.planner(record, self.gpus, job_tag)
        state_file = run_dir / STATE_FILE
        spec = {
            "run_dir": str(run_dir),
            "script": str(script.resolve()),
            "state_file": str(state_file),
            **plan,
        }
        spec_file = run_dir / PLAN_FILE
        spec_file.write_text(json.dumps(spec, indent=2) + "\n")
        state_file.unlink(missing_ok=True)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "cloudai_dynamo_rs.runner.local_job", str(spec_file)],
                cwd=run_dir,
                stdin=subprocess.DEVNULL,
                # A terminal's Ctrl-C reaches the runner only; it decides to cancel.
                start_new_session=True,
            )
        except OSError as err:
            raise SubmitError(f"cannot start the job: {err}") from err
        job_id = str(proc.pid)
        self.jobs[job_id] = (proc, state_file)
        return job_id

    def poll(self, job_ids: Sequence[str]) -> dict[str, JobInfo]:
        infos: dict[str, JobInfo] = {}
        for job_id in job_ids:
            known = self.jobs.get(job_id)
            if known is None:
                continue
            proc, state_file = known
            if proc.poll() is None:
                infos[job_id] = JobInfo("RUNNING")
                continue
            try:
                state = json.loads(state_file.read_text())
            except (OSError, ValueError):
                # The job process died without its last word (killed, or crashed).
                infos[job_id] = JobInfo("FAILED", exit_code(proc.returncode))
                continue
            infos[job_id] = JobInfo(state["state"], state.get("exit_code"), state.get("elapsed"))
        return infos

    def cancel(self, job_ids: Sequence[str]) -> None:
        for job_id in job_ids:
            known = self.jobs.get(job_id)
            if known is None or known[0].poll() is not None:
                continue
            try:
                known[0].terminate()
            except OSError as err:
                raise SchedulerError(f"cannot signal job {job_id}: {err}") from err
