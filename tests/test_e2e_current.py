"""End to end with CloudAI main's schema on the local Slurm cluster (Dynamo's mocker backend):
disaggregated and shared-node runs with two aiperf phases and one with genai-perf complete and
their figures are read back; a worker that never logs its initialized line fails the run at the
readiness bound, and the cause says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from conftest import wait_for  # noqa: F401  (the e2e module's fixtures live there)
from test_current_schema import shipped  # noqa: F401  (CloudAI main's files, extracted)
from test_e2e import LOCAL, env, pytestmark, run, run_dirs, summary_rows  # noqa: F401
from test_quoting import free_port
from test_report_phases import text_cell

from cloudai_dynamo_rs import _core


def run_on_cluster(tests: Path, scenario: Path, out: Path, timeout: float) -> CompletedProcess[str]:
    """`cloudaix run` of a tests directory of one's own on the local cluster (bare metal)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudai_dynamo_rs.cli",
            "run",
            "--system-config",
            str(LOCAL / "system" / "baremetal.toml"),
            "--tests-dir",
            str(tests),
            "--test-scenario",
            str(scenario),
            "--output-dir",
            str(out),
        ],
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_current_schema_scenario_completes_with_figures(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run("baremetal.toml", LOCAL / "test_scenario" / "current_mocker.toml", out, 420)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (results,) = out.iterdir()
    by_id = {d.parent.name: d for d in run_dirs(out)}
    assert sorted(by_id) == ["disagg", "genai-perf", "shared-node"]
    for d in by_id.values():
        assert json.loads((d / "status.json").read_text())["status"] == "completed"
        assert (d / "success-marker.txt").is_file()
    for phase in ("round_1", "round_2"):
        for rid in ("disagg", "shared-node"):
            report = by_id[rid] / f"aiperf_{phase}_report.csv"
            assert report.read_text().startswith("Metric,"), report
    assert (by_id["genai-perf"] / "genai_perf_report.csv").stat().st_size > 0
    # Prefill and decode shared one node in the shared-node run.
    assert (by_id["shared-node"] / "node_roles.log").read_text().split()[
        2
    ] == "frontend+decode+prefill"
    rows = summary_rows(results)
    # One row per aiperf phase of the two aiperf runs, one for the genai-perf run.
    assert [(r["test_id"], r["phase"]) for r in rows] == [
        ("disagg", "round_1"),
        ("disagg", "round_2"),
        ("shared-node", "round_1"),
        ("shared-node", "round_2"),
        ("genai-perf", "genai_perf"),
    ]
    assert all(r["status"] == "completed" for r in rows), rows
    gpus = {"disagg": 16, "shared-node": 8, "genai-perf": 16}  # engine nodes x 8 GPUs
    concurrency = {"round_1": 2, "round_2": 4, "genai_perf": 2}  # current_mocker.toml
    for r in rows:
        d = by_id[r["test_id"]]
        report = (
            d / f"{r['phase']}_report.csv"
            if r["phase"] == "genai_perf"
            else (d / f"aiperf_{r['phase']}_report.csv")
        )
        assert r["results_file"] == str(report.relative_to(results))
        throughput = text_cell(report, "Output Token Throughput (tokens/sec)")
        assert float(r["output_tokens_per_s"]) == throughput > 0
        count = "Request Count (count)" if r["phase"] == "genai_perf" else "Request Count"
        assert float(r["request_count"]) == text_cell(report, count) == 20
        assert int(r["gpus"]) == gpus[r["test_id"]]
        assert float(r["output_tokens_per_s_per_gpu"]) == pytest.approx(
            throughput / gpus[r["test_id"]]
        )
        assert float(r["concurrency"]) == concurrency[r["phase"]]
        if r["phase"] != "genai_perf":
            # The phase's report is aiperf's top-level export of that phase, not its warmup.
            artifacts = d / "aiperf_artifacts" / r["phase"]
            assert report.read_bytes() == (artifacts / "profile_export_aiperf.csv").read_bytes()
    for rid in ("disagg", "shared-node"):
        d = by_id[rid]
        # As in CloudAI, the last phase is also aiperf_report.csv, which get_metric reads.
        last = d / "aiperf_round_2_report.csv"
        assert (d / "aiperf_report.csv").read_bytes() == last.read_bytes()
        key = "Output Token Throughput (tokens/sec)"
        assert _core.cloudai_metric(d, key) == text_cell(last, key)
        first = d / "aiperf_round_1_report.csv"
        ttft = text_cell(first, "Time to First Token (ms)", "p99")
        assert _core.cloudai_metric(d, "aiperf_round_1:Time to First Token (ms):p99") == ttft
        # report.csv: the last phase's export, then the per-phase table.
        assert (d / "report.csv").read_bytes().startswith(last.read_bytes())
    html = (results / "report.html").read_text()
    assert "<td>round_1</td>" in html and "<td>round_2</td>" in html


def test_worker_never_initialized_fails_at_the_bound(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    text = (LOCAL / "test" / "current_mocker.toml").read_text()
    text = text.replace("[extra_env_vars]\n", '[extra_env_vars]\nCLOUDAIX_READY_TIMEOUT = "20"\n')
    text = text.replace(
        '--disaggregation-mode decode"\n',
        '--disaggregation-mode decode"\n    worker-initialized-regex = "this line never appears"\n',
    )
    (tests / "t.toml").write_text(text)
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "bad"\n[[Tests]]\nid = "never-ready"\ntest_name = "current_mocker"\n'
        'time_limit = "00:05:00"\n'
    )
    out = tmp_path / "out"
    proc = run_on_cluster(tests, scenario, out, 300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (d,) = run_dirs(out)
    st = json.loads((d / "status.json").read_text())
    assert st["status"] == "failed"
    assert "process readiness" in st["cause"]
    assert "not ready after 20s" in st["cause"]
    assert (
        "decode workers initialized 0/1 (worker-initialized-regex 'this line never appears')"
        in (st["cause"])
    )


# A stand-in for dcgm-exporter on the nodes (they have no GPU): serves /metrics on
# $DCGM_EXPORTER_LISTEN until the job stops it.
FAKE_EXPORTER = """#!/usr/bin/env python3
import http.server, os, socket
port = int(os.environ["DCGM_EXPORTER_LISTEN"].rsplit(":", 1)[1])
pid_file = os.path.join(os.path.dirname(__file__), f"exporter.{socket.gethostname()}.pid")
with open(pid_file, "w") as f:
    f.write(str(os.getpid()))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/metrics" else 404)
        self.end_headers()
        self.wfile.write(b"DCGM_FI_DEV_GPU_UTIL 0\\n")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", port), H).serve_forever()
"""


def test_startup_cmd_and_dcgm_exporter_on_the_cluster(tmp_path: Path) -> None:
    """startup_cmd runs on both nodes first and its manifest rewrites a file per node; the
    DCGM exporter answers on both nodes for the whole job and is gone after it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dcgm-exporter").write_text(FAKE_EXPORTER)
    (bin_dir / "dcgm-exporter").chmod(0o755)
    (tmp_path / "probe.conf").write_text("host = @HOST@\n")
    port = free_port()
    manifest = 'printf \'{"PROBE_FILE": {"@HOST@": "%s"}}\' "$(hostname)" > "$CLOUDAI_RUNTIME_FILE"'
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "aux"\n[[Tests]]\nid = "aux"\ntest_name = "current_mocker"\n'
        'time_limit = "00:05:00"\n'
        f"  [Tests.cmd_args]\n  startup_cmd = {json.dumps(manifest)}\n"
        f"    [Tests.cmd_args.dynamo.dcgm_exporter]\n    enabled = true\n    port = {port}\n"
        "  [Tests.extra_env_vars]\n"
        f'  PATH = "{bin_dir}:$PATH"\n  PROBE_FILE = "{tmp_path}/probe.conf"\n'
    )
    out = tmp_path / "out"
    proc = run("baremetal.toml", scenario, out, 300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (d,) = run_dirs(out)
    assert json.loads((d / "status.json").read_text())["status"] == "completed"
    hosts = (d / "node_roles.log").read_text().split()[1::3]
    assert sorted(hosts) == ["node1", "node2"]
    for host in hosts:
        assert (d / "runtime" / f"probe.{host}.conf").read_text() == f"host = {host}\n"
    stdout = (d / "stdout.txt").read_text()
    for host in hosts:
        assert f"DCGM exporter reachable: http://{host}:{port}/metrics" in stdout
    # The exporter step ended with the job: no exporter process is left.
    for host in hosts:
        pid = int((bin_dir / f"exporter.{host}.pid").read_text())
        assert not Path(f"/proc/{pid}").exists(), host


def test_cloudai_mains_own_vllm_test_runs_with_scenario_overrides(
    shipped: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """CloudAI main's conf/experimental/ai_dynamo/test/vllm.toml, unchanged, on the local
    cluster: the scenario's overrides swap in the mocker engine and what the cluster lacks."""
    out = tmp_path / "out"
    proc = run_on_cluster(
        shipped / "test", LOCAL / "test_scenario" / "cloudai_main_vllm.toml", out, 600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (results,) = out.iterdir()
    (d,) = run_dirs(out)
    assert json.loads((d / "status.json").read_text())["status"] == "completed"
    # The file's own job: its model, its two aiperf phases, its accuracy run.
    record = json.loads((d / "test-run.json").read_text())
    assert record["test_name"] == "vLLM"
    for phase in ("round_1", "round_2"):
        assert (d / f"aiperf_{phase}_report.csv").read_text().startswith("Metric,")
    assert (d / "accuracy_results.csv").read_text().startswith("Task,Correct,Total,Accuracy")
    assert "--model-name Qwen/Qwen3-0.6B" in (d / "run.sh").read_text()
    # The file's LMCache controller is not installed here: logged, and (as in CloudAI main)
    # not the job's end.
    assert "command not found" in (d / "logs" / "lmcache_controller.log").read_text()
    # One summary row per aiperf phase, at the file's concurrencies, with the accuracy run's
    # figure (the stand-in's OVERALL 75.00%).
    rows = summary_rows(results)
    assert [(r["phase"], r["concurrency"]) for r in rows] == [("round_1", "2"), ("round_2", "4")]
    assert all(float(r["output_tokens_per_s"]) > 0 for r in rows)
    assert {r["accuracy"] for r in rows} == {"0.75"}
