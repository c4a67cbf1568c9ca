from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

# The real serving parts' session fixtures (vLLM CPU replicas, vllm-router, Prometheus), usable from any test dir.
pytest_plugins = ["tests.realparts.fixtures", "tests.security.flows"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "inventories" / "fra1" / "site.yaml"
FAILING = ROOT / "inventories" / "ams2" / "site.yaml"


def missing_part(reason: str) -> NoReturn:
    """A real part a test needs is not installed: a skip on a developer's machine, a failure in CI (CI or
    GPUCTL_REQUIRE_LAB set, as .ci/run does), where every part must run."""
    if os.environ.get("CI") or os.environ.get("GPUCTL_REQUIRE_LAB"):
        pytest.fail(f"a real part is missing: {reason}")
    pytest.skip(reason)


@pytest.fixture
def example_site() -> Path:
    return EXAMPLE
