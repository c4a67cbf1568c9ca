"""A missing real part (Prometheus, Alertmanager...) skips on a developer's machine and fails in CI."""

from __future__ import annotations

import pytest

from tests.conftest import missing_part


@pytest.mark.parametrize("variable", ["CI", "GPUCTL_REQUIRE_LAB"])
def test_a_missing_part_fails_in_ci(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GPUCTL_REQUIRE_LAB", raising=False)
    monkeypatch.setenv(variable, "1")
    with pytest.raises(pytest.fail.Exception, match="a real part is missing: no prometheus"):
        missing_part("no prometheus")


def test_a_missing_part_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("GPUCTL_REQUIRE_LAB", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no prometheus"):
        missing_part("no prometheus")
