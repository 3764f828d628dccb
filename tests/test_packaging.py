"""What `pip install .` gives: the report's plots by default (matplotlib is a dependency), and
a dry-run that does not pay for them (matplotlib is imported only when a report is written),
nor for anything else it does not use (argparse, pathlib, typing, the runner: see cli_args)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "conf" / "local"
#: Modules a plain dry-run has no use for (signal: its enums; `_signal` does the work).
NOT_FOR_DRY_RUN = (
    "matplotlib",
    "pandas",
    "argparse",
    "pathlib",
    "typing",
    "signal",
    "json",
    "cloudai_dynamo_rs.runner",
)


def test_matplotlib_is_a_default_dependency() -> None:
    requirements = [Requirement(r) for r in importlib.metadata.requires("cloudai-dynamo-rs") or []]
    default = [r.name for r in requirements if r.marker is None]
    assert "matplotlib" in default


def test_dry_run_imports_only_what_it_needs(tmp_path: Path) -> None:
    tests = tmp_path / "test"
    tests.mkdir()
    text = (LOCAL / "test" / "mocker_genai_perf.toml").read_text()
    hf_home = 'HF_HOME = "/opt/cloudaix-stack/tiny-model"'
    assert hf_home in text
    (tests / "t.toml").write_text(text.replace(hf_home, f'HF_HOME = "{tmp_path}"'))
    probe = (
        "import sys\n"
        "from cloudai_dynamo_rs import cli\n"
        "rc = cli.main(sys.argv[1:])\n"
        f"print('imported:', sorted(m for m in {NOT_FOR_DRY_RUN!r} if m in sys.modules))\n"
        "sys.exit(rc)\n"
    )
    args = [
        "dry-run",
        "--system-config", str(LOCAL / "system" / "baremetal.toml"),
        "--tests-dir", str(tests),
        "--test-scenario", str(LOCAL / "test_scenario" / "mocker_genai_perf.toml"),
        "--output-dir", str(tmp_path / "out"),
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(tmp_path.glob("out/*/1p1d/0/cloudai_sbatch_script.sh"))  # it did write the scripts
    assert "imported: []" in done.stdout.splitlines()
