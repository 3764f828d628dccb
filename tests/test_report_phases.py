"""The report of current-schema runs: one set of figures per aiperf phase, the accuracy
summary, the run's verdict from all of them, and CloudAI main's metric keys. Each run
directory is laid out as the launch script leaves it (`aiperf_artifacts/<phase>/`,
`aiperf_<phase>_report.csv`, the last phase also `aiperf_report.csv`), from real aiperf 0.13
exports; expected values are read from the files' own text."""

from __future__ import annotations

import csv
import errno
import json
import shutil
from pathlib import Path

import pytest

import cloudai_dynamo_rs as cdr
from cloudai_dynamo_rs import _core
from cloudai_dynamo_rs.report import generate_report

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "conf" / "local"
CORPUS = ROOT / "tests" / "data" / "results"
ACCURACY = ROOT / "tests" / "data" / "accuracy"
STREAM = CORPUS / "aiperf-0.13.0" / "dynamo-mocker-1p1d-stream-c4"
NOSTREAM = CORPUS / "aiperf-0.13.0" / "dynamo-mocker-1p1d-nostream-c4"
GPUS_PER_NODE = 8  # conf/local/system/baremetal.toml
ACCURACY_BLOCK = (
    "[cmd_args.aiperf_accuracy]\n"
    'cli = "--model {model} --url {url} --artifact-dir {artifact_dir} --accuracy-benchmark mmlu"\n'
    "\n[extra_env_vars]\n"
)


def text_cell(path: Path, label: str, column: str = "avg") -> float:
    """The cell of row ``label`` under ``column`` (``Value`` rows: their one value), read with
    Python's csv module from the file's own text."""
    header: list[str] = []
    with path.open(newline="") as f:
        for row in csv.reader(f):
            if row and row[0] == "Metric":
                header = row
            elif row and row[0] == label:
                i = header.index(column) if column in header else 1
                return float(row[i])
    raise AssertionError(f"{label} not in {path}")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def current_run(tmp_path: Path, *, accuracy: bool = False, num_nodes: int = 1) -> Path:
    """Dry-run of the local current-schema test (two aiperf phases, concurrency 2 then 4),
    prefill and decode sharing one node; then the files its job leaves: round_1 = the
    streaming export, round_2 = the non-streaming one, both as aiperf wrote them."""
    tests = tmp_path / "tests"
    tests.mkdir()
    text = (LOCAL / "test" / "current_mocker.toml").read_text()
    if accuracy:
        text = text.replace("[extra_env_vars]\n", ACCURACY_BLOCK)
    (tests / "t.toml").write_text(text)
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "s"\n[[Tests]]\nid = "shared"\ntest_name = "current_mocker"\n'
        f"num_nodes = {num_nodes}\n"
    )
    prepared = _core.prepare(
        LOCAL / "system" / "baremetal.toml",
        [tests / "t.toml"],
        scenario,
        timestamp="t",
        output_root=tmp_path / "out",
        check_host_paths=False,
    )
    run = Path(prepared["results_dir"]) / "shared" / "0"
    for phase, src in (("round_1", STREAM), ("round_2", NOSTREAM)):
        shutil.copytree(src, run / "aiperf_artifacts" / phase)
        shutil.copy(src / "profile_export_aiperf.csv", run / f"aiperf_{phase}_report.csv")
    shutil.copy(NOSTREAM / "profile_export_aiperf.csv", run / "aiperf_report.csv")
    (run / "status.json").write_text(json.dumps({"status": "completed", "cause": ""}))
    return run


THROUGHPUT = "Output Token Throughput (tokens/sec)"


def test_sweep_over_a_dashed_argument_writes_records_the_reader_accepts(tmp_path: Path) -> None:
    """The current schema keeps an argument's spelling (`output-tokens-mean` in the example):
    its sweep axis, the runs' parameter key, is read back, not refused as a bad record."""
    text = (LOCAL / "test" / "current_mocker.toml").read_text()
    line = "    output-tokens-mean = 16\n"
    assert text.count(line) >= 1
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.toml").write_text(
        text.replace(line, line.replace("16", "[16, 32]"), 1)
    )
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "s"\n[[Tests]]\nid = "x"\ntest_name = "current_mocker"\n')
    prepared = _core.prepare(
        LOCAL / "system" / "baremetal.toml",
        [tmp_path / "tests" / "t.toml"],
        scenario,
        timestamp="t",
        output_root=tmp_path / "out",
        check_host_paths=False,
    )
    results = Path(prepared["results_dir"])
    for step, value in ((1, 16), (2, 32)):
        record = _core.read_run_record(results / "x" / "0" / str(step) / "test-run.json", results)
        assert record["params"] == {"genai_perf.args.output-tokens-mean": value}


