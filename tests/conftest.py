from __future__ import annotations

from pathlib import Path

import pytest

# The real serving parts' session fixtures (vLLM CPU replicas, vllm-router, Prometheus), usable from any test dir.
pytest_plugins = ["tests.realparts.fixtures", "tests.security.flows"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "inventories" / "fra1" / "site.yaml"
FAILING = ROOT / "inventories" / "ams2" / "site.yaml"


@pytest.fixture
def example_site() -> Path:
    return EXAMPLE
