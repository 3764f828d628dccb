"""Results API from Python (get_metric & co.) and the report: report.csv, summary.csv,
trajectory.csv and report.html over real genai-perf/aiperf exports copied into run dirs."""

from __future__ import annotations

import argparse
import base64
import csv
import errno
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs import _core
from cloudai_dynamo_rs.report import generate, generate_report
from cloudai_dynamo_rs.report.cli import cmd_generate_report
from cloudai_dynamo_rs.report.plots import pareto_front
from cloudai_dynamo_rs.runner import status as status_mod
from cloudai_dynamo_rs.runner.models import JobInfo

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "results"
SEED_CONF = ROOT / "conf" / "staging" / "ai_dynamo"
SEED_CSV = CORPUS / "cloudai-doc-genai-perf" / "profile_genai_perf.csv"
GP16 = CORPUS / "genai-perf-0.0.16"
GP_C2 = (
    GP16
    / "dynamo-mocker-1p1d-stream-c2/tiny-openai-chat-concurrency2/profile_export_genai_perf.csv"
)
GP_C4 = (
    GP16
    / "dynamo-mocker-2p1d-stream-c4/tiny-openai-chat-concurrency4/profile_export_genai_perf.csv"
)
AIPERF_STREAM = CORPUS / "aiperf-0.13.0" / "dynamo-mocker-1p1d-stream-c4"
AIPERF_NOSTREAM = CORPUS / "aiperf-0.13.0/dynamo-mocker-1p1d-nostream-c4/profile_export_aiperf.csv"
TRITON_NS = CORPUS / "triton-client-genai-perf-0.0.2dev" / "profile_export_genai_perf.csv"
GPUS_PER_NODE = 8


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# -- results API ---------------------------------------------------------------------------


def test_every_corpus_file_reads() -> None:
    files = corpus_files()
    assert len(files) == 30
    for f in files:
        results = cdr.read_results(f)
        assert results["source"] == str(f)
        assert results["tool"] in ("genai_perf", "aiperf")
        assert any(t["metrics"] for t in results["tables"]), f


def test_every_corpus_export_has_throughput_and_ttft_in_ms() -> None:
    exports = [Path(e["path"]) for e in cdr.find_result_files(CORPUS)]
    # Every file but aiperf's server-metrics export and genai-perf's analyze sweep.
    assert len(exports) == 28
    for f in exports:
        assert cdr.get_metric(f, "default") > 0, f
        # Streaming exports have TTFT; keys report both durations in ms whatever the file's
        # unit, so the first token never comes after the whole response.
        try:
            ttft = cdr.get_metric(f, "time-to-first-token")
        except cdr.MetricNotFoundError:
            continue
        assert 0 < ttft <= cdr.get_metric(f, "request-latency"), f


@pytest.mark.parametrize(
    ("metric", "stat", "expected"),
    [
        ("default", None, 261.25),  # `Output Token Throughput (per sec)`: CloudAI gave -1
        ("output-token-throughput", None, 261.25),
        ("request-throughput", None, 1.5),
        ("time-to-first-token", None, 1146.31),  # quoted "1,146.31"
        ("time-to-first-token", "max", 3485.23),
        ("time-to-second-token", "p25", 1.78),
        ("request-latency", "p99", 9436.13),
        ("inter-token-latency", None, 30.35),
        ("Time To First Token (ms)", "p50", 640.07),  # exact label
        ("time_to_first_token", "p50", 640.07),  # name, ignoring case/separators/unit
        ("Request Count (count)", "Value", 40.0),
    ],
)
def test_metric_key_mapping(metric: str, stat: str | None, expected: float) -> None:
    assert cdr.get_metric(SEED_CSV, metric, stat) == expected


def test_keys_convert_nanoseconds_to_ms() -> None:
    # genai-perf 0.0.2dev wrote `(ns)` columns; the label lookup keeps the file's unit.
    assert cdr.get_metric(TRITON_NS, "time-to-first-token") == pytest.approx(5.964158)
    assert cdr.get_metric(TRITON_NS, "Time To First Token", "avg") == 5964158.0


def test_json_numbers_are_exact() -> None:
    json_file = AIPERF_STREAM / "profile_export_aiperf.json"
    written = json.loads(json_file.read_text())["output_token_throughput"]["avg"]
    assert cdr.get_metric(json_file, "default") == written  # float_roundtrip: bit-exact


def test_run_dir_uses_top_level_export_not_warmup() -> None:
    assert cdr.get_metric(AIPERF_STREAM, "default") == 389.99
    warmup = AIPERF_STREAM / "phases" / "warmup" / "profile_export_aiperf.csv"
    assert cdr.get_metric(warmup, "default") == 171.19
    found = cdr.find_result_files(AIPERF_STREAM)
    assert found[0] == {
        "path": str(AIPERF_STREAM / "profile_export_aiperf.csv"),
        "tool": "aiperf",
        "format": "csv",
    }
    assert "warmup" in found[-1]["path"]


