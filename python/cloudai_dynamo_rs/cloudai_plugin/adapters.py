"""CloudAI classes backed by our core: test definition, Slurm strategy, report strategy.

Importing this module imports CloudAI. Two CloudAI APIs are served:

* current main (Jul 2025 #596/#598 onwards): one command-generation strategy per test run,
  ``cls(system, test_run)``, hooks without a ``tr`` argument, ``tr.test`` is the definition;
* the seed's July-2025 API (13816b1a): one strategy per test template, ``cls(system)``, hooks
  take ``tr``, ``tr.test.test_definition`` is the definition, registered with
  ``update_strategy``.

Both strategy classes exist on either version (they only override methods); ``register``
installs the one matching the Registry it finds.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from cloudai import test_scenario_parser
from cloudai.core import (
    METRIC_ERROR,
    CommandGenStrategy,
    DockerImage,
    Installable,
    JobStatusResult,
    Registry,
    ReportGenerationStrategy,
    TestRun,
)
from cloudai.models.workload import TestDefinition
from cloudai.systems.slurm import SlurmCommandGenStrategy, SlurmSystem
from cloudai.test_parser import TestParser
from cloudai.test_scenario_parser import TestScenarioParser
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import to_jsonable_python

from .. import _core
from . import convert, results

TEMPLATE_NAME = "AIDynamo"


class OpenTable(BaseModel):
    """A ``cmd_args`` table whose keys and values our core validates, not pydantic.

    Keys are stored as pydantic extras, nested tables as OpenTables, so that CloudAI's DSE can
    ``getattr``/``setattr`` along ``dynamo.prefill_worker.num_nodes`` and ``model_dump()``
    gives back plain dicts with the sweep lists in place.
    """

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # pydantic reports "expected a dictionary"
        return {
            k: OpenTable.model_validate(v) if isinstance(v, Mapping) else v for k, v in data.items()
        }


def freeze_plain_lists(table: dict[str, Any], axes: set[str], prefix: str = "") -> dict[str, Any]:
    """Turn every list of ``table`` that is not one of ``axes`` into a tuple, in place.

    CloudAI's DSE sweeps every ``list`` in ``cmd_args.model_dump()``; our core sweeps only its
    sweepable fields (``sweep_axes`` of ``_core.read_cloudai_test``). A tuple is the same value
    to the core but no sweep axis for CloudAI, so both engines expand the same files into the
    same cases.
    """
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            freeze_plain_lists(value, axes, f"{path}.")
        elif isinstance(value, list) and path not in axes:
            table[key] = tuple(value)
    return table


@dataclass(frozen=True)
class Origin:
    """Where the definition CloudAI is validating comes from, for positioned errors."""

    test_file: Path | None = None
    scenario: Path | None = None
    entry: str | None = None


#: What CloudAI is reading while it validates a test definition (see ``_track_source`` and
#: ``_track_scenario``): CloudAI validates parsed dicts, and only names the file in its error.
_NO_ORIGIN = Origin()  # frozen: safe to share as the default
_ORIGIN: ContextVar[Origin] = ContextVar("cloudai_dynamo_rs_origin", default=_NO_ORIGIN)


def _track_source(load: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``TestParser.load_test_definition``: the file being parsed is the test's origin,
    unless a scenario entry is being prepared (its parser's file is the scenario)."""

    @functools.wraps(load)
    def load_test_definition(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _ORIGIN.get().scenario is not None:
            return load(self, *args, **kwargs)
        source = getattr(self, "current_file", None)
        token = _ORIGIN.set(Origin(test_file=Path(source) if source else None))
        try:
            return load(self, *args, **kwargs)
        finally:
            _ORIGIN.reset(token)

    load_test_definition.cloudai_dynamo_rs = True  # type: ignore[attr-defined]
    return load_test_definition


def _track_scenario(create: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``TestScenarioParser._create_test_run`` (13816b1a and main): a scenario entry's
    test comes from the scenario's ``[[Tests]]`` entry, over the named test's file if any.
    Also records whether the entry gave ``num_nodes`` (main does; 13816b1a fills 1 in)."""

    @functools.wraps(create)
    def _create_test_run(self: Any, test_info: Any, *args: Any, **kwargs: Any) -> Any:
        named = getattr(self, "test_mapping", {}).get(getattr(test_info, "test_name", None))
        tdef = getattr(named, "test_definition", named)  # 13816b1a: a Test holding it
        origin = Origin(
            test_file=getattr(tdef, "_source", None) if isinstance(tdef, BaseModel) else None,
            scenario=Path(self.file_path),
            entry=str(test_info.id),
        )
        token = _ORIGIN.set(origin)
        try:
            tr = create(self, test_info, *args, **kwargs)
        finally:
            _ORIGIN.reset(token)
        if not hasattr(tr, "num_nodes_explicit"):
            tr.num_nodes_explicit = "num_nodes" in test_info.model_fields_set
        return tr

    _create_test_run.cloudai_dynamo_rs = True  # type: ignore[attr-defined]
    return _create_test_run


class AIDynamoTestDefinition(TestDefinition):
    """CloudAI's ``AIDynamo`` test, either schema generation, as validated by our core."""

    cmd_args: OpenTable
    _docker_image: DockerImage | None = None
    #: The test file this definition was read from (for a scenario entry's positions).
    _source: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_with_core(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # pydantic reports it
        origin = _ORIGIN.get()
        try:
            read = _core.read_cloudai_test(
                to_jsonable_python(data),
                test_file=origin.test_file,
                scenario=origin.scenario,
                entry=origin.entry,
            )
        except _core.ConfigError as err:
            # Still a ConfigError (a ValueError, as pydantic wants): its `errors` reach
            # CloudAI's ValidationError (`ctx["error"]`); the text is the core's.
            raise _core.ConfigError(
                f"invalid AIDynamo test (cloudai-dynamo-rs): {err}", errors=err.errors
            ) from None
        axes = {a for a in read["sweep_axes"] if not a.startswith("extra_env_vars.")}
        return {**data, "cmd_args": freeze_plain_lists(read["cmd_args"] or {}, axes)}

    @model_validator(mode="after")
    def _remember_source(self) -> AIDynamoTestDefinition:
        origin = _ORIGIN.get()
        if origin.scenario is None:
            self._source = origin.test_file
        return self

    @property
    def docker_image(self) -> DockerImage:
        # Cached: CloudAI's installer records the installed path on this very object.
        if self._docker_image is None:
            self._docker_image = DockerImage(url=self.cmd_args.docker_image_url)
        return self._docker_image

    @property
    def installables(self) -> list[Installable]:
        # Bare metal (`cmd_args.container_runtime = "none"`): no image to pull or cache.
        if getattr(self.cmd_args, "container_runtime", None) == "none":
            return [*self.git_repos]
        return [self.docker_image, *self.git_repos]

    def was_run_successful(self, tr: TestRun) -> JobStatusResult:
        ok, why = results.finished(tr.output_path)
        return JobStatusResult(is_successful=ok, error_message=why)


# ---- command generation ------------------------------------------------------------------


def test_definition(tr: TestRun) -> AIDynamoTestDefinition:
    """The definition of a test run: ``tr.test`` on main, ``tr.test.test_definition`` before."""
    return getattr(tr.test, "test_definition", tr.test)


def requested_nodes(tr: TestRun) -> int | None:
    """The scenario's ``num_nodes`` if the user gave one, else None (the core's plan).

    CloudAI fills an absent ``num_nodes`` with 1; main records whether it was explicit, and
    on 13816b1a ``register``'s scenario hook records it the same way. A test run built
    without the scenario parser: 1 is taken as "absent".
    """
    explicit = getattr(tr, "num_nodes_explicit", tr.num_nodes != 1)
    return int(tr.num_nodes) if explicit else None


def provides_metadata_script(system: SlurmSystem) -> bool:
    """CloudAI installs its ``slurm-metadata.sh`` as a system installable and its own sbatch
    runs it (``SlurmCommandGenStrategy._metadata_cmd``, 13816b1a and 5b5c0f72); so do ours,
    wherever the CloudAI in use provides both."""
    installables = getattr(system, "system_installables", None)
    if installables is None or not hasattr(SlurmCommandGenStrategy, "_metadata_cmd"):
        return False
    return any(
        Path(str(getattr(item, "src", ""))).name == "slurm-metadata.sh" for item in installables()
    )


def render(system: SlurmSystem, tr: TestRun, nodes: list[str]) -> dict[str, Any]:
    """Our scripts for one CloudAI test run (nothing written)."""
    tdef = test_definition(tr)
    if tr.pre_test or tr.post_test:
        logging.warning("%s: pre/post-test hooks are not supported by cloudai-dynamo-rs", tr.name)
    return _core.render_one(
        to_jsonable_python(system.model_dump()),
        to_jsonable_python(tdef.model_dump()),
        docker_image=str(tdef.docker_image.installed_path),
        run_dir=tr.output_path.absolute(),
        install_dir=Path(system.install_path).absolute(),
        id=tr.name,
        iteration=tr.current_iteration,
        step=tr.step or None,  # CloudAI numbers DSE steps from 1; 0 means "not a sweep"
        num_nodes=None if nodes else requested_nodes(tr),
        nodes=nodes,
        time_limit=tr.time_limit,
        metadata_script=provides_metadata_script(system),
    )


class AIDynamoSlurmCommandGenStrategy(SlurmCommandGenStrategy):
    """Current main: one instance per test run; writes our sbatch, run.sh and config."""

    def _nodes(self) -> list[str]:
        # CloudAI resolves `partition:group:N` specs against live node states (sinfo).
        return self.get_cached_nodes_spec()[1] if self.test_run.nodes else []

    def _container_mounts(self) -> list[str]:
        return []  # the rendered sbatch carries its own mounts

    def gen_exec_command(self) -> str:
        rendered = render(self.system, self.test_run, self._nodes())
        return f"sbatch {convert.write_rendered(self.test_run.output_path, rendered)}"

    def gen_srun_command(self) -> str:
        rendered = render(self.system, self.test_run, self._nodes())
        return str(rendered[convert.SRUN_COMMAND])

    def generate_test_command(self) -> list[str]:
        return ["bash", str(self.test_run.output_path.absolute() / convert.LAUNCH_FILE)]


class AIDynamoSlurmCommandGenStrategyJuly2025(SlurmCommandGenStrategy):
    """CloudAI 13816b1a: one instance per test template; every hook receives the test run."""

    def _nodes(self, tr: TestRun) -> list[str]:
        return self.get_cached_nodes_spec(tr)[1] if tr.nodes else []

    def _container_mounts(self, tr: TestRun) -> list[str]:
        return []

    def gen_exec_command(self, tr: TestRun) -> str:
        rendered = render(self.system, tr, self._nodes(tr))
        return f"sbatch {convert.write_rendered(tr.output_path, rendered)}"

    def gen_srun_command(self, tr: TestRun) -> str:
        rendered = render(self.system, tr, self._nodes(tr))
        return str(rendered[convert.SRUN_COMMAND])

    def generate_test_command(
        self, env_vars: dict[str, Any], cmd_args: dict[str, Any], tr: TestRun
    ) -> list[str]:
        return ["bash", str(tr.output_path.absolute() / convert.LAUNCH_FILE)]


# ---- reports -----------------------------------------------------------------------------


class AIDynamoReportGenerationStrategy(ReportGenerationStrategy):
    """Metrics for CloudAI (DSE observations) and ``report.csv`` from genai-perf/aiperf CSVs."""

    metrics: ClassVar[list[str]] = results.MetricKeys()

    def can_handle_directory(self) -> bool:
        # Failed runs too (no results): their status.json and report rows say why.
        return results.is_our_run(self.test_run.output_path)

    def get_metric(self, metric: str) -> Any:
        value = results.metric(self.test_run.output_path, metric)
        return METRIC_ERROR if value is None else value

    def generate_report(self) -> None:
        run_dir = self.test_run.output_path
        gpus_per_node = getattr(self.system, "gpus_per_node", None) or None
        paths = results.write_outputs(run_dir, gpus_per_node)
        logging.info("cloudai-dynamo-rs report: %s", paths or run_dir)


def _resolve_reports(get_reporters: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``cloudai.test_scenario_parser.get_reporters`` (13816b1a and 5b5c0f72), where
    CloudAI picks a test run's report strategies: ours for our test definition.

    Not a ``Registry().reports_map`` entry: that map is keyed by test-definition class, and
    CloudAI's own suite checks both its size (``test_default_reporters_size``) and that the
    built-in AIDynamo class keeps the built-in strategy (``test_custom_reporters``,
    ``tests/test_test_scenario.py``). Our class beside it would be one entry more; in its
    place, the built-in's entry would be gone. So the map stays CloudAI's own.
    """

    @functools.wraps(get_reporters)
    def resolve(test_info: Any, tdef: Any) -> Any:
        reporters = get_reporters(test_info, tdef)
        if type(tdef) is AIDynamoTestDefinition:  # CloudAI's lookup is by exact type too
            reporters.add(AIDynamoReportGenerationStrategy)
        return reporters

    resolve.cloudai_dynamo_rs = True  # type: ignore[attr-defined]
    return resolve


def register() -> None:
    """Replace CloudAI's built-in AIDynamo in its Registry (idempotent)."""
    registry = Registry()
    registry.update_test_definition(TEMPLATE_NAME, AIDynamoTestDefinition)
    if hasattr(registry, "update_command_gen_strategy"):
        registry.update_command_gen_strategy(
            SlurmSystem, AIDynamoTestDefinition, AIDynamoSlurmCommandGenStrategy
        )
    else:
        registry.update_strategy(
            (CommandGenStrategy, SlurmSystem, AIDynamoTestDefinition),
            AIDynamoSlurmCommandGenStrategyJuly2025,
        )
    _wrap_once(TestParser, "load_test_definition", _track_source)
    _wrap_once(TestScenarioParser, "_create_test_run", _track_scenario)
    _wrap_once(test_scenario_parser, "get_reporters", _resolve_reports)


def _wrap_once(owner: Any, name: str, wrap: Callable[[Callable[..., Any]], Any]) -> None:
    """Replace ``owner.name`` by ``wrap(owner.name)``, unless it is one of our wrappers already."""
    current = getattr(owner, name)
    if not getattr(current, "cloudai_dynamo_rs", False):
        setattr(owner, name, wrap(current))
