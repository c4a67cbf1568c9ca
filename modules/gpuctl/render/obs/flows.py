"""The network flows observability needs beyond what security's policies (render/security/k8s.py) already allow,
as NetworkPolicies of their own (policies add up, so these only open, never close):

- Prometheus (in `security.monitoring_namespace`) -> each router's metrics port: the router's own policy admits
  only its clients on the API port (render/router.py), so its PodMonitor (render/obs/k8s.py) would scrape nothing;
- each engine pod -> the OpenTelemetry Collector's OTLP/gRPC port, when the site traces: the serving namespaces'
  default-deny lets engine pods reach only their own deployment's pods and DNS.

tests/obs/test_flows.py evaluates every policy of the site for these flows and for every monitor's targets.
"""

from __future__ import annotations

from typing import Any

from ...model import Deployment, Site
from .. import router
from ..labels import labels, selector
from .otel import COLLECTOR, collector_endpoint


def _ns_peer(namespace: str, **pod_labels: str) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if pod_labels:
        peer["podSelector"] = {"matchLabels": pod_labels}
    return peer


def _policy(dep: Deployment, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Labelled with the deployment and component `observability` (the pods it selects are another component's)."""
    meta = {"name": f"{dep.name}-{name}", "namespace": dep.namespace, "labels": labels(dep, "observability")}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec}


def network_policies(site: Site) -> list[dict[str, Any]]:
    prometheus = _ns_peer(site.security.monitoring_namespace)
    tracing = collector_endpoint(site) is not None
    collector = _ns_peer(site.observability.namespace, **{"app.kubernetes.io/name": COLLECTOR})
    out = []
    for dep in site.deployments:
        metrics = {"port": router.METRICS_PORT, "protocol": "TCP"}
        out.append(
            _policy(
                dep,
                "router-metrics",
                {
                    "podSelector": {"matchLabels": selector(dep, "router")},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [prometheus], "ports": [metrics]}],
                },
            )
        )
        if tracing:
            otlp = {"port": site.observability.otlp_collector_port, "protocol": "TCP"}
            out.append(
                _policy(
                    dep,
                    "otlp-traces",
                    {
                        "podSelector": {"matchLabels": selector(dep, "engine")},
                        "policyTypes": ["Egress"],
                        "egress": [{"to": [collector], "ports": [otlp]}],
                    },
                )
            )
    return out