def test_missing_metric_and_stat() -> None:
    with pytest.raises(cdr.MetricNotFoundError, match="metric `nope` not found"):
        cdr.get_metric(SEED_CSV, "nope")
    with pytest.raises(cdr.MetricNotFoundError, match="available: avg, min, max, p99"):
        cdr.get_metric(SEED_CSV, "time-to-first-token", "p42")
    assert issubclass(cdr.MetricNotFoundError, cdr.ResultsError)
    assert issubclass(cdr.ResultsError, ValueError)


@pytest.mark.parametrize(
    ("content", "line", "column", "what"),
    [
        (b"Metric,avg,p99\nTime To First Token (ms),1,x\n", 2, 28, "is not a number"),
        (b"Metric,avg,p99\r\nA (ms),1,2,3\r\n", 2, 12, "row has 4 cells"),
        (b'Metric,avg\nA (ms),"1.0\n', 2, 8, "never closed"),
        (b"Metric,avg\r\nTime To First Token (ms),1\xff2\r\n", 2, 27, "invalid UTF-8"),
        (b"Metric,Value\r\nOutput Token Throughput (tokens/sec),1,742.35\r\n", 2, 40, "row has 3"),
        (b"\r\n\r\n", 1, 1, "file is empty"),
        (b"Foo,Bar,Baz\n1,2,3\n", 1, 1, "unrecognised table header"),
    ],
)
def test_malformed_csv_names_file_line_column(
    tmp_path: Path, content: bytes, line: int, column: int, what: str
) -> None:
    bad = tmp_path / "profile_genai_perf.csv"
    bad.write_bytes(content)
    with pytest.raises(cdr.ResultsError) as info:
        cdr.get_metric(bad, "default")
    err = info.value
    assert str(err).startswith(f"{bad}:{line}:{column}: ")
    assert what in str(err)
    assert (err.path, err.line, err.column) == (str(bad), line, column)
    assert not isinstance(err, cdr.MetricNotFoundError)


def test_malformed_json_names_position(tmp_path: Path) -> None:
    bad = tmp_path / "profile_export_aiperf.json"
    bad.write_text('{"output_token_throughput": {"unit": "tokens/sec", "avg": }}')
    with pytest.raises(cdr.ResultsError, match=rf"^{re.escape(str(bad))}:1:\d+: invalid JSON"):
        cdr.read_results(bad)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        cdr.get_metric(tmp_path / "none.csv", "default")
    assert info.value.filename == str(tmp_path / "none.csv")
    with pytest.raises(FileNotFoundError, match="no genai-perf/aiperf results file"):
        cdr.get_metric(tmp_path, "default")  # a run dir without exports


def test_read_metrics_many(tmp_path: Path) -> None:
    rows = cdr.read_metrics_many(
        [SEED_CSV, AIPERF_NOSTREAM], ["default", ("time-to-first-token", "p99"), "nope"]
    )
    # The non-streaming run has no TTFT: None, not an exception.
    assert rows == [[261.25, 3457.97, None], [391.03, None, None]]
    bad = tmp_path / "x.csv"
    bad.write_text("Metric,avg\nA,oops\n")
    with pytest.raises(cdr.ResultsError, match=rf"^{re.escape(str(bad))}:2:3:"):
        cdr.read_metrics_many([SEED_CSV, bad], ["default"])


def test_read_metrics_many_threads_keep_order_and_first_error(tmp_path: Path) -> None:
    sources = [SEED_CSV, GP_C2, AIPERF_NOSTREAM, TRITON_NS]
    paths = []
    for i in range(64):  # enough files for the batch to be split across threads
        dst = tmp_path / f"{i:02d}.csv"
        shutil.copy(sources[i % 4], dst)
        paths.append(dst)
    keys = ["default", ("request-latency", "p99")]
    serial = cdr.read_metrics_many(paths, keys, threads=1)
    assert cdr.read_metrics_many(paths, keys, threads=4) == serial
    # The default metric of each source, from the export's own text (not another reader).
    assert [row[0] for row in serial[:4]] == [output_throughput_in_text(s) for s in sources]
    for i in (50, 40):
        paths[i].write_text("Metric,avg\nA,oops\n")
    with pytest.raises(cdr.ResultsError, match=rf"^{re.escape(str(paths[40]))}:"):
        cdr.read_metrics_many(paths, keys, threads=4)


# -- report --------------------------------------------------------------------------------


