"""The ``cloudaix`` command line (also ``python cloudaix.py``).

Verbs and flags follow CloudAI's CLI (``run``, ``dry-run``, ``generate-report``,
``verify-configs``) so that a CloudAI user's commands work unchanged.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _core
from .engine import ENGINES, ENV_VAR, FLAG
from .rehearse import add_rehearse_parser

if TYPE_CHECKING:
    from .runner import PreparedRun, SlurmScheduler, StandaloneScheduler

# The report (matplotlib) is imported only where it is used, so that `plan`, `dry-run` and
# `verify-configs` start fast.

# ---- command-line values: checked by argparse, before any file is read or written ----------


def positive_int(text: str) -> int:
    # Up to 2^64 - 1: the core counts runs in 64 bits.
    digits = text.strip().removeprefix("+")
    if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) < 2**64:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 1, found {text!r}")
    return int(digits)


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, found {text!r}")
    return value


def _existing(kind: str, test: Callable[[Path], bool]) -> Callable[[str], Path]:
    def check(text: str) -> Path:
        p = Path(text)
        if not test(p):
            why = f"is not a {kind}" if p.exists() else "does not exist"
            raise argparse.ArgumentTypeError(
                f"expected an existing {kind}, found {text!r}, which {why}"
            )
        return p

    return check


existing_file = _existing("file", Path.is_file)
existing_dir = _existing("directory", Path.is_dir)


def output_dir(text: str) -> Path:
    p = Path(text)
    if text == "" or (p.exists() and not p.is_dir()):
        raise argparse.ArgumentTypeError(
            f"expected a directory (created if missing), found {text!r}"
            + (", which is not a directory" if text else "")
        )
    return p


def add_max_runs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-runs",
        type=positive_int,
        default=_core.DEFAULT_MAX_RUNS,
        help="Most runs (tests, times iterations, times sweep cases) the scenario may expand to "
        f"(default: {_core.DEFAULT_MAX_RUNS}).",
    )


def _toml_files(paths: Sequence[Path]) -> list[Path]:
    """Expand directories into their ``*.toml`` files (recursively), in a stable order."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.rglob("*.toml")) if p.is_dir() else [p])
    return files


def report_config_error(err: _core.ConfigError) -> int:
    n = len(err.errors)
    print(f"error: {n} configuration error{'s' if n != 1 else ''}", file=sys.stderr)
    for e in err.errors:
        print(f"  {e['text']}", file=sys.stderr)
    return 1


