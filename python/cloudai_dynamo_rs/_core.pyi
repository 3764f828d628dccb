"""Typed stubs of the native module built from the Rust core (src/python/)."""

from os import PathLike
from typing import Any, Literal, TypedDict

__version__: str

StrPath = str | PathLike[str]

class ErrorEntry(TypedDict):
    file: str
    line: int
    column: int
    path: str
    message: str

class ConfigError(ValueError):
    """Invalid configuration files; ``errors`` lists every problem of every file."""

    errors: list[ErrorEntry]

class RenderError(ValueError):
    """A valid configuration that cannot be written into a Slurm script."""

class InternalError(RuntimeError):
    """A bug in cloudai-dynamo-rs: a Rust panic stopped at the Python boundary."""

FileKind = Literal["system", "test", "scenario"]

def load_system(path: StrPath) -> dict[str, Any]: ...
def load_system_str(text: str, name: str = "<string>") -> dict[str, Any]: ...
def load_test(path: StrPath) -> dict[str, Any]: ...
def load_test_str(text: str, name: str = "<string>") -> dict[str, Any]: ...
def load_scenario(path: StrPath) -> dict[str, Any]: ...
def load_scenario_str(text: str, name: str = "<string>") -> dict[str, Any]: ...
def load_workspace(
    system: StrPath,
    tests: list[StrPath],
    scenario: StrPath,
    *,
    check_host_paths: bool = True,
) -> dict[str, Any]:
    """Validate all three kinds together and expand the scenario into test runs.

    Returns ``{"system", "scenario", "runs", "warnings"}``; raises ConfigError listing every
    problem of every file.
    """

def verify_files(
    paths: list[StrPath], *, check_host_paths: bool = True
) -> tuple[list[ErrorEntry], list[tuple[str, FileKind | None]]]: ...
def prepare(
    system: StrPath,
    tests: list[StrPath],
    scenario: StrPath,
    *,
    timestamp: str,
    output_root: StrPath | None = None,
    check_host_paths: bool = True,
) -> dict[str, Any]:
    """Validate and write ``<output_root>/<scenario>_<timestamp>/<id>/<iteration>[/<step>]/``.

    Returns ``{"results_dir", "runs", "warnings"}``; ``runs`` lists each run's directory, sbatch
    script, sweep parameters, dependencies and node counts. The tree appears atomically and an
    existing one is never overwritten (RenderError).
    """

def render_one(
    system_toml: str,
    test_toml: str,
    *,
    run_dir: StrPath,
    install_dir: StrPath,
    id: str,
    iteration: int = 0,
    step: int | None = None,
    num_nodes: int | None = None,
    nodes: list[str] = ...,
    time_limit: str | None = None,
) -> dict[str, Any]:
    """Render one run from TOML texts; writes nothing.

    Returns the texts keyed by file name (``cloudai_sbatch_script.sh``, ``run.sh``,
    ``dynamo_config.yaml``, ``node_roles.txt``, ``test-run.json``) and ``topology``.
    """