SWEEP_TEST = """
  concurrency = [1, 4]
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A dry-run tree: Tests.1 = the seed (1 prefill, 0 decode), Tests.2 = a 2 x 2 sweep over
    decode nodes and concurrency, 2 iterations; each run gets a real export."""
    hf = tmp_path / "hf"
    hf.mkdir()
    tests = tmp_path / "tests"
    tests.mkdir()
    seed = (SEED_CONF / "test" / "llama3.1_405b_fp8.toml").read_text()
    seed = seed.replace("/your/path/to/hf_home", str(hf))
    (tests / "seed.toml").write_text(seed)
    sweep = seed.replace('name = "llama3.1_405b_fp8"', 'name = "sweep"', 1)
    sweep = sweep.replace("streaming = true", "streaming = true\n  concurrency = [1, 4]")
    sweep = sweep.replace(
        "[cmd_args.dynamo.vllm_worker]\n  num_nodes = 0",
        "[cmd_args.dynamo.vllm_worker]\n  num_nodes = [0, 1]",
    )
    (tests / "sweep.toml").write_text(sweep)
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(
        'name = "sc"\n'
        '[[Tests]]\nid = "Tests.1"\ntest_name = "llama3.1_405b_fp8"\n'
        '[[Tests]]\nid = "Tests.2"\ntest_name = "sweep"\niterations = 2\n'
    )
    prepared = _core.prepare(
        SEED_CONF / "system" / "oci.toml",
        sorted(tests.glob("*.toml")),
        scenario,
        timestamp="t",
        output_root=tmp_path / "out",
    )
    results = Path(prepared["results_dir"])
    shutil.copy(SEED_CSV, results / "Tests.1" / "0")
    # step: 1 = (decode 0, c1), 2 = (decode 0, c4), 3 = (decode 1, c1), 4 = (decode 1, c4)
    exports = {
        1: GP_C2,
        2: AIPERF_STREAM / "profile_export_aiperf.csv",
        3: GP_C4,
        4: AIPERF_NOSTREAM,
    }
    for iteration in (0, 1):
        for step, src in exports.items():
            shutil.copy(src, results / "Tests.2" / str(iteration) / str(step))
    return results


def write_status(run_dir: Path, status: str, cause: str = "", job_id: str = "7") -> None:
    key = "/".join(run_dir.parts[-3:])
    (run_dir / "status.json").write_text(
        json.dumps(
            {
                "key": key,
                "job_id": job_id,
                "slurm_state": "COMPLETED",
                "status": status,
                "cause": cause,
                "elapsed": 12.5,
            }
        )
    )


def test_run_report_csv_appends_per_gpu(tree: Path) -> None:
    generate_report(tree, GPUS_PER_NODE)
    report = tree / "Tests.1" / "0" / "report.csv"
    text = report.read_text()
    assert text.startswith(SEED_CSV.read_text())  # the export, byte for byte
    # The seed's default frontend command runs a decode engine (Dynamo's agg_router graph):
    # (1 frontend + 1 prefill + 0 decode) x 8 GPUs, CloudAI 13816b1a's divisor.
    per_gpu = cdr.get_metric(report, "Overall Output Tokens per Second per GPU", "Value")
    assert per_gpu == 261.25 / 16
    assert cdr.get_metric(report, "GPUs Counted", "Value") == 16
    assert cdr.get_metric(report, "time-to-first-token") == 1146.31  # original tables intact


def test_run_report_keeps_crlf_exports_parseable(tree: Path) -> None:
    generate_report(tree, GPUS_PER_NODE)
    report = tree / "Tests.2" / "0" / "2" / "report.csv"
    raw = report.read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")  # one line-ending style throughout
    assert cdr.get_metric(report, "Overall Output Tokens per Second per GPU", "Value") == (
        389.99 / 16
    )


def test_per_gpu_divisor_is_the_engine_nodes_gpus(tree: Path) -> None:
    generate_report(tree, GPUS_PER_NODE)
    rows = read_csv(tree / "Tests.2" / "summary.csv")
    by_step = {(r["iteration"], r["step"]): r for r in rows}
    one_worker, two_workers = by_step[("0", "1")], by_step[("0", "3")]
    # Default commands: the frontend node hosts a decode engine, (1 + P + D) nodes count.
    assert (one_worker["engine_nodes"], two_workers["engine_nodes"]) == ("2", "3")
    assert (one_worker["gpus"], two_workers["gpus"]) == ("16", "24")
    assert float(one_worker["output_tokens_per_s_per_gpu"]) == 210.81 / 16
    assert float(two_workers["output_tokens_per_s_per_gpu"]) == 426.34 / 24


