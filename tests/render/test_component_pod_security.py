"""The router's and the burst gateway's pods meet Pod Security `restricted` (render/security/pss.py, the standard's
controls): they need no privilege, only the engines' pods do (docs/security.md says why)."""

from __future__ import annotations

import pytest

from gpuctl.loader import load_site
from gpuctl.render.objects import site_objects
from gpuctl.render.security import pss
from tests.conftest import ROOT

COMPONENT = "gpuctl.io/component"
SITES = sorted((ROOT / "inventories").glob("*/site.yaml"))


@pytest.mark.parametrize("path", SITES, ids=[p.parent.name for p in SITES])
def test_router_and_gateway_pods_are_restricted(path) -> None:  # type: ignore[no-untyped-def]
    site = load_site(path).site
    pods = {
        o["metadata"]["name"]: o["spec"]["template"]
        for o in site_objects(site)
        if o["kind"] == "Deployment"
        and o["spec"]["template"]["metadata"]["labels"].get(COMPONENT) in {"router", "gateway"}
    }
    assert len(pods) >= len(site.deployments)  # a router each, and the burst gateways
    for name, template in pods.items():
        assert pss.why_not_restricted(template["spec"]) == [], name


def test_the_check_can_fail() -> None:
    site = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
    router = next(
        o for o in site_objects(site) if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-router")
    )
    spec = router["spec"]["template"]["spec"]
    del spec["containers"][0]["securityContext"]["runAsNonRoot"]
    assert pss.level(spec) != "restricted"
