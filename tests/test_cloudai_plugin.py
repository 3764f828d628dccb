"""The CloudAI plugin: adapter logic without CloudAI, and the real thing when it is importable.

Unit tests (always run) cover the TOML writer (round trip through the core), CloudAI dump
conversion, metric keys, the report, the job status from markers and engine selection.
The same plugin inside a real CloudAI is tested by tests/with_cloudai (run by .ci/cloudai under
both vendored CloudAI versions).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs import engine
from cloudai_dynamo_rs.cloudai_plugin import convert, results
from cloudai_dynamo_rs.runner import status
from cloudai_dynamo_rs.runner.models import JobInfo

tomllib = pytest.importorskip("tomllib", reason="tomllib (Python 3.11+) reads the TOML back")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SEED_CONF = ROOT / "conf" / "staging" / "ai_dynamo"
SEED_SYSTEM = SEED_CONF / "system" / "oci.toml"
AIPERF_013 = DATA / "results" / "aiperf-0.13.0" / "dynamo-mocker-1p1d-stream-c4"
TEST_TOMLS = sorted(
    [
        *SEED_CONF.glob("test/*.toml"),
        *(DATA / "render").glob("*test*.toml"),
        DATA / "config" / "seed_test.toml",
    ]
)

# The seed's genai-perf CSV (CloudAI doc; fewer percentile columns): quoted thousands
# separators, "(per sec)" throughput in a second section.
SEED_CSV = """\
Metric,avg,min,max,p99,p50
Time To First Token (ms),"1,146.31",249.48,"3,485.23","3,457.97",640.07
Time To Second Token (ms),26.05,0.00,133.51,96.12,33.55
Request Latency (ms),"6,406.20","5,371.47","9,608.72","9,436.13","5,690.23"
Inter Token Latency (ms),30.35,27.59,35.60,35.23,30.13
Output Sequence Length (tokens),174.45,164.00,187.00,186.22,174.00

Metric,Value
Output Token Throughput (per sec),261.25
Request Throughput (per sec),1.50
Request Count (count),40.00
"""

# aiperf spelling: "Time to First Token", sorted rows, a per-user throughput that must not match.
AIPERF_CSV = """\
Metric,avg,min,max,p50,p99
Inter Token Latency (ms),5.36,4.34,5.86,5.41,5.84
Output Token Throughput Per User (tokens/sec/user),187.62,170.68,230.67,184.72,226.73
Request Latency (ms),168.26,161.23,218.50,164.53,207.92
Time to First Token (ms),81.89,74.76,132.29,78.02,121.05