@pytest.mark.parametrize(
    ("frontend", "gpus"),
    [
        ("", 16),  # seed default `dynamo serve graphs.agg_router:Frontend`: 1 + 1 + 0 nodes
        ("cmd = 'python -m dynamo.frontend'", 8),  # no engine on the frontend node: 1 + 0
        ("cmd = 'python -m dynamo.frontend'\n  runs_engine = true", 16),
    ],
)
def test_frontend_command_decides_whether_its_node_counts(
    tmp_path: Path, frontend: str, gpus: int
) -> None:
    hf = tmp_path / "hf"
    hf.mkdir()
    seed = (SEED_CONF / "test" / "llama3.1_405b_fp8.toml").read_text()
    seed = seed.replace("/your/path/to/hf_home", str(hf))
    seed = seed.replace("[cmd_args.dynamo.frontend]", "[cmd_args.dynamo.frontend]\n  " + frontend)
    (tmp_path / "t.toml").write_text(seed)
    (tmp_path / "s.toml").write_text(
        'name = "sc"\n[[Tests]]\nid = "T"\ntest_name = "llama3.1_405b_fp8"\n'
    )
    prepared = _core.prepare(
        SEED_CONF / "system" / "oci.toml",
        [tmp_path / "t.toml"],
        tmp_path / "s.toml",
        timestamp="t",
        output_root=tmp_path / "out",
    )
    run_dir = Path(prepared["runs"][0]["run_dir"])
    shutil.copy(SEED_CSV, run_dir)
    paths = generate_report(Path(prepared["results_dir"]), GPUS_PER_NODE)
    # report.html says which nodes count and why.
    note = paths.html.read_text()
    assert "graphs.agg_router:Frontend" in note and "runs_engine = true" in note
    report = run_dir / "report.csv"
    assert cdr.get_metric(report, "GPUs Counted", "Value") == gpus
    assert cdr.get_metric(report, "Overall Output Tokens per Second per GPU", "Value") == (
        261.25 / gpus
    )


def test_without_gpus_per_node_per_gpu_is_empty(tree: Path) -> None:
    paths = generate_report(tree, None)
    report = tree / "Tests.1" / "0" / "report.csv"
    assert report.read_text() == SEED_CSV.read_text()
    assert {r["output_tokens_per_s_per_gpu"] for r in read_csv(paths.summary)} == {""}
    assert "gpus_per_node is not set" in paths.html.read_text()


def test_sweep_summary_rows(tree: Path) -> None:
    paths = generate_report(tree, GPUS_PER_NODE)
    rows = read_csv(paths.test_summaries["Tests.2"])
    assert [(r["iteration"], r["step"]) for r in rows] == [
        (str(i), str(s)) for i in (0, 1) for s in (1, 2, 3, 4)
    ]
    header = list(rows[0])
    assert header[:5] == [
        "test_id",
        "iteration",
        "step",
        "dynamo.decode_worker.num_nodes",
        "genai_perf.concurrency",
    ]
    cases = [(r["dynamo.decode_worker.num_nodes"], r["genai_perf.concurrency"]) for r in rows[:4]]
    assert cases == [("0", "1"), ("0", "4"), ("1", "1"), ("1", "4")]
    assert [r["concurrency"] for r in rows[:4]] == ["1", "4", "1", "4"]
    assert [r["decode_nodes"] for r in rows[:4]] == ["0", "0", "1", "1"]
    assert {r["status"] for r in rows} == {"completed"}  # no status.json, export present
    first = rows[0]
    assert float(first["output_tokens_per_s"]) == 210.81
    assert float(first["ttft_avg_ms"]) > 0 and float(first["itl_p99_ms"]) > 0
    assert float(first["request_latency_p99_ms"]) >= float(first["request_latency_avg_ms"])
    # genai-perf 0.0.16 measures per-user throughput; aiperf non-streaming does not: the
    # report then falls back to throughput / concurrency.
    assert float(first["output_tokens_per_s_per_user"]) == cell_in_text(
        GP_C2, "Output Token Throughput Per User"
    )
    assert float(rows[3]["output_tokens_per_s_per_user"]) == 391.03 / 4
    assert rows[3]["ttft_avg_ms"] == ""  # non-streaming: no TTFT, left empty
    assert first["results_file"] == "0/1/profile_export_genai_perf.csv"


def test_trajectory_and_scenario_summary(tree: Path) -> None:
    paths = generate_report(tree, GPUS_PER_NODE)
    assert paths.trajectories == [
        tree / "Tests.2" / "0" / "trajectory.csv",
        tree / "Tests.2" / "1" / "trajectory.csv",
    ]
    steps = read_csv(paths.trajectories[1])
    assert [(r["iteration"], r["step"]) for r in steps] == [("1", str(s)) for s in (1, 2, 3, 4)]
    everything = read_csv(paths.summary)
    assert [r["test_id"] for r in everything] == ["Tests.1"] + ["Tests.2"] * 8
    assert everything[0]["genai_perf.concurrency"] == ""  # the seed test has no sweep
    assert everything[0]["run_dir"] == "Tests.1/0"
    assert len(paths.run_reports) == 9


