"""Wall time of `cloudaix dry-run` as a whole process: the seed scenario and a 1000-case sweep.

    python benches/dry_run.py [--repeat 5]

CloudAI's reference on this machine class: about 2.2 s for one test, about 115 s for 100 sweep
cases (extrapolated: ~1150 s for 1000). Reports the median of the repeats.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "conf" / "staging" / "ai_dynamo"
CLOUDAI_SEED_S = 2.2
CLOUDAI_PER_CASE_S = 115 / 100


def write_inputs(work: Path, sweep: bool) -> tuple[Path, Path, Path]:
    hf = work / "hf"
    hf.mkdir(exist_ok=True)
    tests = work / ("tests-sweep" if sweep else "tests-seed")
    tests.mkdir(exist_ok=True)
    text = (SEED / "test" / "llama3.1_405b_fp8.toml").read_text()
    text = text.replace("/your/path/to/hf_home", str(hf))
    if sweep:  # 10 x 10 x 10 = 1000 cases
        text = text.replace(
            "streaming = true",
            "streaming = true\nconcurrency = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]\n"
            "request_rate = [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
        )
        text = text.replace(
            "[extra_env_vars]",
            '[extra_env_vars]\nMODE = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]',
        )
    (tests / "test.toml").write_text(text)
    return SEED / "system" / "oci.toml", tests, SEED / "test_scenario" / "ai_dynamo.toml"


def time_dry_run(work: Path, sweep: bool, repeat: int) -> tuple[float, int]:
    system, tests, scenario = write_inputs(work, sweep)
    times = []
    for i in range(repeat):
        out = work / f"out-{sweep}-{i}"
        cmd = [
            sys.executable,
            "-m",
            "cloudai_dynamo_rs.cli",
            "dry-run",
            "--system-config",
            str(system),
            "--tests-dir",
            str(tests),
            "--test-scenario",
            str(scenario),
            "--output-dir",
            str(out),
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
        runs = len(list(out.glob("*/*/*/*/cloudai_sbatch_script.sh"))) or len(
            list(out.glob("*/*/*/cloudai_sbatch_script.sh"))
        )
        shutil.rmtree(out)
    return statistics.median(times), runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        seed_s, seed_runs = time_dry_run(work, False, args.repeat)
        sweep_s, sweep_runs = time_dry_run(work, True, args.repeat)
    print(
        f"dry-run seed scenario: {seed_s * 1000:.1f} ms ({seed_runs} run) "
        f"- CloudAI ~{CLOUDAI_SEED_S:.1f} s: {CLOUDAI_SEED_S / seed_s:.0f}x faster"
    )
    cloudai_sweep = CLOUDAI_PER_CASE_S * sweep_runs
    print(
        f"dry-run {sweep_runs}-case sweep: {sweep_s:.2f} s "
        f"- CloudAI ~{cloudai_sweep:.0f} s (115 s per 100 cases): "
        f"{cloudai_sweep / sweep_s:.0f}x faster"
    )


if __name__ == "__main__":
    main()