Metric,Value
Output Token Throughput (tokens/sec),389.99
Request Throughput (requests/sec),22.67
"""


def _core_view(toml_text: str) -> dict[str, Any]:
    return cdr.load_test_str(toml_text)


# ---- CloudAI's dumps read by the core (src/config/host.rs) ---------------------------------

CURRENT_TEST = ROOT / "conf" / "local" / "test" / "current_mocker.toml"


def _render(system: Any, test: Any, tmp_path: Path) -> dict[str, Any]:
    return cdr.render_one(
        system, test, run_dir=tmp_path / "run", install_dir=tmp_path / "i", id="t"
    )


@pytest.mark.parametrize(
    "path", [*TEST_TOMLS, CURRENT_TEST], ids=lambda p: str(p.relative_to(ROOT))
)
def test_a_dumped_test_renders_as_its_file_does(path: Path, tmp_path: Path) -> None:
    text = path.read_text()
    system = SEED_SYSTEM.read_text()
    from_dict = _render(system, tomllib.loads(text), tmp_path)
    from_file = _render(system, text, tmp_path)
    for name in ("cloudai_sbatch_script.sh", "run.sh", "node_roles.txt", "dynamo_config.yaml"):
        assert from_dict[name] == from_file[name], name
    read = cdr.read_cloudai_test(tomllib.loads(text))
    assert read["name"] == tomllib.loads(text)["name"]
    assert read["generation"] == ("current" if path == CURRENT_TEST else "seed")


def test_cloudai_fields_are_ignored_unless_they_ask_for_what_we_do_not_do() -> None:
    dump = tomllib.loads(CURRENT_TEST.read_text())
    # CloudAI main's framework fields and its git repository record: CloudAI's business.
    dump |= {"dse_excluded_args": [], "env_params": {}, "nsys": None, "predictor": None}
    dump["git_repos"] = [{"url": "https://x/r.git", "commit": "abc", "installed_path": "/i"}]
    assert cdr.read_cloudai_test(dump)["name"] == "current_mocker"
    dump |= {"nsys": {"enable": True}, "training_report": {"x": 1}}
    with pytest.raises(cdr.ConfigError) as err:
        cdr.read_cloudai_test(dump, test_file=CURRENT_TEST)
    assert [(e["path"], e["line"]) for e in err.value.errors] == [
        ("nsys", 0),
        ("training_report", 0),
    ]
    assert err.value.errors[0]["text"] == (
        f"{CURRENT_TEST}: nsys: not supported by the cloudai-dynamo-rs AIDynamo "
        "(its scripts would not honour it); remove it"
    )


def test_a_dashed_override_of_an_underscored_field_wins(tmp_path: Path) -> None:
    # CloudAI merges a scenario override by exact key: both spellings stay, the override last.
    dump = tomllib.loads(CURRENT_TEST.read_text())
    prefill = dump["cmd_args"]["dynamo"]["prefill_worker"]
    prefill["args"]["tensor_parallel_size"] = 2  # written underscored (file: dashed)
    del prefill["num-nodes"]
    prefill["num_nodes"] = 3
    prefill["num-nodes"] = 2  # the override, later
    read = cdr.read_cloudai_test(dump)
    folded = read["cmd_args"]["dynamo"]["prefill_worker"]
    assert folded["num-nodes"] == 2 and "num_nodes" not in folded
    assert folded["args"] == {
        "model-path": "/opt/cloudaix-stack/tiny-model",
        "tensor_parallel_size": 2,
    }
    # Keys of a data table (seed `extra_args`: engine flags) keep every spelling.
    seed = tomllib.loads((SEED_CONF / "test" / "llama3.1_405b_fp8.toml").read_text())
    seed["cmd_args"]["dynamo"]["prefill_worker"]["extra_args"] = {"--a-b": "1", "--a_b": "2"}
    extra = cdr.read_cloudai_test(seed)["cmd_args"]["dynamo"]["prefill_worker"]["extra_args"]
    assert extra == {"--a-b": "1", "--a_b": "2"}


def test_two_spellings_written_in_a_test_file_are_an_error_there(tmp_path: Path) -> None:
    # No merge made them: the file's own mistake, reported as the embedded engine does.
    text = CURRENT_TEST.read_text().replace(
        "num-nodes = 1\n", "num-nodes = 1\n    num_nodes = 2\n", 1
    )
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(cdr.ConfigError) as err:
        cdr.read_cloudai_test(tomllib.loads(text), test_file=path)
    (e,) = err.value.errors
    line, col = _line_col(text, "num_nodes = 2")
    assert (e["file"], e["line"], e["column"]) == (str(path), line, col)
    assert e["message"].startswith("field given twice")
    errors, _ = cdr.verify_files([path], check_host_paths=False)  # the embedded engine's
    assert errors == err.value.errors


def test_sweep_axes_are_spelled_as_the_dump_spells_them() -> None:
    dump = tomllib.loads(CURRENT_TEST.read_text())
    dump["cmd_args"]["dynamo"]["prefill_worker"]["num-nodes"] = [1, 2]
    dump["cmd_args"]["dynamo"]["decode_worker"]["args"]["tensor-parallel-size"] = [1, 2]
    dump["extra_env_vars"]["MODE"] = ["a", "b"]
    axes = cdr.read_cloudai_test(dump)["sweep_axes"]
    assert axes == [
        "dynamo.prefill_worker.num-nodes",
        "dynamo.decode_worker.args.tensor-parallel-size",
        "extra_env_vars.MODE",
    ]
    # The seed, with its decode role spelled `vllm_worker` and a list that is one value.
    seed = tomllib.loads((DATA / "config" / "seed_test.toml").read_text())
    worker = (
        seed["cmd_args"]["dynamo"].get("vllm_worker") or seed["cmd_args"]["dynamo"]["decode_worker"]
    )
    key = "vllm_worker" if "vllm_worker" in seed["cmd_args"]["dynamo"] else "decode_worker"
    worker.pop("num_nodes", None)
    worker["num-nodes"] = [1, 2]
    seed["cmd_args"]["genai_perf"]["extra_inputs"] = ["a:1", "b:2"]
    assert cdr.read_cloudai_test(seed)["sweep_axes"] == [f"dynamo.{key}.num-nodes"]


def _line_col(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first `needle` in `text`, counted by hand."""
    lines = text.splitlines()
    line = next(i for i, t in enumerate(lines, 1) if needle in t)
    return line, lines[line - 1].index(needle) + 1


