"""The command line's values and the flags of the modes that have a quick path, without argparse.

argparse (with the re, gettext, locale and shutil it imports) and pathlib cost ``dry-run`` ~20
ms of CPU at every start, more than everything else it does for one test. So ``quick_parse``
takes the plain, well-formed command lines of ``dry-run`` and ``plan`` (each flag spelled out
once, ``--flag value``, every value accepted) straight from :data:`QUICK_MODES`; anything else
(help, an error, an abbreviation, ``--flag=value``, a value starting with ``-``, a repeated flag)
returns None and goes through the argparse parser (``cli_parser``), which is built from the same
flags and converters and gives every message and exit code. A quick parse gives the namespace
argparse would give.

Paths are strings as ``str(pathlib.Path(text))`` spells them (``./a//b`` is ``a/b``): that is
what the core's messages name.
"""

from __future__ import annotations

import os

from . import _core

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (slow to import)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any


class BadValue(Exception):
    """A command-line value a converter refuses; the message says what was expected."""


# ---- converters: text -> value, or BadValue -----------------------------------------------


def path_text(text: str) -> str:
    """``str(pathlib.PurePosixPath(text))`` without pathlib: empty and ``.`` parts dropped,
    one leading ``/`` (or exactly two, which POSIX leaves to the system), ``.`` when empty."""
    if os.sep != "/":  # pathlib's Windows rules (drives, UNC) are not repeated here
        import pathlib

        return str(pathlib.Path(text))
    stripped = text.lstrip("/")
    root = "//" if len(text) - len(stripped) == 2 else "/" if text != stripped else ""
    return root + "/".join(p for p in stripped.split("/") if p and p != ".") or "."


def positive_int(text: str) -> int:
    # Up to 2^64 - 1: the core counts runs in 64 bits.
    digits = text.strip().removeprefix("+")
    if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) < 2**64:
        raise BadValue(f"expected an integer ≥ 1, found {text!r}")
    return int(digits)


def finite_number(text: str) -> float:
    """float(text), NaN when it is not a finite number."""
    import math

    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def positive_seconds(text: str) -> float:
    value = finite_number(text)
    if not value > 0:  # NaN too
        raise BadValue(f"expected a number of seconds > 0, found {text!r}")
    return value


def node_hours(text: str) -> float:
    value = finite_number(text)
    if not value >= 0:
        raise BadValue(f"expected node-hours >= 0, found {text!r}")
    return value


def _existing(kind: str, test: Callable[[str], bool]) -> Callable[[str], str]:
    def check(text: str) -> str:
        path = path_text(text)
        if not test(path):
            why = f"is not a {kind}" if os.path.exists(path) else "does not exist"
            raise BadValue(f"expected an existing {kind}, found {text!r}, which {why}")
        return path

    return check


existing_file = _existing("file", os.path.isfile)
existing_dir = _existing("directory", os.path.isdir)


def output_dir(text: str) -> str:
    path = path_text(text)
    if text == "" or (os.path.exists(path) and not os.path.isdir(path)):
        raise BadValue(
            f"expected a directory (created if missing), found {text!r}"
            + (", which is not a directory" if text else "")
        )
    return path


# ---- flags ---------------------------------------------------------------------------------


class Flag:
    """One ``--option VALUE`` (or, without ``convert``, a ``store_true`` switch)."""

    __slots__ = ("convert", "default", "dest", "help", "metavar", "option", "required")

    def __init__(
        self,
        option: str,
        convert: Callable[[str], Any] | None,
        help: str,
        *,
        required: bool = False,
        default: Any = None,
        metavar: str | None = None,
    ) -> None:
        self.option = option
        self.dest = option.removeprefix("--").replace("-", "_")
        self.convert = convert
        self.help = help
        self.required = required
        self.default = False if convert is None else default
        self.metavar = metavar


SCENARIO_FLAGS = (
    Flag("--system-config", existing_file, "System TOML.", required=True),
    Flag("--tests-dir", existing_dir, "Directory of test TOMLs.", required=True),
    Flag("--test-scenario", existing_file, "Test scenario TOML.", required=True),
)
OUTPUT_DIR = Flag("--output-dir", output_dir, "Results root (default: system output_path).")
MAX_RUNS = Flag(
    "--max-runs",
    positive_int,
    "Most runs (tests, times iterations, times sweep cases) the scenario may expand to "
    f"(default: {_core.DEFAULT_MAX_RUNS}).",
    default=_core.DEFAULT_MAX_RUNS,
)
SKIP_HOST_CHECKS = Flag(
    "--skip-host-checks",
    None,
    "Do not check that paths such as HF_HOME exist on this host (files for another host).",
)

#: The flags of ``dry-run`` and ``plan``, in their --help order (the --engine flag follows).
DRY_RUN_FLAGS = (*SCENARIO_FLAGS, OUTPUT_DIR, MAX_RUNS, SKIP_HOST_CHECKS)
PLAN_FLAGS = (
    *SCENARIO_FLAGS,
    Flag(
        "--output-dir",
        output_dir,
        "Results root holding earlier results (default: system output_path).",
    ),
    MAX_RUNS,
    Flag(
        "--json",
        path_text,
        "Also write plan.json to PATH; '-' prints it on stdout instead of the text.",
        metavar="PATH",
    ),
    SKIP_HOST_CHECKS,
)
QUICK_MODES = {"dry-run": DRY_RUN_FLAGS, "plan": PLAN_FLAGS}


if TYPE_CHECKING:  # the commands take either: to them both are bags of attributes
    from argparse import Namespace as Namespace
else:

    class Namespace:
        """What ``argparse.Namespace`` holds after a parse: one attribute per destination."""

        def __init__(self, **values: Any) -> None:
            self.__dict__.update(values)

        def __repr__(self) -> str:
            return f"Namespace({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


def quick_parse(argv: Sequence[str]) -> Namespace | None:
    """The namespace of a plain, valid ``dry-run``/``plan`` command line (without ``func``),
    else None: argparse then parses it, and says what is wrong."""
    if not argv or argv[0] not in QUICK_MODES:
        return None
    flags = {f.option: f for f in QUICK_MODES[argv[0]]}
    values: dict[str, Any] = {}
    rest = iter(argv[1:])
    for arg in rest:
        flag = flags.pop(arg, None)  # pop: a repeated flag goes to argparse
        if flag is None:
            return None
        if flag.convert is None:
            values[flag.dest] = True
            continue
        text = next(rest, None)
        if text is None or (text.startswith("-") and text != "-"):  # argparse: "-" is a value
            return None
        try:
            values[flag.dest] = flag.convert(text)
        except BadValue:
            return None
    if any(f.required for f in flags.values()):
        return None
    values.update((f.dest, f.default) for f in flags.values())
    return Namespace(engine=None, mode=argv[0], **values)