def test_failed_run_cause_in_status_table(tree: Path) -> None:
    failed = tree / "Tests.2" / "1" / "3"
    for f in failed.glob("*.csv"):
        f.unlink()
    write_status(failed, "failed", "decode worker on node-3 exited with code 1: CUDA <OOM>", "42")
    write_status(tree / "Tests.1" / "0", "completed")
    paths = generate_report(tree, GPUS_PER_NODE)
    html = paths.html.read_text()
    row = re.search(r'<tr class="bad"><td>Tests\.2/1/3</td>.*?</tr>', html)
    assert row, "failed run missing from the status table"
    assert "decode worker on node-3 exited with code 1: CUDA &lt;OOM&gt;" in row.group(0)
    assert "<td>42</td>" in row.group(0)
    assert "1 run(s) did not complete" in html
    rows = {(r["test_id"], r["iteration"], r["step"]): r for r in read_csv(paths.summary)}
    bad = rows[("Tests.2", "1", "3")]
    assert (bad["status"], bad["job_id"], bad["elapsed_s"]) == ("failed", "42", "12.5")
    assert bad["output_tokens_per_s"] == ""
    assert not (failed / "report.csv").exists()
    assert rows[("Tests.1", "0", "")]["job_id"] == "7"


def test_unreadable_results_do_not_stop_the_report(tree: Path) -> None:
    broken = tree / "Tests.2" / "0" / "2" / "profile_export_aiperf.csv"
    broken.write_text("Metric,avg\nTime to First Token (ms),fast\n")
    write_status(broken.parent, "completed")
    paths = generate_report(tree, GPUS_PER_NODE)
    rows = read_csv(paths.test_summaries["Tests.2"])
    bad = rows[1]
    assert bad["status"] == "bad_results"
    assert bad["cause"].startswith(f"{broken}:2:26: ")
    assert [r["status"] for r in rows].count("completed") == 7


def test_html_is_self_contained_with_three_plots(tree: Path) -> None:
    paths = generate_report(tree, GPUS_PER_NODE)
    for page in [paths.html, *paths.test_html.values()]:
        html = page.read_text()
        assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), page
        assert "<script" not in html and "@import" not in html and "url(" not in html
        images = re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
        assert len(images) == 3, page
        assert all(base64.b64decode(i).startswith(b"\x89PNG\r\n\x1a\n") for i in images)
        for name in ("pareto", "ttft", "itl"):
            assert f'<figure id="{name}">' in html
    html = paths.test_html["Tests.2"].read_text()
    assert "Output tokens/s per GPU against output tokens/s per user" in html
    assert "Time to first token against concurrency" in html
    assert "Inter-token latency against concurrency" in html


def test_html_without_matplotlib_keeps_tables(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generate, "matplotlib_available", lambda: False)
    paths = generate_report(tree, GPUS_PER_NODE)
    html = paths.html.read_text()
    assert not paths.plots
    assert "Plots need matplotlib" in html
    assert "<img" not in html
    assert "<td>Tests.2/0/4</td>" in html  # status and results tables are still there


def test_whole_corpus_through_the_report(tmp_path: Path) -> None:
    """Every corpus export as its own run of a 1 prefill + 1 decode topology."""
    exports = [Path(e["path"]) for e in cdr.find_result_files(CORPUS) if e["format"] == "csv"]
    for i, src in enumerate(exports):
        run_dir = tmp_path / "corpus" / "0" / str(i + 1)
        run_dir.mkdir(parents=True)
        shutil.copy(src, run_dir)
        record = {
            "id": "corpus",
            "iteration": 0,
            "step": i + 1,
            "params": {"extra_env_vars.CORPUS_FILE": src.name},
            "topology": {"prefill": 1, "decode": 1, "num_nodes": 3, "engine_nodes": 2},
        }
        (run_dir / "test-run.json").write_text(json.dumps(record))
    paths = generate_report(tmp_path, GPUS_PER_NODE)
    rows = read_csv(paths.summary)
    assert len(rows) == len(exports) == len(paths.run_reports)
    for row, src in zip(rows, exports, strict=True):
        # aiperf counts failed requests: an export with some is flagged, with the count.
        errors = re.search(r"^Error Request Count,([\d.]+)", src.read_text(), re.MULTILINE)
        failed = float(errors.group(1)) if errors else 0.0
        assert row["status"] == ("flagged" if failed else "completed"), row["cause"]
        assert float(row["error_request_count"] or 0) == failed
        expected = output_throughput_in_text(src) / 16
        assert float(row["output_tokens_per_s_per_gpu"]) == pytest.approx(expected, rel=1e-12)
        report = tmp_path / row["run_dir"] / "report.csv"
        assert cdr.get_metric(report, "Overall Output Tokens per Second per GPU", "Value") == (
            pytest.approx(expected, rel=1e-12)
        )


