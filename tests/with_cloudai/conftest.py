"""Tests against a real CloudAI, run by `.ci/cloudai` once in a venv per vendored CloudAI
(13816b1a, the seed's; 5b5c0f72, main). Not collected by a plain `pytest` (pyproject's
`norecursedirs`); run explicitly without CloudAI they refuse to start instead of skipping."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cloudai_main() -> bool:
    """CloudAI main (5b5c0f72) ships the current AIDynamo schema's driver scripts."""
    spec = importlib.util.find_spec("cloudai")
    locations = (spec.submodule_search_locations or []) if spec else []
    return any((Path(p) / "workloads" / "ai_dynamo" / "aiperf.sh").is_file() for p in locations)


# CloudAI main's shipped files cannot load under 13816b1a (see that module's docstring).
collect_ignore = [] if _cloudai_main() else ["test_cloudai_main_files.py"]


def pytest_configure(config: pytest.Config) -> None:
    if importlib.util.find_spec("cloudai") is None:
        raise pytest.UsageError(
            "tests/with_cloudai needs CloudAI installed next to cloudai-dynamo-rs: "
            "run .ci/cloudai (one venv per vendored CloudAI)"
        )


@pytest.fixture
def seed_workspace(tmp_path: Path) -> Path:
    """The seed's conf/staging/ai_dynamo with HF_HOME pointed at a directory that exists."""
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf" / "staging" / "ai_dynamo", conf)
    hf_home = tmp_path / "hf"
    hf_home.mkdir()
    test = conf / "test" / "llama3.1_405b_fp8.toml"
    test.write_text(test.read_text().replace("/your/path/to/hf_home", str(hf_home)))
    return tmp_path
