"""`cloudaix rehearse`: the seed's own files (a 405B model on an 8-GPU Slurm cluster) rehearsed on
Dynamo's mocker on this machine, and a broken copy whose cause is named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudai_dynamo_rs import _core
from cloudai_dynamo_rs.rehearse import verdict
from cloudai_dynamo_rs.runner import RunOutcome

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "conf" / "staging" / "ai_dynamo"
LOCAL = ROOT / "conf" / "local"
STACK = Path("/opt/cloudaix-stack")

needs_stack = pytest.mark.skipif(
    not (STACK / "bin" / "dynamo-python").exists(),
    reason="Python stack not set up (.ci/cluster/pystack)",
)


def rehearse(
    tests: Path,
    out: Path,
    *extra: str,
    conf: Path = SEED,
    system: str = "oci",
    scenario: str = "ai_dynamo",
) -> subprocess.CompletedProcess:
    """``cloudaix rehearse`` of ``tests`` with the system and scenario of ``conf`` (the seed's)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudai_dynamo_rs.cli",
            "rehearse",
            "--system-config",
            str(conf / "system" / f"{system}.toml"),
            "--tests-dir",
            str(tests),
            "--test-scenario",
            str(conf / "test_scenario" / f"{scenario}.toml"),
            "--output-dir",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )


def seed_prepared(tmp_path: Path, tests: Path = SEED / "test", **kw) -> dict:
    return _core.prepare_rehearsal(
        SEED / "system" / "oci.toml",
        sorted(tests.glob("*.toml")),
        SEED / "test_scenario" / "ai_dynamo.toml",
        timestamp="t",
        output_root=tmp_path,
        **kw,
    )


def test_the_seed_is_rewritten_for_the_mocker_with_its_own_roles_and_flags(tmp_path: Path) -> None:
    prepared = seed_prepared(tmp_path)
    (run,) = prepared["runs"]
    run_dir = Path(run["run_dir"])
    assert run_dir.parent.parent.name == "rehearse_ai_dynamo_t"
    assert Path(run["sbatch"]).name == "standalone_job.sh"  # this machine, not Slurm
    launch = (run_dir / "run.sh").read_text()
    # The seed: 1 prefill node, 0 decode nodes, the default frontend command (whose graph hosts
    # the decode engine): a prefill mocker, and a decode mocker next to the real frontend.
    assert "NUM_PREFILL=1\nNUM_DECODE=0\n" in launch
    assert "--disaggregation-mode prefill" in launch
    assert "-m dynamo.frontend" in launch and "--disaggregation-mode decode" in launch
    # The user's flags, the local tokenizer, the capped request count.
    for words in [
        "-m\n    nvidia/Llama-3.1-405B-Instruct-FP8",
        "--endpoint\n    v1/chat/completions",
        "--endpoint-type\n    chat",
        f"--tokenizer\n    {STACK}/tiny-model",
        "--request-count\n    10",
    ]:
        assert words in launch, words
    record = json.loads((run_dir / "test-run.json").read_text())
    assert record["time_limit"] == "00:10:00"  # the seed's 01:00:00, capped
    assert record["test"]["cmd_args"]["sleep_seconds"] == 180  # the seed's default 660, capped
    job = (run_dir / "standalone_job.sh").read_text()
    assert f"export HF_HOME={STACK}/tiny-model" in job
    assert "export NCCL_IB_GID_INDEX=3" in job  # the user's system environment stays


