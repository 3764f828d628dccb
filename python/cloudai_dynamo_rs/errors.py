"""The exceptions of cloudai_dynamo_rs: one base class, :class:`Error`, and one subclass per
kind of failure, each carrying its fields (file, line, column, ...) as attributes.

The native module raises these classes (``src/python/errors.rs`` maps the core's error type
onto them). I/O failures are Python's own ``OSError`` subclasses (``FileNotFoundError``,
``PermissionError``, ...) with ``errno`` and ``filename`` set, as ``open()`` raises them.
They are defined here rather than in Rust because an exception that is both an ``Error`` and a
``ValueError`` needs two bases, which pyo3's exception classes cannot have.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing: this module is imported by every command
# (the native module raises its classes) and typing costs ~5 ms of each start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypedDict
else:
    TypedDict = dict  # a TypedDict is a plain dict at run time


class ErrorEntry(TypedDict):
    """One problem in a configuration file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    #: ``file:line:col: path: message``, as the core formats it.
    text: str


class Error(Exception):
    """Base class of every error cloudai_dynamo_rs raises, except I/O failures (OSError)."""


class ConfigError(Error, ValueError):
    """Invalid configuration files; ``errors`` lists every problem of every file."""

    errors: list[ErrorEntry]

    def __init__(self, message: str, *, errors: list[ErrorEntry]) -> None:
        super().__init__(message)
        self.errors = errors


class RenderError(Error, ValueError):
    """A valid configuration that cannot be written into a Slurm script.

    ``run`` is the run's directory relative to the results directory (or its id), None when
    the problem is not one run's (e.g. the results directory already exists).
    """

    run: str | None

    def __init__(self, message: str, *, run: str | None = None) -> None:
        super().__init__(message)
        self.run = run


class ResultsError(Error, ValueError):
    """A malformed results file; the message starts with ``path:line:col:``.

    ``path`` names the file; ``line`` and ``column`` (1-based) are None when the problem has no
    single position (e.g. a file without any metric table).
    """

    path: str
    line: int | None
    column: int | None

    def __init__(
        self, message: str, *, path: str, line: int | None = None, column: int | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column


class MetricNotFoundError(ResultsError):
    """A metric, or the statistic asked for, is not in the file (or its cell is N/A).

    ``metric`` is what was asked for (the row's label once found), ``stat`` the statistic
    asked for (None when the metric itself is missing); ``line``/``column`` are None.
    """

    metric: str
    stat: str | None

    def __init__(self, message: str, *, path: str, metric: str, stat: str | None = None) -> None:
        super().__init__(message, path=path)
        self.metric = metric
        self.stat = stat


class MetricKeyError(Error, ValueError):
    """A metric key CloudAI's DSE may not ask for (``agent_metrics``), refused before any file
    is read: ``key`` as given (``thruput``, ``aiperf:Request Count``, ``../x:TTFT:avg``)."""

    key: str

    def __init__(self, message: str, *, key: str) -> None:
        super().__init__(message)
        self.key = key


class InternalError(Error, RuntimeError):
    """A bug in cloudai-dynamo-rs: a Rust panic stopped at the Python boundary."""


__all__ = [
    "ConfigError",
    "Error",
    "ErrorEntry",
    "InternalError",
    "MetricKeyError",
    "MetricNotFoundError",
    "RenderError",
    "ResultsError",
]
