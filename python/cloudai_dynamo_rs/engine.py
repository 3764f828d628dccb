"""Engine selection for ``cloudaix`` / ``python cloudaix.py``.

Two engines run the same verbs:

* ``cloudai``: NVIDIA CloudAI's own CLI and machinery (all its verbs and workloads), with our
  AIDynamo registered in place of the built-in one;
* ``embedded``: this package's CLI (``cloudai_dynamo_rs.cli``), no CloudAI needed.

``--engine cloudai|embedded`` (anywhere before ``--``) or ``CLOUDAIX_ENGINE`` chooses; the
default is ``cloudai`` when it is importable. The choice is printed to stderr first, so a log
always says which engine produced it.
"""

from __future__ import annotations

import os
import sys

from .errors import Error

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (slow to import)
if TYPE_CHECKING:
    from collections.abc import Sequence

ENGINES = ("cloudai", "embedded")
#: Verbs CloudAI does not have: always run by the embedded engine, whatever ``--engine`` or
#: ``CLOUDAIX_ENGINE`` say (``rehearse`` rewrites the scenario in the core and runs it with
#: the embedded runner; CloudAI would take it for an unknown verb).
OWN_VERBS = frozenset({"plan", "rehearse"})
ENV_VAR = "CLOUDAIX_ENGINE"
FLAG = "--engine"
PROG = "cloudaix"


class EngineError(Error, ValueError):
    """An engine request that cannot be honoured."""


def split_engine_flag(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """``(engine or None, argv without --engine)``; the last ``--engine`` wins."""
    engine: str | None = None
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":  # everything after belongs to the verb
            rest.append(arg)
            rest.extend(args)
            break
        if arg == FLAG:
            engine = next(args, None)
            if engine is None:
                raise EngineError(f"{FLAG} needs a value: {' or '.join(ENGINES)}")
        elif arg.startswith(FLAG + "="):
            engine = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return engine, rest


def cloudai_importable() -> bool:
    """Whether ``import cloudai`` would find a package (without importing it: it is slow)."""
    import importlib.util  # here: the embedded engine's commands do not need it

    return importlib.util.find_spec("cloudai") is not None


def choose_engine(flag: str | None, env: str | None, cloudai_available: bool) -> str:
    """The flag wins over the environment; without either, CloudAI when it is there."""
    requested = flag or env or None
    if requested is None:
        return "cloudai" if cloudai_available else "embedded"
    if requested not in ENGINES:
        source = FLAG if flag else ENV_VAR
        raise EngineError(f"{source}: unknown engine {requested!r} (choose {' or '.join(ENGINES)})")
    if requested == "cloudai" and not cloudai_available:
        raise EngineError(
            "engine cloudai requested but CloudAI is not importable "
            "(install github.com/NVIDIA/cloudai, or use --engine embedded)"
        )
    return requested


def run_cloudai(argv: Sequence[str]) -> int:
    """Register our AIDynamo, then hand over to CloudAI's CLI (argparse or click)."""
    import cloudai.cli as cloudai_cli

    from .cloudai_plugin import register

    register()
    saved = sys.argv  # CloudAI's CLIs read sys.argv themselves (CloudAICLI.run() re-parses it)
    sys.argv = [PROG, *argv]
    try:
        if hasattr(cloudai_cli, "CloudAICLI"):  # 13816b1a: argparse, as in its __main__
            cli = cloudai_cli.CloudAICLI()
            args = cli.init_default_args().parse_args()
            cloudai_cli.setup_logging(args.log_file, args.log_level)
            return int(cli.run() or 0)
        # main: a click group; standalone mode exits, like the `cloudai` command.
        cloudai_cli.main.main(args=list(argv), prog_name=PROG)
    except SystemExit as stop:
        return _exit_code(stop.code)
    finally:
        sys.argv = saved
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # SystemExit("message") prints it and exits 1
    return 1


def run_embedded(argv: Sequence[str]) -> int:
    from .cli import main as embedded_main

    return embedded_main(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        flag, rest = split_engine_flag(argv)
        verb = next((a for a in rest if not a.startswith("-")), None)
        if verb in OWN_VERBS:
            engine = "embedded"
        else:
            env = os.environ.get(ENV_VAR) or None
            # Looking for CloudAI imports importlib.util: only when the answer matters.
            available = (flag or env) != "embedded" and cloudai_importable()
            engine = choose_engine(flag, env, available)
    except EngineError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    if engine == "cloudai" and not asks_for_help(rest):
        from .cloudai_check import cloudai_standalone_refusal

        refusal = cloudai_standalone_refusal(rest)
        if refusal:
            print(f"{PROG}: engine={engine}\nerror: {refusal}", file=sys.stderr)
            return 1
    if asks_for_help(rest):
        if engine == "cloudai":  # CloudAI's help cannot list our flag: say it first
            print(f"{PROG} {FLAG} {'|'.join(ENGINES)} (or {ENV_VAR}): engine {engine}; its help:")
    else:
        print(f"{PROG}: engine={engine}", file=sys.stderr, flush=True)
    return run_cloudai(rest) if engine == "cloudai" else run_embedded(rest)


def asks_for_help(argv: Sequence[str]) -> bool:
    """``--help``, ``-h`` or ``--version`` anywhere before ``--``, or no arguments at all:
    output that is not a run, so no engine line on stderr."""
    for arg in argv:
        if arg == "--":
            break
        if arg in ("-h", "--help", "--version"):
            return True
    return not argv


if __name__ == "__main__":
    raise SystemExit(main())
