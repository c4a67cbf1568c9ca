"""The site's NetworkPolicies, all of them (security's default-deny and flows, the serving and router policies,
observability's own), evaluated for the flows monitoring needs: Prometheus -> every pod a PodMonitor scrapes, on
the port it scrapes, and each engine -> the OpenTelemetry Collector when the site traces.

The evaluator follows the NetworkPolicy semantics of the Kubernetes API reference (networking.k8s.io/v1): a pod
no policy of a direction selects is open in that direction; otherwise a flow passes if any selecting policy's
rule admits the peer (namespaceSelector/podSelector, same namespace without namespaceSelector) and the port
(number, or a container port's name on the destination); a flow needs the source's egress and the destination's
ingress. ipBlock peers never match a pod here (Prometheus is a pod)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gpuctl.loader import load_site
from gpuctl.model import Site
from gpuctl.render.labels import COMPONENT
from gpuctl.render.objects import site_objects
from gpuctl.render.obs.flows import network_policies as observability_flows
from gpuctl.render.obs.otel import COLLECTOR

ROOT = Path(__file__).parent.parent.parent
SITES = [ROOT / "inventories" / name / "site.yaml" for name in ("fra1", "lab")]
Obj = dict[str, Any]


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str]
    ports: dict[str, int]  # named container ports


def pod_templates(obj: Any) -> list[Obj]:
    """Every pod template inside a workload object (Deployment, LeaderWorkerSet leader and worker, ...)."""
    if not isinstance(obj, dict):
        return [t for item in obj for t in pod_templates(item)] if isinstance(obj, list) else []
    if isinstance(obj.get("spec"), dict) and "containers" in obj["spec"]:
        return [obj]
    return [t for value in obj.values() for t in pod_templates(value)]


def pods(objects: list[Obj]) -> list[Pod]:
    out = []
    for obj in objects:
        if obj["kind"] in {"ConfigMap", "PrometheusRule"}:
            continue
        for template in pod_templates(obj.get("spec", {})):
            ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
            out.append(Pod(obj["metadata"]["namespace"], template["metadata"].get("labels", {}), ports))
    return out


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        value, present = labels.get(e["key"]), e["key"] in labels
        ok = {
            "In": present and value in e.get("values", []),
            "NotIn": not present or value not in e.get("values", []),
            "Exists": present,
            "DoesNotExist": not present,
        }[e["operator"]]
        if not ok:
            return False
    return True


def peer_matches(peer: Obj, policy_ns: str, pod: Pod) -> bool:
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        ns_ok = selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": pod.namespace})
    else:
        ns_ok = pod.namespace == policy_ns
    return ns_ok and selects(peer.get("podSelector", {}), pod.labels)


def port_matches(rule_ports: list[Obj] | None, port: int, named: dict[str, int]) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if "port" not in p:
            return True
        number = named.get(p["port"]) if isinstance(p["port"], str) else p["port"]
        if number is not None and number <= port <= p.get("endPort", number):
            return True
    return False


def admits(policies: list[Obj], pod: Pod, peer: Pod, port: int, direction: str) -> bool:
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    named = pod.ports if direction == "Ingress" else peer.ports
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and selects(p["spec"]["podSelector"], pod.labels)
    ]
    if not selecting:
        return True
    return any(
        (peers_key not in rule or any(peer_matches(x, p["metadata"]["namespace"], peer) for x in rule[peers_key]))
        and port_matches(rule.get("ports"), port, named)
        for p in selecting
        for rule in p["spec"].get(key, [])
    )


def flow(policies: list[Obj], source: Pod, dest: Pod, port: int) -> bool:
    return admits(policies, source, dest, port, "Egress") and admits(policies, dest, source, port, "Ingress")


def scrape_targets(objects: list[Obj]) -> list[tuple[str, Pod, int]]:
    """(monitor, pod, port) for every pod each PodMonitor selects."""
    out = []
    everything = pods(objects)
    for mon in (o for o in objects if o["kind"] == "PodMonitor"):
        ns = mon["metadata"]["namespace"]
        for pod in everything:
            if pod.namespace != ns or not selects(mon["spec"]["selector"], pod.labels):
                continue
            for endpoint in mon["spec"]["podMetricsEndpoints"]:
                port = pod.ports.get(endpoint["port"]) if "port" in endpoint else endpoint["portNumber"]
                assert port is not None, f"{mon['metadata']['name']}: pod has no port {endpoint['port']!r}"
                out.append((mon["metadata"]["name"], pod, port))
    return out


def prometheus(site: Site) -> Pod:
    return Pod(site.security.monitoring_namespace, {"app.kubernetes.io/name": "prometheus"}, {})


@pytest.mark.parametrize("path", SITES, ids=lambda p: p.parent.name)
def test_prometheus_reaches_every_pod_a_monitor_scrapes(path: Path) -> None:
    site = load_site(path).site
    objects = site_objects(site)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    targets = scrape_targets(objects)
    monitors = {o["metadata"]["name"] for o in objects if o["kind"] == "PodMonitor"}
    assert {m for m, _, _ in targets} == monitors, "a PodMonitor selects no pod"
    blocked = [(m, p.labels, port) for m, p, port in targets if not flow(policies, prometheus(site), p, port)]
    assert blocked == []
    # Without observability's own policies the routers' metrics are shut: the evaluator can say no.
    ours = {o["metadata"]["name"] for o in observability_flows(site)}
    others = [p for p in policies if p["metadata"]["name"] not in ours]
    shut = {m for m, p, port in targets if not flow(others, prometheus(site), p, port)}
    assert shut == {f"{d.name}-router" for d in site.deployments}


def test_engines_reach_the_collector_when_the_site_traces() -> None:
    site = load_site(SITES[0]).site
    assert site.observability.trace_backend_url is not None
    objects = site_objects(site)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    (collector,) = [p for p in pods(objects) if p.labels.get("app.kubernetes.io/name") == COLLECTOR]
    engines = [p for p in pods(objects) if p.labels.get(COMPONENT) == "engine"]
    assert len(engines) == len(site.deployments)
    port = site.observability.otlp_collector_port
    assert all(flow(policies, e, collector, port) for e in engines)
    assert not any(flow(policies, e, collector, port + 1) for e in engines)  # only the OTLP port
    ours = {o["metadata"]["name"] for o in observability_flows(site)}
    others = [p for p in policies if p["metadata"]["name"] not in ours]
    assert not any(flow(others, e, collector, port) for e in engines)  # default-deny alone shuts it
