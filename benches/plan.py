"""Wall time of `cloudaix plan` as a whole process, for a 1000-case sweep (target: < 100 ms).

    maturin develop -r && python benches/plan.py [--repeat 9]

Three figures, each the median of the repeats: the plan without earlier results, the plan with
one earlier 1000-run results directory to estimate from (runs.json + 1000 status.json), and, for
scale, the interpreter starting and importing the package without doing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dry_run  # benches/dry_run.py: the same 1000-case sweep


def write_inputs(work: Path) -> list[str]:
    """dry-run's benchmark sweep (the seed test, 10 x 10 x 10 = 1000 cases), as plan's flags."""
    system, tests, scenario = dry_run.write_inputs(work, sweep=True)
    return [
        "--system-config",
        str(system),
        "--tests-dir",
        str(tests),
        "--test-scenario",
        str(scenario),
    ]


def cloudaix(*args: str) -> list[str]:
    # The installed `cloudaix` command is this entry point (engine selection included).
    return [sys.executable, "-m", "cloudai_dynamo_rs.engine", *args]


def earlier_run(flags: list[str], out: Path) -> None:
    """A dry-run tree whose every run completed (status.json as `run` writes it)."""
    subprocess.run(
        cloudaix("dry-run", *flags, "--output-dir", str(out)), check=True, capture_output=True
    )
    [results] = [p for p in out.iterdir() if p.is_dir()]
    for i, run in enumerate(json.loads((results / "runs.json").read_text())):
        status = {
            "key": "",
            "job_id": str(i),
            "slurm_state": "COMPLETED",
            "status": "completed",
            "cause": "",
            "elapsed": 600.0 + i,
        }
        (Path(run["run_dir"]) / "status.json").write_text(json.dumps(status))


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], repeat: int) -> tuple[float, float, str]:
    """(median CPU seconds, fastest wall seconds, stdout) of ``cmd`` as a whole process.

    CPU time (user + system of the process) is what the process costs; the wall time of a
    loaded machine (other jobs on the same cores) adds waiting, so its fastest run is shown.
    """
    cpu, wall = [], []
    out = ""
    for _ in range(repeat):
        c0, t0 = cpu_of_children(), time.perf_counter()
        proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
        wall.append(time.perf_counter() - t0)
        cpu.append(cpu_of_children() - c0)
        out = proc.stdout
    return statistics.median(cpu), min(wall), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        flags = write_inputs(work)
        empty, history = work / "empty", work / "history"
        earlier_run(flags, history)
        rows = [
            (
                "python + import cloudai_dynamo_rs",
                [sys.executable, "-c", "import cloudai_dynamo_rs"],
            ),
            (
                "plan, 1000 cases, no earlier results",
                cloudaix("plan", *flags, "--output-dir", str(empty)),
            ),
            (
                "plan, 1000 cases, 1000 earlier runs",
                cloudaix("plan", *flags, "--output-dir", str(history)),
            ),
            (
                "plan --json -, 1000 cases, 1000 earlier",
                cloudaix("plan", *flags, "--output-dir", str(history), "--json", "-"),
            ),
        ]
        results = []
        for name, cmd in rows:
            cpu, wall, out = timed(cmd, args.repeat)
            results.append((name, cpu, wall))
            if out.startswith("plan:"):
                print(out.splitlines()[0])
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, cpu, wall in results:
        print(f"{name:42} CPU {cpu * 1000:6.1f} ms   fastest wall {wall * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
