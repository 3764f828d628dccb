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
