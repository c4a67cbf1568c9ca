"""CrossGuard policies: validate functions with constructed args, and over the graph recorded under mocks."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)

from gpuctl.infra.policies import policies
from gpuctl.rules import RULES

from .harness import run_program


def resource(typ: str, name: str, props: dict[str, Any]) -> PolicyResource:
    opts = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )
    return PolicyResource(typ, props, f"urn:pulumi:test::gpuctl::{typ}::{name}", name, opts, None, None, [], {})


def run_policies(resources: list[PolicyResource]) -> dict[str, list[str]]:
    args = StackValidationArgs(resources)
    out: dict[str, list[str]] = {}
    for p in policies():
        found: list[str] = []
        p.validate(args, lambda message, urn=None, found=found: found.append(message))  # type: ignore[misc]
        if found:
            out[p.name] = found
    return out


def recorded(site_file: str) -> list[PolicyResource]:
    run = run_program(site_file, validate=False)
    return [resource(r.type, r.name, r.inputs) for r in run.mocks.resources]


def test_one_policy_per_rule_with_enforcement_from_severity() -> None:
    ps = {p.name: p for p in policies()}
    assert set(ps) == {r.slug for r in RULES}
    assert ps["rack-power-budget"].enforcement_level == EnforcementLevel.MANDATORY
    assert ps["psu-feed-loss"].enforcement_level == EnforcementLevel.ADVISORY


def test_clean_site_graph_has_no_violations() -> None:
    assert run_policies(recorded("inventories/fra1/site.yaml")) == {}


def test_failing_site_graph_reports_its_rules() -> None:
    violations = run_policies(recorded("inventories/ams2/site.yaml"))
    assert {
        "rack-power-budget",
        "feed-redundancy",
        "cooling-capacity",
        "bond-link-monitoring",
        "vram-fit",
        "tensor-parallel-layout",
    } <= set(violations)
    assert any("40.8 kW > 34.5 kW usable on feed A alone" in m for m in violations["feed-redundancy"])


def test_constructed_args_without_a_spec_report_once() -> None:
    violations = run_policies([resource("gpuctl:dc:Site", "broken", {"name": "broken"})])
    assert list(violations) == [RULES[0].slug]
    assert "carries no spec" in violations[RULES[0].slug][0]


def test_constructed_spec_with_an_overloaded_rack() -> None:
    spec = {
        "name": "t",
        "racks": [
            {
                "name": "r1",
                "static_weight_rating_kg": 1000,
                "cooling": {"type": "air_open"},
                "contracted_kw": 5,
                "power": {"a": {"circuits": [{"voltage_v": 415, "amps": 32, "phases": 3}]}},
                "servers": [{"name": "s1", "model": "dgx-a100", "position_u": 1}],
            }
        ],
    }
    violations = run_policies([resource("gpuctl:dc:Site", "t", {"spec": spec})])
    assert list(violations) == ["rack-power-budget"]
    assert "6.5 kW > 5.0 kW contracted" in violations["rack-power-budget"][0]
