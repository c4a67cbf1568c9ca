"""The network flow observability needs beyond what security's policies (render/security/k8s.py) and the serving
policies allow, as a NetworkPolicy of its own (policies add up, so it only opens, never closes): each engine pod
-> the OpenTelemetry Collector's OTLP/gRPC port, when the site traces. The serving namespaces' default-deny lets
engine pods reach only their own deployment's pods and DNS, so vLLM's `--otlp-traces-endpoint` would go nowhere.

tests/obs/test_flows.py evaluates every policy of the site (tests/render/netpol.py) for this flow and for every
monitor's targets.
"""

from __future__ import annotations

from typing import Any

from ...model import Deployment, Site
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
    if collector_endpoint(site) is None:
        return []
    collector = _ns_peer(site.observability.namespace, **{"app.kubernetes.io/name": COLLECTOR})
    otlp = {"port": site.observability.otlp_collector_port, "protocol": "TCP"}
    out = []
    for dep in site.deployments:
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
