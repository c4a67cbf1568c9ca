from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "inventories" / "fra1" / "site.yaml"
FAILING = ROOT / "inventories" / "ams2" / "site.yaml"


@pytest.fixture
def example_site() -> Path:
    return EXAMPLE
