"""Typed stubs of the native module built from the Rust core (src/python/)."""

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, Literal, TypedDict, final

# The exception classes are defined in ``cloudai_dynamo_rs.errors`` and re-exported here.
from cloudai_dynamo_rs.errors import ConfigError as ConfigError
from cloudai_dynamo_rs.errors import Error as Error
from cloudai_dynamo_rs.errors import ErrorEntry as ErrorEntry
from cloudai_dynamo_rs.errors import InternalError as InternalError
from cloudai_dynamo_rs.errors import MetricKeyError as MetricKeyError
from cloudai_dynamo_rs.errors import MetricNotFoundError as MetricNotFoundError
from cloudai_dynamo_rs.errors import RenderError as RenderError
from cloudai_dynamo_rs.errors import ResultsError as ResultsError

__version__: str
DEFAULT_MAX_RUNS: int
#: The ``test_template_name`` of the tests this package runs (CloudAI's ``AIDynamo``).
TEMPLATE_NAME: str

StrPath = str | PathLike[str]

FileKind = Literal["system", "test", "scenario"]

def load_system(path: StrPath) -> dict[str, Any]: ...
def load_system_str(text: str, name: str = "<string>") -> dict[str, Any]: ...
def load_test(path: StrPath) -> dict[str, Any]: ...
def load_test_str(text: str, name: str = "<string>") -> dict[str, Any]: ...

class CloudaiTest(TypedDict):
    generation: Literal["seed", "current"]
    name: str
    cmd_args: dict[str, Any] | None
    sweep_axes: list[str]

def read_cloudai_test(
    data: Mapping[str, Any],
    *,
    test_file: StrPath | None = None,
    scenario: StrPath | None = None,
    entry: str | None = None,
) -> CloudaiTest:
    """Validate a test definition CloudAI dumped (plain values: ``model_dump(mode="json")``),
    of either schema generation, with the readers that read files.

    CloudAI's own fields next to ours are ignored (``nsys``, ``predictor``,
    ``training_report`` are refused when set); of two spellings of a ``cmd_args`` key (CloudAI
    merges a scenario override by exact key) the later wins. ``test_file`` (the file CloudAI
    read), or ``scenario`` and ``entry`` (a ``[[Tests]]`` entry's ``id``, overriding the test
    of ``test_file`` or defining it inline), give errors the files' lines and columns where the
    dump holds what the files wrote. Returns the generation, the name, ``cmd_args`` as read
    (spellings folded) and the sweep axes spelled as ``cmd_args`` spells them
    (``extra_env_vars.X`` for the environment): every other list is one value. Raises
    ConfigError, or TypeError for data that is not plain values.
    """

def load_scenario(path: StrPath) -> dict[str, Any]: ...
def load_scenario_str(text: str, name: str = "<string>") -> dict[str, Any]: ...
def load_workspace(
    system: StrPath,
    tests: Sequence[StrPath],
    scenario: StrPath,
    *,
    check_host_paths: bool = True,
    max_runs: int = ...,
) -> dict[str, Any]:
    """Validate all three kinds together and expand the scenario into test runs.

    Returns ``{"system", "scenario", "runs", "pruned", "warnings"}`` (``pruned``: sweep cases
    left out, each with its reason); raises ConfigError listing every problem of every file.
    """

def verify_files(
    paths: Sequence[StrPath], *, check_host_paths: bool = True, max_runs: int = ...
) -> tuple[list[ErrorEntry], list[tuple[str, FileKind | None]]]: ...
def prepare(
    system: StrPath,
    tests: Sequence[StrPath],
    scenario: StrPath,
    *,
    timestamp: str,
    output_root: StrPath | None = None,
    check_host_paths: bool = True,
    max_runs: int = ...,
) -> dict[str, Any]:
    """Validate and write ``<output_root>/<scenario>_<timestamp>/<id>/<iteration>[/<step>]/``.

    Returns ``{"results_dir", "runs", "warnings", "plan_summary"}``; ``runs`` lists each run's
    directory, sbatch script, sweep parameters, dependencies, node counts and schema
    ``generation`` (``seed``/``current``); the results
    directory also holds ``plan.json`` (see :func:`plan_scenario`). The tree appears atomically;
    when the name is taken (another writer in the same second), ``_2``, ``_3``, … is appended,
    so an existing directory is never written into. A pending signal (Ctrl-C) stops the
    writing between runs: the exception is raised and nothing is left behind.
    """

