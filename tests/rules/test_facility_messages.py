"""FAC rules: the fail fixtures give exactly the listed messages, at the listed lines, each citing its source."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gpuctl.calc.facility import INFLECT_URL
from gpuctl.loader import load_site
from gpuctl.rules import evaluate

HERE = Path(__file__).parent
FAC_DIRS = sorted(HERE.glob("FAC*"))


def test_every_facility_rule_has_message_fixtures() -> None:
    assert [d.name for d in FAC_DIRS] == [f"FAC00{i}" for i in range(1, 10)]


@pytest.mark.parametrize("rule_dir", FAC_DIRS, ids=lambda p: p.name)
def test_fail_fixture_messages_are_exact(rule_dir: Path) -> None:
    want = yaml.safe_load((rule_dir / "expected.yaml").read_text())["fail_messages"]
    findings = [f for f in evaluate(load_site(rule_dir / "fail.yaml")).findings if f.rule_id == rule_dir.name]
    suffix = f" ({INFLECT_URL})"
    assert all(f.message.endswith(suffix) for f in findings)
    assert [[f.line, f.message.removesuffix(suffix)] for f in findings] == want


def test_seed_figures_appear_in_messages() -> None:
    """The guide's figures (>= 20 kW, a path to 30 kW) and the three contract terms are named in the messages."""
    text = " ".join(m for d in FAC_DIRS for _, m in yaml.safe_load((d / "expected.yaml").read_text())["fail_messages"])
    assert ">= 20 kW per rack with a path to >= 30 kW" in text
    for term in ("contract term 1 of 3", "contract term 2 of 3", "contract term 3 of 3"):
        assert term in text
