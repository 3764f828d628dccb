"""summary.csv opened in a spreadsheet: user text that starts like a formula (``=``, ``+``,
``-``, ``@``) is written as text (a leading ``'``), numbers are written as numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from cloudai_dynamo_rs import _core
from cloudai_dynamo_rs.report import generate_report

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "results"


def test_core_rule() -> None:
    assert _core.csv_text_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _core.csv_text_cell("@SUM(A1)") == "'@SUM(A1)"
    assert _core.csv_text_cell("-2+3") == "'-2+3"
    assert _core.csv_text_cell("-2.5") == "-2.5"
    assert _core.csv_text_cell("llama") == "llama"


def test_formula_like_text_in_summary_is_text(tmp_path: Path) -> None:
    run_dir = tmp_path / "@T" / "0" / "1"  # <test id>/<iteration>/<step>
    run_dir.mkdir(parents=True)
    record = {
        "id": "@T",
        "iteration": 0,
        "step": 1,
        "params": {"extra_env_vars.MODE": "=1+2", "genai_perf.concurrency": -4},
        "topology": {"prefill": 1, "decode": 1, "engine_nodes": 2},
    }
    (run_dir / "test-run.json").write_text(json.dumps(record))
    cause = '=HYPERLINK("http://evil")'
    status = {"key": "@T/0/1", "job_id": "7", "slurm_state": "FAILED", "status": "failed"}
    (run_dir / "status.json").write_text(json.dumps({**status, "cause": cause, "elapsed": 1.5}))
    paths = generate_report(tmp_path, 8)
    with open(paths.summary, newline="") as f:
        (row,) = list(csv.DictReader(f))
    # Expected: each text value of the record and status above with a "'" in front.
    assert (row["test_id"], row["extra_env_vars.MODE"], row["cause"]) == (
        "'@T",
        "'=1+2",
        "'" + cause,
    )
    assert row["genai_perf.concurrency"] == "-4"
    assert row["elapsed_s"] == "1.5"
