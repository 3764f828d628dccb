"""The plugin inside a real CloudAI: registry, dry-run, report, sweeps, errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import tomllib
from cloudai_cli import cloudaix, dry_run

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs.cloudai_plugin import convert

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
SEED_CSV = DATA / "results" / "cloudai-doc-genai-perf" / "profile_genai_perf.csv"


def test_register_replaces_the_builtin_aidynamo() -> None:
    from cloudai.core import Registry
    from cloudai.systems.slurm import SlurmSystem

    from cloudai_dynamo_rs.cloudai_plugin import adapters, register

    register()
    register()  # idempotent: update_* calls only
    registry = Registry()
    tdef = registry.test_definitions_map["AIDynamo"]
    assert tdef is adapters.AIDynamoTestDefinition
    if hasattr(registry, "get_command_gen_strategy"):
        strategy = registry.get_command_gen_strategy(SlurmSystem, tdef)
        assert strategy is adapters.AIDynamoSlurmCommandGenStrategy
    else:
        from cloudai.core import CommandGenStrategy

        strategy = registry.strategies_map[(CommandGenStrategy, SlurmSystem, tdef)]
        assert strategy is adapters.AIDynamoSlurmCommandGenStrategyJuly2025
    # The report strategy CloudAI picks for a test run of its "AIDynamo" definition.
    from cloudai.models.scenario import TestRunModel
    from cloudai.test_scenario_parser import get_reporters

    test_info = TestRunModel(id="Tests.1", test_name="aidynamo")
    picked = get_reporters(test_info, tdef.model_construct())
    assert picked == {adapters.AIDynamoReportGenerationStrategy}


# CloudAI's report map as `import cloudai` alone leaves it (cloudai_dynamo_rs not imported):
# each test-definition class with its report strategies, by qualified name, as JSON.
_CLOUDAIS_OWN_REPORTS_MAP = """
import json, sys
from cloudai.core import Registry
assert not any(m.startswith("cloudai_dynamo_rs") for m in sys.modules), "plugin imported"
def name(c): return f"{c.__module__}.{c.__qualname__}"
entries = Registry().reports_map.items()
print(json.dumps(sorted([name(k), sorted(map(name, v))] for k, v in entries)))
"""


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_register_leaves_cloudais_report_map_as_it_is() -> None:
    """CloudAI's own suite counts the report map (`test_default_reporters_size`) and checks the
    built-in AIDynamo's entry (`test_custom_reporters`): registered, the map is CloudAI's own."""
    from cloudai.core import Registry

    from cloudai_dynamo_rs.cloudai_plugin import register

    done = subprocess.run(
        [sys.executable, "-c", _CLOUDAIS_OWN_REPORTS_MAP], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    cloudais_own = json.loads(done.stdout)
    builtin = "cloudai.workloads.ai_dynamo"
    assert [
        f"{builtin}.ai_dynamo.AIDynamoTestDefinition",
        [f"{builtin}.report_generation_strategy.AIDynamoReportGenerationStrategy"],
    ] in cloudais_own

    register()
    reports_map = Registry().reports_map
    assert len(reports_map) == len(cloudais_own)
    registered = sorted([_qualified(k), sorted(map(_qualified, v))] for k, v in reports_map.items())
    assert registered == cloudais_own


def _seed_dry_run(ws: Path, scenario: Path | None = None) -> Path:
    conf = ws / "conf"
    return dry_run(
        ws,
        conf / "system" / "oci.toml",
        conf / "test",
        scenario or conf / "test_scenario" / "ai_dynamo.toml",
    )


def test_cloudai_dry_run_of_the_seed_writes_our_scripts(seed_workspace: Path) -> None:
    ws = seed_workspace
    run_dir = _seed_dry_run(ws) / "Tests.1" / "0"
    expected = cdr.render_one(
        (ws / "conf" / "system" / "oci.toml").read_text(),
        (ws / "conf" / "test" / "llama3.1_405b_fp8.toml").read_text(),
        run_dir=run_dir,
        install_dir=ws / "install",  # oci.toml: install_path = "./install", relative to the CWD
        id="Tests.1",
        num_nodes=2,
        time_limit="01:00:00",
        metadata_script=True,  # CloudAI provides slurm-metadata.sh
    )
    for name in ("cloudai_sbatch_script.sh", "run.sh", "dynamo_config.yaml", "node_roles.txt"):
        assert (run_dir / name).read_text() == expected[name], name
    assert os.access(run_dir / "run.sh", os.X_OK)
    # CloudAI's own record of the run, with our srun as its command.
    record = tomllib.loads((run_dir / "test-run.toml").read_text())
    assert record["full_cmd"] == expected[convert.SRUN_COMMAND]


def test_cloudai_generate_report_writes_our_report(seed_workspace: Path) -> None:
    ws = seed_workspace
    results_dir = _seed_dry_run(ws)
    run_dir = results_dir / "Tests.1" / "0"
    shutil.copy(SEED_CSV, run_dir / "profile_genai_perf.csv")
    (run_dir / "done.marker").touch()
    conf = ws / "conf"
    done = cloudaix(
        ws, "generate-report", conf / "system" / "oci.toml", conf / "test",
        conf / "test_scenario" / "ai_dynamo.toml", "--result-dir", str(results_dir),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = (run_dir / "report.csv").read_text().splitlines()
    # The embedded engine's report: the export first, as written.
    exported = SEED_CSV.read_text().splitlines()
    assert report[: len(exported)] == exported


def test_cloudai_sweeps_render_one_run_per_step(seed_workspace: Path) -> None:
    ws = seed_workspace
    test = ws / "conf" / "test" / "llama3.1_405b_fp8.toml"
    text = test.read_text().replace(
        "num_nodes = 1\n", "num_nodes = 1\n  tensor-parallel-size = [4, 8]\n"
    )
    test.write_text(text.replace("streaming = true", "streaming = true\n  concurrency = [1, 2]"))
    scenario = ws / "sweep.toml"
    scenario.write_text(
        'name = "sweep"\n[[Tests]]\nid = "Tests.1"\ntest_name = "llama3.1_405b_fp8"\n'
        "[Tests.cmd_args.dynamo.prefill_worker]\nmax-num-seqs = 32\n"  # dashed override
    )
    results_dir = _seed_dry_run(ws, scenario)
    steps = sorted((results_dir / "Tests.1" / "0").glob("*/dynamo_config.yaml"))
    assert [p.parent.name for p in steps] == ["1", "2", "3", "4"]
    seen = []
    for config in steps:
        prefill = config.read_text().split("PrefillWorker:")[1].split("\n\n")[0]
        run_sh = (config.parent / "run.sh").read_text()
        concurrency = run_sh.split("--concurrency\n")[1].split()[0]
        seen.append(
            ("tensor-parallel-size: 4" in prefill, concurrency, "max-num-seqs: 32" in prefill)
        )
    assert seen == [(True, "1", True), (True, "2", True), (False, "1", True), (False, "2", True)]


def test_cloudai_reports_core_validation_errors(seed_workspace: Path) -> None:
    ws = seed_workspace
    test = ws / "conf" / "test" / "llama3.1_405b_fp8.toml"
    test.write_text(test.read_text().replace("num_nodes = 1", 'num_nodes = "two"'))
    conf = ws / "conf"
    done = cloudaix(
        ws, "dry-run", conf / "system" / "oci.toml", conf / "test",
        conf / "test_scenario" / "ai_dynamo.toml",
    )  # fmt: skip
    assert done.returncode != 0
    # Positioned in the user's file (item 11), as the embedded engine reports it.
    lines = test.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if 'num_nodes = "two"' in text)
    column = lines[line - 1].index('"two"') + 1
    expected = (
        f"{test.name}:{line}:{column}: cmd_args.dynamo.prefill_worker.num_nodes: "
        'expected a non-negative integer, found string "two"'
    )
    assert expected in done.stdout + done.stderr


def test_report_strategy_gives_cloudai_metrics(tmp_path: Path) -> None:
    from cloudai.core import METRIC_ERROR

    from cloudai_dynamo_rs.cloudai_plugin import adapters

    shutil.copy(SEED_CSV, tmp_path / "profile_genai_perf.csv")
    tr = SimpleNamespace(output_path=tmp_path, nnodes=2)
    strategy = adapters.AIDynamoReportGenerationStrategy(SimpleNamespace(gpus_per_node=8), tr)
    assert strategy.can_handle_directory()
    assert strategy.get_metric("default") == pytest.approx(261.25)
    assert strategy.get_metric("genai_perf:Time To First Token (ms):p99") == pytest.approx(3457.97)
    assert strategy.get_metric("no-such-key") is METRIC_ERROR
    assert all(m in strategy.metrics for m in ["default", "inter-token-latency"])


def test_the_local_tests_directory_holds_both_schemas(tmp_path: Path) -> None:
    """`--tests-dir conf/local/test` (seed and current schema side by side) under either CloudAI;
    conf/local/test_scenario/current_mocker.toml's entries plan as the file says: "disagg" on 2
    nodes, "shared-node" (`num_nodes = 1`, explicit) prefill and decode on one node."""
    local = ROOT / "conf" / "local"
    results = dry_run(
        tmp_path,
        local / "cloudai" / "system.toml",
        local / "test",
        local / "test_scenario" / "current_mocker.toml",
    )
    roles = {
        run: (results / run / "0" / "node_roles.txt").read_text().splitlines()[1:]
        for run in ("disagg", "shared-node", "genai-perf")
    }
    x = "\N{MULTIPLICATION SIGN}"  # as node_roles.txt writes counts
    assert roles["disagg"] == [f"0 frontend,decode{x}1", f"1 prefill{x}1"]
    assert roles["shared-node"] == [f"0 frontend,decode{x}1,prefill{x}1"]
    run_sh = (results / "genai-perf" / "0" / "run.sh").read_text()
    assert "/opt/cloudaix-stack/bin/genai-perf profile" in run_sh  # the entry's `workloads`
    assert "round_1" not in run_sh
