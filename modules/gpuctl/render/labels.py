"""Labels and selectors of the serving objects: every object of a deployment carries its name and its component
(engine, engine-worker, router, gateway), so a selector never catches another component's pods."""

from __future__ import annotations

from typing import Any

from ..model import Deployment, Site
from .k8s import LABEL_PREFIX, MANAGED_BY

COMPONENT = f"{LABEL_PREFIX}/component"
DEPLOYMENT = f"{LABEL_PREFIX}/deployment"


def labels(dep: Deployment, component: str) -> dict[str, str]:
    return {**MANAGED_BY, "app.kubernetes.io/name": dep.name, DEPLOYMENT: dep.name, COMPONENT: component}


def selector(dep: Deployment, component: str) -> dict[str, str]:
    return {DEPLOYMENT: dep.name, COMPONENT: component}


def client_peers(dep: Deployment) -> list[dict[str, Any]]:
    """NetworkPolicy peers of the deployment's declared clients."""
    sources: list[dict[str, Any]] = []
    for c in dep.clients:
        if c.cidr:
            sources.append({"ipBlock": {"cidr": str(c.cidr)}})
        else:
            peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": c.namespace}}}
            if c.pod_labels:
                peer["podSelector"] = {"matchLabels": dict(c.pod_labels)}
            sources.append(peer)
    return sources


def monitoring_peer(site: Site) -> dict[str, Any]:
    """NetworkPolicy peer of the site's Prometheus (its namespace, `security.monitoring_namespace`)."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": site.security.monitoring_namespace}}}
