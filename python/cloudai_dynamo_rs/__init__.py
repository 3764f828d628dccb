"""AI Dynamo benchmarks on Slurm for CloudAI users, with a Rust core.

The native module ``cloudai_dynamo_rs._core`` validates configurations, plans node roles,
renders the Slurm scripts and parses benchmark results; this package adds the CLI
(``cloudaix``), the Slurm runner and the CloudAI plugin.
"""

from ._core import (
    ResultMetric,
    Results,
    ResultTable,
    __version__,
    find_result_files,
    get_metric,
    load_scenario,
    load_scenario_str,
    load_system,
    load_system_str,
    load_test,
    load_test_str,
    load_workspace,
    plan_scenario,
    prepare,
    read_cloudai_test,
    read_metrics_many,
    read_results,
    render_one,
    verify_files,
)
from .errors import (
    ConfigError,
    Error,
    InternalError,
    MetricKeyError,
    MetricNotFoundError,
    RenderError,
    ResultsError,
)

__all__ = [
    "ConfigError",
    "Error",
    "InternalError",
    "MetricKeyError",
    "MetricNotFoundError",
    "RenderError",
    "ResultMetric",
    "ResultTable",
    "Results",
    "ResultsError",
    "__version__",
    "find_result_files",
    "get_metric",
    "load_scenario",
    "load_scenario_str",
    "load_system",
    "load_system_str",
    "load_test",
    "load_test_str",
    "load_workspace",
    "plan_scenario",
    "prepare",
    "read_cloudai_test",
    "read_metrics_many",
    "read_results",
    "render_one",
    "verify_files",
]