DEFAULT_CONFIRM_NODE_HOURS: float

class PlanResult(TypedDict):
    json: str  # plan.json's text; json.loads() it for the data
    summary: str
    text: str
    confirm: str | None

def plan_scenario(
    system: StrPath,
    tests: Sequence[StrPath],
    scenario: StrPath,
    *,
    output_root: StrPath | None = None,
    check_host_paths: bool = True,
    max_runs: int = ...,
    confirm_above: float = ...,
) -> PlanResult:
    """Validate and plan a scenario (jobs, nodes, node-hours, pruned points, order); writes
    nothing. Earlier results under ``output_root`` (default: the system's ``output_path``)
    give the estimate. ``confirm`` says why ``run`` should ask before submitting, or is None.
    """

def render_one(
    system: str | Mapping[str, Any],
    test: str | Mapping[str, Any],
    *,
    run_dir: StrPath,
    install_dir: StrPath,
    id: str,
    iteration: int = 0,
    step: int | None = None,
    num_nodes: int | None = None,
    nodes: list[str] = ...,
    time_limit: str | None = None,
    metadata_script: bool = False,
    docker_image: str | None = None,
) -> dict[str, Any]:
    """Render one run from TOML texts, or from CloudAI's dumps (a SlurmSystem's, read for our
    fields only; a test definition's, as :func:`read_cloudai_test` reads it); writes nothing.

    ``docker_image`` replaces the test's ``docker_image_url`` (what the host installed).

    ``metadata_script``: the host framework (CloudAI) installed ``slurm-metadata.sh`` into
    ``install_dir``; the sbatch then runs it on every node first, as CloudAI's own does.

    Returns the texts keyed by file name (``cloudai_sbatch_script.sh``, ``run.sh``,
    ``dynamo_config.yaml``, ``node_roles.txt``, ``test-run.json``), ``topology``, and
    ``srun_command``: the job's main srun on one line, quoted as in the script (CloudAI's
    ``gen_srun_command``, its ``full_cmd``; None on the standalone scheduler).
    """

# -- results (genai-perf / aiperf exports) ----------------------------------------------------

ResultTool = Literal["genai_perf", "aiperf", "unknown"]
ResultFormat = Literal["csv", "json"]

class ResultFileEntry(TypedDict):
    path: str
    tool: ResultTool
    format: ResultFormat

#: ``"metric"`` (its default statistic: ``avg``, else ``Value``) or ``("metric", "p99")``.
MetricSpec = str | tuple[str, str | None]

#: Largest file parsed whole (``read_results``, any JSON export): 256 KiB.
MAX_PARSE_BYTES: int
#: Largest CSV the lookups (``get_metric``, ``read_metrics_many``) scan: 1 GiB.
MAX_SCAN_BYTES: int

TableKind = Literal["request", "system", "gpu_telemetry", "sweep", "other"]

@final
class ResultMetric:
    """One metric row, made from the core's row when read. ``m["stats"]`` and ``m.get("unit")``
    answer as the dict ``read_results`` used to return did."""

    @property
    def label(self) -> str:
        """The label as written, e.g. ``Time To First Token (ms)``."""
    @property
    def name(self) -> str:
        """The label without its unit."""
    @property
    def unit(self) -> str | None: ...
    @property
    def attributes(self) -> dict[str, str]:
        """Identity columns such as ``GPU``, in file order (empty for plain tables)."""
    @property
    def stats(self) -> dict[str, float | None]:
        """Every statistic in file order; None for a missing value."""
    @property
    def value(self) -> float | None:
        """The default statistic: ``avg``, else ``Value``."""
    def stat(self, name: str) -> float | None:
        """Statistic ``name`` (ASCII case ignored); None if absent or missing."""
    def to_dict(self) -> dict[str, Any]: ...
    def __getitem__(self, key: str, /) -> Any: ...
    def get(self, key: str, default: Any = None) -> Any: ...