@pytest.mark.parametrize(
    ("num_nodes", "gpus"),
    [
        (1, 8),  # prefill and decode share the node: its 8 GPUs
        (2, 16),  # one node each (the frontend on the decode node)
        (3, 16),  # a third node allocated but idle: not counted (CloudAI would count 24)
    ],
)
def test_per_gpu_divisor_is_the_gpus_of_the_nodes_running_engines(
    tmp_path: Path, num_nodes: int, gpus: int
) -> None:
    run = current_run(tmp_path, num_nodes=num_nodes)
    rows = read_csv(generate_report(run.parents[1], GPUS_PER_NODE).summary)
    for row, src in zip(rows, (STREAM, NOSTREAM), strict=True):
        assert row["gpus"] == str(gpus)
        throughput = text_cell(src / "profile_export_aiperf.csv", THROUGHPUT)
        assert float(row["output_tokens_per_s_per_gpu"]) == pytest.approx(throughput / gpus)
    assert f"GPUs Counted (count),{gpus}" in (run / "report.csv").read_text()


def test_summary_has_one_row_per_phase_with_its_own_figures(tmp_path: Path) -> None:
    run = current_run(tmp_path)
    results = run.parents[1]
    paths = generate_report(results, GPUS_PER_NODE)
    rows = read_csv(paths.summary)
    assert [(r["test_id"], r["phase"], r["concurrency"]) for r in rows] == [
        ("shared", "round_1", "2"),
        ("shared", "round_2", "4"),
    ]
    for row, src in zip(rows, (STREAM, NOSTREAM), strict=True):
        export = src / "profile_export_aiperf.csv"
        assert row["status"] == "completed", row["cause"]
        throughput = text_cell(export, THROUGHPUT)
        assert float(row["output_tokens_per_s"]) == throughput
        assert float(row["request_latency_p99_ms"]) == text_cell(
            export, "Request Latency (ms)", "p99"
        )
        assert float(row["request_count"]) == text_cell(export, "Request Count")
        # Prefill and decode share the one node: its 8 GPUs, not 16.
        assert row["gpus"] == "8"
        assert float(row["output_tokens_per_s_per_gpu"]) == pytest.approx(throughput / 8)
        assert row["results_file"] == f"shared/0/aiperf_{row['phase']}_report.csv"
    # Streaming: aiperf's per-request figure; non-streaming has none: throughput / 4.
    assert float(rows[0]["output_tokens_per_s_per_user"]) == text_cell(
        STREAM / "profile_export_aiperf.csv", "Output Token Throughput Per User (tokens/sec/user)"
    )
    assert float(rows[1]["output_tokens_per_s_per_user"]) == pytest.approx(
        text_cell(NOSTREAM / "profile_export_aiperf.csv", THROUGHPUT) / 4
    )


def test_run_report_is_the_last_phase_export_plus_a_phase_table(tmp_path: Path) -> None:
    run = current_run(tmp_path)
    generate_report(run.parents[1], GPUS_PER_NODE)
    report = (run / "report.csv").read_bytes()
    last = (NOSTREAM / "profile_export_aiperf.csv").read_bytes()
    assert report.startswith(last)
    tables = list(csv.reader(report[len(last) :].decode().splitlines()))
    phases = tables[next(i for i, h in enumerate(tables) if h and h[0] == "Phase") :]
    head, *body = phases
    assert [r[head.index("Phase")] for r in body] == ["round_1", "round_2"]
    col = head.index(THROUGHPUT)
    assert [float(r[col]) for r in body] == [
        text_cell(STREAM / "profile_export_aiperf.csv", THROUGHPUT),
        text_cell(NOSTREAM / "profile_export_aiperf.csv", THROUGHPUT),
    ]
    html = (run.parents[1] / "report.html").read_text()
    assert "<td>round_1</td>" in html and "<td>round_2</td>" in html
    assert "1 run(s): 1 completed" in html


def test_missing_phase_report_makes_the_run_bad_results(tmp_path: Path) -> None:
    run = current_run(tmp_path)
    (run / "aiperf_round_2_report.csv").unlink()
    rows = read_csv(generate_report(run.parents[1], GPUS_PER_NODE).summary)
    assert {r["status"] for r in rows} == {"bad_results"}
    assert rows[0]["cause"] == "round_2: no aiperf_round_2_report.csv in the run directory"
    # The phase that is there still shows its figures.
    assert float(rows[0]["output_tokens_per_s"]) == text_cell(
        STREAM / "profile_export_aiperf.csv", THROUGHPUT
    )


