"""``cloudaix rehearse``: the user's scenario on Dynamo's mocker, before GPU hours are spent.

The Rust core rewrites every run (``_core.prepare_rehearsal``, see ``src/rehearse.rs``): mocker
engines in the same roles and counts, the local tokenizer under the user's model name, capped
requests and time; the real frontend, etcd, NATS and load generator with the user's flags. The
runs then go through the same runner as ``run`` — on this machine (standalone) by default, or
on the system given by ``--on`` (e.g. the local Slurm cluster) — and each case gets a verdict:
it would run, or why not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import _core

TYPE_CHECKING = False  # typing.TYPE_CHECKING: the CLI imports this module, typing is slow
if TYPE_CHECKING:
    from typing import Any

    from .runner import RunOutcome

#: What an HTTP error status of the frontend means for the user's files.
_HTTP_HINTS = {
    404: "the frontend has no such route (it serves v1/chat/completions and v1/completions)",
    400: "the frontend refused the requests (check endpoint_type, extra_inputs, token means)",
    422: "the frontend refused the requests (check endpoint_type, extra_inputs, token means)",
}


def verdict(outcome: RunOutcome, run_dir: Path) -> str:
    """``would run``, or the cause, with what to look at in the user's files when known."""
    if outcome.status == "completed":
        return "would run"
    cause = outcome.cause or outcome.status
    # The logs' and aiperf's records' HTTP status, the record's load generator: the core's.
    evidence = _core.rehearsal_evidence(run_dir)
    code = evidence["http_status"]
    section = evidence["section"] or "load generator"
    endpoint = f"cmd_args.{section}.endpoint = {evidence['endpoint']!r}"
    if evidence["refusal"] and evidence["endpoint"]:
        return f"would fail: {endpoint} -> aiperf refused it: {evidence['refusal']}"
    if code in _HTTP_HINTS:
        where = endpoint if code == 404 and evidence["endpoint"] else f"cmd_args.{section}"
        return f"would fail: {where} -> the load generator got HTTP {code}: {_HTTP_HINTS[code]}"
    return f"would fail: {cause}"


def cmd_rehearse(args: argparse.Namespace) -> int:
    # The runner is imported here, not with the CLI: `plan` and `dry-run` start faster.
    from .cli import _toml_files, prepared_runs, scheduler_for, write_report
    from .runner import RunInterrupted, SchedulerError, run_jobs

    target: dict[str, Any] = _core.load_system(args.on) if args.on else {"scheduler": "standalone"}
    try:
        scheduler, parallel = scheduler_for(target, args.max_parallel)  # before any writing
    except SchedulerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    tests = _toml_files([args.tests_dir]) if args.tests_dir else []
    prepared = _core.prepare_rehearsal(
        args.system_config,
        tests,
        args.test_scenario,
        timestamp=time.strftime("%Y-%m-%d_%H-%M-%S"),
        target=args.on,
        output_root=args.output_dir,
        stack=args.stack,
        max_requests=args.max_requests,
        sample=args.sample,
        max_runs=args.max_runs,
    )
    for w in prepared["warnings"]:
        print(f"warning: {w['text']}", file=sys.stderr)
    results_dir = Path(prepared["results_dir"])
    runs = prepared_runs(prepared)
    where = "this machine (standalone)" if target["scheduler"] == "standalone" else str(args.on)
    print(f"rehearsing {len(runs)} run(s) on the mocker, on {where}: {results_dir}", flush=True)
    poll = args.poll_interval or target.get("monitor_interval", 1)
    try:
        outcomes = run_jobs(runs, scheduler, max_parallel=parallel, poll_interval=poll)
    except RunInterrupted:
        print("interrupted: rehearsal cancelled", file=sys.stderr)
        return 130
    write_report(results_dir, None)
    dirs = {r.key: r.run_dir for r in runs}
    verdicts = [(o.key, verdict(o, dirs[o.key])) for o in outcomes]
    for key, text in verdicts:
        print(f"{key}: {text}")
    bad = sum(not text.startswith("would run") for _, text in verdicts)
    print(f"{len(verdicts) - bad}/{len(verdicts)} case(s) would run")
    return 1 if bad else 0


def add_rehearse_parser(sub: argparse._SubParsersAction[Any], run: argparse.ArgumentParser) -> None:
    """``rehearse`` takes every flag of ``run`` (``run``'s parser is its parent), and its own."""
    p = sub.add_parser(
        "rehearse",
        parents=[run],
        add_help=False,
        help="Run the scenario on Dynamo's mocker (no GPU): which cases would run, and why not.",
    )
    p.add_argument(
        "--sample", type=int, metavar="N", help="Rehearse N cases, evenly spread (default: all)."
    )
    p.add_argument(
        "--on",
        type=Path,
        metavar="SYSTEM_TOML",
        help="System to rehearse on, e.g. conf/local/system/baremetal.toml for the local Slurm "
        "cluster (default: this machine, standalone).",
    )
    p.add_argument(
        "--stack",
        help="Root of the local stack: dynamo-python, genai-perf, aiperf, tiny-model "
        "(default: /opt/cloudaix-stack).",
    )
    p.add_argument(
        "--max-requests",
        type=int,
        help="Most requests per case (default: 10, raised to the concurrency).",
    )
    p.set_defaults(func=cmd_rehearse)