def test_errors_of_a_dumped_file_carry_its_positions(tmp_path: Path) -> None:
    text = CURRENT_TEST.read_text().replace(
        "tensor-parallel-size = 1", 'tensor-parallel-size = "x"', 1
    )
    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(cdr.ConfigError) as err:
        cdr.read_cloudai_test(tomllib.loads(text), test_file=path)
    (e,) = err.value.errors
    line, col = _line_col(text, '"x"')
    assert (e["file"], e["line"], e["column"]) == (str(path), line, col)
    assert e["path"] == "cmd_args.dynamo.prefill_worker.args.tensor-parallel-size"


def test_a_scenario_override_error_points_into_the_scenario(tmp_path: Path) -> None:
    test_text = CURRENT_TEST.read_text()
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "s"\n[[Tests]]\nid = "other"\ntest_name = "current_mocker"\n'
        '[[Tests]]\nid = "a"\ntest_name = "current_mocker"\n'
        "  [Tests.cmd_args.dynamo.decode_worker]\n  num-nodes = -1\n"
    )
    # What CloudAI validates: the test's dump with the entry's cmd_args merged over it.
    dump = tomllib.loads(test_text)
    dump["cmd_args"]["dynamo"]["decode_worker"]["num-nodes"] = -1
    dump["cmd_args"]["dynamo"]["prefill_worker"]["num-nodes"] = "two"  # no file says this
    with pytest.raises(cdr.ConfigError) as err:
        cdr.read_cloudai_test(dump, test_file=CURRENT_TEST, scenario=scenario, entry="a")
    by_path = {e["path"]: e for e in err.value.errors}
    decode = by_path["cmd_args.dynamo.decode_worker.num_nodes"]
    line, col = _line_col(scenario.read_text(), "-1")
    assert (decode["file"], decode["line"], decode["column"]) == (str(scenario), line, col)
    # A value no file wrote (e.g. a DSE pick): named by its origin, without a line.
    prefill = by_path["cmd_args.dynamo.prefill_worker.num_nodes"]
    assert (prefill["line"], prefill["file"]) == (0, f'{scenario} (Tests entry "a")')


def test_an_inline_scenario_test_is_positioned_in_the_scenario(tmp_path: Path) -> None:
    body = (
        CURRENT_TEST.read_text()
        .replace("[cmd_args", "[Tests.cmd_args")
        .replace("[extra_env_vars]", "[Tests.extra_env_vars]")
    )
    body = body.replace("tensor-parallel-size = 1", "tensor-parallel-size = 0", 1)
    text = 'name = "s"\n[[Tests]]\nid = "inline"\n' + body
    scenario = tmp_path / "s.toml"
    scenario.write_text(text)
    entry = tomllib.loads(text)["Tests"][0]
    dump = {k: v for k, v in entry.items() if k != "id"}
    with pytest.raises(cdr.ConfigError) as err:
        cdr.read_cloudai_test(dump, scenario=scenario, entry="inline")
    (e,) = err.value.errors
    line, col = _line_col(text, "tensor-parallel-size = 0")
    assert (e["file"], e["line"], e["column"]) == (
        str(scenario),
        line,
        col + len("tensor-parallel-size = "),
    )