def test_json_only_run_gets_a_csv_report(tmp_path: Path) -> None:
    run_dir = tmp_path / "Tests.1" / "0"
    run_dir.mkdir(parents=True)
    shutil.copy(AIPERF_STREAM / "profile_export_aiperf.json", run_dir)
    (run_dir / "test-run.json").write_text(
        json.dumps(
            {
                "id": "Tests.1",
                "iteration": 0,
                "topology": {"prefill": 1, "decode": 0, "engine_nodes": 1},
            }
        )
    )
    generate_report(tmp_path, 4)
    report = run_dir / "report.csv"
    exact = json.loads((run_dir / "profile_export_aiperf.json").read_text())
    assert cdr.get_metric(report, "default") == exact["output_token_throughput"]["avg"]
    assert cdr.get_metric(report, "Overall Output Tokens per Second per GPU", "Value") == (
        exact["output_token_throughput"]["avg"] / 4
    )


def test_no_runs(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no test runs found"):
        generate_report(tmp_path, 8)


def test_cmd_generate_report(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(
        system_config=SEED_CONF / "system" / "oci.toml",
        tests_dir=SEED_CONF / "test",
        test_scenario=SEED_CONF / "test_scenario" / "ai_dynamo.toml",
        result_dir=tree,
    )
    assert cmd_generate_report(args) == 0
    out = capsys.readouterr().out
    assert f"report       {tree / 'report.html'}" in out
    assert f"summary      {tree / 'summary.csv'}" in out
    # gpus_per_node = 8 came from the system file.
    rows = read_csv(tree / "summary.csv")
    assert float(rows[0]["output_tokens_per_s_per_gpu"]) == 261.25 / 16


def test_pareto_front() -> None:
    pts = [(1.0, 10.0), (2.0, 9.0), (1.5, 8.0), (3.0, 1.0), (0.5, 10.0), (3.0, 0.5)]
    assert pareto_front(pts) == [(1.0, 10.0), (2.0, 9.0), (3.0, 1.0)]


# -- hostile trees (issue 9) -----------------------------------------------------------------

DATABLOOM = (
    CORPUS / "databloom-aiperf-lab-tests-0.8.0/qwen3-4b-reasoning-c1/profile_export_aiperf.csv"
)
AIPERF_STREAM_CSV = AIPERF_STREAM / "profile_export_aiperf.csv"


def cell_in_text(path: Path, label_start: str) -> float:
    """The first value after the label of the row starting with ``label_start``, read with
    Python's csv module: an expected value taken from the file's own text, not from the
    reader under test (the avg column of a stats table, the Value of a Metric,Value one)."""
    with path.open(newline="") as f:
        rows = [r for r in csv.reader(f) if r and r[0].startswith(label_start)]
    assert len(rows) == 1, (path, label_start, rows)
    return float(rows[0][1].replace(",", ""))


def output_throughput_in_text(path: Path) -> float:
    """CloudAI's ``default`` metric, from the export's own text."""
    return cell_in_text(path, "Output Token Throughput (")


def one_run(root: Path, export: Path | None = None, text: str | None = None) -> Path:
    """``root/T/0`` with a valid record, a completed status and an export."""
    run_dir = root / "T" / "0"
    run_dir.mkdir(parents=True)
    record = {"id": "T", "iteration": 0, "topology": {"prefill": 1, "decode": 1, "engine_nodes": 2}}
    (run_dir / "test-run.json").write_text(json.dumps(record))
    write_status(run_dir, "completed")
    name = export.name if export else "profile_export_aiperf.csv"
    data = text.encode() if text is not None else export.read_bytes() if export else b""
    (run_dir / name).write_bytes(data)
    return run_dir


def all_failed_export() -> str:
    """aiperf 0.13's stream export as aiperf reports a run whose 10 requests all failed: an
    error count and no `Request Count` of valid requests."""
    text = AIPERF_STREAM_CSV.read_bytes().decode()
    assert "\r\nRequest Count,40.00\r\n" in text
    return text.replace("\r\nRequest Count,40.00\r\n", "\r\nError Request Count,10.00\r\n")


def test_run_whose_requests_all_failed_is_failed_everywhere(tmp_path: Path) -> None:
    run_dir = one_run(tmp_path, text=all_failed_export())
    paths = generate_report(tmp_path, GPUS_PER_NODE)
    (row,) = read_csv(paths.summary)
    assert row["status"] == "failed"
    assert row["cause"] == "all 10 requests failed (Error Request Count 10, no successful request)"
    assert row["error_request_count"] == "10.0"
    # The throughput of a run that served nothing is not reported.
    assert row["output_tokens_per_s"] == row["output_tokens_per_s_per_gpu"] == ""
    assert cdr.get_metric(run_dir / "report.csv", "Failed Requests", "Value") == 10.0
    html = paths.html.read_text()
    assert "<th>failed requests</th>" in html
    assert "all 10 requests failed" in html and "1 run(s) did not complete" in html
    # The runner judges the job the same way (the exit code of `cloudaix run` follows it).
    (run_dir / "done.marker").write_text("ok\n")
    assert status_mod.combine(run_dir, JobInfo("COMPLETED", "0:0")) == ("failed", row["cause"])


def test_run_with_some_failed_requests_is_flagged(tmp_path: Path) -> None:
    # databloom's aiperf 0.8.0 export: `Error Request Count,5.00`, `Request Count,15.00`.
    run_dir = one_run(tmp_path, DATABLOOM)
    paths = generate_report(tmp_path, GPUS_PER_NODE)
    (row,) = read_csv(paths.summary)
    assert (row["status"], row["cause"]) == (
        "flagged",
        "5 of 20 requests failed (Error Request Count)",
    )
    assert row["error_request_count"] == "5.0"
    assert float(row["output_tokens_per_s"]) == output_throughput_in_text(DATABLOOM) == 13.01
    assert cdr.get_metric(run_dir / "report.csv", "Failed Requests", "Value") == 5.0
    html = paths.html.read_text()
    assert '<tr class="warn"><td>T/0</td>' in html and "1 run(s) flagged" in html
    (run_dir / "done.marker").write_text("ok\n")
    assert status_mod.combine(run_dir, JobInfo("COMPLETED", "0:0")) == ("completed", "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"id": "/tmp/elsewhere"},
            'id: expected `T`, the test directory this record is in, found "/tmp/elsewhere"',
        ),
        ({"id": "../T"}, "id: expected `T`"),
        (
            {"iteration": 3},
            "iteration: expected 0, the iteration directory this record is in, found 3",
        ),
        ({"iteration": "zero"}, 'invalid run record: invalid type: string "zero", expected u32'),
        ({"params": {"status": "completed"}}, 'params: key "status" is not a sweep axis'),
        (
            {"params": {"genai_perf.concurrency": [1, 2]}},
            "params.genai_perf.concurrency: expected a number",
        ),
        ({"topology": {"prefill": -1}}, "invalid run record: invalid value: integer `-1`"),
    ],
)
def test_tampered_run_record_is_a_positioned_error(
    tmp_path: Path, change: dict, message: str
) -> None:
    results = tmp_path / "results"
    run_dir = one_run(results, GP_C2)
    record = {"id": "T", "iteration": 0, "topology": {"prefill": 1, "decode": 1}}
    record.update(change)
    (run_dir / "test-run.json").write_text(json.dumps(record, indent=1))
    paths = generate_report(results, GPUS_PER_NODE)
    (row,) = read_csv(paths.summary)
    assert row["status"] == "bad_record"
    assert row["cause"].startswith(f"{run_dir / 'test-run.json'}:"), row["cause"]
    assert re.match(r"^\S+:\d+:\d+: ", row["cause"]) and message in row["cause"], row["cause"]
    # Nothing outside the results tree, and no run report from an untrusted record.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
    assert not Path("/tmp/elsewhere").exists()
    assert not (run_dir / "report.csv").exists()
    assert param_names(paths.summary) == []