def cmd_verify_configs(args: argparse.Namespace) -> int:
    paths = list(args.configs)
    if args.tests_dir:
        paths.append(args.tests_dir)
    files = _toml_files(paths)
    if not files:
        print("error: no .toml files found in " + ", ".join(map(str, paths)), file=sys.stderr)
        return 1
    errors, kinds = _core.verify_files(
        files, check_host_paths=not args.skip_host_checks, max_runs=args.max_runs
    )
    for path, kind in kinds:
        print(f"{kind or 'unknown':9} {path}")
    if errors:
        print(f"error: {len(errors)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        for e in errors:
            print(f"  {e['text']}", file=sys.stderr)
        return 1
    print(f"ok: {len(files)} file(s) valid")
    return 0


def prepare(args: argparse.Namespace, *, print_plan: bool = True) -> dict[str, Any]:
    """Validate the three inputs and write the results tree (with plan.json); print the plan's
    summary line, the warnings and what was written."""
    tests = _toml_files([args.tests_dir]) if args.tests_dir else []
    prepared = _core.prepare(
        args.system_config,
        tests,
        args.test_scenario,
        timestamp=time.strftime("%Y-%m-%d_%H-%M-%S"),
        output_root=args.output_dir,
        max_runs=args.max_runs,
        check_host_paths=not args.skip_host_checks,
    )
    if print_plan:
        print(prepared["plan_summary"], flush=True)
    for w in prepared["warnings"]:
        print(f"warning: {w['text']}", file=sys.stderr)
    runs = prepared["runs"]
    print(f"{len(runs)} test run(s) written to {prepared['results_dir']}")
    return prepared


def cmd_dry_run(args: argparse.Namespace) -> int:
    prepared = prepare(args)
    for run in prepared["runs"]:
        params = ", ".join(f"{k}={v}" for k, v in run["params"].items())
        print(f"  {run['sbatch']}" + (f"  [{params}]" if params else ""))
    return 0


def prepared_runs(prepared: dict[str, Any]) -> list[PreparedRun]:
    """The runner's view of what dry-run wrote."""
    from .runner import PreparedRun

    return [
        PreparedRun(
            key=str(Path(r["run_dir"]).relative_to(prepared["results_dir"])),
            test_id=r["id"],
            iteration=r["iteration"],
            step=r["step"],
            run_dir=Path(r["run_dir"]),
            sbatch_script=Path(r["sbatch"]),
            depends_on=[(d["type"], d["id"]) for d in r["dependencies"]],
            params=r["params"],
        )
        for r in prepared["runs"]
    ]


def write_report(results_dir: Path, gpus_per_node: int | None) -> None:
    from .report import generate_report

    paths = generate_report(results_dir, gpus_per_node)
    print(f"report: {paths}")


CONFIRM_ENV = "CLOUDAIX_CONFIRM_NODE_HOURS"


def confirm_threshold(flag: float | None) -> float:
    """Node-hours above which ``run`` asks: the flag, else the environment, else the default."""
    if flag is not None:
        return flag
    raw = os.environ.get(CONFIRM_ENV, "").strip()
    if not raw:
        return _core.DEFAULT_CONFIRM_NODE_HOURS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{CONFIRM_ENV}: expected a number of node-hours >= 0, found {raw!r}")
    return value


def node_hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected node-hours >= 0, found {text!r}")
    return value


def confirmed(reason: str) -> bool:
    """Ask on the terminal; anything but y/yes (including end of input) is a no."""
    print(f"{reason}.", file=sys.stderr)
    print("Submit? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def cmd_plan(args: argparse.Namespace) -> int:
    tests = _toml_files([args.tests_dir]) if args.tests_dir else []
    planned = _core.plan_scenario(
        args.system_config,
        tests,
        args.test_scenario,
        output_root=args.output_dir,
        check_host_paths=not args.skip_host_checks,
        max_runs=args.max_runs,
    )
    if str(args.json) == "-":
        sys.stdout.write(planned["json"])
        return 0
    print(planned["text"], end="")
    if args.json:
        tmp = args.json.with_name(f".{args.json.name}.tmp")
        tmp.write_text(planned["json"])
        os.replace(tmp, args.json)
        print(f"plan written to {args.json}")
    return 0


def scheduler_for(
    system: dict[str, Any], max_parallel: int | None
) -> tuple[SlurmScheduler | StandaloneScheduler, int]:
    """The system's scheduler, checked usable here (SchedulerError says why not), and the
    number of jobs at once: ``max_parallel``, else 4 on Slurm and 1 on a standalone machine
    (its jobs would share its GPUs)."""
    from .runner import SlurmScheduler, StandaloneScheduler

    scheduler: SlurmScheduler | StandaloneScheduler
    if system["scheduler"] == "standalone":
        scheduler, parallel = StandaloneScheduler(), 1
    else:
        scheduler, parallel = SlurmScheduler(), 4
    scheduler.check_usable()
    return scheduler, parallel if max_parallel is None else max_parallel


def cmd_generate_report(args: argparse.Namespace) -> int:
    from .report.cli import cmd_generate_report as generate

    return generate(args)


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import RunInterrupted, SchedulerError, run_jobs

    system = _core.load_system(args.system_config)
    try:
        scheduler, parallel = scheduler_for(system, args.max_parallel)  # before any writing
    except SchedulerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    try:
        threshold = confirm_threshold(args.confirm_above)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tests = _toml_files([args.tests_dir]) if args.tests_dir else []
    planned = _core.plan_scenario(
        args.system_config,
        tests,
        args.test_scenario,
        output_root=args.output_dir,
        check_host_paths=not args.skip_host_checks,
        max_runs=args.max_runs,
        confirm_above=threshold,
    )
    print(planned["summary"], flush=True)
    # Only a person at a terminal can answer; scripts and CI (no tty) are never blocked.
    if planned["confirm"] and not args.yes and sys.stdin.isatty():
        if not confirmed(planned["confirm"]):
            print("not submitted: nothing was written", file=sys.stderr)
            return 1
    prepared = prepare(args, print_plan=False)
    runs = prepared_runs(prepared)
    results_dir = Path(prepared["results_dir"])
    poll = args.poll_interval if args.poll_interval else system["monitor_interval"]
    try:
        outcomes = run_jobs(runs, scheduler, max_parallel=parallel, poll_interval=poll)
    except RunInterrupted as stop:
        failed = [o for o in stop.outcomes if o.status != "completed"]
        print(f"interrupted: {len(failed)} run(s) cancelled or not run", file=sys.stderr)
        write_report(results_dir, system["gpus_per_node"])
        return 130
    write_report(results_dir, system["gpus_per_node"])
    failed = [o for o in outcomes if o.status != "completed"]
    for o in outcomes:
        line = f"{o.status:13} {o.key}  job {o.job_id or '-'}"
        print(line + (f"  ({o.cause})" if o.cause else ""))
    print(f"{len(outcomes) - len(failed)}/{len(outcomes)} run(s) completed in {results_dir}")
    return 1 if failed else 0


class Parser(argparse.ArgumentParser):
    """argparse, but an unknown option is reported first, by name, with the closest flag.

    Plain argparse checks required flags before unknown ones, so ``--system-cofig`` came out
    as "the following arguments are required: --system-config".
    """

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        if args is not None:
            self._refuse_unknown_options(list(args))
        return super().parse_known_args(args, namespace)

    def _refuse_unknown_options(self, args: list[str]) -> None:
        known = list(self._option_string_actions)
        for arg in args:
            if arg == "--":
                return
            if not arg.startswith("-") or arg == "-" or _is_number(arg):
                if self._subparsers is not None:
                    return  # the mode: its own parser checks the rest
                continue
            name = arg.split("=", 1)[0]
            if name in known or (name.startswith("--") and _unique_prefix(name, known)):
                continue
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            self.error(f"unknown option {name}{hint}")


def _is_number(arg: str) -> bool:
    try:
        float(arg)
    except ValueError:
        return False
    return True


def _unique_prefix(name: str, known: list[str]) -> bool:
    # argparse accepts unambiguous abbreviations (--system for --system-config).
    return len([k for k in known if k.startswith(name)]) == 1


def add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--system-config", type=existing_file, required=True, help="System TOML.")
    p.add_argument("--tests-dir", type=existing_dir, required=True, help="Directory of test TOMLs.")
    p.add_argument("--test-scenario", type=existing_file, required=True, help="Test scenario TOML.")


def add_skip_host_checks(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--skip-host-checks",
        action="store_true",
        help="Do not check that paths such as HF_HOME exist on this host (files for another host).",
    )


def add_engine_arg(p: argparse.ArgumentParser) -> None:
    # Taken out of the command line by engine.main before parsing: listed for --help only.
    p.add_argument(
        FLAG,
        choices=ENGINES,
        help=f"Engine that runs the command (also ${ENV_VAR}); default: cloudai when CloudAI "
        "is installed, else embedded.",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="cloudaix",
        description="AI Dynamo benchmarks on Slurm (CloudAI-compatible CLI, Rust core).",
        epilog="`cloudaix MODE --help` lists the flags of a mode.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_core.__version__}")
    add_engine_arg(parser)
    sub = parser.add_subparsers(dest="mode", required=True, metavar="MODE")

    verify = sub.add_parser("verify-configs", help="Validate system, test and scenario files.")
    verify.add_argument("configs", nargs="+", type=Path, help="Files or directories of TOMLs.")
    verify.add_argument("--tests-dir", type=Path, help="Also check the tests in this directory.")
    verify.add_argument(
        "--strict",
        action="store_true",
        help="Accepted for CloudAI compatibility: checks are always strict here.",
    )
    add_skip_host_checks(verify)
    add_max_runs(verify)
    verify.set_defaults(func=cmd_verify_configs)

    dry = sub.add_parser("dry-run", help="Write every script of the scenario; submit nothing.")
    add_scenario_args(dry)
    dry.add_argument(
        "--output-dir", type=output_dir, help="Results root (default: system output_path)."
    )
    add_max_runs(dry)
    add_skip_host_checks(dry)
    dry.set_defaults(func=cmd_dry_run)

    run = sub.add_parser("run", help="Write the scripts, submit every run to Slurm, follow them.")
    add_scenario_args(run)
    run.add_argument(
        "--output-dir", type=output_dir, help="Results root (default: system output_path)."
    )
    add_max_runs(run)
    add_skip_host_checks(run)
    run.add_argument(
        "--max-parallel",
        type=positive_int,
        help="Most jobs queued or running at once (default: 4 on Slurm, 1 on a standalone "
        "system; sweeps are independent jobs).",
    )
    run.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="Submit without asking, whatever the plan's node-hours.",
    )
    run.add_argument(
        "--confirm-above",
        type=node_hours,
        metavar="NODE_HOURS",
        help=f"Ask before submitting when the plan's upper bound exceeds this (default: "
        f"${CONFIRM_ENV} or {_core.DEFAULT_CONFIRM_NODE_HOURS:g}); only when stdin is a terminal.",
    )
    run.add_argument(
        "--poll-interval",
        type=positive_seconds,
        help="Seconds between job-state polls (default: the system's monitor_interval).",
    )
    run.set_defaults(func=cmd_run)
    add_rehearse_parser(sub, run)

    plan = sub.add_parser(
        "plan",
        help="Jobs, nodes, node-hours (bound and estimate), pruned sweep points, start order.",
    )
    add_scenario_args(plan)
    plan.add_argument(
        "--output-dir",
        type=output_dir,
        help="Results root holding earlier results (default: system output_path).",
    )
    add_max_runs(plan)
    plan.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="Also write plan.json to PATH; '-' prints it on stdout instead of the text.",
    )
    add_skip_host_checks(plan)
    plan.set_defaults(func=cmd_plan)

    report = sub.add_parser(
        "generate-report", help="Write report.csv, summary.csv and report.html of a results dir."
    )
    add_scenario_args(report)
    report.add_argument(
        "--result-dir", type=existing_dir, required=True, help="A scenario's results directory."
    )
    report.set_defaults(func=cmd_generate_report)
    for mode in sub.choices.values():
        add_engine_arg(mode)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        # SIGTERM, like Ctrl-C, unwinds: dry-run removes its staging directory, run cancels.
        if args.func is cmd_plan:
            # plan writes nothing to clean up, and needs neither the runner nor its imports.
            return int(args.func(args))
        from .runner import interrupt_on_signals

        with interrupt_on_signals():
            return int(args.func(args))
    except _core.ConfigError as err:
        return report_config_error(err)
    except (_core.RenderError, _core.ResultsError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
