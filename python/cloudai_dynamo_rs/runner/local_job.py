"""One job of the standalone scheduler: ``python -m cloudai_dynamo_rs.runner.local_job SPEC``.

This process is the job (its pid is the job id). It starts the job script once per node role,
each in its own process group with that role's environment, and behaves like ``srun
--kill-on-bad-exit``: the first node to exit non-zero ends the job, as do the time limit and
SIGTERM/SIGINT (cancel). It then stops every node (SIGTERM to its group, SIGKILL after a grace
period), and, being a child subreaper, also every process the nodes left behind (the launch
script starts its services in sessions of their own). Its last act is writing the state
file that the scheduler reads, atomically.

SPEC (JSON, written by :class:`~.standalone.StandaloneScheduler`): ``run_dir``, ``script``,
``state_file``, ``time_limit_seconds`` and ``processes`` (``node_id``, ``role``, ``env``).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from .. import _core
from .models import exit_code

PR_SET_CHILD_SUBREAPER = 36
GRACE = 10.0  # seconds a node gets to stop its services after SIGTERM (run.sh needs ~1 s)
TICK = 0.2


def _become_subreaper() -> None:
    # Linux only; elsewhere orphans go to init and only the process groups are stopped.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc; empty where there is no /proc)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after ')'.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid) and fields[0] != "Z":
            found.append(int(entry))
    return found


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = _children(todo.pop())
        out.extend(kids)
        todo.extend(kids)
    return out


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_everything(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop the nodes, then whatever they left behind; nothing survives this call."""
    for proc in procs:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(TICK)
    for proc in procs:
        _signal_group(proc, signal.SIGKILL)  # the group may outlive its leader
        proc.wait()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = _descendants(os.getpid())
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 2.0
        while _descendants(os.getpid()) and time.monotonic() < deadline:
            _reap()
            time.sleep(TICK)
    _reap()


def run(spec: dict[str, Any]) -> dict[str, Any]:
    run_dir = Path(spec["run_dir"])
    cancelled: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        cancelled.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    _become_subreaper()
    start = time.monotonic()
    limit = spec.get("time_limit_seconds")
    procs: list[subprocess.Popen[bytes]] = []
    stdout, stderr = run_dir / _core.JOB_STDOUT, run_dir / _core.JOB_STDERR  # as sbatch's
    with open(stdout, "ab") as out, open(stderr, "ab") as err:
        for p in spec["processes"]:
            if cancelled:
                break
            procs.append(
                subprocess.Popen(
                    ["bash", spec["script"]],
                    cwd=run_dir,
                    env={**os.environ, **p["env"]},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            )
    state, code = "RUNNING", None
    while state == "RUNNING":
        codes = [p.poll() for p in procs]
        bad = [c for c in codes if c not in (None, 0)]
        if cancelled:
            state = "CANCELLED"
        elif bad:
            state, code = "FAILED", bad[0]
        elif codes and all(c == 0 for c in codes):
            state, code = "COMPLETED", 0
        elif limit and time.monotonic() - start > limit:
            state = "TIMEOUT"
        else:
            time.sleep(TICK)
    stop_everything(procs)
    return {
        "state": state,
        "exit_code": exit_code(code),
        "elapsed": time.monotonic() - start,
        "node_exit_codes": [p.returncode for p in procs],
    }


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    result = run(spec)
    state_file = Path(spec["state_file"])
    tmp = state_file.with_name(f".{state_file.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, state_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
