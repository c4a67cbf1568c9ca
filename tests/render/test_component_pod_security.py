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


def _secret_modes(spec: dict) -> dict[str, int]:  # type: ignore[type-arg]
    """Volume name -> file mode of each Secret volume (Kubernetes' default 0644)."""
    return {v["name"]: v["secret"].get("defaultMode", 0o644) for v in spec.get("volumes", []) if "secret" in v}


def unreadable_secrets(spec: dict) -> list[str]:  # type: ignore[type-arg]
    """Containers that mount a Secret they cannot read: Secret files are owned by root and, with a pod fsGroup, by
    that group; a non-root container reads them through the group bits (fsGroup) or the other bits."""
    modes = _secret_modes(spec)
    pod_sc = spec.get("securityContext", {})
    out = []
    for c in [*spec.get("initContainers", []), *spec["containers"]]:
        uid = c.get("securityContext", {}).get("runAsUser", pod_sc.get("runAsUser"))
        for m in c.get("volumeMounts", []):
            if m["name"] not in modes or uid in (None, 0):
                continue
            mode = modes[m["name"]]
            if not (mode & 0o004 or ("fsGroup" in pod_sc and mode & 0o040)):
                out.append(f"{c['name']} (uid {uid}) cannot read {m['name']} (mode {mode:o})")
    return out


@pytest.mark.parametrize("path", SITES, ids=[p.parent.name for p in SITES])
def test_every_container_can_read_the_secrets_it_mounts(path) -> None:  # type: ignore[no-untyped-def]
    templates = [
        (o["metadata"]["name"], o["spec"]["template"]["spec"])
        for o in site_objects(load_site(path).site)
        if o["kind"] == "Deployment"
    ]
    mounted = [name for name, spec in templates if _secret_modes(spec)]
    assert mounted or path.parent.name != "fra1"  # fra1 has the gateway's and the engines' TLS Secrets
    assert [(name, why) for name, spec in templates for why in unreadable_secrets(spec)] == []


def test_the_secret_check_can_fail() -> None:
    spec = {
        "containers": [{"name": "haproxy", "securityContext": {"runAsUser": 99}, "volumeMounts": [{"name": "tls"}]}],
        "volumes": [{"name": "tls", "secret": {"secretName": "x", "defaultMode": 0o400}}],
    }
    assert unreadable_secrets(spec) == ["haproxy (uid 99) cannot read tls (mode 400)"]
    spec["securityContext"] = {"fsGroup": 99}
    assert unreadable_secrets(spec) != []  # 0400: the group bits give nothing
    spec["volumes"][0]["secret"]["defaultMode"] = 0o440
    assert unreadable_secrets(spec) == []
