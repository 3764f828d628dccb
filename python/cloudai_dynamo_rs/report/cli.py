"""``cloudaix generate-report``: CloudAI's flags, the report of an existing results tree."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import _core
from .generate import generate_report


def cmd_generate_report(args: argparse.Namespace) -> int:
    """Validate the system file (for ``gpus_per_node``), write the report, print its paths.

    ``--tests-dir`` and ``--test-scenario`` are accepted for CloudAI compatibility; the
    results tree records every run's test and node plan, so they are not re-read.
    """
    system = _core.load_system(args.system_config)
    gpus_per_node = system.get("gpus_per_node")
    if gpus_per_node is None:
        print(
            f"warning: {args.system_config}: no gpus_per_node; per-GPU throughput left empty",
            file=sys.stderr,
        )
    paths = generate_report(Path(args.result_dir), gpus_per_node)
    for path in paths.run_reports:
        print(f"run report   {path}")
    for path in paths.trajectories:
        print(f"trajectory   {path}")
    for test_id, path in paths.test_summaries.items():
        print(f"test summary {path}")
        print(f"test report  {paths.test_html[test_id]}")
    print(f"summary      {paths.summary}")
    print(f"report       {paths.html}")
    if not paths.plots:
        print("warning: matplotlib is not installed: report.html has no plots", file=sys.stderr)
    return 0