@final
class ResultTable:
    """One table of an export; its rows are read from the core on access."""

    @property
    def kind(self) -> TableKind: ...
    @property
    def line(self) -> int:
        """1-based line of the header row (0 for JSON)."""
    @property
    def columns(self) -> list[str]:
        """Header cells as written (empty for JSON)."""
    @property
    def metrics(self) -> list[ResultMetric]: ...
    def __len__(self) -> int: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __getitem__(self, key: str, /) -> Any: ...

@final
class Results:
    """A parsed export, held in the core; Python values are made when read."""

    @property
    def source(self) -> str: ...
    @property
    def tool(self) -> ResultTool: ...
    @property
    def format(self) -> ResultFormat: ...
    @property
    def version(self) -> str | None:
        """Tool version, when the file records it (aiperf JSON)."""
    @property
    def tables(self) -> list[ResultTable]: ...
    def metrics(self) -> list[ResultMetric]:
        """Every metric of every table, in file order."""
    def lookup(self, metric: str, stat: str | None = None) -> float:
        """One value, as ``get_metric`` reads it; raises MetricNotFoundError."""
    def to_dict(self) -> dict[str, Any]:
        """``{"source", "tool", "format", "version", "tables": [{"kind", "line", "columns",
        "metrics": [{"label", "name", "unit", "attributes"?, "stats"}]}]}``."""
    def __getitem__(self, key: str, /) -> Any: ...

def read_results(path: StrPath) -> Results:
    """Parse a results file, or the preferred export of a run directory.

    Raises ResultsError for a malformed file (including impossible values, duplicate metrics,
    unknown units, a path that is not a regular file, or one over 256 KiB: see
    ``get_metric`` for large files), FileNotFoundError when there is no file.
    """

def get_metric(path: StrPath, metric: str, stat: str | None = None) -> float:
    """One value of a results file or run directory (its preferred CSV, else JSON export).

    ``metric`` is a CloudAI key (``default``, ``output-token-throughput``,
    ``request-throughput``, ``time-to-first-token``, ``time-to-second-token``,
    ``request-latency``, ``inter-token-latency``; durations in ms), else an exact label
    (``Time To First Token (ms)``), else a name ignoring case, unit and ``_``/``-``/spaces.
    ``stat`` defaults to ``avg`` (``Value`` for run-level metrics). Raises
    MetricNotFoundError, ResultsError, or FileNotFoundError — never returns CloudAI's -1.
    Answered while scanning a CSV (memory: the file's bytes; CSVs up to 1 GiB).
    """

class RequestOutcome(TypedDict):
    succeeded: float | None  # ``Request Count`` (aiperf: valid requests)
    failed: float | None  # ``Error Request Count``
    verdict: Literal["ok", "flagged", "failed"]
    cause: str

def request_outcome(path: StrPath) -> RequestOutcome:
    """Request counts of a results file or run directory and the verdict on them: any
    failed request flags the run; failures and no successful request fail it."""

class RunRecord(TypedDict):
    id: str
    iteration: int
    step: int | None
    params: dict[str, int | float | str | bool]
    prefill_nodes: int | None
    decode_nodes: int | None
    num_nodes: int | None
    engine_nodes: int | None
    concurrency: int | float | None
    sources: list[ResultSource]  # current schema: aiperf phases / genai-perf runs, in order
    accuracy_files: list[str]  # current schema with aiperf_accuracy: where CloudAI looks

class ResultSource(TypedDict):
    name: str
    tool: ResultTool
    report: str  # relative to the run directory
    concurrency: int | float | None
    primary: bool  # the report CloudAI reads for a bare metric key

class Figures(TypedDict):
    output_tokens_per_s: float | None
    output_tokens_per_s_per_gpu: float | None
    output_tokens_per_s_per_user: float | None
    request_throughput_per_s: float | None
    request_count: float | None
    ttft_avg_ms: float | None
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    itl_avg_ms: float | None
    itl_p50_ms: float | None
    itl_p99_ms: float | None
    request_latency_avg_ms: float | None
    request_latency_p50_ms: float | None
    request_latency_p99_ms: float | None
    error_request_count: float | None