def test_a_dumped_cloudai_system_is_read_for_our_fields(tmp_path: Path) -> None:
    dump: dict[str, Any] = {
        "name": "oci",
        "scheduler": "slurm",
        "install_path": "/opt/install",
        "output_path": "/results",
        "default_partition": "batch",
        "partitions": [
            {"name": "batch", "groups": [{"name": "h100", "nodes": ["n[1-4]"]}], "slurm_nodes": []}
        ],
        "account": None,
        "mpi": "pmix",
        "gpus_per_node": 8,
        "global_env_vars": {"A": "1", "B": {"default": "2", "values": ["2", "3"]}},
        "extra_srun_args": "--reservation r1",
        "extra_sbatch_args": ["--exclusive"],
        # CloudAI fields the core does not know are CloudAI's.
        "reports": {"per_test": {"enable": True}},
        "extra_transient_status_errors": [],
        "status_retry_pause_seconds": 10,
    }
    seed = (SEED_CONF / "test" / "llama3.1_405b_fp8.toml").read_text()
    sbatch = _render(dump, seed, tmp_path)[convert.SBATCH_FILE]
    assert "#SBATCH --partition=batch" in sbatch
    assert "#SBATCH --exclusive" in sbatch
    assert 'export B="2"' in sbatch
    assert "--reservation r1" in sbatch.replace("\\\n", " ").replace("  ", " ")
    dump["gpus_per_node"] = "eight"
    with pytest.raises(cdr.ConfigError, match="gpus_per_node"):
        _render(dump, seed, tmp_path)


def test_a_dump_of_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expected a mapping"):
        cdr.read_cloudai_test({"name": object()})
    with pytest.raises(TypeError, match="expected a mapping"):
        cdr.read_cloudai_test([1, 2])  # type: ignore[arg-type]


def _rendered(
    tmp_path: Path, test_text: str | None = None, system_text: str | None = None, **kw: Any
) -> dict[str, Any]:
    test = SEED_CONF / "test" / "llama3.1_405b_fp8.toml"
    return cdr.render_one(
        system_text or SEED_SYSTEM.read_text(),
        test_text or test.read_text(),
        run_dir=tmp_path / "run",
        install_dir=tmp_path / "install",
        id="Tests.1",
        num_nodes=2,
        **kw,
    )


def _srun_commands(sbatch: str) -> list[list[str]]:
    """Each srun of an sbatch script as its words (continuation lines joined)."""
    joined = sbatch.replace("\\\n", " ")
    return [line.split() for line in joined.splitlines() if line.startswith("srun ")]


def _seed_test_with(line: str) -> str:
    text = (SEED_CONF / "test" / "llama3.1_405b_fp8.toml").read_text()
    assert "[cmd_args]\n" in text
    return text.replace("[cmd_args]\n", f"[cmd_args]\n{line}\n", 1)


@pytest.mark.parametrize(
    ("system_runtime", "test_line", "container"),
    [
        ("pyxis", "", True),
        ("pyxis", 'container_runtime = "none"', False),  # bare metal from the test file
        ("none", "", False),
        ("none", 'container_runtime = "pyxis"', True),
    ],
)
def test_a_test_can_choose_its_container_runtime(
    tmp_path: Path, system_runtime: str, test_line: str, container: bool
) -> None:
    # CloudAI's SlurmSystem refuses `container_runtime`; a CloudAI user sets it in the test.
    system = f'container_runtime = "{system_runtime}"\n' + SEED_SYSTEM.read_text()
    sbatch = _rendered(tmp_path, _seed_test_with(test_line), system)[convert.SBATCH_FILE]
    (main,) = _srun_commands(sbatch)
    assert any(w.startswith("--container-image=") for w in main) == container


def test_a_test_container_runtime_must_be_known() -> None:
    with pytest.raises(cdr.ConfigError) as err:
        cdr.load_test_str(_seed_test_with('container_runtime = "docker"'), name="t.toml")
    (e,) = err.value.errors
    assert (e["line"], e["path"]) == (6, "cmd_args.container_runtime")
    assert e["message"] == 'expected one of "pyxis", "none", found "docker"'


