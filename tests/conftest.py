"""Shared fixtures: paths of the repository's example and test configurations; helpers of the
end-to-end tests and the CLI's flags (``from conftest import wait_for, scenario_flags``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


@pytest.fixture
def seed_text() -> str:
    return (DATA / "config" / "seed_test.toml").read_text()


@pytest.fixture
def conf_dir() -> Path:
    return ROOT / "conf" / "staging" / "ai_dynamo"


def seed_inputs(tmp_path: Path, test_text: str, conf_dir: Path) -> dict[str, Path]:
    """The staging system and scenario and ``test_text`` as ``tests/t.toml`` (its HF_HOME an
    existing directory under ``tmp_path``)."""
    hf = tmp_path / "hf"
    hf.mkdir()
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "t.toml").write_text(test_text.replace("/your/path/to/hf_home", str(hf)))
    return {
        "system": conf_dir / "system" / "oci.toml",
        "tests": tests,
        "test": tests / "t.toml",
        "scenario": conf_dir / "test_scenario" / "ai_dynamo.toml",
        "out": tmp_path / "out",
    }


@pytest.fixture
def inputs(tmp_path: Path, seed_text: str, conf_dir: Path) -> dict[str, Path]:
    """The staging system and scenario, the seed test with a 2-case concurrency sweep."""
    sweep = seed_text.replace("streaming = true", "streaming = true\nconcurrency = [1, 4]")
    return seed_inputs(tmp_path, sweep, conf_dir)


def scenario_flags(system: Path, tests: Path, scenario: Path, out: Path | None = None) -> list[str]:
    """The command-line flags that name a scenario's three inputs (and the output directory)."""
    flags = ["--system-config", str(system), "--tests-dir", str(tests)]
    flags += ["--test-scenario", str(scenario)]
    return flags + (["--output-dir", str(out)] if out is not None else [])


def wait_for(predicate, timeout: float, what: str) -> None:
    """Poll ``predicate`` every half second; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


#: A scenario whose load lasts minutes (for interrupting a running job).
LONG_RUN = """
name = "long"
[[Tests]]
id = "long"
test_name = "mocker_1p1d_genai_perf"
time_limit = "00:05:00"
  [Tests.cmd_args.genai_perf]
  request_count = 100000
"""