def test_accuracy_in_summary_report_and_metric(tmp_path: Path) -> None:
    run = current_run(tmp_path, accuracy=True)
    shutil.copy(ACCURACY / "accuracy_results.csv", run / "accuracy_results.csv")
    # aiperf's OVERALL row, as written: 0.4894.
    overall = next(r for r in read_csv(ACCURACY / "accuracy_results.csv") if r["task"] == "OVERALL")
    expected = float(overall["accuracy"])
    rows = read_csv(generate_report(run.parents[1], GPUS_PER_NODE).summary)
    assert [float(r["accuracy"]) for r in rows] == [expected, expected]
    assert {r["status"] for r in rows} == {"completed"}
    assert f"Accuracy (fraction),{expected!r}" in (run / "report.csv").read_text()
    assert _core.cloudai_metric(run, "accuracy") == expected
    # CloudAI's documented layout: percentages, OVERALL row.
    shutil.copy(ACCURACY / "cloudai_doc_accuracy_results.csv", run / "accuracy_results.csv")
    assert _core.cloudai_metric(run, "accuracy") == pytest.approx(0.5959)


def test_accuracy_found_where_cloudai_looks_and_missing_is_bad_results(tmp_path: Path) -> None:
    run = current_run(tmp_path, accuracy=True)
    rows = read_csv(generate_report(run.parents[1], GPUS_PER_NODE).summary)
    assert {r["status"] for r in rows} == {"bad_results"}
    # CloudAI's three places, in its order: the run directory's copy, the accuracy run's
    # artifact directory (`--artifact-dir` of ACCURACY_BLOCK's default), aiperf's.
    looked_for = (
        "accuracy_results.csv, aiperf_accuracy_artifacts/accuracy_results.csv, "
        "aiperf_artifacts/accuracy_results.csv"
    )
    assert rows[0]["cause"] == f"accuracy: {run}: no accuracy summary (looked for {looked_for})"
    with pytest.raises(FileNotFoundError) as info:
        _core.cloudai_metric(run, "accuracy")
    assert (info.value.errno, info.value.filename) == (errno.ENOENT, str(run))
    assert info.value.strerror == f"no accuracy summary (looked for {looked_for})"
    # An empty file is no summary, as in CloudAI.
    (run / "accuracy_results.csv").write_text("")
    with pytest.raises(FileNotFoundError):
        _core.cloudai_metric(run, "accuracy")
    # The accuracy run's artifact directory, CloudAI's second place.
    (run / "aiperf_accuracy_artifacts").mkdir()
    shutil.copy(ACCURACY / "accuracy_results.csv", run / "aiperf_accuracy_artifacts")
    assert _core.cloudai_metric(run, "accuracy") == 0.4894


def test_malformed_accuracy_is_a_positioned_error(tmp_path: Path) -> None:
    run = current_run(tmp_path, accuracy=True)
    data = (ACCURACY / "accuracy_results.csv").read_bytes()
    (run / "accuracy_results.csv").write_bytes(data.replace(b"0.4894", b"n/a%"))
    rows = read_csv(generate_report(run.parents[1], GPUS_PER_NODE).summary)
    assert rows[0]["status"] == "bad_results"
    # Line 4, the OVERALL row `OVERALL,115,235,2,n/a%`; column 19, its accuracy cell.
    assert rows[0]["cause"] == (
        f"accuracy: {run / 'accuracy_results.csv'}:4:19: `accuracy`: `n/a%` is not a number; "
        "expected a non-negative decimal such as 0.3500 or 35.00%"
    )


@pytest.mark.parametrize(
    ("key", "report", "label", "column"),
    [
        # A bare name: CloudAI 5b5c0f72 reads the first workload's aiperf_report.csv, `avg`
        # (the last phase's copy).
        (THROUGHPUT, NOSTREAM, THROUGHPUT, "Value"),
        ("Request Latency (ms)", NOSTREAM, "Request Latency (ms)", "avg"),
        # <benchmark>:<metric>:<statistic>: a phase's own report.
        ("aiperf_round_1:Time to First Token (ms):p99", STREAM, "Time to First Token (ms)", "p99"),
        ("aiperf_round_1:Output Token Throughput (tokens/sec):avg", STREAM, THROUGHPUT, "Value"),
        ("aiperf:Request Count:avg", NOSTREAM, "Request Count", "Value"),
        # The seed's keys, answered from the same report.
        ("default", NOSTREAM, THROUGHPUT, "Value"),
    ],
)
def test_cloudai_main_metric_keys(
    tmp_path: Path, key: str, report: Path, label: str, column: str
) -> None:
    run = current_run(tmp_path)
    value = _core.cloudai_metric(run, key)
    assert value == text_cell(report / "profile_export_aiperf.csv", label, column)


def test_cloudai_metric_refused_keys_name_the_key(tmp_path: Path) -> None:
    run = current_run(tmp_path)
    for key, why in [
        ("aiperf:Request Count", "expected `benchmark:metric name:statistic`"),
        ("thruput", "expected one of default, output-token-throughput"),
        ("../x:Request Count:avg", 'benchmark "../x" is not a report name'),
    ]:
        with pytest.raises(cdr.MetricKeyError) as info:
            _core.cloudai_metric(run, key)
        assert info.value.key == key
        assert str(info.value).startswith(f"metric key {json.dumps(key)}: {why}")
        # Refused the same way before a DSE starts, without a run.
        with pytest.raises(cdr.MetricKeyError) as info:
            _core.check_metric_key(key)
        assert info.value.key == key
    assert _core.check_metric_key("aiperf_round_1:Time to First Token (ms):p99") is None


