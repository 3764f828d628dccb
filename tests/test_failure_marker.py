"""The failure marker as the job scripts write it, read back by the core's ``failure_cause``.

The markers are produced by running the scripts' own ``fail`` helper (cut from
src/render/launch_common.sh, shared by both schema generations) under bash, so a change of
the line the scripts write and the reader drifting apart fails here.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cloudai_dynamo_rs import _core
from cloudai_dynamo_rs.runner.status import failure_cause, failure_marker_text

RENDER = Path(__file__).resolve().parent.parent / "src" / "render"


def _fail_function() -> str:
    text = (RENDER / "launch_common.sh").read_text()
    match = re.search(r"^fail\(\) \{\n.*?^\}\n", text, re.S | re.M)
    assert match, "fail() not found in launch_common.sh"
    return match.group(0)


def _run_fail(run_dir: Path, marker: str, process: str, code: str, log: str) -> None:
    """Call the scripts' ``fail`` as a node of the job would, with one log file."""
    (run_dir / "w.log").write_text(log)
    script = (
        "log() { :; }\n"
        + _fail_function()
        + 'ROLE=prefill NODE_ID=2 HOST=node3 RESULTS_DIR="$1"\n'
        + f'FAILURE_MARKER="$1/{marker}"\n'
        + 'fail "$2" "$3" "$1/w.log"\n'
    )
    proc = subprocess.run(
        ["bash", "-c", script, "bash", str(run_dir), process, code],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr


@pytest.mark.parametrize("marker", _core.FAILURE_MARKERS)
def test_marker_of_either_schema_reads_back(tmp_path: Path, marker: str) -> None:
    _run_fail(tmp_path, marker, "dynamo", "137", "loading model\nCUDA out of memory\n")
    text = failure_marker_text(tmp_path)
    assert text is not None
    assert failure_cause(text) == (
        "prefill worker on node 2 (host node3, process dynamo) exited with code 137"
        ": CUDA out of memory"
    )


def test_process_name_with_spaces_is_kept_whole(tmp_path: Path) -> None:
    # current_body.sh: fail "$name setup" "$?" … and fail "$name: no … under …" 1 …
    _run_fail(tmp_path, "failure-marker.txt", "aiperf: no aiperf under /r/a", "1", "")
    text = (tmp_path / "failure-marker.txt").read_text()
    assert failure_cause(text) == (
        "prefill worker on node 2 (host node3, process aiperf: no aiperf under /r/a) "
        "exited with code 1"
    )


def test_dcgm_exporter_marker_line() -> None:
    # The DCGM exporter step writes its own first line (src/render/aux_steps.rs).
    source = (RENDER / "aux_steps.rs").read_text()
    line = re.search(r'echo "(role=dcgm_exporter [^"]*)"', source)
    assert line
    text = f"{line.group(1)}\nDCGM exporter step ended before http://n1:9400/metrics answered\n"
    assert failure_cause(text) == (
        "dcgm exporter (process dcgm-exporter) exited with code 1"
        ": DCGM exporter step ended before http://n1:9400/metrics answered"
    )


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("", "failure marker: empty"),
        ("segfault\n\n  last words  \n", "failure marker: segfault: last words"),
        ("role=decode exit=\n", "decode worker failed"),
        ("role=frontend\n" + "x" * 400 + "\n", "frontend failed: " + "x" * 300),
    ],
)
def test_marker_outside_the_format(text: str, cause: str) -> None:
    assert _core.failure_cause(text) == cause