def test_sample_keeps_evenly_spread_cases(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    text = (SEED / "test" / "llama3.1_405b_fp8.toml").read_text()
    (tests / "t.toml").write_text(
        text.replace("streaming = true", "streaming = true\nconcurrency = [1, 2, 4, 8]")
    )
    prepared = seed_prepared(tmp_path / "out", tests, sample=2)
    assert [r["params"] for r in prepared["runs"]] == [
        {"genai_perf.concurrency": 1},
        {"genai_perf.concurrency": 8},
    ]


@needs_stack
def test_rehearsing_the_seed_trio_passes(tmp_path: Path) -> None:
    proc = rehearse(SEED / "test", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Tests.1/0: would run\n1/1 case(s) would run\n" in proc.stdout


@needs_stack
def test_a_broken_endpoint_is_named_with_the_load_generators_404(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    text = (SEED / "test" / "llama3.1_405b_fp8.toml").read_text()
    assert 'endpoint = "v1/chat/completions"' in text
    (tests / "t.toml").write_text(text.replace("v1/chat/completions", "v1/chat/completion"))
    proc = rehearse(tests, tmp_path / "out")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        "Tests.1/0: would fail: cmd_args.genai_perf.endpoint = 'v1/chat/completion' -> the load "
        "generator got HTTP 404: the frontend has no such route (it serves v1/chat/completions "
        "and v1/completions)\n0/1 case(s) would run\n"
    ) in proc.stdout


AIPERF_DATA = ROOT / "tests" / "data" / "rehearse"


def failed_aiperf_run(run_dir: Path, endpoint: str) -> RunOutcome:
    """A run directory of an aiperf test that failed as aiperf fails: the record of the test
    with its endpoint, the cause the runner found (the frontend node's last line)."""
    record = {"test": {"cmd_args": {"aiperf": {"endpoint": endpoint, "concurrency": 4}}}}
    (run_dir / "test-run.json").write_text(json.dumps(record))
    cause = "frontend on node 0 (host vm, process aiperf) exited with code 1: ╰────╯"
    return RunOutcome("1p1d/0", "7", "FAILED", "failed", cause, 11.0)


def test_aiperfs_404_is_named_by_the_endpoint_field(tmp_path: Path) -> None:
    # aiperf prints no status, only its per-request records hold it (aiperf 0.13's own file).
    outcome = failed_aiperf_run(tmp_path, "/v1/chat/completion")
    (tmp_path / "stdout.txt").write_text(
        "ERROR    All 10 inference request(s) failed; no successful responses were collected.\n"
    )
    assert verdict(outcome, tmp_path) == f"would fail: {outcome.cause}"  # no records yet
    (tmp_path / "aiperf").mkdir()
    (tmp_path / "aiperf" / "profile_export.jsonl").write_bytes(
        (AIPERF_DATA / "aiperf-0.13-404.jsonl").read_bytes()
    )
    assert verdict(outcome, tmp_path) == (
        "would fail: cmd_args.aiperf.endpoint = '/v1/chat/completion' -> the load generator got "
        "HTTP 404: the frontend has no such route (it serves v1/chat/completions and "
        "v1/completions)"
    )


def test_the_core_reads_aiperfs_status_and_the_records_endpoint(tmp_path: Path) -> None:
    # The per-request records' names and the record's sections are the core's rules: it finds
    # aiperf 0.13's own file deep under the run, passes over a FIFO of the same name (never
    # blocking) and a crashed writer's ``.partial``, and reads the endpoint from test-run.json.
    failed_aiperf_run(tmp_path, "/v1/chat/completion")
    assert _core.rehearsal_evidence(tmp_path) == {
        "section": "aiperf",
        "endpoint": "/v1/chat/completion",
        "http_status": None,
        "refusal": None,
    }
    os.mkfifo(tmp_path / "profile_export.jsonl")
    deep = tmp_path / "artifacts" / "tiny-openai-chat-concurrency4"
    deep.mkdir(parents=True)
    (deep / "profile_export.jsonl.partial").write_text('{"error": {"code": 400}}\n')
    records = (AIPERF_DATA / "aiperf-0.13-404.jsonl").read_text()
    assert '"code":404' in records.replace(" ", "")
    (deep / "profile_export.jsonl").write_text(records)
    assert _core.rehearsal_evidence(tmp_path)["http_status"] == 404
    (tmp_path / "test-run.json").unlink()
    assert _core.rehearsal_evidence(tmp_path) == {
        "section": None,
        "endpoint": None,
        "http_status": 404,
        "refusal": None,
    }


def test_perf_analyzers_404_in_the_log_is_named_by_the_endpoint_field(tmp_path: Path) -> None:
    # genai-perf's perf_analyzer prints the status (its binary's "OpenAI response returns HTTP
    # code "); the core reads it from the job's log, before any records, past a long log's head.
    record = {"test": {"cmd_args": {"genai_perf": {"endpoint": "v1/chat/completion"}}}}
    (tmp_path / "test-run.json").write_text(json.dumps(record))
    outcome = RunOutcome("1p1d/0", "7", "FAILED", "failed", "genai-perf exited with 1", 1.0)
    line = "Thread [0] had error: OpenAI response returns HTTP code 404\n"
    (tmp_path / "stdout.txt").write_text("x" * (3 << 20) + "\n" + line)
    assert _core.rehearsal_evidence(tmp_path)["http_status"] == 404
    assert verdict(outcome, tmp_path) == (
        "would fail: cmd_args.genai_perf.endpoint = 'v1/chat/completion' -> the load generator "
        "got HTTP 404: the frontend has no such route (it serves v1/chat/completions and "
        "v1/completions)"
    )


def test_aiperfs_missing_slash_is_named_by_the_endpoint_field(tmp_path: Path) -> None:
    outcome = failed_aiperf_run(tmp_path, "v1/chat/completions")
    (tmp_path / "stderr.txt").write_text((AIPERF_DATA / "aiperf-0.13-no-slash.txt").read_text())
    assert verdict(outcome, tmp_path) == (
        "would fail: cmd_args.aiperf.endpoint = 'v1/chat/completions' -> aiperf refused it: "
        "endpoint.path must start with a leading slash"
    )


@needs_stack
def test_rehearsing_aiperf_with_a_broken_endpoint_names_it(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    text = (LOCAL / "test" / "mocker_aiperf.toml").read_text()
    assert '  endpoint_type = "chat"\n' in text and "endpoint =" not in text
    broken = text.replace('endpoint_type = "chat"', 'endpoint_type = "chat"\nendpoint = "/v1/chat"')
    (tests / "t.toml").write_text(broken)
    proc = rehearse(
        tests, tmp_path / "out", conf=LOCAL, system="standalone", scenario="mocker_aiperf"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        "1p1d/0: would fail: cmd_args.aiperf.endpoint = '/v1/chat' -> the load generator got "
        "HTTP 404: the frontend has no such route (it serves v1/chat/completions and "
        "v1/completions)\n0/1 case(s) would run\n"
    ) in proc.stdout


def test_an_invalid_test_file_is_reported_before_anything_runs(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    text = (SEED / "test" / "llama3.1_405b_fp8.toml").read_text()
    (tests / "t.toml").write_text(text.replace("num_nodes = 1", 'num_nodes = "one"'))
    proc = rehearse(tests, tmp_path / "out")
    assert proc.returncode == 1
    assert (
        "cmd_args.dynamo.prefill_worker.num_nodes: expected a non-negative integer" in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_rehearse_is_ours_whatever_the_engine(tmp_path: Path, how: str) -> None:
    # CloudAI has no `rehearse`: asking for the CloudAI engine still gets the embedded one
    # (before: CloudAI's CLI, or "CloudAI is not importable"). An invalid test file shows that
    # the rehearsal itself ran: the core's positioned error, nothing written.
    tests = tmp_path / "tests"
    tests.mkdir()
    text = (SEED / "test" / "llama3.1_405b_fp8.toml").read_text()
    (tests / "t.toml").write_text(text.replace("num_nodes = 1", 'num_nodes = "one"'))
    engine = ["--engine", "cloudai"] if how == "flag" else []
    env = {**os.environ, "CLOUDAIX_ENGINE": "cloudai"} if how == "environment" else None
    files = [
        *("--system-config", str(SEED / "system" / "oci.toml"), "--tests-dir", str(tests)),
        *("--test-scenario", str(SEED / "test_scenario" / "ai_dynamo.toml")),
        *("--output-dir", str(tmp_path / "out")),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "cloudai_dynamo_rs.engine", *engine, "rehearse", *files],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("cloudaix: engine=embedded\n")
    line = text.splitlines().index(next(x for x in text.splitlines() if "num_nodes = 1" in x))
    assert f"t.toml:{line + 1}:" in proc.stderr
    assert "prefill_worker.num_nodes: expected a non-negative integer" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(
    not Path("/run/cloudaix-cluster/bin/sbatch").exists() or not STACK.exists(),
    reason="local Slurm cluster or Python stack not set up (.ci/cluster/up, .ci/cluster/pystack)",
)
def test_the_seed_trio_rehearses_on_the_local_slurm_cluster_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"/run/cloudaix-cluster/bin:{os.environ['PATH']}")
    on = ROOT / "conf" / "local" / "system" / "baremetal.toml"
    proc = rehearse(SEED / "test", tmp_path, "--on", str(on))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Tests.1/0: would run\n" in proc.stdout
    (run_dir,) = list(tmp_path.glob("rehearse_ai_dynamo_*/Tests.1/0"))
    assert (run_dir / "cloudai_sbatch_script.sh").is_file()  # submitted with sbatch
    assert json.loads((run_dir / "status.json").read_text())["slurm_state"] == "COMPLETED"
