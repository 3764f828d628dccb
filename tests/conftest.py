"""Shared fixtures: paths of the repository's example and test configurations."""

from __future__ import annotations

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


@pytest.fixture
def inputs(tmp_path: Path, seed_text: str, conf_dir: Path) -> dict[str, Path]:
    """The staging system and scenario, the seed test with a 2-case concurrency sweep."""
    hf = tmp_path / "hf"
    hf.mkdir()
    tests = tmp_path / "tests"
    tests.mkdir()
    text = seed_text.replace("/your/path/to/hf_home", str(hf))
    (tests / "t.toml").write_text(
        text.replace("streaming = true", "streaming = true\nconcurrency = [1, 4]")
    )
    return {
        "system": conf_dir / "system" / "oci.toml",
        "tests": tests,
        "scenario": conf_dir / "test_scenario" / "ai_dynamo.toml",
        "out": tmp_path / "out",
    }
