"""Every rule has pass and fail fixtures; each fixture produces exactly the (rule, target) pairs listed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gpuctl.loader import load_site
from gpuctl.rules import RULES, evaluate

HERE = Path(__file__).parent
FIXTURE_DIRS = sorted(p for p in HERE.iterdir() if p.is_dir() and not p.name.startswith("_"))


def pairs(path: Path) -> set[tuple[str, str]]:
    result = evaluate(load_site(path))
    return {(f.rule_id, f.target) for f in result.findings}


def expected(rule_dir: Path, which: str) -> set[tuple[str, str]]:
    data = yaml.safe_load((rule_dir / "expected.yaml").read_text())
    return {(r, t) for r, t in data[which]}


@pytest.mark.parametrize("rule_dir", FIXTURE_DIRS, ids=lambda p: p.name)
def test_fail_fixture_gives_exactly_the_expected_findings(rule_dir: Path) -> None:
    got = pairs(rule_dir / "fail.yaml")
    assert got == expected(rule_dir, "fail")
    assert any(rule_id == rule_dir.name for rule_id, _ in got), "a fail fixture must trip its own rule"


@pytest.mark.parametrize("rule_dir", FIXTURE_DIRS, ids=lambda p: p.name)
def test_pass_fixture_gives_exactly_the_expected_findings(rule_dir: Path) -> None:
    assert pairs(rule_dir / "pass.yaml") == expected(rule_dir, "pass")


def test_every_rule_has_pass_and_fail_fixtures() -> None:
    ids = {r.id for r in RULES}
    dirs = {p.name for p in FIXTURE_DIRS}
    assert ids - dirs == set(), f"rules without fixtures: {sorted(ids - dirs)}"
    assert dirs - ids == set(), f"fixtures for unknown rules: {sorted(dirs - ids)}"
    for d in FIXTURE_DIRS:
        for name in ("pass.yaml", "fail.yaml", "expected.yaml"):
            assert (d / name).is_file(), f"{d.name}/{name} missing"
