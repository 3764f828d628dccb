"""CloudAI objects (as plain dicts) to the TOML texts our core validates and renders.

CloudAI hands us pydantic models; our core reads TOML. Going through text keeps one
validator (the core's) for the workload's fields, at the cost of a small writer here.
Nothing in this module imports CloudAI, so it is unit-tested without it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any

# Top-level test keys our core's schema knows (src/config/test_def.rs). CloudAI's own
# framework fields (e.g. `dse_excluded_args`, `env_params` at HEAD) stay CloudAI's business.
CORE_TEST_KEYS = (
    "name",
    "description",
    "test_template_name",
    "cmd_args",
    "extra_env_vars",
    "extra_cmd_args",
    "extra_container_mounts",
    "git_repos",
    "agent",
    "agent_steps",
    "agent_metrics",
    "agent_reward_function",
)
# CloudAI features our scripts do not implement: refuse them rather than ignore them.
UNSUPPORTED_TEST_KEYS = ("nsys", "predictor", "training_report")
GIT_REPO_KEYS = ("url", "commit", "mount_as")

# System keys of our core's schema (src/config/system.rs) that CloudAI's SlurmSystem also has.
CORE_SYSTEM_KEYS = (
    "name",
    "scheduler",
    "install_path",
    "output_path",
    "default_partition",
    "partitions",
    "account",
    "distribution",
    "mpi",
    "gpus_per_node",
    "ntasks_per_node",
    "cache_docker_images_locally",
    "global_env_vars",
    "monitor_interval",
    "extra_srun_args",
    "extra_sbatch_args",
    "container_mount_home",
    "data_repository",
)

# Tables inside cmd_args whose keys are free (engine flags, resource names): their
# spelling is data, so dashes there must survive canonicalization.
FREE_KEY_TABLES = frozenset({"extra_args", "resources"})

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class TomlWriteError(TypeError):
    """A value that has no TOML spelling (e.g. an object CloudAI should have dumped)."""


# ---- TOML writer -------------------------------------------------------------------------


def dumps(data: Mapping[str, Any]) -> str:
    """TOML text of ``data``; ``None`` values are left out (TOML has no null)."""
    lines: list[str] = []
    _write_table(lines, (), data)
    return "\n".join(lines) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _write_table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    present = {k: v for k, v in table.items() if v is not None}
    scalars = {k: v for k, v in present.items() if not _is_table(v) and not _is_table_array(v)}
    subtables = {k: v for k, v in present.items() if _is_table(v)}
    # An empty table still needs its header: `[cmd_args.dynamo.processor]` means "use defaults".
    if path and (scalars or not subtables):
        lines.append(f"[{_key_path(path)}]")
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars.items())
    for k, v in subtables.items():
        _write_table(lines, (*path, k), v)
    for k, v in present.items():
        if _is_table_array(v):
            for item in v:
                lines.append(f"[[{_key_path((*path, k))}]]")
                lines.extend(
                    f"{_key(ik)} = {_value(iv)}" for ik, iv in item.items() if iv is not None
                )


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _key_path(path: Iterable[str]) -> str:
    return ".".join(_key(k) for k in path)


def _value(value: Any) -> str:
    # bool before int: True is an int in Python but `true` in TOML.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str | PurePath):
        # A JSON string is a valid TOML basic string (same escapes, \uXXXX included).
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value if v is not None) + "]"
    if isinstance(value, Mapping):
        items = (f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(items) + "}"
    raise TomlWriteError(f"cannot write {type(value).__name__} {value!r} as TOML")


def _float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)  # "0.95", "2.0", "1e+16": all valid TOML floats


# ---- cmd_args key spelling ---------------------------------------------------------------


def canonical_key(key: str) -> str:
    """The core treats ``tensor-parallel-size`` and ``tensor_parallel_size`` as one field."""
    return key.replace("-", "_")


def canonicalize(table: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrite schema keys in underscored spelling, later spellings winning, tables merged.

    CloudAI merges a scenario override into ``model_dump()`` of the test by exact key, so a
    dashed override of an underscored field leaves both keys; the core would then reject the
    table ("field given twice"). Folding them here makes the override win, as it does in the
    embedded engine. Keys of free-key tables (engine flags) are kept as written.
    """
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = canonical_key(key)
        if isinstance(value, Mapping):
            value = dict(value) if name in FREE_KEY_TABLES else canonicalize(value)
        previous = out.get(name)
        if isinstance(previous, dict) and isinstance(value, dict):
            value = {**previous, **value} if name in FREE_KEY_TABLES else _merge(previous, value)
        out[name] = value
    return out


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# ---- CloudAI dumps to core TOML ----------------------------------------------------------


