"""AI Dynamo benchmarks on Slurm for CloudAI users, with a Rust core.

The native module ``cloudai_dynamo_rs._core`` validates configurations, plans node roles,
renders the Slurm scripts and parses benchmark results; this package adds the CLI
(``cloudaix``), the Slurm runner and the CloudAI plugin.
"""

from ._core import (
    ConfigError,
    InternalError,
    RenderError,
    __version__,
    load_scenario,
    load_scenario_str,
    load_system,
    load_system_str,
    load_test,
    load_test_str,
    load_workspace,
    prepare,
    render_one,
    verify_files,
)

__all__ = [
    "ConfigError",
    "InternalError",
    "RenderError",
    "__version__",
    "load_scenario",
    "load_scenario_str",
    "load_system",
    "load_system_str",
    "load_test",
    "load_test_str",
    "load_workspace",
    "prepare",
    "render_one",
    "verify_files",
]
