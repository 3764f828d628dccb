"""pytest plugin: CloudAI's own test suite with cloudai-dynamo-rs registered as its AIDynamo
(`.ci/cloudai --own-suite`: `pytest -p cloudai_dynamo_rs_registered` in CloudAI's source)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    from cloudai_dynamo_rs.cloudai_plugin import register

    register()
