"""The flows every rendered NetworkPolicy together allows, evaluated (tests/render/netpol.py) on each example
site's objects:
each component reaches what it must (Prometheus every metrics port, the router its engines, the burst gateway its
router and the burst endpoint), and a pod elsewhere in the cluster reaches nothing of the serving layer."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from gpuctl.loader import load_site, load_site_text
from gpuctl.render import burst, router
from gpuctl.render.objects import site_objects
from gpuctl.render.security import engine_tls
from tests.conftest import ROOT

from .netpol import Endpoint, Policies, pods

COMPONENT = "gpuctl.io/component"


SITES = sorted((ROOT / "inventories").glob("*/site.yaml"))


@pytest.fixture(scope="module", params=SITES, ids=[p.parent.name for p in SITES])
def site_policies(request: pytest.FixtureRequest) -> tuple[Any, list[dict[str, Any]], Policies]:
    site = load_site(request.param).site
    objects = site_objects(site)
    return site, objects, Policies(objects)


def pod(objects: list[dict[str, Any]], name: str) -> Endpoint:
    return next(p for p in pods(objects) if p.name == name)


def prometheus(site: Any) -> Endpoint:
    return Endpoint("prometheus", site.security.monitoring_namespace, {"app.kubernetes.io/name": "prometheus"})


def test_prometheus_reaches_every_metrics_port(site_policies: tuple[Any, list[dict[str, Any]], Policies]) -> None:
    site, objects, policies = site_policies
    scraped = [p for p in pods(objects) if "metrics" in p.ports or p.labels.get(COMPONENT) == "engine"]
    assert len(scraped) >= 2 * len(site.deployments)  # an engine and a router each
    for target in scraped:
        port = target.ports.get("metrics", target.ports.get("http"))
        assert port is not None
        assert policies.allows(prometheus(site), target, port), f"Prometheus cannot scrape {target.name}:{port}"


def test_the_serving_chain_is_open(site_policies: tuple[Any, list[dict[str, Any]], Policies]) -> None:
    site, objects, policies = site_policies
    for dep in site.deployments:
        engine, rtr = pod(objects, dep.name), pod(objects, router.name(dep))
        assert policies.allows(rtr, engine, engine.ports["http"]), f"{dep.name}: router -> engine"
        if dep.burst is not None:
            gw = pod(objects, burst.name(dep))
            assert policies.allows(gw, rtr, router.PORT), f"{dep.name}: burst gateway -> router"
            outside = Endpoint("burst-endpoint", ip="203.0.113.10")
            assert policies.allows(gw, outside, 443), f"{dep.name}: burst gateway -> burst endpoint"


def test_a_pod_elsewhere_reaches_no_serving_port(site_policies: tuple[Any, list[dict[str, Any]], Policies]) -> None:
    site, objects, policies = site_policies
    stranger = Endpoint("stranger", "default", {"app": "curious"})
    serving = {d.namespace for d in site.deployments}
    targets = [p for p in pods(objects) if p.namespace in serving]
    assert targets or not site.deployments
    for target in targets:
        for port in target.ports.values():
            assert not policies.allows(stranger, target, port), f"a pod in default reaches {target.name}:{port}"


def test_the_evaluator_can_say_yes_and_no() -> None:
    """Its own semantics, on a hand-written pair of policies, so the tests above cannot pass by accident."""
    objects = [
        {
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": "a"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        },
        {
            "kind": "NetworkPolicy",
            "metadata": {"name": "web", "namespace": "a"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "web"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"from": [{"namespaceSelector": {"matchLabels": {"team": "x"}}}], "ports": [{"port": "http"}]}
                ],
            },
        },
        {"kind": "Namespace", "metadata": {"name": "b", "labels": {"team": "x"}}},
    ]
    policies = Policies(objects)
    web = Endpoint("web", "a", {"app": "web"}, {"http": 80})
    db = Endpoint("db", "a", {"app": "db"}, {"pg": 5432})
    friend, other = Endpoint("f", "b"), Endpoint("o", "c")
    assert policies.allows(friend, web, 80)
    assert not policies.allows(friend, web, 81)
    assert not policies.allows(other, web, 80)
    assert not policies.allows(friend, db, 5432)
    assert policies.allows(web, friend, 1234)  # namespace b has no policy


def _engine_pods(objects: list[dict[str, Any]], dep: str) -> list[Endpoint]:
    return [p for p in pods(objects) if p.labels.get(COMPONENT, "").startswith("engine")
            and p.labels.get("gpuctl.io/deployment") == dep]  # fmt: skip


def test_engine_pods_reach_their_weight_source(site_policies: tuple[Any, list[dict[str, Any]], Policies]) -> None:
    """The stage-weights init container runs in the engine pod: the site's default-deny must let it fetch the
    source (a DNS name: its port to any address; NetworkPolicy cannot name a host)."""
    site, objects, policies = site_policies
    staged = [d for d in site.deployments if d.source is not None and not d.source.is_nfs]
    for dep in staged:
        assert dep.source is not None
        url = urlsplit(dep.source.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        mirror = Endpoint("weights", ip="198.51.100.20")
        for engine in _engine_pods(objects, dep.name):
            assert policies.allows(engine, mirror, port), f"{dep.name}: {engine.name} cannot fetch {dep.source.url}"
            assert not policies.allows(engine, mirror, port + 1), f"{dep.name}: more than the source's port is open"


def test_an_ip_source_opens_only_that_address() -> None:
    text = (ROOT / "inventories" / "fra1" / "site.yaml").read_text()
    assert "https://models.fra1.example.net/" in text
    site = load_site_text(text.replace("https://models.fra1.example.net/", "https://10.20.3.4:8443/"), "s.yaml").site
    objects = site_objects(site)
    policies = Policies(objects)
    (dep,) = [d for d in site.deployments if d.source is not None]
    engines = _engine_pods(objects, dep.name)
    assert engines
    for engine in engines:
        assert policies.allows(engine, Endpoint("mirror", ip="10.20.3.4"), 8443)
        assert not policies.allows(engine, Endpoint("other", ip="10.20.3.5"), 8443)
        assert not policies.allows(engine, Endpoint("mirror", ip="10.20.3.4"), 443)
    rtr = pod(objects, router.name(dep))
    assert not policies.allows(rtr, Endpoint("mirror", ip="10.20.3.4"), 8443)  # the router stages nothing


def test_only_its_own_router_reaches_an_engines_api(site_policies: tuple[Any, list[dict[str, Any]], Policies]) -> None:
    """The engine's plain API port forwards with the deployment's client certificate: Prometheus (on the proxy's
    metrics-only listener) and other deployments' routers must not reach it."""
    site, objects, policies = site_policies
    for dep in site.deployments:
        engine, own = pod(objects, dep.name), pod(objects, router.name(dep))
        api = engine.ports["http"]
        assert policies.allows(own, engine, api), f"{dep.name}: its router -> engine"
        for other in site.deployments:
            if other.name != dep.name and other.namespace == dep.namespace:
                stranger = pod(objects, router.name(other))
                assert not policies.allows(stranger, engine, api), f"{other.name}'s router reaches {dep.name}"
        if engine_tls.enabled(site, dep):
            assert not policies.allows(prometheus(site), engine, api), f"{dep.name}: monitoring reaches the API"
            assert policies.allows(prometheus(site), engine, engine.ports["metrics"])
