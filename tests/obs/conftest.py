from __future__ import annotations

import shutil

import pytest

from tests.conftest import missing_part


@pytest.fixture
def promtool_installed() -> None:
    """promtool (Debian's prometheus) checks and unit-tests the generated rules: skipped on a developer's machine
    without it, a failure in CI."""
    if shutil.which("promtool") is None:
        missing_part("promtool missing: apt-get install prometheus")