class SourceResults(TypedDict):
    name: str  # phase (``round_1``), ``aiperf``, ``genai_perf``; empty for a seed-schema run
    tool: ResultTool
    file: str | None
    concurrency: int | float | None
    primary: bool
    figures: Figures
    requests: RequestOutcome | None
    error: str | None

class AccuracySummary(TypedDict):
    path: str
    value: float  # fraction, 0..1
    task: str  # ``OVERALL`` when the file has that row

class AccuracyResults(TypedDict):
    accuracy: AccuracySummary | None
    error: str | None

class RunResults(TypedDict):
    sources: list[SourceResults]
    accuracy: AccuracyResults | None  # None: the test runs no accuracy benchmark
    gpus: int | None  # the per-GPU divisor
    verdict: Literal["ok", "flagged", "failed", "bad_results", "no_results"]
    cause: str

def run_results(
    run_dir: StrPath, gpus_per_node: int | None, results_dir: StrPath | None = None
) -> RunResults:
    """Everything the report shows of the run in ``run_dir`` (its ``test-run.json`` read, and
    checked against its place under ``results_dir`` when given): one source per aiperf phase
    or genai-perf run of a current-schema test (the preferred export of a seed-schema run),
    with figures, per-GPU (``engine_nodes * gpus_per_node``) and per-user rates and request
    verdicts; the accuracy summary; the verdict on the whole run. Raises ResultsError for a
    bad record, OSError when the directory cannot be read."""

#: CloudAI 13816b1a's AIDynamo metric keys, in its order.
METRIC_KEYS: list[str]

def check_metric_key(key: str) -> None:
    """Returns when CloudAI's DSE may ask ``cloudai_metric`` for ``key`` (a metric key,
    ``accuracy``, ``benchmark:metric:stat``, a CSV metric name, which starts with a capital
    letter); else raises MetricKeyError (``.key``) saying why not (``thruput``: a misspelled
    key)."""

def cloudai_metric(run_dir: StrPath, key: str) -> float:
    """CloudAI's ``get_metric(key)`` for the run in ``run_dir``, answered as the CloudAI of
    the run's schema generation answers it (13816b1a's keys for the seed schema; 5b5c0f72's
    ``accuracy``, ``benchmark:metric:stat`` and bare names for the current one). Where CloudAI
    gets ``METRIC_ERROR`` it raises: MetricKeyError (a refused key), MetricNotFoundError
    (``.path``, ``.metric``, ``.stat``: not in the report, or ``accuracy`` of a test without
    an accuracy benchmark, ``.path`` the run directory), ResultsError (``.path``, ``.line``,
    ``.column``: a malformed report, accuracy summary or ``test-run.json``),
    FileNotFoundError (``.filename``: the report, or the run directory when it has no export
    or no accuracy summary) or another OSError."""

def read_run_record(path: StrPath, results_dir: StrPath | None = None) -> RunRecord:
    """A run's ``test-run.json``, validated: types, params keys that are sweep axes and, given
    ``results_dir``, id/iteration/step equal to the directories it lies in under it (symlinks
    resolved). Raises ResultsError (with ``path``, ``line``, ``column``) or OSError."""

def failure_cause(text: str) -> str:
    """The cause a failure marker's text gives (who died, where, with which code, last words)."""

def run_dirs(results_dir: StrPath) -> list[Path]:
    """The run directories of a results tree, ``<test id>/<iteration>[/<step>]`` with a record."""

def find_result_files(run_dir: StrPath) -> list[ResultFileEntry]:
    """Summary exports (``*_genai_perf.csv/json``, ``*_aiperf.csv/json``) under ``run_dir``,
    best first: outside ``warmup`` before inside, shallower first, CSV before JSON."""

def read_metrics_many(
    paths: Sequence[StrPath], metrics: Sequence[MetricSpec], *, threads: int | None = None
) -> list[list[float | None]]:
    """Values of ``metrics`` in each file, one list per file; None where a file lacks one.

    Parses without the GIL on up to ``threads`` threads (default: every core; small batches
    use fewer). A malformed or unreadable file raises ResultsError/OSError naming it (the first
    such file in ``paths`` order).
    """

