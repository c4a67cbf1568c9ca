"""Kubernetes manifests of the serving stack: per deployment a Deployment (GPU limits equal to requests,
tolerations and affinity for its pool, readiness and startup probes), a Service and a NetworkPolicy admitting
only the declared clients. The image, arguments, port and probe path come from the deployment's engine
(gpuctl.engines); a context length the spec leaves open comes from the memory model.
"""

from __future__ import annotations

from typing import Any

from .. import engines
from ..model import Deployment, Site
from ..vram import deployment_prediction
from .k8s import BURNIN_LABEL, BURNIN_PASSED, LABEL_PREFIX, MANAGED_BY

RUNTIME_CLASS = "nvidia"  # the RuntimeClass render.objects declares (CONVENTIONS: containerd handler `nvidia`)

MODEL_CACHE = "/var/lib/gpuctl/models"
# What Pod Security "restricted" asks of a container that needs no privilege (GPUs come from the device plugin).
CONTAINER_SECURITY: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def image(dep: Deployment) -> str:
    """The deployment's image, else its engine's default (offline sites point `image` at their mirror)."""
    return dep.image or engines.get(dep.engine).image(dep.engine_version)


def engine_args(site: Site, dep: Deployment) -> list[str]:
    engine = engines.get(dep.engine)
    max_len = dep.max_model_len
    if max_len is None:
        profile = engine.memory_profile(dep.engine_version)
        p = deployment_prediction(site, dep, profile, with_workload=False)
        if p is not None and p.max_model_len_supported > 0:
            max_len = min(p.max_model_len_supported, site.model_arch(dep).max_position_embeddings)
    return engine.args(dep, max_len)


def _labels(dep: Deployment) -> dict[str, str]:
    return {**MANAGED_BY, "app.kubernetes.io/name": dep.name, f"{LABEL_PREFIX}/deployment": dep.name}


def deployment(site: Site, dep: Deployment) -> dict[str, Any]:
    pool = site.pool(dep.node_pool)
    gpus = str(dep.gpus_per_pod)
    engine = engines.get(dep.engine)
    ready = engine.readiness_path
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": dep.name, "namespace": dep.namespace, "labels": _labels(dep)},
        "spec": {
            "replicas": dep.replicas,
            "selector": {"matchLabels": {f"{LABEL_PREFIX}/deployment": dep.name}},
            # GPUs are whole and scarce: replace pods one by one instead of surging past the pool.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": _labels(dep)},
                "spec": {
                    "runtimeClassName": RUNTIME_CLASS,
                    # its own identity, no API token (render/security/k8s.py declares the ServiceAccount)
                    "serviceAccountName": dep.name,
                    "automountServiceAccountToken": False,
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {"key": f"{LABEL_PREFIX}/pool", "operator": "In", "values": [pool.name]},
                                            {"key": BURNIN_LABEL, "operator": "In", "values": [BURNIN_PASSED]},
                                        ]
                                    }
                                ]
                            }
                        }
                    },
                    "tolerations": [
                        {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect} for t in pool.taints
                    ],
                    "containers": [
                        {
                            "name": "engine",
                            "image": image(dep),
                            "args": engine_args(site, dep),
                            **_env(dep),
                            "securityContext": CONTAINER_SECURITY,
                            "ports": [{"name": "http", "containerPort": engine.port, "protocol": "TCP"}],
                            "resources": {"limits": {"nvidia.com/gpu": gpus}, "requests": {"nvidia.com/gpu": gpus}},
                            "readinessProbe": {
                                "httpGet": {"path": ready, "port": "http"},
                                "periodSeconds": 10,
                                "failureThreshold": 3,
                            },
                            "startupProbe": {
                                "httpGet": {"path": ready, "port": "http"},
                                "periodSeconds": 10,
                                "failureThreshold": 180,
                            },
                            "volumeMounts": [
                                {"name": "models", "mountPath": "/models", "readOnly": True},
                                {"name": "shm", "mountPath": "/dev/shm"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "models", "hostPath": {"path": MODEL_CACHE, "type": "Directory"}},
                        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}},
                    ],
                },
            },
        },
    }


def _env(dep: Deployment) -> dict[str, Any]:
    return {"env": [{"name": k, "value": v} for k, v in sorted(dep.env.items())]} if dep.env else {}


def service(dep: Deployment) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": dep.name, "namespace": dep.namespace, "labels": _labels(dep)},
        "spec": {
            "selector": {f"{LABEL_PREFIX}/deployment": dep.name},
            "ports": [{"name": "http", "port": engines.get(dep.engine).port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def network_policy(dep: Deployment) -> dict[str, Any]:
    sources: list[dict[str, Any]] = []
    for c in dep.clients:
        if c.cidr:
            sources.append({"ipBlock": {"cidr": str(c.cidr)}})
        else:
            peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": c.namespace}}}
            if c.pod_labels:
                peer["podSelector"] = {"matchLabels": dict(c.pod_labels)}
            sources.append(peer)
    port = engines.get(dep.engine).port
    ingress = [{"from": sources, "ports": [{"port": port, "protocol": "TCP"}]}] if sources else []
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{dep.name}-clients", "namespace": dep.namespace, "labels": _labels(dep)},
        "spec": {
            "podSelector": {"matchLabels": {f"{LABEL_PREFIX}/deployment": dep.name}},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


def manifests(site: Site) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for dep in site.deployments:
        out += [deployment(site, dep), service(dep), network_policy(dep)]
    return out