def test_cloudai_metric_not_found_names_file_metric_and_stat(tmp_path: Path) -> None:
    run = current_run(tmp_path)
    report = run / "aiperf_round_1_report.csv"
    with pytest.raises(cdr.MetricNotFoundError) as info:
        _core.cloudai_metric(run, "aiperf_round_1:No Such Metric (ms):avg")
    e = info.value
    assert (e.path, e.metric, e.stat) == (str(report), "No Such Metric (ms)", None)
    assert (e.line, e.column) == (None, None)  # a whole-file answer: no position
    # The row is there (its label as the file spells it), the statistic is not.
    with pytest.raises(cdr.MetricNotFoundError) as info:
        _core.cloudai_metric(run, "aiperf_round_1:Time to First Token (ms):p42")
    assert (info.value.path, info.value.metric, info.value.stat) == (
        str(report),
        "Time to First Token (ms)",
        "p42",
    )
    with pytest.raises(cdr.MetricNotFoundError) as info:
        _core.cloudai_metric(run, "accuracy")
    assert (info.value.path, info.value.metric, info.value.stat) == (str(run), "accuracy", None)
    assert (
        str(info.value)
        == f"{run}: metric `accuracy` is not measured: the test runs no aiperf_accuracy"
    )


def test_cloudai_metric_missing_or_malformed_report_is_positioned(tmp_path: Path) -> None:
    run = current_run(tmp_path)
    # No genai_perf workload in the test: its report is not there.
    with pytest.raises(FileNotFoundError) as info:
        _core.cloudai_metric(run, "genai_perf:Request Count:avg")
    assert (info.value.errno, info.value.filename) == (
        errno.ENOENT,
        str(run / "genai_perf_report.csv"),
    )
    report = run / "aiperf_round_1_report.csv"
    report.write_text("")
    with pytest.raises(cdr.ResultsError) as info:
        _core.cloudai_metric(run, "aiperf_round_1:Request Count:avg")
    assert (info.value.path, info.value.line, info.value.column) == (str(report), 1, 1)
    # `fast` is the cell after "Request Count," (14 characters) on line 2: column 15.
    report.write_text("Metric,avg\nRequest Count,fast\n")
    with pytest.raises(cdr.ResultsError) as info:
        _core.cloudai_metric(run, "aiperf_round_1:Request Count:avg")
    assert (info.value.path, info.value.line, info.value.column) == (str(report), 2, 15)
    assert not isinstance(info.value, cdr.MetricNotFoundError)


def test_cloudai_metric_of_a_malformed_record_is_an_error_not_a_seed_reading(
    tmp_path: Path,
) -> None:
    run = current_run(tmp_path)
    record = run / "test-run.json"
    data = json.loads(record.read_text())
    data["params"] = {"bogus": 1}
    # `"params"` opens line 2 after one space: line 2, column 2.
    record.write_text(
        json.dumps({k: v for k, v in data.items() if k != "params"})[:-1]
        + ',\n "params": {"bogus": 1}}'
    )
    with pytest.raises(cdr.ResultsError) as info:
        _core.cloudai_metric(run, "Request Count")
    assert (info.value.path, info.value.line, info.value.column) == (str(record), 2, 2)
    assert 'params: key "bogus" is not a sweep axis' in str(info.value)


def test_seed_run_metric_keys_are_cloudai_13816b1a(tmp_path: Path) -> None:
    """A seed-schema run (no workloads in its record): the 13816b1a keys on its one export."""
    run = tmp_path / "T" / "0"
    run.mkdir(parents=True)
    record = {"id": "T", "iteration": 0, "topology": {"prefill": 1, "decode": 1}}
    (run / "test-run.json").write_text(json.dumps(record))
    export = CORPUS / "cloudai-doc-genai-perf" / "profile_genai_perf.csv"
    shutil.copy(export, run)
    assert _core.cloudai_metric(run, "time-to-first-token") == float(
        next(r for r in csv.reader(export.open()) if r and r[0].startswith("Time To First"))[
            1
        ].replace(",", "")
    )
    with pytest.raises(cdr.MetricNotFoundError) as info:
        _core.cloudai_metric(run, "accuracy")
    assert (info.value.path, info.value.metric, info.value.stat) == (str(run), "accuracy", None)
    assert str(info.value) == (
        f"{run}: metric `accuracy` is not measured: the seed schema runs no accuracy benchmark"
    )