def param_names(summary: Path) -> list[str]:
    header = summary.read_text().splitlines()[0].split(",")
    return header[header.index("step") + 1 : header.index("status")]


def test_run_record_position_points_at_the_field(tmp_path: Path) -> None:
    run_dir = one_run(tmp_path, GP_C2)
    (run_dir / "test-run.json").write_text('{\n  "iteration": 0,\n  "id": "other"\n}\n')
    with pytest.raises(cdr.ResultsError) as info:
        _core.read_run_record(run_dir / "test-run.json", tmp_path)
    assert str(info.value).startswith(f"{run_dir / 'test-run.json'}:3:3: id: expected `T`")
    assert (info.value.line, info.value.column) == (3, 3)


@pytest.mark.parametrize(
    ("cmd_args", "message"),
    [
        (
            '{"workloads": ["aiperf"], "aiperf_phases": '
            '[{"name": "a"}, {"name": "b", "report_name": "../r.csv"}]}',
            'test.cmd_args.aiperf_phases[1].report_name: path "../r.csv" is not inside the run '
            "directory; expected a relative path without `..`",
        ),
        (
            '{"workloads": ["genai_perf"], "genai_perf": {"report_name": "/r.csv"}}',
            'test.cmd_args.genai_perf.report_name: path "/r.csv" is not inside',
        ),
        (
            '{"workloads": ["aiperf"], "aiperf_phases": [{"name": "x/../.."}, {"name": "b"}]}',
            # Two phases: the name makes the report `aiperf_x/../.._report.csv`, one level up.
            'test.cmd_args.aiperf_phases[0].name: path "aiperf_x/../.._report.csv" is not inside',
        ),
        (
            '{"workloads": ["lmbench"]}',
            'test.cmd_args.workloads: unknown workload "lmbench"; expected `genai_perf`, `aiperf`',
        ),
    ],
)
def test_run_record_sources_name_the_field(tmp_path: Path, cmd_args: str, message: str) -> None:
    record = tmp_path / "test-run.json"
    record.write_text(
        '{\n "id": "T",\n "iteration": 0,\n "test": {"cmd_args": ' + cmd_args + "}\n}\n"
    )
    with pytest.raises(cdr.ResultsError) as info:
        _core.read_run_record(record)
    # The error points at `"test"`: line 4, after one space.
    assert (info.value.path, info.value.line, info.value.column) == (str(record), 4, 2)
    assert str(info.value).startswith(f"{record}:4:2: {message}")


