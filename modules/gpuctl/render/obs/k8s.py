"""Observability's Kubernetes objects, for `render.objects.site_objects`: the PrometheusRules (the same groups as
the plain rule files), the scrape of the hosts' dcgm-exporter (a selector-less Service, its EndpointSlice of GPU
node addresses, a ServiceMonitor), a PodMonitor per deployment (every series gets `deployment="<name>"`, which
the serving rules select by), and the dashboard ConfigMaps for the Grafana sidecar.

kube-prometheus-stack only picks up monitors and rules that carry its release label
(`cluster.service_monitor_labels`; OBS002 checks it names `observability.release`).
"""

from __future__ import annotations

from typing import Any

from ... import engines
from ...model import Deployment, Site
from .. import burst
from ..k8s import LABEL_PREFIX, MANAGED_BY, namespaces
from ..labels import selector
from ..security import engine_tls
from .dashboards import dashboard_configmaps
from .flows import network_policies as flow_policies
from .otel import collector_objects
from .rules import rule_files, scraped
from .scrape import DCGM_EXPORTER, DCGM_EXPORTER_PORT, gpu_nodes, rack_relabeling

Obj = dict[str, Any]


def _meta(site: Site, name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": {**MANAGED_BY, **site.cluster.service_monitor_labels}}


def prometheus_rules(site: Site) -> list[Obj]:
    ns = site.observability.namespace
    return [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": _meta(site, name.removesuffix(".rules.yml"), ns),
            "spec": content,
        }
        for name, content in rule_files(site).items()
    ]


def dcgm_exporter_scrape(site: Site) -> list[Obj]:
    """The hosts' dcgm-exporter (dcgm role) as a Service without selector, its endpoints, and a ServiceMonitor."""
    ns = site.cluster.gpu_operator_namespace
    addresses = [(server, address) for _, server, address in gpu_nodes(site)]
    endpoints = [{"addresses": [a], "nodeName": n, "conditions": {"ready": True}} for n, a in addresses]
    if not endpoints:
        return []
    labels = {**MANAGED_BY, "app.kubernetes.io/name": DCGM_EXPORTER}
    port = {"name": "metrics", "port": DCGM_EXPORTER_PORT, "protocol": "TCP"}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": DCGM_EXPORTER, "namespace": ns, "labels": labels},
        "spec": {"clusterIP": "None", "ports": [{**port, "targetPort": DCGM_EXPORTER_PORT}]},
    }
    ipv6 = any(":" in a for _, a in addresses)
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": DCGM_EXPORTER,
            "namespace": ns,
            "labels": {**labels, "kubernetes.io/service-name": DCGM_EXPORTER},
        },
        "addressType": "IPv6" if ipv6 else "IPv4",
        "ports": [port],
        "endpoints": endpoints,
    }
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta(site, DCGM_EXPORTER, ns),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": DCGM_EXPORTER}},
            "namespaceSelector": {"matchNames": [ns]},
            "endpoints": [
                {
                    "port": "metrics",
                    "path": "/metrics",
                    "interval": f"{site.cluster.dcgm_exporter_scrape_interval_s}s",
                    "honorLabels": True,  # keep the exporter's own hostname/gpu/UUID labels
                    "relabelings": [rack_relabeling()],
                }
            ],
            "attachMetadata": {"node": True},  # the node's labels, for the rack
        },
    }
    return [service, slice_, monitor]


def _relabel_deployment(dep: Deployment) -> list[dict[str, Any]]:
    return [
        {"targetLabel": "deployment", "replacement": dep.name, "action": "replace"},
        {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"},
    ]


def serving_pod_monitors(site: Site) -> list[Obj]:
    """Per deployment a PodMonitor for its engine pods, and one for its burst gateway's split metric."""
    out = []
    for dep in site.deployments:
        engine = engines.get(dep.engine)
        endpoint: dict[str, Any] = {"path": engine.metrics_path, "interval": "15s"}
        name, number = engine_tls.scrape_port(site, dep)  # the proxy's metrics listener with engine TLS (issue 14)
        if name == "http" or engine_tls.enabled(site, dep):
            endpoint["port"] = name
        else:
            endpoint["portNumber"] = number
        endpoint["relabelings"] = _relabel_deployment(dep)
        # the engine pods only (a multi-node replica's leader): the router and gateway pods carry the deployment's
        # label too, and have no engine metrics port; an engine version without metrics gets no monitor
        if scraped(dep):
            out.append(_pod_monitor(site, dep.name, dep, "engine", endpoint))
        if dep.burst is not None:
            split = {"port": "metrics", "path": "/metrics", "interval": "15s"}
            out.append(_pod_monitor(site, burst.name(dep), dep, "gateway", split))
    return out


def _pod_monitor(site: Site, name: str, dep: Deployment, component: str, endpoint: dict[str, Any]) -> Obj:
    meta = _meta(site, name, dep.namespace)
    meta["labels"][f"{LABEL_PREFIX}/deployment"] = dep.name  # owned with the deployment (its node pool)
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": meta,
        "spec": {"selector": {"matchLabels": selector(dep, component)}, "podMetricsEndpoints": [endpoint]},
    }


def router_pod_monitors(site: Site) -> list[Obj]:
    """The routers' own metrics (`vllm_router_*`, on the port render/router.py names `metrics`), labelled with the
    deployment like its engines' series and `component="router"`, which the serving rules exclude when they count
    replicas up (rules.ENGINE_TARGETS)."""
    out = []
    for dep in site.deployments:
        relabel = [
            *_relabel_deployment(dep),
            {"targetLabel": "component", "replacement": "router", "action": "replace"},
        ]
        endpoint = {"port": "metrics", "path": "/metrics", "interval": "15s", "relabelings": relabel}
        out.append(_pod_monitor(site, f"{dep.name}-router", dep, "router", endpoint))
    return out


def namespace(site: Site) -> list[Obj]:
    """gpuctl's observability namespace, unless another part of the site already declares it."""
    name = site.observability.namespace
    if name in {o["metadata"]["name"] for o in namespaces(site)}:
        return []
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(MANAGED_BY)}}]


def observability_objects(site: Site) -> list[Obj]:
    """Every observability object gpuctl applies (one call in render.objects.site_objects)."""
    return [
        *namespace(site),
        *prometheus_rules(site),
        *dcgm_exporter_scrape(site),
        *serving_pod_monitors(site),
        *router_pod_monitors(site),
        *collector_objects(site),
        *flow_policies(site),
        *dashboard_configmaps(site),
    ]