@pytest.mark.parametrize("bare_metal", [False, True])
def test_cloudais_metadata_step_runs_on_every_node_when_provided(
    tmp_path: Path, bare_metal: bool
) -> None:
    test = _seed_test_with('container_runtime = "none"' if bare_metal else "")
    without = _rendered(tmp_path, test)[convert.SBATCH_FILE]
    assert "slurm-metadata.sh" not in without  # the embedded engine: no CloudAI install
    sbatch = _rendered(tmp_path, test, metadata_script=True)[convert.SBATCH_FILE]
    metadata, main = _srun_commands(sbatch)
    run = tmp_path / "run"
    # As CloudAI's _metadata_cmd writes it (13816b1a, 5b5c0f72): one task on each node of
    # the job, like the job's own step.
    ntasks = next(w for w in main if w.startswith("--ntasks="))
    script = (
        f"{tmp_path / 'install'}/slurm-metadata.sh"
        if bare_metal
        else "/cloudai_install/slurm-metadata.sh"
    )
    assert metadata[-6:] == [
        ntasks,
        "--ntasks-per-node=1",
        f"--output={run}/metadata/node-%N.toml",
        f"--error={run}/metadata/nodes.err",
        "bash",
        script,
    ]
    # The same srun options as the job's step (container, mounts, MPI) before those.
    assert metadata[:-6] == main[: len(metadata) - 6]
    assert f"mkdir -p {run}/metadata\n" in sbatch


def test_the_srun_command_is_the_jobs_last_srun_on_one_line(tmp_path: Path) -> None:
    # CloudAI's gen_srun_command (its full_cmd): the script's own last srun, the continuation
    # lines it writes (" \\" then "  " on the next line) joined by one space.
    for kw in ({}, {"metadata_script": True}):
        rendered = _rendered(tmp_path, **kw)
        sbatch = rendered[convert.SBATCH_FILE]
        block = sbatch[sbatch.rindex("\nsrun ") + 1 :].split("\nrc=$?")[0]
        assert block.count("\n") == block.count(" \\\n  ") > 3
        assert rendered[convert.SRUN_COMMAND] == block.replace(" \\\n  ", " ")
        srun = rendered[convert.SRUN_COMMAND]
        assert srun.startswith("srun --export=ALL ")
        assert srun.endswith(f"bash {tmp_path / 'run' / 'run.sh'}")
    assert "metadata" not in rendered[convert.SRUN_COMMAND]
    standalone = (ROOT / "conf" / "local" / "system" / "standalone.toml").read_text()
    assert _rendered(tmp_path, system_text=standalone)[convert.SRUN_COMMAND] is None
    convert.write_rendered(tmp_path / "w", rendered)
    assert not (tmp_path / "w" / convert.SRUN_COMMAND).exists()


def test_write_rendered_writes_every_text_and_an_executable_launch_script(tmp_path: Path) -> None:
    rendered = _rendered(tmp_path)
    sbatch = convert.write_rendered(tmp_path / "run", rendered)
    assert sbatch == tmp_path / "run" / "cloudai_sbatch_script.sh"
    names = {p.name for p in (tmp_path / "run").iterdir()}
    # The seed's files; not the node plan nor CloudAI's srun command.
    files = {"cloudai_sbatch_script.sh", "run.sh", "dynamo_config.yaml", "node_roles.txt"}
    assert names == files | {"test-run.json"}
    assert os.access(tmp_path / "run" / "run.sh", os.X_OK)
    assert sbatch.read_text() == rendered[convert.SBATCH_FILE]


# ---- metrics ---------------------------------------------------------------------------------


@pytest.fixture
def seed_run(tmp_path: Path) -> Path:
    (tmp_path / "profile_genai_perf.csv").write_text(SEED_CSV)
    return tmp_path


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("default", 261.25),
        ("output-token-throughput", 261.25),
        ("request-throughput", 1.5),
        ("time-to-first-token", 1146.31),
        ("time-to-second-token", 26.05),
        ("request-latency", 6406.2),
        ("inter-token-latency", 30.35),
        ("genai_perf:Time To First Token (ms):p50", 640.07),
        ("genai_perf:Request Latency (ms):max", 9608.72),
        ("Time To First Token (ms)", 1146.31),
        ("Request Count (count)", 40.0),
    ],
)
def test_metric_keys_read_the_seed_csv(seed_run: Path, key: str, expected: float) -> None:
    assert results.metric(seed_run, key) == pytest.approx(expected)


