"""The ``cloudaix`` command line (also ``python cloudaix.py``).

Verbs and flags follow CloudAI's CLI (``run``, ``dry-run``, ``generate-report``,
``verify-configs``) so that a CloudAI user's commands work unchanged.
"""

from __future__ import annotations

import os
import sys
import time

from . import _core
from .cli_args import Namespace, finite_number, path_text, quick_parse

# What `dry-run`, `plan` and `verify-configs` do not need is imported where it is used
# (argparse and pathlib: see cli_args; the runner; the report's matplotlib): these commands
# are short, and imports were most of their time. typing.TYPE_CHECKING, without typing:
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from ._core import PlanResult
    from .runner import PreparedRun, SlurmScheduler, StandaloneScheduler


def _toml_files(paths: Sequence[str | Path]) -> list[str | Path]:
    """Expand directories into their ``*.toml`` files (recursively), in a stable order.

    As ``sorted(pathlib.Path(d).rglob("*.toml"))`` (Python 3.11), without pathlib (see
    cli_args): every entry whose name ends in ``.toml``, hidden ones too; symbolic links to
    directories are not followed, unreadable directories are skipped; sorted part by part.
    """
    files: list[str | Path] = []
    for p in paths:
        if not os.path.isdir(p):
            files.append(p)
            continue
        root = path_text(os.fspath(p))
        found: list[tuple[str, ...]] = []
        _find_toml(root, (), found)
        prefix = "" if root == "." else root if root.endswith("/") else root + "/"
        files.extend(prefix + "/".join(parts) for parts in sorted(found))
    return files


def _find_toml(root: str, parts: tuple[str, ...], found: list[tuple[str, ...]]) -> None:
    try:
        with os.scandir(os.path.join(root, *parts)) as it:
            entries = list(it)
    except PermissionError:
        return
    for entry in entries:
        if entry.name.endswith(".toml"):
            found.append((*parts, entry.name))
        try:
            descend = entry.is_dir() and not entry.is_symlink()
        except OSError:
            descend = False
        if descend:
            _find_toml(root, (*parts, entry.name), found)


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
    from pathlib import Path

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
    value = finite_number(raw)
    if not value >= 0:  # NaN too
        raise ValueError(f"{CONFIRM_ENV}: expected a number of node-hours >= 0, found {raw!r}")
    return value


def confirmed(reason: str) -> bool:
    """Ask on the terminal; anything but y/yes (including end of input) is a no."""
    print(f"{reason}.", file=sys.stderr)
    print("Submit? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def planned_scenario(args: argparse.Namespace, **options: Any) -> PlanResult:
    """The core's plan of the scenario ``args`` name (``plan``'s and ``run``'s flags); writes
    nothing. ``options``: further keywords of ``_core.plan_scenario``."""
    tests = _toml_files([args.tests_dir]) if args.tests_dir else []
    return _core.plan_scenario(
        args.system_config,
        tests,
        args.test_scenario,
        output_root=args.output_dir,
        check_host_paths=not args.skip_host_checks,
        max_runs=args.max_runs,
        **options,
    )


def cmd_plan(args: argparse.Namespace) -> int:
    planned = planned_scenario(args)
    if str(args.json) == "-":
        sys.stdout.write(planned["json"])
        return 0
    print(planned["text"], end="")
    if args.json:
        head, name = os.path.split(args.json)
        tmp = os.path.join(head, f".{name}.tmp")
        with open(tmp, "w") as out:
            out.write(planned["json"])
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
    planned = planned_scenario(args, confirm_above=threshold)
    print(planned["summary"], flush=True)
    # Only a person at a terminal can answer; scripts and CI (no tty) are never blocked.
    if planned["confirm"] and not args.yes and sys.stdin.isatty():
        if not confirmed(planned["confirm"]):
            print("not submitted: nothing was written", file=sys.stderr)
            return 1
    from pathlib import Path

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


#: The command of each mode that ``cli_args.quick_parse`` takes.
QUICK_COMMANDS = {"dry-run": cmd_dry_run, "plan": cmd_plan}


def parse_args(argv: Sequence[str]) -> Namespace:
    """The quick parse when it takes ``argv``, else argparse (help, errors, other modes)."""
    args = quick_parse(argv)
    if args is not None:
        args.func = QUICK_COMMANDS[args.mode]
        return args
    from .cli_parser import build_parser

    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        # SIGTERM, like Ctrl-C, unwinds: dry-run removes its staging directory, run cancels.
        if args.func is cmd_plan:
            # plan writes nothing to clean up, and needs neither the runner nor its imports.
            return int(args.func(args))
        from .signals import interrupt_on_signals

        with interrupt_on_signals():
            return int(args.func(args))
    except (_core.ConfigError, _core.RenderError, _core.ResultsError, OSError) as err:
        # The core's message as it formats it (a ConfigError: its count line, then one
        # `file:line:col: path: message` line per problem).
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
