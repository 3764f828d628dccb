"""The argparse parser of ``cloudaix``: every mode, flag, help text and error message.

Built only when ``cli_args.quick_parse`` does not take the command line (see there).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import _core
from .cli import (
    CONFIRM_ENV,
    cmd_dry_run,
    cmd_generate_report,
    cmd_plan,
    cmd_run,
    cmd_verify_configs,
)
from .cli_args import (
    DRY_RUN_FLAGS,
    MAX_RUNS,
    OUTPUT_DIR,
    PLAN_FLAGS,
    SCENARIO_FLAGS,
    SKIP_HOST_CHECKS,
    BadValue,
    Flag,
    existing_dir,
    node_hours,
    positive_int,
    positive_seconds,
)
from .engine import ENGINES, ENV_VAR, FLAG
from .rehearse import add_rehearse_parser

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (slow to import)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any


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
            import difflib  # only for this message

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


def arg_type(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """``convert`` as an argparse ``type``: its BadValue becomes argparse's own message."""

    def checked(text: str) -> Any:
        try:
            return convert(text)
        except BadValue as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    checked.__name__ = convert.__name__
    return checked


def add_flags(p: argparse.ArgumentParser, flags: Iterable[Flag]) -> None:
    for f in flags:
        if f.convert is None:
            p.add_argument(f.option, action="store_true", help=f.help)
            continue
        extra: dict[str, Any] = {"metavar": f.metavar} if f.metavar else {}
        if f.required:
            extra["required"] = True
        else:
            extra["default"] = f.default
        p.add_argument(f.option, type=arg_type(f.convert), help=f.help, **extra)


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
    add_flags(verify, [SKIP_HOST_CHECKS, MAX_RUNS])
    verify.set_defaults(func=cmd_verify_configs)

    dry = sub.add_parser("dry-run", help="Write every script of the scenario; submit nothing.")
    add_flags(dry, DRY_RUN_FLAGS)
    dry.set_defaults(func=cmd_dry_run)

    run = sub.add_parser("run", help="Write the scripts, submit every run to Slurm, follow them.")
    add_flags(run, [*SCENARIO_FLAGS, OUTPUT_DIR, MAX_RUNS, SKIP_HOST_CHECKS])
    run.add_argument(
        "--max-parallel",
        type=arg_type(positive_int),
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
        type=arg_type(node_hours),
        metavar="NODE_HOURS",
        help=f"Ask before submitting when the plan's upper bound exceeds this (default: "
        f"${CONFIRM_ENV} or {_core.DEFAULT_CONFIRM_NODE_HOURS:g}); only when stdin is a terminal.",
    )
    run.add_argument(
        "--poll-interval",
        type=arg_type(positive_seconds),
        help="Seconds between job-state polls (default: the system's monitor_interval).",
    )
    run.set_defaults(func=cmd_run)
    add_rehearse_parser(sub, run)

    plan = sub.add_parser(
        "plan",
        help="Jobs, nodes, node-hours (bound and estimate), pruned sweep points, start order.",
    )
    add_flags(plan, PLAN_FLAGS)
    plan.set_defaults(func=cmd_plan)

    report = sub.add_parser(
        "generate-report", help="Write report.csv, summary.csv and report.html of a results dir."
    )
    add_flags(report, SCENARIO_FLAGS)
    report.add_argument(
        "--result-dir",
        type=arg_type(existing_dir),
        required=True,
        help="A scenario's results directory.",
    )
    report.set_defaults(func=cmd_generate_report)
    for mode in sub.choices.values():
        add_engine_arg(mode)
    return parser