@pytest.mark.parametrize(
    "key", ["thruput", "genai_perf:No Such Metric:avg", "Time To First Token (ms):p50"]
)
def test_unknown_metrics_are_unavailable(seed_run: Path, key: str) -> None:
    assert results.metric(seed_run, key) is None


def test_metric_without_results_is_unavailable(tmp_path: Path) -> None:
    assert results.metric(tmp_path, "default") is None


def test_aiperf_spellings_match_the_same_keys(tmp_path: Path) -> None:
    (tmp_path / "profile_export_aiperf.csv").write_text(AIPERF_CSV)
    assert results.metric(tmp_path, "time-to-first-token") == pytest.approx(81.89)
    assert results.metric(tmp_path, "default") == pytest.approx(389.99)
    assert results.metric(tmp_path, "request-throughput") == pytest.approx(22.67)
    assert results.metric(tmp_path, "time-to-second-token") is None


def test_durations_in_other_units_are_reported_in_milliseconds(tmp_path: Path) -> None:
    (tmp_path / "profile_genai_perf.csv").write_text(
        "Metric,avg,p50\nTime To First Token (ns),2500000,N/A\nRequest Latency (s),1.5,1\n"
    )
    assert results.metric(tmp_path, "time-to-first-token") == pytest.approx(2.5)
    assert results.metric(tmp_path, "request-latency") == pytest.approx(1500.0)
    assert results.metric(tmp_path, "x:Time To First Token (ns):p50") is None  # N/A


def test_results_outside_warmup_and_shallower_win(tmp_path: Path) -> None:
    for sub, value in [("phases/warmup", "1"), ("phases/profiling", "2"), (".", "3")]:
        d = tmp_path / sub
        d.mkdir(parents=True, exist_ok=True)
        (d / "profile_export_aiperf.csv").write_text(
            f"Metric,Value\nRequest Throughput (per sec),{value}\n"
        )
    assert results.metric(tmp_path, "request-throughput") == 3.0
    (tmp_path / "profile_export_aiperf.csv").unlink()
    assert results.metric(tmp_path, "request-throughput") == 2.0


def test_metric_keys_contain_what_dse_may_ask_for() -> None:
    keys = results.MetricKeys()
    assert "default" in keys
    assert "time-to-first-token" in keys
    assert "genai_perf:Request Latency (ms):p99" in keys
    assert "Inter Token Latency (ms)" in keys
    assert "thruput" not in keys  # a typo in agent_metrics is refused before the sweep
    assert list(keys)[:2] == ["default", "output-token-throughput"]


# ---- report ----------------------------------------------------------------------------------


def test_report_is_the_embedded_engines_report(seed_run: Path) -> None:
    topology = {"num_nodes": 3, "prefill": 1, "decode": 1, "engine_nodes": 3}
    record = {"id": "t", "iteration": 0, "topology": topology}
    (seed_run / "test-run.json").write_text(json.dumps(record))
    path = results.write_report(seed_run, 8)
    assert path is not None
    lines = path.read_text().splitlines()
    assert lines[: len(SEED_CSV.splitlines())] == SEED_CSV.splitlines()
    # 261.25 tokens/s over the 3 engine nodes x 8 GPUs (the seed's frontend hosts a decode
    # engine), CloudAI 13816b1a's (1 + P + D) x gpus_per_node.
    assert lines[-2] == f"Overall Output Tokens per Second per GPU,{261.25 / 24!r}"
    assert lines[-1] == "GPUs Counted (count),24"


def test_report_without_results_is_not_written(tmp_path: Path) -> None:
    (tmp_path / "test-run.json").write_text(json.dumps({"id": "t", "iteration": 0}))
    assert results.write_report(tmp_path, 8) is None
    assert not (tmp_path / "report.csv").exists()


# ---- job status --------------------------------------------------------------------------------


def test_failure_marker_wins_and_says_who_died(seed_run: Path) -> None:
    (seed_run / "done.marker").touch()
    (seed_run / "failure.marker").write_text(
        "role=prefill node=gpu-007 process=dynamo exit=137\n...\nCUDA out of memory\n\n"
    )
    assert results.job_status(seed_run) == (
        False,
        "prefill worker on gpu-007 (process dynamo) exited with code 137: CUDA out of memory",
    )