def csv_text_cell(text: str) -> str:
    """``text`` as a CSV text cell a spreadsheet never evaluates: a leading ``=``, ``+``,
    ``-``, ``@``, tab or carriage return gets a ``'`` in front, unless the text is a plain
    number."""

def standalone_port_slots(prefill: int, decode: int) -> list[str]:
    """Ports a job of 1 + prefill + decode nodes needs on one host: ``frontend``, ``etcd``,
    ``etcd_peer``, ``nats``, then ``worker<node id>`` per worker node."""

def standalone_plan(
    prefill: int,
    decode: int,
    *,
    gpus: list[str],
    ports: list[int],
    job_id: str,
    time_limit: str | None = None,
) -> dict[str, Any]:
    """The local processes of one job on a standalone system.

    ``ports``: one free port per ``standalone_port_slots`` entry, in order; ``gpus``: this
    machine's GPU ids (split between the workers). Returns ``{"processes": [{"node_id", "role",
    "env"}], "ports", "time_limit_seconds"}``; RenderError when the ports or GPUs do not fit.
    """

def prepare_rehearsal(
    system: StrPath,
    tests: Sequence[StrPath],
    scenario: StrPath,
    *,
    timestamp: str,
    target: StrPath | None = None,
    output_root: StrPath | None = None,
    stack: str | None = None,
    max_requests: int | None = None,
    sample: int | None = None,
    max_runs: int = ...,
) -> dict[str, Any]:
    """``prepare`` of the user's scenario rehearsed on Dynamo's mocker (``cloudaix rehearse``):
    mocker engines in the same roles and counts, the stack's tokenizer, capped requests and time,
    on ``target`` (a system file; default: this machine, standalone). ``sample``: that many runs,
    evenly spread. Host paths of the user's cluster are not checked. Returns what ``prepare``
    returns."""

#: File names in a run directory: the run's record (written by ``prepare``), its final status
#: (written by the runner, read by ``plan``'s history), and the job scripts' markers of both
#: schemas (seed's first): a Dynamo process died / the script reached its normal end.
RECORD_FILE: str
STATUS_FILE: str
#: The job's sbatch script and the launch script it runs (keys of ``render_one``'s result).
SBATCH_FILE: str
LAUNCH_FILE: str
#: The job's output and error streams (sbatch's ``--output``/``--error``).
JOB_STDOUT: str
JOB_STDERR: str
FAILURE_MARKERS: tuple[str, str]
DONE_MARKERS: tuple[str, str]

class RehearsalEvidence(TypedDict):
    section: str | None
    endpoint: str | None
    http_status: int | None
    refusal: str | None

def rehearsal_evidence(run_dir: StrPath) -> RehearsalEvidence:
    """What a failed rehearsal run left that points at the user's files: the load generator's
    ``cmd_args`` section and ``endpoint`` in its ``test-run.json``; the first HTTP 4xx the job's
    logs (stdout, stderr, failure markers: the last MiB of each) name, else the first in aiperf's
    per-request records (``profile_export*.jsonl``) under ``run_dir``; aiperf's refusal of the
    endpoint (its message) when a log holds it; each None when absent or unreadable."""

def slurm_verdict(state: str, exit_code: str | None = None) -> tuple[str, str] | None:
    """What Slurm's final job ``state`` alone says about a run: None for ``COMPLETED`` (the
    script's files decide), else ``(status, cause)``: ``cancelled``, ``timeout``, or ``failed``
    for every other terminal state, the cause naming the state and Slurm's ``code:signal``
    ``exit_code`` unless ``0:0`` (not for ``TIMEOUT``)."""

def final_status(
    status: str | None, cause: str, verdict: str, verdict_cause: str, *, has_results: bool
) -> tuple[str, str]:
    """``(status, cause)`` the report shows: the runner's, unless the results' ``verdict``
    (``bad_results``, ``failed``, ``flagged``) overrules a ``completed`` or missing one; with
    no runner's status, ``completed`` when there are results, else ``not_run``."""
