"""Every NetworkPolicy of a site (security's default-deny and flows, the serving, router and gateway policies,
observability's own) evaluated by tests/render/netpol.py for what observability needs: Prometheus -> every pod each
PodMonitor selects, on the port that monitor scrapes; each engine -> the OpenTelemetry Collector when the site
traces (and only on the OTLP port)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gpuctl.loader import load_site, load_site_text
from gpuctl.model import Site
from gpuctl.render.labels import COMPONENT
from gpuctl.render.objects import site_objects
from gpuctl.render.obs.flows import network_policies as observability_flows
from gpuctl.render.obs.otel import COLLECTOR
from tests.conftest import ROOT
from tests.render.netpol import Endpoint, Policies, matches, pods

SITES = [ROOT / "inventories" / name / "site.yaml" for name in ("fra1", "lab")]


def prometheus(site: Site) -> Endpoint:
    return Endpoint("prometheus", site.security.monitoring_namespace, {"app.kubernetes.io/name": "prometheus"})


def scrape_targets(objects: list[dict[str, Any]]) -> list[tuple[str, Endpoint, int]]:
    """(monitor, pod, port) for every pod each PodMonitor selects, at the port it scrapes."""
    out = []
    for mon in (o for o in objects if o["kind"] == "PodMonitor"):
        for pod in pods(objects):
            if pod.namespace != mon["metadata"]["namespace"] or not matches(mon["spec"]["selector"], pod.labels):
                continue
            for endpoint in mon["spec"]["podMetricsEndpoints"]:
                port = pod.ports.get(endpoint["port"]) if "port" in endpoint else endpoint["portNumber"]
                assert port is not None, f"{mon['metadata']['name']}: {pod.name} has no port {endpoint['port']!r}"
                out.append((mon["metadata"]["name"], pod, port))
    return out


@pytest.mark.parametrize("path", SITES, ids=lambda p: p.parent.name)
def test_prometheus_reaches_every_pod_a_monitor_scrapes(path: Path) -> None:
    site = load_site(path).site
    objects = site_objects(site)
    targets = scrape_targets(objects)
    monitors = {o["metadata"]["name"] for o in objects if o["kind"] == "PodMonitor"}
    assert {m for m, _, _ in targets} == monitors, "a PodMonitor selects no pod"
    policies = Policies(objects)
    assert [(m, p.name, port) for m, p, port in targets if not policies.allows(prometheus(site), p, port)] == []


def test_engines_reach_the_collector_when_the_site_traces() -> None:
    site = load_site(SITES[0]).site
    assert site.observability.trace_backend_url is not None
    objects = site_objects(site)
    policies = Policies(objects)
    (collector,) = [p for p in pods(objects) if p.labels.get("app.kubernetes.io/name") == COLLECTOR]
    engines = [p for p in pods(objects) if p.labels.get(COMPONENT) == "engine"]
    assert len(engines) >= len(site.deployments)
    port = site.observability.otlp_collector_port
    assert all(policies.allows(e, collector, port) for e in engines)
    assert not any(policies.allows(e, collector, port + 1) for e in engines)  # only the OTLP port
    ours = {o["metadata"]["name"] for o in observability_flows(site)}
    without = Policies([o for o in objects if o["kind"] != "NetworkPolicy" or o["metadata"]["name"] not in ours])
    assert not any(without.allows(e, collector, port) for e in engines)  # security's default-deny alone shuts it


def test_where_prometheus_runs_is_one_fact_every_policy_follows() -> None:
    """`security.monitoring_namespace` is the one place the spec says where Prometheus runs (the observability
    section names gpuctl's own namespace and the release label, not Prometheus's namespace): move it, and every
    policy admits the Prometheus there and none admits one left in the old namespace."""
    text = SITES[0].read_text()
    assert "monitoring_namespace" not in text
    moved = load_site_text(text.replace("security:\n", "security:\n  monitoring_namespace: prom-system\n", 1), "m.yaml")
    site = moved.site
    assert site.security.monitoring_namespace == "prom-system"
    objects = site_objects(site)
    targets = scrape_targets(objects)
    policies = Policies(objects)
    assert targets and all(policies.allows(prometheus(site), p, port) for _, p, port in targets)
    stale = Endpoint("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"})
    assert not any(policies.allows(stale, p, port) for _, p, port in targets)