def test_a_marker_in_another_format_is_shown_as_written(tmp_path: Path) -> None:
    (tmp_path / "failure.marker").write_text("something broke\n")
    assert results.job_status(tmp_path) == (False, "failure marker: something broke")


def test_success_needs_results_and_the_done_marker(seed_run: Path, tmp_path: Path) -> None:
    ok, why = results.job_status(seed_run)
    assert not ok
    assert "no done.marker" in why
    (seed_run / "done.marker").touch()
    assert results.job_status(seed_run) == (True, "")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "done.marker").touch()
    ok, why = results.job_status(empty)
    assert (ok, why) == (False, "no results file")


def test_job_status_agrees_with_the_embedded_runner(seed_run: Path, tmp_path: Path) -> None:
    """The plugin's verdict without a Slurm record is the runner's (runner.status.combine
    of a COMPLETED job): an empty export is no result, a run whose every request failed
    measured nothing."""
    (seed_run / "done.marker").touch()
    completed = JobInfo("COMPLETED", "0:0", 1)
    (seed_run / "profile_genai_perf.csv").write_text("")
    assert results.job_status(seed_run) == (False, "no results file")
    assert status.combine(seed_run, completed) == ("failed", "no results file")
    # aiperf 0.13's export of a run whose 10 requests all failed (no valid Request Count).
    text = (AIPERF_013 / "profile_export_aiperf.csv").read_bytes().decode()
    assert "\r\nRequest Count,40.00\r\n" in text
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / "done.marker").touch()
    (failed / "profile_export_aiperf.csv").write_text(
        text.replace("\r\nRequest Count,40.00\r\n", "\r\nError Request Count,10.00\r\n"),
        newline="",
    )
    cause = "all 10 requests failed (Error Request Count 10, no successful request)"
    assert results.job_status(failed) == (False, cause)
    assert status.combine(failed, completed) == ("failed", cause)


# ---- engine selection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--x", "1"], (None, ["run", "--x", "1"])),
        (["--engine", "embedded", "run"], ("embedded", ["run"])),
        (["run", "--engine=cloudai", "--y"], ("cloudai", ["run", "--y"])),
        (["--engine", "cloudai", "--engine", "embedded"], ("embedded", [])),
        (["run", "--", "--engine", "x"], (None, ["run", "--", "--engine", "x"])),
    ],
)
def test_split_engine_flag(argv: list[str], expected: tuple[str | None, list[str]]) -> None:
    assert engine.split_engine_flag(argv) == expected


def test_engine_flag_without_value_is_an_error() -> None:
    with pytest.raises(engine.EngineError, match="needs a value"):
        engine.split_engine_flag(["run", "--engine"])


@pytest.mark.parametrize(
    ("flag", "env", "available", "expected"),
    [
        (None, None, True, "cloudai"),
        (None, None, False, "embedded"),
        (None, "embedded", True, "embedded"),
        ("cloudai", "embedded", True, "cloudai"),
        ("embedded", "cloudai", False, "embedded"),
    ],
)
def test_choose_engine(flag: str | None, env: str | None, available: bool, expected: str) -> None:
    assert engine.choose_engine(flag, env, available) == expected


@pytest.mark.parametrize(
    ("flag", "env", "message"),
    [
        ("cloudai", None, "CloudAI is not importable"),
        (None, "cloudai", "CloudAI is not importable"),
        ("slurm", None, "--engine: unknown engine 'slurm'"),
        (None, "fast", "CLOUDAIX_ENGINE: unknown engine 'fast'"),
    ],
)
def test_choose_engine_refuses(flag: str | None, env: str | None, message: str) -> None:
    with pytest.raises(engine.EngineError, match=message):
        engine.choose_engine(flag, env, cloudai_available=False)


