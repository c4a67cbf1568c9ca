"""The `security` section's cross-references and constraints: each mistake is a spec error (exit 2) at its line."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from gpuctl.errors import SpecError
from gpuctl.loader import load_site_text
from tests.conftest import ROOT

LAB = ROOT / "inventories" / "lab" / "site.yaml"
BASE: dict[str, Any] = yaml.safe_load(LAB.read_text())


def problems(security: dict[str, Any]) -> list[str]:
    data = copy.deepcopy(BASE)
    data["security"] = security
    with pytest.raises(SpecError) as err:
        load_site_text(yaml.safe_dump(data, sort_keys=False), str(LAB))
    return [f"{p.path}: {p.message}" for p in err.value.problems]


@pytest.mark.parametrize(
    ("security", "expected"),
    [
        (
            {"clients": [{"name": "gpuctl-gateway", "team": "t", "deployments": ["qwen-7b"]}]},
            "security.clients[gpuctl-gateway].name: 'gpuctl-gateway' is the gateway's own identity",
        ),
        (
            {"clients": [{"name": "a", "team": "t", "deployments": ["nope"]}]},
            "security.clients[a].deployments[0]: unknown deployment 'nope'",
        ),
        (
            {
                "clients": [{"name": "a", "team": "x", "deployments": ["qwen-7b"]}],
                "teams": [{"name": "lab", "namespaces": ["inference"], "access": "view"}],
            },
            "security.clients[a].team: unknown team 'x'; declared: lab",
        ),
        (
            {
                "clients": [
                    {"name": "a", "team": "t", "deployments": ["qwen-7b"]},
                    {"name": "a", "team": "t", "deployments": ["qwen-7b"]},
                ]
            },
            "duplicate client name 'a'",
        ),
        (
            {"firewall": {"allow": [{"name": "x", "port": 443, "from_network": "nowhere"}]}},
            "security.firewall.allow[x].from_network: unknown network 'nowhere'",
        ),
        ({"certificates": {"client_days": 10, "renew_before_days": 14}}, "renew_before_days 14 must be below"),
        ({"ca": {"source": "external"}}, "an external CA needs cert_file and key_file"),
    ],
)
def test_each_mistake_is_named_at_its_path(security: dict[str, Any], expected: str) -> None:
    found = problems(security)
    assert any(expected in p for p in found), found
