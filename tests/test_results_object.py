"""``read_results``' typed object: values against the files' own text (read here with Python's
csv/json modules, not the core), and the dict access it keeps for older callers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import cloudai_dynamo_rs as cdr

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "results"
SEED_CSV = CORPUS / "cloudai-doc-genai-perf" / "profile_genai_perf.csv"
AIPERF = CORPUS / "aiperf-0.13.0" / "dynamo-mocker-1p1d-nostream-c4"


def csv_tables(path: Path) -> list[list[list[str]]]:
    """The file's blank-line-separated tables, each a list of rows (header first)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    tables: list[list[list[str]]] = [[]]
    for row in rows:
        if not any(cell.strip() for cell in row):
            tables.append([])
        else:
            tables[-1].append(row)
    return [t for t in tables if t]


def number(cell: str) -> float | None:
    return None if cell in ("", "N/A") else float(cell.replace(",", ""))


def test_csv_tables_and_cells_match_the_file_text() -> None:
    results = cdr.read_results(SEED_CSV)
    expected = csv_tables(SEED_CSV)
    assert isinstance(results, cdr.Results)
    assert results.source == str(SEED_CSV)
    assert (results.tool, results.format, results.version) == ("genai_perf", "csv", None)
    assert [t.kind for t in results.tables] == ["request", "system"]
    assert [t.line for t in results.tables] == [1, 9]
    for table, rows in zip(results.tables, expected, strict=True):
        header, body = rows[0], rows[1:]
        assert table.columns == header
        assert len(table) == len(body)
        for metric, row in zip(table.metrics, body, strict=True):
            assert metric.label == row[0]
            assert metric.stats == {h: number(c) for h, c in zip(header[1:], row[1:], strict=True)}
            assert metric.attributes == {}
    ttft = results.tables[0].metrics[0]
    assert (ttft.name, ttft.unit) == ("Time To First Token", "ms")
    assert ttft.value == 1146.31  # `avg`, quoted "1,146.31" in the file
    assert ttft.stat("P99") == 3457.97  # ASCII case ignored
    assert ttft.stat("p42") is None
    assert [m.label for m in results.metrics()] == [r[0] for t in expected for r in t[1:]]


def test_json_export_matches_the_file_text() -> None:
    path = AIPERF / "profile_export_aiperf.json"
    doc = json.loads(path.read_text())
    results = cdr.read_results(path)
    assert (results.tool, results.format) == ("aiperf", "json")
    assert results.version == doc["aiperf_version"]
    latency = next(m for m in results.metrics() if m.label == "request_latency")
    assert latency.unit == doc["request_latency"]["unit"]
    assert latency.stats["p99"] == doc["request_latency"]["p99"]
    assert results.lookup("request-latency", "p99") == doc["request_latency"]["p99"]


def test_lookup_agrees_with_get_metric_and_raises_alike() -> None:
    results = cdr.read_results(SEED_CSV)
    assert results.lookup("default") == 261.25  # `Output Token Throughput (per sec)`
    assert results.lookup("time-to-first-token", "p25") == 286.52
    with pytest.raises(cdr.MetricNotFoundError) as info:
        results.lookup("nope")
    assert info.value.path == str(SEED_CSV)


def test_dict_access_of_older_callers() -> None:
    results = cdr.read_results(SEED_CSV)
    as_dict = results.to_dict()
    assert list(as_dict) == ["source", "tool", "format", "version", "tables"]
    assert results["source"] == as_dict["source"] == str(SEED_CSV)
    table = results["tables"][1]
    assert table["kind"] == "system" and table["line"] == 9
    assert table["columns"] == ["Metric", "Value"]
    metric = table["metrics"][2]
    assert metric["label"] == "Request Count (count)"
    assert metric["stats"] == {"Value": 40.0}
    assert metric.get("unit") == "count" and metric.get("nope", 7) == 7
    assert as_dict["tables"][1]["metrics"][2] == {
        "label": "Request Count (count)",
        "name": "Request Count",
        "unit": "count",
        "stats": {"Value": 40.0},
    }
    assert table.to_dict() == as_dict["tables"][1]
    with pytest.raises(KeyError):
        results["nope"]


def test_gpu_rows_keep_their_attributes(tmp_path: Path) -> None:
    path = tmp_path / "x_genai_perf.csv"
    path.write_text(
        "Metric,avg\r\nRequest Latency (ms),1.00\r\n\r\n"
        "Metric,GPU,avg\r\nGPU Power Usage (W),gpu0,10.50\r\nGPU Power Usage (W),gpu1,11.25\r\n"
    )
    gpu = cdr.read_results(path).tables[1]
    assert gpu.kind == "gpu_telemetry"
    assert [(m.attributes, m.value) for m in gpu.metrics] == [
        ({"GPU": "gpu0"}, 10.5),
        ({"GPU": "gpu1"}, 11.25),
    ]
