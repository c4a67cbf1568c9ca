"""The router in front of each deployment's replicas: vllm-router (PyPI `vllm-router` 0.1.17, Rust), replicated,
with a PodDisruptionBudget, discovering the replicas through the Kubernetes API.

Its options were read from `vllm-router --help` of the 0.1.17 wheel (tests/render/fixtures/vllm-router-0.1.17-help.txt;
the test checks every option rendered here against it): `--policy`, `--service-discovery` with `--selector`,
`--service-discovery-port` and `--service-discovery-namespace` (a watch on pods, hence the Role below),
`--health-check-endpoint`/`--health-check-interval-secs`, `--retry-max-retries`, and `--prometheus-host/-port`
for its own metrics (`vllm_router_*`). The router has no fallback to an outside endpoint: cloud burst is a
gateway in front of it (render/burst.py).

Public API for tests and tools: `router_command(site, dep, worker_urls)` is the router's command line; with
`worker_urls` it lists the replicas instead of discovering them (what a test outside Kubernetes runs).
"""

from __future__ import annotations

from typing import Any

from .. import engines
from ..model import Deployment, Site
from .k8s import restricted_context
from .labels import client_peers, labels, monitoring_peer, selector

PORT = 8000
METRICS_PORT = 29000
NOBODY = 65534  # the image is the site's own build (see model.serving.Router.image): any unprivileged uid will do
VERSION = "0.1.17"


def router_command(site: Site, dep: Deployment, worker_urls: list[str] | None = None) -> list[str]:
    engine = engines.get(dep.engine)
    cfg = dep.router
    cmd = ["vllm-router", "--host", "0.0.0.0", "--port", str(PORT), "--policy", cfg.policy]
    if worker_urls is not None:
        cmd += ["--worker-urls", *worker_urls]
    else:
        cmd += ["--service-discovery", "--selector", *(f"{k}={v}" for k, v in selector(dep, "engine").items())]
        cmd += ["--service-discovery-port", str(engine.port), "--service-discovery-namespace", dep.namespace]
    cmd += [
        "--health-check-endpoint",
        engine.readiness_path,
        "--health-check-interval-secs",
        str(cfg.health_check_interval_s),
    ]
    cmd += ["--retry-max-retries", str(cfg.max_retries)] if cfg.max_retries else ["--disable-retries"]
    cmd += ["--prometheus-host", "0.0.0.0", "--prometheus-port", str(METRICS_PORT)]
    return cmd


def name(dep: Deployment) -> str:
    return f"{dep.name}-router"


def _meta(dep: Deployment) -> dict[str, Any]:
    return {"name": name(dep), "namespace": dep.namespace, "labels": labels(dep, "router")}


def rbac(dep: Deployment) -> list[dict[str, Any]]:
    """Read access to the namespace's pods: what the router's service discovery watches."""
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(dep), "automountServiceAccountToken": True},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(dep),
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(dep),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name(dep)},
            "subjects": [{"kind": "ServiceAccount", "name": name(dep), "namespace": dep.namespace}],
        },
    ]


def deployment(site: Site, dep: Deployment) -> dict[str, Any]:
    cmd = router_command(site, dep)
    probe = {"tcpSocket": {"port": "http"}, "periodSeconds": 5, "failureThreshold": 3}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(dep),
        "spec": {
            "replicas": dep.router.replicas,
            "selector": {"matchLabels": selector(dep, "router")},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels(dep, "router")},
                "spec": {
                    "serviceAccountName": name(dep),
                    "containers": [
                        {
                            "name": "router",
                            "image": dep.router.image,
                            "command": cmd[:1],
                            "args": cmd[1:],
                            "ports": [
                                {"name": "http", "containerPort": PORT, "protocol": "TCP"},
                                {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
                            ],
                            "readinessProbe": probe,
                            "livenessProbe": probe,
                            "securityContext": restricted_context(NOBODY),
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                    # Router replicas on different nodes: one node's loss leaves the others routing.
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector(dep, "router")},
                        }
                    ],
                },
            },
        },
    }


def service(dep: Deployment) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(dep),
        "spec": {
            "selector": selector(dep, "router"),
            "ports": [
                {"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"},
                {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
            ],
        },
    }


def pod_disruption_budget(dep: Deployment) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(dep),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(dep, "router")}},
    }


# The API server's usual ports (kubeadm 6443, a managed cluster's Service 443): where discovery's watch goes.
API_PORTS = (443, 6443)


def network_policy(site: Site, dep: Deployment) -> dict[str, Any]:
    """The router admits the deployment's clients and its burst gateway, and Prometheus on its metrics port; it
    may reach its replicas, the Kubernetes API (discovery) and DNS. Security's default-deny (issue 14) blocks
    everything else."""
    sources = [{"podSelector": {"matchLabels": selector(dep, "gateway")}}, *client_peers(dep)]
    engine_port = engines.get(dep.engine).port
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {**_meta(dep), "name": f"{name(dep)}-clients"},
        "spec": {
            "podSelector": {"matchLabels": selector(dep, "router")},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {"from": sources, "ports": [{"port": PORT, "protocol": "TCP"}]},
                {"from": [monitoring_peer(site)], "ports": [{"port": METRICS_PORT, "protocol": "TCP"}]},
            ],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": selector(dep, "engine")}}],
                    "ports": [{"port": engine_port, "protocol": "TCP"}],
                },
                {"ports": [{"port": p, "protocol": "TCP"} for p in API_PORTS]},
                {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
            ],
        },
    }


def objects(site: Site, dep: Deployment) -> list[dict[str, Any]]:
    return [*rbac(dep), deployment(site, dep), service(dep), pod_disruption_budget(dep), network_policy(site, dep)]