def test_main_runs_the_embedded_cli_and_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(engine.ENV_VAR, raising=False)
    rc = engine.main(
        ["verify-configs", "--engine", "embedded", "--skip-host-checks", str(SEED_CONF)]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    assert err.splitlines()[0] == "cloudaix: engine=embedded"
    assert "oci.toml" in out  # the embedded verify-configs listed the files


def test_main_takes_the_engine_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(engine.ENV_VAR, "embedded")
    rc = engine.main(["verify-configs", "--skip-host-checks", str(SEED_CONF / "system")])
    assert rc == 0
    assert capsys.readouterr().err.startswith("cloudaix: engine=embedded\n")


def test_main_refuses_cloudai_when_it_is_missing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "cloudai_importable", lambda: False)
    assert engine.main(["--engine", "cloudai", "run"]) == 2
    assert "CloudAI is not importable" in capsys.readouterr().err


# ---- the embedded engine's outputs from CloudAI's report step --------------------------------


def _cloudai_run(tmp_path: Path, step: int | None = None) -> Path:
    """A run directory as CloudAI leaves it: our scripts and record, its slurm-job.toml."""
    results_dir = tmp_path / "scenario_2026"
    run_dir = results_dir / "Tests.1" / "0" / (str(step) if step else "")
    rendered = cdr.render_one(
        SEED_SYSTEM.read_text(),
        (SEED_CONF / "test" / "llama3.1_405b_fp8.toml").read_text(),
        run_dir=run_dir,
        install_dir=tmp_path / "install",
        id="Tests.1",
        step=step,
        num_nodes=2,
    )
    convert.write_rendered(run_dir, rendered)
    (run_dir / "slurm-job.toml").write_text(
        'job_id = 42\nname = "x"\nstate = "COMPLETED"\nexit_code = "0:0"\nelapsed_time_sec = 38\n'
    )
    return run_dir


def test_cloudai_runs_get_status_summary_and_report(tmp_path: Path) -> None:
    run_dir = _cloudai_run(tmp_path, step=1)
    (run_dir / "profile_genai_perf.csv").write_text(SEED_CSV)
    (run_dir / "done.marker").touch()
    # CloudAI's DSE trajectory: CloudAI's own file, which our report must leave alone.
    trajectory = run_dir.parent / "trajectory.csv"
    trajectory.write_text("step,action,reward,observation\n1,{},0.1,[261.25]\n")
    before = trajectory.read_text()
    assert results.finished(run_dir) == (True, "")
    paths = results.write_outputs(run_dir, 8)
    assert paths is not None
    status = json.loads((run_dir / "status.json").read_text())
    assert {k: status[k] for k in ("key", "job_id", "slurm_state", "status", "elapsed")} == {
        "key": "Tests.1/0/1",
        "job_id": "42",
        "slurm_state": "COMPLETED",
        "status": "completed",
        "elapsed": 38.0,
    }
    results_dir = tmp_path / "scenario_2026"
    assert paths.summary == results_dir / "summary.csv"
    summary = paths.summary.read_text().splitlines()
    assert len(summary) == 2 and ",completed," in summary[1] and ",261.25," in summary[1]
    assert (results_dir / "report.html").is_file()
    assert (results_dir / "Tests.1" / "report.html").is_file()
    assert (run_dir / "report.csv").is_file()
    assert trajectory.read_text() == before


def test_a_failed_cloudai_run_says_why_in_status_and_summary(tmp_path: Path) -> None:
    run_dir = _cloudai_run(tmp_path)
    (run_dir / "failure.marker").write_text("role=decode node=2 process=decode exit=137\nkilled\n")
    cause = "decode worker on 2 (process decode) exited with code 137: killed"
    assert results.finished(run_dir) == (False, cause)
    results.write_outputs(run_dir, 8)
    status = json.loads((run_dir / "status.json").read_text())
    assert (status["status"], status["cause"]) == ("failed", cause)
    summary = (tmp_path / "scenario_2026" / "summary.csv").read_text()
    assert f",failed,{cause}," in summary


def test_without_cloudais_job_record_no_status_is_invented(tmp_path: Path) -> None:
    run_dir = _cloudai_run(tmp_path)
    (run_dir / "slurm-job.toml").unlink()
    assert results.write_run_status(run_dir) is None
    assert not (run_dir / "status.json").exists()
    assert results.finished(run_dir)[0] is False  # markers only: no results, no done.marker