def test_run_directory_linked_from_outside_is_not_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    run_dir = one_run(outside, GP_C2)
    results = tmp_path / "results"
    (results / "T").mkdir(parents=True)
    (results / "T" / "0").symlink_to(run_dir, target_is_directory=True)
    paths = generate_report(results, GPUS_PER_NODE)
    (row,) = read_csv(paths.summary)
    assert row["status"] == "bad_record" and "not inside the results directory" in row["cause"]
    assert not (run_dir / "report.csv").exists()


def test_paths_that_are_not_files_are_refused_from_python(tmp_path: Path) -> None:
    real = tmp_path / "run"
    real.mkdir()
    shutil.copy(GP_C2, real / "profile_genai_perf.csv")
    link = tmp_path / "x.csv"
    link.symlink_to(real, target_is_directory=True)
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    for path, kind in [
        (link, "a directory"),
        (fifo, "a FIFO"),
        (Path("/dev/zero"), "a character device"),
    ]:
        for call in (lambda p: cdr.get_metric(p, "default"), cdr.read_results):
            with pytest.raises(cdr.ResultsError, match=re.escape(f"not a regular file ({kind})")):
                call(path)


def _report_worker(results: str, rounds: int) -> list[str]:
    errors = []
    for _ in range(rounds):
        try:
            generate_report(Path(results), GPUS_PER_NODE)
        except OSError as err:
            errors.append(str(err))
    return errors


def test_parallel_reports_on_one_tree(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Plots off: the race is in the writes, and four forked writers stay fast.
    monkeypatch.setattr(generate, "matplotlib_available", lambda: False)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        results = pool.starmap(_report_worker, [(str(tree), 15)] * 4)
    assert [e for errors in results for e in errors] == []
    assert list(tree.rglob("*.tmp")) == []
    assert len(read_csv(tree / "summary.csv")) == 9


def _fill(directory: Path) -> None:
    """Use every free byte of the file system holding ``directory``."""
    with open(directory / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        except OSError as err:
            assert err.errno == errno.ENOSPC


def test_full_disk_names_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        == 0
    )
    try:
        run_dir = one_run(mnt, GP_C2)
        if mounted:
            _fill(mnt)
            expected = "No space left on device"
        else:
            # No tmpfs without CAP_SYS_ADMIN: a file-size limit makes the same write fail.
            expected = "File too large"
        code = (
            "import resource, signal, sys\n"
            "from cloudai_dynamo_rs.cli import main\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            + ("" if mounted else "resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))\n")
            + "sys.exit(main(sys.argv[1:]))\n"
        )
        system = SEED_CONF / "system" / "oci.toml"
        args = [
            "generate-report",
            "--system-config",
            str(system),
            "--tests-dir",
            str(SEED_CONF / "test"),
        ]
        args += ["--test-scenario", str(SEED_CONF / "test_scenario" / "ai_dynamo.toml")]
        args += ["--result-dir", str(mnt)]
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert f"{run_dir / 'report.csv'}" in done.stderr and expected in done.stderr, done.stderr
        assert not (run_dir / "report.csv").exists()
        assert [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")] == []
    finally:
        if mounted:
            subprocess.run(["umount", str(mnt)], check=True)


def test_fifos_in_a_run_directory_do_not_hang_the_report(tmp_path: Path) -> None:
    # status.json, failure.marker and runs.json as FIFOs with no writer: reading any of them
    # would block for ever; they are not files, so they count as absent.
    run_dir = one_run(tmp_path, GP_C2)
    (run_dir / "status.json").unlink()
    for name in ("status.json", "failure.marker"):
        os.mkfifo(run_dir / name)
    os.mkfifo(tmp_path / "runs.json")
    paths = generate_report(tmp_path, GPUS_PER_NODE)
    (row,) = read_csv(paths.summary)
    assert (row["status"], row["cause"]) == ("completed", "")
    (run_dir / "done.marker").write_text("ok\n")
    assert status_mod.combine(run_dir, JobInfo("COMPLETED", "0:0")) == ("completed", "")
