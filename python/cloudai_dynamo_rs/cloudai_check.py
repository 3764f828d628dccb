"""What CloudAI cannot run, said before it starts: AIDynamo tests on a standalone system.

Imported by ``engine`` only when the CloudAI engine was chosen (the embedded engine's commands
start without ``pathlib`` or a TOML reader).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import _core

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: CloudAI's own dependency reads TOML (this module
    import toml as tomllib  # type: ignore[no-redef]  # runs with CloudAI only)

#: CloudAI verbs that generate AIDynamo jobs for the system file.
_JOB_VERBS = frozenset({"run", "dry-run"})
_TEMPLATE = _core.TEMPLATE_NAME


def cloudai_standalone_refusal(argv: Sequence[str]) -> str | None:
    """Why CloudAI cannot run this command, when it is AIDynamo tests on a standalone system.

    CloudAI registers AIDynamo's command generation for Slurm systems only: its standalone
    system runs Sleep (13816b1a, ``registration.py``), and Sleep, Fio, Aiconfigurator and its
    separate DynamoMocker workload (5b5c0f72), so ``run``/``dry-run`` of an AIDynamo test there
    end in a ``KeyError`` traceback (5b5c0f72, ``Registry.get_command_gen_strategy``) after
    the results directory was created. Said here instead, before CloudAI starts, with the
    position of the system file's ``scheduler``. Files that do not parse are left to CloudAI.
    """
    verb = next((a for a in argv if not a.startswith("-")), None)
    if verb not in _JOB_VERBS:
        return None
    opts = _options(argv)
    system_path = opts.get("--system-config")
    scenario_path = opts.get("--test-scenario")
    if not system_path or not scenario_path:
        return None
    system = _toml(Path(system_path))
    if system is None or system.get("scheduler") != "standalone":
        return None
    ids = _aidynamo_test_ids(_toml(Path(scenario_path)) or {}, opts.get("--tests-dir"))
    if not ids:
        return None
    where = _top_level_key_position(Path(system_path), "scheduler")
    return (
        f'{system_path}{where}: scheduler: expected "slurm" with the CloudAI engine, found '
        f'"standalone": CloudAI generates {_TEMPLATE} jobs for Slurm systems only (its '
        f"standalone system has no {_TEMPLATE} command generation), so test{'s' * (len(ids) > 1)} "
        f"{', '.join(repr(i) for i in ids)} of {scenario_path} cannot run there; use "
        f"--engine embedded, which runs {_TEMPLATE} tests on a standalone system"
    )


def _options(argv: Sequence[str]) -> dict[str, str]:
    """``--flag value`` and ``--flag=value`` pairs (the last of each wins)."""
    opts: dict[str, str] = {}
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith("--") and "=" in arg:
            key, value = arg.split("=", 1)
            opts[key] = value
        elif arg.startswith("--") and i + 1 < len(argv):
            opts[arg] = argv[i + 1]
    return opts


def _toml(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _aidynamo_test_ids(scenario: dict[str, Any], tests_dir: str | None) -> list[str]:
    """Ids of the scenario's tests that are AIDynamo tests (inline, or by ``test_name`` from
    the tests directory's files, as CloudAI resolves them)."""
    templates: dict[str, object] = {}
    if tests_dir:
        for path in sorted(Path(tests_dir).glob("*.toml")):
            test = _toml(path) or {}
            if isinstance(test.get("name"), str):
                templates[test["name"]] = test.get("test_template_name")
    entries = scenario.get("Tests")
    ids = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        template = entry.get("test_template_name") or templates.get(str(entry.get("test_name")))
        if template == _TEMPLATE:
            ids.append(str(entry.get("id", entry.get("test_name"))))
    return ids


def _top_level_key_position(path: Path, key: str) -> str:
    """``:line:column`` of a top-level key's value (before the first table), or ``""``."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, ValueError):
        return ""
    pattern = re.compile(rf"\s*{re.escape(key)}\s*=\s*")
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("["):
            break
        found = pattern.match(line)
        if found:
            return f":{number}:{found.end() + 1}"
    return ""