def unsupported_fields(tdef: Mapping[str, Any]) -> list[str]:
    """CloudAI test fields that are set but that our scripts would silently not honour."""
    return [k for k in UNSUPPORTED_TEST_KEYS if tdef.get(k) is not None]


def test_toml(tdef: Mapping[str, Any], *, docker_image: str | None = None) -> str:
    """TOML text of a CloudAI test definition dump, restricted to what the core reads.

    ``docker_image`` replaces ``cmd_args.docker_image_url``: CloudAI may have installed the
    image (a cached ``.sqsh``), and the script must use what CloudAI installed.
    """
    core = {k: tdef[k] for k in CORE_TEST_KEYS if k in tdef}
    cmd_args = canonicalize(core.get("cmd_args") or {})
    if docker_image is not None:
        cmd_args["docker_image_url"] = docker_image
    core["cmd_args"] = cmd_args
    core["git_repos"] = [
        {k: repo.get(k) for k in GIT_REPO_KEYS} for repo in core.get("git_repos") or []
    ]
    return dumps(core)


def system_toml(system: Mapping[str, Any]) -> str:
    """TOML text of a CloudAI SlurmSystem dump, restricted to what the core reads."""
    core = {k: system[k] for k in CORE_SYSTEM_KEYS if system.get(k) is not None}
    core["partitions"] = [
        {
            "name": p["name"],
            "groups": [
                {"name": g["name"], "nodes": list(g.get("nodes", []))} for g in p.get("groups", [])
            ],
        }
        for p in system.get("partitions", [])
    ]
    core["global_env_vars"] = {
        k: _env_value(v) for k, v in (system.get("global_env_vars") or {}).items()
    }
    if core.get("data_repository"):
        repo = core["data_repository"]
        core["data_repository"] = {k: repo[k] for k in ("endpoint", "verify_certs") if k in repo}
    return dumps(core)


def _env_value(value: Any) -> Any:
    # CloudAI lets a global env var be a table with a `default`; the sbatch exports the default.
    if isinstance(value, Mapping) and "default" in value:
        return value["default"]
    return value


# ---- rendered files ----------------------------------------------------------------------

SBATCH_FILE = "cloudai_sbatch_script.sh"
LAUNCH_FILE = "run.sh"


def write_rendered(run_dir: Path, rendered: Mapping[str, Any]) -> Path:
    """Write the texts ``render_one`` returned into ``run_dir``; return the sbatch script."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        if isinstance(text, str):  # skips `topology`, the node plan
            (run_dir / name).write_text(text)
    (run_dir / LAUNCH_FILE).chmod(0o755)
    return run_dir / SBATCH_FILE


def main_srun(sbatch_text: str) -> str:
    """The job's srun command (continuation lines joined): CloudAI records it as `full_cmd`.
    It is the script's last srun (CloudAI's metadata step may come before it)."""
    lines = sbatch_text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("srun")]
    start = starts[-1] if starts else None
    if start is None:
        return ""
    parts: list[str] = []
    for line in lines[start:]:
        parts.append(line.rstrip("\\").strip())
        if not line.endswith("\\"):
            break
    return " ".join(parts)
